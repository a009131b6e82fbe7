// SPDX-License-Identifier: GPL-2.0
/*
 * `record --repeat N`: N runs of one workload made into one record, with
 * how much each metric moved from run to run, so that a comparison
 * allows what the same workload does anyway (docs/ci.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "record_file.h"

static struct metric *find(struct metric_set *set, const struct metric *m)
{
	char labels[256];

	metric_labels_string(m, labels, sizeof(labels));
	return (struct metric *)metric_find(set, m->name, labels);
}

/* m of one run into the sum of the runs. */
static int add_run_metric(struct metric_set *sum, const struct metric *m)
{
	struct metric *into = find(sum, m);

	if (!into) {
		into = metric_add(sum, m->type, m->unit, m->help, m->better,
				  "%s", m->name);
		if (!into)
			return -ENOMEM;
		return metric_copy(into, m);
	}
	if (m->unavailable || into->unavailable) {
		into->unavailable = into->unavailable ? into->unavailable :
			m->unavailable;
		return 0;
	}
	if (m->type == METRIC_GAUGE)
		return 0;	/* the median, once all are in */
	into->value += m->value;
	if (m->type != METRIC_HISTOGRAM)
		return 0;
	if (metric_add_buckets(into, m))
		return -ENOMEM;
	into->sum += m->sum;
	into->sum_estimated |= m->sum_estimated;
	return 0;
}

/* What one run's m is when compared, per run (baseline_normalise):
 * false when it has none (no samples, no work to count it by). */
static bool run_value(const struct metric *m, const struct record *run,
		      double *v)
{
	struct normalised n = baseline_normalise(m, run, NORM_RUN, "one");

	*v = n.value;
	return n.ok && n.denominator > 0;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A gauge's median over the runs that have it; the spread of every
 * metric over the runs. */
static void summarise(struct metric *m, const struct record *runs, size_t n,
		      double *values)
{
	const struct metric *one;
	size_t i, k = 0, g = 0;
	double v;

	for (i = 0; i < n; i++) {
		one = find((struct metric_set *)&runs[i].metrics, m);
		if (one && m->type == METRIC_GAUGE && !one->unavailable)
			values[g++] = one->value;
		/* A run without a labelled counter counted none of it. */
		if (!one && m->type == METRIC_COUNTER) {
			v = 0;
		} else if (!one || one->unavailable ||
			   !run_value(one, &runs[i], &v)) {
			continue;
		}
		m->run_min = k && m->run_min < v ? m->run_min : v;
		m->run_max = k && m->run_max > v ? m->run_max : v;
		k++;
	}
	m->runs = k >= 2 ? k : 0;
	if (!g)
		return;
	qsort(values, g, sizeof(*values), compare_doubles);
	m->value = g % 2 ? values[g / 2] :
		(values[g / 2 - 1] + values[g / 2]) / 2;
}

int record_merge_runs(struct record *out, struct record *runs, size_t n)
{
	double *values = calloc(n ? n : 1, sizeof(*values));
	struct metric_set sum;
	size_t i, j;
	int err = values ? 0 : -ENOMEM;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n && !err; i++)
		for (j = 0; j < runs[i].metrics.count && !err; j++)
			err = add_run_metric(&out->metrics,
					     &runs[i].metrics.items[j]);
	for (j = 0; j < out->metrics.count && !err; j++) {
		struct metric *m = &out->metrics.items[j];

		m->runs = 0;
		if (!m->per_entity && !m->unavailable)
			summarise(m, runs, n, values);
	}
	free(values);
	if (err || !n) {
		metric_set_free(&out->metrics);
		for (i = 0; i < n; i++)
			record_free(&runs[i]);
		return err ? err : -EINVAL;
	}
	/* The host and detectors of the first run, the time of the last. */
	sum = out->metrics;
	*out = runs[0];
	out->metrics = sum;
	out->command = json_incref(runs[0].command);
	out->doc = NULL;
	out->time = runs[n - 1].time;
	out->runs = n;
	out->duration_sec = 0;
	for (i = 0; i < n; i++) {
		out->duration_sec += runs[i].duration_sec;
		if (!out->command_exit && runs[i].command_exit)
			out->command_exit = runs[i].command_exit;
	}
	for (i = 0; i < n; i++)
		record_free(&runs[i]);
	return 0;
}
