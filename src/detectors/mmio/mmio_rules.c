// SPDX-License-Identifier: GPL-2.0
/*
 * The rules of `kvmwatch check --mmio`: fast-MMIO doorbells that were
 * decoded instead of taking KVM_FAST_MMIO_BUS, whether the vendor code has
 * a fast path at all, and the fast-path share and per-write cost as
 * thresholds. Defaults and their reasons are in docs/mmio.md.
 */
#include <inttypes.h>
#include <stdio.h>

#include "mmio_model.h"
#include "core/histogram.h"
#include "core/vm_name.h"

/* Writes to addresses known to be fast-MMIO candidates, either path. */
static uint64_t candidate_writes(const struct mmio_view *v)
{
	uint64_t n = 0;
	size_t i, j;

	for (i = 0; i < v->nvms; i++)
		for (j = 0; j < v->vms[i].naddrs; j++)
			if (v->vms[i].addrs[j].candidate == 1)
				n += v->vms[i].addrs[j].writes;
	return n;
}

static enum measure_outcome
measure_emulated_candidates(const struct check_data *d, double *value,
			    char *evidence, size_t evidence_len, char *why,
			    size_t why_len)
{
	const struct mmio_view *v = check_view(d, DET_MMIO, why, why_len);
	const struct mmio_vm_view *vm = NULL;
	const struct mmio_addr_view *a;
	const struct mmio_path_view *e;
	char name[VM_NAME_LEN + 32];

	if (!v)
		return NOT_MEASURED;
	if (!v->setup.bus_probed) {
		snprintf(why, why_len, "fast-MMIO candidates are unknown: %.400s",
			 v->setup.candidates_why);
		return NOT_MEASURED;
	}
	if (!MMIO_FAST_USABLE(v->fast_path.state)) {
		snprintf(why, why_len,
			 "applies only where writes can take a fast MMIO path, and here it is %s: %.400s",
			 mmio_fast_state_name(v->fast_path.state),
			 v->fast_path.why);
		return NOT_MEASURED;
	}
	if (!candidate_writes(v) && !v->emulated_candidate_writes) {
		snprintf(why, why_len,
			 "no write to a fast-MMIO candidate (a len-0 ioeventfd) was seen: nothing to judge");
		return NOT_MEASURED;
	}
	*value = v->emulated_candidate_writes;
	a = mmio_view_worst_candidate(v, &vm);
	if (!a)
		return MEASURED;
	e = &a->path[MMIO_PATH_EMULATED];
	snprintf(evidence, evidence_len,
		 "%s: GPA 0x%" PRIx64 " (a len-0 ioeventfd, on KVM_FAST_MMIO_BUS) was written %llu times after decoding (%llu after instruction emulation), %llu times on the fast bus, by %u vCPU thread%s; exit reason %s; the fast-bus try found no device %llu times",
		 vm_describe(vm->pid, vm->vm_start, name, sizeof(name)), a->gpa,
		 (unsigned long long)(e->writes - e->nested),
		 (unsigned long long)e->insn_emulated,
		 (unsigned long long)a->path[MMIO_PATH_FAST].writes,
		 a->vcpu_threads, a->vcpu_threads == 1 ? "" : "s",
		 e->reason_set ? e->reason_name : "unknown",
		 (unsigned long long)a->fast_misses);
	return MEASURED;
}

static enum measure_outcome
measure_fast_path(const struct check_data *d, double *value, char *evidence,
		  size_t evidence_len, char *why, size_t why_len)
{
	const struct mmio_view *v = check_view(d, DET_MMIO, why, why_len);
	const struct mmio_fast_path *fp;

	if (!v)
		return NOT_MEASURED;
	fp = &v->fast_path;
	switch (fp->state) {
	case MMIO_FAST_PRESENT:
	case MMIO_FAST_IN_USE:
		*value = 1;
		return HOST_FACT;
	case MMIO_FAST_ABSENT:
	case MMIO_FAST_UNUSABLE:
		if (d->expect_fast_mmio) {
			*value = 0;
			snprintf(evidence, evidence_len,
				 "--expect-fast-mmio, but %.460s", fp->why);
			return HOST_FACT;
		}
		/* A finding, not a regression: the kernel never had it, or
		 * this host cannot take it. */
		*value = 0;
		snprintf(evidence, evidence_len,
			 "%.420s (--expect-fast-mmio makes this a failure)",
			 fp->why);
		return FINDING;
	default:
		snprintf(why, why_len, "cannot tell: %.470s", fp->why);
		return NOT_MEASURED;
	}
}

