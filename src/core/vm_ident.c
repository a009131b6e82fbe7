// SPDX-License-Identifier: GPL-2.0
/* VMs told apart by pid and start time, checked against /proc. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvmwatch.h"
#include "vm_ident.h"

#define NSEC_PER_SEC 1000000000ull

int vm_ident_compare(uint32_t pid_a, uint64_t start_a, uint32_t pid_b,
		     uint64_t start_b)
{
	if (pid_a != pid_b)
		return pid_a < pid_b ? -1 : 1;
	return start_a < start_b ? -1 : start_a > start_b;
}

static uint64_t clock_ticks(void)
{
	static uint64_t hz;

	if (!hz) {
		long got = sysconf(_SC_CLK_TCK);

		hz = got > 0 ? (uint64_t)got : 100;
	}
	return hz;
}

/* The kernel's nsec_to_clock_t() of start_boottime: field 22 of stat. */
static uint64_t start_ticks(uint64_t start)
{
	return start / (NSEC_PER_SEC / clock_ticks());
}

/* Field 22 (starttime) of /proc/PID/stat; -1 if the process is gone. */
static long long stat_start_ticks(uint32_t pid)
{
	char path[32], buf[1024], *p;
	unsigned long long ticks;
	int field;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields follow the last. */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
		return -1;
	return (long long)ticks;
}

#define ANON_KVM "anon_inode:kvm-"
#define ANON_GMEM "anon_inode:[kvm-gmem]"

enum kvm_fd_kind kvm_fd_kind(const char *link)
{
	if (!strcmp(link, ANON_KVM "vm"))
		return KVM_FD_VM;
	/* vCPUs, devices (kvm-arm-vgic-v3, kvm-vfio), stats fds and
	 * guest_memfd ([kvm-gmem]): each holds a reference to its VM. */
	if (!strncmp(link, ANON_KVM, strlen(ANON_KVM)) ||
	    !strncmp(link, ANON_GMEM, strlen(ANON_GMEM)))
		return KVM_FD_REF;
	return KVM_FD_NONE;
}

bool vm_alive(uint32_t pid, uint64_t start)
{
	long long ticks = stat_start_ticks(pid);

	if (ticks < 0)
		return false;
	return !start || (uint64_t)ticks == start_ticks(start);
}

uint64_t vm_current_start(uint32_t pid)
{
	long long ticks = stat_start_ticks(pid);

	return ticks < 0 ? 0 : (uint64_t)ticks * (NSEC_PER_SEC / clock_ticks());
}

size_t vms_gone(const struct vm_ident *vms, size_t n, struct vm_ident *gone,
		size_t max)
{
	size_t i, found = 0;

	for (i = 0; i < n && found < max; i++)
		if (!vm_alive(vms[i].pid, vms[i].start))
			gone[found++] = vms[i];
	return found;
}

bool vm_listed(uint32_t pid, uint64_t start, const struct vm_ident *vms,
	       size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (vms[i].pid == pid && vms[i].start == start)
			return true;
	return false;
}

static uint64_t boot_time_unix(void)
{
	static uint64_t btime;
	unsigned long long got;
	char line[128];
	FILE *f;

	if (btime)
		return btime;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &got) == 1) {
			btime = got;
			break;
		}
	fclose(f);
	return btime;
}

double vm_start_unix(uint64_t start)
{
	if (!start)
		return 0;
	return boot_time_unix() + (double)start_ticks(start) / clock_ticks();
}

void vm_start_label(uint64_t start, char *buf, size_t len)
{
	snprintf(buf, len, "%.2f", vm_start_unix(start));
}

bool vm_label_alive(const char *pid, const char *start_label)
{
	unsigned long parsed;
	long long ticks;
	char now[32];

	if (!parse_uint(pid, UINT32_MAX, &parsed))
		return true;
	ticks = stat_start_ticks((uint32_t)parsed);
	if (ticks < 0)
		return false;
	if (!start_label)
		return true;
	vm_start_label((uint64_t)ticks * (NSEC_PER_SEC / clock_ticks()), now,
		       sizeof(now));
	return !strcmp(now, start_label);
}
