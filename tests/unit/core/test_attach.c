// SPDX-License-Identifier: GPL-2.0
/* Detector status from the chosen modes, and how it is reported. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/attach.h"
#include "views/probe_report.h"

static const struct probe_point *find_point(const char *name)
{
	const struct probe_point *p = probe_point_find(name);

	if (!p)
		fail_msg("no probe point %s", name);
	return p;
}

static void add(struct attach_plan *plan, const char *name,
		enum attach_mode mode, bool applicable)
{
	struct point_state *s = &plan->points[plan->count++];

	memset(s, 0, sizeof(*s));
	s->point = find_point(name);
	s->applicable = applicable;
	s->mode = mode;
}

static void exits_plan(struct attach_plan *plan, enum attach_mode exit_mode,
		       enum attach_mode vcpu_run_mode)
{
	memset(plan, 0, sizeof(*plan));
	add(plan, "kvm_exit", exit_mode, true);
	add(plan, "kvm_entry", ATTACH_TRACEPOINT, true);
	add(plan, "kvm_userspace_exit", ATTACH_TRACEPOINT, true);
	add(plan, "vcpu_run", vcpu_run_mode, true);
}

static void every_point_has_a_form(void **state)
{
	size_t i, j;

	(void)state;
	assert_true(probe_point_count() > 0);
	for (i = 0; i < probe_point_count(); i++) {
		const struct probe_point *p = probe_point_at(i);

		assert_true(p->func || p->tracepoint);
		assert_true(p->arches);
		/* Something that can be lost must say what. */
		assert_true(p->required || p->lost);
		for (j = 0; j < i; j++)
			assert_string_not_equal(p->name, probe_point_at(j)->name);
	}
}

static void all_best_modes_is_available(void **state)
{
	struct attach_plan plan;

	(void)state;
	exits_plan(&plan, ATTACH_TRACEPOINT, ATTACH_FENTRY);
	assert_int_equal(attach_plan_status(&plan, DET_EXITS), DETECTOR_AVAILABLE);
	exits_plan(&plan, ATTACH_TRACEPOINT, ATTACH_KPROBE);
	assert_int_equal(attach_plan_status(&plan, DET_EXITS), DETECTOR_AVAILABLE);
}

static void function_point_lost_is_degraded(void **state)
{
	struct attach_plan plan;

	(void)state;
	exits_plan(&plan, ATTACH_TRACEPOINT, ATTACH_NONE);
	assert_true(point_is_degraded(&plan.points[3]));
	assert_int_equal(attach_plan_status(&plan, DET_EXITS), DETECTOR_DEGRADED);
}

static void required_point_missing_is_unavailable(void **state)
{
	struct attach_plan plan;

	(void)state;
	exits_plan(&plan, ATTACH_NONE, ATTACH_FENTRY);
	assert_int_equal(attach_plan_status(&plan, DET_EXITS),
			 DETECTOR_UNAVAILABLE);
	/* A failure at attach time counts the same. */
	exits_plan(&plan, ATTACH_TRACEPOINT, ATTACH_FENTRY);
	attach_plan_fail_detector(&plan, DET_EXITS, "verifier said no");
	assert_int_equal(attach_plan_status(&plan, DET_EXITS),
			 DETECTOR_UNAVAILABLE);
	assert_string_equal(plan.points[0].attach_error, "verifier said no");
}

static void inapplicable_points_do_not_count(void **state)
{
	struct attach_plan plan;

	(void)state;
	exits_plan(&plan, ATTACH_TRACEPOINT, ATTACH_NONE);
	plan.points[3].applicable = false;	/* vcpu_run on x86 */
	assert_int_equal(attach_plan_status(&plan, DET_EXITS), DETECTOR_AVAILABLE);
	memset(&plan, 0, sizeof(plan));
	add(&plan, "apic_timer_fn", ATTACH_NONE, false);
	assert_int_equal(attach_plan_status(&plan, DET_TIMER),
			 detector_implemented(DET_TIMER) ?
			 DETECTOR_NOT_APPLICABLE : DETECTOR_NOT_IMPLEMENTED);
}

