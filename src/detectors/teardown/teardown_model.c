// SPDX-License-Identifier: GPL-2.0
/* VM teardowns and their stretches, from samples of the teardown maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	[TD_PH_CLOSE] = "vm_fd_close",
};

/* How deep each phase nests: kvm_destroy_vm > flush > stage-2 destroy >
 * its ranges; arch destroy > MMU uninit > TDP zap. */
static const int phase_depth[TD_PH_COUNT] = {
	[TD_PH_DESTROY_VM] = 0, [TD_PH_EXIT] = 0, [TD_PH_CLOSE] = 0,
	[TD_PH_FLUSH] = 1, [TD_PH_ARCH_DESTROY] = 1,
	[TD_PH_STAGE2] = 2, [TD_PH_TDP_ZAP_ALL] = 2, [TD_PH_MMU_UNINIT] = 2,
	[TD_PH_STAGE2_RANGE] = 3, [TD_PH_STAGE2_PGD] = 3,
	[TD_PH_TDP_ZAP_ROOTS] = 3,
};

/* The phases that walk the page tables: where a fixed kernel yields. */
static const unsigned int walk_phases[] = {
	TD_PH_STAGE2, TD_PH_TDP_ZAP_ALL, TD_PH_TDP_ZAP_ROOTS,
};

/* The fixed arm64 walk (7.3) has no outer function kvmwatch probes:
 * kvm_stage2_destroy calls the ranges, then the pgd free. */
static const unsigned int ranged_walk_phases[] = {
	TD_PH_STAGE2_RANGE, TD_PH_STAGE2_PGD,
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

void teardown_sample_free(void *sample)
{
	struct teardown_sample *s = sample;

	free(s->entries);
	memset(s, 0, sizeof(*s));
}

int teardown_sample_delta(const void *prev_sample, const void *cur_sample,
			  void *out_sample)
{
	const struct teardown_sample *prev = prev_sample, *cur = cur_sample;
	struct teardown_sample *out = out_sample;
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
	it->timed = !r->begun_at_return;
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
	for (i = 0; !r->phase_calls[TD_PH_STAGE2] &&
	     i < sizeof(ranged_walk_phases) / sizeof(ranged_walk_phases[0]);
	     i++) {
		it->walk_ns += r->phase_ns[ranged_walk_phases[i]];
		walk_calls += r->phase_calls[ranged_walk_phases[i]];
		held_in_walk += stretch_ph[ranged_walk_phases[i]];
	}
	/* Where the walk is probed, only the stretch's time inside it
	 * counts: a task kept waiting elsewhere (exit_mmap's page freeing,
	 * say) says nothing about the walk. Otherwise (tracepoint mode) the
	 * whole stretch does. */
	if (!walk_calls)
		held_in_walk = r->max_stretch_ns;
	/* The fixed arm64 walk goes range by range with cond_resched()
	 * between, outside every range call: its schedule points are the
	 * flush's, around the ranges (the outer stage-2 phase's, once it
	 * wraps them, are counted above). */
	if (!r->phase_calls[TD_PH_STAGE2] &&
	    r->phase_calls[TD_PH_STAGE2_RANGE] > 1 &&
	    r->phase_switches[TD_PH_FLUSH] > it->walk_switches)
		it->walk_switches = r->phase_switches[TD_PH_FLUSH];
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

		if (!it->timed)
			continue;
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

int teardown_view_build(const void *sample, double interval_sec,
			const struct kernel_caps *caps, void *view)
{
	const struct teardown_sample *s = sample;
	struct teardown_view *v = view;
	size_t i, j, n = 0;

	(void)caps;
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
		if (!it->timed) {
			v->untimed++;
			continue;
		}
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

		if (!it->in_interval || !it->timed)
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

bool teardown_mapped_measured(const struct teardown_kernel *k)
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

void teardown_view_free(void *view)
{
	struct teardown_view *v = view;

	free(v->items);
	free(v->owned);
	memset(v, 0, sizeof(*v));
}
