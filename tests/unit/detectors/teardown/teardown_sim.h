/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the teardown tests share: synthetic CPU timelines driving the run
 * and stretch bookkeeping of bpf/teardown.h, with glue that mirrors what
 * bpf/teardown.bpf.c does around the helpers, and the verdict a built
 * view gets from `kvmwatch check --teardown`.
 */
#ifndef KVMWATCH_TEST_TEARDOWN_SIM_H
#define KVMWATCH_TEST_TEARDOWN_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gate/check.h"
#include "bpf/teardown_runs.h"
#include "detectors/teardown/teardown_model.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull

#define VMM 500		/* the VMM process and its thread */
#define SPIN 600	/* a CPU-bound task on the same CPU */
#define WOKEN 700
#define MOVED 800

/* A task name as the tracepoints give it: TD_COMM_LEN bytes. */
static inline const char *comm16(const char *name)
{
	static char buf[4][TD_COMM_LEN];
	static unsigned int next;
	char *b = buf[next++ % 4];

	memset(b, 0, TD_COMM_LEN);
	strncpy(b, name, TD_COMM_LEN - 1);
	return b;
}

struct sim {
	struct td_record r;
	struct td_cpu c;
	uint64_t now;
};

/* The thread, on the CPU since the last switch (that preempted SPIN when
 * spin_waits), enters kvm_destroy_vm. */
static inline void sim_begin(struct sim *m, bool spin_waits)
{
	memset(m, 0, sizeof(*m));
	m->now = 100 * SEC;
	m->c.last_switch_ns = m->now - 1 * MS;
	m->c.last_prev = SPIN;
	m->c.last_prev_runnable = spin_waits;
	if (spin_waits)
		strcpy(m->c.last_prev_comm, "spinner");
	m->r.id = 1;
	m->r.pid = VMM;
	m->r.tid = VMM;
	strcpy(m->r.comm, "kvmload");
	m->r.start_ns = m->now;
	td_stretch_open(&m->r, 1, m->c.last_switch_ns, true);
	m->c.preempted = m->c.last_prev_runnable ? m->c.last_prev : 0;
	if (m->c.preempted)
		m->c.wanted = td_want(&m->r, m->c.last_switch_ns,
				      m->c.preempted, m->c.last_prev_comm,
				      TD_WAIT_PREEMPTED);
	m->c.td_tid = VMM;
	td_phase_enter(&m->r, TD_PH_DESTROY_VM, m->now);
}

/* Phase p's time in the longest stretch, as the model reads it. */
static inline uint64_t stretch_phase(const struct td_record *r, unsigned int p)
{
	return td_phase_time(r->max_stretch_phase_ns, r->max_stretch_phase_open,
			     p, r->max_stretch_start, r->max_stretch_end);
}

static inline void sim_enter(struct sim *m, unsigned int p, uint64_t after)
{
	m->now += after;
	td_phase_enter(&m->r, p, m->now);
}

static inline bool sim_exit(struct sim *m, unsigned int p, uint64_t after)
{
	m->now += after;
	return td_phase_exit(&m->r, p, m->now);
}

/* sched_switch: the thread goes off the CPU in state, next comes on. */
static inline bool sim_switch_out(struct sim *m, uint64_t after, long state,
				  uint32_t next, const char *comm)
{
	struct td_next n = { .pid = next };

	m->now += after;
	n.how = td_waiter(&m->c, next, m->r.cur_start, &n.wait_from);
	strncpy(n.comm, comm, sizeof(n.comm) - 1);
	m->c.td_tid = 0;
	m->c.last_switch_ns = m->now;
	m->c.last_prev = VMM;
	m->c.last_prev_runnable = td_state_runnable(state);
	return td_stretch_close(&m->r, m->now, state, &n);
}

/* ... and comes back after the other task ran for ran ns. */
static inline void sim_switch_in(struct sim *m, uint64_t ran, uint32_t prev,
				 bool prev_runnable)
{
	m->now += ran;
	td_stretch_open(&m->r, 1, m->now, true);
	m->c.td_tid = VMM;
	m->c.preempted = prev_runnable ? prev : 0;
	m->c.nwakes = 0;
	m->c.wanted = 0;
	if (m->c.preempted)
		m->c.wanted = td_want(&m->r, m->now, prev, comm16("spin"),
				      TD_WAIT_PREEMPTED);
	m->c.last_switch_ns = m->now;
}

/* sched_wakeup / sched_migrate_task onto the thread's CPU (arrival()). */
static inline void sim_arrive(struct sim *m, uint64_t after, uint32_t pid,
			      const char *comm, uint32_t how)
{
	m->now += after;
	if (!m->c.td_tid || pid == m->c.td_tid)
		return;
	td_cpu_arrival(&m->c, pid, m->now, how);
	if (m->c.wanted && how != TD_WAIT_WOKEN)
		return;
	if (td_want(&m->r, m->now, pid, comm ? comm16(comm) : NULL, how))
		m->c.wanted = 1;
}

static inline void sim_wakeup(struct sim *m, uint64_t after, uint32_t pid)
{
	sim_arrive(m, after, pid, "worker", TD_WAIT_WOKEN);
}

/* sched_migrate_task away from the thread's CPU (departure()): pid moves
 * to another CPU, leaving waiting tasks still queued there. */
static inline void sim_leave(struct sim *m, uint64_t after, uint32_t pid,
			     const char *comm, unsigned int waiting)
{
	struct td_next n = { .pid = pid };

	m->now += after;
	if (!m->c.td_tid || !m->c.wanted || waiting)
		return;
	strncpy(n.comm, comm, sizeof(n.comm) - 1);
	td_waiter_left(&m->c, &m->r, m->now, &n);
}

static inline void build(struct sim *m, struct teardown_sample *s,
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
	assert_int_equal(teardown_view_build(s, 1.0, NULL, v), 0);
}

static inline enum rule_verdict verdict(const struct teardown_view *v,
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

#endif
