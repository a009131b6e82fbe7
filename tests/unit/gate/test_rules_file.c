// SPDX-License-Identifier: GPL-2.0
/*
 * The rules file: a good file becomes thresholds and tolerances; each
 * kind of mistake is an error naming the file, the line and the key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gate/rules_file.h"

static int parse(const char *text, struct rules_file *rf, char *error)
{
	return rules_file_parse("ci.yaml", text, strlen(text), rf, error, 256);
}

static void good_file(void **state)
{
	static const char text[] =
		"# gate for the nightly kernel\n"
		"version: 1\n"
		"thresholds:\n"
		"  timer.max_chain: 3\n"
		"baseline:\n"
		"  tolerance: 20%\n"
		"  min_events: 50\n"
		"  normalise: duration\n"
		"  metrics:\n"
		"    exits.exits: 0.1\n"
		"    exits.exits_by_reason{reason=intr}: off\n"
		"    timer.chains: { tolerance: 0, min_events: 0 }\n"
		"    timer.*:\n"
		"      min_events: 5\n"
		"    teardown.max_wait_ms: { tolerance: 100%, min_change: 20 }\n";
	struct baseline_settings s;
	struct rules_file rf;
	char error[256];

	(void)state;
	assert_int_equal(parse(text, &rf, error), 0);
	assert_int_equal(rf.nthresholds, 1);
	assert_string_equal(rf.thresholds[0].rule->name, "timer.max_chain");
	assert_true(rf.thresholds[0].value == 3);
	assert_int_equal(rf.thresholds[0].line, 4);
	baseline_settings_init(&s);
	/* The command line's --tolerance comes after the file and wins. */
	assert_int_equal(baseline_parse_tolerance_arg(&s, "exits.exits=30%",
						      error, sizeof(error)), 0);
	assert_int_equal(rules_file_apply(&rf, &s), 0);
	assert_int_equal(baseline_parse_tolerance_arg(&s, "exits.exits=30%",
						      error, sizeof(error)), 0);
	assert_float_equal(s.tolerance, 0.2, 1e-12);
	assert_float_equal(s.min_events, 50, 0);
	assert_int_equal(s.norm, NORM_DURATION);
	assert_float_equal(baseline_tolerance(&s, "exits.exits")->value, 0.3,
			   1e-12);
	assert_true(baseline_tolerance(&s, "exits.exits_by_reason{reason=intr}")->off);
	assert_float_equal(baseline_tolerance(&s, "timer.chains")->value, 0, 0);
	assert_float_equal(baseline_tolerance(&s, "timer.chains")->min_events,
			   0, 0);
	/* min_events alone keeps the default tolerance. */
	assert_true(baseline_tolerance(&s, "timer.*")->value < 0);
	assert_float_equal(baseline_tolerance(&s, "timer.*")->min_events, 5, 0);
	assert_string_equal(baseline_tolerance(&s, "timer.chains")->origin,
			    "ci.yaml:12");
	assert_float_equal(baseline_tolerance(&s, "teardown.max_wait_ms")->min_change,
			   20, 0);
	assert_true(baseline_tolerance(&s, "timer.chains")->min_change < 0);
	baseline_settings_free(&s);
	rules_file_free(&rf);
}

static void minimal_file(void **state)
{
	struct rules_file rf;
	char error[256];

	(void)state;
	assert_int_equal(parse("version: 1\n", &rf, error), 0);
	assert_false(rf.has_tolerance);
	assert_int_equal(rf.nthresholds, 0);
	rules_file_free(&rf);
}

