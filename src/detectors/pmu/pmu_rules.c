// SPDX-License-Identifier: GPL-2.0
/*
 * The rules of `kvmwatch check --pmu`: the cost and rate of PMU world
 * switches, PMU register exits, and what hardware PMU virtualization must
 * have removed. On a host without a vPMU every rule is skipped saying why:
 * its zeros say nothing about the switch path. Defaults and their reasons
 * are in docs/pmu.md.
 */
#include <stdio.h>
#include <string.h>

#include "core/histogram.h"
#include "pmu_model.h"
#include "core/vm_name.h"

/* vCPUs with fewer exits than this are not judged per exit: one vCPU
 * load around a handful of exits is not a rate. */
#define PMU_MIN_EXITS 100

#define for_each_vcpu(view, vm, v)					\
	for (vm = (view)->vms; vm < (view)->vms + (view)->nvms; vm++)	\
		for (v = vm->vcpus; v < vm->vcpus + vm->nvcpus; v++)

/* The view, when it can say anything about a vPMU; else why not. */
static const struct pmu_view *vpmu_view(const struct check_data *d,
					char *why, size_t len)
{
	const struct pmu_view *view = check_view(d, DET_PMU, why, len);
	const char *off;

	if (!view)
		return NULL;
	off = pmu_view_off_reason(view);
	if (!off)
		return view;
	snprintf(why, len,
		 "no vPMU on this host, so its zeros say nothing: %s (%llu guest PMU register exits seen, in the report)",
		 off, (unsigned long long)view->reg_exits);
	return NULL;
}

static bool watched(const struct pmu_watch_state *w, const char *what,
		    char *why, size_t len)
{
	if (w->state == PMU_WATCH_ON)
		return true;
	snprintf(why, len, "%s cannot be watched: %s", what,
		 w->why[0] ? w->why : "not applicable here");
	return false;
}

/* The mechanism's world switch, where it has one that is watched. */
static bool switch_watched(const struct pmu_view *view, char *why, size_t len)
{
	const struct pmu_mechanism *m = &view->run.mech;

	if (m->load_op == PMU_OP_COUNT) {
		snprintf(why, len,
			 "the %s vPMU has no world-switch function to measure: %s",
			 pmu_mech_name(m->mech), m->why);
		return false;
	}
	return watched(&view->run.ops[m->load_op], pmu_op_name(m->load_op),
		       why, len);
}

static void vcpu_name(const struct pmu_vcpu_view *v, char *buf, size_t len)
{
	char vm[VM_NAME_LEN + 32];

	vm_describe(v->pid, v->vm_start, vm, sizeof(vm));
	if (v->vcpu_id >= 0)
		snprintf(buf, len, "%s vCPU %lld (thread %u)", vm,
			 (long long)v->vcpu_id, v->tid);
	else
		snprintf(buf, len, "%s thread %u", vm, v->tid);
}

/* A vCPU whose guest touched the PMU: its registers exited, or its
 * counters are the guest's own (mediated). A guest that never uses it
 * still switches at every load, but what that costs is not the PMU's. */
static bool used_pmu(const struct pmu_view *view,
		     const struct pmu_vcpu_view *v)
{
	return v->reg_exits ||
		(view->run.mech.mech == PMU_MECH_MEDIATED && v->vpmu == 1);
}

static enum measure_outcome
measure_switch_cost(const struct check_data *d, double *value, char *evidence,
		    size_t evidence_len, char *why, size_t why_len)
{
	const struct pmu_view *view = vpmu_view(d, why, why_len);
	const struct pmu_vcpu_view *v, *worst = NULL;
	const struct pmu_vm_view *vm;
	uint64_t median, worst_median = 0, unused = 0;
	char who[VM_NAME_LEN + 96];

	if (!view || !switch_watched(view, why, why_len))
		return NOT_MEASURED;
	/* The median: TCG and preemption put a few switches at hundreds of
	 * microseconds, which move an average, not the median. */
	for_each_vcpu(view, vm, v) {
		if (!v->switch_avg_ns)
			continue;
		if (!used_pmu(view, v)) {
			unused++;
			continue;
		}
		median = hist_percentile(&v->switch_hist, 0.5);
		if (!worst || median > worst_median) {
			worst = v;
			worst_median = median;
		}
	}
	if (!worst) {
		if (unused)
			snprintf(why, why_len,
				 "no guest used the PMU (%llu vCPUs switched it, none touched a PMU register): nothing to judge",
				 (unsigned long long)unused);
		else
			snprintf(why, why_len,
				 "no PMU world switch (%s) returned during the run",
				 pmu_op_name(view->run.mech.load_op));
		return NOT_MEASURED;
	}
	*value = worst_median;
	vcpu_name(worst, who, sizeof(who));
	snprintf(evidence, evidence_len,
		 "%s: %llu loads (%s) and %llu puts, p50 <= %llu ns, p99 <= %llu ns, average %.0f ns; mechanism %s",
		 who, (unsigned long long)worst->loads,
		 pmu_op_name(view->run.mech.load_op),
		 (unsigned long long)worst->puts,
		 (unsigned long long)worst_median,
		 (unsigned long long)hist_percentile(&worst->switch_hist, 0.99),
		 worst->switch_avg_ns, pmu_mech_name(view->run.mech.mech));
	return MEASURED;
}

