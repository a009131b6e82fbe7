"""Debian's own programs in the testbed guest: perf (the co-existence
test, make bench), bpftrace and bpftool (make bench: a peer, and each BPF
program's cost by name), QEMU (a VM for kvmwatch to name from QEMU's own
command line), with the shared libraries they load.

The guest is busybox and static binaries. A tool here is its Debian
package and every package it depends on, fetched for the guest's arch by
tools/apt-fetch.sh --depends into $KVMWATCH_CACHE/<arch>-tools, then the
binary and the libraries its ELF file names (DT_NEEDED, transitively)
packed as one more cpio archive under /usr/lib/kvmwatch-tools, with the
dynamic loader at the path the binary asks for and a /bin wrapper
that points the loader at the libraries. The archive is cached: a second
boot fetches and packs nothing.
"""

import glob
import hashlib
import os
import struct
import subprocess

import kernels
from bootlib import TestbedError
from initramfs import Cpio, elf_sections, store_archive

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LIBDIR = "usr/lib/kvmwatch-tools"
TRIPLET = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}

# name -> (Debian package, the binary in it, as a glob).
TOOLS = {
    "perf": ("linux-perf", "usr/bin/perf"),
    "bpftrace": ("bpftrace", "usr/bin/bpftrace"),
    "bpftool": ("bpftool", "usr/sbin/bpftool"),
    "node_exporter": ("prometheus-node-exporter",
                      "usr/bin/prometheus-node-exporter"),
    "capsh": ("libcap2-bin", "sbin/capsh"),
    # The names group's real-QEMU VM (x86_64 only).
    "qemu-system-x86_64": ("qemu-system-x86",
                           "usr/bin/qemu-system-x86_64"),
}

DT_NEEDED = 1
PT_INTERP = 3


def parse(spec):
    """"perf,bpftrace" -> ["bpftrace", "perf"]; TestbedError if unknown."""
    names = sorted({n for n in spec.split(",") if n})
    unknown = [n for n in names if n not in TOOLS]
    if unknown or not names:
        raise TestbedError(f"--tools: {', '.join(unknown) or 'none given'}: "
                           f"the tools are {', '.join(sorted(TOOLS))}", 2)
    return names


def needed(data):
    """The sonames an ELF file asks the loader for."""
    secs = elf_sections(data)
    dyn, strtab = secs.get(".dynamic", b""), secs.get(".dynstr", b"")
    out = []
    for off in range(0, len(dyn) - 15, 16):
        tag, val = struct.unpack_from("<qQ", dyn, off)
        if tag == DT_NEEDED:
            out.append(strtab[val:strtab.index(b"\0", val)].decode())
    return out


def interpreter(data):
    """The PT_INTERP path of an ELF file (without its leading /)."""
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        ptype, _, offset, _, _, size = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if ptype == PT_INTERP:
            return data[offset:offset + size].rstrip(b"\0").decode()[1:]
    raise TestbedError("a tool binary without a program interpreter")


def resolve(root, rel):
    """Follow the symlinks of root/rel inside root (a .deb's absolute
    links point into the package's own tree, not the host's)."""
    for _ in range(40):
        path = os.path.join(root, rel)
        if not os.path.islink(path):
            return path if os.path.isfile(path) else None
        target = os.readlink(path)
        rel = os.path.normpath(target[1:] if target.startswith("/") else
                               os.path.join(os.path.dirname(rel), target))
    return None


def find_library(root, arch, soname):
    t = TRIPLET[arch]
    for d in (f"lib/{t}", f"usr/lib/{t}", "lib", "usr/lib"):
        path = resolve(root, f"{d}/{soname}")
        if path:
            return path
    return None


def fetch(arch, names):
    """Fetch and unpack the tools' packages and dependencies; the root."""
    dest = os.path.join(kernels.CACHE, f"{kernels.DEBARCH[arch]}-tools")
    cmd = [os.path.join(REPO, "tools", "apt-fetch.sh"), "--depends",
           kernels.DEBARCH[arch], dest] + [TOOLS[n][0] for n in names]
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    if res.returncode:
        raise TestbedError(f"fetching {', '.join(names)} for {arch} "
                           f"failed: {res.stderr.strip()}")
    return os.path.join(dest, "root")


def collect(root, arch, names):
    """{path in the guest: (bytes, mode)} for the tools and their
    libraries."""
    files = {}
    wanted = []
    for name in names:
        hits = sorted(glob.glob(os.path.join(root, TOOLS[name][1])))
        if not hits:
            raise TestbedError(f"{TOOLS[name][0]} for {arch} has no "
                               f"{TOOLS[name][1]}")
        with open(hits[-1], "rb") as f:
            data = f.read()
        files[f"{LIBDIR}/{name}"] = (data, 0o755)
        interp = interpreter(data)
        real = resolve(root, interp)
        if not real:
            raise TestbedError(f"{name}: its loader /{interp} is not in the "
                               "fetched packages")
        with open(real, "rb") as f:
            files[interp] = (f.read(), 0o755)
        files[f"bin/{name}"] = (
            f"#!/bin/sh\n# Debian's {name} with the libraries it was "
            f"fetched with (tests/vm/guesttools.py)\nLD_LIBRARY_PATH=/"
            f"{LIBDIR} exec /{LIBDIR}/{name} \"$@\"\n".encode(), 0o755)
        wanted += needed(data)
    seen = set()
    while wanted:
        soname = wanted.pop()
        if soname in seen:
            continue
        seen.add(soname)
        path = find_library(root, arch, soname)
        if not path:
            raise TestbedError(f"{soname}, needed by {', '.join(names)}, is "
                               f"in none of the fetched {arch} packages")
        with open(path, "rb") as f:
            data = f.read()
        files[f"{LIBDIR}/{soname}"] = (data, 0o755)
        wanted += needed(data)
    return files


def overlay(arch, spec):
    """The cpio archive bringing the tools of spec ("perf,bpftrace") into
    the guest, from the cache when it was packed before."""
    names = parse(spec)
    root = fetch(arch, names)
    stamps = sorted(n for n in os.listdir(root) if n.startswith(".unpacked-"))
    key = hashlib.sha256("\0".join([arch] + names + stamps).encode())
    with open(__file__, "rb") as f:
        key.update(f.read())  # the packing itself
    prefix = f"tools-{arch}-{'+'.join(names)}-"
    path = os.path.join(kernels.CACHE, "testbed",
                        f"{prefix}{key.hexdigest()[:16]}.cpio")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        pass
    files = collect(root, arch, names)
    c = Cpio()
    for name in sorted(files):
        parts = name.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in c.names:
                c.dir(d)  # one the base archive made too is no harm
        data, mode = files[name]
        c.file(name, data, mode)
    data = c.finish()
    store_archive(path, prefix, data)
    return data
