#!/usr/bin/env python3
"""tests/mcp/raw.py — a raw JSON-lines MCP client for the shell tests.

    python3 raw.py [--env K=V]... -- sshmcp serve ARGS... < SCRIPT

SCRIPT is one step a line:
    call ID TOOL JSON-ARGUMENTS      a tools/call; its response is awaited (timeout 60 s)
    send ID TOOL JSON-ARGUMENTS      a tools/call, not awaited
    raw TEXT                         TEXT sent as it is (one line)
    wait ID                          wait for the response to ID
    ping ID                          a ping; its response is awaited (timeout 5 s)
    sleep SECONDS
    shell COMMAND                    COMMAND run by /bin/sh (30 s at most; it must succeed),
                                     $SERVE_PID the server's PID
    flood PREFIX N TOOL JSON-ARGUMENTS
                                     N tools/calls (ids PREFIX-0 ...) in one write, not read:
                                     their responses are counted, not printed
    stall SECONDS                    sleep without reading the server's stdout
    rss                              print "rss KB HWM-KB" of the server (VmRSS, VmHWM)
    waitall PREFIX                   wait (120 s) for every flood response; print
                                     "answered PREFIX COUNT ERRORS MAX-BYTES"
    # comment
Every response is printed as one JSON line on stdout, prefixed "ID " (ID "-" for messages
without one: notifications, server requests). initialize is sent first (capabilities from
$MCP_CAPS, JSON). At the end stdin is closed and the server's exit status printed as
"exit N". Times (ms) since the request are added as "ms" to each response.
"""
import json, os, select, subprocess, sys, threading, time

def main():
    args = sys.argv[1:]
    env = dict(os.environ)
    while args and args[0] == '--env':
        k, v = args[1].split('=', 1)
        env[k] = v
        args = args[2:]
    if args and args[0] == '--':
        args = args[1:]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    buf = bytearray()
    sent = {}
    got = {}
    quiet = {}          # flood prefix -> [answered, errors, max bytes]
    quiet_n = {}        # flood prefix -> requests sent
    writers = []        # flood writes still going on

    def send(obj):
        for w in writers:
            while w.is_alive():
                pump(0.05)
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        try:
            p.stdin.write(data + b'\n')
            p.stdin.flush()
        except BrokenPipeError:
            pass                        # the server is gone: its exit status tells

    def pump(timeout):
        nonlocal buf
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if not r:
            return False
        chunk = os.read(p.stdout.fileno(), 1 << 20)
        if not chunk:
            return False
        scan = len(buf)
        buf += chunk                    # a bytearray: appending does not copy what is there
        start = 0
        while True:
            nl = buf.find(b'\n', scan)
            if nl < 0:
                break
            line = bytes(buf[start:nl])
            start = scan = nl + 1
            hit = [pre for pre in quiet if (b'"id":"%s-' % pre.encode()) in line[:120] + line[-120:]
                   or (b'"id": "%s-' % pre.encode()) in line[:120] + line[-120:]]
            if hit:
                q = quiet[hit[0]]
                q[0] += 1
                q[1] += 1 if b'"isError":true' in line or b'"error":{"code":-' in line[:200] else 0
                q[2] = max(q[2], len(line))
                continue
            try:
                m = json.loads(line)
            except ValueError:
                print('- ' + json.dumps({'unparsed': line.decode('utf8', 'replace')}))
                continue
            rid = m.get('id') if isinstance(m, dict) else None
            if rid is not None and rid in sent and ('result' in m or 'error' in m):
                m['ms'] = int((time.time() - sent[rid]) * 1000)
                got[rid] = m
                print(f'{rid} ' + json.dumps(m))
            else:
                print('- ' + json.dumps(m))
            sys.stdout.flush()
        del buf[:start]
        return True

    def await_id(rid, timeout):
        end = time.time() + timeout
        while rid not in got and time.time() < end:
            if not pump(max(0.0, end - time.time())) and p.poll() is not None:
                break

    caps = json.loads(os.environ.get('MCP_CAPS', '{}'))
    sent['init'] = time.time()
    send({'jsonrpc': '2.0', 'id': 'init', 'method': 'initialize', 'params': {
        'protocolVersion': '2025-11-25', 'capabilities': caps,
        'clientInfo': {'name': 'raw', 'version': '1'}}})
    await_id('init', 20)
    send({'jsonrpc': '2.0', 'method': 'notifications/initialized'})
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        verb, _, rest = line.partition(' ')
        if verb in ('call', 'send'):
            rid, tool, js = rest.split(' ', 2)
            rid = int(rid) if rid.isdigit() else rid
            sent[rid] = time.time()
            send({'jsonrpc': '2.0', 'id': rid, 'method': 'tools/call',
                  'params': {'name': tool, 'arguments': json.loads(js)}})
            if verb == 'call':
                await_id(rid, 60)
        elif verb == 'raw':
            send(rest.encode())
        elif verb == 'wait':
            await_id(int(rest) if rest.isdigit() else rest, 60)
        elif verb == 'ping':
            rid = int(rest) if rest.isdigit() else rest
            sent[rid] = time.time()
            send({'jsonrpc': '2.0', 'id': rid, 'method': 'ping'})
            await_id(rid, 5)
        elif verb == 'flood':
            pre, n, tool, js = rest.split(' ', 3)
            quiet[pre] = [0, 0, 0]
            quiet_n[pre] = int(n)
            args = json.loads(js)
            data = b''.join(json.dumps({'jsonrpc': '2.0', 'id': f'{pre}-{i}',
                'method': 'tools/call', 'params': {'name': tool, 'arguments': args}}).encode()
                + b'\n' for i in range(int(n)))
            # a server that stops reading while its answers wait must not stall this client:
            # the write goes on in a thread of its own, later steps wait for it
            w = threading.Thread(target=lambda d=data: (p.stdin.write(d), p.stdin.flush()))
            w.start()
            writers.append(w)
        elif verb == 'stall':
            time.sleep(float(rest))
        elif verb == 'rss':
            st = dict(l.split(':', 1) for l in open(f'/proc/{p.pid}/status') if ':' in l)
            kb = lambda k: st.get(k, '0 kB').split()[0]
            print(f'rss {kb("VmRSS")} {kb("VmHWM")}')
            sys.stdout.flush()
        elif verb == 'waitall':
            end = time.time() + 120
            while time.time() < end and quiet[rest][0] < quiet_n.get(rest, 0):
                if not pump(max(0.0, end - time.time())) and p.poll() is not None:
                    break
            for w in writers:
                w.join(max(0.0, end - time.time()))
            q = quiet[rest]
            print(f'answered {rest} {q[0]} {q[1]} {q[2]}')
            sys.stdout.flush()
        elif verb == 'shell':
            subprocess.run(['/bin/sh', '-c', rest], timeout=30, check=True,
                           env=dict(os.environ, SERVE_PID=str(p.pid)))
        elif verb == 'sleep':
            end = time.time() + float(rest)
            while time.time() < end:
                pump(max(0.0, end - time.time()))
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    end = time.time() + 15
    while p.poll() is None and time.time() < end:
        pump(0.2)
    while pump(0.1):
        pass
    if p.poll() is None:
        p.kill()
    print(f'exit {p.wait()}')

if __name__ == '__main__':
    main()
