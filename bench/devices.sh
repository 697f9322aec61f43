#!/bin/bash
# bench/devices.sh — a network device's 5,000-line `show running-config` (the fake IOS of
# tests/fakedev/, behind a local sshd, no enable password, no MOTD) fetched four ways, each
# checked byte for byte against `fakedev.py --dump running_config`:
#   * cold, one process per run: `sshmcp exec --device-type cisco_ios ios 'enable\nshow
#     running-config'` (connect + auth + login + pager off + enable + the command), pager off and
#     with `terminal length 24` first (the engine answers 217 --More-- prompts); against OpenSSH
#     `ssh -tt` and a minimal Python driver doing the same dialogue (read to the prompt, space
#     at --More--, cut echo, prompt and pager), and against `ssh ios 'show running-config'`
#     (an exec channel: the device prints it unpaged, no prompt, no login dialogue);
#   * warm, on one open session: execute_command through `sshmcp serve` and the MCP SDK
#     (bench/devices.mjs), against the Python driver on one `ssh -tt` session.
# RUNS (default 5) timed runs of each, medians in ms, ratios sshmcp/OpenSSH; the warm
# one-line `show clock` RUNS×20 times, p50 and p90 (issue 20's goal: p50 <= 5 ms), and with
# BEFORE=path-to-another-sshmcp the same warm calls on that binary too. Not a test: no
# thresholds. Everything runs under timeout; what is started is stopped by PID.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/fakedev/lib.sh"
RUNS=${RUNS:-5}
BENCH_TIMEOUT=120
export MCP_SDK=${MCP_SDK:-$REPO/build/npm}

command -v node >/dev/null 2>&1 || die "node is not installed"
[ -f "$MCP_SDK/node_modules/@modelcontextprotocol/sdk/package.json" ] ||
	die "no MCP SDK in $MCP_SDK" "run: make build/npm/node_modules/@modelcontextprotocol/sdk/package.json"

# no MOTD (a prompt-like banner line would only test the drivers' patience), CRLF as IOS
fakedev_start IOS cisco_ios --hostname R1 --enable-password '' --quirks crlf -- "LogLevel INFO"
trust IOS
ssh_alias ios IOS
fakedev_dump cisco_ios running_config >"$FIX/want"
[ "$(wc -l <"$FIX/want")" = 5000 ] || die "the dump is not 5000 lines"

SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)
PIDFILE=$FIX/servers.pid
: >"$PIDFILE"
_bench_cleanup() {   # the MCP servers node spawned, then lib.sh's cleanup, status unchanged
	local rc=$?
	bench_kill_servers "$PIDFILE"
	(exit "$rc")
	_cleanup
}
trap _bench_cleanup EXIT

