// SPDX-License-Identifier: GPL-2.0
/*
 * The MMIO write classification of bpf/mmio.h (the code the BPF programs
 * run) driven by event streams as KVM emits them: VMX with its fast path,
 * SVM without one (6.12), arm64, in fentry and in tracepoint mode; then
 * the view, the fast-path decision and the verdicts of `check --mmio`
 * on what those streams left in the maps.
 */
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

static struct mmio_stats *stats_of(struct sim *s, uint32_t tid, uint64_t gpa)
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

static struct mmio_thread *thread(struct sim *s, uint32_t tid)
{
	struct mmio_thread *t = &s->t[tid - 100];

	t->pid = PID;
	return t;
}

static void done(struct sim *s, uint32_t tid, int closed,
		 const struct mmio_done *d)
{
	if (closed)
		mmio_account(stats_of(s, tid, d->gpa), d);
}

static bool candidate(const struct sim *s, uint64_t gpa)
{
	size_t i;

	for (i = 0; i < s->ncands; i++)
		if (s->cands[i] == gpa)
			return true;
	return false;
}

static void ev_exit(struct sim *s, uint32_t tid, uint32_t reason)
{
	struct mmio_done d;

	done(s, tid, mmio_on_exit(thread(s, tid), reason, &d), &d);
}

static void ev_entry(struct sim *s, uint32_t tid)
{
	struct mmio_done d;

	done(s, tid, mmio_on_entry(thread(s, tid), &d), &d);
}

static void ev_vmm_exit(struct sim *s, uint32_t tid, uint32_t reason, int err)
{
	struct mmio_done d;

	done(s, tid, mmio_on_vmm_exit(thread(s, tid), reason, err, &d), &d);
}

static void ev_decoded(struct sim *s, uint32_t tid, uint64_t gpa)
{
	struct mmio_done d;

	done(s, tid, mmio_on_decoded(thread(s, tid), gpa, 4, &d), &d);
}

