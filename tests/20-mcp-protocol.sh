#!/bin/bash
# 20-mcp-protocol: an MCP client talks to `sshmcp serve` line by line, as SPEC §2 describes the
# wire: initialize and version negotiation, ping, JSON-RPC errors for malformed input, ids echoed
# with their type, huge and invalid-UTF-8 lines, tools/list schemas, bad tool arguments, and a
# clean exit on stdin EOF, SIGTERM and SIGINT. The requests are written by hand
# (tests/mcp/protocol.mjs), so what the server gets is exactly what the test says.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

command -v node >/dev/null 2>&1 || die "node is not installed"
sshd_start MAIN
trust MAIN
ssh_alias h MAIN

export MCP_HOST=h MAIN_PID MCP_SERVER_LOG="$FIX/mcp-server.log"
T=300 mcp_scenarios "$MCP_DIR/protocol.mjs"
