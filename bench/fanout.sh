#!/bin/bash
# bench/fanout.sh — fan-out cost and idle-session memory, in one run:
#   * `true` on 50 hosts with `sshmcp exec -H h[01-50]` against `sshmcp exec -H h01` (goal: the
#     50-host wall time at most 2× the 1-host one), a sequential `ssh` loop over the same 50 and
#     `xargs -P 50 ssh`; RUNS (default 5) interleaved runs each after a warm-up, medians.
#     The 50 "hosts" are aliases spread over SSHDS (default 4) local sshds (MaxStartups raised),
#     so the servers' handshakes share this machine's CPUs with the clients (nproc is printed).
#   * RSS of one `sshmcp serve` holding idle sessions: execute_command `true` on session names
#     s0, s1, ... (raw JSON lines, 16 in flight), VmRSS from /proc after every 50. First with the
#     default limit (SSHMCP_MAX_SESSIONS, 64: what happens at the cap), then with --config
#     "MaxSessions SESSIONS" (default 500; goal ≤ 100 MB), and the sessions still answer.
# Not a test: prints numbers and the goals; exits non-zero only if something could not run.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
SSHDS=${SSHDS:-4}
SESSIONS=${SESSIONS:-500}
NHOSTS=50

for i in $(seq "$SSHDS"); do
	sshd_start "S$i" "LogLevel INFO" "MaxStartups 1000:30:1000"   # DEBUG logging would weigh
	trust "S$i"
done
HOSTS=()
for n in $(seq "$NHOSTS"); do
	a=$(printf 'h%02d' "$n")
	ssh_alias "$a" "S$(((n - 1) % SSHDS + 1))"
	HOSTS+=("$a")
done
SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)

BENCH_TIMEOUT=120 BENCH_DECIMALS=1
# the two OpenSSH baselines as scripts, so that time_one can run them under timeout. ssh uses
# sshmcp's key exchange (curve25519-sha256; SSH_KEX= to change) so that both do the same work:
# OpenSSH's default sntrup761/mlkem hybrids cost several times more CPU on both ends.
SSH_KEX=${SSH_KEX-curve25519-sha256}
KEXOPT=${SSH_KEX:+-o KexAlgorithms=$SSH_KEX}
printf '#!/bin/sh\nfor h in %s; do ssh -F %q -o BatchMode=yes -o IdentitiesOnly=yes %s "$h" true || exit 1; done\n' \
	"${HOSTS[*]}" "$SSH_CONFIG" "$KEXOPT" >"$FIX/seq_ssh"
printf '#!/bin/sh\nprintf "%%s\\n" %s | xargs -P 50 -I{} ssh -F %q -o BatchMode=yes -o IdentitiesOnly=yes %s {} true\n' \
	"${HOSTS[*]}" "$SSH_CONFIG" "$KEXOPT" >"$FIX/xargs_ssh"
chmod 755 "$FIX/seq_ssh" "$FIX/xargs_ssh"

# ------------------------------------------------------------------ wall time ---
time_one "$SSHMCP" exec -H 'h[01-50]' true >/dev/null     # warm-up: page cache, sshd forks
time_one "$SSHMCP" exec -H h01 true >/dev/null
time_one "$FIX/xargs_ssh" >/dev/null
: >"$FIX/one.ms"; : >"$FIX/fifty.ms"; : >"$FIX/single.ms"; : >"$FIX/seq.ms"; : >"$FIX/xargs.ms"
for _ in $(seq "$RUNS"); do
	time_one "$SSHMCP" exec -H h01 true >>"$FIX/one.ms"
	time_one "$SSHMCP" exec -H 'h[01-50]' true >>"$FIX/fifty.ms"
	[ "$(grep -c . "$FIX/bench.err")" = 0 ] || die "sshmcp -H h[01-50] complained" "$(head -n 5 "$FIX/bench.err")"
	time_one "$SSHMCP" exec h01 true >>"$FIX/single.ms"
	time_one "$FIX/seq_ssh" >>"$FIX/seq.ms"
	time_one "$FIX/xargs_ssh" >>"$FIX/xargs.ms"
