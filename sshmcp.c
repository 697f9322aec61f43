/*
 * sshmcp.c — run commands on remote hosts over SSH, for agents (MCP) and scripts (exec).
 *
 * One static binary on libssh2 + mbedTLS. Everything runs in one poll() loop:
 *
 *   argv/ssh_config ──> struct cfg ──> struct sess (state machine, one per connection)
 *   sess: CONNECTING → HANDSHAKE → AUTH → OPENING → RUNNING → CLOSING → DONE/DEAD
 *   socket <─ libssh2 (non-blocking) ─> channel ─> rings (fixed size) ─> stdout/stderr
 *   local stdin ─> ring ─> channel;   deadlines are monotonic, poll sleeps until the nearest
 *
 * Sections, in order (a name's prefix tells its section):
 *   includes and globals · utilities (time_, str_, mem_, fd_, log_, err_) · ring buffer (ring_)
 *   ssh_config (cfg_) · known_hosts and keys (kh_) · connection and auth (conn_, auth_)
 *   channel and session (sess_) · exec CLI (cli_) · event loop (loop_) · main
 */

/* ============================================================ includes === */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libssh2.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>

#include "sshmcp.h"
#include "json.h"
#include "deps.h"

/* The only global: set by signal handlers, read by the loop (STYLE: nothing else). */
static volatile sig_atomic_t sig_caught;

/* =========================================================== utilities === */

static int64_t time_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Secrets are wiped with a call the compiler may not elide. */
static void mem_wipe(void *p, size_t n)
{
	if (p != NULL)
		explicit_bzero(p, n);
}

