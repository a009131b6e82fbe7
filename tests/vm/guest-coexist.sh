# The VM suite's guest half, continued: kvmwatch never blinds perf
# (issue 14, docs/performance.md). Debian's perf (tests/vm/guesttools.py)
# counts the same workload's KVM and scheduler events system-wide without
# kvmwatch, with it in its default mode, with it in tracepoint mode, and
# without it again: a classic tracepoint program returning 0 would drop
# every event for perf. The host compares the counts in
# tests/vm/coexist.py. /out/coexist/<run>/.
COEXIST_WRITES=2000
COEXIST_EVENTS=kvm:kvm_exit,kvm:kvm_entry,kvm:kvm_mmio,kvm:kvm_userspace_exit,sched:sched_switch

# coexist_run NAME MODE: MODE none, default or a --mode of kvmwatch's.
coexist_run() {
	d=/out/coexist/$1
	mkdir -p "$d"
	echo "$2" >"$d/mode"
	echo "suite: coexist: $1: kvmwatch $2 (uptime $(uptime_s) s)"
	wpid=
	if [ "$2" != none ]; then
		opts=
		[ "$2" = default ] || opts="--mode $2"
		# shellcheck disable=SC2086
		kvmwatch $opts top -b -C -o json -d 3600 -n 1 \
			>"$d/kvmwatch.json" 2>"$d/kvmwatch.err" &
		wpid=$!
		wait_attached "$d/kvmwatch.err" $wpid
		if ! attached_to "$d/kvmwatch.err"; then
			echo "suite: coexist: $1: kvmwatch did not attach"
			stop_watch $wpid "$d/kvmwatch.rc"
			return
		fi
	fi
	timeout $KVMLOAD_TIMEOUT perf stat -a -x, -e $COEXIST_EVENTS \
		-o "$d/perf.csv" -- kvmload mmio --vms 1 --vcpus 1 \
		-n $COEXIST_WRITES >"$d/kvmload.json" 2>"$d/perf.err"
	echo $? >"$d/perf.rc"
	[ -z "$wpid" ] || stop_watch $wpid "$d/kvmwatch.rc"
	echo "suite: coexist: $1: perf exit $(cat "$d/perf.rc")"
}

coexist() {
	mkdir -p /out/coexist
	if ! perf --version >/out/coexist/perf-version 2>&1; then
		echo "suite: coexist: perf does not run here:"
		cat /out/coexist/perf-version
		return
	fi
	coexist_run alone-1 none
	coexist_run default default
	coexist_run tracepoint tracepoint
	coexist_run alone-2 none
}
want coexist && coexist
