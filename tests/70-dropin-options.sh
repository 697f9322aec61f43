#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 70-dropin-options: a user swaps `ssh` for `sshmcp exec` in a script and keeps every option
# OpenSSH takes: each runs the command as ssh does on the same server, or fails as ssh does
# where the feature is absent (X11, multiplexing). -s drives sftp, -W carries OpenSSH to a
# host, -N and -f run without a command.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
trust MAIN
ssh_alias h MAIN

# --- flags and options ssh takes with a command: same output, same status as ssh
for opt in -4 -A -a -C -K -k -M -x -y -g '-e none' '-e ^]' '-e ~' '-c aes128-ctr' \
	'-m hmac-sha2-256' '-b 127.0.0.1' '-o ControlMaster=auto' '-o ControlPersist=60s' \
	"-o ControlPath=$FIX/cp-%C" '-o ForwardAgent=no' '-o PermitLocalCommand=no' \
	'-o ClearAllForwardings=yes' '-o ExitOnForwardFailure=yes' '-o ForwardX11=no' '-oForwardX11 no'; do
	# shellcheck disable=SC2086  # the option and its argument are two words
	ossh $opt h echo ran; want="$RC:$OUT"
	# shellcheck disable=SC2086
	mcp $opt h echo ran
	check_eq "$RC:$OUT" "$want" "exec $opt h echo ran: as ssh ($want)"
done
# Ansible's own line: multiplexing asked for, and a pty forced
mcp -C -o ControlMaster=auto -o ControlPersist=60s -o 'ControlPath="/tmp/ansible-cp-%C"' \
	-o KbdInteractiveAuthentication=no -o PreferredAuthentications=publickey -o ConnectTimeout=10 \
	-tt h "/bin/sh -c 'echo ANSIBLE && sleep 0'"
check_exit "$RC" 0 "Ansible's ssh command line runs"
check_contains "$OUT" "ANSIBLE" "Ansible's command's output arrives"

# --- said under -v: what is taken but not done
mcp -v -C h true
check_contains "$ERR" "not compressed" "-C -v: says there is no compression"
SSH_AUTH_SOCK=$FIX/no-agent mcp -v -A h true
check_not_contains "$ERR" "agent forwarding" "-A with no agent: nothing asked for, as ssh (71 forwards one)"
mcp -C h true
check_not_contains "$ERR" "compress" "-C without -v: silent"

# --- refused, clearly
for opt in -X -Y; do
	mcp "$opt" h true
	check_exit "$RC" 2 "$opt: usage error"
	check_contains "$ERR" "X11 forwarding" "$opt: says X11 forwarding is not supported"
done
mcp -e xx h true
check_exit "$RC" 2 "-e xx: bad escape character refused"
check_contains "$ERR" "Bad escape character 'xx'." "-e xx: ssh's words"
mcp -w 0 h true
check_exit "$RC" 2 "-w: tunnel devices refused"

# --- -V: the version on stderr, like ssh -V
mcp -V
check_exit "$RC" 0 "-V exits 0"
check_contains "$ERR" "sshmcp" "-V names sshmcp on stderr"

# --- -O: no multiplexing; answers as ssh does when no master runs
ossh -O check h; want=$RC
mcp -O check h
check_exit "$RC" "$want" "-O check without ControlPath: exit $want, as ssh"
check_contains "$ERR" 'No ControlPath specified for "-O" command' "-O check without a path: ssh's words"
ossh -S "$FIX/nomaster" -O check h; want=$RC
mcp -S "$FIX/nomaster" -O check h
check_exit "$RC" "$want" "-S path -O check: exit $want, as ssh"
check_contains "$ERR" "Control socket connect($FIX/nomaster): No such file or directory" "-S path -O check: ssh's words"
mcp -o "ControlPath=$FIX/nomaster2" -O exit h
check_exit "$RC" 255 "-o ControlPath -O exit: 255"
check_contains "$ERR" "Control socket connect($FIX/nomaster2)" "-o ControlPath names the socket"
mcp -O bogus h
check_exit "$RC" 2 "-O bogus: invalid multiplex command"

# --- ssh://user@host:port/ (a trailing slash, as ssh takes it)
mcp -i "$KEY_DEFAULT" "ssh://$T_USER@127.0.0.1:$MAIN_PORT/" whoami
check_eq "$RC:$OUT" "0:$T_USER" "ssh://user@host:port/ accepted"

