// SPDX-License-Identifier: GPL-2.0
/* The MMIO view as JSON: the fast path, totals, costs, per VM and address. */
#include "core/histogram.h"
#include "core/json_figures.h"
#include "mmio_model.h"

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
	json_t *o = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			      "pid", (int)vm->pid,
			      "vm_start", json_vm_start(vm->vm_start),
			      "name", json_vm_name(vm->pid, vm->vm_start),
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

json_t *mmio_view_json_head(const void *mmio_view)
{
	const struct mmio_view *view = mmio_view;
	const struct mmio_setup *s = &view->setup;
	const struct mmio_fast_path *fp = &view->fast_path;
	json_t *doc, *fast, *totals, *costs;
	int p;

	fast = json_pack("{s:o, s:o, s:s}",
			 "present", fp->state == MMIO_FAST_UNKNOWN ? json_null() :
			 json_boolean(MMIO_FAST_IN_CODE(fp->state)),
			 "basis", fp->basis ? json_string(fp->basis) :
			 json_null(),
			 "why", fp->why);
	json_object_set_new(fast, "state",
			    json_string(mmio_fast_state_name(fp->state)));
	json_object_set_new(fast, "usable", fp->state == MMIO_FAST_UNKNOWN ?
			    json_null() :
			    json_boolean(MMIO_FAST_USABLE(fp->state)));
	json_object_set_new(fast, "in_module", s->code_fast_path < 0 ?
			    json_null() : json_boolean(s->code_fast_path));
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
	json_object_set_new(totals, "candidate_writes", s->bus_probed ?
			    json_u64(view->candidate_writes) : json_null());
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
	doc = json_pack("{s:s, s:o, s:o, s:o, s:b, s:o, s:b, s:o}",
			"vendor", vendor_name(s->vendor),
			"fast_path", fast,
			"totals", totals,
			"costs", costs,
			"costs_measured", s->handler_probed,
			"costs_why", s->handler_probed ? json_null() :
			json_string(s->costs_why),
			"candidates_known", s->bus_probed,
			"candidates_why", s->bus_probed ? json_null() :
			json_string(s->candidates_why));
	return doc;
}

size_t mmio_view_json_nvms(const void *mmio_view)
{
	return ((const struct mmio_view *)mmio_view)->nvms;
}

json_t *mmio_view_json_vm(const void *mmio_view, size_t i)
{
	const struct mmio_view *view = mmio_view;

	return json_vm(view, &view->vms[i]);
}

json_t *mmio_view_json(const void *mmio_view)
{
	return json_with_vms(mmio_view_json_head(mmio_view), mmio_view,
			     mmio_view_json_nvms(mmio_view),
			     mmio_view_json_vm);
}
