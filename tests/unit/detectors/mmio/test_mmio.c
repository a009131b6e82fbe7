// SPDX-License-Identifier: GPL-2.0
/*
 * The MMIO write classification of bpf/mmio.h (the code the BPF programs
 * run) driven by event streams as KVM emits them: VMX with its fast path,
 * SVM without one (6.12), arm64, in fentry and in tracepoint mode; then
 * the view, the fast-path decision and the verdicts of `check --mmio`
 * on what those streams left in the maps (mmio_sim.h). Intervals, JSON,
 * metrics and text are in test_mmio_views.c.
 */
#include "mmio_sim.h"

/* ---- the classification itself ---- */

static void svm_without_fast_path_emulates_every_doorbell(void **state)
{
	struct sim s;
	struct mmio_view v;
	const struct mmio_addr_view *a;
	int mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		bool fentry = mode == 0;

		sim_start(&s, SVM_612, fentry);
		kvmload_mmio(&s, SVM_612, 100, 1000);
		build(&s, SVM_612, fentry, &v);
		/* Both modes count the same writes the same way. */
		a = addr(&v, FAST_GPA);
		assert_int_equal(a->path[MMIO_PATH_EMULATED].writes, 1000);
		assert_int_equal(a->path[MMIO_PATH_FAST].writes, 0);
		assert_int_equal(a->path[MMIO_PATH_EMULATED].insn_emulated, 1000);
		assert_string_equal(a->path[MMIO_PATH_EMULATED].reason_name, "npf");
		assert_int_equal(a->candidate, fentry ? 1 : -1);
		a = addr(&v, MATCH_GPA);
		assert_int_equal(a->path[MMIO_PATH_EMULATED].writes, 1000);
		assert_int_equal(a->candidate, fentry ? 0 : -1);
		a = addr(&v, USER_GPA);
		assert_int_equal(a->path[MMIO_PATH_USER].writes, 1000);
		assert_int_equal(a->path[MMIO_PATH_EMULATED].writes, 0);
		assert_int_equal(v.writes, 3000);
		assert_true(v.fast_share == 0);
		assert_true(v.exits_per_write == 1.0);
		/* Costs only where the handler is probed. */
		assert_int_equal(a->path[MMIO_PATH_USER].timed, fentry ? 1000 : 0);
		if (fentry) {
			assert_int_equal(a->path[MMIO_PATH_USER].cost_avg_ns,
					 30 * US);
			/* The doorbell's writes only: the matched and the
			 * VMM's addresses are no candidates. */
			assert_int_equal(v.candidate_writes, 1000);
			assert_int_equal(v.emulated_candidate_writes, 1000);
			assert_int_equal(v.fast_path.state, MMIO_FAST_ABSENT);
			assert_string_equal(v.fast_path.basis, "observed");
			assert_int_equal(v.fast_path.slow_candidate_runs, 1000);
			assert_non_null(strstr(v.fast_path.why, "no fast MMIO path"));
			assert_non_null(strstr(v.fast_path.why, "nrips=1"));
		} else {
			/* Tracepoints alone cannot tell on SVM. */
			assert_int_equal(v.fast_path.state, MMIO_FAST_UNKNOWN);
		}
		mmio_view_free(&v);
	}
}

