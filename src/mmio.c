// SPDX-License-Identifier: GPL-2.0
/* The mmio detector: load, sample, and its views as text, JSON, metrics. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "detector.h"
#include "exits_detector.h"
#include "map_read.h"
#include "mmio_detector.h"
#include "mmio.skel.h"
#include "report.h"

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
	snprintf(buf, len, "%s is watched in %s mode; fentry: %s; kprobe: %s",
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

int mmio_start(struct mmio_detector *det, struct attach_plan *plan,
	       uint32_t pid)
{
	char error[WHY_LEN];
	int err;

	memset(det, 0, sizeof(*det));
	det->skel = mmio_bpf__open();
	if (!det->skel) {
		err = -errno;
		snprintf(error, sizeof(error), "opening the BPF object failed: %s",
			 strerror(-err));
		attach_plan_refuse(plan, DET_MMIO, error);
		return err;
	}
	det->skel->rodata->filter_pid = pid;
	err = attach_plan_load(plan, DET_MMIO, det->skel->skeleton, det->links,
			       sizeof(det->links) / sizeof(det->links[0]),
			       &det->nlinks);
	if (err) {
		mmio_stop(det);
		return err;
	}
	mmio_setup_from_plan(plan, &det->setup);
	return 0;
}

int mmio_sample(struct mmio_detector *det, struct mmio_sample *out)
{
	void *recs = NULL, *threads = NULL, *vms = NULL, *cands = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->ts_ns = monotonic_ns();
	out->setup = det->setup;
	err = map_read_all(bpf_map__fd(det->skel->maps.mmio_stats),
			   sizeof(struct mmio_key), sizeof(struct mmio_record),
			   offsetof(struct mmio_record, stats), &recs,
			   &out->nrecs);
	if (!err)
		err = map_read_all(bpf_map__fd(det->skel->maps.mmio_threads),
				   sizeof(uint32_t),
				   sizeof(struct mmio_thread_record),
				   offsetof(struct mmio_thread_record, t),
				   &threads, &out->nthreads);
	if (!err)
		err = map_read_all(bpf_map__fd(det->skel->maps.mmio_vms),
				   sizeof(uint32_t),
				   sizeof(struct mmio_vm_record),
				   offsetof(struct mmio_vm_record, vm), &vms,
				   &out->nvms);
	if (!err)
		err = map_read_all(bpf_map__fd(det->skel->maps.mmio_candidates),
				   sizeof(struct mmio_key),
				   sizeof(struct mmio_candidate_record),
				   offsetof(struct mmio_candidate_record, c),
				   &cands, &out->ncands);
	out->recs = recs;
	out->threads = threads;
	out->vms = vms;
	out->cands = cands;
	if (err) {
		mmio_sample_free(out);
		return err;
	}
	mmio_sample_sort(out);
	return 0;
}

void mmio_stop(struct mmio_detector *det)
{
	int i;

	for (i = 0; i < det->nlinks; i++)
		bpf_link__destroy(det->links[i]);
	det->nlinks = 0;
	mmio_bpf__destroy(det->skel);
	det->skel = NULL;
}

/* ---- JSON ---- */

