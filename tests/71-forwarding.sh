#!/bin/bash
# 71-forwarding: a user forwards ports with `sshmcp exec` as with ssh: -L to a web server
# behind the host, -D as a SOCKS proxy for curl, -R to publish a local service on the far
# side; BULK_MB megabytes each way (tests/lib.sh), checked by sha256, side by side with OpenSSH
# on the same server.
# ExitOnForwardFailure, ClearAllForwardings and -g behave as ssh's.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
trust MAIN
ssh_alias h MAIN

# The services: a web server with BULK_MB megabytes to fetch, and a sink that answers the sha256 of what
# it read once the client half-closes (so EOF must travel through the tunnel).
mkdir -p "$FIX/www"
head -c "${BULK_MB}M" /dev/urandom >"$FIX/www/rand50"
WANT=$(sha256sum <"$FIX/www/rand50" | cut -d' ' -f1)
HP=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 --directory "$FIX/www" "$HP" >"$FIX/http.log" 2>&1 &
_track $!
wait_for 10 nc -z 127.0.0.1 "$HP" || die "http.server did not start"
# sink.py ADDR and send.py ADDR FILE: ADDR a port on 127.0.0.1 or a Unix socket's path;
# the sink answers each connection with the SHA-256 of what it received, send prints it.
cat >"$FIX/sink.py" <<'EOF'
import hashlib, os, socket, sys, threading
a = sys.argv[1]
if a.isdigit():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(a)))
else:
    s = socket.socket(socket.AF_UNIX); s.bind(a); os.chmod(a, 0o666)
s.listen(16)
def serve(c):
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b: break
        h.update(b)
    c.sendall(h.hexdigest().encode() + b"\n"); c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
cat >"$FIX/send.py" <<'EOF'
import socket, sys
a = sys.argv[1]
if a.isdigit():
    c = socket.create_connection(("127.0.0.1", int(a)), timeout=60)
else:
    c = socket.socket(socket.AF_UNIX); c.settimeout(60); c.connect(a)
with open(sys.argv[2], "rb") as f:
    while True:
        b = f.read(65536)
        if not b: break
        c.sendall(b)
c.shutdown(socket.SHUT_WR)
print(c.makefile().readline().strip())
EOF
SP=$(free_port)
"$PY" "$FIX/sink.py" "$SP" &
_track $!
wait_for 10 nc -z 127.0.0.1 "$SP" || die "sink did not start"

# bg NAME CMD...: start a forwarding client in the background (PID in NAME_PID)
bg() {
	local name=$1; shift
	"$@" </dev/null >"$FIX/$name.out" 2>"$FIX/$name.err" &
	_export "${name}_PID" $!
	_track $!
}
# stop NAME: TERM; it must be gone within 5 s (ssh's -N ends on TERM too)
stop() {
	local p=${1}_PID
	kill "${!p}" 2>/dev/null
	if wait_for 5 _gone "${!p}"; then wait "${!p}" 2>/dev/null
	else fail "$1 ends on SIGTERM" "$(tail -n 5 "$FIX/$1.err")"; kill -9 "${!p}"; fi
}
OSSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)
MCP=("$SSHMCP" exec)

# --- -L: fetch and send BULK_MB megabytes through the tunnel, ssh and sshmcp alike
for who in ossh mcp; do
	if [ "$who" = ossh ]; then cli=("${OSSH[@]}"); else cli=("${MCP[@]}"); fi
	LP=$(free_port) LP2=$(free_port)
	bg L "${cli[@]}" -N -L "$LP:127.0.0.1:$HP" -L "127.0.0.1:$LP2:127.0.0.1:$SP" h
	if wait_for 15 nc -z 127.0.0.1 "$LP"; then ok "$who -N -L: listening"
	else fail "$who -N -L: listening" "$(cat "$FIX/L.err")"; fi
	T=120 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$LP"
	check_eq "${OUT%% *}" "$WANT" "$who -L: $BULK_MB MB fetched through the tunnel, same sha256"
	T=120 run "$PY" "$FIX/send.py" "$LP2" "$FIX/www/rand50"
	check_eq "$OUT" "$WANT" "$who -L: $BULK_MB MB sent through the tunnel, half-closed, same sha256"
	T=120 run sh -c 'for i in 1 2 3 4 5 6; do curl -sf "http://127.0.0.1:$1/rand50" | sha256sum & done; wait' sh "$LP"
	check_eq "$(sort -u <<<"$OUT" | cut -d' ' -f1)" "$WANT" "$who -L: six fetches at once, all whole"
	check_eq "$(grep -c . <<<"$OUT")" 6 "$who -L: six fetches at once, six answers"
	stop L
