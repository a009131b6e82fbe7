// SPDX-License-Identifier: GPL-2.0
/*
 * Every rule of `kvmwatch check`. Defaults and their reasons are in
 * docs/lockup.md (group lockup); a new group adds its rules here and its
 * name to check_groups.
 */
#include <stdio.h>

#include "check.h"

const char *const check_groups[] = { "lockup", NULL };

static bool timer_ran(const struct check_data *d, char *why, size_t len)
{
	if (d->timer)
		return true;
	snprintf(why, len, "%s", d->timer_why ? d->timer_why :
		 "the timer detector did not run");
	return false;
}

static void chain_evidence(const struct check_data *d,
			   const struct timer_vcpu_view *v, char *buf,
			   size_t len)
{
	char when[64];

	check_when(d, v->longest_chain_at, when, sizeof(when));
	snprintf(buf, len,
		 "VM pid %u vCPU %u (thread %u): %llu callbacks in a row, each fired at once because the one before re-armed the hrtimer at an expiry already past when it began (expiry += period behind a late timer); %.1f us in hardirq; the expiry that began it was %.3f ms late; period %lld ns; ended %s",
		 v->pid, v->vcpu_id, v->tid,
		 (unsigned long long)v->longest_chain, v->longest_chain_ns / 1e3,
		 v->longest_chain_lateness_ns / 1e6, (long long)v->period_ns,
		 when);
}

static bool measure_max_chain(const struct check_data *d, double *value,
			      char *evidence, size_t evidence_len, char *why,
			      size_t why_len)
{
	const struct timer_vcpu_view *worst;

	if (!timer_ran(d, why, why_len))
		return false;
	if (d->chains_why) {
		snprintf(why, why_len, "%s", d->chains_why);
		return false;
	}
	worst = timer_view_worst_chain(d->timer);
	*value = worst ? worst->longest_chain : 0;
	if (worst && worst->longest_chain)
		chain_evidence(d, worst, evidence, evidence_len);
	return true;
}

static bool measure_chain_time(const struct check_data *d, double *value,
			       char *evidence, size_t evidence_len, char *why,
			       size_t why_len)
{
	const struct timer_vcpu_view *worst = NULL;
	size_t i;

	if (!timer_ran(d, why, why_len))
		return false;
	if (d->chains_why) {
		snprintf(why, why_len, "%s", d->chains_why);
		return false;
	}
	for (i = 0; i < d->timer->nvcpus; i++)
		if (!worst || d->timer->vcpus[i].longest_chain_ns >
			      worst->longest_chain_ns)
			worst = &d->timer->vcpus[i];
	*value = worst ? worst->longest_chain_ns / 1e3 : 0;
	if (worst && worst->longest_chain)
		chain_evidence(d, worst, evidence, evidence_len);
	return true;
}

static bool measure_period0(const struct check_data *d, double *value,
			    char *evidence, size_t evidence_len, char *why,
			    size_t why_len)
{
	const struct timer_vcpu_view *worst = NULL;
	uint64_t total = 0;
	size_t i;

	if (!timer_ran(d, why, why_len))
		return false;
	for (i = 0; i < d->timer->nvcpus; i++) {
		const struct timer_vcpu_view *v = &d->timer->vcpus[i];

		total += v->stats.period0;
		if (v->stats.period0 &&
		    (!worst || v->stats.period0 > worst->stats.period0))
			worst = v;
	}
	*value = total;
	if (worst)
		snprintf(evidence, evidence_len,
			 "VM pid %u vCPU %u (thread %u): %llu apic_timer_fn runs in periodic mode with period 0 (the kernel now WARNs on this)",
			 worst->pid, worst->vcpu_id, worst->tid,
			 (unsigned long long)worst->stats.period0);
	return true;
}

static const char *const counter_files[KCOUNT_COUNT] = {
	[KCOUNT_HARDLOCKUP] = "/sys/kernel/hardlockup_count",
	[KCOUNT_SOFTLOCKUP] = "/sys/kernel/softlockup_count",
	[KCOUNT_RCU_STALL] = "/sys/kernel/rcu_stall_count",
	[KCOUNT_WARN] = "/sys/kernel/warn_count",
};

const char *check_counter_file(enum kernel_counter c)
{
	return counter_files[c];
}

static bool measure_counter(const struct check_data *d, enum kernel_counter c,
			    double *value, char *evidence, size_t evidence_len,
			    char *why, size_t why_len)
{
	const struct counter_pair *p = &d->counters[c];

	if (!p->present) {
		snprintf(why, why_len, "%s does not exist on this kernel",
			 counter_files[c]);
		return false;
	}
	*value = p->after >= p->before ? p->after - p->before : 0;
	snprintf(evidence, evidence_len,
		 "%s went from %llu to %llu during the run (see dmesg)",
		 counter_files[c], (unsigned long long)p->before,
		 (unsigned long long)p->after);
	return true;
}

#define COUNTER_RULE(fn, counter)					\
static bool fn(const struct check_data *d, double *value, char *evidence, \
	       size_t evidence_len, char *why, size_t why_len)		\
{									\
	return measure_counter(d, counter, value, evidence, evidence_len, \
			       why, why_len);				\
}

COUNTER_RULE(measure_hardlockups, KCOUNT_HARDLOCKUP)
COUNTER_RULE(measure_softlockups, KCOUNT_SOFTLOCKUP)
COUNTER_RULE(measure_rcu_stalls, KCOUNT_RCU_STALL)

const struct check_rule check_rules[] = {
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

const size_t check_rule_count = sizeof(check_rules) / sizeof(check_rules[0]);
