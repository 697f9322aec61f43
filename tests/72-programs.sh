#!/bin/bash
# 72-programs: programs that take an `ssh` command run with `sshmcp exec` in its place, and
# do what they do with ssh on the same server: git clone and push (GIT_SSH_COMMAND), rsync -e,
# scp -S (SFTP mode and legacy -O), sftp -S -b, an Ansible playbook (ansible_ssh_executable).
. "$(dirname "$0")/lib.sh"

sshd_start MAIN
trust MAIN
ssh_alias h MAIN

# scp, sftp and rsync take one program; the wrapper adds `exec` (scp/sftp pass ssh's options)
printf '#!/bin/sh\nexec "%s" exec "$@"\n' "$SSHMCP" >"$FIX/sshmcp-wrap"
chmod 755 "$FIX/sshmcp-wrap"
printf '#!/bin/sh\nexec ssh -F "%s" -o BatchMode=yes -o IdentitiesOnly=yes "$@"\n' "$SSH_CONFIG" \
	>"$FIX/ssh-wrap"
chmod 755 "$FIX/ssh-wrap"
REMOTE=$FIX/remote                 # the test user's side: it may write here
mkdir -p "$REMOTE"
chown "$T_USER" "$REMOTE"
head -c 3M /dev/urandom >"$FIX/data.bin"
mkdir -p "$FIX/tree/sub"
for i in 1 2 3 4 5; do head -c $((i * 10000)) /dev/urandom >"$FIX/tree/sub/f$i"; done
echo hello >"$FIX/tree/a.txt"

# --- git: clone, commit, push, clone again, through GIT_SSH_COMMAND
if command -v git >/dev/null; then
	run su "$T_USER" -s /bin/sh -c "git init -q --bare '$REMOTE/repo.git'"
	check_exit "$RC" 0 "git: a bare repository on the far side"
	export GIT_SSH_COMMAND="$SSHMCP exec" GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t \
		GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
	T=120 run git clone -q "h:$REMOTE/repo.git" "$FIX/clone1"
	check_exit "$RC" 0 "git clone over sshmcp exec"
	cp "$FIX/data.bin" "$FIX/clone1/data.bin"
	run sh -c 'cd "$1" && git add data.bin && git commit -qm data && git push -q origin HEAD:main' sh "$FIX/clone1"
	check_exit "$RC" 0 "git push over sshmcp exec"
	GIT_SSH_COMMAND="$FIX/ssh-wrap" T=120 run git clone -q -b main "h:$REMOTE/repo.git" "$FIX/clone2"
	check_exit "$RC" 0 "git clone over ssh of what sshmcp pushed"
	if cmp -s "$FIX/data.bin" "$FIX/clone2/data.bin"; then ok "git: ssh's clone holds the pushed bytes"
	else fail "git: ssh's clone holds the pushed bytes"; fi
	T=120 run git clone -q -b main "ssh://$T_USER@h$REMOTE/repo.git" "$FIX/clone3"
	check_exit "$RC" 0 "git clone of an ssh:// URL over sshmcp exec"
	unset GIT_SSH_COMMAND
else
	skip "git" "git is not installed"
fi

# --- rsync -e: a tree up, then back down, compared with what ssh's rsync gives
if command -v rsync >/dev/null; then
	T=120 run rsync -a -e "$SSHMCP exec" "$FIX/tree/" "h:$REMOTE/tree-mcp/"
	check_exit "$RC" 0 "rsync -e 'sshmcp exec' up"
	T=120 run rsync -a -e "$FIX/ssh-wrap" "$FIX/tree/" "h:$REMOTE/tree-ssh/"
	run diff -r "$REMOTE/tree-mcp" "$REMOTE/tree-ssh"
	check_exit "$RC" 0 "rsync up: the same tree as ssh's rsync made"
	T=120 run rsync -a -e "$SSHMCP exec" "h:$REMOTE/tree-mcp/" "$FIX/tree-back/"
	run diff -r "$FIX/tree" "$FIX/tree-back"
	check_exit "$RC" 0 "rsync -e 'sshmcp exec' down: the tree comes back whole"
	echo changed >"$FIX/tree/a.txt"
	T=120 run rsync -a --stats -e "$SSHMCP exec" "$FIX/tree/" "h:$REMOTE/tree-mcp/"
	check_contains "$OUT" "Number of regular files transferred: 1" "rsync: a second run sends only the change"
