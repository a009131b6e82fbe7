/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command-line values every command parses the same way, each with
 * one message for a bad one: "top: -p needs a process id, not 'x'".
 * Each returns KW_EXIT_OK or, after saying why, KW_EXIT_USAGE.
 */
#ifndef KVMWATCH_OPTIONS_H
#define KVMWATCH_OPTIONS_H

#include <stdio.h>

#include "core/kvmwatch.h"

/* A parser printed what was asked (-h, --list-rules): exit 0, run nothing. */
#define OPTIONS_SHOWN (-1)

/* A positive number of seconds for option opt of command cmd. */
int opt_seconds(const char *cmd, const char *opt, const char *arg,
		double *out);
/* A positive count up to max. */
int opt_count(const char *cmd, const char *opt, const char *arg,
	      unsigned long max, unsigned long *out);
/* -p PID: a process that exists now. */
int opt_pid(const char *cmd, const char *arg, unsigned long *pid);
/* -g PATTERN: a VM name or a shell pattern of names (core/vm_name.h). */
int opt_guest(const char *cmd, const char *arg, const char **pattern);
#define GUEST_HELP \
	"  -g, --guest NAME      watch only the VMs so named (a shell pattern:\n" \
	"                        'web*'); QEMU's -name, else the executable\n"
/* -o text|json. */
int opt_output(const char *cmd, const char *arg, enum output_format *out);
/* What getopt left: "-- COMMAND ARGS..." into *command, or nothing. */
int opt_command(const char *cmd, int argc, char **argv, int optind,
		char ***command);

/*
 * kvmwatch's own options, which each command takes too, so that
 * "kvmwatch top -m tracepoint" means "kvmwatch -m tracepoint top".
 */
#define GLOBAL_SHORTOPTS "vm:P:"
#define GLOBAL_LONGOPTS						\
	{ "verbose", no_argument, NULL, 'v' },			\
	{ "mode", required_argument, NULL, 'm' },		\
	{ "point", required_argument, NULL, 'P' }
#define GLOBAL_OPTIONS_HELP						\
	"  -v, -m MODE, -P POINT  kvmwatch's own options (kvmwatch -h)\n"
/* Whether getopt's opt is one of them. */
bool opt_is_global(int opt);
/* Apply one of them: KW_EXIT_OK, or KW_EXIT_USAGE after saying why. */
int opt_global(int opt, const char *arg);

/* kvmwatch's own usage text. */
void kvmwatch_usage(FILE *out);
/* The options before the command (-v, -m MODE, -P POINT, -V, -h): on
 * KW_EXIT_OK, argv[*command_at] is the command's name. */
int parse_global_options(int argc, char **argv, int *command_at);

#endif
