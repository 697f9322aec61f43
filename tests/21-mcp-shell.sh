#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 21-mcp-shell: an MCP client (the official SDK, tests/mcp/shell.mjs) works in persistent shells
# on an sshd through `sshmcp serve`: state carries over, exit codes are the shell's, commands
# queue per session and run in parallel across sessions, long commands are polled later or
# interrupted, prompts, pagers, sudo and REPLs are answered through send_input, secrets never
# come back, 100 MB of output stays in a bounded ring, a killed sshd is reported and reconnected.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

mcp_need_node
sshd_start MAIN
trust MAIN
ssh_alias h MAIN
ssh_alias pwh MAIN '#noidentity'           # password auth from the tool's `password`
ssh_alias ka MAIN 'ServerAliveInterval 1' 'ServerAliveCountMax 2'   # keepalive finds dead links fast
sshd_start OTHER                           # its host key is never trusted
ssh_alias unknown-key OTHER
ssh_config_raw "Host dead
  HostName 127.0.0.1
  Port $(free_port)
  User $T_USER
  IdentityFile $KEY_DEFAULT
  ConnectTimeout 5"

# sudo rules for the test user, for this run only: id without a password, whoami with one.
# timestamp_timeout=0 so that a password typed once is asked for again.
cat >"$FIX/sudoers" <<-RULES
	Defaults:$T_USER !lecture, timestamp_timeout=0
	$T_USER ALL=(root) NOPASSWD: /usr/bin/id
	$T_USER ALL=(root) /usr/bin/whoami
	RULES
sudo_rules "$FIX/sudoers"

export MCP_HOST=h MAIN_PID OTHER_PORT T_USER T_PASS MCP_SUDO MCP_FIX="$FIX" MCP_KNOWN_HOSTS="$KNOWN_HOSTS" \
	MCP_SERVER_LOG="$FIX/mcp-server.log"
T=540 mcp_scenarios "$MCP_DIR/shell.mjs"
