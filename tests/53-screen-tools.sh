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

# ------------------------------------------------------- exec -t for people ---
# In a private tmux pane (its own -L socket, killed at the end): `sshmcp exec -t h` gets the
# pane's size, follows a resize of the window (SIGWINCH → window change), `~.` after a
# newline ends it (exit 255), and the local terminal is sane afterwards.
SOCK="sshmcp-53-$$"
tm() { timeout 10 tmux -L "$SOCK" "$@"; }
pane() { tm capture-pane -p 2>/dev/null; }
cat >"$FIX/tty.sh" <<SH
$SSHMCP exec -t h
echo "EXIT=\$?"
stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e echo -e -icanon -e -echo | tr '\n' ' '; echo
sleep 60
SH
tm -f /dev/null new-session -d -x 80 -y 24 "bash $FIX/tty.sh" || fail "tmux did not start"
TMUX_PID=$(tm display -p '#{pid}' 2>/dev/null)
[ -n "$TMUX_PID" ] && _track "$TMUX_PID"
wait_for 15 sh -c "tmux -L $SOCK capture-pane -p | grep -q '[\$#] *\$'" || note "no remote prompt seen: $(pane | tail -n 3)"
tm send-keys 'stty size' Enter
if wait_for 10 sh -c "tmux -L $SOCK capture-pane -p | grep -qx '24 80'"; then ok "exec -t: the remote PTY has the pane's size (24 80)"
else fail "exec -t: the remote PTY has the pane's size (24 80)" "$(pane)"; fi
tm resize-window -x 100 -y 30
sleep 0.5
tm send-keys 'stty size' Enter
if wait_for 10 sh -c "tmux -L $SOCK capture-pane -p | grep -qx '30 100'"; then ok "exec -t: a resized window is forwarded (30 100)"
else fail "exec -t: a resized window is forwarded (30 100)" "$(pane)"; fi
tm send-keys Enter '~?'
if wait_for 5 sh -c "tmux -L $SOCK capture-pane -p | grep -q 'Supported escape sequences'"; then ok "exec -t: ~? lists the escapes"
else fail "exec -t: ~? lists the escapes" "$(pane)"; fi
tm send-keys Enter '~.'
if wait_for 10 sh -c "tmux -L $SOCK capture-pane -p | grep -q 'EXIT=255'"; then ok "exec -t: ~. after a newline ends the session (exit 255)"
else fail "exec -t: ~. after a newline ends the session (exit 255)" "$(pane)"; fi
if wait_for 5 sh -c "tmux -L $SOCK capture-pane -p | grep -q '^icanon echo'"; then ok "exec -t: the terminal is restored (icanon echo)"
else fail "exec -t: the terminal is restored (icanon echo)" "$(pane)"; fi
tm kill-server 2>/dev/null
[ -z "$TMUX_PID" ] || { wait_for 5 _gone "$TMUX_PID" || kill "$TMUX_PID" 2>/dev/null; }
