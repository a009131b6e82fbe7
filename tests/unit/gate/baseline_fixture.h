/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the baseline tests share: two runs built the way detectors fill
 * metric sets (struct run_spec), and the pair a test compares.
 */
#ifndef KVMWATCH_TEST_BASELINE_FIXTURE_H
#define KVMWATCH_TEST_BASELINE_FIXTURE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gate/baseline.h"
#include "core/kvmwatch.h"

/* A run of `kvmload mmio`: totals, one per-VM figure, a histogram. */
struct run_spec {
	const char *arch, *vendor;
	double duration;
	bool workload;
	double exits, writes, emulated, fast_share, max_chain;
	uint32_t cost_slots[HIST_SLOTS];
	const char *share_unavailable;
	bool mmio_ran;
	double stretch_ms;	/* > 0: a teardown.max_stretch_ms gauge */
	/* Any: a teardown.duration_ns histogram, compared by td_stat. */
	uint32_t teardown_slots[HIST_SLOTS];
	enum metric_stat td_stat;
	const char *emulated_per;	/* NULL: "mmio.writes" */
};

static inline void spec_default(struct run_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->arch = "x86_64";
	s->vendor = "svm";
	s->duration = 10;
	s->exits = 30000;
	s->writes = 3000;
	s->emulated = 2000;
	s->fast_share = 0.6;
	s->max_chain = 2;
	s->cost_slots[10] = 900;	/* ~768 ns each */
	s->cost_slots[11] = 100;
	s->mmio_ran = true;
	s->td_stat = METRIC_STAT_MEAN;
}

static inline void detector(struct record *r, const char *name, bool ran,
		     const char *modes, const char *why)
{
	struct record_detector *d = &r->detectors[r->ndetectors++];

	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->status, sizeof(d->status), "%s", ran ? "available" :
		 "unavailable");
	snprintf(d->modes, sizeof(d->modes), "%s", modes);
	d->ran = ran;
	snprintf(d->why, sizeof(d->why), "%s", why ? why : "");
}

static inline bool any_samples(const uint32_t *slots)
{
	int i;

	for (i = 0; i < HIST_SLOTS; i++)
		if (slots[i])
			return true;
	return false;
}

static inline void build(struct record *r, const struct run_spec *s)
{
	struct metric *m;

	memset(r, 0, sizeof(*r));
	snprintf(r->version, sizeof(r->version), "test");
	snprintf(r->release, sizeof(r->release), "6.12.57+deb13-amd64");
	snprintf(r->arch, sizeof(r->arch), "%s", s->arch);
	snprintf(r->vendor, sizeof(r->vendor), "%s", s->vendor);
	r->duration_sec = s->duration;
	r->command_exit = -1;
	if (s->workload) {
		r->command = json_pack("[s, s]", "kvmload", "mmio");
		r->command_exit = 0;
	}
	detector(r, "exits", true, "tracepoint", NULL);
	detector(r, "mmio", s->mmio_ran, s->mmio_ran ? "fentry" : "none",
		 s->mmio_ran ? NULL : "kvm_io_bus_write cannot be watched");

	m = metric_add(&r->metrics, METRIC_COUNTER, "exits", "guest exits",
		       BETTER_LOWER, "exits.total");
	m->value = s->exits;
	/* Per VM: context only, never compared (pids differ). */
	m = metric_add(&r->metrics, METRIC_COUNTER, "exits", "guest exits",
		       BETTER_LOWER, "exits.total");
	metric_label(m, "vm", "%d", 1234);
	m->value = s->exits * 7;
	m = metric_add(&r->metrics, METRIC_COUNTER, "exits", "by reason",
		       BETTER_LOWER, "exits.by_reason");
	metric_label(m, "reason", "npf");
	m->value = s->exits / 2;
	if (s->stretch_ms > 0) {
		m = metric_add(&r->metrics, METRIC_GAUGE, "ms", "longest stretch",
			       BETTER_LOWER, "teardown.max_stretch_ms");
		m->value = s->stretch_ms;
	}
	if (any_samples(s->teardown_slots)) {
		m = metric_add(&r->metrics, METRIC_HISTOGRAM, "ns",
			       "teardown durations", BETTER_LOWER,
			       "teardown.duration_ns");
		metric_set_hist(m, s->teardown_slots, -1);
		m->stat = s->td_stat;
	}
	if (!s->mmio_ran)
		return;
	m = metric_add(&r->metrics, METRIC_COUNTER, "writes", "MMIO writes",
		       BETTER_NEITHER, "mmio.writes");
	m->value = s->writes;
	m = metric_add(&r->metrics, METRIC_COUNTER, "writes", "emulated",
		       BETTER_LOWER, "mmio.emulated_writes");
	m->per = s->emulated_per ? s->emulated_per : "mmio.writes";
	m->value = s->emulated;
	m = metric_add(&r->metrics, METRIC_GAUGE, "ratio", "fast share",
		       BETTER_HIGHER, "mmio.fast_share");
	m->value = s->fast_share;
	m->unavailable = s->share_unavailable;
	m = metric_add(&r->metrics, METRIC_GAUGE, "callbacks", "longest chain",
		       BETTER_LOWER, "mmio.max_chain");
	m->value = s->max_chain;
	m = metric_add(&r->metrics, METRIC_HISTOGRAM, "ns", "cost per write",
		       BETTER_LOWER, "mmio.write_cost_ns");
	metric_set_hist(m, s->cost_slots, -1);
}

static inline const struct baseline_row *row(const struct baseline_result *r,
				      const char *metric)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (!strcmp(r->rows[i].metric, metric))
			return &r->rows[i];
	fail_msg("no row for %s", metric);
	return NULL;
}

struct pair {
	struct record base, cur;
	struct baseline_settings s;
	struct baseline_result res;
	char error[256];
};

static inline int compare(struct pair *p, const struct run_spec *b,
		   const struct run_spec *c)
{
	build(&p->base, b);
	build(&p->cur, c);
	return baseline_compare(&p->base, &p->cur, &p->s, &p->res, p->error,
				sizeof(p->error));
}

static inline int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	baseline_settings_init(&p->s);
	*state = p;
	return 0;
}

static inline int teardown(void **state)
{
	struct pair *p = *state;

	baseline_result_free(&p->res);
	baseline_settings_free(&p->s);
	record_free(&p->base);
	record_free(&p->cur);
	free(p);
	return 0;
}

#endif
