// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmwatch.h"
#include "metrics.h"
#include "vm_name.h"
#include "vm_ident.h"

struct metric *metric_add(struct metric_set *set, enum metric_type type,
			  const char *unit, const char *help,
			  enum metric_better better, const char *name_fmt, ...)
{
	struct metric *m;
	va_list ap;

	if (set->drain && set->count >= set->batch &&
	    set->drain(set, set->drain_arg))
		return NULL;
	if (set->count == set->capacity) {
		size_t cap = set->capacity ? set->capacity * 2 : 64;
		struct metric *items = realloc(set->items, cap * sizeof(*items));

		if (!items)
			return NULL;
		set->items = items;
		set->capacity = cap;
	}
	m = &set->items[set->count++];
	memset(m, 0, sizeof(*m));
	va_start(ap, name_fmt);
	vsnprintf(m->name, sizeof(m->name), name_fmt, ap);
	va_end(ap);
	m->type = type;
	m->unit = unit;
	m->help = help;
	m->better = better;
	return m;
}

int metric_label(struct metric *m, const char *key, const char *value_fmt, ...)
{
	char value[METRIC_LABEL_LEN];
	size_t klen = strnlen(key, METRIC_LABEL_KEY_LEN - 1), vlen;
	char *at = m->label_text + m->label_used;
	va_list ap;

	if (m->nlabels == METRIC_MAX_LABELS)
		return -E2BIG;
	va_start(ap, value_fmt);
	vsnprintf(value, sizeof(value), value_fmt, ap);
	va_end(ap);
	vlen = strlen(value);
	if (m->label_used + klen + vlen + 2 > sizeof(m->label_text))
		return -E2BIG;
	memcpy(at, key, klen);
	at[klen] = '\0';
	memcpy(at + klen + 1, value, vlen + 1);
	m->label_at[m->nlabels++] = m->label_used;
	m->label_used += klen + vlen + 2;
	if (!strcmp(key, "vm") || !strcmp(key, "vcpu"))
		m->per_entity = true;
	return 0;
}

const char *metric_label_value(const struct metric *m, int i)
{
	const char *key = metric_label_key(m, i);

	return key + strlen(key) + 1;
}

int metric_vm_labels(struct metric *m, uint32_t pid, uint64_t vm_start)
{
	const char *name;
	char start[METRIC_LABEL_LEN];

	if (metric_label(m, "vm", "%u", pid))
		return -E2BIG;
	if (!vm_start)
		return 0;
	vm_start_label(vm_start, start, sizeof(start));
	if (metric_label(m, "vm_start", "%s", start))
		return -E2BIG;
	/* Named once for good (core/vm_name.h): a series keeps its labels. */
	name = vm_name(pid, vm_start);
	return name[0] ? metric_label(m, "guest", "%s", name) : 0;
}

/* Slot i holds [2^(i-1), 2^i); slot 0 holds 0. */
static double slot_upper(int slot)
{
	return slot ? (double)(1ull << slot) : 0;
}

static double slot_floor(int slot)
{
	return slot ? (double)(1ull << (slot - 1)) : 0;
}

/* Slots up to the last one not 0 (0: all are). */
static int used_slots(const uint64_t *slots, int n)
{
	while (n > 0 && !slots[n - 1])
		n--;
	return n;
}

