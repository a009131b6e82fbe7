// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "detector.h"
#include "map_read.h"
#include "report.h"
#include "timer_detector.h"
#include "timer.skel.h"

int timer_start(struct timer_detector *det, struct attach_plan *plan,
		uint32_t pid)
{
	struct point_state *fn =
		attach_plan_point(plan, DET_TIMER, "apic_timer_fn");
	char error[WHY_LEN];
	int err = 0;

	memset(det, 0, sizeof(*det));
	if (!fn) {
		snprintf(error, sizeof(error), "internal: no apic_timer_fn point");
		goto fail;
	}
	/* The tracepoints see every hrtimer: they need the callback's
	 * address to keep the LAPIC ones. */
	if (fn->mode == ATTACH_TRACEPOINT && !fn->func_found) {
		snprintf(error, sizeof(error),
			 "apic_timer_fn is not in /proc/kallsyms (is KVM loaded?): the timer tracepoints cannot be filtered");
		goto fail;
	}
	if (fn->mode == ATTACH_TRACEPOINT && !fn->func_addr) {
		snprintf(error, sizeof(error),
			 "apic_timer_fn's address is hidden in /proc/kallsyms (kernel.kptr_restrict): the timer tracepoints cannot be filtered");
		goto fail;
	}
	det->skel = timer_bpf__open();
	if (!det->skel) {
		err = -errno;
		snprintf(error, sizeof(error), "opening the BPF object failed: %s",
			 strerror(-err));
		goto fail;
	}
	det->skel->rodata->filter_pid = pid;
	det->skel->rodata->apic_timer_fn_addr = fn->func_addr;
	err = attach_plan_load(plan, DET_TIMER, det->skel->skeleton, det->links,
			       sizeof(det->links) / sizeof(det->links[0]),
			       &det->nlinks);
	if (err)
		timer_stop(det);
	return err;
fail:
	attach_plan_refuse(plan, DET_TIMER, error);
	timer_stop(det);
	return err ? err : -EINVAL;
}

int timer_sample(struct timer_detector *det, struct timer_sample *out)
{
	void *recs = NULL, *threads = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->ts_ns = monotonic_ns();
	err = map_read_all(bpf_map__fd(det->skel->maps.timer_stats),
			sizeof(struct timer_key), sizeof(struct timer_record),
			offsetof(struct timer_record, stats), &recs, &out->nrecs);
	if (err)
		return err;
	err = map_read_all(bpf_map__fd(det->skel->maps.timer_threads),
			sizeof(struct timer_thread_key),
			sizeof(struct timer_thread_record),
			offsetof(struct timer_thread_record, stats), &threads,
			&out->nthreads);
	out->recs = recs;
	out->threads = threads;
	if (err) {
		timer_sample_free(out);
		return err;
	}
	timer_sample_sort(out);
	return 0;
}

uint64_t timer_missed_runs(struct timer_detector *det)
{
	return bpf_object_missed_runs(det->skel->obj);
}

void timer_stop(struct timer_detector *det)
{
	int i;

	for (i = 0; i < det->nlinks; i++)
		bpf_link__destroy(det->links[i]);
	det->nlinks = 0;
	timer_bpf__destroy(det->skel);
	det->skel = NULL;
}

/* The detector_ops face of the LAPIC timer detector. */

/* Only the tracepoints see every hrtimer: without apic_timer_fn's
 * address from kallsyms they cannot pick the LAPIC ones. */
static bool ops_can_start(const struct attach_plan *plan, char *why,
			  size_t why_len)
{
	const struct point_state *fn =
		attach_plan_point(plan, DET_TIMER, "apic_timer_fn");

	if (fn && fn->applicable && !fn->func_found) {
		snprintf(why, why_len,
			 "apic_timer_fn is not in /proc/kallsyms: is KVM loaded (modprobe kvm_intel or kvm_amd)?");
		return false;
	}
	return true;
}

static int timer_view_for(const struct timer_sample *sample,
			  double interval_sec, const struct kernel_caps *caps,
			  struct timer_view *view)
{
	(void)caps;
	return timer_view_build(sample, interval_sec, view);
}

DETECTOR_BOXED_OPS(struct timer_detector, timer_start, timer_stop,
		   struct timer_sample, timer_sample, timer_sample_delta,
		   timer_sample_free, struct timer_view, timer_view_for,
		   timer_view_free)

static int ops_nlinks(const void *state)
{
	return ((const struct timer_detector *)state)->nlinks;
}

static uint64_t ops_missed_runs(const void *state)
{
	return timer_missed_runs((struct timer_detector *)state);
}

/* The VMM processes of base that have exited. */
static size_t ops_find_gone(const void *base, uint32_t *pids, size_t max)
{
	const struct timer_sample *sample = base;

	return ids_gone(sample->recs, sample->nrecs, sizeof(*sample->recs),
			offsetof(struct timer_record, key.pid), pids, max);
}

