// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO writes of guests, per VM, vCPU thread and guest-physical address:
 * which took KVM_FAST_MMIO_BUS (no decode), which were decoded and handled
 * in the kernel on KVM_MMIO_BUS, which went to the VMM; the exit that led
 * there and, where the vendor exit handler can be probed, what each write
 * cost from the handler's entry to its return.
 *
 * kvm:kvm_mmio, the guest entry/exit and KVM_RUN-return tracepoints
 * classify writes in every mode (bpf/mmio.h). With fentry/fexit or
 * kprobes, kvm_io_bus_write adds the fast-bus tries and hits and the
 * fast-MMIO candidates, read from the VM's KVM_FAST_MMIO_BUS itself;
 * without, fast hits come from kvm:kvm_fast_mmio (x86).
 */
#include "kvmwatch.bpf.h"
#include "kvm_records.h"
#include "mmio.h"

/* Where the kvm:* records keep their fields (tracefs). */
const volatile struct kvm_tp_fields kvm_fields = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MMIO_MAX_ADDRS);
	__type(key, struct mmio_key);
	__type(value, struct mmio_stats);
} mmio_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMIO_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct mmio_thread);
} mmio_threads SEC(".maps");

/* Threads that exited, until user space has read their last counts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MMIO_MAX_THREADS);
	__type(key, struct thread_ident);
	__type(value, struct mmio_thread);
} mmio_threads_done SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMIO_MAX_VMS);
	__type(key, struct thread_ident);	/* tid 0 */
	__type(value, struct mmio_vm);
} mmio_vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MMIO_MAX_CANDIDATES);
	__type(key, struct mmio_key);	/* tid 0 */
	__type(value, struct mmio_candidate);
} mmio_candidates SEC(".maps");

static const struct mmio_stats zero_stats;
static const struct mmio_thread zero_thread;
static const struct mmio_vm zero_vm;

static __always_inline struct mmio_stats *
addr_stats(const struct mmio_thread *t, __u64 gpa)
{
	struct mmio_key key = { .pid = t->pid, .tid = t->tid, .gpa = gpa,
				.vm_start = t->vm_start };

	return lookup_or_init(&mmio_stats, &key, &zero_stats);
}

static __always_inline void account(const struct mmio_thread *t,
				    const struct mmio_done *d)
{
	struct mmio_stats *s = addr_stats(t, d->gpa);

	if (s)
		mmio_account(s, d);
}

/* Move the state of thread tid to mmio_threads_done: its counts are read
 * once more, and nothing of it is left for a thread given its tid. */
static __always_inline void retire_thread(__u32 tid, struct mmio_thread *t)
{
	struct thread_ident id = { .pid = t->pid, .tid = tid,
				   .vm_start = t->vm_start };
	struct mmio_done d;

	/* A write still open is settled where it was: in the kernel. */
	if (mmio_settle(t, &d))
		account(t, &d);
	bpf_map_update_elem(&mmio_threads_done, &id, t, BPF_ANY);
	bpf_map_delete_elem(&mmio_threads, &tid);
}

static __always_inline struct mmio_thread *this_thread(void)
{
	struct current_ids me = current_ids();
	struct mmio_thread *t;
	__u64 started;

	if (!vmm_watched(me.pid))
		return NULL;
	started = current_thread_start();
	t = bpf_map_lookup_elem(&mmio_threads, &me.tid);
	if (t && t->pid == me.pid && t->thread_start == started)
		return t;
	/* An earlier thread given this tid: its exit was missed. */
	if (t)
		retire_thread(me.tid, t);
	bpf_map_update_elem(&mmio_threads, &me.tid, &zero_thread, BPF_ANY);
	t = bpf_map_lookup_elem(&mmio_threads, &me.tid);
	if (t) {
		t->pid = me.pid;
		t->tid = me.tid;
		t->vm_start = current_vm_start();
		t->thread_start = started;
	}
	return t;
}

/* ---- the tracepoints every mode uses ---- */

