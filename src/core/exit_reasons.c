// SPDX-License-Identifier: GPL-2.0
/*
 * Exit reason names. Each table is copied from the kernel file named above
 * it; adding a reason is adding one line. Codes missing here are printed
 * by number, never dropped.
 */
#include <stdio.h>
#include <string.h>

#include "exit_reasons.h"
#include "bpf/exit_codes.h"

struct reason_name {
	uint32_t code;
	const char *name;
};

/* arch/x86/include/uapi/asm/vmx.h, VMX_EXIT_REASONS (v6.18). */
static const struct reason_name vmx_reasons[] = {
	{ 0, "EXCEPTION_NMI" },
	{ 1, "EXTERNAL_INTERRUPT" },
	{ 2, "TRIPLE_FAULT" },
	{ 3, "INIT_SIGNAL" },
	{ 4, "SIPI_SIGNAL" },
	{ 7, "INTERRUPT_WINDOW" },
	{ 8, "NMI_WINDOW" },
	{ 9, "TASK_SWITCH" },
	{ 10, "CPUID" },
	{ 12, "HLT" },
	{ 13, "INVD" },
	{ 14, "INVLPG" },
	{ 15, "RDPMC" },
	{ 16, "RDTSC" },
	{ 18, "VMCALL" },
	{ 19, "VMCLEAR" },
	{ 20, "VMLAUNCH" },
	{ 21, "VMPTRLD" },
	{ 22, "VMPTRST" },
	{ 23, "VMREAD" },
	{ 24, "VMRESUME" },
	{ 25, "VMWRITE" },
	{ 26, "VMOFF" },
	{ 27, "VMON" },
	{ 28, "CR_ACCESS" },
	{ 29, "DR_ACCESS" },
	{ 30, "IO_INSTRUCTION" },
	{ 31, "MSR_READ" },
	{ 32, "MSR_WRITE" },
	{ 33, "INVALID_STATE" },
	{ 34, "MSR_LOAD_FAIL" },
	{ 36, "MWAIT_INSTRUCTION" },
	{ 37, "MONITOR_TRAP_FLAG" },
	{ 39, "MONITOR_INSTRUCTION" },
	{ 40, "PAUSE_INSTRUCTION" },
	{ 41, "MCE_DURING_VMENTRY" },
	{ 43, "TPR_BELOW_THRESHOLD" },
	{ 44, "APIC_ACCESS" },
	{ 45, "EOI_INDUCED" },
	{ 46, "GDTR_IDTR" },
	{ 47, "LDTR_TR" },
	{ 48, "EPT_VIOLATION" },
	{ 49, "EPT_MISCONFIG" },
	{ 50, "INVEPT" },
	{ 51, "RDTSCP" },
	{ 52, "PREEMPTION_TIMER" },
	{ 53, "INVVPID" },
	{ 54, "WBINVD" },
	{ 55, "XSETBV" },
	{ 56, "APIC_WRITE" },
	{ 57, "RDRAND" },
	{ 58, "INVPCID" },
	{ 59, "VMFUNC" },
	{ 60, "ENCLS" },
	{ 61, "RDSEED" },
	{ 62, "PML_FULL" },
	{ 63, "XSAVES" },
	{ 64, "XRSTORS" },
	{ 67, "UMWAIT" },
	{ 68, "TPAUSE" },
	{ 74, "BUS_LOCK" },
	{ 75, "NOTIFY" },
	{ 77, "TDCALL" },
	{ 84, "MSR_READ_IMM" },
	{ 85, "MSR_WRITE_IMM" },
};