# --- -s: a subsystem; sftp drives it through -S
printf '#!/bin/sh\nexec "%s" exec "$@"\n' "$SSHMCP" >"$FIX/sshmcp-wrap"
chmod 755 "$FIX/sshmcp-wrap"
mcp -s h
check_exit "$RC" 2 "-s without a subsystem: usage error"
check_contains "$ERR" "You must specify a subsystem to invoke." "-s without a subsystem: ssh's words"
mkdir -p "$FIX/sftp"
chmod 777 "$FIX/sftp"
head -c 300000 /dev/urandom >"$FIX/sftp/up.bin"
printf 'cd %s\nput %s/sftp/up.bin up2.bin\nget up2.bin %s/sftp/down.bin\nls -l up2.bin\nrm up2.bin\n' \
	"$FIX/sftp" "$FIX" "$FIX" >"$FIX/sftp.batch"
run sftp -S "$FIX/sshmcp-wrap" -b "$FIX/sftp.batch" h
check_exit "$RC" 0 "sftp -S 'sshmcp exec' -b batch: exit 0"
if cmp -s "$FIX/sftp/up.bin" "$FIX/sftp/down.bin"; then ok "sftp -S: put then get gives the same bytes"
else fail "sftp -S: put then get gives the same bytes" "$(_last)"; fi
check_contains "$OUT" "up2.bin" "sftp -S: ls lists the file"

# --- -N: no command, no channel; runs until told to stop (killed by its PID)
timeout 5 "$SSHMCP" exec -N h >"$FIX/n.out" 2>"$FIX/n.err" </dev/null
RC=$?
check_exit "$RC" 124 "-N: stays up with no command (until timeout)"
mcp -N h echo x
check_exit "$RC" 2 "-N with a command: usage error"

# --- -W: OpenSSH reaches a host through sshmcp as its ProxyCommand
ssh_alias target MAIN
ossh -o "ProxyCommand=$SSHMCP exec -W %h:%p h" target 'echo via-W; echo $SSH_CONNECTION'
check_exit "$RC" 0 "ssh -o ProxyCommand='sshmcp exec -W %h:%p h' target: exit 0"
check_contains "$OUT" "via-W" "ssh through sshmcp -W runs the command"
check_eq "$(awk '{print $3}' <<<"$OUT" | tail -n 1)" 127.0.0.1 "the target sees a TCP connection from the jump"
head -c 5M /dev/urandom >"$FIX/rand5"
want=$(sha256sum <"$FIX/rand5" | cut -d' ' -f1)
T=120 ossh -o "ProxyCommand=$SSHMCP exec -W %h:%p h" target 'sha256sum' <"$FIX/rand5"
check_eq "${OUT%% *}" "$want" "5 MB through ssh via sshmcp -W: same sha256"
ossh -o "ProxyCommand=$SSHMCP exec -W 127.0.0.1:$(free_port) h" target true; want=$RC
mcp -W "127.0.0.1:$(free_port)" h
check_exit "$RC" 255 "-W to a closed port: 255"
check_contains "$ERR" "stdio forwarding failed" "-W to a closed port: ssh's words"
mcp -W nocolon h
check_exit "$RC" 2 "-W without a port: usage error"
check_contains "$ERR" "Bad stdio forwarding specification 'nocolon'" "-W bad spec: ssh's words"
# sshmcp's own ProxyJump through another sshmcp -W
mcp -o "ProxyCommand=$SSHMCP exec -W %h:%p h" target echo nested
check_eq "$RC:$OUT" "0:nested" "sshmcp exec with sshmcp exec -W as its ProxyCommand"

# --- -f: to the background once authenticated; the command runs there
rm -f "$FIX/sftp/f.done"
mcp -f h "sleep 1; echo done >$FIX/sftp/f.done"
check_exit "$RC" 0 "-f returns at once with 0"
if wait_for 10 test -s "$FIX/sftp/f.done"; then ok "-f: the command ran in the background"
else fail "-f: the command ran in the background" "$(_last)"; fi
mcp -f h
check_exit "$RC" 2 "-f without a command: usage error"
check_contains "$ERR" "Cannot fork into background without a command to execute." "-f alone: ssh's words"
