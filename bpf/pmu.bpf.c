// SPDX-License-Identifier: GPL-2.0
/*
 * PMU world switches: every call of the kernel functions that move guest
 * PMU state in or out (arm64 vCPU load/put and re-syncs, the x86
 * mediated vPMU's load/put, VMX's legacy per-entry switch list, counter
 * reprogramming and PMI delivery), counted and timed per vCPU thread; and
 * every guest access to a PMU MSR (x86, kvm:kvm_msr) or PMU system
 * register (arm64, kvm:kvm_sys_access) that exited to KVM, by register.
 * Aggregated in maps; nothing wakes user space.
 *
 * Every function is watched by fentry/fexit or kprobe/kretprobe; both
 * pairs share op_begin/op_end, which time a call by its thread. The
 * register accesses and the exit count come from tracepoints in every
 * mode.
 */
#include "kvmwatch.bpf.h"
#include "pmu.h"

/* Local flavors: the tracepoints are of one arch each, and Debian keeps
 * the x86 ones in the kvm module's BTF. */
struct trace_event_raw_kvm_msr___kw {
	unsigned int write;
	u32 ecx;
	u64 data;
	u8 exception;
} __attribute__((preserve_access_index));

struct trace_event_raw_kvm_sys_access___kw {
	bool is_write;
	u8 Op0;
	u8 Op1;
	u8 CRn;
	u8 CRm;
	u8 Op2;
} __attribute__((preserve_access_index));

/* kvm_arch_vcpu_load is watched: restore_guest calls outside it are
 * re-syncs, not vCPU loads. */
const volatile bool split_resync = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PMU_MAX_THREADS);
	__type(key, struct pmu_vcpu_key);
	__type(value, struct pmu_vcpu_stats);
} pmu_vcpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PMU_MAX_OP_ENTRIES);
	__type(key, struct pmu_op_key);
	__type(value, struct pmu_op_stats);
} pmu_ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PMU_MAX_REGS);
	__type(key, struct pmu_reg_key);
	__type(value, struct pmu_reg_stats);
} pmu_regs SEC(".maps");

/* Open calls per thread; dropped as the thread exits, and LRU so that a
 * missed exit ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PMU_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct pmu_open);
} pmu_opens SEC(".maps");

static const struct pmu_vcpu_stats zero_vcpu = {
	.vcpu_id = PMU_VCPU_ID_UNKNOWN,
	.vpmu = PMU_VPMU_UNKNOWN,
};
static const struct pmu_op_stats zero_op;
static const struct pmu_reg_stats zero_reg;
static const struct pmu_open zero_open;

/* The current vCPU's figures, and its key into *key. */
static __always_inline struct pmu_vcpu_stats *vcpu_of(struct pmu_vcpu_key *key)
{
	struct current_ids me = current_ids();

	key->pid = me.pid;
	key->tid = me.tid;
	if (!vmm_watched(key->pid))
		return NULL;
	key->vm_start = current_vm_start();
	return lookup_or_init(&pmu_vcpus, key, &zero_vcpu);
}

static __always_inline struct pmu_vcpu_stats *this_vcpu(void)
{
	struct pmu_vcpu_key key;

	return vcpu_of(&key);
}

static __always_inline void learn_vcpu_id(struct pmu_vcpu_stats *s,
					  struct kvm_vcpu *vcpu)
{
	if (vcpu)
		s->vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
}

/* The current thread's calls of op; NULL for threads not watched. */
static __always_inline struct pmu_op_stats *op_of(enum pmu_op op,
						  struct kvm_vcpu *vcpu)
{
	struct current_ids me = current_ids();
	struct pmu_op_key key = { .pid = me.pid, .tid = me.tid, .op = op };
	struct pmu_vcpu_stats *s;
	struct pmu_op_stats *o;

	if (!vmm_watched(me.pid))
		return NULL;
	key.vm_start = current_vm_start();
	o = bpf_map_lookup_elem(&pmu_ops, &key);
	if (o)
		return o;
	/* The thread's first call of op: its vCPU is listed, by index. */
	s = this_vcpu();
	if (s)
		learn_vcpu_id(s, vcpu);
	bpf_map_update_elem(&pmu_ops, &key, &zero_op, BPF_NOEXIST);
	return bpf_map_lookup_elem(&pmu_ops, &key);
}

static __always_inline void op_begin(enum pmu_op op, struct kvm_vcpu *vcpu)
{
	struct pmu_op_stats *o = op_of(op, vcpu);
	__u32 tid = current_tid();
	struct pmu_open *open;

	if (!o)
		return;
	o->count++;
	open = lookup_or_init(&pmu_opens, &tid, &zero_open);
	if (open)
		open->start[op] = bpf_ktime_get_ns();
}

static __always_inline void op_end(enum pmu_op op)
{
	struct current_ids me = current_ids();
	struct pmu_op_key key = { .pid = me.pid, .tid = me.tid, .op = op };
	struct pmu_op_stats *o;
	struct pmu_open *open;
	__u64 took;

	open = bpf_map_lookup_elem(&pmu_opens, &key.tid);
	if (!open || !open->start[op])
		return;
	took = bpf_ktime_get_ns() - open->start[op];
	open->start[op] = 0;
	key.vm_start = current_vm_start();
	o = bpf_map_lookup_elem(&pmu_ops, &key);
	if (!o)
		return;
	o->timed++;
	o->total_ns += took;
	if (took > o->max_ns)
		o->max_ns = took;
	hist_add(&o->hist, took);
}

