/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map layouts shared by bpf/teardown.bpf.c and src/teardown.c, and the
 * stretch bookkeeping itself: plain arithmetic on these structs, compiled
 * into the BPF programs and into the unit tests alike.
 *
 * A teardown is one thread destroying one (or more) VMs: it begins at the
 * first teardown function that thread enters (kvm_arch_flush_shadow_all
 * from the MMU notifier release in exit_mmap, or kvm_destroy_vm at the last
 * fd close) and ends when kvm_destroy_vm returns or the thread dies. A
 * stretch is one run of that thread on a CPU, from the schedule point that
 * put it there to the one that takes it off: the time the CPU went without
 * a schedule point.
 */
#ifndef KVMWATCH_TEARDOWN_H
#define KVMWATCH_TEARDOWN_H

#include "hist.h"
#ifndef __VMLINUX_H__
#include <stdbool.h>
#endif

#define TD_MAX_RECORDS 1024
#define TD_MAX_THREADS 1024
#define TD_MAX_VMMS 4096
#define TD_MAX_CPUS 1024	/* resized to the possible CPUs at load */
#define TD_MAX_WAKES 4		/* wakeups remembered per stretch */
#define TD_COMM_LEN 16

/* The functions a teardown passes through. Their nesting (for "which
 * code held the CPU") is in src/teardown_model.c. */
enum td_phase {
	TD_PH_DESTROY_VM,	/* kvm_destroy_vm */
	TD_PH_FLUSH,		/* kvm_arch_flush_shadow_all */
	TD_PH_STAGE2,		/* kvm_pgtable_stage2_destroy (arm64) */
	TD_PH_STAGE2_RANGE,	/* kvm_pgtable_stage2_destroy_range (fixed) */
	TD_PH_STAGE2_PGD,	/* kvm_pgtable_stage2_destroy_pgd (fixed) */
	TD_PH_TDP_ZAP_ALL,	/* kvm_tdp_mmu_zap_all (x86) */
	TD_PH_ARCH_DESTROY,	/* kvm_arch_destroy_vm */
	TD_PH_MMU_UNINIT,	/* kvm_mmu_uninit_vm (x86) */
	TD_PH_TDP_ZAP_ROOTS,	/* kvm_tdp_mmu_zap_invalidated_roots (x86) */
	TD_PH_EXIT,		/* tracepoint mode: exit_group .. last switch */
	TD_PH_COUNT,
};

/* How the task that ran next had become runnable: how much of its wait
 * is known. */
enum td_wait_how {
	TD_WAIT_NONE = 0,	/* the CPU went idle: nobody waited */
	TD_WAIT_PREEMPTED = 1,	/* switched out runnable as the stretch began */
	TD_WAIT_WOKEN = 2,	/* woken onto this CPU during the stretch */
	TD_WAIT_BEFORE = 3,	/* runnable since before: at least this long */
};

enum td_end_how {
	TD_END_OPEN = 0,
	TD_END_DESTROY = 1,	/* kvm_destroy_vm returned */
	TD_END_EXIT = 2,	/* the thread died */
	TD_END_NEXT = 3,	/* the thread began another teardown */
};

/* sched_switch prev_state: 0 is TASK_RUNNING (a yield), TASK_REPORT_MAX
 * (0x100) a preemption; both leave the task runnable. EXIT_ZOMBIE/DEAD
 * mark the last switch of a dying task. */
#define TD_STATE_PREEMPTED 0x100
#define TD_STATE_EXIT_MASK 0x30

static __always_inline bool td_state_runnable(long state)
{
	return state == 0 || state == TD_STATE_PREEMPTED;
}

static __always_inline bool td_state_dead(long state)
{
	return state != TD_STATE_PREEMPTED && (state & TD_STATE_EXIT_MASK);
}

