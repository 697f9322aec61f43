/*
 * unit_json.c — table-driven tests for json.h (reader, accessors, writer,
 * UTF-8 helpers, base64).  Prints each failure and ends with exactly one
 * line "N passed, N failed"; exits 1 if anything failed.
 *
 *   gcc -std=c11 -Wall -Wextra -Wshadow -Wconversion -Wmissing-prototypes \
 *       -g -fsanitize=address,undefined tests/unit_json.c -o build/unit_json
 */
#include "../json.h"

#define UJ_NTOK 256      /* token array for the table cases */
#define UJ_OUT 4096      /* writer / decoder scratch */
#define UJ_DEEP 70       /* longer than either depth limit */

struct uj_stats { int pass, fail; };

/* Byte strings may hold NUL, so every literal travels with its length. */
#define S(lit) lit, sizeof(lit) - 1

static void uj_check(struct uj_stats *st, int ok, const char *what, int line)
{
	if (ok) {
		st->pass++;
		return;
	}
	st->fail++;
	printf("FAIL line %d: %s\n", line, what);
}
#define CHECK(st, cond) uj_check((st), (cond) != 0, #cond, __LINE__)

/* Printable form of a byte string for failure messages. */
static const char *uj_show(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, j = 0;

	for (i = 0; i < n && j + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F) {
			out[j++] = (char)c;
		} else {
			int m = snprintf(out + j, cap - j, "\\x%02X", c);
			if (m < 0 || (size_t)m >= cap - j)
				break;
			j += (size_t)m;
		}
	}
	out[j] = '\0';
	return out;
}

/* ============================================================ parse table === */

struct uj_parse { const char *in; size_t len; int rc; };

