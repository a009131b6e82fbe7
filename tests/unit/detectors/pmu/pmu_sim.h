/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the pmu tests share: synthetic vCPU runs, calls timed the way
 * op_begin/op_end time them and register exits counted the way count_reg
 * counts them, and the host facts of each testbed arch.
 */
#ifndef KVMWATCH_TEST_PMU_SIM_H
#define KVMWATCH_TEST_PMU_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gate/check.h"
#include "core/histogram.h"
#include "detectors/exits/exits_model.h"
#include "detectors/pmu/pmu_model.h"

static inline struct pmu_host_facts x86_facts(enum kvm_vendor vendor,
					      int enable_pmu)
{
	struct pmu_host_facts f = {
		.arch = ARCH_X86_64, .vendor = vendor, .enable_pmu = enable_pmu,
		.enable_mediated_pmu = -1, .vpmc = -1,
	};

	return f;
}

/* A run being built: records and the run info the detector would keep. */
struct sim {
	struct pmu_vcpu_record vcpus[8];
	size_t nvcpus;
	struct pmu_op_record ops[8 * PMU_OP_COUNT];
	size_t nops;
	struct pmu_reg_record regs[32];
	size_t nregs;
	struct pmu_run_info run;
};

static inline void sim_init(struct sim *s, const struct pmu_host_facts *f)
{
	int op;

	memset(s, 0, sizeof(*s));
	s->run.facts = *f;
	pmu_mechanism_decide(f, &s->run.mech);
	for (op = 0; op < PMU_OP_COUNT; op++) {
		bool arm = op <= PMU_OP_RESTORE_HOST;

		s->run.ops[op].state = (arm == (f->arch == ARCH_ARM64)) ?
			PMU_WATCH_ON : PMU_WATCH_NA;
		s->run.ops[op].mode = ATTACH_FENTRY;
	}
	s->run.regs.state = PMU_WATCH_ON;
	s->run.regs.mode = ATTACH_TRACEPOINT;
	s->run.exits.state = PMU_WATCH_ON;
	s->run.exits.mode = ATTACH_TRACEPOINT;
	s->run.ids.state = PMU_WATCH_ON;
	s->run.ids.mode = ATTACH_FENTRY;
}

static inline struct pmu_vcpu_stats *sim_vcpu(struct sim *s, uint32_t pid,
					      uint32_t tid, uint32_t vcpu_id)
{
	size_t i;

	for (i = 0; i < s->nvcpus; i++)
		if (s->vcpus[i].key.pid == pid && s->vcpus[i].key.tid == tid)
			return &s->vcpus[i].stats;
	s->vcpus[i].key.pid = pid;
	s->vcpus[i].key.tid = tid;
	s->vcpus[i].stats.vcpu_id = vcpu_id;
	s->vcpus[i].stats.vpmu = PMU_VPMU_UNKNOWN;
	s->nvcpus++;
	return &s->vcpus[i].stats;
}

/* The calls of op in a thread, as op_of() of bpf/pmu.bpf.c keeps them. */
static inline struct pmu_op_stats *sim_op(struct sim *s, uint32_t pid,
					  uint32_t tid, enum pmu_op op)
{
	size_t i;

	for (i = 0; i < s->nops; i++)
		if (s->ops[i].key.pid == pid && s->ops[i].key.tid == tid &&
		    s->ops[i].key.op == (uint32_t)op)
			return &s->ops[i].stats;
	s->ops[i].key.pid = pid;
	s->ops[i].key.tid = tid;
	s->ops[i].key.op = op;
	s->nops++;
	return &s->ops[i].stats;
}

/* op_begin + op_end of bpf/pmu.bpf.c for one call taking ns. */
static inline void sim_call(struct sim *s, uint32_t pid, uint32_t tid,
			    enum pmu_op op, uint64_t ns)
{
	struct pmu_op_stats *o = sim_op(s, pid, tid, op);

	o->count++;
	o->timed++;
	o->total_ns += ns;
	if (ns > o->max_ns)
		o->max_ns = ns;
	o->hist.slots[log2_slot(ns)]++;
}

/* count_reg of bpf/pmu.bpf.c. */
static inline void sim_reg(struct sim *s, uint32_t pid, uint32_t tid,
			   uint32_t reg, bool write, bool fault)
{
	struct pmu_vcpu_stats *v = sim_vcpu(s, pid, tid, PMU_VCPU_ID_UNKNOWN);
	size_t i;

	if (write)
		v->reg_writes++;
	else
		v->reg_reads++;
	v->reg_faults += fault;
	for (i = 0; i < s->nregs; i++)
		if (s->regs[i].key.pid == pid && s->regs[i].key.tid == tid &&
		    s->regs[i].key.reg == reg)
			break;
	if (i == s->nregs) {
		s->regs[i].key.pid = pid;
		s->regs[i].key.tid = tid;
		s->regs[i].key.reg = reg;
		s->nregs++;
	}
	if (write) {
		s->regs[i].stats.writes++;
		s->regs[i].stats.write_faults += fault;
	} else {
		s->regs[i].stats.reads++;
		s->regs[i].stats.read_faults += fault;
	}
}