done

# --- -L to a port nobody listens on: the connection fails, the forwarding stays
LP=$(free_port)
bg L "${MCP[@]}" -N -L "$LP:127.0.0.1:$(free_port)" -L "$(free_port):127.0.0.1:$HP" h
wait_for 15 nc -z 127.0.0.1 "$LP" || fail "-L to a closed port: listening" "$(cat "$FIX/L.err")"
run curl -sf -m 10 "http://127.0.0.1:$LP/rand50"
check_eq "$(stat -c %s "$FIX/out")" 0 "-L to a closed port: the client gets nothing"
if kill -0 "$L_PID" 2>/dev/null; then ok "-L to a closed port: sshmcp keeps running"
else fail "-L to a closed port: sshmcp keeps running" "$(cat "$FIX/L.err")"; fi
check_contains "$(cat "$FIX/L.err")" "open failed" "-L to a closed port: says the channel failed"
stop L

# --- -L beside a command: the tunnel works while the command runs
LP=$(free_port)
bg C "${MCP[@]}" -L "$LP:127.0.0.1:$HP" h 'sleep 4; echo CMD-DONE'
wait_for 15 nc -z 127.0.0.1 "$LP"
T=60 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$LP"
check_eq "${OUT%% *}" "$WANT" "-L with a command: the tunnel carries $BULK_MB MB while it runs"
wait "$C_PID"; rc=$?
check_exit "$rc" 0 "-L with a command: the command's status"
check_eq "$(cat "$FIX/C.out")" CMD-DONE "-L with a command: the command's output"

# --- -D: SOCKS5, SOCKS5 with a name, SOCKS4, SOCKS4a, for curl
for who in ossh mcp; do
	if [ "$who" = ossh ]; then cli=("${OSSH[@]}"); else cli=("${MCP[@]}"); fi
	DP=$(free_port)
	bg D "${cli[@]}" -N -D "$DP" h
	wait_for 15 nc -z 127.0.0.1 "$DP" || fail "$who -D: listening" "$(cat "$FIX/D.err")"
	for proto in socks5 socks5-hostname socks4 socks4a; do
		host=127.0.0.1
		case $proto in *hostname|socks4a) host=localhost ;; esac
		T=120 run sh -c 'curl -sf --"$1" "127.0.0.1:$2" "http://$3:$4/rand50" | sha256sum' sh \
			"$proto" "$DP" "$host" "$HP"
		check_eq "${OUT%% *}" "$WANT" "$who -D: curl --$proto fetches $BULK_MB MB, same sha256"
	done
	stop D
done
DP=$(free_port)
bg D "${MCP[@]}" -N -D "$DP" h
wait_for 15 nc -z 127.0.0.1 "$DP"
run sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 127.0.0.1 "$1"' sh "$DP"
if kill -0 "$D_PID" 2>/dev/null; then ok "-D: a client that speaks no SOCKS is dropped, sshmcp runs on"
else fail "-D: a client that speaks no SOCKS is dropped, sshmcp runs on"; fi
run sh -c 'head -c 5000 /dev/zero | nc -w 3 127.0.0.1 "$1"' sh "$DP"
T=60 run sh -c 'curl -sf --socks5 "127.0.0.1:$1" "http://127.0.0.1:$2/rand50" | sha256sum' sh "$DP" "$HP"
check_eq "${OUT%% *}" "$WANT" "-D: still serves after hostile clients"
stop D

