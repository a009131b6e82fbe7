/* SPDX-License-Identifier: GPL-2.0 */
/* Figures as JSON the same way in every view: unknown is null, not 0. */
#ifndef KVMWATCH_JSON_FIGURES_H
#define KVMWATCH_JSON_FIGURES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Documented in docs/kvmwatch-json.md; bump on incompatible changes. */
#define KVMWATCH_JSON_SCHEMA 2

static inline json_t *json_u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* A ratio that is negative when it has no meaning: null then. */
static inline json_t *json_ratio(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

/* Print doc on one line and free it. Returns 0 or -EIO. */
int json_emit(FILE *out, json_t *doc);

/*
 * A document written one member at a time, each member's tree freed
 * before the next is made: a report of 256 VMs is tens of MB of jansson
 * objects built whole, a few MB one member at a time.
 */
#define JSON_STREAM_DEPTH 4

struct json_stream {
	FILE *out;
	bool first[JSON_STREAM_DEPTH];	/* nothing written yet at depth */
	int depth;			/* 0: the document's members */
	int err;
};

void json_stream_open(struct json_stream *s, FILE *out);
/* Write "key": value and free value (NULL: out of memory). */
void json_stream_member(struct json_stream *s, const char *key, json_t *value);
/* Each member of obj in turn, then free obj. */
void json_stream_members(struct json_stream *s, json_t *obj);
/* "key": { or "key": [, whose members or elements follow, each freed
 * as written: a detector's VMs one at a time. */
void json_stream_open_object(struct json_stream *s, const char *key);
void json_stream_open_array(struct json_stream *s, const char *key);
/* An element of the open array; value freed (NULL: out of memory). */
void json_stream_element(struct json_stream *s, json_t *value);
/* Close what the last open_ opened. */
void json_stream_close_object(struct json_stream *s);
void json_stream_close_array(struct json_stream *s);
/* End the document and its line. Returns 0, -ENOMEM or -EIO. */
int json_stream_close(struct json_stream *s);

/* The list of item(view, i) for each of n (a view whole, from the parts
 * detector_ops.view_json_item streams); NULL on ENOMEM. */
json_t *json_list(const void *view, size_t n,
		  json_t *(*item)(const void *view, size_t i));
/* head with a last member "vms": vm(view, i) for each of n VMs (a view
 * whole, as top streams it). head and the VMs are freed; NULL on
 * ENOMEM. */
json_t *json_with_vms(json_t *head, const void *view, size_t n,
		      json_t *(*vm)(const void *view, size_t i));
/* A VM's vm_start (core/vm_ident.h) as Unix seconds, or null unknown. */
json_t *json_vm_start(uint64_t start);
/* Its name (core/vm_name.h), or null when not known. */
json_t *json_vm_name(uint32_t pid, uint64_t start);

#endif
