#!/usr/bin/env python3
"""fakedev — a fake network-device CLI for sshmcp's tests (python3 stdlib only).

The test sshd runs it as `ForceCommand`, so it talks to the SSH session's PTY (or to pipes
when the client asked for no PTY). Every platform is a behaviour table,
platforms/<name>.json: prompts per mode, commands and what they do, pager, errors, dialogs,
generated outputs. This file is the engine that plays a table:

  login:   [cpr query] -> banner -> [motd] -> prompt
  loop:    prompt -> line editor (own echo, CR/LF/CRLF = Enter, BS, ^U, ^C, ^Z) -> lookup
           (abbreviations, ambiguity, sub-mode inheritance, pipes) -> steps (print, output with
           pager, mode change, enable, dialogs, disconnect) -> prompt ...
  exec:    SSH_ORIGINAL_COMMAND set -> run each line in the table's exec mode, no prompt, exit.

Quirks (--quirks, defaults per table): motd (banner with prompt-like lines), chunks (output in
small delayed writes), ansi (escape sequences around the prompt and in output), cpr (cursor
position query at login, answered or not within --cpr-timeout), crlf (CRLF line ends; off =
bare LF), callhome (ASA's first-config-mode question).

Bounded: exits on EOF, on hangup, after --idle-timeout seconds without input, after
--max-runtime seconds in total.
Usage: fakedev.py --platform cisco_ios [--hostname R1] [--enable-password cisco] ...
       fakedev.py --platform cisco_ios --dump running_config     (the exact output text)
       fakedev.py --list-platforms
Extra arguments may also come from the environment variable FAKEDEV_ARGS (sshd `AcceptEnv
FAKEDEV_ARGS`, ssh `-o SetEnv=FAKEDEV_ARGS=...`); they are parsed after the command line's.
"""
import argparse
import codecs
import fnmatch
import json
import os
import random
import re
import select
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PLATFORM_DIR = os.path.join(HERE, "platforms")
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
KNOWN_QUIRKS = ("motd", "chunks", "ansi", "cpr", "crlf", "callhome")


class Hangup(Exception):
    """The peer went away (EOF, EIO, EPIPE) or stayed idle too long."""


class Bye(Exception):
    """The device closes the session (exit, logout, reload)."""


