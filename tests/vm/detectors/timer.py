"""The LAPIC timer detector and check --lockup against the guest's timer
ticks (x86_64), and its absence on arm64.

A part of ArchRun (tests/vm/suite.py); artefacts in build/vmtest/<arch>/.
"""

import json
import math
import os

from vmlib import STALL_SECONDS, load_json, median_slot, read_rc, read_text

# Guest-counted timer interrupts against whole periods of the host-measured
# window. Above: the host sees the window's ends a little late (arm64: up
# to 0.2% more interrupts than host elapsed/P), and nested TCG on x86_64
# once delivered 207 in 201 periods (3%) with only 201 apic_timer_fn runs
# behind them, hence 5% and one period: still far below a wrong period.
# Below: KVM coalesces a periodic LAPIC timer that expires again before the
# last interrupt was injected. Under nested TCG on x86_64 that loses 1% on
# an idle host but 25-45% with another TCG guest on the same two cores
# (docs/testbed.md), so the bound only catches a timer that does not tick
# or runs 4 times too slow; the ratios are printed and kept in summary.json.
TIMER_LOW = 0.25
TIMER_HIGH = 1.05
# kvmwatch's apic_timer_fn callbacks per vCPU against the ground truth.
# Nearly every interrupt the guest counts comes from one callback, so
# callbacks >= interrupts, less a few: KVM also expires a timer without the
# callback when it restarts one whose target is already past
# (start_sw_period); after a 3 s stall 2 of 2006 interrupts came that way,
# with fentry and tracepoint modes agreeing on the callbacks. Nested TCG
# can also deliver more interrupts than the clock allows: in one CI run a
# guest counted 207 in 201 periods of 10 ms while both modes saw 201
# callbacks. So the lower bound is the guest's count or TIMER_CB_CLOCK of
# elapsed/P, whichever is less: the guest's count where KVM coalesced
# ticks (a loaded host, a stall), the clock's where the guest saw extra.
# Every callback is one period's tick (at most elapsed/P of them) or the
# one immediate re-fire the fixed kernel makes after a late expiry
# (kvmwatch's late_rearms); kvmwatch also watches a little beyond
# kvmload's counting window, hence 2% and 5 callbacks of slack above.
TIMER_CB_SLACK = 1.02
TIMER_CB_DIRECT = 3  # interrupts allowed without a callback
TIMER_CB_CLOCK = 0.98  # of elapsed/P: a clock-based lower bound
TIMER_CB_EXTRA = 5
# fentry and tracepoint mode watching the same run: the same callbacks
# (both windows hold the whole run) but for the runs the kernel skipped
# (check's missed_runs.timer: a tracepoint program is not run while another
# BPF program runs on that CPU), the same longest catch-up chain, the
# median lateness in the same or a neighbouring log2 slot, and the longest
# time from an expiry to its callback's return within 50 ms. Each mode
# stamps with its own probes (hrtimer_expire_* vs apic_timer_fn's entry and
# return): a host preemption of the testbed's vCPU thread between the two
# points separates one sample by milliseconds (5 ms seen in CI), so the
# maxima only say both saw the same 3 s pause, the median says the rest.
MODES_RESPONSE_NS = 50000000


