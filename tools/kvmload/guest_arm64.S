/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmload arm64 guest code.
 *
 * Assembled into the kvmload binary and copied to the start of guest RAM
 * (so it must be position independent).  Every vCPU enters at
 * guest_arm64_start in EL1h with the MMU off, DAIF masked and x0 pointing
 * to its own parameter/result block ("guest block", struct guest_block in
 * arm64.c: keep the GB_* offsets below in sync with it).
 *
 * The guest first turns its MMU on with the identity map the host built
 * (1 GiB blocks: the first GiB, which holds the GIC and the MMIO doorbells,
 * Device-nGnRnE; everything above Normal write-back) so that the memory it
 * shares with the host is cacheable on both sides.  Each vCPU writes only
 * its own block, so no atomics are needed.
 *
 * The guest talks to the host through a "host call" doorbell: a 32-bit
 * store of an HC_* code to an unbacked GPA, which KVM turns into a
 * KVM_EXIT_MMIO that kvmload handles and counts like any other exit.
 */

/* Guest block: inputs written by the host. */
#define GB_SCENARIO	0x000
#define GB_VCPU_INDEX	0x008
#define GB_HOSTCALL	0x010	/* GPA of the host-call doorbell */
#define GB_COUNT	0x018	/* mmio: N stores per kind; pmu: K */
#define GB_FAST_GPA	0x020	/* ioeventfd, len 0 */
#define GB_MATCH_GPA	0x028	/* ioeventfd, len 4, datamatch */
#define GB_MATCH_DATA	0x030
#define GB_UNBACKED_GPA	0x038	/* no ioeventfd: KVM_EXIT_MMIO */
#define GB_PERIOD_US	0x040
#define GB_GICD		0x048
#define GB_GICR		0x050	/* this vCPU's RD_base */
#define GB_STOP		0x058	/* timer: host sets it to stop */
#define GB_MEM_BASE	0x060	/* teardown: first page to touch */
#define GB_MEM_PAGES	0x068	/* teardown: pages to touch */
#define GB_PMU_EVENT	0x070	/* pmu: PMEVTYPER0_EL0 value */
#define GB_TTBR0	0x078	/* identity-map level 1 table */

/* Guest block: results written by the guest. */
#define GB_R_TIMER_IRQS	0x080	/* vtimer (INTID 27) interrupts */
#define GB_R_SPURIOUS	0x088	/* IAR1 returned 1023 */
#define GB_R_OTHER_IRQS	0x090	/* any other INTID */
#define GB_R_LAST_INTID	0x098	/* last "other" INTID */
#define GB_R_CNTFRQ	0x0a0
#define GB_R_TICKS	0x0a8	/* timer period in CNTVCT ticks */
#define GB_R_CNT_START	0x0b0	/* CNTVCT when the timer was armed */
#define GB_R_CNT_END	0x0b8	/* CNTVCT when it saw the stop flag */
#define GB_R_PAGES	0x0c0	/* teardown: pages written */
#define GB_R_FAULTS	0x0c8	/* pmu: faulting accesses */
#define GB_R_FAULT_ESR	0x0d0	/* ESR_EL1 of the last such fault */
#define GB_R_FATAL_ESR	0x0d8	/* unexpected exception: ESR_EL1 */
#define GB_R_FATAL_ELR	0x0e0	/*   ELR_EL1 */
#define GB_R_FATAL_VEC	0x0e8	/*   vector offset */
#define GB_R_PMU_LAST	0x0f0	/* last PMEVCNTR0_EL0 value read */
#define GB_R_PMU_NONZERO 0x0f8	/* non-zero PMEVCNTR0_EL0 reads */
#define GB_R_PMU_READS	0x100	/* u64[8], indexed by PMU_* */
#define GB_R_PMU_WRITES	0x140	/* u64[8] */
#define GB_R_MMIO_DONE	0x180	/* u64[3]: fast, match, unbacked */
#define GB_R_PMCR_INIT	0x198	/* PMCR_EL0 as first read */
#define GB_R_ITERATIONS	0x1a0	/* pmu: rounds completed */
#define GB_R_SKIPPED	0x1a8	/* timer: due ticks given up at stop */
#define GB_R_PHASE_CNT	0x1b0	/* u64[4]: CNTVCT at phase ends */
#define GB_R_PMU_RFAULTS 0x1d0	/* u64[8]: faulting reads */
#define GB_R_PMU_WFAULTS 0x210	/* u64[8]: faulting writes */

