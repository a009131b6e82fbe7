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
/* The same, handed to consume max_recs records at most at a time, in the
 * map's order: a map of many entries is never whole in memory. A chunk
 * is valid until consume returns; its error ends the read. */
typedef int (*map_chunk_fn)(void *recs, size_t n, void *arg);
/* A chunk of MMIO's records is 100 KiB. */
#define MAP_CHUNK_RECS 128
int map_read_chunks(int fd, size_t key_size, size_t rec_size,
		    size_t value_off, size_t max_recs, map_chunk_fn consume,
		    void *arg);
/* Load the iterator now rather than at the first read: as the detectors
 * load, before their maps hold memory above what its loading frees.
 * Whether it loads here (else lookups read the maps). */
bool map_dump_open(void);
/* Why the iterator did not load (the kernel's error), or NULL. */
const char *map_dump_why_not(void);
/* Unload the iterator (loaded at the first read). */
void map_dump_close(void);

/* Delete from the hash map fd every entry whose VM is one of gone: a
 * u32 pid at pid_off and a u64 start at start_off of its record (laid
 * out as map_read_all() does). The keys are gathered first, a chunk at
 * a time, and deleted after: deleting while walking a hash map can
 * restart or skip the walk, and a whole copy of the map would be
 * megabytes at hundreds of VMs. 0 or -errno. */
int map_delete_vms(int fd, size_t key_size, size_t rec_size, size_t value_off,
		   size_t pid_off, size_t start_off,
		   const struct vm_ident *gone, size_t ngone);

#endif
