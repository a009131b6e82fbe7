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
#include "exits_detector.h"
#include "report.h"
#include "session.h"
#include "timer_detector.h"

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

/* Exited vCPU threads forgotten per interval; more wait for the next. */
#define EXITED_MAX 1024

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

/* timer: the LAPIC timer figures, NULL when that detector is off. */
static int emit_report(const struct top_options *o,
		       const struct kernel_caps *caps,
		       const struct attach_plan *plan,
		       const struct exit_sample *sample,
		       const struct timer_sample *timer, double elapsed_sec)
{
	struct timer_view timer_view = { 0 };
	struct top_view view;
	char modes[64];
	int err;

	err = top_view_build(sample, elapsed_sec, o->cumulative,
			     exit_table_for(caps), &view);
	if (!err && timer)
		err = timer_view_build(timer, elapsed_sec, &timer_view);
	if (err) {
		top_view_free(&view);
		return err;
	}
	if (o->format == OUTPUT_JSON) {
		json_t *doc = json_pack("{s:s, s:i, s:s, s:f, s:o, s:{s:o}}",
					"kvmwatch", KVMWATCH_VERSION,
					"schema", KVMWATCH_JSON_SCHEMA,
					"type", "top",
					"time", (double)time(NULL),
					"host", json_host(caps),
					"detectors", "exits",
					json_detector(plan, DET_EXITS));

		json_object_update_new(doc, json_top_view(&view));
		json_object_set_new(json_object_get(doc, "detectors"), "timer",
				    json_detector(plan, DET_TIMER));
		json_object_set_new(doc, "timers", timer ?
				    json_timer_view(&timer_view) : json_null());
		err = json_emit(stdout, doc);
	} else {
		session_modes(plan, DET_EXITS, modes, sizeof(modes));
		/* Live view on a terminal: redraw in place. */
		if (!o->batch && isatty(STDOUT_FILENO))
			fputs("\033[H\033[J", stdout);
		text_top_view(stdout, &view, caps, modes);
		if (timer) {
			session_modes(plan, DET_TIMER, modes, sizeof(modes));
			fputc('\n', stdout);
			text_timer_view(stdout, &timer_view, modes);
		}
		if (o->batch)
			fputc('\n', stdout);
		err = fflush(stdout) ? -EIO : 0;
	}
	top_view_free(&view);
	timer_view_free(&timer_view);
	return err;
}

/* The timer figures are an extra: top runs without them, saying why. */
static bool start_timer(struct timer_detector *det, struct attach_plan *plan,
			uint32_t pid)
{
	enum detector_status status = attach_plan_status(plan, DET_TIMER);

	if (status == DETECTOR_NOT_APPLICABLE)
		return false;
	if (status == DETECTOR_UNAVAILABLE) {
		kw_warn("timer: apic_timer_fn cannot be watched: no LAPIC timer figures (kvmwatch probe says why)");
		return false;
	}
	if (timer_start(det, plan, pid) ||
	    attach_plan_status(plan, DET_TIMER) == DETECTOR_UNAVAILABLE) {
		timer_stop(det);
		kw_warn("timer: no LAPIC timer figures");
		return false;
	}
	text_lost_figures(stderr, plan, DET_TIMER);
	return true;
}

static int run_top(const struct top_options *o, struct kernel_caps *caps,
		   struct attach_plan *plan)
{
	struct exit_sample base = { 0 }, cur = { 0 }, delta;
	struct timer_sample tbase = { 0 }, tcur = { 0 }, tdelta = { 0 };
	struct timer_detector timer = { 0 };
	struct exits_detector det;
	char timer_modes[64] = "off";
	bool timer_on;
	unsigned long reports = 0;
	bool stopping = false;
	uint64_t start_ns, next_ns;
	uint32_t exited[EXITED_MAX];
	size_t nexited;
	char modes[64];
	int rc, err;

	if (attach_plan_status(plan, DET_EXITS) == DETECTOR_UNAVAILABLE) {
		kw_warn("exits: kvm:kvm_exit cannot be watched: %s",
			attach_plan_point(plan, DET_EXITS,
					  "kvm_exit")->tracepoint_why);
		return KW_EXIT_UNSUPPORTED;
	}
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);
	if (exits_start(&det, plan, o->pid))
		return KW_EXIT_RUNTIME;
	if (attach_plan_status(plan, DET_EXITS) == DETECTOR_UNAVAILABLE) {
		exits_stop(&det);
		return KW_EXIT_RUNTIME;
	}
	text_lost_figures(stderr, plan, DET_EXITS);
	timer_on = start_timer(&timer, plan, o->pid);
	if (timer_on)
		session_modes(plan, DET_TIMER, timer_modes, sizeof(timer_modes));
	session_modes(plan, DET_EXITS, modes, sizeof(modes));
	fprintf(stderr, "kvmwatch: attached %d programs (exits: %s), %d for the LAPIC timer (timer: %s)\n",
		det.nlinks, modes, timer.nlinks, timer_modes);

	start_ns = monotonic_ns();
	base.ts_ns = start_ns;
	next_ns = start_ns;
	rc = KW_EXIT_OK;
	while (!o->iterations || reports < o->iterations) {
		next_ns += (uint64_t)(o->interval_sec * 1e9);
		stopping = stop_before(next_ns);
		/* Per interval, threads gone before this read are forgotten
		 * after it; -c keeps everything for its totals. */
		nexited = o->cumulative ? 0 :
			exits_find_exited(&base, exited, EXITED_MAX);
		err = exits_sample(&det, &cur);
		if (!err && timer_on)
			err = timer_sample(&timer, &tcur);
		if (!err && !o->cumulative)
			err = exit_sample_delta(&base, &cur, &delta);
		if (!err && !o->cumulative && timer_on) {
			err = timer_sample_delta(&tbase, &tcur, &tdelta);
			if (err)
				exit_sample_free(&delta);
		}
		if (err) {
			kw_warn("reading the BPF maps failed: %s", strerror(-err));
			rc = KW_EXIT_RUNTIME;
			break;
		}
		if (o->cumulative) {
			err = emit_report(o, caps, plan, &cur,
					  timer_on ? &tcur : NULL,
					  (cur.ts_ns - start_ns) / 1e9);
		} else {
			err = emit_report(o, caps, plan, &delta,
					  timer_on ? &tdelta : NULL,
					  (cur.ts_ns - base.ts_ns) / 1e9);
			exit_sample_free(&delta);
			timer_sample_free(&tdelta);
			exits_forget(&det, exited, nexited);
		}
		exit_sample_free(&base);
		base = cur;
		memset(&cur, 0, sizeof(cur));
		timer_sample_free(&tbase);
		tbase = tcur;
		memset(&tcur, 0, sizeof(tcur));
		if (err) {
			/* stdout closed (a pager quit): not worth a complaint. */
			rc = err == -EIO ? KW_EXIT_OK : KW_EXIT_RUNTIME;
			break;
		}
		reports++;
		if (stopping)
			break;
	}
	exit_sample_free(&base);
	timer_sample_free(&tbase);
	if (timer_on)
		timer_stop(&timer);
	exits_stop(&det);
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
	rc = session_prepare(&caps, &plan, 1u << DET_EXITS | 1u << DET_TIMER);
	if (rc == KW_EXIT_OK)
		rc = run_top(&o, &caps, &plan);
	caps_release(&caps);
	return rc;
}
