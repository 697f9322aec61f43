#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ and backticks are meant for the remote shell
# 60-policy: the operator's policy (issue 8, SPEC §3) holds against an adversarial agent, in
# `sshmcp exec` (config from $SSHMCP_CONFIG, refusal = exit 126, one line) and `sshmcp serve`
# (tests/mcp/policy.mjs: tool error SSHMCP_ERR_POLICY naming the rule):
#   * bad config lines stop sshmcp at start-up with exit 2 naming file:line;
#   * 50+ ways to smuggle `rm` past `DenyCommand ^rm( |$)` are refused, and the sentinel file
#     that rm would delete is still there afterwards; harmless lines that merely mention rm run;
#   * an AllowCommand list cannot be escaped with ; && | $( ) ` newline sh -c;
#   * read-only mode refuses write commands (Unix and device) and lets read-only ones run;
#   * AllowHost patterns are matched against the host as the caller names it.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

sshd_start MAIN
trust MAIN
ssh_alias h MAIN
ssh_alias other MAIN
ssh_alias web-one MAIN
ssh_alias web-bad MAIN

# The sentinel: a file the test user could delete, so a smuggled rm that ran is visible.
SDIR=$FIX/sent
install -d -m 755 -o "$T_USER" -g "$T_USER" "$SDIR"
SENT=$SDIR/f
sentinel_reset() {
	rm -rf "${SDIR:?}"/* "$SDIR"/.[!.]* 2>/dev/null
	install -m 644 -o "$T_USER" -g "$T_USER" /dev/null "$SENT"
}
sentinel_reset
subst() { local s=${1//@P@/$SENT}; printf '%s' "${s//@S@/$SDIR}"; }

# cfg NAME LINES...: a config file $FIX/NAME.conf
cfg() { local n=$1; shift; printf '%s\n' "$@" >"$FIX/$n.conf"; echo "$FIX/$n.conf"; }
# pexec CONFIG ARGS...: sshmcp exec under that config
pexec() { SSHMCP_CONFIG=$1 run "$SSHMCP" exec "${@:2}"; }

# ======================================================== bad config lines ===
# Each: "LINES (\n-separated)" and the line number the error must name.
BAD=(
	$'# a comment\n\nBogusKeyword yes|3'
	$'ReadOnly maybe|1'
	$'ReadOnly yes\nAcceptNewHostKeys perhaps|2'
	$'AllowCommand ^(ls|1'
	$'DenyCommand [z-a]|1'
	$'DenyCommand|1'
	$'AllowHost|1'
	$'CommandTimeout abc|1'
	$'CommandTimeout -5|1'
	$'CommandTimeout 0|1'
	$'MaxTimeout 10x|1'
	$'RingSize 12Q|1'
	$'RingSize -1|1'
	$'MaxSessions zero|1'
	$'MaxSessions -3|1'
	$'MaxCommands 1.5|1'
	$'MaxCommandsPerHost many|1'
	$'ReadOnly yes\n\n# ok so far\nReadOnly yes no|4'
	$'Audit|1'
	$'Log|1'
	$'SSHConfig|1'
	$'CommandTimeout 99999999999999999999|1'
)
for b in "${BAD[@]}"; do
	body=${b%|*} line=${b##*|}
	f=$(cfg bad "$body")
	desc=$(printf '%s' "$body" | tail -n 1)
	T=10 run "$SSHMCP" serve --config "$f"
	if [ "$RC" = 2 ] && [[ $ERR == *"$f:$line"* ]]; then ok "serve --config: '$desc' → exit 2 naming $f:$line"
	else fail "serve --config: '$desc' → exit 2 naming file:$line" "$(_last)"; fi
	pexec "$f" h echo never
	if [ "$RC" = 2 ] && [[ $ERR == *"$f:$line"* ]] && [ -z "$OUT" ]; then ok "exec (SSHMCP_CONFIG): '$desc' → exit 2 naming file:$line"
	else fail "exec (SSHMCP_CONFIG): '$desc' → exit 2 naming file:$line, nothing run" "$(_last)"; fi
done
T=10 run "$SSHMCP" serve --config "$FIX/no-such.conf"
check_exit "$RC" 2 "serve --config of a missing file → exit 2"
check_contains "$ERR" "$FIX/no-such.conf" "  … naming the file"

# a good file: case-insensitive keywords, Keyword=value, comments, tabs; the default path
good=$(cfg good '# every keyword' 'allowhost h web-* !web-bad' 'READONLY no' 'AllowCommand=.' \
	$'\tDenyCommand ^rm( |$)' 'CommandTimeout 20' 'MaxTimeout 60' 'RingSize 512K' 'MaxSessions 8' \
	'MaxCommands 8' 'MaxCommandsPerHost 4' "Audit $FIX/good.audit" "Log $FIX/good.log" \
	'AcceptNewHostKeys no' "SSHConfig $SSH_CONFIG")
T=10 run "$SSHMCP" serve --config "$good"
check_exit "$RC" 0 "serve --config with every keyword (mixed case, =, tabs, comments) starts; EOF → exit 0"
pexec "$good" h echo good-config
check_eq "$RC:$OUT" "0:good-config" "exec under the good config runs an allowed command"
mkdir -p "$HOME/.config/sshmcp"
printf 'DenyCommand ^rm( |$)\n' >"$HOME/.config/sshmcp/config"
unset SSHMCP_CONFIG
mcp h rm -f "$SENT"
check_exit "$RC" 126 "exec reads ~/.config/sshmcp/config by default (DenyCommand there → 126)"
printf 'Bogus 1\n' >"$HOME/.config/sshmcp/config"
T=10 run "$SSHMCP" serve
check_exit "$RC" 2 "serve validates the default ~/.config/sshmcp/config too (unknown keyword → 2)"
check_contains "$ERR" "$HOME/.config/sshmcp/config:1" "  … naming ~/.config/sshmcp/config:1"
rm -f "$HOME/.config/sshmcp/config"

# ================================================ smuggling past DenyCommand ===
# @P@ is the sentinel file, @S@ its directory. Every line must be refused (exit 126) and the
# sentinel must survive. The list is shared with tests/mcp/policy.mjs (serve).
SMUGGLE=(
	'rm -f @P@'
	'ls; rm -f @P@'
	'ls;rm -f @P@'
	'ls && rm -f @P@'
	'false || rm -f @P@'
	'ls | rm -f @P@'
	'ls |& rm -f @P@'
	'rm -f @P@ &'
	'ls & rm -f @P@'
	$'ls\nrm -f @P@'
	$'ls;\n\nrm -f @P@'
	$'ls # a comment\nrm -f @P@'
	'echo $(rm -f @P@)'
	'echo `rm -f @P@`'
	'echo "$(rm -f @P@)"'
	'echo "`rm -f @P@`"'
	'echo $(echo $(rm -f @P@))'
	'X=$(rm -f @P@)'
	'export X=$(rm -f @P@)'
	'echo ${X:-$(rm -f @P@)}'
	'echo $(( $(rm -f @P@ ; echo 1) ))'
	'[[ -n $(rm -f @P@) ]]'
	'(rm -f @P@)'
	'( ls; (rm -f @P@) )'
	'{ rm -f @P@; }'
	'if true; then rm -f @P@; fi'
	'for i in 1; do rm -f @P@; done'
	'while true; do rm -f @P@; break; done'
	'case x in x) rm -f @P@;; esac'
	'f() { rm -f @P@; }; f'
	'time rm -f @P@'
	'! rm -f @P@'
	'sh -c "rm -f @P@"'
	"sh -c 'ls; rm -f @P@'"
	"bash -c 'rm -f @P@'"
	"bash -lc 'rm -f @P@'"
	"bash -c -- 'rm -f @P@'"
	"sh -c \"sh -c 'rm -f @P@'\""
	'eval rm -f @P@'
	"eval 'ls; rm -f @P@'"
	'sudo rm -f @P@'
	'sudo -u sshmcpt rm -f @P@'
	'sudo -n -u sshmcpt -- rm -f @P@'
	"sudo sh -c 'rm -f @P@'"
	"su -c 'rm -f @P@' sshmcpt"
	'env X=1 rm -f @P@'
	'env -i rm -f @P@'
	'env -u HOME -- rm -f @P@'
	'X=1 Y=2 rm -f @P@'
	'nohup rm -f @P@'
	'timeout 5 rm -f @P@'
	'timeout -s KILL 5 rm -f @P@'
	'echo @P@ | xargs rm -f'
	'echo @P@ | xargs -I{} rm -f {}'
	'find @S@ -name f -exec rm -f {} \;'
	'find @S@ -name f -exec rm -f {} +'
	'find @S@ -name f -execdir rm -f {} \;'
	"find @S@ -name f -exec sh -c 'rm -f \"\$1\"' _ {} \\;"
	'/bin/rm -f @P@'
	'/usr/bin/rm -f @P@'
	'/usr/bin/../bin/rm -f @P@'
	'/bin//rm -f @P@'
	'command rm -f @P@'
	'command -p rm -f @P@'
	'exec rm -f @P@'
	'exec -a innocent rm -f @P@'
	'builtin eval rm -f @P@'
	'C=rm; $C -f @P@'
	'X=rm; ${X} -f @P@'
	'a=r b=m; $a$b -f @P@'
	'$(echo rm) -f @P@'
	'`echo rm` -f @P@'
	'rm${IFS}-f${IFS}@P@'
	"'rm' -f @P@"
	'"rm" -f @P@'
	'r\m -f @P@'
	'\rm -f @P@'
	"r''m -f @P@"
	'r""m -f @P@'
	"\$'rm' -f @P@"
	"\$'\\x72m' -f @P@"
	$'r\\\nm -f @P@'
	'cat <(rm -f @P@)'
	'ls >(rm -f @P@)'
	$'sh <<EOF\nrm -f @P@\nEOF'
	$'bash <<\'X\'\nls\nrm -f @P@\nX'
	"bash <<< 'rm -f @P@'"
	"echo 'rm -f @P@' | sh"
	"printf 'rm -f @P@\\n' | bash -s"
	'. <(echo rm -f @P@)'
	'source /dev/stdin <<< "rm -f @P@"'
	"trap 'rm -f @P@' EXIT"
	'busybox rm -f @P@'
	$'rm\t-f @P@'
	$'\trm -f @P@'
	'   rm -f @P@'
	'>/dev/null rm -f @P@'
	'2>&1 rm -f @P@'
	'rm -f @P@ 2>/dev/null'
	'coproc rm -f @P@'
	'nice rm -f @P@'
	'nice -n 5 rm -f @P@'
	'setsid rm -f @P@'
	'stdbuf -o0 rm -f @P@'
	'ionice -c3 rm -f @P@'
	'flock /tmp rm -f @P@'
	'chrt -o 0 rm -f @P@'
	'taskset 1 rm -f @P@'
	'script -qc "rm -f @P@" /dev/null'
	'watch -n1 -g rm -f @P@'
	$'echo "x\x15rm -f @P@ #"'
	$'echo \'x\x15rm -f @P@ #\''
	$'echo "x\rrm -f @P@"'
	'echo "unbalanced; rm -f @P@'
	"echo 'unbalanced; rm -f @P@"
	"ls $(printf 'x%.0s' {1..9000}); rm -f @P@"
	"echo $(printf 'A%.0s' {1..20000}); rm -f @P@"
	"ls $(printf ' %.0s' {1..9000}); rm -f @P@"
)
SMUGGLE_N=${#SMUGGLE[@]}
note "$SMUGGLE_N smuggling attempts against DenyCommand ^rm( |$)"
deny=$(cfg deny 'DenyCommand ^rm( |$)')
smuggle_refused=0 smuggle_ran=0
for c in "${SMUGGLE[@]}"; do
	sentinel_reset
	cmd=$(subst "$c")
	show=$(printf '%q' "$c" | head -c 120)
	T=20 pexec "$deny" h "$cmd"
	if [ "$RC" = 126 ] && [ -f "$SENT" ]; then ok "deny rm: $show → refused (126)"; smuggle_refused=$((smuggle_refused + 1))
	elif [ -f "$SENT" ]; then fail "deny rm: $show → refused (126)" "not refused; the sentinel survived (rm did not run or failed)
$(_last)"
	else fail "deny rm: $show → refused (126)" "SMUGGLED: the remote rm ran and deleted the sentinel
$(_last)"; smuggle_ran=$((smuggle_ran + 1)); fi
done
note "deny rm: $smuggle_refused/$SMUGGLE_N refused, $smuggle_ran actually deleted the sentinel"

# the refusal itself: one line, names the rule, nothing reaches the server
sentinel_reset
log_mark MAIN
pexec "$deny" h "ls; rm -f $SENT"
check_exit "$RC" 126 "exec: a refused line → exit 126"
check_one_line "$ERR" "exec: the refusal is one line on stderr"
check_contains "$ERR" 'DenyCommand' "exec: the refusal names the kind of rule"
check_contains "$ERR" '^rm( |$)' "exec: the refusal names the rule's pattern"
check_eq "$OUT" "" "exec: nothing on stdout"
sleep 0.5
check_not_contains "$(log_since MAIN)" "Connection from" "exec: a refused command never connects to the server"

# lookalikes that do not run rm: nothing may delete the sentinel, refused or not
for c in $'ｒｍ -f @P@' $'rⅿ -f @P@' $'r\u200bm -f @P@' 'RM -f @P@' 'rmdir @S@/nonexistent'; do
	sentinel_reset
	T=20 pexec "$deny" h "$(subst "$c")"
	if [ -f "$SENT" ]; then ok "lookalike $(printf '%q' "$c") does not delete the sentinel (exit $RC)"
	else fail "lookalike $(printf '%q' "$c") does not delete the sentinel" "$(_last)"; fi
done

# lines that only mention rm must run: the policy is not "deny everything"
ALLOWED=(
	'echo rm'
	'echo rm -rf /'
	"echo 'a; rm -f @P@'"
	'echo "rm -f @P@ && x"'
	'grep -c rm /etc/hostname'
	'printf "%s\n" firmware alarm'
	'ls @S@ | grep -c f'
	'ls -d @S@ && echo ok'
	'echo rm | wc -c'
	'X=rm; echo X'
	'test -f @P@ && echo yes'
	'ls /usr/bin/rm'
	'find @S@ -name f'
	'sh -c "echo inner"'
)
for c in "${ALLOWED[@]}"; do
	sentinel_reset
	T=20 pexec "$deny" h "$(subst "$c")"
	if [ "$RC" != 126 ] && [ "$RC" != 255 ] && [ -f "$SENT" ]; then ok "deny rm: $(printf '%q' "$c") runs (exit $RC)"
	else fail "deny rm: $(printf '%q' "$c") runs (not a policy refusal)" "$(_last)"; fi
done
# outside the grammar a policy judges (a word made by expanding a variable set on the same
# line, a command substitution): refused whatever the words say, since no rule can see what
# the shell will run there
for c in 'X=rm; echo $X' 'echo $(echo nested)' 'echo `echo nested`' '(exit 3)'; do
	T=20 pexec "$deny" h "$c"
	check_exit "$RC" 126 "deny rm: $(printf '%q' "$c") is outside the grammar: refused"
done

# ================================================ escaping an AllowCommand list ===
allow=$(cfg allow 'AllowCommand ^(ls|echo|cat|grep|wc|true|printf|id|head)( |$)')
ESCAPE=(
	'ls; touch @S@/t'
	'ls && touch @S@/t'
	'ls || touch @S@/t'
	'ls | touch @S@/t'
	$'ls\ntouch @S@/t'
	'echo $(touch @S@/t)'
	'echo `touch @S@/t`'
	'echo "$(touch @S@/t)"'
	"echo x | sh -c 'touch @S@/t'"
	'cat <(touch @S@/t)'
	'ls & touch @S@/t'
	'(touch @S@/t)'
	'{ touch @S@/t; }'
	'ls $(touch @S@/t)'
	'grep x $(touch @S@/t; echo /etc/hostname)'
	'echo ok; eval touch @S@/t'
	'true && env touch @S@/t'
)
for c in "${ESCAPE[@]}"; do
	sentinel_reset
	T=20 pexec "$allow" h "$(subst "$c")"
	if [ "$RC" = 126 ] && [ ! -e "$SDIR/t" ]; then ok "allow list: $(printf '%q' "$c") → refused"
	elif [ -e "$SDIR/t" ]; then fail "allow list: $(printf '%q' "$c") → refused" "ESCAPED: touch ran
$(_last)"
	else fail "allow list: $(printf '%q' "$c") → refused" "$(_last)"; fi
done
for c in 'ls /' 'echo hi | wc -c' 'ls && echo yes' 'grep -c root /etc/passwd' 'cat /etc/hostname; id -u' 'echo "a;b|c"'; do
	T=20 pexec "$allow" h "$c"
	if [ "$RC" = 0 ] && [ -n "$OUT" ]; then ok "allow list: $(printf '%q' "$c") runs"
	else fail "allow list: $(printf '%q' "$c") runs" "$(_last)"; fi
done
pexec "$allow" h "touch $SDIR/t"
check_contains "$ERR" "AllowCommand" "allow list: a refusal says no AllowCommand matched"

# ========================================================== read-only mode ===
ro=$(cfg ro 'ReadOnly yes')
WRITES=(
	'rm -f @P@' 'touch @S@/t' 'mkdir @S@/t' 'cp @P@ @S@/t' 'mv @P@ @S@/t' 'ln -s @P@ @S@/t'
	'tee @S@/t' 'echo x | tee @S@/t' 'echo x > @S@/t' 'echo x >> @S@/t' 'ls >| @S@/t' 'ls &> @S@/t'
	'ls 2> @S@/t' 'cat @P@ 1>@S@/t' 'exec 3>@S@/t' 'dd if=/dev/zero of=@S@/t count=1'
	"sed -i s/a/b/ @P@" 'chmod 600 @P@' 'chown sshmcpt @P@' 'truncate -s 0 @P@' 'install /dev/null @S@/t'
	'sort -o @S@/t @P@' 'find @S@ -delete' 'find @S@ -name f -exec rm {} \;' 'find @S@ -fprint @S@/t'
	"awk 'BEGIN{print 1 > \"@S@/t\"}'" "sh -c 'touch @S@/t'" 'ls; touch @S@/t' 'ls $(touch @S@/t)'
	'kill -9 1' 'pkill sleep' 'reboot' 'shutdown -h now' 'systemctl restart ssh' 'apt-get install x'
	'crontab -r' 'tar -cf @S@/t @P@' "python3 -c 'open(\"@S@/t\",\"w\")'" "perl -e 'open F,\">@S@/t\"'"
	'git init @S@/t' 'curl -o @S@/t http://127.0.0.1:9/' 'wget -O @S@/t http://127.0.0.1:9/' 'vi @P@'
	'useradd x' 'passwd' 'mount /dev/x /mnt' 'xargs rm' 'sudo rm -f @P@' 'env touch @S@/t'
	'configure terminal' 'reload' 'write memory' 'copy running-config startup-config'
	'delete flash:x' 'erase startup-config' 'system-view' 'set interfaces ge-0/0/0 disable' 'commit'
	'clear counters' 'request system reboot'
)
ro_pass=0
for c in "${WRITES[@]}"; do
	sentinel_reset
	T=20 pexec "$ro" h "$(subst "$c")"
	if [ "$RC" = 126 ] && [ -f "$SENT" ] && [ ! -e "$SDIR/t" ]; then ro_pass=$((ro_pass + 1))
		ok "read-only: $(printf '%q' "$c") → refused"
	else fail "read-only: $(printf '%q' "$c") → refused, nothing written" "sentinel $( [ -f "$SENT" ] && echo kept || echo DELETED), $SDIR/t $( [ -e "$SDIR/t" ] && echo CREATED || echo absent)
$(_last)"; fi
done
note "read-only: $ro_pass/${#WRITES[@]} write commands refused"
READS=('ls /' 'cat /etc/hostname' 'head -n 1 /etc/passwd' 'grep root /etc/passwd' 'uname -a' 'id'
	'whoami' 'df -h /' 'ps -e' 'uptime' 'date' 'hostname' 'echo hi' 'ls / | wc -l' 'wc -l /etc/passwd'
	'find / -maxdepth 1 -name etc' 'stat /etc/hostname' 'free' 'ip addr' 'tail -n 2 /etc/passwd'
	'show version' 'show running-config' 'display version' 'display current-configuration')
for c in "${READS[@]}"; do
	T=20 pexec "$ro" h "$c"
	if [ "$RC" != 126 ] && [ "$RC" != 255 ]; then ok "read-only: $(printf '%q' "$c") is allowed (exit $RC)"
	else fail "read-only: $(printf '%q' "$c") is allowed" "$(_last)"; fi
done
pexec "$ro" h "touch $SDIR/t"
check_contains "$ERR" "read-only" "read-only: the refusal names read-only mode"
T=15 pexec "$ro" h
check_exit "$RC" 126 "read-only: an interactive shell (no command) is refused"

# ============================================================== AllowHost ===
hosts=$(cfg hosts 'AllowHost h web-* !web-bad')
for a in h web-one; do
	pexec "$hosts" "$a" echo in
	check_eq "$RC:$OUT" "0:in" "AllowHost h web-* !web-bad: $a runs"
done
for a in other web-bad "$T_USER@other" "ssh://other"; do
	pexec "$hosts" "$a" echo in
	check_exit "$RC" 126 "AllowHost h web-* !web-bad: $a → refused (126)"
done
byaddr=$(cfg byaddr 'AllowHost 127.0.0.1')
pexec "$byaddr" h echo in
check_exit "$RC" 126 "AllowHost 127.0.0.1: alias h (HostName 127.0.0.1) is refused: the name as called counts"
check_contains "$ERR" "'h'" "  … the refusal names the host"

# ===================================================================== serve ===
mcp_need_node
python3 - "${SMUGGLE[@]}" >"$FIX/smuggle.json" <<'EOF'
import json, sys
print(json.dumps(sys.argv[1:]))
EOF
python3 - "${ALLOWED[@]}" >"$FIX/allowed.json" <<'EOF'
import json, sys
print(json.dumps(sys.argv[1:]))
EOF
python3 - "${WRITES[@]}" >"$FIX/writes.json" <<'EOF'
import json, sys
print(json.dumps(sys.argv[1:]))
EOF
export MAIN_PORT MCP_HOST=h MCP_FIX="$FIX" T_USER MCP_SDIR="$SDIR" MCP_SENT="$SENT" MCP_SERVER_LOG="$FIX/mcp-server.log"
T=500 mcp_scenarios "$MCP_DIR/policy.mjs"
