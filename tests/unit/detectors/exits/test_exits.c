// SPDX-License-Identifier: GPL-2.0
/* The top data model: deltas between map samples and the VM/vCPU view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/histogram.h"
#include "detectors/exits/exits_model.h"

#define KERNEL EXIT_KIND_KERNEL
#define USER EXIT_KIND_USER

static struct exit_record rec(uint32_t pid, uint32_t tid, uint32_t kind,
			      uint32_t reason, uint64_t count, uint64_t ns,
			      uint64_t timed)
{
	struct exit_record r = {
		.key = { .pid = pid, .tid = tid, .kind = kind, .reason = reason },
		.stats = { .count = count, .total_ns = ns, .timed = timed },
	};

	if (timed)
		r.stats.hist.slots[log2_slot(ns / timed)] = timed;
	return r;
}

static struct thread_record thread(uint32_t tid, uint32_t pid,
				   uint32_t vcpu_id, const char *comm,
				   const char *pcomm)
{
	struct thread_record t = { .key = { .tid = tid } };

	t.info.pid = pid;
	t.info.tid = tid;
	t.info.vcpu_id = vcpu_id;
	strncpy(t.info.comm, comm, sizeof(t.info.comm) - 1);
	strncpy(t.info.pcomm, pcomm, sizeof(t.info.pcomm) - 1);
	return t;
}

/* A sample owning heap copies, as exits_sample() returns it. */
static struct exits_sample sample(const struct exit_record *recs, size_t n,
				 const struct thread_record *threads,
				 size_t nthreads, uint64_t ts)
{
	struct exits_sample s = { .nrecs = n, .nthreads = nthreads, .ts_ns = ts };

	s.recs = calloc(n + 1, sizeof(*recs));
	s.threads = calloc(nthreads + 1, sizeof(*threads));
	memcpy(s.recs, recs, n * sizeof(*recs));
	memcpy(s.threads, threads, nthreads * sizeof(*threads));
	exits_sample_sort(&s);
	return s;
}

static void delta_subtracts_and_drops_idle_keys(void **state)
{
	const struct exit_record before[] = {
		rec(10, 11, KERNEL, 0x7b, 100, 1000, 100),
		rec(10, 11, KERNEL, 0x400, 50, 500, 50),
		rec(20, 21, KERNEL, 0x78, 7, 70, 7),
	};
	/* Given out of order: sampling sorts. */
	const struct exit_record after[] = {
		rec(20, 21, KERNEL, 0x78, 7, 70, 7),
		rec(10, 11, USER, 6, 3, 30, 3),
		rec(10, 11, KERNEL, 0x400, 80, 900, 80),
		rec(10, 11, KERNEL, 0x7b, 160, 1600, 150),
	};
	struct exits_sample prev = sample(before, 3, NULL, 0, 1),
			   cur = sample(after, 4, NULL, 0, 2), d;

	(void)state;
	assert_int_equal(exits_sample_delta(&prev, &cur, &d), 0);
	/* pid 20 had no new exits: left out. */
	assert_int_equal(d.nrecs, 3);
	assert_int_equal(d.recs[0].key.reason, 0x7b);
	assert_int_equal(d.recs[0].stats.count, 60);
	assert_int_equal(d.recs[0].stats.total_ns, 600);
	assert_int_equal(d.recs[0].stats.timed, 50);
	assert_int_equal(d.recs[1].key.reason, 0x400);
	assert_int_equal(d.recs[1].stats.count, 30);
	/* New key: counted whole. */
	assert_int_equal(d.recs[2].key.kind, USER);
	assert_int_equal(d.recs[2].stats.count, 3);
	exits_sample_free(&prev);
	exits_sample_free(&cur);
	exits_sample_free(&d);
}

static void delta_restarts_recreated_key(void **state)
{
	const struct exit_record before[] = { rec(1, 2, KERNEL, 5, 1000, 0, 0) };
	const struct exit_record after[] = { rec(1, 2, KERNEL, 5, 4, 0, 0) };
	struct exits_sample prev = sample(before, 1, NULL, 0, 1),
			   cur = sample(after, 1, NULL, 0, 2), d;

	(void)state;
	assert_int_equal(exits_sample_delta(&prev, &cur, &d), 0);
	assert_int_equal(d.nrecs, 1);
	assert_int_equal(d.recs[0].stats.count, 4);
	exits_sample_free(&prev);
	exits_sample_free(&cur);
	exits_sample_free(&d);
}

