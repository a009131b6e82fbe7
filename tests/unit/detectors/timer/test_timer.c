// SPDX-License-Identifier: GPL-2.0
/*
 * The catch-up chain logic of bpf/timer.h (the code the BPF programs run)
 * driven by a model of KVM's LAPIC hrtimer: apic_timer_fn and
 * advance_periodic_target_expiration with and without the fix, fired the
 * way hrtimer_interrupt fires an expired timer. The verdicts of
 * `kvmwatch check --lockup` on those streams must differ as the kernels do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gate/check.h"
#include "bpf/timer.h"
#include "detectors/timer/timer_model.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull

struct sim {
	bool fixed;			/* the kernel has the fix */
	bool return_known;		/* fexit/kretprobe, else tracepoints */
	uint32_t mode;
	int64_t period;
	uint64_t target;		/* ktimer->target_expiration */
	uint64_t expires;		/* the hrtimer's */
	bool armed;
	uint64_t now;
	uint64_t cost;			/* ns per callback */
	uint64_t fired;
	struct timer_state t;
	struct timer_stats s;
};

static void sim_start(struct sim *m, bool fixed, bool return_known,
		      uint32_t mode, int64_t period)
{
	memset(m, 0, sizeof(*m));
	m->fixed = fixed;
	m->return_known = return_known;
	m->mode = mode;
	m->period = period;
	m->now = 1000 * SEC;
	m->cost = 1 * US;
	/* start_sw_timer: first expiry one period (or 100 us) from now. */
	m->target = m->now + (period > 0 ? (uint64_t)period : 100 * US);
	m->expires = m->target;
	m->armed = true;
}

/* One run of apic_timer_fn as the kernel does it. */
static void sim_fire(struct sim *m)
{
	enum timer_restart restart = TIMER_NORESTART;
	uint64_t before;

	timer_on_entry(&m->t, &m->s, m->now, m->expires, m->period, m->mode,
		       false);
	m->fired++;
	m->now += m->cost;
	if (m->mode == TIMER_MODE_PERIODIC && m->period > 0) {
		before = m->target;
		m->target += m->period;
		/* The fix: a target in the past becomes now... */
		if (m->fixed && m->target < m->now)
			m->target = m->now;
		timer_on_advance(&m->s, m->now, before, m->period, m->target);
		/* ...and the hrtimer is set to it, not pushed by a period. */
		if (m->fixed)
			m->expires = m->target;
		else
			m->expires += m->period;
		restart = TIMER_RESTART;
	} else if (m->mode == TIMER_MODE_PERIODIC && !m->fixed) {
		/* Before the series, period 0 re-armed at the same expiry. */
		restart = TIMER_RESTART;
	} else {
		m->armed = false;
	}
	timer_on_exit(&m->t, &m->s, m->now, m->expires,
		      m->return_known ? restart : TIMER_RESTART_UNKNOWN);
}

/* hrtimer_interrupt until until, at most max_fires callbacks. */
static void sim_run(struct sim *m, uint64_t until, uint64_t max_fires)
{
	uint64_t start = m->fired;

	while (m->now < until && m->fired - start < max_fires) {
		if (m->armed && m->expires <= m->now)
			sim_fire(m);
		else
			m->now = m->armed && m->expires < until ? m->expires : until;
	}
}

/* QEMU stopped (host suspend, paused VM): time passes, nothing fires. */
static void sim_stall(struct sim *m, uint64_t ns)
{
	m->now += ns;
}

static void steady_then_stall(struct sim *m, bool fixed, bool return_known)
{
	sim_start(m, fixed, return_known, TIMER_MODE_PERIODIC, 1 * MS);
	sim_run(m, m->now + 1 * SEC, 100000);
	sim_stall(m, 3 * SEC);
	sim_run(m, m->now + 1 * SEC, 100000);
}