SEC("tracepoint/kvm/kvm_mmio")
int tp_kvm_mmio(void *ctx)
{
	struct mmio_thread *t;
	struct mmio_done d;

	if (tp_read(ctx, &kvm_fields.mmio_type) != MMIO_TRACE_WRITE)
		return KEEP_EVENT;
	t = this_thread();
	if (t && mmio_on_decoded(t, tp_read(ctx, &kvm_fields.mmio_gpa),
				 tp_read(ctx, &kvm_fields.mmio_len), &d))
		account(t, &d);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_exit")
int tp_exit_reason(void *ctx)
{
	struct mmio_thread *t = this_thread();
	struct mmio_done d;

	if (t && mmio_on_exit(t, kvm_exit_reason_of(ctx, &kvm_fields), &d))
		account(t, &d);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_entry")
int tp_guest_entry(void *ctx)
{
	struct mmio_thread *t = this_thread();
	struct mmio_done d;

	if (t && mmio_on_entry(t, &d))
		account(t, &d);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_userspace_exit")
int tp_vmm_exit(void *ctx)
{
	struct mmio_thread *t = this_thread();
	struct mmio_done d;

	if (t && mmio_on_vmm_exit(t, tp_read(ctx, &kvm_fields.user_reason),
				  (int)tp_read(ctx, &kvm_fields.user_errno),
				  &d))
		account(t, &d);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_emulate_insn")
int tp_emulate_insn(void *ctx)
{
	struct mmio_thread *t = this_thread();

	if (t)
		mmio_on_emulate(t);
	return KEEP_EVENT;
}

/* ---- kvm_io_bus_write: fast-bus tries and hits, candidates ---- */

/* vcpu->kvm->buses[KVM_FAST_MMIO_BUS]: every len-0 MMIO ioeventfd is on
 * it. The kernel replaces the bus on each change (copy and RCU), so a
 * different instance or device count means read it again. */
static __always_inline void scan_fast_bus(struct kvm_vcpu *vcpu,
					  const struct mmio_thread *t)
{
	__u64 fast = bpf_core_enum_value(enum kvm_bus, KVM_FAST_MMIO_BUS);
	__u64 range_off = bpf_core_field_offset(struct kvm_io_bus, range);
	__u64 range_size = bpf_core_type_size(struct kvm_io_range);
	__u64 addr_off = bpf_core_field_offset(struct kvm_io_range, addr);
	__u64 len_off = bpf_core_field_offset(struct kvm_io_range, len);
	struct kvm *kvm = BPF_CORE_READ(vcpu, kvm);
	struct thread_ident vm_id = { .pid = t->pid, .vm_start = t->vm_start };
	struct mmio_key key = { .pid = t->pid, .vm_start = t->vm_start };
	struct mmio_candidate cand = {};
	struct kvm_io_bus *bus = NULL;
	struct mmio_vm *vm;
	int count = 0, i;

	if (!kvm)
		return;
	bpf_probe_read_kernel(&bus, sizeof(bus), (void *)kvm +
			      bpf_core_field_offset(struct kvm, buses) +
			      fast * sizeof(void *));
	if (bus)
		count = BPF_CORE_READ(bus, dev_count);
	vm = lookup_or_init(&mmio_vms, &vm_id, &zero_vm);
	if (!vm || (vm->bus == (__u64)bus && vm->bus_count == (__u32)count &&
		    vm->scans))
		return;
	cand.bus = (__u64)bus;
	cand.bus_count = count;
	for (i = 0; i < MMIO_SCAN_MAX && i < count; i++) {
		void *range = (void *)bus + range_off + i * range_size;
		int len = 0;

		bpf_probe_read_kernel(&key.gpa, sizeof(key.gpa), range + addr_off);
		bpf_probe_read_kernel(&len, sizeof(len), range + len_off);
		cand.len = len;
		bpf_map_update_elem(&mmio_candidates, &key, &cand, BPF_ANY);
	}
	vm->bus = (__u64)bus;
	vm->bus_count = count;
	vm->candidates = count < MMIO_SCAN_MAX ? count : MMIO_SCAN_MAX;
	vm->truncated = count > MMIO_SCAN_MAX;
	vm->scans++;
}

static __always_inline int is_candidate(const struct mmio_thread *t,
					__u64 gpa)
{
	struct thread_ident vm_id = { .pid = t->pid, .vm_start = t->vm_start };
	struct mmio_key key = { .pid = t->pid, .gpa = gpa,
				.vm_start = t->vm_start };
	struct mmio_candidate *c = bpf_map_lookup_elem(&mmio_candidates, &key);
	struct mmio_vm *vm = bpf_map_lookup_elem(&mmio_vms, &vm_id);

	return c && vm && c->bus == vm->bus && c->bus_count == vm->bus_count;
}

static __always_inline void bus_write_done(struct mmio_thread *t, __u32 bus,
					   __u64 addr, int ret)
{
	int fast = bus == bpf_core_enum_value(enum kvm_bus, KVM_FAST_MMIO_BUS);
	int mmio = bus == bpf_core_enum_value(enum kvm_bus, KVM_MMIO_BUS);
	struct mmio_stats *s;
	struct mmio_done d;
	int missed;

	if (!fast && !mmio)
		return;
	if (mmio_on_bus_write(t, fast, mmio, addr, ret,
			      mmio && is_candidate(t, addr), &missed, &d))
		account(t, &d);
	if (missed) {
		s = addr_stats(t, addr);
		if (s)
			s->fast_misses++;
	}
}

SEC("fexit/kvm_io_bus_write")
int BPF_PROG(fexit_io_bus_write, struct kvm_vcpu *vcpu, enum kvm_bus bus_idx,
	     gpa_t addr, int len, const void *val, int ret)
{
	struct mmio_thread *t = this_thread();

	if (!t)
		return 0;
	scan_fast_bus(vcpu, t);
	bus_write_done(t, bus_idx, addr, ret);
	return 0;
}

SEC("kprobe/kvm_io_bus_write")
int BPF_KPROBE(kprobe_io_bus_write, struct kvm_vcpu *vcpu,
	       enum kvm_bus bus_idx, gpa_t addr)
{
	struct mmio_thread *t = this_thread();

	if (!t)
		return KEEP_EVENT;
	scan_fast_bus(vcpu, t);
	t->arg_bus = bus_idx;
	t->arg_addr = addr;
	return KEEP_EVENT;
}

SEC("kretprobe/kvm_io_bus_write")
int BPF_KRETPROBE(kretprobe_io_bus_write, int ret)
{
	struct mmio_thread *t = this_thread();

	if (t)
		bus_write_done(t, t->arg_bus, t->arg_addr, ret);
	return KEEP_EVENT;
}

/* Tracepoint mode, x86: the vendor fast paths report each hit. */
SEC("tracepoint/kvm/kvm_fast_mmio")
int tp_io_bus_write(void *ctx)
{
	struct mmio_thread *t = this_thread();
	struct mmio_done d;

	if (!t)
		return KEEP_EVENT;
	t->fast_events++;
	if (mmio_on_fast(t, tp_read(ctx, &kvm_fields.fast_gpa), &d))
		account(t, &d);
	return KEEP_EVENT;
}

/* ---- ioeventfd_write: which writes signalled an eventfd ---- */

static __always_inline void ioeventfd_done(__u64 addr, int ret)
{
	struct mmio_thread *t;
	struct mmio_stats *s;

	if (ret)
		return;
	t = this_thread();
	s = t ? addr_stats(t, addr) : NULL;
	if (s)
		s->ioeventfd_signals++;
}

SEC("fexit/ioeventfd_write")
int BPF_PROG(fexit_ioeventfd_write, struct kvm_vcpu *vcpu, void *this,
	     gpa_t addr, int len, const void *val, int ret)
{
	ioeventfd_done(addr, ret);
	return 0;
}

SEC("kprobe/ioeventfd_write")
int BPF_KPROBE(kprobe_ioeventfd_write, struct kvm_vcpu *vcpu, void *this,
	       gpa_t addr)
{
	struct mmio_thread *t = this_thread();

	if (t)
		t->arg_ioeventfd_addr = addr;
	return KEEP_EVENT;
}

SEC("kretprobe/ioeventfd_write")
int BPF_KRETPROBE(kretprobe_ioeventfd_write, int ret)
{
	struct mmio_thread *t = this_thread();

	if (t)
		ioeventfd_done(t->arg_ioeventfd_addr, ret);
	return KEEP_EVENT;
}

/* ---- the vendor exit handlers: per-write cost, fast-path evidence ---- */

/* x86 is_guest_mode(): the vCPU runs a nested guest, for which neither
 * vendor tries the fast bus. */
static __always_inline int nested_guest(struct kvm_vcpu *vcpu)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(vcpu, arch.hflags) & 1;	/* HF_GUEST_MASK */
#else
	return 0;
#endif
}

/* Context switches of the current thread so far: a handler run that
 * waited for a CPU is not a measure of the path. */
static __always_inline __u64 switches(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, nvcsw) + BPF_CORE_READ(task, nivcsw);
}

static __always_inline void handler_entry(struct kvm_vcpu *vcpu)
{
	struct mmio_thread *t = this_thread();

	if (t)
		mmio_on_handler_entry(t, bpf_ktime_get_ns(), nested_guest(vcpu),
				      switches());
}

static __always_inline void handler_exit(void)
{
	struct mmio_thread *t = this_thread();

	if (t)
		mmio_on_handler_exit(t, bpf_ktime_get_ns(), switches());
}

#define HANDLER_PROGRAMS(point, func)					\
SEC("fentry/" #func)							\
int BPF_PROG(fentry_##point, struct kvm_vcpu *vcpu)			\
{									\
	handler_entry(vcpu);						\
	return 0;							\
}									\
SEC("fexit/" #func)							\
int BPF_PROG(fexit_##point, struct kvm_vcpu *vcpu, int ret)		\
{									\
	handler_exit();							\
	return 0;							\
}									\
SEC("kprobe/" #func)							\
int BPF_KPROBE(kprobe_##point, struct kvm_vcpu *vcpu)			\
{									\
	handler_entry(vcpu);						\
	return KEEP_EVENT;							\
}									\
SEC("kretprobe/" #func)							\
int BPF_KRETPROBE(kretprobe_##point)					\
{									\
	handler_exit();							\
	return KEEP_EVENT;							\
}

/* VMX: EPT misconfigurations are MMIO; the fast bus is tried first. */
HANDLER_PROGRAMS(ept_misconfig, handle_ept_misconfig)
/* SVM: every nested page fault, MMIO among them. */
HANDLER_PROGRAMS(npf_interception, npf_interception)
/* arm64: stage-2 aborts; MMIO is decoded from the syndrome. */
HANDLER_PROGRAMS(guest_abort, kvm_handle_guest_abort)

/* Every thread's exit, in every attach mode (bpf/vm_ident.h). */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(tp_mmio_thread_exit)
{
	__u32 tid = current_tid();
	struct mmio_thread *t = bpf_map_lookup_elem(&mmio_threads, &tid);

	if (t)
		retire_thread(tid, t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
