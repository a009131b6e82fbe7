// SPDX-License-Identifier: GPL-2.0
/*
 * check --baseline: two records compared metric by metric. Each test
 * builds a baseline and a current run the way detectors fill metric sets,
 * changes one thing, and asserts the verdict of that metric and overall.
 */
#include "baseline_fixture.h"

static void same_run_passes(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	/* Twice as long, twice the exits: the same rate. */
	c.duration = 20;
	c.exits = 60000;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(p->res.norm, NORM_DURATION);
	assert_int_equal(baseline_overall(&p->res), BL_PASS);
	assert_int_equal(baseline_exit_code(&p->res), KW_EXIT_OK);
	assert_int_equal(p->res.failed, 0);
	assert_int_equal(p->res.incomparable, 0);
	assert_float_equal(row(&p->res, "exits.total")->ratio, 1.0, 1e-9);
	assert_string_equal(row(&p->res, "exits.total")->basis, "/s");
	/* The per-VM figure is not a row; the reason-labelled one is. */
	assert_int_equal(row(&p->res, "exits.by_reason{reason=npf}")->verdict,
			 BL_PASS);
	assert_int_equal(row(&p->res, "mmio.writes")->verdict, BL_INFO);
}

static void more_exits_per_second_fails(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	c.exits = 30000 * 1.3;
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "exits.total");
	assert_int_equal(r->verdict, BL_FAIL);
	assert_float_equal(r->ratio, 1.3, 1e-9);
	assert_float_equal(r->allowed, 1.25, 1e-9);
	assert_non_null(strstr(r->note, "1.30x"));
	assert_int_equal(baseline_overall(&p->res), BL_FAIL);
	assert_int_equal(baseline_exit_code(&p->res), KW_EXIT_CHECK_FAILED);
	/* 20% more is within the default 25%. */
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	c.exits = 30000 * 1.2;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "exits.total")->verdict, BL_PASS);
}

static void normalised_by_own_work(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	/* Twice the doorbells, twice the emulated ones: same share. */
	c.writes = 6000;
	c.emulated = 4000;
	c.exits = 60000;
	c.workload = b.workload = true;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(p->res.norm, NORM_RUN);
	assert_string_equal(row(&p->res, "mmio.emulated_writes")->basis,
			    "/mmio.writes");
	assert_int_equal(row(&p->res, "mmio.emulated_writes")->verdict, BL_PASS);
	/* Per workload run, twice the exits is a regression. */
	assert_string_equal(row(&p->res, "exits.total")->basis, "/run");
	assert_int_equal(row(&p->res, "exits.total")->verdict, BL_FAIL);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* Same writes, more of them emulated: FAIL naming the metric. */
	spec_default(&c);
	c.emulated = 2900;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.emulated_writes")->verdict, BL_FAIL);
}

static void lower_share_fails(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	c.fast_share = 0.3;
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "mmio.fast_share");
	assert_int_equal(r->verdict, BL_FAIL);
	assert_float_equal(r->allowed, 0.75, 1e-9);
	/* Higher is better: a rise passes. */
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	c.fast_share = 0.9;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.fast_share")->verdict, BL_PASS);
}

static void gauge_and_histogram_regressions(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	c.max_chain = 40;
	/* Each write four times as slow. */
	memset(c.cost_slots, 0, sizeof(c.cost_slots));
	c.cost_slots[12] = 900;
	c.cost_slots[13] = 100;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.max_chain")->verdict, BL_FAIL);
	r = row(&p->res, "mmio.write_cost_ns");
	assert_int_equal(r->verdict, BL_FAIL);
	/* Compared by the median, placed inside its slot: 500 of 900 into
	 * [512, 1024) ns then [2048, 4096). */
	assert_string_equal(r->basis, "median");
	assert_float_equal(r->base, 512 + 512 * 500.0 / 900, 1e-6);
	assert_float_equal(r->ratio, 4.0, 1e-9);
	assert_non_null(strstr(r->note, "median 3.19 us over 1000 samples against 796 ns"));
	assert_non_null(strstr(r->note, "99th percentile below 8.19 us against 2.05 us"));
	/* No exact sum: the mean shown is of the buckets' floors. */
	assert_non_null(strstr(r->note, "mean (at least: log2 bucket floors) 2.25 us against 563 ns"));
	assert_int_equal(p->res.failed, 2);
}

