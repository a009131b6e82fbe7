// SPDX-License-Identifier: GPL-2.0
#include <errno.h>

#include "report.h"

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

static json_t *json_reason(const struct reason_view *r)
{
	json_t *reason = json_pack("{s:I, s:s, s:I, s:f, s:I}",
				   "code", (json_int_t)r->code,
				   "name", r->name,
				   "count", (json_int_t)r->count,
				   "per_s", r->per_sec,
				   "timed", (json_int_t)r->timed);

	/* No entry seen, no figure: null rather than a made-up zero. */
	if (r->timed) {
		json_object_set_new(reason, "avg_ns",
				    json_integer(r->total_ns / r->timed));
		json_object_set_new(reason, "p50_ns_le",
				    json_integer(hist_percentile(&r->hist, 0.5)));
		json_object_set_new(reason, "p99_ns_le",
				    json_integer(hist_percentile(&r->hist, 0.99)));
	} else {
		json_object_set_new(reason, "avg_ns", json_null());
		json_object_set_new(reason, "p50_ns_le", json_null());
		json_object_set_new(reason, "p99_ns_le", json_null());
	}
	return reason;
}

/* Reasons split by kind into "reasons" and "userspace_reasons". */
static void set_reasons(json_t *obj, const struct reason_view *reasons,
			size_t n)
{
	json_t *kernel = json_array(), *user = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(reasons[i].kind == EXIT_KIND_USER ?
				      user : kernel, json_reason(&reasons[i]));
	json_object_set_new(obj, "reasons", kernel);
	json_object_set_new(obj, "userspace_reasons", user);
}

static json_t *json_vcpu(const struct vcpu_view *v)
{
	json_t *vcpu = json_pack("{s:I, s:I, s:s, s:I, s:f, s:I, s:f}",
				 "tid", (json_int_t)v->tid,
				 "vcpu_id", (json_int_t)v->vcpu_id,
				 "comm", v->comm,
				 "exits", (json_int_t)v->exits,
				 "exits_per_s", v->exits_per_sec,
				 "userspace_exits", (json_int_t)v->user_exits,
				 "userspace_exits_per_s", v->user_exits_per_sec);

	set_reasons(vcpu, v->reasons, v->nreasons);
	return vcpu;
}

static json_t *json_vm(const struct vm_view *v)
{
	json_t *vcpus = json_array(), *vm;
	size_t i;

	for (i = 0; i < v->nvcpus; i++)
		json_array_append_new(vcpus, json_vcpu(&v->vcpus[i]));
	vm = json_pack("{s:I, s:s, s:I, s:f, s:I, s:f, s:I}",
		       "pid", (json_int_t)v->pid, "comm", v->comm,
		       "exits", (json_int_t)v->exits,
		       "exits_per_s", v->exits_per_sec,
		       "userspace_exits", (json_int_t)v->user_exits,
		       "userspace_exits_per_s", v->user_exits_per_sec,
		       "nr_vcpus", (json_int_t)v->nvcpus);
	set_reasons(vm, v->reasons, v->nreasons);
	/* Every return to the VMM follows an exit: none seen means this KVM
	 * does not emit kvm:kvm_exit, not that there were none. */
	json_object_set_new(vm, "kernel_exits_seen",
			    json_boolean(v->exits || !v->user_exits));
	json_object_set_new(vm, "vcpus", vcpus);
	return vm;
}

json_t *json_top_view(const struct top_view *view)
{
	json_t *vms = json_array();
	size_t i;

	for (i = 0; i < view->nvms; i++)
		json_array_append_new(vms, json_vm(&view->vms[i]));
	return json_pack("{s:f, s:b, s:{s:I, s:f, s:I, s:f}, s:o}",
			 "interval_s", view->interval_sec,
			 "cumulative", view->cumulative,
			 "totals",
			 "exits", (json_int_t)view->exits,
			 "exits_per_s", view->exits_per_sec,
			 "userspace_exits", (json_int_t)view->user_exits,
			 "userspace_exits_per_s", view->user_exits_per_sec,
			 "vms", vms);
}

/* Non-empty slots: [{"ge_ns": 2^(i-1), "lt_ns": 2^i, "count": n}...] */
static json_t *json_hist(const struct log2_hist *hist)
{
	json_t *slots = json_array();
	unsigned int i;

	for (i = 0; i < HIST_SLOTS; i++) {
		if (!hist->slots[i])
			continue;
		json_array_append_new(slots, json_pack("{s:I, s:I, s:I}",
			"ge_ns", (json_int_t)(i ? 1ull << (i - 1) : 0),
			"lt_ns", (json_int_t)(i ? 1ull << i : 1),
			"count", (json_int_t)hist->slots[i]));
	}
	return slots;
}

