/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a set of detectors side by side: start what the plan allows,
 * read them all at once, build their views. Shared by top, check, record
 * and export.
 */
#ifndef KVMWATCH_RUNNER_H
#define KVMWATCH_RUNNER_H

#include "detector.h"
#include "vm_name.h"

struct detector_run {
	const struct detector_ops *ops;
	bool on;
	struct detector_bpf bpf;
	void *state;
	void *empty;		/* an all-zero sample: the base before attach */
	void *last;		/* the previous sample, for intervals */
	void *base;		/* since a reset: where cumulative reads start */
	void *view;		/* built by the last runner_read() */
	/* Every VM of the last read, whether the guest filter kept it or
	 * not: those gone are dropped from the maps. */
	struct vm_ident *seen;
	size_t nseen;
	char modes[64];		/* "fentry+tracepoint", "off" */
	char why[WHY_LEN];	/* why it is off */
	int error;		/* -EOPNOTSUPP: cannot run here; else failed */
};

struct runner {
	struct attach_plan *plan;
	const struct kernel_caps *caps;
	struct detector_run runs[DET_COUNT];
	uint64_t start_ns;	/* CLOCK_MONOTONIC at attach */
	uint64_t last_ns;	/* of the previous read */
	int lost_points;	/* watched in a weaker form, or not at all */
	const char *guest;	/* -g: a shell pattern of VM names, or NULL */
	uint32_t view_pid;	/* only this VMM's VMs (0: every one) */
	char guest_buf[VM_NAME_LEN];	/* guest when set while running */
};

/* Start the implemented detectors of mask the plan can run; pid 0 watches
 * every VMM, guest NULL every name (else the VMs whose name, from
 * core/vm_name.h, matches that shell pattern; teardowns list them all).
 * A detector that cannot run is left off with why (warned on
 * stderr unless it does not apply here). Returns 0, or -errno when one in
 * required_mask is off. */
int runner_start(struct runner *r, struct attach_plan *plan,
		 unsigned int mask, unsigned int required_mask, uint32_t pid,
		 const char *guest);
/* Load, then close, the programs of every detector of mask that the plan
 * would run, attaching nothing: one that fails is marked in the plan
 * with the program and the verifier's reason (what probe reports). */
void runner_trial(struct attach_plan *plan, unsigned int mask);
/* Read every running detector and build its view: since the previous
 * read when interval is set, else since attach. */
int runner_read(struct runner *r, bool interval);
/* The same, calling done(r, det, arg) once each detector's view is
 * built, before the next detector is read: export stores a detector's
 * figures and frees its view there, so that one read never holds every
 * detector's view. A nonzero return ends the read with it. */
int runner_read_each(struct runner *r, bool interval,
		     int (*done)(struct runner *r, enum detector_id det,
				 void *arg),
		     void *arg);
/* From the next read on, only the VMs of VMM pid (0: every one) whose
 * name matches guest (NULL: every name), as -p and -g but chosen while
 * running: the programs still count every VM. The next interval starts
 * now, so none counts what the filter hid. */
void runner_set_view_filter(struct runner *r, uint32_t pid,
			    const char *guest);
/* Start again from now: cumulative reads count from here, and so does
 * the next interval (top's r). */
void runner_reset(struct runner *r);
/* The view of det from the last read, or NULL when det is off. */
const void *runner_view(const struct runner *r, enum detector_id det);
bool runner_on(const struct runner *r, enum detector_id det);
int runner_nlinks(const struct runner *r);
/* "kvmwatch: attached N programs (exits: tracepoint, timer: off)" */
void runner_announce(const struct runner *r, FILE *out);
/* The metrics of every view of the last read. */
int runner_metrics(const struct runner *r, struct metric_set *out);
/* Those of one detector's view (none when it is off). */
int runner_detector_metrics(const struct runner *r, enum detector_id det,
			    struct metric_set *out);
/* Free det's view until the next read (runner_view then gives NULL):
 * for a caller done with it, export once its metrics are stored. */
void runner_release_view(struct runner *r, enum detector_id det);
/* Runs of det's programs the kernel skipped (0 when it is off). */
uint64_t runner_missed_runs(const struct runner *r, enum detector_id det);
void runner_stop(struct runner *r);

#endif
