// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload's arm64 part: builds one VM (guest code from guest_arm64.S, an
 * identity map, per-vCPU parameter blocks and stacks in a small RAM slot),
 * adds what the scenario needs (ioeventfds, vGICv3, vPMU, a big slot to
 * touch), runs the vCPUs and turns what they counted into JSON.
 *
 * Guest physical layout:
 *   0x08000000  GICv3 distributor (64 KiB)
 *   0x080a0000  GICv3 redistributors, 128 KiB per vCPU
 *   0x0a000000  host-call doorbell (unbacked: KVM_EXIT_MMIO)
 *   0x0a001000  per-vCPU MMIO page: fast ioeventfd at +0, datamatch
 *               ioeventfd at +0x100, unbacked at +0x200
 *   0x40000000  RAM slot 0: code, identity map, guest blocks, stacks
 *   0x80000000  RAM slot 1 (teardown only): M MiB, 4 KiB stage-2 pages
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "kvm_util.h"

const char *const arch_name = "arm64";

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

static const struct {
	const char *name;
	const char *encoding;	/* op0_op1_CRn_CRm_op2 */
} pmu_regs[PMU_NREGS] = {
	[PMU_PMCR] = { "PMCR_EL0", "S3_3_C9_C12_0" },
	[PMU_PMEVTYPER0] = { "PMEVTYPER0_EL0", "S3_3_C14_C12_0" },
	[PMU_PMCNTENSET] = { "PMCNTENSET_EL0", "S3_3_C9_C12_1" },
	[PMU_PMCNTENCLR] = { "PMCNTENCLR_EL0", "S3_3_C9_C12_2" },
	[PMU_PMEVCNTR0] = { "PMEVCNTR0_EL0", "S3_3_C14_C8_0" },
};

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

#define CORE_REG(name) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
			KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(name))

static void set_core_reg(struct kvm_vcpu *vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = {
		.id = id,
		.addr = (uint64_t)(uintptr_t)&value,
	};

	kvm_ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg);
}

static void set_device_attr(int fd, uint32_t group, uint64_t attr,
			    const void *value)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)value,
	};

	kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

/* A condition variable whose timed waits use CLOCK_MONOTONIC, like
 * now_ns(). */
static int init_monotonic_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int err = pthread_condattr_init(&attr);

	if (!err)
		err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}

static void lock_vm(struct arm64_vm *vm)
{
	int err = pthread_mutex_lock(&vm->lock);

	if (err)
		die("pthread_mutex_lock failed: %s", strerror(err));
}

static void unlock_vm(struct arm64_vm *vm)
{
	int err = pthread_mutex_unlock(&vm->lock);

	if (err)
		die("pthread_mutex_unlock failed: %s", strerror(err));
}

static void guest_fatal(const struct kvm_vcpu *vcpu,
			const struct guest_block *blk)
{
	if (blk->fatal_vector == (uint64_t)-1)
		die("vCPU %u: guest got an unknown scenario %llu", vcpu->id,
		    (unsigned long long)blk->scenario);
	die("vCPU %u: unexpected guest exception: vector offset 0x%llx, ESR_EL1 0x%llx, ELR_EL1 0x%llx",
	    vcpu->id, (unsigned long long)blk->fatal_vector,
	    (unsigned long long)blk->fatal_esr,
	    (unsigned long long)blk->fatal_elr);
}

static enum kvm_vcpu_action host_call(struct kvm_vcpu *vcpu, uint32_t code)
{
	struct arm64_vcpu *av = vcpu->arch;
	struct arm64_vm *vm = av->vm;
	int err;

