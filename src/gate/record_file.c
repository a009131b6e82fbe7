// SPDX-License-Identifier: GPL-2.0
/* The record document: metrics and run context, to and from JSON. */
#define _GNU_SOURCE	/* asprintf */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/files.h"
#include "core/kvmwatch.h"
#include "record_file.h"

const struct record_detector *record_detector(const struct record *r,
					      const char *name)
{
	size_t i;

	for (i = 0; i < r->ndetectors; i++)
		if (!strcmp(r->detectors[i].name, name))
			return &r->detectors[i];
	return NULL;
}

/* Whole numbers as JSON integers: counts read as counts. */
static json_t *json_number(double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *json_metric(const struct metric *m)
{
	json_t *labels = json_object(), *obj;
	int i, last = -1;

	for (i = 0; i < m->nlabels; i++)
		json_object_set_new(labels, metric_label_key(m, i),
				    json_string(metric_label_value(m, i)));
	obj = json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:b, s:s, s:s?}",
			"name", m->name,
			"type", metric_type_name(m->type),
			"unit", m->unit,
			"help", m->help,
			"labels", labels,
			"per_entity", m->per_entity,
			"better", metric_better_name(m->better),
			"per", m->per);
	if (m->unavailable) {
		json_object_set_new(obj, "value", json_null());
		json_object_set_new(obj, "unavailable",
				    json_string(m->unavailable));
		return obj;
	}
	json_object_set_new(obj, "value", json_number(m->value));
	json_object_set_new(obj, "unavailable", json_null());
	if (m->runs >= 2)
		json_object_set_new(obj, "spread", json_pack("{s:i, s:o, s:o}",
			"runs", (int)m->runs, "min", json_number(m->run_min),
			"max", json_number(m->run_max)));
	if (m->type == METRIC_HISTOGRAM) {
		json_t *buckets = json_array();

		/* Trailing empty slots are left out. */
		for (i = 0; i < HIST_SLOTS; i++)
			if (metric_bucket(m, i))
				last = i;
		for (i = 0; i <= last; i++)
			json_array_append_new(buckets,
					      json_integer(metric_bucket(m, i)));
		json_object_set_new(obj, "buckets", buckets);
		json_object_set_new(obj, "sum", json_number(m->sum));
		json_object_set_new(obj, "stat",
				    json_string(metric_stat_name(m->stat)));
		if (m->sum_estimated)
			json_object_set_new(obj, "sum_estimated", json_true());
	}
	return obj;
}

json_t *record_to_json(const struct record *r)
{
	json_t *doc, *dets = json_object(), *metrics = json_array();
	json_t *workload = json_null();
	size_t i;

	for (i = 0; i < r->ndetectors; i++) {
		const struct record_detector *d = &r->detectors[i];

		json_object_set_new(dets, d->name,
				    json_pack("{s:s, s:s, s:b, s:s?}",
					      "status", d->status,
					      "modes", d->modes,
					      "ran", d->ran,
					      "why", d->why[0] ? d->why : NULL));
	}
	for (i = 0; i < r->metrics.count; i++)
		json_array_append_new(metrics, json_metric(&r->metrics.items[i]));
	if (r->command)
		workload = json_pack("{s:O, s:o}", "command", r->command,
				     "exit_status", r->command_exit < 0 ?
				     json_null() : json_integer(r->command_exit));
	doc = json_pack("{s:s, s:s, s:i, s:f, s:{s:s, s:s, s:s}, s:f, s:o, s:o, s:o}",
			"kvmwatch", r->version[0] ? r->version : KVMWATCH_VERSION,
			"type", "record",
			"record_schema", r->runs > 1 ? RECORD_SCHEMA_REPEATS :
			RECORD_SCHEMA,
			"time", r->time,
			"host", "kernel", r->release, "arch", r->arch,
			"vendor", r->vendor,
			"duration_s", r->duration_sec,
			"workload", workload,
			"detectors", dets,
			"metrics", metrics);
	if (doc && r->runs > 1)
		json_object_set_new(doc, "repeats", json_integer(r->runs));
	return doc;
}

