// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus exposition of flat metrics: names, HELP/TYPE per family,
 * label escaping, log2 histograms as cumulative le buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "views/prom.h"

static char *render_zeroed(const struct metric_set *set, const bool *zero)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(prom_render_zeroed(f, set, zero), 0);
	fclose(f);
	return buf;
}

static char *render(const struct metric_set *set)
{
	return render_zeroed(set, NULL);
}

static void names_follow_conventions(void **state)
{
	static const struct {
		enum metric_type type;
		const char *unit, *name, *want;
	} cases[] = {
		{ METRIC_COUNTER, "exits", "exits.exits", "kvmwatch_exits_exits_total" },
		{ METRIC_COUNTER, "exits", "exits.user_exits", "kvmwatch_exits_user_exits_total" },
		{ METRIC_COUNTER, "writes", "mmio.emulated", "kvmwatch_mmio_emulated_writes_total" },
		{ METRIC_COUNTER, "callbacks", "timer.period0", "kvmwatch_timer_period0_callbacks_total" },
		{ METRIC_GAUGE, "callbacks", "timer.longest_chain", "kvmwatch_timer_longest_chain_callbacks" },
		{ METRIC_GAUGE, "ns", "timer.longest_chain_ns", "kvmwatch_timer_longest_chain_seconds" },
		{ METRIC_HISTOGRAM, "ns", "pmu.switch_cost_ns", "kvmwatch_pmu_switch_cost_seconds" },
		{ METRIC_GAUGE, "ratio", "mmio.fast_share", "kvmwatch_mmio_fast_share_ratio" },
		{ METRIC_COUNTER, NULL, "teardown.runs", "kvmwatch_teardown_runs_total" },
		{ METRIC_COUNTER, "ns", "teardown.stall-time", "kvmwatch_teardown_stall_time_seconds_total" },
		/* Base units only: promtool check metrics warns on _ms. */
		{ METRIC_GAUGE, "ms", "teardown.max_run_ms", "kvmwatch_teardown_max_run_seconds" },
		{ METRIC_GAUGE, "us", "timer.late_us", "kvmwatch_timer_late_seconds" },
	};
	struct metric_set set = { 0 };
	char name[PROM_NAME_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metric *m = metric_add(&set, cases[i].type, cases[i].unit,
					      "h", BETTER_LOWER, "%s",
					      cases[i].name);

		prom_name(m, name, sizeof(name));
		assert_string_equal(name, cases[i].want);
	}
	metric_set_free(&set);
}

static void families_and_labels(void **state)
{
	struct metric_set set = { 0 };
	struct metric *m;
	char *text;

	(void)state;
	m = metric_add(&set, METRIC_COUNTER, "exits", "in-kernel VM exits",
		       BETTER_LOWER, "exits.exits");
	m->value = 12345;
	m = metric_add(&set, METRIC_COUNTER, "exits", "exits of one VM",
		       BETTER_LOWER, "exits.vm_exits");
	metric_label(m, "vm", "%d", 100);
	metric_label(m, "comm", "qemu \"a\\b\"\nx");
	m->value = 7;
	m = metric_add(&set, METRIC_GAUGE, "ns", "longest\nchain",
		       BETTER_LOWER, "timer.longest_chain_ns");
	m->value = 1500;
	/* The same family later in the set: grouped under one header. */
	m = metric_add(&set, METRIC_COUNTER, "exits", "exits of one VM",
		       BETTER_LOWER, "exits.vm_exits");
	metric_label(m, "vm", "%d", 200);
	metric_label(m, "comm", "kvmload");
	m->value = 0.5;
	text = render(&set);
	assert_string_equal(text,
		"# HELP kvmwatch_exits_exits_total in-kernel VM exits\n"
		"# TYPE kvmwatch_exits_exits_total counter\n"
		"kvmwatch_exits_exits_total 12345\n"
		"# HELP kvmwatch_exits_vm_exits_total exits of one VM\n"
		"# TYPE kvmwatch_exits_vm_exits_total counter\n"
		"kvmwatch_exits_vm_exits_total{vm=\"100\",comm=\"qemu \\\"a\\\\b\\\"\\nx\"} 7\n"
		"kvmwatch_exits_vm_exits_total{vm=\"200\",comm=\"kvmload\"} 0.5\n"
		"# HELP kvmwatch_timer_longest_chain_seconds longest\\nchain\n"
		"# TYPE kvmwatch_timer_longest_chain_seconds gauge\n"
		"kvmwatch_timer_longest_chain_seconds 1.5e-06\n");
	free(text);
	metric_set_free(&set);
}

static void histogram_buckets(void **state)
{
	uint32_t slots[HIST_SLOTS] = { 0 };
	struct metric_set set = { 0 };
	struct metric *m;
	char *text;

	(void)state;
	slots[0] = 1;	/* 0 */
	slots[1] = 2;	/* 1 */
	slots[3] = 4;	/* 4..7 */
	m = metric_add(&set, METRIC_HISTOGRAM, "exits", "exits per doorbell",
		       BETTER_LOWER, "mmio.exits_per_write");
	metric_label(m, "vm", "1");
	metric_set_hist(m, slots, 30);
	text = render(&set);
	assert_string_equal(text,
		"# HELP kvmwatch_mmio_exits_per_write exits per doorbell\n"
		"# TYPE kvmwatch_mmio_exits_per_write histogram\n"
		"kvmwatch_mmio_exits_per_write_bucket{vm=\"1\",le=\"0\"} 1\n"
		"kvmwatch_mmio_exits_per_write_bucket{vm=\"1\",le=\"1\"} 3\n"
		"kvmwatch_mmio_exits_per_write_bucket{vm=\"1\",le=\"3\"} 3\n"
		"kvmwatch_mmio_exits_per_write_bucket{vm=\"1\",le=\"7\"} 7\n"
		"kvmwatch_mmio_exits_per_write_bucket{vm=\"1\",le=\"+Inf\"} 7\n"
		"kvmwatch_mmio_exits_per_write_sum{vm=\"1\"} 30\n"
		"kvmwatch_mmio_exits_per_write_count{vm=\"1\"} 7\n");
	free(text);
	metric_set_free(&set);
}