static void ops_forget(void *state, const uint32_t *pids, size_t n)
{
	struct timer_detector *det = state;
	struct timer_sample now;

	if (!n || timer_sample(det, &now))
		return;
	MAP_DELETE_LISTED(bpf_map__fd(det->skel->maps.timer_stats), now.recs,
			  now.nrecs, key.pid, key, pids, n);
	MAP_DELETE_LISTED(bpf_map__fd(det->skel->maps.timer_threads),
			  now.threads, now.nthreads, key.pid, key, pids, n);
	timer_sample_free(&now);
}

static json_t *ops_view_json(const void *view)
{
	return json_timer_view(view);
}

static void ops_view_text(FILE *out, const void *view, const char *modes)
{
	text_timer_view(out, view, modes);
}

static struct metric *timer_metric(struct metric_set *out,
				   enum metric_type type, const char *unit,
				   enum metric_better better, const char *name,
				   const char *help, double value)
{
	struct metric *m = metric_add(out, type, unit, help, better, "%s",
				      name);

	if (m)
		m->value = value;
	return m;
}

static int ops_view_metrics(const void *view, struct metric_set *out)
{
	const struct timer_view *v = view;
	uint64_t catchups = 0, period0 = 0, max_late = 0, chain_ns = 0;
	uint32_t lateness[HIST_SLOTS] = { 0 };
	double lateness_sum = 0;
	struct metric *m;
	size_t i;
	int slot;

	for (i = 0; i < v->nvcpus; i++) {
		const struct timer_vcpu_view *t = &v->vcpus[i];

		catchups += t->stats.catchup_rearms;
		period0 += t->stats.period0;
		lateness_sum += t->stats.lateness_ns;
		if (t->max_lateness_ns > max_late)
			max_late = t->max_lateness_ns;
		if (t->longest_chain_ns > chain_ns)
			chain_ns = t->longest_chain_ns;
		for (slot = 0; slot < HIST_SLOTS; slot++)
			lateness[slot] += t->stats.lateness.slots[slot];
	}
	if (!timer_metric(out, METRIC_COUNTER, "callbacks", BETTER_NEITHER,
			  "timer.callbacks", "apic_timer_fn runs",
			  v->callbacks) ||
	    !timer_metric(out, METRIC_COUNTER, "rearms", BETTER_LOWER,
			  "timer.catchup_rearms",
			  "re-arms at an expiry already past when the callback began",
			  catchups) ||
	    !timer_metric(out, METRIC_COUNTER, "chains", BETTER_LOWER,
			  "timer.chains", "catch-up chains", v->chains) ||
	    !timer_metric(out, METRIC_GAUGE, "callbacks", BETTER_LOWER,
			  "timer.longest_chain",
			  "callbacks in the longest catch-up chain",
			  v->longest_chain) ||
	    !timer_metric(out, METRIC_GAUGE, "ns", BETTER_LOWER,
			  "timer.longest_chain_ns",
			  "hardirq time of the longest catch-up chain",
			  chain_ns) ||
	    !timer_metric(out, METRIC_COUNTER, "callbacks", BETTER_LOWER,
			  "timer.period0",
			  "periodic-mode callbacks with period 0", period0) ||
	    !timer_metric(out, METRIC_GAUGE, "ns", BETTER_NEITHER,
			  "timer.max_lateness_ns",
			  "latest expiry of a LAPIC hrtimer", max_late))
		return -ENOMEM;
	m = timer_metric(out, METRIC_HISTOGRAM, "ns", BETTER_NEITHER,
			 "timer.lateness_ns",
			 "how late each LAPIC timer callback ran", 0);
	if (!m)
		return -ENOMEM;
	metric_set_hist(m, lateness, lateness_sum);
	for (i = 0; i < v->nvcpus; i++) {
		const struct timer_vcpu_view *t = &v->vcpus[i];

		m = timer_metric(out, METRIC_COUNTER, "callbacks",
				 BETTER_NEITHER, "timer.vcpu_callbacks",
				 "apic_timer_fn runs of one vCPU", t->callbacks);
		if (!m)
			return -ENOMEM;
		metric_label(m, "vm", "%u", t->pid);
		metric_label(m, "vcpu", "%u", t->vcpu_id);
		m = timer_metric(out, METRIC_GAUGE, "callbacks", BETTER_LOWER,
				 "timer.vcpu_longest_chain",
				 "longest catch-up chain of one vCPU",
				 t->longest_chain);
		if (!m)
			return -ENOMEM;
		metric_label(m, "vm", "%u", t->pid);
		metric_label(m, "vcpu", "%u", t->vcpu_id);
	}
	return 0;
}

const struct detector_ops timer_ops = {
	.id = DET_TIMER,
	.json_key = "timers",
	.can_start = ops_can_start,
	.start = boxed_start,
	.nlinks = ops_nlinks,
	.missed_runs = ops_missed_runs,
	.stop = boxed_stop,
	.sample = boxed_sample,
	.delta = boxed_delta,
	.sample_free = boxed_sample_free,
	.find_gone = ops_find_gone,
	.forget = ops_forget,
	.view_build = boxed_view_build,
	.view_free = boxed_view_free,
	.view_json = ops_view_json,
	.view_text = ops_view_text,
	.view_metrics = ops_view_metrics,
};
