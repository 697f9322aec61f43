#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 22-timeout-wait: an agent gives a command a timeout and waits for it. Whatever `wait` is,
# a wait that reaches the timeout answers with the timeout's result, never with "running":
# wait equal to timeout, wait past it, a command that ignores Ctrl-C (the session is closed
# after the grace period: still "timeout"), a command queued behind a busy session (it times
# out where it waits, without running), get_command_status long-polling past the timeout.
# A wait shorter than the timeout still answers "running" on time.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
trust MAIN
ssh_alias h MAIN
# in_range MS LO HI
in_range() { [ "$1" -ge "$2" ] 2>/dev/null && [ "$1" -le "$3" ]; }

serve_raw <<'EOF'
call warm execute_command {"host":"h","command":"echo warm"}
call eq execute_command {"host":"h","command":"sleep 30","timeout":2,"wait":2}
call past execute_command {"host":"h","command":"sleep 31","timeout":2,"wait":20}
call short execute_command {"host":"h","command":"sleep 2; echo done","timeout":10,"wait":1}
call after execute_command {"host":"h","command":"echo after","timeout":10}
call deaf execute_command {"host":"h","session":"deaf","command":"trap '' INT; sleep 32","timeout":2,"wait":2}
send busy execute_command_async {"host":"h","session":"q","command":"sleep 6","timeout":30}
call queued execute_command {"host":"h","session":"q","command":"echo never-ran","timeout":2,"wait":2}
EOF

check_eq "$(jget warm 'sc["output"]')" "warm" "a first command runs (the session is warm)"
check_eq "$(jget eq 'sc["status"]')" "timeout" "wait = timeout: the result is the timeout, not running"
ms=$(jget eq 'r["ms"]')
if in_range "$ms" 1900 4000; then ok "wait = timeout: answered at the timeout (${ms} ms)"
else fail "wait = timeout: answered within 1.9–4 s" "${ms} ms"; fi
check_eq "$(jget eq 'r["result"]["isError"]')" "true" "wait = timeout: isError"
check_eq "$(jget past 'sc["status"]')" "timeout" "wait past the timeout: timeout"
ms=$(jget past 'r["ms"]')
if in_range "$ms" 1900 4000; then ok "wait past the timeout: answered at the timeout (${ms} ms), not at the wait"
else fail "wait past the timeout: answered within 1.9–4 s" "${ms} ms"; fi
check_eq "$(jget short 'sc["status"]')" "running" "wait shorter than the timeout: running"
ms=$(jget short 'r["ms"]')
if in_range "$ms" 900 1800; then ok "wait shorter than the timeout: answered after the wait (${ms} ms)"
else fail "wait shorter than the timeout: answered after about 1 s" "${ms} ms"; fi
check_eq "$(jget after 'sc["output"]')" "after" "the session goes on after a timeout"
check_eq "$(jget deaf 'sc["status"]')" "timeout" "a command that ignores Ctrl-C: still the timeout result"
ms=$(jget deaf 'r["ms"]')
if in_range "$ms" 3900 6500; then ok "…after the grace period (${ms} ms)"
else fail "…after the 2 s grace period (3.9–6.5 s)" "${ms} ms"; fi
check_contains "$(jget deaf 'sc["error"]["message"]')" "Ctrl-C" "…saying the command ignored Ctrl-C"
check_eq "$(jget queued 'sc["status"]')" "timeout" "a command queued behind a busy session times out where it waits"
ms=$(jget queued 'r["ms"]')
if in_range "$ms" 1900 4000; then ok "…at its own timeout (${ms} ms), not when the session frees up"
else fail "…at its own timeout (1.9–4 s)" "${ms} ms"; fi
check_contains "$(jget queued 'sc["error"]["message"]')" "before it started" "…saying it never started"
check_not_contains "$(jget queued 'sc["output"]')" "never-ran" "…and it never ran"

# get_command_status long-polling past the timeout (a new server: the ids are c1, c2)
serve_raw <<EOF
call st execute_command_async {"host":"h","command":"sleep 33","timeout":2}
sleep 0.2
call poll get_command_status {"command_id":"c1","wait":30}
call st2 execute_command_async {"host":"h","command":"sleep 34","timeout":3}
call poll2 get_command_status {"command_id":"c2","wait":3}
EOF
check_eq "$(jget poll 'sc["status"]')" "timeout" "get_command_status wait past the timeout: timeout"
ms=$(jget poll 'r["ms"]')
if in_range "$ms" 1500 4000; then ok "…answered at the timeout (${ms} ms)"
else fail "…answered at the timeout" "${ms} ms"; fi
check_eq "$(jget poll2 'sc["status"]')" "timeout" "get_command_status wait = the time left: timeout"
