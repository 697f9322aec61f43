#!/usr/bin/python3
"""tests/hostile/para.py — SSH servers that misbehave after key exchange (Debian's python3-paramiko).

    para.py PORTFILE HOSTKEY [SHELL_USER]

Listens on 127.0.0.1, on three ephemeral (high) ports, and writes "NAME PORT" lines to PORTFILE
once all listen:
  main       a well-behaved key exchange; the case is the user name the client logs in as
             (`ssh -l exit_status_twice ...`), any password and any public key are accepted
  gex_1024   key exchange only by diffie-hellman-group-exchange-sha256, with a 1024-bit prime
  gex_tiny   the same with p = 23
Every connection runs in a thread of its own; the process runs until it is killed (by PID).

Cases are the user names on `main`: an exec request gets the e_CASE function below; a shell
request gets it too when SHELL lists it, else a real bash on a PTY as SHELL_USER; the sftp
subsystem is a raw handler (sftp_serve) whose replies the sftp_* cases spoil (sftp_ok is the
well-behaved one). Any other user name gets e_normal.
"""
import logging
import os
import pty
import pwd
import select
import socket
import struct
import sys
import threading
import time

import paramiko
from paramiko.common import (cMSG_CHANNEL_CLOSE, cMSG_CHANNEL_DATA, cMSG_CHANNEL_EOF,
                             cMSG_CHANNEL_EXTENDED_DATA, cMSG_CHANNEL_REQUEST,
                             cMSG_CHANNEL_WINDOW_ADJUST)
from paramiko.message import Message

LIFETIME = 60
CONTENT = b"hello sftp\n"
SHELL_USER = None
SHELL_ID = None     # (uid, gid, home, groups) of SHELL_USER, looked up once at start


# ------------------------------------------------------------------ raw channel messages ---
def raw(chan, code, *parts):
    """Send a channel message exactly as given, whatever paramiko's channel state says."""
    m = Message()
    m.add_byte(code)
    m.add_int(chan.remote_chanid)
    for p in parts:
        if isinstance(p, bool):
            m.add_boolean(p)
        elif isinstance(p, int):
            m.add_int(p)
        elif isinstance(p, (bytes, str)):
            m.add_string(p)
        elif isinstance(p, tuple) and p[0] == "bytes":
            m.add_bytes(p[1])
    chan.transport._send_user_message(m)


def request(chan, name, *parts):
    raw(chan, cMSG_CHANNEL_REQUEST, name, False, *parts)


def finish(chan, status=0):
    chan.send_exit_status(status)
    chan.shutdown_write()
    chan.close()


def close_raw(chan):
    """CHANNEL_CLOSE with no EOF before it; paramiko must not add one when the peer answers."""
    with chan.lock:
        chan._set_closed()
    raw(chan, cMSG_CHANNEL_CLOSE)


def flood(chan, total):
    """Channel data far beyond the window the client gave (paramiko's own window is bypassed)."""
    size = min(32768, chan.out_max_packet_size or 32768)
    chunk = b"x" * (size - 1) + b"\n"
    sent = 0
    while sent < total and chan.transport.is_active():
        raw(chan, cMSG_CHANNEL_DATA, chunk)
        sent += len(chunk)


# ------------------------------------------------------------------ exec/shell cases ---
def e_normal(chan, kind):
    chan.sendall(b"hello from hostile\n")
    finish(chan, 0)


def e_exit_signal_huge(chan, kind):
    """exit-signal whose name is 30000 bytes (no exit-status)."""
    chan.sendall(b"before\n")
    request(chan, "exit-signal", "S" * 30000, False, "huge signal name", "")
    chan.shutdown_write()
    chan.close()


def e_exit_signal_noname(chan, kind):
    """exit-signal with nothing after want_reply: the name and the rest are missing."""
    chan.sendall(b"before\n")
    request(chan, "exit-signal")
    chan.shutdown_write()
    chan.close()


def e_exit_status_twice(chan, kind):
    chan.sendall(b"before\n")
    request(chan, "exit-status", 3)
    request(chan, "exit-status", 4)
    chan.shutdown_write()
    chan.close()


def e_exit_status_truncated(chan, kind):
    """exit-status carrying 2 of its 4 bytes."""
    chan.sendall(b"before\n")
    request(chan, "exit-status", ("bytes", b"\0\0"))
    chan.shutdown_write()
    chan.close()


def e_close_no_eof(chan, kind):
    """Output, then CHANNEL_CLOSE: no EOF, no exit-status, no exit-signal."""
    chan.sendall(b"partial\n")
    time.sleep(0.3)
    close_raw(chan)


def e_no_status(chan, kind):
    """Output, EOF and close, but no exit-status nor exit-signal."""
    chan.sendall(b"before\n")
    chan.shutdown_write()
    chan.close()


def e_stall_after_output(chan, kind):
    """Output, then nothing: the channel stays open, silent, until the client goes."""
    chan.sendall(b"before\n")
    t0 = time.monotonic()
    while chan.transport.is_active() and not chan.closed and time.monotonic() - t0 < LIFETIME:
        time.sleep(0.2)