else
	skip "rsync" "rsync is not installed"
fi

# --- scp -S: SFTP mode (OpenSSH 9's default: ssh -s sftp) and legacy -O (scp -t/-f)
for mode in "" -O; do
	rm -f "$REMOTE/scp.bin" "$FIX/scp.back"
	# shellcheck disable=SC2086
	T=120 run scp $mode -q -S "$FIX/sshmcp-wrap" "$FIX/data.bin" "h:$REMOTE/scp.bin"
	check_exit "$RC" 0 "scp ${mode:-(sftp)} -S 'sshmcp exec' up"
	# shellcheck disable=SC2086
	T=120 run scp $mode -q -S "$FIX/sshmcp-wrap" "h:$REMOTE/scp.bin" "$FIX/scp.back"
	check_exit "$RC" 0 "scp ${mode:-(sftp)} -S 'sshmcp exec' down"
	if cmp -s "$FIX/data.bin" "$FIX/scp.back"; then ok "scp ${mode:-(sftp)}: the same bytes back"
	else fail "scp ${mode:-(sftp)}: the same bytes back" "$(_last)"; fi
	# shellcheck disable=SC2086
	T=120 run scp $mode -r -q -S "$FIX/sshmcp-wrap" "$FIX/tree" "h:$REMOTE/scp-tree$mode"
	run diff -r "$FIX/tree" "$REMOTE/scp-tree$mode"
	check_exit "$RC" 0 "scp ${mode:-(sftp)} -r: a tree up, whole"
	# shellcheck disable=SC2086
	run scp $mode -q -S "$FIX/sshmcp-wrap" "h:$REMOTE/no-such-file" "$FIX/x"
	want=$RC
	# shellcheck disable=SC2086
	run scp $mode -q -S "$FIX/ssh-wrap" "h:$REMOTE/no-such-file" "$FIX/x"
	check_exit "$want" "$RC" "scp ${mode:-(sftp)}: a missing file fails as with ssh (exit $RC)"
done

# --- sftp -S -b: a batch, side by side with ssh
printf 'cd %s\nput %s ab.bin\nls ab.bin\nget ab.bin %s\nrename ab.bin cd.bin\nls\nrm cd.bin\n' \
	"$REMOTE" "$FIX/data.bin" "$FIX/sftp.back" >"$FIX/batch"
T=120 run sftp -S "$FIX/ssh-wrap" -b "$FIX/batch" h; want_rc=$RC want=$(grep -v '^sftp>' <<<"$OUT")
rm -f "$FIX/sftp.back"
T=120 run sftp -S "$FIX/sshmcp-wrap" -b "$FIX/batch" h
check_exit "$RC" "$want_rc" "sftp -S 'sshmcp exec' -b: exit $want_rc, as ssh"
check_eq "$(grep -v '^sftp>' <<<"$OUT")" "$want" "sftp -b: the same listing as through ssh"
if cmp -s "$FIX/data.bin" "$FIX/sftp.back"; then ok "sftp -b: get returns the put bytes"
else fail "sftp -b: get returns the put bytes"; fi
printf 'get %s/nothing-here %s/x\n' "$REMOTE" "$FIX" >"$FIX/batch2"
run sftp -S "$FIX/ssh-wrap" -b "$FIX/batch2" h; want=$RC
run sftp -S "$FIX/sshmcp-wrap" -b "$FIX/batch2" h
check_exit "$RC" "$want" "sftp -b: a failing batch exits $want, as ssh"

