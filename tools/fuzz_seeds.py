#!/usr/bin/env python3
"""fuzz_seeds.py — write the seeds in tests/fuzz/session/ and tests/fuzz/config/ (run from the
repo root; tests/fuzz/json/ is hand-written).

Each seed is one flags byte (tests/fuzz_session.c: bits 0-1 exec/shell/sftp/tcpip, bit 2
sshmcp's algorithm lists) and then a server's whole side of a conversation: version line,
KEXINIT, the key-exchange reply, NEWKEYS, then service, auth, channel or SFTP replies. Past
NEWKEYS the fuzz build's ciphers are the identity and its MACs and tags all zero, so packets
are plaintext with zero bytes where the MAC or tag goes. Signatures are never checked there,
but the keys and signatures have the right shapes so the parsers take them.
"""
import base64
import hashlib
import hmac
import os
import re
import struct

OUT = "tests/fuzz/session"
FL_EXEC, FL_SHELL, FL_SFTP, FL_TCPIP, FL_SSHMCP, FL_TRICKLE = 0, 1, 2, 3, 4, 8

# RFC 3526 group 14 (2048-bit MODP): a prime in the range libssh2 asks for in group exchange.
P2048 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
    "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
P256_G = bytes.fromhex(
    "04" "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
    "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")


def u32(n):
    return struct.pack(">I", n)


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def mpint(n):
    if n == 0:
        return u32(0)
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if b[0] & 0x80:
        b = b"\0" + b
    return string(b)


MAC_LEN = {"hmac-sha2-256": 32, "hmac-sha2-512": 64, "hmac-sha1": 20}


def packet(payload, mode="plain", mac="hmac-sha2-256"):
    """Binary packet (RFC 4253 6); mode names the negotiated cipher after NEWKEYS."""
    block = 16 if mode in ("ctr", "gcm") else 8
    # Padding covers length+pad byte+payload, except for AEAD modes, where the length is AAD.
    covered = 1 + len(payload) + (0 if mode in ("chacha", "gcm") else 4)
    pad = block - covered % block
    if pad < 4:
        pad += block
    body = bytes([pad]) + payload + b"\0" * pad
    tail = {"plain": 0, "ctr": MAC_LEN[mac], "chacha": 16, "gcm": 16}[mode]
    return u32(len(body)) + body + b"\0" * tail


def kexinit(kex, hostkey, cipher, mac="hmac-sha2-256"):
    lists = [kex, hostkey, cipher, cipher, mac, mac, "none", "none", "", ""]
    return bytes([20]) + bytes(range(16)) + b"".join(string(x) for x in lists) + b"\0" + u32(0)


ED_KEY = string("ssh-ed25519") + string(bytes(range(32)))
# Signatures as the key-exchange reply carries them, inside its string.
ED_SIG = string("ssh-ed25519") + string(b"\x11" * 64)
RSA_N = (1 << 2047) | 0x1234567
RSA_KEY = string("ssh-rsa") + mpint(65537) + mpint(RSA_N)
RSA_SIG = string("rsa-sha2-256") + string(b"\x22" * 256)
EC_KEY = string("ecdsa-sha2-nistp256") + string("nistp256") + string(P256_G)
EC_SIG = string("ecdsa-sha2-nistp256") + string(mpint(12345) + mpint(67890))


def kex_curve25519(hostkey=ED_KEY, sig=ED_SIG):
    return bytes([31]) + string(hostkey) + string(b"\x09" + b"\0" * 31) + string(sig)


# The hybrid exchanges' Q_S: a KEM ciphertext (any bytes: decapsulation rejects implicitly),
# then the X25519 public key.
MLKEM768_CT, SNTRUP761_CT = 1088, 1039


def kex_hybrid(ct_len, hostkey=ED_KEY, sig=ED_SIG):
    ct = bytes((i * 7 + 3) % 256 for i in range(ct_len))
    return bytes([31]) + string(hostkey) + string(ct + b"\x09" + b"\0" * 31) + string(sig)


