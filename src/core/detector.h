/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one interface every detector implements, so that top, check, record
 * and export drive them all the same way (core/runner.c). A detector keeps
 * its own types behind void pointers; the runner allocates them zeroed
 * from the sizes given here and frees them:
 *
 *   state  - what start() set up besides the BPF object (start .. stop)
 *   sample - one read of its maps, cumulative since attach
 *   view   - figures over an interval, built from a sample (or a delta of
 *            two samples); what rules, reports and metrics read
 *
 * The BPF object itself (skeleton and links) is a struct detector_bpf
 * that the runner owns and closes: a detector opens it with
 * DETECTOR_BPF_OPEN(), sets its read-only data, and loads it with
 * detector_bpf_load().
 */
#ifndef KVMWATCH_DETECTOR_H
#define KVMWATCH_DETECTOR_H

#include <stdio.h>

#include <jansson.h>

#include "attach.h"
#include "kvmwatch.h"
#include "metrics.h"
#include "rule.h"
#include "scope.h"
#include "vm_ident.h"

#define DETECTOR_MAX_LINKS 64

/*
 * A BPF hash map of bpf/NAME.bpf.c whose entries a sample copies into an
 * array of records (the key at offset 0, the value after it), and by
 * which VM its entries go once that VM has exited (core/vm_ident.h).
 */
struct detector_map {
	const char *name;
	size_t key_size;
	size_t rec_size, value_off;
	size_t recs_off, count_off;	/* in the sample: RECORD *, size_t */
	/* The VM of a record: its u32 VMM pid and u64 start. */
	size_t id_off, start_off;
	/* Its entries are never dropped by VM, but by the detector's prune
	 * (a record outlives its VM: a teardown). Still filtered by VM. */
	bool kept;
	/* A map of running threads keyed by tid, which the BPF programs
	 * prune themselves: as a thread exits, its state moves to this
	 * map, keyed by struct thread_ident. Read after the first into the
	 * same records (whose key area holds a thread_ident), and the one
	 * pruned by VM here. */
	const char *retired;
	/* Records handed over a chunk at a time (MAP_CHUNK_RECS) and not
	 * kept as read: what of them goes into the sample is fold's (MMIO
	 * keeps one per address of its per-thread records). */
	int (*fold)(void *sample, void *recs, size_t n);
};

/* Map MAP read into SAMPLE's members RECS (RECORD *) and COUNT (size_t):
 * a key of KEY_SIZE bytes at offset 0 of RECORD, the value in its member
 * VALUE; its entries dropped by the VM at RECORD's members PID and START. */
#define DETECTOR_MAP(SAMPLE, MAP, KEY_SIZE, RECORD, VALUE, RECS, COUNT, PID, \
		     START)						\
	DETECTOR_MAP_LAYOUT(SAMPLE, MAP, KEY_SIZE, RECORD, VALUE, RECS, COUNT), \
	.id_off = offsetof(RECORD, PID), .start_off = offsetof(RECORD, START)
/* Running threads in MAP (keyed by tid), exited ones in RETIRED. */
#define DETECTOR_THREAD_MAP(SAMPLE, MAP, RETIRED, RECORD, VALUE, RECS,	\
			    COUNT, PID, START)				\
	DETECTOR_MAP(SAMPLE, MAP, sizeof(__u32), RECORD, VALUE, RECS, COUNT, \
		     PID, START), .retired = #RETIRED
/* The same, kept until the detector drops entries itself. */
#define DETECTOR_KEPT_MAP(SAMPLE, MAP, KEY_SIZE, RECORD, VALUE, RECS, COUNT, \
			  PID, START)					\
	DETECTOR_MAP(SAMPLE, MAP, KEY_SIZE, RECORD, VALUE, RECS, COUNT, PID, \
		     START), .kept = true
#define DETECTOR_MAP_LAYOUT(SAMPLE, MAP, KEY_SIZE, RECORD, VALUE, RECS, COUNT) \
	.name = #MAP, .key_size = (KEY_SIZE), .rec_size = sizeof(RECORD),	\
	.value_off = offsetof(RECORD, VALUE),				\
	.recs_off = offsetof(SAMPLE, RECS),				\
	.count_off = offsetof(SAMPLE, COUNT)

struct detector_bpf {
	void *skel;				/* bpftool's struct NAME_bpf */
	struct bpf_object_skeleton *object;	/* its first member */
	struct bpf_link *links[DETECTOR_MAX_LINKS];
	int nlinks;
	/* Load only, attach nothing: probe's trial of what would run. */
	bool trial;
};

