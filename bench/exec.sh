#!/bin/bash
# bench/exec.sh — connection + one command: `sshmcp exec h true` against `ssh h true` on the
# same local sshd, same key, interleaved, RUNS (default 20) timed runs each after one warm-up.
# Prints the medians and the ratio sshmcp/ssh. Not a test: no thresholds.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-20}

sshd_start MAIN "LogLevel INFO"      # the fixture's DEBUG logging would weigh on both sides
trust MAIN
ssh_alias h MAIN


SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)
time_one "$SSHMCP" exec h true >/dev/null    # warm-up: page cache, sshd's first fork
time_one "${SSH[@]}" h true >/dev/null
: >"$FIX/mcp.ms"; : >"$FIX/ssh.ms"
for _ in $(seq "$RUNS"); do
	time_one "$SSHMCP" exec h true >>"$FIX/mcp.ms"
	time_one "${SSH[@]}" h true >>"$FIX/ssh.ms"
done
m=$(median <"$FIX/mcp.ms") s=$(median <"$FIX/ssh.ms")
min_m=$(sort -n "$FIX/mcp.ms" | head -n 1) min_s=$(sort -n "$FIX/ssh.ms" | head -n 1)
kex=$("$SSHMCP" exec -v h true 2>&1 </dev/null | grep -m 1 -o 'kex: .*' || echo "kex: (not reported)")
skex=$("${SSH[@]}" -v h true 2>&1 </dev/null | grep -m 1 -o 'kex: algorithm: .*')
scipher=$("${SSH[@]}" -v h true 2>&1 </dev/null | grep -m 1 -o 'cipher: [^ ]*')

echo "exec h true, $RUNS runs each, interleaved, local OpenSSH $(ssh -V 2>&1 | cut -d, -f1 | cut -d' ' -f1), key $(basename "$KEY_DEFAULT")"
printf '  sshmcp  median %8.1f ms  (min %.1f)\n' "$m" "$min_m"
printf '  ssh     median %8.1f ms  (min %.1f)\n' "$s" "$min_s"
awk -v a="$m" -v b="$s" 'BEGIN { printf "  ratio sshmcp/ssh  %.2f\n", a / b }'
echo "  sshmcp $kex"
echo "  ssh    $skex, $scipher"
