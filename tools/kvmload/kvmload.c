// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload: a tiny VMM on the raw KVM API whose scenarios give kvmwatch's
 * tests their ground truth.  This file runs each VM in a child process of
 * its own (kvmwatch tells VMs apart by their VMM process), gathers the
 * children's JSON over pipes and prints the final document; cmdline.c
 * parses the command line.  docs/kvmload.md describes the CLI and the
 * JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch.h"
#include "kvm_util.h"
#include "teardown.h"
#include "cmdline.h"


static json_t *params_json(const struct kvmload_opts *o)
{
	json_t *p = json_object();

	if (!p)
		die("out of memory building JSON");
	json_set(p, "vms", json_integer(o->vms));
	json_set(p, "vcpus", json_integer(o->vcpus));
	json_set(p, "name", o->name ? json_string(o->name) : json_null());
	switch (o->scenario) {
	case SCENARIO_MMIO:
		json_set(p, "writes", json_integer((json_int_t)o->writes));
		break;
	case SCENARIO_TIMER:
		json_set(p, "period_us", json_integer(o->period_us));
		json_set(p, "seconds", json_real(o->seconds));
		break;
	case SCENARIO_TEARDOWN:
		json_set(p, "mem_mib", json_integer(o->mem_mib));
		json_set(p, "teardown_order",
			 json_string(teardown_order_name(o->order)));
		json_set(p, "competitor_cpu", o->competitor_cpu >= 0 ?
			 json_integer(o->competitor_cpu) : json_null());
		json_set(p, "memslot_cycles", json_integer(o->memslot_cycles));
		json_set(p, "wait_file", o->wait_file ?
			 json_string(o->wait_file) : json_null());
		break;
	case SCENARIO_PMU:
		json_set(p, "iterations",
			 json_integer((json_int_t)o->iterations));
		break;
	}
	return p;
}

/* One message for a missing /dev/kvm, before any VM process starts. */
static void check_kvm_device(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (errno == ENOENT)
		die("/dev/kvm does not exist: KVM is not available on this machine");
	die("cannot open /dev/kvm: %s", strerror(errno));
}

struct vm_child {
	pid_t pid;
	int result_fd;		/* read end of the child's JSON pipe */
	char *buf;
	size_t len, cap;
	bool eof;
};

/* Field 22 of /proc/self/stat, the process's start in clock ticks since
 * boot: with the pid, it names this VM apart from a later VMM given the
 * same pid (kvmwatch's vm_start). -1 if unreadable. The ground truth reads
 * it itself, sharing no code with what it checks. */
static long long own_start_ticks(void)
{
	char buf[1024], *p;
	long long ticks;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;
	int field;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%lld", &ticks) != 1)
		return -1;
	return ticks;
}

static void __attribute__((noreturn))
run_child(const struct kvmload_opts *o, int result_fd, int notify_fd)
{
	json_t *vm = json_object();

	if (!vm)
		die("out of memory building JSON");
	json_set(vm, "start_ticks", json_integer(own_start_ticks()));
	kvmload_set_timer_notify_fd(notify_fd);
	arch_run_vm(o, vm);
	if (json_dumpfd(vm, result_fd, JSON_COMPACT))
		die("cannot send the VM's results to the parent: %s",
		    strerror(errno));
	/* --teardown-order kill: the VM goes with a process that never
	 * calls exit_group. */
	if (o->scenario == SCENARIO_TEARDOWN && o->order == ORDER_KILL)
		kill(getpid(), SIGKILL);
	exit(0);
}

static void spawn_children(const struct kvmload_opts *o,
			   struct vm_child *kids, int notify[2])
{
	for (unsigned int i = 0; i < o->vms; i++) {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC))
			die("pipe failed: %s", strerror(errno));
		fflush(stdout);
		fflush(stderr);
		kids[i].pid = fork();
		if (kids[i].pid < 0)
			die("fork failed: %s", strerror(errno));
		if (kids[i].pid == 0) {
			for (unsigned int j = 0; j < i; j++)
				close(kids[j].result_fd);
			close(fds[0]);
			if (notify[0] >= 0)
				close(notify[0]);
			run_child(o, fds[1], notify[1]);
		}
		close(fds[1]);
		kids[i].result_fd = fds[0];
	}
	/* Only the children write; EOF then means they all exited. */
	if (notify[1] >= 0) {
		close(notify[1]);
		notify[1] = -1;
	}
}

