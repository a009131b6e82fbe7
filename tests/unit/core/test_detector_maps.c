// SPDX-License-Identifier: GPL-2.0
/* Which VMs a read finds gone: every map's records, by pid and start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../own_start.h"

#include "core/detector.h"

#define GONE_PID 0x7ffffff0u

struct stat_record {
	struct { uint32_t pid, tid; uint64_t vm_start; } key;
	uint64_t writes;
};

struct vm_record {
	struct { uint32_t pid, pad; uint64_t vm_start; } key;
	uint64_t bus;
};

struct fake_sample {
	struct stat_record *stats;
	size_t nstats;
	struct vm_record *vms;
	size_t nvms;
	struct vm_record *kept;
	size_t nkept;
};

static const struct detector_map fake_maps[] = {
	{ DETECTOR_MAP(struct fake_sample, stats, 16, struct stat_record,
		       writes, stats, nstats, key.pid, key.vm_start) },
	{ DETECTOR_MAP(struct fake_sample, vms, 16, struct vm_record, bus,
		       vms, nvms, key.pid, key.vm_start) },
	{ DETECTOR_KEPT_MAP(struct fake_sample, kept, 16, struct vm_record,
			    bus, kept, nkept, key.pid, key.vm_start) },
};

static const struct detector_ops fake_ops = {
	.maps = fake_maps,
	.nmaps = ARRAY_SIZE(fake_maps),
};

/* A VM with records in one map only is found as well as one in several;
 * each gone VM once; a running one, and a kept map's, never. */
static void gone_vms_of_every_map(void **state)
{
	uint64_t start = own_start_ns(), later = start + 1000000000ull;
	struct stat_record stats[] = {
		{ { getpid(), 1, start }, 5 },		/* runs */
		{ { getpid(), 2, later }, 5 },		/* a reused pid */
		{ { GONE_PID, 3, start }, 5 },
		{ { GONE_PID, 4, start }, 5 },		/* the same VM */
	};
	struct vm_record vms[] = {
		{ { GONE_PID - 1, 0, start }, 1 },	/* no stats at all */
		{ { getpid(), 0, start }, 1 },
	};
	struct vm_record kept[] = { { { GONE_PID - 2, 0, start }, 1 } };
	struct fake_sample s = { stats, ARRAY_SIZE(stats), vms,
				 ARRAY_SIZE(vms), kept, ARRAY_SIZE(kept) };
	struct vm_ident gone[8], *seen;
	size_t n, nseen, i;

	(void)state;
	seen = detector_vms(&fake_ops, &s, &nseen);
	assert_non_null(seen);
	n = vms_gone(seen, nseen, gone, ARRAY_SIZE(gone));
	assert_int_equal(n, 3);
	assert_true(vm_listed(getpid(), later, gone, n));
	assert_true(vm_listed(GONE_PID, start, gone, n));
	assert_true(vm_listed(GONE_PID - 1, start, gone, n));
	for (i = 0; i < n; i++)
		assert_int_not_equal(gone[i].pid, GONE_PID - 2);
	/* At most max. */
	assert_int_equal(vms_gone(seen, nseen, gone, 1), 1);
	free(seen);
}

static bool only_pid(uint32_t pid, uint64_t start, const void *arg)
{
	(void)start;
	return pid == *(const uint32_t *)arg;
}

/* A filter keeps its VMs' records in every map, in order, a kept map's
 * too (a teardown of another VM is not shown either). */
static void keeps_only_the_filtered_vms(void **state)
{
	struct stat_record stats[] = {
		{ { 10, 1, 5 }, 1 }, { { 11, 2, 5 }, 2 },
		{ { 10, 3, 5 }, 3 }, { { 12, 4, 5 }, 4 },
	};
	struct vm_record vms[] = { { { 11, 0, 5 }, 1 }, { { 10, 0, 5 }, 2 } };
	struct vm_record kept[] = { { { 11, 0, 5 }, 1 }, { { 10, 0, 5 }, 7 } };
	struct fake_sample s = { stats, ARRAY_SIZE(stats), vms,
				 ARRAY_SIZE(vms), kept, ARRAY_SIZE(kept) };
	uint32_t pid = 10;

	(void)state;
	detector_keep_vms(&fake_ops, &s, only_pid, &pid);
	assert_int_equal(s.nstats, 2);
	assert_int_equal(s.stats[0].writes, 1);
	assert_int_equal(s.stats[1].writes, 3);
	assert_int_equal(s.nvms, 1);
	assert_int_equal(s.vms[0].bus, 2);
	assert_int_equal(s.nkept, 1);
	assert_int_equal(s.kept[0].bus, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gone_vms_of_every_map),
		cmocka_unit_test(keeps_only_the_filtered_vms),
	};

	return cmocka_run_group_tests_name("detector maps", tests, NULL, NULL);
}
