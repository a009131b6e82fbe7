// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload's command line: the scenario, its options and their ranges
 * (docs/kvmload.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "kvm_util.h"
#include "teardown.h"

#define MAX_VCPUS	64
#define MAX_WRITES	1000000000ul
#define MAX_PERIOD_US	1000000u
#define MAX_SECONDS	3600.0
/* Keeps an x86 teardown slot below the MMIO hole at 3.25 GiB. */
#define MAX_MEM_MIB	3072u
#define MAX_ITERATIONS	1000000000ul
#define MAX_MEMSLOT_CYCLES	1000u

static const char *const scenario_names[] = {
	[SCENARIO_MMIO] = "mmio",
	[SCENARIO_TIMER] = "timer",
	[SCENARIO_TEARDOWN] = "teardown",
	[SCENARIO_PMU] = "pmu",
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: kvmload SCENARIO [--vms V] [--vcpus C] [scenario options]\n"
"\n"
"Run V VMs (one process each) with C vCPU threads each on /dev/kvm and\n"
"print what they did as one JSON document on stdout.\n"
"\n"
"scenarios:\n"
"  mmio     [-n N]             each vCPU writes N times to a fast-MMIO\n"
"                              ioeventfd, a datamatch ioeventfd and an\n"
"                              unbacked GPA (default N=1000)\n"
"  timer    [--period-us P] [--seconds S]\n"
"                              periodic guest timer every P us for S s\n"
"                              (defaults P=1000, S=2)\n"
"  teardown [--mem-mib M] [--teardown-order O] [--competitor-cpu N]\n"
"           [--memslot-cycles N] [--wait-file PATH]\n"
"                              touch every 4 KiB page of an M MiB slot,\n"
"                              then time the VM's destruction (M=64);\n"
"                              O: vm-first (default: the VM goes with its\n"
"                              memory mapped, as when a VMM exits),\n"
"                              munmap-first, exit or kill (SIGKILL);\n"
"                              N: destroy on CPU N\n"
"                              beside a CPU-bound process pinned there;\n"
"                              --memslot-cycles N: first delete and re-add\n"
"                              each memory slot N times (no teardown);\n"
"                              --wait-file PATH: with the pages touched,\n"
"                              wait until PATH exists (an observer\n"
"                              attaching to a running VM)\n"
"  pmu      [-k K]             program and read PMU counters K times\n"
"                              (default K=1000)\n"
"\n"
"options:\n"
"  --vms V        VMs, each in its own process (1..%d, default 1)\n"
"  --vcpus C      vCPUs per VM, one thread each (1..%d, default 1)\n"
"  -name VALUE    as QEMU's (guest=NAME,debug-threads=on): kept on the\n"
"                 command line, where tools that name VMs read it\n"
"  -h, --help     show this help\n",
		MAX_VMS, MAX_VCPUS);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kvmload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	usage(stderr);
	exit(2);
}

static unsigned long parse_count(const char *opt, const char *arg,
				 unsigned long max)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(arg, &end, 10);
	/* strtoul accepts "-1"; a count must be plain digits. */
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || value < 1 ||
	    value > max)
		usage_error("%s wants a whole number from 1 to %lu, not '%s'",
			    opt, max, arg);
	return value;
}

/* A CPU number: plain digits, 0 allowed. */
static int parse_cpu(const char *opt, const char *arg)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || value > 4095)
		usage_error("%s wants a CPU number from 0 to 4095, not '%s'",
			    opt, arg);
	return (int)value;
}

static double parse_seconds(const char *opt, const char *arg)
{
	double value;
	char *end;

	errno = 0;
	value = strtod(arg, &end);
	if (end == arg || *end || errno || !isfinite(value) || value <= 0 ||
	    value > MAX_SECONDS)
		usage_error("%s wants seconds above 0 and up to %g, not '%s'",
			    opt, MAX_SECONDS, arg);
	return value;
}

enum {
	OPT_VMS = 256, OPT_VCPUS, OPT_PERIOD_US, OPT_SECONDS, OPT_MEM_MIB,
	OPT_TEARDOWN_ORDER, OPT_COMPETITOR_CPU, OPT_MEMSLOT_CYCLES,
	OPT_WAIT_FILE,
};

/* The scenario each scenario-specific option belongs to. */
static const struct {
	int opt;
	int scenario;
	const char *name;
} scenario_options[] = {
	{ 'n', SCENARIO_MMIO, "-n" },
	{ OPT_PERIOD_US, SCENARIO_TIMER, "--period-us" },
	{ OPT_SECONDS, SCENARIO_TIMER, "--seconds" },
	{ OPT_MEM_MIB, SCENARIO_TEARDOWN, "--mem-mib" },
	{ OPT_TEARDOWN_ORDER, SCENARIO_TEARDOWN, "--teardown-order" },
	{ OPT_COMPETITOR_CPU, SCENARIO_TEARDOWN, "--competitor-cpu" },
	{ OPT_MEMSLOT_CYCLES, SCENARIO_TEARDOWN, "--memslot-cycles" },
	{ OPT_WAIT_FILE, SCENARIO_TEARDOWN, "--wait-file" },
	{ 'k', SCENARIO_PMU, "-k" },
};

