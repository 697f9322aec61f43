#!/bin/bash
# bench/screen.sh — feed speed of the terminal screen model (sshmcp.c, "terminal screen"):
# what a PTY shows for `top` (100 frames, 0.1 s apart) and for `ls --color=auto -R /usr`, each
# recorded once through script(1) with TERM=xterm-256color at the size the model then runs at,
# and fed to build/screen_cmp -b over and over for SECONDS (default 3), RUNS (default 3) times;
# prints the median MB/s (10^6 bytes). Not a test: no thresholds.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
SCREEN_CMP=${SCREEN_CMP:-$REPO/build/screen_cmp}
[ -x "$SCREEN_CMP" ] || die "no $SCREEN_CMP (make build/screen_cmp)"
command -v script >/dev/null || die "script(1) is needed (util-linux)"

# record NAME COLS ROWS COMMAND: what COMMAND writes to a PTY of COLS x ROWS, in $FIX/NAME.rec
record() {
	TERM=xterm-256color timeout 120 script -q -c "stty cols $2 rows $3; $4" /dev/null \
		</dev/null >"$FIX/$1.rec" 2>/dev/null
	[ -s "$FIX/$1.rec" ] || die "recording $1 failed"
}

# rate NAME COLS ROWS: median MB/s of RUNS feeds of $FIX/NAME.rec
rate() {
	local i
	for i in $(seq "$RUNS"); do
		"$SCREEN_CMP" -c "$2" -r "$3" -b "$SECONDS_PER_RUN" "$FIX/$1.rec" | awk '{ print $1 }'
	done | median "%.1f"
}

record top 80 24 "top -d 0.1 -n 100"
record ls80 80 24 "ls --color=auto -R /usr"
record ls200 200 50 "ls --color=auto -R /usr"
printf '%-36s %10s %8s\n' stream bytes MB/s
for s in "top 80 24" "ls80 80 24" "ls200 200 50"; do
	set -- $s
	printf '%-36s %10s %8s\n' "$1 at ${2}x$3" "$(stat -c %s "$FIX/$1.rec")" "$(rate "$@")"
done
