/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MMIO figures per VM and guest-physical address, built from raw
 * samples of the mmio maps by pure functions (tested without a kernel):
 * writes per path, their exit reasons and costs, the fast-MMIO candidates,
 * and whether this kernel's vendor code has a fast MMIO path at all.
 */
#ifndef KVMWATCH_MMIO_MODEL_H
#define KVMWATCH_MMIO_MODEL_H

#include <stdio.h>

#include <jansson.h>

#include "bpf/mmio.h"
#include "core/detector.h"
#include "core/exit_reasons.h"

/* As the map holds it, by vCPU thread; in a sample, by VM and address
 * (tid 0) with writers telling how many vCPU threads wrote there. */
struct mmio_record {
	struct mmio_key key;
	struct mmio_stats stats;
	uint32_t writers;
};

/* A vCPU thread's writes to one address, cumulative: what tells, in an
 * interval, how many threads wrote it. */
struct mmio_writer {
	uint32_t pid;
	uint32_t tid;
	uint64_t vm_start;
	uint64_t gpa;
	uint64_t writes;
	/* Per path: the thread's first exit reason and its writes that
	 * came that way, which decide the address's (finish_fold). */
	uint32_t first_reason[MMIO_PATH_COUNT];
	uint8_t reason_set[MMIO_PATH_COUNT];
	uint64_t reason_writes[MMIO_PATH_COUNT];
};

/* A running thread's key is its tid, an exited one's its thread_ident:
 * t says both. */
struct mmio_thread_record {
	struct thread_ident key;
	struct mmio_thread t;
};

struct mmio_vm_record {
	struct thread_ident key;	/* tid 0 */
	struct mmio_vm vm;
};

struct mmio_candidate_record {
	struct mmio_key key;	/* tid 0 */
	struct mmio_candidate c;
};

#define MMIO_WHY_LEN 512

/* How the detector runs on this kernel: what the view can say. */
struct mmio_setup {
	enum kvm_vendor vendor;
	/* The vendor's MMIO exit handler and whether kallsyms has it. */
	const char *handler;
	bool handler_found;
	/* kvm_io_bus_write in fentry/kprobe mode: candidates, fast-bus
	 * tries and misses. */
	bool bus_probed;
	/* The handler in fentry/kprobe mode: per-write costs. */
	bool handler_probed;
	bool ioeventfd_probed;
	bool emulate_watched;		/* kvm:kvm_emulate_insn */
	bool exit_watched;		/* kvm:kvm_exit */
	/* The kernel has kvm:kvm_fast_mmio (x86's fast paths report to it). */
	bool fast_tracepoint_exists;
	/* kvm_amd's nrips parameter: 1, 0, or -1 when unreadable/not SVM. */
	int nrips;
	/* The vendor module's code has a fast path (its undefined symbols):
	 * 1, 0, or -1 unknown (not x86, built in, no file); why says how. */
	int code_fast_path;
	char code_why[MMIO_WHY_LEN];
	char candidates_why[MMIO_WHY_LEN];	/* when !bus_probed */
	char costs_why[MMIO_WHY_LEN];		/* when !handler_probed */
};

/* One read of the maps, cumulative since attach. recs one per (VM,
 * gpa), sorted so, writers by (VM, gpa, tid), threads by (VM, tid), vms
 * by VM, candidates by (VM, gpa); a VM is its pid and start
 * (core/vm_ident.h). A delta has no writers: each record's writers
 * counts the threads that wrote in the interval. */
struct mmio_sample {
	struct mmio_record *recs;
	size_t nrecs, recs_cap;	/* the caps: while folding */
	struct mmio_writer *writers;
	size_t nwriters, writers_cap;
	bool folded;		/* recs are per address already */
	struct mmio_thread_record *threads;
	size_t nthreads;
	struct mmio_vm_record *vms;
	size_t nvms;
	struct mmio_candidate_record *cands;
	size_t ncands;
	struct mmio_setup setup;
	uint64_t ts_ns;
};

struct mmio_path_view {
	uint64_t writes;
	uint64_t insn_emulated;
	uint64_t nested;
	uint64_t no_exit;
	uint64_t other_reason;
	bool reason_set;
	uint32_t reason;		/* of the first write */
	char reason_name[40];
	uint64_t timed;
	uint64_t preempted;		/* switched out: not timed */
	uint64_t cost_ns;
	uint64_t max_cost_ns;		/* since attach */
	uint64_t cost_avg_ns;
	uint64_t cost_p50_ns_le, cost_p99_ns_le;
	struct log2_hist cost;
};

struct mmio_addr_view {
	uint32_t pid;
	uint64_t vm_start;
	uint64_t gpa;
	uint32_t len;			/* of the last write */
	int candidate;			/* 1, 0, -1: not known in this mode */
	uint64_t writes;
	struct mmio_path_view path[MMIO_PATH_COUNT];
	uint64_t fast_misses;
	uint64_t ioeventfd_signals;
	uint32_t vcpu_threads;		/* threads that wrote it */
};

