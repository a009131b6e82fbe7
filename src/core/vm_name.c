// SPDX-License-Identifier: GPL-2.0
/* VM names from the VMM's command line, looked up once per VM. */
#define _GNU_SOURCE	/* memrchr */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmwatch.h"
#include "vm_ident.h"
#include "vm_name.h"

/* argv is at most this much of interest: QEMU's -name comes early, and
 * libvirt's paths within the first few kB. */
#define CMDLINE_MAX 32768
#define LIBVIRT_DOMAIN "/libvirt/qemu/domain-"

/* Copy n bytes of src as a printable name. */
static void set_name(char *name, size_t size, const char *src, size_t n)
{
	size_t i;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		name[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ?
			'?' : src[i];
	name[n] = '\0';
}

/*
 * QEMU's -name value: comma-separated options, ",," a literal comma, the
 * first one "guest" when it has no key ("-name web1,debug-threads=on",
 * libvirt's "-name guest=web1,debug-threads=on").
 */
static bool qemu_guest(const char *value, char *name, size_t size)
{
	char buf[VM_NAME_LEN * 4];
	const char *p = value;
	bool first = true;

	while (*p) {
		size_t n = 0;
		const char *eq;

		/* One option, ",," unescaped. */
		while (*p && n < sizeof(buf) - 1) {
			if (*p == ',' && p[1] != ',')
				break;
			buf[n++] = *p;
			p += *p == ',' ? 2 : 1;
		}
		buf[n] = '\0';
		while (*p && *p != ',')		/* the rest of an overlong one */
			p++;
		if (*p == ',')
			p++;
		eq = strchr(buf, '=');
		/* An empty name is none: name keeps what it had. */
		if (first && !eq) {
			if (n)
				set_name(name, size, buf, n);
			return n > 0;
		}
		if (eq && eq - buf == 5 && !strncmp(buf, "guest", 5)) {
			if (eq[1])
				set_name(name, size, eq + 1, strlen(eq + 1));
			return eq[1] != '\0';
		}
		first = false;
	}
	return false;
}

/* "/var/lib/libvirt/qemu/domain-3-web1/master-key.aes": web1 (libvirt
 * cuts the name to 20 characters there). */
static bool libvirt_domain(const char *arg, char *name, size_t size)
{
	const char *p = strstr(arg, LIBVIRT_DOMAIN), *end;

	if (!p)
		return false;
	p += strlen(LIBVIRT_DOMAIN);
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p != '-')
		return false;
	p++;
	end = p + strcspn(p, "/,\"'");
	if (end == p)
		return false;
	set_name(name, size, p, end - p);
	return true;
}

enum vm_name_source vm_name_from_argv(const char *args, size_t len,
				      char *name, size_t size)
{
	const char *arg, *end = args + len, *base;
	bool libvirt = false;

	name[0] = '\0';
	if (!len || size < 2)
		return VM_NAME_UNKNOWN;
	for (arg = args; arg < end; arg += strnlen(arg, end - arg) + 1) {
		const char *next = arg + strnlen(arg, end - arg) + 1;

		if ((!strcmp(arg, "-name") || !strcmp(arg, "--name")) &&
		    next < end && memchr(next, '\0', end - next) &&
		    qemu_guest(next, name, size))
			return VM_NAME_QEMU;
		if (!libvirt)
			libvirt = libvirt_domain(arg, name, size);
	}
	if (libvirt)
		return VM_NAME_LIBVIRT;
	base = memrchr(args, '/', strnlen(args, len));
	base = base ? base + 1 : args;
	set_name(name, size, base, strnlen(base, end - base));
	return name[0] ? VM_NAME_EXE : VM_NAME_UNKNOWN;
}

struct vm_name_entry {
	uint32_t pid;
	uint64_t start;
	enum vm_name_source source;
	char name[VM_NAME_LEN];
};

/* Few VMs at a time: a list, pruned of gone VMs as it fills. */
static struct vm_name_entry *entries;
static size_t nentries, capacity;

static struct vm_name_entry *find(uint32_t pid, uint64_t start)
{
	size_t i;

	for (i = nentries; i-- > 0;)
		if (entries[i].pid == pid &&
		    (!start || entries[i].start == start))
			return &entries[i];
	return NULL;
}

