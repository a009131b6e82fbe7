/* SPDX-License-Identifier: GPL-2.0 */
/* Includes and small helpers every kvmwatch BPF program uses. */
#ifndef KVMWATCH_BPF_H
#define KVMWATCH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/*
 * What a tracepoint or kprobe program returns: 1 lets the event go on to
 * perf and every other tool watching it, 0 would drop it for all of them
 * (perf_trace_run_bpf_submit()). fentry and raw tracepoint programs'
 * return values mean nothing.
 */
#define KEEP_EVENT 1

static __always_inline __u32 current_pid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* Look up key in a map, inserting a zeroed value first if it is absent. */
static __always_inline void *lookup_or_init(void *map, const void *key,
					    const void *zero)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif
