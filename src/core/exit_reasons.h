/* SPDX-License-Identifier: GPL-2.0 */
/* Names of exit reasons, per vendor. Unknown codes are named by number. */
#ifndef KVMWATCH_EXIT_REASONS_H
#define KVMWATCH_EXIT_REASONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel_caps.h"

enum exit_table {
	EXIT_TABLE_NONE,	/* vendor without a table: numbers only */
	EXIT_TABLE_VMX,
	EXIT_TABLE_SVM,
	EXIT_TABLE_ARM64,
	EXIT_TABLE_KVM_RUN,	/* KVM_EXIT_* returned to the VMM */
};

/* Returns the reason's name, or writes "0x<code>" into buf and returns
 * buf, so an unknown reason is always shown rather than dropped. */
const char *exit_reason_name(enum exit_table table, uint32_t code,
			     char *buf, size_t len);

/* The i-th reason of the table, in its order: false past its end. */
bool exit_reason_at(enum exit_table table, size_t i, uint32_t *code,
		    const char **name);

/* Whether the table names the code (for tests and "unknown" marking). */
int exit_reason_known(enum exit_table table, uint32_t code);

/* Does the reason named name come with time rather than with the
 * guest's work: the host's own interrupts and NMIs, and the windows in
 * which an interrupt can be injected (how many depends on when the
 * interrupts arrive)? */
bool exit_reason_is_timing(const char *name);

/* The table of in-kernel exit reasons for the running KVM vendor. */
enum exit_table exit_table_for(const struct kernel_caps *caps);

#endif
