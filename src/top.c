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
#include "report.h"
#include "runner.h"
#include "session.h"

struct top_options {
	bool batch;
	bool cumulative;
	double interval_sec;
	unsigned long iterations;	/* 0: until interrupted */
	unsigned long pid;
	enum output_format format;
};

/* SIGINT and SIGTERM stay blocked and are taken by sigtimedwait(), so a
 * signal that arrives just before a sleep cannot be missed. */
static sigset_t stop_signals;

static void top_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch top [-b] [-c] [-d SECONDS] [-n COUNT] [-p PID] [-o text|json]\n"
		"  -b, --batch         print one report per interval (no screen control)\n"
		"  -c, --cumulative    figures since start instead of per interval\n"
		"  -d, --delay SEC     interval between reports (default 1)\n"
		"  -n, --iterations N  stop after N reports (default: until SIGINT)\n"
		"  -p, --pid PID       watch only the VMM process PID\n"
		"  -o, --output FMT    text (default) or json: one document per report\n");
}

static int parse_top_options(int argc, char **argv, struct top_options *o)
{
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "cumulative", no_argument, NULL, 'c' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->interval_sec = 1.0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "bcd:n:p:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			o->batch = true;
			break;
		case 'c':
			o->cumulative = true;
			break;
		case 'd':
			if (!parse_seconds(optarg, &o->interval_sec)) {
				kw_warn("top: -d needs a positive number of seconds, not '%s'", optarg);
				return KW_EXIT_USAGE;
			}
			break;
		case 'n':
			if (!parse_uint(optarg, 1000000000, &o->iterations) ||
			    !o->iterations) {
				kw_warn("top: -n needs a positive count, not '%s'", optarg);
				return KW_EXIT_USAGE;
			}
			break;
		case 'p':
			if (!parse_uint(optarg, 0x7fffffff, &o->pid) || !o->pid) {
				kw_warn("top: -p needs a process id, not '%s'", optarg);
				return KW_EXIT_USAGE;
			}
			if (kill(o->pid, 0) && errno == ESRCH) {
				kw_warn("top: no process with pid %lu", o->pid);
				return KW_EXIT_USAGE;
			}
			break;
		case 'o':
			if (parse_output_format(optarg, &o->format)) {
				kw_warn("top: -o takes text or json, not '%s'", optarg);
				return KW_EXIT_USAGE;
			}
			break;
		case 'h':
			top_usage(stdout);
			exit(KW_EXIT_OK);
		default:
			top_usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		kw_warn("top: unexpected argument '%s'", argv[optind]);
		top_usage(stderr);
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

static int emit_report(const struct top_options *o, const struct runner *r)
{
	const void *exits = runner_view(r, DET_EXITS);
	enum detector_id det;
	json_t *doc, *dets;

	if (o->format == OUTPUT_JSON) {
		doc = json_pack("{s:s, s:i, s:s, s:f, s:o}",
				"kvmwatch", KVMWATCH_VERSION,
				"schema", KVMWATCH_JSON_SCHEMA,
				"type", "top",
				"time", (double)time(NULL),
				"host", json_host(r->caps));
		dets = json_object();
		json_object_set_new(doc, "detectors", dets);
		json_object_update_new(doc, r->runs[DET_EXITS].ops->view_json(exits));
		for (det = 0; det < DET_COUNT; det++) {
			const struct detector_ops *ops = r->runs[det].ops;

			if (!detector_implemented(det))
				continue;
			json_object_set_new(dets, detectors[det].name,
					    json_detector(r->plan, det));
			if (det == DET_EXITS)
				continue;
			json_object_set_new(doc, ops->json_key ? ops->json_key :
					    detectors[det].name,
					    runner_on(r, det) ?
					    ops->view_json(runner_view(r, det)) :
					    json_null());
		}
		return json_emit(stdout, doc);
	}
	/* Live view on a terminal: redraw in place. */
	if (!o->batch && isatty(STDOUT_FILENO))
		fputs("\033[H\033[J", stdout);
	for (det = 0; det < DET_COUNT; det++) {
		if (!runner_on(r, det))
			continue;
		if (det != DET_EXITS)
			fputc('\n', stdout);
		r->runs[det].ops->view_text(stdout, runner_view(r, det),
					    r->runs[det].modes);
	}
	if (o->batch)
		fputc('\n', stdout);
	return fflush(stdout) ? -EIO : 0;
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

static int run_top(const struct top_options *o, struct attach_plan *plan)
{
	unsigned long reports = 0;
	bool stopping = false;
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
			   o->pid);
	if (err)
		return err == -EOPNOTSUPP ? KW_EXIT_UNSUPPORTED :
			KW_EXIT_RUNTIME;
	runner_announce(&r, stderr);

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
		err = emit_report(o, &r);
		if (err) {
			/* stdout closed (a pager quit): not worth a complaint. */
			rc = err == -EIO ? KW_EXIT_OK : KW_EXIT_RUNTIME;
			break;
		}
		reports++;
		if (stopping)
			break;
	}
	runner_stop(&r);
	return rc;
}

int cmd_top(int argc, char **argv)
{
	struct top_options o = { 0 };
	struct kernel_caps caps;
	struct attach_plan plan;
	int rc;

	rc = parse_top_options(argc, argv, &o);
	if (rc)
		return rc;
	rc = session_prepare(&caps, &plan, implemented_detectors());
	if (rc == KW_EXIT_OK)
		rc = run_top(&o, &plan);
	caps_release(&caps);
	return rc;
}
