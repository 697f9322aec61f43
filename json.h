/*
 * json.h — sshmcp's strict JSON reader and writer, plus base64.
 *
 * Header-only; every function is static, so it can be #included into the
 * single-file sshmcp.c and into the tests.  Nothing here allocates.
 *
 *   reader  json_parse() tokenizes a complete buffer (jsmn-style, pointer +
 *           length spans into the caller's bytes) and validates it against
 *           RFC 8259 with no extensions; json_get/json_at/json_str/... read
 *           the token array.
 *   writer  struct jw appends into a bounded caller-owned buffer, inserts
 *           commas itself, escapes every control byte and replaces invalid
 *           UTF-8 so that remote command output can never break the framing.
 *   base64  RFC 4648 §4 encoder and strict decoder (file content travels so).
 *
 * Sections: limits · API · UTF-8 · reader scanners · parser · accessors ·
 * writer · base64.
 */
#ifndef SSHMCP_JSON_H
#define SSHMCP_JSON_H

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =========================================================== limits === */

#ifndef JSON_MAX_DEPTH
#define JSON_MAX_DEPTH 64                 /* nested containers; 65th rejected */
#endif
#ifndef JSON_MAX_SIZE
#define JSON_MAX_SIZE (4u * 1024u * 1024u) /* = the MCP message limit */
#endif
#define JSON_NUM_MAX 1024 /* longest number text json_double() converts */
#define JSON_EXP_SAT 100000000LL /* exponents saturate here; far past any digit count */
#define JW_MAX_DEPTH 64   /* one bit per level in jw.first / jw.obj */

_Static_assert(JSON_MAX_DEPTH >= 1 && JSON_MAX_DEPTH <= 64,
               "open-container kinds are kept as bits of a uint64_t");
_Static_assert(JSON_MAX_SIZE < 0x7fffffffu,
               "token offsets are uint32_t and token indices are int");
_Static_assert(JW_MAX_DEPTH <= 64, "writer levels are bits of a uint64_t");

#if defined(__GNUC__) || defined(__clang__)
#define JSON_UNUSED __attribute__((unused)) /* a user needs only part of the API */
#else
#define JSON_UNUSED
#endif

/* ============================================================== API === */

enum json_type { JSON_NONE, JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER,
                 JSON_STRING, JSON_ARRAY, JSON_OBJECT };

/*
 * One token per value, and one per object key.  Object members are stored
 * key (JSON_STRING) then value.  Spans point into the input: strings without
 * their quotes and with escapes not decoded; containers include brackets.
 */
struct json_tok {
	enum json_type type;
	uint32_t off, len; /* span in the input */
	uint32_t count;    /* children: array elements / object members */
	uint32_t end;      /* index of the first token after this subtree */
};

struct json_doc {
	const char *buf;
	size_t len;
	struct json_tok *tok;
	uint32_t ntok, cap;
	size_t err_off; /* byte offset of the error when json_parse fails */
};

enum json_err { JSON_OK = 0, JSON_ERR_SYNTAX = -1, JSON_ERR_DEPTH = -2,
                JSON_ERR_TOKENS = -3, JSON_ERR_UTF8 = -4, JSON_ERR_SIZE = -5 };

/* jw.err values: the first failure sticks and later calls do nothing. */
enum jw_err { JW_OK = 0, JW_ERR_FULL = 1, JW_ERR_USAGE = 2 };

struct jw {
	char *buf;
	size_t len, cap;  /* buf[len] is always NUL, so len <= cap - 1 */
	int err;          /* enum jw_err */
	uint8_t depth;    /* open containers */
	uint64_t first;   /* bit depth-1: no comma needed yet at that level */
	uint64_t obj;     /* bit depth-1: that level is an object */
	int after_key;    /* a key was written; its value comes next */
	int done;         /* the top-level value is complete */
};

/* Reader.  tok == NULL only counts tokens (d->ntok) and validates. */
JSON_UNUSED static int json_parse(struct json_doc *d, const char *buf, size_t len,
                                  struct json_tok *tok, uint32_t cap);
JSON_UNUSED static enum json_type json_type(const struct json_doc *d, int t);
JSON_UNUSED static int json_get(const struct json_doc *d, int obj, const char *key);
JSON_UNUSED static const char *json_twice(const struct json_doc *d, int obj,
                                          const char *const *keys);
JSON_UNUSED static int json_getn(const struct json_doc *d, int obj, const char *key,
                                 size_t klen);
JSON_UNUSED static int json_at(const struct json_doc *d, int arr, uint32_t i);
JSON_UNUSED static int json_child(const struct json_doc *d, int parent);
JSON_UNUSED static int json_next(const struct json_doc *d, int parent, int t);
JSON_UNUSED static int json_streq(const struct json_doc *d, int t, const char *s);
JSON_UNUSED static int json_streqn(const struct json_doc *d, int t, const char *s,
                                   size_t n);
JSON_UNUSED static size_t json_str_len(const struct json_doc *d, int t);
JSON_UNUSED static int json_str(const struct json_doc *d, int t, char *out, size_t cap,
                                size_t *outlen);
JSON_UNUSED static int json_int(const struct json_doc *d, int t, long long *v);
JSON_UNUSED static int json_double(const struct json_doc *d, int t, double *v);
JSON_UNUSED static int json_bool(const struct json_doc *d, int t, int *v);
JSON_UNUSED static const char *json_strerror(int err);

/* UTF-8 */
JSON_UNUSED static int json_utf8_valid(const char *s, size_t n);
JSON_UNUSED static size_t json_utf8_valid_prefix(const char *s, size_t n);

