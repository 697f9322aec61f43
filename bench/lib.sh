# bench/lib.sh — what every bench script shares: the test fixture (tests/lib.sh: sshd, keys,
# aliases, cleanup by PID) and the timing helpers. Sourced, never run.
BENCH=1
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"

BENCH_TIMEOUT=${BENCH_TIMEOUT:-60}  # seconds one timed run may take
BENCH_DECIMALS=${BENCH_DECIMALS:-3} # of the milliseconds time_one prints

# time_one CMD...: milliseconds for one run (stdout kept in $FIX/bench.out, stderr in
# $FIX/bench.err); fails the bench if CMD fails
time_one() {
	local t0 t1
	t0=$(date +%s%N)
	timeout "$BENCH_TIMEOUT" "$@" </dev/null >"$FIX/bench.out" 2>"$FIX/bench.err" ||
		die "$* failed" "$(tail -n 5 "$FIX/bench.err")"
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" -v d="$BENCH_DECIMALS" 'BEGIN { printf "%." d "f\n", (b - a) / 1e6 }'
}

# time_cpu_one CMD...: "WALL CPU" in milliseconds for one run: the wall clock, and the user +
# system time of CMD and whatever it waited for (getrusage: the kernel's count, to the
# microsecond, not the tick); stdout and stderr as time_one keeps them
time_cpu_one() {
	BO="$FIX/bench.out" BE="$FIX/bench.err" timeout "$BENCH_TIMEOUT" "$PY" -c '
import os, resource, subprocess, sys, time
with open(os.environ["BO"], "wb") as o, open(os.environ["BE"], "wb") as e:
    t0 = time.perf_counter()
    rc = subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=o, stderr=e)
    t1 = time.perf_counter()
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % ((t1 - t0) * 1e3, (r.ru_utime + r.ru_stime) * 1e3))
sys.exit(rc)' "$@" </dev/null || die "$* failed" "$(tail -n 5 "$FIX/bench.err")"
}

# median [FMT] < numbers: the median, printed with FMT (printf) when given
median() {
	sort -n | awk -v f="${1-}" '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      if (f == "") print m; else printf f "\n", m }'
}

# bench_kill_servers FILE: stop the `sshmcp serve` processes whose PIDs node wrote to FILE
# (lib.sh's trap does not know them); a PID that is no longer sshmcp is left alone
bench_kill_servers() {
	local p
	while read -r p; do
		[ -n "$p" ] && [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$SSHMCP")" ] && _kill_tree "$p"
	done <"$1"
}
