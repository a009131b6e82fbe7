// SPDX-License-Identifier: GPL-2.0
/* LAPIC timer figures per vCPU, from samples of the timer maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/histogram.h"
#include "timer_model.h"

static int compare_key(const void *a, const void *b)
{
	const struct timer_key *x = a, *y = b;
	int vm = vm_ident_compare(x->pid, x->vm_start, y->pid, y->vm_start);

	if (vm)
		return vm;
	return x->vcpu_id < y->vcpu_id ? -1 : x->vcpu_id > y->vcpu_id;
}

static int compare_thread_key(const void *a, const void *b)
{
	const struct timer_thread_key *x = a, *y = b;
	int vm = vm_ident_compare(x->pid, x->vm_start, y->pid, y->vm_start);

	if (vm)
		return vm;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void timer_sample_sort(struct timer_sample *s)
{
	qsort(s->recs, s->nrecs, sizeof(*s->recs), compare_key);
	qsort(s->threads, s->nthreads, sizeof(*s->threads),
	      compare_thread_key);
}

void timer_sample_free(void *sample)
{
	struct timer_sample *s = sample;

	free(s->recs);
	free(s->threads);
	memset(s, 0, sizeof(*s));
}

#define SUB(field) (out->field = cur->field - prev->field)

static void stats_sub(struct timer_stats *out, const struct timer_stats *cur,
		      const struct timer_stats *prev)
{
	size_t i;

	*out = *cur;
	SUB(callbacks);
	for (i = 0; i < TIMER_MODE_COUNT; i++)
		SUB(by_mode[i]);
	SUB(hv_in_use);
	SUB(period0);
	SUB(restarts);
	SUB(late_rearms);
	SUB(catchup_rearms);
	SUB(lateness_ns);
	SUB(callback_ns);
	SUB(timed);
	SUB(chains);
	SUB(chain_callbacks);
	SUB(chain_ns);
	SUB(advances);
	SUB(advances_past);
	SUB(advances_clamped);
	for (i = 0; i < HIST_SLOTS; i++)
		SUB(lateness.slots[i]);
}

static void thread_sub(struct timer_thread_stats *out,
		       const struct timer_thread_stats *cur,
		       const struct timer_thread_stats *prev)
{
	SUB(arms);
	SUB(sw_starts);
	SUB(hv_starts);
	SUB(hv_refused);
	SUB(to_sw);
	SUB(hv_state_on);
	SUB(hv_state_off);
}

#undef SUB

int timer_sample_delta(const void *prev_sample, const void *cur_sample,
		       void *out_sample)
{
	const struct timer_sample *prev = prev_sample, *cur = cur_sample;
	struct timer_sample *out = out_sample;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	out->ts_ns = cur->ts_ns;
	out->recs = calloc(cur->nrecs ? cur->nrecs : 1, sizeof(*out->recs));
	out->threads = calloc(cur->nthreads ? cur->nthreads : 1,
			      sizeof(*out->threads));
	if (!out->recs || !out->threads) {
		timer_sample_free(out);
		return -ENOMEM;
	}
	for (i = 0, j = 0; j < cur->nrecs; j++) {
		const struct timer_record *c = &cur->recs[j], *p = NULL;
		struct timer_record *o = &out->recs[out->nrecs];

		while (i < prev->nrecs && compare_key(&prev->recs[i].key, &c->key) < 0)
			i++;
		if (i < prev->nrecs && !compare_key(&prev->recs[i].key, &c->key))
			p = &prev->recs[i];
		/* A key deleted and re-created restarts its counts. */
		if (p && p->stats.callbacks > c->stats.callbacks)
			p = NULL;
		o->key = c->key;
		if (p)
			stats_sub(&o->stats, &c->stats, &p->stats);
		else
			o->stats = c->stats;
		out->nrecs++;
	}
	for (i = 0, j = 0; j < cur->nthreads; j++) {
		const struct timer_thread_record *c = &cur->threads[j], *p = NULL;
		struct timer_thread_record *o = &out->threads[out->nthreads++];

		while (i < prev->nthreads &&
		       compare_thread_key(&prev->threads[i].key, &c->key) < 0)
			i++;
		if (i < prev->nthreads &&
		    !compare_thread_key(&prev->threads[i].key, &c->key))
			p = &prev->threads[i];
		o->key = c->key;
		if (p && p->stats.arms <= c->stats.arms)
			thread_sub(&o->stats, &c->stats, &p->stats);
		else
			o->stats = c->stats;
	}
	return 0;
}

