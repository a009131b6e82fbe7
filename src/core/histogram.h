/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF programs' log2 histograms (bpf/hist.h), read in user space. */
#ifndef KVMWATCH_HISTOGRAM_H
#define KVMWATCH_HISTOGRAM_H

#include <stdint.h>

#include <jansson.h>

#include "bpf/hist.h"

/* Upper bound of the log2 slot that holds the p-th percentile (0..1);
 * 0 when the histogram is empty. */
uint64_t hist_percentile(const struct log2_hist *hist, double p);

/* Lower bound of the lowest non-empty log2 slot: no value counted is
 * below it; 0 when the histogram is empty. */
uint64_t hist_floor(const struct log2_hist *hist);

/* The slot counts, from slot 0 to the last non-empty one. */
json_t *json_hist_counts(const struct log2_hist *h);

#endif
