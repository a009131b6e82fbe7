// SPDX-License-Identifier: GPL-2.0
/* The baseline comparison behind `kvmwatch check --baseline FILE`: each
 * metric of this run against the recorded one, a verdict per metric. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "core/kvmwatch.h"

const char *baseline_verdict_name(enum baseline_verdict v)
{
	switch (v) {
	case BL_PASS: return "PASS";
	case BL_FAIL: return "FAIL";
	case BL_INCOMPARABLE: return "INCOMPARABLE";
	case BL_INFO: return "INFO";
	default: return "NEW";
	}
}

static struct baseline_row *add_row(struct baseline_result *r, size_t *cap,
				    const struct metric *m)
{
	struct baseline_row *row;

	if (r->count == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		struct baseline_row *rows = realloc(r->rows, n * sizeof(*rows));

		if (!rows)
			return NULL;
		r->rows = rows;
		*cap = n;
	}
	row = &r->rows[r->count++];
	memset(row, 0, sizeof(*row));
	snprintf(row->metric, sizeof(row->metric), "%s", m->name);
	row->type = m->type;
	row->better = m->better;
	row->unit = m->unit;
	return row;
}

static void note(struct baseline_row *row, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct baseline_row *row, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(row->note, sizeof(row->note), fmt, ap);
	va_end(ap);
}

static void run_note(struct baseline_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void run_note(struct baseline_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nnotes == sizeof(r->notes) / sizeof(r->notes[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->nnotes++], sizeof(r->notes[0]), fmt, ap);
	va_end(ap);
}

/* The run-wide total (no labels) a metric is normalised by. */
static const struct metric *total(const struct record *r, const char *name)
{
	return metric_find(&r->metrics, name, "");
}

static double hist_mean(const struct metric *m)
{
	return m->value > 0 ? m->sum / m->value : 0;
}

struct normalised baseline_normalise(const struct metric *m,
				     const struct record *r,
				     enum baseline_norm norm, const char *which)
{
	struct normalised n = { 0 };
	const struct metric *per;

	n.ok = true;
	if (m->type == METRIC_GAUGE) {
		n.value = m->value;
		n.denominator = 1;
		return n;
	}
	/* By default the median: a few samples a preempted host thread
	 * stretched 100x move a mean (the same workload's write cost 32.5
	 * -> 93.1 us), not the median (enum metric_stat). */
	if (m->type == METRIC_HISTOGRAM) {
		n.value = m->stat == METRIC_STAT_MEAN ? hist_mean(m) :
			metric_hist_interpolated(m, 0.5);
		n.denominator = m->value;
		return n;
	}
	if (!m->per) {
		n.denominator = norm == NORM_RUN ? (r->runs > 1 ? r->runs : 1) :
			r->duration_sec;
		n.value = m->value / n.denominator;
		return n;
	}
	per = total(r, m->per);
	if (!per || per->unavailable) {
		n.ok = false;
		snprintf(n.why, sizeof(n.why),
			 "%s is not measured in the %s run, so %s cannot be normalised by it%s%s",
			 m->per, which, m->name, per ? ": " : "",
			 per ? per->unavailable : "");
		return n;
	}
	n.denominator = per->value;
	n.value = per->value > 0 ? m->value / per->value : 0;
	return n;
}

/* Both figures are the same statistic, normalised by the same total. */
static bool same_basis(const struct metric *bm, const struct metric *cm)
{
	if (bm->type == METRIC_HISTOGRAM)
		return bm->stat == cm->stat;
	if (!bm->per || !cm->per)
		return !bm->per && !cm->per;
	return !strcmp(bm->per, cm->per);
}

static void set_basis(struct baseline_row *row, const struct metric *m,
		      enum baseline_norm norm)
{
	if (m->type == METRIC_GAUGE)
		snprintf(row->basis, sizeof(row->basis), "value");
	else if (m->type == METRIC_HISTOGRAM)
		snprintf(row->basis, sizeof(row->basis), "%s",
			 metric_stat_name(m->stat));
	else if (m->per)
		snprintf(row->basis, sizeof(row->basis), "/%s", m->per);
	else
		snprintf(row->basis, sizeof(row->basis), "%s",
			 norm == NORM_RUN ? "/run" : "/s");
}

