# The VM suite's guest half, continued (tests/vm/guest-suite.sh holds the
# helpers): the CI gate and the proof of its defaults. The host checks
# these in tests/vm/gate.py and tests/vm/proof.py.

# ---- CI gating (issue 8, docs/ci.md): /out/ci/. Record a baseline of a
# fixed workload (kvmload mmio, then a small VM's teardown), rerun it
# (PASS), rerun it with 3x the slow-path MMIO and with a big VM teardown
# (FAIL naming the metrics); then export, scraped during a workload.
CI_WRITES=1000
CI_MORE_WRITES=3000
CI_SMALL_MIB=8
# arm64: 128 MiB lengthened the teardown 2.0x (its longest run 1.5x) once
# the walk was not probed per entry, at the 2x tolerance; 512 MiB walks
# ~250 ms against the small VM's few ms.
CI_BIG_MIB=512
CI_PORT=9477

# The workload a CI job would run: ci-workload.sh WRITES MIB OUTPREFIX.
cat >/tmp/ci-workload.sh <<CIWORKLOAD
#!/bin/sh
timeout $KVMLOAD_TIMEOUT kvmload mmio --vms 2 --vcpus 2 -n "\$1" \
	>"\$3-mmio.json" 2>"\$3-mmio.err" || exit 1
timeout $KVMLOAD_TIMEOUT kvmload teardown --vms 1 --vcpus 2 --mem-mib "\$2" \
	>"\$3-teardown.json" 2>"\$3-teardown.err" || exit 1
CIWORKLOAD

# ci_check NAME FORMAT WRITES MIB: check --baseline around the workload.
ci_check() {
	d=/out/ci
	echo "suite: ci: check --baseline, $1: mmio -n $3, teardown $4 MiB (uptime $(uptime_s) s)"
	kvmwatch check --baseline $d/base.json --rules $d/rules.yaml -o "$2" \
		--junit "$d/$1.xml" -- sh /tmp/ci-workload.sh "$3" "$4" "$d/$1" \
		>"$d/$1.$2" 2>"$d/$1.err"
	echo $? >"$d/$1.rc"
	echo "suite: ci: $1: check exit $(cat "$d/$1.rc")"
}

ci_gate() {
	d=/out/ci
	mkdir -p $d
	echo "$CI_WRITES $CI_MORE_WRITES $CI_SMALL_MIB $CI_BIG_MIB" >$d/params
	# Host interrupts are no work of the workload's, and TCG makes
	# teardown times vary up to 2x from run to run and an MMIO write's
	# mean cost more (50.9 us, then 105 us, with the host's other core
	# busy: a mean timing gate is make bench's job, not this test's);
	# a longest run or stretch, one sample, by 50 ms (an 8 MiB teardown's
	# longest run 9.6 ms, then 59.6 ms; the unfixed arm64 walk of the
	# big VM alone holds 250 ms). arm64 PMU world switches come with
	# vCPU preemptions, and a stalled QEMU thread lands milliseconds in
	# one switch (docs/pmu.md).
	cat >$d/rules.yaml <<CIRULES
version: 1
baseline:
  tolerance: 25%
  metrics:
    exits.exits_by_reason: { min_events: 500 }
    teardown.*: 100%
    teardown.duration_ns: { tolerance: 100%, min_change: 50000000 }
    teardown.stretch_ns: { tolerance: 100%, min_change: 50000000 }
    teardown.max_stretch_ms: { tolerance: 100%, min_change: 100 }
    teardown.run_ns: { tolerance: 100%, min_change: 50000000 }
    teardown.max_wait_ms: { tolerance: 100%, min_change: 100 }
    mmio.write_cost_ns: { tolerance: 300%, min_change: 500000 }
    pmu.*: { tolerance: 300%, min_change: 100000 }
CIRULES
	echo "suite: ci: record (uptime $(uptime_s) s)"
	kvmwatch record -o $d/base.json -- sh /tmp/ci-workload.sh \
		$CI_WRITES $CI_SMALL_MIB $d/base >$d/record.out 2>$d/record.err
	echo $? >$d/record.rc
	ci_check same json $CI_WRITES $CI_SMALL_MIB
	ci_check more-mmio json $CI_MORE_WRITES $CI_SMALL_MIB
	ci_check big-teardown text $CI_WRITES $CI_BIG_MIB

	# export: scraped by busybox wget while kvmload's VMs run, and after
	# they exited and the grace period passed.
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
	echo "suite: ci: export (uptime $(uptime_s) s)"
	kvmwatch export --listen 127.0.0.1:$CI_PORT -i 1 --grace 2 \
		>/dev/null 2>$d/export.err &
	epid=$!
	wait_for 'serving http' $d/export.err $epid
	timeout $KVMLOAD_TIMEOUT kvmload timer --vms 2 --vcpus 2 \
		--period-us 1000 --seconds 4 >$d/export-kvmload.json \
		2>$d/export-kvmload.err &
	kpid=$!
	wait_for KVMLOAD-TIMER-START $d/export-kvmload.err $kpid
	sleep 1
	# The first exposition of a new VM's counters shows them at 0 (for
	# rate()), the next their figures.
	wget -q -O $d/scrape-first.txt http://127.0.0.1:$CI_PORT/metrics
	echo $? >$d/scrape-first.rc
	sleep 1
	wget -q -O $d/scrape-during.txt http://127.0.0.1:$CI_PORT/metrics
	echo $? >$d/scrape-during.rc
	wait $kpid
	echo $? >$d/export-kvmload.rc
	sleep 5
	wget -q -O $d/scrape-after.txt http://127.0.0.1:$CI_PORT/metrics
	echo $? >$d/scrape-after.rc
	stop_watch $epid $d/export.rc
	echo "suite: ci: export exit $(cat $d/export.rc)"
	ci_scope
}

