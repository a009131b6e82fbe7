#!/usr/bin/env python3
"""Boot the nested-KVM testbed: a Debian 6.12 kernel under QEMU TCG with
real KVM inside, an initramfs with busybox, the given static binaries and
a guest script; bring the guest's /out back to the host.

Called through tests/vm/boot.sh; docs/testbed.md describes the design.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# Outside the clone, so a fresh clone reuses what an earlier one fetched.
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kernels  # noqa: E402

from bootlib import (  # noqa: E402
    ARCHES, BASE64_LINE, CONTROL, EXIT_NOT_FINISHED, EXIT_TIMEOUT, EXIT_USAGE,
    HOST_FILES, TAIL_LINES, TestbedError, log)
from initramfs import base_initramfs, fetch_kernel, overlay_initramfs  # noqa: E402

# ---------------------------------------------------------------- output

def prepare_out(out):
    """Create DIR, or empty one that an earlier boot.sh run created."""
    stamp = os.path.join(out, ".testbed-out")
    if os.path.isdir(out) and os.listdir(out):
        if not os.path.exists(stamp):
            raise TestbedError(f"--out {out}: directory is not empty and "
                               "was not made by boot.sh; refusing to "
                               "overwrite it", EXIT_USAGE)
        for name in os.listdir(out):
            p = os.path.join(out, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    os.makedirs(out, exist_ok=True)
    open(stamp, "w").close()


class ConsoleEcho:
    """The console for -v, line by line, with the base64 of /out said in
    one line rather than shown (hundreds of lines that tell a reader
    nothing)."""

    def __init__(self):
        self.pending = b""
        self.inside = 0

    def feed(self, chunk):
        lines = (self.pending + chunk).split(b"\n")
        self.pending = lines.pop()
        shown = []
        for ln in lines:
            if re.search(rb"@@KVMTB-\w+ OUT-BEGIN", ln):
                self.inside = 1
            elif self.inside and re.search(rb"@@KVMTB-\w+ OUT-END", ln):
                shown.append(b"[/out sent as %d lines of base64]" %
                             (self.inside - 1))
                self.inside = 0
            elif self.inside:
                self.inside += 1
            else:
                shown.append(ln)
        return b"".join(ln + b"\n" for ln in shown)


def tail(path, n=TAIL_LINES):
    """The last n lines of a log; for a console log, without the base64 of
    /out, which says nothing to a reader."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    lines = ConsoleEcho().feed(data + b"\n").decode(errors="replace")
    # The firmware's terminal resets must not reach ours.
    return "\n".join(CONTROL.sub("", ln) for ln in lines.splitlines()[-n:])


def decode_out(console, prefix, out):
    """Decode the /out archive between the last begin and end markers.

    Returns the guest script's status; raises if the archive is missing or
    damaged (its size and md5 are printed with the end marker).
    """
    lines = [ln.rstrip(b"\r") for ln in console.split(b"\n")]
    begin = end = None
    for i, ln in enumerate(lines):
        at = ln.find(prefix)
        if at > 0:
            lines[i] = ln = ln[at:]
        if ln.startswith(prefix + b"OUT-BEGIN"):
            begin, end = i, None
        elif ln.startswith(prefix + b"OUT-END") and begin is not None:
            end = i
    if begin is None or end is None:
        raise TestbedError("the guest did not send /out back (no end "
                           "marker on the console)", EXIT_NOT_FINISHED)
    fields = lines[end][len(prefix):].split()
    try:
        status, size, md5 = int(fields[1]), int(fields[2]), fields[3]
    except (IndexError, ValueError):
        raise TestbedError("malformed end marker: " +
                           lines[end].decode(errors="replace"),
                           EXIT_NOT_FINISHED)
    body = lines[begin + 1:end]
    data = b"".join(ln.strip() for ln in body if BASE64_LINE.match(ln))
    noise = sum(1 for ln in body if ln.strip() and not BASE64_LINE.match(ln))
    try:
        blob = base64.b64decode(data, validate=True)
    except ValueError as e:
        raise TestbedError(f"/out archive is not valid base64 ({e}); "
                           f"{noise} foreign lines on the console",
                           EXIT_NOT_FINISHED)
    if len(blob) != size or hashlib.md5(blob).hexdigest().encode() != md5:
        raise TestbedError(f"/out archive damaged on the console: got "
                           f"{len(blob)} bytes, expected {size} (md5 "
                           f"{md5.decode()}); {noise} foreign lines",
                           EXIT_NOT_FINISHED)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        members = []
        for m in tar.getmembers():
            name = os.path.normpath(m.name)
            if name in HOST_FILES:
                log(f"guest file /out/{name} skipped: boot.sh owns {name}")
                continue
            # Debian 12's Python 3.11.2 has no extraction filters: keep
            # plain files and directories inside DIR only.
            if (name.startswith(("/", "..")) or
                    not (m.isfile() or m.isdir())):
                log(f"guest file /out/{m.name} skipped: not a plain file "
                    "or directory inside /out")
                continue
            m.mode = (m.mode & 0o777) | (0o700 if m.isdir() else 0o600)
            members.append(m)
        tar.extractall(out, members=members)
    return status


