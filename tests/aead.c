/* aead.c — tests for patches/libssh2-0004-fast-aead.patch: every ChaCha20, Poly1305 and
 * AES-GCM implementation this CPU can run (the portable ones included), against Project
 * Wycheproof, against each other, and as SSH packets (chacha20-poly1305@openssh.com and
 * aes*-gcm@openssh.com through libssh2's own crypt methods, as transport.c calls them)
 * against known answers made by OpenSSL (tests/vectors/ssh-aead.py).
 *
 *   aead VECTOR_DIR   run the tests: TAP lines ("ok N - ...", "not ok N - ..." with "# "
 *                     lines saying what failed), then "# counts PASSED FAILED"
 *   aead -b           speed of each implementation (MB/s), for bench/RESULTS.md
 *   aead -i           the implementations libssh2 picks on its own (CPU and SSHMCP_AEAD_IMPL)
 *
 * The implementations are chosen through _libssh2_aead_set_impl(), the hook the patch has
 * for this: "portable" (libssh2's chacha.c and poly1305.c, mbedTLS's GCM), "sse2" (ChaCha20
 * 4 blocks at a time, 64-bit Poly1305, AES-NI/PCLMULQDQ GCM), "avx2" (ChaCha20 8 blocks at
 * a time, Poly1305 4) and "avx512" (ChaCha20 16 blocks at a time). One the CPU lacks is
 * reported as skipped.
 *
 * Built against libssh2's private headers (the configured build tree), like the library.
 */
#include "libssh2_priv.h"
#include "chacha.h"
#include "poly1305.h"
#include "cipher-chachapoly.h"
#include "aead_cpu.h"
#include "gcm_clmul.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/gcm.h>
#include <mbedtls/sha256.h>

#include "vectors.h"

#define LINE_MAX_LEN   8192     /* longest vector line (Wycheproof: 2.2 kB) */
#define MSG_MAX        2048     /* longest Wycheproof message or AAD, in bytes */
#define PKT_MAX        36000    /* longest SSH packet in the vectors (35012) */
#define DIFF_LONG      66000    /* longest message of the cross-implementation checks */
#define NOTES_MAX      5        /* failures described per test line */
#define BENCH_SECONDS  1.0      /* per figure, in BENCH_TRIES runs */
#define BENCH_TRIES    10
#define BENCH_PKT      32768    /* a bulk-data packet, as OpenSSH sends them */

/* libssh2 internals this program calls (crypt.c, chacha.c, poly1305.c) */
const LIBSSH2_CRYPT_METHOD **libssh2_crypt_methods(void);

/* ============================================================ harness === */

struct tap {
	int num, passed, failed;    /* TAP lines */
	int checks, bad;            /* checks in the current line, failed ones */
};

struct impl {
	const char *name;
	unsigned int mask;          /* for _libssh2_aead_set_impl() */
	unsigned int needs;         /* CPU features without which it is the same as another */
};

static const struct impl impls[] = {
	{ "portable", 0, 0 },
	{ "sse2", LIBSSH2_AEAD_SSE2 | LIBSSH2_AEAD_POLY64 | LIBSSH2_AEAD_CLMUL, LIBSSH2_AEAD_SSE2 },
	{ "avx2", ~LIBSSH2_AEAD_AVX512, LIBSSH2_AEAD_AVX2 },
	{ "avx512", ~0u, LIBSSH2_AEAD_AVX512 },
};
#define N_IMPLS (sizeof(impls) / sizeof(impls[0]))