static const struct uj_parse uj_parse_cases[] = {
	/* valid: numbers */
	{ S("0"), JSON_OK }, { S("-0"), JSON_OK }, { S("1"), JSON_OK }, { S("-1"), JSON_OK },
	{ S("123"), JSON_OK }, { S("1.5"), JSON_OK }, { S("-1.5e10"), JSON_OK },
	{ S("1e5"), JSON_OK }, { S("1E+5"), JSON_OK }, { S("1e-5"), JSON_OK },
	{ S("0.0"), JSON_OK }, { S("0e0"), JSON_OK }, { S("10.01E-007"), JSON_OK },
	/* valid: literals, strings, containers, whitespace */
	{ S("true"), JSON_OK }, { S("false"), JSON_OK }, { S("null"), JSON_OK },
	{ S("\"\""), JSON_OK }, { S("\"abc\""), JSON_OK }, { S("[]"), JSON_OK },
	{ S("{}"), JSON_OK }, { S(" [ ] "), JSON_OK }, { S("\t\n\r 1 \n"), JSON_OK },
	{ S("[ {} , [ ] ]"), JSON_OK }, { S("[1,2,3]"), JSON_OK },
	{ S("{\"a\":1,\"b\":[true,false,null]}"), JSON_OK }, { S("[[[[]]]]"), JSON_OK },
	{ S("{ \"a\" : { \"b\" : { } } }"), JSON_OK }, { S("{\"\":0}"), JSON_OK },
	{ S("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), JSON_OK }, { S("\"\\u0041\\u00e9\\uFFFF\""), JSON_OK },
	{ S("\"\\uD83D\\uDE00\""), JSON_OK }, { S("\"\\ud83d\\ude00\""), JSON_OK },
	{ S("\"\\u0000\""), JSON_OK }, { S("\"\xC3\xA9\""), JSON_OK },
	{ S("\"\xF0\x9F\x98\x80\""), JSON_OK }, { S("\"\xEF\xBF\xBF\""), JSON_OK },
	{ S("\"\xF4\x8F\xBF\xBF\""), JSON_OK }, { S("\"\xED\x9F\xBF\""), JSON_OK },
	{ S("\"a\x7F\""), JSON_OK }, { S("\"[{,:}]\""), JSON_OK },
	/* invalid: structure */
	{ S(""), JSON_ERR_SYNTAX }, { S("   "), JSON_ERR_SYNTAX },
	{ S("[1,]"), JSON_ERR_SYNTAX }, { S("{\"a\":1,}"), JSON_ERR_SYNTAX },
	{ S("[,1]"), JSON_ERR_SYNTAX }, { S("{,}"), JSON_ERR_SYNTAX }, { S("[,]"), JSON_ERR_SYNTAX },
	{ S("[1 2]"), JSON_ERR_SYNTAX }, { S("{\"a\" 1}"), JSON_ERR_SYNTAX },
	{ S("{\"a\":}"), JSON_ERR_SYNTAX }, { S("{1:2}"), JSON_ERR_SYNTAX },
	{ S("{\"a\"}"), JSON_ERR_SYNTAX }, { S("{\"a\":1 \"b\":2}"), JSON_ERR_SYNTAX },
	{ S("[1] [2]"), JSON_ERR_SYNTAX }, { S("1 2"), JSON_ERR_SYNTAX }, { S("{}{}"), JSON_ERR_SYNTAX },
	{ S("["), JSON_ERR_SYNTAX }, { S("[1"), JSON_ERR_SYNTAX }, { S("{\"a\":1"), JSON_ERR_SYNTAX },
	{ S("{\"a\""), JSON_ERR_SYNTAX }, { S("\"abc"), JSON_ERR_SYNTAX },
	{ S("[1]]"), JSON_ERR_SYNTAX }, { S("]"), JSON_ERR_SYNTAX }, { S("{]"), JSON_ERR_SYNTAX },
	{ S("[}"), JSON_ERR_SYNTAX }, { S("{\"a\":1]"), JSON_ERR_SYNTAX },
	{ S("//c\n1"), JSON_ERR_SYNTAX }, { S("/*c*/1"), JSON_ERR_SYNTAX }, { S("1//c"), JSON_ERR_SYNTAX },
	{ S("'a'"), JSON_ERR_SYNTAX }, { S("{a:1}"), JSON_ERR_SYNTAX },
	{ S("\xEF\xBB\xBF" "1"), JSON_ERR_SYNTAX }, { S("\0"), JSON_ERR_SYNTAX },
	{ S("1\0"), JSON_ERR_SYNTAX }, { S("\f1"), JSON_ERR_SYNTAX },
	/* invalid: numbers and literals */
	{ S("01"), JSON_ERR_SYNTAX }, { S("-01"), JSON_ERR_SYNTAX }, { S("[00]"), JSON_ERR_SYNTAX },
	{ S("+1"), JSON_ERR_SYNTAX }, { S(".5"), JSON_ERR_SYNTAX }, { S("1."), JSON_ERR_SYNTAX },
	{ S("1.e5"), JSON_ERR_SYNTAX }, { S("1e"), JSON_ERR_SYNTAX }, { S("1e+"), JSON_ERR_SYNTAX },
	{ S("-"), JSON_ERR_SYNTAX }, { S("--1"), JSON_ERR_SYNTAX }, { S("0x10"), JSON_ERR_SYNTAX },
	{ S("NaN"), JSON_ERR_SYNTAX }, { S("Infinity"), JSON_ERR_SYNTAX },
	{ S("-Infinity"), JSON_ERR_SYNTAX }, { S("tru"), JSON_ERR_SYNTAX },
	{ S("truex"), JSON_ERR_SYNTAX }, { S("nulll"), JSON_ERR_SYNTAX }, { S("True"), JSON_ERR_SYNTAX },
	/* invalid: strings */
	{ S("\"a\nb\""), JSON_ERR_SYNTAX }, { S("\"a\tb\""), JSON_ERR_SYNTAX },
	{ S("\"\x1F\""), JSON_ERR_SYNTAX }, { S("\"\\x41\""), JSON_ERR_SYNTAX },
	{ S("\"\\a\""), JSON_ERR_SYNTAX }, { S("\"\\'\""), JSON_ERR_SYNTAX },
	{ S("\"\\u12\""), JSON_ERR_SYNTAX }, { S("\"\\u12G4\""), JSON_ERR_SYNTAX },
	{ S("\"\\"), JSON_ERR_SYNTAX }, { S("\"\\U0041\""), JSON_ERR_SYNTAX },
	{ S("\"\\uD800\""), JSON_ERR_UTF8 }, { S("\"\\uDC00\""), JSON_ERR_UTF8 },
	{ S("\"\\uD800\\u0041\""), JSON_ERR_UTF8 }, { S("\"\\uDC00\\uD800\""), JSON_ERR_UTF8 },
	{ S("\"\\uD800x\""), JSON_ERR_UTF8 }, { S("\"\\uD800\\uD800\""), JSON_ERR_UTF8 },
	{ S("\"\\uD800\\n\""), JSON_ERR_UTF8 }, { S("\"\\uDBFF\\uE000\""), JSON_ERR_UTF8 },
	/* invalid: raw UTF-8 */
	{ S("\"\xC0\x80\""), JSON_ERR_UTF8 }, { S("\"\xC1\xBF\""), JSON_ERR_UTF8 },
	{ S("\"\xE0\x80\xAF\""), JSON_ERR_UTF8 }, { S("\"\xF0\x8F\xBF\xBF\""), JSON_ERR_UTF8 },
	{ S("\"\xED\xA0\x80\""), JSON_ERR_UTF8 }, { S("\"\xED\xBF\xBF\""), JSON_ERR_UTF8 },
	{ S("\"\xF4\x90\x80\x80\""), JSON_ERR_UTF8 }, { S("\"\xF5\x80\x80\x80\""), JSON_ERR_UTF8 },
	{ S("\"\x80\""), JSON_ERR_UTF8 }, { S("\"a\xBF\""), JSON_ERR_UTF8 },
	{ S("\"\xE2\x82\""), JSON_ERR_UTF8 }, { S("\"\xE2\x82"), JSON_ERR_UTF8 },
	{ S("\"\xF0\x9F\x98\""), JSON_ERR_UTF8 }, { S("\"\xFF\""), JSON_ERR_UTF8 },
	{ S("\"\xFE\""), JSON_ERR_UTF8 }, { S("\"\xC3\""), JSON_ERR_UTF8 },
};

static void uj_test_parse_table(struct uj_stats *st)
{
	static struct json_tok tok[UJ_NTOK];
	struct json_doc d;
	char show[256];
	size_t i;

	for (i = 0; i < sizeof uj_parse_cases / sizeof uj_parse_cases[0]; i++) {
		const struct uj_parse *c = &uj_parse_cases[i];
		int rc = json_parse(&d, c->in, c->len, tok, UJ_NTOK);
		int rc0 = json_parse(&d, c->in, c->len, NULL, 0); /* counting mode agrees */
		if (rc == c->rc && rc0 == c->rc) {
			st->pass++;
			continue;
		}
		st->fail++;
		printf("FAIL parse '%s': got %d/%d want %d\n",
		       uj_show(c->in, c->len, show, sizeof show), rc, rc0, c->rc);
	}
}

