"""The testbed's kernel matrix: the variants in tests/vm/kernels/*.conf,
each fetched from Debian's registry (and, for a variant with a rebuilt
module, built from Debian's kernel source with a patch of the repo),
cached in $KVMWATCH_CACHE so that a second run fetches and builds nothing.

A variant file holds "key = value" lines (docs/testbed.md):

  arch      x86_64 or arm64
  suite     the Debian suites its packages come from ("bookworm": the
            machine's own sources; others through a private sources list)
  image     the packages holding the kernel and its modules, as globs (or
            "~REGEX"); the newest match of each is taken
  rebuild   "MODULE from SOURCE-PACKAGE with PATCH": that module rebuilt
  fixed     the fixes the kernel has (timer, stage2, svm-fast-mmio, ...)
  groups    the scenario groups the guest suite runs on it
  expect.X  the verdict or state a check must find on it
  mode.X    the attach mode a probe point must get on it
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
KERNELS = os.path.join(HERE, "kernels")
CACHE = os.environ.get("KVMWATCH_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
    "kvmwatch")
DEBARCH = {"x86_64": "amd64", "arm64": "arm64"}
# The suites of the machine's own sources (tools/apt-fetch.sh without
# --suite): Debian 12.
HOST_SUITE = "bookworm"
# Each arch's variant for boot.sh without --kernel, make demo, and the
# cross-built arm64 libraries' sysroot.
DEFAULT = {"x86_64": "x86_64-6.12", "arm64": "arm64-6.12"}


class KernelError(Exception):
    pass


def log(msg):
    print(f"kernels: {msg}", file=sys.stderr, flush=True)


def names():
    """Every variant, in the order the suite runs them."""
    return sorted(os.path.basename(p)[:-5]
                  for p in glob.glob(os.path.join(KERNELS, "*.conf")))


def load(name):
    path = os.path.join(KERNELS, name + ".conf")
    if not os.path.isfile(path):
        raise KernelError(f"no kernel variant {name} (tests/vm/kernels/: "
                          f"{', '.join(names())})")
    v = {"name": name, "expect": {}, "mode": {}, "fixed": [], "groups": [],
         "rebuild": None, "suite": HOST_SUITE}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, eq, value = (s.strip() for s in line.partition("="))
            if not eq:
                raise KernelError(f"{path}:{n}: not 'key = value'")
            if key.startswith(("expect.", "mode.")):
                kind, _, what = key.partition(".")
                v[kind][what] = value
            elif key in ("fixed", "groups", "image"):
                v[key] = value.split()
            elif key in ("arch", "suite", "rebuild"):
                v[key] = value or None
            else:
                raise KernelError(f"{path}:{n}: unknown key {key}")
    if v.get("arch") not in DEBARCH or not v.get("image"):
        raise KernelError(f"{path}: needs arch (x86_64 or arm64) and image")
    v["label"] = name.replace("-", " ", 1)
    return v


def root_of(v):
    """The directory the variant's packages unpack into."""
    d = DEBARCH[v["arch"]]
    if v["suite"] != HOST_SUITE:
        d += "-" + v["suite"].replace(" ", "+")
    return os.path.join(CACHE, d)


def apt_fetch(v, specs, dest=None):
    cmd = [os.path.join(REPO, "tools", "apt-fetch.sh")]
    if v["suite"] != HOST_SUITE:
        cmd += ["--suite", v["suite"]]
    cmd += [DEBARCH[v["arch"]], dest or root_of(v)] + specs
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise KernelError(f"{v['name']}: fetching {' '.join(specs)} "
                          "failed (tools/apt-fetch.sh said why above)")
    return res.stdout.split()


def kernel_release(pkg):
    """linux-image-6.12.118+deb12-amd64-unsigned -> 6.12.118+deb12-amd64"""
    m = re.match(r"linux-(?:image|binary|modules)-(.+?)(?:-unsigned)?$", pkg)
    return m.group(1)


def find_image(root, kver):
    for p in (f"boot/vmlinuz-{kver}", f"usr/lib/modules/{kver}/vmlinuz",
              f"lib/modules/{kver}/vmlinuz"):
        if os.path.isfile(os.path.join(root, p)):
            return os.path.join(root, p)
    return None


