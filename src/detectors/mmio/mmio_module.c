// SPDX-License-Identifier: GPL-2.0
/*
 * Whether the vendor module's code has a fast MMIO path, read from its
 * file: a handler that tries KVM_FAST_MMIO_BUS calls kvm_io_bus_write()
 * and reports to kvm:kvm_fast_mmio, both of kvm.ko, so the module lists
 * both among its undefined symbols. A static fact: it does not depend on
 * seeing the path taken, which a host may never allow (SVM without NRIP
 * save).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "mmio_model.h"

/* A module file is a few MB; this bounds a wrong one. */
#define MODULE_MAX (256u << 20)

static const char *const fast_path_imports[] = {
	"kvm_io_bus_write", "__tracepoint_kvm_fast_mmio",
};

/* Is name (kvm_amd) the module of file base name (kvm-amd.ko.xz)? */
static bool module_file(const char *base, const char *module)
{
	size_t i;

	for (i = 0; module[i]; i++)
		if (base[i] != module[i] &&
		    !(module[i] == '_' && base[i] == '-'))
			return false;
	return !strncmp(base + i, ".ko", 3);
}

/* The module's file under moddir, from its modules.dep. */
static int find_module(const char *moddir, const char *module, char *path,
		       size_t len)
{
	char dep[512], line[1024];
	FILE *f;
	int err = -ENOENT;

	snprintf(dep, sizeof(dep), "%s/modules.dep", moddir);
	f = fopen(dep, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *base;

		if (!colon)
			continue;
		*colon = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		if (module_file(base, module)) {
			err = snprintf(path, len, "%.100s/%.400s", moddir,
				       line) < (int)len ? 0 : -ENAMETOOLONG;
			break;
		}
	}
	fclose(f);
	return err;
}

static int read_all(const char *path, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do {
		if (n == cap) {
			unsigned char *grown;

			cap = cap ? cap * 2 : 1 << 20;
			grown = cap > MODULE_MAX ? NULL : realloc(buf, cap);
			if (!grown) {
				free(buf);
				close(fd);
				return -EFBIG;
			}
			buf = grown;
		}
		got = read(fd, buf + n, cap - n);
		if (got > 0)
			n += got;
	} while (got > 0);
	close(fd);
	if (got < 0) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* A growing output buffer for the decompressors. */
struct out_buf {
	unsigned char *data;
	size_t len, cap;
};

/* Room for more output: 0, or -EFBIG past MODULE_MAX. */
static int grow(struct out_buf *o)
{
	size_t cap = o->cap ? o->cap * 2 : 4u << 20;
	unsigned char *grown = cap > MODULE_MAX ? NULL :
		realloc(o->data, cap);

	if (!grown)
		return -EFBIG;
	o->data = grown;
	o->cap = cap;
	return 0;
}

static int unxz(const unsigned char *in, size_t len, struct out_buf *o)
{
	lzma_stream z = LZMA_STREAM_INIT;
	lzma_ret ret = lzma_stream_decoder(&z, UINT64_MAX, 0);
	int err = ret == LZMA_OK ? 0 : -EINVAL;

	z.next_in = in;
	z.avail_in = len;
	while (!err && ret == LZMA_OK) {
		if (o->len == o->cap && (err = grow(o)))
			break;
		z.next_out = o->data + o->len;
		z.avail_out = o->cap - o->len;
		ret = lzma_code(&z, LZMA_FINISH);
		o->len = o->cap - z.avail_out;
	}
	lzma_end(&z);
	return err ? err : ret == LZMA_STREAM_END ? 0 : -EINVAL;
}

static int unzstd(const unsigned char *in, size_t len, struct out_buf *o)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	ZSTD_inBuffer zin = { in, len, 0 };
	size_t ret = 1;
	int err = z ? 0 : -ENOMEM;

	while (!err && ret) {
		ZSTD_outBuffer zout;

		if (o->len == o->cap && (err = grow(o)))
			break;
		zout = (ZSTD_outBuffer){ o->data, o->cap, o->len };
		ret = ZSTD_decompressStream(z, &zout, &zin);
		o->len = zout.pos;
		if (ZSTD_isError(ret) || (ret && zin.pos == len &&
					  zout.pos < zout.size))
			err = -EINVAL;
	}
	ZSTD_freeDStream(z);
	return err;
}

