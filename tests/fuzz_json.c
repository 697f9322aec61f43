/*
 * fuzz_json.c — libFuzzer target for json.h.
 *
 *   make fuzz-json           (build/fuzz_json; seeds in tests/fuzz/json)
 *
 * For any input: counting and token modes agree; every accessor on every
 * token stays in bounds and agrees with the others; decoded strings are
 * valid UTF-8 and survive jw_str → json_parse → json_str unchanged; the
 * whole document re-serialized through the writer parses to the same shape;
 * the raw input through jw_str is valid JSON; base64 round-trips and its
 * strict decoder only accepts the canonical encoding.
 */
#include "../json.h"

#define FJ_SLACK 64 /* writer headroom beyond the escaping worst case */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Dies loudly even when built with -DNDEBUG. */
#define FJ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "fuzz_json: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

/* jw_str of s must parse back to exactly want (s itself when s is valid). */
static void fj_string_round_trip(const char *s, size_t n, const char *want, size_t wn)
{
	size_t cap = 6 * n + FJ_SLACK, got = 0;
	char *buf = malloc(cap), *out = malloc(n * 3 + 1); /* U+FFFD is 3 bytes */
	struct json_tok tok[1];
	struct json_doc d;
	struct jw w;

	FJ_ASSERT(buf && out);
	jw_init(&w, buf, cap);
	jw_str(&w, s, n);
	FJ_ASSERT(jw_finish(&w) == 0);
	FJ_ASSERT(json_parse(&d, buf, w.len, tok, 1) == JSON_OK);
	FJ_ASSERT(json_str(&d, 0, out, n * 3 + 1, &got) == 0);
	FJ_ASSERT(json_utf8_valid(out, got));
	FJ_ASSERT(json_str_len(&d, 0) == got);
	if (want)
		FJ_ASSERT(got == wn && memcmp(out, want, wn) == 0);
	free(buf);
	free(out);
}

/* Decode string token t; caller frees.  Checks the decoders agree. */
static char *fj_decode(const struct json_doc *d, int t, size_t *n)
{
	size_t len = json_str_len(d, t), got = 0;
	char *out = malloc(len + 1);

	FJ_ASSERT(out);
	FJ_ASSERT(json_str(d, t, out, len + 1, &got) == 0 && got == len && out[len] == '\0');
	if (len > 0)
		FJ_ASSERT(json_str(d, t, out, len, &got) == -1 && got == len);
	FJ_ASSERT(json_str(d, t, out, len + 1, &got) == 0);
	FJ_ASSERT(json_utf8_valid(out, len));
	FJ_ASSERT(json_streqn(d, t, out, len));
	FJ_ASSERT(len == 0 || !json_streqn(d, t, out, len - 1));
	*n = len;
	return out;
}

/* Children of container t, walked three ways, must agree. */
static void fj_container(const struct json_doc *d, int t)
{
	const struct json_tok *k = &d->tok[t];
	uint32_t i = 0;
	int c;

	for (c = json_child(d, t); c >= 0; c = json_next(d, t, c), i++) {
		FJ_ASSERT(c > t && (uint32_t)c < k->end);
		if (k->type == JSON_ARRAY) {
			FJ_ASSERT(json_at(d, t, i) == c);
		} else {
			size_t n;
			char *key = fj_decode(d, c, &n);
			int v = json_getn(d, t, key, n);
			FJ_ASSERT(d->tok[c].type == JSON_STRING);
			FJ_ASSERT(v > t && v <= c + 1 && json_streqn(d, v - 1, key, n));
			free(key);
		}
	}
	FJ_ASSERT(i == k->count);
	FJ_ASSERT(json_at(d, t, k->count) == -1);
}

static void fj_scalar(const struct json_doc *d, int t)
{
	long long v;
	double x;
	int b;

	if (json_int(d, t, &v) == 0 && json_double(d, t, &x) == 0 &&
	    v <= (1LL << 53) && v >= -(1LL << 53))
		FJ_ASSERT((double)v == x);
	if (json_bool(d, t, &b) == 0)
		FJ_ASSERT(b == (d->tok[t].type == JSON_TRUE));
	FJ_ASSERT(json_get(d, t, "a") == -1 && json_at(d, t, 0) == -1 && json_child(d, t) == -1);
}

static void fj_tokens(const struct json_doc *d)
{
	uint32_t t;

	for (t = 0; t < d->ntok; t++) {
		const struct json_tok *k = &d->tok[t];
		FJ_ASSERT(k->type >= JSON_NULL && k->type <= JSON_OBJECT);
		FJ_ASSERT(k->end > t && k->end <= d->ntok);
		FJ_ASSERT(k->off <= d->len && k->len <= d->len - k->off);
		if (k->type == JSON_ARRAY || k->type == JSON_OBJECT) {
			fj_container(d, (int)t);
		} else {
			FJ_ASSERT(k->end == t + 1);
			fj_scalar(d, (int)t);
		}
		if (k->type == JSON_STRING) {
			size_t n;
			char *s = fj_decode(d, (int)t, &n);
			fj_string_round_trip(s, n, s, n);
			free(s);
		}
	}
}

