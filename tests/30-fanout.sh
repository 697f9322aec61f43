#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 30-fanout: an operator runs one command on a fleet with `sshmcp exec -H LIST`: 23 hosts —
# sshd in three network namespaces and four sshd on loopback ports behind sixteen aliases,
# two hosts that refuse connections, one that accepts TCP and never speaks, one whose
# known_hosts entry is wrong. Every host's result is checked: its lines, prefixes, exit
# status, --json object, the failure summary; lines never mix mid-line; --fanout bounds the
# parallelism; -H - reads the list from stdin; ranges expand; a dead host costs its own timeout.
. "$(dirname "$0")/lib.sh"

# ----------------------------------------------------------------- the fleet ---
NS=(ns1 ns2 ns3)
for i in 1 2 3; do netns_start "NS$i"; trust "NS$i"; done
for i in 1 2 3 4; do sshd_start "L$i" 'AcceptEnv SSHMCP_ALIAS'; trust "L$i"; done
# web01-04 → L1, web05-08 → L2, web09-12 → L3, web13-16 → L4. L4's aliases find their key
# under a HostKeyAlias, not under [127.0.0.1]:port.
echo "fleet-l4 $(cut -d' ' -f1,2 "$(host_pub L4 ed25519)")" >>"$KNOWN_HOSTS"
WEB=()
declare -A SRV   # alias → "addr port" it must land on
for n in $(seq 1 16); do
	a=$(printf 'web%02d' "$n") s=L$(((n - 1) / 4 + 1))
	extra=("SetEnv SSHMCP_ALIAS=$a")
	[ "$s" != L4 ] || extra+=("HostKeyAlias fleet-l4")
	ssh_alias "$a" "$s" "${extra[@]}"
	WEB+=("$a")
	addr=${s}_ADDR port=${s}_PORT; SRV[$a]="${!addr} ${!port}"
done
for i in 1 2 3; do
	ssh_alias "ns$i" "NS$i"
	addr=NS${i}_ADDR; SRV[ns$i]="${!addr} 22"
done
GOOD=("${WEB[@]}" "${NS[@]}")            # 19 hosts that answer
# dead1: a closed loopback port; dead2: a namespace's address, port 2 (nothing listens → RST)
ssh_config_raw "Host dead1
  HostName 127.0.0.1
  Port $(free_port)
  User $T_USER
  IdentityFile $KEY_DEFAULT
  ConnectTimeout 5

Host dead2
  HostName $NS1_ADDR
  Port 2
  User $T_USER
  IdentityFile $KEY_DEFAULT
  ConnectTimeout 5"
# slow: a socket that listens and never accepts nor speaks (TCP completes, no banner)
SLOW_PORT=$(free_port)
"$PY" -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); print("listening", flush=True); time.sleep(3600)' \
	"$SLOW_PORT" >"$FIX/slow.log" 2>&1 &
_track $!
wait_for 5 grep -q listening "$FIX/slow.log" || die "slow listener did not start"
SLOW_TO=3
ssh_config_raw "Host slow
  HostName 127.0.0.1
  Port $SLOW_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT
  ConnectTimeout $SLOW_TO"
# badkey: L1 under a HostKeyAlias whose known_hosts entry is some other ed25519 key
ssh-keygen -q -t ed25519 -N '' -C impostor -f "$FIX/impostor" </dev/null >/dev/null || die "ssh-keygen impostor"
echo "badkey-l1 $(cut -d' ' -f1,2 "$FIX/impostor.pub")" >>"$KNOWN_HOSTS"
ssh_alias badkey L1 'HostKeyAlias badkey-l1'
FP_WRONG=$(fingerprint "$FIX/impostor.pub") FP_REAL=$(fingerprint "$(host_pub L1 ed25519)")
FAILED=(dead1 dead2 slow badkey)
ALL=("${GOOD[@]}" "${FAILED[@]}")
join() { local IFS=,; echo "$*"; }
LIST_GOOD=$(join "${GOOD[@]}") LIST_ALL=$(join "${ALL[@]}")
note "fleet: ${#ALL[@]} hosts (${#GOOD[@]} answering: ${GOOD[*]}; failing: ${FAILED[*]})"