# ================================================================ terminal I/O ===
class Term:
    """Raw byte I/O on fds 0 and 1: bounded reads, own echo, CRLF, chunked writes."""

    def __init__(self, opts, seed):
        self.tty = os.isatty(0)
        self.saved = None
        if self.tty:
            import termios
            import tty
            self.saved = termios.tcgetattr(0)
            tty.setraw(0)   # no kernel echo, no ICRNL, no OPOST, no ISIG: we are the CLI
        self.inbuf = bytearray()
        self.eof = False
        self.last_cr = False
        self.eol = "\r\n" if "crlf" in opts.quirk_set else "\n"
        self.echo = not opts.no_echo
        self.idle = opts.idle_timeout
        self.end_at = time.monotonic() + opts.max_runtime
        self.chunky = "chunks" in opts.quirk_set
        self.cmin, self.cmax = opts.chunk_bytes
        self.dmax = opts.chunk_delay_ms
        self.dmin = min(5.0, self.dmax)
        self.budget_ms = opts.chunk_budget_ms
        self.budget = self.budget_ms
        self.rng = random.Random(seed)
        self.log = open(opts.log, "a", encoding="utf-8") if opts.log else None

    def restore(self):
        if self.saved is not None:
            import termios
            try:
                termios.tcsetattr(0, termios.TCSADRAIN, self.saved)
            except OSError:
                pass

    def new_command(self):
        self.budget = self.budget_ms

    def _log(self, d, data):
        if self.log:
            self.log.write("%.3f %s %r\n" % (time.time(), d, data))
            self.log.flush()

    # ---- input
    def fill(self, timeout):
        """Read what is there within timeout; False on timeout or EOF."""
        if self.eof:
            return False
        try:
            r, _, _ = select.select([0], [], [], max(0.0, timeout))
        except InterruptedError:
            return False
        if not r:
            return False
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self._log("<", data)
        self.inbuf += data
        return True

    def getbyte(self, timeout=None):
        """Next input byte; a CRLF pair counts as one CR. timeout None: the idle timeout,
        after which (or on EOF) Hangup is raised; otherwise None on timeout."""
        now = time.monotonic()
        deadline = now + (self.idle if timeout is None else timeout)
        deadline = min(deadline, self.end_at)
        while True:
            while self.inbuf:
                b = self.inbuf.pop(0)
                if b == 10 and self.last_cr:
                    self.last_cr = False
                    continue
                self.last_cr = b == 13
                return b
            if self.eof:
                raise Hangup("eof")
            left = deadline - time.monotonic()
            if left <= 0:
                if timeout is None or time.monotonic() >= self.end_at:
                    raise Hangup("idle")
                return None
            self.fill(left)

    def skip_escape(self):
        """Swallow the rest of an escape sequence the client sent (arrow keys, replies)."""
        b = self.getbyte(0.05)
        if b is None:
            return
        if b in (0x5B, 0x4F):   # CSI or SS3
            for _ in range(16):
                c = self.getbyte(0.05)
                if c is None or (b == 0x4F) or 0x40 <= c <= 0x7E:
                    return

    def readline(self, echo=True):
        """The device's line editor. Returns (text, special): special is None, 'ctrl-c' or
        'ctrl-z'. The device echoes what it accepts, like a real CLI on a raw PTY."""
        echo = echo and self.echo
        buf = []
        while True:
            b = self.getbyte()
            if b in (13, 10):
                self.write("\n")
                return "".join(buf), None
            if b in (8, 127):
                if buf:
                    buf.pop()
                    if echo:
                        self.write("\b \b")
                continue
            if b == 21:   # ^U kills the line
                if echo and buf:
                    self.write("\b \b" * len(buf))
                buf = []
                continue
            if b == 3:
                self.write("^C\n")
                return "", "ctrl-c"
            if b == 26:
                self.write("^Z\n")
                return "", "ctrl-z"
            if b == 27:
                self.skip_escape()
                continue
            if b < 32:
                continue   # tab, ^D and friends: ignored
            raw = bytes([b])
            need = 1 if b >= 0xC0 else 0
            need = 2 if b >= 0xE0 else need
            need = 3 if b >= 0xF0 else need
            for _ in range(need):
                c = self.getbyte(0.2)
                if c is None:
                    break
                raw += bytes([c])
            if len(buf) >= 4096:
                continue
            ch = raw.decode("utf-8", "replace")
            buf.append(ch)
            if echo:
                self.write(ch)

    # ---- output
    def write(self, s, raw=False):
        if not raw:
            s = s.replace("\n", self.eol)
        data = s.encode("utf-8", "replace")
        if not self.chunky or self.budget <= 0 or len(data) <= self.cmin:
            self._out(data)
            return
        i = 0
        while i < len(data):
            if self.budget <= 0:
                self._out(data[i:])
                return
            n = self.rng.randint(self.cmin, self.cmax)
            self._out(data[i:i + n])
            i += n
            if i < len(data):
                d = self.rng.uniform(self.dmin, self.dmax)
                time.sleep(d / 1000.0)
                self.budget -= max(d, 1.0)

    def _out(self, data):
        self._log(">", data)
        while data:
            try:
                n = os.write(1, data)
            except OSError:
                raise Hangup("write")
            data = data[n:]


