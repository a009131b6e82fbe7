#!/bin/sh
# Fuzz one parser (NAME: rules_file, the rules file; record_file, the
# baseline loader; cli, the command lines) for a bounded time
# (FUZZ_SECONDS, default 20), or FUZZ_RUNS inputs when set, and replay
# its kept corpus; TAP for tests/run.sh. New inputs go to
# build/fuzz/NAME/corpus, never into the source tree (`make fuzz-merge`
# does that on purpose). A crash leaves its input in build/fuzz/NAME/ and
# fails.
#
#   tests/fuzz/run.sh NAME
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
name=${1:-rules_file}
what=$(echo "$name" | sed 's/rules_file/rules-file parser/; s/record_file/baseline (record) loader/; s/^cli$/command-line parser/')
fuzzer=$top/build/fuzz/fuzz_$name
corpus=$top/tests/fuzz/$name
work=$top/build/fuzz/$name
seconds=${FUZZ_SECONDS:-20}
runs=${FUZZ_RUNS:-}
budget="-max_total_time=$seconds"
shown="in $seconds s"
if [ -n "$runs" ]; then
	budget="-runs=$runs"
	shown=
fi
dict=
[ -e "$top/tests/fuzz/$name.dict" ] && dict=-dict="$top/tests/fuzz/$name.dict"
# A rules file is short; a record of a busy host is tens of KiB.
max_len=4096
[ "$name" = record_file ] && max_len=65536
[ "$name" = cli ] && max_len=1024

if ! [ -x "$fuzzer" ]; then
	not_ok "fuzz: $fuzzer is not built (make fuzz-build; needs clang with libFuzzer)"
	exit 1
fi
mkdir -p "$work/corpus"
kept=$(ls "$corpus" | wc -l)

# The kept corpus first, on its own: every input must parse or fail
# cleanly.
if "$fuzzer" -runs=0 "$corpus" >"$work/replay.log" 2>&1; then
	ok "fuzz: the $kept kept inputs of tests/fuzz/$name replay without a crash"
else
	not_ok "fuzz: replaying tests/fuzz/$name crashed"
	tail -n 30 "$work/replay.log" | sed 's/^/# /'
fi

# -rss_limit_mb: a file of a few MiB must not need much memory.
# -timeout: an input replays in 0.15 s; a loaded CI machine must not
# turn a slow moment into a crash report.
t0=$(date +%s)
"$fuzzer" $budget -timeout=120 -rss_limit_mb=512 \
	-max_len=$max_len $dict \
	-artifact_prefix="$work/" -print_final_stats=1 \
	"$work/corpus" "$corpus" >"$work/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
[ -n "$shown" ] || shown="in $(( $(date +%s) - t0 )) s"
cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -n 1)
if [ "$rc" -eq 0 ]; then
	ok "fuzz: $what, ${runs:-?} inputs $shown (${cov:-cov ?}), no crash, leak or undefined behaviour"
else
	not_ok "fuzz: the $what failed (exit $rc); input in $work/crash-* or leak-*"
	grep -E 'ERROR|SUMMARY|==[0-9]+==' "$work/fuzz.log" | head -n 20 | sed 's/^/# /'
fi
echo "1..$TAP_N"