	switch (code) {
	case HC_DONE:
		av->done_ns = now_ns();
		av->done = true;
		return KVM_VCPU_STOP;
	case HC_TIMER_STARTED:
		av->start_ns = now_ns();
		lock_vm(vm);
		vm->timers_started++;
		err = pthread_cond_signal(&vm->cond);
		unlock_vm(vm);
		if (err)
			die("pthread_cond_signal failed: %s", strerror(err));
		return KVM_VCPU_CONTINUE;
	case HC_FATAL:
		guest_fatal(vcpu, av->blk);
	}
	die("vCPU %u: guest wrote unknown host-call code %u", vcpu->id, code);
}

static enum kvm_vcpu_action handle_exit(struct kvm_vcpu *vcpu)
{
	struct arm64_vcpu *av = vcpu->arch;
	struct kvm_run *run = vcpu->run;
	uint32_t data;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		if (!run->mmio.is_write)
			die("vCPU %u: unexpected MMIO read of %u bytes at 0x%llx",
			    vcpu->id, run->mmio.len,
			    (unsigned long long)run->mmio.phys_addr);
		if (run->mmio.phys_addr == av->unbacked_gpa) {
			av->unbacked_exits++;
			return KVM_VCPU_CONTINUE;
		}
		if (run->mmio.phys_addr == HOSTCALL_GPA && run->mmio.len == 4) {
			av->hostcall_exits++;
			memcpy(&data, run->mmio.data, sizeof(data));
			return host_call(vcpu, data);
		}
		die("vCPU %u: unexpected MMIO write of %u bytes at 0x%llx",
		    vcpu->id, run->mmio.len,
		    (unsigned long long)run->mmio.phys_addr);
	case KVM_EXIT_SYSTEM_EVENT:
		die("vCPU %u: unexpected system event %u", vcpu->id,
		    run->system_event.type);
	case KVM_EXIT_FAIL_ENTRY:
		die("vCPU %u: KVM_RUN failed to enter the guest, reason 0x%llx",
		    vcpu->id, (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_INTERNAL_ERROR:
		die("vCPU %u: KVM internal error, suberror %u", vcpu->id,
		    run->internal.suberror);
	}
	die("vCPU %u: unexpected exit reason %s (%u)", vcpu->id,
	    kvm_exit_reason_name(run->exit_reason), run->exit_reason);
}

/* Identity map in 1 GiB level-1 blocks: the first GiB (GIC, doorbells)
 * Device-nGnRnE and never executable, the rest Normal write-back. */
static void build_identity_map(uint64_t *l1)
{
	const uint64_t block = 1, attr_device = 0 << 2, attr_normal = 1 << 2;
	const uint64_t inner_shareable = 3 << 8, access_flag = 1 << 10;
	const uint64_t pxn = 1ull << 53, uxn = 1ull << 54;

	l1[0] = block | attr_device | access_flag | pxn | uxn;
	for (uint64_t i = 1; i < 512; i++)
		l1[i] = (i << 30) | block | attr_normal | inner_shareable |
			access_flag;
}

static void setup_memory(struct arm64_vm *vm)
{
	size_t code_size = (size_t)(guest_arm64_end - guest_arm64_start);

	if (code_size > CODE_MAX)
		die("internal error: guest code is %zu bytes, room for %d",
		    code_size, CODE_MAX);
	vm->ram = kvm_alloc_guest_memory(RAM_SIZE, false);
	memcpy(vm->ram + CODE_OFF, guest_arm64_start, code_size);
	build_identity_map((uint64_t *)(vm->ram + PGTABLE_OFF));
	kvm_set_memory_slot(&vm->kvm, RAM_SLOT, RAM_GPA, vm->ram, RAM_SIZE);

	if (vm->o->scenario != SCENARIO_TEARDOWN)
		return;
	vm->mem_size = (size_t)vm->o->mem_mib << 20;
	/* 4 KiB backing pages, so stage 2 holds 4 KiB entries too. */
	vm->mem = kvm_alloc_guest_memory(vm->mem_size, true);
	kvm_set_memory_slot(&vm->kvm, TEARDOWN_SLOT, TEARDOWN_GPA, vm->mem,
			    vm->mem_size);
}

static void init_vcpu(struct arm64_vm *vm, unsigned int i)
{
	const struct kvmload_opts *o = vm->o;
	struct kvm_vcpu *vcpu = &vm->vcpus[i];
	struct arm64_vcpu *av = &vm->avcpus[i];
	struct kvm_vcpu_init init;
	struct guest_block *blk;
	uint64_t pages, mmio_page = MMIO_PAGES_GPA + i * PAGE_SIZE_4K;

	kvm_vcpu_create(&vm->kvm, vcpu, i);
	memset(&init, 0, sizeof(init));
	kvm_ioctl(vm->kvm.fd, KVM_ARM_PREFERRED_TARGET, &init);
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (vm->vpmu)
		init.features[0] |= 1u << KVM_ARM_VCPU_PMU_V3;
	kvm_ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init);

