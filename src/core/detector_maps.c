// SPDX-License-Identifier: GPL-2.0
/*
 * A detector's maps as its samples see them: read into arrays of records,
 * and pruned of the entries of processes and threads that have exited,
 * so long runs over many VMs do not fill them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf_maps.h"
#include "detector.h"

static int map_fd(const struct detector_bpf *bpf, const char *name)
{
	struct bpf_map *map;

	if (!bpf->object)
		return -1;
	map = bpf_object__find_map_by_name(*bpf->object->obj, name);
	return map ? bpf_map__fd(map) : -1;
}

static void **recs_of(const struct detector_map *m, void *sample)
{
	return (void **)((char *)sample + m->recs_off);
}

static size_t *count_of(const struct detector_map *m, void *sample)
{
	return (size_t *)((char *)sample + m->count_off);
}

int detector_read_maps(const struct detector_ops *ops,
		       const struct detector_bpf *bpf, void *sample)
{
	size_t i, j;
	int err = 0;

	for (i = 0; i < ops->nmaps && !err; i++) {
		const struct detector_map *m = &ops->maps[i];
		int fd = map_fd(bpf, m->name);

		err = fd < 0 ? -ENOENT :
			map_read_all(fd, m->key_size, m->rec_size,
				     m->value_off, recs_of(m, sample),
				     count_of(m, sample));
	}
	if (!err)
		return 0;
	for (j = 0; j < i; j++) {
		free(*recs_of(&ops->maps[j], sample));
		*recs_of(&ops->maps[j], sample) = NULL;
		*count_of(&ops->maps[j], sample) = 0;
	}
	return err;
}

size_t detector_find_gone(const struct detector_ops *ops, const void *sample,
			  uint32_t *ids, size_t max)
{
	size_t i;

	for (i = 0; i < ops->nmaps; i++) {
		const struct detector_map *m = &ops->maps[i];

		if (m->gone_ids)
			return ids_gone(*recs_of(m, (void *)sample),
					*count_of(m, (void *)sample),
					m->rec_size, m->id_off, ids, max);
	}
	return 0;
}

/* The records are read first and deleted after: deleting while walking
 * a hash map can restart or skip the walk. */
static void forget_in(const struct detector_map *m,
		      const struct detector_bpf *bpf, const uint32_t *ids,
		      size_t n)
{
	int fd = map_fd(bpf, m->name);
	int sibling = m->sibling ? map_fd(bpf, m->sibling) : -1;
	size_t i, nrecs;
	char *recs;

	if (fd < 0 || map_read_all(fd, m->key_size, m->rec_size, m->value_off,
				   (void **)&recs, &nrecs))
		return;
	map_delete_listed(fd, recs, nrecs, m->rec_size, m->id_off, 0, ids, n);
	for (i = 0; sibling >= 0 && i < nrecs; i++) {
		uint32_t id, key;

		memcpy(&id, recs + i * m->rec_size + m->id_off, sizeof(id));
		memcpy(&key, recs + i * m->rec_size + m->sibling_key_off,
		       sizeof(key));
		if (id_listed(id, ids, n))
			bpf_map_delete_elem(sibling, &key);
	}
	free(recs);
}

void detector_forget(const struct detector_ops *ops,
		     const struct detector_bpf *bpf, const uint32_t *ids,
		     size_t n)
{
	size_t i;

	for (i = 0; i < ops->nmaps; i++)
		if (ops->maps[i].id_off != DETECTOR_MAP_KEPT)
			forget_in(&ops->maps[i], bpf, ids, n);
}
