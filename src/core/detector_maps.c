// SPDX-License-Identifier: GPL-2.0
/*
 * A detector's maps as its samples see them: read into arrays of records,
 * and pruned of the entries of VMs that have exited, so long runs over
 * many VMs do not fill them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "bpf/vm_ident.h"
#include "bpf_maps.h"
#include "detector.h"

static int map_fd(const struct detector_bpf *bpf, const char *name)
{
	struct bpf_map *map;

	if (!bpf->object)
		return -1;
	map = bpf_object__find_map_by_name(*bpf->object->obj, name);
	return map ? bpf_map__fd(map) : -1;
}

static void **recs_of(const struct detector_map *m, void *sample)
{
	return (void **)((char *)sample + m->recs_off);
}

static size_t *count_of(const struct detector_map *m, void *sample)
{
	return (size_t *)((char *)sample + m->count_off);
}

/* Append the records of the exited threads of m to those of the running
 * ones: one array, as if one map. */
static int read_retired(const struct detector_map *m,
			const struct detector_bpf *bpf, void *sample)
{
	int fd = map_fd(bpf, m->retired);
	size_t n, have = *count_of(m, sample);
	char *recs, *all;
	int err;

	if (fd < 0)
		return -ENOENT;
	err = map_read_all(fd, sizeof(struct thread_ident), m->rec_size,
			   m->value_off, (void **)&recs, &n);
	if (err || !n) {
		free(recs);
		return err;
	}
	all = realloc(*recs_of(m, sample), (have + n) * m->rec_size);
	if (!all) {
		free(recs);
		return -ENOMEM;
	}
	memcpy(all + have * m->rec_size, recs, n * m->rec_size);
	free(recs);
	*recs_of(m, sample) = all;
	*count_of(m, sample) = have + n;
	return 0;
}

struct fold_arg {
	const struct detector_map *map;
	void *sample;
};

static int fold_chunk(void *recs, size_t n, void *arg)
{
	struct fold_arg *f = arg;

	return f->map->fold(f->sample, recs, n);
}

static int read_map(const struct detector_map *m, int fd, void *sample)
{
	struct fold_arg f = { .map = m, .sample = sample };

	if (m->fold)
		return map_read_chunks(fd, m->key_size, m->rec_size,
				       m->value_off, MAP_CHUNK_RECS,
				       fold_chunk, &f);
	return map_read_all(fd, m->key_size, m->rec_size, m->value_off,
			    recs_of(m, sample), count_of(m, sample));
}

int detector_read_maps(const struct detector_ops *ops,
		       const struct detector_bpf *bpf, void *sample)
{
	size_t i, j;
	int err = 0;

	for (i = 0; i < ops->nmaps && !err; i++) {
		const struct detector_map *m = &ops->maps[i];
		int fd = map_fd(bpf, m->name);

		err = fd < 0 ? -ENOENT : read_map(m, fd, sample);
		if (!err && m->retired)
			err = read_retired(m, bpf, sample);
	}
	if (!err)
		return 0;
	for (j = 0; j < i; j++) {
		free(*recs_of(&ops->maps[j], sample));
		*recs_of(&ops->maps[j], sample) = NULL;
		*count_of(&ops->maps[j], sample) = 0;
	}
	return err;
}

static int compare_vm(const void *a, const void *b)
{
	const struct vm_ident *x = a, *y = b;

	return vm_ident_compare(x->pid, x->start, y->pid, y->start);
}

/* A VM may have records in some maps only (candidates but no writes, a
 * thread but no exit). */
struct vm_ident *detector_vms(const struct detector_ops *ops,
			      const void *sample, size_t *n)
{
	struct vm_ident *vms;
	size_t i, j, total = 0;

	for (i = 0; i < ops->nmaps; i++)
		if (!ops->maps[i].kept)
			total += *count_of(&ops->maps[i], (void *)sample);
	vms = calloc(total ? total : 1, sizeof(*vms));
	*n = 0;
	if (!vms)
		return NULL;
	for (i = 0; i < ops->nmaps; i++) {
		const struct detector_map *m = &ops->maps[i];
		const char *rec = *recs_of(m, (void *)sample);

		if (m->kept)
			continue;
		for (j = 0; j < *count_of(m, (void *)sample); j++) {
			memcpy(&vms[*n].pid, rec + j * m->rec_size + m->id_off,
			       sizeof(vms[*n].pid));
			memcpy(&vms[*n].start,
			       rec + j * m->rec_size + m->start_off,
			       sizeof(vms[*n].start));
			(*n)++;
		}
	}
	qsort(vms, *n, sizeof(*vms), compare_vm);
	*n = unique_sorted(vms, *n, sizeof(*vms), compare_vm);
	return vms;
}

/* A thread map's running threads are the BPF programs' to prune; its
 * exited ones are pruned. */
static void forget_in(const struct detector_map *m,
		      const struct detector_bpf *bpf,
		      const struct vm_ident *gone, size_t n)
{
	const char *name = m->retired ? m->retired : m->name;
	size_t key_size = m->retired ? sizeof(struct thread_ident) :
		m->key_size;
	int fd = map_fd(bpf, name);

	if (fd >= 0)
		map_delete_vms(fd, key_size, m->rec_size, m->value_off,
			       m->id_off, m->start_off, gone, n);
}

void detector_forget(const struct detector_ops *ops,
		     const struct detector_bpf *bpf,
		     const struct vm_ident *gone, size_t n)
{
	size_t i;

	for (i = 0; i < ops->nmaps; i++)
		if (!ops->maps[i].kept)
			forget_in(&ops->maps[i], bpf, gone, n);
}

void detector_keep_vms(const struct detector_ops *ops, void *sample,
		       bool (*keep)(uint32_t pid, uint64_t start,
				    const void *arg),
		       const void *arg)
{
	size_t i, j, nkeep;

	for (i = 0; i < ops->nmaps; i++) {
		const struct detector_map *m = &ops->maps[i];
		char *recs = *recs_of(m, sample);
		size_t *count = count_of(m, sample);

		for (j = nkeep = 0; j < *count; j++) {
			char *rec = recs + j * m->rec_size;
			uint32_t pid;
			uint64_t start;

			memcpy(&pid, rec + m->id_off, sizeof(pid));
			memcpy(&start, rec + m->start_off, sizeof(start));
			if (!keep(pid, start, arg))
				continue;
			if (nkeep != j)
				memcpy(recs + nkeep * m->rec_size, rec,
				       m->rec_size);
			nkeep++;
		}
		*count = nkeep;
	}
}