def find_moddir(root, kver):
    for p in (f"lib/modules/{kver}", f"usr/lib/modules/{kver}"):
        if os.path.isdir(os.path.join(root, p, "kernel")):
            return os.path.join(root, p)
    return None


def fetch(v, update=False):
    """Fetch (or find in the cache) the variant's kernel. Returns a dict:
    kver, image, moddir, busybox, and modules {name: path} that replace
    the kernel's own."""
    root = root_of(v)
    record = os.path.join(root, f"kernel-{v['name']}")
    kver = None
    if not update and os.path.isfile(record):
        kver = open(record).read().strip()
        root_dir = os.path.join(root, "root")
        if not (find_image(root_dir, kver) and find_moddir(root_dir, kver)):
            kver = None
    if kver is None:
        # A glob, or "~" and an extended regular expression.
        pkgs = apt_fetch(v, [f"pkg~{g[1:]}" if g.startswith("~") else
                             f"pkg={g}" for g in v["image"]])
        kver = kernel_release(pkgs[0])
        os.makedirs(root, exist_ok=True)
        with open(record, "w") as f:
            f.write(kver + "\n")
    root_dir = os.path.join(root, "root")
    image, moddir = find_image(root_dir, kver), find_moddir(root_dir, kver)
    if not image or not moddir:
        raise KernelError(f"{v['name']}: {' '.join(v['image'])} did not "
                          f"unpack a vmlinuz and modules of {kver} under "
                          f"{root_dir}")
    busybox = busybox_of(v["arch"])
    modules = rebuild(v, kver) if v["rebuild"] else {}
    return {"name": v["name"], "kver": kver, "image": image,
            "moddir": moddir, "busybox": busybox, "modules": modules}


def busybox_of(arch):
    """busybox-static of Debian 12 for arch, from the default variant's
    root."""
    base = load(DEFAULT[arch])
    path = os.path.join(root_of(base), "root", "bin", "busybox")
    if not os.access(path, os.X_OK):
        apt_fetch(base, ["busybox-static"])
    if not os.access(path, os.X_OK):
        raise KernelError(f"busybox-static did not unpack bin/busybox "
                          f"under {root_of(base)}/root")
    return path


# ---------------------------------------------------------------- rebuild

