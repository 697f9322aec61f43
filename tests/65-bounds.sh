#!/bin/bash
# 65-bounds: the server's own surface against a hostile agent. Every tool argument is
# bounded and checked, every queue is bounded where it fills, and what reaches the operator
# (output, logs, banners) is clean text. One section per finding of the review that asked
# for it:
#   1 control bytes in sudo file paths       7 agent text raw in --log
#   2 key_filename: FIFO, /dev/zero, 5 GB    8 C1, DEL, BS, DCS in output; exec's banner
#   3 1,500 status calls, stdout unread      9 unterminated OSC; "abc ESC" and the nonce
#   4 execute_on_hosts past MaxSessions     10 --audit and --log through symlinks
#   5 AllowHost: port, case, user; SSHMCP_PASSWORD; elicitation vs StrictHostKeyChecking
#   6 wildcard host names into known_hosts
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
sshd_start OTHER
trust MAIN
trust OTHER
ssh_alias h MAIN
ssh_alias fx MAIN
ssh_alias pw-named MAIN '#noidentity' 'PubkeyAuthentication no'
ssh_config_raw "Host fa*
  HostName 127.0.0.1
  Port $MAIN_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT"
CONF=$FIX/sshmcp.conf
: >"$CONF"

J() { "$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
kh_sum() { sha256sum "$KNOWN_HOSTS" | cut -d' ' -f1; }

# ======================================== 1. control bytes in sudo file paths ===
# The terminal edits a typed line before the shell reads it: Ctrl-U erases what came before,
# CR ends the line. A path is a name, so any control byte in it is refused, sudo or not,
# --read-only or not, before anything is staged or typed.
CANARY=$FIX/canary
install -d -m 777 "$FIX/pub"
staged() { find /tmp -maxdepth 1 -name '.sshmcp-sudo-*' -user "$T_USER" 2>/dev/null | sort; }
staged_before=$(staged)     # other runs' leftovers are not this test's
tried=0
for ctl in $'\x15' $'\r' $'\x03' $'\x1b' $'\x7f' $'\t' $'\x00'; do
	[ "$ctl" = "" ] && ctl=$'\x01'      # bash strings stop at NUL: \x01 stands in
	p="$FIX/pub/x${ctl}touch $CANARY"
	jp=$(J "$p")
	for ro in "" --read-only; do
		printf 'call r read_file {"host":"h","path":%s,"sudo":true}\ncall w write_file {"host":"h","path":%s,"content":"x","sudo":true}\n' \
			"$jp" "$jp" | serve_raw $ro
		name=$(printf '%q' "$ctl")
		check_eq "$(jget r err)" SSHMCP_ERR_USAGE "sudo read_file, path with $name${ro:+ ($ro)}: refused as a usage error"
		want=SSHMCP_ERR_USAGE
		check_eq "$(jget w err)" "$want" "sudo write_file, path with $name${ro:+ ($ro)}: refused as a usage error"
		tried=$((tried + 1))
	done
done
check_eq "$(ls "$CANARY" 2>/dev/null)" "" "sudo paths: no command ran from a path ($tried servers)"
check_eq "$(comm -13 <(echo "$staged_before") <(staged))" "" \
	"sudo paths: no staged /tmp/.sshmcp-sudo-* file left behind"
# a plain path still works under sudo's rules (no rules here: sudo fails, but as sudo's failure)
printf 'call r read_file {"host":"h","path":"/etc/hostname"}\n' | serve_raw
check_eq "$(jget r 'sc.get("content") is not None')" true "a clean path is read as before"

# ============================================= 2. key files that never end ===
# The agent names key_filename: opened O_NONBLOCK|O_NOFOLLOW, a regular file of at most
# 64 KiB, read once. A FIFO, /dev/zero or a 5 GB sparse file must not freeze the loop (ping
# answers at once), spin, or take memory; like ssh -i, the file is skipped with a warning.
mkfifo "$FIX/keyfifo"
truncate -s 5G "$FIX/keysparse"
ln -s "$KEY_DEFAULT" "$FIX/keylink"
cat >"$FIX/s2" <<EOF
send 1 execute_command {"host":"h","command":"echo one","key_filename":"$FIX/keyfifo","session":"k1"}
ping p1
send 2 execute_command {"host":"h","command":"echo two","key_filename":"/dev/zero","session":"k2"}
ping p2
send 3 execute_command {"host":"h","command":"echo three","key_filename":"$FIX/keysparse","session":"k3"}
ping p3
send 4 execute_command {"host":"h","command":"echo four","key_filename":"$FIX/keylink","session":"k4"}
ping p4
wait 1
wait 2
wait 3
wait 4
rss
EOF
serve_raw <"$FIX/s2"
for i in 1 2 3 4; do
	ms=$(jget p$i 'r["ms"]')
	if [ "${ms:-99999}" -lt 2000 ] 2>/dev/null; then ok "key file $i: ping answered at once (${ms} ms)"
	else fail "key file $i: ping answered at once" "ms=$ms $(_last)"; fi
done
check_eq "$(jget 1 'sc.get("output")')" "one" "FIFO key_filename: skipped, the command still runs (config's key)"
check_eq "$(jget 2 'sc.get("output")')" "two" "/dev/zero key_filename: skipped, the command runs"
check_eq "$(jget 3 'sc.get("output")')" "three" "5 GB sparse key_filename: skipped, the command runs"
check_contains "$ERR" "keyfifo not accessible: not a regular file" "FIFO: the warning says why"
check_contains "$ERR" "/dev/zero not accessible: not a regular file" "/dev/zero: the warning says why"
check_contains "$ERR" "keysparse not accessible: larger than a key file can be" "sparse: the warning says why"
check_contains "$ERR" "keylink not accessible" "serve: a key_filename that is a symlink is not followed"
rss=$(awk '/^rss /{print $3}' "$FIX/out")
if [ "${rss:-999999}" -lt 65536 ]; then ok "key files: the server's peak memory stayed small (${rss} KiB)"
else fail "key files: the server's peak memory stayed small" "VmHWM ${rss} KiB"; fi

# ============================================ 3. requests while stdout is unread ===
# 1,500 get_command_status calls of 256 KiB each in one write (~900 MB of answers), the
# client reading nothing for 4 s: the server stops taking requests at SSHMCP_OUTQ_MAX
# (64 MiB) and leaves the rest unread; once the client reads, every call is answered.
cat >"$FIX/s3" <<'EOF'
call 1 execute_command {"host":"h","command":"seq 1 300000"}
flood F 1500 get_command_status {"command_id":"c1","max_bytes":262144}
stall 4
rss
waitall F
rss
ping 2
EOF
T=240 serve_raw <"$FIX/s3"
read -r _ rss1 hwm1 < <(grep '^rss ' "$FIX/out" | head -1)
read -r _ _ hwm2 < <(grep '^rss ' "$FIX/out" | tail -1)
# 160 MiB: the 64 MiB queue, the answer being built, the requests held. An ASan build
# keeps freed chunks (redzones, quarantine, no return to the kernel): twice that.
LIMIT=163840
if [ "$ASAN_BUILD" = 1 ]; then LIMIT=327680; fi
if [ "${hwm1:-999999}" -lt "$LIMIT" ]; then ok "stdout unread: memory stays bounded while 1,500 answers wait (peak ${hwm1} KiB)"
else fail "stdout unread: memory stays bounded" "rss=$rss1 hwm=$hwm1 KiB (limit $LIMIT)"; fi
if [ "${hwm2:-999999}" -lt "$LIMIT" ]; then ok "stdout read again: still bounded after all were written (peak ${hwm2} KiB)"
else fail "stdout read again: still bounded" "hwm=$hwm2 KiB (limit $LIMIT)"; fi
check_eq "$(awk '/^answered F /{print $3, $4}' "$FIX/out")" "1500 0" "every one of the 1,500 calls is answered, none with an error"
check_eq "$(jget 2 '"ok" if "result" in r else r')" ok "ping answered after the flood"

# ================================== 4. execute_on_hosts within MaxSessions ===
# 48 hosts with MaxSessions 2 and MaxCommands 2: never more than 2 connections at once;
# the rest wait for a slot and all complete.
printf 'MaxSessions 2\nMaxCommands 2\n' >"$FIX/limits.conf"
count_conns() { ss -Htn state established "( dport = :$MAIN_PORT )" 2>/dev/null | wc -l; }
: >"$FIX/conns"
( for _ in $(seq 1 1200); do count_conns >>"$FIX/conns"; sleep 0.05; done ) &
sampler=$!
_track "$sampler"
printf 'call 1 execute_on_hosts {"hosts":"fa[1-48]","command":"sleep 0.2; echo done","timeout":120,"max_parallel":48}\n' |
	T=180 serve_raw --config "$FIX/limits.conf"
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
peak=$(sort -n "$FIX/conns" | tail -1)
samples=$(grep -vc '^0$' "$FIX/conns")
if [ "${peak:-99}" -le 2 ] && [ "$samples" -gt 5 ]; then ok "execute_on_hosts, 48 hosts: at most 2 connections at once (peak $peak, $samples busy samples)"
else fail "execute_on_hosts, 48 hosts: at most 2 connections at once" "peak $peak, $samples busy samples"; fi
check_eq "$(jget 1 '[sc.get("hosts"), sc.get("failed"), sum(x["stdout"] == "done\n" for x in sc.get("results", []))]')" \
	"[48, 0, 48]" "execute_on_hosts: all 48 complete"

# ================================================== 5. AllowHost judges targets ===
log_mark OTHER
cat >"$FIX/s5" <<EOF
call 1 execute_command {"host":"fx","command":"echo in"}
call 2 execute_command {"host":"fx","port":$OTHER_PORT,"command":"echo moved"}
call 3 execute_command {"host":"FX","command":"echo case"}
call 4 execute_command {"host":"fx","username":"root","command":"echo user"}
call 5 read_file {"host":"fx","port":$OTHER_PORT,"path":"/etc/hostname"}
call 6 execute_on_hosts {"hosts":["fx","FX"],"command":"echo fan"}
EOF
serve_raw --allow-host fx <"$FIX/s5"
check_eq "$(jget 1 'sc.get("output")')" "in" "AllowHost fx: fx itself runs"
check_eq "$(jget 2 err)" SSHMCP_ERR_POLICY "AllowHost fx: port $OTHER_PORT (another server) is refused"
check_eq "$(jget 3 err)" SSHMCP_ERR_POLICY "AllowHost fx: FX (skips Host fx, a different target) is refused"
check_eq "$(jget 4 err)" SSHMCP_ERR_POLICY "AllowHost fx: another user is refused"
check_eq "$(jget 5 err)" SSHMCP_ERR_POLICY "AllowHost fx: read_file on another port is refused"
check_eq "$(jget 6 '[x["host"] + ":" + str(x["exit_code"]) + ":" + str(x.get("error_code")) for x in sc.get("results", [])]')" \
	'["fx:0:None", "FX:126:SSHMCP_ERR_POLICY"]' "AllowHost fx: execute_on_hosts runs fx, refuses FX"
sleep 0.3
check_not_contains "$(log_since OTHER)" "Connection from" "AllowHost: the other server never saw a connection"

# SSHMCP_PASSWORD goes only to a target ssh_config names, as named
log_mark MAIN
printf 'call 1 execute_command {"host":"pw-named","command":"echo pw"}\n' |
	SSHMCP_PASSWORD=$T_PASS serve_raw
check_eq "$(jget 1 'sc.get("output")')" "pw" "SSHMCP_PASSWORD: used for pw-named (named by ssh_config)"
check_contains "$(log_since MAIN)" "Accepted password for $T_USER" "  … sshd accepted it"
for c in "{\"host\":\"127.0.0.1\",\"port\":$MAIN_PORT,\"username\":\"$T_USER\",\"command\":\"echo x\"}" \
	"{\"host\":\"pw-named\",\"username\":\"$T_USER\",\"command\":\"echo x\"}" \
	"{\"host\":\"pw-named\",\"port\":$MAIN_PORT,\"command\":\"echo x\"}"; do
	log_mark MAIN
	printf 'call 1 execute_command %s\n' "$c" | SSHMCP_PASSWORD=$T_PASS serve_raw
	check_eq "$(jget 1 err)" SSHMCP_ERR_AUTH "SSHMCP_PASSWORD not offered: $c"
	sleep 0.2
	check_not_contains "$(log_since MAIN)" "password for" "  … sshd never saw a password"
done

# elicitation answers only where StrictHostKeyChecking is ask (or unset)
sshd_start NEWKEY
ssh_alias sk-yes NEWKEY 'StrictHostKeyChecking yes'
ssh_alias sk-ask NEWKEY 'StrictHostKeyChecking ask'
before=$(kh_sum)
printf 'send 1 execute_command {"host":"sk-yes","command":"echo x"}\nwait 1\nsend 2 execute_command {"host":"sk-ask","command":"echo x"}\nsleep 3\n' |
	MCP_CAPS='{"elicitation":{}}' serve_raw
cp "$FIX/out" "$FIX/out.elicit"
check_eq "$(jget 1 err)" SSHMCP_ERR_HOSTKEY_UNKNOWN "StrictHostKeyChecking yes: an unknown key is refused"
n_elicit=$(grep -c '"elicitation/create"' "$FIX/out")
check_eq "$n_elicit" 1 "StrictHostKeyChecking yes: no question to the client (one, for sk-ask, the control)"
check_eq "$(kh_sum)" "$before" "StrictHostKeyChecking yes: known_hosts unchanged"

# ============================================= 6. wildcards into known_hosts ===
before=$(kh_sum)
cat >"$FIX/s6" <<'EOF'
call 1 execute_on_hosts {"hosts":["*.lab","!good.lab"],"command":"true"}
call 2 execute_command {"host":"*.lab","command":"true"}
call 3 execute_on_hosts {"hosts":"h,*","command":"true"}
call 4 execute_command {"host":"h\n*","command":"true"}
EOF
serve_raw --accept-new-hostkeys <"$FIX/s6"
check_eq "$(jget 1 err)" SSHMCP_ERR_USAGE "execute_on_hosts [\"*.lab\",\"!good.lab\"]: refused"
check_eq "$(jget 2 err)" SSHMCP_ERR_USAGE "execute_command *.lab: refused"
check_eq "$(jget 3 err)" SSHMCP_ERR_USAGE "execute_on_hosts \"h,*\": refused"
check_eq "$(jget 4 err)" SSHMCP_ERR_USAGE "execute_command with a newline in the host: refused"
check_eq "$(kh_sum)" "$before" "--accept-new-hostkeys: known_hosts unchanged by any of them"
T=20 mcp -o StrictHostKeyChecking=accept-new $'h\n*.lab' true
check_exit "$RC" 2 "exec: a newline in the destination is refused"
check_eq "$(kh_sum)" "$before" "exec: known_hosts unchanged"

# ================================================= 7. agent text in --log ===
LOG=$FIX/serve.log
esc=$'\x1b' bel=$'\x07' cr=$'\r'
cmd="echo \"x${esc}[2J${esc}]0;title${bel}y${cr}FORGED sshmcp: [req 9] c9 completed\""
printf 'call 1 execute_command {"host":"h","command":%s}\n' "$(J "$cmd")" | serve_raw -v --log "$LOG"
check_eq "$(jget 1 'r["result"]["structuredContent"]["status"]')" completed "the command with control bytes ran"
logtext=$(cat "$LOG")
check_not_contains "$logtext" "$esc" "--log: no raw ESC"
check_not_contains "$logtext" "$bel" "--log: no raw BEL"
check_not_contains "$logtext" "$cr" "--log: no raw CR"
check_eq "$(grep -c '^FORGED' "$LOG")" 0 "--log: no forged line"
check_contains "$logtext" '\033[2J' "--log: ESC written as \\033, as OpenSSH's fmprintf does"
check_not_contains "$(cat "$FIX/err")" "$esc" "stderr: no raw ESC either"

# ======================================== 8. controls in output and banners ===
# C1 (U+009B in UTF-8), DEL, BS (outside device mode), a DCS string with its body: dropped
printf '%s\n' 'call 1 execute_command {"host":"h","command":"printf '"'"'A\\302\\233B\\177C\\bD\\033P1;2qbody\\033\\\\E\\n'"'"'"}' |
	serve_raw
check_eq "$(jget 1 'sc.get("output")')" "ABCDE" "output: C1 CSI, DEL, BS and the DCS body are dropped"
check_eq "$(jget 1 'repr(r["result"]["content"][0]["text"])' | grep -c $'\\\\x9b\\|\\\\x7f\\|\\\\x08\\|body')" 0 \
	"text content: none of them either"
# exec's banner: OpenSSH prints a server's banner escaped; so does sshmcp
printf 'Hello \033]0;owned\007 \302\233 2J \177 end\n' >"$FIX/banner"
sshd_start BANNER "Banner $FIX/banner"
trust BANNER
ssh_alias hb BANNER
T=20 mcp hb true
check_exit "$RC" 0 "exec with a banner: runs"
check_not_contains "$ERR" "$esc" "exec banner: no raw ESC on stderr"
check_not_contains "$ERR" $'\xc2\x9b' "exec banner: no raw C1"
check_not_contains "$ERR" $'\x7f' "exec banner: no raw DEL"
check_contains "$ERR" 'Hello \033]0;owned\007' "exec banner: escaped as OpenSSH's fmprintf does"

# ============================================= 9. unterminated escapes ===
cat >"$FIX/s9" <<'EOF'
call 1 execute_command {"host":"h","command":"printf '\\033]0;x'","timeout":20}
call 2 execute_command {"host":"h","command":"echo after"}
call 3 execute_command {"host":"h","command":"printf 'abc\\033'; exit_code_probe=1; (exit 7)"}
call 4 execute_command {"host":"h","command":"printf 'abc\\033'"}
call 5 execute_command {"host":"h","command":"printf 'abc\\033P'"}
call 6 execute_command {"host":"h","command":"echo still"}
EOF
serve_raw <"$FIX/s9"
check_eq "$(jget 1 '[sc.get("status"), sc.get("exit_code"), sc.get("output")]')" '["completed", 0, ""]' \
	"unterminated OSC: the command ends at once with its exit code, nothing of the string shown"
ms=$(jget 1 'r["ms"]')
if [ "${ms:-99999}" -lt 5000 ]; then ok "unterminated OSC: no wait for a terminator that never comes (${ms} ms)"
else fail "unterminated OSC: no wait for a terminator" "ms=$ms"; fi
check_eq "$(jget 2 'sc.get("output")')" "after" "unterminated OSC: the session goes on"
check_eq "$(jget 3 '[sc.get("exit_code"), sc.get("output")]')" '[7, "abc"]' "printf 'abc\\033': the exit code and the text"
check_eq "$(jget 4 '[sc.get("exit_code"), sc.get("output")]')" '[0, "abc"]' "printf 'abc\\033' at the end: exactly abc"
check_eq "$(jget 5 '[sc.get("exit_code"), sc.get("output")]')" '[0, "abc"]' "printf 'abc\\033P' (an open DCS): exactly abc"
check_eq "$(jget 6 'sc.get("output")')" "still" "the session goes on"
check_eq "$(grep -ci 'sshmcp_\|__sshmcp\|\\u0018' "$FIX/out")" 0 "no sentinel or nonce anywhere in the results"

# ============================================ 10. audit and log files ===
printf 'old\n' >"$FIX/target"; chmod 0644 "$FIX/target"
ln -s "$FIX/target" "$FIX/audit-link"
ln -s "$FIX/target" "$FIX/log-link"
serve_raw --audit "$FIX/audit-link" </dev/null
check_contains "$ERR" "audit-link" "--audit through a symlink: refused, naming the file"
check_eq "$(tail -1 "$FIX/out")" "exit 2" "--audit through a symlink: the server does not start (exit 2)"
serve_raw --log "$FIX/log-link" </dev/null
check_contains "$ERR" "log-link" "--log through a symlink: refused"
check_eq "$(stat -c %a "$FIX/target"):$(cat "$FIX/target")" "644:old" "the symlinks' target: mode and content unchanged"
printf '' >"$FIX/shared.audit"; chmod 0644 "$FIX/shared.audit"
serve_raw --audit "$FIX/shared.audit" </dev/null
check_contains "$ERR" "shared.audit" "--audit on a file others can read (0644): refused"
check_eq "$(stat -c %a "$FIX/shared.audit")" 644 "  … and its mode left as it was"
mkfifo "$FIX/fifo.log"
T=10 serve_raw --log "$FIX/fifo.log" </dev/null
check_eq "$(tail -1 "$FIX/out")" "exit 2" "--log on a FIFO: refused at once (no hang)"
