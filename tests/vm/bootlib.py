"""What the testbed's boot driver shares: the machines per arch, the files
boot.sh owns, its exit statuses and its error.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

ARCHES = {
    "x86_64": {
        "debarch": "amd64",
        "qemu": "qemu-system-x86_64",
        "qemu_pkg": "qemu-system-x86",
        # One TCG thread for both vCPUs: with multi-threaded TCG the x86
        # guest hits cross-CPU code patching races (int3 oopses while
        # static keys flip, L2 guests taking #UD or triple faults, hangs)
        # in 5 of 15 suite runs; single-threaded, none in 11.
        "machine": ["-accel", "tcg,thread=single", "-cpu", "max"],
        "console": "ttyS0",
        "elf_machine": 62,  # EM_X86_64
        # Loaded in this order (their own dependencies are added first).
        # virtio_net: the NIC of boot.sh --forward (e.g. the fleet test's
        # Prometheus scraping kvmwatch export in the guest).
        "modules": ["irqbypass", "ccp", "kvm", "kvm-amd", "virtio_net"],
    },
    "arm64": {
        "debarch": "arm64",
        "qemu": "qemu-system-aarch64",
        "qemu_pkg": "qemu-system-arm",
        "machine": ["-M", "virt,virtualization=on,gic-version=3",
                    "-cpu", "max", "-accel", "tcg"],
        "console": "ttyAMA0",
        "elf_machine": 183,  # EM_AARCH64
        "modules": [],  # KVM is built into the arm64 kernel
    },
}

# Terminal descriptions for curses programs run interactively in the guest.
TERMINFO = ["d/dumb", "l/linux", "v/vt100", "v/vt102", "v/vt220",
            "x/xterm", "x/xterm-256color", "s/screen", "s/screen-256color",
            "t/tmux", "t/tmux-256color"]

# Files boot.sh writes into DIR; the guest's /out may not overwrite them.
HOST_FILES = {"console.log", "qemu.log", "boot.json", "stall.json",
              ".testbed-out"}

BASE64_LINE = re.compile(rb"^[A-Za-z0-9+/=]+$")
CONTROL = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|.)|[\x00-\x08\x0b-\x1f\x7f]")
TAIL_LINES = 40

# Exit statuses of boot.sh other than the guest script's own status.
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 124
EXIT_NOT_FINISHED = 125


class TestbedError(Exception):
    """A failure with a message for the user; exits with .status."""

    def __init__(self, msg, status=EXIT_ERROR):
        super().__init__(msg)
        self.status = status


def log(msg):
    print(f"testbed: {msg}", file=sys.stderr, flush=True)
