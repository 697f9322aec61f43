#!/bin/bash
# 51-devices: an agent works on network devices (the fake ones of tests/fakedev/, each behind
# its own sshd) through `sshmcp serve` and `sshmcp exec --device-type`. The MCP scenarios
# (tests/mcp/devices.mjs) log in to IOS, ASA, Junos, EOS, VRP, RouterOS, ProCurve and PAN-OS:
# the output of a command is exactly what the device printed (no echo, prompt, pager, ANSI or
# CR: equal to `fakedev.py --dump`), exit_code is null, the mode follows the prompt, rejected
# commands fail with SSHMCP_ERR_DEVICE and leave the session usable, pagers are turned off at
# login or advanced, enable/super with the session's enable_password (a wrong one is
# SSHMCP_ERR_AUTH), confirmations come back as awaiting_input, `exit` closes the session,
# devices are detected without device_type, quirky devices (ANSI, tiny delayed chunks, a MOTD
# holding prompt-like lines, a cursor query) do not confuse it, and no enable password shows
# anywhere, not even across a link with an RTT of 200 ms. Then the exec CLI: the clean output on
# stdout, exit 0 / 1 / 255 / 124.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"
. "$TESTS_DIR/fakedev/lib.sh"

mcp_need_node

# Enable passwords nobody else prints (not "cisco": show version says cisco), to find leaks.
IOS_PW='Ios-En4ble-p9x' ASA_PW='Asa-En4ble-p9x' EOS_PW='Eos-En4ble-p9x' VRP_PW='Vrp-Sup3r-p9x'
HP_PW='Hp-En4ble-p9x'
QUIRKS=(--quirks '+ansi,+motd' --chunk-delay-ms 15 --chunk-bytes 1-40)

# One sshd per device; a quirky twin of IOS and Junos. ROS waits 20 s for the answer to its
# cursor position query, so an unanswered query stalls the login visibly; ROS1 waits 1 s.
fakedev_start IOS cisco_ios --hostname R1 --enable-password "$IOS_PW"
fakedev_start IOSQ cisco_ios --hostname R1 --enable-password "$IOS_PW" "${QUIRKS[@]}"
fakedev_start ASA cisco_asa --enable-password "$ASA_PW"
fakedev_start JUNOS juniper_junos
fakedev_start JUNOSQ juniper_junos "${QUIRKS[@]}"
fakedev_start EOS arista_eos --enable-password "$EOS_PW"
fakedev_start VRP huawei_vrp --enable-password "$VRP_PW"
fakedev_start ROS mikrotik_routeros --cpr-timeout 20
fakedev_start ROS1 mikrotik_routeros
fakedev_start HP hp_procurve --enable-password "$HP_PW"
fakedev_start PAN paloalto_panos
# for the exec CLI: IOS on a slow link (1-4 bytes, up to 300 ms apart, for 2 s of each
# command), and IOS with one more command, `show slow`, that takes a minute (a table in $FIX)
fakedev_start SLOWLINK cisco_ios --quirks crlf --chunk-delay-ms 300 --chunk-bytes 1-4
_fakedev_install
"$PY" - "$FAKEDEV_DIR/platforms/cisco_ios.json" "$FAKEDEV_DIR/slow_ios.json" <<'PYEOF' || die "slow_ios.json"
import json, sys
t = json.load(open(sys.argv[1]))
t["commands"].append({"cmd": "show slow", "modes": ["user", "enable"], "do": [{"sleep_ms": 60000}, {"print": "done"}]})
t["commands"].append({"cmd": "show prompts", "modes": ["user", "enable"], "do": [{"print": ["R1>",
    "interface Gi0/1", "R1>", "R1#", "Router>", " description R1>", "R1>"]}]})
json.dump(t, open(sys.argv[2], "w"))
PYEOF
chmod 644 "$FAKEDEV_DIR/slow_ios.json"
fakedev_start SLOW cisco_ios --table "$FAKEDEV_DIR/slow_ios.json"
# output lines equal to the prompt (R1>), at once and on a link of 1-4 bytes up to 15 ms apart
fakedev_start PROMPTS cisco_ios --hostname R1 --quirks crlf --table "$FAKEDEV_DIR/slow_ios.json"
fakedev_start PROMPTSLOW cisco_ios --hostname R1 --quirks crlf --chunk-delay-ms 15 --chunk-bytes 1-4 \
	--table "$FAKEDEV_DIR/slow_ios.json"
