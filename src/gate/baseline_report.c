// SPDX-License-Identifier: GPL-2.0
/* A baseline comparison as a text table, JSON and JUnit. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "baseline.h"
#include "junit.h"

static void fmt_value(char *buf, size_t len, const struct baseline_row *row,
		      double v)
{
	if (!row->have_values)
		snprintf(buf, len, "-");
	else if (v == floor(v) && fabs(v) < 1e12)
		snprintf(buf, len, "%.0f", v);	/* counts per run */
	else
		snprintf(buf, len, "%.4g", v);
}

static void fmt_ratio(char *buf, size_t len, const struct baseline_row *row)
{
	if (!row->have_values)
		snprintf(buf, len, "-");
	else if (isinf(row->ratio))
		snprintf(buf, len, "inf");
	else
		snprintf(buf, len, "%.2fx", row->ratio);
}

static void fmt_allowed(char *buf, size_t len, const struct baseline_row *row)
{
	if (row->verdict == BL_NEW || row->verdict == BL_INFO ||
	    row->better == BETTER_NEITHER)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s %.2fx",
			 row->better == BETTER_LOWER ? "<=" : ">=",
			 row->better == BETTER_LOWER ? 1 + row->tolerance :
			 (row->tolerance < 1 ? 1 - row->tolerance : 0));
}

static const char *norm_name(enum baseline_norm n)
{
	return n == NORM_RUN ? "per workload run" : n == NORM_DURATION ?
		"per second" : "auto";
}

void baseline_text(FILE *out, const struct baseline_result *r,
		   const struct record *base)
{
	size_t i;

	fprintf(out, "baseline: kernel %s, %s/%s, %.2f s%s, recorded by kvmwatch %s\n",
		base->release, base->arch, base->vendor, base->duration_sec,
		base->command ? " with a workload" : "", base->version);
	if (base->runs > 1)
		fprintf(out, "baseline: %u runs of the workload; a tolerance marked * is %.0fx the furthest one of them strayed\n",
			base->runs, BASELINE_SPREAD_MARGIN);
	if (r->refused) {
		fprintf(out, "baseline: REFUSED: %s\n", r->refusal);
		return;
	}
	fprintf(out, "counters compared %s (or per unit of the metric's own work)\n",
		norm_name(r->norm));
	fprintf(out, "%-48s %12s %12s %8s %9s  %s\n", "METRIC (BASIS)",
		"BASELINE", "CURRENT", "RATIO", "ALLOWED", "VERDICT");
	for (i = 0; i < r->count; i++) {
		const struct baseline_row *row = &r->rows[i];
		char name[240], b[24], c[24], ratio[16], allowed[16];
		size_t len;

		/* INFO and NEW rows are context, kept for JSON and -v. */
		if ((row->verdict == BL_INFO || row->verdict == BL_NEW) &&
		    !kw_verbose)
			continue;
		snprintf(name, sizeof(name), "%s (%s)", row->metric, row->basis);
		fmt_value(b, sizeof(b), row, row->base);
		fmt_value(c, sizeof(c), row, row->cur);
		fmt_ratio(ratio, sizeof(ratio), row);
		fmt_allowed(allowed, sizeof(allowed), row);
		len = strlen(allowed);
		if (row->spread_runs && len + 1 < sizeof(allowed))
			snprintf(allowed + len, sizeof(allowed) - len, "*");
		fprintf(out, "%-48s %12s %12s %8s %9s  %s\n", name, b, c, ratio,
			allowed, baseline_verdict_name(row->verdict));
		if (row->note[0] && row->verdict != BL_PASS)
			fprintf(out, "%48s %s: %s\n", "",
				row->verdict == BL_FAIL ? "evidence" : "why",
				row->note);
	}
	for (i = 0; i < r->nnotes; i++)
		fprintf(out, "note: %s\n", r->notes[i]);
	fprintf(out, "baseline verdict: %s (%zu metrics: %zu passed, %zu failed, %zu incomparable)\n",
		baseline_verdict_name(baseline_overall(r)),
		r->passed + r->failed + r->incomparable, r->passed, r->failed,
		r->incomparable);
}

static json_t *json_num_or_null(bool have, double v)
{
	return have && isfinite(v) ? json_real(v) : json_null();
}

