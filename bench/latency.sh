#!/bin/bash
# bench/latency.sh — per-command latency on a warm connection: `execute_command {host: h,
# command: true}` through `sshmcp serve` and the official MCP SDK Client (bench/latency.mjs),
# against `ssh h true` through an OpenSSH ControlMaster, same local sshd, same key.
#   * warm: N (default 200) calls on one server after WARM (default 5) warm-up calls; the client-side
#     round trip of each callTool (request → validated result), p50/p90/p99 in ms;
#   * first call: FRESH (default 5) fresh servers, the time of each one's first execute_command
#     (TCP connect + kex + auth + PTY shell setup + `true`); median, min and max;
#   * ControlMaster: one master (-M, ControlPersist), then N `ssh -o ControlPath=... h true`
#     after WARM warm-ups, each timed around the whole ssh process; p50/p90/p99 in ms.
# Percentiles are nearest-rank. Prints p50(sshmcp)/p50(ControlMaster). Not a test: no thresholds.
# Bounded: every step runs under timeout; only 127.0.0.1; everything started is stopped by PID.
. "$(dirname "$0")/lib.sh"
N=${N:-200}
WARM=${WARM:-5}
FRESH=${FRESH:-5}
export MCP_SDK=${MCP_SDK:-$REPO/build/npm}

command -v node >/dev/null 2>&1 || die "node is not installed"
[ -f "$MCP_SDK/node_modules/@modelcontextprotocol/sdk/package.json" ] ||
	die "no MCP SDK in $MCP_SDK" "run: make build/npm/node_modules/@modelcontextprotocol/sdk/package.json"

sshd_start MAIN "LogLevel INFO"      # the fixture's DEBUG logging would weigh on both sides
trust MAIN
ssh_alias h MAIN

SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)
CM=$FIX/cm
PIDFILE=$FIX/servers.pid
: >"$PIDFILE"
CM_PID=

# stop what lib.sh's trap does not know about (the MCP servers node spawned, the master),
# then run lib.sh's cleanup with the exit status unchanged
_bench_cleanup() {
	local rc=$?
	if [ -S "$CM" ]; then timeout 5 "${SSH[@]}" -o ControlPath="$CM" -O exit h >/dev/null 2>&1; fi
	[ -z "$CM_PID" ] || _kill_tree "$CM_PID"
	bench_kill_servers "$PIDFILE"
	(exit "$rc")
	_cleanup
}
trap _bench_cleanup EXIT

# pct P < numbers: nearest-rank percentile
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(p / 100 * NR); if (i < p / 100 * NR) i++; if (i < 1) i = 1; printf "%.2f\n", v[i] }'; }
words() { sed -n "s/^$1 //p" "$2" | tr ' ' '\n' | grep .; }   # KEY FILE: the numbers after "KEY "

# node_run MODE: bench/latency.mjs in the background (tracked by PID), bounded by timeout
node_run() {
	local pid
	N=$N WARM=$WARM FRESH=$FRESH PIDFILE=$PIDFILE MCP_HOST=h SSHMCP=$SSHMCP \
		timeout -k 5 120 node "$REPO/bench/latency.mjs" "$1" >"$FIX/node.$1" 2>"$FIX/node.$1.err" &
	pid=$!
	_track "$pid"
	wait "$pid" || die "bench/latency.mjs $1 failed (exit $?)" "$(tail -n 20 "$FIX/node.$1.err")"
}

# ---------------------------------------------------------------- sshmcp ---
node_run first
node_run warm
words warm_ms "$FIX/node.warm" >"$FIX/mcp.ms"
words first_ms "$FIX/node.first" >"$FIX/first.ms"
words init_ms "$FIX/node.first" >"$FIX/init.ms"
words server_duration_ms "$FIX/node.warm" >"$FIX/srv.ms" || true
[ "$(wc -l <"$FIX/mcp.ms")" = "$N" ] || die "expected $N warm timings" "$(head -c 600 "$FIX/node.warm")"

# --------------------------------------------------------- ControlMaster ---
timeout 20 "${SSH[@]}" -o ControlMaster=yes -o ControlPath="$CM" -o ControlPersist=60 -N -f h \
	</dev/null >/dev/null 2>"$FIX/cm.err" || die "ControlMaster did not start" "$(cat "$FIX/cm.err")"
CM_PID=$(timeout 5 "${SSH[@]}" -o ControlPath="$CM" -O check h 2>&1 | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
[ -n "$CM_PID" ] || die "ControlMaster: no pid from -O check"
_track "$CM_PID"
CMSSH=("${SSH[@]}" -o ControlMaster=no -o ControlPath="$CM")
cm_one() {   # one timed ssh through the master, ms to stdout
	local t0=$EPOCHREALTIME t1
	timeout 20 "${CMSSH[@]}" h true </dev/null >/dev/null 2>"$FIX/cm1.err" || die "ssh via ControlMaster failed" "$(cat "$FIX/cm1.err")"
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}
for _ in $(seq "$WARM"); do cm_one >/dev/null; done
: >"$FIX/cm.ms"
for _ in $(seq "$N"); do cm_one >>"$FIX/cm.ms"; done
timeout 5 "${SSH[@]}" -o ControlPath="$CM" -O exit h >/dev/null 2>&1
wait_for 3 _gone "$CM_PID" || _kill_tree "$CM_PID"
CM_PID=

# ---------------------------------------------------------------- report ---
m50=$(pct 50 <"$FIX/mcp.ms") m90=$(pct 90 <"$FIX/mcp.ms") m99=$(pct 99 <"$FIX/mcp.ms")
c50=$(pct 50 <"$FIX/cm.ms") c90=$(pct 90 <"$FIX/cm.ms") c99=$(pct 99 <"$FIX/cm.ms")
f50=$(median %.2f <"$FIX/first.ms")
fmin=$(sort -n "$FIX/first.ms" | head -n 1) fmax=$(sort -n "$FIX/first.ms" | tail -n 1)
i50=$(median %.2f <"$FIX/init.ms")
echo "execute_command true, warm: $N calls after $WARM warm-ups, MCP SDK $(sed -n 's/^sdk //p' "$FIX/node.warm"), $(basename "$SSHMCP") serve"
echo "ControlMaster: $N × ssh h true after $WARM warm-ups, local $(ssh -V 2>&1 | cut -d, -f1)"
printf '  %-28s %8s %8s %8s\n' "" "p50 ms" "p90 ms" "p99 ms"
printf '  %-28s %8.2f %8.2f %8.2f\n' "sshmcp execute_command (warm)" "$m50" "$m90" "$m99"
printf '  %-28s %8.2f %8.2f %8.2f\n' "ssh via ControlMaster" "$c50" "$c90" "$c99"
if [ -s "$FIX/srv.ms" ]; then
	printf '  %-28s %8.2f %8.2f %8.2f\n' "  (server duration_ms)" "$(pct 50 <"$FIX/srv.ms")" "$(pct 90 <"$FIX/srv.ms")" "$(pct 99 <"$FIX/srv.ms")"
fi
awk -v a="$m50" -v b="$c50" 'BEGIN { printf "  ratio p50 sshmcp/ControlMaster  %.3f  (1/%.1f)\n", a / b, b / a }'
printf '  first execute_command on a fresh server (%s servers): median %.1f ms (min %.1f, max %.1f); spawn+initialize+tools/list median %.1f ms\n' \
	"$FRESH" "$f50" "$fmin" "$fmax" "$i50"
echo "  first-call values (ms): $(awk '{ printf "%s%.1f", (NR > 1 ? " " : ""), $1 }' "$FIX/first.ms")"
