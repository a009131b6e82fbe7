// SPDX-License-Identifier: GPL-2.0
/*
 * The run and stretch bookkeeping of bpf/teardown.h (the code the BPF
 * programs run) driven by synthetic CPU timelines: a teardown walking its
 * stage-2 table in one go or range by range, with and without another
 * task wanting its CPU (there from the start, or arriving mid-run), and
 * the verdicts `kvmwatch check --teardown` gives (teardown_sim.h). Who
 * counts as a waiter, and from when, is in test_teardown_waiters.c.
 */
#include "teardown_sim.h"

/* top's row: RUN_MS is the run inside the teardown (not above TOTAL_MS);
 * the stretch, which went on to the schedule point after the end, is
 * marked and the mark said. */
static void text_row_within_the_teardown(const struct teardown_view *v)
{
	char *text = NULL, *row;
	double total, run, stretch;
	size_t len;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	kw_columns = 80;
	teardown_view_text(out, v, "fentry");
	fclose(out);
	kw_columns = 0;
	row = strstr(text, "\n  1 ");
	assert_non_null(row);
	assert_int_equal(sscanf(row, "\n  1 %*u %*s %lf %lf %lf*", &total, &run,
				&stretch), 3);
	assert_true(run <= total);
	assert_true(stretch > run);
	assert_non_null(strstr(row, "*"));
	assert_non_null(strstr(text, "(* the wait began before the teardown or went on after it"));
	free(text);
}

/* Unfixed arm64: the whole walk in one go while SPIN waits for the CPU. */
static void unfixed_walk_holds_the_cpu(void **state)
{
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	char evidence[EVIDENCE_LEN];
	struct sim m;
	double value;

	(void)state;
	sim_begin(&m, true);
	sim_enter(&m, TD_PH_FLUSH, 1 * MS);
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	m.r.walker_leaves = m.r.walker_mapped = 65536;
	assert_false(sim_exit(&m, TD_PH_STAGE2, 280 * MS));
	assert_false(sim_exit(&m, TD_PH_FLUSH, 10 * US));
	sim_enter(&m, TD_PH_ARCH_DESTROY, 10 * US);
	assert_false(sim_exit(&m, TD_PH_ARCH_DESTROY, 1 * MS));
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	/* Back to user space: need_resched is set, schedule at last. */
	assert_true(sim_switch_out(&m, 100 * US, TD_STATE_PREEMPTED, SPIN, "spin"));

	assert_int_equal(m.r.runs, 1);
	assert_int_equal(m.r.stretches, 1);
	assert_int_equal(m.r.yields, 0);	/* after the end: not inside */
	assert_int_equal(m.r.end_how, TD_END_DESTROY);
	/* One run from the switch before the teardown to the one after;
	 * SPIN wanted the CPU all along: the stretch is the whole run. */
	assert_int_equal(m.r.max_run_ns, 1 * MS + 1 * MS + 280 * MS + 1 * MS +
			 4 * 10 * US + 100 * US);
	assert_int_equal(m.r.max_stretch_ns, m.r.max_run_ns);
	/* top's RUN_MS is the run's part inside the teardown: its whole
	 * duration here, never more (the run began 1 ms before it). */
	assert_int_equal(m.r.max_run_inside_ns, m.r.end_ns - m.r.start_ns);
	assert_true(m.r.max_run_inside_ns < m.r.max_run_ns);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_PREEMPTED);
	assert_int_equal(m.r.max_stretch_first, SPIN);
	assert_string_equal(m.r.max_stretch_first_comm, "spinner");
	assert_int_equal(m.r.max_stretch_waiter, SPIN);
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_PREEMPTED);
	assert_int_equal(m.r.max_stretch_wait_ns, m.r.max_stretch_ns);
	assert_int_equal(stretch_phase(&m.r, TD_PH_STAGE2), 280 * MS);
	/* kvm_destroy_vm ended inside the stretch: counted whole. */
	assert_int_equal(m.r.max_stretch_phase_open[TD_PH_DESTROY_VM], 0);
	assert_int_equal(stretch_phase(&m.r, TD_PH_DESTROY_VM),
			 m.r.end_ns - m.r.start_ns);

	build(&m, &s, &e, &v, ARCH_ARM64, false);
	assert_string_equal(v.items[0].holder, "kvm_pgtable_stage2_destroy");
	assert_int_equal(v.items[0].behaviour, TB_HELD);
	assert_string_equal(v.symbols, "unfixed");
	assert_string_equal(v.behaviour, "does-not-yield");
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, evidence),
			 VERDICT_FAIL);
	assert_true(value > 280 && value < 290);
	assert_non_null(strstr(evidence, "kvm_pgtable_stage2_destroy"));
	assert_non_null(strstr(evidence, "256 MiB mapped"));
	assert_non_null(strstr(evidence, "spin (pid 600) waited"));
	assert_non_null(strstr(evidence, "after spinner (pid 600, preempted) wanted it"));
	assert_int_equal(verdict(&v, "teardown.max_wait_ms", &value, NULL),
			 VERDICT_FAIL);
	text_row_within_the_teardown(&v);
	teardown_view_free(&v);
}

