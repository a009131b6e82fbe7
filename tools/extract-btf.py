#!/usr/bin/env python3
"""Cut the kernel's own BTF blob (.BTF, between __start_BTF and __stop_BTF)
out of an uncompressed kernel Image, such as Debian's arm64 vmlinuz, which
is not an ELF file that bpftool could read directly.

usage: extract-btf.py IMAGE OUT
"""
import struct
import sys

BTF_MAGIC_V1 = b"\x9f\xeb\x01\x00"  # little-endian magic 0xeB9F, version 1
HEADER_LEN = 24


def find_btf(image):
    """Return (offset, length) of the largest plausible vmlinux BTF blob."""
    best = None
    pos = image.find(BTF_MAGIC_V1)
    while pos >= 0:
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
            "<5I", image, pos + 4)
        size = HEADER_LEN + str_off + str_len
        if (hdr_len == HEADER_LEN and type_off == 0 and str_off == type_len
                and pos + size <= len(image)
                and (best is None or size > best[1])):
            best = (pos, size)
        pos = image.find(BTF_MAGIC_V1, pos + 1)
    return best


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract-btf.py IMAGE OUT")
    with open(sys.argv[1], "rb") as f:
        image = f.read()
    if image[:2] == b"\x1f\x8b":
        import gzip
        image = gzip.decompress(image)
    found = find_btf(image)
    if found is None:
        sys.exit("extract-btf: no BTF blob in %s (kernel built without "
                 "CONFIG_DEBUG_INFO_BTF?)" % sys.argv[1])
    with open(sys.argv[2], "wb") as f:
        f.write(image[found[0]:found[0] + found[1]])


if __name__ == "__main__":
    main()
