// SPDX-License-Identifier: GPL-2.0
/* The teardown view as metrics, for record, baselines and export. */
#include <errno.h>

#include "teardown_model.h"

/* Over the interval's ended teardowns. */
uint64_t teardown_view_mapped(const struct teardown_view *v)
{
	uint64_t total = 0, entries;
	double mib;
	size_t i;

	for (i = 0; i < v->nitems; i++)
		if (v->items[i].in_interval && !v->items[i].open &&
		    teardown_mapped(&v->kernel, v->items[i].rec, &entries, &mib))
			total += entries;
	return total;
}

int teardown_view_metrics(const void *view, struct metric_set *out)
{
	const struct teardown_view *v = view;
	uint64_t entries;
	struct metric *m;
	double mib;
	size_t i;

#define ADD(type, unit, help, better, name)				\
	m = metric_add(out, type, unit, help, better, name);		\
	if (!m)								\
		return -ENOMEM

	ADD(METRIC_COUNTER, "teardowns", "VM teardowns that ended",
	    BETTER_NEITHER, "teardown.teardowns");
	m->value = v->teardowns;
	ADD(METRIC_GAUGE, "teardowns", "VM teardowns still in progress",
	    BETTER_NEITHER, "teardown.open");
	m->value = v->open;
	ADD(METRIC_COUNTER, "teardowns", "VM teardowns seen only at their close's return (the kernel skipped the program at its entry): counted, not timed",
	    BETTER_NEITHER, "teardown.untimed");
	m->value = v->untimed;
	ADD(METRIC_GAUGE, "ms", "longest time a teardown kept its CPU while another task wanted it",
	    BETTER_LOWER, "teardown.max_stretch_ms");
	m->value = v->worst_stretch ? v->worst_stretch->rec->max_stretch_ns / 1e6 : 0;
	/* Context, never a verdict: nobody may have waited, and the run
	 * goes on past the teardown (a VMM's exit freeing its memory: the
	 * same workload's longest run 24 ms, then 98 to 131 ms in 3 of 10
	 * checks on arm64 6.1, inside the teardown 1.5 to 2.5 ms of it). A
	 * bigger teardown shows in duration_ns and mapped_entries. */
	ADD(METRIC_GAUGE, "ms", "longest run of a teardown on a CPU without a schedule point, waited behind or not",
	    BETTER_NEITHER, "teardown.max_run_ms");
	m->value = v->worst_run ? v->worst_run->rec->max_run_ns / 1e6 : 0;
	ADD(METRIC_GAUGE, "ms", "longest wait of a runnable task behind a teardown run",
	    BETTER_LOWER, "teardown.max_wait_ms");
	m->value = v->worst_wait ? v->worst_wait->rec->max_wait_ns / 1e6 : 0;
	ADD(METRIC_COUNTER, "yields", "schedule points teardowns took while runnable",
	    BETTER_NEITHER, "teardown.yields");
	m->value = v->yields;
	/* The teardowns' work: more per run for the same workload means
	 * smaller mappings (e.g. lost huge pages). */
	ADD(METRIC_COUNTER, "entries", "leaf page-table entries the teardowns found mapped",
	    BETTER_LOWER, "teardown.mapped_entries");
	if (teardown_mapped_measured(&v->kernel))
		m->value = teardown_view_mapped(v);
	else
		m->unavailable = teardown_mapped_why(&v->kernel);
	/* A run has a few teardowns: one bigger VM among them is the
	 * regression, and it moves their mean, not their median. */
	ADD(METRIC_HISTOGRAM, "ns", "teardown durations",
	    BETTER_LOWER, "teardown.duration_ns");
	if (metric_set_hist(m, v->durations.slots, v->duration_sum_ns))
		return -ENOMEM;
	m->stat = METRIC_STAT_MEAN;
	ADD(METRIC_HISTOGRAM, "ns", "teardown runs on a CPU without a schedule point",
	    BETTER_LOWER, "teardown.run_ns");
	if (metric_set_hist(m, v->runs.slots, -1))
		return -ENOMEM;
	m->stat = METRIC_STAT_MEAN;
	ADD(METRIC_HISTOGRAM, "ns", "teardown stretches: from a task wanting the CPU to the schedule point",
	    BETTER_LOWER, "teardown.stretch_ns");
	if (metric_set_hist(m, v->stretches.slots, -1))
		return -ENOMEM;
	m->stat = METRIC_STAT_MEAN;
	for (i = 0; i < v->nitems; i++) {
		const struct td_record *r = v->items[i].rec;

		if (!v->items[i].in_interval)
			continue;
		ADD(METRIC_GAUGE, "ms", "longest stretch of this VM's teardown (0: nobody wanted its CPU)",
		    BETTER_LOWER, "teardown.vm_max_stretch_ms");
		m->value = r->max_stretch_ns / 1e6;
		if (metric_vm_labels(m, r->pid, r->vm_start))
			return -E2BIG;
		ADD(METRIC_GAUGE, "ms", "longest run of this VM's teardown without a schedule point",
		    BETTER_LOWER, "teardown.vm_max_run_ms");
		m->value = r->max_run_ns / 1e6;
		if (metric_vm_labels(m, r->pid, r->vm_start))
			return -E2BIG;
		ADD(METRIC_GAUGE, "ms", "duration of this VM's teardown",
		    BETTER_LOWER, "teardown.vm_duration_ms");
		m->value = v->items[i].duration_ns / 1e6;
		if (metric_vm_labels(m, r->pid, r->vm_start))
			return -E2BIG;
		if (!teardown_mapped(&v->kernel, r, &entries, &mib))
			continue;
		ADD(METRIC_GAUGE, "entries", "leaf page-table entries this VM's teardown found mapped",
		    BETTER_LOWER, "teardown.vm_mapped_entries");
		m->value = entries;
		if (metric_vm_labels(m, r->pid, r->vm_start))
			return -E2BIG;
	}
#undef ADD
	return 0;
}
