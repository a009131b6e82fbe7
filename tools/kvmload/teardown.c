// SPDX-License-Identifier: GPL-2.0
/*
 * The teardown scenario's common half: destroying a VM in a chosen order
 * (kvm_teardown), and the CPU-bound competitor that shares a CPU with the
 * destroying thread and reports every gap in its own running - its view
 * of how long the teardown kept it off the CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "kvm_util.h"
#include "teardown.h"

/* A gap in the competitor's spinning shorter than this is noise (a tick,
 * an interrupt); longer ones are all kept, up to COMPETITOR_MAX_GAPS (at
 * most one per GAP_MIN_NS: over 17 minutes of spinning). Keeping only the
 * newest would lose the teardown's gap behind the many short ones of the
 * munmap that follows it. */
#define GAP_MIN_NS		1000000ull
#define COMPETITOR_MAX_GAPS	(1u << 20)

static const char *const order_names[] = {
	[ORDER_VM_FIRST] = "vm-first",
	[ORDER_MUNMAP_FIRST] = "munmap-first",
	[ORDER_EXIT] = "exit",
	[ORDER_KILL] = "kill",
};

const char *teardown_order_name(enum teardown_order order)
{
	return order_names[order];
}

int teardown_order_parse(const char *arg, enum teardown_order *out)
{
	for (unsigned int i = 0; i < sizeof(order_names) / sizeof(*order_names);
	     i++) {
		if (!strcmp(arg, order_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

static void set_u64(json_t *obj, const char *key, uint64_t v)
{
	json_set(obj, key, json_integer((json_int_t)v));
}

static void close_vcpus(struct vm_parts *p)
{
	for (unsigned int i = 0; i < p->nvcpus; i++)
		kvm_vcpu_close(&p->vcpus[i]);
	if (p->extra_fd >= 0)
		close(p->extra_fd);
	p->extra_fd = -1;
}

static void competitor_wait_spinning(volatile int *spinning);

static void unmap_all(struct vm_parts *p)
{
	for (unsigned int i = 0; i < p->nmaps; i++)
		if (p->maps[i].mem)
			kvm_free_guest_memory(p->maps[i].mem, p->maps[i].size);
}

/*
 * --memslot-cycles: delete each memory slot of the live VM and add it
 * back, o->memslot_cycles times, before the teardown. KVM zaps what the
 * slot mapped (x86: all roots, with the default SLOT_ZAP_ALL quirk), but
 * the VM lives on: an observer must not count it as a teardown.
 */
static void cycle_memslots(const struct kvmload_opts *o, struct vm_parts *p,
			   json_t *vmj)
{
	unsigned int c, i, deleted = 0;

	for (c = 0; c < o->memslot_cycles; c++)
		for (i = 0; i < p->nmaps; i++) {
			if (!p->maps[i].mem)
				continue;
			kvm_set_memory_slot(p->vm, p->maps[i].slot,
					    p->maps[i].gpa, NULL, 0);
			kvm_set_memory_slot(p->vm, p->maps[i].slot,
					    p->maps[i].gpa, p->maps[i].mem,
					    p->maps[i].size);
			deleted++;
		}
	set_u64(vmj, "memslot_deletes", deleted);
}

/* --wait-file: the VM is built and its pages touched; hold it until the
 * file appears (an observer attaching to VMs already running). */
static void wait_for_file(const char *path)
{
	fprintf(stderr, "kvmload: VM ready, waiting for %s\n", path);
	while (access(path, F_OK))
		usleep(10000);
}

void kvm_teardown(const struct kvmload_opts *o, struct vm_parts *p,
		  json_t *vmj)
{
	bool report = o->scenario == SCENARIO_TEARDOWN;
	uint64_t t0, t1, t2, t3;
	cpu_set_t elsewhere;

	if (sched_getaffinity(0, sizeof(elsewhere), &elsewhere))
		die("sched_getaffinity failed: %s", strerror(errno));
	if (report && o->wait_file)
		wait_for_file(o->wait_file);
	if (report && o->competitor_cpu >= 0) {
		/* Only now: spinning while the guest touched its memory
		 * would have taken a CPU from the vCPUs. */
		if (o->competitor_go_fd >= 0 && o->competitor_spinning &&
		    !__atomic_load_n(o->competitor_spinning, __ATOMIC_ACQUIRE) &&
		    write(o->competitor_go_fd, "g", 1) != 1)
			die("cannot start the competitor: %s", strerror(errno));
		competitor_wait_spinning(o->competitor_spinning);
		pin_to_cpu(o->competitor_cpu);
		/* Let the competitor run once, so the teardown starts from
		 * an ordinary switch on that CPU. */
		sched_yield();
	}
	if (report && o->memslot_cycles)
		cycle_memslots(o, p, vmj);
	if (report) {
		set_u64(vmj, "destroy_cpu", (uint64_t)sched_getcpu());
		set_u64(vmj, "destroy_tid", (uint64_t)kvm_gettid());
		json_set(vmj, "teardown_order",
			 json_string(teardown_order_name(o->order)));
	}
	if (report && (o->order == ORDER_EXIT || o->order == ORDER_KILL)) {
		/* The parent times the exit from here to waitpid(). */
		set_u64(vmj, "destroy_start_ns", now_ns());
		return;
	}
	t0 = now_ns();
	close_vcpus(p);
	t1 = now_ns();
	if (o->order == ORDER_MUNMAP_FIRST || !report) {
		unmap_all(p);
		t2 = now_ns();
		kvm_vm_close(p->vm);
		t3 = now_ns();
	} else {
		/* The last reference: kvm_destroy_vm() runs in this close
		 * (its task work, before the syscall returns), with every
		 * stage-2 / TDP entry still in place. */
		kvm_vm_close(p->vm);
		t2 = now_ns();
		unmap_all(p);
		t3 = now_ns();
	}
	if (!report)
		return;
	/* Done with the competitor's CPU: this process's own exit is not
	 * the teardown, and must not keep the competitor waiting. */
	if (o->competitor_cpu >= 0) {
		CPU_CLR(o->competitor_cpu, &elsewhere);
		if (CPU_COUNT(&elsewhere) &&
		    sched_setaffinity(0, sizeof(elsewhere), &elsewhere))
			die("cannot leave CPU %d: %s", o->competitor_cpu,
			    strerror(errno));
	}
	set_u64(vmj, "vcpu_close_ns", t1 - t0);
	if (o->order == ORDER_MUNMAP_FIRST) {
		set_u64(vmj, "munmap_ns", t2 - t1);
		set_u64(vmj, "vm_close_ns", t3 - t2);
	} else {
		set_u64(vmj, "vm_close_ns", t2 - t1);
		set_u64(vmj, "munmap_ns", t3 - t2);
	}
	set_u64(vmj, "destroy_ns", t3 - t0);
	set_u64(vmj, "destroy_start_ns", t0);
	set_u64(vmj, "destroy_end_ns", t3);
	/* Where KVM itself destroyed the VM, for comparing with kvmwatch. */
	set_u64(vmj, "vm_destroy_start_ns", o->order == ORDER_MUNMAP_FIRST ? t2 : t1);
	set_u64(vmj, "vm_destroy_end_ns", o->order == ORDER_MUNMAP_FIRST ? t3 : t2);
}

/* ---- the competitor ---- */

static volatile sig_atomic_t competitor_stop_flag;

static void on_term(int sig)
{
	(void)sig;
	competitor_stop_flag = 1;
}

struct gap {
	uint64_t start, end;
};

/* Wait until the competitor spins (its wakeup may still be on its way
 * to its CPU): the teardown must begin with it running there. */
static void competitor_wait_spinning(volatile int *spinning)
{
	struct timespec ms = { 0, 1000000 };
	unsigned int i;

	if (!spinning)
		return;
	for (i = 0; !__atomic_load_n(spinning, __ATOMIC_ACQUIRE); i++) {
		if (i == 60000)
			die("the competitor did not start spinning within 60 s");
		nanosleep(&ms, NULL);
	}
}

static void __attribute__((noreturn)) competitor_main(int cpu, int fd,
						     int go_fd,
						     volatile int *spinning)
{
	struct gap *gaps = NULL;
	uint64_t start, last, spins = 0, ngaps = 0, max_gap = 0, cap = 0;
	struct sigaction sa = { .sa_handler = on_term };
	json_t *doc = json_object(), *arr = json_array();
	char go;

	if (!doc || !arr)
		die("out of memory");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	pin_to_cpu(cpu);
	/* Asleep until the first VM is about to be destroyed (or every VM
	 * process is gone: end of file). SIGTERM before that ends it with no
	 * spins. */
	while (!competitor_stop_flag && read(go_fd, &go, 1) < 0 &&
	       errno == EINTR)
		;
	/* go_fd stays open: later VMs' bytes must not meet a closed pipe. */
	start = last = now_ns();
	__atomic_store_n(spinning, 1, __ATOMIC_RELEASE);
	while (!competitor_stop_flag) {
		uint64_t t = now_ns();

		if (t - last >= GAP_MIN_NS) {
			if (ngaps == cap && cap < COMPETITOR_MAX_GAPS) {
				cap = cap ? cap * 2 : 4096;
				gaps = realloc(gaps, cap * sizeof(*gaps));
				if (!gaps)
					die("competitor: out of memory");
			}
			if (ngaps < cap)
				gaps[ngaps] = (struct gap){ last, t };
			ngaps++;
			if (t - last > max_gap)
				max_gap = t - last;
		}
		last = t;
		spins++;
	}
	set_u64(doc, "cpu", (uint64_t)cpu);
	set_u64(doc, "pid", (uint64_t)getpid());
	set_u64(doc, "start_ns", start);
	set_u64(doc, "end_ns", last);
	set_u64(doc, "spins", spins);
	set_u64(doc, "gap_min_ns", GAP_MIN_NS);
	set_u64(doc, "gaps", ngaps);
	set_u64(doc, "gaps_dropped", ngaps > cap ? ngaps - cap : 0);
	set_u64(doc, "max_gap_ns", max_gap);
	for (uint64_t i = 0; i < ngaps && i < cap; i++) {
		json_t *g = json_array();

		json_array_append_new(g, json_integer((json_int_t)gaps[i].start));
		json_array_append_new(g, json_integer((json_int_t)gaps[i].end));
		json_array_append_new(arr, g);
	}
	json_set(doc, "gap_list", arr);
	if (json_dumpfd(doc, fd, JSON_COMPACT))
		die("competitor: cannot send results: %s", strerror(errno));
	exit(0);
}

void competitor_start(struct competitor *c, int cpu)
{
	cpu_set_t set;
	int fds[2], go[2];

	/* Say which CPUs exist before anything forks. */
	if (sched_getaffinity(0, sizeof(set), &set))
		die("sched_getaffinity failed: %s", strerror(errno));
	if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &set))
		die("--competitor-cpu %d: no such CPU available to this process (%d usable)",
		    cpu, CPU_COUNT(&set));
	if (pipe2(fds, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		die("pipe failed: %s", strerror(errno));
	c->spinning = mmap(NULL, sizeof(*c->spinning), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->spinning == MAP_FAILED)
		die("cannot map the competitor's flag: %s", strerror(errno));
	*c->spinning = 0;
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	if (c->pid < 0)
		die("fork failed: %s", strerror(errno));
	if (c->pid == 0) {
		close(fds[0]);
		close(go[1]);
		competitor_main(cpu, fds[1], go[0], c->spinning);
	}
	close(fds[1]);
	close(go[0]);
	c->fd = fds[0];
	c->cpu = cpu;
	/* The VM processes inherit it; the parent keeps it open so that
	 * only a byte (not an early exit) starts the spinning. */
	c->go_fd = go[1];
}

json_t *competitor_stop(struct competitor *c)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_error_t err;
	json_t *doc;
	int status;

	close(c->go_fd);
	kill(c->pid, SIGTERM);
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory");
		}
		n = read(c->fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("reading the competitor's results failed: %s",
			    strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(c->fd);
	while (waitpid(c->pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid failed: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("the competitor (pid %d) failed", c->pid);
	doc = json_loads(buf, 0, &err);
	if (!doc)
		die("the competitor sent unreadable results: %s", err.text);
	free(buf);
	return doc;
}

/* The longest gap of the competitor that overlaps [start, end]: how long
 * it was kept off its CPU around that VM's destruction. */
json_t *competitor_wait_json(json_t *comp, uint64_t start, uint64_t end)
{
	json_t *gaps = json_object_get(comp, "gap_list"), *g, *out;
	uint64_t best = 0, bs = 0, be = 0;
	size_t i;

	json_array_foreach(gaps, i, g) {
		uint64_t s = (uint64_t)json_integer_value(json_array_get(g, 0));
		uint64_t e = (uint64_t)json_integer_value(json_array_get(g, 1));

		if (e < start || s > end || e - s <= best)
			continue;
		best = e - s;
		bs = s;
		be = e;
	}
	out = json_object();
	if (!out)
		die("out of memory");
	set_u64(out, "longest_gap_ns", best);
	set_u64(out, "gap_start_ns", bs);
	set_u64(out, "gap_end_ns", be);
	return out;
}
