// SPDX-License-Identifier: GPL-2.0
/*
 * --mode: the attach layer's limit on the strongest mode, as the timer
 * detector's points see it (a fake tracefs; kallsyms is the host's, so
 * the assertions hold whether or not it has the KVM functions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/attach.h"

static char tracefs[64];

static void make_tracepoint(const char *name)
{
	char path[256];
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/events/%s", tracefs, name);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	mkdir(path, 0700);
	strcat(path, "/id");
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static int setup(void **state)
{
	char path[128];

	(void)state;
	snprintf(tracefs, sizeof(tracefs), "/tmp/kvmwatch-test-XXXXXX");
	if (!mkdtemp(tracefs))
		return -1;
	snprintf(path, sizeof(path), "%s/events", tracefs);
	mkdir(path, 0700);
	make_tracepoint("timer/hrtimer_expire_entry");
	make_tracepoint("timer/hrtimer_expire_exit");
	make_tracepoint("timer/hrtimer_start");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tracefs);
	return system(cmd) ? -1 : 0;
}

static void fake_caps(struct kernel_caps *caps, bool kprobes)
{
	memset(caps, 0, sizeof(*caps));
	caps->arch = ARCH_X86_64;
	caps->vendor = VENDOR_SVM;
	caps->kvm_loaded = true;
	caps->tracefs = true;
	snprintf(caps->tracefs_path, sizeof(caps->tracefs_path), "%s", tracefs);
	caps->kprobes = kprobes;
}

static const struct point_state *find(const struct attach_plan *plan,
				      const char *name)
{
	size_t i;

	for (i = 0; i < plan->count; i++)
		if (!strcmp(plan->points[i].point->name, name))
			return &plan->points[i];
	fail_msg("no point %s in the plan", name);
	return NULL;
}

static void tracepoint_limit_skips_functions(void **state)
{
	const struct point_state *fn, *adv, *exit;
	struct kernel_caps caps;
	struct attach_plan plan;

	(void)state;
	fake_caps(&caps, true);
	attach_mode_limit = ATTACH_TRACEPOINT;
	assert_int_equal(attach_plan_resolve(&plan, &caps, 1u << DET_TIMER), 0);
	attach_mode_limit = ATTACH_FENTRY;
	fn = find(&plan, "apic_timer_fn");
	assert_int_equal(fn->mode, ATTACH_TRACEPOINT);
	assert_true(fn->fentry_why[0] && fn->kprobe_why[0]);
	if (fn->func_found) {
		assert_string_equal(fn->fentry_why, "not tried: --mode tracepoint");
		assert_string_equal(fn->kprobe_why, "not tried: --mode tracepoint");
	}
	adv = find(&plan, "advance_periodic");
	assert_int_equal(adv->mode, ATTACH_NONE);
	assert_true(point_is_degraded(adv));
	exit = find(&plan, "hrtimer_expire_exit");
	assert_int_equal(exit->mode, ATTACH_TRACEPOINT);
	assert_int_equal(attach_plan_status(&plan, DET_TIMER), DETECTOR_DEGRADED);
	/* VMX-only points are not applicable on SVM. */
	assert_false(find(&plan, "switch_to_sw_timer")->applicable);
}

static void kprobe_limit_skips_fentry_only(void **state)
{
	const struct point_state *fn;
	struct kernel_caps caps;
	struct attach_plan plan;

	(void)state;
	fake_caps(&caps, true);
	attach_mode_limit = ATTACH_KPROBE;
	assert_int_equal(attach_plan_resolve(&plan, &caps, 1u << DET_TIMER), 0);
	attach_mode_limit = ATTACH_FENTRY;
	fn = find(&plan, "apic_timer_fn");
	if (fn->func_found) {
		assert_int_equal(fn->mode, ATTACH_KPROBE);
		assert_string_equal(fn->fentry_why, "not tried: --mode kprobe");
		assert_string_equal(fn->kprobe_why, "");
	} else {
		assert_int_equal(fn->mode, ATTACH_TRACEPOINT);
	}
}

static void mode_names_parse(void **state)
{
	enum attach_mode mode;

	(void)state;
	assert_int_equal(parse_attach_mode("tracepoint", &mode), 0);
	assert_int_equal(mode, ATTACH_TRACEPOINT);
	assert_int_equal(parse_attach_mode("kprobe", &mode), 0);
	assert_int_equal(mode, ATTACH_KPROBE);
	assert_int_equal(parse_attach_mode("fentry", &mode), 0);
	assert_int_equal(mode, ATTACH_FENTRY);
	assert_int_not_equal(parse_attach_mode("none", &mode), 0);
	assert_int_not_equal(parse_attach_mode("", &mode), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tracepoint_limit_skips_functions),
		cmocka_unit_test(kprobe_limit_skips_fentry_only),
		cmocka_unit_test(mode_names_parse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
