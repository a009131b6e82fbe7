// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/kvmwatch.h"
#include "workload.h"

void workload_block_signals(sigset_t *signals)
{
	sigemptyset(signals);
	sigaddset(signals, SIGINT);
	sigaddset(signals, SIGTERM);
	sigaddset(signals, SIGCHLD);
	sigprocmask(SIG_BLOCK, signals, NULL);
}

/* Fork COMMAND; the exec error, if any, comes back through a
 * close-on-exec pipe. */
static pid_t spawn(char **command, const sigset_t *blocked, int *exec_errno)
{
	int fds[2], err = 0;
	pid_t pid;

	*exec_errno = 0;
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (!pid) {
		sigprocmask(SIG_UNBLOCK, blocked, NULL);
		close(fds[0]);
		execvp(command[0], command);
		err = errno;
		if (write(fds[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	if (read(fds[0], &err, sizeof(err)) == sizeof(err))
		*exec_errno = err;
	close(fds[0]);
	return pid;
}

int workload_watch(const char *who, char **command, double duration_sec,
		   const sigset_t *signals, struct workload_run *r)
{
	uint64_t start = monotonic_ns(), deadline = 0, now;
	struct timespec ts;
	int exec_errno, sig;
	pid_t child = 0;

	memset(r, 0, sizeof(*r));
	if (duration_sec > 0)
		deadline = start + (uint64_t)(duration_sec * 1e9);
	if (command) {
		child = spawn(command, signals, &exec_errno);
		if (child < 0) {
			kw_warn("%s: cannot start %s: %s", who, command[0],
				strerror(errno));
			return KW_EXIT_RUNTIME;
		}
		if (exec_errno) {
			waitpid(child, NULL, 0);
			kw_warn("%s: cannot run %s: %s", who, command[0],
				strerror(exec_errno));
			return KW_EXIT_USAGE;
		}
		r->command_ran = true;
	}
	for (;;) {
		if (child && waitpid(child, &r->command_status, WNOHANG) == child)
			break;
		now = monotonic_ns();
		if (deadline && now >= deadline)
			break;
		/* SIGCHLD is among the signals: a child's end wakes us. */
		ts.tv_sec = 0;
		ts.tv_nsec = 200000000;
		if (deadline && deadline - now < 200000000ull)
			ts.tv_nsec = deadline - now;
		sig = sigtimedwait(signals, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			r->interrupted = true;
			if (child) {
				kill(child, SIGTERM);
				waitpid(child, &r->command_status, 0);
			}
			break;
		}
	}
	r->elapsed_sec = (monotonic_ns() - start) / 1e9;
	return KW_EXIT_OK;
}

int workload_exit_status(const struct workload_run *r)
{
	return WIFEXITED(r->command_status) ?
		WEXITSTATUS(r->command_status) : -1;
}
