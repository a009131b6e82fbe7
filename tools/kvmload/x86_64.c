// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload's x86_64 part: a flat 32-bit protected-mode guest (see
 * guest_x86_64.S for the layout and the guest -> host signals) and the
 * host side of the mmio, timer, teardown and pmu scenarios.
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

const char *const arch_name = "x86_64";

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

static volatile uint32_t *guest_u32(struct x86_vm *x, uint64_t gpa)
{
	return (volatile uint32_t *)(x->mem + gpa);
}

static volatile uint32_t *vcpu_u32(struct x86_vm *x, unsigned int vcpu,
				   unsigned int off)
{
	return guest_u32(x, GUEST_VCPU_GPA + vcpu * GUEST_VCPU_SIZE + off);
}

static uint32_t guest_code_gpa(const char *sym)
{
	return GUEST_CODE_GPA + (uint32_t)(sym - guest_x86_start);
}

static uint64_t fast_gpa(unsigned int i)
{
	return GUEST_FAST_MMIO_GPA + (uint64_t)i * GUEST_MMIO_STRIDE;
}

static uint64_t datamatch_gpa(unsigned int i)
{
	return GUEST_DATAMATCH_GPA + (uint64_t)i * GUEST_MMIO_STRIDE;
}

static uint64_t unbacked_gpa(unsigned int i)
{
	return GUEST_UNBACKED_GPA + (uint64_t)i * GUEST_MMIO_STRIDE;
}

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

static const struct kvm_cpuid_entry2 *cpuid_leaf(const struct kvm_cpuid2 *c,
						 uint32_t leaf)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function == leaf && !c->entries[i].index)
			return &c->entries[i];
	}
	return NULL;
}

static void cpuid_vendor(const struct kvm_cpuid2 *c, char vendor[13])
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

