// SPDX-License-Identifier: GPL-2.0
/*
 * Who waits for a teardown's CPU, and from when (teardown_sim.h): a task
 * woken onto it, one queued there from the start or arriving mid-run,
 * arrivals that are no waiters, and the thread's death that ends the
 * VMM's exit window.
 */
#include "teardown_sim.h"

/* A task woken onto the CPU mid-walk waited from its wakeup. */
static void woken_task_waits_from_its_wakeup(void **state)
{
	struct sim m;

	(void)state;
	sim_begin(&m, false);
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	sim_wakeup(&m, 100 * MS, WOKEN);
	sim_exit(&m, TD_PH_STAGE2, 200 * MS);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, TD_STATE_PREEMPTED, WOKEN,
				   "worker"));
	assert_int_equal(m.r.max_stretch_waiter, WOKEN);
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_WOKEN);
	assert_int_equal(m.r.max_stretch_wait_ns, 200 * MS + 20 * US);
	assert_int_equal(m.r.max_stretch_ns, 200 * MS + 20 * US);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_WOKEN);
	assert_string_equal(m.r.max_waiter_comm, "worker");
	/* Someone else gets the CPU, neither preempted nor woken here: at
	 * least since the stretch began. */
	sim_begin(&m, false);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 50 * MS));
	assert_true(sim_switch_out(&m, 0, TD_STATE_PREEMPTED, 42, "other"));
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_BEFORE);
	assert_int_equal(m.r.max_stretch_wait_ns, 51 * MS);
	assert_int_equal(m.r.max_stretch_ns, 51 * MS);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_BEFORE);
	assert_string_equal(m.r.max_stretch_first_comm, "other");
}

/* Tracepoint mode: the exit window ends at the thread's last switch. */
static void thread_death_ends_the_exit_window(void **state)
{
	struct sim m;

	(void)state;
	sim_begin(&m, true);
	/* sim_begin opened kvm_destroy_vm; tracepoint mode has only exit. */
	m.r.phase_start[TD_PH_DESTROY_VM] = 0;
	m.r.phase_calls[TD_PH_DESTROY_VM] = 0;
	m.r.open_mask = 0;
	td_phase_enter(&m.r, TD_PH_EXIT, m.now);
	/* Blocks once in exit_mm (not the end), then runs 150 ms. */
	assert_false(sim_switch_out(&m, 2 * MS, 2 /* D */, 0, ""));
	assert_int_equal(m.r.blocks, 1);
	sim_switch_in(&m, 1 * MS, 0, false);
	assert_true(sim_switch_out(&m, 150 * MS, 0x20 /* Z */, SPIN, "spin"));
	assert_int_equal(m.r.end_how, TD_END_EXIT);
	assert_int_equal(m.r.end_ns, m.now);
	assert_int_equal(m.r.max_run_ns, 150 * MS);
	/* The exit phase is still open at the last switch: the reader adds
	 * its share from the stretch's start. */
	assert_int_equal(m.r.max_stretch_phase_ns[TD_PH_EXIT], 0);
	assert_true(m.r.max_stretch_phase_open[TD_PH_EXIT] != 0);
	assert_int_equal(stretch_phase(&m.r, TD_PH_EXIT), 150 * MS);
	/* SPIN was runnable since before the run began. */
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_BEFORE);
	assert_int_equal(m.r.max_stretch_ns, 150 * MS);
	assert_true(td_state_dead(0x10) && td_state_dead(0x20));
	assert_false(td_state_dead(TD_STATE_PREEMPTED) || td_state_dead(0) ||
		     td_state_dead(1) || td_state_dead(2));
}

/*
 * The x86 exit run: the TDP zap yields, then the thread runs 101 ms
 * outside the probed functions (exit_mmap freeing the guest's pages) with
 * nothing else runnable, until a kworker is woken onto the CPU just
 * before the switch. A long run nobody waited behind: PASS.
 */
