// SPDX-License-Identifier: GPL-2.0
/* kvmwatch top: the per-VM / per-vCPU view, refreshed every interval. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "core/json_figures.h"
#include "views/probe_report.h"
#include "core/runner.h"
#include "core/session.h"
#include "detectors/exits/exits_model.h"
#include "views/tui.h"

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
};

/* SIGINT and SIGTERM stay blocked and are taken by sigtimedwait(), so a
 * signal that arrives just before a sleep cannot be missed. */
static sigset_t stop_signals;

static void top_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch top [-b] [-C] [-l] [-L FILE] [-c] [-d SECONDS] [-n COUNT]\n"
		"                    [-p PID] [-g NAME] [-o text|json]\n"
		"  -b, --batch         print one report per interval (no screen control)\n"
		"  -C, --cumulative    figures since start instead of per interval\n"
		"  -l, --log           one line per interval: time, VMs, exit rates and\n"
		"                      the top reasons (kvm_stat -l)\n"
		"  -L, --log-to-file FILE  the same into FILE (replaced), not stdout\n"
		"  -c, --csv           the log as CSV: a header, then per interval the\n"
		"                      exits of each reason the kernel names\n"
		"  -d, --delay SEC     interval between reports (default 1)\n"
		"  -n, --iterations N  stop after N reports (default: until SIGINT)\n"
		"  -p, --pid PID       watch only the VMM process PID\n"
		"  -g, --guest NAME    watch only the VMs so named (a shell pattern:\n"
		"                      'web*'); QEMU's -name, else the executable\n"
		"  -o, --output FMT    text (default) or json: one document per report\n"
		GLOBAL_OPTIONS_HELP);
}

