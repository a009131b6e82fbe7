/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) of a metric_set, for
 * `kvmwatch export`. Names follow the Prometheus conventions:
 *
 *   exits.exits (counter, exits)        kvmwatch_exits_exits_total
 *   timer.longest_chain (gauge, ...)    kvmwatch_timer_longest_chain_callbacks
 *   timer.lateness_ns (histogram, ns)   kvmwatch_timer_lateness_seconds
 *
 * Nanoseconds become seconds (the base unit); a unit already at the end of
 * the name is not repeated; counters end in _total. log2 histograms become
 * cumulative buckets: slot i holds integers in [2^(i-1), 2^i), so its
 * bucket is le = 2^i - 1 (exact for integer values), then +Inf, _sum and
 * _count.
 */
#ifndef KVMWATCH_PROM_H
#define KVMWATCH_PROM_H

#include <stdio.h>

#include "core/metrics.h"

#define PROM_NAME_LEN 128

/* The family name of m (without _bucket/_sum/_count). */
void prom_name(const struct metric *m, char *buf, size_t len);

/* Write every available metric of set, grouped into families (one HELP
 * and TYPE each, in first-seen order). An unavailable metric is left out
 * with a comment saying why, never exported as 0. Returns 0 or -EIO. */
int prom_render(FILE *out, const struct metric_set *set);
/* The same, with the counters and histograms of set.items[i] shown at 0
 * where as_zero[i] (NULL: none). */
int prom_render_zeroed(FILE *out, const struct metric_set *set,
		       const bool *as_zero);

/* label value escaping: \ " and newline. */
void prom_escape_label(FILE *out, const char *value);

#endif