/* Copy with truncation reported: 0 when all of src fit, -1 otherwise. */
static int str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (cap == 0)
		return -1;
	if (n > cap - 1) {
		memcpy(dst, src, cap - 1);
		dst[cap - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* snprintf that reports truncation and encoding errors as -1. */
static int str_fmt(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int str_fmt(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Parse a decimal integer in [lo, hi]; the whole string must be digits. */
static int str_to_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (*s == '\0' || *s == '+' || *s == '-' || *s == ' ')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Case-insensitive glob with '*' and '?', as ssh matches host patterns. */
static int str_glob(const char *pat, const char *s)
{
	for (;;) {
		if (*pat == '\0')
			return *s == '\0';
		if (*pat == '*') {
			while (*pat == '*')
				pat++;
			if (*pat == '\0')
				return 1;
			for (; *s != '\0'; s++)
				if (str_glob(pat, s))
					return 1;
			return 0;
		}
		if (*s == '\0')
			return 0;
		if (*pat != '?' && tolower((unsigned char)*pat) != tolower((unsigned char)*s))
			return 0;
		pat++;
		s++;
	}
}

/* A comma-separated pattern list with '!' negation: -1 negated match, 1 match, 0 none. */
static int str_match_list(const char *list, const char *s)
{
	char pat[SSHMCP_LINE_MAX];
	const char *p = list;
	int got = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		int neg = (*p == '!');

		if (n - (size_t)neg < sizeof(pat)) {
			memcpy(pat, p + neg, n - (size_t)neg);
			pat[n - (size_t)neg] = '\0';
			if (str_glob(pat, s)) {
				if (neg)
					return -1;
				got = 1;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return got;
}

/* Write everything, waiting (bounded) on a non-blocking fd: diagnostics must not be lost. */
static int fd_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, 1000) <= 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fd_set_flag(int fd, int flag, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? (fl | flag) : (fl & ~flag));
}

/* ----------------------------------------------------------------- log --- */
/* Levels follow ssh's LogLevel: errors always, -v adds DEBUG1, -vv DEBUG2, -vvv DEBUG3. */
enum log_level { LOG_ERROR, LOG_INFO, LOG_DEBUG1, LOG_DEBUG2, LOG_DEBUG3 };

struct log {
	int fd;
	int level;
	int quiet;      /* -q: no warnings or banners; errors still go out */
	int own_fd;     /* -E file: closed at exit */
};

static void log_msg(const struct log *lg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void log_msg(const struct log *lg, int level, const char *fmt, ...)
{
	char line[SSHMCP_LOG_LINE_MAX];
	va_list ap;
	int n, pre;

	if (level > lg->level || (lg->quiet && level == LOG_INFO))
		return;
	pre = (level >= LOG_DEBUG1) ? snprintf(line, sizeof(line), "debug%d: ", level - 1) :
		snprintf(line, sizeof(line), "sshmcp: ");
	va_start(ap, fmt);
	n = vsnprintf(line + pre, sizeof(line) - (size_t)pre - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = (n > (int)sizeof(line) - pre - 2) ? (int)sizeof(line) - 2 : pre + n;
	line[n++] = '\n';
	(void)fd_write_all(lg->fd, line, (size_t)n);
}

/* ---------------------------------------------------------------- errors --- */
static const struct {
	const char *name;       /* structuredContent.error.code in MCP */
	int exit_status;        /* sshmcp exec */
} err_table[SSHMCP_ERR_COUNT] = {
	[SSHMCP_OK]                  = { "SSHMCP_OK",                  0 },
	[SSHMCP_ERR_USAGE]           = { "SSHMCP_ERR_USAGE",           2 },
	[SSHMCP_ERR_CONFIG]          = { "SSHMCP_ERR_CONFIG",          255 },
	[SSHMCP_ERR_RESOLVE]         = { "SSHMCP_ERR_RESOLVE",         255 },
	[SSHMCP_ERR_CONNECT]         = { "SSHMCP_ERR_CONNECT",         255 },
	[SSHMCP_ERR_HANDSHAKE]       = { "SSHMCP_ERR_HANDSHAKE",       255 },
	[SSHMCP_ERR_HOSTKEY]         = { "SSHMCP_ERR_HOSTKEY",         255 },
	[SSHMCP_ERR_HOSTKEY_UNKNOWN] = { "SSHMCP_ERR_HOSTKEY_UNKNOWN", 255 },
	[SSHMCP_ERR_AUTH]            = { "SSHMCP_ERR_AUTH",            255 },
	[SSHMCP_ERR_CHANNEL]         = { "SSHMCP_ERR_CHANNEL",         255 },
	[SSHMCP_ERR_TIMEOUT]         = { "SSHMCP_ERR_TIMEOUT",         124 },
	[SSHMCP_ERR_SESSION_LOST]    = { "SSHMCP_ERR_SESSION_LOST",    255 },
	[SSHMCP_ERR_IO]              = { "SSHMCP_ERR_IO",              255 },
	[SSHMCP_ERR_NOMEM]           = { "SSHMCP_ERR_NOMEM",           255 },
	[SSHMCP_ERR_INTERNAL]        = { "SSHMCP_ERR_INTERNAL",        255 },
};

/* The first error of an operation, with a one-line human message. */
struct err {
	enum sshmcp_err code;
	char msg[SSHMCP_ERRMSG_MAX];
};

static void err_set(struct err *e, enum sshmcp_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void err_set(struct err *e, enum sshmcp_err code, const char *fmt, ...)
{
	va_list ap;

	if (e->code != SSHMCP_OK)
		return;
	e->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* ========================================================= ring buffer === */

static int ring_init(struct ring *r, size_t cap)
{
	r->buf = malloc(cap);
	r->cap = cap;
	r->head = r->tail = 0;
	return r->buf == NULL ? -1 : 0;
}

static void ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

static size_t ring_used(const struct ring *r)
{
	return (size_t)(r->head - r->tail);
}

static size_t ring_space(const struct ring *r)
{
	return r->cap - ring_used(r);
}

/* The contiguous free region after head: a reader fills it, then ring_commit(). */
static unsigned char *ring_wptr(struct ring *r, size_t *n)
{
	size_t pos = (size_t)(r->head % r->cap), room = ring_space(r);

	*n = (room < r->cap - pos) ? room : r->cap - pos;
	return r->buf + pos;
}

static void ring_commit(struct ring *r, size_t n)
{
	r->head += n;
}

/* The contiguous filled region at tail: a writer drains it, then ring_consume(). */
static const unsigned char *ring_rptr(const struct ring *r, size_t *n)
{
	size_t pos = (size_t)(r->tail % r->cap), used = ring_used(r);

	*n = (used < r->cap - pos) ? used : r->cap - pos;
	return r->buf + pos;
}

static void ring_consume(struct ring *r, size_t n)
{
	r->tail += n;
}

/* ========================================================== ssh_config === */
/*
 * ssh_config as ssh reads it: command-line options first, then ~/.ssh/config, then
 * /etc/ssh/ssh_config (or -F alone); for each keyword the first value obtained wins, except
 * IdentityFile, which accumulates. Unknown keywords are ignored, as with IgnoreUnknown.
 */
enum cfg_key {
	CFG_HOSTNAME, CFG_USER, CFG_PORT, CFG_IDENTITYFILE, CFG_IDENTITIESONLY,
	CFG_USERKNOWNHOSTSFILE, CFG_GLOBALKNOWNHOSTSFILE, CFG_STRICTHOSTKEYCHECKING,
	CFG_CONNECTTIMEOUT, CFG_SERVERALIVEINTERVAL, CFG_SERVERALIVECOUNTMAX, CFG_HOSTKEYALIAS,
	CFG_IDENTITYAGENT, CFG_BATCHMODE, CFG_LOGLEVEL, CFG_KEXALGORITHMS, CFG_HOSTKEYALGORITHMS,
	CFG_CIPHERS, CFG_MACS, CFG_PUBKEYACCEPTEDALGORITHMS, CFG_PASSWORDAUTHENTICATION,
	CFG_KBDINTERACTIVEAUTHENTICATION, CFG_PUBKEYAUTHENTICATION, CFG_REQUESTTTY,
	CFG_NKEYS
};

enum cfg_kind { CFG_STR, CFG_YESNO, CFG_NUM, CFG_PORTNUM };

static const struct {
	const char *name;
	enum cfg_key key;
	enum cfg_kind kind;
} cfg_keywords[] = {
	{ "hostname", CFG_HOSTNAME, CFG_STR },
	{ "user", CFG_USER, CFG_STR },
	{ "port", CFG_PORT, CFG_PORTNUM },
	{ "identityfile", CFG_IDENTITYFILE, CFG_STR },
	{ "identitiesonly", CFG_IDENTITIESONLY, CFG_YESNO },
	{ "userknownhostsfile", CFG_USERKNOWNHOSTSFILE, CFG_STR },
	{ "globalknownhostsfile", CFG_GLOBALKNOWNHOSTSFILE, CFG_STR },
	{ "stricthostkeychecking", CFG_STRICTHOSTKEYCHECKING, CFG_STR },
	{ "connecttimeout", CFG_CONNECTTIMEOUT, CFG_NUM },
	{ "serveraliveinterval", CFG_SERVERALIVEINTERVAL, CFG_NUM },
	{ "serveralivecountmax", CFG_SERVERALIVECOUNTMAX, CFG_NUM },
	{ "hostkeyalias", CFG_HOSTKEYALIAS, CFG_STR },
	{ "identityagent", CFG_IDENTITYAGENT, CFG_STR },
	{ "batchmode", CFG_BATCHMODE, CFG_YESNO },
	{ "loglevel", CFG_LOGLEVEL, CFG_STR },
	{ "kexalgorithms", CFG_KEXALGORITHMS, CFG_STR },
	{ "hostkeyalgorithms", CFG_HOSTKEYALGORITHMS, CFG_STR },
	{ "ciphers", CFG_CIPHERS, CFG_STR },
	{ "macs", CFG_MACS, CFG_STR },
	{ "pubkeyacceptedalgorithms", CFG_PUBKEYACCEPTEDALGORITHMS, CFG_STR },
	{ "pubkeyacceptedkeytypes", CFG_PUBKEYACCEPTEDALGORITHMS, CFG_STR },
	{ "passwordauthentication", CFG_PASSWORDAUTHENTICATION, CFG_YESNO },
	{ "kbdinteractiveauthentication", CFG_KBDINTERACTIVEAUTHENTICATION, CFG_YESNO },
	{ "challengeresponseauthentication", CFG_KBDINTERACTIVEAUTHENTICATION, CFG_YESNO },
	{ "pubkeyauthentication", CFG_PUBKEYAUTHENTICATION, CFG_YESNO },
	{ "requesttty", CFG_REQUESTTTY, CFG_STR },
};

struct cfg {
	char *val[CFG_NKEYS];                    /* first obtained value, NULL when unset */
	char *ident[SSHMCP_MAX_IDENTITIES];      /* IdentityFile, in order obtained */
	int nident;
	const char *host;                        /* the host as the user named it (Host matching) */
};

/* Where a line came from, for "file:line: ..." errors. */
struct cfg_src {
	const char *file;
	int line;
	int active;                              /* inside a matching Host block */
};

static void cfg_free(struct cfg *c)
{
	int i;

	for (i = 0; i < CFG_NKEYS; i++)
		free(c->val[i]);
	for (i = 0; i < c->nident; i++)
		free(c->ident[i]);
	memset(c, 0, sizeof(*c));
}

/* Next whitespace-separated argument, double quotes removed; -1 on an unterminated quote. */
static int cfg_next_arg(char **pp, char **arg)
{
	char *p = *pp, *o;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*arg = NULL;
		*pp = p;
		return 0;
	}
	*arg = o = p;
	while (*p != '\0' && *p != ' ' && *p != '\t') {
		if (*p == '"') {
			char *q = strchr(p + 1, '"');

			if (q == NULL)
				return -1;
			memmove(o, p + 1, (size_t)(q - p - 1));
			o += q - p - 1;
			p = q + 1;
			continue;
		}
		*o++ = *p++;
	}
	if (*p != '\0')
		p++;
	*o = '\0';
	*pp = p;
	return 0;
}

/* `Host` patterns: the block applies when any pattern matches and no negated one does. */
static int cfg_host_matches(const struct cfg *c, char *args)
{
	char *arg;
	int hit = 0;

	while (cfg_next_arg(&args, &arg) == 0 && arg != NULL) {
		int r = str_match_list(arg, c->host);

		if (r < 0)
			return 0;
		if (r > 0)
			hit = 1;
	}
	return hit;
}

static int cfg_keyword(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_keywords) / sizeof(cfg_keywords[0]); i++)
		if (strcasecmp(name, cfg_keywords[i].name) == 0)
			return (int)i;
	return -1;
}

static int cfg_check_value(enum cfg_kind kind, const char *v)
{
	long n;

	switch (kind) {
	case CFG_YESNO:
		return (strcasecmp(v, "yes") == 0 || strcasecmp(v, "no") == 0) ? 0 : -1;
	case CFG_NUM:
		return (strcasecmp(v, "none") == 0 || str_to_int(v, 0, INT_MAX, &n) == 0) ? 0 : -1;
	case CFG_PORTNUM:
		return str_to_int(v, 1, 65535, &n);
	case CFG_STR:
		return 0;
	}
	return -1;
}

/* Apply one line; returns -1 with `e` set when the line is malformed. */
static int cfg_line(struct cfg *c, struct cfg_src *src, char *line, struct err *e)
{
	char *p = line, *kw, *val;
	size_t n;
	int k;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	kw = p;
	n = strcspn(p, " \t=");
	p += n;
	if (*p != '\0')
		*p++ = '\0';
	while (*p == ' ' || *p == '\t' || *p == '=')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		p[--n] = '\0';
	if (strcasecmp(kw, "Host") == 0) {
		src->active = cfg_host_matches(c, p);
		return 0;
	}
	if (strcasecmp(kw, "Match") == 0) {
		/* Match blocks come with a later feature; until then none applies. */
		src->active = 0;
		return 0;
	}
	k = cfg_keyword(kw);
	if (k < 0 || !src->active)
		return 0;
	if (cfg_next_arg(&p, &val) < 0 || val == NULL ||
	    cfg_check_value(cfg_keywords[k].kind, val) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: bad %s value", src->file, src->line, kw);
		return -1;
	}
	if (cfg_keywords[k].key == CFG_IDENTITYFILE) {
		if (c->nident < SSHMCP_MAX_IDENTITIES && (c->ident[c->nident] = strdup(val)) != NULL)
			c->nident++;
		return 0;
	}
	if (c->val[cfg_keywords[k].key] == NULL) {
		char both[SSHMCP_LINE_MAX];
		const char *keep = val;

		/* The known-hosts keywords take several files: keep the rest of the line too. */
		if ((cfg_keywords[k].key == CFG_USERKNOWNHOSTSFILE ||
		    cfg_keywords[k].key == CFG_GLOBALKNOWNHOSTSFILE) && *p != '\0') {
			if (str_fmt(both, sizeof(both), "%s %s", val, p) < 0)
				return 0;
			keep = both;
		}
		if ((c->val[cfg_keywords[k].key] = strdup(keep)) == NULL) {
			err_set(e, SSHMCP_ERR_NOMEM, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Read one config file; a missing file is no error (ssh behaves the same). */
static int cfg_read_file(struct cfg *c, const char *path, struct err *e)
{
	char line[SSHMCP_LINE_MAX];
	struct cfg_src src = { .file = path, .line = 0, .active = 1 };
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);

		src.line++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f)) {
			err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: line too long", path, src.line);
			rc = -1;
			break;
		}
		if (cfg_line(c, &src, line, e) < 0) {
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* A `-o Keyword=Value` option: the same grammar as a config line, always active. */
static int cfg_option(struct cfg *c, const char *opt, struct err *e)
{
	char line[SSHMCP_LINE_MAX];
	struct cfg_src src = { .file = "command-line", .line = 0, .active = 1 };

	if (str_copy(line, sizeof(line), opt) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "option too long: %.40s...", opt);
		return -1;
	}
	return cfg_line(c, &src, line, e);
}

static int cfg_yes(const struct cfg *c, enum cfg_key k, int dflt)
{
	return c->val[k] == NULL ? dflt : strcasecmp(c->val[k], "yes") == 0;
}

static long cfg_num(const struct cfg *c, enum cfg_key k, long dflt)
{
	long v;

	if (c->val[k] == NULL || str_to_int(c->val[k], 0, INT_MAX, &v) < 0)
		return dflt;
	return v;
}

/* What a connection needs, resolved from the command line and ssh_config. */
enum kh_strict { KH_STRICT_YES, KH_STRICT_ACCEPT_NEW, KH_STRICT_NO };

struct target {
	char alias[SSHMCP_HOST_MAX];             /* as named: Host matching, fan-out labels */
	char host[SSHMCP_HOST_MAX];              /* HostName: what we connect to */
	char user[SSHMCP_USER_MAX];
	int port;
	char kh_name[SSHMCP_HOST_MAX + 8];       /* known_hosts key: host or [host]:port */
	char *ident[SSHMCP_MAX_IDENTITIES];      /* expanded IdentityFile paths */
	int nident;
	int ident_explicit;                      /* configured, not ssh's defaults */
	char *kh_file[SSHMCP_MAX_KH_FILES];      /* user files first, then global ones */
	int nkh, nkh_user;
	enum kh_strict strict;
	int connect_timeout_s;
	int alive_interval_s, alive_count;
	int identities_only, batch_mode;
	int try_pubkey, try_password, try_kbdint;
	char agent[SSHMCP_PATH_MAX];             /* agent socket path, "" for none */
	char kex[SSHMCP_ALGS_MAX], hostkey[SSHMCP_ALGS_MAX];
	char cipher[SSHMCP_ALGS_MAX], pubkey[SSHMCP_ALGS_MAX];
};

/* Local facts the % tokens and ~ need. */
struct cfg_env {
	char home[SSHMCP_PATH_MAX];
	char luser[SSHMCP_USER_MAX];
};

static void cfg_env_init(struct cfg_env *env)
{
	struct passwd *pw = getpwuid(getuid());
	const char *home = getenv("HOME");

	/* $HOME first, like most tools, so a test or a wrapper can point sshmcp elsewhere. */
	if (home == NULL || *home == '\0')
		home = pw != NULL ? pw->pw_dir : "/";
	(void)str_copy(env->home, sizeof(env->home), home);
	(void)str_copy(env->luser, sizeof(env->luser), pw != NULL ? pw->pw_name : "");
}

/* Expand ~ and ssh's % tokens (%d %u %h %r %p %n %%) into out; -1 on overflow or bad token. */
static int cfg_expand(const struct cfg_env *env, const struct target *t, const char *in,
    char *out, size_t cap)
{
	size_t o = 0;
	char port[8];

	(void)str_fmt(port, sizeof(port), "%d", t->port);
	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0')) {
		if (str_copy(out, cap, env->home) < 0)
			return -1;
		o = strlen(out);
		in++;
	}
	for (; *in != '\0'; in++) {
		const char *rep = NULL;
		char one[2] = { *in, '\0' };
		size_t n;

		if (*in == '%') {
			switch (*++in) {
			case '%': rep = "%"; break;
			case 'd': rep = env->home; break;
			case 'u': rep = env->luser; break;
			case 'h': rep = t->host; break;
			case 'r': rep = t->user; break;
			case 'p': rep = port; break;
			case 'n': rep = t->alias; break;
			default: return -1;
			}
		}
		rep = rep != NULL ? rep : one;
		n = strlen(rep);
		if (n >= cap - o)
			return -1;
		memcpy(out + o, rep, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* ssh's algorithm list forms: "+x" appends to the default, "-x" removes, "^x" prepends. */
static int cfg_alg_list(const char *dflt, const char *spec, char *out, size_t cap)
{
	char tmp[SSHMCP_ALGS_MAX];
	const char *p;

	if (spec == NULL)
		return str_copy(out, cap, dflt);
	if (spec[0] == '+')
		return str_fmt(out, cap, "%s,%s", dflt, spec + 1);
	if (spec[0] == '^')
		return str_fmt(out, cap, "%s,%s", spec + 1, dflt);
	if (spec[0] != '-')
		return str_copy(out, cap, spec);
	out[0] = '\0';
	for (p = dflt; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if (n < sizeof(tmp)) {
			memcpy(tmp, p, n);
			tmp[n] = '\0';
			if (str_match_list(spec + 1, tmp) <= 0 &&
			    str_fmt(out + strlen(out), cap - strlen(out), "%s%s",
			    out[0] != '\0' ? "," : "", tmp) < 0)
				return -1;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

/* Defaults, strongest and fastest first; libssh2 drops the names it does not implement. */
#define CFG_DEFAULT_KEX "curve25519-sha256,curve25519-sha256@libssh.org," \
	"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
	"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," \
	"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
#define CFG_DEFAULT_HOSTKEY "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"
/* chacha20-poly1305 first: one pass instead of AES-CTR plus a separate HMAC-SHA2, which
 * measured three times slower on bulk output (mbedTLS has no SHA extensions on x86). */
#define CFG_DEFAULT_CIPHER "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com," \
	"aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr"
#define CFG_DEFAULT_PUBKEY "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"

static const char *const cfg_default_idents[] = {
	"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519",
};

static int cfg_add_path(char **list, int *n, int max, const char *path)
{
	if (*n >= max)
		return 0;
	if ((list[*n] = strdup(path)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* Split a "file1 file2" value, expand each and append. */
static int cfg_add_files(const struct cfg_env *env, struct target *t, const char *spec)
{
	char buf[SSHMCP_LINE_MAX], path[SSHMCP_PATH_MAX], *p = buf, *arg;

	if (str_copy(buf, sizeof(buf), spec) < 0)
		return -1;
	while (cfg_next_arg(&p, &arg) == 0 && arg != NULL) {
		if (strcasecmp(arg, "none") == 0)
			continue;
		if (cfg_expand(env, t, arg, path, sizeof(path)) < 0 ||
		    cfg_add_path(t->kh_file, &t->nkh, SSHMCP_MAX_KH_FILES, path) < 0)
			return -1;
	}
	return 0;
}

static void target_free(struct target *t)
{
	int i;

	for (i = 0; i < t->nident; i++)
		free(t->ident[i]);
	for (i = 0; i < t->nkh; i++)
		free(t->kh_file[i]);
	t->nident = t->nkh = 0;
}

static int cfg_resolve_names(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
{
	char tmp[SSHMCP_HOST_MAX];

	(void)str_copy(tmp, sizeof(tmp), t->alias);
	(void)str_copy(t->host, sizeof(t->host), t->alias);
	if (c->val[CFG_HOSTNAME] != NULL &&
	    cfg_expand(env, t, c->val[CFG_HOSTNAME], t->host, sizeof(t->host)) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad HostName \"%s\"", c->val[CFG_HOSTNAME]);
		return -1;
	}
	if (t->user[0] == '\0')
		(void)str_copy(t->user, sizeof(t->user),
		    c->val[CFG_USER] != NULL ? c->val[CFG_USER] : env->luser);
	if (t->port == 0)
		t->port = (int)cfg_num(c, CFG_PORT, 22);
	(void)str_copy(tmp, sizeof(tmp),
	    c->val[CFG_HOSTKEYALIAS] != NULL ? c->val[CFG_HOSTKEYALIAS] : t->host);
	if (t->port == 22 || c->val[CFG_HOSTKEYALIAS] != NULL)
		return str_copy(t->kh_name, sizeof(t->kh_name), tmp);
	return str_fmt(t->kh_name, sizeof(t->kh_name), "[%s]:%d", tmp, t->port);
}

static int cfg_resolve_files(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
{
	char path[SSHMCP_PATH_MAX];
	int i, n = c->nident;

	t->ident_explicit = n > 0;
	for (i = 0; i < (n > 0 ? n : (int)(sizeof(cfg_default_idents) / sizeof(char *))); i++) {
		const char *spec = n > 0 ? c->ident[i] : cfg_default_idents[i];

		if (cfg_expand(env, t, spec, path, sizeof(path)) < 0) {
			err_set(e, SSHMCP_ERR_CONFIG, "bad IdentityFile \"%s\"", spec);
			return -1;
		}
		if (cfg_add_path(t->ident, &t->nident, SSHMCP_MAX_IDENTITIES, path) < 0)
			goto nomem;
	}
	if (cfg_add_files(env, t, c->val[CFG_USERKNOWNHOSTSFILE] != NULL ?
	    c->val[CFG_USERKNOWNHOSTSFILE] : "~/.ssh/known_hosts ~/.ssh/known_hosts2") < 0)
		goto nomem;
	t->nkh_user = t->nkh;
	if (cfg_add_files(env, t, c->val[CFG_GLOBALKNOWNHOSTSFILE] != NULL ?
	    c->val[CFG_GLOBALKNOWNHOSTSFILE] :
	    "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2") < 0)
		goto nomem;
	return 0;
nomem:
	err_set(e, SSHMCP_ERR_CONFIG, "known_hosts or identity path too long");
	return -1;
}

static int cfg_resolve_policy(const struct cfg *c, struct target *t, struct err *e)
{
	const char *s = c->val[CFG_STRICTHOSTKEYCHECKING], *agent;

	if (s == NULL || strcasecmp(s, "yes") == 0 || strcasecmp(s, "ask") == 0)
		t->strict = KH_STRICT_YES;
	else if (strcasecmp(s, "accept-new") == 0)
		t->strict = KH_STRICT_ACCEPT_NEW;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0)
		t->strict = KH_STRICT_NO;
	else {
		err_set(e, SSHMCP_ERR_CONFIG, "bad StrictHostKeyChecking \"%s\"", s);
		return -1;
	}
	t->connect_timeout_s = (int)cfg_num(c, CFG_CONNECTTIMEOUT, SSHMCP_CONNECT_TIMEOUT_S);
	if (t->connect_timeout_s == 0)
		t->connect_timeout_s = SSHMCP_CONNECT_TIMEOUT_S;
	t->alive_interval_s = (int)cfg_num(c, CFG_SERVERALIVEINTERVAL, 0);
	t->alive_count = (int)cfg_num(c, CFG_SERVERALIVECOUNTMAX, 3);
	t->identities_only = cfg_yes(c, CFG_IDENTITIESONLY, 0);
	t->batch_mode = cfg_yes(c, CFG_BATCHMODE, 0);
	t->try_pubkey = cfg_yes(c, CFG_PUBKEYAUTHENTICATION, 1);
	t->try_password = cfg_yes(c, CFG_PASSWORDAUTHENTICATION, 1);
	t->try_kbdint = cfg_yes(c, CFG_KBDINTERACTIVEAUTHENTICATION, 1);
	agent = c->val[CFG_IDENTITYAGENT];
	if (agent == NULL || strcmp(agent, "SSH_AUTH_SOCK") == 0)
		agent = getenv("SSH_AUTH_SOCK");
	if (agent == NULL || strcasecmp(agent, "none") == 0)
		agent = "";
	(void)str_copy(t->agent, sizeof(t->agent), agent);
	if (cfg_alg_list(CFG_DEFAULT_KEX, c->val[CFG_KEXALGORITHMS], t->kex, sizeof(t->kex)) < 0 ||
	    cfg_alg_list(CFG_DEFAULT_HOSTKEY, c->val[CFG_HOSTKEYALGORITHMS], t->hostkey,
	    sizeof(t->hostkey)) < 0 ||
	    cfg_alg_list(CFG_DEFAULT_CIPHER, c->val[CFG_CIPHERS], t->cipher, sizeof(t->cipher)) < 0 ||
	    cfg_alg_list(CFG_DEFAULT_PUBKEY, c->val[CFG_PUBKEYACCEPTEDALGORITHMS], t->pubkey,
	    sizeof(t->pubkey)) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "algorithm list too long");
		return -1;
	}
	return 0;
}

/* Fill `t` (alias, and user/port when given on the command line, already set) from `c`. */
static int cfg_resolve(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
{
	if (cfg_resolve_names(c, env, t, e) < 0 || cfg_resolve_files(c, env, t, e) < 0 ||
	    cfg_resolve_policy(c, t, e) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad configuration for %s", t->alias);
		return -1;
	}
	return 0;
}

/* Load config for `host`: -o options already in `c`, then -F FILE, or user's then system. */
static int cfg_load(struct cfg *c, const struct cfg_env *env, const char *fflag, struct err *e)
{
	char path[SSHMCP_PATH_MAX];

	if (fflag != NULL) {
		if (strcasecmp(fflag, "none") == 0)
			return 0;
		if (access(fflag, R_OK) < 0) {
			err_set(e, SSHMCP_ERR_CONFIG, "can't open user config file %s: %s", fflag,
			    strerror(errno));
			return -1;
		}
		return cfg_read_file(c, fflag, e);
	}
	if (str_fmt(path, sizeof(path), "%s/.ssh/config", env->home) == 0 &&
	    cfg_read_file(c, path, e) < 0)
		return -1;
	return cfg_read_file(c, "/etc/ssh/ssh_config", e);
}

/* ====================================================== known_hosts === */
/*
 * Our own known_hosts reader: libssh2's refuses a whole file over one line it does not know
 * (@revoked, @cert-authority), and we need the fingerprints of both keys when one changed.
 */
enum kh_result { KH_NOTFOUND, KH_CHANGED, KH_MATCH, KH_REVOKED };

struct kh_check {
	enum kh_result result;
	char where[SSHMCP_PATH_MAX + 16];        /* file:line of the deciding entry */
	char known_fp[64];                       /* SHA256 of the recorded key when changed */
};

/* The key type name at the start of an SSH key blob (string, RFC 4253 §6.6). */
static int kh_blob_type(const unsigned char *blob, size_t n, char *out, size_t cap)
{
	uint32_t len;

	if (n < 4)
		return -1;
	len = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
	if (len > n - 4 || len >= cap)
		return -1;
	memcpy(out, blob + 4, len);
	out[len] = '\0';
	return 0;
}

/* "SHA256:<unpadded base64>", as ssh prints fingerprints. */
static void kh_fingerprint(const unsigned char *blob, size_t bloblen, char *out, size_t cap)
{
	unsigned char h[32];
	size_t n;

	(void)mbedtls_sha256(blob, bloblen, h, 0);
	if (cap < 8) {
		out[0] = '\0';
		return;
	}
	memcpy(out, "SHA256:", 7);
	if (b64_encode(h, sizeof(h), out + 7, cap - 7, &n) < 0)
		n = 0;
	while (n > 0 && out[7 + n - 1] == '=')   /* ssh prints fingerprints unpadded */
		n--;
	out[7 + n] = '\0';
}

/* "|1|salt|hmac" entries hash the name with HMAC-SHA1 keyed by the salt (HashKnownHosts). */
static int kh_hashed_match(const char *field, const char *name)
{
	unsigned char salt[64], want[64], got[20];
	const char *bar = strchr(field + 3, '|');
	size_t ns, nw;
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);

	if (bar == NULL || md == NULL ||
	    b64_decode(field + 3, (size_t)(bar - field - 3), salt, sizeof(salt), &ns) < 0 ||
	    b64_decode(bar + 1, strlen(bar + 1), want, sizeof(want), &nw) < 0 ||
	    ns == 0 || nw != sizeof(got))
		return 0;
	if (mbedtls_md_hmac(md, salt, ns, (const unsigned char *)name, strlen(name),
	    got) != 0)
		return 0;
	return memcmp(got, want, sizeof(got)) == 0;
}

static int kh_host_matches(const char *field, const char *name)
{
	if (strncmp(field, "|1|", 3) == 0)
		return kh_hashed_match(field, name);
	return str_match_list(field, name) > 0;
}

/* One parsed line; fields point into `line`, which is modified. */
struct kh_line {
	const char *marker, *hosts, *type, *b64;
};

static int kh_split(char *line, struct kh_line *l)
{
	char *p = line, *f[4];
	int i, n = 0;

	memset(l, 0, sizeof(*l));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == '\n')
		return -1;
	for (i = 0; i < 4 && *p != '\0'; i++) {
		f[n++] = p;
		p += strcspn(p, " \t\r\n");
		if (*p != '\0')
			*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (n >= 1 && f[0][0] == '@') {
		if (n < 4)
			return -1;
		l->marker = f[0];
		l->hosts = f[1], l->type = f[2], l->b64 = f[3];
		return 0;
	}
	if (n < 3)
		return -1;
	l->hosts = f[0], l->type = f[1], l->b64 = f[2];
	return 0;
}

/* Check the server's key against one file, raising `r` to the strongest finding. */
static void kh_scan_file(const char *path, const char *name, const unsigned char *blob,
    size_t bloblen, struct kh_check *r)
{
	char line[SSHMCP_LINE_MAX * 4], type[64];
	unsigned char known[SSHMCP_KEYBLOB_MAX];
	struct kh_line l;
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (f == NULL || kh_blob_type(blob, bloblen, type, sizeof(type)) < 0)
		goto out;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n;
		enum kh_result found;

		lineno++;
		if (kh_split(line, &l) < 0 || !kh_host_matches(l.hosts, name))
			continue;
		if (l.marker != NULL && strcmp(l.marker, "@revoked") != 0)
			continue;  /* @cert-authority: host certificates are not offered by libssh2 */
		if (b64_decode(l.b64, strlen(l.b64), known, sizeof(known), &n) < 0)
			continue;
		if (n == bloblen && memcmp(known, blob, bloblen) == 0)
			found = l.marker != NULL ? KH_REVOKED : KH_MATCH;
		else if (l.marker == NULL && strcmp(l.type, type) == 0)
			found = KH_CHANGED;
		else
			continue;
		if (found > r->result) {
			r->result = found;
			(void)str_fmt(r->where, sizeof(r->where), "%s:%d", path, lineno);
			if (found == KH_CHANGED)
				kh_fingerprint(known, n, r->known_fp, sizeof(r->known_fp));
		}
	}
out:
	if (f != NULL)
		fclose(f);
}

/*
 * Host key algorithms to offer, the types already recorded for this host first: a host
 * known only by its ECDSA key must not be refused because the server prefers Ed25519.
 */
static void kh_pref_algs(const struct target *t, char *out, size_t cap)
{
	char line[SSHMCP_LINE_MAX * 4], known[SSHMCP_ALGS_MAX] = "";
	struct kh_line l;
	int i;

	for (i = 0; i < t->nkh; i++) {
		FILE *f = fopen(t->kh_file[i], "r");

		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			const char *alg;

			if (kh_split(line, &l) < 0 || l.marker != NULL ||
			    !kh_host_matches(l.hosts, t->kh_name))
				continue;
			alg = strcmp(l.type, "ssh-rsa") == 0 ? "rsa-sha2-512,rsa-sha2-256" : l.type;
			if (str_match_list(t->hostkey, l.type) <= 0 && strcmp(l.type, "ssh-rsa") != 0)
				continue;
			if (strstr(known, alg) == NULL)
				(void)str_fmt(known + strlen(known), sizeof(known) - strlen(known),
				    "%s%s", known[0] != '\0' ? "," : "", alg);
		}
		if (f != NULL)
			fclose(f);
	}
	if (known[0] == '\0' || str_fmt(out, cap, "%s,%s", known, t->hostkey) < 0)
		(void)str_copy(out, cap, t->hostkey);
}

/* Append "name type base64" to the first user known_hosts file (accept-new). */
static int kh_append(const struct target *t, const char *type, const unsigned char *blob,
    size_t n, struct err *e)
{
	char b64[SSHMCP_KEYBLOB_MAX * 2], dir[SSHMCP_PATH_MAX], *slash;
	const char *path = t->nkh_user > 0 ? t->kh_file[0] : NULL;
	struct stat st;
	int fd, rc = -1, need_nl = 0;

	if (path == NULL || str_copy(dir, sizeof(dir), path) < 0) {
		err_set(e, SSHMCP_ERR_HOSTKEY_UNKNOWN, "no known_hosts file to record the key in");
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0700);
	}
	if (b64_encode(blob, n, b64, sizeof(b64), NULL) < 0) {
		err_set(e, SSHMCP_ERR_HOSTKEY_UNKNOWN, "host key too large to record");
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		err_set(e, SSHMCP_ERR_HOSTKEY_UNKNOWN, "can't write %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		char last = '\n';

		need_nl = pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
	}
	if ((need_nl && fd_write_all(fd, "\n", 1) < 0) ||
	    fd_write_all(fd, t->kh_name, strlen(t->kh_name)) < 0 ||
	    fd_write_all(fd, " ", 1) < 0 || fd_write_all(fd, type, strlen(type)) < 0 ||
	    fd_write_all(fd, " ", 1) < 0 || fd_write_all(fd, b64, strlen(b64)) < 0 ||
	    fd_write_all(fd, "\n", 1) < 0)
		err_set(e, SSHMCP_ERR_HOSTKEY_UNKNOWN, "can't write %s", path);
	else
		rc = 0;
	close(fd);
	return rc;
}

/* ============================================== connection and auth === */

enum sess_state {
	SESS_CONNECTING,   /* TCP connect in progress */
	SESS_HANDSHAKE,    /* SSH key exchange, then host key check */
	SESS_AUTH,         /* agent, identity files, password, keyboard-interactive */
	SESS_OPENING,      /* channel open, pty-req, exec/shell */
	SESS_RUNNING,      /* moving bytes both ways */
	SESS_CLOSING,      /* waiting for the remote close, exit status, disconnect */
	SESS_DONE,         /* finished; exit status known */
	SESS_DEAD          /* failed; `err` says why */
};

enum auth_step { AUTH_LIST, AUTH_AGENT, AUTH_KEYS, AUTH_PASSWORD, AUTH_KBDINT, AUTH_FAILED };
enum open_step { OPEN_CHANNEL, OPEN_PTY, OPEN_START };
enum close_step { CLOSE_WAIT, CLOSE_CHANNEL, CLOSE_DISCONNECT };

/* What to run once connected. */
struct job {
	const char *command;        /* NULL: interactive shell */
	int want_pty;
	const char *term;
	int cols, rows;
	int forward_stdin;
	int timeout_s;              /* 0: none */
};

struct sess {
	enum sess_state state;
	int step;                   /* sub-step of the state: auth_step, open_step, close_step */
	struct target t;
	const struct job *job;
	const struct log *log;
	struct err err;

	struct addrinfo *ai, *ai_cur;
	int fd;
	short revents;              /* from the last poll, for the connect check */
	LIBSSH2_SESSION *ssh;
	LIBSSH2_CHANNEL *ch;
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *agent_id;
	int ident_i;

	char authlist[256];
	char tried[256];            /* methods tried, for the failure message */
	char secret[SSHMCP_SECRET_MAX];
	int have_secret;

	int64_t t_start;
	int64_t deadline;           /* connect/auth step deadline */
	int64_t cmd_deadline;       /* --timeout */
	int64_t kill_deadline;      /* TERM sent: KILL and close after this */
	int64_t alive_at;           /* next keepalive */

	struct ring out[2];         /* remote stdout, stderr -> local */
	struct ring in;             /* local stdin -> remote */
	int in_eof, eof_sent, remote_eof, timed_out;
	int exit_status;
	char exit_signal[32];
};

/* Result of one step: keep going, wait for the socket/deadline, or stop. */
enum step_rc { STEP_AGAIN, STEP_WAIT, STEP_FAIL };

static enum step_rc sess_fail(struct sess *s, enum sshmcp_err code, const char *what)
{
	char *msg = NULL;

	if (s->ssh != NULL)
		(void)libssh2_session_last_error(s->ssh, &msg, NULL, 0);
	err_set(&s->err, code, "%s%s%s", what, msg != NULL && *msg != '\0' ? ": " : "",
	    msg != NULL ? msg : "");
	return STEP_FAIL;
}

static int sess_eagain(const struct sess *s)
{
	return libssh2_session_last_errno(s->ssh) == LIBSSH2_ERROR_EAGAIN;
}

static void tried_add(struct sess *s, const char *what)
{
	if (strstr(s->tried, what) == NULL)
		(void)str_fmt(s->tried + strlen(s->tried), sizeof(s->tried) - strlen(s->tried),
		    "%s%s", s->tried[0] != '\0' ? "," : "", what);
}

/* Next address: resolve once, then try each with a non-blocking connect. */
static enum step_rc conn_start(struct sess *s)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	char port[8];
	int rc;

	if (s->ai == NULL) {
		(void)str_fmt(port, sizeof(port), "%d", s->t.port);
		/* getaddrinfo blocks; names in ssh_config are usually literal or cached. */
		if ((rc = getaddrinfo(s->t.host, port, &hints, &s->ai)) != 0) {
			err_set(&s->err, SSHMCP_ERR_RESOLVE, "Could not resolve hostname %s: %s",
			    s->t.host, gai_strerror(rc));
			return STEP_FAIL;
		}
		s->ai_cur = s->ai;
	}
	for (; s->ai_cur != NULL; s->ai_cur = s->ai_cur->ai_next) {
		s->fd = socket(s->ai_cur->ai_family, s->ai_cur->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, s->ai_cur->ai_protocol);
		if (s->fd < 0)
			continue;
		if (connect(s->fd, s->ai_cur->ai_addr, s->ai_cur->ai_addrlen) == 0 ||
		    errno == EINPROGRESS)
			return STEP_WAIT;
		err_set(&s->err, SSHMCP_ERR_CONNECT, "connect to host %s port %d: %s", s->t.host,
		    s->t.port, strerror(errno));
		close(s->fd);
		s->fd = -1;
	}
	err_set(&s->err, SSHMCP_ERR_CONNECT, "connect to host %s port %d: failed", s->t.host,
	    s->t.port);
	return STEP_FAIL;
}

static enum step_rc conn_connecting(struct sess *s, int64_t now)
{
	int soerr = 0, one = 1;
	socklen_t len = sizeof(soerr);

	if (s->fd < 0)
		return conn_start(s);
	if (!(s->revents & (POLLOUT | POLLERR | POLLHUP))) {
		if (now < s->deadline)
			return STEP_WAIT;
		err_set(&s->err, SSHMCP_ERR_CONNECT, "connect to host %s port %d: Connection timed out",
		    s->t.host, s->t.port);
		return STEP_FAIL;
	}
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		close(s->fd);
		s->fd = -1;
		s->revents = 0;
		s->ai_cur = s->ai_cur->ai_next;
		if (s->ai_cur != NULL)
			return STEP_AGAIN;
		err_set(&s->err, SSHMCP_ERR_CONNECT, "connect to host %s port %d: %s", s->t.host,
		    s->t.port, strerror(soerr));
		return STEP_FAIL;
	}
	/* Interactive traffic: small writes must not wait for Nagle. */
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	log_msg(s->log, LOG_DEBUG1, "Connection established to %s port %d.", s->t.host, s->t.port);
	s->state = SESS_HANDSHAKE;
	return STEP_AGAIN;
}

static int conn_prefs(struct sess *s)
{
	char hostkey[SSHMCP_ALGS_MAX];

	kh_pref_algs(&s->t, hostkey, sizeof(hostkey));
	log_msg(s->log, LOG_DEBUG2, "host key algorithms: %s", hostkey);
	if (libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_KEX, s->t.kex) != 0 ||
	    libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_HOSTKEY, hostkey) != 0 ||
	    libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_CRYPT_CS, s->t.cipher) != 0 ||
	    libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_CRYPT_SC, s->t.cipher) != 0) {
		err_set(&s->err, SSHMCP_ERR_CONFIG, "no supported algorithm in a configured list");
		return -1;
	}
	return 0;
}

static enum step_rc conn_hostkey(struct sess *s)
{
	size_t len = 0;
	int type;
	const char *key = libssh2_session_hostkey(s->ssh, &len, &type);
	const unsigned char *blob = (const unsigned char *)key;
	struct kh_check r = { .result = KH_NOTFOUND };
	char fp[64], ktype[64];
	int i;

	if (key == NULL || kh_blob_type(blob, len, ktype, sizeof(ktype)) < 0)
		return sess_fail(s, SSHMCP_ERR_HANDSHAKE, "no host key");
	kh_fingerprint(blob, len, fp, sizeof(fp));
	log_msg(s->log, LOG_DEBUG1, "Server host key: %s %s", ktype, fp);
	for (i = 0; i < s->t.nkh; i++)
		kh_scan_file(s->t.kh_file[i], s->t.kh_name, blob, len, &r);
	switch (r.result) {
	case KH_MATCH:
		log_msg(s->log, LOG_DEBUG1, "Host '%s' is known and matches the %s host key (%s).",
		    s->t.kh_name, ktype, r.where);
		return STEP_AGAIN;
	case KH_REVOKED:
		err_set(&s->err, SSHMCP_ERR_HOSTKEY, "host key for %s (%s %s) is marked as revoked "
		    "in %s: refusing to connect", s->t.kh_name, ktype, fp, r.where);
		return STEP_FAIL;
	case KH_CHANGED:
		err_set(&s->err, SSHMCP_ERR_HOSTKEY, "REMOTE HOST IDENTIFICATION HAS CHANGED for %s: "
		    "known %s key %s (%s), offered %s — possible man-in-the-middle, refusing to "
		    "connect", s->t.kh_name, ktype, r.known_fp, r.where, fp);
		return STEP_FAIL;
	case KH_NOTFOUND:
		break;
	}
	if (s->t.strict == KH_STRICT_YES) {
		err_set(&s->err, SSHMCP_ERR_HOSTKEY_UNKNOWN, "No %s host key is known for %s and "
		    "strict checking is on (offered %s); Host key verification failed. Use "
		    "-o StrictHostKeyChecking=accept-new to record it", ktype, s->t.kh_name, fp);
		return STEP_FAIL;
	}
	if (kh_append(&s->t, ktype, blob, len, &s->err) < 0)
		return STEP_FAIL;
	log_msg(s->log, LOG_INFO, "Warning: Permanently added '%s' (%s) to the list of known hosts.",
	    s->t.kh_name, ktype);
	return STEP_AGAIN;
}

static enum step_rc conn_handshake(struct sess *s, int64_t now)
{
	int rc;

	if (s->ssh == NULL) {
		s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, s);
		if (s->ssh == NULL)
			return sess_fail(s, SSHMCP_ERR_NOMEM, "libssh2_session_init");
		libssh2_session_set_blocking(s->ssh, 0);
		if (conn_prefs(s) < 0)
			return STEP_FAIL;
	}
	rc = libssh2_session_handshake(s->ssh, s->fd);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return now < s->deadline ? STEP_WAIT :
			sess_fail(s, SSHMCP_ERR_CONNECT, "key exchange timed out");
	if (rc != 0) {
		char what[SSHMCP_HOST_MAX + 64];

		(void)str_fmt(what, sizeof(what), "key exchange with %s port %d failed", s->t.host,
		    s->t.port);
		return sess_fail(s, SSHMCP_ERR_HANDSHAKE, what);
	}
	log_msg(s->log, LOG_DEBUG1, "kex: %s, host key: %s, cipher: %s, mac: %s",
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_KEX),
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_HOSTKEY),
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_CRYPT_CS),
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_MAC_CS));
	if (conn_hostkey(s) == STEP_FAIL)
		return STEP_FAIL;
	if (s->t.alive_interval_s > 0)
		libssh2_keepalive_config(s->ssh, 1, (unsigned)s->t.alive_interval_s);
	s->state = SESS_AUTH;
	s->step = AUTH_LIST;
	s->deadline = now + (int64_t)s->t.connect_timeout_s * 1000;
	return STEP_AGAIN;
}

/* Read a secret from /dev/tty with echo off; -1 when there is no terminal. */
static int auth_tty_prompt(const char *prompt, char *out, size_t cap)
{
	struct termios old, noecho;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc = -1;
	size_t n = 0;
	char c;

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) < 0)
		goto out;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	(void)fd_write_all(fd, prompt, strlen(prompt));
	(void)tcsetattr(fd, TCSAFLUSH, &noecho);
	while (read(fd, &c, 1) == 1 && c != '\n' && c != '\r')
		if (n < cap - 1)
			out[n++] = c;
	out[n] = '\0';
	c = 0;
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)fd_write_all(fd, "\n", 1);
	rc = 0;
