// SPDX-License-Identifier: GPL-2.0
/* Running detectors side by side: start, read, build views, stop. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_maps.h"
#include "runner.h"
#include "vm_name.h"
#include "session.h"

/* Bounds the VMs forgotten per interval; more wait for the next. */
#define GONE_MAX 256

static void set_off(struct detector_run *run, const char *fmt, const char *a,
		    const char *b)
{
	run->on = false;
	snprintf(run->modes, sizeof(run->modes), "off");
	snprintf(run->why, sizeof(run->why), fmt, a, b);
}

/* The first required point of det that has no mode. */
static const char *unwatchable_point(const struct attach_plan *plan,
				     enum detector_id det)
{
	size_t i;

	for (i = 0; i < plan->count; i++) {
		const struct point_state *s = &plan->points[i];

		if (s->point->detector == det && s->applicable &&
		    s->point->required && s->mode == ATTACH_NONE)
			return s->point->func ? s->point->func :
				s->point->tracepoint;
	}
	return "a point it needs";
}

static void release_view(struct detector_run *run)
{
	if (!run->view)
		return;
	run->ops->view_free(run->view);
	free(run->view);
	run->view = NULL;
}

/* Release what start_one() and the reads made; the run is off after. */
static void stop_one(struct detector_run *run)
{
	const struct detector_ops *ops = run->ops;

	release_view(run);
	if (run->last)
		ops->sample_free(run->last);
	if (run->state && ops->stop)
		ops->stop(run->state);
	detector_bpf_close(&run->bpf);
	if (run->on)
		kw_timing("%s: closed", detectors[run->ops->id].name);
	free(run->last);
	free(run->state);
	free(run->empty);
	if (run->base)
		ops->sample_free(run->base);
	free(run->base);
	run->base = NULL;
	free(run->seen);
	run->last = run->state = run->empty = NULL;
	run->seen = NULL;
	run->nseen = 0;
	run->on = false;
}

static int start_one(struct runner *r, enum detector_id det, uint32_t pid,
		     bool required)
{
	struct detector_run *run = &r->runs[det];
	const char *name = detectors[det].name;
	enum detector_status status;
	char why[WHY_LEN];

	run->ops = detector_ops(det);
	status = attach_plan_status(r->plan, det);
	if (status == DETECTOR_NOT_APPLICABLE) {
		set_off(run, "%s does not apply on %s", detectors[det].title,
			arch_name(r->caps->arch));
		return required ? -EOPNOTSUPP : 0;
	}
	if (run->ops->can_start && !run->ops->can_start(r->plan, why,
							 sizeof(why))) {
		set_off(run, "%s%s", why, "");
		kw_warn("%s: %s", name, why);
		return -EOPNOTSUPP;
	}
	if (status == DETECTOR_UNAVAILABLE) {
		set_off(run, "%s cannot be watched here (kvmwatch probe says why)%s",
			unwatchable_point(r->plan, det), "");
		kw_warn("%s: %s", name, run->why);
		return -EOPNOTSUPP;
	}
	run->state = calloc(1, run->ops->state_size ? run->ops->state_size : 1);
	run->empty = calloc(1, run->ops->sample_size);
	if (!run->state || !run->empty ||
	    run->ops->start(run->state, &run->bpf, r->plan, pid) ||
	    attach_plan_status(r->plan, det) == DETECTOR_UNAVAILABLE) {
		stop_one(run);
		set_off(run, "%s could not be loaded or attached (see above)%s",
			name, "");
		return -EIO;
	}
	run->on = true;
	kw_timing("%s: started", name);
	session_modes(r->plan, det, run->modes, sizeof(run->modes));
	/* The start-up says how many; -v and probe name each. */
	r->lost_points += session_lost_figures(stderr, r->plan, det,
					       kw_verbose);
	return 0;
}

void runner_trial(struct attach_plan *plan, unsigned int mask)
{
	enum detector_id det;

	for (det = 0; det < DET_COUNT; det++) {
		struct detector_run run = { .ops = detector_ops(det) };
		enum detector_status status;

		if (!(mask & 1u << det) || !run.ops)
			continue;
		status = attach_plan_status(plan, det);
		if (status != DETECTOR_AVAILABLE && status != DETECTOR_DEGRADED)
			continue;
		if (run.ops->can_start && !run.ops->can_start(plan, run.why,
							       sizeof(run.why)))
			continue;
		run.bpf.trial = true;
		run.state = calloc(1, run.ops->state_size ?
				   run.ops->state_size : 1);
		if (run.state)
			run.ops->start(run.state, &run.bpf, plan, 0);
		stop_one(&run);
	}
}

/* A zeroed sample, filled by the detector; NULL with *err set. */
static void *new_sample(const struct detector_ops *ops, int *err)
{
	void *sample = calloc(1, ops->sample_size);

	*err = sample ? 0 : -ENOMEM;
	return sample;
}

static void free_sample(const struct detector_ops *ops, void *sample)
{
	if (!sample)
		return;
	ops->sample_free(sample);
	free(sample);
}

