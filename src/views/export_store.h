/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The series `kvmwatch export` serves. Prometheus counters must only
 * grow, so the exporter keeps its own: each read hands in what the
 * detectors saw since the previous one, counters and histograms are added
 * up, gauges replaced. Per-VM series are capped and those of VMs gone for
 * a grace period are dropped: label cardinality stays bounded.
 */
#ifndef KVMWATCH_EXPORT_STORE_H
#define KVMWATCH_EXPORT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/metrics.h"

struct export_store {
	struct metric_set set;
	/* Parallel to set.items: CLOCK_MONOTONIC s at which the series' VM
	 * was first seen gone, 0 while it runs. */
	double *gone_since;
	/* Parallel to set.items: a per-VM counter or histogram not exposed
	 * yet. It is shown at 0 once: a series that first appears at its
	 * value counts nothing in rate() or increase(), and a VM that lives
	 * less than a scrape interval would vanish from per-VM rates. */
	bool *fresh;
	/* Open-addressing index of set.items by name and labels: a read
	 * adds thousands of series, a linear search each would not do.
	 * Rebuilt when it fills or series are dropped. */
	size_t *index;		/* item + 1; 0 is empty */
	size_t index_size;	/* a power of two */
	size_t per_entity;
	uint64_t dropped;	/* per-VM series refused by max_series */
	uint64_t expired;	/* series of exited VMs dropped */
	uint64_t reads, scrapes;
};

/* Add one figure of a read (since the previous read). A new per-VM series
 * beyond max_series is not kept, and counted in dropped. 0 or -ENOMEM. */
int export_store_add(struct export_store *s, const struct metric *m,
		     size_t max_series);
/* Drop the per-VM series whose VM alive() says is gone, once it has been
 * gone for grace seconds (now: a monotonic clock in seconds). */
int export_store_expire(struct export_store *s, double now, double grace,
			bool (*alive)(const struct metric *m));
/* An exposition showed every series: none is fresh any more. */
void export_store_exposed(struct export_store *s);
void export_store_free(struct export_store *s);

#endif
