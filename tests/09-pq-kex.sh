#!/bin/bash
# 09-pq-kex: the post-quantum hybrid key exchanges (issue 21) against real servers. OpenSSH 10
# (built from Debian trixie's source package, tools/deps.sh openssh10) offering only
# mlkem768x25519-sha256, only sntrup761x25519-sha512, or its defaults (its log must show that
# ML-KEM was chosen); this machine's OpenSSH 9.2 offering only
# sntrup761x25519-sha512@openssh.com. exec and serve connect to each; exec -v names the
# exchange; one that is not post-quantum gets OpenSSH 10.1's warning unless -q or a
# KexAlgorithms of the user's; KexAlgorithms +, - and ^ still steer the choice; and a 2 GiB
# transfer through a server that rekeys every 64 MiB (RekeyLimit) works with both hybrids.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

MLKEM=mlkem768x25519-sha256 SNTRUP=sntrup761x25519-sha512 SNTRUP_OLD=sntrup761x25519-sha512@openssh.com
WARN="sshmcp: ** WARNING: connection is not using a post-quantum key exchange algorithm.
sshmcp: ** This session may be vulnerable to \"store now, decrypt later\" attacks.
sshmcp: ** The server may need to be upgraded. See https://openssh.com/pq.html"
# The rekeying transfers: 2 GiB each, 32 rekeys (about 25 s each here, the ASan build too).
XFER=$((2 * 1024 * 1024 * 1024))

# kexes NAME: the key exchanges server NAME agreed on since log_mark, one per line (sshd
# ends the lines its session process logs after authentication with CR LF)
kexes() { log_since "$1" | tr -d '\r' | sed -n 's/.*kex: algorithm: \([^ ]*\).*/\1/p'; }

# OpenSSH 10's sshd has no OpenSSL: Ed25519 keys only, on both sides.
sshd10_start MLK "KexAlgorithms $MLKEM"
sshd10_start SNT10 "KexAlgorithms $SNTRUP"
sshd10_start DEF10
sshd10_start C25519 'KexAlgorithms curve25519-sha256'
sshd_start SNT92 "KexAlgorithms $SNTRUP_OLD"
for n in MLK SNT10 DEF10 C25519 SNT92; do trust "$n"; done
ssh_alias mlkem MLK "IdentityFile $KEY_ED25519"
ssh_alias sntrup10 SNT10 "IdentityFile $KEY_ED25519"
ssh_alias def10 DEF10 "IdentityFile $KEY_ED25519"
ssh_alias c25519 C25519 "IdentityFile $KEY_ED25519"
ssh_alias sntrup92 SNT92

# ============================================== exec: each hybrid, each server ===
for row in "mlkem MLK $MLKEM OpenSSH-10" "sntrup10 SNT10 $SNTRUP OpenSSH-10" \
	"def10 DEF10 $MLKEM OpenSSH-10-defaults" "sntrup92 SNT92 $SNTRUP_OLD OpenSSH-9.2"; do
	read -r alias srv kex what <<<"$row"
	log_mark "$srv"
	mcp -v "$alias" "echo pq-$alias"
	check_exit "$RC" 0 "$what, $kex: exec connects and runs the command"
	check_eq "$OUT" "pq-$alias" "$what, $kex: the command's output"
	check_eq "$(kexes "$srv")" "$kex" "$what: the server's log shows $kex agreed on"
	check_contains "$ERR" "debug1: kex: $kex, host key: ssh-ed25519" "$what: exec -v names $kex"
	check_not_contains "$ERR" "post-quantum" "$what: no warning for a post-quantum exchange"
done
mcp sntrup92 'echo quiet'
check_eq "$ERR" "" "a post-quantum exchange without -v: nothing on stderr"

