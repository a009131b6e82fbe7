#!/bin/sh
# make soak's workload half (tests/soak/soak.py runs it in the testbed, or
# on a KVM host as root): kvmwatch export reads every second for
# SOAK_SECONDS while VMs come and go as on a busy host:
#   every round   kvmload mmio (2 VMs x 2 vCPUs, 300 writes of each kind)
#                 and a short kvmload timer VM
#   every 4th     a kvmload teardown VM
#   every 8th     a VMM SIGKILLed mid-run
# and, with SOAK_PID_MAX set, kernel.pid_max lowered so that pids and tids
# come back within seconds. Two reads after each round, SOAK_OUT/log gets:
#   round N UPTIME rss KB series N          export's RSS, per-VM series
#   truth N PID START_TICKS WRITES          each mmio VM, from kvmload
#   line N <exposition line>                the series of those pids
#   global N <exposition line>              every unlabelled counter, and
#                                           kvm_mmio's program's skipped runs
#   killed N PID START_TICKS                a VMM killed this round
#   kline N <exposition line>               its series, read after it died
# and SOAK_OUT/export-final.prom is read --grace after the last round.
set -u
: "${SOAK_SECONDS:=120}" "${SOAK_OUT:=/out/soak}" "${SOAK_GRACE:=15}"
: "${SOAK_PID_MAX:=}" "${SOAK_MODE:=}"
KVMLOAD_TIMEOUT=180

now_s() { cut -d. -f1 /proc/uptime; }
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status"; }

# The VM process of kvmload $1: its child.
child_of() {
	for p in /proc/[0-9]*; do
		[ "$(cut -d' ' -f4 "$p/stat" 2>/dev/null)" = "$1" ] &&
			echo "${p#/proc/}" && return
	done
}

# kvmload's mmio JSON on stdin: "PID START_TICKS WRITES" per VM (its
# vCPUs' stores; the "totals" after the VMs are all of them together).
truth_of() {
	awk -F'[:,]' '
		/"pid":/ { if (p) print p, t, w; p = $2 + 0; t = -1; w = 0 }
		/"totals":/ { if (p) print p, t, w; p = 0 }
		/"start_ticks":/ { t = $2 + 0 }
		/"(fast_mmio|datamatch|user_mmio|hostcall)_writes":/ { w += $2 }
		END { if (p) print p, t, w }'
}

soak_run() {
	d=$SOAK_OUT
	mkdir -p "$d"
	: >"$d/log"
	grep '^btime ' /proc/stat | cut -d' ' -f2 >"$d/btime"
	old_pid_max=$(cat /proc/sys/kernel/pid_max)
	[ -n "$SOAK_PID_MAX" ] && echo "$SOAK_PID_MAX" >/proc/sys/kernel/pid_max
	mode=
	[ -n "$SOAK_MODE" ] && mode="-m $SOAK_MODE"
	# shellcheck disable=SC2086
	kvmwatch $mode export --textfile "$d/export.prom" -i 1 --grace "$SOAK_GRACE" \
		>"$d/export.out" 2>"$d/export.err" &
	xpid=$!
	i=0
	while ! grep -q '^kvmwatch: attached' "$d/export.err" && alive $xpid &&
		[ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! grep -q '^kvmwatch: attached' "$d/export.err"; then
		echo "soak: kvmwatch export did not attach"
		kill -KILL $xpid 2>/dev/null
		return 1
	fi
	echo "soak: export attached; $SOAK_SECONDS s of rounds (uptime $(now_s) s)"

	end=$(($(now_s) + SOAK_SECONDS))
	n=0
	while [ "$(now_s)" -lt $end ] && alive $xpid; do
		timeout $KVMLOAD_TIMEOUT kvmload mmio --vms 2 --vcpus 2 -n 300 \
			>"$d/mmio.json" 2>"$d/mmio.err" ||
			echo "failed $n mmio $(tail -1 "$d/mmio.err")" >>"$d/log"
		timeout $KVMLOAD_TIMEOUT kvmload timer --vms 1 --vcpus 1 \
			--period-us 1000 --seconds 0.2 >/dev/null 2>&1
		[ $((n % 4)) -eq 3 ] && timeout $KVMLOAD_TIMEOUT kvmload teardown \
			--vms 1 --vcpus 1 --mem-mib 32 >/dev/null 2>&1
		vmm=
		if [ $((n % 8)) -eq 7 ]; then
			kvmload mmio --vms 1 --vcpus 1 -n 100000000 >/dev/null 2>&1 &
			kpid=$!
			sleep 1.5
			vmm=$(child_of $kpid)
			if [ -n "$vmm" ]; then
				echo "killed $n $vmm $(cut -d' ' -f22 "/proc/$vmm/stat")" \
					>>"$d/log"
				kill -KILL "$vmm"
			fi
			kill -KILL $kpid 2>/dev/null
			wait $kpid 2>/dev/null
		fi
		# Two reads after the round's last exit.
		sleep 2.2
		cp "$d/export.prom" "$d/snap.prom"
		echo "round $n $(cut -d' ' -f1 /proc/uptime)" \
			"rss $(awk '/^VmRSS/ { print $2 }' "/proc/$xpid/status")" \
			"series $(grep -c 'vm="' "$d/snap.prom")" >>"$d/log"
		truth_of <"$d/mmio.json" >"$d/truth"
		while read -r pid ticks writes; do
			echo "truth $n $pid $ticks $writes"
			grep "^kvmwatch_mmio_addr_writes_total{vm=\"$pid\"" \
				"$d/snap.prom" | sed "s/^/line $n /"
		done <"$d/truth" >>"$d/log"
		[ -n "$vmm" ] && grep "^kvmwatch_mmio_addr_writes_total{vm=\"$vmm\"" \
			"$d/snap.prom" | sed "s/^/kline $n /" >>"$d/log"
		grep -e '^kvmwatch_[a-z_]*_total [0-9]' \
			-e '^kvmwatch_export_program_missed_runs_total{detector="mmio",program="tp_kvm_mmio"}' \
			"$d/snap.prom" |
			sed "s/^/global $n /" >>"$d/log"
		n=$((n + 1))
	done
	echo "soak: $n rounds; waiting out --grace (uptime $(now_s) s)"
	sleep $((SOAK_GRACE + 3))
	cp "$d/export.prom" "$d/export-final.prom"
	kill -INT $xpid
	wait $xpid
	echo $? >"$d/export.rc"
	echo "$old_pid_max" >/proc/sys/kernel/pid_max
	rm -f "$d/snap.prom" "$d/mmio.json" "$d/truth"
	echo "soak: done, export exit $(cat "$d/export.rc")"
}

# Alone (make soak), or as the "soak" group of the VM suite, which
# concatenates it after guest-suite.sh (want, SUITE_GROUPS).
if [ -z "${SUITE_GROUPS+set}" ]; then
	soak_run
elif want soak; then
	SOAK_PID_MAX=400
	soak_run
fi
