/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map layouts shared by bpf/mmio.bpf.c and src/detectors/mmio/, and the per-thread
 * state machine that classifies every guest MMIO write: plain functions on
 * these structs, compiled into the BPF programs and into the unit tests,
 * so the tests drive the code that runs in the kernel.
 *
 * A write is opened by kvm:kvm_mmio (KVM decoded it: x86 instruction
 * emulation, arm64 exit syndrome) or by a hit on KVM_FAST_MMIO_BUS (no
 * decode at all), and closed by the next event that tells where it went:
 * KVM_RUN returning KVM_EXIT_MMIO (the VMM got it), or the next guest
 * entry or exit (the kernel handled it).
 */
#ifndef KVMWATCH_MMIO_H
#define KVMWATCH_MMIO_H

#include "hist.h"
#include "vm_ident.h"

#define MMIO_MAX_ADDRS 16384
#define MMIO_MAX_THREADS 16384
#define MMIO_MAX_VMS 1024
#define MMIO_MAX_CANDIDATES 4096
/* KVM_FAST_MMIO_BUS entries read per scan (the kernel allows 1000). */
#define MMIO_SCAN_MAX 64

/* include/uapi/linux/kvm.h and include/trace/events/kvm.h */
#define MMIO_KVM_EXIT_MMIO 6
#define MMIO_TRACE_WRITE 2

enum mmio_path {
	MMIO_PATH_FAST,		/* taken by KVM_FAST_MMIO_BUS, never decoded */
	/* Decoded (x86: instruction emulation; arm64: the exit syndrome)
	 * and handled in the kernel on KVM_MMIO_BUS. */
	MMIO_PATH_EMULATED,
	MMIO_PATH_USER,		/* KVM_RUN returned KVM_EXIT_MMIO to the VMM */
	MMIO_PATH_COUNT,
};

enum mmio_pending {
	MMIO_PENDING_NONE,
	MMIO_PENDING_FAST,
	MMIO_PENDING_DECODED,	/* emulated or user: not known yet */
};

/* Per vCPU thread: the write not yet classified and what led to it. Kept
 * by tid while the thread runs, then by its struct thread_ident in
 * mmio_threads_done until user space has read its last counts. */
struct mmio_thread {
	__u32 pid;
	__u32 tid;
	__u64 vm_start;		/* bpf/vm_ident.h */
	__u64 thread_start;	/* the thread's own start_time */
	__u64 gpa;
	__u64 handler_ns;	/* vendor exit handler entry */
	__u64 handler_switches;	/* the thread's context switches then */
	__u64 cost_ns;		/* duration of the handler run that wrote */
	__u32 len;
	__u32 exit_reason;	/* encoded as the exits detector does */
	__u8 pending;		/* enum mmio_pending */
	__u8 exit_seen;		/* exit_reason belongs to this exit */
	__u8 insn_emulated;	/* kvm:kvm_emulate_insn since the exit */
	__u8 cost_valid;
	__u8 cost_preempted;	/* the run was switched out: not timed */
	__u8 in_handler;
	__u8 write_in_handler;	/* the pending write came from this run */
	__u8 tried_fast;	/* this run called kvm_io_bus_write(FAST) */
	/* ... or wrote a fast-MMIO candidate on KVM_MMIO_BUS before any */
	__u8 slow_candidate;
	__u8 nested;		/* this run is for a nested guest (x86) */
	__u8 pad[2];
	/* kprobe mode: arguments of the open calls, for their return
	 * probes (ioeventfd_write runs inside kvm_io_bus_write). */
	__u64 arg_addr;
	__u64 arg_ioeventfd_addr;
	__u32 arg_bus;
	__u32 arg_pad;
	/* Counters of this thread, cumulative since attach. */
	__u64 exits;		/* kvm:kvm_exit */
	/* Evidence whether the vendor exit handler has a fast path. */
	__u64 handler_writes;	/* handler runs that made an MMIO write */
	__u64 fast_tries;	/* handler runs that tried KVM_FAST_MMIO_BUS */
	/* Handler runs (not nested) that wrote a fast-MMIO candidate on
	 * KVM_MMIO_BUS without trying KVM_FAST_MMIO_BUS first. */
	__u64 slow_candidate_runs;
	__u64 fast_events;	/* kvm:kvm_fast_mmio (tracepoint mode) */
};

/* A classified write, as the thread state hands it over. */
struct mmio_done {
	__u64 gpa;
	__u64 cost_ns;
	__u32 path;		/* enum mmio_path */
	__u32 reason;
	__u32 len;
	__u8 reason_known;
	__u8 insn_emulated;
	__u8 cost_valid;
	__u8 nested;
	__u8 preempted;
	__u8 pad[3];
};

