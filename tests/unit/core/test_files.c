// SPDX-License-Identifier: GPL-2.0
/* Bounded regular inputs, outputs checked early and written whole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/files.h"
#include "../scratch_dir.h"

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	return scratch_dir_make(dir, sizeof(dir), "sub");
}

static int remove_dir(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void reads_regular_files_only(void **state)
{
	char path[128], error[256], *text;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/small", dir);
	put(path, "version: 1\n");
	assert_int_equal(read_regular_file(path, 64, &text, &len, error,
					   sizeof(error)), 0);
	assert_int_equal(len, 11);
	assert_string_equal(text, "version: 1\n");
	free(text);
	/* One byte over the bound: refused before it is read. */
	assert_int_not_equal(read_regular_file(path, 10, &text, &len, error,
					       sizeof(error)), 0);
	assert_null(text);
	assert_non_null(strstr(error, "more than the 10"));
	/* Exactly the bound is fine. */
	assert_int_equal(read_regular_file(path, 11, &text, &len, error,
					   sizeof(error)), 0);
	free(text);
	/* A FIFO with no writer: refused at once, not waited on. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_not_equal(read_regular_file(path, 64, &text, &len, error,
					       sizeof(error)), 0);
	assert_non_null(strstr(error, "not a regular file"));
	/* A directory and a device. */
	assert_int_not_equal(read_regular_file(dir, 64, &text, &len, error,
					       sizeof(error)), 0);
	assert_non_null(strstr(error, "not a regular file"));
	assert_int_not_equal(read_regular_file("/dev/zero", 64, &text, &len,
					       error, sizeof(error)), 0);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_not_equal(read_regular_file(path, 64, &text, &len, error,
					       sizeof(error)), 0);
	assert_non_null(strstr(error, "No such file"));
}

static void outputs_checked_without_touching(void **state)
{
	char path[128], error[256], *text;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/out.xml", dir);
	put(path, "old");
	/* Checked: writable, and the old file is still whole. */
	assert_int_equal(output_path_check(path, error, sizeof(error)), 0);
	assert_int_equal(read_regular_file(path, 64, &text, &len, error,
					   sizeof(error)), 0);
	assert_string_equal(text, "old");
	free(text);
	/* No temporary is left beside it. */
	snprintf(path, sizeof(path), "ls -A %s | grep -q '^\\.'", dir);
	assert_int_not_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_not_equal(output_path_check(path, error, sizeof(error)), 0);
	assert_non_null(strstr(error, "not a regular file"));
	snprintf(path, sizeof(path), "%s/nodir/x.json", dir);
	assert_int_not_equal(output_path_check(path, error, sizeof(error)), 0);
	assert_non_null(strstr(error, "cannot create a file beside"));
	assert_int_not_equal(output_path_check("/proc/kvmwatch-x.json", error,
					       sizeof(error)), 0);
	snprintf(path, sizeof(path), "%s/", dir);
	assert_int_not_equal(output_path_check(path, error, sizeof(error)), 0);
}

static void writes_whole(void **state)
{
	char path[128], error[256], *text;
	struct stat st;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/metrics.prom", dir);
	put(path, "old");
	assert_int_equal(write_file_atomic(path, "new text\n", 9, error,
					   sizeof(error)), 0);
	assert_int_equal(read_regular_file(path, 64, &text, &len, error,
					   sizeof(error)), 0);
	assert_string_equal(text, "new text\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Renaming over a directory fails, and leaves no temporary. */
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_not_equal(write_file_atomic(path, "x", 1, error,
					       sizeof(error)), 0);
	snprintf(path, sizeof(path), "ls -A %s | grep -q '^\\.'", dir);
	assert_int_not_equal(system(path), 0);
}

/* Half a file, then a failure (export's render running out of memory). */
static int half_then_fail(FILE *out, void *arg)
{
	(void)arg;
	fputs("partial ", out);
	return -ENOMEM;
}

static int stream_lines(FILE *out, void *arg)
{
	int i, n = *(int *)arg;

	for (i = 0; i < n; i++)
		fprintf(out, "line %d\n", i);
	return 0;
}

/* Written as made, with the same guarantee: the old file or the new
 * whole, never a part, and no temporary left behind. */
static void writes_streamed(void **state)
{
	char path[128], cmd[160], error[256], *text;
	size_t len;
	int n = 20000;

	(void)state;
	snprintf(path, sizeof(path), "%s/streamed.prom", dir);
	put(path, "old");
	assert_int_equal(write_file_atomic_with(path, half_then_fail, NULL,
						error, sizeof(error)), -ENOMEM);
	assert_non_null(strstr(error, "Cannot allocate memory"));
	assert_int_equal(read_regular_file(path, 64, &text, &len, error,
					   sizeof(error)), 0);
	assert_string_equal(text, "old");
	free(text);
	snprintf(cmd, sizeof(cmd), "ls -A %s | grep -q '^\\.'", dir);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(write_file_atomic_with(path, stream_lines, &n, error,
						sizeof(error)), 0);
	assert_int_equal(read_regular_file(path, 1 << 20, &text, &len, error,
					   sizeof(error)), 0);
	/* "line N\n": 6 bytes and N's digits. */
	assert_int_equal(len, 10 * 7 + 90 * 8 + 900 * 9 + 9000 * 10 +
			 10000 * 11);
	assert_non_null(strstr(text, "\nline 19999\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_regular_files_only),
		cmocka_unit_test(outputs_checked_without_touching),
		cmocka_unit_test(writes_whole),
		cmocka_unit_test(writes_streamed),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
