#!/bin/bash
# 25-serve-config: serve resolves a destination through ssh_config once and keeps it while
# the files it read (the user's config, /etc/ssh/ssh_config, every Include and the
# directories Include globs look in) are unchanged; a change to any of them is seen on the
# next call, as if the files were read every time.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
sshd_start OTHER
trust MAIN
trust OTHER
mkdir -p "$HOME/.ssh/conf.d"
# cc's block lives in an Included file; the test rewrites it between calls
cc_block() {   # cc_block NAME [extra lines]: cc pointing at server NAME
	local addr=${1}_ADDR port=${1}_PORT
	printf 'Host cc\n  HostName %s\n  Port %s\n  User %s\n  IdentityFile %s\n%s\n' \
		"${!addr}" "${!port}" "$T_USER" "$KEY_DEFAULT" "${2-}" >"$HOME/.ssh/conf.d/cc.conf"
}
cc_block MAIN
ssh_config_raw "Include conf.d/*.conf"

cc_block OTHER; cp -p "$HOME/.ssh/conf.d/cc.conf" "$FIX/other.conf"
cc_block MAIN; cp -p "$HOME/.ssh/conf.d/cc.conf" "$FIX/main.conf"
T=120 serve_raw <<SCRIPT
call 1 execute_command {"host":"cc","command":"echo \$SSH_CONNECTION"}
call 2 execute_command {"host":"cc","command":"echo \$SSH_CONNECTION"}
shell cp "$FIX/other.conf" "$HOME/.ssh/conf.d/cc.conf"
call 3 execute_command {"host":"cc","command":"echo \$SSH_CONNECTION"}
shell cp -p "$FIX/main.conf" "$HOME/.ssh/conf.d/cc.conf"
call 4 execute_command {"host":"cc","command":"echo \$SSH_CONNECTION","session":"s4"}
shell printf 'Host cc\\n  Port 1\\n' >"$HOME/.ssh/conf.d/00-first.conf"
call 5 execute_command {"host":"cc","command":"echo \$SSH_CONNECTION","session":"s5","timeout":10}
shell rm -f "$HOME/.ssh/conf.d/00-first.conf"
call 6 execute_command {"host":"cc","command":"echo \$SSH_CONNECTION","session":"s6"}
SCRIPT
port_of() { jget "$1" "(sc.get('output') or '').split()[3] if len((sc.get('output') or '').split()) > 3 else 'none: ' + json.dumps(r)[:300]"; }
check_eq "$(port_of 1)" "$MAIN_PORT" "first call: cc from the Included file"
check_eq "$(port_of 2)" "$MAIN_PORT" "second call: the same destination (from the cache)"
check_eq "$(port_of 3)" "$OTHER_PORT" "the Included file rewritten: the next call goes where it says now"
check_eq "$(port_of 4)" "$MAIN_PORT" "the old contents back with the old mtime (cp -p, the same size): seen (its ctime moved)"
check_contains "$(jget 5 "json.dumps(r)")" "SSHMCP_ERR" "a new file in the Include directory (Port 1, read first): seen on the next call"
check_eq "$(port_of 6)" "$MAIN_PORT" "that file removed: the destination as before"
check_eq "$(tail -1 "$FIX/out")" "exit 0" "serve exits cleanly"

# --- serve's own keepalive (no ServerAliveInterval configured): while a session is idle the
# kernel's TCP keepalives watch its link (no wakeups); a configured interval stays SSH's
ssh_alias kadefault MAIN
ssh_alias kaset OTHER "ServerAliveInterval 7"
T=60 serve_raw <<SCRIPT
call 1 execute_command {"host":"kadefault","command":"echo up"}
call 2 execute_command {"host":"kaset","command":"echo up"}
shell ss -tnoe state established "( dport = :$MAIN_PORT )" >"$FIX/ss.default"; ss -tnoe state established "( dport = :$OTHER_PORT )" >"$FIX/ss.set"
SCRIPT
check_eq "$(jget 1 'sc.get("output","").strip()'):$(jget 2 'sc.get("output","").strip()')" "up:up" "keepalives: both sessions answer"
check_contains "$(cat "$FIX/ss.default")" "timer:(keepalive," "default keepalive: the session's socket has TCP keepalives (ss -o)"
check_not_contains "$(cat "$FIX/ss.set")" "timer:(keepalive," "ServerAliveInterval 7: SSH keepalives, no TCP ones"

# --- idle sessions cost no wakeups: 20 open, the server sleeps through 12 idle seconds (past
# the setup's 10 s deadline, which used to stay armed; voluntary context switches: one per
# wake of the loop)
{
	for i in $(seq 1 20); do
		echo "call $i execute_command {\"host\":\"kadefault\",\"command\":\"true\",\"session\":\"idle$i\"}"
	done
	echo 'sleep 0.5'
	echo "shell a=\$(awk '/^voluntary_ctxt_switches/ {print \$2}' /proc/\$SERVE_PID/status); sleep 12; b=\$(awk '/^voluntary_ctxt_switches/ {print \$2}' /proc/\$SERVE_PID/status); echo \$((b - a)) >'$FIX/wakes'"
} >"$FIX/idle.script"
T=120 serve_raw <"$FIX/idle.script"
check_eq "$(jget 20 'sc.get("exit_code")')" "0" "idle: 20 sessions opened"
if [ "$(cat "$FIX/wakes" 2>/dev/null)" -le 2 ] 2>/dev/null; then ok "idle: 20 open sessions, 12 s: the loop slept ($(cat "$FIX/wakes") wakes)"
else fail "idle: 20 open sessions, 12 s: the loop slept" "$(cat "$FIX/wakes" 2>/dev/null) wakes"; fi
