// SPDX-License-Identifier: GPL-2.0
/* The verdict engine: thresholds, PASS/FAIL/SKIP, JUnit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gate/check.h"
#include "detectors/timer/timer_model.h"

static void every_rule_is_complete(void **state)
{
	size_t i, j;

	(void)state;
	assert_true(check_rule_count() > 0);
	assert_true(check_rule_count() <= CHECK_MAX_RULES);
	j = 0;
	while (check_groups()[j]) {
		/* A group is offered only with its detector. */
		assert_true(detector_implemented(check_groups()[j]->detector));
		assert_ptr_equal(check_group_find(check_groups()[j]->name),
				 check_groups()[j]);
		j++;
	}
	assert_true(j <= CHECK_MAX_GROUPS);
	assert_null(check_rule_at(check_rule_count()));
	for (i = 0; i < check_rule_count(); i++) {
		const struct check_rule *r = check_rule_at(i);

		assert_non_null(r->measure);
		assert_true(strlen(r->description) && strlen(r->unit));
		assert_true(r->default_threshold >= 0);
		assert_non_null(check_group_find(r->group));
		for (j = 0; j < i; j++)
			assert_string_not_equal(r->name, check_rule_at(j)->name);
		assert_ptr_equal(check_rule_find(r->name), r);
	}
}

static void thresholds_parse(void **state)
{
	const struct check_rule *rule;
	char error[160];
	double v;

	(void)state;
	assert_int_equal(check_parse_threshold("timer.max_chain=5", &rule, &v,
					       error, sizeof(error)), 0);
	assert_string_equal(rule->name, "timer.max_chain");
	assert_true(v == 5);
	assert_int_equal(check_parse_threshold("timer.chain_us=0.5", &rule, &v,
					       error, sizeof(error)), 0);
	assert_true(v == 0.5);
	assert_int_not_equal(check_parse_threshold("timer.nope=1", &rule, &v,
						   error, sizeof(error)), 0);
	assert_non_null(strstr(error, "no rule 'timer.nope'"));
	assert_int_not_equal(check_parse_threshold("timer.max_chain", &rule, &v,
						   error, sizeof(error)), 0);
	assert_non_null(strstr(error, "RULE=VALUE"));
	assert_int_not_equal(check_parse_threshold("timer.max_chain=", &rule,
						   &v, error, sizeof(error)), 0);
	assert_int_not_equal(check_parse_threshold("timer.max_chain=2x", &rule,
						   &v, error, sizeof(error)), 0);
	assert_int_not_equal(check_parse_threshold("timer.max_chain=-1", &rule,
						   &v, error, sizeof(error)), 0);
	assert_non_null(strstr(error, "non-negative"));
	assert_int_not_equal(check_parse_threshold("=3", &rule, &v, error,
						   sizeof(error)), 0);
}

static struct timer_vcpu_view one_vcpu = {
	.pid = 10, .vcpu_id = 2, .tid = 11, .mode = "periodic",
	.period_ns = 1000000, .callbacks = 100, .longest_chain = 2,
	.longest_chain_ns = 40000, .longest_chain_at = 5000000000ull,
	.longest_chain_lateness_ns = 3000000,
};

static void threshold_is_inclusive(void **state)
{
	struct timer_view view = { .vcpus = &one_vcpu, .nvcpus = 1,
				    .callbacks = 100 };
	struct check_data d = { .start_mono_ns = 1000000000ull };
	const struct check_rule *rule = check_rule_find("timer.max_chain");
	struct rule_result r;

	(void)state;
	d.views[DET_TIMER] = &view;
	check_evaluate(rule, 2, &d, &r);
	assert_int_equal(r.verdict, VERDICT_PASS);
	assert_string_equal(r.evidence, "");
	check_evaluate(rule, 1, &d, &r);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	assert_true(r.value == 2);
	assert_non_null(strstr(r.evidence, "VM pid 10 vCPU 2 (thread 11)"));
	assert_non_null(strstr(r.evidence, "+4.00 s after the start"));
	check_evaluate(check_rule_find("timer.chain_us"), 39, &d, &r);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	assert_true(r.value == 40);
}

