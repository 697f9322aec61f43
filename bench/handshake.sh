#!/bin/bash
# bench/handshake.sh — handshake cost per key exchange / host key pair: for each pair an sshd
# limited to it, then `sshmcp exec h true` against `ssh h true`, same Ed25519 user key,
# interleaved, RUNS (default 20) timed runs each after one warm-up. Prints one row per pair:
# medians, minimums and the ratio sshmcp/ssh. Not a test: no thresholds.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-20}

hostkeys_gen "$FIX/hk"
ssh-keygen -q -t rsa -b 3072 -N '' -C host-rsa3072 -f "$FIX/hk/ssh_host_rsa3072_key" </dev/null >/dev/null ||
	die "rsa 3072 host key"
SSH=(ssh -F "$SSH_CONFIG" -o BatchMode=yes -o IdentitiesOnly=yes)

# NAME|kex|host key algorithm|host key file
pairs=(
	"P1|curve25519-sha256|ssh-ed25519|$FIX/hk/ssh_host_ed25519_key"
	"P2|ecdh-sha2-nistp256|ecdsa-sha2-nistp256|$FIX/hk/ssh_host_ecdsa_key"
	"P3|curve25519-sha256|rsa-sha2-512|$FIX/hk/ssh_host_rsa3072_key"
)
rows=()
for p in "${pairs[@]}"; do
	IFS='|' read -r name kex hk key <<<"$p"
	# the fixture's DEBUG logging would weigh on both sides
	sshd_start "$name" "LogLevel INFO" "HostKey $key" "KexAlgorithms $kex" "HostKeyAlgorithms $hk"
	trust "$name"
	ssh_alias "h$name" "$name" "IdentityFile $KEY_ED25519"
	# check both negotiate the pair (and show the cipher), then warm up
	got=$("$SSHMCP" exec -v "h$name" true 2>&1 </dev/null | grep -m 1 -o 'kex: .*')
	case "$got" in "kex: $kex, host key: $hk,"*) ;; *) die "sshmcp did not negotiate $kex/$hk" "$got" ;; esac
	sgot=$("${SSH[@]}" -v "h$name" true 2>&1 </dev/null)
	if ! printf '%s' "$sgot" | grep -q "kex: algorithm: $kex" ||
		! printf '%s' "$sgot" | grep -q "kex: host key algorithm: $hk"; then
		die "ssh did not negotiate $kex/$hk" "$(printf '%s' "$sgot" | grep 'kex:')"
	fi
	scipher=$(printf '%s' "$sgot" | grep -m 1 -o 'cipher: [^ ]*')
	mcipher=$(printf '%s' "$got" | grep -o 'cipher: [^,]*')
	time_one "$SSHMCP" exec "h$name" true >/dev/null
	time_one "${SSH[@]}" "h$name" true >/dev/null
	: >"$FIX/$name.mcp.ms"; : >"$FIX/$name.ssh.ms"
	for _ in $(seq "$RUNS"); do
		time_one "$SSHMCP" exec "h$name" true >>"$FIX/$name.mcp.ms"
		time_one "${SSH[@]}" "h$name" true >>"$FIX/$name.ssh.ms"
	done
	m=$(median <"$FIX/$name.mcp.ms") s=$(median <"$FIX/$name.ssh.ms")
	mm=$(sort -n "$FIX/$name.mcp.ms" | head -n 1) ms=$(sort -n "$FIX/$name.ssh.ms" | head -n 1)
	hkbits=$(ssh-keygen -lf "$key.pub" | awk '{print $1}')
	rows+=("$(printf '%-20s %-26s %8.1f %8.1f %8.1f %8.1f %6.2f   %s / %s' "$kex" "$hk ($hkbits)" \
		"$m" "$mm" "$s" "$ms" "$(awk -v a="$m" -v b="$s" 'BEGIN { print a / b }')" \
		"${mcipher#cipher: }" "${scipher#cipher: }")")
	pid=${name}_PID; _kill_tree "${!pid}"   # one server at a time
done

echo "handshake + exec true: $RUNS runs each, interleaved, user key ed25519, local $(ssh -V 2>&1 | cut -d, -f1)"
printf '%-20s %-26s %8s %8s %8s %8s %6s   %s\n' kex "host key (bits)" "sshmcp" "min" "ssh" "min" ratio "cipher sshmcp / ssh"
printf '%-20s %-26s %8s %8s %8s %8s %6s\n' "" "" "med ms" "ms" "med ms" "ms" "m/s"
printf '%s\n' "${rows[@]}"
