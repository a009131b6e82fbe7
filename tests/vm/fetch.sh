#!/bin/sh
# Fetch what the nested-KVM testbed boots for ARCH: the newest Debian
# linux-image-6.12.*+deb12-<debarch>-unsigned kernel and busybox-static,
# unpacked into $KVMWATCH_CACHE/<debarch>/root by tools/apt-fetch.sh.
#
# usage: tests/vm/fetch.sh [--update] x86_64|arm64
#   --update  resolve the newest kernel again even if one is cached
#
# A kernel fetched before is reused without touching the network, so the
# testbed keeps working offline. The chosen kernel version is printed and
# recorded in $KVMWATCH_CACHE/<debarch>/testbed-kernel for boot.sh.
set -eu

usage() {
	echo "usage: $0 [--update] x86_64|arm64" >&2
	exit 2
}

update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
[ $# -eq 1 ] || usage
case $1 in
x86_64) debarch=amd64 ;;
arm64) debarch=arm64 ;;
*) usage ;;
esac

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KVMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmwatch}
dest=$cache/$debarch
root=$dest/root
record=$dest/testbed-kernel
mkdir -p "$dest"

# A kernel is usable when its image and module tree are unpacked.
kernel_ok() {
	[ -f "$root/boot/vmlinuz-$1" ] && [ -d "$root/lib/modules/$1/kernel" ]
}

if [ $update -eq 0 ] && [ -f "$record" ] && [ -x "$root/bin/busybox" ]; then
	kver=$(cat "$record")
	if kernel_ok "$kver"; then
		echo "$kver"
		exit 0
	fi
fi

# apt keeps one lock per lists directory; serialise our own fetches so two
# testbed runs do not trip over each other.
exec 9>"$dest/.fetch.lock"
flock 9

fetch() {
	# apt-fetch.sh names the failing package itself; add which step failed.
	"$repo/tools/apt-fetch.sh" "$debarch" "$dest" "$1" || {
		echo "fetch: could not fetch $debarch package '$1' for the $2" >&2
		exit 1
	}
}

pkg=$(fetch "linux-image=linux-image-6.12.*+deb12-$debarch-unsigned" \
	"testbed kernel") || exit 1
fetch busybox-static "testbed initramfs" >/dev/null || exit 1

# linux-image-6.12.117+deb12-amd64-unsigned -> 6.12.117+deb12-amd64
kver=${pkg#linux-image-}
kver=${kver%-unsigned}
if ! kernel_ok "$kver"; then
	echo "fetch: package $pkg did not unpack boot/vmlinuz-$kver and" \
		"lib/modules/$kver under $root" >&2
	exit 1
fi
if [ ! -x "$root/bin/busybox" ]; then
	echo "fetch: package busybox-static did not unpack bin/busybox under $root" >&2
	exit 1
fi
echo "$kver" >"$record"
echo "$kver"
