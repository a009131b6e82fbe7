/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map layouts shared by bpf/teardown.bpf.c and src/detectors/teardown/, and the
 * stretch bookkeeping itself: plain arithmetic on these structs, compiled
 * into the BPF programs and into the unit tests alike.
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
	 * releases synchronously since 6.15): counted, not timed. */
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

/* No task wants the thread's CPU (yet, or any more: the waiter was only
 * inferred and is gone). */
static __always_inline void td_unwant(struct td_record *r)
{
	int p;

	r->cur_want_ns = 0;
	r->cur_want_pid = 0;
	r->cur_want_how = TD_WAIT_NONE;
	td_comm_copy(r->cur_want_comm, NULL);
	for (p = 0; p < TD_PH_COUNT; p++)
		r->cur_want_phase_ns[p] = 0;
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
	td_unwant(r);
	for (p = 0; p < TD_PH_COUNT; p++)
		r->cur_phase_ns[p] = 0;
}

/*
 * At now, task pid (comm may be NULL) came to want the CPU the thread is
 * running on, by how. The first one during the teardown opens the run's
 * stretch; a later one changes nothing, but a migration followed by the
 * wakeup it was part of (try_to_wake_up moves a task, then wakes it)
 * reads as woken. Returns true when it opened the stretch.
 */
static __always_inline bool td_want(struct td_record *r, __u64 now, __u32 pid,
				    const char *comm, __u32 how)
{
	if (!r->on_cpu || pid == r->tid)
		return false;
	/* Only a task seen on the run queue may go unnamed. */
	if (!pid && how != TD_WAIT_QUEUED)
		return false;
	if (r->cur_want_ns) {
		if (pid != r->cur_want_pid || how != TD_WAIT_WOKEN ||
		    r->cur_want_how != TD_WAIT_MIGRATED)
			return false;
		r->cur_want_how = how;
		if (comm && !r->cur_want_comm[0])
			td_comm_copy(r->cur_want_comm, comm);
		return false;
	}
	/* Inside the teardown only: one that came after its end waits for
	 * the thread's own code, not the teardown's. */
	if (r->end_ns && now > r->end_ns)
		return false;
	r->cur_want_ns = td_max(now, r->cur_start);
	r->cur_want_pid = pid;
	r->cur_want_how = how;
	td_comm_copy(r->cur_want_comm, comm);
	return true;
}

/* The task that gets the CPU as a run ends (pid 0: idle), and since when
 * it waited, by how (td_waiter). */
struct td_next {
	__u64 wait_from;
	__u32 pid;
	__u32 how;		/* enum td_wait_how */
	char comm[TD_COMM_LEN];
};

/*
 * A stretch of held ns ended at now, in a run len ns long so far: before,
 * its waiter was not seen arriving; n is the task that waited last and
 * wait how long it had: it got the CPU, or (left) moved to another.
 */
static __always_inline void td_stretch_keep(struct td_record *r, __u64 now,
					    __u64 len, __u64 held, bool before,
					    const struct td_next *n, __u64 wait,
					    bool left)
{
	__u32 next = n->pid, how = n->how;
	const char *next_comm = n->comm;
	int p;

	r->stretches++;
	hist_add(&r->stretch_hist, held);
	if (held < r->max_stretch_ns)
		return;
	r->max_stretch_ns = held;
	r->max_stretch_start = now - held;
	r->max_stretch_end = now;
	r->max_stretch_cpu = r->cur_cpu;
	r->max_stretch_run_ns = len;
	r->max_stretch_run_start_known = r->cur_start_known;
	if (before) {
		r->max_stretch_how = TD_WAIT_BEFORE;
		r->max_stretch_first = next;
		td_comm_copy(r->max_stretch_first_comm, next_comm);
	} else {
		r->max_stretch_how = r->cur_want_how;
		r->max_stretch_first = r->cur_want_pid;
		/* The first waiter's name, when only the switch
		 * that ends the run tells it. */
		if (!r->cur_want_comm[0] && next == r->cur_want_pid)
			td_comm_copy(r->max_stretch_first_comm, next_comm);
		else
			td_comm_copy(r->max_stretch_first_comm,
				     r->cur_want_comm);
	}
	if (before)
		for (p = 0; p < TD_PH_COUNT; p++)
			r->max_stretch_phase_ns[p] = r->cur_phase_ns[p];
	else
		for (p = 0; p < TD_PH_COUNT; p++)
			r->max_stretch_phase_ns[p] = r->cur_want_phase_ns[p];
	for (p = 0; p < TD_PH_COUNT; p++)
		r->max_stretch_phase_open[p] = r->phase_start[p];
	r->max_stretch_waiter = next;
	r->max_stretch_wait_how = next ? how : TD_WAIT_NONE;
	r->max_stretch_wait_ns = wait;
	r->max_stretch_waiter_left = left;
	td_comm_copy(r->max_stretch_waiter_comm, next ? next_comm : NULL);
}

/*
 * The open run ends at now: the thread is switched out in state
 * prev_state (or, with prev_state < 0, the teardown is cut short while
 * it runs), and n gets the CPU. Returns true when the record is done.
 */