out:
	close(fd);
	return rc;
}

/* The password, from SSHMCP_PASSWORD or a prompt; it is wiped when the session ends. */
static int auth_secret(struct sess *s, int64_t *deadline)
{
	const char *env = getenv("SSHMCP_PASSWORD");
	char prompt[SSHMCP_USER_MAX + SSHMCP_HOST_MAX + 16];

	if (s->have_secret)
		return 0;
	if (env != NULL && str_copy(s->secret, sizeof(s->secret), env) == 0) {
		s->have_secret = 1;
		return 0;
	}
	if (s->t.batch_mode)
		return -1;
	(void)str_fmt(prompt, sizeof(prompt), "%s@%s's password: ", s->t.user, s->t.host);
	if (auth_tty_prompt(prompt, s->secret, sizeof(s->secret)) < 0)
		return -1;
	s->have_secret = 1;
	*deadline = time_ms() + (int64_t)s->t.connect_timeout_s * 1000;  /* typing is not lag */
	return 0;
}

static LIBSSH2_USERAUTH_KBDINT_RESPONSE_FUNC(auth_kbdint_cb)
{
	struct sess *s = *abstract;
	int i;

	(void)name, (void)name_len, (void)instruction, (void)instruction_len;
	/* Hidden prompts get the password; visible ones (rare, "Verification code") get "". */
	for (i = 0; i < num_prompts; i++) {
		const char *ans = prompts[i].echo ? "" : s->secret;

		responses[i].text = strdup(ans);
		responses[i].length = responses[i].text != NULL ? (unsigned)strlen(ans) : 0;
	}
}

