#!/usr/bin/env python3
"""kvmwatch export on a real Prometheus, end to end (docs/fleet.md).

usage: tests/fleet/e2e.py [--host] [--no-boot]
  (default)  the testbed (x86_64 7.3): kvmwatch export --listen and
             --textfile under node_exporter run in the guest while kvmload
             makes VMs; Prometheus runs here and scrapes both through
             boot.sh --forward
  --host     the same on this machine: Prometheus scrapes kvmwatch export
             and node_exporter here; the per-VM part needs /dev/kvm and
             says so and skips where it is missing
  --no-boot  query again what an earlier testbed run left (its
             Prometheus data stays in build/fleet/)

Prometheus loads tools/fleet's recording rules and alerts. As TAP:
  - both jobs were scraped; the rules evaluate without error
  - per VM (pid and vm_start), the writes in Prometheus equal kvmload's
    own count, through export --listen and through node_exporter (or fall
    short by no more than the kvm_mmio runs the kernel skipped, which
    kvmwatch exports; never over), and the global counter is their sum
  - the per-VM recording rule has a series for every VM
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "soak"))
sys.path.insert(0, os.path.join(REPO, "tests", "vm"))
sys.dont_write_bytecode = True
from soak import judge_writes, kvmload_vm  # noqa: E402
from vmlib import Tap, read_rc, read_text  # noqa: E402

OUT = os.path.join(REPO, "build", "fleet")
KERNEL = "x86_64-7.3"
RULES = [os.path.join(REPO, "tools", "fleet", f)
         for f in ("kvmwatch-rules.yml", "kvmwatch-alerts.yml")]
JOBS = ("kvmwatch", "node")
# Older than any sample of the run: last_over_time() reaches past the
# staleness markers written when the guest went away.
WINDOW = "2h"
TAP = Tap()
tap = TAP.result


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_http(url, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if http_get(url, 2)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


class Prometheus:
    """Prometheus 2.x on 127.0.0.1, scraping targets {job: addr}."""

    def __init__(self, out, targets):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = os.path.join(out, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n"
                    "  evaluation_interval: 2s\nrule_files:\n")
            f.writelines(f"  - {r}\n" for r in RULES)
            f.write("scrape_configs:\n")
            for job, addr in targets.items():
                f.write(f"  - job_name: {job}\n    static_configs:\n"
                        f"      - targets: ['{addr}']\n")
        self.log = open(os.path.join(out, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={conf}",
             f"--storage.tsdb.path={os.path.join(out, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self):
        return wait_http(self.url + "/-/ready", 60)

    def api(self, path, **params):
        query = urllib.parse.urlencode(params)
        _, body = http_get(f"{self.url}/api/v1/{path}?{query}", 30)
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body[:300]}")
        return doc["data"]

    def query(self, expr):
        """[(labels, value)] of an instant query."""
        return [(r["metric"], float(r["value"][1]))
                for r in self.api("query", query=expr)["result"]]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def truth(out, rounds):
    """[(vm, vm_start label, writes)] of kvmload's mmio VMs."""
    btime = int(open(os.path.join(out, "btime")).read().split()[0])
    vms = []
    for n in range(rounds):
        with open(os.path.join(out, f"mmio-{n}.json")) as f:
            vms += [kvmload_vm(vm, btime) for vm in json.load(f)["vms"]]
    return vms


def unit_caps():
    """The capability set of the listening unit (tools/fleet/)."""
    unit = os.path.join(REPO, "tools", "fleet", "kvmwatch-export.service.in")
    with open(unit) as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                return line.split("=", 1)[1].strip()
    raise RuntimeError(f"{unit}: no CapabilityBoundingSet")


def check_jobs(prom):
    for job in JOBS:
        up = prom.query(f'max_over_time(up{{job="{job}"}}[{WINDOW}])')
        tap(up and up[0][1] == 1, f"Prometheus scraped job {job}: {up}")
    reads = prom.query(f'max(last_over_time(kvmwatch_export_reads_total'
                       f'{{job="kvmwatch"}}[{WINDOW}]))')
    tap(reads and reads[0][1] >= 2,
        f"kvmwatch export answered scrapes ({reads[0][1] if reads else 0:.0f}"
        " reads)")
    info = prom.query(f'last_over_time(kvmwatch_build_info{{job="node"}}'
                      f'[{WINDOW}])')
    tap(len(info) == 1, "node_exporter's textfile collector serves "
        f"kvmwatch's series: {[i[0].get('version') for i in info]}")


