/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdict engine of `kvmwatch check`: rules, each a measured figure
 * against a threshold, grouped (--lockup, later --mmio...), evaluated over
 * what the detectors collected during the run. Rules are data plus a pure
 * measure function, so they are tested without a kernel.
 */
#ifndef KVMWATCH_CHECK_H
#define KVMWATCH_CHECK_H

#include <stdio.h>

#include "attach.h"

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
 * the fast path); it counts as measured, never as a failure. */
enum rule_verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_SKIP, VERDICT_INFO };

/* What a rule's measure made of the run: NOT_MEASURED (a SKIP, with why),
 * MEASURED (the value is held to the threshold), or FINDING (an INFO: the
 * evidence says what was found, the value is not judged). */
enum measure_outcome { NOT_MEASURED, MEASURED, FINDING };

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

/* The rules of one --GROUP, defined by the detector they read (weakly
 * linked in check.c: a group without its detector is not offered). */
struct check_rule_group {
	const char *name;		/* "lockup": selected by --lockup */
	const char *summary;		/* one line for the usage text */
	enum detector_id detector;	/* whose view the rules read */
	const struct check_rule *rules;	/* each with .group = name */
	size_t count;
};

/* Bounds of the command's fixed arrays; a unit test holds the tables to
 * them. */
#define CHECK_MAX_RULES 64
#define CHECK_MAX_GROUPS 8

/* The groups of this build, NULL-terminated, and their rules in one list
 * (group order, then rule order), which indexes thresholds. */
const struct check_rule_group *const *check_groups(void);
size_t check_rule_count(void);
const struct check_rule *check_rule_at(size_t i);
const struct check_rule_group *check_group_find(const char *name);

struct rule_result {
	const struct check_rule *rule;
	double threshold;
	double value;
	enum rule_verdict verdict;
	char evidence[EVIDENCE_LEN];	/* for FAIL and INFO; why for SKIP */
};

const struct check_rule *check_rule_find(const char *name);

/* A rule's measure for a kernel counter: how much it grew in the run. */
enum measure_outcome
check_measure_counter(const struct check_data *d, enum kernel_counter c,
		      double *value, char *evidence, size_t evidence_len,
		      char *why, size_t why_len);
const char *rule_verdict_name(enum rule_verdict v);
const char *rule_op_symbol(enum rule_op op);

/* Parse "RULE=VALUE" into (rule, value); an error message otherwise. */
int check_parse_threshold(const char *arg, const struct check_rule **rule,
			  double *value, char *error, size_t error_len);

void check_evaluate(const struct check_rule *rule, double threshold,
		    const struct check_data *d, struct rule_result *out);

/* FAIL if any rule failed; SKIP if every rule was skipped; else PASS
 * (INFO findings do not change a verdict). */
enum rule_verdict check_overall(const struct rule_result *results, size_t n);

/* "when" of an event at a CLOCK_MONOTONIC instant: "+3.20 s (13:05:07Z)". */
void check_when(const struct check_data *d, uint64_t mono_ns, char *buf,
		size_t len);

int check_write_junit(FILE *out, const struct rule_result *results,
		      size_t n, double duration_sec);

#endif
