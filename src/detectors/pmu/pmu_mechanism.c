// SPDX-License-Identifier: GPL-2.0
/* Which vPMU mechanism the kernel uses, the names of ops and mechanisms,
 * and of the PMU registers a guest's exits touch. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pmu_model.h"

static const char *const op_names[PMU_OP_COUNT] = {
	[PMU_OP_RESTORE_GUEST] = "restore_guest",
	[PMU_OP_RESYNC_GUEST] = "resync_guest",
	[PMU_OP_RESTORE_HOST] = "restore_host",
	[PMU_OP_MEDIATED_LOAD] = "mediated_load",
	[PMU_OP_MEDIATED_PUT] = "mediated_put",
	[PMU_OP_LOAD_PMCS] = "load_guest_pmcs",
	[PMU_OP_PUT_PMCS] = "put_guest_pmcs",
	[PMU_OP_GUEST_MSRS] = "guest_get_msrs",
	[PMU_OP_HANDLE_EVENT] = "handle_event",
	[PMU_OP_DELIVER_PMI] = "deliver_pmi",
};

const char *pmu_op_name(enum pmu_op op)
{
	return op < PMU_OP_COUNT ? op_names[op] : "none";
}

const char *pmu_mech_name(enum pmu_mech mech)
{
	switch (mech) {
	case PMU_MECH_OFF: return "off";
	case PMU_MECH_LEGACY: return "legacy";
	case PMU_MECH_MEDIATED: return "mediated";
	case PMU_MECH_HW_VIRT: return "hw-virtualized";
	case PMU_MECH_ARM64: return "arm64";
	default: return "unknown";
	}
}

const char *pmu_reg_kind_name(enum pmu_reg_kind kind)
{
	switch (kind) {
	case PMU_REG_COUNTER: return "counter";
	case PMU_REG_EVENTSEL: return "event-select";
	case PMU_REG_FIXED: return "fixed-counter";
	case PMU_REG_GLOBAL: return "global";
	case PMU_REG_CONTROL: return "control";
	default: return "none";
	}
}

/* Append to a fixed buffer, dropping what does not fit. */
static void appendf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *param_text(int v)
{
	return v < 0 ? "absent" : v ? "Y" : "N";
}

static void decide_arm64(const struct pmu_host_facts *f,
			 struct pmu_mechanism *m)
{
	if (!f->host_pmu[0]) {
		m->mech = PMU_MECH_OFF;
		snprintf(m->why, sizeof(m->why),
			 "no PMUv3 driver is registered on the host (no core PMU in /sys/bus/event_source/devices), so KVM cannot give guests a PMU");
		return;
	}
	m->mech = PMU_MECH_ARM64;
	m->vpmu_enabled = true;
	m->load_op = PMU_OP_RESTORE_GUEST;
	m->put_op = PMU_OP_RESTORE_HOST;
	snprintf(m->why, sizeof(m->why),
		 "guest PMUv3 counters are host perf events on %s; KVM switches the host and guest event filters at vCPU load and put (kvm_vcpu_pmu_restore_guest/host, VHE) and re-syncs them when the guest reprograms its counters",
		 f->host_pmu);
	if (!f->has_restore_guest)
		appendf(m->why, sizeof(m->why),
			"; kvm_vcpu_pmu_restore_guest is not in this kernel");
}

