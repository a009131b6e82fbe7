// SPDX-License-Identifier: GPL-2.0
/*
 * VM teardown rescheduling: each teardown (a thread destroying a VM), the
 * KVM functions it passes through, and every run it made on a CPU without
 * a schedule point, from sched_switch. Within a run, the stretch that
 * counts begins when another task wants that CPU: preempted by the switch
 * that began the run (sched_switch), woken onto it (sched_wakeup,
 * sched_wakeup_new) or moved onto it (sched_migrate_task). Records
 * aggregate in maps; nothing wakes user space.
 *
 * The sched tracepoints are hot: while no teardown is open sched_switch
 * only stores the switch time of its CPU (one per-CPU array slot), and
 * the others read one global.
 *
 * Without fentry or kprobes (tracepoint mode) there are no teardown
 * boundaries: the exit of a VMM process (exit_group of a process that
 * made KVM_CREATE_VM, or its SIGKILL) to its last schedule stands in for
 * one, and so does the close of a VM's last fd to the closing thread's
 * next system call.
 */
#include "kvmwatch.bpf.h"
#include "teardown.h"

/* Not in the x86 vmlinux.h; only its first fields are read. */
struct kvm_pgtable_visit_ctx___kw {
	__u64 old;
} __attribute__((preserve_access_index));

/* x86 only: the VM's count of leaf mappings by size (since 5.13). */
struct kvm_vm_stat___x86 {
	atomic64_t pages_4k, pages_2m, pages_1g;
} __attribute__((preserve_access_index));

struct kvm___x86 {
	struct kvm_vm_stat___x86 stat;
} __attribute__((preserve_access_index));

#define KVM_CREATE_VM_IOCTL	0xae01	/* _IO(KVMIO, 0x01) */
/* The other fds that hold a reference to a VM. */
#define KVM_CREATE_VCPU_IOCTL	0xae41	/* _IO(KVMIO, 0x41) */
#define KVM_GET_STATS_FD_IOCTL	0xaece	/* _IO(KVMIO, 0xce): VM or vCPU */
#define KVM_CREATE_DEVICE_IOCTL	0xc00caee0 /* _IOWR(KVMIO, 0xe0, 12 bytes) */
#define CREATE_DEVICE_FD_OFFSET	4	/* struct kvm_create_device.fd */
#define SIGKILL_NR		9
#define WALK_LEAF		1	/* KVM_PGTABLE_WALK_LEAF */
#define WALK_TABLE_POST		4	/* KVM_PGTABLE_WALK_TABLE_POST */
#define PTE_VALID		1ull

/* 0: every process; otherwise only this VMM. */
const volatile __u32 filter_pid = 0;

struct td_globals globals;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TD_MAX_RECORDS);
	__type(key, __u64);
	__type(value, struct td_record);
} td_records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TD_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct td_thread);
} td_threads SEC(".maps");

/* Indexed by CPU number (sched_wakeup writes other CPUs' slots). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TD_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct td_cpu);
} td_cpus SEC(".maps");

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

static const struct td_record zero_record;

/*
 * How many tasks besides the running one are runnable on this CPU: those
 * already waiting when a teardown thread's run begins here. The run
 * queue is reached through the current task's CFS run queue (every task,
 * the idle one too, has one on its CPU; not through the per-CPU
 * runqueues symbol, which kallsyms lacks without KALLSYMS_ALL). Without
 * group scheduling there is no such link: 0, and such a task is seen only
 * when it gets the CPU.
 */
static __always_inline __u32 queued_here(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct cfs_rq *cfs;
	struct rq *rq;
	__u32 n;

	if (!bpf_core_field_exists(task->se.cfs_rq) ||
	    !bpf_core_field_exists(struct cfs_rq, rq))
		return 0;
	cfs = BPF_CORE_READ(task, se.cfs_rq);
	if (!cfs)
		return 0;
	rq = BPF_CORE_READ(cfs, rq);
	if (!rq)
		return 0;
	n = BPF_CORE_READ(rq, nr_running);
	return n > 1 ? n - 1 : 0;
}

static __always_inline struct td_cpu *cpu_slot(__u32 cpu)
{
	return bpf_map_lookup_elem(&td_cpus, &cpu);
}

static __always_inline struct td_record *record_of(__u64 id)
{
	return bpf_map_lookup_elem(&td_records, &id);
}

