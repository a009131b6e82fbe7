// SPDX-License-Identifier: GPL-2.0
/* kvmwatch: observe KVM host paths with eBPF and catch regressions. */
#include "commands.h"
#include "options.h"

int main(int argc, char **argv)
{
	const struct kvmwatch_command *command;
	int arg = 0, rc;

	rc = parse_global_options(argc, argv, &arg);
	if (rc)
		return rc == OPTIONS_SHOWN ? KW_EXIT_OK : rc;
	command = kvmwatch_command(argv[arg]);
	if (command)
		return command->run(argc - arg, argv + arg);
	kw_warn("unknown command '%s'", argv[arg]);
	kvmwatch_usage(stderr);
	return KW_EXIT_USAGE;
}
