// SPDX-License-Identifier: GPL-2.0
/* The command-line values every command parses the same way. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "options.h"
#include "core/vm_name.h"

int opt_seconds(const char *cmd, const char *opt, const char *arg,
		double *out)
{
	if (parse_seconds(arg, out))
		return KW_EXIT_OK;
	kw_warn("%s: %s needs a positive number of seconds, not '%s'", cmd,
		opt, arg);
	return KW_EXIT_USAGE;
}

int opt_count(const char *cmd, const char *opt, const char *arg,
	      unsigned long max, unsigned long *out)
{
	if (parse_uint(arg, max, out) && *out)
		return KW_EXIT_OK;
	kw_warn("%s: %s needs a positive count, not '%s'", cmd, opt, arg);
	return KW_EXIT_USAGE;
}

int opt_pid(const char *cmd, const char *arg, unsigned long *pid)
{
	if (!parse_uint(arg, 0x7fffffff, pid) || !*pid) {
		kw_warn("%s: -p needs a process id, not '%s'", cmd, arg);
		return KW_EXIT_USAGE;
	}
	if (kill(*pid, 0) && errno == ESRCH) {
		kw_warn("%s: no process with pid %lu", cmd, *pid);
		return KW_EXIT_USAGE;
	}
	return KW_EXIT_OK;
}

int opt_guest(const char *cmd, const char *arg, const char **pattern)
{
	const char *c;

	for (c = arg; *c; c++)
		if ((unsigned char)*c < 0x20)
			break;
	if (!*arg || *c || strlen(arg) >= VM_NAME_LEN) {
		kw_warn("%s: -g needs a VM name or a shell pattern of one (1 to %d printable characters), not '%s'",
			cmd, VM_NAME_LEN - 1, arg);
		return KW_EXIT_USAGE;
	}
	*pattern = arg;
	return KW_EXIT_OK;
}

int opt_output(const char *cmd, const char *arg, enum output_format *out)
{
	if (!parse_output_format(arg, out))
		return KW_EXIT_OK;
	kw_warn("%s: -o takes text or json, not '%s'", cmd, arg);
	return KW_EXIT_USAGE;
}

int opt_command(const char *cmd, int argc, char **argv, int optind,
		char ***command)
{
	*command = NULL;
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--")) {
			kw_warn("%s: unexpected argument '%s' (a command goes after --)",
				cmd, argv[optind]);
			return KW_EXIT_USAGE;
		}
		*command = &argv[optind];
	} else if (optind > 1 && !strcmp(argv[optind - 1], "--")) {
		kw_warn("%s: -- must be followed by a command", cmd);
		return KW_EXIT_USAGE;
	}
	return KW_EXIT_OK;
}
