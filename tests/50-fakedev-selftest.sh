#!/bin/bash
# 50-fakedev-selftest: the fake network devices (tests/fakedev/) behave like the real ones, so
# that sshmcp's device tests can rely on them. Each required platform runs behind its own sshd
# (ForceCommand fakedev.py --platform P) and is driven with OpenSSH `ssh -tt` through
# tests/fakedev/drive.py: prompts per mode, the MOTD with a prompt-like line, the pager on a long
# show (space, Enter, q, and how it is erased), the pager-off command, 5,000 lines of
# running-config with the pager on and off equal to `fakedev.py --dump`, enable with right and
# wrong passwords, config mode and sub-modes, errors, confirmation dialogs, exit disconnecting.
# Then the switchable quirks: ANSI after the prompt, small delayed chunks, the cursor position
# query, CRLF; an exec channel; the emulator on pipes.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/fakedev/lib.sh"

PLATFORMS="cisco_ios cisco_asa juniper_junos arista_eos huawei_vrp mikrotik_routeros"

# ---- the tables themselves: every required platform, 5,000 deterministic lines of config
_fakedev_install
for p in $PLATFORMS; do
	fakedev_dump "$p" running_config >"$FIX/$p.cfg" 2>"$FIX/err"
	check_eq "$(wc -l <"$FIX/$p.cfg")" 5000 "$p: --dump running_config is 5000 lines"
	if fakedev_dump "$p" running_config | cmp -s - "$FIX/$p.cfg"; then ok "$p: the config text is deterministic"
	else fail "$p: the config text is deterministic"; fi
done
check_eq "$(fakedev_dump cisco_ios running_config --hostname EDGE9 | grep -c '^hostname EDGE9$')" 1 \
	"the config follows --hostname"

# ---- pipe mode (no PTY): own echo, LF in, CRLF out, no password echo, exit ends it
printf 'enable\ncisco\nshow clock\nexit\n' >"$FIX/in"
T=10 run "$PY" "$FAKEDEV" --platform cisco_ios --quirks crlf <"$FIX/in"
check_exit "$RC" 0 "pipe mode: exits 0 after 'exit'"
check_contains "$OUT" $'R1>enable\r\nPassword: \r\nR1#show clock\r\n*12:00:00.000 UTC Mon Mar 1 1993\r\nR1#exit' \
	"pipe mode: prompt, own echo, hidden password, CRLF output"
check_not_contains "$OUT" cisco "pipe mode: the enable password is not echoed"
printf 'show clock\n' >"$FIX/in"
T=5 run "$PY" "$FAKEDEV" --platform cisco_ios <"$FIX/in"
check_exit "$RC" 0 "EOF on input ends the device"
T=5 run "$PY" "$FAKEDEV" --platform juniper_junos --idle-timeout 1 < <(sleep 3)
check_exit "$RC" 0 "an idle device hangs up after --idle-timeout"
printf 'enable\ncisco\nconfigure terminal\nN\nend\nconfigure terminal\nend\nexit\n' >"$FIX/in"
T=10 run "$PY" "$FAKEDEV" --platform cisco_asa --quirks none,callhome <"$FIX/in"
check_eq "$(grep -c '\[Y\]es, \[N\]o, \[A\]sk later: N$' <<<"$OUT")" 1 "ASA quirk callhome: the first configure terminal asks once"
check_contains "$OUT" $'asa(config)#end\nasa#configure terminal\nasa(config)#end' "and never again"
T=10 run "$PY" "$FAKEDEV" --platform cisco_ios --exec 'show clock'
check_eq "$OUT" $'*12:00:00.000 UTC Mon Mar 1 1993\r' "exec: one command, no prompt, no echo"

# ---- extra tables, on pipes: ProCurve's "Press any key" and `no page`, PAN-OS `set cli pager off`
printf ' enable\nprocurve\nno page\nshow running-config\nexit\ny' >"$FIX/in"
T=10 run "$PY" "$FAKEDEV" --platform hp_procurve --quirks none <"$FIX/in"
check_contains "$OUT" $'Press any key to continue\nHP-2920-24G> enable\nPassword: \nHP-2920-24G# no page' \
	"hp_procurve: Press any key to continue, then the prompt; enable"