struct detector_ops {
	enum detector_id id;
	/* Key of the view in top/check/record JSON ("mmio"); NULL merges
	 * the view's members into the document (exits, for compatibility). */
	const char *json_key;
	/* Its probe points (core/points.h), each with .detector = id. */
	const struct probe_point *points;
	size_t npoints;
	/* Its rules for `kvmwatch check --GROUP`, or NULL. */
	const struct check_rule_group *rules;
	/* Optional, NULL-ended: kernel functions besides its points whose
	 * presence it reads (caps_lookup_ksyms), found in the plan's one
	 * pass over /proc/kallsyms. */
	const char *const *kernel_symbols;
	/* Optional, NULL-ended: "struct.member" of KVM's types whose
	 * presence it reads (caps_has_member), answered while the plan
	 * holds the kernel's BTF. */
	const char *const *kernel_members;
	/* The maps a sample copies; the runner reads and prunes them. */
	const struct detector_map *maps;
	size_t nmaps;
	size_t state_size, sample_size, view_size;

	/* Optional: refuse to start with a one-line reason, e.g. a required
	 * function missing from kallsyms because the module is not loaded.
	 * Return false and fill why. */
	bool (*can_start)(const struct attach_plan *plan, char *why,
			  size_t why_len);
	/* Open, load and attach what the plan chose into bpf; pid 0 watches
	 * every VMM. 0, or -errno with the plan's points marked. */
	int (*start)(void *state, struct detector_bpf *bpf,
		     struct attach_plan *plan, uint32_t pid);
	/* Optional: release what start() made besides bpf. */
	void (*stop)(void *state);

	/* Complete a sample once its maps are read: what else it holds (a
	 * timestamp, the setup), sorted. */
	int (*sample)(void *state, void *sample);
	/* out = cur - base for counters (maxima are cur's); base is an
	 * all-zero sample before the first read. */
	int (*delta)(const void *base, const void *cur, void *out);
	void (*sample_free)(void *sample);
	/* Optional, for maps not pruned by VM (DETECTOR_KEPT_MAP): drop
	 * what sample, just read and not yet filtered by VM, holds for the
	 * last time. Only at interval reads: the sample keeps what it drops
	 * for this interval's delta. */
	void (*prune)(void *state, const void *sample);
	int (*view_build)(const void *sample, double interval_sec,
			  const struct kernel_caps *caps, void *view);
	void (*view_free)(void *view);
	json_t *(*view_json)(const void *view);
	/* Optional, for many VMs or vCPUs (top -o json), so that a report
	 * is written an element at a time (json_stream): view_json's list
	 * of len elements, item i of them. With view_json_head, view_json
	 * is head's members and that list as its last, "vms"; without, it
	 * is the list (timer's, a vCPU an element). */
	json_t *(*view_json_head)(const void *view);
	size_t (*view_json_len)(const void *view);
	json_t *(*view_json_item)(const void *view, size_t i);
	/* A table headed by one line naming the detector and its modes. */
	void (*view_text)(FILE *out, const void *view, const char *modes);
	/* Append the view's figures (totals, then per VM/vCPU). */
	int (*view_metrics)(const void *view, struct metric_set *out);
};

/*
 * Each detector registers its ops as the program starts, so that the core
 * never names a detector.
 */
void detector_register(const struct detector_ops *ops);

/*
 * The ops of detector NAME (DET_ID), registered: its NAME_points and
 * NAME_maps tables, struct NAME_detector, NAME_sample and NAME_view, its
 * NAME_start() and NAME_sample(), and the model's and views' functions
 * that DECLARE_DETECTOR_VIEWS(NAME) names. More members (json_key,
 * rules, can_start...) follow as designated initializers.
 */