static enum measure_outcome
measure_switches_per_exit(const struct check_data *d, double *value,
			  char *evidence, size_t evidence_len, char *why,
			  size_t why_len)
{
	const struct pmu_view *view = vpmu_view(d, why, why_len);
	const struct pmu_vcpu_view *v, *worst = NULL;
	const struct pmu_vm_view *vm;
	char who[VM_NAME_LEN + 96];

	if (!view || !switch_watched(view, why, why_len) ||
	    !watched(&view->run.exits, "kvm:kvm_exit", why, why_len))
		return NOT_MEASURED;
	for_each_vcpu(view, vm, v)
		if (v->exits >= PMU_MIN_EXITS &&
		    (!worst || v->switches_per_exit > worst->switches_per_exit))
			worst = v;
	if (!worst) {
		snprintf(why, why_len,
			 "no vCPU exited %d times during the run: too few exits for a rate",
			 PMU_MIN_EXITS);
		return NOT_MEASURED;
	}
	*value = worst->switches_per_exit;
	vcpu_name(worst, who, sizeof(who));
	snprintf(evidence, evidence_len,
		 "%s: %llu loads (%s) for %llu exits",
		 who, (unsigned long long)worst->loads,
		 pmu_op_name(view->run.mech.load_op),
		 (unsigned long long)worst->exits);
	return MEASURED;
}

/* A rate of PMU register exits says something once a vCPU ran. */
static bool vcpus_ran(const struct pmu_view *view, char *why, size_t len)
{
	if (view->nvcpus)
		return true;
	snprintf(why, len, "no vCPU ran during the run: nothing to judge");
	return false;
}

/* The vCPU with the most PMU register exits per second, or NULL. */
static const struct pmu_vcpu_view *worst_reg_rate(const struct pmu_view *view)
{
	const struct pmu_vcpu_view *v, *worst = NULL;
	const struct pmu_vm_view *vm;

	for_each_vcpu(view, vm, v)
		if (!worst || v->reg_exits_per_sec > worst->reg_exits_per_sec)
			worst = v;
	return worst;
}

static void reg_evidence(const struct pmu_view *view,
			 const struct pmu_vcpu_view *v, char *buf, size_t len)
{
	const struct pmu_reg_view *top = NULL;
	char who[VM_NAME_LEN + 96];
	size_t i;

	for (i = 0; i < v->nregs; i++)
		if (!top || v->regs[i].reads + v->regs[i].writes >
			    top->reads + top->writes)
			top = &v->regs[i];
	vcpu_name(v, who, sizeof(who));
	snprintf(buf, len,
		 "%s: %llu PMU register accesses exited (%llu reads, %llu writes) in %.2f s; most: %s (%llu); mechanism %s",
		 who, (unsigned long long)v->reg_exits,
		 (unsigned long long)v->reg_reads,
		 (unsigned long long)v->reg_writes, view->interval_sec,
		 top ? top->name : "-",
		 top ? (unsigned long long)(top->reads + top->writes) : 0ull,
		 pmu_mech_name(view->run.mech.mech));
}

static enum measure_outcome
measure_reg_exits(const struct check_data *d, double *value, char *evidence,
		  size_t evidence_len, char *why, size_t why_len)
{
	const struct pmu_view *view = vpmu_view(d, why, why_len);
	const struct pmu_vcpu_view *worst;

	if (!view || !watched(&view->run.regs, "the PMU register exits", why,
			      why_len) || !vcpus_ran(view, why, why_len))
		return NOT_MEASURED;
	worst = worst_reg_rate(view);
	*value = worst ? worst->reg_exits_per_sec : 0;
	if (worst && worst->reg_exits)
		reg_evidence(view, worst, evidence, evidence_len);
	return MEASURED;
}

