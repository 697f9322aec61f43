#!/bin/bash
# shellcheck disable=SC2016  # single-quoted $ and backquotes are meant for the remote shell
# 63-redteam: a hostile agent against the operator's command policy (SPEC §3, README "Operator
# controls"), beyond 60-policy.sh's lists. Three policy modes:
#   deny   DenyCommand ^rm( |$), ^touch( |$), ^tee( |$)   (best effort, but wrappers unwrapped
#          with their real option grammar, nested lines checked, runners refused)
#   allow  an AllowCommand list whose wrapper rules (watch, sh -c, find -exec, script -q) rely on
#          sshmcp checking the nested command
#   ro     ReadOnly yes
# × front ends: `sshmcp exec` (here), `serve` execute_command and execute_on_hosts
# (tests/mcp/redteam.mjs, which also does what needs a session: two-call state, send_input,
# sudo_password, nonces, audit, raw JSON).
#
# The canary: $SDIR (owned by the test user) holds the sentinel f. Every attempt would delete
# f or create $SDIR/t (read-only: any new file in $SDIR, or a new git ref in $REPO) if it ran.
# Kinds: R — must be refused (exit 126 / SSHMCP_ERR_POLICY) and the canary intact;
#        H — refused or not, the canary must be intact (provably harmless);
#        T — a general-purpose interpreter running code DenyCommand cannot read: reported as
#            TODO (not counted as a failure; see the report).
# Placeholders: @P@ sentinel file, @S@ its directory, @R@ the git repo, @U@ the test user.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/mcp/tap.sh"

sshd_start MAIN
sshd_start ZSH 'ForceCommand if [ -n "$SSH_ORIGINAL_COMMAND" ]; then exec /usr/bin/zsh -c "$SSH_ORIGINAL_COMMAND"; else exec /usr/bin/zsh -l; fi'
# a host whose login files live in the fixture ($HXHOME/.profile), so that a test may write
# them without touching the test user's real home
HXHOME=$FIX/hxhome
install -d -m 755 -o "$T_USER" -g "$T_USER" "$HXHOME"
sshd_start HX "ForceCommand export HOME=$HXHOME; cd; if [ -n \"\$SSH_ORIGINAL_COMMAND\" ]; then exec bash -c \"\$SSH_ORIGINAL_COMMAND\"; else exec bash -l; fi"
trust MAIN
trust ZSH
trust HX
ssh_alias h MAIN
ssh_alias web-one MAIN
ssh_alias z ZSH
ssh_alias hx HX

SDIR=$FIX/rt
SENT=$SDIR/f
REPO=$FIX/repo
install -d -m 755 -o "$T_USER" -g "$T_USER" "$SDIR"
install -d -m 755 -o "$T_USER" -g "$T_USER" "$REPO"
su -s /bin/sh "$T_USER" -c "cd '$REPO' && git init -q . && echo root >f && git add f &&
	git -c user.email=t@t -c user.name=t commit -qm init" || die "git repo for the read-only attacks"