/* Error offsets: where a caller's message points. */
static void uj_test_err_off(struct uj_stats *st)
{
	struct json_tok tok[16];
	struct json_doc d;

	CHECK(st, json_parse(&d, S("[1,]"), tok, 16) == JSON_ERR_SYNTAX && d.err_off == 3);
	CHECK(st, json_parse(&d, S("01"), tok, 16) == JSON_ERR_SYNTAX && d.err_off == 1);
	CHECK(st, json_parse(&d, S("[\"\xC0\x80\"]"), tok, 16) == JSON_ERR_UTF8 && d.err_off == 2);
	CHECK(st, json_parse(&d, S("\"ab\\q\""), tok, 16) == JSON_ERR_SYNTAX && d.err_off == 3);
	CHECK(st, json_parse(&d, S("[1"), tok, 16) == JSON_ERR_SYNTAX && d.err_off == 2);
	CHECK(st, json_parse(&d, S("[1,2,3]"), tok, 3) == JSON_ERR_TOKENS && d.err_off == 5 &&
	          d.ntok == 0);
}

/* Nesting up to the limit passes; one more is JSON_ERR_DEPTH. */
static void uj_test_depth(struct uj_stats *st)
{
	static struct json_tok tok[UJ_NTOK];
	char buf[2 * UJ_DEEP];
	struct json_doc d;
	size_t n;

	for (n = 0; n < JSON_MAX_DEPTH; n++) {
		buf[n] = '[';
		buf[2 * JSON_MAX_DEPTH - 1 - n] = ']';
	}
	CHECK(st, json_parse(&d, buf, 2 * JSON_MAX_DEPTH, tok, UJ_NTOK) == JSON_OK &&
	          d.ntok == JSON_MAX_DEPTH && tok[0].end == JSON_MAX_DEPTH);
	for (n = 0; n <= JSON_MAX_DEPTH; n++) {
		buf[n] = '[';
		buf[2 * JSON_MAX_DEPTH + 1 - n] = ']';
	}
	CHECK(st, json_parse(&d, buf, 2 * JSON_MAX_DEPTH + 2, tok, UJ_NTOK) == JSON_ERR_DEPTH &&
	          d.err_off == JSON_MAX_DEPTH);
}

/* {"a":{"a":...{}...}} with depth objects; returns its length. */
static size_t uj_nest_obj(char *buf, size_t depth)
{
	size_t n, len = 0;

	for (n = 1; n < depth; n++, len += 5)
		memcpy(buf + len, "{\"a\":", 5);
	memcpy(buf + len, "{}", 2);
	len += 2;
	memset(buf + len, '}', depth - 1);
	return len + depth - 1;
}

/* The same limit for objects. */
static void uj_test_depth_obj(struct uj_stats *st)
{
	static struct json_tok tok[UJ_NTOK];
	char buf[6 * UJ_DEEP];
	struct json_doc d;
	size_t len;

	len = uj_nest_obj(buf, JSON_MAX_DEPTH);
	CHECK(st, json_parse(&d, buf, len, tok, UJ_NTOK) == JSON_OK &&
	          d.ntok == 2 * JSON_MAX_DEPTH - 1);
	len = uj_nest_obj(buf, JSON_MAX_DEPTH + 1);
	CHECK(st, json_parse(&d, buf, len, tok, UJ_NTOK) == JSON_ERR_DEPTH &&
	          d.err_off == 5 * JSON_MAX_DEPTH);
}

/* The size limit is inclusive: exactly JSON_MAX_SIZE bytes parse. */
static void uj_test_size(struct uj_stats *st)
{
	size_t n = JSON_MAX_SIZE;
	char *buf = malloc(n + 1);
	struct json_tok tok[2];
	struct json_doc d;

	if (!buf) {
		CHECK(st, buf != NULL);
		return;
	}
	memset(buf, 'a', n + 1);
	buf[0] = '"';
	buf[n - 1] = '"';
	CHECK(st, json_parse(&d, buf, n, tok, 2) == JSON_OK && tok[0].len == n - 2);
	buf[n] = ' ';
	CHECK(st, json_parse(&d, buf, n + 1, tok, 2) == JSON_ERR_SIZE);
	free(buf);
}

