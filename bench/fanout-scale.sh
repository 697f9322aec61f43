#!/bin/bash
# bench/fanout-scale.sh — `sshmcp exec -H` over NHOSTS (default 1000) host names against the
# time the servers alone need. The names are aliases spread over SSHDS (default 8) local sshds
# (MaxStartups raised), so servers and client share this machine's CPUs; "the servers alone"
# is what the sshds spent for the run divided by nproc, the wall time they would need with
# every CPU to themselves and no client at all. What they spent is counted by a cgroup (v2)
# the listeners are put in, which every process of theirs inherits; without one, from what
# the listeners reaped (cutime + cstime), which misses each connection's post-auth process
# and its shell: sshd's monitor exits without waiting for them. Per run: sshmcp's wall and
# CPU time, the servers' CPU, and the ratio wall / servers alone (issue 20's goal: <= 1.5).
# RUNS (default 3) runs after a warm-up, medians; FANOUT (default: sshmcp's, 64) for --fanout.
# With XARGS=1, `xargs -P 64 ssh` over the same names (curve25519-sha256, the kex sshmcp
# picks) once too.
# Not a test: no thresholds. Everything under timeout; what starts is stopped by PID.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-3}
SSHDS=${SSHDS:-8}
NHOSTS=${NHOSTS:-1000}
FANOUT=${FANOUT-}
BENCH_TIMEOUT=600

ulimit -n 8192 2>/dev/null || true
for i in $(seq "$SSHDS"); do
	sshd_start "S$i" "LogLevel INFO" "MaxStartups 2000:30:2000"   # DEBUG logging would weigh
	trust "S$i"
done
w=${#NHOSTS}
for n in $(seq "$NHOSTS"); do
	ssh_alias "$(printf 'h%0*d' "$w" "$n")" "S$(((n - 1) % SSHDS + 1))"
done
LIST=$(printf 'h[%0*d-%d]' "$w" 1 "$NHOSTS")
FOPT=()
[ -z "$FANOUT" ] || FOPT=(--fanout "$FANOUT")

# The sshds' cgroup: in the first cgroup2 hierarchy mounted (the unified one beside v1's).
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -n "$CG" ] && mkdir "$CG/sshmcp-bench.$$" 2>/dev/null; then
	CG=$CG/sshmcp-bench.$$
	_CGROUPS+=("$CG")
	for i in $(seq "$SSHDS"); do pid=S${i}_PID; echo "${!pid}" >"$CG/cgroup.procs"; done
	CPU_HOW="a cgroup around the sshds"
else
	CG= CPU_HOW="what the listeners reaped (no cgroup2 here: misses post-auth processes)"
fi

# servers_cpu: the sshds' CPU time so far, ms: their cgroup's, else what the listeners
# reaped (utime + stime of the connections' processes they waited for)
servers_cpu() {
	local i pid tot=0 v
	if [ -n "$CG" ]; then
		awk '$1 == "usage_usec" { printf "%.0f", $2 / 1000 }' "$CG/cpu.stat"
		return
	fi
	for i in $(seq "$SSHDS"); do
		pid=S${i}_PID
		v=$(awk '{ sub(/.*\) /, ""); print $14 + $15 }' "/proc/${!pid}/stat")
		tot=$((tot + v))
	done
	awk -v t="$tot" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t * 1000 / hz }'
}

one_run() {   # prints: wall_ms client_cpu_ms servers_cpu_ms ok_lines
	local s0 s1 r
	s0=$(servers_cpu)
	r=$(time_cpu_one "$SSHMCP" exec "${FOPT[@]}" -H "$LIST" true)
	sleep 0.5                      # the last connections' processes reaped
	s1=$(servers_cpu)
	[ ! -s "$FIX/bench.err" ] || die "sshmcp -H complained" "$(head -n 5 "$FIX/bench.err")"
	echo "$r $((s1 - s0))"
}
one_run >/dev/null   # warm-up: page cache, sshd forks
: >"$FIX/runs"
for _ in $(seq "$RUNS"); do one_run >>"$FIX/runs"; done
np=$(nproc)
echo "fan-out: \`true\` on $NHOSTS aliases over $SSHDS local sshds (nproc $np), --fanout ${FANOUT:-default}, $RUNS runs, medians"
echo "  servers' CPU: $CPU_HOW"
awk -v np="$np" '{ printf "  run %d: wall %8.1f ms, sshmcp CPU %7.1f ms, servers CPU %7.1f ms -> servers alone %7.1f ms, ratio %.2f\n", NR, $1, $2, $3, $3 / np, $1 / ($3 / np) }' "$FIX/runs"
wall=$(cut -d' ' -f1 "$FIX/runs" | median) cli=$(cut -d' ' -f2 "$FIX/runs" | median)
srv=$(cut -d' ' -f3 "$FIX/runs" | median)
awk -v a="$wall" -v c="$cli" -v s="$srv" -v np="$np" -v n="$NHOSTS" 'BEGIN {
	printf "  median: wall %.1f ms, sshmcp CPU %.1f ms (%.2f ms a host), servers CPU %.1f ms (%.2f ms a host)\n", a, c, c / n, s, s / n
	printf "  wall / servers alone (servers CPU / %d): %.2f (goal <= 1.5: %s)\n", np, a / (s / np), a / (s / np) <= 1.5 ? "met" : "NOT met"
	printf "  (servers + sshmcp CPU) / %d = %.1f ms: the wall time no client can beat here\n", np, (s + c) / np }'
if [ "${XARGS-}" = 1 ]; then
	printf '#!/bin/sh\nfor n in $(seq %d); do printf "h%%0%dd\\n" "$n"; done | xargs -P 64 -I{} ssh -F %q -o BatchMode=yes -o IdentitiesOnly=yes -o KexAlgorithms=curve25519-sha256 {} true\n' \
		"$NHOSTS" "$w" "$SSH_CONFIG" >"$FIX/xargs_ssh"
	chmod 755 "$FIX/xargs_ssh"
	s0=$(servers_cpu)
	r=$(time_cpu_one "$FIX/xargs_ssh")
	sleep 0.5
	s1=$(servers_cpu)
	set -- $r
	awk -v a="$1" -v c="$2" -v s="$((s1 - s0))" -v np="$np" 'BEGIN {
		printf "  xargs -P 64 ssh: wall %.1f ms, ssh CPU %.1f ms, servers CPU %.1f ms, ratio %.2f\n", a, c, s, a / (s / np) }'
fi
