#!/bin/sh
# make demo: boot the nested-KVM testbed for ARCH, run a mixed kvmload
# workload in it (MMIO doorbells, periodic timers, PMU accesses, VM
# teardowns) and show kvmwatch top on those live guests: the interactive
# top on this terminal (q quits it and powers the guest off), or, without
# a terminal (or with DEMO_BATCH=1), SECONDS of 3-second batch reports,
# also kept in build/demo/ARCH/top.txt.
#
# usage: tools/demo.sh [x86_64|arm64] [SECONDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-x86_64}
seconds=${2:-30}
case $arch in x86_64|arm64) ;; *) echo "usage: $0 [x86_64|arm64] [SECONDS]" >&2; exit 2 ;; esac
case $seconds in ''|*[!0-9]*) echo "demo: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;; esac

for bin in kvmwatch kvmload; do
	[ -x "$top/build/$arch/$bin" ] || {
		echo "demo: build/$arch/$bin is missing: run 'make ARCH=$arch' first" >&2
		exit 1
	}
done

interactive=no
if [ -t 0 ] && [ -t 1 ] && [ -z "${DEMO_BATCH:-}" ]; then
	interactive=yes
fi
out=$top/build/demo/$arch
mkdir -p "$top/build/demo"
script=$top/build/demo/$arch-guest.sh
reports=$((seconds / 3))
[ $reports -ge 1 ] || reports=1
if [ $interactive = yes ]; then
	show="echo 'kvmwatch top on this guest'\\''s KVM host: q quits (and powers the guest off), h lists the keys'
sleep 3
kvmwatch top -d 2 2>/tmp/kvmwatch.err || cat /tmp/kvmwatch.err"
	finish="poweroff -f"
else
	show="echo '=== kvmwatch top: 3-second reports from the guest'\\''s KVM host ==='
COLUMNS=100 kvmwatch top -b -d 3 -n $reports | tee /out/top.txt"
	finish="exit 0"
fi
cat >"$script" <<GUEST
#!/bin/sh
# Runs inside the testbed guest. KVM's rate-limited warnings would
# interleave with the report on the console: keep them in dmesg.
dmesg -n 1
loop() { while :; do "\$@" >/dev/null 2>&1 || sleep 1; done; }
loop kvmload -name guest=doorbell mmio --vms 2 --vcpus 2 -n 20000 &
loop kvmload -name guest=ticker timer --vcpus 2 --period-us 1000 --seconds 5 &
loop kvmload -name guest=counters pmu -k 5000 &
loop kvmload -name guest=shortlived teardown --mem-mib 32 &
sleep 2
$show
kill \$(jobs -p) 2>/dev/null
$finish
GUEST

echo "demo: booting the $arch testbed (Debian 6.12, KVM under QEMU TCG); the first boot downloads the kernel"
if [ $interactive = yes ]; then
	exec "$top/tests/vm/boot.sh" "$arch" --interactive \
		--file "$top/build/$arch/kvmwatch" \
		--file "$top/build/$arch/kvmload" --script "$script" \
		--out "$out"
fi

# The guest's budget comes from this machine's own measurements: each
# demo that reaches its first report records how long that took (boot,
# attach, one interval) in the cache, and the next one allows three times
# the slowest of the last five (a loaded machine: TCG slows with it), plus
# a minute and the reports. With nothing measured yet: 10 minutes (the
# first reports here came after 49-63 s; 15-40 s of that is attaching
# every detector under TCG). A line every 15 s says it is still going,
# until the first report.
times=${KVMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmwatch}/demo/$arch-first-report-s
slowest=$(tail -n 5 "$times" 2>/dev/null | sort -n | tail -n 1)
case $slowest in
''|*[!0-9]*)
	budget=$((seconds + 600))
	echo "demo: at most $budget s (no demo measured on this machine yet)" ;;
*)
	budget=$((seconds + 60 + 3 * slowest))
	[ $budget -ge $((seconds + 120)) ] || budget=$((seconds + 120))
	echo "demo: at most $budget s (the slowest of the last demos here showed its first report after $slowest s)" ;;
esac
start=$(date +%s)
(
	n=0
	while sleep 1; do
		n=$((n + 1))
		if grep -q '^kvmwatch top - ' "$out.log" 2>/dev/null; then
			mkdir -p "$(dirname "$times")"
			{ tail -n 4 "$times" 2>/dev/null || :
			  echo $(( $(date +%s) - start )); } >"$times.new"
			mv "$times.new" "$times"
			break
		fi
		[ $((n % 15)) -ne 0 ] ||
			echo "demo: $(( $(date +%s) - start )) s of at most $budget: booting, then attaching (kvmwatch's line says when)"
	done
) &
ticker=$!
rc=0
"$top/tests/vm/boot.sh" "$arch" -v --timeout $budget \
	--file "$top/build/$arch/kvmwatch" --file "$top/build/$arch/kvmload" \
	--script "$script" --out "$out" >"$out.log" 2>&1 </dev/null &
boot=$!
# The reports as they come, without the boot's own chatter.
tail -n +1 -f "$out.log" --pid=$boot 2>/dev/null |
	grep --line-buffered -v -e '^testbed: ' -e '@@KVMTB' || true
wait $boot || rc=$?
kill $ticker 2>/dev/null || true
wait $ticker 2>/dev/null || true
if [ $rc -eq 0 ] && [ -s "$out/top.txt" ]; then
	echo "demo: done in $(( $(date +%s) - start )) s; the reports are in build/demo/$arch/top.txt"
	exit 0
fi
why=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error") or "")' \
	"$out/boot.json" 2>/dev/null || true)
[ -n "$why" ] || why="the guest printed no report (boot.sh exit $rc)"
echo "demo: it did not finish: $why. The guest's console is in build/demo/$arch/console.log and the boot's log in build/demo/$arch.log; 'make demo' again reuses the downloaded kernel, and a quieter machine boots faster." >&2
exit 1
