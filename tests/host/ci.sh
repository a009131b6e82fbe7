#!/bin/sh
# CI gating on the build host (issue 8): record, check --baseline, the
# rules file and export, end to end on the running kernel. The host has
# no guests, so this tests the plumbing (files, verdicts, exit codes,
# exposition format); the VM suite tests the figures. Doctored copies of
# a real record stand in for the baselines a regression would meet.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
kw="$top/kvmwatch"
out=$top/build/host-tests/ci
rm -rf "$out"
mkdir -p "$out"

[ -x "$kw" ] || { not_ok "kvmwatch is built ($kw)"; exit 1; }
if ! "$kw" probe >/dev/null 2>&1; then
	diag "kvmwatch probe fails here: no record possible"
	ok "record and export skipped: kvmwatch probe fails on this host"
	echo "1..$TAP_N"
	exit 0
fi

# py EXPR FILE...: a python expression over the JSON documents d0, d1...
py() {
	expr=$1
	shift
	python3 - "$expr" "$@" <<'PY'
import json, sys
docs = [json.load(open(p)) for p in sys.argv[2:]]
env = {f"d{i}": d for i, d in enumerate(docs)}
sys.exit(0 if eval("(" + sys.argv[1] + ")", env) else 1)
PY
}

# rc_py RC WANT EXPR FILE: exit status RC was WANT and EXPR holds.
rc_py() {
	[ "$1" -eq "$2" ] && py "$3" "$4"
}

# doctor IN OUT PYTHON: OUT is IN's record with d changed by PYTHON.
doctor() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
}

# ---- record
"$kw" record -o "$out/base.json" -- sleep 0.5 >"$out/record.out" 2>"$out/record.err"
rc=$?
check "record -o FILE -- sleep 0.5 exits 0 (rc=$rc)" [ $rc -eq 0 ]
check "record writes a record of schema 1 with the workload and its exit status" \
	py 'd0["type"] == "record" and d0["record_schema"] == 1 and
	    d0["workload"] == {"command": ["sleep", "0.5"], "exit_status": 0}
	    and d0["duration_s"] >= 0.5' "$out/base.json"
check "record lists every detector, each with status, modes and why it did not run" \
	py 'sorted(d0["detectors"]) == ["exits", "mmio", "pmu", "teardown", "timer"] and
	    all(x["ran"] or x["why"] for x in d0["detectors"].values())' "$out/base.json"
check "record holds the metrics of every detector that ran, and only those" \
	py 'sorted({m["name"].split(".")[0] for m in d0["metrics"]}) ==
	    sorted(k for k, x in d0["detectors"].items() if x["ran"])' "$out/base.json"
diag "$(tail -n 1 "$out/record.err")"

"$kw" record >/dev/null 2>"$out/usage.err"
rc=$?
check "record without -o is a usage error (rc=$rc)" [ $rc -eq 2 ]
"$kw" record -o /nonexistent/dir/base.json -d 1 >/dev/null 2>"$out/nodir.err"
rc=$?
check "record into a missing directory fails at once, exit 2 (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q /nonexistent/dir '$out/nodir.err'"

# An interrupted run leaves the old file as it was and nothing else.
echo "old" >"$out/keep.json"
"$kw" record -o "$out/keep.json" -- sh -c 'kill -INT $PPID; sleep 2' \
	>/dev/null 2>"$out/interrupted.err"
rc=$?
check "record interrupted by SIGINT exits 5 and writes nothing (rc=$rc)" \
	sh -c "[ $rc -eq 5 ] && [ \"\$(cat '$out/keep.json')\" = old ] &&
	       [ -z \"\$(ls -A '$out' | grep '^\.keep')\" ]"

# ---- check --baseline
"$kw" check --baseline "$out/base.json" -o json --junit "$out/pass.xml" \
	-- sleep 0.5 >"$out/pass.json" 2>"$out/pass.err"
rc=$?
check "check --baseline, the same workload: exit 0, verdict PASS (rc=$rc)" \
	rc_py $rc 0 'd0["baseline"]["verdict"] == "PASS"' "$out/pass.json"
check "check --baseline compares per workload run, every total, none per VM" \
	py 'd0["baseline"]["normalised"] == "run" and
	    all("vm=" not in m["metric"] for m in d0["baseline"]["metrics"]) and
	    d0["baseline"]["counts"]["passed"] > 0' "$out/pass.json"
check "check --junit has a testcase per compared metric" \
	sh -c "grep -q 'testsuite name=\"kvmwatch.baseline\" tests=\"[1-9]' '$out/pass.xml' &&
	       grep -q 'failures=\"0\"' '$out/pass.xml'"

doctor "$out/base.json" "$out/arm.json" 'd["host"]["arch"] = "arm64"; d["host"]["vendor"] = "arm64"'
"$kw" check --baseline "$out/arm.json" -d 0.3 >"$out/arm.out" 2>&1
rc=$?
check "a baseline of another arch is refused, exit 4, naming both (rc=$rc)" \
	sh -c "[ $rc -eq 4 ] && grep -q 'REFUSED.*arm64/arm64.*this run is $(uname -m | sed s/aarch64/arm64/)' '$out/arm.out'"

# A metric better higher that dropped: FAIL naming it, exit 1.
doctor "$out/base.json" "$out/higher.json" '
m = next(m for m in d["metrics"] if m["name"] == "exits.exits")
m["better"] = "higher"; m["value"] = 1000'
"$kw" check --baseline "$out/higher.json" -o json --junit "$out/fail.xml" \
	-- sleep 0.3 >"$out/fail.json" 2>"$out/fail.err"
rc=$?
check "a regressed metric: exit 1, FAIL naming exits.exits (rc=$rc)" \
	rc_py $rc 1 '[m["metric"] for m in d0["baseline"]["metrics"]
		       if m["verdict"] == "FAIL"] == ["exits.exits"]' "$out/fail.json"
