// SPDX-License-Identifier: GPL-2.0
/* kvmwatch check: watch for a while, then a verdict per rule. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gate/check.h"
#include "gate/check_baseline.h"
#include "gate/junit.h"
#include "commands.h"
#include "core/files.h"
#include "options.h"
#include "core/json_figures.h"
#include "views/probe_report.h"
#include "core/session.h"
#include "core/runner.h"
#include "core/scope.h"
#include "gate/workload.h"

struct check_options {
	bool groups[CHECK_MAX_GROUPS];	/* by index in check_groups */
	double duration_sec;		/* 0: until COMMAND ends or SIGINT */
	char **command;			/* after "--", or NULL */
	enum output_format format;
	const char *junit;
	unsigned long pid;
	const char *guest;	/* -g: NULL for every VM */
	double thresholds[CHECK_MAX_RULES];	/* by check_rule_at() index */
	bool expect_fast_mmio;
	bool all;	/* --all: a group whose detector cannot run is skipped */
	bool threshold_set[CHECK_MAX_RULES];	/* by --threshold */
	bool allow_command_failure;
	const char *command_output;	/* --command-output FILE */
	bool all_vms;			/* -- COMMAND judges every VM */
	struct check_baseline baseline;	/* --baseline, --rules, --tolerance */
};

static void check_usage(FILE *out)
{
	const struct check_rule_group *const *g;
	size_t i, n = check_rule_count();

	fprintf(out, "usage: kvmwatch check --GROUP...|--all [--duration SEC | -- COMMAND ARGS...]\n"
		"                      [-o text|json] [--junit FILE] [-p PID] [-g NAME]\n"
		"                      [--threshold RULE=VALUE]... [--expect-fast-mmio]\n"
		"                      [--baseline FILE [--tolerance METRIC=V]... [--normalise N]]\n"
		"                      [--rules FILE] [--allow-command-failure]\n"
		"                      [--command-output FILE] [--all-vms]\n"
		"       kvmwatch check --list-rules\n");
	for (g = check_groups(); *g; g++)
		fprintf(out, "  --%-20s%s\n", (*g)->name, (*g)->summary);
	fprintf(out,
		"  --all                 every rule group\n"
		"  -d, --duration SEC    watch SEC seconds (default: until COMMAND ends, or SIGINT)\n"
		"  -- COMMAND ARGS...    run COMMAND once attached, watch until it ends\n"
		"  -o, --output FMT      text (default) or json\n"
		"  --junit FILE          also write the verdicts as JUnit XML\n"
		"  -p, --pid PID         watch only the VMM process PID\n"
		GUEST_HELP
		"  --threshold RULE=V    override one rule's threshold\n"
		"  --expect-fast-mmio    fail, not note, a kernel without a fast MMIO path\n"
		"  --baseline FILE       compare every metric with a record (kvmwatch record)\n"
		"  --tolerance M=V       allowed change of metric M: 0.1, 10%% or off\n"
		"  --normalise N         counters per workload run, per second (duration)\n"
		"                        or auto (per run when both runs had a workload)\n"
		"  --rules FILE          thresholds and tolerances from a YAML file (docs/ci.md)\n"
		"  --list-rules          the rules, their groups and default thresholds\n"
		"  --allow-command-failure  judge the run even when COMMAND fails\n"
		"  --all-vms             with -- COMMAND, judge every VM on the host, not\n"
		"                        only those COMMAND's processes create\n"
		"  --command-output FILE COMMAND's stdout and stderr go to FILE (with\n"
		"                        -o json they go to stderr, never into the JSON)\n"
		GLOBAL_OPTIONS_HELP
		"exit status: 0 passed (a rule judged the run), 1 a rule failed or a\n"
		"metric regressed, 2 usage, 3 permission, 4 a group cannot run on this\n"
		"kernel or the baseline comparison was refused, 5 runtime error,\n"
		"6 nothing judged (every rule skipped), 7 COMMAND failed\n"
		"rules:");
	for (i = 0; i < n; i++)
		fprintf(out, " %s", check_rule_at(i)->name);
	fputc('\n', out);
}

static void list_rules(FILE *out)
{
	size_t i, n = check_rule_count();

	fprintf(out, "%-24s %-9s %-12s %s\n", "RULE", "GROUP", "DEFAULT",
		"MEASURES");
	for (i = 0; i < n; i++) {
		const struct check_rule *r = check_rule_at(i);
		char def[32];

		snprintf(def, sizeof(def), "%s %g", rule_op_symbol(r->op),
			 r->default_threshold);
		fprintf(out, "%-24s %-9s %-12s %s (%s)\n", r->name, r->group,
			def, r->description, r->unit);
	}
}

