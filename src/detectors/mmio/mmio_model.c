// SPDX-License-Identifier: GPL-2.0
/* MMIO writes per VM and address, from samples of the mmio maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio_model.h"
#include "core/histogram.h"

/* By VM and address: the unit a sample keeps. */
static int compare_addr_key(const struct mmio_key *x, const struct mmio_key *y)
{
	int vm = vm_ident_compare(x->pid, x->vm_start, y->pid, y->vm_start);

	if (vm)
		return vm;
	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* Then by thread: the map's unit. */
static int compare_key(const void *a, const void *b)
{
	const struct mmio_key *x = a, *y = b;
	int addr = compare_addr_key(x, y);

	if (addr)
		return addr;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int compare_thread(const void *a, const void *b)
{
	const struct mmio_thread_record *x = a, *y = b;
	int vm = vm_ident_compare(x->t.pid, x->t.vm_start, y->t.pid,
				  y->t.vm_start);

	if (vm)
		return vm;
	return x->t.tid < y->t.tid ? -1 : x->t.tid > y->t.tid;
}

static int compare_vm(const void *a, const void *b)
{
	const struct mmio_vm_record *x = a, *y = b;

	return vm_ident_compare(x->key.pid, x->key.vm_start, y->key.pid,
				y->key.vm_start);
}

static uint64_t stats_writes(const struct mmio_stats *s)
{
	return s->path[MMIO_PATH_FAST].writes +
	       s->path[MMIO_PATH_EMULATED].writes +
	       s->path[MMIO_PATH_USER].writes;
}

/* One path's counts of from into into's. Exit reasons are left to
 * finish_fold: which is the address's depends on all its threads. */
static void path_add(struct mmio_path_stats *into,
		     const struct mmio_path_stats *from)
{
	size_t i;

	into->writes += from->writes;
	into->insn_emulated += from->insn_emulated;
	into->nested += from->nested;
	into->no_exit += from->no_exit;
	into->other_reason += from->other_reason;
	into->timed += from->timed;
	into->preempted += from->preempted;
	into->cost_ns += from->cost_ns;
	if (from->max_cost_ns > into->max_cost_ns)
		into->max_cost_ns = from->max_cost_ns;
	for (i = 0; i < HIST_SLOTS; i++)
		into->cost.slots[i] += from->cost.slots[i];
}

static void stats_add(struct mmio_stats *into, const struct mmio_stats *from)
{
	int p;

	for (p = 0; p < MMIO_PATH_COUNT; p++)
		path_add(&into->path[p], &from->path[p]);
	into->fast_misses += from->fast_misses;
	into->ioeventfd_signals += from->ioeventfd_signals;
	if (from->len)
		into->len = from->len;
}

static void shrink_to_fit(void **array, size_t n, size_t size)
{
	void *shrunk = *array ? realloc(*array, (n ? n : 1) * size) : NULL;

	if (shrunk)
		*array = shrunk;
}

static int add_writer(struct mmio_sample *s, const struct mmio_record *r)
{
	struct mmio_writer *w;
	int p;

	if (s->nwriters == s->writers_cap) {
		size_t cap = s->writers_cap ? s->writers_cap * 2 : 256;
		struct mmio_writer *grown = realloc(s->writers, cap *
						    sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->writers = grown;
		s->writers_cap = cap;
	}
	w = &s->writers[s->nwriters++];
	memset(w, 0, sizeof(*w));
	w->pid = r->key.pid;
	w->tid = r->key.tid;
	w->vm_start = r->key.vm_start;
	w->gpa = r->key.gpa;
	w->writes = stats_writes(&r->stats);
	for (p = 0; p < MMIO_PATH_COUNT; p++) {
		const struct mmio_path_stats *ps = &r->stats.path[p];

		if (!ps->reason_set || !ps->writes)
			continue;
		w->reason_set[p] = 1;
		w->first_reason[p] = ps->first_reason;
		w->reason_writes[p] = ps->writes - ps->other_reason -
			ps->no_exit;
	}
	return 0;
}

/* The n records of run, sorted and one per address, merged into the
 * sample's, in place from the back: one array, grown by doubling (a
 * copy per chunk would hold the sample twice). */
static int merge_addrs(struct mmio_sample *s, const struct mmio_record *run,
		       size_t n)
{
	size_t need = s->nrecs + n, i = s->nrecs, j = n, w = need;
	struct mmio_record *recs = s->recs;
	int c;

	if (need > s->recs_cap) {
		size_t cap = s->recs_cap * 2 > need ? s->recs_cap * 2 : need;

		recs = realloc(s->recs, cap * sizeof(*recs));
		if (!recs)
			return -ENOMEM;
		s->recs = recs;
		s->recs_cap = cap;
	}
	/* w - i >= j throughout: nothing unread is written over. */
	while (j > 0) {
		c = i ? compare_addr_key(&recs[i - 1].key, &run[j - 1].key) : -1;
		if (c > 0) {
			recs[--w] = recs[--i];
		} else if (c < 0) {
			recs[--w] = run[--j];
		} else {
			struct mmio_record *r = &recs[--w];

			*r = recs[--i];
			stats_add(&r->stats, &run[--j].stats);
			r->writers += run[j].writers;
		}
	}
	/* Addresses in both left a gap below the merged part. */
	if (w > i)
		memmove(&recs[i], &recs[w], (need - w) * sizeof(*recs));
	s->nrecs = i + need - w;
	return 0;
}

int mmio_fold_records(struct mmio_sample *s, struct mmio_record *raw,
		      size_t n)
{
	struct mmio_record *into = NULL;
	size_t i, k = 0;
	int err;

	s->folded = true;
	qsort(raw, n, sizeof(*raw), compare_key);
	/* In place: a run of one address's threads becomes its first. */
	for (i = 0; i < n; i++) {
		const struct mmio_record r = raw[i];

		if (stats_writes(&r.stats)) {
			err = add_writer(s, &r);
			if (err)
				return err;
		}
		if (!into || compare_addr_key(&into->key, &r.key)) {
			into = &raw[k++];
			memset(into, 0, sizeof(*into));
			into->key = r.key;
			into->key.tid = 0;
		}
		stats_add(&into->stats, &r.stats);
		into->writers += !!stats_writes(&r.stats);
	}
	return merge_addrs(s, raw, k);
}

static struct mmio_key writer_key(const struct mmio_writer *w)
{
	return (struct mmio_key){
		.pid = w->pid, .tid = w->tid, .gpa = w->gpa,
		.vm_start = w->vm_start,
	};
}

/* A record's address against a writer's. */
static int compare_addr(const struct mmio_key *x, const struct mmio_writer *y)
{
	struct mmio_key key = writer_key(y);

	return compare_addr_key(x, &key);
}

/* Writers as the map's records: address, then thread. */
static int compare_writer(const struct mmio_writer *x,
			  const struct mmio_writer *y)
{
	struct mmio_key kx = writer_key(x), ky = writer_key(y);

	return compare_key(&kx, &ky);
}

static int compare_writer_sort(const void *a, const void *b)
{
	return compare_writer(a, b);
}

static bool same_writer_addr(const struct mmio_writer *x,
			     const struct mmio_writer *y)
{
	struct mmio_key kx = writer_key(x);

	return !compare_addr(&kx, y);
}

/* Each address's exit reason per path, once all its threads are in: the
 * first reason of its lowest thread (tid order) that has one, and the
 * writes of the threads whose first reason differs as another reason,
 * whatever order the map gave them in. */
static void finish_fold(struct mmio_sample *s)
{
	size_t i = 0, k = 0, end;
	int p;

	qsort(s->writers, s->nwriters, sizeof(*s->writers),
	      compare_writer_sort);
	for (; i < s->nwriters; i = end) {
		const struct mmio_writer *w = &s->writers[i];
		struct mmio_record *r;

		for (end = i + 1; end < s->nwriters &&
		     same_writer_addr(&s->writers[end], w); end++)
			;
		while (k < s->nrecs && compare_addr(&s->recs[k].key, w) < 0)
			k++;
		if (k == s->nrecs || compare_addr(&s->recs[k].key, w))
			continue;
		r = &s->recs[k];
		for (p = 0; p < MMIO_PATH_COUNT; p++) {
			struct mmio_path_stats *ps = &r->stats.path[p];
			size_t t;

			ps->reason_set = 0;
			for (t = i; t < end; t++) {
				const struct mmio_writer *x = &s->writers[t];

				if (!x->reason_set[p])
					continue;
				if (!ps->reason_set) {
					ps->reason_set = 1;
					ps->first_reason = x->first_reason[p];
				} else if (x->first_reason[p] !=
					   ps->first_reason) {
					ps->other_reason +=
						x->reason_writes[p];
				}
			}
		}
	}
}

int mmio_sample_sort(struct mmio_sample *s)
{
	struct mmio_record *raw = s->recs;
	size_t n = s->nrecs;
	int err = 0;

	/* Records read whole (tests): folded here as a chunk would be. */
	if (!s->folded) {
		s->recs = NULL;
		s->nrecs = s->recs_cap = 0;
		free(s->writers);
		s->writers = NULL;
		s->nwriters = s->writers_cap = 0;
		err = mmio_fold_records(s, raw, n);
		free(raw);
	}
	qsort(s->threads, s->nthreads, sizeof(*s->threads), compare_thread);
	/* A thread read as it exited can be in both maps (bpf/vm_ident.h). */
	s->nthreads = unique_sorted(s->threads, s->nthreads,
				    sizeof(*s->threads), compare_thread);
	qsort(s->vms, s->nvms, sizeof(*s->vms), compare_vm);
	qsort(s->cands, s->ncands, sizeof(*s->cands), compare_key);
	if (err)
		return err;
	finish_fold(s);
	/* Doubling left up to as much again unused: a mapped block gives
	 * it back as it shrinks. */
	shrink_to_fit((void **)&s->recs, s->nrecs, sizeof(*s->recs));
	s->recs_cap = s->nrecs;
	shrink_to_fit((void **)&s->writers, s->nwriters, sizeof(*s->writers));
	s->writers_cap = s->nwriters;
	return 0;
}

void mmio_sample_free(void *sample)
{
	struct mmio_sample *s = sample;

	free(s->recs);
	free(s->writers);
	free(s->threads);
	free(s->vms);
	free(s->cands);
	memset(s, 0, sizeof(*s));
}

#define SUB(field) (out->field = cur->field - prev->field)

static void path_sub(struct mmio_path_stats *out,
		     const struct mmio_path_stats *cur,
		     const struct mmio_path_stats *prev)
{
	size_t i;

	*out = *cur;
	SUB(writes);
	SUB(insn_emulated);
	SUB(nested);
	SUB(no_exit);
	/* A thread lower in tid order that starts writing can bring the
	 * address another first reason: its figure may step back. */
	out->other_reason = cur->other_reason > prev->other_reason ?
		cur->other_reason - prev->other_reason : 0;
	if (out->other_reason > out->writes)
		out->other_reason = out->writes;
	SUB(timed);
	SUB(preempted);
	SUB(cost_ns);
	for (i = 0; i < HIST_SLOTS; i++)
		SUB(cost.slots[i]);
}

static void thread_sub(struct mmio_thread *out, const struct mmio_thread *cur,
		       const struct mmio_thread *prev)
{
	*out = *cur;
	SUB(exits);
	SUB(handler_writes);
	SUB(fast_tries);
	SUB(slow_candidate_runs);
	SUB(fast_events);
}

#undef SUB

/* Written, or tried on the fast bus, or signalled. */
static bool stats_active(const struct mmio_stats *s)
{
	return stats_writes(s) || s->fast_misses || s->ioeventfd_signals;
}

/* An entry deleted and re-created restarts its counts. */
static bool went_back(const struct mmio_stats *prev,
		      const struct mmio_stats *cur)
{
	int p;

	for (p = 0; p < MMIO_PATH_COUNT; p++)
		if (prev->path[p].writes > cur->path[p].writes)
			return true;
	return prev->fast_misses > cur->fast_misses ||
	       prev->ioeventfd_signals > cur->ioeventfd_signals;
}

static void *copy_array(const void *src, size_t n, size_t size)
{
	void *dst = calloc(n ? n : 1, size);

	if (dst && n)
		memcpy(dst, src, n * size);
	return dst;
}

/* The threads that wrote each of out's addresses since prev: both
 * lists and out's records are in (VM, gpa) order. */
static void count_writers(const struct mmio_sample *prev,
			  const struct mmio_sample *cur,
			  struct mmio_sample *out)
{
	size_t i = 0, j, k;

	for (k = 0; k < out->nrecs; k++)
		out->recs[k].writers = 0;
	for (j = 0, k = 0; j < cur->nwriters; j++) {
		const struct mmio_writer *c = &cur->writers[j];
		uint64_t before = 0;

		while (i < prev->nwriters &&
		       compare_writer(&prev->writers[i], c) < 0)
			i++;
		if (i < prev->nwriters && !compare_writer(&prev->writers[i], c))
			before = prev->writers[i].writes;
		/* An entry re-created restarts from its own writes. */
		if (c->writes == before)
			continue;
		while (k < out->nrecs && compare_addr(&out->recs[k].key, c) < 0)
			k++;
		if (k < out->nrecs && !compare_addr(&out->recs[k].key, c))
			out->recs[k].writers++;
	}
}

int mmio_sample_delta(const void *prev_sample, const void *cur_sample,
		      void *out_sample)
{
	const struct mmio_sample *prev = prev_sample, *cur = cur_sample;
	struct mmio_sample *out = out_sample;
	size_t i, j;
	int p;

	memset(out, 0, sizeof(*out));
	out->ts_ns = cur->ts_ns;
	out->setup = cur->setup;
	out->folded = true;
	out->recs = calloc(cur->nrecs ? cur->nrecs : 1, sizeof(*out->recs));
	out->threads = calloc(cur->nthreads ? cur->nthreads : 1,
			      sizeof(*out->threads));
	out->vms = copy_array(cur->vms, cur->nvms, sizeof(*cur->vms));
	out->cands = copy_array(cur->cands, cur->ncands, sizeof(*cur->cands));
	if (!out->recs || !out->threads || !out->vms || !out->cands) {
		mmio_sample_free(out);
		return -ENOMEM;
	}
	out->nvms = cur->nvms;
	out->ncands = cur->ncands;
	for (i = 0, j = 0; j < cur->nrecs; j++) {
		const struct mmio_record *c = &cur->recs[j], *pr = NULL;
		struct mmio_record *o = &out->recs[out->nrecs++];

		while (i < prev->nrecs && compare_key(&prev->recs[i].key,
						      &c->key) < 0)
			i++;
		if (i < prev->nrecs && !compare_key(&prev->recs[i].key, &c->key))
			pr = &prev->recs[i];
		if (pr && went_back(&pr->stats, &c->stats))
			pr = NULL;
		*o = *c;
		if (pr) {
			for (p = 0; p < MMIO_PATH_COUNT; p++)
				path_sub(&o->stats.path[p], &c->stats.path[p],
					 &pr->stats.path[p]);
			o->stats.fast_misses -= pr->stats.fast_misses;
			o->stats.ioeventfd_signals -= pr->stats.ioeventfd_signals;
		}
		/* Nothing happened there: the view would skip it, and at
		 * hundreds of VMs most addresses are written once at boot. */
		if (!stats_active(&o->stats))
			out->nrecs--;
	}
	for (i = 0, j = 0; j < cur->nthreads; j++) {
		const struct mmio_thread_record *c = &cur->threads[j], *pr = NULL;
		struct mmio_thread_record *o = &out->threads[out->nthreads++];

		while (i < prev->nthreads && compare_thread(&prev->threads[i],
							    c) < 0)
			i++;
		if (i < prev->nthreads && !compare_thread(&prev->threads[i], c))
			pr = &prev->threads[i];
		*o = *c;
		if (pr && pr->t.exits <= c->t.exits &&
		    pr->t.handler_writes <= c->t.handler_writes)
			thread_sub(&o->t, &c->t, &pr->t);
	}
	count_writers(prev, cur, out);
	return 0;
}

const char *mmio_path_name(enum mmio_path path)
{
	switch (path) {
	case MMIO_PATH_FAST: return "fast";
	case MMIO_PATH_EMULATED: return "emulated";
	case MMIO_PATH_USER: return "user";
	default: return "unknown";
	}
}

/* A sample's records are one per address already (mmio_fold_records). */
static void path_view(struct mmio_path_view *v, const struct mmio_path_stats *s)
{
	v->writes = s->writes;
	v->insn_emulated = s->insn_emulated;
	v->nested = s->nested;
	v->no_exit = s->no_exit;
	v->other_reason = s->other_reason;
	v->reason_set = s->reason_set && s->writes;
	v->reason = v->reason_set ? s->first_reason : 0;
	v->timed = s->timed;
	v->preempted = s->preempted;
	v->cost_ns = s->cost_ns;
	v->max_cost_ns = s->max_cost_ns;
	v->cost = s->cost;
}

static void path_finish(struct mmio_path_view *v, enum exit_table table)
{
	char buf[sizeof(v->reason_name)];

	if (v->timed) {
		v->cost_avg_ns = v->cost_ns / v->timed;
		v->cost_p50_ns_le = hist_percentile(&v->cost, 0.5);
		v->cost_p99_ns_le = hist_percentile(&v->cost, 0.99);
	}
	if (v->reason_set)
		snprintf(v->reason_name, sizeof(v->reason_name), "%s",
			 exit_reason_name(table, v->reason, buf, sizeof(buf)));
}

static bool candidate_current(const struct mmio_sample *s,
			      const struct mmio_candidate_record *c)
{
	struct mmio_vm_record key = {
		.key = { .pid = c->key.pid, .vm_start = c->key.vm_start },
	};
	const struct mmio_vm_record *vm = bsearch(&key, s->vms, s->nvms,
						  sizeof(*s->vms), compare_vm);

	return vm && vm->vm.scans && c->c.bus == vm->vm.bus &&
	       c->c.bus_count == vm->vm.bus_count;
}

static int is_candidate(const struct mmio_vm_view *vm, uint64_t gpa)
{
	size_t i;

	if (!vm->cands_known)
		return -1;
	for (i = 0; i < vm->ncands; i++)
		if (vm->cands[i] == gpa)
			return 1;
	return 0;
}

/* The view of the VM of pid and start, or NULL. */
static struct mmio_vm_view *vm_of(struct mmio_view *view, uint32_t pid,
				  uint64_t start)
{
	size_t i;

	for (i = 0; i < view->nvms; i++)
		if (view->vms[i].pid == pid && view->vms[i].vm_start == start)
			return &view->vms[i];
	return NULL;
}

static bool in_vm(const struct mmio_vm_view *vm, uint32_t pid, uint64_t start)
{
	return vm->pid == pid && vm->vm_start == start;
}

static int compare_vm_view(const void *a, const void *b)
{
	const struct mmio_vm_view *x = a, *y = b;

	return vm_ident_compare(x->pid, x->vm_start, y->pid, y->vm_start);
}

static int add_vm(struct mmio_view *view, size_t *cap, uint32_t pid,
		  uint64_t start)
{
	struct mmio_vm_view *grown;

	if (vm_of(view, pid, start))
		return 0;
	if (view->nvms == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		grown = realloc(view->vms, *cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		view->vms = grown;
	}
	memset(&view->vms[view->nvms], 0, sizeof(view->vms[0]));
	view->vms[view->nvms].pid = pid;
	view->vms[view->nvms++].vm_start = start;
	return 0;
}

static int collect_vms(const struct mmio_sample *s, struct mmio_view *view)
{
	size_t cap = 0, i;
	int err = 0;

	for (i = 0; i < s->nrecs && !err; i++)
		if (stats_writes(&s->recs[i].stats))
			err = add_vm(view, &cap, s->recs[i].key.pid,
				     s->recs[i].key.vm_start);
	for (i = 0; i < s->nthreads && !err; i++)
		if (s->threads[i].t.handler_writes)
			err = add_vm(view, &cap, s->threads[i].t.pid,
				     s->threads[i].t.vm_start);
	if (err)
		return err;
	qsort(view->vms, view->nvms, sizeof(*view->vms), compare_vm_view);
	return 0;
}

static int fill_candidates(const struct mmio_sample *s, struct mmio_vm_view *vm)
{
	struct mmio_vm_record key = {
		.key = { .pid = vm->pid, .vm_start = vm->vm_start },
	};
	const struct mmio_vm_record *r;
	size_t i;

	if (!s->setup.bus_probed)
		return 0;
	r = bsearch(&key, s->vms, s->nvms, sizeof(*s->vms), compare_vm);
	/* Scanned at its first bus write: a VM not seen there has none
	 * known yet. */
	if (!r || !r->vm.scans)
		return 0;
	vm->cands_known = true;
	vm->cands_truncated = r->vm.truncated;
	vm->cands = calloc(r->vm.candidates ? r->vm.candidates : 1,
			   sizeof(*vm->cands));
	if (!vm->cands)
		return -ENOMEM;
	for (i = 0; i < s->ncands; i++) {
		const struct mmio_candidate_record *c = &s->cands[i];

		if (in_vm(vm, c->key.pid, c->key.vm_start) &&
		    candidate_current(s, c) &&
		    vm->ncands < r->vm.candidates)
			vm->cands[vm->ncands++] = c->key.gpa;
	}
	return 0;
}

static int fill_addrs(const struct mmio_sample *s, struct mmio_view *view,
		      struct mmio_vm_view *vm)
{
	struct mmio_addr_view *a;
	size_t i, n = 0;
	int p;

	for (i = 0; i < s->nrecs; i++)
		n += in_vm(vm, s->recs[i].key.pid, s->recs[i].key.vm_start) &&
		     stats_active(&s->recs[i].stats);
	vm->addrs = calloc(n ? n : 1, sizeof(*vm->addrs));
	if (!vm->addrs)
		return -ENOMEM;
	for (i = 0; i < s->nrecs; i++) {
		const struct mmio_record *r = &s->recs[i];
		const struct mmio_stats *st = &r->stats;

		if (!in_vm(vm, r->key.pid, r->key.vm_start) ||
		    !stats_active(st))
			continue;
		a = &vm->addrs[vm->naddrs++];
		a->pid = vm->pid;
		a->vm_start = vm->vm_start;
		a->gpa = r->key.gpa;
		a->candidate = is_candidate(vm, a->gpa);
		for (p = 0; p < MMIO_PATH_COUNT; p++)
			path_view(&a->path[p], &st->path[p]);
		a->len = st->len;
		a->fast_misses = st->fast_misses;
		a->ioeventfd_signals = st->ioeventfd_signals;
		a->vcpu_threads = r->writers;
		a->writes = stats_writes(st);
	}
	for (i = 0; i < vm->naddrs; i++) {
		a = &vm->addrs[i];
		for (p = 0; p < MMIO_PATH_COUNT; p++) {
			const struct mmio_path_view *pv = &a->path[p];
			size_t k;

			path_finish(&a->path[p], view->table);
			vm->by_path[p] += pv->writes;
			view->by_path[p] += pv->writes;
			view->timed[p] += pv->timed;
			view->cost_ns[p] += pv->cost_ns;
			for (k = 0; k < HIST_SLOTS; k++)
				view->cost[p].slots[k] += pv->cost.slots[k];
		}
		vm->writes += a->writes;
		view->fast_misses += a->fast_misses;
		if (a->candidate != 1)
			continue;
		view->emulated_candidate_writes +=
			a->path[MMIO_PATH_EMULATED].writes -
			a->path[MMIO_PATH_EMULATED].nested;
		for (p = 0; p < MMIO_PATH_COUNT; p++)
			view->candidate_writes +=
				a->path[p].writes - a->path[p].nested;
	}
	return 0;
}

int mmio_view_from(const struct mmio_sample *s, double interval_sec,
		   enum exit_table table, struct mmio_view *view)
{
	struct mmio_fast_path *fp = &view->fast_path;
	size_t i;
	int err;

	memset(view, 0, sizeof(*view));
	view->interval_sec = interval_sec;
	view->setup = s->setup;
	view->table = table;
	err = collect_vms(s, view);
	for (i = 0; i < view->nvms && !err; i++) {
		struct mmio_vm_view *vm = &view->vms[i];

		err = fill_candidates(s, vm);
		if (!err)
			err = fill_addrs(s, view, vm);
	}
	if (err) {
		mmio_view_free(view);
		return err;
	}
	for (i = 0; i < s->nthreads; i++) {
		const struct mmio_thread *t = &s->threads[i].t;
		struct mmio_vm_view *vm = vm_of(view, t->pid, t->vm_start);

		fp->handler_writes += t->handler_writes;
		fp->fast_tries += t->fast_tries;
		fp->slow_candidate_runs += t->slow_candidate_runs;
		fp->fast_events += t->fast_events;
		/* Exits of VMs that wrote MMIO: per write of theirs. */
		if (vm) {
			vm->exits += t->exits;
			view->exits += t->exits;
		}
	}
	for (i = 0; i < view->nvms; i++) {
		struct mmio_vm_view *vm = &view->vms[i];

		/* Every MMIO write follows an exit: none seen means the
		 * kernel does not report them, not zero per write. */
		vm->exits_per_write = vm->writes && vm->exits ?
			(double)vm->exits / vm->writes : -1;
		view->writes += vm->writes;
	}
	view->fast_share = view->writes ?
		(double)view->by_path[MMIO_PATH_FAST] / view->writes : -1;
	view->exits_per_write = view->writes && view->exits ?
		(double)view->exits / view->writes : -1;
	mmio_decide_fast_path(&s->setup, view->by_path[MMIO_PATH_FAST],
			      view->emulated_candidate_writes, fp);
	return 0;
}

int mmio_view_build(const void *sample, double interval_sec,
		    const struct kernel_caps *caps, void *view)
{
	return mmio_view_from(sample, interval_sec, exit_table_for(caps), view);
}

void mmio_view_free(void *mmio_view)
{
	struct mmio_view *view = mmio_view;
	size_t i;

	for (i = 0; i < view->nvms; i++) {
		free(view->vms[i].cands);
		free(view->vms[i].addrs);
	}
	free(view->vms);
	memset(view, 0, sizeof(*view));
}

const struct mmio_addr_view *
mmio_view_worst_candidate(const struct mmio_view *view,
			  const struct mmio_vm_view **vm)
{
	const struct mmio_addr_view *worst = NULL;
	uint64_t most = 0;
	size_t i, j;

	for (i = 0; i < view->nvms; i++)
		for (j = 0; j < view->vms[i].naddrs; j++) {
			const struct mmio_addr_view *a = &view->vms[i].addrs[j];
			uint64_t n = a->path[MMIO_PATH_EMULATED].writes -
				a->path[MMIO_PATH_EMULATED].nested;

			if (a->candidate == 1 && n > most) {
				most = n;
				worst = a;
				if (vm)
					*vm = &view->vms[i];
			}
		}
	return worst;
}
