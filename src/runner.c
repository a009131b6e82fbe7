// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "runner.h"
#include "session.h"

/* Bounds the threads forgotten per interval; more wait for the next. */
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
	if (run->ops->start(&run->state, r->plan, pid) ||
	    attach_plan_status(r->plan, det) == DETECTOR_UNAVAILABLE) {
		if (run->state)
			run->ops->stop(run->state);
		run->state = NULL;
		set_off(run, "%s could not be loaded or attached (see above)%s",
			name, "");
		return -EIO;
	}
	run->on = true;
	session_modes(r->plan, det, run->modes, sizeof(run->modes));
	text_lost_figures(stderr, r->plan, det);
	return 0;
}

int runner_start(struct runner *r, struct attach_plan *plan,
		 unsigned int mask, unsigned int required_mask, uint32_t pid)
{
	enum detector_id det;
	int err;

	memset(r, 0, sizeof(*r));
	r->plan = plan;
	r->caps = plan->caps;
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
	r->start_ns = monotonic_ns();
	r->last_ns = r->start_ns;
	return 0;
}

static int read_one(struct runner *r, struct detector_run *run,
		    bool interval, double elapsed_sec)
{
	const struct detector_ops *ops = run->ops;
	uint32_t gone[GONE_MAX];
	size_t ngone = 0;
	void *cur = NULL, *delta = NULL;
	int err;

	/* Threads already gone before this read are forgotten after it, so
	 * their last events are in it. */
	if (interval && run->last && ops->find_gone)
		ngone = ops->find_gone(run->last, gone, GONE_MAX);
	err = ops->sample(run->state, &cur);
	if (err)
		return err;
	if (interval) {
		err = ops->delta(run->last, cur, &delta);
		if (err) {
			ops->sample_free(cur);
			return err;
		}
	}
	if (run->view)
		ops->view_free(run->view);
	run->view = NULL;
	err = ops->view_build(delta ? delta : cur, elapsed_sec, r->caps,
			      &run->view);
	if (delta)
		ops->sample_free(delta);
	if (ngone && ops->forget)
		ops->forget(run->state, gone, ngone);
	if (run->last)
		ops->sample_free(run->last);
	run->last = cur;
	return err;
}

int runner_read(struct runner *r, bool interval)
{
	uint64_t now = monotonic_ns();
	double elapsed = (now - (interval ? r->last_ns : r->start_ns)) / 1e9;
	enum detector_id det;
	int err;

	for (det = 0; det < DET_COUNT; det++) {
		if (!r->runs[det].on)
			continue;
		err = read_one(r, &r->runs[det], interval, elapsed);
		if (err)
			return err;
	}
	r->last_ns = now;
	return 0;
}

const void *runner_view(const struct runner *r, enum detector_id det)
{
	return r->runs[det].on ? r->runs[det].view : NULL;
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
			n += r->runs[det].ops->nlinks(r->runs[det].state);
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
				run->ops->nlinks(run->state), run->modes);
		else
			fprintf(out, "%s%s: off", sep, detectors[det].name);
		sep = "; ";
	}
	fputs(")\n", out);
}

int runner_metrics(const struct runner *r, struct metric_set *out)
{
	enum detector_id det;
	int err;

	for (det = 0; det < DET_COUNT; det++) {
		const struct detector_run *run = &r->runs[det];

		if (!run->on || !run->view || !run->ops->view_metrics)
			continue;
		err = run->ops->view_metrics(run->view, out);
		if (err)
			return err;
	}
	return 0;
}

void runner_stop(struct runner *r)
{
	enum detector_id det;

	for (det = 0; det < DET_COUNT; det++) {
		struct detector_run *run = &r->runs[det];

		if (run->view)
			run->ops->view_free(run->view);
		if (run->last)
			run->ops->sample_free(run->last);
		if (run->state)
			run->ops->stop(run->state);
		run->view = run->last = run->state = NULL;
		run->on = false;
	}
}