# --- -R: the far side's port leads to our web server (sshd is on this machine)
for who in ossh mcp; do
	if [ "$who" = ossh ]; then cli=("${OSSH[@]}"); else cli=("${MCP[@]}"); fi
	RP=$(free_port)
	bg R "${cli[@]}" -N -R "$RP:127.0.0.1:$HP" h
	wait_for 15 nc -z 127.0.0.1 "$RP" || fail "$who -R: the server listens" "$(cat "$FIX/R.err")"
	T=120 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$RP"
	check_eq "${OUT%% *}" "$WANT" "$who -R: $BULK_MB MB fetched from the far side's port, same sha256"
	stop R
done
RP=$(free_port)
bg R "${MCP[@]}" -N -R "$RP:127.0.0.1:$SP" h
wait_for 15 nc -z 127.0.0.1 "$RP"
T=120 run "$PY" "$FIX/send.py" "$RP" "$FIX/www/rand50"
check_eq "$OUT" "$WANT" "-R: $BULK_MB MB sent to the far side's port, half-closed, same sha256"
stop R
bg R "${MCP[@]}" -N -R "0:127.0.0.1:$HP" h
wait_for 15 grep -q "Allocated port" "$FIX/R.err"
RP=$(sed -n 's/.*Allocated port \([0-9]*\) .*/\1/p' "$FIX/R.err")
check_contains "$(cat "$FIX/R.err")" "Allocated port $RP for remote forward to 127.0.0.1:$HP" "-R 0: ssh's line names the port"
T=60 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$RP"
check_eq "${OUT%% *}" "$WANT" "-R 0: the allocated port carries $BULK_MB MB"
stop R

# --- Unix sockets: -L /path:host:port, -L port:/path, -L /path:/path, -R port:/path,
#     -R /path:host:port, -R /path:/path, BULK_MB megabytes each checked by sha256, as ssh. The far
#     side's socket belongs to the sink (sink.py on a path); sshd reaches it as the test
#     user. StreamLocalBindUnlink replaces a socket left behind.
mkdir -p "$FIX/u" && chmod 777 "$FIX/u"
"$PY" "$FIX/sink.py" "$FIX/u/sink.sock" &
_track $!
wait_for 10 test -S "$FIX/u/sink.sock" || die "unix sink did not start"
for who in ossh mcp; do
	if [ "$who" = ossh ]; then cli=("${OSSH[@]}"); else cli=("${MCP[@]}"); fi
	LP=$(free_port) RP=$(free_port)
	rm -f "$FIX/u/web-$who.sock" "$FIX/u/l-$who.sock" "$FIX/u/r-$who.sock" "$FIX/u/r2-$who.sock"
	bg U "${cli[@]}" -N -L "$FIX/u/web-$who.sock:127.0.0.1:$HP" -L "$LP:$FIX/u/sink.sock" \
		-L "$FIX/u/l-$who.sock:$FIX/u/sink.sock" -R "$RP:$FIX/u/sink.sock" \
		-R "$FIX/u/r-$who.sock:127.0.0.1:$HP" -R "$FIX/u/r2-$who.sock:$FIX/u/sink.sock" h
	wait_for 15 nc -z 127.0.0.1 "$RP" || fail "$who unix forwards: up" "$(cat "$FIX/U.err")"
	wait_for 15 nc -z 127.0.0.1 "$LP"
	wait_for 15 test -S "$FIX/u/r2-$who.sock"
	T=60 run sh -c 'curl -sf --unix-socket "$1" "http://x/rand50" | sha256sum' sh "$FIX/u/web-$who.sock"
	check_eq "${OUT%% *}" "$WANT" "$who -L /path:host:port: curl through the local socket, $BULK_MB MB"
	T=60 run "$PY" "$FIX/send.py" "$LP" "$FIX/www/rand50"
	check_eq "$OUT" "$WANT" "$who -L port:/path: $BULK_MB MB to the far side's socket, half-closed"
	T=60 run "$PY" "$FIX/send.py" "$FIX/u/l-$who.sock" "$FIX/www/rand50"
	check_eq "$OUT" "$WANT" "$who -L /path:/path: $BULK_MB MB socket to socket"
	T=60 run "$PY" "$FIX/send.py" "$RP" "$FIX/www/rand50"
	check_eq "$OUT" "$WANT" "$who -R port:/path: $BULK_MB MB from the far port to our socket"
	T=60 run sh -c 'curl -sf --unix-socket "$1" "http://x/rand50" | sha256sum' sh "$FIX/u/r-$who.sock"
	check_eq "${OUT%% *}" "$WANT" "$who -R /path:host:port: curl through the server's socket, $BULK_MB MB"
	T=60 run "$PY" "$FIX/send.py" "$FIX/u/r2-$who.sock" "$FIX/www/rand50"
	check_eq "$OUT" "$WANT" "$who -R /path:/path: $BULK_MB MB from the server's socket to ours"
	stop U
	# The socket file stays (as ssh leaves it): binding again fails without the option
	LP=$(free_port)
	bg U "${cli[@]}" -N -o ExitOnForwardFailure=yes -L "$FIX/u/web-$who.sock:127.0.0.1:$HP" \
		-L "$LP:127.0.0.1:$HP" h
	if wait_for 15 _gone "$U_PID"; then wait "$U_PID"; check_exit "$?" 255 "$who -L on a path left behind: fails (255)"
	else fail "$who -L on a path left behind: fails (255)"; stop U; fi
	bg U "${cli[@]}" -N -o StreamLocalBindUnlink=yes -L "$FIX/u/web-$who.sock:127.0.0.1:$HP" h
	T=60 run sh -c 'for i in $(seq 100); do curl -sf --unix-socket "$1" "http://x/rand50" && exit; sleep 0.1; done' sh "$FIX/u/web-$who.sock"
	check_eq "$(sha256sum <"$FIX/out" | cut -d' ' -f1)" "$WANT" "$who StreamLocalBindUnlink=yes: the old path is replaced and serves"
	stop U
