# make bench's guest half (tests/bench/bench.py boots the testbed with it,
# kvmwatch, kvmload, and Debian's perf and bpftrace). Each repetition
# runs every observer in turn, each attached once around the same
# workloads, so that an observer's figures are compared with the
# untraced run of the same repetition. /out/rep-R/OBSERVER/:
#   attach_cs, detach_cs   centiseconds from start to attached, from
#                          SIGINT to exit (/proc/uptime's resolution)
#   hwm_kb                 the observer's peak RSS (VmHWM) before it stops
#   bpf                    "run_time_ns run_cnt programs" summed over the
#                          observer's BPF programs (kernel.bpf_stats_enabled)
#   doorbell.json          kvmload mmio: ns per fast-MMIO doorbell store
#   timer.json             kvmload timer: the interrupts its guest took in
#                          the fixed time (a slower exit path takes fewer)
#   progs.json             bpftool -j prog show: each program's cost
# and /out/exits: kvm:kvm_exit over the workloads, from a hist
# trigger on an untraced run (the BPF cost per exit divides by it).
# Then /out/scale/VIEW/: the peak RSS (hwm_kb) and reports of kvmwatch
# top, top -o json and export while BENCH_SCALE ("VMSxVCPUS", 256x4; 0:
# none) VMs run at once.
set -u
: "${BENCH_REPS:=5}" "${BENCH_WRITES:=10000}" "${BENCH_TIMER_S:=3}"
: "${BENCH_SCALE:=256x4}"
: "${BENCH_OBSERVERS:=untraced kvmwatch kvmwatch-tracepoint kvmwatch-mmio perf-stat perf-kvm-stat bpftrace}"
# BENCH_BASE's observers (bench.py), after the default ones.
BENCH_OBSERVERS="$BENCH_OBSERVERS${BENCH_EXTRA_OBSERVERS:+ $BENCH_EXTRA_OBSERVERS}"
TIMER_PERIOD_US=200
WAIT_CS=12000		# an attach or a detach longer than 120 s is a hang
T=/sys/kernel/tracing

now_cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}" | sed 's/^0*//'; }
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status"; }
perf_fds() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'perf_event'; }

if [ "$(uname -m)" = aarch64 ]; then
	REASON=esr_ec
else
	REASON=exit_reason
fi
echo 1 >/proc/sys/kernel/bpf_stats_enabled

# workloads DIR: the doorbell, then the timer.
workloads() {
	kvmload mmio --vms 1 --vcpus 1 -n "$BENCH_WRITES" >"$1/doorbell.json" \
		2>"$1/doorbell.err"
	kvmload timer --vms 1 --vcpus 1 --period-us $TIMER_PERIOD_US \
		--seconds "$BENCH_TIMER_S" >"$1/timer.json" 2>"$1/timer.err"
}

# attached NAME PID DIR: has the observer started observing?
attached() {
	case $1 in
	kvmwatch*) grep -q '^kvmwatch: attached' "$3/observer.err" ;;
	bpftrace) grep -q '^attached' "$3/observer.out" ;;
	# perf opens its events before it counts: settled once their number
	# stays the same for a tenth of a second.
	perf-*)
		n=$(perf_fds "$2")
		sleep 0.1
		[ "$n" -gt 0 ] && [ "$n" -eq "$(perf_fds "$2")" ] ;;
	esac
}

# wait_attached NAME PID DIR: until the observer attached; false (and
# the observer killed) if it died or took longer than WAIT_CS.
wait_attached() {
	t0=$(now_cs)
	until attached "$1" "$2" "$3"; do
		if ! alive "$2" || [ $(($(now_cs) - t0)) -gt $WAIT_CS ]; then
			echo "bench: $1 did not attach"
			kill -KILL "$2" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
}

# peak_kb PID: its peak RSS (VmHWM) in kB.
peak_kb() {
	sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"
}

start_observer() {
	# kvmwatch's start-up and shutdown, step by step, into observer.err.
	export KVMWATCH_TIMING=1
	case $1 in
	kvmwatch) kvmwatch top -b -C -o json -d 3600 -n 1 ;;
	kvmwatch-tracepoint)
		kvmwatch --mode tracepoint top -b -C -o json -d 3600 -n 1 ;;
	# One detector: check loads only what its rules need.
	kvmwatch-mmio) kvmwatch check --mmio -o json ;;
	# The same two, built from BENCH_BASE's commit: a change's A/B in
	# one run, where figures of two runs under TCG are not comparable.
	kvmwatch-base) kvmwatch-base top -b -C -o json -d 3600 -n 1 ;;
	kvmwatch-base-tracepoint)
		kvmwatch-base --mode tracepoint top -b -C -o json -d 3600 -n 1 ;;
	perf-stat) perf stat -a -e 'kvm:*' -o "$2/perf.txt" ;;
	perf-kvm-stat) perf kvm stat record -a -o /tmp/perf.data ;;
	bpftrace)
		bpftrace -e 'BEGIN { printf("attached\n"); }
			tracepoint:kvm:kvm_exit { @[args->'$REASON'] = count(); }' ;;
	esac >"$2/observer.out" 2>"$2/observer.err" &
	echo $! >"$2/pid"
}

