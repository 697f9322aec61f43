#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 18-connectivity: a user reaches hosts through jump hosts and proxy commands, and dead links
# are found in bounded time. A 2-hop ProxyJump (-J and ProxyJump) reaches a target in a network
# namespace that only the second jump host can reach; ProxyCommand runs nc with %h %p; a server
# frozen with SIGSTOP is detected by keepalives within interval × count + 0.5 s while
# another server keeps answering; an sshd killed mid-command is noticed at once; a veth taken
# down is detected by keepalives; ConnectTimeout bounds a connect that gets no answer. The same
# dead-link cases in serve mode run from tests/mcp/links.mjs.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

TAG=$$

# bg_exec NAME args...: `sshmcp exec args` in the background; $FIX/NAME.{out,err,rc}; BG_PID
bg_exec() {
	local n=$1; shift
	rm -f "$FIX/$n.rc"
	( timeout -k 5 90 "$SSHMCP" exec "$@" >"$FIX/$n.out" 2>"$FIX/$n.err" </dev/null; echo $? >"$FIX/$n.rc" ) &
	BG_PID=$!
	_track "$BG_PID"
}

sshd_start J1
sshd_start MAIN
sshd_start OTHER
trust J1; trust MAIN; trust OTHER

# ============================================== 2-hop ProxyJump into a namespace ===
# J2: sshd in namespace A (reachable from here). TARGET: sshd in namespace B, whose only link
# goes to namespace A (A does not forward): reachable from J2, not from this host.
netns_start J2
trust J2
NS_B="sshmcp-$$-b"
ip netns add "$NS_B" || die "ip netns add $NS_B"
_NETNS+=("$NS_B")
VA="smA$$" VB="smB$$"
TARGET_ADDR="10.251.$_NET_X.242" TA_ADDR="10.251.$_NET_X.241"
ip link add "$VA" netns "$J2_NS" type veth peer name "$VB" netns "$NS_B" || die "veth A-B"
ip netns exec "$J2_NS" ip addr add "$TA_ADDR/30" dev "$VA" && ip netns exec "$J2_NS" ip link set "$VA" up &&
	ip netns exec "$NS_B" ip addr add "$TARGET_ADDR/30" dev "$VB" && ip netns exec "$NS_B" ip link set "$VB" up &&
	ip netns exec "$NS_B" ip link set lo up || die "namespace B addressing"
_sshd_config TARGET "$TARGET_ADDR" 22
: >"$FIX/TARGET.sshd.log"
ip netns exec "$NS_B" $SSHD "${SSHD_RUN[@]}" -f "$FIX/TARGET.sshd_config" -E "$FIX/TARGET.sshd.log" &
_track $!
wait_for 5 grep -q "Server listening on $TARGET_ADDR port 22" "$FIX/TARGET.sshd.log" ||
	die "sshd in $NS_B did not start" "$(tail "$FIX/TARGET.sshd.log")"
_export TARGET_ADDR "$TARGET_ADDR"; _export TARGET_PORT 22; _export TARGET_LOG "$FIX/TARGET.sshd.log"
trust TARGET
# (a banner, not a bare connect: this host's default route may lead to a proxy that accepts
# any TCP connection)
banner() { timeout 5 nc -w 3 "$TARGET_ADDR" 22 </dev/null 2>/dev/null | head -c 4; }
if [ "$(banner)" = SSH- ]; then
	fail "fixture: the target is not reachable from this host" "an SSH banner from $TARGET_ADDR:22"
else ok "fixture: the target ($TARGET_ADDR) is not reachable from this host"; fi
if [ "$(ip netns exec "$J2_NS" bash -c "$(declare -f banner); TARGET_ADDR=$TARGET_ADDR banner")" = SSH- ]; then
	ok "fixture: the target is reachable from the second jump host"
else fail "fixture: the target is reachable from the second jump host"; fi

ssh_alias j1 J1
ssh_alias j2 J2
ssh_alias target TARGET
ssh_alias target-pj TARGET "ProxyJump j1,j2"
mcp target echo RAN
check_exit "$RC" 255 "without a jump the target is unreachable (255)"
ossh -J j1,j2 target 'echo $SSH_CONNECTION'; want=$OUT
log_mark J1
mcp -J j1,j2 target 'echo $SSH_CONNECTION'
check_eq "$RC" 0 "-J j1,j2 target: exit 0"
check_eq "$(awk '{print $3}' <<<"$OUT")" "$TARGET_ADDR" "-J j1,j2: the command ran on the target (ssh: $want)"
check_eq "$(awk '{print $1}' <<<"$OUT")" "$TA_ADDR" "-J j1,j2: the target saw the connection come from j2"
check_contains "$(log_since J1)" "to $J2_ADDR port 22" "-J j1,j2: j1 opened the direct-tcpip channel to j2"
mcp target-pj whoami
check_eq "$RC:$OUT" "0:$T_USER" "ProxyJump j1,j2 in ssh_config (each hop an alias)"
printf 'payload-%s\n' {1..20000} >"$FIX/big.in"
mcp -J j1,j2 target 'md5sum' <"$FIX/big.in"
check_eq "${OUT%% *}" "$(md5sum <"$FIX/big.in" | cut -d' ' -f1)" "-J j1,j2: 200 KB of stdin arrive intact through both hops"
mcp -J j1,j2 target 'exit 7'
check_exit "$RC" 7 "-J j1,j2: the remote exit status comes back"
ssh_alias j-down OTHER "Port $(free_port)"
mcp -J j1,j-down target echo RAN
check_exit "$RC" 255 "a dead second hop → 255"
check_one_line "$ERR" "a dead second hop: one line on stderr"