struct td_record {
	__u64 id;
	__u32 pid;		/* VMM process (kvm->userspace_pid or tgid) */
	__u32 tid;		/* the thread tearing down */
	__u64 kvm;		/* struct kvm address, 0 in tracepoint mode */
	char comm[TD_COMM_LEN];
	__u64 start_ns, end_ns;	/* CLOCK_MONOTONIC; end 0 while open */
	__u32 begun_by;		/* enum td_phase that opened it */
	__u32 end_how;		/* enum td_end_how */
	__u32 done;		/* ended and off the CPU: final */
	__u32 vms;		/* kvm_destroy_vm calls */
	/* Phases, by enum td_phase. */
	__u64 phase_ns[TD_PH_COUNT];
	__u32 phase_calls[TD_PH_COUNT];
	/* Schedule points taken while each phase was open. */
	__u32 phase_switches[TD_PH_COUNT];
	__u64 phase_start[TD_PH_COUNT];	/* of the open call, 0 if none */
	/* stage2_free_walker visits (arm64): leaf entries, those that were
	 * mapped, and tables freed after their entries. */
	__u64 walker_leaves, walker_mapped, walker_tables;
	/* Schedule points inside the teardown. */
	__u32 yields;		/* switched out still runnable */
	__u32 blocks;		/* switched out to sleep */
	__u32 stretches;
	__u32 on_cpu;		/* a stretch is open */
	__u64 run_ns;		/* on-CPU time within [start, end] */
	/* The open stretch. */
	__u64 cur_start;
	__u32 cur_cpu;
	__u32 cur_start_known;	/* 0: began before any switch was seen */
	__u64 cur_phase_ns[TD_PH_COUNT];
	/* The longest stretch. */
	__u64 max_stretch_ns;
	__u64 max_stretch_start, max_stretch_end;
	__u32 max_stretch_cpu;
	__u32 max_stretch_start_known;
	__u64 max_stretch_phase_ns[TD_PH_COUNT];
	/* Who ran after the longest stretch, and how long it had waited. */
	__u32 max_stretch_waiter;
	__u32 max_stretch_wait_how;
	__u64 max_stretch_wait_ns;
	char max_stretch_waiter_comm[TD_COMM_LEN];
	/* The longest wait of any task behind this teardown's stretches. */
	__u64 max_wait_ns;
	__u32 max_waiter;
	__u32 max_wait_how;
	char max_waiter_comm[TD_COMM_LEN];
	struct log2_hist stretch_hist;
};

/* Per thread tearing down: its open (or last) record. */
struct td_thread {
	__u64 id;
};

/* Per CPU. Written by sched_switch on its own CPU; sched_wakeup adds
 * wakeups from other CPUs (racy by design: a lost wakeup only makes a
 * wait a lower bound). */
struct td_cpu {
	__u64 last_switch_ns;	/* the last schedule point here */
	__u32 last_prev;	/* who was switched out there */
	__u32 last_prev_runnable;
	__u32 td_tid;		/* teardown thread on this CPU, or 0 */
	__u32 nwakes;
	__u64 td_id;
	__u32 preempted;	/* runnable task switched out for it */
	__u32 wake_pid[TD_MAX_WAKES];
	__u64 wake_ns[TD_MAX_WAKES];
};

/* Counters of the whole run, in .bss. */
struct td_globals {
	__u64 next_id;
	__s64 active;		/* records not yet done */
	__u64 dropped;		/* teardowns not recorded: map full */
	__u64 vmm_creates;	/* KVM_CREATE_VM seen (tracepoint mode) */
};

