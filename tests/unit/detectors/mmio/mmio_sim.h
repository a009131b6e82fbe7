/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the mmio tests share: a model of the maps that bpf/mmio.h's
 * classification fills, fed event streams as KVM emits them (VMX, SVM,
 * arm64; fentry and tracepoint mode), and the view and verdicts built
 * from what those streams left.
 */
#ifndef KVMWATCH_TEST_MMIO_SIM_H
#define KVMWATCH_TEST_MMIO_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gate/check.h"
#include "bpf/mmio.h"
#include "detectors/mmio/mmio_model.h"

#define PID 4242
#define US 1000ull
#define SVM_NPF 0x400
#define VMX_EPT_MISCONFIG 49
#define ARM64_DABT_LOW 0x24
#define FAST_GPA 0xd0000000ull
#define MATCH_GPA 0xd1000000ull
#define USER_GPA 0xd2000000ull
#define EOPNOTSUPP_RET (-95)

/* A model of the maps: what the BPF programs would leave there. */
struct sim {
	bool fentry;		/* kvm_io_bus_write and the handler probed */
	uint32_t exit_reason;	/* the vendor's MMIO exit */
	uint64_t now;
	uint64_t handler_cost;
	/* The vCPU thread is switched out during every n-th handler run
	 * (0: never): it waits for a CPU, as a busy host makes it. */
	int preempt_every;
	int runs;
	uint64_t switches;
	struct mmio_thread t[4];	/* by tid - 100 */
	struct mmio_record recs[64];
	size_t nrecs;
	uint64_t cands[8];
	size_t ncands;
};

static inline struct mmio_stats *stats_of(struct sim *s, uint32_t tid,
					  uint64_t gpa)
{
	size_t i;

	for (i = 0; i < s->nrecs; i++)
		if (s->recs[i].key.tid == tid && s->recs[i].key.gpa == gpa)
			return &s->recs[i].stats;
	assert_true(s->nrecs < 64);
	memset(&s->recs[s->nrecs], 0, sizeof(s->recs[0]));
	s->recs[s->nrecs].key.pid = PID;
	s->recs[s->nrecs].key.tid = tid;
	s->recs[s->nrecs].key.gpa = gpa;
	return &s->recs[s->nrecs++].stats;
}

static inline struct mmio_thread *thread(struct sim *s, uint32_t tid)
{
	struct mmio_thread *t = &s->t[tid - 100];

	t->pid = PID;
	t->tid = tid;
	return t;
}

static inline void done(struct sim *s, uint32_t tid, int closed,
			const struct mmio_done *d)
{
	if (closed)
		mmio_account(stats_of(s, tid, d->gpa), d);
}

static inline bool candidate(const struct sim *s, uint64_t gpa)
{
	size_t i;

	for (i = 0; i < s->ncands; i++)
		if (s->cands[i] == gpa)
			return true;
	return false;
}

static inline void ev_exit(struct sim *s, uint32_t tid, uint32_t reason)
{
	struct mmio_done d;

	done(s, tid, mmio_on_exit(thread(s, tid), reason, &d), &d);
}

static inline void ev_entry(struct sim *s, uint32_t tid)
{
	struct mmio_done d;

	done(s, tid, mmio_on_entry(thread(s, tid), &d), &d);
}

static inline void ev_vmm_exit(struct sim *s, uint32_t tid, uint32_t reason,
			       int err)
{
	struct mmio_done d;

	done(s, tid, mmio_on_vmm_exit(thread(s, tid), reason, err, &d), &d);
}

static inline void ev_decoded(struct sim *s, uint32_t tid, uint64_t gpa)
{
	struct mmio_done d;

	done(s, tid, mmio_on_decoded(thread(s, tid), gpa, 4, &d), &d);
}

/* kvm_io_bus_write returning (fentry mode only). */
static inline void ev_bus(struct sim *s, uint32_t tid, bool fast, uint64_t gpa,
			  int ret)
{
	struct mmio_done d;
	int missed;

	if (!s->fentry)
		return;
	done(s, tid, mmio_on_bus_write(thread(s, tid), fast, !fast, gpa, ret,
				       !fast && candidate(s, gpa), &missed, &d),
	     &d);
	if (missed)
		stats_of(s, tid, gpa)->fast_misses++;
}

