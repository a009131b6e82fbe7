/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMs a `check` or `record` with `-- COMMAND` judges: those created
 * by the command's process tree (bpf/scope.bpf.c follows its forks). While
 * a scope is open, every detector loaded shares its map and counts only
 * VMs of processes in it.
 */
#ifndef KVMWATCH_SCOPE_H
#define KVMWATCH_SCOPE_H

#include <stdint.h>

/* Load and attach the fork follower; open before the detectors start.
 * 0, or -errno with why (the run cannot be scoped). */
int scope_open(char *why, size_t why_len);
/* Enter a process (the command, before it execs). 0 or -errno. */
int scope_add(uint32_t tgid);
/* The shared map while a scope is open, else -1. */
int scope_map_fd(void);
void scope_close(void);

#endif