json_t *baseline_json(const struct baseline_result *r,
		      const struct record *base, const char *path)
{
	json_t *rows = json_array(), *notes = json_array(), *doc;
	size_t i;

	for (i = 0; i < r->count; i++) {
		const struct baseline_row *row = &r->rows[i];
		bool judged = row->verdict != BL_NEW &&
			row->verdict != BL_INFO &&
			row->better != BETTER_NEITHER;

		json_array_append_new(rows, json_pack(
			"{s:s, s:s, s:s?, s:s, s:o, s:o, s:o, s:o, s:o, s:o*, s:s, s:s?}",
			"metric", row->metric,
			"type", metric_type_name(row->type),
			"unit", row->unit,
			"basis", row->basis,
			"baseline", json_num_or_null(row->have_values, row->base),
			"current", json_num_or_null(row->have_values, row->cur),
			"ratio", row->have_values ? (isinf(row->ratio) ?
				json_string("inf") : json_real(row->ratio)) :
				json_null(),
			"tolerance", judged ? json_real(row->tolerance) :
				json_null(),
			"allowed", judged ? json_pack("{s:s, s:f}", "op",
				row->better == BETTER_LOWER ? "<=" : ">=",
				"ratio", row->allowed) : json_null(),
			"tolerance_from", !judged ? NULL : row->spread_runs ?
				json_pack("{s:s, s:i}", "source", "spread",
					  "runs", (int)row->spread_runs) :
				json_pack("{s:s}", "source", "settings"),
			"verdict", baseline_verdict_name(row->verdict),
			"why", row->note[0] ? row->note : NULL));
	}
	for (i = 0; i < r->nnotes; i++)
		json_array_append_new(notes, json_string(r->notes[i]));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:f, s:b, s:s?, s:s, s:o, s:o, s:{s:I, s:I, s:I}}",
			"file", path ? path : "",
			"kernel", base->release,
			"arch", base->arch,
			"vendor", base->vendor,
			"duration_s", base->duration_sec,
			"refused", r->refused,
			"refusal", r->refused ? r->refusal : NULL,
			"normalised", r->norm == NORM_RUN ? "run" : "duration",
			"metrics", rows,
			"notes", notes,
			"counts", "passed", (json_int_t)r->passed,
			"failed", (json_int_t)r->failed,
			"incomparable", (json_int_t)r->incomparable);
	json_object_set_new(doc, "verdict",
			    json_string(baseline_verdict_name(baseline_overall(r))));
	json_object_set_new(doc, "runs", json_integer(base->runs > 1 ?
						     base->runs : 1));
	return doc;
}

int baseline_junit_suite(FILE *out, const struct baseline_result *r,
			 double duration_sec)
{
	size_t i, n = 0, skipped = 0;

	for (i = 0; i < r->count; i++) {
		enum baseline_verdict v = r->rows[i].verdict;

		n += v == BL_PASS || v == BL_FAIL || v == BL_INCOMPARABLE;
		skipped += v == BL_INCOMPARABLE;
	}
	if (r->refused) {
		n = 1;
		skipped = 0;
	}
	fprintf(out, "  <testsuite name=\"kvmwatch.baseline\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" errors=\"%d\" time=\"%.3f\">\n",
		n, r->failed, skipped, r->refused ? 1 : 0, duration_sec);
	if (r->refused)
		junit_testcase(out, "kvmwatch.baseline", "comparable",
			       duration_sec, JUNIT_ERROR, "", r->refusal);
	for (i = 0; i < r->count && !r->refused; i++) {
		const struct baseline_row *row = &r->rows[i];
		char line[400], ratio[16], allowed[16];

		if (row->verdict != BL_PASS && row->verdict != BL_FAIL &&
		    row->verdict != BL_INCOMPARABLE)
			continue;
		fmt_ratio(ratio, sizeof(ratio), row);
		fmt_allowed(allowed, sizeof(allowed), row);
		snprintf(line, sizeof(line), "%s (%s): baseline %.6g, current %.6g, ratio %s, allowed %s",
			 row->metric, row->basis, row->base, row->cur, ratio,
			 allowed);
		junit_testcase(out, "kvmwatch.baseline", row->metric,
			       duration_sec, row->verdict == BL_FAIL ?
			       JUNIT_FAILURE : row->verdict == BL_INCOMPARABLE ?
			       JUNIT_SKIPPED : JUNIT_PASS, line, row->note);
	}
	fputs("  </testsuite>\n", out);
	return ferror(out) ? -EIO : 0;
}

int baseline_write_junit(FILE *out, const struct baseline_result *r,
			 double duration_sec)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", out);
	baseline_junit_suite(out, r, duration_sec);
	fputs("</testsuites>\n", out);
	return ferror(out) ? -EIO : 0;
}
