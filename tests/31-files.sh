#!/bin/bash
# 31-files: an MCP client (the official SDK, tests/mcp/files.mjs) reads and writes files on an
# sshd through `sshmcp serve`: text and binary, 1 MiB pages of a 3 MiB file, typed errors (not
# found, permission, directory), atomic writes with mode/append/create_dirs and no temp file
# left behind, sudo reads and writes of root's files (with and without a password), names full of
# quotes and $() that never run anything, the session's shell working meanwhile, and
# execute_on_hosts over three aliases and a dead host.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

mcp_need_node
sshd_start MAIN
trust MAIN
ssh_alias h MAIN
for a in fa1 fa2 fa3; do ssh_alias "$a" MAIN; done
ssh_config_raw "Host fdead
  HostName 127.0.0.1
  Port $(free_port)
  User $T_USER
  IdentityFile $KEY_DEFAULT
  ConnectTimeout 5"

# files: DATA is the test user's; ROOTDIR and ROOTFILE are root's (0755 dir, 0600 file)
DATA=$FIX/data ROOTDIR=$FIX/rootdir
install -d -m 755 -o "$T_USER" -g "$T_USER" "$DATA"
install -d -m 755 -o root -g root "$ROOTDIR"
ROOTFILE=$DATA/root-only.txt
printf 'root only\n' >"$ROOTFILE"; chown root:root "$ROOTFILE"; chmod 600 "$ROOTFILE"

# sudo rules for the test user, this run only: NOPASSWD for everything, or (swapped in by the
# scenario) the same with a password, asked every time. Both checked by visudo first.
printf 'Defaults:%s !lecture, timestamp_timeout=0\n%s ALL=(ALL) NOPASSWD: ALL\n' "$T_USER" "$T_USER" >"$FIX/sudoers.nopw"
printf 'Defaults:%s !lecture, timestamp_timeout=0\n%s ALL=(ALL) ALL\n' "$T_USER" "$T_USER" >"$FIX/sudoers.pw"
sudo_rules "$FIX/sudoers.nopw" "$FIX/sudoers.pw"

export MCP_HOST=h T_USER T_PASS T_HOME MCP_SUDO MCP_FIX="$FIX" MCP_DATA="$DATA" MCP_ROOTDIR="$ROOTDIR" \
	MCP_ROOTFILE="$ROOTFILE" MCP_SUDOERS="$SUDOERS" MCP_SUDOERS_NOPW="$FIX/sudoers.nopw" \
	MCP_SUDOERS_PW="$FIX/sudoers.pw" MAIN_LOG MCP_SERVER_LOG="$FIX/mcp-server.log"
T=560 mcp_scenarios "$MCP_DIR/files.mjs"
