#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $( ) and backquotes are the attacks, meant literally
# 64-injection: a name the caller gives never becomes shell syntax on the machine that runs
# sshmcp. The ssh_config here hands every %-token to /bin/sh (ProxyCommand and Match exec, as
# users write them); a canary file on the local machine shows whether anything ran. Every
# source of a host or user name is tried: exec's destination (user@host, ssh://, -l, -J, -o
# User=/HostName=, -G), ssh_config's own User and HostName, and serve's execute_command,
# read_file, write_file, execute_on_hosts and close_session arguments. Each is refused (exec:
# exit 2 with OpenSSH's words; serve: SSHMCP_ERR_USAGE) and the canary never appears.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
trust MAIN
CANARY=$FIX/canary
TOKLOG=$FIX/tokens.log
ssh_config_raw "Match exec \"echo match %h %n %r %p >>$TOKLOG\"
  SetEnv SSHMCP_MATCHED=1

Host inj-*
  ProxyCommand sh -c \"echo proxy %h %n %r %p >>$TOKLOG; exec nc 127.0.0.1 %p\"
  HostName 127.0.0.1
  Port $MAIN_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT

Host cfguser
  HostName 127.0.0.1
  Port $MAIN_PORT
  User u\$(touch $CANARY)
  IdentityFile $KEY_DEFAULT

Host cfguser-proxy
  ProxyCommand sh -c \"echo proxy %r >>$TOKLOG; exec nc 127.0.0.1 %p\"
  Port $MAIN_PORT
  User u\$(touch\${IFS}$CANARY)
  IdentityFile $KEY_DEFAULT

Host cfghost
  HostName h\$(touch $CANARY)
  Port $MAIN_PORT
  User $T_USER"

canary_clear() { rm -f "$CANARY"; }
canary_check() {   # DESC
	if [ -e "$CANARY" ]; then fail "$1: nothing ran locally" "INJECTED: the canary was created
$(_last)"; else ok "$1: nothing ran locally"; fi
}

# a working baseline: the config runs its ProxyCommand and Match exec with clean names
T=30 mcp inj-a echo reached
check_eq "$RC:$OUT" "0:reached" "baseline: inj-a connects through its ProxyCommand"
check_contains "$(cat "$TOKLOG" 2>/dev/null)" "proxy 127.0.0.1 inj-a $T_USER $MAIN_PORT" "baseline: the tokens reached the shell"

# ================================================================== exec ===
C='$(touch '"$CANARY"')'
B='`touch '"$CANARY"'`'
# each case: the arguments before the command, separated by |
EXEC_CASES=(
	"-l|u$C|inj-a"
	"-l|u$B|inj-a"
	"-l|u;touch $CANARY|inj-a"
	"u$C@inj-a"
	"u$B@inj-a"
	"u\"\$(touch $CANARY)\"@inj-a"
	"ssh://u$C@inj-a"
	"ssh://u$B@inj-a:$MAIN_PORT"
	"inj-$C"
	"inj-$B"
	"inj-a;touch $CANARY"
	"inj-a|touch $CANARY"
	"inj-a&&touch $CANARY"
	"-J|u$C@inj-b|inj-a"
	"-J|inj-$C|inj-a"
	"-o|User=u$C|inj-a"
	"-o|HostName=h$C|inj-a"
	"-G|-l|u$C|inj-a"
	"-G|inj-$C"
	"-G|u$C@inj-a"
	"cfguser-proxy"
	"cfghost"
	"-l|-oProxyCommand=touch|inj-a"
)
for c in "${EXEC_CASES[@]}"; do
	canary_clear
	IFS='|' read -ra args <<<"$c"
	[ "$c" = "inj-a|touch $CANARY" ] && args=("$c")
	T=20 mcp "${args[@]}" true
	show=$(printf '%q ' "${args[@]}" | head -c 90)
	if [ "$RC" != 0 ] && [[ $ERR == *"invalid characters"* || $ERR == *"starts with '-'"* ||
		$ERR == *"bad destination"* ]]; then
		ok "exec $show → refused naming the invalid characters or the bad destination (exit $RC)"
	else fail "exec $show → refused naming the invalid characters or the bad destination" "$(_last)"; fi
	canary_check "exec $(head -c 60 <<<"$show")"