/* The public blob of an identity file's .pub, for IdentitiesOnly filtering of agent keys. */
static long auth_pub_blob(const char *priv, unsigned char *blob, size_t cap)
{
	char path[SSHMCP_PATH_MAX], line[SSHMCP_LINE_MAX * 4], *p, *b64;
	FILE *f;
	size_t got;
	long n = -1;

	if (str_fmt(path, sizeof(path), "%s.pub", priv) < 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL && (p = strchr(line, ' ')) != NULL) {
		b64 = p + 1;
		b64[strcspn(b64, " \r\n")] = '\0';
		if (b64_decode(b64, strlen(b64), blob, cap, &got) == 0)
			n = (long)got;
	}
	fclose(f);
	return n;
}

static int auth_agent_allowed(const struct sess *s, const struct libssh2_agent_publickey *id)
{
	unsigned char blob[SSHMCP_KEYBLOB_MAX];
	int i;

	if (!s->t.identities_only)
		return 1;
	for (i = 0; i < s->t.nident; i++) {
		long n = auth_pub_blob(s->t.ident[i], blob, sizeof(blob));

		if (n > 0 && (size_t)n == id->blob_len && memcmp(blob, id->blob, id->blob_len) == 0)
			return 1;
	}
	return 0;
}

static void auth_agent_close(struct sess *s)
{
	if (s->agent != NULL) {
		(void)libssh2_agent_disconnect(s->agent);
		libssh2_agent_free(s->agent);
		s->agent = NULL;
		s->agent_id = NULL;
	}
}

