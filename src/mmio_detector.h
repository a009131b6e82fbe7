/* SPDX-License-Identifier: GPL-2.0 */
/* User-space half of bpf/mmio.bpf.c: load, attach, sample, render. */
#ifndef KVMWATCH_MMIO_DETECTOR_H
#define KVMWATCH_MMIO_DETECTOR_H

#include <stdio.h>

#include <jansson.h>

#include "attach.h"
#include "metrics.h"
#include "mmio_model.h"

struct mmio_bpf;

struct mmio_detector {
	struct mmio_bpf *skel;
	struct bpf_link *links[32];
	int nlinks;
	struct mmio_setup setup;
};

/* Load and attach what the plan chose; pid 0 watches every VMM.
 * Returns 0, or -errno with the plan's points marked failed. */
int mmio_start(struct mmio_detector *det, struct attach_plan *plan,
	       uint32_t pid);
int mmio_sample(struct mmio_detector *det, struct mmio_sample *out);
void mmio_stop(struct mmio_detector *det);

/* What the plan lets the detector see (part of mmio_start; separate for
 * tests). */
void mmio_setup_from_plan(const struct attach_plan *plan,
			  struct mmio_setup *setup);

json_t *json_mmio_view(const struct mmio_view *view);
void text_mmio_view(FILE *out, const struct mmio_view *view,
		    const char *modes);
int mmio_view_metrics(const struct mmio_view *view, struct metric_set *out);

#endif