for n in IOS IOSQ ASA JUNOS JUNOSQ EOS VRP ROS ROS1 HP PAN SLOWLINK SLOW PROMPTS PROMPTSLOW; do
	trust "$n"
	ssh_alias "${n,,}" "$n"
done
ssh_alias ios-wrongkey IOS "IdentityFile $KEY_WRONG"
# IOS across a far link: a ProxyCommand that holds every chunk 100 ms each way (RTT 200 ms, a
# VPN to another continent), so a prompt already on screen can arrive before a command's echo
cat >"$FIX/delayproxy.py" <<'PYEOF'
# delayproxy.py HOST PORT SECONDS: every chunk SECONDS late in each direction, order kept; ends
# with either side, after 300 s at the latest
import collections, os, select, socket, sys, time
host, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=10)
s.setblocking(True)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
up, down = collections.deque(), collections.deque()     # (due, bytes)
eof_in = eof_net = shut = False
end = time.monotonic() + 300
try:
    while time.monotonic() < end:
        now = time.monotonic()
        while up and up[0][0] <= now:
            s.sendall(up.popleft()[1])
        while down and down[0][0] <= now:
            os.write(1, down.popleft()[1])
        if eof_in and not up and not shut:
            s.shutdown(socket.SHUT_WR)
            shut = True
        if eof_net and not down:
            break
        due = min([q[0][0] for q in (up, down) if q] or [now + 1]) - now
        r, _, _ = select.select(([] if eof_in else [0]) + ([] if eof_net else [s]), [], [], max(0.0, due))
        if 0 in r:
            d = os.read(0, 65536)
            if d:
                up.append((time.monotonic() + delay, d))
            else:
                eof_in = True
        if s in r:
            d = s.recv(65536)
            if d:
                down.append((time.monotonic() + delay, d))
            else:
                eof_net = True
except OSError:
    pass
PYEOF
ssh_alias far IOS "ProxyCommand $PY $FIX/delayproxy.py %h %p 0.1"
sshd_start MAIN              # a Linux host beside the devices: still a shell
trust MAIN
ssh_alias h MAIN

export MCP_FIX="$FIX" MCP_SERVER_LOG="$FIX/mcp-server.log" FAKEDEV MCP_LINUX_HOST=h \
	IOS_PW ASA_PW EOS_PW VRP_PW HP_PW
T=420 mcp_scenarios "$MCP_DIR/devices.mjs"

# ============================================================ sshmcp exec ===
fakedev_dump cisco_ios version >"$FIX/ios.version"
fakedev_dump juniper_junos running_config >"$FIX/junos.cfg"
fakedev_dump huawei_vrp version >"$FIX/vrp.version"
fakedev_dump mikrotik_routeros running_config | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >"$FIX/ros.cfg"

T=30 mcp --device-type cisco_ios ios 'show version'
check_exit "$RC" 0 "exec --device-type cisco_ios: show version exits 0"
check_eq "$OUT" "$(cat "$FIX/ios.version")" "its stdout is the device's output (= --dump version)"
check_eq "$ERR" "" "and nothing on stderr"
check_not_contains "$OUT" $'\r' "no CR on stdout"

T=30 mcp --device-type cisco_ios ios 'show bogus'
check_exit "$RC" 1 "a command the device rejects → exit 1"
check_contains "$ERR" "% Invalid input detected at '^' marker." "stderr has the device's error line"

T=30 mcp --device-type cisco_ios ios $'show clock\nshow privilege'
check_exit "$RC" 0 "two command lines in one argument → exit 0"
check_eq "$OUT" $'*12:00:00.000 UTC Mon Mar 1 1993\nCurrent privilege level is 1' "both outputs, in order, nothing between"

T=30 mcp --device-type cisco_ios ios $'show clock\nshow foo\nshow privilege'
check_exit "$RC" 1 "three lines, the second rejected → exit 1"
check_contains "$OUT" '*12:00:00.000 UTC Mon Mar 1 1993' "the first line's output is there"
check_not_contains "$OUT" 'privilege level' "the line after the rejected one never ran"
check_contains "$ERR" "% Invalid input" "stderr names the device's error"

T=60 mcp --device-type juniper_junos junos 'show configuration'
check_exit "$RC" 0 "exec --device-type juniper_junos: show configuration exits 0"
check_eq "$OUT" "$(cat "$FIX/junos.cfg")" "5,000 lines of configuration = --dump (pager off at login)"

