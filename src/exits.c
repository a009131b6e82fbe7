// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_read.h"
#include "exits_detector.h"
#include "exits.skel.h"

enum exit_table exit_table_for(const struct kernel_caps *caps)
{
	switch (caps->vendor) {
	case VENDOR_VMX: return EXIT_TABLE_VMX;
	case VENDOR_SVM: return EXIT_TABLE_SVM;
	case VENDOR_ARM64: return EXIT_TABLE_ARM64;
	default: return EXIT_TABLE_NONE;
	}
}

int exits_start(struct exits_detector *det, struct attach_plan *plan,
		uint32_t pid)
{
	char error[WHY_LEN];
	int err;

	memset(det, 0, sizeof(*det));
	det->skel = exits_bpf__open();
	if (!det->skel) {
		err = -errno;
		snprintf(error, sizeof(error), "opening the BPF object failed: %s",
			 strerror(-err));
		attach_plan_refuse(plan, DET_EXITS, error);
		return err;
	}
	det->skel->rodata->filter_pid = pid;
	err = attach_plan_load(plan, DET_EXITS, det->skel->skeleton, det->links,
			       sizeof(det->links) / sizeof(det->links[0]),
			       &det->nlinks);
	if (err)
		exits_stop(det);
	return err;
}

int exits_sample(struct exits_detector *det, struct exit_sample *out)
{
	void *recs = NULL, *threads = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->ts_ns = monotonic_ns();
	err = map_read_all(bpf_map__fd(det->skel->maps.exit_stats),
			sizeof(struct exit_key), sizeof(struct exit_record),
			offsetof(struct exit_record, stats), &recs, &out->nrecs);
	if (err)
		return err;
	err = map_read_all(bpf_map__fd(det->skel->maps.vcpu_threads),
			sizeof(uint32_t), sizeof(struct thread_record),
			offsetof(struct thread_record, info), &threads,
			&out->nthreads);
	out->recs = recs;
	out->threads = threads;
	if (err) {
		exit_sample_free(out);
		return err;
	}
	exit_sample_sort(out);
	return 0;
}

void exits_stop(struct exits_detector *det)
{
	int i;

	for (i = 0; i < det->nlinks; i++)
		bpf_link__destroy(det->links[i]);
	det->nlinks = 0;
	exits_bpf__destroy(det->skel);
	det->skel = NULL;
}

size_t exits_find_exited(const struct exit_sample *sample, uint32_t *tids,
			 size_t max)
{
	char path[32];
	size_t i, n = 0;

	for (i = 0; i < sample->nthreads && n < max; i++) {
		snprintf(path, sizeof(path), "/proc/%u", sample->threads[i].tid);
		if (!path_exists(path))
			tids[n++] = sample->threads[i].tid;
	}
	return n;
}

static bool tid_listed(uint32_t tid, const uint32_t *tids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

void exits_forget(struct exits_detector *det, const uint32_t *tids, size_t n)
{
	int stats_fd = bpf_map__fd(det->skel->maps.exit_stats);
	struct exit_record *recs;
	size_t i, nrecs;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		bpf_map_delete_elem(bpf_map__fd(det->skel->maps.vcpu_threads),
				    &tids[i]);
		bpf_map_delete_elem(bpf_map__fd(det->skel->maps.pending_exits),
				    &tids[i]);
	}
	/* Keys first, deletions after: deleting while walking a hash map
	 * can restart or skip the walk. */
	if (map_read_all(stats_fd, sizeof(struct exit_key), sizeof(*recs),
			 offsetof(struct exit_record, stats), (void **)&recs,
			 &nrecs))
		return;
	for (i = 0; i < nrecs; i++)
		if (tid_listed(recs[i].key.tid, tids, n))
			bpf_map_delete_elem(stats_fd, &recs[i].key);
	free(recs);
}