	blk = (struct guest_block *)(vm->ram + BLOCKS_OFF + i * BLOCK_SIZE);
	av->vm = vm;
	av->blk = blk;
	av->fast_efd = av->match_efd = -1;
	vcpu->arch = av;
	vcpu->handle_exit = handle_exit;

	blk->scenario = o->scenario;
	blk->vcpu_index = i;
	blk->hostcall_gpa = HOSTCALL_GPA;
	blk->ttbr0 = RAM_GPA + PGTABLE_OFF;
	switch (o->scenario) {
	case SCENARIO_MMIO: {
		uint64_t match = MATCH_DATA;

		blk->count = o->writes;
		blk->fast_gpa = mmio_page + MMIO_FAST_OFF;
		blk->match_gpa = mmio_page + MMIO_MATCH_OFF;
		blk->match_data = MATCH_DATA;
		blk->unbacked_gpa = mmio_page + MMIO_UNBACKED_OFF;
		av->unbacked_gpa = blk->unbacked_gpa;
		av->fast_efd = kvm_add_ioeventfd(&vm->kvm, blk->fast_gpa, 0,
						 NULL, false);
		av->match_efd = kvm_add_ioeventfd(&vm->kvm, blk->match_gpa,
						  MATCH_LEN, &match, false);
		break;
	}
	case SCENARIO_TIMER:
		blk->period_us = o->period_us;
		blk->gicd_gpa = GICD_GPA;
		blk->gicr_gpa = GICR_GPA + i * GICR_STRIDE;
		break;
	case SCENARIO_TEARDOWN:
		/* Split the slot's pages evenly, in contiguous runs. */
		pages = vm->mem_size / PAGE_SIZE_4K;
		blk->mem_base = TEARDOWN_GPA +
				pages * i / o->vcpus * PAGE_SIZE_4K;
		blk->mem_pages = pages * (i + 1) / o->vcpus -
				 pages * i / o->vcpus;
		break;
	case SCENARIO_PMU:
		blk->count = o->iterations;
		blk->pmu_event = PMU_EVENT_CPU_CYCLES;
		break;
	}

	set_core_reg(vcpu, CORE_REG(regs.pc), RAM_GPA + CODE_OFF);
	set_core_reg(vcpu, CORE_REG(sp_el1),
		     RAM_GPA + STACKS_OFF + (i + 1) * STACK_SIZE);
	set_core_reg(vcpu, CORE_REG(regs.regs[0]),
		     RAM_GPA + BLOCKS_OFF + i * BLOCK_SIZE);
}

/* vGICv3 after all vCPUs exist (KVM sizes the redistributor region from
 * them); the vPMU needs an initialised vGIC for its PPI. */
