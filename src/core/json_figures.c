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
	s->first = true;
	s->err = fputc('{', out) == EOF ? -EIO : 0;
}

void json_stream_member(struct json_stream *s, const char *key, json_t *value)
{
	json_t *name = json_string(key);

	if (!value || !name) {
		s->err = s->err ? s->err : -ENOMEM;
	} else if (!s->err) {
		if ((!s->first && fputc(',', s->out) == EOF) ||
		    json_dumpf(name, s->out, JSON_ENCODE_ANY) ||
		    fputc(':', s->out) == EOF ||
		    json_dumpf(value, s->out, JSON_COMPACT | JSON_ENCODE_ANY))
			s->err = -EIO;
		s->first = false;
	}
	json_decref(name);
	json_decref(value);
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

int json_stream_close(struct json_stream *s)
{
	if (!s->err && (fputs("}\n", s->out) == EOF || fflush(s->out)))
		s->err = -EIO;
	return s->err;
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
