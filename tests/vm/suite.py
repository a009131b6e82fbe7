#!/usr/bin/env python3
"""The VM test suite, host half: boot the testbed once per arch with
kvmwatch and kvmload, run tests/vm/guest-suite.sh in it, then compare
kvmwatch's figures with kvmload's ground truth. Prints TAP.

Called through tests/vm/run.sh; artefacts stay in build/vmtest/<arch>/.
"""

import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(REPO, "build")
VMTEST = os.path.join(BUILD, "vmtest")
# Where <arch>/kvmwatch and <arch>/kvmload are taken from.
BINDIR = os.environ.get("KVMWATCH_VMTEST_BINDIR") or BUILD

sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import testbed  # noqa: E402  (ELF checks shared with boot.sh)

ARCHES = ["x86_64", "arm64"]
BOOT_TIMEOUT = 300  # seconds per arch; a normal run takes 40-150 s
STALL_MARKER = "KVMLOAD-TIMER-START"
STALL_SECONDS = 3
# Guest-counted timer interrupts against whole periods of the host-measured
# window. Above: the host sees the window's ends a little late (arm64: up
# to 0.2% more interrupts than host elapsed/P), hence 1% and one period.
# Below: KVM coalesces a periodic LAPIC timer that expires again before the
# last interrupt was injected. Under nested TCG on x86_64 that loses 1% on
# an idle host but 25-45% with another TCG guest on the same two cores
# (docs/testbed.md), so the bound only catches a timer that does not tick
# or runs 4 times too slow; the ratios are printed and kept in summary.json.
TIMER_LOW = 0.25
TIMER_HIGH = 1.01
# kvmwatch's apic_timer_fn callbacks per vCPU against the ground truth.
# Nearly every interrupt the guest counts comes from one callback, so
# callbacks >= interrupts, less a few: KVM also expires a timer without the
# callback when it restarts one whose target is already past
# (start_sw_period); after a 3 s stall 2 of 2006 interrupts came that way,
# with fentry and tracepoint modes agreeing on the callbacks. Every callback is one period's tick (at most elapsed/P of
# them) or the one immediate re-fire the fixed kernel makes after a late
# expiry (kvmwatch's late_rearms); kvmwatch also watches a little beyond
# kvmload's counting window, hence 2% and 5 callbacks of slack above.
TIMER_CB_SLACK = 1.02
TIMER_CB_DIRECT = 3  # interrupts allowed without a callback
TIMER_CB_EXTRA = 5
# fentry and tracepoint mode watching the same run: the same callbacks
# (both windows hold the whole run) but for the runs the kernel skipped
# (check's missed_runs.timer: a tracepoint program is not run while another
# BPF program runs on that CPU), the same longest time from an expiry to
# its callback's return within 1 ms (each stamps with its own probes; the
# maximum lateness alone differs when the QEMU pause lands between two
# instances' entry probes).
MODES_LATENESS_NS = 1000000
TAIL_LINES = 40
# kvmload and kvmwatch name a KVM_RUN that failed with EINTR differently
# (docs/kvmload.md, docs/kvmwatch-json.md): kvmwatch's name -> kvmload's.


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


def read_rc(path):
    try:
        return int(read_text(path).strip())
    except ValueError:
        return None


