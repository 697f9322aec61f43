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
for t in "$@"; do
	[ -f "$t" ] || continue
	echo "# ---- $(basename "$t")"
	# In the background so that an interrupt of run.sh reaches the script (its own session
	# does not get the terminal's ^C): the trap hands it to `timeout`, which passes it on.
	( timeout -k 10 600 setsid -w bash "$t" </dev/null 2>&1 | tee "$log"; exit "${PIPESTATUS[0]}" ) &
	pid=$!
	wait "$pid"; rc=$?
	counts=$(grep -E '^# counts [0-9]+ [0-9]+$' "$log" | tail -n 1)
	if [ -n "$counts" ]; then
		read -r _ _ p f <<<"$counts"
	else
		p=$(grep -c '^ok ' "$log") f=$(grep -c '^not ok ' "$log")
	fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ -z "$counts" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		echo "not ok - $(basename "$t") crashed (exit $rc)"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