check_not_contains "$OUT" "-- MORE --" "hp_procurve: no page: 5000 lines without the pager"
check_contains "$OUT" "Do you want to log out [y/n]? " "hp_procurve: exit asks to log out"
printf 'set cli pager off\nshow config running\nbogus\nexit\n' >"$FIX/in"
T=10 run "$PY" "$FAKEDEV" --platform paloalto_panos --quirks none <"$FIX/in"
check_eq "$(sed -n '/> show config running$/,/> bogus$/p' <<<"$OUT" | grep -vc '^admin@')" 5000 \
	"paloalto_panos: set cli pager off, then 5000 lines unpaged"
check_contains "$OUT" $'admin@PA-VM> bogus\nUnknown command: bogus' "paloalto_panos: Unknown command"

# ---- one sshd per platform
fakedev_start IOS cisco_ios --hostname R1 --enable-password cisco
fakedev_start ASA cisco_asa --enable-password cisco
fakedev_start JUNOS juniper_junos
fakedev_start EOS arista_eos --enable-password arista
fakedev_start VRP huawei_vrp --enable-password huawei
fakedev_start ROS mikrotik_routeros
for n in IOS ASA JUNOS EOS VRP ROS; do
	trust "$n"
	ssh_alias "${n,,}" "$n"
done
export SSH_CONFIG

# exec channel through sshd: the command runs in the table's exec mode and the session ends
ossh ios 'show running-config'
check_exit "$RC" 0 "ssh exec: exit status 0"
check_eq "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 's/ *$//')" "$(sed 's/ *$//' "$FIX/cisco_ios.cfg")" \
	"ssh exec: show running-config is the --dump text, unpaged"

T=200 fakedev_drive <<'PYEOF'
import os, re, subprocess, sys, time
from drive import Session, report, done

FAKEDEV = os.path.join(os.environ["FAKEDEV_DIR"], "fakedev.py")

def ssh(alias, *opts):
    return ["ssh", "-F", os.environ["SSH_CONFIG"], "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=10", "-tt", "-e", "none", *opts, alias]

def norm(text):
    return "\n".join(l.rstrip(" ") for l in text.split("\n"))

def same_as_dump(s, platform, text, desc):
    """text is the screen from the command's echo line to the prompt."""
    want = subprocess.run([sys.executable, FAKEDEV, "--platform", platform, "--dump", "running_config"],
                          capture_output=True, text=True, timeout=30).stdout
    got = text.split("\n", 1)[1] if text is not None and "\n" in text else ""
    got, want = norm(got), norm(want)
    if got == want:
        return s.check(True, desc)
    gl, wl = got.split("\n"), want.split("\n")
    i = next((i for i in range(min(len(gl), len(wl))) if gl[i] != wl[i]), min(len(gl), len(wl)))
    return s.check(False, desc, "%d lines, want %d; first difference at line %d:\n got: %r\nwant: %r" % (
        len(gl), len(wl), i + 1, gl[i] if i < len(gl) else None, wl[i] if i < len(wl) else None))

def running_config(s, platform, cmd, prompt, pager, what):
    s.mark()
    s.send(cmd)
    text, pages = s.collect(prompt, "%s: %s ends at the prompt (%s)" % (platform, cmd, what), pager_rx=pager)
    same_as_dump(s, platform, text, "%s: %s is the 5000-line --dump text (%s)" % (platform, cmd, what))
    return pages

