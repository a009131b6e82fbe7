// SPDX-License-Identifier: GPL-2.0
/* Command-line value parsing: bad input must be refused, not guessed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../own_start.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "core/bpf_maps.h"
#include "core/kvmwatch.h"
#include "core/vm_ident.h"

static void uints(void **state)
{
	unsigned long v;

	(void)state;
	assert_true(parse_uint("42", 100, &v));
	assert_int_equal(v, 42);
	assert_false(parse_uint("", 100, &v));
	assert_false(parse_uint("-1", 100, &v));
	assert_false(parse_uint("+1", 100, &v));
	assert_false(parse_uint("12x", 100, &v));
	assert_false(parse_uint("101", 100, &v));
	assert_false(parse_uint("99999999999999999999999", ~0ul, &v));
}

static void seconds(void **state)
{
	double v;

	(void)state;
	assert_true(parse_seconds("0.5", &v));
	assert_true(v == 0.5);
	assert_false(parse_seconds("0", &v));
	assert_false(parse_seconds("-2", &v));
	assert_false(parse_seconds("nan", &v));
	assert_false(parse_seconds("inf", &v));
	assert_false(parse_seconds("1s", &v));
}

static void formats(void **state)
{
	enum output_format f;

	(void)state;
	assert_int_equal(parse_output_format("json", &f), 0);
	assert_int_equal(f, OUTPUT_JSON);
	assert_int_equal(parse_output_format("text", &f), 0);
	assert_int_equal(f, OUTPUT_TEXT);
	assert_int_not_equal(parse_output_format("yaml", &f), 0);
}

struct vcpu_key {
	uint32_t pid;
	uint32_t tid;
	uint64_t vm_start;
};

struct vcpu_record {
	struct vcpu_key key;
	uint64_t figure;
};

/* A real hash map: the records of VM (20, 7) go; those of a later VM at
 * pid 20 (start 8) and of the other VMs stay. */
static void deletes_the_gone_vms_keys(void **state)
{
	const struct vcpu_record recs[] = {
		{ { 10, 11, 7 }, 1 }, { { 20, 21, 7 }, 2 },
		{ { 20, 22, 7 }, 3 }, { { 20, 21, 8 }, 4 },
		{ { 30, 31, 7 }, 5 },
	};
	const struct vm_ident gone[] = { { 20, 7 }, { 99, 7 } };
	uint64_t value = 0;
	size_t i;
	int fd;

	(void)state;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "kw_test", sizeof(struct vcpu_key),
			    sizeof(value), 8, NULL);
	if (fd < 0) {
		/* Not root (or no BPF): say so, do not pass silently. */
		fail_msg("bpf_map_create: %s (the unit tests run as root)",
			 strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(recs); i++)
		assert_int_equal(bpf_map_update_elem(fd, &recs[i].key,
						     &recs[i].figure, BPF_ANY), 0);
	assert_int_equal(map_delete_vms(fd, sizeof(struct vcpu_key),
					sizeof(struct vcpu_record),
					offsetof(struct vcpu_record, figure),
					offsetof(struct vcpu_record, key.pid),
					offsetof(struct vcpu_record, key.vm_start),
					gone, ARRAY_SIZE(gone)), 0);
	for (i = 0; i < ARRAY_SIZE(recs); i++)
		assert_int_equal(bpf_map_lookup_elem(fd, &recs[i].key, &value) == 0,
				 recs[i].key.pid != 20 || recs[i].key.vm_start != 7);
	close(fd);
}

struct chunks_seen {
	size_t calls, entries, biggest;
	uint8_t seen[1000];
	bool value_wrong;
};

static int count_chunk(void *recs, size_t n, void *arg)
{
	const struct vcpu_record *r = recs;
	struct chunks_seen *c = arg;
	size_t i;

	c->calls++;
	c->entries += n;
	c->biggest = n > c->biggest ? n : c->biggest;
	for (i = 0; i < n; i++) {
		c->seen[r[i].key.tid]++;
		c->value_wrong |= r[i].figure != r[i].key.tid * 3ull;
	}
	return 0;
}

/* A map of many entries comes a chunk at a time: each entry once, whole,
 * no chunk over the limit; the same by the iterator as by lookups. */