done
# a User that ssh_config itself sets is the operator's, trusted as OpenSSH trusts it: sent to
# the server as a name (here: refused there), never to a shell
canary_clear
T=20 mcp cfguser true
check_exit "$RC" 255 "exec cfguser: the config's own User goes to the server as a name (auth fails there)"
canary_check "exec cfguser"
# a newline in the destination: refused, and nothing lands in known_hosts as a pattern
canary_clear
T=20 mcp -o StrictHostKeyChecking=accept-new $'inj-a\n*' true
check_contains "$ERR" "invalid characters" "exec: a newline in the destination is refused"
check_not_contains "$(cat "$KNOWN_HOSTS")" '*' "exec: known_hosts gained no wildcard line"
# -E, -F and -i take paths, not names; a host list expands to names that are each checked
T=20 mcp -H "inj-a,inj-$C" true
check_contains "$ERR" "invalid characters" "exec -H: a bad name in the host list is refused"
canary_check "exec -H"

# ================================================================= serve ===
# serve CALLS...: one sshmcp serve, initialize, then each JSON tools/call line; responses in OUT
serve() {
	{
		printf '%s\n' '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
		local i=1 c
		for c in "$@"; do
			printf '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":%s}\n' "$i" "$c"
			i=$((i + 1))
		done
	} | T=60 run "$SSHMCP" serve
}
J() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
SERVE_NAMES=("u$C" "u$B" "u;touch $CANARY" "-oProxyCommand=x" "u\$(id)" "u"$'\n'"x")
SERVE_HOSTS=("inj-$C" "inj-$B" "inj-a;touch $CANARY" "*.lab" "!inj-a" "-oProxyCommand=x" 'inj-a\x' "inj-a'x")
calls=()
for u in "${SERVE_NAMES[@]}"; do
	ju=$(J "$u")
	calls+=("{\"name\":\"execute_command\",\"arguments\":{\"host\":\"inj-a\",\"username\":$ju,\"command\":\"true\"}}")
	calls+=("{\"name\":\"read_file\",\"arguments\":{\"host\":\"inj-a\",\"username\":$ju,\"path\":\"/etc/hostname\"}}")
	calls+=("{\"name\":\"write_file\",\"arguments\":{\"host\":\"inj-a\",\"username\":$ju,\"path\":\"/tmp/x\",\"content\":\"x\"}}")
done
for h in "${SERVE_HOSTS[@]}"; do
	jh=$(J "$h")
	calls+=("{\"name\":\"execute_command\",\"arguments\":{\"host\":$jh,\"command\":\"true\"}}")
	calls+=("{\"name\":\"read_file\",\"arguments\":{\"host\":$jh,\"path\":\"/etc/hostname\"}}")
	calls+=("{\"name\":\"write_file\",\"arguments\":{\"host\":$jh,\"path\":\"/tmp/x\",\"content\":\"x\"}}")
	calls+=("{\"name\":\"execute_on_hosts\",\"arguments\":{\"hosts\":[$jh],\"command\":\"true\"}}")
	calls+=("{\"name\":\"close_session\",\"arguments\":{\"host\":$jh}}")
done
calls+=("{\"name\":\"execute_command\",\"arguments\":{\"host\":\"cfguser-proxy\",\"command\":\"true\"}}")
calls+=("{\"name\":\"execute_command\",\"arguments\":{\"host\":\"cfghost\",\"command\":\"true\"}}")
canary_clear
serve "${calls[@]}"
python3 - "$FIX/out" "${#calls[@]}" >"$FIX/verdicts" <<'EOF'
import json, sys
want = int(sys.argv[2])
seen = {}
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get('id') in (None, 0):
        continue
    sc = (m.get('result') or {}).get('structuredContent') or {}
    err = sc.get('error') or {}
    ok = (m.get('result') or {}).get('isError') and (err.get('code') in ('SSHMCP_ERR_USAGE', 'SSHMCP_ERR_CONFIG')
        or 'invalid characters' in json.dumps(sc)) or (m.get('error') is not None)
    # execute_on_hosts with a string that expands to nothing bad is fine only if every host failed
    seen[m['id']] = 'refused' if ok else 'NOT refused: ' + json.dumps(m)[:300]
for i in range(1, want + 1):
    print(i, seen.get(i, 'no answer'))
EOF
n=0
while read -r i verdict; do
	n=$((n + 1))
	call=${calls[$((i - 1))]}
	if [ "$verdict" = refused ]; then ok "serve: $(head -c 110 <<<"$call") → refused"
	else fail "serve: $(head -c 110 <<<"$call") → refused" "$verdict"; fi
done <"$FIX/verdicts"
check_eq "$n" "${#calls[@]}" "serve: every call was answered"
canary_check "serve: every argument"
check_not_contains "$(cat "$KNOWN_HOSTS")" '*' "serve: known_hosts gained no wildcard line"
check_not_contains "$(cat "$TOKLOG")" 'touch' "no %-token carrying a command ever reached a shell"
