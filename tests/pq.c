/* pq.c — tests for patches/libssh2-0003-pq-kex.patch: ML-KEM-768 (FIPS 203) and sntrup761,
 * the KEMs of the mlkem768x25519-sha256 and sntrup761x25519-sha512 key exchanges.
 *
 *   pq VECTOR_DIR   run the tests; one line per failure, then "N passed, N failed"
 *   pq -b           key generation, encapsulation and decapsulation speed
 *
 * VECTOR_DIR is tests/vectors (see its README): every Project Wycheproof ML-KEM-768 case
 * (key generation from the seed d || z, encapsulation with m, decapsulation with its
 * implicit rejection, and the malformed keys and ciphertexts that must be refused) and
 * the first known-answer tests of the NTRU Prime submission's sntrup761 (their random
 * bytes come from NIST's AES-256 CTR_DRBG, rebuilt here on mbedTLS's AES).
 *
 * The program links the static libssh2.a and libmbedcrypto.a and calls the internal
 * functions, declared below as in libssh2's src/pq_kem.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libssh2.h>
#include <mbedtls/aes.h>

#include "vectors.h"

#define LINE_MAX_LEN   16384           /* longest vector line (keygen: 7.3 kB) */
#define FIELD_MAX      4096            /* longest field, in bytes (dk: 2400) */
#define BENCH_SECONDS  1.0
#define KAT_COUNT_MAX  100             /* the .rsp files have 100 entries at most */
#define DRBG_SEED_LEN  48
#define RANDOM_CIPHERTEXTS 100         /* decapsulated by each KEM */

/* ====================================================== libssh2 internals === */

#define MLKEM_EK_LEN   1184
#define MLKEM_DK_LEN   2400
#define MLKEM_CT_LEN   1088
#define MLKEM_SEED_LEN 64
#define MLKEM_M_LEN    32
#define SNTRUP_PK_LEN  1158
#define SNTRUP_SK_LEN  1763
#define SNTRUP_CT_LEN  1039
#define SS_LEN         32
#define SNTRUP_P       761             /* its polynomials' degree */

typedef int (*pq_random_func)(void *ctx, unsigned char *buf, size_t len);

void _libssh2_mlkem768_keypair(unsigned char *ek, unsigned char *dk, const unsigned char *seed);
int _libssh2_mlkem768_encaps(unsigned char *c, unsigned char *key, const unsigned char *ek,
                             const unsigned char *m);
void _libssh2_mlkem768_decaps(unsigned char *key, const unsigned char *c,
                              const unsigned char *dk);
int _libssh2_mlkem768_check_dk(const unsigned char *dk);
int _libssh2_sntrup761_keypair(unsigned char *pk, unsigned char *sk, pq_random_func rng,
                               void *rng_ctx);
int _libssh2_sntrup761_encaps(unsigned char *c, unsigned char *key, const unsigned char *pk,
                              pq_random_func rng, void *rng_ctx);
int _libssh2_sntrup761_decaps(unsigned char *key, const unsigned char *c,
                              const unsigned char *sk);

/* ============================================================ harness === */

/* One vector line: its fields as bytes. */
struct row {
	char line[LINE_MAX_LEN];
	char *f[8];
	int n;
};

struct drbg {                      /* NIST's randombytes() for the KAT generator */
	unsigned char key[32], v[16];
};

static int read_row(FILE *f, struct row *r, int nfield);
static int field(struct row *r, int i, unsigned char *out, size_t cap, size_t *len);
static void test_mlkem_keygen(const char *dir, struct tally *t);
static void test_mlkem_encaps(const char *dir, struct tally *t);
static void test_mlkem_decaps(const char *dir, struct tally *t);
static void test_mlkem_semi_expanded(const char *dir, struct tally *t);
static void test_mlkem_misc(struct tally *t);
static void drbg_increment(struct drbg *d);
static int drbg_update(struct drbg *d, const unsigned char *seed);
static void drbg_init(struct drbg *d, const unsigned char seed[DRBG_SEED_LEN]);
static int drbg_random(void *ctx, unsigned char *buf, size_t len);
static int kat_random(void *ctx, unsigned char *buf, size_t len);
static const char *rsp_value(FILE *f, const char *key);
static int rsp_hex(FILE *f, const char *key, unsigned char *out, size_t len);
static void test_sntrup_kat(const char *dir, struct tally *t);
static void test_random_ciphertexts(struct tally *t);
static double now(void);
static void bench(void);