static json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *json_ratio(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *json_path(const struct mmio_view *view,
			 const struct mmio_path_view *p)
{
	const struct mmio_setup *s = &view->setup;
	bool costs = s->handler_probed;
	json_t *o = json_pack("{s:o}", "writes", json_u64(p->writes));

	json_object_set_new(o, "exit_reason", p->reason_set ?
			    json_string(p->reason_name) : json_null());
	json_object_set_new(o, "exit_reason_code", p->reason_set ?
			    json_u64(p->reason) : json_null());
	json_object_set_new(o, "other_exit_reasons", json_u64(p->other_reason));
	json_object_set_new(o, "no_exit_seen", json_u64(p->no_exit));
	json_object_set_new(o, "insn_emulated", s->emulate_watched ?
			    json_u64(p->insn_emulated) : json_null());
	json_object_set_new(o, "nested", costs ? json_u64(p->nested) :
			    json_null());
	json_object_set_new(o, "timed", costs ? json_u64(p->timed) :
			    json_null());
	json_object_set_new(o, "preempted", costs ? json_u64(p->preempted) :
			    json_null());
	json_object_set_new(o, "cost_avg_ns", costs && p->timed ?
			    json_u64(p->cost_avg_ns) : json_null());
	json_object_set_new(o, "cost_p50_ns_le", costs && p->timed ?
			    json_u64(p->cost_p50_ns_le) : json_null());
	json_object_set_new(o, "cost_p99_ns_le", costs && p->timed ?
			    json_u64(p->cost_p99_ns_le) : json_null());
	json_object_set_new(o, "cost_max_ns", costs && p->timed ?
			    json_u64(p->max_cost_ns) : json_null());
	json_object_set_new(o, "cost_hist", costs ? json_hist_counts(&p->cost) :
			    json_null());
	return o;
}

static const char *addr_class(const struct mmio_addr_view *a)
{
	int p, seen = 0, which = 0;

	for (p = 0; p < MMIO_PATH_COUNT; p++)
		if (a->path[p].writes) {
			seen++;
			which = p;
		}
	if (!seen)
		return "none";
	return seen > 1 ? "mixed" : mmio_path_name(which);
}

static json_t *json_addr(const struct mmio_view *view,
			 const struct mmio_addr_view *a)
{
	const struct mmio_setup *s = &view->setup;
	json_t *o = json_pack("{s:o, s:i, s:o, s:s, s:o}",
			      "gpa", json_u64(a->gpa),
			      "len", (int)a->len,
			      "candidate", a->candidate < 0 ? json_null() :
			      json_boolean(a->candidate),
			      "class", addr_class(a),
			      "writes", json_u64(a->writes));
	int p;

	for (p = 0; p < MMIO_PATH_COUNT; p++)
		json_object_set_new(o, mmio_path_name(p),
				    json_path(view, &a->path[p]));
	json_object_set_new(o, "fast_misses", s->bus_probed ?
			    json_u64(a->fast_misses) : json_null());
	json_object_set_new(o, "ioeventfd_signals", s->ioeventfd_probed ?
			    json_u64(a->ioeventfd_signals) : json_null());
	json_object_set_new(o, "vcpu_threads", json_integer(a->vcpu_threads));
	return o;
}

static json_t *json_vm(const struct mmio_view *view,
		       const struct mmio_vm_view *vm)
{
	json_t *o = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o}",
			      "pid", (int)vm->pid,
			      "writes", json_u64(vm->writes),
			      "fast_writes", json_u64(vm->by_path[MMIO_PATH_FAST]),
			      "emulated_writes",
			      json_u64(vm->by_path[MMIO_PATH_EMULATED]),
			      "user_writes", json_u64(vm->by_path[MMIO_PATH_USER]),
			      "exits", view->setup.exit_watched &&
			      vm->exits_per_write >= 0 ?
			      json_u64(vm->exits) : json_null());
	json_t *cands, *addrs = json_array();
	size_t i;

	json_object_set_new(o, "exits_per_write", view->setup.exit_watched ?
			    json_ratio(vm->exits_per_write) : json_null());
	if (vm->cands_known) {
		cands = json_array();
		for (i = 0; i < vm->ncands; i++)
			json_array_append_new(cands, json_u64(vm->cands[i]));
	} else {
		cands = json_null();
	}
	json_object_set_new(o, "candidates", cands);
	json_object_set_new(o, "candidates_truncated",
			    json_boolean(vm->cands_truncated));
	for (i = 0; i < vm->naddrs; i++)
		json_array_append_new(addrs, json_addr(view, &vm->addrs[i]));
	json_object_set_new(o, "addresses", addrs);
	return o;
}

