// SPDX-License-Identifier: GPL-2.0
/* Tracepoint fields from tracefs format files, as the kernel writes them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/tp_format.h"
#include "tests/unit/scratch_dir.h"

static char dir[64];

/* 6.12 x86's kvm_exit, and 5.10's, which has no vcpu_id. */
static const char kvm_exit_612[] =
	"name: kvm_exit\nID: 103\nformat:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
	"\tfield:unsigned int exit_reason;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned long guest_rip;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:u32 isa;\toffset:24;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned int vcpu_id;\toffset:56;\tsize:4;\tsigned:0;\n\n"
	"print fmt: \"vcpu %u reason %s\", REC->vcpu_id, REC->exit_reason\n";
static const char kvm_exit_510[] =
	"name: kvm_exit\nID: 99\nformat:\n"
	"\tfield:unsigned int exit_reason;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned long guest_rip;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:u32 isa;\toffset:24;\tsize:4;\tsigned:0;\n\n"
	"print fmt: \"reason %s\", REC->exit_reason\n";
static const char kvm_userspace_exit[] =
	"name: kvm_userspace_exit\nID: 98\nformat:\n"
	"\tfield:__u32 reason;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:int errno;\toffset:12;\tsize:4;\tsigned:1;\n\n"
	"print fmt: \"reason %s (%d)\", REC->reason, REC->errno\n";

static void write_format(const char *event, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/events/kvm", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events/kvm/%s", dir, event);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events/kvm/%s/format", dir, event);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	return scratch_dir_make(dir, sizeof(dir), "events");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

static void fields_where_the_kernel_has_them(void **state)
{
	struct kernel_caps caps = { .arch = ARCH_X86_64 };
	struct kvm_tp_fields f;
	struct tp_field one;
	char why[256] = "";

	(void)state;
	snprintf(caps.tracefs_path, sizeof(caps.tracefs_path), "%s", dir);
	write_format("kvm_exit", kvm_exit_612);
	write_format("kvm_userspace_exit", kvm_userspace_exit);
	assert_int_equal(kvm_tp_fields_read(&caps, &f, why, sizeof(why)), 0);
	assert_int_equal(f.exit_reason.offset, 8);
	assert_int_equal(f.exit_reason.size, 4);
	assert_int_equal(f.exit_isa.offset, 24);
	assert_int_equal(f.exit_vcpu_id.offset, 56);
	assert_int_equal(f.user_errno.offset, 12);
	/* No kvm_mmio here: size 0, read as absent. */
	assert_int_equal(f.mmio_gpa.size, 0);
	/* A name inside another ("guest_rip" is not "rip"). */
	assert_int_equal(tp_format_field(dir, "kvm/kvm_exit", "rip", &one),
			 -ENOENT);
	/* 5.10: no vcpu_id, the rest where 6.12 has it. */
	write_format("kvm_exit", kvm_exit_510);
	assert_int_equal(kvm_tp_fields_read(&caps, &f, why, sizeof(why)), 0);
	assert_int_equal(f.exit_reason.offset, 8);
	assert_int_equal(f.exit_vcpu_id.size, 0);
	/* arm64 wants esr_ec: without it, a reason to refuse. */
	caps.arch = ARCH_ARM64;
	assert_int_equal(kvm_tp_fields_read(&caps, &f, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "esr_ec"));
	/* No kvm events at all. */
	snprintf(caps.tracefs_path, sizeof(caps.tracefs_path), "%.40s/none", dir);
	caps.arch = ARCH_X86_64;
	assert_true(kvm_tp_fields_read(&caps, &f, why, sizeof(why)) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fields_where_the_kernel_has_them,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("tp_format", tests, NULL, NULL);
}
