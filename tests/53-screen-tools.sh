#!/bin/bash
# 53-screen-tools: full-screen programs for agents (issue 18, SPEC §4). An MCP client (the
# official SDK, tests/mcp/screen.mjs) runs vi (insert, save, quit: the file checked), top (shown,
# q), less (a search), a whiptail menu (arrow keys), nano (write, exit) through execute_command
# (status "screen"), send_keys and read_screen on the fixture's sshd; screens are compared with
# tmux at the same size; then the same session runs `false` with exit code 1. cols/rows resize
# a live session (stty size), a cursor position query is answered, streaming commands keep
# their hint, and under a command policy full-screen programs and send_keys are refused.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

mcp_need_node
for p in tmux vim less nano whiptail top; do
	command -v "$p" >/dev/null || die "$p is needed (apt-get install $p)"
done
sshd_start MAIN
trust MAIN
ssh_alias h MAIN
SDIR=$FIX/scr
install -d -m 755 -o "$T_USER" -g "$T_USER" "$SDIR"

export MCP_HOST=h MCP_FIX="$FIX" MCP_SDIR="$SDIR" MCP_SERVER_LOG="$FIX/mcp-server.log"
T=400 mcp_scenarios "$MCP_DIR/screen.mjs"