# ============================================================ ProxyCommand ===
ssh_alias hpc MAIN "ProxyCommand sh -c 'echo \"%h %p %r %n\" >>$FIX/pc.args; exec nc %h %p'"
mcp hpc whoami
check_eq "$RC:$OUT" "0:$T_USER" "ProxyCommand nc %h %p connects"
check_eq "$(tail -n 1 "$FIX/pc.args" 2>/dev/null)" "127.0.0.1 $MAIN_PORT $T_USER hpc" "ProxyCommand: %h %p %r %n expanded"
ssh_alias hpc-ns TARGET "ProxyCommand ip netns exec $J2_NS nc %h %p"
mcp hpc-ns 'echo $SSH_CONNECTION'
check_eq "$(awk '{print $3}' <<<"$OUT")" "$TARGET_ADDR" "ProxyCommand reaches the namespaced target through nc in namespace A"
ssh_alias hpc-fail MAIN "ProxyCommand exit 3"
mcp hpc-fail echo RAN
check_exit "$RC" 255 "a ProxyCommand that exits at once → 255"
check_one_line "$ERR" "…with one line on stderr"

# ===================================================== a server frozen (SIGSTOP) ===
# The times are taken at the client's exit by a shell on a machine that runs other scripts
# at once: slack for being scheduled, more for an ASan build's slow exit (its leak check).
# tests/23-dead-link.sh times the detection itself against ServerAlive*.
SLACK=300
if [ "$ASAN_BUILD" = 1 ]; then SLACK=1500; fi
ssh_alias stall MAIN "ServerAliveInterval 1" "ServerAliveCountMax 3"
ssh_alias other OTHER
bg_exec stall stall "echo \$\$; exec sleep 80.$TAG"
wait_for 15 first_line_pid stall || fail "stall: the remote command started" "$(cat "$FIX/stall.err")"
chain=$(chain_pids "$(head -n 1 "$FIX/stall.out")" "$MAIN_PID")
if [ -z "$chain" ]; then fail "stall: found the sshd processes of the session" "shell $(head -n 1 "$FIX/stall.out")"
else
	t0=$(ms)
	# shellcheck disable=SC2086
	kill -STOP $chain
	mcp other echo STILL-HERE
	t_other=$(( $(ms) - t0 ))
	check_eq "$OUT" STILL-HERE "while MAIN is frozen, OTHER answers (${t_other} ms)"
	wait_for 20 test -s "$FIX/stall.rc"
	took=$(( $(ms) - t0 ))
	# shellcheck disable=SC2086
	kill -9 $chain 2>/dev/null; kill_marked "sleep 80.$TAG"
	check_eq "$(cat "$FIX/stall.rc" 2>/dev/null)" 255 "frozen server (ServerAliveInterval 1, CountMax 3): exit 255"
	# keepalives on our own millisecond clock: 1 × 3 + 0.3 s after the last answer, which
	# came at most 1 s before the stall; + 0.2 s for wait_for's polling
	if [ "$took" -ge 1500 ] && [ "$took" -le $((3500 + SLACK)) ]; then
		ok "frozen server detected in ${took} ms (expected ≤ 3.5 s + ${SLACK} ms)"
	else fail "frozen server detected in the expected time (1.5–3.5 s + ${SLACK} ms)" "took ${took} ms; stderr: $(cat "$FIX/stall.err")"; fi
	check_one_line "$(cat "$FIX/stall.err")" "frozen server: one line on stderr"