def pager_keys(s, cmd, pager, prompt, per_page):
    """The pager stops after per_page lines; Enter shows one line more; q quits."""
    s.send(cmd)
    s.expect(re.escape(cmd) + r"\n", "echo of " + cmd, quiet=True)
    start = s.cursor
    s.expect(pager, "%s stops at the pager" % cmd)
    n = s.screen.view()[start:s.cursor].count("\n")
    s.check(n == per_page, "a page is %d lines" % per_page, "got %d" % n)
    s.sendraw("\r")
    s.expect(pager, "Enter at the pager shows the next line and the pager again")
    n = s.screen.view()[start:s.cursor].count("\n")
    s.check(n == per_page + 1, "Enter advanced exactly one line", "got %d" % n)
    s.sendraw("q")
    s.expect(prompt, "q at the pager ends the output")
    s.check(not re.search(pager, s.screen.current()), "the pager text is gone from the screen")

# ------------------------------------------------------------------ cisco_ios
s = Session("cisco_ios", ssh("ios"))
s.expect(r"^\*+\n.*\n.*Router>.*\n\*+\nR1#\nRouter>\n", "MOTD banner holds prompt-like lines 'R1#' and 'Router>'")
s.expect(r"^R1>$", "user-mode prompt R1>")
s.mark()
s.send("show version")
text, pages = s.collect(r"^R1>$", "show version (36 lines) through the pager", pager_rx=r"--More--")
s.check(pages == 1, "one --More-- in 36 lines", "pages=%d" % pages)
s.check(" --More-- " + "\b" * 10 + " " * 10 + "\b" * 10 in s.raw(), "--More-- is erased with backspaces, blanks, backspaces", repr(s.raw()[-400:]))
s.check(re.search(r"\r\n", s.raw()) and not re.search(r"[^\r]\n", s.raw()), "every line ends in CRLF")
s.check("Configuration register is 0x2102" in (text or ""), "the whole output arrived")
pager_keys(s, "show interfaces", r" --More-- $", r"^R1>$", 23)
s.mark(); s.send("show clokc\x7f\x7fck", enter="\n"); s.expect(r"show clock\n\*12:00:00.000 UTC Mon Mar 1 1993\nR1>$", "backspace edits the line (echoed as BS SP BS), LF is Enter")
s.check("clokc\b \b\b \bck" in s.raw(), "the device echoes BS SP BS for a DEL", repr(s.raw()[:60]))
s.send("show clock", enter="\r\n"); s.expect(r"show clock\n\*12:00:00.000 UTC Mon Mar 1 1993\nR1>$", "CRLF is one Enter")
s.send(""); s.expect(r"^R1>$", "no second prompt for the LF of that CRLF, one for an empty line", quiet=True)
s.check(s.screen.view().endswith("R1>show clock\n*12:00:00.000 UTC Mon Mar 1 1993\nR1>\nR1>"), "CRLF is one Enter, not two", repr(s.screen.view()[-90:]))
s.send("show running-config"); s.expect(r"% Invalid input detected at '\^' marker\.", "show running-config is not a user-mode command")
s.expect(r"^R1>$", "back at R1>", quiet=True)
s.send("enable"); s.expect(r"^Password: $", "enable asks 'Password: '")
s.send("wrong1"); s.expect(r"^Password: $", "a wrong password asks again")
s.send("wrong2"); s.expect(r"^Password: $", "a second wrong password asks again", quiet=True)
s.send("wrong3"); s.expect(r"^% Bad secrets\n\nR1>$", "the third wrong password: '% Bad secrets', still R1>")
s.send("enable"); s.expect(r"^Password: $", "enable again", quiet=True)
s.mark(); s.send("cisco"); s.expect(r"^R1#$", "the right password: R1#")
s.check("cisco" not in s.raw(), "the password is not echoed")
pages = running_config(s, "cisco_ios", "show running-config", r"^R1#$", r"--More--", "pager on")
s.check(pages >= 200, "the pager stopped on every page of 5000 lines", "pages=%d" % pages)
s.mark(); s.send("terminal length 0"); s.expect(r"^R1#$", "terminal length 0")
pages = running_config(s, "cisco_ios", "show running-config", r"^R1#$", r"--More--", "terminal length 0")
s.check(pages == 0 and "More" not in s.raw(), "no pager after terminal length 0")
s.send("show ip interface brief | include 0/3"); s.expect(r"\nGigabitEthernet0/3 +10\.0\.4\.1 .*\nR1#$", "| include filters")
s.send("configure terminal"); s.expect(r"^Enter configuration commands, one per line\.  End with CNTL/Z\.\nR1\(config\)#$", "configure terminal: R1(config)#")
s.send("interface Gi0/1"); s.expect(r"^R1\(config-if\)#$", "interface Gi0/1: R1(config-if)#")
s.send("description uplink"); s.expect(r"^R1\(config-if\)#$", "a sub-mode command stays in the sub-mode")
s.send("do show clock"); s.expect(r"^\*12:00:00.*\nR1\(config-if\)#$", "do show clock from the sub-mode")
s.send("hostname R2"); s.expect(r"^R2\(config\)#$", "a config-mode command from the sub-mode: hostname R2, back in R2(config)#")
s.send("line vty 0 4"); s.expect(r"^R2\(config-line\)#$", "line vty 0 4: R2(config-line)#")
s.send("exit"); s.expect(r"^R2\(config\)#$", "exit: one level up")
s.sendraw("\x1a"); s.expect(r"\^Z\nR2#$", "Ctrl-Z: back to R2#")
s.send("show foo"); s.expect(r"show foo\n {8}\^\n% Invalid input detected at '\^' marker\.\n\nR2#$", "invalid input: caret under the bad word, '% Invalid input'")
s.send("show"); s.expect(r"^% Incomplete command\.\n\nR2#$", "'% Incomplete command.'")
s.send("sh i"); s.expect(r"^% Ambiguous command:  \"sh i\"\nR2#$", "'% Ambiguous command'")
s.send("reload"); s.expect(r"^System configuration has been modified\. Save\? \[yes/no\]: $", "reload after a change asks Save? [yes/no]")
s.send("maybe"); s.expect(r"^% Please answer 'yes' or 'no'\.\nSystem configuration has been modified\. Save\? \[yes/no\]: $", "a wrong answer asks again")
s.send("no"); s.expect(r"^Proceed with reload\? \[confirm\]$", "then Proceed with reload? [confirm]")
s.sendraw("n"); s.expect(r"^R2#$", "n cancels the reload")
s.send("copy running-config startup-config"); s.expect(r"^Destination filename \[startup-config\]\? $", "copy run start asks Destination filename [startup-config]?")
s.send(""); s.expect(r"^Building configuration\.\.\.\n\[OK\]\nR2#$", "Enter takes the default: [OK]")
s.send("write erase"); s.expect(r"Continue\? \[confirm\]$", "write erase asks [confirm]")
s.sendraw("\r"); s.expect(r"^\[OK\]\nErase of nvram: complete\nR2#$", "Enter confirms")
s.send("configure terminal"); s.expect(r"^R2\(config\)#$", "config mode again", quiet=True)
s.send("crypto key generate rsa"); s.expect(r"\[yes/no\]: $", "crypto key generate rsa asks [yes/no]")
s.send("no"); s.expect(r"^R2\(config\)#$", "no keeps the keys")
s.send("end"); s.expect(r"^R2#$", "end: R2#")
s.send("disable"); s.expect(r"^R2>$", "disable: R2>")
s.send("exit"); s.expect_eof("exit in user mode disconnects")
s.close()

