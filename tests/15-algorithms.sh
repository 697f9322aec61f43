#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 15-algorithms: a user meets hardened servers — only Ed25519 host keys, only curve25519 key
# exchange, one public key algorithm — with keys of every type in OpenSSH and PEM format and no
# .pub beside them, a Dropbear known by its Ed25519 key, and -o algorithm lists in ssh's forms.
# sshmcp connects wherever OpenSSH `ssh` does; where it cannot, it says so in one line (255).
. "$(dirname "$0")/lib.sh"

hostkeys_gen "$FIX/hk"     # rsa (3072), ecdsa (nistp256), ed25519
HK=$FIX/hk/ssh_host

# neg_line: sshmcp's "debug1: kex: ..." line from the last `mcp -v` (empty if none)
neg_line() { printf '%s\n' "$ERR" | grep -m 1 '^debug1: kex: ' || true; }
# server_logged NAME REGEX DESC: server NAME logged a line matching REGEX since log_mark
server_logged() {
	if log_since "$1" | grep -Eq -- "$2"; then ok "$3"
	else fail "$3" "no /$2/ in the $1 log; it says:
$(log_since "$1" | grep -E 'kex|Accepted|Failed|error|userauth' | tail -n 10)"; fi
}
# fp_re PUBFILE: the key's SHA256 fingerprint as an ERE (fingerprints hold + and /)
fp_re() { fingerprint "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }
# lone KEYFILE: a copy of the private key alone, in a fresh directory (no .pub beside it)
lone() {
	local d; d=$(mktemp -d "$FIX/lone.XXXXXX")
	install -m 600 "$1" "$d/$(basename "$1")"
	echo "$d/$(basename "$1")"
}
# keygen NAME ssh-keygen-args...: $FIX/ukeys/NAME(.pub), authorized for the test user
keygen() {
	local f=$FIX/ukeys/$1; shift
	mkdir -p "$FIX/ukeys"
	ssh-keygen -q -C "$T_TAG-$(basename "$f")" -f "$f" "$@" </dev/null >/dev/null 2>&1 ||
		die "ssh-keygen $*"
	cat "$f.pub" >>"$AUTHORIZED_KEYS"
}
ASKPASS=$(askpass_for "$T_PASSPHRASE")
# ossh_key KEYFILE ENCRYPTED ARGS...: ssh -i KEYFILE, the passphrase through SSH_ASKPASS
ossh_key() {
	local k=$1 enc=$2; shift 2
	if [ "$enc" = 1 ]; then
		SSH_ASKPASS=$ASKPASS SSH_ASKPASS_REQUIRE=force OSSH_BATCH=no ossh -i "$k" "$@"
	else
		ossh -i "$k" "$@"
	fi
}

# ============================================ 1, 2: Ed25519 host key + curve25519 only ===
for kex in curve25519-sha256 curve25519-sha256@libssh.org; do
	n=CV${kex//[^a-z0-9]/_}
	sshd_start "$n" "HostKey ${HK}_ed25519_key" "HostKeyAlgorithms ssh-ed25519" "KexAlgorithms $kex"
	trust "$n"
	ssh_alias "h$n" "$n" "IdentityFile $KEY_ED25519"
	ossh "h$n" echo SSH-OK
	check_eq "$OUT" SSH-OK "fixture: ssh connects to an sshd offering only ssh-ed25519 + $kex"
	log_mark "$n"
	mcp "h$n" echo RAN
	check_eq "$OUT" RAN "only ssh-ed25519 + $kex: sshmcp exec runs the command (ssh: SSH-OK)"
	check_exit "$RC" 0 "only ssh-ed25519 + $kex: exit 0"
	server_logged "$n" "kex: algorithm: ${kex//./\\.}( |$)" "$kex: the sshd log shows that key exchange"
	server_logged "$n" "kex: host key algorithm: ssh-ed25519" "$kex: the sshd log shows host key ssh-ed25519"
	mcp -v "h$n" true
	l=$(neg_line)
	check_contains "$l" "kex: $kex," "$kex: -v names the kex"
	check_contains "$l" "host key: ssh-ed25519," "$kex: -v names host key ssh-ed25519"
	check_contains "$l" "cipher: chacha20-poly1305@openssh.com" "$kex: -v names the cipher"
done

# ============================ 3: a host known by one key type, the server offers three ===
sshd_start ALL     # ed25519, ecdsa and rsa host keys, every default algorithm
for t in ecdsa ed25519 rsa; do
	known_hosts_for ALL "$t" >"$FIX/kh3_$t"
	cp "$FIX/kh3_$t" "$FIX/kh3_$t.orig"
	# accept-new: had sshmcp negotiated another type, it would append that key
	ssh_alias "h3$t" ALL "UserKnownHostsFile $FIX/kh3_$t" "StrictHostKeyChecking accept-new"
	ossh -o StrictHostKeyChecking=yes "h3$t" echo SSH-OK
	check_eq "$OUT" SSH-OK "fixture: ssh connects to ALL known only by its $t key"
	mcp -v "h3$t" echo RAN
	check_eq "$OUT" RAN "known only by its $t key: connects (accept-new allowed)"
	case $t in
	ecdsa) want="host key: ecdsa-sha2-nistp256," ;;
	ed25519) want="host key: ssh-ed25519," ;;
	rsa) want="host key: rsa-sha2-" ;;
	esac
	check_contains "$(neg_line)" "$want" "known only by its $t key: that type was negotiated"
	check_not_contains "$ERR" "ermanently added" "known only by its $t key: no key added"
	if cmp -s "$FIX/kh3_$t" "$FIX/kh3_$t.orig"; then ok "known only by its $t key: known_hosts unchanged"
	else fail "known only by its $t key: known_hosts unchanged" "$(diff "$FIX/kh3_$t.orig" "$FIX/kh3_$t")"; fi
	mcp -o StrictHostKeyChecking=yes "h3$t" echo RAN
	check_eq "$OUT" RAN "known only by its $t key: strict checking connects too"
