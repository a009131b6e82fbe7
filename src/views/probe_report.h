/* SPDX-License-Identifier: GPL-2.0 */
/* What `kvmwatch probe` reports, as text and JSON: the host and, per
 * detector, the mode each probe point got and what is lost. */
#ifndef KVMWATCH_PROBE_REPORT_H
#define KVMWATCH_PROBE_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "core/attach.h"
#include "core/vgic.h"

json_t *json_host(const struct kernel_caps *caps);
json_t *json_detector(const struct attach_plan *plan, enum detector_id det);
void text_probe(FILE *out, const struct kernel_caps *caps,
		const struct attach_plan *plan);
/* The arm64 vGIC KVM offers (null on other arches). */
json_t *json_vgic(const struct kernel_caps *caps,
		  const struct vgic_facts *v);
void text_vgic(FILE *out, const struct kernel_caps *caps,
	       const struct vgic_facts *v);

#endif