static void long_run_without_waiter_passes(void **state)
{
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	struct metric_set ms = { 0 };
	const struct metric *mt;
	struct sim m;
	double value;
	json_t *j, *it;

	(void)state;
	sim_begin(&m, false);
	m.r.phase_start[TD_PH_DESTROY_VM] = 0;	/* begun by the flush */
	m.r.phase_calls[TD_PH_DESTROY_VM] = 0;
	m.r.open_mask = 0;
	sim_enter(&m, TD_PH_FLUSH, 0);
	sim_enter(&m, TD_PH_TDP_ZAP_ALL, 10 * US);
	assert_false(sim_exit(&m, TD_PH_TDP_ZAP_ALL, 46 * MS));
	assert_false(sim_exit(&m, TD_PH_FLUSH, 10 * US));
	sim_wakeup(&m, 101 * MS, 64);
	assert_false(sim_switch_out(&m, 36 * US, TD_STATE_PREEMPTED, 64,
				    "kworker/0:2"));
	assert_int_equal(m.r.runs, 1);
	assert_true(m.r.max_run_ns > 147 * MS);
	assert_int_equal(m.r.max_stretch_ns, 36 * US);
	assert_int_equal(m.r.max_run_wanted_ns, 36 * US);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_WOKEN);
	assert_string_equal(m.r.max_stretch_first_comm, "worker");

	build(&m, &s, &e, &v, ARCH_X86_64, false);
	assert_int_equal(v.items[0].behaviour, TB_UNCONTENDED);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, NULL),
			 VERDICT_PASS);
	assert_true(value < 0.1);
	assert_int_equal(verdict(&v, "teardown.max_wait_ms", &value, NULL),
			 VERDICT_PASS);
	/* The run is still shown, and exported, as information. */
	j = teardown_view_json(&v);
	it = json_array_get(json_object_get(j, "recent"), 0);
	assert_true(json_real_value(json_object_get(json_object_get(it,
			"longest_run"), "ms")) > 147.0);
	assert_true(json_real_value(json_object_get(j, "max_run_ms")) > 147.0);
	assert_true(json_real_value(json_object_get(j, "max_stretch_ms")) < 0.1);
	json_decref(j);
	assert_int_equal(teardown_view_metrics(&v, &ms), 0);
	mt = metric_find(&ms, "teardown.max_run_ms", "");
	assert_true(mt && mt->value > 147.0);
	mt = metric_find(&ms, "teardown.max_stretch_ms", "");
	assert_true(mt && mt->value < 0.1);
	metric_set_free(&ms);
	teardown_view_free(&v);
}

/*
 * x86 7.3: a kvmwatch thread woken onto the teardown's CPU moved to the
 * other one 3 ms later and ran there; the thread ran on 185 ms with
 * nobody waiting (a schedule with nobody else runnable shows no
 * sched_switch), until a second task woken there got the CPU 4.5 ms
 * later. Each waited a few ms: PASS. (Counted to the run's end this was
 * a 188.6 ms stretch, a FAIL on a kernel whose zap yields.) A waiter
 * that moves away only after waiting 150 ms behind the walk still FAILs.
 */
static void waiter_that_moved_away_waited_until_it_moved(void **state)
{
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	char evidence[EVIDENCE_LEN];
	struct sim m;
	double value;
	json_t *j, *w;

	(void)state;
	sim_begin(&m, false);
	sim_wakeup(&m, 20 * MS, WOKEN);
	sim_leave(&m, 3 * MS, WOKEN, "worker", 0);
	assert_int_equal(m.r.cur_want_ns, 0);
	assert_int_equal(m.r.stretches, 1);
	assert_int_equal(m.r.max_stretch_ns, 3 * MS);
	assert_true(m.r.max_stretch_waiter_left);
	sim_wakeup(&m, 185 * MS, 900);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 4 * MS));
	assert_true(sim_switch_out(&m, 500 * US, TD_STATE_PREEMPTED, 900,
				   "worker"));
	assert_int_equal(m.r.stretches, 2);
	assert_int_equal(m.r.max_stretch_ns, 4500 * US);
	assert_int_equal(m.r.max_stretch_waiter, 900);
	assert_false(m.r.max_stretch_waiter_left);
	assert_true(m.r.max_run_ns > 200 * MS);
	build(&m, &s, &e, &v, ARCH_X86_64, false);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, NULL),
			 VERDICT_PASS);
	assert_true(value > 4.4 && value < 4.6);
	teardown_view_free(&v);

	/* Another task still waits there: the stretch goes on. */
	sim_begin(&m, false);
	sim_wakeup(&m, 20 * MS, WOKEN);
	sim_wakeup(&m, 1 * MS, 900);
	sim_leave(&m, 3 * MS, WOKEN, "worker", 1);
	assert_int_equal(m.r.stretches, 0);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 150 * MS));
	assert_true(sim_switch_out(&m, 0, TD_STATE_PREEMPTED, 900, "worker"));
	assert_int_equal(m.r.max_stretch_ns, 154 * MS);
	assert_int_equal(m.r.max_stretch_first, WOKEN);

	/* The waiter moves away after 150 ms behind the unfixed walk. */
	sim_begin(&m, false);
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	sim_wakeup(&m, 20 * MS, WOKEN);
	sim_leave(&m, 150 * MS, WOKEN, "worker", 0);
	assert_false(sim_exit(&m, TD_PH_STAGE2, 100 * MS));
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, 1 /* S */, 0, ""));
	assert_int_equal(m.r.max_stretch_ns, 150 * MS);
	assert_int_equal(stretch_phase(&m.r, TD_PH_STAGE2), 150 * MS);
	build(&m, &s, &e, &v, ARCH_ARM64, false);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value,
				 evidence), VERDICT_FAIL);
	assert_non_null(strstr(evidence,
		"worker (pid 700) waited 150.0 ms (woken), then moved to another CPU"));
	j = teardown_view_json(&v);
	w = json_object_get(json_object_get(json_array_get(json_object_get(j,
		"recent"), 0), "longest_stretch"), "waiter");
	assert_true(json_is_true(json_object_get(w, "moved_away")));
	json_decref(j);
	teardown_view_free(&v);

	/* A waiter only inferred from the queue's count: dropped. */
	sim_begin(&m, false);
	m.c.wanted = td_want(&m.r, m.now, 0, NULL, TD_WAIT_QUEUED);
	sim_leave(&m, 150 * MS, MOVED, "mover", 0);
	assert_int_equal(m.r.stretches, 0);
	assert_int_equal(m.r.max_stretch_ns, 0);
}

