#!/bin/bash
# 52-screen: the terminal screen model (sshmcp.c, section "terminal screen") against a reference
# terminal. Each scenario runs a program in a private tmux server (its own -L socket, no
# config, killed at the end) at a given size, records every byte the pane got with pipe-pane,
# drives the program, and compares tmux's capture-pane, cursor, alternate-screen and cursor
# flags with what build/screen_cmp makes of the recorded bytes, row by row. Keys other than
# text are the bytes of the model's own key table (scr_key), in the modes the program set.
# Programs, each with tmux's TERM and with TERM=xterm-256color: vi (insert, arrows, :wq), top,
# htop, less with a search and paging, a whiptail menu answered with arrow keys, nano, bash's
# line editor across the margin, less and vi resized twice mid-run (the model resized at the
# same byte). Streams: ls --color, wrapped lines, wide characters and emoji, combining marks,
# line drawing, scroll regions, a title, and random streams from screen_cmp's generator, some
# resized halfway.
# SCREEN_CMP=binary under test (default build/screen_cmp); SCREEN_SEEDS=random streams per class.
. "$(dirname "$0")/lib.sh"
SCREEN_CMP=${SCREEN_CMP:-$REPO/build/screen_cmp}
SEEDS=${SCREEN_SEEDS:-8}
[ -x "$SCREEN_CMP" ] || die "no screen model driver at $SCREEN_CMP (make build/screen_cmp)"

# The programs, from Debian; installed here only when missing and we may (.ci/run has them).
_need=()
for p in tmux:tmux vim:vim htop:htop less:less nano:nano whiptail:whiptail; do
	command -v "${p%%:*}" >/dev/null || _need+=("${p#*:}")