def rebuild(v, kver):
    """Rebuild one module from Debian's kernel source with a patch, against
    the headers of the exact kernel; cached by a hash of the kernel, the
    source version and the patch."""
    m = re.fullmatch(r"(\S+) from (\S+) with (\S+)", v["rebuild"] or "")
    if not m:
        raise KernelError(f"{v['name']}: rebuild is 'MODULE from "
                          f"SOURCE-PACKAGE with PATCH', not "
                          f"'{v['rebuild']}'")
    module, source, patch = m.groups()
    patch = os.path.join(KERNELS, patch)
    with open(patch, "rb") as f:
        patch_data = f.read()
    # The kernel's packages and its source share the Debian version.
    version = package_version(v, kver)
    release = kver.rsplit("-", 1)[0]	# 6.12.118+deb12
    h = hashlib.sha256()
    for part in (kver, source, version, module):
        h.update(part.encode() + b"\0")
    h.update(patch_data)
    out_dir = os.path.join(CACHE, "modules", h.hexdigest()[:16])
    ko = os.path.join(out_dir, module + ".ko")
    if os.path.isfile(ko):
        return {module: ko}

    t0 = time.monotonic()
    log(f"{v['name']}: building {module}.ko from {source} {version} with "
        f"{os.path.relpath(patch, REPO)} (a few minutes; cached after)")
    build_root = os.path.join(CACHE, "kbuild", kver)
    hdr = f"linux-headers-{kver}"
    common = f"linux-headers-{release}-common"
    apt_fetch(v, [hdr, common, f"linux-kbuild-{release}",
                  f"{source}@{version}"], build_root)
    root = os.path.join(build_root, "root")
    tarball = os.path.join(root, "usr", "src", source + ".tar.xz")
    if not os.path.isdir(os.path.join(root, "usr", "src", hdr)) or \
            not os.path.isfile(tarball):
        raise KernelError(f"{v['name']}: {hdr} or {source} did not unpack "
                          f"under {root}")
    arch_dir = "x86" if v["arch"] == "x86_64" else "arm64"
    wanted = [f"arch/{arch_dir}/kvm", "virt/kvm"]
    with tempfile.TemporaryDirectory(prefix="kvmtb-kbuild-") as tmp:
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        run(["tar", "-xJf", tarball, "-C", src, "--strip-components=1"] +
            [f"{source}/{w}" for w in wanted])
        run(["patch", "-p1", "-i", patch], cwd=src)
        # kbuild reads the module's Makefile fragments and private headers
        # in the kernel tree (srctree: the common headers) and builds in
        # M=: copies of both headers trees get the patched sources.
        trees = {}
        for name in (hdr, common):
            trees[name] = os.path.join(tmp, name)
            copy_tree(os.path.join(root, "usr", "src", name), trees[name],
                      root)
            for w in wanted:
                shutil.copytree(os.path.join(src, w),
                                os.path.join(trees[name], w),
                                dirs_exist_ok=True)
        mk = os.path.join(trees[hdr], "Makefile")
        with open(mk) as f:
            text = re.sub(r"include \S*/" + re.escape(common) + "/",
                          f"include {trees[common]}/", f.read())
        with open(mk, "w") as f:
            f.write(text)
        mdir = os.path.join(trees[hdr], "arch", arch_dir, "kvm")
        # Only the module asked for: the vendor modules stay the kernel's.
        off = ["CONFIG_KVM_AMD=n", "CONFIG_KVM_INTEL=n"] if \
            module == "kvm" else []
        run(["make", "-C", trees[hdr], f"M={mdir}",
             f"-j{os.cpu_count() or 1}"] + off + ["modules"])
        os.makedirs(out_dir, exist_ok=True)
        # Its debug info is 20 MB of no use to the guest; .BTF stays.
        run(["strip", "--strip-debug", "-o", ko + ".tmp",
             os.path.join(mdir, module + ".ko")])
        os.rename(ko + ".tmp", ko)
    log(f"{v['name']}: {module}.ko built in {time.monotonic() - t0:.0f} s")
    return {module: ko}


def package_version(v, kver):
    """The Debian version of the kernel's own package (from its .deb)."""
    debs = glob.glob(os.path.join(root_of(v), "debs",
                                  f"linux-*-{kver}*_*.deb"))
    for deb in debs:
        parts = os.path.basename(deb).split("_")
        if len(parts) == 3:
            return parts[1].replace("%3a", ":")
    raise KernelError(f"{v['name']}: no .deb of kernel {kver} in "
                      f"{root_of(v)}/debs to take its version from")


def copy_tree(src, dst, root):
    """Copy src to dst; a symlink to / or relative to src points into
    the unpacked root instead."""
    shutil.copytree(src, dst, symlinks=True)
    for top, dirs, files in os.walk(dst):
        for n in dirs + files:
            p = os.path.join(top, n)
            if not os.path.islink(p):
                continue
            target = os.readlink(p)
            orig = os.path.join(src, os.path.relpath(top, dst))
            if target.startswith("/"):
                new = root + target
            else:
                new = os.path.normpath(os.path.join(orig, target))
            os.unlink(p)
            os.symlink(new, p)


def run(cmd, cwd=None):
    res = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        tail = "\n".join(res.stdout.splitlines()[-30:])
        raise KernelError(f"{' '.join(cmd[:4])}... failed "
                          f"(exit {res.returncode}):\n{tail}")
    return res.stdout


def main(argv):
    """kernels.py list | fetch [--update] NAME...: what fetch.sh runs."""
    if argv[:1] == ["list"]:
        print("\n".join(names()))
        return 0
    if argv[:1] != ["fetch"] or len(argv) < 2:
        print("usage: tests/vm/fetch.sh [--update] VARIANT|ARCH...",
              file=sys.stderr)
        return 2
    update = "--update" in argv
    try:
        for name in [a for a in argv[1:] if a != "--update"]:
            got = fetch(load(DEFAULT.get(name, name)), update)
            print(got["kver"])
    except KernelError as e:
        log(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.exit(main(sys.argv[1:]))
