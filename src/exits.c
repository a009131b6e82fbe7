// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

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
		goto fail;
	}
	det->skel->rodata->filter_pid = pid;
	err = attach_plan_apply(plan, DET_EXITS, det->skel->obj);
	if (err) {
		snprintf(error, sizeof(error), "internal: programs and probe points disagree");
		goto fail;
	}
	err = exits_bpf__load(det->skel);
	if (err) {
		snprintf(error, sizeof(error), "loading the BPF programs failed: %s (run with -v for the verifier log)",
			 strerror(-err));
		goto fail;
	}
	err = attach_plan_attach(plan, DET_EXITS, det->skel->obj, det->links,
				 sizeof(det->links) / sizeof(det->links[0]));
	if (err < 0) {
		snprintf(error, sizeof(error), "attaching failed: %s", strerror(-err));
		goto fail;
	}
	det->nlinks = err;
	return 0;
fail:
	kw_warn("exits: %s", error);
	attach_plan_fail_detector(plan, DET_EXITS, error);
	exits_stop(det);
	return err ? err : -EINVAL;
}

/* Read every entry of a hash map into an array of records, each holding
 * the key at offset 0 and the value at value_off. */
static int read_hash(int fd, size_t key_size, size_t rec_size,
		     size_t value_off, void **out, size_t *n)
{
	char key[64], next[64];
	size_t cap = 0;
	char *recs = NULL, *rec;
	void *prev = NULL;

	*n = 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (*n == cap) {
			char *grown;

			cap = cap ? cap * 2 : 256;
			grown = realloc(recs, cap * rec_size);
			if (!grown) {
				free(recs);
				return -ENOMEM;
			}
			recs = grown;
		}
		rec = recs + *n * rec_size;
		memset(rec, 0, rec_size);
		memcpy(rec, key, key_size);
		/* The entry may vanish between the two calls: skip it. */
		if (bpf_map_lookup_elem(fd, key, rec + value_off))
			continue;
		(*n)++;
	}
	*out = recs;
	return 0;
}

int exits_sample(struct exits_detector *det, struct exit_sample *out)
{
	void *recs = NULL, *threads = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->ts_ns = monotonic_ns();
	err = read_hash(bpf_map__fd(det->skel->maps.exit_stats),
			sizeof(struct exit_key), sizeof(struct exit_record),
			offsetof(struct exit_record, stats), &recs, &out->nrecs);
	if (err)
		return err;
	err = read_hash(bpf_map__fd(det->skel->maps.vcpu_threads),
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
