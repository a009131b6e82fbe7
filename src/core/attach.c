// SPDX-License-Identifier: GPL-2.0
/* Choosing, per probe point, the best attach mode the kernel allows, and
 * loading and attaching what was chosen. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "attach.h"
#include "bpf_log.h"
#include "detector.h"

static const char *const mode_names[] = {
	[ATTACH_NONE] = "none",
	[ATTACH_FENTRY] = "fentry",
	[ATTACH_KPROBE] = "kprobe",
	[ATTACH_TRACEPOINT] = "tracepoint",
};

const char *attach_mode_name(enum attach_mode mode)
{
	return mode <= ATTACH_TRACEPOINT ? mode_names[mode] : "none";
}

const char *detector_status_name(enum detector_status status)
{
	switch (status) {
	case DETECTOR_AVAILABLE: return "available";
	case DETECTOR_DEGRADED: return "degraded";
	case DETECTOR_UNAVAILABLE: return "unavailable";
	case DETECTOR_NOT_APPLICABLE: return "not-applicable";
	default: return "not-implemented";
	}
}

enum attach_mode attach_mode_limit = ATTACH_FENTRY;

int parse_attach_mode(const char *arg, enum attach_mode *out)
{
	int mode = string_index(mode_names, ARRAY_SIZE(mode_names), arg);

	if (mode <= ATTACH_NONE)
		return -EINVAL;
	*out = mode;
	return 0;
}

static void choose_mode(struct kernel_caps *caps, struct point_state *s)
{
	const struct probe_point *p = s->point;

	if (p->func) {
		if (!s->func_found) {
			snprintf(s->fentry_why, WHY_LEN,
				 "%s is not in /proc/kallsyms (absent from this kernel, or inlined)",
				 p->func);
			snprintf(s->kprobe_why, WHY_LEN, "%s", s->fentry_why);
		} else if (attach_mode_limit > ATTACH_FENTRY) {
			snprintf(s->fentry_why, WHY_LEN, "not tried: --mode %s",
				 attach_mode_name(attach_mode_limit));
		} else if (caps_fentry_can_attach(caps, p->func, s->func_module,
						  s->fentry_why, WHY_LEN)) {
			s->mode = ATTACH_FENTRY;
			return;
		}
		if (s->func_found && attach_mode_limit > ATTACH_KPROBE) {
			snprintf(s->kprobe_why, WHY_LEN, "not tried: --mode %s",
				 attach_mode_name(attach_mode_limit));
		} else if (s->func_found && !caps->kprobes) {
			snprintf(s->kprobe_why, WHY_LEN, "%s", caps->kprobes_why);
		} else if (s->func_found) {
			s->mode = ATTACH_KPROBE;
			return;
		}
	}
	if (!p->tracepoint)
		return;
	if (!caps->tracefs) {
		snprintf(s->tracepoint_why, WHY_LEN, "%s", caps->tracefs_why);
		return;
	}
	if (!s->tracepoint_found) {
		snprintf(s->tracepoint_why, WHY_LEN,
			 "tracepoint %s does not exist%s", p->tracepoint,
			 !strncmp(p->tracepoint, "kvm/", 4) && !caps->kvm_loaded ?
			 " (KVM is not loaded: modprobe kvm_intel or kvm_amd)" : "");
		return;
	}
	s->mode = ATTACH_TRACEPOINT;
}

/* A point that only completes another's tracepoint form is idle when that
 * point got a stronger mode. */
void attach_plan_drop_unneeded(struct attach_plan *plan)
{
	size_t i, j;

	for (i = 0; i < plan->count; i++) {
		struct point_state *s = &plan->points[i];
		const char *partner = s->point->completes;

		if (!partner || !s->applicable)
			continue;
		for (j = 0; j < plan->count; j++) {
			const struct point_state *p = &plan->points[j];

			if (p->point->detector != s->point->detector ||
			    strcmp(p->point->name, partner) ||
			    p->mode == ATTACH_TRACEPOINT)
				continue;
			s->mode = ATTACH_NONE;
			s->unneeded = true;
			snprintf(s->tracepoint_why, WHY_LEN,
				 "not needed: %s is watched in %s mode",
				 partner, attach_mode_name(p->mode));
		}
	}
}

