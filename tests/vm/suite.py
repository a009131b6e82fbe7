#!/usr/bin/env python3
"""The VM test suite, host half: boot the testbed once per kernel of the
matrix (tests/vm/kernels/*.conf) with kvmwatch and kvmload, run that
kernel's scenario groups of tests/vm/guest-suite.sh in it, then compare
kvmwatch's figures with kvmload's ground truth and each verdict with
what the kernel is known to have fixed. Prints TAP.

The checks of each detector are in tests/vm/detectors/<name>.py, those of
the CI gate in tests/vm/gate.py, as in src/. Called through
tests/vm/run.sh; artefacts stay in build/vmtest/<kernel>/.
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bootlib  # noqa: E402
import initramfs  # noqa: E402  (ELF checks shared with boot.sh)
import kernels  # noqa: E402
import testbed  # noqa: E402
from detectors.exits import ExitsChecks  # noqa: E402
from detectors.mmio import MmioChecks  # noqa: E402
from detectors.pmu import PmuChecks  # noqa: E402
from detectors.teardown import TeardownChecks  # noqa: E402
from detectors.timer import TimerChecks  # noqa: E402
from coexist import CoexistChecks  # noqa: E402
from gate import GateChecks  # noqa: E402
from proof import ProofChecks  # noqa: E402
from names import NameChecks  # noqa: E402
from reuse import PidReuseChecks  # noqa: E402
from vmlib import (ARCHES, BINDIR, BOOT_TIMEOUT, HERE, REPO,  # noqa: E402
                   STALL_MARKER, STALL_SECONDS, TAIL_LINES, VMTEST, Tap,
                   load_json, read_rc, read_text)


# The guest suite: helpers and detector scenarios, then the gate's, the
# co-existence with perf, and make soak's workload (a short run); one
# script, run in this order.
GUEST_PARTS = ("guest-suite.sh", "guest-names.sh", "guest-gate.sh",
               "guest-coexist.sh", os.path.join("..", "soak", "guest-soak.sh"))


class ArchRun(ExitsChecks, TimerChecks, MmioChecks, TeardownChecks,
              PmuChecks, GateChecks, ProofChecks, CoexistChecks,
              PidReuseChecks, NameChecks):
    """One kernel of the matrix: boot, then assertions over
    build/vmtest/<kernel>/."""

    def __init__(self, tap, variant):
        self.tap = tap
        self.kernel = variant
        self.arch = variant["arch"]
        self.out = os.path.join(VMTEST, variant["name"])
        self.console = os.path.join(self.out, "console.log")
        self.facts = {"kernel": variant["name"], "arch": self.arch,
                      "fixed": variant["fixed"]}
        # VM_GROUPS="names pmu": only those of the kernel's groups (a
        # quicker run while working on them; make test runs them all).
        only = os.environ.get("VM_GROUPS")
        if only:
            self.kernel = dict(variant, groups=[
                g for g in variant["groups"] if g in only.split()])

    def ok(self, good, desc, diag=()):
        return self.tap.result(good, f"{self.kernel['label']}: {desc}",
                               diag)

    def want(self, group):
        """Does this kernel run the scenario group?"""
        return group in self.kernel["groups"]

    def expect(self, what, default=None):
        """What the kernel's file says a check must find."""
        return self.kernel["expect"].get(what, default)

    def function_mode(self):
        """The mode the kernel gives function probe points (fentry, or
        kprobe where fentry programs cannot attach)."""
        return self.kernel["mode"].get("function", "fentry")

    def show_console_tail(self):
        self.tap.diag(f"last {TAIL_LINES} lines of "
                      f"{os.path.relpath(self.console, REPO)}:")
        self.tap.diag(testbed.tail(self.console, TAIL_LINES))
        # A process killed by a fault: the guest kernel logged where
        # (guest-suite.sh turns on debug.exception-trace).
        dmesg = os.path.join(self.out, "dmesg.txt")
        faults = [ln for ln in read_text(dmesg).splitlines()
                  if any(w in ln for w in ("unhandled", "segfault",
                                           "Oops", "BUG", "WARNING",
                                           "pc :", "lr :"))]
        if faults:
            self.tap.diag(f"faults in {os.path.relpath(dmesg, REPO)}:")
            self.tap.diag("\n".join(faults[-TAIL_LINES:]))

    def binaries(self):
        good = True
        bins = []
        # The qemu group's VM boots kvmload's build of its firmware.
        names = ["kvmwatch", "kvmload"] + (
            ["qemu-firmware.bin"] if self.want("qemu") else [])
        for name in names:
            path = os.path.join(BINDIR, self.arch, name)
            rel = os.path.relpath(path, REPO)
            firmware = name.endswith(".bin")  # a raw image, not ELF
            why = None
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                why = f"{rel} is missing"
            elif firmware:
                if os.path.getsize(path) != 0x10000:
                    why = f"{rel} is not a 64 KiB firmware image"
            else:
                try:
                    initramfs.check_guest_binary(path, self.arch)
                except bootlib.TestbedError as e:
                    why = str(e)
            make = "make ARCH=arm64" if self.arch == "arm64" else "make"
            what = "firmware" if firmware else f"static {self.arch} binary"
            good &= self.ok(why is None, f"{rel} is built as a {what}",
                            [] if why is None else
                            [why, f"build it with '{make} STATIC=1'"])
            bins.append(path)
        return bins if good else None

    def boot(self, bins):
        if os.path.isdir(self.out):
            shutil.rmtree(self.out)
        os.makedirs(os.path.dirname(self.out), exist_ok=True)
        # The guest suite, told which groups this kernel runs.
        script = os.path.join(VMTEST, f"{self.kernel['name']}-guest.sh")
        with open(script, "w") as f:
            f.write(f"SUITE_GROUPS='{' '.join(self.kernel['groups'])}'\n")
            # The gate proof's checks, when asked for (guest-gate.sh).
            checks = os.environ.get("KVMWATCH_PROOF_CHECKS", "")
            if checks.isdigit():
                f.write(f"SUITE_PROOF_CHECKS={checks}\n")
            for part in GUEST_PARTS:
                with open(os.path.join(HERE, part)) as p:
                    f.write(p.read())
            f.write('echo "suite: done (uptime $(uptime_s) s)"\n')
        cmd = [os.path.join(HERE, "boot.sh"), self.arch,
               "--kernel", self.kernel["name"], "--script", script,
               "--out", self.out, "--timeout", str(BOOT_TIMEOUT)]
        for b in bins:
            cmd += ["--file", b]
        tools = [t for group, t in (("coexist", "perf"),
                                    ("qemu", "qemu-system-x86_64"))
                 if self.want(group)]
        if tools:
            cmd += ["--tools", ",".join(tools)]
        if self.want("timer-stall") or self.want("gate-proof-timer"):
            cmd += ["--stall-on", STALL_MARKER,
                    "--stall-for", str(STALL_SECONDS)]
        t0 = time.monotonic()
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        took = time.monotonic() - t0
        with open(os.path.join(VMTEST, f"{self.kernel['name']}-boot.log"),
                  "w") as f:
            f.write(res.stdout)
        boot, _ = load_json(os.path.join(self.out, "boot.json"))
        boot = boot or {}
        self.facts["boot"] = {k: boot.get(k) for k in
                              ("kernel", "init_s", "guest_uptime_at_init_s",
                               "total_s")}
        self.facts["boot"]["wall_s"] = round(took, 1)
        good = bool(boot.get("finished")) and boot.get("dev_kvm") is True
        diag = [] if good else [
            f"boot.sh exit {res.returncode}, finished "
            f"{boot.get('finished')}, /dev/kvm {boot.get('dev_kvm')}",
            res.stdout.strip()]
        self.ok(good, f"testbed boots kernel {boot.get('kernel')} with "
                f"/dev/kvm and runs the guest suite (/init after "
                f"{boot.get('init_s')} s, whole boot {took:.1f} s)", diag)
        if not good and "last" not in res.stdout:
            self.show_console_tail()
        good &= self.ok(boot.get("script_status") == 0,
                        "guest suite script exits 0",
                        [] if boot.get("script_status") == 0 else
                        [f"script status {boot.get('script_status')}"])
        return bool(boot.get("finished"))

    def probe(self):
        rc = read_rc(os.path.join(self.out, "probe.rc"))
        doc, err = load_json(os.path.join(self.out, "probe.json"))
        good = rc == 0 and doc is not None and doc.get("type") == "probe"
        self.ok(good, "kvmwatch probe -o json exits 0 with a probe document",
                [] if good else [f"exit status {rc}", err or "",
                                 read_text(os.path.join(self.out,
                                                        "probe.err"))])
        if not good:
            return
        dets = doc.get("detectors", {})
        # Every detector that applies here loaded (probe tries each), but
        # those the kernel file says cannot, which say why.
        cannot = self.expect("unavailable", "").split()
        for name, det in sorted(dets.items()):
            status = det.get("status")
            failed = [f"{p['name']}: {p.get('why_not', {}).get('attach')}"
                      for p in det.get("points", [])
                      if p.get("why_not", {}).get("attach")]
            if name in cannot:
                self.ok(status == "unavailable" and failed and
                        all("program " in f for f in failed),
                        f"probe: {name} is {status}, naming the program "
                        f"that does not load and why: {failed[:1]}",
                        failed)
                continue
            self.ok(status in ("available", "degraded", "not-applicable")
                    and not failed, f"probe: {name} is {status}: its "
                    "programs load on this kernel", failed)
        self.facts["probe"] = {n: d.get("status") for n, d in dets.items()}
        refused = self.expect("fentry-refused")
        if refused:
            fentry = doc.get("fentry") or {}
            self.ok(fentry.get("status") == "refused" and
                    refused in (fentry.get("why_not") or ""),
                    f"probe: fentry refused on this kernel, saying "
                    f"{refused}: {fentry.get('why_not')}")
        # Every testbed kernel loads the map iterator; reading by bpf(2)
        # lookups instead makes classic kvm:* programs skip events.
        reads = doc.get("map_reads") or {}
        self.ok(reads.get("method") == "iterator",
                f"probe: maps are read through the BPF iterator, not "
                f"lookups: {reads}")
        if self.arch == "arm64":
            self.probe_arm64(doc)

    def probe_arm64(self, doc):
        """The stage-2 fix's functions are there when the kernel has the
        fix, and the vGIC KVM offers is reported."""
        points = {p["name"]: p for p in doc["detectors"]["teardown"]
                  .get("points", [])}
        fixed = "stage2" in self.kernel["fixed"]
        for name in ("stage2_destroy_range", "stage2_destroy_pgd"):
            p = points.get(name, {})
            self.ok(p.get("function_found") is fixed,
                    f"probe: {p.get('function')} is "
                    f"{'' if fixed else 'not '}in the kernel (the stage-2 "
                    f"fix {'is' if fixed else 'is not'} in it)",
                    [json.dumps(p)[:300]])
        vgic = doc.get("vgic") or {}
        ctlr = vgic.get("icc_ctlr_el1") or {}
        # QEMU's GICv3 (virt, gic-version=3, -cpu max): no GICv2
        # compatibility; its ich_vtr_read() (hw/intc/arm_gicv3_cpuif.c)
        # gives IDbits 1 (24-bit INTIDs), 5 virtual priority bits, A3V and
        # no SEIS, which KVM passes on to the guest's ICC_CTLR_EL1.
        good = (vgic.get("probed") and vgic.get("v3") is True and
                vgic.get("v2") is False and ctlr.get("priority_bits") == 5
                and ctlr.get("id_bits") == 24 and ctlr.get("a3v") is True
                and ctlr.get("seis") is False)
        self.ok(good, "probe: the vGIC KVM offers: GICv3, no GICv2, and "
                "ICH_VTR_EL2 as a guest sees it (5 priority bits, 24-bit "
                f"INTIDs, A3V, no SEIS: QEMU's ICH_VTR_EL2): {json.dumps(vgic)}")
        self.facts["vgic"] = vgic

    def scenario(self, name):
        """Common checks; returns (kvmload doc, kvmwatch doc) or Nones."""
        d = os.path.join(self.out, name)
        cmd = read_text(os.path.join(d, "cmd")).strip()
        label = f"{name} (kvmload {cmd})" if cmd else name
        if not os.path.isdir(d):
            self.ok(False, f"{name}: scenario ran",
                    ["the guest suite did not get to it"])
            self.show_console_tail()
            return None, None
        werr = read_text(os.path.join(d, "kvmwatch.err"))
        attached = any(ln.startswith("kvmwatch: attached")
                       for ln in werr.splitlines())
        self.ok(attached, f"{name}: kvmwatch top attaches",
                [] if attached else ["kvmwatch stderr:", werr])

        lrc = read_rc(os.path.join(d, "kvmload.rc"))
        truth, err = load_json(os.path.join(d, "kvmload.json"))
        good = lrc == 0 and truth is not None
        self.ok(good, f"{label}: exits 0 with its JSON ground truth",
                [] if good else [f"exit status {lrc}", err or "",
                                 "kvmload stderr:",
                                 read_text(os.path.join(d, "kvmload.err"))])
        if not good:
            self.show_console_tail()
            truth = None

        wrc = read_rc(os.path.join(d, "kvmwatch.rc"))
        watch, err = load_json(os.path.join(d, "kvmwatch.json"))
        good = wrc == 0 and watch is not None and "vms" in watch
        self.ok(good, f"{name}: kvmwatch exits 0 on SIGINT with its final "
                "JSON document",
                [] if good else [f"exit status {wrc}", err or "",
                                 "kvmwatch stderr:", werr])
        if not good:
            watch = None
        if truth is None or watch is None:
            return truth, None
        return truth, watch

    def run(self, reuse):
        t0 = time.monotonic()
        if reuse:
            boot, err = load_json(os.path.join(self.out, "boot.json"))
            booted = self.ok(bool(boot and boot.get("finished")),
                             "an earlier testbed run left its results",
                             [] if boot else [err])
        else:
            bins = self.binaries()
            if bins is None:
                self.ok(False, "VM suite not run: binaries missing")
                return
            booted = self.boot(bins)
        if booted:
            for group, checks in self.GROUPS:
                if self.want(group):
                    for check in checks:
                        check(self)
            left = [g for g, _ in self.GROUPS if not self.want(g)]
            if left:
                self.tap.diag(f"{self.kernel['label']}: groups not run on "
                              f"this kernel (its file): {' '.join(left)}")
        self.facts["took_s"] = round(time.monotonic() - t0, 1)
        self.tap.diag(f"{self.kernel['label']}: VM suite took "
                      f"{self.facts['took_s']} s; artefacts in "
                      f"{os.path.relpath(self.out, REPO)}/")

    # The scenario groups a kernel file may name, in the guest's order,
    # and the checks of each.
    GROUPS = [
        ("probe", [lambda r: r.probe()]),
        ("mmio", [lambda r: r.mmio(), lambda r: r.mmio_detector()]),
        ("mmio-check", [lambda r: r.mmio_check()]),
        ("timer", [lambda r: r.timer()]),
        ("timer-check", [lambda r: r.timer_check("timer-check-200"),
                         lambda r: r.timer_check("timer-check-10000")]),
        ("timer-stall", [lambda r: r.timer_stall()]),
        ("no-lapic", [lambda r: r.check_no_lapic()]),
        ("teardown", [lambda r: r.teardown()]),
        ("teardown-checks", [lambda r, n=n: r.teardown_check(n) for n in
                             ("teardown-big", "teardown-small")] +
         [lambda r: r.teardown_skip_entry()]),
        ("teardown-orders", [lambda r, n=n: r.teardown_check(n) for n in
                             ("teardown-exit", "teardown-kill")]),
        ("teardown-late", [lambda r: r.teardown_late()]),
        ("memslots", [lambda r: r.memslots()]),
        ("pmu", [lambda r: r.pmu()]),
        ("pmu-check", [lambda r: r.pmu_check()]),
        ("names", [lambda r: r.names()]),
        ("qemu", [lambda r: r.qemu()]),
        ("pid-reuse", [lambda r: r.pid_reuse("fentry"),
                       lambda r: r.pid_reuse("tracepoint")]),
        ("ci", [lambda r: r.ci_gate()]),
        ("gate-proof", [lambda r: r.gate_proof()]),
        ("gate-proof-timer", [lambda r: r.gate_proof()]),
        ("coexist", [lambda r: r.coexist()]),
        ("soak", [lambda r: r.soak()]),
    ]


