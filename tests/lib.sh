# tests/lib.sh — the shared fixture for sshmcp's shell tests. Source it from tests/NN-topic.sh.
#
# What it gives a test:
#   * a fixture directory $FIX (mktemp -d), removed by the EXIT trap together with every
#     process started here (killed by PID), every network namespace and every line added
#     to the test user's ~/.ssh/authorized_keys;
#   * HOME=$FIX/home for the client side: sshmcp reads $HOME/.ssh/config ($SSH_CONFIG) and
#     $HOME/.ssh/known_hosts ($KNOWN_HOSTS), never root's real ~/.ssh;
#   * the test account $T_USER (password $T_PASS) and client keys $KEY_PEMRSA, $KEY_PEMECDSA,
#     $KEY_ECDSA, $KEY_ED25519, $KEY_RSA, $KEY_ENC (encrypted, $T_PASSPHRASE), $KEY_ENC_PEM,
#     and $KEY_WRONG (never authorized);
#   * servers: sshd_start NAME [sshd_config lines], sshd10_start NAME [lines] (OpenSSH 10),
#     dropbear_start NAME, netns_start NAME [sshd_config lines]; each exports NAME_ADDR
#     NAME_PORT NAME_LOG NAME_PID NAME_HOSTKEYS;
#   * client config: known_hosts_for NAME [TYPE...], trust NAME, ssh_alias ALIAS NAME [lines];
#   * running: mcp ARGS (= sshmcp exec ARGS), ossh ARGS (= OpenSSH ssh on the same config),
#     run CMD...; each sets RC, OUT, ERR (files $FIX/out, $FIX/err); T=SECONDS bounds it;
#   * TAP-like assertions: ok, fail, check_eq, check_exit, check_contains, check_not_contains,
#     check_file_eq; the EXIT trap prints "# counts PASSED FAILED".
# Everything that could hang runs under `timeout`; every wait is bounded.
# bench/*.sh source it too, with BENCH=1 (no "# counts" line).

set -u
exec </dev/null        # a test never reads the terminal; tests give stdin explicitly

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$TESTS_DIR")
SSHMCP=${SSHMCP:-$REPO/sshmcp}
# 1 when the binary under test is an ASan build: it forks and exits slowly (shadow memory,
# the leak check at exit), so time limits measured at its exit get slack, and it is dynamic.
ASAN_BUILD=0
if grep -q -a -m 1 __asan_init "$SSHMCP" 2>/dev/null; then ASAN_BUILD=1; fi
PY=/usr/bin/python3
# Megabytes a bulk transfer moves (16-ciphers, 71-forwarding): 50, so that windows refill
# many times over; make check-asan asks for fewer, as its build is about 8 times slower and
# looks for memory errors, which the first megabytes already exercise.
BULK_MB=${BULK_MB:-50}
SSHD=/usr/sbin/sshd
# The tests' sshds run without a re-exec for each connection (-r): that is a quarter of the
# server's CPU a connection (~90 -> ~68 ms on a 2-CPU machine), and CPU is what the suite's
# run time is made of; the protocol is the same. The benches keep sshd as it is deployed.
# (sshd 9.8 and later ignore -r.)
SSHD_RUN=(-D)
[ -n "${BENCH-}" ] || SSHD_RUN+=(-r)
T_USER=sshmcpt
T_PASS='Sshmcp-t3st-pw'
T_PASSPHRASE='sshmcp key passphrase'
T_LOCK=/tmp/.sshmcp-tests.lock
T_TAG="sshmcp-test-$$"           # comment on every key we install, to remove exactly ours

PASS=0 FAIL=0 NUM=0
_PIDS=() _NETNS=() _LINKS=() _CGROUPS=()   # _CGROUPS: directories of cgroups we made
_NETNS_COUNT=0