done
# (d) HostKeyAlias whose entry holds only the ECDSA key
awk '{print "algtest-alias", $1, $2}' "$(host_pub ALL ecdsa)" >"$FIX/kh3_alias"
cp "$FIX/kh3_alias" "$FIX/kh3_alias.orig"
ssh_alias h3alias ALL "HostKeyAlias algtest-alias" "UserKnownHostsFile $FIX/kh3_alias"
ossh h3alias echo SSH-OK
check_eq "$OUT" SSH-OK "fixture: ssh connects through HostKeyAlias known by its ECDSA key"
mcp -v h3alias echo RAN
check_eq "$OUT" RAN "HostKeyAlias known only by its ECDSA key: connects"
check_contains "$(neg_line)" "host key: ecdsa-sha2-nistp256," "HostKeyAlias: ecdsa-sha2-nistp256 negotiated"
mcp -o StrictHostKeyChecking=accept-new h3alias true
if cmp -s "$FIX/kh3_alias" "$FIX/kh3_alias.orig"; then ok "HostKeyAlias with accept-new: known_hosts unchanged"
else fail "HostKeyAlias with accept-new: known_hosts unchanged" "$(diff "$FIX/kh3_alias.orig" "$FIX/kh3_alias")"; fi

# ======================= 4: every user key type, OpenSSH format, no .pub, one algorithm ===
ssh-keygen -q -t ecdsa -b 384 -N '' -C host-ecdsa384 -f "$FIX/hk/ssh_host_ecdsa384_key" </dev/null >/dev/null
ssh-keygen -q -t ecdsa -b 521 -N '' -C host-ecdsa521 -f "$FIX/hk/ssh_host_ecdsa521_key" </dev/null >/dev/null
# userkey_server NAME HOSTKEY ALG: an sshd whose host key and user key algorithm are both ALG
userkey_server() {
	sshd_start "$1" "HostKey $2" "HostKeyAlgorithms $3" "PubkeyAcceptedAlgorithms $3"
	trust "$1"
	ssh_alias "h$1" "$1" '#noidentity'
}
userkey_server URSA512 "${HK}_rsa_key" rsa-sha2-512
userkey_server URSA256 "${HK}_rsa_key" rsa-sha2-256
userkey_server UEC256 "${HK}_ecdsa_key" ecdsa-sha2-nistp256
userkey_server UEC384 "${HK}_ecdsa384_key" ecdsa-sha2-nistp384
userkey_server UEC521 "${HK}_ecdsa521_key" ecdsa-sha2-nistp521
userkey_server UED "${HK}_ed25519_key" ssh-ed25519

