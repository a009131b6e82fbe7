// SPDX-License-Identifier: GPL-2.0
/*
 * The teardown detector: how long a VM's teardown kept a CPU without a
 * schedule point once another task wanted it, and which function held
 * it (bpf/teardown.bpf.c; docs/teardown.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "teardown_model.h"
#include "teardown.skel.h"

static const struct probe_point teardown_points[] = {
	/* Stage-2 / TDP teardown rescheduling (docs/teardown.md). Without
	 * fentry or kprobes the exit of a VMM process (exit_group of one
	 * that made KVM_CREATE_VM), or the close of a VM's last fd, stands
	 * in for its teardown: every system call's entry, one program. */
	{ DET_TEARDOWN, "destroy_vm", "kvm_destroy_vm",
	  "raw_syscalls/sys_enter", ANY_ARCH, VENDOR_ANY, true,
	  "teardown boundaries and phases: the exit of VMM processes (from exit_group to the exiting thread's last schedule) and the close of a VM's last fd (to the thread's next system call) stand in for them; not which code held the CPU, and not what the teardown had to free (x86: the VM's page counts)",
	  NULL, NULL },
	/* A VMM killed by a signal dies without exit_group. */
	{ DET_TEARDOWN, "vmm_killed", NULL, "signal/signal_deliver",
	  ANY_ARCH, VENDOR_ANY, false,
	  "the exit of a VMM killed by a signal (SIGKILL): not seen",
	  "destroy_vm", NULL },
	/* A VM destroyed by the close of its last fd (vm-first): the fds
	 * that hold it (made by KVM_CREATE_VM, _VCPU, _DEVICE and
	 * KVM_GET_STATS_FD) and the return of its last one's close. */
	{ DET_TEARDOWN, "vm_fds", NULL, "raw_syscalls/sys_exit", ANY_ARCH,
	  VENDOR_ANY, false,
	  "a VM destroyed by the close of its last fd: not seen",
	  "destroy_vm", NULL },
	{ DET_TEARDOWN, "flush_shadow_all", "kvm_arch_flush_shadow_all", NULL,
	  ANY_ARCH, VENDOR_ANY, false,
	  "the flush phase (MMU notifier release at exit_mmap, or at destroy), where the stage-2 / TDP zap runs",
	  NULL, NULL },
	{ DET_TEARDOWN, "arch_destroy_vm", "kvm_arch_destroy_vm", NULL,
	  ANY_ARCH, VENDOR_ANY, false, "the arch destroy phase", NULL, NULL },
	{ DET_TEARDOWN, "stage2_destroy", "kvm_pgtable_stage2_destroy", NULL,
	  ARCH_ARM64, VENDOR_ANY, false,
	  "stage-2 walk duration, and which stretch the walk held", NULL,
	  NULL },
	{ DET_TEARDOWN, "stage2_free_walker", "stage2_free_walker", NULL, ARCH_ARM64,
	  VENDOR_ANY, false, "entries and tables the stage-2 walk visited",
	  NULL,
	  "one probe per stage-2 entry lengthens the walk it measures (5 to 18 times as long on the TCG testbed)" },
	{ DET_TEARDOWN, "stage2_destroy_range",
	  "kvm_pgtable_stage2_destroy_range", NULL, ARCH_ARM64, VENDOR_ANY, false,
	  "per-range walks (only kernels with the fix have the function)",
	  NULL, NULL },
	{ DET_TEARDOWN, "stage2_destroy_pgd", "kvm_pgtable_stage2_destroy_pgd",
	  NULL, ARCH_ARM64, VENDOR_ANY, false,
	  "the final pgd free (only kernels with the fix have the function)",
	  NULL, NULL },
	{ DET_TEARDOWN, "mmu_uninit_vm", "kvm_mmu_uninit_vm", NULL, ARCH_X86_64,
	  VENDOR_ANY, false, "x86 MMU teardown phase", NULL, NULL },
	{ DET_TEARDOWN, "tdp_zap_all", "kvm_tdp_mmu_zap_all", NULL, ARCH_X86_64,
	  VENDOR_ANY, false, "TDP MMU zap of every root (at the flush)", NULL,
	  NULL },
	{ DET_TEARDOWN, "tdp_zap_roots", "kvm_tdp_mmu_zap_invalidated_roots",
	  NULL, ARCH_X86_64, VENDOR_ANY, false,
	  "TDP MMU zap of invalidated roots (at MMU uninit)", NULL, NULL },
	{ DET_TEARDOWN, "sched_switch", NULL, "sched/sched_switch", ANY_ARCH,
	  VENDOR_ANY, true, NULL, NULL, NULL },
	/* When another task comes to want the teardown thread's CPU: the
	 * start of the stretch that counts. */
	{ DET_TEARDOWN, "sched_wakeup", NULL, "sched/sched_wakeup", ANY_ARCH,
	  VENDOR_ANY, false,
	  "when a task woken onto the CPU during a run began to wait (it counts from the run's start)",
	  NULL, NULL },
	{ DET_TEARDOWN, "sched_wakeup_new", NULL, "sched/sched_wakeup_new",
	  ANY_ARCH, VENDOR_ANY, false,
	  "when a new task placed on the CPU during a run began to wait (it counts from the run's start)",
	  NULL, NULL },
	{ DET_TEARDOWN, "sched_migrate", NULL, "sched/sched_migrate_task",
	  ANY_ARCH, VENDOR_ANY, false,
	  "when a task moved onto the CPU during a run began to wait (it counts from the run's start)",
	  NULL, NULL },
};