# IOS with quirks from the session environment: ANSI after the prompt, 1-16 byte chunks
env = 'FAKEDEV_ARGS="--quirks +ansi --chunk-delay-ms 8 --chunk-bytes 1-16"'
s = Session("cisco_ios+ansi+chunks", ssh("ios", "-o", "SetEnv=" + env))
s.expect(r"^R1>$", "prompt through ANSI and tiny chunks")
s.mark(); s.send("show clock"); s.expect(r"^\*12:00:00.000 UTC Mon Mar 1 1993\nR1>$", "output through ANSI and tiny chunks")
s.pump(0.5)
s.check("R1>\x1b[K\x1b[0m" in s.raw(), "ESC[K ESC[0m follow the prompt on the wire", repr(s.raw()[-80:]))
r0 = s.reads; t0 = time.monotonic()
s.send("show version"); s.collect(r"^R1>$", "show version in chunks", pager_rx="--More--")
s.check(s.reads - r0 >= 20, "output came in many small reads", "reads=%d" % (s.reads - r0))
s.send("exit"); s.expect_eof("exit disconnects")
s.close()

# ------------------------------------------------------------------ cisco_asa
s = Session("cisco_asa", ssh("asa"))
s.expect(r"^asa#\n", "MOTD holds a prompt-like line 'asa#'", quiet=False)
s.expect(r"^asa>$", "user-mode prompt asa>")
s.send("enable"); s.expect(r"^Password: $", "enable asks 'Password: '")
s.send("bad"); s.expect(r"^Invalid password\nPassword: $", "a wrong password: 'Invalid password', asked again")
s.send("bad"); s.expect(r"^Invalid password\nPassword: $", "again", quiet=True)
s.send("bad"); s.expect(r"^Access denied\.\nasa>$", "the third: 'Access denied.', still asa>")
s.send("enable"); s.expect(r"^Password: $", "enable again", quiet=True)
s.send("cisco"); s.expect(r"^asa#$", "the right password: asa#")
s.mark()
pages = running_config(s, "cisco_asa", "show running-config", r"^asa#$", r"<--- More --->", "pager on")
s.check(pages >= 200, "<--- More ---> on every page", "pages=%d" % pages)
s.check("<--- More --->\r" + " " * 14 + "\r" in s.raw(), "<--- More ---> is erased with CR, blanks, CR")
pager_keys(s, "show version", r"<--- More --->$", r"^asa#$", 23)
s.send("terminal pager 0"); s.expect(r"^asa#$", "terminal pager 0")
s.mark()
pages = running_config(s, "cisco_asa", "show running-config", r"^asa#$", r"<--- More --->", "terminal pager 0")
s.check(pages == 0 and "More" not in s.raw(), "no pager after terminal pager 0")
s.send("configure terminal"); s.expect(r"^asa\(config\)#$", "configure terminal: asa(config)#")
s.send("interface GigabitEthernet1/1"); s.expect(r"^asa\(config-if\)#$", "interface GigabitEthernet1/1: asa(config-if)#")
s.send("nameif outside"); s.expect(r"^asa\(config-if\)#$", "nameif in the sub-mode")
s.send("exit"); s.expect(r"^asa\(config\)#$", "exit: asa(config)#")
s.send("end"); s.expect(r"^asa#$", "end: asa#")
s.send("show bogus"); s.expect(r"^ {9}\^\nERROR: % Invalid input detected at '\^' marker\.\nasa#$", "'ERROR: % Invalid input' with the caret")
s.send("reload"); s.expect(r"Save\? \[Y\]es/\[N\]o: $", "reload after a change asks Save? [Y]es/[N]o")
s.send("N"); s.expect(r"^Proceed with reload\? \[confirm\]$", "then [confirm]")
s.sendraw("n"); s.expect(r"^asa#$", "n cancels")
s.send("exit"); s.expect(r"^Logoff\n", "exit says Logoff")
s.expect_eof("and disconnects")
s.close()

