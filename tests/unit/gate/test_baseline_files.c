// SPDX-License-Identifier: GPL-2.0
/*
 * The gate's files: the rules file's tolerances, a record written and
 * read back, bad records named, atomic writes and the JUnit report.
 */
#include "baseline_fixture.h"

static void tolerance_parsing(void **state)
{
	struct baseline_settings s;
	char error[256];
	double v;
	bool off;

	(void)state;
	assert_int_equal(baseline_parse_tolerance("0.1", &v, &off), 0);
	assert_float_equal(v, 0.1, 1e-12);
	assert_int_equal(baseline_parse_tolerance("15%", &v, &off), 0);
	assert_float_equal(v, 0.15, 1e-12);
	assert_int_equal(baseline_parse_tolerance("off", &v, &off), 0);
	assert_true(off);
	assert_int_equal(baseline_parse_tolerance("-0.1", &v, &off), -ERANGE);
	assert_int_equal(baseline_parse_tolerance("1e9", &v, &off), -ERANGE);
	assert_int_equal(baseline_parse_tolerance("10 %", &v, &off), -EINVAL);
	assert_int_equal(baseline_parse_tolerance("nan", &v, &off), -EINVAL);
	assert_int_equal(baseline_parse_tolerance("", &v, &off), -EINVAL);
	assert_int_equal(baseline_parse_tolerance(" 1", &v, &off), -EINVAL);

	baseline_settings_init(&s);
	assert_int_equal(baseline_parse_tolerance_arg(&s, "exits.total=5%",
						      error, sizeof(error)), 0);
	assert_float_equal(s.items[0].value, 0.05, 1e-12);
	assert_int_not_equal(baseline_parse_tolerance_arg(&s, "exits.total",
							  error, sizeof(error)), 0);
	assert_non_null(strstr(error, "METRIC=VALUE"));
	assert_int_not_equal(baseline_parse_tolerance_arg(&s, "Exits=1",
							  error, sizeof(error)), 0);
	assert_non_null(strstr(error, "not a metric name"));
	assert_int_not_equal(baseline_parse_tolerance_arg(&s, "exits.total=x",
							  error, sizeof(error)), 0);
	assert_non_null(strstr(error, "not a tolerance"));
	/* A later setting replaces an earlier one. */
	assert_int_equal(baseline_parse_tolerance_arg(&s, "exits.total=off",
						      error, sizeof(error)), 0);
	assert_int_equal(s.count, 1);
	assert_true(s.items[0].off);
	baseline_settings_free(&s);
	assert_true(baseline_metric_pattern_ok("mmio.*"));
	assert_true(baseline_metric_pattern_ok("pmu.switch_cost_ns"));
	assert_false(baseline_metric_pattern_ok("mmio"));
	assert_false(baseline_metric_pattern_ok("mmio."));
	assert_false(baseline_metric_pattern_ok("*.total"));
	assert_false(baseline_metric_pattern_ok("mmio.a b"));
	assert_true(baseline_metric_pattern_ok("exits.exits_by_reason{reason=npf}"));
	assert_true(baseline_metric_pattern_ok("exits.x{vm=1,vcpu=0}"));
	assert_false(baseline_metric_pattern_ok("exits.x{reason}"));
	assert_false(baseline_metric_pattern_ok("exits.x{reason=}"));
	assert_false(baseline_metric_pattern_ok("exits.x{a=b"));
	assert_false(baseline_metric_pattern_ok("exits.x{a=b}c"));
	assert_false(baseline_metric_pattern_ok("exits.*{a=b}"));
	baseline_settings_init(&s);
	assert_int_equal(baseline_parse_tolerance_arg(&s,
		"exits.exits_by_reason{reason=npf}=50%", error, sizeof(error)), 0);
	assert_string_equal(s.items[0].metric, "exits.exits_by_reason{reason=npf}");
	assert_float_equal(s.items[0].value, 0.5, 1e-12);
	baseline_settings_free(&s);
}