# OpenSSH agrees with the fixture: a sample of the good ones answer, badkey is refused
ossh web05 'echo $SSHMCP_ALIAS'; check_eq "$OUT" web05 "fixture: ssh web05 answers (SetEnv reaches it)"
ossh web14 true; check_exit "$RC" 0 "fixture: ssh web14 via HostKeyAlias fleet-l4"
ossh ns2 true;   check_exit "$RC" 0 "fixture: ssh ns2 (network namespace)"
ossh badkey true; check_exit "$RC" 255 "fixture: ssh badkey refused (wrong known_hosts entry)"

# py SCRIPT ARGS...: a python check over the last run; prints problems, one a line
py() { "$PY" - "$@"; }

# --- 1. every host answers with its own lines, prefixed by its alias, exactly once
# The command prints what only the server it landed on knows (its address and port from
# SSH_CONNECTION) and what only its alias sends (SetEnv SSHMCP_ALIAS).
CMD='set -- $SSH_CONNECTION; echo "srv=$3:$4"; echo "alias=${SSHMCP_ALIAS:-none}"; echo "err=$3:$4" >&2'
T=90 mcp -H "$LIST_ALL" "$CMD"
ALLRC=$RC; cp "$FIX/out" "$FIX/all.out"; cp "$FIX/err" "$FIX/all.err"
check_exit "$ALLRC" 255 "23 hosts, 4 failing: exit status is the largest (255)"
for a in "${GOOD[@]}"; do
	set -- ${SRV[$a]}
	got=$(grep "^$a: srv=" "$FIX/all.out")
	check_eq "$got" "$a: srv=$1:$2" "$a: exactly one stdout line srv= from its own server ($1:$2)"
	got=$(grep "^$a: err=" "$FIX/all.err")
	check_eq "$got" "$a: err=$1:$2" "$a: its stderr line on stderr, prefixed"
done
got=$(grep -E '^web[0-9]+: alias=' "$FIX/all.out" | sort)
want=$(for a in "${WEB[@]}"; do echo "$a: alias=$a"; done)
check_eq "$got" "$want" "web01..web16: each alias's own SetEnv SSHMCP_ALIAS arrived (alias=webNN, once each)"
bad=$(grep -vE "^(web(0[1-9]|1[0-6])|ns[1-3]): (srv|alias)=" "$FIX/all.out")
check_eq "$bad" "" "stdout holds nothing but the good hosts' prefixed lines"
check_eq "$(wc -l <"$FIX/all.out")" $((2 * ${#GOOD[@]})) "stdout: 2 lines × ${#GOOD[@]} hosts"
for a in "${FAILED[@]}"; do
	n=$(grep -c "^$a: " "$FIX/all.err")
	check_eq "$n" 1 "$a: exactly one error line on stderr, prefixed '$a: '"
	check_not_contains "$(cat "$FIX/all.out")" "$a:" "$a: nothing on stdout"
done
errl=$(grep '^dead1: ' "$FIX/all.err"); check_contains "${errl,,}" refused "dead1: the error says connection refused"
errl=$(grep '^dead2: ' "$FIX/all.err"); check_contains "${errl,,}" refused "dead2: the error says connection refused"
errl=$(grep '^slow: ' "$FIX/all.err")
case "${errl,,}" in
*time*) ok "slow: the error says it timed out" ;;
*) fail "slow: the error says it timed out" "$errl" ;;
esac
errl=$(grep '^badkey: ' "$FIX/all.err")
check_contains "$errl" "$FP_WRONG" "badkey: the error names the known_hosts fingerprint"
check_contains "$errl" "$FP_REAL" "badkey: the error names the server's fingerprint"
check_not_contains "$(cat "$FIX/all.err")" LIBSSH2_ERROR "no libssh2 error codes in the errors"
# the summary: N of M, and each failed host with a reason
summ=$(grep -E 'hosts? failed' "$FIX/all.err")
check_one_line "$summ" "one failure summary line"
check_contains "$summ" "4 of 23 hosts failed" "summary: '4 of 23 hosts failed'"
for a in "${FAILED[@]}"; do
	if [[ $summ =~ (^|[ :])$a\ \(([^\)]+)\) ]] && [ -n "${BASH_REMATCH[2]}" ]; then
		ok "summary names $a and why (${BASH_REMATCH[2]})"
	else fail "summary names $a and why" "$summ"; fi
