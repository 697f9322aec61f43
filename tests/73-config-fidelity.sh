#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 73-config-fidelity: a user's own ssh_config and ssh options work in sshmcp exec as in
# OpenSSH's ssh, side by side on the same sshd: comments where ssh allows them, SetEnv's
# first-wins rules as the server sees them, ssh://…/, the address family and the local
# address the connection leaves from (-4 -6 -b -B, AddressFamily, BindAddress, BindInterface).
. "$(dirname "$0")/lib.sh"

sshd_start MAIN "AcceptEnv A B C Z CLI LATER" "ListenAddress ::1"
trust MAIN

# --- a whole config with comments, blank lines, '=' forms and tabs: ssh and sshmcp both run
ssh_config_raw "# a user's config, as people write them

Host cm cm-other # two names, then a comment
	HostName	127.0.0.1 # tab separated
  Port=$MAIN_PORT   # '=' form
  User = $T_USER #trailing comment
  IdentityFile \"$KEY_DEFAULT\" # quoted

Match host cm-match # a comment after Match
  HostName 127.0.0.1
  Port $MAIN_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT
  SetEnv A=1 'B=two words' # C=3
"
for h in cm cm-other cm-match; do
	ossh "$h" 'echo "$USER [${A-}] [${B-}] [${C-unset}]"'; want="$RC:$OUT"
	mcp "$h" 'echo "$USER [${A-}] [${B-}] [${C-unset}]"'
	check_eq "$RC:$OUT" "$want" "a config commented as ssh allows: $h runs as with ssh ($want)"
done
check_eq "$OUT" "$T_USER [1] [two words] [unset]" "Match host … # comment: its block applies, quoted SetEnv whole, commented item not sent"

# --- SetEnv: the first line wins, and in it the first of each name (command line first)
ssh_alias se MAIN "SetEnv Z=config A=config"
envcmd='env | grep -E "^(A|B|Z|CLI|LATER)=" | sort | tr "\n" " "'
for args in '-oSetEnv=A=1 A=11 B=2' '-oSetEnv=CLI=1 A=1|-oSetEnv=LATER=2' '-oSetEnv=B=x'; do
	IFS='|' read -r -a opts <<<"$args"
	ossh "${opts[@]}" se "$envcmd"; want="$RC:$OUT"
	mcp "${opts[@]}" se "$envcmd"
	check_eq "$RC:$OUT" "$want" "SetEnv ${args//|/ }: the server sees what ssh's sees ($want)"
done
mcp -oSetEnv="A=1 A=11 B=2" se "$envcmd"
check_eq "$OUT" "A=1 B=2 " "-oSetEnv=\"A=1 A=11 B=2\": A=1 once, and the config's SetEnv line gives way"
ossh se "$envcmd"; want=$OUT
mcp se "$envcmd"
check_eq "$OUT" "$want" "SetEnv from the config alone: as ssh ($want)"
ossh -oSetEnv=NOEQUALS se echo RAN; want=$RC
mcp -oSetEnv=NOEQUALS se echo RAN
check_eq "$OUT" "" "SetEnv without '=': refused, nothing runs (ssh: exit $want)"
check_contains "$ERR" "bad SetEnv value" "SetEnv without '=': says which keyword"

# --- ssh://user@host:port/ with its trailing slash
ossh "ssh://$T_USER@127.0.0.1:$MAIN_PORT/" -i "$KEY_DEFAULT" whoami; want="$RC:$OUT"
mcp "ssh://$T_USER@127.0.0.1:$MAIN_PORT/" -i "$KEY_DEFAULT" whoami
check_eq "$RC:$OUT" "$want" "ssh://user@host:port/ as ssh takes it ($want)"

# --- address family: -4, -6, AddressFamily (sshd listens on 127.0.0.1 and ::1)
known_hosts_for MAIN | awk '{ $1 = "main-key"; print }' >>"$KNOWN_HOSTS"
ssh_alias lh MAIN "HostName localhost" "HostKeyAlias main-key"
ssh_alias l6 MAIN "HostName ::1" "HostKeyAlias main-key"
conn='echo ${SSH_CONNECTION%% *}'
for h in lh l6; do
	for opt in -4 -6 '-oAddressFamily=inet' '-oAddressFamily=inet6' '-oAddressFamily=any'; do
		ossh "$opt" "$h" "$conn"; want="$RC:$OUT"
		mcp "$opt" "$h" "$conn"
		check_eq "$RC:$OUT" "$want" "$opt $h: connects, or not, as ssh ($want)"
	done