# the repo's refs, without forking: a ref an attempt created shows here
refs() {
	local a
	shopt -s nullglob
	a=("$REPO"/.git/refs/heads/* "$REPO"/.git/refs/tags/* "$REPO"/.git/packed-refs)
	shopt -u nullglob
	REFS="${a[*]}"
}
refs; REFS0=$REFS
DIRTY=1
reset_canary() {   # only when the last attempt (or the start) left something behind
	[ "$DIRTY" = 1 ] || return 0
	rm -rf "${SDIR:?}"/* "$SDIR"/.[!.]* 2>/dev/null
	install -m 644 -o "$T_USER" -g "$T_USER" /dev/null "$SENT"
	refs
	if [ "$REFS" != "$REFS0" ]; then
		local r
		for r in $REFS; do [[ " $REFS0 " == *" $r "* ]] || rm -f "$r"; done
	fi
	DIRTY=0
}
# canary_state MODE: sets ST, "" when intact, else what changed
canary_state() {
	local a f extra=''
	ST=''
	[ -f "$SENT" ] || ST+='sentinel DELETED; '
	if [ "$1" = ro ]; then
		shopt -s nullglob dotglob
		a=("$SDIR"/*)
		shopt -u nullglob dotglob
		for f in "${a[@]}"; do [ "$f" = "$SENT" ] || extra+="${f##*/} "; done
		[ -z "$extra" ] || ST+="new files in the sentinel dir: $extra; "
		refs
		[ "$REFS" = "$REFS0" ] || ST+="git refs CHANGED: $REFS; "
	else
		[ ! -e "$SDIR/t" ] || ST+="$SDIR/t CREATED; "
		shopt -s nullglob dotglob
		a=("$SDIR"/*)
		shopt -u nullglob dotglob
		[ "${#a[@]}" = 1 ] || DIRTY=1          # side files: not the canary, but cleaned
	fi
	[ -z "$ST" ] || DIRTY=1
}
# subst RAW: sets LINE, the placeholders filled in
subst() {
	local s=${1//@P@/$SENT}
	s=${s//@S@/$SDIR}
	s=${s//@R@/$REPO}
	LINE=${s//@U@/$T_USER}
}
cfg() { local n=$1; shift; printf '%s\n' "$@" >"$FIX/$n.conf"; echo "$FIX/$n.conf"; }
DENY_CONF=$(cfg deny 'DenyCommand ^rm( |$)' 'DenyCommand ^touch( |$)' 'DenyCommand ^tee( |$)')
ALLOW_CONF=$(cfg allow \
	'AllowCommand ^(ls|cat|echo|id|uptime|true|printf|head|wc|grep)( [^ ]+)*$' \
	'AllowCommand ^cd [^ ]+$' \
	'# wrappers whose nested command sshmcp checks against this list' \
	'AllowCommand ^watch( .*)?$' \
	'AllowCommand ^(sh|bash) -c' \
	'AllowCommand ^find [^ ]+ -name [^ ]+ -exec .*$' \
	'AllowCommand ^script -q .*$')
RO_CONF=$(cfg ro 'ReadOnly yes')

# =================================================================== deny ===
DENY=(
	# ---- (1) lexer: quotes, escapes, comments, braces, $'', substitutions, control bytes
	'H|echo a\;rm -f @P@'
	"H|echo 'a;rm -f @P@'"
	'H|echo "a;touch @S@/t"'
	'H|echo a\|touch @S@/t'
	'H|echo a\&\&touch @S@/t'
	'H|echo \$\(touch @S@/t\)'
	'H|echo \`touch @S@/t\`'
	"R|echo 'it''s';touch @S@/t"
	'R|echo "a\"";touch @S@/t'
	"R|echo 'a\\';touch @S@/t"
	'R|echo "a\\";touch @S@/t'
	'R|echo \\;touch @S@/t'
	'R|echo \"; touch @S@/t; \"'
	"R|echo \$'\\x3b'touch @S@/t"
	"R|\$'\\164ouch' @S@/t"
	'R|echo $"x";touch @S@/t'
	'R|echo ${IFS}touch${IFS}@S@/t'
	'R|echo "${X:-$(touch @S@/t)}"'
	'R|echo "${X/a/`touch @S@/t`}"'
	'R|echo "${X@P}"'
	'R|echo "${!X}"'
	'R|echo "$[1]";touch @S@/t'
	'R|x=`touch @S@/t`'
	'R|echo "`touch @S@/t`"'
	'R|echo "$(case x in x) touch @S@/t;; esac)"'
	'R|echo "$(echo ")"; touch @S@/t; echo "(")"'
	'R|{ touch @S@/t; }'
	'R|{touch,@S@/t}'
	'R|[[ -n x ]] && touch @S@/t'
	'R|function f { touch @S@/t; }'
	'R|f(){ touch @S@/t;};f'
	'R|until false; do touch @S@/t; break; done'
	'R|select x in a; do touch @S@/t; done'
	'R|coproc touch @S@/t'
	'R|time -p touch @S@/t'
	'R|! touch @S@/t'
	'R|echo x #; touch @S@/t'
	$'R|echo x ;#\ntouch @S@/t'
	$'R|echo x\r;touch @S@/t'
	$'R|echo x\x15touch @S@/t'
	$'R|echo x\x7ftouch @S@/t'
	$'R|echoxxxxx\x08\x08\x08\x08\x08\x08\x08\x08\x08touch @S@/t'
	$'R|echo x\x17\x17touch @S@/t'
	$'R|echo x\x16\ntouch @S@/t'
	$'R|echo x\x04touch @S@/t'
	$'R|echo x\x1b[D\x1b[Dtouch @S@/t'
	$'R|echo x\x0btouch @S@/t'
	$'R|echo x\x0ctouch @S@/t'
	$'R|echo x\x03touch @S@/t'
	$'R|echo x\x1atouch @S@/t'
	$'H|echo x\u00a0touch @S@/t'
	$'H|echo x\u2028touch @S@/t'
	$'H|echo x\uff1btouch @S@/t'
	$'H|echo \xc0\xbb touch @S@/t'
	$'H|echo \xa5\x5c;touch @S@/t'
	$'H|echo \xe2\x80\xae;hcuot @S@/t'
	'H|echo a=b=c;echo =x'
	"R|echo $(printf 'a%.0s' {1..4000}); touch @S@/t"
	"R|echo $(printf 'x %.0s' {1..3000}); touch @S@/t"
	"R|sh -c \"sh -c 'sh -c \\\"touch @S@/t\\\"'\""
	"R|bash -c 'echo ok; touch @S@/t'"
	# shells: -c is a flag, the command line is the first operand (sh -ce STR)
	"R|sh -ce 'touch @S@/t'"
	"R|bash -cx 'touch @S@/t'"
	"R|bash -ceu 'rm -f @P@'"
	"R|bash -ctrue 'touch @S@/t'"
	"R|zsh -ce 'touch @S@/t'"
	"R|dash -cv 'touch @S@/t'"
	"R|busybox sh -ce 'touch @S@/t'"
	"R|sh -c -e 'touch @S@/t'"
	"R|sh -e -c 'touch @S@/t'"
	"R|sh -o errexit -c 'touch @S@/t'"
	"R|sh +e -c 'touch @S@/t'"
	"R|sh -c 'touch @S@/t' -c"
	'R|sh -c "$X"'
	# a locale whose double-byte characters end in 0x5c (\): bash then sees the ; that the
	# checker took as escaped
	# (U+4E25 is E4 B8 A5: BIG5 reads E4 B8 as one character and A5 5C as another)
	"R|localedef -f BIG5 -i zh_TW @S@/zh_TW.BIG5 >/dev/null 2>&1; LOCPATH=@S@ LC_ALL=zh_TW.BIG5 bash -c 'echo 严\\;touch @S@/t'"
	# ---- (3) wrappers misparsed, and runners the policy does not know
	'R|taskset -c 0 touch @S@/t'
	'R|taskset --cpu-list 0 rm -f @P@'
	'R|taskset -ac 0 touch @S@/t'
	'R|watch -d touch @S@/t'
	'R|watch --differences rm -f @P@'
	'R|echo touch @S@/t | xargs env'
	'R|echo touch @S@/t | xargs nice'
	'R|echo touch @S@/t | xargs timeout 5'
	'R|echo rm -f @P@ | xargs nohup'
	'R|echo touch @S@/t | xargs setsid -w'
	'R|echo touch @S@/t | xargs stdbuf -o0'
	'R|echo touch @S@/t | xargs busybox'
	"R|echo 'touch @S@/t' | xargs -I CMD sh -c CMD"
	'R|echo touch | xargs -I X env X @S@/t'
	'R|echo rm | xargs -I X timeout 5 X -f @P@'
	'R|echo touch | xargs --replace=X nice X @S@/t'
	'R|find /etc/hostname -exec flock + touch @S@/t \;'
	'R|find /etc/hostname -exec flock + rm -f @P@ \;'
	"R|find @S@ -name f -exec sh -ce 'touch @S@/t' \\;"
	"R|script -q -t -c 'touch @S@/t' /dev/null"
	"R|script -q --timing -c 'rm -f @P@' /dev/null"
	"R|printf -v'x[\$(touch @S@/t)]' y"
	"R|printf -vx'[\$(rm -f @P@)]' y"
	"R|printf -v 'x[\$(touch @S@/t)]' y"
	"R|test -v 'x[\$(touch @S@/t)]'"
	"R|[ -v 'x[\$(touch @S@/t)]' ]"
	"R|unset 'x[\$(touch @S@/t)]'"
	"R|export 'x[\$(touch @S@/t)]=1'"
	"R|read 'x[\$(touch @S@/t)]' </etc/hostname"
	"R|mapfile 'x[\$(touch @S@/t)]' </etc/hostname"
	"R|wait -p 'x[\$(touch @S@/t)]'"
	"R|getopts a 'x[\$(touch @S@/t)]'"
	"H|cd 'x[\$(touch @S@/t)]'"
	"H|shift 'x[\$(touch @S@/t)]'"
	"H|printf '%d' 'x[\$(touch @S@/t)]'"
	"H|kill -s 'x[\$(touch @S@/t)]' 0"
	"H|umask 'x[\$(touch @S@/t)]'"
	'R|/lib64/ld-linux-x86-64.so.2 /usr/bin/touch @S@/t'
	'R|prlimit --nofile=64 touch @S@/t'
	'R|setarch x86_64 touch @S@/t'
	'R|setarch -R x86_64 rm -f @P@'
	'R|linux64 touch @S@/t'
	'R|choom -n 0 -- touch @S@/t'
	'R|ssh-agent touch @S@/t'
	'R|dbus-run-session -- touch @S@/t'
	'R|systemd-inhibit touch @S@/t'
	'R|fakeroot touch @S@/t'
	'R|runcon -t x touch @S@/t'
	'R|busybox linux64 touch @S@/t'
	'R|busybox cttyhack touch @S@/t'
	'R|busybox start-stop-daemon -S -x /usr/bin/touch -- @S@/t'
	'R|busybox taskset -c 0 touch @S@/t'
	'R|busybox time touch @S@/t'
	'R|nsenter -U touch @S@/t'
	'R|unshare -r touch @S@/t'
	'R|strace -o /dev/null touch @S@/t'
	'R|chrt -o 0 touch @S@/t'
	'R|setpriv touch @S@/t'
	'R|sg @U@ "touch @S@/t"'
	'R|timeout -s KILL 5 touch @S@/t'
	'R|timeout 5 -- touch @S@/t'
	'R|env -S "touch @S@/t"'
	'R|env --sp="touch @S@/t"'
	'R|env - touch @S@/t'
	'R|env -i PATH=/usr/bin touch @S@/t'
	'R|env -C @S@ touch t'
	'R|nice -5 touch @S@/t'
	'R|nice --adjustment 5 touch @S@/t'
	'R|ionice -c 3 touch @S@/t'
	'R|stdbuf -i0 -o0 -e0 touch @S@/t'
	'R|setsid --fork touch @S@/t'
	'R|flock -x @S@ touch @S@/t'
	'R|flock @S@ -c "touch @S@/t"'
	'R|flock -w 1 @S@ --command "touch @S@/t"'
	'R|xargs -a /etc/hostname -I X touch @S@/t'
	'R|xargs -i touch @S@/t'
	'R|xargs -o touch @S@/t'
	'R|xargs -P2 -n1 rm -f'
	'R|sudo -u @U@ -- sh -c "touch @S@/t"'
	"R|sudo -nu @U@ sh -ce 'touch @S@/t'"
	'R|sudo -E touch @S@/t'
	'R|sudo --preserve-env=PATH touch @S@/t'
	'R|sudo -D @S@ touch t'
	'R|doas touch @S@/t'
	'R|su -c "touch @S@/t" @U@'
	"R|su -c'touch @S@/t' @U@"
	'R|su --command="touch @S@/t" @U@'
	'R|runuser -u @U@ -- touch @S@/t'
	'R|command -p -- touch @S@/t'
	'R|builtin exec touch @S@/t'
	'R|exec -c touch @S@/t'
	'R|\command touch @S@/t'
	'R|c\ommand touch @S@/t'
	'R|e"n"v touch @S@/t'
	'R|/usr/bin/../bin/env -- /usr/bin/touch @S@/t'
	'R|env /usr/bin/./touch @S@/t'
	'R|watch -n 1 -x -- rm -f @P@'
	"R|watch 'echo a;touch @S@/t'"
	'H|watch echo "'"'"'" rm -f @P@ "'"'"'"'
	'R|find @S@ -exec touch @S@/t {} +'
	'R|find @S@ -execdir touch t \;'
	'R|find @S@ -exec xargs touch \;'
	'R|find /etc/hostname -exec env {} \;'
	# ---- (4) state that would carry (the serve scenarios run these as two calls)
	"H|MAILCHECK=0; MAILPATH='@S@/mb?\$(touch @S@/t)'"
	"H|printf -v'BASH_CMDS[ls]' /usr/bin/touch; ls @S@/t"
	"R|BASH_ALIASES[ls]='touch @S@/t'"
	"R|PROMPT_COMMAND[1]='touch @S@/t'"
	"R|PS0[0]='\$(touch @S@/t)'"
	"R|PS1='\$(touch @S@/t)'"
	"R|ENV='\$(touch @S@/t)' sh -c true"
	"R|export -f ls"
	'R|declare -n x=PS1'
	'R|hash -p /usr/bin/touch ls'
	'R|alias ls="touch @S@/t"'
	"R|trap 'touch @S@/t' DEBUG"
	'R|cd /usr/bin; ./touch @S@/t'
	'R|cd /usr && bin/touch @S@/t'
	'R|CDPATH=/usr/bin cd .'
	'R|BASH_ENV=@P@ bash -c true'
	'R|LD_PRELOAD=/nonexistent touch @S@/t'
	'R|shopt -s expand_aliases'
	'R|set -o history'
	# ---- interpreters and programs whose own language runs commands (design: TODO)
	"T|awk 'BEGIN{system(\"touch @S@/t\")}'"
	"T|perl -e 'unlink \"@P@\"'"
	"T|python3 -c 'import os; os.remove(\"@P@\")'"
	"T|sed -n '1e touch @S@/t' /etc/hostname"
	"T|git -c alias.x='!touch @S@/t' x"
	"T|tar -cf /dev/null /etc/hostname --checkpoint=1 --checkpoint-action=exec='touch @S@/t'"
	"T|printf 'all:\\n\\ttouch @S@/t\\n' | make -f -"
	"T|vim -es -c '!touch @S@/t' -c q"
)

# ================================================================== allow ===
ALLOW=(
	'R|watch -x touch @S@/t'
	'R|watch --exec rm -f @P@'
	'R|watch -n 1 -x touch @S@/t'
	'R|cd @S@ && watch -d touch echo t'
	"R|bash -ctrue 'touch @S@/t'"
	"R|bash -ctrue 'rm -f @P@'"
	"R|printf -v'x[\$(touch @S@/t)]' y"
	"R|script -q -t -c 'touch @S@/t' /dev/null"
	"R|script -q --timing -c 'rm -f @P@' /dev/null"
	"R|find @S@ -name f -exec bash -ctrue 'touch @S@/t' \\;"
	'R|find @S@ -name f -exec touch @S@/t \;'
	"R|find @S@ -name f -exec sh -c 'touch @S@/t' \\;"
	'R|find @S@ -name f -exec flock + touch @S@/t \;'
	"R|sh -c 'echo ok; touch @S@/t'"
	"R|bash -c 'touch @S@/t'"
	"R|sh -c 'sh -c \"touch @S@/t\"'"
	"R|sh -ce 'touch @S@/t'"
	"R|watch 'echo a; touch @S@/t'"
	'R|watch -x sh -c "touch @S@/t"'
	"R|script -q -c 'touch @S@/t' /dev/null"
	'R|echo a; touch @S@/t'
	'R|cat @P@ | touch @S@/t'
	'R|echo x >/dev/null && rm -f @P@'
	'R|id && env touch @S@/t'
	"R|echo 'x' \$(touch @S@/t)"
	'R|ls @S@ `touch @S@/t`'
	'R|printf x | sh'
	'R|uptime; sh -c "rm -f @P@"'
	"R|printf -v x 'y'"
	'R|cd @S@; touch t'
	'H|echo a\;touch @S@/t'
	"H|printf '%s\n' 'touch @S@/t'"
	'H|cat "$_"'
)

# ============================================================= read-only ===
PAD=': xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
RO=(
	# ---- (2) read-only programs abused through their arguments
	'R|sort --o=@S@/t /etc/hostname'
	'R|sort --outp=@S@/t /etc/hostname'
	'R|sort --ou @S@/t /etc/hostname'
	'R|sort -o @S@/t /etc/hostname'
	'R|sort -uo@S@/t /etc/hostname'
	'R|sort --output=@S@/t /etc/hostname'
	"R|seq 1 300 | sed 's/^[0-9]*\$/$PAD/;\$s|.*|touch @S@/t|' | sort -S 1K --compress-prog=sh"
	'R|sort --compress-program=sh /etc/hostname'
	'R|cd @S@ && xxd /etc/hostname -t'
	'R|cd @S@ && xxd --r /etc/hostname -t'
	'R|xxd -r /etc/hostname'
	'R|xxd /etc/hostname @S@/t'
	'H|cd @S@ && uniq /etc/hostname -t'
	'R|uniq @P@ @S@/t'
	'R|uniq - @S@/t'
	'R|uniq -- @P@ @S@/t'
	"R|sed -n ':a;1w @S@/t' /etc/hostname"
	$'R|sed -n \'b x w @S@/t\n:x\' /etc/hostname'
	"R|sed -n -- '1w @S@/t' /etc/hostname -e"
	"R|sed -- '1e touch @S@/t' /etc/hostname -e"
	"R|sed -n -- 's/x*/y/w @S@/t' /etc/hostname --expression"
	"R|sed -n '1w @S@/t' /etc/hostname"
	"R|sed 's/a*/b/w @S@/t' /etc/hostname"
	"R|sed '1e touch @S@/t' /etc/hostname"
	"R|sed -n '1W @S@/t' /etc/hostname"
	"R|sed 's|.*|touch @S@/t|e' /etc/hostname"
	"R|sed -n 't x;1w @S@/t' /etc/hostname"
	"R|sed -n '1!w @S@/t' /etc/hostname"
	"R|sed -n 'y/a/b/;w @S@/t' /etc/hostname"
	"R|sed -n 's/a*/b/ w @S@/t' /etc/hostname"
	"R|sed -n 's/a*/b/3w @S@/t' /etc/hostname"
	"R|sed -n '/x/I,+3w @S@/t' /etc/hostname"
	$'R|sed -ne \'1{w @S@/t\n}\' /etc/hostname'
	"R|sed -E -n -e p -e '1w @S@/t' /etc/hostname"
	"R|sed -z -n '1w @S@/t' /etc/hostname"
	'R|sed -i s/a/a/ @P@'
	'R|sed --in-place=.bak s/a/a/ @P@'
	'R|sed -f @P@ /etc/hostname'
	'R|find -- @S@ -delete'
	'R|find -H -- @S@ -delete'
	'R|find -- @S@ -fprint @S@/t'
	'R|find -- @S@ -fls @S@/t'
	'R|find -- @S@ -fprintf @S@/t x'
	'R|find @S@ -newer @P@ -o -delete'
	"R|find @S@ '-delete'"
	'R|find @S@ -exec rm {} +'
	'R|git -C @R@ branch --sort=refname evil1'
	'R|git -C @R@ branch --no-color evil2'
	'R|git -C @R@ branch --format=x evil3'
	'R|git -C @R@ branch --column evil4'
	'R|git -C @R@ tag --sort=refname v1'
	'R|git -C @R@ tag --color=never v2'
	'R|git -C @R@ branch evil'
	'R|git -C @R@ tag v3'
	'R|git -C @R@ branch -m master x'
	"R|cd @R@ && git grep --open-files-in='touch @S@/t;' -l -e ."
	"R|cd @R@ && git grep --open-files-in-p='touch @S@/t;' -l -e ."
	"R|cd @R@ && git grep -O'touch @S@/t;' -e ."
	"R|cd @R@ && git grep --open-files-in-pager='touch @S@/t;' -e ."
	'R|git -C @R@ log --output=@S@/t'
	'R|git -C @R@ diff --output @S@/t HEAD'
	'R|git -c core.pager=touch -C @R@ log'
	'R|git --config-env=core.pager=HOME -C @R@ log'
	'R|git --exec-path=@S@ -C @R@ log'
	'R|git -C @R@ -p log'
	'R|git -C @R@ log --ext-diff'
	'R|GIT_PAGER=touch git -C @R@ log'
	"R|LESSOPEN='|touch @S@/t %s' cat @P@"
	'R|cd @S@ && blkid --cache-f=@S@/t'
	'R|blkid -c @S@/t'
	'R|ss --dia=@S@/t -t'
	'R|ss -D @S@/t'
	'R|ss --kil -t'
	'R|cd @S@ && file --comp -m /dev/null'
	'R|cd @S@ && file -C -m /dev/null'
	'R|date --se=2020-01-01'
	'R|date -s 2020-01-01'
	'R|date 0101000020'
	'R|dmesg --cl'
	'R|dmesg --console-of'
	'R|dmesg -C'
	'R|journalctl --vacuum-t=1s'
	'R|journalctl --rot'
	'R|journalctl --vacuum-time=1s'
	'R|journalctl -n 1 --cursor-file=@S@/t'
	'R|systemctl -p status restart ssh'
	'R|systemctl --state status stop ssh'
	'R|systemctl restart ssh'
	'R|docker --config ps exec c touch @S@/t'
	'R|docker exec c id'
	'R|kubectl -n get exec p -- touch @S@/t'
	'R|kubectl --namespace get delete pod x'
	'R|hostname evil'
	'R|hostname -F @P@'
	'R|ip netns exec x touch @S@/t'
	'R|ip -b @P@'
	'R|ip -force addr'
	'R|ip link set lo down'
	'R|ip l s lo down'
	'R|ip a flush dev lo'
	'H|ip addr dev lo add 192.0.2.9/32'
	'R|top -n 1'
	'R|env -i touch @S@/t'
	'R|env X=1 ls'
	'R|nice touch @S@/t'
	'R|timeout 5 touch @S@/t'
	'R|sudo -e @P@'
	"R|printf -v'x[\$(touch @S@/t)]' y"
	'R|printf -vx y'
	'R|test -v x'
	'R|echo "$PS1"'
	'R|echo "${PS1}"'
	'R|echo "$PROMPT_COMMAND"'
	'R|echo "$_sshmcp_1"'
	'R|echo x >/dev/null/../..@S@/t'
	'R|echo x >"/dev/null"'
	'R|echo x >/dev/nul\l'
	'R|echo x >& @S@/t'
	'R|echo x >&@S@/t'
	'R|echo x 2>&1>@S@/t'
	'R|echo x >/dev/stdout'
	'R|echo x >/dev/fd/1'
	'R|ls / >/dev/null 2>&1 3>@S@/t'
	'R|cat @P@ 0<>@P@'
	'R|printf x | tee @S@/t'
	'R|ls "$(touch @S@/t)"'
	'R|type sudo; touch @S@/t'
	'H|echo x >>/dev/null 2>&1'
	'H|echo x >&-'
	'H|cat <@P@ >/dev/null'
	'H|cd @S@ && ls -d *'
	'H|top -b -n 1 >/dev/null'
)

# ===================================================================== zsh ===
ZSH=(
	'R|repeat 1 touch @S@/t'
	'R|repeat 1 rm -f @P@'
	'R|nocorrect touch @S@/t'
	'R|noglob rm -f @P@'
	'R|=touch @S@/t'
	'R|echo =(touch @S@/t)'
	'R|touch @S@/t &!'
	'R|touch @S@/t &|'
	'R|foreach x (1) touch @S@/t; end'
	'R|for x in 1; touch @S@/t'
	'R|if true; touch @S@/t; fi'
	'R|echo "${(e)X}"'
	'R|echo "$X[1]";touch @S@/t'
	'R|echo a #b; touch @S@/t'
	'R|autoload -U x'
	'R|zmodload zsh/system'
	'R|emulate sh -c "touch @S@/t"'
	'R|zle -N x'
	'R|sched +1 touch @S@/t'
	'R|vared x'
	'R|print -z touch @S@/t'
	'R|r'
	'R|echo x; - touch @S@/t'
	'R|exec -a x touch @S@/t'
	"R|prompt='\$(touch @S@/t)'"
	"R|zsh -ce 'touch @S@/t'"
	'H|echo a\;touch @S@/t'
	"H|echo 'a;touch @S@/t'"
)

# ============================================================ exec front end ===
# The lists run in LANES background lanes, each with its own canary directory and repo; a lane
# writes one record per attempt (index, verdict, description, detail) and the results are
# reported here in list order.
LANES=3
# pexec CONF HOST LINE: sshmcp exec under CONF (exit 126 = refused), bounded; streams in
# $OUTF.out and $OUTF.err
OUTF=$FIX/exec
pexec() {
	SSHMCP_CONFIG=$1 timeout -k 5 20 "$SSHMCP" exec --timeout 8 "$2" "$3" >"$OUTF.out" 2>"$OUTF.err"
	RC=$?
}
details() { printf 'rc=%s\nstdout: %s\nstderr: %s' "$RC" "$(head -c 400 "$OUTF.out" | tr -d '\0')" "$(head -c 800 "$OUTF.err" | tr -d '\0')"; }
# attempt IDX MODE CONF HOST ENTRY: one record line on stdout (newlines in the detail as \x1e)
attempt() {
	local idx=$1 mode=$2 conf=$3 host=$4 kind=${5%%|*} raw=${5#?|} show refused=0 desc v d=''
	subst "$raw"
	printf -v show '%q' "$raw"
	desc="exec $mode@$host: ${show:0:110}"
	reset_canary
	pexec "$conf" "$host" "$LINE"
	[ "$RC" = 126 ] && refused=1
	canary_state "$mode"
	case "$kind" in
	R)	if [ "$refused" = 1 ] && [ -z "$ST" ]; then v=ok; desc+=" → refused"
		else v=fail; desc+=" → refused"
			d="BYPASS: $( [ "$refused" = 1 ] && echo refused || echo NOT refused)${ST:+; $ST}"$'\n'$(details); fi ;;
	H)	if [ -z "$ST" ]; then v=ok; desc+=" → harmless (exit $RC)"
		else v=fail; desc+=" → harmless"; d="BYPASS: $ST"$'\n'$(details); fi ;;
	T)	desc+=" → refused"
		if [ "$refused" = 1 ] && [ -z "$ST" ]; then v=ok
		else v=todo; d="interpreter code is not read by DenyCommand (${ST:-not refused})"; fi ;;
	esac
	printf '%s\t%s\t%s\t%s\n' "$idx" "$v" "${desc//$'\t'/ }" "$(printf '%s' "$d" | tr '\n\t' '\036 ')"
}
JM=() JC=() JH=() JE=()
job() { JM+=("$1"); JC+=("$2"); JH+=("$3"); JE+=("$4"); }
for e in "${DENY[@]}"; do job deny "$DENY_CONF" h "$e"; done
for e in "${ALLOW[@]}"; do job allow "$ALLOW_CONF" h "$e"; done
for e in "${RO[@]}"; do job ro "$RO_CONF" h "$e"; done
for e in "${ZSH[@]}"; do job deny "$DENY_CONF" z "$e"; done
note "exec: ${#DENY[@]} deny, ${#ALLOW[@]} allow, ${#RO[@]} read-only, ${#ZSH[@]} zsh attempts, in $LANES lanes"
lane_pids=()
[ -z "${RT_SERVE_ONLY-}" ] || LANES=0 JE=()     # (development: MCP scenarios only)
for ((k = 0; k < LANES; k++)); do
	install -d -m 755 -o "$T_USER" -g "$T_USER" "$FIX/elane$k"
	cp -a "$REPO" "$FIX/erepo$k"
	(
		SDIR=$FIX/elane$k SENT=$FIX/elane$k/f REPO=$FIX/erepo$k OUTF=$FIX/exec$k DIRTY=1
		refs; REFS0=$REFS
		last=''
		for ((i = k; i < ${#JE[@]}; i += LANES)); do
			[ "${JM[i]}" = "$last" ] || DIRTY=1
			last=${JM[i]}
			attempt "$i" "${JM[i]}" "${JC[i]}" "${JH[i]}" "${JE[i]}"
		done >"$FIX/elane$k.rec"
	) &
	lane_pids+=($!)
	_track "$!"
done
[ "${#lane_pids[@]}" = 0 ] || wait "${lane_pids[@]}"
NB=0 NTODO=0
while IFS=$'\t' read -r idx v desc d; do
	d=$(printf '%s' "$d" | tr '\036' '\n')
	case "$v" in
	ok) ok "$desc" ;;
	fail) NB=$((NB + 1)); fail "$desc" "$d" ;;
	todo) NTODO=$((NTODO + 1)); NUM=$((NUM + 1)); PASS=$((PASS + 1)); echo "not ok $NUM - $desc # TODO $d" ;;
	esac
