/* SPDX-License-Identifier: GPL-2.0 */
/* JUnit XML pieces shared by check's rules and the baseline comparison. */
#ifndef KVMWATCH_JUNIT_H
#define KVMWATCH_JUNIT_H

#include <stdio.h>

enum junit_outcome {
	JUNIT_PASS,	/* summary as system-out */
	JUNIT_FAILURE,	/* summary as the message, detail as the body */
	JUNIT_SKIPPED,	/* detail as the message */
	JUNIT_ERROR,	/* detail as the message */
};

/* A JUnit document built in memory (open_memstream(doc, len) as f),
 * written to path whole: a temporary beside it renamed over it, so a
 * check that is killed leaves the earlier file. err: the builder's
 * error, if any (then nothing is written). Frees *doc. 0 or -errno,
 * with a message. */
int junit_commit(const char *path, FILE *f, char **doc, size_t *len,
		 int err);

void junit_escaped(FILE *out, const char *s);
void junit_testcase(FILE *out, const char *classname, const char *name,
		    double time_sec, enum junit_outcome outcome,
		    const char *summary, const char *detail);

#endif
