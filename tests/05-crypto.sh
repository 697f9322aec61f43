#!/bin/bash
# 05-crypto: the Ed25519/X25519 code our libssh2 patch adds, against RFC 8032, RFC 7748 and
# every Project Wycheproof case; then key loading: each key type ssh-keygen writes (OpenSSH
# and PEM formats, plain and with a passphrase) loads, and the public key derived from the
# private one equals ssh-keygen's .pub.
set -u
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
CRYPTO=${CRYPTO:-$(dirname "$TESTS_DIR")/build/crypto}
if [ ! -x "$CRYPTO" ]; then
	echo "not ok 1 - crypto test binary $CRYPTO is missing (make build/crypto)"
	echo "# counts 0 1"
	exit 1
fi
K=$(mktemp -d /tmp/sshmcp-keys.XXXXXX)
trap 'rm -rf "$K"' EXIT
for s in "rsa 2048" "rsa 3072" "ecdsa 256" "ecdsa 384" "ecdsa 521" "ed25519 256"; do
	set -- $s
	ssh-keygen -q -t "$1" -b "$2" -N "" -f "$K/$1$2"
	ssh-keygen -q -t "$1" -b "$2" -N sshmcp-test -f "$K/$1$2-pw"
done
ssh-keygen -q -t rsa -b 2048 -m PEM -N "" -f "$K/pem-rsa"
ssh-keygen -q -t rsa -b 2048 -m PEM -N sshmcp-test -f "$K/pem-rsa-pw"
ssh-keygen -q -t ecdsa -b 256 -m PEM -N "" -f "$K/pem-ecdsa256"
ssh-keygen -q -t ecdsa -b 384 -m PEM -N sshmcp-test -f "$K/pem-ecdsa384-pw"
out=$(timeout 300 "$CRYPTO" "$TESTS_DIR/vectors" "$K" 2>&1); rc=$?
printf '%s\n' "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$' | sed 's/^FAIL/not ok - FAIL/'
line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -z "$line" ]; then
	echo "not ok - crypto test crashed (exit $rc)"
	echo "# counts 0 1"
	exit 1
fi
read -r p _ f _ <<<"${line/,/}"
[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
echo "# counts $p $f"