/* Agent keys, one at a time; `agent_id` stays set while a try is in flight (EAGAIN). */
static enum step_rc auth_agent(struct sess *s, int *done)
{
	int rc;

	*done = 0;
	if (s->agent == NULL) {
		if (!s->t.try_pubkey || s->t.agent[0] == '\0' || !strstr(s->authlist, "publickey"))
			return STEP_AGAIN;
		s->agent = libssh2_agent_init(s->ssh);
		if (s->agent == NULL)
			return STEP_AGAIN;
		libssh2_agent_set_identity_path(s->agent, s->t.agent);
		if (libssh2_agent_connect(s->agent) != 0 ||
		    libssh2_agent_list_identities(s->agent) != 0) {
			log_msg(s->log, LOG_DEBUG1, "agent %s: not usable", s->t.agent);
			auth_agent_close(s);
			return STEP_AGAIN;
		}
		rc = libssh2_agent_get_identity(s->agent, &s->agent_id, NULL);
	} else
		rc = 0;
	while (rc == 0) {
		if (auth_agent_allowed(s, s->agent_id)) {
			tried_add(s, "publickey");
			rc = libssh2_agent_userauth(s->agent, s->t.user, s->agent_id);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				return STEP_WAIT;
			if (rc == 0) {
				log_msg(s->log, LOG_DEBUG1, "Authenticated with agent key %s",
				    s->agent_id->comment);
				*done = 1;
				break;
			}
		}
		rc = libssh2_agent_get_identity(s->agent, &s->agent_id, s->agent_id);
	}
	auth_agent_close(s);
	return STEP_AGAIN;
}

static enum step_rc auth_keys(struct sess *s, int *done)
{
	char pub[SSHMCP_PATH_MAX];
	const char *pass = getenv("SSHMCP_PASSPHRASE");

	*done = 0;
	if (!s->t.try_pubkey || !strstr(s->authlist, "publickey"))
		return STEP_AGAIN;
	for (; s->ident_i < s->t.nident; s->ident_i++) {
		const char *priv = s->t.ident[s->ident_i];
		int rc;

		if (access(priv, R_OK) < 0) {
			if (s->t.ident_explicit)
				log_msg(s->log, LOG_INFO, "Warning: Identity file %s not accessible: %s.",
				    priv, strerror(errno));
			continue;
		}
		tried_add(s, "publickey");
		if (str_fmt(pub, sizeof(pub), "%s.pub", priv) < 0 || access(pub, R_OK) < 0)
			pub[0] = '\0';
		rc = libssh2_userauth_publickey_fromfile_ex(s->ssh, s->t.user,
		    (unsigned)strlen(s->t.user), pub[0] != '\0' ? pub : NULL, priv, pass);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (rc == 0) {
			log_msg(s->log, LOG_DEBUG1, "Authenticated with key %s", priv);
			*done = 1;
			return STEP_AGAIN;
		}
		log_msg(s->log, LOG_DEBUG1, "key %s: refused or unusable (%d)", priv, rc);
	}
	return STEP_AGAIN;
}

