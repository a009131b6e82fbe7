// SPDX-License-Identifier: GPL-2.0
/* kvmwatch: observe KVM host paths with eBPF and catch regressions. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kvmwatch.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kvmwatch [-v] COMMAND [OPTIONS]\n"
		"\n"
		"commands:\n"
		"  probe [-o text|json]   what this kernel lets kvmwatch observe, per detector\n"
		"  top [-b] [-c] [-d SEC] [-n COUNT] [-p PID] [-o text|json]\n"
		"                         exits per VM and per vCPU, by reason\n"
		"  help                   this text\n"
		"\n"
		"options:\n"
		"  -v, --verbose          also print libbpf's messages\n"
		"  -V, --version          print the version\n"
		"\n"
		"'kvmwatch COMMAND -h' describes a command; see kvmwatch(8).\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {
		{ "probe", cmd_probe },
		{ "top", cmd_top },
	};
	size_t i;
	int arg = 1;

	for (; arg < argc && argv[arg][0] == '-'; arg++) {
		if (!strcmp(argv[arg], "-v") || !strcmp(argv[arg], "--verbose")) {
			kw_verbose = true;
		} else if (!strcmp(argv[arg], "-V") ||
			   !strcmp(argv[arg], "--version")) {
			printf("kvmwatch %s\n", KVMWATCH_VERSION);
			return KW_EXIT_OK;
		} else if (!strcmp(argv[arg], "-h") ||
			   !strcmp(argv[arg], "--help")) {
			usage(stdout);
			return KW_EXIT_OK;
		} else {
			kw_warn("unknown option '%s'", argv[arg]);
			usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (arg == argc) {
		usage(stderr);
		return KW_EXIT_USAGE;
	}
	if (!strcmp(argv[arg], "help")) {
		usage(stdout);
		return KW_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[arg], commands[i].name))
			return commands[i].run(argc - arg, argv + arg);
	kw_warn("unknown command '%s'", argv[arg]);
	usage(stderr);
	return KW_EXIT_USAGE;
}