check "check --junit lists that failure with its evidence" \
	grep -q '<failure message="exits.exits (/run): baseline 1000, current 0' "$out/fail.xml"

doctor "$out/base.json" "$out/unavail.json" '
m = next(m for m in d["metrics"] if m["name"] == "exits.exits")
m["value"] = None; m["unavailable"] = "kvm_exit was not watched in that mode"'
"$kw" check --baseline "$out/unavail.json" -d 0.3 >"$out/unavail.out" 2>&1
rc=$?
check "a metric unavailable in the baseline: INCOMPARABLE with the reason, exit 4 (rc=$rc)" \
	sh -c "[ $rc -eq 4 ] && grep -q 'why: unavailable in the baseline run: kvm_exit was not watched' '$out/unavail.out'"

# ---- rules file and tolerances
printf 'version: 1\nbaseline:\n  tolerance: 10%%\n  bogus: 1\n' >"$out/bad.yaml"
"$kw" check --baseline "$out/base.json" --rules "$out/bad.yaml" -d 1 \
	>/dev/null 2>"$out/bad.err"
rc=$?
check "a rules file with an unknown key: exit 2 naming file, line and key (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q '$out/bad.yaml:4: baseline.bogus: unknown key' '$out/bad.err'"
printf 'version: 1\nthresholds:\n  timer.max_chain: 4\nbaseline:\n  tolerance: 5%%\n  metrics:\n    exits.exits: off\n' >"$out/good.yaml"
"$kw" check --lockup --baseline "$out/higher.json" --rules "$out/good.yaml" \
	-o json -d 0.3 >"$out/rules.json" 2>"$out/rules.err"
rc=$?
check "a rules file sets thresholds and turns a metric off: exit 0 (rc=$rc)" \
	sh -c "[ $rc -eq 0 ] || [ $rc -eq 4 ]"
check "its threshold and tolerances are used" \
	py '[r["threshold"] for r in d0["rules"] if r["name"] == "timer.max_chain"] in ([4.0], []) and
	    [m["verdict"] for m in d0["baseline"]["metrics"] if m["metric"] == "exits.exits"] == ["INFO"] and
	    all(m["tolerance"] == 0.05 for m in d0["baseline"]["metrics"] if m["tolerance"] is not None)' \
	"$out/rules.json"
"$kw" check --baseline "$out/base.json" --tolerance exits.exitz=10% -d 0.3 \
	>/dev/null 2>"$out/tol.err"
rc=$?
check "a tolerance naming no metric is an error, exit 2 (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && grep -q \"tolerance for 'exits.exitz' names no metric\" '$out/tol.err'"

# ---- export
"$kw" export --listen 127.0.0.1:0 -i 0.5 >/dev/null 2>"$out/export.err" &
epid=$!
wait_for_line 'serving http://' "$out/export.err" 100 || true
addr=$(sed -n 's|.*serving http://\(.*\)/metrics|\1|p' "$out/export.err")
check "export --listen 127.0.0.1:0 serves, printing its address ($addr)" [ -n "$addr" ]
sleep 1
code=$(curl -s -o "$out/metrics.txt" -D "$out/headers.txt" -w '%{http_code}' "http://$addr/metrics")
check "GET /metrics: 200 with the exposition content type" \
	sh -c "[ '$code' = 200 ] && grep -qi '^Content-Type: text/plain; version=0.0.4' '$out/headers.txt'"
if python3 "$top/tests/promparse.py" "$out/metrics.txt" >"$out/parse.txt"; then
	ok "the scrape is well-formed exposition text ($(cat "$out/parse.txt"), $(wc -c <"$out/metrics.txt") bytes)"
else
	not_ok "the scrape is well-formed exposition text"
	diag "$(head -n 20 "$out/parse.txt")"
fi
check "the scrape has the build info and a detector_up per detector" \
	sh -c "grep -q '^kvmwatch_build_info{version=' '$out/metrics.txt' &&
	       grep -q '^kvmwatch_export_detector_up{detector=\"exits\"' '$out/metrics.txt'"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/")
check "other paths: 404 ($code)" [ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$addr/metrics")
check "POST is refused ($code)" sh -c "[ '$code' -ge 400 ] && [ '$code' -lt 600 ]"
kill -INT $epid
i=0
while kill -0 $epid 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
wait $epid
rc=$?
check "export exits 0 on SIGINT (rc=$rc)" [ $rc -eq 0 ]

"$kw" export --textfile "$out/text/kvmwatch.prom" -n 1 >/dev/null 2>"$out/textfile.err"
rc=$?
check "export --textfile into a missing directory: exit 2 before attaching (rc=$rc)" \
	sh -c "[ $rc -eq 2 ] && ! grep -q attached '$out/textfile.err'"
mkdir -p "$out/text"
"$kw" export --textfile "$out/text/kvmwatch.prom" -i 0.2 -n 3 \
	>/dev/null 2>"$out/textfile.err"
rc=$?
check "export --textfile -n 3 exits 0 with one file and no temporary left (rc=$rc)" \
	sh -c "[ $rc -eq 0 ] && [ \"\$(ls -A '$out/text')\" = kvmwatch.prom ]"
check "the textfile is well-formed exposition text" \
	python3 "$top/tests/promparse.py" "$out/text/kvmwatch.prom"
check "it counts its 3 reads" grep -q '^kvmwatch_export_reads_total 3$' "$out/text/kvmwatch.prom"
"$kw" export --listen 'example.org:80' >/dev/null 2>"$out/badlisten.err"
rc=$?
check "export --listen with a host name is a usage error (rc=$rc)" [ $rc -eq 2 ]

echo "1..$TAP_N"