# bpf_stats PID: the run time and runs of the BPF programs PID holds.
bpf_stats() {
	ns=0 cnt=0 progs=0
	for fd in /proc/"$1"/fdinfo/*; do
		grep -q '^prog_type:' "$fd" 2>/dev/null || continue
		progs=$((progs + 1))
		ns=$((ns + $(sed -n 's/^run_time_ns:[[:space:]]*//p' "$fd")))
		cnt=$((cnt + $(sed -n 's/^run_cnt:[[:space:]]*//p' "$fd")))
	done
	echo "$ns $cnt $progs"
}

observe() {
	d=$1/$2
	mkdir -p "$d"
	echo "bench: $(basename "$1") $2 (uptime $(now_cs) cs)"
	if [ "$2" = untraced ]; then
		workloads "$d"
		return
	fi
	start=$(now_cs)
	start_observer "$2" "$d"
	pid=$(cat "$d/pid")
	wait_attached "$2" "$pid" "$d" || return
	echo $(($(now_cs) - start)) >"$d/attach_cs"
	workloads "$d"
	bpf_stats "$pid" >"$d/bpf"
	bpftool -j prog show >"$d/progs.json" 2>/dev/null
	peak_kb "$pid" >"$d/hwm_kb"
	t0=$(now_cs)
	kill -INT "$pid"
	while alive "$pid" && [ $(($(now_cs) - t0)) -lt $WAIT_CS ]; do
		sleep 0.05
	done
	alive "$pid" && kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	echo $(($(now_cs) - t0)) >"$d/detach_cs"
	rm -f /tmp/perf.data
}

# The kernel's own count of exits over the workloads, without an
# observer: a hist trigger, whose cost every run would otherwise share.
count_exits() {
	mkdir -p /tmp/exits
	echo 'hist:keys=common_type' >$T/events/kvm/kvm_exit/trigger
	workloads /tmp/exits
	sed -n 's/^.*hitcount:[[:space:]]*\([0-9]*\).*/\1/p' \
		$T/events/kvm/kvm_exit/hist >/out/exits
	echo '!hist:keys=common_type' >$T/events/kvm/kvm_exit/trigger
}

echo "$BENCH_REPS $BENCH_WRITES $BENCH_TIMER_S $TIMER_PERIOD_US" >/out/params
echo "$BENCH_OBSERVERS" >/out/observers
uname -r >/out/kernel
perf --version >/out/perf-version 2>&1
bpftrace --version >/out/bpftrace-version 2>&1
count_exits
# The first kvmwatch of a boot reads /proc/kallsyms whole (0.6 s more
# under TCG) and keeps its answers in /run/kvmwatch: done here, so that
# no observer's attach pays it because it came first.
kvmwatch probe >/dev/null 2>&1
r=1
while [ $r -le "$BENCH_REPS" ]; do
	# Rotate the order, so that no observer always runs first.
	set -- $BENCH_OBSERVERS
	i=1
	while [ $i -lt $r ]; do
		first=$1
		shift
		set -- "$@" "$first"
		i=$((i + 1))
	done
	for obs in "$@"; do
		observe /out/rep-$r "$obs"
	done
	r=$((r + 1))
done
# scale VIEW [BINARY]: kvmwatch (or BINARY, the base build into
# /out/scale/base-VIEW) reading every 2 s while VMS VMs of VCPUS vCPUs
# each tick their timers at once (kvmload runs 64 VMs at most: several
# of them), as the text top, the JSON top and export show them.
scale_view() {
	bin=${2:-kvmwatch}
	vms=${BENCH_SCALE%x*} vcpus=${BENCH_SCALE#*x} d=/out/scale/$1
	[ "$bin" = kvmwatch ] || d=/out/scale/base-$1
	mkdir -p $d
	echo "bench: scale $1 ($bin), $vms VMs x $vcpus vCPUs (uptime $(now_cs) cs)"
	# Where the memory goes: heap and RSS per step and per read.
	case $1 in
	top) KVMWATCH_TIMING=1 $bin top -b -d 2 ;;
	top-json) KVMWATCH_TIMING=1 $bin top -b -o json -d 2 ;;
	export) KVMWATCH_TIMING=1 $bin export --textfile $d/metrics.prom -i 2 ;;
	esac >$d/observer.out 2>$d/observer.err &
	pid=$!
	wait_attached kvmwatch $pid $d || return
	i=0 loads=
	while [ $((i * 64)) -lt "$vms" ]; do
		n=$((vms - i * 64))
		[ $n -gt 64 ] && n=64
		kvmload timer --vms $n --vcpus "$vcpus" --period-us 50000 \
			--seconds 10 >$d/kvmload-$i.json 2>$d/kvmload-$i.err &
		loads="$loads $!"
		i=$((i + 1))
	done
	for l in $loads; do
		wait "$l" || echo "bench: scale: a kvmload failed (exit $?)"
	done
	sleep 3	# one more report with every VM in it
	[ -f $d/metrics.prom ] && cp $d/metrics.prom $d/last.prom
	peak_kb $pid >$d/hwm_kb
	kill -INT $pid
	wait $pid 2>/dev/null
}

if [ "$BENCH_SCALE" != 0 ]; then
	for view in top top-json export; do
		scale_view $view
		# A change's before and after, in the same boot.
		case " $BENCH_OBSERVERS " in
		*" kvmwatch-base "*) scale_view $view kvmwatch-base ;;
		esac
	done
	echo "${BENCH_SCALE%x*} ${BENCH_SCALE#*x}" >/out/scale/params
fi
echo "bench: done (uptime $(now_cs) cs)"
