// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload's x86_64 scenarios, their host side: what each puts into the
 * guest before it runs (ioeventfds, the LAPIC timer's count, the memory
 * to touch, the PMU MSRs) and what it reports afterwards.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "x86_64.h"

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

void mmio_prepare(struct x86_vm *x)
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

void mmio_report(struct x86_vm *x, unsigned int i, json_t *v)
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


void timer_prepare(struct x86_vm *x, struct timer_setup *t)
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
uint64_t timer_run(struct x86_vm *x)
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

void timer_report_vm(const struct timer_setup *t, uint64_t elapsed,
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

void timer_report(struct x86_vm *x, const struct timer_setup *t,
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

void teardown_prepare(struct x86_vm *x)
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

void teardown_report(struct x86_vm *x, unsigned int i, json_t *v)
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


void pmu_prepare(struct x86_vm *x, struct pmu_setup *p)
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
void pmu_report_vm(struct x86_vm *x, const struct pmu_setup *p,
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

void pmu_report(struct x86_vm *x, const struct pmu_setup *p,
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
