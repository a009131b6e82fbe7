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
 * next system call (teardown_vmm.bpf.h).
 */
#include "kvmwatch.bpf.h"
#include "teardown_runs.h"

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

#define WALK_LEAF		1	/* KVM_PGTABLE_WALK_LEAF */
#define WALK_TABLE_POST		4	/* KVM_PGTABLE_WALK_TABLE_POST */
#define PTE_VALID		1ull


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

static const struct td_record zero_record;

/* Since 6.14 the root CFS run queue counts its delayed-dequeue tasks
 * (slept with negative lag, left in the tree) in h_nr_queued and not in
 * h_nr_runnable; 6.12's stable series and 6.13 keep h_nr_delayed. */
struct cfs_rq___runnable {
	unsigned int h_nr_queued;
	unsigned int h_nr_runnable;
} __attribute__((preserve_access_index));

struct cfs_rq___delayed {
	unsigned int h_nr_delayed;
} __attribute__((preserve_access_index));

/*
 * The run queue of a task's CPU, through its CFS run queue (every task,
 * the idle one too, has one on its CPU; not through the per-CPU
 * runqueues symbol, which kallsyms lacks without KALLSYMS_ALL). Without
 * group scheduling there is no such link: NULL.
 */
static __always_inline struct rq *rq_of_task(struct task_struct *task)
{
	struct cfs_rq *cfs;

	if (!bpf_core_field_exists(task->se.cfs_rq) ||
	    !bpf_core_field_exists(struct cfs_rq, rq))
		return NULL;
	cfs = BPF_CORE_READ(task, se.cfs_rq);
	if (!cfs)
		return NULL;
	return BPF_CORE_READ(cfs, rq);
}

/*
 * Tasks that want rq's CPU besides the one on it: nr_running less the
 * running task and less the delayed-dequeue tasks, which count in
 * nr_running but sleep (6.12's EEVDF): none of those wants the CPU.
 */
static __always_inline __u32 waiting_on(struct rq *rq)
{
	struct cfs_rq___runnable *q = (void *)&rq->cfs;
	struct cfs_rq___delayed *d = (void *)&rq->cfs;
	__u32 n = BPF_CORE_READ(rq, nr_running), delayed = 0;

	if (bpf_core_field_exists(q->h_nr_runnable)) {
		__u32 queued = BPF_CORE_READ(q, h_nr_queued);
		__u32 runnable = BPF_CORE_READ(q, h_nr_runnable);

		delayed = queued > runnable ? queued - runnable : 0;
	} else if (bpf_core_field_exists(d->h_nr_delayed)) {
		delayed = BPF_CORE_READ(d, h_nr_delayed);
	}
	return n > delayed + 1 ? n - delayed - 1 : 0;
}

/* Tasks waiting on the current CPU as a teardown thread's run begins
 * there (0 when unknown: such a task is seen when it gets the CPU). */
static __always_inline __u32 queued_here(void)
{
	struct rq *rq = rq_of_task((void *)bpf_get_current_task());

	return rq ? waiting_on(rq) : 0;
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
 * CPU becomes its first stretch, from the last switch seen here. Returns
 * the thread's open record, or NULL.
 */
static __always_inline struct td_record *phase_enter(__u32 p,
						    struct kvm *kvm)
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
		return r;
	}
	if (!td_phase_opens(p))
		return NULL;
	pid = kvm ? BPF_CORE_READ(kvm, userspace_pid) : current_pid();
	if (!vmm_watched(pid))
		return NULL;
	c = cpu_slot(cpu);
	if (!c)
		return NULL;
	/* The last one ended and this one follows in the same run. */
	if (r && r->on_cpu) {
		struct td_next nobody = {};

		r->end_how = TD_END_NEXT;
		if (td_stretch_close(r, now, -1, &nobody))
			record_done(r);
	}
	id = __sync_fetch_and_add(&globals.next_id, 1) + 1;
	if (bpf_map_update_elem(&td_records, &id, &zero_record, BPF_NOEXIST)) {
		__sync_fetch_and_add(&globals.dropped, 1);
		return NULL;
	}
	r = record_of(id);
	if (!r)
		return NULL;
	nt.id = id;
	if (bpf_map_update_elem(&td_threads, &tid, &nt, BPF_ANY)) {
		bpf_map_delete_elem(&td_records, &id);
		__sync_fetch_and_add(&globals.dropped, 1);
		return NULL;
	}
	__sync_fetch_and_add(&globals.active, 1);
	r->id = id;
	r->pid = pid;
	r->tid = tid;
	r->kvm = (__u64)kvm;
	if (pid == current_pid())
		r->vm_start = current_vm_start();
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
	return r;
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
 * the teardown running on this CPU. old: the entry's value before the
 * walk freed it. */
static __always_inline void count_walk(__u64 old, __u32 visit)
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
		if (old & PTE_VALID)
			r->walker_mapped++;
	} else if (visit & WALK_TABLE_POST) {
		r->walker_tables++;
	}
}

/* Since 6.2 the walker takes a context; fentry only attaches there (arm64
 * 6.1 has no trampolines). */
SEC("fentry/stage2_free_walker")
int BPF_PROG(fentry_stage2_free_walker,
	     struct kvm_pgtable_visit_ctx___kw *vctx, __u32 visit)
{
	count_walk(BPF_CORE_READ(vctx, old), visit);
	return 0;
}