struct teardown_detector {
	struct teardown_bpf *skel;
	struct teardown_kernel kernel;
};

static bool point_found(const struct attach_plan *plan, const char *name)
{
	const struct point_state *s = attach_plan_point(plan, DET_TEARDOWN, name);

	return s && s->applicable && s->func_found;
}

static bool point_watched(const struct attach_plan *plan, const char *name,
			  bool function)
{
	const struct point_state *s = attach_plan_point(plan, DET_TEARDOWN, name);

	if (!s || !s->applicable || s->attach_failed || s->mode == ATTACH_NONE)
		return false;
	return !function || s->mode != ATTACH_TRACEPOINT;
}

/* What the kernel has and what this run watches of it. */
static void kernel_from_plan(const struct attach_plan *plan,
			     struct teardown_kernel *k)
{
	const struct point_state *walker =
		attach_plan_point(plan, DET_TEARDOWN, "stage2_free_walker");

	k->arch = plan->caps ? plan->caps->arch : ARCH_OTHER;
	k->stage2_fn = point_found(plan, "stage2_destroy");
	k->range_fn = point_found(plan, "stage2_destroy_range");
	k->pgd_fn = point_found(plan, "stage2_destroy_pgd");
	k->tdp_fn = point_found(plan, "tdp_zap_all");
	k->boundaries = point_watched(plan, "destroy_vm", true);
	k->walker = point_watched(plan, "stage2_free_walker", true);
	k->page_stats = k->arch == ARCH_X86_64 && k->boundaries &&
		plan->caps && plan->caps->kvm_page_stats;
	k->walker_opted_out = walker && walker->opted_out;
	k->wakeups = point_watched(plan, "sched_wakeup", false);
}

/* VMs made before the tracepoints attached: their teardowns too. */
static void seed_running_vmms(struct teardown_detector *st, uint32_t pid)
{
	struct teardown_seed_maps m = {
		.vmms_fd = bpf_map__fd(st->skel->maps.td_vmms),
		.fds_fd = bpf_map__fd(st->skel->maps.td_fds),
		.refs_fd = bpf_map__fd(st->skel->maps.td_vm_refs),
	};
	int n = teardown_seed_vmms(&m, pid);

	if (n < 0)
		kw_warn("teardown: cannot learn the VMs already running (%s): their teardowns in tracepoint mode are not seen",
			strerror(-n));
	else if (n)
		kw_warn("teardown: %d VMM process%s already running, learnt from %s fds",
			n, n == 1 ? "" : "es", n == 1 ? "its" : "their");
}

static int teardown_start(void *state, struct detector_bpf *bpf,
			  struct attach_plan *plan, uint32_t pid)
{
	struct teardown_detector *st = state;
	int err, ncpus;

	st->skel = DETECTOR_BPF_OPEN(bpf, teardown, plan, DET_TEARDOWN);
	if (!st->skel)
		return -errno;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus > 0)
		bpf_map__set_max_entries(st->skel->maps.td_cpus, ncpus);
	DETECTOR_SET_FILTER(st->skel, pid);
	/* The test suite proves the returns' fallback for a skipped entry
	 * run (docs/teardown.md, Tests). */
	st->skel->rodata->skip_syscall_entry =
		getenv("KVMWATCH_TEST_SKIP_SYSCALL_ENTRY") != NULL;
	err = detector_bpf_load(bpf, plan, DET_TEARDOWN);
	if (err)
		return err;
	kernel_from_plan(plan, &st->kernel);
	/* A scoped run judges only the VMs its command will make. */
	if (!st->kernel.boundaries && point_watched(plan, "vm_fds", false) &&
	    scope_map_fd() < 0)
		seed_running_vmms(st, pid);
	return 0;
}

static const struct detector_map teardown_maps[] = {
	{ DETECTOR_KEPT_MAP(struct teardown_sample, td_records, sizeof(__u64),
			    struct teardown_entry, rec, entries, n, rec.pid,
			    rec.vm_start) },
};

/* Drop from the map the done records of this sample but the newest few,
 * which top lists as recent: a done record never changes again, this
 * sample holds it, and dropping it keeps a long run from filling the map. */
static void forget_done(void *state, const void *sample)
{
	const struct teardown_detector *st = state;
	const struct teardown_sample *s = sample;
	int fd = bpf_map__fd(st->skel->maps.td_records);
	size_t i;

	for (i = 0; i + TEARDOWN_VIEW_MAX < s->n; i++)
		if (s->entries[i].rec.done)
			bpf_map_delete_elem(fd, &s->entries[i].rec.id);
}

static int teardown_sample(void *state, void *sample)
{
	struct teardown_detector *st = state;
	struct teardown_sample *s = sample;
	size_t i;

	s->ts_ns = monotonic_ns();
	/* The key (the id) also sits in the record; earlier starts false. */
	for (i = 0; i < s->n; i++)
		s->entries[i].earlier = false;
	s->globals = st->skel->bss->globals;
	s->kernel = st->kernel;
	teardown_sample_sort(s);
	return 0;
}

DEFINE_DETECTOR(teardown, DET_TEARDOWN,
		.json_key = "teardown",
		.rules = &teardown_rule_group,
		.prune = forget_done)
