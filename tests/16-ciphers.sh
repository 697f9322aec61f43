#!/bin/bash
# 16-ciphers: a user moves bulk data over each cipher sshmcp offers — AES-GCM (RFC 5647 as
# OpenSSH does it, patches/libssh2-0002-mbedtls-aes-gcm.patch), chacha20-poly1305 and
# AES-CTR — against servers that allow only that cipher: BULK_MB MiB each way (tests/lib.sh),
# byte-exact; the AEAD ciphers once per implementation (patches/libssh2-0004-fast-aead.patch:
# SIMD, AES-NI, and the portable code, chosen with SSHMCP_AEAD_IMPL). A man in the middle who
# changes one byte of a GCM packet ends the session; no altered byte reaches stdout. Private
# keys encrypted with AES-GCM load. Dropbear, where it has GCM.
. "$(dirname "$0")/lib.sh"

SIZE_MB=$BULK_MB
FILE=$FIX/data.bin
head -c "${SIZE_MB}M" /dev/urandom >"$FILE"
chmod 644 "$FILE"
SUM=$(sha256sum <"$FILE" | cut -d' ' -f1)

# neg_line: sshmcp's "debug1: kex: ..." line from the last `mcp -v` (empty if none)
neg_line() { printf '%s\n' "$ERR" | grep -m 1 '^debug1: kex: ' || true; }
sum_of() { sha256sum <"$1" | cut -d' ' -f1; }

# transfer ALIAS LABEL [mcp args...]: 50 MiB down (remote cat → stdout) and up (stdin →
# remote sha256sum), each checked by SHA-256
transfer() {
	local alias=$1 label=$2; shift 2
	T=120 mcp "$@" "$alias" "cat $FILE"
	check_exit "$RC" 0 "$label: cat of $SIZE_MB MiB down exits 0"
	check_eq "$(sum_of "$FIX/out")" "$SUM" "$label: $SIZE_MB MiB down, byte-exact (sha256)"
	T=120 mcp "$@" "$alias" sha256sum <"$FILE"
	check_exit "$RC" 0 "$label: $SIZE_MB MiB up through stdin exits 0"
	check_eq "${OUT%% *}" "$SUM" "$label: $SIZE_MB MiB up, byte-exact (remote sha256sum)"
}

# ======================================== 1: one cipher per server, as ssh negotiates it ===
for c in aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com aes256-ctr; do
	n=C${c//[^a-z0-9]/_}
	sshd_start "$n" "Ciphers $c"
	trust "$n"
	ssh_alias "h$n" "$n"
	ossh "h$n" echo SSH-OK
	check_eq "$OUT" SSH-OK "fixture: ssh connects to an sshd allowing only $c"
	log_mark "$n"
	mcp -v "h$n" echo RAN
	check_eq "$OUT" RAN "only $c: sshmcp exec runs the command"
	check_contains "$(neg_line)" "cipher: $c," "only $c: -v names cipher $c"
	if log_since "$n" | grep -q "kex: server->client cipher: $c "; then
		ok "only $c: the sshd log shows $c server->client"
	else
		fail "only $c: the sshd log shows $c server->client" "$(log_since "$n" | grep kex: | tail -n 5)"
	fi
	transfer "h$n" "$c"
	# the same with each lower implementation (the line above ran the best the CPU has)
	case $c in aes256-ctr) continue ;; esac
	for impl in avx2 sse2 portable; do
		export SSHMCP_AEAD_IMPL=$impl
		transfer "h$n" "$c [SSHMCP_AEAD_IMPL=$impl]"
		unset SSHMCP_AEAD_IMPL
	done
done

# -o Ciphers picks GCM out of a server's full list, too
sshd_start ALL
trust ALL
ssh_alias hall ALL
for c in aes128-gcm@openssh.com aes256-gcm@openssh.com; do
	mcp -v -o Ciphers=$c hall echo RAN
	check_eq "$OUT" RAN "-o Ciphers=$c against a default sshd: connects"
	check_contains "$(neg_line)" "cipher: $c," "-o Ciphers=$c: -v shows $c"
done

# ======================================= 2: a changed byte in a GCM packet ends the session ===
# tamper.py LISTEN-PORT-FILE TARGET-PORT MODE N: a one-connection TCP relay to the sshd that,
# in the server's N-th encrypted packet, flips one bit of the ciphertext (MODE data) or of
# the 16-byte tag (MODE tag). GCM leaves packet_length in clear, so packets can be counted.
cat >"$FIX/tamper.py" <<'EOF'
import select, socket, struct, sys
port_file, target, mode, nth = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(1)
open(port_file + ".tmp", "w").write(str(ls.getsockname()[1]))
__import__("os").rename(port_file + ".tmp", port_file)
cli, _ = ls.accept()
srv = socket.create_connection(("127.0.0.1", target))
buf, banner, newkeys, count, done = b"", False, False, 0, False

