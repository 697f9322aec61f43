/* crypto.c — tests for patches/libssh2-0001-mbedtls-ed25519.patch: Ed25519 and X25519 in
 * libssh2's mbedTLS backend, and private keys in OpenSSH format.
 *
 *   crypto VECTOR_DIR [KEY_DIR]   run the tests; one line per failure, then "N passed, N failed"
 *   crypto -b                     Ed25519 sign/verify and X25519 speed
 *
 * VECTOR_DIR is tests/vectors (RFC 8032, Project Wycheproof; see its README). KEY_DIR holds
 * ssh-keygen output, a private key NAME beside each NAME.pub; NAME ending in "-pw" is
 * encrypted with the passphrase KEY_PASSPHRASE. Each key must load from file and from memory
 * with no .pub help, and give back exactly the public key blob of NAME.pub.
 *
 * The program links the static libssh2.a and libmbedcrypto.a and calls the backend's
 * internal functions, declared below as in libssh2's src/crypto.h and src/mbedtls.h.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libssh2.h>
#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>

#include "vectors.h"

#define LINE_MAX_LEN   4096            /* longest vector line (TEST 1024: 2.3 kB) */
#define MSG_MAX        2048            /* longest message in the vectors, in bytes */
#define KEYFILE_MAX    16384           /* largest private key file (RSA 3072: 2.6 kB) */
#define KEY_PASSPHRASE "sshmcp-test"
#define BENCH_SECONDS  1.0

/* ====================================================== libssh2 internals === */

typedef struct ed_ctx ed_ctx;          /* libssh2_ed25519_ctx, opaque here */
typedef struct rsa_ctx rsa_ctx;        /* mbedtls_rsa_context */
typedef struct ec_ctx ec_ctx;          /* mbedtls_ecdsa_context */

int _libssh2_ed25519_new_public(ed_ctx **ctx, LIBSSH2_SESSION *session,
                                const unsigned char *raw_pub_key, const size_t key_len);
int _libssh2_ed25519_verify(ed_ctx *ctx, const uint8_t *s, size_t s_len,
                            const uint8_t *m, size_t m_len);
int _libssh2_ed25519_sign(ed_ctx *ctx, LIBSSH2_SESSION *session, uint8_t **out_sig,
                          size_t *out_sig_len, const uint8_t *message, size_t message_len);
int _libssh2_ed25519_new_private(ed_ctx **ctx, LIBSSH2_SESSION *session,
                                 const char *filename, const uint8_t *passphrase);
int _libssh2_ed25519_new_private_frommemory(ed_ctx **ctx, LIBSSH2_SESSION *session,
                                            const char *filedata, size_t filedata_len,
                                            const unsigned char *passphrase);
void _libssh2_mbedtls_ed25519_free(ed_ctx *ctx);
int _libssh2_curve25519_new(LIBSSH2_SESSION *session, uint8_t **out_public_key,
                            uint8_t **out_private_key);
int _libssh2_curve25519_gen_k(mbedtls_mpi **k, uint8_t private_key[32],
                              uint8_t server_public_key[32]);
int _libssh2_mbedtls_pub_priv_keyfile(LIBSSH2_SESSION *session, unsigned char **method,
                                      size_t *method_len, unsigned char **pubkeydata,
                                      size_t *pubkeydata_len, const char *privatekey,
                                      const char *passphrase);
int _libssh2_mbedtls_pub_priv_keyfilememory(LIBSSH2_SESSION *session, unsigned char **method,
                                            size_t *method_len, unsigned char **pubkeydata,
                                            size_t *pubkeydata_len, const char *privatekeydata,
                                            size_t privatekeydata_len, const char *passphrase);
int _libssh2_mbedtls_rsa_new_private(rsa_ctx **rsa, LIBSSH2_SESSION *session,
                                     const char *filename, const unsigned char *passphrase);
int _libssh2_mbedtls_rsa_new_private_frommemory(rsa_ctx **rsa, LIBSSH2_SESSION *session,
                                                const char *filedata, size_t filedata_len,
                                                const unsigned char *passphrase);
