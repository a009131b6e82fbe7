// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 LAPIC timer: every run of apic_timer_fn (the software hrtimer
 * that emulates it), how late it fired, whether it re-armed the hrtimer at
 * an expiry already in the past, and the catch-up chains that follow - the
 * signature of the periodic-timer hard lockup. Aggregated per VM and vCPU
 * in maps; nothing wakes user space.
 *
 * The same figures come from fentry/fexit, kprobe/kretprobe or the raw
 * timer tracepoints (hrtimer_expire_entry/exit filtered on apic_timer_fn's
 * address); every mode reaches struct kvm_lapic from the hrtimer with
 * container_of and CO-RE reads.
 */
#include "kvmwatch.bpf.h"
#include "timer.h"

#ifndef __TARGET_ARCH_x86
/*
 * The LAPIC is x86 only: arm64's vmlinux.h lacks these types. The probe
 * points are not applicable there and nothing of this object loads, but
 * it has to build, with the same maps, for the same user-space code.
 */
struct kvm_timer {
	struct hrtimer timer;
	s64 period;
	ktime_t target_expiration;
	u32 timer_mode;
	bool hv_timer_in_use;
} __attribute__((preserve_access_index));

struct kvm_lapic {
	struct kvm_timer lapic_timer;
	struct kvm_vcpu *vcpu;
} __attribute__((preserve_access_index));

struct trace_event_raw_kvm_hv_timer_state {
	unsigned int hv_timer_in_use;
} __attribute__((preserve_access_index));
#endif

/* apic_timer_fn's address from /proc/kallsyms, for the tracepoints. */
const volatile __u64 apic_timer_fn_addr = 0;

#define HRTIMER_RESTART_VALUE 1	/* enum hrtimer_restart */

/* Updated from hardirq context: preallocated, never allocated there. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TIMER_MAX_VCPUS);
	__type(key, struct timer_key);
	__type(value, struct timer_stats);
} timer_stats SEC(".maps");

/* Keyed by the hrtimer's address; LRU so timers of dead VMs age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TIMER_MAX_TIMERS);
	__type(key, __u64);
	__type(value, struct timer_state);
} timer_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TIMER_MAX_THREADS);
	__type(key, struct timer_thread_key);
	__type(value, struct timer_thread_stats);
} timer_threads SEC(".maps");

/* What a return probe needs from its entry probe on this CPU: hrtimer
 * callbacks do not nest on one CPU. */
struct cpu_slot {
	__u64 hrtimer;		/* apic_timer_fn running here, or 0 */
	__u64 advance_apic;	/* kprobe mode of advance_periodic */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_slot);
} cpu_slots SEC(".maps");

static const struct timer_stats zero_stats;
static const struct timer_state zero_state;
static const struct timer_thread_stats zero_thread;

static __always_inline struct cpu_slot *this_cpu_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_slots, &zero);
}

/* container_of(container_of(hrtimer, struct kvm_timer, timer),
 *              struct kvm_lapic, lapic_timer) */
static __always_inline struct kvm_lapic *lapic_of(__u64 hrtimer)
{
	return (struct kvm_lapic *)(hrtimer -
		bpf_core_field_offset(struct kvm_lapic, lapic_timer) -
		bpf_core_field_offset(struct kvm_timer, timer));
}

static __always_inline __u64 hrtimer_of(struct kvm_lapic *apic)
{
	return (__u64)apic + bpf_core_field_offset(struct kvm_lapic, lapic_timer) +
		bpf_core_field_offset(struct kvm_timer, timer);
}

static __always_inline __u64 hrtimer_expires(__u64 hrtimer)
{
	struct hrtimer *timer = (struct hrtimer *)hrtimer;

	return BPF_CORE_READ(timer, node.expires);
}

/* The start of the process of the thread with pid vpid (a struct pid,
 * PIDTYPE_PID): its task is the first on the pid's task list. */
static __always_inline __u64 vm_start_of(struct pid *vpid)
{
	struct hlist_node *first;
	struct task_struct *task;

	if (!vpid)
		return 0;
	first = BPF_CORE_READ(vpid, tasks[0].first);
	if (!first)
		return 0;
	task = (void *)first - bpf_core_field_offset(struct task_struct,
						     pid_links);
	return BPF_CORE_READ(task, group_leader, start_boottime);
}

static __always_inline bool vcpu_key(struct kvm_lapic *apic,
				     struct timer_key *key, __u32 *tid)
{
	struct kvm_vcpu *vcpu = BPF_CORE_READ(apic, vcpu);
	struct pid *vpid;

	if (!vcpu)
		return false;
	key->pid = BPF_CORE_READ(vcpu, kvm, userspace_pid);
	key->vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
	/* vcpu->pid: the thread that last ran KVM_RUN (NULL before). */
	vpid = BPF_CORE_READ(vcpu, pid);
	*tid = BPF_CORE_READ(vpid, numbers[0].nr);
	key->vm_start = vm_start_of(vpid);
	return vmm_watched(key->pid);
}

