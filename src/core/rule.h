/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a detector's check rules are: each a measured figure against a
 * threshold, in a group selected by --GROUP, measured from what the
 * detectors collected during the run. Rules are data plus a pure measure
 * function, so they are tested without a kernel; gate/check.c runs them.
 */
#ifndef KVMWATCH_RULE_H
#define KVMWATCH_RULE_H

#include "attach.h"
#include "kvmwatch.h"

/* The kernel's own counters, before and after the run. */
enum kernel_counter {
	KCOUNT_HARDLOCKUP,
	KCOUNT_SOFTLOCKUP,
	KCOUNT_RCU_STALL,
	KCOUNT_WARN,
	KCOUNT_COUNT,
};

/* /sys/kernel/hardlockup_count... */
const char *check_counter_file(enum kernel_counter c);
/* Its value now; false where this kernel has no such file. */
bool kernel_counter_read(enum kernel_counter c, uint64_t *value);

struct counter_pair {
	bool present;
	uint64_t before, after;
};

/* Everything a rule may look at. */
struct check_data {
	double duration_sec;
	uint64_t start_mono_ns;		/* CLOCK_MONOTONIC at start */
	double start_epoch;		/* the same instant, wall clock */
	const struct kernel_caps *caps;	/* NULL in unit tests */
	const struct attach_plan *plan;	/* NULL in unit tests */
	/* Per detector: its view (see its *_model.h), or NULL when it did
	 * not run, with why. */
	const void *views[DET_COUNT];
	const char *why[DET_COUNT];
	uint64_t missed_runs[DET_COUNT];	/* bpf_object_missed_runs() */
	/* --expect-fast-mmio: a kernel without a fast MMIO path fails. */
	bool expect_fast_mmio;
	struct counter_pair counters[KCOUNT_COUNT];
};

enum rule_op { RULE_AT_MOST, RULE_AT_LEAST };
/* INFO: a finding that is no regression (e.g. a kernel that never had
 * the fast path); it never fails a check, nor passes one. ERROR is only
 * an overall verdict: the workload failed, so the run is no evidence. */
enum rule_verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_SKIP, VERDICT_INFO,
		    VERDICT_ERROR };

/* What a rule's measure made of the run: NOT_MEASURED (a SKIP, with why),
 * MEASURED (the value is held to the threshold), HOST_FACT (the same, but
 * the value is about the host, not the workload: the kernel's lockup
 * counters, whether the vendor code has a fast path; it can fail a check,
 * never pass one alone), or FINDING (an INFO: the evidence says what was
 * found, the value is not judged). */
enum measure_outcome { NOT_MEASURED, MEASURED, HOST_FACT, FINDING };

#define EVIDENCE_LEN 512

struct check_rule {
	const char *name;		/* "timer.max_chain" */
	const char *group;		/* selected by --GROUP */
	const char *description;
	const char *unit;
	enum rule_op op;
	double default_threshold;
	/* Set *value and, for the worst offender, evidence; NOT_MEASURED
	 * with why when the run cannot measure it. */
	enum measure_outcome (*measure)(const struct check_data *d,
					double *value, char *evidence,
					size_t evidence_len, char *why,
					size_t why_len);
};

/* The rules of one --GROUP, defined by the detector they read (its
 * detector_ops.rules: a group without its detector is not offered). */
struct check_rule_group {
	const char *name;		/* "lockup": selected by --lockup */
	const char *summary;		/* one line for the usage text */
	enum detector_id detector;	/* whose view the rules read */
	const struct check_rule *rules;	/* each with .group = name */
	size_t count;
};

/* Defines VAR, the group NAME of det's rules (the array RULES). */
#define CHECK_RULE_GROUP(VAR, NAME, DET, RULES, SUMMARY)		\
	const struct check_rule_group VAR = {				\
		.name = NAME, .summary = SUMMARY, .detector = DET,	\
		.rules = RULES, .count = ARRAY_SIZE(RULES),		\
	}

/* The view of det that the rules read, or NULL with why it did not run. */
const void *check_view(const struct check_data *d, enum detector_id det,
		       char *why, size_t len);
/* Read the kernel's counters into d: before the run, then after it. */
void check_read_counters(struct check_data *d, bool after);
/* A rule's measure for a kernel counter: how much it grew in the run. */
enum measure_outcome
check_measure_counter(const struct check_data *d, enum kernel_counter c,
		      double *value, char *evidence, size_t evidence_len,
		      char *why, size_t why_len);
/* "when" of an event at a CLOCK_MONOTONIC instant: "+3.20 s (13:05:07Z)". */
void check_when(const struct check_data *d, uint64_t mono_ns, char *buf,
		size_t len);

#endif