void _libssh2_mbedtls_rsa_free(rsa_ctx *rsa);
int _libssh2_mbedtls_ecdsa_new_private(ec_ctx **ctx, LIBSSH2_SESSION *session,
                                       const char *filename, const unsigned char *passphrase);
int _libssh2_mbedtls_ecdsa_new_private_frommemory(ec_ctx **ctx, LIBSSH2_SESSION *session,
                                                  const char *filedata, size_t filedata_len,
                                                  const unsigned char *passphrase);
void _libssh2_mbedtls_ecdsa_free(ec_ctx *ctx);

/* ============================================================ harness === */

static size_t read_file(const char *path, char *buf, size_t cap);
static void put32(unsigned char **p, size_t v);
static void putstr(unsigned char **p, const void *data, size_t len);
static int ed_key_from_seed(LIBSSH2_SESSION *s, ed_ctx **ctx, const unsigned char seed[32],
                            const unsigned char pub[32]);
static int x25519(unsigned char out[32], const unsigned char priv[32],
                  const unsigned char pub[32]);
static void test_rfc8032(LIBSSH2_SESSION *s, const char *dir, struct tally *t);
static void test_wycheproof_ed25519(LIBSSH2_SESSION *s, const char *dir, struct tally *t);
static void test_ed25519_misc(LIBSSH2_SESSION *s, struct tally *t);
static void test_rfc7748(struct tally *t);
static void test_wycheproof_x25519(const char *dir, struct tally *t);
static void test_curve25519_new(LIBSSH2_SESSION *s, struct tally *t);
static void test_key(LIBSSH2_SESSION *s, const char *dir, const char *name, struct tally *t);
static void test_keys(LIBSSH2_SESSION *s, const char *dir, struct tally *t);
static double now(void);
static void bench(LIBSSH2_SESSION *s);

static size_t
read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n < cap ? n : 0;
}

/* SSH wire format: uint32 and string (RFC 4251 5). */
static void
put32(unsigned char **p, size_t v)
{
	(*p)[0] = (unsigned char)(v >> 24);
	(*p)[1] = (unsigned char)(v >> 16);
	(*p)[2] = (unsigned char)(v >> 8);
	(*p)[3] = (unsigned char)v;
	*p += 4;
}

static void
putstr(unsigned char **p, const void *data, size_t len)
{
	put32(p, len);
	memcpy(*p, data, len);
	*p += len;
}

/* ============================================================ Ed25519 === */

/* An Ed25519 key from a raw seed, through the openssh-key-v1 parser like any key file:
 * "openssh-key-v1\0", cipher "none", kdf "none", kdf options "", 1 key, the public blob,
 * then the private section (check ints, type, public key, seed || public, comment, padding),
 * in base64 lines of 70 between the PEM armour lines. */
