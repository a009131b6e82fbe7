/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the detectors' BPF hash maps into arrays, and pruning them. */
#ifndef KVMWATCH_BPF_MAPS_H
#define KVMWATCH_BPF_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm_ident.h"

#define MAP_KEY_MAX 64

/* Read every entry of the hash map fd into a new array of *n records of
 * rec_size bytes, each with the key at offset 0 and the value at
 * value_off. Returns 0 or -errno; *out is the caller's to free. Through a
 * BPF iterator (bpf/map_dump.bpf.c) where the kernel has one: a bpf(2)
 * lookup per entry would hold the CPU against the counting programs. */
int map_read_all(int fd, size_t key_size, size_t rec_size, size_t value_off,
		 void **out, size_t *n);
/* Load the iterator now rather than at the first read: as the detectors
 * load, before their maps hold memory above what its loading frees.
 * Whether it loads here (else lookups read the maps). */
bool map_dump_open(void);
/* Why the iterator did not load (the kernel's error), or NULL. */
const char *map_dump_why_not(void);
/* Unload the iterator (loaded at the first read). */
void map_dump_close(void);

/* Delete from the BPF map fd the key (at offset 0) of each of n records
 * of stride bytes whose VM (a u32 pid at pid_off, a u64 start at
 * start_off) is one of gone. The records are a snapshot: deleting while
 * walking a hash map can restart or skip the walk. */
void map_delete_vms(int fd, const void *records, size_t n, size_t stride,
		    size_t pid_off, size_t start_off,
		    const struct vm_ident *gone, size_t ngone);
/* The same for an array of records, naming their pid and start fields. */
#define MAP_DELETE_VMS(fd, recs, n, pid_field, start_field, gone, ngone) \
	map_delete_vms(fd, recs, n, sizeof(*(recs)),			\
		       offsetof(typeof(*(recs)), pid_field),		\
		       offsetof(typeof(*(recs)), start_field), gone, ngone)

#endif
