#!/bin/bash
# tests/run.sh [tests/NN-topic.sh...] — run sshmcp's tests and print one "N passed, N failed".
#   SSHMCP=binary under test (default: sshmcp at the repo root)
#   UNIT=unit-test binaries, space-separated (run first; each prints its own "N passed, N failed")
# Each script runs under `timeout 600`, without a controlling terminal (so nothing can prompt),
# stdin from /dev/null. Its "# counts P F" line is summed; a script that dies without it, or
# exits non-zero with no failure counted, counts as one failure. Exit 1 if anything failed.
set -u
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$TESTS_DIR")
export SSHMCP=${SSHMCP:-$REPO/sshmcp}
passed=0 failed=0
log=$(mktemp /tmp/sshmcp-run.XXXXXX) || exit 1
trap 'rm -f "$log"' EXIT

# UNIT may name several unit-test binaries, separated by spaces.
for unit in ${UNIT-}; do
	echo "# unit: $unit"
	timeout 600 "$unit" </dev/null 2>&1 | tee "$log" | sed -E 's/^([0-9]+ passed, [0-9]+ failed)$/# unit: \1/'
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		read -r p _ f _ <<<"${line/,/}"
		passed=$((passed + p)) failed=$((failed + f))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "not ok - $(basename "$unit") exited $rc"; failed=$((failed + 1))
		fi
	else
		echo "not ok - $(basename "$unit") crashed (exit $rc, no summary line)"; failed=$((failed + 1))
	fi
done

if [ $# -eq 0 ]; then set -- "$TESTS_DIR"/[0-9][0-9]-*.sh; fi
# Scripts run TEST_JOBS at a time (each has its own fixture: servers, ports, namespaces);
# their output is shown whole and in order, each as it finishes.
JOBS=${TEST_JOBS:-1}
logs=$(mktemp -d /tmp/sshmcp-run.XXXXXX) || exit 1
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$log" "$logs"' EXIT
trap 'exit 130' INT TERM
names=("$@")
n=${#names[@]} next=0
declare -A pid_of
start_script() {
	local k=$1
	# setsid: the script's own session, so its cleanup runs even when we are interrupted
	( t0=$SECONDS
	  timeout -k 10 600 setsid -w bash "${names[$k]}" </dev/null >"$logs/$k.log" 2>&1
	  echo $? >"$logs/$k.rc"
	  echo $((SECONDS - t0)) >"$logs/$k.secs" ) &
	pid_of[$k]=$!
}
for ((k = 0; k < n; k++)); do
	while [ "$next" -lt "$n" ] && [ $((next - k)) -lt "$JOBS" ]; do
		[ -f "${names[$next]}" ] && start_script "$next"
		next=$((next + 1))
	done
	[ -f "${names[$k]}" ] || continue
	wait "${pid_of[$k]}"
	echo "# ---- $(basename "${names[$k]}") ($(cat "$logs/$k.secs" 2>/dev/null || echo '?') s)"
	cat "$logs/$k.log"
	rc=$(cat "$logs/$k.rc" 2>/dev/null || echo 1)
	counts=$(grep -E '^# counts [0-9]+ [0-9]+$' "$logs/$k.log" | tail -n 1)
	if [ -n "$counts" ]; then
		read -r _ _ p f <<<"$counts"
	else
		p=$(grep -c '^ok ' "$logs/$k.log") f=$(grep -c '^not ok ' "$logs/$k.log")
	fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ -z "$counts" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		echo "not ok - $(basename "${names[$k]}") crashed (exit $rc)"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
