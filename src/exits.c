// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "detector.h"
#include "exits_detector.h"
#include "map_read.h"
#include "report.h"
#include "exits.skel.h"

enum exit_table exit_table_for(const struct kernel_caps *caps)
{
	switch (caps->vendor) {
	case VENDOR_VMX: return EXIT_TABLE_VMX;
	case VENDOR_SVM: return EXIT_TABLE_SVM;
	case VENDOR_ARM64: return EXIT_TABLE_ARM64;
	default: return EXIT_TABLE_NONE;
	}
}

int exits_start(struct exits_detector *det, struct attach_plan *plan,
		uint32_t pid)
{
	char error[WHY_LEN];
	int err;

	memset(det, 0, sizeof(*det));
	det->skel = exits_bpf__open();
	if (!det->skel) {
		err = -errno;
		snprintf(error, sizeof(error), "opening the BPF object failed: %s",
			 strerror(-err));
		attach_plan_refuse(plan, DET_EXITS, error);
		return err;
	}
	det->skel->rodata->filter_pid = pid;
	err = attach_plan_load(plan, DET_EXITS, det->skel->skeleton, det->links,
			       sizeof(det->links) / sizeof(det->links[0]),
			       &det->nlinks);
	if (err)
		exits_stop(det);
	return err;
}

int exits_sample(struct exits_detector *det, struct exit_sample *out)
{
	void *recs = NULL, *threads = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->ts_ns = monotonic_ns();
	err = map_read_all(bpf_map__fd(det->skel->maps.exit_stats),
			sizeof(struct exit_key), sizeof(struct exit_record),
			offsetof(struct exit_record, stats), &recs, &out->nrecs);
	if (err)
		return err;
	err = map_read_all(bpf_map__fd(det->skel->maps.vcpu_threads),
			sizeof(uint32_t), sizeof(struct thread_record),
			offsetof(struct thread_record, info), &threads,
			&out->nthreads);
	out->recs = recs;
	out->threads = threads;
	if (err) {
		exit_sample_free(out);
		return err;
	}
	exit_sample_sort(out);
	return 0;
}

void exits_stop(struct exits_detector *det)
{
	int i;

	for (i = 0; i < det->nlinks; i++)
		bpf_link__destroy(det->links[i]);
	det->nlinks = 0;
	exits_bpf__destroy(det->skel);
	det->skel = NULL;
}

size_t exits_find_exited(const struct exit_sample *sample, uint32_t *tids,
			 size_t max)
{
	return ids_gone(sample->threads, sample->nthreads,
			sizeof(*sample->threads),
			offsetof(struct thread_record, tid), tids, max);
}
void exits_forget(struct exits_detector *det, const uint32_t *tids, size_t n)
{
	int stats_fd = bpf_map__fd(det->skel->maps.exit_stats);
	struct exit_record *recs;
	size_t i, nrecs;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		bpf_map_delete_elem(bpf_map__fd(det->skel->maps.vcpu_threads),
				    &tids[i]);
		bpf_map_delete_elem(bpf_map__fd(det->skel->maps.pending_exits),
				    &tids[i]);
	}
	/* Keys first, deletions after: deleting while walking a hash map
	 * can restart or skip the walk. */
	if (map_read_all(stats_fd, sizeof(struct exit_key), sizeof(*recs),
			 offsetof(struct exit_record, stats), (void **)&recs,
			 &nrecs))
		return;
	for (i = 0; i < nrecs; i++)
		if (id_listed(recs[i].key.tid, tids, n))
			bpf_map_delete_elem(stats_fd, &recs[i].key);
	free(recs);
}

/* The detector_ops face of the exit accounting. */

struct exits_view {
	struct top_view top;
	const struct kernel_caps *caps;
};

static int exits_view_build(const struct exit_sample *sample,
			    double interval_sec,
			    const struct kernel_caps *caps,
			    struct exits_view *view)
{
	view->caps = caps;
	return top_view_build(sample, interval_sec, !sample->delta,
			      exit_table_for(caps), &view->top);
}

static void exits_view_free(struct exits_view *view)
{
	top_view_free(&view->top);
}

DETECTOR_BOXED_OPS(struct exits_detector, exits_start, exits_stop,
		   struct exit_sample, exits_sample, exit_sample_delta,
		   exit_sample_free, struct exits_view, exits_view_build,
		   exits_view_free)

