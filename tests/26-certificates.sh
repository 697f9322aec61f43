#!/bin/bash
# 26-certificates: OpenSSH certificates, each case run with sshmcp and with OpenSSH's ssh on
# the same config and compared. Host certificates (sshd HostCertificate, ssh-keygen -s -h):
# a CA trusted by an @cert-authority line (plain, hashed, negated, HostKeyAlias patterns),
# CAs of each key type signing host keys of each type, a wrong principal, expired and
# not-yet-valid certificates, a revoked CA or key, an untrusted certificate falling back to
# the plain key (known, unknown, accept-new), and one command through serve. User
# certificates: several IdentityFile and CertificateFile, a certificate whose key is only in
# the agent, principals and validity that the server judges.
. "$(dirname "$0")/lib.sh"

CA=$FIX/ca
mkdir -p "$CA" "$FIX/hk"
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t "$t" -N '' -C "$T_TAG-ca-$t" -f "$CA/$t" </dev/null || die "CA key $t"
	ssh-keygen -q -t "$t" -N '' -C "$T_TAG-host-$t" -f "$FIX/hk/$t" </dev/null || die "host key $t"
done
ssh-keygen -q -t ed25519 -N '' -C "$T_TAG-ca-other" -f "$CA/other" </dev/null || die "CA key other"
for b in 384 521; do
	ssh-keygen -q -t ecdsa -b "$b" -N '' -C "$T_TAG-host-ecdsa$b" -f "$FIX/hk/ecdsa$b" </dev/null ||
		die "host key ecdsa$b"
done

