// SPDX-License-Identifier: GPL-2.0
/*
 * kvmload: a tiny VMM on the raw KVM API whose scenarios give kvmwatch's
 * tests their ground truth.  This file parses the command line, runs each
 * VM in a child process of its own (kvmwatch tells VMs apart by their VMM
 * process), gathers the children's JSON over pipes and prints the final
 * document.  docs/kvmload.md describes the CLI and the JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch.h"
#include "kvm_util.h"
#include "teardown.h"

#define MAX_VMS		64
#define MAX_VCPUS	64
#define MAX_WRITES	1000000000ul
#define MAX_PERIOD_US	1000000u
#define MAX_SECONDS	3600.0
/* Keeps an x86 teardown slot below the MMIO hole at 3.25 GiB. */
#define MAX_MEM_MIB	3072u
#define MAX_ITERATIONS	1000000000ul
#define MAX_MEMSLOT_CYCLES	1000u

static const char *const scenario_names[] = {
	[SCENARIO_MMIO] = "mmio",
	[SCENARIO_TIMER] = "timer",
	[SCENARIO_TEARDOWN] = "teardown",
	[SCENARIO_PMU] = "pmu",
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: kvmload SCENARIO [--vms V] [--vcpus C] [scenario options]\n"
"\n"
"Run V VMs (one process each) with C vCPU threads each on /dev/kvm and\n"
"print what they did as one JSON document on stdout.\n"
"\n"
"scenarios:\n"
"  mmio     [-n N]             each vCPU writes N times to a fast-MMIO\n"
"                              ioeventfd, a datamatch ioeventfd and an\n"
"                              unbacked GPA (default N=1000)\n"
"  timer    [--period-us P] [--seconds S]\n"
"                              periodic guest timer every P us for S s\n"
"                              (defaults P=1000, S=2)\n"
"  teardown [--mem-mib M] [--teardown-order O] [--competitor-cpu N]\n"
"           [--memslot-cycles N] [--wait-file PATH]\n"
"                              touch every 4 KiB page of an M MiB slot,\n"
"                              then time the VM's destruction (M=64);\n"
"                              O: vm-first (default: the VM goes with its\n"
"                              memory mapped, as when a VMM exits),\n"
"                              munmap-first, exit or kill (SIGKILL);\n"
"                              N: destroy on CPU N\n"
"                              beside a CPU-bound process pinned there;\n"
"                              --memslot-cycles N: first delete and re-add\n"
"                              each memory slot N times (no teardown);\n"
"                              --wait-file PATH: with the pages touched,\n"
"                              wait until PATH exists (an observer\n"
"                              attaching to a running VM)\n"
"  pmu      [-k K]             program and read PMU counters K times\n"
"                              (default K=1000)\n"
"\n"
"options:\n"
"  --vms V        VMs, each in its own process (1..%d, default 1)\n"
"  --vcpus C      vCPUs per VM, one thread each (1..%d, default 1)\n"
"  -h, --help     show this help\n",
		MAX_VMS, MAX_VCPUS);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("kvmload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	usage(stderr);
	exit(2);
}

static unsigned long parse_count(const char *opt, const char *arg,
				 unsigned long max)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(arg, &end, 10);
	/* strtoul accepts "-1"; a count must be plain digits. */
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || value < 1 ||
	    value > max)
		usage_error("%s wants a whole number from 1 to %lu, not '%s'",
			    opt, max, arg);
	return value;
}

/* A CPU number: plain digits, 0 allowed. */
static int parse_cpu(const char *opt, const char *arg)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || value > 4095)
		usage_error("%s wants a CPU number from 0 to 4095, not '%s'",
			    opt, arg);
	return (int)value;
}

static double parse_seconds(const char *opt, const char *arg)
{
	double value;
	char *end;

	errno = 0;
	value = strtod(arg, &end);
	if (end == arg || *end || errno || !isfinite(value) || value <= 0 ||
	    value > MAX_SECONDS)
		usage_error("%s wants seconds above 0 and up to %g, not '%s'",
			    opt, MAX_SECONDS, arg);
	return value;
}

enum {
	OPT_VMS = 256, OPT_VCPUS, OPT_PERIOD_US, OPT_SECONDS, OPT_MEM_MIB,
	OPT_TEARDOWN_ORDER, OPT_COMPETITOR_CPU, OPT_MEMSLOT_CYCLES,
	OPT_WAIT_FILE,
};

/* The scenario each scenario-specific option belongs to. */
static const struct {
	int opt;
	int scenario;
	const char *name;
} scenario_options[] = {
	{ 'n', SCENARIO_MMIO, "-n" },
	{ OPT_PERIOD_US, SCENARIO_TIMER, "--period-us" },
	{ OPT_SECONDS, SCENARIO_TIMER, "--seconds" },
	{ OPT_MEM_MIB, SCENARIO_TEARDOWN, "--mem-mib" },
	{ OPT_TEARDOWN_ORDER, SCENARIO_TEARDOWN, "--teardown-order" },
	{ OPT_COMPETITOR_CPU, SCENARIO_TEARDOWN, "--competitor-cpu" },
	{ OPT_MEMSLOT_CYCLES, SCENARIO_TEARDOWN, "--memslot-cycles" },
	{ OPT_WAIT_FILE, SCENARIO_TEARDOWN, "--wait-file" },
	{ 'k', SCENARIO_PMU, "-k" },
};