def main(argv):
    reuse = "--no-boot" in argv
    wanted = [a for a in argv if a != "--no-boot"]
    every = kernels.names()
    chosen = [n for n in every if not wanted or n in wanted or
              n.split("-", 1)[0] in wanted]
    unknown = [w for w in wanted if w not in every and w not in ARCHES]
    if unknown or not chosen:
        print(f"usage: tests/vm/run.sh [--no-boot] [KERNEL|ARCH]...\n"
              f"kernels: {' '.join(every)}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    tap = Tap()
    os.makedirs(VMTEST, exist_ok=True)
    facts = []
    for name in chosen:
        try:
            variant = kernels.load(name)
        except kernels.KernelError as e:
            tap.result(False, f"{name}: kernel file", [str(e)])
            continue
        r = ArchRun(tap, variant)
        r.run(reuse)
        facts.append(r.facts)
    took = time.monotonic() - t0
    summary = os.path.join(VMTEST, "summary.json")
    if not reuse:
        with open(summary, "w") as f:
            json.dump({"took_s": round(took, 1), "kernels": facts}, f,
                      indent=1)
            f.write("\n")
    print(f"1..{tap.n}")
    tap.diag(f"VM suite: {tap.n - tap.failed} passed, {tap.failed} failed, "
             f"took {took:.0f} s; figures in "
             f"{os.path.relpath(summary, REPO)}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
