/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the detectors' BPF hash maps into arrays, and pruning them. */
#ifndef KVMWATCH_BPF_MAPS_H
#define KVMWATCH_BPF_MAPS_H

#include <stddef.h>
#include <stdint.h>

#define MAP_KEY_MAX 64

/* Read every entry of the hash map fd into a new array of *n records of
 * rec_size bytes, each with the key at offset 0 and the value at
 * value_off. Returns 0 or -ENOMEM; *out is the caller's to free. */
int map_read_all(int fd, size_t key_size, size_t rec_size, size_t value_off,
		 void **out, size_t *n);

/* Delete from the BPF map fd the key (at key_offset) of each of n records
 * of stride bytes whose id (a u32 at id_offset) is one of ids. The records
 * are a snapshot: deleting while walking a hash map can restart or skip
 * the walk. */
void map_delete_listed(int fd, const void *records, size_t n, size_t stride,
		       size_t id_offset, size_t key_offset,
		       const uint32_t *ids, size_t nids);
/* The same for an array of records, naming their id and key fields. */
#define MAP_DELETE_LISTED(fd, recs, n, id_field, key_field, ids, nids)	\
	map_delete_listed(fd, recs, n, sizeof(*(recs)),			\
			  offsetof(typeof(*(recs)), id_field),		\
			  offsetof(typeof(*(recs)), key_field), ids, nids)

#endif