done
for a in "${GOOD[@]}"; do
	if [[ $summ =~ (^|[ :])$a[\ \(] ]]; then fail "summary does not name $a (it succeeded)" "$summ"; fi
done
ok "summary names no host that succeeded"

# --- 2. exit status: per-host codes, the largest wins; 0 only when all succeed
# web01-04 (L1) exit 0, L2 → 2, L3 → 7, L4 → 3, namespaces → 5
CODES="case \$3:\$4 in *:$L2_PORT) exit 2;; *:$L3_PORT) exit 7;; *:$L4_PORT) exit 3;; *:22) exit 5;; esac; exit 0"
T=90 mcp --json -H "$LIST_GOOD" "set -- \$SSH_CONNECTION; echo x; $CODES"
check_exit "$RC" 7 "per-host exit codes 0/2/3/5/7: exit status 7 (the largest)"
cp "$FIX/out" "$FIX/codes.json"
want_code() { case ${SRV[$1]} in *" $L2_PORT") echo 2 ;; *" $L3_PORT") echo 7 ;; *" $L4_PORT") echo 3 ;; *" 22") echo 5 ;; *) echo 0 ;; esac; }
codes_want=$(for a in "${GOOD[@]}"; do echo "$a $(want_code "$a")"; done | sort)
codes_got=$(py "$FIX/codes.json" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    try: o = json.loads(l)
    except Exception as e: print("BADJSON", repr(l[:80])); continue
    print(o.get("host"), o.get("exit_code"))
EOF
)
check_eq "$(sort <<<"$codes_got")" "$codes_want" "--json: every host's exit_code is its own (0, 2, 3, 5 or 7 by server)"
mcp -H "$(join "${WEB[@]:0:4}")" 'exit 0'
check_exit "$RC" 0 "all hosts succeed → exit 0"
check_eq "$(grep -c 'hosts failed' "$FIX/err")" 0 "all hosts succeed → no failure summary"
mcp -H "web01,web05" 'exit 1'
check_exit "$RC" 1 "two hosts exit 1 → 1"
check_contains "$ERR" "2 of 2 hosts failed" "summary counts hosts that exited non-zero"
check_contains "$ERR" "web01 (exit 1)" "summary: web01 (exit 1)"

# --- 3. --json: one valid object per host, fields and errors right
T=90 mcp --json -H "$LIST_ALL" 'set -- $SSH_CONNECTION; echo "out-$3:$4"; echo "err-line" >&2; exit 0'
check_exit "$RC" 255 "--json over the fleet: exit 255 (failing hosts)"
cp "$FIX/out" "$FIX/fleet.json"
srvmap=$(for a in "${GOOD[@]}"; do set -- ${SRV[$a]}; echo "$a $1:$2"; done)
problems=$(py "$FIX/fleet.json" "$(join "${WEB[@]}")" "$(join "${NS[@]}")" "$(join "${FAILED[@]}")" "$FP_WRONG" "$FP_REAL" "$srvmap" <<'EOF'
import json, sys
path, web, ns, failed, fpw, fpr, srvmap = sys.argv[1:8]
web, ns, failed = web.split(","), ns.split(","), failed.split(",")
srv = dict(l.split() for l in srvmap.strip().split("\n"))
seen = {}
for i, l in enumerate(open(path, encoding="utf-8", errors="strict")):
    try: o = json.loads(l)
    except Exception as e: print(f"line {i+1}: not JSON ({e}): {l[:100]!r}"); continue
    if not isinstance(o, dict): print(f"line {i+1}: not an object"); continue
    h = o.get("host")
    if h in seen: print(f"{h}: more than one object")
    seen[h] = o
    for k in ("host", "exit_code", "stdout", "stderr", "duration_ms", "error"):
        if k not in o: print(f"{h}: no field {k}")
    if not isinstance(o.get("duration_ms"), (int, float)) or o["duration_ms"] < 0: print(f"{h}: duration_ms {o.get('duration_ms')!r}")
for h in web + ns + failed:
    if h not in seen: print(f"{h}: no object"); continue
    o = seen[h]
    if h in failed:
        if o.get("exit_code") not in (255, None): print(f"{h}: exit_code {o.get('exit_code')!r}, want 255 or null")
        if not isinstance(o.get("error"), str) or not o["error"]: print(f"{h}: error {o.get('error')!r}, want a message")
        elif "\n" in o["error"]: print(f"{h}: error is more than one line")
        if o.get("stdout"): print(f"{h}: stdout {o['stdout']!r}")
        if h == "badkey" and not (fpw in (o.get("error") or "") and fpr in (o.get("error") or "")):
            print(f"badkey: error lacks a fingerprint: {o.get('error')!r}")
    else:
        want = f"out-{srv[h]}\n"
        if o.get("exit_code") != 0: print(f"{h}: exit_code {o.get('exit_code')!r}")
        if o.get("stdout") != want: print(f"{h}: stdout {o.get('stdout')!r}, want {want!r}")
        if o.get("stderr") != "err-line\n": print(f"{h}: stderr {o.get('stderr')!r}")
        if o.get("error") not in (None, ""): print(f"{h}: error {o.get('error')!r} on success")
extra = set(seen) - set(web + ns + failed)
if extra: print(f"unexpected hosts: {sorted(extra)}")
EOF
)
check_eq "$problems" "" "--json: 23 objects, one per host, valid JSON; stdout/stderr/exit_code/error right for each"
check_eq "$(grep -vc '^{' "$FIX/out")" 0 "--json: every stdout line is an object"