T=30 mcp --device-type huawei_vrp vrp 'display version'
check_exit "$RC" 0 "exec --device-type huawei_vrp: display version exits 0"
check_eq "$OUT" "$(cat "$FIX/vrp.version")" "its stdout is --dump version"

T=90 mcp --device-type mikrotik_routeros ros '/export'
check_exit "$RC" 0 "exec --device-type mikrotik_routeros: /export (paged: no pager-off command) exits 0"
check_eq "$OUT" "$(cat "$FIX/ros.cfg")" "pages joined, ANSI gone: = --dump running_config"

T=40 mcp --device-type cisco_ios far 'show clock'
check_exit "$RC" 0 "RTT 200 ms: exec --device-type cisco_ios far 'show clock' exits 0"
check_eq "$OUT" '*12:00:00.000 UTC Mon Mar 1 1993' "its stdout is the clock, not a line of the login dialogue"
T=40 mcp --device-type cisco_ios far $'show privilege\nshow clock'
check_eq "$OUT" $'Current privilege level is 1\n*12:00:00.000 UTC Mon Mar 1 1993' "two lines across the far link: both outputs, nothing else"

T=30 mcp --device-type bogus_os ios 'show version'
check_exit "$RC" 2 "--device-type with an unknown name → usage error (2)"

T=30 mcp --device-type cisco_ios ios-wrongkey 'show version'
check_exit "$RC" 255 "a key the device refuses → 255"

SSHMCP_ENABLE_PASSWORD=$IOS_PW T=30 mcp --device-type cisco_ios ios 'copy running-config startup-config'
check_exit "$RC" 1 "a confirmation nobody can answer here → exit 1"
check_contains "$ERR" "Destination filename [startup-config]?" "stderr names the device's question"

T=40 mcp --timeout 30 --device-type cisco_ios slowlink 'show version'
check_exit "$RC" 0 "a slow link (1-4 bytes, up to 300 ms apart): exit 0"
check_eq "$OUT" "$(cat "$FIX/ios.version")" "and the whole output, = --dump version"

# A line of output equal to the learned prompt does not end the command, neither at once
# (the whole output in one read) nor on a link that pauses after any byte (a pause cannot
# be told from the end there: the engine waits SSHMCP_DEV_SETTLE_MS, longer than 15 ms)
PROMPTS_OUT=$'R1>\ninterface Gi0/1\nR1>\nR1#\nRouter>\n description R1>\nR1>\n*12:00:00.000 UTC Mon Mar 1 1993'
for i in 1 2 3; do
	T=40 mcp --timeout 30 --device-type cisco_ios prompts $'show prompts\nshow clock\nshow prompts\nshow clock'
	check_exit "$RC" 0 "output lines equal to the prompt, run $i: exit 0"
	check_eq "$OUT" "$PROMPTS_OUT"$'\n'"$PROMPTS_OUT" "run $i: the whole output of both commands, twice"
done
for i in 1 2 3; do
	T=60 mcp --timeout 50 --device-type cisco_ios promptslow $'show prompts\nshow clock'
	check_exit "$RC" 0 "the same on a link of 1-4 bytes up to 15 ms apart, run $i: exit 0"
	check_eq "$OUT" "$PROMPTS_OUT" "run $i: the whole output, and the next command's"
done

t0=$SECONDS
T=30 mcp --timeout 3 --device-type cisco_ios slow 'show slow'
check_exit "$RC" 124 "--timeout 3 on a command that takes a minute → 124"
if [ $((SECONDS - t0)) -le 10 ]; then ok "within 10 s"; else fail "within 10 s" "$((SECONDS - t0)) s"; fi

# the enable password from the environment (never on the command line)
SSHMCP_ENABLE_PASSWORD=$IOS_PW T=30 mcp --device-type cisco_ios ios 'show privilege'
check_exit "$RC" 0 "SSHMCP_ENABLE_PASSWORD: exit 0"
check_eq "$OUT" 'Current privilege level is 15' "the device was climbed to privileged mode first"
SSHMCP_ENABLE_PASSWORD=wrong-$IOS_PW T=30 mcp --device-type cisco_ios ios 'show privilege'
check_exit "$RC" 255 "a wrong SSHMCP_ENABLE_PASSWORD → 255 (an authentication failure)"
check_not_contains "$OUT$ERR" "$IOS_PW" "and the password shows nowhere"
