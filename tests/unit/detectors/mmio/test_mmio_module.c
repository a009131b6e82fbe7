// SPDX-License-Identifier: GPL-2.0
/* Reading a vendor module's file for its fast MMIO path: found through
 * modules.dep, plain or compressed as distributions ship them. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "detectors/mmio/mmio_model.h"
#include "tests/unit/scratch_dir.h"

static char dir[64];

/* A relocatable ELF file whose symbol table has names as undefined
 * symbols, as a module's imports are. */
static void write_module(const char *path, const char *const *names,
			 size_t n)
{
	char strtab[256] = "";
	Elf64_Sym syms[8] = { { 0 } };
	size_t used = 1, i;
	Elf_Scn *str, *sym;
	Elf64_Shdr *sh;
	Elf64_Ehdr *eh;
	Elf_Data *d;
	Elf *e;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0 && n < 8);
	for (i = 0; i < n; i++) {
		syms[i + 1].st_name = used;
		syms[i + 1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
		syms[i + 1].st_shndx = SHN_UNDEF;
		strcpy(strtab + used, names[i]);
		used += strlen(names[i]) + 1;
	}
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	e = elf_begin(fd, ELF_C_WRITE, NULL);
	eh = elf64_newehdr(e);
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_REL;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;

	str = elf_newscn(e);
	d = elf_newdata(str);
	d->d_buf = strtab;
	d->d_size = used;
	d->d_type = ELF_T_BYTE;
	sh = elf64_getshdr(str);
	sh->sh_type = SHT_STRTAB;

	sym = elf_newscn(e);
	d = elf_newdata(sym);
	d->d_buf = syms;
	d->d_size = (n + 1) * sizeof(syms[0]);
	d->d_type = ELF_T_SYM;
	sh = elf64_getshdr(sym);
	sh->sh_type = SHT_SYMTAB;
	sh->sh_link = elf_ndxscn(str);
	sh->sh_info = 1;
	sh->sh_entsize = sizeof(syms[0]);
	eh->e_shstrndx = elf_ndxscn(str);

	assert_true(elf_update(e, ELF_C_WRITE) > 0);
	elf_end(e);
	close(fd);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(1 << 20);

	assert_non_null(f);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void spit(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* Compress the plain module at plain into path as kind says. */
static void compress_as(const char *plain, const char *path, char kind)
{
	size_t len, cap = 2 << 20, out_len = 0;
	unsigned char *in = slurp(plain, &len), *out = malloc(cap);
	z_stream z = { 0 };

	switch (kind) {
	case 'x':
		assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32,
				 NULL, in, len, out, &out_len, cap), LZMA_OK);
		break;
	case 'z':
		out_len = ZSTD_compress(out, cap, in, len, 3);
		assert_false(ZSTD_isError(out_len));
		break;
	case 'g':
		assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED,
					      16 + MAX_WBITS, 8,
					      Z_DEFAULT_STRATEGY), Z_OK);
		z.next_in = in;
		z.avail_in = len;
		z.next_out = out;
		z.avail_out = cap;
		assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
		out_len = z.total_out;
		deflateEnd(&z);
		break;
	}
	spit(path, out, out_len);
	free(in);
	free(out);
}

static void write_dep(const char *line)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	spit(path, line, strlen(line));
}

static int setup(void **state)
{
	(void)state;
	return scratch_dir_make(dir, sizeof(dir), "kernel");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

static void reads_every_compression(void **state)
{
	static const char *const with[] = {
		"printk", "kvm_io_bus_write", "__tracepoint_kvm_fast_mmio",
	};
	static const char *const files[] = {
		"kvm-amd.ko", "kvm-amd.ko.xz", "kvm-amd.ko.zst", "kvm-amd.ko.gz",
	};
	char plain[128], path[128], line[256], why[512];
	size_t i;

	(void)state;
	snprintf(plain, sizeof(plain), "%s/kernel/kvm-amd.ko", dir);
	write_module(plain, with, 3);
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/kernel/%s", dir, files[i]);
		if (i)
			compress_as(plain, path, "xzg"[i - 1]);
		snprintf(line, sizeof(line),
			 "kernel/kvm.ko.xz:\nkernel/%s: kernel/kvm.ko.xz\n",
			 files[i]);
		write_dep(line);
		assert_int_equal(mmio_module_fast_path_in(dir, "kvm_amd", why,
							  sizeof(why)), 1);
		assert_non_null(strstr(why, files[i]));
		assert_non_null(strstr(why, "has the fast MMIO path"));
	}
}

static void tells_absent_and_unknown(void **state)
{
	static const char *const one[] = { "kvm_io_bus_write" };
	static const char *const none[] = { "printk" };
	char path[128], why[512];

	(void)state;
	/* 6.12's kvm-amd: neither import. */
	snprintf(path, sizeof(path), "%s/kernel/kvm-amd.ko", dir);
	write_module(path, none, 1);
	write_dep("kernel/kvm-amd.ko: kernel/kvm.ko\n");
	assert_int_equal(mmio_module_fast_path_in(dir, "kvm_amd", why,
						  sizeof(why)), 0);
	assert_non_null(strstr(why, "no fast MMIO path"));
	/* One without the other is no fast path either. */
	write_module(path, one, 1);
	assert_int_equal(mmio_module_fast_path_in(dir, "kvm_amd", why,
						  sizeof(why)), 0);
	/* Not listed (built in), or not a module: unknown, saying why. */
	write_dep("kernel/kvm.ko:\n");
	assert_int_equal(mmio_module_fast_path_in(dir, "kvm_amd", why,
						  sizeof(why)), -1);
	assert_non_null(strstr(why, "not listed"));
	write_dep("kernel/kvm-amd.ko: kernel/kvm.ko\n");
	spit(path, "not an ELF file", 15);
	assert_int_equal(mmio_module_fast_path_in(dir, "kvm_amd", why,
						  sizeof(why)), -1);
	assert_non_null(strstr(why, "cannot be read"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads_every_compression, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tells_absent_and_unknown, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("mmio_module", tests, NULL, NULL);
}