def check_rules(prom):
    # Every group evaluated at least once (evaluation_interval 2 s).
    for _ in range(30):
        groups = prom.api("rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        bad = [f"{r['name']}: {r.get('health')} {r.get('lastError', '')}"
               for r in rules if r.get("health") != "ok"]
        if not bad:
            break
        time.sleep(1)
    tap(len(groups) >= 5 and rules and not bad,
        f"{len(rules)} recording rules and alerts in {len(groups)} groups "
        "evaluate without error", bad[:10])
    for _ in range(30):
        rate = prom.query(f'last_over_time(instance:kvmwatch_exits:rate5m'
                          f'{{job="kvmwatch"}}[{WINDOW}])')
        if rate:
            break
        time.sleep(1)
    tap(len(rate) == 1, f"instance:kvmwatch_exits:rate5m recorded: {rate}")
    active = [f"{a['labels']['alertname']} {a['state']}"
              for a in prom.api("alerts")["alerts"]]
    if active:
        print("# alerts pending or firing: " + ", ".join(active))


def check_vms(prom, vms):
    for job in JOBS:
        got = {(m.get("vm"), m.get("vm_start")): v for m, v in prom.query(
            f'sum by (vm, vm_start) (last_over_time('
            f'kvmwatch_mmio_addr_writes_total{{job="{job}"}}[{WINDOW}]))')}
        missed = prom.query(
            f'sum(last_over_time(kvmwatch_export_program_missed_runs_total'
            f'{{job="{job}", program="tp_kvm_mmio"}}[{WINDOW}]))')
        counted = [(f"VM {pid} ({start})", got.get((pid, start), 0), made)
                   for pid, start, made in vms]
        good, desc, details = judge_writes(
            counted, missed[0][1] if missed else 0)
        others = sorted(set(got) - {(p, s) for p, s, _ in vms})
        tap(good and not others and len(vms) >= 2,
            f"job {job}: per-VM writes in Prometheus against kvmload's: "
            f"{desc}", details + [f"a VM kvmload did not make: {o}"
                                  for o in others])
        total = prom.query(f'max(last_over_time(kvmwatch_mmio_writes_total'
                           f'{{job="{job}"}}[{WINDOW}]))')
        tap(total and total[0][1] == sum(got.values()),
            f"job {job}: kvmwatch_mmio_writes_total "
            f"({total[0][1] if total else None}) is the sum over VMs "
            f"({sum(got.values()):.0f})")
    rec = prom.query(f'count(count by (vm, vm_start) (last_over_time('
                     f'vm:kvmwatch_mmio_writes:rate5m{{job="kvmwatch"}}'
                     f'[{WINDOW}]) > 0))')
    n = rec[0][1] if rec else 0
    tap(n == len(vms), f"vm:kvmwatch_mmio_writes:rate5m has every VM: "
        f"{n:.0f} of {len(vms)}")


def testbed(args):
    out = os.path.join(OUT, KERNEL)
    guest = os.path.join(out, "guest")
    ports = {"kvmwatch": free_port(), "node": free_port()}
    if not args.no_boot:
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
    prom = Prometheus(out, {j: f"127.0.0.1:{p}" for j, p in ports.items()})
    try:
        if not prom.ready():
            tap(False, "Prometheus started",
                read_text(os.path.join(out, "prometheus.log"))[-600:]
                .splitlines())
            return
        if not args.no_boot:
            bindir = os.path.join(REPO, "build", "x86_64")
            caps = os.path.join(out, "unit-caps")
            with open(caps, "w") as f:
                f.write(unit_caps() + "\n")
            cmd = [os.path.join(REPO, "tests", "vm", "boot.sh"), "x86_64",
                   "--kernel", KERNEL, "--tools", "node_exporter,capsh",
                   "--file", caps,
                   "--forward", f"{ports['kvmwatch']}:9477",
                   "--forward", f"{ports['node']}:9100",
                   "--file", os.path.join(bindir, "kvmwatch"),
                   "--file", os.path.join(bindir, "kvmload"),
                   "--script", os.path.join(HERE, "guest-e2e.sh"),
                   "--out", guest, "--timeout", "1200"]
            with open(os.path.join(out, "boot.log"), "w") as log:
                rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
            tap(rc == 0, f"the testbed ran the guest half (boot.sh exit {rc})",
                read_text(os.path.join(out, "boot.log"))[-800:]
                .splitlines())
        fleet = os.path.join(guest, "fleet")
        for name in ("listen", "textfile"):
            err = read_text(os.path.join(fleet, f"{name}.err"))
            caps = read_text(os.path.join(fleet, f"{name}.caps")).strip()
            tap("attached" in err and "fentry" in err and read_rc(
                os.path.join(fleet, f"{name}.rc")) == 0,
                f"kvmwatch export ({name}) attached in fentry mode and "
                f"exited 0, as root with "
                f"{'only ' + caps if caps else 'every capability'}",
                err[-600:].splitlines())
        err = read_text(os.path.join(fleet, "nocap.err")).strip()
        tap(read_rc(os.path.join(fleet, "nocap.rc")) == 3 and
            "CAP_SYS_ADMIN" in err,
            "with CAP_BPF and CAP_PERFMON alone, on this kernel "
            f"(perf_event_paranoid {read_text(os.path.join(fleet, 'paranoid')).strip()}"
            f", KVM module BTF): exit 3 saying why: {err[:300]}")
        try:
            rounds = int(read_text(os.path.join(fleet, "rounds")) or 0)
            vms = truth(fleet, rounds)
        except (OSError, ValueError, KeyError) as e:
            tap(False, f"kvmload's ground truth: {e}")
            return
        check_jobs(prom)
        check_rules(prom)
        check_vms(prom, vms)
    finally:
        prom.stop()


