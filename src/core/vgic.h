/* SPDX-License-Identifier: GPL-2.0 */
/* The arm64 vGIC that KVM offers (what `kvmwatch probe` reports). */
#ifndef KVMWATCH_VGIC_H
#define KVMWATCH_VGIC_H

#include <stdint.h>

#include "kernel_caps.h"

struct vgic_facts {
	bool probed;		/* a scratch VM was created to ask */
	char why[WHY_LEN];	/* when not */
	bool v2, v3;		/* KVM creates a vGIC of that model */
	/* vGICv3: ICC_CTLR_EL1 as KVM shows it to a guest, taken from the
	 * host's ICH_VTR_EL2 (priority and INTID bits, SEIS, A3V). */
	bool ctlr_read;
	char ctlr_why[WHY_LEN];	/* when not read */
	uint64_t icc_ctlr;
	unsigned int pri_bits;	/* priority bits (PRIbits + 1) */
	unsigned int id_bits;	/* 16 or 24 */
	bool seis, a3v;
};

/* Ask KVM with a scratch VM (arm64; elsewhere nothing is probed). */
void vgic_probe(const struct kernel_caps *caps, struct vgic_facts *f);

#endif