static void decide_x86(const struct pmu_host_facts *f,
		       struct pmu_mechanism *m)
{
	if (f->enable_pmu == 0) {
		m->mech = PMU_MECH_OFF;
		if (f->host_pmu[0])
			snprintf(m->why, sizeof(m->why),
				 "kvm.enable_pmu is N: the vPMU is disabled (by the module parameter, or KVM found the host PMU '%s' unusable)",
				 f->host_pmu);
		else
			snprintf(m->why, sizeof(m->why),
				 "kvm.enable_pmu is N: the host has no hardware PMU (perf has no 'cpu' PMU device, as in a VM whose hypervisor exposes none), so KVM turned its vPMU off; guest PMU MSR accesses still exit and KVM ignores them");
		return;
	}
	m->vpmu_enabled = true;
	if (f->vpmc == 1) {
		m->mech = PMU_MECH_HW_VIRT;
		m->load_op = PMU_OP_MEDIATED_LOAD;
		m->put_op = PMU_OP_MEDIATED_PUT;
		snprintf(m->why, sizeof(m->why),
			 "AMD PMC virtualization (kvm_amd.vpmc=Y): VMRUN and #VMEXIT restore and save the guest counters in the VMCB; kvm_mediated_pmu_load/put only switch perf's context");
	} else if (f->enable_mediated_pmu == 1 && f->has_mediated_load) {
		m->mech = PMU_MECH_MEDIATED;
		m->load_op = PMU_OP_MEDIATED_LOAD;
		m->put_op = PMU_OP_MEDIATED_PUT;
		snprintf(m->why, sizeof(m->why),
			 "mediated vPMU (%s.enable_mediated_pmu=Y): KVM loads the guest counters into the hardware before entry and saves them after exit (kvm_mediated_pmu_load/put)",
			 f->vendor == VENDOR_VMX ? "kvm_intel" : "kvm_amd");
	} else {
		m->mech = PMU_MECH_LEGACY;
		snprintf(m->why, sizeof(m->why),
			 "perf-event-backed vPMU: each guest counter is a host perf event, (re)created when the guest programs it (kvm_pmu_handle_event); ");
		if (f->vendor == VENDOR_VMX && f->has_guest_get_msrs) {
			m->load_op = PMU_OP_GUEST_MSRS;
			appendf(m->why, sizeof(m->why),
				"VMX switches PERF_GLOBAL_CTRL at every entry from perf_guest_get_msrs");
		} else {
			appendf(m->why, sizeof(m->why),
				"no PMU state is switched at entry and exit (guest-only event bits)");
		}
	}
	if (f->enable_pmu < 0)
		appendf(m->why, sizeof(m->why),
			" (kvm.enable_pmu not found: taken as on)");
}

void pmu_mechanism_decide(const struct pmu_host_facts *f,
			  struct pmu_mechanism *m)
{
	memset(m, 0, sizeof(*m));
	m->load_op = PMU_OP_COUNT;
	m->put_op = PMU_OP_COUNT;
	if (f->arch == ARCH_ARM64) {
		decide_arm64(f, m);
		return;
	}
	if (f->arch != ARCH_X86_64 || f->vendor == VENDOR_NONE) {
		m->mech = PMU_MECH_UNKNOWN;
		snprintf(m->why, sizeof(m->why), f->arch == ARCH_X86_64 ?
			 "KVM is not loaded (no kvm_intel or kvm_amd)" :
			 "not an arch kvmwatch knows the vPMU of");
		return;
	}
	decide_x86(f, m);
	if (f->has_mediated_load && m->mech != PMU_MECH_MEDIATED &&
	    m->mech != PMU_MECH_HW_VIRT)
		appendf(m->offered, sizeof(m->offered),
			"%sthe kernel has the mediated vPMU (kvm_mediated_pmu_load), enable_mediated_pmu is %s",
			m->offered[0] ? "; " : "",
			param_text(f->enable_mediated_pmu));
	if ((f->btf_vmcb_pmc || f->cpu_perfctr_virt) &&
	    m->mech != PMU_MECH_HW_VIRT)
		appendf(m->offered, sizeof(m->offered),
			"%sPMC virtualization:%s%s, kvm_amd.vpmc is %s",
			m->offered[0] ? "; " : "",
			f->cpu_perfctr_virt ? " the CPU has perfctr_virt" : "",
			f->btf_vmcb_pmc ? " the kernel's VMCB has its save slots" : "",
			param_text(f->vpmc));
}