/*
 * One point, four programs: fentry_NAME/fexit_NAME and
 * kprobe_NAME/kretprobe_NAME on FUNC(struct kvm_vcpu *vcpu).
 */
#define VCPU_OP_PROGS(name, func, op)					\
SEC("fentry/" #func)							\
int BPF_PROG(fentry_##name, struct kvm_vcpu *vcpu)			\
{									\
	op_begin(op, vcpu);						\
	return 0;							\
}									\
SEC("fexit/" #func)							\
int BPF_PROG(fexit_##name)						\
{									\
	op_end(op);							\
	return 0;							\
}									\
SEC("kprobe/" #func)							\
int BPF_KPROBE(kprobe_##name, struct kvm_vcpu *vcpu)			\
{									\
	op_begin(op, vcpu);						\
	return KEEP_EVENT;							\
}									\
SEC("kretprobe/" #func)							\
int BPF_KRETPROBE(kretprobe_##name)					\
{									\
	op_end(op);							\
	return KEEP_EVENT;							\
}

/*
 * kvm_vcpu_pmu_restore_guest runs at every vCPU load, and again whenever
 * the guest's PMU writes change which events count at EL0: only the
 * first is a world switch. kvm_arch_vcpu_load calls it unconditionally,
 * so the first call after the load began is the load's; entry alone
 * tells it, without a return probe on every vCPU load.
 */
static __always_inline void restore_guest_begin(struct kvm_vcpu *vcpu)
{
	__u32 tid = current_tid();
	struct pmu_open *open = lookup_or_init(&pmu_opens, &tid, &zero_open);
	__u32 op = PMU_OP_RESTORE_GUEST;

	if (!open)
		return;
	if (split_resync && !open->in_vcpu_load)
		op = PMU_OP_RESYNC_GUEST;
	open->in_vcpu_load = 0;
	open->guest_op = op;
	if (op == PMU_OP_RESTORE_GUEST)
		op_begin(PMU_OP_RESTORE_GUEST, vcpu);
	else
		op_begin(PMU_OP_RESYNC_GUEST, vcpu);
}

static __always_inline void restore_guest_end(void)
{
	__u32 tid = current_tid();
	struct pmu_open *open = bpf_map_lookup_elem(&pmu_opens, &tid);

	if (!open)
		return;
	if (open->guest_op == PMU_OP_RESYNC_GUEST)
		op_end(PMU_OP_RESYNC_GUEST);
	else
		op_end(PMU_OP_RESTORE_GUEST);
}

SEC("fentry/kvm_vcpu_pmu_restore_guest")
int BPF_PROG(fentry_pmu_restore_guest, struct kvm_vcpu *vcpu)
{
	restore_guest_begin(vcpu);
	return 0;
}

SEC("fexit/kvm_vcpu_pmu_restore_guest")
int BPF_PROG(fexit_pmu_restore_guest)
{
	restore_guest_end();
	return 0;
}

SEC("kprobe/kvm_vcpu_pmu_restore_guest")
int BPF_KPROBE(kprobe_pmu_restore_guest, struct kvm_vcpu *vcpu)
{
	restore_guest_begin(vcpu);
	return KEEP_EVENT;
}

SEC("kretprobe/kvm_vcpu_pmu_restore_guest")
int BPF_KRETPROBE(kretprobe_pmu_restore_guest)
{
	restore_guest_end();
	return KEEP_EVENT;
}

VCPU_OP_PROGS(pmu_restore_host, kvm_vcpu_pmu_restore_host,
	      PMU_OP_RESTORE_HOST)
VCPU_OP_PROGS(mediated_pmu_load, kvm_mediated_pmu_load, PMU_OP_MEDIATED_LOAD)
VCPU_OP_PROGS(mediated_pmu_put, kvm_mediated_pmu_put, PMU_OP_MEDIATED_PUT)
VCPU_OP_PROGS(load_guest_pmcs, kvm_pmu_load_guest_pmcs, PMU_OP_LOAD_PMCS)
VCPU_OP_PROGS(put_guest_pmcs, kvm_pmu_put_guest_pmcs, PMU_OP_PUT_PMCS)
VCPU_OP_PROGS(pmu_handle_event, kvm_pmu_handle_event, PMU_OP_HANDLE_EVENT)
VCPU_OP_PROGS(pmu_deliver_pmi, kvm_pmu_deliver_pmi, PMU_OP_DELIVER_PMI)

/* perf_guest_get_msrs(int *nr, void *data): no vCPU argument. */
SEC("fentry/perf_guest_get_msrs")
int BPF_PROG(fentry_guest_get_msrs)
{
	op_begin(PMU_OP_GUEST_MSRS, NULL);
	return 0;
}

SEC("fexit/perf_guest_get_msrs")
int BPF_PROG(fexit_guest_get_msrs)
{
	op_end(PMU_OP_GUEST_MSRS);
	return 0;
}

SEC("kprobe/perf_guest_get_msrs")
int BPF_KPROBE(kprobe_guest_get_msrs)
{
	op_begin(PMU_OP_GUEST_MSRS, NULL);
	return KEEP_EVENT;
}

SEC("kretprobe/perf_guest_get_msrs")
int BPF_KRETPROBE(kretprobe_guest_get_msrs)
{
	op_end(PMU_OP_GUEST_MSRS);
	return KEEP_EVENT;
}

static __always_inline void count_reg(__u32 reg, bool write, bool fault)
{
	struct pmu_vcpu_key vcpu;
	struct pmu_vcpu_stats *s = vcpu_of(&vcpu);
	struct pmu_reg_key key = { .reg = reg };
	struct pmu_reg_stats *r;

	if (!s)
		return;
	key.pid = vcpu.pid;
	key.tid = vcpu.tid;
	key.vm_start = vcpu.vm_start;
	if (write)
		s->reg_writes++;
	else
		s->reg_reads++;
	if (fault)
		s->reg_faults++;
	r = lookup_or_init(&pmu_regs, &key, &zero_reg);
	if (!r)
		return;
	if (write) {
		r->writes++;
		r->write_faults += fault;
	} else {
		r->reads++;
		r->read_faults += fault;
	}
}

/* Every guest RDMSR/WRMSR KVM emulates; only the PMU's are kept. */
SEC("tracepoint/kvm/kvm_msr")
int tp_kvm_msr(struct trace_event_raw_kvm_msr___kw *ctx)
{
	__u32 msr = BPF_CORE_READ(ctx, ecx);

	if (pmu_msr_kind(msr) == PMU_REG_NONE)
		return KEEP_EVENT;
	count_reg(msr, BPF_CORE_READ(ctx, write),
		  BPF_CORE_READ(ctx, exception));
	return KEEP_EVENT;
}

/* Every trapped system register access arm64 KVM emulates. It fires
 * before KVM checks the register is visible to the guest, so an access
 * that ends in an undefined-instruction exception is not told apart. */
SEC("tracepoint/kvm/kvm_sys_access")
int tp_sys_access(struct trace_event_raw_kvm_sys_access___kw *ctx)
{
	__u32 op0 = BPF_CORE_READ(ctx, Op0), op1 = BPF_CORE_READ(ctx, Op1);
	__u32 crn = BPF_CORE_READ(ctx, CRn), crm = BPF_CORE_READ(ctx, CRm);
	__u32 op2 = BPF_CORE_READ(ctx, Op2);

	if (pmu_sysreg_kind(op0, op1, crn, crm, op2) == PMU_REG_NONE)
		return KEEP_EVENT;
	count_reg(PMU_SYSREG(op0, op1, crn, crm, op2),
		  BPF_CORE_READ(ctx, is_write), false);
	return KEEP_EVENT;
}

/* The denominator of switches per exit and PMU exits per exit. */
SEC("tracepoint/kvm/kvm_exit")
int tp_pmu_exit(void *ctx)
{
	struct pmu_vcpu_stats *s = this_vcpu();

	if (s)
		s->exits++;
	return KEEP_EVENT;
}

/* Which vCPU a thread runs and whether it has a vPMU: the tracepoints
 * do not say. */
static __always_inline void vcpu_loaded(struct kvm_vcpu *vcpu)
{
	struct pmu_vcpu_stats *s = this_vcpu();

	if (!s || !vcpu)
		return;
	learn_vcpu_id(s, vcpu);
#if defined(__TARGET_ARCH_x86)
	s->pmu_version = BPF_CORE_READ(vcpu, arch.pmu.version);
	s->gp_counters = BPF_CORE_READ(vcpu, arch.pmu.nr_arch_gp_counters);
	s->vpmu = s->pmu_version != 0;
#elif defined(__TARGET_ARCH_arm64)
	s->vpmu = BPF_CORE_READ(vcpu, arch.pmu.created);
#endif
}

static __always_inline void vcpu_load_begin(struct kvm_vcpu *vcpu)
{
	__u32 tid = current_tid();
	struct pmu_open *open;

	vcpu_loaded(vcpu);
	open = lookup_or_init(&pmu_opens, &tid, &zero_open);
	if (open)
		open->in_vcpu_load = 1;
}

SEC("fentry/kvm_arch_vcpu_load")
int BPF_PROG(fentry_pmu_vcpu_load, struct kvm_vcpu *vcpu, int cpu)
{
	vcpu_load_begin(vcpu);
	return 0;
}

SEC("kprobe/kvm_arch_vcpu_load")
int BPF_KPROBE(kprobe_pmu_vcpu_load, struct kvm_vcpu *vcpu)
{
	vcpu_load_begin(vcpu);
	return KEEP_EVENT;
}

/* Every thread's exit, in every attach mode: a later thread given its tid
 * inherits no open call (bpf/vm_ident.h). */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(tp_pmu_thread_exit)
{
	__u32 tid = current_tid();

	bpf_map_delete_elem(&pmu_opens, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
