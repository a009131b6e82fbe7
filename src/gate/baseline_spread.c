// SPDX-License-Identifier: GPL-2.0
/*
 * Tolerances from a baseline's own variation: a record of N runs of the
 * workload (record --repeat N) says how far one run strays from the
 * others on this host, and a later run is allowed as much, with margin.
 */
#include <math.h>

#include "baseline.h"

void baseline_widen_by_spread(struct baseline_row *row,
			      const struct metric *bm, double base_value,
			      enum baseline_norm norm)
{
	bool lower = bm->better == BETTER_LOWER;
	double strayed, tolerance, change;

	if (bm->runs < 2 || bm->better == BETTER_NEITHER)
		return;
	/* The spread of a counter is per run: no use per second. */
	if (bm->type == METRIC_COUNTER && !bm->per && norm != NORM_RUN)
		return;
	strayed = lower ? bm->run_max - base_value : base_value - bm->run_min;
	if (strayed <= 0)
		return;
	if (base_value > 0) {
		tolerance = strayed / base_value * BASELINE_SPREAD_MARGIN;
		if (!lower && tolerance > 0.99)
			tolerance = 0.99;
		if (tolerance > BASELINE_MAX_TOLERANCE)
			tolerance = BASELINE_MAX_TOLERANCE;
		if (tolerance > row->tolerance) {
			row->tolerance = tolerance;
			row->spread_runs = bm->runs;
		}
	}
	/* From a baseline of 0 no ratio helps: an absolute margin does. */
	change = strayed * BASELINE_SPREAD_MARGIN;
	if (!isfinite(change))
		return;
	if (bm->type == METRIC_COUNTER) {
		/* Events per run: the current run is one run. */
		if (!bm->per && change > row->min_events) {
			row->min_events = change;
			row->spread_runs = bm->runs;
		}
	} else if (change > row->min_change) {
		row->min_change = change;
		row->spread_runs = bm->runs;
	}
}
