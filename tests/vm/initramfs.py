"""The testbed guest's initramfs: Debian's kernel and KVM modules from the
cache, busybox and the given static binaries (checked to be static ELF
files of the guest's arch), packed as "newc" cpio archives.
"""

import hashlib
import io
import lzma
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kernels  # noqa: E402
from bootlib import ARCHES, HERE, TERMINFO, TestbedError  # noqa: E402
from kernels import CACHE  # noqa: E402


class Cpio:
    """Writer of a "newc" cpio archive, the format the kernel unpacks.

    Owners are root and mtimes 0, so equal inputs give equal bytes.
    """

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1
        self.names = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        if name in self.names:
            raise TestbedError(f"two initramfs entries named /{name}")
        self.names.add(name)
        bname = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(bname), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.buf.write(hdr + bname)
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self):
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def dir(self, name):
        self._entry(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self._entry(name, 0o100000 | mode, data)

    def chardev(self, name, major, minor, mode=0o600):
        self._entry(name, 0o020000 | mode, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        self.buf.write(b"\0" * (-self.buf.tell() % 512))
        return self.buf.getvalue()


# ---------------------------------------------------------------- ELF

def elf_sections(data):
    """Map of section name -> bytes of a little-endian ELF64 file."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(i):
        off = shoff + i * shentsize
        name, _, _, _, offset, size = struct.unpack_from("<IIQQQQ", data,
                                                         off)
        return name, offset, size

    _, stroff, _ = header(shstrndx)
    out = {}
    for i in range(shnum):
        name, offset, size = header(i)
        end = data.index(b"\0", stroff + name)
        out[data[stroff + name:end].decode()] = data[offset:offset + size]
    return out


def check_guest_binary(path, arch):
    """Refuse ELF files the guest cannot run: another arch or dynamic."""
    with open(path, "rb") as f:
        head = f.read(64)
        if not head.startswith(b"\x7fELF"):
            return  # scripts and data files are fine
        if head[4] != 2 or head[5] != 1:
            raise TestbedError(f"{path}: not a little-endian 64-bit ELF file")
        (machine,) = struct.unpack_from("<H", head, 0x12)
        if machine != ARCHES[arch]["elf_machine"]:
            raise TestbedError(f"{path}: ELF machine {machine} is not an "
                               f"{arch} binary")
        (phoff,) = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
    for i in range(phnum):
        (ptype,) = struct.unpack_from("<I", phdrs, i * phentsize)
        if ptype == 3:  # PT_INTERP
            raise TestbedError(f"{path}: dynamically linked; the testbed "
                               "guest has no shared libraries (link it "
                               "statically, e.g. make STATIC=1)")


def module_depends(ko):
    for entry in elf_sections(ko).get(".modinfo", b"").split(b"\0"):
        if entry.startswith(b"depends="):
            return [d for d in entry[8:].decode().split(",") if d]
    return []


# ---------------------------------------------------------------- initramfs

def fetch_kernel(variant):
    """The variant's kernel, from the cache or Debian's registry (and its
    rebuilt modules): kernels.fetch()'s dict."""
    try:
        return kernels.fetch(variant)
    except kernels.KernelError as e:
        raise TestbedError(f"could not get the {variant['name']} testbed "
                           f"kernel: {e}")


def kvm_modules(arch, moddir, rebuilt):
    """[(path under the module tree, decompressed .ko, dependencies)] in
    load order, dependencies first; a module of rebuilt ({name: path})
    replaces the kernel's own."""
    paths, rel = {}, {}
    for top, _, files in os.walk(os.path.join(moddir, "kernel")):
        for fn in files:
            m = re.fullmatch(r"(.+)\.ko(\.xz)?", fn)
            if m:
                key = m.group(1).replace("-", "_")
                paths[key] = os.path.join(top, fn)
                rel[key] = os.path.join(os.path.relpath(top, moddir),
                                        m.group(1) + ".ko")
    for name, path in rebuilt.items():
        paths[name.replace("-", "_")] = path
    order, seen = [], set()

    def add(name, chain):
        key = name.replace("-", "_")
        if key in seen:
            return
        if key not in paths:
            raise TestbedError(f"kernel module {name} (needed by "
                               f"{' <- '.join(chain) or 'KVM'}) is not in "
                               f"{moddir}")
        path = paths[key]
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".xz"):
            data = lzma.decompress(data)  # busybox insmod cannot read .xz
        deps = module_depends(data)
        for dep in deps:
            add(dep, [name] + chain)
        seen.add(key)
        order.append((rel[key], data,
                      [rel[d.replace("-", "_")] for d in deps]))

    for name in ARCHES[arch]["modules"]:
        add(name, [])
    return order


def base_initramfs(arch, kernel):
    """The cached part of the initramfs: /init, busybox, KVM modules."""
    kver = kernel["kver"]
    with open(kernel["busybox"], "rb") as f:
        busybox = f.read()
    with open(os.path.join(HERE, "init.sh"), "rb") as f:
        init = f.read()
    modules = kvm_modules(arch, kernel["moddir"], kernel["modules"])
    terminfo = []
    for t in TERMINFO:
        for d in ("/lib/terminfo", "/usr/share/terminfo"):
            p = os.path.join(d, t)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    terminfo.append((t, f.read()))
                break

    h = hashlib.sha256(b"testbed-base-1\0" + arch.encode() + b"\0" +
                       kver.encode())
    for blob in [busybox, init] + [m[1] for m in modules] + \
            [d for _, d in terminfo]:
        h.update(hashlib.sha256(blob).digest())
    cdir = os.path.join(CACHE, "testbed")
    name = kernel["name"]
    # "@": no variant's name starts another's archive name (x86_64-6.12-
    # is the start of x86_64-6.12-timer-unfixed-).
    path = os.path.join(cdir, f"{name}@{kver}-{h.hexdigest()[:16]}.cpio")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        pass

    c = Cpio()
    for d in ["bin", "dev", "etc", "lib", "lib/modules",
              f"lib/modules/{kver}", "lib/terminfo", "out", "proc", "root",
              "sys", "tmp"]:
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.file("init", init, 0o755)
    c.file("bin/busybox", busybox, 0o755)
    for t, data in terminfo:
        if "lib/terminfo/" + t[0] not in c.names:
            c.dir("lib/terminfo/" + t[0])
        c.file("lib/terminfo/" + t, data)
    # Where the kernel keeps them, with a modules.dep, so that kvmwatch
    # finds and reads a vendor module's file as on any host.
    top = f"lib/modules/{kver}"
    for rel, data, _ in modules:
        parts = os.path.dirname(rel).split("/")
        for i in range(len(parts)):
            d = f"{top}/{'/'.join(parts[:i + 1])}"
            if d not in c.names:
                c.dir(d)
        c.file(f"{top}/{rel}", data)
    if modules:
        c.file(f"{top}/modules.dep", "".join(
            f"{p}: {' '.join(deps)}\n" for p, _, deps in modules).encode())
        c.file("lib/modules/order",
               "".join(f"{kver}/{p}\n" for p, _, _ in modules).encode())

    data = c.finish()
    store_archive(path, name + "@", data)
    return data


def store_archive(path, prefix, data):
    """Cache an archive at path, in place of the older ones whose names
    start with prefix in its directory; a concurrent boot may race us
    here, which costs it a rebuild at worst."""
    cdir = os.path.dirname(path)
    os.makedirs(cdir, exist_ok=True)
    for old in os.listdir(cdir):
        if old.startswith(prefix) and old.endswith(".cpio"):
            try:
                os.unlink(os.path.join(cdir, old))
            except FileNotFoundError:
                pass
    tmp = path + f".tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def overlay_initramfs(arch, files, script):
    """The per-boot part: the given files in /bin and the guest script."""
    c = Cpio()
    for path in files:
        check_guest_binary(path, arch)
        with open(path, "rb") as f:
            c.file("bin/" + os.path.basename(path), f.read(), 0o755)
    if script:
        with open(script, "rb") as f:
            c.file("script", f.read(), 0o755)
    return c.finish()
