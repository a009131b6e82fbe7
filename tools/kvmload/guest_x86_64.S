/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmload's x86 guest: flat 32-bit protected mode, paging off, so a guest
 * address is a guest-physical address.  x86_64.c copies the code between
 * guest_x86_start and guest_x86_end to GUEST_CODE_GPA and sets CS/DS/...
 * (flat, from the GDT it writes at GUEST_GDT_GPA), the IDT, ESP and EIP.
 * FS has the base of the vCPU's own block (struct in x86_64.c), so every
 * vCPU and its interrupt handlers count into %fs:V_*.
 *
 * This head, up to __ASSEMBLER__, is plain #defines: x86_64.c includes
 * this file to share the layout.
 *
 * Guest -> host signals are single-byte OUTs (KVM_EXIT_IO, counted in
 * "userspace_exits" like every other exit):
 *	PORT_PHASE	al = phase number; the host timestamps it
 *	PORT_STARTED	timer scenario: this vCPU's LAPIC timer runs
 *	PORT_DONE	the scenario is over; the vCPU thread stops
 *	PORT_FATAL	unexpected exception; details in the vCPU block
 */

/* Guest-physical layout (all in memory slot 0 unless noted). */
#define GUEST_SLOT0_SIZE	0x200000	/* 2 MiB */
#define GUEST_GDT_GPA		0x1000
#define GUEST_IDT_GPA		0x2000
#define GUEST_SHARED_GPA	0x3000		/* H_* below */
#define GUEST_VCPU_GPA		0x4000		/* one V_* block per vCPU */
#define GUEST_VCPU_SIZE		0x100
#define GUEST_MAX_VCPUS		64
#define GUEST_CODE_GPA		0x10000
#define GUEST_CODE_MAX		0x10000
#define GUEST_STACK_GPA		0x100000	/* vCPU i: 4 KiB below +(i+1)*4K */
#define GUEST_STACK_SIZE	0x1000
/* teardown: memory slot 1, up to 3 GiB, below the MMIO scenario's GPAs */
#define GUEST_TOUCH_GPA		0x10000000
/* mmio: per-vCPU GPAs are these plus vcpu_id * 0x1000 (no memory slot) */
#define GUEST_FAST_MMIO_GPA	0xd0000000
#define GUEST_DATAMATCH_GPA	0xd1000000
#define GUEST_UNBACKED_GPA	0xd2000000
#define GUEST_MMIO_STRIDE	0x1000
#define GUEST_DATAMATCH_VALUE	0x6b766d6c	/* "lmvk", 4 bytes */
#define GUEST_DATAMATCH_LEN	4

#define SEL_CODE		0x08
#define SEL_DATA		0x10

#define PORT_PHASE		0x500
#define PORT_STARTED		0x501
#define PORT_DONE		0x502
#define PORT_FATAL		0x503

#define TIMER_VECTOR		0x40
#define GP_VECTOR		13

/* Shared block at GUEST_SHARED_GPA (written by the host before KVM_RUN,
 * except H_STOP which the host sets while the guest runs). */
#define H_STOP			0x00	/* timer: non-zero = stop now */
#define H_TIMER_COUNT		0x04	/* timer: LAPIC initial count */
#define H_TIMER_DIVIDE		0x08	/* timer: LAPIC divide config */
#define H_PMU_EVTSEL_MSR	0x0c
#define H_PMU_CTR_MSR		0x10
#define H_PMU_EVTSEL_VALUE	0x14	/* event | USR | OS | EN */

/* Per-vCPU block; the host fills the inputs, the guest the counters. */
#define V_LOOPS			0x00	/* in: N (mmio), K (pmu) */
#define V_FAST_GPA		0x04	/* in: mmio GPAs */
#define V_DATAMATCH_GPA		0x08
#define V_UNBACKED_GPA		0x0c
#define V_TOUCH_GPA		0x10	/* in: teardown: first page */
#define V_TOUCH_PAGES		0x14	/* in: teardown: pages to write */
#define V_FAST_WRITES		0x20	/* out: counters */
#define V_DATAMATCH_WRITES	0x24
#define V_UNBACKED_WRITES	0x28
#define V_IRQS			0x2c
#define V_TOUCHED		0x30
#define V_PMU_ITERATIONS	0x34
#define V_EVTSEL_READS		0x38
#define V_EVTSEL_WRITES		0x3c
#define V_CTR_READS		0x40
#define V_CTR_WRITES		0x44
#define V_EVTSEL_READ_FAULTS	0x48
#define V_EVTSEL_WRITE_FAULTS	0x4c
#define V_CTR_READ_FAULTS	0x50
#define V_CTR_WRITE_FAULTS	0x54
#define V_CTR_LAST_LO		0x58
#define V_CTR_LAST_HI		0x5c
#define V_FATAL_VECTOR		0x60	/* out: for PORT_FATAL */
#define V_FATAL_ERROR		0x64
#define V_FATAL_EIP		0x68

