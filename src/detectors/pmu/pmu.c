// SPDX-License-Identifier: GPL-2.0
/*
 * The pmu detector: PMU world switches per vCPU, their cost, and the
 * guest's PMU register exits, with the vPMU mechanism the kernel uses
 * (bpf/pmu.bpf.c; docs/pmu.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pmu_model.h"
#include "pmu.skel.h"

static const struct probe_point pmu_points[] = {
	/* PMU world switches (docs/pmu.md). Which functions exist tells the
	 * mechanism; each is timed by fentry/fexit or kprobe/kretprobe and has
	 * no tracepoint form, so the weaker mode loses it whole. */
	{ DET_PMU, "pmu_restore_guest", "kvm_vcpu_pmu_restore_guest", NULL,
	  ARCH_ARM64, VENDOR_ANY, false,
	  "guest PMU loads at vCPU load (VHE) and their cost", NULL, NULL },
	{ DET_PMU, "pmu_restore_host", "kvm_vcpu_pmu_restore_host", NULL, ARCH_ARM64,
	  VENDOR_ANY, false, "host PMU restores at vCPU put (VHE) and their cost",
	  NULL, NULL },
	{ DET_PMU, "mediated_pmu_load", "kvm_mediated_pmu_load", NULL, ARCH_X86_64,
	  VENDOR_ANY, false, "mediated vPMU loads and their cost", NULL, NULL },
	{ DET_PMU, "mediated_pmu_put", "kvm_mediated_pmu_put", NULL, ARCH_X86_64,
	  VENDOR_ANY, false, "mediated vPMU puts and their cost", NULL, NULL },
	/* Static in pmu.c: absent where the compiler inlined them. */
	{ DET_PMU, "load_guest_pmcs", "kvm_pmu_load_guest_pmcs", NULL, ARCH_X86_64,
	  VENDOR_ANY, false,
	  "software loads of guest counters (what hardware PMC virtualization avoids)",
	  NULL, NULL },
	{ DET_PMU, "put_guest_pmcs", "kvm_pmu_put_guest_pmcs", NULL, ARCH_X86_64,
	  VENDOR_ANY, false, "software saves of guest counters", NULL, NULL },
	/* The legacy vPMU's per-entry PERF_GLOBAL_CTRL switch list on VMX. */
	{ DET_PMU, "guest_get_msrs", "perf_guest_get_msrs", NULL, ARCH_X86_64, VENDOR_VMX,
	  false, "legacy vPMU per-entry switch lists and their cost", NULL,
	  NULL },
	{ DET_PMU, "pmu_handle_event", "kvm_pmu_handle_event", NULL, ARCH_X86_64,
	  VENDOR_ANY, false, "counter reprogramming (KVM_REQ_PMU) and its cost",
	  NULL, NULL },
	{ DET_PMU, "pmu_deliver_pmi", "kvm_pmu_deliver_pmi", NULL, ARCH_X86_64,
	  VENDOR_ANY, false, "PMIs injected into guests", NULL, NULL },
	/* Tracepoints: every mode keeps the PMU register exits. */
	{ DET_PMU, "kvm_msr", NULL, "kvm/kvm_msr", ARCH_X86_64, VENDOR_ANY, false,
	  "PMU MSR exits by MSR", NULL, NULL },
	{ DET_PMU, "sys_access", NULL, "kvm/kvm_sys_access", ARCH_ARM64, VENDOR_ANY,
	  false, "trapped PMU register accesses by register", NULL, NULL },
	{ DET_PMU, "pmu_exit", NULL, "kvm/kvm_exit", ANY_ARCH, VENDOR_ANY, false,
	  "exits per vCPU thread (switches and PMU exits per exit)", NULL,
	  NULL },
	{ DET_PMU, "pmu_vcpu_load", "kvm_arch_vcpu_load", NULL, ANY_ARCH,
	  VENDOR_ANY, false,
	  "vCPU index and vPMU presence per vCPU (vCPUs are shown by thread id)",
	  NULL, NULL },
	THREAD_EXIT_POINT(DET_PMU, "pmu_thread_exit"),
};

struct pmu_detector {
	struct pmu_bpf *skel;
	struct pmu_run_info run;
};

/* The point of each op. */
static const char *const op_points[PMU_OP_COUNT] = {
	[PMU_OP_RESTORE_GUEST] = "pmu_restore_guest",
	[PMU_OP_RESYNC_GUEST] = "pmu_restore_guest",
	[PMU_OP_RESTORE_HOST] = "pmu_restore_host",
	[PMU_OP_MEDIATED_LOAD] = "mediated_pmu_load",
	[PMU_OP_MEDIATED_PUT] = "mediated_pmu_put",
	[PMU_OP_LOAD_PMCS] = "load_guest_pmcs",
	[PMU_OP_PUT_PMCS] = "put_guest_pmcs",
	[PMU_OP_GUEST_MSRS] = "guest_get_msrs",
	[PMU_OP_HANDLE_EVENT] = "pmu_handle_event",
	[PMU_OP_DELIVER_PMI] = "pmu_deliver_pmi",
};

