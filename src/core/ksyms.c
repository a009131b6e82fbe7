// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel functions by name: one pass over /proc/kallsyms per run at most,
 * its answers kept for the next run of the same boot and module set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_caps.h"

static int compare_query(const void *a, const void *b)
{
	return strcmp(((const struct ksym_query *const *)a)[0]->name,
		      ((const struct ksym_query *const *)b)[0]->name);
}

/* What earlier passes found, or found missing, by name. */
#define KSYM_KEPT_MAX 128
static struct ksym_query kept[KSYM_KEPT_MAX];
static size_t nkept;

static const struct ksym_query *kept_answer(const char *name)
{
	size_t i;

	for (i = 0; i < nkept; i++)
		if (!strcmp(kept[i].name, name))
			return &kept[i];
	return NULL;
}

static void keep_answer(const struct ksym_query *q)
{
	if (nkept < KSYM_KEPT_MAX && !kept_answer(q->name))
		kept[nkept++] = *q;
}

/*
 * One line of /proc/kallsyms: "ADDR TYPE NAME" or "ADDR TYPE NAME\t[MODULE]".
 * Parsed by hand: sscanf took half the time of reading the file.
 */
static bool parse_ksym_line(char *line, unsigned long long *addr, char *type,
			    char **name, char **module)
{
	char *p, *end;

	*addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ' || !end[1] || end[2] != ' ')
		return false;
	*type = end[1];
	*name = p = end + 3;
	p += strcspn(p, "\t\n");
	*module = NULL;
	if (*p == '\t' && p[1] == '[') {
		*module = p + 2;
		(*module)[strcspn(*module, "]")] = '\0';
	}
	*p = '\0';
	return **name != '\0';
}

/* One pass over /proc/kallsyms for the count queries. */
static int read_kallsyms(struct ksym_query **queries, size_t count)
{
	struct ksym_query **sorted, key, *keyp = &key, **hit;
	char line[512], *name, *module;
	unsigned long long addr;
	char type;
	size_t i;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return -errno;
	/* procfs says 1 KiB blocks: 5000 reads for the file. */
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	sorted = calloc(count, sizeof(*sorted));
	if (!sorted) {
		fclose(f);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		sorted[i] = queries[i];
		queries[i]->found = false;
	}
	qsort(sorted, count, sizeof(*sorted), compare_query);
	while (fgets(line, sizeof(line), f)) {
		if (!parse_ksym_line(line, &addr, &type, &name, &module))
			continue;
		if (type != 't' && type != 'T')
			continue;
		key.name = name;
		hit = bsearch(&keyp, sorted, count, sizeof(*sorted), compare_query);
		if (!hit || (*hit)->found)
			continue;
		/* Several queries may name the same function. */
		for (i = 0; i < count; i++) {
			if (strcmp(queries[i]->name, name))
				continue;
			queries[i]->found = true;
			queries[i]->addr = addr;
			snprintf(queries[i]->module, sizeof(queries[i]->module),
				 "%s", module ? module : "");
		}
	}
	free(sorted);
	fclose(f);
	return 0;
}

/*
 * The answers outlive the run in KSYMS_CACHE, for the next run of the same
 * boot with the same modules at the same addresses: a pass over the 5 MB
 * of /proc/kallsyms took 5 s of a 24 s start under the testbed's TCG.
 */
#define KSYMS_CACHE_DIR "/run/kvmwatch"
#define KSYMS_CACHE KSYMS_CACHE_DIR "/kallsyms"