static void vmx_fast_path_takes_the_doorbell(void **state)
{
	struct sim s;
	struct mmio_view v;
	const struct mmio_addr_view *a;
	int mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		bool fentry = mode == 0;

		sim_start(&s, VMX, fentry);
		kvmload_mmio(&s, VMX, 100, 500);
		build(&s, VMX, fentry, &v);
		a = addr(&v, FAST_GPA);
		assert_int_equal(a->path[MMIO_PATH_FAST].writes, 500);
		assert_int_equal(a->path[MMIO_PATH_EMULATED].writes, 0);
		assert_string_equal(a->path[MMIO_PATH_FAST].reason_name,
				    "EPT_MISCONFIG");
		assert_int_equal(a->path[MMIO_PATH_FAST].insn_emulated, 0);
		/* VMX tries the fast bus first for the others too. */
		a = addr(&v, MATCH_GPA);
		assert_int_equal(a->path[MMIO_PATH_EMULATED].writes, 500);
		assert_int_equal(a->fast_misses, fentry ? 500 : 0);
		assert_int_equal(addr(&v, USER_GPA)->path[MMIO_PATH_USER].writes,
				 500);
		assert_int_equal(v.by_path[MMIO_PATH_FAST], 500);
		assert_true(v.fast_share > 0.333 && v.fast_share < 0.334);
		assert_int_equal(v.fast_path.state, MMIO_FAST_IN_USE);
		assert_string_equal(v.fast_path.basis, "observed");
		if (fentry) {
			assert_int_equal(v.fast_path.fast_tries, 1500);
			assert_int_equal(v.candidate_writes, 500);
			assert_int_equal(v.emulated_candidate_writes, 0);
		} else {
			assert_int_equal(v.fast_path.fast_events, 500);
		}
		mmio_view_free(&v);
	}
}

static void arm64_decodes_without_emulation(void **state)
{
	struct sim s;
	struct mmio_view v;
	const struct mmio_addr_view *a;

	(void)state;
	sim_start(&s, ARM64, true);
	kvmload_mmio(&s, ARM64, 100, 10);
	kvmload_mmio(&s, ARM64, 101, 10);
	build(&s, ARM64, true, &v);
	a = addr(&v, FAST_GPA);
	assert_int_equal(a->path[MMIO_PATH_EMULATED].writes, 20);
	assert_int_equal(a->path[MMIO_PATH_EMULATED].insn_emulated, 0);
	assert_int_equal(a->vcpu_threads, 2);
	assert_string_equal(a->path[MMIO_PATH_EMULATED].reason_name,
			    "DABT_LOW");
	/* Seen doing it: the abort handler never tried the fast bus. */
	assert_int_equal(v.fast_path.state, MMIO_FAST_ABSENT);
	assert_string_equal(v.fast_path.basis, "observed");
	mmio_view_free(&v);

	/* Tracepoint mode: the kernel has no kvm:kvm_fast_mmio at all. */
	sim_start(&s, ARM64, false);
	kvmload_mmio(&s, ARM64, 100, 10);
	build(&s, ARM64, false, &v);
	assert_int_equal(addr(&v, USER_GPA)->path[MMIO_PATH_USER].writes, 10);
	assert_int_equal(v.fast_path.state, MMIO_FAST_ABSENT);
	assert_string_equal(v.fast_path.basis, "kernel");
	assert_non_null(strstr(v.fast_path.why, "kvm:kvm_fast_mmio"));
	mmio_view_free(&v);
}

static void stream_edges(void **state)
{
	struct mmio_thread t = { 0 };
	struct mmio_done d;

	(void)state;
	/* Without kvm:kvm_entry a write closes at the next exit. */
	mmio_on_exit(&t, SVM_NPF, &d);
	assert_int_equal(mmio_on_decoded(&t, FAST_GPA, 4, &d), 0);
	assert_int_equal(mmio_on_exit(&t, 0x60, &d), 1);
	assert_int_equal(d.path, MMIO_PATH_EMULATED);
	assert_int_equal(d.reason, SVM_NPF);
	assert_true(d.reason_known);
	/* KVM_RUN interrupted after the kernel handled it: not the VMM's. */
	mmio_on_exit(&t, SVM_NPF, &d);
	mmio_on_decoded(&t, MATCH_GPA, 4, &d);
	assert_int_equal(mmio_on_vmm_exit(&t, 0, -4, &d), 1);
	assert_int_equal(d.path, MMIO_PATH_EMULATED);
	/* A fast hit stays fast whatever closes it. */
	mmio_on_exit(&t, VMX_EPT_MISCONFIG, &d);
	mmio_on_fast(&t, FAST_GPA, &d);
	assert_int_equal(mmio_on_vmm_exit(&t, MMIO_KVM_EXIT_MMIO, 0, &d), 1);
	assert_int_equal(d.path, MMIO_PATH_FAST);
	/* After KVM_RUN returned, a write follows no exit of ours. */
	mmio_on_decoded(&t, USER_GPA, 4, &d);
	assert_int_equal(mmio_on_entry(&t, &d), 1);
	assert_false(d.reason_known);
	/* Nothing open: nothing closes. */
	assert_int_equal(mmio_on_entry(&t, &d), 0);
	assert_int_equal(t.exits, 4);
}

