// SPDX-License-Identifier: GPL-2.0
/* kvmwatch: observe KVM host paths with eBPF and catch regressions. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "options.h"

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {
		{ "probe", cmd_probe },
		{ "top", cmd_top },
		{ "check", cmd_check },
		{ "record", cmd_record },
		{ "export", cmd_export },
	};
	size_t i;
	int arg = 0, rc;

	rc = parse_global_options(argc, argv, &arg);
	if (rc)
		return rc == OPTIONS_SHOWN ? KW_EXIT_OK : rc;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[arg], commands[i].name))
			return commands[i].run(argc - arg, argv + arg);
	kw_warn("unknown command '%s'", argv[arg]);
	kvmwatch_usage(stderr);
	return KW_EXIT_USAGE;
}
