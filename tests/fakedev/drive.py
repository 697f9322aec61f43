"""drive.py — a small expect-like driver for interactive sessions (stdlib only, no pexpect).

    from drive import Session, done
    s = Session("ios", ["ssh", "-tt", "-e", "none", "host"])
    s.expect(r"R1>$", "user-mode prompt")
    s.send("enable"); s.expect(r"Password: $", "enable asks for a password")
    ...
    s.close(); done()

The child runs on pipes (ssh -tt forces the remote PTY without a local one). Its output feeds
a one-line terminal model, Screen: CR returns to column 0, BS moves left, ESC[K erases to the
end of the line, ESC[nD moves left, other escape sequences are dropped, LF commits the line
(trailing blanks stripped). expect() searches that screen text, so a pager erased by
backspaces, by CR + blanks or by ESC[42D is gone from it, exactly as a person would see it;
raw() keeps the bytes as received, for checks on the wire format.

Results print as "ok - D" / "not ok - D" plus "#   detail" lines, and "# driver done P F"
last (tests/fakedev/lib.sh counts them). Every wait is bounded; after the first failure a
session skips its remaining checks (reported as failures) instead of timing out on each.
"""
import codecs
import os
import re
import select
import subprocess
import sys
import time

PASSED = 0
FAILED = 0


def report(ok, desc, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("ok - " + desc, flush=True)
    else:
        FAILED += 1
        print("not ok - " + desc, flush=True)
        for l in str(detail).splitlines()[:40]:
            print("#   " + l, flush=True)
    return ok


def done():
    print("# driver done %d %d" % (PASSED, FAILED), flush=True)


class Screen:
    """What a terminal would show, as text: committed lines plus the current line."""

    def __init__(self):
        self.text = ""
        self.lines = 0
        self.line = []
        self.col = 0
        self.esc = None
        self.touch = float("inf")   # lowest view() index rewritten since the last reset
        self.dec = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data):
        for ch in self.dec.decode(data):
            if self.esc is not None:
                self.esc += ch
                if len(self.esc) == 2 and ch != "[":
                    self.esc = None
                elif len(self.esc) > 2 and "@" <= ch <= "~":
                    self.csi(self.esc[2:-1], ch)
                    self.esc = None
                elif len(self.esc) > 40:
                    self.esc = None
            elif ch == "\x1b":
                self.esc = ch
            elif ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.text += "".join(self.line).rstrip(" ") + "\n"
                self.lines += 1
                self.line, self.col = [], 0
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch == "\t":
                self.put(" " * (8 - self.col % 8))
            elif ch >= " ":
                self.put(ch)

    def put(self, s):
        for ch in s:
            if self.col < len(self.line):
                if self.line[self.col] != ch:
                    self.touch = min(self.touch, len(self.text) + self.col)
                self.line[self.col] = ch
            else:
                self.line += [" "] * (self.col - len(self.line)) + [ch]
            self.col += 1

    def csi(self, params, final):
        n = int(params) if params.isdigit() else None
        if final == "K":
            if n in (None, 0) and self.col < len(self.line):
                self.touch = min(self.touch, len(self.text) + self.col)
                del self.line[self.col:]
            elif n == 2 and self.line:
                self.touch = min(self.touch, len(self.text))
                self.line = []
        elif final == "D":
            self.col = max(0, self.col - (n or 1))
        elif final == "C":
            self.col += n or 1
        elif final == "G":
            self.col = max(0, (n or 1) - 1)

    def current(self):
        """The current line as shown: blanks after the cursor are invisible (a prompt
        written over an erased pager leaves some)."""
        s = "".join(self.line)
        return s[:self.col] + s[self.col:].rstrip(" ")

    def view(self):
        return self.text + self.current()