def host(args):
    """This machine: the plumbing always, the per-VM figures with KVM."""
    out = os.path.join(OUT, "host")
    shutil.rmtree(out, ignore_errors=True)
    textdir = os.path.join(out, "textfile")
    os.makedirs(textdir)
    kw = os.path.join(REPO, "kvmwatch")
    ports = {"kvmwatch": free_port(), "node": free_port()}
    procs = []
    logs = []

    def start(name, cmd):
        log = open(os.path.join(out, f"{name}.log"), "w")
        logs.append(log)
        procs.append(subprocess.Popen(cmd, stdout=log,
                                      stderr=subprocess.STDOUT))

    start("listen", [kw, "export", "--listen",
                     f"127.0.0.1:{ports['kvmwatch']}", "-i", "1"])
    start("textfile", [kw, "export", "--textfile",
                       os.path.join(textdir, "kvmwatch.prom"), "-i", "1"])
    start("node", ["prometheus-node-exporter",
                   f"--web.listen-address=127.0.0.1:{ports['node']}",
                   "--collector.disable-defaults", "--collector.textfile",
                   f"--collector.textfile.directory={textdir}"])
    prom = Prometheus(out, {j: f"127.0.0.1:{p}" for j, p in ports.items()})
    try:
        tap(prom.ready(), "Prometheus started")
        tap(wait_http(f"http://127.0.0.1:{ports['kvmwatch']}/metrics", 120),
            "kvmwatch export --listen serves /metrics",
            read_text(os.path.join(out, "listen.log"))[-400:].splitlines())
        time.sleep(8)
        vms = []
        if os.path.exists("/dev/kvm"):
            kvmload = os.path.join(REPO, "build", "x86_64", "kvmload")
            with open(os.path.join(out, "btime"), "w") as f:
                f.write(next(ln.split()[1] for ln in open("/proc/stat")
                             if ln.startswith("btime")))
            for n in range(3):
                with open(os.path.join(out, f"mmio-{n}.json"), "w") as f:
                    subprocess.run([kvmload, "mmio", "--vms", "2", "--vcpus",
                                    "2", "-n", "300"], stdout=f, check=False)
            vms = truth(out, 3)
            time.sleep(8)
        check_jobs(prom)
        check_rules(prom)
        if vms:
            check_vms(prom, vms)
        else:
            print("# SKIP per-VM writes against kvmload's: /dev/kvm is "
                  "missing on this host, so no VM can run here (the "
                  "testbed part, tests/fleet/e2e.py, runs them)")
    finally:
        prom.stop()
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()


def main(argv):
    import argparse
    p = argparse.ArgumentParser(prog="tests/fleet/e2e.py")
    p.add_argument("--host", action="store_true")
    p.add_argument("--no-boot", action="store_true")
    args = p.parse_args(argv)
    missing = [t for t in ("prometheus", "prometheus-node-exporter")
               if not shutil.which(t)]
    if missing:
        tap(False, f"{', '.join(missing)} installed (make deps: "
            "tools/deps.sh fleet)")
    elif args.host:
        host(args)
    else:
        testbed(args)
    print(f"1..{TAP.n}")


if __name__ == "__main__":
    main(sys.argv[1:])
