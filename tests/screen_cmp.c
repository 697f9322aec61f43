/*
 * screen_cmp.c — drive sshmcp's terminal screen model (section "terminal screen", scr_) for
 * tests/52-screen.sh and bench/screen.sh. Includes the program itself, as tests/unit.c does.
 *
 *   screen_cmp [-c COLS] [-r ROWS] [-R OFFSET:COLSxROWS]... [-u] FILE
 *       Feed FILE (the bytes a tmux pane saw, from pipe-pane) into a model of COLS x ROWS
 *       (80x24), resized at each OFFSET given, and print what tmux's capture-pane -p prints:
 *       each row, trailing blanks trimmed, DEC line drawing as its ASCII bytes (-u: as the
 *       Unicode glyphs read_screen shows); then one line "cursor X Y alt A visible V", X and Y
 *       as tmux's cursor_x and cursor_y (X is COLS after the last column was written).
 *   screen_cmp [-c COLS] [-r ROWS] -T FILE
 *       The title FILE set (OSC 0/2), as tmux's pane_title.
 *   screen_cmp [-c COLS] [-r ROWS] -k KEY FILE
 *       The bytes key KEY sends after FILE (its DECCKM/DECKPAM modes), in hex for send-keys -H.
 *   screen_cmp [-c COLS] [-r ROWS] -g SEED [-G ascii|utf8] [-n OPS] [-z] [-j]
 *       A random stream of OPS (400) operations on stdout: text, controls, cursor motion,
 *       erasing, inserting, scrolling, margins, modes, the alternate screen, charsets, strings
 *       and queries. The generator feeds its own model as it goes and leaves out what the
 *       model does differently from tmux on purpose (see the section's comment). -z: on
 *       the alternate screen, resized halfway (see gen_resize). -j: with ZWJ sequences,
 *       which tmux joins only when the joiner and the next character arrive in the same read
 *       (it forgets the joiner between reads), so a comparison may differ by chance.
 *   screen_cmp [-c COLS] [-r ROWS] -b SECONDS FILE
 *       Feed FILE over and over for SECONDS; print the feed speed in MB/s.
 */
#define SSHMCP_NO_MAIN
#include "../sshmcp.c"

#include <getopt.h>

#define CMP_RESIZES_MAX 64
#define CMP_FILE_MAX    (256 * 1024 * 1024)

struct cmp_resize {
	size_t off;
	int cols, rows;
};

static unsigned char *cmp_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (n == cap) {
			unsigned char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > CMP_FILE_MAX || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return buf != NULL ? buf : malloc(1);
}

static void cmp_print(const struct scr *s, int unicode)
{
	static char row[SSHMCP_SCR_ROW_TEXT_MAX];
	int y;

	for (y = 0; y < s->rows; y++) {
		scr_render(s, y, row, sizeof(row), !unicode);
		printf("%s\n", row);
	}
	printf("cursor %d %d alt %d visible %d\n", s->cx, s->cy, s->alt,
	    (s->mode & SCR_M_CURSOR) != 0);
}

/* Feed with the resizes at their offsets (sorted by the caller's order, which must be). */
static int cmp_feed(struct scr *s, const unsigned char *buf, size_t len,
    const struct cmp_resize *rs, int nrs)
{
	size_t at = 0;
	int i;

	for (i = 0; i < nrs; i++) {
		size_t off = rs[i].off < len ? rs[i].off : len;

		if (off < at)
			return -1;
		scr_feed(s, buf + at, off - at);
		at = off;
		if (scr_resize(s, rs[i].cols, rs[i].rows) < 0)
			return -1;
	}
	scr_feed(s, buf + at, len - at);
	return 0;
}

static int cmp_bench(struct scr *s, const unsigned char *buf, size_t len, double secs)
{
	int64_t t0 = time_ms(), t;
	double bytes = 0;

	do {
		scr_feed(s, buf, len);
		s->nreply = 0;
		bytes += (double)len;
		t = time_ms();
	} while ((double)(t - t0) < secs * 1000);
	printf("%.1f MB/s (%.0f bytes in %.2f s, %d x %d)\n", bytes / 1e6 / ((double)(t - t0) / 1000),
	    bytes, (double)(t - t0) / 1000, s->cols, s->rows);
	return 0;
}

/* ---------------------------------------------------------- generator --- */

struct gen {
	struct scr m;               /* the model, fed all we write, to know where we are */
	uint64_t rng;
	int utf8;
	int altonly;                /* stay on the alternate screen (a resize there has no reflow) */
	int zwj;                    /* emit ZWJ sequences (-j) */
	size_t off;                 /* bytes written */
	unsigned char buf[512];
	size_t n;
};

