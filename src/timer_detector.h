/* SPDX-License-Identifier: GPL-2.0 */
/* User-space half of bpf/timer.bpf.c: load, attach, sample the maps. */
#ifndef KVMWATCH_TIMER_DETECTOR_H
#define KVMWATCH_TIMER_DETECTOR_H

#include "attach.h"
#include "timer_model.h"

struct timer_bpf;

struct timer_detector {
	struct timer_bpf *skel;
	struct bpf_link *links[16];
	int nlinks;
};

/* Load and attach what the plan chose; pid 0 watches every VMM.
 * Returns 0, or -errno with the plan's points marked failed. */
int timer_start(struct timer_detector *det, struct attach_plan *plan,
		uint32_t pid);
int timer_sample(struct timer_detector *det, struct timer_sample *out);
/* Runs of the programs the kernel skipped: a tracepoint or kprobe program
 * is not run while another one is running on the same CPU (a timer
 * interrupt during a tracepoint in the vCPU thread), so figures can be
 * short by up to this much. fentry programs are only skipped if they
 * recurse into themselves. */
uint64_t timer_missed_runs(struct timer_detector *det);
void timer_stop(struct timer_detector *det);

#endif
