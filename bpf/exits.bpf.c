// SPDX-License-Identifier: GPL-2.0
/*
 * Exit accounting: every guest exit and every return of KVM_RUN to the VMM,
 * counted per VMM process, vCPU thread and exit reason in per-CPU maps, with
 * the time until the vCPU next enters the guest as a log2 histogram.
 */
#include "kvmwatch.bpf.h"
#include "exits.h"
#include "kvm_records.h"

/* Where the kvm:* records keep their fields (tracefs). */
const volatile struct kvm_tp_fields kvm_fields = {};

/*
 * Keys carry the vCPU thread, and a thread runs on one CPU at a time, so an
 * entry is never updated concurrently: a plain hash is as safe as a per-CPU
 * one here and does not multiply its memory by the number of CPUs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EXITS_MAX_KEYS);
	__type(key, struct exit_key);
	__type(value, struct exit_stats);
} exit_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EXITS_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct vcpu_thread);
} vcpu_threads SEC(".maps");

/* Threads that exited, until user space has read their last state. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EXITS_MAX_THREADS);
	__type(key, struct thread_ident);
	__type(value, struct vcpu_thread);
} vcpu_threads_done SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EXITS_MAX_PORTS);
	__type(key, struct pio_key);
	__type(value, struct pio_stats);
} pio_stats SEC(".maps");

static const struct exit_stats zero_stats;
static const struct pio_stats zero_pio;

static __always_inline bool filtered_out(__u32 pid)
{
	return !vmm_watched(pid);
}

/* The thread's record, made the first time it is seen so that its names
 * survive it. A record of another thread (another start) is one the exit
 * program missed: the tid came back, and nothing of the old thread goes
 * on (its counts are keyed by its own VM already). */
static __always_inline struct vcpu_thread *note_thread(__u32 pid, __u32 tid,
						       __u32 vcpu_id)
{
	struct vcpu_thread *known = bpf_map_lookup_elem(&vcpu_threads, &tid);
	__u64 started = current_thread_start();
	struct vcpu_thread thread = {};
	struct task_struct *task;

	if (known && known->pid == pid && known->thread_start == started) {
		if (vcpu_id != VCPU_ID_UNKNOWN)
			known->vcpu_id = vcpu_id;
		return known;
	}
	thread.pid = pid;
	thread.tid = tid;
	thread.vm_start = current_vm_start();
	thread.thread_start = started;
	thread.vcpu_id = vcpu_id;
	bpf_get_current_comm(thread.comm, sizeof(thread.comm));
	task = (struct task_struct *)bpf_get_current_task();
	BPF_CORE_READ_STR_INTO(&thread.pcomm, task, group_leader, comm);
	bpf_map_update_elem(&vcpu_threads, &tid, &thread, BPF_ANY);
	return bpf_map_lookup_elem(&vcpu_threads, &tid);
}

/*
 * Close the thread's open interval: an exit ends at the next guest entry,
 * or, for an exit KVM hands to the VMM, when KVM_RUN returns.
 */
static __always_inline void finish_pending(struct vcpu_thread *thread)
{
	struct exit_stats *stats;
	struct exit_key key;
	__u64 delta;

	if (!thread->pending_ts)
		return;
	delta = bpf_ktime_get_ns() - thread->pending_ts;
	key.pid = thread->pid;
	key.tid = thread->tid;
	key.vm_start = thread->vm_start;
	key.kind = thread->pending_kind;
	key.reason = thread->pending_reason;
	thread->pending_ts = 0;
	stats = bpf_map_lookup_elem(&exit_stats, &key);
	if (!stats)
		return;
	stats->total_ns += delta;
	stats->timed++;
	hist_add(&stats->hist, delta);
}

static __always_inline void count_exit(__u32 kind, __u32 reason,
				       __u32 vcpu_id)
{
	struct current_ids me = current_ids();
	struct exit_key key = { .pid = me.pid, .tid = me.tid, .kind = kind,
				.reason = reason };
	struct vcpu_thread *thread;
	struct exit_stats *stats;

	if (filtered_out(me.pid))
		return;
	thread = note_thread(me.pid, me.tid, vcpu_id);
	if (!thread)
		return;
	if (kind == EXIT_KIND_USER)
		finish_pending(thread);
	key.vm_start = thread->vm_start;
	stats = lookup_or_init(&exit_stats, &key, &zero_stats);
	if (!stats)
		return;
	stats->count++;
	thread->pending_kind = kind;
	thread->pending_reason = reason;
	thread->pending_ts = bpf_ktime_get_ns();
}

