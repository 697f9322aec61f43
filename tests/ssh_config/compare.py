#!/usr/bin/python3
# tests/ssh_config/compare.py SSH_G_OUT SSHMCP_G_OUT ORIGINAL_HOST
# Compares what `ssh -G` and `sshmcp exec -G` resolved, on the keys both mean the same way.
# ssh prints IdentityFile and ProxyCommand unexpanded: they are expanded here (~ %d %u %h %r
# %n %p %%) with $HOME and the local user, as sshmcp does. Prints one line per difference;
# exit 1 if any.
import os, pwd, sys

def parse(path):
    d = {}
    for line in open(path, encoding='utf-8', errors='replace'):
        line = line.rstrip('\n')
        if not line.strip():
            continue
        k, _, v = line.partition(' ')
        d.setdefault(k.lower(), []).append(v)
    return d

ssh, mcp = parse(sys.argv[1]), parse(sys.argv[2])
orig = sys.argv[3]
home = os.environ['HOME']
luser = pwd.getpwuid(os.getuid()).pw_name
one = lambda d, k, dflt=None: d[k][0] if k in d else dflt

hostname, ruser, port = one(ssh, 'hostname', ''), one(ssh, 'user', ''), one(ssh, 'port', '')

def expand(s, tilde=True):
    if tilde and s.startswith('~/'):
        s = home + s[1:]
    out, i = '', 0
    while i < len(s):
        c = s[i]
        if c == '%' and i + 1 < len(s):
            t = s[i + 1]
            out += {'d': home, 'u': luser, 'h': hostname, 'r': ruser, 'n': orig, 'p': port, '%': '%'}.get(t, '%' + t)
            i += 2
        else:
            out += c
            i += 1
    return out

diffs = []
def cmp(key, a, b):
    if a != b:
        diffs.append(f'{key}: ssh -G says {a!r}, sshmcp -G says {b!r}')

for k in ('hostname', 'user', 'port', 'identitiesonly', 'batchmode', 'hashknownhosts',
          'serveraliveinterval', 'serveralivecountmax'):
    cmp(k, one(ssh, k), one(mcp, k))

# ConnectTimeout: ssh prints "none" when unset (sshmcp then prints its default)
ct = one(ssh, 'connecttimeout', 'none')
if ct != 'none':
    cmp('connecttimeout', ct, one(mcp, 'connecttimeout'))

shk = {'yes': 'true', 'no': 'false', 'off': 'false'}.get(one(ssh, 'stricthostkeychecking', 'ask'),
                                                         one(ssh, 'stricthostkeychecking'))
cmp('stricthostkeychecking', shk, one(mcp, 'stricthostkeychecking'))

# IdentityFile: only when configured (ssh's own default list differs from sshmcp's by design)
DEFAULT = ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519',
           '~/.ssh/id_ed25519_sk', '~/.ssh/id_xmss', '~/.ssh/id_dsa']
sid = ssh.get('identityfile', [])
if sid != DEFAULT:
    want = [expand(x) for x in sid]
    got = mcp.get('identityfile', [])
    if sorted(set(want)) != sorted(set(got)):
        cmp('identityfile', want, got)
    elif [x for i, x in enumerate(want) if x not in want[:i]] != [x for i, x in enumerate(got) if x not in got[:i]]:
        print(f'# note: identityfile order differs: ssh {want}, sshmcp {got}')

pj = one(ssh, 'proxyjump')
cmp('proxyjump', pj, one(mcp, 'proxyjump'))
pc = one(ssh, 'proxycommand')
if pc is not None and pc.lower() != 'none':
    pc = expand(pc, tilde=False)
else:
    pc = None
mpc = one(mcp, 'proxycommand')
cmp('proxycommand', pc, None if mpc in (None, 'none') else mpc)

hka = one(ssh, 'hostkeyalias')
mhka = one(mcp, 'hostkeyalias')
if not (hka == hostname and mhka is None):
    cmp('hostkeyalias', hka, mhka)

# ssh expands ~ with the passwd entry's home, bound over by the fixture's ($HOME) in 17
pwhome = pwd.getpwuid(os.getuid()).pw_dir
ukh = ' '.join(home + w[len(pwhome):] if w.startswith(pwhome + '/') else w
               for w in one(ssh, 'userknownhostsfile', '').split(' '))
cmp('userknownhostsfile', ukh, one(mcp, 'userknownhostsfile', ''))

cmp('setenv', ssh.get('setenv', []), mcp.get('setenv', []))
cmp('sendenv', ssh.get('sendenv', []), mcp.get('sendenv', []))

for x in diffs:
    print(x)
sys.exit(1 if diffs else 0)
