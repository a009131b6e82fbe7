/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data model `top` shows: per VM (VMM process) and per vCPU thread,
 * exits by reason over an interval. Batch output, JSON and the TUI all draw
 * this one model. Built from raw map samples by pure functions, so it can
 * be tested without a kernel.
 */
#ifndef KVMWATCH_EXITS_MODEL_H
#define KVMWATCH_EXITS_MODEL_H

#include <regex.h>
#include <stdio.h>

#include <jansson.h>

#include "bpf/exits.h"
#include "core/detector.h"
#include "core/exit_reasons.h"

struct exit_record {
	struct exit_key key;
	struct exit_stats stats;
};

struct pio_record {
	struct pio_key key;
	struct pio_stats stats;
};

/* A running thread's key is its tid, an exited one's its thread_ident:
 * info says both. */
struct thread_record {
	struct thread_ident key;
	struct vcpu_thread info;
};

/* One read of the maps; cumulative since the programs were attached.
 * recs sorted by key, threads by VM and tid. */
struct exits_sample {
	struct exit_record *recs;
	size_t nrecs;
	struct thread_record *threads;
	size_t nthreads;
	struct pio_record *pios;	/* sorted by VM, port, direction */
	size_t npios;
	uint64_t ts_ns;
	bool delta;	/* an interval's difference, not since attach */
};

struct reason_view {
	enum exit_kind kind;
	uint32_t code;
	char name[40];
	uint64_t count;
	double per_sec;
	uint64_t total_ns;
	uint64_t timed;
	/* Bounds from the log2 histogram of the timed exits (0 when none):
	 * kept, not the histogram, at thousands of vCPU reasons a view. */
	uint64_t min_ns_ge, p50_ns_le, p99_ns_le, max_ns_le;
};

struct vcpu_view {
	uint32_t tid;
	int64_t vcpu_id;	/* -1 when the kernel did not say */
	char comm[16];
	uint64_t exits, user_exits;
	double exits_per_sec, user_exits_per_sec;
	struct reason_view *reasons;	/* kernel then user, by count */
	size_t nreasons;
};

/* One port of a VM: its port I/O exits in one direction. */
struct port_view {
	uint16_t port;
	bool in;
	uint64_t count, bytes;
	double per_sec;
};

struct vm_view {
	uint32_t pid;
	uint64_t vm_start;	/* with pid, names the VM (core/vm_ident.h) */
	char comm[16];
	uint64_t exits, user_exits;
	double exits_per_sec, user_exits_per_sec;
	struct vcpu_view *vcpus;	/* by vCPU index, then tid */
	size_t nvcpus;
	struct reason_view *reasons;	/* summed over the vCPUs */
	size_t nreasons;
	struct port_view *ports;	/* busiest first (x86) */
	size_t nports;
};

struct top_view {
	double interval_sec;
	bool cumulative;
	uint64_t exits, user_exits;
	double exits_per_sec, user_exits_per_sec;
	struct vm_view *vms;		/* busiest first */
	size_t nvms;
};

/* What `top`, check and record read: the view and the caps it is for. */
struct exits_view {
	struct top_view top;
	const struct kernel_caps *caps;
};

void exits_sample_sort(struct exits_sample *sample);

/* The detector_ops functions of exits (DEFINE_DETECTOR); its delta
 * leaves out keys with no new exits. */
DECLARE_DETECTOR_VIEWS(exits);
DECLARE_DETECTOR_VM_JSON(exits);

/* Port I/O (exits_pio.c): the sample's records sorted, their delta, and
 * each VM's ports in the view, as text and JSON. */
void pio_sample_sort(struct exits_sample *sample);
int pio_sample_delta(const struct exits_sample *prev,
		     const struct exits_sample *cur, struct exits_sample *out);
int pio_view_build(const struct exits_sample *s, double interval_sec,
		   struct top_view *view);
void pio_text(FILE *out, const struct vm_view *vm, bool cumulative);
json_t *pio_json(const struct vm_view *vm);

/* How top shows the exits table. */
enum exits_sort {
	EXITS_SORT_EXITS,	/* busiest first: the view's own order */
	EXITS_SORT_VMM,		/* most exits to the VMM first */
	EXITS_SORT_AVG,		/* slowest exits first */
	EXITS_SORT_PID,
	EXITS_SORT_NAME,
	EXITS_SORT_COUNT
};

struct exits_text_opts {
	enum exits_sort sort;
	int64_t vcpu;		/* only this vCPU's rows; -1: every one */
	const regex_t *reasons;	/* only the reasons it matches; NULL: all */
	bool detail;		/* each VM's reasons in a table too */
};

const char *exits_sort_name(enum exits_sort sort);
/* A key's name (or perf kvm stat's sample, time): 0, or -1 unknown. */
int exits_sort_parse(const char *arg, enum exits_sort *sort);
void exits_view_text_opts(FILE *out, const void *exits_view,
			  const char *modes, const struct exits_text_opts *o);

/* One line of top's log (-l, -c) for the view: text, or CSV with its
 * header before line 0. */
void exits_log_line(FILE *out, const void *exits_view, bool csv,
		    unsigned long line);

/* Build the view of a (delta or cumulative) sample over interval_sec. */
int top_view_build(const struct exits_sample *sample, double interval_sec,
		   bool cumulative, enum exit_table kernel_table,
		   struct top_view *view);
void top_view_free(struct top_view *view);

#endif