/* The testbed's same workload: 5% of writes stretched to milliseconds by
 * a preempted host thread took the mean write cost 32.5 -> 93.1 us. The
 * median holds; the same 5% made the common case is a regression. */
static void histogram_outliers_are_not_a_regression(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	memset(b.cost_slots, 0, sizeof(b.cost_slots));
	b.cost_slots[15] = 1000;
	memset(c.cost_slots, 0, sizeof(c.cost_slots));
	c.cost_slots[15] = 950;
	c.cost_slots[23] = 50;
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "mmio.write_cost_ns");
	assert_int_equal(r->verdict, BL_PASS);
	assert_true(r->ratio > 1.0 && r->ratio < 1.05);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	c.cost_slots[15] = 400;
	c.cost_slots[17] = 600;
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "mmio.write_cost_ns");
	assert_int_equal(r->verdict, BL_FAIL);
	assert_true(r->ratio > 2.5);
}

/* A run has a few teardowns, each of them the work: one VM 16x bigger
 * among three moves their mean (a FAIL), not their median. */
static void teardown_durations_by_their_mean(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	b.teardown_slots[24] = 3;	/* 8-16 ms each */
	c = b;
	c.teardown_slots[24] = 2;
	c.teardown_slots[29] = 1;	/* 268-536 ms */
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "teardown.duration_ns");
	assert_string_equal(r->basis, "mean");
	assert_int_equal(r->verdict, BL_FAIL);
	assert_true(r->ratio > 5);
	assert_non_null(strstr(r->note, "mean "));
	assert_non_null(strstr(r->note, "median "));
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* The same teardowns again: no change. */
	assert_int_equal(compare(p, &b, &b), 0);
	assert_int_equal(row(&p->res, "teardown.duration_ns")->verdict,
			 BL_PASS);
}

/* Informational rows are never judged, but show both figures. */
static void informational_rows_show_their_figures(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	c = b;
	c.writes = 6000;
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "mmio.writes");
	assert_int_equal(r->verdict, BL_INFO);
	assert_true(r->have_values);
	assert_float_equal(r->base, 300, 1e-9);	/* per second of 10 s */
	assert_float_equal(r->cur, 600, 1e-9);
	assert_float_equal(r->ratio, 2, 1e-9);
}

/* A record whose figure is another statistic, or per another total (an
 * older kvmwatch's), is not compared as if it were this one's. */
static void another_basis_is_incomparable(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	b.teardown_slots[24] = 3;
	b.td_stat = METRIC_STAT_MEDIAN;
	b.emulated_per = "mmio.candidate_writes";
	c = b;
	c.td_stat = METRIC_STAT_MEAN;
	c.emulated_per = "mmio.writes";
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "teardown.duration_ns");
	assert_int_equal(r->verdict, BL_INCOMPARABLE);
	assert_non_null(strstr(r->note, "by its median in the baseline, by its mean now"));
	r = row(&p->res, "mmio.emulated_writes");
	assert_int_equal(r->verdict, BL_INCOMPARABLE);
	assert_non_null(strstr(r->note, "per mmio.candidate_writes in the baseline, per mmio.writes now"));
}

/* A teardown's times move by tens of ms from run to run: the same
 * workload gave 0.5401 then 0.7094 ms (1.31x), and on the testbed a
 * longest stretch of 4.8 then 19.1 ms, a longest run of 9.6 then 59.6.
 * Not a regression by default; 60 ms more is. */