/* "1.2 ms" for nanoseconds, "%.4g unit" otherwise. */
static void fmt_quantity(char *buf, size_t len, double v, const char *unit)
{
	if (unit && !strcmp(unit, "ns")) {
		if (v >= 1e9)
			snprintf(buf, len, "%.3g s", v / 1e9);
		else if (v >= 1e6)
			snprintf(buf, len, "%.3g ms", v / 1e6);
		else if (v >= 1e3)
			snprintf(buf, len, "%.3g us", v / 1e3);
		else
			snprintf(buf, len, "%.3g ns", v);
		return;
	}
	snprintf(buf, len, "%.4g%s%s", v, unit ? " " : "", unit ? unit : "");
}

/* The row's two figures and their ratio. */
static void set_values(struct baseline_row *row, const struct normalised *b,
		       const struct normalised *c)
{
	row->have_values = true;
	row->base = b->value;
	row->cur = c->value;
	if (b->value == c->value)
		row->ratio = 1;
	else
		row->ratio = b->value ? c->value / b->value : INFINITY;
}

static void judge(struct baseline_row *row, const struct metric *bm,
		  const struct metric *cm, const struct normalised *b,
		  const struct normalised *c)
{
	bool worse, lower = bm->better == BETTER_LOWER;
	double expected, excess;

	set_values(row, b, c);
	row->allowed = lower ? 1 + row->tolerance :
		(row->tolerance < 1 ? 1 - row->tolerance : 0);
	if (bm->type == METRIC_HISTOGRAM && (!bm->value || !cm->value)) {
		if (!bm->value && !cm->value) {
			row->verdict = BL_PASS;
			note(row, "no samples in either run");
		} else {
			row->verdict = BL_INCOMPARABLE;
			note(row, "no samples in the %s run (%g in the other): no %s to compare",
			     bm->value ? "current" : "baseline",
			     bm->value ? bm->value : cm->value,
			     metric_stat_name(bm->stat));
		}
		return;
	}
	if (bm->type == METRIC_COUNTER && bm->per &&
	    (!b->denominator || !c->denominator)) {
		if (!bm->value && !cm->value) {
			row->verdict = BL_PASS;
			note(row, "no %s in %s", bm->per,
			     !b->denominator && !c->denominator ?
			     "either run" : "one run, and none of these");
		} else {
			row->verdict = BL_INCOMPARABLE;
			note(row, "no %s in the %s run: %s cannot be normalised",
			     bm->per, b->denominator ? "current" : "baseline",
			     bm->name);
		}
		return;
	}
	worse = lower ? c->value > b->value * row->allowed :
		c->value < b->value * row->allowed;
	/* A counter must also be off by more than min_events events of the
	 * current run's work: 0 -> 3 retries is noise, not a regression. */
	if (worse && bm->type == METRIC_COUNTER) {
		expected = b->value * c->denominator;
		excess = lower ? cm->value - expected : expected - cm->value;
		if (excess <= row->min_events) {
			row->verdict = BL_PASS;
			note(row, "beyond the tolerance by ratio, but only %.0f events %s the baseline's rate (min_events %g)",
			     excess, lower ? "above" : "below", row->min_events);
			return;
		}
	}
	if (worse && bm->type != METRIC_COUNTER &&
	    (lower ? c->value - b->value : b->value - c->value) <=
	    row->min_change) {
		row->verdict = BL_PASS;
		note(row, "beyond the tolerance by ratio, but changed by only %.4g %s (min_change %g)",
		     fabs(c->value - b->value), bm->unit ? bm->unit : "",
		     row->min_change);
		return;
	}
	row->verdict = worse ? BL_FAIL : BL_PASS;
	if (!worse)
		return;
	if (bm->type == METRIC_HISTOGRAM) {
		bool by_mean = bm->stat == METRIC_STAT_MEAN;
		const char *floors = cm->sum_estimated || bm->sum_estimated ?
			"(at least: log2 bucket floors) " : "";
		char cv[32], bv[32], cother[32], bother[32], cp99[32], bp99[32];

		fmt_quantity(cv, sizeof(cv), c->value, bm->unit);
		fmt_quantity(bv, sizeof(bv), b->value, bm->unit);
		fmt_quantity(cother, sizeof(cother), by_mean ?
			     metric_hist_interpolated(cm, 0.5) : hist_mean(cm),
			     bm->unit);
		fmt_quantity(bother, sizeof(bother), by_mean ?
			     metric_hist_interpolated(bm, 0.5) : hist_mean(bm),
			     bm->unit);
		fmt_quantity(cp99, sizeof(cp99), metric_hist_quantile(cm, 0.99),
			     bm->unit);
		fmt_quantity(bp99, sizeof(bp99), metric_hist_quantile(bm, 0.99),
			     bm->unit);
		note(row, "%s %s%s over %.0f samples against %s over %.0f in the baseline (%.2fx, allowed %s %.2fx); %s %s%s against %s; 99th percentile below %s against %s",
		     metric_stat_name(bm->stat), by_mean ? floors : "", cv,
		     cm->value, bv, bm->value, row->ratio,
		     lower ? "<=" : ">=", row->allowed,
		     by_mean ? "median" : "mean", by_mean ? "" : floors,
		     cother, bother, cp99, bp99);
	}
	else if (bm->type == METRIC_COUNTER)
		note(row, "%.0f %s %s against %.6g%s in the baseline (%.2fx, allowed %s %.2fx): %.0f events %s expected",
		     cm->value, bm->unit ? bm->unit : "", row->basis[0] == '/' &&
		     strcmp(row->basis, "/run") ? "counted" : "in this run",
		     b->value, row->basis, row->ratio, lower ? "<=" : ">=",
		     row->allowed, fabs(cm->value - b->value * c->denominator),
		     lower ? "more than" : "fewer than");
	else
		note(row, "%.4g %s against %.4g in the baseline (%.2fx, allowed %s %.2fx)",
		     c->value, bm->unit ? bm->unit : "", b->value, row->ratio,
		     lower ? "<=" : ">=", row->allowed);
}

