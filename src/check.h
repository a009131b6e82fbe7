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
#include "timer_model.h"

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
	/* Per detector: NULL when it did not run, with the reason. */
	const struct timer_view *timer;
	const char *timer_why;
	/* The timer ran where catch-up chains cannot be seen. */
	const char *chains_why;
	uint64_t timer_missed_runs;	/* see timer_missed_runs() */
	struct counter_pair counters[KCOUNT_COUNT];
};

enum rule_op { RULE_AT_MOST, RULE_AT_LEAST };
enum rule_verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_SKIP };

#define EVIDENCE_LEN 512

struct check_rule {
	const char *name;		/* "timer.max_chain" */
	const char *group;		/* selected by --GROUP */
	const char *description;
	const char *unit;
	enum rule_op op;
	double default_threshold;
	/* Set *value and, for the worst offender, evidence; return false
	 * with why (then a SKIP) when the run cannot measure it. */
	bool (*measure)(const struct check_data *d, double *value,
			char *evidence, size_t evidence_len, char *why,
			size_t why_len);
};

/* Bounds of the command's fixed arrays; a unit test holds the tables to
 * them. */
#define CHECK_MAX_RULES 32
#define CHECK_MAX_GROUPS 8

extern const struct check_rule check_rules[];
extern const size_t check_rule_count;

/* "lockup", ...: the groups that have rules, NULL-terminated. */
extern const char *const check_groups[];

struct rule_result {
	const struct check_rule *rule;
	double threshold;
	double value;
	enum rule_verdict verdict;
	char evidence[EVIDENCE_LEN];	/* for FAIL; the reason for SKIP */
};

const struct check_rule *check_rule_find(const char *name);
const char *rule_verdict_name(enum rule_verdict v);
const char *rule_op_symbol(enum rule_op op);

/* Parse "RULE=VALUE" into (rule, value); an error message otherwise. */
int check_parse_threshold(const char *arg, const struct check_rule **rule,
			  double *value, char *error, size_t error_len);

void check_evaluate(const struct check_rule *rule, double threshold,
		    const struct check_data *d, struct rule_result *out);

/* FAIL if any rule failed; SKIP if every rule was skipped; else PASS. */
enum rule_verdict check_overall(const struct rule_result *results, size_t n);

/* "when" of an event at a CLOCK_MONOTONIC instant: "+3.20 s (13:05:07Z)". */
void check_when(const struct check_data *d, uint64_t mono_ns, char *buf,
		size_t len);

int check_write_junit(FILE *out, const struct rule_result *results,
		      size_t n, double duration_sec);

#endif
