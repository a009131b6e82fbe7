// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
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
