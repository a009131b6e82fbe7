// SPDX-License-Identifier: GPL-2.0
/* VM names from the argv shapes QEMU and libvirt really use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../own_start.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "core/vm_name.h"

/* Name an argv given as one string with '|' between the arguments. */
static enum vm_name_source name_of(const char *joined, char *name)
{
	char args[1024];
	size_t i, len = strlen(joined);

	for (i = 0; i < len; i++)
		args[i] = joined[i] == '|' ? '\0' : joined[i];
	args[len] = '\0';
	return vm_name_from_argv(args, len + 1, name, VM_NAME_LEN);
}

static void qemu_shapes(void **state)
{
	char name[VM_NAME_LEN];

	(void)state;
	assert_int_equal(name_of("qemu-system-x86_64|-accel|kvm|-name|web1|-m|512", name),
			 VM_NAME_QEMU);
	assert_string_equal(name, "web1");
	assert_int_equal(name_of("/usr/bin/qemu-system-aarch64|-name|web2,process=qemu-web2,debug-threads=on", name),
			 VM_NAME_QEMU);
	assert_string_equal(name, "web2");
	assert_int_equal(name_of("qemu-system-x86_64|-name|process=p,guest=db-3", name),
			 VM_NAME_QEMU);
	assert_string_equal(name, "db-3");
	assert_int_equal(name_of("qemu-system-x86_64|--name|guest=a,,b,debug-threads=on", name),
			 VM_NAME_QEMU);
	assert_string_equal(name, "a,b");
	/* No guest option: not a name; the executable's is. */
	assert_int_equal(name_of("/usr/bin/qemu-system-x86_64|-name|debug-threads=on", name),
			 VM_NAME_EXE);
	assert_string_equal(name, "qemu-system-x86_64");
	assert_int_equal(name_of("/usr/bin/qemu-system-x86_64|-m|512|-name", name),
			 VM_NAME_EXE);
	assert_string_equal(name, "qemu-system-x86_64");
	/* A -name that is another option's value is still QEMU's name: QEMU
	 * has no option whose value starts "-name". */
	assert_int_equal(name_of("qemu|-name|", name), VM_NAME_EXE);
	assert_string_equal(name, "qemu");
}

/* libvirt 9's command line (virsh domxml-to-native), cut. */
static void libvirt_shapes(void **state)
{
	char name[VM_NAME_LEN];

	(void)state;
	assert_int_equal(name_of("/usr/bin/qemu-system-x86_64|-name|guest=fedora-web,debug-threads=on|-S|-object|{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":\"/var/lib/libvirt/qemu/domain-3-fedora-web/master-key.aes\"}|-machine|pc-q35-7.2,usb=off", name),
			 VM_NAME_QEMU);
	assert_string_equal(name, "fedora-web");
	/* No -name: the domain's directory (libvirt cuts it at 20). */
	assert_int_equal(name_of("/usr/bin/qemu-system-x86_64|-object|secret,id=masterKey0,format=raw,file=/var/lib/libvirt/qemu/domain-12-a-very-long-domain-n/master-key.aes", name),
			 VM_NAME_LIBVIRT);
	assert_string_equal(name, "a-very-long-domain-n");
	/* An empty -name after it leaves the domain's name. */
	assert_int_equal(name_of("qemu|-object|secret,file=/var/lib/libvirt/qemu/domain-4-db/key|-name|guest=", name),
			 VM_NAME_LIBVIRT);
	assert_string_equal(name, "db");
	assert_int_equal(name_of("qemu|-m|1|/run/libvirt/qemu/domain-x-bad/", name),
			 VM_NAME_EXE);
}

static void other_vmms(void **state)
{
	char name[VM_NAME_LEN], long_name[200];

	(void)state;
	assert_int_equal(name_of("./build/x86_64/kvmload|mmio|-n|300", name),
			 VM_NAME_EXE);
	assert_string_equal(name, "kvmload");
	/* comm would be "cloud-hyperviso": the executable's name is whole. */
	assert_int_equal(name_of("/usr/bin/cloud-hypervisor|--kernel|vmlinux", name),
			 VM_NAME_EXE);
	assert_string_equal(name, "cloud-hypervisor");
	assert_int_equal(name_of("qemu|-name|evil\x1b[2Jname", name),
			 VM_NAME_QEMU);
	assert_string_equal(name, "evil?[2Jname");
	memset(long_name, 'x', sizeof(long_name));
	memcpy(long_name, "q|-name|", 8);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(name_of(long_name, name), VM_NAME_QEMU);
	assert_int_equal(strlen(name), VM_NAME_LEN - 1);
	assert_int_equal(vm_name_from_argv("", 0, name, sizeof(name)),
			 VM_NAME_UNKNOWN);
	assert_string_equal(name, "");
}

/* A process shaped like QEMU (sh runs its command, the rest is argv): its
 * name while it runs, and nothing for a pid's other lives. */
static void live_process(void **state)
{
	uint64_t start;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		setpgid(0, 0);	/* its sleep goes with it */
		execl("/bin/sh", "sh", "-c", "sleep 30; :", "qemu-system-x86_64",
		      "-name", "guest=live1,debug-threads=on", (char *)NULL);
		_exit(127);
	}
	/* Until the exec is done, the child's argv is this test's. */
	for (int i = 0; i < 200; i++) {
		char path[32], buf[256] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		f = fopen(path, "r");
		if (f) {
			(void)!fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		if (!strcmp(buf, "sh"))
			break;
		usleep(10000);
	}
	start = proc_start_ns(pid);
	assert_true(start != 0);
	assert_string_equal(vm_name(pid, start), "live1");
	assert_int_equal(vm_name_source_of(pid, start), VM_NAME_QEMU);
	assert_true(vm_name_matches(pid, start, "live*"));
	assert_false(vm_name_matches(pid, start, "web*"));
	/* Another start is another VM: not this process's name. */
	assert_string_equal(vm_name(pid, start + 1000000000ull), "");
	assert_string_equal(vm_name_or(pid, start + 1000000000ull, "comm"),
			    "comm");
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Looked up while it ran: still named once gone. */
	assert_string_equal(vm_name(pid, start), "live1");
	assert_string_equal(vm_name(pid, 0), "live1");
	assert_string_equal(vm_name(getpid(), own_start_ns()), "test_vm_name");
	vm_names_clear();
	assert_string_equal(vm_name(pid, start), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qemu_shapes),
		cmocka_unit_test(libvirt_shapes),
		cmocka_unit_test(other_vmms),
		cmocka_unit_test(live_process),
	};

	return cmocka_run_group_tests_name("vm_name", tests, NULL, NULL);
}