static bool describe_msr(uint32_t msr, char *name, size_t len)
{
	static const struct {
		uint32_t first, last, step;
		const char *fmt;	/* %u: index in the range */
	} ranges[] = {
		{ 0xc1, 0xc8, 1, "IA32_PMC%u" },
		{ 0x4c1, 0x4c8, 1, "IA32_A_PMC%u" },
		{ 0x186, 0x18d, 1, "IA32_PERFEVTSEL%u" },
		{ 0x309, 0x30f, 1, "IA32_FIXED_CTR%u" },
		{ 0x38d, 0x38d, 1, "IA32_FIXED_CTR_CTRL" },
		{ 0x38e, 0x38e, 1, "IA32_PERF_GLOBAL_STATUS" },
		{ 0x38f, 0x38f, 1, "IA32_PERF_GLOBAL_CTRL" },
		{ 0x390, 0x390, 1, "IA32_PERF_GLOBAL_OVF_CTRL" },
		{ 0x391, 0x391, 1, "IA32_PERF_GLOBAL_STATUS_SET" },
		{ 0x392, 0x392, 1, "IA32_PERF_GLOBAL_INUSE" },
		{ 0x345, 0x345, 1, "IA32_PERF_CAPABILITIES" },
		{ 0xc0010000, 0xc0010003, 1, "K7_EVNTSEL%u" },
		{ 0xc0010004, 0xc0010007, 1, "K7_PERFCTR%u" },
		{ 0xc0010200, 0xc001020a, 2, "F15H_PERF_CTL%u" },
		{ 0xc0010201, 0xc001020b, 2, "F15H_PERF_CTR%u" },
		{ 0xc0000300, 0xc0000300, 1, "AMD64_PERF_CNTR_GLOBAL_STATUS" },
		{ 0xc0000301, 0xc0000301, 1, "AMD64_PERF_CNTR_GLOBAL_CTL" },
		{ 0xc0000302, 0xc0000302, 1, "AMD64_PERF_CNTR_GLOBAL_STATUS_CLR" },
		{ 0xc0000303, 0xc0000303, 1, "AMD64_PERF_CNTR_GLOBAL_STATUS_SET" },
	};
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (msr < ranges[i].first || msr > ranges[i].last ||
		    (msr - ranges[i].first) % ranges[i].step)
			continue;
		snprintf(name, len, ranges[i].fmt,
			 (msr - ranges[i].first) / ranges[i].step);
		return true;
	}
	return false;
}

static bool describe_sysreg(uint32_t reg, char *name, size_t len)
{
	static const char *const c9_c12[8] = {
		"PMCR_EL0", "PMCNTENSET_EL0", "PMCNTENCLR_EL0", "PMOVSCLR_EL0",
		"PMSWINC_EL0", "PMSELR_EL0", "PMCEID0_EL0", "PMCEID1_EL0",
	};
	static const char *const c9_c13[3] = {
		"PMCCNTR_EL0", "PMXEVTYPER_EL0", "PMXEVCNTR_EL0",
	};
	uint32_t op1 = PMU_SYSREG_OP1(reg), crn = PMU_SYSREG_CRN(reg);
	uint32_t crm = PMU_SYSREG_CRM(reg), op2 = PMU_SYSREG_OP2(reg);
	uint32_t n = (crm & 3) << 3 | op2;

	if (op1 == 0) {
		snprintf(name, len, "%s", op2 == 1 ? "PMINTENSET_EL1" :
			 op2 == 2 ? "PMINTENCLR_EL1" : "PMMIR_EL1");
	} else if (crn == 9 && crm == 12) {
		snprintf(name, len, "%s", c9_c12[op2]);
	} else if (crn == 9 && crm == 13) {
		snprintf(name, len, "%s", c9_c13[op2 < 3 ? op2 : 0]);
	} else if (crn == 9 && crm == 14) {
		snprintf(name, len, "%s", op2 ? "PMOVSSET_EL0" : "PMUSERENR_EL0");
	} else if (crm < 12) {
		snprintf(name, len, "PMEVCNTR%u_EL0", n);
	} else if (n == 31) {
		snprintf(name, len, "PMCCFILTR_EL0");
	} else {
		snprintf(name, len, "PMEVTYPER%u_EL0", n);
	}
	return true;
}

bool pmu_reg_describe(enum kw_arch arch, uint32_t reg, char *name,
		      size_t name_len, char *encoding, size_t encoding_len,
		      enum pmu_reg_kind *kind)
{
	if (arch == ARCH_ARM64) {
		*kind = pmu_sysreg_kind(PMU_SYSREG_OP0(reg), PMU_SYSREG_OP1(reg),
					PMU_SYSREG_CRN(reg), PMU_SYSREG_CRM(reg),
					PMU_SYSREG_OP2(reg));
		if (*kind == PMU_REG_NONE)
			return false;
		snprintf(encoding, encoding_len, "S%u_%u_C%u_C%u_%u",
			 PMU_SYSREG_OP0(reg), PMU_SYSREG_OP1(reg),
			 PMU_SYSREG_CRN(reg), PMU_SYSREG_CRM(reg),
			 PMU_SYSREG_OP2(reg));
		return describe_sysreg(reg, name, name_len);
	}
	*kind = pmu_msr_kind(reg);
	if (*kind == PMU_REG_NONE)
		return false;
	snprintf(encoding, encoding_len, "0x%x", reg);
	return describe_msr(reg, name, name_len);
}
