/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probe points of every detector, each declared once with the forms it
 * can take. A point named NAME with a function can be watched by programs
 * fentry_NAME/fexit_NAME or kprobe_NAME/kretprobe_NAME; a point with a
 * tracepoint by tp_NAME. The attach layer picks the best form the running
 * kernel allows and turns the other programs off.
 */
#ifndef KVMWATCH_POINTS_H
#define KVMWATCH_POINTS_H

#include "kernel_caps.h"

enum detector_id {
	DET_EXITS,
	DET_TIMER,
	DET_MMIO,
	DET_TEARDOWN,
	DET_PMU,
	DET_COUNT,
};

struct detector_info {
	const char *name;	/* as on the command line and in JSON */
	const char *title;
};

extern const struct detector_info detectors[DET_COUNT];

/* Has BPF programs and user-space code in this build (src/detectors.c). */
bool detector_implemented(enum detector_id id);

struct probe_point {
	enum detector_id detector;
	const char *name;	/* program name suffix, unique */
	const char *func;	/* kernel function, or NULL */
	const char *tracepoint;	/* "category/name", or NULL */
	unsigned int arches;	/* enum kw_arch mask */
	unsigned int vendors;	/* enum kvm_vendor mask */
	/* The detector cannot run at all without this point. */
	bool required;
	/* What is lost when the function cannot be probed and the point falls
	 * back to its tracepoint (or to nothing). */
	const char *lost;
	/* Name of the point (same detector) whose tracepoint form this one
	 * completes; it is watched only while that point is a tracepoint. */
	const char *completes;
	/* Why the point is off unless named by --point (it costs enough to
	 * change what its detector measures); NULL: always watched. */
	const char *opt_in;
};

/* Turn on the opt-in point called name (the global --point option);
 * -ENOENT if no point is called that, -EINVAL if it is not opt-in. */
int points_opt_in(const char *name);
bool point_opted_in(const struct probe_point *point);

extern const struct probe_point probe_points[];
extern const size_t probe_point_count;

#endif
