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