static uint32_t gen_rand(struct gen *g, uint32_t n)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return n == 0 ? 0 : (uint32_t)((g->rng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

static void gen_put(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gen_put(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf((char *)g->buf + g->n, sizeof(g->buf) - g->n, fmt, ap);
	va_end(ap);
	if (k > 0 && (size_t)k < sizeof(g->buf) - g->n)
		g->n += (size_t)k;
}

static void gen_cp(struct gen *g, uint32_t cp)
{
	unsigned char u[4];
	size_t k = json_utf8_put(cp, u);

	if (k <= sizeof(g->buf) - g->n) {
		memcpy(g->buf + g->n, u, k);
		g->n += k;
	}
}

/* Write what the op built, and feed it to the model. */
static void gen_flush(struct gen *g)
{
	unsigned char junk[SSHMCP_SCR_REPLY_MAX];

	fwrite(g->buf, 1, g->n, stdout);
	scr_feed(&g->m, g->buf, g->n);
	g->off += g->n;
	(void)scr_replies(&g->m, junk, sizeof(junk));
	g->n = 0;
}

static uint32_t gen_cell(struct gen *g, int y, int x)
{
	return g->m.grid[g->m.alt][y].cell[x];
}

/* Would cutting row y between columns x-1 and x halve a wide character? */
static int gen_cuts(struct gen *g, int y, int x)
{
	return x > 0 && x < g->m.cols && (gen_cell(g, y, x) & SCR_PAD);
}

/* Would inserting n cells at the cursor push half a wide character over the edge? */
static int gen_push_cuts(struct gen *g, int n)
{
	int c = g->m.cols, x = c - 1 - n;

	return gen_cuts(g, g->m.cy, g->m.cx) || (x >= 0 && (gen_cell(g, g->m.cy, x) & SCR_WIDE));
}

static int gen_num(struct gen *g)
{
	static const int big[] = { 0, 1, 1, 2, 3, 5, 8, 13, 40, 79, 80, 81, 200, 9999 };

	return big[gen_rand(g, sizeof(big) / sizeof(big[0]))];
}

/* May an ASCII character be written now? Not where tmux would go wrong: inserted (IRM) where
 * it cuts a wide character, or over the right half of one in column 0 (tmux's off-by-one). */
static int gen_ascii_ok(struct gen *g)
{
	if ((g->m.mode & SCR_M_INSERT) && gen_push_cuts(g, 1))
		return 0;
	return !(g->m.cx == 1 && (gen_cell(g, g->m.cy, 1) & SCR_PAD));
}

/* A character for the text op: ASCII, or in the utf8 class also CJK, emoji, accents,
 * combining marks (not past the marks a line keeps), ZWJ sequences, box drawing. */
static void gen_char(struct gen *g)
{
	static const uint32_t emoji[] = { 0x1F600, 0x1F680, 0x1F44D, 0x2705, 0x1F525, 0x1F9D1 };
	uint32_t r = g->utf8 ? gen_rand(g, 100) : 0, cp;
	int w;

	if (r < 60)
		cp = 0x20 + gen_rand(g, 0x5f);
	else if (r < 72)
		cp = 0x4E00 + gen_rand(g, 0x5000);
	else if (r < 77)
		cp = 0xFF01 + gen_rand(g, 0x5e);
	else if (r < 83)
		cp = emoji[gen_rand(g, sizeof(emoji) / sizeof(emoji[0]))];
	else if (r < 90)
		cp = 0xC0 + gen_rand(g, 0x40);
	else if (r < 95)
		cp = 0x2500 + gen_rand(g, 0x80);
	else if (r < 98) {
		if (g->m.grid[g->m.alt][g->m.cy].nmark >= SSHMCP_SCR_MARKS - 4)
			return;
		cp = 0x300 + gen_rand(g, 0x70);
	} else {                    /* a ZWJ joins the next character: an emoji, never ASCII */
		if (!g->zwj || g->m.grid[g->m.alt][g->m.cy].nmark >= SSHMCP_SCR_MARKS - 4 ||
		    g->m.cx == 0)
			return;
		gen_cp(g, SCR_ZWJ);
		gen_cp(g, emoji[gen_rand(g, sizeof(emoji) / sizeof(emoji[0]))]);
		gen_flush(g);
		return;
	}
	w = scr_width(cp);
	if ((g->m.mode & SCR_M_INSERT) && w > 0 && gen_push_cuts(g, w))
		return;
	if (cp < 0x80 && !gen_ascii_ok(g))
		return;
	gen_cp(g, cp);
	gen_flush(g);
}

static void gen_text(struct gen *g)
{
	int i, n = 1 + (int)gen_rand(g, 12);

	for (i = 0; i < n; i++)
		gen_char(g);
}

static void gen_c0(struct gen *g)
{
	static const char *const c0[] = { "\r", "\n", "\r\n", "\b", "\t", "\013", "\014", "\007",
		"\r\n", "\n", "\b\b", "\000" };
	const char *c = c0[gen_rand(g, sizeof(c0) / sizeof(c0[0]))];

	if (*c == '\0')
		g->buf[g->n++] = 0;
	else
		gen_put(g, "%s", c);
}

static void gen_motion(struct gen *g)
{
	static const char fin[] = "ABCDEFGdHfZ";
	char f = fin[gen_rand(g, sizeof(fin) - 1)];

	switch (gen_rand(g, 4)) {
	case 0:
		gen_put(g, "\033[%c", f);
		break;
	case 1:
		gen_put(g, "\033[%d%c", gen_num(g), f);
		break;
	default:
		if (f == 'H' || f == 'f')
			gen_put(g, "\033[%d;%d%c", 1 + (int)gen_rand(g, (uint32_t)g->m.rows + 2),
			    1 + (int)gen_rand(g, (uint32_t)g->m.cols + 2), f);
		else
			gen_put(g, "\033[%d%c", 1 + (int)gen_rand(g, 6), f);
		break;
	}
}

/* Erasures, unless they would cut a wide character in two. */
static void gen_erase(struct gen *g)
{
	int k = (int)gen_rand(g, 3), cx = g->m.cx, cy = g->m.cy, n = gen_num(g);

	switch (gen_rand(g, 3)) {
	case 0:
		if ((k == 0 && gen_cuts(g, cy, cx)) || (k == 1 && gen_cuts(g, cy, cx + 1)))
			return;
		gen_put(g, "\033[%dJ", k);
		break;
	case 1:
		if ((k == 0 && gen_cuts(g, cy, cx)) || (k == 1 && gen_cuts(g, cy, cx + 1)))
			return;
		gen_put(g, "\033[%dK", k);
		break;
	default:
		if (n == 0)
			n = 1;
		if (cx < g->m.cols && (gen_cuts(g, cy, cx) ||
		    (n < g->m.cols - cx && gen_cuts(g, cy, cx + n))))
			return;
		gen_put(g, "\033[%dX", n);
		break;
	}
}

/* ICH (never more than half the rest of the row: tmux blanks only as many cells as it moves
 * right, so nothing when all) and DCH. */
static void gen_chars(struct gen *g)
{
	int cx = g->m.cx, left = g->m.cols - cx, n = 1 + (int)gen_rand(g, 6);

	if (gen_rand(g, 2)) {
		if (2 * n > left || gen_push_cuts(g, n))
			return;
		gen_put(g, "\033[%d@", n);
	} else {
		if (left > 0 && (gen_cuts(g, g->m.cy, cx) || (n < left && gen_cuts(g, g->m.cy, cx + n))))
			return;
		gen_put(g, "\033[%dP", n);
	}
}

/* IL/DL/SU/SD/RI/IND/NEL; outside the margins IL/DL only move what they can (tmux). */
static void gen_lines(struct gen *g)
{
	int n = 1 + (int)gen_rand(g, 4), cy = g->m.cy;
	int inside = cy >= g->m.top && cy <= g->m.bot;

	switch (gen_rand(g, 7)) {
	case 0:
	case 1:
		if (!inside && n > (g->m.rows - cy) / 2)
			return;
		gen_put(g, "\033[%d%c", n, gen_rand(g, 2) ? 'L' : 'M');
		break;
	case 2:
		gen_put(g, "\033[%dS", n);
		break;
	case 3:
		gen_put(g, "\033[%dT", n);
		break;
	case 4:
		gen_put(g, "\033M");
		break;
	case 5:
		gen_put(g, "\033D");
		break;
	default:
		gen_put(g, "\033E");
		break;
	}
}

static void gen_margins(struct gen *g)
{
	int a = 1 + (int)gen_rand(g, (uint32_t)g->m.rows), b = 1 + (int)gen_rand(g, (uint32_t)g->m.rows);

	if (g->m.mode & SCR_M_ORIGIN)
		return;             /* DECSTBM homes inside the margins here, at 0,0 in tmux */
	if (gen_rand(g, 4) == 0)
		gen_put(g, "\033[r");
	else
		gen_put(g, "\033[%d;%dr", a < b ? a : b, a < b ? b : a);
}

static void gen_modes(struct gen *g)
{
	static const char *const m[] = { "4h", "4l", "?7l", "?7h", "?7h", "?6h", "?6l", "?6l",
		"?25l", "?25h", "?1h", "?1l", "?1049h", "?1049l", "?47h", "?47l", "?1047h",
		"?1047l", "?2004h", "?3l", "4l", "?1000h", "?1006h" };

	const char *pick = m[gen_rand(g, sizeof(m) / sizeof(m[0]))];

	if (g->altonly && strchr(pick, '4') != NULL && pick[0] == '?')
		return;                 /* ?1049, ?47, ?1047 */
	gen_put(g, "\033[%s", pick);
}

static void gen_misc(struct gen *g)
{
	static const char *const e[] = { "\0337", "\0338", "\033[s", "\033[u", "\033H", "\033[g",
		"\033[3g", "\033(0", "\033(B", "\033)0", "\033)B", "\016", "\017", "\033[1;31m",
		"\033[38;5;123;48;2;1;2;3m", "\033[0m", "\033[m", "\033]2;title\007",
		"\033]0;other title\033\\", "\033P1$qm\033\\", "\033[c", "\033[>c", "\033[5n",
		"\033[6n", "\033[18t", "\033[?5W", "\033[>1;2m", "\033=", "\033>", "\033[ q",
		"\033_apc\033\\", "\033^pm\033\\", "\033[4;5;6;;m", "\033[1:2:3m", "\033N", "\033[=c" };

	gen_put(g, "%s", e[gen_rand(g, sizeof(e) / sizeof(e[0]))]);
}

/* Line drawing through the G0/G1 the stream chose. */
static void gen_acs(struct gen *g)
{
	static const char acs[] = "lqkxjmntuvw`afgyz{|}~_ opqrs";
	int i, n = 1 + (int)gen_rand(g, 8);

	for (i = 0; i < n; i++) {
		char c = acs[gen_rand(g, sizeof(acs) - 1)];

		if (!gen_ascii_ok(g))
			return;
		gen_put(g, "%c", c);
		gen_flush(g);
	}
}

static void gen_rare(struct gen *g)
{
	switch (gen_rand(g, 5)) {
	case 0:
		if (!g->m.alt && !g->altonly)
			gen_put(g, "\033c");   /* RIS leaves the alternate screen here, not in tmux */
		break;
	case 1:
		gen_put(g, "\033#8");
		break;
	case 2:                             /* REP after ASCII only: tmux repeats nothing else */
		if (g->m.last >= 0x20 && g->m.last < 0x7f && !(g->m.mode & SCR_M_INSERT) &&
		    gen_ascii_ok(g))
			gen_put(g, "\033[%db", gen_num(g));
		break;
	case 3:                             /* the last column, and past it */
		gen_put(g, "\033[%d;%dH", 1 + (int)gen_rand(g, (uint32_t)g->m.rows), g->m.cols);
		gen_char(g);
		break;
	default:
		gen_put(g, "\033[%d;%dH", 1 + (int)gen_rand(g, (uint32_t)g->m.rows), 1);
		break;
	}
}

static const struct {
	int weight;
	void (*fn)(struct gen *);
} gen_ops[] = {
	{ 30, gen_text }, { 16, gen_c0 }, { 14, gen_motion }, { 8, gen_erase }, { 6, gen_chars },
	{ 7, gen_lines }, { 2, gen_margins }, { 4, gen_modes }, { 6, gen_misc }, { 3, gen_acs },
	{ 4, gen_rare },
};

/*
 * Halfway, the generator's screen is resized to a random size (-z): it prints the byte
 * offset and the size on stderr ("resize OFFSET COLSxROWS") for the test to resize tmux
 * there. The stream then stays on the alternate screen, which tmux resizes without reflow,
 * and the width shrinks only where no wide character or cursor would be cut: there tmux keeps
 * hidden cells and an off-screen cursor column that the model does not.
 */
static void gen_resize(struct gen *g)
{
	int c = 10 + (int)gen_rand(g, 150), r = 4 + (int)gen_rand(g, 60), y;

	if (c < g->m.cols) {
		if (g->m.cx >= c)
			c = g->m.cols;
		for (y = 0; y < g->m.rows && c < g->m.cols; y++)
			if (gen_cell(g, y, c - 1) & SCR_WIDE)
				c = g->m.cols;
	}
	if (scr_resize(&g->m, c, r) == 0)
		fprintf(stderr, "resize %zu %dx%d\n", g->off, c, r);
}

static int cmp_generate(int cols, int rows, uint64_t seed, int utf8, int ops, int resize,
    int zwj)
{
	struct gen g;
	int i, total = 0;
	size_t k;

	memset(&g, 0, sizeof(g));
	if (scr_init(&g.m, cols, rows) < 0)
		return -1;
	g.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	g.utf8 = utf8;
	g.altonly = resize;
	g.zwj = zwj;
	if (resize) {
		gen_put(&g, "\033[?1049h");
		gen_flush(&g);
	}
	for (k = 0; k < sizeof(gen_ops) / sizeof(gen_ops[0]); k++)
		total += gen_ops[k].weight;
	for (i = 0; i < ops; i++) {
		int r = (int)gen_rand(&g, (uint32_t)total);

		if (resize && i == ops / 2)
			gen_resize(&g);

		for (k = 0; r >= gen_ops[k].weight; k++)
			r -= gen_ops[k].weight;
		gen_ops[k].fn(&g);
		gen_flush(&g);
	}
	scr_free(&g.m);
	return 0;
}

/* ----------------------------------------------------------------- main --- */

static int cmp_usage(void)
{
	fprintf(stderr, "usage: screen_cmp [-c COLS] [-r ROWS] [-R OFF:CxR]... [-u | -T | -k KEY] FILE\n"
	    "       screen_cmp [-c COLS] [-r ROWS] -g SEED [-G ascii|utf8] [-n OPS] [-z] [-j]\n"
	    "       screen_cmp [-c COLS] [-r ROWS] -b SECONDS FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct cmp_resize rs[CMP_RESIZES_MAX];
	int cols = SSHMCP_SCR_COLS_DEFAULT, rows = SSHMCP_SCR_ROWS_DEFAULT, nrs = 0, unicode = 0;
	int opt, gen = 0, ops = 400, utf8 = 0, title = 0, gresize = 0, zwj = 0;
	const char *key = NULL;
	double bench = 0;
	unsigned long long seed = 0;
	unsigned char *buf;
	size_t len;
	struct scr s;

	(void)exec_main;         /* the program's entry points: not used here */
	(void)main_version;
	(void)serve_main;
	(void)main_harden;
	(void)audit_verify;
	while ((opt = getopt(argc, argv, "c:r:R:uTk:g:G:n:b:zj")) != -1) {
		switch (opt) {
		case 'c': cols = atoi(optarg); break;
		case 'r': rows = atoi(optarg); break;
		case 'u': unicode = 1; break;
		case 'T': title = 1; break;
		case 'k': key = optarg; break;
		case 'g': gen = 1; seed = strtoull(optarg, NULL, 10); break;
		case 'G': utf8 = strcmp(optarg, "utf8") == 0; break;
		case 'n': ops = atoi(optarg); break;
		case 'z': gresize = 1; break;
		case 'j': zwj = 1; break;
		case 'b': bench = atof(optarg); break;
		case 'R':
			if (nrs == CMP_RESIZES_MAX || sscanf(optarg, "%zu:%dx%d", &rs[nrs].off,
			    &rs[nrs].cols, &rs[nrs].rows) != 3)
				return cmp_usage();
			nrs++;
			break;
		default:
			return cmp_usage();
		}
	}
	if (gen)
		return cmp_generate(cols, rows, seed, utf8, ops, gresize, zwj) < 0 ? 1 : 0;
	if (optind != argc - 1)
		return cmp_usage();
	if ((buf = cmp_read(argv[optind], &len)) == NULL) {
		fprintf(stderr, "screen_cmp: cannot read %s\n", argv[optind]);
		return 1;
	}
	if (scr_init(&s, cols, rows) < 0) {
		fprintf(stderr, "screen_cmp: bad size\n");
		free(buf);
		return 1;
	}
	if (cmp_feed(&s, buf, len, rs, nrs) < 0) {
		fprintf(stderr, "screen_cmp: bad resize\n");
		scr_free(&s);
		free(buf);
		return 1;
	}
	if (bench > 0)
		cmp_bench(&s, buf, len, bench);
	else if (title)
		printf("%s\n", s.title);
	else if (key != NULL) {
		char out[SSHMCP_SCR_KEY_MAX];
		int n = scr_key(&s, key, out, sizeof(out)), i;

		for (i = 0; i < n; i++)
			printf("%s%02x", i ? " " : "", (unsigned char)out[i]);
		printf("\n");
		if (n < 0)
			fprintf(stderr, "screen_cmp: unknown key %s\n", key);
	} else
		cmp_print(&s, unicode);
	scr_free(&s);
	free(buf);
	return 0;
}
