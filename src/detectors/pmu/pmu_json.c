// SPDX-License-Identifier: GPL-2.0
/* The PMU view as JSON: the mechanism and what is watched, then per VM
 * and vCPU the switches, their cost and the register exits. */
#include "core/histogram.h"
#include "core/json_figures.h"
#include "pmu_model.h"

static json_t *json_param(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *json_string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* h NULL: no call, no slot. */
static json_t *json_hist(const struct log2_hist *h)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; h && i < HIST_SLOTS; i++)
		if (h->slots[i])
			json_array_append_new(arr, json_pack("{s:I, s:I}",
				"le_ns", (json_int_t)(i ? 1ull << i : 0),
				"count", (json_int_t)h->slots[i]));
	return arr;
}

static json_t *json_watch(const struct pmu_watch_state *w)
{
	if (w->state == PMU_WATCH_ON)
		return json_pack("{s:s}", "mode", attach_mode_name(w->mode));
	return json_pack("{s:n, s:s}", "mode", "why", w->why[0] ? w->why :
			 "not watched");
}

static json_t *json_mechanism(const struct pmu_run_info *run)
{
	const struct pmu_host_facts *f = &run->facts;
	const struct pmu_mechanism *m = &run->mech;
	json_t *ops = json_object(), *watched;
	int op;

	for (op = 0; op < PMU_OP_COUNT; op++)
		if (run->ops[op].state != PMU_WATCH_NA)
			json_object_set_new(ops, pmu_op_name(op),
					    json_watch(&run->ops[op]));
	watched = json_pack("{s:o, s:o, s:o, s:o}", "ops", ops,
			    "registers", run->regs.state == PMU_WATCH_NA ?
			    json_null() : json_watch(&run->regs),
			    "exits", json_watch(&run->exits),
			    "vcpu_ids", json_watch(&run->ids));
	return json_pack("{s:s, s:b, s:s, s:o, s:{s:o, s:o}, s:{s:o, s:o, s:o, s:o, s:b, s:{s:b, s:b, s:b, s:b}, s:{s:b, s:b}}, s:o}",
		"name", pmu_mech_name(m->mech),
		"vpmu_enabled", m->vpmu_enabled,
		"why", m->why,
		"offered", json_string_or_null(m->offered),
		"switch",
		"load", m->load_op < PMU_OP_COUNT ?
			json_string(pmu_op_name(m->load_op)) : json_null(),
		"put", m->put_op < PMU_OP_COUNT ?
			json_string(pmu_op_name(m->put_op)) : json_null(),
		"facts",
		"enable_pmu", json_param(f->enable_pmu),
		"enable_mediated_pmu", json_param(f->enable_mediated_pmu),
		"vpmc", json_param(f->vpmc),
		"host_pmu", json_string_or_null(f->host_pmu),
		"cpu_perfctr_virt", f->cpu_perfctr_virt,
		"symbols",
		"kvm_mediated_pmu_load", f->has_mediated_load,
		"perf_load_guest_context", f->has_perf_guest_context,
		"kvm_vcpu_pmu_restore_guest", f->has_restore_guest,
		"perf_guest_get_msrs", f->has_guest_get_msrs,
		"btf",
		"vmcb_save_area.perf_cntr_global_control", f->btf_vmcb_pmc,
		"kvm_pmu_ops.mediated_load", f->btf_mediated_ops,
		"watched", watched);
}

static json_t *json_real_or_null(double v, bool known)
{
	return known ? json_real(v) : json_null();
}

static json_t *json_op(const struct pmu_op_view *o)
{
	return json_pack("{s:I, s:f, s:I, s:o, s:I, s:I, s:I, s:o}",
			 "count", (json_int_t)o->count,
			 "per_s", o->per_sec,
			 "timed", (json_int_t)o->timed,
			 "avg_ns", json_real_or_null(o->avg_ns, o->timed),
			 "p50_ns_le", (json_int_t)o->p50_ns_le,
			 "p99_ns_le", (json_int_t)o->p99_ns_le,
			 "max_ns", (json_int_t)o->max_ns,
			 "hist", json_hist(o->hist));
}

static json_t *json_switches(const struct pmu_vcpu_view *v,
			     const struct pmu_run_info *run)
{
	const struct pmu_mechanism *m = &run->mech;
	bool timed;

	/* No switch here, or not watched: mechanism says which. */
	if (!pmu_switch_watched(run))
		return json_null();
	timed = v->ops[m->load_op].timed ||
		(pmu_put_watched(run) && v->ops[m->put_op].timed);
	return json_pack("{s:I, s:o, s:f, s:o, s:o, s:o, s:I, s:I, s:o}",
			 "loads", (json_int_t)v->loads,
			 "puts", pmu_put_watched(run) ?
				json_integer(v->puts) : json_null(),
			 "per_s", v->switches_per_sec,
			 "puts_per_s", pmu_put_watched(run) ?
				json_real(v->ops[m->put_op].per_sec) : json_null(),
			 "per_exit", json_real_or_null(v->switches_per_exit,
						       v->switches_per_exit >= 0),
			 "avg_ns", json_real_or_null(v->switch_avg_ns, timed),
			 "p50_ns_le", (json_int_t)hist_percentile(&v->switch_hist, 0.5),
			 "p99_ns_le", (json_int_t)hist_percentile(&v->switch_hist, 0.99),
			 "hist", json_hist(&v->switch_hist));
}