static int option_scenario(int opt, const char **name)
{
	for (size_t i = 0; i < sizeof(scenario_options) /
			       sizeof(*scenario_options); i++)
		if (scenario_options[i].opt == opt) {
			*name = scenario_options[i].name;
			return scenario_options[i].scenario;
		}
	return -1;
}

void kvmload_parse_args(int argc, char **argv, struct kvmload_opts *o)
{
	static const struct option longopts[] = {
		{ "vms", required_argument, NULL, OPT_VMS },
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "period-us", required_argument, NULL, OPT_PERIOD_US },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "mem-mib", required_argument, NULL, OPT_MEM_MIB },
		{ "teardown-order", required_argument, NULL, OPT_TEARDOWN_ORDER },
		{ "competitor-cpu", required_argument, NULL, OPT_COMPETITOR_CPU },
		{ "memslot-cycles", required_argument, NULL, OPT_MEMSLOT_CYCLES },
		{ "wait-file", required_argument, NULL, OPT_WAIT_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Which scenario each scenario-specific option belongs to. */
	int owner_seen = -1;
	const char *owner_opt = NULL;
	static char *args[256];
	int c, i, nargs = 0;

	*o = (struct kvmload_opts){
		.vms = 1, .vcpus = 1, .writes = 1000, .period_us = 1000,
		.seconds = 2.0, .mem_mib = 64, .iterations = 1000,
		.order = ORDER_VM_FIRST, .competitor_cpu = -1,
		.competitor_go_fd = -1, .competitor_spinning = NULL,
	};
	/* QEMU's single-dash -name, which getopt cannot take: parsed here,
	 * left in place on the command line (/proc/PID/cmdline). */
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-name") || !strcmp(argv[i], "--name")) {
			if (i + 1 >= argc || !*argv[i + 1])
				usage_error("%s needs a value", argv[i]);
			o->name = argv[++i];
			continue;
		}
		if (nargs == (int)(sizeof(args) / sizeof(*args)) - 1)
			usage_error("too many arguments");
		args[nargs++] = argv[i];
	}
	args[nargs] = NULL;
	argc = nargs;
	argv = args;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:k:", longopts, NULL)) != -1) {
		const char *name = NULL;
		int owner = option_scenario(c, &name);

		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VMS:
			o->vms = parse_count("--vms", optarg, MAX_VMS);
			break;
		case OPT_VCPUS:
			o->vcpus = parse_count("--vcpus", optarg, MAX_VCPUS);
			break;
		case 'n':
			o->writes = parse_count("-n", optarg, MAX_WRITES);
			break;
		case OPT_PERIOD_US:
			o->period_us = parse_count("--period-us", optarg,
						   MAX_PERIOD_US);
			break;
		case OPT_SECONDS:
			o->seconds = parse_seconds("--seconds", optarg);
			break;
		case OPT_MEM_MIB:
			o->mem_mib = parse_count("--mem-mib", optarg,
						 MAX_MEM_MIB);
			break;
		case OPT_TEARDOWN_ORDER:
			if (teardown_order_parse(optarg, &o->order))
				usage_error("--teardown-order wants vm-first, munmap-first, exit or kill, not '%s'",
					    optarg);
			break;
		case OPT_COMPETITOR_CPU:
			o->competitor_cpu = parse_cpu("--competitor-cpu", optarg);
			break;
		case OPT_MEMSLOT_CYCLES:
			o->memslot_cycles = parse_count("--memslot-cycles", optarg,
							MAX_MEMSLOT_CYCLES);
			break;
		case OPT_WAIT_FILE:
			if (!*optarg)
				usage_error("--wait-file needs a path");
			o->wait_file = optarg;
			break;
		case 'k':
			o->iterations = parse_count("-k", optarg,
						    MAX_ITERATIONS);
			break;
		case ':':
			usage_error("option %s needs a value",
				    argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
		if (owner >= 0) {
			if (owner_seen >= 0 && owner_seen != owner)
				usage_error("%s and %s belong to different scenarios",
					    owner_opt, name);
			owner_seen = owner;
			owner_opt = name;
		}
	}
	if (optind >= argc)
		usage_error("no scenario given");
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	for (c = 0; c < (int)(sizeof(scenario_names) / sizeof(*scenario_names));
	     c++) {
		if (!strcmp(argv[optind], scenario_names[c]))
			break;
	}
	if (c == (int)(sizeof(scenario_names) / sizeof(*scenario_names)))
		usage_error("unknown scenario '%s'", argv[optind]);
	o->scenario = c;
	if (owner_seen >= 0 && owner_seen != c)
		usage_error("%s is not an option of the %s scenario",
			    owner_opt, scenario_names[c]);
}

const char *kvmload_scenario_name(enum kvmload_scenario scenario)
{
	return scenario_names[scenario];
}