/* What record writes, check --baseline reads back the same. */
static void record_round_trip(void **state)
{
	struct pair *p = *state;
	struct record back;
	struct run_spec b;
	char error[256];
	json_t *doc;
	char *text;
	const struct metric *m;

	spec_default(&b);
	b.workload = true;
	b.share_unavailable = "no fast bus in tracepoint mode";
	b.teardown_slots[24] = 3;
	build(&p->base, &b);
	doc = record_to_json(&p->base);
	text = json_dumps(doc, 0);
	json_decref(doc);
	doc = json_loads(text, 0, NULL);
	free(text);
	assert_int_equal(record_from_json(doc, &back, error, sizeof(error)), 0);
	json_decref(doc);
	assert_string_equal(back.arch, "x86_64");
	assert_int_equal(back.command_exit, 0);
	assert_int_equal(json_array_size(back.command), 2);
	assert_int_equal(back.metrics.count, p->base.metrics.count);
	m = metric_find(&back.metrics, "exits.total", "vm=1234");
	assert_non_null(m);
	assert_true(m->per_entity);
	assert_float_equal(m->value, 210000, 0);
	m = metric_find(&back.metrics, "mmio.fast_share", "");
	assert_string_equal(m->unavailable, "no fast bus in tracepoint mode");
	m = metric_find(&back.metrics, "mmio.write_cost_ns", "");
	assert_int_equal(m->buckets[10], 900);
	assert_int_equal(m->buckets[11], 100);
	assert_float_equal(m->value, 1000, 0);
	m = metric_find(&back.metrics, "mmio.emulated_writes", "");
	assert_string_equal(m->per, "mmio.writes");
	m = metric_find(&back.metrics, "teardown.duration_ns", "");
	assert_int_equal(m->stat, METRIC_STAT_MEAN);
	assert_true(record_detector(&back, "exits")->ran);
	assert_int_equal(baseline_compare(&p->base, &back, &p->s, &p->res, error,
					  sizeof(error)), 0);
	assert_int_equal(p->res.failed, 0);
	record_free(&back);
}

static void bad_records_named(void **state)
{
	static const struct {
		const char *json;
		const char *error;
	} cases[] = {
		{ "[]", "not a JSON object" },
		{ "{\"type\": \"top\"}", "a 'top' document, not a record" },
		{ "{\"type\": \"record\", \"record_schema\": 9}", "record schema 9" },
		{ "{\"type\": \"record\", \"record_schema\": 1, \"host\": {}, \"kvmwatch\": \"x\", \"time\": 1}",
		  "host.kernel is missing" },
		{ "{\"type\": \"record\", \"record_schema\": 1, \"kvmwatch\": \"x\", \"time\": 1, "
		  "\"host\": {\"kernel\": \"k\", \"arch\": \"x86_64\", \"vendor\": \"svm\"}, "
		  "\"duration_s\": 1, \"workload\": null, \"detectors\": {}, "
		  "\"metrics\": [{\"name\": \"a.b\", \"type\": \"meter\"}]}",
		  "metrics[0].type" },
		{ "{\"type\": \"record\", \"record_schema\": 1, \"kvmwatch\": \"x\", \"time\": 1, "
		  "\"host\": {\"kernel\": \"k\", \"arch\": \"x86_64\", \"vendor\": \"svm\"}, "
		  "\"duration_s\": 0, \"workload\": null, \"detectors\": {}, \"metrics\": []}",
		  "duration_s must be positive" },
		{ "{\"type\": \"record\", \"record_schema\": 1, \"kvmwatch\": \"x\", \"time\": 1, "
		  "\"host\": {\"kernel\": \"k\", \"arch\": \"x86_64\", \"vendor\": \"svm\"}, "
		  "\"duration_s\": 1, \"workload\": {\"command\": [1]}, \"detectors\": {}, \"metrics\": []}",
		  "workload.command[0]" },
#define RECORD_HEAD "{\"type\": \"record\", \"record_schema\": 1, \"kvmwatch\": \"x\", \"time\": 1, " \
		  "\"host\": {\"kernel\": \"k\", \"arch\": \"x86_64\", \"vendor\": \"svm\"}, " \
		  "\"duration_s\": 1, \"workload\": null, \"detectors\": {}, \"metrics\": ["
#define METRIC_HEAD(name, type) "{\"name\": \"" name "\", \"type\": \"" type "\", " \
		  "\"unit\": \"x\", \"help\": \"x\", \"better\": \"lower\", \"per\": null, " \
		  "\"unavailable\": null, "
#define COUNTER(v, vm) METRIC_HEAD("exits.exits", "counter") \
		  "\"value\": " v ", \"labels\": {" vm "}, \"per_entity\": false}"
		{ RECORD_HEAD COUNTER("-1", "") "]}",
		  "metrics[0].value of counter exits.exits is negative" },
		{ RECORD_HEAD COUNTER("1", "") ", " COUNTER("2", "") "]}",
		  "metric exits.exits{} appears more than once" },
		{ RECORD_HEAD COUNTER("1", "\"vm\": \"1\"") ", " COUNTER("2", "\"vm\": \"1\"") "]}",
		  "metric exits.exits{vm=1} appears more than once" },
		/* Four values of 60 fit one by one, not together. */
#define X60 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		{ RECORD_HEAD COUNTER("1", "\"a\": \"" X60 "\", \"b\": \"" X60
				      "\", \"c\": \"" X60 "\", \"d\": \"" X60 "\"")
		  "]}",
		  "metrics[0].labels: more than 6 labels, or more than 180 characters" },
		{ RECORD_HEAD METRIC_HEAD("mmio.write_cost_ns", "histogram")
		  "\"value\": 1, \"labels\": {}, \"per_entity\": false, "
		  "\"buckets\": [1], \"sum\": -3}]}",
		  "sum of histogram mmio.write_cost_ns is negative" },
