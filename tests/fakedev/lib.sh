# shellcheck shell=bash
# tests/fakedev/lib.sh — fake network devices for sshmcp's tests. Source it after tests/lib.sh.
#
#   fakedev_start NAME PLATFORM [fakedev args...] [-- sshd_config lines...]
#       An sshd (lib.sh's sshd_start NAME) whose every session is the fake device:
#         ForceCommand /usr/bin/python3 $FIX/fakedev/fakedev.py --platform PLATFORM ARGS...
#         AcceptEnv FAKEDEV_ARGS
#         PrintLastLog no
#       The emulator is copied into $FIX (mode 755) so the test user can read it wherever the
#       repository lives. Exports NAME_ADDR NAME_PORT ... like sshd_start; then
#       `trust NAME; ssh_alias ALIAS NAME` as for any server. One sshd per device: sshmcp's
#       PTY shells send no command, so the platform is fixed by the ForceCommand line.
#       Per-session extra arguments: FAKEDEV_ARGS in the session's environment (OpenSSH:
#       ssh -o SetEnv=FAKEDEV_ARGS="--chunk-delay-ms 20"); they are parsed after the fixed ones.
#   fakedev_dump PLATFORM OUTPUT [fakedev args...]
#       The exact text a command prints (LF line ends), e.g. fakedev_dump cisco_ios running_config.
#   fakedev_drive [T=seconds] <<'EOF' ... python using tests/fakedev/drive.py ... EOF
#       Runs a drive.py scenario from stdin, counting its ok/not ok lines with ok/fail.
FAKEDEV_SRC=$TESTS_DIR/fakedev
export FAKEDEV_DIR=$FIX/fakedev   # drive.py scenarios find fakedev.py through it
FAKEDEV=$FAKEDEV_DIR/fakedev.py

_fakedev_install() {
	[ -f "$FAKEDEV" ] && return 0
	if ! { mkdir -p "$FAKEDEV_DIR/platforms" &&
		cp "$FAKEDEV_SRC/fakedev.py" "$FAKEDEV_SRC/drive.py" "$FAKEDEV_DIR/" &&
		cp "$FAKEDEV_SRC"/platforms/*.json "$FAKEDEV_DIR/platforms/" &&
		chmod -R a+rX "$FAKEDEV_DIR"; }; then
		die "cannot install fakedev into $FAKEDEV_DIR"
	fi
}

fakedev_start() {   # NAME PLATFORM [fakedev args...] [-- sshd_config lines...]
	local name=$1 platform=$2 cmd a
	shift 2
	_fakedev_install
	cmd="$PY $FAKEDEV --platform $platform"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		printf -v a '%q' "$1"; cmd+=" $a"; shift
	done
	[ "${1-}" = -- ] && shift
	sshd_start "$name" "ForceCommand $cmd" "AcceptEnv FAKEDEV_ARGS" "PrintLastLog no" "$@"
}

fakedev_dump() {   # PLATFORM OUTPUT [args...]
	local platform=$1 output=$2
	shift 2
	_fakedev_install
	"$PY" "$FAKEDEV" --platform "$platform" --dump "$output" "$@"
}

# fakedev_drive: python scenario on stdin; FAKEDEV_DIR is on its sys.path (import drive).
fakedev_drive() {
	local line desc='' detail='' pending=0 done=0 rc=''
	_fakedev_install
	_fd_flush() {
		[ "$pending" = 1 ] || return 0
		fail "$desc" "$detail"
		pending=0 desc='' detail=''
	}
	while IFS= read -r line; do
		case "$line" in
		'ok - '*) _fd_flush; ok "${line#ok - }" ;;
		'not ok - '*) _fd_flush; desc=${line#not ok - }; pending=1 ;;
		'#   '*) if [ "$pending" = 1 ]; then detail+="${line#\#   }"$'\n'; else echo "$line"; fi ;;
		'# driver done '*) _fd_flush; done=1 ;;
		'# driver exit '*) _fd_flush; rc=${line#\# driver exit } ;;
		*) _fd_flush; echo "# $line" ;;
		esac
	done < <(PYTHONPATH=$FAKEDEV_DIR PYTHONDONTWRITEBYTECODE=1 timeout -k 5 "${T:-120}" "$PY" - 2>&1; echo "# driver exit $?")
	_fd_flush
	[ "$done" = 1 ] || fail "fakedev driver ran to its end" "driver exit status ${rc:-?} (124: timeout after ${T:-120} s)"
}