static void reads_a_map_in_chunks(void **state)
{
	struct vcpu_record r = { { 1, 0, 7 }, 0 };
	struct chunks_seen c = { 0 };
	size_t i;
	int fd;

	(void)state;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "kw_chunks",
			    sizeof(struct vcpu_key), sizeof(uint64_t), 1000,
			    NULL);
	if (fd < 0)
		fail_msg("bpf_map_create: %s (the unit tests run as root)",
			 strerror(errno));
	for (i = 0; i < 1000; i++) {
		r.key.tid = i;
		r.figure = i * 3;
		assert_int_equal(bpf_map_update_elem(fd, &r.key, &r.figure,
						     BPF_ANY), 0);
	}
	assert_int_equal(map_read_chunks(fd, sizeof(struct vcpu_key),
					 sizeof(struct vcpu_record),
					 offsetof(struct vcpu_record, figure),
					 MAP_CHUNK_RECS, count_chunk, &c), 0);
	assert_int_equal(c.entries, 1000);
	assert_true(c.calls >= 1000 / MAP_CHUNK_RECS);
	assert_true(c.biggest <= MAP_CHUNK_RECS);
	assert_false(c.value_wrong);
	for (i = 0; i < 1000; i++)
		assert_int_equal(c.seen[i], 1);
	close(fd);
}

/* A VM runs while its pid runs with the start the maps gave it: the same
 * pid with another start is a later process (a reused pid). */
static void vm_alive_needs_the_start(void **state)
{
	uint64_t start = own_start_ns();
	uint64_t tick = 1000000000ull / sysconf(_SC_CLK_TCK);
	struct vm_ident gone[4];
	const struct vm_ident vms[] = {
		{ getpid(), start + tick - 1 },		/* same tick */
		{ getpid(), start + tick },		/* later */
		{ 0x7ffffff0u, start },			/* no such pid */
	};

	(void)state;
	assert_true(vm_alive(getpid(), start));
	assert_true(vm_alive(getpid(), 0));
	assert_false(vm_alive(getpid(), start + tick));
	assert_false(vm_alive(0x7ffffff0u, 0));
	assert_int_equal(vms_gone(vms, ARRAY_SIZE(vms), gone,
				  ARRAY_SIZE(gone)), 2);
	assert_int_equal(gone[0].pid, getpid());
	assert_true(gone[0].start == start + tick);
	assert_int_equal(gone[1].pid, 0x7ffffff0u);
	/* Unix time of the start: after 2020, not after now. */
	assert_true(vm_start_unix(start) > 1.5e9);
	assert_true(vm_start_unix(start) <= (double)time(NULL) + 1);
	assert_true(vm_start_unix(0) == 0);
}

/* map_read_all() reads what a real map holds: through the iterator
 * where the kernel loads it (a lookup per entry would hold the CPU
 * against the counting programs), else by lookups; the VM suite reads
 * every detector's maps through it on the testbed's kernels. */
static void reads_a_map_whole(void **state)
{
	struct vcpu_record *got = NULL;
	uint64_t figure;
	size_t n, i, seen = 0;
	int fd;

	(void)state;
	print_message("map_read_all through %s\n", map_dump_open() ?
		      "the BPF iterator" :
		      "lookups (this kernel refuses tracing programs)");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "kw_read", sizeof(struct vcpu_key),
			    sizeof(figure), 512, NULL);
	assert_true(fd >= 0);
	for (i = 0; i < 300; i++) {
		struct vcpu_key key = { 1000 + i, 2000 + i, 7 * i };

		figure = i * 3;
		assert_int_equal(bpf_map_update_elem(fd, &key, &figure,
						     BPF_ANY), 0);
	}
	assert_int_equal(map_read_all(fd, sizeof(struct vcpu_key),
				      sizeof(*got),
				      offsetof(struct vcpu_record, figure),
				      (void **)&got, &n), 0);
	assert_int_equal(n, 300);
	for (i = 0; i < n; i++) {
		assert_int_equal(got[i].key.tid, got[i].key.pid + 1000);
		assert_true(got[i].figure == (got[i].key.pid - 1000) * 3);
		assert_true(got[i].key.vm_start == (got[i].key.pid - 1000) * 7);
		seen += got[i].key.pid;
	}
	assert_int_equal(seen, 300 * 1000 + 299 * 300 / 2);
	free(got);
	close(fd);
	map_dump_close();
}

static int compare_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* A thread read in both maps as it exits is one record. */
static void unique_keeps_one_of_each(void **state)
{
	int v[] = { 1, 1, 2, 3, 3, 3, 4 };
	size_t n = unique_sorted(v, ARRAY_SIZE(v), sizeof(v[0]), compare_int);

	(void)state;
	assert_int_equal(n, 4);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 2);
	assert_int_equal(v[2], 3);
	assert_int_equal(v[3], 4);
	assert_int_equal(unique_sorted(v, 0, sizeof(v[0]), compare_int), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uints),
		cmocka_unit_test(seconds),
		cmocka_unit_test(formats),
		cmocka_unit_test(deletes_the_gone_vms_keys),
		cmocka_unit_test(reads_a_map_in_chunks),
		cmocka_unit_test(vm_alive_needs_the_start),
		cmocka_unit_test(unique_keeps_one_of_each),
		cmocka_unit_test(reads_a_map_whole),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
