// SPDX-License-Identifier: GPL-2.0
/*
 * The exits detector: every guest exit per VM and vCPU by vendor reason,
 * and the time until the vCPU re-enters the guest (bpf/exits.bpf.c).
 */
#include <errno.h>
#include <string.h>

#include "core/detector.h"
#include "core/tp_format.h"
#include "exits_model.h"
#include "exits.skel.h"

static const struct probe_point exits_points[] = {
	/* Exit accounting. */
	{ DET_EXITS, "kvm_exit", NULL, "kvm/kvm_exit", ANY_ARCH, VENDOR_ANY,
	  true, NULL, NULL, NULL },
	{ DET_EXITS, "kvm_entry", NULL, "kvm/kvm_entry", ANY_ARCH, VENDOR_ANY,
	  false, "time from exit to re-entry per reason", NULL, NULL },
	{ DET_EXITS, "kvm_userspace_exit", NULL, "kvm/kvm_userspace_exit",
	  ANY_ARCH, VENDOR_ANY, false, "exits to the VMM by KVM_EXIT reason",
	  NULL, NULL },
	/* arm64's kvm_exit carries no vCPU index: learn it from KVM_RUN. */
	{ DET_EXITS, "vcpu_run", "kvm_arch_vcpu_ioctl_run", NULL, ARCH_ARM64,
	  VENDOR_ANY, false, "vCPU index (vCPUs are shown by thread id)",
	  NULL, NULL },
	/* A vCPU already inside KVM_RUN when kvmwatch starts may not return
	 * for long; it is loaded again whenever its thread is scheduled in. */
	{ DET_EXITS, "vcpu_load", "kvm_arch_vcpu_load", NULL, ARCH_ARM64,
	  VENDOR_ANY, false,
	  "vCPU index of vCPUs that were already running when kvmwatch started",
	  NULL, NULL },
	/* Port I/O by port, as perf kvm stat --event ioport. */
	{ DET_EXITS, "kvm_pio", NULL, "kvm/kvm_pio", ARCH_X86_64, VENDOR_ANY,
	  false, "port I/O exits per port", NULL, NULL },
	/* A thread's state goes as it exits: a later thread with its tid
	 * (pids come back) starts clean. */
	THREAD_EXIT_POINT(DET_EXITS, "exits_thread_exit"),
};

struct exits_detector {
	struct exits_bpf *skel;
};

static int exits_start(void *state, struct detector_bpf *bpf,
		       struct attach_plan *plan, uint32_t pid)
{
	struct exits_detector *st = state;
	struct kvm_tp_fields fields;
	int err;

	err = kvm_tp_fields_for(plan, DET_EXITS, &fields);
	if (err)
		return err;
	st->skel = DETECTOR_BPF_OPEN(bpf, exits, plan, DET_EXITS);
	if (!st->skel)
		return -errno;
	DETECTOR_SET_FILTER(st->skel, pid);
	memcpy((void *)&st->skel->rodata->kvm_fields, &fields, sizeof(fields));
	return detector_bpf_load(bpf, plan, DET_EXITS);
}

static const struct detector_map exits_maps[] = {
	{ DETECTOR_MAP(struct exits_sample, exit_stats, sizeof(struct exit_key),
		       struct exit_record, stats, recs, nrecs, key.pid,
		       key.vm_start) },
	{ DETECTOR_MAP(struct exits_sample, pio_stats, sizeof(struct pio_key),
		       struct pio_record, stats, pios, npios, key.pid,
		       key.vm_start) },
	{ DETECTOR_THREAD_MAP(struct exits_sample, vcpu_threads,
			      vcpu_threads_done, struct thread_record, info,
			      threads, nthreads, info.pid, info.vm_start) },
};

static int exits_sample(void *state, void *sample)
{
	struct exits_sample *out = sample;

	(void)state;
	out->ts_ns = monotonic_ns();
	exits_sample_sort(out);
	return 0;
}

DEFINE_DETECTOR(exits, DET_EXITS, DETECTOR_VM_JSON(exits))
