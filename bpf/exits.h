/* SPDX-License-Identifier: GPL-2.0 */
/* Map layouts shared by bpf/exits.bpf.c and src/detectors/exits/. */
#ifndef KVMWATCH_EXITS_H
#define KVMWATCH_EXITS_H

#include "exit_codes.h"
#include "hist.h"
#include "vm_ident.h"

#define EXITS_MAX_KEYS 65536
#define EXITS_MAX_THREADS 16384
#define EXITS_MAX_PORTS 16384
#define VCPU_ID_UNKNOWN 0xffffffffu

enum exit_kind {
	EXIT_KIND_KERNEL = 0,	/* kvm:kvm_exit, handled (at first) in KVM */
	EXIT_KIND_USER = 1,	/* kvm:kvm_userspace_exit, KVM_RUN returned */
};

struct exit_key {
	__u32 pid;	/* VMM process (tgid) */
	__u32 tid;	/* vCPU thread */
	__u32 kind;	/* enum exit_kind */
	__u32 reason;	/* vendor exit code, see src/core/exit_reasons.c */
	__u64 vm_start;	/* bpf/vm_ident.h */
};

struct exit_stats {
	__u64 count;
	/* KERNEL: from the exit to the next guest entry, or to KVM_RUN's
	 * return if KVM hands the exit to the VMM. USER: from KVM_RUN's
	 * return to the next guest entry (the VMM's handling time). */
	__u64 total_ns;
	__u64 timed;	/* exits whose next entry was seen */
	struct log2_hist hist;
};

/* Port I/O exits of a VM by port and direction (kvm:kvm_pio, x86). */
struct pio_key {
	__u32 pid;
	__u16 port;
	__u16 in;	/* 1: IN, the guest reads; 0: OUT */
	__u64 vm_start;
};

struct pio_stats {
	__u64 count;	/* exits: one per IN or OUT instruction (or string) */
	__u64 bytes;	/* size x count of each */
};

/* Kept by tid while the thread runs, then by its struct thread_ident in
 * vcpu_threads_done until user space has read it (bpf/vm_ident.h). */
struct vcpu_thread {
	__u32 pid;
	__u32 tid;
	__u64 vm_start;
	__u64 thread_start;	/* the thread's own start_time */
	__u32 vcpu_id;	/* VCPU_ID_UNKNOWN where the tracepoint lacks it */
	__u32 pad;
	char comm[16];	/* thread name, kept for threads that exit early */
	char pcomm[16];	/* VMM process name */
	/* The interval open between an exit and the next entry (0: none),
	 * kept with the thread and written in place: a map update per exit
	 * cost more than the rest of the exit's accounting. */
	__u64 pending_ts;
	__u32 pending_kind;
	__u32 pending_reason;
};

#endif
