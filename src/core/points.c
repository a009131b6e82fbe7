// SPDX-License-Identifier: GPL-2.0
/*
 * The probe points of the build, walked detector by detector from their
 * detector_ops, and the opt-in points the user turned on (--point).
 * Function names are those of the kernels kvmwatch was checked against;
 * a missing one is reported, never assumed.
 */
#include <errno.h>
#include <string.h>

#include "detector.h"

size_t probe_point_count(void)
{
	enum detector_id det;
	size_t n = 0;

	for (det = 0; det < DET_COUNT; det++)
		if (detector_ops(det))
			n += detector_ops(det)->npoints;
	return n;
}

const struct probe_point *probe_point_at(size_t i)
{
	enum detector_id det;

	for (det = 0; det < DET_COUNT; det++) {
		const struct detector_ops *ops = detector_ops(det);

		if (!ops)
			continue;
		if (i < ops->npoints)
			return &ops->points[i];
		i -= ops->npoints;
	}
	return NULL;
}

const struct probe_point *probe_point_find(const char *name)
{
	size_t i, n = probe_point_count();

	for (i = 0; i < n; i++)
		if (!strcmp(probe_point_at(i)->name, name))
			return probe_point_at(i);
	return NULL;
}

/* The opt-in points turned on; there are a few at most. */
static const struct probe_point *opted_in[16];
static size_t nopted_in;

int points_opt_in(const char *name)
{
	const struct probe_point *p = probe_point_find(name);

	if (!p)
		return -ENOENT;
	if (!p->opt_in)
		return -EINVAL;
	if (!point_opted_in(p) &&
	    nopted_in < sizeof(opted_in) / sizeof(opted_in[0]))
		opted_in[nopted_in++] = p;
	return 0;
}

bool point_opted_in(const struct probe_point *point)
{
	size_t i;

	for (i = 0; i < nopted_in; i++)
		if (opted_in[i] == point)
			return true;
	return false;
}

bool point_is_upkeep(const struct probe_point *point)
{
	return point->tracepoint &&
	       !strcmp(point->tracepoint, THREAD_EXIT_TRACEPOINT);
}
