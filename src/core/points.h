/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probe points: each detector declares its own (its detector_ops.points)
 * with the forms each can take. A point named NAME with a function can be
 * watched by programs fentry_NAME/fexit_NAME or kprobe_NAME/kretprobe_NAME;
 * a point with a tracepoint by tp_NAME. The attach layer picks the best
 * form the running kernel allows and turns the other programs off.
 */
#ifndef KVMWATCH_POINTS_H
#define KVMWATCH_POINTS_H

#include "detector_id.h"
#include "kernel_caps.h"

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

/* The points of every detector of the build, in detector order. */
size_t probe_point_count(void);
const struct probe_point *probe_point_at(size_t i);
const struct probe_point *probe_point_find(const char *name);

/* Shorthands for the point tables. */
#define ANY_ARCH (ARCH_X86_64 | ARCH_ARM64)

/* Program tp_NAME on every thread's exit: it drops the thread's state,
 * so that a later thread given the tid starts clean (bpf/vm_ident.h). */
#define THREAD_EXIT_TRACEPOINT "sched/sched_process_exit"
#define THREAD_EXIT_POINT(DET, NAME)					\
	{ DET, NAME, NULL, THREAD_EXIT_TRACEPOINT, ANY_ARCH, VENDOR_ANY,	\
	  true, NULL, NULL, NULL }

/* A point that keeps its detector's maps right and watches nothing of
 * KVM: it alone does not make the detector watched. */
bool point_is_upkeep(const struct probe_point *point);

#endif
