/* vectors.h — reading the published test vectors in tests/vectors (one case a line, fields
 * split at single spaces, hex byte strings, "-" for an empty one, '#' comment lines), shared
 * by tests/crypto.c, tests/pq.c and tests/aead.c. */
#ifndef SSHMCP_TESTS_VECTORS_H
#define SSHMCP_TESTS_VECTORS_H

#include <stdio.h>
#include <string.h>

#define VEC_BAD ((size_t)-1)    /* unhex: odd length, too long for the buffer, or not hex */

static inline int vec_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;     /* NIST's .rsp files */
	return -1;
}

/* Hex to bytes: the byte count, or VEC_BAD. */
static inline size_t vec_unhex(unsigned char *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex), i;
	int hi, lo;

	if (strcmp(hex, "-") == 0)
		return 0;
	if (n % 2 || n / 2 > cap)
		return VEC_BAD;
	for (i = 0; i < n / 2; i++) {
		hi = vec_hexval(hex[2 * i]);
		lo = vec_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return VEC_BAD;
		out[i] = (unsigned char)(hi * 16 + lo);
	}
	return n / 2;
}

/* Splits a line at single spaces into exactly nfield fields; 0 if the count differs. */
static inline int vec_split(char *line, char **field, int nfield)
{
	int n = 0;
	char *p = line, *sp;

	while (n < nfield) {
		field[n++] = p;
		sp = strchr(p, ' ');
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	return n == nfield && !strchr(field[nfield - 1], ' ');
}

/* DIR/FILE for reading, or NULL. */
static inline FILE *vec_open(const char *dir, const char *file)
{
	char path[1024];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, file);

	return n > 0 && (size_t)n < sizeof(path) ? fopen(path, "r") : NULL;
}

/* The next non-comment line, without its newline; 0 at the end, -1 if a line is too long. */
static inline int vec_read_line(FILE *f, char *buf, size_t cap)
{
	size_t n;

	while (fgets(buf, (int)cap, f)) {
		n = strlen(buf);
		if (n == 0 || buf[n - 1] != '\n')
			return feof(f) && n > 0 ? 1 : -1;
		buf[n - 1] = '\0';
		if (buf[0] != '#' && buf[0] != '\0')
			return 1;
	}
	return 0;
}

/* crypto.c and pq.c count checks and print one line per failure. */
struct tally {
	int passed, failed;
};

static inline void vec_check(struct tally *t, int ok, const char *what, const char *name)
{
	if (ok) {
		t->passed++;
		return;
	}
	t->failed++;
	printf("FAIL %s: %s\n", what, name);
}

/* vec_open, a failure counted when the file is missing. */
static inline FILE *vec_open_counted(const char *dir, const char *file, struct tally *t)
{
	FILE *f = vec_open(dir, file);

	if (!f)
		vec_check(t, 0, "cannot open vectors", file);
	return f;
}

#endif