# The OpenSSH side: ssh -tt on pipes, read until the prompt is the last thing on the wire,
# a space for each --More--; the output is the bytes between the echoed command line and the
# prompt, with the pager and its backspace erasure cut out and CR dropped.
#   drive.py oneshot off|on OUTFILE   login, enable, terminal length 0|24, show, exit
#                                     (SSH_ARGV: the ssh command, \x1f between words)
#   drive.py warm RUNS                one session: RUNS timed shows pager off, then RUNS on;
#                                     and RUNS×4 `show clock`; prints off_ms ..., on_ms ...,
#                                     clock_ms ..., off_bad N, on_bad N
cat >"$FIX/drive.py" <<'PYEOF'
import os, re, select, subprocess, sys, time
PROMPT = re.compile(rb"(?:^|\n)R1[>#]\Z")
MORE = b" --More-- "
ERASE = re.compile(r" --More-- \x08+ +\x08+")
ssh = os.environ["SSH_ARGV"].split("\x1f")
mode = sys.argv[1]
want = open(os.environ["WANT"], "rb").read().decode()
p = subprocess.Popen(ssh, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
fd = p.stdout.fileno()

def send(s):
    p.stdin.write(s.encode() if isinstance(s, str) else s)
    p.stdin.flush()

def until_prompt(pager=False, limit=110.0):
    buf = bytearray()
    end = time.monotonic() + limit
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            sys.exit("no prompt within %.0f s: %r" % (limit, bytes(buf[-200:])))
        data = os.read(fd, 65536)
        if not data:
            sys.exit("EOF before the prompt: %r" % bytes(buf[-200:]))
        buf += data
        if pager and buf.endswith(MORE):
            send(" ")
        elif PROMPT.search(buf[-64:]):
            return buf.decode("utf-8", "replace")

def show(pager):
    send("show running-config\r")
    text = ERASE.sub("", until_prompt(pager)).replace("\r", "")
    lines = text.split("\n")
    return "\n".join(lines[1:-1]) + "\n"     # without the echo line and the prompt

until_prompt()
send("enable\r"); until_prompt()
if mode == "oneshot":
    pager = sys.argv[2] == "on"
    send("terminal length %d\r" % (24 if pager else 0)); until_prompt()
    out = show(pager)
    open(sys.argv[3], "w").write(out)
    send("exit\r")
    p.wait(10)
    sys.exit(0)
runs = int(sys.argv[2])
for pager, cmd in ((False, "terminal length 0"), (True, "terminal length 24")):
    send(cmd + "\r"); until_prompt()
    ms, bad = [], 0
    for _ in range(runs):
        t0 = time.monotonic()
        out = show(pager)
        ms.append((time.monotonic() - t0) * 1000)
        bad += out != want
    key = "on" if pager else "off"
    print("%s_ms %s" % (key, " ".join("%.3f" % x for x in ms)))
    print("%s_bad %d" % (key, bad))
ms = []
for _ in range(runs * 4):
    t0 = time.monotonic()
    send("show clock\r"); until_prompt()
    ms.append((time.monotonic() - t0) * 1000)
print("clock_ms %s" % " ".join("%.3f" % x for x in ms))
send("exit\r")
p.wait(10)
PYEOF
SSH_ARGV=$(printf '%s\x1f' "${SSH[@]}" -tt -e none ios)
export SSH_ARGV=${SSH_ARGV%$'\x1f'} WANT=$FIX/want

# try_time NAME CMD...: ms of one run to stdout, or "fail" (stderr kept in $FIX/NAME.err);
# the run's stdout is compared with the dump: a mismatch counts in $FIX/NAME.bad
try_time() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	if ! timeout "$BENCH_TIMEOUT" "$@" </dev/null >"$FIX/bench.out" 2>"$FIX/$name.err"; then
		echo fail; return
	fi
	t1=$(date +%s%N)
	cmp -s "$FIX/bench.out" "$WANT" || echo x >>"$FIX/$name.bad"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'
}
# the OpenSSH runs as scripts, for timeout to run
# shellcheck disable=SC2016  # $1 is the script's
printf '#!/bin/bash\n%q %q oneshot "$1" %q && cat %q\n' "$PY" "$FIX/drive.py" "$FIX/tt.out" "$FIX/tt.out" >"$FIX/tt_oneshot"
printf '#!/bin/bash\n%s ios "show running-config" | tr -d "\\r"\n' "$(printf '%q ' "${SSH[@]}")" >"$FIX/ssh_exec"
chmod 755 "$FIX/tt_oneshot" "$FIX/ssh_exec"

# ------------------------------------------------------ cold, interleaved ---
NAMES="cli_off cli_on tt_off tt_on ssh_exec"
for n in $NAMES; do : >"$FIX/$n.ms"; : >"$FIX/$n.bad"; done
try_time warm "${SSH[@]}" ios 'show clock' >/dev/null     # page cache, sshd's first fork
for _ in $(seq "$RUNS"); do
	try_time cli_off "$SSHMCP" exec --device-type cisco_ios ios $'enable\nshow running-config' >>"$FIX/cli_off.ms"
	try_time cli_on "$SSHMCP" exec --device-type cisco_ios ios $'enable\nterminal length 24\nshow running-config' >>"$FIX/cli_on.ms"
	try_time tt_off "$FIX/tt_oneshot" off >>"$FIX/tt_off.ms"
	try_time tt_on "$FIX/tt_oneshot" on >>"$FIX/tt_on.ms"
	try_time ssh_exec "$FIX/ssh_exec" >>"$FIX/ssh_exec.ms"
