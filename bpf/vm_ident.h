/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What names one VM and one of its threads in the maps. A pid alone does
 * not: once a VMM exits, the kernel hands its pid (and its threads' tids)
 * to later processes, and a key of pid and tid would let a new VM go on
 * counting where an old one stopped. The VMM's start time tells them
 * apart; user space matches it against /proc/PID/stat (core/vm_ident.h).
 */
#ifndef KVMWATCH_VM_IDENT_H
#define KVMWATCH_VM_IDENT_H

#include "hist.h"

/* A thread of one VM: the key of a thread's state once it has exited. */
struct thread_ident {
	__u32 pid;	/* VMM process (tgid) */
	__u32 tid;
	/* The VMM's start: its group leader's start_boottime, in ns */
	__u64 vm_start;
};

#endif
