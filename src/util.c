// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmwatch.h"

bool kw_verbose;

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
