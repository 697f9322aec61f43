#!/usr/bin/env python3
# ssh-aead.py — writes ssh-chachapoly.txt and ssh-aesgcm.txt, whole SSH packets encrypted
# by OpenSSL (through python3-cryptography) the way OpenSSH does: known answers for
# tests/aead.c that do not come from the code under test. Deterministic (seeded), so a run
# reproduces the files. Run: python3 ssh-aead.py (needs python3-cryptography).
import hashlib, random, struct
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305

rng = random.Random(20261205)

def plain(total, seed):
    """A packet of total bytes: packet_length (total - 4), then a byte pattern."""
    return struct.pack('>I', total - 4) + bytes((i * 131 + seed) & 0xff for i in range(4, total))

def chacha(key, ctr, seq, data):
    # OpenSSL's 16-byte ChaCha20 IV is state words 12..15: the 64-bit block counter of
    # original ChaCha20 (little-endian) and the 64-bit nonce, here the sequence number
    # big-endian, as OpenSSH's chacha_ivsetup() puts it.
    iv = struct.pack('<Q', ctr) + struct.pack('>Q', seq)
    return Cipher(algorithms.ChaCha20(key, iv), None).encryptor().update(data)

def chachapoly(key, seq, pkt):
    # PROTOCOL.chacha20poly1305: K_2 (first 32 bytes) for the payload and the Poly1305 key,
    # K_1 (last 32) for the length.
    k2, k1 = key[:32], key[32:]
    polykey = chacha(k2, 0, seq, bytes(32))
    wire = chacha(k1, 0, seq, pkt[:4]) + chacha(k2, 1, seq, pkt[4:])
    return wire + Poly1305.generate_tag(polykey, wire)

with open('ssh-chachapoly.txt', 'w') as f:
    f.write('# chacha20-poly1305@openssh.com packets, made by ssh-aead.py (OpenSSL through\n'
            '# python3-cryptography). Fields: name seqno key plain-length seed wire-sha256.\n'
            '# The plain packet is packet_length (plain-length - 4, big-endian) and then byte\n'
            '# i = (i * 131 + seed) mod 256; wire is encrypted length, payload and tag.\n')
    n = 0
    for total in (16, 36, 68, 260, 516, 1028, 4100, 32772, 35000):
        for seq in (0, 1, 4294967295):
            key = bytes(rng.randrange(256) for _ in range(64))
            seed = rng.randrange(256)
            wire = chachapoly(key, seq, plain(total, seed))
            n += 1
            f.write('cp%d %d %s %d %d %s\n' % (n, seq, key.hex(), total, seed,
                                               hashlib.sha256(wire).hexdigest()))

with open('ssh-aesgcm.txt', 'w') as f:
    f.write('# aes128-gcm@openssh.com and aes256-gcm@openssh.com packets (RFC 5647 as OpenSSH\n'
            '# does it), made by ssh-aead.py (OpenSSL through python3-cryptography). Fields:\n'
            '# name key iv index plain-length seed wire-sha256. Packets with the same key and iv\n'
            '# follow each other: packet index uses the nonce iv + index (the last 8 bytes a\n'
            '# big-endian counter, modulo 2^64). The plain packet is as in ssh-chachapoly.txt;\n'
            '# packet_length is the AAD, wire is packet_length, ciphertext and tag.\n')
    n = 0
    for keylen in (16, 32):
        for start in (0, 0xfffffffffffffffe):
            key = bytes(rng.randrange(256) for _ in range(keylen))
            fixed = bytes(rng.randrange(256) for _ in range(4))
            iv = fixed + struct.pack('>Q', start)
            for index, total in enumerate((20, 36, 1044, 32788, 35012)):
                seed = rng.randrange(256)
                pkt = plain(total, seed)
                nonce = fixed + struct.pack('>Q', (start + index) % (1 << 64))
                wire = pkt[:4] + AESGCM(key).encrypt(nonce, pkt[4:], pkt[:4])
                n += 1
                f.write('gcm%d %s %s %d %d %d %s\n' % (n, key.hex(), iv.hex(), index, total, seed,
                                                       hashlib.sha256(wire).hexdigest()))
