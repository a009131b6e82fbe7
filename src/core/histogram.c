// SPDX-License-Identifier: GPL-2.0
/* Percentiles and JSON of the BPF programs' log2 histograms. */
#include "histogram.h"

uint64_t hist_percentile(const struct log2_hist *hist, double p)
{
	uint64_t total = 0, seen = 0, rank;
	size_t i;

	for (i = 0; i < HIST_SLOTS; i++)
		total += hist->slots[i];
	if (!total)
		return 0;
	rank = (uint64_t)(p * total + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_SLOTS; i++) {
		seen += hist->slots[i];
		if (seen >= rank)
			return i ? 1ull << i : 0;
	}
	return 1ull << (HIST_SLOTS - 1);
}

uint64_t hist_floor(const struct log2_hist *hist)
{
	size_t i;

	for (i = 0; i < HIST_SLOTS; i++)
		if (hist->slots[i])
			return i ? 1ull << (i - 1) : 0;
	return 0;
}

json_t *json_hist_counts(const struct log2_hist *h)
{
	json_t *a = json_array();
	int i, last = -1;

	for (i = 0; i < HIST_SLOTS; i++)
		if (h->slots[i])
			last = i;
	for (i = 0; i <= last; i++)
		json_array_append_new(a, json_integer(h->slots[i]));
	return a;
}