/* Read a kvm module parameter; false if it is not there. */
static bool read_kvm_param(const char *name, char *buf, size_t size)
{
	char path[128];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/sys/module/kvm/parameters/%s", name);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* ---- mmio ---- */

static void mmio_prepare(struct x86_vm *x)
{
	const uint64_t match = GUEST_DATAMATCH_VALUE;

	for (unsigned int i = 0; i < x->o->vcpus; i++) {
		*vcpu_u32(x, i, V_LOOPS) = (uint32_t)x->o->writes;
		*vcpu_u32(x, i, V_FAST_GPA) = (uint32_t)fast_gpa(i);
		*vcpu_u32(x, i, V_DATAMATCH_GPA) = (uint32_t)datamatch_gpa(i);
		*vcpu_u32(x, i, V_UNBACKED_GPA) = (uint32_t)unbacked_gpa(i);
		x->xv[i].fast_efd = kvm_add_ioeventfd(&x->vm, fast_gpa(i), 0,
						      NULL, false);
		x->xv[i].datamatch_efd =
			kvm_add_ioeventfd(&x->vm, datamatch_gpa(i),
					  GUEST_DATAMATCH_LEN, &match, false);
	}
}

static void mmio_report(struct x86_vm *x, unsigned int i, json_t *v)
{
	struct x86_vcpu *xv = &x->xv[i];

	json_set(v, "fast_mmio_gpa", json_u64(fast_gpa(i)));
	json_set(v, "datamatch_gpa", json_u64(datamatch_gpa(i)));
	json_set(v, "datamatch_len", json_integer(GUEST_DATAMATCH_LEN));
	json_set(v, "datamatch_value", json_integer(GUEST_DATAMATCH_VALUE));
	json_set(v, "user_mmio_gpa", json_u64(unbacked_gpa(i)));
	json_set(v, "fast_mmio_writes",
		 json_u64(*vcpu_u32(x, i, V_FAST_WRITES)));
	json_set(v, "datamatch_writes",
		 json_u64(*vcpu_u32(x, i, V_DATAMATCH_WRITES)));
	json_set(v, "user_mmio_writes",
		 json_u64(*vcpu_u32(x, i, V_UNBACKED_WRITES)));
	json_set(v, "fast_mmio_eventfd",
		 json_u64(kvm_eventfd_take(xv->fast_efd)));
	json_set(v, "datamatch_eventfd",
		 json_u64(kvm_eventfd_take(xv->datamatch_efd)));
	json_set(v, "user_mmio_exits", json_u64(xv->unbacked_exits));
	json_set(v, "fast_mmio_ns", json_u64(xv->phase_ns[1] - xv->phase_ns[0]));
	json_set(v, "datamatch_ns", json_u64(xv->phase_ns[2] - xv->phase_ns[1]));
	json_set(v, "user_mmio_ns", json_u64(xv->phase_ns[3] - xv->phase_ns[2]));
	close(xv->fast_efd);
	close(xv->datamatch_efd);
}

/* ---- timer ---- */

struct timer_setup {
	unsigned int min_period_us;	/* 0: not readable */
	unsigned int effective_us;
	unsigned int bus_cycle_ns;
	uint32_t initial_count;
};

static void timer_prepare(struct x86_vm *x, struct timer_setup *t)
{
	char buf[32];
	uint64_t count;
	int bus;

	memset(t, 0, sizeof(*t));
	if (read_kvm_param("min_timer_period_us", buf, sizeof(buf)))
		t->min_period_us = (unsigned int)strtoul(buf, NULL, 10);
	/* KVM clamps a periodic LAPIC timer to min_timer_period_us. */
	t->effective_us = x->o->period_us > t->min_period_us ?
			  x->o->period_us : t->min_period_us;
	/* Kernels before the capability have a fixed 1 ns bus cycle. */
	bus = kvm_check_cap(x->vm.fd, KVM_CAP_X86_APIC_BUS_CYCLES_NS);
	t->bus_cycle_ns = bus > 0 ? (unsigned int)bus : 1;
	count = (uint64_t)x->o->period_us * 1000 / t->bus_cycle_ns;
	if (count == 0 || count > UINT32_MAX)
		die("period %u us does not fit the LAPIC timer count",
		    x->o->period_us);
	t->initial_count = (uint32_t)count;
	*guest_u32(x, GUEST_SHARED_GPA + H_TIMER_COUNT) = t->initial_count;
	*guest_u32(x, GUEST_SHARED_GPA + H_TIMER_DIVIDE) = LAPIC_DIVIDE_1;
}

/* Wait for every vCPU's timer, let them tick for --seconds, stop them. */
static uint64_t timer_run(struct x86_vm *x)
{
	const struct timespec poll_interval = { 0, 1000000 };
	uint64_t deadline = now_ns() + 30ull * 1000000000ull;
	uint64_t start, target, t;

	while (atomic_load(&x->timers_started) < x->o->vcpus) {
		if (now_ns() > deadline)
			die("the guest timers did not start within 30 s");
		nanosleep(&poll_interval, NULL);
	}
	kvmload_timer_started();
	start = now_ns();
	target = start + (uint64_t)(x->o->seconds * 1e9);
	while ((t = now_ns()) < target) {
		uint64_t left = target - t;
		struct timespec ts = {
			.tv_sec = (time_t)(left / 1000000000ull),
			.tv_nsec = (long)(left % 1000000000ull),
		};

		nanosleep(&ts, NULL);
	}
	/* The guests see it at their next tick. */
	atomic_thread_fence(memory_order_seq_cst);
	*guest_u32(x, GUEST_SHARED_GPA + H_STOP) = 1;
	return now_ns() - start;
}

static void timer_report_vm(const struct timer_setup *t, uint64_t elapsed,
			    json_t *vm)
{
	json_set(vm, "period_us_effective", json_integer(t->effective_us));
	json_set(vm, "min_timer_period_us",
		 t->min_period_us ? json_integer(t->min_period_us) : json_null());
	json_set(vm, "apic_bus_cycle_ns", json_integer(t->bus_cycle_ns));
	json_set(vm, "lapic_divide", json_integer(1));
	json_set(vm, "lapic_initial_count", json_integer(t->initial_count));
	json_set(vm, "timer_vector", json_integer(TIMER_VECTOR));
	json_set(vm, "elapsed_ns", json_u64(elapsed));
}

static void timer_report(struct x86_vm *x, const struct timer_setup *t,
			 unsigned int i, json_t *v)
{
	struct x86_vcpu *xv = &x->xv[i];
	uint64_t window = xv->done_ns - xv->started_ns;
	uint32_t irqs = *vcpu_u32(x, i, V_IRQS);

	json_set(v, "interrupts", json_u64(irqs));
	json_set(v, "host_elapsed_ns", json_u64(window));
	json_set(v, "expected_interrupts",
		 json_u64(window / (t->effective_us * 1000ull)));
	json_set(v, "interrupts_per_s", json_real(irqs * 1e9 / window));
}

/* ---- teardown ---- */

static void teardown_prepare(struct x86_vm *x)
{
	uint32_t pages = x->o->mem_mib * 256u, first = 0;

	x->touch_size = (size_t)x->o->mem_mib << 20;
	x->touch_mem = kvm_alloc_guest_memory(x->touch_size, true);
	kvm_set_memory_slot(&x->vm, 1, GUEST_TOUCH_GPA, x->touch_mem,
			    x->touch_size);
	/* Contiguous shares; the first vCPUs take the remainder. */
	for (unsigned int i = 0; i < x->o->vcpus; i++) {
		uint32_t share = pages / x->o->vcpus +
				 (i < pages % x->o->vcpus ? 1 : 0);

		*vcpu_u32(x, i, V_TOUCH_GPA) = GUEST_TOUCH_GPA + first * 4096u;
		*vcpu_u32(x, i, V_TOUCH_PAGES) = share;
		first += share;
	}
}

static void teardown_report(struct x86_vm *x, unsigned int i, json_t *v)
{
	struct x86_vcpu *xv = &x->xv[i];
	uint64_t ns = xv->phase_ns[1] - xv->phase_ns[0];
	uint32_t pages = *vcpu_u32(x, i, V_TOUCHED);

	json_set(v, "first_page_gpa", json_u64(*vcpu_u32(x, i, V_TOUCH_GPA)));
	json_set(v, "pages_assigned", json_u64(*vcpu_u32(x, i, V_TOUCH_PAGES)));
	json_set(v, "pages_touched", json_u64(pages));
	json_set(v, "touch_ns", json_u64(ns));
	json_set(v, "pages_per_s", json_real(ns ? pages * 1e9 / ns : 0));
}

/* ---- pmu ---- */

struct pmu_setup {
	uint32_t evtsel_msr, ctr_msr, evtsel_value;
	const char *evtsel_name, *ctr_name;
};

static void pmu_prepare(struct x86_vm *x, struct pmu_setup *p)
{
	if (x->amd) {
		*p = (struct pmu_setup){
			MSR_K7_EVNTSEL0, MSR_K7_PERFCTR0,
			EVTSEL_USR_OS_EN | AMD_EVENT_CYCLES,
			"K7_EVNTSEL0", "K7_PERFCTR0",
		};
	} else {
		*p = (struct pmu_setup){
			MSR_IA32_PERFEVTSEL0, MSR_IA32_PMC0,
			EVTSEL_USR_OS_EN | INTEL_EVENT_CYCLES,
			"IA32_PERFEVTSEL0", "IA32_PMC0",
		};
	}
	*guest_u32(x, GUEST_SHARED_GPA + H_PMU_EVTSEL_MSR) = p->evtsel_msr;
	*guest_u32(x, GUEST_SHARED_GPA + H_PMU_CTR_MSR) = p->ctr_msr;
	*guest_u32(x, GUEST_SHARED_GPA + H_PMU_EVTSEL_VALUE) = p->evtsel_value;
	for (unsigned int i = 0; i < x->o->vcpus; i++)
		*vcpu_u32(x, i, V_LOOPS) = (uint32_t)x->o->iterations;
}

/* What KVM tells a guest about its vPMU, and whether one is there. */
static void pmu_report_vm(struct x86_vm *x, const struct pmu_setup *p,
			  json_t *vm)
{
	const struct kvm_cpuid_entry2 *e;
	json_t *info = json_object();
	char vendor[13], buf[16];
	int enable_pmu = -1;	/* unknown */
	uint32_t leaf_a_eax = 0;
	bool perfctr_core = false, perfmon_v2 = false, exposed;
	int cap;

	if (!info)
		die("out of memory building JSON");
	cpuid_vendor(x->cpuid, vendor);
	if (read_kvm_param("enable_pmu", buf, sizeof(buf)))
		enable_pmu = buf[0] == 'Y' || buf[0] == '1';
	cap = kvm_check_cap(x->vm.kvm_fd, KVM_CAP_PMU_CAPABILITY);
	e = cpuid_leaf(x->cpuid, 0xa);
	if (e)
		leaf_a_eax = e->eax;
	e = cpuid_leaf(x->cpuid, 0x80000001);
	if (e)
		perfctr_core = e->ecx & (1u << 23);
	e = cpuid_leaf(x->cpuid, 0x80000022);
	if (e)
		perfmon_v2 = e->eax & 1;
	/* KVM_CAP_PMU_CAPABILITY is non-zero exactly when enable_pmu. */
	if (enable_pmu < 0)
		enable_pmu = cap > 0;
	/* AMD's four legacy counters exist whenever the vPMU is on; Intel
	 * needs an architectural PMU version in leaf 0xA. */
	exposed = enable_pmu && (x->amd || (leaf_a_eax & 0xff));

	json_set(vm, "vpmu", json_boolean(exposed));
	json_set(vm, "vendor", json_string(vendor));
	json_set(info, "enable_pmu", json_boolean(enable_pmu));
	json_set(info, "kvm_cap_pmu_capability", json_integer(cap));
	json_set(info, "cpuid_0xa_eax", json_integer(leaf_a_eax));
	json_set(info, "amd_perfctr_core", json_boolean(perfctr_core));
	json_set(info, "amd_perfmon_v2", json_boolean(perfmon_v2));
	json_set(vm, "vpmu_info", info);
	json_set(vm, "event_select_value", json_integer(p->evtsel_value));
}

static json_t *msr_json(uint32_t msr, uint32_t reads, uint32_t writes,
			uint32_t read_faults, uint32_t write_faults)
{
	json_t *m = json_object();

	if (!m)
		die("out of memory building JSON");
	json_set(m, "msr", json_integer(msr));
	json_set(m, "reads", json_integer(reads));
	json_set(m, "writes", json_integer(writes));
	json_set(m, "read_faults", json_integer(read_faults));
	json_set(m, "write_faults", json_integer(write_faults));
	return m;
}

static void pmu_report(struct x86_vm *x, const struct pmu_setup *p,
		       unsigned int i, json_t *v)
{
	uint32_t er = *vcpu_u32(x, i, V_EVTSEL_READS);
	uint32_t ew = *vcpu_u32(x, i, V_EVTSEL_WRITES);
	uint32_t cr = *vcpu_u32(x, i, V_CTR_READS);
	uint32_t cw = *vcpu_u32(x, i, V_CTR_WRITES);
	uint32_t erf = *vcpu_u32(x, i, V_EVTSEL_READ_FAULTS);
	uint32_t ewf = *vcpu_u32(x, i, V_EVTSEL_WRITE_FAULTS);
	uint32_t crf = *vcpu_u32(x, i, V_CTR_READ_FAULTS);
	uint32_t cwf = *vcpu_u32(x, i, V_CTR_WRITE_FAULTS);
	uint64_t last = *vcpu_u32(x, i, V_CTR_LAST_LO) |
			(uint64_t)*vcpu_u32(x, i, V_CTR_LAST_HI) << 32;
	json_t *regs = json_object();

	if (!regs)
		die("out of memory building JSON");
	json_set(regs, p->evtsel_name,
		 msr_json(p->evtsel_msr, er, ew, erf, ewf));
	json_set(regs, p->ctr_name, msr_json(p->ctr_msr, cr, cw, crf, cwf));
	json_set(v, "iterations", json_u64(*vcpu_u32(x, i, V_PMU_ITERATIONS)));
	json_set(v, "pmu_reads", json_u64((uint64_t)er + cr));
	json_set(v, "pmu_writes", json_u64((uint64_t)ew + cw));
	json_set(v, "faults", json_u64((uint64_t)erf + ewf + crf + cwf));
	json_set(v, "pmu_registers", regs);
	json_set(v, "counter_last_value", json_u64(last));
	json_set(v, "pmu_ns", json_u64(x->xv[i].phase_ns[1] -
				       x->xv[i].phase_ns[0]));
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