def e_deaf_after_output(chan, kind):
    """Output, then the channel goes deaf: paramiko forgets it (no CLOSE answered, no EOF, no
    status), while the connection stays up, until the client goes."""
    chan.sendall(b"before\n")
    time.sleep(0.3)
    with chan.lock:
        chan._set_closed()
    t0 = time.monotonic()
    while chan.transport.is_active() and time.monotonic() - t0 < LIFETIME:
        time.sleep(0.2)


def e_window_overflow(chan, kind):
    """Two WINDOW_ADJUSTs of 0xFFFFFFFF (the client's view of our window passes 2^32), then
    echo stdin back, exit 0."""
    raw(chan, cMSG_CHANNEL_WINDOW_ADJUST, 0xFFFFFFFF)
    raw(chan, cMSG_CHANNEL_WINDOW_ADJUST, 0xFFFFFFFF)
    while True:
        d = chan.recv(65536)
        if not d:
            break
        chan.sendall(d)
    finish(chan, 0)


def e_data_beyond_window(chan, kind):
    """16 MiB of stdout at once, ignoring the window (the client gave ~2 MiB or less)."""
    flood(chan, 16 * 1024 * 1024)
    if chan.transport.is_active():
        finish(chan, 0)


def e_ext_data_7(chan, kind):
    """stdout, extended data of type 7 (unknown), stderr (type 1), exit 0."""
    chan.sendall(b"out\n")
    raw(chan, cMSG_CHANNEL_EXTENDED_DATA, 7, b"mystery\n")
    chan.sendall_stderr(b"err\n")
    finish(chan, 0)


def real_shell(chan, kind):
    """A bash on a PTY (as SHELL_USER), for the MCP session's shell and sftp cases."""
    pid, fd = pty.fork()
    if pid == 0:
        # Forked from a process whose other threads serve other connections: only system
        # calls here (the user was looked up at start; an NSS lookup in this child could meet
        # a lock another thread held at the fork, and the shell ended at once).
        env = {"PATH": "/usr/bin:/bin", "TERM": "vt100", "LANG": "C.UTF-8"}
        try:
            if SHELL_ID:
                uid, gid, home, groups = SHELL_ID
                os.setgid(gid)
                os.setgroups(groups)
                os.setuid(uid)
                env["HOME"] = home
                os.chdir(home)
            os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], env)
        except BaseException as e:  # noqa: BLE001 — said on the server's log, then gone
            os.write(2, f"para.py: real_shell: {e!r}\n".encode())
        finally:
            os._exit(127)

    def up():
        try:
            while True:
                d = chan.recv(65536)
                if not d:
                    break
                os.write(fd, d)
        except OSError:
            pass
    threading.Thread(target=up, daemon=True).start()
    try:
        while chan.transport.is_active() and not chan.closed:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    d = os.read(fd, 65536)
                except OSError:
                    break
                if not d:
                    break
                chan.sendall(d)
    finally:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
        _, st = os.waitpid(pid, 0)
        os.close(fd)
    if chan.transport.is_active() and not chan.closed:
        finish(chan, os.waitstatus_to_exitcode(st) & 0xFF)


EXEC = {k[2:]: v for k, v in globals().items() if k.startswith("e_")}
SHELL = {"data_beyond_window": e_data_beyond_window, "close_no_eof": e_close_no_eof,
         "exit_signal_huge": e_exit_signal_huge, "deaf_after_output": e_deaf_after_output}


# ------------------------------------------------------------------ sftp ---
def u32(n):
    return struct.pack(">I", n)


def sstr(b):
    return u32(len(b)) + b


def attrs(size, short=False):
    a = u32(0x1 | 0x4) + struct.pack(">Q", size) + u32(0o100644)
    if short:   # flags claim size, uid/gid, permissions, times; 4 bytes follow
        return u32(0xF) + b"\0\0\0\0"
    return a


