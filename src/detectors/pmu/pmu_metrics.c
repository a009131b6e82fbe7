// SPDX-License-Identifier: GPL-2.0
/* The PMU view as metrics, for record, baselines and export. */
#include <errno.h>

#include "pmu_model.h"

/* m = a new metric, or return -ENOMEM from the caller. */
#define NEW_METRIC(m, set, type, unit, help, better, ...)		\
	do {								\
		(m) = metric_add(set, type, unit, help, better, __VA_ARGS__); \
		if (!(m))						\
			return -ENOMEM;					\
	} while (0)

static int label_entity(struct metric *m, const struct pmu_vcpu_view *v)
{
	if (!v)
		return 0;
	if (metric_vm_labels(m, v->pid, v->vm_start))
		return -E2BIG;
	/* A vCPU whose index no probe told is named by its thread. */
	if (v->vcpu_id >= 0)
		return metric_label(m, "vcpu", "%lld", (long long)v->vcpu_id);
	return metric_label(m, "vcpu", "tid%u", v->tid);
}

/* The figures of one vCPU, or of the whole run (v == NULL). */
/*
 * A figure is recorded only when its probe point is watched. One the
 * attach mode could not watch is left out, never a 0: a baseline that
 * has it then refuses the comparison ("not measured in this run"). So
 * that a missing one is never read as a zero of a breakdown, counters
 * with a verdict carry no labels but vm and vcpu.
 */
static bool measured(const struct pmu_watch_state *w)
{
	return w->state == PMU_WATCH_ON;
}

/* Add x's histogram of op (or of the switch, op < 0) and its calls. */
static void add_hist(const struct pmu_vcpu_view *x, int op,
		     struct log2_hist *h, uint64_t *count)
{
	const struct log2_hist *src = op < 0 ? &x->switch_hist :
		x->ops[op].hist;
	int s;

	if (op >= 0)
		*count += x->ops[op].count;
	for (s = 0; src && s < HIST_SLOTS; s++)
		h->slots[s] += src->slots[s];
}

/* Sum the histograms of op (or of the switch, op < 0) over v, or over
 * every vCPU when v is NULL. */
static void sum_hist(const struct pmu_view *view,
		     const struct pmu_vcpu_view *v, int op,
		     struct log2_hist *h, uint64_t *count)
{
	size_t i, j;

	memset(h, 0, sizeof(*h));
	*count = 0;
	if (v) {
		add_hist(v, op, h, count);
		return;
	}
	for (i = 0; i < view->nvms; i++)
		for (j = 0; j < view->vms[i].nvcpus; j++)
			add_hist(&view->vms[i].vcpus[j], op, h, count);
}

/* The switch figures, when the mechanism has a world switch. */
static int add_switches(struct metric_set *set, const struct pmu_view *view,
			const struct pmu_vcpu_view *v)
{
	const struct pmu_run_info *run = &view->run;
	const struct pmu_mechanism *mech = &run->mech;
	uint64_t exits = v ? v->exits : view->exits;
	struct log2_hist h;
	struct metric *m;
	uint64_t count;

	if (mech->load_op == PMU_OP_COUNT || !measured(&run->ops[mech->load_op]))
		return 0;
	NEW_METRIC(m, set, METRIC_COUNTER, "switches",
		   "PMU world switches into the guest (loads)", BETTER_LOWER,
		   "pmu.switch_loads");
	m->value = v ? v->loads : view->loads;
	m->per = "pmu.exits";
	if (label_entity(m, v))
		return -E2BIG;
	if (mech->put_op < PMU_OP_COUNT && measured(&run->ops[mech->put_op])) {
		NEW_METRIC(m, set, METRIC_COUNTER, "switches",
			   "PMU world switches back to the host (puts)",
			   BETTER_LOWER, "pmu.switch_puts");
		m->value = v ? v->puts : view->puts;
		m->per = "pmu.exits";
		if (label_entity(m, v))
			return -E2BIG;
	}
	sum_hist(view, v, -1, &h, &count);
	NEW_METRIC(m, set, METRIC_HISTOGRAM, "ns",
		   "cost of a PMU world switch (load or put)", BETTER_LOWER,
		   "pmu.switch_cost_ns");
	if (metric_set_hist(m, h.slots, -1))
		return -ENOMEM;
	if (label_entity(m, v))
		return -E2BIG;
	/* No exit, no ratio: left out rather than a 0. */
	if (!exits || !measured(&run->exits))
		return 0;
	NEW_METRIC(m, set, METRIC_GAUGE, "ratio",
		   "PMU world switches (loads) per guest exit", BETTER_LOWER,
		   "pmu.switches_per_exit");
	m->value = (double)(v ? v->loads : view->loads) / exits;
	return label_entity(m, v);
}