# ============================================================ assertions ===
ok()   { PASS=$((PASS + 1)); NUM=$((NUM + 1)); echo "ok $NUM - $1"; }
fail() {
	FAIL=$((FAIL + 1)); NUM=$((NUM + 1)); echo "not ok $NUM - $1"
	if [ -n "${2-}" ]; then printf '%s\n' "$2" | head -n 40 | sed 's/^/#   /'; fi
}
note() { echo "# $*"; }
# skip DESC WHY: not a failure, not a pass (TAP "# SKIP")
skip() { NUM=$((NUM + 1)); echo "ok $NUM - $1 # SKIP $2"; PASS=$((PASS + 1)); }

# the last command's streams, for failure details
_last() { printf 'rc=%s\nstdout: %s\nstderr: %s' "${RC-}" "$(head -c 600 "$FIX/out" 2>/dev/null)" \
	"$(head -c 1200 "$FIX/err" 2>/dev/null)"; }

check_eq() {   # GOT WANT DESC
	if [ "$1" == "$2" ]; then ok "$3"
	else fail "$3" "got:  $(printf '%q' "$1" | head -c 600)
want: $(printf '%q' "$2" | head -c 600)
$(_last)"; fi
}
check_exit() {   # CODE WANT DESC
	if [ "$1" == "$2" ]; then ok "$3"; else fail "$3" "exit $1, want $2
$(_last)"; fi
}
check_contains() {   # HAYSTACK NEEDLE DESC
	case "$1" in
	*"$2"*) ok "$3" ;;
	*) fail "$3" "missing: $2
in: $(printf '%s' "$1" | head -c 1500)" ;;
	esac
}
check_not_contains() {   # HAYSTACK NEEDLE DESC
	case "$1" in
	*"$2"*) fail "$3" "unexpected: $2
in: $(printf '%s' "$1" | head -c 1500)" ;;
	*) ok "$3" ;;
	esac
}
check_file_eq() {   # FILE WANT-BYTES DESC   (byte-exact, trailing newlines included)
	printf '%s' "$2" >"$FIX/want"
	if cmp -s "$1" "$FIX/want"; then ok "$3"
	else fail "$3" "got:  $(od -c "$1" | head -n 8)
want: $(od -c "$FIX/want" | head -n 8)"; fi
}
# one_line TEXT DESC: a failure is reported as exactly one line, like ssh
check_one_line() {
	local n; n=$(printf '%s\n' "$1" | grep -c .)
	if [ "$n" -eq 1 ]; then ok "$2"; else fail "$2" "$n lines:
$1"; fi
}
die() { fail "setup: $1" "${2-}"; echo "Bail out! $1"; exit 1; }