done
mcp -R "$FIX/no-such-dir/r.sock:127.0.0.1:$HP" h true
check_contains "$ERR" "Warning: remote port forwarding failed for listen path $FIX/no-such-dir/r.sock" \
	"-R /path the server cannot bind: ssh's warning, with the path"

# --- -A: the far side's ssh-add lists the local agent's key, as through ssh; not without
#     -A, nor with -a after it; ForwardAgent names the socket as a path or with ${VARIABLE}
agent_start
agent_add "$KEY_ED25519"
KEYS=$(SSH_AUTH_SOCK=$AGENT_SOCK ssh-add -l)
# A second agent, empty, as SSH_AUTH_SOCK when ForwardAgent names the first by its path (ssh
# 9.2 forwards nothing unless SSH_AUTH_SOCK reaches an agent, whatever the path says).
ssh-agent -D -a "$FIX/agent2.sock" >/dev/null 2>&1 &
_track $!
wait_for 5 test -S "$FIX/agent2.sock" || die "second ssh-agent did not start"
for who in ossh mcp; do
	r=$who
	SSH_AUTH_SOCK=$AGENT_SOCK $r -A h 'ssh-add -l'
	check_eq "$RC:$OUT" "0:$KEYS" "$who -A: ssh-add -l on the far side lists the local agent's key"
	SSH_AUTH_SOCK=$AGENT_SOCK $r h 'ssh-add -l'
	check_eq "$RC:$OUT" "2:" "$who without -A: the far side has no agent"
	SSH_AUTH_SOCK=$AGENT_SOCK $r -A -a h 'ssh-add -l'
	check_eq "$RC:$OUT" "2:" "$who -A -a: the last flag wins, no agent"
	SSH_AUTH_SOCK=$FIX/agent2.sock $r -o "ForwardAgent $AGENT_SOCK" h 'ssh-add -l'
	check_eq "$RC:$OUT" "0:$KEYS" "$who ForwardAgent PATH: that socket's agent"
	SSH_AUTH_SOCK=$FIX/agent2.sock MY_AGENT=$AGENT_SOCK $r -o 'ForwardAgent ${MY_AGENT}' h 'ssh-add -l'
	check_eq "$RC:$OUT" "0:$KEYS" "$who ForwardAgent \${VAR}: the socket the variable names"
	SSH_AUTH_SOCK=$FIX/agent2.sock $r -o "ForwardAgent $FIX/no-agent" h 'ssh-add -l'
	# ssh-add's error (1), or SIGPIPE (255) when the close wins the race, with ssh as well
	check_eq "$([ "$RC" -ne 0 ] && echo failed):$OUT" "failed:" "$who ForwardAgent to a missing socket: the far side's agent fails"
	check_contains "$ERR" "Cannot forward agent socket path \"$FIX/no-agent\"" "$who: says which socket is missing"