class ArchRun:
    """One arch: boot, then assertions over build/vmtest/<arch>/."""

    def __init__(self, tap, arch):
        self.tap = tap
        self.arch = arch
        self.out = os.path.join(VMTEST, arch)
        self.console = os.path.join(self.out, "console.log")
        self.facts = {"arch": arch}

    def ok(self, good, desc, diag=()):
        return self.tap.result(good, f"{self.arch}: {desc}", diag)

    def show_console_tail(self):
        self.tap.diag(f"last {TAIL_LINES} lines of "
                      f"{os.path.relpath(self.console, REPO)}:")
        self.tap.diag(testbed.tail(self.console, TAIL_LINES))

    # ------------------------------------------------------------ boot

    def binaries(self):
        good = True
        bins = []
        for name in ("kvmwatch", "kvmload"):
            path = os.path.join(BINDIR, self.arch, name)
            rel = os.path.relpath(path, REPO)
            why = None
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                why = f"{rel} is missing"
            else:
                try:
                    testbed.check_guest_binary(path, self.arch)
                except testbed.TestbedError as e:
                    why = str(e)
            make = "make ARCH=arm64" if self.arch == "arm64" else "make"
            good &= self.ok(why is None, f"{rel} is built as a static "
                            f"{self.arch} binary",
                            [] if why is None else
                            [why, f"build it with '{make} STATIC=1'"])
            bins.append(path)
        return bins if good else None

    def boot(self, bins):
        if os.path.isdir(self.out):
            shutil.rmtree(self.out)
        os.makedirs(os.path.dirname(self.out), exist_ok=True)
        cmd = [os.path.join(HERE, "boot.sh"), self.arch,
               "--script", os.path.join(HERE, "guest-suite.sh"),
               "--out", self.out, "--timeout", str(BOOT_TIMEOUT)]
        for b in bins:
            cmd += ["--file", b]
        if self.arch == "x86_64":
            cmd += ["--stall-on", STALL_MARKER,
                    "--stall-for", str(STALL_SECONDS)]
        t0 = time.monotonic()
        res = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        took = time.monotonic() - t0
        with open(os.path.join(VMTEST, f"{self.arch}-boot.log"), "w") as f:
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

    # ------------------------------------------------------------ probe

    def probe(self):
        rc = read_rc(os.path.join(self.out, "probe.rc"))
        doc, err = load_json(os.path.join(self.out, "probe.json"))
        good = rc == 0 and doc is not None and doc.get("type") == "probe"
        self.ok(good, "kvmwatch probe -o json exits 0 with a probe document",
                [] if good else [f"exit status {rc}", err or "",
                                 read_text(os.path.join(self.out,
                                                        "probe.err"))])

    # ------------------------------------------------------------ scenarios

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

    def match_exits(self, name, truth, watch):
        """kvmwatch sees every VM; per vCPU, userspace exits per reason
        equal kvmload's count of KVM_RUN returns. Returns {tid: vcpu}."""
        wvms = {vm.get("pid"): vm for vm in watch.get("vms", [])}
        points = watch.get("detectors", {}).get("exits", {}).get("points", [])
        # x86's kvm_exit carries the index; arm64 needs the vcpu_run point.
        index_known = all(p.get("mode") not in (None, "none")
                          for p in points
                          if p.get("name") == "vcpu_run" and p.get("applicable"))
        found = {}
        for vm in truth.get("vms", []):
            pid = vm.get("pid")
            wvm = wvms.get(pid)
            self.ok(wvm is not None,
                    f"{name}: kvmwatch sees VM process {pid}",
                    [] if wvm else ["kvmwatch saw pids: " +
                                    str(sorted(wvms, key=str))])
            wvcpus = {v.get("tid"): v for v in (wvm or {}).get("vcpus", [])}
            for vcpu in vm.get("vcpus", []):
                tid = vcpu.get("tid")
                want = {k: v for k, v in
                        vcpu.get("userspace_exits", {}).items() if v}
                wv = wvcpus.get(tid)
                got = None
                if wv is not None:
                    found[tid] = wv
                    got = {}
                    for r in wv.get("userspace_reasons", []):
                        if r.get("count"):
                            rname = r.get("name")
                            got[rname] = got.get(rname, 0) + r["count"]
                good = got == want
                self.ok(good, f"{name}: vm {pid} vcpu "
                        f"{vcpu.get('vcpu_id')} (tid {tid}): userspace "
                        f"exits per reason match kvmload {want}",
                        [] if good else [f"kvmload:  {want}",
                                         f"kvmwatch: " +
                                         ("no such vCPU thread" if wv is None
                                          else str(got))])
                if wv is not None:
                    # -1 (unknown) is honest only where kvmwatch said the
                    # point that learns the index is not watched.
                    wid = wv.get("vcpu_id")
                    allowed = {vcpu.get("vcpu_id")}
                    if not index_known:
                        allowed.add(-1)
                    good = wid in allowed
                    self.ok(good, f"{name}: vm {pid} tid {tid}: kvmwatch "
                            f"gives vcpu_id {sorted(allowed)}",
                            [] if good else [f"kvmwatch vcpu_id {wid}"])
        return found

    def mmio(self):
        truth, watch = self.scenario("mmio")
        if truth is None:
            return
        n = truth.get("params", {}).get("writes")
        rates = []
        for vm in truth["vms"]:
            for v in vm["vcpus"]:
                who = f"vm {vm['pid']} vcpu {v['vcpu_id']}"
                keys = ["fast_mmio_writes", "fast_mmio_eventfd",
                        "datamatch_writes", "datamatch_eventfd",
                        "user_mmio_writes", "user_mmio_exits"]
                got = {k: v.get(k) for k in keys}
                good = all(x == n for x in got.values())
                self.ok(good, f"mmio: {who}: ground truth is "
                        f"self-consistent (each kind {n} stores, eventfds "
                        f"read back {n})", [] if good else [str(got)])
                for kind in ("fast_mmio", "datamatch", "user_mmio"):
                    ns = v.get(kind + "_ns")
                    if ns:
                        rates.append(n / ns * 1e9)
        if rates:
            self.facts["mmio_writes_per_s_per_vcpu"] = round(
                sum(rates) / len(rates))
        if watch is None:
            return
        found = self.match_exits("mmio", truth, watch)
        excess = []
        for vm in truth["vms"]:
            for v in vm["vcpus"]:
                wv = found.get(v["tid"])
                stores = v.get("fast_mmio_writes", 0) + v.get(
                    "datamatch_writes", 0)
                exits = wv.get("exits") if wv else None
                good = exits is not None and exits >= stores
                extra = []
                if exits is not None:
                    excess.append(exits - stores)
                    extra = [f"in-kernel exits {exits}, ioeventfd stores "
                             f"{stores}: excess {exits - stores} (the "
                             f"{v.get('user_mmio_writes')} user-space MMIO "
                             "stores exit too)",
                             "by reason: " + ", ".join(
                                 f"{r.get('name')} {r.get('count')}"
                                 for r in wv.get("reasons", []))]
                self.ok(good, f"mmio: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                        f"kvmwatch counts at least the {stores} ioeventfd "
                        "stores as in-kernel exits", extra)
        if excess:
            self.facts["mmio_exit_excess_over_ioeventfd_stores"] = excess

    def timer(self, name="timer", stalled=False):
        truth, watch = self.scenario(name)
        if truth is None:
            return
        figures = []
        for vm in truth["vms"]:
            period = vm.get("period_us_effective")
            for v in vm["vcpus"]:
                ns = v.get("host_elapsed_ns")
                got = v.get("interrupts")
                if not period or ns is None or got is None:
                    self.ok(False, f"{name}: vm {vm['pid']} vcpu "
                            f"{v.get('vcpu_id')}: ground truth has "
                            "period_us_effective, host_elapsed_ns and "
                            "interrupts", [json.dumps(v)])
                    continue
                expected = ns / (period * 1000.0)
                figures.append({"vm": vm["pid"], "vcpu": v["vcpu_id"],
                                "interrupts": got,
                                "expected": round(expected, 1),
                                "ratio": round(got / expected, 3)})
                if stalled:
                    continue  # recorded for the timer detector
                good = (TIMER_LOW * expected <= got <=
                        TIMER_HIGH * expected + 1)
                self.ok(good, f"{name}: vm {vm['pid']} vcpu "
                        f"{v['vcpu_id']}: {got} interrupts within "
                        f"[{TIMER_LOW:.0%}, {TIMER_HIGH:.0%} + 1] of "
                        f"elapsed/P = "
                        f"{expected:.1f} ({ns / 1e9:.3f} s / {period} us)",
                        [f"ratio {got / expected:.3f}"])
        self.facts[name] = figures
        if watch is not None:
            self.match_exits(name, truth, watch)
        if watch is not None and self.arch == "x86_64":
            self.timer_rates(f"{name}: top", truth, watch.get("timers"))
            if stalled:
                self.stall_figures(f"{name}: top", truth,
                                   watch.get("timers"))

    def timer_by_tid(self, label, truth, timers, report=True):
        """{tid: (vm, kvmload vcpu, kvmwatch timer or None)}"""
        got = {(t.get("pid"), t.get("tid")): t for t in timers or []}
        out = {}
        for vm in truth.get("vms", []):
            for v in vm.get("vcpus", []):
                out[v["tid"]] = (vm, v, got.get((vm["pid"], v["tid"])))
        good = timers is not None and all(t for _, _, t in out.values())
        if report:
            self.ok(good, f"{label}: a LAPIC timer figure for every kvmload "
                    "vCPU (matched by pid and tid)",
                    [] if good else ["kvmwatch timers: " + json.dumps(
                        [(t.get("pid"), t.get("tid")) for t in timers or []])])
        return out

    def timer_rates(self, label, truth, timers):
        """interrupts - a few <= callbacks <= (elapsed/P + late re-arms) + slack."""
        for tid, (vm, v, t) in self.timer_by_tid(label, truth,
                                                  timers).items():
            period = vm.get("period_us_effective")
            ns = v.get("host_elapsed_ns")
            if t is None or not period or ns is None:
                continue
            expected = ns / (period * 1000.0)
            cb, irqs = t.get("callbacks", 0), v.get("interrupts", 0)
            high = (expected + t.get("late_rearms", 0)) * TIMER_CB_SLACK + \
                TIMER_CB_EXTRA
            low = irqs - TIMER_CB_DIRECT
            good = low <= cb <= high
            self.ok(good, f"{label}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"{cb} callbacks within [{low} = {irqs} guest "
                    f"interrupts - {TIMER_CB_DIRECT}, "
                    f"{high:.0f} = (elapsed/P {expected:.0f} + "
                    f"{t.get('late_rearms')} late re-arms) x "
                    f"{TIMER_CB_SLACK} + {TIMER_CB_EXTRA}]",
                    [f"period {t.get('period_ns')} ns, lateness avg "
                     f"{t.get('lateness_avg_ns')} ns, max "
                     f"{t.get('max_lateness_ns')} ns, chains "
                     f"{t.get('chains')}"])
            self.facts.setdefault("timer_detector", []).append({
                "where": label, "period_us": period, "callbacks": cb,
                "interrupts": irqs, "elapsed_over_p": round(expected, 1),
                "late_rearms": t.get("late_rearms"),
                "lateness_avg_ns": t.get("lateness_avg_ns"),
                "max_lateness_ns": t.get("max_lateness_ns"),
                "longest_chain": t.get("longest_chain")})

    def stall_figures(self, label, truth, timers):
        """The fixed kernel: the stall's late expiry shows, no catch-up."""
        stall, _ = load_json(os.path.join(self.out, "stall.json"))
        paused = (stall or {}).get("stopped_for_s", STALL_SECONDS)
        for tid, (vm, v, t) in self.timer_by_tid(label, truth, timers,
                                                  False).items():
            if t is None:
                continue
            # The pause froze the timer pending (then its expiry is late)
            # or in its callback (then that callback lasts): the time
            # from an expiry to its callback's return covers both.
            late = t.get("max_response_ns", 0)
            good = (paused - 0.5) * 1e9 <= late <= (paused + 2) * 1e9
            self.ok(good, f"{label}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"the stall shows: a callback returned "
                    f"{late / 1e6:.1f} ms after its expiry (QEMU paused "
                    f"{paused} s; max lateness "
                    f"{t.get('max_lateness_ns', 0) / 1e6:.1f} ms, longest "
                    f"callback {t.get('max_callback_ns', 0) / 1e6:.1f} ms)",
                    [json.dumps(t)[:600]])
            chain = t.get("longest_chain")
            good = chain is not None and chain <= 2
            self.ok(good, f"{label}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"catch-up chain {chain} <= 2 (the kernel has the fix); "
                    f"{t.get('late_rearms')} late re-arms, "
                    f"{t.get('catchup_rearms')} catch-up re-arms",
                    [] if good else [json.dumps(t)[:600]])

    def check_doc(self, d, mode):
        """check --lockup's document in mode: exit 0, PASS, in that mode."""
        rc = read_rc(os.path.join(d, f"check-{mode}.rc"))
        doc, err = load_json(os.path.join(d, f"check-{mode}.json"))
        name = os.path.basename(d)
        rules = {r.get("name"): r for r in (doc or {}).get("rules", [])}
        good = rc == 0 and doc is not None and doc.get("verdict") == "PASS"
        self.ok(good, f"{name}: check --lockup ({mode}) exits 0 with "
                "verdict PASS", [f"exit {rc}", err or "",
                                 json.dumps(list(rules.values()))[:800],
                                 read_text(os.path.join(
                                     d, f"check-{mode}.err"))[-800:]])
        points = {p.get("name"): p for p in
                  (doc or {}).get("detectors", {}).get("timer", {})
                  .get("points", [])}
        got = points.get("apic_timer_fn", {}).get("mode")
        self.ok(got == mode, f"{name}: apic_timer_fn watched in {mode} mode",
                [f"mode {got}"])
        junit = read_text(os.path.join(d, f"check-{mode}.xml"))
        good = f'tests="{len(rules)}" failures="0"' in junit
        self.ok(good, f"{name}: check --junit ({mode}) lists "
                f"{len(rules)} rules, none failed", [junit[:400]])
        return doc

    def compare_modes(self, name, truth, fentry, tracepoint):
        f = self.timer_by_tid(name, truth, fentry.get("timers"), False)
        t = self.timer_by_tid(name, truth, tracepoint.get("timers"), False)
        missed = ((fentry.get("missed_runs") or {}).get("timer") or 0) + \
            ((tracepoint.get("missed_runs") or {}).get("timer") or 0)
        for tid, (vm, v, a) in f.items():
            b = t[tid][2]
            if a is None or b is None:
                continue
            good = (abs(a["callbacks"] - b["callbacks"]) <= missed and
                    a["longest_chain"] == b["longest_chain"] and
                    abs(a["max_response_ns"] - b["max_response_ns"]) <=
                    MODES_LATENESS_NS)
            self.ok(good, f"{name}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"fentry and tracepoint agree: callbacks {a['callbacks']}"
                    f"/{b['callbacks']} (runs the kernel skipped: {missed}), "
                    "longest chain "
                    f"{a['longest_chain']}/{b['longest_chain']}, longest "
                    f"expiry-to-return {a['max_response_ns']}/"
                    f"{b['max_response_ns']} ns (<= 1 ms apart)",
                    [f"max lateness {a['max_lateness_ns']}/"
                     f"{b['max_lateness_ns']} ns, "
                     f"late re-arms {a['late_rearms']}/{b['late_rearms']},"
                     f" lateness avg {a['lateness_avg_ns']}/"
                     f"{b['lateness_avg_ns']} ns, callback avg "
                     f"{a['callback_avg_ns']}/{b['callback_avg_ns']} ns"])

    def timer_check(self, name):
        """check --lockup around kvmload (fentry) and beside it
        (tracepoint): PASS, rates against the ground truth, same figures."""
        d = os.path.join(self.out, name)
        truth, err = load_json(os.path.join(d, "kvmload.json"))
        good = read_rc(os.path.join(d, "kvmload.rc")) == 0 and truth
        self.ok(bool(good), f"{name}: kvmload {read_text(os.path.join(d, 'cmd')).strip()} "
                "exits 0 with its ground truth",
                [] if good else [err or "", read_text(
                    os.path.join(d, "kvmload.err"))])
        docs = {m: self.check_doc(d, m) for m in ("fentry", "tracepoint")}
        if not good:
            return
        for m, doc in docs.items():
            if doc:
                self.timer_rates(f"{name}: {m}", truth, doc.get("timers"))
        if all(docs.values()):
            self.compare_modes(name, truth, docs["fentry"],
                               docs["tracepoint"])

    def timer_stall(self):
        stall, err = load_json(os.path.join(self.out, "stall.json"))
        good = bool(stall and stall.get("triggered") and
                    stall.get("stopped_for_s", 0) >= STALL_SECONDS)
        self.ok(good, f"timer-stall: QEMU paused {STALL_SECONDS} s once the "
                "guest timers ran", [json.dumps(stall) if stall else err])
        self.facts["stall"] = stall
        self.timer("timer-stall", stalled=True)
        d = os.path.join(self.out, "timer-stall")
        truth, _ = load_json(os.path.join(d, "kvmload.json"))
        if truth:
            self.tap.diag("timer-stall ground truth (interrupts vs "
                          "elapsed/P): " + json.dumps(
                              self.facts.get("timer-stall")))
        docs = {m: self.check_doc(d, m) for m in ("fentry", "tracepoint")}
        if not truth:
            return
        for m, doc in docs.items():
            if doc:
                self.timer_rates(f"timer-stall: check ({m})", truth,
                                 doc.get("timers"))
                self.stall_figures(f"timer-stall: check ({m})", truth,
                                   doc.get("timers"))
        if all(docs.values()):
            self.compare_modes("timer-stall", truth, docs["fentry"],
                               docs["tracepoint"])

    def check_no_lapic(self):
        """arm64: check --lockup skips the timer rules and says why."""
        rc = read_rc(os.path.join(self.out, "check-lockup.rc"))
        doc, err = load_json(os.path.join(self.out, "check-lockup.json"))
        rules = [r for r in (doc or {}).get("rules", [])
                 if r.get("name", "").startswith("timer.")]
        good = bool(rules) and all(
            r.get("verdict") == "SKIP" and "LAPIC" in (r.get("why") or "")
            for r in rules)
        self.ok(good, "check --lockup skips the timer rules: no LAPIC "
                "timer here", [err or json.dumps(rules)[:600]])
        skipped = doc and doc.get("verdict") == "SKIP"
        good = (rc == 4) if skipped else (rc == 0)
        self.ok(good, f"check --lockup exits {4 if skipped else 0} with "
                f"verdict {doc and doc.get('verdict')}",
                [f"exit {rc}", read_text(os.path.join(
                    self.out, "check-lockup.err"))])

    def teardown(self):
        truth, watch = self.scenario("teardown")
        if truth is None:
            return
        mib = truth.get("params", {}).get("mem_mib")
        destroy = []
        for vm in truth["vms"]:
            touched = sum(v.get("pages_touched", 0) for v in vm["vcpus"])
            good = touched == mib * 256 == vm.get("mem_pages")
            self.ok(good, f"teardown: vm {vm['pid']}: the guest touched all "
                    f"{mib * 256} pages of its {mib} MiB slot",
                    [f"touched {touched}, mem_pages {vm.get('mem_pages')}"])
            destroy.append({k: vm.get(k) for k in
                            ("vcpu_close_ns", "munmap_ns", "vm_close_ns",
                             "destroy_ns")})
        self.facts["teardown_destroy"] = destroy
        self.tap.diag("teardown destroy times: " + json.dumps(destroy))
        if watch is not None:
            self.match_exits("teardown", truth, watch)

    def pmu(self):
        truth, watch = self.scenario("pmu")
        if truth is None:
            return
        k = truth.get("params", {}).get("iterations")
        summary = []
        for vm in truth["vms"]:
            for v in vm["vcpus"]:
                regs = v.get("pmu_registers", {})
                reads = sum(r.get("reads", 0) for r in regs.values())
                writes = sum(r.get("writes", 0) for r in regs.values())
                good = (bool(regs) and reads == v.get("pmu_reads") and
                        writes == v.get("pmu_writes") and reads >= k)
                self.ok(good, f"pmu: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                        f"ground truth counts at least {k} PMU reads, per "
                        "register sums match", [f"reads {reads} writes "
                                                f"{writes} faults "
                                                f"{v.get('faults')}"])
                summary.append({"vpmu": vm.get("vpmu"),
                                "reads": reads, "writes": writes,
                                "faults": v.get("faults")})
        self.facts["pmu"] = summary
        if watch is not None:
            self.match_exits("pmu", truth, watch)

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
            self.probe()
            self.mmio()
            self.timer()
            if self.arch == "x86_64":
                self.timer_check("timer-check-200")
                self.timer_check("timer-check-10000")
                self.timer_stall()
            else:
                self.check_no_lapic()
            self.teardown()
            self.pmu()
        self.facts["took_s"] = round(time.monotonic() - t0, 1)
        self.tap.diag(f"{self.arch}: VM suite took {self.facts['took_s']} s;"
                      f" artefacts in {os.path.relpath(self.out, REPO)}/")


def main(argv):
    reuse = "--no-boot" in argv
    arches = [a for a in argv if a != "--no-boot"] or ARCHES
    for a in arches:
        if a not in ARCHES:
            print(f"usage: tests/vm/run.sh [--no-boot] "
                  f"[{'|'.join(ARCHES)}]...", file=sys.stderr)
            return 2
    t0 = time.monotonic()
    tap = Tap()
    os.makedirs(VMTEST, exist_ok=True)
    facts = []
    for a in arches:
        r = ArchRun(tap, a)
        r.run(reuse)
        facts.append(r.facts)
    took = time.monotonic() - t0
    summary = os.path.join(VMTEST, "summary.json")
    if not reuse:
        with open(summary, "w") as f:
            json.dump({"took_s": round(took, 1), "arches": facts}, f,
                      indent=1)
            f.write("\n")
    print(f"1..{tap.n}")
    tap.diag(f"VM suite: {tap.n - tap.failed} passed, {tap.failed} failed, "
             f"took {took:.0f} s; figures in "
             f"{os.path.relpath(summary, REPO)}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
