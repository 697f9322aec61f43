#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 61-audit-secrets: the operator's record (issue 8, SPEC §3) is complete, tamper-evident and
# free of secrets:
#   * tests/mcp/audit.mjs drives `sshmcp serve` (raw JSON lines, all stdout kept) through a
#     password login, a wrong password, an encrypted key with its passphrase, sudo_password,
#     secret send_input and command lines with mysql -p / --password= / password= /
#     Authorization: secrets, sampling `ps` all along; checks audit fields, statuses, the hash
#     chain, appending across runs, and SIGTERM / SIGINT / EOF with commands running;
#   * `sshmcp exec` does the same with SSHMCP_PASSWORD / SSHMCP_PASSPHRASE, -v -E and a config
#     with Audit;
#   * every file sshmcp wrote (stdout, stderr, logs, audit logs) is grepped for every secret:
#     0 hits; audit logs are 0600 even under umask 000;
#   * `sshmcp audit-verify` accepts the real logs and finds edited, deleted, reordered and
#     inserted lines.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

sshd_start MAIN
trust MAIN
ssh_alias h MAIN
ssh_alias pwh MAIN '#noidentity'
ssh_alias enc MAIN '#noidentity'
ssh_config_raw "Host dead
  HostName 127.0.0.1
  Port $(free_port)
  User $T_USER
  IdentityFile $KEY_DEFAULT
  ConnectTimeout 3"
W=$FIX/written               # everything sshmcp writes in this test goes here
mkdir -p "$W"
printf 'DenyCommand ^rm( |$)\n' >"$FIX/deny.conf"

# secrets, each unique so that a hit says where it came from
S_TYPED='Typed-S3cret-7781'
S_WRONG='Wr0ng-Secret-Pw-4410'
S_MYSQL='MyS9lSecret55'
S_MYSQLLONG='MyLongPwSecret66'
S_BEARER='AuthT0kenSecret99'
S_PWASSIGN='PwEqSecret42'
KEYLINE_ENC=$(sed -n 3p "$KEY_ENC")          # a line of private key material
KEYLINE_PLAIN=$(sed -n 3p "$KEY_DEFAULT")

# sudo rules for this run: whoami with a password (as in 21-mcp-shell)
printf 'Defaults:%s !lecture, timestamp_timeout=0\n%s ALL=(root) /usr/bin/whoami\n' "$T_USER" "$T_USER" >"$FIX/sudoers"
sudo_rules "$FIX/sudoers"

# ================================================================ serve (MCP) ===
mcp_need_node
MCP_SECRETS=$(python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
	typed "$S_TYPED" wrong "$S_WRONG" mysql "$S_MYSQL" mysqllong "$S_MYSQLLONG" bearer "$S_BEARER" pwassign "$S_PWASSIGN")
export MCP_SECRETS MCP_FIX="$FIX" T_USER T_PASS T_PASSPHRASE KEY_ENC MCP_SUDO MCP_SERVER_LOG="$W/driver-stderr.log"
umask 000        # audit logs must still be 0600
T=500 mcp_scenarios "$MCP_DIR/audit.mjs"
umask 022

# ======================================================================= exec ===
exec_run() {   # NAME ARGS...: mcp ARGS, stdout/stderr kept in $W/exec-NAME.{out,err}
	local n=$1; shift
	mcp "$@"; cp "$FIX/out" "$W/exec-$n.out"; cp "$FIX/err" "$W/exec-$n.err"
}
printf 'Audit %s\nLog %s\n' "$W/exec.audit" "$W/exec-config.log" >"$FIX/exec.conf"
export SSHMCP_CONFIG=$FIX/exec.conf
(umask 000; SSHMCP_PASSWORD=$T_PASS exec_run pw -v -E "$W/exec-pw.log" pwh "whoami; mysql -u root -p$S_MYSQL -e 'select 1' >/dev/null 2>&1; echo done")
SSHMCP_PASSWORD=$T_PASS mcp -v -E "$W/exec-pw2.log" pwh "whoami; mysql -u root -p$S_MYSQL -e 'select 1' >/dev/null 2>&1; echo done"
check_eq "$RC:$OUT" "0:$T_USER"$'\n'"done" "exec: password login from SSHMCP_PASSWORD runs the command"
cp "$FIX/out" "$W/exec-pw2.out"; cp "$FIX/err" "$W/exec-pw2.err"
SSHMCP_PASSWORD=$S_WRONG exec_run wrong -v -E "$W/exec-wrong.log" pwh true
check_exit "$RC" 255 "exec: a wrong SSHMCP_PASSWORD → 255"
SSHMCP_PASSPHRASE=$T_PASSPHRASE exec_run pp -v -E "$W/exec-pp.log" -i "$KEY_ENC" enc echo key-ok
check_eq "$RC:$OUT" "0:key-ok" "exec: encrypted key with SSHMCP_PASSPHRASE"
SSHMCP_PASSPHRASE=$S_WRONG exec_run ppbad -v -E "$W/exec-ppbad.log" -i "$KEY_ENC" enc echo no
check_exit "$RC" 255 "exec: a wrong passphrase → 255"
exec_run shapes -v h "curl -s -m 2 -H 'Authorization: Bearer $S_BEARER' http://127.0.0.1:9/ >/dev/null 2>&1; : password=$S_PWASSIGN; mysql --password=$S_MYSQLLONG >/dev/null 2>&1; echo ok"
check_eq "$OUT" "ok" "exec: a command with secret shapes runs"
unset SSHMCP_CONFIG
if [ -s "$W/exec.audit" ]; then
	ok "exec: Audit in the config → exec writes the audit log ($(wc -l <"$W/exec.audit") lines)"
	check_contains "$(cat "$W/exec.audit")" "mysql" "exec: the audit log has the mysql command (redacted)"
