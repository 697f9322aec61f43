#!/bin/bash
# bench/handshake.sh — handshake cost per key exchange / host key pair: for each pair an sshd
# limited to it, then `sshmcp exec h true` against `ssh h true`, same Ed25519 user key,
# interleaved, RUNS (default 20) timed runs each after one warm-up. Prints one row per pair:
# medians and minimums of the wall time, the median client CPU time (user + system), and the
# ratio sshmcp/ssh. The post-quantum hybrids run against OpenSSH 10's sshd when the machine's
# is older (tools/deps.sh openssh10, as tests/09-pq-kex.sh), where this machine's ssh may not
# follow (mlkem768x25519 needs OpenSSH 9.9): its columns then read "-". PAIRS (default all:
# "P1 P2 P3 P4 P5 P6 P7") picks rows by name; P5-P7 build OpenSSH 10's sshd first if missing.
# Not a test: no thresholds.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-20}
PAIRS=${PAIRS:-P1 P2 P3 P4 P5 P6 P7}

hostkeys_gen "$FIX/hk"
ssh-keygen -q -t rsa -b 3072 -N '' -C host-rsa3072 -f "$FIX/hk/ssh_host_rsa3072_key" </dev/null >/dev/null ||
	die "rsa 3072 host key"
SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)
# the kex names this machine's sshd and ssh know
SSHD_KEX=$("$SSHD" -T -f /dev/null 2>/dev/null | sed -n 's/^kexalgorithms //p')
SSH_KEX=$(ssh -Q kex 2>/dev/null)

# NAME|kex|host key algorithm|host key file|server: "10" for OpenSSH 10's sshd, else the
# machine's (or OpenSSH 10's, for a kex the machine's sshd lacks)
pairs=(
	"P1|curve25519-sha256|ssh-ed25519|$FIX/hk/ssh_host_ed25519_key|"
	"P2|ecdh-sha2-nistp256|ecdsa-sha2-nistp256|$FIX/hk/ssh_host_ecdsa_key|"
	"P3|curve25519-sha256|rsa-sha2-512|$FIX/hk/ssh_host_rsa3072_key|"
	"P4|sntrup761x25519-sha512@openssh.com|ssh-ed25519|$FIX/hk/ssh_host_ed25519_key|"
	"P5|curve25519-sha256|ssh-ed25519|$FIX/hk/ssh_host_ed25519_key|10"
	"P6|mlkem768x25519-sha256|ssh-ed25519|$FIX/hk/ssh_host_ed25519_key|10"
	"P7|sntrup761x25519-sha512|ssh-ed25519|$FIX/hk/ssh_host_ed25519_key|10"
)
rows=()
for p in "${pairs[@]}"; do
	IFS='|' read -r name kex hk key server <<<"$p"
	case " $PAIRS " in *" $name "*) ;; *) continue ;; esac
	# the fixture's DEBUG logging would weigh on both sides
	conf=("LogLevel INFO" "HostKey $key" "KexAlgorithms $kex" "HostKeyAlgorithms $hk")
	if [ "$server" != 10 ] && printf '%s\n' "$SSHD_KEX" | tr ',' '\n' | grep -qx -- "$kex"; then
		sshd_start "$name" "${conf[@]}"
		server=$("$SSHD" -V 2>&1 | sed -n 's/^OpenSSH_\([0-9.]*\).*/\1/p')
	else
		SSHD_HOSTKEYS=$FIX/hk sshd10_start "$name" "${conf[@]}"
		server=10
	fi
	trust "$name"
	ssh_alias "h$name" "$name" "IdentityFile $KEY_ED25519"
	# check both negotiate the pair (and show the cipher), then warm up
	got=$("$SSHMCP" exec -v "h$name" true 2>&1 </dev/null | grep -m 1 -o 'kex: .*')
	case "$got" in "kex: $kex, host key: $hk,"*) ;; *) die "sshmcp did not negotiate $kex/$hk" "$got" ;; esac
	mcipher=$(printf '%s' "$got" | grep -o 'cipher: [^,]*')
	with_ssh=0 scipher="cipher: -"
	if printf '%s\n' "$SSH_KEX" | grep -qx -- "$kex"; then
		with_ssh=1
		sgot=$("${SSH[@]}" -v "h$name" true 2>&1 </dev/null)
		if ! printf '%s' "$sgot" | grep -q "kex: algorithm: $kex" ||
			! printf '%s' "$sgot" | grep -q "kex: host key algorithm: $hk"; then
			die "ssh did not negotiate $kex/$hk" "$(printf '%s' "$sgot" | grep 'kex:')"
		fi
		scipher=$(printf '%s' "$sgot" | grep -m 1 -o 'cipher: [^ ]*')
		time_one "${SSH[@]}" "h$name" true >/dev/null
	fi
	time_one "$SSHMCP" exec "h$name" true >/dev/null
	: >"$FIX/$name.mcp"; : >"$FIX/$name.ssh"
	for _ in $(seq "$RUNS"); do
		time_cpu_one "$SSHMCP" exec "h$name" true >>"$FIX/$name.mcp"
		[ "$with_ssh" = 0 ] || time_cpu_one "${SSH[@]}" "h$name" true >>"$FIX/$name.ssh"
	done
	m=$(cut -d' ' -f1 "$FIX/$name.mcp" | median) mm=$(cut -d' ' -f1 "$FIX/$name.mcp" | sort -n | head -n 1)
	mc=$(cut -d' ' -f2 "$FIX/$name.mcp" | median)
	if [ "$with_ssh" = 1 ]; then
		s=$(cut -d' ' -f1 "$FIX/$name.ssh" | median) ms=$(cut -d' ' -f1 "$FIX/$name.ssh" | sort -n | head -n 1)
		sc=$(cut -d' ' -f2 "$FIX/$name.ssh" | median)
		s=$(printf '%.1f' "$s") ms=$(printf '%.1f' "$ms") sc=$(printf '%.1f' "$sc")
		ratio=$(awk -v a="$m" -v b="$s" 'BEGIN { printf "%.2f", a / b }')
	else
		s=- ms=- sc=- ratio=-
	fi
	hkbits=$(ssh-keygen -lf "$key.pub" | awk '{print $1}')
	rows+=("$(printf '%-34s %-26s %-6s %7.1f %7.1f %6.1f %7s %7s %6s %6s   %s / %s' "$kex" \
		"$hk ($hkbits)" "$server" "$m" "$mm" "$mc" "$s" "$ms" "$sc" "$ratio" "${mcipher#cipher: }" \
		"${scipher#cipher: }")")
	pid=${name}_PID; _kill_tree "${!pid}"   # one server at a time
done

echo "handshake + exec true: $RUNS runs each, interleaved, user key ed25519, local $(ssh -V 2>&1 | cut -d, -f1)"
printf '%-34s %-26s %-6s %7s %7s %6s %7s %7s %6s %6s   %s\n' kex "host key (bits)" sshd "sshmcp" \
	"min" "cpu" "ssh" "min" "cpu" ratio "cipher sshmcp / ssh"
printf '%-34s %-26s %-6s %7s %7s %6s %7s %7s %6s %6s\n' "" "" "" "med ms" "ms" "ms" "med ms" "ms" \
	"ms" "m/s"
printf '%s\n' "${rows[@]}"
