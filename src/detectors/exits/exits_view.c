// SPDX-License-Identifier: GPL-2.0
/* The exits view as text (top's first table), JSON and metrics. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/histogram.h"
#include "core/json_figures.h"
#include "core/vm_name.h"
#include "exits_model.h"

/* "npf 49% io 48% hlt 3%": the reasons that make up most exits. */
static void top_reasons(char *buf, size_t len, const struct reason_view *r,
			size_t n, uint64_t exits, uint64_t user_exits)
{
	size_t i, used = 0, shown = 0;

	buf[0] = '\0';
	for (i = 0; i < n && shown < 4 && used < len; i++) {
		uint64_t total = r[i].kind == EXIT_KIND_USER ? user_exits : exits;

		if (!total)
			continue;
		used += snprintf(buf + used, len - used, "%s%s%s %.0f%%",
				 shown ? "  " : "",
				 r[i].kind == EXIT_KIND_USER ? "vmm:" : "",
				 r[i].name, 100.0 * r[i].count / total);
		shown++;
	}
}

static double avg_us(const struct reason_view *r, size_t n)
{
	uint64_t ns = 0, timed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].kind != EXIT_KIND_KERNEL)
			continue;
		ns += r[i].total_ns;
		timed += r[i].timed;
	}
	return timed ? ns / 1000.0 / timed : -1;
}

static void text_row(FILE *out, const char *pid, const char *tid,
		     const char *vcpu, const char *comm, bool cumulative,
		     uint64_t exits, double exits_rate, uint64_t user,
		     double user_rate, const struct reason_view *reasons,
		     size_t n)
{
	char why[160], avg[16];
	double us = avg_us(reasons, n);

	top_reasons(why, sizeof(why), reasons, n, exits, user);
	if (us < 0)
		snprintf(avg, sizeof(avg), "-");
	else
		snprintf(avg, sizeof(avg), "%.2f", us);
	if (cumulative)
		fprintf(out, "%8s %8s %4s %-16.16s %11llu %11llu %9s  %s\n", pid,
			tid, vcpu, comm, (unsigned long long)exits,
			(unsigned long long)user, avg, why);
	else
		fprintf(out, "%8s %8s %4s %-16.16s %11.1f %11.1f %9s  %s\n", pid,
			tid, vcpu, comm, exits_rate, user_rate, avg, why);
}

void exits_view_text(FILE *out, const void *exits_view, const char *modes)
{
	const struct exits_view *ev = exits_view;
	const struct top_view *view = &ev->top;
	const struct kernel_caps *caps = ev->caps;
	char pid[24], tid[24], vcpu[24];
	size_t i, j;
	char now[16] = "";
	time_t t = time(NULL);
	struct tm tm;

	/* The time of day, as top(1) shows it: batch logs are read later. */
	if (localtime_r(&t, &tm))
		strftime(now, sizeof(now), "%H:%M:%S", &tm);
	fprintf(out, "kvmwatch top - %s - %s %s %s - exits: %s - %s %.2f s - %zu VM%s with exits, %.1f exits/s\n",
		now, caps->release, arch_name(caps->arch),
		vendor_name(caps->vendor), modes,
		view->cumulative ? "total over" : "interval",
		view->interval_sec, view->nvms, view->nvms == 1 ? "" : "s",
		view->exits_per_sec);
	fprintf(out, "%8s %8s %4s %-16s %11s %11s %9s  %s\n", "PID", "TID",
		"VCPU", "NAME", view->cumulative ? "EXITS" : "EXITS/s",
		view->cumulative ? "TO-VMM" : "TO-VMM/s", "AVG-US",
		"TOP REASONS");
	for (i = 0; i < view->nvms; i++) {
		const struct vm_view *vm = &view->vms[i];

		snprintf(pid, sizeof(pid), "%u", vm->pid);
		/* The guest's name; its vCPU rows, their threads' names. */
		text_row(out, pid, "-", "-",
			 vm_name_or(vm->pid, vm->vm_start, vm->comm),
			 view->cumulative,
			 vm->exits, vm->exits_per_sec, vm->user_exits,
			 vm->user_exits_per_sec, vm->reasons, vm->nreasons);
		for (j = 0; j < vm->nvcpus; j++) {
			const struct vcpu_view *v = &vm->vcpus[j];

			snprintf(tid, sizeof(tid), "%u", v->tid);
			if (v->vcpu_id < 0)
				strcpy(vcpu, "?");
			else
				snprintf(vcpu, sizeof(vcpu), "%lld",
					 (long long)v->vcpu_id);
			text_row(out, "", tid, vcpu, v->comm, view->cumulative,
				 v->exits, v->exits_per_sec, v->user_exits,
				 v->user_exits_per_sec, v->reasons,
				 v->nreasons);
		}
	}
	if (!view->nvms)
		fprintf(out, "(no guest exits in this interval)\n");
	for (i = 0; i < view->nvms; i++)
		if (!view->vms[i].exits && view->vms[i].user_exits)
			fprintf(out, "note: VM %u returned to its VMM %llu times without one kvm:kvm_exit: this KVM (vendor %s) does not emit that tracepoint, so its in-kernel exits are unknown, not 0\n",
				view->vms[i].pid,
				(unsigned long long)view->vms[i].user_exits,
				vendor_name(caps->vendor));
	fflush(out);
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

static json_t *json_vm(const struct vm_view *v)
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
	json_object_set_new(vm, "vcpus", vcpus);
	return vm;
}

json_t *exits_view_json(const void *exits_view)
{
	const struct top_view *view = &((const struct exits_view *)exits_view)->top;
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
