#!/usr/bin/env python3
"""make bench: what observing KVM costs, kvmwatch beside its peers,
measured side by side in one testbed boot (docs/performance.md).

usage: tests/bench/bench.py [--no-boot] [KERNEL...]   (default: x86_64-6.12)
  --no-boot  tabulate again what an earlier run left in build/bench/
  BENCH_REPS (5), BENCH_WRITES (10000), BENCH_TIMER_S (3) and
  BENCH_OBSERVERS (all) and BENCH_SCALE (VMSxVCPUS run at once under
  kvmwatch top for its peak RSS: 256x4; 0: none) reach the guest half,
  tests/bench/guest-bench.sh.
  BENCH_BASE=REF builds kvmwatch at git commit REF as well, and adds the
  observers kvmwatch-base and kvmwatch-base-tracepoint: a change's
  before and after, side by side in the same repetitions.

Every figure is a ratio to the untraced run of the same repetition, or a
time, size or BPF cost of the observer itself; the table goes to stdout
and build/bench/<kernel>.md, the figures to build/bench/<kernel>.json.
"""

import json
import os
import re
import shutil
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
ENV = ("BENCH_REPS", "BENCH_WRITES", "BENCH_TIMER_S", "BENCH_OBSERVERS",
       "BENCH_SCALE")
TIMEOUT = 7200
BASE_OBSERVERS = "kvmwatch-base kvmwatch-base-tracepoint"


def build_base(ref, arch):
    """kvmwatch built at commit ref for arch, in a worktree kept under
    build/bench/ (a second bench of the same commit builds nothing):
    the path of its binary, copied as kvmwatch-base."""
    sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--verify",
                          f"{ref}^{{commit}}"], capture_output=True,
                         text=True)
    if sha.returncode:
        raise SystemExit(f"bench: BENCH_BASE={ref}: no such commit")
    sha = sha.stdout.strip()
    tree = os.path.join(OUT, f"base-{sha[:12]}")
    if not os.path.isdir(tree):
        subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach",
                        tree, sha], check=True, capture_output=True)
    subprocess.run(["make", "-C", tree, "--no-print-directory", "V=0",
                    f"ARCH={arch}", "all"], check=True)
    binary = os.path.join(OUT, f"kvmwatch-base-{arch}", "kvmwatch-base")
    os.makedirs(os.path.dirname(binary), exist_ok=True)
    shutil.copyfile(os.path.join(tree, "build", arch, "kvmwatch"), binary)
    os.chmod(binary, 0o755)
    print(f"bench: kvmwatch-base is {sha[:12]} ({ref})", flush=True)
    return binary, sha[:12]


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


TIMING = re.compile(r"^kvmwatch: \[(\d+\.\d+) s\] (.*)$")


def timing_steps(d):
    """{step: seconds since start} from KVMWATCH_TIMING's lines; a step's
    count ("attached 5 links") left out so that runs line up, and the
    memory lines ("exits: heap ...") too."""
    steps = {}
    for line in read_text(os.path.join(d, "observer.err")).splitlines():
        m = TIMING.match(line)
        if m and ": heap " not in m.group(2):
            steps.setdefault(re.sub(r"\d+ ", "N ", m.group(2)),
                             float(m.group(1)))
    return steps


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
        costs, steps = {}, {}
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
            for step, t in timing_steps(d).items():
                steps.setdefault(step, []).append(t)
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
                     # KVMWATCH_TIMING: median seconds from start
                     "steps": {k: statistics.median(v)
                               for k, v in steps.items()},
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
            "exits": exits, "reps": len(reps), "observers": rows,
            "scale": scale_figures(out)}


SCALE_VIEWS = ("top", "top-json", "export")


