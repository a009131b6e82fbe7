// SPDX-License-Identifier: GPL-2.0
/* The exporter's own series: sums of what each read saw. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export_store.h"


/* FNV-1a over the name and the labels. */
static uint64_t series_hash(const char *name, const char *labels)
{
	uint64_t h = 1469598103934665603ull;
	const char *p;

	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (p = labels; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static bool same_series(const struct metric *e, const char *name,
			const char *labels)
{
	char have[320];

	if (strcmp(e->name, name))
		return false;
	metric_labels_string(e, have, sizeof(have));
	return !strcmp(have, labels);
}

static int index_rebuild(struct export_store *s)
{
	size_t size = 1024, i, slot;
	char labels[320];

	while (size < s->set.count * 2)
		size *= 2;
	free(s->index);
	s->index = calloc(size, sizeof(*s->index));
	if (!s->index) {
		s->index_size = 0;
		return -ENOMEM;
	}
	s->index_size = size;
	for (i = 0; i < s->set.count; i++) {
		metric_labels_string(&s->set.items[i], labels, sizeof(labels));
		slot = series_hash(s->set.items[i].name, labels) & (size - 1);
		while (s->index[slot])
			slot = (slot + 1) & (size - 1);
		s->index[slot] = i + 1;
	}
	return 0;
}

/* The item of m's series, or -1 with *slot where it would go. */
static long series_index(const struct export_store *s, const struct metric *m,
			 size_t *slot)
{
	char labels[320];
	size_t i;

	metric_labels_string(m, labels, sizeof(labels));
	i = series_hash(m->name, labels) & (s->index_size - 1);
	for (; s->index[i]; i = (i + 1) & (s->index_size - 1))
		if (same_series(&s->set.items[s->index[i] - 1], m->name,
				labels))
			return s->index[i] - 1;
	*slot = i;
	return -1;
}

int export_store_add(struct export_store *s, const struct metric *m,
		     size_t max_series)
{
	struct metric *e;
	size_t slot = 0;
	long idx;

	if ((s->set.count + 1) * 2 > s->index_size && index_rebuild(s))
		return -ENOMEM;
	idx = series_index(s, m, &slot);
	if (idx < 0) {
		if (m->per_entity && s->per_entity >= max_series) {
			s->dropped++;
			return 0;
		}
		e = metric_add(&s->set, m->type, m->unit, m->help, m->better,
			       "%s", m->name);
		if (!e)
			return -ENOMEM;
		if (s->set.capacity > 0) {
			double *g = realloc(s->gone_since, s->set.capacity *
					    sizeof(*g));
			bool *f;

			if (!g)
				return -ENOMEM;
			s->gone_since = g;
			f = realloc(s->fresh, s->set.capacity * sizeof(*f));
			if (!f)
				return -ENOMEM;
			s->fresh = f;
		}
		idx = s->set.count - 1;
		s->index[slot] = idx + 1;
		if (metric_copy(e, m)) {
			s->set.count--;
			s->index[slot] = 0;
			return -ENOMEM;
		}
		s->gone_since[idx] = 0;
		s->fresh[idx] = m->per_entity && m->type != METRIC_GAUGE;
		s->per_entity += m->per_entity;
		return 0;
	}
	e = &s->set.items[idx];
	e->unavailable = m->unavailable;
	if (m->type == METRIC_GAUGE || e->type != m->type) {
		e->value = m->value;
		return 0;
	}
	/* Counters and histograms: m holds the figures since the last read. */
	e->value += m->value;
	if (m->type == METRIC_HISTOGRAM) {
		if (metric_add_buckets(e, m))
			return -ENOMEM;
		e->sum += m->sum;
		e->sum_estimated |= m->sum_estimated;
	}
	return 0;
}

int export_store_expire(struct export_store *s, double now, double grace,
			bool (*alive)(const struct metric *m))
{
	size_t i = 0, before = s->set.count;

	while (i < s->set.count) {
		struct metric *m = &s->set.items[i];

		if (!m->per_entity || alive(m)) {
			s->gone_since[i++] = 0;
			continue;
		}
		if (!s->gone_since[i])
			s->gone_since[i] = now;
		if (now - s->gone_since[i] < grace) {
			i++;
			continue;
		}
		metric_release(m);
		memmove(m, m + 1, (s->set.count - i - 1) * sizeof(*m));
		memmove(&s->gone_since[i], &s->gone_since[i + 1],
			(s->set.count - i - 1) * sizeof(double));
		memmove(&s->fresh[i], &s->fresh[i + 1],
			(s->set.count - i - 1) * sizeof(bool));
		s->set.count--;
		s->per_entity--;
		s->expired++;
	}
	/* Items moved: the index points at the old places. */
	return s->set.count != before ? index_rebuild(s) : 0;
}

void export_store_exposed(struct export_store *s)
{
	if (s->fresh)
		memset(s->fresh, 0, s->set.count * sizeof(*s->fresh));
}

void export_store_free(struct export_store *s)
{
	metric_set_free(&s->set);
	free(s->gone_since);
	free(s->fresh);
	free(s->index);
	memset(s, 0, sizeof(*s));
}
