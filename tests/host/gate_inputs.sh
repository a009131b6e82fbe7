#!/bin/sh
# The gate's own honesty on the build host (issue 15): no evidence is no
# PASS, a failed workload is no PASS, outputs are whole or untouched, and
# bad inputs (FIFOs, huge or malformed baselines, deep YAML) are refused
# before anything is attached. The host has no guests: every rule here
# has nothing to judge, which is what these tests need.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
kw="$top/kvmwatch"
out=$top/build/host-tests/gate
rm -rf "$out"
mkdir -p "$out"

[ -x "$kw" ] || { not_ok "kvmwatch is built ($kw)"; exit 1; }
if ! "$kw" probe >/dev/null 2>&1; then
	ok "gate tests skipped: kvmwatch probe fails on this host"
	echo "1..$TAP_N"
	exit 0
fi

# jq_py EXPR FILE: a python expression over the one JSON document d.
jq_py() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
sys.exit(0 if eval("(" + sys.argv[1] + ")") else 1)
PY
}

# run_check NAME ARGS...: kvmwatch ARGS, stdout and stderr kept as
# NAME.out and NAME.err, exit status in $rc.
run_kw() {
	name=$1
	shift
	"$kw" "$@" >"$out/$name.out" 2>"$out/$name.err"
	rc=$?
}

# A group whose detector cannot run here is exit 4; a run with nothing
# to judge must be 6, never 0.
timer_runs=yes
"$kw" probe -o json >"$out/probe.json" 2>/dev/null
jq_py 'd["detectors"]["timer"]["status"] in ("available", "degraded")' \
	"$out/probe.json" || timer_runs=no

# ---- no evidence, no PASS
run_kw idle check --lockup -d 0.5 -o json
if [ $timer_runs = yes ]; then
	check "check --lockup -d 0.5 with no vCPU timer: exit 6, verdict SKIP (rc=$rc)" \
		sh -c "[ $rc -eq 6 ]"
	check "its JSON says SKIP" jq_py 'd["verdict"] == "SKIP"' "$out/idle.out"
	check "its timer rules say nothing fired, its lockup counters pass nothing alone" \
		jq_py 'all(r["verdict"] == "SKIP" and "no vCPU LAPIC timer fired" in r["why"]
			   for r in d["rules"] if r["name"].startswith("timer.")) and
		       all(r["host_fact"] for r in d["rules"]
			   if r["name"].startswith("kernel.") and r["verdict"] == "PASS")' \
		"$out/idle.out"
else
	check "check --lockup where the timer detector cannot run: exit 4 saying so (rc=$rc)" \
		sh -c "[ $rc -eq 4 ] && grep -q 'cannot run here' '$out/idle.err'"
fi

# ---- a failed workload is no PASS, and its output is not the JSON's
run_kw failed check --lockup -o json --junit "$out/failed.xml" -- \
	sh -c 'echo "{\"workload\": 1}"; exit 3'
check "a COMMAND that exits 3: check exits 7 (rc=$rc)" [ $rc -eq 7 ]
check "its JUnit has the workload's failure as an error testcase" \
	sh -c "grep -q 'errors=\"1\"' '$out/failed.xml' &&
	       grep -q '<testcase classname=\"kvmwatch.workload\" name=\"command\"' '$out/failed.xml' &&
	       grep -q '<error message=\"sh exited with status 3' '$out/failed.xml'"
check "stdout is kvmwatch's one JSON document: verdict ERROR, command_exit 3, command_failed" \
	jq_py 'd["type"] == "check" and d["verdict"] == "ERROR" and
	       d["command_exit"] == 3 and d["command_failed"] is True' "$out/failed.out"
check "the command's own stdout went to stderr" \
	grep -q '{"workload": 1}' "$out/failed.err"
run_kw killed check --lockup -o json -- sh -c 'kill -9 $$'
check "a COMMAND killed by SIGKILL: exit 7, command_signal 9 (rc=$rc)" \
	sh -c "[ $rc -eq 7 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d[\"command_signal\"] != 9)' '$out/killed.out'"
run_kw allowed check --lockup --allow-command-failure -- false
want=6
[ $timer_runs = yes ] || want=4
check "--allow-command-failure judges it as it ran: exit $want, nothing judged (rc=$rc)" \
	[ $rc -eq $want ]
run_kw cmdout check --lockup --allow-command-failure \
	--command-output "$out/cmd.log" -- sh -c 'echo to-the-file; echo err-too >&2'
check "--command-output FILE gets the command's stdout and stderr" \
	sh -c "grep -q to-the-file '$out/cmd.log' && grep -q err-too '$out/cmd.log' &&
	       ! grep -q to-the-file '$out/cmdout.out'"

# ---- record: a failed run is no baseline
echo old >"$out/keep.json"
run_kw recfail record -o "$out/keep.json" -- false
check "record -- false: exit 7, the old file as it was (rc=$rc)" \
	sh -c "[ $rc -eq 7 ] && [ \"\$(cat '$out/keep.json')\" = old ]"
run_kw recallow record -o "$out/allowed.json" --allow-command-failure -- false
check "record --allow-command-failure -- false: exit 0, exit status 1 recorded (rc=$rc)" \
	sh -c "[ $rc -eq 0 ] && python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))[\"workload\"][\"exit_status\"] != 1)' '$out/allowed.json'"

# ---- record --repeat: N runs of the workload in one attach
# The workload counts its own runs: the record must hold that many.
: >"$out/runs.txt"
run_kw repeat record -o "$out/repeat.json" --repeat 3 -- \
	sh -c "echo run >>'$out/runs.txt'"
