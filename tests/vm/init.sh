#!/bin/busybox sh
# /init of the nested-KVM testbed initramfs (see docs/testbed.md).
#
# The host (tests/vm/testbed.py) passes on the kernel command line:
#   kvmtb_nonce=HEX   makes our console markers unique to this boot
#   kvmtb_epoch=SECS  host time, used when the guest clock is not sane
#   kvmtb_mode=script|interactive
#   kvmtb_script_limit=SECS   (script mode) kill the script after SECS
#   kvmtb_term=NAME kvmtb_rows=N kvmtb_cols=N   (interactive only)
# Every marker line starts with "@@KVMTB-<nonce> " so that nothing a test
# prints can be mistaken for one.

/bin/busybox --install -s /bin
export PATH=/bin HOME=/root TMPDIR=/tmp
mkdir -p /proc /sys /dev /tmp /out /root /run
# /run as on a host: a tmpfs (kvmwatch keeps its kallsyms answers there).
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t proc proc /proc

arg() {
	# shellcheck disable=SC2013 # words, not lines
	for kv in $(cat /proc/cmdline); do
		case $kv in "$1"=*) echo "${kv#*=}"; return ;; esac
	done
}
nonce=$(arg kvmtb_nonce)
mode=$(arg kvmtb_mode)
mark() { echo "@@KVMTB-$nonce $*"; }

mark INIT "$(cut -d' ' -f1 /proc/uptime)"

mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
hostname testbed

# The RTC normally gives the host's time; fall back to the host's clock at
# boot if it is obviously wrong (before the host's time or a day after).
epoch=$(arg kvmtb_epoch)
now=$(date +%s)
if [ -n "$epoch" ] && { [ "$now" -lt "$epoch" ] ||
	[ "$now" -gt $((epoch + 86400)) ]; }; then
	date -s "@$epoch" >/dev/null
fi

# KVM modules, in dependency order (x86_64 only: arm64 has KVM built in).
if [ -f /lib/modules/order ]; then
	# shellcheck disable=SC2013
	for mod in $(cat /lib/modules/order); do
		insmod "/lib/modules/$mod" ||
			echo "testbed: insmod $mod failed" >&2
	done
fi
# boot.sh --forward's NIC: QEMU's user network forwards to 10.0.2.15.
ip link set lo up 2>/dev/null
if [ -d /sys/class/net/eth0 ]; then
	ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up ||
		echo "testbed: eth0 not configured" >&2
fi
if [ -c /dev/kvm ]; then
	mark KVM ok
else
	echo "testbed: /dev/kvm is missing" >&2
	mark KVM missing
fi

cd /
if [ "$mode" = interactive ]; then
	TERM=$(arg kvmtb_term)
	export TERM
	rows=$(arg kvmtb_rows) cols=$(arg kvmtb_cols)
	if [ -n "$rows" ] && [ -n "$cols" ]; then
		stty rows "$rows" cols "$cols" 2>/dev/null
	fi
	mark READY
	if [ -f /script ]; then
		setsid cttyhack sh /script
		echo "testbed: script exited with status $?"
	fi
	echo "testbed: /dev/kvm $( [ -c /dev/kvm ] && echo present || echo MISSING);" \
		"exit the shell to power off"
	setsid cttyhack sh -l
	poweroff -f
fi

# Script mode: the kernel log stays on the console while the script runs
# (an oops must show up there), the script's output goes to the console.
mark READY
sh /script </dev/null &
script=$!
# The host kills QEMU at its timeout and would lose /out: stop a script
# that runs too long a little earlier, so /out still comes back.
limit=$(arg kvmtb_script_limit)
if [ -n "$limit" ]; then
	(
		sleep "$limit"
		echo "testbed: the script ran for $limit s, killing it"
		mark SCRIPT-TIMEOUT
		kill -KILL -1
	) &
fi
wait $script
status=$?
echo "GUEST-EXIT $status"

# Nothing may write to the console while /out is sent: stop whatever the
# script left running and silence the kernel (its log goes into /out).
kill -KILL -1 2>/dev/null
sleep 0.2
dmesg >/out/dmesg.txt 2>&1
dmesg -n 1
tar c -C /out . | gzip -1 >/tmp/out.tgz
size=$(wc -c </tmp/out.tgz)
sum=$(md5sum </tmp/out.tgz)
mark OUT-BEGIN
base64 /tmp/out.tgz
mark OUT-END "$status" "$size" "${sum%% *}"
sync
poweroff -f
# poweroff failed: exiting PID 1 panics, and panic=-1 plus QEMU -no-reboot
# ends the VM.
exit "$status"
