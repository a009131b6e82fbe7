"""MMIO writes by path and check --mmio against kvmload's writes.

A part of ArchRun (tests/vm/suite.py); artefacts in build/vmtest/<arch>/.
"""

import json
import os
import shutil
import subprocess

import kernels
from vmlib import load_json, read_rc, read_text


class MmioChecks:
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

    def svm_fast_path_in_module(self):
        """Whether the testbed kernel's own npf_interception calls
        kvm_io_bus_write (the SVM fast MMIO path), read from kvm-amd.ko
        with objdump: an independent look, not kvmwatch's. None if the
        module or objdump is not at hand."""
        try:
            moddir = kernels.fetch(self.kernel)["moddir"]
        except kernels.KernelError:
            return None
        ko = os.path.join(moddir, "kernel", "arch", "x86", "kvm",
                          "kvm-amd.ko.xz")
        if not os.path.isfile(ko) or not shutil.which("objdump"):
            return None
        import lzma
        import tempfile
        with tempfile.NamedTemporaryFile(suffix=".ko") as tmp:
            with lzma.open(ko) as f:
                tmp.write(f.read())
            tmp.flush()
            res = subprocess.run(["objdump", "-dr", "--no-show-raw-insn",
                                  tmp.name], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        body, inside = [], False
        for line in res.stdout.splitlines():
            if line.endswith("<npf_interception>:"):
                inside = True
            elif inside and not line.strip():
                break
            elif inside:
                body.append(line)
        if not body:
            return None
        return any("kvm_io_bus_write" in ln for ln in body)

    def mmio_expected(self, truth, fast):
        """{(pid, gpa): {path: writes}} from kvmload's ground truth; the
        len-0 ioeventfd's writes are fast or emulated as the kernel has
        the fast path or not."""
        want = {}
        for vm in truth.get("vms", []):
            pid = vm["pid"]
            for v in vm["vcpus"]:
                kinds = [("fast_mmio_gpa", "fast_mmio_writes",
                          "fast" if fast else "emulated"),
                         ("datamatch_gpa", "datamatch_writes", "emulated"),
                         ("user_mmio_gpa", "user_mmio_writes", "user"),
                         ("hostcall_gpa", "hostcall_writes", "user")]
                for gkey, nkey, path in kinds:
                    if gkey not in v:
                        continue
                    a = want.setdefault((pid, v[gkey]), {
                        "fast": 0, "emulated": 0, "user": 0})
                    a[path] += v[nkey]
        return want

    @staticmethod
    def mmio_seen(view, pids):
        """{(pid, gpa): {path: writes}} of the VMs in pids."""
        got = {}
        for vm in (view or {}).get("vms", []):
            if vm.get("pid") not in pids:
                continue
            for a in vm.get("addresses", []):
                got[(vm["pid"], a["gpa"])] = {
                    p: a[p]["writes"] for p in ("fast", "emulated", "user")}
        return got

    def mmio_view_checks(self, label, truth, view, fentry, doc_missed):
        """Ground truth against one mmio view, one assertion per address:
        writes per path exactly, exit reason, instruction emulation,
        costs, ioeventfd signals; then the candidates per VM."""
        fp = view.get("fast_path", {})
        want = self.mmio_expected(truth, fp.get("usable") is True)
        # fentry programs a preemptible kernel (7.3's lazy preemption)
        # switched out mid-run are skipped when the next one starts on
        # that CPU; the kernel counts each: the function figures may be
        # short by that much, never the tracepoint ones.
        missed = (doc_missed or {}).get("mmio") or 0
        pids = {vm["pid"] for vm in truth["vms"]}
        got = self.mmio_seen(view, pids)
        reason = "npf" if self.arch == "x86_64" else "DABT_LOW"
        addrs = {(vm["pid"], a["gpa"]): a for vm in view.get("vms", [])
                 for a in vm.get("addresses", [])}
        eventfds = {}
        for vm in truth["vms"]:
            for v in vm["vcpus"]:
                eventfds[(vm["pid"], v["fast_mmio_gpa"])] = \
                    v["fast_mmio_eventfd"]
                eventfds[(vm["pid"], v["datamatch_gpa"])] = \
                    v["datamatch_eventfd"]
        for key in sorted(set(want) | set(got)):
            w, g, a = want.get(key), got.get(key), addrs.get(key, {})
            paths = [p for p in ("fast", "emulated", "user")
                     if (g or {}).get(p)]
            bad = [] if w == g else [f"writes per path: kvmload {w}, "
                                     f"kvmwatch {g}"]
            for p in paths:
                c = a[p]
                if c["exit_reason"] != reason or c["other_exit_reasons"] \
                        or c["no_exit_seen"]:
                    bad.append(f"{p}: exit {c['exit_reason']}, other "
                               f"{c['other_exit_reasons']}, none "
                               f"{c['no_exit_seen']} (want all {reason})")
                if p != "fast":
                    emul = c["insn_emulated"]
                    if (self.arch == "x86_64" and emul != c["writes"]) or \
                            (self.arch != "x86_64" and emul is not None):
                        bad.append(f"{p}: insn_emulated {emul} (x86: "
                                   "every write; arm64: null)")
                # Each write is timed, or its handler run was switched
                # out (then its time is a wait for a CPU, not a cost).
                if fentry and not (
                        c["writes"] - missed <= c["timed"] + c["preempted"]
                        <= c["writes"] and
                        c["timed"] > c["preempted"] and c["cost_avg_ns"]):
                    bad.append(f"{p}: {c['timed']} timed + "
                               f"{c['preempted']} switched out of "
                               f"{c['writes']} writes, avg "
                               f"{c['cost_avg_ns']}")
                if not fentry and (c["timed"] is not None or
                                   c["preempted"] is not None or
                                   c["cost_avg_ns"] is not None):
                    bad.append(f"{p}: costs {c['timed']}/"
                               f"{c['preempted']}/{c['cost_avg_ns']}, "
                               "want null")
            signals = a.get("ioeventfd_signals")
            if fentry and key in eventfds and not (
                    signals is not None and
                    eventfds[key] - missed <= signals <= eventfds[key]):
                bad.append(f"ioeventfd signals {signals}, eventfd read "
                           f"back {eventfds[key]} ({missed} runs "
                           "skipped by the kernel)")
            if not fentry and signals is not None:
                bad.append(f"ioeventfd signals {signals}, want null")
            costs = ", ".join(
                f"{p} avg {a[p]['cost_avg_ns'] / 1e3:.1f} us, "
                f"{a[p]['preempted']} switched out" for p in paths
                if a.get(p, {}).get("cost_avg_ns"))
            self.ok(not bad, f"{label}: vm {key[0]} GPA {key[1]:#x}: "
                    f"{w} as kvmload did, after {reason} exits"
                    + (f", costs ({costs})" if fentry and costs
                       else "") + (f", eventfd signals {signals}"
                                   if fentry and key in eventfds else ""),
                    bad + ([json.dumps(a)[:600]] if bad else []))
        vms = {vm["pid"]: vm for vm in view.get("vms", [])}
        for vm in truth["vms"]:
            wvm = vms.get(vm["pid"], {})
            fast = sorted(v["fast_mmio_gpa"] for v in vm["vcpus"])
            if fentry:
                got_c = sorted(wvm.get("candidates") or [])
                self.ok(got_c == fast, f"{label}: vm {vm['pid']}: the "
                        "fast-MMIO candidates read from KVM_FAST_MMIO_BUS "
                        "are kvmload's len-0 ioeventfds "
                        f"{[hex(x) for x in fast]}",
                        [f"kvmwatch: {[hex(x) for x in got_c]}"])
            else:
                self.ok(wvm.get("candidates", 0) is None and
                        view.get("candidates_known") is False and
                        bool(view.get("candidates_why")),
                        f"{label}: vm {vm['pid']}: candidates are null "
                        "with the reason (tracepoint mode)",
                        [str(view.get("candidates_why"))])

    def mmio_fast_path(self, label, view, fentry):
        """The vendor code's fast path as the testbed kernel has it: the
        state its file declares (x86: from the module's code in every
        mode; the testbed has no NRIP save, so SVM's is unusable)."""
        fp = view.get("fast_path", {})
        want = self.expect("mmio-fast-path")
        if self.arch == "x86_64":
            has = self.svm_fast_path_in_module()
            known = "svm-fast-mmio" in self.kernel["fixed"]
            self.facts["svm_npf_calls_kvm_io_bus_write"] = has
            self.ok(has is None or has == known,
                    f"{label}: kvm-amd.ko's npf_interception "
                    f"{'calls' if known else 'never calls'} "
                    "kvm_io_bus_write, as the kernel file says (objdump: "
                    f"{has})")
            basis = "module"
        else:
            basis = "observed" if fentry else "kernel"
        in_code = want in ("unusable", "present", "in-use")
        good = (fp.get("state") == want and fp.get("basis") == basis and
                fp.get("present") is in_code)
        self.ok(good, f"{label}: fast path {want} ({basis}): "
                f"{fp.get('why', '')[:200]}", [json.dumps(fp)[:800]])

    def mmio_detector(self):
        """The mmio detector in top (default, fentry mode) against the
        mmio scenario's ground truth."""
        d = os.path.join(self.out, "mmio")
        truth, _ = load_json(os.path.join(d, "kvmload.json"))
        watch, _ = load_json(os.path.join(d, "kvmwatch.json"))
        if not truth or not watch:
            return  # mmio() has said why
        view = watch.get("mmio")
        mode = {p["name"]: p.get("mode") for p in watch.get(
            "detectors", {}).get("mmio", {}).get("points", [])}
        want = self.function_mode()
        good = isinstance(view, dict) and mode.get("io_bus_write") == want
        self.ok(good, "mmio: top has the mmio view with kvm_io_bus_write "
                f"in {want} mode", [f"modes {mode}",
                                   json.dumps(view)[:300]])
        if not good:
            return
        self.mmio_fast_path("mmio: top", view, True)
        self.mmio_view_checks("mmio: top", truth, view, True,
                              watch.get("missed_runs"))
        t = view.get("totals", {})
        self.facts["mmio_detector"] = {
            "totals": t, "fast_path": view.get("fast_path"),
            "costs_avg_ns": {p: (c or {}).get("cost_avg_ns") for p, c in
                             view.get("costs", {}).items()},
            "cost_p99_ns_le": {
                p: max([a[p]["cost_p99_ns_le"] or 0 for vm in
                        view.get("vms", []) for a in vm["addresses"]] or
                       [0]) for p in ("fast", "emulated", "user")}}
        self.tap.diag("mmio detector: " + json.dumps(
            self.facts["mmio_detector"]))

    def mmio_check(self):
        """check --mmio in fentry and tracepoint mode and with
        --expect-fast-mmio on one kvmload run: verdicts, same counts."""
        d = os.path.join(self.out, "mmio-check")
        truth, err = load_json(os.path.join(d, "kvmload.json"))
        good = loaded = read_rc(os.path.join(d, "kvmload.rc")) == 0 and \
            truth is not None
        self.ok(good, "mmio-check: kvmload "
                f"{read_text(os.path.join(d, 'cmd')).strip()} exits 0 with "
                "its ground truth", [] if good else [
                    err or "", read_text(os.path.join(d, "kvmload.err"))])
        docs = {}
        for name in ("fentry", "tracepoint", "expect"):
            rc = read_rc(os.path.join(d, f"check-{name}.rc"))
            doc, err = load_json(os.path.join(d, f"check-{name}.json"))
            rules = {r.get("name"): r for r in (doc or {}).get("rules", [])}
            want_rc, want = (1, "FAIL") if name == "expect" else (0, "PASS")
            good = rc == want_rc and doc is not None and \
                doc.get("verdict") == want and isinstance(doc.get("mmio"),
                                                          dict)
            self.ok(good, f"mmio-check: check --mmio ({name}) exits "
                    f"{want_rc} with verdict {want}",
                    [f"exit {rc}", err or "",
                     json.dumps(list(rules.values()))[:900],
                     read_text(os.path.join(d, f"check-{name}.err"))[-600:]])
            if not good:
                continue
            docs[name] = doc
            junit = read_text(os.path.join(d, f"check-{name}.xml"))
            fails = 1 if name == "expect" else 0
            self.ok(f'tests="{len(rules)}" failures="{fails}"' in junit,
                    f"mmio-check: --junit ({name}) lists {len(rules)} "
                    f"rules, {fails} failed", [junit[:400]])
            fp = rules.get("mmio.fast_path", {})
            # Absent from the code, or there but not usable here: a
            # finding either way.
            absent = doc["mmio"]["fast_path"].get("usable") is False
            if name == "expect":
                good = fp.get("verdict") == "FAIL" and \
                    "--expect-fast-mmio" in (fp.get("evidence") or "")
                what = "FAIL, saying why"
            elif absent:
                # The finding is the view's reason, word for word.
                why = doc["mmio"]["fast_path"].get("why") or ""
                good = fp.get("verdict") == "INFO" and \
                    fp.get("measured") == 0 and bool(why) and \
                    why in (fp.get("evidence") or "")
                what = "a finding (INFO, measured 0), not a failure"
            else:
                good = fp.get("verdict") == "SKIP" and \
                    (fp.get("why") or "").startswith("cannot tell")
                what = "SKIP: cannot tell in this mode"
            self.ok(good, f"mmio-check: ({name}) mmio.fast_path is {what}",
                    [json.dumps(fp)[:600]])
            cost = rules.get("mmio.write_cost_p50_us", {})
            good = cost.get("verdict") == "PASS" if name != "tracepoint" \
                else cost.get("verdict") == "SKIP"
            self.ok(good, f"mmio-check: ({name}) mmio.write_cost_p50_us "
                    f"{cost.get('verdict')} (measured "
                    f"{cost.get('measured')} us)", [json.dumps(cost)[:400]])
            if name != "expect":
                self.facts.setdefault("mmio_check", {})[name] = {
                    r: rules[r].get("measured") for r in rules}
        if not loaded:
            return
        if "fentry" in docs:
            self.mmio_fast_path("mmio-check: fentry",
                                docs["fentry"]["mmio"], True)
            self.mmio_view_checks("mmio-check: fentry", truth,
                                  docs["fentry"]["mmio"], True,
                                  docs["fentry"].get("missed_runs"))
        if "tracepoint" in docs:
            self.mmio_fast_path("mmio-check: tracepoint",
                                docs["tracepoint"]["mmio"], False)
            self.mmio_view_checks("mmio-check: tracepoint", truth,
                                  docs["tracepoint"]["mmio"], False,
                                  docs["tracepoint"].get("missed_runs"))
        if "fentry" in docs and "tracepoint" in docs:
            pids = {vm["pid"] for vm in truth["vms"]}
            a = self.mmio_seen(docs["fentry"]["mmio"], pids)
            b = self.mmio_seen(docs["tracepoint"]["mmio"], pids)
            self.ok(a == b and bool(a), "mmio-check: fentry and tracepoint "
                    f"mode count the same writes per address and path "
                    f"({sum(sum(x.values()) for x in a.values())} writes)",
                    [f"fentry:     {a}", f"tracepoint: {b}"])
