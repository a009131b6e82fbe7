// SPDX-License-Identifier: GPL-2.0
/* kvmwatch's own options (-v, -m, -P, -V, -h) and its commands' table. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/attach.h"
#include "core/points.h"
#include "options.h"

void kvmwatch_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch [-v] [-m MODE] [-P POINT]... COMMAND [OPTIONS]\n"
		"\n"
		"commands:\n"
		"  probe [-o text|json]   what this kernel lets kvmwatch observe, per detector\n"
		"  top [-b] [-c] [-d SEC] [-n COUNT] [-p PID] [-g NAME] [-o text|json]\n"
		"                         exits per VM and per vCPU, by reason;\n"
		"                         LAPIC timers, MMIO paths, teardowns and PMU\n"
		"                         switches; interactive on a terminal\n"
		"  check --lockup|--mmio|--teardown|--pmu|--all\n"
		"        [--duration SEC | -- COMMAND ARGS...]\n"
		"                         watch, then a PASS/FAIL verdict per rule\n"
		"  check --baseline FILE [--rules FILE] [--tolerance METRIC=V]...\n"
		"                         compare this run with a recorded one\n"
		"  record -o FILE [--duration SEC | -- COMMAND ARGS...]\n"
		"                         every detector's metrics into a baseline file\n"
		"  export --listen ADDR:PORT | --textfile PATH\n"
		"                         the metrics for Prometheus\n"
		"  help                   this text\n"
		"\n"
		"options:\n"
		"  -v, --verbose          also print libbpf's messages\n"
		"  -m, --mode MODE        use at most MODE: fentry (default), kprobe or\n"
		"                         tracepoint (also KVMWATCH_MODE=MODE)\n"
		"  -P, --point NAME       also watch the opt-in probe point NAME (kvmwatch\n"
		"                         probe lists them; they cost enough to change\n"
		"                         what they measure)\n"
		"  -V, --version          print the version\n"
		"-v, -m and -P may also follow the command: kvmwatch top -m tracepoint.\n"
		"\n"
		"'kvmwatch COMMAND -h' describes a command; see kvmwatch(8).\n");
}

const struct kvmwatch_command *kvmwatch_command(const char *name)
{
	static const struct kvmwatch_command commands[] = {
		{ "probe", cmd_probe, cmd_probe_parse },
		{ "top", cmd_top, cmd_top_parse },
		{ "check", cmd_check, cmd_check_parse },
		{ "record", cmd_record, cmd_record_parse },
		{ "export", cmd_export, cmd_export_parse },
	};
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* kvmwatch's own options, as each command's getopt takes them too. */
static const struct option global_options[] = { GLOBAL_LONGOPTS };

bool opt_is_global(int opt)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(global_options); i++)
		if (opt == global_options[i].val)
			return true;
	return false;
}

int opt_global(int opt, const char *arg)
{
	int err;

	switch (opt) {
	case 'v':
		kw_verbose = true;
		return KW_EXIT_OK;
	case 'm':
		if (parse_attach_mode(arg, &attach_mode_limit)) {
			kw_warn("unknown attach mode '%s' (fentry, kprobe or tracepoint)",
				arg);
			return KW_EXIT_USAGE;
		}
		return KW_EXIT_OK;
	case 'P':
		err = points_opt_in(arg);
		if (err) {
			kw_warn(err == -ENOENT ?
				"no probe point '%s' (kvmwatch probe lists them)" :
				"probe point '%s' is always watched; --point names an opt-in one",
				arg);
			return KW_EXIT_USAGE;
		}
		return KW_EXIT_OK;
	}
	return KW_EXIT_USAGE;
}

/* argv[arg] as one of kvmwatch's own options ("-m", "--mode"): its
 * letter, or 0. */
static int global_option_of(const char *arg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(global_options); i++)
		if ((arg[0] == '-' && arg[1] == global_options[i].val &&
		     !arg[2]) ||
		    (!strncmp(arg, "--", 2) &&
		     !strcmp(arg + 2, global_options[i].name)))
			return global_options[i].val;
	return 0;
}

int parse_global_options(int argc, char **argv, int *command_at)
{
	const char *mode = getenv("KVMWATCH_MODE");
	int arg = 1, opt;

	if (mode && *mode && opt_global('m', mode))
		return KW_EXIT_USAGE;
	for (; arg < argc && argv[arg][0] == '-'; arg++) {
		opt = global_option_of(argv[arg]);
		if (opt == 'v') {
			kw_verbose = true;
		} else if (opt) {
			if (++arg == argc) {
				kw_warn(opt == 'm' ?
					"%s needs a mode: fentry, kprobe or tracepoint" :
					"%s needs a probe point name (kvmwatch probe lists them)",
					argv[arg - 1]);
				return KW_EXIT_USAGE;
			}
			if (opt_global(opt, argv[arg]))
				return KW_EXIT_USAGE;
		} else if (!strcmp(argv[arg], "-V") ||
			   !strcmp(argv[arg], "--version")) {
			printf("kvmwatch %s\n", KVMWATCH_VERSION);
			return OPTIONS_SHOWN;
		} else if (!strcmp(argv[arg], "-h") ||
			   !strcmp(argv[arg], "--help")) {
			kvmwatch_usage(stdout);
			return OPTIONS_SHOWN;
		} else {
			kw_warn("unknown option '%s'", argv[arg]);
			kvmwatch_usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (arg == argc) {
		kvmwatch_usage(stderr);
		return KW_EXIT_USAGE;
	}
	if (!strcmp(argv[arg], "help")) {
		kvmwatch_usage(stdout);
		return OPTIONS_SHOWN;
	}
	*command_at = arg;
	return KW_EXIT_OK;
}