def down(data):   # server -> client: parse until the flip, then pass through
    global buf, banner, newkeys, count, done
    if done:
        return data
    buf += data
    out = b""
    while True:
        if not banner:
            i = buf.find(b"\r\n")
            if i < 0: break
            line, buf = buf[:i + 2], buf[i + 2:]
            out += line
            banner = line.startswith(b"SSH-")
            continue
        if len(buf) < 6: break
        plen = struct.unpack(">I", buf[:4])[0]
        total = 4 + plen + (16 if newkeys else 0)
        if len(buf) < total: break
        pkt, buf = bytearray(buf[:total]), buf[total:]
        if not newkeys:
            newkeys = pkt[5] == 21          # SSH_MSG_NEWKEYS: encrypted from here
        else:
            count += 1
            if count == nth:
                pkt[total - 1 if mode == "tag" else 4 + plen // 2] ^= 0x01
                out += bytes(pkt) + buf
                buf, done = b"", True
                break
        out += bytes(pkt)
    return out

socks = [cli, srv]
try:
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            d = s.recv(65536)
            if not d:
                sys.exit(0)
            if s is srv:
                cli.sendall(down(d))
            else:
                srv.sendall(d)
except OSError:     # a reset: the client gave up on the session, as it should
    pass
EOF
# The relay fronts section 1's aes128-gcm-only sshd. The packet it spoils lies a quarter into
# the download (OpenSSH sends 32 KiB data packets: 32 a MiB).
gport=Caes128_gcm_openssh_com_PORT gkeys=Caes128_gcm_openssh_com_HOSTKEYS
for mode in data tag; do
	rm -f "$FIX/px.port"
	"$PY" "$FIX/tamper.py" "$FIX/px.port" "${!gport}" "$mode" $((SIZE_MB * 8)) &
	_track $!
	wait_for 5 test -s "$FIX/px.port" || die "tamper relay did not start"
	_export PX_ADDR 127.0.0.1; _export PX_PORT "$(cat "$FIX/px.port")"
	_export PX_HOSTKEYS "${!gkeys}"
	trust PX
	ssh_alias "hpx$mode" PX
	T=120 mcp "hpx$mode" "cat $FILE"
	check_exit "$RC" 255 "aes128-gcm, one bit of a packet's $mode flipped on the wire → 255"
	n=$(stat -c %s "$FIX/out")
	if [ "$n" -lt $((SIZE_MB * 1048576)) ] && cmp -s -n "$n" "$FIX/out" "$FILE"; then
		ok "flipped $mode bit: stdout is an unaltered prefix of the file ($n bytes)"
	else
		fail "flipped $mode bit: stdout is an unaltered prefix of the file" "$n bytes; $(cmp "$FIX/out" "$FILE" 2>&1)"
	fi
	check_one_line "$ERR" "flipped $mode bit: one line on stderr"
	note "flipped $mode bit: sshmcp says: $ERR"
done

# ============================================== 3: private keys encrypted with AES-GCM ===
sshd_start KEYS
trust KEYS
for c in aes128-gcm@openssh.com aes256-gcm@openssh.com; do
	k=$FIX/keys/gcm_${c%%-gcm*}
	ssh-keygen -q -t ed25519 -Z "$c" -N "$T_PASSPHRASE" -C "$T_TAG-gcm" -f "$k" </dev/null >/dev/null 2>&1 ||
		die "ssh-keygen -Z $c"
	cat "$k.pub" >>"$AUTHORIZED_KEYS"
	rm "$k.pub"   # the public key must come from the decrypted private key
	check_eq "$(ssh-keygen -y -P "$T_PASSPHRASE" -f "$k" 2>/dev/null | cut -d' ' -f1)" ssh-ed25519 \
		"fixture: ssh-keygen reads back an Ed25519 key encrypted with $c"
	ssh_alias "hk${c%%-gcm*}" KEYS "IdentityFile $k"
	SSHMCP_PASSPHRASE=$T_PASSPHRASE mcp "hk${c%%-gcm*}" whoami
	check_eq "$OUT" "$T_USER" "key encrypted with $c (OpenSSH format): logs in"
	SSHMCP_PASSPHRASE='not the passphrase' mcp "hk${c%%-gcm*}" echo RAN
	check_exit "$RC" 255 "key encrypted with $c, wrong passphrase → 255"
	check_eq "$OUT" "" "key encrypted with $c, wrong passphrase: the command did not run"
done

# ================================================================= 4: Dropbear ===
dropbear_start DB
trust DB
ssh_alias hdb DB
mcp -v hdb echo RAN
check_eq "$OUT" RAN "dropbear, default ciphers: connects"
transfer hdb "dropbear $(neg_line | grep -o 'cipher: [^,]*')"
ossh -o Ciphers=aes128-gcm@openssh.com hdb echo SSH-OK
if [ "$OUT" = SSH-OK ]; then
	mcp -v -o Ciphers=aes128-gcm@openssh.com hdb echo RAN
	check_contains "$(neg_line)" "cipher: aes128-gcm@openssh.com," "dropbear: aes128-gcm negotiated"
	transfer hdb "dropbear aes128-gcm" -o Ciphers=aes128-gcm@openssh.com
else
	skip "dropbear with aes128-gcm@openssh.com" \
		"$(dropbear -V 2>&1 | head -n 1) has no AES-GCM (ssh: $(printf '%s' "$ERR" | tail -n 1))"
fi
