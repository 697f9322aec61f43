#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 19-auth-more: the rest of issue 10's authentication and host-key work. An agent holding every
# key type; IdentityAgent none / SSH_AUTH_SOCK; IdentitiesOnly yes offering only configured keys;
# OpenSSH user certificates against sshd's TrustedUserCAKeys; keyboard-interactive (PAM) answered
# with the password; passphrases (wrong one → next identity; a no-echo /dev/tty prompt); known_hosts
# over several files, global files, hashed [host]:port, @revoked, accept-new writing a (hashed)
# line that OpenSSH accepts. Serve mode (tests/mcp/elicit.mjs): an unknown host key is offered
# through elicitation; tool arguments `passphrase` and `password` (keyboard-interactive).
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

sshd_start MAIN
trust MAIN
accepted_by() {   # DESC WHAT [SERVER]
	local s=${3:-MAIN}
	if log_since "$s" | grep -q "Accepted $2"; then ok "$1"
	else fail "$1" "no 'Accepted $2' in the sshd log; it says:
$(log_since "$s" | grep -E 'Accepted|Failed|Connection|error|userauth' | tail -n 8)"; fi
}

# ================================================================== agent ===
agent_start
ASKPASS_PP=$(askpass_for "$T_PASSPHRASE")
agent_add_any() { SSH_AUTH_SOCK=$AGENT_SOCK SSH_ASKPASS=$ASKPASS_PP SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	timeout 10 ssh-add -q "$@" </dev/null >/dev/null 2>&1 || die "ssh-add $*"; }
ssh_alias hagent MAIN '#noidentity' 'IdentitiesOnly no'
for k in PEMRSA PEMECDSA ECDSA ED25519 RSA ENC ENC_PEM; do
	f=KEY_$k; f=${!f}
	agent_clear; agent_add_any "$f"
	log_mark MAIN
	SSH_AUTH_SOCK=$AGENT_SOCK mcp hagent whoami
	check_eq "$OUT" "$T_USER" "agent holding only $(basename "$f") ($(ssh-keygen -lf "$f.pub" | awk '{print $NF}')) logs in"
	accepted_by "agent $(basename "$f"): that key was used" "publickey for $T_USER .*$(fingerprint "$f.pub")"
done
agent_clear; agent_add_any "$KEY_WRONG"; agent_add_any "$KEY_ED25519"
SSH_AUTH_SOCK=$AGENT_SOCK mcp hagent whoami
check_eq "$OUT" "$T_USER" "agent with an unauthorized key first, then a good one: logs in"

agent_clear; agent_add_any "$KEY_ED25519"
ssh_alias hagent-none MAIN '#noidentity' 'IdentityAgent none'
SSH_AUTH_SOCK=$AGENT_SOCK mcp hagent-none echo RAN
check_exit "$RC" 255 "IdentityAgent none: the agent in SSH_AUTH_SOCK is not used (255)"
ssh_alias hagent-env MAIN '#noidentity' 'IdentityAgent SSH_AUTH_SOCK'
SSH_AUTH_SOCK=$AGENT_SOCK mcp hagent-env whoami
check_eq "$OUT" "$T_USER" "IdentityAgent SSH_AUTH_SOCK: the agent from the environment is used"
ln -s "$AGENT_SOCK" "$HOME/.ssh/agent.sock"
ssh_alias hagent-tilde MAIN '#noidentity' 'IdentityAgent ~/.ssh/agent.sock'
mcp hagent-tilde whoami
check_eq "$OUT" "$T_USER" "IdentityAgent ~/.ssh/agent.sock (a ~ path, no SSH_AUTH_SOCK) is used"