static void teardown_times_have_a_noise_floor(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	b.stretch_ms = 0.5401;
	c.stretch_ms = 0.7094;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "teardown.max_stretch_ms")->verdict,
			 BL_PASS);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* 4x, but 14.3 ms more: under the 50 ms floor. */
	b.stretch_ms = 4.8;
	c.stretch_ms = 19.1;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "teardown.max_stretch_ms")->verdict,
			 BL_PASS);
	assert_non_null(strstr(row(&p->res, "teardown.max_stretch_ms")->note,
			       "min_change 50"));
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	c.stretch_ms = 65;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "teardown.max_stretch_ms")->verdict,
			 BL_FAIL);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* A min_change of 0 set on purpose counts every change again. */
	p->s.min_change = 0;
	c.stretch_ms = 19.1;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "teardown.max_stretch_ms")->verdict,
			 BL_FAIL);
	/* Other detectors' costs have no such floor. */
	assert_true(baseline_noise_floor("mmio.write_cost_ns", "ns") == 0);
	assert_true(baseline_noise_floor("teardown.run_ns", "ns") == 5e7);
}

/* Times are allowed 150% by default, counts 25%: a busy host moved the
 * same workload's mean write cost 2.06x. */
static void times_have_a_wider_default(void **state)
{
	(void)state;
	assert_float_equal(baseline_default_tolerance("ns"),
			   BASELINE_DEFAULT_TIME_TOLERANCE, 1e-9);
	assert_float_equal(baseline_default_tolerance("ms"), 1.5, 1e-9);
	assert_float_equal(baseline_default_tolerance("exits"), 0.25, 1e-9);
	assert_float_equal(baseline_default_tolerance(NULL), 0.25, 1e-9);
}

/* Gauges: a change within min_change of the metric's unit is noise. */
static void gauge_noise_floor(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	b.max_chain = 0;
	c.max_chain = 3;
	assert_int_equal(baseline_set_tolerance(&p->s, "mmio.max_chain", 1,
						false, "t"), 0);
	baseline_tolerance(&p->s, "mmio.max_chain")->min_change = 5;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.max_chain")->verdict, BL_PASS);
	assert_non_null(strstr(row(&p->res, "mmio.max_chain")->note,
			       "min_change 5"));
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	c.max_chain = 6;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.max_chain")->verdict, BL_FAIL);
}

static void empty_histograms(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	memset(b.cost_slots, 0, sizeof(b.cost_slots));
	memset(c.cost_slots, 0, sizeof(c.cost_slots));
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.write_cost_ns")->verdict, BL_PASS);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* Samples now, none then: no median to compare, not a pass. */
	spec_default(&c);
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.write_cost_ns")->verdict,
			 BL_INCOMPARABLE);
	assert_int_equal(baseline_overall(&p->res), BL_INCOMPARABLE);
}

static void few_events_are_noise(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	b.exits = 4;
	c.exits = 12;	/* 3x, but 8 events: under min_events (10) */
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "exits.total")->verdict, BL_PASS);
	assert_non_null(strstr(row(&p->res, "exits.total")->note, "min_events"));
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* From zero: infinite ratio, a regression once above the noise. */
	b.exits = 0;
	c.exits = 50;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "exits.total")->verdict, BL_FAIL);
	assert_true(row(&p->res, "exits.total")->ratio > 1e300);
}

/* A breakdown lists what happened: a reason absent from a run is 0. */
static void breakdown_entries_missing_count_zero(void **state)
{
	struct pair *p = *state;
	struct metric *m;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	build(&p->base, &b);
	build(&p->cur, &c);
	m = metric_add(&p->base.metrics, METRIC_COUNTER, "exits", "by reason",
		       BETTER_LOWER, "exits.by_reason");
	metric_label(m, "reason", "hlt");
	m->value = 500;
	m = metric_add(&p->cur.metrics, METRIC_COUNTER, "exits", "by reason",
		       BETTER_LOWER, "exits.by_reason");
	metric_label(m, "reason", "msr");
	m->value = 800;
	m = metric_add(&p->cur.metrics, METRIC_COUNTER, "exits", "by reason",
		       BETTER_LOWER, "exits.by_reason");
	metric_label(m, "reason", "eintr");
	m->value = 3;
	assert_int_equal(baseline_compare(&p->base, &p->cur, &p->s, &p->res,
					  p->error, sizeof(p->error)), 0);
	/* Gone: fewer is better, PASS. */
	assert_int_equal(row(&p->res, "exits.by_reason{reason=hlt}")->verdict,
			 BL_PASS);
	assert_float_equal(row(&p->res, "exits.by_reason{reason=hlt}")->cur,
			   0, 0);
	/* New and many: a regression from zero. */
	assert_int_equal(row(&p->res, "exits.by_reason{reason=msr}")->verdict,
			 BL_FAIL);
	/* New and a few: noise. */
	assert_int_equal(row(&p->res, "exits.by_reason{reason=eintr}")->verdict,
			 BL_PASS);
	assert_int_equal(p->res.incomparable, 0);
}

