// SPDX-License-Identifier: GPL-2.0
/* kvmwatch: observe KVM host paths with eBPF and catch regressions. */
#include <malloc.h>

#include "commands.h"
#include "options.h"

int main(int argc, char **argv)
{
	const struct kvmwatch_command *command;
	int arg = 0, rc;

	/*
	 * A fixed threshold: glibc otherwise raises it to the size of each
	 * large block freed (a parsed BTF, a read's map copy), and the next
	 * such blocks come from the heap, which keeps their pages after
	 * they are freed. Mapped, they go back at free, and the RSS of a
	 * long run follows what it holds, not its largest read.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024);
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
