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

void junit_escaped(FILE *out, const char *s);
void junit_testcase(FILE *out, const char *classname, const char *name,
		    double time_sec, enum junit_outcome outcome,
		    const char *summary, const char *detail);

#endif