/* Fixed arm64: 1 GiB ranges with cond_resched() between, SPIN waiting. */
static void fixed_walk_yields_between_ranges(void **state)
{
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	struct sim m;
	double value;
	int i;

	(void)state;
	sim_begin(&m, true);
	sim_enter(&m, TD_PH_FLUSH, 1 * MS);
	/* 7.3: kvm_stage2_destroy (not probed) calls the ranges and the pgd
	 * free; kvm_pgtable_stage2_destroy is gone. */
	for (i = 0; i < 8; i++) {
		sim_enter(&m, TD_PH_STAGE2_RANGE, 1 * US);
		sim_exit(&m, TD_PH_STAGE2_RANGE, 30 * MS);
		/* cond_resched(): preempted, SPIN runs a slice. */
		assert_false(sim_switch_out(&m, 1 * US, TD_STATE_PREEMPTED,
					    SPIN, "spin"));
		sim_switch_in(&m, 3 * MS, SPIN, true);
	}
	sim_enter(&m, TD_PH_STAGE2_PGD, 10 * US);
	sim_exit(&m, TD_PH_STAGE2_PGD, 100 * US);
	sim_exit(&m, TD_PH_FLUSH, 10 * US);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, 1 /* S */, SPIN, "spin"));

	assert_int_equal(m.r.yields, 8);
	assert_int_equal(m.r.phase_switches[TD_PH_FLUSH], 8);
	assert_int_equal(m.r.phase_switches[TD_PH_STAGE2_RANGE], 0);
	assert_int_equal(m.r.runs, 9);
	assert_int_equal(m.r.stretches, 9);	/* SPIN waited behind each */
	assert_true(m.r.max_stretch_ns < 33 * MS);
	/* run time excludes the 8 slices SPIN had */
	assert_int_equal(m.r.run_ns, m.r.end_ns - m.r.start_ns - 8 * 3 * MS);

	build(&m, &s, &e, &v, ARCH_ARM64, true);
	assert_string_equal(v.symbols, "fixed");
	assert_string_equal(v.behaviour, "yields");
	assert_int_equal(v.items[0].behaviour, TB_YIELDED);
	/* The walk is its ranges and the pgd free, yielding between. */
	assert_int_equal(v.items[0].walk_ns, 8 * 30 * MS + 100 * US);
	assert_int_equal(v.items[0].walk_switches, 8);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, NULL),
			 VERDICT_PASS);
	assert_true(value > 30 && value < 33);
	assert_int_equal(verdict(&v, "teardown.max_wait_ms", &value, NULL),
			 VERDICT_PASS);
	teardown_view_free(&v);
}