static void setup_vgic(struct arm64_vm *vm)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = GICD_GPA, redist = GICR_GPA;

	kvm_ioctl(vm->kvm.fd, KVM_CREATE_DEVICE, &cd);
	vm->vgic_fd = (int)cd.fd;
	set_device_attr(vm->vgic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			KVM_VGIC_V3_ADDR_TYPE_DIST, &dist);
	set_device_attr(vm->vgic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	set_device_attr(vm->vgic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
}

static void setup_vpmu(struct arm64_vm *vm)
{
	int irq = PMU_IRQ;

	for (unsigned int i = 0; i < vm->o->vcpus; i++) {
		set_device_attr(vm->vcpus[i].fd, KVM_ARM_VCPU_PMU_V3_CTRL,
				KVM_ARM_VCPU_PMU_V3_IRQ, &irq);
		set_device_attr(vm->vcpus[i].fd, KVM_ARM_VCPU_PMU_V3_CTRL,
				KVM_ARM_VCPU_PMU_V3_INIT, NULL);
	}
}

static struct timespec ns_timespec(uint64_t ns)
{
	return (struct timespec){
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};
}

static void sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = ns_timespec(deadline_ns);
	int err;

	while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				      NULL)) == EINTR)
		;
	if (err)
		die("clock_nanosleep failed: %s", strerror(err));
}

/* Timer: wait until every vCPU has armed its timer, let it run for the
 * requested time, then raise the stop flags.  *start_ns: all timers run,
 * *stop_ns: stop flags raised. */
static void run_timer(struct arm64_vm *vm, uint64_t *start_ns,
		      uint64_t *stop_ns)
{
	const struct kvmload_opts *o = vm->o;
	struct timespec deadline = ns_timespec(now_ns() +
					       TIMER_START_TIMEOUT_NS);

	lock_vm(vm);
	while (vm->timers_started < o->vcpus) {
		int err = pthread_cond_timedwait(&vm->cond, &vm->lock,
						 &deadline);

		if (err == ETIMEDOUT)
			die("the guest timers did not start within %llu s",
			    TIMER_START_TIMEOUT_NS / 1000000000ull);
		if (err)
			die("pthread_cond_timedwait failed: %s",
			    strerror(err));
	}
	unlock_vm(vm);
	kvmload_timer_started();
	*start_ns = now_ns();
	sleep_until(*start_ns + (uint64_t)(o->seconds * 1e9));
	/* The guests see it when their next tick wakes them. */
	for (unsigned int i = 0; i < o->vcpus; i++)
		__atomic_store_n(&vm->avcpus[i].blk->stop, 1,
				 __ATOMIC_RELEASE);
	*stop_ns = now_ns();
}

static void set_uint(json_t *obj, const char *key, uint64_t value)
{
	json_set(obj, key, json_integer((json_int_t)value));
}

static json_t *new_object(void)
{
	json_t *obj = json_object();

	if (!obj)
		die("out of memory building JSON");
	return obj;
}

/* Guest virtual counter ticks to ns. */
static uint64_t ticks_ns(const struct guest_block *blk, uint64_t ticks)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000000u /
			  blk->cntfrq);
}

static uint64_t phase_ns(const struct guest_block *blk, unsigned int from,
			 unsigned int to)
{
	return ticks_ns(blk, blk->phase_cnt[to] - blk->phase_cnt[from]);
}

static void mmio_json(struct arm64_vcpu *av, json_t *v)
{
	const struct guest_block *blk = av->blk;

	set_uint(v, "fast_mmio_gpa", blk->fast_gpa);
	set_uint(v, "datamatch_gpa", blk->match_gpa);
	set_uint(v, "user_mmio_gpa", blk->unbacked_gpa);
	set_uint(v, "datamatch_len", MATCH_LEN);
	set_uint(v, "datamatch_value", MATCH_DATA);
	set_uint(v, "fast_mmio_writes", blk->mmio_stores[0]);
	set_uint(v, "datamatch_writes", blk->mmio_stores[1]);
	set_uint(v, "user_mmio_writes", blk->mmio_stores[2]);
	set_uint(v, "fast_mmio_eventfd", kvm_eventfd_take(av->fast_efd));
	set_uint(v, "datamatch_eventfd", kvm_eventfd_take(av->match_efd));
	set_uint(v, "user_mmio_exits", av->unbacked_exits);
	/* The doorbell is the VM's, one address for all its vCPUs. */
	set_uint(v, "hostcall_gpa", HOSTCALL_GPA);
	set_uint(v, "hostcall_writes", av->hostcall_exits);
	/* Phase times by the guest's virtual counter: no extra exits. */
	set_uint(v, "fast_mmio_ns", phase_ns(blk, 0, 1));
	set_uint(v, "datamatch_ns", phase_ns(blk, 1, 2));
	set_uint(v, "user_mmio_ns", phase_ns(blk, 2, 3));
	close(av->fast_efd);
	close(av->match_efd);
}