/* kvm_io_bus_write returning (fentry mode only). */
static void ev_bus(struct sim *s, uint32_t tid, bool fast, uint64_t gpa,
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

static void ev_fast_tracepoint(struct sim *s, uint32_t tid, uint64_t gpa)
{
	struct mmio_done d;

	if (s->fentry)
		return;	/* unneeded: the fexit program sees the hit */
	thread(s, tid)->fast_events++;
	done(s, tid, mmio_on_fast(thread(s, tid), gpa, &d), &d);
}

static void ev_handler(struct sim *s, uint32_t tid, bool entry, bool nested)
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

static void store(struct sim *s, enum kernel k, uint32_t tid, uint64_t gpa,
		  bool has_device, bool nested)
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

static void sim_start(struct sim *s, enum kernel k, bool fentry)
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
static void kvmload_mmio(struct sim *s, enum kernel k, uint32_t tid, int n)
{
	int i;

	for (i = 0; i < n; i++)
		store(s, k, tid, FAST_GPA, true, false);
	for (i = 0; i < n; i++)
		store(s, k, tid, MATCH_GPA, true, false);
	for (i = 0; i < n; i++)
		store(s, k, tid, USER_GPA, false, false);
}

static struct mmio_setup setup_for(enum kernel k, bool fentry)
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
static void sim_sample(const struct sim *s, const struct mmio_setup *setup,
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
			out->threads[n].tid = 100 + i;
			out->threads[n++].t = s->t[i];
		}
	out->nthreads = n;
	if (setup->bus_probed) {
		out->vms[0].pid = PID;
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

static void build(const struct sim *s, enum kernel k, bool fentry,
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

static const struct mmio_addr_view *addr(const struct mmio_view *v,
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

static void verdicts(const struct mmio_view *v, bool expect_fast,
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

/* ---- intervals, JSON, metrics ---- */

static void interval_delta(void **state)
{
	struct mmio_setup setup = setup_for(SVM_612, true);
	struct mmio_sample a, b, out;
	struct mmio_view v;
	struct sim s;

	(void)state;
	sim_start(&s, SVM_612, true);
	kvmload_mmio(&s, SVM_612, 100, 10);
	sim_sample(&s, &setup, &a);
	kvmload_mmio(&s, SVM_612, 100, 5);
	sim_sample(&s, &setup, &b);
	assert_int_equal(mmio_sample_delta(&a, &b, &out), 0);
	assert_int_equal(mmio_view_from(&out, 1.0, EXIT_TABLE_SVM, &v), 0);
	assert_int_equal(v.writes, 15);
	assert_int_equal(addr(&v, FAST_GPA)->path[MMIO_PATH_EMULATED].writes, 5);
	assert_int_equal(v.exits, 15);
	assert_int_equal(v.fast_path.slow_candidate_runs, 5);
	/* Candidates are the current ones, not a difference. */
	assert_int_equal(addr(&v, FAST_GPA)->candidate, 1);
	mmio_view_free(&v);
	mmio_sample_free(&out);
	/* An entry re-created in between restarts from its own counts. */
	b.recs[0].stats.path[MMIO_PATH_EMULATED].writes = 2;
	assert_int_equal(mmio_sample_delta(&a, &b, &out), 0);
	assert_int_equal(out.recs[0].stats.path[MMIO_PATH_EMULATED].writes, 2);
	mmio_sample_free(&out);
	mmio_sample_free(&a);
	mmio_sample_free(&b);
}

static void json_says_what_is_unknown(void **state)
{
	struct mmio_view v;
	struct sim s;
	json_t *doc, *a;

	(void)state;
	sim_start(&s, SVM_612, false);
	kvmload_mmio(&s, SVM_612, 100, 3);
	build(&s, SVM_612, false, &v);
	doc = mmio_view_json(&v);
	assert_true(json_is_null(json_object_get(json_object_get(doc,
		"fast_path"), "present")));
	assert_false(json_is_true(json_object_get(doc, "candidates_known")));
	assert_true(json_is_string(json_object_get(doc, "candidates_why")));
	assert_true(json_is_null(json_object_get(json_object_get(doc, "costs"),
						 "emulated")));
	a = json_array_get(json_object_get(json_array_get(json_object_get(doc,
		"vms"), 0), "addresses"), 0);
	assert_int_equal(json_integer_value(json_object_get(a, "gpa")),
			 FAST_GPA);
	assert_true(json_is_null(json_object_get(a, "candidate")));
	assert_string_equal(json_string_value(json_object_get(a, "class")),
			    "emulated");
	assert_true(json_is_null(json_object_get(json_object_get(a,
		"emulated"), "cost_avg_ns")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a,
		"emulated"), "insn_emulated")), 3);
	json_decref(doc);
	mmio_view_free(&v);

	sim_start(&s, SVM_612, true);
	kvmload_mmio(&s, SVM_612, 100, 3);
	build(&s, SVM_612, true, &v);
	doc = mmio_view_json(&v);
	assert_true(json_is_false(json_object_get(json_object_get(doc,
		"fast_path"), "present")));
	a = json_array_get(json_object_get(json_array_get(json_object_get(doc,
		"vms"), 0), "candidates"), 0);
	assert_int_equal(json_integer_value(a), FAST_GPA);
	json_decref(doc);
	mmio_view_free(&v);
}

static void metrics_for_the_baseline(void **state)
{
	struct metric_set set = { 0 };
	const struct metric *m;
	struct mmio_view v;
	struct sim s;

	(void)state;
	sim_start(&s, VMX, true);
	kvmload_mmio(&s, VMX, 100, 10);
	build(&s, VMX, true, &v);
	assert_int_equal(mmio_view_metrics(&v, &set), 0);
	m = metric_find(&set, "mmio.writes", "");
	assert_non_null(m);
	assert_true(m->value == 30);
	m = metric_find(&set, "mmio.fast_writes", "");
	assert_true(m->value == 10);
	assert_string_equal(m->per, "mmio.writes");
	assert_int_equal(m->better, BETTER_HIGHER);
	m = metric_find(&set, "mmio.fast_share", "");
	assert_int_equal(m->better, BETTER_HIGHER);
	m = metric_find(&set, "mmio.exits", "");
	assert_string_equal(m->per, "mmio.writes");
	assert_true(m->value == 30);
	m = metric_find(&set, "mmio.write_cost_ns", "path=fast");
	assert_non_null(m);
	assert_int_equal(m->type, METRIC_HISTOGRAM);
	assert_true(m->value == 10);
	assert_true(m->sum == 10 * 30 * US);
	m = metric_find(&set, "mmio.addr_writes",
			"vm=4242,addr=0xd0000000,path=fast");
	assert_non_null(m);
	assert_true(m->per_entity);
	assert_true(m->value == 10);
	metric_set_free(&set);
	mmio_view_free(&v);

	/* Tracepoint mode: no cost metrics rather than zeros. */
	sim_start(&s, VMX, false);
	kvmload_mmio(&s, VMX, 100, 10);
	build(&s, VMX, false, &v);
	assert_int_equal(mmio_view_metrics(&v, &set), 0);
	assert_null(metric_find(&set, "mmio.write_cost_ns", "path=fast"));
	assert_null(metric_find(&set, "mmio.fast_misses", ""));
	assert_non_null(metric_find(&set, "mmio.fast_writes", ""));
	metric_set_free(&set);
	mmio_view_free(&v);
}

static void text_table(void **state)
{
	struct mmio_view v;
	struct sim s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	sim_start(&s, SVM_612, true);
	kvmload_mmio(&s, SVM_612, 100, 4);
	build(&s, SVM_612, true, &v);
	f = open_memstream(&buf, &len);
	mmio_view_text(f, &v, "fentry+tracepoint");
	fclose(f);
	assert_non_null(strstr(buf, "mmio: fentry+tracepoint - svm npf_interception: fast path absent (observed)"));
	assert_non_null(strstr(buf, "12 writes: fast 0, emulated 8, to VMM 4"));
	assert_non_null(strstr(buf, "0xd0000000"));
	assert_non_null(strstr(buf, "candidates (len-0 ioeventfds): 0xd0000000"));
	free(buf);
	mmio_view_free(&v);
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
		cmocka_unit_test(interval_delta),
		cmocka_unit_test(json_says_what_is_unknown),
		cmocka_unit_test(metrics_for_the_baseline),
		cmocka_unit_test(text_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
