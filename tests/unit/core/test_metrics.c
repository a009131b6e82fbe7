// SPDX-License-Identifier: GPL-2.0
/*
 * A metric keeps its labels packed in one buffer and its histogram
 * buckets apart, only when it has counts: what it reads back, where the
 * limits are, and that a copy owns its own buckets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/metrics.h"

static struct metric *new_metric(struct metric_set *set, enum metric_type t)
{
	struct metric *m = metric_add(set, t, "ns", "h", BETTER_LOWER,
				      "pmu.op_cost_ns");

	assert_non_null(m);
	return m;
}

static void labels_read_back(void **state)
{
	struct metric_set set = { 0 };
	struct metric *m = new_metric(&set, METRIC_COUNTER);
	char text[256];

	(void)state;
	assert_int_equal(metric_label(m, "vm", "%u", 4242), 0);
	assert_int_equal(metric_label(m, "vm_start", "%s", "1764935654.12"), 0);
	assert_int_equal(metric_label(m, "op", "%s", ""), 0);
	assert_int_equal(metric_label(m, "vcpu", "%d", 3), 0);
	assert_int_equal(m->nlabels, 4);
	assert_true(m->per_entity);
	assert_string_equal(metric_label_key(m, 1), "vm_start");
	assert_string_equal(metric_label_value(m, 1), "1764935654.12");
	assert_string_equal(metric_label_value(m, 2), "");
	assert_string_equal(metric_label_value(m, 3), "3");
	metric_labels_string(m, text, sizeof(text));
	assert_string_equal(text, "vm=4242,vm_start=1764935654.12,op=,vcpu=3");
	assert_ptr_equal(metric_find(&set, "pmu.op_cost_ns", text), m);
	metric_set_free(&set);
}

static void label_limits(void **state)
{
	struct metric_set set = { 0 };
	struct metric *m = new_metric(&set, METRIC_GAUGE);
	char long_value[100], text[512];
	int i, err = 0;

	(void)state;
	memset(long_value, 'g', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	/* A value is cut at 63 characters, a key at 15. */
	assert_int_equal(metric_label(m, "guest", "%s", long_value), 0);
	assert_int_equal(strlen(metric_label_value(m, 0)), METRIC_LABEL_LEN - 1);
	assert_int_equal(metric_label(m, "a_key_longer_than_15", "1"), 0);
	assert_int_equal(strlen(metric_label_key(m, 1)),
			 METRIC_LABEL_KEY_LEN - 1);
	/* Full text: refused, and the metric is as it was. */
	metric_labels_string(m, text, sizeof(text));
	for (i = 0; i < 3 && !err; i++)
		err = metric_label(m, "guest", "%s", long_value);
	assert_int_equal(err, -E2BIG);
	assert_true(m->nlabels < METRIC_MAX_LABELS);
	assert_true(m->label_used <= METRIC_LABEL_TEXT);
	for (i = 0; i < m->nlabels; i++)
		assert_string_equal(metric_label_key(m, i),
				    i == 1 ? "a_key_longer_th" : "guest");
	/* Six short ones fit; a seventh does not. */
	m = new_metric(&set, METRIC_GAUGE);
	for (i = 0; i < METRIC_MAX_LABELS; i++)
		assert_int_equal(metric_label(m, "k", "%d", i), 0);
	assert_int_equal(metric_label(m, "k", "6"), -E2BIG);
	assert_int_equal(m->nlabels, METRIC_MAX_LABELS);
	metric_set_free(&set);
}

static void buckets_only_with_counts(void **state)
{
	uint32_t none[HIST_SLOTS] = { 0 }, some[HIST_SLOTS] = { 0 };
	struct metric_set set = { 0 };
	struct metric *m = new_metric(&set, METRIC_HISTOGRAM);

	(void)state;
	assert_int_equal(metric_set_hist(m, none, -1), 0);
	assert_null(m->buckets);
	assert_float_equal(m->value, 0, 0);
	assert_int_equal(metric_bucket(m, 5), 0);
	assert_float_equal(metric_hist_quantile(m, 0.5), 0, 0);
	some[5] = 7;
	assert_int_equal(metric_set_hist(m, some, 100), 0);
	assert_non_null(m->buckets);
	assert_int_equal(metric_bucket(m, 5), 7);
	assert_float_equal(m->value, 7, 0);
	assert_float_equal(metric_hist_quantile(m, 0.5), 32, 0);
	/* Set again with nothing: the old counts do not stay. */
	assert_int_equal(metric_set_hist(m, none, -1), 0);
	assert_int_equal(metric_bucket(m, 5), 0);
	assert_float_equal(m->value, 0, 0);
	metric_set_free(&set);
}