# IdentitiesOnly yes: an agent-held key that is not configured is never offered
agent_clear; agent_add_any "$KEY_RSA"
ssh_alias honly-wrong MAIN "IdentityFile $KEY_WRONG" 'IdentitiesOnly yes'
ossh honly-wrong true; want=$RC
log_mark MAIN
SSH_AUTH_SOCK=$AGENT_SOCK mcp honly-wrong echo RAN
check_exit "$RC" 255 "IdentitiesOnly yes + unauthorized IdentityFile: the agent's good key is not offered (ssh: $want)"
check_not_contains "$(log_since MAIN)" "$(fingerprint "$KEY_RSA.pub")" "…the server never saw the agent's key"
ssh_alias honly-good MAIN "IdentityFile $KEY_ED25519" 'IdentitiesOnly yes'
log_mark MAIN
SSH_AUTH_SOCK=$AGENT_SOCK mcp honly-good whoami
check_eq "$OUT" "$T_USER" "IdentitiesOnly yes + a good IdentityFile: logs in"
accepted_by "…with the configured key, not the agent's (RSA) key" "publickey for $T_USER .*$(fingerprint "$KEY_ED25519.pub")"
ssh_alias hnotonly MAIN "IdentityFile $KEY_WRONG" 'IdentitiesOnly no'
SSH_AUTH_SOCK=$AGENT_SOCK mcp hnotonly whoami
check_eq "$OUT" "$T_USER" "IdentitiesOnly no: the agent's key is offered and logs in"
# an agent-held key named by IdentityFile (only its .pub on disk) is used through the agent
cp "$KEY_RSA.pub" "$FIX/keys/agent_only.pub"
ssh_alias hpubonly MAIN "IdentityFile $FIX/keys/agent_only" 'IdentitiesOnly yes'
ossh hpubonly true; want=$RC
SSH_AUTH_SOCK=$AGENT_SOCK mcp hpubonly whoami
check_eq "$RC:$OUT" "0:$T_USER" "IdentitiesOnly yes, IdentityFile whose private half is only in the agent (ssh: rc $want)"
agent_clear

# ============================================================ certificates ===
ssh-keygen -q -t ed25519 -N '' -C "$T_TAG-ca" -f "$FIX/ca" || die "CA key"
sshd_start CERT "TrustedUserCAKeys $FIX/ca.pub"
trust CERT
for t in ed25519 ecdsa rsa; do
	k=$FIX/keys/cert_$t
	ssh-keygen -q -t "$t" -N '' -C "$T_TAG-cert" -f "$k" || die "cert key $t"
	ssh-keygen -q -s "$FIX/ca" -I "sshmcp-test-$t" -n "$T_USER" -V -5m:+1h "$k.pub" || die "sign $t"
	ssh_alias "hcert-$t" CERT "IdentityFile $k"
	ossh "hcert-$t" whoami; want="$RC:$OUT"
	log_mark CERT
	mcp "hcert-$t" whoami
	check_eq "$RC:$OUT" "0:$T_USER" "$t user certificate (KEY-cert.pub beside the key) logs in (ssh: $want)"
	accepted_by "$t certificate: the server accepted the certificate" "publickey for $T_USER .*-CERT .*ID sshmcp-test-$t" CERT
done
k=$FIX/keys/cert_ed25519
mv "$k-cert.pub" "$FIX/keys/elsewhere-cert.pub"
ssh_alias hcertfile CERT "IdentityFile $k" "CertificateFile $FIX/keys/elsewhere-cert.pub"
mcp hcertfile whoami
check_eq "$RC:$OUT" "0:$T_USER" "CertificateFile names a certificate stored elsewhere"
mcp hcert-ed25519 echo RAN
check_exit "$RC" 255 "the key alone (not in authorized_keys, certificate gone) → 255"
mv "$FIX/keys/elsewhere-cert.pub" "$k-cert.pub"
k=$FIX/keys/cert_other
ssh-keygen -q -t ed25519 -N '' -C "$T_TAG-cert" -f "$k"
ssh-keygen -q -s "$FIX/ca" -I other-principal -n someone-else "$k.pub"
ssh_alias hcert-wrongp CERT "IdentityFile $k"
mcp hcert-wrongp echo RAN
check_exit "$RC" 255 "a certificate for another principal → 255"
check_one_line "$ERR" "…with one line on stderr"
k=$FIX/keys/cert_expired
ssh-keygen -q -t ed25519 -N '' -C "$T_TAG-cert" -f "$k"
ssh-keygen -q -s "$FIX/ca" -I expired -n "$T_USER" -V 20200101:20200102 "$k.pub"
ssh_alias hcert-expired CERT "IdentityFile $k"
mcp hcert-expired echo RAN
check_exit "$RC" 255 "an expired certificate → 255"