# ============================================================== running ===
# run CMD...: run under timeout ${T:-60}; stdout to $FIX/out, stderr to $FIX/err; sets RC OUT ERR.
# Stdin is the caller's (redirect it: mcp h cat <file, mcp h cat < <(printf ...)).
run() {
	timeout -k 5 "${T:-60}" "$@" >"$FIX/out" 2>"$FIX/err"
	RC=$?
	OUT=$(head -c 1M "$FIX/out" | tr -d '\0'); ERR=$(head -c 1M "$FIX/err" | tr -d '\0')
}
mcp()  { run "$SSHMCP" exec "$@"; }
# OpenSSH on the same config. ssh takes ~ from the passwd entry, not $HOME, so it gets -F;
# BatchMode (OSSH_BATCH=no to allow SSH_ASKPASS) and IdentitiesOnly keep it away from prompts
# and from root's real keys.
ossh() { run ssh -F "$SSH_CONFIG" -o BatchMode="${OSSH_BATCH:-yes}" -o IdentitiesOnly=yes "$@"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; false on timeout
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# free_port: a 127.0.0.1 TCP port nobody listens on, found by trying binds
free_port() {
	"$PY" - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
EOF
}

fingerprint() { ssh-keygen -E sha256 -lf "$1" | awk '{print $2}'; }   # PUBFILE → SHA256:...

# remote_pids PATTERN: PIDs of the test user's processes whose command line matches
remote_pids() { pgrep -u "$T_USER" -f "$1" || true; }
kill_marked() { local p; for p in $(remote_pids "$1"); do kill -9 "$p" 2>/dev/null; done; }
# chain_pids SHELL_PID LISTENER_PID: the sshd processes between a remote shell and the listener
chain_pids() {
	local p c=()
	p=$(ps -o ppid= -p "$1" | tr -d ' ')
	while [ -n "$p" ] && [ "$p" != "$2" ] && [ "$p" -gt 1 ]; do
		c+=("$p")
		p=$(ps -o ppid= -p "$p" | tr -d ' ')
	done
	[ "$p" = "$2" ] && echo "${c[@]}"
}
ms() { date +%s%3N; }   # epoch milliseconds
# bg NAME CMD...: CMD in the background; $FIX/NAME.{out,err,rc,end} (end: epoch ms at exit)
bg() {
	local n=$1; shift
	rm -f "$FIX/$n.rc" "$FIX/$n.end"
	( timeout -k 5 90 "$@" >"$FIX/$n.out" 2>"$FIX/$n.err" </dev/null; echo $? >"$FIX/$n.rc"; ms >"$FIX/$n.end" ) &
	_track $!
}
# first_line_pid NAME: bg NAME's output begins with a PID (the remote shell's `echo $$`)
first_line_pid() { head -n 1 "$FIX/$1.out" 2>/dev/null | grep -Eq '^[0-9]+$'; }

# =============================================================== cleanup ===
_track() { _PIDS+=("$1"); }
_kill_tree() {   # PID: TERM its children (a server's sessions) and it; KILL after 3 s
	local pid=$1 c
	kill -0 "$pid" 2>/dev/null || return 0
	for c in $(pgrep -P "$pid" 2>/dev/null); do kill "$c" 2>/dev/null; done
	kill "$pid" 2>/dev/null
	wait_for 3 _gone "$pid" || kill -9 "$pid" 2>/dev/null
}
_gone() { ! kill -0 "$1" 2>/dev/null; }
_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${_PIDS[@]}"; do _kill_tree "$p"; done
	for p in "${_NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
	for p in "${_LINKS[@]}"; do ip link del "$p" 2>/dev/null; done
	for p in "${_CGROUPS[@]}"; do   # whatever is left in it is ours: its processes go first
		[ ! -e "$p/cgroup.kill" ] || echo 1 >"$p/cgroup.kill" 2>/dev/null
		wait_for 3 rmdir "$p" 2>/dev/null
	done
	_untag_user_keys
	[ -z "${_SUDOERS_FILE-}" ] || rm -f "$_SUDOERS_FILE"
	[ -z "${_SUDO_LOCK_FD-}" ] || exec {_SUDO_LOCK_FD}>&-
	if [ -n "${KEEP_FIXTURE-}" ]; then echo "# fixture kept in $FIX"
	elif [ -n "${FIX-}" ] && [ -d "$FIX" ]; then rm -rf "$FIX"; fi
	[ -n "${BENCH-}" ] || echo "# counts $PASS $FAIL"
	[ "$FAIL" -eq 0 ] || exit 1
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ============================================================== fixture ===
[ "$(id -u)" = 0 ] || { echo "Bail out! tests need root (sshd, useradd, netns)"; exit 1; }
FIX=$(mktemp -d /tmp/sshmcp-test.XXXXXX) || exit 1
chmod 755 "$FIX"              # the test user's sshd reads authorized_keys and data from here
export HOME="$FIX/home"
mkdir -p "$HOME/.ssh" "$FIX/keys"
chmod 700 "$HOME/.ssh"
SSH_CONFIG="$HOME/.ssh/config"
KNOWN_HOSTS="$HOME/.ssh/known_hosts"
: >"$KNOWN_HOSTS"
: >"$FIX/aliases"
unset SSH_AUTH_SOCK SSH_AGENT_PID SSHMCP_PASSWORD SSHMCP_PASSPHRASE
export LC_ALL=C.UTF-8
mkdir -p /run/sshd

if [ ! -x "$SSHMCP" ]; then
	echo "Bail out! no sshmcp binary at $SSHMCP (run make, or set SSHMCP=)"
	FAIL=$((FAIL + 1)); exit 1
fi

# The test account: created once, password reset every run (sshd needs a real user).
_setup_user() {
	(
		flock -w 30 9 || exit 1
		id "$T_USER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$T_USER" || exit 1
		echo "$T_USER:$T_PASS" | chpasswd || exit 1
	) 9>"$T_LOCK"
}
_setup_user || die "cannot create test user $T_USER"
T_HOME=$(getent passwd "$T_USER" | cut -d: -f6)

# Client keys, one per format the issue names. authorized_keys (sshd) holds all but KEY_WRONG.
_keygen() {   # FILE ssh-keygen-args...
	local f=$1; shift
	ssh-keygen -q -C "$T_TAG-$(basename "$f")" -f "$f" "$@" </dev/null >/dev/null 2>&1 ||
		die "ssh-keygen $*"
}
KEY_PEMRSA=$FIX/keys/pem_rsa;       _keygen "$KEY_PEMRSA" -m PEM -t rsa -b 2048 -N ''
KEY_PEMECDSA=$FIX/keys/pem_ecdsa;   _keygen "$KEY_PEMECDSA" -m PEM -t ecdsa -b 256 -N ''
KEY_ECDSA=$FIX/keys/id_ecdsa;       _keygen "$KEY_ECDSA" -t ecdsa -b 256 -N ''
KEY_ED25519=$FIX/keys/id_ed25519;   _keygen "$KEY_ED25519" -t ed25519 -N ''
KEY_RSA=$FIX/keys/id_rsa;           _keygen "$KEY_RSA" -t rsa -b 3072 -N ''
KEY_ENC=$FIX/keys/enc_ecdsa;        _keygen "$KEY_ENC" -t ecdsa -b 256 -N "$T_PASSPHRASE"
KEY_ENC_PEM=$FIX/keys/enc_pem_rsa;  _keygen "$KEY_ENC_PEM" -m PEM -t rsa -b 2048 -N "$T_PASSPHRASE"
KEY_WRONG=$FIX/keys/wrong_ecdsa;    _keygen "$KEY_WRONG" -t ecdsa -b 256 -N ''
KEY_DEFAULT=${SSHMCP_TEST_KEY:-$KEY_ECDSA}   # the identity of ssh_alias blocks
AUTHORIZED_KEYS=$FIX/authorized_keys
cat "$KEY_PEMRSA.pub" "$KEY_PEMECDSA.pub" "$KEY_ECDSA.pub" "$KEY_ED25519.pub" "$KEY_RSA.pub" \
	"$KEY_ENC.pub" "$KEY_ENC_PEM.pub" >"$AUTHORIZED_KEYS"
chmod 644 "$AUTHORIZED_KEYS"

# hostkeys_gen DIR: rsa, ecdsa and ed25519 host keys (DIR/ssh_host_TYPE_key[.pub])
hostkeys_gen() {
	local t
	mkdir -p "$1"
	for t in rsa ecdsa ed25519; do
		[ -f "$1/ssh_host_${t}_key" ] ||
			ssh-keygen -q -t "$t" -N '' -C "host-$t" -f "$1/ssh_host_${t}_key" </dev/null >/dev/null ||
			die "host key $t"
	done
}

# ================================================================ servers ===
_export() { printf -v "$1" '%s' "$2"; export "${1?}"; }

# _sshd_config NAME ADDR PORT [lines...]: writes $FIX/NAME.sshd_config. Caller lines come
# first, so they win (sshd keeps the first value); HostKey lines replace the default keys.
_sshd_config() {
	local name=$1 addr=$2 port=$3 keys=() l cfg="$FIX/$1.sshd_config"
	shift 3
	for l in "$@"; do case "$l" in [Hh][Oo][Ss][Tt][Kk][Ee][Yy]\ *) keys+=("${l#* }") ;; esac; done
	if [ "${#keys[@]}" -eq 0 ]; then
		local dir=${SSHD_HOSTKEYS:-$FIX/hostkeys}
		hostkeys_gen "$dir"
		keys=("$dir/ssh_host_ed25519_key" "$dir/ssh_host_ecdsa_key" "$dir/ssh_host_rsa_key")
		set -- "$@" "${keys[@]/#/HostKey }"
	fi
	{
		printf '%s\n' "$@"
		cat <<EOF
ListenAddress $addr
Port $port
PidFile $FIX/$name.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AuthorizedKeysFile $AUTHORIZED_KEYS
StrictModes no
LogLevel DEBUG
PrintMotd no
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp internal-sftp
EOF
	} >"$cfg"
	_export "${name}_HOSTKEYS" "${keys[*]}"
	$SSHD -t -f "$cfg" 2>"$FIX/$name.sshd_t" || die "sshd -t rejects $cfg" "$(cat "$FIX/$name.sshd_t")"
}