/* What the teardown has to free: read before any of it is zapped. */
static __always_inline void read_mapped(struct td_record *r, struct kvm *kvm)
{
	struct kvm___x86 *k = (void *)kvm;

	if (!kvm || !bpf_core_field_exists(k->stat.pages_4k))
		return;
	r->mapped_pages[0] = BPF_CORE_READ(k, stat.pages_4k.counter);
	r->mapped_pages[1] = BPF_CORE_READ(k, stat.pages_2m.counter);
	r->mapped_pages[2] = BPF_CORE_READ(k, stat.pages_1g.counter);
	r->mapped_known = 1;
}

static __always_inline void record_done(struct td_record *r)
{
	struct td_thread *t = bpf_map_lookup_elem(&td_threads, &r->tid);

	if (t && t->id == r->id)
		bpf_map_delete_elem(&td_threads, &r->tid);
	__sync_fetch_and_add(&globals.active, -1);
}

/*
 * The current thread enters phase p of a teardown (kvm may be NULL).
 * The first phase opens a record, and the thread's current run on this
 * CPU becomes its first stretch, from the last switch seen here.
 */
static __always_inline void phase_enter(__u32 p, struct kvm *kvm)
{
	__u32 tid = current_tid(), cpu = bpf_get_smp_processor_id();
	__u64 now = bpf_ktime_get_ns(), id;
	struct td_thread *t = bpf_map_lookup_elem(&td_threads, &tid);
	struct td_thread nt = {};
	struct td_record *r = NULL;
	struct td_cpu *c;
	__u32 pid;

	if (t)
		r = record_of(t->id);
	if (r && !r->end_ns) {
		td_phase_enter(r, p, now);
		return;
	}
	if (!td_phase_opens(p))
		return;
	pid = kvm ? BPF_CORE_READ(kvm, userspace_pid) : current_pid();
	if (filter_pid && pid != filter_pid)
		return;
	c = cpu_slot(cpu);
	if (!c)
		return;
	/* The last one ended and this one follows in the same run. */
	if (r && r->on_cpu) {
		r->end_how = TD_END_NEXT;
		if (td_stretch_close(r, now, -1, 0, NULL, 0, TD_WAIT_NONE))
			record_done(r);
	}
	id = __sync_fetch_and_add(&globals.next_id, 1) + 1;
	if (bpf_map_update_elem(&td_records, &id, &zero_record, BPF_NOEXIST)) {
		__sync_fetch_and_add(&globals.dropped, 1);
		return;
	}
	r = record_of(id);
	if (!r)
		return;
	nt.id = id;
	if (bpf_map_update_elem(&td_threads, &tid, &nt, BPF_ANY)) {
		bpf_map_delete_elem(&td_records, &id);
		__sync_fetch_and_add(&globals.dropped, 1);
		return;
	}
	__sync_fetch_and_add(&globals.active, 1);
	r->id = id;
	r->pid = pid;
	r->tid = tid;
	r->kvm = (__u64)kvm;
	read_mapped(r, kvm);
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	r->start_ns = now;
	r->begun_by = p;
	c->wanted = 0;
	if (c->last_switch_ns) {
		td_stretch_open(r, cpu, c->last_switch_ns, true);
		c->preempted = c->last_prev_runnable ? c->last_prev : 0;
		/* It has waited since that switch. Another task queued
		 * here came in this run or before it (wakeups were not
		 * watched here yet): from the run's start too, an upper
		 * bound. */
		if (c->preempted)
			c->wanted = td_want(r, c->last_switch_ns, c->preempted,
					    c->last_prev_comm,
					    TD_WAIT_PREEMPTED);
		else if (queued_here())
			c->wanted = td_want(r, c->last_switch_ns, 0, NULL,
					    TD_WAIT_QUEUED);
	} else {
		td_stretch_open(r, cpu, now, false);
		c->preempted = 0;
	}
	c->td_tid = tid;
	c->td_id = id;
	c->nwakes = 0;
	td_phase_enter(r, p, now);
}

static __always_inline void phase_exit(__u32 p)
{
	__u32 tid = current_tid();
	struct td_thread *t = bpf_map_lookup_elem(&td_threads, &tid);
	struct td_record *r;

	if (!t)
		return;
	r = record_of(t->id);
	if (r && !r->end_ns)
		td_phase_exit(r, p, bpf_ktime_get_ns());
}

