/* SPDX-License-Identifier: GPL-2.0 */
/* A run of `record` (and `check --baseline`): watch for a duration, or
 * while a workload command runs, or until SIGINT/SIGTERM. */
#ifndef KVMWATCH_WORKLOAD_H
#define KVMWATCH_WORKLOAD_H

#include <signal.h>
#include <stdbool.h>

struct workload_run {
	double elapsed_sec;
	bool interrupted;	/* SIGINT/SIGTERM ended it */
	bool command_ran;
	int command_status;	/* as from waitpid */
};

/* Block SIGINT, SIGTERM and SIGCHLD (taken by workload_watch). */
void workload_block_signals(sigset_t *signals);

/* Run command (NULL: none) to its end, or wait duration_sec (0: none);
 * with neither, until a signal. Returns a kw_exit code: USAGE when the
 * command cannot be run, RUNTIME when it cannot be started. */
int workload_watch(const char *who, char **command, double duration_sec,
		   const sigset_t *signals, struct workload_run *r);

/* The exit status, or -1 when it did not exit normally. */
int workload_exit_status(const struct workload_run *r);

#endif
