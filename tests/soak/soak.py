#!/usr/bin/env python3
"""make soak: kvmwatch export left attached while VMs come and go, then
checked as a fleet's dashboards would need it (docs/reliability.md).

usage: tests/soak/soak.py [--host] [--kernel KERNEL] [--no-boot] SECONDS
  --host     run on this machine (root, /dev/kvm) instead of the testbed
  --kernel   the testbed kernel (default x86_64-7.3)
  --no-boot  check again what an earlier run left in build/soak/

The workload half is tests/soak/guest-soak.sh; SOAK_GRACE, SOAK_PID_MAX
and SOAK_MODE reach it. At the end, as TAP:
  - every mmio VM's writes in export equal kvmload's (per pid and start),
    or fall short by no more than the kernel's skipped runs of the mmio
    programs, which export counts (docs/reliability.md); none over
  - counters never go back
  - export's RSS after warm-up: its slope (a run of 10 min or more after
    warm-up) or its growth (a shorter run) within 1 MiB
  - per-VM series stay bounded and are all gone --grace after the end
  - a SIGKILLed VMM had its series while it ran, and none at the end
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VM = os.path.join(REPO, "tests", "vm")
sys.path.insert(0, VM)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.dont_write_bytecode = True
import kernels  # noqa: E402
import promparse  # noqa: E402
from vmlib import guest_run_cmd, read_rc, read_text  # noqa: E402

OUT = os.path.join(REPO, "build", "soak")
ENV = ("SOAK_GRACE", "SOAK_PID_MAX", "SOAK_MODE")
RSS_LIMIT_MIB = 1.0
# The first quarter of the run, and at least its first 30 s, warm up:
# maps, allocator, and per-VM series up to --grace's worth of VMs.
WARMUP_SHARE = 0.25
WARMUP_MIN_S = 30
SLOPE_MIN_S = 600
# A skipped kvm:kvm_mmio program is a write not seen (with no fast MMIO
# path, as in the testbed; where there is one, fexit_io_bus_write's too).
MISSED_MMIO = ('kvmwatch_export_program_missed_runs_total'
               '{detector="mmio",program="tp_kvm_mmio"}')


def start_label(btime, ticks):
    """kvmwatch's vm_start of a process started ticks after boot."""
    return "%.2f" % (btime + ticks / 100)


# The MMIO stores of one vCPU in kvmload's JSON, by the path they take.
WRITE_KINDS = ("fast_mmio_writes", "datamatch_writes", "user_mmio_writes",
               "hostcall_writes")


def kvmload_vm(vm, btime):
    """(vm, vm_start, writes) of one VM of kvmload's JSON: its key in
    kvmwatch's labels and the stores its vCPUs made."""
    return (str(vm["pid"]), start_label(btime, vm["start_ticks"]),
            sum(v.get(k, 0) for v in vm["vcpus"] for k in WRITE_KINDS))


def judge_writes(counted, missed, what="kvm_mmio's program"):
    """counted: [(who, seen, made)] per VM. Exact, or short in all by no
    more than the runs the kernel skipped of what (missed, which kvmwatch
    reports: a skipped kvm:kvm_mmio run is a write not seen); never over.
    (good, description, details)."""
    over = [f"{w}: {s:.0f} writes for {m} made" for w, s, m in counted
            if s > m]
    short = [f"{w}: {s:.0f} writes for {m} made" for w, s, m in counted
             if s < m]
    lost = sum(m - s for _, s, m in counted if s < m)
    good = bool(counted) and not over and lost <= (missed or 0)
    desc = (f"{len(counted) - len(short) - len(over)} of {len(counted)} "
            f"mmio VMs exact, {len(short)} short by {lost:.0f} writes in "
            f"all (the kernel skipped {missed or 0:.0f} runs of {what}), "
            f"{len(over)} over")
    return good, desc, over + short[:20]


def sample_of(line):
    """(labels, value) of one exposition line, or None."""
    fams, errors = promparse.parse(line + "\n")
    if errors or not fams or not fams[0].samples:
        return None
    _, labels, value = fams[0].samples[0]
    return labels, value