class Session:
    def __init__(self, name, argv, timeout=10.0, answer_cpr=False, env=None):
        self.name, self.timeout, self.answer_cpr = name, timeout, answer_cpr
        self.screen = Screen()
        self.rawbuf = bytearray()
        self.cursor = 0          # in screen.view()
        self.mark_at = 0         # in rawbuf
        self.cpr_seen = 0
        self.eof = False
        self.reads = 0
        self.first_at = None     # when the first output byte arrived
        self.broken = None
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.errbuf = bytearray()

    # ---- I/O
    def pump(self, wait):
        """Read what arrives within wait seconds; False on EOF."""
        if self.eof:
            return False
        fds = [self.p.stdout.fileno(), self.p.stderr.fileno()]
        r, _, _ = select.select(fds, [], [], max(0.0, wait))
        for fd in r:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if fd == fds[1]:
                self.errbuf += data[:4096]
                continue
            if not data:
                self.eof = True
                return False
            self.reads += 1
            self.first_at = self.first_at or time.monotonic()
            self.rawbuf += data
            self.screen.feed(data)
            if self.answer_cpr and self.rawbuf.count(b"\x1b[6n") > self.cpr_seen:
                self.cpr_seen = self.rawbuf.count(b"\x1b[6n")
                self.sendraw("\x1b[24;80R")
        return True

    def sendraw(self, s):
        if self.eof:
            return
        try:
            self.p.stdin.write(s.encode() if isinstance(s, str) else s)
            self.p.stdin.flush()
        except OSError:
            pass

    def send(self, line, enter="\r"):
        self.sendraw(line + enter)

    # ---- checks
    def label(self, desc):
        return "%s: %s" % (self.name, desc)

    def detail(self, what):
        v = self.screen.view()
        return "%s\nscreen after cursor (%d chars): %r\nlast 300 raw bytes: %r\nstderr: %r" % (
            what, len(v) - self.cursor, v[self.cursor:][-1200:], bytes(self.rawbuf[-300:]),
            bytes(self.errbuf[-400:]))

    def skipped(self, desc):
        if self.broken:
            report(False, self.label(desc), "skipped after an earlier failure: " + self.broken)
            return True
        return False

    def start(self):
        """Where the next search starts: the cursor, moved back to the first screen position
        rewritten since (a pager erased and overwritten by the next lines is new text)."""
        v = self.screen.view()
        self.cursor = min(self.cursor, self.screen.touch, len(v))
        return v, self.cursor

    def consume(self, end):
        self.cursor = end
        self.screen.touch = float("inf")

    def wait_for(self, rx, timeout):
        rx = re.compile(rx, re.M)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            v, at = self.start()
            m = rx.search(v, at)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and not self.pump(0)):
                return None
            self.pump(min(left, 0.2))

    def expect(self, rx, desc, timeout=None, quiet=False):
        """Wait until rx matches the screen after the cursor; move the cursor past it."""
        if self.skipped(desc):
            return None
        m = self.wait_for(rx, timeout)
        if m:
            self.consume(m.end())
            if not quiet:
                report(True, self.label(desc))
            return m
        self.broken = desc
        report(False, self.label(desc), self.detail("no match for %r" % rx))
        return None

    def check(self, ok, desc, detail=""):
        if self.skipped(desc):
            return False
        return report(ok, self.label(desc), detail)

    def mark(self):
        self.mark_at = len(self.rawbuf)

    def raw(self):
        """Bytes since mark(), as latin-1 text (one char per byte)."""
        return bytes(self.rawbuf[self.mark_at:]).decode("latin-1")

    def collect(self, final_rx, desc, pager_rx=None, key=" ", timeout=30):
        """Read until final_rx (the prompt) matches, answering pager_rx (seen on the current
        line, after at least one new line since the last answer) with key. Returns (text
        before the final match, pages answered), or (None, pages) on timeout."""
        if self.skipped(desc):
            return None, 0
        frx, prx = re.compile(final_rx, re.M), re.compile(pager_rx) if pager_rx else None
        deadline = time.monotonic() + timeout
        pages, answered_at = 0, -1
        while True:
            v, at = self.start()
            m = frx.search(v, at)
            if m and not (prx and prx.search(self.screen.current())):
                text = v[at:m.start()]
                self.consume(m.end())
                report(True, self.label(desc))
                return text, pages
            if prx and self.screen.lines > answered_at and prx.search(self.screen.current()):
                answered_at = self.screen.lines
                pages += 1
                self.sendraw(key)
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and not self.pump(0)):
                self.broken = desc
                report(False, self.label(desc), self.detail("no final %r after %d pages" % (final_rx, pages)))
                return None, pages
            self.pump(min(left, 0.2))

    def expect_eof(self, desc, timeout=None):
        """The peer closes the session (the child exits)."""
        if self.skipped(desc):
            return False
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof and time.monotonic() < deadline:
            self.pump(min(0.2, deadline - time.monotonic()))
        try:
            rc = self.p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            rc = None
        ok = self.eof and rc is not None
        if not ok:
            self.broken = desc
        return report(ok, self.label(desc), self.detail("still open (rc=%r)" % rc))

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(3)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(3)