# KEY-NAME ssh-keygen-args SERVERS
cases=(
	"rsa2048|-t rsa -b 2048|URSA512 URSA256"
	"rsa3072|-t rsa -b 3072|URSA512 URSA256"
	"ecdsa256|-t ecdsa -b 256|UEC256"
	"ecdsa384|-t ecdsa -b 384|UEC384"
	"ecdsa521|-t ecdsa -b 521|UEC521"
	"ed25519|-t ed25519|UED"
)
for c in "${cases[@]}"; do
	IFS='|' read -r kname kargs servers <<<"$c"
	# shellcheck disable=SC2086  # kargs are words
	keygen "$kname" $kargs -N ''
	# shellcheck disable=SC2086
	keygen "$kname-enc" $kargs -N "$T_PASSPHRASE"
	for enc in 0 1; do
		f=$FIX/ukeys/$kname; [ "$enc" = 0 ] || f=$f-enc
		k=$(lone "$f")
		d=$(basename "$f")
		fp=$(fp_re "$f.pub")
		if [ "$(head -n 1 "$k")" = "-----BEGIN OPENSSH PRIVATE KEY-----" ]; then ok "$d: OpenSSH format"
		else fail "$d: OpenSSH format" "$(head -n 1 "$k")"; fi
		for srv in $servers; do
			alg=$(awk '$1 == "PubkeyAcceptedAlgorithms" {print $2}' "$FIX/$srv.sshd_config")
			# OpenSSH 9.2's sshd lists every algorithm it knows in server-sig-algs, not just
			# PubkeyAcceptedAlgorithms: ssh then signs with rsa-sha2-512 and is refused by an
			# rsa-sha2-256-only server unless told to use rsa-sha2-256. Both clients get that.
			o=(); [ "$alg" != rsa-sha2-256 ] || o=(-o PubkeyAcceptedAlgorithms=rsa-sha2-256)
			ossh_key "$k" "$enc" "${o[@]}" "h$srv" whoami
			check_eq "$OUT" "$T_USER" "fixture: ssh -i $d ${o[*]} (no .pub) logs in to a $alg-only sshd"
			log_mark "$srv"
			if [ "$enc" = 1 ]; then SSHMCP_PASSPHRASE=$T_PASSPHRASE mcp -i "$k" "${o[@]}" "h$srv" whoami
			else mcp -i "$k" "${o[@]}" "h$srv" whoami; fi
			check_eq "$OUT" "$T_USER" "$d, no .pub, $alg-only sshd ${o[*]}: logs in, as ssh"
			server_logged "$srv" "Accepted publickey for $T_USER .*$fp" "$d on $alg: the server accepted that key"
		done
		if [ "$enc" = 1 ]; then
			srv=${servers%% *}
			SSHMCP_PASSPHRASE='not the passphrase' mcp -i "$k" "h$srv" echo RAN
			check_exit "$RC" 255 "$d with a wrong passphrase → 255"
			check_eq "$OUT" "" "$d, wrong passphrase: the command did not run"
			check_one_line "$ERR" "$d, wrong passphrase: one line on stderr"
			check_contains "$(printf '%s' "$ERR" | tr '[:upper:]' '[:lower:]')" passphrase \
				"$d, wrong passphrase: the message says the passphrase is wrong"
		fi
	done
done
# a stale .pub beside the key (another key's) does not matter: the public key comes from the
# private one
k=$(lone "$FIX/ukeys/ed25519")
cp "$KEY_WRONG.pub" "$k.pub"
mcp -i "$k" hUED whoami
check_eq "$OUT" "$T_USER" "ed25519 key with a stale .pub (another key's) beside it: logs in"
k=$(lone "$FIX/ukeys/rsa3072")
cp "$KEY_WRONG.pub" "$k.pub"
mcp -i "$k" hURSA512 whoami
check_eq "$OUT" "$T_USER" "rsa key with a stale .pub (another key's) beside it: logs in"

