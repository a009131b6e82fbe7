#!/bin/sh
# Host smoke test: kvmwatch on the running kernel, whatever it allows.
# Every claim kvmwatch makes about the kernel is checked against an
# independent look at the same kernel.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
kw="$top/kvmwatch"
out=$top/build/host-tests
mkdir -p "$out"
arch=$(uname -m | sed 's/aarch64/arm64/')
bpf_arch=$(echo "$arch" | sed 's/x86_64/x86/')

[ -x "$kw" ] || { not_ok "kvmwatch is built ($kw)"; exit 1; }

# probe -o json
"$kw" probe -o json >"$out/probe.json" 2>"$out/probe.err"
rc=$?
check "probe -o json prints one JSON document" json_assert "$out/probe.json" 'd["type"] == "probe"'
if [ -e /sys/kernel/tracing/events/kvm/kvm_exit ] || [ -e /sys/module/kvm ]; then
	check "probe exits 0 where KVM is loaded (rc=$rc)" [ $rc -eq 0 ]
else
	check "probe exits 4 without KVM (rc=$rc)" [ $rc -eq 4 ]
fi
check "probe names the host arch" json_assert "$out/probe.json" "d['host']['arch'] == '$arch'"
check "probe reports all five detectors" json_assert "$out/probe.json" \
	'sorted(d["detectors"]) == ["exits", "mmio", "pmu", "teardown", "timer"]'

# fentry: kvmwatch's verdict against a trial load by bpftool.
clang -g -O2 -target bpf -D__TARGET_ARCH_$bpf_arch -I"$top/vmlinux/$bpf_arch" \
	-c "$top/tests/host/fentry_trial.bpf.c" -o "$out/fentry_trial.bpf.o"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
rm -f /sys/fs/bpf/kvmwatch_fentry_trial
if bpftool prog load "$out/fentry_trial.bpf.o" /sys/fs/bpf/kvmwatch_fentry_trial 2>"$out/fentry_trial.err"; then
	rm -f /sys/fs/bpf/kvmwatch_fentry_trial
	check "probe says fentry works, as bpftool found" \
		json_assert "$out/probe.json" 'd["fentry"]["status"] == "works"'
else
	diag "bpftool: $(grep -m1 -i -E 'error|permission' "$out/fentry_trial.err")"
	check "probe says fentry is refused, as bpftool found, and why" \
		json_assert "$out/probe.json" 'd["fentry"]["status"] == "refused" and d["fentry"]["why_not"]'
	check "every function point not in fentry mode gives the fentry reason" \
		json_assert "$out/probe.json" 'all(p.get("why_not", {}).get("fentry") for det in d["detectors"].values() for p in det["points"] if p["applicable"] and p["function"] and p["mode"] != "fentry")'
	"$kw" probe >"$out/probe.txt" 2>/dev/null
	why=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fentry"]["why_not"])' "$out/probe.json")
	n=$(grep -cF -- "$why" "$out/probe.txt")
	check "probe's text gives the host's fentry reason once, not under each point ($n times)" [ "$n" -eq 1 ]
fi

# kprobes: against the kernel's own interfaces.
if [ -e /sys/bus/event_source/devices/kprobe/type ] || [ -e /sys/kernel/tracing/kprobe_events ]; then
	check "probe says kprobes are available" json_assert "$out/probe.json" 'd["kprobes"]["available"]'
else
	check "probe says kprobes are unavailable, and why" \
		json_assert "$out/probe.json" 'not d["kprobes"]["available"] and "kprobe" in d["kprobes"]["why_not"]'
fi

# tracepoints: each point's "found" against tracefs.
python3 - "$out/probe.json" <<'PY' >"$out/tp.list"
import json, sys
d = json.load(open(sys.argv[1]))
for det in d["detectors"].values():
    for p in det["points"]:
        if p["applicable"] and p["tracepoint"]:
            print(p["tracepoint"], int(p["tracepoint_found"]))
PY
mismatch=0
while read -r tp found; do
	real=0
	[ -e "/sys/kernel/tracing/events/$tp/id" ] && real=1
	[ "$real" = "$found" ] || { mismatch=1; diag "$tp: kvmwatch says $found, tracefs says $real"; }
done <"$out/tp.list"
check "every tracepoint found/missing as tracefs says" [ $mismatch -eq 0 ]

# Degraded points say what they lose.
check "points watched in a weaker mode say what is lost" json_assert "$out/probe.json" \
	'all(p["lost"] for det in d["detectors"].values() for p in det["points"] if p["applicable"] and p["function"] and p["mode"] in ("tracepoint", "none"))'