/* fentry/fexit and kprobe/kretprobe for one phase function. */
#define PHASE_PROGS(point, func, phase)					\
SEC("fentry/" #func)							\
int BPF_PROG(fentry_##point)						\
{									\
	phase_enter(phase, NULL);					\
	return 0;							\
}									\
SEC("fexit/" #func)							\
int BPF_PROG(fexit_##point)						\
{									\
	phase_exit(phase);						\
	return 0;							\
}									\
SEC("kprobe/" #func)							\
int BPF_KPROBE(kprobe_##point)						\
{									\
	phase_enter(phase, NULL);					\
	return KEEP_EVENT;							\
}									\
SEC("kretprobe/" #func)							\
int BPF_KRETPROBE(kretprobe_##point)					\
{									\
	phase_exit(phase);						\
	return KEEP_EVENT;							\
}

/* The same for functions taking the struct kvm first: the VMM's pid. */
#define KVM_PHASE_PROGS(point, func, phase)				\
SEC("fentry/" #func)							\
int BPF_PROG(fentry_##point, struct kvm *kvm)				\
{									\
	phase_enter(phase, kvm);					\
	return 0;							\
}									\
SEC("fexit/" #func)							\
int BPF_PROG(fexit_##point)						\
{									\
	phase_exit(phase);						\
	return 0;							\
}									\
SEC("kprobe/" #func)							\
int BPF_KPROBE(kprobe_##point, struct kvm *kvm)				\
{									\
	phase_enter(phase, kvm);					\
	return KEEP_EVENT;							\
}									\
SEC("kretprobe/" #func)							\
int BPF_KRETPROBE(kretprobe_##point)					\
{									\
	phase_exit(phase);						\
	return KEEP_EVENT;							\
}

KVM_PHASE_PROGS(destroy_vm, kvm_destroy_vm, TD_PH_DESTROY_VM)
KVM_PHASE_PROGS(flush_shadow_all, kvm_arch_flush_shadow_all, TD_PH_FLUSH)
KVM_PHASE_PROGS(arch_destroy_vm, kvm_arch_destroy_vm, TD_PH_ARCH_DESTROY)
KVM_PHASE_PROGS(mmu_uninit_vm, kvm_mmu_uninit_vm, TD_PH_MMU_UNINIT)
KVM_PHASE_PROGS(tdp_zap_all, kvm_tdp_mmu_zap_all, TD_PH_TDP_ZAP_ALL)
KVM_PHASE_PROGS(tdp_zap_roots, kvm_tdp_mmu_zap_invalidated_roots,
		TD_PH_TDP_ZAP_ROOTS)
PHASE_PROGS(stage2_destroy, kvm_pgtable_stage2_destroy, TD_PH_STAGE2)
PHASE_PROGS(stage2_destroy_range, kvm_pgtable_stage2_destroy_range,
	    TD_PH_STAGE2_RANGE)
PHASE_PROGS(stage2_destroy_pgd, kvm_pgtable_stage2_destroy_pgd,
	    TD_PH_STAGE2_PGD)

/* One call per entry the stage-2 walk visits: only count, and only for
 * the teardown running on this CPU. */
static __always_inline void count_walk(struct kvm_pgtable_visit_ctx___kw *ctx,
				       __u32 visit)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct td_cpu *c = cpu_slot(cpu);
	struct td_record *r;

	if (!c || c->td_tid != current_tid())
		return;
	r = record_of(c->td_id);
	if (!r)
		return;
	if (visit & WALK_LEAF) {
		r->walker_leaves++;
		if (BPF_CORE_READ(ctx, old) & PTE_VALID)
			r->walker_mapped++;
	} else if (visit & WALK_TABLE_POST) {
		r->walker_tables++;
	}
}

SEC("fentry/stage2_free_walker")
int BPF_PROG(fentry_stage2_free_walker,
	     struct kvm_pgtable_visit_ctx___kw *vctx, __u32 visit)
{
	count_walk(vctx, visit);
	return 0;
}

SEC("kprobe/stage2_free_walker")
int BPF_KPROBE(kprobe_stage2_free_walker,
	       struct kvm_pgtable_visit_ctx___kw *vctx, __u32 visit)
{
	count_walk(vctx, visit);
	return KEEP_EVENT;
}

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
	if (filter_pid && pid != filter_pid)
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

SEC("tracepoint/sched/sched_switch")
int tp_sched_switch(struct trace_event_raw_sched_switch *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct td_cpu *c = cpu_slot(cpu);
	__u32 prev = ctx->prev_pid, next = ctx->next_pid;
	long state = ctx->prev_state;
	__u64 now = bpf_ktime_get_ns();
	struct td_thread *t;
	struct td_record *r;

	if (!c)
		return KEEP_EVENT;
	/* The common case: no teardown anywhere, nothing on this CPU. */
	if (!c->td_tid && !globals.active)
		goto out;
	if (c->td_tid) {
		r = record_of(c->td_id);
		if (r && c->td_tid == prev) {
			char comm[TD_COMM_LEN];
			__u64 from;
			__u32 how = td_waiter(c, next, r->cur_start, &from);

			bpf_probe_read_kernel(comm, sizeof(comm), ctx->next_comm);
			if (td_stretch_close(r, now, state, next, comm, from,
					     how))
				record_done(r);
		}
		/* Or an event was lost: start over on this CPU. */
		c->td_tid = 0;
	}
	if (!next || !globals.active)
		goto out;
	t = bpf_map_lookup_elem(&td_threads, &next);
	if (!t)
		goto out;
	r = record_of(t->id);
	if (!r || r->done)
		goto out;
	td_stretch_open(r, cpu, now, true);
	c->td_tid = next;
	c->td_id = t->id;
	c->preempted = td_state_runnable(state) ? prev : 0;
	c->nwakes = 0;
	c->wanted = 0;
	if (c->preempted) {
		char comm[TD_COMM_LEN];

		bpf_probe_read_kernel(comm, sizeof(comm), ctx->prev_comm);
		c->wanted = td_want(r, now, prev, comm, TD_WAIT_PREEMPTED);
	} else if (queued_here()) {
		/* Left waiting by an earlier switch, or moved here. */
		c->wanted = td_want(r, now, 0, NULL, TD_WAIT_QUEUED);
	}
out:
	c->last_switch_ns = now;
	c->last_prev = prev;
	c->last_prev_runnable = td_state_runnable(state);
	/* A teardown beginning in the next run names it as its first
	 * waiter (preemptions only: the common switch stays cheap). */
	if (c->last_prev_runnable && prev)
		bpf_probe_read_kernel(c->last_prev_comm,
				      sizeof(c->last_prev_comm),
				      ctx->prev_comm);
	return KEEP_EVENT;
}

/*
 * Task pid came to CPU cpu by how (comm: its name in the tracepoint's
 * record, read only when have_comm, a constant at each call). While a
 * teardown thread runs there, remember it for the waiter's wait, and the
 * first one opens the run's stretch.
 */
static __always_inline void arrival(__u32 cpu, __u32 pid, const char *comm,
				    const bool have_comm, __u32 how)
{
	char name[TD_COMM_LEN] = {};
	struct td_record *r;
	struct td_cpu *c;
	__u64 now;

	if (!globals.active)
		return;
	c = cpu_slot(cpu);
	/* The teardown thread's own wakeup (it set a sleeping state and
	 * was woken before it slept) is not a waiter. */
	if (!c || !c->td_tid || pid == c->td_tid)
		return;
	now = bpf_ktime_get_ns();
	td_cpu_arrival(c, pid, now, how);
	/* Once the first waiter is known only its wakeup matters: a
	 * migration may have come first in the same try_to_wake_up. */
	if (c->wanted && how != TD_WAIT_WOKEN)
		return;
	r = record_of(c->td_id);
	if (!r || r->tid != c->td_tid)
		return;
	if (have_comm)
		bpf_probe_read_kernel(name, sizeof(name), comm);
	if (td_want(r, now, pid, have_comm ? name : NULL, how))
		c->wanted = 1;
}

SEC("tracepoint/sched/sched_wakeup")
int tp_sched_wakeup(struct trace_event_raw_sched_wakeup_template *ctx)
{
	arrival(ctx->target_cpu, ctx->pid, ctx->comm, true, TD_WAIT_WOKEN);
	return KEEP_EVENT;
}

SEC("tracepoint/sched/sched_wakeup_new")
int tp_sched_wakeup_new(struct trace_event_raw_sched_wakeup_template *ctx)
{
	arrival(ctx->target_cpu, ctx->pid, ctx->comm, true, TD_WAIT_WOKEN);
	return KEEP_EVENT;
}

/* Every move of a runnable or waking task (set_task_cpu). The name's
 * layout differs between kernels (6.18 made it __data_loc): not read. */
SEC("tracepoint/sched/sched_migrate_task")
int tp_sched_migrate(struct trace_event_raw_sched_migrate_task *ctx)
{
	arrival(ctx->dest_cpu, ctx->pid, NULL, false, TD_WAIT_MIGRATED);
	return KEEP_EVENT;
}

char LICENSE[] SEC("license") = "GPL";