/* A small VM with nothing else runnable: short, no waiter, PASS. */
static void small_teardown_passes(void **state)
{
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	struct sim m;
	double value;
	json_t *j, *it, *st;

	(void)state;
	sim_begin(&m, false);
	sim_enter(&m, TD_PH_FLUSH, 100 * US);
	sim_enter(&m, TD_PH_TDP_ZAP_ALL, 10 * US);
	sim_exit(&m, TD_PH_TDP_ZAP_ALL, 2 * MS);
	sim_exit(&m, TD_PH_FLUSH, 10 * US);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 1 * MS));
	assert_true(sim_switch_out(&m, 50 * US, 1, 0, ""));
	assert_int_equal(m.r.stretches, 0);
	assert_int_equal(m.r.max_run_next, 0);
	assert_int_equal(m.r.max_wait_ns, 0);

	build(&m, &s, &e, &v, ARCH_X86_64, false);
	assert_string_equal(v.symbols, "n/a");
	assert_string_equal(v.behaviour, "unknown");
	assert_null(v.worst_stretch);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, NULL),
			 VERDICT_PASS);
	assert_true(value == 0);
	/* No silent zeros: no stretch, no next task: null with a reason. */
	j = teardown_view_json(&v);
	it = json_array_get(json_object_get(j, "recent"), 0);
	assert_true(json_is_null(json_object_get(it, "longest_stretch")));
	assert_non_null(json_string_value(json_object_get(it, "longest_stretch_why")));
	st = json_object_get(it, "longest_run");
	assert_true(json_real_value(json_object_get(st, "ms")) > 3.0);
	assert_true(json_is_null(json_object_get(st, "next")));
	assert_non_null(json_string_value(json_object_get(st, "next_why")));
	assert_true(json_is_null(json_object_get(j, "max_stretch_ms")));
	assert_non_null(json_string_value(json_object_get(j, "max_stretch_why")));
	json_decref(j);
	teardown_view_free(&v);
}

/* The fds of VMMs already running, as /proc/PID/fd names them. */
static void running_vmm_fds(void **state)
{
	(void)state;
	assert_int_equal(kvm_fd_kind("anon_inode:kvm-vm"), KVM_FD_VM);
	assert_int_equal(kvm_fd_kind("anon_inode:kvm-vcpu:3"),
			 KVM_FD_REF);
	assert_int_equal(kvm_fd_kind("anon_inode:kvm-arm-vgic-v3"),
			 KVM_FD_REF);
	assert_int_equal(kvm_fd_kind("anon_inode:kvm-vm-stats"),
			 KVM_FD_REF);
	assert_int_equal(kvm_fd_kind("anon_inode:[kvm-gmem]"),
			 KVM_FD_REF);
	assert_int_equal(kvm_fd_kind("/dev/kvm"), KVM_FD_NONE);
	assert_int_equal(kvm_fd_kind("anon_inode:[eventfd]"),
			 KVM_FD_NONE);
}

/* No teardown in the run: nothing to judge, no PASS. */
static void no_teardown_is_no_pass(void **state)
{
	struct teardown_sample s = { 0 };
	struct teardown_view v;
	struct rule_result res;
	struct check_data d = { 0 };
	const char *rules[] = { "teardown.max_stretch_ms",
				"teardown.max_wait_ms" };
	size_t i;

	(void)state;
	s.kernel.arch = ARCH_ARM64;
	s.kernel.wakeups = true;
	assert_int_equal(teardown_view_build(&s, 1.0, NULL, &v), 0);
	d.views[DET_TEARDOWN] = &v;
	for (i = 0; i < 2; i++) {
		const struct check_rule *r = check_rule_find(rules[i]);

		assert_non_null(r);
		check_evaluate(r, r->default_threshold, &d, &res);
		assert_int_equal(res.verdict, VERDICT_SKIP);
		assert_non_null(strstr(res.evidence, "no VM teardown was seen"));
	}
	teardown_view_free(&v);
}

/* Tracepoint mode, vm-first: the close of the VM's last fd opens the
 * teardown, the thread's next system call ends it as a destruction. */