json_t *json_hist_counts(const struct log2_hist *h)
{
	json_t *a = json_array();
	int i, last = -1;

	for (i = 0; i < HIST_SLOTS; i++)
		if (h->slots[i])
			last = i;
	for (i = 0; i <= last; i++)
		json_array_append_new(a, json_integer(h->slots[i]));
	return a;
}

static void set_int(json_t *obj, const char *key, uint64_t v)
{
	json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static json_t *json_timer_vcpu(const struct timer_vcpu_view *v)
{
	const struct timer_stats *st = &v->stats;
	const struct timer_thread_stats *th = &v->thread;
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:I}",
			      "pid", (json_int_t)v->pid,
			      "vcpu_id", (json_int_t)v->vcpu_id,
			      "tid", (json_int_t)v->tid,
			      "mode", v->mode,
			      "period_ns", (json_int_t)v->period_ns);

	set_int(o, "callbacks", v->callbacks);
	json_object_set_new(o, "callbacks_per_s",
			    json_real(v->callbacks_per_sec));
	json_object_set_new(o, "programmed_per_s",
			    json_real(v->programmed_per_sec));
	set_int(o, "lateness_avg_ns", v->lateness_avg_ns);
	set_int(o, "lateness_p50_ns_le", v->lateness_p50_ns_le);
	set_int(o, "lateness_p99_ns_le", v->lateness_p99_ns_le);
	set_int(o, "max_lateness_ns", v->max_lateness_ns);
	set_int(o, "restarts", st->restarts);
	set_int(o, "late_rearms", st->late_rearms);
	set_int(o, "catchup_rearms", st->catchup_rearms);
	set_int(o, "chains", st->chains);
	json_object_set_new(o, "chains_per_s", json_real(v->chains_per_sec));
	set_int(o, "chain_callbacks", st->chain_callbacks);
	set_int(o, "chain_ns", st->chain_ns);
	set_int(o, "longest_chain", v->longest_chain);
	set_int(o, "longest_chain_ns", v->longest_chain_ns);
	set_int(o, "longest_chain_lateness_ns", v->longest_chain_lateness_ns);
	set_int(o, "period0", st->period0);
	set_int(o, "hv_in_use", st->hv_in_use);
	set_int(o, "callback_avg_ns", st->timed ? st->callback_ns / st->timed : 0);
	set_int(o, "max_callback_ns", st->max_callback_ns);
	set_int(o, "max_response_ns", st->max_response_ns);
	set_int(o, "advances", st->advances);
	set_int(o, "advances_past", st->advances_past);
	set_int(o, "advances_clamped", st->advances_clamped);
	set_int(o, "arms", th->arms);
	set_int(o, "sw_starts", th->sw_starts);
	set_int(o, "hv_starts", th->hv_starts);
	set_int(o, "hv_refused", th->hv_refused);
	set_int(o, "to_sw", th->to_sw);
	set_int(o, "hv_state_on", th->hv_state_on);
	set_int(o, "hv_state_off", th->hv_state_off);
	json_object_set_new(o, "by_mode", json_pack("{s:I, s:I, s:I}",
		"oneshot", (json_int_t)st->by_mode[TIMER_MODE_ONESHOT],
		"periodic", (json_int_t)st->by_mode[TIMER_MODE_PERIODIC],
		"tscdeadline", (json_int_t)st->by_mode[TIMER_MODE_TSCDEADLINE]));
	json_object_set_new(o, "lateness_hist", json_hist(&st->lateness));
	return o;
}

json_t *json_timer_view(const struct timer_view *view)
{
	json_t *timers = json_array();
	size_t i;

	for (i = 0; i < view->nvcpus; i++)
		json_array_append_new(timers, json_timer_vcpu(&view->vcpus[i]));
	return timers;
}

int json_emit(FILE *out, json_t *doc)
{
	int err = 0;

	if (!doc)
		return -ENOMEM;
	if (json_dumpf(doc, out, JSON_COMPACT) || fputc('\n', out) == EOF ||
	    fflush(out))
		err = -EIO;
	json_decref(doc);
	return err;
}
