#!/bin/sh
# make demo: boot the nested-KVM testbed for ARCH, run a mixed kvmload
# workload in it (MMIO doorbells, periodic timers, PMU accesses, VM
# teardowns) and show kvmwatch top on those live guests.
#
# usage: tools/demo.sh [x86_64|arm64] [SECONDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-x86_64}
seconds=${2:-30}
case $arch in x86_64|arm64) ;; *) echo "usage: $0 [x86_64|arm64] [SECONDS]" >&2; exit 2 ;; esac

for bin in kvmwatch kvmload; do
	[ -x "$top/build/$arch/$bin" ] || {
		echo "demo: build/$arch/$bin is missing: run 'make ARCH=$arch' first" >&2
		exit 1
	}
done

out=$top/build/demo/$arch
mkdir -p "$top/build/demo"
script=$top/build/demo/$arch-guest.sh
reports=$((seconds / 3))
cat >"$script" <<GUEST
#!/bin/sh
# Runs inside the testbed guest. KVM's rate-limited warnings would
# interleave with the report on the console: keep them in dmesg.
dmesg -n 1
loop() { while :; do "\$@" >/dev/null 2>&1 || sleep 1; done; }
loop kvmload mmio --vms 2 --vcpus 2 -n 20000 &
loop kvmload timer --vcpus 2 --period-us 1000 --seconds 5 &
loop kvmload pmu -k 5000 &
loop kvmload teardown --mem-mib 32 &
sleep 2
echo "=== kvmwatch top: 3-second reports from the guest's KVM host ==="
kvmwatch top -b -d 3 -n $reports
kill \$(jobs -p) 2>/dev/null
exit 0
GUEST

# Attaching every detector takes 15-40 s under TCG, minutes on a loaded
# machine: the guest gets 10 minutes beyond the reports.
echo "demo: booting the $arch testbed (Debian 6.12, KVM under QEMU TCG); first boot downloads the kernel"
exec "$top/tests/vm/boot.sh" "$arch" -v --timeout $((seconds + 600)) \
	--file "$top/build/$arch/kvmwatch" --file "$top/build/$arch/kvmload" \
	--script "$script" --out "$out"