static bool vm_shown(uint32_t pid, uint64_t start, const void *runner)
{
	const struct runner *r = runner;

	return (!r->view_pid || pid == r->view_pid) &&
		(!r->guest || vm_name_matches(pid, start, r->guest));
}

/* A sample of the maps as they are now, of the VMs the filter keeps;
 * run->seen lists them all. An interval's read also lets the detector
 * prune its kept maps, from every VM's records. NULL with *err set on a
 * failure. */
static void *read_sample(const struct runner *r, struct detector_run *run,
			 bool interval, int *err)
{
	const struct detector_ops *ops = run->ops;
	void *sample = new_sample(ops, err);

	if (sample)
		*err = detector_read_maps(ops, &run->bpf, sample);
	if (!*err) {
		free(run->seen);
		run->seen = detector_vms(ops, sample, &run->nseen);
		/* Named while they run: a VM's name is read once, for good. */
		for (size_t i = 0; i < run->nseen; i++)
			vm_name(run->seen[i].pid, run->seen[i].start);
	}
	if (!*err && ops->sample)
		*err = ops->sample(run->state, sample);
	if (!*err) {
		if (interval && ops->prune)
			ops->prune(run->state, sample);
		if (r->guest || r->view_pid)
			detector_keep_vms(ops, sample, vm_shown, r);
	}
	if (*err) {
		free_sample(ops, sample);
		return NULL;
	}
	return sample;
}

/* Detectors attach one after another, each counting from its own attach:
 * a sample of all of them at one instant is where every interval, the
 * first included, starts. Without it, the first interval would count the
 * early detectors' events over a longer time than it says. */
static void mark_start(struct runner *r)
{
	enum detector_id det;
	int err;

	for (det = 0; det < DET_COUNT; det++) {
		struct detector_run *run = &r->runs[det];

		if (run->on)
			run->last = read_sample(r, run, false, &err);
	}
}

int runner_start(struct runner *r, struct attach_plan *plan,
		 unsigned int mask, unsigned int required_mask, uint32_t pid,
		 const char *guest)
{
	enum detector_id det;
	int err;

	memset(r, 0, sizeof(*r));
	r->guest = guest;
	vm_names_seed();
	r->plan = plan;
	r->caps = plan->caps;
	if (!map_dump_open())
		kw_info("maps are read by bpf(2) lookups, during which classic tracepoint programs can skip events: the BPF iterator did not load (%s)",
			map_dump_why_not());
	for (det = 0; det < DET_COUNT; det++) {
		r->runs[det].ops = detector_ops(det);
		snprintf(r->runs[det].modes, sizeof(r->runs[det].modes), "off");
		if (!(mask & 1u << det) || !detector_implemented(det))
			continue;
		err = start_one(r, det, pid, required_mask & 1u << det);
		r->runs[det].error = err;
		if (err && required_mask & 1u << det) {
			runner_stop(r);
			return err;
		}
	}
	mark_start(r);
	/* Loading parsed the kernel's BTF again and again (libbpf, once per
	 * object): give back what that freed, wherever in the heap it lies,
	 * or a long run keeps the start-up's peak resident. */
	malloc_trim(0);
	r->start_ns = monotonic_ns();
	r->last_ns = r->start_ns;
	return 0;
}

static int read_one(struct runner *r, struct detector_run *run,
		    bool interval, double elapsed_sec)
{
	const struct detector_ops *ops = run->ops;
	struct vm_ident gone[GONE_MAX];
	size_t ngone = 0;
	void *cur, *delta = NULL;
	int err;

	/* VMs already gone before this read are forgotten after it, so
	 * their last events are in it. Their keys carry their start: a VMM
	 * that reuses a pid meanwhile counts under keys of its own. */
	if (interval && run->seen)
		ngone = vms_gone(run->seen, run->nseen, gone, GONE_MAX);
	cur = read_sample(r, run, interval, &err);
	if (!cur)
		return err;
	kw_timing_heap("%s sample", detectors[ops->id].name);
	if (interval || run->base) {
		delta = new_sample(ops, &err);
		if (delta)
			err = ops->delta(!interval ? run->base : run->last ?
					 run->last : run->empty, cur, delta);
		if (err) {
			free(delta);
			free_sample(ops, cur);
			return err;
		}
	}
	kw_timing_heap("%s delta", detectors[ops->id].name);
	/* The delta holds what the view needs of the previous sample: the
	 * read's peak is two samples and the view, not three. */
	free_sample(ops, run->last);
	run->last = cur;
	if (run->view) {
		ops->view_free(run->view);
		memset(run->view, 0, ops->view_size);
	} else {
		run->view = calloc(1, ops->view_size);
	}
	err = run->view ? ops->view_build(delta ? delta : cur, elapsed_sec,
					  r->caps, run->view) : -ENOMEM;
	if (err) {
		/* A builder that fails releases what it made. */
		free(run->view);
		run->view = NULL;
	}
	/* The read's peak: the sample, the delta and the view. */
	kw_timing_heap("%s", detectors[ops->id].name);
	free_sample(ops, delta);
	if (ngone)
		detector_forget(ops, &run->bpf, gone, ngone);
	return err;
}

