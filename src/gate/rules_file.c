// SPDX-License-Identifier: GPL-2.0
/* The rules file: YAML through libyaml's document loader, whose node
 * marks give every error its line. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/files.h"
#include "rules_file.h"

struct ctx {
	const char *name;
	yaml_document_t *doc;
	struct rules_file *out;
	char *error;
	size_t error_len;
};

static int fail(struct ctx *c, const yaml_node_t *node, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct ctx *c, const yaml_node_t *node, const char *key,
		const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->error, c->error_len, "%s:%zu: %s%s%s", c->name,
		 node ? node->start_mark.line + 1 : 1, key ? key : "",
		 key ? ": " : "", msg);
	return -EINVAL;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* A scalar's text, NUL-terminated in buf; embedded NULs are refused. */
static int scalar(struct ctx *c, const yaml_node_t *n, const char *key,
		  char *buf, size_t len)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, key, "expected a value, found %s",
			    node_kind(n));
	if (n->data.scalar.length >= len)
		return fail(c, n, key, "value longer than %zu characters",
			    len - 1);
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
		return fail(c, n, key, "value contains a NUL byte");
	memcpy(buf, n->data.scalar.value, n->data.scalar.length);
	buf[n->data.scalar.length] = '\0';
	return 0;
}

static int number(struct ctx *c, const yaml_node_t *n, const char *key,
		  double min, double max, double *out)
{
	char buf[64], *end;
	double v;
	int err = scalar(c, n, key, buf, sizeof(buf));

	if (err)
		return err;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return fail(c, n, key, "expected a number, found the string \"%s\"",
			    buf);
	errno = 0;
	v = strtod(buf, &end);
	if (!buf[0] || end == buf || *end || errno || !isfinite(v))
		return fail(c, n, key, "expected a number, found '%s'", buf);
	if (v < min || v > max)
		return fail(c, n, key, "%g is out of range [%g, %g]", v, min,
			    max);
	*out = v;
	return 0;
}

static int tolerance(struct ctx *c, const yaml_node_t *n, const char *key,
		     double *value, bool *off)
{
	char buf[64];
	int err = scalar(c, n, key, buf, sizeof(buf));

	if (err)
		return err;
	err = baseline_parse_tolerance(buf, value, off);
	if (err == -ERANGE)
		return fail(c, n, key, "tolerance '%s' is out of range [0, %g%%]",
			    buf, BASELINE_MAX_TOLERANCE * 100);
	if (err)
		return fail(c, n, key, "expected a tolerance (0.1, 10%% or off), found '%s'",
			    buf);
	return 0;
}

typedef int (*member_fn)(struct ctx *c, const char *key,
			 const yaml_node_t *k, const yaml_node_t *v,
			 void *arg);

/* Walk a mapping: keys must be scalars, each at most once. */
static int mapping(struct ctx *c, const yaml_node_t *n, const char *where,
		   member_fn fn, void *arg)
{
	yaml_node_pair_t *p, *q;
	char key[TOLERANCE_KEY_LEN + 32], other[TOLERANCE_KEY_LEN + 32];
	int err;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, where, "expected a mapping (key: value lines), found %s",
			    node_kind(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);

		if (!k || !v)
			return fail(c, n, where, "malformed mapping");
		err = scalar(c, k, where, key, sizeof(key));
		if (err)
			return err;
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);

			if (k2 && !scalar(c, k2, where, other, sizeof(other)) &&
			    !strcmp(key, other))
				return fail(c, k, key, "given twice (first on line %zu)",
					    k2->start_mark.line + 1);
		}
		err = fn(c, key, k, v, arg);
		if (err)
			return err;
	}
	return 0;
}

static int threshold_member(struct ctx *c, const char *key,
			    const yaml_node_t *k, const yaml_node_t *v,
			    void *arg)
{
	struct rules_threshold *t;
	char path[TOLERANCE_KEY_LEN + 48];

	(void)arg;
	snprintf(path, sizeof(path), "thresholds.%s", key);
	if (c->out->nthresholds == CHECK_MAX_RULES)
		return fail(c, k, path, "more thresholds than rules");
	t = &c->out->thresholds[c->out->nthresholds];
	t->rule = check_rule_find(key);
	if (!t->rule)
		return fail(c, k, path, "no such rule (kvmwatch check --list-rules lists them)");
	t->line = k->start_mark.line + 1;
	if (number(c, v, path, 0, 1e15, &t->value))
		return -EINVAL;
	c->out->nthresholds++;
	return 0;
}