done
# The agent signs through the tunnel: a second hop from the far side logs in with the
# forwarded key alone (no key file there).
HOP2="ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-p $MAIN_PORT 127.0.0.1 echo HOP2"
SSH_AUTH_SOCK=$AGENT_SOCK mcp -A h "$HOP2"
check_eq "$RC:$OUT" "0:HOP2" "-A: the far side logs in onward with the forwarded agent"
SSH_AUTH_SOCK=$AGENT_SOCK mcp h "$HOP2"
check_exit "$RC" 255 "without -A: the onward login fails"
T=60 run sh -c 'for i in 1 2 3 4 5 6 7 8; do SSH_AUTH_SOCK=$1 "$2" exec -A h "ssh-add -l & ssh-add -l & ssh-add -L & wait" & done; wait' sh "$AGENT_SOCK" "$SSHMCP"
check_eq "$RC:$(grep -c '^256 SHA256' <<<"$OUT")" 0:16 "-A: 8 sessions x 3 agent clients at once, every answer whole, every session ended"

# --- ExitOnForwardFailure: a busy port ends it (255), as ssh; without, a warning. The bind
#     address is explicit: "localhost" would also bind ::1, which may be free, and that is
#     success; for -R the server honours it only with GatewayPorts clientspecified.
sshd_start GW "GatewayPorts clientspecified"
trust GW
ssh_alias hg GW
for who in ossh mcp; do
	if [ "$who" = ossh ]; then r=ossh; else r=mcp; fi
	$r -o ExitOnForwardFailure=yes -L "127.0.0.1:$HP:127.0.0.1:$HP" h echo RAN
	check_eq "$RC:$OUT" "255:" "$who ExitOnForwardFailure, -L on a busy port: 255, no command"
	$r -L "127.0.0.1:$HP:127.0.0.1:$HP" h echo RAN
	check_eq "$RC:$OUT" "0:RAN" "$who -L on a busy port without it: the command runs"
	$r -o ExitOnForwardFailure=yes -R "127.0.0.1:$HP:127.0.0.1:$HP" hg echo RAN
	check_eq "$RC:$OUT" "255:" "$who ExitOnForwardFailure, -R on a busy far port: 255"
	$r -R "127.0.0.1:$HP:127.0.0.1:$HP" hg echo RAN
	check_eq "$RC:$OUT" "0:RAN" "$who -R on a busy far port without it: the command runs"
