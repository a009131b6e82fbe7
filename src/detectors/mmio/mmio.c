// SPDX-License-Identifier: GPL-2.0
/*
 * The mmio detector: guest MMIO writes per VM and address by the path
 * they took, fast MMIO bus, emulation or the VMM (bpf/mmio.bpf.c;
 * docs/mmio.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/tp_format.h"
#include "mmio_model.h"
#include "mmio.skel.h"

/* kvm:kvm_mmio and the entry/exit tracepoints classify writes in every
 * mode; the function points add the fast-bus tries, the candidates and
 * the costs. */
static const struct probe_point mmio_points[] = {
	/* MMIO writes: fast bus, emulated, to the VMM. kvm:kvm_mmio and the
	 * entry/exit tracepoints classify writes in every mode; the function
	 * points add the fast-bus tries, the candidates and the costs. */
	{ DET_MMIO, "kvm_mmio", NULL, "kvm/kvm_mmio", ANY_ARCH, VENDOR_ANY,
	  true, NULL, NULL, NULL },
	/* A thread's state goes as it exits (bpf/vm_ident.h). */
	THREAD_EXIT_POINT(DET_MMIO, "mmio_thread_exit"),
	{ DET_MMIO, "io_bus_write", "kvm_io_bus_write", "kvm/kvm_fast_mmio",
	  ANY_ARCH, VENDOR_ANY, false,
	  "fast-MMIO candidates (len-0 ioeventfds on KVM_FAST_MMIO_BUS), fast-bus tries that missed, and the handler's own fast-bus tries as evidence of a fast path (fast-bus hits still come from kvm:kvm_fast_mmio on x86)",
	  NULL, NULL },
	{ DET_MMIO, "ioeventfd_write", "ioeventfd_write", NULL, ANY_ARCH,
	  VENDOR_ANY, false, "ioeventfd signals per address", NULL, NULL },
	{ DET_MMIO, "ept_misconfig", "handle_ept_misconfig", NULL, ARCH_X86_64,
	  VENDOR_VMX, false, "per-write cost of the EPT-misconfig path",
	  NULL, NULL },
	{ DET_MMIO, "npf_interception", "npf_interception", NULL, ARCH_X86_64,
	  VENDOR_SVM, false, "per-write cost of the nested-page-fault path",
	  NULL, NULL },
	{ DET_MMIO, "guest_abort", "kvm_handle_guest_abort", NULL, ARCH_ARM64,
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
	{ DET_MMIO, "emulate_insn", NULL, "kvm/kvm_emulate_insn", ARCH_X86_64,
	  VENDOR_ANY, false, "whether a write went through instruction emulation",
	  NULL, NULL },
};

/* The vendor's exit handler for MMIO: its probe point and function. */
static const char *handler_point(enum kvm_vendor vendor, const char **func)
{
	switch (vendor) {
	case VENDOR_VMX:
		*func = "handle_ept_misconfig";
		return "ept_misconfig";
	case VENDOR_SVM:
		*func = "npf_interception";
		return "npf_interception";
	case VENDOR_ARM64:
		*func = "kvm_handle_guest_abort";
		return "guest_abort";
	default:
		*func = NULL;
		return NULL;
	}
}

static bool probed(const struct point_state *s)
{
	return s && s->applicable && !s->attach_failed &&
	       (s->mode == ATTACH_FENTRY || s->mode == ATTACH_KPROBE);
}

static bool watched(const struct point_state *s)
{
	return s && s->applicable && !s->attach_failed &&
	       s->mode != ATTACH_NONE;
}

/* "tracepoint mode (fentry: ...)" for a function point not probed. */
static void why_unprobed(const struct point_state *s, const char *func,
			 char *buf, size_t len)
{
	if (!s || !s->applicable) {
		snprintf(buf, len, "%s does not apply here", func);
		return;
	}
	if (s->attach_failed) {
		snprintf(buf, len, "%s", s->attach_error);
		return;
	}
	snprintf(buf, len, "%s is watched in %s mode; fentry: %.200s; kprobe: %.200s",
		 func, attach_mode_name(s->mode),
		 s->fentry_why[0] ? s->fentry_why : "-",
		 s->kprobe_why[0] ? s->kprobe_why : "-");
}

/* kvm_amd.nrips: 1, 0, or -1. */
static int read_nrips(void)
{
	char buf[16];

	if (read_text_file("/sys/module/kvm_amd/parameters/nrips", buf,
			   sizeof(buf)))
		return -1;
	if (buf[0] == 'Y' || buf[0] == '1')
		return 1;
	if (buf[0] == 'N' || buf[0] == '0')
		return 0;
	return -1;
}

void mmio_setup_from_plan(const struct attach_plan *plan,
			  struct mmio_setup *s)
{
	const struct point_state *bus =
		attach_plan_point(plan, DET_MMIO, "io_bus_write");
	const struct point_state *handler = NULL;
	const char *name, *func = NULL;

	memset(s, 0, sizeof(*s));
	s->vendor = plan->caps ? plan->caps->vendor : VENDOR_NONE;
	s->nrips = s->vendor == VENDOR_SVM ? read_nrips() : -1;
	s->code_fast_path = -1;
	name = handler_point(s->vendor, &func);
	if (name)
		handler = attach_plan_point(plan, DET_MMIO, name);
	s->handler = func;
	s->handler_found = handler && handler->func_found;
	s->bus_probed = probed(bus);
	s->handler_probed = probed(handler);
	s->ioeventfd_probed =
		probed(attach_plan_point(plan, DET_MMIO, "ioeventfd_write"));
	s->emulate_watched =
		watched(attach_plan_point(plan, DET_MMIO, "emulate_insn"));
	s->exit_watched =
		watched(attach_plan_point(plan, DET_MMIO, "exit_reason"));
	s->fast_tracepoint_exists = bus && bus->tracepoint_found;
	if (!s->bus_probed)
		why_unprobed(bus, "kvm_io_bus_write", s->candidates_why,
			     sizeof(s->candidates_why));
	if (!s->handler_probed && func)
		why_unprobed(handler, func, s->costs_why, sizeof(s->costs_why));
	else if (!func)
		snprintf(s->costs_why, sizeof(s->costs_why),
			 "no MMIO exit handler is known for KVM vendor %s",
			 vendor_name(s->vendor));
}

struct mmio_detector {
	struct mmio_bpf *skel;
	struct mmio_setup setup;
};

static int mmio_start(void *state, struct detector_bpf *bpf,
		      struct attach_plan *plan, uint32_t pid)
{
	struct mmio_detector *st = state;
	struct kvm_tp_fields fields;
	int err;

	err = kvm_tp_fields_for(plan, DET_MMIO, &fields);
	if (err)
		return err;
	st->skel = DETECTOR_BPF_OPEN(bpf, mmio, plan, DET_MMIO);
	if (!st->skel)
		return -errno;
	DETECTOR_SET_FILTER(st->skel, pid);
	memcpy((void *)&st->skel->rodata->kvm_fields, &fields, sizeof(fields));
	err = detector_bpf_load(bpf, plan, DET_MMIO);
	if (err)
		return err;
	mmio_setup_from_plan(plan, &st->setup);
	/* x86's fast paths live in the vendor module: read its code. */
	if (st->setup.vendor == VENDOR_SVM || st->setup.vendor == VENDOR_VMX)
		st->setup.code_fast_path = mmio_module_fast_path(
			st->setup.vendor == VENDOR_SVM ? "kvm_amd" : "kvm_intel",
			st->setup.code_why, sizeof(st->setup.code_why));
	return 0;
}

static int fold_chunk(void *sample, void *recs, size_t n)
{
	return mmio_fold_records(sample, recs, n);
}

static const struct detector_map mmio_maps[] = {
	/* Per thread in the map, per address in the sample: 5120 records
	 * read are 1280 kept at 256 VMs of 4 vCPUs. */
	{ DETECTOR_MAP(struct mmio_sample, mmio_stats, sizeof(struct mmio_key),
		       struct mmio_record, stats, recs, nrecs, key.pid,
		       key.vm_start), .fold = fold_chunk },
	{ DETECTOR_THREAD_MAP(struct mmio_sample, mmio_threads,
			      mmio_threads_done, struct mmio_thread_record, t,
			      threads, nthreads, t.pid, t.vm_start) },
	{ DETECTOR_MAP(struct mmio_sample, mmio_vms,
		       sizeof(struct thread_ident), struct mmio_vm_record, vm,
		       vms, nvms, key.pid, key.vm_start) },
	{ DETECTOR_MAP(struct mmio_sample, mmio_candidates,
		       sizeof(struct mmio_key), struct mmio_candidate_record, c,
		       cands, ncands, key.pid, key.vm_start) },
};

static int mmio_sample(void *state, void *sample)
{
	struct mmio_detector *st = state;
	struct mmio_sample *out = sample;

	out->ts_ns = monotonic_ns();
	out->setup = st->setup;
	return mmio_sample_sort(out);
}

DEFINE_DETECTOR(mmio, DET_MMIO,
		DETECTOR_VM_JSON(mmio),
		.json_key = "mmio",
		.rules = &mmio_rule_group)
