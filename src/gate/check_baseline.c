// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_baseline.h"
#include "core/kvmwatch.h"
#include "junit.h"

int check_baseline_tolerance(struct check_baseline *b, const char *arg)
{
	char error[256];

	if (!b->cli.tolerance)
		baseline_settings_init(&b->cli);
	if (baseline_parse_tolerance_arg(&b->cli, arg, error, sizeof(error))) {
		kw_warn("check: %s", error);
		return -EINVAL;
	}
	return 0;
}

int check_baseline_normalise(struct check_baseline *b, const char *arg)
{
	if (!b->cli.tolerance)
		baseline_settings_init(&b->cli);
	if (!strcmp(arg, "auto"))
		b->cli.norm = NORM_AUTO;
	else if (!strcmp(arg, "duration"))
		b->cli.norm = NORM_DURATION;
	else if (!strcmp(arg, "run"))
		b->cli.norm = NORM_RUN;
	else {
		kw_warn("check: --normalise takes auto, duration or run, not '%s'",
			arg);
		return -EINVAL;
	}
	b->norm_set = true;
	return 0;
}

int check_baseline_prepare(struct check_baseline *b, double *thresholds,
			   const bool *set)
{
	char error[512];
	size_t i, j;

	if (!b->cli.tolerance)
		baseline_settings_init(&b->cli);
	if (b->rules_path) {
		if (rules_file_load(b->rules_path, &b->rules, error,
				    sizeof(error))) {
			kw_warn("check: %s", error);
			return -EINVAL;
		}
		for (i = 0; i < b->rules.nthresholds; i++) {
			const struct rules_threshold *t = &b->rules.thresholds[i];

			for (j = 0; j < check_rule_count(); j++)
				if (check_rule_at(j) == t->rule && !set[j])
					thresholds[j] = t->value;
		}
	}
	if ((b->cli.count || b->norm_set || b->rules.baseline.count ||
	     b->rules.has_tolerance || b->rules.has_min_events ||
	     b->rules.has_min_change) && !b->path) {
		kw_warn("check: tolerances apply to a comparison: give --baseline FILE");
		return -EINVAL;
	}
	if (b->path && record_load(b->path, &b->base, error, sizeof(error))) {
		kw_warn("check: --baseline %s", error);
		return -EINVAL;
	}
	return 0;
}

int check_baseline_compare(struct check_baseline *b, const struct runner *r,
			   char **command, const struct workload_run *run)
{
	struct baseline_settings s;
	char error[512];
	size_t i;
	int err;

	err = record_from_runner(&b->cur, r, command, run);
	if (err) {
		kw_warn("check: reading the metrics failed: %s", strerror(-err));
		return KW_EXIT_RUNTIME;
	}
	/* Defaults, then the rules file, then the command line. */
	baseline_settings_init(&s);
	err = rules_file_apply(&b->rules, &s);
	for (i = 0; !err && i < b->cli.count; i++) {
		const struct tolerance *t = &b->cli.items[i];

		err = baseline_set_tolerance(&s, t->metric, t->value, t->off,
					     t->origin);
	}
	if (b->norm_set)
		s.norm = b->cli.norm;
	if (!err)
		err = baseline_compare(&b->base, &b->cur, &s, &b->result, error,
				       sizeof(error));
	baseline_settings_free(&s);
	if (err == -EINVAL) {
		kw_warn("check: %s", error);
		return KW_EXIT_USAGE;
	}
	if (err) {
		kw_warn("check: comparing with the baseline failed: %s",
			strerror(-err));
		return KW_EXIT_RUNTIME;
	}
	if (run->interrupted && !b->result.refused) {
		b->result.refused = true;
		snprintf(b->result.refusal, sizeof(b->result.refusal),
			 "this run was interrupted after %.2f s, before its end: a partial run is not compared",
			 run->elapsed_sec);
	}
	b->compared = true;
	return KW_EXIT_OK;
}

int check_baseline_exit(const struct check_baseline *b, int rules_rc)
{
	int bl = baseline_exit_code(&b->result);

	if (rules_rc == KW_EXIT_CHECK_FAILED || bl == KW_EXIT_CHECK_FAILED)
		return KW_EXIT_CHECK_FAILED;
	if (bl != KW_EXIT_OK)
		return bl;
	/* The comparison judged the run where the rules could not. */
	return rules_rc < 0 || rules_rc == KW_EXIT_NOTHING_JUDGED ?
		KW_EXIT_OK : rules_rc;
}

int check_baseline_write_junit(const struct check_baseline *b,
			       const char *path, const char *rules_doc,
			       double duration_sec)
{
	const char *end = rules_doc ? strstr(rules_doc, "</testsuites>") : NULL;
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	int err;

	if (!f)
		return -ENOMEM;
	if (end)
		fwrite(rules_doc, 1, end - rules_doc, f);
	else
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
	err = baseline_junit_suite(f, &b->result, duration_sec);
	fputs("</testsuites>\n", f);
	return junit_commit(path, f, &doc, &len, err);
}

void check_baseline_free(struct check_baseline *b)
{
	baseline_result_free(&b->result);
	record_free(&b->base);
	record_free(&b->cur);
	rules_file_free(&b->rules);
	baseline_settings_free(&b->cli);
}