done

# ---------------------------------------------------------------- warm ---
RUNS=$RUNS PIDFILE=$PIDFILE MCP_HOST=ios SSHMCP=$SSHMCP \
	timeout -k 5 600 node "$REPO/bench/devices.mjs" >"$FIX/node.out" 2>"$FIX/node.err" &
NODE_PID=$!
_track "$NODE_PID"
wait "$NODE_PID" || note "bench/devices.mjs failed (exit $?): $(tail -n 5 "$FIX/node.err" | tr '\n' ' ')"
if [ -n "${BEFORE-}" ]; then
	RUNS=$RUNS PIDFILE=$PIDFILE MCP_HOST=ios SSHMCP=$BEFORE \
		timeout -k 5 600 node "$REPO/bench/devices.mjs" >"$FIX/node0.out" 2>"$FIX/node0.err" &
	NODE_PID=$!
	_track "$NODE_PID"
	wait "$NODE_PID" || note "bench/devices.mjs on BEFORE failed (exit $?): $(tail -n 5 "$FIX/node0.err" | tr '\n' ' ')"
fi
timeout 600 "$PY" "$FIX/drive.py" warm "$RUNS" >"$FIX/ttwarm.out" 2>"$FIX/ttwarm.err" ||
	note "the ssh -tt warm driver failed: $(tail -n 3 "$FIX/ttwarm.err" | tr '\n' ' ')"

# ---------------------------------------------------------------- report ---
words() { sed -n "s/^$1 //p" "$2" | tr ' ' '\n' | grep .; }   # KEY FILE: the numbers after "KEY "
med() {   # FILE: median of its numbers, or n/a when a run failed or none ran
	if [ ! -s "$1" ] || grep -q fail "$1"; then echo n/a; else median %.1f <"$1"; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }
outcome() {   # NAME: "= dump", "N runs differ", or the first failure's stderr
	local n
	if grep -q fail "$FIX/$1.ms"; then echo "failed: $(head -c 120 "$FIX/$1.err" | tr '\n' ' ')"; return; fi
	n=$(wc -l <"$FIX/$1.bad")
	if [ "$n" = 0 ]; then echo "= dump"; else echo "$n runs differ"; fi
}
words off_ms "$FIX/node.out" >"$FIX/mcp_off.ms"; words on_ms "$FIX/node.out" >"$FIX/mcp_on.ms"
words off_srv "$FIX/node.out" >"$FIX/mcp_off.srv"; words on_srv "$FIX/node.out" >"$FIX/mcp_on.srv"
words off_ms "$FIX/ttwarm.out" >"$FIX/ttw_off.ms"; words on_ms "$FIX/ttwarm.out" >"$FIX/ttw_on.ms"
kv() { local v; v=$(sed -n "s/^$1 //p" "$2"); echo "${v:-?}"; }
mbad() { local v; v=$(kv "$1" "$2"); case "$v" in 0) echo "= dump" ;; '?') echo "n/a" ;; *) echo "$v runs differ" ;; esac; }

echo "show running-config, 5000 lines ($(wc -c <"$WANT") bytes), fake cisco_ios on 127.0.0.1; $RUNS runs each, medians (ms)"
echo "local $(ssh -V 2>&1 | cut -d, -f1), $(basename "$SSHMCP") $("$SSHMCP" --version 2>/dev/null | head -n 1 | cut -d' ' -f2)"
printf '  %-58s %9s  %s\n' "cold (one process: connect, login, enable, show)" "median" "output"
for row in "cli_off|sshmcp exec --device-type, pager off" "tt_off|ssh -tt + Python driver, pager off" \
	"cli_on|sshmcp exec --device-type, terminal length 24" "tt_on|ssh -tt + Python driver, terminal length 24" \
	"ssh_exec|ssh ios 'show running-config' (exec channel, no pager)"; do
	n=${row%%|*}
	printf '  %-58s %9s  %s\n' "${row#*|}" "$(med "$FIX/$n.ms")" "$(outcome "$n")"