static enum step_rc auth_password(struct sess *s, int kbdint, int *done)
{
	const char *method = kbdint ? "keyboard-interactive" : "password";
	int rc;

	*done = 0;
	if (!(kbdint ? s->t.try_kbdint : s->t.try_password) || !strstr(s->authlist, method) ||
	    auth_secret(s, &s->deadline) < 0)
		return STEP_AGAIN;
	tried_add(s, method);
	rc = kbdint ? libssh2_userauth_keyboard_interactive_ex(s->ssh, s->t.user,
		(unsigned)strlen(s->t.user), auth_kbdint_cb) :
		libssh2_userauth_password_ex(s->ssh, s->t.user, (unsigned)strlen(s->t.user),
		s->secret, (unsigned)strlen(s->secret), NULL);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return STEP_WAIT;
	*done = rc == 0;
	log_msg(s->log, LOG_DEBUG1, "%s authentication %s", method, rc == 0 ? "accepted" : "failed");
	return STEP_AGAIN;
}

/* The server's pre-auth banner on stderr, as ssh shows it (-q hides it). Control bytes are
 * dropped: a hostile server must not drive the user's terminal. */
static void auth_banner(const struct sess *s)
{
	char *banner = NULL, clean[SSHMCP_LOG_LINE_MAX];
	size_t i, o = 0;

	if (s->log->quiet || libssh2_userauth_banner(s->ssh, &banner) != 0 || banner == NULL)
		return;
	for (i = 0; banner[i] != '\0' && o < sizeof(clean) - 1; i++) {
		unsigned char ch = (unsigned char)banner[i];

		if (ch >= 0x20 || ch == '\n' || ch == '\t')
			clean[o++] = banner[i];
	}
	(void)fd_write_all(STDERR_FILENO, clean, o);
}

/* AUTH: methods in ssh's order; each step falls through to the next when it cannot help. */
static enum step_rc auth_step(struct sess *s, int64_t now)
{
	enum step_rc rc = STEP_AGAIN;
	int done = 0;

	if (now >= s->deadline)
		return sess_fail(s, SSHMCP_ERR_AUTH, "authentication timed out");
	switch ((enum auth_step)s->step) {
	case AUTH_LIST: {
		char *list = libssh2_userauth_list(s->ssh, s->t.user, (unsigned)strlen(s->t.user));

		if (list == NULL && sess_eagain(s))
			return STEP_WAIT;
		done = list == NULL && libssh2_userauth_authenticated(s->ssh);
		if (list == NULL && !done)
			return sess_fail(s, SSHMCP_ERR_AUTH, "authentication list refused");
		if (list != NULL)
			(void)str_copy(s->authlist, sizeof(s->authlist), list);
		log_msg(s->log, LOG_DEBUG1, "Authentications that can continue: %s", s->authlist);
		break;
	}
	case AUTH_AGENT: rc = auth_agent(s, &done); break;
	case AUTH_KEYS: rc = auth_keys(s, &done); break;
	case AUTH_PASSWORD: rc = auth_password(s, 0, &done); break;
	case AUTH_KBDINT: rc = auth_password(s, 1, &done); break;
	case AUTH_FAILED:
		auth_banner(s);
		err_set(&s->err, SSHMCP_ERR_AUTH, "%s@%s: Permission denied (%s); tried: %s",
		    s->t.user, s->t.host, s->authlist, s->tried[0] != '\0' ? s->tried : "nothing");
		return STEP_FAIL;
	}
	if (rc != STEP_AGAIN)
		return rc;
	if (done) {
		auth_banner(s);
		s->state = SESS_OPENING;
		s->step = OPEN_CHANNEL;
	} else
		s->step++;
	return STEP_AGAIN;
}

/* ============================================== channel and session === */

static enum step_rc sess_opening(struct sess *s)
{
	const struct job *j = s->job;
	int rc;

	switch ((enum open_step)s->step) {
	case OPEN_CHANNEL:
		s->ch = libssh2_channel_open_session(s->ssh);
		if (s->ch == NULL)
			return sess_eagain(s) ? STEP_WAIT :
				sess_fail(s, SSHMCP_ERR_CHANNEL, "channel open failed");
		s->step = j->want_pty ? OPEN_PTY : OPEN_START;
		return STEP_AGAIN;
	case OPEN_PTY:
		rc = libssh2_channel_request_pty_ex(s->ch, j->term, (unsigned)strlen(j->term), NULL, 0,
		    j->cols, j->rows, 0, 0);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (rc != 0)
			return sess_fail(s, SSHMCP_ERR_CHANNEL, "PTY allocation request failed");
		s->step = OPEN_START;
		return STEP_AGAIN;
	case OPEN_START:
		rc = j->command != NULL ?
			libssh2_channel_process_startup(s->ch, "exec", 4, j->command,
			(unsigned)strlen(j->command)) :
			libssh2_channel_process_startup(s->ch, "shell", 5, NULL, 0);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (rc != 0)
			return sess_fail(s, SSHMCP_ERR_CHANNEL, "exec request failed");
		log_msg(s->log, LOG_DEBUG1, "Sending command: %s", j->command ? j->command : "(shell)");
		s->state = SESS_RUNNING;
		return STEP_AGAIN;
	}
	return STEP_FAIL;
}

/* Errors that mean the connection itself is gone, as opposed to one channel's state. */
static int sess_link_error(int rc)
{
	return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
	    rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
	    rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_DECRYPT ||
	    rc == LIBSSH2_ERROR_PROTO || rc == LIBSSH2_ERROR_OUT_OF_BOUNDARY;
}