static const char *detector_of(const char *metric, char *buf, size_t len)
{
	const char *dot = strchr(metric, '.');
	size_t n = dot ? (size_t)(dot - metric) : strlen(metric);

	if (n >= len)
		n = len - 1;
	memcpy(buf, metric, n);
	buf[n] = '\0';
	return buf;
}

static bool workload_ok(const struct record *r)
{
	return !r->command || r->command_exit == 0;
}

static void compare_runs(const struct record *base, const struct record *cur,
			 struct baseline_result *out)
{
	size_t i;

	if (strcmp(base->arch, cur->arch) || strcmp(base->vendor, cur->vendor)) {
		out->refused = true;
		snprintf(out->refusal, sizeof(out->refusal),
			 "the baseline was recorded on %s/%s (kernel %s), this run is %s/%s (kernel %s): exits, costs and paths differ by arch and vendor, so the runs are not compared",
			 base->arch, base->vendor, base->release, cur->arch,
			 cur->vendor, cur->release);
		return;
	}
	if (!workload_ok(base))
		run_note(out, "the baseline's workload exited with status %d: it may not have done all its work",
			 base->command_exit);
	if (!workload_ok(cur))
		run_note(out, "this run's workload exited with status %d: it may not have done all its work",
			 cur->command_exit);
	for (i = 0; i < base->ndetectors; i++) {
		const struct record_detector *b = &base->detectors[i];
		const struct record_detector *c = record_detector(cur, b->name);

		if (b->ran && c && c->ran && strcmp(b->modes, c->modes))
			run_note(out, "%s ran in %s mode in the baseline and in %s mode now: metrics a mode cannot measure are refused",
				 b->name, b->modes, c->modes);
	}
}

/* "exits.exits_by_reason{reason=npf}" */
static void name_row(struct baseline_row *row, const char *labels)
{
	size_t len = strlen(row->metric);

	if (labels[0])
		snprintf(row->metric + len, sizeof(row->metric) - len, "{%s}",
			 labels);
}

/* m is one entry of a counter broken down by label, and its detector ran
 * in the other run: that run counted 0 of it. */
static bool implicit_zero(const struct metric *m, const struct record *other)
{
	const struct record_detector *d;
	char det[16];

	if (m->type != METRIC_COUNTER || !m->nlabels || m->per_entity ||
	    m->unavailable)
		return false;
	d = record_detector(other, detector_of(m->name, det, sizeof(det)));
	return d && d->ran;
}

static void zero_of(struct metric *zero, const struct metric *m)
{
	*zero = *m;
	zero->value = 0;
	zero->sum = 0;
	zero->buckets = NULL;	/* all 0, and m's stay m's */
	zero->nbuckets = 0;
}

