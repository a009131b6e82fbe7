// SPDX-License-Identifier: GPL-2.0
/*
 * The check --pmu rules on synthetic vCPU runs (pmu_sim.h): a host
 * without a vPMU gives SKIPs, never a PASS or FAIL.
 */
#include "pmu_sim.h"

static enum rule_verdict evaluate(const char *rule, const struct pmu_view *v,
				  double threshold, struct rule_result *res)
{
	struct check_data d = { .duration_sec = 1.0 };
	const struct check_rule *r = check_rule_find(rule);

	assert_non_null(r);
	d.views[DET_PMU] = v;
	if (!v)
		d.why[DET_PMU] = "pmu: not started";
	check_evaluate(r, threshold < 0 ? r->default_threshold : threshold,
		       &d, res);
	return res->verdict;
}

static void rules_registered(void **state)
{
	const struct check_rule_group *g = check_group_find("pmu");
	size_t i;

	(void)state;
	assert_non_null(g);
	assert_int_equal(g->detector, DET_PMU);
	assert_int_equal(g->count, 5);
	for (i = 0; i < g->count; i++)
		assert_string_equal(g->rules[i].group, "pmu");
}

static void rules_skip_without_vpmu(void **state)
{
	static const char *const rules[] = {
		"pmu.switch_cost_ns", "pmu.switch_per_exit",
		"pmu.reg_exits_per_s", "pmu.hwvirt_sw_loads",
		"pmu.hwvirt_reg_exits",
	};
	struct rule_result res;
	struct pmu_sample sample;
	struct pmu_view view;
	struct sim s;
	size_t i;

	(void)state;
	/* Even a threshold of 0 that 4000 exits would break: no verdict. */
	sim_x86_off(&s, 1000);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		assert_int_equal(evaluate(rules[i], &view, 0, &res), VERDICT_SKIP);
		assert_non_null(strstr(res.evidence, "no vPMU"));
		assert_non_null(strstr(res.evidence, "kvm.enable_pmu is N"));
		assert_non_null(strstr(res.evidence, "8000 guest PMU register exits"));
	}
	/* And none at all without the detector. */
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		assert_int_equal(evaluate(rules[i], NULL, -1, &res), VERDICT_SKIP);
		assert_string_equal(res.evidence, "pmu: not started");
	}
	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

static void rules_arm64(void **state)
{
	struct pmu_host_facts f = arm64_facts();
	struct rule_result res;
	struct pmu_sample sample;
	struct pmu_view view;
	struct sim s;

	(void)state;
	sim_init(&s, &f);
	sim_arm64_vcpu(&s, 100, 101, 0, 1000, 3, 4000);
	sim_arm64_vcpu(&s, 100, 102, 1, 1000, 2, 30000);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);

	/* vCPU 1: two loads of 30000 ns (slot <= 32768) and two puts of
	 * 15000 (<= 16384): the median's slot is 16384, under the default
	 * though the average, 22500, is not. */
	assert_int_equal(evaluate("pmu.switch_cost_ns", &view, -1, &res),
			 VERDICT_PASS);
	assert_true(res.value == 16384);
	assert_int_equal(evaluate("pmu.switch_cost_ns", &view, 10000, &res),
			 VERDICT_FAIL);
	assert_true(res.value == 16384);
	assert_non_null(strstr(res.evidence, "VM pid 100 vCPU 1 (thread 102)"));
	assert_non_null(strstr(res.evidence, "restore_guest"));
	assert_non_null(strstr(res.evidence, "p50 <= 16384 ns, p99 <= 32768 ns, average 22500 ns"));

	assert_int_equal(evaluate("pmu.switch_per_exit", &view, -1, &res),
			 VERDICT_PASS);
	assert_true(res.value == 3.0 / 5002);
	assert_int_equal(evaluate("pmu.switch_per_exit", &view, 0.0001, &res),
			 VERDICT_FAIL);
	assert_non_null(strstr(res.evidence, "3 loads (restore_guest) for 5002 exits"));

	/* 5002 trapped accesses in 1 s. */
	assert_int_equal(evaluate("pmu.reg_exits_per_s", &view, -1, &res),
			 VERDICT_PASS);
	assert_true(res.value == 5002);
	assert_int_equal(evaluate("pmu.reg_exits_per_s", &view, 5000, &res),
			 VERDICT_FAIL);
	assert_non_null(strstr(res.evidence, "most: PMCNTENCLR_EL0")
			|| strstr(res.evidence, "most: PMEVCNTR0_EL0"));

	/* Not hardware virtualization: those rules skip, saying so. */
	assert_int_equal(evaluate("pmu.hwvirt_sw_loads", &view, -1, &res),
			 VERDICT_SKIP);
	assert_non_null(strstr(res.evidence, "not active here (mechanism arm64"));
	assert_int_equal(evaluate("pmu.hwvirt_reg_exits", &view, -1, &res),
			 VERDICT_SKIP);
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* The switch function cannot be watched: skipped with why. */
	s.run.ops[PMU_OP_RESTORE_GUEST].state = PMU_WATCH_OFF;
	snprintf(s.run.ops[PMU_OP_RESTORE_GUEST].why, WHY_LEN,
		 "the kernel refuses fentry programs");
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(evaluate("pmu.switch_cost_ns", &view, -1, &res),
			 VERDICT_SKIP);
	assert_non_null(strstr(res.evidence, "restore_guest cannot be watched: the kernel refuses"));
	assert_int_equal(evaluate("pmu.switch_per_exit", &view, -1, &res),
			 VERDICT_SKIP);
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* Too few exits for a rate; no switch at all. */
	sim_init(&s, &f);
	sim_arm64_vcpu(&s, 100, 101, 0, 10, 0, 0);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(evaluate("pmu.switch_per_exit", &view, -1, &res),
			 VERDICT_SKIP);
	assert_non_null(strstr(res.evidence, "too few exits"));
	assert_int_equal(evaluate("pmu.switch_cost_ns", &view, -1, &res),
			 VERDICT_SKIP);
	assert_non_null(strstr(res.evidence, "no PMU world switch"));
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* A guest that never touches the PMU (arch_timer) still switches
	 * at every load, slowly on a busy host: not the PMU's cost. */
	sim_init(&s, &f);
	{
		struct pmu_vcpu_stats *idle = sim_vcpu(&s, 100, 101, 0);

		idle->vpmu = 1;
		idle->exits = 5000;
		for (int i = 0; i < 161; i++) {
			sim_call(&s, 100, 101, PMU_OP_RESTORE_GUEST, 255000);
			sim_call(&s, 100, 101, PMU_OP_RESTORE_HOST, 255000);
		}
	}
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(evaluate("pmu.switch_cost_ns", &view, -1, &res),
			 VERDICT_SKIP);
	assert_non_null(strstr(res.evidence, "no guest used the PMU (1 vCPUs switched it"));
	/* Its register-exit rate is measured all the same: 0 per second. */
	assert_int_equal(evaluate("pmu.reg_exits_per_s", &view, -1, &res),
			 VERDICT_PASS);
	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