fi
ssh_alias stall2 MAIN "ServerAliveInterval 3" "ServerAliveCountMax 2"
bg_exec stall2 stall2 "echo \$\$; exec sleep 81.$TAG"
wait_for 15 first_line_pid stall2
chain=$(chain_pids "$(head -n 1 "$FIX/stall2.out")" "$MAIN_PID")
if [ -n "$chain" ]; then
	t0=$(ms)
	# shellcheck disable=SC2086
	kill -STOP $chain
	wait_for 25 test -s "$FIX/stall2.rc"
	took=$(( $(ms) - t0 ))
	# shellcheck disable=SC2086
	kill -9 $chain 2>/dev/null; kill_marked "sleep 81.$TAG"
	# 3 × 2 + 0.3 s after the last answer, which came at most one interval before the stall
	if [ "$(cat "$FIX/stall2.rc" 2>/dev/null)" = 255 ] && [ "$took" -ge 3000 ] && [ "$took" -le $((6500 + SLACK)) ]; then
		ok "frozen server, ServerAliveInterval 3 CountMax 2: detected in ${took} ms (expected 3.3–6.5 s + ${SLACK} ms)"
	else fail "frozen server, ServerAliveInterval 3 CountMax 2: detected in 3–6.5 s + ${SLACK} ms with 255" \
		"rc $(cat "$FIX/stall2.rc" 2>/dev/null), ${took} ms; $(cat "$FIX/stall2.err")"; fi
else fail "stall2: found the sshd processes of the session"; fi

# ========================================================= sshd killed mid-command ===
ssh_alias hkill MAIN
bg_exec killed hkill "echo \$\$; exec sleep 82.$TAG"
wait_for 15 first_line_pid killed
chain=$(chain_pids "$(head -n 1 "$FIX/killed.out")" "$MAIN_PID")
if [ -n "$chain" ]; then
	t0=$(ms)
	# shellcheck disable=SC2086
	kill -9 $chain
	wait_for 10 test -s "$FIX/killed.rc"
	took=$(( $(ms) - t0 ))
	kill_marked "sleep 82.$TAG"
	check_eq "$(cat "$FIX/killed.rc" 2>/dev/null)" 255 "sshd killed mid-command → 255"
	if [ "$took" -le 2000 ]; then ok "a closed connection is noticed at once (${took} ms, no keepalive configured)"
	else fail "a closed connection is noticed at once (≤ 2 s)" "${took} ms"; fi
	check_one_line "$(cat "$FIX/killed.err")" "sshd killed: one line on stderr ($(head -c 200 "$FIX/killed.err"))"
else fail "killed: found the sshd processes of the session"; fi

# ================================================================ link down ===
netns_start LINK
trust LINK
LINK_HV=${_LINKS[-1]}
LINK_NV=${LINK_HV/smh/smn}
ssh_alias link LINK "ServerAliveInterval 1" "ServerAliveCountMax 3"
bg_exec link link "echo \$\$; exec sleep 83.$TAG"
if wait_for 15 first_line_pid link; then
	t0=$(ms)
	ip link set "$LINK_HV" down
	wait_for 20 test -s "$FIX/link.rc"
	took=$(( $(ms) - t0 ))
	ip link set "$LINK_HV" up
	kill_marked "sleep 83.$TAG"
	check_eq "$(cat "$FIX/link.rc" 2>/dev/null)" 255 "veth down mid-command → 255"
	if [ "$took" -ge 1500 ] && [ "$took" -le $((3500 + SLACK)) ]; then
		ok "link down detected by keepalives in ${took} ms (≤ 3.5 s + ${SLACK} ms)"
	else fail "link down detected in the expected time (1.5–3.5 s + ${SLACK} ms)" "took ${took} ms; $(cat "$FIX/link.err")"; fi
	wait_for 5 ip netns exec "$LINK_NS" true
	T=20 mcp link echo BACK
	check_eq "$OUT" BACK "link up again: a new connection works"
else fail "link: the remote command started" "$(cat "$FIX/link.err")"; fi

# ConnectTimeout: the far end of the veth is down, so SYNs go unanswered
ip netns exec "$LINK_NS" ip link set "$LINK_NV" down
t0=$(ms)
T=30 mcp -o ConnectTimeout=2 link echo RAN
took=$(( $(ms) - t0 ))
check_exit "$RC" 255 "ConnectTimeout 2 to a host that never answers → 255"
if [ "$took" -ge 1500 ] && [ "$took" -le 4500 ]; then ok "ConnectTimeout 2: gave up after ${took} ms"
else fail "ConnectTimeout 2: gives up after about 2 s" "${took} ms; $ERR"; fi
check_contains "$ERR" "timed out" "ConnectTimeout: the message says timed out"
ip netns exec "$LINK_NS" ip link set "$LINK_NV" up
ip netns exec "$LINK_NS" ip addr show "$LINK_NV" | grep -q inet ||
	ip netns exec "$LINK_NS" ip addr add "$LINK_ADDR/30" dev "$LINK_NV"

# ================================================= the same in serve mode (MCP) ===
if command -v node >/dev/null && [ -f "$MCP_SDK/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
	export MAIN_PID OTHER_PID T_USER LINK_HV LINK_NS TAG MCP_SERVER_LOG="$FIX/mcp-server.log"
	T=300 mcp_scenarios "$MCP_DIR/links.mjs"
else
	skip "serve-mode dead links" "node or the MCP SDK is missing"
fi