/* An informational row still shows both figures where they compare. */
static void show_values(struct baseline_row *row, const struct record *base,
			const struct record *cur, const struct metric *bm,
			const struct metric *cm, enum baseline_norm norm)
{
	struct normalised b, c;

	if (!cm || bm->unavailable || cm->unavailable ||
	    bm->type != cm->type || !same_basis(bm, cm))
		return;
	b = baseline_normalise(bm, base, norm, "baseline");
	c = baseline_normalise(cm, cur, norm, "current");
	if (b.ok && c.ok)
		set_values(row, &b, &c);
}

/* One compared row: bm from the baseline against cm (NULL: missing). */
static int add_compared(struct baseline_result *out, size_t *cap,
			const struct baseline_settings *s,
			const struct record *base, const struct record *cur,
			const struct metric *bm, const struct metric *cm,
			const char *labels)
{
	const struct record_detector *cd;
	const struct tolerance *t;
	struct baseline_row *row;
	struct normalised b, c;
	char det[16];

	row = add_row(out, cap, bm);
	if (!row)
		return -ENOMEM;
	name_row(row, labels);
	set_basis(row, bm, out->norm);
	t = baseline_tolerance_for(s, bm->name, labels);
	row->tolerance = t && !t->off && t->value >= 0 ? t->value :
		s->tolerance >= 0 ? s->tolerance :
		baseline_default_tolerance(bm->unit);
	row->min_events = t && t->min_events >= 0 ? t->min_events :
		s->min_events;
	row->min_change = t && t->min_change >= 0 ? t->min_change :
		s->min_change >= 0 ? s->min_change :
		baseline_noise_floor(bm->name, bm->unit);
	cd = record_detector(cur, detector_of(bm->name, det, sizeof(det)));
	if (bm->better == BETTER_NEITHER || (t && t->off)) {
		row->verdict = BL_INFO;
		note(row, t && t->off ? "tolerance off (%s)" :
		     "informational: neither direction is a regression",
		     t ? t->origin : "");
		show_values(row, base, cur, bm, cm, out->norm);
	} else if (cd && !cd->ran) {
		row->verdict = BL_INCOMPARABLE;
		note(row, "the %s detector did not run this time%s%s",
		     det, cd->why[0] ? ": " : "", cd->why);
	} else if (!cm) {
		row->verdict = BL_INCOMPARABLE;
		note(row, "not measured in this run%s",
		     cd ? "" : " (no such detector in this kvmwatch)");
	} else if (bm->unavailable && cm->unavailable) {
		/* The same blind spot twice: nothing to compare, nothing
		 * that differs between the runs. */
		row->verdict = BL_INFO;
		note(row, "unavailable in both runs: %s", cm->unavailable);
	} else if (bm->unavailable || cm->unavailable) {
		row->verdict = BL_INCOMPARABLE;
		note(row, "unavailable in the %s run: %s",
		     bm->unavailable ? "baseline" : "current",
		     bm->unavailable ? bm->unavailable : cm->unavailable);
	} else if (bm->type != cm->type) {
		row->verdict = BL_INCOMPARABLE;
		note(row, "a %s in the baseline, a %s now",
		     metric_type_name(bm->type), metric_type_name(cm->type));
	} else if (!same_basis(bm, cm)) {
		/* An older kvmwatch's record: its figure is not this one's. */
		row->verdict = BL_INCOMPARABLE;
		if (bm->type == METRIC_HISTOGRAM)
			note(row, "compared by its %s in the baseline, by its %s now: record the baseline again",
			     metric_stat_name(bm->stat),
			     metric_stat_name(cm->stat));
		else
			note(row, "compared per %s in the baseline, per %s now: record the baseline again",
			     bm->per ? bm->per : "run or second",
			     cm->per ? cm->per : "run or second");
	} else {
		b = baseline_normalise(bm, base, out->norm, "baseline");
		c = baseline_normalise(cm, cur, out->norm, "current");
		if (!b.ok || !c.ok) {
			row->verdict = BL_INCOMPARABLE;
			note(row, "%s", b.ok ? c.why : b.why);
		} else {
			if (!(t && !t->off && t->value >= 0))
				baseline_widen_by_spread(row, bm, b.value,
							 out->norm);
			judge(row, bm, cm, &b, &c);
		}
	}
	out->passed += row->verdict == BL_PASS;
	out->failed += row->verdict == BL_FAIL;
	out->incomparable += row->verdict == BL_INCOMPARABLE;
	return 0;
}

