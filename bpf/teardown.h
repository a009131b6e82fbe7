/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map layouts shared by bpf/teardown.bpf.c and src/detectors/teardown/, and
 * the phase bookkeeping; the runs' and stretches' is in teardown_runs.h.
 * Plain arithmetic on these structs, compiled into the BPF programs and
 * into the unit tests alike.
 *
 * A teardown is one thread destroying one (or more) VMs: it begins at the
 * first teardown function that thread enters (kvm_arch_flush_shadow_all
 * from the MMU notifier release in exit_mmap, or kvm_destroy_vm at the last
 * fd close) and ends when kvm_destroy_vm returns or the thread dies.
 *
 * A run is the thread's time on a CPU from the schedule point that put it
 * there to the one that takes it off: the CPU went that long without a
 * schedule point. A long run with nothing else runnable on the CPU harms
 * nobody. The stretch of a run is what the scheduler's need_resched
 * warning (resched_latency_warn) is about: from the moment another task
 * wanted that CPU (preempted by the switch that began the run, woken onto
 * it, migrated onto it, or runnable there since before the run) to the
 * schedule point that ends the run.
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
#define TD_MAX_WAKES 8		/* arrivals remembered per run */
#define TD_COMM_LEN 16
#define TD_PAGE_SIZES 3	/* x86 KVM_NR_PAGE_SIZES: 4K, 2M, 1G */

/* The functions a teardown passes through. Their nesting (for "which
 * code held the CPU") is in src/detectors/teardown/teardown_model.c. */
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
	TD_PH_CLOSE,		/* tracepoint mode: a VM's last fd closed ..
				 * the thread's next system call */
	TD_PH_COUNT,
};

/*
 * Only the VM's destruction opens a teardown: kvm_destroy_vm, the release
 * of the VMM's memory (kvm_arch_flush_shadow_all, which only a dying mm
 * and kvm_destroy_vm call), or the VMM's exit. The other functions also
 * zap a live VM's tables (a memslot deleted: x86 zaps every root) and
 * count only inside an open teardown.
 */
static __always_inline bool td_phase_opens(__u32 phase)
{
	return phase == TD_PH_DESTROY_VM || phase == TD_PH_FLUSH ||
		phase == TD_PH_EXIT || phase == TD_PH_CLOSE;
}

/* How a task came to wait for the teardown thread's CPU: how much of its
 * wait is known. */
enum td_wait_how {
	TD_WAIT_NONE = 0,	/* the CPU went idle: nobody waited */
	TD_WAIT_PREEMPTED = 1,	/* switched out runnable as the run began */
	TD_WAIT_WOKEN = 2,	/* woken onto this CPU during the run */
	TD_WAIT_BEFORE = 3,	/* not seen arriving: since the run began */
	TD_WAIT_MIGRATED = 4,	/* moved here runnable during the run */
	TD_WAIT_QUEUED = 5,	/* on the CPU's run queue as the run began */
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
	/* The VMM's start (bpf/vm_ident.h) when the VMM itself tears the
	 * VM down, else 0. */
	__u64 vm_start;
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
	__u32 open_mask;		/* bit p: phase p is open */
	/* stage2_free_walker visits (arm64): leaf entries, those that were
	 * mapped, and tables freed after their entries. */
	__u64 walker_leaves, walker_mapped, walker_tables;
	/* x86: leaf mappings of the VM as its teardown began, by size
	 * (4K, 2M, 1G), from kvm->stat.pages; mapped_known 0: not read. */
	__u64 mapped_pages[TD_PAGE_SIZES];
	__u32 mapped_known;
	/* Tracepoint mode: the kernel skipped the run at its close's entry
	 * (7.x), so it began at the close's return, after the release (close
	 * releases synchronously on 7.3): counted, not timed. */
	__u32 begun_at_return;
	/* Schedule points inside the teardown. */
	__u32 yields;		/* switched out still runnable */
	__u32 blocks;		/* switched out to sleep */
	__u32 runs;
	__u32 on_cpu;		/* a run is open */
	__u64 run_ns;		/* on-CPU time within [start, end] */
	/* The open run. */
	__u64 cur_start;
	__u32 cur_cpu;
	__u32 cur_start_known;	/* 0: began before any switch was seen */
	/* Time of the phase calls that ended within it. Those still open
	 * are added from their start by the reader (td_phase_time): that
	 * keeps sched_switch free of per-phase arithmetic. */
	__u64 cur_phase_ns[TD_PH_COUNT];
	/* Its first waiter: when another task came to want the CPU (0: not
	 * yet), who, how; and the time of phase calls that ended since. */
	__u64 cur_want_ns;
	__u32 cur_want_pid;
	__u32 cur_want_how;	/* enum td_wait_how */
	char cur_want_comm[TD_COMM_LEN];
	__u64 cur_want_phase_ns[TD_PH_COUNT];
	/* The longest run (informational: nobody may have waited). It
	 * may begin before the teardown and end after it. */
	__u64 max_run_ns;
	/* The longest part of a run inside the teardown (<= its duration). */
	__u64 max_run_inside_ns;
	__u64 max_run_start, max_run_end;
	__u32 max_run_cpu;
	__u32 max_run_start_known;
	__u64 max_run_phase_ns[TD_PH_COUNT];	/* calls ended within it */
	__u64 max_run_phase_open[TD_PH_COUNT];	/* start of those open at its end */
	__u64 max_run_wanted_ns;	/* its stretch, 0 if nobody waited */
	__u32 max_run_next;		/* who ran after it, 0: idle */
	char max_run_next_comm[TD_COMM_LEN];
	/* Runs in which another task wanted the CPU. */
	__u32 stretches;
	/* The longest stretch: from the first waiter's arrival to the
	 * schedule point (the gated figure). */
	__u64 max_stretch_ns;
	__u64 max_stretch_start, max_stretch_end;
	__u32 max_stretch_cpu;
	__u32 max_stretch_how;		/* how the first waiter came */
	__u32 max_stretch_first;	/* the first waiter */
	__u32 max_stretch_run_start_known;
	char max_stretch_first_comm[TD_COMM_LEN];
	__u64 max_stretch_run_ns;	/* the run it ended */
	__u64 max_stretch_phase_ns[TD_PH_COUNT];
	__u64 max_stretch_phase_open[TD_PH_COUNT];
	/* Who ran after the longest stretch, and how long it had waited. */
	__u32 max_stretch_waiter;
	__u32 max_stretch_wait_how;
	__u32 max_stretch_waiter_left;	/* it moved to another CPU instead */
	__u32 max_stretch_pad;
	__u64 max_stretch_wait_ns;
	char max_stretch_waiter_comm[TD_COMM_LEN];
	/* The longest wait of any task behind this teardown's runs. */
	__u64 max_wait_ns;
	__u32 max_waiter;
	__u32 max_wait_how;
	char max_waiter_comm[TD_COMM_LEN];
	struct log2_hist run_hist;
	struct log2_hist stretch_hist;
};