static json_t *json_registers(const struct pmu_vcpu_view *v,
			      const struct pmu_run_info *run)
{
	bool x86 = run->facts.arch == ARCH_X86_64;
	json_t *regs = json_array();
	size_t i;

	if (run->regs.state != PMU_WATCH_ON) {
		json_decref(regs);
		return json_null();
	}
	for (i = 0; i < v->nregs; i++) {
		const struct pmu_reg_view *r = &v->regs[i];

		json_array_append_new(regs, json_pack(
			"{s:I, s:s, s:s, s:s, s:I, s:I, s:o, s:o}",
			"reg", (json_int_t)r->reg, "name", r->name,
			"encoding", r->encoding,
			"kind", pmu_reg_kind_name(r->kind),
			"reads", (json_int_t)r->reads,
			"writes", (json_int_t)r->writes,
			"read_faults", x86 ? json_integer(r->read_faults) :
				json_null(),
			"write_faults", x86 ? json_integer(r->write_faults) :
				json_null()));
	}
	return json_pack("{s:I, s:I, s:o, s:f, s:o, s:o}",
			 "reads", (json_int_t)v->reg_reads,
			 "writes", (json_int_t)v->reg_writes,
			 "faults", x86 ? json_integer(v->reg_faults) : json_null(),
			 "per_s", v->reg_exits_per_sec,
			 "per_exit", json_real_or_null(v->reg_exits_per_exit,
						       v->reg_exits_per_exit >= 0),
			 "by_register", regs);
}

static json_t *json_vcpu(const struct pmu_vcpu_view *v,
			 const struct pmu_run_info *run)
{
	json_t *ops = json_object(), *o;
	int op;

	for (op = 0; op < PMU_OP_COUNT; op++) {
		if (run->ops[op].state == PMU_WATCH_NA)
			continue;
		json_object_set_new(ops, pmu_op_name(op),
				    run->ops[op].state == PMU_WATCH_ON ?
				    json_op(&v->ops[op]) : json_null());
	}
	o = json_pack("{s:I, s:I, s:o, s:o, s:I, s:f, s:o, s:o, s:o}",
		      "pid", (json_int_t)v->pid,
		      "tid", (json_int_t)v->tid,
		      "vcpu_id", v->vcpu_id < 0 ? json_null() :
		      json_integer(v->vcpu_id),
		      "vpmu", v->vpmu < 0 ? json_null() : json_boolean(v->vpmu),
		      "exits", (json_int_t)v->exits,
		      "exits_per_s", v->exits_per_sec,
		      "switches", json_switches(v, run),
		      "ops", ops,
		      "registers", json_registers(v, run));
	if (run->facts.arch == ARCH_X86_64 && v->vpmu >= 0) {
		json_object_set_new(o, "pmu_version", json_integer(v->pmu_version));
		json_object_set_new(o, "gp_counters", json_integer(v->gp_counters));
	}
	return o;
}

json_t *pmu_view_json_vm(const void *pmu_view, size_t i)
{
	const struct pmu_view *view = pmu_view;
	const struct pmu_vm_view *vm = &view->vms[i];
	json_t *vcpus = json_array();
	size_t j;

	for (j = 0; j < vm->nvcpus; j++)
		json_array_append_new(vcpus, json_vcpu(&vm->vcpus[j],
						       &view->run));
	return json_pack("{s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:o}",
			 "pid", (json_int_t)vm->pid,
			 "vm_start", json_vm_start(vm->vm_start),
			 "name", json_vm_name(vm->pid, vm->vm_start),
			 "exits", (json_int_t)vm->exits,
			 "loads", (json_int_t)vm->loads,
			 "puts", (json_int_t)vm->puts,
			 "reg_exits", (json_int_t)vm->reg_exits,
			 "vcpus", vcpus);
}

size_t pmu_view_json_nvms(const void *pmu_view)
{
	return ((const struct pmu_view *)pmu_view)->nvms;
}

json_t *pmu_view_json_head(const void *pmu_view)
{
	const struct pmu_view *view = pmu_view;
	json_t *ops = json_object();
	int op;

	for (op = 0; op < PMU_OP_COUNT; op++)
		if (view->run.ops[op].state == PMU_WATCH_ON)
			json_object_set_new(ops, pmu_op_name(op),
					    json_integer(view->op_counts[op]));
	return json_pack("{s:f, s:o, s:{s:I, s:I, s:I, s:I, s:o}}",
			 "interval_s", view->interval_sec,
			 "mechanism", json_mechanism(&view->run),
			 "totals",
			 "exits", (json_int_t)view->exits,
			 "loads", (json_int_t)view->loads,
			 "puts", (json_int_t)view->puts,
			 "reg_exits", (json_int_t)view->reg_exits,
			 "ops", ops);
}

json_t *pmu_view_json(const void *pmu_view)
{
	return json_with_vms(pmu_view_json_head(pmu_view), pmu_view,
			     pmu_view_json_nvms(pmu_view), pmu_view_json_vm);
}