static __always_inline __u64 td_max(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

/* A phase opens at now. */
static __always_inline void td_phase_enter(struct td_record *r, __u32 p,
					   __u64 now)
{
	if (p >= TD_PH_COUNT)
		return;
	r->phase_calls[p]++;
	r->phase_start[p] = now;
}

/* A phase closes at now; true if that ends the teardown. */
static __always_inline bool td_phase_exit(struct td_record *r, __u32 p,
					  __u64 now)
{
	__u64 began;

	if (p >= TD_PH_COUNT)
		return false;
	began = r->phase_start[p];
	if (!began)
		return false;
	r->phase_ns[p] += now > began ? now - began : 0;
	if (r->on_cpu && now > td_max(began, r->cur_start))
		r->cur_phase_ns[p] += now - td_max(began, r->cur_start);
	r->phase_start[p] = 0;
	if (p == TD_PH_DESTROY_VM) {
		r->vms++;
		r->end_ns = now;
		r->end_how = TD_END_DESTROY;
		return true;
	}
	return false;
}

/* The thread is on a CPU from start (its last schedule point). */
static __always_inline void td_stretch_open(struct td_record *r, __u32 cpu,
					    __u64 start, bool known)
{
	int p;

	r->on_cpu = 1;
	r->cur_cpu = cpu;
	r->cur_start = start;
	r->cur_start_known = known;
	for (p = 0; p < TD_PH_COUNT; p++)
		r->cur_phase_ns[p] = 0;
}

/*
 * The open stretch ends at now: the thread is switched out in state
 * prev_state (or, with prev_state < 0, the teardown is cut short while
 * it runs). next is the task that gets the CPU (0: idle), next_wait_from
 * when it became runnable by how. Returns true when the record is done.
 */
static __always_inline bool td_stretch_close(struct td_record *r, __u64 now,
					     long prev_state, __u32 next,
					     const char *next_comm,
					     __u64 wait_from, __u32 how)
{
	__u64 len, from, to, wait = 0;
	int p, i;

	if (!r->on_cpu)
		return false;
	len = now > r->cur_start ? now - r->cur_start : 0;
	from = td_max(r->cur_start, r->start_ns);
	r->stretches++;
	r->stretch_hist.slots[log2_slot(len)]++;
	to = r->end_ns && r->end_ns < now ? r->end_ns : now;
	if (to > from)
		r->run_ns += to - from;
	for (p = 0; p < TD_PH_COUNT; p++) {
		__u64 began = r->phase_start[p];

		if (began && now > td_max(began, r->cur_start))
			r->cur_phase_ns[p] += now - td_max(began, r->cur_start);
		if (began && prev_state >= 0)
			r->phase_switches[p]++;
	}
	if (next && how != TD_WAIT_NONE && now > wait_from)
		wait = now - wait_from;
	if (len > r->max_stretch_ns) {
		r->max_stretch_ns = len;
		r->max_stretch_start = r->cur_start;
		r->max_stretch_end = now;
		r->max_stretch_cpu = r->cur_cpu;
		r->max_stretch_start_known = r->cur_start_known;
		for (p = 0; p < TD_PH_COUNT; p++)
			r->max_stretch_phase_ns[p] = r->cur_phase_ns[p];
		r->max_stretch_waiter = next;
		r->max_stretch_wait_how = next ? how : TD_WAIT_NONE;
		r->max_stretch_wait_ns = wait;
		for (i = 0; i < TD_COMM_LEN; i++)
			r->max_stretch_waiter_comm[i] = next_comm ? next_comm[i] : 0;
	}
	if (wait > r->max_wait_ns) {
		r->max_wait_ns = wait;
		r->max_waiter = next;
		r->max_wait_how = how;
		for (i = 0; i < TD_COMM_LEN; i++)
			r->max_waiter_comm[i] = next_comm ? next_comm[i] : 0;
	}
	r->on_cpu = 0;
	if (prev_state >= 0 && !r->end_ns) {
		if (td_state_runnable(prev_state))
			r->yields++;
		else if (!td_state_dead(prev_state))
			r->blocks++;
	}
	if (prev_state >= 0 && td_state_dead(prev_state) && !r->end_ns) {
		r->end_ns = now;
		r->end_how = TD_END_EXIT;
	}
	if (r->end_ns)
		r->done = 1;
	return r->done;
}

/* How long the task next had waited when it got the CPU at the end of a
 * stretch on c: sets *from and returns the enum td_wait_how. */
static __always_inline __u32 td_waiter(const struct td_cpu *c, __u32 next,
				       __u64 stretch_start, __u64 *from)
{
	int i;

	*from = stretch_start;
	if (!next)
		return TD_WAIT_NONE;
	for (i = 0; i < TD_MAX_WAKES; i++) {
		if (i < (int)c->nwakes && c->wake_pid[i] == next) {
			*from = c->wake_ns[i];
			return TD_WAIT_WOKEN;
		}
	}
	if (next == c->preempted)
		return TD_WAIT_PREEMPTED;
	return TD_WAIT_BEFORE;
}

#endif