# --- 4. lines never mix mid-line: 19 hosts × 3000 lines of 200-1000 bytes, as fast as awk
#        writes them (4 KiB blocks that cut lines anywhere), stdout and stderr both
BIG='set -- $SSH_CONNECTION; awk -v s="$3:$4" "BEGIN { for (i = 1; i <= 3000; i++) { l = sprintf(\"%s#%05d#\", s, i); w = 200 + (i * 37) % 800; while (length(l) < w) l = l \"0123456789abcdef\"; l = substr(l, 1, w); if (i % 5 == 0) print l > \"/dev/stderr\"; else print l } }"'
T=120 run sh -c '"$1" exec -H "$2" "$3" >"$4/big.out" 2>"$4/big.err"' sh "$SSHMCP" "$LIST_GOOD" "$BIG" "$FIX"
check_exit "$RC" 0 "19 hosts × 3000 long lines: exit 0"
problems=$(py "$FIX/big.out" "$FIX/big.err" <<EOF
import sys, re
srv = dict(l.split() for l in """$srvmap""".strip().split("\n"))
def expect(s, i):
    l = "%s#%05d#" % (s, i); w = 200 + (i * 37) % 800
    while len(l) < w: l += "0123456789abcdef"
    return l[:w]
bad = []
for path, want_err in ((sys.argv[1], False), (sys.argv[2], True)):
    got = {h: [] for h in srv}
    for n, l in enumerate(open(path, "rb").read().split(b"\n")[:-1]):
        l = l.decode("utf-8", "replace")
        m = re.match(r"^([a-z0-9]+): (.*)$", l)
        if not m or m.group(1) not in srv:
            bad.append(f"{path.rsplit('/',1)[1]} line {n+1}: no known prefix: {l[:120]!r}"); continue
        h, body = m.groups()
        mm = re.match(r"^([0-9.]+:\d+)#(\d{5})#", body)
        if not mm or mm.group(1) != srv[h] or body != expect(srv[h], int(mm.group(2))):
            bad.append(f"{path.rsplit('/',1)[1]} line {n+1}: {h}: mixed or cut: {body[:100]!r}…")
            continue
        got[h].append(int(mm.group(2)))
    for h, seq in got.items():
        want = [i for i in range(1, 3001) if (i % 5 == 0) == want_err]
        if seq != want:
            bad.append(f"{h} {'stderr' if want_err else 'stdout'}: {len(seq)} lines, want {len(want)} in order")
print("\n".join(bad[:20]))
EOF
)
check_eq "$problems" "" "every stdout/stderr line is 'alias: ' + one whole expected line, each host's lines complete and in order"