# sshd_start NAME [sshd_config lines...]: an OpenSSH server on 127.0.0.1:free port.
# Exports NAME_ADDR NAME_PORT NAME_LOG NAME_PID NAME_HOSTKEYS. SSHD_HOSTKEYS=DIR picks host keys.
sshd_start() {
	local name=$1 port try log="$FIX/$1.sshd.log"
	shift
	for try in 1 2 3 4 5; do
		port=$(free_port)
		[ -n "$port" ] || die "no free port"
		_sshd_config "$name" 127.0.0.1 "$port" "$@"
		: >"$log"
		$SSHD "${SSHD_RUN[@]}" -f "$FIX/$name.sshd_config" -E "$log" &
		local pid=$!
		_track "$pid"
		if wait_for 5 grep -q "Server listening on 127.0.0.1 port $port" "$log" && kill -0 "$pid"; then
			_export "${name}_ADDR" 127.0.0.1; _export "${name}_PORT" "$port"
			_export "${name}_LOG" "$log"; _export "${name}_PID" "$pid"
			return 0
		fi
		_kill_tree "$pid"   # lost the port race, or worse: try again
	done
	die "sshd $name did not start" "$(tail -n 20 "$log")"
}

# sshd10_start NAME [sshd_config lines...]: sshd_start with OpenSSH 10's sshd, which
# tools/deps.sh builds from Debian trixie's openssh source package into build/openssh10 (make
# test builds it first; here it is built if missing). It has no OpenSSL: an Ed25519 host key
# only, and clients log in with $KEY_ED25519.
SSHD10=${SSHD10:-$REPO/build/openssh10/sbin/sshd}
sshd10_start() {
	local name=$1 dir=${SSHD_HOSTKEYS:-$FIX/hostkeys}
	shift
	if [ ! -x "$SSHD10" ]; then
		note "building OpenSSH 10's sshd (once, a few minutes)"
		(flock -w 900 9 && "$REPO/tools/deps.sh" openssh10 "$REPO/build" "${DL_DIR:-$REPO/build/dl}") \
			9>"$REPO/build/.openssh10.lock" >"$FIX/openssh10.log" 2>&1 ||
			die "cannot build OpenSSH 10's sshd" "$(tail -n 20 "$FIX/openssh10.log")"
	fi
	hostkeys_gen "$dir"
	SSHD=$SSHD10 sshd_start "$name" "HostKey $dir/ssh_host_ed25519_key" "$@"
}

