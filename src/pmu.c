// SPDX-License-Identifier: GPL-2.0
/*
 * User-space half of bpf/pmu.bpf.c: find out which vPMU mechanism the
 * kernel uses (kallsyms, BTF, module parameters, perf's PMU devices),
 * load and attach what the plan chose, sample the maps.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "detector.h"
#include "map_read.h"
#include "pmu_model.h"
#include "pmu.skel.h"

struct pmu_detector {
	struct pmu_bpf *skel;
	struct bpf_link *links[32];
	int nlinks;
	struct pmu_run_info run;
};

/* The point of each op (points.c). */
static const char *const op_points[PMU_OP_COUNT] = {
	[PMU_OP_RESTORE_GUEST] = "pmu_restore_guest",
	[PMU_OP_RESYNC_GUEST] = "pmu_restore_guest",
	[PMU_OP_RESTORE_HOST] = "pmu_restore_host",
	[PMU_OP_MEDIATED_LOAD] = "mediated_pmu_load",
	[PMU_OP_MEDIATED_PUT] = "mediated_pmu_put",
	[PMU_OP_LOAD_PMCS] = "load_guest_pmcs",
	[PMU_OP_PUT_PMCS] = "put_guest_pmcs",
	[PMU_OP_GUEST_MSRS] = "guest_get_msrs",
	[PMU_OP_HANDLE_EVENT] = "pmu_handle_event",
	[PMU_OP_DELIVER_PMI] = "pmu_deliver_pmi",
};

/* ------------------------------------------------------- host facts */

/* A bool module parameter: 1, 0, or -1 when the kernel has none. */
static int read_param(const char *module, const char *param)
{
	char path[128], buf[16];

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module,
		 param);
	if (read_text_file(path, buf, sizeof(buf)))
		return -1;
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

/* perf's core PMU: x86 "cpu" (or the hybrid "cpu_core"); on arm64 the
 * arm_pmu devices are the ones with a "cpus" attribute. */
static void find_host_pmu(enum kw_arch arch, char *name, size_t len)
{
	static const char *const dir = "/sys/bus/event_source/devices";
	static const char *const x86[] = { "cpu", "cpu_core" };
	char path[320];
	struct dirent *e;
	size_t i;
	DIR *d;

	name[0] = '\0';
	if (arch == ARCH_X86_64) {
		for (i = 0; i < sizeof(x86) / sizeof(x86[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, x86[i]);
			if (path_exists(path)) {
				snprintf(name, len, "%s", x86[i]);
				return;
			}
		}
		return;
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/cpus", dir, e->d_name);
		if (path_exists(path) && strlen(e->d_name) < len) {
			memcpy(name, e->d_name, strlen(e->d_name) + 1);
			break;
		}
	}
	closedir(d);
}

static bool cpu_has_flag(const char *flag)
{
	char line[4096], *p;
	size_t n = strlen(flag);
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (p = strstr(line, flag); p; p = strstr(p + 1, flag))
			if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' ||
					     !p[n])) {
				found = true;
				break;
			}
		break;	/* the first CPU says it for all */
	}
	fclose(f);
	return found;
}

static bool btf_struct_has_member(const struct btf *btf, const char *sname,
				  const char *mname)
{
	const struct btf_member *m;
	const struct btf_type *t;
	int id, i;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), mname))
			return true;
	return false;
}

/* Look in vmlinux and in the KVM modules' BTF (Debian builds KVM as
 * modules; their types are not in vmlinux). */
static bool kernel_has_member(const struct kernel_caps *caps,
			      const char *sname, const char *mname)
{
	static const char *const modules[] = { "kvm", "kvm_amd", "kvm_intel" };
	struct btf *vmlinux = caps->vmlinux_btf, *mod;
	char path[64];
	bool found;
	size_t i;

	if (btf_struct_has_member(vmlinux, sname, mname))
		return true;
	for (i = 0; vmlinux && i < sizeof(modules) / sizeof(modules[0]); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", modules[i]);
		if (!path_exists(path))
			continue;
		mod = btf__load_module_btf(modules[i], vmlinux);
		found = btf_struct_has_member(mod, sname, mname);
		btf__free(mod);
		if (found)
			return true;
	}
	return false;
}

static void gather_facts(const struct kernel_caps *caps,
			 struct pmu_host_facts *f)
{
	struct ksym_query q[] = {
		{ .name = "kvm_mediated_pmu_load" },
		{ .name = "perf_load_guest_context" },
		{ .name = "kvm_vcpu_pmu_restore_guest" },
		{ .name = "perf_guest_get_msrs" },
	};