done
mkdir -p "$FIX/w" && chmod 777 "$FIX/w"
mcp -o ExitOnForwardFailure=yes -L "127.0.0.1:$HP:127.0.0.1:$HP" h "touch $FIX/w/ran"
if [ -e "$FIX/w/ran" ]; then fail "ExitOnForwardFailure: the command never starts when -L fails"
else ok "ExitOnForwardFailure: the command never starts when -L fails"; fi
for who in ossh mcp; do
	$who -o ExitOnForwardFailure=yes -R "127.0.0.1:$HP:127.0.0.1:$HP" hg "touch $FIX/w/ran-$who"
	if [ -e "$FIX/w/ran-$who" ]; then fail "$who ExitOnForwardFailure: the command never starts when -R fails"
	else ok "$who ExitOnForwardFailure: the command never starts when -R fails"; fi
	# The answer comes first: the warning precedes the command's output
	run sh -c '"$@" 2>&1' sh "${OSSH[@]}" -R "127.0.0.1:$HP:127.0.0.1:$HP" hg 'echo RAN'
	want=$(tr -d '\r' <<<"$OUT" | sed 's/^[a-z]*: //')
	[ "$who" = mcp ] && run sh -c '"$@" 2>&1' sh "${MCP[@]}" -R "127.0.0.1:$HP:127.0.0.1:$HP" hg 'echo RAN'
	check_eq "$(tr -d '\r' <<<"$OUT" | sed 's/^[a-z]*: //')" "$want" "$who -R on a busy port with a command: the warning, then the output"
done
mcp -L "127.0.0.1:$HP:127.0.0.1:$HP" h true
check_contains "$ERR" "Warning: Could not request local forwarding." "a failed -L warns in ssh's words"
mcp -R "127.0.0.1:$HP:127.0.0.1:$HP" hg true
check_contains "$ERR" "Warning: remote port forwarding failed for listen port $HP" "a failed -R warns in ssh's words"

# --- an idle -N -L answers ServerAliveInterval's keepalives and stays up; a server that
#     stops answering (its session processes stopped) is noticed: exit 255, as ssh. A server
#     of its own, so only this connection's processes are stopped.
sshd_start KA
trust KA
ssh_alias hk KA
# tree PID: PID's descendants
tree() { local k; for k in $(pgrep -P "$1"); do echo "$k"; tree "$k"; done; }
for who in ossh mcp; do
	if [ "$who" = ossh ]; then cli=("${OSSH[@]}"); else cli=("${MCP[@]}"); fi
	LP=$(free_port)
	bg K "${cli[@]}" -N -o ServerAliveInterval=1 -o ServerAliveCountMax=2 -L "$LP:127.0.0.1:$HP" hk
	wait_for 15 nc -z 127.0.0.1 "$LP" || fail "$who -N -L with keepalives: listening" "$(cat "$FIX/K.err")"
	sleep 5                         # five keepalive intervals, ServerAliveCountMax is 2
	if kill -0 "$K_PID" 2>/dev/null; then ok "$who -N -L, idle 5 s, keepalives every 1 s: still up"
	else fail "$who -N -L, idle 5 s, keepalives every 1 s: still up" "$(cat "$FIX/K.err")"; fi
	T=60 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$LP"
	check_eq "${OUT%% *}" "$WANT" "$who -N -L after the idle time: carries $BULK_MB MB"
	frozen=$(tree "$KA_PID")
	# shellcheck disable=SC2086
	kill -STOP $frozen
	if wait_for 20 _gone "$K_PID"; then
		wait "$K_PID"; rc=$?
		check_exit "$rc" 255 "$who -N -L: a server that stops answering is noticed (exit 255)"
	else
		fail "$who -N -L: a server that stops answering is noticed (exit 255)"; kill "$K_PID"
	fi
	# shellcheck disable=SC2086
	kill -CONT $frozen
done

# --- ClearAllForwardings drops -L; -g listens on every address
LP=$(free_port)
bg C "${MCP[@]}" -o ClearAllForwardings=yes -L "$LP:127.0.0.1:$HP" h 'sleep 2'
sleep 1
if nc -z 127.0.0.1 "$LP"; then fail "ClearAllForwardings=yes: no -L listener"
else ok "ClearAllForwardings=yes: no -L listener"; fi
wait "$C_PID"
for opt in -g '-o GatewayPorts=yes'; do
	LP=$(free_port)
	# shellcheck disable=SC2086
	bg G "${MCP[@]}" -N $opt -L "$LP:127.0.0.1:$HP" h
	wait_for 15 nc -z 127.0.0.1 "$LP"
	check_contains "$(ss -ltnH "sport = :$LP")" "0.0.0.0:$LP" "$opt: -L listens on 0.0.0.0"
	stop G
