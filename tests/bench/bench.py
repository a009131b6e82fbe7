#!/usr/bin/env python3
"""make bench: what observing KVM costs, kvmwatch beside its peers,
measured side by side in one testbed boot (docs/performance.md).

usage: tests/bench/bench.py [--no-boot] [KERNEL...]   (default: x86_64-6.12)
  --no-boot  tabulate again what an earlier run left in build/bench/
  BENCH_REPS (5), BENCH_WRITES (10000), BENCH_TIMER_S (3) and
  BENCH_OBSERVERS (all) reach the guest half, tests/bench/guest-bench.sh.

Every figure is a ratio to the untraced run of the same repetition, or a
time, size or BPF cost of the observer itself; the table goes to stdout
and build/bench/<kernel>.md, the figures to build/bench/<kernel>.json.
"""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VM = os.path.join(REPO, "tests", "vm")
sys.path.insert(0, VM)
sys.dont_write_bytecode = True
import kernels  # noqa: E402
from vmlib import guest_run_cmd, load_json, read_text  # noqa: E402

OUT = os.path.join(REPO, "build", "bench")
ENV = ("BENCH_REPS", "BENCH_WRITES", "BENCH_TIMER_S", "BENCH_OBSERVERS")
TIMEOUT = 7200


def number(path):
    try:
        return float(read_text(path).split()[0])
    except (IndexError, ValueError):
        return None


def doorbell_ns(d):
    """ns per fast-MMIO doorbell store, as kvmload timed it."""
    doc, _ = load_json(os.path.join(d, "doorbell.json"))
    try:
        v = doc["vms"][0]["vcpus"][0]
        return v["fast_mmio_ns"] / v["fast_mmio_writes"]
    except (TypeError, KeyError, IndexError, ZeroDivisionError):
        return None


def timer_irqs(d):
    """Timer interrupts the guest took in kvmload's fixed time."""
    doc, _ = load_json(os.path.join(d, "timer.json"))
    try:
        return sum(v["interrupts"] for vm in doc["vms"]
                   for v in vm["vcpus"])
    except (TypeError, KeyError):
        return None


def program_costs(d):
    """{program name: [run_time_ns, run_cnt]} of the observer's programs:
    the guest runs no other BPF (Debian's bpftool names no holders)."""
    doc, _ = load_json(os.path.join(d, "progs.json"))
    out = {}
    for p in doc or []:
        c = out.setdefault(p.get("name", "?"), [0, 0])
        c[0] += p.get("run_time_ns", 0)
        c[1] += p.get("run_cnt", 0)
    return out


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "n": len(values)}


def figures(out):
    observers = read_text(os.path.join(out, "observers")).split()
    reps = sorted(int(n[4:]) for n in os.listdir(out)
                  if n.startswith("rep-"))
    exits = number(os.path.join(out, "exits"))
    rows = {}
    for obs in observers:
        if obs == "untraced":
            continue
        door, timer, attach, detach, hwm, bpf_ns, progs = ([] for _ in
                                                          range(7))
        costs = {}
        for r in reps:
            base = os.path.join(out, f"rep-{r}", "untraced")
            d = os.path.join(out, f"rep-{r}", obs)
            a, b = doorbell_ns(d), doorbell_ns(base)
            door.append(a / b if a and b else None)
            a, b = timer_irqs(d), timer_irqs(base)
            timer.append(b / a if a and b else None)
            cs = number(os.path.join(d, "attach_cs"))
            attach.append(cs / 100 if cs is not None else None)
            cs = number(os.path.join(d, "detach_cs"))
            detach.append(cs / 100 if cs is not None else None)
            kb = number(os.path.join(d, "hwm_kb"))
            hwm.append(kb / 1024 if kb is not None else None)
            for name, (ns, cnt) in program_costs(d).items():
                c = costs.setdefault(name, [0, 0])
                c[0] += ns
                c[1] += cnt
            stats = read_text(os.path.join(d, "bpf")).split()
            if len(stats) == 3 and exits:
                bpf_ns.append(int(stats[0]) / exits)
                progs.append(int(stats[2]))
        rows[obs] = {"doorbell": spread(door), "timer_cpu": spread(timer),
                     "attach_s": spread(attach), "detach_s": spread(detach),
                     "peak_rss_mib": spread(hwm),
                     "bpf_ns_per_exit": spread(bpf_ns),
                     "bpf_programs": max(progs) if progs else None,
                     # ns per exit and runs per exit, over all repetitions
                     "program_costs": {
                         n: {"ns_per_exit": ns / exits / len(reps),
                             "runs_per_exit": cnt / exits / len(reps),
                             "ns_per_run": ns / cnt if cnt else None}
                         for n, (ns, cnt) in sorted(
                             costs.items(), key=lambda kv: -kv[1][0])}
                     if exits and reps else {}}
    return {"kernel": read_text(os.path.join(out, "kernel")).strip(),
            "params": read_text(os.path.join(out, "params")).split(),
            "perf": read_text(os.path.join(out, "perf-version")).strip(),
            "bpftrace": read_text(os.path.join(out,
                                               "bpftrace-version")).strip(),
            "exits": exits, "reps": len(reps), "observers": rows}


