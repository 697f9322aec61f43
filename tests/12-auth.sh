#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 12-auth: a user logs in with each kind of key file, an encrypted key, an ssh-agent, and a
# password; wrong credentials end in exit 255 with one line. The server's log tells which
# credential was accepted.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
trust MAIN

# accepted_by DESC WHAT: the server logged "Accepted WHAT" since log_mark
accepted_by() {
	if log_since MAIN | grep -q "Accepted $2"; then ok "$1"
	else fail "$1" "no 'Accepted $2' in the sshd log; it says:
$(log_since MAIN | grep -E 'Accepted|Failed|Connection|error' | tail -n 8)"; fi
}

# --- one key file of each format
for k in PEMRSA PEMECDSA ECDSA ED25519 RSA; do
	f=KEY_$k; f=${!f}
	ssh_alias "hkey-$k" MAIN "IdentityFile $f"
	log_mark MAIN
	mcp "hkey-$k" whoami
	check_eq "$OUT" "$T_USER" "$(basename "$f") ($(head -c 40 "$f" | head -n 1)): logs in"
	accepted_by "$(basename "$f"): the server accepted exactly that key" \
		"publickey for $T_USER .*$(fingerprint "$f.pub")"
done

# --- -i on the command line, against a host with no identity configured
ssh_alias hnokey MAIN '#noidentity'
log_mark MAIN
mcp -i "$KEY_PEMECDSA" hnokey whoami
check_eq "$OUT" "$T_USER" "-i KEY logs in"
accepted_by "-i: that key was used" "publickey for $T_USER .*$(fingerprint "$KEY_PEMECDSA.pub")"

# --- an encrypted key needs SSHMCP_PASSPHRASE
for f in "$KEY_ENC" "$KEY_ENC_PEM"; do
	ssh_alias "henc-$(basename "$f")" MAIN "IdentityFile $f"
	log_mark MAIN
	SSHMCP_PASSPHRASE=$T_PASSPHRASE mcp "henc-$(basename "$f")" whoami
	check_eq "$OUT" "$T_USER" "encrypted $(basename "$f") with SSHMCP_PASSPHRASE logs in"
	accepted_by "encrypted $(basename "$f"): that key was used" \
		"publickey for $T_USER .*$(fingerprint "$f.pub")"
	mcp "henc-$(basename "$f")" whoami
	check_exit "$RC" 255 "encrypted $(basename "$f") without a passphrase → 255"
	SSHMCP_PASSPHRASE=wrong mcp "henc-$(basename "$f")" whoami
	check_exit "$RC" 255 "encrypted $(basename "$f") with a wrong passphrase → 255"
done

# --- a key the server does not know
ssh_alias hwrong MAIN "IdentityFile $KEY_WRONG"
ossh hwrong true; want=$RC
mcp hwrong echo RAN
check_exit "$RC" 255 "unauthorized key → 255 (ssh: $want)"
check_eq "$OUT" "" "unauthorized key: the command did not run"
check_one_line "$ERR" "unauthorized key: one line on stderr"

# --- password from SSHMCP_PASSWORD
ssh_alias hpw MAIN '#noidentity'
SSH_ASKPASS=$(askpass_for "$T_PASS") SSH_ASKPASS_REQUIRE=force OSSH_BATCH=no \
	ossh -o PubkeyAuthentication=no hpw echo SSH-OK
check_eq "$OUT" SSH-OK "fixture: ssh logs in with the password"
log_mark MAIN
SSHMCP_PASSWORD=$T_PASS mcp hpw whoami
check_eq "$OUT" "$T_USER" "SSHMCP_PASSWORD logs in"
accepted_by "the server accepted a password" "password for $T_USER"
SSHMCP_PASSWORD='not the password' mcp hpw echo RAN
check_exit "$RC" 255 "wrong SSHMCP_PASSWORD → 255"
check_eq "$OUT" "" "wrong password: the command did not run"
check_one_line "$ERR" "wrong password: one line on stderr"
mcp hpw echo RAN
check_exit "$RC" 255 "no credential at all → 255 (no prompt without a terminal)"
log_mark MAIN
SSHMCP_PASSWORD=$T_PASS mcp hwrong whoami
check_eq "$OUT" "$T_USER" "an unauthorized key, then the password: logs in"
accepted_by "…by password" "password for $T_USER"

# --- ssh-agent: SSH_AUTH_SOCK, then IdentityAgent in ssh_config
agent_start
ssh_alias hagent MAIN '#noidentity'
for k in ECDSA RSA PEMRSA ED25519; do
	f=KEY_$k; f=${!f}
	agent_clear; agent_add "$f"
	log_mark MAIN
	SSH_AUTH_SOCK=$AGENT_SOCK mcp hagent whoami
	check_eq "$OUT" "$T_USER" "ssh-agent holding $(basename "$f") logs in"
	accepted_by "agent $(basename "$f"): that key was used" \
		"publickey for $T_USER .*$(fingerprint "$f.pub")"
done
agent_clear; agent_add "$KEY_ECDSA"
ssh_alias hagentcfg MAIN '#noidentity' "IdentityAgent $AGENT_SOCK"
mcp hagentcfg whoami
check_eq "$OUT" "$T_USER" "IdentityAgent in ssh_config (no SSH_AUTH_SOCK) logs in"
agent_clear; agent_add "$KEY_WRONG"
log_mark MAIN
SSH_AUTH_SOCK=$AGENT_SOCK mcp hkey-PEMRSA whoami
check_eq "$OUT" "$T_USER" "agent key refused, then the IdentityFile: logs in"
accepted_by "…with the IdentityFile" "publickey for $T_USER .*$(fingerprint "$KEY_PEMRSA.pub")"