/*
 * Tracepoint mode, a VM's last close seen only at its return (the kernel
 * skipped the program at its entry): counted, not timed. Its 1 ms window
 * came after the release, so no rule judges it: alone, the check SKIPs,
 * saying why; beside a timed one, that one is judged.
 */
static void teardown_seen_at_return_is_not_judged(void **state)
{
	struct teardown_entry e[2];
	struct teardown_sample s;
	struct teardown_view v;
	char evidence[EVIDENCE_LEN];
	struct sim m;
	double value;
	json_t *j, *it;

	(void)state;
	sim_begin(&m, false);
	m.r.begun_at_return = 1;
	sim_wakeup(&m, 500 * US, WOKEN);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 500 * US));
	assert_true(sim_switch_out(&m, 0, TD_STATE_PREEMPTED, WOKEN, "worker"));
	build(&m, &s, e, &v, ARCH_X86_64, true);
	assert_int_equal(v.teardowns, 1);
	assert_int_equal(v.untimed, 1);
	assert_null(v.worst_stretch);
	assert_null(v.worst_run);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, NULL),
			 VERDICT_SKIP);
	j = teardown_view_json(&v);
	it = json_array_get(json_object_get(j, "recent"), 0);
	assert_true(json_is_false(json_object_get(it, "timed")));
	assert_non_null(json_object_get(it, "untimed_why"));
	assert_int_equal(json_integer_value(json_object_get(j, "untimed")), 1);
	json_decref(j);
	teardown_view_free(&v);

	/* Beside a timed teardown whose 150 ms stretch FAILs. */
	e[1] = e[0];
	sim_begin(&m, true);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 150 * MS));
	assert_true(sim_switch_out(&m, 0, TD_STATE_PREEMPTED, SPIN, "spin"));
	m.r.id = 2;
	build(&m, &s, e, &v, ARCH_X86_64, true);
	s.entries = e;
	s.n = 2;
	teardown_view_free(&v);
	assert_int_equal(teardown_view_build(&s, 1.0, NULL, &v), 0);
	assert_int_equal(v.teardowns, 2);
	assert_int_equal(v.untimed, 1);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value,
				 evidence), VERDICT_FAIL);
	assert_true(value > 150 && value < 152);
	teardown_view_free(&v);
}

/* Nobody on the CPU as the unfixed walk begins; a task is woken onto it
 * 150 ms into the 280 ms walk: the stretch counts from its wakeup. */
