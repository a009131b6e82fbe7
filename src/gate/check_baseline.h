/* SPDX-License-Identifier: GPL-2.0 */
/* `check --baseline FILE [--rules FILE] [--tolerance M=V]...`: the glue
 * between check's options and run, and baseline.c. */
#ifndef KVMWATCH_CHECK_BASELINE_H
#define KVMWATCH_CHECK_BASELINE_H

#include "baseline.h"
#include "rules_file.h"
#include "workload.h"

struct runner;

struct check_baseline {
	const char *path;		/* --baseline */
	const char *rules_path;		/* --rules */
	struct baseline_settings cli;	/* --tolerance, --normalise */
	bool norm_set;
	struct record base;
	struct record cur;
	struct rules_file rules;
	struct baseline_result result;
	bool compared;
};

/* --tolerance METRIC=VALUE and --normalise auto|duration|run; a message
 * and -EINVAL for a bad one. */
int check_baseline_tolerance(struct check_baseline *b, const char *arg);
int check_baseline_normalise(struct check_baseline *b, const char *arg);

/* After the options: read --rules and --baseline (before a long run, so
 * a bad file fails at once), and give the rules file's thresholds to the
 * rules not set with --threshold (set[i] for check_rule_at(i)). */
int check_baseline_prepare(struct check_baseline *b, double *thresholds,
			   const bool *set);

/* After the run: this run's record from the runner, compared with the
 * baseline. Returns a kw_exit code (OK, or USAGE for a tolerance naming no
 * metric, RUNTIME). */
int check_baseline_compare(struct check_baseline *b, const struct runner *r,
			   char **command, const struct workload_run *run);

/* The verdict's exit code, combined with the rules' (their kw_exit code,
 * or -1 when no rule group was selected): a regression anywhere is 1; a
 * comparison refused is 4 even if the rules passed. */
int check_baseline_exit(const struct check_baseline *b, int rules_rc);

/* JUnit: rules_doc (check_write_junit's output, or NULL) with the
 * baseline's testsuite added. */
int check_baseline_write_junit(const struct check_baseline *b,
			       const char *path, const char *rules_doc,
			       double duration_sec);

void check_baseline_free(struct check_baseline *b);

#endif
