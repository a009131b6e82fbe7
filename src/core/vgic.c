// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 vGIC that KVM offers, found out with a scratch VM: which GIC
 * models it creates, and what its CPU interface shows a guest of the
 * host's ICH_VTR_EL2 (ICC_CTLR_EL1's priority and INTID bits, SEIS, A3V).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vgic.h"

#ifdef __aarch64__
#include <linux/kvm.h>

/* Guest-physical bases for the scratch VM's distributor and
 * redistributors: any free, aligned addresses do. */
#define SCRATCH_GICD	0x08000000ull
#define SCRATCH_GICR	0x080a0000ull

/* ICC_CTLR_EL1: op0 3, op1 0, CRn 12, CRm 12, op2 4. */
#define ICC_CTLR_EL1_ATTR						\
	(ARM64_SYS_REG_SHIFT_MASK(3, OP0) | ARM64_SYS_REG_SHIFT_MASK(0, OP1) | \
	 ARM64_SYS_REG_SHIFT_MASK(12, CRN) | ARM64_SYS_REG_SHIFT_MASK(12, CRM) | \
	 ARM64_SYS_REG_SHIFT_MASK(4, OP2))

static int can_create(int vm, __u32 type)
{
	struct kvm_create_device cd = {
		.type = type, .flags = KVM_CREATE_DEVICE_TEST,
	};

	return !ioctl(vm, KVM_CREATE_DEVICE, &cd);
}

static int set_attr(int fd, __u32 group, __u64 attr, void *addr)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (__u64)addr,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) ? -errno : 0;
}

/* A vGICv3 with one vCPU, initialised, then its ICC_CTLR_EL1. */
static int read_icc_ctlr(int vm, __u64 *ctlr, const char **step)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	__u64 dist = SCRATCH_GICD, redist = SCRATCH_GICR;
	struct kvm_vcpu_init init;
	struct kvm_device_attr a;
	int vcpu, err;

	*step = "KVM_CREATE_VCPU";
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return -errno;
	memset(&init, 0, sizeof(init));
	*step = "KVM_ARM_VCPU_INIT";
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) ||
	    ioctl(vcpu, KVM_ARM_VCPU_INIT, &init)) {
		err = -errno;
		goto out;
	}
	*step = "KVM_CREATE_DEVICE (vGICv3)";
	if (ioctl(vm, KVM_CREATE_DEVICE, &cd)) {
		err = -errno;
		goto out;
	}
	*step = "the vGICv3's initialisation";
	err = set_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
		       KVM_VGIC_V3_ADDR_TYPE_DIST, &dist);
	if (!err)
		err = set_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	if (!err)
		err = set_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			       KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	if (!err) {
		/* vCPU 0's MPIDR affinity is 0. */
		a = (struct kvm_device_attr){
			.group = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
			.attr = ICC_CTLR_EL1_ATTR, .addr = (__u64)ctlr,
		};
		*step = "KVM_GET_DEVICE_ATTR of ICC_CTLR_EL1";
		err = ioctl(cd.fd, KVM_GET_DEVICE_ATTR, &a) ? -errno : 0;
	}
	close(cd.fd);
out:
	close(vcpu);
	return err;
}

void vgic_probe(const struct kernel_caps *caps, struct vgic_facts *f)
{
	const char *step = "";
	__u64 ctlr = 0;
	int kvm, vm, err;

	memset(f, 0, sizeof(*f));
	if (!caps->dev_kvm) {
		snprintf(f->why, sizeof(f->why), "/dev/kvm is missing");
		return;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(f->why, sizeof(f->why),
			 "cannot create a scratch VM to ask: %s",
			 strerror(errno));
		if (kvm >= 0)
			close(kvm);
		return;
	}
	f->probed = true;
	f->v2 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
	f->v3 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
	if (f->v3) {
		err = read_icc_ctlr(vm, &ctlr, &step);
		if (err) {
			snprintf(f->ctlr_why, sizeof(f->ctlr_why), "%s: %s",
				 step, strerror(-err));
		} else {
			f->ctlr_read = true;
			f->icc_ctlr = ctlr;
			f->pri_bits = ((ctlr >> 8) & 7) + 1;
			f->id_bits = (ctlr >> 11) & 7 ? 24 : 16;
			f->seis = (ctlr >> 14) & 1;
			f->a3v = (ctlr >> 15) & 1;
		}
	} else {
		snprintf(f->ctlr_why, sizeof(f->ctlr_why),
			 "KVM creates no vGICv3 here");
	}
	close(vm);
	close(kvm);
}

#else

void vgic_probe(const struct kernel_caps *caps, struct vgic_facts *f)
{
	(void)caps;
	memset(f, 0, sizeof(*f));
	snprintf(f->why, sizeof(f->why), "not arm64");
}

#endif