static void waiter_arriving_mid_run_counts_from_arrival(void **state)
{
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	char evidence[EVIDENCE_LEN];
	struct sim m;
	double value;
	uint64_t woken_at;

	(void)state;
	sim_begin(&m, false);
	sim_enter(&m, TD_PH_FLUSH, 1 * MS);
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	sim_wakeup(&m, 150 * MS, WOKEN);
	woken_at = m.now;
	/* Later arrivals do not move the start. */
	sim_arrive(&m, 20 * MS, MOVED, NULL, TD_WAIT_MIGRATED);
	sim_wakeup(&m, 10 * MS, 900);
	assert_false(sim_exit(&m, TD_PH_STAGE2, 100 * MS));
	assert_false(sim_exit(&m, TD_PH_FLUSH, 10 * US));
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 100 * US, TD_STATE_PREEMPTED, MOVED,
				   "mover"));
	assert_int_equal(m.r.max_stretch_start, woken_at);
	assert_int_equal(m.r.max_stretch_ns, m.now - woken_at);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_WOKEN);
	assert_int_equal(m.r.max_stretch_first, WOKEN);
	assert_true(m.r.max_run_ns > m.r.max_stretch_ns + 150 * MS);
	/* The task that got the CPU came by migration, 20 ms later. */
	assert_int_equal(m.r.max_stretch_waiter, MOVED);
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_MIGRATED);
	assert_int_equal(m.r.max_stretch_wait_ns, m.now - woken_at - 20 * MS);
	/* Held by the walk: 130 ms of the stretch were in it. */
	assert_int_equal(stretch_phase(&m.r, TD_PH_STAGE2), 130 * MS);

	build(&m, &s, &e, &v, ARCH_ARM64, false);
	assert_string_equal(v.items[0].holder, "kvm_pgtable_stage2_destroy");
	assert_int_equal(v.items[0].behaviour, TB_HELD);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, evidence),
			 VERDICT_FAIL);
	assert_true(value > 130 && value < 131);
	assert_non_null(strstr(evidence, "after worker (pid 700, woken) wanted it"));
	assert_non_null(strstr(evidence, "mover (pid 800) waited"));
	teardown_view_free(&v);

	/* The same walk with the wakeup 200 ms in: 80 ms, PASS. */
	sim_begin(&m, false);
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	sim_wakeup(&m, 200 * MS, WOKEN);
	sim_exit(&m, TD_PH_STAGE2, 80 * MS);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, TD_STATE_PREEMPTED, WOKEN,
				   "worker"));
	build(&m, &s, &e, &v, ARCH_ARM64, false);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, NULL),
			 VERDICT_PASS);
	assert_true(value > 80 && value < 81);
	teardown_view_free(&v);
}

/* A task that wanted the CPU when the run began counts from the start:
 * preempted by the switch that began it, or runnable there before. */
static void waiter_at_start_counts_from_start(void **state)
{
	struct sim m;

	(void)state;
	sim_begin(&m, true);
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	sim_wakeup(&m, 50 * MS, WOKEN);	/* second: changes nothing */
	sim_exit(&m, TD_PH_STAGE2, 70 * MS);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, TD_STATE_PREEMPTED, WOKEN,
				   "worker"));
	assert_int_equal(m.r.max_stretch_start, m.r.max_run_start);
	assert_int_equal(m.r.max_stretch_ns, m.r.max_run_ns);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_PREEMPTED);
	assert_int_equal(m.r.max_stretch_first, SPIN);
	/* Named by the switch that preempted it, not by the one that ends
	 * the run (WOKEN ran next). */
	assert_string_equal(m.r.max_stretch_first_comm, "spinner");
	/* WOKEN ran next: its own wait is from its wakeup. */
	assert_int_equal(m.r.max_stretch_wait_ns, 70 * MS + 20 * US);

	/* Runnable there before the run began, seen only as it runs; a
	 * task woken later does not move the start. */
	sim_begin(&m, false);
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	sim_wakeup(&m, 100 * MS, WOKEN);
	sim_exit(&m, TD_PH_STAGE2, 20 * MS);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, TD_STATE_PREEMPTED, 42, "other"));
	assert_int_equal(m.r.max_stretch_ns, m.r.max_run_ns);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_BEFORE);
	assert_int_equal(m.r.max_stretch_first, 42);
	assert_int_equal(stretch_phase(&m.r, TD_PH_STAGE2), 120 * MS);
}

/* Nothing preempted, but the run queue held another task as the run
 * began (the exit run: the competitor, preempted by a stopper before the
 * run, got the CPU only after a kworker woken mid-walk): from the start,
 * unnamed, whoever gets the CPU at the end. */
