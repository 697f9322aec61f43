#!/bin/bash
# bench/sessions.sh — is a warm command flat in the number of open sessions? One `sshmcp
# serve`, sessions opened to the fixture's sshd in steps (COUNTS, default 1,100,500,1000), then
# N (default 200) execute_command `true` calls on one of them; p50/p90/p99 of the client's
# round trip and the server's RSS at each step (bench/sessions.py); then, all open, the
# server's CPU time over IDLE (default 10) idle seconds and one more `true` on every session.
# Not a test: no thresholds (issue 20's goals are printed beside the figures).
# Bounded: every step runs under timeout; only 127.0.0.1; what starts is stopped by PID.
. "$(dirname "$0")/lib.sh"
N=${N:-200}
COUNTS=${COUNTS:-1,100,500,1000}
MAXK=${COUNTS##*,}

# sshd takes every connection: MaxStartups would refuse handshakes past 10 at a time
sshd_start MAIN "LogLevel INFO" "MaxStartups 2000:30:2000"
trust MAIN
ssh_alias h MAIN
printf 'MaxSessions %d\n' "$((MAXK + 8))" >"$FIX/sshmcp.conf"
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null || true

timeout -k 5 600 python3 "$REPO/bench/sessions.py" h "$COUNTS" "$N" -- \
	"$SSHMCP" serve --config "$FIX/sshmcp.conf" >"$FIX/sessions.out" 2>"$FIX/sessions.err" &
pid=$!
_track "$pid"
wait "$pid" || die "bench/sessions.py failed (exit $?)" "$(tail -n 20 "$FIX/sessions.err")"
printf '%-10s %8s %8s %8s %10s\n' sessions p50_ms p90_ms p99_ms rss_MB
grep '^sessions ' "$FIX/sessions.out" >"$FIX/steps.out"
awk '{ printf "%-10s %8s %8s %8s %10.1f\n", $2, $4, $6, $8, $10 / 1024 }' "$FIX/steps.out"
awk 'NR == 1 { b = $4 } END { if (b > 0) printf "p50 at %s sessions / p50 at %s: %.2f (goal: p50 <= 5 ms)\n", $2, first, $4 / b }
	NR == 1 { first = $2; r1 = $10 } END { if (NR > 1) printf "RSS: %.3f MB a session past the first (%s -> %s), %.1f MB at %s (goal <= 0.2 MB a session + 8 MB: %.1f MB)\n", ($10 - r1) / 1024 / ($2 - first), first, $2, $10 / 1024, $2, 8 + 0.2 * $2 }' "$FIX/steps.out"
awk '$1 == "idle" { printf "idle %s s with all open: %s ms of server CPU (utime + stime, clock ticks), %s ms on a CPU (schedstat)\n", $2, $4, $6 }
	$1 == "answered" { print }' "$FIX/sessions.out"