static __always_inline void count_entry(void)
{
	struct current_ids me = current_ids();
	struct vcpu_thread *thread;

	if (filtered_out(me.pid))
		return;
	thread = bpf_map_lookup_elem(&vcpu_threads, &me.tid);
	if (thread && thread->pid == me.pid &&
	    thread->thread_start == current_thread_start())
		finish_pending(thread);
}

SEC("tracepoint/kvm/kvm_exit")
int tp_kvm_exit(void *ctx)
{
	/* x86 names the vCPU (since 5.11); arm64's has no index. */
	__u32 vcpu_id = kvm_fields.exit_vcpu_id.size ?
		(__u32)tp_read(ctx, &kvm_fields.exit_vcpu_id) : VCPU_ID_UNKNOWN;

	count_exit(EXIT_KIND_KERNEL, kvm_exit_reason_of(ctx, &kvm_fields),
		   vcpu_id);
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_userspace_exit")
int tp_kvm_userspace_exit(void *ctx)
{
	int err = (int)tp_read(ctx, &kvm_fields.user_errno);
	__u32 reason = err < 0 ? USER_EXIT_ERRNO_BASE + (__u32)-err :
		(__u32)tp_read(ctx, &kvm_fields.user_reason);

	count_exit(EXIT_KIND_USER, reason, VCPU_ID_UNKNOWN);
	return KEEP_EVENT;
}

/* Port I/O exits by port (x86): what perf kvm stat's ioport event
 * reports. A VM's vCPUs share its keys, so the counts add atomically. */
SEC("tracepoint/kvm/kvm_pio")
int tp_kvm_pio(void *ctx)
{
	__u32 pid = current_pid();
	struct pio_key key = {};
	struct pio_stats *s;

	if (filtered_out(pid))
		return KEEP_EVENT;
	key.pid = pid;
	key.vm_start = current_vm_start();
	key.port = (__u16)tp_read(ctx, &kvm_fields.pio_port);
	/* rw: 1 a write (OUT), 0 a read (IN). */
	key.in = !tp_read(ctx, &kvm_fields.pio_rw);
	s = lookup_or_init(&pio_stats, &key, &zero_pio);
	if (!s)
		return KEEP_EVENT;
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->bytes, tp_read(ctx, &kvm_fields.pio_size) *
			     tp_read(ctx, &kvm_fields.pio_count));
	return KEEP_EVENT;
}

SEC("tracepoint/kvm/kvm_entry")
int tp_kvm_entry(void *ctx)
{
	count_entry();
	return KEEP_EVENT;
}

static __always_inline void note_vcpu_index(__u32 vcpu_id)
{
	struct current_ids me = current_ids();

	if (!filtered_out(me.pid))
		note_thread(me.pid, me.tid, vcpu_id);
}

/*
 * Where kvm:kvm_exit has no vcpu_id (arm64), learn it as KVM_RUN starts,
 * and as a vCPU thread is scheduled in, for vCPUs that were inside KVM_RUN
 * before kvmwatch attached.
 */
SEC("fentry/kvm_arch_vcpu_ioctl_run")
int BPF_PROG(fentry_vcpu_run, struct kvm_vcpu *vcpu)
{
	note_vcpu_index(vcpu->vcpu_id);
	return 0;
}

SEC("kprobe/kvm_arch_vcpu_ioctl_run")
int BPF_KPROBE(kprobe_vcpu_run, struct kvm_vcpu *vcpu)
{
	note_vcpu_index(BPF_CORE_READ(vcpu, vcpu_id));
	return KEEP_EVENT;
}

SEC("fentry/kvm_arch_vcpu_load")
int BPF_PROG(fentry_vcpu_load, struct kvm_vcpu *vcpu, int cpu)
{
	note_vcpu_index(vcpu->vcpu_id);
	return 0;
}

SEC("kprobe/kvm_arch_vcpu_load")
int BPF_KPROBE(kprobe_vcpu_load, struct kvm_vcpu *vcpu)
{
	note_vcpu_index(BPF_CORE_READ(vcpu, vcpu_id));
	return KEEP_EVENT;
}

/* Every thread's exit, in every attach mode: a vCPU thread's record moves
 * to vcpu_threads_done, so that the next thread given its tid starts
 * clean and user space still reads the names of this one. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(tp_exits_thread_exit)
{
	__u32 tid = current_tid();
	struct vcpu_thread *thread = bpf_map_lookup_elem(&vcpu_threads, &tid);
	struct thread_ident id;

	if (!thread)
		return 0;
	id.pid = thread->pid;
	id.tid = tid;
	id.vm_start = thread->vm_start;
	thread->pending_ts = 0;
	bpf_map_update_elem(&vcpu_threads_done, &id, thread, BPF_ANY);
	bpf_map_delete_elem(&vcpu_threads, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
