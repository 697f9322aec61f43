#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 14-servers: the same user talks to a Dropbear server and to an OpenSSH server inside a network
# namespace reached by its own address — exec behaves the same everywhere.
. "$(dirname "$0")/lib.sh"

# --- Dropbear: key and password login, exit status, stdin, stderr
dropbear_start DB
trust DB
ssh_alias hdb DB
ossh hdb echo SSH-OK
check_eq "$OUT" SSH-OK "fixture: ssh logs in to dropbear"
mcp hdb whoami
check_eq "$OUT" "$T_USER" "dropbear: key login"
mcp hdb 'exit 3'
check_exit "$RC" 3 "dropbear: exit 3 → 3"
mcp hdb 'no-such-command-sshmcp'
check_exit "$RC" 127 "dropbear: unknown command → 127"
mcp hdb cat < <(printf 'a\nb')
check_file_eq "$FIX/out" $'a\nb' "dropbear: stdin forwarded exactly"
# -q: this Dropbear has no post-quantum key exchange, so sshmcp warns about it as OpenSSH 10.1
# does; here only the remote stderr counts
mcp -q hdb 'echo out; echo err >&2'
check_file_eq "$FIX/out" $'out\n' "dropbear: stdout"
check_file_eq "$FIX/err" $'err\n' "dropbear: stderr kept apart"
mcp -t hdb 'test -t 0 && echo TTY || echo NOTTY'
check_contains "$OUT" TTY "dropbear: -t gives a tty"
check_not_contains "$OUT" NOTTY "dropbear: -t, not NOTTY"
head -c 5M /dev/urandom >"$FIX/rand5"
T=120 run sh -c '"$1" exec hdb cat <"$2" | sha256sum' sh "$SSHMCP" "$FIX/rand5"
check_eq "${OUT%% *}" "$(sha256sum <"$FIX/rand5" | cut -d' ' -f1)" "dropbear: 5 MB through cat, same sha256"
ssh_alias hdbpw DB '#noidentity'
SSHMCP_PASSWORD=$T_PASS mcp hdbpw whoami
check_eq "$OUT" "$T_USER" "dropbear: password login"
SSHMCP_PASSWORD=wrong mcp hdbpw whoami
check_exit "$RC" 255 "dropbear: wrong password → 255"
mark="sleep 31.$$"
mcp --timeout 2 hdb "$mark"
check_exit "$RC" 124 "dropbear: --timeout → 124"
if wait_for 10 test -z "$(remote_pids "$mark")"; then ok "dropbear: the remote sleep is gone"
else
	fail "dropbear: the remote sleep is gone" "$(remote_pids "$mark")"
	for p in $(remote_pids "$mark"); do kill "$p" 2>/dev/null; done
fi

# --- a host in its own network namespace, by address, port 22
netns_start NS
trust NS
mcp -l "$T_USER" -i "$KEY_DEFAULT" "$NS_ADDR" 'echo $SSH_CONNECTION'
check_eq "$(awk '{print $3, $4}' <<<"$OUT")" "$NS_ADDR 22" "netns host by address: connected to $NS_ADDR port 22"
mcp -i "$KEY_DEFAULT" "$T_USER@$NS_ADDR" 'exit 7'
check_exit "$RC" 7 "netns host: exit status"
ssh_alias hns NS
mcp hns cat < <(printf 'x\ny\n')
check_file_eq "$FIX/out" $'x\ny\n' "netns host by alias: stdin"
# nothing listens on another port there: refused, with the namespace address in the message
mcp -p 2222 hns true
check_exit "$RC" 255 "netns host, closed port → 255"
check_eq "$ERR" "sshmcp: connect to host $NS_ADDR port 2222: Connection refused" "netns host, closed port: the ssh-style message"