static __always_inline void callback_entry(__u64 hrtimer)
{
	struct kvm_lapic *apic = lapic_of(hrtimer);
	struct timer_state *state;
	struct timer_stats *stats;
	struct timer_key key = {};
	__u32 tid = 0, mode;
	__s64 period;
	bool hv;

	if (!vcpu_key(apic, &key, &tid))
		return;
	state = lookup_or_init(&timer_states, &hrtimer, &zero_state);
	if (!state)
		return;
	/* The vCPU thread is gone (a VM being torn down): still this VM. */
	if (!key.vm_start && state->key.pid == key.pid &&
	    state->key.vcpu_id == key.vcpu_id)
		key.vm_start = state->key.vm_start;
	/* An hrtimer at the address of another VM's: nothing carries over. */
	if (state->key.pid != key.pid || state->key.vcpu_id != key.vcpu_id ||
	    state->key.vm_start != key.vm_start)
		__builtin_memcpy(state, &zero_state, sizeof(*state));
	stats = lookup_or_init(&timer_stats, &key, &zero_stats);
	if (!stats)
		return;
	if (tid)
		stats->tid = tid;
	state->key = key;
	period = BPF_CORE_READ(apic, lapic_timer.period);
	mode = (BPF_CORE_READ(apic, lapic_timer.timer_mode) >> 17) & 3;
	hv = BPF_CORE_READ(apic, lapic_timer.hv_timer_in_use);
	timer_on_entry(state, stats, bpf_ktime_get_ns(), hrtimer_expires(hrtimer),
		       period, mode, hv);
}

static __always_inline void callback_exit(__u64 hrtimer,
					  enum timer_restart restart)
{
	struct timer_state *state = bpf_map_lookup_elem(&timer_states, &hrtimer);
	struct timer_stats *stats;

	if (!state || !state->in_callback)
		return;
	stats = bpf_map_lookup_elem(&timer_stats, &state->key);
	if (!stats)
		return;
	timer_on_exit(state, stats, bpf_ktime_get_ns(),
		      hrtimer_expires(hrtimer), restart);
}

SEC("fentry/apic_timer_fn")
int BPF_PROG(fentry_apic_timer_fn, struct hrtimer *data)
{
	callback_entry((__u64)data);
	return 0;
}

SEC("fexit/apic_timer_fn")
int BPF_PROG(fexit_apic_timer_fn, struct hrtimer *data, int ret)
{
	callback_exit((__u64)data, ret == HRTIMER_RESTART_VALUE ?
		      TIMER_RESTART : TIMER_NORESTART);
	return 0;
}

SEC("kprobe/apic_timer_fn")
int BPF_KPROBE(kprobe_apic_timer_fn, struct hrtimer *data)
{
	struct cpu_slot *slot = this_cpu_slot();

	if (slot)
		slot->hrtimer = (__u64)data;
	callback_entry((__u64)data);
	return KEEP_EVENT;
}

SEC("kretprobe/apic_timer_fn")
int BPF_KRETPROBE(kretprobe_apic_timer_fn, int ret)
{
	struct cpu_slot *slot = this_cpu_slot();

	if (!slot || !slot->hrtimer)
		return KEEP_EVENT;
	callback_exit(slot->hrtimer, ret == HRTIMER_RESTART_VALUE ?
		      TIMER_RESTART : TIMER_NORESTART);
	slot->hrtimer = 0;
	return KEEP_EVENT;
}

/*
 * The tracepoint forms are raw tracepoints: they run in hardirq, and a
 * classic tracepoint program is skipped, uncounted, whenever another
 * tracing program or a bpf() map syscall holds this CPU's bpf_prog_active
 * (6.1 under load lost 11% of runs that way).
 */
SEC("raw_tp/hrtimer_expire_entry")
int BPF_PROG(tp_apic_timer_fn, struct hrtimer *timer)
{
	struct cpu_slot *slot;

	if ((__u64)BPF_CORE_READ(timer, function) != apic_timer_fn_addr)
		return 0;
	slot = this_cpu_slot();
	if (slot)
		slot->hrtimer = (__u64)timer;
	callback_entry((__u64)timer);
	return 0;
}

/* Only with tp_apic_timer_fn: fires for every hrtimer on the system. */
SEC("raw_tp/hrtimer_expire_exit")
int BPF_PROG(tp_hrtimer_expire_exit, struct hrtimer *timer)
{
	struct cpu_slot *slot = this_cpu_slot();

	if (!slot || !slot->hrtimer || slot->hrtimer != (__u64)timer)
		return 0;
	/* The callback has set the new expiry; __run_hrtimer has not yet
	 * re-queued it, but the value is final. */
	callback_exit((__u64)timer, TIMER_RESTART_UNKNOWN);
	slot->hrtimer = 0;
	return 0;
}

