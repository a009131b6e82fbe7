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

/* The iterator's output of one map. */
struct map_iter {
	struct bpf_link *link;
	int fd;
	size_t key_size, value_size;
};

/* -EOPNOTSUPP where the iterator cannot read this map (or at all). */
static int iter_open(int fd, size_t key_size, size_t rec_size,
		     size_t value_off, struct map_iter *it)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info link_info = { .map.map_fd = fd };
	struct map_dump_bpf *d = dumper_get();
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);

	if (!d || bpf_obj_get_info_by_fd(fd, &info, &info_len) ||
	    info.key_size != key_size || info.key_size > DUMP_HALF ||
	    info.value_size > DUMP_HALF || value_off < info.key_size ||
	    value_off + info.value_size > rec_size)
		return -EOPNOTSUPP;
	opts.link_info = &link_info;
	opts.link_info_len = sizeof(link_info);
	it->link = bpf_program__attach_iter(d->progs.dump_map_elem, &opts);
	if (!it->link)
		return -EOPNOTSUPP;
	it->fd = bpf_iter_create(bpf_link__fd(it->link));
	if (it->fd < 0) {
		int err = -errno;

		bpf_link__destroy(it->link);
		return err;
	}
	it->key_size = info.key_size;
	it->value_size = info.value_size;
	return 0;
}

static void iter_close(struct map_iter *it)
{
	close(it->fd);
	bpf_link__destroy(it->link);
}

/* The entry at src (key, then value) as the record at rec; they may
 * overlap when rec is at or after src. */
static void entry_to_record(const struct map_iter *it, char *rec,
			    const char *src, size_t rec_size, size_t value_off)
{
	memmove(rec + value_off, src + it->key_size, it->value_size);
	memmove(rec, src, it->key_size);
	memset(rec + it->key_size, 0, value_off - it->key_size);
	memset(rec + value_off + it->value_size, 0,
	       rec_size - value_off - it->value_size);
}

/* map_read_all() through a BPF iterator: no bpf(2) call per entry. */
static int read_by_iterator(int fd, size_t key_size, size_t rec_size,
			    size_t value_off, void **out, size_t *n)
{
	struct map_iter it;
	size_t entry, i, size = 0;
	char *raw = NULL, *recs;
	int err;

	err = iter_open(fd, key_size, rec_size, value_off, &it);
	if (err)
		return err;
	err = read_iter(it.fd, &raw, &size);
	iter_close(&it);
	if (err)
		return err;
	entry = it.key_size + it.value_size;
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
	for (i = *n; i-- > 0;)
		entry_to_record(&it, recs + i * rec_size, recs + i * entry,
				rec_size, value_off);
	*out = recs;
	return 0;
}

/* map_read_chunks() through a BPF iterator: whole entries as they come,
 * the part of one a read() cut off kept for the next. */
static int chunks_by_iterator(int fd, size_t key_size, size_t rec_size,
			      size_t value_off, size_t max_recs,
			      map_chunk_fn consume, void *arg)
{
	size_t entry, have = 0, n, i;
	struct map_iter it;
	char *raw, *recs;
	ssize_t got;
	int err;

	err = iter_open(fd, key_size, rec_size, value_off, &it);
	if (err)
		return err;
	entry = it.key_size + it.value_size;
	raw = malloc(max_recs * entry);
	recs = malloc(max_recs * rec_size);
	err = raw && recs ? 0 : -ENOMEM;
	while (!err) {
		got = read(it.fd, raw + have, max_recs * entry - have);
		if (got < 0) {
			err = errno == EINTR ? 0 : -errno;
			continue;
		}
		have += got;
		n = have / entry;
		for (i = 0; i < n; i++)
			entry_to_record(&it, recs + i * rec_size,
					raw + i * entry, rec_size, value_off);
		if (n)
			err = consume(recs, n, arg);
		memmove(raw, raw + n * entry, have - n * entry);
		have -= n * entry;
		if (!got) {
			if (!err && have)
				err = -EIO;	/* a torn last entry */
			break;
		}
	}
	iter_close(&it);
	free(raw);
	free(recs);
	return err;
}

/* map_read_chunks() by lookups, one per entry: where no iterator can be
 * loaded. */
