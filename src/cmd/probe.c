// SPDX-License-Identifier: GPL-2.0
/* kvmwatch probe: what this kernel lets kvmwatch observe, and why not. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "commands.h"
#include "options.h"
#include "core/bpf_maps.h"
#include "core/json_figures.h"
#include "views/probe_report.h"
#include "core/runner.h"
#include "core/session.h"

static void probe_usage(FILE *out)
{
	fprintf(out, "usage: kvmwatch probe [-o text|json]\n"
		"  -o, --output FMT    text (default) or json\n"
		GLOBAL_OPTIONS_HELP);
}

static json_t *probe_json(const struct kernel_caps *caps,
			  const struct attach_plan *plan,
			  const struct vgic_facts *vgic, int rc,
			  const char *reason)
{
	json_t *dets = json_object(), *doc;
	int det;

	for (det = 0; det < DET_COUNT; det++)
		json_object_set_new(dets, detectors[det].name,
				    json_detector(plan, det));
	doc = json_pack("{s:s, s:i, s:s, s:f, s:o, s:{s:b, s:s?}, s:{s:s, s:s?}, s:{s:b, s:s?}, s:o, s:b, s:s?}",
			 "kvmwatch", KVMWATCH_VERSION,
			 "schema", KVMWATCH_JSON_SCHEMA,
			 "type", "probe",
			 "time", (double)time(NULL),
			 "host", json_host(caps),
			 "privileges", "ok", caps->privileged,
			 "why_not", caps->privileged ? NULL : caps->privilege_why,
			 "fentry", "status",
			 caps->fentry_global_err == 0 ? "works" :
			 caps->fentry_global_err < 0 ? "refused" : "not-tried",
			 "why_not", caps->fentry_global_err < 0 ? caps->fentry_why : NULL,
			 "kprobes", "available", caps->kprobes,
			 "why_not", caps->kprobes ? NULL : caps->kprobes_why,
			 "detectors", dets,
			 "can_run", rc == KW_EXIT_OK,
			 "reason", reason);
	json_object_set_new(doc, "vgic", json_vgic(caps, vgic));
	if (caps->privileged)
		json_object_set_new(doc, "map_reads",
				    json_pack("{s:s, s:s?}", "method",
					      map_dump_why_not() ? "lookups" : "iterator",
					      "why_not", map_dump_why_not()));
	return doc;
}

static int parse_probe_options(int argc, char **argv,
			       enum output_format *format)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 0;	/* all of getopt's state, not only its index */
	while ((opt = getopt_long(argc, argv, GLOBAL_SHORTOPTS "o:h",
				  longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (opt_output("probe", optarg, format))
				return KW_EXIT_USAGE;
			break;
		case 'h':
			probe_usage(stdout);
			return OPTIONS_SHOWN;
		default:
			if (opt_is_global(opt)) {
				if (opt_global(opt, optarg))
					return KW_EXIT_USAGE;
				break;
			}
			probe_usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		kw_warn("probe: unexpected argument '%s'", argv[optind]);
		return KW_EXIT_USAGE;
	}
	return KW_EXIT_OK;
}

int cmd_probe_parse(int argc, char **argv)
{
	enum output_format format = OUTPUT_TEXT;

	return parse_probe_options(argc, argv, &format);
}

int cmd_probe(int argc, char **argv)
{
	enum output_format format = OUTPUT_TEXT;
	struct kernel_caps caps;
	struct attach_plan plan = { 0 };
	struct vgic_facts vgic = { 0 };
	const char *reason = NULL;
	int rc;

	rc = parse_probe_options(argc, argv, &format);
	if (rc)
		return rc == OPTIONS_SHOWN ? KW_EXIT_OK : rc;

	rc = session_prepare(&caps, &plan, (1u << DET_COUNT) - 1);
	/* "available" is what loads here: try each detector's programs. */
	if (rc == KW_EXIT_OK) {
		runner_trial(&plan, (1u << DET_COUNT) - 1);
		vgic_probe(&caps, &vgic);
	}
	if (rc == KW_EXIT_OK &&
	    attach_plan_status(&plan, DET_EXITS) == DETECTOR_UNAVAILABLE) {
		rc = KW_EXIT_UNSUPPORTED;
		reason = caps.kvm_loaded ?
			"the kvm:kvm_exit tracepoint cannot be watched" :
			"KVM is not loaded (no kvm:* tracepoints): load kvm_intel, kvm_amd or kvm";
		kw_warn("%s", reason);
	} else if (rc == KW_EXIT_PERMISSION) {
		reason = caps.privilege_why;
	} else if (rc != KW_EXIT_OK) {
		reason = !caps.btf_vmlinux ? "no kernel BTF (/sys/kernel/btf/vmlinux)" :
			!caps.tracefs ? caps.tracefs_why : "unsupported kernel";
	}
	if (format == OUTPUT_JSON) {
		if (json_emit(stdout, probe_json(&caps, &plan, &vgic, rc,
						 reason)))
			rc = KW_EXIT_RUNTIME;
	} else {
		text_probe(stdout, &caps, &plan);
		text_vgic(stdout, &caps, &vgic);
		if (reason)
			printf("\ncannot run: %s\n", reason);
	}
	caps_release(&caps);
	return rc;
}
