// SPDX-License-Identifier: GPL-2.0
/* Whether the vendor code has a fast MMIO path, and why kvmwatch says so. */
#include <stdio.h>
#include <string.h>

#include "mmio_model.h"

const char *mmio_fast_state_name(enum mmio_fast_state state)
{
	switch (state) {
	case MMIO_FAST_ABSENT: return "absent";
	case MMIO_FAST_UNUSABLE: return "unusable";
	case MMIO_FAST_PRESENT: return "present";
	case MMIO_FAST_IN_USE: return "in-use";
	default: return "unknown";
	}
}

/* The vendor module's code has the path: can this host take it? */
static void from_code(const struct mmio_setup *s, const char *code,
		      struct mmio_fast_path *fp)
{
	fp->basis = "module";
	if (s->vendor == VENDOR_SVM && s->nrips == 0) {
		fp->state = MMIO_FAST_UNUSABLE;
		snprintf(fp->why, sizeof(fp->why),
			 "%s; but kvm_amd.nrips=0 (no NRIP save on this CPU): %s takes the fast path only with the next RIP from hardware, so every write here is decoded",
			 s->code_why, code);
		return;
	}
	fp->state = MMIO_FAST_PRESENT;
	snprintf(fp->why, sizeof(fp->why),
		 "%s%s; no write took it in this run", s->code_why,
		 s->vendor == VENDOR_SVM && s->nrips == 1 ?
		 " (kvm_amd.nrips=1: usable here)" : "");
}

static const char *vendor_code(enum kvm_vendor vendor)
{
	switch (vendor) {
	case VENDOR_VMX: return "VMX";
	case VENDOR_SVM: return "SVM";
	case VENDOR_ARM64: return "arm64";
	default: return "vendor";
	}
}

void mmio_decide_fast_path(const struct mmio_setup *s, uint64_t fast_writes,
			   uint64_t emulated_candidate_writes,
			   struct mmio_fast_path *fp)
{
	const char *h = s->handler ? s->handler : "the MMIO exit handler";
	const char *code = vendor_code(s->vendor);
	char nrips[160] = "";

	fp->state = MMIO_FAST_UNKNOWN;
	fp->basis = NULL;
	if (s->vendor == VENDOR_SVM && s->nrips == 0)
		snprintf(nrips, sizeof(nrips),
			 " (kvm_amd.nrips=0: an SVM fast path needs the next RIP from hardware, so it would be unusable here anyway)");
	else if (s->vendor == VENDOR_SVM && s->nrips == 1)
		snprintf(nrips, sizeof(nrips),
			 " (kvm_amd.nrips=1: a fast path that needs the next RIP would have had it)");