#undef X60
#undef COUNTER
#undef METRIC_HEAD
#undef RECORD_HEAD
	};
	struct record r;
	char error[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = json_loads(cases[i].json, 0, NULL);

		assert_non_null(doc);
		assert_int_not_equal(record_from_json(doc, &r, error,
						      sizeof(error)), 0);
		if (!strstr(error, cases[i].error))
			fail_msg("case %zu: '%s' lacks '%s'", i, error,
				 cases[i].error);
		record_free(&r);
		json_decref(doc);
	}
}

static void atomic_write(void **state)
{
	char dir[] = "/tmp/kw-baseline-XXXXXX", path[64], error[256];
	struct record back;
	json_t *doc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/base.json", dir);
	doc = json_pack("{s:s}", "type", "not-a-record");
	assert_int_equal(record_write_atomic(path, doc, error, sizeof(error)), 0);
	json_decref(doc);
	/* Read back: a complete document, no temporary left beside it. */
	assert_int_not_equal(record_load(path, &back, error, sizeof(error)), 0);
	assert_non_null(strstr(error, "not-a-record"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);	/* fails if a temp file stayed */
	/* An unwritable place: a message, no file. */
	doc = json_object();
	assert_int_not_equal(record_write_atomic("/nonexistent/dir/x.json", doc,
						 error, sizeof(error)), 0);
	assert_non_null(strstr(error, "/nonexistent/dir/x.json"));
	json_decref(doc);
}

static void junit_lists_failures(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	spec_default(&b);
	spec_default(&c);
	c.emulated = 2900;
	assert_int_equal(compare(p, &b, &c), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(baseline_write_junit(f, &p->res, 10), 0);
	fclose(f);
	assert_non_null(strstr(buf, "failures=\"1\""));
	assert_non_null(strstr(buf, "name=\"mmio.emulated_writes\" time"));
	assert_non_null(strstr(buf, "<failure message=\"mmio.emulated_writes (/mmio.writes)"));
	/* Labels in names are escaped as XML wants. */
	assert_non_null(strstr(buf, "exits.by_reason{reason=npf}"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tolerance_parsing),
		cmocka_unit_test_setup_teardown(record_round_trip, setup, teardown),
		cmocka_unit_test(bad_records_named),
		cmocka_unit_test(atomic_write),
		cmocka_unit_test_setup_teardown(junit_lists_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