# sudo_rules FILE [SPARE...]: install FILE (sudoers syntax) as /etc/sudoers.d/sshmcp-test-PID
# for this run only, once visudo accepts it and every SPARE (rules a scenario swaps in later
# at $SUDOERS). Sets SUDOERS, and MCP_SUDO=1, or 0 with a note when sudo or visudo is missing
# or refuses. The cleanup removes the file.
# sudoers files all apply to $T_USER: one script's rules would answer another's scenarios
# (31-files' NOPASSWD: ALL lets 21's `sudo whoami` through without its question), so the
# scripts that install rules take turns: a lock held from here to the cleanup.
T_SUDO_LOCK=/tmp/.sshmcp-tests-sudo.lock
sudo_rules() {
	local f
	MCP_SUDO=0
	exec {_SUDO_LOCK_FD}>"$T_SUDO_LOCK" && flock -w 500 "$_SUDO_LOCK_FD" ||
		die "another test script held the sudo rules for 500 s"
	# holding the lock, any other script's rules are left over from a run that was killed
	for f in /etc/sudoers.d/sshmcp-test-*; do
		[ -e "$f" ] || continue
		note "removing sudo rules a killed run left behind: $f"
		rm -f "$f"
	done
	SUDOERS=/etc/sudoers.d/sshmcp-test-$$
	if ! command -v sudo >/dev/null || ! command -v visudo >/dev/null; then
		note "no sudo/visudo: the sudo scenarios are skipped"
		return 0
	fi
	for f in "$@"; do
		visudo -cqf "$f" || { note "sudo rules $f rejected by visudo: the sudo scenarios are skipped"; return 0; }
	done
	_SUDOERS_FILE=$SUDOERS
	install -m 0440 -o root -g root "$1" "$SUDOERS" || { note "cannot install $SUDOERS: the sudo scenarios are skipped"; return 0; }
	MCP_SUDO=1
}