if [ $rc -ne 0 ]; then
	diag "KVM is not loaded here: top cannot attach; the rest is skipped as failures would be meaningless"
	exit 0
fi

# top -b -n 1 -o json attaches every exits program the plan chose.
"$kw" top -b -n 1 -d 0.5 -o json >"$out/top.json" 2>"$out/top.err"
rc=$?
check "top -b -n 1 -o json exits 0 (rc=$rc)" [ $rc -eq 0 ]
check "top prints one JSON document with the exits detector" \
	json_assert "$out/top.json" 'd["type"] == "top" and d["detectors"]["exits"]["status"] in ("available", "degraded") and isinstance(d["vms"], list)'
expected=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for p in d["detectors"]["exits"]["points"] if p["applicable"] and p["mode"] != "none"))' "$out/probe.json")
attached=$(sed -n 's/^kvmwatch: attached [0-9]* programs (exits: \([0-9]*\) .*/\1/p' "$out/top.err")
diag "plan: $expected points with a mode; top attached: ${attached:-none}"
check "top attached one program per planned point" [ "${attached:-x}" = "$expected" ]
check "top states the attach mode of every exits point" json_assert "$out/top.json" \
	'all(p["mode"] for p in d["detectors"]["exits"]["points"] if p["applicable"])'

# Start-up is one line: it counts the points watched in a weaker form or
# off; -v names each with what it loses.
lost=$(sed -n 's/^kvmwatch: attached .*; \([0-9]*\) probe points* in a weaker form.*/\1/p' "$out/top.err")
"$kw" -v top -b -n 1 -d 0.5 -o json >/dev/null 2>"$out/top-v.err"
named=$(grep -c ': lost: ' "$out/top-v.err")
diag "start-up: ${lost:-0} points counted, $named named with -v"
check "top's start-up counts its weaker points in one line (${lost:-0}), naming none" \
	sh -c "! grep -q ': lost: ' '$out/top.err'"
check "-v names each of them with what it loses ($named)" [ "${lost:-0}" = "$named" ]

# SIGINT: clean detach, a final report, exit 0. The stderr file is
# emptied first so that an earlier run's "attached" line cannot be read.
: >"$out/sigint.err"
"$kw" top -b -C -d 3600 -o json >"$out/sigint.json" 2>"$out/sigint.err" &
pid=$!
wait_for_line '^kvmwatch: attached' "$out/sigint.err" 100 || true
kill -INT $pid
wait $pid
rc=$?
check "SIGINT ends top with exit 0 (rc=$rc)" [ $rc -eq 0 ]
check "SIGINT still prints the final cumulative report" \
	json_assert "$out/sigint.json" 'd["cumulative"] and d["interval_s"] < 60'
check "no kvmwatch BPF programs left attached" \
	sh -c "! bpftool prog show 2>/dev/null | grep -q -E 'tp_kvm_exit|tp_kvm_entry'"

# The interactive view needs a terminal: script(1) gives it one. 'q'
# must end it; without it, it would run on.
if command -v script >/dev/null; then
	(sleep 3; printf q) | TERM=xterm timeout 20 script -qec \
		"'$kw' top -d 0.5" /dev/null >"$out/tui.out" 2>&1
	rc=$?
	check "interactive top ends on 'q' with exit 0 (rc=$rc)" [ $rc -eq 0 ]
	check "interactive top drew the exits table on the alternate screen" \
		sh -c "grep -q 'kvmwatch top -' '$out/tui.out' && grep -q '1049h' '$out/tui.out'"
	# 'h' (or '?') shows the keys; any key goes back, 'q' still quits.
	(sleep 3; printf '?'; sleep 1; printf x; sleep 1; printf q) |
		TERM=xterm timeout 20 script -qec "'$kw' top -d 0.5" /dev/null \
		>"$out/tui-help.out" 2>&1
	rc=$?
	check "interactive top shows its keys on '?' and still quits on 'q' (rc=$rc)" \
		sh -c "[ $rc -eq 0 ] && grep -q 'Any key returns to the report' '$out/tui-help.out'"
	TERM=no-such-terminal timeout 20 script -qec "'$kw' top -n 1 -d 0.2" \
		/dev/null >"$out/tui-bad.out" 2>&1
	rc=$?
	check "interactive top with an unknown TERM is a usage error (rc=$rc) saying so" \
		sh -c "[ $rc -eq 2 ] && grep -q 'cannot drive this terminal' '$out/tui-bad.out'"