# ------------------------------------------------------------------ juniper_junos
s = Session("juniper_junos", ssh("junos"))
s.expect(r"^--- JUNOS 21\.4R3\.15 Kernel 64-bit .*\n", "JUNOS login banner")
s.expect(r"^admin@R1>\n", "MOTD holds a prompt-like line 'admin@R1>'")
s.expect(r"^admin@R1> $", "operational prompt 'admin@R1> '")
s.mark()
pages = running_config(s, "juniper_junos", "show configuration", r"^admin@R1> $", r"---\(more \d+%\)---", "pager on")
s.check(pages >= 200, "---(more NN%)--- on every page", "pages=%d" % pages)
s.check(re.search(r"---\(more \d+%\)---\r {16,}\r", s.raw()), "the pager is erased with CR, blanks, CR")
pager_keys(s, "show version", r"---\(more \d+%\)---$", r"^admin@R1> $", 23)
s.mark()
running_config(s, "juniper_junos", "show configuration | no-more", r"^admin@R1> $", r"---\(more", "| no-more")
s.check("---(more" not in s.raw(), "| no-more: no pager")
s.send("set cli screen-length 0"); s.expect(r"^Screen length set to 0\nadmin@R1> $", "set cli screen-length 0")
s.mark()
running_config(s, "juniper_junos", "show configuration", r"^admin@R1> $", r"---\(more", "screen-length 0")
s.check("---(more" not in s.raw(), "no pager after set cli screen-length 0")
s.send("show bogus"); s.expect(r"^ {15}\^\nsyntax error, expecting <command>: bogus\nadmin@R1> $", "a bad argument: caret, 'syntax error'")
s.send("bogus"); s.expect(r"^ {10}\^\nunknown command\.\nadmin@R1> $", "a bad command: caret, 'unknown command.'")
s.send("configure"); s.expect(r"^Entering configuration mode\n\n\[edit\]\nadmin@R1# $", "configure: [edit] banner and 'admin@R1# '")
s.send("edit interfaces ge-0/0/1"); s.expect(r"^\[edit interfaces ge-0/0/1\]\nadmin@R1# $", "edit: the banner shows the level")
s.send("set description uplink"); s.expect(r"^\[edit interfaces ge-0/0/1\]\nadmin@R1# $", "set at that level")
s.send("up"); s.expect(r"^\[edit interfaces\]\nadmin@R1# $", "up: one level up")
s.send("top"); s.expect(r"^\[edit\]\nadmin@R1# $", "top: [edit]")
s.send("run show system uptime"); s.expect(r"^Current time: .*\n.*\n\n\[edit\]\nadmin@R1# $", "run: an operational command from configuration mode")
s.send("exit"); s.expect(r"^The configuration has been changed but not committed\nExit with uncommitted changes\? \[yes,no\] \(yes\) $", "exit with changes asks [yes,no]")
s.send("no"); s.expect(r"^\[edit\]\nadmin@R1# $", "no stays")
s.send("commit"); s.expect(r"^commit complete\n\n\[edit\]\nadmin@R1# $", "commit complete")
s.send("exit"); s.expect(r"^Exiting configuration mode\nadmin@R1> $", "exit after commit: straight out")
s.send("request system reboot"); s.expect(r"^Reboot the system \? \[yes,no\] \(no\) $", "request system reboot asks [yes,no] (no)")
s.send(""); s.expect(r"^admin@R1> $", "the default is no")
s.send("exit"); s.expect_eof("exit in operational mode disconnects")
s.close()