static void view_groups_vms_vcpus_and_reasons(void **state)
{
	const struct exit_record recs[] = {
		/* VM 100: two vCPUs, SVM reasons, exits to the VMM. */
		rec(100, 101, KERNEL, 0x7b, 300, 30000, 300),
		rec(100, 101, KERNEL, 0x400, 100, 50000, 100),
		rec(100, 101, USER, 6, 40, 4000, 40),
		rec(100, 102, KERNEL, 0x7b, 200, 0, 0),
		/* VM 200: one vCPU whose index the kernel did not give. */
		rec(200, 203, KERNEL, 0x78, 50, 0, 0),
		rec(200, 203, KERNEL, 0xdead, 1, 0, 0),
	};
	const struct thread_record threads[] = {
		thread(101, 100, 1, "vcpu1", "qemu"),
		thread(102, 100, 0, "vcpu0", "qemu"),
		thread(203, 200, VCPU_ID_UNKNOWN, "worker", "kvmload"),
	};
	struct exits_sample s = sample(recs, 6, threads, 3, 0);
	struct top_view v;
	struct vm_view *vm;

	(void)state;
	assert_int_equal(top_view_build(&s, 2.0, false, EXIT_TABLE_SVM, &v), 0);
	assert_int_equal(v.nvms, 2);
	assert_int_equal(v.exits, 651);
	assert_int_equal(v.user_exits, 40);
	assert_true(v.exits_per_sec == 325.5);

	/* Busiest VM first. */
	vm = &v.vms[0];
	assert_int_equal(vm->pid, 100);
	assert_string_equal(vm->comm, "qemu");
	assert_int_equal(vm->exits, 600);
	assert_int_equal(vm->user_exits, 40);
	assert_int_equal(vm->nvcpus, 2);
	/* vCPUs by index, not by tid. */
	assert_int_equal(vm->vcpus[0].tid, 102);
	assert_int_equal(vm->vcpus[0].vcpu_id, 0);
	assert_int_equal(vm->vcpus[1].vcpu_id, 1);
	assert_string_equal(vm->vcpus[1].comm, "vcpu1");
	/* Kernel reasons by count, then the VMM's. */
	assert_int_equal(vm->nreasons, 3);
	assert_string_equal(vm->reasons[0].name, "io");
	assert_int_equal(vm->reasons[0].count, 500);
	assert_int_equal(vm->reasons[0].timed, 300);
	assert_string_equal(vm->reasons[1].name, "npf");
	assert_int_equal(vm->reasons[2].kind, USER);
	assert_string_equal(vm->reasons[2].name, "MMIO");
	assert_true(vm->reasons[2].per_sec == 20.0);

	vm = &v.vms[1];
	assert_int_equal(vm->vcpus[0].vcpu_id, -1);
	assert_string_equal(vm->comm, "kvmload");
	/* Unknown codes are shown by number, never dropped. */
	assert_string_equal(vm->reasons[1].name, "0xdead");
	assert_int_equal(vm->reasons[1].count, 1);

	top_view_free(&v);
	exits_sample_free(&s);
}

/* A later VMM given the same pid and tids (pids come back) is another VM:
 * its counts neither continue the old one's nor meet its earlier sample,
 * and each VM keeps its own thread names. */
