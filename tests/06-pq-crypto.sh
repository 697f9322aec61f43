#!/bin/bash
# 06-pq-crypto: the post-quantum KEMs our libssh2 patch adds (patches/libssh2-0003-pq-kex.patch):
# ML-KEM-768 against every Project Wycheproof case (key generation from the seed,
# encapsulation, decapsulation with implicit rejection, malformed keys and ciphertexts), and
# sntrup761 against the NTRU Prime submission's known-answer tests.
set -u
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
PQ=${PQ:-$(dirname "$TESTS_DIR")/build/pq}
if [ ! -x "$PQ" ]; then
	echo "not ok 1 - pq test binary $PQ is missing (make build/pq)"
	echo "# counts 0 1"
	exit 1
fi
out=$(timeout 300 "$PQ" "$TESTS_DIR/vectors" 2>&1); rc=$?
printf '%s\n' "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$' | sed 's/^FAIL/not ok - FAIL/'
line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -z "$line" ]; then
	echo "not ok - pq test crashed (exit $rc)"
	echo "# counts 0 1"
	exit 1
fi
read -r p _ f _ <<<"${line/,/}"
[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
echo "# counts $p $f"