static __always_inline bool td_stretch_close(struct td_record *r, __u64 now,
					     long prev_state,
					     const struct td_next *n)
{
	__u64 len, from, to, wait = 0, held = 0;
	__u32 next = n->pid, how = n->how;
	__u64 wait_from = n->wait_from;
	const char *next_comm = n->comm;
	bool before = false;
	int p;

	if (!r->on_cpu)
		return false;
	len = now > r->cur_start ? now - r->cur_start : 0;
	from = td_max(r->cur_start, r->start_ns);
	r->runs++;
	hist_add(&r->run_hist, len);
	to = r->end_ns && r->end_ns < now ? r->end_ns : now;
	if (to > from) {
		r->run_ns += to - from;
		if (to - from > r->max_run_inside_ns)
			r->max_run_inside_ns = to - from;
	}
	/* A schedule point inside every open phase; no branch per phase
	 * (the verifier would walk every combination). */
	if (prev_state >= 0)
		for (p = 0; p < TD_PH_COUNT; p++)
			r->phase_switches[p] += (r->open_mask >> p) & 1;
	if (next && how != TD_WAIT_NONE && now > wait_from)
		wait = now - wait_from;
	/* A task that got the CPU without being seen arriving was runnable
	 * here since before the run began (in the teardown's first run: or
	 * before the teardown began; or its arrival was lost): it wanted the
	 * CPU from the run's start, before any task seen arriving. */
	if (next && how == TD_WAIT_BEFORE) {
		before = true;
		held = len;
	} else if (r->cur_want_ns && now > r->cur_want_ns) {
		/* Within its run: a want stamped before the run began (an
		 * arrival racing the switch on another CPU; once 5.1 ms in a
		 * 1.9 ms run on x86_64 7.3) counts from the run's start. */
		held = td_min(now - r->cur_want_ns, len);
	}
	if (len > r->max_run_ns) {
		r->max_run_ns = len;
		r->max_run_start = r->cur_start;
		r->max_run_end = now;
		r->max_run_cpu = r->cur_cpu;
		r->max_run_start_known = r->cur_start_known;
		for (p = 0; p < TD_PH_COUNT; p++) {
			r->max_run_phase_ns[p] = r->cur_phase_ns[p];
			r->max_run_phase_open[p] = r->phase_start[p];
		}
		r->max_run_wanted_ns = held;
		r->max_run_next = next;
		td_comm_copy(r->max_run_next_comm, next ? next_comm : NULL);
	}
	if (before || r->cur_want_ns)
		td_stretch_keep(r, now, len, held, before, n, wait, false);
	if (wait > r->max_wait_ns) {
		r->max_wait_ns = wait;
		r->max_waiter = next;
		r->max_wait_how = how;
		td_comm_copy(r->max_waiter_comm, next_comm);
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

/*
 * At now, task n->pid (waiting since n->wait_from) left the CPU the
 * thread runs on for another, and nobody waits there any more. Nobody is
 * owed the CPU: a schedule with no other task runnable keeps the thread
 * on and shows no sched_switch, so the stretch ends here, with the last
 * waiter's wait, and the next task to come opens another. An inferred
 * waiter's (queued, unnamed) stretch is dropped: how long it waited, or
 * whether it was ever there, is not known.
 */
static __always_inline void td_waiter_left(struct td_record *r, __u64 now,
					   const struct td_next *n)
{
	__u64 len, held;

	if (!r->on_cpu || !r->cur_want_ns)
		return;
	if (r->cur_want_how != TD_WAIT_QUEUED && now > r->cur_want_ns) {
		len = now > r->cur_start ? now - r->cur_start : 0;
		held = td_min(now - r->cur_want_ns, len);
		td_stretch_keep(r, now, len, held, false, n,
				now > n->wait_from ? now - n->wait_from : 0,
				true);
	}
	td_unwant(r);
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

/* Task pid came to CPU c (by how) at now while a teardown thread runs
 * there: remember it for td_waiter, the first time only. */
static __always_inline void td_cpu_arrival(struct td_cpu *c, __u32 pid,
					   __u64 now, __u32 how)
{
	__u32 n = c->nwakes;
	int i;

	for (i = 0; i < TD_MAX_WAKES; i++) {
		if (i < (int)n && c->wake_pid[i] == pid) {
			if (how == TD_WAIT_WOKEN)
				c->wake_how[i] = how;
			return;
		}
	}
	if (n >= TD_MAX_WAKES)
		return;
	c->wake_pid[n] = pid;
	c->wake_how[n] = how;
	c->wake_ns[n] = now;
	c->nwakes = n + 1;
}

/* How long the task next had waited when it got the CPU at the end of a
 * run on c that began at run_start: sets *from and returns the enum
 * td_wait_how. */
static __always_inline __u32 td_waiter(const struct td_cpu *c, __u32 next,
				       __u64 run_start, __u64 *from)
{
	int i;

	*from = run_start;
	if (!next)
		return TD_WAIT_NONE;
	for (i = 0; i < TD_MAX_WAKES; i++) {
		if (i < (int)c->nwakes && c->wake_pid[i] == next) {
			*from = c->wake_ns[i];
			return c->wake_how[i];
		}
	}
	if (next == c->preempted)
		return TD_WAIT_PREEMPTED;
	return TD_WAIT_BEFORE;
}

#endif