static void reused_pid_is_another_vm(void **state)
{
	struct exit_record old_vm = rec(300, 301, KERNEL, 0x7b, 1800, 0, 0);
	struct exit_record new_vm = rec(300, 301, KERNEL, 0x7b, 1800, 0, 0);
	struct thread_record threads[] = {
		thread(301, 300, 0, "old-vcpu", "old-vmm"),
		thread(301, 300, 0, "new-vcpu", "new-vmm"),
	};
	struct exit_record both[2];
	struct exits_sample prev, cur, d;
	struct top_view v;

	(void)state;
	old_vm.key.vm_start = threads[0].info.vm_start = 5000000000ull;
	new_vm.key.vm_start = threads[1].info.vm_start = 9000000000ull;
	both[0] = new_vm;
	both[1] = old_vm;
	prev = sample(&old_vm, 1, threads, 1, 1);
	cur = sample(both, 2, threads, 2, 2);
	assert_int_equal(exits_sample_delta(&prev, &cur, &d), 0);
	/* The old VM made nothing new; the new one all of its 1800. */
	assert_int_equal(d.nrecs, 1);
	assert_true(d.recs[0].key.vm_start == 9000000000ull);
	assert_int_equal(d.recs[0].stats.count, 1800);
	assert_int_equal(top_view_build(&cur, 1.0, true, EXIT_TABLE_SVM, &v), 0);
	assert_int_equal(v.nvms, 2);
	assert_int_equal(v.vms[0].pid, 300);
	assert_int_equal(v.vms[1].pid, 300);
	assert_int_equal(v.vms[0].exits, 1800);
	assert_int_equal(v.vms[1].exits, 1800);
	assert_true(v.vms[0].vm_start != v.vms[1].vm_start);
	assert_string_equal(v.vms[0].vm_start == 5000000000ull ?
			    v.vms[0].comm : v.vms[1].comm, "old-vmm");
	assert_string_equal(v.vms[0].vm_start == 9000000000ull ?
			    v.vms[0].vcpus[0].comm : v.vms[1].vcpus[0].comm,
			    "new-vcpu");
	top_view_free(&v);
	exits_sample_free(&prev);
	exits_sample_free(&cur);
	exits_sample_free(&d);
}

static void view_of_empty_sample(void **state)
{
	struct exits_sample s = { 0 };
	struct top_view v;

	(void)state;
	assert_int_equal(top_view_build(&s, 1.0, true, EXIT_TABLE_VMX, &v), 0);
	assert_int_equal(v.nvms, 0);
	assert_int_equal(v.exits, 0);
	assert_true(v.cumulative);
	top_view_free(&v);
}

static void log2_slots_and_percentiles(void **state)
{
	struct log2_hist h = { 0 };

	(void)state;
	assert_int_equal(log2_slot(0), 0);
	assert_int_equal(log2_slot(1), 1);
	assert_int_equal(log2_slot(2), 2);
	assert_int_equal(log2_slot(3), 2);
	assert_int_equal(log2_slot(4), 3);
	assert_int_equal(log2_slot(1023), 10);
	assert_int_equal(log2_slot(1024), 11);
	assert_int_equal(log2_slot(~0ull), HIST_SLOTS - 1);
	/* Branch-free in BPF: the bit length at every power of two and
	 * either side of it, clamped to the last slot. */
	for (int b = 0; b < 64; b++) {
		for (int d = -1; d <= 1; d++) {
			uint64_t v = (1ull << b) + d;
			unsigned int len = 0;

			for (uint64_t x = v; x; x >>= 1)
				len++;
			assert_int_equal(log2_slot(v), len < HIST_SLOTS ?
					 len : HIST_SLOTS - 1);
		}
	}

	assert_int_equal(hist_percentile(&h, 0.5), 0);
	assert_int_equal(hist_floor(&h), 0);
	h.slots[log2_slot(1000)] = 90;		/* [512, 1024) */
	h.slots[log2_slot(100000)] = 10;	/* [65536, 131072) */
	assert_int_equal(hist_percentile(&h, 0.5), 1024);
	assert_int_equal(hist_percentile(&h, 0.9), 1024);
	assert_int_equal(hist_percentile(&h, 0.99), 131072);
	/* The shortest: none below its bucket's lower bound. */
	assert_int_equal(hist_floor(&h), 512);
	h.slots[log2_slot(1)] = 1;		/* [1, 2) */
	assert_int_equal(hist_floor(&h), 1);
	h.slots[0] = 1;				/* 0 */
	assert_int_equal(hist_floor(&h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delta_subtracts_and_drops_idle_keys),
		cmocka_unit_test(delta_restarts_recreated_key),
		cmocka_unit_test(view_groups_vms_vcpus_and_reasons),
		cmocka_unit_test(reused_pid_is_another_vm),
		cmocka_unit_test(view_of_empty_sample),
		cmocka_unit_test(log2_slots_and_percentiles),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