/* Re-serialize value t through the writer; returns the next token. */
static int fj_write(const struct json_doc *d, int t, struct jw *w)
{
	const struct json_tok *k = &d->tok[t];
	int c, next = t + 1;
	size_t n;
	char *s;

	switch (k->type) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (k->type == JSON_OBJECT)
			jw_obj_begin(w);
		else
			jw_arr_begin(w);
		for (c = json_child(d, t); c >= 0; c = json_next(d, t, c)) {
			if (k->type == JSON_OBJECT) {
				s = fj_decode(d, c, &n);
				jw_keyn(w, s, n);
				free(s);
				fj_write(d, c + 1, w); /* the member's value */
			} else {
				fj_write(d, c, w);
			}
		}
		if (k->type == JSON_OBJECT)
			jw_obj_end(w);
		else
			jw_arr_end(w);
		return (int)k->end;
	case JSON_STRING:
		s = fj_decode(d, t, &n);
		jw_str(w, s, n);
		free(s);
		return next;
	case JSON_NUMBER:
		jw_raw(w, d->buf + k->off, k->len);
		return next;
	case JSON_TRUE:
	case JSON_FALSE:
		jw_bool(w, k->type == JSON_TRUE);
		return next;
	default:
		jw_null(w);
		return next;
	}
}

static void fj_rewrite(const struct json_doc *d)
{
	size_t cap = 6 * d->len + FJ_SLACK;
	struct json_tok *tok = malloc(sizeof *tok * (d->ntok + 1));
	char *buf = malloc(cap);
	struct json_doc d2;
	struct jw w;
	uint32_t t;

	FJ_ASSERT(buf && tok);
	jw_init(&w, buf, cap);
	fj_write(d, 0, &w);
	FJ_ASSERT(jw_finish(&w) == 0);
	FJ_ASSERT(json_parse(&d2, buf, w.len, tok, d->ntok) == JSON_OK);
	FJ_ASSERT(d2.ntok == d->ntok);
	for (t = 0; t < d->ntok; t++)
		FJ_ASSERT(tok[t].type == d->tok[t].type && tok[t].end == d->tok[t].end &&
		          tok[t].count == d->tok[t].count);
	free(buf);
	free(tok);
}

static void fj_base64(const char *s, size_t n)
{
	size_t elen = b64_encoded_len(n), got = 0;
	char *enc = malloc(elen + 1);
	unsigned char *dec = malloc(n + 1);

	FJ_ASSERT(enc && dec);
	FJ_ASSERT(b64_encode(s, n, enc, elen + 1, &got) == 0 && got == elen);
	FJ_ASSERT(b64_decode(enc, elen, dec, n, &got) == 0 && got == n && memcmp(dec, s, n) == 0);
	if (b64_decode(s, n, dec, n, &got) == 0) { /* strict: only canonical text decodes */
		char *re = malloc(b64_encoded_len(got) + 1);
		FJ_ASSERT(re && got <= b64_decoded_max(n));
		FJ_ASSERT(b64_encode(dec, got, re, b64_encoded_len(got) + 1, &elen) == 0);
		FJ_ASSERT(elen == n && memcmp(re, s, n) == 0);
		free(re);
	}
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct json_tok *tok;
	struct json_doc d, d0;
	size_t pre;
	int rc, rc0;

	if (size > JSON_MAX_SIZE)
		return 0;
	tok = malloc(sizeof *tok * (size + 1));
	FJ_ASSERT(tok);
	rc = json_parse(&d, s, size, tok, (uint32_t)size); /* documented to suffice */
	rc0 = json_parse(&d0, s, size, NULL, 0);
	FJ_ASSERT(rc == rc0 && d.ntok == d0.ntok && rc != JSON_ERR_TOKENS);
	if (rc == JSON_OK) {
		FJ_ASSERT(d.ntok >= 1 && d.tok[0].end == d.ntok);
		fj_tokens(&d);
		fj_rewrite(&d);
	} else {
		FJ_ASSERT(d.ntok == 0 && d.err_off <= size);
	}
	fj_string_round_trip(s, size, json_utf8_valid(s, size) ? s : NULL, size);
	pre = json_utf8_valid_prefix(s, size);
	FJ_ASSERT(pre <= size && size - pre <= 3);
	if (json_utf8_valid(s, size))
		FJ_ASSERT(pre == size);
	if (pre < size) { /* what is held back must be a sequence more bytes could complete */
		size_t used;
		uint32_t cp;
		FJ_ASSERT(json_utf8_next(s + pre, size - pre, &used, &cp) == JSON_U8_SHORT);
	}
	fj_base64(s, size);
	free(tok);
	return 0;
}
