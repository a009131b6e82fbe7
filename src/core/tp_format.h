/* SPDX-License-Identifier: GPL-2.0 */
/* Tracepoint record layouts from the kernel's tracefs format files. */
#ifndef KVMWATCH_TP_FORMAT_H
#define KVMWATCH_TP_FORMAT_H

#include <linux/types.h>

#include "bpf/kvm_records.h"
#include "detector_id.h"
#include "kernel_caps.h"

/* Where field of event ("kvm/kvm_exit") sits: 0, or -ENOENT (no such
 * event or field: out is zeroed), -errno. */
int tp_format_field(const char *tracefs, const char *event,
		    const char *field, struct tp_field *out);

/* Every field of struct kvm_tp_fields this kernel has (the others stay
 * size 0). 0, or -errno with why when even kvm:kvm_exit's cannot be read. */
int kvm_tp_fields_read(const struct kernel_caps *caps,
		       struct kvm_tp_fields *f, char *why, size_t len);

struct attach_plan;

/* The same for detector det's start: a kernel whose records cannot be
 * read refuses the detector, saying why. */
int kvm_tp_fields_for(struct attach_plan *plan, enum detector_id det,
		      struct kvm_tp_fields *f);

#endif