# ---------------------------------------------------------------- QEMU

def network(forwards):
    """No network, or a virtio NIC that reaches nothing (restrict=on) but
    whose guest TCP ports the host reaches on 127.0.0.1 (HOST:GUEST)."""
    if not forwards:
        return ["-nic", "none"]
    fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in forwards)
    return ["-netdev", f"user,id=net0,restrict=on{fwd}",
            "-device", "virtio-net-pci,netdev=net0"]


def qemu_command(arch, kernel, initrd, append, forwards=()):
    a = ARCHES[arch]
    return ([a["qemu"]] + a["machine"] +
            ["-m", "2G", "-smp", "2", "-kernel", kernel, "-initrd", initrd,
             "-append", append, "-nographic", "-no-reboot"] +
            network(forwards))


def cmdline(arch, nonce, mode, extra=()):
    return " ".join([f"console={ARCHES[arch]['console']}", "quiet",
                     "panic=-1", f"kvmtb_nonce={nonce}",
                     f"kvmtb_epoch={int(time.time())}",
                     f"kvmtb_mode={mode}"] + list(extra))


def run_script(args, cmd, prefix):
    """Run QEMU with the console on a pipe; watch it for markers."""
    out = args.out
    console_path = os.path.join(out, "console.log")
    stall_marker = args.stall_on.encode() if args.stall_on else None
    stall = {"marker": args.stall_on, "requested_s": args.stall_for,
             "triggered": False}
    boot = {"arch": args.arch, "variant": args.variant,
            "kernel": args.kver, "qemu": cmd,
            "timeout_s": args.timeout, "timed_out": False,
            "finished": False}

    qemu_log = open(os.path.join(out, "qemu.log"), "wb")
    console = open(console_path, "wb", buffering=0)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=qemu_log,
                            start_new_session=True,
                            preexec_fn=die_with_parent)
    fd = proc.stdout.fileno()
    deadline = t0 + args.timeout
    pending = b""  # the current incomplete console line
    echo = ConsoleEcho()
    window = b""  # the tail of the stream, to find a split stall marker
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                boot["timed_out"] = True
                break
            ready, _, _ = select.select([fd], [], [], min(0.5,
                                                          deadline - now))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            now = time.monotonic()
            console.write(chunk)
            if args.verbose:
                shown = echo.feed(chunk)
                if shown:
                    sys.stdout.buffer.write(shown)
                    sys.stdout.flush()
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for ln in lines:
                # Escape sequences from the firmware may precede a marker.
                at = ln.find(prefix)
                if at < 0:
                    continue
                word, _, rest = ln[at + len(prefix):].strip().partition(b" ")
                if word == b"INIT" and "init_s" not in boot:
                    boot["init_s"] = round(now - t0, 3)
                    try:
                        boot["guest_uptime_at_init_s"] = float(rest)
                    except ValueError:
                        pass
                elif word == b"KVM":
                    boot["dev_kvm"] = rest == b"ok"
                elif word == b"READY":
                    boot["ready_s"] = round(now - t0, 3)
                elif word == b"SCRIPT-TIMEOUT":
                    boot["script_timed_out"] = True
                elif word == b"OUT-BEGIN":
                    boot["script_end_s"] = round(now - t0, 3)
            if stall_marker:
                # Each marker its stall: a guest prints it once for each
                # pause it wants.
                window += chunk
                at = window.find(stall_marker)
                while at >= 0:
                    stall_for(proc, stall, t0, args.stall_for)
                    deadline += args.stall_for
                    window = window[at + len(stall_marker):]
                    at = window.find(stall_marker)
                window = window[-(len(stall_marker) - 1):] \
                    if len(stall_marker) > 1 else b""
    except KeyboardInterrupt:
        log("interrupted, stopping QEMU")
        boot["interrupted"] = True
    finally:
        try:
            # After "poweroff -f" QEMU exits by itself; give it a moment.
            proc.wait(timeout=0 if boot["timed_out"] or
                      boot.get("interrupted") else 10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        console.close()
        qemu_log.close()
    boot["total_s"] = round(time.monotonic() - t0, 3)
    boot["qemu_status"] = proc.returncode

    try:
        if boot.get("interrupted"):
            raise TestbedError("interrupted", 130)
        if boot["timed_out"]:
            raise TestbedError(f"timeout: the guest did not finish within "
                               f"{args.timeout} s; QEMU killed",
                               EXIT_TIMEOUT)
        with open(console_path, "rb") as f:
            status = decode_out(f.read(), prefix, out)
        boot["finished"] = True
        boot["script_status"] = status
        if boot.get("script_timed_out"):
            raise TestbedError(f"timeout: the guest script ran over "
                               f"{args.script_limit} s and was killed; "
                               f"what it wrote to /out is in {out}",
                               EXIT_TIMEOUT)
    except TestbedError as e:
        boot["error"] = str(e)
        raise
    finally:
        write_json(os.path.join(out, "boot.json"), boot)
        if stall_marker:
            write_json(os.path.join(out, "stall.json"), stall)
            if not stall["triggered"]:
                log(f"warning: stall marker '{args.stall_on}' never "
                    "appeared; QEMU was not paused")
    return status, boot


def die_with_parent():
    """In the QEMU child: get SIGKILL when boot.sh dies, however it dies,
    so that no emulator is left running."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def stall_for(proc, stall, t0, seconds):
    """Pause the whole QEMU process: the guest sees its clocks jump."""
    seen = time.monotonic()
    wall = time.time()
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(proc.pid, signal.SIGCONT)
    resumed = time.monotonic()
    this = {"stopped_at_s": round(seen - t0, 3),
            "stopped_at_epoch": round(wall, 3),
            "resumed_at_s": round(resumed - t0, 3),
            "stopped_for_s": round(resumed - seen, 3)}
    # The first at the top (the timer-stall scenario's), every one listed.
    if not stall["triggered"]:
        stall.update(this)
    stall["triggered"] = True
    stall.setdefault("stalls", []).append(this)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def run_interactive(args, cmd):
    """Console on this terminal (Ctrl-A X quits); logged if --out given."""
    chardev = "stdio,id=con,mux=on,signal=off"
    if args.out:
        chardev += ",logfile=" + os.path.join(args.out, "console.log")
    # The monitor shares the console; -nographic would add a second one.
    i = cmd.index("-nographic")
    cmd[i:i + 1] = ["-display", "none", "-chardev", chardev,
                    "-serial", "chardev:con", "-mon", "chardev=con"]
    print("testbed: interactive console, Ctrl-A X quits QEMU",
          file=sys.stderr)
    return subprocess.call(cmd, preexec_fn=die_with_parent)


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="tests/vm/boot.sh",
        description="Boot the nested-KVM testbed (a Debian kernel of "
        "tests/vm/kernels/, QEMU TCG, real KVM inside) and run a script "
        "in it.")
    p.add_argument("arch", choices=sorted(ARCHES))
    p.add_argument("--kernel", metavar="VARIANT",
                   help="the kernel variant of tests/vm/kernels/ to boot "
                   "(default: the arch's Debian 12 6.12)")
    p.add_argument("--file", action="append", default=[], metavar="PATH",
                   help="copy PATH into the guest's /bin (repeatable)")
    p.add_argument("--tools", metavar="TOOL,...",
                   help="Debian's perf and/or bpftrace in the guest, with "
                   "their libraries (tests/vm/guesttools.py)")
    p.add_argument("--script", metavar="GUEST_SCRIPT",
                   help="/bin/sh script to run in the guest")
    p.add_argument("--out", metavar="DIR",
                   help="host directory for console.log, boot.json and "
                   "what the script wrote to /out")
    p.add_argument("--timeout", type=float, default=300, metavar="SEC",
                   help="kill QEMU after SEC seconds (default 300)")
    p.add_argument("--forward", action="append", default=[],
                   metavar="HOSTPORT:GUESTPORT",
                   help="reach the guest's TCP port on the host's "
                   "127.0.0.1:HOSTPORT (x86_64; the guest reaches nothing)")
    p.add_argument("--stall-on", metavar="MARKER",
                   help="SIGSTOP QEMU when MARKER first appears on the "
                   "console")
    p.add_argument("--stall-for", type=float, metavar="SEC",
                   help="how long to keep QEMU stopped")
    p.add_argument("--interactive", action="store_true",
                   help="attach the console to this terminal")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also copy the console to stdout as it comes")
    args = p.parse_args(argv)

    if args.interactive:
        if args.stall_on or args.stall_for is not None:
            p.error("--stall-on/--stall-for need a scripted run, not "
                    "--interactive")
    else:
        if not args.script:
            p.error("--script is required (or use --interactive)")
        if not args.out:
            p.error("--out is required with --script")
    if (args.stall_on is None) != (args.stall_for is None):
        p.error("--stall-on and --stall-for go together")
    if args.stall_on == "":
        p.error("--stall-on: empty marker")
    if args.stall_for is not None and args.stall_for <= 0:
        p.error("--stall-for: must be > 0 seconds")
    if args.timeout <= 0:
        p.error("--timeout: must be > 0 seconds")
    args.forwards = []
    for spec in args.forward:
        m = re.fullmatch(r"(\d{1,5}):(\d{1,5})", spec)
        if not m or not all(0 < int(x) < 65536 for x in m.groups()):
            p.error(f"--forward {spec}: HOSTPORT:GUESTPORT, each 1-65535")
        args.forwards.append((int(m.group(1)), int(m.group(2))))
    if args.forwards and not ARCHES[args.arch]["modules"]:
        p.error("--forward: the arm64 testbed has no NIC driver packed")
    for path in args.file + ([args.script] if args.script else []):
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            p.error(f"{path}: no such readable file")
    names = [os.path.basename(f) for f in args.file]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        p.error(f"--file: two files named {', '.join(sorted(dup))}")
    if "busybox" in names:
        p.error("--file: busybox is provided by the testbed")
    return args


def main(argv):
    args = parse_args(argv)
    qemu = ARCHES[args.arch]["qemu"]
    if not shutil.which(qemu):
        raise TestbedError(f"{qemu} not found: install the Debian package "
                           f"{ARCHES[args.arch]['qemu_pkg']}")
    try:
        variant = kernels.load(args.kernel or kernels.DEFAULT[args.arch])
    except kernels.KernelError as e:
        raise TestbedError(str(e), EXIT_USAGE)
    if variant["arch"] != args.arch:
        raise TestbedError(f"--kernel {variant['name']} is an "
                           f"{variant['arch']} kernel, not {args.arch}",
                           EXIT_USAGE)
    fetched = fetch_kernel(variant)
    args.variant = variant["name"]
    args.kver = fetched["kver"]
    kernel = fetched["image"]
    base = base_initramfs(args.arch, fetched)
    overlay = overlay_initramfs(args.arch, args.file, args.script)
    if args.tools:
        # guesttools builds on this module: let it share this copy (and
        # its TestbedError) when this file runs as the script.
        sys.modules.setdefault("testbed", sys.modules[__name__])
        import guesttools
        overlay += guesttools.overlay(args.arch, args.tools)
    if args.out:
        prepare_out(args.out)

    nonce = secrets.token_hex(6)
    prefix = f"@@KVMTB-{nonce} ".encode()
    with tempfile.TemporaryDirectory(prefix="kvmtb-") as tmp:
        # The kernel unpacks concatenated cpio archives in order.
        initrd = os.path.join(tmp, "initrd.cpio")
        with open(initrd, "wb") as f:
            f.write(base)
            f.write(overlay)
        if args.interactive:
            size = shutil.get_terminal_size()
            extra = [f"kvmtb_term={os.environ.get('TERM', 'vt100')}",
                     f"kvmtb_rows={size.lines}", f"kvmtb_cols={size.columns}"]
            cmd = qemu_command(args.arch, kernel, initrd,
                               cmdline(args.arch, nonce, "interactive",
                                       extra))
            return run_interactive(args, cmd)
        # Leave time for the boot before the script and for sending /out.
        args.script_limit = int(max(args.timeout - 60, args.timeout / 2))
        cmd = qemu_command(args.arch, kernel, initrd,
                           cmdline(args.arch, nonce, "script",
                                   [f"kvmtb_script_limit="
                                    f"{args.script_limit}"]),
                           args.forwards)
        try:
            status, boot = run_script(args, cmd, prefix)
        except TestbedError as e:
            log(f"{args.arch}: {e}")
            print(f"--- last {TAIL_LINES} lines of "
                  f"{os.path.join(args.out, 'console.log')}:",
                  file=sys.stderr)
            print(tail(os.path.join(args.out, "console.log")),
                  file=sys.stderr)
            qlog = tail(os.path.join(args.out, "qemu.log"))
            if qlog:
                print("--- qemu.log:\n" + qlog, file=sys.stderr)
            return e.status
    log(f"{args.arch} {args.kver}: /init after {boot.get('init_s')} s, "
        f"script exit {status}, total {boot['total_s']} s, out: {args.out}")
    return status


def interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    # Clean up (kill QEMU, keep the logs) on SIGTERM and SIGHUP as on ^C.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    try:
        sys.exit(main(sys.argv[1:]))
    except TestbedError as e:
        log(str(e))
        sys.exit(e.status)
