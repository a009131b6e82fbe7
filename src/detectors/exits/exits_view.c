// SPDX-License-Identifier: GPL-2.0
/* The exits view as JSON and metrics (exits_text.c: as text). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/json_figures.h"
#include "core/vm_name.h"
#include "exits_model.h"

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
				    json_integer(r->p50_ns_le));
		json_object_set_new(reason, "p99_ns_le",
				    json_integer(r->p99_ns_le));
		json_object_set_new(reason, "min_ns_ge",
				    json_integer(r->min_ns_ge));
		json_object_set_new(reason, "max_ns_le",
				    json_integer(r->max_ns_le));
	} else {
		json_object_set_new(reason, "avg_ns", json_null());
		json_object_set_new(reason, "p50_ns_le", json_null());
		json_object_set_new(reason, "p99_ns_le", json_null());
		json_object_set_new(reason, "min_ns_ge", json_null());
		json_object_set_new(reason, "max_ns_le", json_null());
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
	json_t *vcpu = json_pack("{s:I, s:o, s:s, s:I, s:f, s:I, s:f}",
				 "tid", (json_int_t)v->tid,
				 "vcpu_id", v->vcpu_id < 0 ? json_null() :
				 json_integer(v->vcpu_id),
				 "comm", v->comm,
				 "exits", (json_int_t)v->exits,
				 "exits_per_s", v->exits_per_sec,
				 "userspace_exits", (json_int_t)v->user_exits,
				 "userspace_exits_per_s", v->user_exits_per_sec);

	set_reasons(vcpu, v->reasons, v->nreasons);
	return vcpu;
}

static json_t *json_vm(const struct vm_view *v, bool ports)
{
	json_t *vcpus = json_array(), *vm;
	size_t i;

	for (i = 0; i < v->nvcpus; i++)
		json_array_append_new(vcpus, json_vcpu(&v->vcpus[i]));
	vm = json_pack("{s:I, s:o, s:o, s:s, s:I, s:f, s:I, s:f, s:I}",
		       "pid", (json_int_t)v->pid,
		       "vm_start", json_vm_start(v->vm_start),
		       "name", json_vm_name(v->pid, v->vm_start), "comm", v->comm,
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
	/* Port I/O exists on x86 only: elsewhere null, not an empty list. */
	json_object_set_new(vm, "ports", ports ? pio_json(v) : json_null());
	json_object_set_new(vm, "vcpus", vcpus);
	return vm;
}

json_t *exits_view_json_head(const void *exits_view)
{
	const struct top_view *view = &((const struct exits_view *)
					exits_view)->top;

	return json_pack("{s:f, s:b, s:{s:I, s:f, s:I, s:f}}",
			 "interval_s", view->interval_sec,
			 "cumulative", view->cumulative,
			 "totals",
			 "exits", (json_int_t)view->exits,
			 "exits_per_s", view->exits_per_sec,
			 "userspace_exits", (json_int_t)view->user_exits,
			 "userspace_exits_per_s", view->user_exits_per_sec);
}

size_t exits_view_json_nvms(const void *exits_view)
{
	return ((const struct exits_view *)exits_view)->top.nvms;
}

json_t *exits_view_json_vm(const void *exits_view, size_t i)
{
	const struct exits_view *ev = exits_view;

	return json_vm(&ev->top.vms[i], ev->caps->arch == ARCH_X86_64);
}

json_t *exits_view_json(const void *exits_view)
{
	return json_with_vms(exits_view_json_head(exits_view), exits_view,
			     exits_view_json_nvms(exits_view),
			     exits_view_json_vm);
}

/* A counter named name, labelled by the (label, value) pairs given. */
static struct metric *exits_metric(struct metric_set *out, const char *name,
				   const char *help, double value)
{
	struct metric *m = metric_add(out, METRIC_COUNTER, "exits", help,
				      BETTER_LOWER, "%s", name);

	if (m)
		m->value = value;
	return m;
}

/* Reasons summed over the VMs: comparable between runs. */
static int reason_totals(const struct top_view *top, struct metric_set *out)
{
	char labels[80];
	size_t i, j;

	for (i = 0; i < top->nvms; i++) {
		for (j = 0; j < top->vms[i].nreasons; j++) {
			const struct reason_view *r = &top->vms[i].reasons[j];
			bool user = r->kind == EXIT_KIND_USER;
			const char *name = user ? "exits.user_exits_by_reason" :
				"exits.exits_by_reason";
			struct metric *m;

			snprintf(labels, sizeof(labels), "reason=%s", r->name);
			m = (struct metric *)metric_find(out, name, labels);
			if (m) {
				m->value += r->count;
				continue;
			}
			m = exits_metric(out, name, user ?
					 "exits to the VMM by KVM_EXIT reason" :
					 "in-kernel VM exits by reason",
					 r->count);
			if (!m)
				return -ENOMEM;
			metric_label(m, "reason", "%s", r->name);
			/* The host's interrupts and interrupt windows come
			 * with time, not work: shown, never a regression (the
			 * same workload: interrupts 26 then 45, SVM vintr 46
			 * then 351, on a busy testbed host). */
			if (exit_reason_is_timing(r->name))
				m->better = BETTER_NEITHER;
		}
	}
	return 0;
}

int exits_view_metrics(const void *view, struct metric_set *out)
{
	const struct top_view *top = &((const struct exits_view *)view)->top;
	struct metric *m;
	size_t i, j;

	if (!exits_metric(out, "exits.exits", "in-kernel VM exits",
			  top->exits) ||
	    !exits_metric(out, "exits.user_exits",
			  "exits to the VMM (KVM_RUN returns)", top->user_exits) ||
	    reason_totals(top, out))
		return -ENOMEM;
	for (i = 0; i < top->nvms; i++) {
		const struct vm_view *vm = &top->vms[i];

		m = exits_metric(out, "exits.vm_exits",
				 "in-kernel VM exits of one VM", vm->exits);
		if (!m)
			return -ENOMEM;
		metric_vm_labels(m, vm->pid, vm->vm_start);
		metric_label(m, "comm", "%s", vm->comm);
		m = exits_metric(out, "exits.vm_user_exits",
				 "exits to the VMM of one VM", vm->user_exits);
		if (!m)
			return -ENOMEM;
		metric_vm_labels(m, vm->pid, vm->vm_start);
		metric_label(m, "comm", "%s", vm->comm);
		for (j = 0; j < vm->nvcpus; j++) {
			const struct vcpu_view *v = &vm->vcpus[j];

			m = exits_metric(out, "exits.vcpu_exits",
					 "in-kernel VM exits of one vCPU",
					 v->exits);
			if (!m)
				return -ENOMEM;
			metric_vm_labels(m, vm->pid, vm->vm_start);
			if (v->vcpu_id >= 0)
				metric_label(m, "vcpu", "%lld",
					     (long long)v->vcpu_id);
			else
				metric_label(m, "tid", "%u", v->tid);
		}
	}
	return 0;
}