/* A fresh sample as the previous read of every running detector. */
static void rebase(struct runner *r)
{
	enum detector_id det;
	void *sample;
	int err;

	for (det = 0; det < DET_COUNT; det++) {
		struct detector_run *run = &r->runs[det];

		if (!run->on)
			continue;
		sample = read_sample(r, run, false, &err);
		if (!sample)
			continue;
		free_sample(run->ops, run->last);
		run->last = sample;
	}
	r->last_ns = monotonic_ns();
}

void runner_set_view_filter(struct runner *r, uint32_t pid,
			    const char *guest)
{
	r->view_pid = pid;
	r->guest = NULL;
	if (guest && *guest) {
		snprintf(r->guest_buf, sizeof(r->guest_buf), "%s", guest);
		r->guest = r->guest_buf;
	}
	rebase(r);
}

void runner_reset(struct runner *r)
{
	enum detector_id det;
	int err;

	for (det = 0; det < DET_COUNT; det++) {
		struct detector_run *run = &r->runs[det];

		if (!run->on)
			continue;
		free_sample(run->ops, run->base);
		run->base = read_sample(r, run, false, &err);
	}
	rebase(r);
	r->start_ns = r->last_ns;
}

int runner_read_each(struct runner *r, bool interval,
		     int (*done)(struct runner *r, enum detector_id det,
				 void *arg),
		     void *arg)
{
	uint64_t now = monotonic_ns();
	double elapsed = (now - (interval ? r->last_ns : r->start_ns)) / 1e9;
	enum detector_id det;
	int err;

	for (det = 0; det < DET_COUNT; det++) {
		if (!r->runs[det].on)
			continue;
		err = read_one(r, &r->runs[det], interval, elapsed);
		if (!err && done)
			err = done(r, det, arg);
		if (err)
			return err;
	}
	r->last_ns = now;
	/* Each read frees the last one's samples, views and their many
	 * small blocks: give back the pages that left free inside the heap,
	 * or the RSS of a run at hundreds of VMs keeps them (5 MiB over the
	 * heap in use at 256 VMs). */
	malloc_trim(0);
	return 0;
}

int runner_read(struct runner *r, bool interval)
{
	return runner_read_each(r, interval, NULL, NULL);
}

const void *runner_view(const struct runner *r, enum detector_id det)
{
	return r->runs[det].on ? r->runs[det].view : NULL;
}

void runner_release_view(struct runner *r, enum detector_id det)
{
	release_view(&r->runs[det]);
}

bool runner_on(const struct runner *r, enum detector_id det)
{
	return r->runs[det].on;
}

int runner_nlinks(const struct runner *r)
{
	enum detector_id det;
	int n = 0;

	for (det = 0; det < DET_COUNT; det++)
		if (r->runs[det].on)
			n += r->runs[det].bpf.nlinks;
	return n;
}

void runner_announce(const struct runner *r, FILE *out)
{
	enum detector_id det;
	const char *sep = "";

	fprintf(out, "kvmwatch: attached %d programs (", runner_nlinks(r));
	for (det = 0; det < DET_COUNT; det++) {
		const struct detector_run *run = &r->runs[det];

		if (!detector_implemented(det))
			continue;
		if (run->on)
			fprintf(out, "%s%s: %d %s", sep, detectors[det].name,
				run->bpf.nlinks, run->modes);
		else
			fprintf(out, "%s%s: off", sep, detectors[det].name);
		sep = "; ";
	}
	fputs(")", out);
	if (r->lost_points && !kw_verbose)
		fprintf(out, "; %d probe point%s in a weaker form or off (-v or kvmwatch probe says what each loses)",
			r->lost_points, r->lost_points == 1 ? "" : "s");
	fputc('\n', out);
}

int runner_detector_metrics(const struct runner *r, enum detector_id det,
			    struct metric_set *out)
{
	const struct detector_run *run = &r->runs[det];

	if (!run->on || !run->view || !run->ops->view_metrics)
		return 0;
	return run->ops->view_metrics(run->view, out);
}

int runner_metrics(const struct runner *r, struct metric_set *out)
{
	enum detector_id det;
	int err;

	for (det = 0; det < DET_COUNT; det++) {
		err = runner_detector_metrics(r, det, out);
		if (err)
			return err;
	}
	return 0;
}

uint64_t runner_missed_runs(const struct runner *r, enum detector_id det)
{
	return r->runs[det].on ? detector_bpf_missed_runs(&r->runs[det].bpf) : 0;
}

void runner_stop(struct runner *r)
{
	enum detector_id det;

	for (det = 0; det < DET_COUNT; det++)
		if (r->runs[det].ops)
			stop_one(&r->runs[det]);
	map_dump_close();
}