# dropbear_start NAME [TYPE...]: a Dropbear server on 127.0.0.1:free port, password and
# pubkey auth, with host keys of the TYPEs (default: ed25519 ecdsa rsa).
# Dropbear only reads ~user/.ssh/authorized_keys: our keys are added there, tagged with
# $T_TAG, and removed again by the cleanup trap.
dropbear_start() {
	local name=$1 dir="$FIX/$1.dbkeys" t port try log="$FIX/$1.dropbear.log" args=() keys=()
	shift
	[ $# -gt 0 ] || set -- ed25519 ecdsa rsa
	mkdir -p "$dir"
	for t in "$@"; do
		timeout 60 dropbearkey -t "$t" -f "$dir/$t" >/dev/null 2>&1 || die "dropbearkey $t"
		timeout 10 dropbearkey -y -f "$dir/$t" 2>/dev/null | grep -E '^(ssh-|ecdsa-)' >"$dir/$t.pub"
		args+=(-r "$dir/$t")
		keys+=("$dir/$t")
	done
	_tag_user_keys
	for try in 1 2 3 4 5; do
		port=$(free_port)
		: >"$log"
		dropbear -F -E -m -w -p "127.0.0.1:$port" -P "$FIX/$name.pid" "${args[@]}" 2>"$log" &
		local pid=$!
		_track "$pid"
		if wait_for 5 nc -z -w 1 127.0.0.1 "$port" && kill -0 "$pid"; then
			_export "${name}_ADDR" 127.0.0.1; _export "${name}_PORT" "$port"
			_export "${name}_LOG" "$log"; _export "${name}_PID" "$pid"
			_export "${name}_HOSTKEYS" "${keys[*]}"
			return 0
		fi
		_kill_tree "$pid"
	done
	die "dropbear $name did not start" "$(tail -n 20 "$log")"
}
_tag_user_keys() {
	[ -z "${_TAGGED-}" ] || return 0
	_TAGGED=1
	(
		flock -w 30 9 || exit 1
		install -d -m 700 -o "$T_USER" -g "$T_USER" "$T_HOME/.ssh"
		cat "$AUTHORIZED_KEYS" >>"$T_HOME/.ssh/authorized_keys"
		chown "$T_USER:$T_USER" "$T_HOME/.ssh/authorized_keys"
		chmod 600 "$T_HOME/.ssh/authorized_keys"
	) 9>"$T_LOCK" || die "cannot install keys for $T_USER"
}
_untag_user_keys() {
	[ -n "${_TAGGED-}" ] || return 0
	(
		flock -w 30 9 || exit 1
		sed -i "/ $T_TAG-/d" "$T_HOME/.ssh/authorized_keys"
		[ -s "$T_HOME/.ssh/authorized_keys" ] || rm -f "$T_HOME/.ssh/authorized_keys"
	) 9>"$T_LOCK"
}

# netns_start NAME [sshd_config lines...]: a network namespace joined to the host by a veth
# pair on a private /30 (host 10.251.X.4n+1, namespace 10.251.X.4n+2), lo up inside, and an
# sshd inside on NAME_ADDR port 22. Exports NAME_ADDR NAME_PORT NAME_NS NAME_LOG NAME_PID.
netns_start() {
	local name=$1 n=$_NETNS_COUNT x ns hv nv log="$FIX/$1.sshd.log"
	shift
	_NETNS_COUNT=$((n + 1))
	[ "$n" -lt 60 ] || die "too many namespaces"
	if [ -z "${_NET_X-}" ]; then   # a 10.251.X.0/24 no other run uses
		x=$(($$ % 250 + 1))
		while ip -4 addr show | grep -q "inet 10\.251\.$x\."; do x=$((x % 250 + 1)); done
		_NET_X=$x
	fi
	ns="sshmcp-$$-$n" hv="smh$$x$n" nv="smn$$x$n"
	local host_ip="10.251.$_NET_X.$((4 * n + 1))" ns_ip="10.251.$_NET_X.$((4 * n + 2))"
	ip netns add "$ns" || die "ip netns add $ns"
	_NETNS+=("$ns")
	ip link add "$hv" type veth peer name "$nv" || die "veth $hv"
	_LINKS+=("$hv")
	ip link set "$nv" netns "$ns" &&
		ip addr add "$host_ip/30" dev "$hv" && ip link set "$hv" up &&
		ip netns exec "$ns" ip addr add "$ns_ip/30" dev "$nv" &&
		ip netns exec "$ns" ip link set "$nv" up &&
		ip netns exec "$ns" ip link set lo up || die "netns $ns addressing"
	_sshd_config "$name" "$ns_ip" 22 "$@"
	: >"$log"
	ip netns exec "$ns" $SSHD "${SSHD_RUN[@]}" -f "$FIX/$name.sshd_config" -E "$log" &
	local pid=$!     # ip netns exec execs sshd: this is sshd's PID
	_track "$pid"
	wait_for 5 grep -q "Server listening on $ns_ip port 22" "$log" ||
		die "sshd in $ns did not start" "$(tail -n 20 "$log")"
	_export "${name}_ADDR" "$ns_ip"; _export "${name}_PORT" 22; _export "${name}_NS" "$ns"
	_export "${name}_LOG" "$log"; _export "${name}_PID" "$pid"
}

# ========================================================= client config ===
# known_hosts_for NAME [TYPE...]: known_hosts lines for server NAME's host keys (all, or only
# the types given: ed25519 ecdsa rsa), "[127.0.0.1]:PORT type base64", or "ADDR ..." on port 22.
known_hosts_for() {
	local name=$1 addr port host k t keys
	shift
	addr=${name}_ADDR port=${name}_PORT keys=${name}_HOSTKEYS
	addr=${!addr} port=${!port}
	if [ "$port" = 22 ]; then host=$addr; else host="[$addr]:$port"; fi
	for k in ${!keys}; do
		if [ $# -gt 0 ]; then
			local want=0
			for t in "$@"; do case "$(basename "$k")" in *"$t"*) want=1 ;; esac; done
			[ "$want" = 1 ] || continue
		fi
		awk -v h="$host" '{print h, $1, $2}' "$k.pub"
	done
}
# host_pub NAME TYPE: the .pub file of server NAME's host key of TYPE
host_pub() {
	local keys=${1}_HOSTKEYS k
	for k in ${!keys}; do case "$(basename "$k")" in *"$2"*) echo "$k.pub"; return ;; esac; done
}
# log_mark NAME / log_since NAME: what server NAME logged since the mark
log_mark()  { local l=${1}_LOG; _LOGMARK=$(wc -l <"${!l}"); }
log_since() { local l=${1}_LOG; tail -n +"$((_LOGMARK + 1))" "${!l}"; }

