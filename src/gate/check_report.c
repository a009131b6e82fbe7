// SPDX-License-Identifier: GPL-2.0
/* The verdicts of `kvmwatch check` as a text table and JSON. */
#include <string.h>

#include "check.h"

void check_text_verdict(FILE *out, const struct check_data *d,
			const struct rule_result *results, size_t n,
			enum rule_verdict overall)
{
	size_t i, failed = 0, skipped = 0, noted = 0;

	fprintf(out, "%-24s %-12s %12s  %s\n", "RULE", "THRESHOLD", "MEASURED",
		"VERDICT");
	for (i = 0; i < n; i++) {
		const struct rule_result *r = &results[i];
		char threshold[32], measured[32];

		snprintf(threshold, sizeof(threshold), "%s %g",
			 rule_op_symbol(r->rule->op), r->threshold);
		if (r->verdict == VERDICT_SKIP)
			snprintf(measured, sizeof(measured), "-");
		else
			snprintf(measured, sizeof(measured), "%g", r->value);
		fprintf(out, "%-24s %-12s %12s  %s  %s (%s)\n", r->rule->name,
			threshold, measured, rule_verdict_name(r->verdict),
			r->rule->description, r->rule->unit);
		if (r->verdict != VERDICT_PASS && r->evidence[0])
			fprintf(out, "%24s %s: %s\n", "",
				r->verdict == VERDICT_FAIL ? "evidence" :
				r->verdict == VERDICT_INFO ? "finding" : "why",
				r->evidence);
		failed += r->verdict == VERDICT_FAIL;
		skipped += r->verdict == VERDICT_SKIP;
		noted += r->verdict == VERDICT_INFO;
	}
	for (i = 0; i < DET_COUNT; i++)
		if (d->missed_runs[i])
			fprintf(out, "note: the kernel skipped %llu runs of the %s programs (another BPF program was running on that CPU): figures may be short by that much\n",
				(unsigned long long)d->missed_runs[i],
				detectors[i].name);
	for (i = 0; i < KCOUNT_COUNT; i++)
		if (d->counters[i].present)
			fprintf(out, "kernel: %s %llu -> %llu\n",
				check_counter_file(i),
				(unsigned long long)d->counters[i].before,
				(unsigned long long)d->counters[i].after);
	fprintf(out, "verdict: %s (%zu rules: %zu passed, %zu failed, %zu skipped, %zu noted) over %.2f s\n",
		rule_verdict_name(overall), n, n - failed - skipped - noted,
		failed, skipped, noted, d->duration_sec);
}

json_t *check_json_results(const struct rule_result *results, size_t n)
{
	json_t *rules = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct rule_result *r = &results[i];
		json_t *rule = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:s}",
					 "name", r->rule->name,
					 "group", r->rule->group,
					 "description", r->rule->description,
					 "unit", r->rule->unit,
					 "op", rule_op_symbol(r->rule->op),
					 "threshold", r->threshold,
					 "verdict", rule_verdict_name(r->verdict));

		/* A host fact can fail a check, never pass one alone. */
		json_object_set_new(rule, "host_fact",
				    json_boolean(r->host_fact));
		json_object_set_new(rule, "measured", r->verdict == VERDICT_SKIP ?
				    json_null() : json_real(r->value));
		json_object_set_new(rule, r->verdict == VERDICT_SKIP ? "why" :
				    "evidence", r->evidence[0] ?
				    json_string(r->evidence) : json_null());
		json_array_append_new(rules, rule);
	}
	return rules;
}

json_t *check_json_counters(const struct check_data *d)
{
	json_t *counters = json_object();
	enum kernel_counter c;

	for (c = 0; c < KCOUNT_COUNT; c++) {
		const char *file = check_counter_file(c);
		const char *name = strrchr(file, '/') + 1;

		json_object_set_new(counters, name, d->counters[c].present ?
			json_pack("{s:I, s:I}",
				  "before", (json_int_t)d->counters[c].before,
				  "after", (json_int_t)d->counters[c].after) :
			json_null());
	}
	return counters;
}
