// SPDX-License-Identifier: GPL-2.0
/* PMU world switches and register exits per vCPU, from samples of the
 * pmu maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/histogram.h"
#include "pmu_model.h"

/* By VM (core/vm_ident.h), then thread. */
static int compare_thread(uint32_t pid_a, uint64_t start_a, uint32_t tid_a,
			  uint32_t pid_b, uint64_t start_b, uint32_t tid_b)
{
	int vm = vm_ident_compare(pid_a, start_a, pid_b, start_b);

	if (vm)
		return vm;
	return tid_a < tid_b ? -1 : tid_a > tid_b;
}

static int compare_vcpu_key(const void *a, const void *b)
{
	const struct pmu_vcpu_key *x = a, *y = b;

	return compare_thread(x->pid, x->vm_start, x->tid, y->pid, y->vm_start,
			      y->tid);
}

/* A register's thread against a vCPU's. */
static int compare_reg_thread(const struct pmu_reg_key *x,
			      const struct pmu_vcpu_key *y)
{
	return compare_thread(x->pid, x->vm_start, x->tid, y->pid, y->vm_start,
			      y->tid);
}

static int compare_op_key(const void *a, const void *b)
{
	const struct pmu_op_key *x = a, *y = b;
	int c = compare_thread(x->pid, x->vm_start, x->tid, y->pid,
			       y->vm_start, y->tid);

	if (c)
		return c;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* An op's thread against a vCPU's. */
static int compare_op_thread(const struct pmu_op_key *x,
			     const struct pmu_vcpu_key *y)
{
	return compare_thread(x->pid, x->vm_start, x->tid, y->pid, y->vm_start,
			      y->tid);
}

static int compare_reg_key(const void *a, const void *b)
{
	const struct pmu_reg_key *x = a, *y = b;
	int c = compare_thread(x->pid, x->vm_start, x->tid, y->pid,
			       y->vm_start, y->tid);

	if (c)
		return c;
	return x->reg < y->reg ? -1 : x->reg > y->reg;
}

void pmu_sample_sort(struct pmu_sample *s)
{
	qsort(s->vcpus, s->nvcpus, sizeof(*s->vcpus), compare_vcpu_key);
	qsort(s->ops, s->nops, sizeof(*s->ops), compare_op_key);
	qsort(s->regs, s->nregs, sizeof(*s->regs), compare_reg_key);
}

void pmu_sample_free(void *sample)
{
	struct pmu_sample *s = sample;

	free(s->vcpus);
	free(s->ops);
	free(s->regs);
	memset(s, 0, sizeof(*s));
}

/* A key deleted and re-created between two reads restarts its counts. */
static bool vcpu_restarted(const struct pmu_vcpu_stats *p,
			   const struct pmu_vcpu_stats *c)
{
	return p->exits > c->exits || p->reg_reads > c->reg_reads ||
		p->reg_writes > c->reg_writes;
}

static void vcpu_sub(struct pmu_vcpu_stats *out,
		     const struct pmu_vcpu_stats *c,
		     const struct pmu_vcpu_stats *p)
{
	*out = *c;	/* identities */
	out->exits -= p->exits;
	out->reg_reads -= p->reg_reads;
	out->reg_writes -= p->reg_writes;
	out->reg_faults -= p->reg_faults;
}

static bool op_restarted(const struct pmu_op_stats *p,
			 const struct pmu_op_stats *c)
{
	return p->count > c->count || p->timed > c->timed;
}

static void op_sub(struct pmu_op_stats *out, const struct pmu_op_stats *c,
		   const struct pmu_op_stats *p)
{
	int j;

	*out = *c;	/* the maximum is since attach */
	out->count -= p->count;
	out->timed -= p->timed;
	out->total_ns -= p->total_ns;
	for (j = 0; j < HIST_SLOTS; j++)
		out->hist.slots[j] -= p->hist.slots[j];
}

static bool reg_accessed(const struct pmu_reg_stats *s)
{
	return s->reads || s->writes;
}

static bool op_called(const struct pmu_op_stats *s)
{
	return s->count || s->timed;
}

/* The *n ops of vCPU k in s->ops (sorted by thread, as the vCPUs are),
 * looked for from *pos on, which then moves past them. */
static const struct pmu_op_record *thread_ops(const struct pmu_sample *s,
					      const struct pmu_vcpu_key *k,
					      size_t *pos, size_t *n)
{
	size_t first;

	while (*pos < s->nops && compare_op_thread(&s->ops[*pos].key, k) < 0)
		(*pos)++;
	first = *pos;
	while (*pos < s->nops && !compare_op_thread(&s->ops[*pos].key, k))
		(*pos)++;
	*n = *pos - first;
	return *n ? &s->ops[first] : NULL;
}

/* Active: an exit, a register exit or a call of an op (nops of them in
 * the sample, as called in the interval in a delta). */
static bool vcpu_active(const struct pmu_vcpu_stats *s,
			const struct pmu_op_record *ops, size_t nops)
{
	size_t i;

	if (s->exits || s->reg_reads || s->reg_writes)
		return true;
	for (i = 0; i < nops; i++)
		if (op_called(&ops[i].stats))
			return true;
	return false;
}

static void ops_delta(const struct pmu_sample *prev,
		      const struct pmu_sample *cur, struct pmu_sample *out)
{
	size_t i = 0, j;

	for (j = 0; j < cur->nops; j++) {
		const struct pmu_op_record *c = &cur->ops[j], *p = NULL;
		struct pmu_op_record *o = &out->ops[out->nops++];

		while (i < prev->nops &&
		       compare_op_key(&prev->ops[i].key, &c->key) < 0)
			i++;
		if (i < prev->nops && !compare_op_key(&prev->ops[i].key, &c->key))
			p = &prev->ops[i];
		o->key = c->key;
		if (p && !op_restarted(&p->stats, &c->stats))
			op_sub(&o->stats, &c->stats, &p->stats);
		else
			o->stats = c->stats;
		/* Not called in the interval: the view leaves it out. */
		if (!op_called(&o->stats))
			out->nops--;
	}
}

int pmu_sample_delta(const void *prev_sample, const void *cur_sample,
		     void *out_sample)
{
	const struct pmu_sample *prev = prev_sample, *cur = cur_sample;
	struct pmu_sample *out = out_sample;
	size_t i, j, op_pos = 0;

	memset(out, 0, sizeof(*out));
	out->ts_ns = cur->ts_ns;
	out->run = cur->run;
	out->vcpus = calloc(cur->nvcpus ? cur->nvcpus : 1, sizeof(*out->vcpus));
	out->ops = calloc(cur->nops ? cur->nops : 1, sizeof(*out->ops));
	out->regs = calloc(cur->nregs ? cur->nregs : 1, sizeof(*out->regs));
	if (!out->vcpus || !out->ops || !out->regs) {
		pmu_sample_free(out);
		return -ENOMEM;
	}
	ops_delta(prev, cur, out);
	for (i = 0, j = 0; j < cur->nvcpus; j++) {
		const struct pmu_vcpu_record *c = &cur->vcpus[j], *p = NULL;
		struct pmu_vcpu_record *o = &out->vcpus[out->nvcpus++];
		const struct pmu_op_record *ops;
		size_t nops;

		while (i < prev->nvcpus &&
		       compare_vcpu_key(&prev->vcpus[i].key, &c->key) < 0)
			i++;
		if (i < prev->nvcpus &&
		    !compare_vcpu_key(&prev->vcpus[i].key, &c->key))
			p = &prev->vcpus[i];
		o->key = c->key;
		if (p && !vcpu_restarted(&p->stats, &c->stats))
			vcpu_sub(&o->stats, &c->stats, &p->stats);
		else
			o->stats = c->stats;
		/* Idle in the interval: the view leaves it out. */
		ops = thread_ops(out, &c->key, &op_pos, &nops);
		if (!vcpu_active(&o->stats, ops, nops))
			out->nvcpus--;
	}
	for (i = 0, j = 0; j < cur->nregs; j++) {
		const struct pmu_reg_record *c = &cur->regs[j], *p = NULL;
		struct pmu_reg_record *o = &out->regs[out->nregs++];

		while (i < prev->nregs &&
		       compare_reg_key(&prev->regs[i].key, &c->key) < 0)
			i++;
		if (i < prev->nregs && !compare_reg_key(&prev->regs[i].key, &c->key))
			p = &prev->regs[i];
		o->key = c->key;
		o->stats = c->stats;
		if (p && p->stats.reads <= c->stats.reads &&
		    p->stats.writes <= c->stats.writes) {
			o->stats.reads -= p->stats.reads;
			o->stats.writes -= p->stats.writes;
			o->stats.read_faults -= p->stats.read_faults;
			o->stats.write_faults -= p->stats.write_faults;
		}
		/* Not accessed in the interval: the view leaves it out. */
		if (!reg_accessed(&o->stats))
			out->nregs--;
	}
	return 0;
}

static double rate(uint64_t n, double sec)
{
	return sec > 0 ? n / sec : 0;
}

static int op_view(struct pmu_op_view *v, const struct pmu_op_stats *s,
		   double interval_sec)
{
	v->hist = malloc(sizeof(*v->hist));
	if (!v->hist)
		return -ENOMEM;
	*v->hist = s->hist;
	v->count = s->count;
	v->timed = s->timed;
	v->total_ns = s->total_ns;
	v->per_sec = rate(s->count, interval_sec);
	v->avg_ns = s->timed ? (double)s->total_ns / s->timed : 0;
	v->p50_ns_le = hist_percentile(&s->hist, 0.5);
	v->p99_ns_le = hist_percentile(&s->hist, 0.99);
	v->max_ns = s->max_ns;
	return 0;
}

bool pmu_switch_watched(const struct pmu_run_info *run)
{
	return run->mech.load_op < PMU_OP_COUNT &&
		run->ops[run->mech.load_op].state == PMU_WATCH_ON;
}

bool pmu_put_watched(const struct pmu_run_info *run)
{
	return run->mech.put_op < PMU_OP_COUNT &&
		run->ops[run->mech.put_op].state == PMU_WATCH_ON;
}

static void switch_figures(struct pmu_vcpu_view *v,
			   const struct pmu_run_info *run)
{
	const struct pmu_mechanism *m = &run->mech;
	const struct pmu_op_view *ops[2] = { NULL, NULL };
	uint64_t timed = 0, total = 0;
	int i, j;

	v->switches_per_exit = -1;
	if (!pmu_switch_watched(run))
		return;
	if (m->load_op < PMU_OP_COUNT) {
		ops[0] = &v->ops[m->load_op];
		v->loads = ops[0]->count;
	}
	if (pmu_put_watched(run)) {
		ops[1] = &v->ops[m->put_op];
		v->puts = ops[1]->count;
	}
	if (m->load_op < PMU_OP_COUNT && v->exits)
		v->switches_per_exit = (double)v->loads / v->exits;
	for (i = 0; i < 2; i++) {
		if (!ops[i])
			continue;
		timed += ops[i]->timed;
		total += ops[i]->total_ns;
		for (j = 0; ops[i]->hist && j < HIST_SLOTS; j++)
			v->switch_hist.slots[j] += ops[i]->hist->slots[j];
	}
	v->switch_avg_ns = timed ? (double)total / timed : 0;
}

static int compare_vcpu_view(const void *a, const void *b)
{
	const struct pmu_vcpu_view *x = a, *y = b;

	/* Known vCPU indexes first, in order; then by thread. */
	if ((x->vcpu_id < 0) != (y->vcpu_id < 0))
		return x->vcpu_id < 0 ? 1 : -1;
	if (x->vcpu_id != y->vcpu_id)
		return x->vcpu_id < y->vcpu_id ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int build_vcpu(struct pmu_vcpu_view *v, const struct pmu_sample *s,
		      const struct pmu_vcpu_record *r,
		      const struct pmu_op_record *ops, size_t nops,
		      size_t *reg_pos, double interval_sec)
{
	const struct pmu_vcpu_stats *st = &r->stats;
	size_t first, i;

	v->pid = r->key.pid;
	v->vm_start = r->key.vm_start;
	v->tid = r->key.tid;
	v->vcpu_id = st->vcpu_id == PMU_VCPU_ID_UNKNOWN ? -1 : (int64_t)st->vcpu_id;
	v->vpmu = st->vpmu == PMU_VPMU_UNKNOWN ? -1 : st->vpmu;
	/* 6.1's AMD refresh sets a PMU version even with enable_pmu=N:
	 * the host's switch decides, the version is still shown. */
	if (v->vpmu > 0 && !s->run.mech.vpmu_enabled)
		v->vpmu = 0;
	v->pmu_version = st->pmu_version;
	v->gp_counters = st->gp_counters;
	v->exits = st->exits;
	v->exits_per_sec = rate(st->exits, interval_sec);
	for (i = 0; i < nops; i++)
		if (ops[i].key.op < PMU_OP_COUNT &&
		    op_view(&v->ops[ops[i].key.op], &ops[i].stats, interval_sec))
			return -ENOMEM;
	switch_figures(v, &s->run);
	v->switches_per_sec = rate(v->loads, interval_sec);
	v->reg_reads = st->reg_reads;
	v->reg_writes = st->reg_writes;
	v->reg_faults = st->reg_faults;
	v->reg_exits = st->reg_reads + st->reg_writes;
	v->reg_exits_per_sec = rate(v->reg_exits, interval_sec);
	v->reg_exits_per_exit = st->exits ? (double)v->reg_exits / st->exits : -1;

	/* Registers of this thread: regs are sorted by (VM, tid, reg). */
	while (*reg_pos < s->nregs &&
	       compare_reg_thread(&s->regs[*reg_pos].key, &r->key) < 0)
		(*reg_pos)++;
	first = *reg_pos;
	while (*reg_pos < s->nregs &&
	       !compare_reg_thread(&s->regs[*reg_pos].key, &r->key))
		(*reg_pos)++;
	if (*reg_pos == first)
		return 0;
	v->regs = calloc(*reg_pos - first, sizeof(*v->regs));
	if (!v->regs)
		return -ENOMEM;
	for (i = first; i < *reg_pos; i++) {
		const struct pmu_reg_record *rr = &s->regs[i];
		struct pmu_reg_view *rv = &v->regs[v->nregs];

		if (!reg_accessed(&rr->stats))
			continue;
		rv->reg = rr->key.reg;
		if (!pmu_reg_describe(s->run.facts.arch, rr->key.reg, rv->name,
				      sizeof(rv->name), rv->encoding,
				      sizeof(rv->encoding), &rv->kind))
			snprintf(rv->name, sizeof(rv->name), "unknown");
		rv->reads = rr->stats.reads;
		rv->writes = rr->stats.writes;
		rv->read_faults = rr->stats.read_faults;
		rv->write_faults = rr->stats.write_faults;
		v->nregs++;
	}
	return 0;
}

int pmu_view_build(const void *sample, double interval_sec,
		   const struct kernel_caps *caps, void *pmu_view)
{
	const struct pmu_sample *s = sample;
	struct pmu_view *view = pmu_view;
	struct pmu_vcpu_view *all;
	const struct pmu_op_record *ops;
	size_t i, n = 0, reg_pos = 0, op_pos = 0, nops;
	int err, op;

	(void)caps;
	memset(view, 0, sizeof(*view));
	view->interval_sec = interval_sec;
	view->run = s->run;
	all = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*all));
	view->vms = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*view->vms));
	view->all_vcpus = all;
	if (!all || !view->vms) {
		pmu_view_free(view);
		return -ENOMEM;
	}
	for (i = 0; i < s->nvcpus; i++) {
		ops = thread_ops(s, &s->vcpus[i].key, &op_pos, &nops);
		if (!vcpu_active(&s->vcpus[i].stats, ops, nops))
			continue;
		err = build_vcpu(&all[n++], s, &s->vcpus[i], ops, nops,
				 &reg_pos, interval_sec);
		if (err)
			goto fail;
	}
	/* all[] is in VM order: cut it into VMs, each a slice of it (not a
	 * copy: at 1024 vCPUs a copy is megabytes). */
	for (i = 0; i < n; ) {
		struct pmu_vm_view *vm = &view->vms[view->nvms++];
		size_t j = i;

		vm->pid = all[i].pid;
		vm->vm_start = all[i].vm_start;
		while (j < n && all[j].pid == vm->pid &&
		       all[j].vm_start == vm->vm_start)
			j++;
		vm->nvcpus = j - i;
		vm->vcpus = &all[i];
		qsort(vm->vcpus, vm->nvcpus, sizeof(*vm->vcpus),
		      compare_vcpu_view);
		for (j = 0; j < vm->nvcpus; j++) {
			const struct pmu_vcpu_view *v = &vm->vcpus[j];

			vm->exits += v->exits;
			vm->loads += v->loads;
			vm->puts += v->puts;
			vm->reg_exits += v->reg_exits;
			view->reg_faults += v->reg_faults;
			for (op = 0; op < PMU_OP_COUNT; op++)
				view->op_counts[op] += v->ops[op].count;
		}
		view->exits += vm->exits;
		view->loads += vm->loads;
		view->puts += vm->puts;
		view->reg_exits += vm->reg_exits;
		view->nvcpus += vm->nvcpus;
		i += vm->nvcpus;
	}
	return 0;
fail:
	view->nvcpus = n;	/* the built ones, whose regs are freed */
	pmu_view_free(view);
	return err;
}

void pmu_view_free(void *pmu_view)
{
	struct pmu_view *view = pmu_view;
	size_t i;

	for (i = 0; view->all_vcpus && i < view->nvcpus; i++) {
		struct pmu_vcpu_view *v = &view->all_vcpus[i];
		int op;

		for (op = 0; op < PMU_OP_COUNT; op++)
			free(v->ops[op].hist);
		free(v->regs);
	}
	free(view->all_vcpus);
	free(view->vms);
	memset(view, 0, sizeof(*view));
}

const char *pmu_view_off_reason(const struct pmu_view *view)
{
	return view->run.mech.vpmu_enabled ? NULL : view->run.mech.why;
}
