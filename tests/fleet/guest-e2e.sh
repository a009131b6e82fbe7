#!/bin/sh
# The fleet test's guest half (tests/fleet/e2e.py): kvmwatch export serving
# /metrics on :9477 and writing node_exporter's textfile, node_exporter on
# :9100, both scraped from the host through boot.sh --forward, while
# kvmload makes VMs whose writes it counts itself. FLEET_ROUNDS rounds.
set -u
: "${FLEET_ROUNDS:=3}"
mkdir -p /tmp/textfile /out/fleet
out=/out/fleet
awk '/^btime/ { print $2 }' /proc/stat >"$out/btime"

# drop_all_but CAP...: capsh --drop's list of every other capability.
drop_all_but() {
	keep=$(echo "$*" | tr 'A-Z ' 'a-z|')
	capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n' |
		grep -v -x -E "$keep" | paste -sd, -
}
# Without CAP_SYS_ADMIN, Debian's kernel refuses perf events
# (perf_event_paranoid 3) and the KVM modules' BTF: said plainly, exit 3.
cat /proc/sys/kernel/perf_event_paranoid >"$out/paranoid"
capsh --shell=/bin/sh --drop="$(drop_all_but CAP_BPF CAP_PERFMON)" -- -c \
	"exec kvmwatch export --textfile /tmp/nocap.prom -n 1" \
	>/dev/null 2>"$out/nocap.err"
echo $? >"$out/nocap.rc"
# The listening exporter as the unit runs it: root, with only the unit's
# capabilities (e2e.py ships them as /bin/unit-caps).
caps=$(cat /bin/unit-caps)
echo "$caps" >"$out/listen.caps"
capsh --shell=/bin/sh --drop="$(drop_all_but $caps)" -- -c \
	"exec kvmwatch export --listen :9477 -i 1 --grace 300" \
	>"$out/listen.out" 2>"$out/listen.err" &
listen=$!
kvmwatch export --textfile /tmp/textfile/kvmwatch.prom -i 1 --grace 300 \
	>"$out/textfile.out" 2>"$out/textfile.err" &
textfile=$!
node_exporter --web.listen-address=:9100 --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory=/tmp/textfile \
	>"$out/node.log" 2>&1 &
node=$!

# Both exporters attached (TCG: a minute or more on a loaded host).
for err in "$out/listen.err" "$out/textfile.err"; do
	i=0
	while ! grep -q 'attached' "$err" && [ $i -lt 1500 ]; do
		sleep 0.2
		i=$((i + 1))
	done
done
echo "attached $(cut -d' ' -f1 /proc/uptime)" >"$out/progress"
# A few scrapes before the first VM: the series start from 0.
sleep 5
n=0
while [ $n -lt "$FLEET_ROUNDS" ]; do
	kvmload mmio --vms 2 --vcpus 2 -n 300 >"$out/mmio-$n.json" \
		2>"$out/mmio-$n.err"
	echo "$?" >"$out/mmio-$n.rc"
	n=$((n + 1))
done
echo "$n" >"$out/rounds"
# Scrapes after the last VM: Prometheus holds the final counts.
sleep 15
echo "done $(cut -d' ' -f1 /proc/uptime)" >>"$out/progress"
kill -INT $listen $textfile
wait $listen
echo $? >"$out/listen.rc"
wait $textfile
echo $? >"$out/textfile.rc"
kill $node
