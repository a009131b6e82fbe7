/* SPDX-License-Identifier: GPL-2.0 */
/* A run of `record` (and `check --baseline`): watch for a duration, or
 * while a workload command runs, or until SIGINT/SIGTERM. */
#ifndef KVMWATCH_WORKLOAD_H
#define KVMWATCH_WORKLOAD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workload_run {
	double elapsed_sec;
	bool interrupted;	/* SIGINT/SIGTERM ended it */
	bool command_ran;
	int command_status;	/* as from waitpid */
};

/* Block SIGINT, SIGTERM and SIGCHLD (taken by workload_watch). */
void workload_block_signals(sigset_t *signals);

/* Called with the command's pid after fork, before it execs (so before
 * it can fork or make a VM); non-zero stops it. */
typedef int (*workload_hook)(uint32_t pid);

/* Run command (NULL: none) to its end, or wait duration_sec (0: none);
 * with neither, until a signal. The command's stdout and stderr go to
 * output_fd when it is >= 0 (kvmwatch's own stdout may be a JSON
 * document); started, if not NULL, sees its pid first. Returns a kw_exit
 * code: USAGE when the command cannot be run, RUNTIME when it cannot be
 * started. */
int workload_watch(const char *who, char **command, double duration_sec,
		   int output_fd, workload_hook started,
		   const sigset_t *signals, struct workload_run *r);

/* The exit status, or -1 when it did not exit normally. */
int workload_exit_status(const struct workload_run *r);

/* The command ran and failed by itself: a non-zero status or a signal
 * it did not get from kvmwatch's SIGINT/SIGTERM. */
bool workload_failed(const struct workload_run *r);

/* "exited with status 3", "was killed by signal 9 (Killed)". */
void workload_describe(const struct workload_run *r, char *buf, size_t len);

/* With a command and without --all-vms, open the scope of its process
 * tree (core/scope.h) before the detectors load. A kw_exit code. */
int workload_scope_open(const char *who, char **command, bool all_vms);

/* Open --command-output FILE (created or truncated, 0644) for output_fd;
 * -1 with a message when it cannot be. */
int workload_open_output(const char *who, const char *path);

#endif
