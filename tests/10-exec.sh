#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 10-exec: a user runs commands with `sshmcp exec h ...` the way they would with `ssh h ...`:
# exit statuses, stdin, stdout/stderr, PTYs, arguments and quoting, big data, --timeout.
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
trust MAIN
ssh_alias h MAIN

# --- exit status is the remote command's, as with ssh
for cmd in true false 'exit 3' 'no-such-command-sshmcp'; do
	ossh h "$cmd"; want=$RC
	mcp h "$cmd"
	check_exit "$RC" "$want" "exit status of '$cmd' is $want, as ssh"
done
mcp h 'exit 3';                 check_exit "$RC" 3 "exit 3 → 3"
mcp h 'no-such-command-sshmcp'; check_exit "$RC" 127 "unknown command → 127"
check_contains "$ERR" "no-such-command-sshmcp" "the remote shell's complaint reaches stderr"

# --- killed by a signal remotely: whatever OpenSSH reports
ossh h 'kill -KILL $$'; want=$RC
mcp h 'kill -KILL $$'
check_exit "$RC" "$want" "remote command killed by SIGKILL: exit $want, as ssh"

# --- stdout and stderr stay apart
mcp h 'echo out; echo err >&2'
check_file_eq "$FIX/out" $'out\n' "stdout carries only stdout"
check_file_eq "$FIX/err" $'err\n' "stderr carries only stderr"
check_exit "$RC" 0 "echo out/err exits 0"

# --- stdin is forwarded byte for byte, EOF included
mcp h cat < <(printf 'a\nb')
check_file_eq "$FIX/out" $'a\nb' "printf 'a\\nb' | sshmcp exec h cat gives exactly a\\nb"
mcp h 'cat; echo END' < <(printf 'data\n')
check_file_eq "$FIX/out" $'data\nEND\n' "the remote sees EOF when local stdin ends"
printf 'from a file\n' >"$FIX/in.txt"
mcp h 'wc -c' <"$FIX/in.txt"
check_eq "${OUT// /}" 12 "stdin redirected from a regular file"

# --- -n: stdin is /dev/null
mcp -n h 'cat; echo END' < <(printf 'should not arrive\n')
check_file_eq "$FIX/out" $'END\n' "-n: the remote reads an empty stdin"
check_exit "$RC" 0 "-n exits 0"

# --- no PTY by default with a command, nor with -T; -t forces one
mcp h tty
check_eq "$OUT" "not a tty" "default with a command: no tty"
mcp -T h 'test -t 0 && echo TTY || echo NOTTY'
check_eq "$OUT" "NOTTY" "-T: no tty"
mcp -t h 'test -t 0 && echo TTY || echo NOTTY'
check_contains "$OUT" "TTY" "-t: stdin is a tty"
check_not_contains "$OUT" "NOTTY" "-t: not NOTTY"
mcp -t h tty
check_contains "$OUT" "/dev/pts/" "-t: tty names a pts"
mcp -tt h 'exit 5'
check_exit "$RC" 5 "-tt accepted, exit status kept with a PTY"

# --- arguments: UTF-8 passes untouched; words are joined by one space and the remote
#     shell interprets them, exactly as ssh does
mcp h echo 'héllo wörld ✓'
check_eq "$OUT" 'héllo wörld ✓' "UTF-8 arguments"
ossh h echo '"$HOME"' 'a  b'; want=$OUT
mcp h echo '"$HOME"' 'a  b'
check_eq "$OUT" "$want" "quotes and \$ are the remote shell's, as ssh ($want)"
check_eq "$OUT" "$T_HOME a b" "echo '\"\$HOME\"' 'a  b' → '$T_HOME a b'"
ossh h 'printf "%s|" "$0" '"'x y'"' $((6*7))'; want=$OUT
mcp h 'printf "%s|" "$0" '"'x y'"' $((6*7))'
check_eq "$OUT" "$want" "single quotes and arithmetic, as ssh"

# --- 50 MB of random bytes through cat, byte-exact
head -c 50M /dev/urandom >"$FIX/rand50"
want=$(sha256sum <"$FIX/rand50" | cut -d' ' -f1)
T=180 run sh -c '"$1" exec h cat <"$2" | sha256sum' sh "$SSHMCP" "$FIX/rand50"
check_eq "${OUT%% *}" "$want" "50 MB through cat: same sha256"
T=180 mcp h "cat $FIX/rand50"
check_eq "$(stat -c %s "$FIX/out")" 52428800 "50 MB remote → stdout: byte count"
check_eq "$(sha256sum <"$FIX/out" | cut -d' ' -f1)" "$want" "50 MB remote → stdout: sha256"

# --- --timeout: exit 124 and the remote command is gone
mark="sleep 30.$$"    # unique, so another run's sleep is never mistaken for ours
start=$SECONDS
mcp --timeout 2 h "$mark"
check_exit "$RC" 124 "--timeout 2 on sleep 30 → 124"
if [ $((SECONDS - start)) -lt 25 ]; then ok "--timeout returned before the command would end"
else fail "--timeout returned before the command would end" "took $((SECONDS - start)) s"; fi
if wait_for 10 test -z "$(remote_pids "$mark")"; then
	ok "the remote sleep is gone after --timeout"
else
	fail "the remote sleep is gone after --timeout" "$(ps -o pid,ppid,args -p "$(remote_pids "$mark" | paste -sd,)")"
	for p in $(remote_pids "$mark"); do kill "$p" 2>/dev/null; done
fi
mcp --timeout 20 h 'echo quick'
check_exit "$RC" 0 "--timeout not reached: the command's own status"
check_eq "$OUT" quick "--timeout not reached: output intact"
