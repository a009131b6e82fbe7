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

/* The field's value, zero-extended (0 where the kernel has none). */
static __always_inline __u64 tp_read(void *ctx, const volatile struct tp_field *f)
{
	__u16 size = f->size;
	__u64 v = 0;

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