static void unfixed_stall_makes_a_long_chain(void **state)
{
	struct sim m;

	(void)state;
	steady_then_stall(&m, false, true);
	/* 3 s of 1 ms periods replayed back to back (and the few that
	 * pass while they run). */
	assert_in_range(m.s.longest_chain, 2990, 3010);
	assert_int_equal(m.s.catchup_rearms, m.s.longest_chain);
	assert_int_equal(m.s.chains, 1);
	assert_true(m.s.longest_chain_lateness_ns >= 3 * SEC - 1 * MS);
	assert_true(m.s.longest_chain_ns >= m.s.longest_chain * m.cost);
	assert_int_equal(m.s.advances_clamped, 0);
	assert_true(m.s.advances_past >= 2990);
	assert_int_equal(m.s.period0, 0);
}

static void fixed_stall_fires_once_more(void **state)
{
	struct sim m;

	(void)state;
	steady_then_stall(&m, true, true);
	/* Re-armed at now: it fires once more at once, but that is no
	 * catch-up (the expiry was not behind the callback's start). */
	assert_int_equal(m.s.late_rearms, 1);
	assert_int_equal(m.s.catchup_rearms, 0);
	assert_int_equal(m.s.longest_chain, 0);
	assert_int_equal(m.s.chains, 0);
	assert_true(m.s.max_lateness_ns >= 3 * SEC - 1 * MS);
	assert_int_equal(m.s.advances_past, 1);
	assert_int_equal(m.s.advances_clamped, 1);
	assert_true(m.s.max_response_ns >= m.s.max_lateness_ns + m.cost);
	assert_int_equal(m.s.max_callback_ns, m.cost);
	/* Back on its period: about 1000 + 1000 callbacks and the one late
	 * catch-up, not the 3000 missed ticks. */
	assert_in_range(m.s.callbacks, 1999, 2003);
}

static void steady_timer_has_no_chain(void **state)
{
	struct sim m;
	int fixed;

	(void)state;
	for (fixed = 0; fixed < 2; fixed++) {
		sim_start(&m, fixed, true, TIMER_MODE_PERIODIC, 200 * US);
		sim_run(&m, m.now + 2 * SEC + 1, 100000);
		assert_int_equal(m.s.callbacks, 10000);
		assert_int_equal(m.s.restarts, 10000);
		assert_int_equal(m.s.chains, 0);
		assert_int_equal(m.s.late_rearms, 0);
		assert_int_equal(m.s.catchup_rearms, 0);
		assert_int_equal(m.s.by_mode[TIMER_MODE_PERIODIC], 10000);
	}
}

/* Tracepoint mode infers re-arming from the expiry: same figures. */
static void tracepoint_mode_sees_the_same(void **state)
{
	struct sim known, inferred;
	int fixed;

	(void)state;
	for (fixed = 0; fixed < 2; fixed++) {
		steady_then_stall(&known, fixed, true);
		steady_then_stall(&inferred, fixed, false);
		assert_memory_equal(&known.s, &inferred.s, sizeof(known.s));
	}
}

static void oneshot_and_deadline_make_no_chain(void **state)
{
	uint32_t modes[] = { TIMER_MODE_ONESHOT, TIMER_MODE_TSCDEADLINE };
	struct sim m;
	size_t i;
	int known;

	(void)state;
	for (i = 0; i < 2; i++) {
		for (known = 0; known < 2; known++) {
			sim_start(&m, false, known, modes[i], 0);
			sim_stall(&m, 5 * SEC);	/* fires very late */
			sim_run(&m, m.now + 1 * SEC, 100);
			assert_int_equal(m.s.callbacks, 1);
			assert_true(m.s.max_lateness_ns >= 4 * SEC);
			assert_int_equal(m.s.restarts, 0);
			assert_int_equal(m.s.late_rearms, 0);
			assert_int_equal(m.s.catchup_rearms, 0);
			assert_int_equal(m.s.chains, 0);
			assert_int_equal(m.s.longest_chain, 0);
			assert_int_equal(m.s.period0, 0);
		}
	}
}

