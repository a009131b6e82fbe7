/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM teardowns and their stretches without a schedule point, built from
 * raw samples of the teardown maps by pure functions (tested without a
 * kernel): which code held the CPU, who waited behind it, and whether the
 * kernel looks fixed - by its symbols and by what it did.
 */
#ifndef KVMWATCH_TEARDOWN_MODEL_H
#define KVMWATCH_TEARDOWN_MODEL_H

#include <stdio.h>

#include <jansson.h>

#include "bpf/teardown.h"
#include "core/detector.h"

/* A task kept wanting the CPU this long inside the page-table walk shows
 * the walk did not yield to it: a few scheduler slices and ticks. */
#define TEARDOWN_CONTENDED_NS 10000000ull
/* Teardowns listed in a view: those of the interval first, then recent. */
#define TEARDOWN_VIEW_MAX 16

/* What the kernel has, from kallsyms via the attach plan. */
struct teardown_kernel {
	enum kw_arch arch;
	bool stage2_fn;		/* kvm_pgtable_stage2_destroy */
	bool range_fn;		/* kvm_pgtable_stage2_destroy_range (fix) */
	bool pgd_fn;		/* kvm_pgtable_stage2_destroy_pgd (fix) */
	bool tdp_fn;		/* kvm_tdp_mmu_zap_all */
	/* destroy_vm by fentry or kprobe: real teardown boundaries. In
	 * tracepoint mode a VMM's exit stands in for them. */
	bool boundaries;
	bool walker;		/* stage2_free_walker is counted */
	/* x86: kvm->stat.pages is read as each teardown begins. */
	bool page_stats;
	bool walker_opted_out;	/* ... is not, as nobody asked (--point) */
	bool wakeups;		/* sched_wakeup is watched */
};

struct teardown_entry {
	struct td_record rec;
	/* Done before the interval began (delta): listed as recent only. */
	bool earlier;
};

/* One read of the maps, cumulative since attach; sorted by id. */
struct teardown_sample {
	struct teardown_entry *entries;
	size_t n;
	struct td_globals globals;
	struct teardown_kernel kernel;
	uint64_t ts_ns;		/* CLOCK_MONOTONIC */
};

enum teardown_behaviour {
	TB_UNCONTENDED,		/* nothing else wanted its CPU long */
	TB_YIELDED,		/* schedule points inside the zap / walk */
	TB_HELD,		/* ran the walk on while a task wanted the CPU */
};

struct teardown_item {
	const struct td_record *rec;
	bool in_interval;
	bool open;		/* not ended yet */
	uint64_t duration_ns;	/* to end, or to the sample while open */
	/* Its window held the teardown (not one seen only at its close's
	 * return): its runs are judged. */
	bool timed;
	/* A task wanted the CPU during one of its runs: there is a stretch. */
	bool has_stretch;
	/* The function the longest stretch was spent in, or NULL. */
	const char *holder;
	uint64_t holder_ns;
	/* The same for the longest run. */
	const char *run_holder;
	uint64_t run_holder_ns;
	enum teardown_behaviour behaviour;
	uint64_t walk_ns;	/* stage-2 or TDP zap time */
	uint32_t walk_switches;	/* schedule points inside it */
};

struct teardown_view {
	double interval_sec;
	struct teardown_kernel kernel;
	struct teardown_item *items;	/* newest first */
	size_t nitems;
	uint64_t teardowns;		/* ended in the interval */
	uint64_t open;
	uint64_t untimed;		/* of those, counted but not timed */
	uint64_t dropped;
	uint64_t vmm_creates;
	/* Over the interval's teardowns. */
	const struct teardown_item *worst_stretch;	/* NULL: nobody waited */
	const struct teardown_item *worst_run;
	const struct teardown_item *worst_wait;
	uint64_t yields;
	struct log2_hist durations;	/* ns */
	double duration_sum_ns;		/* exact, for the mean */
	struct log2_hist runs;		/* ns, every run */
	struct log2_hist stretches;	/* ns, runs somebody waited behind */
	/* The verdicts and why. */
	const char *symbols;		/* "fixed", "unfixed", "n/a", "unknown" */
	char symbols_why[160];
	const char *behaviour;		/* "yields", "does-not-yield", "unknown" */
	char behaviour_why[256];
	struct teardown_entry *owned;	/* the sample's entries, copied */
};

void teardown_sample_sort(struct teardown_sample *s);

/* The detector_ops functions of teardown (DEFINE_DETECTOR); its delta
 * is cur with the entries already done in prev marked earlier, and caps
 * may be NULL. */
DECLARE_DETECTOR_VIEWS(teardown);

/* The leaf entries a teardown found mapped and their size (x86: the VM's
 * page counts at its start; arm64: the walk, with --point), or false. */
bool teardown_mapped(const struct teardown_kernel *k, const struct td_record *r,
		     uint64_t *entries, double *mib);
/* Whether this kernel and mode can say what any teardown had to free. */
bool teardown_mapped_measured(const struct teardown_kernel *k);
/* Why teardown_mapped() has no figure on this kernel and in this mode. */
const char *teardown_mapped_why(const struct teardown_kernel *k);
/* Entries the view's ended teardowns found mapped (0 if none known). */
uint64_t teardown_view_mapped(const struct teardown_view *v);

const char *teardown_phase_name(unsigned int phase);
const char *teardown_wait_how_name(uint32_t how);
const char *teardown_end_name(uint32_t how);
const char *teardown_behaviour_name(enum teardown_behaviour b);

/* Which function a stretch was spent in: the innermost phase holding at
 * least half of it, else the one holding most; NULL when none. */
const char *teardown_holder(const __u64 phase_ns[TD_PH_COUNT],
			    uint64_t stretch_ns, uint64_t *held_ns);


/* The rules' figures (check --teardown): the longest stretch (from a
 * task's wanting the CPU to the teardown thread's schedule) and the
 * longest wait of a task that got the CPU after a run, in ms, with the
 * worst teardown as evidence. false with why when the run cannot
 * measure them. */
bool teardown_measure_stretch(const struct teardown_view *v, double *ms,
			      char *evidence, size_t evidence_len, char *why,
			      size_t why_len);
bool teardown_measure_wait(const struct teardown_view *v, double *ms,
			   char *evidence, size_t evidence_len, char *why,
			   size_t why_len);

/* Tracepoint mode: VMs made before kvmwatch attached, from /proc/PID/fd
 * (teardown_seed.c, by kvm_fd_kind()). */
struct teardown_seed_maps {
	int vmms_fd, fds_fd, refs_fd;	/* td_vmms, td_fds, td_vm_refs */
};

/* Enter every VMM process (or only filter_pid) with its VMs into the
 * maps; how many were new, or -errno. */
int teardown_seed_vmms(const struct teardown_seed_maps *m,
		       uint32_t filter_pid);

/* The rules of check --teardown (teardown_rules.c). */
extern const struct check_rule_group teardown_rule_group;

#endif
