// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "teardown_model.h"

static const char *const phase_names[TD_PH_COUNT] = {
	[TD_PH_DESTROY_VM] = "kvm_destroy_vm",
	[TD_PH_FLUSH] = "kvm_arch_flush_shadow_all",
	[TD_PH_STAGE2] = "kvm_pgtable_stage2_destroy",
	[TD_PH_STAGE2_RANGE] = "kvm_pgtable_stage2_destroy_range",
	[TD_PH_STAGE2_PGD] = "kvm_pgtable_stage2_destroy_pgd",
	[TD_PH_TDP_ZAP_ALL] = "kvm_tdp_mmu_zap_all",
	[TD_PH_ARCH_DESTROY] = "kvm_arch_destroy_vm",
	[TD_PH_MMU_UNINIT] = "kvm_mmu_uninit_vm",
	[TD_PH_TDP_ZAP_ROOTS] = "kvm_tdp_mmu_zap_invalidated_roots",
	[TD_PH_EXIT] = "exit",
};

/* How deep each phase nests: kvm_destroy_vm > flush > stage-2 destroy >
 * its ranges; arch destroy > MMU uninit > TDP zap. */
static const int phase_depth[TD_PH_COUNT] = {
	[TD_PH_DESTROY_VM] = 0, [TD_PH_EXIT] = 0,
	[TD_PH_FLUSH] = 1, [TD_PH_ARCH_DESTROY] = 1,
	[TD_PH_STAGE2] = 2, [TD_PH_TDP_ZAP_ALL] = 2, [TD_PH_MMU_UNINIT] = 2,
	[TD_PH_STAGE2_RANGE] = 3, [TD_PH_STAGE2_PGD] = 3,
	[TD_PH_TDP_ZAP_ROOTS] = 3,
};

/* The phases that walk the page tables: where a fixed kernel yields. */
static const unsigned int walk_phases[] = {
	TD_PH_STAGE2, TD_PH_TDP_ZAP_ALL, TD_PH_TDP_ZAP_ROOTS,
};

const char *teardown_phase_name(unsigned int phase)
{
	return phase < TD_PH_COUNT ? phase_names[phase] : "?";
}

const char *teardown_wait_how_name(uint32_t how)
{
	switch (how) {
	case TD_WAIT_PREEMPTED:
		return "preempted";
	case TD_WAIT_WOKEN:
		return "woken";
	case TD_WAIT_BEFORE:
		return "runnable-before";
	case TD_WAIT_MIGRATED:
		return "migrated";
	case TD_WAIT_QUEUED:
		return "queued";
	default:
		return "none";
	}
}

const char *teardown_end_name(uint32_t how)
{
	switch (how) {
	case TD_END_DESTROY:
		return "destroyed";
	case TD_END_EXIT:
		return "thread-exit";
	case TD_END_NEXT:
		return "next-teardown";
	default:
		return "open";
	}
}

const char *teardown_behaviour_name(enum teardown_behaviour b)
{
	switch (b) {
	case TB_YIELDED:
		return "yielded";
	case TB_HELD:
		return "held";
	default:
		return "uncontended";
	}
}

