// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoint record layouts from the kernel's tracefs format files, as
 * perf and kvm_stat read them: they hold on any kernel, with or without
 * the KVM modules' BTF.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "tp_format.h"

int tp_format_field(const char *tracefs, const char *event,
		    const char *field, struct tp_field *out)
{
	char path[256], line[512], want[80];
	unsigned int offset, size;
	int err = -ENOENT;
	FILE *f;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/events/%s/format", tracefs, event);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	/* "	field:unsigned int exit_reason;	offset:8;	size:4;..." */
	snprintf(want, sizeof(want), " %s;", field);
	while (fgets(line, sizeof(line), f)) {
		char *name = strstr(line, want), *o;

		if (!name || strncmp(line, "\tfield:", 7) ||
		    !(o = strstr(name, "offset:")) ||
		    sscanf(o, "offset:%u;\tsize:%u;", &offset, &size) != 2)
			continue;
		out->offset = offset;
		out->size = size;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int kvm_tp_fields_read(const struct kernel_caps *caps,
		       struct kvm_tp_fields *f, char *why, size_t len)
{
	const struct {
		const char *event, *field;
		struct tp_field *out;
	} fields[] = {
		{ "kvm/kvm_exit", "exit_reason", &f->exit_reason },
		{ "kvm/kvm_exit", "isa", &f->exit_isa },
		{ "kvm/kvm_exit", "vcpu_id", &f->exit_vcpu_id },
		{ "kvm/kvm_exit", "ret", &f->exit_ret },
		{ "kvm/kvm_exit", "esr_ec", &f->exit_esr_ec },
		{ "kvm/kvm_userspace_exit", "reason", &f->user_reason },
		{ "kvm/kvm_userspace_exit", "errno", &f->user_errno },
		{ "kvm/kvm_mmio", "type", &f->mmio_type },
		{ "kvm/kvm_mmio", "len", &f->mmio_len },
		{ "kvm/kvm_mmio", "gpa", &f->mmio_gpa },
		{ "kvm/kvm_fast_mmio", "gpa", &f->fast_gpa },
		{ "kvm/kvm_pio", "rw", &f->pio_rw },
		{ "kvm/kvm_pio", "port", &f->pio_port },
		{ "kvm/kvm_pio", "size", &f->pio_size },
		{ "kvm/kvm_pio", "count", &f->pio_count },
	};
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		tp_format_field(caps->tracefs_path, fields[i].event,
				fields[i].field, fields[i].out);
	/* The exit reason is what every reader needs. */
	if (caps->arch == ARCH_ARM64 ? f->exit_esr_ec.size : f->exit_reason.size)
		return 0;
	snprintf(why, len, "%s/events/kvm/kvm_exit/format has no %s field",
		 caps->tracefs_path,
		 caps->arch == ARCH_ARM64 ? "esr_ec" : "exit_reason");
	return -ENOENT;
}

int kvm_tp_fields_for(struct attach_plan *plan, enum detector_id det,
		      struct kvm_tp_fields *f)
{
	char why[WHY_LEN];
	int err = kvm_tp_fields_read(plan->caps, f, why, sizeof(why));

	if (err)
		attach_plan_refuse(plan, det, why);
	return err;
}