/* Token layout: key then value, counts, subtree ends, spans. */
static void uj_test_tokens(struct uj_stats *st)
{
	static const char doc[] = "{\"a\":[1,{\"b\":null}],\"c\":\"x\\n\"}";
	struct json_tok tok[16];
	struct json_doc d;

	CHECK(st, json_parse(&d, doc, sizeof doc - 1, NULL, 0) == JSON_OK && d.ntok == 9);
	CHECK(st, json_parse(&d, doc, sizeof doc - 1, tok, 9) == JSON_OK && d.ntok == 9);
	CHECK(st, json_parse(&d, doc, sizeof doc - 1, tok, 8) == JSON_ERR_TOKENS);
	json_parse(&d, doc, sizeof doc - 1, tok, 16);
	CHECK(st, tok[0].type == JSON_OBJECT && tok[0].count == 2 && tok[0].end == 9 &&
	          tok[0].off == 0 && tok[0].len == sizeof doc - 1);
	CHECK(st, tok[1].type == JSON_STRING && tok[1].off == 2 && tok[1].len == 1);
	CHECK(st, tok[2].type == JSON_ARRAY && tok[2].count == 2 && tok[2].end == 7);
	CHECK(st, tok[3].type == JSON_NUMBER && tok[3].end == 4);
	CHECK(st, tok[4].type == JSON_OBJECT && tok[4].count == 1 && tok[4].end == 7);
	CHECK(st, tok[6].type == JSON_NULL && tok[7].type == JSON_STRING);
	CHECK(st, tok[8].type == JSON_STRING && tok[8].len == 3 &&
	          memcmp(doc + tok[8].off, "x\\n", 3) == 0);
	CHECK(st, json_type(&d, 6) == JSON_NULL && json_type(&d, 9) == JSON_NONE &&
	          json_type(&d, -1) == JSON_NONE);
}

/* ========================================================= accessors === */

/* Parse doc into tok (which must outlive the checks); root is token 0. */
static int uj_load(struct json_doc *d, const char *doc, struct json_tok *tok, uint32_t cap)
{
	return json_parse(d, doc, strlen(doc), tok, cap);
}

static void uj_test_get(struct uj_stats *st)
{
	struct json_tok tok[32];
	struct json_doc d;
	long long v = 0;
	int t;

	uj_load(&d, "{\"\\u0061\":2,\"a\":3,\"b\\/c\":4,\"\\uD83D\\uDE00\":5,"
	            "\"a\\u0000b\":6,\"ab\":7}", tok, 32);
	t = json_get(&d, 0, "a"); /* first match, after decoding */
	CHECK(st, t == 2 && json_int(&d, t, &v) == 0 && v == 2);
	CHECK(st, json_int(&d, json_get(&d, 0, "b/c"), &v) == 0 && v == 4);
	CHECK(st, json_int(&d, json_get(&d, 0, "\xF0\x9F\x98\x80"), &v) == 0 && v == 5);
	CHECK(st, json_int(&d, json_getn(&d, 0, "a\0b", 3), &v) == 0 && v == 6);
	CHECK(st, json_int(&d, json_get(&d, 0, "ab"), &v) == 0 && v == 7); /* not "a\0b" */
	CHECK(st, json_get(&d, 0, "z") == -1 && json_get(&d, 0, "") == -1);
	CHECK(st, json_get(&d, 1, "a") == -1 && json_get(&d, -1, "a") == -1 &&
	          json_get(&d, 99, "a") == -1);
	uj_load(&d, "[{\"a\":1}]", tok, 32);
	CHECK(st, json_get(&d, 0, "a") == -1 && json_get(&d, 1, "a") == 3);
	uj_load(&d, "{}", tok, 32);
	CHECK(st, json_get(&d, 0, "a") == -1 && json_child(&d, 0) == -1);
}

static void uj_test_twice(struct uj_stats *st)
{
	static const char *const keys[] = { "name", "arguments", NULL };
	struct json_tok tok[32];
	struct json_doc d;
	const char *k;

	uj_load(&d, "{\"name\":1,\"x\":2,\"x\":3,\"arguments\":{}}", tok, 32);
	CHECK(st, json_twice(&d, 0, keys) == NULL);           /* only the keys asked about */
	uj_load(&d, "{\"name\":1,\"arguments\":{},\"n\\u0061me\":2}", tok, 32);
	k = json_twice(&d, 0, keys);
	CHECK(st, k != NULL && strcmp(k, "name") == 0);       /* decoded before comparing */
	uj_load(&d, "{\"a\":{\"arguments\":1},\"arguments\":2}", tok, 32);
	CHECK(st, json_twice(&d, 0, keys) == NULL);           /* members only, not nested keys */
}

static void uj_test_at_iter(struct uj_stats *st)
{
	struct json_tok tok[32], tok3[3];
	struct json_doc d;
	long long v = 0, sum = 0;
	int e, k, n = 0;

	uj_load(&d, "[10,[20,30],{\"x\":[1]},40]", tok, 32);
	CHECK(st, json_int(&d, json_at(&d, 0, 3), &v) == 0 && v == 40);
	CHECK(st, json_int(&d, json_at(&d, json_at(&d, 0, 1), 1), &v) == 0 && v == 30);
	CHECK(st, json_at(&d, 0, 4) == -1 && json_at(&d, 1, 0) == -1 && json_at(&d, -1, 0) == -1);
	for (e = json_child(&d, 0); e >= 0; e = json_next(&d, 0, e))
		n++;
	CHECK(st, n == 4);
	uj_load(&d, "{\"a\":1,\"b\":{\"c\":[2,3]},\"d\":4}", tok, 32);
	n = 0;
	for (k = json_child(&d, 0); k >= 0; k = json_next(&d, 0, k)) {
		if (json_int(&d, k + 1, &v) == 0)
			sum += v;
		n++;
	}
	CHECK(st, n == 3 && sum == 5 && json_at(&d, 0, 0) == -1);
	CHECK(st, json_next(&d, 0, 0) == -1 && json_next(&d, 1, 2) == -1);
	/* a value index where a key belongs must not read past the tokens */
	CHECK(st, uj_load(&d, "{\"a\":1}", tok3, 3) == JSON_OK && json_next(&d, 0, 2) == -1 &&
	          json_next(&d, 0, 1) == -1 && json_next(&d, 0, 3) == -1);
}