static int compare_id(const void *a, const void *b)
{
	const struct teardown_entry *x = a, *y = b;

	return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

void teardown_sample_sort(struct teardown_sample *s)
{
	if (s->n)
		qsort(s->entries, s->n, sizeof(*s->entries), compare_id);
}

void teardown_sample_free(struct teardown_sample *s)
{
	free(s->entries);
	memset(s, 0, sizeof(*s));
}

int teardown_sample_delta(const struct teardown_sample *prev,
			  const struct teardown_sample *cur,
			  struct teardown_sample *out)
{
	size_t i, j = 0;

	*out = *cur;
	out->entries = NULL;
	if (cur->n) {
		out->entries = malloc(cur->n * sizeof(*out->entries));
		if (!out->entries)
			return -ENOMEM;
		memcpy(out->entries, cur->entries,
		       cur->n * sizeof(*out->entries));
	}
	/* Both sorted by id: a record done in prev changes no more. */
	for (i = 0; i < out->n; i++) {
		while (j < prev->n && prev->entries[j].rec.id < out->entries[i].rec.id)
			j++;
		out->entries[i].earlier = j < prev->n &&
			prev->entries[j].rec.id == out->entries[i].rec.id &&
			prev->entries[j].rec.done;
	}
	return 0;
}

const char *teardown_holder(const __u64 phase_ns[TD_PH_COUNT],
			    uint64_t stretch_ns, uint64_t *held_ns)
{
	int best = -1, most = -1;
	unsigned int p;

	*held_ns = 0;
	for (p = 0; p < TD_PH_COUNT; p++) {
		if (!phase_ns[p])
			continue;
		if (most < 0 || phase_ns[p] > phase_ns[most])
			most = p;
		if (phase_ns[p] * 2 >= stretch_ns &&
		    (best < 0 || phase_depth[p] > phase_depth[best]))
			best = p;
	}
	if (best < 0)
		best = most;
	if (best < 0)
		return NULL;
	*held_ns = phase_ns[best];
	return phase_names[best];
}

static void build_item(struct teardown_item *it, const struct teardown_entry *e,
		       uint64_t now)
{
	const struct td_record *r = &e->rec;
	uint64_t held_in_walk = 0, walk_calls = 0;
	__u64 stretch_ph[TD_PH_COUNT], run_ph[TD_PH_COUNT];
	size_t i;

	memset(it, 0, sizeof(*it));
	it->rec = r;
	it->in_interval = !e->earlier;
	it->open = !r->end_ns;
	if (r->end_ns)
		it->duration_ns = r->end_ns - r->start_ns;
	else if (now > r->start_ns)
		it->duration_ns = now - r->start_ns;
	it->has_stretch = r->stretches > 0;
	for (i = 0; i < TD_PH_COUNT; i++) {
		stretch_ph[i] = td_phase_time(r->max_stretch_phase_ns,
					      r->max_stretch_phase_open, i,
					      r->max_stretch_start,
					      r->max_stretch_end);
		run_ph[i] = td_phase_time(r->max_run_phase_ns,
					  r->max_run_phase_open, i,
					  r->max_run_start, r->max_run_end);
	}
	if (it->has_stretch)
		it->holder = teardown_holder(stretch_ph, r->max_stretch_ns,
					     &it->holder_ns);
	it->run_holder = teardown_holder(run_ph, r->max_run_ns,
					 &it->run_holder_ns);
	for (i = 0; i < sizeof(walk_phases) / sizeof(walk_phases[0]); i++) {
		it->walk_ns += r->phase_ns[walk_phases[i]];
		it->walk_switches += r->phase_switches[walk_phases[i]];
		walk_calls += r->phase_calls[walk_phases[i]];
		held_in_walk += stretch_ph[walk_phases[i]];
	}
	/* Where the walk is probed, only the stretch's time inside it
	 * counts: a task kept waiting elsewhere (exit_mmap's page freeing,
	 * say) says nothing about the walk. Otherwise (tracepoint mode) the
	 * whole stretch does. */
	if (!walk_calls)
		held_in_walk = r->max_stretch_ns;
	/* The fixed arm64 walk goes range by range with cond_resched()
	 * between: switches while the outer walk phase is open. */
	if (it->walk_switches)
		it->behaviour = TB_YIELDED;
	else if (it->has_stretch && held_in_walk >= TEARDOWN_CONTENDED_NS)
		it->behaviour = TB_HELD;
	else
		it->behaviour = TB_UNCONTENDED;
}

static int compare_newest(const void *a, const void *b)
{
	const struct teardown_item *x = a, *y = b;

	if (x->in_interval != y->in_interval)
		return x->in_interval ? -1 : 1;
	return x->rec->id > y->rec->id ? -1 : x->rec->id < y->rec->id;
}

static void symbols_verdict(struct teardown_view *v)
{
	const struct teardown_kernel *k = &v->kernel;

	if (k->arch == ARCH_X86_64) {
		v->symbols = "n/a";
		snprintf(v->symbols_why, sizeof(v->symbols_why),
			 "x86: the TDP MMU zap yields (cond_resched) on every kernel%s",
			 k->tdp_fn ? "" : "; kvm_tdp_mmu_zap_all is not in kallsyms");
	} else if (k->range_fn || k->pgd_fn) {
		v->symbols = "fixed";
		snprintf(v->symbols_why, sizeof(v->symbols_why),
			 "%s is in kallsyms: the stage-2 walk goes by ranges with cond_resched() between",
			 k->range_fn ? "kvm_pgtable_stage2_destroy_range" :
			 "kvm_pgtable_stage2_destroy_pgd");
	} else if (k->stage2_fn) {
		v->symbols = "unfixed";
		snprintf(v->symbols_why, sizeof(v->symbols_why),
			 "kvm_pgtable_stage2_destroy without kvm_pgtable_stage2_destroy_range/_pgd: one walk of the whole table");
	} else {
		v->symbols = "unknown";
		snprintf(v->symbols_why, sizeof(v->symbols_why),
			 "no stage-2 destroy function in kallsyms (KVM not loaded, or nVHE-only)");
	}
}

static void behaviour_verdict(struct teardown_view *v)
{
	const struct teardown_item *held = NULL, *yielded = NULL;
	size_t i;

	for (i = 0; i < v->nitems; i++) {
		const struct teardown_item *it = &v->items[i];

		if (it->behaviour == TB_HELD &&
		    (!held || it->rec->max_stretch_ns > held->rec->max_stretch_ns))
			held = it;
		if (it->behaviour == TB_YIELDED && !yielded)
			yielded = it;
	}
	if (held) {
		v->behaviour = "does-not-yield";
		snprintf(v->behaviour_why, sizeof(v->behaviour_why),
			 "teardown %llu of VM pid %u ran on %.1f ms (%.1f ms of it in %s) without a schedule point while another task wanted its CPU",
			 (unsigned long long)held->rec->id, held->rec->pid,
			 held->rec->max_stretch_ns / 1e6,
			 held->holder_ns / 1e6,
			 held->holder ? held->holder : "the VMM's exit");
	} else if (yielded) {
		v->behaviour = "yields";
		snprintf(v->behaviour_why, sizeof(v->behaviour_why),
			 "teardown %llu of VM pid %u took %u schedule points inside its page-table walk",
			 (unsigned long long)yielded->rec->id, yielded->rec->pid,
			 yielded->walk_switches);
	} else {
		v->behaviour = "unknown";
		snprintf(v->behaviour_why, sizeof(v->behaviour_why), "%s",
			 v->nitems ? "no teardown's walk had another task wanting its CPU for 10 ms (a kernel yields only when one does)" :
			 "no VM teardown seen");
	}
}

int teardown_view_build(const struct teardown_sample *s, double interval_sec,
			struct teardown_view *v)
{
	size_t i, j, n = 0;

	memset(v, 0, sizeof(*v));
	v->interval_sec = interval_sec;
	v->kernel = s->kernel;
	v->dropped = s->globals.dropped;
	v->vmm_creates = s->globals.vmm_creates;
	if (s->n) {
		v->owned = malloc(s->n * sizeof(*v->owned));
		v->items = calloc(s->n, sizeof(*v->items));
		if (!v->owned || !v->items) {
			teardown_view_free(v);
			return -ENOMEM;
		}
		memcpy(v->owned, s->entries, s->n * sizeof(*v->owned));
	}
	for (i = 0; i < s->n; i++) {
		struct teardown_item *it = &v->items[n++];

		build_item(it, &v->owned[i], s->ts_ns);
		if (!it->in_interval)
			continue;
		if (it->open)
			v->open++;
		else
			v->teardowns++;
		v->yields += it->rec->yields;
		if (!it->open) {
			v->durations.slots[log2_slot(it->duration_ns)]++;
			v->duration_sum_ns += it->duration_ns;
		}
		for (j = 0; j < HIST_SLOTS; j++) {
			v->runs.slots[j] += it->rec->run_hist.slots[j];
			v->stretches.slots[j] += it->rec->stretch_hist.slots[j];
		}
	}
	qsort(v->items, n, sizeof(*v->items), compare_newest);
	/* Keep every teardown of the interval, and recent earlier ones up
	 * to TEARDOWN_VIEW_MAX. */
	v->nitems = n < TEARDOWN_VIEW_MAX ? n : TEARDOWN_VIEW_MAX;
	if (v->teardowns + v->open > v->nitems)
		v->nitems = v->teardowns + v->open;
	for (i = 0; i < v->nitems; i++) {
		const struct teardown_item *it = &v->items[i];

		if (!it->in_interval)
			continue;
		if (it->has_stretch && (!v->worst_stretch ||
		    it->rec->max_stretch_ns > v->worst_stretch->rec->max_stretch_ns))
			v->worst_stretch = it;
		if (!v->worst_run ||
		    it->rec->max_run_ns > v->worst_run->rec->max_run_ns)
			v->worst_run = it;
		if (!v->worst_wait ||
		    it->rec->max_wait_ns > v->worst_wait->rec->max_wait_ns)
			v->worst_wait = it;
	}
	symbols_verdict(v);
	behaviour_verdict(v);
	return 0;
}

bool teardown_mapped(const struct teardown_kernel *k, const struct td_record *r,
		     uint64_t *entries, double *mib)
{
	static const double size_mib[TD_PAGE_SIZES] = { 4.0 / 1024, 2, 1024 };
	int i;

	*entries = 0;
	*mib = 0;
	if (k->page_stats && r->mapped_known) {
		for (i = 0; i < TD_PAGE_SIZES; i++) {
			*entries += r->mapped_pages[i];
			*mib += r->mapped_pages[i] * size_mib[i];
		}
		return true;
	}
	if (k->walker) {
		*entries = r->walker_mapped;
		*mib = r->walker_mapped * size_mib[0];
		return true;
	}
	return false;
}

/* Whether this kernel and mode can say what any teardown had to free. */
static bool mapped_measured(const struct teardown_kernel *k)
{
	return k->page_stats || k->walker;
}

const char *teardown_mapped_why(const struct teardown_kernel *k)
{
	if (k->arch == ARCH_ARM64)
		return k->walker_opted_out ?
			"stage2_free_walker is off: one probe per entry lengthens the walk (--point stage2_free_walker counts the entries)" :
			"stage2_free_walker is not watched in this mode";
	if (!k->boundaries)
		return "tracepoint mode: kvm_destroy_vm is not probed, so the VM's page counts are not read";
	return "this kernel's struct kvm_vm_stat has no pages_4k (before 5.13)";
}

void teardown_view_free(struct teardown_view *v)
{
	free(v->items);
	free(v->owned);
	memset(v, 0, sizeof(*v));
}

/* ---- JSON ---- */

static json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

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
	json_object_set_new(o, "tid", json_u64(r->tid));
	json_object_set_new(o, "comm", json_string(r->comm));
	json_object_set_new(o, "in_interval", json_boolean(it->in_interval));
	json_object_set_new(o, "begun_by", json_string(teardown_phase_name(r->begun_by)));
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
		json_object_set_new(phases, phase_names[p], ph);
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

json_t *teardown_view_json(const struct teardown_view *v)
{
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
	if (mapped_measured(&v->kernel)) {
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

/* ---- text ---- */

void teardown_view_text(FILE *out, const struct teardown_view *v,
			const char *modes)
{
	size_t i;

	fprintf(out, "teardown (%s): %llu ended, %llu open; kernel: %s, behaviour: %s\n",
		modes, (unsigned long long)v->teardowns,
		(unsigned long long)v->open, v->symbols, v->behaviour);
	fprintf(out, "  %s\n  %s\n", v->symbols_why, v->behaviour_why);
	if (!v->nitems)
		return;
	fprintf(out, "  %-7s %-7s %-12s %9s %8s %10s %9s  %-34s %-20s %6s %9s\n",
		"ID", "VM", "COMM", "TOTAL_MS", "RUN_MS", "STRETCH_MS",
		"WAIT_MS", "HELD_BY", "WAITER", "YIELDS", "MAPPED");
	for (i = 0; i < v->nitems; i++) {
		const struct teardown_item *it = &v->items[i];
		const struct td_record *r = it->rec;
		char waiter[40], mapped[24], stretch[16], wait[16];
		const char *holder;
		uint64_t entries;
		double mib;

		if (it->has_stretch && r->max_stretch_waiter)
			snprintf(waiter, sizeof(waiter), "%.12s/%u",
				 r->max_stretch_waiter_comm, r->max_stretch_waiter);
		else
			snprintf(waiter, sizeof(waiter), "-");
		if (it->has_stretch) {
			snprintf(stretch, sizeof(stretch), "%.1f",
				 r->max_stretch_ns / 1e6);
			snprintf(wait, sizeof(wait), "%.1f",
				 r->max_stretch_wait_ns / 1e6);
			holder = it->holder;
		} else {
			/* Nobody wanted the CPU: no stretch to show. */
			snprintf(stretch, sizeof(stretch), "-");
			snprintf(wait, sizeof(wait), "-");
			holder = NULL;
		}
		if (teardown_mapped(&v->kernel, r, &entries, &mib))
			snprintf(mapped, sizeof(mapped), "%.0fMiB", mib);
		else
			snprintf(mapped, sizeof(mapped), "n/a");
		fprintf(out, "  %-7llu %-7u %-12.12s %9.1f %8.1f %10s %9s  %-34s %-20s %6u %9s%s\n",
			(unsigned long long)r->id, r->pid, r->comm,
			it->duration_ns / 1e6, r->max_run_ns / 1e6, stretch,
			wait, holder ? holder : "-", waiter, r->yields,
			mapped, it->open ? " (open)" :
			it->in_interval ? "" : " (earlier)");
	}
}

/* ---- metrics ---- */

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

int teardown_view_metrics(const struct teardown_view *v, struct metric_set *out)
{
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
	ADD(METRIC_GAUGE, "ms", "longest time a teardown kept its CPU while another task wanted it",
	    BETTER_LOWER, "teardown.max_stretch_ms");
	m->value = v->worst_stretch ? v->worst_stretch->rec->max_stretch_ns / 1e6 : 0;
	/* Not gated by check (nobody may have waited), but a baseline may
	 * judge it: a teardown holding a CPU longer is a regression. */
	ADD(METRIC_GAUGE, "ms", "longest run of a teardown on a CPU without a schedule point, waited behind or not",
	    BETTER_LOWER, "teardown.max_run_ms");
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
	if (mapped_measured(&v->kernel))
		m->value = teardown_view_mapped(v);
	else
		m->unavailable = teardown_mapped_why(&v->kernel);
	ADD(METRIC_HISTOGRAM, "ns", "teardown durations",
	    BETTER_LOWER, "teardown.duration_ns");
	metric_set_hist(m, v->durations.slots, v->duration_sum_ns);
	ADD(METRIC_HISTOGRAM, "ns", "teardown runs on a CPU without a schedule point",
	    BETTER_LOWER, "teardown.run_ns");
	metric_set_hist(m, v->runs.slots, -1);
	ADD(METRIC_HISTOGRAM, "ns", "teardown stretches: from a task wanting the CPU to the schedule point",
	    BETTER_LOWER, "teardown.stretch_ns");
	metric_set_hist(m, v->stretches.slots, -1);
	for (i = 0; i < v->nitems; i++) {
		const struct td_record *r = v->items[i].rec;

		if (!v->items[i].in_interval)
			continue;
		ADD(METRIC_GAUGE, "ms", "longest stretch of this VM's teardown (0: nobody wanted its CPU)",
		    BETTER_LOWER, "teardown.vm_max_stretch_ms");
		m->value = r->max_stretch_ns / 1e6;
		if (metric_label(m, "vm", "%u", r->pid))
			return -E2BIG;
		ADD(METRIC_GAUGE, "ms", "longest run of this VM's teardown without a schedule point",
		    BETTER_LOWER, "teardown.vm_max_run_ms");
		m->value = r->max_run_ns / 1e6;
		if (metric_label(m, "vm", "%u", r->pid))
			return -E2BIG;
		ADD(METRIC_GAUGE, "ms", "duration of this VM's teardown",
		    BETTER_LOWER, "teardown.vm_duration_ms");
		m->value = v->items[i].duration_ns / 1e6;
		if (metric_label(m, "vm", "%u", r->pid))
			return -E2BIG;
		if (!teardown_mapped(&v->kernel, r, &entries, &mib))
			continue;
		ADD(METRIC_GAUGE, "entries", "leaf page-table entries this VM's teardown found mapped",
		    BETTER_LOWER, "teardown.vm_mapped_entries");
		m->value = entries;
		if (metric_label(m, "vm", "%u", r->pid))
			return -E2BIG;
	}
#undef ADD
	return 0;
}

/* ---- rules ---- */

static bool ran(const struct teardown_view *v, char *why, size_t why_len)
{
	if (v)
		return true;
	snprintf(why, why_len, "the teardown detector did not run");
	return false;
}

static void evidence_of(const struct teardown_view *v,
			const struct teardown_item *it, char *buf, size_t len)
{
	const struct td_record *r = it->rec;
	char size[80], first[96], waiter[96];
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
			 "VM pid %u (%s, thread %u): teardown %.1f ms, %s; no task wanted its CPU (longest run %.1f ms on CPU %u)",
			 r->pid, r->comm, r->tid, it->duration_ns / 1e6, size,
			 r->max_run_ns / 1e6, r->max_run_cpu);
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
		snprintf(waiter, sizeof(waiter), "%s (pid %u) waited %.1f ms (%s)",
			 r->max_stretch_waiter_comm, r->max_stretch_waiter,
			 r->max_stretch_wait_ns / 1e6,
			 teardown_wait_how_name(r->max_stretch_wait_how));
	else
		snprintf(waiter, sizeof(waiter), "the CPU then went idle");
	snprintf(buf, len,
		 "VM pid %u (%s, thread %u): teardown %.1f ms, %s; kept CPU %u %.1f ms without a schedule point after %s wanted it, in %s (run %.1f ms); %s",
		 r->pid, r->comm, r->tid, it->duration_ns / 1e6, size,
		 r->max_stretch_cpu, r->max_stretch_ns / 1e6, first,
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
