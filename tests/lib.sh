# TAP helpers for the shell test scripts; tests/run.sh counts the lines.
TAP_N=0

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	echo "not ok $TAP_N - $*"
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# diag LINE...: a comment the runner ignores, for evidence on failure.
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# json_assert FILE PYTHON-EXPR: the expression is true of the document
# loaded as `d` (the last JSON document of FILE, one per line).
json_assert() {
	python3 - "$1" "$2" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
d = json.loads(lines[-1])
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# wait_for_line PATTERN FILE TENTHS: until FILE has a line matching
# PATTERN (grep -E), at most TENTHS tenths of a second; false if it never
# came.
wait_for_line() {
	i=0
	while ! grep -Eqs "$1" "$2"; do
		[ $i -lt "$3" ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}