done
one=$(median <"$FIX/one.ms") fifty=$(median <"$FIX/fifty.ms") single=$(median <"$FIX/single.ms")
sq=$(median <"$FIX/seq.ms") xa=$(median <"$FIX/xargs.ms")
echo "fan-out: \`true\` on $NHOSTS aliases over $SSHDS local sshds, $RUNS runs each, medians (nproc $(nproc))"
printf '  sshmcp exec h01 true            %8.1f ms\n' "$single"
printf '  sshmcp exec -H h01 true         %8.1f ms\n' "$one"
printf '  sshmcp exec -H h[01-50] true    %8.1f ms   (runs: %s)\n' "$fifty" "$(paste -sd' ' "$FIX/fifty.ms")"
printf '  ssh loop, sequential, 50 hosts  %8.1f ms\n' "$sq"
printf '  xargs -P 50 ssh, 50 hosts       %8.1f ms\n' "$xa"
awk -v a="$fifty" -v b="$one" 'BEGIN { printf "  ratio 50 hosts / 1 host        %8.2f   (goal <= 2.00: %s)\n", a / b, a / b <= 2 ? "met" : "NOT met" }'
# sshmcp's own CPU for the 50 hosts against 1 (the rest of the wall time is the sshds')
cpu() { "$PY" -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
r = resource.getrusage(resource.RUSAGE_CHILDREN); print("%.1f" % ((r.ru_utime + r.ru_stime) * 1000))' "$@"; }
printf '  sshmcp CPU (user+sys): 1 host %s ms, 50 hosts %s ms\n' "$(cpu "$SSHMCP" exec -H h01 true)" "$(cpu "$SSHMCP" exec -H 'h[01-50]' true)"
printf '  ssh kex: %s\n' "${SSH_KEX:-OpenSSH default}"
awk -v a="$fifty" -v s="$sq" -v x="$xa" 'BEGIN { printf "  sshmcp -H vs ssh loop %.1f× faster, vs xargs -P 50 %.2f× the time\n", s / a, a / x }'

# ---------------------------------------------------------------- idle sessions ---
# sessions.py: drives `sshmcp serve ARGS` with raw JSON lines; prints progress lines
cat >"$FIX/sessions.py" <<'EOF'
import json, os, select, subprocess, sys, time
target, hosts, cmd = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.environ["SERVER_LOG"], "ab"))
buf = b""
def send(o): p.stdin.write((json.dumps(o) + "\n").encode()); p.stdin.flush()
def rss():
    try:
        for l in open(f"/proc/{p.pid}/status"):
            if l.startswith("VmRSS:"): return int(l.split()[1])
    except OSError: return None
def recv(timeout):
    global buf
    end = time.time() + timeout
    while b"\n" not in buf:
        left = end - time.time()
        if left <= 0 or p.poll() is not None: return None
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            d = os.read(p.stdout.fileno(), 1 << 20)
            if not d: return None
            buf += d
    line, buf = buf.split(b"\n", 1)
    return json.loads(line)
send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
while (m := recv(10)) and m.get("id") != "init": pass
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
print(f"rss 0 {rss()}", flush=True)
opened, errors, first_err, nxt, inflight, t0 = 0, 0, None, 0, {}, time.time()
last_good = (0, rss())
marks = set(range(50, target + 1, 50)) | {64, target}
while ((nxt < target and errors < 10) or inflight) and time.time() - t0 < 600:
    while nxt < target and len(inflight) < 16 and errors < 10:
        send({"jsonrpc": "2.0", "id": nxt, "method": "tools/call", "params": {"name": "execute_command",
              "arguments": {"host": hosts[nxt % len(hosts)], "command": "true", "session": f"s{nxt}", "wait": 30}}})
        inflight[nxt] = time.time(); nxt += 1
    m = recv(60)
    if m is None: print("no answer in 60 s (or the server exited: %s)" % p.poll(), flush=True); break
    if "id" not in m or m["id"] not in inflight: continue
    del inflight[m["id"]]
    r = m.get("result") or {}
    if "error" in m or r.get("isError"):
        errors += 1
        if first_err is None:
            first_err = (m["id"], (r.get("structuredContent") or {}).get("error") or m.get("error"))
            print(f"first error at session s{m['id']} (after {opened} opened): {json.dumps(first_err[1])}", flush=True)
    else:
        opened += 1
        if opened in marks or (errors == 0 and opened % 10 == 0): print(f"rss {opened} {rss()}", flush=True)
        if errors == 0: last_good = (opened, rss())