/* Writer */
JSON_UNUSED static void jw_init(struct jw *w, char *buf, size_t cap);
JSON_UNUSED static int jw_finish(const struct jw *w);
JSON_UNUSED static void jw_obj_begin(struct jw *w);
JSON_UNUSED static void jw_obj_end(struct jw *w);
JSON_UNUSED static void jw_arr_begin(struct jw *w);
JSON_UNUSED static void jw_arr_end(struct jw *w);
JSON_UNUSED static void jw_key(struct jw *w, const char *k);
JSON_UNUSED static void jw_keyn(struct jw *w, const char *k, size_t n);
JSON_UNUSED static void jw_str(struct jw *w, const char *s, size_t n);
JSON_UNUSED static void jw_cstr(struct jw *w, const char *s);
JSON_UNUSED static void jw_int(struct jw *w, long long v);
JSON_UNUSED static void jw_uint(struct jw *w, unsigned long long v);
JSON_UNUSED static void jw_double(struct jw *w, double v);
JSON_UNUSED static void jw_bool(struct jw *w, int v);
JSON_UNUSED static void jw_null(struct jw *w);
JSON_UNUSED static void jw_raw(struct jw *w, const char *json, size_t n);
JSON_UNUSED static void jw_b64(struct jw *w, const void *data, size_t n);
JSON_UNUSED static void jw_kobj_begin(struct jw *w, const char *k);
JSON_UNUSED static void jw_karr_begin(struct jw *w, const char *k);
JSON_UNUSED static void jw_kstr(struct jw *w, const char *k, const char *s, size_t n);
JSON_UNUSED static void jw_kcstr(struct jw *w, const char *k, const char *s);
JSON_UNUSED static void jw_kint(struct jw *w, const char *k, long long v);
JSON_UNUSED static void jw_kuint(struct jw *w, const char *k, unsigned long long v);
JSON_UNUSED static void jw_kdouble(struct jw *w, const char *k, double v);
JSON_UNUSED static void jw_kbool(struct jw *w, const char *k, int v);
JSON_UNUSED static void jw_knull(struct jw *w, const char *k);
JSON_UNUSED static void jw_kraw(struct jw *w, const char *k, const char *json, size_t n);
JSON_UNUSED static void jw_kb64(struct jw *w, const char *k, const void *data, size_t n);

/* Base64 */
JSON_UNUSED static size_t b64_encoded_len(size_t n);
JSON_UNUSED static size_t b64_decoded_max(size_t n);
JSON_UNUSED static int b64_encode(const void *in, size_t n, char *out, size_t cap,
                                  size_t *outlen);
JSON_UNUSED static int b64_decode(const char *in, size_t n, void *out, size_t cap,
                                  size_t *outlen);

/* ============================================================ UTF-8 === */

enum json_u8 { JSON_U8_OK, JSON_U8_BAD, JSON_U8_SHORT };

/*
 * Decode one UTF-8 sequence from s[0..n), n >= 1.  On JSON_U8_OK *used is its
 * length and *cp the code point.  Otherwise *used is the length of the
 * maximal subpart (Unicode 15 §3.9 / WHATWG): the bytes that could still
 * begin a valid sequence, at least 1.  JSON_U8_SHORT means the input ended
 * inside a sequence that more bytes could complete.  The per-lead bounds on
 * the second byte are what rule out overlongs, surrogates and > U+10FFFF.
 */
static enum json_u8 json_utf8_next(const char *str, size_t n, size_t *used, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xBF, c = s[0];
	size_t need, i;
	uint32_t v;

	*used = 1;
	*cp = c;
	if (c < 0x80)
		return JSON_U8_OK;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0Fu;
		lo = c == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F would be overlong */
		hi = c == 0xED ? 0x9F : 0xBF; /* ED A0..BF would be a surrogate */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07u;
		lo = c == 0xF0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
		hi = c == 0xF4 ? 0x8F : 0xBF; /* F4 90.. would pass U+10FFFF */
	} else {
		return JSON_U8_BAD;           /* C0, C1, F5..FF, continuation */
	}
	for (i = 1; i <= need; i++) {
		if (i >= n) {
			*used = i;
			return JSON_U8_SHORT;
		}
		if (s[i] < lo || s[i] > hi) {
			*used = i;
			return JSON_U8_BAD;
		}
		v = v << 6 | (s[i] & 0x3Fu);
		lo = 0x80;
		hi = 0xBF;
	}
	*used = need + 1;
	*cp = v;
	return JSON_U8_OK;
}

/* Encode code point cp (<= 0x10FFFF) into out; returns 1..4. */
static size_t json_utf8_put(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* 1 if s[0..n) is entirely valid UTF-8. */
static int json_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, used;
	uint32_t cp;

	while (i < n) {
		if (json_utf8_next(s + i, n - i, &used, &cp) != JSON_U8_OK)
			return 0;
		i += used;
	}
	return 1;
}

/*
 * Length of the longest prefix of s that does not end inside an incomplete
 * (but so far valid) UTF-8 sequence: a reader cutting output at a buffer
 * boundary keeps the tail for next time instead of emitting U+FFFD for half
 * a character.  Invalid bytes at the end are not held back — waiting would
 * not make them valid.
 */
static size_t json_utf8_valid_prefix(const char *s, size_t n)
{
	size_t back, used;
	uint32_t cp;

	for (back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = (unsigned char)s[n - back];
		if (c < 0x80)
			break;
		if (c >= 0xC0) { /* the last lead byte decides */
			if (json_utf8_next(s + n - back, back, &used, &cp) == JSON_U8_SHORT)
				return n - back;
			break;
		}
	}
	return n;
}

/* ================================================== reader scanners === */