json_t *json_mmio_view(const struct mmio_view *view)
{
	const struct mmio_setup *s = &view->setup;
	const struct mmio_fast_path *fp = &view->fast_path;
	json_t *doc, *fast, *totals, *costs, *vms = json_array();
	size_t i;
	int p;

	fast = json_pack("{s:o, s:o, s:s}",
			 "present", fp->state == MMIO_FAST_UNKNOWN ? json_null() :
			 json_boolean(fp->state == MMIO_FAST_PRESENT),
			 "basis", fp->basis ? json_string(fp->basis) :
			 json_null(),
			 "why", fp->why);
	json_object_set_new(fast, "handler", s->handler ?
			    json_string(s->handler) : json_null());
	json_object_set_new(fast, "handler_found", json_boolean(s->handler_found));
	json_object_set_new(fast, "handler_writes", s->handler_probed ?
			    json_u64(fp->handler_writes) : json_null());
	json_object_set_new(fast, "handler_fast_tries",
			    s->handler_probed && s->bus_probed ?
			    json_u64(fp->fast_tries) : json_null());
	json_object_set_new(fast, "candidate_writes_without_fast_try",
			    s->handler_probed && s->bus_probed ?
			    json_u64(fp->slow_candidate_runs) : json_null());
	json_object_set_new(fast, "kvm_fast_mmio_events",
			    json_u64(fp->fast_events));
	json_object_set_new(fast, "nrips", s->nrips < 0 ? json_null() :
			    json_boolean(s->nrips));
	totals = json_pack("{s:o, s:o, s:o, s:o}",
			   "writes", json_u64(view->writes),
			   "fast_writes", json_u64(view->by_path[MMIO_PATH_FAST]),
			   "emulated_writes",
			   json_u64(view->by_path[MMIO_PATH_EMULATED]),
			   "user_writes", json_u64(view->by_path[MMIO_PATH_USER]));
	json_object_set_new(totals, "fast_share", json_ratio(view->fast_share));
	/* None seen for writes that each followed an exit: the kernel does
	 * not report them (kvm_pvm), so the count is unknown, not 0. */
	json_object_set_new(totals, "exits", s->exit_watched &&
			    (view->exits || !view->writes) ?
			    json_u64(view->exits) : json_null());
	json_object_set_new(totals, "exits_per_write",
			    json_ratio(view->exits_per_write));
	json_object_set_new(totals, "fast_misses", s->bus_probed ?
			    json_u64(view->fast_misses) : json_null());
	json_object_set_new(totals, "emulated_candidate_writes", s->bus_probed ?
			    json_u64(view->emulated_candidate_writes) :
			    json_null());
	costs = json_object();
	for (p = 0; p < MMIO_PATH_COUNT; p++) {
		json_t *c = json_null();

		if (s->handler_probed)
			c = json_pack("{s:o, s:o, s:o}",
				      "timed", json_u64(view->timed[p]),
				      "cost_avg_ns", view->timed[p] ?
				      json_u64(view->cost_ns[p] / view->timed[p]) :
				      json_null(),
				      "cost_hist", json_hist_counts(&view->cost[p]));
		json_object_set_new(costs, mmio_path_name(p), c);
	}
	for (i = 0; i < view->nvms; i++)
		json_array_append_new(vms, json_vm(view, &view->vms[i]));
	doc = json_pack("{s:s, s:o, s:o, s:o, s:b, s:o, s:b, s:o, s:o}",
			"vendor", vendor_name(s->vendor),
			"fast_path", fast,
			"totals", totals,
			"costs", costs,
			"costs_measured", s->handler_probed,
			"costs_why", s->handler_probed ? json_null() :
			json_string(s->costs_why),
			"candidates_known", s->bus_probed,
			"candidates_why", s->bus_probed ? json_null() :
			json_string(s->candidates_why),
			"vms", vms);
	return doc;
}

/* ---- text ---- */

static void cost_cell(char *buf, size_t len, const struct mmio_setup *s,
		      const struct mmio_path_view *p)
{
	if (!s->handler_probed || !p->timed)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f/%.0f", p->cost_avg_ns / 1e3,
			 p->cost_p99_ns_le / 1e3);
}

static void reason_cell(char *buf, size_t len, const struct mmio_addr_view *a)
{
	const struct mmio_path_view *main = NULL;
	uint64_t other = 0;
	int p;

	for (p = 0; p < MMIO_PATH_COUNT; p++) {
		const struct mmio_path_view *v = &a->path[p];

		if (v->reason_set && (!main || v->writes > main->writes))
			main = v;
	}
	if (!main) {
		snprintf(buf, len, "-");
		return;
	}
	for (p = 0; p < MMIO_PATH_COUNT; p++) {
		const struct mmio_path_view *v = &a->path[p];

		other += v->other_reason;
		if (v != main && v->reason_set && v->reason != main->reason)
			other += v->writes - v->other_reason - v->no_exit;
	}
	if (other)
		snprintf(buf, len, "%s+%llu", main->reason_name,
			 (unsigned long long)other);
	else
		snprintf(buf, len, "%s", main->reason_name);
}

