// SPDX-License-Identifier: GPL-2.0
/*
 * The rules of `kvmwatch check --lockup`: the timer detector's catch-up
 * chains and the kernel's own lockup counters. Defaults and their reasons
 * are in docs/lockup.md.
 */
#include <stdio.h>

#include "timer_model.h"
#include "core/vm_name.h"

/* In tracepoint mode only hrtimer_expire_exit says where a callback
 * re-armed the timer: without it, chains are not measured. A run where
 * no vCPU timer fired has no chain to judge either. */
static bool chains_seen(const struct check_data *d,
			const struct timer_view *timer, char *why, size_t len)
{
	const struct point_state *fn, *exit;

	if (!timer->callbacks) {
		snprintf(why, len,
			 "no vCPU LAPIC timer fired during the run (%zu vCPU timers known): nothing to judge",
			 timer->nvcpus);
		return false;
	}
	if (!d->plan)
		return true;
	fn = attach_plan_point(d->plan, DET_TIMER, "apic_timer_fn");
	exit = attach_plan_point(d->plan, DET_TIMER, "hrtimer_expire_exit");
	if (fn && fn->mode == ATTACH_TRACEPOINT && exit &&
	    (exit->mode == ATTACH_NONE || exit->attach_failed)) {
		snprintf(why, len, "timer:hrtimer_expire_exit cannot be watched, so re-arming is not seen");
		return false;
	}
	return true;
}

static void chain_evidence(const struct check_data *d,
			   const struct timer_vcpu_view *v, char *buf,
			   size_t len)
{
	char when[64], name[VM_NAME_LEN + 32];

	check_when(d, v->longest_chain_at, when, sizeof(when));
	snprintf(buf, len,
		 "%s vCPU %u (thread %u): %llu callbacks in a row, each fired at once because the one before re-armed the hrtimer at an expiry already past when it began (expiry += period behind a late timer); %.1f us in hardirq; the expiry that began it was %.3f ms late; period %lld ns; ended %s",
		 vm_describe(v->pid, v->vm_start, name, sizeof(name)),
		 v->vcpu_id, v->tid, (unsigned long long)v->longest_chain, v->longest_chain_ns / 1e3,
		 v->longest_chain_lateness_ns / 1e6, (long long)v->period_ns,
		 when);
}

static enum measure_outcome
measure_max_chain(const struct check_data *d, double *value, char *evidence,
		  size_t evidence_len, char *why, size_t why_len)
{
	const struct timer_view *timer = check_view(d, DET_TIMER, why, why_len);
	const struct timer_vcpu_view *worst;

	if (!timer || !chains_seen(d, timer, why, why_len))
		return NOT_MEASURED;
	worst = timer_view_worst_chain(timer);
	*value = worst ? worst->longest_chain : 0;
	if (worst && worst->longest_chain)
		chain_evidence(d, worst, evidence, evidence_len);
	return MEASURED;
}

static enum measure_outcome
measure_chain_time(const struct check_data *d, double *value, char *evidence,
		   size_t evidence_len, char *why, size_t why_len)
{
	const struct timer_view *timer = check_view(d, DET_TIMER, why, why_len);
	const struct timer_vcpu_view *worst = NULL;
	size_t i;

	if (!timer || !chains_seen(d, timer, why, why_len))
		return NOT_MEASURED;
	for (i = 0; i < timer->nvcpus; i++)
		if (!worst || timer->vcpus[i].longest_chain_ns >
			      worst->longest_chain_ns)
			worst = &timer->vcpus[i];
	*value = worst ? worst->longest_chain_ns / 1e3 : 0;
	if (worst && worst->longest_chain)
		chain_evidence(d, worst, evidence, evidence_len);
	return MEASURED;
}

static enum measure_outcome
measure_period0(const struct check_data *d, double *value, char *evidence,
		size_t evidence_len, char *why, size_t why_len)
{
	const struct timer_view *timer = check_view(d, DET_TIMER, why, why_len);
	const struct timer_vcpu_view *worst = NULL;
	char name[VM_NAME_LEN + 32];
	uint64_t total = 0;
	size_t i;

	if (!timer)
		return NOT_MEASURED;
	if (!timer->callbacks) {
		snprintf(why, why_len,
			 "no vCPU LAPIC timer fired during the run: nothing to judge");
		return NOT_MEASURED;
	}
	for (i = 0; i < timer->nvcpus; i++) {
		const struct timer_vcpu_view *v = &timer->vcpus[i];

		total += v->stats.period0;
		if (v->stats.period0 &&
		    (!worst || v->stats.period0 > worst->stats.period0))
			worst = v;
	}
	*value = total;
	if (worst)
		snprintf(evidence, evidence_len,
			 "%s vCPU %u (thread %u): %llu apic_timer_fn runs in periodic mode with period 0 (the kernel now WARNs on this)",
			 vm_describe(worst->pid, worst->vm_start, name,
				     sizeof(name)), worst->vcpu_id, worst->tid,
			 (unsigned long long)worst->stats.period0);
	return MEASURED;
}

#define COUNTER_RULE(fn, counter)					\
static enum measure_outcome						\
fn(const struct check_data *d, double *value, char *evidence,		\
   size_t evidence_len, char *why, size_t why_len)			\
{									\
	return check_measure_counter(d, counter, value, evidence,	\
				     evidence_len, why, why_len);				\
}

COUNTER_RULE(measure_hardlockups, KCOUNT_HARDLOCKUP)
COUNTER_RULE(measure_softlockups, KCOUNT_SOFTLOCKUP)
COUNTER_RULE(measure_rcu_stalls, KCOUNT_RCU_STALL)

static const struct check_rule lockup_rules[] = {
	{ "timer.max_chain", "lockup",
	  "longest catch-up chain of a vCPU's LAPIC timer",
	  "callbacks", RULE_AT_MOST, 2, measure_max_chain },
	{ "timer.chain_us", "lockup",
	  "hardirq time of the longest catch-up chain",
	  "us", RULE_AT_MOST, 1000, measure_chain_time },
	{ "timer.period0", "lockup",
	  "apic_timer_fn runs in periodic mode with period 0",
	  "callbacks", RULE_AT_MOST, 0, measure_period0 },
	{ "kernel.hardlockups", "lockup",
	  "hard lockups the kernel detected (hardlockup_count)",
	  "lockups", RULE_AT_MOST, 0, measure_hardlockups },
	{ "kernel.softlockups", "lockup",
	  "soft lockups the kernel detected (softlockup_count)",
	  "lockups", RULE_AT_MOST, 0, measure_softlockups },
	{ "kernel.rcu_stalls", "lockup",
	  "RCU stalls the kernel detected (rcu_stall_count)",
	  "stalls", RULE_AT_MOST, 0, measure_rcu_stalls },
};

CHECK_RULE_GROUP(lockup_rule_group, "lockup", DET_TIMER, lockup_rules,
		 "the APIC timer restart-loop rules (docs/lockup.md)");
