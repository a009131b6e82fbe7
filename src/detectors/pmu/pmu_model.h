/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PMU figures per VM and vCPU, built from raw samples of the pmu maps
 * by pure functions (tested without a kernel): which mechanism moves the
 * guest's PMU state, world switches and their cost, PMU register exits by
 * register, and the ratios the check rules read.
 */
#ifndef KVMWATCH_PMU_MODEL_H
#define KVMWATCH_PMU_MODEL_H

#include <stdio.h>

#include <jansson.h>

#include "bpf/pmu.h"
#include "core/detector.h"

struct pmu_vcpu_record {
	struct pmu_vcpu_key key;
	struct pmu_vcpu_stats stats;
};

struct pmu_op_record {
	struct pmu_op_key key;
	struct pmu_op_stats stats;
};

struct pmu_reg_record {
	struct pmu_reg_key key;
	struct pmu_reg_stats stats;
};

/* What the running kernel, its parameters and the CPU say about the
 * vPMU; gathered once when the detector starts (pmu_host.c). */
struct pmu_host_facts {
	enum kw_arch arch;
	enum kvm_vendor vendor;
	int enable_pmu;		/* kvm.enable_pmu: 1, 0, -1 no such parameter */
	int enable_mediated_pmu;/* kvm_amd/kvm_intel.enable_mediated_pmu */
	int vpmc;		/* kvm_amd.vpmc: AMD PMC virtualization */
	char host_pmu[32];	/* perf's core PMU device, "" when none */
	bool cpu_perfctr_virt;	/* "perfctr_virt" in /proc/cpuinfo */
	bool has_mediated_load;	/* kvm_mediated_pmu_load in kallsyms */
	bool has_perf_guest_context;	/* perf_load_guest_context */
	bool has_restore_guest;	/* kvm_vcpu_pmu_restore_guest */
	bool has_guest_get_msrs;	/* perf_guest_get_msrs */
	bool btf_vmcb_pmc;	/* vmcb_save_area has perf_cntr_global_control */
	bool btf_mediated_ops;	/* kvm_pmu_ops has mediated_load */
};

enum pmu_mech {
	PMU_MECH_UNKNOWN,	/* KVM not loaded, or an unknown arch */
	PMU_MECH_OFF,		/* no vPMU on this host */
	PMU_MECH_LEGACY,	/* x86: guest counters are host perf events */
	PMU_MECH_MEDIATED,	/* x86: KVM loads/puts the PMU around entry */
	PMU_MECH_HW_VIRT,	/* AMD PMC virtualization: VMRUN switches it */
	PMU_MECH_ARM64,		/* PMUv3 on perf events, switched at load/put */
};

struct pmu_mechanism {
	enum pmu_mech mech;
	/* false: every PMU figure is zero because there is no vPMU. */
	bool vpmu_enabled;
	char why[320];		/* how it was decided, from what */
	char offered[256];	/* what else kernel or CPU offer, or "" */
	/* The ops that are the world switch here; PMU_OP_COUNT if none. */
	enum pmu_op load_op, put_op;
};

/* How one op's point is watched in this run. */
enum pmu_watch {
	PMU_WATCH_NA,		/* not on this arch/vendor */
	PMU_WATCH_OFF,		/* applicable but not watched: see why */
	PMU_WATCH_ON,
};

struct pmu_watch_state {
	enum pmu_watch state;
	enum attach_mode mode;
	char why[WHY_LEN];
};

/* What this run watches, for views built from its samples. */
struct pmu_run_info {
	struct pmu_host_facts facts;
	struct pmu_mechanism mech;
	struct pmu_watch_state ops[PMU_OP_COUNT];
	struct pmu_watch_state regs;	/* kvm_msr or kvm_sys_access */
	struct pmu_watch_state exits;	/* kvm_exit */
	struct pmu_watch_state ids;	/* kvm_arch_vcpu_load */
};

/* One read of the maps, cumulative since attach; sorted by key. */
struct pmu_sample {
	struct pmu_vcpu_record *vcpus;
	size_t nvcpus;
	struct pmu_op_record *ops;	/* by VM, thread, op */
	size_t nops;
	struct pmu_reg_record *regs;
	size_t nregs;
	uint64_t ts_ns;
	struct pmu_run_info run;
};

