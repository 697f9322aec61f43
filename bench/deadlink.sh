#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# bench/deadlink.sh — how fast a dead link is found, sshmcp beside OpenSSH on the same stall:
# one `sshmcp exec` and one `ssh`, each running a command on the same local sshd with
# ServerAliveInterval N and ServerAliveCountMax M; after a random phase (0–N s) both sessions'
# sshd processes are frozen with SIGSTOP at the same moment, and each client's exit is timed
# from there (epoch ms written by a wrapper as it exits). RUNS (default 5) per setting, medians
# and maxima. Goal (issue 20): sshmcp within N × M + 0.5 s every time.
# Not a test: prints numbers; exits non-zero only if something could not run.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
SETTINGS=${SETTINGS:-"1:3 2:2 3:1"}
TAG=$$

sshd_start MAIN "LogLevel INFO"
trust MAIN

# one N M K: one stall; appends sshmcp's and ssh's times to $FIX/mc.N.M and $FIX/os.N.M
one() {
	local n=$1 m=$2 k=$3 a b t0
	bg mc "$SSHMCP" exec "st$n$m" "echo \$\$; exec sleep 7$k.$TAG"
	bg os ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes "st$n$m" "echo \$\$; exec sleep 8$k.$TAG"
	wait_for 15 first_line_pid mc && wait_for 15 first_line_pid os || die "the commands did not start"
	sleep "$(awk -v n="$n" -v r="$RANDOM" 'BEGIN { printf "%.3f", n * r / 32768 }')"
	a=$(chain_pids "$(head -n 1 "$FIX/mc.out")" "$MAIN_PID")
	b=$(chain_pids "$(head -n 1 "$FIX/os.out")" "$MAIN_PID")
	t0=$(ms)
	# shellcheck disable=SC2086
	kill -STOP $a $b
	wait_for $(( (n + 1) * (m + 1) + 10 )) test -s "$FIX/mc.end"
	wait_for $(( (n + 1) * (m + 1) + 10 )) test -s "$FIX/os.end"
	# shellcheck disable=SC2086
	kill -9 $a $b 2>/dev/null
	for p in $(remote_pids "sleep [78]$k.$TAG"); do kill -9 "$p" 2>/dev/null; done
	echo $(( $(cat "$FIX/mc.end") - t0 )) >>"$FIX/mc.$n.$m"
	echo $(( $(cat "$FIX/os.end") - t0 )) >>"$FIX/os.$n.$m"
}

echo "dead-link detection: server frozen (SIGSTOP) under a running command, $RUNS runs per setting (nproc $(nproc))"
printf '  %-22s %12s %12s %12s %12s %8s %8s\n' "interval × count" "sshmcp med" "sshmcp max" "ssh med" "ssh max" "ratio" "goal"
k=0
for st in $SETTINGS; do
	n=${st%:*} m=${st#*:}
	ssh_alias "st$n$m" MAIN "ServerAliveInterval $n" "ServerAliveCountMax $m"
	: >"$FIX/mc.$n.$m"; : >"$FIX/os.$n.$m"
	for _ in $(seq "$RUNS"); do k=$((k + 1)); one "$n" "$m" "$k"; done
	mm=$(median <"$FIX/mc.$n.$m") mx=$(sort -n "$FIX/mc.$n.$m" | tail -n 1)
	om=$(median <"$FIX/os.$n.$m") ox=$(sort -n "$FIX/os.$n.$m" | tail -n 1)
	goal=$(( n * m * 1000 + 500 ))
	printf '  %-22s %9s ms %9s ms %9s ms %9s ms %8s %5s ms %s\n' "$n s × $m" "$mm" "$mx" "$om" "$ox" \
		"$(awk -v a="$mm" -v b="$om" 'BEGIN { printf "%.2f", a / b }')" "$goal" \
		"$([ "$mx" -le "$goal" ] && echo met || echo MISSED)"
done