static void waiting_for_a_cpu_is_not_a_cost(void **state)
{
	struct sim s;
	struct mmio_view v;
	const struct mmio_addr_view *a;

	(void)state;
	/* One handler run in ten is switched out for 4 ms: those writes
	 * count, but the cost is the path's 30 us, not the wait. */
	sim_start(&s, SVM_612, true);
	s.preempt_every = 10;
	kvmload_mmio(&s, SVM_612, 100, 100);
	build(&s, SVM_612, true, &v);
	a = addr(&v, FAST_GPA);
	assert_int_equal(a->path[MMIO_PATH_EMULATED].writes, 100);
	assert_int_equal(a->path[MMIO_PATH_EMULATED].preempted, 10);
	assert_int_equal(a->path[MMIO_PATH_EMULATED].timed, 90);
	assert_int_equal(a->path[MMIO_PATH_EMULATED].cost_avg_ns, 30 * US);
	assert_int_equal(a->path[MMIO_PATH_EMULATED].max_cost_ns, 30 * US);
	assert_int_equal(v.timed[MMIO_PATH_EMULATED] +
			 addr(&v, MATCH_GPA)->path[MMIO_PATH_EMULATED].preempted +
			 a->path[MMIO_PATH_EMULATED].preempted, 200);
	mmio_view_free(&v);
}

static void nested_guests_are_no_evidence(void **state)
{
	struct sim s;
	struct mmio_view v;
	int i;

	(void)state;
	/* VMX skips the fast bus for L2: its doorbells are decoded, and
	 * that is neither a regression nor proof of a missing fast path. */
	sim_start(&s, VMX, true);
	for (i = 0; i < 50; i++)
		store(&s, VMX, 100, FAST_GPA, true, true);
	build(&s, VMX, true, &v);
	assert_int_equal(addr(&v, FAST_GPA)->path[MMIO_PATH_EMULATED].nested, 50);
	assert_int_equal(v.emulated_candidate_writes, 0);
	assert_int_equal(v.candidate_writes, 0);
	assert_int_equal(v.fast_path.slow_candidate_runs, 0);
	/* No run showed anything: kallsyms has the VMX handler. */
	assert_int_equal(v.fast_path.state, MMIO_FAST_PRESENT);
	assert_string_equal(v.fast_path.basis, "kernel");
	mmio_view_free(&v);
}

/* ---- the fast-path decision ---- */