static void period0_is_counted_not_chained(void **state)
{
	struct sim m;

	(void)state;
	/* Fixed: WARN and no restart. */
	sim_start(&m, true, true, TIMER_MODE_PERIODIC, 0);
	sim_run(&m, m.now + 1 * SEC, 100);
	assert_int_equal(m.s.period0, 1);
	assert_int_equal(m.s.chains, 0);
	assert_int_equal(m.s.longest_chain, 0);
	/* Tracepoint mode must not take the unmoved expiry for a re-arm. */
	sim_start(&m, true, false, TIMER_MODE_PERIODIC, 0);
	sim_run(&m, m.now + 1 * SEC, 100);
	assert_int_equal(m.s.period0, 1);
	assert_int_equal(m.s.late_rearms, 0);
	/* Unfixed: re-armed at the same expiry, forever (cut at 50). */
	sim_start(&m, false, true, TIMER_MODE_PERIODIC, 0);
	sim_run(&m, m.now + 1 * SEC, 50);
	assert_int_equal(m.s.period0, 50);
	assert_int_equal(m.s.late_rearms, 50);
	assert_int_equal(m.s.longest_chain, 0);	/* still open */
}

/* The host pauses in the middle of a callback: no lateness to see, but
 * the callback spans the pause, and so does its response time. */
static void pause_inside_a_callback(void **state)
{
	struct sim m;

	(void)state;
	sim_start(&m, true, true, TIMER_MODE_PERIODIC, 1 * MS);
	sim_run(&m, m.now + 10 * MS, 100);
	m.cost = 3 * SEC;
	sim_run(&m, m.now + 1 * MS + 1, 1);
	m.cost = 1 * US;
	sim_run(&m, m.now + 10 * MS, 100);
	assert_true(m.s.max_lateness_ns < 1 * MS);
	assert_true(m.s.max_callback_ns >= 3 * SEC);
	assert_true(m.s.max_response_ns >= 3 * SEC);
	assert_int_equal(m.s.longest_chain, 0);
	assert_int_equal(m.s.late_rearms, 1);
}

/* The guest re-programs its timer between two callbacks: no chain. */
static void reprogrammed_timer_breaks_the_chain(void **state)
{
	struct sim m;

	(void)state;
	sim_start(&m, false, true, TIMER_MODE_PERIODIC, 1 * MS);
	sim_run(&m, m.now + 10 * MS, 100);
	sim_stall(&m, 5 * MS);
	sim_fire(&m);			/* re-arms into the past */
	assert_int_equal(m.t.rearmed_behind, 1);
	m.expires = m.target = m.now + 1 * MS;	/* start_sw_timer */
	sim_run(&m, m.now + 10 * MS, 100);
	assert_int_equal(m.s.longest_chain, 0);
	assert_int_equal(m.s.catchup_rearms, 1);
}

/* From the simulated streams through the model to the rules. */
static void verdict(struct sim *m, struct rule_result *chain,
		    struct rule_result *period0)
{
	struct timer_record rec = { .key = { .pid = 42, .vcpu_id = 1 } };
	struct timer_sample sample = { .recs = &rec, .nrecs = 1 };
	struct check_data d = { .duration_sec = 5, .start_mono_ns = 1000 * SEC,
				.start_epoch = 1.7e9 };
	struct timer_view view;

	rec.stats = m->s;
	rec.stats.tid = 4242;
	assert_int_equal(timer_view_build(&sample, 5, NULL, &view), 0);
	d.views[DET_TIMER] = &view;
	check_evaluate(check_rule_find("timer.max_chain"), 2, &d, chain);
	check_evaluate(check_rule_find("timer.period0"), 0, &d, period0);
	timer_view_free(&view);
}

