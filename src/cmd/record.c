// SPDX-License-Identifier: GPL-2.0
/* kvmwatch record: every detector's metrics over a run, into a file that
 * `check --baseline` compares later runs with (docs/record-schema.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "core/files.h"
#include "options.h"
#include "gate/record_file.h"
#include "core/runner.h"
#include "core/scope.h"
#include "core/session.h"
#include "gate/workload.h"

struct record_options {
	const char *path;
	double duration_sec;
	char **command;
	unsigned long pid;
	const char *guest;	/* -g: NULL for every VM */
	bool allow_command_failure;
	const char *command_output;
	bool all_vms;
	unsigned long repeats;	/* runs of the workload, one attach */
};

static void record_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch record -o FILE [-d SEC | -- COMMAND ARGS...] [-p PID] [-g NAME]\n"
		"                       [--allow-command-failure] [--command-output FILE]\n"
		"                       [--all-vms] [--repeat N]\n"
		"  -o, --output FILE     write the record there (atomically: a temporary\n"
		"                        file renamed over FILE once complete)\n"
		"  -d, --duration SEC    watch SEC seconds\n"
		"  -- COMMAND ARGS...    run COMMAND (the workload) once attached, watch\n"
		"                        until it ends; its exit status is recorded\n"
		"                        (default, neither: until SIGINT)\n"
		"  -p, --pid PID         watch only the VMM process PID\n"
		GUEST_HELP
		"  --allow-command-failure  record even when COMMAND fails\n"
		"  --command-output FILE COMMAND's stdout and stderr go to FILE\n"
		"  --all-vms             with -- COMMAND, record every VM on the host, not\n"
		"                        only those COMMAND's processes create\n"
		"  --repeat N            run COMMAND N times (2 to 100) in one attach: the\n"
		"                        record adds them up and keeps how far each metric\n"
		"                        moved between runs, which a comparison allows\n"
		GLOBAL_OPTIONS_HELP
		"Every detector that can run here is recorded; compare a later run with\n"
		"'kvmwatch check --baseline FILE'. Exit status: 0 written, 2 usage,\n"
		"3 permission, 4 no detector can run, 5 runtime error or interrupted,\n"
		"7 COMMAND failed (nothing written: a failed run is no baseline).\n");
}