# ================================================= keyboard-interactive (PAM) ===
if [ -f /etc/pam.d/sshd ] && sshd_start KBD "UsePAM yes" "KbdInteractiveAuthentication yes" \
		"PasswordAuthentication no" "PubkeyAuthentication no" 2>/dev/null; then
	trust KBD
	ssh_alias hkbd KBD '#noidentity'
	SSH_ASKPASS=$(askpass_for "$T_PASS") SSH_ASKPASS_REQUIRE=force OSSH_BATCH=no \
		ossh -o PreferredAuthentications=keyboard-interactive hkbd echo SSH-OK
	if [ "$OUT" != SSH-OK ]; then
		skip "keyboard-interactive" "sshd with UsePAM yes does not let ssh log in here: $(head -c 200 <<<"$ERR")"
	else
		ok "fixture: ssh logs in to the kbd-interactive-only sshd (UsePAM yes)"
		log_mark KBD
		SSHMCP_PASSWORD=$T_PASS mcp hkbd whoami
		check_eq "$RC:$OUT" "0:$T_USER" "keyboard-interactive answered with SSHMCP_PASSWORD"
		accepted_by "the server accepted keyboard-interactive" "keyboard-interactive/pam for $T_USER" KBD
		SSHMCP_PASSWORD='not the password' T=40 mcp hkbd echo RAN
		check_exit "$RC" 255 "keyboard-interactive, wrong password → 255"
		check_one_line "$ERR" "…with one line on stderr"
		T=20 mcp hkbd echo RAN
		check_exit "$RC" 255 "keyboard-interactive, no password and no terminal → 255 (no hang)"
	fi
else
	skip "keyboard-interactive" "no /etc/pam.d/sshd or sshd refuses UsePAM yes"
fi

# ============================================================= passphrases ===
ssh_alias henc-then-good MAIN "IdentityFile $KEY_ENC" "IdentityFile $KEY_ED25519"
log_mark MAIN
SSHMCP_PASSPHRASE='wrong passphrase' mcp henc-then-good whoami
check_eq "$RC:$OUT" "0:$T_USER" "a wrong passphrase moves on to the next identity"
accepted_by "…which logs in" "publickey for $T_USER .*$(fingerprint "$KEY_ED25519.pub")"
ssh_alias henc MAIN "IdentityFile $KEY_ENC"
SSHMCP_PASSPHRASE='wrong passphrase' mcp henc whoami
check_exit "$RC" 255 "a wrong passphrase and no other identity → 255"
check_one_line "$ERR" "…one line on stderr"
if grep -Eqi 'passphrase|decrypt|key' <<<"$ERR"; then ok "…that says the key could not be used ($ERR)"
else fail "the failure names the passphrase/key problem" "$ERR"; fi
check_not_contains "$ERR" "wrong passphrase" "…and does not echo the passphrase"

# the /dev/tty prompt: a pty of our own (python), answered; nothing echoed
cat >"$FIX/tty_answer.py" <<'PYEOF'
# tty_answer.py PASSPHRASE ARGV...: run ARGV on a new pty; answer each passphrase prompt
import os, pty, select, signal, sys, time
pp, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
buf, sent, pw, deadline = b'', 0, 0, time.time() + 25
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        buf += d
    # the prompt's own words: the final error message and echoed answers also say "passphrase"
    if buf.count(b'Enter passphrase for') > sent and sent < 5:
        time.sleep(0.2)
        os.write(fd, pp.encode() + b'\n')
        sent += 1
    if buf.count(b'password:') > pw and pw < 5:   # after the keys, a password prompt (as ssh)
        time.sleep(0.2)
        os.write(fd, b'not-the-password\n')
        pw += 1
