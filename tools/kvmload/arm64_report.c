// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload's arm64 part, its report: what the guest blocks and the host
 * counted, per vCPU and per VM, as the JSON of docs/kvmload.md.
 */
#include <unistd.h>

#include "arm64.h"

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

void arm64_mmio_json(struct arm64_vcpu *av, json_t *v)
{
	const struct guest_block *blk = av->blk;

	json_set_uint(v, "fast_mmio_gpa", blk->fast_gpa);
	json_set_uint(v, "datamatch_gpa", blk->match_gpa);
	json_set_uint(v, "user_mmio_gpa", blk->unbacked_gpa);
	json_set_uint(v, "datamatch_len", MATCH_LEN);
	json_set_uint(v, "datamatch_value", MATCH_DATA);
	json_set_uint(v, "fast_mmio_writes", blk->mmio_stores[0]);
	json_set_uint(v, "datamatch_writes", blk->mmio_stores[1]);
	json_set_uint(v, "user_mmio_writes", blk->mmio_stores[2]);
	json_set_uint(v, "fast_mmio_eventfd", kvm_eventfd_take(av->fast_efd));
	json_set_uint(v, "datamatch_eventfd", kvm_eventfd_take(av->match_efd));
	json_set_uint(v, "user_mmio_exits", av->unbacked_exits);
	/* The doorbell is the VM's, one address for all its vCPUs. */
	json_set_uint(v, "hostcall_gpa", HOSTCALL_GPA);
	json_set_uint(v, "hostcall_writes", av->hostcall_exits);
	/* Phase times by the guest's virtual counter: no extra exits. */
	json_set_uint(v, "fast_mmio_ns", phase_ns(blk, 0, 1));
	json_set_uint(v, "datamatch_ns", phase_ns(blk, 1, 2));
	json_set_uint(v, "user_mmio_ns", phase_ns(blk, 2, 3));
	close(av->fast_efd);
	close(av->match_efd);
}

void arm64_timer_json(struct arm64_vcpu *av, json_t *v, uint64_t stop_ns,
		      unsigned int period_us)
{
	const struct guest_block *blk = av->blk;
	uint64_t window = stop_ns - av->start_ns;
	uint64_t guest_ticks = blk->cnt_end - blk->cnt_start;

	json_set_uint(v, "interrupts", blk->timer_irqs);
	/* Host view: this vCPU's timer start to the stop flag. */
	json_set_uint(v, "host_elapsed_ns", window);
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
	json_set_uint(v, "guest_elapsed_ns", ticks_ns(blk, guest_ticks));
	json_set_uint(v, "expected_interrupts",
		      guest_ticks / blk->period_ticks);
	json_set_uint(v, "skipped_ticks", blk->timer_skipped);
	json_set_uint(v, "spurious_interrupts", blk->spurious_irqs);
	json_set_uint(v, "other_interrupts", blk->other_irqs);
	if (blk->other_irqs)
		json_set_uint(v, "last_other_intid", blk->last_other_intid);
}

/* Per-VM timer figures; every vCPU computed the same period. */
void arm64_timer_vm_json(struct arm64_vm *vm, uint64_t start_ns,
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
	json_set_uint(vmj, "elapsed_ns", stop_ns - start_ns);
	/* No clamp on arm64, only the rounding to whole counter ticks. */
	json_set(vmj, "period_us_effective",
		 json_real((double)blk0->period_ticks * 1e6 /
			   (double)blk0->cntfrq));
	json_set_uint(vmj, "cntfrq_hz", blk0->cntfrq);
	json_set_uint(vmj, "period_ticks", blk0->period_ticks);
	json_set_uint(vmj, "vtimer_intid", VTIMER_INTID);
	json_set_uint(vmj, "timer_start_ns", start_ns);
	json_set_uint(vmj, "timer_stop_ns", stop_ns);
}

void arm64_teardown_json(struct arm64_vcpu *av, json_t *v)
{
	const struct guest_block *blk = av->blk;
	uint64_t ns = phase_ns(blk, 0, 1);

	json_set_uint(v, "pages_touched", blk->pages_touched);
	json_set_uint(v, "first_page_gpa", blk->mem_base);
	json_set_uint(v, "pages_assigned", blk->mem_pages);
	/* By the guest's virtual counter. */
	json_set_uint(v, "touch_ns", ns);
	json_set(v, "pages_per_s",
		 json_real(ns ? blk->pages_touched * 1e9 / ns : 0));
}

void arm64_pmu_json(const struct arm64_vm *vm, struct arm64_vcpu *av,
		    json_t *v)
{
	const struct guest_block *blk = av->blk;
	uint64_t reads = 0, writes = 0;
	json_t *regs = json_new_object();

	for (unsigned int r = 0; r < PMU_NREGS; r++) {
		json_t *reg = json_new_object();

		json_set(reg, "sysreg", json_string(pmu_regs[r].encoding));
		json_set_uint(reg, "reads", blk->pmu_reads[r]);
		json_set_uint(reg, "writes", blk->pmu_writes[r]);
		json_set_uint(reg, "read_faults", blk->pmu_read_faults[r]);
		json_set_uint(reg, "write_faults", blk->pmu_write_faults[r]);
		json_set(regs, pmu_regs[r].name, reg);
		reads += blk->pmu_reads[r];
		writes += blk->pmu_writes[r];
	}
	json_set(v, "pmu_registers", regs);
	json_set_uint(v, "pmu_reads", reads);
	json_set_uint(v, "pmu_writes", writes);
	json_set_uint(v, "faults", blk->faults);
	if (blk->faults)
		json_set_uint(v, "fault_esr_value", blk->fault_esr);
	json_set_uint(v, "iterations", blk->pmu_iterations);
	json_set_uint(v, "pmu_ns", phase_ns(blk, 0, 1));
	/* Without a vPMU every read faulted and these mean nothing. */
	if (vm->vpmu) {
		json_set_uint(v, "counter_last_value", blk->pmu_last);
		json_set_uint(v, "counter_nonzero_reads", blk->pmu_nonzero);
		json_set_uint(v, "pmcr_value", blk->pmcr_init);
	}
}

void arm64_pmu_vm_json(const struct arm64_vm *vm, int cap, json_t *vmj)
{
	json_set(vmj, "vpmu", json_boolean(vm->vpmu));
	json_set_uint(vmj, "kvm_cap_arm_pmu_v3", (uint64_t)cap);
	json_set_uint(vmj, "pmu_irq", PMU_IRQ);
	json_set_uint(vmj, "pmu_event", PMU_EVENT_CPU_CYCLES);
	/* PMCR_EL0.N: event counters the guest sees. */
	if (vm->vpmu)
		json_set_uint(vmj, "pmu_counters",
			      (vm->avcpus[0].blk->pmcr_init >> 11) & 0x1f);
}
