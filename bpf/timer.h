/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map layouts shared by bpf/timer.bpf.c and src/detectors/timer/, and the catch-up
 * chain logic itself: it is plain arithmetic on these structs, compiled
 * both into the BPF programs and into the unit tests, so the tests drive
 * the very code that runs in the kernel.
 */
#ifndef KVMWATCH_TIMER_H
#define KVMWATCH_TIMER_H

#include "hist.h"
#include "vm_ident.h"
#ifndef __VMLINUX_H__
#include <stdbool.h>
#endif

#define TIMER_MAX_VCPUS 4096
#define TIMER_MAX_TIMERS 4096
#define TIMER_MAX_THREADS 4096

/* enum lapic_timer_mode: APIC_LVT_TIMER_* >> 17 as KVM keeps it. */
enum timer_mode {
	TIMER_MODE_ONESHOT = 0,
	TIMER_MODE_PERIODIC = 1,
	TIMER_MODE_TSCDEADLINE = 2,
	TIMER_MODE_COUNT = 3,
};

/* The exit handler does not always know whether the callback re-armed. */
enum timer_restart {
	TIMER_NORESTART = 0,
	TIMER_RESTART = 1,
	TIMER_RESTART_UNKNOWN = 2,	/* tracepoint mode: inferred */
};

struct timer_key {
	__u32 pid;	/* VMM process: kvm->userspace_pid */
	__u32 vcpu_id;
	/* The VMM's start (bpf/vm_ident.h), read through the vCPU thread;
	 * 0 while no thread has run the vCPU. */
	__u64 vm_start;
};

/* Per vCPU LAPIC timer, cumulative since attach. */
struct timer_stats {
	__u64 callbacks;		/* apic_timer_fn runs */
	__u64 by_mode[TIMER_MODE_COUNT];
	__u64 hv_in_use;		/* callbacks while the HV timer was on */
	__u64 period0;			/* periodic mode with period 0 */
	__u64 restarts;			/* callbacks that re-armed the hrtimer */
	/* Re-armed at or before its return: fires again at once. The fixed
	 * kernel does this once after a late expiry (expiry = now). */
	__u64 late_rearms;
	/* Re-armed at an expiry already past when the callback began: only
	 * "expiry += period" behind a late timer does that (unfixed). */
	__u64 catchup_rearms;
	__u64 lateness_ns;		/* sum of now - expires */
	__u64 max_lateness_ns;
	__u64 max_lateness_at;		/* CLOCK_MONOTONIC ns */
	__u64 callback_ns;		/* sum of callback durations */
	__u64 timed;			/* callbacks whose return was seen */
	__u64 max_callback_ns;
	/* Longest from an expiry to the return of its callback: a host
	 * pause shows here whether it froze the timer pending (lateness)
	 * or in the middle of its callback (duration). */
	__u64 max_response_ns;
	/* Catch-up chains: runs of callbacks that each fired only because
	 * the previous one made a catch-up re-arm. */
	__u64 chains;			/* closed chains */
	__u64 chain_callbacks;
	__u64 chain_ns;			/* hardirq time of those callbacks */
	__u64 longest_chain;
	__u64 longest_chain_ns;
	__u64 longest_chain_at;		/* when it ended, CLOCK_MONOTONIC ns */
	__u64 longest_chain_lateness_ns;/* lateness of the expiry that began it */
	/* advance_periodic_target_expiration, where it can be probed. */
	__u64 advances;
	__u64 advances_past;		/* target + period was already past */
	__u64 advances_clamped;		/* ... and was set to now (the fix) */
	__s64 period_ns;		/* last seen */
	__u32 mode;			/* enum timer_mode, last seen */
	__u32 tid;			/* vCPU thread, 0 if unknown */
	struct log2_hist lateness;
};

/* Per hrtimer: the open callback and the open chain. */
struct timer_state {
	struct timer_key key;
	__u64 entry_ns;
	__u64 entry_expires;
	__u64 entry_lateness;
	__u64 rearm_expires;	/* where the last callback re-armed it */
	__u64 chain_len;
	__u64 chain_ns;
	__u64 chain_lateness;	/* lateness of the callback that began it */
	__u64 advance_target;	/* target_expiration before an advance */
	__s64 advance_period;
	__u32 rearmed_behind;	/* last callback made a catch-up re-arm */
	__u32 in_chain;		/* the open callback runs because of that */
	__u32 in_callback;
	__u32 mode;
	__s64 period;
};

/* vCPU-thread side: arming and SW/HV switches, keyed by the thread. */
struct timer_thread_key {
	__u32 pid;
	__u32 tid;
	__u64 vm_start;
};