static void timer_json(struct arm64_vcpu *av, json_t *v, uint64_t stop_ns,
		       unsigned int period_us)
{
	const struct guest_block *blk = av->blk;
	uint64_t window = stop_ns - av->start_ns;
	uint64_t guest_ticks = blk->cnt_end - blk->cnt_start;

	set_uint(v, "interrupts", blk->timer_irqs);
	/* Host view: this vCPU's timer start to the stop flag. */
	set_uint(v, "host_elapsed_ns", window);
	json_set(v, "expected_interrupts_host",
		 json_real((double)window / 1e3 / period_us));
	json_set(v, "interrupts_per_s",
		 json_real(window ? blk->timer_irqs * 1e9 / window : 0));
	/*
	 * Guest view: timer armed to stop flag seen, by the virtual counter
	 * the timer compares against.  The ISR re-arms at CVAL + period and
	 * so catches up on late ticks, except those still due when the guest
	 * stops (skipped_ticks): interrupts + skipped_ticks is exactly
	 * expected_interrupts.
	 */
	set_uint(v, "guest_elapsed_ns", ticks_ns(blk, guest_ticks));
	set_uint(v, "expected_interrupts", guest_ticks / blk->period_ticks);
	set_uint(v, "skipped_ticks", blk->timer_skipped);
	set_uint(v, "spurious_interrupts", blk->spurious_irqs);
	set_uint(v, "other_interrupts", blk->other_irqs);
	if (blk->other_irqs)
		set_uint(v, "last_other_intid", blk->last_other_intid);
}

/* Per-VM timer figures; every vCPU computed the same period. */
static void timer_vm_json(struct arm64_vm *vm, uint64_t start_ns,
			  uint64_t stop_ns, json_t *vmj)
{
	const struct guest_block *blk0 = vm->avcpus[0].blk;

	for (unsigned int i = 0; i < vm->o->vcpus; i++) {
		const struct guest_block *blk = vm->avcpus[i].blk;

		if (!blk->period_ticks ||
		    blk->period_ticks != blk0->period_ticks)
			die("vCPU %u computed a timer period of %llu ticks, vCPU 0 %llu",
			    i, (unsigned long long)blk->period_ticks,
			    (unsigned long long)blk0->period_ticks);
	}
	set_uint(vmj, "elapsed_ns", stop_ns - start_ns);
	/* No clamp on arm64, only the rounding to whole counter ticks. */
	json_set(vmj, "period_us_effective",
		 json_real((double)blk0->period_ticks * 1e6 /
			   (double)blk0->cntfrq));
	set_uint(vmj, "cntfrq_hz", blk0->cntfrq);
	set_uint(vmj, "period_ticks", blk0->period_ticks);
	set_uint(vmj, "vtimer_intid", VTIMER_INTID);
	set_uint(vmj, "timer_start_ns", start_ns);
	set_uint(vmj, "timer_stop_ns", stop_ns);
}

static void teardown_json(struct arm64_vcpu *av, json_t *v)
{
	const struct guest_block *blk = av->blk;
	uint64_t ns = phase_ns(blk, 0, 1);

	set_uint(v, "pages_touched", blk->pages_touched);
	set_uint(v, "first_page_gpa", blk->mem_base);
	set_uint(v, "pages_assigned", blk->mem_pages);
	/* By the guest's virtual counter. */
	set_uint(v, "touch_ns", ns);
	json_set(v, "pages_per_s",
		 json_real(ns ? blk->pages_touched * 1e9 / ns : 0));
}

