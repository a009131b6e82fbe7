/* SPDX-License-Identifier: GPL-2.0 */
/* How the BPF programs encode an exit reason in one u32, beside the
 * vendor's own codes; src/core/exit_reasons.c names them. */
#ifndef KVMWATCH_EXIT_CODES_H
#define KVMWATCH_EXIT_CODES_H

/*
 * arm64 exits are keyed by exception class for traps; other exception
 * types (IRQ, SError, illegal exception return) get codes above the EC
 * range so one u32 keeps them apart.
 */
#define ARM64_EXIT_NON_TRAP 0x100

/* KVM_RUN returning an error (-EINTR mostly) is counted under this base
 * plus errno, beside the KVM_EXIT_* reasons. */
#define USER_EXIT_ERRNO_BASE 0x10000

#endif
