"""What every part of the VM suite shares: paths, TAP output, reading the
guest's artefacts.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(REPO, "build")
VMTEST = os.path.join(BUILD, "vmtest")
# Where <arch>/kvmwatch and <arch>/kvmload are taken from.
BINDIR = os.environ.get("KVMWATCH_VMTEST_BINDIR") or BUILD
ARCHES = ["x86_64", "arm64"]
BOOT_TIMEOUT = 1200  # seconds per arch; a normal run takes 150-400 s (the CI
# gate adds 60-200 s); with other TCG guests on the cores (load 4-5) the
# x86_64 suite took 400 s and the arm64 one ran past 860 s
STALL_MARKER = "KVMLOAD-TIMER-START"
STALL_SECONDS = 3
TAIL_LINES = 40


def guest_run_cmd(kernel, script, out, timeout, tools=None):
    """boot.sh's command line for one guest script on kernel (a matrix
    name) with build/<arch>/kvmwatch and kvmload, as make bench and make
    soak run theirs."""
    import kernels  # noqa: E402  (vmlib is imported before the path is set)
    arch = kernels.load(kernel)["arch"]
    bindir = os.path.join(BUILD, arch)
    cmd = [os.path.join(HERE, "boot.sh"), arch, "--kernel", kernel,
           "--script", script, "--out", out, "--timeout", str(timeout)]
    if tools:
        cmd += ["--tools", tools]
    return cmd + ["--file", os.path.join(bindir, "kvmwatch"),
                  "--file", os.path.join(bindir, "kvmload")]


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, good, desc, diag=()):
        self.n += 1
        if not good:
            self.failed += 1
        print(f"{'ok' if good else 'not ok'} {self.n} - {desc}")
        for line in diag:
            self.diag(line)
        sys.stdout.flush()
        return good

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print(f"# {line}")


def load_json(path):
    """(document, None) or (None, why not)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        return None, f"{os.path.relpath(path, REPO)}: {e.strerror}"
    try:
        return json.loads(text), None
    except ValueError as e:
        return None, (f"{os.path.relpath(path, REPO)}: not JSON ({e}); "
                      f"starts: {text[:200]!r}")


def read_text(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return default


def median_slot(hist):
    """The log2 slot holding the median sample of kvmwatch's histogram
    (a list of {ge_ns, lt_ns, count}): (slot index, "[ge, lt) ns"), or
    None for an empty or missing one."""
    slots = [h for h in hist or [] if h.get("count")]
    total = sum(h["count"] for h in slots)
    seen = 0
    for h in slots:
        seen += h["count"]
        if 2 * seen >= total:
            return (h["lt_ns"].bit_length() - 1,
                    f"[{h['ge_ns']}, {h['lt_ns']})")
    return None


def read_rc(path):
    try:
        return int(read_text(path).strip())
    except ValueError:
        return None


def userspace_exits(d, prefix, parts):
    """kvmload's exits to the VMM per reason, summed over its JSON files
    d/PREFIX-PART.json (one workload's parts); None if one is missing."""
    total = {}
    for part in parts:
        doc, _ = load_json(os.path.join(d, f"{prefix}-{part}.json"))
        if doc is None:
            return None
        for k, v in doc.get("totals", {}).get("userspace_exits",
                                              {}).items():
            total[k] = total.get(k, 0) + v
    return total