static void uj_test_str(struct uj_stats *st)
{
	static const char want[] = "a\n\xC3\xA9\xF0\x9F\x98\x80/\"\\\t";
	struct json_tok tok[8];
	struct json_doc d;
	char out[64];
	size_t n = 0;

	uj_load(&d, "[\"a\\n\\u00e9\\uD83D\\uDE00\\/\\\"\\\\\\t\", 1, \"\\u0000x\", \"\"]", tok, 8);
	CHECK(st, json_str_len(&d, 1) == sizeof want - 1);
	CHECK(st, json_str(&d, 1, out, sizeof out, &n) == 0 && n == sizeof want - 1 &&
	          memcmp(out, want, sizeof want) == 0);
	CHECK(st, json_str(&d, 1, out, sizeof want, &n) == 0 && out[n] == '\0'); /* exact fit */
	CHECK(st, json_str(&d, 1, out, sizeof want - 1, &n) == -1 && n == sizeof want - 1 &&
	          out[0] == '\0');
	CHECK(st, json_str(&d, 2, out, sizeof out, &n) == -1 && json_str_len(&d, 2) == 0);
	CHECK(st, json_str(&d, 3, out, sizeof out, &n) == 0 && n == 2 && out[0] == 0 && out[1] == 'x');
	CHECK(st, json_str(&d, 4, out, 1, &n) == 0 && n == 0 && out[0] == '\0');
	CHECK(st, json_str(&d, 4, out, 0, &n) == -1);
	CHECK(st, json_streq(&d, 1, want) && !json_streq(&d, 1, "a") && json_streq(&d, 4, ""));
	CHECK(st, !json_streq(&d, 3, "") && json_streqn(&d, 3, "\0x", 2) && !json_streq(&d, 2, "1"));
}

struct uj_int { const char *in; int rc; long long v; };

static const struct uj_int uj_int_cases[] = {
	{ "5", 0, 5 }, { "-3", 0, -3 }, { "0", 0, 0 }, { "-0", 0, 0 }, { "5.0", 0, 5 },
	{ "5e2", 0, 500 }, { "2.50e1", 0, 25 }, { "1E0", 0, 1 }, { "10e-1", 0, 1 },
	{ "123000e-3", 0, 123 }, { "0.0001e4", 0, 1 }, { "1e18", 0, 1000000000000000000LL },
	{ "0e999999999999", 0, 0 }, { "0.000e-5", 0, 0 },
	{ "9223372036854775807", 0, LLONG_MAX }, { "-9223372036854775808", 0, LLONG_MIN },
	{ "92233720368547758070e-1", 0, LLONG_MAX }, { "-922337203685477580.8e1", 0, LLONG_MIN },
	{ "9223372036854775808", -1, 0 }, { "-9223372036854775809", -1, 0 },
	{ "1e19", -1, 0 }, { "5.5", -1, 0 }, { "1e-1", -1, 0 }, { "0.5", -1, 0 },
	{ "1e999999999999999", -1, 0 }, { "1.0000000000000000001", -1, 0 },
	{ "true", -1, 0 }, { "\"5\"", -1, 0 }, { "null", -1, 0 },
};

static void uj_test_int(struct uj_stats *st)
{
	struct json_tok tok[2];
	struct json_doc d;
	size_t i;

	for (i = 0; i < sizeof uj_int_cases / sizeof uj_int_cases[0]; i++) {
		const struct uj_int *c = &uj_int_cases[i];
		long long v = 12345;
		int rc = uj_load(&d, c->in, tok, 2) == JSON_OK ? json_int(&d, 0, &v) : -2;
		if (rc == c->rc && (rc != 0 || v == c->v)) {
			st->pass++;
			continue;
		}
		st->fail++;
		printf("FAIL json_int '%s': rc %d v %lld\n", c->in, rc, v);
	}
}

static void uj_test_double_bool(struct uj_stats *st)
{
	struct json_tok tok[16];
	struct json_doc d;
	double x = 0;
	int b = -1;

	uj_load(&d, "[1.5,-0.25e2,1e400,1e-400,7,true,false,null]", tok, 16);
	CHECK(st, json_double(&d, 1, &x) == 0 && x == 1.5);
	CHECK(st, json_double(&d, 2, &x) == 0 && x == -25.0);
	CHECK(st, json_double(&d, 3, &x) == -1);  /* overflows to infinity */
	CHECK(st, json_double(&d, 4, &x) == 0 && x == 0.0);
	CHECK(st, json_double(&d, 5, &x) == 0 && x == 7.0 && json_double(&d, 6, &x) == -1);
	CHECK(st, json_bool(&d, 6, &b) == 0 && b == 1 && json_bool(&d, 7, &b) == 0 && b == 0);
	CHECK(st, json_bool(&d, 8, &b) == -1 && json_bool(&d, 5, &b) == -1 &&
	          json_bool(&d, -1, &b) == -1);
}

/* ============================================================ writer === */

static int uj_out_is(const struct jw *w, const char *want, size_t n)
{
	return w->err == JW_OK && w->len == n && memcmp(w->buf, want, n) == 0 &&
	       w->buf[n] == '\0';
}

