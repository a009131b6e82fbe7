/* SPDX-License-Identifier: GPL-2.0 */
/* Reading a whole BPF hash map into an array, for the detectors' samples. */
#ifndef KVMWATCH_MAP_READ_H
#define KVMWATCH_MAP_READ_H

#include <stddef.h>

#define MAP_KEY_MAX 64

/* Read every entry of the hash map fd into a new array of *n records of
 * rec_size bytes, each with the key at offset 0 and the value at
 * value_off. Returns 0 or -ENOMEM; *out is the caller's to free. */
int map_read_all(int fd, size_t key_size, size_t rec_size, size_t value_off,
		 void **out, size_t *n);

#endif
