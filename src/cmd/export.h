/* SPDX-License-Identifier: GPL-2.0 */
/* kvmwatch export's parts: reading and rendering (export.c), serving
 * them over HTTP (export_http.c). */
#ifndef KVMWATCH_CMD_EXPORT_H
#define KVMWATCH_CMD_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/kvmwatch.h"
#include "core/runner.h"
#include "views/export_store.h"

#define EXPORT_DEFAULT_INTERVAL 5.0
#define EXPORT_DEFAULT_GRACE 60.0
#define EXPORT_DEFAULT_MAX_SERIES 10000
/* A scrape reads the maps again when the last read is older than this. */
#define EXPORT_FRESH_SEC 1.0

struct export_options {
	const char *listen;
	const char *textfile;
	double interval_sec;
	double grace_sec;
	unsigned long max_series;
	unsigned long count;	/* stop after COUNT reads; 0: never */
	unsigned long pid;
	const char *guest;	/* -g: NULL for every VM */
};

struct event_base;

struct exporter {
	const struct export_options *o;
	struct runner runner;
	struct export_store store;
	double last_read;	/* monotonic s */
	struct event_base *base;
	int error;		/* a read failed: stop */
};

/* The clock of last_read and EXPORT_FRESH_SEC: monotonic seconds. */
static inline double export_now(void)
{
	return monotonic_ns() / 1e9;
}

/* Read the detectors into the store; 0 or -errno (then x->error). */
int export_read(struct exporter *x);
/* The exposition into a malloc'd *text; last: the run's final one. */
int export_render(struct exporter *x, bool last, char **text, size_t *len);
/* Serve GET /metrics on x->o->listen until SIGINT/SIGTERM or -n reads:
 * a KW_EXIT_ code. */
int export_serve_http(struct exporter *x);

#endif