# --- 5. --fanout bounds the hosts at once; all still complete
CONC=$FIX/conc; mkdir -m 1777 "$CONC"
PAR="touch $CONC/\$\$; n=\$(ls $CONC | wc -l); sleep 0.4; rm -f $CONC/\$\$; echo n=\$n"
T=120 mcp --fanout 2 -H "$LIST_GOOD" "$PAR"
check_exit "$RC" 0 "--fanout 2 over 19 hosts: exit 0"
check_eq "$(grep -c ': n=' "$FIX/out")" 19 "--fanout 2: all 19 hosts answered"
maxn=$(sed -n 's/.*: n=//p' "$FIX/out" | sort -n | tail -n 1)
if [ "${maxn:-99}" -le 2 ]; then ok "--fanout 2: never more than 2 commands at once (max seen $maxn)"
else fail "--fanout 2: never more than 2 commands at once" "max seen $maxn"; fi
T=60 mcp -H "$LIST_GOOD" "$PAR"
maxn=$(sed -n 's/.*: n=//p' "$FIX/out" | sort -n | tail -n 1)
if [ "${maxn:-0}" -ge 4 ]; then ok "default fan-out: hosts run side by side (max $maxn at once)"
else fail "default fan-out: hosts run side by side" "max seen ${maxn:-none}; $(_last)"; fi
T=60 mcp --fanout 1 -H web01,web02,ns1 'echo one'
check_eq "$(sort "$FIX/out")" $'ns1: one\nweb01: one\nweb02: one' "--fanout 1: one host after the other, all answer"
mcp --fanout 0 -H web01 true;   check_exit "$RC" 2 "--fanout 0 is a usage error"
mcp --fanout abc -H web01 true; check_exit "$RC" 2 "--fanout abc is a usage error"

# --- 6. -H - : hosts from stdin, commas and white space
mcp -H - 'echo hi' < <(printf 'web01 web02,ns1\n\tweb03\n  ns3\n')
check_exit "$RC" 0 "-H -: exit 0"
check_eq "$(sort "$FIX/out")" $'ns1: hi\nns3: hi\nweb01: hi\nweb02: hi\nweb03: hi' "-H -: the five hosts from stdin, each once"
mcp -H - 'echo hi' < <(printf 'web[01-03]\nns[2-3]\n')
check_eq "$(sort "$FIX/out")" $'ns2: hi\nns3: hi\nweb01: hi\nweb02: hi\nweb03: hi' "-H -: ranges on stdin expand"
mcp -H - 'echo hi' </dev/null
check_exit "$RC" 2 "-H - with an empty stdin: usage error"

# --- 7. host list ranges
T=90 mcp -H 'web[01-16]' 'set -- $SSH_CONNECTION; echo "$3 $4"'
check_exit "$RC" 0 "web[01-16]: exit 0"
want=$(for a in "${WEB[@]}"; do echo "$a: ${SRV[$a]}"; done)
check_eq "$(sort "$FIX/out")" "$want" "web[01-16] → web01..web16, zero-padded, each on its own server"
T=30 mcp -H 'web01,no-such-host-sshmcp,web02' 'echo x'
check_exit "$RC" 255 "a host that does not resolve among good ones: the run ends, exit 255"
check_eq "$(sort "$FIX/out")" $'web01: x\nweb02: x' "… the good hosts answer"
check_contains "$ERR" "no-such-host-sshmcp: " "… the unresolved host gets its prefixed error line"
T=30 mcp -H 'web[1-3,7]' true
check_exit "$RC" 255 "web[1-3,7] (no padding) names hosts web1..web7 that do not resolve → 255"
check_contains "$ERR" "web1: " "web[1-3,7] expands to web1 (unpadded)"
for a in web2 web3 web7; do check_contains "$ERR" "$a: " "web[1-3,7] includes $a"; done
check_not_contains "$ERR" "web4: " "web[1-3,7] leaves out web4"
mcp -H 'web[01-03,05],ns[1-2] web16' 'echo x'
check_eq "$(sort "$FIX/out")" $'ns1: x\nns2: x\nweb01: x\nweb02: x\nweb03: x\nweb05: x\nweb16: x' "'web[01-03,05],ns[1-2] web16' → 7 hosts"
for badlist in 'web[3-1]' 'web[01-' 'web[]' 'web[a-c]' ','; do
	mcp -H "$badlist" true
	check_exit "$RC" 2 "-H '$badlist' is a usage error (2)"
	check_one_line "$ERR" "-H '$badlist': one error line"