static int group_index(const char *name)
{
	const struct check_rule_group *const *g = check_groups();
	int i;

	for (i = 0; g[i]; i++)
		if (!strcmp(g[i]->name, name))
			return i;
	return -1;
}

static bool group_selected(const struct check_options *o,
			   const struct check_rule *rule)
{
	int g = group_index(rule->group);

	return g >= 0 && o->groups[g];
}

static int parse_check_options(int argc, char **argv, struct check_options *o)
{
	enum { OPT_ALL = 256, OPT_JUNIT, OPT_THRESHOLD, OPT_LIST,
	       OPT_EXPECT_FAST_MMIO, OPT_BASELINE, OPT_RULES, OPT_TOLERANCE,
	       OPT_NORMALISE, OPT_ALLOW_FAILURE, OPT_COMMAND_OUTPUT,
	       OPT_ALL_VMS, OPT_GROUP };
	static const struct option fixed[] = {
		{ "all", no_argument, NULL, OPT_ALL },
		{ "expect-fast-mmio", no_argument, NULL, OPT_EXPECT_FAST_MMIO },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "pid", required_argument, NULL, 'p' },
		{ "guest", required_argument, NULL, 'g' },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "list-rules", no_argument, NULL, OPT_LIST },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "tolerance", required_argument, NULL, OPT_TOLERANCE },
		{ "normalise", required_argument, NULL, OPT_NORMALISE },
		{ "normalize", required_argument, NULL, OPT_NORMALISE },
		{ "allow-command-failure", no_argument, NULL, OPT_ALLOW_FAILURE },
		{ "command-output", required_argument, NULL, OPT_COMMAND_OUTPUT },
		{ "all-vms", no_argument, NULL, OPT_ALL_VMS },
		{ "help", no_argument, NULL, 'h' },
		GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const struct check_rule_group *const *groups = check_groups();
	struct option longopts[sizeof(fixed) / sizeof(fixed[0]) +
			       CHECK_MAX_GROUPS];
	const struct check_rule *rule;
	size_t i, ngroups;
	bool any = false;
	char error[512];
	double value;
	int opt;

	/* --GROUP for each rule group of this build, then the rest. */
	for (ngroups = 0; groups[ngroups]; ngroups++)
		longopts[ngroups] = (struct option){ groups[ngroups]->name,
			no_argument, NULL, OPT_GROUP + (int)ngroups };
	memcpy(&longopts[ngroups], fixed, sizeof(fixed));
	for (i = 0; i < check_rule_count(); i++)
		o->thresholds[i] = check_rule_at(i)->default_threshold;
	optind = 0;	/* all of getopt's state, not only its index */
	/* '+': stop at the first non-option, COMMAND's own options are its. */
	while ((opt = getopt_long(argc, argv, "+" GLOBAL_SHORTOPTS "d:o:p:hg:",
				  longopts, NULL)) != -1) {
		if (opt >= OPT_GROUP && opt < OPT_GROUP + (int)ngroups) {
			o->groups[opt - OPT_GROUP] = true;
			any = true;
			continue;
		}
		switch (opt) {
		case OPT_ALL:
			for (i = 0; i < ngroups; i++)
				o->groups[i] = true;
			o->all = true;
			any = true;
			break;
		case OPT_EXPECT_FAST_MMIO:
			o->expect_fast_mmio = true;
			break;
		case 'd':
			if (opt_seconds("check", "--duration", optarg, &o->duration_sec))
				return KW_EXIT_USAGE;
			break;
		case 'o':
			if (opt_output("check", optarg, &o->format))
				return KW_EXIT_USAGE;
			break;
		case OPT_JUNIT:
			o->junit = optarg;
			break;
		case 'p':
			if (opt_pid("check", optarg, &o->pid))
				return KW_EXIT_USAGE;
			break;
		case 'g':
			if (opt_guest("check", optarg, &o->guest))
				return KW_EXIT_USAGE;
			break;
		case OPT_THRESHOLD:
			if (check_parse_threshold(optarg, &rule, &value, error,
						  sizeof(error))) {
				kw_warn("check: %s", error);
				return KW_EXIT_USAGE;
			}
			for (i = 0; check_rule_at(i) != rule; i++)
				;
			o->thresholds[i] = value;
			o->threshold_set[i] = true;
			break;
		case OPT_BASELINE:
			o->baseline.path = optarg;
			break;
		case OPT_RULES:
			o->baseline.rules_path = optarg;
			break;
		case OPT_TOLERANCE:
			if (check_baseline_tolerance(&o->baseline, optarg))
				return KW_EXIT_USAGE;
			break;
		case OPT_NORMALISE:
			if (check_baseline_normalise(&o->baseline, optarg))
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
		case OPT_LIST:
			list_rules(stdout);
			return OPTIONS_SHOWN;
		case 'h':
			check_usage(stdout);
			return OPTIONS_SHOWN;
		default:
			if (opt_is_global(opt)) {
				if (opt_global(opt, optarg))
					return KW_EXIT_USAGE;
				break;
			}
			check_usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (opt_command("check", argc, argv, optind, &o->command))
		return KW_EXIT_USAGE;
	if (check_baseline_prepare(&o->baseline, o->thresholds,
				   o->threshold_set))
		return KW_EXIT_USAGE;
	if (!any && !o->baseline.path) {
		kw_warn("check: say which rules: --GROUP (e.g. --lockup), --all or --baseline FILE");
		check_usage(stderr);
		return KW_EXIT_USAGE;
	}
	if (o->command && o->duration_sec > 0) {
		kw_warn("check: --duration and -- COMMAND exclude each other");
		return KW_EXIT_USAGE;
	}
	if ((o->command_output || o->all_vms) && !o->command) {
		kw_warn("check: --command-output and --all-vms go with -- COMMAND (without one, every VM is watched)");
		return KW_EXIT_USAGE;
	}
	/* Find out now, not after a long watch, that it cannot be written;
	 * an existing file stays as it is until the new one replaces it. */
	if (o->junit && output_path_check(o->junit, error, sizeof(error))) {
		kw_warn("check: --junit: %s", error);
		return KW_EXIT_USAGE;
	}
	return KW_EXIT_OK;
}

/* The detectors the selected groups read, as a mask of 1 << id. */
static unsigned int needed_detectors(const struct check_options *o)
{
	const struct check_rule_group *const *g = check_groups();
	unsigned int mask = 0;
	int i;

	for (i = 0; g[i]; i++)
		if (o->groups[i])
			mask |= 1u << g[i]->detector;
	/* A comparison with a baseline covers every detector. */
	for (i = 0; o->baseline.path && i < DET_COUNT; i++)
		if (detector_implemented(i))
			mask |= 1u << i;
	return mask;
}

static int emit(const struct check_options *o, const struct runner *r,
		const struct check_data *d, const struct workload_run *run,
		const struct rule_result *results, size_t n,
		enum rule_verdict overall)
{
	unsigned int mask = needed_detectors(o);
	json_t *doc, *cmd, *dets, *missed;
	enum detector_id det;
	size_t i;

	if (o->format == OUTPUT_TEXT) {
		printf("kvmwatch check - %s %s %s -", r->caps->release,
		       arch_name(r->caps->arch), vendor_name(r->caps->vendor));
		for (det = 0; det < DET_COUNT; det++)
			if (mask & 1u << det)
				printf(" %s: %s -", detectors[det].name,
				       r->runs[det].modes);
		printf(" %.2f s%s\n", d->duration_sec,
		       run->interrupted ? " (interrupted)" : "");
		for (det = 0; det < DET_COUNT; det++) {
			if (!d->views[det])
				continue;
			r->runs[det].ops->view_text(stdout, d->views[det],
						    r->runs[det].modes);
			fputc('\n', stdout);
		}
		if (n || !o->baseline.compared)
			check_text_verdict(stdout, d, results, n, overall);
		if (o->baseline.compared)
			baseline_text(stdout, &o->baseline.result,
				      &o->baseline.base);
		return fflush(stdout) ? -EIO : 0;
	}
	doc = json_pack("{s:s, s:i, s:s, s:f, s:o, s:f, s:b, s:s, s:o, s:o}",
			"kvmwatch", KVMWATCH_VERSION,
			"schema", KVMWATCH_JSON_SCHEMA,
			"type", "check",
			"time", (double)time(NULL),
			"host", json_host(r->caps),
			"duration_s", d->duration_sec,
			"interrupted", run->interrupted,
			"verdict", rule_verdict_name(overall),
			"rules", check_json_results(results, n),
			"kernel_counters", check_json_counters(d));
	dets = json_object();
	missed = json_object();
	for (det = 0; det < DET_COUNT; det++) {
		const struct detector_ops *ops = r->runs[det].ops;

		if (!(mask & 1u << det))
			continue;
		json_object_set_new(dets, detectors[det].name,
				    json_detector(r->plan, det));
		json_object_set_new(doc, ops->json_key ? ops->json_key :
				    detectors[det].name, d->views[det] ?
				    ops->view_json(d->views[det]) :
				    json_null());
		json_object_set_new(missed, detectors[det].name,
				    d->views[det] ?
				    json_integer(d->missed_runs[det]) :
				    json_null());
	}
	json_object_set_new(doc, "detectors", dets);
	json_object_set_new(doc, "missed_runs", missed);
	if (o->baseline.compared)
		json_object_set_new(doc, "baseline",
				    baseline_json(&o->baseline.result,
						  &o->baseline.base,
						  o->baseline.path));
	if (o->command) {
		cmd = json_array();
		for (i = 0; o->command[i]; i++)
			json_array_append_new(cmd, json_string(o->command[i]));
		json_object_set_new(doc, "command", cmd);
		json_object_set_new(doc, "command_exit",
				    workload_exit_status(run) >= 0 ?
				    json_integer(workload_exit_status(run)) :
				    json_null());
		json_object_set_new(doc, "command_signal",
				    run->command_ran &&
				    WIFSIGNALED(run->command_status) ?
				    json_integer(WTERMSIG(run->command_status)) :
				    json_null());
		json_object_set_new(doc, "command_failed",
				    json_boolean(workload_failed(run)));
		json_object_set_new(doc, "vms", json_string(o->all_vms ?
				    "all" : "command"));
	}
	return json_emit(stdout, doc);
}

static int write_junit(const char *path, const struct rule_result *results,
		       size_t n, double duration, const char *workload_error)
{
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);

	if (!f)
		return -ENOMEM;
	return junit_commit(path, f, &doc, &len,
			    check_write_junit(f, results, n, duration,
					      workload_error));
}

