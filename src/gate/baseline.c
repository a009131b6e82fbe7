// SPDX-License-Identifier: GPL-2.0
/* The settings of a baseline comparison: tolerances, noise floors,
 * normalisation, and the metric names they may name. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "core/kvmwatch.h"

void baseline_settings_init(struct baseline_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->tolerance = -1;	/* by unit */
	s->min_events = BASELINE_DEFAULT_MIN_EVENTS;
	s->min_change = BASELINE_DEFAULT_MIN_CHANGE;
	s->norm = NORM_AUTO;
}

double baseline_noise_floor(const char *name, const char *unit)
{
	static const struct {
		const char *unit;
		double floor;
	} floors[] = {
		{ "s", 5e-2 }, { "ms", 50 }, { "us", 5e4 }, { "ns", 5e7 },
	};
	size_t i;

	if (strncmp(name, "teardown.", strlen("teardown.")))
		return 0;
	for (i = 0; unit && i < sizeof(floors) / sizeof(floors[0]); i++)
		if (!strcmp(unit, floors[i].unit))
			return floors[i].floor;
	return 0;
}

double baseline_default_tolerance(const char *unit)
{
	static const char *const times[] = { "s", "ms", "us", "ns" };
	size_t i;

	for (i = 0; unit && i < sizeof(times) / sizeof(times[0]); i++)
		if (!strcmp(unit, times[i]))
			return BASELINE_DEFAULT_TIME_TOLERANCE;
	return BASELINE_DEFAULT_TOLERANCE;
}

void baseline_settings_free(struct baseline_settings *s)
{
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static bool name_char(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) ||
		c == '_' || c == '.';
}

/* "k=v,k=v}" up to the closing brace, which must end the string. */
static bool labels_ok(const char *p)
{
	bool key = true, seen = false;

	for (; *p && *p != '}'; p++) {
		if (key && *p == '=' && seen) {
			key = false;
			seen = false;
		} else if (!key && *p == ',' && seen) {
			key = true;
			seen = false;
		} else if (*p == '{' || *p == '"' || *p == '\\' || *p == '=' ||
			   *p == ',' || (unsigned char)*p < 0x20) {
			return false;
		} else {
			seen = true;
		}
	}
	return *p == '}' && !p[1] && !key && seen;
}

bool baseline_metric_pattern_ok(const char *name)
{
	const char *dot = strchr(name, '.');
	const char *p;

	if (!dot || dot == name || strlen(name) >= TOLERANCE_KEY_LEN)
		return false;
	for (p = name; p < dot; p++)
		if (*p == '.' || !name_char(*p))
			return false;
	if (!strcmp(dot, ".*"))
		return true;
	if (!dot[1] || dot[1] == '{')
		return false;
	for (p = dot + 1; *p && *p != '{'; p++)
		if (!name_char(*p))
			return false;
	if (p - name >= METRIC_NAME_LEN)
		return false;
	return !*p || labels_ok(p + 1);
}

struct tolerance *baseline_tolerance(struct baseline_settings *s,
				     const char *metric)
{
	size_t i;

	for (i = 0; i < s->count; i++)
		if (!strcmp(s->items[i].metric, metric))
			return &s->items[i];
	return NULL;
}

int baseline_set_tolerance(struct baseline_settings *s, const char *metric,
			   double value, bool off, const char *origin)
{
	struct tolerance *t;

	if (!baseline_metric_pattern_ok(metric))
		return -EINVAL;
	t = baseline_tolerance(s, metric);
	if (!t) {
		if (s->count == s->capacity) {
			size_t cap = s->capacity ? s->capacity * 2 : 16;
			struct tolerance *items =
				realloc(s->items, cap * sizeof(*items));

			if (!items)
				return -ENOMEM;
			s->items = items;
			s->capacity = cap;
		}
		t = &s->items[s->count++];
		memset(t, 0, sizeof(*t));
		snprintf(t->metric, sizeof(t->metric), "%s", metric);
		t->min_events = -1;
		t->min_change = -1;
	}
	t->value = value;
	t->off = off;
	snprintf(t->origin, sizeof(t->origin), "%s", origin);
	return 0;
}

int baseline_parse_tolerance(const char *text, double *value, bool *off)
{
	double v;
	char *end;

	*off = false;
	if (!strcmp(text, "off")) {
		*off = true;
		*value = 0;
		return 0;
	}
	if (!*text || isspace((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !isfinite(v))
		return -EINVAL;
	if (*end == '%' && !end[1])
		v /= 100;
	else if (*end)
		return -EINVAL;
	if (v < 0 || v > BASELINE_MAX_TOLERANCE)
		return -ERANGE;
	*value = v;
	return 0;
}

int baseline_parse_tolerance_arg(struct baseline_settings *s,
				 const char *arg, char *error,
				 size_t error_len)
{
	/* The value follows the last '=': labels have their own. */
	const char *eq = strrchr(arg, '=');
	char name[TOLERANCE_KEY_LEN];
	double value;
	bool off;
	int err;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
		snprintf(error, error_len,
			 "--tolerance takes METRIC=VALUE (e.g. exits.total=10%%), not '%s'",
			 arg);
		return -EINVAL;
	}
	memcpy(name, arg, eq - arg);
	name[eq - arg] = '\0';
	if (!baseline_metric_pattern_ok(name)) {
		snprintf(error, error_len,
			 "--tolerance: '%s' is not a metric name (detector.what, detector.what{label=value}, or detector.* for all of one detector)",
			 name);
		return -EINVAL;
	}
	err = baseline_parse_tolerance(eq + 1, &value, &off);
	if (err) {
		snprintf(error, error_len,
			 "--tolerance %s: '%s' is not a tolerance: a fraction (0.1), a percentage (10%%) between 0 and %g%%, or off",
			 name, eq + 1, BASELINE_MAX_TOLERANCE * 100);
		return err;
	}
	return baseline_set_tolerance(s, name, value, off, "--tolerance");
}

const struct tolerance *baseline_tolerance_for(const struct baseline_settings *s,
					       const char *metric,
					       const char *labels)
{
	const struct tolerance *named = NULL, *wild = NULL;
	const char *dot = strchr(metric, '.');
	size_t i, det_len = dot ? (size_t)(dot - metric) : 0;
	size_t len = strlen(metric);

	for (i = 0; i < s->count; i++) {
		const char *key = s->items[i].metric;

		if (!strncmp(key, metric, len) && key[len] == '{' &&
		    !strncmp(key + len + 1, labels, strlen(labels)) &&
		    !strcmp(key + len + 1 + strlen(labels), "}"))
			return &s->items[i];
		if (!strcmp(key, metric))
			named = &s->items[i];
		if (dot && !strncmp(key, metric, det_len + 1) &&
		    !strcmp(key + det_len + 1, "*"))
			wild = &s->items[i];
	}
	return named ? named : wild;
}

bool baseline_key_matches(const char *key, const struct metric *m)
{
	const char *star = strchr(key, '*'), *brace = strchr(key, '{');
	char labels[256];
	size_t len;

	if (star)
		return !strncmp(m->name, key, star - key);
	if (!brace)
		return !strcmp(m->name, key);
	len = brace - key;
	if (strncmp(m->name, key, len) || m->name[len])
		return false;
	metric_labels_string(m, labels, sizeof(labels));
	return !strncmp(brace + 1, labels, strlen(labels)) &&
		!strcmp(brace + 1 + strlen(labels), "}");
}