# ==================================================== 5: PEM ECDSA keys without .pub ===
keygen pem-ecdsa384 -m PEM -t ecdsa -b 384 -N ''
keygen pem-ecdsa-enc -m PEM -t ecdsa -b 256 -N "$T_PASSPHRASE"
for c in "$KEY_PEMECDSA|0|UEC256" "$FIX/ukeys/pem-ecdsa384|0|UEC384" \
	"$FIX/ukeys/pem-ecdsa-enc|1|UEC256" "$KEY_PEMRSA|0|URSA512"; do
	IFS='|' read -r f enc srv <<<"$c"
	k=$(lone "$f") d=$(basename "$f")
	case "$(head -n 1 "$k")" in
	"-----BEGIN EC PRIVATE KEY-----" | "-----BEGIN RSA PRIVATE KEY-----") ok "$d: PEM format" ;;
	*) fail "$d: PEM format" "$(head -n 1 "$k")" ;;
	esac
	ossh_key "$k" "$enc" "h$srv" whoami
	check_eq "$OUT" "$T_USER" "fixture: ssh -i $d (PEM, no .pub) logs in"
	log_mark "$srv"
	if [ "$enc" = 1 ]; then SSHMCP_PASSPHRASE=$T_PASSPHRASE mcp -i "$k" "h$srv" whoami
	else mcp -i "$k" "h$srv" whoami; fi
	check_eq "$OUT" "$T_USER" "PEM $d without .pub: logs in, as ssh"
	server_logged "$srv" "Accepted publickey for $T_USER .*$(fp_re "$f.pub")" \
		"PEM $d: the server accepted that key"
done

# ================================================== 6: Dropbear with only an Ed25519 key ===
dropbear_start DBED ed25519
known_hosts_for DBED >"$FIX/kh6"
check_eq "$(awk '{print $2}' "$FIX/kh6")" ssh-ed25519 "fixture: dropbear's only host key is ssh-ed25519"
ssh_alias h6 DBED "UserKnownHostsFile $FIX/kh6" "IdentityFile $KEY_ED25519"
ossh h6 echo SSH-OK
check_eq "$OUT" SSH-OK "fixture: ssh connects to dropbear with only an Ed25519 host key"
mcp -v h6 echo RAN
check_eq "$OUT" RAN "dropbear, Ed25519 host key only: sshmcp connects"
check_contains "$(neg_line)" "host key: ssh-ed25519," "dropbear: host key ssh-ed25519 negotiated"
check_contains "$(neg_line)" "kex: curve25519-sha256" "dropbear: curve25519 key exchange"
# a changed Ed25519 key is refused (the entry is really checked, not skipped)
awk '{print $1, $2}' "$FIX/kh6" | tr -d '\n' >"$FIX/kh6bad"
echo " $(awk '{print $2}' "$(host_pub ALL ed25519)")" >>"$FIX/kh6bad"
ssh_alias h6bad DBED "UserKnownHostsFile $FIX/kh6bad" "IdentityFile $KEY_ED25519"
mcp h6bad echo RAN
check_exit "$RC" 255 "dropbear: a different ssh-ed25519 key in known_hosts → 255"
check_eq "$OUT" "" "dropbear, changed key: the command did not run"
# accept-new records an ssh-ed25519 line that OpenSSH accepts
ssh_alias h6new DBED "UserKnownHostsFile $FIX/kh6new" "IdentityFile $KEY_ED25519"
mcp -o StrictHostKeyChecking=accept-new h6new echo RAN
check_eq "$OUT" RAN "dropbear: accept-new connects"
check_eq "$(awk '{print $2, $3}' "$FIX/kh6new" 2>/dev/null)" "$(awk '{print $2, $3}' "$FIX/kh6")" \
	"dropbear: accept-new recorded its ssh-ed25519 key"
ossh -o StrictHostKeyChecking=yes h6new echo SSH-OK
check_eq "$OUT" SSH-OK "dropbear: ssh accepts the ssh-ed25519 line sshmcp wrote"
mcp h6new echo AGAIN
check_eq "$OUT" AGAIN "dropbear: the next strict connection succeeds"

