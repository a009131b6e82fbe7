// SPDX-License-Identifier: GPL-2.0
/* Exit reason tables: each vendor's codes, and unknown codes by number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/exit_reasons.h"
#include "bpf/exits.h"

static const char *name(enum exit_table t, uint32_t code)
{
	static char buf[32];

	return exit_reason_name(t, code, buf, sizeof(buf));
}

static void vmx_names(void **state)
{
	(void)state;
	assert_string_equal(name(EXIT_TABLE_VMX, 0), "EXCEPTION_NMI");
	assert_string_equal(name(EXIT_TABLE_VMX, 30), "IO_INSTRUCTION");
	assert_string_equal(name(EXIT_TABLE_VMX, 48), "EPT_VIOLATION");
	assert_string_equal(name(EXIT_TABLE_VMX, 49), "EPT_MISCONFIG");
	assert_string_equal(name(EXIT_TABLE_VMX, 85), "MSR_WRITE_IMM");
	/* Gaps in the architectural list stay numbers. */
	assert_string_equal(name(EXIT_TABLE_VMX, 5), "0x5");
}

static void svm_names(void **state)
{
	(void)state;
	assert_string_equal(name(EXIT_TABLE_SVM, 0x7b), "io");
	assert_string_equal(name(EXIT_TABLE_SVM, 0x7c), "msr");
	assert_string_equal(name(EXIT_TABLE_SVM, 0x400), "npf");
	assert_string_equal(name(EXIT_TABLE_SVM, 0xffffffff), "invalid_guest_state");
	assert_false(exit_reason_known(EXIT_TABLE_SVM, 0x404));
}

static void arm64_names(void **state)
{
	(void)state;
	assert_string_equal(name(EXIT_TABLE_ARM64, 0x01), "WFx");
	assert_string_equal(name(EXIT_TABLE_ARM64, 0x18), "SYS64");
	assert_string_equal(name(EXIT_TABLE_ARM64, 0x24), "DABT_LOW");
	assert_string_equal(name(EXIT_TABLE_ARM64, ARM64_EXIT_NON_TRAP), "IRQ");
	assert_string_equal(name(EXIT_TABLE_ARM64, 0x3f), "0x3f");
}

static void kvm_run_names(void **state)
{
	(void)state;
	assert_string_equal(name(EXIT_TABLE_KVM_RUN, 2), "IO");
	assert_string_equal(name(EXIT_TABLE_KVM_RUN, 6), "MMIO");
	assert_string_equal(name(EXIT_TABLE_KVM_RUN, 24), "SYSTEM_EVENT");
	assert_string_equal(name(EXIT_TABLE_KVM_RUN, USER_EXIT_ERRNO_BASE + 4),
			    "ERRNO_EINTR");
	assert_string_equal(name(EXIT_TABLE_KVM_RUN, USER_EXIT_ERRNO_BASE + 99),
			    "ERRNO_99");
	assert_string_equal(name(EXIT_TABLE_KVM_RUN, 1000), "0x3e8");
}

/* Exits that come with time, not work: shown, never a regression. */
static void timing_reasons(void **state)
{
	(void)state;
	assert_true(exit_reason_is_timing("hlt"));
	assert_true(exit_reason_is_timing("HLT"));
	assert_true(exit_reason_is_timing("WFx"));
	assert_true(exit_reason_is_timing("vintr"));
	assert_false(exit_reason_is_timing("npf"));
	assert_false(exit_reason_is_timing("DABT_LOW"));
	assert_false(exit_reason_is_timing("MMIO"));
}

static void vendor_without_table(void **state)
{
	(void)state;
	assert_string_equal(name(EXIT_TABLE_NONE, 12), "0xc");
	assert_false(exit_reason_known(EXIT_TABLE_NONE, 12));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vmx_names),
		cmocka_unit_test(svm_names),
		cmocka_unit_test(arm64_names),
		cmocka_unit_test(kvm_run_names),
		cmocka_unit_test(timing_reasons),
		cmocka_unit_test(vendor_without_table),
	};

	return cmocka_run_group_tests_name("exit_reasons", tests, NULL, NULL);
}
