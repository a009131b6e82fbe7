// SPDX-License-Identifier: GPL-2.0
/* What `kvmwatch probe` reports, as text and JSON: the host and, per
 * detector, the mode each probe point got and what is lost. */
#include <string.h>

#include "probe_report.h"
#include "core/bpf_maps.h"

static const char *yes_no(bool v)
{
	return v ? "yes" : "no";
}

/* A point's reason that is only the host's (on its own line above). */
static bool host_wide(const char *why, const char *host_why)
{
	return host_why && host_why[0] && !strcmp(why, host_why);
}

static void text_point(FILE *out, const struct kernel_caps *caps,
		       const struct point_state *s)
{
	const struct probe_point *p = s->point;
	enum attach_mode mode = s->attach_failed ? ATTACH_NONE : s->mode;

	fprintf(out, "  %-22s %-10s", p->name, attach_mode_name(mode));
	if (mode == ATTACH_FENTRY || mode == ATTACH_KPROBE)
		fprintf(out, " %s%s%s%s", p->func, s->func_module[0] ? " [" : "",
			s->func_module, s->func_module[0] ? "]" : "");
	else if (mode == ATTACH_TRACEPOINT)
		fprintf(out, " %s", p->tracepoint);
	fputc('\n', out);
	if (p->func && mode != ATTACH_FENTRY && s->fentry_why[0] &&
	    !host_wide(s->fentry_why, caps->fentry_why))
		fprintf(out, "  %22s   fentry: %s\n", "", s->fentry_why);
	if (p->func && mode != ATTACH_FENTRY && mode != ATTACH_KPROBE &&
	    s->kprobe_why[0] && !host_wide(s->kprobe_why, caps->kprobes_why))
		fprintf(out, "  %22s   kprobe: %s\n", "", s->kprobe_why);
	if (s->tracepoint_why[0] && mode != ATTACH_FENTRY &&
	    mode != ATTACH_KPROBE)
		fprintf(out, "  %22s   tracepoint: %s\n", "", s->tracepoint_why);
	if (s->attach_failed)
		fprintf(out, "  %22s   attach: %s\n", "", s->attach_error);
	if (s->opted_out)
		fprintf(out, "  %22s   off: %s (--point %s turns it on)\n", "",
			p->opt_in, p->name);
	if (point_loses(s))
		fprintf(out, "  %22s   lost: %s\n", "", p->lost);
}

void text_probe(FILE *out, const struct kernel_caps *caps,
		const struct attach_plan *plan)
{
	int det;
	size_t i;

	fprintf(out, "kernel       %s (%s)\n", caps->release, arch_name(caps->arch));
	fprintf(out, "privileges   %s\n", caps->privileged ? "ok" : caps->privilege_why);
	fprintf(out, "BTF          vmlinux: %s; KVM types in: %s; KVM module BTF: %s\n",
		yes_no(caps->btf_vmlinux), caps->kvm_btf[0] ? caps->kvm_btf : "none",
		caps->kvm_module_btfs[0] ? caps->kvm_module_btfs : "none");
	fprintf(out, "KVM          %s, vendor %s (%s), /dev/kvm %s\n",
		caps->kvm_loaded ? "loaded" : "not loaded",
		vendor_name(caps->vendor),
		caps->vendor_module[0] ? caps->vendor_module : "no vendor module",
		caps->dev_kvm ? "present" : "absent");
	fprintf(out, "tracefs      %s\n", caps->tracefs ? caps->tracefs_path : caps->tracefs_why);
	fprintf(out, "fentry       %s\n", caps->fentry_global_err == 0 ? "works" :
		caps->fentry_global_err < 0 ? caps->fentry_why : "not tried");
	fprintf(out, "kprobes      %s\n", caps->kprobes ? "available" : caps->kprobes_why);
	if (caps->privileged && map_dump_why_not())
		fprintf(out, "map reads    bpf(2) lookups: the BPF iterator did not load (%s); classic tracepoint programs can skip events during a read\n",
			map_dump_why_not());
	else if (caps->privileged)
		fprintf(out, "map reads    BPF iterator\n");
	for (det = 0; det < DET_COUNT; det++) {
		fprintf(out, "\ndetector %s (%s): %s\n", detectors[det].name,
			detectors[det].title,
			detector_status_name(attach_plan_status(plan, det)));
		for (i = 0; i < plan->count; i++) {
			const struct point_state *s = &plan->points[i];

			if (s->point->detector == (enum detector_id)det &&
			    s->applicable)
				text_point(out, caps, s);
		}
	}
}