# ------------------------------------------------------------------ arista_eos
s = Session("arista_eos", ssh("eos"))
s.expect(r"^R1#\n", "MOTD holds a prompt-like line 'R1#'")
s.expect(r"^R1>$", "user-mode prompt R1>")
s.send("enable"); s.expect(r"^Password: $", "enable asks 'Password: ' (a password is set)")
s.send("bad"); s.expect(r"^% Access denied\nR1>$", "one wrong password: '% Access denied', still R1>")
s.send("enable"); s.expect(r"^Password: $", "enable again", quiet=True)
s.send("arista"); s.expect(r"^R1#$", "the right password: R1#")
s.mark()
pages = running_config(s, "arista_eos", "show running-config", r"^R1#$", r"--More--", "pager on")
s.check(pages >= 200, "--More-- on every page", "pages=%d" % pages)
pager_keys(s, "show interfaces", r" --More-- $", r"^R1#$", 23)
s.send("terminal length 0"); s.expect(r"^Pagination disabled\.\nR1#$", "terminal length 0: 'Pagination disabled.'")
s.mark()
running_config(s, "arista_eos", "show running-config", r"^R1#$", r"--More--", "terminal length 0")
s.check("More" not in s.raw(), "no pager after terminal length 0")
s.send("configure terminal"); s.expect(r"^R1\(config\)#$", "configure terminal: R1(config)#")
s.send("interface Ethernet1"); s.expect(r"^R1\(config-if-Et1\)#$", "interface Ethernet1: R1(config-if-Et1)#")
s.send("int ma1"); s.expect(r"^R1\(config-if-Ma1\)#$", "int ma1 from the sub-mode: R1(config-if-Ma1)#")
s.send("description mgmt"); s.expect(r"^R1\(config-if-Ma1\)#$", "description in the sub-mode")
s.send("end"); s.expect(r"^R1#$", "end: R1#")
s.send("show bogus"); s.expect(r"show bogus\n% Invalid input\nR1#$", "'% Invalid input' without a caret line")
s.send("show"); s.expect(r"^% Incomplete command\nR1#$", "'% Incomplete command'")
s.send("reload"); s.expect(r"^System configuration has been modified\. Save\? \[yes/no/cancel/diff\]:$", "reload after a change asks [yes/no/cancel/diff]")
s.send("cancel"); s.expect(r"^R1#$", "cancel")
s.send("write erase"); s.expect(r"^Proceed with erasing startup configuration\? \[confirm\]$", "write erase asks [confirm]")
s.sendraw("n"); s.expect(r"^R1#$", "n cancels")
s.send("exit"); s.expect_eof("exit disconnects")
s.close()

