// SPDX-License-Identifier: GPL-2.0
/*
 * The scope of a `check` or `record` with `-- COMMAND`: the command's
 * process and every process forked from one already in scope. A VM is
 * its creating process's, so the detectors count only VMs of these
 * processes (kvmwatch.bpf.h, in_scope()). User space enters the command
 * before it execs; forks follow here, as they happen, so no child is
 * missed however short it lives.
 */
#include "kvmwatch.bpf.h"

SEC("raw_tp/sched_process_fork")
int BPF_PROG(scope_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	/* A new thread is in its own process's scope already. */
	if (child_tgid == parent_tgid ||
	    !bpf_map_lookup_elem(&scope_tgids, &parent_tgid))
		return 0;
	bpf_map_update_elem(&scope_tgids, &child_tgid, &one, BPF_ANY);
	return 0;
}

/* Once a process is reaped its pid may be reused, by anyone. */
SEC("raw_tp/sched_process_free")
int BPF_PROG(scope_free, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, pid) == tgid)
		bpf_map_delete_elem(&scope_tgids, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
