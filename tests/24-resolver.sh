#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 24-resolver: host names resolve without ever blocking the loop. A DNS server of the test's
# own (tests/fakedns.py, on a loopback address) answers each name after 1 s; sshmcp runs in a
# private mount namespace (unshare -m) where /etc/resolv.conf names only that server.
# exec -H over 20 such names finishes in about 1 s, not 20; a name that is never answered
# fails at ConnectTimeout with one clear line; in serve, other sessions answer while a name
# resolves, an abandoned resolution's child is killed, and every resolver child is reaped
# (no zombies). Literal addresses need no resolver at all. The binary stays static.
. "$(dirname "$0")/lib.sh"

# An ASan build's fork copies shadow mappings (tens of ms each, one per name): its -H times
# get this much more.
SLACK=0
if [ "$ASAN_BUILD" = 1 ]; then SLACK=3000; note "ASan build: +${SLACK} ms on the -H limits"; fi
sshd_start MAIN
trust MAIN
ssh_alias main MAIN

# ------------------------------------------------------ the slow DNS server ---
DNS_ADDR=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).53
"$PY" "$TESTS_DIR/fakedns.py" "$DNS_ADDR" 1 127.0.0.1 "$FIX/dns.log" >"$FIX/dns.out" 2>"$FIX/dns.err" &
_track $!
wait_for 5 grep -q ready "$FIX/dns.out" || die "fake DNS server did not start" "$(cat "$FIX/dns.err")"
printf 'nameserver %s\noptions timeout:5 attempts:1\n' "$DNS_ADDR" >"$FIX/resolv.conf"
echo "slowfleet $(cut -d' ' -f1,2 "$(host_pub MAIN ed25519)")" >>"$KNOWN_HOSTS"
ssh_config_raw "Host never2.slow.test
  ConnectTimeout 30"
ssh_config_raw "Host *.slow.test
  Port $MAIN_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT
  HostKeyAlias slowfleet
  ConnectTimeout 3"
# in_ns CMD...: CMD in a private mount namespace that sees our resolv.conf
in_ns="$FIX/in_ns"
cat >"$in_ns" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' "$FIX/resolv.conf" "\$@"
EOF
chmod 755 "$in_ns"
T=20 run "$in_ns" getent hosts s00.slow.test
note "fixture: getent (glibc) in the namespace: $OUT"

# ====================================================================== exec ===
t0=$(ms)
T=30 run "$in_ns" "$SSHMCP" exec s01.slow.test echo one
took=$(( $(ms) - t0 ))
check_eq "$RC:$OUT" "0:one" "exec to a name the slow DNS server answers"
if [ "$took" -ge 900 ] && [ "$took" -le 3000 ]; then ok "…in ${took} ms (the answer takes 1 s)"
else fail "…in about 1 s" "${took} ms"; fi

