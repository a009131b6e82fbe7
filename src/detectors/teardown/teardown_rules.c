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

#include "teardown_model.h"
#include "core/vm_name.h"

/* A verdict needs a teardown to judge: none seen is no PASS. */
static bool ran(const struct teardown_view *v, char *why, size_t why_len)
{
	if (!v) {
		snprintf(why, why_len, "the teardown detector did not run");
		return false;
	}
	if (!v->nitems) {
		snprintf(why, why_len,
			 "no VM teardown was seen: nothing to judge (run one, e.g. check --teardown -- COMMAND that destroys a VM)");
		return false;
	}
	if (v->untimed && v->untimed == v->teardowns + v->open) {
		snprintf(why, why_len,
			 "%llu VM teardown%s seen, none timed: the kernel skipped the program at the close's entry (docs/teardown.md)",
			 (unsigned long long)v->untimed,
			 v->untimed == 1 ? "" : "s");
		return false;
	}
	return true;
}

static void evidence_of(const struct teardown_view *v,
			const struct teardown_item *it, char *buf, size_t len)
{
	const struct td_record *r = it->rec;
	char size[80], first[96], waiter[128];
	uint64_t entries;
	double mib;

	if (teardown_mapped(&v->kernel, r, &entries, &mib))
		snprintf(size, sizeof(size), "%.0f MiB mapped (%llu %s entries)",
			 mib, (unsigned long long)entries,
			 v->kernel.page_stats ? "TDP/shadow" : "stage-2");
	else
		snprintf(size, sizeof(size), "size not measured");
	if (!it->has_stretch) {
		snprintf(buf, len,
			 "VM pid %u (%s, thread %u): teardown %.1f ms, %s; no task wanted its CPU (longest run %.1f ms of it, %.1f ms whole, on CPU %u)",
			 r->pid, vm_name_or(r->pid, r->vm_start, r->comm), r->tid,
			 it->duration_ns / 1e6, size,
			 r->max_run_inside_ns / 1e6, r->max_run_ns / 1e6,
			 r->max_run_cpu);
		return;
	}
	if (!r->max_stretch_first)
		snprintf(first, sizeof(first),
			 "a task already queued on it as the run began");
	else if (r->max_stretch_first_comm[0])
		snprintf(first, sizeof(first), "%s (pid %u, %s)",
			 r->max_stretch_first_comm, r->max_stretch_first,
			 teardown_wait_how_name(r->max_stretch_how));
	else
		snprintf(first, sizeof(first), "pid %u (%s)",
			 r->max_stretch_first,
			 teardown_wait_how_name(r->max_stretch_how));
	if (r->max_stretch_waiter)
		snprintf(waiter, sizeof(waiter), "%s (pid %u) waited %.1f ms (%s)%s",
			 r->max_stretch_waiter_comm, r->max_stretch_waiter,
			 r->max_stretch_wait_ns / 1e6,
			 teardown_wait_how_name(r->max_stretch_wait_how),
			 r->max_stretch_waiter_left ?
			 ", then moved to another CPU" : "");
	else
		snprintf(waiter, sizeof(waiter), "the CPU then went idle");
	snprintf(buf, len,
		 "VM pid %u (%s, thread %u): teardown %.1f ms, %s; kept CPU %u %.1f ms without a schedule point after %s wanted it, in %s (run %.1f ms); %s",
		 r->pid, vm_name_or(r->pid, r->vm_start, r->comm), r->tid,
		 it->duration_ns / 1e6, size, r->max_stretch_cpu, r->max_stretch_ns / 1e6, first,
		 it->holder ? it->holder : (v->kernel.boundaries ?
			"code outside the probed functions" : "the VMM's exit"),
		 r->max_stretch_run_ns / 1e6, waiter);
}

bool teardown_measure_stretch(const struct teardown_view *v, double *ms,
			      char *evidence, size_t evidence_len, char *why,
			      size_t why_len)
{
	if (!ran(v, why, why_len))
		return false;
	/* No task wanted any teardown's CPU: nothing was held (0 ms), and
	 * the evidence says how long the teardowns ran anyway. */
	*ms = v->worst_stretch ? v->worst_stretch->rec->max_stretch_ns / 1e6 : 0;
	if (v->worst_stretch)
		evidence_of(v, v->worst_stretch, evidence, evidence_len);
	else if (v->worst_run)
		evidence_of(v, v->worst_run, evidence, evidence_len);
	return true;
}

bool teardown_measure_wait(const struct teardown_view *v, double *ms,
			   char *evidence, size_t evidence_len, char *why,
			   size_t why_len)
{
	if (!ran(v, why, why_len))
		return false;
	if (!v->kernel.wakeups && !v->worst_wait) {
		snprintf(why, why_len, "sched_wakeup is not watched");
		return false;
	}
	*ms = v->worst_wait ? v->worst_wait->rec->max_wait_ns / 1e6 : 0;
	if (v->worst_wait)
		evidence_of(v, v->worst_wait, evidence, evidence_len);
	return true;
}

static enum measure_outcome
measure_stretch(const struct check_data *d, double *value, char *evidence,
		size_t evidence_len, char *why, size_t why_len)
{
	const struct teardown_view *v = check_view(d, DET_TEARDOWN, why, why_len);

	return v && teardown_measure_stretch(v, value, evidence, evidence_len,
					     why, why_len);
}

static enum measure_outcome
measure_wait(const struct check_data *d, double *value, char *evidence,
	     size_t evidence_len, char *why, size_t why_len)
{
	const struct teardown_view *v = check_view(d, DET_TEARDOWN, why, why_len);

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

CHECK_RULE_GROUP(teardown_rule_group, "teardown", DET_TEARDOWN, teardown_rules,
		 "VM teardown holding a CPU without a schedule point (docs/teardown.md)");