/* The next non-comment line split at single spaces into exactly nfield fields:
 * 1, 0 at the end, -1 for a line too long or with another field count. */
static int
read_row(FILE *f, struct row *r, int nfield)
{
	size_t n;
	char *p, *sp;

	while (fgets(r->line, sizeof(r->line), f)) {
		n = strlen(r->line);
		if (n == 0 || r->line[n - 1] != '\n')
			return -1;
		r->line[n - 1] = '\0';
		if (r->line[0] == '#' || r->line[0] == '\0')
			continue;
		for (r->n = 0, p = r->line; r->n < nfield; p = sp + 1) {
			r->f[r->n++] = p;
			if (!(sp = strchr(p, ' ')))
				break;
			*sp = '\0';
		}
		return r->n == nfield && !strchr(r->f[nfield - 1], ' ') ? 1 : -1;
	}
	return 0;
}

static int
field(struct row *r, int i, unsigned char *out, size_t cap, size_t *len)
{
	*len = vec_unhex(out, cap, r->f[i]);
	return *len != VEC_BAD;
}

/* ============================================================= ML-KEM === */

/* keygen_seed: d || z gives exactly ek and dk, and dk passes its own hash check. */
static void
test_mlkem_keygen(const char *dir, struct tally *t)
{
	static struct row r;
	static unsigned char seed[FIELD_MAX], ek[FIELD_MAX], dk[FIELD_MAX];
	unsigned char gek[MLKEM_EK_LEN], gdk[MLKEM_DK_LEN];
	size_t sl, el, dl;
	char name[64];
	FILE *fp = vec_open_counted(dir, "wycheproof-mlkem768-keygen.txt", t);
	int rc;

	while (fp && (rc = read_row(fp, &r, 5)) != 0) {
		if (rc < 0 || !field(&r, 2, seed, sizeof(seed), &sl) ||
		    !field(&r, 3, ek, sizeof(ek), &el) || !field(&r, 4, dk, sizeof(dk), &dl) ||
		    sl != MLKEM_SEED_LEN || el != MLKEM_EK_LEN || dl != MLKEM_DK_LEN ||
		    strcmp(r.f[1], "valid") != 0) {
			vec_check(t, 0, "Wycheproof ML-KEM keygen vector line", r.f[0]);
			break;
		}
		snprintf(name, sizeof(name), "tcId %s", r.f[0]);
		_libssh2_mlkem768_keypair(gek, gdk, seed);
		vec_check(t, memcmp(gek, ek, el) == 0 && memcmp(gdk, dk, dl) == 0,
		      "Wycheproof ML-KEM-768 KeyGen(d, z) gives ek and dk", name);
		vec_check(t, _libssh2_mlkem768_check_dk(gdk) == 0, "ML-KEM dk passes its hash check", name);
	}
	if (fp)
		fclose(fp);
}

/* encaps: valid ek and m give c and K; a short, long or unreduced ek is refused. */
static void
test_mlkem_encaps(const char *dir, struct tally *t)
{
	static struct row r;
	static unsigned char ek[FIELD_MAX], m[FIELD_MAX], c[FIELD_MAX], k[FIELD_MAX];
	unsigned char gc[MLKEM_CT_LEN], gk[SS_LEN];
	size_t el, ml, cl, kl;
	char name[64];
	FILE *fp = vec_open_counted(dir, "wycheproof-mlkem768-encaps.txt", t);
	int rc, valid, accepted;

	while (fp && (rc = read_row(fp, &r, 6)) != 0) {
		if (rc < 0 || !field(&r, 2, ek, sizeof(ek), &el) || !field(&r, 3, m, sizeof(m), &ml) ||
		    !field(&r, 4, c, sizeof(c), &cl) || !field(&r, 5, k, sizeof(k), &kl) ||
		    ml != MLKEM_M_LEN) {
			vec_check(t, 0, "Wycheproof ML-KEM encaps vector line", r.f[0]);
			break;
		}
		valid = strcmp(r.f[1], "valid") == 0;
		snprintf(name, sizeof(name), "tcId %s (%s)", r.f[0], r.f[1]);
		/* The length check is the caller's: kex_pq.c takes fixed-size fields. */
		accepted = el == MLKEM_EK_LEN && _libssh2_mlkem768_encaps(gc, gk, ek, m) == 0;
		if (!valid)
			vec_check(t, !accepted, "Wycheproof ML-KEM-768 Encaps refuses the key", name);
		else
			vec_check(t, accepted && cl == MLKEM_CT_LEN && kl == SS_LEN &&
				 memcmp(gc, c, cl) == 0 && memcmp(gk, k, kl) == 0,
			      "Wycheproof ML-KEM-768 Encaps(ek, m) gives c and K", name);
	}
	if (fp)
		fclose(fp);
}

