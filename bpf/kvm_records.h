/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fields of the kvm:* tracepoint records that kvmwatch reads, at the
 * offsets the kernel's own tracefs format files give: user space fills
 * kvm_fields before the load, as perf and kvm_stat read them, so no KVM
 * type has to be in BTF (kernels without module BTF, 5.10).
 */
#ifndef KVMWATCH_KVM_RECORDS_H
#define KVMWATCH_KVM_RECORDS_H

#include "exit_codes.h"

/* Where a field sits in the record; size 0: this kernel has none. */
struct tp_field {
	__u16 offset;
	__u16 size;
};

struct kvm_tp_fields {
	struct tp_field exit_reason, exit_isa, exit_vcpu_id;	/* x86 kvm_exit */
	struct tp_field exit_ret, exit_esr_ec;			/* arm64 kvm_exit */
	struct tp_field user_reason, user_errno;		/* kvm_userspace_exit */
	struct tp_field mmio_type, mmio_len, mmio_gpa;		/* kvm_mmio */
	struct tp_field fast_gpa;				/* kvm_fast_mmio */
	struct tp_field pio_rw, pio_port, pio_size, pio_count;	/* kvm_pio */
};

#ifdef __VMLINUX_H__	/* the BPF programs */

/*
 * One case of tp_read(): the field at offset o, loaded in place. A
 * tracepoint program may load from its record only at an offset fixed in
 * the instruction; asm keeps the compiler from folding the cases into
 * one load at ctx + offset, which the verifier refuses.
 */
#define TP_LOAD_AT(o)							\
	case o:								\
		if (size == 4)						\
			asm volatile("%0 = *(u32 *)(%1 + " #o ")"	\
				     : "=r"(v) : "r"(ctx));		\
		else if (size == 8 && (o) % 8 == 0)			\
			asm volatile("%0 = *(u64 *)(%1 + " #o ")"	\
				     : "=r"(v) : "r"(ctx));		\
		else							\
			break;						\
		return v;

/*
 * The field's value, zero-extended (0 where the kernel has none). Its
 * offset and size are in the loader's rodata, constants to the verifier:
 * of the cases below it keeps one load and drops the rest as dead code,
 * so a field costs one instruction, not a bpf_probe_read_kernel() call
 * (a third of a short program's time under TCG). The kvm records' fields
 * all lie within their first 128 bytes.
 */
static __always_inline __u64 tp_read(void *ctx, const volatile struct tp_field *f)
{
	__u16 size = f->size;
	__u64 v = 0;

	switch (f->offset) {
	TP_LOAD_AT(8) TP_LOAD_AT(12) TP_LOAD_AT(16) TP_LOAD_AT(20)
	TP_LOAD_AT(24) TP_LOAD_AT(28) TP_LOAD_AT(32) TP_LOAD_AT(36)
	TP_LOAD_AT(40) TP_LOAD_AT(44) TP_LOAD_AT(48) TP_LOAD_AT(52)
	TP_LOAD_AT(56) TP_LOAD_AT(60) TP_LOAD_AT(64) TP_LOAD_AT(68)
	TP_LOAD_AT(72) TP_LOAD_AT(76) TP_LOAD_AT(80) TP_LOAD_AT(84)
	TP_LOAD_AT(88) TP_LOAD_AT(92) TP_LOAD_AT(96) TP_LOAD_AT(100)
	TP_LOAD_AT(104) TP_LOAD_AT(108) TP_LOAD_AT(112) TP_LOAD_AT(116)
	TP_LOAD_AT(120) TP_LOAD_AT(124)
	}
	if (size && size <= sizeof(v))
		bpf_probe_read_kernel(&v, size, (char *)ctx + f->offset);
	return v;
}

/* kvm:kvm_exit's reason as the exits detector keys it. */
static __always_inline __u32 kvm_exit_reason_of(void *ctx,
					    const volatile struct kvm_tp_fields *f)
{
#if defined(__TARGET_ARCH_x86)
	/* VMX keeps flags (FAILED_VMENTRY...) above the basic reason. */
	__u32 reason = tp_read(ctx, &f->exit_reason);

	if (tp_read(ctx, &f->exit_isa) == 1)
		reason &= 0xffff;
	return reason;
#elif defined(__TARGET_ARCH_arm64)
	/* ARM_EXCEPTION_CODE(): bit 31 flags a pending SError. */
	__u32 type = (__u32)tp_read(ctx, &f->exit_ret) & ~(1u << 31);

	return type == 2 /* ARM_EXCEPTION_TRAP */ ?
		(__u32)tp_read(ctx, &f->exit_esr_ec) :
		ARM64_EXIT_NON_TRAP + type;
#else
#error "kvmwatch: unsupported target architecture"
#endif
}

#endif
#endif