/* advance_periodic_target_expiration(): the fix's decision point. */
static __always_inline void advance_entry(struct kvm_lapic *apic)
{
	__u64 hrtimer = hrtimer_of(apic);
	struct timer_state *state = bpf_map_lookup_elem(&timer_states, &hrtimer);

	if (!state)
		return;
	state->advance_target = BPF_CORE_READ(apic, lapic_timer.target_expiration);
	state->advance_period = BPF_CORE_READ(apic, lapic_timer.period);
}

static __always_inline void advance_exit(struct kvm_lapic *apic)
{
	__u64 hrtimer = hrtimer_of(apic);
	struct timer_state *state = bpf_map_lookup_elem(&timer_states, &hrtimer);
	struct timer_stats *stats;

	if (!state || !state->advance_target)
		return;
	stats = bpf_map_lookup_elem(&timer_stats, &state->key);
	if (stats)
		timer_on_advance(stats, bpf_ktime_get_ns(), state->advance_target,
				 state->advance_period,
				 BPF_CORE_READ(apic, lapic_timer.target_expiration));
	state->advance_target = 0;
}

SEC("fentry/advance_periodic_target_expiration")
int BPF_PROG(fentry_advance_periodic, struct kvm_lapic *apic)
{
	advance_entry(apic);
	return 0;
}

SEC("fexit/advance_periodic_target_expiration")
int BPF_PROG(fexit_advance_periodic, struct kvm_lapic *apic)
{
	advance_exit(apic);
	return 0;
}

SEC("kprobe/advance_periodic_target_expiration")
int BPF_KPROBE(kprobe_advance_periodic, struct kvm_lapic *apic)
{
	struct cpu_slot *slot = this_cpu_slot();

	if (slot)
		slot->advance_apic = (__u64)apic;
	advance_entry(apic);
	return KEEP_EVENT;
}

SEC("kretprobe/advance_periodic_target_expiration")
int BPF_KRETPROBE(kretprobe_advance_periodic)
{
	struct cpu_slot *slot = this_cpu_slot();

	if (!slot || !slot->advance_apic)
		return KEEP_EVENT;
	advance_exit((struct kvm_lapic *)slot->advance_apic);
	slot->advance_apic = 0;
	return KEEP_EVENT;
}

/* The rest runs in the vCPU thread: keyed by it. */
static __always_inline struct timer_thread_stats *thread_stats(void)
{
	struct timer_thread_key key = { .pid = current_pid(),
					.tid = current_tid() };

	if (!vmm_watched(key.pid))
		return NULL;
	key.vm_start = current_vm_start();
	return lookup_or_init(&timer_threads, &key, &zero_thread);
}

SEC("raw_tp/hrtimer_start")
int BPF_PROG(tp_hrtimer_start, struct hrtimer *timer)
{
	struct timer_thread_stats *t;

	if ((__u64)BPF_CORE_READ(timer, function) != apic_timer_fn_addr)
		return 0;
	t = thread_stats();
	if (t)
		t->arms++;
	return 0;
}

SEC("fentry/start_sw_timer")
int BPF_PROG(fentry_start_sw_timer)
{
	struct timer_thread_stats *t = thread_stats();

	if (t)
		t->sw_starts++;
	return 0;
}

SEC("kprobe/start_sw_timer")
int BPF_KPROBE(kprobe_start_sw_timer)
{
	struct timer_thread_stats *t = thread_stats();

	if (t)
		t->sw_starts++;
	return KEEP_EVENT;
}

static __always_inline void count_hv_start(bool ok)
{
	struct timer_thread_stats *t = thread_stats();

	if (!t)
		return;
	if (ok)
		t->hv_starts++;
	else
		t->hv_refused++;
}

SEC("fexit/start_hv_timer")
int BPF_PROG(fexit_start_hv_timer, struct kvm_lapic *apic, bool ret)
{
	count_hv_start(ret);
	return 0;
}

SEC("kretprobe/start_hv_timer")
int BPF_KRETPROBE(kretprobe_start_hv_timer, bool ret)
{
	count_hv_start(ret);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_hv_timer_state")
int tp_start_hv_timer(struct trace_event_raw_kvm_hv_timer_state *ctx)
{
	struct timer_thread_stats *t = thread_stats();

	if (!t)
		return KEEP_EVENT;
	if (BPF_CORE_READ(ctx, hv_timer_in_use))
		t->hv_state_on++;
	else
		t->hv_state_off++;
	return KEEP_EVENT;
}

SEC("fentry/kvm_lapic_switch_to_sw_timer")
int BPF_PROG(fentry_switch_to_sw_timer)
{
	struct timer_thread_stats *t = thread_stats();

	if (t)
		t->to_sw++;
	return 0;
}

SEC("kprobe/kvm_lapic_switch_to_sw_timer")
int BPF_KPROBE(kprobe_switch_to_sw_timer)
{
	struct timer_thread_stats *t = thread_stats();

	if (t)
		t->to_sw++;
	return KEEP_EVENT;
}

char LICENSE[] SEC("license") = "GPL";
