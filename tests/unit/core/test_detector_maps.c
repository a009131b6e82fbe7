// SPDX-License-Identifier: GPL-2.0
/* Which VMs a read finds gone: every map's records, by pid and start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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
			    bus, kept, nkept) },
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
	struct vm_ident gone[8];
	size_t n, i;

	(void)state;
	n = detector_find_gone(&fake_ops, &s, gone, ARRAY_SIZE(gone));
	assert_int_equal(n, 3);
	assert_true(vm_listed(getpid(), later, gone, n));
	assert_true(vm_listed(GONE_PID, start, gone, n));
	assert_true(vm_listed(GONE_PID - 1, start, gone, n));
	for (i = 0; i < n; i++)
		assert_int_not_equal(gone[i].pid, GONE_PID - 2);
	/* At most max. */
	assert_int_equal(detector_find_gone(&fake_ops, &s, gone, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gone_vms_of_every_map),
	};

	return cmocka_run_group_tests_name("detector maps", tests, NULL, NULL);
}
