/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A teardown thread's runs and their stretches (teardown.h says what
 * they are): what sched_switch, the wakeups and the migrations make of
 * them. Plain arithmetic on teardown.h's structs, compiled into
 * bpf/teardown.bpf.c and into the unit tests alike.
 */
#ifndef KVMWATCH_TEARDOWN_RUNS_H
#define KVMWATCH_TEARDOWN_RUNS_H

#include "teardown.h"

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

/*
 * At now, task n->pid (n->comm) left CPU c, where the thread runs, for
 * another, and nobody waits on c any more. Nobody is owed the CPU: a
 * schedule with no other task runnable keeps the thread on and shows no
 * sched_switch, so the stretch ends here, with the last waiter's wait
 * (from its arrival, td_waiter), and the next task to come opens
 * another. An inferred
 * waiter's (queued, unnamed) stretch is dropped: how long it waited, or
 * whether it was ever there, is not known.
 */
static __always_inline void td_waiter_left(struct td_cpu *c,
					   struct td_record *r, __u64 now,
					   struct td_next *n)
{
	__u64 len, held;

	c->wanted = 0;
	if (!r->on_cpu || !r->cur_want_ns)
		return;
	n->how = td_waiter(c, n->pid, r->cur_start, &n->wait_from);
	if (r->cur_want_how != TD_WAIT_QUEUED && now > r->cur_want_ns) {
		len = now > r->cur_start ? now - r->cur_start : 0;
		held = td_min(now - r->cur_want_ns, len);
		td_stretch_keep(r, now, len, held, false, n,
				now > n->wait_from ? now - n->wait_from : 0,
				true);
	}
	td_unwant(r);
}

#endif
