#!/bin/sh
# The fleet kit (docs/fleet.md) with the tools a fleet runs it with:
# systemd-analyze on the installed units, promtool on the rules, their
# unit tests and the exposition, the units' capabilities tried for real,
# and a real Prometheus and node_exporter scraping kvmwatch export here
# (tests/fleet/e2e.py --host; the testbed run has the VMs).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
kw="$top/kvmwatch"
out=$top/build/host-tests/fleet
rm -rf "$out"
mkdir -p "$out"
# The most exposure (systemd-analyze security) a unit may have: "OK".
EXPOSURE_MAX=3.0

[ -x "$kw" ] || { not_ok "kvmwatch is built ($kw)"; exit 1; }
for tool in promtool amtool systemd-analyze prometheus prometheus-node-exporter; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ not_ok "$tool is installed (tools/deps.sh fleet)"; exit 1; }
done

# include TAPFILE PREFIX: another program's TAP lines, numbered on.
include() {
	awk -v n=$TAP_N -v prefix="$2" '
		/^1\.\./ { next }
		/^(not )?ok [0-9]+ - / {
			n++
			sub(/ok [0-9]+ - /, "ok " n " - " prefix ": ")
		}
		{ print }' "$1"
	TAP_N=$((TAP_N + $(grep -c '^\(not \)\{0,1\}ok ' "$1")))
	# A program that died without a verdict is one failure.
	grep -q '^\(not \)\{0,1\}ok ' "$1" ||
		not_ok "$2: no verdict ($(tail -c 300 "$1"))"
}

# ---- rules
promtool check rules "$top/tools/fleet/kvmwatch-rules.yml" \
	"$top/tools/fleet/kvmwatch-alerts.yml" >"$out/check-rules.txt" 2>&1
rc=$?
[ $rc -eq 0 ] || diag "$(cat "$out/check-rules.txt")"
check "promtool check rules: the recording rules and the alerts (rc=$rc)" \
	[ $rc -eq 0 ]
promtool test rules "$top/tests/fleet/kvmwatch-alerts.test.yml" \
	>"$out/rules-test.txt" 2>&1
rc=$?
[ $rc -eq 0 ] || diag "$(tail -30 "$out/rules-test.txt")"
check "promtool test rules: each alert fires on its behaviour and stays quiet at check's threshold (rc=$rc)" \
	[ $rc -eq 0 ]
python3 "$top/tests/fleet/alerts_match.py" "$kw" \
	"$top/tools/fleet/kvmwatch-alerts.yml" >"$out/alerts-match.tap" 2>&1
include "$out/alerts-match.tap" "check rule"

am=$top/tools/fleet/alertmanager-example.yml
amtool check-config "$am" >"$out/amtool.txt" 2>&1
rc=$?
[ $rc -eq 0 ] || diag "$(cat "$out/amtool.txt")"
check "amtool check-config: the Alertmanager routing example (rc=$rc)" \
	[ $rc -eq 0 ]
route() {
	amtool config routes test --config.file="$am" "$@" 2>/dev/null
}
check "its routes: a critical kvmwatch alert pages, an info one is a ticket" \
	[ "$(route severity=critical alertname=KvmwatchHardLockup)" = kvm-oncall \
	-a "$(route severity=info alertname=KvmwatchMissedRuns)" = kvm-tickets ]

# ---- make install and the units
prefix=$out/prefix
make -C "$top" --no-print-directory -s install PREFIX="$prefix" \
	>"$out/install.txt" 2>&1
rc=$?
check "make install PREFIX=...: binary, man page, completion, units, rules (rc=$rc)" \
	[ $rc -eq 0 -a -x "$prefix/sbin/kvmwatch" \
	-a -f "$prefix/lib/systemd/system/kvmwatch-export.service" \
	-a -f "$prefix/lib/systemd/system/kvmwatch-export-textfile.service" \
	-a -f "$prefix/share/kvmwatch/prometheus/kvmwatch-alerts.yml" ]
# The plain unit an operator would write first, for the comparison.
printf '[Service]\nExecStart=%s export --listen=:9477\nCapabilityBoundingSet=CAP_BPF CAP_PERFMON\nNoNewPrivileges=yes\n' \
	"$prefix/sbin/kvmwatch" >"$out/plain.service"
