// SPDX-License-Identifier: GPL-2.0
/* Prometheus text exposition of flat metrics. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "core/kvmwatch.h"

/* Prometheus wants base units: a time in ns, us or ms is exported in
 * seconds, its name ending in _seconds, not _ms. */
static const struct {
	const char *unit;
	double to_seconds;
} time_units[] = { { "ns", 1e-9 }, { "us", 1e-6 }, { "ms", 1e-3 } };

/* The factor to seconds of a time metric, else 0. */
static double time_scale(const struct metric *m)
{
	size_t i;

	for (i = 0; m->unit && i < ARRAY_SIZE(time_units); i++)
		if (!strcmp(m->unit, time_units[i].unit))
			return time_units[i].to_seconds;
	return 0;
}

/* A time metric's name without its "_ns"-style unit suffix: its length. */
static size_t name_without_unit(const struct metric *m)
{
	size_t n = strlen(m->name), u;

	if (!time_scale(m))
		return n;
	u = strlen(m->unit);
	if (n > u + 1 && m->name[n - u - 1] == '_' &&
	    !strcmp(m->name + n - u, m->unit))
		return n - u - 1;
	return n;
}

/* What a value is multiplied by in the exposition: to seconds, or 1. */
static double value_scale(const struct metric *m)
{
	return time_scale(m) ? time_scale(m) : 1;
}

/* Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]*, lower case here. */
static void append_sanitised(char *buf, size_t len, size_t *used,
			     const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] && *used + 1 < len; i++) {
		char c = s[i];

		buf[(*used)++] = isalnum((unsigned char)c) ? tolower(c) : '_';
	}
	buf[*used] = '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix) &&
		(a == b || s[a - b - 1] == '_');
}

/* Is word one of the _-separated words of s? */
static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = s; (p = strstr(p, word)); p++)
		if ((p == s || p[-1] == '_') && (!p[n] || p[n] == '_'))
			return true;
	return false;
}

void prom_name(const struct metric *m, char *buf, size_t len)
{
	size_t used = 0;
	char unit[32] = "";

	append_sanitised(buf, len, &used, "kvmwatch_", 9);
	append_sanitised(buf, len, &used, m->name, name_without_unit(m));
	if (time_scale(m)) {
		snprintf(unit, sizeof(unit), "seconds");
	} else if (m->unit && *m->unit) {
		size_t u = 0;

		append_sanitised(unit, sizeof(unit), &u, m->unit,
				 strlen(m->unit));
	}
	/* "exits_per_write" already says what it counts. */
	if (unit[0] && !has_word(buf + 9, unit)) {
		append_sanitised(buf, len, &used, "_", 1);
		append_sanitised(buf, len, &used, unit, strlen(unit));
	}
	if (m->type == METRIC_COUNTER && !ends_with(buf, "total"))
		append_sanitised(buf, len, &used, "_total", 6);
}

void prom_escape_label(FILE *out, const char *value)
{
	for (; *value; value++) {
		if (*value == '\\')
			fputs("\\\\", out);
		else if (*value == '"')
			fputs("\\\"", out);
		else if (*value == '\n')
			fputs("\\n", out);
		else
			fputc(*value, out);
	}
}

static void escape_help(FILE *out, const char *text)
{
	for (; *text; text++) {
		if (*text == '\\')
			fputs("\\\\", out);
		else if (*text == '\n')
			fputs("\\n", out);
		else
			fputc(*text, out);
	}
}

