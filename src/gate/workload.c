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
#include "core/scope.h"
#include "workload.h"

void workload_block_signals(sigset_t *signals)
{
	sigemptyset(signals);
	sigaddset(signals, SIGINT);
	sigaddset(signals, SIGTERM);
	sigaddset(signals, SIGCHLD);
	sigprocmask(SIG_BLOCK, signals, NULL);
}

/* Fork COMMAND; it waits for started() to see its pid (its end of the
 * "go" pipe closes), then execs; the exec error, if any, comes back
 * through a close-on-exec pipe. */
static pid_t spawn(char **command, int output_fd, workload_hook started,
		   const sigset_t *blocked, int *exec_errno)
{
	int fds[2], go[2], err = 0;
	ssize_t n;
	char byte;
	pid_t pid;

	*exec_errno = 0;
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	if (pipe2(go, O_CLOEXEC)) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		close(go[0]);
		close(go[1]);
		return -1;
	}
	if (!pid) {
		close(fds[0]);
		close(go[1]);
		/* EOF: the parent is done with started(); a byte: stop. */
		do
			n = read(go[0], &byte, 1);
		while (n < 0 && errno == EINTR);
		if (n)
			_exit(127);
		close(go[0]);
		sigprocmask(SIG_UNBLOCK, blocked, NULL);
		if (output_fd >= 0 && (dup2(output_fd, STDOUT_FILENO) < 0 ||
				       dup2(output_fd, STDERR_FILENO) < 0))
			_exit(127);
		execvp(command[0], command);
		err = errno;
		if (write(fds[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	close(go[0]);
	if (started && started(pid)) {
		/* Not in scope: it must not run at all. */
		if (write(go[1], "x", 1) < 0)
			kill(pid, SIGKILL);
		close(go[1]);
		close(fds[0]);
		waitpid(pid, NULL, 0);
		errno = EPERM;
		return -1;
	}
	close(go[1]);
	if (read(fds[0], &err, sizeof(err)) == sizeof(err))
		*exec_errno = err;
	close(fds[0]);
	return pid;
}

int workload_watch(const char *who, char **command, double duration_sec,
		   int output_fd, workload_hook started,
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
		child = spawn(command, output_fd, started, signals,
			      &exec_errno);
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

bool workload_failed(const struct workload_run *r)
{
	if (!r->command_ran || r->interrupted)
		return false;
	return !WIFEXITED(r->command_status) ||
		WEXITSTATUS(r->command_status) != 0;
}

void workload_describe(const struct workload_run *r, char *buf, size_t len)
{
	if (WIFSIGNALED(r->command_status))
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(r->command_status),
			 strsignal(WTERMSIG(r->command_status)));
	else
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(r->command_status));
}

int workload_open_output(const char *who, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		kw_warn("%s: --command-output %s: %s", who, path,
			strerror(errno));
	return fd;
}

int workload_scope_open(const char *who, char **command, bool all_vms)
{
	char why[256];

	if (!command || all_vms)
		return KW_EXIT_OK;
	if (scope_open(why, sizeof(why))) {
		kw_warn("%s: cannot follow the processes of %s, so cannot tell its VMs from the host's: %s (--all-vms watches every VM)",
			who, command[0], why);
		return KW_EXIT_UNSUPPORTED;
	}
	return KW_EXIT_OK;
}
