#!/bin/bash
# 27-update-hostkeys: UpdateHostKeys beside ssh. A server rotating its host keys announces
# all of them after login (hostkeys-00@openssh.com); keys not yet known are proved by the
# server (hostkeys-prove-00@openssh.com) and learned, keys it dropped are removed, and where
# ssh would leave known_hosts alone (wildcards, markers, keys under other names, a key found
# through a global file or KnownHostsCommand, accept-new) sshmcp leaves it alone too. Each
# case gives ssh and sshmcp the same known_hosts file; both must leave it the same.
. "$(dirname "$0")/lib.sh"

sshd_start A
ssh_alias upd A
H="[127.0.0.1]:$A_PORT"
for k in ed25519 ecdsa rsa; do
	declare "KEY_$k=$(awk '{print $1, $2}' "$(host_pub A "$k")")"
done
_keygen "$FIX/old_ed25519" -t ed25519 -N ''
_keygen "$FIX/old_ecdsa" -t ecdsa -b 256 -N ''
OLD_ed25519=$(awk '{print $1, $2}' "$FIX/old_ed25519.pub")
OLD_ecdsa=$(awk '{print $1, $2}' "$FIX/old_ecdsa.pub")

# upd NAME CONTENT [options...]: CONTENT as known_hosts for ssh and for sshmcp, one
# connection each with UpdateHostKeys=yes (options first: they win); both files
# and whether a FILE.old was left must agree.
upd() {
	local name=$1 content=$2
	shift 2
	printf '%s' "$content" >"$FIX/$name.ssh"
	printf '%s' "$content" >"$FIX/$name.mcp"
	ossh "$@" -o UpdateHostKeys=yes -o HashKnownHosts=no -o UserKnownHostsFile="$FIX/$name.ssh" \
		upd echo RAN
	check_eq "$RC:$OUT" "0:RAN" "$name: ssh ran the command"
	mcp "$@" -o UpdateHostKeys=yes -o HashKnownHosts=no -o UserKnownHostsFile="$FIX/$name.mcp" \
		upd echo RAN
	check_eq "$RC:$OUT" "0:RAN" "$name: sshmcp ran the command (exit 0, stdout alone)"
	check_eq "$(cat "$FIX/$name.mcp")" "$(cat "$FIX/$name.ssh")" "$name: known_hosts as ssh left it"
	check_eq "$([ -e "$FIX/$name.mcp.old" ] && cat "$FIX/$name.mcp.old")" \
		"$([ -e "$FIX/$name.ssh.old" ] && cat "$FIX/$name.ssh.old")" "$name: FILE.old as ssh left it"
}
lines() { grep -c . "$1" 2>/dev/null || true; }

# --- the server's other keys are learned, in its order, after the ones kept
upd learn "$H $KEY_ed25519"$'\n'
check_eq "$(lines "$FIX/learn.mcp")" 3 "learn: the three host keys are known now"
check_eq "$(cat "$FIX/learn.mcp.old" 2>/dev/null)" "$H $KEY_ed25519" "learn: the old file is kept as known_hosts.old"
mcp -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$FIX/learn.mcp" \
	-o HostKeyAlgorithms=ecdsa-sha2-nistp256 upd echo ECDSA
check_eq "$RC:$OUT" "0:ECDSA" "learn: a learned key is trusted at the next connection"
ossh -v -o UpdateHostKeys=yes -o UserKnownHostsFile="$FIX/learn.ssh2" -o StrictHostKeyChecking=no \
	upd true >/dev/null
printf '%s\n' "$H $KEY_ed25519" >"$FIX/learn.ssh2"
ossh -v -o UpdateHostKeys=yes -o HashKnownHosts=no -o UserKnownHostsFile="$FIX/learn.ssh2" upd true
SSH_LEARNED=$(tr -d '\r' <"$FIX/err" | grep -E '^(Learned new hostkey|Adding new key)' | sort)
printf '%s\n' "$H $KEY_ed25519" >"$FIX/learn.mcp2"
mcp -v -o UpdateHostKeys=yes -o HashKnownHosts=no -o UserKnownHostsFile="$FIX/learn.mcp2" upd true
check_eq "$(sed -n 's/^debug1: //p' "$FIX/err" | grep -E '^(Learned new hostkey|Adding new key)' |
	sed "s|$FIX/learn.mcp2|$FIX/learn.ssh2|" | sort)" "$SSH_LEARNED" "-v: what was learned and added, as ssh -v says it"

