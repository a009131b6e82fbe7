// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload's x86_64 part: a flat 32-bit protected-mode guest (see
 * guest_x86_64.S for the layout and the guest -> host signals): builds
 * the VM, runs its vCPUs and handles their exits. The scenarios' host
 * side is in x86_64_scenarios.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "x86_64.h"

const char *const arch_name = "x86_64";

static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	for (unsigned int nent = 128;; nent *= 2) {
		struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					nent * sizeof(cpuid->entries[0]));

		if (!cpuid)
			die("out of memory");
		cpuid->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			return cpuid;
		if (errno != E2BIG || nent >= 4096)
			die("ioctl KVM_GET_SUPPORTED_CPUID failed: %s",
			    strerror(errno));
		free(cpuid);
	}
}

const struct kvm_cpuid_entry2 *cpuid_leaf(const struct kvm_cpuid2 *c,
					  uint32_t leaf)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function == leaf && !c->entries[i].index)
			return &c->entries[i];
	}
	return NULL;
}

void cpuid_vendor(const struct kvm_cpuid2 *c, char vendor[13])
{
	const struct kvm_cpuid_entry2 *e = cpuid_leaf(c, 0);

	memset(vendor, 0, 13);
	if (!e)
		return;
	memcpy(vendor, &e->ebx, 4);
	memcpy(vendor + 4, &e->edx, 4);
	memcpy(vendor + 8, &e->ecx, 4);
}

static void write_gdt(struct x86_vm *x)
{
	uint64_t *gdt = (uint64_t *)(x->mem + GUEST_GDT_GPA);

	gdt[0] = 0;
	gdt[SEL_CODE / 8] = 0x00cf9b000000ffffull;	/* flat 32-bit code */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffull;	/* flat 32-bit data */
}

static void set_gate(struct x86_vm *x, unsigned int vector, const char *isr)
{
	uint32_t *gate = (uint32_t *)(x->mem + GUEST_IDT_GPA + vector * 8);
	uint32_t off = guest_code_gpa(isr);

	gate[0] = (off & 0xffff) | (SEL_CODE << 16);
	gate[1] = (off & 0xffff0000) | 0x8e00;	/* present 32-bit int gate */
}

static void write_idt(struct x86_vm *x)
{
	for (unsigned int v = 0; v < 256; v++) {
		unsigned int stub = v < 32 ? v : CATCHALL_STUB;

		set_gate(x, v, guest_x86_exc_stubs + stub * EXC_STUB_SIZE);
	}
	if (x->o->scenario == SCENARIO_PMU)
		set_gate(x, GP_VECTOR, guest_x86_gp_isr);
	if (x->o->scenario == SCENARIO_TIMER) {
		set_gate(x, TIMER_VECTOR, guest_x86_timer_isr);
		set_gate(x, SPURIOUS_VECTOR, guest_x86_spurious_isr);
	}
}

static const char *scenario_entry(enum kvmload_scenario s)
{
	switch (s) {
	case SCENARIO_MMIO:
		return guest_x86_mmio;
	case SCENARIO_TIMER:
		return guest_x86_timer;
	case SCENARIO_TEARDOWN:
		return guest_x86_teardown;
	case SCENARIO_PMU:
		return guest_x86_pmu;
	}
	die("internal error: unknown scenario %d", (int)s);
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type,
				       uint64_t base)
{
	return (struct kvm_segment){
		.base = base, .limit = 0xffffffff, .selector = selector,
		.type = type, .present = 1, .dpl = 0, .db = 1, .s = 1, .g = 1,
	};
}

static void setup_vcpu(struct x86_vm *x, unsigned int i)
{
	struct kvm_vcpu *vcpu = &x->vcpus[i];
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rflags = 0x2,
		.rip = guest_code_gpa(scenario_entry(x->o->scenario)),
		.rsp = GUEST_STACK_GPA + (uint64_t)(i + 1) * GUEST_STACK_SIZE,
	};
	struct kvm_segment data = flat_segment(SEL_DATA, 0x3, 0);

	kvm_ioctl(vcpu->fd, KVM_SET_CPUID2, x->cpuid);
	kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
	sregs.cs = flat_segment(SEL_CODE, 0xb, 0);
	sregs.ds = sregs.es = sregs.gs = sregs.ss = data;
	/* The vCPU's own block, so guest code and handlers find it. */
	sregs.fs = flat_segment(SEL_DATA, 0x3,
				GUEST_VCPU_GPA + i * GUEST_VCPU_SIZE);
	sregs.gdt.base = GUEST_GDT_GPA;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = GUEST_IDT_GPA;
	sregs.idt.limit = 256 * 8 - 1;
	sregs.cr0 = 0x31;		/* PE | ET | NE, paging off */
	sregs.cr4 = 0;
	sregs.efer = 0;
	kvm_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs);
	kvm_ioctl(vcpu->fd, KVM_SET_REGS, &regs);
	if (x->o->scenario == SCENARIO_TIMER) {
		/* With the in-kernel LAPIC, APs would wait for INIT/SIPI. */
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		kvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
	}
}

