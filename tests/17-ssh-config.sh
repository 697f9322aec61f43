#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ is meant for the remote shell
# 17-ssh-config: sshmcp resolves ssh_config as OpenSSH does. The oracle is `ssh -G`: for every
# config in tests/ssh_config/*.conf (Host/Match/Include/negation/tokens/...) and every host its
# "# hosts:" line names, `sshmcp exec -G` must agree with `ssh -G` on the keys both mean the same
# way (tests/ssh_config/compare.py). "# mode: user" configs are installed as ~/.ssh/config and
# read without -F, so /etc/ssh/ssh_config comes after them, for both tools. Then a few of the
# resolutions are used for real against an sshd: SetEnv/SendEnv, HostKeyAlias, Include, Match exec.
. "$(dirname "$0")/lib.sh"

CORPUS=$TESTS_DIR/ssh_config
CMP=$CORPUS/compare.py
D=$FIX/sshcfg
mkdir -p "$D/inc"
for f in "$CORPUS"/*.conf "$CORPUS"/inc/*.conf; do
	sed "s|@D@|$D|g" "$f" >"$D/${f#"$CORPUS"/}"
done
: >"$D/flag-present"

# OpenSSH takes ~ from the passwd entry, sshmcp from $HOME: ssh -G runs in a private mount
# namespace where the fixture's home is bound over root's, so both read the same ~/.ssh.
PWHOME=$(getent passwd "$(id -un)" | cut -d: -f6)
ssh_G() { run unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec ssh "$@"' \
	_ "$HOME" "$PWHOME" -G "$@"; }
ssh_G -F /dev/null probe-host
if [ "$RC" -ne 0 ] || ! grep -q '^hostname probe-host' "$FIX/out"; then
	die "cannot run ssh -G in a private mount namespace (unshare -m)" "$(_last)"
fi

USER_CFG_SAVED=$(cat "$SSH_CONFIG")
ncases=0 nfiles=0
for f in "$D"/[0-9]*.conf; do
	name=$(basename "$f" .conf)
	nfiles=$((nfiles + 1))
	hosts=$(sed -n 's/^# hosts: //p' "$f")
	cargs=$(sed -n 's/^# args: //p' "$f")
	mode=$(sed -n 's/^# mode: //p' "$f")
	while read -r _ src dst; do   # "# setup: copy SRC ~/.ssh/DEST"
		[ -n "$src" ] || continue
		dst=${dst/#\~/$HOME}
		mkdir -p "$(dirname "$dst")"
		cp "$D/$src" "$dst"
	done < <(sed -n 's/^# setup: //p' "$f")
	if [ "$mode" = user ]; then cp "$f" "$SSH_CONFIG"; Fopt=(); else Fopt=(-F "$f"); fi
	for h in $hosts; do
		ncases=$((ncases + 1))
		# shellcheck disable=SC2086  # args are words
		ssh_G "${Fopt[@]}" $cargs "$h"; cp "$FIX/out" "$FIX/g.ssh"; sshrc=$RC; ssherr=$ERR
		# shellcheck disable=SC2086
		mcp -G "${Fopt[@]}" $cargs "$h"; cp "$FIX/out" "$FIX/g.mcp"
		desc="$name $([ "${#Fopt[@]}" -gt 0 ] && echo "-F ")${cargs:+$cargs }$h: sshmcp -G resolves as ssh -G"
		if [ "$sshrc" -ne 0 ]; then fail "$desc" "ssh -G failed (rc $sshrc): $ssherr"; continue; fi
		if [ "$RC" -ne 0 ]; then fail "$desc" "sshmcp exec -G rc $RC: $ERR"; continue; fi
		if d=$(HOME=$HOME "$PY" "$CMP" "$FIX/g.ssh" "$FIX/g.mcp" "${h#*@}" 2>&1); then
			ok "$desc"; [ -z "$d" ] || echo "$d"
		else
			fail "$desc" "$d"
		fi
	done
	[ "$mode" != user ] || printf '%s\n' "$USER_CFG_SAVED" >"$SSH_CONFIG"
done
if [ "$nfiles" -ge 30 ]; then ok "the corpus has $nfiles configs ($ncases host resolutions)"
else fail "the corpus has at least 30 configs" "$nfiles"; fi

# -G itself prints nothing on stderr (ssh -G does not)
mcp -G -F "$D/01-basic.conf" web
check_eq "$ERR" "" "exec -G writes nothing on stderr"

# ================================================= resolutions used for real ===
sshd_start ENV "AcceptEnv MYVAR OTHER_* SETVAR SETVAR2 LANG LC_*"
trust ENV

# SetEnv / SendEnv reach the server (sshd AcceptEnv), as with ssh
ssh_alias henv ENV "SetEnv SETVAR=fromconfig SETVAR2=two" "SendEnv MYVAR OTHER_*"
MYVAR=fromclient OTHER_X=ox NOTSENT=no ossh henv 'echo "$SETVAR $SETVAR2 $MYVAR $OTHER_X ${NOTSENT-unset}"'
want=$OUT
MYVAR=fromclient OTHER_X=ox NOTSENT=no mcp henv 'echo "$SETVAR $SETVAR2 $MYVAR $OTHER_X ${NOTSENT-unset}"'
check_eq "$OUT" "fromconfig two fromclient ox unset" "SetEnv and SendEnv (with a pattern) reach the server"
check_eq "$OUT" "$want" "SetEnv/SendEnv: same environment as ssh"

# HostKeyAlias: the host key is looked up under the alias, not [127.0.0.1]:port
known_hosts_for ENV | awk '{ $1 = "env-alias-name"; print }' >"$FIX/kh_alias"
ssh_alias hka ENV "HostKeyAlias env-alias-name" "UserKnownHostsFile $FIX/kh_alias"
ossh hka echo RAN; want="$RC:$OUT"
mcp hka echo RAN
check_eq "$RC:$OUT" "0:RAN" "HostKeyAlias: the key recorded under the alias is accepted (ssh: $want)"
ssh_alias hka-wrong ENV "HostKeyAlias some-other-name" "UserKnownHostsFile $FIX/kh_alias"
mcp hka-wrong echo RAN
check_exit "$RC" 255 "HostKeyAlias naming an unknown alias → 255 (not looked up by address)"

# Include (glob, relative to ~/.ssh) and Match exec decide the real destination
mkdir -p "$HOME/.ssh/real.d"
printf 'Host via-include\n  HostName 127.0.0.1\n  Port %s\n' "$ENV_PORT" >"$HOME/.ssh/real.d/10-port.conf"
printf 'Match exec "test -e %s" originalhost via-include\n  User %s\n  IdentityFile %s\n' \
	"$D/flag-present" "$T_USER" "$KEY_DEFAULT" >"$HOME/.ssh/real.d/20-match.conf"
ssh_config_raw "Host *
  Include real.d/*.conf"
mcp via-include whoami
check_eq "$OUT" "$T_USER" "Include real.d/*.conf + Match exec: connects where they say"
rm -f "$D/flag-present"
mcp via-include whoami
check_exit "$RC" 255 "…and with the Match exec test false, the User/IdentityFile are not applied"
: >"$D/flag-present"

# /etc/ssh/ssh_config comes after the user's config: a user value wins over it
if grep -qi '^[[:space:]]*HashKnownHosts[[:space:]]\+yes' /etc/ssh/ssh_config; then
	mcp -G via-include
	check_contains "$OUT" "hashknownhosts yes" "/etc/ssh/ssh_config is read without -F (HashKnownHosts yes)"
	ssh_config_raw "Host via-include
  HashKnownHosts no"
	mcp -G via-include
	check_contains "$OUT" "hashknownhosts no" "…and the user's config wins over it"
	mcp -G -F "$SSH_CONFIG" nothing-here
	check_contains "$OUT" "hashknownhosts no" "-F FILE: /etc/ssh/ssh_config is not read"
else
	skip "/etc/ssh/ssh_config order" "this /etc/ssh/ssh_config sets no HashKnownHosts yes"
fi