/* xAPIC registers (in-kernel LAPIC, default base) */
#define APIC_BASE		0xfee00000
#define APIC_EOI		(APIC_BASE + 0xb0)
#define APIC_SVR		(APIC_BASE + 0xf0)
#define APIC_LVTT		(APIC_BASE + 0x320)
#define APIC_TMICT		(APIC_BASE + 0x380)
#define APIC_TDCR		(APIC_BASE + 0x3e0)
#define APIC_LVT_MASKED		0x10000
#define APIC_LVT_PERIODIC	0x20000

/* Exception stubs: vector v's entry is guest_x86_exc_stubs + v * this. */
#define EXC_STUB_SIZE		16

#ifdef __ASSEMBLER__

/* Signal the host: OUT al to port. Clobbers eax, edx. */
.macro signal port, value
	movl	$\value, %eax
	movw	$\port, %dx
	outb	%al, %dx
.endm

	.text
	.code32
	.globl	guest_x86_start, guest_x86_end
	.globl	guest_x86_mmio, guest_x86_timer, guest_x86_teardown
	.globl	guest_x86_pmu
	.globl	guest_x86_timer_isr, guest_x86_gp_isr, guest_x86_spurious_isr
	.globl	guest_x86_exc_stubs
	.balign	16
guest_x86_start:

/* Host-side phase timestamps: 0 = start, then one per finished loop. */
guest_x86_mmio:
	signal	PORT_PHASE, 0
	movl	%fs:V_FAST_GPA, %ebx
	movl	%fs:V_LOOPS, %ecx
1:	movl	%ecx, (%ebx)		/* fast-MMIO ioeventfd, any value */
	incl	%fs:V_FAST_WRITES
	decl	%ecx
	jnz	1b
	signal	PORT_PHASE, 1

	movl	%fs:V_DATAMATCH_GPA, %ebx
	movl	%fs:V_LOOPS, %ecx
2:	movl	$GUEST_DATAMATCH_VALUE, (%ebx)
	incl	%fs:V_DATAMATCH_WRITES
	decl	%ecx
	jnz	2b
	signal	PORT_PHASE, 2

	movl	%fs:V_UNBACKED_GPA, %ebx
	movl	%fs:V_LOOPS, %ecx
3:	movl	%ecx, (%ebx)		/* KVM_EXIT_MMIO to the host */
	incl	%fs:V_UNBACKED_WRITES
	decl	%ecx
	jnz	3b
	signal	PORT_PHASE, 3
	jmp	done

guest_x86_timer:
	movl	$(0x100 | 0xff), APIC_SVR	/* enable, spurious 0xff */
	movl	GUEST_SHARED_GPA + H_TIMER_DIVIDE, %eax
	movl	%eax, APIC_TDCR
	movl	$(APIC_LVT_PERIODIC | TIMER_VECTOR), APIC_LVTT
	movl	GUEST_SHARED_GPA + H_TIMER_COUNT, %eax
	movl	%eax, APIC_TMICT		/* starts the timer */
	signal	PORT_STARTED, 1
	/* sti's one-instruction shadow keeps the wakeup from being lost. */
1:	sti
	hlt
	cli
	cmpl	$0, GUEST_SHARED_GPA + H_STOP
	je	1b
	movl	$(APIC_LVT_MASKED | TIMER_VECTOR), APIC_LVTT
	movl	$0, APIC_TMICT
	jmp	done

guest_x86_teardown:
	signal	PORT_PHASE, 0
	movl	%fs:V_TOUCH_GPA, %ebx
	movl	%fs:V_TOUCH_PAGES, %ecx
	testl	%ecx, %ecx
	jz	2f
1:	movl	%ebx, (%ebx)		/* a write: stage-2 maps it writable */
	incl	%fs:V_TOUCHED
	addl	$4096, %ebx
	decl	%ecx
	jnz	1b
2:	signal	PORT_PHASE, 1
	jmp	done

/*
 * Per iteration: PERFCTR0 = 0, EVTSEL0 = event|EN, read PERFCTR0,
 * EVTSEL0 = 0.  Each access is counted before it is made; one that raises
 * #GP is also counted as a fault by guest_x86_gp_isr, which skips it.
 */
