// SPDX-License-Identifier: GPL-2.0
/* The LAPIC timer view as text (a table of top and check), JSON and
 * metrics. */
#include <errno.h>

#include "core/json_figures.h"
#include "timer_model.h"

/* Microseconds in a -US column, whatever their size: a long wait keeps
 * its unit, it loses its fraction. */
static void format_us(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 100000000ull)
		snprintf(buf, len, "%.0f", ns / 1e3);
	else
		snprintf(buf, len, "%.1f", ns / 1e3);
}

void timer_view_text(FILE *out, const void *timer_view, const char *modes)
{
	const struct timer_view *view = timer_view;
	char period[24], avg[24], p99[24], max[24], programmed[24];
	size_t i;

	text_wrapped(out, 2, "LAPIC timers - timer: %s - %zu vCPU timer%s, %llu callbacks, %llu catch-up chains, longest %llu",
		modes, view->nvcpus, view->nvcpus == 1 ? "" : "s",
		(unsigned long long)view->callbacks,
		(unsigned long long)view->chains,
		(unsigned long long)view->longest_chain);
	if (!view->nvcpus)
		return;
	/* Under 130 columns: the vCPU's thread, the programmed rate and the
	 * mean lateness go; the rule's figures stay. */
	if (text_narrow())
		fprintf(out, "%7s %4s %-8s %9s %8s %9s %10s %6s %5s %4s\n",
			"PID", "VCPU", "MODE", "PERIOD-US", "CB/s",
			"LATE99-US", "LATEMAX-US", "CHAINS", "MAXCH", "P0");
	else
		fprintf(out, "%8s %4s %8s %-11s %9s %10s %10s %11s %11s %11s %6s %9s %7s\n",
		"PID", "VCPU", "TID", "MODE", "PERIOD-US", "CALLBACK/s",
		"PROGRAM/s", "LATE-AVG-US", "LATE-P99-US", "LATE-MAX-US",
		"CHAINS", "MAX-CHAIN", "PERIOD0");
	for (i = 0; i < view->nvcpus; i++) {
		const struct timer_vcpu_view *v = &view->vcpus[i];

		snprintf(period, sizeof(period), "%.1f", v->period_ns / 1e3);
		if (v->programmed_per_sec > 0)
			snprintf(programmed, sizeof(programmed), "%.1f",
				 v->programmed_per_sec);
		else
			snprintf(programmed, sizeof(programmed), "-");
		format_us(avg, sizeof(avg), v->lateness_avg_ns);
		format_us(p99, sizeof(p99), v->lateness_p99_ns_le);
		format_us(max, sizeof(max), v->max_lateness_ns);
		if (text_narrow()) {
			fprintf(out, "%7u %4u %-8.8s %9s %8.1f %9s %10s %6llu %5llu %4llu\n",
				v->pid, v->vcpu_id, v->mode, period,
				v->callbacks_per_sec, p99, max,
				(unsigned long long)v->stats.chains,
				(unsigned long long)v->longest_chain,
				(unsigned long long)v->stats.period0);
			continue;
		}
		fprintf(out, "%8u %4u %8u %-11s %9s %10.1f %10s %11s %11s %11s %6llu %9llu %7llu\n",
			v->pid, v->vcpu_id, v->tid, v->mode, period,
			v->callbacks_per_sec, programmed, avg, p99, max,
			(unsigned long long)v->stats.chains,
			(unsigned long long)v->longest_chain,
			(unsigned long long)v->stats.period0);
	}
}

/* Non-empty slots: [{"ge_ns": 2^(i-1), "lt_ns": 2^i, "count": n}...] */
static json_t *json_hist(const struct log2_hist *hist)
{
	json_t *slots = json_array();
	unsigned int i;

	for (i = 0; i < HIST_SLOTS; i++) {
		if (!hist->slots[i])
			continue;
		json_array_append_new(slots, json_pack("{s:I, s:I, s:I}",
			"ge_ns", (json_int_t)(i ? 1ull << (i - 1) : 0),
			"lt_ns", (json_int_t)(i ? 1ull << i : 1),
			"count", (json_int_t)hist->slots[i]));
	}
	return slots;
}

