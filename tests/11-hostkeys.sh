#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 11-hostkeys: a user meets servers that are down, unknown, known by another key type, or
# whose host key changed. Every refusal is exit 255 with one clear line, before any command.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
hostkeys_gen "$FIX/otherkeys"
SSHD_HOSTKEYS=$FIX/otherkeys sshd_start OTHER      # same account, different host keys
trust MAIN

# --- nobody listens: ssh's message, with sshmcp's name
DOWN_ADDR=127.0.0.1 DOWN_PORT=$(free_port)
ssh_alias hdown DOWN
mcp hdown echo RAN
check_exit "$RC" 255 "refused port → 255"
check_eq "$ERR" "sshmcp: connect to host 127.0.0.1 port $DOWN_PORT: Connection refused" \
	"refused port: the ssh-style message"
mcp -p "$DOWN_PORT" -l "$T_USER" -i "$KEY_DEFAULT" 127.0.0.1 echo RAN
check_exit "$RC" 255 "refused port given with -p → 255"
check_contains "$ERR" "port $DOWN_PORT: Connection refused" "-p: the port in the message"

# --- an unknown host is refused under the default strict checking
: >"$FIX/kh_empty"
ssh_alias hunknown MAIN "UserKnownHostsFile $FIX/kh_empty"
mcp hunknown echo RAN
check_exit "$RC" 255 "unknown host key → 255"
check_eq "$OUT" "" "unknown host key: the command did not run"
check_one_line "$ERR" "unknown host key: one line on stderr"
check_eq "$(cat "$FIX/kh_empty")" "" "unknown host key: known_hosts left alone"

# --- accept-new: connect, record the key in a form OpenSSH accepts, and trust it next time
ssh_alias hnew MAIN "UserKnownHostsFile $FIX/kh_new"
mcp -o StrictHostKeyChecking=accept-new hnew echo RAN
check_exit "$RC" 0 "-o StrictHostKeyChecking=accept-new connects"
check_eq "$OUT" RAN "accept-new: the command ran"
if [ -s "$FIX/kh_new" ]; then ok "accept-new: a known_hosts line was written"
else fail "accept-new: a known_hosts line was written" "$(ls -l "$FIX/kh_new" 2>&1)"; fi
ossh -o StrictHostKeyChecking=yes hnew echo SSH-OK
check_eq "$OUT" SSH-OK "accept-new: ssh accepts the line sshmcp wrote"
mcp hnew echo AGAIN
check_eq "$OUT" AGAIN "accept-new: the next strict connection succeeds"
check_eq "$(wc -l <"$FIX/kh_new")" "$(grep -c . "$FIX/kh_new")" "accept-new: the file is newline-terminated lines"

ssh_alias hnewcfg MAIN "UserKnownHostsFile $FIX/kh_newcfg" "StrictHostKeyChecking accept-new"
mcp hnewcfg echo RAN
check_eq "$OUT" RAN "StrictHostKeyChecking accept-new in ssh_config connects"
ossh -o StrictHostKeyChecking=yes hnewcfg true
check_exit "$RC" 0 "ssh accepts that line too"

ssh_alias hnewq MAIN "UserKnownHostsFile $FIX/kh_newq"
mcp -q -o StrictHostKeyChecking=accept-new hnewq echo RAN
check_eq "$OUT" RAN "-q with accept-new connects"
check_eq "$ERR" "" "-q: no warning about the added key"

# --- a changed host key is refused, naming both fingerprints, even with accept-new
old=$(fingerprint "$(host_pub MAIN ed25519)") new=$(fingerprint "$(host_pub OTHER ed25519)")
known_hosts_for MAIN ed25519 | sed "s/:$MAIN_PORT /:$OTHER_PORT /" >"$FIX/kh_changed"
ssh_alias hchanged OTHER "UserKnownHostsFile $FIX/kh_changed"
ossh hchanged echo RAN
check_exit "$RC" 255 "changed host key: ssh refuses it too (fixture check)"
mcp hchanged echo RAN
check_exit "$RC" 255 "changed host key → 255"
check_eq "$OUT" "" "changed host key: the command did not run"
check_contains "$ERR" "$old" "changed host key: stderr has the known fingerprint"
check_contains "$ERR" "$new" "changed host key: stderr has the offered fingerprint"