/* mlkem_768_test: a key pair from the seed, then Decaps of c; tampered and random
 * ciphertexts give the implicit-rejection key; bad lengths are refused. */
static void
test_mlkem_decaps(const char *dir, struct tally *t)
{
	static struct row r;
	static unsigned char seed[FIELD_MAX], ek[FIELD_MAX], c[FIELD_MAX], k[FIELD_MAX];
	unsigned char gek[MLKEM_EK_LEN], gdk[MLKEM_DK_LEN], gk[SS_LEN];
	size_t sl, el, cl, kl;
	char name[64];
	FILE *fp = vec_open_counted(dir, "wycheproof-mlkem768-decaps.txt", t);
	int rc, valid, usable;

	while (fp && (rc = read_row(fp, &r, 6)) != 0) {
		if (rc < 0 || !field(&r, 2, seed, sizeof(seed), &sl) ||
		    !field(&r, 3, ek, sizeof(ek), &el) || !field(&r, 4, c, sizeof(c), &cl) ||
		    !field(&r, 5, k, sizeof(k), &kl)) {
			vec_check(t, 0, "Wycheproof ML-KEM decaps vector line", r.f[0]);
			break;
		}
		valid = strcmp(r.f[1], "valid") == 0;
		snprintf(name, sizeof(name), "tcId %s (%s)", r.f[0], r.f[1]);
		usable = sl == MLKEM_SEED_LEN && cl == MLKEM_CT_LEN;
		if (!valid) {
			vec_check(t, !usable, "Wycheproof ML-KEM-768 refuses the seed or ciphertext length",
			      name);
			continue;
		}
		if (!usable || el != MLKEM_EK_LEN || kl != SS_LEN) {
			vec_check(t, 0, "Wycheproof ML-KEM decaps vector sizes", name);
			continue;
		}
		_libssh2_mlkem768_keypair(gek, gdk, seed);
		_libssh2_mlkem768_decaps(gk, c, gdk);
		vec_check(t, memcmp(gek, ek, el) == 0 && memcmp(gk, k, kl) == 0,
		      "Wycheproof ML-KEM-768 Decaps(dk, c) gives K", name);
	}
	if (fp)
		fclose(fp);
}

/* semi_expanded_decaps: dk given as bytes; its lengths and hash check (FIPS 203 7.3) decide. */
static void
test_mlkem_semi_expanded(const char *dir, struct tally *t)
{
	static struct row r;
	static unsigned char dk[FIELD_MAX], c[FIELD_MAX], k[FIELD_MAX];
	unsigned char gk[SS_LEN];
	size_t dl, cl, kl;
	char name[64];
	FILE *fp = vec_open_counted(dir, "wycheproof-mlkem768-semi-expanded.txt", t);
	int rc, valid, accepted;

	while (fp && (rc = read_row(fp, &r, 5)) != 0) {
		if (rc < 0 || !field(&r, 2, dk, sizeof(dk), &dl) || !field(&r, 3, c, sizeof(c), &cl) ||
		    !field(&r, 4, k, sizeof(k), &kl)) {
			vec_check(t, 0, "Wycheproof ML-KEM semi-expanded vector line", r.f[0]);
			break;
		}
		valid = strcmp(r.f[1], "valid") == 0;
		snprintf(name, sizeof(name), "tcId %s (%s)", r.f[0], r.f[1]);
		accepted = dl == MLKEM_DK_LEN && cl == MLKEM_CT_LEN &&
			   _libssh2_mlkem768_check_dk(dk) == 0;
		if (!valid) {
			vec_check(t, !accepted, "Wycheproof ML-KEM-768 decapsulation input check refuses",
			      name);
			continue;
		}
		if (accepted)
			_libssh2_mlkem768_decaps(gk, c, dk);
		vec_check(t, accepted && kl == SS_LEN && memcmp(gk, k, kl) == 0,
		      "Wycheproof ML-KEM-768 Decaps of an expanded dk gives K", name);
	}
	if (fp)
		fclose(fp);
}