struct pmu_op_view {
	uint64_t count;
	uint64_t timed;
	uint64_t total_ns;
	double per_sec;
	double avg_ns;		/* of timed calls; 0 when none */
	uint64_t p50_ns_le, p99_ns_le;
	uint64_t max_ns;	/* since attach */
	struct log2_hist *hist;	/* NULL: no call in the interval */
};

struct pmu_reg_view {
	uint32_t reg;		/* MSR index or PMU_SYSREG() */
	char name[32];		/* "K7_PERFCTR0", "PMEVCNTR0_EL0" */
	char encoding[24];	/* "0xc0010004", "S3_3_C14_C8_0" */
	enum pmu_reg_kind kind;
	uint64_t reads, writes, read_faults, write_faults;
};

struct pmu_vcpu_view {
	uint32_t pid, tid;
	uint64_t vm_start;	/* with pid, names the VM (core/vm_ident.h) */
	int64_t vcpu_id;	/* -1 when no probe said */
	int vpmu;		/* 1, 0, or -1 unknown */
	unsigned int pmu_version, gp_counters;	/* x86 */
	uint64_t exits;
	double exits_per_sec;
	struct pmu_op_view ops[PMU_OP_COUNT];
	/* The mechanism's world switches (load_op and put_op). */
	uint64_t loads, puts;
	double switches_per_sec;	/* loads per second */
	double switches_per_exit;	/* loads per exit; < 0 n/a */
	double switch_avg_ns;		/* load and put together; 0 n/a */
	struct log2_hist switch_hist;	/* load and put together */
	uint64_t reg_reads, reg_writes, reg_faults, reg_exits;
	double reg_exits_per_sec;
	double reg_exits_per_exit;	/* < 0 when no exit was seen */
	struct pmu_reg_view *regs;	/* by register */
	size_t nregs;
};

struct pmu_vm_view {
	uint32_t pid;
	uint64_t vm_start;
	uint64_t exits, loads, puts, reg_exits;
	struct pmu_vcpu_view *vcpus;	/* by vCPU index, then thread */
	size_t nvcpus;
};

struct pmu_view {
	double interval_sec;
	struct pmu_run_info run;
	uint64_t exits, loads, puts, reg_exits, reg_faults;
	uint64_t op_counts[PMU_OP_COUNT];
	struct pmu_vm_view *vms;	/* by pid */
	size_t nvms;
	size_t nvcpus;
	/* Every VM's vcpus, in VM order: each VM's are a slice of it. */
	struct pmu_vcpu_view *all_vcpus;
};

const char *pmu_mech_name(enum pmu_mech mech);
/* "restore_guest"...: the op's name in JSON, text and metrics. */
const char *pmu_op_name(enum pmu_op op);
const char *pmu_reg_kind_name(enum pmu_reg_kind kind);

/* Decide the mechanism from the facts; pure, for the unit tests. */
void pmu_mechanism_decide(const struct pmu_host_facts *facts,
			  struct pmu_mechanism *out);

/* Name and encoding of a PMU register of arch; false if not a PMU one. */
bool pmu_reg_describe(enum kw_arch arch, uint32_t reg, char *name,
		      size_t name_len, char *encoding, size_t encoding_len,
		      enum pmu_reg_kind *kind);

void pmu_sample_sort(struct pmu_sample *sample);

/* The detector_ops functions of pmu (DEFINE_DETECTOR); its delta keeps
 * cur's identities and maxima, and caps may be NULL. */
DECLARE_DETECTOR_VIEWS(pmu);
DECLARE_DETECTOR_VM_JSON(pmu);

/* Is the mechanism's world switch (its load op; its put op) watched? */
bool pmu_switch_watched(const struct pmu_run_info *run);
bool pmu_put_watched(const struct pmu_run_info *run);

/* The host facts, read as the detector starts (pmu_host.c). */
/* The kernel functions pmu_gather_facts() looks for, NULL-ended. */
extern const char *const pmu_kernel_symbols[];
/* The members of KVM's types it looks for, NULL-ended. */
extern const char *const pmu_kernel_members[];
void pmu_gather_facts(const struct kernel_caps *caps,
		      struct pmu_host_facts *facts);

/* The rules of check --pmu (pmu_rules.c). */
extern const struct check_rule_group pmu_rule_group;

/* Why the vPMU figures are zeros on this host, or NULL if it has one. */
const char *pmu_view_off_reason(const struct pmu_view *view);

#endif