# the same 20 connections to literal addresses first: what the servers alone take
for n in $(seq 1 20); do ssh_alias "$(printf 'lit%02d' "$n")" MAIN; done
t0=$(ms)
T=60 run "$SSHMCP" exec -H 'lit[01-20]' echo ok
lit=$(( $(ms) - t0 ))
check_eq "$(grep -c ': ok$' "$FIX/out")" 20 "exec -H over 20 literal addresses (${lit} ms)"
hosts=$(printf 's%02d.slow.test,' $(seq 1 20)); hosts=${hosts%,}
: >"$FIX/dns.log"
t0=$(ms)
T=60 run "$in_ns" "$SSHMCP" exec -H "$hosts" echo ok
took=$(( $(ms) - t0 ))
check_eq "$RC" 0 "exec -H over 20 slow names: exit 0"
check_eq "$(grep -c ': ok$' "$FIX/out")" 20 "exec -H: all 20 hosts answered"
# Not a timing test (bench/resolve.sh measures): serially the 20 names alone take 20 s, so
# anything well under that shows they resolved side by side whatever the machine's load.
note "exec -H over 20 names that each take 1 s to resolve: ${took} ms, ${lit} ms with literal addresses"
if [ "$took" -le $((lit + 10000 + SLACK)) ]; then ok "exec -H over 20 slow names: far less than the 20 s of resolving them one by one (resolving added $((took - lit)) ms)"
else fail "exec -H over 20 slow names: far less than the 20 s of resolving them one by one (${lit} ms with literal addresses)" "${took} ms; $(head -c 400 "$FIX/err")"; fi
spread=$("$PY" -c '
import sys
t = [int(l.split()[0]) for l in open(sys.argv[1]) if l.split()[1] == "1"]
print(max(t) - min(t) if t else -1)' "$FIX/dns.log")
if [ "$spread" -ge 0 ] && [ "$spread" -le $((1000 + SLACK)) ]; then ok "…their 20 A queries came within ${spread} ms of each other (in parallel)"
else fail "…the A queries came in parallel" "spread ${spread} ms: $(head -c 600 "$FIX/dns.log")"; fi

t0=$(ms)
T=30 run "$in_ns" "$SSHMCP" exec -o ConnectTimeout=2 never.slow.test echo RAN
took=$(( $(ms) - t0 ))
check_exit "$RC" 255 "a name never answered → 255"
if [ "$took" -ge 1800 ] && [ "$took" -le 3500 ]; then ok "…at ConnectTimeout 2 (${took} ms; the resolver alone would wait 5 s)"
else fail "…at ConnectTimeout (about 2 s)" "${took} ms"; fi
check_one_line "$ERR" "…one line on stderr"
check_contains "$ERR" "Could not resolve hostname never.slow.test" "…naming the host it could not resolve ($ERR)"

T=30 run "$in_ns" "$SSHMCP" exec nosuch.example.invalid echo RAN
check_exit "$RC" 255 "an unknown name (NXDOMAIN) → 255"
check_contains "$ERR" "Could not resolve hostname nosuch.example.invalid" "…Could not resolve hostname"

# literal addresses need no resolver: no child is forked for them. (An ASan build is
# dynamic, and its leak checker forks and cannot run under strace: release build only.)
if [ "$ASAN_BUILD" = 1 ]; then
	skip "a literal address needs no resolver" "ASan build"
	skip "the binary is still static" "ASan build"
elif command -v strace >/dev/null; then
	T=30 run strace -f -qq -e trace=clone,fork,vfork,clone3 -o "$FIX/strace.out" "$SSHMCP" exec main echo lit
	check_eq "$RC:$OUT" "0:lit" "a literal address connects"
	check_eq "$(grep -cE 'clone|fork' "$FIX/strace.out")" 0 "…without forking a resolver"
else skip "a literal address needs no resolver" "no strace"; fi
if [ "$ASAN_BUILD" = 1 ]; then :
elif file "$SSHMCP" | grep -q 'statically linked'; then
	ok "the binary is still static ($(file -b "$SSHMCP" | cut -d, -f1-3))"
else fail "the binary is static" "$(file "$SSHMCP")"; fi

# ===================================================================== serve ===
# While never.slow.test resolves (ConnectTimeout 3), another session answers at once; the
# resolver child is reaped when its session gives up; close_session kills one mid-way.
cat >"$FIX/serve.script" <<'EOF'
call warm execute_command {"host":"main","command":"echo warm"}
send slow execute_command {"host":"never.slow.test","command":"echo RAN","wait":20}
sleep 0.3
ping p1
call fast execute_command {"host":"main","command":"echo fast"}
call newfast execute_command {"host":"main","session":"c","command":"echo new"}
wait slow
sleep 1.5
call abandon execute_command_async {"host":"never2.slow.test","session":"x","command":"echo RAN"}
sleep 1.5
call close close_session {"host":"never2.slow.test","session":"x"}
sleep 1.5
call end execute_command {"host":"s05.slow.test","command":"echo resolved"}
sleep 1.5
EOF
( timeout -k 5 90 "$PY" "$TESTS_DIR/mcp/raw.py" -- unshare -m sh -c \
	'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$FIX/resolv.conf" "$SSHMCP" serve \
	<"$FIX/serve.script" >"$FIX/serve.out" 2>"$FIX/serve.err" ) &
_track $!
# children SNAPSHOT-NAME: the serve process's children (PID STAT COMMAND) at this moment
serve_pid() { pgrep -P "$(pgrep -f "^$PY $TESTS_DIR/mcp/raw.py -- unshare -m .*$FIX/resolv.conf" | head -n 1)" | head -n 1; }
children() { ps -o pid=,stat=,comm= --ppid "$(serve_pid)" 2>/dev/null >"$FIX/kids.$1"; }
# gone SNAPSHOT-NAME: the child seen in that snapshot no longer exists, not even as a zombie
gone() {
	local pid; pid=$(awk 'NR == 1 { print $1 }' "$FIX/kids.$1")
	[ -n "$pid" ] && [ -z "$(ps -o stat= -p "$pid" 2>/dev/null)" ]
}
wait_for 20 grep -q '^p1 ' "$FIX/serve.out"
children resolving
wait_for 20 grep -q '^slow ' "$FIX/serve.out"
sleep 0.5; children after_timeout
wait_for 20 grep -q '^abandon ' "$FIX/serve.out"
sleep 0.5; children abandon
wait_for 20 grep -q '^close ' "$FIX/serve.out"
sleep 0.5; children closed
wait_for 30 grep -q '^end ' "$FIX/serve.out"
sleep 0.5; children end
wait_for 30 grep -q '^exit ' "$FIX/serve.out"
jl() { grep "^$1 " "$FIX/serve.out" | head -n 1; }
ms_of() { jl "$1" | sed -n 's/.*"ms": \([0-9]*\).*/\1/p'; }
check_contains "$(jl warm)" '"output": "warm' "serve: a first session works"
check_eq "$(wc -l <"$FIX/kids.resolving")" 1 "serve: one resolver child while never.slow.test resolves ($(tr '\n' ' ' <"$FIX/kids.resolving"))"
p1=$(ms_of p1); fast=$(ms_of fast); nf=$(ms_of newfast)
if [ -n "$p1" ] && [ "$p1" -le 300 ]; then ok "serve: ping answered in ${p1} ms meanwhile"
else fail "serve: ping answered at once meanwhile" "$(jl p1)"; fi
if [ -n "$fast" ] && [ "$fast" -le 1000 ]; then ok "serve: a command on another session answered in ${fast} ms meanwhile"
else fail "serve: another session answers meanwhile" "$(jl fast)"; fi
if [ -n "$nf" ] && [ "$nf" -le 2500 ]; then ok "serve: a new session opened in ${nf} ms meanwhile (the name resolves for 3 s)"
else fail "serve: a new session opens meanwhile" "$(jl newfast)"; fi
check_contains "$(jl slow)" "SSHMCP_ERR_RESOLVE" "serve: the unresolvable name fails with SSHMCP_ERR_RESOLVE"
check_contains "$(jl slow)" "ConnectTimeout" "…saying ConnectTimeout ran out"
sl=$(ms_of slow)
if [ -n "$sl" ] && [ "$sl" -ge 2800 ] && [ "$sl" -le 4500 ]; then ok "…after ${sl} ms (ConnectTimeout 3)"
else fail "…after ConnectTimeout 3 s" "$(jl slow)"; fi
if gone resolving; then ok "serve: after the timeout the resolver child is gone (reaped, no zombie)"
else fail "serve: after the timeout the resolver child is gone" "$(cat "$FIX/kids.resolving"; echo then; cat "$FIX/kids.after_timeout")"; fi
check_eq "$(wc -l <"$FIX/kids.abandon")" 1 "serve: an async command's session resolves in a child"
check_contains "$(jl close)" '"isError": false' "serve: close_session on a session still resolving"
if gone abandon; then ok "…its resolver child is killed and reaped at once"
else fail "…its resolver child is killed and reaped" "$(cat "$FIX/kids.abandon"; echo then; cat "$FIX/kids.closed")"; fi
check_contains "$(jl end)" '"output": "resolved' "serve: a slow name that does resolve connects"
check_eq "$(cat "$FIX/kids.end")" "" "serve: no child left behind at the end"
check_not_contains "$(cat "$FIX/kids."*)" " Z" "serve: never a zombie"
check_eq "$(tail -n 1 "$FIX/serve.out")" "exit 0" "serve: exits 0"
