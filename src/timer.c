// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_read.h"
#include "timer_detector.h"
#include "timer.skel.h"

int timer_start(struct timer_detector *det, struct attach_plan *plan,
		uint32_t pid)
{
	struct point_state *fn =
		attach_plan_point(plan, DET_TIMER, "apic_timer_fn");
	char error[WHY_LEN];
	int err = 0;

	memset(det, 0, sizeof(*det));
	if (!fn) {
		snprintf(error, sizeof(error), "internal: no apic_timer_fn point");
		goto fail;
	}
	/* The tracepoints see every hrtimer: they need the callback's
	 * address to keep the LAPIC ones. */
	if (fn->mode == ATTACH_TRACEPOINT && !fn->func_found) {
		snprintf(error, sizeof(error),
			 "apic_timer_fn is not in /proc/kallsyms (is KVM loaded?): the timer tracepoints cannot be filtered");
		goto fail;
	}
	if (fn->mode == ATTACH_TRACEPOINT && !fn->func_addr) {
		snprintf(error, sizeof(error),
			 "apic_timer_fn's address is hidden in /proc/kallsyms (kernel.kptr_restrict): the timer tracepoints cannot be filtered");
		goto fail;
	}
	det->skel = timer_bpf__open();
	if (!det->skel) {
		err = -errno;
		snprintf(error, sizeof(error), "opening the BPF object failed: %s",
			 strerror(-err));
		goto fail;
	}
	det->skel->rodata->filter_pid = pid;
	det->skel->rodata->apic_timer_fn_addr = fn->func_addr;
	err = attach_plan_load(plan, DET_TIMER, det->skel->skeleton, det->links,
			       sizeof(det->links) / sizeof(det->links[0]),
			       &det->nlinks);
	if (err)
		timer_stop(det);
	return err;
fail:
	attach_plan_refuse(plan, DET_TIMER, error);
	timer_stop(det);
	return err ? err : -EINVAL;
}

int timer_sample(struct timer_detector *det, struct timer_sample *out)
{
	void *recs = NULL, *threads = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	out->ts_ns = monotonic_ns();
	err = map_read_all(bpf_map__fd(det->skel->maps.timer_stats),
			sizeof(struct timer_key), sizeof(struct timer_record),
			offsetof(struct timer_record, stats), &recs, &out->nrecs);
	if (err)
		return err;
	err = map_read_all(bpf_map__fd(det->skel->maps.timer_threads),
			sizeof(struct timer_thread_key),
			sizeof(struct timer_thread_record),
			offsetof(struct timer_thread_record, stats), &threads,
			&out->nthreads);
	out->recs = recs;
	out->threads = threads;
	if (err) {
		timer_sample_free(out);
		return err;
	}
	timer_sample_sort(out);
	return 0;
}

uint64_t timer_missed_runs(struct timer_detector *det)
{
	struct bpf_program *prog;
	uint64_t missed = 0;

	bpf_object__for_each_program(prog, det->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			missed += info.recursion_misses;
	}
	return missed;
}

void timer_stop(struct timer_detector *det)
{
	int i;

	for (i = 0; i < det->nlinks; i++)
		bpf_link__destroy(det->links[i]);
	det->nlinks = 0;
	timer_bpf__destroy(det->skel);
	det->skel = NULL;
}