/* ------------------------------------------------------------ reading */

struct reader {
	char *error;
	size_t error_len;
};

static int fail(struct reader *rd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct reader *rd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rd->error, rd->error_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A string member copied into buf; NULL members only when nullable. */
static int get_string(struct reader *rd, json_t *obj, const char *where,
		      const char *key, bool nullable, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return fail(rd, "%s%s is missing", where, key);
	if (json_is_null(v) && nullable)
		return 0;
	if (!json_is_string(v))
		return fail(rd, "%s%s must be a string%s", where, key,
			    nullable ? " or null" : "");
	*out = json_string_value(v);
	return 0;
}

static int copy_string(struct reader *rd, json_t *obj, const char *where,
		       const char *key, char *buf, size_t len)
{
	const char *s;
	int err = get_string(rd, obj, where, key, false, &s);

	if (err)
		return err;
	if (strlen(s) >= len)
		return fail(rd, "%s%s is longer than %zu characters", where,
			    key, len - 1);
	strcpy(buf, s);
	return 0;
}

static int get_number(struct reader *rd, json_t *obj, const char *where,
		      const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return fail(rd, "%s%s is missing", where, key);
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return fail(rd, "%s%s must be a number", where, key);
	*out = json_number_value(v);
	return 0;
}

/* "spread": {"runs": N, "min": X, "max": Y}, of record --repeat. */
static int read_spread(struct reader *rd, json_t *obj, const char *where,
		       struct metric *m)
{
	json_t *spread = json_object_get(obj, "spread"), *runs;
	char at[64];
	int err;

	if (!spread || json_is_null(spread))
		return 0;
	runs = json_object_get(spread, "runs");
	if (!json_is_object(spread) || !json_is_integer(runs) ||
	    json_integer_value(runs) < 2 ||
	    json_integer_value(runs) > RECORD_MAX_REPEATS)
		return fail(rd, "%sspread must be {\"runs\": 2 to %d, \"min\": ..., \"max\": ...}",
			    where, RECORD_MAX_REPEATS);
	if (m->unavailable || m->per_entity)
		return fail(rd, "%sspread goes with a compared, measured metric",
			    where);
	snprintf(at, sizeof(at), "%sspread.", where);
	if ((err = get_number(rd, spread, at, "min", &m->run_min)) ||
	    (err = get_number(rd, spread, at, "max", &m->run_max)))
		return err;
	if (m->run_min > m->run_max || m->run_min < 0)
		return fail(rd, "%sspread: min must be at least 0 and at most max",
			    where);
	m->runs = json_integer_value(runs);
	return 0;
}

static int read_metric(struct reader *rd, json_t *obj, size_t index,
		       struct metric_set *set)
{
	const char *name, *type_s, *better_s, *unit, *help, *per, *unavail;
	enum metric_better better;
	enum metric_type type;
	char where[48];
	struct metric *m;
	json_t *labels, *v, *buckets;
	const char *key;
	double value = 0;
	size_t i;
	int err;

	snprintf(where, sizeof(where), "metrics[%zu].", index);
	if (!json_is_object(obj))
		return fail(rd, "metrics[%zu] must be an object", index);
	if ((err = get_string(rd, obj, where, "name", false, &name)) ||
	    (err = get_string(rd, obj, where, "type", false, &type_s)))
		return err;
	if (metric_type_parse(type_s, &type))
		return fail(rd, "%stype must be counter, gauge or histogram, not '%s'",
			    where, type_s);
	if ((err = get_string(rd, obj, where, "unit", true, &unit)) ||
	    (err = get_string(rd, obj, where, "help", true, &help)) ||
	    (err = get_string(rd, obj, where, "better", false, &better_s)) ||
	    (err = get_string(rd, obj, where, "per", true, &per)) ||
	    (err = get_string(rd, obj, where, "unavailable", true, &unavail)))
		return err;
	if (!*name || strlen(name) >= METRIC_NAME_LEN)
		return fail(rd, "%sname must have 1 to %d characters", where,
			    METRIC_NAME_LEN - 1);
	if (metric_better_parse(better_s, &better))
		return fail(rd, "%sbetter must be lower, higher or neither, not '%s'",
			    where, better_s);
	v = json_object_get(obj, "value");
	if (!unavail && (err = get_number(rd, obj, where, "value", &value)))
		return err;
	if (unavail && v && !json_is_null(v))
		return fail(rd, "%svalue must be null when the metric is unavailable",
			    where);
	if (type == METRIC_COUNTER && value < 0)
		return fail(rd, "%svalue of counter %s is negative", where, name);
	m = metric_add(set, type, unit, help, better, "%s", name);
	if (!m)
		return -ENOMEM;
	m->per = per;
	m->unavailable = unavail;
	m->value = value;
	labels = json_object_get(obj, "labels");
	if (!json_is_object(labels))
		return fail(rd, "%slabels must be an object", where);
	json_object_foreach(labels, key, v) {
		if (!json_is_string(v))
			return fail(rd, "%slabels.%s must be a string", where,
				    key);
		if (strlen(key) >= METRIC_LABEL_KEY_LEN ||
		    strlen(json_string_value(v)) >= METRIC_LABEL_LEN)
			return fail(rd, "%slabels.%s is too long", where, key);
		if (metric_label(m, key, "%s", json_string_value(v)))
			return fail(rd, "%slabels: more than %d labels, or more than %d characters of keys and values",
				    where, METRIC_MAX_LABELS,
				    METRIC_LABEL_TEXT - 2 * METRIC_MAX_LABELS);
	}
	v = json_object_get(obj, "per_entity");
	if (!json_is_boolean(v))
		return fail(rd, "%sper_entity must be true or false", where);
	m->per_entity = json_is_true(v);
	if ((err = read_spread(rd, obj, where, m)))
		return err;
	if (type != METRIC_HISTOGRAM || unavail)
		return 0;
	buckets = json_object_get(obj, "buckets");
	if (!json_is_array(buckets) || json_array_size(buckets) > HIST_SLOTS)
		return fail(rd, "%sbuckets must be an array of at most %d counts",
			    where, HIST_SLOTS);
	if (json_array_size(buckets) && !metric_buckets(m))
		return -ENOMEM;
	json_array_foreach(buckets, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return fail(rd, "%sbuckets[%zu] must be a count", where,
				    i);
		m->buckets[i] = json_integer_value(v);
	}
	v = json_object_get(obj, "sum_estimated");
	if (v && !json_is_boolean(v))
		return fail(rd, "%ssum_estimated must be true or false", where);
	m->sum_estimated = json_is_true(v);
	/* Absent in records before it: they were compared by the median. */
	v = json_object_get(obj, "stat");
	if (v && (!json_is_string(v) ||
		  metric_stat_parse(json_string_value(v), &m->stat)))
		return fail(rd, "%sstat must be \"median\" or \"mean\"", where);
	if ((err = get_number(rd, obj, where, "sum", &m->sum)))
		return err;
	if (m->sum < 0)
		return fail(rd, "%ssum of histogram %s is negative", where, name);
	return 0;
}

static int read_detectors(struct reader *rd, json_t *dets, struct record *r)
{
	const char *name, *s;
	json_t *d, *ran;
	char where[48];
	int err;

	if (!json_is_object(dets))
		return fail(rd, "detectors must be an object");
	json_object_foreach(dets, name, d) {
		struct record_detector *rd_det;

		if (r->ndetectors == DET_COUNT)
			return fail(rd, "detectors has more than %d members",
				    DET_COUNT);
		rd_det = &r->detectors[r->ndetectors++];
		snprintf(where, sizeof(where), "detectors.%.24s.", name);
		if (!json_is_object(d))
			return fail(rd, "detectors.%s must be an object", name);
		if (strlen(name) >= sizeof(rd_det->name))
			return fail(rd, "detectors.%.24s: name too long", name);
		strcpy(rd_det->name, name);
		if ((err = copy_string(rd, d, where, "status", rd_det->status,
				       sizeof(rd_det->status))) ||
		    (err = copy_string(rd, d, where, "modes", rd_det->modes,
				       sizeof(rd_det->modes))) ||
		    (err = get_string(rd, d, where, "why", true, &s)))
			return err;
		snprintf(rd_det->why, sizeof(rd_det->why), "%s", s ? s : "");
		ran = json_object_get(d, "ran");
		if (!json_is_boolean(ran))
			return fail(rd, "%sran must be true or false", where);
		rd_det->ran = json_is_true(ran);
	}
	return 0;
}

static int read_workload(struct reader *rd, json_t *w, struct record *r)
{
	json_t *cmd, *status, *arg;
	size_t i;

	r->command = NULL;
	r->command_exit = -1;
	if (!w)
		return fail(rd, "workload is missing");
	if (json_is_null(w))
		return 0;
	if (!json_is_object(w))
		return fail(rd, "workload must be an object or null");
	cmd = json_object_get(w, "command");
	if (!json_is_array(cmd) || !json_array_size(cmd))
		return fail(rd, "workload.command must be a non-empty array of strings");
	json_array_foreach(cmd, i, arg)
		if (!json_is_string(arg))
			return fail(rd, "workload.command[%zu] must be a string", i);
	status = json_object_get(w, "exit_status");
	if (!status || !(json_is_null(status) || json_is_integer(status)))
		return fail(rd, "workload.exit_status must be an integer or null");
	r->command = json_incref(cmd);
	r->command_exit = json_is_integer(status) ?
		(int)json_integer_value(status) : -1;
	return 0;
}

/* A metric and its labels: what must be unique in a record. */
static char *metric_identity(const struct metric *m)
{
	char labels[METRIC_MAX_LABELS * (METRIC_LABEL_LEN + 40)], *id;

	metric_labels_string(m, labels, sizeof(labels));
	return asprintf(&id, "%s{%s}", m->name, labels) < 0 ? NULL : id;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two entries of one metric would make a comparison pick either. */
static int find_duplicate(struct reader *rd, const struct metric_set *set)
{
	char **ids = calloc(set->count + 1, sizeof(*ids));
	size_t i;
	int err = 0;

	if (!ids)
		return fail(rd, "out of memory");
	for (i = 0; i < set->count && !err; i++)
		if (!(ids[i] = metric_identity(&set->items[i])))
			err = fail(rd, "out of memory");
	if (!err) {
		qsort(ids, set->count, sizeof(*ids), compare_strings);
		for (i = 1; i < set->count && !err; i++)
			if (!strcmp(ids[i - 1], ids[i]))
				err = fail(rd, "metric %s appears more than once",
					   ids[i]);
	}
	for (i = 0; i < set->count; i++)
		free(ids[i]);
	free(ids);
	return err;
}

int record_from_json(json_t *doc, struct record *r, char *error,
		     size_t error_len)
{
	struct reader rd = { error, error_len };
	json_t *host, *metrics, *m, *schema, *repeats;
	const char *type;
	size_t i;
	int err;

	memset(r, 0, sizeof(*r));
	r->command_exit = -1;
	r->doc = json_incref(doc);
	if (!json_is_object(doc))
		return fail(&rd, "not a JSON object");
	if ((err = get_string(&rd, doc, "", "type", false, &type)))
		return err;
	if (strcmp(type, "record"))
		return fail(&rd, "a '%s' document, not a record (kvmwatch record -o FILE writes one)",
			    type);
	schema = json_object_get(doc, "record_schema");
	if (!json_is_integer(schema))
		return fail(&rd, "record_schema must be an integer");
	r->schema = json_integer_value(schema);
	if (r->schema != RECORD_SCHEMA && r->schema != RECORD_SCHEMA_REPEATS)
		return fail(&rd, "record schema %d is not one this kvmwatch reads (%d, %d): re-record the baseline",
			    r->schema, RECORD_SCHEMA, RECORD_SCHEMA_REPEATS);
	host = json_object_get(doc, "host");
	if (!json_is_object(host))
		return fail(&rd, "host must be an object");
	if ((err = copy_string(&rd, doc, "", "kvmwatch", r->version,
			       sizeof(r->version))) ||
	    (err = get_number(&rd, doc, "", "time", &r->time)) ||
	    (err = copy_string(&rd, host, "host.", "kernel", r->release,
			       sizeof(r->release))) ||
	    (err = copy_string(&rd, host, "host.", "arch", r->arch,
			       sizeof(r->arch))) ||
	    (err = copy_string(&rd, host, "host.", "vendor", r->vendor,
			       sizeof(r->vendor))) ||
	    (err = get_number(&rd, doc, "", "duration_s", &r->duration_sec)) ||
	    (err = read_workload(&rd, json_object_get(doc, "workload"), r)) ||
	    (err = read_detectors(&rd, json_object_get(doc, "detectors"), r)))
		return err;
	if (r->duration_sec <= 0)
		return fail(&rd, "duration_s must be positive");
	r->runs = 1;
	repeats = json_object_get(doc, "repeats");
	if (repeats) {
		if (!json_is_integer(repeats) ||
		    json_integer_value(repeats) < 1 ||
		    json_integer_value(repeats) > RECORD_MAX_REPEATS)
			return fail(&rd, "repeats must be a whole number from 1 to %d",
				    RECORD_MAX_REPEATS);
		r->runs = json_integer_value(repeats);
		if (r->runs > 1 && r->schema != RECORD_SCHEMA_REPEATS)
			return fail(&rd, "repeats needs record_schema %d",
				    RECORD_SCHEMA_REPEATS);
		if (r->runs > 1 && !r->command)
			return fail(&rd, "repeats goes with a workload (workload.command): a run is one of its runs");
	}
	metrics = json_object_get(doc, "metrics");
	if (!json_is_array(metrics))
		return fail(&rd, "metrics must be an array");
	json_array_foreach(metrics, i, m)
		if ((err = read_metric(&rd, m, i, &r->metrics)))
			return err == -ENOMEM ? fail(&rd, "out of memory") : err;
	return find_duplicate(&rd, &r->metrics);
}

int record_load(const char *path, struct record *r, char *error,
		size_t error_len)
{
	json_error_t jerr;
	char inner[256], *text;
	json_t *doc;
	size_t len;
	int err;

	memset(r, 0, sizeof(*r));
	err = read_regular_file(path, RECORD_MAX_SIZE, &text, &len, error,
				error_len);
	if (err)
		return err == -ENOMEM ? err : -EINVAL;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!doc) {
		if (jerr.line < 1)
			snprintf(error, error_len, "%s: %s", path, jerr.text);
		else
			snprintf(error, error_len, "%s:%d: %s", path,
				 jerr.line, jerr.text);
		return -EINVAL;
	}
	err = record_from_json(doc, r, inner, sizeof(inner));
	json_decref(doc);
	if (err) {
		snprintf(error, error_len, "%s: %s", path, inner);
		record_free(r);
	}
	return err;
}

int record_write_atomic(const char *path, json_t *doc, char *error,
			size_t error_len)
{
	char *body = json_dumps(doc, JSON_INDENT(1)), *text = NULL;
	int err, len;

	/* json_dumps leaves off the final newline. */
	len = body ? asprintf(&text, "%s\n", body) : -1;
	free(body);
	if (len < 0) {
		snprintf(error, error_len, "out of memory");
		return -ENOMEM;
	}
	err = write_file_atomic(path, text, len, error, error_len);
	free(text);
	return err;
}

void record_free(struct record *r)
{
	metric_set_free(&r->metrics);
	json_decref(r->command);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}