/* Room for one more: gone VMs dropped first, then the list doubled. */
static bool make_room(void)
{
	struct vm_name_entry *grown;
	size_t i, kept = 0;

	if (nentries < capacity)
		return true;
	for (i = 0; i < nentries; i++)
		if (vm_alive(entries[i].pid, entries[i].start))
			entries[kept++] = entries[i];
	nentries = kept;
	if (nentries < capacity / 2)
		return true;
	grown = realloc(entries, (capacity ? capacity * 2 : 64) *
			sizeof(*entries));
	if (!grown)
		return nentries < capacity;
	entries = grown;
	capacity = capacity ? capacity * 2 : 64;
	return true;
}

static enum vm_name_source read_name(uint32_t pid, char *name, size_t size)
{
	char path[32];
	char *buf;
	ssize_t n;
	int fd;
	enum vm_name_source source = VM_NAME_UNKNOWN;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return VM_NAME_UNKNOWN;
	buf = malloc(CMDLINE_MAX);
	n = buf ? read(fd, buf, CMDLINE_MAX) : -1;
	close(fd);
	if (n > 0)
		source = vm_name_from_argv(buf, n, name, size);
	free(buf);
	return source;
}

/* Whether the process holds a KVM VM's file descriptor. */
static bool holds_vm_fd(uint32_t pid)
{
	char path[64], link[64];
	struct dirent *d;
	bool found = false;
	ssize_t n;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!found && (d = readdir(dir))) {
		n = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = kvm_fd_kind(link) == KVM_FD_VM;
		}
	}
	closedir(dir);
	return found;
}

static struct vm_name_entry *lookup(uint32_t pid, uint64_t start)
{
	struct vm_name_entry *e = find(pid, start);
	struct vm_name_entry got = { .pid = pid, .start = start };

	/* A record that does not know its VM's start (one made before
	 * kvmwatch attached): the VMM that runs at that pid now, if it is
	 * one, named as itself. */
	if (!start && (!e || !vm_alive(pid, e->start))) {
		start = vm_current_start(pid);
		if (!start || !holds_vm_fd(pid))
			return e;
		return lookup(pid, start);
	}
	if (e)
		return e;
	/* Alive before and after the read: the command line is this VM's,
	 * not that of a process that reused its pid. */
	if (!vm_alive(pid, start))
		return NULL;
	got.source = read_name(pid, got.name, sizeof(got.name));
	if (got.source == VM_NAME_UNKNOWN || !vm_alive(pid, start))
		return NULL;
	if (!make_room())
		return NULL;
	entries[nentries] = got;
	return &entries[nentries++];
}

void vm_names_seed(void)
{
	struct dirent *d;
	unsigned long pid;
	DIR *proc = opendir("/proc");

	if (!proc)
		return;
	while ((d = readdir(proc)))
		if (parse_uint(d->d_name, UINT32_MAX, &pid) &&
		    holds_vm_fd(pid))
			lookup(pid, vm_current_start(pid));
	closedir(proc);
}

const char *vm_name(uint32_t pid, uint64_t start)
{
	struct vm_name_entry *e = lookup(pid, start);

	return e ? e->name : "";
}

const char *vm_describe(uint32_t pid, uint64_t start, char *buf, size_t len)
{
	const char *name = vm_name(pid, start);

	if (name[0])
		snprintf(buf, len, "VM pid %u (%s)", pid, name);
	else
		snprintf(buf, len, "VM pid %u", pid);
	return buf;
}

enum vm_name_source vm_name_source_of(uint32_t pid, uint64_t start)
{
	struct vm_name_entry *e = lookup(pid, start);

	return e ? e->source : VM_NAME_UNKNOWN;
}

bool vm_name_matches(uint32_t pid, uint64_t start, const char *pattern)
{
	const char *name = vm_name(pid, start);

	return name[0] && !fnmatch(pattern, name, 0);
}

const char *vm_name_or(uint32_t pid, uint64_t start, const char *fallback)
{
	const char *name = vm_name(pid, start);

	return name[0] ? name : fallback;
}

void vm_names_clear(void)
{
	free(entries);
	entries = NULL;
	nentries = capacity = 0;
}