static void missing_data_skips(void **state)
{
	struct timer_view view = { .vcpus = &one_vcpu, .nvcpus = 1,
				    .callbacks = 100 };
	struct check_data d = { 0 };
	struct attach_plan plan = { 0 };
	struct rule_result r[3];
	size_t i;

	(void)state;
	d.why[DET_TIMER] = "no x86 LAPIC timer on arm64";
	/* Tracepoint mode without hrtimer_expire_exit: re-arms unseen. */
	for (i = 0; i < probe_point_count(); i++) {
		const struct probe_point *p = probe_point_at(i);

		if (p->detector != DET_TIMER ||
		    (strcmp(p->name, "apic_timer_fn") &&
		     strcmp(p->name, "hrtimer_expire_exit")))
			continue;
		plan.points[plan.count++] = (struct point_state){
			.point = p, .applicable = true,
			.mode = strcmp(p->name, "apic_timer_fn") ?
				ATTACH_NONE : ATTACH_TRACEPOINT,
		};
	}
	assert_int_equal(plan.count, 2);
	check_evaluate(check_rule_find("timer.max_chain"), 2, &d, &r[0]);
	assert_int_equal(r[0].verdict, VERDICT_SKIP);
	assert_string_equal(r[0].evidence, "no x86 LAPIC timer on arm64");
	d.views[DET_TIMER] = &view;
	d.plan = &plan;
	check_evaluate(check_rule_find("timer.max_chain"), 2, &d, &r[1]);
	assert_int_equal(r[1].verdict, VERDICT_SKIP);
	assert_non_null(strstr(r[1].evidence, "re-arming is not seen"));
	/* period 0 needs no exit probe */
	check_evaluate(check_rule_find("timer.period0"), 0, &d, &r[2]);
	assert_int_equal(r[2].verdict, VERDICT_PASS);
	check_evaluate(check_rule_find("kernel.hardlockups"), 0, &d, &r[0]);
	assert_int_equal(r[0].verdict, VERDICT_SKIP);
	assert_non_null(strstr(r[0].evidence, "/sys/kernel/hardlockup_count"));
	d.counters[KCOUNT_HARDLOCKUP] = (struct counter_pair){ true, 3, 4 };
	check_evaluate(check_rule_find("kernel.hardlockups"), 0, &d, &r[0]);
	assert_int_equal(r[0].verdict, VERDICT_FAIL);
	assert_true(r[0].value == 1);
	assert_non_null(strstr(r[0].evidence, "from 3 to 4"));
}

static void overall_verdict(void **state)
{
	struct rule_result r[3] = {
		{ .verdict = VERDICT_SKIP }, { .verdict = VERDICT_PASS },
		{ .verdict = VERDICT_SKIP },
	};

	(void)state;
	assert_int_equal(check_overall(r, 3), VERDICT_PASS);
	r[1].verdict = VERDICT_SKIP;
	assert_int_equal(check_overall(r, 3), VERDICT_SKIP);
	/* A finding judges nothing: no PASS from it alone. */
	r[0].verdict = VERDICT_INFO;
	assert_int_equal(check_overall(r, 3), VERDICT_SKIP);
	/* Nor from a passed host fact (no lockup on the host). */
	r[1] = (struct rule_result){ .verdict = VERDICT_PASS,
				     .host_fact = true };
	assert_int_equal(check_overall(r, 3), VERDICT_SKIP);
	/* A failed one is a failure. */
	r[1].verdict = VERDICT_FAIL;
	assert_int_equal(check_overall(r, 3), VERDICT_FAIL);
	r[1] = (struct rule_result){ .verdict = VERDICT_PASS };
	r[2].verdict = VERDICT_FAIL;
	assert_int_equal(check_overall(r, 3), VERDICT_FAIL);
	assert_int_equal(check_overall(r, 0), VERDICT_SKIP);
}

static void exit_codes(void **state)
{
	(void)state;
	assert_int_equal(check_exit_code(VERDICT_PASS, false, false), 0);
	assert_int_equal(check_exit_code(VERDICT_FAIL, false, false), 1);
	assert_int_equal(check_exit_code(VERDICT_SKIP, false, false), 6);
	/* A failed workload is no pass, and no "nothing judged" either. */
	assert_int_equal(check_exit_code(VERDICT_PASS, true, false), 7);
	assert_int_equal(check_exit_code(VERDICT_SKIP, true, false), 7);
	assert_int_equal(check_exit_code(VERDICT_ERROR, true, false), 7);
	/* What failed was seen: that is the stronger news. */
	assert_int_equal(check_exit_code(VERDICT_FAIL, true, false), 1);
	/* --allow-command-failure: judged as it ran. */
	assert_int_equal(check_exit_code(VERDICT_PASS, true, true), 0);
	assert_int_equal(check_exit_code(VERDICT_SKIP, true, true), 6);
	assert_string_equal(rule_verdict_name(VERDICT_ERROR), "ERROR");
}

