#!/bin/sh
# scr_width.sh — print the character width tables of sshmcp.c's terminal screen section
# (scr_zero[], scr_wide[]) from the C library's wcwidth(), the widths tmux gives characters
# (tmux 3.3a asks wcwidth; on Debian 12 that is glibc 2.36, Unicode 14).
#
#   tools/scr_width.sh > /tmp/tables.c     then replace the two tables in sshmcp.c by hand
#
# Rules, for code points from U+00A0 (controls never reach the tables):
#   * width 0 and width 2 come from wcwidth();
#   * a run that wcwidth() calls -1 (unassigned, noncharacters) between two runs of the same
#     width joins them: a character a newer Unicode adds inside a block of wide emoji or of
#     combining marks most likely has the width of its neighbours;
#   * Unicode's own defaults for unassigned code points (EastAsianWidth.txt): planes 2 and 3
#     are wide, and so is U+1FA70..U+1FAFF (Symbols and Pictographs Extended-A, all emoji);
#   * everything else is width 1.
set -eu
dir=$(mktemp -d /tmp/scr_width.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/w.c" <<'EOF'
#define _XOPEN_SOURCE 700
#include <locale.h>
#include <stdio.h>
#include <wchar.h>

#define NCP 0x110000
static signed char w[NCP];

/* Print the ranges of width `want`, -1 runs between two of them joined. */
static void table(const char *name, int want)
{
	long s = -1, e = -1, c, k;
	int n = 0;

	printf("static const uint32_t %s[][2] = {", name);
	for (c = 0xA0; c <= NCP; c++) {
		if (c < NCP && w[c] == want) {
			if (s >= 0 && e + 1 < c) {
				for (k = e + 1; k < c && w[k] == -1; k++)
					;
				if (k < c) {            /* something else lies between: close */
					printf("%s{ 0x%04lX, 0x%04lX },", n++ % 4 ? " " : "\n\t", s, e);
					s = -1;
				}
			}
			if (s < 0)
				s = c;
			e = c;
		}
	}
	if (s >= 0)
		printf("%s{ 0x%04lX, 0x%04lX },", n++ % 4 ? " " : "\n\t", s, e);
	printf("\n};\n");
}

int main(void)
{
	long c;

	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		return 1;
	for (c = 0; c < NCP; c++)
		w[c] = (signed char)((c >= 0xD800 && c <= 0xDFFF) ? -1 : wcwidth((wchar_t)c));
	for (c = 0x1FA70; c <= 0x1FAFF; c++)
		if (w[c] == -1)
			w[c] = 2;
	for (c = 0x20000; c <= 0x3FFFD; c++)
		if (w[c] == -1 && (c & 0xFFFF) <= 0xFFFD)
			w[c] = 2;
	table("scr_zero", 0);
	table("scr_wide", 2);
	return 0;
}
EOF
${CC:-cc} -O1 -o "$dir/w" "$dir/w.c"
"$dir/w"
