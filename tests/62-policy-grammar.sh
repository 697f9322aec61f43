#!/bin/bash
# 62-policy-grammar: the policy's lexer against the shells themselves. Generated command
# lines (built from the grammar's own parts, and random strings of every character the
# shells treat specially) go to tests/polsplit.c, which prints for each line either the
# grammar's refusal or the simple commands and words the lexer found. Every accepted line
# then runs in bash, dash, zsh and busybox sh, with each command word a function that prints
# its arguments: the words each shell passed must be exactly the lexer's. A line the lexer
# accepts and a shell reads differently is how a policy is bypassed.
. "$(dirname "$0")/lib.sh"

POLSPLIT=${POLSPLIT:-$REPO/build/polsplit}
[ -x "$POLSPLIT" ] || die "no $POLSPLIT (make build/polsplit)"
N_GEN=${POLGRAMMAR_LINES:-3000}
WORK=$FIX/pg
mkdir -p "$WORK/empty" "$WORK/files"
printf 'r\n' >"$WORK/files/f1"
printf 'r\n' >"$WORK/files/f 2"

# shells: NAME and how to run a script file
SHELLS=()
command -v bash >/dev/null && SHELLS+=("bash:bash")
command -v dash >/dev/null && SHELLS+=("dash:dash")
command -v zsh >/dev/null && SHELLS+=("zsh:zsh -f")
command -v busybox >/dev/null && SHELLS+=("busybox:busybox sh")
[ "${#SHELLS[@]}" -ge 2 ] || die "fewer than two of bash, dash, zsh, busybox installed"

"$PY" - "$WORK" "$N_GEN" "$POLSPLIT" "${SHELLS[@]}" >"$WORK/report" 2>"$WORK/report.err" <<'EOF'
import os, random, subprocess, sys

work, n_gen, polsplit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
shells = [s.split(':', 1) for s in sys.argv[4:]]
rnd = random.Random(6202)
FILES = work + '/files'
# keep in step with ps_vars in tests/polsplit.c
VARS = {'A': 'a  b', 'B': '', 'C': '*', 'D': 'x\'y"z\\', 'E': '-n', 'HOME': '/home/pol'}
CMDS = ['echo', 'ls', 'cat', 'grep', 'wc', 'head', 'tail', 'sort', 'cut', 'uniq']

def lit():
    return rnd.choice(['a', 'b', 'x1', '-n', '--opt=v', '/etc/hostname', '.', '..', '-',
                       'a=b', 'k:v', '%', '@', '+', ',', '.x', 'é', '日本', 'x~', 'a=~',
                       'a:~/b', '~', '~/x', '}', '{', '{}', 'a}', 'x]', ']', '^', 'e\u00a0'])

def quoted(s):
    """s as a random mix of the quoting forms the grammar accepts"""
    out = []
    for ch in s:
        r = rnd.random()
        if r < 0.55 and ch.isalnum():
            out.append(ch)
        elif r < 0.7 and ch != "'":
            out.append("'" + ch + "'")
        elif r < 0.85:
            out.append('"' + ('\\' + ch if ch in '$`"\\' else ch) + '"')
        else:
            out.append('\\' + ch)
    return ''.join(out)

def word():
    r = rnd.random()
    if r < 0.35:
        return lit()
    if r < 0.55:
        return quoted(rnd.choice(['a b', 'x;y', 'p|q', '$A', '`x`', "it's", 'a"b', '\\',
                                  '*', '?', '[a]', '#c', '!', '&', '<x>', '(y)', '{z}', '~',
                                  '\t', '\n', 'a  b', '=x', '$(id)']))
    if r < 0.75:
        v = rnd.choice(list(VARS))
        return rnd.choice(['"$%s"', '"${%s}"', 'x"$%s"y', '"$%s"\'$%s\'', '"a $%s b"']).replace('%s', v)
    if r < 0.85:
        return lit() + quoted(lit())
    return rnd.choice(['*', '?', 'a*', '[ab]', 'x?', '\\*', '"*"'])

def command():
    parts = []
    for _ in range(rnd.choice([0, 0, 0, 1, 2])):
        parts.append(rnd.choice(['Z1', 'Z2', 'zz']) + '=' + rnd.choice(['', 'v', '"a b"', "'q'", '"$A"']))
    c = rnd.choice(CMDS)
    parts.append(c if rnd.random() < 0.7 else quoted(c))
    for _ in range(rnd.randint(0, 4)):
        parts.append(word())
    if rnd.random() < 0.3:
        r = rnd.choice(['<' + FILES + '/f1', '< ' + FILES + '/f1', '<"' + FILES + '/f 2"',
                        '2>&1', '>/dev/null', '2>/dev/null', '>>/dev/null', '1>&2', '0<' + FILES + '/f1',
                        '2>&-', '>&2'])
        parts.insert(rnd.randint(1, len(parts)), r)
    return rnd.choice([' ', '  ', '\t']).join(parts)

def line_structured():
    out = [command()]
    for _ in range(rnd.randint(0, 3)):
        out.append(rnd.choice([' | ', '|', ' && ', '&&', ' || ', '||', '; ', ';', '\n', ' ;\n']))
        out.append(command())
    return ''.join(out)

SPECIAL = list(' \t\n;&|<>()$`"\'\\*?[]{}#~=!%^,:.-/') + ['$A', '"$A"', '${A}', '2>', '&&',
           '||', '>&', '<<', '$(', '$((', 'echo ', 'ls ', 'a', 'b', '1', 'é', '\r', '\x15']