static int parse_top_options(int argc, char **argv, struct top_options *o)
{
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "cumulative", no_argument, NULL, 'C' },
		{ "log", no_argument, NULL, 'l' },
		{ "log-to-file", required_argument, NULL, 'L' },
		{ "csv", no_argument, NULL, 'c' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "guest", required_argument, NULL, 'g' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->interval_sec = 1.0;
	optind = 0;	/* all of getopt's state, not only its index */
	while ((opt = getopt_long(argc, argv, GLOBAL_SHORTOPTS "bCclL:d:n:p:o:hg:",
				  longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			o->batch = true;
			break;
		case 'C':
			o->cumulative = true;
			break;
		case 'l':
			o->log = true;
			break;
		case 'L':
			if (!*optarg) {
				kw_warn("top: -L needs a file name");
				return KW_EXIT_USAGE;
			}
			o->log = true;
			o->log_file = optarg;
			break;
		case 'c':
			o->log = o->csv = true;
			break;
		case 'd':
			if (opt_seconds("top", "-d", optarg, &o->interval_sec))
				return KW_EXIT_USAGE;
			break;
		case 'n':
			if (opt_count("top", "-n", optarg, 1000000000,
				      &o->iterations))
				return KW_EXIT_USAGE;
			break;
		case 'p':
			if (opt_pid("top", optarg, &o->pid))
				return KW_EXIT_USAGE;
			break;
		case 'g':
			if (opt_guest("top", optarg, &o->guest))
				return KW_EXIT_USAGE;
			break;
		case 'o':
			if (opt_output("top", optarg, &o->format))
				return KW_EXIT_USAGE;
			break;
		case 'h':
			top_usage(stdout);
			return OPTIONS_SHOWN;
		default:
			if (opt_is_global(opt)) {
				if (opt_global(opt, optarg))
					return KW_EXIT_USAGE;
				break;
			}
			top_usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		kw_warn("top: unexpected argument '%s'", argv[optind]);
		top_usage(stderr);
		return KW_EXIT_USAGE;
	}
	if (o->log && o->format == OUTPUT_JSON) {
		kw_warn("top: the log (-l, -L, -c) is text or CSV: -o json is one document per report, without -l");
		return KW_EXIT_USAGE;
	}
	return KW_EXIT_OK;
}

/* Sleep until deadline_ns; true when a stop signal came first. */
static bool stop_before(uint64_t deadline_ns)
{
	struct timespec ts;
	uint64_t now;

	while ((now = monotonic_ns()) < deadline_ns) {
		ts.tv_sec = (deadline_ns - now) / 1000000000ull;
		ts.tv_nsec = (deadline_ns - now) % 1000000000ull;
		if (sigtimedwait(&stop_signals, NULL, &ts) > 0)
			return true;
	}
	return false;
}

/* The detectors block in the stream's first document and whenever it
 * changes, not in each: it is most of a document and seldom changes. */
static void detectors_once(struct top_options *o, json_t *doc, json_t *dets)
{
	char *text = json_dumps(dets, JSON_COMPACT | JSON_SORT_KEYS);

	if (text && o->last_detectors && !strcmp(text, o->last_detectors)) {
		json_decref(dets);
		free(text);
		return;
	}
	json_object_set_new(doc, "detectors", dets);
	free(o->last_detectors);
	o->last_detectors = text;
}

/* One report into out: JSON, or each running detector's table. */
static int emit_report(struct top_options *o, const struct runner *r,
		       FILE *out)
{
	const void *exits = runner_view(r, DET_EXITS);
	enum detector_id det;
	json_t *doc, *dets, *missed;

	if (o->log) {
		exits_log_line(out, exits, o->csv, o->log_lines++);
		return fflush(out) ? -EIO : 0;
	}
	if (o->format == OUTPUT_JSON) {
		doc = json_pack("{s:s, s:i, s:s, s:f, s:o}",
				"kvmwatch", KVMWATCH_VERSION,
				"schema", KVMWATCH_JSON_SCHEMA,
				"type", "top",
				"time", (double)time(NULL),
				"host", json_host(r->caps));
		dets = json_object();
		/* Runs the kernel skipped: figures may be short by this. */
		missed = json_object();
		json_object_update_new(doc, r->runs[DET_EXITS].ops->view_json(exits));
		json_object_set_new(doc, "missed_runs", missed);
		for (det = 0; det < DET_COUNT; det++) {
			const struct detector_ops *ops = r->runs[det].ops;

			if (!detector_implemented(det))
				continue;
			json_object_set_new(dets, detectors[det].name,
					    json_detector(r->plan, det));
			json_object_set_new(missed, detectors[det].name,
					    runner_on(r, det) ? json_integer(
						runner_missed_runs(r, det)) :
					    json_null());
			if (det == DET_EXITS)
				continue;
			json_object_set_new(doc, ops->json_key ? ops->json_key :
					    detectors[det].name,
					    runner_on(r, det) ?
					    ops->view_json(runner_view(r, det)) :
					    json_null());
		}
		detectors_once(o, doc, dets);
		return json_emit(out, doc);
	}
	for (det = 0; det < DET_COUNT; det++) {
		if (!runner_on(r, det))
			continue;
		if (det != DET_EXITS)
			fputc('\n', out);
		r->runs[det].ops->view_text(out, runner_view(r, det),
					    r->runs[det].modes);
	}
	if (o->batch)
		fputc('\n', out);
	return fflush(out) ? -EIO : 0;
}

/* The interactive view: report every interval until q or a signal. */
static int run_tui(struct top_options *o, struct runner *r)
{
	uint64_t next_ns = r->start_ns;
	enum tui_event event = TUI_TICK;
	unsigned long reports = 0;
	char status[160];
	size_t len;
	char *text;
	FILE *out;
	int err;

	if (tui_start()) {
		kw_warn("top: cannot drive this terminal (TERM=%s): use -b",
			getenv("TERM") ? getenv("TERM") : "unset");
		return KW_EXIT_USAGE;
	}
	snprintf(status, sizeof(status),
		 " first report in %.2g s | q quit  space now  h help",
		 o->interval_sec);
	tui_show("", 0, status);
	for (;;) {
		next_ns += (uint64_t)(o->interval_sec * 1e9);
		event = tui_wait(next_ns, &stop_signals);
		if (event == TUI_QUIT)
			break;
		if (event == TUI_FASTER && o->interval_sec > 0.2)
			o->interval_sec /= 2;
		else if (event == TUI_SLOWER && o->interval_sec < 60)
			o->interval_sec *= 2;
		else if (event == TUI_TOGGLE_CUMULATIVE)
			o->cumulative = !o->cumulative;
		if (event != TUI_TICK)
			next_ns = monotonic_ns();
		err = runner_read(r, !o->cumulative);
		if (err) {
			tui_end();
			kw_warn("reading the BPF maps failed: %s", strerror(-err));
			return KW_EXIT_RUNTIME;
		}
		out = open_memstream(&text, &len);
		if (!out || emit_report(o, r, out)) {
			if (out)
				fclose(out);
			tui_end();
			kw_warn("top: out of memory");
			return KW_EXIT_RUNTIME;
		}
		fclose(out);
		snprintf(status, sizeof(status),
			 " every %.2g s, %s | q quit  h help  space now  +/- interval  c %s  arrows scroll",
			 o->interval_sec, o->cumulative ? "since start" :
			 "per interval", o->cumulative ? "per interval" :
			 "since start");
		tui_show(text, len, status);
		free(text);
		if (o->iterations && ++reports >= o->iterations)
			break;
	}
	tui_end();
	return KW_EXIT_OK;
}

static unsigned int implemented_detectors(void)
{
	enum detector_id det;
	unsigned int mask = 0;

	for (det = 0; det < DET_COUNT; det++)
		if (detector_implemented(det))
			mask |= 1u << det;
	return mask;
}

static int run_top(struct top_options *o, struct attach_plan *plan)
{
	unsigned long reports = 0;
	bool stopping = false;
	FILE *out = stdout;
	uint64_t next_ns;
	struct runner r;
	int rc, err;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);
	/* Exits are the core of top; the other detectors are extras that
	 * it runs without, saying why. */
	err = runner_start(&r, plan, implemented_detectors(), 1u << DET_EXITS,
			   o->pid, o->guest);
	if (err)
		return err == -EOPNOTSUPP ? KW_EXIT_UNSUPPORTED :
			KW_EXIT_RUNTIME;
	runner_announce(&r, stderr);
	if (o->log_out)
		out = o->log_out;
	if (!o->log && !o->batch && o->format == OUTPUT_TEXT &&
	    isatty(STDOUT_FILENO) &&
	    isatty(STDIN_FILENO)) {
		rc = run_tui(o, &r);
		runner_stop(&r);
		return rc;
	}

	next_ns = r.start_ns;
	rc = KW_EXIT_OK;
	while (!o->iterations || reports < o->iterations) {
		next_ns += (uint64_t)(o->interval_sec * 1e9);
		stopping = stop_before(next_ns);
		err = runner_read(&r, !o->cumulative);
		if (err) {
			kw_warn("reading the BPF maps failed: %s", strerror(-err));
			rc = KW_EXIT_RUNTIME;
			break;
		}
		err = emit_report(o, &r, out);
		if (err) {
			/* stdout closed (a pager quit): not worth a complaint. */
			rc = err == -EIO ? KW_EXIT_OK : KW_EXIT_RUNTIME;
			break;
		}
		reports++;
		if (stopping)
			break;
	}
	if (out != stdout && fflush(out) && rc == KW_EXIT_OK) {
		kw_warn("top: writing the log to %s failed", o->log_file);
		rc = KW_EXIT_RUNTIME;
	}
	runner_stop(&r);
	return rc;
}

int cmd_top_parse(int argc, char **argv)
{
	struct top_options o = { 0 };

	return parse_top_options(argc, argv, &o);
}

int cmd_top(int argc, char **argv)
{
	struct top_options o = { 0 };
	struct kernel_caps caps;
	struct attach_plan plan;
	int rc;

	rc = parse_top_options(argc, argv, &o);
	if (rc)
		return rc == OPTIONS_SHOWN ? KW_EXIT_OK : rc;
	if (o.log_file) {
		o.log_out = fopen(o.log_file, "we");
		if (!o.log_out) {
			kw_warn("top: cannot write the log to %s: %s",
				o.log_file, strerror(errno));
			return KW_EXIT_USAGE;
		}
	}
	rc = session_prepare(&caps, &plan, implemented_detectors());
	if (rc == KW_EXIT_OK)
		rc = run_top(&o, &plan);
	caps_release(&caps);
	if (o.log_out)
		fclose(o.log_out);
	free(o.last_detectors);
	return rc;
}
