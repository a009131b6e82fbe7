// SPDX-License-Identifier: GPL-2.0
/* The teardown view as JSON: verdicts, then each teardown's runs,
 * stretches and waiters. */
#include "core/histogram.h"
#include "core/json_figures.h"
#include "teardown_model.h"

static json_t *json_ms(uint64_t ns)
{
	return json_real(ns / 1e6);
}

static json_t *comm_json(const char *comm)
{
	return comm[0] ? json_string(comm) : json_null();
}

static const char *held_by_why(const struct teardown_view *v)
{
	return v->kernel.boundaries ? "outside the probed teardown functions" :
		"tracepoint mode: the functions are not probed";
}

static const char *no_stretch_why(const struct teardown_view *v,
				  const struct teardown_item *it)
{
	if (!it->rec->runs)
		return "no run of the teardown has ended yet";
	if (!v->kernel.wakeups)
		return "no task got the CPU after a run while waiting for it (sched_wakeup is not watched: a woken task is seen only when it runs)";
	return "no other task wanted the CPU during the teardown's runs: nobody waited";
}

/* The longest stretch: from the first task that wanted the CPU to the
 * schedule point; who that was and who got the CPU. */
static json_t *stretch_json(const struct teardown_view *v,
			    const struct teardown_item *it)
{
	const struct td_record *r = it->rec;
	json_t *st = json_object(), *f = json_object(), *w;

	json_object_set_new(st, "ms", json_ms(r->max_stretch_ns));
	json_object_set_new(st, "start_ns", json_u64(r->max_stretch_start));
	json_object_set_new(st, "end_ns", json_u64(r->max_stretch_end));
	json_object_set_new(st, "cpu", json_u64(r->max_stretch_cpu));
	json_object_set_new(st, "run_ms", json_ms(r->max_stretch_run_ns));
	json_object_set_new(st, "held_by", it->holder ? json_string(it->holder) : json_null());
	if (!it->holder)
		json_object_set_new(st, "held_by_why", json_string(held_by_why(v)));
	json_object_set_new(st, "held_by_ms", json_ms(it->holder_ns));
	json_object_set_new(f, "pid", r->max_stretch_first ?
			    json_u64(r->max_stretch_first) : json_null());
	json_object_set_new(f, "comm", comm_json(r->max_stretch_first_comm));
	json_object_set_new(f, "since", json_string(teardown_wait_how_name(r->max_stretch_how)));
	json_object_set_new(st, "first_waiter", f);
	if (r->max_stretch_waiter) {
		w = json_object();
		json_object_set_new(w, "pid", json_u64(r->max_stretch_waiter));
		json_object_set_new(w, "comm", comm_json(r->max_stretch_waiter_comm));
		json_object_set_new(w, "waited_ms", json_ms(r->max_stretch_wait_ns));
		json_object_set_new(w, "since", json_string(teardown_wait_how_name(r->max_stretch_wait_how)));
		json_object_set_new(w, "moved_away", json_boolean(r->max_stretch_waiter_left));
		json_object_set_new(st, "waiter", w);
	} else {
		json_object_set_new(st, "waiter", json_null());
		json_object_set_new(st, "waiter_why", json_string(
			"no task got the CPU after it: it went idle (the task that wanted it had moved on) or the thread began another teardown"));
	}
	return st;
}

/* The longest run on a CPU without a schedule point, waited behind or
 * not (informational). */
static json_t *run_json(const struct teardown_view *v,
			const struct teardown_item *it)
{
	const struct td_record *r = it->rec;
	json_t *st = json_object(), *n;

	json_object_set_new(st, "ms", json_ms(r->max_run_ns));
	/* The longest part of a run inside the teardown: top's RUN_MS. */
	json_object_set_new(st, "inside_ms", json_ms(r->max_run_inside_ns));
	json_object_set_new(st, "start_ns", json_u64(r->max_run_start));
	json_object_set_new(st, "end_ns", json_u64(r->max_run_end));
	json_object_set_new(st, "cpu", json_u64(r->max_run_cpu));
	json_object_set_new(st, "start_known", json_boolean(r->max_run_start_known));
	json_object_set_new(st, "held_by", it->run_holder ? json_string(it->run_holder) : json_null());
	if (!it->run_holder)
		json_object_set_new(st, "held_by_why", json_string(held_by_why(v)));
	json_object_set_new(st, "held_by_ms", json_ms(it->run_holder_ns));
	json_object_set_new(st, "wanted_ms", json_ms(r->max_run_wanted_ns));
	if (r->max_run_next) {
		n = json_object();
		json_object_set_new(n, "pid", json_u64(r->max_run_next));
		json_object_set_new(n, "comm", comm_json(r->max_run_next_comm));
		json_object_set_new(st, "next", n);
	} else {
		json_object_set_new(st, "next", json_null());
		json_object_set_new(st, "next_why", json_string(
			r->max_run_end ? "the CPU went idle after it" :
			"no run has ended yet"));
	}
	return st;
}