static void read_some(struct vm_child *kid)
{
	ssize_t n;

	if (kid->cap - kid->len < 4096) {
		kid->cap = kid->cap ? kid->cap * 2 : 16384;
		kid->buf = realloc(kid->buf, kid->cap);
		if (!kid->buf)
			die("out of memory reading VM results");
	}
	n = read(kid->result_fd, kid->buf + kid->len, kid->cap - kid->len - 1);
	if (n < 0 && errno != EINTR)
		die("reading VM results failed: %s", strerror(errno));
	if (n == 0)
		kid->eof = true;
	if (n > 0)
		kid->len += (size_t)n;
	kid->buf[kid->len] = '\0';
}

/* Drain all children's pipes (and the timer-start pipe) until EOF. */
static void collect(const struct kvmload_opts *o, struct vm_child *kids,
		    int notify_fd)
{
	struct pollfd *pfd = calloc(o->vms + 1, sizeof(*pfd));
	unsigned int started = 0, open_pipes = o->vms;

	if (!pfd)
		die("out of memory");
	while (open_pipes || notify_fd >= 0) {
		unsigned int n = 0;

		for (unsigned int i = 0; i < o->vms; i++) {
			pfd[i].fd = kids[i].eof ? -1 : kids[i].result_fd;
			pfd[i].events = POLLIN;
		}
		pfd[o->vms].fd = notify_fd;
		pfd[o->vms].events = POLLIN;
		if (poll(pfd, o->vms + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll failed: %s", strerror(errno));
		}
		for (unsigned int i = 0; i < o->vms; i++) {
			if (pfd[i].revents && !kids[i].eof) {
				read_some(&kids[i]);
				if (kids[i].eof)
					open_pipes--;
			}
		}
		if (notify_fd >= 0 && pfd[o->vms].revents) {
			char bytes[MAX_VMS];
			ssize_t got = read(notify_fd, bytes, sizeof(bytes));

			if (got < 0 && errno != EINTR)
				die("reading timer notifications failed: %s",
				    strerror(errno));
			if (got > 0) {
				n = (unsigned int)got;
				/* Announce once, when every VM's timer runs. */
				if (started < o->vms && started + n >= o->vms) {
					fputs("KVMLOAD-TIMER-START\n", stderr);
					fflush(stderr);
				}
				started += n;
			}
			if (got == 0) {
				close(notify_fd);
				notify_fd = -1;
			}
		}
	}
	free(pfd);
}

/* Sum integers member by member, recursing into objects. */
static void add_into(json_t *sum, json_t *obj)
{
	const char *key;
	json_t *value;

	json_object_foreach(obj, key, value) {
		size_t len = strlen(key);
		json_t *acc;

		if (!strcmp(key, "vcpu_id") || !strcmp(key, "tid") ||
		    !strcmp(key, "msr"))
			continue;
		if (len > 3 && (!strcmp(key + len - 3, "_ns") ||
				!strcmp(key + len - 3, "_us")))
			continue;
		if (len > 4 && (!strcmp(key + len - 4, "_gpa") ||
				!strcmp(key + len - 4, "_len")))
			continue;
		if (len > 6 && !strcmp(key + len - 6, "_value"))
			continue;
		acc = json_object_get(sum, key);
		if (json_is_integer(value)) {
			json_int_t prev = acc ? json_integer_value(acc) : 0;

			json_set(sum, key,
				 json_integer(prev + json_integer_value(value)));
		} else if (json_is_object(value)) {
			if (!acc) {
				acc = json_object();
				json_set(sum, key, acc);
			}
			add_into(acc, value);
		}
	}
}

static json_t *totals_json(json_t *vms)
{
	json_t *totals = json_object(), *vm, *vcpu;
	size_t i, j, nvcpus = 0;

	if (!totals)
		die("out of memory building JSON");
	json_array_foreach(vms, i, vm) {
		json_array_foreach(json_object_get(vm, "vcpus"), j, vcpu) {
			add_into(totals, vcpu);
			nvcpus++;
		}
	}
	json_set(totals, "vms", json_integer((json_int_t)json_array_size(vms)));
	json_set(totals, "vcpus", json_integer((json_int_t)nvcpus));
	return totals;
}

/* What only the parent can know about a VM's teardown: how long its
 * process took to exit (ORDER_EXIT: the whole destruction, an upper
 * bound), and the competitor's longest wait while KVM destroyed the VM. */
static void teardown_parent_json(const struct kvmload_opts *o, json_t *vm,
				 uint64_t reaped_ns, json_t *comp)
{
	json_t *start = json_object_get(vm, "destroy_start_ns");
	json_t *end;

	if ((o->order == ORDER_EXIT || o->order == ORDER_KILL) &&
	    json_is_integer(start)) {
		uint64_t s = (uint64_t)json_integer_value(start);

		json_set(vm, "destroy_end_ns", json_integer((json_int_t)reaped_ns));
		json_set(vm, "destroy_ns",
			 json_integer((json_int_t)(reaped_ns - s)));
		json_set(vm, "vm_destroy_start_ns", json_integer((json_int_t)s));
		json_set(vm, "vm_destroy_end_ns",
			 json_integer((json_int_t)reaped_ns));
	}
	/* The step in which KVM destroyed it, not the munmap after: the
	 * competitor's gaps there are the munmap's (or the host's, under
	 * TCG), not the teardown's. */
	start = json_object_get(vm, "vm_destroy_start_ns");
	end = json_object_get(vm, "vm_destroy_end_ns");
	if (comp && json_is_integer(start) && json_is_integer(end))
		json_set(vm, "competitor_wait",
			 competitor_wait_json(comp,
				(uint64_t)json_integer_value(start),
				(uint64_t)json_integer_value(end)));
}

int main(int argc, char **argv)
{
	struct kvmload_opts o;
	struct vm_child *kids;
	struct competitor comp = { .pid = -1 };
	json_t *comp_doc = NULL;
	uint64_t *reaped;
	int notify[2] = { -1, -1 };
	bool failed = false;
	json_t *doc, *vms;
	uint64_t start;

	kvmload_parse_args(argc, argv, &o);
	check_kvm_device();
	/* A dead parent must not kill children mid-write with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	kids = calloc(o.vms, sizeof(*kids));
	reaped = calloc(o.vms, sizeof(*reaped));
	if (!kids || !reaped)
		die("out of memory");
	if (o.scenario == SCENARIO_TEARDOWN && o.competitor_cpu >= 0) {
		competitor_start(&comp, o.competitor_cpu);
		o.competitor_go_fd = comp.go_fd;
		o.competitor_spinning = comp.spinning;
	}
	if (o.scenario == SCENARIO_TIMER && pipe2(notify, O_CLOEXEC))
		die("pipe failed: %s", strerror(errno));
	start = now_ns();
	spawn_children(&o, kids, notify);
	collect(&o, kids, notify[0]);

	for (unsigned int i = 0; i < o.vms; i++) {
		int status;

		while (waitpid(kids[i].pid, &status, 0) < 0) {
			if (errno != EINTR)
				die("waitpid failed: %s", strerror(errno));
		}
		reaped[i] = now_ns();
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
		    o.scenario == SCENARIO_TEARDOWN && o.order == ORDER_KILL) {
			/* As asked. */
		} else if (WIFSIGNALED(status)) {
			fprintf(stderr, "kvmload: VM %u (pid %d) was killed by signal %d\n",
				i, kids[i].pid, WTERMSIG(status));
			failed = true;
		} else if (WEXITSTATUS(status)) {
			fprintf(stderr, "kvmload: VM %u (pid %d) failed with exit status %d\n",
				i, kids[i].pid, WEXITSTATUS(status));
			failed = true;
		}
	}
	if (comp.pid > 0)
		comp_doc = competitor_stop(&comp);
	if (failed)
		return 1;

	vms = json_array();
	doc = json_object();
	if (!vms || !doc)
		die("out of memory building JSON");
	for (unsigned int i = 0; i < o.vms; i++) {
		json_error_t err;
		json_t *child = json_loads(kids[i].buf ? kids[i].buf : "", 0,
					   &err);
		json_t *vm = json_object();

		if (!child || !json_is_object(child))
			die("VM %u (pid %d) sent unreadable results: %s", i,
			    kids[i].pid, child ? "not an object" : err.text);
		json_set(vm, "pid", json_integer(kids[i].pid));
		if (json_object_update(vm, child))
			die("out of memory building JSON");
		if (o.scenario == SCENARIO_TEARDOWN)
			teardown_parent_json(&o, vm, reaped[i], comp_doc);
		if (json_array_append_new(vms, vm))
			die("out of memory building JSON");
		json_decref(child);
		free(kids[i].buf);
		close(kids[i].result_fd);
	}
	json_set(doc, "kvmload", json_integer(1));
	json_set(doc, "arch", json_string(arch_name));
	json_set(doc, "scenario", json_string(kvmload_scenario_name(o.scenario)));
	json_set(doc, "params", params_json(&o));
	json_set(doc, "vms", vms);
	json_set(doc, "totals", totals_json(vms));
	if (comp_doc) {
		json_object_del(comp_doc, "gap_list");
		json_set(doc, "competitor", comp_doc);
	}
	json_set(doc, "elapsed_ns", json_integer((json_int_t)(now_ns() - start)));
	if (json_dumpf(doc, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF ||
	    fflush(stdout))
		die("cannot write the results: %s", strerror(errno));
	json_decref(doc);
	free(kids);
	free(reaped);
	return 0;
}
