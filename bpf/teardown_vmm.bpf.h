/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoint mode of the teardown detector (included by teardown.bpf.c):
 * without fentry or kprobes there are no teardown boundaries, and these
 * windows stand in for them. A VMM process is learnt from its
 * KVM_CREATE_VM (or, for one running before kvmwatch attached, from its
 * fds by user space); its teardown is the close of a VM's last fd to the
 * thread's next system call, or its exit (exit_group, or SIGKILL) to the
 * exiting thread's last schedule.
 */
#ifndef KVMWATCH_TEARDOWN_VMM_BPF_H
#define KVMWATCH_TEARDOWN_VMM_BPF_H

#define KVM_CREATE_VM_IOCTL	0xae01	/* _IO(KVMIO, 0x01) */
/* The other fds that hold a reference to a VM. */
#define KVM_CREATE_VCPU_IOCTL	0xae41	/* _IO(KVMIO, 0x41) */
#define KVM_GET_STATS_FD_IOCTL	0xaece	/* _IO(KVMIO, 0xce): VM or vCPU */
#define KVM_CREATE_DEVICE_IOCTL	0xc00caee0 /* _IOWR(KVMIO, 0xe0, 12 bytes) */
#define CREATE_DEVICE_FD_OFFSET	4	/* struct kvm_create_device.fd */
#define SIGKILL_NR		9

/* Tracepoint mode: processes that created a VM, and how many of their
 * VMs live (a VM destroyed by its last fd's close is gone: the process's
 * exit then destroys nothing). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TD_MAX_VMMS);
	__type(key, __u32);
	__type(value, struct td_vmm);
} td_vmms SEC(".maps");

/* The exit of VMM pid, whose live VMs go with it: a teardown, if any. */
static __always_inline bool vmm_exit_destroys(__u32 pid)
{
	struct td_vmm *vmm = bpf_map_lookup_elem(&td_vmms, &pid);
	bool any = vmm && vmm->live_vms;

	if (vmm)
		bpf_map_delete_elem(&td_vmms, &pid);
	return any;
}

/* Tracepoint mode: a KVM_CREATE_VM or KVM_CREATE_VCPU in flight, by
 * thread, until its return gives the new fd. */
struct td_ioctl {
	__u32 cmd;
	__s32 vm_fd;		/* the VM the new fd refers to */
	__u64 arg;		/* KVM_CREATE_DEVICE: where the fd goes */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TD_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct td_ioctl);
} td_ioctls SEC(".maps");

/* Tracepoint mode: the VM and vCPU fds of VMM processes, each naming its
 * VM by (pid, VM fd); and per VM how many of them are open. Each holds a
 * reference to the VM: the close of the last one destroys it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TD_MAX_VMMS * 4);
	__type(key, struct td_fd_key);
	__type(value, __s32);	/* the VM fd */
} td_fds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TD_MAX_VMMS);
	__type(key, struct td_fd_key);
	__type(value, __u32);	/* fds open */
} td_vm_refs SEC(".maps");

/* Tracepoint mode: the exit of a VMM process stands in for its teardown. */
SEC("tracepoint/syscalls/sys_enter_exit_group")
int tp_destroy_vm(struct trace_event_raw_sys_enter *ctx)
{
	if (vmm_exit_destroys(current_pid()))
		phase_enter(TD_PH_EXIT, NULL);
	return KEEP_EVENT;
}

/* The same for a VMM that a signal kills, which never calls exit_group:
 * every thread of a dying process passes here (SIGKILL), the first one
 * opens the record. */
SEC("tracepoint/signal/signal_deliver")
int tp_vmm_killed(struct trace_event_raw_signal_deliver *ctx)
{
	if (ctx->sig == SIGKILL_NR && vmm_exit_destroys(current_pid()))
		phase_enter(TD_PH_EXIT, NULL);
	return KEEP_EVENT;
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int tp_vmm_create(struct trace_event_raw_sys_enter *ctx)
{
	__u32 cmd = (__u32)ctx->args[1], pid, tid;
	struct td_ioctl call = { .cmd = cmd, .vm_fd = -1 };
	struct td_vmm vmm = {};
	struct td_fd_key on;
	__s32 *vm_fd;

	if (cmd != KVM_CREATE_VM_IOCTL && cmd != KVM_CREATE_VCPU_IOCTL &&
	    cmd != KVM_CREATE_DEVICE_IOCTL && cmd != KVM_GET_STATS_FD_IOCTL)
		return KEEP_EVENT;
	pid = current_pid();
	if (!vmm_watched(pid))
		return KEEP_EVENT;
	tid = current_tid();
	if (cmd != KVM_CREATE_VM_IOCTL) {
		/* Made on a VM fd, or a vCPU fd for a vCPU's stats: the
		 * VM it names. */
		on.pid = pid;
		on.fd = (__s32)ctx->args[0];
		vm_fd = bpf_map_lookup_elem(&td_fds, &on);
		if (!vm_fd)
			return KEEP_EVENT;
		call.vm_fd = *vm_fd;
		call.arg = ctx->args[2];
		bpf_map_update_elem(&td_ioctls, &tid, &call, BPF_ANY);
		return KEEP_EVENT;
	}
	bpf_map_update_elem(&td_ioctls, &tid, &call, BPF_ANY);
	vmm.created_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&td_vmms, &pid, &vmm, BPF_NOEXIST);
	__sync_fetch_and_add(&globals.vmm_creates, 1);
	return KEEP_EVENT;
}