int attach_plan_resolve(struct attach_plan *plan, struct kernel_caps *caps,
			unsigned int detector_mask)
{
	size_t i, nq = 0, npoints = probe_point_count();
	struct ksym_query queries[64], facts[32];
	size_t nfacts = 0;
	enum detector_id det;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->caps = caps;
	for (i = 0; i < npoints; i++) {
		const struct probe_point *p = probe_point_at(i);
		struct point_state *s;

		if (!(detector_mask & (1u << p->detector)))
			continue;
		if (plan->count == sizeof(plan->points) / sizeof(plan->points[0]))
			return -E2BIG;
		s = &plan->points[plan->count++];
		s->point = p;
		s->applicable = (p->arches & caps->arch) &&
				(caps->vendor == VENDOR_NONE ||
				 (p->vendors & caps->vendor));
		if (p->tracepoint)
			s->tracepoint_found = caps_tracepoint_exists(caps,
								     p->tracepoint);
		if (p->func && s->applicable)
			queries[nq++] = (struct ksym_query){ .name = p->func };
	}
	/* The detectors' other symbols in the same pass (it is kept), and
	 * their questions about KVM's types while the BTF is parsed. */
	for (det = 0; det < DET_COUNT; det++) {
		const struct detector_ops *ops = detector_ops(det);
		const char *const *name;

		if (!ops || !(detector_mask & (1u << det)))
			continue;
		for (name = ops->kernel_symbols; name && *name &&
		     nfacts < ARRAY_SIZE(facts); name++)
			facts[nfacts++] = (struct ksym_query){ .name = *name };
		for (name = ops->kernel_members; name && *name; name++)
			caps_answer_member(caps, *name);
	}
	err = caps_lookup_ksyms_also(queries, nq, facts, nfacts);
	if (err)
		kw_warn("cannot read /proc/kallsyms: %s; function probes disabled",
			strerror(-err));
	kw_timing("kallsyms read, KVM's types asked");
	for (i = 0, nq = 0; i < plan->count; i++) {
		struct point_state *s = &plan->points[i];

		if (s->point->func && s->applicable) {
			s->func_found = queries[nq].found;
			s->func_addr = queries[nq].addr;
			snprintf(s->func_module, sizeof(s->func_module), "%s",
				 queries[nq].module);
			nq++;
		}
		if (s->applicable && s->point->opt_in &&
		    !point_opted_in(s->point))
			s->opted_out = true;
		else if (s->applicable)
			choose_mode(caps, s);
	}
	attach_plan_drop_unneeded(plan);
	return 0;
}

struct point_state *attach_plan_point(const struct attach_plan *plan,
				      enum detector_id det, const char *name)
{
	size_t i;

	for (i = 0; i < plan->count; i++)
		if (plan->points[i].point->detector == det &&
		    !strcmp(plan->points[i].point->name, name))
			return (struct point_state *)&plan->points[i];
	return NULL;
}

bool point_loses(const struct point_state *s)
{
	return s->point->lost && (point_is_degraded(s) || s->opted_out);
}

bool point_is_degraded(const struct point_state *s)
{
	if (!s->applicable || s->unneeded || s->opted_out)
		return false;
	if (s->attach_failed || s->mode == ATTACH_NONE)
		return true;
	return s->point->func && s->mode == ATTACH_TRACEPOINT;
}

enum detector_status attach_plan_status(const struct attach_plan *plan,
					enum detector_id det)
{
	bool any = false, degraded = false, watched = false;
	size_t i;

	if (!detector_implemented(det))
		return DETECTOR_NOT_IMPLEMENTED;
	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector != det || !s->applicable)
			continue;
		any = true;
		if (s->point->required &&
		    (s->mode == ATTACH_NONE || s->attach_failed))
			return DETECTOR_UNAVAILABLE;
		degraded |= point_is_degraded(s);
		watched |= !point_is_upkeep(s->point) &&
			s->mode != ATTACH_NONE && !s->attach_failed;
	}
	if (!any)
		return DETECTOR_NOT_APPLICABLE;
	/* Not one point left: its programs did not load. */
	if (!watched)
		return DETECTOR_UNAVAILABLE;
	return degraded ? DETECTOR_DEGRADED : DETECTOR_AVAILABLE;
}

static const struct {
	const char *prefix;
	enum attach_mode mode;
} prog_prefixes[] = {
	{ "fentry_", ATTACH_FENTRY },
	{ "fexit_", ATTACH_FENTRY },
	{ "kprobe_", ATTACH_KPROBE },
	{ "kretprobe_", ATTACH_KPROBE },
	{ "tp_", ATTACH_TRACEPOINT },
};

/* Map a program name like "fexit_apic_timer_fn" to its point and mode. */
static struct point_state *program_point(struct attach_plan *plan,
					 enum detector_id det,
					 const char *prog_name,
					 enum attach_mode *mode)
{
	size_t i, j, len;