/* Round trips with seeds of our own, and a flipped bit in every part of a ciphertext. */
static void
test_mlkem_misc(struct tally *t)
{
	unsigned char seed[MLKEM_SEED_LEN], m[MLKEM_M_LEN], ek[MLKEM_EK_LEN], dk[MLKEM_DK_LEN];
	unsigned char c[MLKEM_CT_LEN], k1[SS_LEN], k2[SS_LEN], k3[SS_LEN];
	int i, j, agree = 1, reject = 1;

	for (i = 0; i < 20; i++) {
		for (j = 0; j < MLKEM_SEED_LEN; j++)
			seed[j] = (unsigned char)(i * 31 + j * 7);
		for (j = 0; j < MLKEM_M_LEN; j++)
			m[j] = (unsigned char)(i * 13 + j);
		_libssh2_mlkem768_keypair(ek, dk, seed);
		agree &= _libssh2_mlkem768_encaps(c, k1, ek, m) == 0;
		_libssh2_mlkem768_decaps(k2, c, dk);
		agree &= memcmp(k1, k2, SS_LEN) == 0;
		c[(size_t)i * 97 % MLKEM_CT_LEN] ^= (unsigned char)(1 << (i % 8));
		_libssh2_mlkem768_decaps(k3, c, dk);
		reject &= memcmp(k1, k3, SS_LEN) != 0;
	}
	vec_check(t, agree, "ML-KEM-768 Encaps and Decaps agree", "20 key pairs");
	vec_check(t, reject, "ML-KEM-768 Decaps of a changed ciphertext gives another key",
	      "20 key pairs");
}

/* ========================================================== sntrup761 === */

/* NIST's AES-256 CTR_DRBG without derivation function (PQCgenKAT's rng.c), which produced
 * every random byte of the submission's known-answer tests. */
static void
drbg_increment(struct drbg *d)
{
	int j;

	for (j = 15; j >= 0; j--)
		if (++d->v[j] != 0)
			break;
}

static int
drbg_update(struct drbg *d, const unsigned char *seed)
{
	mbedtls_aes_context aes;
	unsigned char tmp[DRBG_SEED_LEN];
	int i, rc = 0;

	mbedtls_aes_init(&aes);
	rc |= mbedtls_aes_setkey_enc(&aes, d->key, 256);
	for (i = 0; i < 3; i++) {
		drbg_increment(d);
		rc |= mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, d->v, tmp + 16 * i);
	}
	mbedtls_aes_free(&aes);
	for (i = 0; seed && i < DRBG_SEED_LEN; i++)
		tmp[i] ^= seed[i];
	memcpy(d->key, tmp, 32);
	memcpy(d->v, tmp + 32, 16);
	return rc;
}

static void
drbg_init(struct drbg *d, const unsigned char seed[DRBG_SEED_LEN])
{
	memset(d, 0, sizeof(*d));
	(void)drbg_update(d, seed);
}

static int
drbg_random(void *ctx, unsigned char *buf, size_t len)
{
	struct drbg *d = ctx;
	mbedtls_aes_context aes;
	unsigned char block[16];
	size_t n;
	int rc;

	mbedtls_aes_init(&aes);
	rc = mbedtls_aes_setkey_enc(&aes, d->key, 256);
	while (rc == 0 && len > 0) {
		drbg_increment(d);
		rc = mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, d->v, block);
		n = len < 16 ? len : 16;
		memcpy(buf, block, n);
		buf += n;
		len -= n;
	}
	mbedtls_aes_free(&aes);
	return rc || drbg_update(d, NULL) ? -1 : 0;
}

/* The DRBG's output depends on how it is asked: each call ends with an update. The
 * reference takes its p random 32-bit values with one randombytes(4) each (urandom32()),
 * where libssh2 asks for all 4 p bytes at once; served in 4-byte calls, the bytes match. */