static void verdicts_differ_as_the_kernels_do(void **state)
{
	struct rule_result chain, period0;
	struct sim m;

	(void)state;
	steady_then_stall(&m, false, true);
	verdict(&m, &chain, &period0);
	assert_int_equal(chain.verdict, VERDICT_FAIL);
	assert_true(chain.value > 2000);
	assert_non_null(strstr(chain.evidence, "VM pid 42 vCPU 1 (thread 4242)"));
	assert_non_null(strstr(chain.evidence, "ms late"));
	assert_int_equal(period0.verdict, VERDICT_PASS);

	steady_then_stall(&m, true, false);
	verdict(&m, &chain, &period0);
	assert_int_equal(chain.verdict, VERDICT_PASS);
	assert_true(chain.value == 0);

	sim_start(&m, false, true, TIMER_MODE_PERIODIC, 0);
	sim_run(&m, m.now + 1 * SEC, 50);
	verdict(&m, &chain, &period0);
	assert_int_equal(period0.verdict, VERDICT_FAIL);
	assert_non_null(strstr(period0.evidence, "period 0"));
}

static void delta_keeps_maxima_and_subtracts_counts(void **state)
{
	struct timer_record a = { .key = { 1, 0 } }, b = { .key = { 1, 0 } };
	struct timer_sample prev = { .recs = &a, .nrecs = 1 };
	struct timer_sample cur = { .recs = &b, .nrecs = 1 };
	struct timer_sample out;

	(void)state;
	a.stats.callbacks = 100;
	a.stats.longest_chain = 7;
	a.stats.lateness.slots[3] = 100;
	b.stats.callbacks = 250;
	b.stats.longest_chain = 7;
	b.stats.lateness.slots[3] = 240;
	b.stats.period_ns = 1000000;
	assert_int_equal(timer_sample_delta(&prev, &cur, &out), 0);
	assert_int_equal(out.nrecs, 1);
	assert_int_equal(out.recs[0].stats.callbacks, 150);
	assert_int_equal(out.recs[0].stats.lateness.slots[3], 140);
	assert_int_equal(out.recs[0].stats.longest_chain, 7);
	assert_int_equal(out.recs[0].stats.period_ns, 1000000);
	timer_sample_free(&out);
}

static void view_rates_against_the_period(void **state)
{
	struct timer_record rec = { .key = { 7, 3 } };
	struct timer_sample sample = { .recs = &rec, .nrecs = 1 };
	struct timer_view view;

	(void)state;
	rec.stats.callbacks = 1990;
	rec.stats.mode = TIMER_MODE_PERIODIC;
	rec.stats.period_ns = 1000000;
	rec.stats.lateness_ns = 1990 * 5000;
	rec.stats.lateness.slots[13] = 1990;
	assert_int_equal(timer_view_build(&sample, 2.0, NULL, &view), 0);
	assert_int_equal(view.nvcpus, 1);
	assert_true(view.vcpus[0].callbacks_per_sec == 995.0);
	assert_true(view.vcpus[0].programmed_per_sec == 1000.0);
	assert_int_equal(view.vcpus[0].lateness_avg_ns, 5000);
	assert_int_equal(view.vcpus[0].lateness_p99_ns_le, 8192);
	assert_string_equal(view.vcpus[0].mode, "periodic");
	timer_view_free(&view);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unfixed_stall_makes_a_long_chain),
		cmocka_unit_test(fixed_stall_fires_once_more),
		cmocka_unit_test(steady_timer_has_no_chain),
		cmocka_unit_test(tracepoint_mode_sees_the_same),
		cmocka_unit_test(oneshot_and_deadline_make_no_chain),
		cmocka_unit_test(period0_is_counted_not_chained),
		cmocka_unit_test(pause_inside_a_callback),
		cmocka_unit_test(reprogrammed_timer_breaks_the_chain),
		cmocka_unit_test(verdicts_differ_as_the_kernels_do),
		cmocka_unit_test(delta_keeps_maxima_and_subtracts_counts),
		cmocka_unit_test(view_rates_against_the_period),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