# host_cert NAME KEYTYPE CATYPE [ssh-keygen -s args...]: FIX/hc/NAME, a copy of host key
# KEYTYPE with a host certificate by CA CATYPE (default: principal 127.0.0.1, valid now).
host_cert() {
	local name=$1 kt=$2 ct=$3 d=$FIX/hc/$1
	shift 3
	mkdir -p "$d"
	cp "$FIX/hk/$kt" "$d/key"; cp "$FIX/hk/$kt.pub" "$d/key.pub"
	[ $# -gt 0 ] || set -- -n 127.0.0.1 -V -5m:+1h
	ssh-keygen -q -s "$CA/$ct" -h -I "host-$name" "$@" "$d/key.pub" </dev/null >/dev/null 2>&1 ||
		die "sign host key $name"
}
# cert_server NAME: sshd offering FIX/hc/NAME's key and certificate, nothing else
cert_server() {
	sshd_start "$1" "HostKey $FIX/hc/$1/key" "HostCertificate $FIX/hc/$1/key-cert.pub"
}
# kh NAME LINES...: FIX/kh_NAME holds exactly these known_hosts lines
kh() { local f=$FIX/kh_$1; shift; printf '%s\n' "$@" >"$f"; }
ca_pub() { cat "$CA/$1.pub"; }
# both DESC WANT ALIAS [ssh args...]: ssh and sshmcp run `echo RAN`; both must give WANT
# (ok: exit 0 and RAN; fail: exit 255, nothing run)
both() {
	local desc=$1 want=$2 sr so
	shift 2
	ossh "$@" echo RAN; sr=$RC so=$OUT
	mcp "$@" echo RAN
	if [ "$want" = ok ]; then
		check_eq "$sr:$so" "0:RAN" "ssh: $desc"
		check_eq "$RC:$OUT" "0:RAN" "sshmcp: $desc"
	else
		check_eq "$sr:$so" "255:" "ssh: $desc"
		check_eq "$RC:$OUT" "255:" "sshmcp: $desc"
	fi
}

# =================================================== host certificates ===
# One server per key type, each certificate by a CA of another type.
host_cert H_ED ed25519 ed25519
host_cert H_EC ecdsa rsa
host_cert H_RSA rsa ecdsa
host_cert H_EC384 ecdsa384 ed25519
host_cert H_EC521 ecdsa521 rsa
for s in H_ED H_EC H_RSA H_EC384 H_EC521; do cert_server "$s"; done

kh ca_all "@cert-authority * $(ca_pub ed25519)" "@cert-authority * $(ca_pub ecdsa)" \
	"@cert-authority * $(ca_pub rsa)"
for s in H_ED H_EC H_RSA H_EC384 H_EC521; do
	ssh_alias "c-$s" "$s" "UserKnownHostsFile $FIX/kh_ca_all" "StrictHostKeyChecking yes"
done
both "host certificate (ed25519 key, ed25519 CA) trusted by @cert-authority" ok c-H_ED
both "host certificate (ecdsa key, rsa CA) trusted" ok c-H_EC
both "host certificate (rsa key, ecdsa CA) trusted" ok c-H_RSA
both "host certificate (ecdsa P-384 key, ed25519 CA) trusted" ok c-H_EC384
both "host certificate (ecdsa P-521 key, rsa CA) trusted" ok c-H_EC521
mcp -v c-H_ED true
check_contains "$ERR" "matches the ssh-ed25519 host certificate" "-v: the certificate was what was checked"
check_eq "$(grep -c . "$FIX/kh_ca_all")" 3 "a trusted certificate records nothing in known_hosts"
log_mark H_RSA
mcp c-H_RSA true
if log_since H_RSA | grep -q "kex: host key algorithm: rsa-sha2-512-cert-v01@openssh.com"; then
	ok "rsa host certificate: rsa-sha2-512-cert-v01 negotiated"
else fail "rsa host certificate: rsa-sha2-512-cert-v01 negotiated" "$(log_since H_RSA | grep 'host key algorithm')"; fi

# The CA line names the host as ssh looks it up: [addr]:port, a hashed form of it, a negation.
name="[127.0.0.1]:$H_ED_PORT"
kh exact "@cert-authority $name $(ca_pub ed25519)"
ssh_alias c-exact H_ED "UserKnownHostsFile $FIX/kh_exact" "StrictHostKeyChecking yes"
both "@cert-authority with the exact host pattern" ok c-exact
hashed=$("$PY" -c 'import base64,hashlib,hmac,os,sys
s=os.urandom(20); h=hmac.new(s, sys.argv[1].encode(), hashlib.sha1).digest()
print("|1|%s|%s" % (base64.b64encode(s).decode(), base64.b64encode(h).decode()))' "$name")
kh hashed "@cert-authority $hashed $(ca_pub ed25519)"
ssh_alias c-hashed H_ED "UserKnownHostsFile $FIX/kh_hashed" "StrictHostKeyChecking yes"
both "@cert-authority with a hashed host name" ok c-hashed
kh other "@cert-authority other.example,[127.0.0.1]:1 $(ca_pub ed25519)"
ssh_alias c-other H_ED "UserKnownHostsFile $FIX/kh_other" "StrictHostKeyChecking yes"
both "@cert-authority for other hosts only: refused" fail c-other
check_contains "$ERR" "Host key verification failed" "…sshmcp: ssh's words"
# Not found under [addr]:port, ssh looks again under the bare address: a CA line for
# 127.0.0.1 covers every port, and a negation must name both forms to keep a host out.
kh bare "@cert-authority 127.0.0.1 $(ca_pub ed25519)"
ssh_alias c-bare H_ED "UserKnownHostsFile $FIX/kh_bare" "StrictHostKeyChecking yes"
both "@cert-authority for the address without the port covers this port" ok c-bare
kh neg "@cert-authority *,!$name,!127.0.0.1 $(ca_pub ed25519)"
ssh_alias c-neg H_ED "UserKnownHostsFile $FIX/kh_neg" "StrictHostKeyChecking yes"
both "@cert-authority whose pattern negates this host: refused" fail c-neg
kh wrongca "@cert-authority * $(ca_pub other)"
ssh_alias c-wrongca H_ED "UserKnownHostsFile $FIX/kh_wrongca" "StrictHostKeyChecking yes"
both "a CA line for another CA: refused" fail c-wrongca

# @revoked: the CA, or the certified key itself
kh revca "@cert-authority * $(ca_pub ed25519)" "@revoked * $(ca_pub ed25519)"
ssh_alias c-revca H_ED "UserKnownHostsFile $FIX/kh_revca" "StrictHostKeyChecking yes"
both "@revoked CA: refused" fail c-revca
check_contains "$ERR" "revoked" "…sshmcp says it is revoked"
# ssh goes on with a revoked key under StrictHostKeyChecking no (passwords disabled);
# sshmcp refuses a revoked key whatever the setting, as it does for plain keys.
mcp -o StrictHostKeyChecking=no c-revca echo RAN
check_eq "$RC:$OUT" "255:" "@revoked CA: sshmcp refuses even with StrictHostKeyChecking no"
kh revkey "@cert-authority * $(ca_pub ed25519)" "@revoked * $(cat "$FIX/hk/ed25519.pub")"
ssh_alias c-revkey H_ED "UserKnownHostsFile $FIX/kh_revkey" "StrictHostKeyChecking yes"
both "@revoked host key inside a trusted certificate: refused" fail c-revkey
check_contains "$ERR" "revoked" "…sshmcp says it is revoked"

# The certificate itself: principal, validity, type. A refused certificate leaves its
# plain key, which is unknown here: StrictHostKeyChecking yes refuses.
host_cert H_WP ed25519 ed25519 -n wrong.example -V -5m:+1h
host_cert H_EXP ed25519 ed25519 -n 127.0.0.1 -V 20200101:20200102
host_cert H_FUT ed25519 ed25519 -n 127.0.0.1 -V +1d:+2d
host_cert H_ALIAS ed25519 ed25519 -n certalias.example -V -5m:+1h
host_cert H_NOP ed25519 ed25519 -V -5m:+1h
host_cert H_CRIT ed25519 ed25519 -n 127.0.0.1 -V -5m:+1h -O critical:foo@example.com=bar
for s in H_WP H_EXP H_FUT H_ALIAS H_NOP H_CRIT; do cert_server "$s"; done
for s in H_WP H_EXP H_FUT H_NOP H_CRIT; do
	ssh_alias "c-$s" "$s" "UserKnownHostsFile $FIX/kh_ca_all" "StrictHostKeyChecking yes"
done
both "a host certificate for another principal: refused" fail c-H_WP
check_contains "$ERR" "name is not a listed principal" "…sshmcp gives ssh's reason"
check_contains "$ERR" "Host key verification failed" "…and ssh's verdict"
both "an expired host certificate: refused" fail c-H_EXP
check_contains "$ERR" "Certificate invalid: expired" "…sshmcp: expired"
both "a host certificate not yet valid: refused" fail c-H_FUT
check_contains "$ERR" "not yet valid" "…sshmcp: not yet valid"
both "a host certificate with a critical option: refused" fail c-H_CRIT
check_contains "$ERR" "unsupported critical options" "…sshmcp: the critical option"
# OpenSSH 10.3 refuses a certificate without principals (CVE-2026-35414); 9.x took it for any
# host. sshmcp follows 10.3, whatever ssh this machine has.
mcp c-H_NOP echo RAN
check_eq "$RC:$OUT" "255:" "a host certificate without principals is refused (as OpenSSH 10.3)"
check_contains "$ERR" "Certificate lacks principal list" "…saying why"

# HostKeyAlias: the principal and the CA pattern are the alias
kh alias "@cert-authority certalias.example $(ca_pub ed25519)"
ssh_alias c-alias H_ALIAS "UserKnownHostsFile $FIX/kh_alias" "HostKeyAlias certalias.example" \
	"StrictHostKeyChecking yes"
both "HostKeyAlias names the certificate's principal and the CA line's host" ok c-alias
ssh_alias c-noalias H_ALIAS "UserKnownHostsFile $FIX/kh_alias" "StrictHostKeyChecking yes"
both "the same certificate without HostKeyAlias: refused" fail c-noalias

# An untrusted certificate falls back to its plain key, as ssh does.
kh plainknown "$name $(cut -d' ' -f1,2 "$FIX/hk/ed25519.pub")"
ssh_alias c-plain H_ED "UserKnownHostsFile $FIX/kh_plainknown" "StrictHostKeyChecking yes"
both "no CA line, the certified key known as a plain key: connects" ok c-plain
# hostalg SERVER DESC ALG: both clients' last connections to SERVER used host key ALG
hostalg() {   # SERVER DESC ALG ALIAS
	local got=
	log_mark "$1"; ossh "$4" true
	got="ssh:$(log_since "$1" | grep -o 'kex: host key algorithm: [^ ]*' | sed 's/.*: //')"
	log_mark "$1"; mcp "$4" true
	got="$got sshmcp:$(log_since "$1" | grep -o 'kex: host key algorithm: [^ ]*' | sed 's/.*: //')"
	check_eq "$got" "ssh:$3 sshmcp:$3" "$2"
}
# Which host key is asked for: ssh prefers the algorithms of the key types known for the
# host, certificates of those types included (first, as in its default list), and every
# certificate algorithm when a CA line names the host.
hostalg H_ED "a plain key known, no CA: both ask for its certificate first" \
	ssh-ed25519-cert-v01@openssh.com c-plain
hostalg H_ED "a CA line for the host: both ask for the certificate" \
	ssh-ed25519-cert-v01@openssh.com c-exact
kh plainecdsa "$name $(cut -d' ' -f1,2 "$FIX/hk/ecdsa.pub")"
ssh_alias c-plainecdsa H_ED "UserKnownHostsFile $FIX/kh_plainecdsa" "StrictHostKeyChecking no"
hostalg H_ED "another type known (ecdsa), the server has only ed25519: both try the rest in order" \
	ssh-ed25519-cert-v01@openssh.com c-plainecdsa
ssh_alias c-plainonly H_ED "UserKnownHostsFile $FIX/kh_plainknown" "StrictHostKeyChecking yes" \
	"HostKeyAlgorithms ssh-ed25519,ecdsa-sha2-nistp256"
hostalg H_ED "HostKeyAlgorithms without certificates: the plain key" ssh-ed25519 c-plainonly
# A server that offers only its certificate: untrusted, the plain key inside decides.
host_cert H_ONLY ed25519 ed25519
sshd_start H_ONLY "HostKey $FIX/hc/H_ONLY/key" "HostCertificate $FIX/hc/H_ONLY/key-cert.pub" \
	"HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com"
kh onlyplain "[127.0.0.1]:$H_ONLY_PORT $(cut -d' ' -f1,2 "$FIX/hk/ed25519.pub")"
ssh_alias c-only-plain H_ONLY "UserKnownHostsFile $FIX/kh_onlyplain" "StrictHostKeyChecking yes"
both "only a certificate offered, no CA, its key known plainly: connects" ok c-only-plain
kh onlynone "@cert-authority * $(ca_pub other)"
ssh_alias c-only-none H_ONLY "UserKnownHostsFile $FIX/kh_onlynone" "StrictHostKeyChecking yes"
both "only a certificate offered, nothing trusts it: refused" fail c-only-none
kh wpplain "@cert-authority * $(ca_pub ed25519)" \
	"[127.0.0.1]:$H_WP_PORT $(cut -d' ' -f1,2 "$FIX/hk/ed25519.pub")"
ssh_alias c-wpplain H_WP "UserKnownHostsFile $FIX/kh_wpplain" "StrictHostKeyChecking yes"
both "a certificate for another principal, its key known plainly: connects" ok c-wpplain
for who in ssh mcp; do
	: >"$FIX/kh_new_$who"
	ssh_alias "c-new-$who" H_ED "UserKnownHostsFile $FIX/kh_new_$who" \
		"StrictHostKeyChecking accept-new"
done
ossh c-new-ssh echo RAN; sr="$RC:$OUT"
mcp c-new-mcp echo RAN
check_eq "$RC:$OUT" "$sr" "accept-new, no CA: connects as ssh does ($sr)"
check_eq "$(awk '{print $2, $3}' "$FIX/kh_new_mcp")" "$(awk '{print $2, $3}' "$FIX/kh_new_ssh")" \
	"accept-new: sshmcp records the plain key ssh records"

# ================================================================ serve ===
T=60 serve_raw <<'EOF'
call hc execute_command {"host":"c-H_ED","command":"echo through-a-host-certificate"}
call bad execute_command {"host":"c-H_WP","command":"echo never"}
EOF
check_eq "$(jget hc 'sc["output"]')" "through-a-host-certificate" "serve: a command through a certified host"
check_contains "$(jget bad 'json.dumps(r)')" "name is not a listed principal" \
	"serve: a refused host certificate says why"

# =================================================== user certificates ===
# The server decides (TrustedUserCAKeys); the keys are in no authorized_keys.
sshd_start UC "TrustedUserCAKeys $CA/ed25519.pub"
trust UC
UK=$FIX/ukeys; mkdir -p "$UK" "$FIX/ucerts"
for k in a b c; do
	ssh-keygen -q -t ed25519 -N '' -C "$T_TAG-user-$k" -f "$UK/$k" </dev/null || die "user key $k"
done
ssh-keygen -q -t rsa -b 3072 -N '' -C "$T_TAG-user-rsa" -f "$UK/rsa" </dev/null || die "user key rsa"
# user_cert NAME KEY [ssh-keygen -s args...]: FIX/ucerts/NAME-cert.pub for KEY, ID NAME
user_cert() {
	local name=$1 key=$2
	shift 2
	[ $# -gt 0 ] || set -- -n "$T_USER" -V -5m:+1h
	cp "$UK/$key.pub" "$FIX/ucerts/$name.pub"
	ssh-keygen -q -s "$CA/ed25519" -I "$name" "$@" "$FIX/ucerts/$name.pub" </dev/null >/dev/null 2>&1 ||
		die "sign user key $name"
	rm -f "$FIX/ucerts/$name.pub"
}
uc() { echo "CertificateFile $FIX/ucerts/$1-cert.pub"; }
# accepted_id DESC ID: the server's last login used the certificate with key ID ID
accepted_id() {
	local got
	got=$(log_since UC | grep -o 'Accepted publickey .* ID [^ ]*' | tail -n 1 | sed 's/.* ID //')
	check_eq "$got" "$ID_WANT" "$1"
}
# both_id DESC ALIAS ID: ssh and sshmcp both log in, with the certificate whose ID is ID
both_id() {
	local desc=$1 alias=$2
	ID_WANT=$3
	log_mark UC; ossh "$alias" echo RAN
	check_eq "$RC:$OUT" "0:RAN" "ssh: $desc"
	accepted_id "ssh: $desc: certificate $ID_WANT"
	log_mark UC; mcp "$alias" echo RAN
	check_eq "$RC:$OUT" "0:RAN" "sshmcp: $desc"
	accepted_id "sshmcp: $desc: certificate $ID_WANT"
}
user_cert first b
user_cert second b
user_cert other-principal b -n someone-else -V -5m:+1h
user_cert expired b -n "$T_USER" -V 20200101:20200102
user_cert future b -n "$T_USER" -V +1d:+2d
user_cert two-principals b -n "someone-else,$T_USER" -V -5m:+1h
user_cert for-c c
user_cert rsa rsa

# Several identities and certificates: certificates first, in their order, each signed by
# the identity whose public key it certifies (not the one at the same place in the list).
ssh_alias u-order UC "IdentityFile $UK/a" "IdentityFile $UK/b" "$(uc first)" "$(uc second)"
both_id "two CertificateFile, two IdentityFile: the first certificate" u-order first
ssh_alias u-order2 UC "IdentityFile $UK/a" "IdentityFile $UK/b" "$(uc second)" "$(uc first)"
both_id "the same, certificates the other way round" u-order2 second
ssh_alias u-skip UC "IdentityFile $UK/b" "IdentityFile $UK/a" "$(uc other-principal)" \
	"$(uc for-c)" "$(uc first)"
both_id "a refused certificate, one whose key is not given, then a good one" u-skip first
ssh_alias u-princ UC "IdentityFile $UK/b" "$(uc two-principals)"
both_id "a certificate naming the user among other principals" u-princ two-principals
for c in other-principal expired future; do
	ssh_alias "u-$c" UC "IdentityFile $UK/b" "$(uc "$c")"
	both "a certificate the server refuses ($c)" fail "u-$c"
done

# No .pub beside the key: its public key is read from the key file (OpenSSH format).
mkdir -p "$FIX/nopub"; cp "$UK/b" "$FIX/nopub/b"
ssh_alias u-nopub UC "IdentityFile $FIX/nopub/b" "$(uc first)"
both_id "CertificateFile with a key that has no .pub beside it" u-nopub first

# An encrypted key: its passphrase from SSHMCP_PASSPHRASE (ssh: SSH_ASKPASS).
ssh-keygen -q -t ecdsa -N "$T_PASSPHRASE" -C "$T_TAG-user-enc" -f "$UK/enc" </dev/null || die "user key enc"
user_cert enc enc
ssh_alias u-enc UC "IdentityFile $UK/enc" "$(uc enc)"
ID_WANT=enc
log_mark UC
SSH_ASKPASS=$(askpass_for "$T_PASSPHRASE") SSH_ASKPASS_REQUIRE=force OSSH_BATCH=no ossh u-enc echo RAN
check_eq "$RC:$OUT" "0:RAN" "ssh: a certificate whose key is encrypted (SSH_ASKPASS)"
accepted_id "ssh: the encrypted key's certificate"
log_mark UC
SSHMCP_PASSPHRASE=$T_PASSPHRASE mcp u-enc echo RAN
check_eq "$RC:$OUT" "0:RAN" "sshmcp: a certificate whose key is encrypted (SSHMCP_PASSPHRASE)"
accepted_id "sshmcp: the encrypted key's certificate"
SSHMCP_PASSPHRASE=wrong mcp u-enc echo RAN
check_eq "$RC:$OUT" "255:" "sshmcp: the wrong passphrase → 255"

# The key only in the agent: the certificate is sent, the agent signs.
agent_start
agent_add "$UK/c"; agent_add "$UK/rsa"
mkdir -p "$FIX/agentonly"; cp "$UK/c.pub" "$FIX/agentonly/c.pub"; cp "$UK/rsa.pub" "$FIX/agentonly/rsa.pub"
ssh_alias u-agent UC "IdentityFile $FIX/agentonly/c" "$(uc for-c)"
SSH_AUTH_SOCK=$AGENT_SOCK both_id "a certificate whose key only the agent holds" u-agent for-c
ssh_alias u-agent-rsa UC "IdentityFile $FIX/agentonly/rsa" "$(uc rsa)"
SSH_AUTH_SOCK=$AGENT_SOCK both_id "an RSA certificate whose key only the agent holds (rsa-sha2)" \
	u-agent-rsa rsa
ssh_alias u-agent-none UC "IdentityFile $FIX/agentonly/c" "$(uc for-c)" "IdentityAgent none"
both "the same without the agent: no key signs the certificate" fail u-agent-none
