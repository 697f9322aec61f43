#!/bin/bash
# bench/throughput.sh — bulk data through one channel, per cipher: a SIZE_MB (default 200) MiB
# random file created in the fixture, `cat` down (remote cat FILE → local stdout → wc -c) and
# up (local stdin → remote wc -c), through sshmcp and through ssh on the same local sshd,
# interleaved, RUNS (default 5) runs each per cipher and direction. Prints the median MiB/s,
# the median user and system CPU seconds of the client process (GNU time), and the ratios
# sshmcp/ssh (throughput; system time). CIPHERS (default: the three AEAD ciphers) is a space
# separated list; each run forces the cipher on both clients and checks it was negotiated.
# SINK=null sends the download to /dev/null instead of `wc -c` (then only the exit status is
# checked): ssh slows down when its stdout is a pipe that fills (it compacts its buffer with
# memmove), and this shows both figures. Not a test: no thresholds. Byte counts are checked
# so a failing run cannot look fast.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-200}
CIPHERS=${CIPHERS:-chacha20-poly1305@openssh.com aes128-gcm@openssh.com aes256-gcm@openssh.com}
TIME=/usr/bin/time
[ -x "$TIME" ] || die "GNU time ($TIME) is needed for the CPU times (apt-get install time)"

sshd_start MAIN "LogLevel INFO"
trust MAIN
ssh_alias h MAIN
FILE=$FIX/big.bin
head -c "${SIZE_MB}M" /dev/urandom >"$FILE"
chmod 644 "$FILE"
BYTES=$((SIZE_MB * 1048576))
SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)

# rate DIR OUT CMD...: run one transfer, append "MiB/s user sys" to OUT; DIR=down counts local
# stdout, up the remote wc. The CPU times are the client's alone (not cat's or wc's).
rate() {
	local dir=$1 out=$2 t0 t1 n
	shift 2
	t0=$(date +%s%N)
	if [ "$dir" = down ] && [ "${SINK:-pipe}" = null ]; then
		timeout 600 "$TIME" -f '%U %S' -o "$FIX/cpu" "$@" "cat $FILE" </dev/null \
			>/dev/null 2>"$FIX/bench.err" && n=$BYTES || n="failed ($?)"
	elif [ "$dir" = down ]; then
		n=$(timeout 600 "$TIME" -f '%U %S' -o "$FIX/cpu" "$@" "cat $FILE" </dev/null \
			2>"$FIX/bench.err" | wc -c)
	else
		n=$(timeout 600 "$TIME" -f '%U %S' -o "$FIX/cpu" "$@" 'wc -c' <"$FILE" 2>"$FIX/bench.err")
	fi
	t1=$(date +%s%N)
	[ "${n// /}" = "$BYTES" ] || die "$* ($dir): $n bytes, want $BYTES" "$(cat "$FIX/bench.err")"
	awk -v b="$BYTES" -v a="$t0" -v c="$t1" -v cpu="$(tail -n 1 "$FIX/cpu")" \
		'BEGIN { split(cpu, u, " "); printf "%.1f %.2f %.2f\n", b / 1048576 / ((c - a) / 1e9), u[1], u[2] }' >>"$out"
}

# col N FILE: the median of column N
col() { awk -v n="$1" '{ print $n }' "$2" | median; }

# negotiated CIPHER: both clients must report CIPHER, or the figures would compare others
negotiated() {
	local m s
	m=$("$SSHMCP" exec -v -o Ciphers="$1" h true 2>&1 </dev/null | grep -m 1 -o 'cipher: [^,]*' || true)
	s=$("${SSH[@]}" -v -c "$1" h true 2>&1 </dev/null | grep -m 1 -o 'cipher: [^ ]*' || true)
	[ "$m" = "cipher: $1" ] || die "sshmcp did not negotiate $1" "$m"
	[ "$s" = "cipher: $1" ] || die "ssh did not negotiate $1" "$s"
}

cat "$FILE" >/dev/null    # page cache
echo "cat of a $SIZE_MB MiB file, $RUNS runs each, interleaved; medians of MiB/s and client CPU s"
echo "download into $([ "${SINK:-pipe}" = null ] && echo /dev/null || echo 'a pipe to wc -c'); $(ssh -V 2>&1 | cut -d, -f1); CPU $(lscpu | sed -n 's/^Model name: *//p')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $CIPHERS; do
	negotiated "$c"
	echo "$c"
	for dir in down up; do
		: >"$FIX/mcp.$dir"; : >"$FIX/ssh.$dir"
		for _ in $(seq "$RUNS"); do
			rate "$dir" "$FIX/mcp.$dir" "$SSHMCP" exec -o Ciphers="$c" h
			rate "$dir" "$FIX/ssh.$dir" "${SSH[@]}" -c "$c" h
		done
		m=$(col 1 "$FIX/mcp.$dir") s=$(col 1 "$FIX/ssh.$dir")
		mu=$(col 2 "$FIX/mcp.$dir") ms=$(col 3 "$FIX/mcp.$dir")
		su=$(col 2 "$FIX/ssh.$dir") ss=$(col 3 "$FIX/ssh.$dir")
		printf '  %-4s sshmcp %6.1f MiB/s (user %.2f sys %.2f)  ssh %6.1f MiB/s (user %.2f sys %.2f)  ratio %.2f  sys ratio %.2f\n' \
			"$dir" "$m" "$mu" "$ms" "$s" "$su" "$ss" \
			"$(awk -v a="$m" -v b="$s" 'BEGIN { print a / b }')" \
			"$(awk -v a="$ms" -v b="$ss" 'BEGIN { print (b > 0) ? a / b : 0 }')"
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
