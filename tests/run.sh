#!/bin/sh
# The whole kvmwatch test suite. Every test prints TAP lines; this runner
# echoes them, counts them, and ends with "N passed, N failed".
#
#   tests/run.sh [unit] [host] [fuzz] [vm]     (default: all four)
#
# A test program that dies without a verdict counts as one failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
arch=$(uname -m | sed 's/aarch64/arm64/')
passed=0
failed=0
start=$(date +%s)
failures=$top/build/test-logs/failures.txt
mkdir -p "$top/build/test-logs"
: >"$failures"

# run NAME COMMAND...: run one test program and count its TAP lines.
run() {
	name=$1
	shift
	log="$top/build/test-logs/$name.tap"
	mkdir -p "$(dirname "$log")"
	echo "# --- $name"
	t0=$(date +%s)
	# Streamed as it runs (the VM suite takes many minutes).
	{ "$@" 2>&1; echo $? >"$log.rc"; } | tee "$log"
	rc=$(cat "$log.rc")
	echo "# --- $name took $(( $(date +%s) - t0 )) s"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	# Each failure with the first lines of its diagnostics.
	awk -v name="$name" '
		/^not ok / { print name ": " $0; n = 3; next }
		n > 0 && /^#/ { print "  " $0; n--; next }
		{ n = 0 }' "$log" >>"$failures"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc and no failed test" |
			tee -a "$failures"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name ran no test" | tee -a "$failures"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

[ $# -gt 0 ] || set -- unit host fuzz vm
for part in "$@"; do
	case $part in
	unit)
		for t in "$top"/build/"$arch"/tests/test_*; do
			[ -x "$t" ] || continue
			CMOCKA_MESSAGE_OUTPUT=TAP run "unit-$(basename "$t")" "$t"
		done
		;;
	host)
		run host-smoke "$top/tests/host/smoke.sh"
		run host-ci "$top/tests/host/ci.sh"
		run host-gate "$top/tests/host/gate_inputs.sh"
		run host-fleet "$top/tests/host/fleet.sh"
		run host-tui "$top/tests/host/tui.sh"
		;;
	fuzz)
		run fuzz-rules-file "$top/tests/fuzz/run.sh" rules_file
		run fuzz-record-file "$top/tests/fuzz/run.sh" record_file
		run fuzz-cli "$top/tests/fuzz/run.sh" cli
		;;
	vm)
		run vm "$top/tests/vm/run.sh"
		# A real Prometheus scraping kvmwatch export in the testbed.
		run vm-fleet python3 "$top/tests/fleet/e2e.py"
		# make demo as a user without a terminal runs it.
		run vm-demo python3 "$top/tests/vm/demo.py"
		;;
	*)
		echo "usage: $0 [unit] [host] [fuzz] [vm]" >&2
		exit 2
		;;
	esac
done

echo "# suite took $(( $(date +%s) - start )) s"
# The failures again, last: a CI log is often read from its tail.
if [ "$failed" -ne 0 ]; then
	echo "# failed:"
	cut -c1-300 "$failures" | sed 's/^/#   /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
