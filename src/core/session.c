// SPDX-License-Identifier: GPL-2.0
/* Start-up shared by the commands: probe the kernel, plan, say what is lost. */
#include <stdio.h>
#include <string.h>

#include "bpf_log.h"
#include "session.h"

int session_prepare(struct kernel_caps *caps, struct attach_plan *plan,
		    unsigned int detector_mask)
{
	kw_timing("start");
	bpf_log_install();
	caps_probe(caps);
	kw_timing("kernel probed (BTF, tracefs, kprobes)");
	kw_timing_heap("probed");
	if (caps->arch == ARCH_OTHER) {
		kw_warn("unsupported architecture %s (x86_64 and arm64 only)",
			caps->machine);
		return KW_EXIT_UNSUPPORTED;
	}
	if (!caps->privileged) {
		kw_warn("%s", caps->privilege_why);
		return KW_EXIT_PERMISSION;
	}
	if (!caps->btf_vmlinux) {
		kw_warn("/sys/kernel/btf/vmlinux is missing: this kernel was built without CONFIG_DEBUG_INFO_BTF, which CO-RE needs");
		return KW_EXIT_UNSUPPORTED;
	}
	if (!caps->tracefs) {
		kw_warn("%s", caps->tracefs_why);
		return KW_EXIT_UNSUPPORTED;
	}
	if (attach_plan_resolve(plan, caps, detector_mask)) {
		kw_warn("internal: too many probe points");
		return KW_EXIT_RUNTIME;
	}
	kw_timing("probe points planned (kallsyms, fentry trials)");
	kw_timing_heap("planned");
	/* Nothing reads the parsed BTF after planning, and each load
	 * parses its own: not both at once. */
	caps_drop_btf(caps);
	kw_timing("parsed BTF freed");
	kw_timing_heap("freed");
	return KW_EXIT_OK;
}

void session_modes(const struct attach_plan *plan, enum detector_id det,
		   char *buf, size_t len)
{
	bool seen[ATTACH_TRACEPOINT + 1] = { false };
	enum attach_mode mode;
	size_t i, used = 0;

	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector == det && s->applicable &&
		    !s->attach_failed)
			seen[s->mode] = true;
	}
	buf[0] = '\0';
	for (mode = ATTACH_FENTRY; mode <= ATTACH_TRACEPOINT; mode++)
		if (seen[mode] && used < len)
			used += snprintf(buf + used, len - used, "%s%s",
					 used ? "+" : "", attach_mode_name(mode));
	if (!used)
		snprintf(buf, len, "none");
}

int session_lost_figures(FILE *out, const struct attach_plan *plan,
			 enum detector_id det, bool verbose)
{
	int lost = 0;
	size_t i;

	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector != det || !point_loses(s))
			continue;
		lost++;
		if (!verbose)
			continue;
		if (s->opted_out)
			fprintf(out, "kvmwatch: %s: %s off (--point %s turns it on): lost: %s\n",
				detectors[det].name, s->point->name,
				s->point->name, s->point->lost);
		else
			fprintf(out, "kvmwatch: %s: %s in %s mode: lost: %s\n",
				detectors[det].name, s->point->name,
				attach_mode_name(s->attach_failed ? ATTACH_NONE :
						 s->mode), s->point->lost);
	}
	return lost;
}