# ============================================================ table and text ===
def load_table(platform, path=None):
    path = path or os.path.join(PLATFORM_DIR, platform + ".json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError:
        sys.stderr.write("fakedev: no platform table %s\n" % path)
        sys.exit(2)


def list_platforms():
    return sorted(n[:-5] for n in os.listdir(PLATFORM_DIR) if n.endswith(".json"))


TPL_RE = re.compile(r"\{(\w+)\}")


def tpl(s, env):
    """{name} is replaced when env knows name; any other brace text stays (Junos configs)."""
    return TPL_RE.sub(lambda m: str(env[m.group(1)]) if m.group(1) in env else m.group(0), s)


def lines_of(v):
    return v if isinstance(v, list) else [v]


def gen_output(spec, env):
    """An output's text, LF line ends, ending in a newline (empty output: '').
    spec: list of lines | {header, repeat, block, footer} | {lines, header, block, block_max,
    filler_head, filler, filler_tail, footer} (exactly `lines` lines)."""
    if isinstance(spec, (list, str)):
        out = [tpl(l, env) for l in lines_of(spec)]
        return "".join(l + "\n" for l in out)

    def item(i):
        e = dict(env, i=i, a=i // 250, b=i % 250, hex="%04x" % i, hb="%02X" % (i % 256), k=i, seq=10 * i,
                 port=1024 + i, x=i // 250, y=i % 250, i0=i - 1)
        return e

    head = [tpl(l, env) for l in spec.get("header", [])]
    foot = [tpl(l, env) for l in spec.get("footer", [])]
    block = spec.get("block", [])
    body = []
    if "lines" not in spec:
        for i in range(1, spec.get("repeat", 1) + 1):
            body += [tpl(l, item(i)) for l in block]
        return "".join(l + "\n" for l in head + body + foot)
    total = spec["lines"]
    fhead, ftail, filler = spec.get("filler_head", []), spec.get("filler_tail", []), spec["filler"]
    room = total - len(head) - len(foot) - len(fhead) - len(ftail)
    nblocks = min(spec.get("block_max", 100), max(0, (room - 1) // max(1, len(block)))) if block else 0
    for i in range(1, nblocks + 1):
        body += [tpl(l, item(i)) for l in block]
    fill = [tpl(l, item(0)) for l in fhead]
    for k in range(1, room - len(body) + 1):
        fill.append(tpl(filler, item(k)))
    fill += [tpl(l, item(0)) for l in ftail]
    body += fill
    size = sum(len(l) + 1 for l in body + foot)
    head = [l.replace("{bytes}", str(size)) for l in head]
    text = head + body + foot
    assert len(text) == total, (len(text), total)
    return "".join(l + "\n" for l in text)


# ================================================================ tokenizing ===
def tokenize(line, seps=" \t"):
    """[(token, column)] of a command line."""
    toks, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] in seps:
            i += 1
        if i >= n:
            break
        j = i
        while j < n and line[j] not in seps:
            j += 1
        toks.append((line[i:j], i))
        i = j
    return toks


class Match:
    def __init__(self, kind, pos=0, cmd=None, caps=None, exact=0, lits=None, mode=None):
        self.kind, self.pos, self.cmd, self.caps = kind, pos, cmd, caps or {}
        self.exact, self.lits, self.mode = exact, lits or {}, mode


# ==================================================================== device ===
class Device:
    def __init__(self, table, opts, term):
        self.t, self.o, self.term = table, opts, term
        self.host = opts.hostname or table.get("hostname", "R1")
        self.user = opts.user or table.get("user", "admin")
        self.mode = table["start_mode"]
        self.vars = {"ifname": "", "ifshort": ""}
        self.flags = set()
        self.quirks = opts.quirk_set
        pg = table.get("pager", {})
        self.page_lines = opts.page_lines if opts.page_lines is not None else pg.get("lines", 24)
        self.pager_on = bool(pg) and self.page_lines > 0
        en = table.get("enable", {})
        self.enable_password = (opts.enable_password if opts.enable_password is not None
                                else en.get("password", ""))
        self.edit = []          # Junos [edit ...] words
        self.edit_pushes = []   # how many words each `edit` pushed
        self.path = []          # RouterOS menu path
        self.filters = []
        self.exec_mode = False
        self.cmds = []
        for c in table["commands"]:
            for spec in lines_of(c["cmd"]):
                self.cmds.append((spec.split(), c))

    # ---- environment for templates
    def env(self):
        e = {"host": self.host, "user": self.user, "mode": self.mode,
             "editpath": "".join(" " + w for w in self.edit),
             "path": ("/" + "/".join(self.path)) if self.path else ""}
        e.update(self.vars)
        return e

    def mdef(self, mode=None):
        return self.t["modes"][mode or self.mode]

    def ansi(self, s):
        return s if "ansi" in self.quirks else ANSI_RE.sub("", s)

    def prompt_text(self):
        return tpl(self.mdef()["prompt"], self.env())

    def show_prompt(self):
        md, e = self.mdef(), self.env()
        pre = tpl(md.get("pre_prompt", ""), e)
        a = self.t.get("ansi", {}) if "ansi" in self.quirks else {}
        self.term.write(self.ansi(pre) + a.get("prompt_prefix", "") + self.prompt_text()
                        + a.get("prompt_suffix", ""))

    # ---- output with filters and pager
    def output_text(self, name):
        return gen_output(self.t["outputs"][name], self.env())

    def apply_filters(self, text):
        lines = text.splitlines(keepends=True)
        for op, arg in self.filters:
            try:
                rx = re.compile(arg)
            except re.error:
                rx = re.compile(re.escape(arg))
            if op == "include":
                lines = [l for l in lines if rx.search(l)]
            elif op == "exclude":
                lines = [l for l in lines if not rx.search(l)]
            elif op == "begin":
                for i, l in enumerate(lines):
                    if rx.search(l):
                        lines = lines[i:]
                        break
                else:
                    lines = []
            elif op == "count":
                fmt = self.t.get("count_text", "Count: {n} lines")
                lines = [tpl(fmt, {"n": len(lines)}) + "\n"]
        return "".join(lines)

    def emit(self, text, paged):
        text = self.ansi(text)
        if self.filters:
            text = self.apply_filters(text)
            paged = paged and ("no-more", "") not in self.filters
        if not (paged and self.pager_on and not self.exec_mode):
            self.term.write(text)
            return
        pg = self.t["pager"]
        lines = text.splitlines(keepends=True)
        per = max(1, self.page_lines - 1)
        i, total = 0, len(lines)
        take = per
        while i < total:
            self.term.write("".join(lines[i:i + take]))
            i += take
            if i >= total:
                return
            ptxt = self.ansi(tpl(pg["text"], {"pct": i * 100 // total, "from": i - take + 1, "to": i}))
            self.term.write(ptxt, raw=True)
            while True:
                k = self.term.getbyte()
                if k in (32, 13, 10, 3) or chr(k) in pg.get("quit_keys", "qQ"):
                    break
                if chr(k) in pg.get("dump_keys", ""):
                    break
                if pg.get("other", "ignore") == "quit":
                    k = 3
                    break
            self.term.write(self.erase(ptxt), raw=True)
            if k == 32:
                take = per
            elif k in (13, 10):
                take = 1
            elif chr(k) in pg.get("dump_keys", ""):
                take = total
            else:
                return

    def erase(self, ptxt):
        pg = self.t["pager"]
        n = pg.get("erase_n") or len(ANSI_RE.sub("", ptxt))
        how = pg.get("erase", "bs")
        if how == "bs":
            return "\b" * n + " " * n + "\b" * n
        if how == "cr":
            return "\r" + " " * n + "\r"
        if how == "ansi_left":
            return "\x1b[%dD" % n + " " * n + "\x1b[%dD" % n
        if how == "cr_el":
            return "\r\x1b[K"
        return ""

    # ---- errors
    def error(self, kind, line, col, token=""):
        errs = self.t["errors"]
        e = errs.get(kind) or errs["invalid"]
        if kind == "invalid" and col == len(line) - len(line.lstrip()) and "unknown" in errs:
            e = errs["unknown"]
        out = ""
        if e.get("caret"):
            off = 0 if self.exec_mode else len(ANSI_RE.sub("", self.prompt_text()))
            out += " " * (off + col) + "^\n"
        env = dict(self.env(), token=token, col1=col + 1, line=line.strip())
        out += "".join(tpl(l, env) + "\n" for l in lines_of(e["text"]))
        self.emit(out, False)

    # ---- lookup
    def norm_if(self, tok):
        m = re.match(r"([A-Za-z-]+)\s*([0-9].*)$", tok)
        if not m:
            return None
        alpha, rest = m.group(1).lower(), m.group(2)
        for full, short in self.t.get("interfaces", []):
            if full.lower().startswith(alpha) or short.lower() == alpha:
                return full + rest, short + rest
        return None

    def match_spec(self, spec, toks, line):
        i, caps, lits, exact, pos_args = 0, {}, {}, 0, 0
        for st in spec:
            opt = st.startswith("[") and st.endswith("]")
            if st in ("<rest>", "[rest]"):
                if i >= len(toks):
                    if opt:
                        caps["rest"] = ""
                        continue
                    return Match("incomplete", i, lits=lits)
                caps["rest"] = line[toks[i][1]:].rstrip()
                pos_args += 1
                caps[str(pos_args)] = caps["rest"]
                i = len(toks)
                continue
            if i >= len(toks):
                if opt:
                    continue
                return Match("incomplete", i, lits=lits)
            tok = toks[i][0]
            if st in ("<word>", "<num>", "<if>"):
                if st == "<num>" and not tok.isdigit():
                    return Match("fail", i, lits=lits)
                if st == "<if>":
                    n = self.norm_if(tok)
                    if not n:
                        return Match("fail", i, lits=lits)
                    caps["if"], caps["ifshort"] = n
                pos_args += 1
                caps[str(pos_args)] = tok
                i += 1
                continue
            lit = st[1:-1] if opt else st
            tl = tok.lower()
            if tl == lit.lower() or (self.t.get("abbrev", True) and lit.lower().startswith(tl)):
                lits[i] = lit
                exact += tl == lit.lower()
                if opt:
                    caps[lit] = True
                i += 1
                continue
            if opt:
                continue
            return Match("fail", i, lits=lits)
        if i < len(toks):
            return Match("fail", i, lits=lits)
        return Match("full", i, caps=caps, exact=exact, lits=lits)

    def lookup_in(self, toks, line, mode):
        res = []
        for spec, c in self.cmds:
            if not any(fnmatch.fnmatchcase(mode, m) for m in lines_of(c.get("modes", "*"))):
                continue
            r = self.match_spec(spec, toks, line)
            r.cmd, r.mode = c, mode
            res.append(r)
        for p in range(len(toks)):
            seen = {r.lits[p] for r in res if p in r.lits}
            if len(seen) > 1 and toks[p][0].lower() not in {s.lower() for s in seen}:
                return Match("ambiguous", p)
        full = [r for r in res if r.kind == "full"]
        if full:
            return max(full, key=lambda r: r.exact)   # first of the most exact
        if any(r.kind == "incomplete" for r in res):
            return Match("incomplete", len(toks))
        return Match("fail", max([r.pos for r in res] + [0]))

    def lookup(self, toks, line):
        mode, first = self.mode, None
        while mode:
            r = self.lookup_in(toks, line, mode)
            if r.kind == "full":
                return r
            first = first or r
            md = self.mdef(mode)
            mode = md.get("parent") if md.get("inherit") else None
        return first

    # ---- RouterOS menu paths
    def resolve_path(self, words):
        """Expanded menu path for words (abbreviations allowed), or None."""
        paths = [p.split() for p in self.t.get("paths", [])]
        out = []
        for w in words:
            nxt = {p[len(out)] for p in paths if len(p) > len(out) and p[:len(out)] == out
                   and p[len(out)].startswith(w.lower())}
            exact = [n for n in nxt if n == w.lower()]
            if exact:
                out.append(exact[0])
            elif len(nxt) == 1:
                out.append(nxt.pop())
            else:
                return None
        return out

    def routeros_line(self, line):
        """RouterOS: '/a b' is absolute, 'b' is relative to the menu path, '..' goes up.
        Returns (tokens, handled)."""
        s = line.strip()
        if s == "/":
            self.path = []
            return None, True
        if s == "..":
            self.path = self.path[:-1]
            return None, True
        absolute = s.startswith("/")
        toks = tokenize(line, " \t/")
        words = [t for t, _ in toks]
        full = words if absolute else self.path + words
        p = self.resolve_path(full)
        if p is not None and full:
            self.path = p
            return None, True
        if absolute:
            return toks, False
        return [(w, -1) for w in self.path] + toks, False

    # ---- pipes
    def split_pipes(self, line):
        """(command part, filters) or raises ValueError(column) for an unknown pipe."""
        pipes = self.t.get("pipes")
        if not pipes or "|" not in line:
            return line, []
        parts = line.split("|")
        filters, col = [], len(parts[0]) + 1
        for p in parts[1:]:
            toks = tokenize(p)
            if not toks:
                raise ValueError(col)
            name = [k for k in pipes if k.startswith(toks[0][0].lower())]
            exact = [k for k in name if k == toks[0][0].lower()]
            name = exact or name
            if len(name) != 1:
                raise ValueError(col + toks[0][1])
            op = pipes[name[0]]
            arg = p[toks[1][1]:].strip() if len(toks) > 1 else ""
            if op in ("include", "exclude", "begin") and not arg:
                raise ValueError(col + len(p))
            filters.append((op, arg))
            col += len(p) + 1
        return parts[0], filters

    # ---- executing a line
    def execute(self, line):
        if not line.strip():
            return
        try:
            cmdpart, filters = self.split_pipes(line)
        except ValueError as e:
            self.error("invalid", line, min(e.args[0], len(line)))
            return
        if self.t.get("paths"):
            toks, handled = self.routeros_line(cmdpart)
            if handled:
                return
        else:
            toks = tokenize(cmdpart)
        r = self.lookup(toks, cmdpart)
        if r.kind != "full":
            kind = {"fail": "invalid"}.get(r.kind, r.kind)
            col = toks[r.pos][1] if r.pos < len(toks) else len(cmdpart.rstrip())
            tok = toks[r.pos][0] if r.pos < len(toks) else ""
            self.error(kind, line, max(col, 0), tok)
            return
        env = self.env()
        env.update(r.caps)
        env["line"] = line.strip()
        self.mode = r.mode
        self.filters = filters
        try:
            self.run(r.cmd.get("do", []), env)
        finally:
            self.filters = []

    def cond(self, c):
        neg = c.startswith("!")
        c = c.lstrip("!")
        kind, _, arg = c.partition(":")
        v = {"flag": lambda: arg in self.flags, "quirk": lambda: arg in self.quirks,
             "password": lambda: bool(self.enable_password),
             "edit": lambda: bool(self.edit), "tty": lambda: self.term.tty,
             "mode": lambda: self.mode == arg, "pager": lambda: self.pager_on}[kind]()
        return v != neg

    def run(self, steps, env):
        for st in steps:
            if not self.step(st, env):
                return False
        return True

    def step(self, st, env):
        if "print" in st:
            text = "".join(tpl(l, env) + "\n" for l in lines_of(st["print"]))
            self.emit(text, st.get("paged", False))
        elif "output" in st:
            paged = st.get("paged", True) and not any(env.get(a) for a in st.get("unpaged_if", []))
            self.emit(self.output_text(st["output"]), paged)
        elif "mode" in st:
            m = st["mode"]
            self.mode = self.mdef().get("parent") or self.mode if m == "@parent" else tpl(m, env)
        elif "var" in st:
            for k, v in st["var"].items():
                self.vars[k] = tpl(v, env)
        elif "hostname" in st:
            h = tpl(st["hostname"], env)
            self.host = h.split("=", 1)[1] if "=" in h else h
        elif "pager" in st:
            self.pager_on = st["pager"] == "on" and self.page_lines > 0
        elif "page_lines" in st:
            self.page_lines = int(tpl(str(st["page_lines"]), env))
            self.pager_on = self.page_lines > 0
        elif "set" in st:
            self.flags.add(st["set"])
        elif "clear" in st:
            self.flags.discard(st["clear"])
        elif "if" in st:
            return self.run(st.get("then", []) if self.cond(st["if"]) else st.get("else", []), env)
        elif "sleep_ms" in st:
            time.sleep(st["sleep_ms"] / 1000.0)
        elif "enable" in st:
            return self.enable(tpl(st["enable"], env))
        elif "ask" in st:
            return self.ask(st, env)
        elif "edit" in st:
            words = tpl(st["edit"], env).split()
            self.edit += words
            self.edit_pushes.append(len(words))
        elif "up" in st:
            if self.edit:
                self.edit.pop()
                self.edit_pushes = [n for n in self.edit_pushes if n]
                if self.edit_pushes:
                    self.edit_pushes[-1] -= 1
        elif "exit_edit" in st:
            n = self.edit_pushes.pop() if self.edit_pushes else len(self.edit)
            self.edit = self.edit[:len(self.edit) - n]
        elif "top" in st:
            self.edit, self.edit_pushes = [], []
        elif "run" in st:
            saved = self.mode
            self.mode = st.get("in", self.mode)
            self.execute(tpl(st["run"], env))
            if self.mode == st.get("in"):
                self.mode = saved
        elif "disconnect" in st:
            raise Bye()
        elif "stop" in st:
            return False
        return True

    def enable(self, target):
        e = self.t["enable"]
        if not self.enable_password:
            if e.get("no_password"):
                self.emit("".join(l + "\n" for l in lines_of(e["no_password"])), False)
                return False
            self.mode = target
            return True
        tries = e.get("tries", 3)
        for n in range(tries):
            self.term.write(e.get("prompt", "Password: "))
            ans, special = self.term.readline(echo=False)
            if special:
                return False
            if ans == self.enable_password:
                self.mode = target
                if e.get("ok_text"):
                    self.emit("".join(tpl(l, self.env()) + "\n" for l in lines_of(e["ok_text"])), False)
                return True
            if n < tries - 1 and e.get("bad_each"):
                self.emit("".join(l + "\n" for l in lines_of(e["bad_each"])), False)
        self.emit("".join(l + "\n" for l in lines_of(e.get("bad_final", "% Bad secrets"))), False)
        return False

    def ask(self, st, env):
        for _ in range(10):
            self.term.write(tpl(st["ask"], env))
            if st.get("input") == "key":
                b = self.term.getbyte()
                ans = "" if b in (13, 10) else chr(b)
                if b in (3,):
                    self.term.write("^C")
                self.term.write("\n")
            else:
                ans, special = self.term.readline()
                if special:
                    return False
            env["answer"] = ans
            for a in st.get("answers", []):
                if re.fullmatch(a["match"], ans.strip(), re.I):
                    return self.run(a.get("do", []), env) and not a.get("stop", False)
            if "retry" in st:
                self.emit("".join(tpl(l, env) + "\n" for l in lines_of(st["retry"])), False)
                continue
            return self.run(st.get("else", []), env) and False
        return False

    # ---- session
    def login(self):
        if "cpr" in self.quirks:
            self.cpr_query()
        e = self.env()
        text = "".join(tpl(l, e) + "\n" for l in self.t.get("banner", []))
        if "motd" in self.quirks:
            text += "".join(tpl(l, e) + "\n" for l in self.t.get("motd", []))
        if text:
            self.term.write(self.ansi(text))
        lk = self.t.get("login_key")
        if lk:   # ProCurve: "Press any key to continue", then the screen is redrawn
            self.term.write(lk["text"])
            self.term.getbyte()
            self.term.write(self.ansi(lk.get("after", "\n")))

    def cpr_query(self):
        """Ask the terminal where the cursor is (ESC[6n) and wait for ESC[r;cR, at most
        --cpr-timeout seconds; other input that arrives meanwhile is kept as type-ahead."""
        self.term.write(self.t.get("cpr_query", "\x1b[6n"), raw=True)
        deadline = time.monotonic() + self.o.cpr_timeout
        rx = re.compile(rb"\x1b\[\d+;\d+R")
        while time.monotonic() < deadline:
            m = rx.search(self.term.inbuf)
            if m:
                del self.term.inbuf[m.start():m.end()]
                return
            if not self.term.fill(deadline - time.monotonic()) and self.term.eof:
                return

    def interactive(self):
        self.login()
        while True:
            self.term.new_command()
            self.show_prompt()
            line, special = self.term.readline()
            if special == "ctrl-z":
                target = self.mdef().get("ctrl_z")
                if target:
                    self.mode = target
                    self.edit, self.edit_pushes, self.path = [], [], []
                continue
            if special:
                continue
            self.execute(line)

    def run_exec(self, command):
        """An exec channel: the table's exec_mode, no prompt, no echo, no pager."""
        self.exec_mode = True
        self.term.echo = False
        self.mode = self.t.get("exec_mode", self.mode)
        for line in command.splitlines():
            self.term.new_command()
            self.execute(line)


# ====================================================================== main ===
def parse_quirks(spec, defaults):
    q = set(defaults)
    if spec is None:
        return q
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if any(i[0] not in "+-" for i in items):
        q = set()
    for i in items:
        name = i.lstrip("+-")
        if name == "none":
            q = set()
            continue
        if name == "all":
            q = set(KNOWN_QUIRKS)
            continue
        if name not in KNOWN_QUIRKS:
            raise SystemExit("fakedev: unknown quirk %r (known: %s)" % (name, ", ".join(KNOWN_QUIRKS)))
        if i.startswith("-"):
            q.discard(name)
        else:
            q.add(name)
    return q


def byte_range(s):
    a, _, b = s.partition("-")
    a, b = int(a), int(b or a)
    if not 1 <= a <= b:
        raise argparse.ArgumentTypeError("want MIN-MAX bytes, 1 <= MIN <= MAX")
    return a, b


def main(argv):
    ap = argparse.ArgumentParser(description="fake network-device CLI for sshmcp tests")
    ap.add_argument("--platform")
    ap.add_argument("--table", help="a platform table file instead of platforms/NAME.json")
    ap.add_argument("--hostname")
    ap.add_argument("--user", help="login name in prompts (Junos, RouterOS); default: table's")
    ap.add_argument("--enable-password")
    ap.add_argument("--quirks", help="comma list; +q/-q edit the table's defaults; none, all")
    ap.add_argument("--chunk-delay-ms", type=float, default=None)
    ap.add_argument("--chunk-bytes", type=byte_range, default=(20, 200))
    ap.add_argument("--chunk-budget-ms", type=float, default=2000.0,
                    help="sleep at most this long per command, then write the rest at once")
    ap.add_argument("--page-lines", type=int, default=None)
    ap.add_argument("--cpr-timeout", type=float, default=1.0)
    ap.add_argument("--idle-timeout", type=float, default=300.0)
    ap.add_argument("--max-runtime", type=float, default=3600.0)
    ap.add_argument("--no-echo", action="store_true")
    ap.add_argument("--exec", dest="exec_cmd", help="run as if SSH_ORIGINAL_COMMAND were this")
    ap.add_argument("--log", help="append a transcript of both directions to this file")
    ap.add_argument("--dump", metavar="OUTPUT", help="print an output's text (LF) and exit")
    ap.add_argument("--dump-running-config", action="store_true")
    ap.add_argument("--list-platforms", action="store_true")
    ap.add_argument("--list-outputs", action="store_true")
    extra = shlex.split(os.environ.get("FAKEDEV_ARGS", ""))
    o = ap.parse_args(argv + extra)
    if o.list_platforms:
        print("\n".join(list_platforms()))
        return 0
    if not o.platform and not o.table:
        ap.error("--platform is required")
    table = load_table(o.platform, o.table)
    o.quirk_set = parse_quirks(o.quirks, table.get("quirks", ["crlf"]))
    if o.chunk_delay_ms is not None and o.chunk_delay_ms > 0:
        o.quirk_set.add("chunks")
    if o.chunk_delay_ms is None:
        o.chunk_delay_ms = 30.0
    if o.list_outputs:
        print("\n".join(sorted(table.get("outputs", {}))))
        return 0
    if o.dump or o.dump_running_config:
        name = (o.dump or "running_config").replace("-", "_")
        if name not in table.get("outputs", {}):
            sys.stderr.write("fakedev: %s has no output %r\n" % (table["name"], name))
            return 2
        d = Device(table, o, None)
        sys.stdout.write(d.ansi(d.output_text(name)))
        return 0
    seed = sum(table["name"].encode())
    term = Term(o, seed)
    dev = Device(table, o, term)
    command = o.exec_cmd if o.exec_cmd is not None else os.environ.get("SSH_ORIGINAL_COMMAND")
    try:
        if command:
            dev.run_exec(command)
        else:
            dev.interactive()
    except (Hangup, Bye):
        pass
    except KeyboardInterrupt:
        pass
    finally:
        term.restore()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