static json_t *item_json(const struct teardown_view *v,
			 const struct teardown_item *it)
{
	const struct td_record *r = it->rec;
	json_t *o = json_object(), *phases = json_object(), *w;
	uint64_t mapped;
	unsigned int p;
	double mib;

	json_object_set_new(o, "id", json_u64(r->id));
	json_object_set_new(o, "pid", json_u64(r->pid));
	json_object_set_new(o, "vm_start", json_vm_start(r->vm_start));
	json_object_set_new(o, "name", json_vm_name(r->pid, r->vm_start));
	json_object_set_new(o, "tid", json_u64(r->tid));
	json_object_set_new(o, "comm", json_string(r->comm));
	json_object_set_new(o, "in_interval", json_boolean(it->in_interval));
	json_object_set_new(o, "begun_by", json_string(teardown_phase_name(r->begun_by)));
	json_object_set_new(o, "timed", json_boolean(it->timed));
	if (!it->timed)
		json_object_set_new(o, "untimed_why", json_string(
			"the kernel skipped the program at the close's entry (a preempted run of it on that CPU, 7.x): seen at the close's return, after the release (in the close itself on recent kernels); counted, not judged"));
	json_object_set_new(o, "end", json_string(teardown_end_name(r->end_how)));
	json_object_set_new(o, "start_ns", json_u64(r->start_ns));
	json_object_set_new(o, "end_ns", r->end_ns ? json_u64(r->end_ns) : json_null());
	json_object_set_new(o, "duration_ms", json_ms(it->duration_ns));
	json_object_set_new(o, "vms_destroyed", json_u64(r->vms));
	for (p = 0; p < TD_PH_COUNT; p++) {
		json_t *ph;

		if (!r->phase_calls[p])
			continue;
		ph = json_object();
		json_object_set_new(ph, "calls", json_u64(r->phase_calls[p]));
		json_object_set_new(ph, "ms", json_ms(r->phase_ns[p]));
		json_object_set_new(ph, "schedule_points", json_u64(r->phase_switches[p]));
		json_object_set_new(phases, teardown_phase_name(p), ph);
	}
	json_object_set_new(o, "phases", phases);
	if (teardown_mapped(&v->kernel, r, &mapped, &mib)) {
		json_object_set_new(o, "mapped_entries", json_u64(mapped));
		json_object_set_new(o, "mapped_mib", json_real(mib));
		json_object_set_new(o, "mapped_from", json_string(
			v->kernel.page_stats ? "kvm_stat" : "walker"));
	} else {
		json_object_set_new(o, "mapped_entries", json_null());
		json_object_set_new(o, "mapped_why", json_string(
			teardown_mapped_why(&v->kernel)));
	}
	if (v->kernel.page_stats && r->mapped_known) {
		json_t *sizes = json_object();

		json_object_set_new(sizes, "4k", json_u64(r->mapped_pages[0]));
		json_object_set_new(sizes, "2m", json_u64(r->mapped_pages[1]));
		json_object_set_new(sizes, "1g", json_u64(r->mapped_pages[2]));
		json_object_set_new(o, "mapped_by_size", sizes);
	}
	if (v->kernel.walker) {
		json_object_set_new(o, "walk_leaf_entries", json_u64(r->walker_leaves));
		json_object_set_new(o, "walk_mapped_entries", json_u64(r->walker_mapped));
		json_object_set_new(o, "walk_tables", json_u64(r->walker_tables));
	} else {
		json_object_set_new(o, "walk_leaf_entries", json_null());
		json_object_set_new(o, "walk_why", json_string(
			v->kernel.arch != ARCH_ARM64 ?
			"x86 has no stage-2 walker to count; the TDP zap is timed instead" :
			teardown_mapped_why(&v->kernel)));
	}
	json_object_set_new(o, "yields", json_u64(r->yields));
	json_object_set_new(o, "blocks", json_u64(r->blocks));
	json_object_set_new(o, "runs", json_u64(r->runs));
	json_object_set_new(o, "stretches", json_u64(r->stretches));
	json_object_set_new(o, "run_ms", json_ms(r->run_ns));
	json_object_set_new(o, "walk_ms", json_ms(it->walk_ns));
	json_object_set_new(o, "walk_schedule_points", json_u64(it->walk_switches));
	json_object_set_new(o, "behaviour", json_string(teardown_behaviour_name(it->behaviour)));

	if (it->has_stretch) {
		json_object_set_new(o, "longest_stretch", stretch_json(v, it));
	} else {
		json_object_set_new(o, "longest_stretch", json_null());
		json_object_set_new(o, "longest_stretch_why", json_string(
			no_stretch_why(v, it)));
	}
	json_object_set_new(o, "longest_run", run_json(v, it));
	w = json_object();
	json_object_set_new(w, "ms", json_ms(r->max_wait_ns));
	json_object_set_new(w, "pid", r->max_waiter ? json_u64(r->max_waiter) : json_null());
	json_object_set_new(w, "comm", r->max_waiter ? json_string(r->max_waiter_comm) : json_null());
	json_object_set_new(w, "since", json_string(teardown_wait_how_name(r->max_wait_how)));
	json_object_set_new(o, "longest_wait", w);
	return o;
}