static void json_says_mode_and_what_is_lost(void **state)
{
	struct attach_plan plan;
	json_t *det, *points, *vcpu_run;

	(void)state;
	exits_plan(&plan, ATTACH_TRACEPOINT, ATTACH_NONE);
	strcpy(plan.points[3].fentry_why, "the kernel refuses fentry programs");
	det = json_detector(&plan, DET_EXITS);
	assert_string_equal(json_string_value(json_object_get(det, "status")),
			    "degraded");
	assert_int_equal(json_array_size(json_object_get(det, "lost")), 1);
	points = json_object_get(det, "points");
	assert_int_equal(json_array_size(points), 4);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(points, 0), "mode")), "tracepoint");
	vcpu_run = json_array_get(points, 3);
	assert_string_equal(json_string_value(json_object_get(vcpu_run, "mode")),
			    "none");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(vcpu_run, "why_not"), "fentry")),
		"the kernel refuses fentry programs");
	assert_non_null(json_string_value(json_object_get(vcpu_run, "lost")));
	json_decref(det);
}

static void companion_idles_with_a_stronger_partner(void **state)
{
	struct attach_plan plan = { 0 };

	(void)state;
	add(&plan, "apic_timer_fn", ATTACH_FENTRY, true);
	add(&plan, "hrtimer_expire_exit", ATTACH_TRACEPOINT, true);
	attach_plan_drop_unneeded(&plan);
	assert_int_equal(plan.points[1].mode, ATTACH_NONE);
	assert_true(plan.points[1].unneeded);
	assert_false(point_is_degraded(&plan.points[1]));
	assert_non_null(strstr(plan.points[1].tracepoint_why, "fentry"));

	memset(&plan, 0, sizeof(plan));
	add(&plan, "apic_timer_fn", ATTACH_TRACEPOINT, true);
	add(&plan, "hrtimer_expire_exit", ATTACH_TRACEPOINT, true);
	attach_plan_drop_unneeded(&plan);
	assert_int_equal(plan.points[1].mode, ATTACH_TRACEPOINT);
	assert_false(plan.points[1].unneeded);
}

static void opt_in_point_is_off_until_named(void **state)
{
	struct attach_plan plan = { 0 };
	json_t *det, *walker;

	(void)state;
	assert_true(probe_point_count() <= 64);	/* attach_plan.points[] */
	assert_non_null(find_point("stage2_free_walker")->opt_in);
	assert_int_equal(points_opt_in("no_such_point"), -ENOENT);
	assert_int_equal(points_opt_in("kvm_exit"), -EINVAL);

	/* Left off: not degraded (the user's choice), but its figures are
	 * said to be lost, with how to turn it on. */
	add(&plan, "destroy_vm", ATTACH_FENTRY, true);
	add(&plan, "stage2_free_walker", ATTACH_NONE, true);
	plan.points[1].opted_out = true;
	assert_false(point_is_degraded(&plan.points[1]));
	assert_true(point_loses(&plan.points[1]));
	assert_int_equal(attach_plan_status(&plan, DET_TEARDOWN),
			 detector_implemented(DET_TEARDOWN) ?
			 DETECTOR_AVAILABLE : DETECTOR_NOT_IMPLEMENTED);
	det = json_detector(&plan, DET_TEARDOWN);
	walker = json_array_get(json_object_get(det, "points"), 1);
	assert_true(json_is_true(json_object_get(walker, "opt_in")));
	assert_non_null(json_string_value(json_object_get(
		json_object_get(walker, "why_not"), "opt_in")));
	assert_int_equal(json_array_size(json_object_get(det, "lost")), 1);
	json_decref(det);

	assert_false(point_opted_in(find_point("stage2_free_walker")));
	assert_int_equal(points_opt_in("stage2_free_walker"), 0);
	assert_true(point_opted_in(find_point("stage2_free_walker")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_point_has_a_form),
		cmocka_unit_test(all_best_modes_is_available),
		cmocka_unit_test(function_point_lost_is_degraded),
		cmocka_unit_test(required_point_missing_is_unavailable),
		cmocka_unit_test(inapplicable_points_do_not_count),
		cmocka_unit_test(json_says_mode_and_what_is_lost),
		cmocka_unit_test(companion_idles_with_a_stronger_partner),
		cmocka_unit_test(opt_in_point_is_off_until_named),
	};

	return cmocka_run_group_tests_name("attach", tests, NULL, NULL);
}
