/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoint mode of the teardown detector (included by teardown.bpf.c):
 * without fentry or kprobes there are no teardown boundaries, and these
 * windows stand in for them. A VMM process is learnt from its
 * KVM_CREATE_VM (or, for one running before kvmwatch attached, from its
 * fds by user space); its teardown is the close of a VM's last fd to the
 * thread's next system call, or its exit (exit_group, or SIGKILL) to the
 * exiting thread's last schedule.
 *
 * The system calls are raw tracepoints (raw_syscalls:sys_enter and
 * sys_exit, one program each, dispatching on the call's number): a
 * classic syscalls:* program is skipped, uncounted, while the CPU's
 * bpf_prog_active is held, and one lost close hides a teardown. Since
 * 7.x a raw one runs preemptible on these two, and is skipped (counted)
 * on a CPU where its preempted run has yet to finish: the return of an
 * ioctl or close whose entry was skipped does the entry's work.
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

/* The system calls watched, by number (native 64-bit VMMs). */
#if defined(__TARGET_ARCH_x86)
#define NR_CLOSE		3
#define NR_IOCTL		16
#define NR_EXIT_GROUP		231
#elif defined(__TARGET_ARCH_arm64)
#define NR_CLOSE		57
#define NR_IOCTL		29
#define NR_EXIT_GROUP		94
#else
#error "kvmwatch: no system call numbers for this architecture"
#endif

/* td_ioctls' mark of a VM fd's close seen at its entry (no ioctl is 0). */
#define VM_CLOSE_CALL		0

/* The test suite's stand-in for a skipped entry run (KVMWATCH_TEST_SKIP_
 * SYSCALL_ENTRY): the entry of ioctl and close is ignored, so that the
 * return's fallback is seen to work. */
const volatile bool skip_syscall_entry = false;

/* At sys_exit, the number of the call returning. */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#else
	return BPF_CORE_READ(regs, syscallno);
#endif
}

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
static __always_inline void vmm_exit_group(void)
{
	if (vmm_exit_destroys(current_pid()))
		phase_enter(TD_PH_EXIT, NULL);
}

/* The same for a VMM that a signal kills, which never calls exit_group:
 * every thread of a dying process passes here (SIGKILL), the first one
 * opens the record. */
SEC("raw_tp/signal_deliver")
int BPF_PROG(tp_vmm_killed, int sig)
{
	if (sig == SIGKILL_NR && vmm_exit_destroys(current_pid()))
		phase_enter(TD_PH_EXIT, NULL);
	return 0;
}

/* An ioctl that makes a VM, or one more fd on a VM. */
static __always_inline bool vm_fd_ioctl(__u32 cmd)
{
	return cmd == KVM_CREATE_VM_IOCTL || cmd == KVM_CREATE_VCPU_IOCTL ||
	       cmd == KVM_CREATE_DEVICE_IOCTL || cmd == KVM_GET_STATS_FD_IOCTL;
}

/* A KVM_CREATE_VM, or an ioctl that makes one more fd on a known VM. */
static __always_inline void vmm_ioctl(struct pt_regs *regs)
{
	__u32 cmd = (__u32)PT_REGS_PARM2_CORE_SYSCALL(regs), pid, tid;
	struct td_ioctl call = { .cmd = cmd, .vm_fd = -1 };
	struct td_vmm vmm = {};
	struct td_fd_key on;
	__s32 *vm_fd;

	if (!vm_fd_ioctl(cmd))
		return;
	pid = current_pid();
	if (!vmm_watched(pid))
		return;
	tid = current_tid();
	if (cmd != KVM_CREATE_VM_IOCTL) {
		/* Made on a VM fd, or a vCPU fd for a vCPU's stats: the
		 * VM it names. */
		on.pid = pid;
		on.fd = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
		vm_fd = bpf_map_lookup_elem(&td_fds, &on);
		if (!vm_fd)
			return;
		call.vm_fd = *vm_fd;
		call.arg = PT_REGS_PARM3_CORE_SYSCALL(regs);
		bpf_map_update_elem(&td_ioctls, &tid, &call, BPF_ANY);
		return;
	}
	bpf_map_update_elem(&td_ioctls, &tid, &call, BPF_ANY);
	vmm.created_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&td_vmms, &pid, &vmm, BPF_NOEXIST);
	__sync_fetch_and_add(&globals.vmm_creates, 1);
}

/* The fd a KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_CREATE_DEVICE or
 * KVM_GET_STATS_FD made: one more reference to its VM. */