fi

# kvmwatch never blinds another tracer: perf still counts a system call
# tracepoint while kvmwatch watches every system call's entry (tracepoint
# mode's teardown, raw_syscalls:sys_enter, for KVM_CREATE_VM). The event:
# the ioctls of a command that makes a known number, counted exactly.
ioctls() {
	perf stat -e syscalls:sys_enter_ioctl -x, python3 -c '
import fcntl
for _ in range(1000):
    try:
        fcntl.ioctl(0, 0x5401, bytes(64))
    except OSError:
        pass' </dev/null 2>&1 | awk -F, '/sys_enter_ioctl/ { print $1 }'
}
"$kw" probe -o json >"$out/coexist-probe.json" 2>/dev/null
if command -v perf >/dev/null && [ -n "$(ioctls)" ] &&
	json_assert "$out/coexist-probe.json" \
		'any(p["name"] == "destroy_vm" and p.get("mode") == "tracepoint" for p in d["detectors"]["teardown"]["points"])'; then
	alone=$(ioctls)
	"$kw" top -b -d 60 -n 1 >/dev/null 2>"$out/coexist.err" &
	kpid=$!
	wait_for_line '^kvmwatch: attached' "$out/coexist.err" 300 || true
	beside=$(ioctls)
	kill -INT $kpid
	wait $kpid
	check "perf counts syscalls:sys_enter_ioctl beside kvmwatch's raw sys_enter program as without it ($beside vs $alone, 1000 made)" \
		sh -c "[ '$beside' = '$alone' ] && [ '${alone:-0}' -ge 1000 ]"
else
	diag "perf cannot count syscalls:sys_enter_ioctl here, or kvmwatch does not attach to it: the coexistence check is left to the testbed"
fi

# Bad input: usage errors exit 2 with a message.
for args in "bogus" "top -d 0" "top -d abc" "top -n 0" "top -o yaml" \
	"top -p 0" "top -p 2147483647" "top extra" "probe -o xml" "--nope" \
	"top -m bogus" "check --lockup -P nosuch" "record -o x.json -m"; do
	# shellcheck disable=SC2086
	"$kw" $args >/dev/null 2>"$out/usage.err"
	rc=$?
	check "'kvmwatch $args' is a usage error (rc=$rc) with a message" \
		sh -c "[ $rc -eq 2 ] && [ -s '$out/usage.err' ]"
done

# kvmwatch's own options after the command act as before it: the same
# modes in probe's JSON.
"$kw" -m tracepoint probe -o json >"$out/probe-m-before.json" 2>/dev/null
"$kw" probe -o json -m tracepoint >"$out/probe-m-after.json" 2>"$out/probe-m-after.err"
rc=$?
check "'probe -o json -m tracepoint' (rc=$rc) tries no fentry program and plans every point as '-m tracepoint probe' does" \
	python3 -c '
import json, sys
docs = [json.load(open(f)) for f in sys.argv[1:]]
modes = [{(n, p["name"]): p["mode"] for n, det in d["detectors"].items() for p in det.get("points", []) if p.get("mode")} for d in docs]
sys.exit(not (modes[0] == modes[1] and modes[0] and docs[1]["fentry"]["status"] == "not-tried" == docs[0]["fentry"]["status"]))
' "$out/probe-m-before.json" "$out/probe-m-after.json"
"$kw" top -b -n 1 -d 0.2 >"$out/top.txt" 2>/dev/null
check "top -b's header gives the time of day and whose VM count it is: $(head -1 "$out/top.txt" | cut -c1-60)" \
	sh -c "head -1 '$out/top.txt' | grep -Eq '^kvmwatch top - [0-2][0-9]:[0-5][0-9]:[0-6][0-9] - ' && sed -n 2p '$out/top.txt' | grep -Eq '^exits \\([a-z+]+\\): [0-9]+ VMs? with exits,'"
COLUMNS=80 "$kw" top -b -n 1 -d 0.2 >"$out/top80.txt" 2>/dev/null
check "top -b at COLUMNS=80: every line of every detector's table fits 80 columns ($(awk '{ if (length > m) m = length } END { print m }' "$out/top80.txt") at most)" \
	sh -c "[ -s '$out/top80.txt' ] && ! awk 'length > 80' '$out/top80.txt' | grep -q ."