def line_random():
    return rnd.choice(CMDS) + ' ' + ''.join(rnd.choice(SPECIAL) for _ in range(rnd.randint(1, 14)))

lines = []
for i in range(n_gen):
    lines.append(line_structured() if i % 3 else line_random())
lines += ['echo "$?"', 'echo a\\ b c', "echo 'a'\"b\"c", 'echo "a\\$A"', 'ls -l | wc -l',
          'echo {}', 'echo ~ ~/x x~', 'echo a=~ :~', 'Z1=~ echo "$A"']
lines = [l for l in lines if '\x00' not in l]
data = ''.join(l + '\x00' for l in lines).encode()
res = subprocess.run([polsplit], input=data, stdout=subprocess.PIPE, check=True).stdout.decode().split('\n')
verdict = res[:len(lines)]

def script(status, idx):
    s = [': >' + work + '/fd3', 'exec 3>>' + work + '/fd3', 'cd ' + work + '/empty']
    s.append('setopt nonomatch 2>/dev/null')    # zsh: an unmatched pattern stays a word
    s.append("NL='\n' GS=$(printf '\\035')")
    for k, v in VARS.items():
        s.append("%s='%s'" % (k, v.replace("'", "'\\''")))
    for c in CMDS:
        # one write per command (pipelines run at once), records end in \036
        # a newline becomes \035: stdio would flush at it, splitting the write
        s.append("%s() { _r='<%s>'; for _a in \"$@\"; do _r=\"$_r<$_a>\"; done; "
                 "while case $_r in *\"$NL\"*) true;; *) false;; esac; do "
                 "_r=\"${_r%%%%\"$NL\"*}$GS${_r#*\"$NL\"}\"; done; "
                 "printf '%%s\\036' \"$_r\" >&3; return %d; }" % (c, c, status))
    for i in idx:
        s.append("printf '\\037%d\\036' >&3" % i)
        s.append("( eval '%s' ) </dev/null >/dev/null 2>&1" % lines[i].replace("'", "'\\''"))
    return '\n'.join(s) + '\n'

def run(sh, text):
    path = work + '/script'
    with open(path, 'w') as f:
        f.write(text)
    subprocess.run(sh.split() + [path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=300, env={'PATH': os.environ['PATH'], 'HOME': '/home/pol', 'LC_ALL': 'C.UTF-8'})
    got, cur = {}, None
    for l in open(work + '/fd3', 'rb').read().split(b'\036'):
        if l.startswith(b'\037'):
            cur = int(l[1:]); got[cur] = set()
        elif l and cur is not None:
            got[cur].add(l)
    return got

def expect(v, shell):
    cmds, cur = [], None
    for tok in v.split()[1:]:
        if tok.startswith('C'):
            cur = [tok[2:]]
            cmds.append(cur)
        else:
            cur.append(b'' if tok == '-' else bytes.fromhex(tok).replace(b'\n', b'\035'))
    must, may = set(), set()
    for c in cmds:
        # a command word that names none of the functions runs nothing the script can see
        if len(c) < 2 or c[1].decode('utf8', 'replace') not in CMDS:
            continue
        rec = b''.join(b'<' + w + b'>' for w in c[1:])
        (may if 'r' in c[0] or ('g' in c[0] and shell == 'zsh') else must).add(rec)
    return must, may

acc = [i for i, v in enumerate(verdict) if v.startswith('A')]
lexmis = [i for i, v in enumerate(verdict) if v.startswith('M')]
print('lines %d accepted %d refused %d' % (len(lines), len(acc), sum(v.startswith('R') for v in verdict)))
for i in lexmis[:10]:
    print('LEXER %r: %s' % (lines[i], verdict[i]))
print('lexer-mismatch %d' % len(lexmis))
for name, cmd in shells:
    g0, g1 = run(cmd, script(0, acc)), run(cmd, script(1, acc))
    bad = 0
    for i in acc:
        got = g0.get(i, set()) | g1.get(i, set())
        must, may = expect(verdict[i], name)
        want = must | (got & may)
        if got != want:
            bad += 1
            if bad <= 8:
                print('DIFF %s %r\n   lexer: %s\n   shell: %s' % (name, lines[i], sorted(want), sorted(got)))
    print('shell %s %d' % (name, bad))
EOF
rc=$?
cat "$WORK/report.err" >&2
[ "$rc" = 0 ] || die "the generator failed" "$(tail -5 "$WORK/report.err")"
grep -v '^shell \|^lines \|^lexer-mismatch ' "$WORK/report" | head -60 | sed 's/^/# /'
read -r _ total _ accepted _ refused < <(grep '^lines ' "$WORK/report")
note "$total lines: $accepted accepted, $refused refused by the grammar"
if [ "${accepted:-0}" -ge $((total / 5)) ]; then ok "a fifth or more of the lines are accepted ($accepted of $total): the comparison covers the grammar"
else fail "a fifth or more of the lines are accepted" "$accepted of $total"; fi
check_eq "$(awk '/^lexer-mismatch /{print $2}' "$WORK/report")" 0 "every accepted word is what its quotes say (pol_word.w against its source)"
for s in "${SHELLS[@]}"; do
	name=${s%%:*}
	check_eq "$(awk -v s="$name" '$1 == "shell" && $2 == s {print $3}' "$WORK/report")" 0 \
		"$name passes exactly the lexer's words for every accepted line"
done