/* The fd a KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_CREATE_DEVICE or
 * KVM_GET_STATS_FD made: one more reference to its VM. */
SEC("tracepoint/syscalls/sys_exit_ioctl")
int tp_vm_fds(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = current_tid(), one = 1, *refs, cmd;
	struct td_fd_key fd, vm;
	struct td_ioctl *call;
	__s32 vm_fd, new_fd = (__s32)ctx->ret;

	call = bpf_map_lookup_elem(&td_ioctls, &tid);
	if (!call)
		return KEEP_EVENT;
	cmd = call->cmd;
	vm_fd = cmd == KVM_CREATE_VM_IOCTL ? new_fd : call->vm_fd;
	if (ctx->ret >= 0 && cmd == KVM_CREATE_DEVICE_IOCTL &&
	    bpf_probe_read_user(&new_fd, sizeof(new_fd),
				(void *)(call->arg + CREATE_DEVICE_FD_OFFSET)))
		new_fd = -1;
	bpf_map_delete_elem(&td_ioctls, &tid);
	if (ctx->ret < 0 || vm_fd < 0 || new_fd < 0)
		return KEEP_EVENT;
	fd.pid = vm.pid = current_pid();
	fd.fd = new_fd;
	vm.fd = vm_fd;
	if (cmd == KVM_CREATE_VM_IOCTL) {
		struct td_vmm *vmm = bpf_map_lookup_elem(&td_vmms, &vm.pid);

		if (vmm)
			__sync_fetch_and_add(&vmm->live_vms, 1);
		bpf_map_update_elem(&td_vm_refs, &vm, &one, BPF_ANY);
	} else {
		refs = bpf_map_lookup_elem(&td_vm_refs, &vm);
		if (!refs)
			return KEEP_EVENT;
		__sync_fetch_and_add(refs, 1);
	}
	bpf_map_update_elem(&td_fds, &fd, &vm_fd, BPF_ANY);
	return KEEP_EVENT;
}

/* The close of a VM's last fd: its release (kvm_destroy_vm) runs as the
 * close's task work, after the syscall's exit and before the thread's
 * next system call, which ends the teardown (tp_vm_close_end). */
SEC("tracepoint/syscalls/sys_enter_close")
int tp_vm_close(struct trace_event_raw_sys_enter *ctx)
{
	struct td_fd_key fd = { .pid = current_pid(),
				.fd = (__s32)ctx->args[0] }, vm;
	__s32 *vm_fd = bpf_map_lookup_elem(&td_fds, &fd);
	struct td_vmm *vmm;
	__u32 *refs;

	if (!vm_fd)
		return KEEP_EVENT;
	vm.pid = fd.pid;
	vm.fd = *vm_fd;
	bpf_map_delete_elem(&td_fds, &fd);
	refs = bpf_map_lookup_elem(&td_vm_refs, &vm);
	if (!refs)
		return KEEP_EVENT;
	/* A process closes its own fds one at a time. */
	if (*refs > 1) {
		(*refs)--;
		return KEEP_EVENT;
	}
	bpf_map_delete_elem(&td_vm_refs, &vm);
	vmm = bpf_map_lookup_elem(&td_vmms, &vm.pid);
	if (vmm && vmm->live_vms)
		vmm->live_vms--;
	phase_enter(TD_PH_CLOSE, NULL);
	return KEEP_EVENT;
}

/* The thread with a VM fd's close open, or NULL. */
static __always_inline struct td_thread *closing_thread(void)
{
	__u32 tid = current_tid();
	struct td_thread *t;
	struct td_record *r;

	t = bpf_map_lookup_elem(&td_threads, &tid);
	if (!t)
		return NULL;
	r = record_of(t->id);
	if (!r || r->end_ns || !(r->open_mask & (1u << TD_PH_CLOSE)))
		return NULL;
	return t;
}

/* The close returned; its task work is to come. (The close's own entry
 * reaches tp_vm_close_end too, possibly after tp_vm_close: the same
 * tracepoint underlies both.) */
SEC("tracepoint/syscalls/sys_exit_close")
int tp_vm_close_done(void *ctx)
{
	struct td_thread *t;

	if (!globals.active)
		return KEEP_EVENT;
	t = closing_thread();
	if (t)
		t->close_returned = 1;
	return KEEP_EVENT;
}

/* Every system call: only while a teardown is open does it look further. */
SEC("raw_tp/sys_enter")
int BPF_PROG(tp_vm_close_end)
{
	struct td_thread *t;
	struct td_record *r;

	if (!globals.active)
		return 0;
	t = closing_thread();
	if (!t || !t->close_returned)
		return 0;
	r = record_of(t->id);
	if (r)
		td_phase_exit(r, TD_PH_CLOSE, bpf_ktime_get_ns());
	return 0;
}

#endif
