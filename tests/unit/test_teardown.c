// SPDX-License-Identifier: GPL-2.0
/*
 * The stretch bookkeeping of bpf/teardown.h (the code the BPF programs
 * run) driven by synthetic CPU timelines: a teardown walking its stage-2
 * table in one go or range by range, with and without another task
 * waiting for its CPU, and the verdicts `kvmwatch check --teardown` gives.
 * The glue below mirrors what bpf/teardown.bpf.c does around the helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"
#include "teardown.h"
#include "teardown_model.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull

#define VMM 500		/* the VMM process and its thread */
#define SPIN 600	/* a CPU-bound task on the same CPU */
#define WOKEN 700

struct sim {
	struct td_record r;
	struct td_cpu c;
	uint64_t now;
};

/* The thread, on the CPU since the last switch (that preempted SPIN when
 * spin_waits), enters kvm_destroy_vm. */
static void sim_begin(struct sim *m, bool spin_waits)
{
	memset(m, 0, sizeof(*m));
	m->now = 100 * SEC;
	m->c.last_switch_ns = m->now - 1 * MS;
	m->c.last_prev = SPIN;
	m->c.last_prev_runnable = spin_waits;
	m->r.id = 1;
	m->r.pid = VMM;
	m->r.tid = VMM;
	strcpy(m->r.comm, "kvmload");
	m->r.start_ns = m->now;
	td_stretch_open(&m->r, 1, m->c.last_switch_ns, true);
	m->c.preempted = m->c.last_prev_runnable ? m->c.last_prev : 0;
	m->c.td_tid = VMM;
	td_phase_enter(&m->r, TD_PH_DESTROY_VM, m->now);
}

static void sim_enter(struct sim *m, unsigned int p, uint64_t after)
{
	m->now += after;
	td_phase_enter(&m->r, p, m->now);
}

static bool sim_exit(struct sim *m, unsigned int p, uint64_t after)
{
	m->now += after;
	return td_phase_exit(&m->r, p, m->now);
}

/* sched_switch: the thread goes off the CPU in state, next comes on. */
static bool sim_switch_out(struct sim *m, uint64_t after, long state,
			   uint32_t next, const char *comm)
{
	char c[TD_COMM_LEN] = { 0 };
	__u64 from;
	uint32_t how;

	m->now += after;
	how = td_waiter(&m->c, next, m->r.cur_start, &from);
	strncpy(c, comm, sizeof(c) - 1);
	m->c.td_tid = 0;
	m->c.last_switch_ns = m->now;
	m->c.last_prev = VMM;
	m->c.last_prev_runnable = td_state_runnable(state);
	return td_stretch_close(&m->r, m->now, state, next, c, from, how);
}

/* ... and comes back after the other task ran for ran ns. */
static void sim_switch_in(struct sim *m, uint64_t ran, uint32_t prev,
			  bool prev_runnable)
{
	m->now += ran;
	td_stretch_open(&m->r, 1, m->now, true);
	m->c.td_tid = VMM;
	m->c.preempted = prev_runnable ? prev : 0;
	m->c.nwakes = 0;
	m->c.last_switch_ns = m->now;
}

static void sim_wakeup(struct sim *m, uint64_t after, uint32_t pid)
{
	m->now += after;
	m->c.wake_pid[m->c.nwakes] = pid;
	m->c.wake_ns[m->c.nwakes] = m->now;
	m->c.nwakes++;
}

static void build(struct sim *m, struct teardown_sample *s,
		  struct teardown_entry *e, struct teardown_view *v,
		  enum kw_arch arch, bool fixed)
{
	memset(s, 0, sizeof(*s));
	memset(e, 0, sizeof(*e));
	e->rec = m->r;
	s->entries = e;
	s->n = 1;
	s->ts_ns = m->now + 1 * MS;
	s->kernel.arch = arch;
	s->kernel.stage2_fn = arch == ARCH_ARM64;
	s->kernel.range_fn = fixed;
	s->kernel.pgd_fn = fixed;
	s->kernel.tdp_fn = arch == ARCH_X86_64;
	s->kernel.boundaries = true;
	s->kernel.walker = arch == ARCH_ARM64;
	s->kernel.wakeups = true;
	assert_int_equal(teardown_view_build(s, 1.0, v), 0);
}