void text_mmio_view(FILE *out, const struct mmio_view *view,
		    const char *modes)
{
	const struct mmio_setup *s = &view->setup;
	const struct mmio_fast_path *fp = &view->fast_path;
	char share[24], epw[24], cand[8], insn[24], efd[24], reason[64];
	char cost[MMIO_PATH_COUNT][24];
	size_t i, j;
	int p;

	if (view->fast_share < 0)
		snprintf(share, sizeof(share), "-");
	else
		snprintf(share, sizeof(share), "%.1f%%", 100 * view->fast_share);
	if (view->exits_per_write < 0)
		snprintf(epw, sizeof(epw), "-");
	else
		snprintf(epw, sizeof(epw), "%.2f", view->exits_per_write);
	fprintf(out, "MMIO writes - mmio: %s - %s %s: fast path %s%s%s%s - %llu writes: fast %llu, emulated %llu, to VMM %llu; fast share %s; %s exits/write\n",
		modes, vendor_name(s->vendor),
		s->handler ? s->handler : "(no MMIO exit handler known)",
		mmio_fast_state_name(fp->state), fp->basis ? " (" : "",
		fp->basis ? fp->basis : "", fp->basis ? ")" : "",
		(unsigned long long)view->writes,
		(unsigned long long)view->by_path[MMIO_PATH_FAST],
		(unsigned long long)view->by_path[MMIO_PATH_EMULATED],
		(unsigned long long)view->by_path[MMIO_PATH_USER], share, epw);
	fprintf(out, "fast path: %s\n", fp->why);
	if (!s->bus_probed)
		fprintf(out, "candidates: unknown (%s)\n", s->candidates_why);
	if (!s->handler_probed)
		fprintf(out, "costs: not measured (%s)\n", s->costs_why);
	if (!view->nvms)
		return;
	/* Costs: avg/p99 in us, from the handler's entry to its return. */
	fprintf(out, "%8s %-18s %3s %4s %8s %8s %8s %8s %-14s %9s %8s %11s %11s %11s\n",
		"PID", "GPA", "LEN", "CAND", "WRITES", "FAST", "EMUL", "TO-VMM",
		"EXIT", "EMUL-INSN", "EVENTFD", "FAST-US", "EMUL-US", "VMM-US");
	for (i = 0; i < view->nvms; i++) {
		const struct mmio_vm_view *vm = &view->vms[i];

		for (j = 0; j < vm->naddrs; j++) {
			const struct mmio_addr_view *a = &vm->addrs[j];

			snprintf(cand, sizeof(cand), "%s", a->candidate < 0 ?
				 "?" : a->candidate ? "yes" : "no");
			if (s->emulate_watched)
				snprintf(insn, sizeof(insn), "%llu",
					 (unsigned long long)
					 (a->path[MMIO_PATH_EMULATED].insn_emulated +
					  a->path[MMIO_PATH_USER].insn_emulated));
			else
				snprintf(insn, sizeof(insn), "-");
			if (s->ioeventfd_probed)
				snprintf(efd, sizeof(efd), "%llu",
					 (unsigned long long)a->ioeventfd_signals);
			else
				snprintf(efd, sizeof(efd), "-");
			reason_cell(reason, sizeof(reason), a);
			for (p = 0; p < MMIO_PATH_COUNT; p++)
				cost_cell(cost[p], sizeof(cost[p]), s,
					  &a->path[p]);
			fprintf(out, "%8u 0x%-16" PRIx64 " %3u %4s %8llu %8llu %8llu %8llu %-14s %9s %8s %11s %11s %11s\n",
				vm->pid, a->gpa, a->len, cand,
				(unsigned long long)a->writes,
				(unsigned long long)a->path[MMIO_PATH_FAST].writes,
				(unsigned long long)a->path[MMIO_PATH_EMULATED].writes,
				(unsigned long long)a->path[MMIO_PATH_USER].writes,
				reason, insn, efd, cost[MMIO_PATH_FAST],
				cost[MMIO_PATH_EMULATED], cost[MMIO_PATH_USER]);
		}
		if (vm->cands_known && vm->ncands) {
			fprintf(out, "%8u candidates (len-0 ioeventfds):", vm->pid);
			for (j = 0; j < vm->ncands; j++)
				fprintf(out, " 0x%" PRIx64, vm->cands[j]);
			fprintf(out, "%s\n", vm->cands_truncated ?
				" (first entries only)" : "");
		}
	}
}

