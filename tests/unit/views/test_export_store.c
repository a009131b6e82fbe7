// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter's series: counters and histograms only grow across reads,
 * gauges follow the last read, per-VM series are capped and dropped a
 * grace period after their VM is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "views/export_store.h"

/* One read's figures: a total, a gauge, a histogram, two VMs' counters. */
static void read_figures(struct metric_set *set, double exits, double gauge,
			 const int *vms, size_t nvms)
{
	uint32_t slots[HIST_SLOTS] = { 0 };
	struct metric *m;
	size_t i;

	m = metric_add(set, METRIC_COUNTER, "exits", "h", BETTER_LOWER,
		       "exits.exits");
	m->value = exits;
	m = metric_add(set, METRIC_GAUGE, "callbacks", "h", BETTER_LOWER,
		       "timer.longest_chain");
	m->value = gauge;
	slots[3] = 2;
	m = metric_add(set, METRIC_HISTOGRAM, "ns", "h", BETTER_LOWER,
		       "timer.lateness_ns");
	metric_set_hist(m, slots, 10);
	for (i = 0; i < nvms; i++) {
		m = metric_add(set, METRIC_COUNTER, "exits", "h", BETTER_LOWER,
			       "exits.vm_exits");
		metric_label(m, "vm", "%d", vms[i]);
		m->value = exits / nvms;
	}
}

static void add_read(struct export_store *s, double exits, double gauge,
		     const int *vms, size_t nvms, size_t max)
{
	struct metric_set set = { 0 };
	size_t i;

	read_figures(&set, exits, gauge, vms, nvms);
	for (i = 0; i < set.count; i++)
		assert_int_equal(export_store_add(s, &set.items[i], max), 0);
	metric_set_free(&set);
}

static void counters_grow_gauges_follow(void **state)
{
	static const int vms[] = { 100, 200 };
	struct export_store s = { 0 };
	const struct metric *m;

	(void)state;
	add_read(&s, 10, 5, vms, 2, 100);
	add_read(&s, 30, 2, vms, 2, 100);
	m = metric_find(&s.set, "exits.exits", "");
	assert_float_equal(m->value, 40, 0);
	m = metric_find(&s.set, "timer.longest_chain", "");
	assert_float_equal(m->value, 2, 0);
	m = metric_find(&s.set, "timer.lateness_ns", "");
	assert_int_equal(m->buckets[3], 4);
	assert_float_equal(m->value, 4, 0);
	assert_float_equal(m->sum, 20, 0);
	m = metric_find(&s.set, "exits.vm_exits", "vm=200");
	assert_float_equal(m->value, 20, 0);
	assert_int_equal(s.set.count, 5);
	assert_int_equal(s.per_entity, 2);
	export_store_free(&s);
}

static int gone_vm = 200;

static bool alive(const struct metric *m)
{
	char want[16];

	snprintf(want, sizeof(want), "%d", gone_vm);
	return !m->nlabels || strcmp(metric_label_value(m, 0), want);
}

static void gone_vms_dropped_after_grace(void **state)
{
	static const int vms[] = { 100, 200, 300 };
	struct export_store s = { 0 };

	(void)state;
	add_read(&s, 30, 1, vms, 3, 100);
	assert_int_equal(export_store_expire(&s, 100, 60, alive), 0);
	assert_non_null(metric_find(&s.set, "exits.vm_exits", "vm=200"));
	assert_int_equal(export_store_expire(&s, 159, 60, alive), 0);
	assert_non_null(metric_find(&s.set, "exits.vm_exits", "vm=200"));
	assert_int_equal(export_store_expire(&s, 161, 60, alive), 0);
	assert_null(metric_find(&s.set, "exits.vm_exits", "vm=200"));
	assert_int_equal(s.expired, 1);
	assert_int_equal(s.per_entity, 2);
	/* Totals stay, and the index still finds every series. */
	add_read(&s, 30, 1, vms, 3, 100);
	assert_float_equal(metric_find(&s.set, "exits.exits", "")->value, 60, 0);
	assert_float_equal(metric_find(&s.set, "exits.vm_exits", "vm=300")->value,
			   20, 0);
	/* The pid came back (reused): a new series from zero. */
	assert_float_equal(metric_find(&s.set, "exits.vm_exits", "vm=200")->value,
			   10, 0);
	assert_int_equal(s.set.count, 6);
	export_store_free(&s);
}

static void per_vm_series_capped(void **state)
{
	int vms[3000];
	struct export_store s = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < 3000; i++)
		vms[i] = 1000 + i;
	add_read(&s, 3000, 1, vms, 3000, 2500);
	assert_int_equal(s.per_entity, 2500);
	assert_int_equal(s.dropped, 500);
	/* Run totals are never capped. */
	assert_float_equal(metric_find(&s.set, "exits.exits", "")->value, 3000, 0);
	add_read(&s, 3000, 1, vms, 3000, 2500);
	assert_float_equal(metric_find(&s.set, "exits.vm_exits", "vm=3499")->value,
			   2, 0);
	assert_null(metric_find(&s.set, "exits.vm_exits", "vm=3500"));
	assert_int_equal(s.dropped, 1000);
	export_store_free(&s);
}

static bool fresh(const struct export_store *s, const char *name,
		  const char *labels)
{
	const struct metric *m = metric_find(&s->set, name, labels);

	assert_non_null(m);
	return s->fresh[m - s->set.items];
}

/* A new VM's counters are shown at 0 once (rate() sees their first
 * figures); run totals and gauges never are. */
static void new_vm_series_fresh_until_exposed(void **state)
{
	static const int first[] = { 100, 200 }, later[] = { 100, 300 };
	struct export_store s = { 0 };

	(void)state;
	add_read(&s, 10, 5, first, 2, 100);
	assert_true(fresh(&s, "exits.vm_exits", "vm=100"));
	assert_true(fresh(&s, "exits.vm_exits", "vm=200"));
	assert_false(fresh(&s, "exits.exits", ""));
	assert_false(fresh(&s, "timer.longest_chain", ""));
	assert_false(fresh(&s, "timer.lateness_ns", ""));
	export_store_exposed(&s);
	assert_false(fresh(&s, "exits.vm_exits", "vm=100"));
	add_read(&s, 10, 5, later, 2, 100);
	assert_false(fresh(&s, "exits.vm_exits", "vm=100"));
	assert_true(fresh(&s, "exits.vm_exits", "vm=300"));
	/* Dropping a series keeps the flags beside their series. */
	gone_vm = 200;
	assert_int_equal(export_store_expire(&s, 100, 0, alive), 0);
	assert_null(metric_find(&s.set, "exits.vm_exits", "vm=200"));
	assert_true(fresh(&s, "exits.vm_exits", "vm=300"));
	assert_false(fresh(&s, "exits.vm_exits", "vm=100"));
	export_store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_vm_series_fresh_until_exposed),
		cmocka_unit_test(counters_grow_gauges_follow),
		cmocka_unit_test(gone_vms_dropped_after_grace),
		cmocka_unit_test(per_vm_series_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