def scale_figures(out):
    """kvmwatch's peak RSS in each view while many VMs ran at once, and
    the most VMs and vCPU threads a report of it held: JSON documents
    counted, export's series by their vm and vcpu labels, the exits
    table's VM rows (no vCPU index) and vCPU rows of the text."""
    d = os.path.join(out, "scale")
    params = read_text(os.path.join(d, "params")).split()
    if len(params) != 2:
        return None
    views = {}
    # The base build's views (BENCH_BASE) ran beside them in the same boot.
    for view in SCALE_VIEWS + tuple("base-" + v for v in SCALE_VIEWS):
        vd = os.path.join(d, view)
        if view.startswith("base-") and not os.path.isdir(vd):
            continue
        kb = number(os.path.join(vd, "hwm_kb"))
        most_vms = most_vcpus = 0
        if view.endswith("top-json"):
            for line in read_text(os.path.join(vd, "observer.out")).splitlines():
                try:
                    vms = json.loads(line).get("vms") or []
                except (ValueError, AttributeError):
                    continue
                most_vms = max(most_vms, len(vms))
                most_vcpus = max(most_vcpus, sum(
                    len(vm.get("vcpus") or []) for vm in vms))
        elif view.endswith("export"):
            pids, tids = set(), set()
            for line in read_text(os.path.join(vd, "last.prom")).splitlines():
                pid = re.search(r'[{,]vm="(\d+)"', line)
                vcpu = re.search(r'[{,]vcpu="([^"]+)"', line)
                if pid and not line.startswith("#"):
                    pids.add(pid.group(1))
                    if vcpu:
                        tids.add((pid.group(1), vcpu.group(1)))
            most_vms, most_vcpus = len(pids), len(tids)
        else:
            vms = vcpus = 0
            table = False
            for line in read_text(os.path.join(vd, "observer.out")).splitlines():
                if "PID/TID" in line:	# the exits table's header
                    vms, vcpus, table = 0, 0, True
                elif not line.strip():
                    table = False
                elif table and re.match(r"\s*\d+\s+-\s", line):
                    vms += 1	# a VM's row: no vCPU index
                elif table and re.match(r"\s*\d+\s+(\d+|\?)\s", line):
                    vcpus += 1
                most_vms = max(most_vms, vms)
                most_vcpus = max(most_vcpus, vcpus)
        views[view] = {"peak_rss_mib": kb / 1024 if kb is not None
                       else None, "most_vms": most_vms,
                       "most_vcpus": most_vcpus}
    return {"vms": int(params[0]), "vcpus": int(params[1]), "views": views}


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
        *([f"kvmwatch-base: kvmwatch built at {fig['base']}"]
          if fig.get("base") else []),
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
    timed = {obs: r["steps"] for obs, r in fig["observers"].items()
             if r.get("steps")}
    if timed:
        names = list(timed)
        order = sorted({k for st in timed.values() for k in st},
                       key=lambda k: min(st.get(k, 1e9)
                                         for st in timed.values()))
        lines += ["", "start-up and shutdown (KVMWATCH_TIMING), median "
                  "seconds from start", "",
                  "| step | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        for k in order:
            lines.append(f"| {k} | " + " | ".join(
                f"{timed[n][k]:.2f}" if k in timed[n] else "-"
                for n in names) + " |")
    sc = fig.get("scale")
    if sc:
        lines += ["", f"while {sc['vms']} VMs x {sc['vcpus']} vCPUs ran at "
                  "once (kvmload timer), kvmwatch reading every 2 s:", "",
                  "| view | peak RSS MiB | VMs in its fullest report | "
                  "vCPU threads |", "|---|---|---|---|"]
        for view, v in sc["views"].items():
            rss = v["peak_rss_mib"]
            lines.append(f"| {view} | {'-' if rss is None else f'{rss:.1f}'}"
                         f" | {v['most_vms']} | "
                         f"{v['most_vcpus']} |")
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
    base = os.environ.get("BENCH_BASE")
    with open(script, "w") as f:
        for var in ENV:
            if os.environ.get(var):
                f.write(f"{var}='{os.environ[var]}'\n")
        if base and not os.environ.get("BENCH_OBSERVERS"):
            f.write(f"BENCH_EXTRA_OBSERVERS='{BASE_OBSERVERS}'\n")
        f.write(read_text(os.path.join(HERE, "guest-bench.sh")))
    cmd = guest_run_cmd(name, script, out, TIMEOUT,
                        tools="perf,bpftrace,bpftool")
    if base and boot:
        binary, sha = build_base(base, arch)
        cmd += ["--file", binary]
        with open(os.path.join(OUT, f"{name}.base"), "w") as f:
            f.write(f"{sha} {base}\n")
    t0 = time.monotonic()
    res = subprocess.run(cmd) if boot else None
    if res and res.returncode:
        print(f"bench: {name}: the testbed run failed (exit "
              f"{res.returncode}); see {os.path.relpath(out, REPO)}/",
              file=sys.stderr)
        return 1
    fig = figures(out)
    base_note = os.path.join(OUT, f"{name}.base")
    if "kvmwatch-base" in " ".join(fig["observers"]) and \
            os.path.exists(base_note):
        fig["base"] = read_text(base_note).strip()
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