/* Write one string value, compare with the expected JSON text. */
static void uj_str_case(struct uj_stats *st, const char *in, size_t n, const char *want,
                        size_t wn, int line)
{
	char buf[UJ_OUT], show[512];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_str(&w, in, n);
	if (uj_out_is(&w, want, wn) && jw_finish(&w) == 0) {
		st->pass++;
		return;
	}
	st->fail++;
	printf("FAIL line %d: jw_str wrote %s\n", line, uj_show(buf, w.len, show, sizeof show));
}
#define STR_CASE(st, in, want) uj_str_case((st), S(in), S(want), __LINE__)

#define FFFD "\xEF\xBF\xBD"

static void uj_test_jw_escape(struct uj_stats *st)
{
	STR_CASE(st, "", "\"\"");
	STR_CASE(st, "plain text", "\"plain text\"");
	STR_CASE(st, "q\"b\\s/", "\"q\\\"b\\\\s/\"");
	STR_CASE(st, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C\x0D\x0E\x0F",
	         "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
	         "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\"");
	STR_CASE(st, "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1A\x1B\x1C\x1D\x1E\x1F",
	         "\"\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
	         "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"");
	STR_CASE(st, "a\x7F" "b \x1B[0m", "\"a\\u007fb \\u001b[0m\"");
	STR_CASE(st, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF\xF4\x8F\xBF\xBF",
	         "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF\xF4\x8F\xBF\xBF\"");
}

/* Invalid UTF-8: one U+FFFD per maximal subpart (Unicode §3.9, WHATWG). */
static void uj_test_jw_replace(struct uj_stats *st)
{
	STR_CASE(st, "\xC0\x80", "\"" FFFD FFFD "\"");
	STR_CASE(st, "\xC0\xAF", "\"" FFFD FFFD "\"");
	STR_CASE(st, "\xE0\x80\xAF", "\"" FFFD FFFD FFFD "\"");
	STR_CASE(st, "\xED\xA0\x80", "\"" FFFD FFFD FFFD "\"");
	STR_CASE(st, "\xF4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
	STR_CASE(st, "\x80\x80", "\"" FFFD FFFD "\"");
	STR_CASE(st, "\xFF" "a\xFE", "\"" FFFD "a" FFFD "\"");
	STR_CASE(st, "x\xE2\x82", "\"x" FFFD "\"");
	STR_CASE(st, "\xE2\x82" "A", "\"" FFFD "A\"");
	STR_CASE(st, "\xF0\x9F\x98" "A\xF0\x9F", "\"" FFFD "A" FFFD "\"");
	STR_CASE(st, "\xE2\x82\xE2\x82\xAC", "\"" FFFD "\xE2\x82\xAC\"");
	STR_CASE(st, "\xC3" "\"", "\"" FFFD "\\\"\"");
	/* The Unicode Standard's own example (Table 3-8's neighbour, §3.9). */
	STR_CASE(st, "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	         "\"a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d\"");
}

static void uj_test_jw_numbers(struct uj_stats *st)
{
	char buf[UJ_OUT];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_arr_begin(&w);
	jw_int(&w, 0);
	jw_int(&w, -42);
	jw_int(&w, LLONG_MIN);
	jw_int(&w, LLONG_MAX);
	jw_uint(&w, ULLONG_MAX);
	jw_arr_end(&w);
	CHECK(st, uj_out_is(&w, S("[0,-42,-9223372036854775808,9223372036854775807,"
	                          "18446744073709551615]")));
	jw_init(&w, buf, sizeof buf);
	jw_arr_begin(&w);
	jw_double(&w, 0.1);
	jw_double(&w, 1.5);
	jw_double(&w, 100.0);
	jw_double(&w, -0.0);
	jw_double(&w, 1e21);
	jw_double(&w, 1.0 / 3.0);
	jw_double(&w, NAN);
	jw_double(&w, INFINITY);
	jw_double(&w, -INFINITY);
	jw_arr_end(&w);
	CHECK(st, uj_out_is(&w, S("[0.1,1.5,100,-0,1e+21,0.3333333333333333,null,null,null]")));
}

static void uj_test_jw_nesting(struct uj_stats *st)
{
	char buf[UJ_OUT];
	struct jw w;

	jw_init(&w, buf, sizeof buf);
	jw_obj_begin(&w);
	jw_kint(&w, "a", 1);
	jw_karr_begin(&w, "b");
	jw_bool(&w, 1);
	jw_bool(&w, 0);
	jw_null(&w);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_arr_end(&w);
	jw_kcstr(&w, "c", "x");
	jw_kobj_begin(&w, "d\n");
	jw_kraw(&w, "r", S(" [1, {\"z\":null}] "));
	jw_kb64(&w, "f", "foob", 4);
	jw_knull(&w, "n");
	jw_kbool(&w, "t", 1);
	jw_kuint(&w, "u", 7);
	jw_kdouble(&w, "g", 2.5);
	jw_kstr(&w, "s", "a\0b", 3);
	jw_obj_end(&w);
	jw_obj_end(&w);
	CHECK(st, uj_out_is(&w, S("{\"a\":1,\"b\":[true,false,null,{},[]],\"c\":\"x\",\"d\\n\":"
	                          "{\"r\": [1, {\"z\":null}] ,\"f\":\"Zm9vYg==\",\"n\":null,"
	                          "\"t\":true,\"u\":7,\"g\":2.5,\"s\":\"a\\u0000b\"}}")));
	CHECK(st, jw_finish(&w) == 0);
	jw_init(&w, buf, sizeof buf);
	jw_cstr(&w, "top");
	CHECK(st, uj_out_is(&w, S("\"top\"")) && jw_finish(&w) == 0);
}

/* Each misuse sets JW_ERR_USAGE instead of writing invalid JSON. */
static void uj_test_jw_misuse(struct uj_stats *st)
{
	char buf[UJ_OUT];
	struct jw w;
	size_t i;

	jw_init(&w, buf, sizeof buf);
	CHECK(st, jw_finish(&w) == -1); /* nothing written yet */
	jw_arr_begin(&w);
	jw_key(&w, "k"); /* key in an array */
	CHECK(st, w.err == JW_ERR_USAGE && jw_finish(&w) == -1);
	jw_init(&w, buf, sizeof buf);
	jw_obj_begin(&w);
	jw_int(&w, 1); /* value without key */
	CHECK(st, w.err == JW_ERR_USAGE);
	jw_init(&w, buf, sizeof buf);
	jw_obj_begin(&w);
	jw_key(&w, "k");
	jw_obj_end(&w); /* key without value */
	CHECK(st, w.err == JW_ERR_USAGE);
	jw_init(&w, buf, sizeof buf);
	jw_arr_begin(&w);
	jw_obj_end(&w); /* mismatched end */
	CHECK(st, w.err == JW_ERR_USAGE);
	jw_init(&w, buf, sizeof buf);
	jw_arr_end(&w); /* nothing open */
	CHECK(st, w.err == JW_ERR_USAGE);
	jw_init(&w, buf, sizeof buf);
	jw_int(&w, 1);
	jw_int(&w, 2); /* second top-level value */
	CHECK(st, w.err == JW_ERR_USAGE && w.len == 1);
	jw_init(&w, buf, sizeof buf);
	jw_raw(&w, S("[1,]"));
	CHECK(st, w.err == JW_ERR_USAGE && w.len == 0);
	jw_init(&w, buf, sizeof buf);
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_arr_end(&w); /* one end too many */
	CHECK(st, w.err == JW_ERR_USAGE);
	jw_init(&w, buf, sizeof buf);
	for (i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_begin(&w);
	for (i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_end(&w);
	CHECK(st, jw_finish(&w) == 0 && w.len == 2 * JW_MAX_DEPTH);
	jw_init(&w, buf, sizeof buf);
	for (i = 0; i <= JW_MAX_DEPTH; i++)
		jw_arr_begin(&w);
	CHECK(st, w.err == JW_ERR_USAGE);
}

/* Overflow: err sticks, nothing is written past cap, the buffer stays a
 * NUL-terminated prefix, and later calls change nothing. */
static void uj_test_jw_overflow(struct uj_stats *st)
{
	char buf[16 + 8];
	struct jw w;
	size_t len, cap;

	for (cap = 1; cap <= 16; cap++) {
		memset(buf, 'Z', sizeof buf);
		jw_init(&w, buf, cap);
		jw_obj_begin(&w);
		jw_kcstr(&w, "key", "a\x01\xFF");
		jw_obj_end(&w);
		len = w.len;
		jw_null(&w);
		if (w.err == JW_ERR_FULL && w.len == len && w.len < cap && buf[w.len] == '\0' &&
		    buf[cap] == 'Z' && jw_finish(&w) == -1) {
			st->pass++;
			continue;
		}
		st->fail++;
		printf("FAIL overflow cap %zu: err %d len %zu\n", cap, w.err, w.len);
	}
	jw_init(&w, buf, 0);
	CHECK(st, w.err == JW_ERR_FULL);
	jw_init(&w, buf, 24); /* {"key":"a\u0001\uFFFD"} is 23 bytes + NUL */
	jw_obj_begin(&w);
	jw_kcstr(&w, "key", "a\x01\xFF");
	jw_obj_end(&w);
	CHECK(st, uj_out_is(&w, S("{\"key\":\"a\\u0001" FFFD "\"}")));
}

/* ====================================================== round trips === */

/* jw_str → json_parse → json_str gives back the input (valid UTF-8). */
static int uj_round_trip(const char *in, size_t n, const char *want, size_t wn)
{
	static char buf[UJ_OUT * 4], out[UJ_OUT * 4];
	struct json_tok tok[4];
	struct json_doc d;
	struct jw w;
	size_t got;

	jw_init(&w, buf, sizeof buf);
	jw_arr_begin(&w);
	jw_str(&w, in, n);
	jw_arr_end(&w);
	if (jw_finish(&w) != 0 || json_parse(&d, buf, w.len, tok, 4) != JSON_OK)
		return 0;
	if (json_str(&d, 1, out, sizeof out, &got) != 0 || json_str_len(&d, 1) != got)
		return 0;
	return got == wn && memcmp(out, want, wn) == 0 && json_streqn(&d, 1, want, wn);
}

static void uj_test_round_trip(struct uj_stats *st)
{
	char all[128], one[1];
	int c, ok = 1;

	for (c = 0; c < 128; c++)
		all[c] = (char)c;
	CHECK(st, uj_round_trip(all, sizeof all, all, sizeof all));
	CHECK(st, uj_round_trip(S("\xC3\xA9\xF0\x9F\x98\x80 \"x\" \\"), S("\xC3\xA9\xF0\x9F\x98\x80 \"x\" \\")));
	CHECK(st, uj_round_trip(S("a\xFF" "b\xED\xA0\x80"), S("a" FFFD "b" FFFD FFFD FFFD)));
	for (c = 0; c < 256; c++) { /* every single byte gives valid JSON */
		one[0] = (char)c;
		if (c < 0x80)
			ok &= uj_round_trip(one, 1, one, 1);
		else
			ok &= uj_round_trip(one, 1, S(FFFD));
	}
	CHECK(st, ok);
}

/* ============================================================ UTF-8 === */

struct uj_prefix { const char *in; size_t len, want; };

static const struct uj_prefix uj_prefix_cases[] = {
	{ S(""), 0 }, { S("abc"), 3 }, { S("a\xE2\x82"), 1 }, { S("a\xE2"), 1 },
	{ S("a\xE2\x82\xAC"), 4 }, { S("a\xF0\x9F\x98"), 1 }, { S("a\xF0\x9F\x98\x80"), 5 },
	{ S("a\xC3"), 1 }, { S("a\x80"), 2 }, { S("a\xC0"), 2 }, { S("a\xED\xA0"), 3 },
	{ S("a\xE0\x80"), 3 }, { S("a\xF5"), 2 }, { S("\xF0\x9F"), 0 }, { S("\x80\x80\x80"), 3 },
};

static void uj_test_utf8(struct uj_stats *st)
{
	size_t i;

	for (i = 0; i < sizeof uj_prefix_cases / sizeof uj_prefix_cases[0]; i++) {
		const struct uj_prefix *c = &uj_prefix_cases[i];
		size_t got = json_utf8_valid_prefix(c->in, c->len);
		if (got == c->want) {
			st->pass++;
			continue;
		}
		st->fail++;
		printf("FAIL valid_prefix case %zu: got %zu want %zu\n", i, got, c->want);
	}
	CHECK(st, json_utf8_valid(S("a\xC3\xA9\xF4\x8F\xBF\xBF")) && json_utf8_valid(S("")));
	CHECK(st, !json_utf8_valid(S("a\xC3")) && !json_utf8_valid(S("\xED\xA0\x80")) &&
	          !json_utf8_valid(S("\xC1\x81")));
}

/* =========================================================== base64 === */

static const char *const uj_b64_vec[][2] = { /* RFC 4648 §10 */
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static const char *const uj_b64_bad[] = {
	"Zg=", "Zg", "Z===", "====", "Zh==", "Zm9=", "Zg==Zg==", "=Zg=", "Z=g=", "Zm9v\n",
	"Zm 9v", "Zm9-", "Zm9_", "Zm9v====", "Zm8", "Zm9\xC3\xA9",
};

static void uj_test_b64(struct uj_stats *st)
{
	unsigned char bin[256], back[256];
	char enc[400];
	size_t i, n;

	for (i = 0; i < sizeof uj_b64_vec / sizeof uj_b64_vec[0]; i++) {
		const char *raw = uj_b64_vec[i][0], *b64 = uj_b64_vec[i][1];
		CHECK(st, b64_encode(raw, strlen(raw), enc, sizeof enc, &n) == 0 &&
		          n == strlen(b64) && strcmp(enc, b64) == 0 && b64_encoded_len(strlen(raw)) == n);
		CHECK(st, b64_decode(b64, strlen(b64), back, sizeof back, &n) == 0 &&
		          n == strlen(raw) && memcmp(back, raw, n) == 0);
	}
	for (i = 0; i < sizeof uj_b64_bad / sizeof uj_b64_bad[0]; i++)
		CHECK(st, b64_decode(uj_b64_bad[i], strlen(uj_b64_bad[i]), back, sizeof back, &n) == -1);
	for (i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(255 - i);
	CHECK(st, b64_encode(bin, sizeof bin, enc, sizeof enc, &n) == 0 && n == 344 &&
	          b64_decode(enc, n, back, sizeof back, &n) == 0 && n == 256 &&
	          memcmp(back, bin, 256) == 0);
	CHECK(st, b64_encode("foo", 3, enc, 4, &n) == -1 && b64_encode("foo", 3, enc, 5, &n) == 0);
	CHECK(st, b64_decode("Zm9vYmFy", 8, back, 5, &n) == -1 &&
	          b64_decode("Zm9vYg==", 8, back, 4, &n) == 0 && n == 4);
	CHECK(st, b64_decoded_max(8) == 6 && b64_encoded_len(0) == 0 &&
	          b64_encoded_len(SIZE_MAX) == SIZE_MAX);
}

int main(void)
{
	struct uj_stats st = { 0, 0 };

	uj_test_parse_table(&st);
	uj_test_err_off(&st);
	uj_test_depth(&st);
	uj_test_depth_obj(&st);
	uj_test_size(&st);
	uj_test_tokens(&st);
	uj_test_get(&st);
	uj_test_twice(&st);
	uj_test_at_iter(&st);
	uj_test_str(&st);
	uj_test_int(&st);
	uj_test_double_bool(&st);
	uj_test_jw_escape(&st);
	uj_test_jw_replace(&st);
	uj_test_jw_numbers(&st);
	uj_test_jw_nesting(&st);
	uj_test_jw_misuse(&st);
	uj_test_jw_overflow(&st);
	uj_test_round_trip(&st);
	uj_test_utf8(&st);
	uj_test_b64(&st);
	printf("%d passed, %d failed\n", st.pass, st.fail);
	return st.fail ? 1 : 0;
}