# ======================================================= 7: -o algorithm lists, ssh forms ===
trust ALL
ssh_alias h7 ALL
log_mark ALL
mcp -v -o KexAlgorithms=ecdh-sha2-nistp256 -o HostKeyAlgorithms=ecdsa-sha2-nistp256 h7 echo RAN
check_eq "$OUT" RAN "-o KexAlgorithms=ecdh-sha2-nistp256 -o HostKeyAlgorithms=ecdsa-sha2-nistp256 connects"
l=$(neg_line)
check_contains "$l" "kex: ecdh-sha2-nistp256," "-o KexAlgorithms: -v shows ecdh-sha2-nistp256"
check_contains "$l" "host key: ecdsa-sha2-nistp256," "-o HostKeyAlgorithms: -v shows ecdsa-sha2-nistp256"
server_logged ALL "kex: algorithm: ecdh-sha2-nistp256" "-o KexAlgorithms: the sshd log agrees"
server_logged ALL "kex: host key algorithm: ecdsa-sha2-nistp256" "-o HostKeyAlgorithms: the sshd log agrees"

# The defaults lead with the post-quantum hybrids (issue 21), in sshmcp's (OpenSSH 10's) order:
# the first this OpenSSH has is the one agreed on (Debian's 9.2: sntrup761x25519-sha512).
PQ_FIRST=curve25519-sha256
for k in mlkem768x25519-sha256 sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com; do
	if ssh -Q kex | grep -qx -- "$k"; then PQ_FIRST=$k; break; fi
done
mcp -v h7 true
check_contains "$(neg_line)" "kex: $PQ_FIRST," "default: the post-quantum hybrids come first ($PQ_FIRST)"
mcp -v -o 'KexAlgorithms=-mlkem*,sntrup*' h7 true
check_contains "$(neg_line)" "kex: curve25519-sha256," "-mlkem*,sntrup*: then curve25519-sha256"
mcp -v -o 'KexAlgorithms=-curve25519*,mlkem*,sntrup*' h7 echo RAN
check_eq "$OUT" RAN "-o KexAlgorithms=-curve25519*,mlkem*,sntrup*: still connects"
check_not_contains "$(neg_line)" "kex: curve25519" "-curve25519*: no curve25519 kex negotiated"
check_contains "$(neg_line)" "kex: ecdh-sha2-nistp256," "-curve25519*,...: the next default (ecdh-sha2-nistp256)"
for n in CVcurve25519_sha256 CVcurve25519_sha256_libssh_org; do
	mcp -o 'KexAlgorithms=-curve25519*' "h$n" echo RAN
	check_exit "$RC" 255 "-curve25519* against a curve25519-only server ($n) → 255"
done
mcp -v -o KexAlgorithms=^diffie-hellman-group14-sha256 h7 echo RAN
check_eq "$OUT" RAN "-o KexAlgorithms=^diffie-hellman-group14-sha256 connects"
check_contains "$(neg_line)" "kex: diffie-hellman-group14-sha256," "^ form: prepended, so negotiated"
mcp -v -o KexAlgorithms=+diffie-hellman-group14-sha1 h7 echo RAN
check_contains "$(neg_line)" "kex: $PQ_FIRST," "+ form: appended, the defaults still come first"
sshd_start G14SHA1 "KexAlgorithms diffie-hellman-group14-sha1"
trust G14SHA1
ssh_alias h7g G14SHA1
mcp h7g echo RAN
check_exit "$RC" 255 "fixture: diffie-hellman-group14-sha1 is not in sshmcp's defaults (→ 255)"
check_one_line "$ERR" "no common key exchange: one line on stderr"
check_contains "$ERR" "key exchange" "no common key exchange: the message names the key exchange"
mcp -v -o KexAlgorithms=+diffie-hellman-group14-sha1 h7g echo RAN
check_eq "$OUT" RAN "+diffie-hellman-group14-sha1: a server offering only that now connects"
check_contains "$(neg_line)" "kex: diffie-hellman-group14-sha1," "+ form: -v shows the appended kex"
mcp -v -o HostKeyAlgorithms=-ssh-ed25519 h7 true
check_contains "$(neg_line)" "host key: ecdsa-sha2-nistp256," "-o HostKeyAlgorithms=-ssh-ed25519: ECDSA next"
# HostKeyAlgorithms restricts: the types recorded in known_hosts only reorder that list. Here
# the host is known by its RSA key first, then its Ed25519 key.
known_hosts_for ALL rsa >"$FIX/kh7"; known_hosts_for ALL ed25519 >>"$FIX/kh7"
ssh_alias h7kh ALL "UserKnownHostsFile $FIX/kh7"
for hk in ssh-ed25519 rsa-sha2-256; do
	log_mark ALL
	ossh -v -o HostKeyAlgorithms=$hk h7kh true
	check_contains "$ERR" "kex: host key algorithm: $hk" "fixture: ssh -o HostKeyAlgorithms=$hk negotiates $hk"
	mcp -v -o HostKeyAlgorithms=$hk h7kh echo RAN
	check_eq "$OUT" RAN "-o HostKeyAlgorithms=$hk, host known by rsa and ed25519 keys: connects"
	check_contains "$(neg_line)" "host key: $hk," "-o HostKeyAlgorithms=$hk: only $hk offered, as ssh (known_hosts reorders, never adds)"
