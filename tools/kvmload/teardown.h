/* SPDX-License-Identifier: GPL-2.0 */
/* The teardown scenario's order names and CPU-bound competitor. */
#ifndef KVMLOAD_TEARDOWN_H
#define KVMLOAD_TEARDOWN_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch.h"

const char *teardown_order_name(enum teardown_order order);
/* "vm-first", "munmap-first" or "exit"; -EINVAL otherwise. */
int teardown_order_parse(const char *arg, enum teardown_order *out);

struct competitor {
	pid_t pid;
	int fd;
	int cpu;
	int go_fd;	/* a byte written here starts it spinning */
};

/* Fork a process for cpu that waits, sleeping, until a byte arrives on
 * c->go_fd, then spins there until competitor_stop(). */
void competitor_start(struct competitor *c, int cpu);
/* Stop it and return what it saw: gaps in its running (docs/kvmload.md). */
json_t *competitor_stop(struct competitor *c);
/* Its longest gap overlapping [start, end] (CLOCK_MONOTONIC ns). */
json_t *competitor_wait_json(json_t *competitor, uint64_t start,
			     uint64_t end);

#endif