done
printf '  %-58s %9s  %s\n' "warm (one open session)" "" ""
printf '  %-58s %9s  %s\n' "sshmcp execute_command (MCP SDK), pager off" "$(med "$FIX/mcp_off.ms")" "$(mbad off_bad "$FIX/node.out")"
printf '  %-58s %9s  %s\n' "  (server duration_ms)" "$(med "$FIX/mcp_off.srv")" ""
printf '  %-58s %9s  %s\n' "ssh -tt + Python driver, pager off" "$(med "$FIX/ttw_off.ms")" "$(mbad off_bad "$FIX/ttwarm.out")"
printf '  %-58s %9s  %s\n' "sshmcp execute_command (MCP SDK), terminal length 24" "$(med "$FIX/mcp_on.ms")" "$(mbad on_bad "$FIX/node.out")"
printf '  %-58s %9s  %s\n' "  (server duration_ms)" "$(med "$FIX/mcp_on.srv")" ""
printf '  %-58s %9s  %s\n' "ssh -tt + Python driver, terminal length 24" "$(med "$FIX/ttw_on.ms")" "$(mbad on_bad "$FIX/ttwarm.out")"
words clock_ms "$FIX/node.out" >"$FIX/mcp_clk.ms"; words clock_srv "$FIX/node.out" >"$FIX/mcp_clk.srv"
words clock_ms "$FIX/ttwarm.out" >"$FIX/ttw_clk.ms"
printf '  %-58s %9s  %s\n' "sshmcp execute_command show clock (one line)" "$(med "$FIX/mcp_clk.ms")" ""
printf '  %-58s %9s  %s\n' "  (server duration_ms)" "$(med "$FIX/mcp_clk.srv")" ""
printf '  %-58s %9s  %s\n' "ssh -tt + Python driver, show clock" "$(med "$FIX/ttw_clk.ms")" ""
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (NR) printf "%.2f", v[i]; else printf "n/a" }'; }
echo "  warm show clock, $(grep -c . "$FIX/mcp_clk.ms") calls: sshmcp p50 $(pct "$FIX/mcp_clk.ms" 50) ms, p90 $(pct "$FIX/mcp_clk.ms" 90) ms (server p50 $(pct "$FIX/mcp_clk.srv" 50) ms; goal p50 <= 5 ms)"
if [ -n "${BEFORE-}" ]; then
	words clock_ms "$FIX/node0.out" >"$FIX/mcp0_clk.ms"; words clock_srv "$FIX/node0.out" >"$FIX/mcp0_clk.srv"
	echo "  warm show clock, BEFORE ($BEFORE): p50 $(pct "$FIX/mcp0_clk.ms" 50) ms, p90 $(pct "$FIX/mcp0_clk.ms" 90) ms (server p50 $(pct "$FIX/mcp0_clk.srv" 50) ms); pager off show running-config $(words off_ms "$FIX/node0.out" | median %.1f) ms"
fi
printf '  %-58s %9s  %s\n' "first call on a fresh MCP session (login+enable+show)" "$(kv cold_ms "$FIX/node.out" | awk '{ printf "%.1f", $1 }')" "$(mbad cold_bad "$FIX/node.out")"
echo "  ratios sshmcp/OpenSSH (median): cold pager off $(ratio "$(med "$FIX/cli_off.ms")" "$(med "$FIX/tt_off.ms")")," \
	"cold pager on $(ratio "$(med "$FIX/cli_on.ms")" "$(med "$FIX/tt_on.ms")")," \
	"cold vs exec channel $(ratio "$(med "$FIX/cli_off.ms")" "$(med "$FIX/ssh_exec.ms")")," \
	"warm pager off $(ratio "$(med "$FIX/mcp_off.ms")" "$(med "$FIX/ttw_off.ms")")," \
	"warm pager on $(ratio "$(med "$FIX/mcp_on.ms")" "$(med "$FIX/ttw_on.ms")"),"  \
	"show clock $(ratio "$(med "$FIX/mcp_clk.ms")" "$(med "$FIX/ttw_clk.ms")")"
[ ! -s "$FIX/node.err" ] || note "devices.mjs stderr: $(head -c 600 "$FIX/node.err" | tr '\n' ' ')"
