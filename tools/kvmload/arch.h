/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The narrow interface between kvmload's common part (kvmload.c,
 * kvm_util.c) and one architecture part (x86_64.c or arm64.c, each with
 * its guest code).  Exactly one arch part is linked into a kvmload binary.
 */
#ifndef KVMLOAD_ARCH_H
#define KVMLOAD_ARCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_vm;
struct kvm_vcpu;

enum kvmload_scenario { SCENARIO_MMIO, SCENARIO_TIMER, SCENARIO_TEARDOWN, SCENARIO_PMU };

/* teardown --teardown-order: when the VM goes relative to its memory. */
enum teardown_order {
	/* Close the VM fd with guest memory still mapped, as a VMM that
	 * exits does: KVM walks and frees the whole stage-2 / TDP table. */
	ORDER_VM_FIRST,
	/* munmap first: the MMU notifier zaps the entries there, and the VM
	 * fd close finds (almost) nothing left to walk. */
	ORDER_MUNMAP_FIRST,
	/* Leave it all to the kernel: exit with fds and memory in place
	 * (exit_mmap releases the MMU notifier, then the fds close). */
	ORDER_EXIT,
	/* The same, killed by SIGKILL: a VMM that dies without exit_group. */
	ORDER_KILL,
};

/* Parsed and range-checked command line; arch code may trust it. */
struct kvmload_opts {
	enum kvmload_scenario scenario;
	unsigned int vms, vcpus;
	unsigned long writes;      /* mmio -n */
	unsigned int period_us;    /* timer --period-us */
	double seconds;            /* timer --seconds */
	unsigned int mem_mib;      /* teardown --mem-mib */
	enum teardown_order order; /* teardown --teardown-order */
	int competitor_cpu;        /* teardown --competitor-cpu, or -1 */
	unsigned int memslot_cycles; /* teardown --memslot-cycles */
	const char *wait_file;     /* teardown --wait-file, or NULL */
	const char *name;          /* -name, as QEMU's, or NULL */
	int competitor_go_fd;      /* starts the competitor spinning, or -1 */
	volatile int *competitor_spinning; /* set once it spins */
	unsigned long iterations;  /* pmu -k */
};

/* Name in the JSON "arch" field: "x86_64" or "arm64". */
extern const char *const arch_name;

/*
 * Create one VM in the calling process, run the scenario on o->vcpus vCPU
 * threads, destroy the VM, and fill vm (a JSON object) with the per-VM
 * figures and a "vcpus" array of per-vCPU objects. Returns 0, or exits(1)
 * with a message naming the failed ioctl.
 *
 * It runs in a child process of its own (one per VM); kvmload.c adds
 * "pid" and sums the "totals" afterwards.  The per-vCPU objects should
 * start from kvm_vcpu_json() (kvm_util.h) so that "vcpu_id", "tid",
 * "userspace_exits" and "kvm_run_calls" are identical on every arch.
 */
int arch_run_vm(const struct kvmload_opts *o, json_t *vm);

/* What a VM holds at teardown, for kvm_teardown() (kvmload.c). */
struct vm_parts {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpus;
	unsigned int nvcpus;
	int extra_fd;			/* e.g. the vGIC device, or -1 */
	struct {
		void *mem;
		size_t size;
		uint32_t slot;		/* its memory slot */
		uint64_t gpa;
	} maps[2];
	unsigned int nmaps;
};

/*
 * Destroy the VM in o->order, timing each step; on the teardown scenario
 * the figures go into vm (docs/kvmload.md). With --competitor-cpu the
 * calling thread moves to that CPU first. ORDER_EXIT leaves everything
 * for the process exit (the parent times that).
 */
void kvm_teardown(const struct kvmload_opts *o, struct vm_parts *p,
		  json_t *vm);

#endif /* KVMLOAD_ARCH_H */