static int chunks_by_lookups(int fd, size_t key_size, size_t rec_size,
			     size_t value_off, size_t max_recs,
			     map_chunk_fn consume, void *arg)
{
	char key[MAP_KEY_MAX], next[MAP_KEY_MAX];
	char *recs, *rec;
	void *prev = NULL;
	size_t n = 0;
	int err = 0;

	if (key_size > MAP_KEY_MAX)
		return -EINVAL;
	recs = malloc(max_recs * rec_size);
	if (!recs)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		rec = recs + n * rec_size;
		memset(rec, 0, rec_size);
		memcpy(rec, key, key_size);
		/* The entry may vanish between the two calls: skip it. */
		if (bpf_map_lookup_elem(fd, key, rec + value_off))
			continue;
		if (++n == max_recs) {
			err = consume(recs, n, arg);
			n = 0;
		}
	}
	if (!err && n)
		err = consume(recs, n, arg);
	free(recs);
	return err;
}

/* Room for need more items of size bytes after n in *buf (doubling). */
static int grow(char **buf, size_t *cap, size_t n, size_t need, size_t size)
{
	size_t want = *cap ? *cap : 64;
	char *grown;

	while (want < n + need)
		want *= 2;
	if (want == *cap)
		return 0;
	grown = realloc(*buf, want * size);
	if (!grown)
		return -ENOMEM;
	*buf = grown;
	*cap = want;
	return 0;
}

/* Records appended to one array, a chunk at a time. */
struct record_array {
	char *recs;
	size_t n, cap, rec_size;
};

static int append_chunk(void *recs, size_t n, void *arg)
{
	struct record_array *a = arg;

	if (grow(&a->recs, &a->cap, a->n, n, a->rec_size))
		return -ENOMEM;
	memcpy(a->recs + a->n * a->rec_size, recs, n * a->rec_size);
	a->n += n;
	return 0;
}

/* map_read_all() by lookups: their chunks into one array. */
static int read_by_lookups(int fd, size_t key_size, size_t rec_size,
			   size_t value_off, void **out, size_t *n)
{
	struct record_array a = { .rec_size = rec_size };
	int err = chunks_by_lookups(fd, key_size, rec_size, value_off,
				    MAP_CHUNK_RECS, append_chunk, &a);

	if (err) {
		free(a.recs);
		return err;
	}
	*out = a.recs;
	*n = a.n;
	return 0;
}

int map_read_chunks(int fd, size_t key_size, size_t rec_size,
		    size_t value_off, size_t max_recs, map_chunk_fn consume,
		    void *arg)
{
	int err = chunks_by_iterator(fd, key_size, rec_size, value_off,
				     max_recs, consume, arg);

	if (err == -EOPNOTSUPP)
		err = chunks_by_lookups(fd, key_size, rec_size, value_off,
					max_recs, consume, arg);
	return err;
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

/* The keys of the gone VMs' entries, gathered a chunk at a time. */
struct gone_keys {
	size_t key_size, rec_size, pid_off, start_off;
	const struct vm_ident *gone;
	size_t ngone;
	char *keys;
	size_t n, cap;
};

static int gather_gone(void *recs, size_t n, void *arg)
{
	struct gone_keys *g = arg;
	const char *rec = recs;
	uint64_t start;
	uint32_t pid;
	size_t i;

	for (i = 0; i < n; i++, rec += g->rec_size) {
		memcpy(&pid, rec + g->pid_off, sizeof(pid));
		memcpy(&start, rec + g->start_off, sizeof(start));
		if (!vm_listed(pid, start, g->gone, g->ngone))
			continue;
		if (grow(&g->keys, &g->cap, g->n, 1, g->key_size))
			return -ENOMEM;
		memcpy(g->keys + g->n++ * g->key_size, rec, g->key_size);
	}
	return 0;
}

int map_delete_vms(int fd, size_t key_size, size_t rec_size, size_t value_off,
		   size_t pid_off, size_t start_off,
		   const struct vm_ident *gone, size_t ngone)
{
	struct gone_keys g = {
		.key_size = key_size, .rec_size = rec_size,
		.pid_off = pid_off, .start_off = start_off,
		.gone = gone, .ngone = ngone,
	};
	size_t i;
	int err;

	err = map_read_chunks(fd, key_size, rec_size, value_off,
			      MAP_CHUNK_RECS, gather_gone, &g);
	for (i = 0; !err && i < g.n; i++)
		bpf_map_delete_elem(fd, g.keys + i * key_size);
	free(g.keys);
	return err;
}