static int option_scenario(int opt, const char **name)
{
	for (size_t i = 0; i < sizeof(scenario_options) /
			       sizeof(*scenario_options); i++)
		if (scenario_options[i].opt == opt) {
			*name = scenario_options[i].name;
			return scenario_options[i].scenario;
		}
	return -1;
}

static void parse_args(int argc, char **argv, struct kvmload_opts *o)
{
	static const struct option longopts[] = {
		{ "vms", required_argument, NULL, OPT_VMS },
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "period-us", required_argument, NULL, OPT_PERIOD_US },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "mem-mib", required_argument, NULL, OPT_MEM_MIB },
		{ "teardown-order", required_argument, NULL, OPT_TEARDOWN_ORDER },
		{ "competitor-cpu", required_argument, NULL, OPT_COMPETITOR_CPU },
		{ "memslot-cycles", required_argument, NULL, OPT_MEMSLOT_CYCLES },
		{ "wait-file", required_argument, NULL, OPT_WAIT_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Which scenario each scenario-specific option belongs to. */
	int owner_seen = -1;
	const char *owner_opt = NULL;
	int c;

	*o = (struct kvmload_opts){
		.vms = 1, .vcpus = 1, .writes = 1000, .period_us = 1000,
		.seconds = 2.0, .mem_mib = 64, .iterations = 1000,
		.order = ORDER_VM_FIRST, .competitor_cpu = -1,
		.competitor_go_fd = -1, .competitor_spinning = NULL,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:k:", longopts, NULL)) != -1) {
		const char *name = NULL;
		int owner = option_scenario(c, &name);

		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VMS:
			o->vms = parse_count("--vms", optarg, MAX_VMS);
			break;
		case OPT_VCPUS:
			o->vcpus = parse_count("--vcpus", optarg, MAX_VCPUS);
			break;
		case 'n':
			o->writes = parse_count("-n", optarg, MAX_WRITES);
			break;
		case OPT_PERIOD_US:
			o->period_us = parse_count("--period-us", optarg,
						   MAX_PERIOD_US);
			break;
		case OPT_SECONDS:
			o->seconds = parse_seconds("--seconds", optarg);
			break;
		case OPT_MEM_MIB:
			o->mem_mib = parse_count("--mem-mib", optarg,
						 MAX_MEM_MIB);
			break;
		case OPT_TEARDOWN_ORDER:
			if (teardown_order_parse(optarg, &o->order))
				usage_error("--teardown-order wants vm-first, munmap-first, exit or kill, not '%s'",
					    optarg);
			break;
		case OPT_COMPETITOR_CPU:
			o->competitor_cpu = parse_cpu("--competitor-cpu", optarg);
			break;
		case OPT_MEMSLOT_CYCLES:
			o->memslot_cycles = parse_count("--memslot-cycles", optarg,
							MAX_MEMSLOT_CYCLES);
			break;
		case OPT_WAIT_FILE:
			if (!*optarg)
				usage_error("--wait-file needs a path");
			o->wait_file = optarg;
			break;
		case 'k':
			o->iterations = parse_count("-k", optarg,
						    MAX_ITERATIONS);
			break;
		case ':':
			usage_error("option %s needs a value",
				    argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
		if (owner >= 0) {
			if (owner_seen >= 0 && owner_seen != owner)
				usage_error("%s and %s belong to different scenarios",
					    owner_opt, name);
			owner_seen = owner;
			owner_opt = name;
		}
	}
	if (optind >= argc)
		usage_error("no scenario given");
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	for (c = 0; c < (int)(sizeof(scenario_names) / sizeof(*scenario_names));
	     c++) {
		if (!strcmp(argv[optind], scenario_names[c]))
			break;
	}
	if (c == (int)(sizeof(scenario_names) / sizeof(*scenario_names)))
		usage_error("unknown scenario '%s'", argv[optind]);
	o->scenario = c;
	if (owner_seen >= 0 && owner_seen != c)
		usage_error("%s is not an option of the %s scenario",
			    owner_opt, scenario_names[c]);
}

static json_t *params_json(const struct kvmload_opts *o)
{
	json_t *p = json_object();

	if (!p)
		die("out of memory building JSON");
	json_set(p, "vms", json_integer(o->vms));
	json_set(p, "vcpus", json_integer(o->vcpus));
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

static void __attribute__((noreturn))
run_child(const struct kvmload_opts *o, int result_fd, int notify_fd)
{
	json_t *vm = json_object();

	if (!vm)
		die("out of memory building JSON");
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

	parse_args(argc, argv, &o);
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
	json_set(doc, "scenario", json_string(scenario_names[o.scenario]));
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