done
if [ "${#_need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	note "installing ${_need[*]}"
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
		"${_need[@]}" </dev/null >/dev/null 2>&1
fi
command -v tmux >/dev/null || die "tmux is needed (apt-get install tmux)"
have() { command -v "$1" >/dev/null; }

# ============================================================== tmux side ===
# scen_start NAME COLS ROWS [VAR=value...] -- COMMAND...: a private tmux server whose one pane
# runs COMMAND (through sh) once pipe-pane records into $LOG; then `touch $DONE`, and it waits.
# Sets SCN SOCK COLS ROWS (now) COLS0 ROWS0 (at the start) LOG DONE RESIZES.
scen_start() {
	SCN=$1 COLS=$2 ROWS=$3 COLS0=$2 ROWS0=$3
	shift 3
	SOCK="sshmcp-scr-$$-$SCN" LOG=$FIX/$SCN.log DONE=$FIX/$SCN.done RESIZES=()
	local go=$FIX/$SCN.go env=() pid
	while [ $# -gt 0 ] && [ "$1" != -- ]; do env+=("export $1"); shift; done
	shift
	: >"$LOG"
	{
		echo '#!/bin/sh'
		echo "n=0; while [ ! -e $go ] && [ \$n -lt 500 ]; do sleep 0.02; n=\$((n + 1)); done"
		[ "${#env[@]}" -eq 0 ] || printf '%s\n' "${env[@]}"
		printf '%s\n' "$*"
		echo "touch $DONE"
		echo 'exec sleep 600'
	} >"$FIX/$SCN.sh"
	tmux -L "$SOCK" -f /dev/null new-session -d -s main -x "$COLS" -y "$ROWS" "sh $FIX/$SCN.sh" ||
		{ fail "$SCN: tmux did not start"; return 1; }
	pid=$(tm display -p '#{pid}')
	[ -z "$pid" ] || _track "$pid"
	tm pipe-pane -o "cat >>$LOG"
	touch "$go"
}
tm() { timeout 10 tmux -L "$SOCK" "$@"; }
scen_end() { tm kill-server 2>/dev/null; }
pane() { tm capture-pane -p; }
pane_has() { pane | grep -qF -- "$1"; }
done_() { test -e "$DONE"; }

# settle: until the pane, the cursor and the log stay the same for a moment (10 s at most)
settle() {
	local a b i
	for i in $(seq 60); do
		a="$(stat -c %s "$LOG") $(pane | md5sum) $(tm display -p '#{cursor_x} #{cursor_y}')"
		sleep 0.15
		b="$(stat -c %s "$LOG") $(pane | md5sum) $(tm display -p '#{cursor_x} #{cursor_y}')"
		[ "$a" = "$b" ] && return 0
	done
	return 1
}

# compare DESC: tmux's screen and the model's, after the bytes recorded so far
compare() {
	local d="$SCN: $1"
	if ! settle; then fail "$d: the pane did not settle"; return 1; fi
	{
		pane
		tm display -p 'cursor #{cursor_x} #{cursor_y} alt #{alternate_on} visible #{cursor_flag}'
	} >"$FIX/tmux.txt"
	if ! "$SCREEN_CMP" -c "$COLS0" -r "$ROWS0" "${RESIZES[@]}" "$LOG" >"$FIX/model.txt" 2>"$FIX/err"; then
		fail "$d: screen_cmp failed" "$(cat "$FIX/err")"
		return 1
	fi
	if cmp -s "$FIX/tmux.txt" "$FIX/model.txt"; then
		ok "$d (${COLS}x$ROWS, $(stat -c %s "$LOG") bytes)"
	else
		cp "$LOG" "$FIX/fail-$SCN-$NUM.log"
		fail "$d" "$(diff -u --label tmux --label model "$FIX/tmux.txt" "$FIX/model.txt" | head -n 30)"
		return 1
	fi
}

# expect TEXT DESC: wait (10 s at most) for TEXT on the pane, then compare
expect() {
	wait_for 10 pane_has "$1" || { fail "$SCN: $2: no \"$1\" on the pane" "$(pane)"; return 1; }
	compare "$2"
}
# finish DESC: wait for the program to end, then compare
finish() {
	wait_for 10 done_ || { fail "$SCN: $1: the program did not end" "$(pane)"; return 1; }
	compare "$1"
}

# resize COLS ROWS: the window changes size; the model is resized at the same byte
resize() {
	settle
	RESIZES+=(-R "$(stat -c %s "$LOG"):${1}x$2")
	tm resize-window -x "$1" -y "$2"
	COLS=$1 ROWS=$2
}

# key NAME: send the bytes the model's key table gives for NAME, in the modes the program set
key() {
	local hex
	settle
	hex=$("$SCREEN_CMP" -c "$COLS0" -r "$ROWS0" "${RESIZES[@]}" -k "$1" "$LOG" 2>"$FIX/err")
	[ -n "$hex" ] || { fail "$SCN: key $1: $(cat "$FIX/err")"; return 1; }
	# shellcheck disable=SC2086
	tm send-keys -H $hex
}

# ============================================================== programs ===
# Each program runs twice: with the TERM tmux gives its panes, and as our sessions will say
# (xterm-256color: tmux understands what xterm programs send).
TERMS=("" "TERM=xterm-256color")
tname() { if [ -n "$1" ]; then echo "${1#TERM=}"; else echo tmux; fi; }

scen_vi() {   # TERMVAR
	local t; t=$(tname "$1")
	have vim || { skip "vi ($t)" "vim is not installed"; return; }
	printf 'first line\nsecond line\n' >"$FIX/vi-$t.txt"
	scen_start "vi-$t" 80 24 $1 -- vim -u DEFAULTS -i NONE -n "$FIX/vi-$t.txt"
	expect "vi-$t.txt" "vi shows the file"
	tm send-keys -t main i 'typed in insert mode, '
	key esc
	expect 'typed in insert mode' "vi after insert"
	tm send-keys -t main o 'a wide 中文 line'
	key esc && key up && key down
	expect 'a wide' "vi after a wide line and the arrow keys"
	tm send-keys -t main ':wq'
	key enter
	finish "vi after :wq"
	check_eq "$(cat "$FIX/vi-$t.txt")" "typed in insert mode, first line
a wide 中文 line
second line" "vi ($t) saved the file"
	scen_end
}

scen_top() {
	local t; t=$(tname "$1")
	scen_start "top-$t" 80 24 $1 -- top -d 30
	expect PID "top shows processes"
	key q
	finish "top after q"
	scen_end
}

scen_htop() {
	local t; t=$(tname "$1")
	have htop || { skip "htop ($t)" "htop is not installed"; return; }
	scen_start "htop-$t" 100 30 $1 -- htop -d 300
	expect PID "htop shows processes"
	key down && key down
	compare "htop after down down"
	key f10
	finish "htop after F10"
	scen_end
}

scen_less() {
	local t; t=$(tname "$1")
	seq -f 'line %03g of the file less pages through' 1 300 >"$FIX/less.txt"
	scen_start "less-$t" 80 24 $1 -- less "$FIX/less.txt"
	expect 'line 001' "less first page"
	tm send-keys -t main '/line 150' Enter
	expect 'line 152' "less after /line 150"
	tm send-keys -t main n
	compare "less after n"
	key pgdn
	expect 'line 190' "less after pgdn"
	key up && key up
	compare "less after up up"
	key q
	finish "less after q"
	scen_end
}

scen_whiptail() {
	local t; t=$(tname "$1")
	have whiptail || { skip "whiptail ($t)" "whiptail is not installed"; return; }
	rm -f "$FIX/wt.out"
	scen_start "whiptail-$t" 80 24 $1 -- whiptail --title Pick --menu "'Choose one'" 16 50 4 \
		a Alpha b Beta c Gamma d Delta "2>$FIX/wt.out"
	expect Alpha "whiptail menu"
	key down && key down
	compare "whiptail after down down (the model's arrow keys)"
	key enter
	finish "whiptail after enter"
	check_eq "$(cat "$FIX/wt.out" 2>/dev/null)" c "whiptail ($t) answered with the third item"
	scen_end
}

scen_nano() {
	local t; t=$(tname "$1")
	have nano || { skip "nano ($t)" "nano is not installed"; return; }
	rm -f "$FIX/nano-$t.txt"
	scen_start "nano-$t" 80 24 $1 -- nano --ignorercfiles "$FIX/nano-$t.txt"
	expect 'GNU nano' "nano opens"
	tm send-keys -t main 'hello from nano' Enter 'second line'
	expect 'second line' "nano after typing"
	key ctrl-o
	expect 'File Name to Write' "nano asks for the file name"
	key enter
	expect 'Wrote' "nano wrote"
	key ctrl-x
	finish "nano after ^X"
	check_eq "$(cat "$FIX/nano-$t.txt" 2>/dev/null)" "hello from nano
second line" "nano ($t) saved the file"
	scen_end
}

# bash's line editor (readline) at the right margin: a command longer than the row, history,
# moving and deleting inside the wrapped line.
scen_bash() {
	local t; t=$(tname "$1")
	scen_start "bash-$t" 60 12 $1 HISTFILE=/dev/null "PS1='$ '" -- bash --norc --noprofile -i
	expect '$' "bash prompt"
	tm send-keys -t main "echo \$((6 * 7)) $(printf 'word%.0s ' $(seq 14))end"
	expect 'end' "bash: a command wrapped past the margin"
	key enter
	expect '42 word' "bash: its output"
	key up
	compare "bash: the command back from history"
	key ctrl-a && key alt-f && key alt-f && key ctrl-k
	compare "bash: cut after two words"
	key ctrl-c
	tm send-keys -t main 'exit'
	key enter
	finish "bash after exit"
	scen_end
}

# A program that redraws on SIGWINCH, resized mid-run; the model is resized at the same byte.
scen_resize() {
	local t; t=$(tname "$1")
	seq -f 'line %03g: resize me, the text should follow the window' 1 200 >"$FIX/rs.txt"
	scen_start "resize-less-$t" 80 24 $1 -- less "$FIX/rs.txt"
	expect 'line 001' "less at 80x24"
	resize 60 20
	compare "less resized to 60x20"
	resize 100 30
	compare "less resized to 100x30"
	tm send-keys -t main q
	finish "less after q"
	scen_end
	have vim || return
	scen_start "resize-vi-$t" 80 24 $1 -- vim -u DEFAULTS -i NONE -n "$FIX/rs.txt"
	expect 'line 001' "vi at 80x24"
	resize 50 15
	compare "vi resized to 50x15"
	resize 120 40
	compare "vi resized to 120x40"
	tm send-keys -t main ':q' Enter
	finish "vi after :q"
	scen_end
}

for tv in "${TERMS[@]}"; do
	scen_vi "$tv"
	scen_top "$tv"
	scen_htop "$tv"
	scen_less "$tv"
	scen_whiptail "$tv"
	scen_nano "$tv"
	scen_bash "$tv"
	scen_resize "$tv"
done

# =============================================================== streams ===
# stream NAME COLS ROWS STTY -- COMMAND...: the output of COMMAND, compared once it is over
stream() {
	local name=$1 c=$2 r=$3 st=$4
	shift 5
	scen_start "$name" "$c" "$r" -- "stty $st; $*"
	finish "after the stream"
}

stream ls-color 80 24 sane -- ls --color=always -la /usr/bin '|' head -n 60
scen_end
stream ls-columns 100 30 sane -- ls --color=auto -C /usr/share /usr/lib
scen_end
stream long-line 80 24 sane -- "printf 'x%.0s' \$(seq 300); echo; printf 'y%.0s' \$(seq 80); echo; printf 'z%.0s' \$(seq 80); printf ' past the edge\\n'"
scen_end
printf '%s\n' '中文字符 wide chars: 日本語のテキスト, 한국어 텍스트' \
	'emoji: 😀 🚀 👍 ✅ 🔥 a🧑b and a family 👨‍👩‍👧 joined' \
	'fullwidth: ＡＢＣ１２３ and half ｱｲｳ' \
	"$(printf 'x%.0s' $(seq 79))中 wraps at the edge" \
	"$(printf 'y%.0s' $(seq 78))中文 fits then wraps" >"$FIX/wide.txt"
stream utf8-wide 80 24 sane -- cat "$FIX/wide.txt"
scen_end
printf 'e\xcc\x81 a\xcc\x80\xcc\x81 n\xcc\x83 o\xcc\x88\xcc\xb1 Z\xcd\x91\xcd\x9b\xcc\xbb\n\xcc\x81 combining at column 0\n' >"$FIX/comb.txt"
printf 'th\xe0\xb8\xb1\xe0\xb9\x88\xe0\xb8\x99 \xe0\xb8\x81\xe0\xb8\xb4\xe0\xb9\x8a ok\n' >>"$FIX/comb.txt"
stream combining 80 24 sane -- cat "$FIX/comb.txt"
scen_end
printf '\033(0lqqqqwqqqqk\nx    x    x\ntqqqqnqqqqu\nmqqqqvqqqqj\033(B\n\033)0\016lqk\017 shifted\n┌──┬──┐\n│ab│cd│\n└──┴──┘\n' >"$FIX/box.txt"
stream box-drawing 40 10 sane -- cat "$FIX/box.txt"
scen_end
{
	printf '\033[2J\033[Htop line\n'
	for i in $(seq 1 30); do printf 'before %d\n' "$i"; done
	printf '\033[5;15r\033[15;1H'
	for i in $(seq 1 20); do printf 'in region %d\n' "$i"; done
	printf '\033[5;1H\033M\033M\033[2L\033[3M\033[r\033[24;1Hlast\033[2S\033[1T'
	printf '\033[10;20Hmid\033[3@ins\033[2P\033[5X\033[1K\033[12;1H\033[0J'
} >"$FIX/region.txt"
stream scroll-regions 80 24 "-opost -echo" -- cat "$FIX/region.txt"
scen_end
printf 'before\033]2;the model title\007after\n' >"$FIX/title.txt"
stream title 80 24 sane -- cat "$FIX/title.txt"
check_eq "$("$SCREEN_CMP" -T "$LOG")" "$(tm display -p '#{pane_title}')" "title: OSC 2 sets the title as in tmux"
scen_end

# Random streams: the generator leaves out only what the model does differently on purpose
# (and ZWJ sequences, which tmux joins only within one read of the PTY: by chance).
sizes=("80 24" "40 12" "132 43")
for class in ascii utf8; do
	for seed in $(seq 1 "$SEEDS"); do
		set -- ${sizes[$((seed % 3))]}
		"$SCREEN_CMP" -c "$1" -r "$2" -g "$seed" -G "$class" -n 600 >"$FIX/gen.bin"
		stream "random-$class-$seed" "$1" "$2" "-opost -echo" -- cat "$FIX/gen.bin"
		scen_end
	done
done

# Random streams on the alternate screen, resized halfway: the generator says where and to
# what size; the pane stops there until tmux has been resized.
for class in ascii utf8; do
	for seed in $(seq 1 $(((SEEDS + 1) / 2))); do
		set -- ${sizes[$((seed % 3))]}
		"$SCREEN_CMP" -c "$1" -r "$2" -g "$seed" -G "$class" -n 600 -z >"$FIX/gen.bin" 2>"$FIX/gen.rs"
		read -r _ off size <"$FIX/gen.rs"
		head -c "$off" "$FIX/gen.bin" >"$FIX/gen.a"
		tail -c +$((off + 1)) "$FIX/gen.bin" >"$FIX/gen.b"
		rm -f "$FIX/gen.go" "$FIX/gen.mid"
		scen_start "resize-$class-$seed" "$1" "$2" -- "stty -opost -echo; cat $FIX/gen.a;" \
			"touch $FIX/gen.mid; n=0; while [ ! -e $FIX/gen.go ] && [ \$n -lt 500 ]; do" \
			"sleep 0.02; n=\$((n + 1)); done; cat $FIX/gen.b"
		wait_for 10 test -e "$FIX/gen.mid" || fail "$SCN: the first half did not end"
		resize "${size%x*}" "${size#*x}"
		check_eq "${RESIZES[1]%%:*}" "$off" "$SCN: the resize is at byte $off"
		touch "$FIX/gen.go"
		finish "after the stream, resized to $size at byte $off"
		scen_end
	done
done
