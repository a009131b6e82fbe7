// SPDX-License-Identifier: GPL-2.0
/*
 * The rules of `kvmwatch check --teardown`: a VM teardown must not keep
 * running on a CPU without a schedule point for longer than the
 * scheduler's own resched_latency_warn_ms (100 ms) after another task
 * came to want that CPU (what the need_resched warning reports; a long
 * run that nobody waits behind is harmless and only shown), nor keep a
 * runnable task waiting that long. Defaults and their reasons are in
 * docs/teardown.md.
 */
#include <stdio.h>

#include "check.h"
#include "teardown_model.h"

static const struct teardown_view *teardown_ran(const struct check_data *d,
						char *why, size_t len)
{
	if (d->views[DET_TEARDOWN])
		return d->views[DET_TEARDOWN];
	snprintf(why, len, "%s", d->why[DET_TEARDOWN] ? d->why[DET_TEARDOWN] :
		 "the teardown detector did not run");
	return NULL;
}

static enum measure_outcome
measure_stretch(const struct check_data *d, double *value, char *evidence,
		size_t evidence_len, char *why, size_t why_len)
{
	const struct teardown_view *v = teardown_ran(d, why, why_len);

	return v && teardown_measure_stretch(v, value, evidence, evidence_len,
					     why, why_len);
}

static enum measure_outcome
measure_wait(const struct check_data *d, double *value, char *evidence,
	     size_t evidence_len, char *why, size_t why_len)
{
	const struct teardown_view *v = teardown_ran(d, why, why_len);

	return v && teardown_measure_wait(v, value, evidence, evidence_len,
					  why, why_len);
}

static const struct check_rule teardown_rules[] = {
	{ "teardown.max_stretch_ms", "teardown",
	  "longest time a VM teardown kept its CPU without a schedule point after another task wanted it (need_resched-style)",
	  "ms", RULE_AT_MOST, 100, measure_stretch },
	{ "teardown.max_wait_ms", "teardown",
	  "longest wait of the task that got the CPU after a teardown's run",
	  "ms", RULE_AT_MOST, 100, measure_wait },
};

const struct check_rule_group teardown_rule_group = {
	.name = "teardown",
	.summary = "VM teardown holding a CPU without a schedule point (docs/teardown.md)",
	.detector = DET_TEARDOWN,
	.rules = teardown_rules,
	.count = sizeof(teardown_rules) / sizeof(teardown_rules[0]),
};
