// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE	/* vasprintf */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmwatch.h"

bool kw_verbose;
int kw_columns;

void text_wrapped(FILE *out, int indent, const char *fmt, ...)
{
	char *text, *p, *cut;
	int width, room;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0) {
		va_end(ap);
		return;
	}
	va_end(ap);
	width = kw_columns > indent + 20 ? kw_columns : 0;
	p = text;
	room = width;
	while (width && (int)strlen(p) > room) {
		/* The last space that keeps the line within room. */
		cut = p + room;
		while (cut > p && *cut != ' ')
			cut--;
		if (cut == p)
			cut = strchr(p + room, ' ');
		if (!cut)
			break;
		fprintf(out, "%.*s\n%*s", (int)(cut - p), p, indent, "");
		p = cut + 1;
		room = width - indent;
	}
	fprintf(out, "%s\n", p);
	free(text);
}

void kw_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("kvmwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kw_info(const char *fmt, ...)
{
	va_list ap;

	if (!kw_verbose)
		return;
	fputs("kvmwatch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t timing_start_ns;

static bool timing_on(void)
{
	static int on = -1;

	if (on < 0) {
		const char *env = getenv("KVMWATCH_TIMING");

		on = env && *env && strcmp(env, "0");
		timing_start_ns = monotonic_ns();
	}
	return on;
}

/* "VmRSS" of /proc/self/status in kB, or -1. */
static long status_kb(const char *status, const char *field)
{
	const char *at = strstr(status, field);

	return at ? strtol(at + strlen(field) + 1, NULL, 10) : -1;
}

void kw_timing_heap(const char *fmt, ...)
{
	char status[4096], what[64];
	struct mallinfo2 m;
	va_list ap;

	if (!timing_on())
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	m = mallinfo2();
	if (read_text_file("/proc/self/status", status, sizeof(status)))
		status[0] = '\0';
	kw_timing("%s: heap %.2f MiB, rss %.2f MiB, peak %.2f MiB", what,
		  (m.uordblks + m.hblkhd) / 1048576.0,
		  status_kb(status, "VmRSS") / 1024.0,
		  status_kb(status, "VmHWM") / 1024.0);
}

void kw_timing(const char *fmt, ...)
{
	va_list ap;

	if (!timing_on())
		return;
	fprintf(stderr, "kvmwatch: [%.3f s] ",
		(monotonic_ns() - timing_start_ns) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int parse_output_format(const char *arg, enum output_format *out)
{
	if (!strcmp(arg, "text"))
		*out = OUTPUT_TEXT;
	else if (!strcmp(arg, "json"))
		*out = OUTPUT_JSON;
	else
		return -EINVAL;
	return 0;
}

bool parse_uint(const char *arg, unsigned long max, unsigned long *out)
{
	unsigned long val;
	char *end;

	if (!*arg || *arg == '-' || *arg == '+')
		return false;
	errno = 0;
	val = strtoul(arg, &end, 10);
	if (errno || *end || val > max)
		return false;
	*out = val;
	return true;
}

bool parse_seconds(const char *arg, double *out)
{
	double val;
	char *end;

	if (!*arg || *arg == '-')
		return false;
	errno = 0;
	val = strtod(arg, &end);
	if (errno || *end || !isfinite(val) || val <= 0 || val > 86400 * 365)
		return false;
	*out = val;
	return true;
}

int read_text_file(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	if (len < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return 0;
}

const char *kw_strerror(int err)
{
	/* ENOTSUPP: the kernel lacks the feature (fentry attach on arm64
	 * before 6.4, for one); libc does not know it. */
	if (err == 524)
		return "ENOTSUPP (524): not supported by this kernel";
	return strerror(err);
}

bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

size_t unique_sorted(void *base, size_t n, size_t size,
		     int (*compare)(const void *, const void *))
{
	char *recs = base;
	size_t i, kept = 0;

	for (i = 0; i < n; i++) {
		if (kept && !compare(recs + (kept - 1) * size, recs + i * size))
			continue;
		if (kept != i)
			memcpy(recs + kept * size, recs + i * size, size);
		kept++;
	}
	return kept;
}

int string_index(const char *const *table, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (table[i] && !strcmp(table[i], s))
			return i;
	return -1;
}
