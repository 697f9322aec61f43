#!/bin/bash
# bench/throughput.sh — bulk data through one channel: a SIZE_MB (default 300) MiB random file
# created in the fixture, `cat` down (remote cat FILE → local stdout) and up (local stdin →
# remote cat), through sshmcp and through ssh on the same local sshd, interleaved, RUNS
# (default 3) runs each; prints the median MB/s (MiB/s) and the ratio sshmcp/ssh.
# Not a test: no thresholds. Byte counts are checked so a failing run cannot look fast.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
SIZE_MB=${SIZE_MB:-300}

sshd_start MAIN "LogLevel INFO"
trust MAIN
ssh_alias h MAIN
FILE=$FIX/big.bin
head -c "${SIZE_MB}M" /dev/urandom >"$FILE"
chmod 644 "$FILE"
BYTES=$((SIZE_MB * 1048576))
SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)

# rate DIR CMD...: run one transfer, print MiB/s; DIR=down counts local stdout, up the remote wc
rate() {
	local dir=$1 t0 t1 n
	shift
	t0=$(date +%s%N)
	if [ "$dir" = down ]; then
		n=$(timeout 600 "$@" "cat $FILE" </dev/null 2>"$FIX/bench.err" | wc -c)
	else
		n=$(timeout 600 "$@" 'wc -c' <"$FILE" 2>"$FIX/bench.err")
	fi
	t1=$(date +%s%N)
	[ "${n// /}" = "$BYTES" ] || die "$* ($dir): $n bytes, want $BYTES" "$(cat "$FIX/bench.err")"
	awk -v b="$BYTES" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f\n", b / 1048576 / ((c - a) / 1e9) }'
}

cat "$FILE" >/dev/null    # page cache
echo "cat of a $SIZE_MB MiB file, $RUNS runs each, interleaved (median MiB/s)"
for dir in down up; do
	: >"$FIX/mcp.$dir"; : >"$FIX/ssh.$dir"
	for _ in $(seq "$RUNS"); do
		rate "$dir" "$SSHMCP" exec h >>"$FIX/mcp.$dir"
		rate "$dir" "${SSH[@]}" h >>"$FIX/ssh.$dir"
	done
	m=$(median <"$FIX/mcp.$dir") s=$(median <"$FIX/ssh.$dir")
	printf '  %-4s sshmcp %7.1f MiB/s   ssh %7.1f MiB/s   ratio %.2f\n' "$dir" "$m" "$s" \
		"$(awk -v a="$m" -v b="$s" 'BEGIN { print a / b }')"
done
echo "  sshmcp $("$SSHMCP" exec -v h true 2>&1 </dev/null | grep -m 1 -o 'cipher: [^,]*, mac: [^ ]*' || echo '(cipher not reported)')"
echo "  ssh    $("${SSH[@]}" -v h true 2>&1 </dev/null | grep -m 1 -o 'cipher: [^ ]*')"