# ================================= a classic exchange: OpenSSH 10.1's warning ===
log_mark C25519
mcp c25519 'echo classic'
check_exit "$RC" 0 "curve25519-sha256 only: exec still connects"
check_eq "$(kexes C25519)" curve25519-sha256 "the server agreed on curve25519-sha256"
check_eq "$ERR" "$WARN" "a classic exchange gets OpenSSH 10.1's three warning lines on stderr"
mcp -v c25519 'echo classic'
check_contains "$ERR" "debug1: kex: curve25519-sha256," "exec -v names curve25519-sha256"
check_contains "$ERR" "** WARNING: connection is not using a post-quantum" "and warns with -v too"
mcp -q c25519 'echo classic'
check_eq "$ERR" "" "-q: no warning"
mcp -o KexAlgorithms=curve25519-sha256 c25519 'echo classic'
check_eq "$ERR" "" "KexAlgorithms set by the user: no warning (as OpenSSH)"
check_eq "$OUT" "classic" "and the command ran"

# ================================================ KexAlgorithms +, -, ^ ===
log_mark DEF10
mcp -o KexAlgorithms=-$MLKEM def10 'echo minus'
check_eq "$RC/$(kexes DEF10)" "0/$SNTRUP" "KexAlgorithms -$MLKEM: OpenSSH 10 agrees on $SNTRUP"
log_mark DEF10
mcp -o "KexAlgorithms=-$MLKEM,$SNTRUP" def10 'echo minus2'
check_eq "$RC/$(kexes DEF10)" "0/$SNTRUP_OLD" "KexAlgorithms minus both new names: $SNTRUP_OLD"
log_mark DEF10
mcp -o KexAlgorithms=^curve25519-sha256 def10 'echo caret'
check_eq "$RC/$(kexes DEF10)" "0/curve25519-sha256" "KexAlgorithms ^curve25519-sha256: curve25519 first"
check_eq "$ERR" "" "a classic exchange the user asked for: no warning"
log_mark DEF10
mcp -o KexAlgorithms=+diffie-hellman-group1-sha1 def10 'echo plus'
check_eq "$RC/$(kexes DEF10)" "0/$MLKEM" "KexAlgorithms +...: the defaults stay first, $MLKEM"
mcp -o KexAlgorithms=$MLKEM sntrup92 'echo none'
check_exit "$RC" 255 "only $MLKEM against OpenSSH 9.2: no common exchange, exit 255"
check_contains "$ERR" "key exchange with 127.0.0.1 port $SNT92_PORT failed" "and ssh's kind of message"
mcp -G -o KexAlgorithms=-curve25519-sha256@libssh.org def10
check_contains "$OUT" "kexalgorithms $MLKEM,$SNTRUP,$SNTRUP_OLD,curve25519-sha256,ecdh-sha2-nistp256" \
	"exec -G: the post-quantum names lead the default list"

# ==================================================== serve connects too ===
mcp_need_node
export MCP_PQ_HOSTS="mlkem:$MLK_LOG:$MLKEM sntrup10:$SNT10_LOG:$SNTRUP def10:$DEF10_LOG:$MLKEM sntrup92:$SNT92_LOG:$SNTRUP_OLD"
MCP_SERVER_LOG="$FIX/mcp-server.log" T=200 mcp_scenarios "$MCP_DIR/pqkex.mjs"

# ============================== rekeying every 64 MiB through a big transfer ===
sshd10_start REKEY10 "KexAlgorithms $MLKEM" 'RekeyLimit 64M'
sshd_start REKEY92 "KexAlgorithms $SNTRUP_OLD" 'RekeyLimit 64M'
trust REKEY10
trust REKEY92
ssh_alias rekey10 REKEY10 "IdentityFile $KEY_ED25519"
ssh_alias rekey92 REKEY92
for row in "rekey10 REKEY10 $MLKEM" "rekey92 REKEY92 $SNTRUP_OLD"; do
	read -r alias srv kex <<<"$row"
	log_mark "$srv"
	got=$(timeout 500 "$SSHMCP" exec "$alias" "head -c $XFER /dev/zero" 2>"$FIX/err" | wc -c)
	rc=${PIPESTATUS[0]}
	n=$(kexes "$srv" | grep -c -x -F "$kex")
	check_eq "$rc/$got" "0/$XFER" "$kex, RekeyLimit 64M: $XFER bytes arrive whole (exit 0)"
	if [ "$n" -ge $((XFER / (64 * 1024 * 1024))) ]; then ok "$kex: the server rekeyed ($n exchanges)"
	else fail "$kex: the server rekeyed" "$n exchanges in its log; stderr: $(head -c 600 "$FIX/err")"; fi
done
