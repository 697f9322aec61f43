/*
 * fuzz_args.c — libFuzzer target for what a hostile agent or server controls directly:
 * tool arguments, the output filter, and the policy's command-line checker.
 *
 *   make fuzz-args           (build/fuzz_args, clang, ASan+UBSan)
 *
 * Input: one selector byte, then the data.
 *   selector % 3 == 0: the data is a tools/call "arguments" object, checked against the
 *     argument list of tool (selector / 3) % tools; whatever arg_parse accepts must hold the
 *     classes' promises (host and user names as name_host_bad/name_user_bad want them, paths
 *     and secrets without control bytes, session names of letters, digits and _ . -,
 *     numbers in their bounds).
 *   selector % 3 == 1: the data is a remote PTY stream, fed through filt_run in chunks the
 *     data's own bytes size (device mode from the selector's next bit); the text that comes
 *     out holds no C0 control but \t and \n (and device-mode tokens), no DEL, no C1 in UTF-8
 *     form, and grows by at most FILT_EXTRA per call.
 *   selector % 3 == 2: the data is a command line for pol_command under a ReadOnly policy
 *     with an AllowCommand and a DenyCommand: it must answer without crashing, and an
 *     accepted line holds no control character but tab and newline.
 */
#define SSHMCP_NO_MAIN
#include "../sshmcp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FA_TOKENS 512

static void fa_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_args: %s: %s\n", what, detail);
	abort();
}

/* No control byte in s but those in `ok`. */
static void fa_no_control(const char *what, const char *s, const char *ok)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && strchr(ok, *s) == NULL) || *s == 0x7f)
			fa_fail(what, "a control byte got through");
}

/* What arg_parse accepted keeps to its classes. */
static void fa_check(const struct targs *v)
{
	if (v->host[0] != '\0' && name_host_bad(v->host) != NULL)
		fa_fail("host", v->host);
	if (v->username[0] != '\0' && name_user_bad(v->username) != NULL)
		fa_fail("username", v->username);
	fa_no_control("path", v->path, "");
	fa_no_control("key_filename", v->key_filename, "");
	fa_no_control("password", v->password, "\t");
	fa_no_control("sudo_password", v->sudo_password, "\t");
	if (strspn(v->session, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
	    strlen(v->session))
		fa_fail("session", v->session);
	if (v->timeout < 0 || v->timeout > SSHMCP_TIMEOUT_MAX_S)
		fa_fail("timeout", "out of bounds");
	if (v->command != NULL && strlen(v->command) > SSHMCP_CMD_MAX)
		fa_fail("command", "longer than SSHMCP_CMD_MAX");
}

static void fa_args(const uint8_t *data, size_t size, unsigned sel)
{
	static struct json_tok tok[FA_TOKENS];
	const struct tool *t = &tools[(sel / 3) % (sizeof(tools) / sizeof(tools[0]))];
	struct json_doc d;
	struct policy p;
	struct targs v;
	struct err e = { 0 };

	if (json_parse(&d, (const char *)data, size, tok, FA_TOKENS) < 0 ||
	    json_type(&d, 0) != JSON_OBJECT)
		return;
	pol_init(&p);
	if (arg_parse(t->args, &d, 0, &p, &v, &e) == 0)
		fa_check(&v);
	else if (e.code != SSHMCP_ERR_USAGE && e.code != SSHMCP_ERR_TOO_LARGE)
		fa_fail("arg_parse", e.msg);
	arg_release(&v);
	pol_free(&p);
}

static void fa_filter(const uint8_t *data, size_t size, unsigned sel)
{
	struct filt f = { .st = FILT_TEXT, .dev = (sel / 3) & 1 };
	unsigned char out[256 + FILT_EXTRA];
	size_t i = 0, o, k;

	while (i < size) {
		size_t n = 1 + data[i] % 255;

		if (n > size - i)
			n = size - i;
		o = filt_run(&f, data + i, n, out);
		if (o > n + FILT_EXTRA)
			fa_fail("filt_run", "more out than in + FILT_EXTRA");
		for (k = 0; k < o; k++) {
			unsigned char c = out[k];

			if (f.dev && c == FILT_TOK_LEFT) {
				k++;                /* its count, a byte of 1..255 */
				continue;
			}
			if (c == 0x7f || (c < 0x20 && c != '\n' && c != '\t' && !(f.dev &&
			    (c == '\r' || c == '\b' || c == FILT_TOK_EL || c == FILT_TOK_LEFT))))
				fa_fail("filt_run", "a control byte in the text");
			if (c == 0xc2 && k + 1 < o && out[k + 1] >= 0x80 && out[k + 1] <= 0x9f)
				fa_fail("filt_run", "a C1 control in the text");
		}
		i += n;
	}
}

static void fa_policy(const uint8_t *data, size_t size)
{
	static struct policy p;
	static int ready;
	struct err e = { 0 };
	char *line = malloc(size + 1);
	int confirm;

	if (!ready) {
		pol_init(&p);
		p.read_only = 1;
		if (pol_add_rule(&p, PK_ALLOWCMD, "^(ls|cat|grep|echo)( |$)", "fuzz", &e) < 0 ||
		    pol_add_rule(&p, PK_DENYCMD, "rm", "fuzz", &e) < 0)
			fa_fail("policy", e.msg);
		ready = 1;
	}
	if (line == NULL)
		return;
	memcpy(line, data, size);
	line[size] = '\0';
	if (pol_command(&p, line, &confirm, &e) == 0)
		fa_no_control("accepted line", line, "\t\n");
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;

	(void)main_version;                     /* the program's own entry points, unused here */
	(void)main_harden;
	(void)exec_main;
	(void)serve_main;
	(void)audit_verify;
	if (size < 1)
		return 0;
	sel = data[0];
	if (sel % 3 == 0)
		fa_args(data + 1, size - 1, sel);
	else if (sel % 3 == 1)
		fa_filter(data + 1, size - 1, sel);
	else
		fa_policy(data + 1, size - 1);
	return 0;
}
