// SPDX-License-Identifier: GPL-2.0
/* libbpf's messages: all with -v, and the reason of a failed load. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bpf_log.h"
#include "kvmwatch.h"

#define LINE_LEN 256
/* A whole verifier log comes in one message. */
#define MESSAGE_LEN 65536

/* The first program a load failed on, and why: libbpf's words, or the
 * last line of the verifier's log that is no statistics. */
static char failed_prog[64];
static char reason[LINE_LEN];
static char log_reason[LINE_LEN];
static bool in_log;

/* Verifier statistics close every log; they are no reason. */
static bool is_statistics(const char *line)
{
	return !strncmp(line, "processed ", 10) ||
		!strncmp(line, "verification time", 17) ||
		!strncmp(line, "stack depth", 11) || !*line;
}

static void note_line(const char *line)
{
	const char *p;

	if (strstr(line, "-- BEGIN PROG LOAD LOG --")) {
		in_log = true;
		log_reason[0] = '\0';
		return;
	}
	if (strstr(line, "-- END PROG LOAD LOG --")) {
		in_log = false;
		/* The verifier's own words beat libbpf's. */
		if (log_reason[0])
			snprintf(reason, sizeof(reason), "%s", log_reason);
		return;
	}
	if (in_log) {
		if (!is_statistics(line))
			snprintf(log_reason, sizeof(log_reason), "%s", line);
		return;
	}
	/* "libbpf: prog 'tp_kvm_msr': relo #3: ... failed ...": the first
	 * program libbpf gives up on, and what it said of it. */
	p = strstr(line, "prog '");
	if (failed_prog[0] || !p ||
	    (!strstr(line, "failed") && !strstr(line, "error")))
		return;
	p += 6;
	snprintf(failed_prog, sizeof(failed_prog), "%.*s",
		 (int)strcspn(p, "'"), p);
	p += strcspn(p, "'");
	p += strspn(p, "': ");
	snprintf(reason, sizeof(reason), "%s", p);
}

/* One message of libbpf may hold many lines (a whole verifier log). */
static void note(char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		note_line(line);
}

static int print(enum libbpf_print_level level, const char *fmt,
		 va_list args)
{
	static char text[MESSAGE_LEN];
	va_list copy;

	if (level != LIBBPF_DEBUG) {
		va_copy(copy, args);
		vsnprintf(text, sizeof(text), fmt, copy);
		va_end(copy);
		note(text);
	}
	return kw_verbose ? vfprintf(stderr, fmt, args) : 0;
}

void bpf_log_feed(const char *message)
{
	static char text[MESSAGE_LEN];

	snprintf(text, sizeof(text), "%s", message);
	note(text);
}

void bpf_log_install(void)
{
	libbpf_set_print(print);
}

void bpf_log_reset(void)
{
	failed_prog[0] = reason[0] = log_reason[0] = '\0';
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
