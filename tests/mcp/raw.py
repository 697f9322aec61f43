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
    # comment
Every response is printed as one JSON line on stdout, prefixed "ID " (ID "-" for messages
without one: notifications, server requests). initialize is sent first (capabilities from
$MCP_CAPS, JSON). At the end stdin is closed and the server's exit status printed as
"exit N". Times (ms) since the request are added as "ms" to each response.
"""
import json, os, select, subprocess, sys, time

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
    buf = b''
    sent = {}
    got = {}

    def send(obj):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        p.stdin.write(data + b'\n')
        p.stdin.flush()

    def pump(timeout):
        nonlocal buf
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if not r:
            return False
        chunk = os.read(p.stdout.fileno(), 1 << 20)
        if not chunk:
            return False
        buf += chunk
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
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
        elif verb == 'sleep':
            end = time.time() + float(rest)
            while time.time() < end:
                pump(max(0.0, end - time.time()))
    p.stdin.close()
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