static void pmu_json(const struct arm64_vm *vm, struct arm64_vcpu *av,
		     json_t *v)
{
	const struct guest_block *blk = av->blk;
	uint64_t reads = 0, writes = 0;
	json_t *regs = new_object();

	for (unsigned int r = 0; r < PMU_NREGS; r++) {
		json_t *reg = new_object();

		json_set(reg, "sysreg", json_string(pmu_regs[r].encoding));
		set_uint(reg, "reads", blk->pmu_reads[r]);
		set_uint(reg, "writes", blk->pmu_writes[r]);
		set_uint(reg, "read_faults", blk->pmu_read_faults[r]);
		set_uint(reg, "write_faults", blk->pmu_write_faults[r]);
		json_set(regs, pmu_regs[r].name, reg);
		reads += blk->pmu_reads[r];
		writes += blk->pmu_writes[r];
	}
	json_set(v, "pmu_registers", regs);
	set_uint(v, "pmu_reads", reads);
	set_uint(v, "pmu_writes", writes);
	set_uint(v, "faults", blk->faults);
	if (blk->faults)
		set_uint(v, "fault_esr_value", blk->fault_esr);
	set_uint(v, "iterations", blk->pmu_iterations);
	set_uint(v, "pmu_ns", phase_ns(blk, 0, 1));
	/* Without a vPMU every read faulted and these mean nothing. */
	if (vm->vpmu) {
		set_uint(v, "counter_last_value", blk->pmu_last);
		set_uint(v, "counter_nonzero_reads", blk->pmu_nonzero);
		set_uint(v, "pmcr_value", blk->pmcr_init);
	}
}

static void pmu_vm_json(const struct arm64_vm *vm, int cap, json_t *vmj)
{
	json_set(vmj, "vpmu", json_boolean(vm->vpmu));
	set_uint(vmj, "kvm_cap_arm_pmu_v3", (uint64_t)cap);
	set_uint(vmj, "pmu_irq", PMU_IRQ);
	set_uint(vmj, "pmu_event", PMU_EVENT_CPU_CYCLES);
	/* PMCR_EL0.N: event counters the guest sees. */
	if (vm->vpmu)
		set_uint(vmj, "pmu_counters",
			 (vm->avcpus[0].blk->pmcr_init >> 11) & 0x1f);
}

static void destroy_vm(struct arm64_vm *vm, json_t *vmj)
{
	struct vm_parts p = {
		.vm = &vm->kvm, .vcpus = vm->vcpus, .nvcpus = vm->o->vcpus,
		.extra_fd = vm->vgic_fd,
		.maps = { { vm->ram, RAM_SIZE, RAM_SLOT, RAM_GPA },
			  { vm->mem, vm->mem_size, TEARDOWN_SLOT, TEARDOWN_GPA } },
		.nmaps = 2,
	};

	kvm_teardown(vm->o, &p, vmj);
}

static void check_guest(const struct arm64_vm *vm)
{
	const struct kvmload_opts *o = vm->o;

	for (unsigned int i = 0; i < o->vcpus; i++) {
		const struct guest_block *blk = vm->avcpus[i].blk;

		if (!vm->avcpus[i].done)
			die("vCPU %u stopped before the guest finished", i);
		if (!blk->cntfrq)
			die("vCPU %u: the guest read CNTFRQ_EL0 as 0", i);
		if (o->scenario == SCENARIO_MMIO &&
		    (blk->mmio_stores[0] != o->writes ||
		     blk->mmio_stores[1] != o->writes ||
		     blk->mmio_stores[2] != o->writes))
			die("vCPU %u: guest made %llu/%llu/%llu stores, expected %lu each",
			    i, (unsigned long long)blk->mmio_stores[0],
			    (unsigned long long)blk->mmio_stores[1],
			    (unsigned long long)blk->mmio_stores[2],
			    o->writes);
	}
}