done
mcp -6 l6 "$conn"
check_eq "$OUT" "::1" "-6 ::1: over IPv6"
mcp -4 l6 "$conn"
check_contains "$ERR" "Address family for hostname not supported" "-4 ::1: refused in ssh's words"
ossh -6 -p "$MAIN_PORT" 127.0.0.1 true; want=$RC
mcp -6 -p "$MAIN_PORT" 127.0.0.1 true
check_exit "$RC" "$want" "-6 with an IPv4 address: refused as ssh refuses it"
check_contains "$ERR" "Address family for hostname not supported" "…in ssh's words"

# --- the local address: -b, BindAddress, -B, BindInterface
ssh_alias h MAIN
for opt in '-b 127.0.0.2' '-oBindAddress=127.0.0.3' '-B lo' '-oBindInterface=lo'; do
	# shellcheck disable=SC2086  # the option and its argument are two words
	ossh $opt h "$conn"; want="$RC:$OUT"
	# shellcheck disable=SC2086
	mcp $opt h "$conn"
	check_eq "$RC:$OUT" "$want" "$opt: the server sees the connection from where ssh's comes ($want)"
done
mcp -b 127.0.0.2 h "$conn"
check_eq "$OUT" 127.0.0.2 "-b 127.0.0.2: the server sees 127.0.0.2"
# an interface with an address of its own: the host side of a namespace's link
netns_start NS
hv=$(ip -o route get "$NS_ADDR" | sed -n 's/.* dev \([^ ]*\) .*/\1/p')
hv_ip=$(ip -o route get "$NS_ADDR" | sed -n 's/.* src \([^ ]*\) .*/\1/p')
ossh -B "$hv" h "$conn"; want="$RC:$OUT"
mcp -B "$hv" h "$conn"
check_eq "$RC:$OUT" "$want" "-B $hv: as ssh ($want)"
check_eq "$OUT" "$hv_ip" "-B $hv: the connection leaves from the interface's address"
for opt in '-b 192.0.2.250' '-B no-such-if' '-b not-an-address'; do
	# shellcheck disable=SC2086
	ossh $opt h true; want=$RC
	# shellcheck disable=SC2086
	mcp $opt h true
	check_exit "$RC" "$want" "$opt: fails as ssh fails"
done
check_contains "$ERR" "connect to host 127.0.0.1 port $MAIN_PORT: failure" "a bind that fails: ssh's words"

# --- -G prints them as ssh -G does
for args in "-4 -b 127.0.0.2 -B lo h" "-6 h" "-oAddressFamily=any h"; do
	# shellcheck disable=SC2086
	ossh -G $args; want=$(grep -E '^(addressfamily|bindaddress|bindinterface) ' "$FIX/out")
	# shellcheck disable=SC2086
	mcp -G $args; got=$(grep -E '^(addressfamily|bindaddress|bindinterface) ' "$FIX/out")
	check_eq "$got" "$want" "-G $args: addressfamily/bindaddress/bindinterface as ssh -G"
done

# --- ProxyCommand gets pipes, as from ssh: sshd -i on them sees no socket
# (SSH_CONNECTION "UNKNOWN 65535 UNKNOWN 65535"), and bulk data crosses them both ways
ssh_alias pci MAIN "ProxyCommand $SSHD -i -f $FIX/MAIN.sshd_config -E $FIX/pci.log" "HostKeyAlias main-key"
ossh pci 'echo $SSH_CONNECTION'; want="$RC:$OUT"
mcp pci 'echo $SSH_CONNECTION'
check_eq "$RC:$OUT" "$want" "ProxyCommand sshd -i: the server's SSH_CONNECTION as under ssh ($want)"
check_eq "$OUT" "UNKNOWN 65535 UNKNOWN 65535" "ProxyCommand sshd -i: stdin and stdout are pipes"
ssh_alias pcn MAIN "ProxyCommand nc %h %p"
head -c 3M /dev/urandom >"$FIX/rand3"
want=$(sha256sum <"$FIX/rand3" | cut -d' ' -f1)
T=120 mcp pcn 'sha256sum; head -c 3000000 /dev/zero | tr "\\0" x' <"$FIX/rand3"
check_eq "$(head -n 1 <<<"$OUT" | cut -d' ' -f1)" "$want" "ProxyCommand pipes: 3 MB up arrive whole"
check_eq "$(wc -c <"$FIX/out")" "$((3000000 + 68))" "ProxyCommand pipes: 3 MB down arrive whole"

# --- LocalCommand: with PermitLocalCommand yes, run here once connected, tokens expanded
lc='echo "LOCAL h=%h p=%p r=%r n=%n u=%u k=%k T=%T i=%i L=%L l=%l C=%C %%"'
for opts in "-oPermitLocalCommand=yes" "-oPermitLocalCommand=no" ""; do
	ossh $opts -oLocalCommand="$lc" h echo REMOTE; want="$RC:$OUT"
	mcp $opts -oLocalCommand="$lc" h echo REMOTE
	check_eq "$RC:$OUT" "$want" "LocalCommand ${opts:-(PermitLocalCommand unset)}: as ssh"
