#!/bin/bash
# bench/policy.sh — what a command policy costs. Two measurements in one run:
#   * the check alone: build/polbench times pol_command on 20 representative command lines
#     under DenyCommand, AllowCommand, ReadOnly and all three together (median and worst
#     line, µs; the budget is 50 µs a command);
#   * the command: `sshmcp exec h CMD` without a policy, with ReadOnly plus DenyCommand and
#     AllowCommand rules (SSHMCP_CONFIG), and `ssh h CMD`, interleaved, RUNS (default 20)
#     timed runs each; medians and ratios.
# Not a test: no thresholds.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-20}
CMD=${CMD:-'ls -la /etc | grep -c conf'}

make -C "$REPO" -s build/polbench >/dev/null || die "make build/polbench failed"
echo "the check alone (build/polbench, 2000 timed checks of each line, median per line):"
"$REPO/build/polbench" | sed 's/^/  /'

sshd_start MAIN "LogLevel INFO"
trust MAIN
ssh_alias h MAIN
printf 'ReadOnly yes\nDenyCommand ^(rm|reboot)( |$)\nAllowCommand ^(ls|grep|cat)( |$)\n' >"$FIX/policy.conf"
: >"$FIX/empty.conf"
SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)
SSHMCP_CONFIG=$FIX/policy.conf time_one "$SSHMCP" exec h "$CMD" >/dev/null     # warm-up
[ "$(cat "$FIX/bench.out")" -gt 0 ] 2>/dev/null || die "the policy refused or changed '$CMD'" "$(cat "$FIX/bench.err")"
time_one "${SSH[@]}" h "$CMD" >/dev/null
: >"$FIX/pol.ms"; : >"$FIX/none.ms"; : >"$FIX/ssh.ms"
for _ in $(seq "$RUNS"); do
	SSHMCP_CONFIG=$FIX/policy.conf time_one "$SSHMCP" exec h "$CMD" >>"$FIX/pol.ms"
	SSHMCP_CONFIG=$FIX/empty.conf time_one "$SSHMCP" exec h "$CMD" >>"$FIX/none.ms"
	time_one "${SSH[@]}" h "$CMD" >>"$FIX/ssh.ms"
done
p=$(median <"$FIX/pol.ms") n=$(median <"$FIX/none.ms") s=$(median <"$FIX/ssh.ms")
echo "exec h '$CMD', $RUNS runs each, interleaved:"
printf '  sshmcp, ReadOnly + DenyCommand + AllowCommand  median %8.1f ms\n' "$p"
printf '  sshmcp, no policy                              median %8.1f ms\n' "$n"
printf '  ssh                                            median %8.1f ms\n' "$s"
awk -v a="$p" -v b="$n" -v c="$s" 'BEGIN { printf "  ratio policy/no policy %.3f   policy/ssh %.2f   no policy/ssh %.2f\n", a / b, a / c, b / c }'
