/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flat metrics: what every detector's figures become for `record`, the
 * baseline comparison and the Prometheus exporter. A detector turns its
 * view into a metric_set; nothing downstream knows detector types.
 *
 * Naming: "detector.what" in snake case ("mmio.emulated_writes",
 * "pmu.switch_cost_ns"); the exporter maps it to
 * kvmwatch_<detector>_<what>[_<unit>][_total].
 */
#ifndef KVMWATCH_METRICS_H
#define KVMWATCH_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/hist.h"

#define METRIC_NAME_LEN 48
#define METRIC_MAX_LABELS 6
#define METRIC_LABEL_KEY_LEN 16	/* a key, with its NUL */
#define METRIC_LABEL_LEN 64	/* a value, with its NUL */
/* A metric's keys and values, each with its NUL: the most a detector
 * gives one (vm, vm_start, a 63-character guest name, vcpu and op) with
 * room to spare. Not six of the longest: a metric is a series of the
 * exporter's store, which holds ten thousand at 256 VMs. */
#define METRIC_LABEL_TEXT 192

enum metric_type {
	METRIC_COUNTER,		/* events during the run; only grows */
	METRIC_GAUGE,		/* a level or a maximum */
	METRIC_HISTOGRAM,	/* log2 slots as in bpf/hist.h */
};

/* Which way a change is a regression (for the baseline comparison). */
enum metric_better {
	BETTER_LOWER,		/* more exits, longer stretch: worse */
	BETTER_HIGHER,		/* lower fast-path share: worse */
	BETTER_NEITHER,		/* informational, never a verdict */
};

/*
 * What a baseline compares of a histogram. The median suits a per-event
 * cost of thousands of samples, a few of which a preempted host thread
 * stretched; the mean suits a few events that each are the work (one
 * bigger VM's teardown among three moves the mean, not the median).
 */
enum metric_stat {
	METRIC_STAT_MEDIAN,
	METRIC_STAT_MEAN,
};

struct metric {
	char name[METRIC_NAME_LEN];
	enum metric_type type;
	const char *unit;	/* "exits", "ns", "writes", "ratio"... */
	const char *help;	/* one line, for HELP and the schema doc */
	/* Label i ("vm", "vcpu", "addr", "reason"...) is its key at
	 * label_text[label_at[i]], then its value after the key's NUL:
	 * metric_label_key() and metric_label_value(). */
	char label_text[METRIC_LABEL_TEXT];
	uint8_t label_at[METRIC_MAX_LABELS];
	uint8_t label_used;
	/* Histograms: slots buckets holds, up to the last one not 0 when it
	 * was filled (a copy in the exporter's store keeps no empty tail). */
	uint8_t nbuckets;
	int nlabels;
	/* Labelled by a VM or vCPU (pids differ between runs): recorded and
	 * exported, not compared against a baseline. */
	bool per_entity;
	enum metric_better better;
	/* How the baseline comparison normalises a counter: NULL compares
	 * value / duration; "mmio.writes" compares value / that total of the
	 * same run. Gauges and histograms are compared as they are. */
	const char *per;
	enum metric_stat stat;	/* histograms: what a baseline compares */
	double value;		/* counter, gauge; histogram: the count */
	/* Histograms only: nbuckets counts, buckets[i] as log2_hist slot
	 * i (those past nbuckets are 0), owned by the metric; NULL while all
	 * are 0 (metric_bucket() reads any). sum in unit. */
	uint64_t *buckets;
	double sum;
	/* The detector had no exact sum: it is the buckets' floors, so the
	 * mean it gives is a lower bound (never above the largest sample). */
	bool sum_estimated;
	/* Not measurable in this run (the attach mode cannot see it): a
	 * static one-line reason; value and buckets are then meaningless.
	 * Recorded as null, never compared as a zero. */
	const char *unavailable;
	/* Over the runs of `record --repeat N` (runs >= 2): the smallest and
	 * largest value one run gave, as a baseline compares it (per run,
	 * per unit of `per`, the median, the value). */
	unsigned int runs;
	double run_min, run_max;
};

struct metric_set {
	struct metric *items;
	size_t count, capacity;
	/* Optional: once batch metrics are in, the next metric_add first
	 * hands them to drain, which takes them (export's store), releases
	 * them and sets count to 0: a detector's thousands of per-vCPU
	 * metrics are then never all held at once. Nonzero: ENOMEM. */
	int (*drain)(struct metric_set *set, void *arg);
	void *drain_arg;
	size_t batch;
};

/* Append a zeroed metric named name (printf-style); NULL on ENOMEM. */
struct metric *metric_add(struct metric_set *set, enum metric_type type,
			  const char *unit, const char *help,
			  enum metric_better better, const char *name_fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Add a label; per_entity is set for "vm" and "vcpu". A key longer than
 * 15 characters or a value longer than 63 is cut. -E2BIG when six are
 * there or the text is full; the metric is as it was. */
int metric_label(struct metric *m, const char *key, const char *value_fmt,
		 ...) __attribute__((format(printf, 3, 4)));
static inline const char *metric_label_key(const struct metric *m, int i)
{
	return m->label_text + m->label_at[i];
}

const char *metric_label_value(const struct metric *m, int i);
/* Copy a log2 histogram in; sum is estimated from slot midpoints when the
 * detector does not keep one (pass sum < 0). -ENOMEM. */
int metric_set_hist(struct metric *m, const uint32_t *slots, double sum);
/* Slot i of a histogram's buckets (0 when it has none). */
static inline uint64_t metric_bucket(const struct metric *m, int i)
{
	return i < m->nbuckets ? m->buckets[i] : 0;
}

/* m's HIST_SLOTS buckets to write into, all 0 at first; NULL on
 * ENOMEM. */
uint64_t *metric_buckets(struct metric *m);
/* Add from's buckets into m's. -ENOMEM. */
int metric_add_buckets(struct metric *m, const struct metric *from);
/* *dst = *src with buckets of its own (dst's former ones are not freed).
 * -ENOMEM, with dst's buckets NULL. */
int metric_copy(struct metric *dst, const struct metric *src);
/* Free what m owns (its buckets). */
void metric_release(struct metric *m);
/* p in [0, 1]: the upper bound of the slot holding that quantile (0 when
 * empty). */
double metric_hist_quantile(const struct metric *m, double p);
/* p in [0, 1], placed linearly inside its slot: the median a baseline
 * compares moves smoothly with the samples, not by powers of two. */
double metric_hist_interpolated(const struct metric *m, double p);
/* First metric with this name and exactly these labels ("k=v,k=v" or ""). */
const struct metric *metric_find(const struct metric_set *set,
				 const char *name, const char *labels);
/* "vm=12,vcpu=0" into buf. */
/* The labels of one VM: vm (its pid) and vm_start (core/vm_ident.h), so
 * that a later VM at the same pid is another series; no vm_start where
 * the maps could not tell it (start 0). */
int metric_vm_labels(struct metric *m, uint32_t pid, uint64_t vm_start);
void metric_labels_string(const struct metric *m, char *buf, size_t len);
void metric_set_free(struct metric_set *set);

/* "counter", "gauge", "histogram" and back; -EINVAL for other names. */
const char *metric_type_name(enum metric_type type);
int metric_type_parse(const char *name, enum metric_type *out);
/* "lower", "higher", "neither" and back. */
const char *metric_better_name(enum metric_better better);
int metric_better_parse(const char *name, enum metric_better *out);
const char *metric_stat_name(enum metric_stat stat);
int metric_stat_parse(const char *name, enum metric_stat *out);

#endif