static void fast_path_decision(void **state)
{
	struct mmio_setup setup = setup_for(SVM_612, false);
	struct mmio_fast_path fp;

	(void)state;
	memset(&fp, 0, sizeof(fp));
	mmio_decide_fast_path(&setup, 0, 0, &fp);
	assert_int_equal(fp.state, MMIO_FAST_UNKNOWN);
	assert_null(fp.basis);
	assert_non_null(strstr(fp.why, "tracepoint mode"));
	/* kvm:kvm_fast_mmio from the patched SVM code settles it. */
	fp.fast_events = 3;
	mmio_decide_fast_path(&setup, 3, 0, &fp);
	assert_int_equal(fp.state, MMIO_FAST_IN_USE);
	/* nrips off and the module not read: decoded candidates do not
	 * tell a missing path from one that cannot be taken. */
	setup = setup_for(SVM_612, true);
	setup.nrips = 0;
	memset(&fp, 0, sizeof(fp));
	fp.slow_candidate_runs = 7;
	mmio_decide_fast_path(&setup, 0, 7, &fp);
	assert_int_equal(fp.state, MMIO_FAST_UNKNOWN);
	assert_non_null(strstr(fp.why, "nrips=0"));
	/* Probed, but no candidate was written: cannot tell. */
	memset(&fp, 0, sizeof(fp));
	mmio_decide_fast_path(&setup, 0, 0, &fp);
	assert_int_equal(fp.state, MMIO_FAST_UNKNOWN);
	/* What was observed beats what the kernel is known for. */
	setup = setup_for(VMX, true);
	memset(&fp, 0, sizeof(fp));
	fp.slow_candidate_runs = 1;
	mmio_decide_fast_path(&setup, 0, 1, &fp);
	assert_int_equal(fp.state, MMIO_FAST_ABSENT);
	assert_non_null(strstr(fp.why, "contradicts"));
	/* A vendor kvmwatch does not know. */
	setup.vendor = VENDOR_OTHER;
	memset(&fp, 0, sizeof(fp));
	mmio_decide_fast_path(&setup, 0, 0, &fp);
	assert_int_equal(fp.state, MMIO_FAST_UNKNOWN);
}

/* The vendor module's code settles it, seen taken or not: SVM 6.12 has
 * no fast path, 7.3 has one that needs NRIP save. */
static void module_code_decides(void **state)
{
	struct mmio_setup setup = setup_for(SVM_612, true);
	struct mmio_fast_path fp;

	(void)state;
	setup.code_fast_path = 0;
	snprintf(setup.code_why, sizeof(setup.code_why),
		 "kvm-amd.ko calls neither");
	memset(&fp, 0, sizeof(fp));
	fp.slow_candidate_runs = 7;
	mmio_decide_fast_path(&setup, 0, 7, &fp);
	assert_int_equal(fp.state, MMIO_FAST_ABSENT);
	assert_string_equal(fp.basis, "module");
	assert_false(MMIO_FAST_IN_CODE(fp.state));

	setup.code_fast_path = 1;
	snprintf(setup.code_why, sizeof(setup.code_why),
		 "kvm-amd.ko calls kvm_io_bus_write");
	setup.nrips = 0;
	memset(&fp, 0, sizeof(fp));
	fp.slow_candidate_runs = 7;
	mmio_decide_fast_path(&setup, 0, 7, &fp);
	assert_int_equal(fp.state, MMIO_FAST_UNUSABLE);
	assert_string_equal(fp.basis, "module");
	assert_non_null(strstr(fp.why, "nrips=0"));
	assert_true(MMIO_FAST_IN_CODE(fp.state));
	assert_false(MMIO_FAST_USABLE(fp.state));
	assert_string_equal(mmio_fast_state_name(fp.state), "unusable");

	setup.nrips = 1;
	memset(&fp, 0, sizeof(fp));
	mmio_decide_fast_path(&setup, 0, 0, &fp);
	assert_int_equal(fp.state, MMIO_FAST_PRESENT);
	assert_true(MMIO_FAST_USABLE(fp.state));
	/* Seen taken: in use, whatever else is known. */
	fp.fast_tries = 2;
	mmio_decide_fast_path(&setup, 2, 0, &fp);
	assert_int_equal(fp.state, MMIO_FAST_IN_USE);
	assert_string_equal(fp.basis, "observed");
}

/* ---- check --mmio ---- */