static void last_fd_close_is_a_teardown(void **state)
{
	struct sim m;

	(void)state;
	assert_true(td_phase_opens(TD_PH_CLOSE));
	sim_begin(&m, true);
	m.r.phase_start[TD_PH_DESTROY_VM] = 0;
	m.r.phase_calls[TD_PH_DESTROY_VM] = 0;
	m.r.open_mask = 0;
	td_phase_enter(&m.r, TD_PH_CLOSE, m.now);
	m.now += 300 * MS;
	assert_true(td_phase_exit(&m.r, TD_PH_CLOSE, m.now));
	assert_int_equal(m.r.end_how, TD_END_DESTROY);
	assert_int_equal(m.r.vms, 1);
	assert_int_equal(m.r.phase_ns[TD_PH_CLOSE], 300 * MS);
	assert_string_equal(teardown_phase_name(TD_PH_CLOSE), "vm_fd_close");
}

/* x86: what the teardown had to free, from the VM's page counts. */
static void x86_mapped_entries_from_page_stats(void **state)
{
	struct metric_set set = { 0 };
	const struct metric *total, *per_vm;
	char evidence[EVIDENCE_LEN];
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	json_t *j, *it, *sizes;
	struct sim m;
	double value;
	char label[32];

	(void)state;
	sim_begin(&m, true);
	m.r.mapped_known = 1;
	m.r.mapped_pages[0] = 131072;	/* 512 MiB of 4K */
	m.r.mapped_pages[1] = 3;	/* 6 MiB of 2M */
	sim_enter(&m, TD_PH_FLUSH, 100 * US);
	sim_exit(&m, TD_PH_FLUSH, 140 * MS);	/* SPIN waits: FAIL */
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 1 * MS));
	assert_true(sim_switch_out(&m, 50 * US, TD_STATE_PREEMPTED, SPIN, "spin"));
	build(&m, &s, &e, &v, ARCH_X86_64, false);
	v.kernel.page_stats = true;

	j = teardown_view_json(&v);
	it = json_array_get(json_object_get(j, "recent"), 0);
	assert_int_equal(json_integer_value(json_object_get(it, "mapped_entries")), 131075);
	assert_true(json_real_value(json_object_get(it, "mapped_mib")) == 518.0);
	assert_string_equal(json_string_value(json_object_get(it, "mapped_from")), "kvm_stat");
	sizes = json_object_get(it, "mapped_by_size");
	assert_int_equal(json_integer_value(json_object_get(sizes, "2m")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "mapped_entries")), 131075);
	json_decref(j);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, evidence),
			 VERDICT_FAIL);
	assert_non_null(strstr(evidence, "518 MiB mapped (131075 TDP/shadow entries)"));
	assert_int_equal(teardown_view_metrics(&v, &set), 0);
	total = metric_find(&set, "teardown.mapped_entries", "");
	snprintf(label, sizeof(label), "vm=%u", m.r.pid);
	per_vm = metric_find(&set, "teardown.vm_mapped_entries", label);
	assert_non_null(total);
	assert_non_null(per_vm);
	assert_true(total->value == 131075 && per_vm->value == 131075);
	metric_set_free(&set);

	/* Tracepoint mode: no kvm pointer, no counts: null, saying why, and
	 * an unavailable metric rather than a zero. */
	v.kernel.page_stats = false;
	v.kernel.boundaries = false;
	j = teardown_view_json(&v);
	it = json_array_get(json_object_get(j, "recent"), 0);
	assert_true(json_is_null(json_object_get(it, "mapped_entries")));
	assert_non_null(strstr(json_string_value(json_object_get(it, "mapped_why")),
			       "tracepoint mode"));
	assert_true(json_is_null(json_object_get(j, "mapped_entries")));
	json_decref(j);
	assert_int_equal(teardown_view_metrics(&v, &set), 0);
	total = metric_find(&set, "teardown.mapped_entries", "");
	assert_non_null(total);
	assert_non_null(strstr(total->unavailable, "tracepoint mode"));
	assert_null(metric_find(&set, "teardown.vm_mapped_entries", label));
	metric_set_free(&set);
	teardown_view_free(&v);
}

