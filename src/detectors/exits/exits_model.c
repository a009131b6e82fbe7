// SPDX-License-Identifier: GPL-2.0
/* Exits per VM and vCPU by reason, from samples of the exits maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/histogram.h"
#include "exits_model.h"

static int compare_key(const struct exit_key *a, const struct exit_key *b)
{
	int vm = vm_ident_compare(a->pid, a->vm_start, b->pid, b->vm_start);

	if (vm)
		return vm;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->reason != b->reason)
		return a->reason < b->reason ? -1 : 1;
	return 0;
}

static int compare_record(const void *a, const void *b)
{
	return compare_key(&((const struct exit_record *)a)->key,
			   &((const struct exit_record *)b)->key);
}

static int compare_thread(const void *a, const void *b)
{
	const struct vcpu_thread *x = &((const struct thread_record *)a)->info;
	const struct vcpu_thread *y = &((const struct thread_record *)b)->info;
	int vm = vm_ident_compare(x->pid, x->vm_start, y->pid, y->vm_start);

	if (vm)
		return vm;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void exits_sample_sort(struct exits_sample *sample)
{
	qsort(sample->recs, sample->nrecs, sizeof(*sample->recs),
	      compare_record);
	qsort(sample->threads, sample->nthreads, sizeof(*sample->threads),
	      compare_thread);
	/* A thread read as it exited can be in both maps (bpf/vm_ident.h). */
	sample->nthreads = unique_sorted(sample->threads, sample->nthreads,
					 sizeof(*sample->threads),
					 compare_thread);
	pio_sample_sort(sample);
}

void exits_sample_free(void *data)
{
	struct exits_sample *sample = data;

	free(sample->recs);
	free(sample->threads);
	free(sample->pios);
	memset(sample, 0, sizeof(*sample));
}

static void stats_sub(struct exit_stats *out, const struct exit_stats *cur,
		      const struct exit_stats *prev)
{
	size_t i;

	*out = *cur;
	if (!prev)
		return;
	out->count -= prev->count;
	out->total_ns -= prev->total_ns;
	out->timed -= prev->timed;
	for (i = 0; i < HIST_SLOTS; i++)
		out->hist.slots[i] -= prev->hist.slots[i];
}

int exits_sample_delta(const void *prev_sample, const void *cur_sample,
		      void *out_sample)
{
	const struct exits_sample *prev = prev_sample, *cur = cur_sample;
	struct exits_sample *out = out_sample;
	size_t i = 0, j = 0;

	memset(out, 0, sizeof(*out));
	out->ts_ns = cur->ts_ns;
	out->delta = true;
	out->recs = calloc(cur->nrecs ? cur->nrecs : 1, sizeof(*out->recs));
	out->threads = calloc(cur->nthreads ? cur->nthreads : 1,
			      sizeof(*out->threads));
	if (!out->recs || !out->threads) {
		exits_sample_free(out);
		return -ENOMEM;
	}
	memcpy(out->threads, cur->threads, cur->nthreads * sizeof(*cur->threads));
	out->nthreads = cur->nthreads;
	for (j = 0; j < cur->nrecs; j++) {
		const struct exit_record *c = &cur->recs[j], *p = NULL;
		struct exit_record *o = &out->recs[out->nrecs];

		while (i < prev->nrecs &&
		       compare_key(&prev->recs[i].key, &c->key) < 0)
			i++;
		if (i < prev->nrecs && !compare_key(&prev->recs[i].key, &c->key))
			p = &prev->recs[i];
		/* A key deleted and re-created restarts its count. */
		if (p && p->stats.count > c->stats.count)
			p = NULL;
		o->key = c->key;
		stats_sub(&o->stats, &c->stats, p ? &p->stats : NULL);
		if (o->stats.count)
			out->nrecs++;
	}
	if (pio_sample_delta(prev, cur, out)) {
		exits_sample_free(out);
		return -ENOMEM;
	}
	return 0;
}

static const struct thread_record *find_thread(const struct exits_sample *s,
					       const struct exit_key *of)
{
	struct thread_record key = {
		.info = { .pid = of->pid, .tid = of->tid,
			  .vm_start = of->vm_start },
	};

	return bsearch(&key, s->threads, s->nthreads, sizeof(*s->threads),
		       compare_thread);
}

/*
 * The histograms of a reason list being built (a vCPU's, a VM's), by the
 * list's index: summed as records come, then kept as the bounds each
 * reason shows (reasons_settle), so that a view holds no histogram.
 */
struct reason_hists {
	struct log2_hist *hists;
	size_t cap;
};