done

# --- 8. a dead or slow host costs only its own connect timeout
T=90 run sh -c 'start=$(date +%s%N); "$1" exec --json -H "$2" "sleep 1; echo done"; echo "wall_ms=$((($(date +%s%N) - start) / 1000000))" >&2' \
	sh "$SSHMCP" "slow,dead1,dead2,$LIST_GOOD"
wall=$(sed -n 's/^wall_ms=//p' "$FIX/err")
cp "$FIX/out" "$FIX/dead.json"
note "slow+dead+19 good hosts, sleep 1: wall ${wall} ms (slow's ConnectTimeout ${SLOW_TO} s)"
durs=$(py "$FIX/dead.json" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    try: o = json.loads(l); print(o["host"], int(o["duration_ms"]), o.get("exit_code"))
    except Exception as e: print("BAD", e)
EOF
)
slow_ms=$(awk '$1 == "slow" {print $2}' <<<"$durs")
dead_ms=$(awk '$1 ~ /^dead/ && $2 > m {m = $2} END {print m + 0}' <<<"$durs")
good_max=$(awk '$1 ~ /^(web|ns)/ && $2 > m {m = $2} END {print m + 0}' <<<"$durs")
good_n=$(awk '$1 ~ /^(web|ns)/ && $3 == 0' <<<"$durs" | wc -l)
check_eq "$good_n" 19 "with slow/dead hosts in the list, the 19 good hosts all succeed"
if [ -n "$slow_ms" ] && [ "$slow_ms" -ge $((SLOW_TO * 1000 - 500)) ] && [ "$slow_ms" -le $((SLOW_TO * 1000 + 5000)) ]; then
	ok "slow host fails after about its ConnectTimeout $SLOW_TO s (${slow_ms} ms)"
else fail "slow host fails after about its ConnectTimeout $SLOW_TO s" "slow ${slow_ms:-?} ms; $durs"; fi
if [ "$dead_ms" -lt 2000 ]; then ok "refused hosts fail at once (${dead_ms} ms)"
else fail "refused hosts fail at once" "$durs"; fi
if [ "$good_max" -lt 6000 ]; then ok "good hosts are not held up by the slow one (slowest ${good_max} ms for sleep 1)"
else fail "good hosts are not held up by the slow one" "$durs"; fi
if [ -n "$wall" ] && [ "$wall" -lt $((SLOW_TO * 1000 + 10000)) ]; then
	ok "the whole run takes about the slow host's timeout, not the sum (${wall} ms)"
else fail "the whole run takes about the slow host's timeout" "wall ${wall:-?} ms"; fi
# and with --fanout 2 the slow host occupies one slot only
T=90 run sh -c 'start=$(date +%s%N); "$1" exec --fanout 2 -H "$2" "echo done"; echo "wall_ms=$((($(date +%s%N) - start) / 1000000))" >&2' \
	sh "$SSHMCP" "slow,$(join "${WEB[@]:0:8}")"
wall=$(sed -n 's/^wall_ms=//p' "$FIX/err")
check_eq "$(grep -c ': done$' "$FIX/out")" 8 "--fanout 2 with the slow host first: the 8 others all answer"
if [ -n "$wall" ] && [ "$wall" -lt $((SLOW_TO * 1000 + 10000)) ]; then
	ok "--fanout 2: the others go through the free slot meanwhile (${wall} ms)"
else fail "--fanout 2: the others go through the free slot meanwhile" "wall ${wall:-?} ms"; fi

# --- 9. quiet and output discipline
mcp -q -H "web01,dead1" 'echo q'
check_exit "$RC" 255 "-q: still exit 255 for the dead host"
check_eq "$OUT" "web01: q" "-q: stdout unchanged"
# a last line without a newline still gets its prefix and a newline of its own
mcp -H "web01,web02" 'printf "no-newline"'
check_eq "$(sort "$FIX/out")" $'web01: no-newline\nweb02: no-newline' "a final line without \\n is prefixed and ended"
# an empty command output → no lines
mcp -H "web01,web02" 'true'
check_eq "$(wc -c <"$FIX/out")" 0 "no output → nothing on stdout"