/* Keyed by thread too: a thread runs on one CPU at a time, so a plain
 * hash entry is never updated concurrently. */
struct mmio_key {
	__u32 pid;	/* VMM process (tgid) */
	__u32 tid;	/* vCPU thread */
	__u64 gpa;
	__u64 vm_start;	/* bpf/vm_ident.h */
};

struct mmio_path_stats {
	__u64 writes;
	__u64 insn_emulated;	/* after an instruction emulation (x86) */
	__u64 nested;		/* by a nested guest (x86 guest mode) */
	__u64 no_exit;		/* no guest exit seen before it */
	__u64 other_reason;	/* exit reason other than first_reason */
	__u64 timed;		/* writes with a handler cost */
	/* Handler runs switched out before returning (the handler runs
	 * preemptible): their time is the wait for a CPU, not the path's,
	 * so they are counted here and not timed. */
	__u64 preempted;
	__u64 cost_ns;		/* sum over timed */
	__u64 max_cost_ns;
	__u32 first_reason;	/* exit reason of the first write */
	__u32 reason_set;
	struct log2_hist cost;
};

/* Per VM and guest-physical address, cumulative since attach. */
struct mmio_stats {
	struct mmio_path_stats path[MMIO_PATH_COUNT];
	/* kvm_io_bus_write(KVM_FAST_MMIO_BUS) found no device here (VMX
	 * tries the fast bus first for every MMIO exit). */
	__u64 fast_misses;
	__u64 ioeventfd_signals;	/* ioeventfd_write returned 0 */
	__u32 len;			/* of the last write */
	__u32 pad;
};

/* Per VM: the last scan of its fast-MMIO candidates. */
struct mmio_vm {
	/* The KVM_FAST_MMIO_BUS instance at the last scan: the kernel
	 * replaces it on every change, so a new one means rescan. */
	__u64 bus;
	__u32 bus_count;	/* its dev_count */
	__u32 scans;
	__u32 candidates;	/* entries read at the last scan */
	__u32 truncated;	/* the last scan stopped at MMIO_SCAN_MAX */
};

/* A len-0 MMIO ioeventfd, found on KVM_FAST_MMIO_BUS. Current while
 * (bus, bus_count) are the VM's. */
struct mmio_candidate {
	__u64 bus;
	__u32 bus_count;
	__u32 len;
};

/* Close the pending write as path. */
static __always_inline int mmio_take(struct mmio_thread *t, __u32 path,
				     struct mmio_done *out)
{
	if (t->pending == MMIO_PENDING_NONE)
		return 0;
	out->gpa = t->gpa;
	out->len = t->len;
	out->path = path;
	out->reason = t->exit_reason;
	out->reason_known = t->exit_seen;
	out->insn_emulated = t->insn_emulated;
	out->nested = t->nested;
	out->cost_valid = t->cost_valid;
	out->preempted = t->cost_preempted;
	out->cost_ns = t->cost_ns;
	t->pending = MMIO_PENDING_NONE;
	t->cost_valid = 0;
	t->cost_preempted = 0;
	return 1;
}

/* The vCPU goes on in the kernel: the write, if any, was handled there. */
static __always_inline int mmio_settle(struct mmio_thread *t,
				       struct mmio_done *out)
{
	return mmio_take(t, t->pending == MMIO_PENDING_FAST ? MMIO_PATH_FAST :
			 MMIO_PATH_EMULATED, out);
}

static __always_inline int mmio_on_exit(struct mmio_thread *t, __u32 reason,
					struct mmio_done *out)
{
	int done = mmio_settle(t, out);

	t->exits++;
	t->exit_reason = reason;
	t->exit_seen = 1;
	t->insn_emulated = 0;
	t->nested = 0;
	return done;
}

static __always_inline int mmio_on_entry(struct mmio_thread *t,
					 struct mmio_done *out)
{
	return mmio_settle(t, out);
}

/* KVM_RUN returns to the VMM (err < 0: with an error, e.g. -EINTR). */
static __always_inline int mmio_on_vmm_exit(struct mmio_thread *t,
					    __u32 reason, int err,
					    struct mmio_done *out)
{
	int done;

	if (t->pending == MMIO_PENDING_DECODED && err == 0 &&
	    reason == MMIO_KVM_EXIT_MMIO)
		done = mmio_take(t, MMIO_PATH_USER, out);
	else
		done = mmio_settle(t, out);
	/* What comes after re-entry follows no exit of ours. */
	t->exit_seen = 0;
	return done;
}