/* Channel -> ring, for one stream, until the ring is full or libssh2 has nothing. */
static int sess_read_stream(struct sess *s, int stream)
{
	struct ring *r = &s->out[stream];

	while (ring_space(r) > 0) {
		size_t n;
		unsigned char *p = ring_wptr(r, &n);
		ssize_t got = libssh2_channel_read_ex(s->ch, stream, (char *)p, n);

		if (got == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (got < 0)
			return sess_link_error((int)got) ? (int)got : 0;
		if (got == 0)
			return 0;
		ring_commit(r, (size_t)got);
	}
	return 0;
}

/* Ring -> channel; then EOF once local stdin ended and everything went out. */
static int sess_write_stdin(struct sess *s)
{
	while (ring_used(&s->in) > 0) {
		size_t n;
		const unsigned char *p = ring_rptr(&s->in, &n);
		ssize_t w = libssh2_channel_write_ex(s->ch, 0, (const char *)p, n);

		if (w == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (w < 0 && !sess_link_error((int)w)) {
			/* The remote side closed its stdin (the command ended): drop the rest. */
			ring_consume(&s->in, ring_used(&s->in));
			s->in_eof = s->eof_sent = 1;
			return 0;
		}
		if (w < 0)
			return (int)w;
		ring_consume(&s->in, (size_t)w);
	}
	if (s->in_eof && !s->eof_sent) {
		int rc = libssh2_channel_send_eof(s->ch);

		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		s->eof_sent = 1;
	}
	return 0;
}

/* --timeout: TERM now, KILL after the grace period, then close whatever is left. */
static int sess_timeout(struct sess *s, int64_t now)
{
	if (!s->timed_out) {
		s->timed_out = 1;
		s->kill_deadline = now + SSHMCP_CLOSE_GRACE_MS;
		log_msg(s->log, LOG_DEBUG1, "timeout: sending TERM to the remote command");
		(void)libssh2_channel_signal_ex(s->ch, "TERM", 4);
		return 0;
	}
	if (now < s->kill_deadline)
		return 0;
	log_msg(s->log, LOG_DEBUG1, "timeout: sending KILL and closing the channel");
	(void)libssh2_channel_signal_ex(s->ch, "KILL", 4);
	s->state = SESS_CLOSING;
	s->step = CLOSE_CHANNEL;
	return 1;
}

static enum step_rc sess_running(struct sess *s, int64_t now)
{
	int rc, next;

	if (s->cmd_deadline > 0 && now >= s->cmd_deadline && sess_timeout(s, now))
		return STEP_AGAIN;
	if ((rc = sess_read_stream(s, 0)) < 0 || (rc = sess_read_stream(s, 1)) < 0 ||
	    (rc = (s->eof_sent && ring_used(&s->in) == 0) ? 0 : sess_write_stdin(s)) < 0)
		return sess_fail(s, SSHMCP_ERR_SESSION_LOST, "connection lost");
	if (s->t.alive_interval_s > 0 && now >= s->alive_at &&
	    libssh2_keepalive_send(s->ssh, &next) == 0)
		s->alive_at = now + (int64_t)next * 1000;
	/* EOF is masked by libssh2 while data is queued, so this is the true end of output. */
	if (libssh2_channel_eof(s->ch) == 1) {
		s->remote_eof = 1;
		s->state = SESS_CLOSING;
		s->step = CLOSE_WAIT;
		return STEP_AGAIN;
	}
	return STEP_WAIT;
}

static void sess_collect_status(struct sess *s)
{
	char *sig = NULL;
	size_t siglen = 0;

	s->exit_status = libssh2_channel_get_exit_status(s->ch);
	if (libssh2_channel_get_exit_signal(s->ch, &sig, &siglen, NULL, NULL, NULL, NULL) == 0 &&
	    sig != NULL) {
		(void)str_copy(s->exit_signal, sizeof(s->exit_signal), sig);
		libssh2_free(s->ssh, sig);
	}
}

/* CLOSING: the exit status comes before the remote CLOSE, so wait for that first. */
static enum step_rc sess_closing(struct sess *s, int64_t now)
{
	int rc;

	switch ((enum close_step)s->step) {
	case CLOSE_WAIT:
		rc = libssh2_channel_wait_closed(s->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN) {
			if (s->cmd_deadline > 0 && now >= s->cmd_deadline && !s->timed_out)
				(void)sess_timeout(s, now);
			else if (s->timed_out && now >= s->kill_deadline)
				s->step = CLOSE_CHANNEL;
			return s->step == CLOSE_WAIT ? STEP_WAIT : STEP_AGAIN;
		}
		sess_collect_status(s);
		s->step = CLOSE_CHANNEL;
		return STEP_AGAIN;
	case CLOSE_CHANNEL:
		rc = libssh2_channel_close(s->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (libssh2_channel_free(s->ch) == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		s->ch = NULL;
		s->step = CLOSE_DISCONNECT;
		return STEP_AGAIN;
	case CLOSE_DISCONNECT:
		rc = libssh2_session_disconnect(s->ssh, "closed by sshmcp");
		if (rc == LIBSSH2_ERROR_EAGAIN && now < s->kill_deadline + SSHMCP_CLOSE_GRACE_MS)
			return STEP_WAIT;
		s->state = SESS_DONE;
		return STEP_AGAIN;
	}
	return STEP_FAIL;
}

static int sess_init(struct sess *s, const struct job *j, const struct log *lg, int64_t now)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->job = j;
	s->log = lg;
	s->t_start = now;
	s->state = SESS_CONNECTING;
	if (ring_init(&s->out[0], SSHMCP_STREAM_RING) < 0 ||
	    ring_init(&s->out[1], SSHMCP_STREAM_RING) < 0 || ring_init(&s->in, SSHMCP_STDIN_RING) < 0)
		return -1;
	s->in_eof = !j->forward_stdin;
	return 0;
}

/* Start connecting once the target is resolved; deadlines run from here. */
static void sess_start(struct sess *s, int64_t now)
{
	s->deadline = now + (int64_t)s->t.connect_timeout_s * 1000;
	if (s->job->timeout_s > 0)
		s->cmd_deadline = now + (int64_t)s->job->timeout_s * 1000;
	s->kill_deadline = now;
}

static void sess_free(struct sess *s)
{
	auth_agent_close(s);
	if (s->ch != NULL)
		libssh2_channel_free(s->ch);
	if (s->ssh != NULL)
		libssh2_session_free(s->ssh);
	if (s->fd >= 0)
		close(s->fd);
	if (s->ai != NULL)
		freeaddrinfo(s->ai);
	mem_wipe(s->secret, sizeof(s->secret));
	ring_free(&s->out[0]);
	ring_free(&s->out[1]);
	ring_free(&s->in);
	target_free(&s->t);
	s->ch = NULL, s->ssh = NULL, s->fd = -1, s->ai = NULL;
}

/* Advance the state machine as far as it goes without blocking. */
static void sess_step(struct sess *s, int64_t now)
{
	enum step_rc rc = STEP_AGAIN;

	while (rc == STEP_AGAIN) {
		switch (s->state) {
		case SESS_CONNECTING: rc = conn_connecting(s, now); break;
		case SESS_HANDSHAKE: rc = conn_handshake(s, now); break;
		case SESS_AUTH: rc = auth_step(s, now); break;
		case SESS_OPENING: rc = sess_opening(s); break;
		case SESS_RUNNING: rc = sess_running(s, now); break;
		case SESS_CLOSING: rc = sess_closing(s, now); break;
		case SESS_DONE:
		case SESS_DEAD:
			return;
		}
		if (s->state >= SESS_OPENING && s->have_secret) {
			mem_wipe(s->secret, sizeof(s->secret));
			s->have_secret = 0;
		}
	}
	s->revents = 0;
	if (rc == STEP_FAIL) {
		if (s->err.code == SSHMCP_OK)
			err_set(&s->err, SSHMCP_ERR_INTERNAL, "session failed");
		s->state = SESS_DEAD;
	}
}

/* The poll interest of the session socket, from its state and libssh2's wishes. */
static short sess_events(const struct sess *s)
{
	short ev = 0;
	int dir;

	if (s->fd < 0 || s->state >= SESS_DONE)
		return 0;
	if (s->state == SESS_CONNECTING)
		return POLLOUT;
	/* A full output ring is backpressure: leave the data in the socket until it drains. */
	if (s->state != SESS_RUNNING || ring_space(&s->out[0]) > 0 || ring_space(&s->out[1]) > 0)
		ev |= POLLIN;
	dir = libssh2_session_block_directions(s->ssh);
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		ev |= POLLOUT;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		ev |= POLLIN;
	return ev;
}

/* The nearest deadline this session waits for, or INT64_MAX. */
static int64_t sess_deadline(const struct sess *s)
{
	int64_t d = INT64_MAX;

	if (s->state < SESS_RUNNING)
		d = s->deadline;
	if (s->cmd_deadline > 0 && !s->timed_out && s->state < SESS_DONE && s->cmd_deadline < d)
		d = s->cmd_deadline;
	if (s->timed_out && s->state < SESS_DONE && s->kill_deadline < d)
		d = s->kill_deadline;
	if (s->state == SESS_RUNNING && s->t.alive_interval_s > 0 && s->alive_at < d)
		d = s->alive_at;
	return d;
}

/* ============================================================ exec CLI === */

struct cli {
	struct log log;
	struct cfg_env env;
	struct cfg cfg;
	struct job job;
	struct sess sess;
	const char *fflag;          /* -F */
	const char *dest;
	int port;                   /* -p or ssh:// port, 0 when unset */
	char user[SSHMCP_USER_MAX]; /* -l or user@ */
	int tflag, Tflag, nflag;
	char *command;              /* words joined by spaces, as ssh does */
	int out_fd[2];              /* where remote stdout/stderr go */
	int out_flags[2];           /* original fcntl flags, restored at exit */
	int out_nonblock[2];        /* set O_NONBLOCK (pipes, sockets) */
	int out_broken[2];          /* EPIPE: keep draining, stop writing */
	int out_tty[2];             /* terminals: blocking, so small writes */
	int tty_raw;
	struct termios tio;
};

static void cli_usage(int fd)
{
	static const char text[] =
		"usage: sshmcp [serve] ...                       (MCP server on stdio)\n"
		"       sshmcp exec [-nqtTv] [-p port] [-l user] [-i identity] [-F ssh_config]\n"
		"                   [-E log_file] [-o Keyword=Value]... [--timeout sec]\n"
		"                   destination [command [argument ...]]\n"
		"       sshmcp --version | --help\n"
		"destination: [user@]host or ssh://[user@]host[:port]\n"
		"exit status: the remote command's; 255 connection, host key or auth failure;\n"
		"             124 --timeout expired; 2 usage error\n";

	(void)fd_write_all(fd, text, sizeof(text) - 1);
}

/* ssh://[user@]host[:port] — a path makes it an error, as in ssh. */
static int cli_parse_uri(struct cli *c, const char *uri, char *host, size_t cap)
{
	const char *p = uri + 6, *at = strrchr(p, '@'), *end;
	char portbuf[8];
	long port;

	if (strchr(p, '/') != NULL)
		return -1;
	if (at != NULL) {
		if (at == p || (size_t)(at - p) >= sizeof(c->user))
			return -1;
		if (c->user[0] == '\0') {
			memcpy(c->user, p, (size_t)(at - p));
			c->user[at - p] = '\0';
		}
		p = at + 1;
	}
	if (*p == '[') {                          /* [v6addr]:port */
		end = strchr(p, ']');
		if (end == NULL || (size_t)(end - p - 1) >= cap)
			return -1;
		memcpy(host, p + 1, (size_t)(end - p - 1));
		host[end - p - 1] = '\0';
		p = end + 1;
	} else {
		end = p + strcspn(p, ":");
		if ((size_t)(end - p) >= cap)
			return -1;
		memcpy(host, p, (size_t)(end - p));
		host[end - p] = '\0';
		p = end;
	}
	if (*p == ':') {
		if (str_copy(portbuf, sizeof(portbuf), p + 1) < 0 ||
		    str_to_int(portbuf, 1, 65535, &port) < 0)
			return -1;
		if (c->port == 0)
			c->port = (int)port;
	} else if (*p != '\0')
		return -1;
	return host[0] == '\0' ? -1 : 0;
}

static int cli_parse_dest(struct cli *c, const char *dest, struct target *t)
{
	const char *at;

	if (strncmp(dest, "ssh://", 6) == 0) {
		if (cli_parse_uri(c, dest, t->alias, sizeof(t->alias)) < 0)
			return -1;
	} else {
		at = strrchr(dest, '@');
		if (at == dest)
			return -1;
		if (at != NULL && c->user[0] == '\0') {
			if ((size_t)(at - dest) >= sizeof(c->user))
				return -1;
			memcpy(c->user, dest, (size_t)(at - dest));
			c->user[at - dest] = '\0';
		}
		if (str_copy(t->alias, sizeof(t->alias), at != NULL ? at + 1 : dest) < 0)
			return -1;
	}
	(void)str_copy(t->user, sizeof(t->user), c->user);
	t->port = c->port;
	return t->alias[0] == '\0' ? -1 : 0;
}

static int cli_join(struct cli *c, int argc, char **argv)
{
	size_t n = 0, i;
	int k;

	for (k = 0; k < argc; k++)
		n += strlen(argv[k]) + 1;
	if (argc == 0)
		return 0;
	if (n > SSHMCP_CMD_MAX || (c->command = malloc(n)) == NULL)
		return -1;
	for (i = 0, k = 0; k < argc; k++) {
		size_t len = strlen(argv[k]);

		memcpy(c->command + i, argv[k], len);
		i += len;
		c->command[i++] = (k + 1 < argc) ? ' ' : '\0';
	}
	return 0;
}

/* One option with an argument; `arg` is the rest of the word or the next word. */
static int cli_opt_arg(struct cli *c, char opt, const char *arg, struct err *e)
{
	char line[SSHMCP_LINE_MAX];
	long v;

	switch (opt) {
	case 'p':
		if (str_to_int(arg, 1, 65535, &v) < 0) {
			err_set(e, SSHMCP_ERR_USAGE, "Bad port '%s'", arg);
			return -1;
		}
		c->port = (int)v;
		return 0;
	case 'l':
		return str_copy(c->user, sizeof(c->user), arg);
	case 'i':
		if (str_fmt(line, sizeof(line), "IdentityFile \"%s\"", arg) < 0)
			return -1;
		return cfg_option(&c->cfg, line, e);
	case 'F':
		c->fflag = arg;
		return 0;
	case 'o':
		return cfg_option(&c->cfg, arg, e);
	case 'E':
		if (c->log.own_fd)
			close(c->log.fd);
		c->log.fd = open(arg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		c->log.own_fd = c->log.fd >= 0;
		if (c->log.fd < 0) {
			c->log.fd = STDERR_FILENO;
			err_set(e, SSHMCP_ERR_USAGE, "Couldn't open logfile %s: %s", arg, strerror(errno));
			return -1;
		}
		return 0;
	}
	return -1;
}

static int cli_long_opt(struct cli *c, int argc, char **argv, int *i, struct err *e)
{
	long v;

	if (strcmp(argv[*i], "--timeout") == 0 && *i + 1 < argc) {
		if (str_to_int(argv[++*i], 1, SSHMCP_MAX_TIMEOUT_S, &v) < 0) {
			err_set(e, SSHMCP_ERR_USAGE, "bad --timeout '%s'", argv[*i]);
			return -1;
		}
		c->job.timeout_s = (int)v;
		return 0;
	}
	err_set(e, SSHMCP_ERR_USAGE, "unknown option %s", argv[*i]);
	return -1;
}

/* Options, as ssh's getopt: flags may be bundled (-nT, -vvv), arguments attached (-p22). */
static int cli_parse_opts(struct cli *c, int argc, char **argv, int *i, struct err *e)
{
	for (; *i < argc && argv[*i][0] == '-' && argv[*i][1] != '\0'; (*i)++) {
		const char *a = argv[*i] + 1;

		if (strcmp(argv[*i], "--") == 0) {
			(*i)++;
			break;
		}
		if (a[0] == '-') {
			if (cli_long_opt(c, argc, argv, i, e) < 0)
				return -1;
			continue;
		}
		for (; *a != '\0'; a++) {
			if (strchr("nqtTv", *a) != NULL) {
				c->nflag |= *a == 'n';
				c->log.quiet |= *a == 'q';
				c->tflag += *a == 't';
				c->Tflag |= *a == 'T';
				c->log.level += (*a == 'v' && c->log.level < LOG_DEBUG3);
				continue;
			}
			if (strchr("plioFE", *a) == NULL) {
				err_set(e, SSHMCP_ERR_USAGE, "unknown option -- %c", *a);
				return -1;
			}
			if (a[1] == '\0' && *i + 1 >= argc) {
				err_set(e, SSHMCP_ERR_USAGE, "option requires an argument -- %c", *a);
				return -1;
			}
			if (cli_opt_arg(c, *a, a[1] != '\0' ? a + 1 : argv[++*i], e) < 0) {
				err_set(e, SSHMCP_ERR_USAGE, "bad argument to -%c", *a);
				return -1;
			}
			break;
		}
	}
	return 0;
}

/* exec [opts] destination [opts] [command...]: options may follow the destination, as in ssh. */
static int cli_parse(struct cli *c, int argc, char **argv, struct err *e)
{
	int i = 0;

	if (cli_parse_opts(c, argc, argv, &i, e) < 0)
		return -1;
	if (i >= argc) {
		err_set(e, SSHMCP_ERR_USAGE, "no destination");
		return -1;
	}
	c->dest = argv[i++];
	if (cli_parse_opts(c, argc, argv, &i, e) < 0)
		return -1;
	if (cli_join(c, argc - i, argv + i) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "command too long");
		return -1;
	}
	return 0;
}

/* Set up where output goes. Pipes and sockets become non-blocking (restored at exit). Ttys
 * stay blocking, since the parent shell shares them, and get writes of at most PIPE_BUF after
 * POLLOUT, so a write never stalls the loop; files and /dev/null never block. */
static void cli_local_init(struct cli *c)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct stat st;

		c->out_fd[k] = k == 0 ? STDOUT_FILENO : STDERR_FILENO;
		c->out_flags[k] = fcntl(c->out_fd[k], F_GETFL);
		c->out_nonblock[k] = c->out_flags[k] >= 0 && fstat(c->out_fd[k], &st) == 0 &&
			(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
		if (c->out_nonblock[k])
			(void)fd_set_flag(c->out_fd[k], O_NONBLOCK, 1);
		c->out_tty[k] = isatty(c->out_fd[k]);
	}
	if (c->job.want_pty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->tio) == 0) {
		struct termios raw = c->tio;

		cfmakeraw(&raw);
		c->tty_raw = tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
	}
}

static void cli_local_restore(struct cli *c)
{
	int k;

	for (k = 0; k < 2; k++)
		if (c->out_nonblock[k])
			(void)fcntl(c->out_fd[k], F_SETFL, c->out_flags[k]);
	if (c->tty_raw)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &c->tio);
	c->tty_raw = 0;
}