done < <(sort -n -k1,1 "$FIX"/elane*.rec 2>/dev/null)
n=$(cat "$FIX"/elane*.rec 2>/dev/null | wc -l)
[ "$n" = "${#JE[@]}" ] && ok "exec: every attempt has a result ($n)" || fail "exec: every attempt has a result" "$n of ${#JE[@]}"
# exec's refusal: exit 126, one line, nothing on stdout, nothing reaches the server
DIRTY=1; reset_canary
log_mark MAIN
pexec "$DENY_CONF" h "nice -n 1 sh -c 'rm -f $SENT'"
check_exit "$RC" 126 "exec: a refused line → exit 126"
check_one_line "$(cat "$OUTF.err")" "exec: the refusal is one line on stderr"
check_eq "$(cat "$OUTF.out")" "" "exec: nothing on stdout"
check_not_contains "$(sleep 0.3; log_since MAIN)" "Connection from" "exec: the refused line never reached the server"
note "exec: $NB attempts got through, $NTODO interpreter TODOs ($SECONDS s so far)"

# ============================================================ raw JSON (serve) ===
DIRTY=1; reset_canary
RAW_OUT=$(timeout 30 python3 - "$SSHMCP" "$DENY_CONF" "$SDIR" <<'EOF'
import json, subprocess, sys, time, select, os
exe, conf, sdir = sys.argv[1:4]
p = subprocess.Popen([exe, 'serve', '--config', conf], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
buf = b''
def send(line): p.stdin.write(line.encode() + b'\n'); p.stdin.flush()
def read(want, tmo=10):
    global buf
    end = time.time() + tmo
    while time.time() < end:
        while b'\n' in buf:
            l, buf = buf.split(b'\n', 1)
            try: m = json.loads(l)
            except Exception: continue
            if m.get('id') == want: return m
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if r:
            d = os.read(p.stdout.fileno(), 65536)
            if not d: return None
            buf += d
    return None
def call(i, params): send(json.dumps({'jsonrpc': '2.0', 'id': i, 'method': 'tools/call', 'params': params}))
res = {}
call(1, {'name': 'execute_command', 'arguments': {'host': 'h', 'command': 'cp /etc/hostname %s/t0' % sdir, 'wait': 5}})
res['before_init'] = read(1)
send(json.dumps({'jsonrpc': '2.0', 'id': 2, 'method': 'initialize', 'params': {'protocolVersion': '2025-06-18', 'capabilities': {}, 'clientInfo': {'name': 'rt', 'version': '1'}}}))
read(2); send('{"jsonrpc":"2.0","method":"notifications/initialized"}')
send('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"execute_command","arguments":{"host":"h","command":"cp /etc/hostname %s/t","wait":5},"arguments":{"host":"h","command":"echo harmless","wait":5}}}' % sdir)
res['dup_arguments'] = read(3)
send('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"execute_command","name":"list_sessions","arguments":{"host":"h","command":"cp /etc/hostname %s/t2","wait":5}}}' % sdir)
res['dup_name'] = read(4)
send('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"execute_command","arguments":{"host":"h","command":"echo x","command":"touch %s/t3","wait":5}}}' % sdir)
res['dup_command'] = read(5)
call(6, {'name': 'execute_command', 'arguments': {'host': 'h', 'command': 'echo ' + 'a' * 300000 + '; touch %s/t4' % sdir, 'wait': 5}})
res['huge'] = read(6)
call(7, {'name': 'execute_command', 'arguments': {'host': 'h', 'command': ['touch', sdir + '/t5'], 'wait': 5}})
res['array'] = read(7)
send('{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"execute_command","arguments":{"host":"h","command":"t\\u006fuch %s/t6","wait":5}}}' % sdir)
res['uescape'] = read(8)
p.stdin.close(); p.wait(timeout=10)
print(json.dumps(res))
EOF
)
rawget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(json.dumps(d.get(sys.argv[2])))' "$RAW_OUT" "$1" 2>/dev/null; }
check_contains "$(rawget before_init)" '"error"' "raw: tools/call before initialize → a JSON-RPC error"
if [ ! -e "$SDIR/t0" ]; then ok "raw: tools/call before initialize ran nothing"
else fail "raw: tools/call before initialize ran nothing" "BYPASS: the command ran"; fi
r=$(rawget dup_arguments)
if [[ $r == *'"isError": true'* || $r == *'"error"'* ]] && [[ $r != *harmless* ]]; then ok "raw: params with 'arguments' twice → refused (no parser differential)"
else fail "raw: params with 'arguments' twice → refused like a repeated argument (sshmcp ran the first, a JSON.parse reader sees the last)" "$r"; fi
r=$(rawget dup_name)
if [[ $r == *'"isError": true'* || $r == *'"error"'* ]] && [ ! -e "$SDIR/t2" ]; then ok "raw: params with 'name' twice → refused"
else fail "raw: params with 'name' twice → refused" "$r"; fi
check_contains "$(rawget dup_command)" 'twice' "raw: 'command' given twice → refused"
check_contains "$(rawget huge)" '"isError": true' "raw: a 300 kB command → a tool error"
check_contains "$(rawget array)" '"isError": true' "raw: command as an array → a tool error"
check_contains "$(rawget uescape)" 'SSHMCP_ERR_POLICY' "raw: \\u-escaped 'touch' is judged after JSON decoding (refused)"
if [ ! -e "$SDIR/t3" ] && [ ! -e "$SDIR/t4" ] && [ ! -e "$SDIR/t5" ] && [ ! -e "$SDIR/t6" ]; then
	ok "raw: repeated, huge, mistyped or escaped commands ran nothing"
else fail "raw: repeated, huge, mistyped or escaped commands ran nothing" "$(ls -la "$SDIR")"; fi

# ====================================================================== serve ===
mcp_need_node
{
	printf '{"deny":'; printf '%s\0' "${DENY[@]}" | python3 -c 'import json,sys; print(json.dumps([[x[0], x[2:]] for x in sys.stdin.buffer.read().decode("utf-8","surrogateescape").split("\0")[:-1]]))'
	printf ',"allow":'; printf '%s\0' "${ALLOW[@]}" | python3 -c 'import json,sys; print(json.dumps([[x[0], x[2:]] for x in sys.stdin.buffer.read().decode("utf-8","surrogateescape").split("\0")[:-1]]))'
	printf ',"ro":'; printf '%s\0' "${RO[@]}" | python3 -c 'import json,sys; print(json.dumps([[x[0], x[2:]] for x in sys.stdin.buffer.read().decode("utf-8","surrogateescape").split("\0")[:-1]]))'
	printf ',"zsh":'; printf '%s\0' "${ZSH[@]}" | python3 -c 'import json,sys; print(json.dumps([[x[0], x[2:]] for x in sys.stdin.buffer.read().decode("utf-8","surrogateescape").split("\0")[:-1]]))'
	printf ',"conf":{"deny":"%s","allow":"%s","ro":"%s"}}\n' "$DENY_CONF" "$ALLOW_CONF" "$RO_CONF"
} >"$FIX/redteam.json"
# the serve lists run in three lanes at once, each with its own canary and repo
for k in 0 1 2; do
	install -d -m 755 -o "$T_USER" -g "$T_USER" "$FIX/lane$k"
	cp -a "$REPO" "$FIX/repo$k"
done
export MCP_LANES=3 MCP_HXHOME="$HXHOME" MCP_FIX="$FIX" MCP_SDIR="$SDIR" MCP_SENT="$SENT" MCP_REPO="$REPO" T_USER MCP_SERVER_LOG="$FIX/mcp-server.log"
T=900 mcp_scenarios "$MCP_DIR/redteam.mjs"
