#!/usr/bin/python3
"""tests/hostile/raw.py — SSH servers that misbehave before key exchange (python3 stdlib only).

    raw.py PORTFILE CASE...

Listens on 127.0.0.1, one ephemeral (high) port per CASE, and writes "CASE PORT" lines to
PORTFILE (atomically, once every socket listens). Every connection to a case's port gets that
case, in a thread of its own, so several clients can meet the same case at once. A connection
lives at most LIFETIME seconds; the process runs until it is killed (by PID, from the test).

Cases (see CASES below): what the server sends after accepting. Whatever the client sends is
read and dropped, so that the client never blocks writing.
"""
import os
import socket
import struct
import sys
import threading
import time

LIFETIME = 60          # seconds a connection is kept at most
VERSION = b"SSH-2.0-hostile_0.1\r\n"


def packet(payload, padding=None, pad_len=None):
    """An unencrypted binary packet: uint32 length, byte padding length, payload, padding."""
    if padding is None:
        n = -(5 + len(payload)) % 8
        if n < 4:
            n += 8
        padding = b"\0" * n
    pl = len(padding) if pad_len is None else pad_len
    body = bytes([pl]) + payload + padding
    return struct.pack(">I", len(body)) + body


def namelist(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def kexinit(lists, first_follows=False):
    p = bytes([20]) + os.urandom(16)
    for x in lists:
        p += x if isinstance(x, bytes) else namelist(x)
    return p + bytes([1 if first_follows else 0]) + b"\0\0\0\0"


GOOD_LISTS = ["curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
              "ecdsa-sha2-nistp256,ssh-ed25519,rsa-sha2-256",
              "aes128-ctr,aes256-ctr", "aes128-ctr,aes256-ctr",
              "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""]


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.closed = False
        self.t0 = time.monotonic()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        try:
            while True:
                if not self.s.recv(65536):
                    break
        except OSError:
            pass
        self.closed = True

    def send(self, b):
        try:
            self.s.sendall(b)
            return True
        except OSError:
            self.closed = True
            return False

    def hold(self, secs=LIFETIME):
        """Keep the connection open, silent, until the client goes or time is up."""
        while not self.closed and time.monotonic() - self.t0 < secs:
            time.sleep(0.1)


# ------------------------------------------------------------------ the cases ---
def c_preamble_1mb(c):
    """1 MB of lines before the version string, then the version, then silence."""
    line = b"hostile preamble line, not a version string ............................\r\n"
    sent = 0
    while sent < 1024 * 1024 and c.send(line * 64):
        sent += len(line) * 64
    c.send(VERSION)
    c.hold()


def c_endless_version(c):
    """A version line that never ends (no newline): 'SSH-2.0-AAAA...' until the client goes."""
    c.send(b"SSH-2.0-")
    chunk = b"A" * 65536
    while time.monotonic() - c.t0 < LIFETIME and c.send(chunk):
        pass


def c_silence(c):
    """Accept, then say nothing at all."""
    c.hold()


def _after_version(c, data, hold=True):
    c.send(VERSION)
    time.sleep(0.2)     # let the client's version and KEXINIT arrive first
    c.send(data)
    if hold:
        c.hold()


def c_len0(c):
    _after_version(c, struct.pack(">I", 0) + b"\0" * 64)


def c_len1(c):
    _after_version(c, struct.pack(">I", 1) + b"\0" * 64)


def c_len_max(c):
    _after_version(c, struct.pack(">I", 0xFFFFFFFF) + b"\0" * 64)


def c_padding_long(c):
    """A 24-byte packet (20 after the length) whose padding_length says 200."""
    _after_version(c, packet(bytes([20]) + b"\0" * 10, pad_len=200, padding=b"\0" * 8))


def c_kexinit_2g(c):
    """KEXINIT whose first name-list claims 2 GB (the packet itself is small)."""
    lists = [struct.pack(">I", 0x80000000) + b"curve25519-sha256"] + GOOD_LISTS[1:]
    _after_version(c, packet(kexinit(lists)))


def c_kexinit_4g(c):
    """KEXINIT whose host-key name-list length is 0xFFFFFFFF."""
    lists = GOOD_LISTS[:1] + [struct.pack(">I", 0xFFFFFFFF)] + GOOD_LISTS[2:]
    _after_version(c, packet(kexinit(lists)))


def c_kexinit_nocommon(c):
    """A well-formed KEXINIT with no algorithm in common with anyone."""
    lists = ["nothing-in-common@hostile.invalid"] * 8 + ["", ""]
    _after_version(c, packet(kexinit(lists)))


def c_stall_midpacket(c):
    """A KEXINIT packet cut after its first 40 bytes; the connection stays open, silent."""
    _after_version(c, packet(kexinit(GOOD_LISTS))[:40])


def c_close_midpacket(c):
    """A KEXINIT packet cut after its first 40 bytes, then the connection closes."""
    _after_version(c, packet(kexinit(GOOD_LISTS))[:40], hold=False)
    time.sleep(0.2)


CASES = {k[2:]: v for k, v in globals().items() if k.startswith("c_")}


def serve(name, ls):
    while True:
        try:
            s, _ = ls.accept()
        except OSError:
            return

        def run(s=s):
            c = Conn(s)
            try:
                CASES[name](c)
            except Exception as e:  # noqa: BLE001 — a hostile server only logs
                print(f"raw.py {name}: {e!r}", file=sys.stderr)
            finally:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        threading.Thread(target=run, daemon=True).start()


def main():
    if len(sys.argv) < 3 or any(c not in CASES for c in sys.argv[2:]):
        print("usage: raw.py PORTFILE CASE...\ncases: " + " ".join(CASES), file=sys.stderr)
        sys.exit(2)
    lines = []
    for name in sys.argv[2:]:
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(64)
        lines.append(f"{name} {ls.getsockname()[1]}\n")
        threading.Thread(target=serve, args=(name, ls), daemon=True).start()
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.rename(tmp, sys.argv[1])
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
