"""Exact per VM while PIDs and TIDs come back: export and top against
kvmload's ground truth, round by round, in both attach modes.

The guest (pid_reuse in guest-suite.sh) lowers kernel.pid_max to 400, so
a later round's VMMs and vCPU threads get the pids and tids of earlier
ones. A VM is its VMM's pid and start (docs/kvmwatch.8, vm_start): each
must have exactly the writes it made (or fewer by no more than the runs
of kvm_mmio's program the kernel skipped, which kvmwatch reports), none
of another's, and the global counter the sum over VMs. A part of ArchRun
(tests/vm/suite.py).
"""

import json
import os
import subprocess
import sys

from vmlib import REPO, load_json, read_rc, read_text

sys.path.insert(0, os.path.join(REPO, "tests", "soak"))
import soak as soak_run  # noqa: E402
from soak import judge_writes, kvmload_vm, start_label  # noqa: E402

ADDR_WRITES = "kvmwatch_mmio_addr_writes_total"
ALL_WRITES = "kvmwatch_mmio_writes_total"
MISSED = "kvmwatch_export_program_missed_runs_total"
# The LAPIC page: what a timer VM writes, never an mmio VM.
LAPIC = (0xfee00000, 0xfee01000)


class PidReuseChecks:
    def reuse_prom(self, path):
        """{(vm, vm_start): {addr: writes}} and the global write count of
        one export file; None when unreadable."""
        sys.path.insert(0, os.path.join(REPO, "tests"))
        import promparse  # noqa: E402
        text = read_text(path)
        fams, errors = promparse.parse(text) if text else ([], ["empty"])
        if errors:
            return None, None, errors[:5]
        fams = {f.name: f for f in fams}
        vms = {}
        for _, labels, value in getattr(fams.get(ADDR_WRITES), "samples",
                                        []):
            key = (labels.get("vm"), labels.get("vm_start"))
            addrs = vms.setdefault(key, {})
            addr = int(labels.get("addr", "0"), 16)
            addrs[addr] = addrs.get(addr, 0) + value
        total = [v for _, _, v in getattr(fams.get(ALL_WRITES), "samples",
                                          [])]
        self.reuse_missed = sum(
            v for _, labels, v in getattr(fams.get(MISSED), "samples", [])
            if labels.get("program") == "tp_kvm_mmio")
        return vms, (total[0] if total else None), []

    def reuse_round(self, d, n, btime):
        """The round's VMs: [(key, writes or None for a timer VM)]."""
        vms = []
        for kind in ("mmio", "timer"):
            truth, _ = load_json(os.path.join(d, f"{kind}-{n}.json"))
            for vm in (truth or {}).get("vms", []):
                pid, start, writes = kvmload_vm(vm, btime)
                key = (pid, start)
                tids = [v.get("tid") for v in vm["vcpus"]]
                vms.append((key, writes if kind == "mmio" else None, tids))
        return vms

    def pid_reuse(self, mode):
        d = os.path.join(self.out, f"pid-reuse-{mode}")
        name = f"pid-reuse ({mode})"
        for who in ("export", "top"):
            err = read_text(os.path.join(d, f"{who}.err"))
            self.ok("kvmwatch: attached" in err,
                    f"{name}: kvmwatch {who} attaches", [err[-800:]])
        try:
            btime = int(read_text(os.path.join(d, "btime")).strip())
            rounds = int(read_text(os.path.join(d, "rounds")).strip())
        except ValueError:
            self.ok(False, f"{name}: the guest ran the rounds",
                    ["no btime or rounds file"])
            return
        seen_ids, reused, all_vms = set(), [], []
        wrong, counted, lapic_ok, sums = [], [], True, []
        self.reuse_missed = 0
        prev_total = 0
        for n in range(rounds):
            vms = self.reuse_round(d, n, btime)
            for key, _, tids in vms:
                ids = [key[0]] + [str(t) for t in tids]
                reused += [i for i in ids if i in seen_ids]
                seen_ids.update(ids)
            all_vms += vms
            got, total, errors = self.reuse_prom(
                os.path.join(d, f"export-{n}.prom"))
            if got is None:
                wrong.append(f"round {n}: export file: {errors}")
                continue
            round_sum = 0
            for key, writes, _ in vms:
                addrs = got.get(key, {})
                seen = sum(addrs.values())
                round_sum += seen
                if writes is None:
                    lapic_ok &= all(LAPIC[0] <= a < LAPIC[1] for a in addrs)
                else:
                    counted.append((f"round {n}: VM {key}", seen, writes))
            sums.append((round_sum, (total or 0) - prev_total))
            prev_total = total or 0
        mmio_vms = [v for v in all_vms if v[1] is not None]
        self.ok(len(reused) > 0 and len({v[0] for v in all_vms}) ==
                len(all_vms),
                f"{name}: pids and tids came back ({len(reused)} ids of "
                f"{len(seen_ids)} reused over {rounds} rounds), each VM "
                "still one (pid, vm_start)", [str(reused[:20])])
        good, desc, details = judge_writes(counted, self.reuse_missed)
        self.ok(good and not wrong and len(mmio_vms) == 2 * rounds,
                f"{name}: export, against kvmload's writes: {desc}",
                wrong[:5] + details)
        self.ok(rounds > 0 and lapic_ok,
                f"{name}: export: the timer VMs' writes are all to their "
                "LAPIC page")
        bad = [f"round {i}: VMs {a:.0f}, global {b:.0f}"
               for i, (a, b) in enumerate(sums) if a != b]
        self.ok(sums and not bad,
                f"{name}: export: each round's growth of {ALL_WRITES} is "
                "the sum over its VMs", bad)
        self.promtool_metrics(os.path.join(d, "export-0.prom"), name)
        self.reuse_top(d, name, btime, mmio_vms)
        self.reuse_killed(d, name, btime)

    def promtool_metrics(self, path, name):
        """Prometheus's own linter on an exposition with per-VM series of
        every kind: no warning (base units, _total, help texts)."""
        try:
            with open(path, "rb") as f:
                run = subprocess.run(["promtool", "check", "metrics"],
                                     stdin=f, capture_output=True,
                                     timeout=120)
            rc, said = run.returncode, (run.stdout + run.stderr).decode()
        except (OSError, subprocess.TimeoutExpired) as e:
            rc, said = None, str(e)
        self.ok(rc == 0 and not said.strip(),
                f"{name}: promtool check metrics on export's exposition "
                f"with VMs: rc {rc}, no warning", said.splitlines()[:10])

    def reuse_top(self, d, name, btime, mmio_vms):
        """top's per-interval documents, summed per VM."""
        rc = read_rc(os.path.join(d, "top.rc"))
        per_vm, totals, docs, missed = {}, 0, 0, None
        for line in read_text(os.path.join(d, "top.json")).splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            docs += 1
            # All the mmio programs' skipped runs: top has no split.
            missed = (doc.get("missed_runs") or {}).get("mmio", missed)
            mmio = doc.get("mmio") or {}
            totals += (mmio.get("totals") or {}).get("writes", 0)
            for vm in mmio.get("vms", []):
                key = (str(vm["pid"]), "%.2f" % vm["vm_start"]
                       if vm.get("vm_start") else None)
                per_vm[key] = per_vm.get(key, 0) + vm["writes"]
        good, desc, details = judge_writes(
            [(f"VM {v[0]}", per_vm.get(v[0], 0), v[1]) for v in mmio_vms],
            missed, "the mmio programs, all together in top's JSON")
        self.ok(rc == 0 and docs > 0 and good,
                f"{name}: top -b -d 1, {docs} interval documents summed per "
                f"VM (exit {rc}): {desc}", details)
        self.ok(docs > 0 and totals == sum(per_vm.values()),
                f"{name}: top: the interval totals sum to the VMs' "
                f"({totals} and {sum(per_vm.values())})")

    def reuse_killed(self, d, name, btime):
        """A SIGKILLed VMM: its series while it ran, none after --grace."""
        killed = read_text(os.path.join(d, "killed")).split()
        if len(killed) != 2:
            self.ok(False, f"{name}: a VMM was killed mid-run",
                    ["its VM process was not found"])
            return
        key = (killed[0], start_label(btime, int(killed[1])))
        live, _, e1 = self.reuse_prom(os.path.join(d,
                                                   "export-killed-live.prom"))
        gone, _, e2 = self.reuse_prom(os.path.join(d,
                                                   "export-killed-gone.prom"))
        seen = sum((live or {}).get(key, {}).values())
        self.ok(seen > 0 and gone is not None and key not in gone,
                f"{name}: a SIGKILLed VMM {key}: {seen:.0f} writes while it "
                "ran, no series after --grace", e1 + e2 +
                [str(sorted(gone or {}))])
        self.ok(read_rc(os.path.join(d, "export.rc")) == 0,
                f"{name}: export exits 0 on SIGINT",
                [read_text(os.path.join(d, "export.err"))[-600:]])

    def soak(self):
        """make soak's checks over the suite's short run."""
        facts = soak_run.analyze(
            os.path.join(self.out, "soak"),
            lambda good, desc, details=(): self.ok(good, desc,
                                                   list(details)))
        self.facts["soak"] = facts