static void verdicts_per_kernel(void **state)
{
	struct rule_result r[4];
	struct mmio_view v;
	struct sim s;
	int i;

	(void)state;
	/* SVM 6.12: a finding (INFO), not a failure; with
	 * --expect-fast-mmio, FAIL. */
	sim_start(&s, SVM_612, true);
	kvmload_mmio(&s, SVM_612, 100, 100);
	build(&s, SVM_612, true, &v);
	verdicts(&v, false, r);
	assert_int_equal(r[0].verdict, VERDICT_SKIP);
	assert_int_equal(r[1].verdict, VERDICT_INFO);
	assert_true(r[1].value == 0);
	assert_non_null(strstr(r[1].evidence, "no fast MMIO path"));
	assert_non_null(strstr(r[1].evidence, "--expect-fast-mmio"));
	assert_int_equal(r[2].verdict, VERDICT_PASS);
	assert_int_equal(r[3].verdict, VERDICT_PASS);
	assert_true(r[3].value == 32.768);	/* 30 us: slot up to 2^15 ns */
	assert_int_equal(check_overall(r, 4), VERDICT_PASS);
	verdicts(&v, true, r);
	assert_int_equal(r[1].verdict, VERDICT_FAIL);
	assert_non_null(strstr(r[1].evidence, "no fast MMIO path"));
	assert_int_equal(check_overall(r, 4), VERDICT_FAIL);
	mmio_view_free(&v);

	/* VMX: doorbells on the fast bus pass... */
	sim_start(&s, VMX, true);
	kvmload_mmio(&s, VMX, 100, 100);
	build(&s, VMX, true, &v);
	verdicts(&v, true, r);
	for (i = 0; i < 4; i++)
		assert_int_equal(r[i].verdict, VERDICT_PASS);
	assert_true(r[1].value == 1);
	mmio_view_free(&v);

	/* ...a doorbell decoded although the handler has the fast path
	 * (it missed: the ioeventfd was not on the fast bus then) fails. */
	for (i = 0; i < 20; i++)
		store(&s, SVM_612, 100, FAST_GPA, true, false);
	build(&s, VMX, true, &v);
	verdicts(&v, false, r);
	assert_int_equal(r[0].verdict, VERDICT_FAIL);
	assert_true(r[0].value == 20);
	assert_non_null(strstr(r[0].evidence, "VM pid 4242: GPA 0xd0000000"));
	assert_non_null(strstr(r[0].evidence, "20 times after decoding"));
	mmio_view_free(&v);

	/* Tracepoint mode: what cannot be seen is skipped, saying why. */
	sim_start(&s, SVM_612, false);
	kvmload_mmio(&s, SVM_612, 100, 100);
	build(&s, SVM_612, false, &v);
	verdicts(&v, true, r);
	assert_int_equal(r[0].verdict, VERDICT_SKIP);
	assert_non_null(strstr(r[0].evidence, "candidates are unknown"));
	assert_int_equal(r[1].verdict, VERDICT_SKIP);
	assert_non_null(strstr(r[1].evidence, "cannot tell"));
	assert_int_equal(r[3].verdict, VERDICT_SKIP);
	assert_non_null(strstr(r[3].evidence, "costs are not measured"));
	assert_int_equal(r[2].verdict, VERDICT_PASS);
	mmio_view_free(&v);

	/* A detector that did not run skips everything. */
	memset(&v, 0, sizeof(v));
	{
		struct check_data d = { 0 };

		d.why[DET_MMIO] = "kvm:kvm_mmio cannot be watched here";
		check_evaluate(check_rule_find("mmio.fast_share"), 0, &d, &r[0]);
		assert_int_equal(r[0].verdict, VERDICT_SKIP);
		assert_string_equal(r[0].evidence,
				    "kvm:kvm_mmio cannot be watched here");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(svm_without_fast_path_emulates_every_doorbell),
		cmocka_unit_test(vmx_fast_path_takes_the_doorbell),
		cmocka_unit_test(arm64_decodes_without_emulation),
		cmocka_unit_test(stream_edges),
		cmocka_unit_test(waiting_for_a_cpu_is_not_a_cost),
		cmocka_unit_test(nested_guests_are_no_evidence),
		cmocka_unit_test(fast_path_decision),
		cmocka_unit_test(module_code_decides),
		cmocka_unit_test(verdicts_per_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
