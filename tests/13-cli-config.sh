#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 13-cli-config: a user names hosts the ssh ways — ssh_config aliases and patterns, -F, ssh://
# URIs, -l/-i/-p/-o — gets usage errors for bad input, and steers diagnostics with -E, -q, -v.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
sshd_start BANNER "Banner $FIX/banner.txt"
printf 'SSHMCP-TEST-BANNER hello\n' >"$FIX/banner.txt"
trust MAIN
trust BANNER
DOWN_ADDR=127.0.0.1 DOWN_PORT=$(free_port)   # nobody listens there

# --- an alias: HostName, Port, User and IdentityFile all come from ~/.ssh/config
ssh_alias web-alias MAIN "IdentityFile $KEY_PEMECDSA"
ossh web-alias 'whoami; echo $SSH_CONNECTION'; want=$OUT
mcp web-alias 'whoami; echo $SSH_CONNECTION'
check_eq "$(head -n 1 <<<"$OUT")" "$T_USER" "alias: User from ssh_config"
check_eq "$(awk '{print $3, $4}' <<<"$OUT" | tail -n 1)" "127.0.0.1 $MAIN_PORT" "alias: HostName and Port from ssh_config"
check_eq "$(head -n 1 <<<"$OUT")" "$(head -n 1 <<<"$want")" "alias: same user as ssh"

# --- patterns: *, ?, lists, negation; the first value obtained wins
ssh_config_raw "Host pat-* !pat-blocked
  HostName 127.0.0.1
  Port $MAIN_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT
Host pat-blocked
  HostName 127.0.0.1
  Port $DOWN_PORT
  User $T_USER
Host first-wins
  Port $MAIN_PORT
Host first-* other-list qq?
  HostName 127.0.0.1
  Port $DOWN_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT"
for a in pat-one pat-blocked first-wins other-list qqx; do
	ossh "$a" echo RAN; want="$RC:$OUT"
	mcp "$a" echo RAN
	check_eq "$RC:$OUT" "$want" "ssh_config Host patterns: '$a' resolves as ssh ($want)"
done
mcp pat-one echo RAN;     check_eq "$OUT" RAN "Host pat-*: pat-one matches"
mcp pat-blocked echo RAN; check_contains "$ERR" "port $DOWN_PORT" "Host pat-* !pat-blocked: the negation skips the block"
mcp first-wins echo RAN;  check_eq "$OUT" RAN "the first Port obtained wins"
mcp qqx echo RAN;         check_contains "$ERR" "port $DOWN_PORT" "Host qq?: ? matches one character"

# --- -F FILE replaces ~/.ssh/config (same alias name, different target)
ssh_alias h-ftest DOWN
printf 'Host h-ftest\n  HostName 127.0.0.1\n  Port %s\n  User %s\n  IdentityFile %s\n' \
	"$MAIN_PORT" "$T_USER" "$KEY_DEFAULT" >"$FIX/alt_config"
mcp -F "$FIX/alt_config" h-ftest echo RAN
check_eq "$OUT" RAN "-F FILE: the alias comes from FILE (known_hosts from \$HOME/.ssh)"
mcp h-ftest echo RAN
check_exit "$RC" 255 "without -F the same alias comes from ~/.ssh/config"

printf 'Host h-bad\n  HostName 127.0.0.1\n  Port\n' >"$FIX/bad_config"
mcp -F "$FIX/bad_config" h-bad echo RAN
if [ "$RC" -ne 0 ]; then ok "a malformed ssh_config line is an error (exit $RC)"
else fail "a malformed ssh_config line is an error" "$(_last)"; fi
if grep -Eq "bad_config(:| line )3" <<<"$ERR"; then ok "the error names file:line"
else fail "the error names file:line" "$ERR"; fi
check_eq "$OUT" "" "malformed ssh_config: nothing ran"

# --- destinations and options on the command line beat ssh_config
mcp -i "$KEY_DEFAULT" "ssh://$T_USER@127.0.0.1:$MAIN_PORT" whoami
check_eq "$OUT" "$T_USER" "ssh://user@host:port destination"
mcp -i "$KEY_DEFAULT" -l "$T_USER" "ssh://127.0.0.1:$MAIN_PORT" whoami
check_eq "$OUT" "$T_USER" "ssh://host:port with -l"
mcp -i "$KEY_DEFAULT" "ssh://$T_USER@127.0.0.1:$MAIN_PORT/some/path" echo RAN
case "$RC" in 2|255) ok "ssh:// URI with a path is refused (exit $RC)" ;;
*) fail "ssh:// URI with a path is refused" "$(_last)" ;; esac
check_eq "$OUT" "" "ssh:// URI with a path: nothing ran"

