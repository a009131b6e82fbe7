/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kvmload's x86_64 part shares between building and running a VM
 * (x86_64.c) and its scenarios' host side (x86_64_scenarios.c): the
 * guest layout, the VM's state and the scenarios' entry points.
 */
#ifndef KVMLOAD_X86_64_H
#define KVMLOAD_X86_64_H

#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "kvm_util.h"
/* Only the layout #defines: the code is behind __ASSEMBLER__. */
#include "guest_x86_64.S"

/* Newer than some build hosts' uapi headers. */
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#endif

/* Guest code, linked into kvmload from guest_x86_64.S. */
extern const char guest_x86_start[], guest_x86_end[];
extern const char guest_x86_mmio[], guest_x86_timer[], guest_x86_teardown[];
extern const char guest_x86_pmu[];
extern const char guest_x86_timer_isr[], guest_x86_gp_isr[];
extern const char guest_x86_spurious_isr[], guest_x86_exc_stubs[];

#define PHASES		4
#define LAPIC_DIVIDE_1	0xb	/* TDCR value for divide by 1 */
#define SPURIOUS_VECTOR	0xff
#define CATCHALL_STUB	32	/* the "vector 255" stub after 0..31 */

/* Architectural PMU MSRs (Intel SDM vol. 4; AMD APM vol. 2, "legacy"). */
#define MSR_IA32_PERFEVTSEL0	0x186
#define MSR_IA32_PMC0		0xc1
#define MSR_K7_EVNTSEL0		0xc0010000
#define MSR_K7_PERFCTR0		0xc0010004
/* Unhalted core cycles, counted in ring 0 and 3 (USR | OS | EN). */
#define EVTSEL_USR_OS_EN	((1u << 16) | (1u << 17) | (1u << 22))
#define INTEL_EVENT_CYCLES	0x3c
#define AMD_EVENT_CYCLES	0x76

struct x86_vm;

struct x86_vcpu {
	struct x86_vm *x;
	uint64_t phase_ns[PHASES];
	uint64_t started_ns, done_ns;
	uint64_t unbacked_exits;	/* KVM_EXIT_MMIO writes we expected */
	uint64_t port_outs[4];		/* KVM_EXIT_IO by port, PORT_PHASE on */
	int fast_efd, datamatch_efd;
};

struct x86_vm {
	const struct kvmload_opts *o;
	struct kvm_vm vm;
	uint8_t *mem;			/* slot 0 */
	uint8_t *touch_mem;		/* teardown: slot 1 */
	size_t touch_size;
	struct kvm_vcpu *vcpus;
	struct x86_vcpu *xv;
	struct kvm_cpuid2 *cpuid;
	bool amd;			/* from CPUID leaf 0 */
	atomic_uint timers_started;
};

static inline volatile uint32_t *guest_u32(struct x86_vm *x, uint64_t gpa)
{
	return (volatile uint32_t *)(x->mem + gpa);
}

static inline volatile uint32_t *vcpu_u32(struct x86_vm *x, unsigned int vcpu,
				   unsigned int off)
{
	return guest_u32(x, GUEST_VCPU_GPA + vcpu * GUEST_VCPU_SIZE + off);
}

static inline uint32_t guest_code_gpa(const char *sym)
{
	return GUEST_CODE_GPA + (uint32_t)(sym - guest_x86_start);
}

static inline uint64_t fast_gpa(unsigned int i)
{
	return GUEST_FAST_MMIO_GPA + (uint64_t)i * GUEST_MMIO_STRIDE;
}

static inline uint64_t datamatch_gpa(unsigned int i)
{
	return GUEST_DATAMATCH_GPA + (uint64_t)i * GUEST_MMIO_STRIDE;
}

static inline uint64_t unbacked_gpa(unsigned int i)
{
	return GUEST_UNBACKED_GPA + (uint64_t)i * GUEST_MMIO_STRIDE;
}

struct timer_setup {
	unsigned int min_period_us;	/* 0: not readable */
	unsigned int effective_us;
	unsigned int bus_cycle_ns;
	uint32_t initial_count;
};

struct pmu_setup {
	uint32_t evtsel_msr, ctr_msr, evtsel_value;
	const char *evtsel_name, *ctr_name;
};

const struct kvm_cpuid_entry2 *cpuid_leaf(const struct kvm_cpuid2 *c,
					  uint32_t leaf);
void cpuid_vendor(const struct kvm_cpuid2 *c, char vendor[13]);

void mmio_prepare(struct x86_vm *x);
void mmio_report(struct x86_vm *x, unsigned int i, json_t *v);
void timer_prepare(struct x86_vm *x, struct timer_setup *t);
uint64_t timer_run(struct x86_vm *x);
void timer_report_vm(const struct timer_setup *t, uint64_t elapsed,
		     json_t *vm);
void timer_report(struct x86_vm *x, const struct timer_setup *t,
		  unsigned int i, json_t *v);
void teardown_prepare(struct x86_vm *x);
void teardown_report(struct x86_vm *x, unsigned int i, json_t *v);
void pmu_prepare(struct x86_vm *x, struct pmu_setup *p);
void pmu_report_vm(struct x86_vm *x, const struct pmu_setup *p,
		   json_t *vm);
void pmu_report(struct x86_vm *x, const struct pmu_setup *p,
		unsigned int i, json_t *v);

#endif /* KVMLOAD_X86_64_H */
