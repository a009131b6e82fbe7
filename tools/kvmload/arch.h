/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The narrow interface between kvmload's common part (kvmload.c,
 * kvm_util.c) and one architecture part (x86_64.c or arm64.c, each with
 * its guest code).  Exactly one arch part is linked into a kvmload binary.
 */
#ifndef KVMLOAD_ARCH_H
#define KVMLOAD_ARCH_H

#include <jansson.h>

enum kvmload_scenario { SCENARIO_MMIO, SCENARIO_TIMER, SCENARIO_TEARDOWN, SCENARIO_PMU };

/* Parsed and range-checked command line; arch code may trust it. */
struct kvmload_opts {
	enum kvmload_scenario scenario;
	unsigned int vms, vcpus;
	unsigned long writes;      /* mmio -n */
	unsigned int period_us;    /* timer --period-us */
	double seconds;            /* timer --seconds */
	unsigned int mem_mib;      /* teardown --mem-mib */
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

#endif /* KVMLOAD_ARCH_H */
