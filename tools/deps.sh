#!/bin/sh
# Install, with apt, exactly the Debian packages kvmwatch needs that are missing.
#
# usage: tools/deps.sh GROUP...
#   build  compile kvmwatch and run its unit tests on this host
#   cross  cross-build the static arm64 binaries (arm64 libraries are
#          fetched separately into the cache by tools/apt-fetch.sh)
#   vm     boot the nested-KVM testbed under QEMU
#   fleet  check the service unit, the Prometheus rules and the exposition
#          with the tools a fleet runs them with (tools/fleet/)
set -eu

pkgs_build="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
	libjansson-dev libncurses-dev libcmocka-dev pkg-config python3 tmux
	libyaml-dev libevent-dev libclang-rt-dev liblzma-dev libzstd-dev
	linux-perf"
pkgs_cross="gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
pkgs_fleet="prometheus prometheus-node-exporter prometheus-alertmanager
	systemd"
pkgs_vm="qemu-system-x86 qemu-system-arm busybox-static cpio kmod xz-utils
	file patch dwarves"

want=
for group in "$@"; do
	case $group in
	build) want="$want $pkgs_build" ;;
	cross) want="$want $pkgs_cross" ;;
	vm) want="$want $pkgs_vm" ;;
	fleet) want="$want $pkgs_fleet" ;;
	*) echo "usage: $0 build|cross|vm|fleet..." >&2; exit 2 ;;
	esac
done

missing=
for pkg in $want; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'sudo $0 $*' or install them with apt-get" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get -q update >/dev/null && apt-get -q install -y --no-install-recommends $missing >/dev/null || {
	echo "deps: apt-get install failed for:$missing" >&2
	exit 1
}
