/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which VM a count belongs to. The maps key VMs by the VMM's pid and its
 * start time (bpf/vm_ident.h): a later VMM that reuses a pid is another
 * VM, in every view, record and series. A VM runs while /proc/PID exists
 * and its start time is still the one the maps carry.
 */
#ifndef KVMWATCH_VM_IDENT_H_USER
#define KVMWATCH_VM_IDENT_H_USER

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_ident {
	uint32_t pid;
	uint64_t start;		/* boot-time ns, as the maps carry it */
};

/* What an fd's /proc/PID/fd link says it is: a VM, another fd holding a
 * VM reference (vCPU, device, stats, guest_memfd), or no KVM fd. */
enum kvm_fd_kind { KVM_FD_NONE, KVM_FD_VM, KVM_FD_REF };
enum kvm_fd_kind kvm_fd_kind(const char *link);

/* Order by pid, then start: the order the views list VMs of one pid. */
int vm_ident_compare(uint32_t pid_a, uint64_t start_a, uint32_t pid_b,
		     uint64_t start_b);
/* Whether the VMM pid that started at start still runs. start 0 (not
 * known to the map): whether any process pid runs. */
bool vm_alive(uint32_t pid, uint64_t start);
/* The start of the process pid runs now, as the maps carry it (to
 * 1/CLK_TCK), or 0 when there is none. */
uint64_t vm_current_start(uint32_t pid);
/* Those of n VMs (each once) that no longer run: up to max into gone,
 * returning how many. */
size_t vms_gone(const struct vm_ident *vms, size_t n, struct vm_ident *gone,
		size_t max);
bool vm_listed(uint32_t pid, uint64_t start, const struct vm_ident *vms,
	       size_t n);
/* The VMM's start as Unix time in seconds, to 1/CLK_TCK (what
 * /proc/PID/stat gives): the vm_start of JSON and of the exported series.
 * 0 for an unknown start. */
double vm_start_unix(uint64_t start);
/* vm_start_unix() as the labels and tables write it ("%.2f"). */
void vm_start_label(uint64_t start, char *buf, size_t len);
/* Whether the VM of labels vm=pid and vm_start=label still runs. */
bool vm_label_alive(const char *pid, const char *start_label);

#endif