static __always_inline void vm_ioctl_done(struct pt_regs *regs, long ret)
{
	__u32 tid = current_tid(), one = 1, *refs, cmd;
	struct td_fd_key fd, vm;
	struct td_ioctl *call;
	__s32 vm_fd, new_fd = (__s32)ret;

	if (!vm_fd_ioctl((__u32)PT_REGS_PARM2_CORE_SYSCALL(regs)))
		return;
	call = bpf_map_lookup_elem(&td_ioctls, &tid);
	/* Its entry's run was skipped (a close's mark is left only when
	 * that close's return was skipped too): its work is done now. */
	if (!call || call->cmd == VM_CLOSE_CALL) {
		vmm_ioctl(regs);
		call = bpf_map_lookup_elem(&td_ioctls, &tid);
	}
	if (!call)
		return;
	cmd = call->cmd;
	vm_fd = cmd == KVM_CREATE_VM_IOCTL ? new_fd : call->vm_fd;
	if (ret >= 0 && cmd == KVM_CREATE_DEVICE_IOCTL &&
	    bpf_probe_read_user(&new_fd, sizeof(new_fd),
				(void *)(call->arg + CREATE_DEVICE_FD_OFFSET)))
		new_fd = -1;
	bpf_map_delete_elem(&td_ioctls, &tid);
	if (ret < 0 || vm_fd < 0 || new_fd < 0)
		return;
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
			return;
		__sync_fetch_and_add(refs, 1);
	}
	bpf_map_update_elem(&td_fds, &fd, &vm_fd, BPF_ANY);
}

/* The close of a VM's last fd (at_entry: seen at its entry, else at its
 * return): its release (kvm_destroy_vm) runs in the close (7.3),
 * or as its task work after the syscall's exit, before the thread's next
 * system call, which ends the teardown (vm_close_end). */
static __always_inline void vm_close(struct pt_regs *regs, bool at_entry)
{
	struct td_fd_key fd = { .pid = current_pid() }, vm;
	struct td_ioctl seen = { .cmd = VM_CLOSE_CALL, .vm_fd = -1 };
	__u32 tid = current_tid();
	struct td_record *r;
	struct td_vmm *vmm;
	__s32 *vm_fd;
	__u32 *refs;

	fd.fd = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
	vm_fd = bpf_map_lookup_elem(&td_fds, &fd);
	if (!vm_fd)
		return;
	/* Its return then knows the fd was not left for it. */
	if (at_entry)
		bpf_map_update_elem(&td_ioctls, &tid, &seen, BPF_ANY);
	vm.pid = fd.pid;
	vm.fd = *vm_fd;
	bpf_map_delete_elem(&td_fds, &fd);
	refs = bpf_map_lookup_elem(&td_vm_refs, &vm);
	if (!refs)
		return;
	/* A process closes its own fds one at a time. */
	if (*refs > 1) {
		(*refs)--;
		return;
	}
	bpf_map_delete_elem(&td_vm_refs, &vm);
	vmm = bpf_map_lookup_elem(&td_vmms, &vm.pid);
	if (vmm && vmm->live_vms)
		vmm->live_vms--;
	r = phase_enter(TD_PH_CLOSE, NULL);
	if (r && !at_entry)
		r->begun_at_return = 1;
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

/* The close returned (ret): the thread's next system call ends the
 * window. A VM fd's close whose entry run was skipped is taken now,
 * counted but not timed: the release may be over (begun_at_return). */
static __always_inline void vm_close_done(struct pt_regs *regs, long ret)
{
	__u32 tid = current_tid();
	struct td_ioctl *call;
	struct td_thread *t;

	/* A process that made no VM holds no VM fd (the common close). */
	if (bpf_map_lookup_elem(&td_vmms, &(__u32){ current_pid() })) {
		call = bpf_map_lookup_elem(&td_ioctls, &tid);
		if (call && call->cmd == VM_CLOSE_CALL)
			bpf_map_delete_elem(&td_ioctls, &tid);
		else if (!ret)
			vm_close(regs, false);
	}
	if (!globals.active)
		return;
	t = closing_thread();
	if (t)
		t->close_returned = 1;
}

/* The thread's next system call after the close returned: the close's
 * task work, the VM's destruction, is over. */
static __always_inline void vm_close_end(void)
{
	struct td_thread *t = closing_thread();
	struct td_record *r;

	if (!t || !t->close_returned)
		return;
	r = record_of(t->id);
	if (r)
		td_phase_exit(r, TD_PH_CLOSE, bpf_ktime_get_ns());
}

/* Every system call's entry: most leave at the first test. */
SEC("raw_tp/sys_enter")
int BPF_PROG(tp_destroy_vm, struct pt_regs *regs, long id)
{
	/* Only while a teardown is open (its own close included). */
	if (globals.active)
		vm_close_end();
	if (skip_syscall_entry && (id == NR_IOCTL || id == NR_CLOSE))
		return 0;
	if (id == NR_IOCTL)
		vmm_ioctl(regs);
	else if (id == NR_CLOSE)
		vm_close(regs, true);
	else if (id == NR_EXIT_GROUP)
		vmm_exit_group();
	return 0;
}

/* Every system call's return. */
SEC("raw_tp/sys_exit")
int BPF_PROG(tp_vm_fds, struct pt_regs *regs, long ret)
{
	long id = syscall_nr(regs);

	if (id == NR_IOCTL)
		vm_ioctl_done(regs, ret);
	else if (id == NR_CLOSE)
		vm_close_done(regs, ret);
	return 0;
}

#endif
