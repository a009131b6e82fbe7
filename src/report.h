/* SPDX-License-Identifier: GPL-2.0 */
/* Rendering the probe report and the top view as text or JSON. */
#ifndef KVMWATCH_REPORT_H
#define KVMWATCH_REPORT_H

#include <stdio.h>
#include <jansson.h>

#include "attach.h"
#include "model.h"
#include "timer_model.h"

/* Documented in docs/kvmwatch-json.md; bump on incompatible changes. */
#define KVMWATCH_JSON_SCHEMA 1

json_t *json_host(const struct kernel_caps *caps);
json_t *json_detector(const struct attach_plan *plan, enum detector_id det);
json_t *json_top_view(const struct top_view *view);
/* The LAPIC timer figures: an array, one object per vCPU timer. */
json_t *json_timer_view(const struct timer_view *view);
/* A log2 histogram as its slot counts, from slot 0 to the last non-empty
 * one (the mmio and teardown views). */
json_t *json_hist_counts(const struct log2_hist *h);
/* Print doc on one line and free it. Returns 0 or -EIO. */
int json_emit(FILE *out, json_t *doc);

void text_probe(FILE *out, const struct kernel_caps *caps,
		const struct attach_plan *plan);
void text_top_view(FILE *out, const struct top_view *view,
		   const struct kernel_caps *caps, const char *modes);
/* The LAPIC timer table (top, check); modes as session_modes() says. */
void text_timer_view(FILE *out, const struct timer_view *view,
		     const char *modes);
/* One line per point watched in a weaker mode, saying what is lost. */
void text_lost_figures(FILE *out, const struct attach_plan *plan,
		       enum detector_id det);

#endif
