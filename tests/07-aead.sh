#!/bin/bash
# 07-aead: the faster ChaCha20, Poly1305 and AES-GCM of patches/libssh2-0004-fast-aead.patch.
# Every implementation this CPU runs (SSE2, AVX2, AES-NI/PCLMULQDQ, and the portable ones
# they replace) passes every Project Wycheproof case, equals the portable code on all message
# lengths, and encrypts and decrypts SSH packets (chacha20-poly1305@openssh.com,
# aes*-gcm@openssh.com) through libssh2's crypt methods exactly as OpenSSL does; a changed byte
# is refused (tests/aead.c). Then the switch the other tests use: SSHMCP_AEAD_IMPL picks the
# implementation libssh2 runs on its own.
set -u
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
AEAD=${AEAD:-$(dirname "$TESTS_DIR")/build/aead}
if [ ! -x "$AEAD" ]; then
	echo "not ok 1 - AEAD test binary $AEAD is missing (make build/aead)"
	echo "# counts 0 1"
	exit 1
fi
out=$(timeout 300 "$AEAD" "$TESTS_DIR/vectors" 2>&1); rc=$?
printf '%s\n' "$out" | grep -v -E '^(1\.\.[0-9]+|# counts [0-9]+ [0-9]+)$'
line=$(printf '%s\n' "$out" | grep -E '^# counts [0-9]+ [0-9]+$' | tail -n 1)
if [ -z "$line" ]; then
	echo "not ok - aead crashed (exit $rc)"
	echo "# counts 0 1"
	exit 1
fi
read -r _ _ p f <<<"$line"
[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=$((f + 1))
n=$(printf '%s\n' "$out" | grep -c -E '^(not )?ok ')

# SSHMCP_AEAD_IMPL lowers what the CPU offers, never raises it: each primitive runs the
# lower of the level asked for and the best the CPU has.
rank() { case $1 in portable) echo 0 ;; sse2|64-bit|aes-ni/pclmulqdq) echo 1 ;; avx2) echo 2 ;;
	avx512) echo 3 ;; mbedtls) echo 0 ;; *) echo 9 ;; esac; }
best=$("$AEAD" -i 2>&1)
read -r _ bc _ bp _ bg <<<"${best//,/}"
for impl in portable sse2 avx2 avx512 ""; do
	r=$(rank "${impl:-avx512}")
	c=$bc; [ "$(rank "$bc")" -le "$r" ] || case $r in 0) c=portable ;; 1) c=sse2 ;; 2) c=avx2 ;; esac
	p1=$bp; [ "$(rank "$bp")" -le "$r" ] || case $r in 0) p1=portable ;; *) p1=64-bit ;; esac
	g=$bg; [ "$r" -gt 0 ] || g=mbedtls
	expect="chacha20 $c, poly1305 $p1, aes-gcm $g"
	got=$(SSHMCP_AEAD_IMPL=$impl "$AEAD" -i 2>&1)
	n=$((n + 1))
	if [ "$got" = "$expect" ]; then
		echo "ok $n - SSHMCP_AEAD_IMPL=${impl:-(empty)}: $got"; p=$((p + 1))
	else
		echo "not ok $n - SSHMCP_AEAD_IMPL=${impl:-(empty)}: $got, want $expect"; f=$((f + 1))
	fi
done
echo "# counts $p $f"