/* arch/x86/include/uapi/asm/svm.h, SVM_EXIT_REASONS (v6.18). */
static const struct reason_name svm_reasons[] = {
	{ 0x000, "read_cr0" },
	{ 0x002, "read_cr2" },
	{ 0x003, "read_cr3" },
	{ 0x004, "read_cr4" },
	{ 0x008, "read_cr8" },
	{ 0x010, "write_cr0" },
	{ 0x012, "write_cr2" },
	{ 0x013, "write_cr3" },
	{ 0x014, "write_cr4" },
	{ 0x018, "write_cr8" },
	{ 0x020, "read_dr0" },
	{ 0x021, "read_dr1" },
	{ 0x022, "read_dr2" },
	{ 0x023, "read_dr3" },
	{ 0x024, "read_dr4" },
	{ 0x025, "read_dr5" },
	{ 0x026, "read_dr6" },
	{ 0x027, "read_dr7" },
	{ 0x030, "write_dr0" },
	{ 0x031, "write_dr1" },
	{ 0x032, "write_dr2" },
	{ 0x033, "write_dr3" },
	{ 0x034, "write_dr4" },
	{ 0x035, "write_dr5" },
	{ 0x036, "write_dr6" },
	{ 0x037, "write_dr7" },
	{ 0x040, "DE_excp" },
	{ 0x041, "DB_excp" },
	{ 0x043, "BP_excp" },
	{ 0x044, "OF_excp" },
	{ 0x045, "BR_excp" },
	{ 0x046, "UD_excp" },
	{ 0x047, "NM_excp" },
	{ 0x048, "DF_excp" },
	{ 0x04a, "TS_excp" },
	{ 0x04b, "NP_excp" },
	{ 0x04c, "SS_excp" },
	{ 0x04d, "GP_excp" },
	{ 0x04e, "PF_excp" },
	{ 0x050, "MF_excp" },
	{ 0x051, "AC_excp" },
	{ 0x052, "MC_excp" },
	{ 0x053, "XF_excp" },
	{ 0x060, "interrupt" },
	{ 0x061, "nmi" },
	{ 0x062, "smi" },
	{ 0x063, "init" },
	{ 0x064, "vintr" },
	{ 0x065, "cr0_sel_write" },
	{ 0x066, "read_idtr" },
	{ 0x067, "read_gdtr" },
	{ 0x068, "read_ldtr" },
	{ 0x069, "read_rt" },
	{ 0x06a, "write_idtr" },
	{ 0x06b, "write_gdtr" },
	{ 0x06c, "write_ldtr" },
	{ 0x06d, "write_rt" },
	{ 0x06e, "rdtsc" },
	{ 0x06f, "rdpmc" },
	{ 0x070, "pushf" },
	{ 0x071, "popf" },
	{ 0x072, "cpuid" },
	{ 0x073, "rsm" },
	{ 0x074, "iret" },
	{ 0x075, "swint" },
	{ 0x076, "invd" },
	{ 0x077, "pause" },
	{ 0x078, "hlt" },
	{ 0x079, "invlpg" },
	{ 0x07a, "invlpga" },
	{ 0x07b, "io" },
	{ 0x07c, "msr" },
	{ 0x07d, "task_switch" },
	{ 0x07e, "ferr_freeze" },
	{ 0x07f, "shutdown" },
	{ 0x080, "vmrun" },
	{ 0x081, "hypercall" },
	{ 0x082, "vmload" },
	{ 0x083, "vmsave" },
	{ 0x084, "stgi" },
	{ 0x085, "clgi" },
	{ 0x086, "skinit" },
	{ 0x087, "rdtscp" },
	{ 0x088, "icebp" },
	{ 0x089, "wbinvd" },
	{ 0x08a, "monitor" },
	{ 0x08b, "mwait" },
	{ 0x08d, "xsetbv" },
	{ 0x08f, "write_efer_trap" },
	{ 0x090, "write_cr0_trap" },
	{ 0x094, "write_cr4_trap" },
	{ 0x098, "write_cr8_trap" },
	{ 0x0a2, "invpcid" },
	{ 0x0a5, "buslock" },
	{ 0x0a6, "idle-halt" },
	{ 0x400, "npf" },
	{ 0x401, "avic_incomplete_ipi" },
	{ 0x402, "avic_unaccelerated_access" },
	{ 0x403, "vmgexit" },
	{ 0x80000001, "vmgexit_mmio_read" },
	{ 0x80000002, "vmgexit_mmio_write" },
	{ 0x80000003, "vmgexit_nmi_complete" },
	{ 0x80000004, "vmgexit_ap_hlt_loop" },
	{ 0x80000005, "vmgexit_ap_jump_table" },
	{ 0x80000010, "vmgexit_page_state_change" },
	{ 0x80000011, "vmgexit_guest_request" },
	{ 0x80000012, "vmgexit_ext_guest_request" },
	{ 0x80000013, "vmgexit_ap_creation" },
	{ 0x8000fffd, "vmgexit_hypervisor_feature" },
	{ 0xffffffff, "invalid_guest_state" },
};