# ci_scope: check -- COMMAND judges the command's VMs only. An unrelated
# timer VM (its LAPIC EOIs are MMIO writes) runs all along; the command
# is a shell that forks kvmload, so the scope must follow a fork. With
# --all-vms the unrelated VM is counted: the test can tell the two apart.
ci_scope() {
	d=/out/ci
	echo "suite: ci: scope: check --mmio -- sh -c kvmload, beside an unrelated VM (uptime $(uptime_s) s)"
	timeout $KVMLOAD_TIMEOUT kvmload timer --vms 1 --vcpus 1 \
		--period-us 1000 --seconds 170 >$d/unrelated.json \
		2>$d/unrelated.err &
	upid=$!
	wait_for KVMLOAD-TIMER-START $d/unrelated.err $upid
	# Every detector counts from the first report's start: its rate is
	# the steady VM's, like the next ones', however long attaching took.
	kvmwatch top -b -o json -d 1 -n 4 >$d/top-rates.json 2>$d/top-rates.err
	echo $? >$d/top-rates.rc
	for n in scoped all; do
		extra=
		[ $n = all ] && extra=--all-vms
		kvmwatch check --mmio -o json $extra \
			--threshold=mmio.write_cost_p50_us=100000 -- \
			sh -c "kvmload mmio --vms 1 --vcpus 2 -n 300 >$d/scope-$n.kvmload.json" \
			>$d/scope-$n.json 2>$d/scope-$n.err
		echo $? >$d/scope-$n.rc
	done
	alive $upid && echo yes >$d/unrelated.alive
	kill $upid 2>/dev/null
	wait $upid
	echo "suite: ci: scope: check exit scoped $(cat $d/scope-scoped.rc), all $(cat $d/scope-all.rc)"
}
want ci && ci_gate

# ---- The gate's defaults proven (issue 15; docs/ci.md): a baseline of
# PROOF_REPEATS runs of one workload (record --repeat), PROOF_CHECKS
# checks of the same workload at the defaults (no rules file, no
# tolerance given), then each injected regression: twice the MMIO
# writes and a bigger VM's teardown (gate-proof; x86's workload has a
# timer VM too) or, on a kernel with the timer bug, a stall
# (gate-proof-timer: the host pauses QEMU when the check's workload
# prints KVMLOAD-TIMER-START on the console; there the same workload
# makes catch-up chains of its own whenever the host deschedules a vCPU
# thread, so only the stall is checked). /out/proof/.
PROOF_REPEATS=5
# Each arm64 check takes ~27 s under TCG (x86: ~12 s): make test runs 5
# on x86 and 3 on arm64 (each arch passed 10 of 10 on its own, docs/ci.md);
# KVMWATCH_PROOF_CHECKS=10 tests/vm/run.sh VARIANT runs 10.
PROOF_CHECKS=5
[ "$(uname -m)" = aarch64 ] && PROOF_CHECKS=3
[ -n "${SUITE_PROOF_CHECKS:-}" ] && PROOF_CHECKS=$SUITE_PROOF_CHECKS
PROOF_WRITES=600
PROOF_MIB=16
PROOF_BIG_MIB=$TEARDOWN_BIG_MIB