/* ---- metrics ---- */

static struct metric *add(struct metric_set *out, enum metric_type type,
			  const char *unit, enum metric_better better,
			  const char *per, const char *name, const char *help,
			  double value)
{
	struct metric *m = metric_add(out, type, unit, help, better, "%s",
				      name);

	if (m) {
		m->value = value;
		m->per = per;
	}
	return m;
}

int mmio_view_metrics(const struct mmio_view *view, struct metric_set *out)
{
	static const char *const path_help[MMIO_PATH_COUNT] = {
		"MMIO writes taken by KVM_FAST_MMIO_BUS without decoding",
		"MMIO writes decoded and handled in the kernel on KVM_MMIO_BUS",
		"MMIO writes that exited to the VMM (KVM_EXIT_MMIO)",
	};
	static const char *const path_metric[MMIO_PATH_COUNT] = {
		"mmio.fast_writes", "mmio.emulated_writes", "mmio.user_writes",
	};
	static const enum metric_better path_better[MMIO_PATH_COUNT] = {
		BETTER_HIGHER, BETTER_LOWER, BETTER_NEITHER,
	};
	const struct mmio_setup *s = &view->setup;
	struct metric *m;
	size_t i, j;
	int p;

	if (!add(out, METRIC_COUNTER, "writes", BETTER_NEITHER, NULL,
		 "mmio.writes", "guest MMIO writes seen (every path)",
		 view->writes))
		return -ENOMEM;
	for (p = 0; p < MMIO_PATH_COUNT; p++)
		if (!add(out, METRIC_COUNTER, "writes", path_better[p],
			 "mmio.writes", path_metric[p], path_help[p],
			 view->by_path[p]))
			return -ENOMEM;
	if (view->fast_share >= 0 &&
	    !add(out, METRIC_GAUGE, "ratio", BETTER_HIGHER, NULL,
		 "mmio.fast_share", "share of MMIO writes that took the fast bus",
		 view->fast_share))
		return -ENOMEM;
	/* No exit seen at all means the kernel does not report them
	 * (kvm_pvm), not zero exits per write. */
	if (s->exit_watched && view->exits_per_write >= 0 &&
	    !add(out, METRIC_COUNTER, "exits", BETTER_LOWER, "mmio.writes",
		 "mmio.exits",
		 "guest exits of the VMs that wrote MMIO (compared per MMIO write)",
		 view->exits))
		return -ENOMEM;
	if (s->bus_probed &&
	    (!add(out, METRIC_COUNTER, "writes", BETTER_LOWER, "mmio.writes",
		  "mmio.emulated_candidate_writes",
		  "writes to len-0 ioeventfds that were decoded instead of taking the fast bus",
		  view->emulated_candidate_writes) ||
	     !add(out, METRIC_COUNTER, "tries", BETTER_NEITHER, "mmio.writes",
		  "mmio.fast_misses",
		  "KVM_FAST_MMIO_BUS tries that found no device",
		  view->fast_misses)))
		return -ENOMEM;
	if (view->fast_path.state != MMIO_FAST_UNKNOWN &&
	    !add(out, METRIC_GAUGE, "bool", BETTER_HIGHER, NULL,
		 "mmio.fast_path_present",
		 "1 when this kernel's vendor code has a fast MMIO path",
		 view->fast_path.state == MMIO_FAST_PRESENT))
		return -ENOMEM;
	/* Costs exist only where the handler is probed: absent otherwise,
	 * so a baseline from another mode does not compare them. */
	for (p = 0; s->handler_probed && p < MMIO_PATH_COUNT; p++) {
		m = add(out, METRIC_HISTOGRAM, "ns", BETTER_LOWER, NULL,
			"mmio.write_cost_ns",
			"cost of one MMIO write, exit handler entry to return",
			0);
		if (!m || metric_label(m, "path", "%s", mmio_path_name(p)))
			return -ENOMEM;
		metric_set_hist(m, view->cost[p].slots, view->cost_ns[p]);
	}
	for (i = 0; i < view->nvms; i++) {
		const struct mmio_vm_view *vm = &view->vms[i];

		if (s->exit_watched && vm->exits_per_write >= 0) {
			m = add(out, METRIC_COUNTER, "exits", BETTER_LOWER, NULL,
				"mmio.vm_exits",
				"guest exits of one VM that wrote MMIO", vm->exits);
			if (!m || metric_label(m, "vm", "%u", vm->pid))
				return -ENOMEM;
		}
		for (j = 0; j < vm->naddrs; j++) {
			const struct mmio_addr_view *a = &vm->addrs[j];

			for (p = 0; p < MMIO_PATH_COUNT; p++) {
				const struct mmio_path_view *pv = &a->path[p];

				if (!pv->writes)
					continue;
				m = add(out, METRIC_COUNTER, "writes",
					path_better[p], NULL,
					"mmio.addr_writes",
					"MMIO writes to one address of one VM, by path",
					pv->writes);
				if (!m || metric_label(m, "vm", "%u", vm->pid) ||
				    metric_label(m, "addr", "0x%" PRIx64, a->gpa) ||
				    metric_label(m, "path", "%s",
						 mmio_path_name(p)))
					return -ENOMEM;
				if (!s->handler_probed)
					continue;
				m = add(out, METRIC_HISTOGRAM, "ns",
					BETTER_LOWER, NULL,
					"mmio.addr_write_cost_ns",
					"cost of one MMIO write to one address, by path",
					0);
				if (!m || metric_label(m, "vm", "%u", vm->pid) ||
				    metric_label(m, "addr", "0x%" PRIx64, a->gpa) ||
				    metric_label(m, "path", "%s",
						 mmio_path_name(p)))
					return -ENOMEM;
				metric_set_hist(m, pv->cost.slots, pv->cost_ns);
			}
		}
	}
	return 0;
}

