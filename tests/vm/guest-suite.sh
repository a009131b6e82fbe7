#!/bin/sh
# The VM test suite's guest half: runs inside the testbed (tests/vm/run.sh
# boots it with /bin/kvmwatch and /bin/kvmload). Each kvmload scenario runs
# with its own "kvmwatch top" session attached; everything lands in
# /out/<scenario>/ and the host compares the two sides (tests/vm/suite.py).
#
# Per scenario directory: cmd (kvmload arguments), kvmload.json/.err/.rc,
# kvmwatch.json/.err/.rc, times (guest uptime at start and end).
set -u

# Slow steps under TCG take seconds; these bound a hang, not a normal run.
ATTACH_WAIT=1200	# tenths of a second for "kvmwatch: attached"
STOP_WAIT=300		# tenths of a second for kvmwatch to exit on SIGINT
KVMLOAD_TIMEOUT=180	# seconds

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# A zombie still answers "kill -0": look at its state instead.
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status"
}

attached() { grep -q '^kvmwatch: attached' "$1/kvmwatch.err"; }

# scenario NAME STDERR_TO_CONSOLE KVMLOAD_ARGS...
# STDERR_TO_CONSOLE=yes copies kvmload's stderr to the console too, so the
# host can react to KVMLOAD-TIMER-START (the stall test).
scenario() {
	name=$1 console=$2
	shift 2
	d=/out/$name
	mkdir -p "$d"
	echo "$*" >"$d/cmd"
	echo "suite: $name: kvmload $* (uptime $(uptime_s) s)"
	start=$(uptime_s)

	kvmwatch top -b -c -o json -d 3600 -n 1 \
		>"$d/kvmwatch.json" 2>"$d/kvmwatch.err" &
	wpid=$!
	i=0
	while ! attached "$d" && alive $wpid && [ $i -lt $ATTACH_WAIT ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! attached "$d"; then
		echo "suite: $name: kvmwatch did not attach; its stderr:"
		cat "$d/kvmwatch.err"
		kill -KILL $wpid 2>/dev/null
		wait $wpid
		echo $? >"$d/kvmwatch.rc"
		echo "not run: kvmwatch did not attach" >"$d/kvmload.err"
		return
	fi
	echo "suite: $name: kvmwatch attached after $((i / 10)).$((i % 10)) s"

	if [ "$console" = yes ]; then
		{
			timeout $KVMLOAD_TIMEOUT kvmload "$@" 2>&1 >"$d/kvmload.json"
			echo $? >"$d/kvmload.rc"
		} | tee "$d/kvmload.err"
	else
		timeout $KVMLOAD_TIMEOUT kvmload "$@" \
			>"$d/kvmload.json" 2>"$d/kvmload.err"
		echo $? >"$d/kvmload.rc"
	fi
	echo "suite: $name: kvmload exit $(cat "$d/kvmload.rc")"

	kill -INT $wpid
	i=0
	while alive $wpid && [ $i -lt $STOP_WAIT ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive $wpid; then
		echo "suite: $name: kvmwatch ignored SIGINT for $((STOP_WAIT / 10)) s; killed"
		kill -KILL $wpid
	fi
	wait $wpid
	echo $? >"$d/kvmwatch.rc"
	echo "$start $(uptime_s)" >"$d/times"
}

kvm=MISSING
[ -c /dev/kvm ] && kvm=present
echo "suite: $(uname -m) $(uname -r), /dev/kvm $kvm"
for bin in kvmwatch kvmload; do
	if ! [ -x "/bin/$bin" ]; then
		echo "suite: /bin/$bin is missing"
		exit 1
	fi
done
cat /sys/module/kvm/parameters/min_timer_period_us \
	>/out/min_timer_period_us 2>/dev/null

echo "suite: probe (uptime $(uptime_s) s)"
kvmwatch probe -o json >/out/probe.json 2>/out/probe.err
echo $? >/out/probe.rc

scenario mmio no mmio --vms 2 --vcpus 2 -n 1000
scenario timer no timer --vms 2 --vcpus 2 --period-us 1000 --seconds 2
if [ "$(uname -m)" = x86_64 ]; then
	# The host pauses QEMU for 3 s when KVMLOAD-TIMER-START reaches the
	# console: a model of host suspend while a periodic timer runs.
	scenario timer-stall yes timer --vms 2 --vcpus 2 --period-us 1000 \
		--seconds 5
fi
scenario teardown no teardown --vms 2 --vcpus 2 --mem-mib 64
scenario pmu no pmu --vms 2 --vcpus 2 -k 1000
echo "suite: done (uptime $(uptime_s) s)"
