/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command-line values every command parses the same way, each with
 * one message for a bad one: "top: -p needs a process id, not 'x'".
 * Each returns KW_EXIT_OK or, after saying why, KW_EXIT_USAGE.
 */
#ifndef KVMWATCH_OPTIONS_H
#define KVMWATCH_OPTIONS_H

#include "core/kvmwatch.h"

/* A positive number of seconds for option opt of command cmd. */
int opt_seconds(const char *cmd, const char *opt, const char *arg,
		double *out);
/* A positive count up to max. */
int opt_count(const char *cmd, const char *opt, const char *arg,
	      unsigned long max, unsigned long *out);
/* -p PID: a process that exists now. */
int opt_pid(const char *cmd, const char *arg, unsigned long *pid);
/* -o text|json. */
int opt_output(const char *cmd, const char *arg, enum output_format *out);
/* What getopt left: "-- COMMAND ARGS..." into *command, or nothing. */
int opt_command(const char *cmd, int argc, char **argv, int optind,
		char ***command);

#endif