json_t *teardown_view_json(const void *view)
{
	const struct teardown_view *v = view;
	json_t *o = json_object(), *items = json_array(), *k = json_object();
	size_t i;

	json_object_set_new(k, "symbols", json_string(v->symbols));
	json_object_set_new(k, "symbols_why", json_string(v->symbols_why));
	json_object_set_new(k, "behaviour", json_string(v->behaviour));
	json_object_set_new(k, "behaviour_why", json_string(v->behaviour_why));
	json_object_set_new(k, "boundaries", json_string(v->kernel.boundaries ?
		"kvm_destroy_vm and the teardown functions are probed" :
		"tracepoint mode: a VMM process's exit (exit_group to its last schedule) stands in for its teardown"));
	json_object_set_new(o, "kernel", k);
	json_object_set_new(o, "teardowns", json_u64(v->teardowns));
	json_object_set_new(o, "open", json_u64(v->open));
	json_object_set_new(o, "untimed", json_u64(v->untimed));
	json_object_set_new(o, "dropped", json_u64(v->dropped));
	json_object_set_new(o, "yields", json_u64(v->yields));
	json_object_set_new(o, "max_stretch_ms", v->worst_stretch ?
			    json_ms(v->worst_stretch->rec->max_stretch_ns) : json_null());
	if (!v->worst_stretch)
		json_object_set_new(o, "max_stretch_why", json_string(
			v->worst_run ? "no task wanted a teardown's CPU" :
			"no VM teardown in this interval"));
	json_object_set_new(o, "max_run_ms", v->worst_run ?
			    json_ms(v->worst_run->rec->max_run_ns) : json_null());
	json_object_set_new(o, "max_wait_ms", v->worst_wait ?
			    json_ms(v->worst_wait->rec->max_wait_ns) : json_null());
	if (teardown_mapped_measured(&v->kernel)) {
		json_object_set_new(o, "mapped_entries", json_u64(teardown_view_mapped(v)));
	} else {
		json_object_set_new(o, "mapped_entries", json_null());
		json_object_set_new(o, "mapped_why", json_string(teardown_mapped_why(&v->kernel)));
	}
	json_object_set_new(o, "duration_hist_log2_ns", json_hist_counts(&v->durations));
	json_object_set_new(o, "run_hist_log2_ns", json_hist_counts(&v->runs));
	json_object_set_new(o, "stretch_hist_log2_ns", json_hist_counts(&v->stretches));
	for (i = 0; i < v->nitems; i++)
		json_array_append_new(items, item_json(v, &v->items[i]));
	json_object_set_new(o, "recent", items);
	return o;
}
