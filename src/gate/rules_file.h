/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rules file of `kvmwatch check --rules FILE`: check thresholds and
 * baseline tolerances in YAML, read with libyaml (docs/ci.md has the
 * format). Every error names the file, the line and the key; an unknown
 * key, a wrong type or a value out of range is an error, never ignored.
 *
 *   version: 1
 *   thresholds:
 *     timer.max_chain: 2
 *   baseline:
 *     tolerance: 25%
 *     min_events: 10
 *     min_change: 0
 *     normalise: auto
 *     metrics:
 *       exits.exits: 10%
 *       exits.exits_by_reason{reason=intr}: off
 *       timer.chains: { tolerance: 0, min_events: 0 }
 *       teardown.max_wait_ms: { tolerance: 100%, min_change: 20 }
 */
#ifndef KVMWATCH_RULES_FILE_H
#define KVMWATCH_RULES_FILE_H

#include "baseline.h"
#include "check.h"

#define RULES_FILE_VERSION 1
/* A rules file is a few hundred bytes; this bounds a wrong file. */
#define RULES_FILE_MAX_SIZE (1 << 20)
/* Rules nest three levels; deeper is a mistake or an attack. */
#define RULES_FILE_MAX_DEPTH 64

struct rules_threshold {
	const struct check_rule *rule;
	double value;
	int line;
};

struct rules_file {
	char path[256];
	struct rules_threshold thresholds[CHECK_MAX_RULES];
	size_t nthresholds;
	/* The baseline section, applied over the command line's defaults
	 * (and under its --tolerance options). */
	struct baseline_settings baseline;
	bool has_tolerance, has_min_events, has_min_change, has_norm;
};

/* Parse text (len bytes, not NUL-terminated) as the rules file name.
 * 0, or -EINVAL with "name:line: key: problem" in error. */
int rules_file_parse(const char *name, const char *text, size_t len,
		     struct rules_file *out, char *error, size_t error_len);
int rules_file_load(const char *path, struct rules_file *out, char *error,
		    size_t error_len);
/* Copy the file's baseline settings into s (defaults it set, then its
 * per-metric tolerances). */
int rules_file_apply(const struct rules_file *rf, struct baseline_settings *s);
void rules_file_free(struct rules_file *rf);

#endif
