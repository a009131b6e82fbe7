"""VM names (the names group of tests/vm/guest-names.sh): what top, top -g
and export call each VM, against the names its command line gave it.

kvmload takes QEMU's -name as QEMU does; its VM processes carry it on
their command line, where kvmwatch reads it (docs/kvmwatch.8, NAMES). A
part of ArchRun (tests/vm/suite.py).
"""

import csv
import json
import os
import re
import sys

from vmlib import REPO, load_json, read_rc, read_text

# The VMs the guest made, and the name each must have.
NAMED = {"web1": "web1", "web2": "web2", "plain": "kvmload"}


def last_doc(path):
    """The last complete JSON document of a one-per-line stream, with the
    last detectors block the stream gave (schema 2: not in each)."""
    doc, detectors = None, None
    for line in read_text(path).splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        detectors = doc.get("detectors", detectors)
    if doc is not None and detectors is not None:
        doc["detectors"] = detectors
    return doc


def export_guests(path):
    """{vm label: the guest labels of its series (None: a series without
    one)} of an export textfile, and promparse's parse errors."""
    sys.path.insert(0, os.path.join(REPO, "tests"))
    import promparse  # noqa: E402
    fams, errors = promparse.parse(read_text(path))
    guests = {}
    for fam in fams:
        for _, labels, _ in fam.samples:
            if "vm" in labels:
                guests.setdefault(labels["vm"], set()).add(
                    labels.get("guest"))
    return guests, errors


