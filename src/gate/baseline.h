/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `check --baseline`: the current run against a recorded one, metric by
 * metric. Counters are compared as rates: per second, per workload run,
 * or per unit of the workload's own work (a metric's `per`); gauges as
 * they are; histograms by their median. Each metric has a tolerance; a run
 * that cannot be compared fairly is refused, never passed.
 */
#ifndef KVMWATCH_BASELINE_H
#define KVMWATCH_BASELINE_H

#include <stdio.h>

#include <jansson.h>

#include "record_file.h"

/* Defaults, documented in docs/ci.md. */
#define BASELINE_DEFAULT_TOLERANCE 0.25	/* 25% more or fewer events */
/* Times (ns, us, ms, s): 150%, the same workload's mean write cost
 * having moved 2.06x from one run to the next on a busy host; what the
 * detectors catch moves 10x (an emulated write against a fast one, a
 * walk without schedule points against one with them). */
#define BASELINE_DEFAULT_TIME_TOLERANCE 1.5
#define BASELINE_DEFAULT_MIN_EVENTS 10	/* fewer extra events: noise */
/* Gauges, medians: a change below the unit's noise floor is noise
 * (baseline_noise_floor), unless min_change is set. */
#define BASELINE_DEFAULT_MIN_CHANGE -1
#define BASELINE_MAX_TOLERANCE 100.0	/* 10000%: beyond, say "off" */
/* A baseline of repeated runs (record --repeat N) allows twice the
 * furthest any of its runs strayed from their whole. */
#define BASELINE_SPREAD_MARGIN 2.0

/* How counters without a `per` metric are turned into rates. */
enum baseline_norm {
	NORM_AUTO,	/* per run when both runs ran a workload, else per s */
	NORM_DURATION,	/* per second of the run */
	NORM_RUN,	/* per run: the workload is the unit of work */
};

/* "exits.exits", "exits.exits_by_reason{reason=npf}" (one label set),
 * or "exits.*" (every metric of a detector). */
#define TOLERANCE_KEY_LEN 160

struct tolerance {
	char metric[TOLERANCE_KEY_LEN];
	double value;		/* relative: 0.1 allows 10% worse */
	bool off;		/* not compared at all */
	double min_events;	/* < 0: the default */
	double min_change;	/* < 0: the default */
	/* Where it was set, for messages: "rules.yaml:12" or "--tolerance". */
	char origin[128];
};

struct baseline_settings {
	/* For metrics without their own; < 0: by unit (times
	 * BASELINE_DEFAULT_TIME_TOLERANCE, the rest BASELINE_DEFAULT_TOLERANCE). */
	double tolerance;
	/* Counters: a change of fewer events than this is noise. */
	double min_events;
	/* Gauges and histogram medians: a change smaller than this, in the
	 * metric's unit, is noise (0 ms -> 2 ms of waiting); < 0: the
	 * unit's noise floor. */
	double min_change;
	enum baseline_norm norm;
	struct tolerance *items;
	size_t count, capacity;
};

void baseline_settings_init(struct baseline_settings *s);
/* The smallest change of metric name (in unit) that is not noise: 50 ms
 * for the teardown's times, which are single runs and gaps between
 * schedule points (one preemption of a host thread moves them by tens
 * of ms: the same workload's longest stretch 4.8 then 19.1 ms, its
 * longest run 9.6 then 59.6 ms, on the TCG testbed; the bug they catch
 * holds a CPU for 100 ms and more, check's rule); 0 for the rest, whose
 * paths' costs are microseconds. */
double baseline_noise_floor(const char *name, const char *unit);
/* The tolerance of a metric in unit when none is set. */
double baseline_default_tolerance(const char *unit);
void baseline_settings_free(struct baseline_settings *s);
/* Add or replace (a later setting wins: the command line after the
 * rules file). */
int baseline_set_tolerance(struct baseline_settings *s, const char *metric,
			   double value, bool off, const char *origin);
/* The entry for metric (as set above), to set min_events on; NULL if
 * none. */
struct tolerance *baseline_tolerance(struct baseline_settings *s,
				     const char *metric);
/* Parse a tolerance: "0.1", "10%" or "off". -EINVAL otherwise (negative,
 * beyond BASELINE_MAX_TOLERANCE, not a number). */
int baseline_parse_tolerance(const char *text, double *value, bool *off);
/* "--tolerance METRIC=VALUE" on the command line. */
int baseline_parse_tolerance_arg(struct baseline_settings *s,
				 const char *arg, char *error,
				 size_t error_len);
