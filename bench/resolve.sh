#!/bin/bash
# bench/resolve.sh — 20 host names that each take DELAY s (default 1) to resolve, sshmcp beside
# OpenSSH: `sshmcp exec -H` over the 20 names, `xargs -P 20 ssh` over the same names (each ssh
# resolves in its own process), and `sshmcp exec -H` over 20 literal addresses (what the
# servers alone take). The names come from tests/fakedns.py on a loopback address, which
# answers each query after DELAY s; every client runs in a private mount namespace
# (unshare -m) where /etc/resolv.conf names only that server. RUNS (default 5) interleaved,
# medians. Goal (issue 20): 20 slow names in about DELAY s more than literal addresses.
# Not a test: prints numbers; exits non-zero only if something could not run.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
DELAY=${DELAY:-1}
N=20

sshd_start MAIN "LogLevel INFO" "MaxStartups 1000:30:1000"
trust MAIN
DNS_ADDR=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).53
"$PY" "$TESTS_DIR/fakedns.py" "$DNS_ADDR" "$DELAY" 127.0.0.1 >"$FIX/dns.out" 2>&1 &
_track $!
wait_for 5 grep -q ready "$FIX/dns.out" || die "fake DNS server did not start" "$(cat "$FIX/dns.out")"
printf 'nameserver %s\noptions timeout:5 attempts:1\n' "$DNS_ADDR" >"$FIX/resolv.conf"
echo "slowfleet $(cut -d' ' -f1,2 "$(host_pub MAIN ed25519)")" >>"$KNOWN_HOSTS"
ssh_config_raw "Host *.slow.test
  Port $MAIN_PORT
  User $T_USER
  IdentityFile $KEY_DEFAULT
  HostKeyAlias slowfleet"
for n in $(seq 1 $N); do ssh_alias "$(printf 'lit%02d' "$n")" MAIN; done
NAMES=$(printf 's%02d.slow.test ' $(seq 1 $N))
cat >"$FIX/in_ns" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' "$FIX/resolv.conf" "\$@"
EOF
# ssh uses sshmcp's key exchange, so that both do the same work (see bench/fanout.sh)
cat >"$FIX/xargs_ssh" <<EOF
#!/bin/sh
printf '%s\n' $NAMES | xargs -P $N -I{} ssh -F $SSH_CONFIG -o BatchMode=yes -o IdentitiesOnly=yes \
  -o KexAlgorithms=curve25519-sha256 {} true
EOF
chmod 755 "$FIX/in_ns" "$FIX/xargs_ssh"
HOSTS=$(echo "$NAMES" | tr ' ' ',' | sed 's/,$//')

BENCH_TIMEOUT=120 BENCH_DECIMALS=1
time_one "$FIX/in_ns" "$SSHMCP" exec -H "$HOSTS" true >/dev/null    # warm-up
: >"$FIX/slow.ms"; : >"$FIX/lit.ms"; : >"$FIX/ssh.ms"
for _ in $(seq "$RUNS"); do
	time_one "$FIX/in_ns" "$SSHMCP" exec -H "$HOSTS" true >>"$FIX/slow.ms"
	time_one "$FIX/in_ns" "$SSHMCP" exec -H "lit[01-$N]" true >>"$FIX/lit.ms"
	time_one "$FIX/in_ns" "$FIX/xargs_ssh" >>"$FIX/ssh.ms"
done
slow=$(median <"$FIX/slow.ms") lit=$(median <"$FIX/lit.ms") sshm=$(median <"$FIX/ssh.ms")
echo "resolver: \`true\` on $N names that each take $DELAY s to resolve, $RUNS runs, medians (nproc $(nproc))"
printf '  sshmcp exec -H, 20 slow names       %8.1f ms\n' "$slow"
printf '  sshmcp exec -H, 20 literal addresses %7.1f ms   (resolving added %.1f ms; goal about %d ms)\n' \
	"$lit" "$(awk -v a="$slow" -v b="$lit" 'BEGIN { print a - b }')" "$((DELAY * 1000))"
printf '  xargs -P 20 ssh, 20 slow names       %7.1f ms\n' "$sshm"
printf '  ratio sshmcp / ssh                   %7.2f\n' "$(awk -v a="$slow" -v b="$sshm" 'BEGIN { print a / b }')"
