/* SPDX-License-Identifier: GPL-2.0 */
/* A scratch directory under /tmp for a unit test's files, with one
 * subdirectory made in it (a fake tracefs' events/, a module tree). */
#ifndef KVMWATCH_TEST_SCRATCH_DIR_H
#define KVMWATCH_TEST_SCRATCH_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static inline int scratch_dir_make(char *dir, size_t len, const char *sub)
{
	char path[192];

	snprintf(dir, len, "/tmp/kvmwatch-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	return mkdir(path, 0755);
}

static inline int scratch_dir_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

#endif
