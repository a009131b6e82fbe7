// SPDX-License-Identifier: GPL-2.0
/* A detector's BPF object: open, load and attach as planned, close. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "scope.h"

void detector_bpf_opened(struct detector_bpf *bpf, void *skel,
			 struct bpf_object_skeleton *object,
			 struct attach_plan *plan, enum detector_id det)
{
	char error[WHY_LEN];
	bool trial = bpf->trial;
	int err = errno;

	memset(bpf, 0, sizeof(*bpf));
	bpf->trial = trial;
	bpf->skel = skel;
	bpf->object = object;
	if (skel)
		return;
	snprintf(error, sizeof(error), "opening the BPF object failed: %s",
		 strerror(err));
	attach_plan_refuse(plan, det, error);
	errno = err;
}

int detector_bpf_load(struct detector_bpf *bpf, struct attach_plan *plan,
		      enum detector_id det)
{
	struct bpf_map *scope = bpf_object__find_map_by_name(*bpf->object->obj,
							     "scope_tgids");
	int err;

	/* In a scoped run every detector reads the one map that follows
	 * the command's forks. */
	if (scope && scope_map_fd() >= 0) {
		err = bpf_map__reuse_fd(scope, scope_map_fd());
		if (err) {
			char why[WHY_LEN];

			snprintf(why, sizeof(why),
				 "sharing the scope map failed: %s",
				 strerror(-err));
			attach_plan_refuse(plan, det, why);
			return err;
		}
	}
	return attach_plan_load(plan, det, bpf->object,
				bpf->trial ? NULL : bpf->links,
				DETECTOR_MAX_LINKS, &bpf->nlinks);
}

void detector_bpf_close(struct detector_bpf *bpf)
{
	int i;

	for (i = 0; i < bpf->nlinks; i++)
		bpf_link__destroy(bpf->links[i]);
	if (bpf->object)
		bpf_object__destroy_skeleton(bpf->object);
	free(bpf->skel);
	bpf->skel = NULL;
	bpf->object = NULL;
	bpf->nlinks = 0;
}

uint64_t detector_bpf_missed_runs(const struct detector_bpf *bpf)
{
	return bpf->object ? bpf_object_missed_runs(*bpf->object->obj) : 0;
}
