// SPDX-License-Identifier: GPL-2.0
/* kvmwatch record: every detector's metrics over a run, into a file that
 * `check --baseline` compares later runs with (docs/record-schema.md). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "gate/record_file.h"
#include "core/runner.h"
#include "core/session.h"
#include "gate/workload.h"

struct record_options {
	const char *path;
	double duration_sec;
	char **command;
	unsigned long pid;
};

static void record_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch record -o FILE [-d SEC | -- COMMAND ARGS...] [-p PID]\n"
		"  -o, --output FILE     write the record there (atomically: a temporary\n"
		"                        file renamed over FILE once complete)\n"
		"  -d, --duration SEC    watch SEC seconds\n"
		"  -- COMMAND ARGS...    run COMMAND (the workload) once attached, watch\n"
		"                        until it ends; its exit status is recorded\n"
		"                        (default, neither: until SIGINT)\n"
		"  -p, --pid PID         watch only the VMM process PID\n"
		"Every detector that can run here is recorded; compare a later run with\n"
		"'kvmwatch check --baseline FILE'. Exit status: 0 written, 2 usage,\n"
		"3 permission, 4 no detector can run, 5 runtime error or interrupted.\n");
}

static int parse_record_options(int argc, char **argv, struct record_options *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *dir;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+o:d:p:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			o->path = optarg;
			break;
		case 'd':
			if (opt_seconds("record", "--duration", optarg, &o->duration_sec))
				return KW_EXIT_USAGE;
			break;
		case 'p':
			if (opt_pid("record", optarg, &o->pid))
				return KW_EXIT_USAGE;
			break;
		case 'h':
			record_usage(stdout);
			exit(KW_EXIT_OK);
		default:
			record_usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (opt_command("record", argc, argv, optind, &o->command))
		return KW_EXIT_USAGE;
	if (!o->path) {
		kw_warn("record: say where with -o FILE");
		record_usage(stderr);
		return KW_EXIT_USAGE;
	}
	if (o->command && o->duration_sec > 0) {
		kw_warn("record: --duration and -- COMMAND exclude each other");
		return KW_EXIT_USAGE;
	}
	/* Find out now, not after a long run, that it cannot be written. */
	dir = strdup(o->path);
	if (!dir)
		return KW_EXIT_RUNTIME;
	if (access(dirname(dir), W_OK)) {
		kw_warn("record: cannot write into the directory of %s: %s",
			o->path, strerror(errno));
		free(dir);
		return KW_EXIT_USAGE;
	}
	free(dir);
	return KW_EXIT_OK;
}

static int run_record(const struct record_options *o,
		      struct attach_plan *plan)
{
	struct workload_run run;
	struct record rec;
	struct runner r;
	enum detector_id det;
	char error[512];
	sigset_t signals;
	unsigned int mask = 0;
	json_t *doc;
	int rc, err;
	size_t nran = 0;

	workload_block_signals(&signals);
	for (det = 0; det < DET_COUNT; det++)
		mask |= 1u << det;
	err = runner_start(&r, plan, mask, 0, o->pid);
	if (err)
		return KW_EXIT_RUNTIME;
	for (det = 0; det < DET_COUNT; det++)
		nran += runner_on(&r, det);
	if (!nran) {
		kw_warn("record: no detector can run here (kvmwatch probe says why)");
		runner_stop(&r);
		return KW_EXIT_UNSUPPORTED;
	}
	runner_announce(&r, stderr);
	rc = workload_watch("record", o->command, o->duration_sec, &signals,
			    &run);
	if (rc != KW_EXIT_OK)
		goto out;
	/* Without a duration or a command, SIGINT is the normal end. */
	if (run.interrupted && (o->command || o->duration_sec > 0)) {
		kw_warn("record: interrupted after %.2f s: no record written (%s is as it was)",
			run.elapsed_sec, o->path);
		rc = KW_EXIT_RUNTIME;
		goto out;
	}
	err = runner_read(&r, false);
	if (!err)
		err = record_from_runner(&rec, &r, o->command, &run);
	if (err) {
		kw_warn("record: reading the BPF maps failed: %s", strerror(-err));
		rc = KW_EXIT_RUNTIME;
		goto out;
	}
	if (o->command && rec.command_exit != 0)
		kw_warn("record: %s did not exit 0 (status %d): recorded anyway, and a comparison will say so",
			o->command[0], rec.command_exit);
	doc = record_to_json(&rec);
	err = doc ? record_write_atomic(o->path, doc, error, sizeof(error)) :
		-ENOMEM;
	json_decref(doc);
	if (err) {
		kw_warn("record: %s", err == -ENOMEM ? "out of memory" : error);
		rc = KW_EXIT_RUNTIME;
	} else {
		fprintf(stderr, "kvmwatch: recorded %zu metrics of %zu detectors over %.2f s into %s\n",
			rec.metrics.count, nran, rec.duration_sec, o->path);
	}
	record_free(&rec);
out:
	runner_stop(&r);
	return rc;
}

int cmd_record(int argc, char **argv)
{
	struct record_options o = { 0 };
	struct kernel_caps caps;
	struct attach_plan plan;
	unsigned int mask = 0;
	enum detector_id det;
	int rc;

	rc = parse_record_options(argc, argv, &o);
	if (rc)
		return rc;
	for (det = 0; det < DET_COUNT; det++)
		mask |= 1u << det;
	rc = session_prepare(&caps, &plan, mask);
	if (rc == KW_EXIT_OK)
		rc = run_record(&o, &plan);
	caps_release(&caps);
	return rc;
}