done
log_mark ALL
mcp -v -o Ciphers=aes256-ctr h7 echo RAN
check_eq "$OUT" RAN "-o Ciphers=aes256-ctr connects"
check_contains "$(neg_line)" "cipher: aes256-ctr" "-o Ciphers=aes256-ctr: -v shows cipher aes256-ctr"
server_logged ALL "client->server cipher: aes256-ctr" "-o Ciphers: the sshd log agrees"
# the same keywords from ssh_config
ssh_alias h7cfg ALL "KexAlgorithms ecdh-sha2-nistp384" "HostKeyAlgorithms ecdsa-sha2-nistp256" "Ciphers aes192-ctr"
mcp -v h7cfg echo RAN
check_eq "$OUT" RAN "KexAlgorithms/HostKeyAlgorithms/Ciphers in ssh_config: connects"
l=$(neg_line)
check_contains "$l" "kex: ecdh-sha2-nistp384," "ssh_config KexAlgorithms honoured"
check_contains "$l" "host key: ecdsa-sha2-nistp256," "ssh_config HostKeyAlgorithms honoured"
check_contains "$l" "cipher: aes192-ctr" "ssh_config Ciphers honoured"
# PubkeyAcceptedAlgorithms: with an RSA key, rsa-sha2-256 instead of rsa-sha2-512
log_mark ALL
mcp -o PubkeyAcceptedAlgorithms=rsa-sha2-256 -i "$KEY_RSA" h7 echo RAN
check_eq "$OUT" RAN "-o PubkeyAcceptedAlgorithms=rsa-sha2-256 connects"
server_logged ALL "Accepted publickey for $T_USER .*$(fp_re "$KEY_RSA.pub")" \
	"PubkeyAcceptedAlgorithms: the RSA key was accepted"
server_logged ALL "userauth_pubkey: .*pkalg rsa-sha2-256" "-o PubkeyAcceptedAlgorithms=rsa-sha2-256: the server saw rsa-sha2-256"

# ================================= 8: a server limited to a post-quantum key exchange ===
# (until issue 21 sshmcp lacked them and failed here in one line; tests/09-pq-kex.sh has more)
pq=$(ssh -Q kex | grep -m 1 -E '^(mlkem768x25519-sha256|sntrup761x25519-sha512@openssh.com)$' || true)
if [ -n "$pq" ]; then
	sshd_start PQ "KexAlgorithms $pq"
	trust PQ
	ssh_alias h8 PQ
	ossh h8 echo SSH-OK
	check_eq "$OUT" SSH-OK "fixture: ssh connects with $pq"
	T=30 mcp -v h8 echo RAN
	check_exit "$RC" 0 "server offering only $pq: sshmcp connects too"
	check_eq "$OUT" RAN "$pq only: the command ran"
	check_contains "$(neg_line)" "kex: $pq," "$pq only: -v names it"
else
	skip "server limited to a post-quantum kex" "this sshd has neither sntrup761 nor mlkem768"
fi
