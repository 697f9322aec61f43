/*
 * polsplit.c — the policy lexer's view of command lines, for tests/62-policy-grammar.sh to
 * compare with what bash, dash, zsh and busybox sh do with the same lines.
 *
 * Reads NUL-terminated lines on stdin; for each writes one line on stdout:
 *   R why                     refused by the grammar (why: the lexer's words)
 *   A C hex hex ... C hex ... accepted: each simple command (C) and its words after quote
 *                             removal and expansion, hex-encoded; assignments before the
 *                             command word are left out (a shell does not pass them on).
 *                             C+r: it reads a file (a shell skips it if there is none),
 *                             C+g: a word is a pattern (zsh refuses one it cannot parse)
 *   M detail                  accepted, but a word's dequoted text (pol_word.w) is not what
 *                             the quoting of its source (pol_word.src) says it is
 * Expansions take their values from a fixed table the script sets in the shells too.
 * Includes the program, like the unit tests.
 */
#define SSHMCP_NO_MAIN
#include "../sshmcp.c"

struct ps_var {
	const char *name, *value;
};

/* Keep in step with VARS in tests/62-policy-grammar.sh. */
static const struct ps_var ps_vars[] = {
	{ "A", "a  b" }, { "B", "" }, { "C", "*" }, { "D", "x'y\"z\\" }, { "E", "-n" },
	{ "HOME", "/home/pol" }, { "?", "0" }, { NULL, NULL },
};

struct ps_buf {
	char b[SSHMCP_LINE_MAX * 2];
	size_t n;
	int full;
};

static void ps_put(struct ps_buf *o, const char *s, size_t n)
{
	if (n > sizeof(o->b) - 1 - o->n) {
		o->full = 1;
		return;
	}
	memcpy(o->b + o->n, s, n);
	o->n += n;
	o->b[o->n] = '\0';
}

static const char *ps_value(const char *name, size_t n)
{
	const struct ps_var *v;

	for (v = ps_vars; v->name != NULL; v++)
		if (strlen(v->name) == n && strncmp(v->name, name, n) == 0)
			return v->value;
	return "";
}

/* $NAME or ${NAME} at s[i] (the lexer accepted it): into `w` as written, into `x` expanded. */
static size_t ps_dollar(const char *s, size_t n, size_t i, struct ps_buf *w, struct ps_buf *x)
{
	size_t brace = i + 1 < n && s[i + 1] == '{', k = pol_name_len(s + i + 1 + brace,
	    n - i - 1 - brace), len = 1 + k + 2 * brace;
	const char *v;

	if (i + 1 < n && s[i + 1] == '?')
		k = 1, len = 2;
	v = ps_value(s + i + 1 + brace, k);
	ps_put(w, s + i, len);
	ps_put(x, v, strlen(v));
	return i + len;
}

/* The word as its quotes say: an independent reading of the source, to hold the lexer to. */
static void ps_word(const struct pol_word *wd, struct ps_buf *w, struct ps_buf *x)
{
	const char *s = wd->src;
	size_t n = strlen(s), i = 0;

	if ((wd->fl & PW_TILDE) && s[0] == '~') {
		ps_put(w, "~", 1);
		ps_put(x, ps_value("HOME", 4), strlen(ps_value("HOME", 4)));
		i = 1;
	}
	while (i < n) {
		if (s[i] == '\'') {
			size_t e = (size_t)(strchr(s + i + 1, '\'') - s);

			ps_put(w, s + i + 1, e - i - 1);
			ps_put(x, s + i + 1, e - i - 1);
			i = e + 1;
		} else if (s[i] == '\\') {
			ps_put(w, s + i + 1, 1);
			ps_put(x, s + i + 1, 1);
			i += 2;
		} else if (s[i] == '"') {
			for (i++; s[i] != '"'; ) {
				if (s[i] == '\\' && strchr("$`\"\\", s[i + 1]) != NULL) {
					ps_put(w, s + i + 1, 1);
					ps_put(x, s + i + 1, 1);
					i += 2;
				} else if (s[i] == '$') {
					i = ps_dollar(s, n, i, w, x);
				} else {
					ps_put(w, s + i, 1);
					ps_put(x, s + i, 1);
					i++;
				}
			}
			i++;
		} else {
			ps_put(w, s + i, 1);
			ps_put(x, s + i, 1);
			i++;
		}
	}
}

static void ps_hex(const char *s, size_t n)
{
	size_t i;

	putchar(' ');
	for (i = 0; i < n; i++)
		printf("%02x", (unsigned char)s[i]);
	if (n == 0)
		putchar('-');
}

static void ps_line(struct pol_split *sp, const char *line, size_t n)
{
	int i, j;

	pol_split_reset(sp);
	pol_lex_line(sp, line, n, 0);
	if (sp->bad) {
		printf("R %s\n", sp->why);
		return;
	}
	for (i = 0; i < sp->n; i++)             /* first, every word held to its source */
		for (j = 0; j < sp->cmd[i].n; j++) {
			struct ps_buf w = { .n = 0 }, x = { .n = 0 };

			ps_word(&sp->cmd[i].wd[j], &w, &x);
			if (w.full || strcmp(w.b, sp->cmd[i].wd[j].w) != 0) {
				printf("M word %d.%d: src [%s] lexer [%s] quotes say [%s]\n", i, j,
				    sp->cmd[i].wd[j].src, sp->cmd[i].wd[j].w, w.b);
				return;
			}
		}
	printf("A");
	for (i = 0; i < sp->n; i++) {
		unsigned fl = 0;

		for (j = 0; j < sp->cmd[i].n; j++)
			fl |= sp->cmd[i].wd[j].fl;
		/* C, or C+ and what may keep a shell from running it: r a file to read (it may
		 * not exist), g a pattern (zsh fails on one it cannot parse) */
		printf(" C%s%s%s", sp->cmd[i].nread > 0 || (fl & PW_GLOB) ? "+" : "",
		    sp->cmd[i].nread > 0 ? "r" : "", (fl & PW_GLOB) ? "g" : "");
		for (j = sp->cmd[i].nassign; j < sp->cmd[i].n; j++) {
			struct ps_buf w = { .n = 0 }, x = { .n = 0 };

			ps_word(&sp->cmd[i].wd[j], &w, &x);
			ps_hex(x.b, x.n);
		}
	}
	putchar('\n');
}

int main(void)
{
	static char line[SSHMCP_POLICY_LINE_MAX + 2];
	struct pol_split *sp = pol_split_new();
	size_t n = 0;
	int c;

	(void)main_version;                     /* the program's own entry points, unused here */
	(void)main_harden;
	(void)exec_main;
	(void)serve_main;
	(void)audit_verify;
	if (sp == NULL)
		return 1;
	while ((c = getchar()) != EOF) {
		if (c != '\0') {
			if (n < sizeof(line) - 1)
				line[n++] = (char)c;
			continue;
		}
		line[n] = '\0';
		ps_line(sp, line, n);
		n = 0;
	}
	pol_split_free(sp);
	return 0;
}
