/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map layouts shared by bpf/pmu.bpf.c and src/detectors/pmu/, and which MSRs and
 * system registers belong to the PMU: the classification is compiled into
 * both the BPF programs and the unit tests, so the tests check the very
 * ranges the kernel side filters on.
 */
#ifndef KVMWATCH_PMU_H
#define KVMWATCH_PMU_H

#include "hist.h"
#include "vm_ident.h"

#define PMU_MAX_THREADS 4096
/* Room for every op in every thread (entries are allocated as made). */
#define PMU_MAX_OP_ENTRIES (PMU_MAX_THREADS * PMU_OP_COUNT)
#define PMU_MAX_REGS 16384
#define PMU_VCPU_ID_UNKNOWN 0xffffffffu

/*
 * Timed PMU work, one slot per kernel function: which of them is "the"
 * world switch depends on the mechanism the kernel uses (src/detectors/pmu/pmu_mechanism.c
 * decides; docs/pmu.md explains).
 */
enum pmu_op {
	PMU_OP_RESTORE_GUEST,	/* arm64 kvm_vcpu_pmu_restore_guest in vCPU load */
	PMU_OP_RESYNC_GUEST,	/* ... called elsewhere: after the guest wrote
				 * PMCR, PMEVTYPER or PMCNTENSET, or on
				 * KVM_REQ_RESYNC_PMU_EL0 */
	PMU_OP_RESTORE_HOST,	/* arm64 kvm_vcpu_pmu_restore_host (vCPU put) */
	PMU_OP_MEDIATED_LOAD,	/* x86 kvm_mediated_pmu_load, before entry */
	PMU_OP_MEDIATED_PUT,	/* x86 kvm_mediated_pmu_put, after exit */
	PMU_OP_LOAD_PMCS,	/* x86 kvm_pmu_load_guest_pmcs: software PMC load */
	PMU_OP_PUT_PMCS,	/* x86 kvm_pmu_put_guest_pmcs */
	PMU_OP_GUEST_MSRS,	/* x86 perf_guest_get_msrs: VMX legacy, per entry */
	PMU_OP_HANDLE_EVENT,	/* x86 kvm_pmu_handle_event: KVM_REQ_PMU */
	PMU_OP_DELIVER_PMI,	/* x86 kvm_pmu_deliver_pmi: KVM_REQ_PMI */
	PMU_OP_COUNT,
};

struct pmu_op_stats {
	__u64 count;		/* calls that began */
	__u64 timed;		/* calls whose return was seen */
	__u64 total_ns;
	__u64 max_ns;
	struct log2_hist hist;	/* ns per call */
};

/* Per vCPU thread: a thread runs one vCPU, and every probe here runs in
 * that thread, so an entry is never updated concurrently. */
struct pmu_vcpu_key {
	__u32 pid;	/* VMM process */
	__u32 tid;	/* vCPU thread */
	__u64 vm_start;	/* bpf/vm_ident.h */
};

/* vpmu values; x86 also keeps the guest's PMU version. */
#define PMU_VPMU_UNKNOWN 0xffu

struct pmu_vcpu_stats {
	__u64 exits;		/* kvm:kvm_exit in this thread */
	/* PMU MSR (x86) or system register (arm64) accesses that exited. */
	__u64 reg_reads;
	__u64 reg_writes;
	__u64 reg_faults;	/* x86: the access raised #GP in the guest */
	__u32 vcpu_id;		/* PMU_VCPU_ID_UNKNOWN until a probe says */
	__u8 vpmu;		/* 1 the vCPU has a vPMU, 0 not, or UNKNOWN */
	__u8 pmu_version;	/* x86 kvm_pmu.version */
	__u8 gp_counters;	/* x86 kvm_pmu.nr_arch_gp_counters */
	__u8 pad;
};

/*
 * The calls of one op in one vCPU thread: an entry only for the ops a
 * thread made, not all ten in every thread's entry (a vCPU that makes none
 * was 2 KiB of empty histograms in every read, at 1024 vCPUs 2 MiB).
 */
struct pmu_op_key {
	__u32 pid;
	__u32 tid;
	__u32 op;	/* enum pmu_op */
	__u32 pad;
	__u64 vm_start;
};

struct pmu_reg_key {
	__u32 pid;
	__u32 tid;
	__u32 reg;	/* MSR index, or PMU_SYSREG() of the arm64 register */
	__u32 pad;
	__u64 vm_start;
};

struct pmu_reg_stats {
	__u64 reads;
	__u64 writes;
	__u64 read_faults;
	__u64 write_faults;
};

/* Per thread: when each open call began (0: none open). */
struct pmu_open {
	__u64 start[PMU_OP_COUNT];
	/* kvm_arch_vcpu_load began and has not yet called restore_guest */
	__u32 in_vcpu_load;
	__u32 guest_op;		/* the op the open restore_guest counts as */
};

enum pmu_reg_kind {
	PMU_REG_NONE = 0,	/* not a PMU register */
	PMU_REG_COUNTER,	/* general-purpose counter */
	PMU_REG_EVENTSEL,	/* event selector / type */
	PMU_REG_FIXED,		/* fixed-function counter (and cycle counter) */
	PMU_REG_GLOBAL,		/* global control, status, overflow */
	PMU_REG_CONTROL,	/* other PMU control and ID registers */
	PMU_REG_KIND_COUNT,
};