# --- keys the server dropped go; comments, blank, foreign and malformed lines stay as they are
upd obsolete "# my hosts"$'\n\n'"$H $KEY_ed25519"$'\n'"$H $OLD_ecdsa"$'\n'"other.example $OLD_ed25519"$'\n'"not a key line"$'\n'"$H ssh-ed25519"$'\n'
check_contains "$(cat "$FIX/obsolete.mcp")" "$H $KEY_ecdsa" "obsolete: the new ECDSA key replaced the old one"
check_not_contains "$(cat "$FIX/obsolete.mcp")" "$H $OLD_ecdsa" "obsolete: the old ECDSA key is gone"
upd removal "$H $KEY_ed25519"$'\n'"$H $KEY_ecdsa"$'\n'"$H $OLD_ed25519"$'\n'"$H $KEY_rsa"$'\n'
check_eq "$(lines "$FIX/removal.mcp")" 3 "removal: only the dropped key went (no proof needed)"
upd known "$H $KEY_ed25519"$'\n'"$H $KEY_ecdsa"$'\n'"$H $KEY_rsa"
check_eq "$(ls "$FIX"/known.mcp.old 2>/dev/null)" "" "known: nothing to do, nothing rewritten"
upd nonewline "$H $KEY_ed25519"

# --- where ssh leaves the file alone
upd wildcard "[127.0.0.1]:* $KEY_ed25519"$'\n'
upd namelist "$H,127.0.0.2,127.0.0.3 $KEY_ed25519"$'\n'
upd marker "$H $KEY_ed25519"$'\n'"@cert-authority $H $OLD_ed25519"$'\n'
upd othername "$H $KEY_ed25519"$'\n'"other.example $KEY_ecdsa"$'\n'
upd oldelsewhere "$H $KEY_ed25519"$'\n'"$H $OLD_ecdsa"$'\n'"other.example $OLD_ecdsa"$'\n'
upd off "$H $KEY_ed25519"$'\n' -o UpdateHostKeys=no
upd ask "$H $KEY_ed25519"$'\n' -o UpdateHostKeys=ask
check_eq "$(lines "$FIX/off.mcp"):$(lines "$FIX/ask.mcp")" "1:1" "UpdateHostKeys no / ask (nobody to ask): one key still"
upd accept "" -o StrictHostKeyChecking=accept-new
check_eq "$(lines "$FIX/accept.mcp")" 1 "accept-new: only the key the exchange used, as ssh"

# --- HostKeyAlgorithms limits what is learned; an RSA exchange proves the others too
upd algs "$H $KEY_ed25519"$'\n' -o HostKeyAlgorithms=ssh-ed25519,ecdsa-sha2-nistp256
check_eq "$(lines "$FIX/algs.mcp")" 2 "HostKeyAlgorithms without RSA: the RSA key is not learned"
upd rsakex "$H $KEY_rsa"$'\n' -o HostKeyAlgorithms=rsa-sha2-512,ssh-ed25519,ecdsa-sha2-nistp256
check_eq "$(lines "$FIX/rsakex.mcp")" 3 "an rsa-sha2-512 exchange: the Ed25519 and ECDSA keys proved and learned"

# --- HashKnownHosts: new lines hashed, the kept line as it was
printf '%s\n' "$H $KEY_ed25519" >"$FIX/hashed.mcp"
mcp -o UpdateHostKeys=yes -o HashKnownHosts=yes -o UserKnownHostsFile="$FIX/hashed.mcp" upd true
check_eq "$(head -n 1 "$FIX/hashed.mcp")" "$H $KEY_ed25519" "HashKnownHosts: the known line kept as it was"
check_eq "$(tail -n +2 "$FIX/hashed.mcp" | cut -c1-3 | sort -u)" "|1|" "HashKnownHosts: the learned lines are hashed"
check_eq "$(ssh-keygen -F "$H" -f "$FIX/hashed.mcp" | grep -vc '^#')" 3 "HashKnownHosts: ssh-keygen -F finds all three keys"

# --- two user files: keys are added to the first, the host's stale lines leave the second
printf '%s\n' "$H $KEY_ed25519" | tee "$FIX/two1.ssh" >"$FIX/two1.mcp"
printf '%s\n' "# second" "$H $OLD_ecdsa" | tee "$FIX/two2.ssh" >"$FIX/two2.mcp"
ossh -o UpdateHostKeys=yes -o HashKnownHosts=no -o UserKnownHostsFile="$FIX/two1.ssh $FIX/two2.ssh" upd true
mcp -o UpdateHostKeys=yes -o HashKnownHosts=no -o UserKnownHostsFile="$FIX/two1.mcp $FIX/two2.mcp" upd true
check_eq "$(cat "$FIX/two1.mcp")" "$(cat "$FIX/two1.ssh")" "two user files: the first as ssh left it"
check_eq "$(cat "$FIX/two2.mcp")" "$(cat "$FIX/two2.ssh")" "two user files: the second as ssh left it"

# --- a key found in GlobalKnownHostsFile or through KnownHostsCommand: no update
printf '%s\n' "$H $KEY_ed25519" >"$FIX/global"
upd global "" -o GlobalKnownHostsFile="$FIX/global"
check_eq "$(cat "$FIX/global.mcp")" "" "GlobalKnownHostsFile: the user file is left empty"
printf '#!/bin/sh\necho "%s"\n' "$H $KEY_ed25519" >"$FIX/khc.sh"
chmod +x "$FIX/khc.sh"
upd khcommand "" -o KnownHostsCommand="$FIX/khc.sh"

