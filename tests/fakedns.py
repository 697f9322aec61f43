#!/usr/bin/env python3
"""tests/fakedns.py — a DNS server of the tests' own, slow on purpose.

    python3 fakedns.py ADDR DELAY_S ANSWER_IP [LOG]

Listens on ADDR:53/udp (a loopback address). Every query for a name ending in
".slow.test" is answered after DELAY_S seconds (each on its own timer, so queries do not
queue behind each other): A with ANSWER_IP, AAAA with no record. Names starting with
"never" are never answered; any other name gets NXDOMAIN at once. Each query is logged
(LOG, one "epoch-ms qtype name" line) so a test can see when they came. Prints "ready".
"""
import socket, struct, sys, threading, time

def qname(pkt):
    labels, i = [], 12
    while i < len(pkt) and pkt[i] != 0:
        n = pkt[i]
        labels.append(pkt[i + 1:i + 1 + n].decode('ascii', 'replace'))
        i += 1 + n
    return '.'.join(labels).lower(), i + 1

def answer(pkt, qtype, end, rcode, ip):
    flags = 0x8180 | rcode
    an = 1 if (ip and qtype == 1 and rcode == 0) else 0
    head = pkt[:2] + struct.pack('>HHHHH', flags, 1, an, 0, 0)
    body = pkt[12:end + 4]
    if an:
        body += struct.pack('>HHHIH', 0xc00c, 1, 1, 60, 4) + socket.inet_aton(ip)
    return head + body

def main():
    addr, delay, ip = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    log = open(sys.argv[4], 'a', buffering=1) if len(sys.argv) > 4 else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    print('ready', flush=True)
    while True:
        pkt, peer = s.recvfrom(4096)
        if len(pkt) < 17:
            continue
        name, end = qname(pkt)
        qtype = struct.unpack('>H', pkt[end:end + 2])[0]
        if log:
            log.write('%d %d %s\n' % (int(time.time() * 1000), qtype, name))
        if name.startswith('never'):
            continue
        if name.endswith('.slow.test'):
            reply = answer(pkt, qtype, end, 0, ip)
            threading.Timer(delay, s.sendto, (reply, peer)).start()
        else:
            s.sendto(answer(pkt, qtype, end, 3, None), peer)

if __name__ == '__main__':
    main()
