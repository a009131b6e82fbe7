#!/bin/sh
# Fuzz the rules-file parser for a bounded time (FUZZ_SECONDS, default 20)
# and replay the kept corpus; TAP for tests/run.sh. New inputs go to
# build/fuzz/corpus, never into the source tree (`make fuzz-merge` does
# that on purpose). A crash leaves its input in build/fuzz/ and fails.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
fuzzer=$top/build/fuzz/fuzz_rules_file
corpus=$top/tests/fuzz/rules_file
work=$top/build/fuzz
seconds=${FUZZ_SECONDS:-20}

if ! [ -x "$fuzzer" ]; then
	not_ok "fuzz: $fuzzer is not built (make fuzz-build; needs clang with libFuzzer)"
	exit 1
fi
mkdir -p "$work/corpus"
kept=$(ls "$corpus" | wc -l)

# The kept corpus first, on its own: every input must parse or fail
# cleanly.
if "$fuzzer" -runs=0 "$corpus" >"$work/replay.log" 2>&1; then
	ok "fuzz: the $kept kept inputs of tests/fuzz/rules_file replay without a crash"
else
	not_ok "fuzz: replaying tests/fuzz/rules_file crashed"
	tail -n 30 "$work/replay.log" | sed 's/^/# /'
fi

# -rss_limit_mb: a 1 MiB file must not need much memory.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=512 \
	-max_len=4096 -dict="$top/tests/fuzz/rules_file.dict" \
	-artifact_prefix="$work/" -print_final_stats=1 \
	"$work/corpus" "$corpus" >"$work/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -n 1)
if [ "$rc" -eq 0 ]; then
	ok "fuzz: rules-file parser, ${runs:-?} inputs in $seconds s (${cov:-cov ?}), no crash, leak or undefined behaviour"
else
	not_ok "fuzz: the rules-file parser failed (exit $rc); input in $work/crash-* or leak-*"
	grep -E 'ERROR|SUMMARY|==[0-9]+==' "$work/fuzz.log" | head -n 20 | sed 's/^/# /'
fi
echo "1..$TAP_N"
