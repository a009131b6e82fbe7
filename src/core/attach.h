/* SPDX-License-Identifier: GPL-2.0 */
/* Choosing, per probe point, the best attach mode the kernel allows. */
#ifndef KVMWATCH_ATTACH_H
#define KVMWATCH_ATTACH_H

#include <bpf/libbpf.h>

#include "points.h"

/* Strongest first: the order in which modes are tried. */
enum attach_mode {
	ATTACH_NONE,
	ATTACH_FENTRY,
	ATTACH_KPROBE,
	ATTACH_TRACEPOINT,
};

enum detector_status {
	DETECTOR_AVAILABLE,	/* every point in its best mode */
	DETECTOR_DEGRADED,	/* runs, but some figures are lost */
	DETECTOR_UNAVAILABLE,	/* a required point cannot be watched */
	DETECTOR_NOT_APPLICABLE,/* nothing of it on this arch/vendor */
	DETECTOR_NOT_IMPLEMENTED,
};

struct point_state {
	const struct probe_point *point;
	bool applicable;	/* arch and vendor match */
	bool func_found;	/* in kallsyms */
	char func_module[64];
	uint64_t func_addr;
	bool tracepoint_found;
	enum attach_mode mode;
	/* Why each stronger mode was not chosen; empty when not tried. */
	char fentry_why[WHY_LEN];
	char kprobe_why[WHY_LEN];
	char tracepoint_why[WHY_LEN];
	bool unneeded;		/* completes a point not in tracepoint mode */
	bool opted_out;		/* opt-in and not named by --point */
	bool attach_failed;	/* chosen mode failed at load/attach time */
	char attach_error[WHY_LEN];
};

struct attach_plan {
	struct kernel_caps *caps;
	struct point_state points[64];
	size_t count;
};

/* The strongest mode attach_plan_resolve() may choose (global --mode
 * option, KVMWATCH_MODE): weaker modes are exercised on kernels that
 * allow the stronger ones. ATTACH_FENTRY, the default, limits nothing. */
extern enum attach_mode attach_mode_limit;

const char *attach_mode_name(enum attach_mode mode);
/* "fentry", "kprobe" or "tracepoint"; -EINVAL otherwise. */
int parse_attach_mode(const char *arg, enum attach_mode *out);
const char *detector_status_name(enum detector_status status);

/* Decide a mode for every point of the detectors in mask (1 << id). */
int attach_plan_resolve(struct attach_plan *plan, struct kernel_caps *caps,
			unsigned int detector_mask);

/* Idle the points that complete a tracepoint form not in use (part of
 * attach_plan_resolve; separate for tests). */
void attach_plan_drop_unneeded(struct attach_plan *plan);

/* The state of det's point called name, or NULL. */
struct point_state *attach_plan_point(const struct attach_plan *plan,
				      enum detector_id det, const char *name);

/* Is the point watched in a weaker form than its best one? (An opt-in
 * point left off is not: that is the user's choice.) */
bool point_is_degraded(const struct point_state *state);
/* Are the point's figures lost, degraded or left off? */
bool point_loses(const struct point_state *state);

enum detector_status attach_plan_status(const struct attach_plan *plan,
					enum detector_id det);

/* Before load: enable exactly the programs of obj that the plan chose. */
int attach_plan_apply(struct attach_plan *plan, enum detector_id det,
		      struct bpf_object *obj);

/* After load: attach each enabled program; a failure marks its point
 * failed (logged once) and the rest keeps running. Returns the number of
 * links made, or -errno. */
int attach_plan_attach(struct attach_plan *plan, enum detector_id det,
		       struct bpf_object *obj, struct bpf_link **links,
		       size_t max_links);

/* Everything after opening a detector's skeleton: apply the plan, load,
 * attach (links NULL: load only, a trial). Returns 0 with *nlinks set, or
 * -errno after logging the reason once and marking the detector's points
 * failed. */
int attach_plan_load(struct attach_plan *plan, enum detector_id det,
		     struct bpf_object_skeleton *skel, struct bpf_link **links,
		     size_t max_links, int *nlinks);

/* Log why det cannot start and mark its chosen points failed. */
void attach_plan_refuse(struct attach_plan *plan, enum detector_id det,
			const char *error);

/* Mark every chosen point of det failed, e.g. when the object won't load. */
void attach_plan_fail_detector(struct attach_plan *plan, enum detector_id det,
			       const char *error);

/* Runs of obj's programs the kernel skipped (recursion_misses): a
 * tracepoint or kprobe program is not run while another one runs on the
 * same CPU, so figures can be short by this much. */
uint64_t bpf_object_missed_runs(const struct bpf_object *obj);
/* The same for one program (0 for one not loaded). */
uint64_t bpf_program_missed_runs(const struct bpf_program *prog);

#endif
