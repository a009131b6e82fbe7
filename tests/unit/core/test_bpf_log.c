// SPDX-License-Identifier: GPL-2.0
/* What a failed load said, in one line, from libbpf's messages as it
 * prints them (libbpf 1.1: a verifier log comes in one message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/bpf_log.h"

static void the_verifiers_reason(void **state)
{
	char buf[256];

	(void)state;
	bpf_log_reset();
	assert_false(bpf_log_failure(buf, sizeof(buf)));
	bpf_log_feed("libbpf: prog 'tp_kvm_exit': BPF program load failed: Permission denied\n");
	bpf_log_feed("libbpf: prog 'tp_kvm_exit': -- BEGIN PROG LOAD LOG --\n"
		     "0: R1=ctx() R10=fp0\n"
		     "; stats->hist.slots[log2_slot(delta)]++;\n"
		     "42: (0f) r0 += r2\n"
		     "R0 unbounded memory access, make sure to bounds check any such access\n"
		     "processed 180 insns (limit 1000000) max_states_per_insn 1 total_states 12 peak_states 12 mark_read 5\n"
		     "-- END PROG LOAD LOG --\n");
	bpf_log_feed("libbpf: prog 'tp_kvm_exit': failed to load: -13\n");
	bpf_log_feed("libbpf: failed to load object 'exits_bpf'\n");
	assert_true(bpf_log_failure(buf, sizeof(buf)));
	assert_string_equal(buf, "program tp_kvm_exit: R0 unbounded memory access, make sure to bounds check any such access");
}

static void libbpfs_reason(void **state)
{
	char buf[256];

	(void)state;
	/* A CO-RE relocation against a type the kernel's BTF lacks (5.10:
	 * no module BTF). */
	bpf_log_reset();
	bpf_log_feed("libbpf: prog 'kprobe_apic_timer_fn': relo #2: target candidate search failed for [77] struct kvm_lapic: -2\n");
	bpf_log_feed("libbpf: prog 'kprobe_apic_timer_fn': failed to relocate data references: -2\n");
	bpf_log_feed("libbpf: failed to load BPF skeleton 'timer_bpf': -2\n");
	assert_true(bpf_log_failure(buf, sizeof(buf)));
	assert_string_equal(buf, "program kprobe_apic_timer_fn: relo #2: target candidate search failed for [77] struct kvm_lapic: -2");
	/* Reset forgets it. */
	bpf_log_reset();
	assert_false(bpf_log_failure(buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_verifiers_reason),
		cmocka_unit_test(libbpfs_reason),
	};

	return cmocka_run_group_tests_name("bpf_log", tests, NULL, NULL);
}