static int parse_record_options(int argc, char **argv, struct record_options *o)
{
	enum { OPT_ALLOW_FAILURE = 256, OPT_COMMAND_OUTPUT, OPT_ALL_VMS,
	       OPT_REPEAT };
	static const struct option longopts[] = {
		{ "allow-command-failure", no_argument, NULL, OPT_ALLOW_FAILURE },
		{ "command-output", required_argument, NULL, OPT_COMMAND_OUTPUT },
		{ "all-vms", no_argument, NULL, OPT_ALL_VMS },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "guest", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char error[512];
	int opt;

	o->repeats = 1;
	optind = 0;	/* all of getopt's state, not only its index */
	while ((opt = getopt_long(argc, argv, "+" GLOBAL_SHORTOPTS "o:d:p:hg:",
				  longopts, NULL)) != -1) {
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
		case 'g':
			if (opt_guest("record", optarg, &o->guest))
				return KW_EXIT_USAGE;
			break;
		case OPT_ALLOW_FAILURE:
			o->allow_command_failure = true;
			break;
		case OPT_COMMAND_OUTPUT:
			o->command_output = optarg;
			break;
		case OPT_ALL_VMS:
			o->all_vms = true;
			break;
		case OPT_REPEAT:
			if (opt_count("record", "--repeat", optarg,
				      RECORD_MAX_REPEATS, &o->repeats))
				return KW_EXIT_USAGE;
			break;
		case 'h':
			record_usage(stdout);
			return OPTIONS_SHOWN;
		default:
			if (opt_is_global(opt)) {
				if (opt_global(opt, optarg))
					return KW_EXIT_USAGE;
				break;
			}
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
	if ((o->command_output || o->all_vms) && !o->command) {
		kw_warn("record: --command-output and --all-vms go with -- COMMAND (without one, every VM is watched)");
		return KW_EXIT_USAGE;
	}
	if (o->repeats > 1 && !o->command) {
		kw_warn("record: --repeat goes with -- COMMAND: a run is one run of the workload");
		return KW_EXIT_USAGE;
	}
	/* Find out now, not after a long run, that it cannot be written. */
	if (output_path_check(o->path, error, sizeof(error))) {
		kw_warn("record: -o: %s", error);
		return KW_EXIT_USAGE;
	}
	return KW_EXIT_OK;
}

/* One run of the workload into rec. Repeated runs are read as intervals
 * of one attach, each from the read before it. */
static int record_one_run(const struct record_options *o, struct runner *r,
			  sigset_t *signals, int output_fd, struct record *rec)
{
	bool repeated = o->repeats > 1;
	struct workload_run run;
	char failure[96];
	int rc, err;

	if (repeated && (err = runner_read(r, true)))
		goto read_failed;
	rc = workload_watch("record", o->command, o->duration_sec, output_fd,
			    scope_map_fd() >= 0 ? scope_add : NULL, signals,
			    &run);
	if (rc != KW_EXIT_OK)
		return rc;
	if (workload_failed(&run)) {
		workload_describe(&run, failure, sizeof(failure));
		if (!o->allow_command_failure) {
			kw_warn("record: %s %s: a failed run is no baseline, nothing written (%s is as it was; --allow-command-failure records it anyway)",
				o->command[0], failure, o->path);
			return KW_EXIT_COMMAND_FAILED;
		}
		kw_warn("record: %s %s: recorded anyway (--allow-command-failure), and a comparison will say so",
			o->command[0], failure);
	}
	/* Without a duration or a command, SIGINT is the normal end. */
	if (run.interrupted && (o->command || o->duration_sec > 0)) {
		kw_warn("record: interrupted after %.2f s: no record written (%s is as it was)",
			run.elapsed_sec, o->path);
		return KW_EXIT_RUNTIME;
	}
	err = runner_read(r, repeated);
	if (!err)
		err = record_from_runner(rec, r, o->command, &run);
	if (!err)
		return KW_EXIT_OK;
read_failed:
	kw_warn("record: reading the BPF maps failed: %s", strerror(-err));
	return KW_EXIT_RUNTIME;
}

/* The runs, made into one record when there are several. */
static int record_runs(const struct record_options *o, struct runner *r,
		       sigset_t *signals, int output_fd, struct record *rec)
{
	struct record *runs = calloc(o->repeats, sizeof(*runs));
	unsigned long i, done = 0;
	int rc = KW_EXIT_OK;

	if (!runs)
		return KW_EXIT_RUNTIME;
	for (i = 0; i < o->repeats; i++) {
		rc = record_one_run(o, r, signals, output_fd, &runs[i]);
		if (rc != KW_EXIT_OK)
			break;
		done++;
		if (o->repeats > 1)
			fprintf(stderr, "kvmwatch: run %lu of %lu: %.2f s\n",
				done, o->repeats, runs[i].duration_sec);
	}
	if (rc == KW_EXIT_OK && o->repeats == 1) {
		*rec = runs[0];
	} else if (rc == KW_EXIT_OK) {
		if (record_merge_runs(rec, runs, done)) {
			kw_warn("record: out of memory");
			rc = KW_EXIT_RUNTIME;
		}
		done = 0;	/* the merge took them */
	}
	for (i = 0; rc != KW_EXIT_OK && i < done; i++)
		record_free(&runs[i]);
	free(runs);
	return rc;
}

static int run_record(const struct record_options *o,
		      struct attach_plan *plan)
{
	struct record rec;
	struct runner r;
	enum detector_id det;
	char error[512];
	sigset_t signals;
	unsigned int mask = 0;
	json_t *doc;
	int rc, err, output_fd = -1;
	size_t nran = 0;

	if (o->command_output) {
		output_fd = workload_open_output("record", o->command_output);
		if (output_fd < 0)
			return KW_EXIT_USAGE;
	}
	workload_block_signals(&signals);
	for (det = 0; det < DET_COUNT; det++)
		mask |= 1u << det;
	rc = workload_scope_open("record", o->command, o->all_vms);
	if (rc != KW_EXIT_OK) {
		if (output_fd >= 0)
			close(output_fd);
		return rc;
	}
	err = runner_start(&r, plan, mask, 0, o->pid, o->guest);
	if (err) {
		if (output_fd >= 0)
			close(output_fd);
		scope_close();
		return KW_EXIT_RUNTIME;
	}
	for (det = 0; det < DET_COUNT; det++)
		nran += runner_on(&r, det);
	if (!nran) {
		kw_warn("record: no detector can run here (kvmwatch probe says why)");
		rc = KW_EXIT_UNSUPPORTED;
		goto out;
	}
	runner_announce(&r, stderr);
	rc = record_runs(o, &r, &signals, output_fd, &rec);
	if (rc != KW_EXIT_OK)
		goto out;
	doc = record_to_json(&rec);
	err = doc ? record_write_atomic(o->path, doc, error, sizeof(error)) :
		-ENOMEM;
	json_decref(doc);
	if (err) {
		kw_warn("record: %s", err == -ENOMEM ? "out of memory" : error);
		rc = KW_EXIT_RUNTIME;
	} else {
		fprintf(stderr, "kvmwatch: recorded %zu metrics of %zu detectors over %.2f s%s into %s\n",
			rec.metrics.count, nran, rec.duration_sec,
			rec.runs > 1 ? " of repeated runs" : "", o->path);
	}
	record_free(&rec);
out:
	runner_stop(&r);
	scope_close();
	if (output_fd >= 0)
		close(output_fd);
	return rc;
}

int cmd_record_parse(int argc, char **argv)
{
	struct record_options o = { 0 };

	return parse_record_options(argc, argv, &o);
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
		return rc == OPTIONS_SHOWN ? KW_EXIT_OK : rc;
	for (det = 0; det < DET_COUNT; det++)
		mask |= 1u << det;
	rc = session_prepare(&caps, &plan, mask);
	if (rc == KW_EXIT_OK)
		rc = run_record(&o, &plan);
	caps_release(&caps);
	return rc;
}