static void __attribute__((noreturn)) guest_fatal(struct kvm_vcpu *vcpu)
{
	struct x86_vcpu *xv = vcpu->arch;
	uint32_t vector = *vcpu_u32(xv->x, vcpu->id, V_FATAL_VECTOR);
	uint32_t error = *vcpu_u32(xv->x, vcpu->id, V_FATAL_ERROR);
	uint32_t eip = *vcpu_u32(xv->x, vcpu->id, V_FATAL_EIP);

	die("vCPU %u: guest took %s %u (error code 0x%x) at eip 0x%x (code offset 0x%x)",
	    vcpu->id, vector == 255 ? "unexpected interrupt, vector" :
	    "exception", vector, error, eip, eip - GUEST_CODE_GPA);
}

static enum kvm_vcpu_action handle_io(struct kvm_vcpu *vcpu)
{
	struct x86_vcpu *xv = vcpu->arch;
	struct kvm_run *run = vcpu->run;
	uint8_t value;

	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
	    run->io.count != 1)
		die("vCPU %u: unexpected %s of %u x %u bytes at port 0x%x",
		    vcpu->id, run->io.direction == KVM_EXIT_IO_OUT ? "OUT" : "IN",
		    run->io.count, run->io.size, run->io.port);
	value = *((uint8_t *)run + run->io.data_offset);
	if (run->io.port >= PORT_PHASE && run->io.port <= PORT_FATAL)
		xv->port_outs[run->io.port - PORT_PHASE]++;
	switch (run->io.port) {
	case PORT_PHASE:
		if (value >= PHASES)
			die("vCPU %u: guest reported unknown phase %u",
			    vcpu->id, value);
		xv->phase_ns[value] = now_ns();
		return KVM_VCPU_CONTINUE;
	case PORT_STARTED:
		xv->started_ns = now_ns();
		atomic_fetch_add(&xv->x->timers_started, 1);
		return KVM_VCPU_CONTINUE;
	case PORT_DONE:
		xv->done_ns = now_ns();
		return KVM_VCPU_STOP;
	case PORT_FATAL:
		guest_fatal(vcpu);
	}
	die("vCPU %u: OUT to unexpected port 0x%x", vcpu->id, run->io.port);
}

static void __attribute__((noreturn)) internal_error(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	char data[160] = "";
	size_t len = 0;

	for (uint32_t i = 0; i < run->internal.ndata && i < 4; i++)
		len += (size_t)snprintf(data + len, sizeof(data) - len, " 0x%llx",
					(unsigned long long)run->internal.data[i]);
	kvm_ioctl(vcpu->fd, KVM_GET_REGS, &regs);
	die("vCPU %u: KVM internal error, suberror %u, data:%s, at eip 0x%llx (code offset 0x%llx)",
	    vcpu->id, run->internal.suberror, len ? data : " none",
	    (unsigned long long)regs.rip,
	    (unsigned long long)regs.rip - GUEST_CODE_GPA);
}

