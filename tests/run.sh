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
fails=()                         # every failure, shown again above the summary line
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
			fails+=("$(basename "$unit"): exited $rc"); failed=$((failed + 1))
			echo "not ok - ${fails[-1]}"
		fi
	else
		fails+=("$(basename "$unit"): crashed (exit $rc, no summary line)"); failed=$((failed + 1))
		echo "not ok - ${fails[-1]}"
	fi
done

if [ $# -eq 0 ]; then set -- "$TESTS_DIR"/[0-9][0-9]-*.sh; fi
# Scripts run TEST_JOBS at a time (each has its own fixture: servers, ports, namespaces): a
# pool, the next script starting as soon as any finishes, so one long script holds up no
# others; their output is shown whole and in order of their names, each as soon as it and
# those before it have finished.
JOBS=${TEST_JOBS:-1}
logs=$(mktemp -d /tmp/sshmcp-run.XXXXXX) || exit 1
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$log" "$logs"' EXIT
trap 'exit 130' INT TERM
names=("$@")
n=${#names[@]}
# The longest scripts (by number; CI logs, under ASan) start first: a pool ends sooner when
# its long jobs do not come last.
LONG="63 71 60 52 62 51 65 72 21 15 17"
order=()
for l in $LONG; do
	for k in "${!names[@]}"; do
		[[ $(basename "${names[$k]}") == "$l"-* ]] && order+=("$k")
	done
done
for k in "${!names[@]}"; do
	[[ " ${order[*]} " == *" $k "* ]] || order+=("$k")
done
declare -A index_of state        # state[k]: 1 finished, skip (no such file)
start_script() {
	local k=$1
	# setsid: the script's own session, so its cleanup runs even when we are interrupted
	( t0=$SECONDS
	  timeout -k 10 600 setsid -w bash "${names[$k]}" </dev/null >"$logs/$k.log" 2>&1
	  echo $? >"$logs/$k.rc"
	  echo $((SECONDS - t0)) >"$logs/$k.secs" ) &
	index_of[$!]=$k
}
show_script() {
	local k=$1 rc counts p f line name
	name=$(basename "${names[$k]}")
	echo "# ---- $name ($(cat "$logs/$k.secs" 2>/dev/null || echo '?') s)"
	cat "$logs/$k.log"
	while IFS= read -r line; do
		fails+=("$name: $line")
	done < <(grep -E '^not ok ' "$logs/$k.log" | grep -v '# TODO')
	rc=$(cat "$logs/$k.rc" 2>/dev/null || echo 1)
	counts=$(grep -E '^# counts [0-9]+ [0-9]+$' "$logs/$k.log" | tail -n 1)
	if [ -n "$counts" ]; then
		read -r _ _ p f <<<"$counts"
	else
		p=$(grep -c '^ok ' "$logs/$k.log") f=$(grep -c '^not ok ' "$logs/$k.log")
	fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ -z "$counts" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		fails+=("$name: crashed (exit $rc)")
		echo "not ok - ${fails[-1]}"
		failed=$((failed + 1))
	fi
}
next=0 shown=0 running=0
while [ "$shown" -lt "$n" ]; do
	while [ "$next" -lt "$n" ] && [ "$running" -lt "$JOBS" ]; do
		k=${order[$next]}
		if [ -f "${names[$k]}" ]; then
			start_script "$k"
			running=$((running + 1))
		else
			state[$k]=skip
		fi
		next=$((next + 1))
	done
	if [ "$running" -gt 0 ]; then
		finished=
		wait -n -p finished
		if [ -n "$finished" ]; then
			state[${index_of[$finished]}]=1
			running=$((running - 1))
		elif [ -z "$(jobs -p)" ]; then   # none left to wait for: what did not say is lost
			for ((j = 0; j < next; j++)); do k=${order[$j]}; state[$k]=${state[$k]-1}; done
			running=0
		fi
	fi
	while [ "$shown" -lt "$n" ] && [ -n "${state[$shown]-}" ]; do
		[ "${state[$shown]}" = skip ] || show_script "$shown"
		shown=$((shown + 1))
	done
done

# A long log's tail is often all that is kept: the failures are named again right above it.
for line in "${fails[@]}"; do echo "# failed: $line"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
