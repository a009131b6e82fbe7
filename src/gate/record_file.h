/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A record: one run's metrics with what is needed to compare it fairly
 * with another (kernel, arch, vendor, attach modes, duration, workload).
 * Written by `kvmwatch record`, read by `check --baseline`; the JSON
 * schema is docs/record-schema.md.
 */
#ifndef KVMWATCH_RECORD_FILE_H
#define KVMWATCH_RECORD_FILE_H

#include <jansson.h>

#include "core/attach.h"
#include "core/metrics.h"

/* Bump on an incompatible change; docs/record-schema.md says what each
 * version holds. Readers refuse other versions. */
#define RECORD_SCHEMA 1
/* A record of repeated runs (repeats, spread): a reader of schema 1
 * alone would take its sums for one run's. */
#define RECORD_SCHEMA_REPEATS 2

struct record_detector {
	char name[16];		/* "exits" */
	char status[24];	/* detector_status_name() */
	char modes[64];		/* "tracepoint", "fentry+tracepoint", "none" */
	bool ran;		/* its metrics are in the record */
	char why[WHY_LEN];	/* when it did not run */
};

struct record {
	int schema;
	char version[32];	/* kvmwatch version that wrote it */
	double time;		/* epoch seconds at the end of the run */
	char release[65];
	char arch[16];		/* arch_name() */
	char vendor[16];	/* vendor_name() */
	double duration_sec;
	/* Runs of the workload the metrics add up (record --repeat N; 1
	 * otherwise): counters are compared per run of them. */
	unsigned int runs;
	/* The workload (`-- COMMAND`): argv and exit status; command is NULL
	 * for a --duration run. command_exit is -1 when it did not exit
	 * normally (killed by a signal). */
	json_t *command;
	int command_exit;
	struct record_detector detectors[DET_COUNT];
	size_t ndetectors;
	struct metric_set metrics;
	/* A loaded record keeps its document: the metrics' unit, help, per
	 * and unavailable strings point into it. */
	json_t *doc;
};

/* The detector entry called name, or NULL. */
const struct record_detector *record_detector(const struct record *r,
					      const char *name);

/* The whole record as a JSON document (new reference). */
json_t *record_to_json(const struct record *r);

/* Fill r from a record document, checking every member; takes a
 * reference to doc. On error, a one-line message naming the member. */
int record_from_json(json_t *doc, struct record *r, char *error,
		     size_t error_len);
/* A record has totals, not per-VM series: a few KiB. Bigger is not one. */
#define RECORD_MAX_SIZE (8u << 20)

/* Read path (a record document): a regular file of at most
 * RECORD_MAX_SIZE bytes. */
int record_load(const char *path, struct record *r, char *error,
		size_t error_len);

/* Write doc to path atomically: a temporary file in the same directory,
 * flushed to disk, then renamed over path. A run that is killed leaves
 * either the old file or the new one, never half of one. */
int record_write_atomic(const char *path, json_t *doc, char *error,
			size_t error_len);

void record_free(struct record *r);

/* Most repeats a record holds. */
#define RECORD_MAX_REPEATS 100

/* One record of n runs of the same workload (record --repeat N): the
 * counters and histograms of all of them, the gauges' medians, and per
 * metric the spread of its per-run values. Takes the runs' metrics; the
 * runs are freed. */
int record_merge_runs(struct record *out, struct record *runs, size_t n);

struct runner;
struct workload_run;

/* The record of a run that just ended: every running detector's metrics
 * (runner_read() done), the host, and the workload (command NULL for a
 * --duration run). */
int record_from_runner(struct record *rec, const struct runner *r,
		       char **command, const struct workload_run *run);

#endif