struct timer_thread_stats {
	__u64 arms;		/* hrtimer_start of an apic_timer_fn hrtimer */
	__u64 sw_starts;	/* start_sw_timer */
	__u64 hv_starts;	/* start_hv_timer that took the HV timer */
	__u64 hv_refused;	/* start_hv_timer that fell back to SW */
	__u64 to_sw;		/* kvm_lapic_switch_to_sw_timer */
	__u64 hv_state_on;	/* kvm:kvm_hv_timer_state in_use=1 */
	__u64 hv_state_off;
};

static __always_inline __u64 timer_lateness(__u64 now, __u64 expires)
{
	return now > expires ? now - expires : 0;
}

static __always_inline void timer_close_chain(struct timer_state *t,
					      struct timer_stats *s, __u64 now)
{
	s->chains++;
	if (t->chain_len > s->longest_chain) {
		s->longest_chain = t->chain_len;
		s->longest_chain_ns = t->chain_ns;
		s->longest_chain_at = now;
		s->longest_chain_lateness_ns = t->chain_lateness;
	}
	t->chain_len = 0;
	t->chain_ns = 0;
}

/* apic_timer_fn starts on hrtimer t at now (CLOCK_MONOTONIC ns). */
static __always_inline void timer_on_entry(struct timer_state *t,
					   struct timer_stats *s, __u64 now,
					   __u64 expires, __s64 period,
					   __u32 mode, bool hv_in_use)
{
	__u64 late = timer_lateness(now, expires);

	s->callbacks++;
	if (mode < TIMER_MODE_COUNT)
		s->by_mode[mode]++;
	if (hv_in_use)
		s->hv_in_use++;
	if (mode == TIMER_MODE_PERIODIC && period == 0)
		s->period0++;
	s->period_ns = period;
	s->mode = mode;
	s->lateness_ns += late;
	hist_add(&s->lateness, late);
	if (late > s->max_lateness_ns) {
		s->max_lateness_ns = late;
		s->max_lateness_at = now;
	}
	/* In a chain only if it fires at the expiry the last callback set:
	 * a guest re-programming the timer in between starts afresh. */
	t->in_chain = t->rearmed_behind && expires == t->rearm_expires;
	if (!t->in_chain && t->chain_len)
		timer_close_chain(t, s, now);
	t->rearmed_behind = 0;
	t->entry_ns = now;
	t->entry_expires = expires;
	t->entry_lateness = late;
	t->mode = mode;
	t->period = period;
	t->in_callback = 1;
}

/*
 * apic_timer_fn returns at now; new_expires is the hrtimer's expiry after
 * it. Without the return value (tracepoint mode) a callback re-armed if
 * the timer is periodic with a period and its expiry moved.
 */
static __always_inline void timer_on_exit(struct timer_state *t,
					  struct timer_stats *s, __u64 now,
					  __u64 new_expires,
					  enum timer_restart restart)
{
	__u64 took;
	bool restarted, behind;

	if (!t->in_callback)
		return;
	t->in_callback = 0;
	took = now > t->entry_ns ? now - t->entry_ns : 0;
	s->callback_ns += took;
	s->timed++;
	if (took > s->max_callback_ns)
		s->max_callback_ns = took;
	if (now > t->entry_expires && now - t->entry_expires > s->max_response_ns)
		s->max_response_ns = now - t->entry_expires;
	if (restart == TIMER_RESTART_UNKNOWN)
		restarted = t->mode == TIMER_MODE_PERIODIC && t->period > 0 &&
			    new_expires != t->entry_expires;
	else
		restarted = restart == TIMER_RESTART;
	if (t->in_chain) {
		t->chain_len++;
		t->chain_ns += took;
		s->chain_callbacks++;
		s->chain_ns += took;
	}
	behind = restarted && new_expires < t->entry_ns;
	if (restarted)
		s->restarts++;
	if (restarted && new_expires <= now)
		s->late_rearms++;
	if (behind) {
		s->catchup_rearms++;
		if (!t->in_chain)
			t->chain_lateness = t->entry_lateness;
		t->rearmed_behind = 1;
		t->rearm_expires = new_expires;
	} else if (t->chain_len) {
		timer_close_chain(t, s, now);
	}
	t->in_chain = 0;
}

/* advance_periodic_target_expiration(): target before and after, at now. */
static __always_inline void timer_on_advance(struct timer_stats *s,
					     __u64 now, __u64 before,
					     __s64 period, __u64 after)
{
	__u64 naive = before + (__u64)period;

	s->advances++;
	if (naive < now) {
		s->advances_past++;
		if (after != naive)
			s->advances_clamped++;
	}
}

#endif