struct metric_entry {
	const char *metric;
	double value;
	bool off, has_value;
	double min_events, min_change;
};

static int metric_entry_member(struct ctx *c, const char *key,
			       const yaml_node_t *k, const yaml_node_t *v,
			       void *arg)
{
	struct metric_entry *e = arg;
	char path[TOLERANCE_KEY_LEN + 64];

	snprintf(path, sizeof(path), "baseline.metrics.%s.%s", e->metric, key);
	if (!strcmp(key, "tolerance")) {
		e->has_value = true;
		return tolerance(c, v, path, &e->value, &e->off);
	}
	if (!strcmp(key, "min_events"))
		return number(c, v, path, 0, 1e15, &e->min_events);
	if (!strcmp(key, "min_change"))
		return number(c, v, path, 0, 1e15, &e->min_change);
	return fail(c, k, path, "unknown key (tolerance, min_events or min_change)");
}

static int metric_member(struct ctx *c, const char *key,
			 const yaml_node_t *k, const yaml_node_t *v,
			 void *arg)
{
	struct metric_entry e = { .metric = key, .min_events = -1,
				  .min_change = -1 };
	struct baseline_settings *s = &c->out->baseline;
	char path[TOLERANCE_KEY_LEN + 32], origin[300];
	int err;

	(void)arg;
	snprintf(path, sizeof(path), "baseline.metrics.%s", key);
	if (!baseline_metric_pattern_ok(key))
		return fail(c, k, path, "not a metric name (detector.what, detector.what{label=value} or detector.*)");
	if (v->type == YAML_MAPPING_NODE) {
		err = mapping(c, v, path, metric_entry_member, &e);
		if (err)
			return err;
		if (!e.has_value && e.min_events < 0 && e.min_change < 0)
			return fail(c, v, path, "give tolerance, min_events or min_change");
	} else {
		err = tolerance(c, v, path, &e.value, &e.off);
		if (err)
			return err;
		e.has_value = true;
	}
	snprintf(origin, sizeof(origin), "%s:%zu", c->name,
		 k->start_mark.line + 1);
	if (baseline_set_tolerance(s, key, e.has_value ? e.value : -1,
				   e.off, origin))
		return fail(c, k, path, "out of memory");
	baseline_tolerance(s, key)->min_events = e.min_events;
	baseline_tolerance(s, key)->min_change = e.min_change;
	return 0;
}

static int baseline_member(struct ctx *c, const char *key,
			   const yaml_node_t *k, const yaml_node_t *v,
			   void *arg)
{
	struct rules_file *rf = c->out;
	char path[64], buf[16];
	bool off;

	(void)arg;
	snprintf(path, sizeof(path), "baseline.%.32s", key);
	if (!strcmp(key, "tolerance")) {
		rf->has_tolerance = true;
		if (tolerance(c, v, path, &rf->baseline.tolerance, &off))
			return -EINVAL;
		if (off)
			return fail(c, v, path, "the default cannot be off (set it per metric)");
		return 0;
	}
	if (!strcmp(key, "min_events")) {
		rf->has_min_events = true;
		return number(c, v, path, 0, 1e15, &rf->baseline.min_events);
	}
	if (!strcmp(key, "min_change")) {
		rf->has_min_change = true;
		return number(c, v, path, 0, 1e15, &rf->baseline.min_change);
	}
	if (!strcmp(key, "normalise") || !strcmp(key, "normalize")) {
		if (scalar(c, v, path, buf, sizeof(buf)))
			return -EINVAL;
		rf->has_norm = true;
		if (!strcmp(buf, "auto"))
			rf->baseline.norm = NORM_AUTO;
		else if (!strcmp(buf, "duration"))
			rf->baseline.norm = NORM_DURATION;
		else if (!strcmp(buf, "run"))
			rf->baseline.norm = NORM_RUN;
		else
			return fail(c, v, path, "expected auto, duration or run, found '%s'",
				    buf);
		return 0;
	}
	if (!strcmp(key, "metrics"))
		return mapping(c, v, path, metric_member, NULL);
	return fail(c, k, path, "unknown key (tolerance, min_events, min_change, normalise or metrics)");
}