/* Is name a well-formed metric name, one with "{labels}", or a
 * "detector.*" pattern? */
bool baseline_metric_pattern_ok(const char *name);
/* The tolerance of this label set, of the metric, of its detector, or
 * NULL for the default. */
const struct tolerance *baseline_tolerance_for(const struct baseline_settings *s,
					       const char *metric,
					       const char *labels);
/* Does the tolerance key name m? */
bool baseline_key_matches(const char *key, const struct metric *m);

enum baseline_verdict {
	BL_PASS,
	BL_FAIL,
	BL_INCOMPARABLE,	/* cannot be compared fairly: not a pass */
	BL_INFO,		/* recorded, not judged (better: neither, off) */
	BL_NEW,			/* only in the current run */
};

#define BASELINE_NOTE_LEN 320

struct baseline_row {
	char metric[TOLERANCE_KEY_LEN];	/* name{labels} */
	enum metric_type type;
	enum metric_better better;
	const char *unit;
	char basis[METRIC_NAME_LEN + 8];	/* "/s", "/run", "/mmio.writes", "median" */
	bool have_values;
	double base, cur;		/* normalised */
	double ratio;			/* cur / base; INFINITY from 0 */
	double tolerance;
	double min_events;
	double min_change;
	double allowed;			/* bound on the ratio */
	/* The tolerance and min_change were widened to the spread of the
	 * baseline's this many runs (0: they were not). */
	unsigned int spread_runs;
	enum baseline_verdict verdict;
	char note[BASELINE_NOTE_LEN];	/* evidence for FAIL, why otherwise */
};

struct baseline_result {
	/* The runs cannot be compared at all (arch or vendor differ). */
	bool refused;
	char refusal[512];
	enum baseline_norm norm;	/* resolved: NORM_DURATION or NORM_RUN */
	struct baseline_row *rows;
	size_t count;
	size_t passed, failed, incomparable;
	/* Things a reader should know: modes differ, a workload failed... */
	char notes[4][256];
	size_t nnotes;
};

/* Compare cur against base. Returns 0 (see result for the verdicts) or
 * -EINVAL with error set when a tolerance names no metric of either run
 * (a misspelt name is never ignored silently), -ENOMEM. */
int baseline_compare(const struct record *base, const struct record *cur,
		     const struct baseline_settings *s,
		     struct baseline_result *out, char *error,
		     size_t error_len);
void baseline_result_free(struct baseline_result *r);

/* What one run's figure of m becomes for the comparison (per second or
 * per run of r, per unit of `per`, a histogram's median, a gauge's value),
 * and the amount of work it is counted over (seconds, runs, units of
 * `per`, samples); ok false, with why, when it cannot be normalised.
 * which names the run in why ("baseline", "current"). */
struct normalised {
	double value;
	double denominator;
	bool ok;
	char why[160];
};

struct normalised baseline_normalise(const struct metric *m,
				     const struct record *r,
				     enum baseline_norm norm, const char *which);

/* Widen row's default tolerance and min_change to BASELINE_SPREAD_MARGIN
 * times how far the baseline's runs strayed (bm->runs >= 2), base_value
 * being bm's value as compared; per-run counters only when compared per
 * run. */
void baseline_widen_by_spread(struct baseline_row *row,
			      const struct metric *bm, double base_value,
			      enum baseline_norm norm);

/* FAIL if a metric regressed; else INCOMPARABLE if the runs were refused
 * or a metric could not be compared, or nothing was compared; else PASS. */
enum baseline_verdict baseline_overall(const struct baseline_result *r);
const char *baseline_verdict_name(enum baseline_verdict v);
/* The process exit code for the overall verdict (enum kw_exit). */
int baseline_exit_code(const struct baseline_result *r);

/* The table: metric, baseline, current, ratio, allowed, verdict. */
void baseline_text(FILE *out, const struct baseline_result *r,
		   const struct record *base);
json_t *baseline_json(const struct baseline_result *r,
		      const struct record *base, const char *path);
/* One <testsuite name="kvmwatch.baseline">, a testcase per compared
 * metric; for a file of its own wrap it with baseline_write_junit(). */
int baseline_junit_suite(FILE *out, const struct baseline_result *r,
			 double duration_sec);
int baseline_write_junit(FILE *out, const struct baseline_result *r,
			 double duration_sec);

#endif