plain=$(systemd-analyze security --offline=yes "$out/plain.service" 2>&1 |
	sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
for unit in kvmwatch-export kvmwatch-export-textfile; do
	file=$prefix/lib/systemd/system/$unit.service
	MANPATH=$prefix/share/man systemd-analyze verify "$file" \
		>"$out/$unit.verify" 2>&1
	rc=$?
	[ $rc -eq 0 ] || diag "$(cat "$out/$unit.verify")"
	check "systemd-analyze verify $unit.service (rc=$rc)" [ $rc -eq 0 ]
	systemd-analyze security --offline=yes "$file" >"$out/$unit.security" 2>&1
	level=$(sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
		"$out/$unit.security")
	check "systemd-analyze security --offline=yes $unit.service: exposure $level <= $EXPOSURE_MAX (a plain unit: $plain)" \
		awk -v l="${level:-99}" -v m=$EXPOSURE_MAX 'BEGIN { exit !(l <= m) }'
done

# ---- the exposition
"$kw" export --textfile "$out/kvmwatch.prom" -i 0.5 -n 2 >/dev/null \
	2>"$out/textfile.err"
promtool check metrics <"$out/kvmwatch.prom" >"$out/check-metrics.txt" 2>&1
rc=$?
[ -s "$out/check-metrics.txt" ] && diag "$(cat "$out/check-metrics.txt")"
check "promtool check metrics on export's exposition: no warning (rc=$rc)" \
	[ $rc -eq 0 -a ! -s "$out/check-metrics.txt" ]

# ---- the units' capabilities, for real
caps=$(sed -n 's/^CapabilityBoundingSet=//p' \
	"$prefix/lib/systemd/system/kvmwatch-export.service")
if [ "$(id -u)" -eq 0 ] && command -v capsh >/dev/null 2>&1 &&
	"$kw" probe >/dev/null 2>&1; then
	# keep_only CAPS...: capsh --drop= of every other bounding capability.
	keep_only() {
		capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' |
			grep -v -x -i -E "$(echo "$*" | tr ' ' '|')" | paste -sd,
	}
	# export_with NAME CAP...: export -n 2 with only those capabilities
	# (rc in $rc, its file NAME.prom, its stderr NAME.err).
	export_with() {
		name=$1
		shift
		capsh --drop="$(keep_only "$@")" -- -c \
			"'$kw' export --textfile '$out/$name.prom' -i 0.5 -n 2" \
			>/dev/null 2>"$out/$name.err"
		rc=$?
	}
	# shellcheck disable=SC2086
	export_with caps $caps
	check "export as root with only the unit's capabilities ($caps) attaches and exits 0 (rc=$rc)" \
		[ $rc -eq 0 -a -s "$out/caps.prom" ]
	# Without CAP_SYS_ADMIN: enough here, or said plainly where the
	# kernel asks for it (Debian's perf_event_paranoid 3, module BTF).
	export_with noadmin cap_bpf cap_perfmon
	if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 2 ] ||
		[ -e /sys/kernel/btf/kvm ]; then
		check "without CAP_SYS_ADMIN on a kernel that asks for it: exit 3, naming it (rc=$rc)" \
			[ $rc -eq 3 -a -n "$(grep CAP_SYS_ADMIN "$out/noadmin.err")" ]
	else
		check "without CAP_SYS_ADMIN (perf_event_paranoid <= 2, no KVM module BTF): attaches and exits 0 (rc=$rc)" \
			[ $rc -eq 0 -a -s "$out/noadmin.prom" ]
	fi
	export_with nocap cap_bpf
	check "without CAP_PERFMON: exit 3, naming it (rc=$rc: $(head -c 200 "$out/nocap.err"))" \
		[ $rc -eq 3 -a -n "$(grep CAP_PERFMON "$out/nocap.err")" ]
else
	echo "# SKIP the units' capabilities: needs root, capsh and a kernel kvmwatch can watch"
fi

# ---- a real Prometheus and node_exporter
python3 "$top/tests/fleet/e2e.py" --host >"$out/e2e.tap" 2>&1
include "$out/e2e.tap" "Prometheus here"
echo "1..$TAP_N"