	for (i = 0; i < sizeof(prog_prefixes) / sizeof(prog_prefixes[0]); i++) {
		len = strlen(prog_prefixes[i].prefix);
		if (strncmp(prog_name, prog_prefixes[i].prefix, len))
			continue;
		for (j = 0; j < plan->count; j++) {
			struct point_state *s = &plan->points[j];

			if (s->point->detector == det &&
			    !strcmp(prog_name + len, s->point->name)) {
				*mode = prog_prefixes[i].mode;
				return s;
			}
		}
	}
	return NULL;
}

int attach_plan_apply(struct attach_plan *plan, enum detector_id det,
		      struct bpf_object *obj)
{
	struct bpf_program *prog;
	enum attach_mode mode;
	struct point_state *s;

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);

		s = program_point(plan, det, name, &mode);
		if (!s) {
			/* A program outside the table is a kvmwatch bug. */
			kw_warn("BPF program %s matches no probe point", name);
			return -EINVAL;
		}
		bpf_program__set_autoload(prog, s->applicable &&
					  !s->attach_failed && s->mode == mode);
	}
	return 0;
}

int attach_plan_attach(struct attach_plan *plan, enum detector_id det,
		       struct bpf_object *obj, struct bpf_link **links,
		       size_t max_links)
{
	struct bpf_program *prog;
	enum attach_mode mode;
	struct point_state *s;
	struct bpf_link *link;
	size_t count = 0;

	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__autoload(prog))
			continue;
		s = program_point(plan, det, bpf_program__name(prog), &mode);
		if (!s || s->attach_failed)
			continue;
		if (count == max_links)
			return -E2BIG;
		link = bpf_program__attach(prog);
		if (!link) {
			int err = errno;

			s->attach_failed = true;
			snprintf(s->attach_error, WHY_LEN, "attaching %s failed: %s",
				 bpf_program__name(prog), strerror(err));
			kw_warn("%s: %s", detectors[det].name, s->attach_error);
			continue;
		}
		links[count++] = link;
	}
	return count;
}

void attach_plan_fail_detector(struct attach_plan *plan, enum detector_id det,
			       const char *error)
{
	size_t i;

	for (i = 0; i < plan->count; i++) {
		struct point_state *s = &plan->points[i];

		if (s->point->detector != det || s->mode == ATTACH_NONE)
			continue;
		s->attach_failed = true;
		snprintf(s->attach_error, WHY_LEN, "%s", error);
	}
}

void attach_plan_refuse(struct attach_plan *plan, enum detector_id det,
			const char *error)
{
	kw_warn("%s: %s", detectors[det].name, error);
	attach_plan_fail_detector(plan, det, error);
}

int attach_plan_load(struct attach_plan *plan, enum detector_id det,
		     struct bpf_object_skeleton *skel, struct bpf_link **links,
		     size_t max_links, int *nlinks)
{
	char error[WHY_LEN];
	int err;

	err = attach_plan_apply(plan, det, *skel->obj);
	if (err) {
		snprintf(error, sizeof(error),
			 "internal: programs and probe points disagree");
		goto fail;
	}
	bpf_log_reset();
	kw_timing("%s: opened", detectors[det].name);
	err = bpf_object__load_skeleton(skel);
	kw_timing("%s: loaded (maps, CO-RE, verifier)", detectors[det].name);
	kw_timing_heap("%s", detectors[det].name);
	if (err) {
		char why[WHY_LEN - 64];

		if (!bpf_log_failure(why, sizeof(why)))
			snprintf(why, sizeof(why), "%s", strerror(-err));
		snprintf(error, sizeof(error),
			 "loading the BPF programs failed: %s (-v shows the verifier's log)",
			 why);
		goto fail;
	}
	/* A trial (no links to fill) stops at the load. */
	if (!links) {
		*nlinks = 0;
		return 0;
	}
	err = attach_plan_attach(plan, det, *skel->obj, links, max_links);
	if (err < 0) {
		snprintf(error, sizeof(error), "attaching failed: %s",
			 strerror(-err));
		goto fail;
	}
	*nlinks = err;
	kw_timing("%s: attached %d links", detectors[det].name, err);
	return 0;
fail:
	attach_plan_refuse(plan, det, error);
	return err;
}

uint64_t bpf_program_missed_runs(const struct bpf_program *prog)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(prog);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

uint64_t bpf_object_missed_runs(const struct bpf_object *obj)
{
	struct bpf_program *prog;
	uint64_t missed = 0;

	bpf_object__for_each_program(prog, obj)
		missed += bpf_program_missed_runs(prog);
	return missed;
}