static enum rule_verdict verdict(const struct teardown_view *v,
				 const char *rule, double *value,
				 char *evidence)
{
	const struct check_rule *r = check_rule_find(rule);
	struct check_data d = { 0 };
	struct rule_result res;

	assert_non_null(r);
	d.views[DET_TEARDOWN] = v;
	check_evaluate(r, r->default_threshold, &d, &res);
	*value = res.value;
	if (evidence)
		strcpy(evidence, res.evidence);
	return res.verdict;
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

	assert_int_equal(m.r.stretches, 1);
	assert_int_equal(m.r.yields, 0);	/* after the end: not inside */
	assert_int_equal(m.r.end_how, TD_END_DESTROY);
	/* One stretch from the switch before the teardown to the one after. */
	assert_int_equal(m.r.max_stretch_ns, 1 * MS + 1 * MS + 280 * MS + 1 * MS +
			 4 * 10 * US + 100 * US);
	assert_int_equal(m.r.max_stretch_waiter, SPIN);
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_PREEMPTED);
	assert_int_equal(m.r.max_stretch_wait_ns, m.r.max_stretch_ns);
	assert_int_equal(m.r.max_stretch_phase_ns[TD_PH_STAGE2], 280 * MS);

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
	assert_int_equal(verdict(&v, "teardown.max_wait_ms", &value, NULL),
			 VERDICT_FAIL);
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
	sim_enter(&m, TD_PH_STAGE2, 10 * US);
	for (i = 0; i < 8; i++) {
		sim_enter(&m, TD_PH_STAGE2_RANGE, 1 * US);
		sim_exit(&m, TD_PH_STAGE2_RANGE, 30 * MS);
		/* cond_resched(): preempted, SPIN runs a slice. */
		assert_false(sim_switch_out(&m, 1 * US, TD_STATE_PREEMPTED,
					    SPIN, "spin"));
		sim_switch_in(&m, 3 * MS, SPIN, true);
	}
	sim_exit(&m, TD_PH_STAGE2, 10 * US);
	sim_exit(&m, TD_PH_FLUSH, 10 * US);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 10 * US));
	assert_true(sim_switch_out(&m, 10 * US, 1 /* S */, 0, ""));

	assert_int_equal(m.r.yields, 8);
	assert_int_equal(m.r.phase_switches[TD_PH_STAGE2], 8);
	assert_int_equal(m.r.stretches, 9);
	assert_true(m.r.max_stretch_ns < 33 * MS);
	/* run time excludes the 8 slices SPIN had */
	assert_int_equal(m.r.run_ns, m.r.end_ns - m.r.start_ns - 8 * 3 * MS);

	build(&m, &s, &e, &v, ARCH_ARM64, true);
	assert_string_equal(v.symbols, "fixed");
	assert_string_equal(v.behaviour, "yields");
	assert_int_equal(v.items[0].behaviour, TB_YIELDED);
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
	json_t *j, *st;

	(void)state;
	sim_begin(&m, false);
	sim_enter(&m, TD_PH_FLUSH, 100 * US);
	sim_enter(&m, TD_PH_TDP_ZAP_ALL, 10 * US);
	sim_exit(&m, TD_PH_TDP_ZAP_ALL, 2 * MS);
	sim_exit(&m, TD_PH_FLUSH, 10 * US);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 1 * MS));
	assert_true(sim_switch_out(&m, 50 * US, 1, 0, ""));
	assert_int_equal(m.r.max_stretch_waiter, 0);
	assert_int_equal(m.r.max_wait_ns, 0);

	build(&m, &s, &e, &v, ARCH_X86_64, false);
	assert_string_equal(v.symbols, "n/a");
	assert_string_equal(v.behaviour, "unknown");
	assert_int_equal(verdict(&v, "teardown.max_stretch_ms", &value, NULL),
			 VERDICT_PASS);
	/* No silent zeros: no waiter is null with a reason. */
	j = teardown_view_json(&v);
	st = json_object_get(json_array_get(json_object_get(j, "recent"), 0),
			     "longest_stretch");
	assert_true(json_is_null(json_object_get(st, "waiter")));
	assert_non_null(json_string_value(json_object_get(st, "waiter_why")));
	json_decref(j);
	teardown_view_free(&v);
}

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
	assert_string_equal(m.r.max_waiter_comm, "worker");
	/* Someone else gets the CPU, neither preempted nor woken here: at
	 * least since the stretch began. */
	sim_begin(&m, false);
	assert_true(sim_exit(&m, TD_PH_DESTROY_VM, 50 * MS));
	assert_true(sim_switch_out(&m, 0, TD_STATE_PREEMPTED, 42, "other"));
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_BEFORE);
	assert_int_equal(m.r.max_stretch_wait_ns, 51 * MS);
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
	td_phase_enter(&m.r, TD_PH_EXIT, m.now);
	/* Blocks once in exit_mm (not the end), then runs 150 ms. */
	assert_false(sim_switch_out(&m, 2 * MS, 2 /* D */, 0, ""));
	assert_int_equal(m.r.blocks, 1);
	sim_switch_in(&m, 1 * MS, 0, false);
	assert_true(sim_switch_out(&m, 150 * MS, 0x20 /* Z */, SPIN, "spin"));
	assert_int_equal(m.r.end_how, TD_END_EXIT);
	assert_int_equal(m.r.end_ns, m.now);
	assert_int_equal(m.r.max_stretch_ns, 150 * MS);
	/* SPIN was runnable since before the stretch began. */
	assert_int_equal(m.r.max_stretch_wait_how, TD_WAIT_BEFORE);
	assert_true(td_state_dead(0x10) && td_state_dead(0x20));
	assert_false(td_state_dead(TD_STATE_PREEMPTED) || td_state_dead(0) ||
		     td_state_dead(1) || td_state_dead(2));
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
	cur_e[2].rec.id = 3;		/* still open */
	prev.entries = prev_e;
	prev.n = 2;
	cur.entries = cur_e;
	cur.n = 3;
	assert_int_equal(teardown_sample_delta(&prev, &cur, &out), 0);
	assert_true(out.entries[0].earlier);
	assert_false(out.entries[1].earlier);
	assert_false(out.entries[2].earlier);
	assert_int_equal(teardown_view_build(&out, 1.0, &v), 0);
	assert_int_equal(v.teardowns, 1);
	assert_int_equal(v.open, 1);
	assert_int_equal(v.nitems, 3);
	assert_int_equal(v.items[0].rec->id, 3);	/* newest first */
	assert_int_equal(v.items[2].rec->id, 1);	/* earlier last */
	assert_int_equal(teardown_view_metrics(&v, &ms), 0);
	m = metric_find(&ms, "teardown.max_stretch_ms", "");
	assert_non_null(m);
	assert_true(m->value == 150.0);
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
		cmocka_unit_test(woken_task_waits_from_its_wakeup),
		cmocka_unit_test(thread_death_ends_the_exit_window),
		cmocka_unit_test(holder_is_the_innermost_half),
		cmocka_unit_test(delta_marks_earlier_teardowns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