done
LP=$(free_port)
bg G "${MCP[@]}" -N -L "$LP:127.0.0.1:$HP" h
wait_for 15 nc -z 127.0.0.1 "$LP"
check_not_contains "$(ss -ltnH "sport = :$LP")" "0.0.0.0:$LP" "without -g: -L listens on loopback only"
stop G

# --- LocalForward/DynamicForward in ssh_config, RemoteForward as -o: as the options
LP=$(free_port) DP=$(free_port) RP=$(free_port)
ssh_alias hf MAIN "LocalForward $LP 127.0.0.1:$HP" "DynamicForward 127.0.0.1:$DP"
bg F "${MCP[@]}" -N -o "RemoteForward $RP 127.0.0.1:$HP" hf
wait_for 15 nc -z 127.0.0.1 "$DP"
wait_for 15 nc -z 127.0.0.1 "$RP"
T=60 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$LP"
check_eq "${OUT%% *}" "$WANT" "LocalForward in ssh_config: carries $BULK_MB MB"
T=60 run sh -c 'curl -sf --socks5-hostname "127.0.0.1:$1" "http://localhost:$2/rand50" | sha256sum' sh "$DP" "$HP"
check_eq "${OUT%% *}" "$WANT" "DynamicForward in ssh_config: a SOCKS proxy"
T=60 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$RP"
check_eq "${OUT%% *}" "$WANT" "-o RemoteForward: the far port carries $BULK_MB MB"
stop F
mcp -o ClearAllForwardings=yes hf "sleep 1" &
cpid=$!
sleep 0.7
if nc -z 127.0.0.1 "$LP"; then fail "ClearAllForwardings=yes drops ssh_config's LocalForward (scp, sftp)"
else ok "ClearAllForwardings=yes drops ssh_config's LocalForward (scp, sftp)"; fi
wait "$cpid"
# --- -G lists the forwardings as ssh -G does (command line and ssh_config)
fwd_lines() { grep -E '^(localforward|remoteforward|dynamicforward|exitonforwardfailure|clearallforwardings|gatewayports) ' | sort; }
args=(-G -L 8080:web:80 -L "127.0.0.1:9:[::1]:80" -D 1080 -R 0:localhost:22 -o ExitOnForwardFailure=yes hf)
ossh "${args[@]}"; want=$(fwd_lines <<<"$OUT")
mcp "${args[@]}"
check_eq "$(fwd_lines <<<"$OUT")" "$want" "-G: the forwarding lines ssh -G prints"

ssh_config_raw "Host badfwd
  LocalForward 8080"
mcp badfwd true
check_exit "$RC" 255 "LocalForward with one argument: a config error (255)"
check_contains "$ERR" "bad LocalForward value" "LocalForward with one argument: names the keyword"

# --- bad specifications: usage errors in ssh's words
for spec in "-L 12" "-L a:b" "-R x" "-D 1:2:3" "-L 70000:h:1"; do
	# shellcheck disable=SC2086
	mcp $spec h true
	check_exit "$RC" 2 "bad forwarding '$spec': usage error"
	check_contains "$ERR" "forwarding specification" "bad forwarding '$spec': says which"
done

# --- -f -N -L: in the background once the listener is up; stopped by its PID
LP=$(free_port)
mcp -f -N -L "$LP:127.0.0.1:$HP" h
check_exit "$RC" 0 "-f -N -L: returns 0 at once"
T=60 run sh -c 'curl -sf "http://127.0.0.1:$1/rand50" | sha256sum' sh "$LP"
check_eq "${OUT%% *}" "$WANT" "-f -N -L: the background tunnel carries $BULK_MB MB"
bgpid=$(ss -ltnpH "sport = :$LP" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
if [ -n "$bgpid" ]; then _track "$bgpid"; kill "$bgpid"; ok "-f: the background process found by its port"
else fail "-f: the background process found by its port"; fi

