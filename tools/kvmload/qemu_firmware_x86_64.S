/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A firmware for Debian's own QEMU in the testbed (-bios, -M microvm,
 * -accel kvm): the testbed's real-QEMU VM, which kvmwatch must find and
 * name from QEMU's own command line (tests/vm/guest-names.sh).
 *
 * From the reset vector, in real mode: DOORBELL_OUTS byte OUTs to
 * DOORBELL_PORT, each one KVM_EXIT_IO to QEMU (no device claims the
 * port), then its own report, one OUT per byte, to QEMU's isa-debugcon
 * at REPORT_PORT, then halts with interrupts off.  The report says what
 * the firmware did, so the check takes its ground truth from the
 * workload and not from a copy of these numbers.
 */

#define DOORBELL_PORT	0x600
#define DOORBELL_OUTS	2000
#define REPORT_PORT	0x601

#define STR(x)		#x
#define XSTR(x)		STR(x)

	.code16
	.text
	.globl	_start
_start:
	cli
	mov	$DOORBELL_OUTS, %cx
	mov	$DOORBELL_PORT, %dx
	mov	$0x42, %al
1:	out	%al, %dx
	dec	%cx
	jnz	1b

	/* The report: the string is in this segment (CS = DS = 0xf000). */
	push	%cs
	pop	%ds
	mov	$report, %si
	mov	$REPORT_PORT, %dx
	cld
2:	lodsb
	test	%al, %al
	jz	3f
	out	%al, %dx
	jmp	2b
3:	hlt
	jmp	3b

report:
	.ascii	"kvmwatch-firmware outs=" XSTR(DOORBELL_OUTS)
	.ascii	" port=" XSTR(DOORBELL_PORT) " report-port=" XSTR(REPORT_PORT)
	.asciz	" done\n"

	/* The reset vector: CS base 0xffff0000, IP 0xfff0. */
	.org	0xfff0
	ljmp	$0xf000, $_start
	.org	0x10000
