/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdict engine of `kvmwatch check`: the rule groups of the
 * detectors (core/rule.h), thresholds, one verdict per rule over what the
 * detectors collected during the run, and JUnit.
 */
#ifndef KVMWATCH_CHECK_H
#define KVMWATCH_CHECK_H

#include <stdio.h>

#include <jansson.h>

#include "core/rule.h"

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
	bool host_fact;			/* measured HOST_FACT */
	char evidence[EVIDENCE_LEN];	/* for FAIL and INFO; why for SKIP */
};

const struct check_rule *check_rule_find(const char *name);

const char *rule_verdict_name(enum rule_verdict v);
const char *rule_op_symbol(enum rule_op op);

/* Parse "RULE=VALUE" into (rule, value); an error message otherwise. */
int check_parse_threshold(const char *arg, const struct check_rule **rule,
			  double *value, char *error, size_t error_len);

void check_evaluate(const struct check_rule *rule, double threshold,
		    const struct check_data *d, struct rule_result *out);

/* FAIL if any rule failed; PASS if a rule judged the run and passed;
 * else SKIP: nothing was judged (INFO findings and passed host facts
 * say nothing about the workload). */
enum rule_verdict check_overall(const struct rule_result *results, size_t n);

/* How check exits: 1 on FAIL (a regression seen is evidence even when the
 * workload then failed), 7 when the workload failed unless allowed, 6
 * when nothing was judged, else 0. */
int check_exit_code(enum rule_verdict overall, bool command_failed,
		    bool allow_command_failure);

/* The rules as a kvmwatch.check testsuite. workload_error: why the run
 * is no evidence (its command failed), an <error> testcase of its own,
 * so a JUnit reader sees the job's exit 7; NULL when the workload ran
 * fine or its failure was allowed. */
int check_write_junit(FILE *out, const struct rule_result *results,
		      size_t n, double duration_sec,
		      const char *workload_error);

/* The verdict table, missed runs and kernel counters (check_report.c). */
void check_text_verdict(FILE *out, const struct check_data *d,
			const struct rule_result *results, size_t n,
			enum rule_verdict overall);
json_t *check_json_results(const struct rule_result *results, size_t n);
json_t *check_json_counters(const struct check_data *d);

#endif