/*
 * arch/arm64/include/asm/esr.h, ESR_ELx_EC_* (v6.18), for trap exits, and
 * arch/arm64/include/asm/kvm_asm.h, ARM_EXCEPTION_* for the other exits.
 */
static const struct reason_name arm64_reasons[] = {
	{ 0x00, "UNKNOWN" },
	{ 0x01, "WFx" },
	{ 0x03, "CP15_32" },
	{ 0x04, "CP15_64" },
	{ 0x05, "CP14_MR" },
	{ 0x06, "CP14_LS" },
	{ 0x07, "FP_ASIMD" },
	{ 0x08, "CP10_ID" },
	{ 0x09, "PAC" },
	{ 0x0a, "LS64" },
	{ 0x0c, "CP14_64" },
	{ 0x0d, "BTI" },
	{ 0x0e, "ILL" },
	{ 0x11, "SVC32" },
	{ 0x12, "HVC32" },
	{ 0x13, "SMC32" },
	{ 0x15, "SVC64" },
	{ 0x16, "HVC64" },
	{ 0x17, "SMC64" },
	{ 0x18, "SYS64" },
	{ 0x19, "SVE" },
	{ 0x1a, "ERET" },
	{ 0x1c, "FPAC" },
	{ 0x1d, "SME" },
	{ 0x1f, "IMP_DEF" },
	{ 0x20, "IABT_LOW" },
	{ 0x21, "IABT_CUR" },
	{ 0x22, "PC_ALIGN" },
	{ 0x24, "DABT_LOW" },
	{ 0x25, "DABT_CUR" },
	{ 0x26, "SP_ALIGN" },
	{ 0x27, "MOPS" },
	{ 0x28, "FP_EXC32" },
	{ 0x2c, "FP_EXC64" },
	{ 0x2d, "GCS" },
	{ 0x2f, "SERROR" },
	{ 0x30, "BREAKPT_LOW" },
	{ 0x31, "BREAKPT_CUR" },
	{ 0x32, "SOFTSTP_LOW" },
	{ 0x33, "SOFTSTP_CUR" },
	{ 0x34, "WATCHPT_LOW" },
	{ 0x35, "WATCHPT_CUR" },
	{ 0x38, "BKPT32" },
	{ 0x3a, "VECTOR32" },
	{ 0x3c, "BRK64" },
	{ ARM64_EXIT_NON_TRAP + 0, "IRQ" },
	{ ARM64_EXIT_NON_TRAP + 1, "EL1_SERROR" },
	{ ARM64_EXIT_NON_TRAP + 3, "IL" },
};

/* include/uapi/linux/kvm.h, KVM_EXIT_* (v6.18); errors below. */
static const struct reason_name kvm_run_reasons[] = {
	{ 0, "UNKNOWN" },
	{ 1, "EXCEPTION" },
	{ 2, "IO" },
	{ 3, "HYPERCALL" },
	{ 4, "DEBUG" },
	{ 5, "HLT" },
	{ 6, "MMIO" },
	{ 7, "IRQ_WINDOW_OPEN" },
	{ 8, "SHUTDOWN" },
	{ 9, "FAIL_ENTRY" },
	{ 10, "INTR" },
	{ 11, "SET_TPR" },
	{ 12, "TPR_ACCESS" },
	{ 13, "S390_SIEIC" },
	{ 14, "S390_RESET" },
	{ 15, "DCR" },
	{ 16, "NMI" },
	{ 17, "INTERNAL_ERROR" },
	{ 18, "OSI" },
	{ 19, "PAPR_HCALL" },
	{ 20, "S390_UCONTROL" },
	{ 21, "WATCHDOG" },
	{ 22, "S390_TSCH" },
	{ 23, "EPR" },
	{ 24, "SYSTEM_EVENT" },
	{ 25, "S390_STSI" },
	{ 26, "IOAPIC_EOI" },
	{ 27, "HYPERV" },
	{ 28, "ARM_NISV" },
	{ 29, "X86_RDMSR" },
	{ 30, "X86_WRMSR" },
	{ 31, "DIRTY_RING_FULL" },
	{ 32, "AP_RESET_HOLD" },
	{ 33, "X86_BUS_LOCK" },
	{ 34, "XEN" },
	{ 35, "RISCV_SBI" },
	{ 36, "RISCV_CSR" },
	{ 37, "NOTIFY" },
	{ 38, "LOONGARCH_IOCSR" },
	{ 39, "MEMORY_FAULT" },
	{ 40, "TDX" },
	/* KVM_RUN failed: the kernel's errno, most often a signal. */
	{ USER_EXIT_ERRNO_BASE + 4, "ERRNO_EINTR" },
	{ USER_EXIT_ERRNO_BASE + 11, "ERRNO_EAGAIN" },
	{ USER_EXIT_ERRNO_BASE + 14, "ERRNO_EFAULT" },
	{ USER_EXIT_ERRNO_BASE + 22, "ERRNO_EINVAL" },
};