/* A heap copy, as pmu_sample() hands out (keys in map order: shuffled). */
static inline void sim_sample(const struct sim *s, uint64_t ts,
			      struct pmu_sample *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->ts_ns = ts;
	out->run = s->run;
	out->vcpus = calloc(s->nvcpus + 1, sizeof(*out->vcpus));
	out->ops = calloc(s->nops + 1, sizeof(*out->ops));
	out->regs = calloc(s->nregs + 1, sizeof(*out->regs));
	assert_non_null(out->vcpus);
	assert_non_null(out->ops);
	assert_non_null(out->regs);
	for (i = 0; i < s->nvcpus; i++)
		out->vcpus[i] = s->vcpus[s->nvcpus - 1 - i];
	for (i = 0; i < s->nops; i++)
		out->ops[i] = s->ops[s->nops - 1 - i];
	for (i = 0; i < s->nregs; i++)
		out->regs[i] = s->regs[s->nregs - 1 - i];
	out->nvcpus = s->nvcpus;
	out->nops = s->nops;
	out->nregs = s->nregs;
	pmu_sample_sort(out);
}

/*
 * An arm64 vCPU: loads at each KVM_RUN and sched-in, the kvmload pmu
 * loop's register traps and the re-syncs they cause.
 */
static inline void sim_arm64_vcpu(struct sim *s, uint32_t pid, uint32_t tid,
				  uint32_t vcpu_id, unsigned int iterations,
				  unsigned int loads, uint64_t load_ns)
{
	struct pmu_vcpu_stats *v = sim_vcpu(s, pid, tid, vcpu_id);
	unsigned int i, k;

	v->vpmu = 1;
	for (i = 0; i < loads; i++) {
		sim_call(s, pid, tid, PMU_OP_RESTORE_GUEST, load_ns);
		sim_call(s, pid, tid, PMU_OP_RESTORE_HOST, load_ns / 2);
	}
	sim_reg(s, pid, tid, PMU_SYSREG(3, 3, 9, 12, 0), false, false);
	sim_reg(s, pid, tid, PMU_SYSREG(3, 3, 9, 12, 0), true, false);
	for (i = 0; i < iterations; i++) {
		static const uint32_t writes[] = {
			PMU_SYSREG(3, 3, 14, 8, 0), PMU_SYSREG(3, 3, 14, 12, 0),
			PMU_SYSREG(3, 3, 9, 12, 1), PMU_SYSREG(3, 3, 9, 12, 2),
		};

		for (k = 0; k < 4; k++)
			sim_reg(s, pid, tid, writes[k], true, false);
		sim_reg(s, pid, tid, PMU_SYSREG(3, 3, 14, 8, 0), false, false);
		/* The PMEVTYPER and PMCNTENSET writes re-sync the filters. */
		sim_call(s, pid, tid, PMU_OP_RESYNC_GUEST, 900);
		sim_call(s, pid, tid, PMU_OP_RESYNC_GUEST, 900);
	}
	v = sim_vcpu(s, pid, tid, vcpu_id);
	v->exits += 5 * iterations + 2;
}

static inline struct pmu_host_facts arm64_facts(void)
{
	struct pmu_host_facts f = {
		.arch = ARCH_ARM64, .vendor = VENDOR_ARM64, .enable_pmu = -1,
		.enable_mediated_pmu = -1, .vpmc = -1,
		.has_restore_guest = true,
	};

	snprintf(f.host_pmu, sizeof(f.host_pmu), "armv8_pmuv3");
	return f;
}

static inline const struct pmu_vcpu_view *
find_vcpu(const struct pmu_view *view, uint32_t tid)
{
	size_t i, j;

	for (i = 0; i < view->nvms; i++)
		for (j = 0; j < view->vms[i].nvcpus; j++)
			if (view->vms[i].vcpus[j].tid == tid)
				return &view->vms[i].vcpus[j];
	return NULL;
}

static inline const struct pmu_reg_view *
find_reg(const struct pmu_vcpu_view *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->nregs; i++)
		if (!strcmp(v->regs[i].name, name))
			return &v->regs[i];
	return NULL;
}

/* The x86 testbed: vPMU off, the guest still writes the AMD MSRs. */
static inline void sim_x86_off(struct sim *s, unsigned int k)
{
	struct pmu_host_facts f = x86_facts(VENDOR_SVM, 0);
	unsigned int i, t;

	sim_init(s, &f);
	for (t = 0; t < 2; t++) {
		struct pmu_vcpu_stats *v = sim_vcpu(s, 500, 501 + t, t);

		/* 6.12 refreshes no PMU with enable_pmu=N; 6.1's AMD code
		 * still sets version 1 (vCPU 502). */
		v->vpmu = t;
		v->pmu_version = t;
		v->exits = 4 * k + 10;
		for (i = 0; i < k; i++) {
			sim_reg(s, 500, 501 + t, 0xc0010004, true, false);
			sim_reg(s, 500, 501 + t, 0xc0010000, true, false);
			sim_reg(s, 500, 501 + t, 0xc0010004, false, false);
			sim_reg(s, 500, 501 + t, 0xc0010000, true, false);
		}
	}
}

#endif
