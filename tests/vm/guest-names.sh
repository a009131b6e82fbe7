# The VM suite's "names" group (concatenated after guest-suite.sh): VMs
# named on their command line as QEMU and libvirt name them, one not
# named, watched at once by top (every VM), top -g 'web*', export and
# top's CSV log and top -g web1 --reasons. /out/names/: <vm>.json/.err/.rc
# (kvmload), all.json, reasons.txt,
# web.json (one top document a second), export.prom, log.csv, *.err, *.rc.

NAMES_SECONDS=4		# each VM's life: several of top's reads

# watch_to FILE ARGS...: kvmwatch ARGS in the background (its pid in $!),
# stdout to $d/FILE, stderr to $d/FILE's stem .err.
watch_to() {
	out=$1
	shift
	kvmwatch "$@" >"$d/$out" 2>"$d/${out%.*}.err" &
}

guest_names() {
	d=/out/names
	mkdir -p "$d"
	echo "suite: names (uptime $(uptime_s) s)"
	watch_to all.json -m tracepoint top -b -C -o json -d 1
	apid=$!
	watch_to web.json -m tracepoint top -b -C -o json -d 1 -g 'web*'
	wpid=$!
	watch_to export.out -m tracepoint export --textfile "$d/export.prom" -i 1
	xpid=$!
	watch_to log.out -m tracepoint top -c -d 1 -L "$d/log.csv"
	lpid=$!
	# One VM in full, as x shows it on a terminal.
	COLUMNS=80 kvmwatch -m tracepoint top -b -C -d 1 -g web1 --reasons \
		>"$d/reasons.txt" 2>"$d/reasons.err" &
	rpid=$!
	wait_attached "$d/reasons.err" $rpid
	wait_attached "$d/log.err" $lpid
	wait_attached "$d/all.err" $apid
	wait_attached "$d/web.err" $wpid
	wait_attached "$d/export.err" $xpid
	# libvirt's shape, QEMU's plain one, and none.
	for vm in web1 web2 plain; do
		case $vm in
		web1) name="-name guest=web1,debug-threads=on" ;;
		web2) name="-name web2" ;;
		plain) name= ;;
		esac
		{
			timeout $KVMLOAD_TIMEOUT kvmload $name timer --vcpus 2 \
				--period-us 1000 --seconds $NAMES_SECONDS \
				>"$d/$vm.json" 2>"$d/$vm.err"
			echo $? >"$d/$vm.rc"
		} &
	done
	wait_for_file() {
		i=0
		while ! [ -s "$1" ] && [ $i -lt $((KVMLOAD_TIMEOUT * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
	}
	for vm in web1 web2 plain; do
		wait_for_file "$d/$vm.rc"
	done
	# Two reads after the last exit.
	sleep 2.5
	cp "$d/export.prom" "$d/export-final.prom"
	stop_watch $apid "$d/all.rc"
	stop_watch $wpid "$d/web.rc"
	stop_watch $xpid "$d/export.rc"
	stop_watch $lpid "$d/log.rc"
	stop_watch $rpid "$d/reasons.rc"
	echo "suite: names: top exit $(cat "$d/all.rc"), top -g exit $(cat "$d/web.rc")"
}
want names && guest_names

# The "qemu" group: Debian's own QEMU (tests/vm/guesttools.py) runs a VM on
# this KVM, -accel kvm, named as libvirt names its guests, from a firmware
# that knocks on a port (tools/kvmload/qemu_firmware_x86_64.S says what it
# did on QEMU's debugcon). top (every VM), top -g 'qemu-*' and export
# watch it. /out/qemu/: report.txt (the firmware's), qemu.pid/.rc/.err,
# all.json, only.json, export.prom, *.err, *.rc.
guest_qemu() {
	d=/out/qemu
	mkdir -p "$d"
	echo "suite: qemu (uptime $(uptime_s) s)"
	watch_to all.json -m tracepoint top -b -C -o json -d 1
	apid=$!
	watch_to only.json top -b -C -o json -d 1 -g 'qemu-*'
	opid=$!
	watch_to export.out -m tracepoint export --textfile "$d/export.prom" -i 1
	xpid=$!
	wait_attached "$d/all.err" $apid
	wait_attached "$d/only.err" $opid
	wait_attached "$d/export.err" $xpid
	qemu-system-x86_64 -accel kvm -M microvm -nodefaults -display none \
		-bios /bin/qemu-firmware.bin \
		-name guest=qemu-fw,debug-threads=on \
		-debugcon "file:$d/report.txt" -global isa-debugcon.iobase=0x601 \
		>"$d/qemu.out" 2>"$d/qemu.err" &
	qpid=$!
	echo $qpid >"$d/qemu.pid"
	# Its report's last word is "done"; then two of top's reads.
	wait_for ' done$' "$d/report.txt" $qpid $((KVMLOAD_TIMEOUT * 10))
	sleep 2.5
	cp "$d/export.prom" "$d/export-live.prom"
	# QEMU quits on SIGTERM with status 0.
	kill -TERM $qpid
	wait $qpid
	echo $? >"$d/qemu.rc"
	sleep 1.5
	stop_watch $apid "$d/all.rc"
	stop_watch $opid "$d/only.rc"
	stop_watch $xpid "$d/export.rc"
	echo "suite: qemu: QEMU exit $(cat "$d/qemu.rc"), top exit $(cat "$d/all.rc")"
}
want qemu && guest_qemu