#define TABLE(t) { t, sizeof(t) / sizeof(t[0]) }

static const struct {
	const struct reason_name *names;
	size_t count;
} tables[] = {
	[EXIT_TABLE_NONE] = { NULL, 0 },
	[EXIT_TABLE_VMX] = TABLE(vmx_reasons),
	[EXIT_TABLE_SVM] = TABLE(svm_reasons),
	[EXIT_TABLE_ARM64] = TABLE(arm64_reasons),
	[EXIT_TABLE_KVM_RUN] = TABLE(kvm_run_reasons),
};

static const char *lookup(enum exit_table table, uint32_t code)
{
	size_t i;

	if ((size_t)table >= sizeof(tables) / sizeof(tables[0]))
		return NULL;
	for (i = 0; i < tables[table].count; i++)
		if (tables[table].names[i].code == code)
			return tables[table].names[i].name;
	return NULL;
}

bool exit_reason_at(enum exit_table table, size_t i, uint32_t *code,
		    const char **name)
{
	if ((size_t)table >= sizeof(tables) / sizeof(tables[0]) ||
	    i >= tables[table].count)
		return false;
	*code = tables[table].names[i].code;
	*name = tables[table].names[i].name;
	return true;
}

int exit_reason_known(enum exit_table table, uint32_t code)
{
	return lookup(table, code) != NULL;
}

const char *exit_reason_name(enum exit_table table, uint32_t code,
			     char *buf, size_t len)
{
	const char *name = lookup(table, code);

	if (name)
		return name;
	if (table == EXIT_TABLE_KVM_RUN && code >= USER_EXIT_ERRNO_BASE)
		snprintf(buf, len, "ERRNO_%u", code - USER_EXIT_ERRNO_BASE);
	else
		snprintf(buf, len, "0x%x", code);
	return buf;
}

enum exit_table exit_table_for(const struct kernel_caps *caps)
{
	switch (caps->vendor) {
	case VENDOR_VMX: return EXIT_TABLE_VMX;
	case VENDOR_SVM: return EXIT_TABLE_SVM;
	case VENDOR_ARM64: return EXIT_TABLE_ARM64;
	default: return EXIT_TABLE_NONE;
	}
}

bool exit_reason_is_timing(const char *name)
{
	/* A guest halts when it idles, which moves with the host's speed:
	 * a timer VM's halts are skipped whenever its next interrupt came
	 * before it reached HLT (5418 a run in a baseline, 7617-7750 in 4
	 * of 5 checks of the same workload on a loaded testbed). */
	static const char *const host[] = {
		"EXTERNAL_INTERRUPT", "EXCEPTION_NMI",	/* VMX */
		"INTERRUPT_WINDOW", "NMI_WINDOW", "HLT",
		"interrupt", "nmi", "vintr", "hlt",	/* SVM */
		"IRQ", "WFx",				/* arm64 */
	};
	size_t i;

	for (i = 0; i < sizeof(host) / sizeof(host[0]); i++)
		if (!strcmp(name, host[i]))
			return true;
	return false;
}