struct mmio_vm_view {
	uint32_t pid;
	uint64_t vm_start;	/* with pid, names the VM (core/vm_ident.h) */
	uint64_t exits;
	uint64_t writes;
	uint64_t by_path[MMIO_PATH_COUNT];
	double exits_per_write;		/* < 0 without writes */
	/* Current len-0 ioeventfds; NULL with ncands 0 when unknown. */
	uint64_t *cands;
	size_t ncands;
	bool cands_known;
	bool cands_truncated;
	struct mmio_addr_view *addrs;	/* by gpa */
	size_t naddrs;
};

enum mmio_fast_state {
	MMIO_FAST_UNKNOWN = -1,
	MMIO_FAST_ABSENT,	/* the vendor code has no fast MMIO path */
	MMIO_FAST_UNUSABLE,	/* it has one this host cannot take (nrips=0) */
	MMIO_FAST_PRESENT,	/* it has one this host can take; none seen */
	MMIO_FAST_IN_USE,	/* writes took it in this run */
};

/* The vendor code has a fast path, whether or not it can be taken. */
#define MMIO_FAST_IN_CODE(s)	((s) >= MMIO_FAST_UNUSABLE)
/* It can be taken here. */
#define MMIO_FAST_USABLE(s)	((s) >= MMIO_FAST_PRESENT)

/* Whether the vendor code has a fast MMIO path, and why kvmwatch says so. */
struct mmio_fast_path {
	enum mmio_fast_state state;
	/* "observed": from what the handler did in this run; "module": from
	 * the vendor module's code; "kernel": from what the kernel has
	 * (kallsyms, tracefs); NULL when unknown. */
	const char *basis;
	char why[800];
	uint64_t handler_writes;
	uint64_t fast_tries;
	uint64_t slow_candidate_runs;
	uint64_t fast_events;
};

struct mmio_view {
	double interval_sec;
	struct mmio_setup setup;
	enum exit_table table;
	struct mmio_fast_path fast_path;
	uint64_t writes;
	uint64_t by_path[MMIO_PATH_COUNT];
	uint64_t exits;
	uint64_t fast_misses;
	/* Writes to fast-MMIO candidates decoded and handled on KVM_MMIO_BUS
	 * (not by nested guests): what a fast path would have taken. */
	uint64_t emulated_candidate_writes;
	/* Writes to fast-MMIO candidates on every path (not by nested
	 * guests): the base the emulated ones are compared by, free of the
	 * other MMIO writes on the host (a LAPIC's, which vary with load). */
	uint64_t candidate_writes;
	double fast_share;		/* < 0 without writes */
	double exits_per_write;		/* < 0 without writes */
	/* All in-kernel writes (fast and emulated) with a cost. */
	struct log2_hist cost[MMIO_PATH_COUNT];
	uint64_t cost_ns[MMIO_PATH_COUNT];
	uint64_t timed[MMIO_PATH_COUNT];
	struct mmio_vm_view *vms;	/* by pid */
	size_t nvms;
};

/* Sort what the maps gave; fold recs, if read per vCPU thread, into one
 * per VM and address (a quarter at four vCPUs); settle each address's
 * exit reasons. -ENOMEM. */
int mmio_sample_sort(struct mmio_sample *sample);
/* n records of the mmio_stats map (per thread, any order) folded into
 * sample's per-address ones: a chunk of a read (detector_map.fold). The
 * exit reasons are settled by mmio_sample_sort, once all are in. raw is
 * reordered. */
int mmio_fold_records(struct mmio_sample *sample, struct mmio_record *raw,
		      size_t n);
/* The view of a sample whose in-kernel exits are named by table. */
int mmio_view_from(const struct mmio_sample *sample, double interval_sec,
		   enum exit_table table, struct mmio_view *view);

/* The detector_ops functions of mmio (DEFINE_DETECTOR); its delta
 * keeps cur's maxima, candidates and setup. */
DECLARE_DETECTOR_VIEWS(mmio);
DECLARE_DETECTOR_VM_JSON(mmio);

/* What the plan lets the detector see (part of its start; separate for
 * tests). */
void mmio_setup_from_plan(const struct attach_plan *plan,
			  struct mmio_setup *setup);

/* Whether the vendor module's code has a fast path: 1, 0 or -1, with
 * why (mmio_module.c). */
int mmio_module_fast_path(const char *module, char *why, size_t len);
/* The same with the modules under moddir (for tests). */
int mmio_module_fast_path_in(const char *moddir, const char *module,
			     char *why, size_t len);

/* The rules of check --mmio (mmio_rules.c). */
extern const struct check_rule_group mmio_rule_group;

/* Decide the fast path from the setup and the evidence (part of
 * mmio_view_build; separate for tests; mmio_fast_path.c). */
void mmio_decide_fast_path(const struct mmio_setup *setup,
			   uint64_t fast_writes,
			   uint64_t emulated_candidate_writes,
			   struct mmio_fast_path *fp);

const char *mmio_path_name(enum mmio_path path);
const char *mmio_fast_state_name(enum mmio_fast_state state);

/* The address with the most writes to a candidate through emulation. */
const struct mmio_addr_view *
mmio_view_worst_candidate(const struct mmio_view *view,
			  const struct mmio_vm_view **vm);

#endif
