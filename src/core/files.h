/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Files a CI job hands kvmwatch or reads back: inputs are regular files of
 * bounded size (a FIFO would block the run, a huge file would be read in
 * full), outputs are proven writable before attaching and replaced
 * atomically, so a killed run never leaves a partial file.
 */
#ifndef KVMWATCH_FILES_H
#define KVMWATCH_FILES_H

#include <stddef.h>
#include <stdio.h>

/* Read a regular file of at most max_size bytes into *text (NUL-ended,
 * free() it). Anything else, a FIFO or a device, is refused with -EINVAL
 * before a byte is read; error says what. */
int read_regular_file(const char *path, size_t max_size, char **text,
		      size_t *len, char *error, size_t error_len);

/* Whether path can be written later by write_file_atomic(): the target
 * is absent or a regular file, and a temporary can be made beside it
 * (made and removed at once). An existing file is left untouched. */
int output_path_check(const char *path, char *error, size_t error_len);

/* Write text to a temporary beside path, fsync it and rename it over
 * path: readers see the old file or the new one, never a part. */
int write_file_atomic(const char *path, const char *text, size_t len,
		      char *error, size_t error_len);
/* The same with what fill(out, arg) writes (0, or -errno), never held
 * whole in memory. */
int write_file_atomic_with(const char *path,
			   int (*fill)(FILE *out, void *arg), void *arg,
			   char *error, size_t error_len);

#endif
