/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one interface every detector implements, so that top, check, record
 * and export drive them all the same way. Each detector keeps its own
 * types behind void pointers:
 *
 *   state  - loaded skeleton and links (start .. stop)
 *   sample - one read of its maps, cumulative since attach
 *   view   - figures over an interval, built from a sample (or a delta of
 *            two samples); what rules, reports and metrics read
 */
#ifndef KVMWATCH_DETECTOR_H
#define KVMWATCH_DETECTOR_H

#include <stdio.h>

#include <jansson.h>

#include "attach.h"
#include "metrics.h"

struct detector_ops {
	enum detector_id id;
	/* Key of the view in top/check/record JSON ("mmio"); NULL merges
	 * the view's members into the document (exits, for compatibility). */
	const char *json_key;
	/* Optional: refuse to start with a one-line reason, e.g. a required
	 * function missing from kallsyms because the module is not loaded.
	 * Return false and fill why. */
	bool (*can_start)(const struct attach_plan *plan, char *why,
			  size_t why_len);
	/* Load and attach what the plan chose; pid 0 watches every VMM.
	 * 0 with *state set, or -errno with the plan's points marked. */
	int (*start)(void **state, struct attach_plan *plan, uint32_t pid);
	int (*nlinks)(const void *state);
	/* Runs the kernel skipped (bpf_prog_info.recursion_misses); may be
	 * NULL. */
	uint64_t (*missed_runs)(const void *state);
	void (*stop)(void *state);

	int (*sample)(void *state, void **sample);
	/* out = cur - base for counters (maxima are cur's); base NULL is the
	 * empty sample before attach. */
	int (*delta)(const void *base, const void *cur, void **out);
	void (*sample_free)(void *sample);
	/* Optional, interval mode: the ids (threads or VMM processes, as the
	 * detector keys its maps) of base that are gone now, then, after the
	 * next sample was read, dropping their map entries, so long runs over
	 * many VMs do not fill the maps. */
	size_t (*find_gone)(const void *base, uint32_t *ids, size_t max);
	void (*forget)(void *state, const uint32_t *ids, size_t n);

	int (*view_build)(const void *sample, double interval_sec,
			  const struct kernel_caps *caps, void **view);
	void (*view_free)(void *view);
	json_t *(*view_json)(const void *view);
	/* A table headed by one line naming the detector and its modes. */
	void (*view_text)(FILE *out, const void *view, const char *modes);
	/* Append the view's figures (totals, then per VM/vCPU). */
	int (*view_metrics)(const void *view, struct metric_set *out);
};

/*
 * The heap boxing between detector_ops and a detector's typed functions,
 * which work on caller-owned structs:
 *   int start(STATE *, struct attach_plan *, uint32_t pid)
 *   void stop(STATE *)
 *   int sample(STATE *, SAMPLE *)
 *   int delta(const SAMPLE *base, const SAMPLE *cur, SAMPLE *out)
 *   void sample_free(SAMPLE *)
 *   int view_build(const SAMPLE *, double, const struct kernel_caps *,
 *                  VIEW *)
 *   void view_free(VIEW *)
 * It defines static boxed_start, boxed_stop, boxed_sample, boxed_delta
 * (base NULL: an all-zero SAMPLE), boxed_sample_free, boxed_view_build
 * and boxed_view_free for the ops table.
 */
#define DETECTOR_BOXED_OPS(STATE, start, stop, SAMPLE, sample, delta,	\
			   sample_free, VIEW, view_build, view_free)	\
static int boxed_start(void **state, struct attach_plan *plan,		\
		       uint32_t pid)					\
{									\
	STATE *obj = calloc(1, sizeof(*obj));				\
	int err;							\
									\
	if (!obj)							\
		return -ENOMEM;						\
	err = start(obj, plan, pid);					\
	if (err) {							\
		free(obj);						\
		return err;						\
	}								\
	*state = obj;							\
	return 0;							\
}									\
									\
static void boxed_stop(void *state)					\
{									\
	stop(state);							\
	free(state);							\
}									\
									\
static int boxed_sample(void *state, void **out)			\
{									\
	SAMPLE *obj = calloc(1, sizeof(*obj));				\
	int err;							\
									\
	if (!obj)							\
		return -ENOMEM;						\
	err = sample(state, obj);					\
	if (err) {							\
		free(obj);						\
		return err;						\
	}								\
	*out = obj;							\
	return 0;							\
}									\
									\
static int boxed_delta(const void *base, const void *cur, void **out)	\
{									\
	static const SAMPLE empty;					\
	SAMPLE *obj = calloc(1, sizeof(*obj));				\
	int err;							\
									\
	if (!obj)							\
		return -ENOMEM;						\
	err = delta(base ? base : &empty, cur, obj);			\
	if (err) {							\
		free(obj);						\
		return err;						\
	}								\
	*out = obj;							\
	return 0;							\
}									\
									\
static void boxed_sample_free(void *obj)				\
{									\
	sample_free(obj);						\
	free(obj);							\
}									\
									\
static int boxed_view_build(const void *sample, double interval_sec,	\
			    const struct kernel_caps *caps, void **out)	\
{									\
	VIEW *obj = calloc(1, sizeof(*obj));				\
	int err;							\
									\
	if (!obj)							\
		return -ENOMEM;						\
	err = view_build(sample, interval_sec, caps, obj);		\
	if (err) {							\
		free(obj);						\
		return err;						\
	}								\
	*out = obj;							\
	return 0;							\
}									\
									\
static void boxed_view_free(void *obj)					\
{									\
	view_free(obj);							\
	free(obj);							\
}

/* NULL for a detector without BPF programs in this build. */
const struct detector_ops *detector_ops(enum detector_id id);

#endif
