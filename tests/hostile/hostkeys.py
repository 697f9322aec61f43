#!/usr/bin/python3
"""tests/hostile/hostkeys.py — an SSH server whose host key rotation lies (python3-paramiko).

    hostkeys.py PORTFILE HOSTKEY NEWKEY

Listens on 127.0.0.1 (an ephemeral port, written to PORTFILE once listening) with the
Ed25519 host key HOSTKEY. When a client asks to run a command it first announces its host
keys (hostkeys-00@openssh.com): HOSTKEY and NEWKEY; once the client's proof request is
answered (hk_dup and hk_malformed, which no client proves, at once; a client that never asks
after 10 s), it answers "RAN" with exit status 0, and leaves when the client hangs up.
The user name picks how it behaves towards hostkeys-prove-00@openssh.com:
  hk_good       a true proof: NEWKEY signs the session's proof data
  hk_badsig     NEWKEY signs the proof data of another session id
  hk_wrongkey   HOSTKEY signs NEWKEY's proof data (a valid signature, by the wrong key)
  hk_refuse     REQUEST_FAILURE
  hk_short      success without any signature
  hk_extra      the true proof, then bytes nobody asked for
  hk_dup        announces NEWKEY twice
  hk_malformed  announces a key list whose length runs past the message
Any password and any public key are accepted. Runs until killed (by PID).
"""
import os
import socket
import sys
import threading
import time

import paramiko
from paramiko.common import cMSG_GLOBAL_REQUEST
from paramiko.message import Message

PROVE = "hostkeys-prove-00@openssh.com"


def key_sign(key, data):
    return key.sign_ssh_data(data).asbytes()


class Server(paramiko.ServerInterface):
    def __init__(self, t, hostkey, newkey):
        self.t, self.hostkey, self.newkey = t, hostkey, newkey
        self.user = ""
        self.asked = threading.Event()     # the client's hostkeys-prove request came

    def get_allowed_auths(self, username):
        return "publickey,password"

    def check_auth_password(self, username, password):
        self.user = username
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_publickey(self, username, key):
        self.user = username
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        self.announce()
        threading.Thread(target=self.run, args=(channel,), daemon=True).start()
        return True

    def announce(self):
        m = Message()
        m.add_byte(cMSG_GLOBAL_REQUEST)
        m.add_string("hostkeys-00@openssh.com")
        m.add_boolean(False)
        if self.user == "hk_malformed":
            m.add_bytes(b"\x00\x00\xff\xf0ssh-ed25519")
        else:
            keys = [self.hostkey, self.newkey] + ([self.newkey] if self.user == "hk_dup" else [])
            for k in keys:
                m.add_string(k.asbytes())
        self.t._send_message(m)

    def check_global_request(self, kind, m):
        if kind != PROVE:
            return False
        self.asked.set()
        if self.user == "hk_refuse":
            return False
        sid = self.t.session_id
        signer = self.hostkey if self.user == "hk_wrongkey" else self.newkey
        if self.user == "hk_badsig":
            sid = bytes(b ^ 1 for b in sid)
        data = Message()
        data.add_string(PROVE)
        data.add_string(sid)
        data.add_string(self.newkey.asbytes())
        sig = key_sign(signer, data.asbytes())
        if self.user == "hk_short":
            return ()
        if self.user == "hk_extra":
            return (sig, b"junk")
        return (sig,)

    def run(self, chan):
        # The command ends only after the proof's answer (it leaves the transport thread
        # as check_global_request returns): ssh leaves when its channel closes, without
        # waiting for an answer still on its way, and known_hosts would then depend on
        # which thread ran first. A duplicate or malformed list is never proved.
        if self.user not in ("hk_dup", "hk_malformed") and self.asked.wait(10):
            time.sleep(0.1)
        chan.sendall(b"RAN\n")
        chan.send_exit_status(0)
        chan.close()


def handle(sock, hostkey, newkey):
    t = paramiko.Transport(sock)
    try:
        t.add_server_key(hostkey)
        t.start_server(server=Server(t, hostkey, newkey))
        chan = t.accept(30)     # kept: paramiko holds its channels by weak reference
        # The client hangs up first: closing with its packets still on their way would be
        # a reset, and the command's output would go with it.
        end = time.monotonic() + 30
        while chan is not None and t.is_active() and time.monotonic() < end:
            time.sleep(0.05)
    except Exception:  # noqa: BLE001 — a hostile server only ends the connection
        pass
    finally:
        t.close()


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    hostkey = paramiko.Ed25519Key.from_private_key_file(sys.argv[2])
    newkey = paramiko.Ed25519Key.from_private_key_file(sys.argv[3])
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{ls.getsockname()[1]}\n")
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        s, _ = ls.accept()
        threading.Thread(target=handle, args=(s, hostkey, newkey), daemon=True).start()


if __name__ == "__main__":
    main()