print(f"opened {opened} errors {errors} in {time.time() - t0:.1f} s (stops asking after 10 errors)", flush=True)
print(f"rss good {last_good[0]} {last_good[1]}", flush=True)
time.sleep(2)
print(f"rss idle {opened} {rss()}", flush=True)
# do they still answer? a command on the first, a middle and the last opened session
ok = 0
for k in sorted({0, opened // 2, max(opened - 1, 0)}):
    send({"jsonrpc": "2.0", "id": f"chk{k}", "method": "tools/call", "params": {"name": "execute_command",
          "arguments": {"host": hosts[k % len(hosts)], "command": "echo alive", "session": f"s{k}", "wait": 20}}})
    while (m := recv(30)) is not None and m.get("id") != f"chk{k}": pass
    sc = (m or {}).get("result", {}).get("structuredContent") or {}
    ok += sc.get("output") == "alive\n"
print(f"still answering {ok} of {len({0, opened // 2, max(opened - 1, 0)})}", flush=True)
send({"jsonrpc": "2.0", "id": "ls", "method": "tools/call", "params": {"name": "list_sessions", "arguments": {}}})
while (m := recv(30)) is not None and m.get("id") != "ls": pass
sc = (m or {}).get("result", {}).get("structuredContent") or {}
lst = next((v for v in sc.values() if isinstance(v, list)), None)
print(f"list_sessions {len(lst) if lst is not None else '?'}", flush=True)
t1 = time.time(); p.stdin.close()
try: p.wait(60)
except subprocess.TimeoutExpired: p.kill(); print("server did not exit within 60 s of stdin EOF", flush=True)
print(f"exit {p.returncode} after {time.time() - t1:.1f} s", flush=True)
EOF
export SERVER_LOG=$FIX/serve.log
hl=$(IFS=,; echo "${HOSTS[*]}")
sessions_run() {   # LABEL N serve-args...
	local label=$1 n=$2; shift 2
	echo "idle sessions: $label"
	timeout -k 5 900 "$PY" "$FIX/sessions.py" "$n" "$hl" "$SSHMCP" serve "$@" >"$FIX/sess.out" 2>&1
	local rss0 last
	rss0=$(awk '$1 == "rss" && $2 == 0 {print $3}' "$FIX/sess.out")
	awk '$1 == "rss" && $2 != 0 && $2 != "idle" && $2 != "good" && ($2 % 50 == 0 || $2 == 64) {printf "    %4d sessions  VmRSS %7.1f MB\n", $2, $3 / 1024}' "$FIX/sess.out"
	grep -v '^rss [0-9]' "$FIX/sess.out" | sed 's/^/    /'
	last=$(awk '$1 == "rss" && $2 == "good" {print $3 " " $4}' "$FIX/sess.out")
	awk -v z="$rss0" '$1 == "rss" && $2 == "idle" && $3 > 0 {printf "    all %d opened sessions idle: %.1f MB (%.0f KB per session, failed ones kept included)\n", $3, $4 / 1024, ($4 - z) / $3}' "$FIX/sess.out"
	if [ -n "$last" ] && [ -n "$rss0" ]; then
		set -- $last
		awk -v n="$1" -v r="$2" -v z="$rss0" -v goal="$n" 'BEGIN {
			printf "    at start %.1f MB; %d sessions opened before any error: %.1f MB (%.0f KB per session)\n", z / 1024, n, r / 1024, n ? (r - z) / n : 0
			if (n > 0) printf "    extrapolated to 500 sessions: %.1f MB (goal <= 100 MB)\n", (z + (r - z) / n * 500) / 1024 }'
	fi
}
sessions_run "default limit (SSHMCP_MAX_SESSIONS), asking for 80" 80
printf 'MaxSessions %s\n' "$SESSIONS" >"$FIX/sshmcp.conf"
sessions_run "--config with MaxSessions $SESSIONS, asking for $SESSIONS" "$SESSIONS" --config "$FIX/sshmcp.conf"
grep -ciE 'error|fatal|overflow' "$SERVER_LOG" | sed 's/^/  server log lines with error|fatal|overflow: /'