static int top_member(struct ctx *c, const char *key, const yaml_node_t *k,
		      const yaml_node_t *v, void *arg)
{
	bool *versioned = arg;
	double version;

	if (!strcmp(key, "version")) {
		if (number(c, v, key, 0, 1e9, &version))
			return -EINVAL;
		if (version != RULES_FILE_VERSION)
			return fail(c, v, key, "version %g is not one this kvmwatch reads (%d)",
				    version, RULES_FILE_VERSION);
		*versioned = true;
		return 0;
	}
	if (!strcmp(key, "thresholds"))
		return mapping(c, v, key, threshold_member, NULL);
	if (!strcmp(key, "baseline"))
		return mapping(c, v, key, baseline_member, NULL);
	return fail(c, k, key, "unknown key (version, thresholds or baseline)");
}

/* libyaml's loader is quadratic in nested flow collections: events are
 * read first, stopping at the first too deep, before any document is
 * built. Syntax errors are left to the loader, which names them. */
static int check_depth(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t event;
	int depth = 0, err = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return fail(c, NULL, NULL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !err && yaml_parser_parse(&parser, &event)) {
		switch (event.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > RULES_FILE_MAX_DEPTH)
				err = -EINVAL;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (err)
			snprintf(c->error, c->error_len,
				 "%s:%zu: nested more than %d levels deep: not a rules file",
				 c->name, event.start_mark.line + 1,
				 RULES_FILE_MAX_DEPTH);
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return err;
}

int rules_file_parse(const char *name, const char *text, size_t len,
		     struct rules_file *out, char *error, size_t error_len)
{
	struct ctx c = { name, NULL, out, error, error_len };
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	yaml_node_t *root;
	bool versioned = false;
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", name);
	baseline_settings_init(&out->baseline);
	if (len > RULES_FILE_MAX_SIZE) {
		snprintf(error, error_len, "%s: larger than %d bytes: not a rules file",
			 name, RULES_FILE_MAX_SIZE);
		return -EINVAL;
	}
	err = check_depth(&c, text, len);
	if (err)
		return err;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(error, error_len, "%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(error, error_len, "%s:%zu: not valid YAML: %s%s%s",
			 name, parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "syntax error",
			 parser.context ? " " : "",
			 parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		err = fail(&c, NULL, NULL, "empty: a rules file starts with 'version: %d'",
			   RULES_FILE_VERSION);
	} else {
		err = mapping(&c, root, NULL, top_member, &versioned);
		if (!err && !versioned)
			err = fail(&c, root, "version", "missing: a rules file says 'version: %d'",
				   RULES_FILE_VERSION);
	}
	/* A second document is a mistake, not more rules. */
	if (!err) {
		if (!yaml_parser_load(&parser, &extra)) {
			err = fail(&c, NULL, NULL, "not valid YAML after the first document");
		} else {
			yaml_node_t *more = yaml_document_get_root_node(&extra);

			if (more)
				err = fail(&c, more, NULL, "a second YAML document: one per rules file");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (err)
		rules_file_free(out);
	return err;
}

int rules_file_load(const char *path, struct rules_file *out, char *error,
		    size_t error_len)
{
	size_t len;
	char *text;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_regular_file(path, RULES_FILE_MAX_SIZE, &text, &len, error,
				error_len);
	if (err)
		return err;
	err = rules_file_parse(path, text, len, out, error, error_len);
	free(text);
	return err;
}

int rules_file_apply(const struct rules_file *rf, struct baseline_settings *s)
{
	size_t i;
	int err;

	if (rf->has_tolerance)
		s->tolerance = rf->baseline.tolerance;
	if (rf->has_min_events)
		s->min_events = rf->baseline.min_events;
	if (rf->has_min_change)
		s->min_change = rf->baseline.min_change;
	if (rf->has_norm)
		s->norm = rf->baseline.norm;
	for (i = 0; i < rf->baseline.count; i++) {
		const struct tolerance *t = &rf->baseline.items[i];

		err = baseline_set_tolerance(s, t->metric, t->value, t->off,
					     t->origin);
		if (err)
			return err;
		baseline_tolerance(s, t->metric)->min_events = t->min_events;
		baseline_tolerance(s, t->metric)->min_change = t->min_change;
	}
	return 0;
}

void rules_file_free(struct rules_file *rf)
{
	baseline_settings_free(&rf->baseline);
	rf->nthresholds = 0;
}