static void other_arch_or_vendor_refused(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	c.arch = "arm64";
	c.vendor = "arm64";
	assert_int_equal(compare(p, &b, &c), 0);
	assert_true(p->res.refused);
	assert_non_null(strstr(p->res.refusal, "x86_64/svm"));
	assert_non_null(strstr(p->res.refusal, "arm64/arm64"));
	assert_int_equal(p->res.count, 0);
	assert_int_equal(baseline_overall(&p->res), BL_INCOMPARABLE);
	assert_int_equal(baseline_exit_code(&p->res), KW_EXIT_UNSUPPORTED);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	spec_default(&c);
	c.vendor = "vmx";
	assert_int_equal(compare(p, &b, &c), 0);
	assert_true(p->res.refused);
}

static void unavailable_metric_refused(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	c.share_unavailable = "tracepoint mode does not see the fast bus";
	c.exits = 90000;	/* a real regression still wins */
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "mmio.fast_share");
	assert_int_equal(r->verdict, BL_INCOMPARABLE);
	assert_non_null(strstr(r->note, "unavailable in the current run"));
	assert_non_null(strstr(r->note, "fast bus"));
	assert_int_equal(baseline_overall(&p->res), BL_FAIL);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* Unavailable in the baseline, nothing else wrong: not a pass. */
	b.share_unavailable = "tracepoint mode does not see the fast bus";
	spec_default(&c);
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.fast_share")->verdict,
			 BL_INCOMPARABLE);
	assert_int_equal(baseline_overall(&p->res), BL_INCOMPARABLE);
	assert_int_equal(baseline_exit_code(&p->res), KW_EXIT_UNSUPPORTED);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* The same blind spot in both: noted, not compared, not refused. */
	c.share_unavailable = b.share_unavailable;
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "mmio.fast_share");
	assert_int_equal(r->verdict, BL_INFO);
	assert_non_null(strstr(r->note, "unavailable in both runs"));
	assert_int_equal(baseline_overall(&p->res), BL_PASS);
}

static void detector_missing_refused(void **state)
{
	struct pair *p = *state;
	const struct baseline_row *r;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	c.mmio_ran = false;
	assert_int_equal(compare(p, &b, &c), 0);
	r = row(&p->res, "mmio.emulated_writes");
	assert_int_equal(r->verdict, BL_INCOMPARABLE);
	assert_non_null(strstr(r->note, "kvm_io_bus_write cannot be watched"));
	assert_int_equal(p->res.incomparable, 4);
	assert_int_equal(baseline_overall(&p->res), BL_INCOMPARABLE);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* The other way round: new figures are shown, not judged. */
	b.mmio_ran = false;
	c.mmio_ran = true;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "mmio.fast_share")->verdict, BL_NEW);
	assert_int_equal(baseline_overall(&p->res), BL_PASS);
}