static enum kvm_vcpu_action handle_exit(struct kvm_vcpu *vcpu)
{
	struct x86_vcpu *xv = vcpu->arch;
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(vcpu);
	case KVM_EXIT_MMIO:
		/* Completing the write is just re-entering the guest. */
		if (xv->x->o->scenario == SCENARIO_MMIO &&
		    run->mmio.is_write && run->mmio.len == 4 &&
		    run->mmio.phys_addr == unbacked_gpa(vcpu->id)) {
			xv->unbacked_exits++;
			return KVM_VCPU_CONTINUE;
		}
		die("vCPU %u: unexpected MMIO %s of %u bytes at 0x%llx",
		    vcpu->id, run->mmio.is_write ? "write" : "read",
		    run->mmio.len, (unsigned long long)run->mmio.phys_addr);
	case KVM_EXIT_SHUTDOWN:
		die("vCPU %u: the guest shut down (triple fault)", vcpu->id);
	case KVM_EXIT_FAIL_ENTRY:
		die("vCPU %u: VM entry failed, hardware reason 0x%llx",
		    vcpu->id, (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error(vcpu);
	}
	die("vCPU %u: unexpected exit reason %s (%u)", vcpu->id,
	    kvm_exit_reason_name(run->exit_reason), run->exit_reason);
}

/* ---- the VM ---- */

static void destroy_vm(struct x86_vm *x, json_t *vm)
{
	struct vm_parts p = {
		.vm = &x->vm, .vcpus = x->vcpus, .nvcpus = x->o->vcpus,
		.extra_fd = -1,
		.maps = { { x->mem, GUEST_SLOT0_SIZE, 0, 0 },
			  { x->touch_mem, x->touch_size, 1, GUEST_TOUCH_GPA } },
		.nmaps = 2,
	};

	kvm_teardown(x->o, &p, vm);
}

int arch_run_vm(const struct kvmload_opts *o, json_t *vm)
{
	size_t code_size = (size_t)(guest_x86_end - guest_x86_start);
	struct x86_vm x = { .o = o };
	struct timer_setup timer = { 0 };
	struct pmu_setup pmu = { 0 };
	uint64_t timer_elapsed = 0;
	json_t *vcpus_json = json_array();
	char vendor[13];

	if (!vcpus_json)
		die("out of memory building JSON");
	if (o->vcpus > GUEST_MAX_VCPUS)
		die("at most %d vCPUs per VM", GUEST_MAX_VCPUS);
	if (code_size > GUEST_CODE_MAX)
		die("internal error: guest code is %zu bytes", code_size);

	kvm_vm_create(&x.vm, 0);
	x.cpuid = supported_cpuid(x.vm.kvm_fd);
	cpuid_vendor(x.cpuid, vendor);
	x.amd = !strcmp(vendor, "AuthenticAMD") ||
		!strcmp(vendor, "HygonGenuine");
	/* Needed by VMX for protected mode without unrestricted guest;
	 * a no-op on SVM. */
	kvm_ioctl(x.vm.fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	if (o->scenario == SCENARIO_TIMER)
		kvm_ioctl(x.vm.fd, KVM_CREATE_IRQCHIP, 0);

	x.mem = kvm_alloc_guest_memory(GUEST_SLOT0_SIZE, false);
	kvm_set_memory_slot(&x.vm, 0, 0, x.mem, GUEST_SLOT0_SIZE);
	memcpy(x.mem + GUEST_CODE_GPA, guest_x86_start, code_size);
	write_gdt(&x);
	write_idt(&x);

	x.vcpus = calloc(o->vcpus, sizeof(*x.vcpus));
	x.xv = calloc(o->vcpus, sizeof(*x.xv));
	if (!x.vcpus || !x.xv)
		die("out of memory");
	for (unsigned int i = 0; i < o->vcpus; i++) {
		kvm_vcpu_create(&x.vm, &x.vcpus[i], i);
		x.xv[i].x = &x;
		x.vcpus[i].arch = &x.xv[i];
		x.vcpus[i].handle_exit = handle_exit;
		setup_vcpu(&x, i);
	}

	switch (o->scenario) {
	case SCENARIO_MMIO:
		mmio_prepare(&x);
		break;
	case SCENARIO_TIMER:
		timer_prepare(&x, &timer);
		break;
	case SCENARIO_TEARDOWN:
		teardown_prepare(&x);
		break;
	case SCENARIO_PMU:
		pmu_prepare(&x, &pmu);
		break;
	}

	kvm_vcpus_start(x.vcpus, o->vcpus);
	if (o->scenario == SCENARIO_TIMER)
		timer_elapsed = timer_run(&x);
	kvm_vcpus_join(x.vcpus, o->vcpus);

	for (unsigned int i = 0; i < o->vcpus; i++) {
		json_t *v = kvm_vcpu_json(&x.vcpus[i]);
		json_t *ports = json_object();

		/* The guest's port I/O, all of it OUTs that reach us. */
		for (unsigned int p = 0; p < 4; p++) {
			char port[8];

			if (!x.xv[i].port_outs[p])
				continue;
			snprintf(port, sizeof(port), "0x%x", PORT_PHASE + p);
			json_set(ports, port,
				 json_integer((json_int_t)x.xv[i].port_outs[p]));
		}
		json_set(v, "port_outs", ports);

		switch (o->scenario) {
		case SCENARIO_MMIO:
			mmio_report(&x, i, v);
			break;
		case SCENARIO_TIMER:
			timer_report(&x, &timer, i, v);
			break;
		case SCENARIO_TEARDOWN:
			teardown_report(&x, i, v);
			break;
		case SCENARIO_PMU:
			pmu_report(&x, &pmu, i, v);
			break;
		}
		if (json_array_append_new(vcpus_json, v))
			die("out of memory building JSON");
	}
	if (o->scenario == SCENARIO_TIMER)
		timer_report_vm(&timer, timer_elapsed, vm);
	if (o->scenario == SCENARIO_TEARDOWN) {
		json_set(vm, "mem_gpa", json_integer(GUEST_TOUCH_GPA));
		json_set(vm, "mem_pages", json_integer(o->mem_mib * 256));
	}
	if (o->scenario == SCENARIO_PMU)
		pmu_report_vm(&x, &pmu, vm);
	json_set(vm, "vcpus", vcpus_json);

	destroy_vm(&x, vm);
	free(x.cpuid);
	free(x.vcpus);
	free(x.xv);
	return 0;
}
