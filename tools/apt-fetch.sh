#!/bin/sh
# Download Debian packages for ARCH (amd64 or arm64) into DEST and unpack
# them into DEST/root, without changing the machine's dpkg configuration:
# a private APT state directory holds the package lists for that arch.
#
# usage: tools/apt-fetch.sh ARCH DEST PACKAGE...
# A package given as NAME=GLOB (e.g. linux-image=linux-image-6.12.*+deb12-arm64-unsigned)
# resolves GLOB to the newest matching package name first.
set -eu

usage() { echo "usage: $0 amd64|arm64 DEST PACKAGE..." >&2; exit 2; }
[ $# -ge 3 ] || usage
arch=$1 dest=$2
shift 2
case $arch in amd64|arm64) ;; *) usage ;; esac

mkdir -p "$dest/lists/partial" "$dest/debs" "$dest/root"
dest=$(cd "$dest" && pwd)
apt_opts="-o APT::Architecture=$arch -o APT::Architectures=$arch \
	-o Dir::State::Lists=$dest/lists -o Dir::Cache::Archives=$dest/debs"

if [ -z "$(ls "$dest/lists" 2>/dev/null | grep -v partial)" ] ||
   [ -n "$(find "$dest/lists" -maxdepth 0 -mmin +1440)" ]; then
	# shellcheck disable=SC2086
	apt-get -q $apt_opts update >"$dest/update.log" 2>&1 || {
		echo "apt-fetch: 'apt-get update' for $arch failed (is the Debian mirror reachable?); log: $dest/update.log" >&2
		tail -n 5 "$dest/update.log" >&2
		exit 1
	}
	touch "$dest/lists"
fi

cd "$dest/debs"
for spec in "$@"; do
	case $spec in
	*=*)
		glob=${spec#*=}
		# shellcheck disable=SC2086
		pkg=$(apt-cache $apt_opts pkgnames 2>/dev/null | grep -x "$(echo "$glob" | sed 's/\./\\./g; s/\*/.*/g; s/+/\\+/g')" |
			sort -V | tail -n 1)
		[ -n "$pkg" ] || { echo "apt-fetch: no $arch package matches '$glob'" >&2; exit 1; }
		;;
	*) pkg=$spec ;;
	esac
	if ! ls "${pkg}"_*_"$arch".deb "${pkg}"_*_all.deb >/dev/null 2>&1; then
		# shellcheck disable=SC2086
		apt-get -q $apt_opts download "$pkg" >>"$dest/download.log" 2>&1 || {
			echo "apt-fetch: downloading $arch package '$pkg' failed; log: $dest/download.log" >&2
			tail -n 3 "$dest/download.log" >&2
			exit 1
		}
	fi
	for deb in "${pkg}"_*.deb; do
		stamp="$dest/root/.unpacked-$deb"
		[ -e "$stamp" ] && continue
		dpkg-deb -x "$deb" "$dest/root"
		touch "$stamp"
	done
	echo "$pkg"
done