static void watch_state(const struct attach_plan *plan, const char *point,
			struct pmu_watch_state *w)
{
	const struct point_state *s = attach_plan_point(plan, DET_PMU, point);

	memset(w, 0, sizeof(*w));
	if (!s || !s->applicable)
		return;
	if (s->mode != ATTACH_NONE && !s->attach_failed) {
		w->state = PMU_WATCH_ON;
		w->mode = s->mode;
		return;
	}
	w->state = PMU_WATCH_OFF;
	if (s->attach_failed)
		snprintf(w->why, sizeof(w->why), "%s", s->attach_error);
	else if (!s->point->func)
		snprintf(w->why, sizeof(w->why), "%s", s->tracepoint_why);
	else if (!strcmp(s->fentry_why, s->kprobe_why) || !s->kprobe_why[0])
		snprintf(w->why, sizeof(w->why), "%s", s->fentry_why);
	else
		snprintf(w->why, sizeof(w->why), "fentry: %.80s; kprobe: %.90s",
			 s->fentry_why, s->kprobe_why);
}

static void note_watched(const struct attach_plan *plan,
			 struct pmu_run_info *run, bool split)
{
	struct pmu_watch_state *resync = &run->ops[PMU_OP_RESYNC_GUEST];
	int op;

	for (op = 0; op < PMU_OP_COUNT; op++)
		watch_state(plan, op_points[op], &run->ops[op]);
	if (resync->state == PMU_WATCH_ON && !split) {
		resync->state = PMU_WATCH_OFF;
		snprintf(resync->why, sizeof(resync->why),
			 "kvm_arch_vcpu_load is not watched: every restore_guest counts as a load");
	}
	watch_state(plan, run->facts.arch == ARCH_ARM64 ? "sys_access" :
		    "kvm_msr", &run->regs);
	watch_state(plan, "pmu_exit", &run->exits);
	watch_state(plan, "pmu_vcpu_load", &run->ids);
}

/* restore_guest is told apart from re-syncs only when the vCPU load it
 * runs in is watched too. */
static bool resync_split(const struct attach_plan *plan)
{
	const struct point_state *g =
		attach_plan_point(plan, DET_PMU, "pmu_restore_guest");
	const struct point_state *l =
		attach_plan_point(plan, DET_PMU, "pmu_vcpu_load");

	return g && l && g->applicable && l->applicable &&
		g->mode != ATTACH_NONE && l->mode != ATTACH_NONE;
}

/* Nothing to run when not one PMU point can be watched. */
static bool pmu_can_start(const struct attach_plan *plan, char *why,
			  size_t why_len)
{
	size_t i;

	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector == DET_PMU && s->applicable &&
		    s->mode != ATTACH_NONE)
			return true;
	}
	snprintf(why, why_len,
		 "none of the PMU functions or tracepoints can be watched (kvmwatch probe says why)");
	return false;
}

static int pmu_start(void *state, struct detector_bpf *bpf,
		     struct attach_plan *plan, uint32_t pid)
{
	struct pmu_detector *st = state;
	bool split;
	int err;

	pmu_gather_facts(plan->caps, &st->run.facts);
	pmu_mechanism_decide(&st->run.facts, &st->run.mech);
	st->skel = DETECTOR_BPF_OPEN(bpf, pmu, plan, DET_PMU);
	if (!st->skel)
		return -errno;
	DETECTOR_SET_FILTER(st->skel, pid);
	split = resync_split(plan);
	st->skel->rodata->split_resync = split;
	err = detector_bpf_load(bpf, plan, DET_PMU);
	if (!err)
		note_watched(plan, &st->run, split);
	return err;
}

static const struct detector_map pmu_maps[] = {
	{ DETECTOR_MAP(struct pmu_sample, pmu_vcpus, sizeof(struct pmu_vcpu_key),
		       struct pmu_vcpu_record, stats, vcpus, nvcpus, key.pid,
		       key.vm_start) },
	{ DETECTOR_MAP(struct pmu_sample, pmu_ops, sizeof(struct pmu_op_key),
		       struct pmu_op_record, stats, ops, nops, key.pid,
		       key.vm_start) },
	{ DETECTOR_MAP(struct pmu_sample, pmu_regs, sizeof(struct pmu_reg_key),
		       struct pmu_reg_record, stats, regs, nregs, key.pid,
		       key.vm_start) },
};

static int pmu_sample(void *state, void *sample)
{
	struct pmu_detector *st = state;
	struct pmu_sample *out = sample;

	out->ts_ns = monotonic_ns();
	out->run = st->run;
	pmu_sample_sort(out);
	return 0;
}

DEFINE_DETECTOR(pmu, DET_PMU,
		DETECTOR_VM_JSON(pmu),
		.json_key = "pmu",
		.rules = &pmu_rule_group,
		.kernel_symbols = pmu_kernel_symbols,
		.kernel_members = pmu_kernel_members,
		.can_start = pmu_can_start)