static void copies_own_their_buckets(void **state)
{
	uint32_t slots[HIST_SLOTS] = { 0 };
	struct metric_set set = { 0 };
	struct metric *m = new_metric(&set, METRIC_HISTOGRAM), copy, sum;

	(void)state;
	slots[2] = 3;
	assert_int_equal(metric_label(m, "op", "load"), 0);
	assert_int_equal(metric_set_hist(m, slots, -1), 0);
	assert_int_equal(metric_copy(&copy, m), 0);
	assert_ptr_not_equal(copy.buckets, m->buckets);
	assert_string_equal(metric_label_value(&copy, 0), "load");
	m->buckets[2] = 100;
	assert_int_equal(metric_bucket(&copy, 2), 3);
	/* Adding into one without buckets gives it some. */
	memset(&sum, 0, sizeof(sum));
	assert_int_equal(metric_add_buckets(&sum, &copy), 0);
	assert_int_equal(metric_add_buckets(&sum, m), 0);
	assert_int_equal(metric_bucket(&sum, 2), 103);
	metric_release(&copy);
	assert_null(copy.buckets);
	metric_release(&sum);
	metric_set_free(&set);
}

/* A histogram keeps slots only up to its last count: the exporter's
 * store holds thousands. Adding a wider one grows it. */
static void buckets_without_empty_tail(void **state)
{
	uint32_t low[HIST_SLOTS] = { 0 }, high[HIST_SLOTS] = { 0 };
	struct metric_set set = { 0 };
	struct metric *m = new_metric(&set, METRIC_HISTOGRAM), sum;
	uint64_t *full;

	(void)state;
	low[3] = 4;
	low[9] = 1;
	high[20] = 2;
	assert_int_equal(metric_set_hist(m, low, -1), 0);
	assert_int_equal(m->nbuckets, 10);
	assert_int_equal(metric_bucket(m, 9), 1);
	assert_int_equal(metric_bucket(m, 10), 0);
	assert_int_equal(metric_bucket(m, HIST_SLOTS - 1), 0);
	assert_float_equal(metric_hist_quantile(m, 1.0), 512, 0);
	memset(&sum, 0, sizeof(sum));
	assert_int_equal(metric_add_buckets(&sum, m), 0);
	assert_int_equal(sum.nbuckets, 10);
	assert_int_equal(metric_set_hist(m, high, -1), 0);
	assert_int_equal(m->nbuckets, 21);
	assert_int_equal(metric_bucket(m, 3), 0);
	assert_int_equal(metric_add_buckets(&sum, m), 0);
	assert_int_equal(sum.nbuckets, 21);
	assert_int_equal(metric_bucket(&sum, 3), 4);
	assert_int_equal(metric_bucket(&sum, 20), 2);
	assert_float_equal(sum.value, 0, 0);
	/* A writer gets every slot; a copy of it only the used ones. */
	metric_release(&sum);
	full = metric_buckets(&sum);
	assert_non_null(full);
	assert_int_equal(sum.nbuckets, HIST_SLOTS);
	full[5] = 1;
	metric_release(m);
	assert_int_equal(m->nbuckets, 0);
	assert_int_equal(metric_copy(m, &sum), 0);
	assert_int_equal(m->nbuckets, 6);
	assert_int_equal(metric_bucket(m, 5), 1);
	metric_release(&sum);
	metric_set_free(&set);
}

struct drained {
	double sum;		/* of the values handed over */
	size_t metrics, calls, most;
	bool fail;
};

static int take(struct metric_set *set, void *arg)
{
	struct drained *d = arg;
	size_t i;

	d->calls++;
	if (set->count > d->most)
		d->most = set->count;
	for (i = 0; i < set->count; i++) {
		d->sum += set->items[i].value;
		metric_release(&set->items[i]);
	}
	d->metrics += set->count;
	set->count = 0;
	return d->fail ? -ENOMEM : 0;
}

/* A set with a drain never holds more than its batch: each complete
 * batch goes before the next metric, and none is lost. */
static void drained_a_batch_at_a_time(void **state)
{
	struct drained d = { 0 };
	struct metric_set set = { .drain = take, .drain_arg = &d, .batch = 4 };
	struct metric *m;
	int i;

	(void)state;
	for (i = 1; i <= 10; i++) {
		m = metric_add(&set, METRIC_HISTOGRAM, "ns", "h", BETTER_LOWER,
			       "a.b");
		assert_non_null(m);
		assert_int_equal(metric_set_hist(m, (uint32_t[HIST_SLOTS]){
			[3] = 1 }, -1), 0);
		m->value = i;
	}
	assert_int_equal(d.calls, 2);
	assert_int_equal(set.count, 2);
	assert_int_equal(take(&set, &d), 0);
	assert_int_equal(d.metrics, 10);
	assert_int_equal(d.most, 4);
	assert_true(d.sum == 55);
	/* A drain that fails fails the next metric_add. */
	d.fail = true;
	for (i = 0; i < 4; i++)
		assert_non_null(metric_add(&set, METRIC_COUNTER, NULL, "h",
					   BETTER_LOWER, "c"));
	assert_null(metric_add(&set, METRIC_COUNTER, NULL, "h", BETTER_LOWER,
			       "c"));
	metric_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(labels_read_back),
		cmocka_unit_test(label_limits),
		cmocka_unit_test(buckets_only_with_counts),
		cmocka_unit_test(copies_own_their_buckets),
		cmocka_unit_test(buckets_without_empty_tail),
		cmocka_unit_test(drained_a_batch_at_a_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