/* The view when hardware PMU virtualization is active; else why not. */
static const struct pmu_view *hw_virt_view(const struct check_data *d,
					   char *why, size_t len)
{
	const struct pmu_view *view = vpmu_view(d, why, len);

	if (!view)
		return NULL;
	if (view->run.mech.mech == PMU_MECH_HW_VIRT)
		return view;
	snprintf(why, len,
		 "hardware PMU virtualization is not active here (mechanism %s%s%s)",
		 pmu_mech_name(view->run.mech.mech),
		 view->run.mech.offered[0] ? "; " : "", view->run.mech.offered);
	return NULL;
}

static enum measure_outcome
measure_hw_virt_sw_loads(const struct check_data *d, double *value,
			 char *evidence, size_t evidence_len, char *why,
			 size_t why_len)
{
	const struct pmu_view *view = hw_virt_view(d, why, why_len);
	const struct pmu_vcpu_view *v, *worst = NULL;
	const struct pmu_vm_view *vm;
	double worst_ratio = -1;
	char who[VM_NAME_LEN + 96];

	if (!view || !switch_watched(view, why, why_len) ||
	    !watched(&view->run.ops[PMU_OP_LOAD_PMCS], "kvm_pmu_load_guest_pmcs",
		     why, why_len) ||
	    !watched(&view->run.ops[PMU_OP_PUT_PMCS], "kvm_pmu_put_guest_pmcs",
		     why, why_len))
		return NOT_MEASURED;
	for_each_vcpu(view, vm, v) {
		double ratio;

		if (!(v->loads + v->puts))
			continue;
		ratio = (double)(v->ops[PMU_OP_LOAD_PMCS].count +
				 v->ops[PMU_OP_PUT_PMCS].count) /
			(v->loads + v->puts);
		if (ratio > worst_ratio) {
			worst_ratio = ratio;
			worst = v;
		}
	}
	if (!worst) {
		snprintf(why, why_len, "no PMU world switch was seen during the run");
		return NOT_MEASURED;
	}
	*value = worst_ratio;
	vcpu_name(worst, who, sizeof(who));
	snprintf(evidence, evidence_len,
		 "%s: %llu software PMC loads and %llu saves for %llu loads and %llu puts, though the VMCB switches the counters",
		 who, (unsigned long long)worst->ops[PMU_OP_LOAD_PMCS].count,
		 (unsigned long long)worst->ops[PMU_OP_PUT_PMCS].count,
		 (unsigned long long)worst->loads,
		 (unsigned long long)worst->puts);
	return MEASURED;
}

static enum measure_outcome
measure_hw_virt_reg_exits(const struct check_data *d, double *value,
			  char *evidence, size_t evidence_len, char *why,
			  size_t why_len)
{
	const struct pmu_view *view = hw_virt_view(d, why, why_len);
	const struct pmu_vcpu_view *worst;

	if (!view || !watched(&view->run.regs, "the PMU MSR exits", why,
			      why_len) || !vcpus_ran(view, why, why_len))
		return NOT_MEASURED;
	worst = worst_reg_rate(view);
	*value = worst ? worst->reg_exits_per_sec : 0;
	if (worst && worst->reg_exits)
		reg_evidence(view, worst, evidence, evidence_len);
	return MEASURED;
}

static const struct check_rule pmu_rules[] = {
	{ "pmu.switch_cost_ns", "pmu",
	  "median cost of a PMU world switch (load or put; upper bound of its log2 slot), worst vCPU whose guest used the PMU",
	  "ns", RULE_AT_MOST, 20000, measure_switch_cost },
	{ "pmu.switch_per_exit", "pmu",
	  "PMU world switches (loads) per guest exit, worst vCPU",
	  "ratio", RULE_AT_MOST, 1.1, measure_switches_per_exit },
	{ "pmu.reg_exits_per_s", "pmu",
	  "guest PMU register accesses that exit, per second, worst vCPU",
	  "exits/s", RULE_AT_MOST, 50000, measure_reg_exits },
	{ "pmu.hwvirt_sw_loads", "pmu",
	  "with hardware PMU virtualization: software PMC loads and saves per switch",
	  "ratio", RULE_AT_MOST, 0.01, measure_hw_virt_sw_loads },
	{ "pmu.hwvirt_reg_exits", "pmu",
	  "with hardware PMU virtualization: PMU MSR exits per second, worst vCPU",
	  "exits/s", RULE_AT_MOST, 100, measure_hw_virt_reg_exits },
};

CHECK_RULE_GROUP(pmu_rule_group, "pmu", DET_PMU, pmu_rules,
		 "PMU world-switch cost and rate, PMU register exits (docs/pmu.md)");