	memset(f, 0, sizeof(*f));
	f->arch = caps->arch;
	f->vendor = caps->vendor;
	f->enable_pmu = read_param("kvm", "enable_pmu");
	f->enable_mediated_pmu = read_param(caps->vendor == VENDOR_VMX ?
					    "kvm_intel" : "kvm_amd",
					    "enable_mediated_pmu");
	if (f->enable_mediated_pmu < 0)
		f->enable_mediated_pmu = read_param("kvm",
						    "enable_mediated_pmu");
	f->vpmc = read_param("kvm_amd", "vpmc");
	find_host_pmu(caps->arch, f->host_pmu, sizeof(f->host_pmu));
	if (caps->arch == ARCH_X86_64)
		f->cpu_perfctr_virt = cpu_has_flag("perfctr_virt");
	if (!caps_lookup_ksyms(q, sizeof(q) / sizeof(q[0]))) {
		f->has_mediated_load = q[0].found;
		f->has_perf_guest_context = q[1].found;
		f->has_restore_guest = q[2].found;
		f->has_guest_get_msrs = q[3].found;
	}
	if (caps->arch == ARCH_X86_64) {
		f->btf_vmcb_pmc = kernel_has_member(caps, "vmcb_save_area",
						    "perf_cntr_global_control");
		f->btf_mediated_ops = kernel_has_member(caps, "kvm_pmu_ops",
							"mediated_load");
	}
}

/* ------------------------------------------------------- the plan */

static void watch_state(const struct attach_plan *plan, const char *point,
			struct pmu_watch_state *w)
{
	const struct point_state *s = attach_plan_point(plan, DET_PMU, point);

	memset(w, 0, sizeof(*w));
	if (!s || !s->applicable)
		return;
	if (s->mode != ATTACH_NONE && !s->attach_failed) {
		w->state = PMU_WATCH_ON;
		w->mode = s->mode;
		return;
	}
	w->state = PMU_WATCH_OFF;
	if (s->attach_failed)
		snprintf(w->why, sizeof(w->why), "%s", s->attach_error);
	else if (!s->point->func)
		snprintf(w->why, sizeof(w->why), "%s", s->tracepoint_why);
	else if (!strcmp(s->fentry_why, s->kprobe_why) || !s->kprobe_why[0])
		snprintf(w->why, sizeof(w->why), "%s", s->fentry_why);
	else
		snprintf(w->why, sizeof(w->why), "fentry: %.80s; kprobe: %.90s",
			 s->fentry_why, s->kprobe_why);
}

static void note_watched(const struct attach_plan *plan,
			 struct pmu_run_info *run, bool split)
{
	struct pmu_watch_state *resync = &run->ops[PMU_OP_RESYNC_GUEST];
	int op;

	for (op = 0; op < PMU_OP_COUNT; op++)
		watch_state(plan, op_points[op], &run->ops[op]);
	if (resync->state == PMU_WATCH_ON && !split) {
		resync->state = PMU_WATCH_OFF;
		snprintf(resync->why, sizeof(resync->why),
			 "kvm_arch_vcpu_load is not watched: every restore_guest counts as a load");
	}
	watch_state(plan, run->facts.arch == ARCH_ARM64 ? "sys_access" :
		    "kvm_msr", &run->regs);
	watch_state(plan, "pmu_exit", &run->exits);
	watch_state(plan, "pmu_vcpu_load", &run->ids);
}

/* ------------------------------------------------------- the detector */

static void pmu_stop(struct pmu_detector *det)
{
	int i;

	for (i = 0; i < det->nlinks; i++)
		bpf_link__destroy(det->links[i]);
	det->nlinks = 0;
	pmu_bpf__destroy(det->skel);
	det->skel = NULL;
}

/* restore_guest is told apart from re-syncs only when the vCPU load it
 * runs in is watched too. */
static bool resync_split(const struct attach_plan *plan)
{
	const struct point_state *g =
		attach_plan_point(plan, DET_PMU, "pmu_restore_guest");
	const struct point_state *l =
		attach_plan_point(plan, DET_PMU, "pmu_vcpu_load");

	return g && l && g->applicable && l->applicable &&
		g->mode != ATTACH_NONE && l->mode != ATTACH_NONE;
}

static int pmu_start(struct pmu_detector *det, struct attach_plan *plan,
		     uint32_t pid)
{
	char error[WHY_LEN];
	bool split;
	int err;

	memset(det, 0, sizeof(*det));
	gather_facts(plan->caps, &det->run.facts);
	pmu_mechanism_decide(&det->run.facts, &det->run.mech);
	det->skel = pmu_bpf__open();
	if (!det->skel) {
		err = -errno;
		snprintf(error, sizeof(error), "opening the BPF object failed: %s",
			 strerror(-err));
		attach_plan_refuse(plan, DET_PMU, error);
		return err;
	}
	det->skel->rodata->filter_pid = pid;
	split = resync_split(plan);
	det->skel->rodata->split_resync = split;
	err = attach_plan_load(plan, DET_PMU, det->skel->skeleton, det->links,
			       sizeof(det->links) / sizeof(det->links[0]),
			       &det->nlinks);
	if (err) {
		pmu_stop(det);
		return err;
	}
	note_watched(plan, &det->run, split);
	return 0;
}