# --- a server that announces nothing (dropbear): the file stays, the command runs
dropbear_start D
ssh_alias dbupd D
printf '%s\n' "$(known_hosts_for D ed25519)" >"$FIX/dropbear.mcp"
mcp -o UpdateHostKeys=yes -o UserKnownHostsFile="$FIX/dropbear.mcp" -o HostKeyAlgorithms=ssh-ed25519 dbupd echo RAN
check_eq "$RC:$OUT:$(lines "$FIX/dropbear.mcp")" "0:RAN:1" "dropbear (no announcement): exit 0, known_hosts untouched"

# --- serve: a shell session learns the keys as exec does
printf '%s\n' "$H $KEY_ed25519" >"$FIX/serve.kh"
ssh_alias supd A "UserKnownHostsFile $FIX/serve.kh" "UpdateHostKeys yes" "HashKnownHosts no"
serve_raw <<'EOF'
call 1 execute_command {"host":"supd","command":"echo SERVED"}
EOF
check_eq "$(jget 1 'sc.get("output","").strip()')" "SERVED" "serve: the command ran"
check_eq "$(lines "$FIX/serve.kh")" 3 "serve: the session learned the server's other keys"

# --- -G as ssh -G
for o in "" "-oUpdateHostKeys=ask" "-oUpdateHostKeys=no" "-oUpdateHostKeys=yes"; do
	run ssh -F "$SSH_CONFIG" -G $o upd
	want=$(grep '^updatehostkeys ' "$FIX/out")
	mcp -G $o upd
	check_eq "$(grep '^updatehostkeys ' "$FIX/out")" "$want" "-G ${o:-(UserKnownHostsFile set)}: $want"
done
printf 'Host plain\n  HostName 127.0.0.1\n' >"$FIX/plain.conf"
run ssh -F "$FIX/plain.conf" -G plain
want=$(grep '^updatehostkeys ' "$FIX/out")
mcp -F "$FIX/plain.conf" -G plain
check_eq "$(grep '^updatehostkeys ' "$FIX/out")" "$want" "-G with the default known_hosts: $want"

# --- a server whose rotation lies (tests/hostile/hostkeys.py): only a true proof teaches a
# key; a bad one, by the wrong key, refused, missing, trailed by junk, a key announced twice,
# a malformed list: known_hosts stays as it was, the command runs, exit 0 — as with ssh
if "$PY" -c 'import paramiko' 2>/dev/null; then
	_keygen "$FIX/hx_host" -t ed25519 -N ''
	_keygen "$FIX/hx_new" -t ed25519 -N ''
	"$PY" "$TESTS_DIR/hostile/hostkeys.py" "$FIX/hx.port" "$FIX/hx_host" "$FIX/hx_new" \
		>"$FIX/hx.log" 2>&1 &
	_track $!
	wait_for 10 test -s "$FIX/hx.port" || die "hostkeys.py did not start" "$(cat "$FIX/hx.log")"
	HX_PORT=$(cat "$FIX/hx.port")
	HX_LINE="[127.0.0.1]:$HX_PORT $(awk '{print $1, $2}' "$FIX/hx_host.pub")"
	NEW_LINE="[127.0.0.1]:$HX_PORT $(awk '{print $1, $2}' "$FIX/hx_new.pub")"
	for c in hk_good hk_badsig hk_wrongkey hk_refuse hk_short hk_extra hk_dup hk_malformed; do
		ssh_config_raw "Host $c
  HostName 127.0.0.1
  Port $HX_PORT
  User $c
  IdentityFile $KEY_ED25519
  UpdateHostKeys yes
  HashKnownHosts no"
		printf '%s\n' "$HX_LINE" | tee "$FIX/$c.ssh" >"$FIX/$c.mcp"
		ossh -o UserKnownHostsFile="$FIX/$c.ssh" "$c" true
		mcp -o UserKnownHostsFile="$FIX/$c.mcp" "$c" true
		check_eq "$RC:$OUT" "0:RAN" "$c: the command ran, exit 0"
		check_eq "$(cat "$FIX/$c.mcp")" "$(cat "$FIX/$c.ssh")" "$c: known_hosts as ssh left it"
		if [ "$c" = hk_good ]; then
			check_eq "$(cat "$FIX/$c.mcp")" "$HX_LINE"$'\n'"$NEW_LINE" "$c: the proved key is learned"
		else
			check_eq "$(cat "$FIX/$c.mcp")" "$HX_LINE" "$c: nothing learned"
		fi
	done
	mcp -o UserKnownHostsFile="$FIX/hk_badsig.mcp" hk_badsig true
	check_contains "$ERR" "server gave bad signature for ED25519 key 1" "hk_badsig: said on stderr, as ssh says it"
	mcp -o UserKnownHostsFile="$FIX/hk_refuse.mcp" hk_refuse true
	check_contains "$ERR" "Server failed to confirm ownership of private host keys" "hk_refuse: said on stderr, as ssh says it"
else
	note "python3-paramiko is missing (apt-get install -y python3-paramiko): lying servers skipped"
fi