/* A tolerance for a detector that ran in neither run (e.g. the x86 LAPIC
 * timer on arm64) is no typo: one rules file serves every arch. */
static bool ran_in_neither(const struct record *base, const struct record *cur,
			   const struct tolerance *t, struct baseline_result *out)
{
	const struct record_detector *b, *c;
	char det[16];

	detector_of(t->metric, det, sizeof(det));
	b = record_detector(base, det);
	c = record_detector(cur, det);
	if (!b || !c || b->ran || c->ran)
		return false;
	run_note(out, "%s: tolerance for '%s' not used: the %s detector ran in neither run (%s)",
		 t->origin, t->metric, det, c->why[0] ? c->why : c->status);
	return true;
}

int baseline_compare(const struct record *base, const struct record *cur,
		     const struct baseline_settings *s,
		     struct baseline_result *out, char *error,
		     size_t error_len)
{
	size_t i, cap = 0;
	char det[16];

	memset(out, 0, sizeof(*out));
	/* A tolerance for a metric neither run has is a typo, not a no-op. */
	for (i = 0; i < s->count; i++) {
		const struct tolerance *t = &s->items[i];
		const struct record *runs[2] = { base, cur };
		bool found = false;
		size_t j;
		int k;

		for (k = 0; k < 2 && !found; k++)
			for (j = 0; j < runs[k]->metrics.count && !found; j++)
				found = baseline_key_matches(t->metric,
						    &runs[k]->metrics.items[j]);
		if (!found && ran_in_neither(base, cur, t, out))
			continue;
		if (!found) {
			snprintf(error, error_len,
				 "%s: tolerance for '%s' names no metric of the baseline or of this run",
				 t->origin, t->metric);
			return -EINVAL;
		}
	}
	out->norm = s->norm;
	if (out->norm == NORM_AUTO)
		out->norm = base->command && cur->command ? NORM_RUN :
			NORM_DURATION;
	compare_runs(base, cur, out);
	if (out->refused)
		return 0;

	for (i = 0; i < base->metrics.count; i++) {
		const struct metric *bm = &base->metrics.items[i];
		const struct metric *cm;
		struct metric zero;
		char labels[256];

		/* pids differ between runs: per-VM figures are context. */
		if (bm->per_entity)
			continue;
		metric_labels_string(bm, labels, sizeof(labels));
		cm = metric_find(&cur->metrics, bm->name, labels);
		/* A breakdown (exits by reason) lists what happened: a label
		 * set missing from a run where its detector ran counted 0. */
		if (!cm && implicit_zero(bm, cur)) {
			zero_of(&zero, bm);
			cm = &zero;
		}
		if (add_compared(out, &cap, s, base, cur, bm, cm, labels))
			return -ENOMEM;
	}
	/* Figures only this run has: new breakdown entries are compared
	 * with a zero; new detectors or metrics are shown, not judged. */
	for (i = 0; i < cur->metrics.count; i++) {
		const struct metric *cm = &cur->metrics.items[i];
		struct baseline_row *row;
		struct metric zero;
		char labels[256];

		if (cm->per_entity)
			continue;
		metric_labels_string(cm, labels, sizeof(labels));
		if (metric_find(&base->metrics, cm->name, labels))
			continue;
		if (implicit_zero(cm, base)) {
			zero_of(&zero, cm);
			if (add_compared(out, &cap, s, base, cur, &zero, cm,
					 labels))
				return -ENOMEM;
			continue;
		}
		row = add_row(out, &cap, cm);
		if (!row)
			return -ENOMEM;
		name_row(row, labels);
		set_basis(row, cm, out->norm);
		row->verdict = BL_NEW;
		note(row, "not in the baseline: recorded with an older kvmwatch or without the %s detector",
		     detector_of(cm->name, det, sizeof(det)));
	}
	return 0;
}

void baseline_result_free(struct baseline_result *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

enum baseline_verdict baseline_overall(const struct baseline_result *r)
{
	if (r->failed)
		return BL_FAIL;
	if (r->refused || r->incomparable || !r->passed)
		return BL_INCOMPARABLE;
	return BL_PASS;
}

int baseline_exit_code(const struct baseline_result *r)
{
	switch (baseline_overall(r)) {
	case BL_PASS: return KW_EXIT_OK;
	case BL_FAIL: return KW_EXIT_CHECK_FAILED;
	default: return KW_EXIT_UNSUPPORTED;
	}
}
