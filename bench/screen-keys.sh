#!/bin/bash
# bench/screen-keys.sh — full-screen programs through `sshmcp serve` (bench/screen-keys.mjs):
#   * send_keys → screen round trip: vim in insert mode on the fixture's sshd, N (default 200)
#     calls of send_keys {text: "w<i>", keys: [enter], wait_for: "^w<i>$"} after WARM (default 5)
#     warm-ups, each timed at the client (request → validated result); p50/p90/p99 in ms;
#   * memory per session: the server's VmRSS before and after SESSIONS (default 50) more
#     sessions ran one command (`true`; with TAKE=1 one that takes the screen, so each
#     session holds its 200x50 grid); kB per session. MODES="keys rss" picks the parts.
# Percentiles are nearest-rank. Not a test: no thresholds. Bounded: every step runs under
# timeout; only 127.0.0.1; everything started is stopped by PID.
. "$(dirname "$0")/lib.sh"
N=${N:-200}
WARM=${WARM:-5}
SESSIONS=${SESSIONS:-50}
MODES=${MODES:-keys rss}            # rss alone measures any build (SSHMCP=...), screens or not
export MCP_SDK=${MCP_SDK:-$REPO/build/npm}

command -v node >/dev/null 2>&1 || die "node is not installed"
command -v vim >/dev/null 2>&1 || die "vim is not installed"
sshd_start MAIN "LogLevel INFO" "MaxSessions 100" "MaxStartups 100"
trust MAIN
ssh_alias h MAIN
PIDFILE=$FIX/servers.pid
: >"$PIDFILE"
_bench_cleanup() { local rc=$?; bench_kill_servers "$PIDFILE"; (exit "$rc"); _cleanup; }
trap _bench_cleanup EXIT

pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(p / 100 * NR); if (i < p / 100 * NR) i++; if (i < 1) i = 1; printf "%.2f\n", v[i] }'; }
node_run() {
	local pid
	N=$N WARM=$WARM SESSIONS=$SESSIONS TAKE=${TAKE:-0} PIDFILE=$PIDFILE MCP_HOST=h SSHMCP=$SSHMCP \
		timeout -k 5 300 node "$REPO/bench/screen-keys.mjs" "$1" >"$FIX/node.$1" 2>"$FIX/node.$1.err" &
	pid=$!
	_track "$pid"
	wait "$pid" || die "bench/screen-keys.mjs $1 failed (exit $?)" "$(tail -n 20 "$FIX/node.$1.err")"
}

if [[ " $MODES " == *" keys "* ]]; then
	node_run keys
	sed -n 's/^keys_ms //p' "$FIX/node.keys" | tr ' ' '\n' | grep . >"$FIX/keys.ms"
	echo "send_keys → screen round trip (vim insert mode, wait_for), $N calls after $WARM warm-ups:"
	printf '  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms\n' "$(pct 50 <"$FIX/keys.ms")" "$(pct 90 <"$FIX/keys.ms")" "$(pct 99 <"$FIX/keys.ms")"
fi
[[ " $MODES " == *" rss "* ]] || exit 0
node_run rss
read -r before after n < <(sed -n 's/^rss_kb //p' "$FIX/node.rss")
awk -v a="$before" -v b="$after" -v n="$n" 'BEGIN { printf "server VmRSS: %d kB with 1 session, %d kB with %d more: %.1f kB per session\n", a, b, n, (b - a) / n }'
