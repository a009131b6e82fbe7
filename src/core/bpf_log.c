// SPDX-License-Identifier: GPL-2.0
/* libbpf's messages: all with -v, and the reason of a failed load. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bpf_log.h"
#include "kvmwatch.h"

#define LINE_LEN 256

/* The program a load failed on, and the log's last line that says why. */
static char failed_prog[64];
static char reason[LINE_LEN];
static bool in_log;

/* Verifier statistics close every log; they are no reason. */
static bool is_statistics(const char *line)
{
	return !strncmp(line, "processed ", 10) ||
		!strncmp(line, "verification time", 17) ||
		!strncmp(line, "stack depth", 11) || !*line;
}

static void note(const char *line)
{
	const char *p;

	if (strstr(line, "-- BEGIN PROG LOAD LOG --")) {
		in_log = true;
		reason[0] = '\0';
		return;
	}
	if (strstr(line, "-- END PROG LOAD LOG --")) {
		in_log = false;
		return;
	}
	if (in_log) {
		if (!is_statistics(line))
			snprintf(reason, sizeof(reason), "%s", line);
		return;
	}
	p = strstr(line, "prog '");
	if (p && strstr(line, "failed")) {
		p += 6;
		snprintf(failed_prog, sizeof(failed_prog), "%.*s",
			 (int)strcspn(p, "'"), p);
		/* libbpf's own reason, until the verifier's log says more. */
		if (!reason[0]) {
			p = strstr(line, "failed");
			snprintf(reason, sizeof(reason), "%s", p);
		}
	}
}

static int print(enum libbpf_print_level level, const char *fmt,
		 va_list args)
{
	char line[LINE_LEN];
	va_list copy;
	size_t n;

	va_copy(copy, args);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (level != LIBBPF_DEBUG)
		note(line);
	return kw_verbose ? vfprintf(stderr, fmt, args) : 0;
}

void bpf_log_install(void)
{
	libbpf_set_print(print);
}

void bpf_log_reset(void)
{
	failed_prog[0] = reason[0] = '\0';
	in_log = false;
}

bool bpf_log_failure(char *buf, size_t len)
{
	if (!failed_prog[0])
		return false;
	snprintf(buf, len, "program %s: %s", failed_prog,
		 reason[0] ? reason : "(no reason given)");
	return true;
}