trust() { known_hosts_for "$@" >>"$KNOWN_HOSTS"; }   # trust NAME: add its keys to known_hosts

# ssh_alias ALIAS NAME [ssh_config lines...]: a Host block in $HOME/.ssh/config for server
# NAME (HostName, Port, User $T_USER, IdentityFile $KEY_DEFAULT). Caller lines come first and
# so win; an IdentityFile line replaces the default identity, and the line "#noidentity" (a
# comment to ssh) drops it: then only the agent, default identities or a password remain.
ssh_alias() {
	local alias=$1 name=$2 l idf=1 addr port
	shift 2
	addr=${name}_ADDR port=${name}_PORT
	for l in "$@"; do case "$l" in [Ii]dentity[Ff]ile*|'#noidentity') idf=0 ;; esac; done
	{
		echo "Host $alias"
		printf '  %s\n' "$@"
		echo "  HostName ${!addr}"
		echo "  Port ${!port}"
		echo "  User $T_USER"
		[ "$idf" = 0 ] || echo "  IdentityFile $KEY_DEFAULT"
		echo
	} >>"$FIX/aliases"
	_write_ssh_config
}
# ssh_config_raw TEXT: append TEXT (whole blocks) to the config, before the final Host *
# serve_raw [serve args...] <SCRIPT: tests/mcp/raw.py against `sshmcp serve`; responses in
# $FIX/out ("ID json" lines), the server's stderr in $FIX/err
serve_raw() { T=${T:-120} run "$PY" "$TESTS_DIR/mcp/raw.py" -- "$SSHMCP" serve "$@"; }
# jget ID PYEXPR: evaluate PYEXPR on response ID in $FIX/out (r: the message, sc: its
# structuredContent, err: the tool error's code or the JSON-RPC error's message)
jget() {
	"$PY" - "$FIX/out" "$1" "$2" <<'PYEOF'
import json, sys
r = None
for line in open(sys.argv[1], errors='replace'):
    rid, _, js = line.rstrip('\n').partition(' ')
    if rid == sys.argv[2]:
        r = json.loads(js)
        break
res = (r or {}).get('result') or {}
sc = res.get('structuredContent') or {}
err = ((sc.get('error') or {}).get('code')) or ((r or {}).get('error') or {}).get('message')
try:
    v = eval(sys.argv[3])
except Exception as e:
    v = 'EVAL-ERROR ' + repr(e)
print(v if isinstance(v, str) else json.dumps(v))
PYEOF
}

