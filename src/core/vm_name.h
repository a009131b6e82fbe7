/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VM's name, as its owner knows it: QEMU's -name (which libvirt sets to
 * the domain's name), else the libvirt domain in the paths on the command
 * line, else the VMM's full executable name (comm is cut at 15 bytes).
 * Read from /proc/PID/cmdline once per VM (pid and start, vm_ident.h).
 */
#ifndef KVMWATCH_VM_NAME_H
#define KVMWATCH_VM_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_NAME_LEN 64

enum vm_name_source {
	VM_NAME_UNKNOWN,	/* the VMM was gone before it was read */
	VM_NAME_QEMU,		/* -name guest=NAME, -name NAME */
	VM_NAME_LIBVIRT,	/* .../libvirt/qemu/domain-ID-NAME/... */
	VM_NAME_EXE,		/* basename of argv[0] */
};

/* The name in an argv of len bytes, NUL-separated as /proc/PID/cmdline
 * holds it, into name (size bytes, control characters replaced by '?'). */
enum vm_name_source vm_name_from_argv(const char *args, size_t len,
				      char *name, size_t size);

/* The name of the VM (pid, start), "" when it is not known: the VMM was
 * gone before its first lookup. start 0 (a record that does not know
 * it) takes the VM of that pid looked up last while it runs, else the
 * process at pid now if it holds a KVM VM. The string lives until
 * vm_names_clear(). */
const char *vm_name(uint32_t pid, uint64_t start);
/* "VM pid 1234 (web1)", or "VM pid 1234" when its name is not known. */
const char *vm_describe(uint32_t pid, uint64_t start, char *buf, size_t len);
enum vm_name_source vm_name_source_of(uint32_t pid, uint64_t start);
/* Whether the VM's name matches the shell pattern (fnmatch(3)). A VM
 * whose name is not known matches no pattern. */
bool vm_name_matches(uint32_t pid, uint64_t start, const char *pattern);
/* Name every VM running now (each process holding a KVM VM's fd): one
 * made before kvmwatch attached may be gone by its first read. */
void vm_names_seed(void);
/* vm_name(), or fallback when it is not known. */
const char *vm_name_or(uint32_t pid, uint64_t start, const char *fallback);
void vm_names_clear(void);

#endif
