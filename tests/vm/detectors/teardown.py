"""VM teardowns and check --teardown against kvmload's clock and the
pages its guest touched.

A part of ArchRun (tests/vm/suite.py); artefacts in build/vmtest/<arch>/.
"""

import json
import os

from vmlib import load_json, read_rc, read_text

# kvmwatch's teardown figures against kvmload's clock: both read
# CLOCK_MONOTONIC around the same events, a few ms apart under TCG.
# The two sides read CLOCK_MONOTONIC through different accessors.
CLOCK_SLACK_NS = 100000
TEARDOWN_TOL_MS = 10.0
# x86: entries a teardown finds mapped beyond the pages the guest touched
# (kvmload's code, stack and page-table pages).
TEARDOWN_MAPPED_EXTRA = 64


class TeardownChecks:
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
            self.teardown_walk_counted(truth, watch)

    def memslots(self):
        """Memory slots deleted on live VMs are no teardown: each VM
        process has one, its destruction, in both kvmwatch's count and
        kvmload's."""
        truth, watch = self.scenario("memslots")
        if truth is None or watch is None:
            return
        view = watch.get("teardown") or {}
        deleted = sum(vm.get("memslot_deletes", 0) for vm in truth["vms"])
        want = truth.get("params", {}).get("memslot_cycles", 0) * 2 * \
            len(truth["vms"])
        self.ok(deleted == want and want > 0, f"memslots: kvmload deleted "
                f"and re-added {deleted} memory slots on live VMs (want "
                f"{want})")
        for vm in truth["vms"]:
            mine = [it for it in view.get("recent", [])
                    if it.get("pid") == vm["pid"]]
            self.ok(len(mine) == 1 and
                    mine[0].get("begun_by") == "kvm_destroy_vm",
                    f"memslots: vm {vm['pid']}: one teardown, begun by its "
                    f"destruction (kvm_destroy_vm), not one per deleted "
                    f"slot: {[it.get('begun_by') for it in mine]}",
                    [json.dumps(mine)[:800]])
        self.ok(view.get("teardowns") == len(truth["vms"]) and
                not view.get("open"),
                f"memslots: {view.get('teardowns')} teardowns ended, "
                f"{view.get('open')} open, for {len(truth['vms'])} VMs")

    def teardown_walk_counted(self, truth, watch):
        """top ran with --point stage2_free_walker: on arm64 each VM's walk
        freed at least the pages its guest touched; x86 has no walker but
        reads the VM's page counts as its teardown begins."""
        for vm in truth["vms"]:
            it = self.teardown_item(watch, vm["pid"])
            if self.arch == "arm64":
                good = it is not None and \
                    (it.get("walk_mapped_entries") or 0) >= vm["mem_pages"] \
                    and it.get("mapped_entries") == \
                    it.get("walk_mapped_entries")
                desc = (f"the stage-2 walk freed at least the "
                        f"{vm['mem_pages']} touched pages (--point "
                        "stage2_free_walker)")
                self.ok(good, f"teardown: vm {vm['pid']}: {desc}",
                        [json.dumps(it)[:900]])
            else:
                good = it is not None and \
                    it.get("walk_leaf_entries") is None and \
                    "x86 has no stage-2 walker" in (it.get("walk_why") or "")
                self.ok(good, f"teardown: vm {vm['pid']}: no stage-2 walker "
                        "to count on x86, saying so", [json.dumps(it)[:900]])
                self.teardown_mapped("teardown", vm, it)

    def teardown_mapped(self, label, vm, it):
        """x86 (fentry or kprobe mode): the entries the teardown found
        mapped are the guest's touched pages plus a few of kvmload's own
        (code, stack, tables), read from kvm->stat.pages before the zap."""
        touched = sum(v.get("pages_touched", 0) for v in vm["vcpus"])
        got = (it or {}).get("mapped_entries")
        sizes = (it or {}).get("mapped_by_size") or {}
        good = got is not None and \
            touched <= got <= touched + TEARDOWN_MAPPED_EXTRA and \
            (it or {}).get("mapped_from") == "kvm_stat" and \
            sizes.get("4k", 0) >= touched
        self.ok(good, f"{label}: vm {vm['pid']}: its teardown found "
                f"{got} entries mapped ({sizes}): the {touched} pages the "
                f"guest touched + at most {TEARDOWN_MAPPED_EXTRA}",
                [json.dumps(it)[:900]])
        self.facts.setdefault("teardown_mapped", []).append(
            {"where": label, "touched": touched, "mapped": got,
             "by_size": sizes})

    def kvmload_vm(self, name):
        """The VM of kvmload's ground truth in name's artefacts, asserted
        to have been made (None when kvmload failed)."""
        d = os.path.join(self.out, name)
        truth, err = load_json(os.path.join(d, "kvmload.json"))
        good = read_rc(os.path.join(d, "kvmload.rc")) == 0 and bool(truth)
        self.td_ok(good, f"{name}: kvmload {read_text(os.path.join(d, 'cmd')).strip()} "
                   "exits 0 with its ground truth",
                   [err or "", read_text(os.path.join(d, "kvmload.err"))])
        return truth["vms"][0] if good else None

    def teardown_late(self):
        """A VM made before kvmwatch attached, in tracepoint mode: its
        KVM_CREATE_VM was never seen, its fds in /proc tell of it, and
        the close of its last fd is its teardown."""
        name = "teardown-late"
        d = os.path.join(self.out, name)
        vm = self.kvmload_vm(name)
        if vm is None:
            return
        rc = read_rc(os.path.join(d, "check-tracepoint.rc"))
        doc, err = load_json(os.path.join(d, "check-tracepoint.json"))
        log = read_text(os.path.join(d, "check-tracepoint.err"))
        self.td_ok(rc in (0, 1) and doc is not None and
                   "already running" in log,
                   f"{name}: check --teardown (tracepoint), attached to a "
                   f"running VM, learnt it from its fds and judged (exit {rc})",
                   [err or "", log[-600:]])
        # kvmload waited for the check: its teardown began after the
        # attach (guest uptime and CLOCK_MONOTONIC, both from boot).
        attached = read_text(os.path.join(d, "attached-uptime")).strip()
        begun = vm.get("vm_destroy_start_ns", 0) / 1e9
        self.td_ok(attached and float(attached) <= begun,
                   f"{name}: the VM's teardown began ({begun:.2f} s) after "
                   f"the check attached ({attached} s)",
                   [read_text(os.path.join(d, "attached-lines"))])
        it = self.teardown_item(doc, vm["pid"])
        self.close_window(name, vm, it)

    def teardown_skip_entry(self):
        """Tracepoint mode with every ioctl's and close's entry ignored
        (KVMWATCH_TEST_SKIP_SYSCALL_ENTRY: what a skipped run of the
        sys_enter program leaves, 7.x): the returns alone learnt the VM
        and its fds, and counted its one teardown, the close of its last
        fd, at the close's return inside kvmload's timed close and munmap;
        not timed (the release may be over by then), so nothing judged it:
        the check SKIPs."""
        name = "teardown-skip-entry"
        d = os.path.join(self.out, name)
        vm = self.kvmload_vm(name)
        if vm is None:
            return
        rc = read_rc(os.path.join(d, "check-tracepoint.rc"))
        doc, err = load_json(os.path.join(d, "check-tracepoint.json"))
        td = (doc or {}).get("teardown") or {}
        got = (rc, (doc or {}).get("verdict"), td.get("teardowns"),
               td.get("untimed"))
        self.td_ok(got == (6, "SKIP", 1, 1),
                   f"{name}: check --teardown (tracepoint, syscall entries "
                   "skipped) counts one teardown, untimed, and judges "
                   f"nothing: exit 6, SKIP (got {got})",
                   [err or "", read_text(os.path.join(
                       d, "check-tracepoint.err"))[-600:]])
        it = self.teardown_item(doc, vm["pid"])
        t0, t2 = vm["vm_destroy_start_ns"], vm["destroy_end_ns"]
        good = (it is not None and it.get("begun_by") == "vm_fd_close" and
                it.get("timed") is False and bool(it.get("untimed_why")) and
                t0 - CLOCK_SLACK_NS <= it["start_ns"] and
                it["end_ns"] <= t2 + CLOCK_SLACK_NS)
        self.td_ok(good, f"{name}: teardown of VM process {vm['pid']} begun "
                   "by its last fd's close, seen at its return inside "
                   "kvmload's close and munmap, marked untimed",
                   [json.dumps(it)[:900] if it else "no teardown"])

    def close_window(self, label, vm, it):
        """Tracepoint mode's teardown of a VM destroyed by its last fd's
        close: from that close's entry to the thread's next system call
        (kvmload's close of /dev/kvm, or its munmap), so inside kvmload's
        timed close and munmap (CLOCK_MONOTONIC both), and holding the
        destruction, most of the close's time."""
        t0, t1 = vm["vm_destroy_start_ns"], vm["vm_destroy_end_ns"]
        t2 = vm["destroy_end_ns"]
        good = (it is not None and it.get("begun_by") == "vm_fd_close" and
                t0 - CLOCK_SLACK_NS <= it["start_ns"] and
                it["end_ns"] <= t2 + CLOCK_SLACK_NS and
                it["end_ns"] - it["start_ns"] >= (t1 - t0) / 2)
        self.td_ok(good, f"{label}: teardown of VM process {vm['pid']} "
                   f"begun by its last fd's close, "
                   f"{(it or {}).get('duration_ms', 0):.1f} ms, inside "
                   f"kvmload's close ({(t1 - t0) / 1e6:.1f} ms) and munmap, "
                   "and at least half the close",
                   [json.dumps(it)[:900] if it else "no teardown"])

    def teardown_item(self, doc, pid):
        """The teardown of VM process pid in a check document, or None."""
        for it in ((doc or {}).get("teardown") or {}).get("recent", []):
            if it.get("pid") == pid:
                return it
        return None

    def td_ok(self, good, desc, diag=()):
        """ok() that shows the diagnostics only for a failure."""
        return self.ok(good, desc, [] if good else diag)

    def teardown_check(self, name):
        """check --teardown around kvmload teardown (fentry) and beside it
        (tracepoint), asserted against kvmload's own times and its
        competitor's gaps, and the verdict against the kernel file's
        expect.teardown. arm64 6.12 is unfixed: a big VM FAILs, the
        competitor having wanted its CPU through the whole walk; arm64 7.3
        walks in ranges with schedule points between them and PASSes;
        x86's TDP MMU yields: it PASSes, exit run included (a long run
        there is exit_mmap freeing pages with nothing else wanting the
        CPU); a small VM PASSes everywhere."""
        d = os.path.join(self.out, name)
        cmd = read_text(os.path.join(d, "cmd")).strip()
        truth, err = load_json(os.path.join(d, "kvmload.json"))
        good = read_rc(os.path.join(d, "kvmload.rc")) == 0 and bool(truth)
        self.td_ok(good, f"{name}: kvmload {cmd} exits 0 with its ground truth",
                [] if good else [err or "", read_text(
                    os.path.join(d, "kvmload.err"))])
        if not good:
            return
        vm = truth["vms"][0]
        pid = vm["pid"]
        comp = truth.get("competitor") or {}
        gap_ms = (vm.get("competitor_wait") or {}).get(
            "longest_gap_ns", 0) / 1e6
        big = name != "teardown-small"
        want_fail = big and self.expect("teardown", "PASS") == "FAIL"
        fixed = "stage2" in self.kernel["fixed"]
        docs = {}
        for mode in ("fentry", "tracepoint"):
            rc = read_rc(os.path.join(d, f"check-{mode}.rc"))
            doc, err = load_json(os.path.join(d, f"check-{mode}.json"))
            docs[mode] = doc
            # Tracepoint mode sees a VMM's exit (exit_group or a fatal
            # signal) and the close of a VM's last fd: every order.
            fail = want_fail
            want = ("FAIL", 1) if fail else ("PASS", 0)
            got = ((doc or {}).get("verdict"), rc)
            rules = {r.get("name"): r for r in (doc or {}).get("rules", [])}
            self.td_ok(got == want, f"{name}: check --teardown ({mode}) exits "
                    f"{want[1]} with verdict {want[0]}",
                    [f"got {got}", err or "",
                     json.dumps(list(rules.values()))[:900],
                     read_text(os.path.join(d, f"check-{mode}.err"))[-600:]])
            it = self.teardown_item(doc, pid)
            self.td_ok(it is not None, f"{name}: {mode}: kvmwatch reports the "
                    f"teardown of VM process {pid}",
                    [json.dumps((doc or {}).get("teardown"))[:800]])
            if it is None:
                continue
            # The stretch (from a task's wanting the CPU to the schedule
            # point) lies inside the run it ended; the longest run is
            # shown whether or not anyone waited.
            st = it.get("longest_stretch") or {}
            run = it.get("longest_run") or {}
            if st:
                good = bool(run) and (
                    st["ms"] <= st["run_ms"] + 1e-6 and
                    st["run_ms"] <= run["ms"] + 1e-6)
                desc = (f"stretch {st['ms']:.1f} ms within its run "
                        f"({st['run_ms']:.1f} ms)")
            else:
                good = bool(run) and bool(it.get("longest_stretch_why"))
                desc = ("no stretch (" + str(it.get("longest_stretch_why"))
                        + ")")
            self.td_ok(good, f"{name}: {mode}: {desc}, longest run "
                    f"{run.get('ms', 0):.1f} ms", [json.dumps(it)[:900]])
            # top's RUN_MS: the longest run's part inside the teardown,
            # within its duration (the whole run may go on after it).
            inside = run.get("inside_ms")
            good = inside is not None and 0 < inside <= min(
                run.get("ms", 0), it["duration_ms"]) + 1e-6
            self.td_ok(good, f"{name}: {mode}: the longest run inside the "
                    f"teardown, {inside} ms, is within its "
                    f"{it['duration_ms']:.1f} ms and the whole run's "
                    f"{run.get('ms', 0):.1f} ms", [json.dumps(run)[:600]])
            self.facts.setdefault("teardown_checks", {})[f"{name}/{mode}"] = {
                "verdict": got[0], "duration_ms": it["duration_ms"],
                "stretch_ms": st.get("ms"), "held_by": st.get("held_by"),
                "first_waiter": st.get("first_waiter"),
                "waiter": st.get("waiter"),
                "run_ms": run.get("ms"), "run_held_by": run.get("held_by"),
                "run_wanted_ms": run.get("wanted_ms"),
                "walk_ms": it.get("walk_ms"),
                "walk_schedule_points": it.get("walk_schedule_points"),
                "yields": it.get("yields"),
                "mapped_entries": it.get("mapped_entries"),
                "kvmload_vm_close_ms": (vm.get("vm_close_ns") or 0) / 1e6,
                "kvmload_destroy_ms": (vm.get("destroy_ns") or 0) / 1e6,
                "competitor_gap_ms": gap_ms,
                "symbols": doc["teardown"]["kernel"]["symbols"],
                "behaviour": doc["teardown"]["kernel"]["behaviour"]}
            if fail:
                ev = rules.get("teardown.max_stretch_ms", {}).get(
                    "evidence") or ""
                good = (f"VM pid {pid}" in ev and "wanted it" in ev and
                        "waited" in ev)
                self.td_ok(good, f"{name}: {mode}: the FAIL names the VM, its "
                        "stretch, the task that wanted the CPU and the "
                        "waiting task", [ev])
                # The stretch began when the competitor was preempted for
                # the destroying thread, and lasted as long as the
                # competitor's own longest gap, by its own clock.
                first = st.get("first_waiter") or {}
                tol = max(TEARDOWN_TOL_MS, 0.05 * gap_ms)
                # Unnamed when only seen on the run queue; or another
                # task runnable on that CPU as the run began (a kworker
                # once), which the competitor's clock then confirms.
                # When another task got the CPU first (a kworker woken
                # during the run), the competitor's gap also holds that
                # task's turn: the stretch is then within the gap and
                # most of it.
                got_next = (st.get("waiter") or {}).get("pid")
                if got_next == comp.get("pid") or got_next is None:
                    lasted = abs(st.get("ms", 0) - gap_ms) <= tol
                    how = f"tolerance {tol:.1f} ms"
                else:
                    lasted = gap_ms / 2 <= st.get("ms", 0) <= gap_ms + tol
                    how = (f"pid {got_next} ran first: within it and at "
                           "least half")
                good = ((first.get("pid") == comp.get("pid") or
                         first.get("since") == "runnable-before" or
                         (first.get("since") == "queued" and
                          first.get("pid") is None)) and lasted)
                self.td_ok(good, f"{name}: {mode}: the stretch began with the "
                        f"competitor (pid {comp.get('pid')}, "
                        f"{first.get('since')}) wanting the CPU and lasted "
                        f"{st.get('ms', 0):.1f} ms; the competitor's own gap "
                        f"{gap_ms:.1f} ms ({how})", [json.dumps(st)])
            if mode != "fentry" and vm.get("teardown_order") == "vm-first":
                self.close_window(f"{name}: {mode}", vm, it)
            if mode != "fentry":
                continue
            # kvm_destroy_vm runs inside kvmload's timed close of the VM
            # fd: both clocks are CLOCK_MONOTONIC.
            if vm.get("teardown_order") == "vm-first":
                t0, t1 = vm["vm_destroy_start_ns"], vm["vm_destroy_end_ns"]
                good = (t0 - CLOCK_SLACK_NS <= it["start_ns"] and
                        it["end_ns"] <= t1 + CLOCK_SLACK_NS)
                self.td_ok(good, f"{name}: teardown {it['duration_ms']:.1f} ms "
                        f"inside kvmload's VM fd close "
                        f"({(t1 - t0) / 1e6:.1f} ms)", [json.dumps(it)[:900]])
            kernel = doc["teardown"]["kernel"]
            want_sym = "n/a" if self.arch != "arm64" else \
                "fixed" if fixed else "unfixed"
            self.td_ok(kernel.get("symbols") == want_sym,
                    f"{name}: kernel symbols say {want_sym}",
                    [json.dumps(kernel)])
            if self.arch == "arm64":
                # Without --point the per-entry walker probe stays off
                # (the top scenario "teardown" counts with it).
                good = it.get("walk_leaf_entries") is None and \
                    it.get("mapped_entries") is None and \
                    "--point stage2_free_walker" in (it.get("walk_why") or "")
                self.td_ok(good, f"{name}: the walk's entries are not "
                        "counted without --point, saying so",
                        [str(it.get("walk_why"))])
            elif mode == "fentry":
                self.teardown_mapped(f"{name}: {mode}", vm, it)
            else:
                why = it.get("mapped_why") or ""
                self.td_ok(it.get("mapped_entries") is None and
                           "tracepoint mode" in why,
                           f"{name}: {mode}: no mapped entries without "
                           "kvm_destroy_vm's argument, saying so", [why])
            if want_fail:
                walk = it["phases"].get("kvm_pgtable_stage2_destroy", {})
                good = (st.get("held_by") == "kvm_pgtable_stage2_destroy" and
                        st.get("ms", 0) >= walk.get("ms", 1e9) and
                        walk.get("schedule_points") == 0)
                self.td_ok(good, f"{name}: the {st.get('ms', 0):.1f} ms stretch covers "
                        f"the whole stage-2 walk ({walk.get('ms', 0):.1f} ms, "
                        "no schedule point in it)", [json.dumps(it)[:900]])
                good = kernel.get("behaviour") == "does-not-yield"
                self.td_ok(good, f"{name}: behaviour does-not-yield",
                        [json.dumps(kernel)])
            if fixed and big:
                # The fix's own behaviour: the walk goes by ranges and
                # the thread takes schedule points between them.
                good = (kernel.get("behaviour") == "yields" and
                        it.get("walk_schedule_points", 0) > 0 and
                        it.get("walk_ms", 0) > 0)
                self.td_ok(good, f"{name}: behaviour yields: the ranged "
                        f"walk ({it.get('walk_ms', 0):.1f} ms) took "
                        f"{it.get('walk_schedule_points')} schedule points",
                        [json.dumps(kernel), json.dumps(it)[:900]])
            if want_fail:
                # Who got the CPU when the walk's run ended: the competitor
                # or another task runnable as the run began, after the
                # competitor's whole gap, or a task that came during the
                # run (a stopper thread, woken there, goes first), having
                # waited less than the stretch.
                w = st.get("waiter") or {}
                tol = max(TEARDOWN_TOL_MS, 0.05 * gap_ms)
                if w.get("pid") == comp.get("pid") or \
                        w.get("since") == "runnable-before":
                    good = abs(w.get("waited_ms", 0) - gap_ms) <= tol
                else:
                    good = (w.get("since") in ("woken", "migrated") and
                            0 <= w.get("waited_ms", -1) <= st.get("ms", 0))
                self.td_ok(good, f"{name}: the task that got the CPU after "
                        f"the stretch, {w.get('comm')} (pid {w.get('pid')}, "
                        f"{w.get('since')}), waited "
                        f"{w.get('waited_ms', 0):.1f} ms: the competitor's "
                        f"gap {gap_ms:.1f} ms (tolerance {tol:.1f} ms) if it "
                        "is the competitor or was runnable before, else a "
                        "task that came during the run", [json.dumps(st)])
            if big and self.arch == "x86_64":
                good = it.get("walk_ms", 0) > 0
                self.td_ok(good, f"{name}: the TDP MMU zap is timed "
                        f"({it.get('walk_ms', 0):.1f} ms, "
                        f"{it.get('walk_schedule_points')} schedule points, "
                        f"{it.get('yields')} yields)", [json.dumps(it)[:900]])
        self.tap.diag(f"{name}: " + json.dumps(
            self.facts.get("teardown_checks", {}).get(f"{name}/fentry")))