# ------------------------------------------------------------------ huawei_vrp
s = Session("huawei_vrp", ssh("vrp"))
s.expect(r"^ <R1>\n \[R1\]\n", "MOTD holds prompt-like lines '<R1>' and '[R1]'")
s.expect(r"^<R1>$", "user view prompt <R1>")
s.send("super"); s.expect(r"^Password:$", "super asks 'Password:'")
s.send("bad"); s.expect(r"^Error: Password is wrong\.\nPassword:$", "a wrong password: 'Error: Password is wrong.'")
s.send("huawei"); s.expect(r"^  Now user privilege is 15 level.*\n.*\n<R1>$", "the right password: privilege 15, same prompt")
s.mark()
pages = running_config(s, "huawei_vrp", "display current-configuration", r"^<R1>$", r"---- More ----", "pager on")
s.check(pages >= 200, "---- More ---- on every page", "pages=%d" % pages)
s.check("  ---- More ----\x1b[42D" + " " * 42 + "\x1b[42D" in s.raw(), "the pager is erased with ESC[42D, 42 blanks, ESC[42D")
pager_keys(s, "display interface", r"---- More ----$", r"^<R1>$", 23)
s.send("screen-length 0 temporary"); s.expect(r"^Info: The configuration takes effect on the current user terminal interface only\.\n<R1>$", "screen-length 0 temporary")
s.mark()
running_config(s, "huawei_vrp", "display current-configuration", r"^<R1>$", r"---- More", "screen-length 0")
s.check("More" not in s.raw(), "no pager after screen-length 0 temporary")
s.send("dis foo"); s.expect(r"dis foo\n {8}\^\nError: Unrecognized command found at '\^' position\.\n<R1>$", "caret and 'Error: Unrecognized command'")
s.send("display"); s.expect(r"^ {11}\^\nError: Incomplete command found at '\^' position\.\n<R1>$", "'Error: Incomplete command'")
s.send("system-view"); s.expect(r"^Enter system view, return user view with Ctrl\+Z\.\n\[R1\]$", "system-view: [R1]")
s.send("interface GigabitEthernet0/0/1"); s.expect(r"^\[R1-GigabitEthernet0/0/1\]$", "interface: [R1-GigabitEthernet0/0/1]")
s.send("description uplink"); s.expect(r"^\[R1-GigabitEthernet0/0/1\]$", "description in the interface view")
s.send("quit"); s.expect(r"^\[R1\]$", "quit: [R1]")
s.send("sysname R5"); s.expect(r"^\[R5\]$", "sysname R5: [R5]")
s.sendraw("\x1a"); s.expect(r"^<R5>$", "Ctrl+Z: user view <R5>")
s.send("save"); s.expect(r"Continue\? \[Y/N\]:$", "save asks [Y/N]")
s.send("y"); s.expect(r"^Info: Save the configuration successfully\.\n<R5>$", "y saves")
s.send("reboot"); s.expect(r"^System will reboot! Continue \? \[y/n\]:$", "reboot asks [y/n]")
s.send("n"); s.expect(r"^<R5>$", "n cancels")
s.send("quit"); s.expect_eof("quit in user view disconnects")
s.close()