/* A group asked for by name whose detector cannot run here is an
 * unsupported request; under --all it is only skipped, saying why. */
static int refuse_unrunnable(const struct check_options *o,
			     const struct runner *r)
{
	const struct check_rule_group *const *g = check_groups();
	enum detector_status status;
	int i;

	if (o->all)
		return KW_EXIT_OK;
	for (i = 0; g[i]; i++) {
		if (!o->groups[i] || runner_on(r, g[i]->detector))
			continue;
		status = attach_plan_status(r->plan, g[i]->detector);
		if (status == DETECTOR_NOT_APPLICABLE)
			continue;
		kw_warn("check: --%s needs the %s detector, which cannot run here: %s",
			g[i]->name, detectors[g[i]->detector].name,
			r->runs[g[i]->detector].why);
		return r->runs[g[i]->detector].error == -EOPNOTSUPP ?
			KW_EXIT_UNSUPPORTED : KW_EXIT_RUNTIME;
	}
	return KW_EXIT_OK;
}

static int run_check(struct check_options *o, struct kernel_caps *caps,
		     struct attach_plan *plan)
{
	struct rule_result results[CHECK_MAX_RULES];
	struct check_data d = { 0 };
	struct workload_run run = { 0 };
	enum rule_verdict overall;
	enum detector_id det;
	int rc, err, output_fd = -1;
	bool command_failed;
	char failure[96], workload_error[160] = "";
	struct runner r;
	sigset_t signals;
	size_t i, n = 0;