static enum measure_outcome
measure_fast_share(const struct check_data *d, double *value, char *evidence,
		   size_t evidence_len, char *why, size_t why_len)
{
	const struct mmio_view *v = check_view(d, DET_MMIO, why, why_len);

	if (!v)
		return NOT_MEASURED;
	if (!v->writes) {
		snprintf(why, why_len, "no guest MMIO write was seen");
		return NOT_MEASURED;
	}
	*value = v->fast_share;
	snprintf(evidence, evidence_len,
		 "%llu of %llu MMIO writes took KVM_FAST_MMIO_BUS; %llu were decoded and handled in the kernel, %llu went to the VMM",
		 (unsigned long long)v->by_path[MMIO_PATH_FAST],
		 (unsigned long long)v->writes,
		 (unsigned long long)v->by_path[MMIO_PATH_EMULATED],
		 (unsigned long long)v->by_path[MMIO_PATH_USER]);
	return MEASURED;
}

static uint64_t kernel_max_cost(const struct mmio_addr_view *a)
{
	uint64_t f = a->path[MMIO_PATH_FAST].max_cost_ns;
	uint64_t e = a->path[MMIO_PATH_EMULATED].max_cost_ns;

	return f > e ? f : e;
}

static enum measure_outcome
measure_write_cost(const struct check_data *d, double *value, char *evidence,
		   size_t evidence_len, char *why, size_t why_len)
{
	const struct mmio_view *v = check_view(d, DET_MMIO, why, why_len);
	const struct mmio_addr_view *worst = NULL;
	const struct mmio_vm_view *worst_vm = NULL;
	struct log2_hist all = { { 0 } };
	char name[VM_NAME_LEN + 32];
	uint64_t timed = 0;
	size_t i, j;
	int p, k;

	if (!v)
		return NOT_MEASURED;
	if (!v->setup.handler_probed) {
		snprintf(why, why_len, "costs are not measured: %.440s",
			 v->setup.costs_why);
		return NOT_MEASURED;
	}
	/* Writes the kernel handled itself: the VMM's time is not KVM's. */
	for (p = MMIO_PATH_FAST; p <= MMIO_PATH_EMULATED; p++) {
		timed += v->timed[p];
		for (k = 0; k < HIST_SLOTS; k++)
			all.slots[k] += v->cost[p].slots[k];
	}
	if (!timed) {
		snprintf(why, why_len,
			 "no MMIO write handled in the kernel came through %s",
			 v->setup.handler ? v->setup.handler : "a probed handler");
		return NOT_MEASURED;
	}
	/* The median: a slower path moves it, a descheduled vCPU thread
	 * (the handler runs preemptible) does not. */
	*value = hist_percentile(&all, 0.5) / 1e3;
	for (i = 0; i < v->nvms; i++)
		for (j = 0; j < v->vms[i].naddrs; j++) {
			const struct mmio_addr_view *a = &v->vms[i].addrs[j];

			if (kernel_max_cost(a) > (worst ? kernel_max_cost(worst) : 0)) {
				worst = a;
				worst_vm = &v->vms[i];
			}
		}
	if (worst)
		snprintf(evidence, evidence_len,
			 "over %llu writes; slowest address: %s GPA 0x%" PRIx64 ", fast path avg %.1f us max %.1f us, emulated avg %.1f us max %.1f us",
			 (unsigned long long)timed,
			 vm_describe(worst_vm->pid, worst_vm->vm_start, name,
				     sizeof(name)), worst->gpa,
			 worst->path[MMIO_PATH_FAST].cost_avg_ns / 1e3,
			 worst->path[MMIO_PATH_FAST].max_cost_ns / 1e3,
			 worst->path[MMIO_PATH_EMULATED].cost_avg_ns / 1e3,
			 worst->path[MMIO_PATH_EMULATED].max_cost_ns / 1e3);
	return MEASURED;
}

static const struct check_rule mmio_rules[] = {
	{ "mmio.emulated_candidates", "mmio",
	  "writes to fast-MMIO candidates (len-0 ioeventfds) decoded instead of taking the fast bus, on a kernel whose vendor code has the fast path",
	  "writes", RULE_AT_MOST, 0, measure_emulated_candidates },
	{ "mmio.fast_path", "mmio",
	  "writes can take a fast MMIO path: the vendor code has one and the host allows it (a finding unless --expect-fast-mmio)",
	  "bool", RULE_AT_LEAST, 1, measure_fast_path },
	{ "mmio.fast_share", "mmio",
	  "share of MMIO writes that took KVM_FAST_MMIO_BUS",
	  "ratio", RULE_AT_LEAST, 0, measure_fast_share },
	{ "mmio.write_cost_p50_us", "mmio",
	  "median cost of an MMIO write handled in the kernel, exit handler entry to return (upper bound of its log2 slot)",
	  "us", RULE_AT_MOST, 1000, measure_write_cost },
};

CHECK_RULE_GROUP(mmio_rule_group, "mmio", DET_MMIO, mmio_rules,
		 "fast MMIO doorbells: fast bus vs. emulation (docs/mmio.md)");
