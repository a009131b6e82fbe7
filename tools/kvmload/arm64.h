/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kvmload's arm64 part shares between building and running a VM
 * (arm64.c) and reporting it (arm64_report.c): the guest physical layout,
 * the per-vCPU guest block that guest_arm64.S fills, and the VM's state.
 */
#ifndef KVMLOAD_ARM64_H
#define KVMLOAD_ARM64_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "kvm_util.h"

#define GICD_GPA		0x08000000ull
#define GICR_GPA		0x080a0000ull
#define GICR_STRIDE		0x20000ull
#define HOSTCALL_GPA		0x0a000000ull
#define MMIO_PAGES_GPA		0x0a001000ull
#define MMIO_FAST_OFF		0x000
#define MMIO_MATCH_OFF		0x100
#define MMIO_UNBACKED_OFF	0x200
#define RAM_GPA			0x40000000ull
#define RAM_SIZE		0x200000ull
#define CODE_OFF		0x0
#define CODE_MAX		0x10000
#define PGTABLE_OFF		0x10000
#define BLOCKS_OFF		0x20000
#define BLOCK_SIZE		0x1000
#define STACKS_OFF		0x100000
#define STACK_SIZE		0x4000
#define TEARDOWN_GPA		0x80000000ull

/* Keeps the redistributors below the doorbells and the blocks and
 * stacks inside slot 0. */
#define ARM64_MAX_VCPUS		64

#define RAM_SLOT		0
#define TEARDOWN_SLOT		1

#define PAGE_SIZE_4K		4096ull
#define MATCH_LEN		4
#define MATCH_DATA		0x6b766d6cull	/* "kvml" */
#define PMU_IRQ			23		/* a free PPI */
#define VTIMER_INTID		27		/* KVM's default vtimer */
#define PMU_EVENT_CPU_CYCLES	0x11
#define TIMER_START_TIMEOUT_NS	(30 * 1000000000ull)

/* Host-call codes the guest writes to HOSTCALL_GPA. */
#define HC_DONE			1
#define HC_TIMER_STARTED	2
#define HC_FATAL		3

/* Registers the pmu loop touches, indexes into the pmu_* arrays. */
enum { PMU_PMCR, PMU_PMEVTYPER0, PMU_PMCNTENSET, PMU_PMCNTENCLR,
	PMU_PMEVCNTR0, PMU_NREGS };

/* Per-vCPU parameters and results in guest memory; the layout is the GB_*
 * offsets in guest_arm64.S. */
struct guest_block {
	/* written by the host */
	uint64_t scenario;
	uint64_t vcpu_index;
	uint64_t hostcall_gpa;
	uint64_t count;
	uint64_t fast_gpa;
	uint64_t match_gpa;
	uint64_t match_data;
	uint64_t unbacked_gpa;
	uint64_t period_us;
	uint64_t gicd_gpa;
	uint64_t gicr_gpa;
	uint64_t stop;
	uint64_t mem_base;
	uint64_t mem_pages;
	uint64_t pmu_event;
	uint64_t ttbr0;
	/* written by the guest */
	uint64_t timer_irqs;
	uint64_t spurious_irqs;
	uint64_t other_irqs;
	uint64_t last_other_intid;
	uint64_t cntfrq;
	uint64_t period_ticks;
	uint64_t cnt_start;
	uint64_t cnt_end;
	uint64_t pages_touched;
	uint64_t faults;
	uint64_t fault_esr;
	uint64_t fatal_esr;
	uint64_t fatal_elr;
	uint64_t fatal_vector;
	uint64_t pmu_last;
	uint64_t pmu_nonzero;
	uint64_t pmu_reads[8];
	uint64_t pmu_writes[8];
	uint64_t mmio_stores[3];	/* fast, datamatch, unbacked */
	uint64_t pmcr_init;
	uint64_t pmu_iterations;
	uint64_t timer_skipped;
	uint64_t phase_cnt[4];		/* CNTVCT at phase boundaries */
	uint64_t pmu_read_faults[8];
	uint64_t pmu_write_faults[8];
};

#define CHECK_OFF(field, off) \
	_Static_assert(offsetof(struct guest_block, field) == (off), \
		       "guest_block." #field " must match guest_arm64.S")
CHECK_OFF(scenario, 0x000);
CHECK_OFF(hostcall_gpa, 0x010);
CHECK_OFF(unbacked_gpa, 0x038);
CHECK_OFF(stop, 0x058);
CHECK_OFF(pmu_event, 0x070);
CHECK_OFF(ttbr0, 0x078);
CHECK_OFF(timer_irqs, 0x080);
CHECK_OFF(cntfrq, 0x0a0);
CHECK_OFF(pages_touched, 0x0c0);
CHECK_OFF(fatal_vector, 0x0e8);
CHECK_OFF(pmu_nonzero, 0x0f8);
CHECK_OFF(pmu_reads, 0x100);
CHECK_OFF(pmu_writes, 0x140);
CHECK_OFF(mmio_stores, 0x180);
CHECK_OFF(pmcr_init, 0x198);
CHECK_OFF(pmu_iterations, 0x1a0);
CHECK_OFF(timer_skipped, 0x1a8);
CHECK_OFF(phase_cnt, 0x1b0);
CHECK_OFF(pmu_read_faults, 0x1d0);
CHECK_OFF(pmu_write_faults, 0x210);
_Static_assert(sizeof(struct guest_block) <= BLOCK_SIZE, "block too big");
_Static_assert(GICR_GPA + ARM64_MAX_VCPUS * GICR_STRIDE <= HOSTCALL_GPA,
	       "redistributors overlap the doorbells");
_Static_assert(BLOCKS_OFF + ARM64_MAX_VCPUS * BLOCK_SIZE <= STACKS_OFF,
	       "blocks overlap the stacks");
_Static_assert(STACKS_OFF + ARM64_MAX_VCPUS * STACK_SIZE <= RAM_SIZE,
	       "stacks overflow slot 0");

/* Guest code, assembled into this binary. */
extern const char guest_arm64_start[], guest_arm64_end[];

struct arm64_vm;

struct arm64_vcpu {
	struct arm64_vm *vm;
	struct guest_block *blk;	/* host view of the guest block */
	uint64_t unbacked_gpa;
	uint64_t unbacked_exits;	/* KVM_EXIT_MMIO at unbacked_gpa */
	uint64_t hostcall_exits;	/* KVM_EXIT_MMIO at HOSTCALL_GPA */
	int fast_efd, match_efd;
	uint64_t start_ns, done_ns;	/* host time of the host calls */
	bool done;
};

struct arm64_vm {
	const struct kvmload_opts *o;
	struct kvm_vm kvm;
	struct kvm_vcpu *vcpus;
	struct arm64_vcpu *avcpus;
	uint8_t *ram;
	uint8_t *mem;			/* teardown slot */
	size_t mem_size;
	int vgic_fd;
	bool vpmu;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int timers_started;
};

void arm64_mmio_json(struct arm64_vcpu *av, json_t *v);
void arm64_timer_json(struct arm64_vcpu *av, json_t *v, uint64_t stop_ns,
		      unsigned int period_us);
void arm64_timer_vm_json(struct arm64_vm *vm, uint64_t start_ns,
			 uint64_t stop_ns, json_t *vmj);
void arm64_teardown_json(struct arm64_vcpu *av, json_t *v);
void arm64_pmu_json(const struct arm64_vm *vm, struct arm64_vcpu *av,
		    json_t *v);
void arm64_pmu_vm_json(const struct arm64_vm *vm, int cap, json_t *vmj);

#endif /* KVMLOAD_ARM64_H */