check "record --repeat 3: exit 0, the workload ran 3 times, the record says repeats 3 (rc=$rc, $(wc -l <"$out/runs.txt") runs)" \
	sh -c "[ $rc -eq 0 ] && [ \$(wc -l <'$out/runs.txt') -eq 3 ] && [ \$(grep -c '^kvmwatch: run [123] of 3' '$out/repeat.err') -eq 3 ]"
check "the record of 3 runs keeps each compared metric's spread over 3 runs" \
	jq_py 'd["repeats"] == 3 and all(m["spread"]["runs"] == 3 for m in d["metrics"] if "spread" in m) and any("spread" in m for m in d["metrics"])' "$out/repeat.json"
: >"$out/runs.txt"
run_kw repeatfail record -o "$out/repeat-fail.json" --repeat 3 -- \
	sh -c "echo run >>'$out/runs.txt'; [ \$(wc -l <'$out/runs.txt') -lt 2 ]"
check "record --repeat 3 whose 2nd run fails: exit 7 after it, nothing written (rc=$rc)" \
	sh -c "[ $rc -eq 7 ] && [ \$(wc -l <'$out/runs.txt') -eq 2 ] && [ ! -e '$out/repeat-fail.json' ]"
for args in "--repeat 0 -- true" "--repeat 101 -- true" "--repeat x -- true" \
	"--repeat 2 -d 1"; do
	# shellcheck disable=SC2086
	run_kw repeatusage record -o "$out/never.json" $args
	check "record $args: a usage error (rc=$rc) with a message" \
		sh -c "[ $rc -eq 2 ] && [ -s '$out/repeatusage.err' ] && [ ! -e '$out/never.json' ]"
done

# ---- outputs: checked before attaching, written whole
run_kw procrec record -o /proc/kvmwatch-x.json -d 5
check "record -o /proc/x.json: exit 2 before attaching (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && ! grep -q attached '$out/procrec.err'"
run_kw dirjunit check --lockup -d 5 --junit "$out"
check "--junit naming a directory: exit 2 before attaching (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && ! grep -q attached '$out/dirjunit.err'"
# A check killed mid-run leaves the earlier JUnit file as it was.
echo '<old/>' >"$out/gate.xml"
"$kw" check --lockup --junit "$out/gate.xml" -- sleep 30 \
	>/dev/null 2>"$out/killed-check.err" &
cpid=$!
wait_for_line 'attached' "$out/killed-check.err" 600 || true
kill -9 $cpid
wait $cpid 2>/dev/null
check "a check killed after attaching leaves the earlier --junit file untouched" \
	sh -c "[ \"\$(cat '$out/gate.xml')\" = '<old/>' ] &&
	       [ -z \"\$(ls -A '$out' | grep '^\.gate.xml')\" ]"
run_kw junit check --lockup -d 0.3 --junit "$out/gate.xml"
check "a finished check replaces it whole, skipped rules as <skipped/>" \
	sh -c "grep -q '</testsuites>' '$out/gate.xml' && grep -q '<skipped message=' '$out/gate.xml'"

# ---- inputs: regular files of bounded size, well formed
"$kw" record -o "$out/base.json" -- true >/dev/null 2>&1
mkfifo "$out/fifo"
for opt in --rules --baseline; do
	start=$(date +%s)
	timeout 20 "$kw" check "$opt" "$out/fifo" -d 1 >/dev/null 2>"$out/fifo.err"
	rc=$?
	check "$opt FIFO: exit 2 at once, not a regular file (rc=$rc, $(($(date +%s) - start)) s)" \
		sh -c "[ $rc -eq 2 ] && grep -q 'not a regular file' '$out/fifo.err'"
done
python3 - "$out/base.json" "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = next(m for m in d["metrics"] if m["type"] == "counter")
neg = json.loads(json.dumps(d))
next(m for m in neg["metrics"] if m["name"] == c["name"] and m["labels"] == c["labels"])["value"] = -5
json.dump(neg, open(sys.argv[2] + "/negative.json", "w"))
dup = json.loads(json.dumps(d))
dup["metrics"].append(dict(c))
json.dump(dup, open(sys.argv[2] + "/duplicate.json", "w"))
# Over 8 MiB of padding in an otherwise valid record.
big = json.loads(json.dumps(d))
big["padding"] = "x" * (9 << 20)
json.dump(big, open(sys.argv[2] + "/big.json", "w"))
PY
run_kw negative check --baseline "$out/negative.json" -d 0.3
check "a baseline with a negative counter is a bad file: exit 2 (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'is negative' '$out/negative.err'"
run_kw duplicate check --baseline "$out/duplicate.json" -d 0.3
check "a baseline with a metric twice is a bad file: exit 2 (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'appears more than once' '$out/duplicate.err'"
run_kw big check --baseline "$out/big.json" -d 0.3
check "a baseline over 8 MiB is refused unread: exit 2 (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'more than the' '$out/big.err'"
python3 -c 'import sys; n = 100000; sys.stdout.write("version: 1\nthresholds: " + "[" * n + "]" * n + "\n")' \
	>"$out/deep.yaml"
start=$(date +%s)
timeout 60 "$kw" check --lockup --rules "$out/deep.yaml" -d 0.3 >/dev/null 2>"$out/deep.err"
rc=$?
check "a rules file nested 100000 deep: exit 2 naming the limit, in $(($(date +%s) - start)) s (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q 'nested more than 64 levels' '$out/deep.err'"

echo "1..$TAP_N"