static void holder_is_the_innermost_half(void **state)
{
	__u64 ph[TD_PH_COUNT] = { 0 };
	uint64_t held;

	(void)state;
	ph[TD_PH_DESTROY_VM] = 100;
	ph[TD_PH_FLUSH] = 90;
	ph[TD_PH_STAGE2] = 80;
	assert_string_equal(teardown_holder(ph, 100, &held),
			    "kvm_pgtable_stage2_destroy");
	assert_int_equal(held, 80);
	ph[TD_PH_STAGE2] = 40;
	assert_string_equal(teardown_holder(ph, 100, &held),
			    "kvm_arch_flush_shadow_all");
	memset(ph, 0, sizeof(ph));
	ph[TD_PH_FLUSH] = 10;
	assert_string_equal(teardown_holder(ph, 100, &held),
			    "kvm_arch_flush_shadow_all");
	memset(ph, 0, sizeof(ph));
	assert_null(teardown_holder(ph, 100, &held));
}

/* Interval mode: a record done before the interval is listed as recent,
 * not counted again. */
static void delta_marks_earlier_teardowns(void **state)
{
	struct teardown_entry prev_e[2], cur_e[3];
	struct teardown_sample prev = { 0 }, cur = { 0 }, out;
	struct teardown_view v;
	struct metric_set ms = { 0 };
	const struct metric *m;

	(void)state;
	memset(prev_e, 0, sizeof(prev_e));
	memset(cur_e, 0, sizeof(cur_e));
	prev_e[0].rec.id = 1;
	prev_e[0].rec.done = 1;
	prev_e[0].rec.end_ns = 2;
	prev_e[1].rec.id = 2;		/* open then, done now */
	cur_e[0] = prev_e[0];
	cur_e[1].rec.id = 2;
	cur_e[1].rec.done = 1;
	cur_e[1].rec.end_ns = 5;
	cur_e[1].rec.max_stretch_ns = 150 * MS;
	cur_e[1].rec.stretches = 1;
	cur_e[1].rec.max_run_ns = 160 * MS;
	cur_e[2].rec.id = 3;		/* still open */
	prev.entries = prev_e;
	prev.n = 2;
	cur.entries = cur_e;
	cur.n = 3;
	assert_int_equal(teardown_sample_delta(&prev, &cur, &out), 0);
	assert_true(out.entries[0].earlier);
	assert_false(out.entries[1].earlier);
	assert_false(out.entries[2].earlier);
	assert_int_equal(teardown_view_build(&out, 1.0, NULL, &v), 0);
	assert_int_equal(v.teardowns, 1);
	assert_int_equal(v.open, 1);
	assert_int_equal(v.nitems, 3);
	assert_int_equal(v.items[0].rec->id, 3);	/* newest first */
	assert_int_equal(v.items[2].rec->id, 1);	/* earlier last */
	assert_int_equal(teardown_view_metrics(&v, &ms), 0);
	m = metric_find(&ms, "teardown.max_stretch_ms", "");
	assert_non_null(m);
	assert_true(m->value == 150.0);
	m = metric_find(&ms, "teardown.max_run_ms", "");
	assert_true(m && m->value == 160.0);
	m = metric_find(&ms, "teardown.teardowns", "");
	assert_true(m && m->value == 1);
	assert_non_null(metric_find(&ms, "teardown.duration_ns", ""));
	metric_set_free(&ms);
	teardown_view_free(&v);
	teardown_sample_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unfixed_walk_holds_the_cpu),
		cmocka_unit_test(fixed_walk_yields_between_ranges),
		cmocka_unit_test(small_teardown_passes),
		cmocka_unit_test(x86_mapped_entries_from_page_stats),
		cmocka_unit_test(last_fd_close_is_a_teardown),
		cmocka_unit_test(no_teardown_is_no_pass),
		cmocka_unit_test(running_vmm_fds),
		cmocka_unit_test(holder_is_the_innermost_half),
		cmocka_unit_test(delta_marks_earlier_teardowns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