static void reason_add(struct reason_view *r, const struct exit_record *rec,
		       enum exit_table kernel_table)
{
	if (!r->count) {
		char number[sizeof(r->name)];

		r->kind = rec->key.kind;
		r->code = rec->key.reason;
		snprintf(r->name, sizeof(r->name), "%s",
			 exit_reason_name(rec->key.kind == EXIT_KIND_USER ?
					  EXIT_TABLE_KVM_RUN : kernel_table,
					  rec->key.reason, number,
					  sizeof(number)));
	}
	r->count += rec->stats.count;
	r->total_ns += rec->stats.total_ns;
	r->timed += rec->stats.timed;
}

/* The bounds of each of n reasons from the histograms summed for them. */
static void reasons_settle(struct reason_view *reasons, size_t n,
			   const struct reason_hists *h)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct log2_hist *hist = &h->hists[i];
		struct reason_view *r = &reasons[i];

		if (!r->timed)
			continue;
		r->min_ns_ge = hist_floor(hist);
		r->p50_ns_le = hist_percentile(hist, 0.5);
		r->p99_ns_le = hist_percentile(hist, 0.99);
		r->max_ns_le = hist_percentile(hist, 1.0);
	}
}

static int compare_reason(const void *a, const void *b)
{
	const struct reason_view *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->code < y->code ? -1 : x->code > y->code;
}