/*
 * x86 PMU MSRs: Intel architectural PMU and AMD's three generations
 * (legacy K7, PerfCtrExtCore, PerfMonV2). The counter and event-select
 * ranges reach past what current CPUs implement (8 general-purpose, 7
 * fixed counters), so no guest access to a PMU MSR is missed.
 */
static __always_inline enum pmu_reg_kind pmu_msr_kind(__u32 msr)
{
	if (msr >= 0xc1 && msr <= 0xc8)		/* IA32_PMCx */
		return PMU_REG_COUNTER;
	if (msr >= 0x4c1 && msr <= 0x4c8)	/* IA32_A_PMCx (full width) */
		return PMU_REG_COUNTER;
	if (msr >= 0x186 && msr <= 0x18d)	/* IA32_PERFEVTSELx */
		return PMU_REG_EVENTSEL;
	if (msr >= 0x309 && msr <= 0x30f)	/* IA32_FIXED_CTRx */
		return PMU_REG_FIXED;
	if (msr == 0x38d)			/* IA32_FIXED_CTR_CTRL */
		return PMU_REG_CONTROL;
	if (msr >= 0x38e && msr <= 0x392)	/* GLOBAL_STATUS, _CTRL,
						 * _OVF_CTRL, _STATUS_SET, _INUSE */
		return PMU_REG_GLOBAL;
	if (msr == 0x345)			/* IA32_PERF_CAPABILITIES */
		return PMU_REG_CONTROL;
	if (msr >= 0xc0010000 && msr <= 0xc0010003)	/* K7_EVNTSELx */
		return PMU_REG_EVENTSEL;
	if (msr >= 0xc0010004 && msr <= 0xc0010007)	/* K7_PERFCTRx */
		return PMU_REG_COUNTER;
	if (msr >= 0xc0010200 && msr <= 0xc001020b)	/* F15H_PERF_CTL/CTRx */
		return msr & 1 ? PMU_REG_COUNTER : PMU_REG_EVENTSEL;
	if (msr >= 0xc0000300 && msr <= 0xc0000303)	/* PerfMonV2 GLOBAL_* */
		return PMU_REG_GLOBAL;
	return PMU_REG_NONE;
}

/* The kernel's sys_reg() encoding (arch/arm64/include/asm/sysreg.h). */
#define PMU_SYSREG(op0, op1, crn, crm, op2) \
	((__u32)(op0) << 19 | (__u32)(op1) << 16 | (__u32)(crn) << 12 | \
	 (__u32)(crm) << 8 | (__u32)(op2) << 5)
#define PMU_SYSREG_OP0(r) (((r) >> 19) & 3)
#define PMU_SYSREG_OP1(r) (((r) >> 16) & 7)
#define PMU_SYSREG_CRN(r) (((r) >> 12) & 15)
#define PMU_SYSREG_CRM(r) (((r) >> 8) & 15)
#define PMU_SYSREG_OP2(r) (((r) >> 5) & 7)

/* arm64 PMUv3 system registers (AArch64 encodings). */
static __always_inline enum pmu_reg_kind
pmu_sysreg_kind(__u32 op0, __u32 op1, __u32 crn, __u32 crm, __u32 op2)
{
	if (op0 != 3)
		return PMU_REG_NONE;
	/* PMINTENSET_EL1, PMINTENCLR_EL1, PMMIR_EL1 */
	if (op1 == 0 && crn == 9 && crm == 14 &&
	    (op2 == 1 || op2 == 2 || op2 == 6))
		return PMU_REG_CONTROL;
	if (op1 != 3)
		return PMU_REG_NONE;
	if (crn == 9 && crm == 12) {
		/* PMCR PMCNTENSET PMCNTENCLR PMOVSCLR PMSWINC PMSELR PMCEID0/1 */
		return op2 == 3 ? PMU_REG_GLOBAL : PMU_REG_CONTROL;
	}
	if (crn == 9 && crm == 13) {
		if (op2 == 0)		/* PMCCNTR_EL0 */
			return PMU_REG_FIXED;
		if (op2 == 1)		/* PMXEVTYPER_EL0 */
			return PMU_REG_EVENTSEL;
		if (op2 == 2)		/* PMXEVCNTR_EL0 */
			return PMU_REG_COUNTER;
		return PMU_REG_NONE;
	}
	if (crn == 9 && crm == 14) {
		if (op2 == 0)		/* PMUSERENR_EL0 */
			return PMU_REG_CONTROL;
		if (op2 == 3)		/* PMOVSSET_EL0 */
			return PMU_REG_GLOBAL;
		return PMU_REG_NONE;
	}
	if (crn == 14 && crm >= 8 && crm <= 11)	/* PMEVCNTR<n>_EL0 */
		return PMU_REG_COUNTER;
	if (crn == 14 && crm >= 12)		/* PMEVTYPER<n>_EL0, PMCCFILTR */
		return PMU_REG_EVENTSEL;
	return PMU_REG_NONE;
}

#endif
