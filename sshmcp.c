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
#include <glob.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <regex.h>
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
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <libssh2.h>
#include <libssh2_sftp.h>
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

/* Glob with '*' and '?'; `icase` folds case (known_hosts names do, Host patterns do not). */
static int str_glob_case(const char *pat, const char *s, int icase)
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
				if (str_glob_case(pat, s, icase))
					return 1;
			return 0;
		}
		if (*s == '\0')
			return 0;
		if (*pat != '?' && (icase ? tolower((unsigned char)*pat) != tolower((unsigned char)*s) :
		    *pat != *s))
			return 0;
		pat++;
		s++;
	}
}

static int str_glob(const char *pat, const char *s)
{
	return str_glob_case(pat, s, 1);
}

/* A comma-separated pattern list with '!' negation: -1 negated match, 1 match, 0 none. */
static int str_match_list_case(const char *list, const char *s, int icase)
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
			if (str_glob_case(pat, s, icase)) {
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

static int str_match_list(const char *list, const char *s)
{
	return str_match_list_case(list, s, 1);
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
	char tag[40];   /* "[req 7] ": serve tags a session's lines with the request they serve */
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
	pre = (level >= LOG_DEBUG1) ? snprintf(line, sizeof(line), "debug%d: %s", level - 1,
		lg->tag) : snprintf(line, sizeof(line), "sshmcp: %s", lg->tag);
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
	[SSHMCP_ERR_BUSY]            = { "SSHMCP_ERR_BUSY",            255 },
	[SSHMCP_ERR_REFUSED]         = { "SSHMCP_ERR_REFUSED",         255 },
	[SSHMCP_ERR_NOT_FOUND]       = { "SSHMCP_ERR_NOT_FOUND",       255 },
	[SSHMCP_ERR_INCOMPLETE]      = { "SSHMCP_ERR_INCOMPLETE",      255 },
	[SSHMCP_ERR_PERMISSION]      = { "SSHMCP_ERR_PERMISSION",      255 },
	[SSHMCP_ERR_IS_DIRECTORY]    = { "SSHMCP_ERR_IS_DIRECTORY",    255 },
	[SSHMCP_ERR_NO_SPACE]        = { "SSHMCP_ERR_NO_SPACE",        255 },
	[SSHMCP_ERR_TOO_LARGE]       = { "SSHMCP_ERR_TOO_LARGE",       255 },
	/* 1, as a shell's failed command: the device said no (exec --device-type). */
	[SSHMCP_ERR_DEVICE]          = { "SSHMCP_ERR_DEVICE",          1 },
	/* 126, as a shell says "found but cannot be run": the command never left this host. */
	[SSHMCP_ERR_POLICY]          = { "SSHMCP_ERR_POLICY",          126 },
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

/* Append, dropping the oldest bytes when full: command output keeps its newest megabyte. */
static void ring_append(struct ring *r, const void *data, size_t n)
{
	const unsigned char *p = data;

	if (n > r->cap) {
		r->head += n - r->cap;
		p += n - r->cap;
		n = r->cap;
	}
	while (n > 0) {
		size_t pos = (size_t)(r->head % r->cap), k = r->cap - pos < n ? r->cap - pos : n;

		memcpy(r->buf + pos, p, k);
		r->head += k;
		p += k;
		n -= k;
	}
	if (r->head - r->tail > r->cap)
		r->tail = r->head - r->cap;
}

/* Copy bytes [off, off + n) out; the caller keeps off within [tail, head]. */
static void ring_read_at(const struct ring *r, uint64_t off, unsigned char *out, size_t n)
{
	while (n > 0) {
		size_t pos = (size_t)(off % r->cap), k = r->cap - pos < n ? r->cap - pos : n;

		memcpy(out, r->buf + pos, k);
		off += k;
		out += k;
		n -= k;
	}
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
	CFG_PROXYJUMP, CFG_PROXYCOMMAND, CFG_HASHKNOWNHOSTS, CFG_SETENV, CFG_SENDENV,
	CFG_CERTIFICATEFILE, CFG_NKEYS
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
	{ "proxyjump", CFG_PROXYJUMP, CFG_STR },
	{ "proxycommand", CFG_PROXYCOMMAND, CFG_STR },
	{ "hashknownhosts", CFG_HASHKNOWNHOSTS, CFG_YESNO },
	{ "setenv", CFG_SETENV, CFG_STR },
	{ "sendenv", CFG_SENDENV, CFG_STR },
	{ "certificatefile", CFG_CERTIFICATEFILE, CFG_STR },
};

struct cfg {
	char *val[CFG_NKEYS];                    /* first obtained value, NULL when unset */
	char *ident[SSHMCP_MAX_IDENTITIES];      /* IdentityFile, in order obtained */
	int nident;
	char *certs[SSHMCP_MAX_IDENTITIES];      /* CertificateFile, in order obtained */
	int ncerts;
	const char *host;                        /* the host as the user named it (Host matching) */
	const char *user;                        /* -l or user@, for Match user */
	const char *luser;                       /* the local user, for Match localuser */
	const char *home;                        /* for Include ~ and relative paths */
	const char *fflag;                       /* -F: jump hosts resolve through it too */
	int depth;                               /* Include nesting */
};

/* Where a line came from, for "file:line: ..." errors. */
struct cfg_src {
	const char *file;
	int line;
	int active;                              /* inside a matching Host block */
	int system;                              /* /etc/ssh/ssh_config: relative Includes there */
};

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
	char *cert[SSHMCP_MAX_IDENTITIES];       /* CertificateFile i goes with IdentityFile i */
	int ncert;
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
	int hash_kh;                             /* HashKnownHosts: record hashed names */
	char proxy_command[SSHMCP_LINE_MAX];     /* expanded; "" for none */
	char proxy_jump[SSHMCP_LINE_MAX];        /* as configured; resolved into `jump` */
	struct target *jump;                     /* the hop this target is reached through */
	char setenv[SSHMCP_LINE_MAX];            /* SetEnv NAME=VALUE ... */
	char sendenv[SSHMCP_LINE_MAX];           /* SendEnv patterns */
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

static int cfg_read_file(struct cfg *c, const char *path, int active, int system,
    struct err *e);

static void cfg_free(struct cfg *c)
{
	int i;

	for (i = 0; i < CFG_NKEYS; i++)
		free(c->val[i]);
	for (i = 0; i < c->nident; i++)
		free(c->ident[i]);
	for (i = 0; i < c->ncerts; i++)
		free(c->certs[i]);
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
		int r = str_match_list_case(arg, c->host, 0);     /* Host patterns keep case */

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

/* ProxyCommand keeps its whole line; SetEnv and SendEnv accumulate over lines. */
static int cfg_raw_value(struct cfg *c, enum cfg_key k, const char *v,
    const struct cfg_src *src, const char *kw, struct err *e)
{
	char both[SSHMCP_LINE_MAX];

	if (*v == '\0') {
		err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: missing %s value", src->file, src->line, kw);
		return -1;
	}
	/* ProxyCommand and ProxyJump exclude each other: whichever comes first wins, as in
	 * ssh; SetEnv keeps its first line; only SendEnv accumulates. */
	if (c->val[k] != NULL && k != CFG_SENDENV)
		return 0;
	if (k == CFG_PROXYCOMMAND && c->val[CFG_PROXYJUMP] != NULL)
		return 0;
	if (c->val[k] != NULL) {
		if (str_fmt(both, sizeof(both), "%s %s", c->val[k], v) < 0)
			return 0;
		v = both;
	}
	free(c->val[k]);
	if ((c->val[k] = strdup(v)) == NULL) {
		err_set(e, SSHMCP_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

/* Match exec: run the command through /bin/sh; exit status 0 is a match. */
static int cfg_match_exec(const char *cmd)
{
	pid_t pid = fork();
	int st = 0, null;

	if (pid < 0)
		return 0;
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			(void)dup2(null, STDIN_FILENO);
			(void)dup2(null, STDOUT_FILENO);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* One Match criterion; `arg` NULL for all/canonical/final. */
static int cfg_match_one(struct cfg *c, const char *crit, const char *arg)
{
	char host[SSHMCP_HOST_MAX], cmd[SSHMCP_LINE_MAX];
	struct target t;
	struct cfg_env env;

	if (strcasecmp(crit, "all") == 0 || strcasecmp(crit, "canonical") == 0 ||
	    strcasecmp(crit, "final") == 0)
		return 1;                   /* one pass: final and canonical hold in it */
	if (arg == NULL)
		return -1;
	if (strcasecmp(crit, "originalhost") == 0)
		return str_match_list(arg, c->host) > 0;
	if (strcasecmp(crit, "localuser") == 0)
		return str_match_list(arg, c->luser != NULL ? c->luser : "") > 0;
	if (strcasecmp(crit, "user") == 0)
		return str_match_list(arg, c->user != NULL && *c->user ? c->user :
		    c->val[CFG_USER] != NULL ? c->val[CFG_USER] : c->luser ? c->luser : "") > 0;
	memset(&t, 0, sizeof(t));
	memset(&env, 0, sizeof(env));
	(void)str_copy(t.alias, sizeof(t.alias), c->host);
	(void)str_copy(t.host, sizeof(t.host), c->host);
	(void)str_copy(env.home, sizeof(env.home), c->home != NULL ? c->home : "/");
	(void)str_copy(env.luser, sizeof(env.luser), c->luser != NULL ? c->luser : "");
	if (c->val[CFG_HOSTNAME] == NULL ||
	    cfg_expand(&env, &t, c->val[CFG_HOSTNAME], host, sizeof(host)) < 0)
		(void)str_copy(host, sizeof(host), c->host);
	if (strcasecmp(crit, "host") == 0)
		return str_match_list(arg, host) > 0;
	if (strcasecmp(crit, "exec") == 0) {
		(void)str_copy(t.host, sizeof(t.host), host);
		(void)str_copy(t.user, sizeof(t.user), c->user != NULL && *c->user ? c->user :
		    c->val[CFG_USER] != NULL ? c->val[CFG_USER] : env.luser);
		t.port = (int)cfg_num(c, CFG_PORT, 22);
		return cfg_expand(&env, &t, arg, cmd, sizeof(cmd)) == 0 && cfg_match_exec(cmd);
	}
	if (strcasecmp(crit, "localnetwork") == 0 || strcasecmp(crit, "tagged") == 0)
		return 0;
	return -1;
}

/* Match criteria, all of which must hold; "!" negates one. */
static int cfg_match(struct cfg *c, char *args, const struct cfg_src *src, struct err *e)
{
	char *crit, *arg;
	int all = 1;

	while (cfg_next_arg(&args, &crit) == 0 && crit != NULL) {
		int neg = crit[0] == '!', r;
		const char *name = crit + neg;

		arg = NULL;
		if (strcasecmp(name, "all") != 0 && strcasecmp(name, "canonical") != 0 &&
		    strcasecmp(name, "final") != 0 && cfg_next_arg(&args, &arg) < 0)
			arg = NULL;
		if ((r = cfg_match_one(c, name, arg)) < 0) {
			err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: bad Match criteria '%s'", src->file,
			    src->line, crit);
			return -1;
		}
		if (r == neg)
			all = 0;
	}
	return all;
}

/* Include: globs, ~, and paths relative to ~/.ssh (or /etc/ssh for the system file). */
static int cfg_include(struct cfg *c, char *args, const struct cfg_src *src, struct err *e)
{
	char pat[SSHMCP_PATH_MAX], *arg;
	glob_t g;
	size_t i;
	int rc = 0;

	if (c->depth >= SSHMCP_CFG_INCLUDE_DEPTH) {
		err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: Include nested too deeply", src->file,
		    src->line);
		return -1;
	}
	while (rc == 0 && cfg_next_arg(&args, &arg) == 0 && arg != NULL) {
		if (arg[0] == '~' && arg[1] == '/')
			(void)str_fmt(pat, sizeof(pat), "%s%s", c->home != NULL ? c->home : "", arg + 1);
		else if (arg[0] == '/')
			(void)str_copy(pat, sizeof(pat), arg);
		else if (src->system)
			(void)str_fmt(pat, sizeof(pat), "/etc/ssh/%s", arg);
		else
			(void)str_fmt(pat, sizeof(pat), "%s/.ssh/%s", c->home != NULL ? c->home : "", arg);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;                   /* nothing matches: not an error, as in ssh */
		c->depth++;
		for (i = 0; rc == 0 && i < g.gl_pathc; i++)
			rc = cfg_read_file(c, g.gl_pathv[i], 1, src->system, e);
		c->depth--;
		globfree(&g);
	}
	return rc;
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
		int m = cfg_match(c, p, src, e);

		src->active = m > 0;
		return m < 0 ? -1 : 0;
	}
	if (strcasecmp(kw, "Include") == 0)
		return src->active ? cfg_include(c, p, src, e) : 0;
	k = cfg_keyword(kw);
	if (k < 0 || !src->active)
		return 0;
	if (cfg_keywords[k].key == CFG_PROXYCOMMAND || cfg_keywords[k].key == CFG_SETENV ||
	    cfg_keywords[k].key == CFG_SENDENV)
		return cfg_raw_value(c, cfg_keywords[k].key, p, src, kw, e);
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
	if (cfg_keywords[k].key == CFG_CERTIFICATEFILE) {
		if (c->ncerts < SSHMCP_MAX_IDENTITIES && (c->certs[c->ncerts] = strdup(val)) != NULL)
			c->ncerts++;
		return 0;
	}
	if (cfg_keywords[k].key == CFG_PROXYJUMP && c->val[CFG_PROXYCOMMAND] != NULL)
		return 0;
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
static int cfg_read_file(struct cfg *c, const char *path, int active, int system,
    struct err *e)
{
	char line[SSHMCP_LINE_MAX];
	struct cfg_src src = { .file = path, .line = 0, .active = active, .system = system };
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
	for (i = 0; i < t->ncert; i++)
		free(t->cert[i]);
	for (i = 0; i < t->nkh; i++)
		free(t->kh_file[i]);
	t->nident = t->nkh = t->ncert = 0;
	if (t->jump != NULL) {
		target_free(t->jump);
		free(t->jump);
		t->jump = NULL;
	}
}

static int cfg_resolve_names(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
{
	char tmp[SSHMCP_HOST_MAX];

	char *p;

	/* %h in HostName is the name as given: expand into tmp, not over t->host itself. */
	(void)str_copy(t->host, sizeof(t->host), t->alias);
	if (c->val[CFG_HOSTNAME] != NULL) {
		if (cfg_expand(env, t, c->val[CFG_HOSTNAME], tmp, sizeof(tmp)) < 0) {
			err_set(e, SSHMCP_ERR_CONFIG, "bad HostName \"%s\"", c->val[CFG_HOSTNAME]);
			return -1;
		}
		(void)str_copy(t->host, sizeof(t->host), tmp);
	}
	for (p = t->host; *p != '\0'; p++)     /* ssh lowercases the host it connects to */
		*p = (char)tolower((unsigned char)*p);
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
	for (i = 0; i < c->ncerts; i++)
		if (cfg_expand(env, t, c->certs[i], path, sizeof(path)) < 0 ||
		    cfg_add_path(t->cert, &t->ncert, SSHMCP_MAX_IDENTITIES, path) < 0)
			goto nomem;
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

static int cfg_resolve_policy(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
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
	/* BatchMode without ServerAliveInterval: ssh keeps the link checked every 300 s. */
	t->alive_interval_s = (int)cfg_num(c, CFG_SERVERALIVEINTERVAL,
	    cfg_yes(c, CFG_BATCHMODE, 0) ? 300 : 0);
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
	if (cfg_expand(env, t, agent, t->agent, sizeof(t->agent)) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad IdentityAgent \"%s\"", agent);
		return -1;
	}
	t->hash_kh = cfg_yes(c, CFG_HASHKNOWNHOSTS, 0);
	if (c->val[CFG_PROXYJUMP] != NULL && strcasecmp(c->val[CFG_PROXYJUMP], "none") != 0)
		(void)str_copy(t->proxy_jump, sizeof(t->proxy_jump), c->val[CFG_PROXYJUMP]);
	if (c->val[CFG_PROXYCOMMAND] != NULL && strcasecmp(c->val[CFG_PROXYCOMMAND], "none") != 0 &&
	    cfg_expand(env, t, c->val[CFG_PROXYCOMMAND], t->proxy_command,
	    sizeof(t->proxy_command)) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad ProxyCommand \"%s\"", c->val[CFG_PROXYCOMMAND]);
		return -1;
	}
	if (c->val[CFG_SETENV] != NULL)
		(void)str_copy(t->setenv, sizeof(t->setenv), c->val[CFG_SETENV]);
	if (c->val[CFG_SENDENV] != NULL)
		(void)str_copy(t->sendenv, sizeof(t->sendenv), c->val[CFG_SENDENV]);
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

static int cfg_load(struct cfg *c, const struct cfg_env *env, const char *fflag, struct err *e);
static int cfg_resolve(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e);

/*
 * ProxyJump "a,b,c": the target is reached through c, c through b, b through a. Each hop
 * is [user@]host[:port] resolved through the same ssh_config (its own Host block), but its
 * own ProxyJump gives way to the chain, as with ssh -J.
 */
static int cfg_resolve_jumps(const char *list, const struct cfg_env *env, const char *fflag,
    int depth, struct target **out, struct err *e)
{
	const char *last = strrchr(list, ','), *spec = last != NULL ? last + 1 : list;
	char hop[SSHMCP_HOST_MAX + SSHMCP_USER_MAX], *at, *colon;
	struct target *t;
	struct cfg c;
	long port = 0;
	int rc = -1;

	if (depth >= SSHMCP_JUMPS_MAX || str_copy(hop, sizeof(hop), spec) < 0 || hop[0] == '\0') {
		err_set(e, SSHMCP_ERR_CONFIG, "bad ProxyJump '%.80s'", list);
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	at = strrchr(hop, '@');
	colon = strrchr(at != NULL ? at : hop, ':');
	if (colon != NULL && (*colon = '\0', str_to_int(colon + 1, 1, 65535, &port) < 0)) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad port in ProxyJump '%s'", spec);
		goto out;
	}
	if (at != NULL)
		*at = '\0', (void)str_copy(t->user, sizeof(t->user), hop);
	(void)str_copy(t->alias, sizeof(t->alias), at != NULL ? at + 1 : hop);
	t->port = (int)port;
	c.host = t->alias;
	c.user = t->user;
	c.depth = depth + 1;
	if (cfg_option(&c, "ProxyJump none", e) < 0 || cfg_load(&c, env, fflag, e) < 0 ||
	    cfg_resolve(&c, env, t, e) < 0)
		goto out;
	if (last != NULL) {
		char rest[SSHMCP_LINE_MAX];

		(void)str_fmt(rest, sizeof(rest), "%.*s", (int)(last - list), list);
		if (cfg_resolve_jumps(rest, env, fflag, depth + 1, &t->jump, e) < 0)
			goto out;
	}
	rc = 0;
out:
	cfg_free(&c);
	if (rc < 0) {
		target_free(t);
		free(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

/* Fill `t` (alias, and user/port when given on the command line, already set) from `c`. */
static int cfg_resolve(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
{
	if (cfg_resolve_names(c, env, t, e) < 0 || cfg_resolve_files(c, env, t, e) < 0 ||
	    cfg_resolve_policy(c, env, t, e) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad configuration for %s", t->alias);
		return -1;
	}
	if (t->proxy_jump[0] != '\0' &&
	    cfg_resolve_jumps(t->proxy_jump, env, c->fflag, c->depth, &t->jump, e) < 0)
		return -1;
	return 0;
}

/* Load config for `host`: -o options already in `c`, then -F FILE, or user's then system. */
static int cfg_load(struct cfg *c, const struct cfg_env *env, const char *fflag, struct err *e)
{
	char path[SSHMCP_PATH_MAX];

	c->home = env->home;
	c->luser = env->luser;
	c->fflag = fflag;
	if (fflag != NULL) {
		if (strcasecmp(fflag, "none") == 0)
			return 0;
		if (access(fflag, R_OK) < 0) {
			err_set(e, SSHMCP_ERR_CONFIG, "can't open user config file %s: %s", fflag,
			    strerror(errno));
			return -1;
		}
		return cfg_read_file(c, fflag, 1, 0, e);
	}
	if (str_fmt(path, sizeof(path), "%s/.ssh/config", env->home) == 0 &&
	    cfg_read_file(c, path, 1, 0, e) < 0)
		return -1;
	return cfg_read_file(c, "/etc/ssh/ssh_config", 1, 1, e);
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

/* Add to `known` the configured algorithms that verify a key of `type`: ssh-rsa keys sign
 * with rsa-sha2-512/256. Only what the configuration allows is ever added. */
static void kh_pref_add(char *known, size_t cap, const char *configured, const char *type)
{
	static const char *const rsa[] = { "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa" };
	size_t i;

	for (i = 0; i < 3; i++) {
		const char *alg = strcmp(type, "ssh-rsa") == 0 ? rsa[i] : type;

		if (str_match_list(configured, alg) > 0 && str_match_list(known, alg) <= 0)
			(void)str_fmt(known + strlen(known), cap - strlen(known), "%s%s",
			    known[0] != '\0' ? "," : "", alg);
		if (strcmp(type, "ssh-rsa") != 0)
			break;
	}
}

/*
 * Host key algorithms to offer, the types already recorded for this host first: a host
 * known only by its ECDSA key must not be refused because the server prefers Ed25519.
 */
static void kh_pref_algs(const struct target *t, char *out, size_t cap)
{
	char line[SSHMCP_LINE_MAX * 4], known[SSHMCP_ALGS_MAX] = "";
	struct kh_line l;
	const char *p;
	size_t n;
	int i;

	for (i = 0; i < t->nkh; i++) {
		FILE *f = fopen(t->kh_file[i], "r");

		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			if (kh_split(line, &l) < 0 || l.marker != NULL ||
			    !kh_host_matches(l.hosts, t->kh_name))
				continue;
			kh_pref_add(known, sizeof(known), t->hostkey, l.type);
		}
		if (f != NULL)
			fclose(f);
	}
	/* Then the rest of the configured list, in its order. */
	for (p = t->hostkey; *p != '\0'; p += n + (p[n] == ',')) {
		char alg[128];

		n = strcspn(p, ",");
		if (n >= sizeof(alg))
			continue;
		memcpy(alg, p, n);
		alg[n] = '\0';
		kh_pref_add(known, sizeof(known), t->hostkey, alg);
	}
	(void)str_copy(out, cap, known);
}

/* HashKnownHosts: "|1|base64(salt)|base64(HMAC-SHA1(salt, name))", as ssh-keygen -H. */
static int kh_hash_name(const char *name, char *out, size_t cap)
{
	unsigned char salt[20], mac[20];
	char s64[32], m64[32];
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);

	if (md == NULL || getentropy(salt, sizeof(salt)) < 0 ||
	    mbedtls_md_hmac(md, salt, sizeof(salt), (const unsigned char *)name, strlen(name),
	    mac) != 0 || b64_encode(salt, sizeof(salt), s64, sizeof(s64), NULL) < 0 ||
	    b64_encode(mac, sizeof(mac), m64, sizeof(m64), NULL) < 0)
		return -1;
	return str_fmt(out, cap, "|1|%s|%s", s64, m64);
}

/* Append "name type base64" to the first user known_hosts file (accept-new). */
static int kh_append(const struct target *t, const char *type, const unsigned char *blob,
    size_t n, struct err *e)
{
	char b64[SSHMCP_KEYBLOB_MAX * 2], dir[SSHMCP_PATH_MAX], name[SSHMCP_HOST_MAX + 64], *slash;
	const char *path = t->nkh_user > 0 ? t->kh_file[0] : NULL;
	struct stat st;
	int fd, rc = -1, need_nl = 0;

	(void)str_copy(name, sizeof(name), t->kh_name);
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
	if (t->hash_kh && kh_hash_name(t->kh_name, name, sizeof(name)) < 0) {
		close(fd);
		err_set(e, SSHMCP_ERR_HOSTKEY_UNKNOWN, "can't hash the host name for %s", path);
		return -1;
	}
	if ((need_nl && fd_write_all(fd, "\n", 1) < 0) ||
	    fd_write_all(fd, name, strlen(name)) < 0 ||
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
	SESS_READY,        /* a jump host: authenticated, carrying tunnels, no channel of its own */
	SESS_RUNNING,      /* moving bytes both ways */
	SESS_CLOSING,      /* waiting for the remote close, exit status, disconnect */
	SESS_DONE,         /* finished; exit status known */
	SESS_DEAD          /* failed; `err` says why */
};

enum hs_step { HS_KEX, HS_ASK };
enum auth_step { AUTH_LIST, AUTH_AGENT, AUTH_KEYS, AUTH_PASSWORD, AUTH_KBDINT, AUTH_FAILED };
enum open_step { OPEN_CHANNEL, OPEN_PTY, OPEN_ENV, OPEN_START };
enum close_step { CLOSE_WAIT, CLOSE_CHANNEL, CLOSE_DISCONNECT };

/* What to run once connected. */
struct job {
	const char *command;        /* NULL: interactive shell */
	int want_pty;
	const char *term;
	int cols, rows;
	int forward_stdin;
	int timeout_s;              /* 0: none */
	int tunnel;                 /* a jump host: stop at READY */
};

struct sess {
	enum sess_state state;
	int step;                   /* sub-step of the state: auth_step, open_step, close_step */
	struct target t;
	const struct job *job;
	const struct log *log;
	struct log logc;            /* serve: the owner's log with this session's tag */
	struct err err;

	struct addrinfo *ai, *ai_cur;
	int fd;
	short revents;              /* from the last poll, for the connect check */
	LIBSSH2_SESSION *ssh;
	LIBSSH2_CHANNEL *ch;
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *agent_id;
	int ident_i;
	int key_phase;              /* 0: with the key's certificate, 1: the key alone */
	int key_prompted;           /* asked for this key's passphrase already */

	char authlist[256];
	char tried[256];            /* methods tried, for the failure message */
	char keynote[SSHMCP_PATH_MAX + 128]; /* why an identity file could not be used */
	char secret[SSHMCP_SECRET_MAX];
	int have_secret;
	char passphrase[SSHMCP_SECRET_MAX];     /* for encrypted identity files */

	int64_t t_start;
	int64_t deadline;           /* connect/auth step deadline */
	int64_t cmd_deadline;       /* --timeout */
	int64_t kill_deadline;      /* TERM sent: KILL and close after this */
	int64_t close_deadline;     /* CLOSE sent: give up on the answer after this */
	int64_t alive_at;           /* next keepalive */
	int64_t last_rx;            /* bytes last came from the server (dead-link detection) */
	int hk_ask;                 /* an unknown host key may be put to the MCP client */
	int hk_asked;               /* the question went out */
	int hk_decision;            /* 1 trust, -1 refuse, 0 no answer yet */
	char hk_question[512];

	struct ring out[2];         /* remote stdout, stderr -> local */
	struct ring in;             /* local stdin -> remote */
	pid_t proxy_pid;            /* ProxyCommand child */
	struct sess *via;           /* ProxyJump: the hop we tunnel through (owned) */
	struct job via_job;
	LIBSSH2_CHANNEL *tun;       /* direct-tcpip on via, carrying our SSH stream */
	int tun_fd;                 /* our end of the socketpair libssh2 reads as its socket */
	struct ring tun_up, tun_down;   /* socketpair -> channel, channel -> socketpair */
	int env_i;                  /* OPEN_ENV: the next SetEnv/SendEnv variable */
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

/* ProxyCommand: /bin/sh runs it with one end of a socketpair as stdin and stdout; the
 * other end is our socket. */
static enum step_rc conn_proxy_command(struct sess *s)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err_set(&s->err, SSHMCP_ERR_CONNECT, "ProxyCommand: socketpair: %s", strerror(errno));
		return STEP_FAIL;
	}
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		err_set(&s->err, SSHMCP_ERR_CONNECT, "ProxyCommand: fork: %s", strerror(errno));
		return STEP_FAIL;
	}
	if (pid == 0) {
		(void)dup2(sv[1], STDIN_FILENO);
		(void)dup2(sv[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", s->t.proxy_command, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	(void)fd_set_flag(sv[0], O_NONBLOCK, 1);
	s->fd = sv[0];
	s->proxy_pid = pid;
	log_msg(s->log, LOG_DEBUG1, "Executing proxy command: %s", s->t.proxy_command);
	s->state = SESS_HANDSHAKE;
	return STEP_AGAIN;
}

static void sess_free(struct sess *s);
static void sess_step(struct sess *s, int64_t now);
static int sess_init(struct sess *s, const struct job *j, const struct log *lg, size_t in_cap,
    int64_t now);
static void sess_start(struct sess *s, int64_t now);

/* ProxyJump: bring the hop up (it may have hops of its own), then a direct-tcpip channel
 * through it to our host; our libssh2 session talks over a socketpair we pump. */
static enum step_rc conn_jump(struct sess *s, int64_t now)
{
	int sv[2];

	if (s->via == NULL) {
		s->via_job = (struct job){ .tunnel = 1 };
		if ((s->via = calloc(1, sizeof(*s->via))) == NULL ||
		    sess_init(s->via, &s->via_job, s->log, SSHMCP_STDIN_RING, now) < 0)
			return sess_fail(s, SSHMCP_ERR_NOMEM, "out of memory");
		s->via->t = *s->t.jump;             /* the hop's target moves to its session */
		free(s->t.jump);
		s->t.jump = NULL;
		sess_start(s->via, now);
	}
	sess_step(s->via, now);
	if (s->via->state == SESS_DEAD) {
		err_set(&s->err, s->via->err.code, "jump host %s: %s", s->via->t.alias, s->via->err.msg);
		return STEP_FAIL;
	}
	if (s->via->state != SESS_READY) {
		s->deadline = now + (int64_t)s->t.connect_timeout_s * 1000;
		return STEP_WAIT;
	}
	s->tun = libssh2_channel_direct_tcpip_ex(s->via->ssh, s->t.host, s->t.port, "127.0.0.1", 22);
	if (s->tun == NULL) {
		if (libssh2_session_last_errno(s->via->ssh) == LIBSSH2_ERROR_EAGAIN)
			return now < s->deadline ? STEP_WAIT :
				sess_fail(s, SSHMCP_ERR_CONNECT, "jump channel timed out");
		err_set(&s->err, SSHMCP_ERR_CONNECT, "jump host %s refused a channel to %s port %d",
		    s->via->t.alias, s->t.host, s->t.port);
		return STEP_FAIL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    ring_init(&s->tun_up, SSHMCP_IO_CHUNK) < 0 || ring_init(&s->tun_down, SSHMCP_IO_CHUNK) < 0)
		return sess_fail(s, SSHMCP_ERR_NOMEM, "socketpair");
	(void)fd_set_flag(sv[0], O_NONBLOCK, 1);
	(void)fd_set_flag(sv[1], O_NONBLOCK, 1);
	s->fd = sv[0];
	s->tun_fd = sv[1];
	log_msg(s->log, LOG_DEBUG1, "Tunnel to %s port %d through %s", s->t.host, s->t.port,
	    s->via->t.alias);
	s->state = SESS_HANDSHAKE;
	return STEP_AGAIN;
}

/* Move bytes between the jump channel and our socketpair, both ways, as far as they go. */
static void conn_pump(struct sess *s)
{
	size_t n;
	ssize_t k;

	if (s->tun == NULL || s->tun_fd < 0)
		return;
	while (ring_space(&s->tun_down) > 0) {           /* channel -> socketpair */
		unsigned char *w = ring_wptr(&s->tun_down, &n);

		if ((k = libssh2_channel_read(s->tun, (char *)w, n)) <= 0)
			break;
		ring_commit(&s->tun_down, (size_t)k);
	}
	while (ring_used(&s->tun_down) > 0) {
		const unsigned char *r = ring_rptr(&s->tun_down, &n);

		if ((k = write(s->tun_fd, r, n)) <= 0)
			break;
		ring_consume(&s->tun_down, (size_t)k);
	}
	while (ring_space(&s->tun_up) > 0) {             /* socketpair -> channel */
		unsigned char *w = ring_wptr(&s->tun_up, &n);

		if ((k = read(s->tun_fd, w, n)) <= 0)
			break;
		ring_commit(&s->tun_up, (size_t)k);
	}
	while (ring_used(&s->tun_up) > 0) {
		const unsigned char *r = ring_rptr(&s->tun_up, &n);

		if ((k = libssh2_channel_write(s->tun, (const char *)r, n)) <= 0)
			break;
		ring_consume(&s->tun_up, (size_t)k);
	}
	if (libssh2_channel_eof(s->tun) == 1 && ring_used(&s->tun_down) == 0)
		(void)shutdown(s->tun_fd, SHUT_WR);     /* the far end closed: our session sees EOF */
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

	if (s->t.jump != NULL || s->via != NULL)
		return conn_jump(s, now);
	if (s->fd < 0 && s->t.proxy_command[0] != '\0')
		return conn_proxy_command(s);
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
	    libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_CRYPT_SC, s->t.cipher) != 0 ||
	    libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_SIGN_ALGO, s->t.pubkey) != 0) {
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
	if (s->t.strict == KH_STRICT_YES && s->hk_ask) {
		/* serve: the MCP client asks its user (elicitation); we wait for the answer. */
		(void)str_fmt(s->hk_question, sizeof(s->hk_question), "The %s host key of %s is not "
		    "known: %s. Trust it and record it in known_hosts?", ktype, s->t.kh_name, fp);
		s->step = HS_ASK;
		s->deadline = time_ms() + SSHMCP_ELICIT_MS;
		return STEP_WAIT;
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

/* libssh2's reads go through here so we know when the server last said anything: a link
 * that stays silent through ServerAliveCountMax keepalives is dead. Same contract as
 * libssh2's own: bytes read, or -errno. */
static LIBSSH2_RECV_FUNC(conn_recv)
{
	struct sess *s = *abstract;
	ssize_t n = recv(socket, buffer, length, flags);

	if (n < 0 && errno != EAGAIN)
		log_msg(s->log, LOG_DEBUG1, "recv: %s", strerror(errno));
	if (n < 0)
		return -(errno == EWOULDBLOCK ? EAGAIN : errno);
	if (n > 0)
		s->last_rx = time_ms();
	return n;
}

/* The client's answer about an unknown host key arrived (or did not, by the deadline). */
static enum step_rc conn_hostkey_answer(struct sess *s, int64_t now)
{
	size_t len = 0;
	int type;
	const unsigned char *blob;
	char ktype[64];

	if (s->hk_decision == 0)
		return now < s->deadline ? STEP_WAIT : sess_fail(s, SSHMCP_ERR_HOSTKEY_UNKNOWN,
		    "the host key was not confirmed in time");
	if (s->hk_decision < 0) {
		err_set(&s->err, SSHMCP_ERR_HOSTKEY_UNKNOWN, "the host key of %s was declined: %s",
		    s->t.kh_name, s->hk_question);
		return STEP_FAIL;
	}
	blob = (const unsigned char *)libssh2_session_hostkey(s->ssh, &len, &type);
	if (blob == NULL || kh_blob_type(blob, len, ktype, sizeof(ktype)) < 0 ||
	    kh_append(&s->t, ktype, blob, len, &s->err) < 0)
		return STEP_FAIL;
	log_msg(s->log, LOG_INFO, "host key of %s confirmed by the client and recorded",
	    s->t.kh_name);
	return STEP_AGAIN;
}

/* ================================================== libssh2's memory === */
/* libssh2 allocates one buffer per packet it reads (32 KiB and more in a bulk transfer) and
 * frees it once the channel has read it out. musl's malloc gives a freed block of that size
 * straight back to the kernel: a 200 MB download cost 6,200 mmap and munmap calls and the
 * page faults of refilling each buffer, most of sshmcp's system time. So libssh2 allocates
 * through conn_alloc/conn_free/conn_realloc: a request up to the largest size class gets a
 * block of the class size (conn_class_size), and a freed block waits on its class's list for
 * the next packet, SSHMCP_HEAP_CACHE bytes at most, so memory does not grow with the output.
 * The bound holds a full channel window of packets: when the server sends faster than
 * stdout drains, libssh2 queues the whole 2 MiB window (72 packet buffers measured), frees
 * them as they are read, and allocates as many again; a smaller cache sent most of them
 * back to musl (madvise, then page faults: 0.3 s more system time per 200 MB). The cache
 * never raises the peak (it only keeps what libssh2 had in use at once); it keeps it until
 * the session ends. Every block is a plain malloc() block, whose size
 * malloc_usable_size() tells: libssh2 also frees memory we did not allocate (the strdup()ed
 * keyboard-interactive answers), and that must work too.
 *
 * The lists belong to one libssh2 session. The first block a session asks for is the
 * LIBSSH2_SESSION itself (libssh2_session_init_ex allocates nothing else before it returns,
 * while s->ssh is still NULL): the lists are allocated in front of it, found again from
 * s->ssh, and emptied and freed with it, the last thing libssh2_session_free frees. Under
 * ASan a cached block is poisoned, so a use after free in libssh2 is still reported. */
#include <malloc.h>                 /* malloc_usable_size (glibc and musl) */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define CONN_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define CONN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define CONN_POISON(p, n)   ((void)(p), (void)(n))
#define CONN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

_Static_assert(SSHMCP_HEAP_CACHE >= LIBSSH2_CHANNEL_WINDOW_DEFAULT / 4 * 5,
    "the cache holds a receive window of packets (40 KiB blocks for 32 KiB packets)");
_Static_assert(((size_t)1 << (SSHMCP_HEAP_MIN_SHIFT + (SSHMCP_HEAP_CLASSES - 1) / 4)) / 4 *
    (4 + (SSHMCP_HEAP_CLASSES - 1) % 4) >= LIBSSH2_PACKET_MAXPAYLOAD,
    "a packet's buffer fits the largest size class (conn_class_size)");

struct conn_free_blk {              /* the start of a block on a list */
	struct conn_free_blk *next;
};

struct conn_heap {                  /* in front of the LIBSSH2_SESSION */
	struct conn_free_blk *free[SSHMCP_HEAP_CLASSES];
	size_t cached;                  /* usable bytes of the blocks on the lists */
	_Alignas(max_align_t) unsigned char session[];
};

/* Four classes per power of two (64, 80, 96, 112, 128, 160, ...), so a block is at most a
 * quarter larger than asked for: a 32.8 KiB packet buffer gets 40 KiB. */
static size_t conn_class_size(size_t c)
{
	size_t base = (size_t)1 << (SSHMCP_HEAP_MIN_SHIFT + c / 4);

	return base + base / 4 * (c % 4);
}

/* The smallest class that holds n bytes; SSHMCP_HEAP_CLASSES if none does. */
static size_t conn_class_for(size_t n)
{
	size_t c = 0;

	while (c < SSHMCP_HEAP_CLASSES && conn_class_size(c) < n)
		c++;
	return c;
}

static struct conn_heap *conn_heap_of(void *session)
{
	return (struct conn_heap *)(void *)((unsigned char *)session -
	    offsetof(struct conn_heap, session));
}

static LIBSSH2_ALLOC_FUNC(conn_alloc)
{
	const struct sess *s = *abstract;
	struct conn_heap *h;
	struct conn_free_blk *b;
	size_t c = conn_class_for(count);

	if (s->ssh == NULL) {
		if (count > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + count)) == NULL)
			return NULL;
		memset(h, 0, sizeof(*h));
		return h->session;
	}
	if (c == SSHMCP_HEAP_CLASSES)
		return malloc(count);
	h = conn_heap_of(s->ssh);
	if ((b = h->free[c]) == NULL)
		return malloc(conn_class_size(c));
	CONN_UNPOISON(b, malloc_usable_size(b));
	h->free[c] = b->next;
	h->cached -= malloc_usable_size(b);
	return b;
}

/* Onto a list if the block's usable size puts it in a class and the cache has room. */
static LIBSSH2_FREE_FUNC(conn_free)
{
	const struct sess *s = *abstract;
	struct conn_heap *h;
	struct conn_free_blk *b = ptr;
	size_t c, n, i;

	if (ptr == NULL)
		return;
	if (s->ssh == NULL || ptr == (void *)s->ssh) {      /* the session: the lists go too */
		h = conn_heap_of(ptr);
		for (i = 0; i < SSHMCP_HEAP_CLASSES; i++)
			while ((b = h->free[i]) != NULL) {
				CONN_UNPOISON(b, malloc_usable_size(b));
				h->free[i] = b->next;
				free(b);
			}
		free(h);
		return;
	}
	h = conn_heap_of(s->ssh);
	n = malloc_usable_size(ptr);
	for (c = SSHMCP_HEAP_CLASSES; c > 0 && conn_class_size(c - 1) > n; c--)
		;
	if (c == 0 || n >= 2 * conn_class_size(SSHMCP_HEAP_CLASSES - 1) ||
	    n > SSHMCP_HEAP_CACHE - h->cached) {
		free(ptr);
		return;
	}
	b->next = h->free[c - 1];
	h->free[c - 1] = b;
	h->cached += n;
	CONN_POISON(b, n);
}

static LIBSSH2_REALLOC_FUNC(conn_realloc)
{
	void *p;

	if (ptr == NULL)
		return conn_alloc(count, abstract);
	if (count <= malloc_usable_size(ptr))
		return ptr;
	if ((p = conn_alloc(count, abstract)) == NULL)
		return NULL;
	memcpy(p, ptr, malloc_usable_size(ptr));
	conn_free(ptr, abstract);
	return p;
}

static enum step_rc conn_handshake(struct sess *s, int64_t now)
{
	const char *cipher;
	int rc, aead;
	enum step_rc hk;

	if (s->step == HS_ASK) {
		if ((hk = conn_hostkey_answer(s, now)) != STEP_AGAIN)
			return hk;
		goto authenticate;
	}
	if (s->ssh == NULL) {
		s->ssh = libssh2_session_init_ex(conn_alloc, conn_free, conn_realloc, s);
		if (s->ssh == NULL)
			return sess_fail(s, SSHMCP_ERR_NOMEM, "libssh2_session_init");
		libssh2_session_set_blocking(s->ssh, 0);
		(void)libssh2_session_callback_set2(s->ssh, LIBSSH2_CALLBACK_RECV,
		    (libssh2_cb_generic *)conn_recv);
		s->last_rx = now;
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
	cipher = libssh2_session_methods(s->ssh, LIBSSH2_METHOD_CRYPT_CS);
	aead = cipher != NULL && (strstr(cipher, "poly1305") != NULL || strstr(cipher, "gcm") != NULL);
	log_msg(s->log, LOG_DEBUG1, "kex: %s, host key: %s, cipher: %s, mac: %s",
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_KEX),
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_HOSTKEY), cipher,
	    aead ? "<implicit>" : libssh2_session_methods(s->ssh, LIBSSH2_METHOD_MAC_CS));
	if ((hk = conn_hostkey(s)) != STEP_AGAIN)
		return hk;
authenticate:
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

static void auth_key_next(struct sess *s)
{
	if (s->key_prompted)            /* typed for that key; a tool's passphrase stays */
		mem_wipe(s->passphrase, sizeof(s->passphrase));
	s->ident_i++;
	s->key_phase = 0;
	s->key_prompted = 0;
}

/* An encrypted key and no passphrase yet: ask on the terminal once (exec, not BatchMode). */
static int auth_key_prompt(struct sess *s, const char *priv)
{
	char prompt[SSHMCP_PATH_MAX + 40];

	if (s->key_prompted || s->t.batch_mode || s->passphrase[0] != '\0' ||
	    getenv("SSHMCP_PASSPHRASE") != NULL)
		return 0;
	s->key_prompted = 1;
	(void)str_fmt(prompt, sizeof(prompt), "Enter passphrase for key '%s': ", priv);
	return auth_tty_prompt(prompt, s->passphrase, sizeof(s->passphrase)) == 0 &&
		s->passphrase[0] != '\0';
}

/*
 * Identity files, each tried first with its certificate (KEY-cert.pub: the server sees the
 * certificate, the key signs) and then alone. No .pub is read: the public key is derived
 * from the private one, so a missing or stale .pub beside the key never matters.
 */
static enum step_rc auth_keys(struct sess *s, int *done)
{
	char cert[SSHMCP_PATH_MAX + 16];

	*done = 0;
	if (!s->t.try_pubkey || !strstr(s->authlist, "publickey"))
		return STEP_AGAIN;
	while (s->ident_i < s->t.nident) {
		const char *priv = s->t.ident[s->ident_i];
		const char *pass = s->passphrase[0] != '\0' ? s->passphrase :
			getenv("SSHMCP_PASSPHRASE");
		int rc, loadfail;

		if (access(priv, R_OK) < 0) {
			if (s->t.ident_explicit)
				log_msg(s->log, LOG_INFO, "Warning: Identity file %s not accessible: %s.",
				    priv, strerror(errno));
			auth_key_next(s);
			continue;
		}
		/* KEY-cert.pub beside the key, else the CertificateFile given with it. */
		if (s->key_phase == 0 && (str_fmt(cert, sizeof(cert), "%s-cert.pub", priv) < 0 ||
		    access(cert, R_OK) < 0) && (s->ident_i >= s->t.ncert ||
		    str_copy(cert, sizeof(cert), s->t.cert[s->ident_i]) < 0 || access(cert, R_OK) < 0))
			s->key_phase = 1;
		tried_add(s, "publickey");
		rc = libssh2_userauth_publickey_fromfile_ex(s->ssh, s->t.user,
		    (unsigned)strlen(s->t.user), s->key_phase == 0 ? cert : NULL, priv, pass);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (rc == 0) {
			log_msg(s->log, LOG_DEBUG1, "Authenticated with key %s%s", priv,
			    s->key_phase == 0 ? " and its certificate" : "");
			*done = 1;
			return STEP_AGAIN;
		}
		loadfail = rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED;
		if (loadfail && auth_key_prompt(s, priv))
			continue;                   /* the same key again, with the passphrase */
		if (loadfail && s->keynote[0] == '\0')
			(void)str_fmt(s->keynote, sizeof(s->keynote), "; could not load %s: wrong or "
			    "missing passphrase (SSHMCP_PASSPHRASE) or unsupported key format", priv);
		log_msg(s->log, LOG_DEBUG1, "key %s%s: %s (%d)", priv, s->key_phase == 0 ?
		    " with certificate" : "", loadfail ? "could not be loaded" : "refused", rc);
		if (s->key_phase == 0)
			s->key_phase = 1;           /* the plain key next */
		else
			auth_key_next(s);
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
		err_set(&s->err, SSHMCP_ERR_AUTH, "%s@%s: Permission denied (%s); tried: %s%s",
		    s->t.user, s->t.host, s->authlist, s->tried[0] != '\0' ? s->tried : "nothing",
		    s->keynote);
		return STEP_FAIL;
	}
	if (rc != STEP_AGAIN)
		return rc;
	if (done) {
		auth_banner(s);
		s->state = s->job->tunnel ? SESS_READY : SESS_OPENING;
		s->step = OPEN_CHANNEL;
	} else
		s->step++;
	return STEP_AGAIN;
}

/* ============================================== channel and session === */

extern char **environ;

/* The k-th variable to send: SetEnv's NAME=VALUE words first, then the local variables
 * SendEnv's patterns name. 0 when there is none left. */
static int sess_env_item(const struct sess *s, int k, char *out, size_t cap)
{
	char buf[SSHMCP_LINE_MAX], *p = buf, *w;
	char **e;

	(void)str_copy(buf, sizeof(buf), s->t.setenv);
	while (cfg_next_arg(&p, &w) == 0 && w != NULL)
		if (strchr(w, '=') != NULL && k-- == 0)
			return str_copy(out, cap, w) == 0;
	for (e = environ; s->t.sendenv[0] != '\0' && *e != NULL; e++) {
		char name[256];
		size_t n = strcspn(*e, "=");
		int hit = 0;

		if (n >= sizeof(name))
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		(void)str_copy(buf, sizeof(buf), s->t.sendenv);
		for (p = buf; !hit && cfg_next_arg(&p, &w) == 0 && w != NULL;)
			hit = str_glob(w, name);
		if (hit && k-- == 0)
			return str_copy(out, cap, *e) == 0;
	}
	return 0;
}

/* SetEnv and SendEnv: one env request each; a server that refuses one (no AcceptEnv) is
 * not an error, as with ssh. */
static enum step_rc sess_env(struct sess *s)
{
	char item[SSHMCP_LINE_MAX];

	while (sess_env_item(s, s->env_i, item, sizeof(item))) {
		size_t n = strcspn(item, "=");
		int rc = libssh2_channel_setenv_ex(s->ch, item, (unsigned)n, item + n + 1,
		    (unsigned)strlen(item + n + 1));

		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		log_msg(s->log, LOG_DEBUG1, "env %.*s %s", (int)n, item, rc == 0 ? "set" : "refused");
		s->env_i++;
	}
	s->step = OPEN_START;
	return STEP_AGAIN;
}

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
		s->step = j->want_pty ? OPEN_PTY : OPEN_ENV;
		return STEP_AGAIN;
	case OPEN_PTY:
		rc = libssh2_channel_request_pty_ex(s->ch, j->term, (unsigned)strlen(j->term), NULL, 0,
		    j->cols, j->rows, 0, 0);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (rc != 0)
			return sess_fail(s, SSHMCP_ERR_CHANNEL, "PTY allocation request failed");
		s->step = OPEN_ENV;
		return STEP_AGAIN;
	case OPEN_ENV:
		return sess_env(s);
	case OPEN_START:
		rc = j->command != NULL ?
			libssh2_channel_process_startup(s->ch, "exec", 4, j->command,
			(unsigned)strlen(j->command)) :
			libssh2_channel_process_startup(s->ch, "shell", 5, NULL, 0);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (rc != 0)
			return sess_fail(s, SSHMCP_ERR_CHANNEL, "exec request failed");
		/* Not the text: a command line can carry a secret, and logs must not. */
		log_msg(s->log, LOG_DEBUG1, "Sending command (%zu bytes)", j->command != NULL ?
		    strlen(j->command) : 0);
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
	    rc == LIBSSH2_ERROR_PROTO || rc == LIBSSH2_ERROR_OUT_OF_BOUNDARY ||
	    rc == LIBSSH2_ERROR_CHANNEL_WINDOW_EXCEEDED || rc == LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED;
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

static void sess_close_channel(struct sess *s, int64_t now)
{
	s->step = CLOSE_CHANNEL;
	s->close_deadline = now + SSHMCP_CLOSE_GRACE_MS;
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
	sess_close_channel(s, now);
	return 1;
}

/* How long silence may last: libssh2 sends keepalives on a whole-second clock and at most
 * every 2 s, so allow its rounding on top of interval × count. */
static int64_t sess_alive_limit(const struct sess *s)
{
	int64_t every = s->t.alive_interval_s < 2 ? 2 : s->t.alive_interval_s;

	return every * s->t.alive_count * 1000 + 1000;
}

/* ServerAliveInterval: a keepalive that wants a reply; nothing heard for interval × count
 * means the link is dead (a stalled server, a cable pulled) — say so, don't hang. */
static int sess_alive(struct sess *s, int64_t now)
{
	int64_t limit = sess_alive_limit(s);
	int next;

	if (s->t.alive_interval_s <= 0)
		return 0;
	if (now - s->last_rx >= limit && limit > 0) {
		err_set(&s->err, SSHMCP_ERR_SESSION_LOST, "no answer from %s for %lld s (%d keepalives "
		    "unanswered): the connection is dead", s->t.host, (long long)(limit / 1000),
		    s->t.alive_count);
		return -1;
	}
	if (now >= s->alive_at && libssh2_keepalive_send(s->ssh, &next) == 0)
		s->alive_at = now + (int64_t)(next > 0 ? next : s->t.alive_interval_s) * 1000;
	return 0;
}

static enum step_rc sess_running(struct sess *s, int64_t now)
{
	int rc;

	if (s->cmd_deadline > 0 && now >= s->cmd_deadline && sess_timeout(s, now))
		return STEP_AGAIN;
	if ((rc = sess_read_stream(s, 0)) < 0 || (rc = sess_read_stream(s, 1)) < 0 ||
	    (rc = (s->eof_sent && ring_used(&s->in) == 0) ? 0 : sess_write_stdin(s)) < 0) {
		log_msg(s->log, LOG_DEBUG1, "connection lost: libssh2 error %d", rc);
		return sess_fail(s, SSHMCP_ERR_SESSION_LOST, "connection lost");
	}
	if (sess_alive(s, now) < 0)
		return STEP_FAIL;
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
				sess_close_channel(s, now);
			return s->step == CLOSE_WAIT ? STEP_WAIT : STEP_AGAIN;
		}
		sess_collect_status(s);
		sess_close_channel(s, now);
		return STEP_AGAIN;
	case CLOSE_CHANNEL:
		rc = libssh2_channel_close(s->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN && now >= s->close_deadline) {
			/* A server that never answers CLOSE: stop waiting; teardown cuts the link. */
			log_msg(s->log, LOG_DEBUG1, "the server did not confirm the channel close");
			s->state = SESS_DONE;
			return STEP_AGAIN;
		}
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

/* A jump host between tunnels: keepalives, and notice a link that died. */
static enum step_rc sess_ready(struct sess *s, int64_t now)
{
	if (sess_alive(s, now) < 0)
		return STEP_FAIL;
	if (s->revents & (POLLERR | POLLHUP))
		return sess_fail(s, SSHMCP_ERR_SESSION_LOST, "connection to the jump host lost");
	return STEP_WAIT;
}

static int sess_init(struct sess *s, const struct job *j, const struct log *lg, size_t in_cap,
    int64_t now)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->tun_fd = -1;
	s->job = j;
	s->log = lg;
	s->t_start = now;
	s->state = SESS_CONNECTING;
	if (ring_init(&s->out[0], SSHMCP_STREAM_RING) < 0 ||
	    ring_init(&s->out[1], SSHMCP_STREAM_RING) < 0 || ring_init(&s->in, in_cap) < 0)
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

/* The ProxyCommand child goes with its session: TERM, a short wait, then KILL. */
static void conn_proxy_reap(pid_t pid)
{
	int i;

	(void)kill(pid, SIGTERM);
	for (i = 0; i < 20; i++) {
		struct timespec ts = { 0, 10 * 1000000 };

		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

/* Cut the link for teardown: one best-effort disconnect, then shutdown(), so freeing the
 * channels and the session never waits on the peer (libssh2 would return EAGAIN and
 * leak them in non-blocking mode). */
static void sess_unlink(struct sess *s)
{
	if (s->ssh != NULL && s->fd >= 0 && s->state > SESS_HANDSHAKE && s->state != SESS_DONE)
		(void)libssh2_session_disconnect(s->ssh, "closed by sshmcp");
	if (s->fd >= 0)
		(void)shutdown(s->fd, SHUT_RDWR);
}

static void sess_free(struct sess *s)
{
	auth_agent_close(s);
	sess_unlink(s);
	if (s->tun != NULL)
		libssh2_channel_free(s->tun);
	s->tun = NULL;
	if (s->tun_fd >= 0)
		close(s->tun_fd);
	s->tun_fd = -1;
	ring_free(&s->tun_up);
	ring_free(&s->tun_down);
	if (s->via != NULL) {
		sess_free(s->via);
		free(s->via);
		s->via = NULL;
	}
	if (s->proxy_pid > 0)
		conn_proxy_reap(s->proxy_pid);
	s->proxy_pid = 0;
	if (s->ch != NULL)
		libssh2_channel_free(s->ch);
	if (s->ssh != NULL)
		libssh2_session_free(s->ssh);
	if (s->fd >= 0)
		close(s->fd);
	if (s->ai != NULL)
		freeaddrinfo(s->ai);
	mem_wipe(s->secret, sizeof(s->secret));
	mem_wipe(s->passphrase, sizeof(s->passphrase));
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

	if (s->via != NULL && s->state != SESS_CONNECTING)
		sess_step(s->via, now);             /* the hop carries our bytes: keep it moving */
	conn_pump(s);
	while (rc == STEP_AGAIN) {
		switch (s->state) {
		case SESS_CONNECTING: rc = conn_connecting(s, now); break;
		case SESS_HANDSHAKE: rc = conn_handshake(s, now); break;
		case SESS_AUTH: rc = auth_step(s, now); break;
		case SESS_OPENING: rc = sess_opening(s); break;
		case SESS_READY: rc = sess_ready(s, now); break;
		case SESS_RUNNING: rc = sess_running(s, now); break;
		case SESS_CLOSING: rc = sess_closing(s, now); break;
		case SESS_DONE:
		case SESS_DEAD:
			return;
		}
		if (s->state >= SESS_OPENING && (s->have_secret || s->passphrase[0] != '\0')) {
			mem_wipe(s->secret, sizeof(s->secret));
			mem_wipe(s->passphrase, sizeof(s->passphrase));
			s->have_secret = 0;
		}
	}
	conn_pump(s);
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

	if (s->state < SESS_READY)
		d = s->deadline;
	if (s->via != NULL) {
		int64_t v = sess_deadline(s->via);

		if (v < d)
			d = v;
	}
	if (s->cmd_deadline > 0 && !s->timed_out && s->state < SESS_DONE && s->cmd_deadline < d)
		d = s->cmd_deadline;
	if (s->timed_out && s->state < SESS_DONE && s->kill_deadline < d)
		d = s->kill_deadline;
	if (s->state == SESS_CLOSING && s->step == CLOSE_CHANNEL && s->close_deadline < d)
		d = s->close_deadline;
	if ((s->state == SESS_RUNNING || s->state == SESS_READY) && s->t.alive_interval_s > 0) {
		int64_t dead = s->last_rx + sess_alive_limit(s);

		if (s->alive_at < d)
			d = s->alive_at;
		if (dead < d)
			d = dead;
	}
	/* Data libssh2 already took off the socket (while serving another channel) waits in
	 * its queue, and poll would not wake for it: don't sleep then. */
	if (s->state == SESS_RUNNING && s->ch != NULL && ring_space(&s->out[0]) > 0) {
		unsigned long avail = 0;

		(void)libssh2_channel_window_read_ex(s->ch, &avail, NULL);
		if (avail > 0)
			d = 0;
	}
	return d;
}

/* ================================================ prompts and output === */
/*
 * A PTY shell's output is a terminal stream: CRLF line ends, colour and cursor escapes,
 * prompts. `filt_` turns it into plain text; `prompt_` recognises questions that wait for the
 * user, REPL prompts and shell prompts on the last (unterminated) line.
 */
enum filt_state { FILT_TEXT, FILT_ESC, FILT_CSI, FILT_OSC, FILT_OSC_ESC, FILT_ESC_INTER };

/*
 * Device CLIs draw on the last line: a pager is erased with CR, BS, ESC[K or ESC[nD, and
 * the text goes on where it was. In device mode (dev) the filter keeps those as tokens for
 * the line model (dev_put): '\r' a lone CR, '\b' a BS, FILT_TOK_EL erase to end of line,
 * FILT_TOK_LEFT n cursor n left; and it counts the terminal queries to answer.
 */
#define FILT_TOK_EL   0x0b
#define FILT_TOK_LEFT 0x0e

struct filt {
	enum filt_state st;
	int cr;                     /* a CR waits: CRLF -> LF, lone CR -> LF (dev: '\r') */
	int dev;                    /* keep cursor motion as tokens */
	unsigned csi_n;             /* the first CSI parameter */
	int csi_priv;               /* ESC [ ? ...: a private sequence */
	int cpr, da;                /* ESC[6n, ESC[c seen: the device waits for an answer */
};

/* A CSI sequence ended with `fin`: in device mode some of them matter. */
static size_t filt_csi(struct filt *f, unsigned char fin, unsigned char *out)
{
	size_t o = 0;
	unsigned n = f->csi_n;

	if (f->csi_priv)
		return 0;
	if (fin == 'n' && n == 6)
		f->cpr++;                   /* any terminal answers these, shell or device */
	else if (fin == 'c' && n == 0)
		f->da++;
	if (!f->dev)
		return 0;
	if (f->cr && (fin == 'K' || fin == 'D' || fin == 'G')) {
		out[o++] = '\r';          /* the CR came first */
		f->cr = 0;
	}
	if (fin == 'K' && n == 2)
		out[o++] = '\r';
	if (fin == 'K')
		out[o++] = FILT_TOK_EL;
	else if (fin == 'D') {
		out[o++] = FILT_TOK_LEFT;
		out[o++] = (unsigned char)(n == 0 ? 1 : n > 255 ? 255 : n);
	} else if (fin == 'G' && n <= 1)
		out[o++] = '\r';
	return o;
}

/* Filter n bytes into out (room for n + 1: a pending CR may emit one extra byte). */
static size_t filt_run(struct filt *f, const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = in[i];

		switch (f->st) {
		case FILT_ESC:
			f->st = c == '[' ? FILT_CSI : c == ']' ? FILT_OSC :
				(c >= 0x20 && c <= 0x2f) ? FILT_ESC_INTER : FILT_TEXT;
			f->csi_n = 0;
			f->csi_priv = 0;
			continue;
		case FILT_CSI:                      /* ESC [ params final(0x40-0x7e) */
			if (c >= '0' && c <= '9' && f->csi_n < 10000)
				f->csi_n = f->csi_n * 10 + (unsigned)(c - '0');
			else if (c == ';')
				f->csi_n += 100000;         /* past the first parameter */
			else if (c == '?' || c == '>' || c == '=')
				f->csi_priv = 1;
			if (c >= 0x40 && c <= 0x7e) {
				f->st = FILT_TEXT;
				if (f->csi_n < 100000)
					o += filt_csi(f, c, out + o);
			}
			continue;
		case FILT_OSC:                      /* ESC ] ... BEL or ST */
			f->st = c == 0x07 ? FILT_TEXT : c == 0x1b ? FILT_OSC_ESC : FILT_OSC;
			continue;
		case FILT_OSC_ESC:
			f->st = c == '\\' ? FILT_TEXT : FILT_OSC;
			continue;
		case FILT_ESC_INTER:                /* ESC ( B and friends */
			if (c >= 0x30 && c <= 0x7e)
				f->st = FILT_TEXT;
			continue;
		case FILT_TEXT:
			break;
		}
		if (c == 0x1b) {
			f->st = FILT_ESC;
			continue;
		}
		if (c == '\r') {
			f->cr = 1;
			continue;
		}
		if (f->cr && c != '\n')
			out[o++] = f->dev ? '\r' : '\n';
		f->cr = 0;
		if (c == 0x07 || c == 0x00)         /* BEL, NUL: terminal noise */
			continue;
		if (f->dev && (c == FILT_TOK_EL || c == FILT_TOK_LEFT))
			continue;                   /* our tokens: never the device's bytes */
		out[o++] = c;
	}
	return o;
}

/* Questions that wait for an answer; the match is on the last line after a quiet spell. */
static const char *const prompt_input_res[] = {
	"[Pp]ass(word|phrase)[^:\n]*: *$",
	"^\\[sudo\\] password for [^:]*: *$",
	"(PIN|[Vv]erification code|OTP|[Tt]oken)[^:\n]*: *$",
	"\\[[yY]/[nN]\\] *[:?]? *$",
	"\\[[yY]es/[nN]o\\] *[:?]? *$",
	"\\((yes/no|y/n)[^)]*\\)\\? *$",
	"[Cc]ontinue\\?.*$",
	"[Aa]re you sure.*\\? *$",
	"[Oo]verwrite.*\\? *$",
	"--[Mm]ore--",
	"\\(END\\) *$",
	"^:$",
	"[Pp]ress (RETURN|ENTER|any key)",
};

/* REPL prompts: a command that starts one completes when its prompt shows. */
static const char *const prompt_repl_res[] = {
	"^(>>>|\\.\\.\\.) $",                   /* python */
	"^[A-Za-z0-9_.:()-]*[>=#]> ?$",         /* mysql>, psql db=>, irb(main):001:0> */
	"^> $",                                 /* node */
};

/* A shell prompt, as most PS1 settings end. */
static const char prompt_shell_re[] = "[$#%>] ?$";

/* Questions a network device asks before it acts; with prompt_input_res they are its
 * awaiting_input cases. Nothing is answered on the agent's behalf. */
static const char prompt_confirm_re[] = "(\\[confirm\\]|\\]\\?|\\[(yes|no|y|n|Y|N)[/,][^]]*\\]"
	" *(\\((yes|no)\\))? *:?|\\[Y\\]es.*:|\\? *\\[[yYnN]/[yYnN]\\] *:?|[Pp]assword: *|"
	"\\[[^]]*\\] *\\?) *$";

struct prompt {
	regex_t input[sizeof(prompt_input_res) / sizeof(prompt_input_res[0])];
	regex_t repl[sizeof(prompt_repl_res) / sizeof(prompt_repl_res[0])];
	regex_t shell;
	regex_t confirm;                    /* prompt_confirm_re: devices only */
	int ready;
};

static int prompt_init(struct prompt *p)
{
	size_t i;

	for (i = 0; i < sizeof(p->input) / sizeof(p->input[0]); i++)
		if (regcomp(&p->input[i], prompt_input_res[i], REG_EXTENDED | REG_NOSUB) != 0)
			return -1;
	for (i = 0; i < sizeof(p->repl) / sizeof(p->repl[0]); i++)
		if (regcomp(&p->repl[i], prompt_repl_res[i], REG_EXTENDED | REG_NOSUB) != 0)
			return -1;
	if (regcomp(&p->shell, prompt_shell_re, REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	if (regcomp(&p->confirm, prompt_confirm_re, REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	p->ready = 1;
	return 0;
}

static void prompt_free(struct prompt *p)
{
	size_t i;

	if (!p->ready)
		return;
	for (i = 0; i < sizeof(p->input) / sizeof(p->input[0]); i++)
		regfree(&p->input[i]);
	for (i = 0; i < sizeof(p->repl) / sizeof(p->repl[0]); i++)
		regfree(&p->repl[i]);
	regfree(&p->shell);
	regfree(&p->confirm);
	p->ready = 0;
}

static int prompt_any(const regex_t *res, size_t n, const char *line)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (regexec(&res[i], line, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

enum prompt_kind { PROMPT_NONE, PROMPT_INPUT, PROMPT_REPL, PROMPT_SHELL };

static enum prompt_kind prompt_classify(const struct prompt *p, const char *line)
{
	if (line[0] == '\0')
		return PROMPT_NONE;
	if (prompt_any(p->input, sizeof(p->input) / sizeof(p->input[0]), line))
		return PROMPT_INPUT;
	if (prompt_any(p->repl, sizeof(p->repl) / sizeof(p->repl[0]), line))
		return PROMPT_REPL;
	if (regexec(&p->shell, line, 0, NULL, 0) == 0)
		return PROMPT_SHELL;
	return PROMPT_NONE;
}

/* Commands that open another shell or a REPL; only for them may a prompt end the command
 * (so `printf 'user@h:~$ '; sleep 1` is not mistaken for a finished command). */
static const char *const prompt_ctx_shells[] = {
	"bash", "sh", "dash", "zsh", "ash", "ksh", "mksh", "busybox", "su", "sudo", "chroot",
	"ssh", "newgrp", "runuser", "nsenter", "unshare",
};
static const char *const prompt_ctx_repls[] = {
	"python", "python3", "python2", "ipython", "node", "irb", "psql", "mysql", "mariadb",
	"sqlite3", "lua", "bc", "redis-cli", "mongo", "mongosh", "ghci", "erl", "R",
};

enum ctx_kind { CTX_NONE, CTX_SHELL, CTX_REPL };

static int prompt_word_in(const char *w, size_t n, const char *const *list, size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		if (strlen(list[i]) == n && strncmp(w, list[i], n) == 0)
			return 1;
	return 0;
}

/* Commands that change how the shell prompts or reads input; our setup is typed again
 * after them (and a shell prompt during them counts as the end). */
static int prompt_touches_shell(const char *cmd)
{
	static const char *const words[] = { "PS1=", "PS2=", "PROMPT_COMMAND", "PROMPT=",
		"set -o", "set +o", "bind ", "stty ", "setopt", "unsetopt" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(cmd, words[i]) != NULL)
			return 1;
	return 0;
}

/* The context a command line may switch to, judged by its first word (after env VAR=x). */
static enum ctx_kind prompt_ctx(const char *cmd)
{
	const char *w = cmd;
	size_t n;

	for (;;) {
		while (*w == ' ' || *w == '\t')
			w++;
		n = strcspn(w, " \t;&|");
		if (memchr(w, '=', n) == NULL && !(n == 4 && strncmp(w, "exec", 4) == 0) &&
		    !(n == 3 && strncmp(w, "env", 3) == 0))
			break;
		w += n;
	}
	if (memchr(w, '/', n) != NULL) {                 /* /usr/bin/python3 -> python3 */
		const char *base = w + n;

		while (base > w && base[-1] != '/')
			base--;
		n -= (size_t)(base - w);
		w = base;
	}
	if (prompt_word_in(w, n, prompt_ctx_shells, sizeof(prompt_ctx_shells) / sizeof(char *)) ||
	    prompt_touches_shell(cmd))
		return CTX_SHELL;
	if (prompt_word_in(w, n, prompt_ctx_repls, sizeof(prompt_ctx_repls) / sizeof(char *)) ||
	    (n > 6 && strncmp(w, "python", 6) == 0))
		return CTX_REPL;
	return CTX_NONE;
}

/* Streaming commands never end by themselves: refused unless run in the background. An
 * entry's `unless` option (ping -c, top -b -n) makes the command end on its own. */
static const struct {
	const char *re;
	const char *unless[2];
	int device;                 /* also on network devices (Junos `top` is a config command) */
} prompt_streams[] = {
	{ "(^|[;&|] *)tail( [^;&|]*)? (-[A-Za-z]*[fF]|--follow)", { NULL, NULL }, 0 },
	{ "(^|[;&|] *)(watch|iotop|iftop|nload|vi|vim|nano|emacs)( |$)", { NULL, NULL }, 0 },
	{ "(^|[;&|] *)h?top( |$)", { " -b", " -n" }, 0 },
	{ "(^|[;&|] *)journalctl( [^;&|]*)? (-f|--follow)", { NULL, NULL }, 0 },
	{ "(^|[;&|] *)(dmesg|kubectl logs|docker logs)( [^;&|]*)? (-w|-f|--follow)", { NULL, NULL }, 0 },
	{ "(^|[;&|] *)ping6?( |$)", { " -c", NULL }, 0 },
	{ "(^|[;&|\n] *)(monitor|debug all|terminal monitor)", { NULL, NULL }, 1 },
};

static const char *prompt_stream_hint(const char *cmd, int device)
{
	regex_t re;
	size_t i;

	for (i = 0; i < sizeof(prompt_streams) / sizeof(prompt_streams[0]); i++) {
		int hit;

		if (device && !prompt_streams[i].device)
			continue;
		if (regcomp(&re, prompt_streams[i].re, REG_EXTENDED | REG_NOSUB) != 0)
			continue;
		hit = regexec(&re, cmd, 0, NULL, 0) == 0;
		regfree(&re);
		if (hit && prompt_streams[i].unless[0] != NULL &&
		    strstr(cmd, prompt_streams[i].unless[0]) != NULL &&
		    (prompt_streams[i].unless[1] == NULL ||
		    strstr(cmd, prompt_streams[i].unless[1]) != NULL))
			hit = 0;
		if (hit)
			return "it runs until stopped (or needs a full-screen terminal): use a bounded "
				"form (tail -n 100, ping -c 4, top -b -n 1, journalctl -n 100), or pass "
				"wait: 0 to run it in the background until its timeout";
	}
	return NULL;
}

/* ===================================================== network devices === */
/*
 * A device CLI has no POSIX shell to print our sentinel: a command is over when the
 * device's own prompt, learned at login, is the whole last line after the command's echo.
 * A profile is a row of data: the prompt of each mode ("%H" stands for the learned host
 * name), how to turn the pager off and advance it, how to climb to privileged mode, which
 * lines are errors. Everything is POSIX ERE (regex.h): no \d, no (?:, no lazy repeats.
 */
#define DEV_MODES_MAX 4

struct dev_mode {
	const char *name;           /* user, privileged, config, config-sub, operational */
	const char *re;             /* the whole prompt line; %H is the learned host name */
};

struct dev_profile {
	const char *name;
	const char *host_re;        /* any prompt of the platform; group 1 is the host name */
	const char *banner_re;      /* login text that tells this platform from its look-alikes */
	struct dev_mode modes[DEV_MODES_MAX];
	const char *pager_off;      /* typed after login, lines separated by \n; NULL: none */
	const char *pager_re;       /* a pager still showing on the last line */
	const char *pager_key;
	const char *enable_cmd;     /* NULL: no privilege levels to climb */
	const char *error_re;       /* the device rejected the line (first lines of output) */
	const char *context_re;     /* a line printed before every prompt: not output */
};

/* Cisco-like prompts: R1>, R1#, R1(config)#, R1(config-if)#. */
#define DEV_IOS_HOST "^([A-Za-z0-9_.:/-]+)(\\([A-Za-z0-9_./-]+\\))?[>#] ?$"
#define DEV_IOS_MODES { { "user", "^%H> ?$" }, { "privileged", "^%H# ?$" }, \
	{ "config", "^%H\\(config\\)# ?$" }, { "config-sub", "^%H\\(config-[^)]+\\)# ?$" } }
#define DEV_PCT_ERRORS "^% ?(Invalid input|Incomplete command|Ambiguous command|Unknown " \
	"command|Unrecognized command|Invalid command|Bad )"
/* user@host> and user@host#: Junos and PAN-OS. */
#define DEV_AT_HOST "^([A-Za-z0-9_.-]+@[A-Za-z0-9_.:()-]+)[>#%] ?$"
#define DEV_AT_MODES { { "operational", "^%H> ?$" }, { "config", "^%H# ?$" } }
/* Where a Junos or PAN-OS prompt stands: [edit interfaces ge-0/0/1], {master:0}. */
#define DEV_JUNOS_CONTEXT "^(\\[edit( [^]]*)?\\]|\\{(master|backup|primary|secondary|line)[^}]*\\}) *$"

static const struct dev_profile dev_profiles[] = {
	{ "cisco_ios", DEV_IOS_HOST, "Cisco IOS|IOS Software", DEV_IOS_MODES,
	  "terminal length 0", "^ *-+ ?[Mm]ore ?-+ *$", " ", "enable", DEV_PCT_ERRORS, NULL },
	{ "arista_eos", DEV_IOS_HOST, "Arista|EOS", DEV_IOS_MODES,
	  "terminal length 0", "^ *-+ ?[Mm]ore ?-+ *$", " ", "enable", DEV_PCT_ERRORS, NULL },
	{ "cisco_asa", DEV_IOS_HOST, "ASA|Adaptive Security", DEV_IOS_MODES,
	  "terminal pager 0", "^ *<-+ More -+> *$", " ", "enable",
	  "^(ERROR: |% ?(Invalid input|Incomplete command|Ambiguous command))", NULL },
	{ "cisco_nxos", DEV_IOS_HOST, "NX-OS|Nexus", DEV_IOS_MODES,
	  "terminal length 0", "^ *-+ ?[Mm]ore ?-+ *$", " ", NULL, DEV_PCT_ERRORS, NULL },
	{ "cisco_xr", DEV_IOS_HOST, "IOS XR|IOS-XR", DEV_IOS_MODES,
	  "terminal length 0", "^ *-+ ?[Mm]ore ?-+ *$", " ", NULL, DEV_PCT_ERRORS, NULL },
	{ "hp_procurve", DEV_IOS_HOST, "ProCurve|HP J[0-9]|Aruba|Hewlett",
	  { { "user", "^%H> ?$" }, { "privileged", "^%H# ?$" }, { "config", "^%H\\(config\\)# ?$" },
	    { "config-sub", "^%H\\([^)]+\\)# ?$" } },
	  "no page", "-- MORE --", " ", "enable",
	  "^(Invalid input|Incomplete input|Ambiguous input|Unknown command)", NULL },
	{ "juniper_junos", DEV_AT_HOST, "JUNOS|Junos", DEV_AT_MODES,
	  "set cli screen-length 0", "^---\\(more( [0-9]+%)?\\)--- *$", " ", NULL,
	  "^(unknown command|syntax error|error: |'[^']*' is ambiguous)", DEV_JUNOS_CONTEXT },
	{ "paloalto_panos", DEV_AT_HOST, "PAN-OS|Palo Alto", DEV_AT_MODES,
	  "set cli pager off", "^lines [0-9]+-[0-9]+ *(\\(END\\))? *$", " ", NULL,
	  "^(Unknown command|Invalid syntax|Server error|Error: )", DEV_JUNOS_CONTEXT },
	{ "huawei_vrp", "^<([^<>]+)> ?$", "Huawei|VRP",
	  { { "user", "^<%H> ?$" }, { "config", "^\\[[~*]?%H\\] ?$" },
	    { "config-sub", "^\\[[~*]?%H-[^]]+\\] ?$" } },
	  "screen-length 0 temporary", "^ *-+ More -+ *$", " ", "super",
	  "^Error: ", NULL },
	{ "mikrotik_routeros", "^\\[([^] @]+@[^] ]+)\\] [^>]*> ?$", "MikroTik|RouterOS",
	  { { "operational", "^\\[%H\\] [^>]*> ?$" } },
	  NULL, "^-- \\[Q quit\\|D dump\\|down\\] *$", " ", NULL,
	  "^(bad command name|expected |ambiguous |syntax error|failure:|input does not match)", NULL },
	{ "fortinet", "^([A-Za-z0-9_.-]+) (\\([^)]*\\) )?[#$] ?$", "FortiGate|FortiOS",
	  { { "privileged", "^%H [#$] ?$" }, { "config-sub", "^%H \\([^)]+\\) [#$] ?$" } },
	  "config system console\nset output standard\nend", "^--More-- *$", " ", NULL,
	  "^(Unknown action|command parse error|Command fail|entry not found)", NULL },
};

#define DEV_PROFILES (sizeof(dev_profiles) / sizeof(dev_profiles[0]))

/* A login that waits for a key before the first prompt. */
#define DEV_PRESS_KEY "[Pp]ress (RETURN|ENTER|[Aa]ny [Kk]ey)"

static const struct dev_profile *dev_profile_find(const char *name)
{
	size_t i;

	for (i = 0; i < DEV_PROFILES; i++)
		if (strcmp(dev_profiles[i].name, name) == 0)
			return &dev_profiles[i];
	return NULL;
}

/* A device_type: its profile into *p (NULL for linux, a POSIX shell); -1 when unknown. */
static int dev_type_parse(const char *name, const struct dev_profile **p)
{
	*p = dev_profile_find(name);
	return *p != NULL || strcmp(name, "linux") == 0 ? 0 : -1;
}

/* Does the profile have a prompt for this mode (a level the prompt shows)? */
static int dev_profile_has_mode(const struct dev_profile *p, const char *mode)
{
	int i;

	for (i = 0; i < DEV_MODES_MAX && p->modes[i].name != NULL; i++)
		if (strcmp(p->modes[i].name, mode) == 0)
			return 1;
	return 0;
}

/* One ERE, or -1 (the table is ours: a failure is a bug the unit tests catch). */
static int dev_re_comp(regex_t *re, const char *src, int nosub)
{
	return regcomp(re, src, REG_EXTENDED | (nosub ? REG_NOSUB : 0)) == 0 ? 0 : -1;
}

static int dev_re_match(const char *src, const char *line)
{
	regex_t re;
	int hit;

	if (src == NULL || dev_re_comp(&re, src, 1) < 0)
		return 0;
	hit = regexec(&re, line, 0, NULL, 0) == 0;
	regfree(&re);
	return hit;
}

/* The host name in a prompt of profile p (group 1 of host_re), or -1. */
static int dev_host_of(const struct dev_profile *p, const char *line, char *out, size_t cap)
{
	regmatch_t m[2];
	regex_t re;
	int rc = -1;

	if (dev_re_comp(&re, p->host_re, 0) < 0)
		return -1;
	if (regexec(&re, line, 2, m, 0) == 0 && m[1].rm_so >= 0 &&
	    (size_t)(m[1].rm_eo - m[1].rm_so) < cap) {
		memcpy(out, line + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
		out[m[1].rm_eo - m[1].rm_so] = '\0';
		rc = 0;
	}
	regfree(&re);
	return rc;
}

/* Which platform is this? The last line after login must be one of its prompts; among
 * look-alikes (R1> is IOS, EOS, ASA, ProCurve...) the login banner decides, else the
 * first in the table. */
static const struct dev_profile *dev_detect(const char *line, const char *banner)
{
	const struct dev_profile *first = NULL;
	char host[SSHMCP_PROMPT_MAX];
	size_t i;

	for (i = 0; i < DEV_PROFILES; i++) {
		const struct dev_profile *p = &dev_profiles[i];

		if (dev_host_of(p, line, host, sizeof(host)) < 0)
			continue;
		if (dev_re_match(p->banner_re, banner))
			return p;
		if (first == NULL)
			first = p;
	}
	return first;
}

/* A mode's prompt ERE with the host name in place of %H, its ERE specials escaped. */
static int dev_mode_re(const char *tmpl, const char *host, char *out, size_t cap)
{
	size_t o = 0;

	for (; *tmpl != '\0'; tmpl++) {
		const char *h;

		if (tmpl[0] != '%' || tmpl[1] != 'H') {
			if (o + 1 >= cap)
				return -1;
			out[o++] = *tmpl;
			continue;
		}
		for (h = host; *h != '\0'; h++) {
			if (o + 3 >= cap)
				return -1;
			if (strchr(".[]()*+?{}|^$\\", *h) != NULL)
				out[o++] = '\\';
			out[o++] = *h;
		}
		tmpl++;
	}
	out[o] = '\0';
	return 0;
}

/* The mode a config-sub prompt names: R1(config-if-Et1)# -> config-if. */
static void dev_submode(const char *line, char *out, size_t cap)
{
	const char *p = strstr(line, "(config-");
	size_t n;

	if (p == NULL) {
		(void)str_copy(out, cap, "config-sub");
		return;
	}
	p++;
	n = 7 + strcspn(p + 7, "-)");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* ====================================================== command engine === */
/*
 * A shell session is a sess (connection + PTY shell channel) plus what it takes to run
 * commands in it one at a time and know exactly when each ends and with which status:
 *
 *   setup: `stty -echo`, no line editing, PS1='__SSHMCP_<nonce>_$?__' (PS2 likewise), so the
 *   shell itself prints the exit status, behind a random per-session nonce, each time it is
 *   ready for the next command. The nonce never appears in what we type (the quotes split
 *   it), so only the shell's prompt can produce it; output can't fake it.
 *
 * Bytes flow: channel -> sess.out[0] -> filt (escapes, CRLF) -> sentinel scanner -> the
 * current line (kept back for prompt matching) -> the command's ring.
 */
enum cmd_status { CMD_QUEUED, CMD_RUNNING, CMD_AWAITING, CMD_COMPLETED, CMD_TIMEOUT,
	CMD_INTERRUPTED, CMD_FAILED };

static const char *const cmd_status_names[] = {
	[CMD_QUEUED] = "running", [CMD_RUNNING] = "running", [CMD_AWAITING] = "awaiting_input",
	[CMD_COMPLETED] = "completed", [CMD_TIMEOUT] = "timeout",
	[CMD_INTERRUPTED] = "interrupted", [CMD_FAILED] = "failed",
};

struct shell;
struct fop;

struct cmd {
	char id[SSHMCP_NAME_MAX];
	struct shell *sh;                   /* NULL once its session is gone */
	char host[SSHMCP_HOST_MAX];
	char session[SSHMCP_NAME_MAX];
	char *text;
	enum cmd_status status;
	int exit_code, has_exit;
	struct ring out;
	int64_t t_queued, t_start, t_end, deadline, grace_deadline;
	char prompt[SSHMCP_PROMPT_MAX];
	char mode[16];
	struct err err;
	char sudo_pw[SSHMCP_SECRET_MAX];
	int sudo_sent;
	int stop;                           /* CMD_TIMEOUT or CMD_INTERRUPTED once Ctrl-C went */
	int refs;                           /* responses still waiting on it */
	enum ctx_kind ctx;
	int ended_session;                  /* `exit` closed the shell */
	char req[128];                      /* the request that started it (audit, log) */
	char user[SSHMCP_USER_MAX];
	int audited;
};

enum sh_state { SH_CONNECTING, SH_SETUP, SH_IDLE, SH_BUSY, SH_CLOSED };
/* A device session: login (find and learn the prompt), pager off, then commands; enable
 * runs before a command when a new enable password asks for it. */
enum dev_phase { DEV_LOGIN, DEV_PAGER, DEV_IDLE, DEV_ENABLE, DEV_RUN };
/* The looks at a device's last line as a quiet spell grows (dev_check). */
enum dev_stage { DEV_AT_SETTLE, DEV_AT_QUIET, DEV_AT_RELEARN };
/* A device session's patterns: the prompt of each mode, then these. */
enum dev_re { DEV_RE_PAGER = DEV_MODES_MAX, DEV_RE_ERROR, DEV_RE_CONTEXT, DEV_RE_COUNT };

/* What a shell may have to type at once: an encoded command (at most 4 bytes a byte). */
#define SHELL_IN_RING (4 * SSHMCP_CMD_MAX + 65536)
/* Lines longer than this are typed encoded: a tty's canonical line holds 4095 bytes. */
#define SHELL_LINE_SAFE 1024
#define SHELL_CHUNK 512

/* The longest sentinel: marker, status, $PWD, end mark. */
#define SHELL_HOLD_MAX (SSHMCP_PATH_MAX + 64)

struct shell {
	struct sess s;
	struct job job;
	char key[SSHMCP_USER_MAX + SSHMCP_HOST_MAX + SSHMCP_NAME_MAX + 16];
	char name[SSHMCP_NAME_MAX];
	char alias[SSHMCP_HOST_MAX];
	char marker[40];                    /* "__SSHMCP_<nonce>_" */
	enum sh_state st;
	struct cmd *cur;
	struct cmd *queue[SSHMCP_QUEUE_MAX];
	int nq;
	struct filt f;
	unsigned char hold[SHELL_HOLD_MAX]; /* a sentinel may straddle two reads */
	size_t nhold;
	char line[SSHMCP_PROMPT_MAX];       /* the unterminated last line, not yet in the ring */
	size_t nline;
	size_t echo_pos;                    /* bytes of the typed command matched as echo */
	int echo_done;
	int discard;                        /* drop output until the next sentinel */
	int ps2;                            /* continuation prompts seen for this command */
	int ps2_expected;                   /* ... of which our own line splitting caused */
	int resetup;                        /* setup re-sent into a nested shell */
	int fresh;                          /* output arrived since the last prompt check */
	int64_t last_rx, deadline, t_created, t_used;
	char mode[16];
	int ncmds;
	int report_lost;                    /* died while idle: the next call is told */
	char hk_req[32];                    /* our elicitation request about its host key */
	int was_ready;                      /* the shell answered its setup once */
	LIBSSH2_SFTP *sftp;                 /* opened on first file operation */
	int sftp_refused;
	struct fop *fops;                   /* file operations, in order */
	char nonce[20];
	char endmark[24];                   /* "_<nonce>__": ends the cwd in a sentinel */
	char cwd[SSHMCP_PATH_MAX];          /* the shell's $PWD after the last command */
	unsigned char scratch[SSHMCP_IO_CHUNK + SHELL_HOLD_MAX];
	/* A network device (dev != NULL): prompts instead of sentinels (dev_ functions). */
	const struct dev_profile *dev;
	int dev_auto;                       /* no device_type: a device may answer instead */
	enum dev_phase dphase;
	regex_t dre[DEV_RE_COUNT];          /* compiled once the host name is learned */
	unsigned dre_set;                   /* bit i: dre[i] is compiled */
	char dheld[256];                    /* blank and context lines that may precede a prompt */
	size_t nheld;
	int dheld_ctx;                      /* ... and a context line is among them */
	char dhost[SSHMCP_PROMPT_MAX];      /* the host name in its prompt, learned at login */
	char dcand[SSHMCP_PROMPT_MAX];      /* the last line the previous login probe saw */
	int dprobes, dtries, dbad, dpriv;
	int dstage;                         /* the next look at the last line: DEV_AT_* */
	const char *dnext;                  /* the next line to type (command or pager_off) */
	const char *dtyped;                 /* the line typed last (its echo ends a line) */
	size_t dtypedlen;
	int decho;                          /* its echo has been seen */
	int dlines;                         /* output lines since that echo */
	int64_t dsent;
	char dline[SSHMCP_DEV_LINE_MAX];    /* the last line as a terminal shows it */
	size_t dn, dcol;
	size_t dfresh;                      /* cells written since the cursor last went back:
	                                     * blanks past them are erasure, not text */
	char banner[2048];                  /* the first login output, for detection */
	size_t nbanner;
	char enable_pw[SSHMCP_SECRET_MAX];
	int enable_want;                    /* a new enable password: escalate once */
};

static const char *shell_mode_name(const struct shell *sh)
{
	return sh->mode[0] != '\0' ? sh->mode : "shell";
}

/*
 * The line typed to make any POSIX shell report like ours; sent again into nested shells.
 * PS1 carries the exit status and $PWD: "__SSHMCP_<nonce>_<status>_<cwd>_<nonce>__".
 * PROMPT_COMMAND puts PS1 back before every prompt in bash (keeping $?), so a user's own
 * PS1 does not blind us. Quotes split every marker: what we type never contains one.
 */
static int shell_setup_line(const struct shell *sh, char *out, size_t cap)
{
	const char *n = sh->nonce;

	return str_fmt(out, cap, "stty -echo 2>/dev/null; set +o emacs +o vi 2>/dev/null; "
	    "unsetopt zle prompt_cr prompt_sp 2>/dev/null; setopt prompt_subst 2>/dev/null; "
	    "export PAGER=cat GIT_PAGER=cat SYSTEMD_PAGER=cat; "
	    "PS2='__SSHMCP_''%s_PS2__'; PS1='__SSHMCP_''%s_$?_${PWD}_''%s__'; "
	    "PROMPT_COMMAND='PS1=\"__SSHMCP_\"\"%s_\\$?_\\${PWD}_\"\"%s__\"; "
	    "PS2=\"__SSHMCP_\"\"%s_PS2__\"'\n", n, n, n, n, n, n);
}

static int shell_type(struct shell *sh, const char *text, size_t n)
{
	if (n > ring_space(&sh->s.in))
		return -1;
	while (n > 0) {
		size_t room;
		unsigned char *w = ring_wptr(&sh->s.in, &room);
		size_t k = room < n ? room : n;

		memcpy(w, text, k);
		ring_commit(&sh->s.in, k);
		text += k;
		n -= k;
	}
	return 0;
}

static void dev_start(struct shell *sh, struct cmd *c, int64_t now);
static void dev_put(struct shell *sh, const unsigned char *p, size_t n);
static void dev_after_feed(struct shell *sh);
static void dev_track(struct shell *sh, const unsigned char *p, size_t n);

/* Output of the current command: whole lines go to its ring; the last line waits. */
static void shell_commit_line(struct shell *sh)
{
	if (sh->cur != NULL && sh->nline > 0)
		ring_append(&sh->cur->out, sh->line, sh->nline);
	sh->nline = 0;
}

static void shell_emit_out(struct shell *sh, const unsigned char *p, size_t n)
{
	struct cmd *c = sh->cur;

	while (n > 0) {
		const unsigned char *nl = memchr(p, '\n', n);
		size_t k = nl != NULL ? (size_t)(nl - p) + 1 : n;

		if (k > sizeof(sh->line) - sh->nline) {
			/* A long line: only its tail matters for prompt matching. */
			size_t keep = sizeof(sh->line) / 2;

			shell_commit_line(sh);
			if (k > keep) {
				ring_append(&c->out, p, k - keep);
				p += k - keep;
				n -= k - keep;
				k = keep;
			}
		}
		memcpy(sh->line + sh->nline, p, k);
		sh->nline += k;
		p += k;
		n -= k;
		if (sh->line[sh->nline - 1] == '\n')
			shell_commit_line(sh);
	}
}

/* Shells that echo despite stty -echo (busybox ash, REPLs with readline) repeat what we
 * typed: drop exactly that, and give back what matched if it turns out to be output. */
static void shell_emit(struct shell *sh, const unsigned char *p, size_t n)
{
	struct cmd *c = sh->cur;

	if (n > 0)
		sh->fresh = 1;
	if (sh->st == SH_SETUP && sh->dev_auto)
		dev_track(sh, p, n);
	if (c == NULL || sh->st != SH_BUSY || sh->discard)
		return;
	if (!sh->echo_done) {
		size_t tl = strlen(c->text), i = 0;

		while (i < n && sh->echo_pos <= tl &&
		    (char)p[i] == (sh->echo_pos < tl ? c->text[sh->echo_pos] : '\n')) {
			sh->echo_pos++;
			i++;
		}
		if (sh->echo_pos == tl + 1) {
			sh->echo_done = 1;
		} else if (i < n) {
			sh->echo_done = 1;
			shell_emit_out(sh, (const unsigned char *)c->text, sh->echo_pos);
		}
		p += i;
		n -= i;
	}
	shell_emit_out(sh, p, n);
}

static void cmd_set_status(struct cmd *c, enum cmd_status st, int64_t now)
{
	c->status = st;
	if (st >= CMD_COMPLETED && c->t_end == 0) {
		c->t_end = now;
		mem_wipe(c->sudo_pw, sizeof(c->sudo_pw));
	}
}

static void shell_start_next(struct shell *sh, int64_t now);
static void shell_files(struct shell *sh, int64_t now);
static int64_t shell_files_deadline(const struct shell *sh);
static void shell_files_end(struct shell *sh);
static void shell_files_free(struct shell *sh);
static int shell_setup_line(const struct shell *sh, char *out, size_t cap);
static int shell_type(struct shell *sh, const char *text, size_t n);

/* Type the setup again; its sentinel returns the shell to IDLE (shell_on_exit). */
static void shell_resetup(struct shell *sh, int64_t now)
{
	char setup[512];

	sh->st = SH_SETUP;
	sh->deadline = now + SSHMCP_SHELL_START_MS;
	if (shell_setup_line(sh, setup, sizeof(setup)) == 0)
		(void)shell_type(sh, setup, strlen(setup));
}

/* The shell printed our prompt: the current command (or the setup) is over. */
static void shell_on_exit(struct shell *sh, int code, int64_t now)
{
	struct cmd *c = sh->cur;

	sh->discard = 0;
	sh->ps2 = 0;
	if (sh->st == SH_SETUP) {
		sh->st = SH_IDLE;
		sh->was_ready = 1;
		shell_start_next(sh, now);
		return;
	}
	if (c == NULL)
		return;
	if (!sh->echo_done && sh->echo_pos > 0)
		shell_emit_out(sh, (const unsigned char *)c->text, sh->echo_pos);
	shell_commit_line(sh);
	c->exit_code = code;
	c->has_exit = 1;
	sh->mode[0] = '\0';
	(void)str_copy(c->mode, sizeof(c->mode), "shell");
	cmd_set_status(c, c->stop ? (enum cmd_status)c->stop : CMD_COMPLETED, now);
	c->sh = NULL;
	sh->cur = NULL;
	sh->st = SH_IDLE;
	sh->t_used = now;
	if (prompt_touches_shell(c->text))
		shell_resetup(sh, now);
	else
		shell_start_next(sh, now);
}

/* Longest suffix of p[0..n) that is a proper prefix of m: it may be a split sentinel. */
static size_t shell_partial(const unsigned char *p, size_t n, const char *m, size_t mlen)
{
	size_t k = n < mlen - 1 ? n : mlen - 1;

	for (; k > 0; k--)
		if (memcmp(p + n - k, m, k) == 0)
			return k;
	return 0;
}

/*
 * Parse a sentinel at buf[q..len) (just after the marker): "<status>_<cwd><endmark>" or
 * "PS2__". Returns its length, 0 when it is not one, -1 when it may still be arriving.
 */
static long shell_sentinel(struct shell *sh, const unsigned char *buf, size_t q, size_t len,
    int *code)
{
	size_t d = 0, elen = strlen(sh->endmark), k;
	const unsigned char *end;

	if (len - q >= 5 && memcmp(buf + q, "PS2__", 5) == 0) {
		*code = -1;
		return 5;
	}
	while (q + d < len && d < 4 && buf[q + d] >= '0' && buf[q + d] <= '9')
		d++;
	if (q + d == len)
		return len - q < 5 ? -1 : 0;
	if (d == 0 || d > 3 || buf[q + d] != '_')
		return 0;
	end = memmem(buf + q + d, len - q - d, sh->endmark, elen);
	if (end == NULL)
		return len - q - d < SSHMCP_PATH_MAX + elen ? -1 : 0;
	k = (size_t)(end - (buf + q + d + 1));       /* the cwd's length */
	if (k >= sizeof(sh->cwd))
		return 0;
	memcpy(sh->cwd, buf + q + d + 1, k);
	sh->cwd[k] = '\0';
	for (*code = 0, k = 0; k < d; k++)
		*code = *code * 10 + (buf[q + k] - '0');
	return (long)((size_t)(end - (buf + q)) + elen);
}

/* Find sentinels in filtered bytes; everything else is output. Returns bytes to hold. */
static size_t shell_scan(struct shell *sh, const unsigned char *buf, size_t len, int64_t now)
{
	size_t mlen = strlen(sh->marker), i = 0;

	while (i < len) {
		const unsigned char *m = memmem(buf + i, len - i, sh->marker, mlen);
		size_t j;
		long n;
		int code = 0;

		if (m == NULL) {
			size_t k = shell_partial(buf + i, len - i, sh->marker, mlen);

			shell_emit(sh, buf + i, len - i - k);
			return k;
		}
		j = (size_t)(m - buf);
		shell_emit(sh, buf + i, j - i);
		n = shell_sentinel(sh, buf, j + mlen, len, &code);
		if (n < 0)
			return len - j;                         /* incomplete: hold it */
		if (n == 0) {
			shell_emit(sh, buf + j, mlen);          /* the marker, but no sentinel */
			i = j + mlen;
			continue;
		}
		i = j + mlen + (size_t)n;
		if (code < 0) {
			sh->ps2++;
			sh->fresh = 1;          /* a quiet spell after it may mean "incomplete" */
		} else
			shell_on_exit(sh, code, now);
	}
	return 0;
}

/* Terminal queries (cursor position, device attributes) are answered as a terminal of
 * the PTY's size would: RouterOS and some shells wait for the answer before the prompt. */
static void shell_answer_queries(struct shell *sh)
{
	char answer[32];

	for (; sh->f.cpr > 0; sh->f.cpr--)
		if (str_fmt(answer, sizeof(answer), "\033[%d;%dR", sh->job.rows, sh->job.cols) == 0)
			(void)shell_type(sh, answer, strlen(answer));
	for (; sh->f.da > 0; sh->f.da--)
		(void)shell_type(sh, "\033[?1;2c", 7);
}

/* Drain what the channel delivered through filter and scanner. */
static void shell_feed(struct shell *sh, int64_t now)
{
	struct ring *r = &sh->s.out[0];

	while (ring_used(r) > 0) {
		size_t n, o, hold;
		const unsigned char *p = ring_rptr(r, &n);

		if (n > SSHMCP_IO_CHUNK)
			n = SSHMCP_IO_CHUNK;
		if (sh->dev != NULL) {
			o = filt_run(&sh->f, p, n, sh->scratch);
			ring_consume(r, n);
			sh->last_rx = now;
			sh->fresh = 1;
			sh->dstage = DEV_AT_SETTLE;
			dev_put(sh, sh->scratch, o);
			continue;
		}
		memcpy(sh->scratch, sh->hold, sh->nhold);
		o = sh->nhold + filt_run(&sh->f, p, n, sh->scratch + sh->nhold);
		ring_consume(r, n);
		sh->last_rx = now;
		hold = shell_scan(sh, sh->scratch, o, now);
		if (hold > sizeof(sh->hold))
			hold = 0;   /* too long to be a sentinel: it was emitted as text */
		memcpy(sh->hold, sh->scratch + o - hold, hold);
		sh->nhold = hold;
	}
	shell_answer_queries(sh);
	if (sh->dev != NULL)
		dev_after_feed(sh);
	/* A PTY merges stderr into stdout; anything on the stderr ring is dropped noise. */
	ring_consume(&sh->s.out[1], ring_used(&sh->s.out[1]));
}

/*
 * Multi-line and long commands are typed as one `eval "$(printf '...')"` spread over short
 * continuation lines: one prompt for the whole script (so one exit status), no line over
 * the tty's canonical limit, and the script's bytes reach the shell exactly (quotes,
 * backslashes, % and non-ASCII as \ooo). printf and eval are POSIX builtins.
 */
static int shell_type_encoded(struct shell *sh, const char *text, size_t n)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789 !\"#$&()*+,-./:;<=>?@[]^_`{|}~";
	char buf[SHELL_CHUNK + 16];
	size_t i, o = 0;

	if (shell_type(sh, "eval \"$(printf '", strlen("eval \"$(printf '")) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)text[i];

		if (b != 0 && strchr(plain, b) != NULL)
			buf[o++] = (char)b;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\%03o", b);
		if (o >= SHELL_CHUNK && i + 1 < n) {
			memcpy(buf + o, "'\\\n'", 4);     /* close, continue the line, reopen */
			o += 4;
			sh->ps2_expected++;
			if (shell_type(sh, buf, o) < 0)
				return -1;
			o = 0;
		}
	}
	memcpy(buf + o, "')\"\n", 4);
	sh->echo_done = 1;          /* an echo of this would not match the command text */
	return shell_type(sh, buf, o + 4);
}

/* Type the next queued command. */
static void shell_start_next(struct shell *sh, int64_t now)
{
	struct cmd *c;
	size_t tl;
	int rc;

	if (sh->st != SH_IDLE || sh->nq == 0)
		return;
	c = sh->queue[0];
	memmove(sh->queue, sh->queue + 1, (size_t)(sh->nq - 1) * sizeof(sh->queue[0]));
	sh->nq--;
	tl = strlen(c->text);
	sh->ps2 = sh->ps2_expected = 0;
	sh->echo_done = 0;
	if (sh->dev != NULL)
		rc = 0;                     /* typed line by line by dev_start, below */
	else if (sh->mode[0] == '\0' && (memchr(c->text, '\n', tl) != NULL || tl > SHELL_LINE_SAFE))
		rc = shell_type_encoded(sh, c->text, tl);
	else
		rc = shell_type(sh, c->text, tl) < 0 || shell_type(sh, "\n", 1) < 0 ? -1 : 0;
	if (rc < 0) {
		err_set(&c->err, SSHMCP_ERR_USAGE, "command longer than the input buffer (%d bytes)",
		    SSHMCP_STDIN_RING);
		cmd_set_status(c, CMD_FAILED, now);
		c->sh = NULL;
		shell_start_next(sh, now);
		return;
	}
	sh->cur = c;
	sh->st = SH_BUSY;
	if (sh->s.log == &sh->s.logc)
		(void)str_fmt(sh->s.logc.tag, sizeof(sh->s.logc.tag), "[req %.24s] ", c->req);
	sh->nline = 0;
	sh->echo_pos = 0;
	sh->resetup = 0;
	sh->fresh = 0;
	sh->ncmds++;
	c->status = CMD_RUNNING;
	c->t_start = now;
	if (sh->dev != NULL) {
		dev_start(sh, c, now);      /* the filter keeps its state: the line goes on */
		return;
	}
	sh->f = (struct filt){ .st = FILT_TEXT };
	c->ctx = prompt_ctx(c->text);
}

/* Ctrl-C now; if the shell has not come back by the grace deadline, the channel goes. */
static void shell_interrupt(struct shell *sh, struct cmd *c, enum cmd_status why, int64_t now)
{
	if (c->stop != 0)
		return;
	c->stop = (int)why;
	c->grace_deadline = now + SSHMCP_INTERRUPT_GRACE_MS;
	if (c->status == CMD_QUEUED) {
		int i;

		for (i = 0; i < sh->nq; i++)
			if (sh->queue[i] == c) {
				memmove(sh->queue + i, sh->queue + i + 1,
				    (size_t)(sh->nq - i - 1) * sizeof(sh->queue[0]));
				sh->nq--;
				break;
			}
		cmd_set_status(c, why, now);
		c->sh = NULL;
		return;
	}
	(void)shell_type(sh, "\003", 1);
	if (c->status == CMD_AWAITING)
		c->status = CMD_RUNNING;
}

/* A quiet spell after output: is the last line a question, a REPL or a nested shell? */
static void shell_check_prompt(struct shell *sh, const struct prompt *pr, int64_t now)
{
	struct cmd *c = sh->cur;
	char line[SSHMCP_PROMPT_MAX + 1];
	enum prompt_kind kind;

	memcpy(line, sh->line, sh->nline);
	line[sh->nline] = '\0';
	sh->fresh = 0;
	kind = prompt_classify(pr, line);
	if (sh->ps2 > sh->ps2_expected && sh->nline == 0) {
		err_set(&c->err, SSHMCP_ERR_INCOMPLETE, "the shell wants more input: unbalanced "
		    "quotes, brackets or a trailing backslash");
		shell_interrupt(sh, c, CMD_FAILED, now);
		return;
	}
	if (kind == PROMPT_INPUT) {
		if (c->sudo_pw[0] != '\0' && !c->sudo_sent && strstr(line, "assword") != NULL) {
			c->sudo_sent = 1;      /* once: a wrong password comes back as a question */
			(void)shell_type(sh, c->sudo_pw, strlen(c->sudo_pw));
			(void)shell_type(sh, "\n", 1);
			return;
		}
		(void)str_copy(c->prompt, sizeof(c->prompt), line);
		c->status = CMD_AWAITING;
		return;
	}
	if (c->ctx == CTX_SHELL && kind == PROMPT_SHELL && !sh->resetup) {
		char setup[512];

		/* A nested shell: teach it our prompt, so exit codes keep coming. */
		sh->resetup = 1;
		sh->discard = 1;
		sh->nline = 0;
		if (shell_setup_line(sh, setup, sizeof(setup)) == 0)
			(void)shell_type(sh, setup, strlen(setup));
		return;
	}
	if ((c->ctx == CTX_REPL || sh->mode[0] != '\0') && kind == PROMPT_REPL) {
		sh->nline = 0;            /* the REPL prompt is not output */
		(void)str_copy(sh->mode, sizeof(sh->mode), "repl");
		(void)str_copy(c->mode, sizeof(c->mode), "repl");
		cmd_set_status(c, c->stop ? (enum cmd_status)c->stop : CMD_COMPLETED, now);
		c->sh = NULL;
		sh->cur = NULL;
		sh->st = SH_IDLE;
		shell_start_next(sh, now);
	}
}

/* Deadlines of the running command: timeout, then the interrupt's grace period. */
static int shell_check_deadlines(struct shell *sh, int64_t now)
{
	struct cmd *c = sh->cur;

	if (c == NULL)
		return 0;
	if (c->stop == 0 && c->deadline > 0 && now >= c->deadline)
		shell_interrupt(sh, c, CMD_TIMEOUT, now);
	if (c->stop != 0 && now >= c->grace_deadline) {
		/* Ctrl-C did not bring the shell back: close the channel, reopen on next use. */
		err_set(&c->err, SSHMCP_ERR_SESSION_LOST, "the command ignored Ctrl-C; the session "
		    "was closed (its working directory and environment are gone)");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------- device sessions --- */
/*
 * Bytes from a device go through the filter in device mode into a one-line terminal model
 * (dev_put): CR and BS move back and text overwrites, so a pager erased in place vanishes
 * and the page goes on seamlessly. Whole lines are the command's output once its echo has
 * passed; the last line waits: a prompt ends the command, a pager is answered, a question
 * is handed to the agent.
 */
static void dev_finish(struct shell *sh, struct cmd *c, int64_t now);

/* Type one line; `line` stays valid until the next (command text, profile, literal). */
static void dev_type_line(struct shell *sh, const char *line, size_t n, int64_t now)
{
	(void)shell_type(sh, line, n);
	(void)shell_type(sh, "\n", 1);
	sh->dtyped = line;
	sh->dtypedlen = n;
	sh->decho = 0;
	sh->dlines = 0;
	sh->dsent = now;
}

/* Type the next line of the command text or pager_off; 0 when none is left. */
static int dev_type_next(struct shell *sh, int64_t now)
{
	const char *p = sh->dnext;
	size_t n, len;

	if (p == NULL || *p == '\0')
		return 0;
	n = len = strcspn(p, "\n");
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	dev_type_line(sh, p, n, now);
	sh->dnext = p[len] == '\n' ? p + len + 1 : p + len;
	return 1;
}

/* The line model starts an empty line. */
static void dev_line_clear(struct shell *sh)
{
	sh->dn = sh->dcol = sh->dfresh = 0;
}

/* The current line as text: trailing blanks go when the cursor went back over it. */
static void dev_line_text(const struct shell *sh, char *out, size_t cap)
{
	size_t n = sh->dn < cap ? sh->dn : cap - 1;

	memcpy(out, sh->dline, n);
	while (n > sh->dfresh && n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
}

/* The typed line's echo: a line that ends with it (after a prompt, or alone). */
static int dev_is_echo(const struct shell *sh, const char *line)
{
	size_t n = sh->dtypedlen, ll = strlen(line);

	while (ll > 0 && line[ll - 1] == ' ')
		ll--;
	return sh->dtyped != NULL && ll >= n && memcmp(line + ll - n, sh->dtyped, n) == 0;
}

static int dev_mode_of(const struct shell *sh, const char *line, char *name, size_t cap);

/* Does the session's pattern i match? False before the prompt is learned. */
static int dev_re_hit(const struct shell *sh, int i, const char *line)
{
	return (sh->dre_set & 1u << i) != 0 && regexec(&sh->dre[i], line, 0, NULL, 0) == 0;
}

/* Lines before the echo: answers to earlier newlines (a slow link delivers them late) are
 * a prompt alone and go; anything else means the device does not echo: it is output. */
static int dev_before_echo(struct shell *sh, const char *line)
{
	char mode[16];

	if (line[0] == '\0')
		return 1;
	if (dev_is_echo(sh, line)) {
		sh->decho = 1;
		return 1;
	}
	if (dev_mode_of(sh, line, mode, sizeof(mode)) >= 0)
		return 1;
	sh->decho = 1;
	return 0;
}

/* Junos prints "[edit interfaces ge-0/0/1]" (after a blank line) before every config
 * prompt: part of the prompt, not of the output. Such lines wait here; a line of output
 * after them lets them through, the prompt drops them (dev_held_end). */
static int dev_hold(struct shell *sh, struct cmd *c, const char *line)
{
	size_t n = strlen(line);
	int ctx = dev_re_hit(sh, DEV_RE_CONTEXT, line);

	if (sh->dev->context_re == NULL || (line[0] != '\0' && !ctx) ||
	    n + 1 > sizeof(sh->dheld) - sh->nheld) {
		ring_append(&c->out, sh->dheld, sh->nheld);
		sh->nheld = 0;
		sh->dheld_ctx = 0;
		return 0;
	}
	memcpy(sh->dheld + sh->nheld, line, n);
	sh->dheld[sh->nheld + n] = '\n';
	sh->nheld += n + 1;
	sh->dheld_ctx |= ctx;
	return 1;
}

/* The prompt came: held blank lines were output unless a context line followed them. */
static void dev_held_end(struct shell *sh, struct cmd *c)
{
	if (!sh->dheld_ctx)
		ring_append(&c->out, sh->dheld, sh->nheld);
	sh->nheld = 0;
	sh->dheld_ctx = 0;
}

/* A whole line arrived: output of the running command once its echo went by. */
static void dev_line_end(struct shell *sh)
{
	char line[SSHMCP_DEV_LINE_MAX];
	struct cmd *c = sh->cur;

	dev_line_text(sh, line, sizeof(line));
	dev_line_clear(sh);
	if (sh->dphase == DEV_ENABLE && (dev_re_hit(sh, DEV_RE_ERROR, line) ||
	    dev_re_match("[Dd]enied|[Bb]ad secret|[Ii]nvalid password|[Ww]rong", line)))
		sh->dbad = 1;
	if (sh->dphase == DEV_LOGIN) {
		sh->decho = 1;              /* the device answered a newline (or the banner goes on) */
		return;
	}
	if (!sh->decho && dev_before_echo(sh, line))
		return;
	if (c == NULL || sh->dphase != DEV_RUN || dev_hold(sh, c, line))
		return;
	if (sh->dlines++ < SSHMCP_DEV_ERR_LINES && dev_re_hit(sh, DEV_RE_ERROR, line))
		err_set(&c->err, SSHMCP_ERR_DEVICE, "the device rejected '%.*s': %s",
		    (int)(sh->dtypedlen < 120 ? sh->dtypedlen : 120), sh->dtyped, line);
	ring_append(&c->out, line, strlen(line));
	ring_append(&c->out, "\n", 1);
}

/* Filtered device bytes into the line model. */
static void dev_put(struct shell *sh, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char b = p[i];

		if (b == '\n') {
			dev_line_end(sh);
		} else if (b == '\r') {
			sh->dcol = sh->dfresh = 0;
		} else if (b == '\b' || b == FILT_TOK_LEFT) {
			size_t k = b == '\b' ? 1 : i + 1 < n ? p[++i] : 1;

			sh->dcol = sh->dcol > k ? sh->dcol - k : 0;
			sh->dfresh = 0;
		} else if (b == FILT_TOK_EL) {
			sh->dn = sh->dcol;
			if (sh->dfresh > sh->dn)
				sh->dfresh = sh->dn;
		} else {
			if (sh->dcol == sizeof(sh->dline)) {
				dev_line_end(sh);       /* a line longer than any prompt: let it go */
			}
			sh->dline[sh->dcol++] = (char)b;
			if (sh->dcol > sh->dn)
				sh->dn = sh->dcol;
			if (sh->dcol > sh->dfresh)
				sh->dfresh = sh->dcol;
		}
	}
}

/* After a read: advance a pager that shows. */
static void dev_after_feed(struct shell *sh)
{
	char line[SSHMCP_PROMPT_MAX];

	if (sh->dn == 0 || sh->dn >= sizeof(line))
		return;
	dev_line_text(sh, line, sizeof(line));
	if (dev_re_hit(sh, DEV_RE_PAGER, line)) {
		(void)shell_type(sh, sh->dev->pager_key, strlen(sh->dev->pager_key));
		dev_line_clear(sh);
	}
}

static void dev_re_free(struct shell *sh)
{
	int i;

	for (i = 0; i < DEV_RE_COUNT; i++)
		if (sh->dre_set & 1u << i)
			regfree(&sh->dre[i]);
	sh->dre_set = 0;
}

/* Compile dre[i]; a pattern the profile does not have (NULL) stays unset: never a hit. */
static int dev_re_set(struct shell *sh, int i, const char *src)
{
	if (src == NULL)
		return 0;
	if (dev_re_comp(&sh->dre[i], src, 1) < 0)
		return -1;
	sh->dre_set |= 1u << i;
	return 0;
}

/* The host name is known: compile the prompts of every mode with it. */
static int dev_learn(struct shell *sh, const char *host)
{
	const struct dev_profile *p = sh->dev;
	char re[SSHMCP_PROMPT_MAX * 2 + 64];
	int i;

	dev_re_free(sh);
	(void)str_copy(sh->dhost, sizeof(sh->dhost), host);
	for (i = 0; i < DEV_MODES_MAX && p->modes[i].name != NULL; i++)
		if (dev_mode_re(p->modes[i].re, host, re, sizeof(re)) < 0 || dev_re_set(sh, i, re) < 0)
			return -1;
	return dev_re_set(sh, DEV_RE_PAGER, p->pager_re) < 0 ||
	    dev_re_set(sh, DEV_RE_ERROR, p->error_re) < 0 ||
	    dev_re_set(sh, DEV_RE_CONTEXT, p->context_re) < 0 ? -1 : 0;
}

/* Which mode's prompt is this line? Its name into `name`; -1 when none. */
static int dev_mode_of(const struct shell *sh, const char *line, char *name, size_t cap)
{
	int i;

	for (i = 0; i < DEV_MODES_MAX; i++) {
		const char *m = sh->dev->modes[i].name;

		if (m == NULL || !dev_re_hit(sh, i, line))
			continue;
		if (strcmp(m, "config-sub") == 0)
			dev_submode(line, name, cap);
		else
			(void)str_copy(name, cap, strcmp(m, "user") == 0 && sh->dpriv ? "privileged" : m);
		return i;
	}
	return -1;
}

/* A device session starts: a newline makes the device print its prompt again. */
static void dev_login(struct shell *sh, int64_t now)
{
	sh->st = SH_SETUP;
	sh->dphase = DEV_LOGIN;
	sh->deadline = now + SSHMCP_SHELL_START_MS;
	sh->f = (struct filt){ .dev = 1 };
	sh->nhold = 0;
	dev_line_clear(sh);
	sh->dprobes = 0;
	sh->dcand[0] = '\0';
	dev_type_line(sh, "", 0, now);
}

/* Login: the same prompt twice in a row, each the last line after a newline came back, is
 * the prompt (a banner line that looks like one is followed by more). One newline at a
 * time is typed, a next one only once the last was answered or after a long quiet. */
static void dev_probe(struct shell *sh, const char *line, int stage, int64_t now)
{
	char host[SSHMCP_PROMPT_MAX];
	int like = dev_host_of(sh->dev, line, host, sizeof(host)) == 0;

	if (dev_re_match(DEV_PRESS_KEY, line)) {
		dev_type_line(sh, "", 0, now);
		return;
	}
	if (like && sh->decho && strcmp(line, sh->dcand) == 0) {
		if (dev_learn(sh, host) < 0 || dev_mode_of(sh, line, sh->mode, sizeof(sh->mode)) < 0) {
			err_set(&sh->s.err, SSHMCP_ERR_INTERNAL, "profile %s: bad prompt pattern",
			    sh->dev->name);
			sh->s.state = SESS_DEAD;
			return;
		}
		sh->dphase = DEV_PAGER;
		sh->dnext = sh->dev->pager_off;
		dev_line_clear(sh);
		if (!dev_type_next(sh, now)) {
			sh->dphase = DEV_IDLE;
			sh->st = SH_IDLE;
			sh->was_ready = 1;
			shell_start_next(sh, now);
		}
		return;
	}
	if (stage < DEV_AT_RELEARN && !(like && sh->decho))
		return;                     /* more may come: look again after a longer quiet */
	if (++sh->dprobes > SSHMCP_DEV_PROBES) {
		err_set(&sh->s.err, SSHMCP_ERR_CHANNEL, "no %s prompt after login (the last line "
		    "was '%.80s'): wrong device_type?", sh->dev->name, line);
		sh->s.state = SESS_DEAD;
		return;
	}
	(void)str_copy(sh->dcand, sizeof(sh->dcand), line);
	dev_type_line(sh, "", 0, now);
}

/* The command's end: status from the device's messages, exit code unknown (never 0). */
static void dev_finish(struct shell *sh, struct cmd *c, int64_t now)
{
	dev_held_end(sh, c);
	(void)str_copy(c->mode, sizeof(c->mode), shell_mode_name(sh));
	c->has_exit = 0;
	cmd_set_status(c, c->stop ? (enum cmd_status)c->stop :
	    c->err.code != SSHMCP_OK ? CMD_FAILED : CMD_COMPLETED, now);
	c->sh = NULL;
	sh->cur = NULL;
	sh->st = SH_IDLE;
	sh->dphase = DEV_IDLE;
	sh->t_used = now;
	shell_start_next(sh, now);
}

/* The command starts: climb to privileged first when a new enable password came. */
static void dev_start(struct shell *sh, struct cmd *c, int64_t now)
{
	sh->dnext = c->text;
	sh->dtries = sh->dbad = 0;
	if (sh->enable_want && sh->dev->enable_cmd != NULL && strcmp(sh->mode, "user") == 0) {
		sh->enable_want = 0;
		sh->dphase = DEV_ENABLE;
		dev_type_line(sh, sh->dev->enable_cmd, strlen(sh->dev->enable_cmd), now);
		return;
	}
	sh->dphase = DEV_RUN;
	if (!dev_type_next(sh, now))
		dev_type_line(sh, "", 0, now);
}

/* enable came back to a prompt: did it work? A repeated password question, an error
 * line or an unchanged user prompt (where the platform shows the level) say no. */
static void dev_enable_done(struct shell *sh, struct cmd *c, int was_user, int64_t now)
{
	int same = strcmp(sh->mode, "user") == 0;

	if (sh->dtries > 1 || sh->dbad ||
	    (same && was_user && dev_profile_has_mode(sh->dev, "privileged"))) {
		err_set(&c->err, SSHMCP_ERR_AUTH, "%s: the enable password was rejected; the "
		    "session stays in %s mode and the command did not run", sh->dev->enable_cmd,
		    sh->mode);
		dev_finish(sh, c, now);
		return;
	}
	if (same) {                 /* Huawei super: the level rose, the prompt stays */
		sh->dpriv = 1;
		(void)str_copy(sh->mode, sizeof(sh->mode), "privileged");
	}
	sh->dphase = DEV_RUN;
	if (!dev_type_next(sh, now))
		dev_type_line(sh, "", 0, now);
}

/* The learned prompt is the last line: the step in progress is over. */
static void dev_on_prompt(struct shell *sh, const char *mode, int64_t now)
{
	struct cmd *c = sh->cur;
	int was_user = strcmp(sh->mode, "user") == 0;

	(void)str_copy(sh->mode, sizeof(sh->mode), mode);
	switch (sh->dphase) {
	case DEV_PAGER:
		if (dev_type_next(sh, now))
			return;
		sh->dphase = DEV_IDLE;
		sh->st = SH_IDLE;
		sh->was_ready = 1;
		shell_start_next(sh, now);
		return;
	case DEV_ENABLE:
		if (c != NULL && c->stop != 0)
			dev_finish(sh, c, now);
		else if (c != NULL)
			dev_enable_done(sh, c, was_user, now);
		return;
	case DEV_RUN:
		if (c == NULL)
			return;
		dev_held_end(sh, c);
		if (c->err.code == SSHMCP_OK && c->stop == 0 && dev_type_next(sh, now))
			return;
		dev_finish(sh, c, now);
		return;
	case DEV_LOGIN:
	case DEV_IDLE:
		return;
	}
}

/* A question on the last line: the enable password we hold, or the agent's turn. */
static void dev_question(struct shell *sh, struct cmd *c, const char *line)
{
	int pw = strstr(line, "assword") != NULL;

	if (sh->dphase == DEV_ENABLE && pw) {
		if (sh->dtries++ == 0)
			(void)shell_type(sh, sh->enable_pw, strlen(sh->enable_pw));
		(void)shell_type(sh, "\n", 1);      /* again: wrong, let the device give up */
		sh->fresh = 0;
		return;
	}
	if (sh->dphase != DEV_RUN || c->status != CMD_RUNNING)
		return;
	if (pw && sh->enable_pw[0] != '\0' && !c->sudo_sent && sh->dev->enable_cmd != NULL &&
	    sh->dtyped != NULL &&
	    strncmp(sh->dtyped, sh->dev->enable_cmd, strlen(sh->dev->enable_cmd)) == 0) {
		c->sudo_sent = 1;       /* the agent typed enable itself: once, as for sudo */
		(void)shell_type(sh, sh->enable_pw, strlen(sh->enable_pw));
		(void)shell_type(sh, "\n", 1);
		sh->fresh = 0;
		return;
	}
	(void)str_copy(c->prompt, sizeof(c->prompt), line);
	c->status = CMD_AWAITING;
	sh->fresh = 0;
}

/* A quiet spell on a device: what is the last line? Looked at three times as the quiet
 * grows: the learned prompt counts after a short settle, a question after the shell's
 * quiet, an unlearned prompt (a new host name) or a missing echo after a long one. */
static void dev_check(struct shell *sh, const struct prompt *pr, int64_t now)
{
	char line[SSHMCP_PROMPT_MAX], mode[16], host[SSHMCP_PROMPT_MAX];
	struct cmd *c = sh->cur;
	int stage = sh->dstage;

	sh->dstage = stage + 1;
	if (stage >= DEV_AT_RELEARN)
		sh->fresh = 0;              /* nothing more to wait for until new data */
	dev_line_text(sh, line, sizeof(line));
	if (sh->dphase == DEV_LOGIN) {
		dev_probe(sh, line, stage, now);
		return;
	}
	if (dev_mode_of(sh, line, mode, sizeof(mode)) >= 0) {
		if (!sh->decho && now - sh->dsent < SSHMCP_DEV_RELEARN_MS)
			return;             /* the echo first: the prompt may be an old one */
		sh->fresh = 0;
		dev_on_prompt(sh, mode, now);
		return;
	}
	if ((stage >= DEV_AT_QUIET || sh->dphase == DEV_ENABLE) && c != NULL && line[0] != '\0' &&
	    (prompt_classify(pr, line) == PROMPT_INPUT ||
	    regexec(&pr->confirm, line, 0, NULL, 0) == 0)) {
		dev_question(sh, c, line);
		return;
	}
	/* A prompt of the platform, but not the learned one: the host name changed. */
	if (stage >= DEV_AT_RELEARN && sh->decho &&
	    dev_host_of(sh->dev, line, host, sizeof(host)) == 0 && dev_learn(sh, host) == 0 &&
	    dev_mode_of(sh, line, mode, sizeof(mode)) >= 0)
		dev_on_prompt(sh, mode, now);
}

/* When the next look at the last line is due. */
static int64_t dev_check_at(const struct shell *sh)
{
	static const int wait_ms[] = { SSHMCP_DEV_SETTLE_MS, SSHMCP_QUIET_MS,
		SSHMCP_DEV_RELEARN_MS };

	return sh->last_rx + wait_ms[sh->dstage < DEV_AT_RELEARN ? sh->dstage : DEV_AT_RELEARN];
}

/* No device_type and no sentinel: if the last line is a device's prompt, become one. */
static void dev_detect_shell(struct shell *sh, int64_t now)
{
	char line[SSHMCP_PROMPT_MAX];
	const struct dev_profile *p;

	sh->fresh = 0;
	memcpy(line, sh->line, sh->nline);         /* dev_track keeps it without its newline */
	line[sh->nline] = '\0';
	if (dev_re_match(DEV_PRESS_KEY, line)) {
		(void)shell_type(sh, "\n", 1);     /* ProCurve: a key before the prompt */
		return;
	}
	if ((p = dev_detect(line, sh->banner)) == NULL)
		return;
	if (sh->dprobes++ == 0) {
		char setup[512];

		/* A login script may have flushed what we typed: a shell gets a second chance
		 * (bash-5.1# looks like a router too). */
		if (shell_setup_line(sh, setup, sizeof(setup)) == 0)
			(void)shell_type(sh, setup, strlen(setup));
		return;
	}
	log_msg(sh->s.log, LOG_DEBUG1, "no POSIX shell answered; the prompt '%s' is %s",
	    line, p->name);
	sh->dev = p;
	sh->dev_auto = 0;
	sh->nline = 0;
	dev_login(sh, now);
}

/* Login output before a sentinel: its last line and first bytes, for dev_detect_shell. */
static void dev_track(struct shell *sh, const unsigned char *p, size_t n)
{
	size_t i, room = sizeof(sh->banner) - 1 - sh->nbanner;

	memcpy(sh->banner + sh->nbanner, p, n < room ? n : room);
	sh->nbanner += n < room ? n : room;
	sh->banner[sh->nbanner] = '\0';
	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			sh->nline = 0;
		else if (sh->nline < sizeof(sh->line) - 1)
			sh->line[sh->nline++] = (char)p[i];
	}
}

/* A device session's turn in shell_step. */
static void dev_step(struct shell *sh, const struct prompt *pr, int64_t now)
{
	if (sh->st == SH_SETUP && now >= sh->deadline && sh->s.state == SESS_RUNNING) {
		char line[SSHMCP_PROMPT_MAX];

		dev_line_text(sh, line, sizeof(line));
		err_set(&sh->s.err, SSHMCP_ERR_CHANNEL, "no %s prompt within %d s after login "
		    "(the last line was '%.80s')", sh->dev->name, SSHMCP_SHELL_START_MS / 1000, line);
		sh->s.state = SESS_DEAD;
		return;
	}
	if (sh->st == SH_BUSY && sh->cur != NULL && sh->dphase == DEV_ENABLE &&
	    sh->cur->stop == 0 && now - sh->dsent >= SSHMCP_DEV_ENABLE_MS) {
		err_set(&sh->cur->err, SSHMCP_ERR_AUTH, "%s: no prompt within %d s; the command did "
		    "not run", sh->dev->enable_cmd, SSHMCP_DEV_ENABLE_MS / 1000);
		shell_interrupt(sh, sh->cur, CMD_FAILED, now);
	}
	if (sh->st == SH_BUSY && sh->cur != NULL && shell_check_deadlines(sh, now) < 0) {
		sh->s.state = SESS_DEAD;
		return;
	}
	if (sh->fresh && (sh->st == SH_SETUP || (sh->st == SH_BUSY && sh->cur != NULL &&
	    sh->cur->status == CMD_RUNNING)) && now >= dev_check_at(sh)) {
		dev_check(sh, pr, now);
		if (sh->s.state == SESS_RUNNING)
			sess_step(&sh->s, now);
	}
}

/* The session ended: settle the current and queued commands. */
static void shell_end(struct shell *sh, int64_t now)
{
	struct cmd *c = sh->cur;
	int clean = sh->s.state == SESS_DONE;
	int i;

	sh->report_lost = !clean && c == NULL;
	if (c != NULL) {
		shell_commit_line(sh);
		if (clean && c->stop == 0) {
			c->exit_code = sh->s.exit_status;
			c->has_exit = sh->s.exit_status >= 0 && sh->dev == NULL;
			c->ended_session = 1;
			cmd_set_status(c, CMD_COMPLETED, now);
		} else {
			if (!sh->was_ready && sh->s.err.code != SSHMCP_OK)
				err_set(&c->err, sh->s.err.code, "%s", sh->s.err.msg);
			err_set(&c->err, SSHMCP_ERR_SESSION_LOST, "session %s to %s lost: %s", sh->name,
			    sh->alias, sh->s.err.code != SSHMCP_OK ? sh->s.err.msg : "the shell exited");
			cmd_set_status(c, c->stop ? (enum cmd_status)c->stop : CMD_FAILED, now);
		}
		c->sh = NULL;
		sh->cur = NULL;
	}
	for (i = 0; i < sh->nq; i++) {
		c = sh->queue[i];
		if (!sh->was_ready && sh->s.err.code != SSHMCP_OK)
			err_set(&c->err, sh->s.err.code, "%s", sh->s.err.msg);  /* never connected */
		err_set(&c->err, SSHMCP_ERR_SESSION_LOST, "session %s to %s ended before the command "
		    "ran", sh->name, sh->alias);
		cmd_set_status(c, CMD_FAILED, now);
		c->sh = NULL;
	}
	sh->nq = 0;
	shell_files_end(sh);
	sh->st = SH_CLOSED;
}

static void shell_step(struct shell *sh, const struct prompt *pr, int64_t now)
{
	if (sh->st == SH_CLOSED)
		return;
	sess_step(&sh->s, now);
	if (sh->s.state == SESS_RUNNING && sh->st == SH_CONNECTING) {
		if (sh->dev != NULL)
			dev_login(sh, now);
		else
			shell_resetup(sh, now);
		sess_step(&sh->s, now);
	}
	if (ring_used(&sh->s.out[0]) > 0) {
		shell_feed(sh, now);
		sess_step(&sh->s, now);     /* the ring has room again: read on without waiting */
		shell_feed(sh, now);
	}
	if (sh->dev == NULL && sh->dev_auto && sh->st == SH_SETUP && sh->fresh &&
	    now - sh->last_rx >= SSHMCP_DEV_DETECT_MS)
		dev_detect_shell(sh, now);
	if (sh->dev != NULL) {
		dev_step(sh, pr, now);
	} else if (sh->st == SH_SETUP && now >= sh->deadline && sh->s.state == SESS_RUNNING) {
		err_set(&sh->s.err, SSHMCP_ERR_CHANNEL, "the remote shell did not answer its setup "
		    "within %d s (not a POSIX shell, and no network device prompt either)",
		    SSHMCP_SHELL_START_MS / 1000);
		sh->s.state = SESS_DEAD;
	} else if (sh->st == SH_BUSY && sh->cur != NULL) {
		if (shell_check_deadlines(sh, now) < 0) {
			sh->s.state = SESS_DEAD;
		} else if (sh->fresh && sh->cur->status == CMD_RUNNING &&
		    now - sh->last_rx >= SSHMCP_QUIET_MS) {
			shell_check_prompt(sh, pr, now);
			if (sh->s.state == SESS_RUNNING)
				sess_step(&sh->s, now);
		}
	}
	if (sh->fops != NULL) {
		shell_files(sh, now);
		sess_step(&sh->s, now);     /* SFTP reads may have queued shell output */
		shell_feed(sh, now);
	}
	if (ring_used(&sh->s.in) > 0 && sh->s.state == SESS_RUNNING)
		sess_step(&sh->s, now);     /* what was typed above goes out now, not on the next wake */
	if (sh->s.state >= SESS_DONE)
		shell_end(sh, now);
}

static int64_t shell_deadline(const struct shell *sh)
{
	int64_t d = sess_deadline(&sh->s), f = shell_files_deadline(sh);
	const struct cmd *c = sh->cur;

	if (f < d)
		d = f;
	if (sh->st == SH_SETUP && sh->deadline < d)
		d = sh->deadline;
	if (sh->fresh && sh->dev == NULL && sh->dev_auto && sh->st == SH_SETUP &&
	    sh->last_rx + SSHMCP_DEV_DETECT_MS < d)
		d = sh->last_rx + SSHMCP_DEV_DETECT_MS;
	if (sh->fresh && sh->dev != NULL && (sh->st == SH_SETUP || (sh->st == SH_BUSY &&
	    c != NULL && c->status == CMD_RUNNING)) && dev_check_at(sh) < d)
		d = dev_check_at(sh);
	if (sh->dev != NULL && sh->st == SH_BUSY && c != NULL && c->stop == 0 &&
	    sh->dphase == DEV_ENABLE && sh->dsent + SSHMCP_DEV_ENABLE_MS < d)
		d = sh->dsent + SSHMCP_DEV_ENABLE_MS;
	if (sh->st != SH_BUSY || c == NULL)
		return d;
	if (c->stop == 0 && c->deadline > 0 && c->deadline < d)
		d = c->deadline;
	if (c->stop != 0 && c->grace_deadline < d)
		d = c->grace_deadline;
	if (sh->fresh && sh->dev == NULL && c->status == CMD_RUNNING &&
	    sh->last_rx + SSHMCP_QUIET_MS < d)
		d = sh->last_rx + SSHMCP_QUIET_MS;
	return d;
}

static void shell_free(struct shell *sh)
{
	if (sh == NULL)
		return;
	dev_re_free(sh);
	mem_wipe(sh->enable_pw, sizeof(sh->enable_pw));
	sess_unlink(&sh->s);
	if (sh->sftp != NULL)
		(void)libssh2_sftp_shutdown(sh->sftp);
	shell_files_free(sh);
	sess_free(&sh->s);
	free(sh);
}

/* A new shell session to `t` (resolved); connecting starts on the next loop turn. */
static struct shell *shell_new(const struct target *t, const char *name, const struct log *lg,
    int64_t now)
{
	struct shell *sh = calloc(1, sizeof(*sh));
	unsigned char rnd[8];
	char hex[17];
	int i;

	if (sh == NULL)
		return NULL;
	sh->job = (struct job){ .command = NULL, .want_pty = 1, .term = "vt100",
		.cols = SSHMCP_PTY_COLS, .rows = SSHMCP_PTY_ROWS, .forward_stdin = 1 };
	if (sess_init(&sh->s, &sh->job, lg, SHELL_IN_RING, now) < 0 ||
	    getentropy(rnd, sizeof(rnd)) < 0) {
		shell_free(sh);
		return NULL;
	}
	for (i = 0; i < 8; i++)
		(void)str_fmt(hex + 2 * i, 3, "%02x", rnd[i]);
	(void)str_copy(sh->nonce, sizeof(sh->nonce), hex);
	(void)str_fmt(sh->marker, sizeof(sh->marker), "__SSHMCP_%s_", hex);
	(void)str_fmt(sh->endmark, sizeof(sh->endmark), "_%s__", hex);
	sh->s.t = *t;
	(void)str_copy(sh->name, sizeof(sh->name), name);
	(void)str_copy(sh->alias, sizeof(sh->alias), t->alias);
	(void)str_fmt(sh->key, sizeof(sh->key), "%s@%s:%d/%s", t->user, t->host, t->port, name);
	sh->st = SH_CONNECTING;
	sh->t_created = sh->t_used = now;
	sh->s.logc = *lg;
	sh->s.log = &sh->s.logc;
	sess_start(&sh->s, now);
	return sh;
}

/* ================================================================ SFTP === */
/*
 * read_file and write_file over SFTP on the session's own connection (a channel of its
 * own: the shell keeps working). One file operation at a time per session, each a small
 * state machine stepped from the loop like everything else. Writes go to a temp file in
 * the same directory, then rename over the target (posix-rename@openssh.com): readers see
 * the old file or the new one, never half of it.
 */
enum fop_kind { FOP_READ, FOP_WRITE };
enum fop_step { FOP_MKDIRS, FOP_STAT, FOP_OPEN, FOP_FSTAT, FOP_IO, FOP_SETSTAT,
	FOP_CLOSE, FOP_RENAME, FOP_UNLINK, FOP_STAGED, FOP_SHELL, FOP_DONE };

struct fop {
	enum fop_kind kind;
	enum fop_step step;
	char id[128];                       /* the request waiting for the result */
	char path[SSHMCP_PATH_MAX];
	char tmp[SSHMCP_PATH_MAX];          /* write: the temp file, "" once renamed */
	unsigned char *data;                /* read: what was read; write: the content */
	size_t len, done;
	uint64_t offset, size;
	unsigned long mode;
	int mode_given, append, create_dirs, target_exists, mkdir_denied;
	int staged;                         /* sudo write: upload to tmp, then sudo install */
	char sudo_pw[SSHMCP_SECRET_MAX];    /* until the sudo command takes it */
	size_t mkdir_pos;
	LIBSSH2_SFTP_HANDLE *h;
	struct err err;
	int64_t deadline;
	struct cmd *cmd;                    /* sudo: the shell command doing the work */
	struct fop *next;
};

static void fop_free(struct fop *op)
{
	if (op == NULL)
		return;
	mem_wipe(op->sudo_pw, sizeof(op->sudo_pw));
	free(op->data);
	free(op);
}

/* An SFTP status as one clear, typed line. */
static void fop_fail(struct fop *op, LIBSSH2_SFTP *sftp, const char *what)
{
	unsigned long fx = sftp != NULL ? libssh2_sftp_last_error(sftp) : 0;
	enum sshmcp_err code = SSHMCP_ERR_IO;
	const char *why = "failed";

	if (op->mkdir_denied && (fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH))
		fx = LIBSSH2_FX_PERMISSION_DENIED;  /* create_dirs could not make the parents */
	switch (fx) {
	case LIBSSH2_FX_NO_SUCH_FILE: case LIBSSH2_FX_NO_SUCH_PATH:
		code = SSHMCP_ERR_NOT_FOUND, why = "no such file or directory"; break;
	case LIBSSH2_FX_PERMISSION_DENIED: case LIBSSH2_FX_WRITE_PROTECT:
		code = SSHMCP_ERR_PERMISSION, why = "permission denied"; break;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: case LIBSSH2_FX_QUOTA_EXCEEDED:
		code = SSHMCP_ERR_NO_SPACE, why = "no space left on the device"; break;
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		code = SSHMCP_ERR_NOT_FOUND, why = "a parent is not a directory"; break;
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		why = "already exists"; break;
	}
	err_set(&op->err, code, "%s %s: %s", what, op->path, why);
}

/* Move mkdir_pos to the end of the target's next parent directory; 0 when none is left. */
static int fop_next_dir(struct fop *op)
{
	const char *slash = strrchr(op->path, '/');
	size_t end = slash != NULL ? (size_t)(slash - op->path) : 0, k = op->mkdir_pos;

	while (k < end && op->path[k] == '/')
		k++;
	if (k >= end)
		return 0;
	op->mkdir_pos = k + strcspn(op->path + k, "/");
	return 1;
}

static int fop_eagain(LIBSSH2_SESSION *ssh)
{
	return libssh2_session_last_errno(ssh) == LIBSSH2_ERROR_EAGAIN;
}

/* Open: reads open the target; appends open it for append; other writes (and every sudo
 * write, staged for sudo to install) open a fresh temp. */
static enum step_rc fop_open(struct fop *op, LIBSSH2_SESSION *ssh, LIBSSH2_SFTP *sftp)
{
	int to_tmp = op->kind == FOP_WRITE && (!op->append || op->staged);
	const char *p = to_tmp ? op->tmp : op->path;
	unsigned long flags = op->kind == FOP_READ ? LIBSSH2_FXF_READ : !to_tmp ?
		(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_APPEND | LIBSSH2_FXF_CREAT) :
		(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL | LIBSSH2_FXF_TRUNC);

	op->h = libssh2_sftp_open_ex(sftp, p, (unsigned)strlen(p), flags,
	    op->kind == FOP_READ ? 0 : 0600, LIBSSH2_SFTP_OPENFILE);
	if (op->h == NULL) {
		if (fop_eagain(ssh))
			return STEP_WAIT;
		if (to_tmp)
			op->tmp[0] = '\0';      /* nothing was created */
		fop_fail(op, sftp, op->kind == FOP_READ ? "can't read" : "can't write");
		return STEP_FAIL;
	}
	op->step = op->kind == FOP_READ ? FOP_FSTAT : FOP_IO;
	return STEP_AGAIN;
}

static enum step_rc fop_io(struct fop *op, LIBSSH2_SESSION *ssh, LIBSSH2_SFTP *sftp)
{
	while (op->done < op->len) {
		ssize_t n = op->kind == FOP_READ ?
			libssh2_sftp_read(op->h, (char *)op->data + op->done, op->len - op->done) :
			libssh2_sftp_write(op->h, (const char *)op->data + op->done, op->len - op->done);

		if (n == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (n < 0) {
			(void)ssh;
			fop_fail(op, sftp, op->kind == FOP_READ ? "can't read" : "can't write");
			return STEP_FAIL;
		}
		if (n == 0)
			break;                  /* end of file */
		op->done += (size_t)n;
	}
	op->step = op->kind == FOP_WRITE && !op->staged && (!op->append || op->mode_given) ?
		FOP_SETSTAT : FOP_CLOSE;
	return STEP_AGAIN;
}

/* read: size and mode, refuse directories, seek to the offset. */
static enum step_rc fop_fstat(struct fop *op, LIBSSH2_SFTP *sftp)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc = libssh2_sftp_fstat_ex(op->h, &a, 0);

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return STEP_WAIT;
	if (rc != 0) {
		fop_fail(op, sftp, "can't stat");
		return STEP_FAIL;
	}
	op->size = a.filesize;
	op->mode = a.permissions;
	if (LIBSSH2_SFTP_S_ISDIR(a.permissions)) {
		err_set(&op->err, SSHMCP_ERR_IS_DIRECTORY, "can't read %s: is a directory", op->path);
		op->step = FOP_CLOSE;
		return STEP_AGAIN;
	}
	if (op->offset > op->size)
		op->offset = op->size;
	if (op->len > op->size - op->offset)
		op->len = (size_t)(op->size - op->offset);
	if ((op->data = malloc(op->len + 1)) == NULL) {
		err_set(&op->err, SSHMCP_ERR_NOMEM, "out of memory");
		op->step = FOP_CLOSE;
		return STEP_AGAIN;
	}
	libssh2_sftp_seek64(op->h, op->offset);
	op->step = FOP_IO;
	return STEP_AGAIN;
}

/* write: does the target exist, with which mode (kept unless `mode` is given)? */
static enum step_rc fop_stat(struct fop *op, LIBSSH2_SESSION *ssh, LIBSSH2_SFTP *sftp)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc = libssh2_sftp_stat_ex(sftp, op->path, (unsigned)strlen(op->path), LIBSSH2_SFTP_STAT,
	    &a);

	if (rc == LIBSSH2_ERROR_EAGAIN || (rc != 0 && fop_eagain(ssh)))
		return STEP_WAIT;
	op->target_exists = rc == 0;
	if (rc == 0 && LIBSSH2_SFTP_S_ISDIR(a.permissions)) {
		err_set(&op->err, SSHMCP_ERR_IS_DIRECTORY, "can't write %s: is a directory", op->path);
		return STEP_FAIL;
	}
	if (!op->mode_given)
		op->mode = rc == 0 ? (a.permissions & 07777) : 0644;
	op->step = FOP_OPEN;
	return STEP_AGAIN;
}

static enum step_rc fop_setstat(struct fop *op, LIBSSH2_SFTP *sftp)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	a.permissions = op->mode & 07777;
	rc = libssh2_sftp_fsetstat(op->h, &a);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return STEP_WAIT;
	if (rc != 0) {
		fop_fail(op, sftp, "can't set the mode of");
		return STEP_FAIL;
	}
	op->step = FOP_CLOSE;
	return STEP_AGAIN;
}

static enum step_rc fop_finish_steps(struct fop *op, LIBSSH2_SESSION *ssh, LIBSSH2_SFTP *sftp)
{
	int rc;

	switch (op->step) {
	case FOP_CLOSE:
		rc = op->h != NULL ? libssh2_sftp_close_handle(op->h) : 0;
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		op->h = NULL;
		op->step = op->err.code != SSHMCP_OK ? (op->tmp[0] != '\0' ? FOP_UNLINK : FOP_DONE) :
			op->staged ? FOP_STAGED :
			op->kind == FOP_WRITE && !op->append ? FOP_RENAME : FOP_DONE;
		return STEP_AGAIN;
	case FOP_RENAME:
		rc = libssh2_sftp_posix_rename_ex(sftp, op->tmp, strlen(op->tmp), op->path,
		    strlen(op->path));
		if (rc == LIBSSH2_ERROR_EAGAIN || (rc != 0 && fop_eagain(ssh)))
			return STEP_WAIT;
		if (rc != 0) {
			fop_fail(op, sftp, "can't replace");
			op->step = FOP_UNLINK;
			return STEP_AGAIN;
		}
		op->tmp[0] = '\0';
		op->step = FOP_DONE;
		return STEP_AGAIN;
	case FOP_UNLINK:                    /* a failed write leaves nothing behind */
		rc = libssh2_sftp_unlink_ex(sftp, op->tmp, (unsigned)strlen(op->tmp));
		if (rc == LIBSSH2_ERROR_EAGAIN || (rc != 0 && fop_eagain(ssh)))
			return STEP_WAIT;
		op->tmp[0] = '\0';
		op->step = FOP_DONE;
		return STEP_AGAIN;
	default:
		return STEP_FAIL;
	}
}

/* Advance one file operation; STEP_FAIL only records the error, cleanup still runs. */
static void fop_step(struct fop *op, LIBSSH2_SESSION *ssh, LIBSSH2_SFTP *sftp, int64_t now)
{
	enum step_rc rc = STEP_AGAIN;
	char dir[SSHMCP_PATH_MAX];

	while (rc == STEP_AGAIN && op->step < FOP_STAGED) {
		switch (op->step) {
		case FOP_MKDIRS:
			if (op->mkdir_pos == 0 && (!op->create_dirs || !fop_next_dir(op))) {
				op->step = FOP_STAT;
				break;
			}
			memcpy(dir, op->path, op->mkdir_pos);
			dir[op->mkdir_pos] = '\0';
			/* Existing directories fail harmlessly: only the final open can tell, but a
			 * refusal is remembered to explain a "no such file" then. */
			if (libssh2_sftp_mkdir_ex(sftp, dir, (unsigned)strlen(dir), 0755) != 0) {
				if (fop_eagain(ssh)) {
					rc = STEP_WAIT;
					break;
				}
				if (libssh2_sftp_last_error(sftp) == LIBSSH2_FX_PERMISSION_DENIED)
					op->mkdir_denied = 1;
			}
			if (!fop_next_dir(op))
				op->step = FOP_STAT;
			break;
		case FOP_STAT: rc = fop_stat(op, ssh, sftp); break;
		case FOP_OPEN: rc = fop_open(op, ssh, sftp); break;
		case FOP_FSTAT: rc = fop_fstat(op, sftp); break;
		case FOP_IO: rc = fop_io(op, ssh, sftp); break;
		case FOP_SETSTAT: rc = fop_setstat(op, sftp); break;
		default: rc = fop_finish_steps(op, ssh, sftp); break;
		}
		if (rc == STEP_FAIL) {
			op->step = op->h != NULL ? FOP_CLOSE : op->tmp[0] != '\0' ? FOP_UNLINK : FOP_DONE;
			rc = STEP_AGAIN;
		}
	}
	if (op->step < FOP_STAGED && now >= op->deadline && op->err.code == SSHMCP_OK) {
		err_set(&op->err, SSHMCP_ERR_TIMEOUT, "file operation on %s timed out", op->path);
		op->step = FOP_DONE;
	}
}

/* File operations ride on the shell's connection once it is up, one at a time. */
static void shell_files(struct shell *sh, int64_t now)
{
	struct fop *op;

	for (op = sh->fops; op != NULL && op->step >= FOP_STAGED; op = op->next)
		;
	if (op == NULL || sh->s.state != SESS_RUNNING)
		return;
	if (sh->sftp == NULL && (sh->sftp_refused || (sh->sftp = libssh2_sftp_init(sh->s.ssh)) == NULL)) {
		if (!sh->sftp_refused && fop_eagain(sh->s.ssh))
			return;
		sh->sftp_refused = 1;       /* once: libssh2 cannot retry a failed init cleanly */
		for (; op != NULL; op = op->next) {
			err_set(&op->err, SSHMCP_ERR_CHANNEL, "%s: the server refused the SFTP subsystem",
			    sh->alias);
			op->step = FOP_DONE;
		}
		return;
	}
	for (; op != NULL; op = op->next) {
		if (op->step >= FOP_STAGED)
			continue;           /* sudo operations finish as shell commands */
		fop_step(op, sh->s.ssh, sh->sftp, now);
		if (op->step < FOP_STAGED)
			break;
	}
}

static int64_t shell_files_deadline(const struct shell *sh)
{
	const struct fop *op;

	for (op = sh->fops; op != NULL; op = op->next)
		if (op->step < FOP_STAGED)
			return op->deadline;
	return INT64_MAX;
}

static void shell_files_free(struct shell *sh)
{
	while (sh->fops != NULL) {
		struct fop *op = sh->fops;

		sh->fops = op->next;
		fop_free(op);
	}
}

/* The session ended: pending file operations fail with its reason. */
static void shell_files_end(struct shell *sh)
{
	struct fop *op;

	for (op = sh->fops; op != NULL; op = op->next) {
		if (op->step == FOP_SHELL || op->step == FOP_DONE)
			continue;           /* a sudo operation ends with its command */
		if (sh->s.err.code != SSHMCP_OK && !sh->was_ready)
			err_set(&op->err, sh->s.err.code, "%s", sh->s.err.msg);
		err_set(&op->err, SSHMCP_ERR_SESSION_LOST, "session %s to %s ended", sh->name,
		    sh->alias);
		op->h = NULL;           /* freed with the session */
		op->step = FOP_DONE;
	}
}

/* ================================================= policy, audit, log === */
/*
 * What an operator allows: hosts (as the caller names them, before any resolution),
 * commands (EREs on every simple command the line contains, after unwrapping sudo, sh -c,
 * eval, find -exec, xargs...), read-only mode, limits. A line we cannot take apart with
 * confidence (unbalanced quotes, a command word built at run time) is refused when any
 * command rule is in force: when unsure, deny, and say why.
 */
struct pol_rule {
	regex_t re;
	char src[SSHMCP_LINE_MAX];          /* "pattern (file:line)" for refusal messages */
};

struct policy {
	char *allow_host[SSHMCP_POLICY_MAX];
	int nallow_host;
	struct pol_rule allow[SSHMCP_POLICY_MAX], deny[SSHMCP_POLICY_MAX];
	int nallow, ndeny;
	int read_only;
	int timeout_default, timeout_max;
	size_t ring_size;
	int max_sessions, max_cmds, max_cmds_host;
	char *audit_path, *log_path, *ssh_config;
	int accept_new;
};

/* One simple command: its words, dequoted; `dyn` bit i when word i is built at run time. */
struct pol_cmd {
	char *w[SSHMCP_POLICY_WORDS];
	int n;
	int depth;                          /* nesting: sh -c inside $(...) inside eval ... */
	uint64_t dyn;
};

struct pol_split {
	struct pol_cmd cmd[SSHMCP_POLICY_SEGS];
	int n;
	int unsure;                         /* could not be taken apart with confidence */
	int writes;                         /* output redirected to a file */
	char why[160];
};

/* The lexer's working state for one command line. */
struct pol_lex {
	struct pol_split *sp;
	struct pol_cmd cur;
	char word[SSHMCP_LINE_MAX];
	size_t wl;
	int inword, dyn, redirect;          /* redirect: 1 output target next, 2 input source */
	int depth;
};

static void pol_split_line(struct pol_split *sp, const char *s, size_t n, int depth);

static void pol_cmd_free(struct pol_cmd *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		free(c->w[i]);
	c->n = 0;
	c->dyn = 0;
}

static void pol_split_free(struct pol_split *sp)
{
	int i;

	for (i = 0; i < sp->n; i++)
		pol_cmd_free(&sp->cmd[i]);
	sp->n = 0;
}

static void pol_unsure(struct pol_split *sp, const char *why)
{
	if (!sp->unsure)
		(void)str_copy(sp->why, sizeof(sp->why), why);
	sp->unsure = 1;
}

static void pol_add(struct pol_lex *lx, char c)
{
	if (lx->wl >= sizeof(lx->word) - 1) {
		pol_unsure(lx->sp, "a word is too long to check");
		return;
	}
	lx->word[lx->wl++] = c;
	lx->inword = 1;
}

/* The word is complete: a redirection target, or the command's next word. */
static void pol_word_end(struct pol_lex *lx)
{
	if (!lx->inword)
		return;
	lx->word[lx->wl] = '\0';
	if (lx->redirect == 1 && strcmp(lx->word, "/dev/null") != 0)
		lx->sp->writes = 1;
	if (lx->redirect == 0) {
		if (lx->cur.n >= SSHMCP_POLICY_WORDS)
			pol_unsure(lx->sp, "a command has too many words to check");
		else if ((lx->cur.w[lx->cur.n] = strdup(lx->word)) != NULL) {
			if (lx->dyn && lx->cur.n < 64)
				lx->cur.dyn |= (uint64_t)1 << lx->cur.n;
			lx->cur.n++;
		}
	}
	lx->redirect = 0;
	lx->wl = 0;
	lx->inword = lx->dyn = 0;
}

static void pol_cmd_end(struct pol_lex *lx)
{
	pol_word_end(lx);
	if (lx->cur.n == 0)
		return;
	if (lx->sp->n >= SSHMCP_POLICY_SEGS) {
		pol_unsure(lx->sp, "too many commands in one line to check");
		pol_cmd_free(&lx->cur);
		return;
	}
	lx->cur.depth = lx->depth;
	lx->sp->cmd[lx->sp->n++] = lx->cur;
	memset(&lx->cur, 0, sizeof(lx->cur));
}

/* Index just past the ")" closing a "$(" or "<(" whose body starts at s[i]; -1 if none. */
static long pol_close_paren(const char *s, size_t n, size_t i)
{
	int depth = 1;
	char q = 0;

	for (; i < n; i++) {
		char c = s[i];

		if (q != 0) {
			if (c == q)
				q = 0;
			else if (c == '\\' && q == '"')
				i++;
			continue;
		}
		if (c == '\\')
			i++;
		else if (c == '\'' || c == '"')
			q = c;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return (long)i + 1;
	}
	return -1;
}

/* $(...), <(...), >(...) and `...`: the body is a command line of its own; the word that
 * holds it has a value known only at run time. Returns the index to continue from. */
static size_t pol_subst(struct pol_lex *lx, const char *s, size_t n, size_t i)
{
	long end;

	if (s[i] == '`') {
		const char *bq = memchr(s + i + 1, '`', n - i - 1);

		if (bq == NULL) {
			pol_unsure(lx->sp, "an unterminated backquote");
			return n;
		}
		pol_split_line(lx->sp, s + i + 1, (size_t)(bq - (s + i + 1)), lx->depth + 1);
		end = bq - s + 1;
	} else {
		if ((end = pol_close_paren(s, n, i + 2)) < 0) {
			pol_unsure(lx->sp, "an unbalanced $( or <(");
			return n;
		}
		pol_split_line(lx->sp, s + i + 2, (size_t)end - i - 3, lx->depth + 1);
	}
	pol_add(lx, '$');
	lx->dyn = 1;
	return (size_t)end - 1;
}

/* Unquoted > and <: redirections. "2>&1", "2>/dev/null" write nothing that matters. */
static size_t pol_redirect(struct pol_lex *lx, const char *s, size_t n, size_t i)
{
	int fdnum = lx->inword && lx->wl > 0 && strspn(lx->word, "0123456789") == lx->wl;

	if (fdnum)
		lx->wl = 0, lx->inword = 0;        /* "2" in "2>" is not a word */
	pol_word_end(lx);
	if (s[i] == '<') {
		lx->redirect = 2;
		return i;
	}
	while (i + 1 < n && (s[i + 1] == '>' || s[i + 1] == '|'))
		i++;
	if (i + 1 < n && s[i + 1] == '&') {        /* >&2: a descriptor, not a file */
		i++;
		while (i + 1 < n && (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '-'))
			i++;
		return i;
	}
	lx->redirect = 1;
	return i;
}

/* Split a command line into simple commands, recursing into substitutions. */
static void pol_split_line(struct pol_split *sp, const char *s, size_t n, int depth)
{
	struct pol_lex lx;
	char q = 0;
	size_t i;

	memset(&lx, 0, sizeof(lx));
	lx.sp = sp;
	lx.depth = depth;
	if (depth > SSHMCP_POLICY_DEPTH) {
		pol_unsure(sp, "commands nested too deeply to check");
		return;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (q == '\'') {
			if (c == '\'')
				q = 0;
			else
				pol_add(&lx, c);
		} else if (c == '\\' && i + 1 < n && s[i + 1] == '\n') {
			i++;                        /* a line continuation joins the word */
		} else if (c == '\\' && i + 1 < n) {
			pol_add(&lx, s[++i]);
		} else if (q == '"' && c == '"') {
			q = 0;
		} else if (q == 0 && (c == '\'' || c == '"')) {
			q = c;
			lx.inword = 1;
		} else if (c == '`' || (c == '$' && i + 1 < n && s[i + 1] == '(') ||
		    (q == 0 && (c == '<' || c == '>') && i + 1 < n && s[i + 1] == '(')) {
			i = pol_subst(&lx, s, n, i);
		} else if (c == '$') {
			pol_add(&lx, c);
			lx.dyn = 1;
		} else if (q == '"') {
			pol_add(&lx, c);
		} else if (c == ' ' || c == '\t') {
			pol_word_end(&lx);
		} else if (c == '>' || c == '<') {
			i = pol_redirect(&lx, s, n, i);
		} else if (strchr(";&|\n(){}", c) != NULL) {
			pol_cmd_end(&lx);
		} else if (c == '#' && !lx.inword) {
			while (i + 1 < n && s[i + 1] != '\n')
				i++;
		} else
			pol_add(&lx, c);
	}
	if (q != 0)
		pol_unsure(sp, "unbalanced quotes");
	pol_cmd_end(&lx);
}

/* Wrappers that run the command that follows them (after their own options). */
static const struct {
	const char *name;
	const char *argopts;                /* options that take a value */
} pol_wrappers[] = {
	{ "sudo", "ugpCDrtUhR" }, { "doas", "uC" }, { "env", "uSC" }, { "nohup", "" },
	{ "exec", "a" }, { "time", "fo" }, { "nice", "n" }, { "ionice", "cnp" },
	{ "timeout", "sk" }, { "stdbuf", "ioe" }, { "command", "" }, { "builtin", "" },
	{ "xargs", "aEdIiLlnPs" }, { "setsid", "" }, { "chrt", "" }, { "taskset", "" },
	{ "flock", "wEc" }, { "watch", "nd" }, { "unbuffer", "" }, { "busybox", "" },
};

static const char *pol_base(const char *w);

static const char *pol_base(const char *w)
{
	const char *b = strrchr(w, '/');

	return b != NULL ? b + 1 : w;
}

/* Index of the first word after a wrapper's options (and timeout's duration). */
static int pol_skip_opts(const struct pol_cmd *c, int k, const char *argopts, int wants_arg)
{
	for (k++; k < c->n && c->w[k][0] == '-' && c->w[k][1] != '\0'; k++) {
		if (strcmp(c->w[k], "--") == 0)
			return k + 1;
		if (c->w[k][1] != '-' && c->w[k][2] == '\0' && strchr(argopts, c->w[k][1]) != NULL)
			k++;
	}
	while (k < c->n && strchr(c->w[k], '=') != NULL && c->w[k][0] != '=')
		k++;                            /* env NAME=value */
	return k + (wants_arg && k < c->n);
}

/* find -exec/-execdir/-ok/-okdir CMD ... ; runs CMD: it is checked as a command too. */
static void pol_find_exec(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	int i, j;

	for (i = k + 1; i < c->n; i++) {
		struct pol_cmd *x;

		if (strncmp(c->w[i], "-exec", 5) != 0 && strncmp(c->w[i], "-ok", 3) != 0)
			continue;
		if (sp->n >= SSHMCP_POLICY_SEGS) {
			pol_unsure(sp, "too many commands in one line to check");
			return;
		}
		x = &sp->cmd[sp->n];
		memset(x, 0, sizeof(*x));
		x->depth = c->depth + 1;
		for (j = i + 1; j < c->n && strcmp(c->w[j], ";") != 0 && strcmp(c->w[j], "+") != 0;
		    j++)
			if ((x->w[x->n] = strdup(c->w[j])) != NULL)
				x->n++;
		if (x->n > 0)
			sp->n++;
		i = j;
	}
}

/* Where the real command starts, after assignments and wrappers; nested command lines
 * (sh -c, eval, su -c, find -exec) are added to `sp` to be checked in their turn. */
static int pol_is(const char *w, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(w, *list) == 0)
			return 1;
	return 0;
}

static const char *const pol_shells[] = { "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh",
	"busybox", "su", "runuser", "script", NULL };
/* Reserved words that start a compound command: the command follows them. */
static const char *const pol_reserved[] = { "if", "then", "else", "elif", "do", "while",
	"until", "!", "coproc", "{", "}", "fi", "done", "esac", "time", NULL };
/* Builtins whose arguments are command lines run later (traps, aliases, prompt hooks). */
static const char *const pol_deferred[] = { "trap", "alias", NULL };
/* Variables whose value the shell runs as a command: checked as command lines. */
static const char *const pol_hook_vars[] = { "PROMPT_COMMAND", "BASH_ENV", "ENV", "PS0",
	"PS1", "PS2", "PS4", NULL };

/* NAME=value words: a hook variable's value is a command line, checked like one. */
static void pol_assignment(struct pol_split *sp, const char *w, int depth)
{
	const char *eq = strchr(w, '=');
	char name[64];
	size_t n = eq != NULL ? (size_t)(eq - w) : 0;

	if (eq == NULL || n == 0 || n >= sizeof(name))
		return;
	memcpy(name, w, n);
	name[n] = '\0';
	if (name[n - 1] == '+')             /* PROMPT_COMMAND+=... */
		name[n - 1] = '\0';
	if (pol_is(name, pol_hook_vars))
		pol_split_line(sp, eq + 1, strlen(eq + 1), depth + 1);
}

/* sh -c STR (also -lc, -c -- STR, script -qc STR): STR is a command line. A shell that
 * reads its commands from stdin or a file cannot be checked: unsure. */
static void pol_shell(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	int i, want = 0;

	for (i = k + 1; i < c->n; i++) {
		const char *w = c->w[i];

		if (want && strcmp(w, "--") != 0) {
			pol_split_line(sp, w, strlen(w), c->depth + 1);
			return;
		}
		if (w[0] == '-' && w[1] != '-' && strchr(w + 1, 'c') != NULL)
			want = 1;
		else if (w[0] != '-' && strcmp(pol_base(c->w[k]), "su") != 0 &&
		    strcmp(pol_base(c->w[k]), "runuser") != 0 && strcmp(pol_base(c->w[k]), "busybox") != 0)
			break;                      /* a script file: its commands are unknown */
	}
	if (strcmp(pol_base(c->w[k]), "su") == 0 || strcmp(pol_base(c->w[k]), "runuser") == 0)
		return;                         /* su without -c: an interactive login shell */
	pol_unsure(sp, "a shell that reads its commands from stdin or a file");
}

/* Where the real command starts, after assignments, reserved words and wrappers; nested
 * command lines (sh -c, eval, trap, alias, hook variables, find -exec) are added to `sp`
 * to be checked in their turn. */
static int pol_unwrap(struct pol_split *sp, struct pol_cmd *c)
{
	int depth = c->depth, k = 0, i, again = 1;

	while (again && k < c->n) {
		const char *w = pol_base(c->w[k]);

		again = 0;
		if (strchr(c->w[k], '=') != NULL && isalpha((unsigned char)c->w[k][0])) {
			pol_assignment(sp, c->w[k++], depth);
			again = 1;
			continue;
		}
		if (pol_is(c->w[k], pol_reserved)) {
			k++;
			again = 1;
			continue;
		}
		for (i = 0; i < (int)(sizeof(pol_wrappers) / sizeof(pol_wrappers[0])); i++)
			if (strcmp(w, pol_wrappers[i].name) == 0) {
				k = pol_skip_opts(c, k, pol_wrappers[i].argopts,
				    strcmp(w, "timeout") == 0 || strcmp(w, "chrt") == 0 ||
				    strcmp(w, "taskset") == 0 || strcmp(w, "flock") == 0);
				again = 1;
				break;
			}
	}
	if (k >= c->n)
		return k;
	if (strcmp(c->w[k], "for") == 0 || strcmp(c->w[k], "select") == 0 ||
	    strcmp(c->w[k], "case") == 0 || strcmp(c->w[k], "in") == 0)
		return c->n;                    /* a loop head or case word list: no command */
	if (pol_is(pol_base(c->w[k]), pol_shells))
		pol_shell(sp, c, k);
	if (strcmp(c->w[k], ".") == 0 || strcmp(c->w[k], "source") == 0)
		pol_unsure(sp, "'source' runs commands from a file");
	if (strcmp(c->w[k], "eval") == 0 || pol_is(c->w[k], pol_deferred))
		for (i = k + 1; i < c->n; i++) {
			const char *w = c->w[i], *eq = strcmp(c->w[k], "alias") == 0 ?
				strchr(w, '=') : NULL;

			if (eq != NULL)
				w = eq + 1;             /* alias name='command line' */
			pol_split_line(sp, w, strlen(w), depth + 1);
		}
	if (strcmp(c->w[k], "export") == 0 || strcmp(c->w[k], "declare") == 0 ||
	    strcmp(c->w[k], "typeset") == 0 || strcmp(c->w[k], "readonly") == 0 ||
	    strcmp(c->w[k], "local") == 0)
		for (i = k + 1; i < c->n; i++)
			pol_assignment(sp, c->w[i], depth);
	if (strcmp(pol_base(c->w[k]), "find") == 0)
		pol_find_exec(sp, c, k);
	return k;
}

/* Read-only mode: commands that only look. `subs`: the first argument must be one of these
 * (space-separated); `forbid`: arguments that would change something. */
static const struct {
	const char *cmd, *subs, *forbid;
} pol_readonly[] = {
	{ "ls", NULL, NULL }, { "cat", NULL, NULL }, { "head", NULL, NULL },
	{ "tail", NULL, NULL }, { "less", NULL, NULL }, { "more", NULL, NULL },
	{ "grep", NULL, NULL }, { "egrep", NULL, NULL }, { "fgrep", NULL, NULL },
	{ "zgrep", NULL, NULL }, { "rg", NULL, NULL }, { "zcat", NULL, NULL },
	{ "find", NULL, "-delete -exec -execdir -ok -okdir -fprint -fprint0 -fprintf -fls" },
	{ "stat", NULL, NULL }, { "file", NULL, NULL }, { "wc", NULL, NULL },
	{ "du", NULL, NULL }, { "df", NULL, NULL }, { "free", NULL, NULL },
	{ "uptime", NULL, NULL }, { "uname", NULL, NULL }, { "hostname", "-f -s -i -I -d -A", NULL },
	{ "id", NULL, NULL }, { "whoami", NULL, NULL }, { "w", NULL, NULL },
	{ "who", NULL, NULL }, { "last", NULL, NULL }, { "ps", NULL, NULL },
	{ "pgrep", NULL, NULL }, { "pidof", NULL, NULL }, { "printenv", NULL, NULL },
	{ "env", NULL, NULL }, { "echo", NULL, NULL }, { "printf", NULL, "-v" },
	{ "date", NULL, "-s --set" }, { "ss", NULL, "-K --kill" }, { "netstat", NULL, NULL },
	{ "ip", "a addr address r route ro l link neigh n ne rule maddr -s -4 -6 -br -brief -c -d",
	  "add del delete set flush change replace append" },
	{ "lsblk", NULL, NULL }, { "lscpu", NULL, NULL }, { "lsmod", NULL, NULL },
	{ "lsof", NULL, NULL }, { "lspci", NULL, NULL }, { "lsusb", NULL, NULL },
	{ "dmesg", NULL, "-C -c --clear -D -E -n" },
	{ "journalctl", NULL, "--vacuum-size --vacuum-time --vacuum-files --rotate --flush" },
	{ "systemctl", "status show list-units list-unit-files list-timers list-sockets "
	  "is-active is-enabled is-failed cat", NULL },
	{ "sort", NULL, "-o --output" }, { "uniq", NULL, NULL }, { "cut", NULL, NULL },
	{ "tr", NULL, NULL }, { "sed", NULL, "-i --in-place" }, { "diff", NULL, NULL },
	{ "cmp", NULL, NULL }, { "md5sum", NULL, NULL }, { "sha256sum", NULL, NULL },
	{ "sha1sum", NULL, NULL }, { "readlink", NULL, NULL }, { "realpath", NULL, NULL },
	{ "basename", NULL, NULL }, { "dirname", NULL, NULL }, { "pwd", NULL, NULL },
	{ "cd", NULL, NULL }, { "test", NULL, NULL }, { "[", NULL, NULL },
	{ "true", NULL, NULL }, { "false", NULL, NULL }, { "which", NULL, NULL },
	{ "type", NULL, NULL }, { "whereis", NULL, NULL }, { "getent", NULL, NULL },
	{ "groups", NULL, NULL }, { "nproc", NULL, NULL }, { "vmstat", NULL, NULL },
	{ "iostat", NULL, NULL }, { "top", NULL, NULL }, { "tree", NULL, NULL },
	{ "column", NULL, NULL }, { "jq", NULL, NULL }, { "strings", NULL, NULL },
	{ "hexdump", NULL, NULL }, { "xxd", NULL, "-r" }, { "od", NULL, NULL },
	{ "base64", NULL, NULL }, { "findmnt", NULL, NULL }, { "blkid", NULL, NULL },
	{ "ping", NULL, NULL }, { "traceroute", NULL, NULL }, { "tracepath", NULL, NULL },
	{ "dig", NULL, NULL }, { "nslookup", NULL, NULL }, { "host", NULL, NULL },
	{ "git", "status log show diff branch tag rev-parse describe ls-files blame shortlog",
	  "-D -d --delete -m -M --move -f --force" },
	{ "docker", "ps images inspect logs version info top stats", NULL },
	{ "kubectl", "get describe logs version top explain api-resources", NULL },
	/* network devices */
	{ "show", NULL, NULL }, { "display", NULL, NULL },
	{ "terminal", "length width pager", NULL },
};

static int pol_word_in(const char *w, const char *list)
{
	size_t n = strlen(w);
	const char *p = list;

	while ((p = strstr(p, w)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

static int pol_readonly_ok(const struct pol_cmd *c, int k)
{
	const char *w = pol_base(c->w[k]);
	size_t i;
	int j;

	for (i = 0; i < sizeof(pol_readonly) / sizeof(pol_readonly[0]); i++) {
		if (strcmp(w, pol_readonly[i].cmd) != 0)
			continue;
		if (pol_readonly[i].subs != NULL && k + 1 < c->n &&
		    !pol_word_in(c->w[k + 1], pol_readonly[i].subs))
			return 0;
		for (j = k + 1; pol_readonly[i].forbid != NULL && j < c->n; j++) {
			char opt[64];

			(void)str_copy(opt, sizeof(opt), c->w[j]);
			opt[strcspn(opt, "=")] = '\0';      /* --output=x */
			if (pol_word_in(opt, pol_readonly[i].forbid))
				return 0;
		}
		return 1;
	}
	return 0;
}

static int pol_match(const struct pol_rule *r, int n, const char *text)
{
	int i;

	for (i = 0; i < n; i++)
		if (regexec(&r[i].re, text, 0, NULL, 0) == 0)
			return i;
	return -1;
}

/* One simple command against the rules; 0 or -1 with e set. */
static int pol_check_cmd(const struct policy *p, struct pol_split *sp, struct pol_cmd *c,
    struct err *e)
{
	char text[SSHMCP_LINE_MAX];
	int k = pol_unwrap(sp, c), i, r;

	if (k >= c->n)
		return 0;                       /* assignments or a bare wrapper */
	if (k < 64 && (c->dyn & ((uint64_t)1 << k))) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: the command word '%.60s' is computed at run "
		    "time, so the policy cannot tell what runs", c->w[k]);
		return -1;
	}
	text[0] = '\0';
	for (i = k; i < c->n; i++)             /* /usr/bin/rm is rm to the rules */
		if (str_fmt(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
		    i > k ? " " : "", i == k ? pol_base(c->w[i]) : c->w[i]) < 0) {
			err_set(e, SSHMCP_ERR_POLICY, "refused: a command is too long to check");
			return -1;
		}
	if ((r = pol_match(p->deny, p->ndeny, text)) >= 0) {
		err_set(e, SSHMCP_ERR_POLICY, "refused by DenyCommand %s: '%.80s'", p->deny[r].src,
		    text);
		return -1;
	}
	if (p->nallow > 0 && pol_match(p->allow, p->nallow, text) < 0) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: '%.80s' matches no AllowCommand", text);
		return -1;
	}
	if (p->read_only && !pol_readonly_ok(c, k)) {
		err_set(e, SSHMCP_ERR_POLICY, "refused by read-only mode: '%.80s' is not a known "
		    "read-only command", text);
		return -1;
	}
	return 0;
}

/* The whole line: deny rules see it as typed, then every simple command it contains. */
static int pol_command(const struct policy *p, const char *line, struct err *e)
{
	struct pol_split *sp;
	int i, r, rc = 0;

	if (p->ndeny == 0 && p->nallow == 0 && !p->read_only)
		return 0;
	if ((r = pol_match(p->deny, p->ndeny, line)) >= 0) {
		err_set(e, SSHMCP_ERR_POLICY, "refused by DenyCommand %s", p->deny[r].src);
		return -1;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: out of memory checking the policy");
		return -1;
	}
	pol_split_line(sp, line, strlen(line), 0);
	for (i = 0; i < sp->n && rc == 0; i++)      /* sp->n grows as commands unwrap */
		rc = pol_check_cmd(p, sp, &sp->cmd[i], e);
	if (rc == 0 && sp->unsure) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: the policy cannot take this line apart "
		    "with confidence (%s)", sp->why);
		rc = -1;
	}
	if (rc == 0 && p->read_only && sp->writes) {
		err_set(e, SSHMCP_ERR_POLICY, "refused by read-only mode: the line redirects output "
		    "to a file");
		rc = -1;
	}
	pol_split_free(sp);
	free(sp);
	return rc;
}

/* Hosts are matched as the caller names them, with ssh's Host pattern rules. */
static int pol_host(const struct policy *p, const char *host, struct err *e)
{
	int i, hit = 0;

	if (p->nallow_host == 0)
		return 0;
	for (i = 0; i < p->nallow_host; i++) {
		int r = str_match_list(p->allow_host[i], host);

		if (r < 0) {
			hit = 0;
			break;
		}
		hit |= r > 0;
	}
	if (!hit)
		err_set(e, SSHMCP_ERR_POLICY, "refused: host '%s' is not in the allowed hosts", host);
	return hit ? 0 : -1;
}

/* ---------------------------------------------------------- config file --- */
/* ~/.config/sshmcp/config (or --config): "Keyword value" lines as in ssh_config, checked at
 * start-up; an unknown keyword or a bad value stops sshmcp naming the file and line. */
enum pol_key { PK_ALLOWHOST, PK_READONLY, PK_ALLOWCMD, PK_DENYCMD, PK_TIMEOUT, PK_MAXTIMEOUT,
	PK_RINGSIZE, PK_MAXSESSIONS, PK_MAXCMDS, PK_MAXCMDSHOST, PK_AUDIT, PK_LOG, PK_ACCEPTNEW,
	PK_SSHCONFIG };

static const struct { const char *name; enum pol_key key; long lo, hi; } pol_keywords[] = {
	{ "allowhost", PK_ALLOWHOST, 0, 0 }, { "readonly", PK_READONLY, 0, 1 },
	{ "allowcommand", PK_ALLOWCMD, 0, 0 }, { "denycommand", PK_DENYCMD, 0, 0 },
	{ "commandtimeout", PK_TIMEOUT, 1, SSHMCP_TIMEOUT_HARD_S },
	{ "maxtimeout", PK_MAXTIMEOUT, 1, SSHMCP_TIMEOUT_HARD_S },
	{ "ringsize", PK_RINGSIZE, SSHMCP_RING_MIN, SSHMCP_RING_MAX },
	{ "maxsessions", PK_MAXSESSIONS, 1, SSHMCP_SESSIONS_HARD },
	{ "maxcommands", PK_MAXCMDS, 1, SSHMCP_HISTORY_MAX },
	{ "maxcommandsperhost", PK_MAXCMDSHOST, 1, SSHMCP_HISTORY_MAX },
	{ "audit", PK_AUDIT, 0, 0 }, { "log", PK_LOG, 0, 0 },
	{ "acceptnewhostkeys", PK_ACCEPTNEW, 0, 1 }, { "sshconfig", PK_SSHCONFIG, 0, 0 },
};

static void pol_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->timeout_default = SSHMCP_TIMEOUT_DEFAULT_S;
	p->timeout_max = SSHMCP_TIMEOUT_MAX_S;
	p->ring_size = SSHMCP_CMD_RING;
	p->max_sessions = SSHMCP_MAX_SESSIONS;
	p->max_cmds = SSHMCP_HISTORY_MAX;
	p->max_cmds_host = SSHMCP_QUEUE_MAX;
}

static void pol_free(struct policy *p)
{
	int i;

	for (i = 0; i < p->nallow_host; i++)
		free(p->allow_host[i]);
	for (i = 0; i < p->nallow; i++)
		regfree(&p->allow[i].re);
	for (i = 0; i < p->ndeny; i++)
		regfree(&p->deny[i].re);
	free(p->audit_path);
	free(p->log_path);
	free(p->ssh_config);
	memset(p, 0, sizeof(*p));
}

static int pol_add_host(struct policy *p, const char *pattern)
{
	if (p->nallow_host >= SSHMCP_POLICY_MAX)
		return -1;
	return (p->allow_host[p->nallow_host++] = strdup(pattern)) == NULL ? -1 : 0;
}

static int pol_add_rule(struct policy *p, int deny, const char *re, const char *where,
    struct err *e)
{
	struct pol_rule *r = deny ? &p->deny[p->ndeny] : &p->allow[p->nallow];

	if ((deny ? p->ndeny : p->nallow) >= SSHMCP_POLICY_MAX) {
		err_set(e, SSHMCP_ERR_USAGE, "%s: too many command rules (%d)", where,
		    SSHMCP_POLICY_MAX);
		return -1;
	}
	if (regcomp(&r->re, re, REG_EXTENDED | REG_NOSUB) != 0) {
		err_set(e, SSHMCP_ERR_USAGE, "%s: bad regular expression '%s'", where, re);
		return -1;
	}
	(void)str_fmt(r->src, sizeof(r->src), "'%.200s' (%s)", re, where);
	deny ? p->ndeny++ : p->nallow++;
	return 0;
}

/* A size with an optional K/M suffix. */
static int pol_size(const char *v, long lo, long hi, long *out)
{
	char num[32];
	size_t n = strlen(v);
	long mul = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n + 1);
	if (num[n - 1] == 'K' || num[n - 1] == 'k')
		mul = 1024, num[n - 1] = '\0';
	else if (num[n - 1] == 'M' || num[n - 1] == 'm')
		mul = 1024 * 1024, num[n - 1] = '\0';
	if (str_to_int(num, 0, hi / mul, out) < 0 || *out * mul < lo)
		return -1;
	*out *= mul;
	return 0;
}

static int pol_set(struct policy *p, enum pol_key key, char *v, long num, const char *where,
    struct err *e)
{
	char *arg;

	switch (key) {
	case PK_ALLOWHOST:
		while (cfg_next_arg(&v, &arg) == 0 && arg != NULL)
			if (pol_add_host(p, arg) < 0) {
				err_set(e, SSHMCP_ERR_USAGE, "%s: too many host patterns", where);
				return -1;
			}
		return 0;
	case PK_ALLOWCMD: case PK_DENYCMD: return pol_add_rule(p, key == PK_DENYCMD, v, where, e);
	case PK_READONLY: p->read_only = (int)num; return 0;
	case PK_ACCEPTNEW: p->accept_new = (int)num; return 0;
	case PK_TIMEOUT: p->timeout_default = (int)num; return 0;
	case PK_MAXTIMEOUT: p->timeout_max = (int)num; return 0;
	case PK_RINGSIZE: p->ring_size = (size_t)num; return 0;
	case PK_MAXSESSIONS: p->max_sessions = (int)num; return 0;
	case PK_MAXCMDS: p->max_cmds = (int)num; return 0;
	case PK_MAXCMDSHOST: p->max_cmds_host = (int)num; return 0;
	case PK_AUDIT: free(p->audit_path); return (p->audit_path = strdup(v)) ? 0 : -1;
	case PK_LOG: free(p->log_path); return (p->log_path = strdup(v)) ? 0 : -1;
	case PK_SSHCONFIG: free(p->ssh_config); return (p->ssh_config = strdup(v)) ? 0 : -1;
	}
	return -1;
}

/* One config line; the value is the rest of the line (EREs keep their spaces). */
static int pol_line(struct policy *p, const char *file, int lineno, char *line, struct err *e)
{
	char where[SSHMCP_PATH_MAX + 16], *kw, *v = line;
	size_t i, n;
	long num = 0;

	(void)str_fmt(where, sizeof(where), "%s:%d", file, lineno);
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '\0' || *v == '#')
		return 0;
	kw = v;
	v += strcspn(v, " \t=");
	if (*v != '\0')
		*v++ = '\0';
	while (*v == ' ' || *v == '\t' || *v == '=')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		v[--n] = '\0';
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		v[n - 1] = '\0', v++;
	for (i = 0; i < sizeof(pol_keywords) / sizeof(pol_keywords[0]); i++)
		if (strcasecmp(kw, pol_keywords[i].name) == 0)
			break;
	if (i == sizeof(pol_keywords) / sizeof(pol_keywords[0])) {
		err_set(e, SSHMCP_ERR_USAGE, "%s: unknown keyword '%s'", where, kw);
		return -1;
	}
	if (*v == '\0' || (pol_keywords[i].hi == 1 && strcasecmp(v, "yes") != 0 &&
	    strcasecmp(v, "no") != 0) || (pol_keywords[i].hi > 1 &&
	    pol_size(v, pol_keywords[i].lo, pol_keywords[i].hi, &num) < 0)) {
		err_set(e, SSHMCP_ERR_USAGE, "%s: bad value for %s: '%s'", where, kw, v);
		return -1;
	}
	if (pol_keywords[i].hi == 1)
		num = strcasecmp(v, "yes") == 0;
	return pol_set(p, pol_keywords[i].key, v, num, where, e);
}

/* Load the config file; the default one may be missing, a named one may not. */
static int pol_load(struct policy *p, const char *path, int must_exist, struct err *e)
{
	char line[SSHMCP_LINE_MAX];
	FILE *f = fopen(path, "r");
	int lineno = 0, rc = 0;

	if (f == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		err_set(e, SSHMCP_ERR_USAGE, "can't read config %s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			err_set(e, SSHMCP_ERR_USAGE, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		rc = pol_line(p, path, lineno, line, e);
	}
	fclose(f);
	if (rc == 0 && p->timeout_default > p->timeout_max)
		p->timeout_default = p->timeout_max;
	return rc;
}

static int pol_load_default(struct policy *p, const struct cfg_env *env, const char *path,
    struct err *e)
{
	char def[SSHMCP_PATH_MAX];

	if (path != NULL)
		return pol_load(p, path, 1, e);
	if (str_fmt(def, sizeof(def), "%s/.config/sshmcp/config", env->home) < 0)
		return 0;
	return pol_load(p, def, 0, e);
}

/* ---------------------------------------------------------- redaction --- */
/* Secret shapes in command lines, blanked in the audit and the log: each pattern's group
 * `grp` is replaced by "***". */
static const struct { const char *re; int grp; } redact_rules[] = {
	{ "(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)(=|: *)([^ &;'\"]+)", 3 },
	{ "--(password|passwd|pass|token|secret|api-key)[= ]([^ ;&|]+)", 2 },
	{ "(mysql|mysqldump|mysqladmin)( [^;&|]*)? -p([^ ;&|]+)", 3 },
	{ "(sshpass|smbclient)( [^;&|]*)? -p ?([^ ;&|]+)", 3 },
	{ "[Aa]uthorization: *(([Bb]earer|[Bb]asic|[Tt]oken) +)?([^ '\"]+)", 3 },
	{ "://([^:/@ ]+):([^@/ ]+)@", 2 },
};

struct redact {
	regex_t re[sizeof(redact_rules) / sizeof(redact_rules[0])];
	int ready;
};

static int redact_init(struct redact *r)
{
	size_t i;

	for (i = 0; i < sizeof(redact_rules) / sizeof(redact_rules[0]); i++)
		if (regcomp(&r->re[i], redact_rules[i].re, REG_EXTENDED | REG_ICASE) != 0)
			return -1;
	r->ready = 1;
	return 0;
}

static void redact_free(struct redact *r)
{
	size_t i;

	for (i = 0; r->ready && i < sizeof(redact_rules) / sizeof(redact_rules[0]); i++)
		regfree(&r->re[i]);
	r->ready = 0;
}

/* Copy `in` to `out` with every secret-shaped part replaced by "***". */
static void redact_line(const struct redact *r, const char *in, char *out, size_t cap)
{
	char tmp[SSHMCP_LINE_MAX];
	size_t i;

	(void)str_copy(out, cap, in);
	for (i = 0; r->ready && i < sizeof(redact_rules) / sizeof(redact_rules[0]); i++) {
		regmatch_t m[5];
		size_t from = 0;
		int g = redact_rules[i].grp, guard = 0;

		while (guard++ < 64 && regexec(&r->re[i], out + from, 5, m, from ? REG_NOTBOL : 0) == 0 &&
		    m[g].rm_so >= 0) {
			size_t so = from + (size_t)m[g].rm_so, eo = from + (size_t)m[g].rm_eo;

			if (str_fmt(tmp, sizeof(tmp), "%.*s***%s", (int)so, out, out + eo) < 0)
				break;
			(void)str_copy(out, cap, tmp);
			from = so + 3;
		}
	}
}

/* --------------------------------------------------------------- audit --- */
/* One JSON line per command, each carrying the SHA-256 of the line before it: an edited or
 * removed line breaks the chain (`sshmcp audit-verify FILE`). */
struct audit {
	int fd;
	unsigned char prev[32];
};

struct audit_rec {
	const char *req, *host, *user, *session, *command, *status;
	int has_exit, exit_code;
	uint64_t bytes;
	int64_t duration_ms;
};

static void audit_hex(const unsigned char *h, char *out)
{
	int i;

	for (i = 0; i < 32; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The hash of the file's last line, so a restarted server continues the chain. */
static void audit_tail_hash(int fd, unsigned char *out)
{
	char buf[SSHMCP_AUDIT_TAIL + 1];
	struct stat st;
	off_t off;
	ssize_t n;
	char *end, *start;

	memset(out, 0, 32);
	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return;
	off = st.st_size > SSHMCP_AUDIT_TAIL ? st.st_size - SSHMCP_AUDIT_TAIL : 0;
	if ((n = pread(fd, buf, (size_t)(st.st_size - off), off)) <= 0)
		return;
	buf[n] = '\0';
	end = buf + n;
	while (end > buf && end[-1] == '\n')
		end--;
	*end = '\0';
	start = strrchr(buf, '\n');
	start = start != NULL ? start + 1 : buf;
	(void)mbedtls_sha256((const unsigned char *)start, (size_t)(end - start), out, 0);
}

static int audit_open(struct audit *a, const char *path, struct err *e)
{
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "can't open audit file %s: %s", path, strerror(errno));
		return -1;
	}
	(void)fchmod(a->fd, 0600);
	audit_tail_hash(a->fd, a->prev);
	return 0;
}

static void audit_write(struct audit *a, const struct redact *rd, const struct audit_rec *r)
{
	char buf[SSHMCP_LINE_MAX * 3], cmd[SSHMCP_LINE_MAX], when[32], hex[65];
	struct timespec ts;
	struct tm tm;
	struct jw w;

	if (a->fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	redact_line(rd, r->command != NULL ? r->command : "", cmd, sizeof(cmd));
	audit_hex(a->prev, hex);
	jw_init(&w, buf, sizeof(buf));
	jw_obj_begin(&w);
	jw_kcstr(&w, "time", when);
	jw_kraw(&w, "request_id", r->req != NULL ? r->req : "null", strlen(r->req ? r->req : "null"));
	jw_kcstr(&w, "host", r->host ? r->host : "");
	jw_kcstr(&w, "user", r->user ? r->user : "");
	jw_kcstr(&w, "session", r->session ? r->session : "");
	jw_kcstr(&w, "command", cmd);
	jw_kcstr(&w, "status", r->status);
	if (r->has_exit)
		jw_kint(&w, "exit_code", r->exit_code);
	else
		jw_knull(&w, "exit_code");
	jw_kuint(&w, "bytes", r->bytes);
	jw_kint(&w, "duration_ms", r->duration_ms);
	jw_kcstr(&w, "prev", hex);
	jw_obj_end(&w);
	if (jw_finish(&w) != 0)
		return;
	(void)mbedtls_sha256((const unsigned char *)buf, w.len, a->prev, 0);
	buf[w.len] = '\n';
	(void)fd_write_all(a->fd, buf, w.len + 1);     /* one write per command: flushed */
}

/* sshmcp audit-verify FILE: 0 when every line's "prev" is the hash of the line before. */
static int audit_verify(const char *path)
{
	char line[SSHMCP_LINE_MAX * 3], hex[65], msg[SSHMCP_PATH_MAX + 96];
	unsigned char prev[32];
	FILE *f = fopen(path, "r");
	int n = 0;

	memset(prev, 0, sizeof(prev));
	if (f == NULL) {
		(void)str_fmt(msg, sizeof(msg), "sshmcp: can't read %s: %s\n", path, strerror(errno));
		(void)fd_write_all(STDERR_FILENO, msg, strlen(msg));
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\n");
		const char *p = strstr(line, "\"prev\":\"");

		line[len] = '\0';
		n++;
		audit_hex(prev, hex);
		if (p == NULL || strncmp(p + 8, hex, 64) != 0) {
			(void)str_fmt(msg, sizeof(msg), "%s:%d: chain broken: this line or the one "
			    "before it was changed, added or removed\n", path, n);
			(void)fd_write_all(STDOUT_FILENO, msg, strlen(msg));
			fclose(f);
			return 1;
		}
		(void)mbedtls_sha256((const unsigned char *)line, len, prev, 0);
	}
	fclose(f);
	(void)str_fmt(msg, sizeof(msg), "%s: %d lines, chain intact\n", path, n);
	(void)fd_write_all(STDOUT_FILENO, msg, strlen(msg));
	return 0;
}

/* ======================================================== MCP protocol === */
/*
 * JSON-RPC 2.0 over stdio, one message per line (MCP stdio transport). Requests that wait on
 * a command become waiters, answered from the loop when the command ends, asks for input,
 * or the wait runs out; nothing ever blocks the loop.
 */
#define MCP_VERSIONS_N 3
static const char *const mcp_versions[MCP_VERSIONS_N] = {
	"2025-11-25", "2025-06-18", "2025-03-26",
};

enum mcp_rpc_err {
	RPC_PARSE = -32700, RPC_INVALID = -32600, RPC_METHOD = -32601, RPC_PARAMS = -32602,
	RPC_INTERNAL = -32603,
};

struct srv_fan;                         /* execute_on_hosts, with the fan-out code */

struct waiter {
	int active;
	char id[128];                       /* the request id, as raw JSON (type kept) */
	struct cmd *cmd;
	int64_t deadline;
	uint64_t offset;
	size_t max_bytes;
	int on_change;                      /* answer when no longer running (long-poll) */
	char progress[128];                 /* progressToken as raw JSON, "" for none */
	int64_t next_progress;
	int progress_n;
};

struct server {
	struct log log;
	struct cfg_env env;
	struct prompt prompt;
	const char *fflag;                  /* ssh_config to use (SSHConfig), NULL: ssh's */
	int accept_new;
	struct policy pol;
	struct audit audit;
	struct redact rd;
	int mcp_level;                      /* logging/setLevel: -1 until the client asks */
	int elicit;                         /* the client declared elicitation */
	unsigned ask_seq;
	int stopping;
	struct shell *shells[SSHMCP_SESSIONS_HARD];
	int nshells;
	struct cmd *hist[SSHMCP_HISTORY_MAX];
	int nhist;
	unsigned cmd_seq;
	struct waiter wait[SSHMCP_WAITERS_MAX];
	char *in;                           /* stdin line assembly, SSHMCP_MSG_MAX + 1 */
	size_t inlen;
	int in_skip, in_eof;
	char *out;                          /* responses not yet written to stdout */
	size_t outlen, outcap;
	int out_nonblock, out_flags;
	struct json_tok *tok;
	uint32_t tokcap;
	char *resp;                         /* scratch for one response */
	size_t respcap;
	struct srv_fan *fans[SSHMCP_FANS_MAX];   /* execute_on_hosts in flight */
};

/* Queue one message line for stdout; past the cap the loop stops reading requests. */
static int mcp_queue(struct server *srv, const char *msg, size_t n)
{
	if (n + 1 > srv->outcap - srv->outlen) {
		size_t need = srv->outlen + n + 1, cap = srv->outcap ? srv->outcap : 65536;
		char *p;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(srv->out, cap)) == NULL)
			return -1;
		srv->out = p;
		srv->outcap = cap;
	}
	memcpy(srv->out + srv->outlen, msg, n);
	srv->outlen += n;
	srv->out[srv->outlen++] = '\n';
	return 0;
}

static void mcp_flush(struct server *srv)
{
	while (srv->outlen > 0) {
		ssize_t w = write(STDOUT_FILENO, srv->out, srv->outlen);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (errno != EAGAIN)
				srv->outlen = 0;    /* the client is gone; stdin EOF follows */
			return;
		}
		memmove(srv->out, srv->out + w, srv->outlen - (size_t)w);
		srv->outlen -= (size_t)w;
	}
}

/* A log line: to the log (--log or stderr), secrets redacted, the request id on it; and to
 * the client as notifications/message once it chose a level (logging/setLevel). */
static void srv_log(struct server *srv, int level, const char *req, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void srv_log(struct server *srv, int level, const char *req, const char *fmt, ...)
{
	static const char *const names[] = { "error", "info", "debug", "debug", "debug" };
	char msg[SSHMCP_LOG_LINE_MAX], red[SSHMCP_LOG_LINE_MAX], note[SSHMCP_LOG_LINE_MAX * 2];
	struct jw w;
	va_list ap;

	if (level > srv->log.level && level > srv->mcp_level)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	redact_line(&srv->rd, msg, red, sizeof(red));
	(void)str_fmt(msg, sizeof(msg), "[req %s] %s", req != NULL ? req : "-", red);
	(void)str_copy(red, sizeof(red), msg);
	log_msg(&srv->log, level, "%s", red);
	if (level > srv->mcp_level)
		return;
	jw_init(&w, note, sizeof(note));
	jw_obj_begin(&w);
	jw_kcstr(&w, "jsonrpc", "2.0");
	jw_kcstr(&w, "method", "notifications/message");
	jw_kobj_begin(&w, "params");
	jw_kcstr(&w, "level", names[level]);
	jw_kcstr(&w, "logger", "sshmcp");
	jw_kcstr(&w, "data", red);
	jw_obj_end(&w);
	jw_obj_end(&w);
	if (jw_finish(&w) == 0)
		(void)mcp_queue(srv, note, w.len);
}

/* A response buffer big enough for `payload` bytes of output (escaped twice at worst). */
static int mcp_resp_begin(struct server *srv, struct jw *w, size_t payload)
{
	size_t need = payload * 12 + 65536;

	if (need > srv->respcap) {
		char *p = realloc(srv->resp, need);

		if (p == NULL)
			return -1;
		srv->resp = p;
		srv->respcap = need;
	}
	jw_init(w, srv->resp, srv->respcap);
	return 0;
}

static void mcp_resp_send(struct server *srv, struct jw *w)
{
	if (jw_finish(w) != 0) {
		log_msg(&srv->log, LOG_ERROR, "internal: response did not fit (%d)", w->err);
		return;
	}
	if (mcp_queue(srv, w->buf, w->len) < 0)
		log_msg(&srv->log, LOG_ERROR, "out of memory queueing a response");
}

/* {"jsonrpc":"2.0","id":<id>,"result": — the caller writes the result value and closes. */
static void mcp_result_open(struct jw *w, const char *id)
{
	jw_obj_begin(w);
	jw_kcstr(w, "jsonrpc", "2.0");
	jw_kraw(w, "id", id, strlen(id));
	jw_key(w, "result");
}

static void mcp_error(struct server *srv, const char *id, int code, const char *msg)
{
	struct jw w;

	if (mcp_resp_begin(srv, &w, strlen(msg)) < 0)
		return;
	jw_obj_begin(&w);
	jw_kcstr(&w, "jsonrpc", "2.0");
	jw_kraw(&w, "id", id != NULL ? id : "null", strlen(id != NULL ? id : "null"));
	jw_kobj_begin(&w, "error");
	jw_kint(&w, "code", code);
	jw_kcstr(&w, "message", msg);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

/* The raw JSON text of token t (ids and progress tokens are echoed with their type). */
static int mcp_raw(const struct json_doc *d, int t, char *out, size_t cap)
{
	const struct json_tok *k = &d->tok[t];
	size_t off = k->off, len = k->len;

	if (k->type == JSON_STRING) {
		off--;                      /* the span excludes the quotes */
		len += 2;
	}
	if (len >= cap)
		return -1;
	memcpy(out, d->buf + off, len);
	out[len] = '\0';
	return 0;
}

/* =============================================================== tools === */

/* Arguments of one tools/call. */
struct args {
	const struct json_doc *d;
	int obj;                            /* the arguments object, -1 when absent */
	struct err *e;
};

/* A string argument: 0 when present, 1 when absent (and not required), -1 on error. */
static int arg_str(const struct args *a, const char *key, char *out, size_t cap, int required)
{
	int t = a->obj >= 0 ? json_get(a->d, a->obj, key) : -1;
	size_t n;

	out[0] = '\0';
	if (t < 0 || json_type(a->d, t) == JSON_NULL) {
		if (required)
			err_set(a->e, SSHMCP_ERR_USAGE, "missing required argument '%s'", key);
		return required ? -1 : 1;
	}
	if (json_type(a->d, t) != JSON_STRING || json_str(a->d, t, out, cap, &n) < 0 ||
	    strlen(out) != n) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument '%s' must be a string of at most %zu bytes "
		    "without NUL", key, cap - 1);
		return -1;
	}
	if (required && n == 0) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument '%s' must not be empty", key);
		return -1;
	}
	return 0;
}

static int arg_num(const struct args *a, const char *key, long lo, long hi, long dflt, long *out)
{
	int t = a->obj >= 0 ? json_get(a->d, a->obj, key) : -1;
	double v;

	*out = dflt;
	if (t < 0 || json_type(a->d, t) == JSON_NULL)
		return 0;
	if (json_double(a->d, t, &v) < 0 || v < (double)lo || v > (double)hi) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument '%s' must be a number from %ld to %ld",
		    key, lo, hi);
		return -1;
	}
	*out = (long)v;
	return 0;
}

static int arg_bool(const struct args *a, const char *key, int dflt, int *out)
{
	int t = a->obj >= 0 ? json_get(a->d, a->obj, key) : -1;

	*out = dflt;
	if (t < 0 || json_type(a->d, t) == JSON_NULL)
		return 0;
	if (json_bool(a->d, t, out) < 0) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument '%s' must be true or false", key);
		return -1;
	}
	return 0;
}

/* The server's settings on top of what `c` holds, then ssh_config, into `t`. */
static int srv_target_cfg(struct server *srv, struct cfg *c, struct target *t, struct err *e)
{
	if ((srv->accept_new && cfg_option(c, "StrictHostKeyChecking accept-new", e) < 0) ||
	    cfg_option(c, "BatchMode yes", e) < 0 ||           /* no terminal to prompt on */
	    cfg_load(c, &srv->env, srv->fflag, e) < 0 || cfg_resolve(c, &srv->env, t, e) < 0)
		return -1;
	if (t->alive_interval_s == 0)
		t->alive_interval_s = 15;
	return 0;
}

/* A fan-out host, named by alias only (execute_on_hosts). */
static int srv_resolve(void *ctx, const char *name, struct target *t, struct err *e)
{
	struct cfg c;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(t, 0, sizeof(*t));
	(void)str_copy(t->alias, sizeof(t->alias), name);
	c.host = t->alias;
	rc = srv_target_cfg(ctx, &c, t, e);
	cfg_free(&c);
	if (rc < 0)
		target_free(t);
	return rc;
}

/* Resolve the tool's host through ssh_config, with the tool's overrides on top. */
static int tool_target(struct server *srv, const struct args *a, struct target *t)
{
	char key[SSHMCP_PATH_MAX], line[SSHMCP_PATH_MAX + 32];
	struct cfg c;
	long port;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	memset(t, 0, sizeof(*t));
	if (arg_str(a, "host", t->alias, sizeof(t->alias), 1) < 0 ||
	    arg_str(a, "username", t->user, sizeof(t->user), 0) < 0 ||
	    arg_num(a, "port", 1, 65535, 0, &port) < 0 ||
	    arg_str(a, "key_filename", key, sizeof(key), 0) < 0)
		goto out;
	if (strspn(t->alias, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]%")
	    != strlen(t->alias)) {
		err_set(a->e, SSHMCP_ERR_USAGE, "bad host name '%s'", t->alias);
		goto out;
	}
	t->port = (int)port;
	c.host = t->alias;
	c.user = t->user;
	if (key[0] != '\0' && (str_fmt(line, sizeof(line), "IdentityFile \"%s\"", key) < 0 ||
	    cfg_option(&c, line, a->e) < 0))
		goto out;
	rc = srv_target_cfg(srv, &c, t, a->e);
out:
	cfg_free(&c);
	if (rc < 0)
		target_free(t);
	return rc;
}

static struct shell *srv_shell_find(struct server *srv, const char *key)
{
	int i;

	for (i = 0; i < srv->nshells; i++)
		if (strcmp(srv->shells[i]->key, key) == 0)
			return srv->shells[i];
	return NULL;
}

static void srv_shell_remove(struct server *srv, struct shell *sh)
{
	int i;

	for (i = 0; i < srv->nshells; i++)
		if (srv->shells[i] == sh) {
			srv->shells[i] = srv->shells[--srv->nshells];
			break;
		}
	shell_free(sh);
}

/* device_type picks the engine of a new session (a reused one must agree); a new
 * enable_password makes the next command climb to privileged mode first. */
static int tool_shell_device(struct shell *sh, const struct args *a)
{
	char type[32], pw[SSHMCP_SECRET_MAX];
	const struct dev_profile *p = NULL;
	int rc = arg_str(a, "device_type", type, sizeof(type), 0);

	if (rc < 0)
		return -1;
	if (rc == 0 && dev_type_parse(type, &p) < 0) {
		err_set(a->e, SSHMCP_ERR_USAGE, "unknown device_type '%s' (linux, cisco_ios, "
		    "cisco_nxos, cisco_xr, cisco_asa, juniper_junos, arista_eos, mikrotik_routeros, "
		    "hp_procurve, huawei_vrp, fortinet, paloalto_panos)", type);
		return -1;
	}
	if (rc == 0 && sh->st == SH_CONNECTING && sh->ncmds == 0 && sh->nq == 0) {
		sh->dev = p;
		sh->dev_auto = 0;
	} else if (rc == 0 && sh->dev != p) {
		err_set(a->e, SSHMCP_ERR_USAGE, "session '%s' to %s is already open as %s: close it "
		    "first, or use another session name", sh->name, sh->alias,
		    sh->dev != NULL ? sh->dev->name : "linux");
		return -1;
	}
	if ((rc = arg_str(a, "enable_password", pw, sizeof(pw), 0)) < 0)
		return -1;
	if (rc == 0 && strcmp(pw, sh->enable_pw) != 0) {
		(void)str_copy(sh->enable_pw, sizeof(sh->enable_pw), pw);
		sh->enable_want = 1;
	}
	mem_wipe(pw, sizeof(pw));
	return 0;
}

/* The session for this call: reused, or new. A session that died while idle is reported
 * once (SSHMCP_ERR_SESSION_LOST) and replaced on the next call: no silent reconnects. */
static struct shell *tool_shell(struct server *srv, const struct args *a, int64_t now)
{
	char name[SSHMCP_NAME_MAX], key[sizeof(((struct shell *)0)->key)];
	struct target t;
	struct shell *sh;
	int rc = arg_str(a, "session", name, sizeof(name), 0);

	if (rc < 0)
		return NULL;
	if (rc > 0)
		(void)str_copy(name, sizeof(name), "default");
	if (name[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") != strlen(name)) {
		err_set(a->e, SSHMCP_ERR_USAGE, "bad session name '%s' (letters, digits, _ . -)", name);
		return NULL;
	}
	if (tool_target(srv, a, &t) < 0)
		return NULL;
	if (pol_host(&srv->pol, t.alias, a->e) < 0) {
		target_free(&t);
		return NULL;
	}
	(void)str_fmt(key, sizeof(key), "%s@%s:%d/%s", t.user, t.host, t.port, name);
	if ((sh = srv_shell_find(srv, key)) != NULL && sh->st == SH_CLOSED) {
		int lost = sh->report_lost;

		if (lost && sh->dev != NULL)
			err_set(a->e, SSHMCP_ERR_SESSION_LOST, "session '%s' to %s (%s) was lost (%s): "
			    "its mode (%s) is gone; the next call logs in again", sh->name, sh->alias,
			    sh->dev->name, sh->s.err.code != SSHMCP_OK ? sh->s.err.msg : "closed",
			    shell_mode_name(sh));
		if (lost)
			err_set(a->e, SSHMCP_ERR_SESSION_LOST, "session '%s' to %s was lost (%s): its "
			    "working directory (cwd %s), exported variables and mode (%s) are gone; "
			    "the next call reconnects", sh->name, sh->alias, sh->s.err.code != SSHMCP_OK ?
			    sh->s.err.msg : "closed", sh->cwd[0] != '\0' ? sh->cwd : "unknown",
			    shell_mode_name(sh));
		srv_shell_remove(srv, sh);
		sh = NULL;
		if (lost) {
			target_free(&t);
			return NULL;
		}
	}
	if (sh != NULL) {
		target_free(&t);
		return tool_shell_device(sh, a) < 0 ? NULL : sh;
	}
	if (srv->nshells >= srv->pol.max_sessions) {
		err_set(a->e, SSHMCP_ERR_BUSY, "too many sessions (%d): close one first",
		    srv->pol.max_sessions);
		target_free(&t);
		return NULL;
	}
	if ((sh = shell_new(&t, name, &srv->log, now)) == NULL) {
		err_set(a->e, SSHMCP_ERR_NOMEM, "out of memory");
		target_free(&t);
		return NULL;
	}
	if (arg_str(a, "password", sh->s.secret, sizeof(sh->s.secret), 0) == 0)
		sh->s.have_secret = 1;
	sh->s.hk_ask = srv->elicit && !srv->accept_new;
	(void)arg_str(a, "passphrase", sh->s.passphrase, sizeof(sh->s.passphrase), 0);
	sh->dev_auto = 1;
	srv->shells[srv->nshells++] = sh;
	if (tool_shell_device(sh, a) < 0) {
		srv_shell_remove(srv, sh);
		return NULL;
	}
	return sh;
}

static void cmd_free(struct cmd *c)
{
	if (c == NULL)
		return;
	mem_wipe(c->sudo_pw, sizeof(c->sudo_pw));
	ring_free(&c->out);
	free(c->text);
	free(c);
}

/* Remember a command; the oldest finished one nobody waits on makes room. */
static int srv_hist_add(struct server *srv, struct cmd *c)
{
	int i;

	if (srv->nhist == SSHMCP_HISTORY_MAX) {
		for (i = 0; i < srv->nhist; i++)
			if (srv->hist[i]->status >= CMD_COMPLETED && srv->hist[i]->refs == 0)
				break;
		if (i == srv->nhist)
			return -1;
		cmd_free(srv->hist[i]);
		memmove(srv->hist + i, srv->hist + i + 1,
		    (size_t)(srv->nhist - i - 1) * sizeof(srv->hist[0]));
		srv->nhist--;
	}
	srv->hist[srv->nhist++] = c;
	return 0;
}

static struct cmd *srv_cmd_find(struct server *srv, const char *id)
{
	int i;

	for (i = 0; i < srv->nhist; i++)
		if (strcmp(srv->hist[i]->id, id) == 0)
			return srv->hist[i];
	return NULL;
}

/* A refused call goes into the audit too: who asked for what, and that it did not run. */
static void srv_audit_refusal(struct server *srv, const char *id, const struct args *a,
    const char *text)
{
	char host[SSHMCP_HOST_MAX], session[SSHMCP_NAME_MAX], msg[SSHMCP_ERRMSG_MAX];
	struct err scratch = { .code = SSHMCP_OK };
	struct args quiet = *a;
	struct audit_rec r;

	quiet.e = &scratch;
	(void)arg_str(&quiet, "host", host, sizeof(host), 0);
	if (arg_str(&quiet, "session", session, sizeof(session), 0) != 0)
		(void)str_copy(session, sizeof(session), "default");
	memset(&r, 0, sizeof(r));
	r = (struct audit_rec){ .req = id, .host = host, .session = session, .command = text,
		.status = "refused" };
	audit_write(&srv->audit, &srv->rd, &r);
	srv_log(srv, LOG_INFO, id, "refused on %s: %s (%s)", host, text, a->e->msg);
	redact_line(&srv->rd, a->e->msg, msg, sizeof(msg));     /* it quotes the command */
	(void)str_copy(a->e->msg, sizeof(a->e->msg), msg);
}

/* Finished commands go into the audit once, and into the log. */
static void srv_audit_cmds(struct server *srv, int64_t now)
{
	int i;

	for (i = 0; i < srv->nhist; i++) {
		struct cmd *c = srv->hist[i];
		struct audit_rec r;

		if (c->audited || c->status < CMD_COMPLETED)
			continue;
		c->audited = 1;
		r = (struct audit_rec){ .req = c->req[0] ? c->req : NULL, .host = c->host,
			.user = c->user, .session = c->session, .command = c->text,
			.status = cmd_status_names[c->status], .has_exit = c->has_exit,
			.exit_code = c->exit_code, .bytes = c->out.head,
			.duration_ms = (c->t_end ? c->t_end : now) - (c->t_start ? c->t_start : c->t_queued) };
		audit_write(&srv->audit, &srv->rd, &r);
		srv_log(srv, LOG_INFO, c->req[0] ? c->req : NULL, "%s %s, exit %d%s, %llu bytes, %lld ms",
		    c->id, cmd_status_names[c->status], c->exit_code, c->has_exit ? "" : " (unknown)",
		    (unsigned long long)r.bytes, (long long)r.duration_ms);
	}
}

/* Rate limits: commands in flight, in all and per host; a flood is answered, not queued. */
static int srv_cmd_limits(struct server *srv, const char *host, struct err *e)
{
	int i, all = 0, here = 0;

	for (i = 0; i < srv->nhist; i++)
		if (srv->hist[i]->status <= CMD_AWAITING) {
			all++;
			here += strcmp(srv->hist[i]->host, host) == 0;
		}
	if (all >= srv->pol.max_cmds || here >= srv->pol.max_cmds_host) {
		err_set(e, SSHMCP_ERR_BUSY, "too many commands in flight (%d in all, %d on %s; limits "
		    "%d and %d): wait for some to finish", all, here, host, srv->pol.max_cmds,
		    srv->pol.max_cmds_host);
		return -1;
	}
	return 0;
}

/* Queue `text` on `sh`; starts at once when the shell is idle. */
static struct cmd *srv_cmd_new(struct server *srv, struct shell *sh, const char *req,
    const char *text, int timeout_s, struct err *e, int64_t now)
{
	struct cmd *c;

	if (sh->nq >= SSHMCP_QUEUE_MAX) {
		err_set(e, SSHMCP_ERR_BUSY, "session '%s' has %d commands queued: wait, or use "
		    "another session name", sh->name, SSHMCP_QUEUE_MAX);
		return NULL;
	}
	if (srv_cmd_limits(srv, sh->alias, e) < 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->text = strdup(text)) == NULL ||
	    ring_init(&c->out, srv->pol.ring_size) < 0 || srv_hist_add(srv, c) < 0) {
		cmd_free(c);
		err_set(e, SSHMCP_ERR_BUSY, "too many commands in flight");
		return NULL;
	}
	(void)str_fmt(c->id, sizeof(c->id), "c%u", ++srv->cmd_seq);
	(void)str_copy(c->req, sizeof(c->req), req);
	if (sh->s.logc.tag[0] == '\0')     /* connecting: lines name the first request */
		(void)str_fmt(sh->s.logc.tag, sizeof(sh->s.logc.tag), "[req %.24s] ", req);
	(void)str_copy(c->host, sizeof(c->host), sh->alias);
	(void)str_copy(c->session, sizeof(c->session), sh->name);
	(void)str_copy(c->user, sizeof(c->user), sh->s.t.user);
	(void)str_copy(c->mode, sizeof(c->mode), shell_mode_name(sh));
	c->sh = sh;
	c->status = CMD_QUEUED;
	c->t_queued = now;
	c->deadline = now + (int64_t)timeout_s * 1000;
	sh->queue[sh->nq++] = c;
	shell_start_next(sh, now);
	return c;
}

/* The slice of output a response carries: from offset, at most max_bytes, the newest. */
struct slice {
	uint64_t start, end, dropped;
	int truncated;
};

static struct slice cmd_slice(const struct cmd *c, uint64_t offset, size_t max_bytes)
{
	struct slice s;
	uint64_t head = c->out.head, tail = c->out.tail;

	s.end = head;
	s.start = offset > head ? head : offset;
	if (s.start < tail)
		s.start = tail;
	if (s.end - s.start > max_bytes)
		s.start = s.end - max_bytes;
	s.dropped = s.start > offset ? s.start - offset : 0;
	s.truncated = s.dropped > 0;
	return s;
}

/* Copy the slice out; a character split at the live end waits for its last bytes. */
static size_t cmd_read_slice(const struct cmd *c, struct slice *s, char *tmp)
{
	size_t n = (size_t)(s->end - s->start);

	ring_read_at(&c->out, s->start, (unsigned char *)tmp, n);
	if (c->status < CMD_COMPLETED) {
		n = json_utf8_valid_prefix(tmp, n);
		s->end = s->start + n;
	}
	return n;
}

/* structuredContent of a command result (SPEC §2). Output schemas list no required keys:
 * a failed call's structuredContent is {error} alone, and must validate too. */
static void cmd_write_result(struct jw *w, const struct cmd *c, const struct slice *s,
    const char *out, size_t n, int64_t now)
{
	int64_t end = c->t_end ? c->t_end : now, start = c->t_start ? c->t_start : c->t_queued;

	jw_obj_begin(w);
	jw_kcstr(w, "command_id", c->id);
	jw_kcstr(w, "host", c->host);
	jw_kcstr(w, "session", c->session);
	jw_kcstr(w, "status", cmd_status_names[c->status]);
	if (c->has_exit)
		jw_kint(w, "exit_code", c->exit_code);
	else
		jw_knull(w, "exit_code");
	jw_kstr(w, "output", out, n);
	jw_kuint(w, "offset", s->start);
	jw_kuint(w, "next_offset", s->end);
	jw_kuint(w, "total_bytes", c->out.head);
	jw_kuint(w, "dropped_bytes", s->dropped);
	jw_kbool(w, "truncated", s->truncated);
	if (c->status == CMD_AWAITING)
		jw_kcstr(w, "prompt", c->prompt);
	else
		jw_knull(w, "prompt");
	jw_kcstr(w, "mode", c->mode);
	jw_kint(w, "duration_ms", end - start);
	if (c->ended_session)
		jw_kbool(w, "session_closed", 1);
	if (c->err.code != SSHMCP_OK) {
		jw_kobj_begin(w, "error");
		jw_kcstr(w, "code", err_table[c->err.code].name);
		jw_kcstr(w, "message", c->err.msg);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static int cmd_is_error(const struct cmd *c)
{
	return c->status == CMD_TIMEOUT || c->status == CMD_FAILED || c->err.code != SSHMCP_OK;
}

/* A tools/call result for a command: text for people, structuredContent for programs. */
static void mcp_reply_cmd(struct server *srv, const char *id, const struct cmd *c,
    uint64_t offset, size_t max_bytes, int64_t now)
{
	struct slice s = cmd_slice(c, offset, max_bytes);
	size_t n, cap = (size_t)(s.end - s.start) + SSHMCP_ERRMSG_MAX + SSHMCP_PROMPT_MAX + 128;
	char *tmp = malloc(cap);
	struct jw w;
	int k;

	if (tmp == NULL || mcp_resp_begin(srv, &w, cap) < 0) {
		free(tmp);
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	n = cmd_read_slice(c, &s, tmp);
	/* The text rendering: the output, then one bracketed summary line. */
	k = snprintf(tmp + n, cap - n, "%s[%s %s%s", n > 0 && tmp[n - 1] != '\n' ? "\n" : "",
	    c->id, cmd_status_names[c->status], c->status == CMD_AWAITING ? ": " : "");
	if (k > 0 && c->status == CMD_AWAITING)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, "%s", c->prompt);
	if (k > 0 && c->has_exit)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, ", exit %d", c->exit_code);
	if (k > 0 && c->ended_session)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, ", the shell exited: session "
		    "closed");
	if (k > 0 && c->err.code != SSHMCP_OK)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, ": %s", c->err.msg);
	if (k > 0)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, "]");
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_karr_begin(&w, "content");
	jw_obj_begin(&w);
	jw_kcstr(&w, "type", "text");
	jw_kstr(&w, "text", tmp, n + (k > 0 ? (size_t)k : 0));
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_key(&w, "structuredContent");
	cmd_write_result(&w, c, &s, tmp, n, now);
	jw_kbool(&w, "isError", cmd_is_error(c));
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
	free(tmp);
}

/* A failed tool call: isError, a one-line message, structuredContent.error. */
static void mcp_reply_err(struct server *srv, const char *id, const struct err *e)
{
	struct jw w;
	enum sshmcp_err code = e->code != SSHMCP_OK ? e->code : SSHMCP_ERR_INTERNAL;

	if (mcp_resp_begin(srv, &w, sizeof(e->msg)) < 0)
		return;
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_karr_begin(&w, "content");
	jw_obj_begin(&w);
	jw_kcstr(&w, "type", "text");
	jw_kcstr(&w, "text", e->msg);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_kobj_begin(&w, "structuredContent");
	jw_kobj_begin(&w, "error");
	jw_kcstr(&w, "code", err_table[code].name);
	jw_kcstr(&w, "message", e->msg);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_kbool(&w, "isError", 1);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

/* Park a request until its command changes; the loop answers it (srv_wake). */
static int srv_wait(struct server *srv, const char *id, struct cmd *c, int64_t deadline,
    uint64_t offset, size_t max_bytes, int on_change, const char *progress)
{
	int i;

	for (i = 0; i < SSHMCP_WAITERS_MAX; i++) {
		struct waiter *wt = &srv->wait[i];

		if (wt->active)
			continue;
		memset(wt, 0, sizeof(*wt));
		wt->active = 1;
		(void)str_copy(wt->id, sizeof(wt->id), id);
		(void)str_copy(wt->progress, sizeof(wt->progress), progress);
		wt->cmd = c;
		wt->deadline = deadline;
		wt->offset = offset;
		wt->max_bytes = max_bytes;
		wt->on_change = on_change;
		wt->next_progress = time_ms() + SSHMCP_PROGRESS_MS;
		c->refs++;
		return 0;
	}
	return -1;
}

/* A JSON command-line argument: allocated, decoded, bounded by SSHMCP_CMD_MAX. */
static char *arg_text(const struct args *a, const char *key, size_t max)
{
	int t = a->obj >= 0 ? json_get(a->d, a->obj, key) : -1;
	size_t n, got;
	char *s;

	if (t < 0 || json_type(a->d, t) != JSON_STRING) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument '%s' is required and must be a string", key);
		return NULL;
	}
	n = json_str_len(a->d, t);
	if (n == 0 || n > max) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument '%s' must have 1 to %zu bytes", key, max);
		return NULL;
	}
	if ((s = malloc(n + 1)) == NULL || json_str(a->d, t, s, n + 1, &got) < 0 ||
	    memchr(s, '\0', got) != NULL) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument '%s' must not contain NUL bytes", key);
		free(s);
		return NULL;
	}
	return s;
}

static void tool_run(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now, int async)
{
	char *text = arg_text(a, "command", SSHMCP_CMD_MAX);
	long timeout, wait, maxb;
	const char *hint;
	struct shell *sh;
	struct cmd *c = NULL;
	char sudo[SSHMCP_SECRET_MAX];

	if (text == NULL || arg_num(a, "timeout", 1, srv->pol.timeout_max, srv->pol.timeout_default,
	    &timeout) < 0 || arg_num(a, "max_bytes", 1, SSHMCP_MAX_BYTES_MAX,
	    SSHMCP_MAX_BYTES_DEFAULT, &maxb) < 0 || arg_str(a, "sudo_password", sudo,
	    sizeof(sudo), 0) < 0)
		goto fail;
	if (arg_num(a, "wait", 0, srv->pol.timeout_max, timeout < SSHMCP_WAIT_MAX_S ? timeout :
	    SSHMCP_WAIT_MAX_S, &wait) < 0)
		goto fail;
	if (pol_command(&srv->pol, text, a->e) < 0) {
		srv_audit_refusal(srv, id, a, text);
		goto fail;
	}
	if (async)
		wait = 0;
	if ((sh = tool_shell(srv, a, now)) == NULL)
		goto fail;
	if (wait > 0 && (hint = prompt_stream_hint(text, sh->dev != NULL)) != NULL) {
		err_set(a->e, SSHMCP_ERR_REFUSED, "refused '%.80s': %s", text, hint);
		if (sh->st == SH_CONNECTING && sh->ncmds == 0 && sh->nq == 0)
			srv_shell_remove(srv, sh);      /* opened for this call alone */
		goto fail;
	}
	if ((c = srv_cmd_new(srv, sh, id, text, (int)timeout, a->e, now)) == NULL)
		goto fail;
	(void)str_copy(c->sudo_pw, sizeof(c->sudo_pw), sudo);
	mem_wipe(sudo, sizeof(sudo));
	srv_log(srv, LOG_INFO, id, "%s on %s/%s: %s", c->id, c->host, c->session, c->text);
	free(text);
	if (wait == 0 || srv_wait(srv, id, c, now + wait * 1000, 0, (size_t)maxb, 0, progress) < 0)
		mcp_reply_cmd(srv, id, c, 0, (size_t)maxb, now);
	return;
fail:
	mem_wipe(sudo, sizeof(sudo));
	free(text);
	mcp_reply_err(srv, id, a->e);
}

static void tool_execute_command(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	tool_run(srv, id, a, progress, now, 0);
}

static void tool_execute_async(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	tool_run(srv, id, a, progress, now, 1);
}

static struct cmd *tool_cmd(struct server *srv, const struct args *a)
{
	char cid[SSHMCP_NAME_MAX];
	struct cmd *c;

	if (arg_str(a, "command_id", cid, sizeof(cid), 1) < 0)
		return NULL;
	if ((c = srv_cmd_find(srv, cid)) == NULL)
		err_set(a->e, SSHMCP_ERR_NOT_FOUND, "no command '%s' (finished commands are kept "
		    "until %d newer ones push them out)", cid, SSHMCP_HISTORY_MAX);
	return c;
}

static void tool_get_status(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct cmd *c = tool_cmd(srv, a);
	long wait, maxb;
	double off = 0;
	int t;

	if (c == NULL || arg_num(a, "wait", 0, SSHMCP_TIMEOUT_MAX_S, 0, &wait) < 0 ||
	    arg_num(a, "max_bytes", 1, SSHMCP_MAX_BYTES_MAX, SSHMCP_MAX_BYTES_DEFAULT, &maxb) < 0) {
		mcp_reply_err(srv, id, a->e);
		return;
	}
	t = json_get(a->d, a->obj, "offset");
	if (t >= 0 && (json_double(a->d, t, &off) < 0 || off < 0 || off > 9007199254740992.0)) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'offset' must be a byte offset >= 0");
		mcp_reply_err(srv, id, a->e);
		return;
	}
	if (wait == 0 || c->status > CMD_RUNNING ||
	    srv_wait(srv, id, c, now + wait * 1000, (uint64_t)off, (size_t)maxb, 1, progress) < 0)
		mcp_reply_cmd(srv, id, c, (uint64_t)off, (size_t)maxb, now);
}

/* Named keys, as a terminal sends them. Enter is CR: the tty maps it for cooked reads. */
static const struct { const char *name, *seq; } tool_keys[] = {
	{ "enter", "\r" }, { "space", " " }, { "tab", "\t" }, { "esc", "\033" },
	{ "ctrl-c", "\003" }, { "ctrl-d", "\004" }, { "q", "q" }, { "y", "y" }, { "n", "n" },
	{ "up", "\033[A" }, { "down", "\033[B" },
};

static int tool_key_index(const struct json_doc *d, int k)
{
	size_t i;

	for (i = 0; i < sizeof(tool_keys) / sizeof(tool_keys[0]); i++)
		if (json_streq(d, k, tool_keys[i].name))
			return (int)i;
	return -1;
}

/* All names are checked before anything is typed: a bad list types nothing. */
static int tool_type_keys(struct shell *sh, const struct args *a, int dry)
{
	int arr = json_get(a->d, a->obj, "keys"), k, i;

	if (arr < 0)
		return 0;
	if (json_type(a->d, arr) != JSON_ARRAY) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'keys' must be an array of key names");
		return -1;
	}
	for (k = json_child(a->d, arr); k >= 0; k = json_next(a->d, arr, k)) {
		if ((i = tool_key_index(a->d, k)) < 0) {
			err_set(a->e, SSHMCP_ERR_USAGE, "unknown key in 'keys' (enter, space, tab, esc, "
			    "ctrl-c, ctrl-d, q, y, n, up, down)");
			return -1;
		}
		if (!dry && shell_type(sh, tool_keys[i].seq, strlen(tool_keys[i].seq)) < 0) {
			err_set(a->e, SSHMCP_ERR_BUSY, "input buffer full");
			return -1;
		}
	}
	return 0;
}

static void tool_send_input(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct cmd *c = tool_cmd(srv, a);
	char *text = NULL;
	int newline, secret, has_text = a->obj >= 0 && json_get(a->d, a->obj, "text") >= 0;

	(void)secret;
	if (c == NULL || arg_bool(a, "newline", 1, &newline) < 0 ||
	    arg_bool(a, "secret", 0, &secret) < 0 ||
	    (has_text && (text = arg_text(a, "text", SSHMCP_INPUT_MAX)) == NULL))
		goto fail;
	if (c->sh == NULL || c->status > CMD_AWAITING || c->status == CMD_QUEUED) {
		err_set(a->e, SSHMCP_ERR_NOT_FOUND, "command %s is not running (%s)", c->id,
		    cmd_status_names[c->status]);
		goto fail;
	}
	if (tool_type_keys(c->sh, a, 1) < 0)
		goto fail;
	/* Secret input is typed and wiped; it is never logged, echoed back or kept. */
	if ((text != NULL && (shell_type(c->sh, text, strlen(text)) < 0 ||
	    (newline && shell_type(c->sh, "\r", 1) < 0))) || tool_type_keys(c->sh, a, 0) < 0) {
		err_set(a->e, SSHMCP_ERR_BUSY, "input buffer full");
		goto fail;
	}
	if (text != NULL) {
		mem_wipe(text, strlen(text));
		free(text);
	}
	c->status = CMD_RUNNING;
	c->prompt[0] = '\0';
	c->sh->fresh = 0;
	if (srv_wait(srv, id, c, now + SSHMCP_INTERRUPT_GRACE_MS, 0, SSHMCP_MAX_BYTES_DEFAULT, 1,
	    progress) < 0)
		mcp_reply_cmd(srv, id, c, 0, SSHMCP_MAX_BYTES_DEFAULT, now);
	return;
fail:
	if (text != NULL) {
		mem_wipe(text, strlen(text));
		free(text);
	}
	mcp_reply_err(srv, id, a->e);
}

static void tool_interrupt(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct cmd *c = tool_cmd(srv, a);

	if (c == NULL) {
		mcp_reply_err(srv, id, a->e);
		return;
	}
	if (c->sh != NULL && c->status <= CMD_AWAITING)
		shell_interrupt(c->sh, c, CMD_INTERRUPTED, now);
	if (c->status > CMD_AWAITING || srv_wait(srv, id, c, now + SSHMCP_INTERRUPT_GRACE_MS +
	    SSHMCP_QUIET_MS * 4, 0, SSHMCP_MAX_BYTES_DEFAULT, 1, progress) < 0)
		mcp_reply_cmd(srv, id, c, 0, SSHMCP_MAX_BYTES_DEFAULT, now);
}

/* Reply with a small structured object, its JSON also serving as the text rendering. */
static void mcp_reply_obj(struct server *srv, const char *id, const char *json, size_t n)
{
	struct jw w;

	if (mcp_resp_begin(srv, &w, n) < 0)
		return;
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_karr_begin(&w, "content");
	jw_obj_begin(&w);
	jw_kcstr(&w, "type", "text");
	jw_kstr(&w, "text", json, n);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_kraw(&w, "structuredContent", json, n);
	jw_kbool(&w, "isError", 0);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

/* Listings are bounded (commands by the history, sessions by MaxSessions): each entry
 * takes at most this much JSON (a 200-byte command escaped, names, numbers). */
#define TOOL_LIST_ENTRY 2048
#define TOOL_LIST_BUF(n) ((size_t)(n) * TOOL_LIST_ENTRY + 4096)

static void tool_list_commands(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	char host[SSHMCP_HOST_MAX], red[SSHMCP_LINE_MAX], *buf = malloc(TOOL_LIST_BUF(srv->nhist));
	int running_only, i;
	struct jw w;

	(void)progress;
	if (buf == NULL || arg_str(a, "host", host, sizeof(host), 0) < 0 ||
	    arg_bool(a, "running_only", 0, &running_only) < 0) {
		free(buf);
		mcp_reply_err(srv, id, a->e);
		return;
	}
	jw_init(&w, buf, TOOL_LIST_BUF(srv->nhist));
	jw_obj_begin(&w);
	jw_karr_begin(&w, "commands");
	for (i = srv->nhist - 1; i >= 0; i--) {
		const struct cmd *c = srv->hist[i];

		if ((host[0] != '\0' && strcmp(host, c->host) != 0) ||
		    (running_only && c->status > CMD_AWAITING))
			continue;
		jw_obj_begin(&w);
		jw_kcstr(&w, "command_id", c->id);
		jw_kcstr(&w, "host", c->host);
		jw_kcstr(&w, "session", c->session);
		redact_line(&srv->rd, c->text, red, sizeof(red));
		jw_kstr(&w, "command", red, strlen(red) > 200 ? 200 : strlen(red));
		jw_kcstr(&w, "status", cmd_status_names[c->status]);
		if (c->has_exit)
			jw_kint(&w, "exit_code", c->exit_code);
		else
			jw_knull(&w, "exit_code");
		jw_kuint(&w, "total_bytes", c->out.head);
		jw_kint(&w, "duration_ms", (c->t_end ? c->t_end : now) -
		    (c->t_start ? c->t_start : c->t_queued));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	mcp_reply_obj(srv, id, buf, w.len);
	free(buf);
}

static const char *const shell_state_names[] = {
	[SH_CONNECTING] = "connecting", [SH_SETUP] = "starting", [SH_IDLE] = "idle",
	[SH_BUSY] = "busy", [SH_CLOSED] = "closed",
};

static void tool_list_sessions(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	char *buf = malloc(TOOL_LIST_BUF(srv->nshells));
	struct jw w;
	int i;

	(void)a, (void)progress;
	if (buf == NULL) {
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	jw_init(&w, buf, TOOL_LIST_BUF(srv->nshells));
	jw_obj_begin(&w);
	jw_karr_begin(&w, "sessions");
	for (i = 0; i < srv->nshells; i++) {
		const struct shell *sh = srv->shells[i];

		jw_obj_begin(&w);
		jw_kcstr(&w, "host", sh->alias);
		jw_kcstr(&w, "user", sh->s.t.user);
		jw_kint(&w, "port", sh->s.t.port);
		jw_kcstr(&w, "session", sh->name);
		jw_kcstr(&w, "state", shell_state_names[sh->st]);
		jw_kcstr(&w, "mode", shell_mode_name(sh));
		jw_kcstr(&w, "device_type", sh->dev != NULL ? sh->dev->name : "linux");
		jw_kint(&w, "idle_s", sh->st == SH_BUSY ? 0 : (now - sh->t_used) / 1000);
		jw_kint(&w, "commands", sh->ncmds);
		jw_kint(&w, "queued", sh->nq);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	mcp_reply_obj(srv, id, buf, w.len);
	free(buf);
}

static void srv_files_reply(struct server *srv, struct shell *sh);
static int fop_sudo_cmd(struct server *srv, struct shell *sh, struct fop *op, struct err *e,
    int64_t now);

/* Close a session now: its running command ends as interrupted. */
static void srv_shell_close(struct server *srv, struct shell *sh, int64_t now)
{
	if (sh->cur != NULL && sh->cur->stop == 0)
		sh->cur->stop = CMD_INTERRUPTED;
	if (sh->st != SH_CLOSED) {
		err_set(&sh->s.err, SSHMCP_ERR_SESSION_LOST, "closed by request");
		sh->s.state = SESS_DEAD;
		shell_end(sh, now);
	}
	srv_files_reply(srv, sh);
	srv_shell_remove(srv, sh);
}

static void tool_close(struct server *srv, const char *id, const struct args *a, int all,
    int64_t now)
{
	char host[SSHMCP_HOST_MAX], name[SSHMCP_NAME_MAX], out[64];
	int i, n = 0;

	if (!all && (arg_str(a, "host", host, sizeof(host), 1) < 0 ||
	    arg_str(a, "session", name, sizeof(name), 0) < 0)) {
		mcp_reply_err(srv, id, a->e);
		return;
	}
	if (!all && name[0] == '\0')
		(void)str_copy(name, sizeof(name), "default");
	for (i = srv->nshells - 1; i >= 0; i--) {
		struct shell *sh = srv->shells[i];

		if (all || (strcmp(sh->alias, host) == 0 && strcmp(sh->name, name) == 0)) {
			srv_shell_close(srv, sh, now);
			n++;
		}
	}
	(void)str_fmt(out, sizeof(out), "{\"closed\":%d}", n);
	mcp_reply_obj(srv, id, out, strlen(out));
}

static void tool_close_session(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	(void)progress;
	tool_close(srv, id, a, 0, now);
}

static void tool_close_all(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	(void)progress;
	tool_close(srv, id, a, 1, now);
}

/* ---------------------------------------------------------- file tools --- */

static void mcp_reply_file(struct server *srv, const struct fop *op)
{
	size_t n = op->kind == FOP_READ ? op->done : 0, b64n = b64_encoded_len(n);
	int utf8 = op->kind == FOP_READ && json_utf8_valid((const char *)op->data, n);
	char *b64 = NULL, mode[8], text[160];
	struct jw w;

	if (op->err.code != SSHMCP_OK) {
		mcp_reply_err(srv, op->id, &op->err);
		return;
	}
	if (op->kind == FOP_READ && !utf8 && (b64 = malloc(b64n + 1)) != NULL)
		(void)b64_encode(op->data, n, b64, b64n + 1, NULL);
	if (mcp_resp_begin(srv, &w, b64n + n) < 0 || (op->kind == FOP_READ && !utf8 && !b64)) {
		free(b64);
		mcp_error(srv, op->id, RPC_INTERNAL, "out of memory");
		return;
	}
	(void)str_fmt(mode, sizeof(mode), "%04lo", op->mode & 07777);
	mcp_result_open(&w, op->id);
	jw_obj_begin(&w);
	jw_karr_begin(&w, "content");
	jw_obj_begin(&w);
	jw_kcstr(&w, "type", "text");
	if (op->kind == FOP_READ && utf8)
		jw_kstr(&w, "text", (const char *)op->data, n);
	else {
		if (op->kind == FOP_READ)
			(void)str_fmt(text, sizeof(text), "%zu bytes of binary data from %.80s (base64 "
			    "in structuredContent.content)", n, op->path);
		else
			(void)str_fmt(text, sizeof(text), "wrote %zu bytes to %.80s (mode %s)", op->done,
			    op->path, mode);
		jw_kcstr(&w, "text", text);
	}
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_kobj_begin(&w, "structuredContent");
	jw_kcstr(&w, "path", op->path);
	if (op->kind == FOP_READ) {
		if (utf8)
			jw_kstr(&w, "content", (const char *)op->data, n);
		else
			jw_kcstr(&w, "content", b64);
		jw_kcstr(&w, "encoding", utf8 ? "utf8" : "base64");
		jw_kuint(&w, "offset", op->offset);
		jw_kuint(&w, "length", n);
		jw_kuint(&w, "size", op->size);
		jw_kbool(&w, "truncated", op->offset + n < op->size);
	} else
		jw_kuint(&w, "bytes_written", op->done);
	jw_kcstr(&w, "mode", mode);
	jw_obj_end(&w);
	jw_kbool(&w, "isError", 0);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
	free(b64);
}

/* Why a sudo file command failed, from what it printed: one typed line. */
static void fop_sudo_error(struct fop *op, const char *out)
{
	static const struct { const char *needle; enum sshmcp_err code; } map[] = {
		{ "__SSHMCP_ISDIR__", SSHMCP_ERR_IS_DIRECTORY }, { "No such file", SSHMCP_ERR_NOT_FOUND },
		{ "Permission denied", SSHMCP_ERR_PERMISSION }, { "not allowed", SSHMCP_ERR_PERMISSION },
		{ "sudoers", SSHMCP_ERR_PERMISSION }, { "password is required", SSHMCP_ERR_PERMISSION },
		{ "incorrect password", SSHMCP_ERR_PERMISSION }, { "No space", SSHMCP_ERR_NO_SPACE },
		{ "Read-only file system", SSHMCP_ERR_PERMISSION },
	};
	const char *line = out;
	size_t i, n;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strstr(out, map[i].needle) != NULL)
			break;
	while (*line == '\n' || (strncmp(line, "[sudo]", 6) == 0 && strchr(line, '\n') != NULL))
		line = *line == '\n' ? line + 1 : strchr(line, '\n') + 1;
	n = strcspn(line, "\n");
	err_set(&op->err, i < sizeof(map) / sizeof(map[0]) ? map[i].code : SSHMCP_ERR_IO,
	    "sudo %s %s failed: %.*s", op->kind == FOP_READ ? "read of" : "write to", op->path,
	    (int)(n > 200 ? 200 : n), i == 0 ? "is a directory" : line);
}

/* The sudo command ended: parse "__SSHMCP_FILE__ size mode" and, for reads, the base64. */
static void fop_sudo_finish(struct fop *op)
{
	struct cmd *c = op->cmd;
	size_t n = ring_used(&c->out), k = 0, i;
	char *out = malloc(n + 1), *m;
	unsigned long long size;

	if (out == NULL) {
		err_set(&op->err, SSHMCP_ERR_NOMEM, "out of memory");
		goto done;
	}
	ring_read_at(&c->out, c->out.tail, (unsigned char *)out, n);
	out[n] = '\0';
	m = strstr(out, "__SSHMCP_FILE__ ");
	if (c->status != CMD_COMPLETED || c->exit_code != 0 || m == NULL ||
	    sscanf(m + 16, "%llu %lo", &size, &op->mode) != 2) {
		if (c->err.code != SSHMCP_OK && c->err.code != SSHMCP_ERR_PERMISSION)
			err_set(&op->err, c->err.code, "%s", c->err.msg);
		fop_sudo_error(op, out);
		goto done;
	}
	op->size = size;
	if (op->kind == FOP_WRITE) {
		op->done = op->len;
		goto done;
	}
	for (i = (size_t)(m - out) + strcspn(m, "\n"); i < n; i++)    /* base64 lines */
		if (out[i] != '\n' && out[i] != ' ')
			out[k++] = out[i];
	free(op->data);
	if ((op->data = malloc(k / 4 * 3 + 3)) == NULL ||
	    b64_decode(out, k, op->data, k / 4 * 3 + 3, &op->done) < 0)
		err_set(&op->err, SSHMCP_ERR_IO, "sudo read of %s: garbled output", op->path);
done:
	free(out);
	c->refs--;
	op->cmd = NULL;
	op->step = FOP_DONE;
}

/* A sudo operation whose command asks for a password it was not given cannot go on. */
static void fop_sudo_check(struct fop *op, int64_t now)
{
	struct cmd *c = op->cmd;

	if (c->status == CMD_AWAITING && c->sh != NULL) {
		err_set(&op->err, SSHMCP_ERR_PERMISSION, "sudo asked for a password: pass the right "
		    "sudo_password (prompt: %.80s)", c->prompt);
		shell_interrupt(c->sh, c, CMD_FAILED, now);
	}
	if (c->status >= CMD_COMPLETED)
		fop_sudo_finish(op);
}

/* Answer and drop the finished file operations of a session, in order. */
static void srv_files_reply(struct server *srv, struct shell *sh)
{
	struct fop *op;
	int64_t now = time_ms();

	for (op = sh->fops; op != NULL; op = op->next) {
		if (op->step == FOP_STAGED) {
			if (fop_sudo_cmd(srv, sh, op, &op->err, now) < 0)
				op->step = FOP_DONE;
			else    /* typed after this round's step: send it now, not on the next input */
				sess_step(&sh->s, now);
		}
		if (op->step == FOP_SHELL)
			fop_sudo_check(op, now);
	}
	while (sh->fops != NULL && sh->fops->step == FOP_DONE) {
		char what[SSHMCP_PATH_MAX + 16];
		struct audit_rec r;

		op = sh->fops;
		sh->fops = op->next;
		(void)str_fmt(what, sizeof(what), "%s %s", op->kind == FOP_READ ? "read_file" :
		    "write_file", op->path);
		r = (struct audit_rec){ .req = op->id, .host = sh->alias, .user = sh->s.t.user,
			.session = sh->name, .command = what, .status = op->err.code != SSHMCP_OK ?
			"failed" : "completed", .bytes = op->done };
		audit_write(&srv->audit, &srv->rd, &r);
		mcp_reply_file(srv, op);
		fop_free(op);
	}
}

static int arg_path(const struct args *a, struct fop *op)
{
	if (arg_str(a, "path", op->path, sizeof(op->path), 1) < 0)
		return -1;
	if (strchr(op->path, '\n') != NULL) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'path' must not contain a newline");
		return -1;
	}
	return 0;
}

/* Shell single quotes: 'it'\''s' — nothing inside is interpreted. */
static int sudo_quote(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in != '\0' || o == 0; in++) {
		const char *rep = *in == '\'' ? "'\\''" : NULL;
		size_t k = rep != NULL ? 4 : 1;

		if (o == 0) {
			if (cap < 3)
				return -1;
			out[o++] = '\'';
		}
		if (*in == '\0')
			break;
		if (k + 2 > cap - o)
			return -1;
		memcpy(out + o, rep != NULL ? rep : in, k);
		o += k;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return 0;
}

/*
 * sudo read: one command prints "__SSHMCP_FILE__ <size> <mode>" then the slice in base64.
 * The path travels as a positional parameter inside single quotes: no quoting can break,
 * nothing is interpreted. The command engine answers sudo's prompt with sudo_password.
 */
static int sudo_read_cmd(const struct fop *op, char *out, size_t cap)
{
	char q[2 * SSHMCP_PATH_MAX + 8];

	if (sudo_quote(op->path, q, sizeof(q)) < 0)
		return -1;
	return str_fmt(out, cap, "sudo -p '[sudo] password for %%u: ' -- sh -c 'if [ -d \"$1\" ]; "
	    "then echo __SSHMCP_ISDIR__; exit 3; fi; s=$(stat -L -c \"%%s %%a\" -- \"$1\") || "
	    "exit 4; echo \"__SSHMCP_FILE__ $s\"; tail -c +\"$2\" -- \"$1\" | head -c \"$3\" | "
	    "base64' sshmcp %s %llu %zu", q, (unsigned long long)op->offset + 1, op->len);
}

/* sudo write: the content went up by SFTP into a private temp file (0600, ours); sudo
 * installs it beside the target and renames it over (or appends it); the temp file goes
 * whatever happens. Paths travel as quoted positional parameters. */
static int sudo_write_cmd(const struct fop *op, char *out, size_t cap)
{
	char q[2 * SSHMCP_PATH_MAX + 8], t[2 * SSHMCP_PATH_MAX + 8], mode[8] = "";

	if (sudo_quote(op->path, q, sizeof(q)) < 0 || sudo_quote(op->tmp, t, sizeof(t)) < 0)
		return -1;
	if (op->mode_given)
		(void)str_fmt(mode, sizeof(mode), "%lo", op->mode);
	return str_fmt(out, cap, "( sudo -p '[sudo] password for %%u: ' -- sh -c '[ \"$4\" = 1 ] && "
	    "mkdir -p -- \"$(dirname -- \"$2\")\"; if [ -d \"$2\" ]; then echo __SSHMCP_ISDIR__; "
	    "exit 3; fi; m=$3; [ -n \"$m\" ] || m=$(stat -c %%a -- \"$2\" 2>/dev/null) || m=644; "
	    "if [ \"$5\" = 1 ]; then cat -- \"$1\" >> \"$2\" && chmod \"$m\" -- \"$2\"; else install "
	    "-m \"$m\" -- \"$1\" \"$2.sshmcp-new\" && { [ ! -e \"$2\" ] || chown --reference=\"$2\" "
	    "-- \"$2.sshmcp-new\" 2>/dev/null; true; } && mv -f -- \"$2.sshmcp-new\" \"$2\"; fi || "
	    "exit 7; "
	    "echo \"__SSHMCP_FILE__ $(stat -c \"%%s %%a\" -- \"$2\")\"' sshmcp %s %s '%s' %d %d; "
	    "r=$?; rm -f -- %s; exit $r )", t, q, mode, op->create_dirs, op->append, t);
}

/* Run a sudo file operation as a command of the session; it ends with the command. */
static int fop_sudo_cmd(struct server *srv, struct shell *sh, struct fop *op, struct err *e,
    int64_t now)
{
	char text[6 * SSHMCP_PATH_MAX];

	if ((op->kind == FOP_READ ? sudo_read_cmd(op, text, sizeof(text)) :
	    sudo_write_cmd(op, text, sizeof(text))) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "path too long");
		return -1;
	}
	if ((op->cmd = srv_cmd_new(srv, sh, op->id, text, SSHMCP_TIMEOUT_DEFAULT_S, e, now)) == NULL)
		return -1;
	(void)str_copy(op->cmd->sudo_pw, sizeof(op->cmd->sudo_pw), op->sudo_pw);
	mem_wipe(op->sudo_pw, sizeof(op->sudo_pw));
	op->cmd->refs++;
	op->step = FOP_SHELL;
	return 0;
}

/* sudo: reads run as one shell command; writes first upload to a private temp file. */
static int fop_sudo_start(struct server *srv, struct shell *sh, const struct args *a,
    struct fop *op, int64_t now)
{
	unsigned char rnd[8];

	if (arg_str(a, "sudo_password", op->sudo_pw, sizeof(op->sudo_pw), 0) < 0)
		return -1;
	if (op->kind == FOP_READ) {
		if (op->len > SSHMCP_SUDO_READ_MAX)
			op->len = SSHMCP_SUDO_READ_MAX;     /* its base64 must fit a command's ring */
		return fop_sudo_cmd(srv, sh, op, a->e, now);
	}
	if (getentropy(rnd, sizeof(rnd)) < 0) {
		err_set(a->e, SSHMCP_ERR_INTERNAL, "no entropy for a temporary name");
		return -1;
	}
	(void)str_fmt(op->tmp, sizeof(op->tmp), "/tmp/.sshmcp-sudo-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	op->staged = 1;
	op->step = FOP_OPEN;
	return 0;
}

/* Queue a file operation on the session named by the arguments. */
static void tool_file_queue(struct server *srv, const char *id, const struct args *a,
    struct fop *op, int64_t now)
{
	struct shell *sh;
	struct fop **tail;
	int sudo = 0;

	if (arg_bool(a, "sudo", 0, &sudo) < 0 || (sh = tool_shell(srv, a, now)) == NULL) {
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	(void)str_copy(op->id, sizeof(op->id), id);
	if (sudo && fop_sudo_start(srv, sh, a, op, now) < 0) {
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	op->deadline = now + (int64_t)SSHMCP_TIMEOUT_DEFAULT_S * 1000;
	for (tail = &sh->fops; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = op;
}

static void tool_read_file(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct fop *op = calloc(1, sizeof(*op));
	long len;
	double off = 0;
	int t;

	(void)progress;
	if (op == NULL) {
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	op->kind = FOP_READ;
	op->step = FOP_OPEN;
	t = a->obj >= 0 ? json_get(a->d, a->obj, "offset") : -1;
	if (arg_path(a, op) < 0 || arg_num(a, "length", 0, SSHMCP_FILE_MAX, SSHMCP_FILE_MAX, &len) < 0 ||
	    (t >= 0 && (json_double(a->d, t, &off) < 0 || off < 0 || off > 9.0e15))) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'offset' must be a byte offset >= 0");
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	op->offset = (uint64_t)off;
	op->len = (size_t)len;
	tool_file_queue(srv, id, a, op, now);
}

/* `mode` as "0644"/"644" or a number (420). */
static int arg_mode(const struct args *a, struct fop *op)
{
	int t = a->obj >= 0 ? json_get(a->d, a->obj, "mode") : -1;
	char s[16], *end;
	long long v;

	if (t < 0 || json_type(a->d, t) == JSON_NULL)
		return 0;
	if (json_type(a->d, t) == JSON_STRING && json_str(a->d, t, s, sizeof(s), NULL) == 0) {
		op->mode = strtoul(s, &end, 8);
		if (*end != '\0' || s[0] == '\0' || op->mode > 07777)
			goto bad;
	} else if (json_int(a->d, t, &v) == 0 && v >= 0 && v <= 07777)
		op->mode = (unsigned long)v;
	else
		goto bad;
	op->mode_given = 1;
	return 0;
bad:
	err_set(a->e, SSHMCP_ERR_USAGE, "argument 'mode' must be octal like \"0644\" (or 420)");
	return -1;
}

static int arg_content(const struct args *a, struct fop *op)
{
	int t = a->obj >= 0 ? json_get(a->d, a->obj, "content") : -1;
	char enc[16];
	size_t n;

	if (arg_str(a, "encoding", enc, sizeof(enc), 0) < 0)
		return -1;
	if (enc[0] != '\0' && strcmp(enc, "utf8") != 0 && strcmp(enc, "base64") != 0) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'encoding' must be \"utf8\" or \"base64\"");
		return -1;
	}
	if (t < 0 || json_type(a->d, t) != JSON_STRING) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'content' is required and must be a string");
		return -1;
	}
	n = json_str_len(a->d, t);
	if ((op->data = malloc(n + 1)) == NULL || json_str(a->d, t, (char *)op->data, n + 1, &n) < 0)
		return -1;
	op->len = n;
	if (strcmp(enc, "base64") == 0 && b64_decode((char *)op->data, n, op->data, n, &op->len) < 0) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'content' is not valid base64");
		return -1;
	}
	return 0;
}

static void tool_write_file(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct fop *op = calloc(1, sizeof(*op));
	const char *slash;
	unsigned char rnd[4];

	(void)progress;
	if (op == NULL) {
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	op->kind = FOP_WRITE;
	op->step = FOP_MKDIRS;
	if (srv->pol.read_only) {
		err_set(a->e, SSHMCP_ERR_POLICY, "refused by read-only mode: write_file");
		srv_audit_refusal(srv, id, a, "write_file");
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	if (arg_path(a, op) < 0 || arg_content(a, op) < 0 || arg_mode(a, op) < 0 ||
	    arg_bool(a, "append", 0, &op->append) < 0 ||
	    arg_bool(a, "create_dirs", 0, &op->create_dirs) < 0 || getentropy(rnd, 4) < 0) {
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	/* The temp file sits beside the target: rename is atomic only within a filesystem. */
	slash = strrchr(op->path, '/');
	if (!op->append && str_fmt(op->tmp, sizeof(op->tmp), "%.*s.%s.sshmcp-%02x%02x%02x%02x",
	    slash != NULL ? (int)(slash - op->path + 1) : 0, op->path,
	    slash != NULL ? slash + 1 : op->path, rnd[0], rnd[1], rnd[2], rnd[3]) < 0) {
		err_set(a->e, SSHMCP_ERR_USAGE, "path too long");
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	tool_file_queue(srv, id, a, op, now);
}

/* ------------------------------------------------------------ tool table --- */
#define SCHEMA_CMD_PROPS \
	"\"host\":{\"type\":\"string\",\"description\":\"host or ssh_config alias\"}," \
	"\"command\":{\"type\":\"string\",\"description\":\"shell command line\"}," \
	"\"username\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\",\"minimum\":1," \
	"\"maximum\":65535},\"password\":{\"type\":\"string\"},\"key_filename\":{\"type\":" \
	"\"string\"},\"passphrase\":{\"type\":\"string\"},\"timeout\":{\"type\":\"number\"," \
	"\"minimum\":1,\"maximum\":300,\"default\":30},\"session\":{\"type\":\"string\"," \
	"\"default\":\"default\"},\"sudo_password\":{\"type\":\"string\"},\"max_bytes\":" \
	"{\"type\":\"integer\",\"minimum\":1,\"maximum\":1048576,\"default\":65536}," \
	"\"enable_password\":{\"type\":\"string\",\"description\":\"network devices: " \
	"climb to privileged mode (enable, super) with it\"},\"device_type\":{\"type\":" \
	"\"string\",\"enum\":[\"linux\",\"cisco_ios\",\"cisco_nxos\",\"cisco_xr\"," \
	"\"cisco_asa\",\"juniper_junos\",\"arista_eos\",\"mikrotik_routeros\",\"hp_procurve\"," \
	"\"huawei_vrp\",\"fortinet\",\"paloalto_panos\"],\"description\":\"the session's " \
	"platform; without it a device is recognised by its prompt\"}"

#define SCHEMA_RESULT "{\"type\":\"object\",\"properties\":{\"command_id\":{\"type\":\"string\"}," \
	"\"host\":{\"type\":\"string\"},\"session\":{\"type\":\"string\"},\"status\":{\"type\":" \
	"\"string\",\"enum\":[\"completed\",\"running\",\"awaiting_input\",\"timeout\"," \
	"\"interrupted\",\"failed\"]},\"exit_code\":{\"type\":[\"integer\",\"null\"]}," \
	"\"output\":{\"type\":\"string\"},\"offset\":{\"type\":\"integer\"},\"next_offset\":" \
	"{\"type\":\"integer\"},\"total_bytes\":{\"type\":\"integer\"},\"dropped_bytes\":" \
	"{\"type\":\"integer\"},\"truncated\":{\"type\":\"boolean\"},\"prompt\":{\"type\":" \
	"[\"string\",\"null\"]},\"mode\":{\"type\":\"string\"},\"duration_ms\":{\"type\":" \
	"\"integer\"},\"error\":{\"type\":\"object\"}}}"

#define SCHEMA_ID_ONLY "{\"type\":\"object\",\"properties\":{\"command_id\":{\"type\":\"string\"}}," \
	"\"required\":[\"command_id\"]}"

#define ANN(ro, destructive, idem) "{\"readOnlyHint\":" #ro ",\"destructiveHint\":" \
	#destructive ",\"idempotentHint\":" #idem ",\"openWorldHint\":true}"

typedef void (*tool_fn)(struct server *, const char *, const struct args *, const char *,
    int64_t);

static void tool_execute_on_hosts(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now);

static const struct tool {
	const char *name;
	tool_fn fn;
	const char *description;
	const char *input_schema;
	const char *output_schema;
	const char *annotations;
} tools[] = {
	{ "execute_command", tool_execute_command,
	  "Run a command in a persistent PTY shell on the host (cd, export, su carry over). "
	  "Returns when it ends, asks for input (status awaiting_input with the prompt), or after "
	  "`wait` seconds (status running: read more with get_command_status).",
	  "{\"type\":\"object\",\"properties\":{" SCHEMA_CMD_PROPS ",\"wait\":{\"type\":\"number\","
	  "\"minimum\":0,\"maximum\":300}},\"required\":[\"host\",\"command\"]}",
	  SCHEMA_RESULT, ANN(false, true, false) },
	{ "execute_command_async", tool_execute_async,
	  "Start a command in the session's shell and return its command_id at once.",
	  "{\"type\":\"object\",\"properties\":{" SCHEMA_CMD_PROPS "},\"required\":[\"host\","
	  "\"command\"]}", SCHEMA_RESULT, ANN(false, true, false) },
	{ "get_command_status", tool_get_status,
	  "Status and output of a command from a byte offset; `wait` long-polls until it ends or "
	  "asks for input.",
	  "{\"type\":\"object\",\"properties\":{\"command_id\":{\"type\":\"string\"},\"offset\":"
	  "{\"type\":\"integer\",\"minimum\":0},\"wait\":{\"type\":\"number\",\"minimum\":0,"
	  "\"maximum\":300},\"max_bytes\":{\"type\":\"integer\",\"minimum\":1}},\"required\":"
	  "[\"command_id\"]}", SCHEMA_RESULT, ANN(true, false, true) },
	{ "send_input", tool_send_input,
	  "Type into a running command: text (a newline follows unless newline is false) and/or "
	  "keys. secret: true keeps the text out of every log and result.",
	  "{\"type\":\"object\",\"properties\":{\"command_id\":{\"type\":\"string\"},\"text\":"
	  "{\"type\":\"string\"},\"keys\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
	  "\"enum\":[\"enter\",\"space\",\"tab\",\"esc\",\"ctrl-c\",\"ctrl-d\",\"q\",\"y\",\"n\","
	  "\"up\",\"down\"]}},\"secret\":{\"type\":\"boolean\"},\"newline\":{\"type\":\"boolean\","
	  "\"default\":true}},\"required\":[\"command_id\"]}", SCHEMA_RESULT,
	  ANN(false, true, false) },
	{ "interrupt_command", tool_interrupt,
	  "Ctrl-C the command; if the shell does not come back within 2 s the session is closed "
	  "(and reopened on next use).", SCHEMA_ID_ONLY, SCHEMA_RESULT, ANN(false, true, true) },
	{ "read_file", tool_read_file,
	  "Read a file over SFTP: UTF-8 text as is, anything else base64; offset/length page "
	  "through big files (1 MiB per call at most).",
	  "{\"type\":\"object\",\"properties\":{\"host\":{\"type\":\"string\"},\"path\":"
	  "{\"type\":\"string\"},\"offset\":{\"type\":\"integer\",\"minimum\":0},\"length\":"
	  "{\"type\":\"integer\",\"minimum\":0,\"maximum\":1048576},\"session\":{\"type\":"
	  "\"string\"},\"username\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\"},"
	  "\"sudo\":{\"type\":\"boolean\"},\"sudo_password\":{\"type\":\"string\"}},"
	  "\"required\":[\"host\",\"path\"]}",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"content\":"
	  "{\"type\":\"string\"},\"encoding\":{\"type\":\"string\",\"enum\":[\"utf8\","
	  "\"base64\"]},\"offset\":{\"type\":\"integer\"},\"length\":{\"type\":\"integer\"},"
	  "\"size\":{\"type\":\"integer\"},\"mode\":{\"type\":\"string\"},\"truncated\":"
	  "{\"type\":\"boolean\"},\"error\":{\"type\":\"object\"}}}", ANN(true, false, true) },
	{ "write_file", tool_write_file,
	  "Write a file over SFTP, atomically (a temp file beside it, then rename); content as "
	  "utf8 or base64; mode, append, create_dirs.",
	  "{\"type\":\"object\",\"properties\":{\"host\":{\"type\":\"string\"},\"path\":"
	  "{\"type\":\"string\"},\"content\":{\"type\":\"string\"},\"encoding\":{\"type\":"
	  "\"string\",\"enum\":[\"utf8\",\"base64\"]},\"mode\":{\"type\":[\"string\","
	  "\"integer\"]},\"append\":{\"type\":\"boolean\"},\"create_dirs\":{\"type\":"
	  "\"boolean\"},\"session\":{\"type\":\"string\"},\"username\":{\"type\":\"string\"},"
	  "\"port\":{\"type\":\"integer\"},\"sudo\":{\"type\":\"boolean\"},\"sudo_password\":"
	  "{\"type\":\"string\"}},\"required\":[\"host\",\"path\",\"content\"]}",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"bytes_written\":{\"type\":\"integer\"},\"mode\":{\"type\":\"string\"},\"error\":"
	  "{\"type\":\"object\"}}}", ANN(false, true, true) },
	{ "execute_on_hosts", tool_execute_on_hosts,
	  "Run one command on many hosts at once (exec channels, no shared shell state); one "
	  "result per host. hosts: a list, or a host list like \"web[01-20],db1\".",
	  "{\"type\":\"object\",\"properties\":{\"hosts\":{\"type\":[\"array\",\"string\"],"
	  "\"items\":{\"type\":\"string\"}},\"command\":{\"type\":\"string\"},\"timeout\":"
	  "{\"type\":\"number\",\"minimum\":1,\"maximum\":300,\"default\":30},\"max_parallel\":"
	  "{\"type\":\"integer\",\"minimum\":1,\"maximum\":64,\"default\":16},\"max_bytes\":"
	  "{\"type\":\"integer\",\"minimum\":1,\"maximum\":262144,\"default\":16384}},"
	  "\"required\":[\"hosts\",\"command\"]}",
	  "{\"type\":\"object\",\"properties\":{\"results\":{\"type\":\"array\"},\"hosts\":"
	  "{\"type\":\"integer\"},\"failed\":{\"type\":\"integer\"},\"error\":{\"type\":"
	  "\"object\"}}}", ANN(false, true, false) },
	{ "list_commands", tool_list_commands, "Running and recent commands (newest first).",
	  "{\"type\":\"object\",\"properties\":{\"host\":{\"type\":\"string\"},\"running_only\":"
	  "{\"type\":\"boolean\"}}}",
	  "{\"type\":\"object\",\"properties\":{\"commands\":{\"type\":\"array\"},"
	  "\"error\":{\"type\":\"object\"}}}", ANN(true, false, true) },
	{ "list_sessions", tool_list_sessions, "Open shell sessions.",
	  "{\"type\":\"object\",\"properties\":{}}",
	  "{\"type\":\"object\",\"properties\":{\"sessions\":{\"type\":\"array\"},"
	  "\"error\":{\"type\":\"object\"}}}", ANN(true, false, true) },
	{ "close_session", tool_close_session, "Close a host's session (default \"default\").",
	  "{\"type\":\"object\",\"properties\":{\"host\":{\"type\":\"string\"},\"session\":"
	  "{\"type\":\"string\"}},\"required\":[\"host\"]}",
	  "{\"type\":\"object\",\"properties\":{\"closed\":{\"type\":\"integer\"}}}",
	  ANN(false, true, true) },
	{ "close_all_sessions", tool_close_all, "Close every session.",
	  "{\"type\":\"object\",\"properties\":{}}",
	  "{\"type\":\"object\",\"properties\":{\"closed\":{\"type\":\"integer\"}}}",
	  ANN(false, true, true) },
};

/* ----------------------------------------------------------- MCP methods --- */

static void mcp_initialize(struct server *srv, const struct json_doc *d, int params,
    const char *id)
{
	const char *ver = mcp_versions[0];
	int t = params >= 0 ? json_get(d, params, "protocolVersion") : -1, i;
	struct jw w;

	for (i = 0; t >= 0 && i < MCP_VERSIONS_N; i++)
		if (json_streq(d, t, mcp_versions[i]))
			ver = mcp_versions[i];
	t = params >= 0 ? json_get(d, params, "capabilities") : -1;
	srv->elicit = t >= 0 && json_get(d, t, "elicitation") >= 0;
	if (mcp_resp_begin(srv, &w, 0) < 0)
		return;
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_kcstr(&w, "protocolVersion", ver);
	jw_kobj_begin(&w, "capabilities");
	jw_kobj_begin(&w, "tools");
	jw_kbool(&w, "listChanged", 0);
	jw_obj_end(&w);
	jw_kobj_begin(&w, "logging");
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_kobj_begin(&w, "serverInfo");
	jw_kcstr(&w, "name", "sshmcp");
	jw_kcstr(&w, "version", SSHMCP_VERSION);
	jw_obj_end(&w);
	jw_kcstr(&w, "instructions", "Run commands on remote hosts over SSH in persistent shells. "
	    "Name hosts as in ~/.ssh/config. A command that asks a question returns "
	    "awaiting_input: answer with send_input.");
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

static void mcp_empty_result(struct server *srv, const char *id)
{
	struct jw w;

	if (mcp_resp_begin(srv, &w, 0) < 0)
		return;
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

static void mcp_tools_list(struct server *srv, const char *id)
{
	struct jw w;
	size_t i;

	if (mcp_resp_begin(srv, &w, 16384) < 0)
		return;
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_karr_begin(&w, "tools");
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		jw_obj_begin(&w);
		jw_kcstr(&w, "name", tools[i].name);
		jw_kcstr(&w, "description", tools[i].description);
		jw_kraw(&w, "inputSchema", tools[i].input_schema, strlen(tools[i].input_schema));
		jw_kraw(&w, "outputSchema", tools[i].output_schema, strlen(tools[i].output_schema));
		jw_kraw(&w, "annotations", tools[i].annotations, strlen(tools[i].annotations));
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

static void mcp_tools_call(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now)
{
	struct err e = { .code = SSHMCP_OK };
	struct args a = { .d = d, .obj = -1, .e = &e };
	char progress[128] = "";
	int name = params >= 0 ? json_get(d, params, "name") : -1, meta, pt;
	size_t i;

	for (i = 0; name >= 0 && i < sizeof(tools) / sizeof(tools[0]); i++)
		if (json_streq(d, name, tools[i].name))
			break;
	if (name < 0 || i == sizeof(tools) / sizeof(tools[0])) {
		mcp_error(srv, id, RPC_PARAMS, name < 0 ? "tools/call needs params.name" :
		    "unknown tool");
		return;
	}
	a.obj = json_get(d, params, "arguments");
	if (a.obj >= 0 && json_type(d, a.obj) != JSON_OBJECT) {
		mcp_error(srv, id, RPC_PARAMS, "params.arguments must be an object");
		return;
	}
	meta = json_get(d, params, "_meta");
	pt = meta >= 0 ? json_get(d, meta, "progressToken") : -1;
	if (pt >= 0 && (json_type(d, pt) == JSON_STRING || json_type(d, pt) == JSON_NUMBER))
		(void)mcp_raw(d, pt, progress, sizeof(progress));
	tools[i].fn(srv, id, &a, progress, now);
}

/* notifications/cancelled: drop the waiting request and interrupt its command. */
static void mcp_cancelled(struct server *srv, const struct json_doc *d, int params,
    int64_t now)
{
	char rid[128];
	int t = params >= 0 ? json_get(d, params, "requestId") : -1, i;

	if (t < 0 || mcp_raw(d, t, rid, sizeof(rid)) < 0)
		return;
	for (i = 0; i < SSHMCP_WAITERS_MAX; i++) {
		struct waiter *wt = &srv->wait[i];

		if (!wt->active || strcmp(wt->id, rid) != 0)
			continue;
		if (wt->cmd->sh != NULL && wt->cmd->status <= CMD_AWAITING)
			shell_interrupt(wt->cmd->sh, wt->cmd, CMD_INTERRUPTED, now);
		wt->cmd->refs--;
		wt->active = 0;
	}
}

static int mcp_level(const struct json_doc *d, int t)
{
	static const char *const names[] = { "emergency", "alert", "critical", "error",
		"warning", "notice", "info", "debug" };
	int i;

	for (i = 0; i < 8; i++)
		if (json_streq(d, t, names[i]))
			return i < 4 ? LOG_ERROR : i < 7 ? LOG_INFO : LOG_DEBUG1;
	return -1;
}

/* Unknown host keys waiting for the user: one elicitation/create request each. */
static void srv_ask_hostkeys(struct server *srv)
{
	static const char schema[] = "{\"type\":\"object\",\"properties\":{\"trust\":"
		"{\"type\":\"boolean\",\"title\":\"Trust this host key\",\"description\":"
		"\"Record it in known_hosts and connect\"}},\"required\":[\"trust\"]}";
	int i;

	for (i = 0; i < srv->nshells; i++) {
		struct sess *s = &srv->shells[i]->s;
		char buf[2048];
		struct jw w;

		if (s->state != SESS_HANDSHAKE || s->step != HS_ASK || s->hk_asked)
			continue;
		s->hk_asked = 1;
		(void)str_fmt(srv->shells[i]->hk_req, sizeof(srv->shells[i]->hk_req), "\"hk-%u\"",
		    ++srv->ask_seq);
		jw_init(&w, buf, sizeof(buf));
		jw_obj_begin(&w);
		jw_kcstr(&w, "jsonrpc", "2.0");
		jw_kraw(&w, "id", srv->shells[i]->hk_req, strlen(srv->shells[i]->hk_req));
		jw_kcstr(&w, "method", "elicitation/create");
		jw_kobj_begin(&w, "params");
		jw_kcstr(&w, "message", s->hk_question);
		jw_kraw(&w, "requestedSchema", schema, sizeof(schema) - 1);
		jw_obj_end(&w);
		jw_obj_end(&w);
		if (jw_finish(&w) == 0)
			(void)mcp_queue(srv, buf, w.len);
	}
}

/* A response to one of our requests (an elicitation): accept with trust true, or not. */
static void mcp_response(struct server *srv, const struct json_doc *d, const char *id)
{
	int res = json_get(d, 0, "result"), act = res >= 0 ? json_get(d, res, "action") : -1;
	int content = res >= 0 ? json_get(d, res, "content") : -1, trust = 0, i;
	int tt = content >= 0 ? json_get(d, content, "trust") : -1;

	if (tt >= 0)
		(void)json_bool(d, tt, &trust);
	for (i = 0; i < srv->nshells; i++)
		if (strcmp(srv->shells[i]->hk_req, id) == 0) {
			srv->shells[i]->s.hk_decision = act >= 0 && json_streq(d, act, "accept") && trust ?
				1 : -1;
			srv->shells[i]->hk_req[0] = '\0';
		}
}

/* One request or notification, already parsed. */
static void mcp_dispatch(struct server *srv, const struct json_doc *d, int64_t now)
{
	char id[128] = "null";
	int jv = json_get(d, 0, "jsonrpc"), m = json_get(d, 0, "method");
	int idt = json_get(d, 0, "id"), params = json_get(d, 0, "params");

	if (idt >= 0 && (json_type(d, idt) == JSON_STRING || json_type(d, idt) == JSON_NUMBER))
		(void)mcp_raw(d, idt, id, sizeof(id));
	if (m < 0 && idt >= 0 && jv >= 0 && (json_get(d, 0, "result") >= 0 ||
	    json_get(d, 0, "error") >= 0)) {
		mcp_response(srv, d, id);       /* the client answering us */
		return;
	}
	if (jv < 0 || !json_streq(d, jv, "2.0") || m < 0 || json_type(d, m) != JSON_STRING ||
	    (idt >= 0 && strcmp(id, "null") == 0) ||
	    (params >= 0 && json_type(d, params) != JSON_OBJECT)) {
		if (idt >= 0 || m < 0)
			mcp_error(srv, idt >= 0 ? id : NULL, RPC_INVALID, "invalid JSON-RPC request");
		return;
	}
	if (idt < 0) {                                  /* notifications get no answer */
		if (json_streq(d, m, "notifications/cancelled"))
			mcp_cancelled(srv, d, params, now);
		return;
	}
	if (json_streq(d, m, "initialize"))
		mcp_initialize(srv, d, params, id);
	else if (json_streq(d, m, "ping"))
		mcp_empty_result(srv, id);
	else if (json_streq(d, m, "tools/list"))
		mcp_tools_list(srv, id);
	else if (json_streq(d, m, "tools/call"))
		mcp_tools_call(srv, d, params, id, now);
	else if (json_streq(d, m, "logging/setLevel")) {
		int t = params >= 0 ? json_get(d, params, "level") : -1, lv = t >= 0 ? mcp_level(d, t) : -1;

		if (lv < 0) {
			mcp_error(srv, id, RPC_PARAMS, "unknown logging level");
			return;
		}
		srv->mcp_level = lv;
		mcp_empty_result(srv, id);
	} else
		mcp_error(srv, id, RPC_METHOD, "method not found");
}

/* One line from stdin: parse strictly, then dispatch. */
static void mcp_line(struct server *srv, const char *line, size_t n, int64_t now)
{
	struct json_doc d;
	int rc;

	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	if ((rc = json_parse(&d, line, n, NULL, 0)) != JSON_OK) {
		mcp_error(srv, NULL, RPC_PARSE, json_strerror(rc));
		return;
	}
	if (d.ntok > srv->tokcap) {
		struct json_tok *t = realloc(srv->tok, d.ntok * sizeof(*t));

		if (t == NULL) {
			mcp_error(srv, NULL, RPC_INTERNAL, "out of memory");
			return;
		}
		srv->tok = t;
		srv->tokcap = d.ntok;
	}
	if (json_parse(&d, line, n, srv->tok, srv->tokcap) != JSON_OK)
		return;
	if (json_type(&d, 0) != JSON_OBJECT) {
		mcp_error(srv, NULL, RPC_INVALID, json_type(&d, 0) == JSON_ARRAY ?
		    "batches are not supported" : "a request must be a JSON object");
		return;
	}
	mcp_dispatch(srv, &d, now);
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
	int tflag, Tflag, nflag, Gflag;
	char *command;              /* words joined by spaces, as ssh does */
	char *opts[SSHMCP_CFG_OPTS_MAX]; /* -o and -i, as config lines */
	int nopts;
	const char *hostlist;       /* -H */
	int fanout;                 /* --fanout */
	const struct dev_profile *device; /* --device-type: the device engine, not ssh's exec */
	int json;                   /* --json */
	struct policy pol;          /* the operator's config (SSHMCP_CONFIG or the default) */
	struct audit audit;
	struct redact rd;
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
		"                   [--device-type type]  (enable password: SSHMCP_ENABLE_PASSWORD)\n"
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

/* -o and -i options: checked now, kept to apply again for each host of a fan-out. */
static int cli_add_opt(struct cli *c, const char *line, struct err *e)
{
	if (c->nopts >= SSHMCP_CFG_OPTS_MAX) {
		err_set(e, SSHMCP_ERR_USAGE, "too many -o/-i options (%d)", SSHMCP_CFG_OPTS_MAX);
		return -1;
	}
	if (cfg_option(&c->cfg, line, e) < 0 || (c->opts[c->nopts] = strdup(line)) == NULL)
		return -1;
	c->nopts++;
	return 0;
}

/* Resolve one destination with the command line's options on top of ssh_config. */
static int cli_target(struct cli *c, const char *dest, struct target *t, struct err *e)
{
	struct cfg cfg;
	int i, rc = -1;

	memset(&cfg, 0, sizeof(cfg));
	memset(t, 0, sizeof(*t));
	if (cli_parse_dest(c, dest, t) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "bad destination '%s'", dest);
		return -1;
	}
	cfg.host = t->alias;
	cfg.user = t->user;                     /* -l or user@: Match user sees it */
	for (i = 0; i < c->nopts; i++)
		if (cfg_option(&cfg, c->opts[i], e) < 0)
			goto out;
	if (cfg_load(&cfg, &c->env, c->fflag, e) < 0 || cfg_resolve(&cfg, &c->env, t, e) < 0)
		goto out;
	rc = 0;
out:
	cfg_free(&cfg);
	if (rc < 0)
		target_free(t);
	return rc;
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
		return cli_add_opt(c, line, e);
	case 'F':
		c->fflag = arg;
		return 0;
	case 'H':
		c->hostlist = arg;
		return 0;
	case 'J':
		if (str_fmt(line, sizeof(line), "ProxyJump %s", arg) < 0)
			return -1;
		return cli_add_opt(c, line, e);
	case 'o':
		return cli_add_opt(c, arg, e);
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

	if (strcmp(argv[*i], "--json") == 0) {
		c->json = 1;
		return 0;
	}
	if (strcmp(argv[*i], "--fanout") == 0 && *i + 1 < argc) {
		if (str_to_int(argv[++*i], 1, SSHMCP_MAX_SESSIONS, &v) < 0) {
			err_set(e, SSHMCP_ERR_USAGE, "bad --fanout '%s' (1 to %d)", argv[*i],
			    SSHMCP_MAX_SESSIONS);
			return -1;
		}
		c->fanout = (int)v;
		return 0;
	}
	if (strcmp(argv[*i], "--device-type") == 0 && *i + 1 < argc) {
		if (dev_type_parse(argv[++*i], &c->device) < 0) {
			err_set(e, SSHMCP_ERR_USAGE, "unknown --device-type '%s'", argv[*i]);
			return -1;
		}
		return 0;
	}
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
			if (strchr("nqtTvG", *a) != NULL) {
				c->Gflag |= *a == 'G';
				c->nflag |= *a == 'n';
				c->log.quiet |= *a == 'q';
				c->tflag += *a == 't';
				c->Tflag |= *a == 'T';
				c->log.level += (*a == 'v' && c->log.level < LOG_DEBUG3);
				continue;
			}
			if (strchr("plioFEHJ", *a) == NULL) {
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
	if (c->hostlist == NULL) {      /* with -H, every word left is the command */
		if (i >= argc) {
			err_set(e, SSHMCP_ERR_USAGE, "no destination");
			return -1;
		}
		c->dest = argv[i++];
		if (cli_parse_opts(c, argc, argv, &i, e) < 0)
			return -1;
	} else if (i >= argc) {
		err_set(e, SSHMCP_ERR_USAGE, "-H needs a command");
		return -1;
	}
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

/* ------------------------------------------------------------- fan-out --- */
/*
 * One command on many hosts, all connections in the one poll loop: at most --fanout
 * sessions at once, each host's output cut into whole lines and prefixed "host: " (or kept
 * for --json), so lines from different hosts never mix mid-line.
 */

/* Expand one item's first [..] group: "web[01-03]x" -> web01x web02x web03x. */
static int hl_item(const char *item, char **out, int *n, int max, struct err *e)
{
	const char *lb = strchr(item, '['), *rb, *p;
	char buf[SSHMCP_HOST_MAX];

	if (lb == NULL) {
		if (*n >= max) {
			err_set(e, SSHMCP_ERR_USAGE, "host list longer than %d hosts", max);
			return -1;
		}
		return (out[(*n)++] = strdup(item)) == NULL ? -1 : 0;
	}
	if ((rb = strchr(lb, ']')) == NULL || rb == lb + 1) {
		err_set(e, SSHMCP_ERR_USAGE, "bad range in host list item '%s'", item);
		return -1;
	}
	for (p = lb + 1; p < rb; p += strcspn(p, ",]") + (p[strcspn(p, ",]")] == ',')) {
		char a[16], b[16];
		size_t len = strcspn(p, ",]"), dash = strcspn(p, "-,]");
		long lo, hi, v;
		int width;

		if (dash >= sizeof(a) || len - dash >= sizeof(b) || len == 0) {
			err_set(e, SSHMCP_ERR_USAGE, "bad range in host list item '%s'", item);
			return -1;
		}
		memcpy(a, p, dash);
		a[dash] = '\0';
		if (dash < len)
			memcpy(b, p + dash + 1, len - dash - 1), b[len - dash - 1] = '\0';
		else
			(void)str_copy(b, sizeof(b), a);
		if (str_to_int(a, 0, 999999, &lo) < 0 || str_to_int(b, 0, 999999, &hi) < 0 || hi < lo) {
			err_set(e, SSHMCP_ERR_USAGE, "bad range '%s-%s' in '%s'", a, b, item);
			return -1;
		}
		width = a[0] == '0' && dash > 1 ? (int)dash : 0;    /* [01-20] keeps its zeros */
		for (v = lo; v <= hi; v++) {
			if (str_fmt(buf, sizeof(buf), "%.*s%0*ld%s", (int)(lb - item), item, width, v,
			    rb + 1) < 0 || hl_item(buf, out, n, max, e) < 0)
				return -1;
		}
	}
	return 0;
}

/* Expand "web[01-20],db[1-3,7],a b" (commas or white space between items). */
static int hl_expand(const char *spec, char **out, int max, struct err *e)
{
	char item[SSHMCP_HOST_MAX];
	int n = 0, depth = 0;
	size_t k = 0;
	const char *p;

	for (p = spec;; p++) {
		int sep = *p == '\0' || (depth == 0 && (*p == ',' || isspace((unsigned char)*p)));

		if (!sep) {
			depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
			if (k >= sizeof(item) - 1 || depth < 0 || depth > 1) {
				err_set(e, SSHMCP_ERR_USAGE, "bad host list near '%.40s'", p);
				goto fail;
			}
			item[k++] = *p;
			continue;
		}
		item[k] = '\0';
		if (k > 0 && hl_item(item, out, &n, max, e) < 0)
			goto fail;
		k = 0;
		if (*p == '\0')
			break;
	}
	if (depth != 0 || n == 0) {
		err_set(e, SSHMCP_ERR_USAGE, "empty or unbalanced host list '%.40s'", spec);
		goto fail;
	}
	return n;
fail:
	while (n > 0)
		free(out[--n]);
	return -1;
}

/* Output waiting for stdout or stderr; bounded: hosts wait when it is full. */
struct outq {
	char *buf;
	size_t len;
	int broken;
};

struct fan_host {
	char name[SSHMCP_HOST_MAX];
	struct sess *s;
	int done;
	int status;
	enum sshmcp_err code;            /* why it failed, when it did */
	char error[SSHMCP_ERRMSG_MAX];
	char part[2][SSHMCP_FAN_LINE];   /* the unfinished line of stdout, stderr */
	size_t npart[2];
	struct ring keep[2];             /* --json: the newest output */
	int64_t t_start, t_end;
};

/* How a fan-out names its targets: exec uses its command line, serve its own settings. */
typedef int (*fan_resolve_fn)(void *ctx, const char *name, struct target *t, struct err *e);

struct fan {
	const struct job *job;
	const struct log *log;
	fan_resolve_fn resolve;
	void *ctx;
	const struct policy *pol;        /* hosts must be allowed */
	int collect;                     /* keep output for a summary (--json, MCP) */
	struct cli *c;                   /* exec only: where prefixed lines go */
	struct fan_host *h;
	int n, next, running, max, finished;
	struct outq q[2];
};

static int fan_fits(const struct fan *f, int k, const char *host, size_t n)
{
	return f->q[k].broken || strlen(host) + 2 + n <= SSHMCP_FAN_QUEUE - f->q[k].len;
}

/* Append "host: line" to a queue (the caller checked fan_fits). */
static void fan_emit(struct fan *f, int k, const char *host, const char *line, size_t n,
    int add_nl)
{
	struct outq *q = &f->q[k];
	size_t hl = strlen(host);

	if (q->broken)
		return;
	memcpy(q->buf + q->len, host, hl);
	memcpy(q->buf + q->len + hl, ": ", 2);
	memcpy(q->buf + q->len + hl + 2, line, n);
	q->len += hl + 2 + n;
	if (add_nl)
		q->buf[q->len++] = '\n';
}

/* Move a host's new output into whole prefixed lines (or --json keep rings). A line that
 * does not fit the queue stays in the ring: the host waits, memory does not grow. */
static void fan_drain(struct fan *f, struct fan_host *h, int final)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct ring *r = &h->s->out[k];
		char *part = h->part[k];

		while (ring_used(r) > 0) {
			size_t n, room = sizeof(h->part[k]) - h->npart[k];
			const unsigned char *p = ring_rptr(r, &n), *nl;
			int whole;

			if (f->collect) {
				ring_append(&h->keep[k], p, n);
				ring_consume(r, n);
				continue;
			}
			nl = memchr(p, '\n', n);
			n = nl != NULL ? (size_t)(nl - p) + 1 : n;
			n = n < room ? n : room;
			whole = (nl != NULL && p + n == nl + 1) || n == room;
			if (whole && !fan_fits(f, k, h->name, h->npart[k] + n + 1))
				break;
			memcpy(part + h->npart[k], p, n);
			h->npart[k] += n;
			ring_consume(r, n);
			if (whole) {
				fan_emit(f, k, h->name, part, h->npart[k], part[h->npart[k] - 1] != '\n');
				h->npart[k] = 0;
			}
		}
		if (final && h->npart[k] > 0 && !f->collect &&
		    fan_fits(f, k, h->name, h->npart[k] + 1)) {
			fan_emit(f, k, h->name, part, h->npart[k], 1);
			h->npart[k] = 0;
		}
	}
}

static void fan_flush(struct fan *f, int k)
{
	struct outq *q = &f->q[k];
	size_t n = q->len;
	ssize_t w;

	if (f->c->out_tty[k] && n > SSHMCP_TTY_WRITE_MAX)
		n = SSHMCP_TTY_WRITE_MAX;
	w = write(f->c->out_fd[k], q->buf, n);
	if (w > 0) {
		memmove(q->buf, q->buf + w, q->len - (size_t)w);
		q->len -= (size_t)w;
	} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
		q->broken = 1;           /* EPIPE: the reader left; the commands still finish */
		q->len = 0;
	}
}

/* --json: {host, exit_code, stdout, stderr, duration_ms, error}, one line per host. */
static void fan_json(struct fan *f, struct fan_host *h)
{
	size_t n0 = ring_used(&h->keep[0]), n1 = ring_used(&h->keep[1]);
	size_t cap = (n0 + n1) * 6 + sizeof(h->error) * 6 + 1024;
	char *buf = malloc(cap), *tmp = malloc(n0 + n1 + 1);
	struct jw w;

	if (buf == NULL || tmp == NULL)
		goto out;
	ring_read_at(&h->keep[0], h->keep[0].tail, (unsigned char *)tmp, n0);
	ring_read_at(&h->keep[1], h->keep[1].tail, (unsigned char *)tmp + n0, n1);
	jw_init(&w, buf, cap);
	jw_obj_begin(&w);
	jw_kcstr(&w, "host", h->name);
	jw_kint(&w, "exit_code", h->status);
	jw_kstr(&w, "stdout", tmp, n0);
	jw_kstr(&w, "stderr", tmp + n0, n1);
	jw_kbool(&w, "truncated", h->keep[0].head > n0 || h->keep[1].head > n1);
	jw_kint(&w, "duration_ms", h->t_end - h->t_start);
	if (h->error[0] != '\0')
		jw_kcstr(&w, "error", h->error);
	else
		jw_knull(&w, "error");
	jw_obj_end(&w);
	if (jw_finish(&w) == 0 && !f->q[0].broken) {
		buf[w.len] = '\n';
		if (fd_write_all(f->c->out_fd[0], buf, w.len + 1) < 0)
			f->q[0].broken = 1;
	}
out:
	free(buf);
	free(tmp);
}

/* The exit status `sshmcp exec` gives for a finished session, as ssh would. */
static int sess_exit_code(const struct sess *s)
{
	if (s->err.code != SSHMCP_OK)
		return err_table[s->err.code].exit_status;
	if (s->timed_out)
		return err_table[SSHMCP_ERR_TIMEOUT].exit_status;
	/* Killed by a signal, or no (valid) exit-status message at all: ssh says 255. Our
	 * libssh2 patch starts the status at -1 so "none arrived" is not read as 0. */
	if (s->exit_signal[0] != '\0' || s->exit_status < 0)
		return 255;
	return s->exit_status;
}

static void fan_finish(struct fan *f, struct fan_host *h, int64_t now)
{
	char line[SSHMCP_ERRMSG_MAX + 32];

	h->t_end = now;
	if (h->s != NULL) {
		h->status = sess_exit_code(h->s);
		h->code = h->s->err.code != SSHMCP_OK ? h->s->err.code :
			h->s->timed_out ? SSHMCP_ERR_TIMEOUT : SSHMCP_OK;
		if (h->s->err.code != SSHMCP_OK)
			(void)str_copy(h->error, sizeof(h->error), h->s->err.msg);
		else if (h->s->timed_out)
			(void)str_fmt(h->error, sizeof(h->error), "timed out after %d s",
			    f->job->timeout_s);
		sess_free(h->s);
		free(h->s);
		h->s = NULL;
		f->running--;
	}
	h->done = 1;
	f->finished++;
	if (f->c == NULL)
		return;                     /* serve answers from the keep rings, then frees */
	if (f->collect)
		fan_json(f, h);
	else if (h->error[0] != '\0') {
		(void)str_fmt(line, sizeof(line), "sshmcp: %s", h->error);
		if (fan_fits(f, 1, h->name, strlen(line) + 1))
			fan_emit(f, 1, h->name, line, strlen(line), 1);
	}
	ring_free(&h->keep[0]);
	ring_free(&h->keep[1]);
}

static void fan_start(struct fan *f, struct fan_host *h, int64_t now)
{
	struct err e = { .code = SSHMCP_OK };

	h->t_start = now;
	if ((f->collect && (ring_init(&h->keep[0], SSHMCP_FAN_KEEP) < 0 ||
	    ring_init(&h->keep[1], SSHMCP_FAN_KEEP) < 0)) ||
	    (h->s = calloc(1, sizeof(*h->s))) == NULL ||
	    sess_init(h->s, f->job, f->log, SSHMCP_STDIN_RING, now) < 0 ||
	    f->resolve(f->ctx, h->name, &h->s->t, &e) < 0 ||
	    (f->pol != NULL && pol_host(f->pol, h->name, &e) < 0)) {
		if (h->s != NULL) {
			sess_free(h->s);
			free(h->s);
			h->s = NULL;
		}
		(void)str_copy(h->error, sizeof(h->error), e.code != SSHMCP_OK ? e.msg : "out of memory");
		h->code = e.code != SSHMCP_OK ? e.code : SSHMCP_ERR_NOMEM;
		h->status = err_table[h->code].exit_status;
		fan_finish(f, h, now);
		return;
	}
	f->running++;
	sess_start(h->s, now);
	sess_step(h->s, now);
}

/* Step every running host, move its output on, finish it, start the next ones; again
 * while hosts finish at once (a name that does not resolve), so nothing waits on a poll
 * that has no socket left to watch. */
static void fan_step_hosts(struct fan *f, int64_t now);

static void fan_step(struct fan *f, int64_t now)
{
	int before;

	do {
		before = f->finished;
		while (f->running < f->max && f->next < f->n)
			fan_start(f, &f->h[f->next++], now);
		fan_step_hosts(f, now);
	} while (f->finished != before && f->next < f->n);
}

static void fan_step_hosts(struct fan *f, int64_t now)
{
	int i;

	for (i = 0; i < f->n; i++) {
		struct fan_host *h = &f->h[i];
		int end;

		if (h->s == NULL)
			continue;
		sess_step(h->s, now);
		end = h->s->state >= SESS_DONE;
		fan_drain(f, h, end);
		if (end && ring_used(&h->s->out[0]) == 0 && ring_used(&h->s->out[1]) == 0 &&
		    h->npart[0] == 0 && h->npart[1] == 0)
			fan_finish(f, h, now);
	}
}

static void fan_audit(struct audit *a, const struct redact *rd, const struct fan_host *h,
    const char *command, const char *req)
{
	struct audit_rec r = { .req = req, .host = h->name, .session = "fan-out",
		.command = command, .status = h->error[0] != '\0' ? "failed" : "completed",
		.has_exit = 1, .exit_code = h->status, .duration_ms = h->t_end - h->t_start };

	audit_write(a, rd, &r);
}

static void fan_free(struct fan *f)
{
	int i;

	for (i = 0; f->h != NULL && i < f->n; i++) {
		if (f->h[i].s != NULL) {
			sess_free(f->h[i].s);
			free(f->h[i].s);
		}
		ring_free(&f->h[i].keep[0]);
		ring_free(&f->h[i].keep[1]);
	}
	free(f->h);
	free(f->q[0].buf);
	free(f->q[1].buf);
	f->h = NULL;
	f->q[0].buf = f->q[1].buf = NULL;
}

/* ------------------------------------------------------- execute_on_hosts --- */
/* The MCP face of the fan-out: exec channels over the server's loop, one result per host,
 * a progress notification as each host finishes. */

struct srv_fan {
	char id[128];
	char progress[128];
	int reported;                       /* hosts announced by progress notifications */
	size_t max_bytes;
	struct job job;
	char *command;
	char *names[SSHMCP_FAN_HOSTS_MAX];
	struct fan f;
};

static void srv_fan_free(struct srv_fan *sf)
{
	int i;

	if (sf == NULL)
		return;
	fan_free(&sf->f);
	for (i = 0; i < sf->f.n; i++)
		free(sf->names[i]);
	free(sf->command);
	free(sf);
}

/* hosts: ["a", "web[1-3]"] or "a,web[1-3]". */
static int tool_hosts(const struct args *a, char **names)
{
	int t = a->obj >= 0 ? json_get(a->d, a->obj, "hosts") : -1, k, n = 0, got;
	char spec[SSHMCP_LINE_MAX];

	if (t >= 0 && json_type(a->d, t) == JSON_STRING) {
		if (json_str(a->d, t, spec, sizeof(spec), NULL) < 0) {
			err_set(a->e, SSHMCP_ERR_USAGE, "argument 'hosts' is too long");
			return -1;
		}
		return hl_expand(spec, names, SSHMCP_FAN_HOSTS_MAX, a->e);
	}
	if (t < 0 || json_type(a->d, t) != JSON_ARRAY) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'hosts' must be a list or a host list string");
		return -1;
	}
	for (k = json_child(a->d, t); k >= 0; k = json_next(a->d, t, k)) {
		if (json_type(a->d, k) != JSON_STRING || json_str(a->d, k, spec, sizeof(spec), NULL) < 0 ||
		    (got = hl_expand(spec, names + n, SSHMCP_FAN_HOSTS_MAX - n, a->e)) < 0) {
			err_set(a->e, SSHMCP_ERR_USAGE, "argument 'hosts' has a bad entry");
			while (n > 0)
				free(names[--n]);
			return -1;
		}
		n += got;
	}
	if (n == 0)
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'hosts' is empty");
	return n > 0 ? n : -1;
}

static void tool_execute_on_hosts(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct srv_fan *sf = calloc(1, sizeof(*sf));
	long timeout, par, maxb;
	int i, slot, n;

	for (slot = 0; slot < SSHMCP_FANS_MAX && srv->fans[slot] != NULL; slot++)
		;
	if (sf == NULL || slot == SSHMCP_FANS_MAX) {
		err_set(a->e, SSHMCP_ERR_BUSY, "%d execute_on_hosts calls are already running",
		    SSHMCP_FANS_MAX);
		goto fail;
	}
	if ((sf->command = arg_text(a, "command", SSHMCP_CMD_MAX)) == NULL ||
	    arg_num(a, "timeout", 1, SSHMCP_TIMEOUT_MAX_S, SSHMCP_TIMEOUT_DEFAULT_S, &timeout) < 0 ||
	    arg_num(a, "max_parallel", 1, SSHMCP_MAX_SESSIONS, 16, &par) < 0 ||
	    arg_num(a, "max_bytes", 1, SSHMCP_FAN_KEEP, 16384, &maxb) < 0 ||
	    (n = tool_hosts(a, sf->names)) < 0)
		goto fail;
	sf->f.n = n;
	if (pol_command(&srv->pol, sf->command, a->e) < 0) {
		srv_audit_refusal(srv, id, a, sf->command);
		goto fail;
	}
	sf->job = (struct job){ .command = sf->command, .timeout_s = (int)timeout };
	sf->f = (struct fan){ .job = &sf->job, .log = &srv->log, .resolve = srv_resolve, .ctx = srv,
		.pol = &srv->pol, .collect = 1, .n = n, .max = (int)par, .h = calloc((size_t)n, sizeof(struct fan_host)) };
	if (sf->f.h == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		(void)str_copy(sf->f.h[i].name, sizeof(sf->f.h[i].name), sf->names[i]);
	(void)str_copy(sf->id, sizeof(sf->id), id);
	(void)str_copy(sf->progress, sizeof(sf->progress), progress);
	sf->max_bytes = (size_t)maxb;
	srv->fans[slot] = sf;
	fan_step(&sf->f, now);
	return;
fail:
	mcp_reply_err(srv, id, a->e);
	srv_fan_free(sf);
}

/* The newest max_bytes of a kept stream, as a JSON string. */
static void fan_write_stream(struct jw *w, const char *key, const struct ring *r, size_t max,
    char *tmp)
{
	size_t n = ring_used(r) < max ? ring_used(r) : max;

	ring_read_at(r, r->head - n, (unsigned char *)tmp, n);
	jw_kstr(w, key, tmp, n);
}

static void srv_fan_reply(struct server *srv, struct srv_fan *sf)
{
	struct fan *f = &sf->f;
	size_t per = 2 * sf->max_bytes + SSHMCP_ERRMSG_MAX + SSHMCP_HOST_MAX + 256;
	char *tmp = malloc(sf->max_bytes), *text = malloc(64 + (size_t)f->n * 48);
	struct jw w;
	int i, failed = 0;

	if (tmp == NULL || text == NULL || mcp_resp_begin(srv, &w, per * (size_t)f->n) < 0) {
		mcp_error(srv, sf->id, RPC_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < f->n; i++)
		failed += f->h[i].status != 0;
	(void)str_fmt(text, 64, "%d hosts, %d failed", f->n, failed);
	for (i = 0; i < f->n; i++)
		(void)str_fmt(text + strlen(text), 48, "\n%.30s: exit %d", f->h[i].name,
		    f->h[i].status);
	mcp_result_open(&w, sf->id);
	jw_obj_begin(&w);
	jw_karr_begin(&w, "content");
	jw_obj_begin(&w);
	jw_kcstr(&w, "type", "text");
	jw_kcstr(&w, "text", text);
	jw_obj_end(&w);
	jw_arr_end(&w);
	jw_kobj_begin(&w, "structuredContent");
	jw_karr_begin(&w, "results");
	for (i = 0; i < f->n; i++) {
		const struct fan_host *h = &f->h[i];

		jw_obj_begin(&w);
		jw_kcstr(&w, "host", h->name);
		jw_kint(&w, "exit_code", h->status);
		fan_write_stream(&w, "stdout", &h->keep[0], sf->max_bytes, tmp);
		fan_write_stream(&w, "stderr", &h->keep[1], sf->max_bytes, tmp);
		jw_kbool(&w, "truncated", h->keep[0].head > sf->max_bytes ||
		    h->keep[1].head > sf->max_bytes);
		jw_kint(&w, "duration_ms", h->t_end - h->t_start);
		if (h->error[0] != '\0') {
			jw_kcstr(&w, "error", h->error);
			jw_kcstr(&w, "error_code", err_table[h->code != SSHMCP_OK ? h->code :
			    SSHMCP_ERR_INTERNAL].name);
		} else
			jw_knull(&w, "error");
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kint(&w, "hosts", f->n);
	jw_kint(&w, "failed", failed);
	jw_obj_end(&w);
	jw_kbool(&w, "isError", 0);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
out:
	free(tmp);
	free(text);
}

/* Step the fan-outs; answer finished ones; announce hosts as they finish. */
static void srv_fans_step(struct server *srv, int64_t now)
{
	int i;

	for (i = 0; i < SSHMCP_FANS_MAX; i++) {
		struct srv_fan *sf = srv->fans[i];
		char msg[512];

		if (sf == NULL)
			continue;
		fan_step(&sf->f, now);
		if (sf->progress[0] != '\0' && sf->f.finished > sf->reported) {
			sf->reported = sf->f.finished;
			if (str_fmt(msg, sizeof(msg), "{\"jsonrpc\":\"2.0\",\"method\":"
			    "\"notifications/progress\",\"params\":{\"progressToken\":%s,\"progress\":%d,"
			    "\"total\":%d,\"message\":\"%d of %d hosts done\"}}", sf->progress,
			    sf->reported, sf->f.n, sf->reported, sf->f.n) == 0)
				(void)mcp_queue(srv, msg, strlen(msg));
		}
		if (sf->f.finished == sf->f.n) {
			int k;

			for (k = 0; k < sf->f.n; k++)
				fan_audit(&srv->audit, &srv->rd, &sf->f.h[k], sf->command, sf->id);
			srv_fan_reply(srv, sf);
			srv_fan_free(sf);
			srv->fans[i] = NULL;
		}
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

/* A session's socket, and those of the jump hosts it tunnels through. */
static void sess_poll_add(struct loop *l, struct sess *s)
{
	for (; s != NULL; s = s->via) {
		loop_add(l, s->fd, sess_events(s), LOOP_SESS, s);
		/* Our end of a tunnel: bytes our libssh2 wrote wait there to be pumped on. */
		if (s->tun_fd >= 0)
			loop_add(l, s->tun_fd, (short)(POLLIN | (ring_used(&s->tun_down) > 0 ?
			    POLLOUT : 0)), LOOP_SESS, s);
	}
}

static void loop_prepare(struct loop *l, struct cli *c)
{
	struct sess *s = &c->sess;
	int64_t d;

	l->n = 0;
	l->deadline = INT64_MAX;
	sess_poll_add(l, s);
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

/* ----------------------------------------------------------- fan-out loop --- */

/* Add a fan-out's sockets to the poll set, and its nearest deadline. */
static void fan_prepare_sess(struct loop *l, const struct fan *f)
{
	int i;

	for (i = 0; i < f->n; i++) {
		struct sess *s = f->h[i].s;
		int64_t d;

		if (s == NULL)
			continue;
		sess_poll_add(l, s);
		if ((d = sess_deadline(s)) < l->deadline)
			l->deadline = d;
	}
}

static void fan_prepare(struct loop *l, struct fan *f)
{
	int k;

	l->n = 0;
	l->deadline = INT64_MAX;
	fan_prepare_sess(l, f);
	for (k = 0; k < 2; k++)
		if (f->q[k].len > 0)
			loop_add(l, f->c->out_fd[k], POLLOUT, k == 0 ? LOOP_STDOUT : LOOP_STDERR, f);
}

static void fan_dispatch(struct loop *l, struct fan *f)
{
	int i;

	for (i = 0; i < l->n; i++) {
		if (l->pfd[i].revents == 0)
			continue;
		if (l->kind[i] == LOOP_SESS)
			((struct sess *)l->owner[i])->revents = l->pfd[i].revents;
		else
			fan_flush(f, l->kind[i] == LOOP_STDOUT ? 0 : 1);
	}
	fan_step(f, time_ms());
}

static void fan_run(struct fan *f)
{
	struct loop l;
	sigset_t waitmask;

	loop_signals(&waitmask);
	fan_step(f, time_ms());
	for (;;) {
		if ((f->finished == f->n && f->q[0].len == 0 && f->q[1].len == 0) || sig_caught != 0)
			break;
		fan_prepare(&l, f);
		if (loop_poll(&l, &waitmask) < 0 && errno != EINTR)
			break;
		fan_dispatch(&l, f);
	}
}

/* ----------------------------------------------------------- device exec --- */
/*
 * exec --device-type: the serve engine on one PTY session, for scripts. Output streams to
 * stdout as it is cleaned; exit 0, 1 when the device rejected a line (or asks a question
 * nobody can answer here), 124 on --timeout, 255 when the connection or enable failed.
 */
static void dev_exec_flush(const struct cmd *c, uint64_t *off)
{
	unsigned char buf[SSHMCP_IO_CHUNK];

	if (*off < c->out.tail)
		*off = c->out.tail;
	while (*off < c->out.head) {
		size_t n = c->out.head - *off > sizeof(buf) ? sizeof(buf) : (size_t)(c->out.head - *off);

		ring_read_at(&c->out, *off, buf, n);
		if (fd_write_all(STDOUT_FILENO, buf, n) < 0)
			return;
		*off += n;
	}
}

static int dev_exec_status(struct cli *cl, const struct cmd *c)
{
	if (c->status == CMD_COMPLETED)
		return 0;
	if (c->status == CMD_AWAITING) {
		log_msg(&cl->log, LOG_ERROR, "the device asks '%s': exec cannot answer (use serve "
		    "and send_input)", c->prompt);
		return err_table[SSHMCP_ERR_DEVICE].exit_status;
	}
	if (c->status == CMD_TIMEOUT) {
		log_msg(&cl->log, LOG_INFO, "command timed out after %d s", cl->job.timeout_s);
		return err_table[SSHMCP_ERR_TIMEOUT].exit_status;
	}
	log_msg(&cl->log, LOG_ERROR, "%s", c->err.code != SSHMCP_OK ? c->err.msg : "interrupted");
	return err_table[c->err.code != SSHMCP_OK ? c->err.code : SSHMCP_ERR_INTERNAL].exit_status;
}

/* Poll the one session until the command ends or waits for an answer. */
static void dev_exec_run(struct shell *sh, struct cmd *c, const struct prompt *pr,
    uint64_t *off)
{
	sigset_t waitmask;
	struct loop l;
	int i;

	loop_signals(&waitmask);
	for (;;) {
		shell_step(sh, pr, time_ms());
		dev_exec_flush(c, off);
		if (c->status >= CMD_COMPLETED || c->status == CMD_AWAITING)
			return;
		if (sig_caught != 0) {
			err_set(&c->err, SSHMCP_ERR_INTERNAL, "Killed by signal %d.", (int)sig_caught);
			cmd_set_status(c, CMD_INTERRUPTED, time_ms());
			return;
		}
		l.n = 0;
		l.deadline = shell_deadline(sh);
		sess_poll_add(&l, &sh->s);
		if (loop_poll(&l, &waitmask) < 0 && errno != EINTR)
			return;
		for (i = 0; i < l.n; i++)
			if (l.pfd[i].revents != 0)
				((struct sess *)l.owner[i])->revents = l.pfd[i].revents;
	}
}

static int dev_exec_main(struct cli *cl, const struct dev_profile *p)
{
	struct err e = { .code = SSHMCP_OK };
	const char *pw = getenv("SSHMCP_ENABLE_PASSWORD");
	struct prompt pr = { .ready = 0 };
	struct shell *sh = NULL;
	struct cmd *c = NULL;
	struct target t;
	uint64_t off = 0;
	int status;

	if (prompt_init(&pr) < 0 || cli_target(cl, cl->dest, &t, &e) < 0)
		goto fail;
	/* shell_new takes the target over; until it does, it is ours to free */
	if (pol_host(&cl->pol, t.alias, &e) < 0 ||
	    (sh = shell_new(&t, "exec", &cl->log, time_ms())) == NULL) {
		target_free(&t);
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->text = strdup(cl->command)) == NULL ||
	    ring_init(&c->out, SSHMCP_CMD_RING) < 0)
		goto fail;
	sh->dev = p;
	if (pw != NULL) {               /* from the environment: never on a command line */
		(void)str_copy(sh->enable_pw, sizeof(sh->enable_pw), pw);
		sh->enable_want = pw[0] != '\0';
	}
	(void)str_copy(c->mode, sizeof(c->mode), "user");
	c->sh = sh;
	c->status = CMD_QUEUED;
	c->t_queued = time_ms();
	c->deadline = cl->job.timeout_s > 0 ? c->t_queued + (int64_t)cl->job.timeout_s * 1000 : 0;
	sh->queue[sh->nq++] = c;
	dev_exec_run(sh, c, &pr, &off);
	status = dev_exec_status(cl, c);
	{
		struct audit_rec r = { .host = sh->alias, .user = sh->s.t.user, .session = "exec",
			.command = c->text, .status = cmd_status_names[c->status], .bytes = c->out.head,
			.duration_ms = time_ms() - c->t_queued };

		audit_write(&cl->audit, &cl->rd, &r);
	}
	goto out;
fail:
	err_set(&e, SSHMCP_ERR_NOMEM, "out of memory");     /* unless a step named its error */
	log_msg(&cl->log, LOG_ERROR, "%s", e.msg);
	status = err_table[e.code].exit_status;
out:
	if (c != NULL && c->sh != NULL) {
		sh->cur = NULL;         /* still in the session's hands: take it back */
		sh->nq = 0;
	}
	cmd_free(c);
	shell_free(sh);
	prompt_free(&pr);
	return status;
}

/* ------------------------------------------------------------ serve loop --- */

/* Read stdin, cut lines; a line over SSHMCP_MSG_MAX is answered with an error and skipped. */
static void srv_read(struct server *srv, int64_t now)
{
	size_t start = 0, i;
	ssize_t got = read(STDIN_FILENO, srv->in + srv->inlen, SSHMCP_MSG_MAX + 1 - srv->inlen);

	if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
		srv->in_eof = 1;
		return;
	}
	if (got < 0)
		return;
	for (i = srv->inlen; i < srv->inlen + (size_t)got; i++) {
		if (srv->in[i] != '\n')
			continue;
		if (!srv->in_skip)
			mcp_line(srv, srv->in + start, i - start, now);
		srv->in_skip = 0;
		start = i + 1;
	}
	srv->inlen += (size_t)got;
	memmove(srv->in, srv->in + start, srv->inlen - start);
	srv->inlen -= start;
	mem_wipe(srv->in + srv->inlen, start);      /* handled requests may hold passwords */
	if (srv->inlen > SSHMCP_MSG_MAX) {
		if (!srv->in_skip)
			mcp_error(srv, NULL, RPC_INVALID, "message larger than 4 MiB: skipped");
		srv->in_skip = 1;
		srv->inlen = 0;
	}
}

static void srv_progress(struct server *srv, struct waiter *wt, int64_t now)
{
	char msg[512];

	wt->next_progress = now + SSHMCP_PROGRESS_MS;
	wt->progress_n++;
	if (str_fmt(msg, sizeof(msg), "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
	    "\"params\":{\"progressToken\":%s,\"progress\":%d,\"message\":\"%s: %llu bytes of "
	    "output\"}}", wt->progress, wt->progress_n, wt->cmd->id,
	    (unsigned long long)wt->cmd->out.head) == 0)
		(void)mcp_queue(srv, msg, strlen(msg));
}

/* Answer the waiters whose command moved on or whose time is up. */
static void srv_wake(struct server *srv, int64_t now)
{
	int i;

	for (i = 0; i < SSHMCP_WAITERS_MAX; i++) {
		struct waiter *wt = &srv->wait[i];
		enum cmd_status st;

		if (!wt->active)
			continue;
		st = wt->cmd->status;
		if (st <= CMD_RUNNING && now < wt->deadline) {
			if (wt->progress[0] != '\0' && now >= wt->next_progress)
				srv_progress(srv, wt, now);
			continue;
		}
		wt->active = 0;
		wt->cmd->refs--;
		mcp_reply_cmd(srv, wt->id, wt->cmd, wt->offset, wt->max_bytes, now);
	}
}

static int64_t srv_deadline(const struct server *srv)
{
	int64_t d = INT64_MAX;
	int i;

	for (i = 0; i < srv->nshells; i++) {
		int64_t s = shell_deadline(srv->shells[i]);

		if (s < d)
			d = s;
	}
	for (i = 0; i < SSHMCP_WAITERS_MAX; i++) {
		const struct waiter *wt = &srv->wait[i];

		if (!wt->active)
			continue;
		if (wt->deadline < d)
			d = wt->deadline;
		if (wt->progress[0] != '\0' && wt->next_progress < d)
			d = wt->next_progress;
	}
	return d;
}

static void srv_prepare(struct loop *l, struct server *srv)
{
	int i;

	l->n = 0;
	l->deadline = srv_deadline(srv);
	/* Unread responses past the cap: stop taking requests until the client reads. */
	if (!srv->in_eof && srv->outlen < SSHMCP_OUTQ_MAX)
		loop_add(l, STDIN_FILENO, POLLIN, LOOP_STDIN, srv);
	if (srv->outlen > 0)
		loop_add(l, STDOUT_FILENO, POLLOUT, LOOP_STDOUT, srv);
	for (i = 0; i < srv->nshells; i++)
		sess_poll_add(l, &srv->shells[i]->s);
	for (i = 0; i < SSHMCP_FANS_MAX; i++)
		if (srv->fans[i] != NULL)
			fan_prepare_sess(l, &srv->fans[i]->f);
}

static void srv_dispatch(struct loop *l, struct server *srv)
{
	int64_t now = time_ms();
	int i;

	for (i = 0; i < l->n; i++) {
		short re = l->pfd[i].revents;

		if (re == 0)
			continue;
		if (l->kind[i] == LOOP_SESS)
			((struct sess *)l->owner[i])->revents = re;
		else if (l->kind[i] == LOOP_STDIN)
			srv_read(srv, now);
		else if (l->kind[i] == LOOP_STDOUT)
			mcp_flush(srv);
	}
	for (i = 0; i < srv->nshells; i++) {
		shell_step(srv->shells[i], &srv->prompt, now);
		srv_files_reply(srv, srv->shells[i]);
	}
	srv_fans_step(srv, now);
	srv_wake(srv, now);
	srv_audit_cmds(srv, now);
	srv_ask_hostkeys(srv);
	mcp_flush(srv);
}

/* Shutdown: no new work; running commands get Ctrl-C and a second to come back (their
 * audit lines say interrupted), then everything closes. */
static void srv_stop_commands(struct server *srv, const sigset_t *waitmask)
{
	int64_t stop = time_ms() + SSHMCP_SHUTDOWN_GRACE_MS;
	struct loop l;
	int i, busy;

	srv->stopping = 1;
	srv->in_eof = 1;
	for (i = 0; i < srv->nshells; i++)
		if (srv->shells[i]->cur != NULL)
			shell_interrupt(srv->shells[i], srv->shells[i]->cur, CMD_INTERRUPTED, time_ms());
	do {
		srv_prepare(&l, srv);
		if (l.deadline > stop)
			l.deadline = stop;
		if (loop_poll(&l, waitmask) < 0 && errno != EINTR)
			break;
		srv_dispatch(&l, srv);
		for (i = 0, busy = 0; i < srv->nshells; i++)
			busy |= srv->shells[i]->cur != NULL && srv->shells[i]->st == SH_BUSY;
	} while (busy && time_ms() < stop);
	for (i = 0; i < srv->nhist; i++)
		if (srv->hist[i]->status < CMD_COMPLETED)
			cmd_set_status(srv->hist[i], CMD_INTERRUPTED, time_ms());
	srv_audit_cmds(srv, time_ms());
}

/* Until stdin ends or a signal: answer requests, run commands. */
static void srv_run(struct server *srv)
{
	struct loop l;
	sigset_t waitmask;
	int64_t stop;

	loop_signals(&waitmask);
	while (!srv->in_eof && sig_caught == 0) {
		srv_prepare(&l, srv);
		if (loop_poll(&l, &waitmask) < 0 && errno != EINTR)
			break;
		srv_dispatch(&l, srv);
	}
	srv_stop_commands(srv, &waitmask);
	/* Last answers out (bounded), then sessions closed by srv_free. */
	stop = time_ms() + 1000;
	while (srv->outlen > 0 && time_ms() < stop) {
		struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

		if (poll(&pfd, 1, 100) > 0)
			mcp_flush(srv);
	}
}

/* ================================================================ main === */

static void srv_free(struct server *srv)
{
	int i;

	for (i = srv->nshells - 1; i >= 0; i--)
		srv_shell_close(srv, srv->shells[i], time_ms());
	for (i = 0; i < srv->nhist; i++)
		cmd_free(srv->hist[i]);
	for (i = 0; i < SSHMCP_FANS_MAX; i++)
		srv_fan_free(srv->fans[i]);
	prompt_free(&srv->prompt);
	redact_free(&srv->rd);
	pol_free(&srv->pol);
	if (srv->audit.fd >= 0)
		close(srv->audit.fd);
	if (srv->in != NULL)
		mem_wipe(srv->in, SSHMCP_MSG_MAX + 1);      /* requests carried passwords */
	free(srv->in);
	free(srv->out);
	free(srv->tok);
	free(srv->resp);
	if (srv->out_nonblock)
		(void)fcntl(STDOUT_FILENO, F_SETFL, srv->out_flags);
	if (srv->log.own_fd)
		close(srv->log.fd);
}

/* Command-line settings, applied over the config file's. */
struct srv_opts {
	const char *config, *log, *audit;
	int read_only, accept_new, verbose;
	const char *allow_host[SSHMCP_POLICY_MAX];
	int nallow_host;
};

static int srv_parse(struct srv_opts *o, int argc, char **argv, struct err *e)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-v") == 0 || strcmp(a, "-vv") == 0 || strcmp(a, "-vvv") == 0)
			o->verbose += (int)strlen(a) - 1;
		else if (strcmp(a, "--accept-new-hostkeys") == 0)
			o->accept_new = 1;
		else if (strcmp(a, "--read-only") == 0)
			o->read_only = 1;
		else if (next != NULL && strcmp(a, "--config") == 0)
			o->config = argv[++i];
		else if (next != NULL && strcmp(a, "--log") == 0)
			o->log = argv[++i];
		else if (next != NULL && strcmp(a, "--audit") == 0)
			o->audit = argv[++i];
		else if (next != NULL && strcmp(a, "--allow-host") == 0 &&
		    o->nallow_host < SSHMCP_POLICY_MAX)
			o->allow_host[o->nallow_host++] = argv[++i];
		else {
			err_set(e, SSHMCP_ERR_USAGE, "serve: unknown option or missing value: %s", a);
			return -1;
		}
	}
	return 0;
}

/* Config file, then the command line over it; then open the log and the audit. */
static int srv_setup(struct server *srv, const struct srv_opts *o, struct err *e)
{
	const char *logp;
	int i;

	if (pol_load_default(&srv->pol, &srv->env, o->config, e) < 0)
		return -1;
	srv->pol.read_only |= o->read_only;
	srv->pol.accept_new |= o->accept_new;
	for (i = 0; i < o->nallow_host; i++)
		if (pol_add_host(&srv->pol, o->allow_host[i]) < 0)
			return -1;
	srv->accept_new = srv->pol.accept_new;
	srv->fflag = srv->pol.ssh_config;
	srv->log.level = LOG_INFO + o->verbose > LOG_DEBUG3 ? LOG_DEBUG3 : LOG_INFO + o->verbose;
	logp = o->log != NULL ? o->log : srv->pol.log_path;
	if (logp != NULL) {
		srv->log.fd = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		srv->log.own_fd = srv->log.fd >= 0;
		if (srv->log.fd < 0) {
			srv->log.fd = STDERR_FILENO;
			err_set(e, SSHMCP_ERR_USAGE, "can't open log %s: %s", logp, strerror(errno));
			return -1;
		}
	}
	if ((o->audit != NULL || srv->pol.audit_path != NULL) &&
	    audit_open(&srv->audit, o->audit != NULL ? o->audit : srv->pol.audit_path, e) < 0)
		return -1;
	return 0;
}

static int srv_main(int argc, char **argv)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct err e = { .code = SSHMCP_OK };
	struct srv_opts o;
	struct stat st;
	int rc = 0;

	if (srv == NULL)
		return 255;
	srv->log = (struct log){ .fd = STDERR_FILENO, .level = LOG_INFO };
	srv->audit.fd = -1;
	srv->mcp_level = -1;
	cfg_env_init(&srv->env);
	pol_init(&srv->pol);
	memset(&o, 0, sizeof(o));
	if (srv_parse(&o, argc, argv, &e) < 0 || srv_setup(srv, &o, &e) < 0) {
		log_msg(&srv->log, LOG_ERROR, "%s", e.msg);
		rc = err_table[e.code].exit_status;
		goto out;
	}
	if (prompt_init(&srv->prompt) < 0 || redact_init(&srv->rd) < 0 ||
	    (srv->in = malloc(SSHMCP_MSG_MAX + 1)) == NULL) {
		log_msg(&srv->log, LOG_ERROR, "out of memory");
		rc = 255;
		goto out;
	}
	srv->out_flags = fcntl(STDOUT_FILENO, F_GETFL);
	srv->out_nonblock = srv->out_flags >= 0 && fstat(STDOUT_FILENO, &st) == 0 &&
		(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	if (srv->out_nonblock)
		(void)fd_set_flag(STDOUT_FILENO, O_NONBLOCK, 1);
	srv_run(srv);
out:
	srv_free(srv);
	free(srv);
	return rc;
}
static int cli_exit_status(struct cli *c)
{
	struct sess *s = &c->sess;

	if (s->err.code != SSHMCP_OK)
		log_msg(&c->log, LOG_ERROR, "%s", s->err.msg);
	else if (s->timed_out)
		log_msg(&c->log, LOG_INFO, "command timed out after %d s; remote command stopped",
		    c->job.timeout_s);
	else if (s->exit_signal[0] != '\0')
		log_msg(&c->log, LOG_DEBUG1, "remote command killed by signal %s", s->exit_signal);
	return sess_exit_code(s);
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

static int cli_resolve(void *ctx, const char *name, struct target *t, struct err *e)
{
	return cli_target(ctx, name, t, e);
}

/* Hosts for -H: the list itself, or (-H -) what stdin holds. */
static int fan_hosts(struct cli *c, char **names, struct err *e)
{
	char *buf;
	size_t len = 0;
	ssize_t got;
	int n;

	if (strcmp(c->hostlist, "-") != 0)
		return hl_expand(c->hostlist, names, SSHMCP_FAN_HOSTS_MAX, e);
	if ((buf = malloc(SSHMCP_FAN_STDIN_MAX + 1)) == NULL)
		return -1;
	while (len < SSHMCP_FAN_STDIN_MAX &&
	    (got = read(STDIN_FILENO, buf + len, SSHMCP_FAN_STDIN_MAX - len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	n = hl_expand(buf, names, SSHMCP_FAN_HOSTS_MAX, e);
	free(buf);
	return n;
}

/* Which hosts failed, in one line (bounded), unless -q. */
static void fan_summary(const struct fan *f)
{
	char line[SSHMCP_LOG_LINE_MAX - 16];
	size_t o;
	int i, failed = 0;

	for (i = 0; i < f->n; i++)
		failed += f->h[i].status != 0;
	if (failed == 0 || f->collect)
		return;
	(void)str_fmt(line, sizeof(line), "%d of %d hosts failed:", failed, f->n);
	for (i = 0, o = strlen(line); i < f->n && o < sizeof(line) - 64; i++, o = strlen(line)) {
		const struct fan_host *h = &f->h[i];

		if (h->status == 0)
			continue;
		if (h->error[0] != '\0')
			(void)str_fmt(line + o, sizeof(line) - o, " %s (%.60s)", h->name, h->error);
		else
			(void)str_fmt(line + o, sizeof(line) - o, " %s (exit %d)", h->name, h->status);
	}
	log_msg(f->log, LOG_INFO, "%s", line);
}

/* sshmcp exec -H: the status is 0 when every host succeeded, else the largest seen. */
static int fan_main(struct cli *c)
{
	char *names[SSHMCP_FAN_HOSTS_MAX];
	struct err e = { .code = SSHMCP_OK };
	struct fan f;
	int i, n, status = 0;

	memset(&f, 0, sizeof(f));
	if ((n = fan_hosts(c, names, &e)) < 0) {
		log_msg(&c->log, LOG_ERROR, "%s", e.code != SSHMCP_OK ? e.msg : "out of memory");
		return 2;
	}
	c->job.forward_stdin = 0;        /* fan-out reads no stdin, as ssh -n */
	c->job.want_pty = 0;
	f.c = c;
	f.job = &c->job;
	f.log = &c->log;
	f.collect = c->json;
	f.resolve = cli_resolve;
	f.ctx = c;
	f.pol = &c->pol;
	f.n = n;
	f.max = c->fanout > 0 ? c->fanout : SSHMCP_DEFAULT_FANOUT;
	f.h = calloc((size_t)n, sizeof(*f.h));
	f.q[0].buf = malloc(SSHMCP_FAN_QUEUE);
	f.q[1].buf = malloc(SSHMCP_FAN_QUEUE);
	if (f.h == NULL || f.q[0].buf == NULL || f.q[1].buf == NULL) {
		status = 255;
		goto out;
	}
	for (i = 0; i < n; i++)
		(void)str_copy(f.h[i].name, sizeof(f.h[i].name), names[i]);
	cli_local_init(c);
	fan_run(&f);
	cli_local_restore(c);
	fan_summary(&f);
	for (i = 0; i < n; i++) {
		status = f.h[i].done ? (f.h[i].status > status ? f.h[i].status : status) : 255;
		fan_audit(&c->audit, &c->rd, &f.h[i], c->job.command, NULL);
	}
out:
	fan_free(&f);
	for (i = 0; i < n; i++)
		free(names[i]);
	return status;
}

static void cli_print(const char *key, const char *val)
{
	char line[SSHMCP_LINE_MAX + 64];

	if (val != NULL && *val != '\0' && str_fmt(line, sizeof(line), "%s %s\n", key, val) == 0)
		(void)fd_write_all(STDOUT_FILENO, line, strlen(line));
}

/* -G: the resolved configuration in ssh -G's words, for comparing with OpenSSH. */
static int cli_print_config(struct cli *c, struct err *e)
{
	static const char *const strict[] = { "true", "accept-new", "false" };
	char num[32], files[SSHMCP_LINE_MAX] = "";
	struct target t;
	int i;

	if (cli_target(c, c->dest, &t, e) < 0) {
		log_msg(&c->log, LOG_ERROR, "%s", e->msg);
		return err_table[e->code].exit_status;
	}
	cli_print("host", t.alias);
	cli_print("user", t.user);
	cli_print("hostname", t.host);
	(void)str_fmt(num, sizeof(num), "%d", t.port);
	cli_print("port", num);
	for (i = 0; i < t.nident; i++)
		cli_print("identityfile", t.ident[i]);
	for (i = 0; i < t.nkh_user; i++)
		(void)str_fmt(files + strlen(files), sizeof(files) - strlen(files), "%s%s",
		    i ? " " : "", t.kh_file[i]);
	cli_print("userknownhostsfile", files);
	cli_print("stricthostkeychecking", strict[t.strict]);
	cli_print("hostkeyalias", strcmp(t.kh_name, t.host) != 0 && t.kh_name[0] != '[' ?
	    t.kh_name : NULL);
	cli_print("proxyjump", t.proxy_jump);
	cli_print("proxycommand", t.proxy_command);
	cli_print("identitiesonly", t.identities_only ? "yes" : "no");
	cli_print("batchmode", t.batch_mode ? "yes" : "no");
	cli_print("hashknownhosts", t.hash_kh ? "yes" : "no");
	(void)str_fmt(num, sizeof(num), "%d", t.connect_timeout_s);
	cli_print("connecttimeout", num);
	(void)str_fmt(num, sizeof(num), "%d", t.alive_interval_s);
	cli_print("serveraliveinterval", num);
	(void)str_fmt(num, sizeof(num), "%d", t.alive_count);
	cli_print("serveralivecountmax", num);
	cli_print("setenv", t.setenv);
	cli_print("sendenv", t.sendenv);
	cli_print("kexalgorithms", t.kex);
	cli_print("hostkeyalgorithms", t.hostkey);
	cli_print("ciphers", t.cipher);
	target_free(&t);
	return 0;
}

/* The operator's config applies to exec as to serve: hosts, commands, the audit. */
static int cli_policy(struct cli *c, struct err *e)
{
	c->audit.fd = -1;
	if (pol_load_default(&c->pol, &c->env, getenv("SSHMCP_CONFIG"), e) < 0 ||
	    redact_init(&c->rd) < 0)
		return -1;
	if (c->pol.audit_path != NULL && audit_open(&c->audit, c->pol.audit_path, e) < 0)
		return -1;
	if (c->command == NULL && (c->pol.ndeny > 0 || c->pol.nallow > 0 || c->pol.read_only)) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: an interactive shell cannot be checked "
		    "against the command policy");
		return -1;
	}
	return c->command != NULL ? pol_command(&c->pol, c->command, e) : 0;
}

static void cli_audit(struct cli *c, const struct sess *s, const char *host, int status)
{
	struct audit_rec r = { .host = host, .user = s->t.user, .session = "exec",
		.command = c->command != NULL ? c->command : "(shell)",
		.status = s->err.code != SSHMCP_OK ? "failed" : s->timed_out ? "timeout" : "completed",
		.has_exit = 1, .exit_code = status,
		.bytes = s->out[0].head + s->out[1].head, .duration_ms = time_ms() - s->t_start };

	audit_write(&c->audit, &c->rd, &r);
}

static int cli_exec(int argc, char **argv)
{
	struct cli c;
	struct err e = { .code = SSHMCP_OK };
	int status, i;

	memset(&c, 0, sizeof(c));
	c.log = (struct log){ .fd = STDERR_FILENO, .level = LOG_INFO };
	c.audit.fd = -1;
	cfg_env_init(&c.env);
	pol_init(&c.pol);
	if (cli_parse(&c, argc, argv, &e) < 0) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		cli_usage(STDERR_FILENO);
		status = 2;
		goto out;
	}
	cli_job(&c);
	if (cli_policy(&c, &e) < 0) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		status = err_table[e.code].exit_status;
		goto out;
	}
	if (c.hostlist != NULL) {
		status = fan_main(&c);
		goto out;
	}
	if (c.Gflag) {
		status = cli_print_config(&c, &e);
		goto out;
	}
	if (c.device != NULL) {
		status = dev_exec_main(&c, c.device);
		goto out;
	}
	if (sess_init(&c.sess, &c.job, &c.log, SSHMCP_STDIN_RING, time_ms()) < 0 ||
	    cli_target(&c, c.dest, &c.sess.t, &e) < 0 || pol_host(&c.pol, c.sess.t.alias, &e) < 0) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		status = err_table[e.code != SSHMCP_OK ? e.code : SSHMCP_ERR_NOMEM].exit_status;
		goto out;
	}
	sess_start(&c.sess, time_ms());
	cli_local_init(&c);
	loop_run(&c);
	cli_local_restore(&c);
	status = cli_exit_status(&c);
	cli_audit(&c, &c.sess, c.sess.t.alias, status);
out:
	pol_free(&c.pol);
	redact_free(&c.rd);
	if (c.audit.fd >= 0)
		close(c.audit.fd);
	sess_free(&c.sess);
	cfg_free(&c.cfg);
	free(c.command);
	for (i = 0; i < c.nopts; i++)
		free(c.opts[i]);
	if (c.log.own_fd)
		close(c.log.fd);
	return status;
}

/* Secrets live in this process's memory: no core dumps, no ptrace by other processes. */
static void main_harden(void)
{
	struct rlimit rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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
	if (libssh2_init(0) != 0) {
		(void)fd_write_all(STDERR_FILENO, "sshmcp: libssh2_init failed\n", 28);
		return 255;
	}
	main_harden();
	if (argc >= 2 && strcmp(argv[1], "exec") == 0)
		status = cli_exec(argc - 2, argv + 2);
	else if (argc == 3 && strcmp(argv[1], "audit-verify") == 0)
		status = audit_verify(argv[2]);
	else if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		status = srv_main(argc - 2, argv + 2);
	else if (argc < 2 || argv[1][0] == '-')
		status = srv_main(argc - 1, argv + 1);          /* `sshmcp [options]` serves */
	else {
		cli_usage(STDERR_FILENO);
		status = 2;
	}
	libssh2_exit();
	return status;
}
#endif
