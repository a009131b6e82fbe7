// SPDX-License-Identifier: GPL-2.0
/* Reading the detectors' BPF hash maps into arrays, and pruning them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_maps.h"
#include "kvmwatch.h"
#include "map_dump.skel.h"

/* Key and value of one entry the iterator dumps (bpf/map_dump.bpf.c). */
#define DUMP_HALF 2048

/* Loaded at the first read; NULL and dumper_err (-errno) after a load
 * that failed. */
static struct map_dump_bpf *dumper;
static int dumper_err;

static struct map_dump_bpf *dumper_get(void)
{
	if (!dumper && !dumper_err) {
		dumper = map_dump_bpf__open_and_load();
		dumper_err = dumper ? 0 : errno ? -errno : -EINVAL;
	}
	return dumper;
}

bool map_dump_open(void)
{
	return dumper_get();
}

const char *map_dump_why_not(void)
{
	return dumper_get() ? NULL : strerror(-dumper_err);
}

void map_dump_close(void)
{
	map_dump_bpf__destroy(dumper);
	dumper = NULL;
	dumper_err = 0;
}

/* All of an iterator's output: n bytes into *out (the caller's). */
static int read_iter(int iter_fd, char **out, size_t *n)
{
	size_t cap = 65536;
	char *buf = malloc(cap), *grown;
	ssize_t got;

	*n = 0;
	while (buf) {
		if (cap - *n < 8192) {
			grown = realloc(buf, cap * 2);
			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
		got = read(iter_fd, buf + *n, cap - *n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (!got) {
				*out = buf;
				return 0;
			}
			free(buf);
			return -errno;
		}
		*n += got;
	}
	free(buf);
	return -ENOMEM;
}

/* map_read_all() through a BPF iterator: no bpf(2) call per entry.
 * -EOPNOTSUPP where the iterator cannot read this map (or at all). */
static int read_by_iterator(int fd, size_t key_size, size_t rec_size,
			    size_t value_off, void **out, size_t *n)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info link_info = { .map.map_fd = fd };
	struct map_dump_bpf *d = dumper_get();
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	struct bpf_link *link;
	size_t entry, i, size = 0;
	char *raw = NULL, *recs;
	int iter_fd, err;

	if (!d || bpf_obj_get_info_by_fd(fd, &info, &info_len) ||
	    info.key_size != key_size || info.key_size > DUMP_HALF ||
	    info.value_size > DUMP_HALF || value_off < info.key_size ||
	    value_off + info.value_size > rec_size)
		return -EOPNOTSUPP;
	opts.link_info = &link_info;
	opts.link_info_len = sizeof(link_info);
	link = bpf_program__attach_iter(d->progs.dump_map_elem, &opts);
	if (!link)
		return -EOPNOTSUPP;
	iter_fd = bpf_iter_create(bpf_link__fd(link));
	err = iter_fd < 0 ? -errno : read_iter(iter_fd, &raw, &size);
	if (iter_fd >= 0)
		close(iter_fd);
	bpf_link__destroy(link);
	if (err)
		return err;
	entry = info.key_size + info.value_size;
	*n = size / entry;
	/* Spread the entries out into records in the same buffer, the last
	 * first: a record is never shorter than an entry, so each lands
	 * where nothing unread lies. A copy would double a read's peak
	 * (megabytes at hundreds of VMs). */
	recs = realloc(raw, (*n ? *n : 1) * rec_size);
	if (!recs) {
		free(raw);
		return -ENOMEM;
	}
	for (i = *n; i-- > 0;) {
		char *rec = recs + i * rec_size, *src = recs + i * entry;

		memmove(rec + value_off, src + info.key_size, info.value_size);
		memmove(rec, src, info.key_size);
		memset(rec + info.key_size, 0, value_off - info.key_size);
		memset(rec + value_off + info.value_size, 0,
		       rec_size - value_off - info.value_size);
	}
	*out = recs;
	return 0;
}

/* One lookup per entry: where no iterator can be loaded. */
static int read_by_lookups(int fd, size_t key_size, size_t rec_size,
			   size_t value_off, void **out, size_t *n)
{
	char key[MAP_KEY_MAX], next[MAP_KEY_MAX];
	char *recs = NULL, *rec;
	void *prev = NULL;
	size_t cap = 0;

	*n = 0;
	*out = NULL;
	if (key_size > MAP_KEY_MAX)
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (*n == cap) {
			char *grown;

			cap = cap ? cap * 2 : 256;
			grown = realloc(recs, cap * rec_size);
			if (!grown) {
				free(recs);
				return -ENOMEM;
			}
			recs = grown;
		}
		rec = recs + *n * rec_size;
		memset(rec, 0, rec_size);
		memcpy(rec, key, key_size);
		/* The entry may vanish between the two calls: skip it. */
		if (bpf_map_lookup_elem(fd, key, rec + value_off))
			continue;
		(*n)++;
	}
	*out = recs;
	return 0;
}

int map_read_all(int fd, size_t key_size, size_t rec_size, size_t value_off,
		 void **out, size_t *n)
{
	int err;

	*n = 0;
	*out = NULL;
	err = read_by_iterator(fd, key_size, rec_size, value_off, out, n);
	if (err == -EOPNOTSUPP)
		err = read_by_lookups(fd, key_size, rec_size, value_off, out, n);
	return err;
}

void map_delete_vms(int fd, const void *records, size_t n, size_t stride,
		    size_t pid_off, size_t start_off,
		    const struct vm_ident *gone, size_t ngone)
{
	const char *rec = records;
	uint64_t start;
	uint32_t pid;
	size_t i;

	for (i = 0; i < n; i++, rec += stride) {
		memcpy(&pid, rec + pid_off, sizeof(pid));
		memcpy(&start, rec + start_off, sizeof(start));
		if (vm_listed(pid, start, gone, ngone))
			bpf_map_delete_elem(fd, rec);
	}
}
