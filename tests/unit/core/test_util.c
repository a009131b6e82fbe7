// SPDX-License-Identifier: GPL-2.0
/* Command-line value parsing: bad input must be refused, not guessed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "core/bpf_maps.h"
#include "core/kvmwatch.h"

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
};

struct vcpu_record {
	uint64_t figure;
	struct vcpu_key key;
};

/* A real hash map: the records of pid 20 go, the others stay. */
static void deletes_the_listed_ids_keys(void **state)
{
	const struct vcpu_record recs[] = {
		{ 1, { 10, 11 } }, { 2, { 20, 21 } }, { 3, { 20, 22 } },
		{ 4, { 30, 31 } },
	};
	const uint32_t gone[] = { 20, 99 };
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
	for (i = 0; i < 4; i++)
		assert_int_equal(bpf_map_update_elem(fd, &recs[i].key,
						     &recs[i].figure, BPF_ANY), 0);
	MAP_DELETE_LISTED(fd, recs, 4, key.pid, key, gone, 2);
	for (i = 0; i < 4; i++)
		assert_int_equal(bpf_map_lookup_elem(fd, &recs[i].key, &value) == 0,
				 recs[i].key.pid != 20);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uints),
		cmocka_unit_test(seconds),
		cmocka_unit_test(formats),
		cmocka_unit_test(deletes_the_listed_ids_keys),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
