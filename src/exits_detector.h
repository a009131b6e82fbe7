/* SPDX-License-Identifier: GPL-2.0 */
/* User-space half of bpf/exits.bpf.c: load, attach, sample the maps. */
#ifndef KVMWATCH_EXITS_DETECTOR_H
#define KVMWATCH_EXITS_DETECTOR_H

#include "attach.h"
#include "model.h"

struct exits_bpf;

struct exits_detector {
	struct exits_bpf *skel;
	struct bpf_link *links[8];
	int nlinks;
};

/* Load and attach what the plan chose; pid 0 watches every VMM.
 * Returns 0, or -errno with the plan's points marked failed. */
int exits_start(struct exits_detector *det, struct attach_plan *plan,
		uint32_t pid);
int exits_sample(struct exits_detector *det, struct exit_sample *out);
void exits_stop(struct exits_detector *det);

/* The threads of a sample that no longer exist (checked now): up to max
 * tids into tids, returning how many. */
size_t exits_find_exited(const struct exit_sample *sample, uint32_t *tids,
			 size_t max);
/* Drop every map entry of these threads, so a long run over many VMs does
 * not fill the maps. Only for threads that had exited before the last
 * sample was read, or their last exits would go unreported. */
void exits_forget(struct exits_detector *det, const uint32_t *tids, size_t n);

enum exit_table exit_table_for(const struct kernel_caps *caps);

#endif