json_t *json_host(const struct kernel_caps *caps)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s?, s:s, s:b, s:s?}",
			 "kernel", caps->release,
			 "arch", arch_name(caps->arch),
			 "vendor", vendor_name(caps->vendor),
			 "kvm_module", caps->vendor_module[0] ?
				caps->vendor_module : "none",
			 "dev_kvm", caps->dev_kvm,
			 "btf_vmlinux", caps->btf_vmlinux,
			 "kvm_btf", caps->kvm_btf[0] ? caps->kvm_btf : NULL,
			 "kvm_module_btf", caps->kvm_module_btfs,
			 "tracefs", caps->tracefs,
			 "tracefs_path", caps->tracefs ? caps->tracefs_path : NULL);
}

static json_t *json_point(const struct point_state *s)
{
	const struct probe_point *p = s->point;
	json_t *point, *why = json_object();

	point = json_pack("{s:s, s:s?, s:s?, s:b, s:b}",
			  "name", p->name, "function", p->func,
			  "tracepoint", p->tracepoint, "required", p->required,
			  "applicable", s->applicable);
	if (!s->applicable) {
		json_decref(why);
		return point;
	}
	if (p->func) {
		json_object_set_new(point, "function_found",
				    json_boolean(s->func_found));
		if (s->func_module[0])
			json_object_set_new(point, "module",
					    json_string(s->func_module));
	}
	if (p->tracepoint)
		json_object_set_new(point, "tracepoint_found",
				    json_boolean(s->tracepoint_found));
	json_object_set_new(point, "mode",
			    json_string(attach_mode_name(s->attach_failed ?
					ATTACH_NONE : s->mode)));
	if (s->fentry_why[0])
		json_object_set_new(why, "fentry", json_string(s->fentry_why));
	if (s->kprobe_why[0])
		json_object_set_new(why, "kprobe", json_string(s->kprobe_why));
	if (s->tracepoint_why[0])
		json_object_set_new(why, "tracepoint",
				    json_string(s->tracepoint_why));
	if (s->attach_failed)
		json_object_set_new(why, "attach", json_string(s->attach_error));
	if (s->opted_out)
		json_object_set_new(why, "opt_in", json_string(p->opt_in));
	json_object_set_new(point, "why_not", why);
	json_object_set_new(point, "opt_in", json_boolean(p->opt_in));
	json_object_set_new(point, "lost", point_loses(s) ?
			    json_string(p->lost) : json_null());
	return point;
}

json_t *json_detector(const struct attach_plan *plan, enum detector_id det)
{
	json_t *points = json_array(), *lost = json_array();
	size_t i;

	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector != det)
			continue;
		json_array_append_new(points, json_point(s));
		if (point_loses(s))
			json_array_append_new(lost, json_string(s->point->lost));
	}
	return json_pack("{s:s, s:s, s:b, s:s, s:o, s:o}",
			 "name", detectors[det].name,
			 "title", detectors[det].title,
			 "implemented", detector_implemented(det),
			 "status", detector_status_name(attach_plan_status(plan, det)),
			 "lost", lost, "points", points);
}

json_t *json_vgic(const struct kernel_caps *caps, const struct vgic_facts *v)
{
	json_t *o;

	if (caps->arch != ARCH_ARM64)
		return json_null();
	if (!v->probed)
		return json_pack("{s:b, s:s}", "probed", 0, "why_not", v->why);
	o = json_pack("{s:b, s:b, s:b}", "probed", 1, "v2", v->v2, "v3",
		      v->v3);
	json_object_set_new(o, "icc_ctlr_el1", v->ctlr_read ?
		json_pack("{s:I, s:i, s:i, s:b, s:b}",
			  "value", (json_int_t)v->icc_ctlr,
			  "priority_bits", v->pri_bits,
			  "id_bits", v->id_bits, "seis", v->seis,
			  "a3v", v->a3v) : json_null());
	if (!v->ctlr_read)
		json_object_set_new(o, "why_not", json_string(v->ctlr_why));
	return o;
}

void text_vgic(FILE *out, const struct kernel_caps *caps,
	       const struct vgic_facts *v)
{
	if (caps->arch != ARCH_ARM64)
		return;
	if (!v->probed) {
		fprintf(out, "vGIC         not probed: %s\n", v->why);
		return;
	}
	fprintf(out, "vGIC         KVM creates: GICv3 %s, GICv2 %s\n",
		yes_no(v->v3), yes_no(v->v2));
	if (v->ctlr_read)
		fprintf(out, "             ICH_VTR_EL2 as a guest sees it (ICC_CTLR_EL1 0x%llx): %u priority bits, %u-bit INTIDs, SEIS %s, A3V %s\n",
			(unsigned long long)v->icc_ctlr, v->pri_bits,
			v->id_bits, yes_no(v->seis), yes_no(v->a3v));
	else
		fprintf(out, "             ICC_CTLR_EL1 not read: %s\n",
			v->ctlr_why);
}