static int ungzip(const unsigned char *in, size_t len, struct out_buf *o)
{
	z_stream z = { .next_in = (unsigned char *)in, .avail_in = len };
	int ret = inflateInit2(&z, 16 + MAX_WBITS);	/* a gzip header */
	int err = ret == Z_OK ? 0 : -EINVAL;

	while (!err && ret == Z_OK) {
		if (o->len == o->cap && (err = grow(o)))
			break;
		z.next_out = o->data + o->len;
		z.avail_out = o->cap - o->len;
		ret = inflate(&z, Z_NO_FLUSH);
		o->len = o->cap - z.avail_out;
		if (ret == Z_BUF_ERROR && z.avail_out)
			err = -EINVAL;
		else if (ret == Z_BUF_ERROR)
			ret = Z_OK;
	}
	inflateEnd(&z);
	return err ? err : ret == Z_STREAM_END ? 0 : -EINVAL;
}

/* The module's ELF image: in decompressed as its magic says (xz, zstd,
 * gzip), or in itself. Takes in. */
static int unpack(unsigned char *in, size_t len, unsigned char **image,
		  size_t *image_len)
{
	static const unsigned char xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	static const unsigned char zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
	struct out_buf o = { 0 };
	int err;

	if (len >= sizeof(xz) && !memcmp(in, xz, sizeof(xz)))
		err = unxz(in, len, &o);
	else if (len >= sizeof(zst) && !memcmp(in, zst, sizeof(zst)))
		err = unzstd(in, len, &o);
	else if (len >= 2 && in[0] == 0x1f && in[1] == 0x8b)
		err = ungzip(in, len, &o);
	else {
		*image = in;
		*image_len = len;
		return 0;
	}
	free(in);
	if (err) {
		free(o.data);
		return err;
	}
	*image = o.data;
	*image_len = o.len;
	return 0;
}

/* Which of the names are undefined symbols of the ELF image: a mask. */
static int undefined_symbols(unsigned char *image, size_t len,
			     const char *const *names, size_t n,
			     unsigned int *found)
{
	Elf_Scn *scn = NULL;
	Elf *elf;
	size_t i;

	*found = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	elf = elf_memory((char *)image, len);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		return -EINVAL;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		GElf_Sym sym;
		int k;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		for (k = 0; data && gelf_getsym(data, k, &sym); k++) {
			const char *name;

			if (sym.st_shndx != SHN_UNDEF)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (i = 0; name && i < n; i++)
				if (!strcmp(name, names[i]))
					*found |= 1u << i;
		}
	}
	elf_end(elf);
	return 0;
}

int mmio_module_fast_path(const char *module, char *why, size_t len)
{
	char moddir[128];
	struct utsname u;

	if (uname(&u)) {
		snprintf(why, len, "uname: %s", strerror(errno));
		return -1;
	}
	snprintf(moddir, sizeof(moddir), "/lib/modules/%.64s", u.release);
	return mmio_module_fast_path_in(moddir, module, why, len);
}

int mmio_module_fast_path_in(const char *moddir, const char *module,
			     char *why, size_t len)
{
	unsigned char *image = NULL;
	size_t size = 0, n = ARRAY_SIZE(fast_path_imports);
	unsigned int found;
	char path[512];
	int err;

	err = find_module(moddir, module, path, sizeof(path));
	if (err) {
		snprintf(why, len,
			 "%s's module file is not listed in %.100s/modules.dep (%s; built in?): its code cannot be read",
			 module, moddir, strerror(-err));
		return -1;
	}
	err = read_all(path, &image, &size);
	if (!err)
		err = unpack(image, size, &image, &size);
	if (!err)
		err = undefined_symbols(image, size, fast_path_imports, n,
					&found);
	free(image);
	if (err) {
		snprintf(why, len, "%s cannot be read as a module: %s", path,
			 strerror(-err));
		return -1;
	}
	if (found == (1u << n) - 1) {
		snprintf(why, len,
			 "%s calls kvm_io_bus_write and reports to kvm:kvm_fast_mmio (its undefined symbols): its MMIO exit handler has the fast MMIO path",
			 path);
		return 1;
	}
	snprintf(why, len,
		 "%s calls neither kvm_io_bus_write nor kvm:kvm_fast_mmio%s: its MMIO exit handler has no fast MMIO path",
		 path, found ? " together" : "");
	return 0;
}