static void set_int(json_t *obj, const char *key, uint64_t v)
{
	json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static json_t *json_timer_vcpu(const struct timer_vcpu_view *v)
{
	const struct timer_stats *st = &v->stats;
	const struct timer_thread_stats *th = &v->thread;
	json_t *o = json_pack("{s:I, s:o, s:o, s:I, s:I, s:s, s:I}",
			      "pid", (json_int_t)v->pid,
			      "vm_start", json_vm_start(v->vm_start),
			      "name", json_vm_name(v->pid, v->vm_start),
			      "vcpu_id", (json_int_t)v->vcpu_id,
			      "tid", (json_int_t)v->tid,
			      "mode", v->mode,
			      "period_ns", (json_int_t)v->period_ns);

	set_int(o, "callbacks", v->callbacks);
	json_object_set_new(o, "callbacks_per_s",
			    json_real(v->callbacks_per_sec));
	json_object_set_new(o, "programmed_per_s",
			    json_real(v->programmed_per_sec));
	set_int(o, "lateness_avg_ns", v->lateness_avg_ns);
	set_int(o, "lateness_p50_ns_le", v->lateness_p50_ns_le);
	set_int(o, "lateness_p99_ns_le", v->lateness_p99_ns_le);
	set_int(o, "max_lateness_ns", v->max_lateness_ns);
	set_int(o, "restarts", st->restarts);
	set_int(o, "late_rearms", st->late_rearms);
	set_int(o, "catchup_rearms", st->catchup_rearms);
	set_int(o, "chains", st->chains);
	json_object_set_new(o, "chains_per_s", json_real(v->chains_per_sec));
	set_int(o, "chain_callbacks", st->chain_callbacks);
	set_int(o, "chain_ns", st->chain_ns);
	set_int(o, "longest_chain", v->longest_chain);
	set_int(o, "longest_chain_ns", v->longest_chain_ns);
	set_int(o, "longest_chain_lateness_ns", v->longest_chain_lateness_ns);
	set_int(o, "period0", st->period0);
	set_int(o, "hv_in_use", st->hv_in_use);
	set_int(o, "callback_avg_ns", st->timed ? st->callback_ns / st->timed : 0);
	set_int(o, "max_callback_ns", st->max_callback_ns);
	set_int(o, "max_response_ns", st->max_response_ns);
	set_int(o, "advances", st->advances);
	set_int(o, "advances_past", st->advances_past);
	set_int(o, "advances_clamped", st->advances_clamped);
	set_int(o, "arms", th->arms);
	set_int(o, "sw_starts", th->sw_starts);
	set_int(o, "hv_starts", th->hv_starts);
	set_int(o, "hv_refused", th->hv_refused);
	set_int(o, "to_sw", th->to_sw);
	set_int(o, "hv_state_on", th->hv_state_on);
	set_int(o, "hv_state_off", th->hv_state_off);
	json_object_set_new(o, "by_mode", json_pack("{s:I, s:I, s:I}",
		"oneshot", (json_int_t)st->by_mode[TIMER_MODE_ONESHOT],
		"periodic", (json_int_t)st->by_mode[TIMER_MODE_PERIODIC],
		"tscdeadline", (json_int_t)st->by_mode[TIMER_MODE_TSCDEADLINE]));
	json_object_set_new(o, "lateness_hist", json_hist(&st->lateness));
	return o;
}

size_t timer_view_json_len(const void *timer_view)
{
	return ((const struct timer_view *)timer_view)->nvcpus;
}

json_t *timer_view_json_item(const void *timer_view, size_t i)
{
	return json_timer_vcpu(&((const struct timer_view *)timer_view)->vcpus[i]);
}

json_t *timer_view_json(const void *timer_view)
{
	return json_list(timer_view, timer_view_json_len(timer_view),
			 timer_view_json_item);
}

static struct metric *timer_metric(struct metric_set *out,
				   enum metric_type type, const char *unit,
				   enum metric_better better, const char *name,
				   const char *help, double value)
{
	struct metric *m = metric_add(out, type, unit, help, better, "%s",
				      name);

	if (m)
		m->value = value;
	return m;
}

int timer_view_metrics(const void *view, struct metric_set *out)
{
	const struct timer_view *v = view;
	uint64_t catchups = 0, period0 = 0, max_late = 0, chain_ns = 0;
	uint32_t lateness[HIST_SLOTS] = { 0 };
	double lateness_sum = 0;
	struct metric *m;
	size_t i;
	int slot;

	for (i = 0; i < v->nvcpus; i++) {
		const struct timer_vcpu_view *t = &v->vcpus[i];

		catchups += t->stats.catchup_rearms;
		period0 += t->stats.period0;
		lateness_sum += t->stats.lateness_ns;
		if (t->max_lateness_ns > max_late)
			max_late = t->max_lateness_ns;
		if (t->longest_chain_ns > chain_ns)
			chain_ns = t->longest_chain_ns;
		for (slot = 0; slot < HIST_SLOTS; slot++)
			lateness[slot] += t->stats.lateness.slots[slot];
	}
	if (!timer_metric(out, METRIC_COUNTER, "callbacks", BETTER_NEITHER,
			  "timer.callbacks", "apic_timer_fn runs",
			  v->callbacks) ||
	    !timer_metric(out, METRIC_COUNTER, "rearms", BETTER_LOWER,
			  "timer.catchup_rearms",
			  "re-arms at an expiry already past when the callback began",
			  catchups) ||
	    !timer_metric(out, METRIC_COUNTER, "chains", BETTER_LOWER,
			  "timer.chains", "catch-up chains", v->chains) ||
	    !timer_metric(out, METRIC_GAUGE, "callbacks", BETTER_LOWER,
			  "timer.longest_chain",
			  "callbacks in the longest catch-up chain",
			  v->longest_chain) ||
	    !timer_metric(out, METRIC_GAUGE, "ns", BETTER_LOWER,
			  "timer.longest_chain_ns",
			  "hardirq time of the longest catch-up chain",
			  chain_ns) ||
	    !timer_metric(out, METRIC_COUNTER, "callbacks", BETTER_LOWER,
			  "timer.period0",
			  "periodic-mode callbacks with period 0", period0) ||
	    !timer_metric(out, METRIC_GAUGE, "ns", BETTER_NEITHER,
			  "timer.max_lateness_ns",
			  "latest expiry of a LAPIC hrtimer", max_late))
		return -ENOMEM;
	m = timer_metric(out, METRIC_HISTOGRAM, "ns", BETTER_NEITHER,
			 "timer.lateness_ns",
			 "how late each LAPIC timer callback ran", 0);
	if (!m)
		return -ENOMEM;
	if (metric_set_hist(m, lateness, lateness_sum))
		return -ENOMEM;
	for (i = 0; i < v->nvcpus; i++) {
		const struct timer_vcpu_view *t = &v->vcpus[i];

		m = timer_metric(out, METRIC_COUNTER, "callbacks",
				 BETTER_NEITHER, "timer.vcpu_callbacks",
				 "apic_timer_fn runs of one vCPU", t->callbacks);
		if (!m)
			return -ENOMEM;
		metric_vm_labels(m, t->pid, t->vm_start);
		metric_label(m, "vcpu", "%u", t->vcpu_id);
		m = timer_metric(out, METRIC_GAUGE, "callbacks", BETTER_LOWER,
				 "timer.vcpu_longest_chain",
				 "longest catch-up chain of one vCPU",
				 t->longest_chain);
		if (!m)
			return -ENOMEM;
		metric_vm_labels(m, t->pid, t->vm_start);
		metric_label(m, "vcpu", "%u", t->vcpu_id);
	}
	return 0;
}
