// SPDX-License-Identifier: GPL-2.0
/*
 * The timer detector: the x86 LAPIC periodic timer restart loop, from
 * apic_timer_fn's runs per vCPU (bpf/timer.bpf.c; docs/lockup.md).
 */
#include <errno.h>
#include <stdio.h>

#include "timer_model.h"
#include "timer.skel.h"

static const struct probe_point timer_points[] = {
	/* APIC periodic timer restart loop (x86 LAPIC). The tracepoint forms
	 * filter on apic_timer_fn's address from /proc/kallsyms. */
	{ DET_TIMER, "apic_timer_fn", "apic_timer_fn",
	  "timer/hrtimer_expire_entry", ARCH_X86_64, VENDOR_ANY, true,
	  "the callback's return value (re-arming is inferred from the expiry moving, at hrtimer_expire_exit)",
	  NULL, NULL },
	{ DET_TIMER, "advance_periodic", "advance_periodic_target_expiration",
	  NULL, ARCH_X86_64, VENDOR_ANY, false,
	  "whether a target already past was set to now (the fix itself); chains are still measured",
	  NULL, NULL },
	/* Completes the tracepoint form of apic_timer_fn only. */
	{ DET_TIMER, "hrtimer_expire_exit", NULL, "timer/hrtimer_expire_exit",
	  ARCH_X86_64, VENDOR_ANY, false,
	  "callback duration and re-armed expiry in tracepoint mode (no chains)",
	  "apic_timer_fn", NULL },
	{ DET_TIMER, "hrtimer_start", NULL, "timer/hrtimer_start", ARCH_X86_64,
	  VENDOR_ANY, false, "LAPIC hrtimer arms per vCPU thread", NULL, NULL },
	{ DET_TIMER, "start_sw_timer", "start_sw_timer", NULL, ARCH_X86_64, VENDOR_ANY,
	  false, "starts of the software hrtimer", NULL, NULL },
	{ DET_TIMER, "start_hv_timer", "start_hv_timer",
	  "kvm/kvm_hv_timer_state", ARCH_X86_64, VENDOR_VMX, false,
	  "whether each HV timer start succeeded (state changes only)", NULL,
	  NULL },
	{ DET_TIMER, "switch_to_sw_timer", "kvm_lapic_switch_to_sw_timer", NULL,
	  ARCH_X86_64, VENDOR_VMX, false, "HV-to-SW timer switches on vCPU block",
	  NULL, NULL },
};

struct timer_detector {
	struct timer_bpf *skel;
};

/* Only the tracepoints see every hrtimer: without apic_timer_fn's
 * address from kallsyms they cannot pick the LAPIC ones. */
static bool timer_can_start(const struct attach_plan *plan, char *why,
			    size_t why_len)
{
	const struct point_state *fn =
		attach_plan_point(plan, DET_TIMER, "apic_timer_fn");

	if (fn && fn->applicable && !fn->func_found) {
		snprintf(why, why_len,
			 "apic_timer_fn is not in /proc/kallsyms: is KVM loaded (modprobe kvm_intel or kvm_amd)?");
		return false;
	}
	return true;
}

static int timer_start(void *state, struct detector_bpf *bpf,
		       struct attach_plan *plan, uint32_t pid)
{
	struct point_state *fn =
		attach_plan_point(plan, DET_TIMER, "apic_timer_fn");
	struct timer_detector *st = state;
	const char *error = NULL;

	if (!fn)
		error = "internal: no apic_timer_fn point";
	/* The tracepoints see every hrtimer: they need the callback's
	 * address to keep the LAPIC ones. */
	else if (fn->mode == ATTACH_TRACEPOINT && !fn->func_found)
		error = "apic_timer_fn is not in /proc/kallsyms (is KVM loaded?): the timer tracepoints cannot be filtered";
	else if (fn->mode == ATTACH_TRACEPOINT && !fn->func_addr)
		error = "apic_timer_fn's address is hidden in /proc/kallsyms (kernel.kptr_restrict): the timer tracepoints cannot be filtered";
	if (error) {
		attach_plan_refuse(plan, DET_TIMER, error);
		return -EINVAL;
	}
	st->skel = DETECTOR_BPF_OPEN(bpf, timer, plan, DET_TIMER);
	if (!st->skel)
		return -errno;
	DETECTOR_SET_FILTER(st->skel, pid);
	st->skel->rodata->apic_timer_fn_addr = fn->func_addr;
	return detector_bpf_load(bpf, plan, DET_TIMER);
}

static const struct detector_map timer_maps[] = {
	{ DETECTOR_MAP(struct timer_sample, timer_stats,
		       sizeof(struct timer_key), struct timer_record, stats,
		       recs, nrecs, key.pid, key.vm_start) },
	{ DETECTOR_MAP(struct timer_sample, timer_threads,
		       sizeof(struct timer_thread_key),
		       struct timer_thread_record, stats, threads, nthreads,
		       key.pid, key.vm_start) },
};

static int timer_sample(void *state, void *sample)
{
	struct timer_sample *out = sample;

	(void)state;
	out->ts_ns = monotonic_ns();
	timer_sample_sort(out);
	return 0;
}

DEFINE_DETECTOR(timer, DET_TIMER,
		DETECTOR_LIST_JSON(timer),
		.json_key = "timers",
		.rules = &lockup_rule_group,
		.can_start = timer_can_start)