done
mcp -oPermitLocalCommand=yes -oLocalCommand="$lc" h echo REMOTE
check_contains "$OUT" "LOCAL h=127.0.0.1 p=$MAIN_PORT r=$T_USER n=h u=$(id -un)" "LocalCommand: its tokens name the connection"
mcp -oPermitLocalCommand=yes -oLocalCommand="echo %d" h true
check_eq "$OUT" "$HOME" "LocalCommand %d: the home sshmcp takes (\$HOME; ssh takes the passwd entry's)"
ssh_alias hlc MAIN "PermitLocalCommand yes" "LocalCommand echo from-config %n >$FIX/lc.out"
rm -f "$FIX/lc.out"
mcp hlc true
check_eq "$(cat "$FIX/lc.out" 2>/dev/null)" "from-config hlc" "LocalCommand from ssh_config ran once"
mcp -oPermitLocalCommand=no hlc true
check_eq "$(cat "$FIX/lc.out" 2>/dev/null)" "from-config hlc" "…and -oPermitLocalCommand=no wins over the config (not run again)"

# --- KnownHostsCommand: its output read as known_hosts lines, after the files
known_hosts_for MAIN >"$FIX/kh.cmd"
cat >"$FIX/khc.sh" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$FIX/khc.args"
[ "\$1" = fail ] && exit 3
[ "\$1" = "HOSTNAME" ] || [ "\$1" = "ORDER" ] || exit 0
cat "$FIX/kh.cmd"
EOF
chmod 755 "$FIX/khc.sh"
ssh_alias khc MAIN "UserKnownHostsFile $FIX/empty_kh" "StrictHostKeyChecking yes"
: >"$FIX/empty_kh"
for cmdline in "$FIX/khc.sh %I %H %h %p %r %n %t %k" "$FIX/khc.sh none" "$FIX/khc.sh fail" "khc.sh HOSTNAME"; do
	rm -f "$FIX/khc.args"
	ossh -o "KnownHostsCommand=$cmdline" khc echo RAN; want="$RC:$OUT"
	ssh_args=$(cat "$FIX/khc.args" 2>/dev/null); rm -f "$FIX/khc.args"
	mcp -o "KnownHostsCommand=$cmdline" khc echo RAN
	check_eq "$RC:$OUT" "$want" "KnownHostsCommand $cmdline: as ssh ($want)"
	check_eq "$(cat "$FIX/khc.args" 2>/dev/null)" "$ssh_args" "KnownHostsCommand $cmdline: called with ssh's arguments"
done
rm -f "$FIX/khc.args"
mcp -o "KnownHostsCommand=$FIX/khc.sh %f %K" khc echo RAN
fp=$(ssh-keygen -lf <(cut -d' ' -f2- "$FIX/kh.cmd" | head -n 1) | awk '{print $2}')
check_contains "$(cat "$FIX/khc.args")" "$fp" "KnownHostsCommand %f: the offered key's fingerprint"

# --- a KnownHostsCommand that hangs is killed at ConnectTimeout (ssh would wait: one
# connection; serve runs every session in one loop, which must not stop)
printf '#!/bin/sh\nexec sleep 300\n' >"$FIX/khc_hang.sh"
chmod 755 "$FIX/khc_hang.sh"
t0=$(ms)
mcp -o "KnownHostsCommand=$FIX/khc_hang.sh" -o ConnectTimeout=2 khc echo RAN
check_eq "$RC:$OUT" "255:" "KnownHostsCommand that hangs: exit 255, the command never ran"
check_contains "$ERR" "timed out" "KnownHostsCommand that hangs: said so"
if [ $(($(ms) - t0)) -lt 15000 ]; then ok "KnownHostsCommand that hangs: given up within ConnectTimeout's bounds"
else fail "KnownHostsCommand that hangs: given up within ConnectTimeout's bounds" "$(($(ms) - t0)) ms"; fi
check_eq "$(pgrep -f "$FIX/khc_hang.sh" || true)" "" "KnownHostsCommand that hangs: killed, not left behind"

# --- -G prints LocalCommand, PermitLocalCommand and KnownHostsCommand as ssh -G
for args in "-oPermitLocalCommand=yes|-oLocalCommand=echo %h done|h" "-oKnownHostsCommand=$FIX/khc.sh %H|h" "h"; do
	IFS='|' read -r -a opts <<<"$args"
	ossh -G "${opts[@]}"; want=$(grep -E '^(permitlocalcommand|localcommand|knownhostscommand) ' "$FIX/out")
	mcp -G "${opts[@]}"; got=$(grep -E '^(permitlocalcommand|localcommand|knownhostscommand) ' "$FIX/out")
	check_eq "$got" "$want" "-G ${args//|/ }: as ssh -G ($(tr '\n' ';' <<<"$want"))"
done