guest_x86_pmu:
	signal	PORT_PHASE, 0
	movl	%fs:V_LOOPS, %esi
1:	movl	GUEST_SHARED_GPA + H_PMU_CTR_MSR, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	incl	%fs:V_CTR_WRITES
	wrmsr

	movl	GUEST_SHARED_GPA + H_PMU_EVTSEL_MSR, %ecx
	movl	GUEST_SHARED_GPA + H_PMU_EVTSEL_VALUE, %eax
	xorl	%edx, %edx
	incl	%fs:V_EVTSEL_WRITES
	wrmsr

	movl	GUEST_SHARED_GPA + H_PMU_CTR_MSR, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	incl	%fs:V_CTR_READS
	rdmsr
	movl	%eax, %fs:V_CTR_LAST_LO
	movl	%edx, %fs:V_CTR_LAST_HI

	movl	GUEST_SHARED_GPA + H_PMU_EVTSEL_MSR, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	incl	%fs:V_EVTSEL_WRITES
	wrmsr

	incl	%fs:V_PMU_ITERATIONS
	decl	%esi
	jnz	1b
	signal	PORT_PHASE, 1
	/* fall through */

done:
	signal	PORT_DONE, 0
	/* The host does not re-enter after PORT_DONE; stay put if it does. */
1:	cli
	hlt
	jmp	1b

guest_x86_timer_isr:
	incl	%fs:V_IRQS
	movl	$0, APIC_EOI
	iret

/* The LAPIC's spurious vector: no EOI, not counted as a timer tick. */
guest_x86_spurious_isr:
	iret

/*
 * #GP in the pmu scenario: only a faulting RDMSR (0f 32) or WRMSR (0f 30)
 * on one of the two PMU MSRs is expected; count it and skip it.
 * Stack: error code, eip, cs, eflags.
 */
guest_x86_gp_isr:
	pushl	%eax
	movl	8(%esp), %eax			/* faulting eip */
	cmpb	$0x0f, (%eax)
	jne	gp_fatal
	cmpb	$0x30, 1(%eax)
	je	gp_wrmsr
	cmpb	$0x32, 1(%eax)
	jne	gp_fatal
	cmpl	GUEST_SHARED_GPA + H_PMU_CTR_MSR, %ecx
	je	1f
	cmpl	GUEST_SHARED_GPA + H_PMU_EVTSEL_MSR, %ecx
	jne	gp_fatal
	incl	%fs:V_EVTSEL_READ_FAULTS
	jmp	gp_skip
1:	incl	%fs:V_CTR_READ_FAULTS
	jmp	gp_skip
gp_wrmsr:
	cmpl	GUEST_SHARED_GPA + H_PMU_CTR_MSR, %ecx
	je	1f
	cmpl	GUEST_SHARED_GPA + H_PMU_EVTSEL_MSR, %ecx
	jne	gp_fatal
	incl	%fs:V_EVTSEL_WRITE_FAULTS
	jmp	gp_skip
1:	incl	%fs:V_CTR_WRITE_FAULTS
gp_skip:
	addl	$2, 8(%esp)			/* both are 2 bytes long */
	popl	%eax
	addl	$4, %esp			/* error code */
	iret
gp_fatal:
	popl	%eax
	pushl	$GP_VECTOR
	jmp	exc_fatal

/*
 * Every other exception and interrupt is fatal: report vector, error code
 * and eip to the host.  Stub v pushes a 0 error code where the CPU pushes
 * none, then v.  Vector 255 also stands for "any other interrupt".
 */
	.balign	EXC_STUB_SIZE
guest_x86_exc_stubs:
	.set	vec, 0
	.rept	32
	.balign	EXC_STUB_SIZE
	/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP push an error code */
	.if	(vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21)
	.else
	pushl	$0
	.endif
	pushl	$vec
	jmp	exc_fatal
	.set	vec, vec + 1
	.endr
	.balign	EXC_STUB_SIZE
	pushl	$0
	pushl	$255
	jmp	exc_fatal

exc_fatal:
	popl	%fs:V_FATAL_VECTOR
	popl	%fs:V_FATAL_ERROR
	popl	%fs:V_FATAL_EIP
	signal	PORT_FATAL, 1
1:	cli
	hlt
	jmp	1b

guest_x86_end:
	.section .note.GNU-stack, "", @progbits

#endif /* __ASSEMBLER__ */