class TimerChecks:
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
            by_clock = int(TIMER_CB_CLOCK * expected) - TIMER_CB_DIRECT
            by_guest = irqs - TIMER_CB_DIRECT
            low = min(by_guest, by_clock)
            why_low = (f"{irqs} guest interrupts" if low == by_guest else
                       f"{TIMER_CB_CLOCK} x elapsed/P (the guest counted "
                       f"{irqs})")
            good = low <= cb <= high
            self.ok(good, f"{label}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"{cb} callbacks within [{low} = {why_low} - "
                    f"{TIMER_CB_DIRECT}, "
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
        """The stall's late expiry shows; a fixed kernel re-arms at now (no
        catch-up), an unfixed one plays every missed period back."""
        stall, _ = load_json(os.path.join(self.out, "stall.json"))
        paused = (stall or {}).get("stopped_for_s", STALL_SECONDS)
        fixed = "timer" in self.kernel["fixed"]
        for tid, (vm, v, t) in self.timer_by_tid(label, truth, timers,
                                                  False).items():
            if t is None:
                continue
            # The pause froze the timer pending (then its expiry is late)
            # or in its callback (then that callback lasts): the time
            # from an expiry to its callback's return covers both.
            late = t.get("max_response_ns", 0)
            chain = t.get("longest_chain")
            # Unfixed, the playback's callbacks are late too, each by the
            # pause and the playback so far: a playback slower than the
            # period (a loaded TCG host: 23024 callbacks in 22.4 s for a
            # 3 s pause, seen) runs on, and so does the lateness.
            playback = 0 if fixed else (chain or 0) * (t.get("period_ns") or 0)
            good = (paused - 0.5) * 1e9 <= late <= \
                (paused + 2) * 1e9 + playback
            self.ok(good, f"{label}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"the stall shows: a callback returned "
                    f"{late / 1e6:.1f} ms after its expiry (QEMU paused "
                    f"{paused} s; max lateness "
                    f"{t.get('max_lateness_ns', 0) / 1e6:.1f} ms, longest "
                    f"callback {t.get('max_callback_ns', 0) / 1e6:.1f} ms)",
                    [json.dumps(t)[:600]])
            if fixed:
                good = chain is not None and chain <= 2
                want = "<= 2 (the kernel has the fix)"
            else:
                # One callback per period missed in the pause, and more:
                # the playback itself takes time, whose periods it plays
                # too: a few hundred ms under TCG (3319 for a 3.002 s
                # pause at 1 ms seen), and when a callback costs near a
                # period it runs on for long (23024 seen on a loaded host:
                # the lockup the fix prevents). Each of the chain's
                # callbacks re-armed into the past, so the chain is all
                # catch-up re-arms.
                missed = paused * 1e9 / (t.get("period_ns") or 1)
                good = chain is not None and 0.9 * missed <= chain and \
                    (chain <= 1.3 * missed + 5 or
                     chain <= (t.get("catchup_rearms") or 0) + 5)
                want = (f"at least the {missed:.0f} periods of the pause "
                        "(the kernel plays them back)")
            self.ok(good, f"{label}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"catch-up chain {chain} {want}; "
                    f"{t.get('late_rearms')} late re-arms, "
                    f"{t.get('catchup_rearms')} catch-up re-arms",
                    [] if good else [json.dumps(t)[:600]])

    def check_doc(self, d, mode, verdict="PASS"):
        """check --lockup's document in mode: exit 0 and PASS, or exit 1
        and FAIL as verdict says, in that mode."""
        rc = read_rc(os.path.join(d, f"check-{mode}.rc"))
        doc, err = load_json(os.path.join(d, f"check-{mode}.json"))
        name = os.path.basename(d)
        rules = {r.get("name"): r for r in (doc or {}).get("rules", [])}
        want_rc = 0 if verdict == "PASS" else 1
        good = rc == want_rc and doc is not None and \
            doc.get("verdict") == verdict
        self.ok(good, f"{name}: check --lockup ({mode}) exits {want_rc} "
                f"with verdict {verdict}", [f"exit {rc}", err or "",
                                 json.dumps(list(rules.values()))[:800],
                                 read_text(os.path.join(
                                     d, f"check-{mode}.err"))[-800:]])
        points = {p.get("name"): p for p in
                  (doc or {}).get("detectors", {}).get("timer", {})
                  .get("points", [])}
        got = points.get("apic_timer_fn", {}).get("mode")
        want = self.function_mode() if mode == "fentry" else mode
        self.ok(got == want, f"{name}: apic_timer_fn watched in {want} "
                "mode", [f"mode {got}"])
        junit = read_text(os.path.join(d, f"check-{mode}.xml"))
        failed = sum(r.get("verdict") == "FAIL" for r in rules.values())
        good = f'tests="{len(rules)}" failures="{failed}"' in junit and \
            (failed > 0) == (verdict == "FAIL")
        self.ok(good, f"{name}: check --junit ({mode}) lists "
                f"{len(rules)} rules, {failed} failed", [junit[:400]])
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
            med_a = median_slot(a.get("lateness_hist"))
            med_b = median_slot(b.get("lateness_hist"))
            # A run the kernel skipped also cuts a chain short. The
            # callback that ends a chain is judged from different
            # evidence (the re-arm's target with fentry, the next expiry
            # with tracepoints): once 3240 against 3239. And a re-arm is
            # behind when it lands before the callback's entry, which
            # fentry stamps a trampoline later than the tracepoint: as a
            # loaded playback catches up, re-arms landing between the two
            # stamps end one mode's chain and not the other's (3198
            # against 3158 of 5039 callbacks once): 2% of the chain.
            chain_tol = missed + 1 + math.ceil(
                0.02 * max(a["longest_chain"], b["longest_chain"]))
            good = (abs(a["callbacks"] - b["callbacks"]) <= missed and
                    abs(a["longest_chain"] - b["longest_chain"]) <=
                    chain_tol and
                    med_a is not None and med_b is not None and
                    abs(med_a[0] - med_b[0]) <= 1 and
                    abs(a["max_response_ns"] - b["max_response_ns"]) <=
                    MODES_RESPONSE_NS)
            self.ok(good, f"{name}: vm {vm['pid']} vcpu {v['vcpu_id']}: "
                    f"fentry and tracepoint agree: callbacks {a['callbacks']}"
                    f"/{b['callbacks']} (runs the kernel skipped: {missed}), "
                    "longest chain "
                    f"{a['longest_chain']}/{b['longest_chain']} (within "
                    f"{chain_tol}), median "
                    f"lateness slot {med_a and med_a[1]}/{med_b and med_b[1]}"
                    " (at most one slot apart), longest expiry-to-return "
                    f"{a['max_response_ns']}/{b['max_response_ns']} ns "
                    f"(<= {MODES_RESPONSE_NS // 1000000} ms apart)",
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
        # No stall: every kernel passes.
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
        verdict = self.expect("lockup", "PASS")
        docs = {m: self.check_doc(d, m, verdict)
                for m in ("fentry", "tracepoint")}
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
        # No LAPIC timer: nothing is judged (the lockup counters are host
        # facts, which pass nothing alone): SKIP, exit 6, never PASS.
        good = bool(doc) and doc.get("verdict") == "SKIP" and rc == 6
        self.ok(good, "check --lockup judges nothing here: exits 6 with "
                f"verdict SKIP (got {rc}, {doc and doc.get('verdict')})",
                [f"exit {rc}", read_text(os.path.join(
                    self.out, "check-lockup.err"))])