static __always_inline void mmio_on_emulate(struct mmio_thread *t)
{
	t->insn_emulated = 1;
}

static __always_inline int mmio_open(struct mmio_thread *t, __u8 kind,
				     __u64 gpa, __u32 len,
				     struct mmio_done *out)
{
	int done = mmio_settle(t, out);

	t->pending = kind;
	t->gpa = gpa;
	t->len = len;
	t->write_in_handler = t->in_handler;
	return done;
}

/* kvm:kvm_mmio of a write: KVM decoded it. */
static __always_inline int mmio_on_decoded(struct mmio_thread *t, __u64 gpa,
					   __u32 len, struct mmio_done *out)
{
	return mmio_open(t, MMIO_PENDING_DECODED, gpa, len, out);
}

/* KVM_FAST_MMIO_BUS took a write (kvm_io_bus_write returned 0, or
 * kvm:kvm_fast_mmio). */
static __always_inline int mmio_on_fast(struct mmio_thread *t, __u64 gpa,
					struct mmio_done *out)
{
	return mmio_open(t, MMIO_PENDING_FAST, gpa, 0, out);
}

/* kvm_io_bus_write returned, in fentry/kprobe mode. is_fast: it was
 * KVM_FAST_MMIO_BUS; is_mmio: KVM_MMIO_BUS. Returns 1 with out filled
 * when a fast hit closed an earlier write. *missed: a fast-bus try that
 * found no device. */
static __always_inline int mmio_on_bus_write(struct mmio_thread *t,
					     int is_fast, int is_mmio,
					     __u64 addr, int ret,
					     int is_candidate, int *missed,
					     struct mmio_done *out)
{
	*missed = 0;
	if (is_fast) {
		if (t->in_handler)
			t->tried_fast = 1;
		if (ret == 0)
			return mmio_on_fast(t, addr, out);
		*missed = 1;
		return 0;
	}
	if (is_mmio && is_candidate && t->in_handler && !t->tried_fast)
		t->slow_candidate = 1;
	return 0;
}

/* switches: the thread's voluntary + involuntary context switches. */
static __always_inline void mmio_on_handler_entry(struct mmio_thread *t,
						  __u64 now, int nested,
						  __u64 switches)
{
	t->handler_ns = now;
	t->handler_switches = switches;
	t->in_handler = 1;
	t->tried_fast = 0;
	t->slow_candidate = 0;
	t->nested = nested ? 1 : 0;
}

/* The handler returns: the cost of the write it made, and what the run
 * showed about the vendor's fast path. */
static __always_inline void mmio_on_handler_exit(struct mmio_thread *t,
						 __u64 now, __u64 switches)
{
	if (!t->in_handler)
		return;
	t->in_handler = 0;
	if (t->tried_fast)
		t->fast_tries++;
	if (t->slow_candidate && !t->nested)
		t->slow_candidate_runs++;
	if (t->pending == MMIO_PENDING_NONE || !t->write_in_handler)
		return;
	t->handler_writes++;
	if (switches != t->handler_switches) {
		t->cost_preempted = 1;
		return;
	}
	t->cost_ns = now > t->handler_ns ? now - t->handler_ns : 0;
	t->cost_valid = 1;
}

/* Add a classified write to its address's figures. */
static __always_inline void mmio_account(struct mmio_stats *s,
					 const struct mmio_done *d)
{
	struct mmio_path_stats *p;

	if (d->path == MMIO_PATH_FAST)
		p = &s->path[MMIO_PATH_FAST];
	else if (d->path == MMIO_PATH_EMULATED)
		p = &s->path[MMIO_PATH_EMULATED];
	else
		p = &s->path[MMIO_PATH_USER];
	p->writes++;
	if (d->insn_emulated)
		p->insn_emulated++;
	if (d->nested)
		p->nested++;
	if (!d->reason_known) {
		p->no_exit++;
	} else if (!p->reason_set) {
		p->first_reason = d->reason;
		p->reason_set = 1;
	} else if (p->first_reason != d->reason) {
		p->other_reason++;
	}
	if (d->preempted)
		p->preempted++;
	if (d->cost_valid) {
		p->timed++;
		p->cost_ns += d->cost_ns;
		if (d->cost_ns > p->max_cost_ns)
			p->max_cost_ns = d->cost_ns;
		hist_add(&p->cost, d->cost_ns);
	}
	if (d->len)
		s->len = d->len;
}

#endif
