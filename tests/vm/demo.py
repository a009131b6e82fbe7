"""make demo, as make test runs it: without a terminal, tools/demo.sh
boots the testbed, runs its workload and prints top's batch reports;
asserted: it finishes, its output is the reports and a few progress
lines (no dump), and the reports show the workload's named VMs and their
MMIO writes. Then on a terminal (tmux): the interactive top shows them,
and q ends the demo."""

import os
import shutil
import subprocess
import sys
import time

import kernels
from vmlib import REPO, Tap, read_text

SECONDS = 9			# three 3-second reports
NAMES = ("doorbell", "ticker", "counters", "shortlived")
INTERACTIVE_WAIT = 900		# seconds for the first screen with a VM


def interactive(tap):
    """make demo on a terminal (tmux, 100x30): the interactive top shows
    the named VMs, and q quits it and ends the demo with exit 0."""
    if not shutil.which("tmux"):
        tap.result(False, "tmux is installed (make deps)")
        return
    sock = os.path.join(REPO, "build", "demo", f"tmux-{os.getpid()}.sock")

    def t(*args):
        return subprocess.run(["tmux", "-S", sock] + list(args),
                              capture_output=True, text=True)

    def screen():
        return t("capture-pane", "-p", "-t", "demo").stdout

    t("new-session", "-d", "-s", "demo", "-x", "100", "-y", "30",
      f"TERM=xterm {os.path.join(REPO, 'tools', 'demo.sh')} x86_64; "
      "echo DEMO-RC=$?; sleep 120")
    shown = ""
    deadline = time.monotonic() + INTERACTIVE_WAIT
    while time.monotonic() < deadline:
        shown = screen()
        if "doorbell" in shown and "q quit" in shown:
            break
        time.sleep(2)
    good = "doorbell" in shown and "q quit" in shown
    tap.result(good, "make demo on a terminal: the interactive top shows "
               "the named VMs and its keys", [] if good else
               shown.splitlines()[-12:])
    t("send-keys", "-t", "demo", "q")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and "DEMO-RC=" not in shown:
        time.sleep(2)
        shown = screen()
    good = "DEMO-RC=0" in shown
    tap.result(good, "q quits it, the guest powers off, the demo exits 0",
               [] if good else shown.splitlines()[-8:])
    t("kill-server")
    try:
        os.unlink(sock)
    except OSError:
        pass


def recorded_times():
    """The demo's record of its first reports here, in seconds."""
    text = read_text(os.path.join(kernels.CACHE, "demo",
                                  "x86_64-first-report-s"))
    return [int(x) for x in text.split() if x.isdigit()]


def check_budget(tap, shown, before, took):
    """The guest's budget is three times the slowest of the last five
    first reports measured here, plus a minute and the reports (at least
    two minutes beyond them), or 10 minutes with none; and this run
    recorded its own."""
    if before:
        want = max(SECONDS + 60 + 3 * max(before[-5:]), SECONDS + 120)
    else:
        want = SECONDS + 600
    said = [line for line in shown if line.startswith("demo: at most ")]
    good = bool(said) and said[0].split()[3] == str(want)
    tap.result(good, f"make demo allows {want} s, from the first reports "
               f"measured here before ({before[-5:]})", [] if good else
               said[:1] or ["no budget line"])
    after = recorded_times()
    good = len(after) >= 1 and after[-1] <= took and after[-1] > 0 and \
        after[:-1][-4:] == before[-4:]
    tap.result(good, f"make demo recorded when its first report came "
               f"({after[-1:]} s of {took:.0f} s)", [] if good else
               [f"before {before}", f"after {after}"])


def main():
    tap = Tap()
    env = dict(os.environ, DEMO_BATCH="1")
    before = recorded_times()
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(REPO, "tools", "demo.sh"), "x86_64",
                        str(SECONDS)], cwd=REPO, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, errors="replace")
    took = time.monotonic() - t0
    shown = p.stdout.splitlines()
    tap.result(p.returncode == 0, f"make demo (batch) finished, exit 0 "
               f"(rc={p.returncode}, {took:.0f} s)",
               [] if p.returncode == 0 else (p.stderr.splitlines()[-5:] or
                                             shown[-10:]))
    check_budget(tap, shown, before, took)
    text = read_text(os.path.join(REPO, "build", "demo", "x86_64",
                                  "top.txt"))
    reports = text.split("kvmwatch top - ")[1:]
    tap.result(len(reports) == SECONDS // 3, f"it printed {SECONDS // 3} "
               f"reports ({len(reports)})")
    long_lines = [line for line in shown if len(line) > 300]
    b64ish = [line for line in shown if len(line) > 60 and " " not in line]
    tap.result(not long_lines and not b64ish,
               "what it printed is reports and progress lines, no dump",
               [x[:120] for x in (long_lines + b64ish)[:3]])
    seen, unnamed = set(), set()
    for report in reports:
        for line in report.splitlines()[1:]:
            f = line.split()
            # A VM row: PID, "-", NAME, EXITS/s ...
            if len(f) > 4 and f[1] == "-" and f[0].isdigit() and \
                    f[2] not in NAMES:
                unnamed.add(f"{f[0]} {f[2]}")
            if len(f) > 4 and f[1] == "-" and f[2] in NAMES:
                try:
                    if float(f[3]) > 0 or float(f[4]) > 0:
                        seen.add(f[2])
                except ValueError:
                    pass
    tap.result("doorbell" in seen, "the reports name the workload's VMs "
               f"and show their exits (seen: {sorted(seen)})")
    tap.result(not unnamed, "every VM row has its -name, those made before "
               "kvmwatch attached too", sorted(unnamed)[:5])
    writes = 0
    # A header wraps at the width: its lines after the first are indented.
    for line in text.replace("\n  ", " ").splitlines():
        if line.startswith("MMIO writes") and " writes: " in line:
            try:
                writes = max(writes, int(line.split(" writes: ")[0]
                                         .split()[-1]))
            except ValueError:
                pass
    tap.result(writes > 0, f"the MMIO table counts the doorbell's writes "
               f"({writes} in the busiest report)")
    interactive(tap)
    print(f"1..{tap.n}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
