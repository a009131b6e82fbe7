/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libbpf's messages: shown with -v; otherwise only what a failed load
 * says, kept to name the program and the verifier's reason in one line.
 */
#ifndef KVMWATCH_BPF_LOG_H
#define KVMWATCH_BPF_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Route libbpf's messages here (once, at start-up). */
void bpf_log_install(void);
/* Forget what an earlier load said. */
void bpf_log_reset(void);
/* Take one message as libbpf's print callback does (for tests). */
void bpf_log_feed(const char *message);
/* "prog 'tp_kvm_exit': R0 unbounded memory access, ..." from the last
 * failed load since bpf_log_reset(), or false when libbpf named none. */
bool bpf_log_failure(char *buf, size_t len);

#endif