else fail "exec: Audit in the config → exec writes the audit log" "$(ls -l "$W")"; fi

# ========================================================= the secrets grep ===
note "files sshmcp wrote: $(cd "$W" && find . -type f | sort | tr '\n' ' ')"
[ "$(find "$W" -name '*.stdout' -size +0 | wc -l)" -ge 5 ] && [ -s "$W/secrets.log" ] && [ -s "$W/secrets.audit" ] &&
	ok "the grep covers the servers' stdout, stderr, logs and audit logs" ||
	fail "the grep covers the servers' stdout, stderr, logs and audit logs" "$(ls -l "$W")"
for pair in "login password:$T_PASS" "key passphrase:$T_PASSPHRASE" "typed secret:$S_TYPED" \
	"wrong password/passphrase:$S_WRONG" "mysql -p:$S_MYSQL" "mysql --password=:$S_MYSQLLONG" \
	"Authorization: header:$S_BEARER" "password= in a command:$S_PWASSIGN" \
	"encrypted private key material:$KEYLINE_ENC" "private key material:$KEYLINE_PLAIN"; do
	what=${pair%%:*} sec=${pair#*:}
	hits=$(grep -rlF -- "$sec" "$W" 2>/dev/null | sed "s|$W/||")
	if [ -z "$hits" ]; then ok "secrets grep: the $what appears in no file sshmcp wrote"
	else fail "secrets grep: the $what appears in no file sshmcp wrote" "found in: $hits
$(grep -rhF -- "$sec" "$W" | head -n 3 | cut -c1-300)"; fi
done

# =============================================================== the files ===
for f in "$W"/*.audit; do
	m=$(stat -c %a "$f")
	check_eq "$m" 600 "$(basename "$f") has mode 0600 (created under umask 000)"
done
install -m 644 /dev/null "$W/pre.audit"
T=10 run "$SSHMCP" serve --audit "$W/pre.audit"
check_eq "$RC:$(stat -c %a "$W/pre.audit")" "2:644" "an existing 0644 audit file is refused (exit 2), its mode left alone"
check_contains "$ERR" "chmod 600" "  … saying what to do"
rm -f "$W/pre.audit"
if [ -s "$W/secrets.log" ]; then
	badlog=$(grep -v -E '\[req [^]]+\]' "$W/secrets.log" | head -n 5)
	if [ -z "$badlog" ]; then ok "every --log line carries a request id ([req ID]) ($(wc -l <"$W/secrets.log") lines)"
	else fail "every --log line carries a request id" "$badlog"; fi
fi

# ============================================================ audit-verify ===
for f in "$W"/*.audit; do
	[ -s "$f" ] || continue
	n=$(wc -l <"$f")
	T=10 run "$SSHMCP" audit-verify "$f"
	check_eq "$RC:${OUT##*: }" "0:$n lines, chain intact" "audit-verify $(basename "$f") → 0, '$n lines, chain intact'"
done
A=$W/fields.audit
n=$(wc -l <"$A")
if [ "$n" -lt 5 ]; then fail "fields.audit has 5+ lines to tamper with" "$n lines"
else
	# tamper DESC WANT-RE PROGRAM...: a copy of $A (with its key and head) changed by PROGRAM;
	# audit-verify must exit 1 with WANT-RE in what it says
	tamper() {
		local desc=$1 want=$2; shift 2
		cp "$A.key" "$FIX/tampered.audit.key"; cp "$A.head" "$FIX/tampered.audit.head"
		"$@" <"$A" >"$FIX/tampered.audit"
		chmod 600 "$FIX/tampered.audit"
		if cmp -s "$A" "$FIX/tampered.audit"; then fail "tamper: $desc" "the tampering changed nothing (test bug)"; return; fi
		T=10 run "$SSHMCP" audit-verify "$FIX/tampered.audit"
		if [ "$RC" = 1 ] && grep -qE "$want" <<<"$OUT$ERR"; then ok "audit-verify: $desc → exit 1 ($(head -c 90 <<<"$OUT"))"
		else fail "audit-verify: $desc → exit 1 matching /$want/" "$(_last)"; fi
	}
	last=$n
	tamper "exit_code edited in line 2" ':2: line 2 ' sed '2s/"exit_code":[-0-9a-z]*/"exit_code":0/; 2s/"bytes":[0-9]*/"bytes":999/'
	tamper "command edited in line 3" ':3: line 3 ' sed '3s/"command":"/"command":"X/'
	tamper "one character of the first line's time changed" ':1: line 1 ' sed '1s/"time":"2/"time":"1/'
	tamper "the last line's status edited" ":$last: line $last " sed "${last}s/\"status\":\"[a-z]*\"/\"status\":\"completed\"/; ${last}s/\"bytes\":[0-9]*/\"bytes\":1/"
	tamper "line 3 deleted" ':3: line 3 ' sed 3d
	tamper "lines 2 and 3 swapped" ':2: line 2 ' awk 'NR==2{h=$0;next} NR==3{print; print h; next} 1'
	tamper "a forged line inserted after line 2" ':3: line 3 ' sed '2a {"seq":3,"time":"2020-01-01T00:00:00Z","request_id":"x","host":"h","user":"u","session":"s","command":"true","status":"completed","exit_code":0,"bytes":0,"duration_ms":1,"mac":"0000000000000000000000000000000000000000000000000000000000000000"}'
	tamper "whitespace added inside line 4" ':4: line 4 ' sed '4s/,/, /'
	tamper "a non-JSON line" ':2: line 2 ' sed '2s/.*/garbage/'
	tamper "the last line removed (truncated)" 'truncated' sed '$d'
	tamper "the last two lines removed (truncated)" 'truncated' head -n -2
	tamper "the file emptied" 'emptied' true
	# without the key, nobody can recompute the chain: a copy whose lines were rewritten
	# with a key of its own does not verify under ours
	cp "$A.key" "$FIX/tampered.audit.key"; cp "$A.head" "$FIX/tampered.audit.head"; cp "$A" "$FIX/tampered.audit"
	rm -f "$FIX/tampered.audit.head"
	T=10 run "$SSHMCP" audit-verify "$FIX/tampered.audit"
	if [ "$RC" = 1 ] && [[ $OUT == *"head"* ]]; then ok "audit-verify: the head removed → exit 1 naming the head"
	else fail "audit-verify: the head removed → exit 1 naming the head" "$(_last)"; fi
	# a server refuses to append to a tampered file, and says why
	cp "$A.key" "$FIX/tampered.audit.key"; cp "$A.head" "$FIX/tampered.audit.head"
	sed '$d' <"$A" >"$FIX/tampered.audit"; chmod 600 "$FIX/tampered.audit"
	T=10 run "$SSHMCP" serve --audit "$FIX/tampered.audit"
	check_exit "$RC" 2 "serve refuses to append to a truncated audit file (exit 2)"
	check_contains "$ERR" "does not match its head" "  … naming the mismatch"
	: >"$FIX/tampered.audit"
	T=10 run "$SSHMCP" serve --audit "$FIX/tampered.audit"
	check_exit "$RC" 2 "serve refuses to append to an emptied audit file (exit 2)"
	check_contains "$ERR" "emptied" "  … saying it was emptied"
fi

# SIGKILL: the started line was written before the command went out, the head after it, so
# the file verifies and a new server appends to it
K=$W/kill.audit
coproc KS { exec "$SSHMCP" serve --audit "$K" 2>"$W/kill.stderr"; }
kpid=$KS_PID
_track "$kpid"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
	'{"jsonrpc":"2.0","method":"notifications/initialized"}' \
	'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"execute_command","arguments":{"host":"h","command":"sleep 30.7'$$'","wait":1}}}' >&"${KS[1]}"
wait_for 20 grep -q '"started"' "$K"
sleep 1.5
kill -KILL "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
pkill -KILL -u "$T_USER" -f "sleep 30.7$$" 2>/dev/null
check_contains "$(cat "$K" 2>/dev/null)" "sleep 30.7$$" "SIGKILLed server: the running command is in the audit (its started line)"
T=10 run "$SSHMCP" audit-verify "$K"
check_eq "$RC:${OUT##*: }" "0:1 lines, chain intact" "SIGKILLed server: audit-verify → intact (1 line)"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
	'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"execute_command","arguments":{"host":"h","command":"echo after-kill"}}}' |
	T=30 run "$SSHMCP" serve --audit "$K"
check_eq "$RC" 0 "SIGKILLed server: a new server appends to the same audit file"
T=10 run "$SSHMCP" audit-verify "$K"
check_eq "$RC:${OUT##*: }" "0:3 lines, chain intact" "  … and the chain still verifies (3 lines)"
T=10 run "$SSHMCP" audit-verify "$FIX/no-such.audit"
if [ "$RC" != 0 ]; then ok "audit-verify of a missing file → non-zero ($RC)"; else fail "audit-verify of a missing file → non-zero" "$(_last)"; fi