/* Before 6.2: (addr, end, level, ptep, flag, arg). */
SEC("kprobe/stage2_free_walker")
int BPF_KPROBE(kprobe_stage2_free_walker, __u64 a0, __u64 a1, __u64 a2,
	       __u64 *ptep, __u32 flag)
{
	struct kvm_pgtable_visit_ctx___kw *vctx = (void *)a0;
	__u64 old = 0;

	if (bpf_core_type_exists(struct kvm_pgtable_visit_ctx___kw)) {
		count_walk(BPF_CORE_READ(vctx, old), (__u32)a1);
		return KEEP_EVENT;
	}
	bpf_probe_read_kernel(&old, sizeof(old), ptep);
	count_walk(old, flag);
	return KEEP_EVENT;
}

#include "teardown_vmm.bpf.h"

/* Before 5.16 (no THREAD_INFO_IN_TASK cpu): task_struct.cpu. */
struct task_struct___cpu {
	unsigned int cpu;
} __attribute__((preserve_access_index));

/* Before 5.14 the task's state was task_struct.state. */
struct task_struct___state {
	long state;
} __attribute__((preserve_access_index));

#define TASK_REPORT_BITS	0x7f

/*
 * prev's state as sched_switch's classic record gives it
 * (__trace_sched_switch_state): TD_STATE_PREEMPTED when preempted, else
 * the highest TASK_REPORT bit of its state and exit state (0: running).
 * Read from the task, as the raw tracepoint of kernels before 5.18 has no
 * prev_state argument.
 */
static __always_inline long switch_state(bool preempt, struct task_struct *p)
{
	struct task_struct___state *old = (void *)p;
	__u32 state;
	int bit;

	if (preempt)
		return TD_STATE_PREEMPTED;
	if (bpf_core_field_exists(p->__state))
		state = BPF_CORE_READ(p, __state);
	else
		state = (__u32)BPF_CORE_READ(old, state);
	state = (state | (__u32)BPF_CORE_READ(p, exit_state)) &
		TASK_REPORT_BITS;
	for (bit = 6; bit >= 0; bit--)
		if (state & (1u << bit))
			return 1l << bit;
	return 0;
}

/*
 * The scheduler's events are raw tracepoints: a classic tracepoint
 * program is skipped, uncounted, while the CPU's bpf_prog_active is held
 * (another tracing program, or a bpf() map call a preemptible kernel
 * switched out), and a lost switch puts a run's start in the past.
 */
SEC("raw_tp/sched_switch")
int BPF_PROG(tp_sched_switch, bool preempt, struct task_struct *prev_task,
	     struct task_struct *next_task)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct td_cpu *c = cpu_slot(cpu);
	__u32 prev = BPF_CORE_READ(prev_task, pid);
	__u32 next = BPF_CORE_READ(next_task, pid);
	long state = switch_state(preempt, prev_task);
	__u64 now = bpf_ktime_get_ns();
	struct td_thread *t;
	struct td_record *r;

	if (!c)
		return 0;
	/* The common case: no teardown anywhere, nothing on this CPU. */
	if (!c->td_tid && !globals.active)
		goto out;
	if (c->td_tid) {
		r = record_of(c->td_id);
		if (r && c->td_tid == prev) {
			struct td_next n = { .pid = next };

			n.how = td_waiter(c, next, r->cur_start, &n.wait_from);
			BPF_CORE_READ_STR_INTO(&n.comm, next_task, comm);
			if (td_stretch_close(r, now, state, &n))
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

		BPF_CORE_READ_STR_INTO(&comm, prev_task, comm);
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
		BPF_CORE_READ_STR_INTO(&c->last_prev_comm, prev_task, comm);
	return 0;
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

/* The CPU a task is on or goes to (task_cpu()). */
static __always_inline __u32 task_cpu_of(struct task_struct *p)
{
	struct task_struct___cpu *old = (void *)p;

	if (bpf_core_field_exists(old->cpu))
		return BPF_CORE_READ(old, cpu);
	return BPF_CORE_READ(p, thread_info.cpu);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(tp_sched_wakeup, struct task_struct *p)
{
	arrival(task_cpu_of(p), BPF_CORE_READ(p, pid), p->comm, true,
		TD_WAIT_WOKEN);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(tp_sched_wakeup_new, struct task_struct *p)
{
	arrival(task_cpu_of(p), BPF_CORE_READ(p, pid), p->comm, true,
		TD_WAIT_WOKEN);
	return 0;
}

/*
 * Task p leaves its CPU (set_task_cpu: a queued task already off its run
 * queue, or a waking one). When the CPU a teardown thread runs on is left
 * with nobody waiting, nobody is owed it any more (td_waiter_left): the
 * stretch ends with the last waiter's move. (On x86 7.3 a kvmwatch
 * thread woken there and run on the other CPU was once counted as
 * waiting 188 ms behind a run whose next task had waited 4.5 ms.)
 */
static __always_inline void departure(struct task_struct *p)
{
	__u32 cpu = task_cpu_of(p);
	struct td_next n = {};
	struct td_record *r;
	struct td_cpu *c;
	struct rq *rq;

	if (!globals.active)
		return;
	c = cpu_slot(cpu);
	if (!c || !c->td_tid || !c->wanted)
		return;
	r = record_of(c->td_id);
	if (!r || r->tid != c->td_tid)
		return;
	rq = rq_of_task(p);
	if (!rq || BPF_CORE_READ(rq, cpu) != (int)cpu || waiting_on(rq))
		return;
	n.pid = BPF_CORE_READ(p, pid);
	BPF_CORE_READ_STR_INTO(&n.comm, p, comm);
	td_waiter_left(c, r, bpf_ktime_get_ns(), &n);
}

/* Every move of a runnable or waking task (set_task_cpu). */
SEC("raw_tp/sched_migrate_task")
int BPF_PROG(tp_sched_migrate, struct task_struct *p, int dest_cpu)
{
	departure(p);
	arrival(dest_cpu, BPF_CORE_READ(p, pid), p->comm, true,
		TD_WAIT_MIGRATED);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
