/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The LAPIC timer figures per VM and vCPU, built from raw samples of the
 * timer maps by pure functions (tested without a kernel): rates against
 * the programmed period, lateness, catch-up chains.
 */
#ifndef KVMWATCH_TIMER_MODEL_H
#define KVMWATCH_TIMER_MODEL_H

#include <stdio.h>

#include <jansson.h>

#include "bpf/timer.h"
#include "core/detector.h"

struct timer_record {
	struct timer_key key;
	struct timer_stats stats;
};

struct timer_thread_record {
	struct timer_thread_key key;
	struct timer_thread_stats stats;
};

/* One read of the maps, cumulative since attach; sorted by key. */
struct timer_sample {
	struct timer_record *recs;
	size_t nrecs;
	struct timer_thread_record *threads;
	size_t nthreads;
	uint64_t ts_ns;		/* CLOCK_MONOTONIC */
};

struct timer_vcpu_view {
	uint32_t pid;
	uint64_t vm_start;	/* with pid, names the VM (core/vm_ident.h) */
	uint32_t vcpu_id;
	uint32_t tid;		/* 0 if the vCPU never ran KVM_RUN */
	const char *mode;	/* "periodic", "oneshot", "tscdeadline" */
	int64_t period_ns;	/* last seen */
	uint64_t callbacks;
	double callbacks_per_sec;
	/* 1e9 / period for a periodic timer with a period, else 0. */
	double programmed_per_sec;
	uint64_t lateness_avg_ns;
	uint64_t lateness_p50_ns_le, lateness_p99_ns_le;
	/* Counters are per interval; these maxima are since attach. */
	uint64_t max_lateness_ns;
	uint64_t max_lateness_at;
	uint64_t longest_chain;
	uint64_t longest_chain_ns;
	uint64_t longest_chain_at;
	uint64_t longest_chain_lateness_ns;
	double chains_per_sec;
	struct timer_stats stats;		/* interval or cumulative */
	struct timer_thread_stats thread;	/* of tid */
};

struct timer_view {
	double interval_sec;
	uint64_t callbacks;
	uint64_t chains;
	uint64_t longest_chain;
	struct timer_vcpu_view *vcpus;	/* by pid, then vCPU */
	size_t nvcpus;
};

void timer_sample_sort(struct timer_sample *sample);

/* The detector_ops functions of timer (DEFINE_DETECTOR); its delta
 * keeps cur's maxima and last-seen values, and caps may be NULL. */
DECLARE_DETECTOR_VIEWS(timer);
DECLARE_DETECTOR_LIST_JSON(timer);

/* The rules of check --lockup (timer_rules.c). */
extern const struct check_rule_group lockup_rule_group;

const char *timer_mode_name(uint32_t mode);

/* The vCPU timer with the longest catch-up chain, or NULL. */
const struct timer_vcpu_view *timer_view_worst_chain(const struct timer_view *v);

#endif