static void tolerances_override(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	c.exits = 30000 * 1.4;
	c.fast_share = 0.1;
	assert_int_equal(baseline_set_tolerance(&p->s, "exits.total", 0.5,
						false, "rules.yaml:4"), 0);
	assert_int_equal(baseline_set_tolerance(&p->s, "mmio.*", 0, true,
						"rules.yaml:5"), 0);
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "exits.total")->verdict, BL_PASS);
	assert_float_equal(row(&p->res, "exits.total")->allowed, 1.5, 1e-9);
	assert_int_equal(row(&p->res, "mmio.fast_share")->verdict, BL_INFO);
	assert_non_null(strstr(row(&p->res, "mmio.fast_share")->note,
			       "rules.yaml:5"));
	/* by_reason keeps the default (only exits.total was changed). */
	assert_float_equal(row(&p->res, "exits.by_reason{reason=npf}")->tolerance,
			   0.25, 1e-9);
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* One label set of a metric; a noise floor of its own. */
	c.exits = 30000 * 3;
	assert_int_equal(baseline_set_tolerance(&p->s,
		"exits.by_reason{reason=npf}", 0, true, "rules.yaml:6"), 0);
	assert_int_equal(baseline_set_tolerance(&p->s, "exits.total", 0.1,
						false, "rules.yaml:7"), 0);
	baseline_tolerance(&p->s, "exits.total")->min_events = 1e6;
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(row(&p->res, "exits.by_reason{reason=npf}")->verdict,
			 BL_INFO);
	assert_int_equal(row(&p->res, "exits.total")->verdict, BL_PASS);
	assert_non_null(strstr(row(&p->res, "exits.total")->note,
			       "min_events 1e+06"));
}

static void tolerance_for_no_metric_is_an_error(void **state)
{
	struct pair *p = *state;
	struct run_spec b, c;

	spec_default(&b);
	spec_default(&c);
	assert_int_equal(baseline_set_tolerance(&p->s, "exits.totl", 0.5,
						false, "ci.yaml:7"), 0);
	assert_int_equal(compare(p, &b, &c), -EINVAL);
	assert_non_null(strstr(p->error, "ci.yaml:7"));
	assert_non_null(strstr(p->error, "exits.totl"));
	record_free(&p->base);
	record_free(&p->cur);
	baseline_settings_free(&p->s);
	baseline_settings_init(&p->s);

	/* Its detector ran in neither run: a note, not an error, so one
	 * rules file serves arches where a detector does not apply. */
	b.mmio_ran = c.mmio_ran = false;
	assert_int_equal(baseline_set_tolerance(&p->s, "mmio.fast_share", 0.5,
						false, "ci.yaml:9"), 0);
	assert_int_equal(compare(p, &b, &c), 0);
	assert_int_equal(p->res.nnotes, 1);
	assert_non_null(strstr(p->res.notes[0], "ci.yaml:9"));
	assert_non_null(strstr(p->res.notes[0], "ran in neither run"));
	assert_non_null(strstr(p->res.notes[0], "kvm_io_bus_write"));
	baseline_result_free(&p->res);
	record_free(&p->base);
	record_free(&p->cur);
	/* Ran in one of them: still a typo when no metric matches. */
	c.mmio_ran = true;
	assert_int_equal(baseline_set_tolerance(&p->s, "mmio.fast_shar", 0.5,
						false, "ci.yaml:10"), 0);
	assert_int_equal(compare(p, &b, &c), -EINVAL);
	assert_non_null(strstr(p->error, "mmio.fast_shar'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(same_run_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(more_exits_per_second_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(normalised_by_own_work, setup, teardown),
		cmocka_unit_test_setup_teardown(lower_share_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(histogram_outliers_are_not_a_regression,
						setup, teardown),
		cmocka_unit_test_setup_teardown(gauge_and_histogram_regressions, setup, teardown),
		cmocka_unit_test_setup_teardown(teardown_times_have_a_noise_floor,
						setup, teardown),
		cmocka_unit_test_setup_teardown(teardown_durations_by_their_mean,
						setup, teardown),
		cmocka_unit_test_setup_teardown(another_basis_is_incomparable,
						setup, teardown),
		cmocka_unit_test_setup_teardown(informational_rows_show_their_figures,
						setup, teardown),
		cmocka_unit_test_setup_teardown(gauge_noise_floor, setup, teardown),
		cmocka_unit_test(times_have_a_wider_default),
		cmocka_unit_test_setup_teardown(empty_histograms, setup, teardown),
		cmocka_unit_test_setup_teardown(few_events_are_noise, setup, teardown),
		cmocka_unit_test_setup_teardown(breakdown_entries_missing_count_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(other_arch_or_vendor_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(unavailable_metric_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(detector_missing_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(tolerances_override, setup, teardown),
		cmocka_unit_test_setup_teardown(tolerance_for_no_metric_is_an_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