static void put_value(FILE *out, double v)
{
	if (isnan(v))
		fputs("NaN", out);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", out);
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(out, "%.0f", v);
	else {
		/* The shortest form that reads back as the same double. */
		char buf[32];
		int prec;

		for (prec = 15; prec < 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		if (prec == 17)
			snprintf(buf, sizeof(buf), "%.17g", v);
		fputs(buf, out);
	}
}

/* {k="v",...,extra="x"} or nothing. */
static void put_labels(FILE *out, const struct metric *m, const char *extra_key,
		       const char *extra_value)
{
	char key[32];
	size_t used;
	int i;

	if (!m->nlabels && !extra_key)
		return;
	fputc('{', out);
	for (i = 0; i < m->nlabels; i++) {
		used = 0;
		append_sanitised(key, sizeof(key), &used,
				 metric_label_key(m, i),
				 strlen(metric_label_key(m, i)));
		/* A label name may not start with a digit. */
		fprintf(out, "%s%s%s=\"", i ? "," : "",
			isdigit((unsigned char)key[0]) ? "_" : "", key);
		prom_escape_label(out, metric_label_value(m, i));
		fputc('"', out);
	}
	if (extra_key)
		fprintf(out, "%s%s=\"%s\"", m->nlabels ? "," : "", extra_key,
			extra_value);
	fputc('}', out);
}

static void put_histogram(FILE *out, const char *name, const struct metric *m,
			  bool zero)
{
	double scale = value_scale(m);
	uint64_t cumulative = 0, count = 0;
	char le[48];
	int i, last = -1;

	for (i = 0; i < HIST_SLOTS && !zero; i++) {
		count += metric_bucket(m, i);
		if (metric_bucket(m, i))
			last = i;
	}
	/* The last slot is open-ended (it also holds everything beyond), so
	 * only +Inf covers it. */
	if (last == HIST_SLOTS - 1)
		last--;
	for (i = 0; i <= last; i++) {
		cumulative += metric_bucket(m, i);
		/* Up to 2^38 - 1: at most 12 digits, exact in %.12g. */
		snprintf(le, sizeof(le), "%.12g",
			 ((double)(1ull << i) - 1) * scale);
		fprintf(out, "%s_bucket", name);
		put_labels(out, m, "le", le);
		fprintf(out, " %llu\n", (unsigned long long)cumulative);
	}
	fprintf(out, "%s_bucket", name);
	put_labels(out, m, "le", "+Inf");
	fprintf(out, " %llu\n", (unsigned long long)count);
	fprintf(out, "%s_sum", name);
	put_labels(out, m, NULL, NULL);
	fputc(' ', out);
	put_value(out, zero ? 0 : m->sum * scale);
	fprintf(out, "\n%s_count", name);
	put_labels(out, m, NULL, NULL);
	fprintf(out, " %llu\n", (unsigned long long)count);
}

static const char *type_name(enum metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" :
		"histogram";
}

int prom_render(FILE *out, const struct metric_set *set)
{
	return prom_render_zeroed(out, set, NULL);
}

int prom_render_zeroed(FILE *out, const struct metric_set *set,
		       const bool *as_zero)
{
	char name[PROM_NAME_LEN], other[PROM_NAME_LEN];
	bool *done, zero;
	size_t i, j;

	if (!set->count)
		return ferror(out) ? -EIO : 0;
	done = calloc(set->count, sizeof(*done));
	if (!done)
		return -ENOMEM;
	for (i = 0; i < set->count; i++) {
		const struct metric *first = &set->items[i];
		bool header = false;

		if (done[i])
			continue;
		prom_name(first, name, sizeof(name));
		/* The whole family, wherever its series are in the set. */
		for (j = i; j < set->count; j++) {
			const struct metric *m = &set->items[j];

			if (done[j])
				continue;
			prom_name(m, other, sizeof(other));
			if (strcmp(name, other))
				continue;
			done[j] = true;
			if (m->type != first->type) {
				fprintf(out, "# kvmwatch: %s: a %s series in a %s family, left out\n",
					m->name, type_name(m->type),
					type_name(first->type));
				continue;
			}
			if (m->unavailable) {
				fprintf(out, "# kvmwatch: %s unavailable: ",
					name);
				escape_help(out, m->unavailable);
				fputc('\n', out);
				continue;
			}
			if (!header) {
				fprintf(out, "# HELP %s ", name);
				escape_help(out, first->help ? first->help :
					    first->name);
				fprintf(out, "\n# TYPE %s %s\n", name,
					type_name(first->type));
				header = true;
			}
			zero = as_zero && as_zero[j] &&
			       m->type != METRIC_GAUGE;
			if (m->type == METRIC_HISTOGRAM) {
				put_histogram(out, name, m, zero);
				continue;
			}
			fputs(name, out);
			put_labels(out, m, NULL, NULL);
			fputc(' ', out);
			put_value(out, zero ? 0 : m->value * value_scale(m));
			fputc('\n', out);
		}
	}
	free(done);
	return ferror(out) ? -EIO : 0;
}