static void idle_timers_judge_nothing(void **state)
{
	struct timer_vcpu_view idle = { .pid = 10, .vcpu_id = 0,
					.mode = "periodic" };
	struct timer_view view = { .vcpus = &idle, .nvcpus = 1 };
	struct check_data d = { 0 };
	struct rule_result r[KCOUNT_COUNT + 3];
	size_t i, n = 0;

	(void)state;
	d.views[DET_TIMER] = &view;
	d.counters[KCOUNT_HARDLOCKUP] = (struct counter_pair){ true, 0, 0 };
	for (i = 0; i < check_rule_count(); i++)
		if (!strcmp(check_rule_at(i)->group, "lockup"))
			check_evaluate(check_rule_at(i), 1e9, &d, &r[n++]);
	assert_true(n >= 4);
	for (i = 0; i < n; i++)
		if (strncmp(r[i].rule->name, "kernel.", 7)) {
			assert_int_equal(r[i].verdict, VERDICT_SKIP);
			assert_non_null(strstr(r[i].evidence,
					       "no vCPU LAPIC timer fired"));
		}
	/* hardlockup_count stayed at 0: a host fact, passed, no evidence. */
	assert_int_equal(check_overall(r, n), VERDICT_SKIP);
	/* One lockup during the run fails the check all the same. */
	d.counters[KCOUNT_HARDLOCKUP].after = 1;
	for (i = 0, n = 0; i < check_rule_count(); i++)
		if (!strcmp(check_rule_at(i)->group, "lockup"))
			check_evaluate(check_rule_at(i), 0, &d, &r[n++]);
	assert_int_equal(check_overall(r, n), VERDICT_FAIL);
}

static void junit_lists_every_rule(void **state)
{
	struct rule_result r[3] = {
		{ .rule = check_rule_find("timer.max_chain"), .threshold = 2,
		  .value = 3000, .verdict = VERDICT_FAIL,
		  .evidence = "VM pid 1 <vCPU> & co" },
		{ .rule = check_rule_find("kernel.rcu_stalls"),
		  .verdict = VERDICT_SKIP, .evidence = "absent" },
		{ .rule = check_rule_find("timer.period0"),
		  .verdict = VERDICT_INFO, .evidence = "found this" },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(check_write_junit(f, r, 3, 1.5, NULL), 0);
	fclose(f);
	assert_non_null(strstr(buf, "tests=\"3\" failures=\"1\" skipped=\"1\" errors=\"0\""));
	assert_null(strstr(buf, "kvmwatch.workload"));
	assert_non_null(strstr(buf, "threshold &lt;= 0; INFO: found this</system-out>"));
	assert_non_null(strstr(buf, "name=\"timer.max_chain\""));
	assert_non_null(strstr(buf, "VM pid 1 &lt;vCPU&gt; &amp; co"));
	assert_non_null(strstr(buf, "measured 3000 callbacks, threshold &lt;= 2"));
	assert_non_null(strstr(buf, "<skipped message=\"absent\"/>"));
	free(buf);
	/* A failed workload: its own error, counted. */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(check_write_junit(f, r, 3, 1.5,
					   "kvmload exited with status 3"), 0);
	fclose(f);
	assert_non_null(strstr(buf, "tests=\"4\" failures=\"1\" skipped=\"1\" errors=\"1\""));
	assert_non_null(strstr(buf, "classname=\"kvmwatch.workload\" name=\"command\""));
	assert_non_null(strstr(buf, "<error message=\"kvmload exited with status 3\"/>"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_rule_is_complete),
		cmocka_unit_test(thresholds_parse),
		cmocka_unit_test(threshold_is_inclusive),
		cmocka_unit_test(missing_data_skips),
		cmocka_unit_test(overall_verdict),
		cmocka_unit_test(exit_codes),
		cmocka_unit_test(idle_timers_judge_nothing),
		cmocka_unit_test(junit_lists_every_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