/* This boot and its modules where they are loaded, as one line. */
static bool ksyms_cache_key(char *key, size_t len)
{
	char boot_id[64] = "", line[512];
	uint64_t hash = 1469598103934665603ull;	/* FNV-1a */
	const char *p;
	FILE *f;

	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f)
		return false;
	if (!fgets(boot_id, sizeof(boot_id), f))
		boot_id[0] = '\0';
	fclose(f);
	boot_id[strcspn(boot_id, "\n")] = '\0';
	if (!boot_id[0])
		return false;
	/* No /proc/modules: a kernel without modules, same all boot. */
	f = fopen("/proc/modules", "r");
	if (!f && errno != ENOENT)
		return false;
	/* Name, size and address: the use counts move with every VM. */
	while (f && fgets(line, sizeof(line), f)) {
		char name[64], addr[32];
		unsigned long size;

		if (sscanf(line, "%63s %lu %*s %*s %*s %31s", name, &size,
			   addr) != 3)
			continue;
		snprintf(line, sizeof(line), "%s %lu %s;", name, size, addr);
		for (p = line; *p; p++)
			hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
	}
	if (f)
		fclose(f);
	snprintf(key, len, "kvmwatch-kallsyms 1 %s %016llx", boot_id,
		 (unsigned long long)hash);
	return true;
}

/* Names outlive the cache file's buffer: the kept answers point here. */
static char cached_names[KSYM_KEPT_MAX][64];

/* This run's key, made once (the pass follows at once), or "" when there
 * is none (no boot id). */
static char cache_key[160];

static void ksyms_cache_load(void)
{
	char line[256], name[64], module[64];
	unsigned long long addr;
	size_t n = 0;
	int found;
	FILE *f;

	if (!ksyms_cache_key(cache_key, sizeof(cache_key))) {
		cache_key[0] = '\0';
		return;
	}
	f = fopen(KSYMS_CACHE, "r");
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f) ||
	    strncmp(line, cache_key, strlen(cache_key)) ||
	    line[strlen(cache_key)] != '\n') {
		fclose(f);
		return;
	}
	while (n < KSYM_KEPT_MAX && fgets(line, sizeof(line), f)) {
		struct ksym_query q = { 0 };

		module[0] = '\0';
		if (sscanf(line, "%63s %d %llx %63s", name, &found, &addr,
			   module) < 3)
			continue;
		snprintf(cached_names[n], sizeof(cached_names[n]), "%s", name);
		q.name = cached_names[n++];
		q.found = found;
		q.addr = addr;
		snprintf(q.module, sizeof(q.module), "%s",
			 strcmp(module, "-") ? module : "");
		keep_answer(&q);
	}
	fclose(f);
}

/* Best effort: a read-only /run only costs the next run a pass. */
static void ksyms_cache_save(void)
{
	char tmp[64];
	size_t i;
	FILE *f;
	int fd;

	if (!cache_key[0])
		return;
	if (mkdir(KSYMS_CACHE_DIR, 0700) && errno != EEXIST)
		return;
	snprintf(tmp, sizeof(tmp), KSYMS_CACHE ".%d", (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "%s\n", cache_key);
	for (i = 0; i < nkept; i++)
		fprintf(f, "%s %d %llx %s\n", kept[i].name, kept[i].found,
			(unsigned long long)kept[i].addr,
			kept[i].module[0] ? kept[i].module : "-");
	if (fclose(f) || rename(tmp, KSYMS_CACHE))
		unlink(tmp);
}

int caps_lookup_ksyms_also(struct ksym_query *queries, size_t count,
			   struct ksym_query *more, size_t nmore)
{
	static bool cache_loaded;
	struct ksym_query **all;
	const struct ksym_query *k;
	size_t i, n = 0;
	int err;

	if (!cache_loaded) {
		cache_loaded = true;
		ksyms_cache_load();
	}
	all = calloc(count + nmore, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		k = kept_answer(queries[i].name);
		if (k)
			queries[i] = *k;
		else
			all[n++] = &queries[i];
	}
	/* Every answer kept: no pass. */
	if (!n) {
		free(all);
		return 0;
	}
	for (i = 0; i < nmore; i++)
		all[n++] = &more[i];
	err = read_kallsyms(all, n);
	for (i = 0; !err && i < n; i++)
		keep_answer(all[i]);
	free(all);
	if (!err)
		ksyms_cache_save();
	return err;
}

int caps_lookup_ksyms(struct ksym_query *queries, size_t count)
{
	return caps_lookup_ksyms_also(queries, count, NULL, 0);
}
