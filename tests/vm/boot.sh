#!/bin/sh
# Boot the nested-KVM testbed for ARCH and run a script in it; see
# docs/testbed.md and 'tests/vm/boot.sh --help'.
#
# usage: tests/vm/boot.sh x86_64|arm64 [--file PATH]... [--script GUEST_SCRIPT]
#        --out DIR [--timeout SEC] [--stall-on MARKER --stall-for SEC]
#        [--interactive] [-v]
# Exit status: the guest script's, 124 on timeout, 125 when the guest did
# not finish or its /out did not arrive intact, 1 on other errors, 2 on
# usage errors.
command -v python3 >/dev/null 2>&1 || {
	echo "boot.sh: python3 not found: install the Debian package python3" >&2
	exit 1
}
exec python3 "$(dirname "$0")/testbed.py" "$@"
