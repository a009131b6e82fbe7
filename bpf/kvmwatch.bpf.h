/* SPDX-License-Identifier: GPL-2.0 */
/* Includes and small helpers every kvmwatch BPF program uses. */
#ifndef KVMWATCH_BPF_H
#define KVMWATCH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* Processes of one command's tree at once: a VMM, its helpers, shells. */
#define SCOPE_MAX_TGIDS 4096

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

/* Both from one helper call: the hot programs need both, and a helper
 * call is most of what a short program costs. */
struct current_ids {
	__u32 pid;	/* the process (tgid) */
	__u32 tid;
};

static __always_inline struct current_ids current_ids(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct current_ids ids = { .pid = id >> 32, .tid = (__u32)id };

	return ids;
}

/*
 * bpf_get_current_task_btf() (5.11) gives a task the program reads in
 * place, as plain loads; before it, every field is a
 * bpf_probe_read_kernel() call. Both branches are kept, the kernel's BTF
 * picks one at load and the verifier drops the other.
 */
#define HAVE_TASK_BTF \
	bpf_core_enum_value_exists(enum bpf_func_id, \
				   BPF_FUNC_get_current_task_btf)

/* When the current thread started (monotonic ns): with its tid, it names
 * this thread, not a later one given the tid whose exit was missed. */
static __always_inline __u64 current_thread_start(void)
{
	struct task_struct *task;

	if (HAVE_TASK_BTF)
		return bpf_get_current_task_btf()->start_time;
	task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, start_time);
}

/* When the current VMM process started (boot-time ns): with its pid, it
 * names this VM, not a later one that reuses the pid (bpf/vm_ident.h). */
static __always_inline __u64 current_vm_start(void)
{
	struct task_struct *task;

	if (HAVE_TASK_BTF)
		return bpf_get_current_task_btf()->group_leader->start_boottime;
	task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, group_leader, start_boottime);
}

/* 0: every process; otherwise only this VMM (-p PID). */
const volatile __u32 filter_pid = 0;
/* Only VMs of the processes in scope_tgids (a -- COMMAND's tree). */
const volatile bool filter_scope = false;

/* One map for every object: the loader makes them all share the scope
 * object's (bpf_map__reuse_fd), which follows the command's forks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SCOPE_MAX_TGIDS);
	__type(key, __u32);
	__type(value, __u8);
} scope_tgids SEC(".maps");

/* Whether the VMM process pid is one this run watches. */
static __always_inline bool vmm_watched(__u32 pid)
{
	if (filter_pid && pid != filter_pid)
		return false;
	return !filter_scope || bpf_map_lookup_elem(&scope_tgids, &pid);
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