static int compare_vcpu(const void *a, const void *b)
{
	const struct vcpu_view *x = a, *y = b;

	if (x->vcpu_id != y->vcpu_id) {
		/* Unknown indexes (-1) after known ones. */
		if (x->vcpu_id < 0 || y->vcpu_id < 0)
			return x->vcpu_id < 0 ? 1 : -1;
		return x->vcpu_id < y->vcpu_id ? -1 : 1;
	}
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int compare_vm(const void *a, const void *b)
{
	const struct vm_view *x = a, *y = b;

	if (x->exits + x->user_exits != y->exits + y->user_exits)
		return x->exits + x->user_exits > y->exits + y->user_exits ?
			-1 : 1;
	return vm_ident_compare(x->pid, x->vm_start, y->pid, y->vm_start);
}

/* Add rec to the reason list (reasons, n), growing it by one if new, and
 * its histogram to the list's in h. */
static int add_to_reasons(struct reason_view **reasons, size_t *n,
			  struct reason_hists *h, const struct exit_record *rec,
			  enum exit_table kernel_table)
{
	struct reason_view *grown;
	size_t i, s;

	for (i = 0; i < *n; i++)
		if ((*reasons)[i].kind == rec->key.kind &&
		    (*reasons)[i].code == rec->key.reason)
			break;
	if (i == *n) {
		grown = realloc(*reasons, (*n + 1) * sizeof(**reasons));
		if (!grown)
			return -ENOMEM;
		*reasons = grown;
		memset(&grown[i], 0, sizeof(grown[i]));
		if (i == h->cap) {
			struct log2_hist *more = realloc(h->hists,
				(h->cap + 8) * sizeof(*h->hists));

			if (!more)
				return -ENOMEM;
			h->hists = more;
			h->cap += 8;
		}
		memset(&h->hists[i], 0, sizeof(h->hists[i]));
		(*n)++;
	}
	reason_add(&(*reasons)[i], rec, kernel_table);
	for (s = 0; s < HIST_SLOTS; s++)
		h->hists[i].slots[s] += rec->stats.hist.slots[s];
	return 0;
}

static double rate(uint64_t count, double interval_sec)
{
	return interval_sec > 0 ? count / interval_sec : 0;
}

static void finish_reasons(struct reason_view *reasons, size_t n,
			   double interval_sec)
{
	size_t i;

	for (i = 0; i < n; i++)
		reasons[i].per_sec = rate(reasons[i].count, interval_sec);
	qsort(reasons, n, sizeof(*reasons), compare_reason);
}

int top_view_build(const struct exits_sample *s, double interval_sec,
		   bool cumulative, enum exit_table kernel_table,
		   struct top_view *view)
{
	struct reason_hists vm_hists = { 0 }, vcpu_hists = { 0 };
	struct vm_view *vm = NULL;
	struct vcpu_view *vcpu = NULL;
	size_t i, j;

	memset(view, 0, sizeof(*view));
	view->interval_sec = interval_sec;
	view->cumulative = cumulative;
	/* Records are sorted by VM, tid: VMs and vCPUs come in runs. */
	for (i = 0; i < s->nrecs; i++) {
		const struct exit_record *rec = &s->recs[i];
		const struct thread_record *thread;
		bool user = rec->key.kind == EXIT_KIND_USER;

		if (!vm || vm->pid != rec->key.pid ||
		    vm->vm_start != rec->key.vm_start) {
			struct vm_view *grown;

			if (vm) {
				reasons_settle(vcpu->reasons, vcpu->nreasons,
					       &vcpu_hists);
				reasons_settle(vm->reasons, vm->nreasons,
					       &vm_hists);
			}
			grown = realloc(view->vms,
				(view->nvms + 1) * sizeof(*view->vms));

			if (!grown)
				goto nomem;
			view->vms = grown;
			vm = &view->vms[view->nvms++];
			memset(vm, 0, sizeof(*vm));
			vm->pid = rec->key.pid;
			vm->vm_start = rec->key.vm_start;
			vcpu = NULL;
		}
		if (!vcpu || vcpu->tid != rec->key.tid) {
			struct vcpu_view *grown;

			if (vcpu)
				reasons_settle(vcpu->reasons, vcpu->nreasons,
					       &vcpu_hists);
			grown = realloc(vm->vcpus,
					(vm->nvcpus + 1) * sizeof(*vm->vcpus));

			if (!grown)
				goto nomem;
			vm->vcpus = grown;
			vcpu = &vm->vcpus[vm->nvcpus++];
			memset(vcpu, 0, sizeof(*vcpu));
			vcpu->tid = rec->key.tid;
			vcpu->vcpu_id = -1;
			thread = find_thread(s, &rec->key);
			if (thread) {
				if (thread->info.vcpu_id != VCPU_ID_UNKNOWN)
					vcpu->vcpu_id = thread->info.vcpu_id;
				memcpy(vcpu->comm, thread->info.comm,
				       sizeof(vcpu->comm));
				if (!vm->comm[0])
					memcpy(vm->comm, thread->info.pcomm,
					       sizeof(vm->comm));
			}
		}
		if (add_to_reasons(&vcpu->reasons, &vcpu->nreasons,
				   &vcpu_hists, rec, kernel_table) ||
		    add_to_reasons(&vm->reasons, &vm->nreasons, &vm_hists,
				   rec, kernel_table))
			goto nomem;
		if (user) {
			vcpu->user_exits += rec->stats.count;
			vm->user_exits += rec->stats.count;
			view->user_exits += rec->stats.count;
		} else {
			vcpu->exits += rec->stats.count;
			vm->exits += rec->stats.count;
			view->exits += rec->stats.count;
		}
	}
	if (vm) {
		reasons_settle(vcpu->reasons, vcpu->nreasons, &vcpu_hists);
		reasons_settle(vm->reasons, vm->nreasons, &vm_hists);
	}
	free(vcpu_hists.hists);
	free(vm_hists.hists);
	for (i = 0; i < view->nvms; i++) {
		vm = &view->vms[i];
		vm->exits_per_sec = rate(vm->exits, interval_sec);
		vm->user_exits_per_sec = rate(vm->user_exits, interval_sec);
		finish_reasons(vm->reasons, vm->nreasons, interval_sec);
		for (j = 0; j < vm->nvcpus; j++) {
			vcpu = &vm->vcpus[j];
			vcpu->exits_per_sec = rate(vcpu->exits, interval_sec);
			vcpu->user_exits_per_sec = rate(vcpu->user_exits,
							interval_sec);
			finish_reasons(vcpu->reasons, vcpu->nreasons,
				       interval_sec);
		}
		qsort(vm->vcpus, vm->nvcpus, sizeof(*vm->vcpus), compare_vcpu);
	}
	qsort(view->vms, view->nvms, sizeof(*view->vms), compare_vm);
	view->exits_per_sec = rate(view->exits, interval_sec);
	view->user_exits_per_sec = rate(view->user_exits, interval_sec);
	if (pio_view_build(s, interval_sec, view))
		goto nomem;
	return 0;
nomem:
	free(vcpu_hists.hists);
	free(vm_hists.hists);
	top_view_free(view);
	return -ENOMEM;
}

void top_view_free(struct top_view *view)
{
	size_t i, j;

	for (i = 0; i < view->nvms; i++) {
		for (j = 0; j < view->vms[i].nvcpus; j++)
			free(view->vms[i].vcpus[j].reasons);
		free(view->vms[i].vcpus);
		free(view->vms[i].reasons);
		free(view->vms[i].ports);
	}
	free(view->vms);
	memset(view, 0, sizeof(*view));
}

int exits_view_build(const void *sample, double interval_sec,
		     const struct kernel_caps *caps, void *view)
{
	const struct exits_sample *s = sample;
	struct exits_view *v = view;

	v->caps = caps;
	return top_view_build(s, interval_sec, !s->delta, exit_table_for(caps),
			      &v->top);
}

void exits_view_free(void *view)
{
	top_view_free(&((struct exits_view *)view)->top);
}