static int
kat_random(void *ctx, unsigned char *buf, size_t len)
{
	size_t i;

	if (len != 4 * SNTRUP_P)
		return drbg_random(ctx, buf, len);
	for (i = 0; i < len; i += 4)
		if (drbg_random(ctx, buf + i, 4))
			return -1;
	return 0;
}

/* The value of the next "key = value" line of a .rsp file; NULL at the end, or when the
 * line is not that key's. */
static const char *
rsp_value(FILE *f, const char *key)
{
	static char line[LINE_MAX_LEN];
	size_t kl = strlen(key), n;

	while (fgets(line, sizeof(line), f)) {
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strncmp(line, key, kl) != 0 || strncmp(line + kl, " = ", 3) != 0)
			return NULL;
		return line + kl + 3;
	}
	return NULL;
}

/* rsp_value() as bytes of exactly len */
static int
rsp_hex(FILE *f, const char *key, unsigned char *out, size_t len)
{
	const char *v = rsp_value(f, key);

	return v && vec_unhex(out, len, v) == len;
}

/* crypto_kem_keypair, _enc and _dec on each entry's DRBG seed give its pk, sk, ct and ss;
 * a changed ciphertext decapsulates to another key. */
static void
test_sntrup_kat(const char *dir, struct tally *t)
{
	static unsigned char seed[DRBG_SEED_LEN], pk[SNTRUP_PK_LEN], sk[SNTRUP_SK_LEN];
	static unsigned char ct[SNTRUP_CT_LEN];
	unsigned char ss[SS_LEN], gpk[SNTRUP_PK_LEN], gsk[SNTRUP_SK_LEN], gct[SNTRUP_CT_LEN];
	unsigned char gss[SS_LEN], dss[SS_LEN];
	struct drbg d;
	char name[64];
	const char *count;
	FILE *fp = vec_open_counted(dir, "sntrup761-kat.rsp", t);
	int n = 0, ok;

	while (fp && n < KAT_COUNT_MAX && (count = rsp_value(fp, "count")) != NULL) {
		snprintf(name, sizeof(name), "count %s", count);
		if (!rsp_hex(fp, "seed", seed, sizeof(seed)) || !rsp_hex(fp, "pk", pk, sizeof(pk)) ||
		    !rsp_hex(fp, "sk", sk, sizeof(sk)) || !rsp_hex(fp, "ct", ct, sizeof(ct)) ||
		    !rsp_hex(fp, "ss", ss, sizeof(ss))) {
			vec_check(t, 0, "sntrup761 KAT entry", name);
			break;
		}
		n++;
		drbg_init(&d, seed);
		ok = _libssh2_sntrup761_keypair(gpk, gsk, kat_random, &d) == 0;
		vec_check(t, ok && memcmp(gpk, pk, sizeof(pk)) == 0 && memcmp(gsk, sk, sizeof(sk)) == 0,
		      "sntrup761 KAT crypto_kem_keypair gives pk and sk", name);
		ok = _libssh2_sntrup761_encaps(gct, gss, pk, kat_random, &d) == 0;
		vec_check(t, ok && memcmp(gct, ct, sizeof(ct)) == 0 && memcmp(gss, ss, sizeof(ss)) == 0,
		      "sntrup761 KAT crypto_kem_enc gives ct and ss", name);
		ok = _libssh2_sntrup761_decaps(dss, ct, sk) == 0;
		vec_check(t, ok && memcmp(dss, ss, sizeof(ss)) == 0,
		      "sntrup761 KAT crypto_kem_dec gives ss", name);
		ct[(size_t)n * 101 % sizeof(ct)] ^= 0x04;
		ok = _libssh2_sntrup761_decaps(dss, ct, sk) == 0;
		vec_check(t, ok && memcmp(dss, ss, sizeof(ss)) != 0,
		      "sntrup761 crypto_kem_dec of a changed ciphertext gives another key", name);
	}
	vec_check(t, n > 0, "sntrup761 KAT entries read", "sntrup761-kat.rsp");
	if (fp)
		fclose(fp);
}

