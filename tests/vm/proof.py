"""The gate's defaults proven (issue 15, docs/ci.md): a baseline of
repeated runs of one workload, the same workload checked again and again
at the defaults (each must PASS), and each injected regression (twice the
MMIO writes, a bigger VM's teardown, a stall on a kernel with the timer
bug) FAILing on its own metric.

A part of ArchRun (tests/vm/suite.py); artefacts in
build/vmtest/<kernel>/proof/.
"""

import json
import os

from vmlib import load_json, read_rc, read_text, userspace_exits


class ProofChecks:
    def proof_params(self):
        """repeats, checks, writes, MiB, big MiB, timer, injected
        (guest-suite.sh)."""
        words = read_text(os.path.join(self.out, "proof", "params")).split()
        if len(words) != 7:
            return None
        return [int(w) for w in words[:5]] + words[5:]

    def proof_doc(self, name):
        d = os.path.join(self.out, "proof")
        rc = read_rc(os.path.join(d, f"{name}.rc"))
        doc, err = load_json(os.path.join(d, f"{name}.json"))
        return rc, (doc or {}).get("baseline") or {}, err

    def proof_truth_exits(self, prefix):
        """kvmload's exits to the VMM per reason in one run of the
        workload (its mmio, teardown and timer parts)."""
        d = os.path.join(self.out, "proof")
        parts = ["mmio", "teardown"]
        if os.path.exists(os.path.join(d, f"{prefix}-timer.json")):
            parts.append("timer")
        return userspace_exits(d, prefix, parts)

    def gate_proof(self):
        label = "gate proof"
        params = self.proof_params()
        if not params:
            self.ok(False, f"{label}: the guest ran it",
                    ["no /out/proof/params: the guest suite did not get to it"])
            return
        repeats, checks, writes, mib, big_mib, timer, inject = params
        d = os.path.join(self.out, "proof")
        rc = read_rc(os.path.join(d, "record.rc"))
        base, err = load_json(os.path.join(d, "base.json"))
        spread = [m for m in (base or {}).get("metrics", [])
                  if "spread" in m]
        good = rc == 0 and base is not None and \
            base.get("repeats") == repeats and \
            all(m["spread"]["runs"] == repeats for m in spread) and \
            len(spread) > 0
        self.ok(good, f"{label}: record --repeat {repeats} exits 0 with a "
                f"record of {repeats} runs and the spread of "
                f"{len(spread)} metrics over them",
                [f"exit {rc}", err or "",
                 read_text(os.path.join(d, "record.err"))[-800:]])
        if not good:
            return
        # Its counters add up the runs: the exits to the VMM are
        # kvmload's, reason by reason, times the runs (the same workload
        # each time).
        one = self.proof_truth_exits("base")
        want = {k: v * repeats for k, v in (one or {}).items()}
        got = {m["labels"]["reason"]: m["value"] for m in base["metrics"]
               if m["name"] == "exits.user_exits_by_reason"}
        self.ok(one is not None and got == want,
                f"{label}: the record's exits to the VMM per reason are "
                f"{repeats} runs of kvmload's {one}: {got}",
                [f"want {want}"])
        passed, widened = 0, {}
        for i in range(1, checks + 1):
            rc, bl, err = self.proof_doc(f"same-{i}")
            counts = bl.get("counts", {})
            good = rc == 0 and bl.get("verdict") == "PASS" and \
                counts.get("failed") == 0 and bl.get("runs") == repeats
            passed += good
            for m in bl.get("metrics", []):
                src = m.get("tolerance_from") or {}
                if src.get("source") == "spread":
                    widened[m["metric"]] = max(widened.get(m["metric"], 0),
                                               m["tolerance"])
            if not good:
                self.tap.diag(f"{label}: same-{i}: exit {rc}, "
                              f"{bl.get('verdict')} {json.dumps(counts)}")
                for m in bl.get("metrics", []):
                    if m["verdict"] not in ("PASS", "INFO", "NEW"):
                        self.tap.diag(f"  {json.dumps(m)[:600]}")
        if checks:
            self.ok(passed == checks,
                    f"{label}: the same workload checked {checks} times at "
                    f"the defaults{' (with a timer VM)' if timer != 'none' else ''}: "
                    f"{passed} of {checks} PASS (exit 0, no metric failed; "
                    f"{len(widened)} tolerances widened to the baseline's "
                    "spread)",
                    [f"widest: {json.dumps(sorted(widened.items(), key=lambda kv: -kv[1])[:6])}"])
        self.facts["gate_proof"] = {"same_passed": passed, "checks": checks,
                                    "widened": widened}
        if inject == "stall":
            self.proof_regression("stall", "a 3 s stall of the host",
                                  ("timer.",))
        else:
            self.proof_regression("more-mmio", f"{writes * 2} MMIO writes "
                                  f"instead of {writes}",
                                  ("mmio.", "exits.user_exits",
                                   "exits.exits"))
            self.proof_regression("big-teardown", f"a {big_mib} MiB VM's "
                                  f"teardown instead of {mib} MiB",
                                  ("teardown.",))

    def proof_regression(self, name, what, prefixes):
        """An injected regression: exit 1, FAIL, naming a metric of its
        own detector, in JSON and JUnit."""
        rc, bl, err = self.proof_doc(name)
        failed = [m["metric"] for m in bl.get("metrics", [])
                  if m["verdict"] == "FAIL"]
        own = [m for m in failed if m.startswith(prefixes)]
        junit = read_text(os.path.join(self.out, "proof", f"{name}.xml"))
        good = rc == 1 and bl.get("verdict") == "FAIL" and bool(own) and \
            all(f'<failure message="{m} (' in junit for m in own)
        self.ok(good, f"gate proof: {what}: exit 1, FAIL naming "
                f"{', '.join(own[:4]) or 'none of ' + '/'.join(prefixes)}",
                [f"exit {rc}", err or "", "failed: " + ", ".join(failed),
                 read_text(os.path.join(self.out, "proof",
                                        f"{name}.err"))[-600:]])
        self.facts.setdefault("gate_proof", {})[name] = failed