COLUMNS=200 "$kw" top -b -n 1 -d 0.2 >"$out/top200.txt" 2>/dev/null
check "top -b at COLUMNS=200: the prose is not wrapped (wider terminals show more)" \
	sh -c "awk 'length > 100' '$out/top200.txt' | grep -q ."
# JSON (schema 2): the detectors block once per stream, not per report.
"$kw" top -b -o json -n 3 -d 0.2 >"$out/top3.json" 2>/dev/null
check "top -o json: the detectors block in the first of 3 documents only, schema 2" \
	python3 -c '
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(not (len(docs) == 3 and "exits" in docs[0]["detectors"] and
              not any("detectors" in d for d in docs[1:]) and
              all(d["schema"] == 2 and "vms" in d for d in docs)))
' "$out/top3.json"
# kvm_stat's logging mode: text with the time of day, CSV into a file.
"$kw" top -l -n 2 -d 0.2 >"$out/log.txt" 2>/dev/null
check "top -l: a header, then one line per interval with its time of day" \
	sh -c "head -1 '$out/log.txt' | grep -q '^TIME  *VMS  *EXITS/s' && [ \$(grep -Ec '^[0-2][0-9]:[0-5][0-9]:[0-6][0-9] +[0-9]+ ' '$out/log.txt') -eq 2 ]"
rm -f "$out/log.csv"
"$kw" top -c -n 2 -d 0.2 -L "$out/log.csv" >"$out/log-stdout.txt" 2>/dev/null
rc=$?
check "top -c -L FILE (rc=$rc): CSV into FILE, a header and 2 rows as wide as it, nothing on stdout" \
	python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
ok = (rows and rows[0][:4] == ["time", "interval_s", "vms", "exits"] and
      len(rows) == 3 and all(len(r) == len(rows[0]) for r in rows) and
      open(sys.argv[2]).read() == "" and sys.argv[3] == "0")
sys.exit(not ok)
' "$out/log.csv" "$out/log-stdout.txt" $rc
for bad in "-l -o json" "-L $out/no/such/dir/log" "-g ''" "-g '$(printf 'a\tb')'"; do
	eval "\"\$kw\" top -n 1 $bad" >/dev/null 2>"$out/bad.err"
	rc=$?
	check "top $bad: exit 2 (rc=$rc), saying why in one line: $(head -1 "$out/bad.err")" \
		sh -c "[ $rc -eq 2 ] && [ \$(wc -l <'$out/bad.err') -eq 1 ]"
done
# make install: the binary, the man page, bash completion; the completion
# offers every long option each command's -h lists.
rm -rf "$out/inst"
make -C "$top" -s install DESTDIR="$out/inst" PREFIX=/usr >/dev/null 2>"$out/install.err"
rc=$?
check "make install DESTDIR=... (rc=$rc) puts the binary, man page and completion in place, and the binary runs" \
	sh -c "[ $rc -eq 0 ] && '$out/inst/usr/sbin/kvmwatch' --version | grep -q '^kvmwatch ' && [ -s '$out/inst/usr/share/man/man8/kvmwatch.8' ] && [ -s '$out/inst/usr/share/bash-completion/completions/kvmwatch' ]"
bash -c '. "$1/tools/completion/kvmwatch.bash"
for cmd in probe top check record export; do
	COMP_WORDS=(kvmwatch "$cmd" ""); COMP_CWORD=2; _kvmwatch
	have=" ${COMPREPLY[*]} "
	for o in $("$2" "$cmd" -h 2>&1 | sed -n "s/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p" | sort -u); do
		case "$have" in *" $o "*) ;; *) echo "$cmd $o"; exit 1 ;; esac
	done
done' completion "$top" "$kw" >"$out/completion.missing" 2>&1
rc=$?
check "bash completion offers every long option of every command's -h (missing: $(cat "$out/completion.missing"))" [ $rc -eq 0 ]
"$kw" top -h >"$out/top-help.txt"
check "top -h lists kvmwatch's own options" grep -q -- '-m MODE' "$out/top-help.txt"

# Without privileges: one line, exit 3.
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$kw" top -b -n 1 >/dev/null 2>"$out/noroot.err"
	rc=$?
	diag "$(cat "$out/noroot.err")"
	check "unprivileged top exits 3 (rc=$rc) saying what is needed" \
		sh -c "[ $rc -eq 3 ] && grep -q 'CAP_BPF' '$out/noroot.err' && [ \$(wc -l <'$out/noroot.err') -eq 1 ]"
fi
exit 0
