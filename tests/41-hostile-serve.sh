#!/bin/bash
# 41-hostile-serve: `sshmcp serve`, driven by the MCP SDK (tests/hostile/serve.mjs), holds sessions
# to misbehaving servers (tests/hostile/: silence, an endless version line, a packet cut short,
# data far beyond the window, a channel gone deaf; SFTP replies with wrong ids, lengths, counts)
# while a session to the fixture's sshd keeps answering execute_command quickly. Each hostile
# call ends with isError true within its bound, the server survives, and its stderr carries no
# sanitizer report. Run against $SSHMCP and, if present, the ASan build ($SSHMCP_ASAN, default
# build/asan/sshmcp; SSHMCP_ASAN= to skip).
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

mcp_need_node
HOSTILE=$TESTS_DIR/hostile
SSHMCP_ASAN=${SSHMCP_ASAN-$REPO/build/asan/sshmcp}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

sshd_start MAIN
trust MAIN
ssh_alias h MAIN

hostile_start() {   # NAME PORTFILE CMD...: in the background, killed by PID at exit
	local name=$1 pf=$2
	shift 2
	"$@" >"$FIX/$name.log" 2>&1 &
	_track $!
	wait_for 10 test -s "$pf" || die "hostile server $name did not start" "$(tail -n 20 "$FIX/$name.log")"
}
port_of() { awk -v c="$2" '$1 == c { print $2 }' "$1"; }
: >"$FIX/kh_hostile"
hx_alias() {        # CASE PORT USER
	ssh_config_raw "Host hx-$1
  HostName 127.0.0.1
  Port $2
  User $3
  IdentityFile $KEY_ED25519
  UserKnownHostsFile $FIX/kh_hostile
  StrictHostKeyChecking accept-new
  ConnectTimeout 5"
}

RAW_CASES=(silence endless_version stall_midpacket)
hostile_start raw "$FIX/raw.ports" "$PY" "$HOSTILE/raw.py" "$FIX/raw.ports" "${RAW_CASES[@]}"
HX_SHELL=""
for c in "${RAW_CASES[@]}"; do hx_alias "$c" "$(port_of "$FIX/raw.ports" "$c")" "$T_USER"; HX_SHELL+="hx-$c,"; done

HX_SFTP=""
if "$PY" -c 'import paramiko' 2>/dev/null; then
	ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C hostile -f "$FIX/hostile_key" </dev/null >/dev/null ||
		die "ssh-keygen for the hostile server"
	hostile_start para "$FIX/para.ports" "$PY" "$HOSTILE/para.py" "$FIX/para.ports" "$FIX/hostile_key" "$T_USER"
	port=$(port_of "$FIX/para.ports" main)
	awk -v p="$port" '{ print "[127.0.0.1]:" p, $1, $2 }' "$FIX/hostile_key.pub" >>"$FIX/kh_hostile"
	for c in data_beyond_window deaf_after_output; do hx_alias "$c" "$port" "$c"; HX_SHELL+="hx-$c,"; done
	for c in sftp_ok sftp_wrong_id sftp_data_len sftp_data_more sftp_pkt_huge sftp_name_count sftp_attrs_short; do
		hx_alias "$c" "$port" "$c"; HX_SFTP+="hx-$c,"
	done
else
	note "python3-paramiko is missing (apt-get install -y python3-paramiko): post-kex cases skipped"
fi

export MCP_HOST=h HX_SHELL HX_SFTP
runs=("$SSHMCP")
if [ -n "$SSHMCP_ASAN" ] && [ -x "$SSHMCP_ASAN" ] && ! [ "$SSHMCP_ASAN" -ef "$SSHMCP" ]; then
	runs+=("$SSHMCP_ASAN")
fi
i=0
for bin in "${runs[@]}"; do
	i=$((i + 1))
	note "---- sshmcp serve: $bin"
	export SSHMCP=$bin MCP_SERVER_LOG="$FIX/mcp-server.$i.log"
	: >"$MCP_SERVER_LOG"
	T=240 mcp_scenarios "$HOSTILE/serve.mjs"
	san=$(grep -E -m 8 -A 12 'AddressSanitizer|LeakSanitizer|runtime error' "$MCP_SERVER_LOG")
	if [ -z "$san" ]; then ok "serve ($bin): no sanitizer report on its stderr"
	else fail "serve ($bin): no sanitizer report on its stderr" "$san"; fi
done