static inline void ev_fast_tracepoint(struct sim *s, uint32_t tid, uint64_t gpa)
{
	struct mmio_done d;

	if (s->fentry)
		return;	/* unneeded: the fexit program sees the hit */
	thread(s, tid)->fast_events++;
	done(s, tid, mmio_on_fast(thread(s, tid), gpa, &d), &d);
}

static inline void ev_handler(struct sim *s, uint32_t tid, bool entry,
			      bool nested)
{
	if (!s->fentry)
		return;
	if (entry) {
		mmio_on_handler_entry(thread(s, tid), s->now, nested,
				      s->switches);
	} else {
		s->now += s->handler_cost;
		if (s->preempt_every && ++s->runs % s->preempt_every == 0) {
			s->switches++;
			s->now += 4000 * US;	/* a time slice elsewhere */
		}
		mmio_on_handler_exit(thread(s, tid), s->now, s->switches);
	}
}

/* One guest store to gpa, as the given kernel handles it. */
enum kernel { SVM_612, VMX, ARM64 };

static inline void store(struct sim *s, enum kernel k, uint32_t tid,
			 uint64_t gpa, bool has_device, bool nested)
{
	bool fast_device = candidate(s, gpa);

	s->now += 10 * US;
	ev_exit(s, tid, s->exit_reason);
	ev_handler(s, tid, true, nested);
	if (k == VMX && !nested) {
		ev_bus(s, tid, true, gpa, fast_device ? 0 : EOPNOTSUPP_RET);
		if (fast_device) {
			ev_fast_tracepoint(s, tid, gpa);
			ev_handler(s, tid, false, false);
			ev_entry(s, tid);
			return;
		}
	}
	if (k != ARM64)
		mmio_on_emulate(thread(s, tid));
	ev_decoded(s, tid, gpa);
	ev_bus(s, tid, false, gpa, has_device ? 0 : EOPNOTSUPP_RET);
	ev_handler(s, tid, false, false);
	if (has_device) {
		ev_entry(s, tid);
		return;
	}
	ev_vmm_exit(s, tid, MMIO_KVM_EXIT_MMIO, 0);
}

static inline void sim_start(struct sim *s, enum kernel k, bool fentry)
{
	memset(s, 0, sizeof(*s));
	s->fentry = fentry;
	s->exit_reason = k == SVM_612 ? SVM_NPF : k == VMX ?
		VMX_EPT_MISCONFIG : ARM64_DABT_LOW;
	s->now = 1000000000ull;
	s->handler_cost = 30 * US;
	/* The len-0 ioeventfd is on KVM_FAST_MMIO_BUS on every arch. */
	s->cands[s->ncands++] = FAST_GPA;
}

/* kvmload's mmio scenario on one vCPU: n stores of each kind. */
static inline void kvmload_mmio(struct sim *s, enum kernel k, uint32_t tid,
				int n)
{
	int i;

	for (i = 0; i < n; i++)
		store(s, k, tid, FAST_GPA, true, false);
	for (i = 0; i < n; i++)
		store(s, k, tid, MATCH_GPA, true, false);
	for (i = 0; i < n; i++)
		store(s, k, tid, USER_GPA, false, false);
}