/* Whatever bytes a server sends as the ciphertext decapsulate, to a key of the implicit
 * rejection, without error (and, under ASan, without a stray read): the hybrid exchanges
 * take the KEM's answer as it is. Both KEMs, key pairs from the DRBG, pseudo-random and
 * all-0x00/0xff ciphertexts. */
static void
test_random_ciphertexts(struct tally *t)
{
	static unsigned char pk[SNTRUP_PK_LEN], sk[SNTRUP_SK_LEN], ek[MLKEM_EK_LEN], dk[MLKEM_DK_LEN];
	unsigned char seed[DRBG_SEED_LEN] = "random ciphertexts", c[MLKEM_CT_LEN], k[SS_LEN];
	unsigned char mseed[MLKEM_SEED_LEN];
	struct drbg d;
	int i, ok_s = 1, ok_m = 1;

	drbg_init(&d, seed);
	ok_s = _libssh2_sntrup761_keypair(pk, sk, drbg_random, &d) == 0;
	ok_m = drbg_random(&d, mseed, sizeof(mseed)) == 0;
	_libssh2_mlkem768_keypair(ek, dk, mseed);
	for (i = 0; i < RANDOM_CIPHERTEXTS; i++) {
		if (i < 2)
			memset(c, i ? 0xff : 0x00, sizeof(c));
		else if (drbg_random(&d, c, sizeof(c)))
			ok_s = ok_m = 0;
		ok_s &= _libssh2_sntrup761_decaps(k, c, sk) == 0;
		_libssh2_mlkem768_decaps(k, c, dk);
	}
	vec_check(t, ok_s, "sntrup761 decapsulates arbitrary ciphertexts", "100 ciphertexts");
	vec_check(t, ok_m, "ML-KEM-768 decapsulates arbitrary ciphertexts", "100 ciphertexts");
}

/* ============================================================== speed === */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BENCH(label, stmt) do { \
	for (n = 0, t0 = now(); (dt = now() - t0) < BENCH_SECONDS; n++) \
		stmt; \
	printf("%-22s %9.1f us\n", label, dt * 1e6 / n); \
} while (0)

static void
bench(void)
{
	static unsigned char ek[MLKEM_EK_LEN], dk[MLKEM_DK_LEN], c[MLKEM_CT_LEN];
	static unsigned char pk[SNTRUP_PK_LEN], sk[SNTRUP_SK_LEN], sc[SNTRUP_CT_LEN];
	unsigned char seed[MLKEM_SEED_LEN] = "sshmcp", m[MLKEM_M_LEN] = "sshmcp", k[SS_LEN];
	struct drbg d;
	double t0, dt;
	int n;

	drbg_init(&d, seed);
	BENCH("mlkem768 keygen", _libssh2_mlkem768_keypair(ek, dk, seed));
	BENCH("mlkem768 encaps", (void)_libssh2_mlkem768_encaps(c, k, ek, m));
	BENCH("mlkem768 decaps", _libssh2_mlkem768_decaps(k, c, dk));
	BENCH("sntrup761 keygen", (void)_libssh2_sntrup761_keypair(pk, sk, drbg_random, &d));
	BENCH("sntrup761 encaps", (void)_libssh2_sntrup761_encaps(sc, k, pk, drbg_random, &d));
	BENCH("sntrup761 decaps", (void)_libssh2_sntrup761_decaps(k, sc, sk));
}

/* =============================================================== main === */

int
main(int argc, char **argv)
{
	struct tally t = { 0, 0 };

	if (argc != 2) {
		fprintf(stderr, "usage: pq VECTOR_DIR | pq -b\n");
		return 2;
	}
	if (libssh2_init(0)) {
		fprintf(stderr, "pq: libssh2 init failed\n");
		return 2;
	}
	if (strcmp(argv[1], "-b") == 0) {
		bench();
	} else {
		test_mlkem_keygen(argv[1], &t);
		test_mlkem_encaps(argv[1], &t);
		test_mlkem_decaps(argv[1], &t);
		test_mlkem_semi_expanded(argv[1], &t);
		test_mlkem_misc(&t);
		test_sntrup_kat(argv[1], &t);
		test_random_ciphertexts(&t);
		printf("%d passed, %d failed\n", t.passed, t.failed);
	}
	libssh2_exit();
	return t.failed ? 1 : 0;
}