	if (fp->fast_tries) {
		fp->state = MMIO_FAST_IN_USE;
		fp->basis = "observed";
		snprintf(fp->why, sizeof(fp->why),
			 "%s tried KVM_FAST_MMIO_BUS in %llu runs (%llu writes took the fast bus): this kernel's %s code has the fast MMIO path",
			 h, (unsigned long long)fp->fast_tries,
			 (unsigned long long)fast_writes, code);
		return;
	}
	if (fast_writes) {
		fp->state = MMIO_FAST_IN_USE;
		fp->basis = "observed";
		snprintf(fp->why, sizeof(fp->why),
			 "%llu writes took KVM_FAST_MMIO_BUS%s: this kernel's %s code has the fast MMIO path",
			 (unsigned long long)fast_writes, fp->fast_events ?
			 " (kvm:kvm_fast_mmio)" : "", code);
		return;
	}
	/* What the module's code has decides, where it could be read. */
	if (s->code_fast_path == 1) {
		from_code(s, code, fp);
		return;
	}
	if (s->code_fast_path == 0) {
		fp->state = MMIO_FAST_ABSENT;
		fp->basis = "module";
		snprintf(fp->why, sizeof(fp->why), "%s%s", s->code_why, nrips);
		return;
	}
	/* Decoded candidate writes say nothing where the path, if the code
	 * had one, would be closed anyway. */
	if (fp->slow_candidate_runs && s->vendor == VENDOR_SVM &&
	    s->nrips == 0) {
		snprintf(fp->why, sizeof(fp->why),
			 "%llu runs of %s decoded a fast-MMIO candidate write, but with kvm_amd.nrips=0 an SVM fast path would not be tried either; the module's code could not be read (%s)",
			 (unsigned long long)fp->slow_candidate_runs, h,
			 s->code_why[0] ? s->code_why : "not read");
		return;
	}
	if (fp->slow_candidate_runs) {
		fp->state = MMIO_FAST_ABSENT;
		fp->basis = "observed";
		snprintf(fp->why, sizeof(fp->why),
			 "%llu runs of %s wrote a fast-MMIO candidate (a len-0 ioeventfd on KVM_FAST_MMIO_BUS) through KVM_MMIO_BUS after decoding it, without ever trying KVM_FAST_MMIO_BUS: this kernel's %s code has no fast MMIO path%s%s",
			 (unsigned long long)fp->slow_candidate_runs, h, code,
			 nrips, s->vendor == VENDOR_VMX && s->handler_found ?
			 "; this contradicts what VMX's handle_ept_misconfig is known to do" : "");
		return;
	}
	if (s->vendor == VENDOR_VMX && s->handler_found) {
		fp->state = MMIO_FAST_PRESENT;
		fp->basis = "kernel";
		snprintf(fp->why, sizeof(fp->why),
			 "this kernel has %s (kvm_intel), VMX's EPT-misconfig handler, which tries KVM_FAST_MMIO_BUS before decoding; not seen doing it in this run%s",
			 h, s->bus_probed && s->handler_probed ?
			 " (no MMIO exit came through it)" :
			 " (kvm_io_bus_write and the handler need fentry or kprobes to see it)");
		return;
	}
	if (!s->fast_tracepoint_exists &&
	    (s->vendor == VENDOR_ARM64 || s->vendor == VENDOR_VMX ||
	     s->vendor == VENDOR_SVM)) {
		fp->state = MMIO_FAST_ABSENT;
		fp->basis = "kernel";
		snprintf(fp->why, sizeof(fp->why),
			 "this kernel has no kvm:kvm_fast_mmio tracepoint, through which the x86 fast paths (VMX and SVM) report each fast write: no %s code here writes KVM_FAST_MMIO_BUS%s",
			 code, s->vendor == VENDOR_ARM64 ?
			 "; arm64 decodes MMIO from the exit syndrome, without instruction emulation" : "");
		return;
	}
	if (s->vendor != VENDOR_VMX && s->vendor != VENDOR_SVM &&
	    s->vendor != VENDOR_ARM64) {
		snprintf(fp->why, sizeof(fp->why),
			 "KVM vendor %s: kvmwatch knows no MMIO exit handler of it",
			 vendor_name(s->vendor));
		return;
	}
	if (!s->bus_probed) {
		snprintf(fp->why, sizeof(fp->why),
			 "kvm_io_bus_write is not probed (%s), so fast-MMIO candidates and fast-bus tries are not seen, and no kvm:kvm_fast_mmio fired",
			 s->candidates_why[0] ? s->candidates_why :
			 "tracepoint mode");
		return;
	}
	if (!s->handler_probed) {
		snprintf(fp->why, sizeof(fp->why),
			 "%s is not probed (%s), so its fast-bus tries are not seen%s",
			 h, s->costs_why[0] ? s->costs_why : "not in kallsyms",
			 emulated_candidate_writes ?
			 "; fast-MMIO candidates were written through emulation" : "");
		return;
	}
	snprintf(fp->why, sizeof(fp->why),
		 "no fast-MMIO candidate (len-0 ioeventfd) was written through %s in this run%s",
		 h, nrips);
}
