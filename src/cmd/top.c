// SPDX-License-Identifier: GPL-2.0
/* kvmwatch top: the per-VM / per-vCPU view, refreshed every interval. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "core/json_figures.h"
#include "views/probe_report.h"
#include "core/runner.h"
#include "core/session.h"
#include "detectors/exits/exits_model.h"
#include "top.h"


/* SIGINT and SIGTERM stay blocked and are taken by sigtimedwait(), so a
 * signal that arrives just before a sleep cannot be missed. */
sigset_t stop_signals;

static void top_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch top [-b] [-C] [-l] [-L FILE] [-c] [-d SECONDS] [-n COUNT]\n"
		"                    [-k KEY] [--vcpu N] [--reasons] [-p PID] [-g NAME] [-o text|json]\n"
		"  -b, --batch         print one report per interval (no screen control)\n"
		"  -C, --cumulative    figures since start instead of per interval\n"
		"  -l, --log           one line per interval: time, VMs, exit rates and\n"
		"                      the top reasons (kvm_stat -l)\n"
		"  -L, --log-to-file FILE  the same into FILE (replaced), not stdout\n"
		"  -c, --csv           the log as CSV: a header, then per interval the\n"
		"                      exits of each reason the kernel names\n"
		"  -d, --delay SEC     interval between reports (default 1)\n"
		"  -n, --iterations N  stop after N reports (default: until SIGINT)\n"
		"  -k, --sort KEY      order the VMs by exits (default), vmm, avg, pid or\n"
		"                      name (perf kvm's sample and time: exits, avg)\n"
		"      --vcpu N        list only vCPU N of each VM\n"
		"      --reasons       each VM's exits reason by reason: count, share,\n"
		"                      rate, avg, p99, max (with -p or -g: one VM in full)\n"
		"  -p, --pid PID       watch only the VMM process PID\n"
		"  -g, --guest NAME    watch only the VMs so named (a shell pattern:\n"
		"                      'web*'); QEMU's -name, else the executable\n"
		"  -o, --output FMT    text (default) or json: one document per report\n"
		GLOBAL_OPTIONS_HELP);
}

enum { OPT_VCPU = 256, OPT_REASONS };

