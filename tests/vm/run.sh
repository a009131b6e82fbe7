#!/bin/sh
# The VM test suite (part of 'make test'): boots the nested-KVM testbed once
# per arch, runs every kvmload scenario with kvmwatch attached and compares
# the two. Prints TAP; artefacts go to build/vmtest/<arch>/.
#
# usage: tests/vm/run.sh [--no-boot] [x86_64|arm64]...   (default: both)
#   --no-boot  check the results an earlier run left in build/vmtest/
# Binaries come from build/<arch>/{kvmwatch,kvmload}, or from
# $KVMWATCH_VMTEST_BINDIR/<arch>/ when that is set.
command -v python3 >/dev/null 2>&1 || {
	echo "not ok 1 - VM suite: python3 not found" \
		"(install the Debian package python3)"
	exit 1
}
exec python3 "$(dirname "$0")/suite.py" "$@"