static int ops_nlinks(const void *state)
{
	return ((const struct exits_detector *)state)->nlinks;
}

static size_t ops_find_gone(const void *base, uint32_t *ids, size_t max)
{
	return exits_find_exited(base, ids, max);
}

static void ops_forget(void *state, const uint32_t *ids, size_t n)
{
	exits_forget(state, ids, n);
}

static json_t *ops_view_json(const void *view)
{
	return json_top_view(&((const struct exits_view *)view)->top);
}

static void ops_view_text(FILE *out, const void *view, const char *modes)
{
	const struct exits_view *v = view;

	text_top_view(out, &v->top, v->caps, modes);
}

/* A counter named name, labelled by the (label, value) pairs given. */
static struct metric *exits_metric(struct metric_set *out, const char *name,
				   const char *help, double value)
{
	struct metric *m = metric_add(out, METRIC_COUNTER, "exits", help,
				      BETTER_LOWER, "%s", name);

	if (m)
		m->value = value;
	return m;
}

/* Reasons summed over the VMs: comparable between runs. */
static int reason_totals(const struct top_view *top, struct metric_set *out)
{
	char labels[80];
	size_t i, j;

	for (i = 0; i < top->nvms; i++) {
		for (j = 0; j < top->vms[i].nreasons; j++) {
			const struct reason_view *r = &top->vms[i].reasons[j];
			bool user = r->kind == EXIT_KIND_USER;
			const char *name = user ? "exits.user_exits_by_reason" :
				"exits.exits_by_reason";
			struct metric *m;

			snprintf(labels, sizeof(labels), "reason=%s", r->name);
			m = (struct metric *)metric_find(out, name, labels);
			if (m) {
				m->value += r->count;
				continue;
			}
			m = exits_metric(out, name, user ?
					 "exits to the VMM by KVM_EXIT reason" :
					 "in-kernel VM exits by reason",
					 r->count);
			if (!m)
				return -ENOMEM;
			metric_label(m, "reason", "%s", r->name);
		}
	}
	return 0;
}

static int ops_view_metrics(const void *view, struct metric_set *out)
{
	const struct top_view *top = &((const struct exits_view *)view)->top;
	struct metric *m;
	size_t i, j;

	if (!exits_metric(out, "exits.exits", "in-kernel VM exits",
			  top->exits) ||
	    !exits_metric(out, "exits.user_exits",
			  "exits to the VMM (KVM_RUN returns)", top->user_exits) ||
	    reason_totals(top, out))
		return -ENOMEM;
	for (i = 0; i < top->nvms; i++) {
		const struct vm_view *vm = &top->vms[i];

		m = exits_metric(out, "exits.vm_exits",
				 "in-kernel VM exits of one VM", vm->exits);
		if (!m)
			return -ENOMEM;
		metric_label(m, "vm", "%u", vm->pid);
		metric_label(m, "comm", "%s", vm->comm);
		m = exits_metric(out, "exits.vm_user_exits",
				 "exits to the VMM of one VM", vm->user_exits);
		if (!m)
			return -ENOMEM;
		metric_label(m, "vm", "%u", vm->pid);
		metric_label(m, "comm", "%s", vm->comm);
		for (j = 0; j < vm->nvcpus; j++) {
			const struct vcpu_view *v = &vm->vcpus[j];

			m = exits_metric(out, "exits.vcpu_exits",
					 "in-kernel VM exits of one vCPU",
					 v->exits);
			if (!m)
				return -ENOMEM;
			metric_label(m, "vm", "%u", vm->pid);
			if (v->vcpu_id >= 0)
				metric_label(m, "vcpu", "%lld",
					     (long long)v->vcpu_id);
			else
				metric_label(m, "tid", "%u", v->tid);
		}
	}
	return 0;
}

const struct detector_ops exits_ops = {
	.id = DET_EXITS,
	.json_key = NULL,
	.start = boxed_start,
	.nlinks = ops_nlinks,
	.stop = boxed_stop,
	.sample = boxed_sample,
	.delta = boxed_delta,
	.sample_free = boxed_sample_free,
	.find_gone = ops_find_gone,
	.forget = ops_forget,
	.view_build = boxed_view_build,
	.view_free = boxed_view_free,
	.view_json = ops_view_json,
	.view_text = ops_view_text,
	.view_metrics = ops_view_metrics,
};