int arch_run_vm(const struct kvmload_opts *o, json_t *vmj)
{
	struct arm64_vm vm = { .o = o, .vgic_fd = -1 };
	uint64_t run_start, timer_start = 0, timer_stop = 0;
	json_t *vcpus_json;
	int err, pmu_cap = 0;

	if (o->vcpus > ARM64_MAX_VCPUS)
		die("at most %d vCPUs per VM on arm64", ARM64_MAX_VCPUS);
	err = pthread_mutex_init(&vm.lock, NULL);
	if (!err)
		err = init_monotonic_cond(&vm.cond);
	if (err)
		die("cannot initialise a lock: %s", strerror(err));
	vm.vcpus = calloc(o->vcpus, sizeof(*vm.vcpus));
	vm.avcpus = calloc(o->vcpus, sizeof(*vm.avcpus));
	vcpus_json = json_array();
	if (!vm.vcpus || !vm.avcpus || !vcpus_json)
		die("out of memory");

	/* Type 0: the default 40-bit IPA space, plenty for this layout. */
	kvm_vm_create(&vm.kvm, 0);
	if (o->scenario == SCENARIO_PMU) {
		pmu_cap = kvm_check_cap(vm.kvm.fd, KVM_CAP_ARM_PMU_V3);
		vm.vpmu = pmu_cap > 0;
	}
	setup_memory(&vm);
	for (unsigned int i = 0; i < o->vcpus; i++)
		init_vcpu(&vm, i);
	if (o->scenario == SCENARIO_TIMER || o->scenario == SCENARIO_PMU)
		setup_vgic(&vm);
	if (vm.vpmu)
		setup_vpmu(&vm);

	run_start = now_ns();
	for (unsigned int i = 0; i < o->vcpus; i++)
		vm.avcpus[i].start_ns = run_start;
	kvm_vcpus_start(vm.vcpus, o->vcpus);
	if (o->scenario == SCENARIO_TIMER)
		run_timer(&vm, &timer_start, &timer_stop);
	kvm_vcpus_join(vm.vcpus, o->vcpus);
	set_uint(vmj, "run_ns", now_ns() - run_start);
	check_guest(&vm);

	for (unsigned int i = 0; i < o->vcpus; i++) {
		struct arm64_vcpu *av = &vm.avcpus[i];
		json_t *v = kvm_vcpu_json(&vm.vcpus[i]);

		switch (o->scenario) {
		case SCENARIO_MMIO:
			mmio_json(av, v);
			break;
		case SCENARIO_TIMER:
			timer_json(av, v, timer_stop, o->period_us);
			break;
		case SCENARIO_TEARDOWN:
			teardown_json(av, v);
			break;
		case SCENARIO_PMU:
			pmu_json(&vm, av, v);
			break;
		}
		if (json_array_append_new(vcpus_json, v))
			die("out of memory building JSON");
	}
	switch (o->scenario) {
	case SCENARIO_TIMER:
		timer_vm_json(&vm, timer_start, timer_stop, vmj);
		break;
	case SCENARIO_TEARDOWN:
		set_uint(vmj, "mem_gpa", TEARDOWN_GPA);
		set_uint(vmj, "mem_pages", vm.mem_size / PAGE_SIZE_4K);
		break;
	case SCENARIO_PMU:
		pmu_vm_json(&vm, pmu_cap, vmj);
		break;
	default:
		break;
	}
	json_set(vmj, "vcpus", vcpus_json);

	destroy_vm(&vm, vmj);
	free(vm.vcpus);
	free(vm.avcpus);
	pthread_cond_destroy(&vm.cond);
	pthread_mutex_destroy(&vm.lock);
	return 0;
}
