// SPDX-License-Identifier: GPL-2.0
/* User-space half of bpf/teardown.bpf.c: load, attach, sample the maps;
 * the teardown detector's detector_ops. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detector.h"
#include "map_read.h"
#include "teardown_model.h"
#include "teardown.skel.h"

struct teardown_state {
	struct teardown_bpf *skel;
	struct bpf_link *links[48];
	int nlinks;
	struct teardown_kernel kernel;
};

static bool point_found(const struct attach_plan *plan, const char *name)
{
	const struct point_state *s = attach_plan_point(plan, DET_TEARDOWN, name);

	return s && s->applicable && s->func_found;
}

static bool point_watched(const struct attach_plan *plan, const char *name,
			  bool function)
{
	const struct point_state *s = attach_plan_point(plan, DET_TEARDOWN, name);

	if (!s || !s->applicable || s->attach_failed || s->mode == ATTACH_NONE)
		return false;
	return !function || s->mode != ATTACH_TRACEPOINT;
}

static void teardown_stop(void *state)
{
	struct teardown_state *st = state;
	int i;

	if (!st)
		return;
	for (i = 0; i < st->nlinks; i++)
		bpf_link__destroy(st->links[i]);
	teardown_bpf__destroy(st->skel);
	free(st);
}

static int teardown_start(void **state, struct attach_plan *plan, uint32_t pid)
{
	struct teardown_state *st = calloc(1, sizeof(*st));
	const struct point_state *walker;
	char error[WHY_LEN];
	int err, ncpus;

	*state = NULL;
	if (!st)
		return -ENOMEM;
	st->skel = teardown_bpf__open();
	if (!st->skel) {
		err = -errno;
		snprintf(error, sizeof(error), "opening the BPF object failed: %s",
			 strerror(-err));
		attach_plan_refuse(plan, DET_TEARDOWN, error);
		free(st);
		return err;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus > 0)
		bpf_map__set_max_entries(st->skel->maps.td_cpus, ncpus);
	st->skel->rodata->filter_pid = pid;
	err = attach_plan_load(plan, DET_TEARDOWN, st->skel->skeleton, st->links,
			       sizeof(st->links) / sizeof(st->links[0]),
			       &st->nlinks);
	if (err) {
		teardown_stop(st);
		return err;
	}
	st->kernel.arch = plan->caps ? plan->caps->arch : ARCH_OTHER;
	st->kernel.stage2_fn = point_found(plan, "stage2_destroy");
	st->kernel.range_fn = point_found(plan, "stage2_destroy_range");
	st->kernel.pgd_fn = point_found(plan, "stage2_destroy_pgd");
	st->kernel.tdp_fn = point_found(plan, "tdp_zap_all");
	st->kernel.boundaries = point_watched(plan, "destroy_vm", true);
	st->kernel.walker = point_watched(plan, "stage2_free_walker", true);
	st->kernel.page_stats = st->kernel.arch == ARCH_X86_64 &&
		st->kernel.boundaries && plan->caps && plan->caps->kvm_page_stats;
	walker = attach_plan_point(plan, DET_TEARDOWN, "stage2_free_walker");
	st->kernel.walker_opted_out = walker && walker->opted_out;
	st->kernel.wakeups = point_watched(plan, "sched_wakeup", false);
	*state = st;
	return 0;
}

static bool teardown_can_start(const struct attach_plan *plan, char *why,
			       size_t why_len)
{
	(void)plan;
	(void)why;
	(void)why_len;
	return true;
}

static int teardown_nlinks(const void *state)
{
	return ((const struct teardown_state *)state)->nlinks;
}

static uint64_t teardown_missed_runs(const void *state)
{
	return bpf_object_missed_runs(((const struct teardown_state *)state)->skel->obj);
}

static int teardown_sample_read(void *state, void **out)
{
	struct teardown_state *st = state;
	struct teardown_sample *s = calloc(1, sizeof(*s));
	void *entries = NULL;
	int err;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->ts_ns = monotonic_ns();
	err = map_read_all(bpf_map__fd(st->skel->maps.td_records),
			   sizeof(__u64), sizeof(struct teardown_entry),
			   offsetof(struct teardown_entry, rec), &entries, &s->n);
	if (err) {
		free(s);
		return err;
	}
	s->entries = entries;
	/* The key (the id) also sits in the record; earlier starts false. */
	for (size_t i = 0; i < s->n; i++)
		s->entries[i].earlier = false;
	s->globals = st->skel->bss->globals;
	s->kernel = st->kernel;
	teardown_sample_sort(s);
	*out = s;
	return 0;
}

static int teardown_delta(const void *base, const void *cur, void **out)
{
	static const struct teardown_sample empty;
	struct teardown_sample *d = calloc(1, sizeof(*d));
	int err;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	err = teardown_sample_delta(base ? base : &empty, cur, d);
	if (err) {
		free(d);
		return err;
	}
	*out = d;
	return 0;
}

static void teardown_sample_release(void *sample)
{
	if (!sample)
		return;
	teardown_sample_free(sample);
	free(sample);
}

/* Done records of base, but the newest few that top lists as recent:
 * they were shown; dropping them keeps a long run from filling the map. */
static size_t teardown_find_gone(const void *base, uint32_t *ids, size_t max)
{
	const struct teardown_sample *b = base;
	size_t i, n = 0;

	for (i = 0; i + TEARDOWN_VIEW_MAX < b->n && n < max; i++)
		if (b->entries[i].rec.done)
			ids[n++] = (uint32_t)b->entries[i].rec.id;
	return n;
}

static void teardown_forget(void *state, const uint32_t *ids, size_t n)
{
	struct teardown_state *st = state;
	int fd = bpf_map__fd(st->skel->maps.td_records);
	size_t i;

	for (i = 0; i < n; i++) {
		__u64 id = ids[i];

		bpf_map_delete_elem(fd, &id);
	}
}

static int teardown_view_make(const void *sample, double interval_sec,
			      const struct kernel_caps *caps, void **view)
{
	struct teardown_view *v = calloc(1, sizeof(*v));
	int err;

	(void)caps;
	*view = NULL;
	if (!v)
		return -ENOMEM;
	err = teardown_view_build(sample, interval_sec, v);
	if (err) {
		free(v);
		return err;
	}
	*view = v;
	return 0;
}

static void teardown_view_release(void *view)
{
	if (!view)
		return;
	teardown_view_free(view);
	free(view);
}

static json_t *teardown_json(const void *view)
{
	return teardown_view_json(view);
}

static void teardown_text(FILE *out, const void *view, const char *modes)
{
	teardown_view_text(out, view, modes);
}

static int teardown_metrics(const void *view, struct metric_set *out)
{
	return teardown_view_metrics(view, out);
}

const struct detector_ops teardown_ops = {
	.id = DET_TEARDOWN,
	.json_key = "teardown",
	.can_start = teardown_can_start,
	.start = teardown_start,
	.nlinks = teardown_nlinks,
	.missed_runs = teardown_missed_runs,
	.stop = teardown_stop,
	.sample = teardown_sample_read,
	.delta = teardown_delta,
	.sample_free = teardown_sample_release,
	.find_gone = teardown_find_gone,
	.forget = teardown_forget,
	.view_build = teardown_view_make,
	.view_free = teardown_view_release,
	.view_json = teardown_json,
	.view_text = teardown_text,
	.view_metrics = teardown_metrics,
};
