/* SPDX-License-Identifier: GPL-2.0 */
/* This test process's start as the maps carry a VMM's (boot-time ns), read
 * from field 22 of /proc/self/stat (clock ticks): a VM that runs. Read
 * here, not with src/core/vm_ident.c's parser, which it checks. */
#ifndef KVMWATCH_TEST_OWN_START_H
#define KVMWATCH_TEST_OWN_START_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The same of process pid (0: this one); 0 if it is gone. */
static inline uint64_t proc_start_ns(int pid)
{
	unsigned long long ticks = 0;
	char path[32], buf[1024], *p;
	FILE *f;
	size_t n;
	int field;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
		return 0;
	return ticks * (1000000000ull / sysconf(_SC_CLK_TCK));
}

static inline uint64_t own_start_ns(void)
{
	return proc_start_ns(0);
}

#endif
