// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_read.h"

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