#define DEFINE_DETECTOR(NAME, DET_ID, ...)				\
	static const struct detector_ops NAME##_ops = {			\
		.id = DET_ID,						\
		.points = NAME##_points,				\
		.npoints = ARRAY_SIZE(NAME##_points),			\
		.maps = NAME##_maps,					\
		.nmaps = ARRAY_SIZE(NAME##_maps),			\
		.state_size = sizeof(struct NAME##_detector),		\
		.sample_size = sizeof(struct NAME##_sample),		\
		.view_size = sizeof(struct NAME##_view),		\
		.start = NAME##_start,					\
		.sample = NAME##_sample,				\
		.delta = NAME##_sample_delta,				\
		.sample_free = NAME##_sample_free,			\
		.view_build = NAME##_view_build,			\
		.view_free = NAME##_view_free,				\
		.view_json = NAME##_view_json,				\
		.view_text = NAME##_view_text,				\
		.view_metrics = NAME##_view_metrics,			\
		__VA_ARGS__						\
	};								\
	static void __attribute__((constructor)) register_##NAME(void)	\
	{								\
		detector_register(&NAME##_ops);				\
	}

/* The detector_ops functions of NAME's model and views, on its struct
 * NAME_sample and struct NAME_view (see detector_ops for each). */
#define DECLARE_DETECTOR_VIEWS(NAME)					\
	void NAME##_sample_free(void *sample);				\
	int NAME##_sample_delta(const void *prev, const void *cur,	\
				void *out);				\
	int NAME##_view_build(const void *sample, double interval_sec,	\
			      const struct kernel_caps *caps, void *view); \
	void NAME##_view_free(void *view);				\
	json_t *NAME##_view_json(const void *view);			\
	void NAME##_view_text(FILE *out, const void *view,		\
			      const char *modes);			\
	int NAME##_view_metrics(const void *view, struct metric_set *out)

/* The parts of NAME_view_json that top -o json writes a VM at a time:
 * DECLARE_ beside DECLARE_DETECTOR_VIEWS, the other in DEFINE_DETECTOR's
 * list. */
#define DECLARE_DETECTOR_VM_JSON(NAME)					\
	json_t *NAME##_view_json_head(const void *view);		\
	size_t NAME##_view_json_nvms(const void *view);			\
	json_t *NAME##_view_json_vm(const void *view, size_t i)
#define DETECTOR_VM_JSON(NAME)						\
	.view_json_head = NAME##_view_json_head,			\
	.view_json_len = NAME##_view_json_nvms,				\
	.view_json_item = NAME##_view_json_vm

/* The same for a view_json that is a list. */
#define DECLARE_DETECTOR_LIST_JSON(NAME)				\
	size_t NAME##_view_json_len(const void *view);			\
	json_t *NAME##_view_json_item(const void *view, size_t i)
#define DETECTOR_LIST_JSON(NAME)					\
	.view_json_len = NAME##_view_json_len,				\
	.view_json_item = NAME##_view_json_item

/* NULL for a detector without a folder in this build. */
const struct detector_ops *detector_ops(enum detector_id id);

/* Open bpftool's skeleton of bpf/NAME.bpf.c into bpf: the typed
 * struct NAME_bpf *, or NULL with the plan's points of det refused. */
#define DETECTOR_BPF_OPEN(bpf, NAME, plan, det)				\
({									\
	struct NAME##_bpf *skel__ = NAME##_bpf__open();			\
									\
	detector_bpf_opened(bpf, skel__, skel__ ? skel__->skeleton : NULL, \
			    plan, det);					\
	skel__;								\
})
void detector_bpf_opened(struct detector_bpf *bpf, void *skel,
			 struct bpf_object_skeleton *object,
			 struct attach_plan *plan, enum detector_id det);
/* Its filters: the VMM pid (0: every one), and, while a scope is open
 * (core/scope.h), only the VMs of the processes in it. */
#define DETECTOR_SET_FILTER(skel, pid)					\
do {									\
	(skel)->rodata->filter_pid = (pid);				\
	(skel)->rodata->filter_scope = scope_map_fd() >= 0;		\
} while (0)
/* Enable what the plan chose, load, attach. 0 or -errno. */
int detector_bpf_load(struct detector_bpf *bpf, struct attach_plan *plan,
		      enum detector_id det);
/* Destroy the links and the object, as NAME_bpf__destroy() does. */
void detector_bpf_close(struct detector_bpf *bpf);
/* Runs of its programs the kernel skipped (bpf_object_missed_runs). */
uint64_t detector_bpf_missed_runs(const struct detector_bpf *bpf);

/* Read ops->maps into sample (none kept on an error). 0 or -errno. */
int detector_read_maps(const struct detector_ops *ops,
		       const struct detector_bpf *bpf, void *sample);
/* Every VM of sample's maps pruned by VM, once, sorted (NULL when out of
 * memory, *n 0): with vms_gone(), those to forget. */
struct vm_ident *detector_vms(const struct detector_ops *ops,
			      const void *sample, size_t *n);
/* Keep in sample, just read, only the records of the VMs that keep()
 * accepts, in every map (a kept map's detector pruned it before, from
 * the whole sample). */
void detector_keep_vms(const struct detector_ops *ops, void *sample,
		       bool (*keep)(uint32_t pid, uint64_t start,
				    const void *arg),
		       const void *arg);
/* Drop every entry of ops->maps (retired threads for a thread map) of a
 * listed VM. */
void detector_forget(const struct detector_ops *ops,
		     const struct detector_bpf *bpf,
		     const struct vm_ident *gone, size_t n);

#endif
