// SPDX-License-Identifier: GPL-2.0
/* Writing the JSON documents of every command. */
#include <errno.h>

#include "json_figures.h"
#include "vm_ident.h"
#include "vm_name.h"

int json_emit(FILE *out, json_t *doc)
{
	int err = 0;

	if (!doc)
		return -ENOMEM;
	if (json_dumpf(doc, out, JSON_COMPACT) || fputc('\n', out) == EOF ||
	    fflush(out))
		err = -EIO;
	json_decref(doc);
	return err;
}

void json_stream_open(struct json_stream *s, FILE *out)
{
	s->out = out;
	s->depth = 0;
	s->first[0] = true;
	s->err = fputc('{', out) == EOF ? -EIO : 0;
}

/* The comma before all but the first member or element of a level. */
static bool next_item(struct json_stream *s)
{
	bool first = s->first[s->depth];

	s->first[s->depth] = false;
	return first || fputc(',', s->out) != EOF;
}

static bool put_key(struct json_stream *s, const char *key)
{
	json_t *name = json_string(key);
	bool ok = name && !json_dumpf(name, s->out, JSON_ENCODE_ANY) &&
		fputc(':', s->out) != EOF;

	json_decref(name);
	return ok;
}

/* A member (key) or an element (key NULL) of the open level; value
 * freed. */
static void put_item(struct json_stream *s, const char *key, json_t *value)
{
	if (!value) {
		s->err = s->err ? s->err : -ENOMEM;
	} else if (!s->err && (!next_item(s) || (key && !put_key(s, key)) ||
			       json_dumpf(value, s->out,
					  JSON_COMPACT | JSON_ENCODE_ANY))) {
		s->err = -EIO;
	}
	json_decref(value);
}

void json_stream_member(struct json_stream *s, const char *key, json_t *value)
{
	put_item(s, key, value);
}

void json_stream_members(struct json_stream *s, json_t *obj)
{
	const char *key;
	json_t *value;

	if (!obj) {
		s->err = s->err ? s->err : -ENOMEM;
		return;
	}
	json_object_foreach(obj, key, value)
		json_stream_member(s, key, json_incref(value));
	json_decref(obj);
}

static void open_level(struct json_stream *s, const char *key, char opener)
{
	if (s->depth + 1 >= JSON_STREAM_DEPTH) {
		s->err = s->err ? s->err : -EINVAL;
		return;
	}
	if (!s->err && (!next_item(s) || !put_key(s, key) ||
			fputc(opener, s->out) == EOF))
		s->err = -EIO;
	s->first[++s->depth] = true;
}

static void close_level(struct json_stream *s, char closer)
{
	if (!s->depth)
		return;
	s->depth--;
	if (!s->err && fputc(closer, s->out) == EOF)
		s->err = -EIO;
}

void json_stream_open_object(struct json_stream *s, const char *key)
{
	open_level(s, key, '{');
}

void json_stream_open_array(struct json_stream *s, const char *key)
{
	open_level(s, key, '[');
}

void json_stream_close_object(struct json_stream *s)
{
	close_level(s, '}');
}

void json_stream_close_array(struct json_stream *s)
{
	close_level(s, ']');
}

void json_stream_element(struct json_stream *s, json_t *value)
{
	put_item(s, NULL, value);
}

int json_stream_close(struct json_stream *s)
{
	if (!s->err && (fputs("}\n", s->out) == EOF || fflush(s->out)))
		s->err = -EIO;
	return s->err;
}

json_t *json_list(const void *view, size_t n,
		  json_t *(*item)(const void *view, size_t i))
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; list && i < n; i++)
		if (json_array_append_new(list, item(view, i))) {
			json_decref(list);
			list = NULL;
		}
	return list;
}

json_t *json_with_vms(json_t *head, const void *view, size_t n,
		      json_t *(*vm)(const void *view, size_t i))
{
	json_t *vms = json_list(view, n, vm);

	if (!head || !vms || json_object_set_new(head, "vms", vms)) {
		json_decref(head);
		return NULL;
	}
	return head;
}

json_t *json_vm_start(uint64_t start)
{
	return start ? json_real(vm_start_unix(start)) : json_null();
}

json_t *json_vm_name(uint32_t pid, uint64_t start)
{
	const char *name = vm_name(pid, start);

	return name[0] ? json_string(name) : json_null();
}