/* Each mistake: its line and key in the message. */
static void errors_name_line_and_key(void **state)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "", "ci.yaml:1: empty" },
		{ "thresholds: {}\n", "ci.yaml:1: version: missing" },
		{ "version: 2\n", "ci.yaml:1: version: version 2 is not one" },
		{ "version: 1\nthreshold:\n  timer.max_chain: 2\n",
		  "ci.yaml:2: threshold: unknown key" },
		{ "version: 1\nthresholds:\n  timer.max_chian: 2\n",
		  "ci.yaml:3: thresholds.timer.max_chian: no such rule" },
		{ "version: 1\nthresholds:\n  timer.max_chain: two\n",
		  "ci.yaml:3: thresholds.timer.max_chain: expected a number, found 'two'" },
		{ "version: 1\nthresholds:\n  timer.max_chain: \"2\"\n",
		  "ci.yaml:3: thresholds.timer.max_chain: expected a number, found the string" },
		{ "version: 1\nthresholds:\n  timer.max_chain: -1\n",
		  "ci.yaml:3: thresholds.timer.max_chain: -1 is out of range" },
		{ "version: 1\nthresholds:\n  timer.max_chain: [1]\n",
		  "ci.yaml:3: thresholds.timer.max_chain: expected a value, found a list" },
		{ "version: 1\nthresholds: 3\n",
		  "ci.yaml:2: thresholds: expected a mapping" },
		{ "version: 1\nbaseline:\n  tolerance: 20 %\n",
		  "ci.yaml:3: baseline.tolerance: expected a tolerance" },
		{ "version: 1\nbaseline:\n  tolerance: 20000%\n",
		  "ci.yaml:3: baseline.tolerance: tolerance '20000%' is out of range" },
		{ "version: 1\nbaseline:\n  tolerance: off\n",
		  "ci.yaml:3: baseline.tolerance: the default cannot be off" },
		{ "version: 1\nbaseline:\n  normalise: weekly\n",
		  "ci.yaml:3: baseline.normalise: expected auto, duration or run" },
		{ "version: 1\nbaseline:\n  metrics:\n    Exits: 10%\n",
		  "ci.yaml:4: baseline.metrics.Exits: not a metric name" },
		{ "version: 1\nbaseline:\n  metrics:\n    exits.exits: {tolerance: 1, noise: 2}\n",
		  "ci.yaml:4: baseline.metrics.exits.exits.noise: unknown key" },
		{ "version: 1\nbaseline:\n  metrics:\n    exits.exits: {}\n",
		  "ci.yaml:4: baseline.metrics.exits.exits: give tolerance" },
		{ "version: 1\nbaseline:\n  min_events: 5\n  min_events: 6\n",
		  "ci.yaml:4: min_events: given twice (first on line 3)" },
		{ "version: 1\nbaseline: {tolerance: [\n",
		  "ci.yaml:3: not valid YAML" },
		{ "version: 1\n---\nversion: 1\n",
		  "ci.yaml:3: a second YAML document" },
		{ "- version\n", "ci.yaml:1: expected a mapping" },
		{ "version: 1\n? [a]\n: b\n", "ci.yaml:2: expected a value, found a list" },
	};
	struct rules_file rf;
	char error[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_not_equal(parse(cases[i].text, &rf, error), 0);
		if (!strstr(error, cases[i].error))
			fail_msg("case %zu: '%s' lacks '%s'", i, error,
				 cases[i].error);
	}
}

static void embedded_nul_refused(void **state)
{
	static const char text[] = "version: 1\nbaseline:\n  normalise: \"a\\0b\"\n";
	struct rules_file rf;
	char error[256];

	(void)state;
	assert_int_not_equal(parse(text, &rf, error), 0);
	assert_non_null(strstr(error, "ci.yaml:3: baseline.normalise: value contains a NUL byte"));
}

static void load_from_disk(void **state)
{
	char path[] = "/tmp/kw-rules-XXXXXX", error[256];
	struct rules_file rf;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("version: 1\nbaseline:\n  tolerance: 5%\n  bogus: 1\n", f);
	fclose(f);
	assert_int_equal(rules_file_load(path, &rf, error, sizeof(error)),
			 -EINVAL);
	assert_non_null(strstr(error, path));
	assert_non_null(strstr(error, ":4: baseline.bogus: unknown key"));
	unlink(path);
	assert_int_not_equal(rules_file_load(path, &rf, error, sizeof(error)), 0);
	assert_non_null(strstr(error, "No such file"));
}

/* Nesting is bounded before libyaml builds a document (whose loader is
 * quadratic in nested flow collections). */
static void nesting_bounded(void **state)
{
	size_t depth = 100000, i, len = strlen("version: 1\nthresholds: ");
	char *text = malloc(len + 2 * depth + 2), error[256];
	struct rules_file rf;

	(void)state;
	assert_non_null(text);
	memcpy(text, "version: 1\nthresholds: ", len);
	for (i = 0; i < depth; i++)
		text[len + i] = '[';
	for (i = 0; i < depth; i++)
		text[len + depth + i] = ']';
	text[len + 2 * depth] = '\n';
	text[len + 2 * depth + 1] = '\0';
	assert_int_equal(parse(text, &rf, error), -EINVAL);
	assert_non_null(strstr(error, "ci.yaml:2: nested more than 64 levels deep"));
	/* The top mapping and 63 lists: 64 levels are read, then refused
	 * for what they are (not a threshold), not for their depth. */
	for (i = 0; i < 63; i++) {
		text[len + i] = '[';
		text[len + 63 + i] = ']';
	}
	memcpy(text + len + 126, "\n", 2);
	assert_int_not_equal(parse(text, &rf, error), 0);
	assert_null(strstr(error, "nested more than"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file),
		cmocka_unit_test(minimal_file),
		cmocka_unit_test(errors_name_line_and_key),
		cmocka_unit_test(embedded_nul_refused),
		cmocka_unit_test(load_from_disk),
		cmocka_unit_test(nesting_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