#define PMU_PMCR	0
#define PMU_PMEVTYPER0	1
#define PMU_PMCNTENSET	2
#define PMU_PMCNTENCLR	3
#define PMU_PMEVCNTR0	4

#define SCENARIO_MMIO		0
#define SCENARIO_TIMER		1
#define SCENARIO_TEARDOWN	2
#define SCENARIO_PMU		3

#define HC_DONE		1
#define HC_TIMER_STARTED 2
#define HC_FATAL	3

#define VTIMER_INTID	27
#define SPURIOUS_INTID	1023

/* GICv3 register offsets */
#define GICD_CTLR	0x0000
#define GICD_CTLR_VAL	0x13	/* ARE_NS | EnableGrp1 | EnableGrp0 */
#define GICR_WAKER	0x0014
#define GICR_SGI_BASE	0x10000
/* in the SGI/PPI frame */
#define GICR_IGROUPR0	0x0080
#define GICR_ISENABLER0	0x0100

/* Stage 1: attr 0 Device-nGnRnE, attr 1 Normal write-back. */
#define MAIR_VAL	0xff00
/* T0SZ 25 (39-bit VA, walk starts at level 1), 4 KiB granule, walks
 * inner shareable write-back, no TTBR1 walks, 40-bit PA. */
#define TCR_VAL		(25 | (1 << 8) | (1 << 10) | (3 << 12) | \
			 (1 << 23) | (2 << 30) | (2 << 32))
#define SCTLR_MMU	((1 << 0) | (1 << 2) | (1 << 12))	/* M, C, I */

/* System registers not every assembler knows by name. */
#define ICC_SRE_EL1	s3_0_c12_c12_5
#define ICC_PMR_EL1	s3_0_c4_c6_0
#define ICC_IGRPEN1_EL1	s3_0_c12_c12_7
#define ICC_IAR1_EL1	s3_0_c12_c12_0
#define ICC_EOIR1_EL1	s3_0_c12_c12_1

/* x19 holds the guest block in the main code; exception handlers find
 * it in TPIDR_EL1.  x23 holds the block offset of the fault counter for
 * the PMU access about to be made, 0 outside those accesses. */
