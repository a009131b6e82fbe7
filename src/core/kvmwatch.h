/* SPDX-License-Identifier: GPL-2.0 */
/* Exit codes, messages and small helpers shared by every kvmwatch file. */
#ifndef KVMWATCH_H
#define KVMWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KVMWATCH_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Process exit codes; docs/kvmwatch.8 lists them for scripts. */
enum kw_exit {
	KW_EXIT_OK = 0,
	KW_EXIT_CHECK_FAILED = 1,	/* a check found the unfixed behaviour */
	KW_EXIT_USAGE = 2,		/* bad command line */
	KW_EXIT_PERMISSION = 3,		/* not root, no CAP_BPF/CAP_PERFMON */
	KW_EXIT_UNSUPPORTED = 4,	/* kernel lacks BTF, tracefs or KVM */
	KW_EXIT_RUNTIME = 5,		/* load/attach/map/I-O failure */
	KW_EXIT_NOTHING_JUDGED = 6,	/* check: every rule skipped, no evidence */
	KW_EXIT_COMMAND_FAILED = 7,	/* check, record: -- COMMAND failed */
};

enum output_format { OUTPUT_TEXT, OUTPUT_JSON };

void kw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kw_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With KVMWATCH_TIMING set: "kvmwatch: [1.234 s] what", seconds since
 * the first call (where start-up and shutdown spend their time). */
void kw_timing(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With KVMWATCH_TIMING set: the heap in use (malloc'd), the RSS and its
 * peak at a step of a read (what the figures cost at scale); the step's
 * name is formatted only then. */
void kw_timing_heap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool kw_verbose;
/* The columns text reports fit (top sets it from the terminal); 0: no
 * limit, each line whole. */
extern int kw_columns;
/* Print a line of prose, wrapped at spaces to kw_columns, the lines after
 * the first indented by indent spaces. */
void text_wrapped(FILE *out, int indent, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether tables must take their narrow form (under 130 columns). */
static inline bool text_narrow(void)
{
	return kw_columns > 0 && kw_columns < 130;
}

/* Parse "text" or "json" (the -o argument). */
int parse_output_format(const char *arg, enum output_format *out);
/* Parse a positive decimal (or, with allow_zero, non-negative) number;
 * false on trailing junk or overflow. */
bool parse_uint(const char *arg, unsigned long max, unsigned long *out);
bool parse_seconds(const char *arg, double *out);

/* Read a small text file (sysfs, procfs) into buf, newline stripped.
 * Returns 0 or -errno. */
int read_text_file(const char *path, char *buf, size_t size);
bool path_exists(const char *path);
/* strerror(), and the kernel-internal codes BPF calls leak (ENOTSUPP). */
const char *kw_strerror(int err);
/* Drop the records of a sorted array equal to the one before them (by
 * compare); returns how many are left. */
size_t unique_sorted(void *base, size_t n, size_t size,
		     int (*compare)(const void *, const void *));
/* The index of s in a table of n names (NULLs allowed), or -1. */
int string_index(const char *const *table, size_t n, const char *s);
uint64_t monotonic_ns(void);

#endif