static void rules_x86(void **state)
{
	struct pmu_host_facts f = x86_facts(VENDOR_SVM, 1);
	struct pmu_vcpu_stats *v;
	struct rule_result res;
	struct pmu_sample sample;
	struct pmu_view view;
	struct sim s;
	int i;

	(void)state;
	/* Legacy on SVM: no switch to judge; the MSR exits are. */
	sim_init(&s, &f);
	v = sim_vcpu(&s, 10, 11, 0);
	v->exits = 1000;
	for (i = 0; i < 600; i++)
		sim_reg(&s, 10, 11, 0xc0010000, true, false);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(evaluate("pmu.switch_cost_ns", &view, -1, &res),
			 VERDICT_SKIP);
	assert_non_null(strstr(res.evidence, "legacy vPMU has no world-switch function"));
	assert_int_equal(evaluate("pmu.reg_exits_per_s", &view, 500, &res),
			 VERDICT_FAIL);
	assert_non_null(strstr(res.evidence, "most: K7_EVNTSEL0 (600)"));
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* Hardware PMC virtualization, but KVM still loads counters in
	 * software and intercepts the MSRs. */
	f.has_mediated_load = true;
	f.enable_mediated_pmu = 1;
	f.vpmc = 1;
	sim_init(&s, &f);
	v = sim_vcpu(&s, 10, 11, 0);
	v->exits = 1000;
	for (i = 0; i < 900; i++) {
		sim_call(&s, 10, 11, PMU_OP_MEDIATED_LOAD, 500);
		sim_call(&s, 10, 11, PMU_OP_MEDIATED_PUT, 400);
	}
	for (i = 0; i < 9; i++)
		sim_call(&s, 10, 11, PMU_OP_LOAD_PMCS, 2000);
	for (i = 0; i < 150; i++)
		sim_reg(&s, 10, 11, 0xc0010201, false, false);
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(evaluate("pmu.hwvirt_sw_loads", &view, -1, &res),
			 VERDICT_PASS);
	assert_true(res.value == 9.0 / 1800);
	assert_int_equal(evaluate("pmu.hwvirt_sw_loads", &view, 0.001, &res),
			 VERDICT_FAIL);
	assert_non_null(strstr(res.evidence, "9 software PMC loads"));
	assert_int_equal(evaluate("pmu.hwvirt_reg_exits", &view, -1, &res),
			 VERDICT_FAIL);
	assert_true(res.value == 150);
	assert_non_null(strstr(res.evidence, "F15H_PERF_CTR0"));
	assert_int_equal(evaluate("pmu.switch_per_exit", &view, -1, &res),
			 VERDICT_PASS);
	assert_true(res.value == 0.9);
	/* Loads of 500 ns and puts of 400: both in the slot <= 512. */
	assert_int_equal(evaluate("pmu.switch_cost_ns", &view, -1, &res),
			 VERDICT_PASS);
	assert_true(res.value == 512);
	pmu_view_free(&view);
	pmu_sample_free(&sample);

	/* The software PMC loads inlined away: that rule cannot tell. */
	s.run.ops[PMU_OP_LOAD_PMCS].state = PMU_WATCH_OFF;
	snprintf(s.run.ops[PMU_OP_LOAD_PMCS].why, WHY_LEN,
		 "kvm_pmu_load_guest_pmcs is not in /proc/kallsyms");
	sim_sample(&s, 10, &sample);
	assert_int_equal(pmu_view_build(&sample, 1.0, NULL, &view), 0);
	assert_int_equal(evaluate("pmu.hwvirt_sw_loads", &view, -1, &res),
			 VERDICT_SKIP);
	assert_non_null(strstr(res.evidence, "not in /proc/kallsyms"));
	pmu_view_free(&view);
	pmu_sample_free(&sample);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_registered),
		cmocka_unit_test(rules_skip_without_vpmu),
		cmocka_unit_test(rules_arm64),
		cmocka_unit_test(rules_x86),
	};

	return cmocka_run_group_tests_name("pmu rules", tests, NULL, NULL);
}