#define BLK	x19
#define FAULT_SLOT x23

	/* Increment the u64 at [BLK + off]; clobbers x9. */
	.macro	count off
	ldr	x9, [BLK, #\off]
	add	x9, x9, #1
	str	x9, [BLK, #\off]
	.endm

	/* Record CNTVCT as phase boundary n; clobbers x9. */
	.macro	phase n
	isb
	mrs	x9, cntvct_el0
	str	x9, [BLK, #(GB_R_PHASE_CNT + 8 * \n)]
	.endm

	/* Count a PMU register read (dir 0) or write (dir 1) of register
	 * reg and name the counter sync_handler bumps if it faults. */
	.macro	pmu_access reg, dir
	.if	\dir
	count	GB_R_PMU_WRITES + 8 * \reg
	mov	FAULT_SLOT, #(GB_R_PMU_WFAULTS + 8 * \reg)
	.else
	count	GB_R_PMU_READS + 8 * \reg
	mov	FAULT_SLOT, #(GB_R_PMU_RFAULTS + 8 * \reg)
	.endif
	.endm

	/*
	 * Timer stop: x1 = period in ticks, x2 = next expiry.  Count the
	 * ticks due by now (x3 = CNTVCT) in GB_R_SKIPPED and move x2 to the
	 * first expiry after now, on the same grid.  Clobbers x9, x10.
	 */
	.macro	skip_due
	isb
	mrs	x3, cntvct_el0
	cmp	x2, x3
	b.hi	.Lnone_due\@
	sub	x9, x3, x2
	udiv	x9, x9, x1
	add	x9, x9, #1
	madd	x2, x9, x1, x2
	ldr	x10, [BLK, #GB_R_SKIPPED]
	add	x10, x10, x9
	str	x10, [BLK, #GB_R_SKIPPED]
.Lnone_due\@:
	.endm

	/* Ring the host-call doorbell with code; clobbers x9, x10. */
	.macro	hostcall code
	ldr	x9, [BLK, #GB_HOSTCALL]
	mov	w10, #\code
	str	w10, [x9]
	.endm

	.section .rodata.kvmload_guest, "a"
	.balign	4096
	.global	guest_arm64_start
	.global	guest_arm64_end
guest_arm64_start:
	b	entry

	/* VBAR_EL1 needs 2 KiB alignment; the host copies the blob to a
	 * page-aligned GPA, so alignment within the blob is enough. */
	.balign	2048
vectors:
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.balign	0x80
	.if	\n == 4
	b	sync_handler	/* synchronous, current EL, SP_ELx */
	.elseif	\n == 5
	b	irq_handler	/* IRQ, current EL, SP_ELx */
	.else
	mov	x2, #(\n * 0x80)
	b	fatal
	.endif
	.endr

	.balign	0x80
entry:
	mov	BLK, x0
	mov	FAULT_SLOT, #0
	msr	tpidr_el1, x0
	adr	x1, vectors
	msr	vbar_el1, x1

	ldr	x1, =MAIR_VAL
	msr	mair_el1, x1
	ldr	x1, =TCR_VAL
	msr	tcr_el1, x1
	ldr	x1, [BLK, #GB_TTBR0]
	msr	ttbr0_el1, x1
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	mrs	x1, sctlr_el1
	ldr	x2, =SCTLR_MMU
	orr	x1, x1, x2
	msr	sctlr_el1, x1
	isb

	/* Only now touch the block: from here on, with the same cacheable
	 * attributes as the host's mapping. */
	mrs	x1, cntfrq_el0	/* lets the host convert CNTVCT */
	str	x1, [BLK, #GB_R_CNTFRQ]
	ldr	x1, [BLK, #GB_SCENARIO]
	cmp	x1, #SCENARIO_MMIO
	b.eq	do_mmio
	cmp	x1, #SCENARIO_TIMER
	b.eq	do_timer
	cmp	x1, #SCENARIO_TEARDOWN
	b.eq	do_teardown
	cmp	x1, #SCENARIO_PMU
	b.eq	do_pmu
	mov	x2, #-1
	b	fatal

	.ltorg

finish:
	hostcall HC_DONE
	/* The host never resumes a finished vCPU; stay put if it does. */
1:	wfi
	b	1b

/*
 * mmio: N stores to each doorbell.  Each is a single 32-bit register store
 * so the data abort carries a valid syndrome (ISV=1).
 */
do_mmio:
	phase	0
	ldr	x20, [BLK, #GB_COUNT]
	ldr	x1, [BLK, #GB_FAST_GPA]
	mov	x3, #0
	cbz	x20, 2f
1:	str	w3, [x1]
	add	x3, x3, #1
	cmp	x3, x20
	b.ne	1b
2:	str	x3, [BLK, #GB_R_MMIO_DONE]
	phase	1

	ldr	x1, [BLK, #GB_MATCH_GPA]
	ldr	x2, [BLK, #GB_MATCH_DATA]
	mov	x3, #0
	cbz	x20, 2f
1:	str	w2, [x1]
	add	x3, x3, #1
	cmp	x3, x20
	b.ne	1b
2:	str	x3, [BLK, #GB_R_MMIO_DONE + 8]
	phase	2

	ldr	x1, [BLK, #GB_UNBACKED_GPA]
	mov	x3, #0
	cbz	x20, 2f
1:	str	w3, [x1]
	add	x3, x3, #1
	cmp	x3, x20
	b.ne	1b
2:	str	x3, [BLK, #GB_R_MMIO_DONE + 16]
	phase	3
	b	finish

/*
 * timer: the virtual timer re-armed by the ISR (CVAL += period), i.e. a
 * periodic timer without drift.  The vCPU idles in WFI, so KVM blocks it
 * and wakes it from its own hrtimer on every expiry.
 */
do_timer:
	/* GIC CPU interface: system registers, all priorities, group 1. */
	mrs	x1, ICC_SRE_EL1
	orr	x1, x1, #1
	msr	ICC_SRE_EL1, x1
	isb
	mov	x1, #0xff
	msr	ICC_PMR_EL1, x1
	mov	x1, #1
	msr	ICC_IGRPEN1_EL1, x1
	isb

	/* Distributor (shared: every vCPU writes the same value). */
	ldr	x1, [BLK, #GB_GICD]
	mov	w2, #GICD_CTLR_VAL
	str	w2, [x1, #GICD_CTLR]

	/* Redistributor: wake it, vtimer PPI in group 1, enabled. */
	ldr	x1, [BLK, #GB_GICR]
	ldr	w2, [x1, #GICR_WAKER]
	bic	w2, w2, #2		/* ProcessorSleep */
	str	w2, [x1, #GICR_WAKER]
	add	x3, x1, #GICR_SGI_BASE
	ldr	w2, [x3, #GICR_IGROUPR0]
	orr	w2, w2, #(1 << VTIMER_INTID)
	str	w2, [x3, #GICR_IGROUPR0]
	mov	w2, #(1 << VTIMER_INTID)
	str	w2, [x3, #GICR_ISENABLER0]

	/* ticks = CNTFRQ * period_us / 1000000, at least 1 */
	mrs	x1, cntfrq_el0
	ldr	x2, [BLK, #GB_PERIOD_US]
	mul	x1, x1, x2
	movz	x2, #0x4240
	movk	x2, #0xf, lsl #16	/* 1000000 */
	udiv	x1, x1, x2
	cmp	x1, #0
	csinc	x1, x1, xzr, ne
	str	x1, [BLK, #GB_R_TICKS]

	isb
	mrs	x2, cntvct_el0
	str	x2, [BLK, #GB_R_CNT_START]
	add	x2, x2, x1
	msr	cntv_cval_el0, x2
	mov	x1, #1			/* ENABLE, IMASK clear */
	msr	cntv_ctl_el0, x1
	isb
	hostcall HC_TIMER_STARTED

	/* Check the flag with IRQs masked, so that a tick between the check
	 * and the WFI still wakes it (WFI wakes on a pending IRQ even when
	 * masked), then unmask to take the tick. */
1:	ldr	x1, [BLK, #GB_STOP]
	cbnz	x1, 2f
	wfi
	msr	daifclr, #2
	isb
	msr	daifset, #2
	b	1b

	/* Ticks due but not taken yet count as skipped, so that
	 * interrupts + skipped = whole periods from start to end. */
2:	ldr	x1, [BLK, #GB_R_TICKS]
	mrs	x2, cntv_cval_el0
	skip_due
	msr	cntv_ctl_el0, xzr
	str	x3, [BLK, #GB_R_CNT_END]
	b	finish

/* teardown: write every 4 KiB page of this vCPU's share of the slot. */
do_teardown:
	phase	0
	ldr	x1, [BLK, #GB_MEM_BASE]
	ldr	x2, [BLK, #GB_MEM_PAGES]
	mov	x3, #0
	cbz	x2, 2f
1:	str	x3, [x1]
	add	x1, x1, #4096
	add	x3, x3, #1
	cmp	x3, x2
	b.ne	1b
2:	str	x3, [BLK, #GB_R_PAGES]
	phase	1
	b	finish

/*
 * pmu: enable the PMU once, then K rounds of programming counter 0 and
 * reading it back.  Every access is counted before it is made; if KVM has
 * no vPMU for this vCPU it raises an undefined-instruction exception,
 * which sync_handler counts against the access and skips.  (No PMCR_EL0.P
 * in the loop: that resets, and makes KVM recreate the perf events of,
 * every counter.)
 */
do_pmu:
	phase	0
	pmu_access PMU_PMCR, 0
	mov	x1, #0		/* stays 0 if the read faults */
	mrs	x1, pmcr_el0
	str	x1, [BLK, #GB_R_PMCR_INIT]
	pmu_access PMU_PMCR, 1
	mov	x1, #1		/* E: enable */
	msr	pmcr_el0, x1

	ldr	x20, [BLK, #GB_COUNT]
	ldr	x21, [BLK, #GB_PMU_EVENT]
	mov	x22, #0
	cbz	x20, 2f
1:	pmu_access PMU_PMEVCNTR0, 1
	msr	pmevcntr0_el0, xzr
	pmu_access PMU_PMEVTYPER0, 1
	msr	pmevtyper0_el0, x21
	pmu_access PMU_PMCNTENSET, 1
	mov	x1, #1
	msr	pmcntenset_el0, x1
	isb
	pmu_access PMU_PMEVCNTR0, 0
	mov	x1, #0
	mrs	x1, pmevcntr0_el0
	str	x1, [BLK, #GB_R_PMU_LAST]
	cbz	x1, 3f
	count	GB_R_PMU_NONZERO
3:	pmu_access PMU_PMCNTENCLR, 1
	mov	x1, #1
	msr	pmcntenclr_el0, x1
	add	x22, x22, #1
	str	x22, [BLK, #GB_R_ITERATIONS]
	cmp	x22, x20
	b.ne	1b
2:	mov	FAULT_SLOT, #0
	phase	1
	b	finish

/*
 * Synchronous exception: an undefined instruction (EC 0x00) or a trapped
 * system register access (EC 0x18) at one of the PMU accesses is counted
 * and skipped; anything else is fatal.
 */
sync_handler:
	stp	x0, x1, [sp, #-16]!
	stp	x9, x19, [sp, #-16]!
	mrs	BLK, tpidr_el1
	mrs	x0, esr_el1
	mov	x2, #0x200
	cbz	FAULT_SLOT, fatal
	ubfx	x1, x0, #26, #6
	cmp	x1, #0x00
	b.eq	1f
	cmp	x1, #0x18
	b.ne	fatal
1:	str	x0, [BLK, #GB_R_FAULT_ESR]
	count	GB_R_FAULTS
	ldr	x9, [BLK, FAULT_SLOT]
	add	x9, x9, #1
	str	x9, [BLK, FAULT_SLOT]
	mrs	x0, elr_el1
	add	x0, x0, #4
	msr	elr_el1, x0
	ldp	x9, x19, [sp], #16
	ldp	x0, x1, [sp], #16
	eret

irq_handler:
	stp	x0, x1, [sp, #-16]!
	stp	x2, x3, [sp, #-16]!
	stp	x9, x10, [sp, #-16]!
	stp	x19, xzr, [sp, #-16]!
	mrs	BLK, tpidr_el1
	mrs	x0, ICC_IAR1_EL1
	and	x0, x0, #0xffffff
	cmp	x0, #SPURIOUS_INTID
	b.ne	1f
	count	GB_R_SPURIOUS
	b	3f
1:	cmp	x0, #VTIMER_INTID
	b.ne	2f
	count	GB_R_TIMER_IRQS
	ldr	x1, [BLK, #GB_R_TICKS]
	mrs	x2, cntv_cval_el0
	add	x2, x2, x1
	/* Once the host wants to stop, give up catching up on late ticks:
	 * a guest that cannot keep up would otherwise never leave the ISR
	 * for the main loop to see the flag. */
	ldr	x3, [BLK, #GB_STOP]
	cbz	x3, 4f
	skip_due
4:	msr	cntv_cval_el0, x2
	isb
	msr	ICC_EOIR1_EL1, x0
	b	3f
2:	count	GB_R_OTHER_IRQS
	str	x0, [BLK, #GB_R_LAST_INTID]
	msr	ICC_EOIR1_EL1, x0
3:	isb
	ldp	x19, xzr, [sp], #16
	ldp	x9, x10, [sp], #16
	ldp	x2, x3, [sp], #16
	ldp	x0, x1, [sp], #16
	eret

/* Unexpected exception or bad scenario; x2 = vector offset (or -1). */
fatal:
	mrs	BLK, tpidr_el1
	mrs	x0, esr_el1
	mrs	x1, elr_el1
	str	x0, [BLK, #GB_R_FATAL_ESR]
	str	x1, [BLK, #GB_R_FATAL_ELR]
	str	x2, [BLK, #GB_R_FATAL_VEC]
	hostcall HC_FATAL
1:	wfi
	b	1b

	.balign	16
guest_arm64_end:

	.section .note.GNU-stack, "", %progbits
