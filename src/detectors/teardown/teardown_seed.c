// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoint mode learns VMs from the KVM_CREATE_VM it sees. A VM made
 * before kvmwatch attached is learnt here instead, from the VMM's open
 * fds (/proc/PID/fd: "anon_inode:kvm-vm", "anon_inode:kvm-vcpu:N", ...),
 * so that its teardown is seen too.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "teardown_model.h"

#define MAX_SEEDED_FDS 1024

struct vmm_fds {
	int vm_fd;		/* the first VM fd */
	unsigned int vms;
	unsigned int nrefs;
	int refs[MAX_SEEDED_FDS];
};

static void scan_fds(uint32_t pid, struct vmm_fds *v)
{
	char dir[64], link[64];
	struct dirent *de;
	DIR *d;

	v->vm_fd = -1;
	v->vms = v->nrefs = 0;
	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		ssize_t n;
		int fd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		fd = atoi(de->d_name);
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		switch (kvm_fd_kind(link)) {
		case KVM_FD_VM:
			if (!v->vms++)
				v->vm_fd = fd;
			break;
		case KVM_FD_REF:
			if (v->nrefs < MAX_SEEDED_FDS)
				v->refs[v->nrefs++] = fd;
			break;
		default:
			break;
		}
	}
	closedir(d);
}

/* One VMM: its VMs alive; with a single VM, its fds too, so that the
 * close of its last one is seen (with several, which fd belongs to
 * which VM is not known: only their exit is). */
static int seed_vmm(const struct teardown_seed_maps *m, uint32_t pid,
		    const struct vmm_fds *v)
{
	struct td_vmm vmm = { .live_vms = v->vms };
	struct td_fd_key key = { .pid = pid };
	__u32 refs = 1;
	unsigned int i;

	/* A VMM the BPF side already knows made its VM after attaching. */
	if (bpf_map_update_elem(m->vmms_fd, &pid, &vmm, BPF_NOEXIST))
		return errno == EEXIST ? 0 : -errno;
	if (v->vms != 1)
		return 1;
	for (i = 0; i < v->nrefs; i++) {
		key.fd = v->refs[i];
		if (!bpf_map_update_elem(m->fds_fd, &key, &v->vm_fd,
					 BPF_NOEXIST))
			refs++;
	}
	key.fd = v->vm_fd;
	if (bpf_map_update_elem(m->fds_fd, &key, &v->vm_fd, BPF_NOEXIST) ||
	    bpf_map_update_elem(m->refs_fd, &key, &refs, BPF_NOEXIST))
		return -errno;
	return 1;
}

int teardown_seed_vmms(const struct teardown_seed_maps *m,
		       uint32_t filter_pid)
{
	struct vmm_fds *v = malloc(sizeof(*v));
	struct dirent *de;
	int seeded = 0, err = 0;
	DIR *proc;

	if (!v)
		return -ENOMEM;
	proc = opendir("/proc");
	if (!proc) {
		free(v);
		return -errno;
	}
	while ((de = readdir(proc))) {
		uint32_t pid;
		int r;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		if (filter_pid && pid != filter_pid)
			continue;
		scan_fds(pid, v);
		if (!v->vms)
			continue;
		r = seed_vmm(m, pid, v);
		if (r < 0 && !err)
			err = r;
		seeded += r > 0;
	}
	closedir(proc);
	free(v);
	return err ? err : seeded;
}