if time.time() >= deadline:
    os.kill(pid, signal.SIGKILL)
_, st = os.waitpid(pid, 0)
sys.stdout.write(buf.decode('utf-8', 'replace'))
sys.stdout.write('\n[exit %d sent %d]\n[passwords %d]\n' % (os.waitstatus_to_exitcode(st), sent, pw))
PYEOF
run "$PY" "$FIX/tty_answer.py" "$T_PASSPHRASE" "$SSHMCP" exec henc whoami
check_contains "$OUT" "[exit 0 sent 1]" "no SSHMCP_PASSPHRASE, a terminal: the passphrase prompt on /dev/tty is answered and exec exits 0"
check_contains "$OUT" "$T_USER" "…and the command ran"
check_not_contains "$OUT" "$T_PASSPHRASE" "…the passphrase typed is not echoed"
run "$PY" "$FIX/tty_answer.py" "bad passphrase" "$SSHMCP" exec henc whoami
if [[ $OUT =~ \[exit\ 255\ sent\ [1-3]\] ]]; then
	ok "a wrong passphrase typed at the prompt (asked ≤ 3 times; then $(grep -o 'passwords [0-9]*' <<<"$OUT") password prompts, as ssh) → 255"
else fail "a wrong passphrase typed at the prompt → 255 after at most 3 prompts" "$OUT"; fi

# ============================================================= known_hosts ===
sshd_start KH
ssh_alias hkh KH
khtest() {   # DESC WANT-RC ssh_config-lines...
	local desc=$1 want=$2; shift 2
	ssh_alias "hkh$NUM" KH "$@"
	ossh "hkh$NUM" echo RAN; local sshrc=$RC
	mcp "hkh$NUM" echo RAN
	check_eq "$RC" "$want" "$desc (ssh: $sshrc)"
}
known_hosts_for KH >"$FIX/kh_good"
: >"$FIX/kh_empty"
khtest "several UserKnownHostsFile files: the key in the second one is found" 0 \
	"UserKnownHostsFile $FIX/kh_empty $FIX/kh_good"
khtest "GlobalKnownHostsFile holds the key (user file empty)" 0 \
	"UserKnownHostsFile $FIX/kh_empty" "GlobalKnownHostsFile $FIX/kh_good"
cp "$FIX/kh_good" "$FIX/kh_hashed"; ssh-keygen -q -H -f "$FIX/kh_hashed" >/dev/null 2>&1; rm -f "$FIX/kh_hashed.old"
if grep -q '^|1|' "$FIX/kh_hashed" && ! grep -q '127.0.0.1' "$FIX/kh_hashed"; then
	khtest "hashed [127.0.0.1]:port entries (ssh-keygen -H) are honoured" 0 "UserKnownHostsFile $FIX/kh_hashed"
else fail "fixture: ssh-keygen -H hashed the file" "$(head -c 300 "$FIX/kh_hashed")"; fi
known_hosts_for KH | awk '{ $1 = "127.0.0.1"; print }' >"$FIX/kh_noport"
khtest "an entry for 127.0.0.1 without the port vouches for [127.0.0.1]:port, as ssh (it looks there when [host]:port has none)" 0 \
	"UserKnownHostsFile $FIX/kh_noport"
known_hosts_for KH | sed 's/^/@revoked /' >"$FIX/kh_revoked"
khtest "@revoked in a second file beats a trusted entry in the first → 255" 255 \
	"UserKnownHostsFile $FIX/kh_good $FIX/kh_revoked"
khtest "@revoked in the global file → 255" 255 \
	"UserKnownHostsFile $FIX/kh_good" "GlobalKnownHostsFile $FIX/kh_revoked"