/* m's buckets grown to n slots, the new ones 0. -ENOMEM. */
static int grow_buckets(struct metric *m, int n)
{
	uint64_t *b;

	if (n <= m->nbuckets)
		return 0;
	b = realloc(m->buckets, n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	memset(b + m->nbuckets, 0, (n - m->nbuckets) * sizeof(*b));
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int metric_set_hist(struct metric *m, const uint32_t *slots, double sum)
{
	double estimate = 0;
	uint64_t count = 0;
	int i, used = 0;

	for (i = 0; i < HIST_SLOTS; i++) {
		count += slots[i];
		estimate += slots[i] * slot_floor(i);
		if (slots[i])
			used = i + 1;
	}
	/* Empty ones keep no buckets (most per-vCPU series of an
	 * interval), and none keeps its empty tail. */
	if (grow_buckets(m, used))
		return -ENOMEM;
	for (i = 0; i < m->nbuckets; i++)
		m->buckets[i] = i < used ? slots[i] : 0;
	m->value = count;
	m->sum = sum < 0 ? estimate : sum;
	m->sum_estimated = sum < 0;
	return 0;
}

uint64_t *metric_buckets(struct metric *m)
{
	return grow_buckets(m, HIST_SLOTS) ? NULL : m->buckets;
}

int metric_add_buckets(struct metric *m, const struct metric *from)
{
	int i, used = used_slots(from->buckets, from->nbuckets);

	if (grow_buckets(m, used))
		return -ENOMEM;
	for (i = 0; i < used; i++)
		m->buckets[i] += from->buckets[i];
	return 0;
}

int metric_copy(struct metric *dst, const struct metric *src)
{
	*dst = *src;
	dst->buckets = NULL;
	dst->nbuckets = 0;
	return metric_add_buckets(dst, src);
}

void metric_release(struct metric *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
}

double metric_hist_quantile(const struct metric *m, double p)
{
	uint64_t count = 0, seen = 0, rank;
	int i;

	for (i = 0; i < m->nbuckets; i++)
		count += m->buckets[i];
	if (!count)
		return 0;
	rank = (uint64_t)(p * count + 0.5);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < m->nbuckets; i++) {
		seen += m->buckets[i];
		if (seen >= rank)
			return slot_upper(i);
	}
	return slot_upper(HIST_SLOTS - 1);
}

double metric_hist_interpolated(const struct metric *m, double p)
{
	double count = 0, seen = 0, rank, lo, hi;
	int i;

	for (i = 0; i < m->nbuckets; i++)
		count += m->buckets[i];
	if (!count)
		return 0;
	rank = p * count;
	for (i = 0; i < m->nbuckets; i++) {
		if (!m->buckets[i] || seen + m->buckets[i] < rank) {
			seen += m->buckets[i];
			continue;
		}
		lo = slot_floor(i);
		hi = slot_upper(i);
		return lo + (hi - lo) * (rank - seen) / m->buckets[i];
	}
	return slot_upper(HIST_SLOTS - 1);
}

void metric_labels_string(const struct metric *m, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < m->nlabels && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s=%s",
				 i ? "," : "", metric_label_key(m, i),
				 metric_label_value(m, i));
}

const struct metric *metric_find(const struct metric_set *set,
				 const char *name, const char *labels)
{
	char buf[METRIC_MAX_LABELS * (METRIC_LABEL_LEN + 18)];
	size_t i;

	for (i = 0; i < set->count; i++) {
		if (strcmp(set->items[i].name, name))
			continue;
		metric_labels_string(&set->items[i], buf, sizeof(buf));
		if (!strcmp(buf, labels ? labels : ""))
			return &set->items[i];
	}
	return NULL;
}

void metric_set_free(struct metric_set *set)
{
	size_t i;

	for (i = 0; i < set->count; i++)
		metric_release(&set->items[i]);
	free(set->items);
	memset(set, 0, sizeof(*set));
}

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

static const char *const better_names[] = {
	[BETTER_LOWER] = "lower",
	[BETTER_HIGHER] = "higher",
	[BETTER_NEITHER] = "neither",
};

static const char *const stat_names[] = {
	[METRIC_STAT_MEDIAN] = "median",
	[METRIC_STAT_MEAN] = "mean",
};

const char *metric_type_name(enum metric_type type)
{
	return type_names[type <= METRIC_HISTOGRAM ? type : METRIC_HISTOGRAM];
}

int metric_type_parse(const char *name, enum metric_type *out)
{
	int i = string_index(type_names, ARRAY_SIZE(type_names), name);

	if (i < 0)
		return -EINVAL;
	*out = i;
	return 0;
}

const char *metric_better_name(enum metric_better better)
{
	return better_names[better <= BETTER_NEITHER ? better : BETTER_NEITHER];
}

int metric_better_parse(const char *name, enum metric_better *out)
{
	int i = string_index(better_names, ARRAY_SIZE(better_names), name);

	if (i < 0)
		return -EINVAL;
	*out = i;
	return 0;
}

const char *metric_stat_name(enum metric_stat stat)
{
	return stat_names[stat <= METRIC_STAT_MEAN ? stat : METRIC_STAT_MEDIAN];
}

int metric_stat_parse(const char *name, enum metric_stat *out)
{
	int i = string_index(stat_names, ARRAY_SIZE(stat_names), name);

	if (i < 0)
		return -EINVAL;
	*out = i;
	return 0;
}