# every key type known, all changed: whichever type is negotiated, both fingerprints appear,
# and accept-new does not override it
known_hosts_for MAIN | sed "s/:$MAIN_PORT /:$OTHER_PORT /" >"$FIX/kh_changed_all"
cp "$FIX/kh_changed_all" "$FIX/kh_changed_all.orig"
ssh_alias hchangedall OTHER "UserKnownHostsFile $FIX/kh_changed_all"
mcp -o StrictHostKeyChecking=accept-new hchangedall echo RAN
check_exit "$RC" 255 "changed host key with accept-new → still 255"
check_eq "$OUT" "" "changed host key with accept-new: the command did not run"
if cmp -s "$FIX/kh_changed_all" "$FIX/kh_changed_all.orig"; then ok "changed host key: known_hosts untouched"
else fail "changed host key: known_hosts untouched" "$(diff "$FIX/kh_changed_all.orig" "$FIX/kh_changed_all")"; fi
mcp hchangedall echo RAN
check_exit "$RC" 255 "all host keys changed → 255"
pair=""
for t in ed25519 ecdsa rsa; do
	o=$(fingerprint "$(host_pub MAIN $t)") n=$(fingerprint "$(host_pub OTHER $t)")
	case "$ERR" in *"$o"*) case "$ERR" in *"$n"*) pair=$t ;; esac ;; esac
done
if [ -n "$pair" ]; then ok "all changed: old and new $pair fingerprints on stderr"
else fail "all changed: old and new fingerprints of one key type on stderr" "$ERR"; fi

# --- a host known by one key type only is accepted, whatever the server offers first
for t in ed25519 ecdsa rsa; do
	known_hosts_for MAIN $t >"$FIX/kh_only_$t"
	ssh_alias "honly$t" MAIN "UserKnownHostsFile $FIX/kh_only_$t"
	ossh "honly$t" echo RAN; want=$OUT
	mcp "honly$t" echo RAN
	check_eq "$OUT" "$want" "known only by its $t key: connects, as ssh"
done

# --- hashed entries (ssh-keygen -H) match too
known_hosts_for MAIN >"$FIX/kh_hashed"
ssh-keygen -q -H -f "$FIX/kh_hashed" >/dev/null 2>&1
if grep -q '^|1|' "$FIX/kh_hashed"; then
	ssh_alias hhashed MAIN "UserKnownHostsFile $FIX/kh_hashed"
	mcp hhashed echo RAN
	check_eq "$OUT" RAN "hashed known_hosts entries are honoured"
else
	fail "fixture: ssh-keygen -H hashed the known_hosts file"
fi

# --- @revoked keys are refused
{ known_hosts_for MAIN | sed 's/^/@revoked /'; known_hosts_for MAIN; } >"$FIX/kh_revoked"
ssh_alias hrevoked MAIN "UserKnownHostsFile $FIX/kh_revoked"
ossh hrevoked echo RAN; want=$RC
mcp hrevoked echo RAN
check_exit "$RC" 255 "@revoked host key → 255 (ssh: $want)"
check_eq "$OUT" "" "@revoked host key: the command did not run"

# --- a key recorded for the bare host name serves on another port too, as ssh looks there
# when [host]:port has none: a matching one is accepted, a different one is not a verdict
# (strict checking then refuses the unknown key), nor is it looked for under HostKeyAlias
known_hosts_for MAIN ed25519 | sed 's/^\[\([^]]*\)\]:[0-9]* /\1 /' >"$FIX/kh_bare"
awk '{ print $1, $2, "AAAAC3NzaC1lZDI1NTE5AAAAIBh3DpZFF8AtPuSk0K4R3dvQ8PJMQrpxhy6SJ4u1PBpc" }' \
	"$FIX/kh_bare" >"$FIX/kh_bare_other"
for c in "kh_bare:" "kh_bare_other:" "kh_bare:HostKeyAlias somealias"; do
	f=${c%%:*} extra=${c#*:}
	ssh_alias "h$f${extra:+alias}" MAIN "UserKnownHostsFile $FIX/$f" "StrictHostKeyChecking yes" \
		"HostKeyAlgorithms ssh-ed25519" ${extra:+"$extra"}
	ossh "h$f${extra:+alias}" echo RAN; want="$RC:$OUT"
	mcp "h$f${extra:+alias}" echo RAN
	check_eq "$RC:$OUT" "$want" "key under the bare host, port $MAIN_PORT ($f${extra:+, $extra}): as ssh ($want)"
done
check_eq "$want" "255:" "HostKeyAlias: the bare HostName entry is not looked at (255)"