mcp -p "$MAIN_PORT" -l "$T_USER" -i "$KEY_DEFAULT" 127.0.0.1 whoami
check_eq "$OUT" "$T_USER" "-p -l -i with a bare address"
mcp -o "Port=$MAIN_PORT" -o "User=$T_USER" -i "$KEY_DEFAULT" 127.0.0.1 whoami
check_eq "$OUT" "$T_USER" "-o Port=... -o User=..."
mcp -p "$MAIN_PORT" -i "$KEY_DEFAULT" nosuchuser-sshmcp@127.0.0.1 echo RAN
check_exit "$RC" 255 "user@host: the user comes from the destination (a nonexistent one is refused)"
ssh_alias hdown DOWN
mcp -p "$MAIN_PORT" hdown echo RAN
check_eq "$OUT" RAN "-p beats the config's Port"
mcp -o "Port=$MAIN_PORT" hdown echo RAN
check_eq "$OUT" RAN "-o Port= beats the config's Port"
ssh_alias hwronguser MAIN "User nobody"
mcp -l "$T_USER" hwronguser whoami
check_eq "$OUT" "$T_USER" "-l beats the config's User"
mcp "$T_USER@hwronguser" whoami
check_eq "$OUT" "$T_USER" "user@alias beats the config's User"
ossh -l "$T_USER" "nobody@web-alias" whoami; want="$RC:$OUT"
mcp -l "$T_USER" "nobody@web-alias" whoami
check_eq "$RC:$OUT" "$want" "-l together with user@: the same user as ssh picks"

# --- usage errors: exit 2, nothing connects
for p in 0 65536 22x -1 ''; do
	mcp -p "$p" web-alias echo RAN
	check_exit "$RC" 2 "-p '$p' is a usage error (2)"
done
mcp -Z web-alias echo RAN;  check_exit "$RC" 2 "unknown option → 2"
mcp;                        check_exit "$RC" 2 "exec without a destination → 2"
run "$SSHMCP" --version;   check_exit "$RC" 0 "--version exits 0"
check_contains "$OUT" "sshmcp" "--version names the program"
run "$SSHMCP" --help;      check_exit "$RC" 0 "--help exits 0"
check_contains "$OUT$ERR" "exec" "--help mentions exec"

# --- -E FILE takes sshmcp's own diagnostics; remote stderr still goes to stderr
echo "earlier line" >"$FIX/diag.log"
mcp -E "$FIX/diag.log" hdown echo RAN
check_exit "$RC" 255 "-E: the failure still exits 255"
check_eq "$ERR" "" "-E: nothing on stderr"
check_contains "$(cat "$FIX/diag.log")" "Connection refused" "-E: the message is in the file"
check_contains "$(cat "$FIX/diag.log")" "earlier line" "-E appends"
mcp -E "$FIX/diag2.log" -v web-alias 'echo err >&2'
check_eq "$ERR" "err" "-E -v: remote stderr still on stderr, no debug there"
if [ -s "$FIX/diag2.log" ]; then ok "-E -v: debug lines went to the file"
else fail "-E -v: debug lines went to the file" "empty"; fi

# --- -v adds debug lines on stderr; stdout stays clean
mcp -v web-alias echo RAN
check_eq "$OUT" RAN "-v: stdout unchanged"
check_contains "$ERR" "debug" "-v: debug lines on stderr"
mcp web-alias echo RAN
check_eq "$ERR" "" "without -v: a clean run writes nothing on stderr"

# --- banners: shown on stderr like ssh, silenced by -q
ssh_alias hbanner BANNER
ossh hbanner echo RAN
check_contains "$ERR" "SSHMCP-TEST-BANNER" "fixture: ssh shows the banner"
mcp hbanner echo RAN
check_contains "$ERR" "SSHMCP-TEST-BANNER" "the banner is shown on stderr, as ssh"
check_eq "$OUT" RAN "banner: stdout holds only the output"
mcp -q hbanner echo RAN
check_eq "$ERR" "" "-q: no banner"
check_eq "$OUT" RAN "-q: output intact"
mcp -q hbanner 'echo err >&2'
check_eq "$ERR" "err" "-q: remote stderr still shown"
