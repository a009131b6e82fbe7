// SPDX-License-Identifier: GPL-2.0
/* The process tree a run judges; see scope.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scope.h"
#include "scope.skel.h"

/* One scope per kvmwatch run: the detectors reach it from their loads. */
static struct scope_bpf *scope_skel;

int scope_open(char *why, size_t why_len)
{
	int err;

	scope_skel = scope_bpf__open_and_load();
	if (!scope_skel) {
		err = -errno;
		snprintf(why, why_len, "loading the fork follower failed: %s",
			 strerror(-err));
		return err;
	}
	err = scope_bpf__attach(scope_skel);
	if (err) {
		snprintf(why, why_len,
			 "attaching to sched_process_fork and sched_process_free failed: %s",
			 strerror(-err));
		scope_close();
	}
	return err;
}

int scope_add(uint32_t tgid)
{
	uint8_t one = 1;

	if (!scope_skel)
		return -EINVAL;
	return bpf_map__update_elem(scope_skel->maps.scope_tgids, &tgid,
				    sizeof(tgid), &one, sizeof(one),
				    BPF_ANY) ? -errno : 0;
}

int scope_map_fd(void)
{
	return scope_skel ? bpf_map__fd(scope_skel->maps.scope_tgids) : -1;
}

void scope_close(void)
{
	scope_bpf__destroy(scope_skel);
	scope_skel = NULL;
}
