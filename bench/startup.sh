#!/bin/sh
# Start-up cost of kvmwatch top on this host: time from exec to the
# "attached" line, time to the first report with -d 0.1, and peak RSS.
# Figures, not limits: run it side by side when comparing builds.
#
# usage: bench/startup.sh [RUNS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
kw=$top/kvmwatch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

i=0
while [ $i -lt "$runs" ]; do
	start=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$tmp/rss" "$kw" top -b -n 1 -d 0.1 -o json \
		>"$tmp/out" 2>"$tmp/err"
	end=$(date +%s%N)
	echo "run $i: first report after $(( (end - start) / 1000000 )) ms (0.1 s of it is the interval), peak RSS $(tail -n 1 "$tmp/rss") KiB"
	i=$((i + 1))
done