const char *timer_mode_name(uint32_t mode)
{
	switch (mode) {
	case TIMER_MODE_ONESHOT: return "oneshot";
	case TIMER_MODE_PERIODIC: return "periodic";
	case TIMER_MODE_TSCDEADLINE: return "tscdeadline";
	default: return "unknown";
	}
}

static const struct timer_thread_record *
find_thread(const struct timer_sample *s, const struct timer_vcpu_view *v)
{
	struct timer_thread_record key = {
		.key = { .pid = v->pid, .tid = v->tid,
			 .vm_start = v->vm_start },
	};

	return bsearch(&key, s->threads, s->nthreads, sizeof(*s->threads),
		       compare_thread_key);
}

int timer_view_build(const void *sample, double interval_sec,
		     const struct kernel_caps *caps, void *timer_view)
{
	const struct timer_sample *s = sample;
	struct timer_view *view = timer_view;
	size_t i;

	(void)caps;

	memset(view, 0, sizeof(*view));
	view->interval_sec = interval_sec;
	view->vcpus = calloc(s->nrecs ? s->nrecs : 1, sizeof(*view->vcpus));
	if (!view->vcpus)
		return -ENOMEM;
	for (i = 0; i < s->nrecs; i++) {
		const struct timer_record *r = &s->recs[i];
		const struct timer_stats *st = &r->stats;
		struct timer_vcpu_view *v = &view->vcpus[view->nvcpus];
		const struct timer_thread_record *t;

		/* A timer that did not fire in this interval is not shown. */
		if (!st->callbacks)
			continue;
		view->nvcpus++;
		v->pid = r->key.pid;
		v->vm_start = r->key.vm_start;
		v->vcpu_id = r->key.vcpu_id;
		v->tid = st->tid;
		v->mode = timer_mode_name(st->mode);
		v->period_ns = st->period_ns;
		v->callbacks = st->callbacks;
		v->callbacks_per_sec = interval_sec > 0 ?
			st->callbacks / interval_sec : 0;
		v->chains_per_sec = interval_sec > 0 ?
			st->chains / interval_sec : 0;
		if (st->mode == TIMER_MODE_PERIODIC && st->period_ns > 0)
			v->programmed_per_sec = 1e9 / st->period_ns;
		v->lateness_avg_ns = st->lateness_ns / st->callbacks;
		v->lateness_p50_ns_le = hist_percentile(&st->lateness, 0.5);
		v->lateness_p99_ns_le = hist_percentile(&st->lateness, 0.99);
		v->max_lateness_ns = st->max_lateness_ns;
		v->max_lateness_at = st->max_lateness_at;
		v->longest_chain = st->longest_chain;
		v->longest_chain_ns = st->longest_chain_ns;
		v->longest_chain_at = st->longest_chain_at;
		v->longest_chain_lateness_ns = st->longest_chain_lateness_ns;
		v->stats = *st;
		t = v->tid ? find_thread(s, v) : NULL;
		if (t)
			v->thread = t->stats;
		view->callbacks += st->callbacks;
		view->chains += st->chains;
		if (st->longest_chain > view->longest_chain)
			view->longest_chain = st->longest_chain;
	}
	return 0;
}

void timer_view_free(void *timer_view)
{
	struct timer_view *view = timer_view;

	free(view->vcpus);
	memset(view, 0, sizeof(*view));
}

const struct timer_vcpu_view *timer_view_worst_chain(const struct timer_view *v)
{
	const struct timer_vcpu_view *worst = NULL;
	size_t i;

	for (i = 0; i < v->nvcpus; i++)
		if (!worst || v->vcpus[i].longest_chain > worst->longest_chain)
			worst = &v->vcpus[i];
	return worst;
}
