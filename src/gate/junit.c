// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/files.h"
#include "core/kvmwatch.h"
#include "junit.h"

int junit_commit(const char *path, FILE *f, char **doc, size_t *len,
		 int err)
{
	char error[512] = "";

	if (fclose(f) && !err)
		err = -ENOMEM;
	if (!err)
		err = write_file_atomic(path, *doc, *len, error, sizeof(error));
	if (err)
		kw_warn("check: --junit %s: %s", path,
			error[0] ? error : strerror(-err));
	free(*doc);
	*doc = NULL;
	return err;
}

void junit_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			/* XML 1.0 has no other control characters. */
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n')
				fputc('?', out);
			else
				fputc(*s, out);
		}
	}
}

void junit_testcase(FILE *out, const char *classname, const char *name,
		    double time_sec, enum junit_outcome outcome,
		    const char *summary, const char *detail)
{
	fputs("    <testcase classname=\"", out);
	junit_escaped(out, classname);
	fputs("\" name=\"", out);
	junit_escaped(out, name);
	fprintf(out, "\" time=\"%.3f\">\n", time_sec);
	switch (outcome) {
	case JUNIT_FAILURE:
		fputs("      <failure message=\"", out);
		junit_escaped(out, summary);
		fputs("\">", out);
		junit_escaped(out, detail);
		fputs("</failure>\n", out);
		break;
	case JUNIT_SKIPPED:
	case JUNIT_ERROR:
		fputs(outcome == JUNIT_SKIPPED ? "      <skipped message=\"" :
		      "      <error message=\"", out);
		junit_escaped(out, detail);
		fputs("\"/>\n", out);
		break;
	default:
		fputs("      <system-out>", out);
		junit_escaped(out, summary);
		fputs("</system-out>\n", out);
	}
	fputs("    </testcase>\n", out);
}
