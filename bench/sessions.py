#!/usr/bin/env python3
"""bench/sessions.py — warm execute_command latency with many sessions open.

    python3 sessions.py HOST COUNTS N -- sshmcp serve ARGS...

For each count K in COUNTS (comma-separated, ascending): open sessions until K are open
(execute_command `true` with session names s0..s{K-1}, sent together, all awaited), then
time N calls of execute_command `true` on session s0, one at a time, round trip as the
client sees it (request written -> response read). Prints per K:
    sessions K p50 P50 p90 P90 p99 P99 rss_kb RSS
Percentiles are nearest-rank, in ms. One server for all counts: sessions stay open.
After the last count:
    idle SECONDS cpu_ms CPU run_ms RUN     the server's user + system time over IDLE seconds
                                           (default 10) with every session open and idle (clock
                                           ticks), and its time on a CPU (schedstat, ns exact)
    answered OK of K in MS ms              `true` on every open session once more
"""
import json, math, os, subprocess, sys, time

def pct(v, p):
    v = sorted(v)
    i = max(1, math.ceil(p / 100 * len(v)))
    return v[i - 1]

def main():
    host, counts, n = sys.argv[1], [int(x) for x in sys.argv[2].split(',')], int(sys.argv[3])
    cmd = sys.argv[sys.argv.index('--') + 1:]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    seq = [0]

    def send(method, params):
        seq[0] += 1
        p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": seq[0], "method": method,
                                   "params": params}) + "\n").encode())
        return seq[0]

    def read_until(ids):
        left = set(ids)
        while left:
            line = p.stdout.readline()
            if not line:
                sys.exit("sshmcp serve ended early")
            m = json.loads(line)
            if m.get("id") in left:
                left.discard(m["id"])
                r = m.get("result", {})
                if "error" in m or r.get("isError"):
                    sys.exit("call failed: " + line.decode()[:300])

    i = send("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": {"name": "bench", "version": "1"}})
    p.stdin.flush()
    read_until([i])
    p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    opened = 0

    def call(session):
        return send("tools/call", {"name": "execute_command", "arguments": {
            "host": host, "command": "true", "session": session}})
    for k in counts:
        batch = 16                      # the server's per-host limit of commands in flight
        while opened < k:
            ids = [call("s%d" % j) for j in range(opened, min(k, opened + batch))]
            p.stdin.flush()
            read_until(ids)
            opened = min(k, opened + batch)
        for _ in range(5):              # warm-up
            i = call("s0"); p.stdin.flush(); read_until([i])
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            i = call("s0"); p.stdin.flush(); read_until([i])
            ms.append((time.perf_counter() - t0) * 1000)
        rss = 0
        with open("/proc/%d/status" % p.pid) as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    rss = int(l.split()[1])
        print("sessions %d p50 %.3f p90 %.3f p99 %.3f rss_kb %d" % (k, pct(ms, 50), pct(ms, 90),
              pct(ms, 99), rss), flush=True)
    # idle: nothing asked, every session open; the kernel's count of the server's CPU time
    idle = float(os.environ.get("IDLE", "10"))
    tick = os.sysconf("SC_CLK_TCK")

    def cpu_ms():
        with open("/proc/%d/stat" % p.pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) * 1000.0 / tick   # utime, stime

    def run_ms():
        with open("/proc/%d/schedstat" % p.pid) as f:
            return int(f.read().split()[0]) / 1e6
    time.sleep(2)
    c0, r0 = cpu_ms(), run_ms()
    time.sleep(idle)
    print("idle %.0f cpu_ms %.1f run_ms %.3f" % (idle, cpu_ms() - c0, run_ms() - r0), flush=True)
    ok, t0 = 0, time.perf_counter()
    for b in range(0, opened, 16):
        ids = [call("s%d" % j) for j in range(b, min(opened, b + 16))]
        p.stdin.flush()
        read_until(ids)
        ok += len(ids)
    print("answered %d of %d in %.0f ms" % (ok, opened, (time.perf_counter() - t0) * 1000), flush=True)
    p.stdin.close()
    p.wait(timeout=60)

main()
