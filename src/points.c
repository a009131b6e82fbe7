// SPDX-License-Identifier: GPL-2.0
/*
 * Function names are those of the kernels kvmwatch was checked against
 * (6.12 Debian, 6.18); a missing one is reported, never assumed.
 */
#include <errno.h>
#include <string.h>

#include "points.h"

#define X86 ARCH_X86_64
#define ARM64 ARCH_ARM64
#define ANY_ARCH (ARCH_X86_64 | ARCH_ARM64)

const struct detector_info detectors[DET_COUNT] = {
	[DET_EXITS] = { "exits", "exit accounting" },
	[DET_TIMER] = { "timer", "LAPIC periodic timer restart loop" },
	[DET_MMIO] = { "mmio", "fast MMIO bus writes" },
	[DET_TEARDOWN] = { "teardown", "stage-2 teardown rescheduling" },
	[DET_PMU] = { "pmu", "PMU world switches" },
};

const struct probe_point probe_points[] = {
	/* Exit accounting. */
	{ DET_EXITS, "kvm_exit", NULL, "kvm/kvm_exit", ANY_ARCH, VENDOR_ANY,
	  true, NULL, NULL, NULL },
	{ DET_EXITS, "kvm_entry", NULL, "kvm/kvm_entry", ANY_ARCH, VENDOR_ANY,
	  false, "time from exit to re-entry per reason", NULL, NULL },
	{ DET_EXITS, "kvm_userspace_exit", NULL, "kvm/kvm_userspace_exit",
	  ANY_ARCH, VENDOR_ANY, false, "exits to the VMM by KVM_EXIT reason",
	  NULL, NULL },
	/* arm64's kvm_exit carries no vCPU index: learn it from KVM_RUN. */
	{ DET_EXITS, "vcpu_run", "kvm_arch_vcpu_ioctl_run", NULL, ARM64,
	  VENDOR_ANY, false, "vCPU index (vCPUs are shown by thread id)",
	  NULL, NULL },
	/* A vCPU already inside KVM_RUN when kvmwatch starts may not return
	 * for long; it is loaded again whenever its thread is scheduled in. */
	{ DET_EXITS, "vcpu_load", "kvm_arch_vcpu_load", NULL, ARM64,
	  VENDOR_ANY, false,
	  "vCPU index of vCPUs that were already running when kvmwatch started",
	  NULL, NULL },

	/* APIC periodic timer restart loop (x86 LAPIC). The tracepoint forms
	 * filter on apic_timer_fn's address from /proc/kallsyms. */
	{ DET_TIMER, "apic_timer_fn", "apic_timer_fn",
	  "timer/hrtimer_expire_entry", X86, VENDOR_ANY, true,
	  "the callback's return value (re-arming is inferred from the expiry moving, at hrtimer_expire_exit)",
	  NULL, NULL },
	{ DET_TIMER, "advance_periodic", "advance_periodic_target_expiration",
	  NULL, X86, VENDOR_ANY, false,
	  "whether a target already past was set to now (the fix itself); chains are still measured",
	  NULL, NULL },
	/* Completes the tracepoint form of apic_timer_fn only. */
	{ DET_TIMER, "hrtimer_expire_exit", NULL, "timer/hrtimer_expire_exit",
	  X86, VENDOR_ANY, false,
	  "callback duration and re-armed expiry in tracepoint mode (no chains)",
	  "apic_timer_fn", NULL },
	{ DET_TIMER, "hrtimer_start", NULL, "timer/hrtimer_start", X86,
	  VENDOR_ANY, false, "LAPIC hrtimer arms per vCPU thread", NULL, NULL },
	{ DET_TIMER, "start_sw_timer", "start_sw_timer", NULL, X86, VENDOR_ANY,
	  false, "starts of the software hrtimer", NULL, NULL },
	{ DET_TIMER, "start_hv_timer", "start_hv_timer",
	  "kvm/kvm_hv_timer_state", X86, VENDOR_VMX, false,
	  "whether each HV timer start succeeded (state changes only)", NULL,
	  NULL },
	{ DET_TIMER, "switch_to_sw_timer", "kvm_lapic_switch_to_sw_timer", NULL,
	  X86, VENDOR_VMX, false, "HV-to-SW timer switches on vCPU block",
	  NULL, NULL },

	/* MMIO writes: fast bus, emulated, to the VMM. kvm:kvm_mmio and the
	 * entry/exit tracepoints classify writes in every mode; the function
	 * points add the fast-bus tries, the candidates and the costs. */
	{ DET_MMIO, "kvm_mmio", NULL, "kvm/kvm_mmio", ANY_ARCH, VENDOR_ANY,
	  true, NULL, NULL, NULL },
	{ DET_MMIO, "io_bus_write", "kvm_io_bus_write", "kvm/kvm_fast_mmio",
	  ANY_ARCH, VENDOR_ANY, false,
	  "fast-MMIO candidates (len-0 ioeventfds on KVM_FAST_MMIO_BUS), fast-bus tries that missed, and the handler's own fast-bus tries as evidence of a fast path (fast-bus hits still come from kvm:kvm_fast_mmio on x86)",
	  NULL, NULL },
	{ DET_MMIO, "ioeventfd_write", "ioeventfd_write", NULL, ANY_ARCH,
	  VENDOR_ANY, false, "ioeventfd signals per address", NULL, NULL },
	{ DET_MMIO, "ept_misconfig", "handle_ept_misconfig", NULL, X86,
	  VENDOR_VMX, false, "per-write cost of the EPT-misconfig path",
	  NULL, NULL },
	{ DET_MMIO, "npf_interception", "npf_interception", NULL, X86,
	  VENDOR_SVM, false, "per-write cost of the nested-page-fault path",
	  NULL, NULL },
	{ DET_MMIO, "guest_abort", "kvm_handle_guest_abort", NULL, ARM64,
	  VENDOR_ANY, false, "per-write cost of the stage-2 abort path", NULL,
	  NULL },
	{ DET_MMIO, "exit_reason", NULL, "kvm/kvm_exit", ANY_ARCH, VENDOR_ANY,
	  false, "the exit reason before each write, and exits per write",
	  NULL, NULL },
	{ DET_MMIO, "guest_entry", NULL, "kvm/kvm_entry", ANY_ARCH, VENDOR_ANY,
	  false, "when a write handled in the kernel is over (it then closes at the next exit)",
	  NULL, NULL },
	{ DET_MMIO, "vmm_exit", NULL, "kvm/kvm_userspace_exit", ANY_ARCH,
	  VENDOR_ANY, false,
	  "which writes went to the VMM (they count as emulated)", NULL, NULL },
	{ DET_MMIO, "emulate_insn", NULL, "kvm/kvm_emulate_insn", X86,
	  VENDOR_ANY, false, "whether a write went through instruction emulation",
	  NULL, NULL },

	/* Stage-2 / TDP teardown rescheduling (docs/teardown.md). Without
	 * fentry or kprobes the exit of a VMM process (exit_group of one
	 * that made KVM_CREATE_VM) stands in for its teardown. */
	{ DET_TEARDOWN, "destroy_vm", "kvm_destroy_vm",
	  "syscalls/sys_enter_exit_group", ANY_ARCH, VENDOR_ANY, true,
	  "teardown boundaries and phases: only the exit of VMM processes is watched (from exit_group to the exiting thread's last schedule), not a VM fd closed earlier, not which code held the CPU, and not what the teardown had to free (x86: the VM's page counts)",
	  NULL, NULL },
	/* Completes the tracepoint form of destroy_vm only. */
	{ DET_TEARDOWN, "vmm_create", NULL, "syscalls/sys_enter_ioctl",
	  ANY_ARCH, VENDOR_ANY, false,
	  "which processes are VMMs (KVM_CREATE_VM): no exit is watched",
	  "destroy_vm", NULL },
	{ DET_TEARDOWN, "flush_shadow_all", "kvm_arch_flush_shadow_all", NULL,
	  ANY_ARCH, VENDOR_ANY, false,
	  "the flush phase (MMU notifier release at exit_mmap, or at destroy), where the stage-2 / TDP zap runs",
	  NULL, NULL },
	{ DET_TEARDOWN, "arch_destroy_vm", "kvm_arch_destroy_vm", NULL,
	  ANY_ARCH, VENDOR_ANY, false, "the arch destroy phase", NULL, NULL },
	{ DET_TEARDOWN, "stage2_destroy", "kvm_pgtable_stage2_destroy", NULL,
	  ARM64, VENDOR_ANY, false,
	  "stage-2 walk duration, and which stretch the walk held", NULL,
	  NULL },
	{ DET_TEARDOWN, "stage2_free_walker", "stage2_free_walker", NULL, ARM64,
	  VENDOR_ANY, false, "entries and tables the stage-2 walk visited",
	  NULL,
	  "one probe per stage-2 entry lengthens the walk it measures (5 to 18 times as long on the TCG testbed)" },
	{ DET_TEARDOWN, "stage2_destroy_range",
	  "kvm_pgtable_stage2_destroy_range", NULL, ARM64, VENDOR_ANY, false,
	  "per-range walks (only kernels with the fix have the function)",
	  NULL, NULL },
	{ DET_TEARDOWN, "stage2_destroy_pgd", "kvm_pgtable_stage2_destroy_pgd",
	  NULL, ARM64, VENDOR_ANY, false,
	  "the final pgd free (only kernels with the fix have the function)",
	  NULL, NULL },
	{ DET_TEARDOWN, "mmu_uninit_vm", "kvm_mmu_uninit_vm", NULL, X86,
	  VENDOR_ANY, false, "x86 MMU teardown phase", NULL, NULL },
	{ DET_TEARDOWN, "tdp_zap_all", "kvm_tdp_mmu_zap_all", NULL, X86,
	  VENDOR_ANY, false, "TDP MMU zap of every root (at the flush)", NULL,
	  NULL },
	{ DET_TEARDOWN, "tdp_zap_roots", "kvm_tdp_mmu_zap_invalidated_roots",
	  NULL, X86, VENDOR_ANY, false,
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

	/* PMU world switches (docs/pmu.md). Which functions exist tells the
	 * mechanism; each is timed by fentry/fexit or kprobe/kretprobe and has
	 * no tracepoint form, so the weaker mode loses it whole. */
	{ DET_PMU, "pmu_restore_guest", "kvm_vcpu_pmu_restore_guest", NULL,
	  ARM64, VENDOR_ANY, false,
	  "guest PMU loads at vCPU load (VHE) and their cost", NULL, NULL },
	{ DET_PMU, "pmu_restore_host", "kvm_vcpu_pmu_restore_host", NULL, ARM64,
	  VENDOR_ANY, false, "host PMU restores at vCPU put (VHE) and their cost",
	  NULL, NULL },
	{ DET_PMU, "mediated_pmu_load", "kvm_mediated_pmu_load", NULL, X86,
	  VENDOR_ANY, false, "mediated vPMU loads and their cost", NULL, NULL },
	{ DET_PMU, "mediated_pmu_put", "kvm_mediated_pmu_put", NULL, X86,
	  VENDOR_ANY, false, "mediated vPMU puts and their cost", NULL, NULL },
	/* Static in pmu.c: absent where the compiler inlined them. */
	{ DET_PMU, "load_guest_pmcs", "kvm_pmu_load_guest_pmcs", NULL, X86,
	  VENDOR_ANY, false,
	  "software loads of guest counters (what hardware PMC virtualization avoids)",
	  NULL, NULL },
	{ DET_PMU, "put_guest_pmcs", "kvm_pmu_put_guest_pmcs", NULL, X86,
	  VENDOR_ANY, false, "software saves of guest counters", NULL, NULL },
	/* The legacy vPMU's per-entry PERF_GLOBAL_CTRL switch list on VMX. */
	{ DET_PMU, "guest_get_msrs", "perf_guest_get_msrs", NULL, X86, VENDOR_VMX,
	  false, "legacy vPMU per-entry switch lists and their cost", NULL,
	  NULL },
	{ DET_PMU, "pmu_handle_event", "kvm_pmu_handle_event", NULL, X86,
	  VENDOR_ANY, false, "counter reprogramming (KVM_REQ_PMU) and its cost",
	  NULL, NULL },
	{ DET_PMU, "pmu_deliver_pmi", "kvm_pmu_deliver_pmi", NULL, X86,
	  VENDOR_ANY, false, "PMIs injected into guests", NULL, NULL },
	/* Tracepoints: every mode keeps the PMU register exits. */
	{ DET_PMU, "kvm_msr", NULL, "kvm/kvm_msr", X86, VENDOR_ANY, false,
	  "PMU MSR exits by MSR", NULL, NULL },
	{ DET_PMU, "sys_access", NULL, "kvm/kvm_sys_access", ARM64, VENDOR_ANY,
	  false, "trapped PMU register accesses by register", NULL, NULL },
	{ DET_PMU, "pmu_exit", NULL, "kvm/kvm_exit", ANY_ARCH, VENDOR_ANY, false,
	  "exits per vCPU thread (switches and PMU exits per exit)", NULL,
	  NULL },
	{ DET_PMU, "pmu_vcpu_load", "kvm_arch_vcpu_load", NULL, ANY_ARCH,
	  VENDOR_ANY, false,
	  "vCPU index and vPMU presence per vCPU (vCPUs are shown by thread id)",
	  NULL, NULL },
};

const size_t probe_point_count = sizeof(probe_points) / sizeof(probe_points[0]);

/* Indexed like probe_points (a unit test holds the table to its size). */
static bool opted_in[64];
#define OPTED_IN_SLOTS (sizeof(opted_in) / sizeof(opted_in[0]))

int points_opt_in(const char *name)
{
	size_t i;

	for (i = 0; i < probe_point_count; i++) {
		if (strcmp(probe_points[i].name, name))
			continue;
		if (!probe_points[i].opt_in || i >= OPTED_IN_SLOTS)
			return -EINVAL;
		opted_in[i] = true;
		return 0;
	}
	return -ENOENT;
}

bool point_opted_in(const struct probe_point *point)
{
	size_t i = point - probe_points;

	return i < probe_point_count && i < OPTED_IN_SLOTS && opted_in[i];
}
