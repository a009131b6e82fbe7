// SPDX-License-Identifier: GPL-2.0
/*
 * check --baseline: two records compared metric by metric. Each test
 * builds a baseline and a current run the way detectors fill metric sets,
 * changes one thing, and asserts the verdict of that metric and overall.
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

#include "gate/baseline.h"
#include "core/kvmwatch.h"

/* A run of `kvmload mmio`: totals, one per-VM figure, a histogram. */
struct run_spec {
	const char *arch, *vendor;
	double duration;
	bool workload;
	double exits, writes, emulated, fast_share, max_chain;
	uint32_t cost_slots[HIST_SLOTS];
	const char *share_unavailable;
	bool mmio_ran;
	double stretch_ms;	/* > 0: a teardown.max_stretch_ms gauge */
	/* Any: a teardown.duration_ns histogram, compared by td_stat. */
	uint32_t teardown_slots[HIST_SLOTS];
	enum metric_stat td_stat;
	const char *emulated_per;	/* NULL: "mmio.writes" */
};

static void spec_default(struct run_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->arch = "x86_64";
	s->vendor = "svm";
	s->duration = 10;
	s->exits = 30000;
	s->writes = 3000;
	s->emulated = 2000;
	s->fast_share = 0.6;
	s->max_chain = 2;
	s->cost_slots[10] = 900;	/* ~768 ns each */
	s->cost_slots[11] = 100;
	s->mmio_ran = true;
	s->td_stat = METRIC_STAT_MEAN;
}

static void detector(struct record *r, const char *name, bool ran,
		     const char *modes, const char *why)
{
	struct record_detector *d = &r->detectors[r->ndetectors++];

	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->status, sizeof(d->status), "%s", ran ? "available" :
		 "unavailable");
	snprintf(d->modes, sizeof(d->modes), "%s", modes);
	d->ran = ran;
	snprintf(d->why, sizeof(d->why), "%s", why ? why : "");
}

static bool any_samples(const uint32_t *slots)
{
	int i;

	for (i = 0; i < HIST_SLOTS; i++)
		if (slots[i])
			return true;
	return false;
}

static void build(struct record *r, const struct run_spec *s)
{
	struct metric *m;

	memset(r, 0, sizeof(*r));
	snprintf(r->version, sizeof(r->version), "test");
	snprintf(r->release, sizeof(r->release), "6.12.57+deb13-amd64");
	snprintf(r->arch, sizeof(r->arch), "%s", s->arch);
	snprintf(r->vendor, sizeof(r->vendor), "%s", s->vendor);
	r->duration_sec = s->duration;
	r->command_exit = -1;
	if (s->workload) {
		r->command = json_pack("[s, s]", "kvmload", "mmio");
		r->command_exit = 0;
	}
	detector(r, "exits", true, "tracepoint", NULL);
	detector(r, "mmio", s->mmio_ran, s->mmio_ran ? "fentry" : "none",
		 s->mmio_ran ? NULL : "kvm_io_bus_write cannot be watched");

	m = metric_add(&r->metrics, METRIC_COUNTER, "exits", "guest exits",
		       BETTER_LOWER, "exits.total");
	m->value = s->exits;
	/* Per VM: context only, never compared (pids differ). */
	m = metric_add(&r->metrics, METRIC_COUNTER, "exits", "guest exits",
		       BETTER_LOWER, "exits.total");
	metric_label(m, "vm", "%d", 1234);
	m->value = s->exits * 7;
	m = metric_add(&r->metrics, METRIC_COUNTER, "exits", "by reason",
		       BETTER_LOWER, "exits.by_reason");
	metric_label(m, "reason", "npf");
	m->value = s->exits / 2;
	if (s->stretch_ms > 0) {
		m = metric_add(&r->metrics, METRIC_GAUGE, "ms", "longest stretch",
			       BETTER_LOWER, "teardown.max_stretch_ms");
		m->value = s->stretch_ms;
	}
	if (any_samples(s->teardown_slots)) {
		m = metric_add(&r->metrics, METRIC_HISTOGRAM, "ns",
			       "teardown durations", BETTER_LOWER,
			       "teardown.duration_ns");
		metric_set_hist(m, s->teardown_slots, -1);
		m->stat = s->td_stat;
	}
	if (!s->mmio_ran)
		return;
	m = metric_add(&r->metrics, METRIC_COUNTER, "writes", "MMIO writes",
		       BETTER_NEITHER, "mmio.writes");
	m->value = s->writes;
	m = metric_add(&r->metrics, METRIC_COUNTER, "writes", "emulated",
		       BETTER_LOWER, "mmio.emulated_writes");
	m->per = s->emulated_per ? s->emulated_per : "mmio.writes";
	m->value = s->emulated;
	m = metric_add(&r->metrics, METRIC_GAUGE, "ratio", "fast share",
		       BETTER_HIGHER, "mmio.fast_share");
	m->value = s->fast_share;
	m->unavailable = s->share_unavailable;
	m = metric_add(&r->metrics, METRIC_GAUGE, "callbacks", "longest chain",
		       BETTER_LOWER, "mmio.max_chain");
	m->value = s->max_chain;
	m = metric_add(&r->metrics, METRIC_HISTOGRAM, "ns", "cost per write",
		       BETTER_LOWER, "mmio.write_cost_ns");
	metric_set_hist(m, s->cost_slots, -1);
}

static const struct baseline_row *row(const struct baseline_result *r,
				      const char *metric)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (!strcmp(r->rows[i].metric, metric))
			return &r->rows[i];
	fail_msg("no row for %s", metric);
	return NULL;
}

struct pair {
	struct record base, cur;
	struct baseline_settings s;
	struct baseline_result res;
	char error[256];
};

static int compare(struct pair *p, const struct run_spec *b,
		   const struct run_spec *c)
{
	build(&p->base, b);
	build(&p->cur, c);
	return baseline_compare(&p->base, &p->cur, &p->s, &p->res, p->error,
				sizeof(p->error));
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	baseline_settings_init(&p->s);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	baseline_result_free(&p->res);
	baseline_settings_free(&p->s);
	record_free(&p->base);
	record_free(&p->cur);
	free(p);
	return 0;
}

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
		{ RECORD_HEAD METRIC_HEAD("mmio.write_cost_ns", "histogram")
		  "\"value\": 1, \"labels\": {}, \"per_entity\": false, "
		  "\"buckets\": [1], \"sum\": -3}]}",
		  "sum of histogram mmio.write_cost_ns is negative" },
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
		cmocka_unit_test(tolerance_parsing),
		cmocka_unit_test_setup_teardown(record_round_trip, setup, teardown),
		cmocka_unit_test(bad_records_named),
		cmocka_unit_test(atomic_write),
		cmocka_unit_test_setup_teardown(junit_lists_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