sed 's/^/@revoked /' "$FIX/kh_hashed" >"$FIX/kh_revoked_hashed"
khtest "a hashed @revoked entry → 255" 255 "UserKnownHostsFile $FIX/kh_good $FIX/kh_revoked_hashed"

# accept-new writes a line; hashed when HashKnownHosts yes; OpenSSH then accepts it strictly
for hash in yes no; do
	: >"$FIX/kh_new_$hash"; : >"$FIX/kh_new2_$hash"
	ssh_alias "hnew-$hash" KH "UserKnownHostsFile $FIX/kh_new_$hash $FIX/kh_new2_$hash" \
		"HashKnownHosts $hash" "StrictHostKeyChecking accept-new"
	mcp "hnew-$hash" echo RAN
	check_eq "$RC:$OUT" "0:RAN" "accept-new (HashKnownHosts $hash): connects"
	line=$(cat "$FIX/kh_new_$hash")
	check_eq "$(grep -c . <<<"$line")" 1 "accept-new (HashKnownHosts $hash): one line, in the first file"
	check_eq "$(cat "$FIX/kh_new2_$hash")" "" "accept-new: the second file is untouched"
	if [ "$hash" = yes ]; then
		if [[ $line =~ ^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28}\ [a-z0-9-]+\ [A-Za-z0-9+/=]+$ ]]; then
			ok "HashKnownHosts yes: the line is |1|salt|hmac type key"
		else fail "HashKnownHosts yes: the line is |1|salt|hmac type key" "$line"; fi
		check_not_contains "$line" "127.0.0.1" "HashKnownHosts yes: the address is not in clear"
	else
		check_eq "${line%% *}" "[127.0.0.1]:$KH_PORT" "HashKnownHosts no: the line names [127.0.0.1]:port"
	fi
	run ssh-keygen -F "[127.0.0.1]:$KH_PORT" -f "$FIX/kh_new_$hash"
	check_exit "$RC" 0 "ssh-keygen -F finds [127.0.0.1]:port in the line written (HashKnownHosts $hash)"
	ossh -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$FIX/kh_new_$hash" -o "GlobalKnownHostsFile=/dev/null" \
		-i "$KEY_DEFAULT" -p "$KH_PORT" -l "$T_USER" 127.0.0.1 echo SSH-OK
	check_eq "$OUT" SSH-OK "OpenSSH (strict) accepts the line sshmcp wrote (HashKnownHosts $hash)"
	mcp "hnew-$hash" echo AGAIN
	check_eq "$OUT" AGAIN "the next connection uses it"
	check_eq "$(grep -c . "$FIX/kh_new_$hash")" 1 "…and adds nothing more"
done
: >"$FIX/kh_no"
ssh_alias hshk-no KH "UserKnownHostsFile $FIX/kh_no" "StrictHostKeyChecking no"
mcp hshk-no echo RAN
check_eq "$OUT" RAN "StrictHostKeyChecking no: connects"
check_eq "$(grep -c . "$FIX/kh_no")" 1 "StrictHostKeyChecking no: appends the key too (issue 10)"

# ================================================================ serve mode ===
if command -v node >/dev/null && [ -f "$MCP_SDK/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
	for n in 1 2 3 4 5 6; do
		sshd_start "U$n"
		ssh_alias "eli$n" "U$n"
	done
	ssh_alias enc MAIN "IdentityFile $KEY_ENC"
	KBD_OK=0
	if [ -n "${KBD_PORT-}" ]; then ssh_alias kbdpw KBD '#noidentity'; KBD_OK=1; fi
	export T_USER T_PASS T_PASSPHRASE KBD_OK KNOWN_HOSTS U1_PORT U2_PORT U3_PORT U4_PORT U5_PORT U6_PORT \
		MCP_SERVER_LOG="$FIX/mcp-server.log" SSH_CONFIG
	T=400 mcp_scenarios "$MCP_DIR/elicit.mjs"
else
	skip "serve-mode elicitation and tool-argument credentials" "node or the MCP SDK is missing"
fi