def sftp_serve(chan, case):
    buf = b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            d = chan.recv(65536)
            if not d:
                raise EOFError
            buf += d
        out, buf = buf[:n], buf[n:]
        return out

    def send(t, body):
        chan.sendall(u32(len(body) + 1) + bytes([t]) + body)

    try:
        while True:
            n = struct.unpack(">I", need(4))[0]
            body = need(n)
            t = body[0]
            if t == 1:                                  # INIT
                if case == "sftp_pkt_huge":
                    chan.sendall(u32(0xFFFFFFFF) + b"\x02" + u32(3))
                    time.sleep(LIFETIME)
                    return
                send(2, u32(3))
                continue
            rid = struct.unpack(">I", body[1:5])[0]
            if case == "sftp_wrong_id":
                rid = (rid + 1000) & 0xFFFFFFFF
            if t == 3:                                  # OPEN
                if case == "sftp_name_count":          # a NAME reply with 2^32-1 entries
                    send(104, u32(rid) + u32(0xFFFFFFFF) + sstr(b"a") + sstr(b"a") + u32(0))
                else:
                    send(102, u32(rid) + sstr(b"h1"))
            elif t in (7, 8, 17):                       # LSTAT FSTAT STAT
                send(105, u32(rid) + attrs(len(CONTENT), short=case == "sftp_attrs_short"))
            elif t == 5:                                # READ
                off = struct.unpack(">Q", body[5 + 4 + struct.unpack(">I", body[5:9])[0]:][:8])[0]
                ln = struct.unpack(">I", body[-4:])[0]
                if case == "sftp_data_len" and off == 0:
                    send(103, u32(rid) + u32(0x7FFFFFF0) + CONTENT)
                elif case == "sftp_data_more" and off == 0:
                    send(103, u32(rid) + sstr(b"Z" * (ln + 20000)))
                elif off < len(CONTENT):
                    send(103, u32(rid) + sstr(CONTENT[off:off + ln]))
                else:
                    send(101, u32(rid) + u32(1) + sstr(b"EOF") + sstr(b""))
            elif t == 4:                                # CLOSE
                send(101, u32(rid) + u32(0) + sstr(b"OK") + sstr(b""))
            else:
                send(101, u32(rid) + u32(8) + sstr(b"unsupported") + sstr(b""))
    except (EOFError, OSError, struct.error, IndexError):
        pass
    finally:
        chan.close()


class RawSftp(paramiko.SubsystemHandler):
    def start_subsystem(self, name, transport, channel):
        sftp_serve(channel, self.get_server().username)


# ------------------------------------------------------------------ the server ---
class Server(paramiko.ServerInterface):
    def __init__(self):
        self.username = None
        self.req = None
        self.event = threading.Event()

    def get_allowed_auths(self, username):
        return "publickey,password"

    def check_auth_password(self, username, password):
        self.username = username
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_publickey(self, username, key):
        self.username = username
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else \
            paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *a):
        return True

    def check_channel_env_request(self, *a):
        return True

    def check_channel_exec_request(self, channel, command):
        self.req = "exec"
        self.event.set()
        return True

    def check_channel_shell_request(self, channel):
        self.req = "shell"
        self.event.set()
        return True

    def check_channel_subsystem_request(self, channel, name):
        ok = paramiko.ServerInterface.check_channel_subsystem_request(self, channel, name)
        if ok:
            self.req = "subsystem"
        return ok


class FakePack:
    def __init__(self, p, g):
        self.p, self.g = p, g

    def get_modulus(self, mn, pref, mx):
        return self.g, self.p


GEX = {"gex_1024": (paramiko.kex_group1.KexGroup1.P, 2), "gex_tiny": (23, 5)}


def handle(sock, mode, hostkey):
    t = paramiko.Transport(sock)
    try:
        t.add_server_key(hostkey)
        if mode in GEX:
            t._modulus_pack = FakePack(*GEX[mode])
            t.get_security_options().kex = ("diffie-hellman-group-exchange-sha256",)
        t.set_subsystem_handler("sftp", RawSftp)
        srv = Server()
        t.start_server(server=srv)
        t0 = time.monotonic()
        while t.is_active() and time.monotonic() - t0 < LIFETIME:
            chan = t.accept(1)
            if chan is None:
                continue
            srv.event.wait(10)
            srv.event.clear()
            case = srv.username if mode == "main" else "normal"
            if srv.req == "exec":
                fn = EXEC.get(case, e_normal)
            elif srv.req == "shell":
                fn = SHELL.get(case, real_shell)
            else:
                continue    # the subsystem handler has it
            threading.Thread(target=fn, args=(chan, srv.req), daemon=True).start()
        while t.is_active() and time.monotonic() - t0 < LIFETIME:
            time.sleep(0.2)
    except Exception as e:  # noqa: BLE001 — a hostile server only logs
        logging.warning("para.py %s: %r", mode, e)
    finally:
        t.close()


def main():
    global SHELL_USER, SHELL_ID
    if len(sys.argv) < 3:
        print(__doc__ + "exec cases: " + " ".join(EXEC), file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    SHELL_USER = sys.argv[3] if len(sys.argv) > 3 else None
    if SHELL_USER:
        pw = pwd.getpwnam(SHELL_USER)
        SHELL_ID = (pw.pw_uid, pw.pw_gid, pw.pw_dir, os.getgrouplist(SHELL_USER, pw.pw_gid))
    try:
        hostkey = paramiko.ECDSAKey.from_private_key_file(sys.argv[2])
    except paramiko.SSHException:
        hostkey = paramiko.Ed25519Key.from_private_key_file(sys.argv[2])
    lines = []
    for mode in ("main", "gex_1024", "gex_tiny"):
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(64)
        lines.append(f"{mode} {ls.getsockname()[1]}\n")

        def loop(ls=ls, mode=mode):
            while True:
                s, _ = ls.accept()
                threading.Thread(target=handle, args=(s, mode, hostkey), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
    os.rename(tmp, sys.argv[1])
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