static void check(struct tap *t, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tap_line(struct tap *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap_skip(struct tap *t, const char *what, const char *why);
static unsigned int cpu_features(void);
static int impl_runs(const struct impl *im);
static void fill(unsigned char *p, size_t n, uint32_t *seed);
static void rfc8439_seal(const unsigned char key[32], const unsigned char nonce[12],
                         const unsigned char *aad, size_t alen, const unsigned char *in,
                         unsigned char *out, size_t len, int decrypt, unsigned char tag[16]);
static void test_wycheproof_chacha(const char *dir, struct tap *t);
static void test_chacha_cross(struct tap *t);
static void test_poly_cross(struct tap *t);
static int gcm_raw(int clmul, int encrypt, const unsigned char *key, size_t klen,
                   const unsigned char iv[12], const unsigned char *aad, size_t alen,
                   const unsigned char *in, unsigned char *out, size_t len,
                   unsigned char tag[16], size_t split_seed);
static void test_wycheproof_gcm(const char *dir, struct tap *t);
static const LIBSSH2_CRYPT_METHOD *method(const char *name);
static void plain_packet(unsigned char *p, size_t total, unsigned int seed);
static void test_ssh_chachapoly(LIBSSH2_SESSION *s, const char *dir, struct tap *t);
static int gcm_open_split(LIBSSH2_SESSION *s, const LIBSSH2_CRYPT_METHOD *m, void **ctx,
                          unsigned char *buf, size_t total, uint32_t *seed, int per_block);
static void test_ssh_gcm(LIBSSH2_SESSION *s, const char *dir, struct tap *t);
static double now(void);
static void bench(LIBSSH2_SESSION *s);

static void
check(struct tap *t, int ok, const char *fmt, ...)
{
	va_list ap;

	t->checks++;
	if (ok)
		return;
	if (t->bad++ < NOTES_MAX) {
		printf("# FAIL ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
}

/* Ends a test line: ok when none of its checks failed. */
static void
tap_line(struct tap *t, const char *fmt, ...)
{
	va_list ap;

	t->num++;
	if (t->bad == 0 && t->checks > 0)
		t->passed++;
	else
		t->failed++;
	printf("%s %d - ", t->bad == 0 && t->checks > 0 ? "ok" : "not ok", t->num);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (t->bad)
		printf(" (%d of %d checks failed)", t->bad, t->checks);
	else
		printf(" (%d checks)", t->checks);
	printf("\n");
	t->checks = t->bad = 0;
}

static void
tap_skip(struct tap *t, const char *what, const char *why)
{
	t->num++;
	t->passed++;
	printf("ok %d - %s # SKIP %s\n", t->num, what, why);
}

static unsigned int
cpu_features(void)
{
	_libssh2_aead_set_impl(~0u);
	return _libssh2_aead_impl();
}

/* Selects the implementation; 0 if the CPU cannot run it. */
static int
impl_runs(const struct impl *im)
{
	if ((cpu_features() & im->needs) != im->needs)
		return 0;
	_libssh2_aead_set_impl(im->mask);
	return 1;
}

/* Deterministic test data (xorshift32). */
static void
fill(unsigned char *p, size_t n, uint32_t *seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		*seed ^= *seed << 13;
		*seed ^= *seed >> 17;
		*seed ^= *seed << 5;
		p[i] = (unsigned char)*seed;
	}
}

/* ================================================= ChaCha20-Poly1305 === */

/* RFC 8439 2.8 on libssh2's primitives: the 96-bit nonce is state words 13..15, so the
 * 8-byte "counter" of chacha_ivsetup() is the 32-bit block counter and the nonce's first
 * word, and its 8-byte "iv" the nonce's last two words. out may equal in. */
static void
rfc8439_seal(const unsigned char key[32], const unsigned char nonce[12],
             const unsigned char *aad, size_t alen, const unsigned char *in,
             unsigned char *out, size_t len, int decrypt, unsigned char tag[16])
{
	static unsigned char mac[2 * MSG_MAX + 64];
	struct chacha_ctx c;
	unsigned char ctr[8] = { 0 }, block[64] = { 0 };
	size_t n = 0, i;

	memcpy(ctr + 4, nonce, 4);
	chacha_keysetup(&c, key, 256);
	chacha_ivsetup(&c, nonce + 4, ctr);
	chacha_encrypt_bytes(&c, block, block, 64);     /* the one-time Poly1305 key */
	memcpy(mac, aad, alen);
	n = (alen + 15) / 16 * 16;
	memset(mac + alen, 0, n - alen);
	if (decrypt)
		memcpy(mac + n, in, len);
	ctr[0] = 1;
	chacha_ivsetup(&c, nonce + 4, ctr);
	chacha_encrypt_bytes(&c, in, out, (u_int)len);
	if (!decrypt)
		memcpy(mac + n, out, len);
	memset(mac + n + len, 0, (len + 15) / 16 * 16 - len);
	n += (len + 15) / 16 * 16;
	for (i = 0; i < 8; i++) {
		mac[n + i] = (unsigned char)((uint64_t)alen >> (8 * i));
		mac[n + 8 + i] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	poly1305_auth(tag, mac, n + 16, block);
}

/* One Wycheproof AEAD case (tcId result key iv aad msg ct tag, in hex), decoded; the two
 * AEAD tests read the same eight fields. */
struct aead_case {
	char *id, *result;
	unsigned char key[32], iv[512], aad[MSG_MAX], msg[MSG_MAX], ct[MSG_MAX], tag[16];
	size_t kl, il, al, ml, cl, tl;
};

/* The next case from fp: 1, and c filled (a length of VEC_BAD where a field did not fit);
 * 2 for a malformed line; 0 at the end; -1 for a line longer than `cap`. */
static int
aead_case_read(FILE *fp, char *line, size_t cap, struct aead_case *c)
{
	char *f[8];
	int r = vec_read_line(fp, line, cap);

	if (r != 1)
		return r;
	if (!vec_split(line, f, 8))
		return 2;
	c->id = f[0];
	c->result = f[1];
	c->kl = vec_unhex(c->key, sizeof(c->key), f[2]);
	c->il = vec_unhex(c->iv, sizeof(c->iv), f[3]);
	c->al = vec_unhex(c->aad, sizeof(c->aad), f[4]);
	c->ml = vec_unhex(c->msg, sizeof(c->msg), f[5]);
	c->cl = vec_unhex(c->ct, sizeof(c->ct), f[6]);
	c->tl = vec_unhex(c->tag, sizeof(c->tag), f[7]);
	return 1;
}

/* Every case with a 96-bit nonce, sealed and opened, in place and at odd offsets. */
static void
test_wycheproof_chacha(const char *dir, struct tap *t)
{
	static char line[LINE_MAX_LEN];
	static struct aead_case c;
	static unsigned char buf[MSG_MAX + 8];
	unsigned char tag[16];
	size_t k;
	int cases, skipped, r, valid, off;

	for (k = 0; k < N_IMPLS; k++) {
		FILE *fp;

		if (!impl_runs(&impls[k])) {
			tap_skip(t, "Wycheproof chacha20-poly1305", impls[k].name);
			continue;
		}
		if ((fp = vec_open(dir, "wycheproof-chacha20_poly1305.txt")) == NULL) {
			check(t, 0, "cannot open wycheproof-chacha20_poly1305.txt");
			tap_line(t, "Wycheproof chacha20-poly1305 [%s]", impls[k].name);
			return;
		}
		cases = skipped = 0;
		while ((r = aead_case_read(fp, line, sizeof(line), &c)) >= 1) {
			if (r == 2) {
				check(t, 0, "malformed vector line");
				continue;
			}
			if (c.il != 12) {   /* libssh2 has only the 96-bit nonce */
				skipped++;
				continue;
			}
			if (c.kl != 32 || c.al == VEC_BAD || c.ml == VEC_BAD || c.cl != c.ml || c.tl != 16) {
				check(t, 0, "tcId %s: bad fields", c.id);
				continue;
			}
			cases++;
			valid = strcmp(c.result, "invalid") != 0;
			off = cases % 4;
			if (valid) {
				rfc8439_seal(c.key, c.iv, c.aad, c.al, c.msg, buf + off, c.ml, 0, tag);
				check(t, !memcmp(buf + off, c.ct, c.ml) && !memcmp(tag, c.tag, 16),
				    "tcId %s [%s]: seal", c.id, impls[k].name);
			}
			memcpy(buf + off, c.ct, c.ml);      /* open in place */
			rfc8439_seal(c.key, c.iv, c.aad, c.al, buf + off, buf + off, c.ml, 1, tag);
			check(t, valid == !memcmp(tag, c.tag, 16) &&
			    (!valid || !memcmp(buf + off, c.msg, c.ml)),
			    "tcId %s [%s]: open (%s)", c.id, impls[k].name, c.result);
		}
		check(t, r == 0, "wycheproof-chacha20_poly1305.txt: line too long");
		fclose(fp);
		tap_line(t, "Wycheproof chacha20-poly1305 [%s]: %d cases, %d skipped (nonce not 96 bits)",
		    impls[k].name, cases, skipped);
	}
}

/* Each SIMD implementation against the portable one: every length to 1100 bytes and long
 * ones, unaligned, in place, and a block counter that carries from word 12 into 13. */
static void
test_chacha_cross(struct tap *t)
{
	static unsigned char in[DIFF_LONG + 8], want[DIFF_LONG + 8], got[DIFF_LONG + 8];
	static const size_t longs[] = { 2047, 4096, 32768 + 13, 35000, DIFF_LONG };
	struct chacha_ctx a, b;
	unsigned char key[32], iv[8], ctr[8] = { 0 };
	uint32_t seed = 7;
	size_t k, len, i, off;

	for (k = 1; k < N_IMPLS; k++) {
		if (!impl_runs(&impls[k])) {
			tap_skip(t, "chacha20 against the portable code", impls[k].name);
			continue;
		}
		for (i = 0; i < 1100 + sizeof(longs) / sizeof(longs[0]); i++) {
			len = i < 1100 ? i : longs[i - 1100];
			off = i % 8;
			fill(key, sizeof(key), &seed);
			fill(iv, sizeof(iv), &seed);
			fill(in, len, &seed);
			if (i % 5 == 0)     /* counter 2^32 - 2: the carry into word 13 */
				memcpy(ctr, "\xfe\xff\xff\xff\x00\x00\x00\x00", 8);
			else
				memset(ctr, 0, sizeof(ctr));
			chacha_keysetup(&a, key, 256);
			chacha_ivsetup(&a, iv, ctr);
			b = a;
			_libssh2_aead_set_impl(0);
			chacha_encrypt_bytes(&a, in, want, (u_int)len);
			_libssh2_aead_set_impl(impls[k].mask);
			memcpy(got + off, in, len);
			chacha_encrypt_bytes(&b, got + off, got + off, (u_int)len);
			check(t, !memcmp(got + off, want, len) && !memcmp(a.input, b.input, sizeof(a.input)),
			    "chacha20 [%s] differs from portable at length %zu", impls[k].name, len);
			/* a second call continues the stream where the first ended */
			_libssh2_aead_set_impl(0);
			chacha_encrypt_bytes(&a, in, want, 600);
			_libssh2_aead_set_impl(impls[k].mask);
			chacha_encrypt_bytes(&b, in, got, 600);
			check(t, !memcmp(got, want, 600),
			    "chacha20 [%s]: continued stream differs after %zu bytes", impls[k].name, len);
		}
		tap_line(t, "chacha20 [%s] equals the portable code (lengths 0-1099 and to %d, "
		    "unaligned, in place, counter carry)", impls[k].name, DIFF_LONG);
	}
}

/* The 64-bit Poly1305 against the 26-bit one, with the operands that stress its carries:
 * all-ones messages and keys, r at its clamped maximum. */
static void
test_poly_cross(struct tap *t)
{
	static unsigned char msg[4200];
	unsigned char key[32], want[16], got[16];
	uint32_t seed = 11;
	size_t k, len, i;

	for (k = 1; k < N_IMPLS; k++) {
		if (!impl_runs(&impls[k]) || !(_libssh2_aead_impl() & LIBSSH2_AEAD_POLY64)) {
			tap_skip(t, "poly1305 against the portable code", impls[k].name);
			continue;
		}
		for (i = 0; i < 3 * 1100; i++) {
			len = i % 1100 < 1080 ? i % 1100 : 4200 - (i % 1100 - 1080);
			fill(key, sizeof(key), &seed);
			fill(msg, len, &seed);
			if (i / 1100 == 1) {
				memset(msg, 0xff, len);
				memset(key, 0xff, sizeof(key));     /* clamping leaves r's maximum */
			}
			else if (i / 1100 == 2)
				memset(key, 0xff, 16);
			_libssh2_aead_set_impl(0);
			poly1305_auth(want, msg, len, key);
			_libssh2_aead_set_impl(impls[k].mask);
			poly1305_auth(got, msg, len, key);
			check(t, !memcmp(want, got, 16), "poly1305 [%s] differs at length %zu, pass %zu",
			    impls[k].name, len, i / 1100);
		}
		tap_line(t, "poly1305 [%s] equals the portable code (random, all-ones and "
		    "maximal-r operands)", impls[k].name);
	}
}

/* ============================================================ AES-GCM === */

/* One GCM message, by mbedTLS or by gcm_clmul.c. split_seed, if not 0, feeds the text to
 * gcm_clmul.c in pieces of 1 to 40 bytes (its unfinished-block path). Decrypting checks the
 * tag in tag; returns 0 if it matched (always 0 when encrypting, the tag is put there). */
static int
gcm_raw(int clmul, int encrypt, const unsigned char *key, size_t klen,
        const unsigned char iv[12], const unsigned char *aad, size_t alen,
        const unsigned char *in, unsigned char *out, size_t len, unsigned char tag[16],
        size_t split_seed)
{
	static struct libssh2_gcm_clmul g;
	mbedtls_gcm_context m;
	unsigned char mine[16];
	uint32_t seed = (uint32_t)split_seed;
	size_t done, n;
	int rc;

	if (!clmul) {
		mbedtls_gcm_init(&m);
		rc = mbedtls_gcm_setkey(&m, MBEDTLS_CIPHER_ID_AES, key, (unsigned)klen * 8);
		if (!rc && encrypt)
			rc = mbedtls_gcm_crypt_and_tag(&m, MBEDTLS_GCM_ENCRYPT, len, iv, 12, aad,
			    alen, in, out, 16, tag);
		else if (!rc)
			rc = mbedtls_gcm_auth_decrypt(&m, len, iv, 12, aad, alen, tag, 16, in, out);
		mbedtls_gcm_free(&m);
		return rc ? -1 : 0;
	}
	if (_libssh2_gcm_clmul_setkey(&g, key, klen))
		return -1;
	_libssh2_gcm_clmul_start(&g, iv);
	_libssh2_gcm_clmul_aad(&g, aad, alen);
	for (done = 0; done < len; done += n) {
		n = len - done;
		if (split_seed) {
			fill(mine, 1, &seed);
			n = n < 1u + mine[0] % 40 ? n : 1u + mine[0] % 40;
		}
		_libssh2_gcm_clmul_crypt(&g, encrypt, in + done, out + done, n);
	}
	_libssh2_gcm_clmul_tag(&g, mine);
	if (encrypt) {
		memcpy(tag, mine, 16);
		return 0;
	}
	return memcmp(mine, tag, 16) ? -1 : 0;
}

/* Every case with a 96-bit IV and a 128- or 256-bit key (what libssh2 runs), through
 * mbedTLS and through gcm_clmul.c (whole, and in pieces). */
static void
test_wycheproof_gcm(const char *dir, struct tap *t)
{
	static char line[LINE_MAX_LEN];
	static struct aead_case c;
	static unsigned char buf[MSG_MAX + 8];
	unsigned char tag[16];
	int clmul, cases, skipped, r, valid, off, pass;

	for (clmul = 0; clmul <= 1; clmul++) {
		FILE *fp;
		const char *name = clmul ? "aes-ni/pclmulqdq" : "mbedtls";

		if (clmul && !(cpu_features() & LIBSSH2_AEAD_CLMUL)) {
			tap_skip(t, "Wycheproof aes-gcm", "aes-ni/pclmulqdq");
			continue;
		}
		if ((fp = vec_open(dir, "wycheproof-aes_gcm.txt")) == NULL) {
			check(t, 0, "cannot open wycheproof-aes_gcm.txt");
			tap_line(t, "Wycheproof aes-gcm [%s]", name);
			return;
		}
		cases = skipped = 0;
		while ((r = aead_case_read(fp, line, sizeof(line), &c)) >= 1) {
			if (r == 2) {
				check(t, 0, "malformed vector line");
				continue;
			}
			if (c.kl == VEC_BAD || c.il == VEC_BAD || c.al == VEC_BAD || c.ml == VEC_BAD ||
			    c.cl != c.ml || c.tl != 16) {
				check(t, 0, "tcId %s: bad fields", c.id);
				continue;
			}
			if (c.il != 12 || (c.kl != 16 && c.kl != 32)) {    /* not an SSH cipher */
				skipped++;
				continue;
			}
			cases++;
			valid = strcmp(c.result, "invalid") != 0;
			for (pass = 0; pass <= clmul; pass++) {     /* clmul: whole, then in pieces */
				off = (cases + pass) % 4;
				if (valid) {
					gcm_raw(clmul, 1, c.key, c.kl, c.iv, c.aad, c.al, c.msg, buf + off,
					    c.ml, tag, pass ? (size_t)cases : 0);
					check(t, !memcmp(buf + off, c.ct, c.ml) && !memcmp(tag, c.tag, 16),
					    "tcId %s [%s%s]: encrypt", c.id, name, pass ? ", pieces" : "");
				}
				memcpy(buf + off, c.ct, c.ml);
				memcpy(tag, c.tag, 16);
				check(t, valid == !gcm_raw(clmul, 0, c.key, c.kl, c.iv, c.aad, c.al,
				    buf + off, buf + off, c.ml, tag, pass ? (size_t)cases + 1 : 0) &&
				    (!valid || !memcmp(buf + off, c.msg, c.ml)),
				    "tcId %s [%s%s]: decrypt (%s)", c.id, name, pass ? ", pieces" : "",
				    c.result);
			}
		}
		check(t, r == 0, "wycheproof-aes_gcm.txt: line too long");
		fclose(fp);
		tap_line(t, "Wycheproof aes-gcm [%s]: %d cases, %d skipped (IV not 96 bits or "
		    "192-bit key)", name, cases, skipped);
	}
}

/* ======================================================== SSH packets === */

static const LIBSSH2_CRYPT_METHOD *
method(const char *name)
{
	const LIBSSH2_CRYPT_METHOD **m;

	for (m = libssh2_crypt_methods(); *m; m++)
		if (!strcmp((*m)->name, name))
			return *m;
	return NULL;
}

/* The plain packet of ssh-aead.py: packet_length, then byte i = (i * 131 + seed) mod 256. */
static void
plain_packet(unsigned char *p, size_t total, unsigned int seed)
{
	size_t i;

	_libssh2_htonu32(p, (uint32_t)(total - 4));
	for (i = 4; i < total; i++)
		p[i] = (unsigned char)((i * 131 + seed) & 0xff);
}

/* chacha20-poly1305@openssh.com through libssh2's crypt method, as transport.c calls it:
 * encrypt the whole packet (tag appended); get_len the length; decrypt with buf_len the
 * packet_length (the payload ends up at the start); a changed byte anywhere fails. */
static void
test_ssh_chachapoly(LIBSSH2_SESSION *s, const char *dir, struct tap *t)
{
	static char line[LINE_MAX_LEN];
	static unsigned char key[64], buf[PKT_MAX + 16], plain[PKT_MAX], wire[PKT_MAX + 16];
	const LIBSSH2_CRYPT_METHOD *m = method("chacha20-poly1305@openssh.com");
	unsigned char sum[32], want[32];
	char *f[6];
	size_t k, total, pos;
	unsigned int len, seqno, seed;
	int r, cases, fi, fs, e;
	void *enc, *dec;

	for (k = 0; k < N_IMPLS; k++) {
		FILE *fp;

		if (!impl_runs(&impls[k])) {
			tap_skip(t, "chacha20-poly1305@openssh.com packets", impls[k].name);
			continue;
		}
		if (!m || (fp = vec_open(dir, "ssh-chachapoly.txt")) == NULL) {
			check(t, 0, m ? "cannot open ssh-chachapoly.txt" : "no chacha20-poly1305 method");
			tap_line(t, "chacha20-poly1305@openssh.com packets [%s]", impls[k].name);
			return;
		}
		cases = 0;
		while ((r = vec_read_line(fp, line, sizeof(line))) == 1) {
			if (!vec_split(line, f, 6) || vec_unhex(key, sizeof(key), f[2]) != 64 ||
			    vec_unhex(want, sizeof(want), f[5]) != 32 ||
			    (total = strtoul(f[3], NULL, 10)) > PKT_MAX || total < 8) {
				check(t, 0, "malformed line in ssh-chachapoly.txt");
				continue;
			}
			cases++;
			seqno = (unsigned int)strtoul(f[1], NULL, 10);
			seed = (unsigned int)strtoul(f[4], NULL, 10);
			plain_packet(plain, total, seed);
			enc = dec = NULL;
			if (m->init(s, m, NULL, &fi, key, &fs, 1, &enc) ||
			    m->init(s, m, NULL, &fi, key, &fs, 0, &dec)) {
				check(t, 0, "%s: init", f[0]);
				continue;
			}
			memcpy(buf, plain, total);
			e = m->crypt(s, seqno, buf, total, &enc, 0);
			mbedtls_sha256(buf, total + 16, sum, 0);
			check(t, !e && !memcmp(sum, want, 32), "%s [%s]: encrypt", f[0], impls[k].name);
			memcpy(wire, buf, total + 16);
			check(t, !m->get_len(s, seqno, buf, total, &len, &dec) && len == total - 4,
			    "%s [%s]: get_len", f[0], impls[k].name);
			e = m->crypt(s, seqno, buf, total - 4, &dec, 0);
			check(t, !e && !memcmp(buf, plain + 4, total - 8),
			    "%s [%s]: decrypt", f[0], impls[k].name);
			for (pos = 0; pos < total + 16; pos += pos < 4 ? 3 : (total + 16) / 3) {
				memcpy(buf, wire, total + 16);
				buf[pos] ^= 0x20;
				check(t, m->crypt(s, seqno, buf, total - 4, &dec, 0) != 0,
				    "%s [%s]: byte %zu changed, still decrypts", f[0], impls[k].name, pos);
			}
			memcpy(buf, wire, total + 16);
			check(t, m->crypt(s, seqno + 1, buf, total - 4, &dec, 0) != 0,
			    "%s [%s]: decrypts under the next sequence number", f[0], impls[k].name);
			m->dtor(s, &enc);
			m->dtor(s, &dec);
		}
		check(t, r == 0, "ssh-chachapoly.txt: line too long");
		fclose(fp);
		tap_line(t, "chacha20-poly1305@openssh.com packets [%s]: %d OpenSSL known answers, "
		    "tampering refused", impls[k].name, cases);
	}
}

/* Decrypts one GCM packet in the pieces transport.c uses: the first 16 bytes (packet_length
 * and 12 bytes), then runs that are multiples of 16 (per_block: 16 bytes each, as before
 * patch 0004; else random), then the rest with the tag, at least one block and the tag. */
static int
gcm_open_split(LIBSSH2_SESSION *s, const LIBSSH2_CRYPT_METHOD *m, void **ctx,
               unsigned char *buf, size_t total, uint32_t *seed, int per_block)
{
	size_t done = 16, n, left;
	unsigned char r[1];

	if (m->crypt(s, 0, buf, 16, ctx, FIRST_BLOCK))
		return -1;
	while ((left = total + 16 - done) >= 16 + 32) {
		fill(r, 1, seed);
		n = per_block ? 16 : 16 * (1 + r[0] % 64u);
		if (n > left - 32)
			n = (left - 32) / 16 * 16;
		if (m->crypt(s, 0, buf + done, n, ctx, MIDDLE_BLOCK))
			return -1;
		done += n;
	}
	return m->crypt(s, 0, buf + done, total + 16 - done, ctx, LAST_BLOCK) ? -1 : 0;
}

/* aes*-gcm@openssh.com through libssh2's crypt method: sequences of packets under one key
 * (the nonce's invocation counter, across its 2^64 wrap), encrypted as transport.c does
 * (the packet, then the tag), decrypted in its pieces; a changed byte fails. */
static void
test_ssh_gcm(LIBSSH2_SESSION *s, const char *dir, struct tap *t)
{
	static char line[LINE_MAX_LEN];
	static unsigned char buf[PKT_MAX + 16], plain[PKT_MAX], wire[PKT_MAX + 16];
	unsigned char key[32], iv[12], sum[32], want[32], cur_key[32], cur_iv[12];
	const LIBSSH2_CRYPT_METHOD *m = NULL;
	char *f[7];
	int clmul, r, cases, fi, fs, e, per_block;
	size_t kl;
	size_t total, pos;
	unsigned int seed, index;
	uint32_t split_seed = 3;
	void *enc = NULL, *dec = NULL, *dec16 = NULL;

	for (clmul = 0; clmul <= 1; clmul++) {
		FILE *fp;
		const char *name = clmul ? "aes-ni/pclmulqdq" : "mbedtls";

		if (clmul && !(cpu_features() & LIBSSH2_AEAD_CLMUL)) {
			tap_skip(t, "aes-gcm@openssh.com packets", name);
			continue;
		}
		_libssh2_aead_set_impl(clmul ? ~0u : 0);
		if ((fp = vec_open(dir, "ssh-aesgcm.txt")) == NULL) {
			check(t, 0, "cannot open ssh-aesgcm.txt");
			tap_line(t, "aes-gcm@openssh.com packets [%s]", name);
			return;
		}
		cases = 0;
		memset(cur_key, 0, sizeof(cur_key));
		memset(cur_iv, 0, sizeof(cur_iv));
		while ((r = vec_read_line(fp, line, sizeof(line))) == 1) {
			if (!vec_split(line, f, 7) || ((kl = vec_unhex(key, sizeof(key), f[1])) != 16 && kl != 32) ||
			    vec_unhex(iv, sizeof(iv), f[2]) != 12 || vec_unhex(want, sizeof(want), f[6]) != 32 ||
			    (total = strtoul(f[4], NULL, 10)) > PKT_MAX || total < 20) {
				check(t, 0, "malformed line in ssh-aesgcm.txt");
				continue;
			}
			cases++;
			index = (unsigned int)strtoul(f[3], NULL, 10);
			seed = (unsigned int)strtoul(f[5], NULL, 10);
			if (index == 0) {           /* a new key: new contexts, nonce iv + 0 */
				if (enc) {
					m->dtor(s, &enc);
					m->dtor(s, &dec);
					m->dtor(s, &dec16);
				}
				m = method(kl == 16 ? "aes128-gcm@openssh.com" : "aes256-gcm@openssh.com");
				memcpy(cur_key, key, sizeof(key));
				memcpy(cur_iv, iv, sizeof(iv));
				if (!m || m->init(s, m, cur_iv, &fi, cur_key, &fs, 1, &enc) ||
				    m->init(s, m, cur_iv, &fi, cur_key, &fs, 0, &dec) ||
				    m->init(s, m, cur_iv, &fi, cur_key, &fs, 0, &dec16)) {
					check(t, 0, "%s: init", f[0]);
					enc = dec = dec16 = NULL;
					break;
				}
			}
			plain_packet(plain, total, seed);
			memcpy(buf, plain, total);
			e = m->crypt(s, 0, buf, total, &enc, FIRST_BLOCK) ||
			    m->crypt(s, 0, buf + total, 16, &enc, LAST_BLOCK);
			mbedtls_sha256(buf, total + 16, sum, 0);
			check(t, !e && !memcmp(sum, want, 32), "%s [%s]: encrypt", f[0], name);
			memcpy(wire, buf, total + 16);
			for (per_block = 0; per_block <= 1; per_block++) {
				memcpy(buf, wire, total + 16);
				e = gcm_open_split(s, m, per_block ? &dec16 : &dec, buf, total, &split_seed,
				    per_block);
				check(t, !e && !memcmp(buf, plain, total), "%s [%s]: decrypt%s", f[0], name,
				    per_block ? " 16 bytes a call" : "");
			}
			if (index != 4)
				continue;
			/* the sequence's last packet: tampered copies under its nonce */
			for (pos = 0; pos < total + 16; pos += pos < 4 ? 3 : (total + 16) / 3) {
				void *tmp = NULL;
				unsigned char nonce[12];
				int i;

				memcpy(nonce, cur_iv, 12);      /* iv + 4, modulo 2^64 */
				for (i = 0; i < 4; i++)
					for (e = 11; e >= 4; e--)
						if (++nonce[e])
							break;
				memcpy(buf, wire, total + 16);
				buf[pos] ^= 0x20;
				if (m->init(s, m, nonce, &fi, cur_key, &fs, 0, &tmp)) {
					check(t, 0, "%s: init", f[0]);
					break;
				}
				check(t, gcm_open_split(s, m, &tmp, buf, total, &split_seed, 0) != 0,
				    "%s [%s]: byte %zu changed, still decrypts", f[0], name, pos);
				memcpy(buf, wire, total + 16);
				check(t, pos > 0 || gcm_open_split(s, m, &tmp, buf, total, &split_seed, 0) != 0,
				    "%s [%s]: decrypts under the next nonce", f[0], name);
				m->dtor(s, &tmp);
			}
		}
		check(t, r == 0, "ssh-aesgcm.txt: line too long");
		fclose(fp);
		if (enc) {
			m->dtor(s, &enc);
			m->dtor(s, &dec);
			m->dtor(s, &dec16);
			enc = NULL;
		}
		tap_line(t, "aes-gcm@openssh.com packets [%s]: %d OpenSSL known answers in "
		    "sequences, transport.c's pieces, tampering refused", name, cases);
	}
}

/* ============================================================== bench === */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The best rate (MB/s) of BENCH_TRIES runs of BENCH_SECONDS each: the best run is the one
 * other processes disturbed least. */
#define BENCH_RATE(rate, body) do { \
	int try_; \
	(rate) = 0; \
	for (try_ = 0; try_ < BENCH_TRIES; try_++) { \
		size_t n_; \
		double t0_ = now(), t_, r_; \
		for (n_ = 0; (t_ = now() - t0_) < BENCH_SECONDS / BENCH_TRIES; n_++) { \
			body; \
		} \
		r_ = (double)n_ * BENCH_PKT / t_ / 1e6; \
		if (r_ > (rate)) \
			(rate) = r_; \
	} \
} while (0)

/* MB/s of whole 32 KiB packets: chacha20-poly1305 and AES-GCM (encrypt) through the crypt
 * methods, and the bare ChaCha20 and Poly1305. */
static void
bench(LIBSSH2_SESSION *s)
{
	static unsigned char buf[BENCH_PKT + 64], key[64];
	static const char *gcm[] = { "aes128-gcm@openssh.com", "aes256-gcm@openssh.com" };
	const LIBSSH2_CRYPT_METHOD *cp = method("chacha20-poly1305@openssh.com");
	unsigned char tag[16];
	struct chacha_ctx c;
	size_t k, g;
	int fi, fs;
	double rate;
	void *ctx;

	memset(key, 0x5a, sizeof(key));
	printf("MB/s, best of %d runs (32 KiB packets)\n", BENCH_TRIES);
	for (k = 0; k < N_IMPLS; k++) {
		if (!impl_runs(&impls[k]))
			continue;
		printf("%-9s", impls[k].name);
		ctx = NULL;
		cp->init(s, cp, NULL, &fi, key, &fs, 1, &ctx);
		plain_packet(buf, BENCH_PKT, 1);
		BENCH_RATE(rate, cp->crypt(s, 0, buf, BENCH_PKT, &ctx, 0));
		printf("  chacha20-poly1305 %6.0f", rate);
		cp->dtor(s, &ctx);
		chacha_keysetup(&c, key, 256);
		chacha_ivsetup(&c, key, NULL);
		BENCH_RATE(rate, chacha_encrypt_bytes(&c, buf, buf, BENCH_PKT));
		printf("  chacha20 %6.0f", rate);
		BENCH_RATE(rate, poly1305_auth(tag, buf, BENCH_PKT, key));
		printf("  poly1305 %6.0f", rate);
		for (g = 0; g < 2; g++) {
			const LIBSSH2_CRYPT_METHOD *m = method(gcm[g]);

			ctx = NULL;
			m->init(s, m, key, &fi, key, &fs, 1, &ctx);
			BENCH_RATE(rate, if (m->crypt(s, 0, buf, BENCH_PKT, &ctx, FIRST_BLOCK) ||
			    m->crypt(s, 0, buf + BENCH_PKT, 16, &ctx, LAST_BLOCK)) break);
			printf("  %s %6.0f", g ? "aes256-gcm" : "aes128-gcm", rate);
			m->dtor(s, &ctx);
		}
		printf("\n");
	}
}

int
main(int argc, char **argv)
{
	struct tap t = { 0, 0, 0, 0, 0 };
	LIBSSH2_SESSION *s;

	if (libssh2_init(0) || (s = libssh2_session_init()) == NULL) {
		printf("not ok 1 - libssh2 init\n# counts 0 1\n");
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "-i")) {     /* before any _libssh2_aead_set_impl() */
		unsigned int f = _libssh2_aead_impl();

		printf("chacha20 %s, poly1305 %s, aes-gcm %s\n",
		    f & LIBSSH2_AEAD_AVX512 ? "avx512" : f & LIBSSH2_AEAD_AVX2 ? "avx2" :
		    f & LIBSSH2_AEAD_SSE2 ? "sse2" : "portable",
		    f & LIBSSH2_AEAD_AVX2 ? "avx2" : f & LIBSSH2_AEAD_POLY64 ? "64-bit" : "portable",
		    f & LIBSSH2_AEAD_CLMUL ? "aes-ni/pclmulqdq" : "mbedtls");
		libssh2_session_free(s);
		libssh2_exit();
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "-b")) {
		bench(s);
		libssh2_session_free(s);
		libssh2_exit();
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: aead VECTOR_DIR | aead -b | aead -i\n");
		return 2;
	}
	printf("# CPU: %s%s%s%s\n", cpu_features() & LIBSSH2_AEAD_AVX512 ? "avx512f " : "",
	    cpu_features() & LIBSSH2_AEAD_AVX2 ? "avx2 " : "",
	    cpu_features() & LIBSSH2_AEAD_CLMUL ? "aes-ni+pclmulqdq " : "",
	    cpu_features() & LIBSSH2_AEAD_POLY64 ? "int128" : "");
	test_wycheproof_chacha(argv[1], &t);
	test_chacha_cross(&t);
	test_poly_cross(&t);
	test_wycheproof_gcm(argv[1], &t);
	test_ssh_chachapoly(s, argv[1], &t);
	test_ssh_gcm(s, argv[1], &t);
	libssh2_session_free(s);
	libssh2_exit();
	printf("1..%d\n# counts %d %d\n", t.num, t.passed, t.failed);
	return t.failed ? 1 : 0;
}