static int parse_top_options(int argc, char **argv, struct top_options *o)
{
	unsigned long vcpu;
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "cumulative", no_argument, NULL, 'C' },
		{ "log", no_argument, NULL, 'l' },
		{ "sort", required_argument, NULL, 'k' },
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ "reasons", no_argument, NULL, OPT_REASONS },
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
	o->text.vcpu = -1;
	optind = 0;	/* all of getopt's state, not only its index */
	while ((opt = getopt_long(argc, argv, GLOBAL_SHORTOPTS "bCclL:k:d:n:p:o:hg:",
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
		case 'k':
			if (exits_sort_parse(optarg, &o->text.sort)) {
				kw_warn("top: -k takes exits, vmm, avg, pid or name (or perf kvm's sample, time), not '%s'",
					optarg);
				return KW_EXIT_USAGE;
			}
			break;
		case OPT_REASONS:
			o->text.detail = true;
			break;
		case OPT_VCPU:
			if (!parse_uint(optarg, 4095, &vcpu)) {
				kw_warn("top: --vcpu takes a vCPU index (0 to 4095), not '%s'",
					optarg);
				return KW_EXIT_USAGE;
			}
			o->text.vcpu = vcpu;
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
 * changes, not in each: it is most of a document and seldom changes.
 * dets, or NULL (freed) when it is the same as last time. */
static json_t *detectors_changed(struct top_options *o, json_t *dets)
{
	char *text = json_dumps(dets, JSON_COMPACT | JSON_SORT_KEYS);

	if (text && o->last_detectors && !strcmp(text, o->last_detectors)) {
		json_decref(dets);
		free(text);
		return NULL;
	}
	free(o->last_detectors);
	o->last_detectors = text;
	return dets;
}

/* A detector's list (detector_ops.view_json_item) as array key, an
 * element at a time: 256 VMs of PMU figures are megabytes of jansson
 * objects at once. */
static void stream_list(struct json_stream *js, const char *key,
			const struct detector_ops *ops, const void *view)
{
	size_t i, n = ops->view_json_len(view);

	json_stream_open_array(js, key);
	for (i = 0; i < n; i++)
		json_stream_element(js, ops->view_json_item(view, i));
	json_stream_close_array(js);
}

/* A detector's view (an object) as members of the level open in js, a
 * VM at a time where the detector can. */
static void stream_view(struct json_stream *js, const struct detector_ops *ops,
			const void *view)
{
	if (!ops->view_json_head) {
		json_stream_members(js, ops->view_json(view));
		return;
	}
	json_stream_members(js, ops->view_json_head(view));
	stream_list(js, "vms", ops, view);
}

/* One JSON document, written a member at a time (json_stream). */
static int emit_json(struct top_options *o, const struct runner *r,
		     FILE *out)
{
	json_t *dets = json_object(), *missed = json_object();
	struct json_stream js;
	enum detector_id det;

	json_stream_open(&js, out);
	json_stream_member(&js, "kvmwatch", json_string(KVMWATCH_VERSION));
	json_stream_member(&js, "schema", json_integer(KVMWATCH_JSON_SCHEMA));
	json_stream_member(&js, "type", json_string("top"));
	json_stream_member(&js, "time", json_real((double)time(NULL)));
	json_stream_member(&js, "host", json_host(r->caps));
	stream_view(&js, r->runs[DET_EXITS].ops, runner_view(r, DET_EXITS));
	for (det = 0; det < DET_COUNT; det++) {
		if (!detector_implemented(det))
			continue;
		json_object_set_new(dets, detectors[det].name,
				    json_detector(r->plan, det));
		/* Runs the kernel skipped: figures may be short by this. */
		json_object_set_new(missed, detectors[det].name,
				    runner_on(r, det) ?
				    json_integer(runner_missed_runs(r, det)) :
				    json_null());
	}
	json_stream_member(&js, "missed_runs", missed);
	for (det = 0; det < DET_COUNT; det++) {
		const struct detector_ops *ops = r->runs[det].ops;
		const char *key = ops && ops->json_key ? ops->json_key :
			detectors[det].name;

		if (!detector_implemented(det) || det == DET_EXITS)
			continue;
		if (!runner_on(r, det)) {
			json_stream_member(&js, key, json_null());
		} else if (ops->view_json_item && !ops->view_json_head) {
			/* A view_json that is a list (timer's). */
			stream_list(&js, key, ops, runner_view(r, det));
		} else {
			json_stream_open_object(&js, key);
			stream_view(&js, ops, runner_view(r, det));
			json_stream_close_object(&js);
		}
	}
	dets = detectors_changed(o, dets);
	if (dets)
		json_stream_member(&js, "detectors", dets);
	return json_stream_close(&js);
}

/* One report into out: JSON, or each running detector's table. */
int emit_report(struct top_options *o, const struct runner *r, FILE *out)
{
	const void *exits = runner_view(r, DET_EXITS);
	enum detector_id det;

	if (o->log) {
		exits_log_line(out, exits, o->csv, o->log_lines++);
		return fflush(out) ? -EIO : 0;
	}
	if (o->format == OUTPUT_JSON)
		return emit_json(o, r, out);
	exits_view_text_opts(out, exits, r->runs[DET_EXITS].modes, &o->text);
	for (det = 0; det < DET_COUNT; det++) {
		/* f's regex picks detectors by name, as it picks reasons. */
		if (det == DET_EXITS || !runner_on(r, det) ||
		    (o->text.reasons && regexec(o->text.reasons,
						detectors[det].name, 0, NULL,
						0)))
			continue;
		fputc('\n', out);
		r->runs[det].ops->view_text(out, runner_view(r, det),
					    r->runs[det].modes);
	}
	if (o->batch)
		fputc('\n', out);
	return fflush(out) ? -EIO : 0;
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

/* The columns batch text fits: $COLUMNS, the terminal's, else 80. */
static int batch_width(void)
{
	unsigned long columns;
	struct winsize ws;

	if (getenv("COLUMNS") && parse_uint(getenv("COLUMNS"), 4096, &columns)
	    && columns >= 40)
		return columns;
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) &&
	    ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
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

	kw_columns = batch_width();
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
		kw_timing_heap("report");
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