	if (o->command_output) {
		output_fd = workload_open_output("check", o->command_output);
		if (output_fd < 0)
			return KW_EXIT_USAGE;
	} else if (o->command && o->format == OUTPUT_JSON) {
		output_fd = STDERR_FILENO;
	}
	workload_block_signals(&signals);
	rc = workload_scope_open("check", o->command, o->all_vms);
	if (rc != KW_EXIT_OK) {
		if (o->command_output && output_fd >= 0)
			close(output_fd);
		return rc;
	}
	err = runner_start(&r, plan, needed_detectors(o), 0, o->pid, o->guest);
	if (err) {
		if (o->command_output && output_fd >= 0)
			close(output_fd);
		scope_close();
		return KW_EXIT_RUNTIME;
	}
	rc = refuse_unrunnable(o, &r);
	if (rc != KW_EXIT_OK)
		goto out;
	runner_announce(&r, stderr);

	d.caps = caps;
	d.plan = plan;
	d.expect_fast_mmio = o->expect_fast_mmio;
	check_read_counters(&d, false);
	d.start_mono_ns = monotonic_ns();
	d.start_epoch = time(NULL);
	rc = workload_watch("check", o->command, o->duration_sec, output_fd,
			    scope_map_fd() >= 0 ? scope_add : NULL, &signals,
			    &run);
	check_read_counters(&d, true);
	d.duration_sec = run.elapsed_sec;
	if (rc != KW_EXIT_OK)
		goto out;
	err = runner_read(&r, false);
	if (err) {
		kw_warn("reading the BPF maps failed: %s", strerror(-err));
		rc = KW_EXIT_RUNTIME;
		goto out;
	}
	for (det = 0; det < DET_COUNT; det++) {
		d.views[det] = runner_view(&r, det);
		d.why[det] = r.runs[det].why[0] ? r.runs[det].why : NULL;
		d.missed_runs[det] = runner_missed_runs(&r, det);
	}
	for (i = 0; i < check_rule_count(); i++)
		if (group_selected(o, check_rule_at(i)))
			check_evaluate(check_rule_at(i), o->thresholds[i], &d,
				       &results[n++]);
	overall = check_overall(results, n);
	command_failed = workload_failed(&run);
	if (command_failed) {
		workload_describe(&run, failure, sizeof(failure));
		if (o->allow_command_failure)
			kw_warn("check: %s %s: judged anyway (--allow-command-failure)",
				o->command[0], failure);
		else
			kw_warn("check: %s %s: the run is no evidence%s (exit 7; --allow-command-failure judges it anyway)",
				o->command[0], failure,
				overall == VERDICT_FAIL ?
				", but what failed was seen" : "");
	}
	/* A failed workload is no PASS: the verdict line says ERROR. */
	if (command_failed && !o->allow_command_failure &&
	    overall != VERDICT_FAIL)
		overall = VERDICT_ERROR;
	if (command_failed && !o->allow_command_failure)
		snprintf(workload_error, sizeof(workload_error),
			 "%s %s: the run is no evidence (exit 7)",
			 o->command[0], failure);
	if (o->baseline.path) {
		/* SIGINT ends a plain run; with a duration or a command it
		 * cuts the run short, and a partial run is not compared. */
		struct workload_run wr = {
			.elapsed_sec = run.elapsed_sec,
			.interrupted = run.interrupted &&
				(o->command || o->duration_sec > 0),
			.command_ran = run.command_ran,
			.command_status = run.command_status,
		};

		rc = check_baseline_compare(&o->baseline, &r, o->command, &wr);
		if (rc != KW_EXIT_OK)
			goto out;
	}
	if (emit(o, &r, &d, &run, results, n, overall)) {
		rc = KW_EXIT_RUNTIME;
		goto out;
	}
	if (o->junit && o->baseline.compared) {
		char *doc = NULL;
		size_t len = 0;
		FILE *f = n || workload_error[0] ?
			open_memstream(&doc, &len) : NULL;

		if (f) {
			check_write_junit(f, results, n, d.duration_sec,
					  workload_error[0] ? workload_error :
					  NULL);
			fclose(f);
		}
		err = check_baseline_write_junit(&o->baseline, o->junit, doc,
						 d.duration_sec);
		free(doc);
		if (err) {
			rc = KW_EXIT_RUNTIME;
			goto out;
		}
	} else if (o->junit && write_junit(o->junit, results, n,
					   d.duration_sec, workload_error[0] ?
					   workload_error : NULL)) {
		rc = KW_EXIT_RUNTIME;
		goto out;
	}
	rc = check_exit_code(overall, command_failed,
			     o->allow_command_failure);
	if (o->baseline.compared) {
		rc = check_baseline_exit(&o->baseline,
					 n ? rc : overall == VERDICT_ERROR ?
					 KW_EXIT_COMMAND_FAILED : -1);
		if (rc == KW_EXIT_OK && command_failed &&
		    !o->allow_command_failure)
			rc = KW_EXIT_COMMAND_FAILED;
	}
out:
	runner_stop(&r);
	scope_close();
	if (o->command_output && output_fd >= 0)
		close(output_fd);
	return rc;
}

int cmd_check_parse(int argc, char **argv)
{
	struct check_options o = { 0 };
	int rc = parse_check_options(argc, argv, &o);

	check_baseline_free(&o.baseline);
	return rc;
}

int cmd_check(int argc, char **argv)
{
	struct check_options o = { 0 };
	struct kernel_caps caps;
	struct attach_plan plan;
	unsigned int mask = 0;
	int rc;

	rc = parse_check_options(argc, argv, &o);
	if (rc) {
		check_baseline_free(&o.baseline);
		return rc == OPTIONS_SHOWN ? KW_EXIT_OK : rc;
	}
	mask = needed_detectors(&o);
	rc = session_prepare(&caps, &plan, mask);
	if (rc == KW_EXIT_OK)
		rc = run_check(&o, &caps, &plan);
	caps_release(&caps);
	check_baseline_free(&o.baseline);
	return rc;
}