# ------------------------------------------------------------------ mikrotik_routeros
s = Session("mikrotik_routeros", ssh("ros"))
s.expect(r"^  MikroTik RouterOS 7\.12 ", "RouterOS login banner")
s.expect(r"^\[admin@R1\] >\n", "the note holds a prompt-like line '[admin@R1] >'")
s.expect(r"^\[admin@R1\] > $", "prompt '[admin@R1] > '", timeout=5)
s.check(s.rawbuf.startswith(b"\x1b[6n"), "the device starts with a cursor position query ESC[6n", repr(bytes(s.rawbuf[:20])))
s.check(time.monotonic() - s.first_at >= 0.9, "unanswered, it delays the banner about 1 s", "%.2f s" % (time.monotonic() - s.first_at))
s.mark()
s.send("/interface print")
s.expect(r"^-- \[Q quit\|D dump\|down\]$", "print stops at '-- [Q quit|D dump|down]'")
s.sendraw(" "); s.expect(r"^ 29 R  ether30 .*\n\[admin@R1\] > $", "space: the rest")
s.check("\x1b[32mR\x1b[m" in s.raw(), "output carries colour escapes", repr(s.raw()[:300]))
s.check("\r\x1b[K" in s.raw(), "the pager is erased with CR ESC[K")
s.mark()
pages = running_config(s, "mikrotik_routeros", "/export", r"^\[admin@R1\] > $", r"-- \[Q quit", "pager on")
s.check(pages >= 200, "the pager on every page", "pages=%d" % pages)
running_config(s, "mikrotik_routeros", "/export without-paging", r"^\[admin@R1\] > $", r"-- \[Q quit", "without-paging")
s.send("/interface"); s.expect(r"^\[admin@R1\] /interface> $", "/interface: '[admin@R1] /interface> '")
s.mark(); s.send("print without-paging"); s.expect(r"^ 29 R  ether30 .*\n\[admin@R1\] /interface> $", "print relative to the menu, without-paging")
s.check("-- [Q quit" not in s.raw(), "without-paging: no pager")
s.send(".."); s.expect(r"^\[admin@R1\] > $", ".. goes up")
s.send("/foo"); s.expect(r"^bad command name foo \(line 1 column 2\)\n\[admin@R1\] > $", "'bad command name foo (line 1 column 2)'")
s.send("/system identity set name=R7"); s.expect(r"^\[admin@R7\] > $", "identity set: '[admin@R7] > '")
s.send("/system reboot"); s.expect(r"^Reboot, yes\? \[y/N\]: $", "/system reboot asks [y/N]")
s.sendraw("n"); s.expect(r"^\[admin@R7\] > $", "n cancels")
s.send("/quit"); s.expect(r"^interrupted\n", "quit says interrupted")
s.expect_eof("and disconnects")
s.close()

s = Session("mikrotik_routeros+cpr-answered", ssh("ros"), answer_cpr=True)
s.expect(r"^\[admin@R1\] > $", "prompt")
s.check(time.monotonic() - s.first_at < 0.8, "an answered cursor query does not wait out the timeout", "%.2f s" % (time.monotonic() - s.first_at))
s.check(not s.screen.view().startswith("R") and "24;80" not in s.screen.view(), "the answer is swallowed, not echoed")
s.send("quit"); s.expect_eof("quit disconnects")
s.close()
done()
PYEOF