static int
ed_key_from_seed(LIBSSH2_SESSION *s, ed_ctx **ctx, const unsigned char seed[32],
                 const unsigned char pub[32])
{
	unsigned char bin[512], sec[256], b64[700], *p = bin, *q = sec;
	char pem[1024];
	size_t b64len = 0, i, pemlen;
	int pad;

	put32(&q, 0x12345678);
	put32(&q, 0x12345678);
	putstr(&q, "ssh-ed25519", 11);
	putstr(&q, pub, 32);
	put32(&q, 64);
	memcpy(q, seed, 32);
	memcpy(q + 32, pub, 32);
	q += 64;
	putstr(&q, "test", 4);
	for (pad = 1; (q - sec) % 8; pad++)
		*q++ = (unsigned char)pad;

	memcpy(p, "openssh-key-v1", 15);
	p += 15;
	putstr(&p, "none", 4);
	putstr(&p, "none", 4);
	putstr(&p, "", 0);
	put32(&p, 1);
	put32(&p, 4 + 11 + 4 + 32);
	putstr(&p, "ssh-ed25519", 11);
	putstr(&p, pub, 32);
	putstr(&p, sec, (size_t)(q - sec));
	if (mbedtls_base64_encode(b64, sizeof(b64), &b64len, bin, (size_t)(p - bin)))
		return -1;
	pemlen = (size_t)snprintf(pem, sizeof(pem), "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (i = 0; i < b64len; i += 70)
		pemlen += (size_t)snprintf(pem + pemlen, sizeof(pem) - pemlen, "%.*s\n",
					   (int)(b64len - i < 70 ? b64len - i : 70), b64 + i);
	pemlen += (size_t)snprintf(pem + pemlen, sizeof(pem) - pemlen,
				   "-----END OPENSSH PRIVATE KEY-----\n");
	if (pemlen >= sizeof(pem))
		return -1;
	return _libssh2_ed25519_new_private_frommemory(ctx, s, pem, pemlen, NULL);
}

static void
test_rfc8032(LIBSSH2_SESSION *s, const char *dir, struct tally *t)
{
	char line[LINE_MAX_LEN], *f[5];
	unsigned char seed[32], pub[32], msg[MSG_MAX], sig[64], *out = NULL;
	size_t mlen, outlen = 0;
	ed_ctx *priv = NULL, *pubctx = NULL;
	FILE *fp = vec_open_counted(dir, "rfc8032-ed25519.txt", t);
	int r, ok;

	while (fp && (r = vec_read_line(fp, line, sizeof(line))) != 0) {
		if (r < 0 || !vec_split(line, f, 5) || vec_unhex(seed, 32, f[1]) != 32 ||
		    vec_unhex(pub, 32, f[2]) != 32 || vec_unhex(sig, 64, f[4]) != 64 ||
		    (mlen = vec_unhex(msg, sizeof(msg), f[3])) == VEC_BAD) {
			vec_check(t, 0, "RFC 8032 vector line", line);
			break;
		}
		ok = ed_key_from_seed(s, &priv, seed, pub) == 0;
		vec_check(t, ok, "RFC 8032 key from seed (public key derived from seed)", f[0]);
		if (ok) {
			ok = _libssh2_ed25519_sign(priv, s, &out, &outlen, msg, mlen) == 0;
			vec_check(t, ok && outlen == 64 && memcmp(out, sig, 64) == 0,
			      "RFC 8032 sign gives the RFC signature", f[0]);
			libssh2_free(s, out);
			out = NULL;
			_libssh2_mbedtls_ed25519_free(priv);
			priv = NULL;
		}
		ok = _libssh2_ed25519_new_public(&pubctx, s, pub, 32) == 0;
		vec_check(t, ok && _libssh2_ed25519_verify(pubctx, sig, 64, msg, mlen) == 0,
		      "RFC 8032 verify", f[0]);
		if (ok && mlen > 0) {
			msg[0] ^= 1;
			vec_check(t, _libssh2_ed25519_verify(pubctx, sig, 64, msg, mlen) != 0,
			      "RFC 8032 verify rejects a changed message", f[0]);
		}
		if (ok)
			_libssh2_mbedtls_ed25519_free(pubctx);
		pubctx = NULL;
	}
	if (fp)
		fclose(fp);
}

static void
test_wycheproof_ed25519(LIBSSH2_SESSION *s, const char *dir, struct tally *t)
{
	char line[LINE_MAX_LEN], *f[5], name[64];
	unsigned char pub[32], msg[MSG_MAX], sig[128];
	size_t mlen, slen;
	ed_ctx *ctx = NULL;
	FILE *fp = vec_open_counted(dir, "wycheproof-ed25519.txt", t);
	int r, valid, accepted;

	while (fp && (r = vec_read_line(fp, line, sizeof(line))) != 0) {
		if (r < 0 || !vec_split(line, f, 5) || vec_unhex(pub, 32, f[2]) != 32 ||
		    (mlen = vec_unhex(msg, sizeof(msg), f[3])) == VEC_BAD ||
		    (slen = vec_unhex(sig, sizeof(sig), f[4])) == VEC_BAD ||
		    (strcmp(f[1], "valid") != 0 && strcmp(f[1], "invalid") != 0)) {
			vec_check(t, 0, "Wycheproof Ed25519 vector line", line);
			break;
		}
		valid = strcmp(f[1], "valid") == 0;
		accepted = _libssh2_ed25519_new_public(&ctx, s, pub, 32) == 0 &&
			   _libssh2_ed25519_verify(ctx, sig, slen, msg, mlen) == 0;
		_libssh2_mbedtls_ed25519_free(ctx);
		ctx = NULL;
		snprintf(name, sizeof(name), "tcId %s (%s)", f[0], f[1]);
		vec_check(t, accepted == valid, "Wycheproof Ed25519 verify", name);
	}
	if (fp)
		fclose(fp);
}

/* Sign and verify round trips with fresh messages, and the length checks. */
static void
test_ed25519_misc(LIBSSH2_SESSION *s, struct tally *t)
{
	unsigned char seed[32], pub[32] = { 0 }, msg[300], *sig = NULL;
	size_t siglen = 0, i, len;
	ed_ctx *priv = NULL, *pubctx = NULL;
	int ok = 1;

	/* RFC 8032 TEST 1's key; its public key comes from the parser's own derivation. */
	vec_unhex(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	vec_unhex(pub, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	if (ed_key_from_seed(s, &priv, seed, pub) || _libssh2_ed25519_new_public(&pubctx, s, pub, 32)) {
		vec_check(t, 0, "Ed25519 round trip", "key setup");
		return;
	}
	for (len = 0; len < sizeof(msg); len += 37) {
		for (i = 0; i < len; i++)
			msg[i] = (unsigned char)(i * 7 + len);
		ok &= _libssh2_ed25519_sign(priv, s, &sig, &siglen, msg, len) == 0 && siglen == 64 &&
		      _libssh2_ed25519_verify(pubctx, sig, 64, msg, len) == 0;
		if (sig) {
			sig[63] ^= 0x10;        /* S + 2^252 >= L: non-canonical */
			ok &= _libssh2_ed25519_verify(pubctx, sig, 64, msg, len) != 0;
			libssh2_free(s, sig);
			sig = NULL;
		}
	}
	vec_check(t, ok, "Ed25519 sign/verify round trip", "messages 0..296 bytes");
	_libssh2_mbedtls_ed25519_free(priv);
	priv = NULL;
	seed[0] ^= 1;
	ok = ed_key_from_seed(s, &priv, seed, pub) != 0;
	vec_check(t, ok, "Ed25519 key whose public key does not match its seed is refused",
	      "TEST 1 seed^1");
	if (!ok)
		_libssh2_mbedtls_ed25519_free(priv);
	vec_check(t, _libssh2_ed25519_verify(pubctx, msg, 63, msg, 0) != 0 &&
		 _libssh2_ed25519_verify(pubctx, msg, 65, msg, 0) != 0,
	      "Ed25519 verify refuses a signature that is not 64 bytes", "63, 65");
	_libssh2_mbedtls_ed25519_free(pubctx);
	pubctx = NULL;
	vec_check(t, _libssh2_ed25519_new_public(&pubctx, s, pub, 31) != 0,
	      "Ed25519 public key that is not 32 bytes is refused", "31");
}

/* ============================================================= X25519 === */

/* X25519 through the key exchange's own entry point: K comes back as an mpi holding the
 * 32 output bytes read big-endian (RFC 8731), so writing it as 32 bytes gives them back. */
static int
x25519(unsigned char out[32], const unsigned char priv[32], const unsigned char pub[32])
{
	mbedtls_mpi k, *kp = &k;
	unsigned char a[32], b[32];
	int ret;

	memcpy(a, priv, 32);
	memcpy(b, pub, 32);
	mbedtls_mpi_init(&k);
	ret = _libssh2_curve25519_gen_k(&kp, a, b);
	if (ret == 0)
		ret = mbedtls_mpi_write_binary(&k, out, 32);
	mbedtls_mpi_free(&k);
	return ret;
}

static void
test_rfc7748(struct tally *t)
{
	static const struct {
		const char *name, *scalar, *u, *out;
	} v[] = {
		{ "5.2 vector 1", "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "5.2 vector 2", "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
		{ "6.1 Alice public", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
		  "0900000000000000000000000000000000000000000000000000000000000000",
		  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a" },
		{ "6.1 Bob public", "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
		  "0900000000000000000000000000000000000000000000000000000000000000",
		  "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f" },
		{ "6.1 Alice shared", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
		  "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
		  "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" },
		{ "6.1 Bob shared", "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
		  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
		  "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" },
	};
	unsigned char k[32], u[32], want[32], out[32];
	size_t i;
	int n, ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		vec_unhex(k, 32, v[i].scalar);
		vec_unhex(u, 32, v[i].u);
		vec_unhex(want, 32, v[i].out);
		vec_check(t, x25519(out, k, u) == 0 && memcmp(out, want, 32) == 0, "RFC 7748",
		      v[i].name);
	}
	/* 5.2 iterations: k, u = X25519(k, u), k, from k = u = 9. */
	memset(k, 0, 32);
	k[0] = 9;
	memcpy(u, k, 32);
	for (n = 1; n <= 1000 && ok; n++) {
		ok = x25519(out, k, u) == 0;
		memcpy(u, k, 32);
		memcpy(k, out, 32);
		if (n == 1) {
			vec_unhex(want, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
			vec_check(t, ok && memcmp(k, want, 32) == 0, "RFC 7748", "5.2 after 1 iteration");
		}
	}
	vec_unhex(want, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	vec_check(t, ok && memcmp(k, want, 32) == 0, "RFC 7748", "5.2 after 1000 iterations");
}

static void
test_wycheproof_x25519(const char *dir, struct tally *t)
{
	static const unsigned char zero[32];
	char line[LINE_MAX_LEN], *f[5], name[64];
	unsigned char pub[32], priv[32], want[32], out[32];
	FILE *fp = vec_open_counted(dir, "wycheproof-x25519.txt", t);
	int r, ok;

	while (fp && (r = vec_read_line(fp, line, sizeof(line))) != 0) {
		if (r < 0 || !vec_split(line, f, 5) || vec_unhex(pub, 32, f[2]) != 32 ||
		    vec_unhex(priv, 32, f[3]) != 32 || vec_unhex(want, 32, f[4]) != 32) {
			vec_check(t, 0, "Wycheproof X25519 vector line", line);
			break;
		}
		ok = x25519(out, priv, pub) == 0;
		snprintf(name, sizeof(name), "tcId %s (%s)", f[0], f[1]);
		if (memcmp(want, zero, 32) == 0)
			vec_check(t, !ok, "Wycheproof X25519 all-zero secret must fail", name);
		else
			vec_check(t, ok && memcmp(out, want, 32) == 0, "Wycheproof X25519 shared secret",
			      name);
	}
	if (fp)
		fclose(fp);
}

/* A fresh key pair: the public key is X25519(private, 9), and two pairs agree. */
static void
test_curve25519_new(LIBSSH2_SESSION *s, struct tally *t)
{
	unsigned char nine[32] = { 9 }, out[32], ab[32], ba[32];
	uint8_t *apub = NULL, *apriv = NULL, *bpub = NULL, *bpriv = NULL;
	int ok;

	ok = _libssh2_curve25519_new(s, &apub, &apriv) == 0 &&
	     _libssh2_curve25519_new(s, &bpub, &bpriv) == 0;
	vec_check(t, ok, "curve25519 key pair", "_libssh2_curve25519_new");
	if (!ok)
		return;
	vec_check(t, x25519(out, apriv, nine) == 0 && memcmp(out, apub, 32) == 0,
	      "curve25519 public key is X25519(private, 9)", "_libssh2_curve25519_new");
	vec_check(t, x25519(ab, apriv, bpub) == 0 && x25519(ba, bpriv, apub) == 0 &&
		 memcmp(ab, ba, 32) == 0, "curve25519 both sides agree", "_libssh2_curve25519_new");
	libssh2_free(s, apub);
	libssh2_free(s, apriv);
	libssh2_free(s, bpub);
	libssh2_free(s, bpriv);
}

/* ======================================================== key loading === */

static void
test_key(LIBSSH2_SESSION *s, const char *dir, const char *name, struct tally *t)
{
	char path[1024], pubpath[1100], pubtext[KEYFILE_MAX], keytext[KEYFILE_MAX];
	char *sp1, *sp2;
	unsigned char blob[KEYFILE_MAX], *method = NULL, *pub = NULL;
	size_t bloblen = 0, method_len = 0, pub_len = 0, keylen, typelen;
	const char *pw = strstr(name, "-pw") ? KEY_PASSPHRASE : NULL;
	const unsigned char *upw = (const unsigned char *)pw;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
	keylen = read_file(path, keytext, sizeof(keytext));
	if (!read_file(pubpath, pubtext, sizeof(pubtext) - 1) || !keylen ||
	    !(sp1 = strchr(pubtext, ' '))) {
		vec_check(t, 0, "key files readable", name);
		return;
	}
	*sp1++ = '\0';
	typelen = strlen(pubtext);
	sp2 = sp1 + strcspn(sp1, " \n");
	*sp2 = '\0';
	if (mbedtls_base64_decode(blob, sizeof(blob), &bloblen, (unsigned char *)sp1,
				  strlen(sp1))) {
		vec_check(t, 0, ".pub base64", name);
		return;
	}

	/* What libssh2_userauth_publickey_fromfile() does with no .pub file. */
	ok = _libssh2_mbedtls_pub_priv_keyfile(s, &method, &method_len, &pub, &pub_len, path,
					       pw) == 0;
	vec_check(t, ok && method_len == typelen && memcmp(method, pubtext, typelen) == 0 &&
		 pub_len == bloblen && memcmp(pub, blob, bloblen) == 0,
	      "public key from private key file equals .pub", name);
	libssh2_free(s, method);
	libssh2_free(s, pub);
	method = pub = NULL;
	ok = _libssh2_mbedtls_pub_priv_keyfilememory(s, &method, &method_len, &pub, &pub_len,
						     keytext, keylen, pw) == 0;
	vec_check(t, ok && method_len == typelen && memcmp(method, pubtext, typelen) == 0 &&
		 pub_len == bloblen && memcmp(pub, blob, bloblen) == 0,
	      "public key from private key in memory equals .pub", name);
	libssh2_free(s, method);
	libssh2_free(s, pub);
	method = pub = NULL;
	if (pw)
		vec_check(t, _libssh2_mbedtls_pub_priv_keyfile(s, &method, &method_len, &pub,
							   &pub_len, path, "wrong") != 0,
		      "wrong passphrase is refused", name);

	/* The private key itself, as the signing code loads it. */
	if (strcmp(pubtext, "ssh-ed25519") == 0) {
		ed_ctx *fk = NULL, *mk = NULL, *pk = NULL;
		unsigned char *sig = NULL;
		size_t siglen = 0;

		ok = _libssh2_ed25519_new_private(&fk, s, path, upw) == 0 &&
		     _libssh2_ed25519_new_private_frommemory(&mk, s, keytext, keylen, upw) == 0 &&
		     _libssh2_ed25519_new_public(&pk, s, blob + 19, 32) == 0 &&
		     _libssh2_ed25519_sign(fk, s, &sig, &siglen, (const unsigned char *)name,
					   strlen(name)) == 0 &&
		     _libssh2_ed25519_verify(pk, sig, siglen, (const unsigned char *)name,
					     strlen(name)) == 0;
		vec_check(t, ok, "Ed25519 private key loads, signs, .pub verifies", name);
		libssh2_free(s, sig);
		_libssh2_mbedtls_ed25519_free(fk);
		_libssh2_mbedtls_ed25519_free(mk);
		_libssh2_mbedtls_ed25519_free(pk);
	} else if (strcmp(pubtext, "ssh-rsa") == 0) {
		rsa_ctx *fk = NULL, *mk = NULL;

		ok = _libssh2_mbedtls_rsa_new_private(&fk, s, path, upw) == 0 &&
		     _libssh2_mbedtls_rsa_new_private_frommemory(&mk, s, keytext, keylen, upw) == 0;
		vec_check(t, ok, "RSA private key loads from file and memory", name);
		if (fk)
			_libssh2_mbedtls_rsa_free(fk);
		if (mk)
			_libssh2_mbedtls_rsa_free(mk);
	} else {
		ec_ctx *fk = NULL, *mk = NULL;

		ok = _libssh2_mbedtls_ecdsa_new_private(&fk, s, path, upw) == 0 &&
		     _libssh2_mbedtls_ecdsa_new_private_frommemory(&mk, s, keytext, keylen,
								   upw) == 0;
		vec_check(t, ok, "ECDSA private key loads from file and memory", name);
		if (fk)
			_libssh2_mbedtls_ecdsa_free(fk);
		if (mk)
			_libssh2_mbedtls_ecdsa_free(mk);
	}
}

static void
test_keys(LIBSSH2_SESSION *s, const char *dir, struct tally *t)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char name[256];
	size_t n;
	int count = 0;

	if (!d)
		vec_check(t, 0, "cannot open key directory", dir);
	while (d && (e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 5 || n >= sizeof(name) || strcmp(e->d_name + n - 4, ".pub") != 0)
			continue;
		memcpy(name, e->d_name, n - 4);
		name[n - 4] = '\0';
		test_key(s, dir, name, t);
		count++;
	}
	if (d)
		closedir(d);
	if (count == 0)
		vec_check(t, 0, "no NAME.pub in key directory", dir);
}

/* ============================================================== speed === */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench(LIBSSH2_SESSION *s)
{
	unsigned char seed[32], pub[32], msg[64] = "sshmcp", *sig = NULL, k[32], out[32];
	size_t siglen;
	ed_ctx *priv = NULL, *pubctx = NULL;
	double t0, dt;
	int n;

	vec_unhex(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	vec_unhex(pub, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	if (ed_key_from_seed(s, &priv, seed, pub) || _libssh2_ed25519_new_public(&pubctx, s, pub, 32))
		return;
	for (n = 0, t0 = now(); (dt = now() - t0) < BENCH_SECONDS; n++) {
		_libssh2_ed25519_sign(priv, s, &sig, &siglen, msg, sizeof(msg));
		libssh2_free(s, sig);
	}
	printf("ed25519 sign:   %8.0f/s\n", n / dt);
	_libssh2_ed25519_sign(priv, s, &sig, &siglen, msg, sizeof(msg));
	for (n = 0, t0 = now(); (dt = now() - t0) < BENCH_SECONDS; n++)
		_libssh2_ed25519_verify(pubctx, sig, 64, msg, sizeof(msg));
	printf("ed25519 verify: %8.0f/s\n", n / dt);
	libssh2_free(s, sig);
	memcpy(k, seed, 32);
	for (n = 0, t0 = now(); (dt = now() - t0) < BENCH_SECONDS; n++)
		x25519(out, k, pub);
	printf("x25519:         %8.0f/s\n", n / dt);
	_libssh2_mbedtls_ed25519_free(priv);
	_libssh2_mbedtls_ed25519_free(pubctx);
}

/* =============================================================== main === */

int
main(int argc, char **argv)
{
	struct tally t = { 0, 0 };
	LIBSSH2_SESSION *s;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: crypto VECTOR_DIR [KEY_DIR] | crypto -b\n");
		return 2;
	}
	if (libssh2_init(0) || !(s = libssh2_session_init())) {
		fprintf(stderr, "crypto: libssh2 init failed\n");
		return 2;
	}
	if (strcmp(argv[1], "-b") == 0) {
		bench(s);
	} else {
		test_rfc8032(s, argv[1], &t);
		test_wycheproof_ed25519(s, argv[1], &t);
		test_ed25519_misc(s, &t);
		test_rfc7748(&t);
		test_wycheproof_x25519(argv[1], &t);
		test_curve25519_new(s, &t);
		if (argc == 3)
			test_keys(s, argv[2], &t);
		printf("%d passed, %d failed\n", t.passed, t.failed);
	}
	libssh2_session_free(s);
	libssh2_exit();
	return t.failed ? 1 : 0;
}
