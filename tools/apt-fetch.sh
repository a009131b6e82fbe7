#!/bin/sh
# Download Debian packages for ARCH (amd64 or arm64) into DEST and unpack
# them into DEST/root, without changing the machine's dpkg configuration:
# a private APT state directory holds the package lists for that arch.
#
# usage: tools/apt-fetch.sh [--suite "SUITE..."] [--depends] ARCH DEST PACKAGE...
#   --suite    take the packages from these Debian suites (e.g.
#              "trixie-backports", "bullseye bullseye-security") through a
#              private sources list, instead of the machine's own sources
#   --depends  also every package they depend on, recursively (a tool and
#              the shared libraries it loads, for the testbed guest)
# A package given as NAME=GLOB (e.g. linux-image=linux-image-6.12.*+deb12-arm64-unsigned)
# resolves GLOB to the newest matching package name first; NAME~REGEX does
# the same with an extended regular expression matched whole, and
# NAME@VERSION takes that version of NAME (linux-source-6.12@6.12.118-1~deb12u1).
set -eu

usage() { echo "usage: $0 [--suite \"SUITE...\"] [--depends] amd64|arm64 DEST PACKAGE..." >&2; exit 2; }
suites= depends=
while :; do
	case ${1:-} in
	--suite)
		[ $# -ge 2 ] || usage
		suites=$2
		shift 2
		;;
	--depends) depends=1; shift ;;
	*) break ;;
	esac
done
[ $# -ge 3 ] || usage
arch=$1 dest=$2
shift 2
case $arch in amd64|arm64) ;; *) usage ;; esac

mkdir -p "$dest/lists/partial" "$dest/debs" "$dest/root"
dest=$(cd "$dest" && pwd)
apt_opts="-o APT::Architecture=$arch -o APT::Architectures=$arch \
	-o Dir::State::Lists=$dest/lists -o Dir::Cache::Archives=$dest/debs"
if [ -n "$suites" ]; then
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	: >"$dest/sources.list"
	for s in $suites; do
		case $s in
		*-security) uri=http://deb.debian.org/debian-security ;;
		*) uri=http://deb.debian.org/debian ;;
		esac
		echo "deb [signed-by=$keyring] $uri $s main" >>"$dest/sources.list"
	done
	apt_opts="$apt_opts -o Dir::Etc::SourceList=$dest/sources.list \
		-o Dir::Etc::SourceParts=/nonexistent"
fi

if [ -z "$(ls "$dest/lists" 2>/dev/null | grep -v partial)" ] ||
   [ -n "$(find "$dest/lists" -maxdepth 0 -mmin +1440)" ]; then
	# shellcheck disable=SC2086
	apt-get -q $apt_opts update >"$dest/update.log" 2>&1 || {
		echo "apt-fetch: 'apt-get update' for $arch${suites:+ ($suites)} failed (is the Debian mirror reachable?); log: $dest/update.log" >&2
		tail -n 5 "$dest/update.log" >&2
		exit 1
	}
	touch "$dest/lists"
fi

# newest PATTERN: the newest package name matching the whole ERE.
newest() {
	# shellcheck disable=SC2086
	apt-cache $apt_opts pkgnames 2>/dev/null | grep -Ex "$1" | sort -V |
		tail -n 1
}

if [ -n "$depends" ]; then
	# Real packages only: a virtual one (<perl:any>) is listed with the
	# package providing it.
	# shellcheck disable=SC2046,SC2086
	set -- $(apt-cache $apt_opts depends --recurse --no-recommends \
		--no-suggests --no-conflicts --no-breaks --no-replaces \
		--no-enhances "$@" 2>"$dest/depends.log" | grep -v '^[ <]' |
		sort -u)
	[ $# -gt 0 ] || {
		echo "apt-fetch: resolving the $arch dependencies failed; log: $dest/depends.log" >&2
		exit 1
	}
fi

cd "$dest/debs"
for spec in "$@"; do
	version='*'
	case $spec in
	*@*)
		pkg=${spec%@*}
		version=$(echo "${spec#*@}" | sed 's/:/%3a/')
		;;
	*=*)
		pkg=$(newest "$(echo "${spec#*=}" | sed 's/\./\\./g; s/\*/.*/g; s/+/\\+/g')")
		[ -n "$pkg" ] || { echo "apt-fetch: no $arch package matches '${spec#*=}'" >&2; exit 1; }
		;;
	*~*)
		pkg=$(newest "${spec#*~}")
		[ -n "$pkg" ] || { echo "apt-fetch: no $arch package matches /${spec#*~}/" >&2; exit 1; }
		;;
	*) pkg=$spec ;;
	esac
	# Fetched before (for this arch, or arch-independent): offline.
	if ! ls "${pkg}"_${version}_"$arch".deb >/dev/null 2>&1 &&
	   ! ls "${pkg}"_${version}_all.deb >/dev/null 2>&1; then
		want=$pkg
		[ "$version" = '*' ] || want="$pkg=${spec#*@}"
		# shellcheck disable=SC2086
		apt-get -q $apt_opts download "$want" >>"$dest/download.log" 2>&1 || {
			echo "apt-fetch: downloading $arch package '$pkg' failed; log: $dest/download.log" >&2
			tail -n 3 "$dest/download.log" >&2
			exit 1
		}
	fi
	for deb in "${pkg}"_${version}_*.deb; do
		stamp="$dest/root/.unpacked-$deb"
		[ -e "$stamp" ] && continue
		dpkg-deb -x "$deb" "$dest/root"
		touch "$stamp"
	done
	echo "$pkg"
done
