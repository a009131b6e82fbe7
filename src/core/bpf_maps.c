// SPDX-License-Identifier: GPL-2.0
/* Reading the detectors' BPF hash maps into arrays, and pruning them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf_maps.h"
#include "kvmwatch.h"

int map_read_all(int fd, size_t key_size, size_t rec_size, size_t value_off,
		 void **out, size_t *n)
{
	char key[MAP_KEY_MAX], next[MAP_KEY_MAX];
	char *recs = NULL, *rec;
	void *prev = NULL;
	size_t cap = 0;

	*n = 0;
	*out = NULL;
	if (key_size > MAP_KEY_MAX)
		return -EINVAL;
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

void map_delete_listed(int fd, const void *records, size_t n, size_t stride,
		       size_t id_offset, size_t key_offset,
		       const uint32_t *ids, size_t nids)
{
	const char *rec = records;
	uint32_t id;
	size_t i;

	for (i = 0; i < n; i++, rec += stride) {
		memcpy(&id, rec + id_offset, sizeof(id));
		if (id_listed(id, ids, nids))
			bpf_map_delete_elem(fd, rec + key_offset);
	}
}
