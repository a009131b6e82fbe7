// SPDX-License-Identifier: GPL-2.0
/* The rule engine: the groups of the build, thresholds, verdicts, JUnit. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/detector.h"
#include "junit.h"

/* The groups of the detectors of this build, in detector order. */
static const struct check_rule_group *const *groups_of_build(size_t *count)
{
	static const struct check_rule_group *groups[CHECK_MAX_GROUPS + 1];
	static size_t n;
	enum detector_id det;

	if (!n)
		for (det = 0; det < DET_COUNT; det++) {
			const struct detector_ops *ops = detector_ops(det);

			if (ops && ops->rules && n < CHECK_MAX_GROUPS)
				groups[n++] = ops->rules;
		}
	if (count)
		*count = n;
	return groups;
}

const struct check_rule_group *const *check_groups(void)
{
	return groups_of_build(NULL);
}

size_t check_rule_count(void)
{
	const struct check_rule_group *const *g = check_groups();
	size_t n = 0;

	for (; *g; g++)
		n += (*g)->count;
	return n;
}

const struct check_rule *check_rule_at(size_t i)
{
	const struct check_rule_group *const *g = check_groups();

	for (; *g; g++) {
		if (i < (*g)->count)
			return &(*g)->rules[i];
		i -= (*g)->count;
	}
	return NULL;
}

const struct check_rule_group *check_group_find(const char *name)
{
	const struct check_rule_group *const *g = check_groups();

	for (; *g; g++)
		if (!strcmp((*g)->name, name))
			return *g;
	return NULL;
}

const struct check_rule *check_rule_find(const char *name)
{
	size_t i, n = check_rule_count();

	for (i = 0; i < n; i++)
		if (!strcmp(check_rule_at(i)->name, name))
			return check_rule_at(i);
	return NULL;
}

const char *rule_verdict_name(enum rule_verdict v)
{
	switch (v) {
	case VERDICT_PASS: return "PASS";
	case VERDICT_FAIL: return "FAIL";
	case VERDICT_INFO: return "INFO";
	case VERDICT_ERROR: return "ERROR";
	default: return "SKIP";
	}
}

const char *rule_op_symbol(enum rule_op op)
{
	return op == RULE_AT_MOST ? "<=" : ">=";
}

int check_parse_threshold(const char *arg, const struct check_rule **rule,
			  double *value, char *error, size_t error_len)
{
	const char *eq = strchr(arg, '=');
	char name[64], *end;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
		snprintf(error, error_len,
			 "--threshold takes RULE=VALUE (e.g. timer.max_chain=2), not '%s'",
			 arg);
		return -EINVAL;
	}
	memcpy(name, arg, eq - arg);
	name[eq - arg] = '\0';
	*rule = check_rule_find(name);
	if (!*rule) {
		snprintf(error, error_len,
			 "no rule '%s' (kvmwatch check --list-rules lists them)",
			 name);
		return -ENOENT;
	}
	errno = 0;
	*value = strtod(eq + 1, &end);
	if (!eq[1] || *end || errno || !isfinite(*value) || *value < 0) {
		snprintf(error, error_len,
			 "threshold of %s must be a non-negative number, not '%s'",
			 name, eq + 1);
		return -EINVAL;
	}
	return 0;
}

void check_evaluate(const struct check_rule *rule, double threshold,
		    const struct check_data *d, struct rule_result *out)
{
	char why[EVIDENCE_LEN] = "";
	enum measure_outcome got;
	bool ok;

	memset(out, 0, sizeof(*out));
	out->rule = rule;
	out->threshold = threshold;
	got = rule->measure(d, &out->value, out->evidence,
			    sizeof(out->evidence), why, sizeof(why));
	if (got == NOT_MEASURED) {
		out->verdict = VERDICT_SKIP;
		snprintf(out->evidence, sizeof(out->evidence), "%s", why);
		return;
	}
	if (got == FINDING) {
		out->verdict = VERDICT_INFO;
		return;
	}
	out->host_fact = got == HOST_FACT;
	ok = rule->op == RULE_AT_MOST ? out->value <= threshold :
		out->value >= threshold;
	out->verdict = ok ? VERDICT_PASS : VERDICT_FAIL;
	if (ok)
		out->evidence[0] = '\0';
}

enum rule_verdict check_overall(const struct rule_result *results, size_t n)
{
	bool judged = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (results[i].verdict == VERDICT_FAIL)
			return VERDICT_FAIL;
		judged |= results[i].verdict == VERDICT_PASS &&
			!results[i].host_fact;
	}
	return judged ? VERDICT_PASS : VERDICT_SKIP;
}

int check_exit_code(enum rule_verdict overall, bool command_failed,
		    bool allow_command_failure)
{
	if (overall == VERDICT_FAIL)
		return KW_EXIT_CHECK_FAILED;
	if (command_failed && !allow_command_failure)
		return KW_EXIT_COMMAND_FAILED;
	return overall == VERDICT_PASS ? KW_EXIT_OK : KW_EXIT_NOTHING_JUDGED;
}

int check_write_junit(FILE *out, const struct rule_result *results,
		      size_t n, double duration_sec,
		      const char *workload_error)
{
	size_t i, failures = 0, skipped = 0, errors = !!workload_error;

	for (i = 0; i < n; i++) {
		failures += results[i].verdict == VERDICT_FAIL;
		skipped += results[i].verdict == VERDICT_SKIP;
	}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites>\n"
		"  <testsuite name=\"kvmwatch.check\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
		n + errors, failures, skipped, errors, duration_sec);
	if (workload_error)
		junit_testcase(out, "kvmwatch.workload", "command",
			       duration_sec, JUNIT_ERROR, workload_error,
			       workload_error);
	for (i = 0; i < n; i++) {
		const struct rule_result *r = &results[i];
		char line[160 + EVIDENCE_LEN], classname[64];
		int len;

		snprintf(classname, sizeof(classname), "kvmwatch.%s",
			 r->rule->group);
		len = snprintf(line, sizeof(line),
			       "%s: measured %g %s, threshold %s %g",
			       r->rule->description, r->value, r->rule->unit,
			       rule_op_symbol(r->rule->op), r->threshold);
		/* JUnit has no "noted": a passed case that says what. */
		if (r->verdict == VERDICT_INFO && len > 0 &&
		    (size_t)len < sizeof(line))
			snprintf(line + len, sizeof(line) - len, "; INFO: %s",
				 r->evidence);
		junit_testcase(out, classname, r->rule->name, duration_sec,
			       r->verdict == VERDICT_FAIL ? JUNIT_FAILURE :
			       r->verdict == VERDICT_SKIP ? JUNIT_SKIPPED :
			       JUNIT_PASS, line, r->evidence);
	}
	fputs("  </testsuite>\n</testsuites>\n", out);
	return ferror(out) ? -EIO : 0;
}