class NameChecks:
    def names(self):
        d = os.path.join(self.out, "names")
        truth = {}
        for vm in NAMED:
            t, err = load_json(os.path.join(d, f"{vm}.json"))
            good = t is not None and read_rc(os.path.join(d, f"{vm}.rc")) == 0
            self.ok(good, f"names: kvmload {vm} ran",
                    [] if good else [err or read_text(
                        os.path.join(d, f"{vm}.err"))[-400:]])
            if good:
                truth[vm] = t
        if len(truth) != len(NAMED):
            return
        pids = {vm: t["vms"][0]["pid"] for vm, t in truth.items()}
        for which in ("all", "web"):
            rc = read_rc(os.path.join(d, f"{which}.rc"))
            self.ok(rc == 0, f"names: top ({which}) exit 0 (rc={rc})",
                    [] if rc == 0 else
                    [read_text(os.path.join(d, f"{which}.err"))[-600:]])
        every = last_doc(os.path.join(d, "all.json")) or {}
        named = {v.get("pid"): v.get("name") for v in every.get("vms", [])}
        for vm, want in NAMED.items():
            got = named.get(pids[vm], "(not listed)")
            self.ok(got == want, f"names: top names VM {vm} (pid "
                    f"{pids[vm]}) '{want}'", [] if got == want
                    else [f"kvmwatch: {got!r}", f"all: {named}"])
        self.names_ports(every, truth, pids)
        web = last_doc(os.path.join(d, "web.json")) or {}
        listed = sorted(v.get("pid") for v in web.get("vms", []))
        want = sorted([pids["web1"], pids["web2"]])
        self.ok(listed == want, "names: top -g 'web*' lists web1 and web2 "
                f"only ({want})", [] if listed == want else
                [f"listed: {listed}", f"plain: {pids['plain']}"])
        # Teardowns outlive their VMs, and are filtered as well: each
        # kvmload VMM tore its VM down as it exited.
        for which, doc, want_pids in (
                ("top", every, pids.values()),
                ("top -g 'web*'", web, (pids["web1"], pids["web2"]))):
            torn = sorted(t.get("pid") for t in
                          (doc.get("teardown") or {}).get("recent", []))
            self.ok(torn == sorted(want_pids), f"names: {which} lists the "
                    f"teardowns of {sorted(want_pids)}", [] if
                    torn == sorted(want_pids) else [f"listed: {torn}"])
        # Filtered, the figures are the VMs' own: each vCPU's returns to
        # the VMM equal kvmload's.
        for vm in ("web1", "web2"):
            self.match_exits(f"names: top -g: {vm}",
                             {"vms": truth[vm]["vms"]}, web)
        self.names_log(d, truth)
        self.names_reasons(d, truth["web1"], pids["web1"])
        guests, errors = export_guests(os.path.join(d, "export-final.prom"))
        for vm, want in NAMED.items():
            got = guests.get(str(pids[vm]), set()) - {None}
            self.ok(got == {want}, f"names: export labels VM {vm}'s "
                    f"series guest=\"{want}\"", [] if got == {want} else
                    [f"guest labels of vm {pids[vm]}: {sorted(got)}",
                     f"parse errors: {errors[:3]}"])

    def names_log(self, d, truth):
        """top -c -L: one header, rows as wide as it, each row's reason
        columns adding up to its exits, and the returns to the VMM over
        the rows those kvmload made (the only VMs of the guest then)."""
        rc = read_rc(os.path.join(d, "log.rc"))
        self.ok(rc == 0, f"names: top -c -L exit 0 (rc={rc})",
                [] if rc == 0 else
                [read_text(os.path.join(d, "log.err"))[-600:]])
        rows = list(csv.reader(read_text(os.path.join(d, "log.csv"))
                               .splitlines()))
        header = rows[0] if rows else []
        body = rows[1:]
        good = header[:3] == ["time", "interval_s", "vms"] and len(body) >= 3
        self.ok(good, f"names: the CSV log has its header and a row per "
                f"interval ({len(body)} rows)", [] if good else
                [f"header: {header[:8]}", f"rows: {body[:2]}"])
        if not good:
            return
        col = {name: i for i, name in enumerate(header)}
        first_reason = col["vmm_exits_per_s"] + 1
        first_vmm = col["other"] + 1
        bad = []
        vmm_total = 0
        for n, row in enumerate(body):
            if len(row) != len(header):
                bad.append(f"row {n}: {len(row)} columns")
                continue
            kernel = sum(int(v) for v in row[first_reason:col["other"] + 1])
            vmm = sum(int(v) for v in row[first_vmm:])
            if kernel != int(row[col["exits"]]) or \
                    vmm != int(row[col["vmm_exits"]]):
                bad.append(f"row {n}: reasons {kernel}/{vmm}, exits "
                           f"{row[col['exits']]}/{row[col['vmm_exits']]}")
            vmm_total += int(row[col["vmm_exits"]])
        self.ok(not bad, "names: every CSV row as wide as the header, its "
                "reasons adding up to its exits and its exits to the VMM",
                bad[:5])
        want = sum(n for t in truth.values() for vm in t["vms"]
                   for vcpu in vm["vcpus"]
                   for n in vcpu.get("userspace_exits", {}).values())
        self.ok(vmm_total == want, f"names: the CSV rows' exits to the VMM "
                f"add up to kvmload's KVM_RUN returns ({want})",
                [] if vmm_total == want else [f"log: {vmm_total}"])

    def names_reasons(self, d, truth, pid):
        """top -b -C -g web1 --reasons at 80 columns: its last report lists
        web1 alone, every line fits, and its reason table counts the
        returns to the VMM kvmload made, reason by reason."""
        rc = read_rc(os.path.join(d, "reasons.rc"))
        text = read_text(os.path.join(d, "reasons.txt"))
        last = text.split("kvmwatch top - ")[-1].splitlines()[1:]
        self.ok(rc == 0 and len(last) > 3, f"names: top --reasons exit 0 "
                f"(rc={rc}) with a report", [] if rc == 0 else
                [read_text(os.path.join(d, "reasons.err"))[-600:]])
        wide = [line for line in text.splitlines() if len(line) > 80]
        self.ok(not wide, "names: top -b at COLUMNS=80: every table and "
                "line fits 80 columns",
                [f"{len(w)}: {w}" for w in wide[:3]])
        vm_rows = [line.split() for line in last
                   if len(line.split()) > 2 and line.split()[1] == "-" and
                   line.split()[0].isdigit()]
        good = [r[0] for r in vm_rows] == [str(pid)] and vm_rows[0][2] == "web1"
        self.ok(good, f"names: top -g web1 lists VM {pid} (web1) alone",
                [] if good else [f"VM rows: {vm_rows}"])
        got = {}
        order = []
        for line in last:
            f = line.split()
            if f and f[0].startswith("vmm:") and len(f) > 2:
                got[f[0][4:]] = int(f[1])
                # MIN-US AVG-US P99-US MAX-US: the shortest's bucket
                # floor, the mean, two buckets' upper bounds.
                times = [float(x) for x in f[4:8] if x != "-"]
                if len(times) == 4 and not (
                        times[0] <= times[1] <= times[3] and
                        times[2] <= times[3]):
                    order.append(line)
        self.ok(not order and got, "names: --reasons: each reason's "
                "MIN-US <= AVG-US <= MAX-US and P99-US <= MAX-US", order)
        # One base for every share: the in-kernel reasons add up to 100%,
        # the VMM's to the share of exits that went to it.
        table = last[next((i for i, line in enumerate(last)
                           if line.startswith("REASON ")), len(last)):]
        rows = [line.split() for line in table[1:]
                [:next((i for i, line in enumerate(table[1:])
                        if not line.strip()), len(table))]]
        shares = {"kernel": 0.0, "vmm": 0.0}
        counts = {"kernel": 0, "vmm": 0}
        for f in rows:
            kind = "vmm" if f[0].startswith("vmm:") else "kernel"
            shares[kind] += float(f[2].rstrip("%"))
            counts[kind] += int(f[1])
        slack = 0.05 * len(rows) + 0.01
        vmm_share = 100.0 * counts["vmm"] / max(counts["kernel"], 1)
        good = abs(shares["kernel"] - 100) <= slack and \
            abs(shares["vmm"] - vmm_share) <= slack
        self.ok(good, f"names: --reasons: every %TOTAL is of the exits: "
                f"in-kernel reasons {shares['kernel']:.1f}%, the VMM's "
                f"{shares['vmm']:.1f}% (its returns over the exits: "
                f"{vmm_share:.1f}%)", [] if good else table[:12])
        self.names_teardown_rows(text)
        want = {}
        for vm in truth["vms"]:
            for vcpu in vm["vcpus"]:
                for k, n in vcpu.get("userspace_exits", {}).items():
                    if n:
                        want[k] = want.get(k, 0) + n
        self.ok(got == want, f"names: --reasons counts web1's returns to "
                f"the VMM by reason, as kvmload ({want})",
                [] if got == want else [f"kvmwatch: {got}"])

    def names_teardown_rows(self, text):
        """The teardown table's rows, in every report: RUN_MS (cut at the
        teardown's ends) within TOTAL_MS, and a STRETCH_MS longer than
        RUN_MS only when marked * (it reached outside the teardown)."""
        rows, bad = [], []
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if "TOTAL_MS" not in line:
                continue
            for row in lines[i + 1:]:
                f = [x for x in row.split() if x not in ("+", "~")]
                if len(f) < 6 or not f[0].isdigit():
                    break
                rows.append(row)
                total, run = float(f[3]), float(f[4])
                stretch = f[5]
                if run > total or (stretch != "-" and
                                   not stretch.endswith("*") and
                                   float(stretch) > run + 0.1):
                    bad.append(row)
        self.ok(rows and not bad, f"names: {len(rows)} teardown rows: "
                "RUN_MS <= TOTAL_MS, a longer STRETCH_MS marked *", bad[:4])

    def names_ports(self, doc, truth, pids):
        """x86: each VM's port I/O exits by port (top's "ports") equal
        the OUTs kvmload's VMM took per port; arm64 has no port I/O: null."""
        vms = {v.get("pid"): v for v in doc.get("vms", [])}
        for name, t in truth.items():
            got_vm = vms.get(pids[name], {})
            if self.arch != "x86_64":
                good = "ports" in got_vm and got_vm["ports"] is None
                self.ok(good, f"names: {name}: no port I/O on "
                        f"{self.arch}: ports null", [] if good else
                        [f"ports: {got_vm.get('ports', '(missing)')}"])
                continue
            want = {}
            for vcpu in t["vms"][0]["vcpus"]:
                for port, n in vcpu.get("port_outs", {}).items():
                    want[port] = want.get(port, 0) + n
            got = {p["port"]: p["count"] for p in got_vm.get("ports") or []
                   if p.get("direction") == "out"}
            ins = [p for p in got_vm.get("ports") or []
                   if p.get("direction") != "out"]
            good = got == want and not ins and want
            self.ok(good, f"names: {name}: port I/O exits by port as "
                    f"kvmload's VMM took them ({want})", [] if good else
                    [f"kvmwatch: {got_vm.get('ports')}"])

    def qemu(self):
        """The qemu group: Debian's QEMU ran a VM on this KVM from the
        firmware of tools/kvmload; its report on QEMU's debugcon says how
        many OUTs it made to which port. top (tracepoint mode), top -g
        'qemu-*' (default mode) and export name the VM from QEMU's -name
        and count those OUTs, and the report's own bytes, port by port."""
        d = os.path.join(self.out, "qemu")
        report = read_text(os.path.join(d, "report.txt"))
        m = re.fullmatch(r"kvmwatch-firmware outs=(\d+) port=(0x[0-9a-f]+) "
                         r"report-port=(0x[0-9a-f]+) done\n", report)
        qrc = read_rc(os.path.join(d, "qemu.rc"))
        good = m is not None and qrc == 0
        self.ok(good, f"qemu: Debian's QEMU ran its VM under -accel kvm to "
                f"the firmware's report and quit on SIGTERM (rc={qrc})",
                [] if good else [f"report: {report[:200]!r}",
                                 read_text(os.path.join(d, "qemu.err"))
                                 [-600:]])
        if not good:
            return
        pid = int(read_text(os.path.join(d, "qemu.pid")).strip())
        want = {int(m.group(2), 16): int(m.group(1)),
                int(m.group(3), 16): len(report)}
        for which, mode in (("all", "tracepoint"), ("only", "fentry")):
            rc = read_rc(os.path.join(d, f"{which}.rc"))
            doc = last_doc(os.path.join(d, f"{which}.json")) or {}
            vms = {v.get("pid"): v for v in doc.get("vms", [])}
            vm = vms.get(pid, {})
            good = rc == 0 and vm.get("name") == "qemu-fw"
            flt = ", -g qemu-*" if which == "only" else ""
            self.ok(good, f"qemu: top ({mode} mode{flt}) names QEMU's VM "
                    f"(pid {pid}) 'qemu-fw' from -name "
                    "guest=qemu-fw,debug-threads=on", [] if good else
                    [f"rc {rc}", "VMs: " + str({p: v.get("name")
                                                for p, v in vms.items()}),
                     read_text(os.path.join(d, f"{which}.err"))[-400:]])
            got = {int(p["port"], 16): p["count"]
                   for p in vm.get("ports") or []
                   if p.get("direction") == "out"}
            self.ok(got == want, f"qemu: top ({mode} mode): the VM's port "
                    f"I/O exits by port are the firmware's OUTs "
                    f"({ {hex(p): n for p, n in want.items()} })",
                    [] if got == want else [f"kvmwatch: {vm.get('ports')}"])
            if which == "only":
                others = sorted(p for p in vms if p != pid)
                self.ok(not others, "qemu: top -g 'qemu-*' lists QEMU's VM "
                        "alone", [f"also: {others}"] if others else [])
        every, errors = export_guests(os.path.join(d, "export-live.prom"))
        guests = every.get(str(pid), set())
        self.ok(guests == {"qemu-fw"}, "qemu: export labels the QEMU VM's "
                "series guest=\"qemu-fw\"", [] if guests == {"qemu-fw"}
                else [f"guest labels of vm {pid}: "
                      f"{sorted(map(str, guests))}",
                      f"parse errors: {errors[:3]}"])