ssh_config_raw() { printf '%s\n\n' "$1" >>"$FIX/aliases"; _write_ssh_config; }
_write_ssh_config() {
	{
		cat "$FIX/aliases"
		echo "Host *"
		echo "  UserKnownHostsFile $KNOWN_HOSTS"
	} >"$SSH_CONFIG"
}
_write_ssh_config

# askpass_for PASSWORD: an SSH_ASKPASS script, to give OpenSSH a password non-interactively
askpass_for() {
	local f="$FIX/askpass.$RANDOM"
	printf '#!/bin/sh\nprintf "%%s\\n" %q\n' "$1" >"$f"
	chmod 700 "$f"
	echo "$f"
}

# agent_start: an ssh-agent on $FIX/agent.sock (AGENT_SOCK), killed by PID in cleanup.
# Not exported as SSH_AUTH_SOCK: a test says when it wants the agent.
agent_start() {
	AGENT_SOCK=$FIX/agent.sock
	ssh-agent -D -a "$AGENT_SOCK" >/dev/null 2>&1 &
	_track $!
	wait_for 5 test -S "$AGENT_SOCK" || die "ssh-agent did not start"
}
agent_add() { SSH_AUTH_SOCK=$AGENT_SOCK timeout 10 ssh-add -q "$@" >/dev/null 2>&1 || die "ssh-add $*"; }
agent_clear() { SSH_AUTH_SOCK=$AGENT_SOCK timeout 10 ssh-add -q -D >/dev/null 2>&1; }
