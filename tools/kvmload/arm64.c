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

#include "arm64.h"

const char *const arch_name = "arm64";

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
	json_set_uint(vmj, "run_ns", now_ns() - run_start);
	check_guest(&vm);

	for (unsigned int i = 0; i < o->vcpus; i++) {
		struct arm64_vcpu *av = &vm.avcpus[i];
		json_t *v = kvm_vcpu_json(&vm.vcpus[i]);

		switch (o->scenario) {
		case SCENARIO_MMIO:
			arm64_mmio_json(av, v);
			break;
		case SCENARIO_TIMER:
			arm64_timer_json(av, v, timer_stop, o->period_us);
			break;
		case SCENARIO_TEARDOWN:
			arm64_teardown_json(av, v);
			break;
		case SCENARIO_PMU:
			arm64_pmu_json(&vm, av, v);
			break;
		}
		if (json_array_append_new(vcpus_json, v))
			die("out of memory building JSON");
	}
	switch (o->scenario) {
	case SCENARIO_TIMER:
		arm64_timer_vm_json(&vm, timer_start, timer_stop, vmj);
		break;
	case SCENARIO_TEARDOWN:
		json_set_uint(vmj, "mem_gpa", TEARDOWN_GPA);
		json_set_uint(vmj, "mem_pages", vm.mem_size / PAGE_SIZE_4K);
		break;
	case SCENARIO_PMU:
		arm64_pmu_vm_json(&vm, pmu_cap, vmj);
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