def cell(s, fmt, ranged=True):
    if not s:
        return "-"
    text = fmt.format(s["median"])
    if ranged and s["n"] > 1:
        text += f" ({fmt.format(s['min'])}-{fmt.format(s['max'])})"
    return text


def table(fig, arch):
    reps, writes, timer_s, period = (fig["params"] + ["?"] * 4)[:4]
    lines = [
        f"{arch}, kernel {fig['kernel']}, {fig['reps']} interleaved "
        f"repetitions; {fig['perf']}; {fig['bpftrace']}",
        f"workloads: kvmload mmio -n {writes} (1 vCPU; ns per doorbell "
        f"store), kvmload timer --period-us {period} --seconds {timer_s} "
        f"(the interrupts its guest took, untraced / observed); "
        f"{fig['exits']:.0f} kvm:kvm_exit over both",
        "ratios to untraced in the same repetition: median (min-max)",
        "",
        "| observer | doorbell | timer | attach s | detach s | peak RSS "
        "MiB | BPF ns/exit | BPF programs |",
        "|---|---|---|---|---|---|---|---|"]
    for obs, r in fig["observers"].items():
        lines.append(
            f"| {obs} | {cell(r['doorbell'], '{:.2f}')} | "
            f"{cell(r['timer_cpu'], '{:.2f}')} | "
            f"{cell(r['attach_s'], '{:.1f}')} | "
            f"{cell(r['detach_s'], '{:.1f}')} | "
            f"{cell(r['peak_rss_mib'], '{:.1f}', False)} | "
            f"{cell(r['bpf_ns_per_exit'], '{:.0f}')} | "
            f"{r['bpf_programs'] if r['bpf_programs'] is not None else '-'} |")
    for obs, r in fig["observers"].items():
        costly = list(r["program_costs"].items())[:8]
        if not costly:
            continue
        lines += ["", f"{obs}: the costliest programs, ns per kvm_exit "
                  "(runs per kvm_exit, ns per run)", ""]
        lines += [f"    {n:<24} {c['ns_per_exit']:8.0f} "
                  f"({c['runs_per_exit']:.2f}, {c['ns_per_run'] or 0:.0f})"
                  for n, c in costly]
    return "\n".join(lines) + "\n"


def run(name, boot=True):
    variant = kernels.load(name)
    arch = variant["arch"]
    out = os.path.join(OUT, name)
    script = os.path.join(OUT, f"{name}-guest.sh")
    os.makedirs(OUT, exist_ok=True)
    with open(script, "w") as f:
        for var in ENV:
            if os.environ.get(var):
                f.write(f"{var}='{os.environ[var]}'\n")
        f.write(read_text(os.path.join(HERE, "guest-bench.sh")))
    cmd = guest_run_cmd(name, script, out, TIMEOUT,
                        tools="perf,bpftrace,bpftool")
    t0 = time.monotonic()
    res = subprocess.run(cmd) if boot else None
    if res and res.returncode:
        print(f"bench: {name}: the testbed run failed (exit "
              f"{res.returncode}); see {os.path.relpath(out, REPO)}/",
              file=sys.stderr)
        return 1
    fig = figures(out)
    text = table(fig, arch)
    if not boot:
        print(text)
        return 0
    fig["took_s"] = round(time.monotonic() - t0)
    with open(os.path.join(OUT, f"{name}.md"), "w") as f:
        f.write(f"`make bench` ({name}), {time.strftime('%Y-%m-%d')}, "
                f"{fig['took_s']} s\n\n{text}")
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(fig, f, indent=1)
        f.write("\n")
    print(text)
    return 0


def main(argv):
    boot = "--no-boot" not in argv
    names = [a for a in argv if a != "--no-boot"] or ["x86_64-6.12"]
    unknown = [n for n in names if n not in kernels.names()]
    if unknown:
        print(f"usage: tests/bench/bench.py [KERNEL...]\nkernels: "
              f"{' '.join(kernels.names())}", file=sys.stderr)
        return 2
    return max(run(n, boot) for n in names)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
