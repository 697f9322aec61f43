#!/bin/bash
# bench/forward.sh — bulk data through one -L tunnel: SIZE_MB (default 200) MiB down (a local
# server sends a file to whoever connects, read through `-N -L`) and up (sent through the
# tunnel to a sink that counts it), through `sshmcp exec` and through ssh on the same local
# sshd with the same cipher, interleaved, RUNS (default 5) runs each per cipher and
# direction. The tunnel is up (authenticated, listening) before the clock starts: what is
# timed is the transfer alone.
# Prints the median MiB/s, the tunnel process's median CPU seconds (user + system, from
# /proc) and the ratios sshmcp/ssh. CIPHERS (default: chacha20-poly1305 and aes128-gcm) is
# a space separated list. Not a test: no thresholds; byte counts are checked, so a failing
# run cannot look fast.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-200}
CIPHERS=${CIPHERS:-chacha20-poly1305@openssh.com aes128-gcm@openssh.com}

sshd_start MAIN "LogLevel INFO"
trust MAIN
ssh_alias h MAIN
FILE=$FIX/big.bin
head -c "${SIZE_MB}M" /dev/urandom >"$FILE"
BYTES=$((SIZE_MB * 1048576))
SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)

# The far side's two services: SRC sends FILE to each connection and closes; SINK reads to
# EOF and answers the count.
cat >"$FIX/svc.py" <<'PYEOF'
import os, socket, sys, threading
mode, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
def src(c):
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        off = 0
        while off < size:
            off += os.sendfile(c.fileno(), f.fileno(), off, size - off)
    c.close()
def sink(c):
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
    c.sendall(b"%d\n" % n); c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=src if mode == "src" else sink, args=(c,), daemon=True).start()
PYEOF
# The client: down reads to EOF, up sends the file, half-closes and reads the count. Prints
# "bytes seconds".
cat >"$FIX/xfer.py" <<'PYEOF'
import os, socket, sys, time
mode, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.create_connection(("127.0.0.1", port), timeout=300)
c.settimeout(None)              # blocking: sendfile must not see EAGAIN
t0 = time.perf_counter()
if mode == "down":
    n = 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        n += len(b)
else:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        off = 0
        while off < size:
            off += os.sendfile(c.fileno(), f.fileno(), off, size - off)
    c.shutdown(socket.SHUT_WR)
    n = int(c.makefile().readline() or -1)
print(n, time.perf_counter() - t0)
PYEOF
SRC=$(free_port) SINK=$(free_port)
"$PY" "$FIX/svc.py" src "$SRC" "$FILE" 2>"$FIX/src.log" & _track $!
"$PY" "$FIX/svc.py" sink "$SINK" "$FILE" 2>"$FIX/sink.log" & _track $!
wait_for 10 nc -z 127.0.0.1 "$SRC" || die "source did not start"
wait_for 10 nc -z 127.0.0.1 "$SINK" || die "sink did not start"

# cpu PID: user + system seconds so far (clock ticks from /proc/PID/stat)
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"; }

# rate DIR OUT CMD...: one tunnel (CMD -N -L), one transfer through it; "MiB/s cpu" to OUT
rate() {
	local dir=$1 out=$2 lp pid c0 c1 res target
	shift 2
	lp=$(free_port)
	target=$SRC; [ "$dir" = up ] && target=$SINK
	"$@" -v -N -L "$lp:127.0.0.1:$target" h </dev/null >/dev/null 2>"$FIX/tun.err" &
	pid=$!
	_track "$pid"
	# Authenticated (sshmcp listens before it connects, ssh after) and listening, seen
	# without connecting (a probe would cost the source a transfer)
	wait_for 15 grep -q Authenticated "$FIX/tun.err" &&
		wait_for 15 sh -c 'ss -ltnH "sport = :$1" | grep -q .' sh "$lp" ||
		die "$* -L: not up" "$(cat "$FIX/tun.err")"
	c0=$(cpu "$pid")
	res=$(timeout 600 "$PY" "$FIX/xfer.py" "$dir" "$lp" "$FILE") || die "$* ($dir) failed" "$res"
	c1=$(cpu "$pid")
	kill "$pid"; wait "$pid" 2>/dev/null
	[ "${res%% *}" = "$BYTES" ] || die "$* ($dir): ${res%% *} bytes, want $BYTES" "$(cat "$FIX/tun.err")"
	awk -v b="$BYTES" -v t="${res#* }" -v a="$c0" -v c="$c1" \
		'BEGIN { printf "%.1f %.2f\n", b / 1048576 / t, c - a }' >>"$out"
}
col() { awk -v n="$1" '{ print $n }' "$2" | median; }

cat "$FILE" >/dev/null    # page cache
echo "$SIZE_MB MiB through one -L tunnel, $RUNS runs each, interleaved; medians of MiB/s and tunnel CPU s"
echo "$(ssh -V 2>&1 | cut -d, -f1); CPU $(lscpu | sed -n 's/^Model name: *//p'); load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $CIPHERS; do
	echo "$c"
	for dir in down up; do
		: >"$FIX/mcp.$dir"; : >"$FIX/ssh.$dir"
		for _ in $(seq "$RUNS"); do
			rate "$dir" "$FIX/mcp.$dir" "$SSHMCP" exec -o Ciphers="$c"
			rate "$dir" "$FIX/ssh.$dir" "${SSH[@]}" -c "$c"
		done
		m=$(col 1 "$FIX/mcp.$dir") s=$(col 1 "$FIX/ssh.$dir")
		mc=$(col 2 "$FIX/mcp.$dir") sc=$(col 2 "$FIX/ssh.$dir")
		printf '  %-4s sshmcp %6.1f MiB/s (cpu %.2f s)  ssh %6.1f MiB/s (cpu %.2f s)  ratio %.2f  cpu ratio %.2f\n' \
			"$dir" "$m" "$mc" "$s" "$sc" \
			"$(awk -v a="$m" -v b="$s" 'BEGIN { print a / b }')" \
			"$(awk -v a="$mc" -v b="$sc" 'BEGIN { print (b > 0) ? a / b : 0 }')"
	done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