# --- Ansible: a playbook that makes a directory, copies, templates, runs and fetches, once
#     with ansible_ssh_executable=sshmcp and once with ssh; the same recap, the same files.
#     Ansible's own multiplexing options (ControlMaster, ControlPersist, ControlPath) come
#     along. Files go through the ssh executable itself (transfer method "piped"): Ansible
#     starts sftp and scp without -S, so they would use the system's ssh.
if command -v ansible-playbook >/dev/null; then
	printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" exec "$@"\n' "$FIX/ansible-calls" "$SSHMCP" >"$FIX/sshmcp-ansible"
	chmod 755 "$FIX/sshmcp-ansible"
	printf 'host {{ inventory_hostname }} via {{ tag }}\n{%% for i in range(3) %%}line {{ i }}\n{%% endfor %%}\n' >"$FIX/t.j2"
	cat >"$FIX/play.yml" <<EOF
- hosts: all
  gather_facts: false
  tasks:
    - file: path=$REMOTE/an-{{ tag }} state=directory
    - copy: src=$FIX/data.bin dest=$REMOTE/an-{{ tag }}/data.bin
    - template: src=$FIX/t.j2 dest=$REMOTE/an-{{ tag }}/t.txt
    - command: sha256sum $REMOTE/an-{{ tag }}/data.bin
      register: sum
    - debug: msg="sum {{ sum.stdout.split()[0] }}"
    - fetch: src=$REMOTE/an-{{ tag }}/t.txt dest=$FIX/fetched-{{ tag }}/ flat=yes
EOF
	# TAG EXE [ARGS]: the playbook through EXE; the recap line in RECAP
	play() {
		T=300 run env ANSIBLE_LOCAL_TEMP="$FIX/ansible-tmp" ANSIBLE_NOCOLOR=1 \
			ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_SSH_TRANSFER_METHOD=piped \
			ansible-playbook -i "h," -e "tag=$1 ansible_ssh_executable=$2" "${@:3}" \
			-e ansible_python_interpreter=/usr/bin/python3 "$FIX/play.yml"
		RECAP=$(grep -E '^h +:' <<<"$OUT" | tr -s ' ')
	}
	for round in first second; do
		# ssh's master would outlive the test (ControlPersist): no multiplexing for it
		play ssh "$FIX/ssh-wrap" -e '{"ansible_ssh_args": "-o ControlMaster=no"}'; want_rc=$RC want=$RECAP
		play mcp "$FIX/sshmcp-ansible"
		check_exit "$RC" "$want_rc" "ansible-playbook over sshmcp, $round run: exit $want_rc, as over ssh"
		check_eq "$RECAP" "$want" "ansible, $round run: the same recap as over ssh ($want)"
	done
	check_contains "$OUT" "sum $(sha256sum <"$FIX/data.bin" | cut -d' ' -f1)" "ansible: the copied file's sha256 on the far side"
	if cmp -s "$REMOTE/an-mcp/data.bin" "$REMOTE/an-ssh/data.bin"; then ok "ansible copy: the same bytes as over ssh"
	else fail "ansible copy: the same bytes as over ssh"; fi
	check_eq "$(sed 's/via mcp/via X/' "$REMOTE/an-mcp/t.txt")" "$(sed 's/via ssh/via X/' "$REMOTE/an-ssh/t.txt")" \
		"ansible template: the same text as over ssh"
	check_eq "$(cat "$FIX/fetched-mcp/t.txt" 2>&1)" "$(cat "$REMOTE/an-mcp/t.txt")" "ansible fetch: the template's text comes back"
	check_contains "$(cat "$FIX/ansible-calls")" "ControlPersist" "ansible: its calls went through sshmcp, ControlPersist and all"
else
	skip "ansible" "ansible-playbook is not installed"
fi