static void queued_waiter_counts_from_start(void **state)
{
	struct teardown_entry e;
	struct teardown_sample s;
	struct teardown_view v;
	char evidence[EVIDENCE_LEN];
	struct sim m;
	double value;
	json_t *j, *first;

	(void)state;
	sim_begin(&m, false);
	/* phase_enter found one more task on the run queue. */
	m.c.wanted = td_want(&m.r, m.c.last_switch_ns, 0, NULL,
			     TD_WAIT_QUEUED);
	assert_true(m.c.wanted);
	/* An unnamed arrival is only ever a queued one. */
	assert_false(td_want(&m.r, m.now, 0, NULL, TD_WAIT_WOKEN));
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	sim_wakeup(&m, 150 * MS, WOKEN);
	sim_exit(&m, TD_PH_STAGE2, 130 * MS);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, TD_STATE_PREEMPTED, WOKEN,
				   "worker"));
	assert_int_equal(m.r.max_stretch_ns, m.r.max_run_ns);
	assert_int_equal(m.r.max_stretch_how, TD_WAIT_QUEUED);
	assert_int_equal(m.r.max_stretch_first, 0);
	assert_int_equal(m.r.max_stretch_waiter, WOKEN);
	assert_int_equal(m.r.max_stretch_wait_ns, 130 * MS + 20 * US);

	build(&m, &s, &e, &v, ARCH_ARM64, false);
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, evidence),
			 VERDICT_FAIL);
	assert_true(value > 281 && value < 282);
	assert_non_null(strstr(evidence, "after a task already queued on it as the run began wanted it"));
	j = teardown_view_json(&v);
	first = json_object_get(json_object_get(json_array_get(
		json_object_get(j, "recent"), 0), "longest_stretch"), "first_waiter");
	assert_true(json_is_null(json_object_get(first, "pid")));
	assert_string_equal(json_string_value(json_object_get(first, "since")),
			    "queued");
	json_decref(j);
	teardown_view_free(&v);
}

/* Not waiters: the thread's own wakeup, a task that came after the
 * teardown ended; a migration then the wakeup it was part of is woken. */
static void arrivals_that_are_not_waiters(void **state)
{
	struct sim m;

	(void)state;
	sim_begin(&m, false);
	assert_false(td_want(&m.r, m.now, VMM, comm16("kvmload"), TD_WAIT_WOKEN));
	sim_arrive(&m, 1 * MS, VMM, "kvmload", TD_WAIT_WOKEN);
	assert_int_equal(m.c.nwakes, 0);
	assert_int_equal(m.r.cur_want_ns, 0);
	sim_arrive(&m, 1 * MS, WOKEN, NULL, TD_WAIT_MIGRATED);
	sim_arrive(&m, 0, WOKEN, "worker", TD_WAIT_WOKEN);
	assert_int_equal(m.r.cur_want_how, TD_WAIT_WOKEN);
	assert_string_equal(m.r.cur_want_comm, "worker");
	assert_int_equal(m.c.nwakes, 1);
	assert_int_equal(m.c.wake_how[0], TD_WAIT_WOKEN);

	sim_begin(&m, false);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 5 * MS));
	/* Back in the VMM's own code: a wakeup now is not the teardown's. */
	sim_wakeup(&m, 200 * MS, WOKEN);
	assert_int_equal(m.r.cur_want_ns, 0);
	assert_true(sim_switch_out(&m, 1 * MS, TD_STATE_PREEMPTED, WOKEN,
				   "worker"));
	assert_int_equal(m.r.stretches, 0);
	assert_int_equal(m.r.max_stretch_ns, 0);
	assert_true(m.r.max_run_ns > 200 * MS);
	/* ... but it did wait behind the run. */
	assert_int_equal(m.r.max_wait_ns, 1 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(woken_task_waits_from_its_wakeup),
		cmocka_unit_test(long_run_without_waiter_passes),
		cmocka_unit_test(waiter_arriving_mid_run_counts_from_arrival),
		cmocka_unit_test(waiter_at_start_counts_from_start),
		cmocka_unit_test(queued_waiter_counts_from_start),
		cmocka_unit_test(arrivals_that_are_not_waiters),
		cmocka_unit_test(waiter_that_moved_away_waited_until_it_moved),
		cmocka_unit_test(teardown_seen_at_return_is_not_judged),
		cmocka_unit_test(thread_death_ends_the_exit_window),
	};

	return cmocka_run_group_tests_name("teardown waiters", tests, NULL,
					   NULL);
}