static size_t json_skip_ws(const char *b, size_t len, size_t p)
{
	while (p < len && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r'))
		p++;
	return p;
}

static int json_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Four hex digits at s[0..n) into *v; -1 if fewer or not hex. */
static int json_hex4(const char *s, size_t n, uint32_t *v)
{
	size_t i;

	*v = 0;
	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = s[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/*
 * Validate the escape at b[*pp] == '\\' and step past it.  A \u escape must
 * name a scalar value: a high surrogate only immediately followed by a \u
 * low surrogate, never a low one alone (RFC 8259 §8.2 allows such strings,
 * but they cannot be decoded to UTF-8, so we refuse them).
 */
static int json_scan_escape(const char *b, size_t len, size_t *pp)
{
	size_t p = *pp;
	uint32_t hi, lo;

	if (len - p < 2)
		return JSON_ERR_SYNTAX;
	switch (b[p + 1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		*pp = p + 2;
		return JSON_OK;
	case 'u':
		break;
	default:
		return JSON_ERR_SYNTAX;
	}
	if (json_hex4(b + p + 2, len - p - 2, &hi) != 0)
		return JSON_ERR_SYNTAX;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return JSON_ERR_UTF8;
	if (hi < 0xD800 || hi > 0xDBFF) {
		*pp = p + 6;
		return JSON_OK;
	}
	p += 6;
	if (len - p < 2 || b[p] != '\\' || b[p + 1] != 'u')
		return JSON_ERR_UTF8;
	if (json_hex4(b + p + 2, len - p - 2, &lo) != 0)
		return JSON_ERR_SYNTAX;
	if (lo < 0xDC00 || lo > 0xDFFF)
		return JSON_ERR_UTF8;
	*pp = p + 6;
	return JSON_OK;
}

/* String body from b[*pp] (just past the opening quote) to the closing
 * quote; on success *pp is at that quote, on failure at the offending byte. */
static int json_scan_string(const char *b, size_t len, size_t *pp)
{
	size_t p = *pp, used;
	uint32_t cp;
	int rc;

	while (p < len) {
		unsigned char c = (unsigned char)b[p];
		if (c == '"') {
			*pp = p;
			return JSON_OK;
		}
		if (c < 0x20) {
			*pp = p;
			return JSON_ERR_SYNTAX;
		}
		if (c == '\\') {
			*pp = p;
			if ((rc = json_scan_escape(b, len, &p)) != JSON_OK)
				return rc;
			continue;
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		if (json_utf8_next(b + p, len - p, &used, &cp) != JSON_U8_OK) {
			*pp = p;
			return JSON_ERR_UTF8;
		}
		p += used;
	}
	*pp = len;
	return JSON_ERR_SYNTAX; /* unterminated */
}

/* RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  What follows
 * the number is the caller's business, so "01" fails there, not here. */
static int json_scan_number(const char *b, size_t len, size_t *pp)
{
	size_t p = *pp;

	if (p < len && b[p] == '-')
		p++;
	if (p >= len || !json_is_digit(b[p]))
		goto bad;
	if (b[p] == '0')
		p++;
	else
		while (p < len && json_is_digit(b[p]))
			p++;
	if (p < len && b[p] == '.') {
		if (++p >= len || !json_is_digit(b[p]))
			goto bad;
		while (p < len && json_is_digit(b[p]))
			p++;
	}
	if (p < len && (b[p] == 'e' || b[p] == 'E')) {
		if (++p < len && (b[p] == '+' || b[p] == '-'))
			p++;
		if (p >= len || !json_is_digit(b[p]))
			goto bad;
		while (p < len && json_is_digit(b[p]))
			p++;
	}
	*pp = p;
	return JSON_OK;
bad:
	*pp = p;
	return JSON_ERR_SYNTAX;
}

/* ============================================================ parser === */

enum json_want { JSON_WANT_VALUE, JSON_WANT_KEY, JSON_WANT_MORE, JSON_WANT_NOTHING };

struct json_parser {
	struct json_doc *d;
	size_t p;                        /* next input byte */
	uint32_t stack[JSON_MAX_DEPTH];  /* token index of each open container */
	uint64_t isobj;                  /* bit i: stack[i] is an object */
	unsigned depth;
	enum json_want want;
};

/* Append a token; with no token array only count it.  Returns its index. */
static int json_tok_add(struct json_parser *ps, enum json_type type, size_t off, size_t len)
{
	struct json_doc *d = ps->d;
	struct json_tok *t;

	if (d->tok) {
		if (d->ntok >= d->cap)
			return JSON_ERR_TOKENS;
		t = &d->tok[d->ntok];
		t->type = type;
		t->off = (uint32_t)off;
		t->len = (uint32_t)len;
		t->count = 0;
		t->end = d->ntok + 1;
	}
	return (int)d->ntok++;
}

/* A new child of the innermost container (keys count as members). */
static void json_tok_adopt(struct json_parser *ps)
{
	if (ps->depth > 0 && ps->d->tok)
		ps->d->tok[ps->stack[ps->depth - 1]].count++;
}

/* Is the innermost open container an object (else an array, or none)? */
static int json_parse_in_obj(const struct json_parser *ps)
{
	return ps->depth > 0 && (ps->isobj >> (ps->depth - 1) & 1);
}

static int json_parse_open(struct json_parser *ps, enum json_type type)
{
	int t;

	if (ps->depth >= JSON_MAX_DEPTH)
		return JSON_ERR_DEPTH;
	if (!json_parse_in_obj(ps)) /* object values are adopted via their key */
		json_tok_adopt(ps);
	if ((t = json_tok_add(ps, type, ps->p, 1)) < 0)
		return t;
	if (type == JSON_OBJECT)
		ps->isobj |= (uint64_t)1 << ps->depth;
	else
		ps->isobj &= ~((uint64_t)1 << ps->depth);
	ps->stack[ps->depth++] = (uint32_t)t;
	ps->p = json_skip_ws(ps->d->buf, ps->d->len, ps->p + 1);
	ps->want = type == JSON_OBJECT ? JSON_WANT_KEY : JSON_WANT_VALUE;
	return JSON_OK;
}

/* b[ps->p] is ']' or '}': close the innermost container if it matches. */
static int json_parse_close(struct json_parser *ps)
{
	struct json_doc *d = ps->d;
	uint32_t t;

	if (ps->depth == 0)
		return JSON_ERR_SYNTAX;
	if ((d->buf[ps->p] == '}') != json_parse_in_obj(ps))
		return JSON_ERR_SYNTAX;
	t = ps->stack[--ps->depth];
	if (d->tok) {
		d->tok[t].end = d->ntok;
		d->tok[t].len = (uint32_t)(ps->p + 1 - d->tok[t].off);
	}
	ps->p++;
	ps->want = JSON_WANT_MORE;
	return JSON_OK;
}

/* A scalar: string, number or literal at ps->p. */
static int json_parse_scalar(struct json_parser *ps)
{
	static const struct { const char *text; size_t len; enum json_type type; } lit[] = {
		{ "null", 4, JSON_NULL }, { "false", 5, JSON_FALSE }, { "true", 4, JSON_TRUE },
	};
	const char *b = ps->d->buf;
	size_t len = ps->d->len, start = ps->p, i;
	int rc;

	if (b[start] == '"') {
		ps->p = start + 1;
		if ((rc = json_scan_string(b, len, &ps->p)) != JSON_OK)
			return rc;
		rc = json_tok_add(ps, JSON_STRING, start + 1, ps->p - start - 1);
		ps->p++;
	} else if (b[start] == '-' || json_is_digit(b[start])) {
		if ((rc = json_scan_number(b, len, &ps->p)) != JSON_OK)
			return rc;
		rc = json_tok_add(ps, JSON_NUMBER, start, ps->p - start);
	} else {
		for (i = 0; i < sizeof lit / sizeof lit[0]; i++)
			if (len - start >= lit[i].len &&
			    memcmp(b + start, lit[i].text, lit[i].len) == 0)
				break;
		if (i == sizeof lit / sizeof lit[0])
			return JSON_ERR_SYNTAX;
		ps->p = start + lit[i].len;
		rc = json_tok_add(ps, lit[i].type, start, lit[i].len);
	}
	if (rc < 0) {
		ps->p = start; /* out of tokens: point at the value that did not fit */
		return rc;
	}
	return JSON_OK;
}

static int json_parse_value(struct json_parser *ps)
{
	const char *b = ps->d->buf;
	int rc;

	if (ps->p >= ps->d->len)
		return JSON_ERR_SYNTAX;
	if (b[ps->p] == '{' || b[ps->p] == '[') {
		if ((rc = json_parse_open(ps, b[ps->p] == '{' ? JSON_OBJECT : JSON_ARRAY)) != JSON_OK)
			return rc;
		/* Only here, right after the opening bracket, may a container
		 * close; a bracket where a value or key is wanted after ',' is
		 * a trailing comma and stays an error. */
		if (ps->p < ps->d->len && (b[ps->p] == ']' || b[ps->p] == '}'))
			return json_parse_close(ps);
		return JSON_OK;
	}
	if (!json_parse_in_obj(ps)) /* object values are adopted via their key */
		json_tok_adopt(ps);
	if ((rc = json_parse_scalar(ps)) != JSON_OK)
		return rc;
	ps->want = JSON_WANT_MORE;
	return JSON_OK;
}

/* An object key, then ':'. */
static int json_parse_key(struct json_parser *ps)
{
	int rc;

	if (ps->p >= ps->d->len || ps->d->buf[ps->p] != '"')
		return JSON_ERR_SYNTAX;
	json_tok_adopt(ps);
	if ((rc = json_parse_scalar(ps)) != JSON_OK)
		return rc;
	ps->p = json_skip_ws(ps->d->buf, ps->d->len, ps->p);
	if (ps->p >= ps->d->len || ps->d->buf[ps->p] != ':')
		return JSON_ERR_SYNTAX;
	ps->p++;
	ps->want = JSON_WANT_VALUE;
	return JSON_OK;
}

/* After a complete value: ',' , a closing bracket, or the end of input. */
static int json_parse_more(struct json_parser *ps)
{
	const char *b = ps->d->buf;

	if (ps->depth == 0) {
		if (ps->p != ps->d->len)
			return JSON_ERR_SYNTAX; /* a second top-level value or junk */
		ps->want = JSON_WANT_NOTHING;
		return JSON_OK;
	}
	if (ps->p >= ps->d->len)
		return JSON_ERR_SYNTAX;
	if (b[ps->p] == ',') {
		ps->p++;
		ps->want = json_parse_in_obj(ps) ? JSON_WANT_KEY : JSON_WANT_VALUE;
		return JSON_OK;
	}
	if (b[ps->p] == ']' || b[ps->p] == '}')
		return json_parse_close(ps);
	return JSON_ERR_SYNTAX;
}

/*
 * Tokenize and validate buf[0..len).  Iterative: the only stack is
 * ps.stack, JSON_MAX_DEPTH deep.  Each token starts at its own input byte,
 * so cap = len tokens always suffices; tok == NULL just counts them.
 * On failure d->ntok is 0 and d->err_off the offset of the offending byte.
 */
static int json_parse(struct json_doc *d, const char *buf, size_t len,
                      struct json_tok *tok, uint32_t cap)
{
	struct json_parser ps;
	int rc = JSON_OK;

	memset(d, 0, sizeof *d);
	d->buf = buf;
	d->len = len;
	d->tok = tok;
	d->cap = tok ? cap : 0;
	if (len > JSON_MAX_SIZE) {
		d->err_off = JSON_MAX_SIZE;
		return JSON_ERR_SIZE;
	}
	memset(&ps, 0, sizeof ps);
	ps.d = d;
	ps.want = JSON_WANT_VALUE;
	while (rc == JSON_OK && ps.want != JSON_WANT_NOTHING) {
		ps.p = json_skip_ws(buf, len, ps.p);
		if (ps.want == JSON_WANT_VALUE)
			rc = json_parse_value(&ps);
		else if (ps.want == JSON_WANT_KEY)
			rc = json_parse_key(&ps);
		else
			rc = json_parse_more(&ps);
	}
	if (rc != JSON_OK) {
		d->ntok = 0;
		d->err_off = ps.p;
	}
	return rc;
}

static const char *json_strerror(int err)
{
	switch (err) {
	case JSON_OK:         return "ok";
	case JSON_ERR_SYNTAX: return "JSON syntax error";
	case JSON_ERR_DEPTH:  return "JSON nested too deeply";
	case JSON_ERR_TOKENS: return "JSON has too many values";
	case JSON_ERR_UTF8:   return "JSON string is not valid UTF-8";
	case JSON_ERR_SIZE:   return "JSON document too large";
	}
	return "unknown JSON error";
}

/* ========================================================= accessors === */

/*
 * Iteration:
 *   for (int e = json_child(d, arr); e >= 0; e = json_next(d, arr, e))
 *           ... element e ...
 *   for (int k = json_child(d, obj); k >= 0; k = json_next(d, obj, k))
 *           ... key k, value k + 1 ...
 * Every accessor checks its token index, so a failed lookup's -1 can be
 * passed straight on: json_str(d, json_get(d, root, "name"), ...) just fails.
 */

static const struct json_tok *json_tok_get(const struct json_doc *d, int t)
{
	if (!d->tok || t < 0 || (uint32_t)t >= d->ntok)
		return NULL;
	return &d->tok[t];
}

static enum json_type json_type(const struct json_doc *d, int t)
{
	const struct json_tok *k = json_tok_get(d, t);

	return k ? k->type : JSON_NONE;
}

/* First child of a container (for objects: the first key), or -1. */
static int json_child(const struct json_doc *d, int parent)
{
	const struct json_tok *p = json_tok_get(d, parent);

	if (!p || (p->type != JSON_ARRAY && p->type != JSON_OBJECT) || p->count == 0)
		return -1;
	return parent + 1;
}

/* The sibling after child t of parent (objects: key to key), or -1. */
static int json_next(const struct json_doc *d, int parent, int t)
{
	const struct json_tok *p = json_tok_get(d, parent);
	uint32_t n;

	if (!p || t <= parent || (uint32_t)t >= p->end)
		return -1;
	if (p->type == JSON_OBJECT && (uint32_t)t + 1 < p->end)
		n = d->tok[t + 1].end; /* a member is key then value */
	else if (p->type == JSON_ARRAY)
		n = d->tok[t].end;
	else
		return -1;
	return n < p->end ? (int)n : -1;
}

static int json_at(const struct json_doc *d, int arr, uint32_t i)
{
	const struct json_tok *a = json_tok_get(d, arr);
	uint32_t k;

	if (!a || a->type != JSON_ARRAY || i >= a->count)
		return -1;
	for (k = (uint32_t)arr + 1; i > 0; i--)
		k = d->tok[k].end;
	return (int)k;
}

/*
 * Decode one unit of a validated string body at s[*i]: a raw byte, or an
 * escape (a surrogate pair is one unit).  Returns the bytes put in out.
 */
static size_t json_unescape(const char *s, size_t n, size_t *i, unsigned char out[4])
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t cp, lo;

	if (s[*i] != '\\' || n - *i < 2) {
		out[0] = (unsigned char)s[(*i)++];
		return 1;
	}
	if (s[*i + 1] != 'u') {
		e = memchr(from, s[*i + 1], sizeof from - 1);
		out[0] = (unsigned char)(e ? to[e - from] : s[*i + 1]);
		*i += 2;
		return 1;
	}
	if (json_hex4(s + *i + 2, n - *i - 2, &cp) != 0) { /* cannot happen after parse */
		out[0] = (unsigned char)s[(*i)++];
		return 1;
	}
	*i += 6;
	if (cp >= 0xD800 && cp <= 0xDBFF && n - *i >= 6 && s[*i] == '\\' && s[*i + 1] == 'u' &&
	    json_hex4(s + *i + 2, n - *i - 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		*i += 6;
	}
	return json_utf8_put(cp, out);
}

/* Decoded string equals s[0..n)?  Compared unit by unit; no buffer. */
static int json_streqn(const struct json_doc *d, int t, const char *s, size_t n)
{
	const struct json_tok *k = json_tok_get(d, t);
	unsigned char u[4];
	size_t i = 0, j = 0, m;

	if (!k || k->type != JSON_STRING)
		return 0;
	while (i < k->len) {
		m = json_unescape(d->buf + k->off, k->len, &i, u);
		if (m > n - j || memcmp(u, s + j, m) != 0)
			return 0;
		j += m;
	}
	return j == n;
}

static int json_streq(const struct json_doc *d, int t, const char *s)
{
	return json_streqn(d, t, s, strlen(s));
}

/* The first of the NULL-ended keys that obj has more than once (decoded: "n\u0061me" is
 * "name"), or NULL. Readers disagree on which of two values counts; a strict reader
 * takes neither. Linear in the members times the keys. */
static const char *json_twice(const struct json_doc *d, int obj, const char *const *keys)
{
	int k;

	for (; *keys != NULL; keys++) {
		int seen = 0;

		for (k = json_child(d, obj); k >= 0; k = json_next(d, obj, k))
			if (json_streq(d, k, *keys) && ++seen > 1)
				return *keys;
	}
	return NULL;
}

/* Value of the first member whose decoded key equals key, or -1. */
static int json_getn(const struct json_doc *d, int obj, const char *key, size_t klen)
{
	const struct json_tok *o = json_tok_get(d, obj);
	uint32_t i, k;

	if (!o || o->type != JSON_OBJECT)
		return -1;
	for (i = 0, k = (uint32_t)obj + 1; i < o->count; i++, k = d->tok[k + 1].end)
		if (json_streqn(d, (int)k, key, klen))
			return (int)k + 1;
	return -1;
}

static int json_get(const struct json_doc *d, int obj, const char *key)
{
	return json_getn(d, obj, key, strlen(key));
}

/* Decoded byte length of a string token (0 if t is not a string), so a
 * caller can allocate exactly json_str_len() + 1 for json_str(). */
static size_t json_str_len(const struct json_doc *d, int t)
{
	const struct json_tok *k = json_tok_get(d, t);
	unsigned char u[4];
	size_t i = 0, n = 0;

	if (!k || k->type != JSON_STRING)
		return 0;
	while (i < k->len)
		n += json_unescape(d->buf + k->off, k->len, &i, u);
	return n;
}

/*
 * Decode string t into out, always NUL-terminated on success, so it needs
 * cap >= json_str_len() + 1.  *outlen (may be NULL) gets the decoded length
 * — also on failure, to size a retry.  The result may contain NUL bytes
 * (from \u0000); compare with *outlen, not strlen.  -1 if t is no string or
 * it does not fit (out is then "" when cap > 0).
 */
static int json_str(const struct json_doc *d, int t, char *out, size_t cap, size_t *outlen)
{
	const struct json_tok *k = json_tok_get(d, t);
	unsigned char u[4];
	size_t i = 0, j = 0, m;

	if (outlen)
		*outlen = 0;
	if (cap == 0 || !k || k->type != JSON_STRING) {
		if (outlen)
			*outlen = json_str_len(d, t);
		return -1;
	}
	out[0] = '\0';
	while (i < k->len) {
		m = json_unescape(d->buf + k->off, k->len, &i, u);
		if (m > cap - 1 - j) {
			if (outlen)
				*outlen = json_str_len(d, t);
			out[0] = '\0';
			return -1;
		}
		memcpy(out + j, u, m);
		j += m;
	}
	out[j] = '\0';
	if (outlen)
		*outlen = j;
	return 0;
}

/* Digit i of a number's mantissa: the integer digits, then the fraction's. */
static int json_num_digit(const char *s, size_t ip, size_t nint, size_t fp, size_t i)
{
	return (i < nint ? s[ip + i] : s[fp + i - nint]) - '0';
}

/*
 * A number token whose value is an exact integer in long long range.
 * Decided exactly in decimal, not via double, so 5, -3, 5.0, 5e2, 2.50e1
 * and 1E0 are accepted, while 5.5, 1e-1 and 9223372036854775808 are not
 * (a client that writes "timeout": 30.0 still means 30).
 */
static int json_int(const struct json_doc *d, int t, long long *v)
{
	const struct json_tok *k = json_tok_get(d, t);
	const char *s;
	size_t p = 0, ip, nint, fp = 0, nfrac = 0, nd, i;
	long long exp = 0, e, esign = 1, kint;
	unsigned long long acc = 0, lim = (unsigned long long)LLONG_MAX;
	int neg;

	if (!k || k->type != JSON_NUMBER)
		return -1;
	s = d->buf + k->off;
	if ((neg = s[0] == '-') != 0) {
		p++;
		lim += 1; /* |LLONG_MIN| = LLONG_MAX + 1 */
	}
	for (ip = p; p < k->len && json_is_digit(s[p]); p++)
		;
	nint = p - ip;
	if (p < k->len && s[p] == '.') {
		for (fp = ++p; p < k->len && json_is_digit(s[p]); p++)
			;
		nfrac = p - fp;
	}
	if (p < k->len && (s[p] == 'e' || s[p] == 'E')) {
		if (s[++p] == '-' || s[p] == '+')
			esign = s[p++] == '-' ? -1 : 1;
		for (; p < k->len; p++)
			if (exp < JSON_EXP_SAT)
				exp = exp * 10 + (s[p] - '0');
	}
	nd = nint + nfrac;
	e = esign * exp - (long long)nfrac; /* value = mantissa digits * 10^e */
	kint = (long long)nd + e;           /* how many digits are integral */
	for (i = 0; i < nd; i++) {
		int dg = json_num_digit(s, ip, nint, fp, i);
		if (e < 0 && (long long)i >= kint) {
			if (dg != 0)
				return -1; /* a nonzero fractional digit */
			continue;
		}
		if (acc > (lim - (unsigned)dg) / 10)
			return -1;
		acc = acc * 10 + (unsigned)dg;
	}
	for (; e > 0 && acc != 0; e--) {
		if (acc > lim / 10)
			return -1;
		acc *= 10;
	}
	if (neg)
		*v = acc == lim ? LLONG_MIN : -(long long)acc;
	else
		*v = (long long)acc;
	return 0;
}

/* A number as the nearest double; -1 if it overflows to infinity or its
 * text is longer than JSON_NUM_MAX.  strtod reads the C locale's '.',
 * which is all sshmcp ever runs in (it never calls setlocale). */
static int json_double(const struct json_doc *d, int t, double *v)
{
	const struct json_tok *k = json_tok_get(d, t);
	char tmp[JSON_NUM_MAX + 1];
	double x;

	if (!k || k->type != JSON_NUMBER || k->len > JSON_NUM_MAX)
		return -1;
	memcpy(tmp, d->buf + k->off, k->len); /* strtod needs a NUL our span lacks */
	tmp[k->len] = '\0';
	x = strtod(tmp, NULL);
	if (!isfinite(x))
		return -1;
	*v = x;
	return 0;
}

static int json_bool(const struct json_doc *d, int t, int *v)
{
	enum json_type ty = json_type(d, t);

	if (ty != JSON_TRUE && ty != JSON_FALSE)
		return -1;
	*v = ty == JSON_TRUE;
	return 0;
}

/* ============================================================ writer === */

/*
 * The buffer always holds a NUL-terminated prefix of the document.  Misuse
 * (a key in an array, a value without its key, a mismatched end, a second
 * top-level value, jw_raw of invalid JSON, nesting past JW_MAX_DEPTH) sets
 * JW_ERR_USAGE instead of emitting invalid JSON; running out of room sets
 * JW_ERR_FULL.  Either way later calls do nothing and jw_finish fails, so a
 * caller checks once at the end.
 */
static void jw_init(struct jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof *w);
	w->buf = buf;
	w->cap = cap;
	if (cap == 0)
		w->err = JW_ERR_FULL;
	else
		buf[0] = '\0';
}

/* 0 if the buffer holds exactly one complete JSON value. */
static int jw_finish(const struct jw *w)
{
	return w->err == JW_OK && w->depth == 0 && w->done ? 0 : -1;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - 1 - w->len) {
		w->err = JW_ERR_FULL;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void jw_fail(struct jw *w, int err)
{
	if (!w->err)
		w->err = err;
}

static int jw_in_obj(const struct jw *w)
{
	return w->depth > 0 && (w->obj >> (w->depth - 1) & 1);
}

/* Before any value: the comma, or consuming the pending key. 0 to go on. */
static int jw_value_begin(struct jw *w)
{
	uint64_t bit;

	if (w->err)
		return -1;
	if (w->depth == 0) {
		if (w->done)
			jw_fail(w, JW_ERR_USAGE);
		return w->err ? -1 : 0;
	}
	if (jw_in_obj(w)) {
		if (!w->after_key)
			jw_fail(w, JW_ERR_USAGE);
		w->after_key = 0;
		return w->err ? -1 : 0;
	}
	bit = (uint64_t)1 << (w->depth - 1);
	if (!(w->first & bit))
		jw_put(w, ",", 1);
	w->first &= ~bit;
	return w->err ? -1 : 0;
}

static void jw_value_end(struct jw *w)
{
	if (w->depth == 0 && !w->err)
		w->done = 1;
}

static void jw_open(struct jw *w, int obj)
{
	uint64_t bit;

	if (jw_value_begin(w) != 0)
		return;
	if (w->depth >= JW_MAX_DEPTH) {
		jw_fail(w, JW_ERR_USAGE);
		return;
	}
	jw_put(w, obj ? "{" : "[", 1);
	bit = (uint64_t)1 << w->depth++;
	w->first |= bit;
	if (obj)
		w->obj |= bit;
	else
		w->obj &= ~bit;
}

static void jw_close(struct jw *w, int obj)
{
	if (w->err)
		return;
	if (w->depth == 0 || jw_in_obj(w) != obj || w->after_key) {
		jw_fail(w, JW_ERR_USAGE);
		return;
	}
	jw_put(w, obj ? "}" : "]", 1);
	w->depth--;
	jw_value_end(w);
}

static void jw_obj_begin(struct jw *w) { jw_open(w, 1); }
static void jw_obj_end(struct jw *w) { jw_close(w, 1); }
static void jw_arr_begin(struct jw *w) { jw_open(w, 0); }
static void jw_arr_end(struct jw *w) { jw_close(w, 0); }

/* One byte < 0x80 that needs escaping. */
static void jw_escape(struct jw *w, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', 0, 0 };
	char e[2] = { '\\', 0 };

	switch (c) {
	case '"':  e[1] = '"'; break;
	case '\\': e[1] = '\\'; break;
	case '\b': e[1] = 'b'; break;
	case '\f': e[1] = 'f'; break;
	case '\n': e[1] = 'n'; break;
	case '\r': e[1] = 'r'; break;
	case '\t': e[1] = 't'; break;
	default:
		u[4] = hex[c >> 4];
		u[5] = hex[c & 15];
		jw_put(w, u, sizeof u);
		return;
	}
	jw_put(w, e, sizeof e);
}

/*
 * The quoted, escaped string.  Arbitrary bytes go in (remote output), so
 * each maximal invalid UTF-8 subpart becomes one U+FFFD — the count a
 * browser's decoder would show — and DEL is escaped like the C0 controls
 * so no terminal-active byte reaches a client raw.
 */
static void jw_string(struct jw *w, const char *s, size_t n)
{
	size_t i = 0, run, used;
	uint32_t cp;

	jw_put(w, "\"", 1);
	while (i < n && !w->err) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			for (run = i + 1; run < n; run++) {
				c = (unsigned char)s[run];
				if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
					break;
			}
			jw_put(w, s + i, run - i);
			i = run;
		} else if (c < 0x80) {
			jw_escape(w, c);
			i++;
		} else {
			if (json_utf8_next(s + i, n - i, &used, &cp) == JSON_U8_OK)
				jw_put(w, s + i, used);
			else
				jw_put(w, "\xEF\xBF\xBD", 3);
			i += used;
		}
	}
	jw_put(w, "\"", 1);
}

static void jw_keyn(struct jw *w, const char *k, size_t n)
{
	uint64_t bit;

	if (w->err)
		return;
	if (!jw_in_obj(w) || w->after_key) {
		jw_fail(w, JW_ERR_USAGE);
		return;
	}
	bit = (uint64_t)1 << (w->depth - 1);
	if (!(w->first & bit))
		jw_put(w, ",", 1);
	w->first &= ~bit;
	jw_string(w, k, n);
	jw_put(w, ":", 1);
	w->after_key = 1;
}

static void jw_key(struct jw *w, const char *k) { jw_keyn(w, k, strlen(k)); }

static void jw_scalar(struct jw *w, const char *s, size_t n)
{
	if (jw_value_begin(w) != 0)
		return;
	jw_put(w, s, n);
	jw_value_end(w);
}

static void jw_str(struct jw *w, const char *s, size_t n)
{
	if (jw_value_begin(w) != 0)
		return;
	jw_string(w, s, n);
	jw_value_end(w);
}

static void jw_cstr(struct jw *w, const char *s) { jw_str(w, s, strlen(s)); }
static void jw_null(struct jw *w) { jw_scalar(w, "null", 4); }
static void jw_bool(struct jw *w, int v) { jw_scalar(w, v ? "true" : "false", v ? 4 : 5); }

/* Digits by hand: no snprintf, no locale. */
static void jw_digits(struct jw *w, int neg, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		tmp[--i] = '-';
	jw_scalar(w, tmp + i, sizeof tmp - i);
}

static void jw_uint(struct jw *w, unsigned long long v) { jw_digits(w, 0, v); }

static void jw_int(struct jw *w, long long v)
{
	/* Negate in unsigned arithmetic so LLONG_MIN does not overflow. */
	jw_digits(w, v < 0, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
}

/* Shortest of %.15g..%.17g that reads back as the same double; JSON has no
 * NaN or Infinity, so those become null. */
static void jw_double(struct jw *w, double v)
{
	char tmp[32];
	int prec, n = -1;

	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (n < 0 || (size_t)n >= sizeof tmp) {
			jw_fail(w, JW_ERR_USAGE);
			return;
		}
		if (strtod(tmp, NULL) == v)
			break;
	}
	jw_scalar(w, tmp, (size_t)n);
}

/* A pre-encoded value, checked first: the writer's output stays valid. */
static void jw_raw(struct jw *w, const char *json, size_t n)
{
	struct json_doc d;

	if (w->err)
		return;
	if (json_parse(&d, json, n, NULL, 0) != JSON_OK) {
		jw_fail(w, JW_ERR_USAGE);
		return;
	}
	jw_scalar(w, json, n);
}

static void b64_quad(const unsigned char *in, size_t n, char out[4]);

/* Base64 of data as a JSON string, without an intermediate buffer. */
static void jw_b64(struct jw *w, const void *data, size_t n)
{
	const unsigned char *p = data;
	char q[4];
	size_t i;

	if (jw_value_begin(w) != 0)
		return;
	jw_put(w, "\"", 1);
	for (i = 0; i < n && !w->err; i += 3) {
		b64_quad(p + i, n - i < 3 ? n - i : 3, q);
		jw_put(w, q, 4);
	}
	jw_put(w, "\"", 1);
	jw_value_end(w);
}

static void jw_kobj_begin(struct jw *w, const char *k) { jw_key(w, k); jw_obj_begin(w); }
static void jw_karr_begin(struct jw *w, const char *k) { jw_key(w, k); jw_arr_begin(w); }
static void jw_kstr(struct jw *w, const char *k, const char *s, size_t n)
{
	jw_key(w, k);
	jw_str(w, s, n);
}
static void jw_kcstr(struct jw *w, const char *k, const char *s) { jw_key(w, k); jw_cstr(w, s); }
static void jw_kint(struct jw *w, const char *k, long long v) { jw_key(w, k); jw_int(w, v); }
static void jw_kuint(struct jw *w, const char *k, unsigned long long v)
{
	jw_key(w, k);
	jw_uint(w, v);
}
static void jw_kdouble(struct jw *w, const char *k, double v) { jw_key(w, k); jw_double(w, v); }
static void jw_kbool(struct jw *w, const char *k, int v) { jw_key(w, k); jw_bool(w, v); }
static void jw_knull(struct jw *w, const char *k) { jw_key(w, k); jw_null(w); }
static void jw_kraw(struct jw *w, const char *k, const char *json, size_t n)
{
	jw_key(w, k);
	jw_raw(w, json, n);
}
static void jw_kb64(struct jw *w, const char *k, const void *data, size_t n)
{
	jw_key(w, k);
	jw_b64(w, data, n);
}

/* ============================================================ base64 === */

/* RFC 4648 §4, standard alphabet, always padded. */
static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n (1..3) bytes as four characters, '=' padded. */
static void b64_quad(const unsigned char *in, size_t n, char out[4])
{
	uint32_t v = (uint32_t)in[0] << 16;

	if (n > 1)
		v |= (uint32_t)in[1] << 8;
	if (n > 2)
		v |= in[2];
	out[0] = b64_chars[v >> 18 & 63];
	out[1] = b64_chars[v >> 12 & 63];
	out[2] = n > 1 ? b64_chars[v >> 6 & 63] : '=';
	out[3] = n > 2 ? b64_chars[v & 63] : '=';
}

/* Encoded length of n bytes (without NUL); SIZE_MAX if it would overflow. */
static size_t b64_encoded_len(size_t n)
{
	size_t quads = n / 3 + (n % 3 != 0);

	return quads > SIZE_MAX / 4 ? SIZE_MAX : quads * 4;
}

/* Upper bound of the decoded length of n characters. */
static size_t b64_decoded_max(size_t n)
{
	return n / 4 * 3;
}

/* Text out, NUL-terminated: needs cap >= b64_encoded_len(n) + 1. */
static int b64_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen)
{
	const unsigned char *p = in;
	size_t need = b64_encoded_len(n), i, j = 0;

	if (need == SIZE_MAX || cap == 0 || need > cap - 1)
		return -1;
	for (i = 0; i < n; i += 3, j += 4)
		b64_quad(p + i, n - i < 3 ? n - i : 3, out + j);
	out[j] = '\0';
	if (outlen)
		*outlen = j;
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict: length a multiple of 4, only the alphabet, '=' only as the last
 * one or two characters, and the bits padding discards must be zero
 * (RFC 4648 §3.5), so each byte string has exactly one accepted encoding.
 * No whitespace.  Binary out, no NUL: needs cap >= the decoded length.
 */
static int b64_decode(const char *in, size_t n, void *out, size_t cap, size_t *outlen)
{
	unsigned char *o = out;
	size_t i, j = 0, k, pad;
	int q[4];

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		pad = 0;
		if (i + 4 == n)
			pad = in[i + 3] != '=' ? 0 : in[i + 2] == '=' ? 2 : 1;
		for (k = 0; k < 4 - pad; k++)
			if ((q[k] = b64_value(in[i + k])) < 0)
				return -1;
		for (; k < 4; k++)
			q[k] = 0;
		if ((pad == 1 && (q[2] & 3)) || (pad == 2 && (q[1] & 15)))
			return -1; /* non-canonical: discarded bits set */
		if (3 - pad > cap - j)
			return -1;
		o[j++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
		if (pad < 2)
			o[j++] = (unsigned char)((q[1] & 15) << 4 | q[2] >> 2);
		if (pad < 1)
			o[j++] = (unsigned char)((q[2] & 3) << 6 | q[3]);
	}
	if (outlen)
		*outlen = j;
	return 0;
}

#endif /* SSHMCP_JSON_H */