/* ---- detector_ops ---- */

static int mmio_view_for(const struct mmio_sample *sample,
			 double interval_sec, const struct kernel_caps *caps,
			 struct mmio_view *view)
{
	return mmio_view_build(sample, interval_sec, exit_table_for(caps),
			       view);
}

DETECTOR_BOXED_OPS(struct mmio_detector, mmio_start, mmio_stop,
		   struct mmio_sample, mmio_sample, mmio_sample_delta,
		   mmio_sample_free, struct mmio_view, mmio_view_for,
		   mmio_view_free)

static int ops_nlinks(const void *state)
{
	return ((const struct mmio_detector *)state)->nlinks;
}

static uint64_t ops_missed_runs(const void *state)
{
	return bpf_object_missed_runs(((const struct mmio_detector *)state)->skel->obj);
}

/* The VMM processes of base that have exited. */
static size_t ops_find_gone(const void *base, uint32_t *pids, size_t max)
{
	const struct mmio_sample *sample = base;

	return ids_gone(sample->threads, sample->nthreads,
			sizeof(*sample->threads),
			offsetof(struct mmio_thread_record, t.pid), pids, max);
}

static void ops_forget(void *state, const uint32_t *pids, size_t n)
{
	struct mmio_detector *det = state;
	typeof(det->skel->maps) *maps = &det->skel->maps;
	struct mmio_sample now;

	if (!n || mmio_sample(det, &now))
		return;
	MAP_DELETE_LISTED(bpf_map__fd(maps->mmio_stats), now.recs, now.nrecs,
			  key.pid, key, pids, n);
	MAP_DELETE_LISTED(bpf_map__fd(maps->mmio_threads), now.threads,
			  now.nthreads, t.pid, tid, pids, n);
	MAP_DELETE_LISTED(bpf_map__fd(maps->mmio_vms), now.vms, now.nvms, pid,
			  pid, pids, n);
	MAP_DELETE_LISTED(bpf_map__fd(maps->mmio_candidates), now.cands,
			  now.ncands, key.pid, key, pids, n);
	mmio_sample_free(&now);
}

static json_t *ops_view_json(const void *view)
{
	return json_mmio_view(view);
}

static void ops_view_text(FILE *out, const void *view, const char *modes)
{
	text_mmio_view(out, view, modes);
}

static int ops_view_metrics(const void *view, struct metric_set *out)
{
	return mmio_view_metrics(view, out);
}

const struct detector_ops mmio_ops = {
	.id = DET_MMIO,
	.json_key = "mmio",
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
