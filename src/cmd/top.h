/* SPDX-License-Identifier: GPL-2.0 */
/* kvmwatch top's options and reports, shared by its batch loop (top.c)
 * and its interactive one (top_tui.c). */
#ifndef KVMWATCH_CMD_TOP_H
#define KVMWATCH_CMD_TOP_H

#include <regex.h>
#include <signal.h>
#include <stdio.h>

#include "core/runner.h"
#include "detectors/exits/exits_model.h"

struct top_options {
	bool batch;
	bool cumulative;
	bool log;		/* -l: one line per interval */
	bool csv;		/* -c: the log as CSV */
	const char *log_file;	/* -L: the log there, not on stdout */
	unsigned long log_lines;	/* written so far */
	FILE *log_out;		/* -L's file, open before attaching */
	char *last_detectors;	/* the block as last printed (JSON) */
	double interval_sec;
	unsigned long iterations;	/* 0: until interrupted */
	unsigned long pid;
	const char *guest;	/* -g: NULL for every VM */
	enum output_format format;
	/* How the exits table is drawn: -k, --vcpu; the keys change it. */
	struct exits_text_opts text;
	char filter[128];	/* f: its regex as typed, "" for none */
	regex_t filter_re;
	/* The VM looked at in full (x), and the pid and name filters as
	 * they were before it (b goes back to them). */
	uint32_t drilled;
	uint32_t pid_before;
	char guest_before[VM_NAME_LEN];
};

/* SIGINT and SIGTERM, blocked and taken by sigtimedwait(). */
extern sigset_t stop_signals;

/* One report into out: JSON, the log's line, or each running detector's
 * table. 0 or -EIO. */
int emit_report(struct top_options *o, const struct runner *r, FILE *out);
/* The interactive view: a report every interval until q or a signal. */
int run_tui(struct top_options *o, struct runner *r);

#endif