static inline struct mmio_setup setup_for(enum kernel k, bool fentry)
{
	struct mmio_setup setup = { 0 };

	setup.vendor = k == SVM_612 ? VENDOR_SVM : k == VMX ? VENDOR_VMX :
		VENDOR_ARM64;
	setup.handler = k == SVM_612 ? "npf_interception" : k == VMX ?
		"handle_ept_misconfig" : "kvm_handle_guest_abort";
	setup.handler_found = true;
	setup.bus_probed = fentry;
	setup.handler_probed = fentry;
	setup.ioeventfd_probed = fentry;
	setup.emulate_watched = k != ARM64;
	setup.exit_watched = true;
	setup.fast_tracepoint_exists = k != ARM64;
	setup.nrips = k == SVM_612 ? 1 : -1;
	/* The vendor module's file is not read here (module_code_decides). */
	setup.code_fast_path = -1;
	if (!fentry) {
		snprintf(setup.candidates_why, sizeof(setup.candidates_why),
			 "kvm_io_bus_write is watched in tracepoint mode");
		snprintf(setup.costs_why, sizeof(setup.costs_why),
			 "%s is watched in none mode", setup.handler);
	}
	return setup;
}

/* What mmio_sample() would read from the sim's maps. */
static inline void sim_sample(const struct sim *s,
			      const struct mmio_setup *setup,
			      struct mmio_sample *out)
{
	size_t i, n = 0;

	memset(out, 0, sizeof(*out));
	out->setup = *setup;
	out->recs = calloc(s->nrecs + 1, sizeof(*out->recs));
	out->threads = calloc(4, sizeof(*out->threads));
	out->vms = calloc(1, sizeof(*out->vms));
	out->cands = calloc(s->ncands + 1, sizeof(*out->cands));
	assert_non_null(out->recs);
	assert_non_null(out->threads);
	assert_non_null(out->vms);
	assert_non_null(out->cands);
	memcpy(out->recs, s->recs, s->nrecs * sizeof(*out->recs));
	out->nrecs = s->nrecs;
	for (i = 0; i < 4; i++)
		if (s->t[i].pid) {
			out->threads[n].key.tid = 100 + i;
			out->threads[n++].t = s->t[i];
		}
	out->nthreads = n;
	if (setup->bus_probed) {
		out->vms[0].key.pid = PID;
		out->vms[0].vm.bus = 0xffff888000001000ull;
		out->vms[0].vm.bus_count = s->ncands;
		out->vms[0].vm.scans = 1;
		out->vms[0].vm.candidates = s->ncands;
		out->nvms = 1;
		for (i = 0; i < s->ncands; i++) {
			out->cands[i].key.pid = PID;
			out->cands[i].key.gpa = s->cands[i];
			out->cands[i].c.bus = out->vms[0].vm.bus;
			out->cands[i].c.bus_count = s->ncands;
		}
		out->ncands = s->ncands;
	}
	mmio_sample_sort(out);
}

static inline void build(const struct sim *s, enum kernel k, bool fentry,
			 struct mmio_view *view)
{
	struct mmio_setup setup = setup_for(k, fentry);
	struct mmio_sample sample;

	sim_sample(s, &setup, &sample);
	assert_int_equal(mmio_view_from(&sample, 2.0, k == SVM_612 ?
					 EXIT_TABLE_SVM : k == VMX ?
					 EXIT_TABLE_VMX : EXIT_TABLE_ARM64,
					 view), 0);
	mmio_sample_free(&sample);
}

static inline const struct mmio_addr_view *addr(const struct mmio_view *v,
						uint64_t gpa)
{
	size_t i;

	assert_int_equal(v->nvms, 1);
	for (i = 0; i < v->vms[0].naddrs; i++)
		if (v->vms[0].addrs[i].gpa == gpa)
			return &v->vms[0].addrs[i];
	fail_msg("no address 0x%llx", (unsigned long long)gpa);
	return NULL;
}

static inline void verdicts(const struct mmio_view *v, bool expect_fast,
			    struct rule_result *r)
{
	static const char *const names[] = {
		"mmio.emulated_candidates", "mmio.fast_path",
		"mmio.fast_share", "mmio.write_cost_p50_us",
	};
	struct check_data d = { 0 };
	size_t i;

	d.views[DET_MMIO] = v;
	d.expect_fast_mmio = expect_fast;
	for (i = 0; i < 4; i++) {
		const struct check_rule *rule = check_rule_find(names[i]);

		assert_non_null(rule);
		check_evaluate(rule, rule->default_threshold, &d, &r[i]);
	}
}

#endif