def read_log(out):
    rounds, truth, lines, globs, killed, klines, failed = [], [], {}, {}, \
        [], {}, []
    for ln in read_text(os.path.join(out, "log")).splitlines():
        word, _, rest = ln.partition(" ")
        n, _, rest = rest.partition(" ")
        if word == "round":
            f = rest.split()
            rounds.append((int(n), float(f[0]), int(f[2] or 0),
                           int(f[4])))
        elif word == "truth":
            pid, ticks, writes = rest.split()
            truth.append((int(n), pid, int(ticks), int(writes)))
        elif word in ("line", "kline", "global"):
            s = sample_of(rest)
            if s:
                dest = {"line": lines, "kline": klines,
                        "global": globs}[word]
                dest.setdefault(int(n), []).append((rest, s))
        elif word == "killed":
            pid, ticks = rest.split()
            killed.append((int(n), pid, int(ticks)))
        elif word == "failed":
            failed.append(ln)
    return rounds, truth, lines, globs, killed, klines, failed


def vm_writes(samples, pid, start):
    return sum(v for _, (labels, v) in samples
               if labels.get("vm") == pid and labels.get("vm_start") == start)


def slope_per_hour(points):
    """Least-squares slope of (seconds, KiB) points, in MiB per hour."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    if not den:
        return 0.0
    num = sum((x - mx) * (y - my) for x, y in points)
    return num / den * 3600 / 1024


def analyze(out, ok):
    """Check a soak's results in out with ok(good, description, details);
    returns its figures."""
    facts = {}
    err = read_text(os.path.join(out, "export.err"))
    ok("kvmwatch: attached" in err, "soak: kvmwatch export attaches",
       [err[-800:]])
    try:
        btime = int(read_text(os.path.join(out, "btime")).strip())
    except ValueError:
        ok(False, "soak: the workload ran", ["no btime: it did not start"])
        return facts
    rounds, truth, lines, globs, killed, klines, failed = read_log(out)
    facts.update(rounds=len(rounds), vms=len(truth), killed=len(killed))
    ok(rounds and not failed, f"soak: {len(rounds)} rounds of kvmload ran, "
       "none failed", failed[:10])

    counted = [(f"round {n}: VM {pid} (start {ticks})",
                vm_writes(lines.get(n, []), pid, start_label(btime, ticks)),
                writes) for n, pid, ticks, writes in truth]
    missed = max([v for n in globs for text, (_, v) in globs[n]
                  if text.startswith(MISSED_MMIO)] or [0])
    good, desc, details = judge_writes(counted, missed)
    facts["vms_wrong"] = sum(s != m for _, s, m in counted)
    facts["mmio_missed_runs"] = missed
    ok(good, f"soak: against kvmload's writes, by pid and start: {desc}",
       details)

    back, last = [], {}
    for n in sorted(globs):
        for text, (labels, value) in globs[n]:
            name = text.split()[0]
            if value < last.get(name, 0):
                back.append(f"round {n}: {name} {last[name]} -> {value}")
            last[name] = value
    ok(globs and not back, f"soak: {len(last)} counters never go back "
       f"over {len(globs)} reads", back[:20])

    if rounds:
        t0, t1 = rounds[0][1], rounds[-1][1]
        warm = t0 + max((t1 - t0) * WARMUP_SHARE, WARMUP_MIN_S)
        after = [(t, rss) for _, t, rss, _ in rounds if t >= warm] or \
            [(rounds[-1][1], rounds[-1][2])]
        before = [rss for _, t, rss, _ in rounds if t < warm] or \
            [after[0][1]]
        facts["rss_kib_first"] = rounds[0][2]
        facts["rss_kib_warm"] = max(before)
        facts["rss_kib_last"] = rounds[-1][2]
        facts["rss_kib_max"] = max(r[2] for r in rounds)
        span = after[-1][0] - after[0][0] if after else 0
        if span >= SLOPE_MIN_S and len(after) >= 3:
            slope = slope_per_hour(after)
            facts["rss_mib_per_hour"] = round(slope, 3)
            ok(slope <= RSS_LIMIT_MIB, f"soak: export's RSS after warm-up "
               f"grows {slope:.2f} MiB/hour over {span:.0f} s (at most "
               f"{RSS_LIMIT_MIB})")
        else:
            grown = (max(r for _, r in after) - max(before)) / 1024 \
                if after else 0
            facts["rss_mib_growth_after_warmup"] = round(grown, 3)
            ok(grown <= RSS_LIMIT_MIB, f"soak: export's RSS after warm-up "
               f"grows {grown:.2f} MiB over {span:.0f} s (at most "
               f"{RSS_LIMIT_MIB}; the slope needs {SLOPE_MIN_S} s)")
        series = [s for *_, s in rounds]
        half = series[:max(1, len(series) // 2)]
        facts["series_max"] = max(series)
        ok(max(series) <= 2 * max(half), "soak: per-VM series stay "
           f"bounded: at most {max(series)} (first half {max(half)})")

    final = read_text(os.path.join(out, "export-final.prom"))
    left = [ln for ln in final.splitlines() if 'vm="' in ln]
    ok(final and not left, "soak: --grace after the last VM, no per-VM "
       "series is left", left[:10])
    for n, pid, ticks in killed:
        start = start_label(btime, ticks)
        seen = vm_writes(klines.get(n, []), pid, start)
        ok(seen > 0 and f'vm="{pid}",vm_start="{start}"' not in final,
           f"soak: SIGKILLed VMM {pid} (round {n}): {seen:.0f} writes in "
           "its series after it died, none at the end")
    ok(read_rc(os.path.join(out, "export.rc")) == 0,
       "soak: export exits 0 on SIGINT", [err[-600:]])
    return facts


class Tap:
    def __init__(self):
        self.n = self.failed = 0

    def ok(self, good, desc, details=()):
        self.n += 1
        self.failed += not good
        print(f"{'ok' if good else 'not ok'} {self.n} - {desc}")
        if not good:
            for d in details:
                for ln in str(d).splitlines():
                    print(f"# {ln}")
        return good


def run_host(seconds, out):
    arch = os.uname().machine
    arch = "arm64" if arch == "aarch64" else arch
    env = dict(os.environ, SOAK_SECONDS=str(seconds), SOAK_OUT=out,
               PATH=os.path.join(REPO, "build", arch) + ":" +
               os.environ.get("PATH", ""))
    return subprocess.run(["sh", os.path.join(HERE, "guest-soak.sh")],
                          env=env).returncode


def run_testbed(seconds, name, out):
    script = os.path.join(OUT, f"{name}-guest.sh")
    with open(script, "w") as f:
        f.write(f"SOAK_SECONDS={int(seconds)}\n")
        f.write(f"SOAK_PID_MAX={os.environ.get('SOAK_PID_MAX', '400')}\n")
        for var in ENV:
            if os.environ.get(var):
                f.write(f"{var}='{os.environ[var]}'\n")
        f.write(read_text(os.path.join(HERE, "guest-soak.sh")))
    return subprocess.run(guest_run_cmd(name, script, out,
                                        int(seconds) + 1200)).returncode


def main(argv):
    host = "--host" in argv
    boot = "--no-boot" not in argv
    name = "x86_64-7.3"
    args = [a for a in argv if a not in ("--host", "--no-boot")]
    if "--kernel" in args:
        i = args.index("--kernel")
        name = args[i + 1] if i + 1 < len(args) else ""
        del args[i:i + 2]
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) < 10 or \
            (not host and name not in kernels.names()):
        print("usage: tests/soak/soak.py [--host] [--kernel KERNEL] "
              f"[--no-boot] SECONDS (10 or more)\nkernels: "
              f"{' '.join(kernels.names())}", file=sys.stderr)
        return 2
    seconds = int(args[0])
    if host and (os.geteuid() != 0 or not os.path.exists("/dev/kvm")):
        print("soak: --host needs root and /dev/kvm; without them, run it "
              "in the testbed (no --host)", file=sys.stderr)
        return 2
    where = "host" if host else name
    out = os.path.join(OUT, where)
    os.makedirs(OUT, exist_ok=True)
    t0 = time.monotonic()
    if boot:
        rc = run_host(seconds, out) if host else \
            run_testbed(seconds, name, out)
        if rc:
            print(f"soak: the {where} run failed (exit {rc}); see "
                  f"{os.path.relpath(out, REPO)}/", file=sys.stderr)
    tap = Tap()
    # The guest writes /out/soak; a host run writes out itself.
    facts = analyze(out if host else os.path.join(out, "soak"), tap.ok)
    facts.update(where=where, seconds=seconds,
                 took_s=round(time.monotonic() - t0),
                 date=time.strftime("%Y-%m-%d"))
    with open(os.path.join(OUT, f"{where}.json"), "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")
    print(f"# soak ({where}, {seconds} s): {json.dumps(facts)}")
    print(f"{tap.n - tap.failed} passed, {tap.failed} failed")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
