// SPDX-License-Identifier: GPL-2.0
/* Bounded regular inputs, outputs written whole; see files.h. */
#define _GNU_SOURCE	/* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

int read_regular_file(const char *path, size_t max_size, char **text,
		      size_t *len, char *error, size_t error_len)
{
	struct stat st;
	size_t done = 0;
	ssize_t n;
	char *buf;
	int fd, err = 0;

	*text = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO with no writer must not hang. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		snprintf(error, error_len, "%s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		snprintf(error, error_len, "%s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(error, error_len, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((size_t)st.st_size > max_size) {
		snprintf(error, error_len, "%s: %lld bytes, more than the %zu allowed",
			 path, (long long)st.st_size, max_size);
		close(fd);
		return -EFBIG;
	}
	/* Untouched pages cost nothing; the file may grow after fstat. */
	buf = malloc(max_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done <= max_size) {
		n = read(fd, buf + done, max_size + 1 - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			snprintf(error, error_len, "%s: %s", path, strerror(-err));
		}
		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	if (!err && done > max_size) {
		snprintf(error, error_len, "%s: more than the %zu bytes allowed",
			 path, max_size);
		err = -EFBIG;
	}
	if (err) {
		free(buf);
		return err;
	}
	buf[done] = '\0';
	*text = buf;
	*len = done;
	return 0;
}

/* A new temporary ".NAME.XXXXXX" in path's directory: its fd, and its
 * name in *tmp (free() it); -errno with a message. */
static int make_temporary(const char *path, char **tmp, char *error,
			  size_t error_len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *copy = strdup(path);
	int fd, err;

	*tmp = NULL;
	if (!copy || asprintf(tmp, "%s/.%s.XXXXXX", dirname(copy), base) < 0) {
		free(copy);
		*tmp = NULL;
		snprintf(error, error_len, "out of memory");
		return -ENOMEM;
	}
	free(copy);
	fd = mkstemp(*tmp);
	if (fd >= 0)
		return fd;
	err = -errno;
	snprintf(error, error_len, "cannot create a file beside %s: %s",
		 path, strerror(-err));
	free(*tmp);
	*tmp = NULL;
	return err;
}

int output_path_check(const char *path, char *error, size_t error_len)
{
	struct stat st;
	char *tmp;
	int fd;

	if (!*path || path[strlen(path) - 1] == '/') {
		snprintf(error, error_len, "'%s' names no file", path);
		return -EINVAL;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		snprintf(error, error_len, "%s exists and is not a regular file",
			 path);
		return -EINVAL;
	}
	fd = make_temporary(path, &tmp, error, error_len);
	if (fd < 0)
		return fd;
	close(fd);
	unlink(tmp);
	free(tmp);
	return 0;
}

int write_file_atomic_with(const char *path,
			   int (*fill)(FILE *out, void *arg), void *arg,
			   char *error, size_t error_len)
{
	int fd, err = 0;
	char *tmp;
	FILE *f;

	fd = make_temporary(path, &tmp, error, error_len);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
	} else {
		err = fill(f, arg);
		if (!err && fflush(f))
			err = -errno;
		/* On disk before the rename, so a crash leaves the old
		 * file. */
		if (!err && fsync(fileno(f)))
			err = -errno;
		/* mkstemp makes it 0600; records and metrics are no
		 * secret. */
		if (!err && fchmod(fileno(f), 0644))
			err = -errno;
		if (fclose(f) && !err)
			err = -errno;
	}
	if (err)
		snprintf(error, error_len, "writing %s failed: %s", tmp,
			 strerror(-err));
	else if (rename(tmp, path)) {
		err = -errno;
		snprintf(error, error_len, "cannot rename %s to %s: %s", tmp,
			 path, strerror(-err));
	}
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

struct text {
	const char *text;
	size_t len;
};

static int write_text(FILE *out, void *text)
{
	const struct text *t = text;

	return fwrite(t->text, 1, t->len, out) == t->len ? 0 : -EIO;
}

int write_file_atomic(const char *path, const char *text, size_t len,
		      char *error, size_t error_len)
{
	struct text t = { text, len };

	return write_file_atomic_with(path, write_text, &t, error, error_len);
}