/* The figures of one vCPU, or of the whole run (v == NULL). */
static int add_figures(struct metric_set *set, const struct pmu_view *view,
		       const struct pmu_vcpu_view *v)
{
	const struct pmu_run_info *run = &view->run;
	uint64_t exits = v ? v->exits : view->exits;
	uint64_t regs = v ? v->reg_exits : view->reg_exits;
	struct log2_hist h;
	struct metric *m;
	uint64_t count;
	size_t k;
	int op, err;

	if (measured(&run->exits)) {
		NEW_METRIC(m, set, METRIC_COUNTER, "exits",
			   "guest exits seen by the pmu detector",
			   BETTER_NEITHER, "pmu.exits");
		m->value = exits;
		if (label_entity(m, v))
			return -E2BIG;
	}
	err = add_switches(set, view, v);
	if (err)
		return err;
	for (op = 0; op < PMU_OP_COUNT; op++) {
		if (!measured(&run->ops[op]))
			continue;
		sum_hist(view, v, op, &h, &count);
		/* Informational: a missing one is never judged. */
		NEW_METRIC(m, set, METRIC_COUNTER, "calls",
			   "calls of a kernel PMU function (label op)",
			   BETTER_NEITHER, "pmu.op_calls");
		m->value = count;
		if (label_entity(m, v) ||
		    metric_label(m, "op", "%s", pmu_op_name(op)))
			return -E2BIG;
		NEW_METRIC(m, set, METRIC_HISTOGRAM, "ns",
			   "cost of a kernel PMU function call (label op)",
			   BETTER_LOWER, "pmu.op_cost_ns");
		if (metric_set_hist(m, h.slots, -1))
			return -ENOMEM;
		if (label_entity(m, v) ||
		    metric_label(m, "op", "%s", pmu_op_name(op)))
			return -E2BIG;
	}
	if (!measured(&run->regs))
		return 0;
	NEW_METRIC(m, set, METRIC_COUNTER, "exits",
		   "guest PMU register accesses that exited to KVM",
		   BETTER_LOWER, "pmu.reg_exits");
	m->value = regs;
	m->per = "pmu.exits";
	if (label_entity(m, v))
		return -E2BIG;
	if (exits && measured(&run->exits)) {
		NEW_METRIC(m, set, METRIC_GAUGE, "ratio",
			   "guest PMU register exits per guest exit",
			   BETTER_LOWER, "pmu.reg_exits_per_exit");
		m->value = (double)regs / exits;
		if (label_entity(m, v))
			return -E2BIG;
	}
	if (!v)
		return 0;
	for (k = 0; k < v->nregs; k++) {
		const struct pmu_reg_view *r = &v->regs[k];
		int dir;

		for (dir = 0; dir < 2; dir++) {
			NEW_METRIC(m, set, METRIC_COUNTER, "exits",
				   "guest accesses of one PMU register that exited (labels reg, dir)",
				   BETTER_LOWER, "pmu.reg_exits_by_reg");
			m->value = dir ? r->writes : r->reads;
			if (label_entity(m, v) ||
			    metric_label(m, "reg", "%s", r->name) ||
			    metric_label(m, "dir", dir ? "write" : "read"))
				return -E2BIG;
		}
	}
	return 0;
}

int pmu_view_metrics(const void *pmu_view, struct metric_set *out)
{
	const struct pmu_view *view = pmu_view;
	struct metric *m;
	size_t i, j;
	int err;

	NEW_METRIC(m, out, METRIC_GAUGE, "bool",
		"1 when this host gives guests a vPMU, 0 when it has none",
		BETTER_NEITHER, "pmu.vpmu_enabled");
	m->value = view->run.mech.vpmu_enabled;
	/* What the hw-virtualized rules and alerts are conditional on. */
	NEW_METRIC(m, out, METRIC_GAUGE, NULL,
		   "how this host virtualizes the guest PMU (label mechanism)",
		   BETTER_NEITHER, "pmu.mechanism_info");
	m->value = 1;
	if (metric_label(m, "mechanism", "%s",
			 pmu_mech_name(view->run.mech.mech)))
		return -E2BIG;
	err = add_figures(out, view, NULL);
	for (i = 0; !err && i < view->nvms; i++)
		for (j = 0; !err && j < view->vms[i].nvcpus; j++)
			err = add_figures(out, view, &view->vms[i].vcpus[j]);
	return err;
}