# proof-workload.sh WRITES MIB TIMER OUTPREFIX: TIMER none, quiet (no
# stall) or stall (the marker on the console).
cat >/tmp/proof-workload.sh <<PROOFWORKLOAD
#!/bin/sh
timeout $KVMLOAD_TIMEOUT kvmload mmio --vms 1 --vcpus 2 -n "\$1" \
	>"\$4-mmio.json" 2>"\$4-mmio.err" || exit 1
timeout $KVMLOAD_TIMEOUT kvmload teardown --vms 1 --vcpus 2 --mem-mib "\$2" \
	>"\$4-teardown.json" 2>"\$4-teardown.err" || exit 1
case \$3 in
quiet)	timeout $KVMLOAD_TIMEOUT kvmload timer --vms 1 --vcpus 2 \
		--period-us 1000 --seconds 4 >"\$4-timer.json" \
		2>"\$4-timer.err" || exit 1 ;;
stall)	{ timeout $KVMLOAD_TIMEOUT kvmload timer --vms 1 --vcpus 2 \
		--period-us 1000 --seconds 4 2>&1 >"\$4-timer.json" ||
		echo fail >"\$4-timer.failed"; } | tee "\$4-timer.err" >/dev/console
	[ ! -e "\$4-timer.failed" ] || exit 1 ;;
esac
PROOFWORKLOAD

# proof_check NAME WRITES MIB TIMER: check --baseline at its defaults.
proof_check() {
	d=/out/proof
	echo "suite: proof: $1: mmio -n $2, teardown $3 MiB, timer $4 (uptime $(uptime_s) s)"
	kvmwatch check --baseline $d/base.json -o json --junit "$d/$1.xml" \
		-- sh /tmp/proof-workload.sh "$2" "$3" "$4" "$d/$1" \
		>"$d/$1.json" 2>"$d/$1.err"
	echo $? >"$d/$1.rc"
	echo "suite: proof: $1: check exit $(cat "$d/$1.rc")"
}

# gate_proof TIMER CHECKS INJECT: INJECT is stall or mmio-teardown.
gate_proof() {
	d=/out/proof
	mkdir -p $d
	echo "$PROOF_REPEATS $2 $PROOF_WRITES $PROOF_MIB $PROOF_BIG_MIB $1 $3" >$d/params
	echo "suite: proof: record --repeat $PROOF_REPEATS (uptime $(uptime_s) s)"
	kvmwatch record -o $d/base.json --repeat $PROOF_REPEATS -- \
		sh /tmp/proof-workload.sh $PROOF_WRITES $PROOF_MIB $1 $d/base \
		>$d/record.out 2>$d/record.err
	echo $? >$d/record.rc
	i=1
	while [ $i -le "$2" ]; do
		proof_check same-$i $PROOF_WRITES $PROOF_MIB $1
		i=$((i + 1))
	done
	if [ "$3" = stall ]; then
		proof_check stall $PROOF_WRITES $PROOF_MIB stall
	else
		proof_check more-mmio $((PROOF_WRITES * 2)) $PROOF_MIB $1
		proof_check big-teardown $PROOF_WRITES $PROOF_BIG_MIB $1
	fi
}
# The LAPIC timer is x86's.
PROOF_TIMER=none
[ "$(uname -m)" = x86_64 ] && PROOF_TIMER=quiet
want gate-proof && gate_proof $PROOF_TIMER $PROOF_CHECKS mmio-teardown
want gate-proof-timer && gate_proof quiet 0 stall
