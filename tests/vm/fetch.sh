#!/bin/sh
# Fetch what the nested-KVM testbed boots for a kernel variant of
# tests/vm/kernels/ (or an arch's default, its Debian 12 6.12): the kernel
# and modules, busybox-static, and a variant's rebuilt module, into
# $KVMWATCH_CACHE (tests/vm/kernels.py). Prints the kernel version.
#
# usage: tests/vm/fetch.sh [--update] VARIANT|x86_64|arm64...
#   --update  resolve the newest kernel again even if one is cached
#
# A kernel fetched before is reused without touching the network, so the
# testbed keeps working offline.
command -v python3 >/dev/null 2>&1 || {
	echo "fetch.sh: python3 not found: install the Debian package python3" >&2
	exit 1
}
exec python3 "$(dirname "$0")/kernels.py" fetch "$@"