static int pmu_sample(struct pmu_detector *det, struct pmu_sample *out)
{
	void *vcpus = NULL, *regs = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->ts_ns = monotonic_ns();
	out->run = det->run;
	err = map_read_all(bpf_map__fd(det->skel->maps.pmu_vcpus),
			   sizeof(struct pmu_vcpu_key),
			   sizeof(struct pmu_vcpu_record),
			   offsetof(struct pmu_vcpu_record, stats), &vcpus,
			   &out->nvcpus);
	if (err)
		return err;
	err = map_read_all(bpf_map__fd(det->skel->maps.pmu_regs),
			   sizeof(struct pmu_reg_key),
			   sizeof(struct pmu_reg_record),
			   offsetof(struct pmu_reg_record, stats), &regs,
			   &out->nregs);
	out->vcpus = vcpus;
	out->regs = regs;
	if (err) {
		pmu_sample_free(out);
		return err;
	}
	pmu_sample_sort(out);
	return 0;
}

/* ------------------------------------------------------- detector_ops */

/* Nothing to run when not one PMU point can be watched. */
static bool ops_can_start(const struct attach_plan *plan, char *why,
			  size_t why_len)
{
	size_t i;

	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector == DET_PMU && s->applicable &&
		    s->mode != ATTACH_NONE)
			return true;
	}
	snprintf(why, why_len,
		 "none of the PMU functions or tracepoints can be watched (kvmwatch probe says why)");
	return false;
}

static int pmu_view_for(const struct pmu_sample *sample, double interval_sec,
			const struct kernel_caps *caps, struct pmu_view *view)
{
	(void)caps;
	return pmu_view_build(sample, interval_sec, view);
}

DETECTOR_BOXED_OPS(struct pmu_detector, pmu_start, pmu_stop,
		   struct pmu_sample, pmu_sample, pmu_sample_delta,
		   pmu_sample_free, struct pmu_view, pmu_view_for,
		   pmu_view_free)

static int ops_nlinks(const void *state)
{
	return ((const struct pmu_detector *)state)->nlinks;
}

static uint64_t ops_missed_runs(const void *state)
{
	return bpf_object_missed_runs(
		((const struct pmu_detector *)state)->skel->obj);
}

/* The VMM processes of base that have exited. */
static size_t ops_find_gone(const void *base, uint32_t *pids, size_t max)
{
	const struct pmu_sample *sample = base;

	return ids_gone(sample->vcpus, sample->nvcpus, sizeof(*sample->vcpus),
			offsetof(struct pmu_vcpu_record, key.pid), pids, max);
}

static void ops_forget(void *state, const uint32_t *pids, size_t n)
{
	struct pmu_detector *det = state;
	typeof(det->skel->maps) *maps = &det->skel->maps;
	struct pmu_sample now;

	if (!n || pmu_sample(det, &now))
		return;
	MAP_DELETE_LISTED(bpf_map__fd(maps->pmu_vcpus), now.vcpus, now.nvcpus,
			  key.pid, key, pids, n);
	MAP_DELETE_LISTED(bpf_map__fd(maps->pmu_opens), now.vcpus, now.nvcpus,
			  key.pid, key.tid, pids, n);
	MAP_DELETE_LISTED(bpf_map__fd(maps->pmu_regs), now.regs, now.nregs,
			  key.pid, key, pids, n);
	pmu_sample_free(&now);
}

static json_t *ops_view_json(const void *view)
{
	return pmu_view_json(view);
}

static void ops_view_text(FILE *out, const void *view, const char *modes)
{
	pmu_view_text(out, view, modes);
}

static int ops_view_metrics(const void *view, struct metric_set *out)
{
	return pmu_view_metrics(view, out);
}

const struct detector_ops pmu_ops = {
	.id = DET_PMU,
	.json_key = "pmu",
	.can_start = ops_can_start,
	.start = boxed_start,
	.nlinks = ops_nlinks,
	.missed_runs = ops_missed_runs,
	.stop = boxed_stop,
	.sample = boxed_sample,
	.delta = boxed_delta,
	.sample_free = boxed_sample_free,
	.find_gone = ops_find_gone,
	.forget = ops_forget,
	.view_build = boxed_view_build,
	.view_free = boxed_view_free,
	.view_json = ops_view_json,
	.view_text = ops_view_text,
	.view_metrics = ops_view_metrics,
};