static void nanoseconds_become_seconds(void **state)
{
	uint32_t slots[HIST_SLOTS] = { 0 };
	struct metric_set set = { 0 };
	struct metric *m;
	char *text;

	(void)state;
	slots[11] = 10;			/* 1024..2047 ns */
	slots[HIST_SLOTS - 1] = 1;	/* the open-ended last slot */
	m = metric_add(&set, METRIC_HISTOGRAM, "ns", "cost", BETTER_LOWER,
		       "pmu.switch_cost_ns");
	metric_set_hist(m, slots, 20000);
	text = render(&set);
	assert_non_null(strstr(text, "kvmwatch_pmu_switch_cost_seconds_bucket{le=\"2.047e-06\"} 10\n"));
	/* Bucket 38 is the last finite one; slot 39 only counts in +Inf. */
	assert_non_null(strstr(text, "kvmwatch_pmu_switch_cost_seconds_bucket{le=\"274.877906943\"} 10\n"));
	assert_non_null(strstr(text, "kvmwatch_pmu_switch_cost_seconds_bucket{le=\"+Inf\"} 11\n"));
	assert_non_null(strstr(text, "kvmwatch_pmu_switch_cost_seconds_sum 2e-05\n"));
	assert_non_null(strstr(text, "kvmwatch_pmu_switch_cost_seconds_count 11\n"));
	assert_null(strstr(text, "le=\"549.755813887\""));
	free(text);
	metric_set_free(&set);
}

/* A metric of VM 7. */
static struct metric *vm_metric(struct metric_set *set, enum metric_type type,
				const char *unit, const char *name, double value)
{
	struct metric *m = metric_add(set, type, unit, "h", BETTER_LOWER,
				      "%s", name);

	assert_non_null(m);
	m->value = value;
	metric_label(m, "vm", "7");
	return m;
}

static void milliseconds_become_seconds(void **state)
{
	struct metric_set set = { 0 };
	char *text;

	(void)state;
	vm_metric(&set, METRIC_GAUGE, "ms", "teardown.vm_max_run_ms", 250);
	text = render(&set);
	assert_non_null(strstr(text, "kvmwatch_teardown_vm_max_run_seconds{vm=\"7\"} 0.25\n"));
	assert_null(strstr(text, "_ms"));
	free(text);
	metric_set_free(&set);
}

/* A new VM's series at 0 once: counters and histograms, not gauges. */
static void fresh_series_shown_at_zero(void **state)
{
	uint32_t slots[HIST_SLOTS] = { 0 };
	struct metric_set set = { 0 };
	bool zero[3] = { true, true, true };
	char *text;

	(void)state;
	vm_metric(&set, METRIC_COUNTER, "exits", "exits.vm_exits", 12);
	slots[2] = 3;
	metric_set_hist(vm_metric(&set, METRIC_HISTOGRAM, "ns",
				  "mmio.write_cost_ns", 0), slots, 9);
	vm_metric(&set, METRIC_GAUGE, "callbacks", "timer.vcpu_longest_chain", 4);
	text = render_zeroed(&set, zero);
	assert_non_null(strstr(text, "kvmwatch_exits_vm_exits_total{vm=\"7\"} 0\n"));
	assert_non_null(strstr(text, "kvmwatch_mmio_write_cost_seconds_bucket{vm=\"7\",le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(text, "kvmwatch_mmio_write_cost_seconds_sum{vm=\"7\"} 0\n"));
	assert_non_null(strstr(text, "kvmwatch_timer_vcpu_longest_chain_callbacks{vm=\"7\"} 4\n"));
	free(text);
	text = render(&set);
	assert_non_null(strstr(text, "kvmwatch_exits_vm_exits_total{vm=\"7\"} 12\n"));
	assert_non_null(strstr(text, "kvmwatch_mmio_write_cost_seconds_count{vm=\"7\"} 3\n"));
	free(text);
	metric_set_free(&set);
}

static void unavailable_is_not_zero(void **state)
{
	struct metric_set set = { 0 };
	struct metric *m;
	char *text;

	(void)state;
	m = metric_add(&set, METRIC_GAUGE, "ratio", "fast share",
		       BETTER_HIGHER, "mmio.fast_share");
	m->unavailable = "tracepoint mode cannot see the fast bus";
	text = render(&set);
	assert_string_equal(text,
		"# kvmwatch: kvmwatch_mmio_fast_share_ratio unavailable: tracepoint mode cannot see the fast bus\n");
	free(text);
	metric_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_follow_conventions),
		cmocka_unit_test(families_and_labels),
		cmocka_unit_test(histogram_buckets),
		cmocka_unit_test(nanoseconds_become_seconds),
		cmocka_unit_test(milliseconds_become_seconds),
		cmocka_unit_test(fresh_series_shown_at_zero),
		cmocka_unit_test(unavailable_is_not_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