static void cli_read_stdin(struct cli *c)
{
	struct sess *s = &c->sess;
	size_t n;
	unsigned char *p = ring_wptr(&s->in, &n);
	ssize_t got;

	if (n == 0)
		return;
	got = read(STDIN_FILENO, p, n);
	if (got > 0)
		ring_commit(&s->in, (size_t)got);
	else if (got == 0 || (errno != EINTR && errno != EAGAIN))
		s->in_eof = 1;
}

static void cli_write_out(struct cli *c, int k)
{
	struct ring *r = &c->sess.out[k];
	size_t n;
	const unsigned char *p = ring_rptr(r, &n);
	ssize_t w;

	if (c->out_broken[k]) {
		ring_consume(r, ring_used(r));
		return;
	}
	if (c->out_tty[k] && n > SSHMCP_TTY_WRITE_MAX)
		n = SSHMCP_TTY_WRITE_MAX;
	w = write(c->out_fd[k], p, n);
	if (w > 0)
		ring_consume(r, (size_t)w);
	else if (w < 0 && errno != EAGAIN && errno != EINTR) {
		c->out_broken[k] = 1;      /* EPIPE: the reader left; the command still finishes */
		ring_consume(r, ring_used(r));
	}
}

/* ========================================================== event loop === */
/* prepare → poll → dispatch → reap, as redis' ae and mongoose do. */

enum loop_kind { LOOP_SESS, LOOP_STDIN, LOOP_STDOUT, LOOP_STDERR };

struct loop {
	struct pollfd pfd[SSHMCP_POLL_FDS_MAX];
	enum loop_kind kind[SSHMCP_POLL_FDS_MAX];
	void *owner[SSHMCP_POLL_FDS_MAX];
	int n;
	int64_t deadline;
};

static void loop_add(struct loop *l, int fd, short events, enum loop_kind kind, void *owner)
{
	if (events == 0 || fd < 0 || l->n >= SSHMCP_POLL_FDS_MAX)
		return;
	l->pfd[l->n] = (struct pollfd){ .fd = fd, .events = events };
	l->kind[l->n] = kind;
	l->owner[l->n++] = owner;
}

static void loop_prepare(struct loop *l, struct cli *c)
{
	struct sess *s = &c->sess;
	int64_t d;

	l->n = 0;
	l->deadline = INT64_MAX;
	loop_add(l, s->fd, sess_events(s), LOOP_SESS, s);
	if (!s->in_eof && ring_space(&s->in) > 0 && s->state <= SESS_RUNNING)
		loop_add(l, STDIN_FILENO, POLLIN, LOOP_STDIN, c);
	if (ring_used(&s->out[0]) > 0)
		loop_add(l, c->out_fd[0], POLLOUT, LOOP_STDOUT, c);
	if (ring_used(&s->out[1]) > 0)
		loop_add(l, c->out_fd[1], POLLOUT, LOOP_STDERR, c);
	d = sess_deadline(s);
	if (d < l->deadline)
		l->deadline = d;
}

/* Sleep until an fd is ready, the nearest deadline, or a signal (unblocked only in ppoll). */
static int loop_poll(struct loop *l, const sigset_t *waitmask)
{
	struct timespec ts, *tsp = NULL;
	int64_t now = time_ms(), wait;

	if (l->deadline != INT64_MAX) {
		wait = l->deadline > now ? l->deadline - now : 0;
		ts.tv_sec = (time_t)(wait / 1000);
		ts.tv_nsec = (long)(wait % 1000) * 1000000;
		tsp = &ts;
	}
	return ppoll(l->pfd, (nfds_t)l->n, tsp, waitmask);
}

static void loop_dispatch(struct loop *l, struct cli *c)
{
	int i;

	for (i = 0; i < l->n; i++) {
		short re = l->pfd[i].revents;

		if (re == 0)
			continue;
		switch (l->kind[i]) {
		case LOOP_SESS: ((struct sess *)l->owner[i])->revents = re; break;
		case LOOP_STDIN: cli_read_stdin(c); break;
		case LOOP_STDOUT: cli_write_out(c, 0); break;
		case LOOP_STDERR: cli_write_out(c, 1); break;
		}
	}
	/* Every session steps each turn: libssh2 may hold whole packets that the socket no
	 * longer signals, and a drained ring must resume reading without waiting for POLLIN. */
	sess_step(&c->sess, time_ms());
}

static void loop_on_signal(int sig)
{
	sig_caught = sig;
}

static void loop_signals(sigset_t *waitmask)
{
	struct sigaction sa = { .sa_handler = loop_on_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGHUP);
}

/* Run the exec session to its end; the loop leaves once output is flushed. */
static void loop_run(struct cli *c)
{
	struct loop l;
	sigset_t waitmask;
	struct sess *s = &c->sess;

	loop_signals(&waitmask);
	sess_step(s, time_ms());
	for (;;) {
		if (s->state >= SESS_DONE && ring_used(&s->out[0]) == 0 && ring_used(&s->out[1]) == 0)
			break;
		loop_prepare(&l, c);
		if (loop_poll(&l, &waitmask) < 0 && errno != EINTR)
			break;
		if (sig_caught != 0) {
			err_set(&s->err, SSHMCP_ERR_INTERNAL, "Killed by signal %d.", (int)sig_caught);
			break;
		}
		loop_dispatch(&l, c);
	}
}

/* ================================================================ main === */

static int cli_exit_status(struct cli *c)
{
	struct sess *s = &c->sess;

	if (s->err.code != SSHMCP_OK) {
		log_msg(&c->log, LOG_ERROR, "%s", s->err.msg);
		return err_table[s->err.code].exit_status;
	}
	if (s->timed_out) {
		log_msg(&c->log, LOG_INFO, "command timed out after %d s; remote command stopped",
		    c->job.timeout_s);
		return err_table[SSHMCP_ERR_TIMEOUT].exit_status;
	}
	/* Killed by a signal: no exit-status message, and ssh exits 255 then. */
	if (s->exit_signal[0] != '\0') {
		log_msg(&c->log, LOG_DEBUG1, "remote command killed by signal %s", s->exit_signal);
		return 255;
	}
	return s->exit_status;
}

static void cli_job(struct cli *c)
{
	struct winsize ws;
	const char *term = getenv("TERM");

	c->job.command = c->command;
	c->job.want_pty = c->Tflag ? 0 : c->tflag > 0 ? 1 :
		(c->command == NULL && isatty(STDIN_FILENO));
	c->job.term = term != NULL && *term != '\0' ? term : "vt100";
	c->job.cols = 80;
	c->job.rows = 24;
	if (isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		c->job.cols = ws.ws_col;
		c->job.rows = ws.ws_row;
	}
	c->job.forward_stdin = !c->nflag;
}

static int cli_exec(int argc, char **argv)
{
	struct cli c;
	struct err e = { .code = SSHMCP_OK };
	int status;

	memset(&c, 0, sizeof(c));
	c.log = (struct log){ .fd = STDERR_FILENO, .level = LOG_INFO };
	cfg_env_init(&c.env);
	if (cli_parse(&c, argc, argv, &e) < 0) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		cli_usage(STDERR_FILENO);
		status = 2;
		goto out;
	}
	cli_job(&c);
	if (sess_init(&c.sess, &c.job, &c.log, time_ms()) < 0 ||
	    cli_parse_dest(&c, c.dest, &c.sess.t) < 0) {
		err_set(&e, SSHMCP_ERR_USAGE, "bad destination '%s'", c.dest);
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		status = 2;
		goto out;
	}
	c.cfg.host = c.sess.t.alias;
	if (cfg_load(&c.cfg, &c.env, c.fflag, &e) < 0 ||
	    cfg_resolve(&c.cfg, &c.env, &c.sess.t, &e) < 0) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		status = err_table[e.code].exit_status;
		goto out;
	}
	sess_start(&c.sess, time_ms());
	cli_local_init(&c);
	loop_run(&c);
	cli_local_restore(&c);
	status = cli_exit_status(&c);
out:
	sess_free(&c.sess);
	cfg_free(&c.cfg);
	free(c.command);
	if (c.log.own_fd)
		close(c.log.fd);
	return status;
}

static void main_version(void)
{
	char line[512];

	if (str_fmt(line, sizeof(line), "sshmcp %s (%s; %s; runtime libssh2 %s)\n",
	    SSHMCP_VERSION, SSHMCP_DEP_LIBSSH2, SSHMCP_DEP_MBEDTLS, libssh2_version(0)) == 0)
		(void)fd_write_all(STDOUT_FILENO, line, strlen(line));
}

#ifndef SSHMCP_NO_MAIN
int main(int argc, char **argv)
{
	int status;

	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		main_version();
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		cli_usage(STDOUT_FILENO);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "exec") != 0) {
		cli_usage(STDERR_FILENO);
		return 2;
	}
	if (libssh2_init(0) != 0) {
		(void)fd_write_all(STDERR_FILENO, "sshmcp: libssh2_init failed\n", 28);
		return 255;
	}
	status = cli_exec(argc - 2, argv + 2);
	libssh2_exit();
	return status;
}
#endif