def kex_dh_reply(hostkey=ED_KEY, sig=ED_SIG):
    return bytes([31]) + string(hostkey) + mpint(P2048 // 3) + string(sig)


def kex_gex():
    group = bytes([31]) + mpint(P2048) + mpint(2)
    reply = bytes([33]) + string(ED_KEY) + mpint(P2048 // 5) + string(ED_SIG)
    return [group, reply]


def kex_ecdh_p256():
    return bytes([31]) + string(EC_KEY) + string(P256_G) + string(EC_SIG)


def service_and_auth(methods="password,keyboard-interactive", how="password"):
    out = [bytes([6]) + string("ssh-userauth"),
           bytes([51]) + string(methods) + b"\0"]        # USERAUTH_FAILURE to "none"
    if how == "kbdint":                                  # INFO_REQUEST, one prompt
        out.append(bytes([60]) + string("") + string("") + string("") + u32(1)
                   + string("Password: ") + b"\0")
    out.append(bytes([52]))                              # USERAUTH_SUCCESS
    return out


def channel_confirm():
    return bytes([91]) + u32(0) + u32(7) + u32(2 * 1024 * 1024) + u32(32768)


def ok():
    return bytes([99]) + u32(0)


def exec_replies(data=b"Linux fuzz 6.1.0 x86_64\n"):
    return [channel_confirm(), ok(), ok(),
            bytes([93]) + u32(0) + u32(65536),                         # WINDOW_ADJUST
            bytes([94]) + u32(0) + string(data),
            bytes([95]) + u32(0) + u32(1) + string(b"warning\n"),
            bytes([98]) + u32(0) + string("exit-status") + b"\0" + u32(0),
            bytes([96]) + u32(0), bytes([97]) + u32(0)]


def exit_signal_replies():
    return [channel_confirm(), ok(), ok(),
            bytes([94]) + u32(0) + string(b"partial"),
            bytes([98]) + u32(0) + string("exit-signal") + b"\0" + string("TERM") + b"\0"
            + string("killed") + string("en"),
            bytes([96]) + u32(0), bytes([97]) + u32(0)]


def shell_replies():
    return [channel_confirm(), ok(), ok(),
            bytes([94]) + u32(0) + string(b"$ echo hi\r\nhi\r\n$ "),
            bytes([96]) + u32(0), bytes([97]) + u32(0)]


def tcpip_replies():
    return [channel_confirm(), bytes([94]) + u32(0) + string(b"SSH-2.0-inner\r\n"),
            bytes([96]) + u32(0), bytes([97]) + u32(0)]


def sftp(payloads):
    """SFTP packets, each as one CHANNEL_DATA."""
    return [bytes([94]) + u32(0) + string(u32(len(p)) + p) for p in payloads]


def attrs(size=6, perm=0o100644):
    return u32(0x1 | 0x4) + struct.pack(">Q", size) + u32(perm)


def sftp_replies():
    status = lambda rid, code: bytes([101]) + u32(rid) + u32(code) + string("") + string("")
    return [channel_confirm(), ok()] + sftp([
        bytes([2]) + u32(3),                                            # VERSION 3
        bytes([104]) + u32(0) + u32(1) + string("/home/fuzz") + string("") + u32(0),
        bytes([105]) + u32(1) + attrs(),                                # stat
        bytes([102]) + u32(2) + string(b"H1"),                          # opendir
        bytes([104]) + u32(3) + u32(2) + string("a") + string("-rw-r--r-- 1 a a 6 a")
        + attrs() + string("b") + string("drwxr-xr-x 2 b b 0 b") + attrs(0, 0o40755),
        status(4, 1), status(5, 0),                                     # EOF, closedir
        bytes([102]) + u32(6) + string(b"H2"),                          # open
        bytes([103]) + u32(7) + string(b"fuzzy\n"),                    # DATA
        status(8, 1), status(9, 1), status(10, 0), status(11, 0), status(12, 0)])


def conversation(flags, kex_names, hostkey, cipher, kex_packets, rest, mode, mac="hmac-sha2-256",
                 version=b"SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n", banner=b""):
    out = bytes([flags]) + banner + version
    out += packet(kexinit(kex_names, hostkey, cipher, mac))
    for p in kex_packets:
        out += packet(p)
    out += packet(bytes([21]))                                          # NEWKEYS
    for p in rest:
        out += packet(p, mode, mac)
    return out


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    c25519 = ("curve25519-sha256", "ssh-ed25519")
    write("curve25519-ctr-exec", conversation(
        FL_EXEC, *c25519, "aes128-ctr", [kex_curve25519()], service_and_auth() + exec_replies(),
        "ctr"))
    write("curve25519-chacha-shell", conversation(
        FL_SHELL | FL_SSHMCP, *c25519, "chacha20-poly1305@openssh.com", [kex_curve25519()],
        service_and_auth("keyboard-interactive", "kbdint") + shell_replies(), "chacha"))
    write("curve25519-gcm-sftp", conversation(
        FL_SFTP | FL_SSHMCP, *c25519, "aes256-gcm@openssh.com", [kex_curve25519()],
        service_and_auth() + sftp_replies(), "gcm"))
    write("curve25519-ctr-tcpip", conversation(
        FL_TCPIP, *c25519, "aes256-ctr", [kex_curve25519()], service_and_auth() + tcpip_replies(),
        "ctr", mac="hmac-sha2-512", banner=b"Welcome, this is not SSH yet\r\n"))
    write("curve25519-exit-signal", conversation(
        FL_EXEC, *c25519, "aes128-ctr", [kex_curve25519()],
        service_and_auth() + exit_signal_replies(), "ctr"))
    write("gex-sha256-exec", conversation(
        FL_EXEC, "diffie-hellman-group-exchange-sha256", "ssh-ed25519", "aes128-ctr", kex_gex(),
        service_and_auth() + exec_replies(), "ctr"))
    write("gex-sha256-sftp", conversation(
        FL_SFTP | FL_SSHMCP, "diffie-hellman-group-exchange-sha256", "ssh-ed25519",
        "chacha20-poly1305@openssh.com", kex_gex(), service_and_auth() + sftp_replies(),
        "chacha"))
    write("group14-rsa-exec", conversation(
        FL_EXEC, "diffie-hellman-group14-sha256", "rsa-sha2-256", "aes128-ctr",
        [kex_dh_reply(RSA_KEY, RSA_SIG)], service_and_auth() + exec_replies(), "ctr"))
    write("group14-sha1-exec", conversation(
        FL_EXEC, "diffie-hellman-group14-sha1", "ssh-rsa", "aes128-ctr",
        [kex_dh_reply(RSA_KEY, string("ssh-rsa") + string(b"\x22" * 256))],
        service_and_auth() + exec_replies(), "ctr", mac="hmac-sha1"))
    write("ecdh-p256-exec", conversation(
        FL_EXEC | FL_SSHMCP, "ecdh-sha2-nistp256", "ecdsa-sha2-nistp256", "aes128-ctr",
        [kex_ecdh_p256()], service_and_auth() + exec_replies(), "ctr"))
    # The server re-keys between authentication and the channel (RFC 4253 9).
    rekey = [kexinit("curve25519-sha256", "ssh-ed25519", "aes128-ctr"), kex_curve25519(),
             bytes([21])]
    write("curve25519-rekey-exec", conversation(
        FL_EXEC, *c25519, "aes128-ctr", [kex_curve25519()],
        service_and_auth() + rekey + exec_replies(), "ctr"))
    # The same conversations arriving a few bytes at a time.
    write("trickle-rekey-exec", conversation(
        FL_EXEC | FL_TRICKLE, *c25519, "aes128-ctr", [kex_curve25519()],
        service_and_auth() + rekey + exec_replies(), "ctr"))
    write("trickle-gex-sftp", conversation(
        FL_SFTP | FL_SSHMCP | FL_TRICKLE, "diffie-hellman-group-exchange-sha256", "ssh-ed25519",
        "chacha20-poly1305@openssh.com", kex_gex(), service_and_auth() + sftp_replies(),
        "chacha"))
    # The post-quantum hybrids (issue 21), and a re-exchange with one.
    mlkem = ("mlkem768x25519-sha256", "ssh-ed25519")
    write("mlkem768-chacha-exec", conversation(
        FL_EXEC | FL_SSHMCP, *mlkem, "chacha20-poly1305@openssh.com", [kex_hybrid(MLKEM768_CT)],
        service_and_auth() + exec_replies(), "chacha"))
    write("sntrup761-ctr-shell", conversation(
        FL_SHELL, "sntrup761x25519-sha512", "ssh-ed25519", "aes128-ctr",
        [kex_hybrid(SNTRUP761_CT)], service_and_auth() + shell_replies(), "ctr",
        mac="hmac-sha2-512"))
    write("sntrup761-openssh-gcm-sftp", conversation(
        FL_SFTP | FL_SSHMCP, "sntrup761x25519-sha512@openssh.com", "ssh-ed25519",
        "aes256-gcm@openssh.com", [kex_hybrid(SNTRUP761_CT)],
        service_and_auth() + sftp_replies(), "gcm"))
    pq_rekey = [kexinit(*mlkem, "aes128-ctr"), kex_hybrid(MLKEM768_CT), bytes([21])]
    write("mlkem768-rekey-exec", conversation(
        FL_EXEC, *mlkem, "aes128-ctr", [kex_hybrid(MLKEM768_CT)],
        service_and_auth() + pq_rekey + exec_replies(), "ctr"))
    write("trickle-mlkem768-exec", conversation(
        FL_EXEC | FL_TRICKLE, *mlkem, "aes128-ctr", [kex_hybrid(MLKEM768_CT)],
        service_and_auth() + exec_replies(), "ctr"))
    # The first steps alone, for the fuzzer to grow from.
    write("version-only", b"\0SSH-2.0-x\r\n")
    write("kexinit-only", b"\0SSH-2.0-x\r\n" + packet(kexinit(
        "curve25519-sha256,diffie-hellman-group-exchange-sha256", "ssh-ed25519,rsa-sha2-512",
        "chacha20-poly1305@openssh.com,aes128-ctr")))
    ext_info = bytes([7]) + u32(1) + string("server-sig-algs") + string("ssh-ed25519,rsa-sha2-256")
    write("curve25519-extinfo-exec", conversation(
        FL_EXEC, "curve25519-sha256,ext-info-s", "ssh-ed25519", "aes128-ctr", [kex_curve25519()],
        [ext_info, bytes([2]) + string("ignored"), bytes([4]) + b"\1" + string("debug")
         + string("")] + service_and_auth() + exec_replies(), "ctr"))


# fuzz_config's host aliases, by selector bits 1-2 (tests/fuzz_config.c).
ALIASES = ["web1", "db.example.com", "10.0.0.1", "WEB1"]


def config_seeds():
    """tests/ssh_config/*.conf with their hosts renamed to the harness's aliases (selector
    byte picks the first), and known_hosts files for fuzz_config's names and keys."""
    out = "tests/fuzz/config"
    os.makedirs(out, exist_ok=True)
    src = "tests/ssh_config"
    for name in sorted(os.listdir(src)):
        if not name.endswith(".conf"):
            continue
        text = open(os.path.join(src, name)).read().replace("@D@", "/nonexistent")
        m = re.match(r"# hosts: (.*)", text)
        hosts = m.group(1).split()[:len(ALIASES)] if m else []
        for i, h in enumerate(hosts):
            text = re.sub(r"(?<![\w.-])%s(?![\w.-])" % re.escape(h), ALIASES[i], text)
        with open(os.path.join(out, "cfg-" + name[:-5]), "wb") as f:
            f.write(b"\0" + text.encode())
    ed = base64.b64encode(string("ssh-ed25519") + string(bytes(range(32)))).decode()
    other = base64.b64encode(string("ssh-ed25519") + string(b"\xff" * 32)).decode()
    ec = base64.b64encode(string("ecdsa-sha2-nistp256") + string("nistp256")).decode()
    salt = bytes(range(20))
    mac = hmac.new(salt, b"web1", hashlib.sha1).digest()
    hashed = "|1|%s|%s" % (base64.b64encode(salt).decode(), base64.b64encode(mac).decode())
    files = {
        "kh-match": "web1 ssh-ed25519 %s\n" % ed,
        "kh-port": "[web1]:2222,10.0.0.1 ssh-ed25519 %s comment\n" % ed,
        "kh-hashed": "# hashed\n%s ssh-ed25519 %s\n" % (hashed, ed),
        "kh-changed": "web*,!db* ssh-ed25519 %s\n\nweb1 ecdsa-sha2-nistp256 %s\n" % (other, ec),
        "kh-revoked": "@revoked * ssh-ed25519 %s\r\nweb1 ssh-ed25519 %s\r\n" % (ed, ed),
        "kh-cert-authority": "@cert-authority *.example.com ssh-ed25519 %s\n" % ed,
        "kh-patterns": "\t w?b1 ,[web1]:*  ssh-ed25519  %s\n!web1 ssh-ed25519 %s\n" % (ed, other),
        "kh-bad": "web1\nweb1 ssh-ed25519\nweb1 ssh-ed25519 !!!notbase64\n|1|x| ssh-ed25519 %s\n" % ed,
    }
    for name, text in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"\1" + text.encode())


def bad_tag(payload):
    """A chacha20-poly1305 packet whose Poly1305 tag is wrong (not all zero)."""
    good = packet(payload, "chacha")
    return good[:-16] + b"\1" * 16


def regress_seeds():
    """Reproducers of what the session target found (patches/README names the fixes)."""
    out = "tests/fuzz/regress/session"
    os.makedirs(out, exist_ok=True)
    c25519 = ("curve25519-sha256", "ssh-ed25519")
    # Key exchange fails after the host key was imported (the signature blob is one string
    # too deep): session_free() leaked the key (libssh2-101-session.patch, upstream #2347).
    bad_sig = bytes([31]) + string(ED_KEY) + string(b"\x09" + b"\0" * 31) + string(string(ED_SIG))
    with open(os.path.join(out, "leak-hostkey-failed-kex"), "wb") as f:
        f.write(conversation(FL_EXEC, *c25519, "aes128-ctr", [bad_sig], [], "ctr"))
    # The server re-keys after authentication: the first host key copy leaked
    # (libssh2-103-kex.patch).
    rekey = [kexinit(*c25519, "aes128-ctr"), kex_curve25519(), bytes([21])]
    with open(os.path.join(out, "leak-hostkey-copy-rekey"), "wb") as f:
        f.write(conversation(FL_EXEC, *c25519, "aes128-ctr", [kex_curve25519()],
                             service_and_auth() + rekey, "ctr"))
    # One forged packet after the channel opened: crypt() failed with 1, taken for a packet
    # type, and _libssh2_channel_write() re-read it forever (libssh2-102-transport.patch).
    with open(os.path.join(out, "hang-chacha-bad-tag"), "wb") as f:
        f.write(conversation(FL_TCPIP, *c25519, "chacha20-poly1305@openssh.com",
                             [kex_curve25519()], service_and_auth() + [channel_confirm()],
                             "chacha") + bad_tag(bytes([94]) + u32(0) + string(b"x")))


if __name__ == "__main__":
    main()
    config_seeds()
    regress_seeds()
