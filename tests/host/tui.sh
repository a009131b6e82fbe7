#!/bin/sh
# The interactive top as a user sees it: in a real terminal (tmux) of
# 80x24 and of 160x45, keys sent one by one, each screen captured and
# asserted. The host may have no VM: what is checked is the screen, the
# keys and the prompts (the VM suite checks the figures).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
kw="$top/kvmwatch"
out=$top/build/host-tests/tui
mkdir -p "$out"
# A server per terminal size: a server killed takes its socket with it
# as it exits, whenever that is.
sock=
rm -f "$out"/tmux-*.sock

if ! command -v tmux >/dev/null; then
	not_ok "tmux is installed (make deps)"
	exit 0
fi
t() { tmux -S "$sock" "$@"; }

# screen NAME: the pane as text into $out/NAME.txt
screen() { t capture-pane -p -t kw >"$out/$1.txt"; }

# wait_screen PATTERN NAME: until the pane shows PATTERN (60 s at most:
# attaching takes seconds on a loaded machine).
wait_screen() {
	i=0
	while [ $i -lt 600 ]; do
		screen "$2"
		grep -Eq -- "$1" "$out/$2.txt" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# keys K...: send them, then let the next report draw.
keys() { t send-keys -t kw "$@"; sleep 0.8; }

# quit: q, then until top has exited (its status in $out/rc).
quit() {
	t send-keys -t kw q
	i=0
	while ! [ -s "$out/rc" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
}

for size in 160x45 80x24; do
	cols=${size%x*} rows=${size#*x}
	rm -f "$out/rc"
	[ -z "$sock" ] || t kill-server 2>/dev/null
	sock="$out/tmux-$size-$$.sock"
	t new-session -d -s kw -x "$cols" -y "$rows" \
		"TERM=xterm-256color '$kw' top -d 0.5 2>'$out/err-$size'; echo \$? >'$out/rc'; sleep 30"
	wait_screen '^kvmwatch top - ' "first-$size" ||
		diag "no report in 60 s; stderr: $(cat "$out/err-$size")"
	check "$size: the first report shows the header, the columns and the status line" \
		sh -c "grep -q '^kvmwatch top - ' '$out/first-$size.txt' && grep -q 'PID/TID VCPU NAME' '$out/first-$size.txt' && grep -q 'q quit  h help' '$out/first-$size.txt'"
	# The exits table's rows fit: its header ends in TOP REASONS whole.
	check "$size: the exits table's header fits $cols columns" \
		sh -c "grep 'PID/TID' '$out/first-$size.txt' | grep -q 'TOP REASONS *$'"
	width=$(grep 'PID/TID' "$out/first-$size.txt" | sed 's/ *$//' | awk '{ print length }')
	if [ "$cols" -eq 80 ]; then
		check "80x24: the NAME column is 15 wide (the header is ${width} columns)" [ "${width:-0}" -eq 70 ]
	else
		check "160x45: a wider terminal gives NAME more room (the header is ${width} columns)" [ "${width:-0}" -eq 87 ]
		quit
	fi
done

keys h
screen help
check "h shows the keys" grep -q "keys (kvm_stat's" "$out/help.txt"
check "the help names every key" sh -c "for k in ' f ' ' p ' ' g ' ' c ' 'o  >  <' 'x  Enter' 'b  Backspace' ' r ' ' s ' ' C '; do grep -q -- \"\$k\" '$out/help.txt' || exit 1; done"
keys Space
wait_screen '^kvmwatch top - ' back
check "any key returns to the report" grep -q '^kvmwatch top - ' "$out/back.txt"
keys o
wait_screen 'by vmm' sort1
check "o sorts by the next column (vmm)" grep -q 'by vmm' "$out/sort1.txt"
keys '<'
wait_screen 'by exits' sort2
check "< goes back (exits)" grep -q 'by exits' "$out/sort2.txt"
if grep -q 'MMIO writes' "$out/sort2.txt"; then
	keys f
	wait_screen 'filter, a regex' fprompt
	check "f asks for a regex" grep -q 'filter, a regex' "$out/fprompt.txt"
	keys n p f Enter
	wait_screen '\| f npf' filtered
	check "f npf: the status says it, and the MMIO table (not named by it) is gone" \
		sh -c "grep -q '| f npf' '$out/filtered.txt' && ! grep -q 'MMIO writes' '$out/filtered.txt'"
	keys c
	wait_screen 'MMIO writes' cleared
	check "c clears the filter: the MMIO table is back" \
		sh -c "grep -q 'MMIO writes' '$out/cleared.txt' && ! grep -q '| f ' '$out/cleared.txt'"
fi
keys g w e b '*' Enter
wait_screen 'guest web\*' guest
check "g web*: the status says so" grep -q 'guest web\*' "$out/guest.txt"
keys p a b c Enter
wait_screen "not a pid: 'abc'" badpid
check "p abc: says it is not a pid, and keeps running" grep -q "not a pid: 'abc'" "$out/badpid.txt"
keys s 0 . 3 Enter
wait_screen 'every 0.3 s' interval
check "s 0.3: every 0.3 s" grep -q 'every 0.3 s' "$out/interval.txt"
keys s 9 9 9 9 Enter
wait_screen 'not 0.1 to 3600 seconds' badinterval
check "s 9999: refused, saying the range" grep -q "not 0.1 to 3600 seconds: '9999'" "$out/badinterval.txt"
keys C
wait_screen 'since start' cumulative
check "C: since start" grep -q 'since start' "$out/cumulative.txt"
keys r
wait_screen '^kvmwatch top - ' reset
check "r: the report goes on" grep -q '^kvmwatch top - ' "$out/reset.txt"
keys x
wait_screen 'VM, a pid or a name' drill
check "x asks which VM" grep -q 'VM, a pid or a name' "$out/drill.txt"
keys n o n e Enter
wait_screen "no VM 'none'" nodrill
check "x none: no such VM, said so" grep -q "no VM 'none' in the last report" "$out/nodrill.txt"
quit
check "q quits, exit 0 (rc=$(cat "$out/rc" 2>/dev/null))" [ "$(cat "$out/rc" 2>/dev/null)" = 0 ]
t kill-server 2>/dev/null
exit 0