/* Per thread tearing down: its open (or last) record. */
/* Tracepoint mode, per VMM process: its VMs alive (user space seeds
 * those made before kvmwatch attached). */
struct td_vmm {
	__u64 created_ns;
	__u32 live_vms;
	__u32 pad;
};

/* A VMM's fd (td_fds), or its VM by the VM's fd (td_vm_refs). */
struct td_fd_key {
	__u32 pid;
	__s32 fd;
};

struct td_thread {
	__u64 id;
	/* Tracepoint mode: the close that opened the teardown returned;
	 * the thread's next system call ends it. */
	__u32 close_returned;
	__u32 pad;
};

/* Per CPU. Written by sched_switch on its own CPU; sched_wakeup,
 * sched_wakeup_new and sched_migrate_task add arrivals from other CPUs
 * (racy by design: a lost arrival makes that task's wait count from the
 * run's start). */
struct td_cpu {
	__u64 last_switch_ns;	/* the last schedule point here */
	__u32 last_prev;	/* who was switched out there */
	__u32 last_prev_runnable;
	char last_prev_comm[TD_COMM_LEN];	/* only if it was runnable */
	__u32 td_tid;		/* teardown thread on this CPU, or 0 */
	__u32 nwakes;
	__u64 td_id;
	__u32 preempted;	/* runnable task switched out for it */
	__u32 wanted;		/* the run's first waiter is recorded */
	/* Tasks that came to this CPU during the run, first come first. */
	__u32 wake_pid[TD_MAX_WAKES];
	__u32 wake_how[TD_MAX_WAKES];
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

static __always_inline __u64 td_min(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* src (NULL: none) holds TD_COMM_LEN bytes, as every task name here. */
static __always_inline void td_comm_copy(char *dst, const char *src)
{
	if (src)
		__builtin_memcpy(dst, src, TD_COMM_LEN);
	else
		__builtin_memset(dst, 0, TD_COMM_LEN);
}

/* A phase opens at now. */
static __always_inline void td_phase_enter(struct td_record *r, __u32 p,
					   __u64 now)
{
	if (p >= TD_PH_COUNT)
		return;
	r->phase_calls[p]++;
	r->phase_start[p] = now;
	r->open_mask |= 1u << p;
}

/* A call of phase p (open since began) ended at now: its share of the
 * open run (from its start) and of its stretch (from the first waiter). */
static __always_inline void td_phase_account(struct td_record *r, __u32 p,
					     __u64 began, __u64 now)
{
	__u64 from;

	if (!r->on_cpu)
		return;
	from = td_max(began, r->cur_start);
	if (now > from)
		r->cur_phase_ns[p] += now - from;
	if (!r->cur_want_ns)
		return;
	from = td_max(began, r->cur_want_ns);
	if (now > from)
		r->cur_want_phase_ns[p] += now - from;
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
	td_phase_account(r, p, began, now);
	r->phase_start[p] = 0;
	r->open_mask &= ~(1u << p);
	/* The close's task work destroyed the VM before the next call. */
	if (p == TD_PH_DESTROY_VM || p == TD_PH_CLOSE) {
		r->vms++;
		r->end_ns = now;
		r->end_how = TD_END_DESTROY;
		return true;
	}
	return false;
}

/* How long phase p held [from, end], from the record's copies: the calls
 * that ended within it, and the one open at end since it began. */
static __always_inline __u64 td_phase_time(const __u64 *ended,
					   const __u64 *open, unsigned int p,
					   __u64 from, __u64 end)
{
	__u64 t = ended[p], began;

	if (open[p]) {
		began = td_max(open[p], from);
		if (end > began)
			t += end - began;
	}
	return t;
}

#endif
