/*
 * sshmcp.c — run commands on remote hosts over SSH, for agents (MCP) and scripts (exec).
 *
 * One static binary on libssh2 + mbedTLS. Everything runs in one poll() loop (loop_drive):
 * each program it drives (exec, fan-out, device exec, serve) gives it its fds and nearest
 * deadline, and is stepped when poll returns; serve steps only the sessions with an event,
 * a due timer or work asked of them.
 *
 * exec:   argv (cli_) ─> ssh_config (cfg_) ─> struct target ─> struct sess (conn_, auth_,
 *         sess_) CONNECTING → HANDSHAKE → AUTH → OPENING → RUNNING → CLOSING → DONE/DEAD
 *         socket <─ libssh2 (non-blocking) ─> channel ─> rings (ring_) ─> stdout/stderr
 *         (exec_); -H: one sess per host (fan_, fanout_); --device-type: the command
 *         engine on one PTY (devexec_); -L/-R/-D/-W: forwardings in the same loop (fwd_)
 * serve:  stdin (serve_) ─> JSON-RPC (json.h, rpc_: the method table) ─> tool row:
 *         arguments checked (arg_) ─> policy (pol_, audit_, redact_) ─> destination and
 *         session (srv_: a cache of what ssh_config resolved, the sessions, commands,
 *         approvals, waiters) ─> command engine (struct shell: the sess plus shell_ for
 *         POSIX shells or dev_ for network devices; the command's end is cmd_finish; output
 *         cleaned (filt_, mask_), prompts found (prompt_), the screen model fed (scr_)) ─>
 *         tool (tool_) ─> result (mcp_) ─> stdout; file tools through SFTP (fop_).
 *
 * Sections, in order; a name's prefix tells its section (or subsection):
 *   includes and the one global · utilities (time_, str_, mem_, fd_, log_, err_, name_)
 *   ring buffer (ring_) · ssh_config (cfg_, target_) · known_hosts (kh_)
 *   connection (conn_, tried_; libssh2's memory: conn_alloc, a size-class cache for packet
 *   buffers; authentication: auth_; channel and session: sess_)
 *   prompts and output (filt_, mask_, prompt_) · terminal screen (scr_)
 *   command engine (device profiles and device sessions: dev_; shell sessions: shell_,
 *   cmd_; SFTP: fop_) · policy, audit, log (pol_, redact_, audit_)
 *   exec CLI (cli_: the command line, the interactive terminal) · fan-out (fan_, hl_)
 *   MCP protocol (mcp_: the output queue, log, results) · tool arguments (arg_)
 *   server (srv_: destinations, sessions, commands, execute_on_hosts, approvals,
 *   waiters) · tools (tool_, out_: the tool table) · MCP methods (rpc_)
 *   forwarding (fwd_) · event loop (loop_; its clients: fan-out loop fanout_, device
 *   exec devexec_, serve loop serve_, exec exec_) · main (main_)
 */

/* ============================================================ includes === */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <ifaddrs.h>
#include <limits.h>
#include <malloc.h>                 /* malloc_usable_size (glibc and musl): conn_alloc */
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
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>   /* conn_free poisons the blocks it caches */
#endif

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
/* Every `from` byte in s becomes `to`. */
static void str_subst(char *s, char from, char to)
{
	for (; *s != '\0'; s++)
		if (*s == from)
			*s = to;
}

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

/* A control character the terminal would act on: C0 but tab and newline, and DEL. Such a
 * line is never typed raw (Ctrl-U, CR and DEL would edit it before the shell reads it). */
static int str_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') || *s == 0x7f)
			return 1;
	return 0;
}

/* n random bytes as 2n hex digits; -1 when the kernel has no entropy or out is small. */
static int str_random_hex(char *out, size_t cap, size_t n)
{
	unsigned char rnd[32];
	size_t i;

	if (n > sizeof(rnd) || cap < 2 * n + 1 || getentropy(rnd, n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	mem_wipe(rnd, sizeof(rnd));
	return 0;
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

/*
 * Text for a terminal or a log, as OpenSSH's fmprintf makes it: printable ASCII and valid
 * UTF-8 pass, everything else (C0 and C1 controls, DEL, invalid bytes) becomes \ooo, so a
 * host name, a server banner or an agent's command can neither forge a log line nor drive
 * the terminal of an operator reading it. Newlines stay when keep_nl (banners), else \012.
 * Returns the length written; out is always NUL-terminated and never overflows.
 */
static size_t str_vis(const char *in, size_t n, char *out, size_t cap, int keep_nl)
{
	size_t i = 0, o = 0, used;
	uint32_t cp;

	if (cap == 0)
		return 0;
	while (i < n) {
		unsigned char c = (unsigned char)in[i];
		enum json_u8 u = json_utf8_next(in + i, n - i, &used, &cp);
		int plain = (c >= 0x20 && c < 0x7f) || c == '\t' || (c == '\n' && keep_nl) ||
			(c >= 0x80 && u == JSON_U8_OK && cp >= 0xa0);

		if (!plain)
			used = 1;
		if ((plain ? used : 4) > cap - 1 - o)
			break;
		if (plain)
			memcpy(out + o, in + i, used);
		else
			(void)snprintf(out + o, 5, "\\%03o", c);
		o += plain ? used : 4;
		i += used;
	}
	out[o] = '\0';
	return o;
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
	char msg[SSHMCP_LOG_LINE_MAX], line[SSHMCP_LOG_LINE_MAX];
	va_list ap;
	size_t n;
	int pre;

	if (level > lg->level || (lg->quiet && level == LOG_INFO))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pre = (level >= LOG_DEBUG1) ? snprintf(line, sizeof(line), "debug%d: %s", level - 1,
		lg->tag) : snprintf(line, sizeof(line), "sshmcp: %s", lg->tag);
	if (pre < 0 || (size_t)pre >= sizeof(line) - 2)
		return;
	n = (size_t)pre + str_vis(msg, strlen(msg), line + pre, sizeof(line) - 1 - (size_t)pre, 0);
	line[n++] = '\n';
	(void)fd_write_all(lg->fd, line, n);
}

/* -------------------------------------------------------------- errors --- */

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

/* --------------------------------------------------------------- names --- */

/*
 * Host and user names reach /bin/sh through ssh_config's %h, %n and %r (ProxyCommand,
 * Match exec) and known_hosts through kh_append. OpenSSH refuses names with shell
 * metacharacters since 9.6 (CVE-2023-51385); we go further and accept only what a host or
 * user name is made of, wherever the name came from: a tool argument, the command line,
 * user@host, an ssh:// URI, ProxyJump or ssh_config. Each returns NULL or why not.
 */
static const char *name_host_bad(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return "hostname is empty";
	if (n >= SSHMCP_HOST_MAX)
		return "hostname is too long";
	if (s[0] == '-' || s[0] == '.')
		return "hostname starts with '-' or '.'";
	/* Letters, digits, . - _ ; ':' and '%' for IPv6 literals and their zone. No patterns
	 * (* ? ! ,): a name must never be written to known_hosts as a wildcard. */
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(".-_:%", s[i]) == NULL)
			return "hostname contains invalid characters";
	return NULL;
}

static const char *name_user_bad(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return "remote username is empty";
	if (n >= SSHMCP_USER_MAX)
		return "remote username is too long";
	if (s[0] == '-')
		return "remote username starts with '-'";
	/* Letters, digits, . _ - and @ + (Kerberos and directory-style names). */
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-@+", s[i]) == NULL)
			return "remote username contains invalid characters";
	return NULL;
}

/* Both names of a destination, for err_set messages that say which one and what it is. */
static int name_check(const char *host, const char *user, struct err *e)
{
	const char *why = host != NULL ? name_host_bad(host) : NULL;

	if (why != NULL) {
		err_set(e, SSHMCP_ERR_USAGE, "%s: refusing host name %.*s", why, 64, host);
		return -1;
	}
	if (user != NULL && user[0] != '\0' && (why = name_user_bad(user)) != NULL) {
		err_set(e, SSHMCP_ERR_USAGE, "%s: refusing user name %.*s", why, 64, user);
		return -1;
	}
	return 0;
}

/* ========================================================= ring buffer === */

static int ring_init(struct ring *r, size_t cap)
{
	r->buf = malloc(cap);
	r->cap = r->max = cap;
	r->head = r->tail = 0;
	return r->buf == NULL ? -1 : 0;
}

static void ring_read_at(const struct ring *r, uint64_t off, unsigned char *out, size_t n);

/* A command's output ring: `first` bytes at once, doubled as output needs, `max` at most.
 * Most commands print a few lines: a full megabyte each cost an mmap and a munmap (musl
 * maps large blocks) and their TLB shootdowns, per command. */
static int ring_init_grow(struct ring *r, size_t first, size_t max)
{
	if (ring_init(r, first < max ? first : max) < 0)
		return -1;
	r->max = max;
	return 0;
}

/* Room for `need` bytes, up to max, the held bytes kept at their offsets. Failing to
 * allocate keeps the ring as it is: it then drops its oldest bytes sooner. */
static void ring_grow(struct ring *r, size_t need)
{
	size_t cap = r->cap;
	unsigned char *nb;
	uint64_t off;

	while (cap < need && cap < r->max)
		cap = cap > r->max / 2 ? r->max : cap * 2;
	if (cap == r->cap || (nb = malloc(cap)) == NULL)
		return;
	for (off = r->tail; off < r->head; ) {
		size_t pos = (size_t)(off % cap), k = cap - pos;

		if (k > r->head - off)
			k = (size_t)(r->head - off);
		ring_read_at(r, off, nb + pos, k);
		off += k;
	}
	free(r->buf);
	r->buf = nb;
	r->cap = cap;
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

	if (r->cap < r->max && n > r->cap - ring_used(r))
		ring_grow(r, n > r->max - ring_used(r) ? r->max : ring_used(r) + n);
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
	CFG_CERTIFICATEFILE, CFG_EXITONFORWARDFAILURE, CFG_CLEARALLFORWARDINGS, CFG_GATEWAYPORTS,
	CFG_CONTROLPATH, CFG_LOCALFORWARD, CFG_REMOTEFORWARD, CFG_DYNAMICFORWARD,
	CFG_ADDRESSFAMILY, CFG_BINDADDRESS, CFG_BINDINTERFACE, CFG_KNOWNHOSTSCOMMAND,
	CFG_LOCALCOMMAND, CFG_PERMITLOCALCOMMAND,
	CFG_FORWARDAGENT, CFG_STREAMLOCALBINDUNLINK, CFG_UPDATEHOSTKEYS, CFG_NKEYS
};

enum cfg_kind { CFG_STR, CFG_YESNO, CFG_NUM, CFG_PORTNUM, CFG_TIME };

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
	{ "connecttimeout", CFG_CONNECTTIMEOUT, CFG_TIME },
	{ "serveraliveinterval", CFG_SERVERALIVEINTERVAL, CFG_TIME },
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
	{ "exitonforwardfailure", CFG_EXITONFORWARDFAILURE, CFG_YESNO },
	{ "clearallforwardings", CFG_CLEARALLFORWARDINGS, CFG_YESNO },
	{ "gatewayports", CFG_GATEWAYPORTS, CFG_YESNO },
	{ "controlpath", CFG_CONTROLPATH, CFG_STR },
	{ "localforward", CFG_LOCALFORWARD, CFG_STR },
	{ "remoteforward", CFG_REMOTEFORWARD, CFG_STR },
	{ "dynamicforward", CFG_DYNAMICFORWARD, CFG_STR },
	{ "addressfamily", CFG_ADDRESSFAMILY, CFG_STR },
	{ "bindaddress", CFG_BINDADDRESS, CFG_STR },
	{ "bindinterface", CFG_BINDINTERFACE, CFG_STR },
	{ "knownhostscommand", CFG_KNOWNHOSTSCOMMAND, CFG_STR },
	{ "localcommand", CFG_LOCALCOMMAND, CFG_STR },
	{ "permitlocalcommand", CFG_PERMITLOCALCOMMAND, CFG_YESNO },
	{ "forwardagent", CFG_FORWARDAGENT, CFG_STR },
	{ "streamlocalbindunlink", CFG_STREAMLOCALBINDUNLINK, CFG_YESNO },
	{ "updatehostkeys", CFG_UPDATEHOSTKEYS, CFG_STR },
};

struct cfg {
	char *val[CFG_NKEYS];                    /* first obtained value, NULL when unset */
	char *ident[SSHMCP_MAX_IDENTITIES];      /* IdentityFile, in order obtained */
	int nident;
	char *certs[SSHMCP_MAX_IDENTITIES];      /* CertificateFile, in order obtained */
	int ncerts;
	char *fwds[SSHMCP_FWD_SPECS_MAX];        /* Local/Remote/DynamicForward: kind + spec */
	int nfwds;
	const char *host;                        /* the host as the user named it (Host matching) */
	const char *user;                        /* -l or user@, for Match user */
	const char *luser;                       /* the local user, for Match localuser */
	const char *home;                        /* for Include ~ and relative paths */
	const char *fflag;                       /* -F: jump hosts resolve through it too */
	int depth;                               /* Include nesting */
	int named;                               /* a Host line names it literally */
	struct cfg_stamps *st;                   /* serve: what the resolution read, or NULL */
};

/* A file (or Include directory) as a resolution found it: unchanged stamps mean the same
 * resolution (serve reuses it instead of reading ssh_config and its Includes again). */
struct cfg_stamp {
	char *path;
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct cfg_stamps {
	struct cfg_stamp s[SSHMCP_CFG_STAMPS];
	int n;
	int nocache;                             /* Match exec, or too many files: read each time */
};

/* Where a line came from, for "file:line: ..." errors. */
struct cfg_src {
	const char *file;
	int line;
	int active;                              /* inside a matching Host block */
	int system;                              /* /etc/ssh/ssh_config: relative Includes there */
};

static void cfg_stamp_take(struct cfg_stamp *st, const char *path)
{
	struct stat sb;

	st->exists = stat(path, &sb) == 0;
	st->dev = st->exists ? sb.st_dev : 0;
	st->ino = st->exists ? sb.st_ino : 0;
	st->size = st->exists ? sb.st_size : 0;
	st->mtime = st->exists ? sb.st_mtim : (struct timespec){ 0, 0 };
	st->ctime = st->exists ? sb.st_ctim : (struct timespec){ 0, 0 };
}

/* Note that the resolution read (or looked for) path. */
static void cfg_stamp_add(struct cfg *c, const char *path)
{
	struct cfg_stamps *st = c->st;

	if (st == NULL || st->nocache)
		return;
	if (st->n == SSHMCP_CFG_STAMPS || (st->s[st->n].path = strdup(path)) == NULL) {
		st->nocache = 1;
		return;
	}
	cfg_stamp_take(&st->s[st->n++], path);
}

/* Does every file still look as the resolution found it? */
static int cfg_stamps_same(const struct cfg_stamps *st)
{
	int i;

	for (i = 0; i < st->n; i++) {
		struct cfg_stamp now;

		cfg_stamp_take(&now, st->s[i].path);
		if (now.exists != st->s[i].exists || now.dev != st->s[i].dev ||
		    now.ino != st->s[i].ino || now.size != st->s[i].size ||
		    memcmp(&now.mtime, &st->s[i].mtime, sizeof(now.mtime)) != 0 ||
		    memcmp(&now.ctime, &st->s[i].ctime, sizeof(now.ctime)) != 0)
			return 0;
	}
	return !st->nocache;
}

static void cfg_stamps_free(struct cfg_stamps *st)
{
	int i;

	for (i = 0; i < st->n; i++)
		free(st->s[i].path);
	st->n = 0;
	st->nocache = 0;
}

/* ssh's flags: yes or true, no or false. */
static int cfg_yes(const struct cfg *c, enum cfg_key k, int dflt)
{
	return c->val[k] == NULL ? dflt : strcasecmp(c->val[k], "yes") == 0 ||
	    strcasecmp(c->val[k], "true") == 0;
}

static long cfg_num(const struct cfg *c, enum cfg_key k, long dflt)
{
	long v;

	if (c->val[k] == NULL || str_to_int(c->val[k], 0, INT_MAX, &v) < 0)
		return dflt;
	return v;
}

/* What a connection needs, resolved from the command line and ssh_config. */
/* StrictHostKeyChecking: unset or ask (serve may ask the person), yes (never), accept-new, no. */
enum kh_strict { KH_STRICT_YES, KH_STRICT_ACCEPT_NEW, KH_STRICT_NO, KH_STRICT_ASK };
enum kh_update { KH_UPDATE_NO, KH_UPDATE_YES, KH_UPDATE_ASK };

struct target {
	char alias[SSHMCP_HOST_MAX];             /* as named: Host matching, fan-out labels */
	char host[SSHMCP_HOST_MAX];              /* HostName: what we connect to */
	char user[SSHMCP_USER_MAX];
	int port;
	char kh_name[SSHMCP_HOST_MAX + 8];       /* known_hosts key: host or [host]:port */
	int hk_alias;                            /* kh_name is HostKeyAlias */
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
	int strict_files;                        /* serve: key files must not be symlinks */
	int env_password;                        /* SSHMCP_PASSWORD may go to it */
	char proxy_command[SSHMCP_LINE_MAX];     /* expanded; "" for none */
	char proxy_jump[SSHMCP_LINE_MAX];        /* as configured; resolved into `jump` */
	struct target *jump;                     /* the hop this target is reached through */
	char setenv[SSHMCP_LINE_MAX];            /* SetEnv NAME=VALUE ... */
	char sendenv[SSHMCP_LINE_MAX];           /* SendEnv patterns */
	int fwd_exit_on_failure;                 /* ExitOnForwardFailure */
	int fwd_clear;                           /* ClearAllForwardings */
	int gateway_ports;                       /* GatewayPorts: -L/-D listen on all addresses */
	int stream_unlink;                       /* StreamLocalBindUnlink: -L /path replaces a file */
	char control_path[SSHMCP_PATH_MAX];      /* ControlPath as configured ("" or none: unset) */
	char *fwd[SSHMCP_FWD_SPECS_MAX];         /* forwardings from ssh_config: 'L'/'R'/'D' + spec */
	int nfwd;
	int family;                              /* AddressFamily: AF_UNSPEC, AF_INET, AF_INET6 */
	char bind_address[SSHMCP_HOST_MAX];      /* BindAddress, "" for none */
	char bind_interface[SSHMCP_IFNAME_MAX];  /* BindInterface, "" for none */
	char kh_command[SSHMCP_LINE_MAX];        /* KnownHostsCommand, tokens unexpanded */
	char local_command[SSHMCP_LINE_MAX];     /* LocalCommand, tokens unexpanded */
	int permit_local;                        /* PermitLocalCommand: run it */
	char fwd_agent[SSHMCP_PATH_MAX];         /* ForwardAgent: the local agent socket, "" off */
	enum kh_update update_hk;                /* UpdateHostKeys */
	int alive_kernel;                        /* serve's own keepalive: TCP's watches it idle */
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

/* The tokens a keyword adds to the common ones (KnownHostsCommand's %f %K %t ...): indexed
 * by the letter, NULL where the keyword has none. */
struct cfg_tokens {
	const char *v[128];
};

/* Expand ~ and ssh's % tokens (%d %u %h %r %p %n %%, and x's) into out; -1 on overflow or
 * a token the keyword does not take. */
static int cfg_expand_x(const struct cfg_env *env, const struct target *t, const char *in,
    const struct cfg_tokens *x, char *out, size_t cap)
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
		const char *rep = NULL, *end;
		char one[2] = { *in, '\0' }, name[128];
		size_t n;

		if (in[0] == '$' && in[1] == '{') {     /* ${NAME}: ssh's environment variables */
			if ((end = strchr(in, '}')) == NULL || (size_t)(end - in - 2) >= sizeof(name))
				return -1;
			memcpy(name, in + 2, (size_t)(end - in - 2));
			name[end - in - 2] = '\0';
			if ((rep = getenv(name)) == NULL)
				return -1;
			in = end;
		} else if (*in == '%') {
			switch (*++in) {
			case '%': rep = "%"; break;
			case 'd': rep = env->home; break;
			case 'u': rep = env->luser; break;
			case 'h': rep = t->host; break;
			case 'r': rep = t->user; break;
			case 'p': rep = port; break;
			case 'n': rep = t->alias; break;
			default:
				if (x == NULL || (unsigned char)*in >= 128 ||
				    (rep = x->v[(unsigned char)*in]) == NULL)
					return -1;
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

static int cfg_expand(const struct cfg_env *env, const struct target *t, const char *in,
    char *out, size_t cap)
{
	return cfg_expand_x(env, t, in, NULL, out, cap);
}

/* The connection's tokens LocalCommand and KnownHostsCommand share with ssh: %C (SHA-1 of
 * %l%h%p%r), %i, %j, %k, %L, %l, %T; bufs holds their text. */
struct cfg_conn_tokens {
	char uid[16], host[SSHMCP_HOST_MAX], shost[SSHMCP_HOST_MAX], hash[41];
};

static void cfg_tokens_conn(const struct target *t, struct cfg_conn_tokens *b,
    struct cfg_tokens *x)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	unsigned char h[20];
	char in[SSHMCP_HOST_MAX * 3 + SSHMCP_USER_MAX];
	int i;

	(void)str_fmt(b->uid, sizeof(b->uid), "%u", (unsigned)getuid());
	if (gethostname(b->host, sizeof(b->host)) < 0)
		b->host[0] = '\0';
	b->host[sizeof(b->host) - 1] = '\0';
	(void)str_copy(b->shost, sizeof(b->shost), b->host);
	b->shost[strcspn(b->shost, ".")] = '\0';
	b->hash[0] = '\0';
	if (md != NULL && str_fmt(in, sizeof(in), "%s%s%d%s", b->host, t->host, t->port,
	    t->user) == 0 && mbedtls_md(md, (const unsigned char *)in, strlen(in), h) == 0)
		for (i = 0; i < 20; i++)
			(void)str_fmt(b->hash + 2 * i, 3, "%02x", h[i]);
	x->v['C'] = b->hash;
	x->v['i'] = b->uid;
	x->v['j'] = t->proxy_jump;
	x->v['k'] = t->hk_alias ? t->kh_name : t->alias;
	x->v['L'] = b->shost;
	x->v['l'] = b->host;
	x->v['T'] = "NONE";
}

/* A command line for /bin/sh (ProxyCommand, Match exec): the names its %h %n %r stand for
 * are checked first, so nothing a caller named can become shell syntax — the one rule for
 * every source of a name, whether or not its source checked it already. */
static int cfg_expand_cmd(const struct cfg_env *env, const struct target *t, const char *in,
    char *out, size_t cap, struct err *e)
{
	if (name_check(t->host, t->user, e) < 0 || name_check(t->alias, NULL, e) < 0)
		return -1;
	if (cfg_expand(env, t, in, out, cap) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad %% token or command too long: %.80s", in);
		return -1;
	}
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
	for (i = 0; i < c->nfwds; i++)
		free(c->fwds[i]);
	memset(c, 0, sizeof(*c));
}

/*
 * Next argument as ssh's argv_split reads one: whitespace separates, "..." and '...' quote,
 * a backslash escapes a quote, a backslash or (unquoted) a space, and a `#` that starts an
 * argument comments out the rest of the line. -1 on an unterminated quote.
 */
static int cfg_next_arg(char **pp, char **arg)
{
	char *p = *pp, *o, quote = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#') {
		*arg = NULL;
		*pp = p + strlen(p);
		return 0;
	}
	*arg = o = p;
	for (; *p != '\0' && (quote != 0 || (*p != ' ' && *p != '\t')); p++) {
		if (*p == '\\' && (p[1] == '\'' || p[1] == '"' || p[1] == '\\' ||
		    (quote == 0 && p[1] == ' ')))
			*o++ = *++p;
		else if (quote == 0 && (*p == '"' || *p == '\''))
			quote = *p;
		else if (quote != 0 && *p == quote)
			quote = 0;
		else
			*o++ = *p;
	}
	if (quote != 0)
		return -1;
	if (*p != '\0')
		p++;
	*o = '\0';
	*pp = p;
	return 0;
}

/* Append arg to out so that cfg_next_arg reads it back as one argument: what ssh_config
 * quoted stays together when a value is kept as a list and split again later. */
static int cfg_arg_append(char *out, size_t cap, const char *arg)
{
	size_t o = strlen(out);
	int plain = *arg != '\0' && strpbrk(arg, " \t\"'\\#") == NULL;

	if (o > 0 && o < cap)
		out[o++] = ' ';
	if (!plain && o < cap)
		out[o++] = '"';
	for (; *arg != '\0' && o < cap; arg++) {
		if ((*arg == '"' || *arg == '\\') && o + 1 < cap)
			out[o++] = '\\';
		out[o++] = *arg;
	}
	if (!plain && o < cap)
		out[o++] = '"';
	if (o >= cap) {
		out[cap - 1] = '\0';
		return -1;
	}
	out[o] = '\0';
	return 0;
}

/* `Host` patterns: the block applies when any pattern matches and no negated one does. */
static int cfg_host_matches(struct cfg *c, char *args)
{
	char *arg;
	int hit = 0;

	int literal = 0;

	while (cfg_next_arg(&args, &arg) == 0 && arg != NULL) {
		int r = str_match_list_case(arg, c->host, 0);     /* Host patterns keep case */

		if (r < 0)
			return 0;
		if (r > 0)
			hit = 1;
		literal |= r > 0 && strcmp(arg, c->host) == 0;
	}
	c->named |= hit && literal;
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

/* ssh's time format (convtime): seconds, or numbers each with s m h d w after it ("1m30s").
 * -1 when it is not one or too large. */
static int cfg_time(const char *v, long *out)
{
	long total = 0;

	if (*v == '\0')
		return -1;
	while (*v != '\0') {
		char *end;
		long n, mul;

		errno = 0;
		n = strtol(v, &end, 10);
		if (end == v || n < 0 || errno != 0)
			return -1;
		switch (*end) {
		case '\0': mul = 1; break;
		case 's': case 'S': mul = 1; end++; break;
		case 'm': case 'M': mul = 60; end++; break;
		case 'h': case 'H': mul = 3600; end++; break;
		case 'd': case 'D': mul = 86400; end++; break;
		case 'w': case 'W': mul = 604800; end++; break;
		default: return -1;
		}
		if (n > (INT_MAX - total) / mul)
			return -1;
		total += n * mul;
		v = end;
	}
	*out = total;
	return 0;
}

static int cfg_check_value(enum cfg_kind kind, const char *v)
{
	long n;

	switch (kind) {
	case CFG_YESNO:
		return (strcasecmp(v, "yes") == 0 || strcasecmp(v, "no") == 0 ||
		    strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0) ? 0 : -1;
	case CFG_TIME:
		return (strcasecmp(v, "none") == 0 || cfg_time(v, &n) == 0) ? 0 : -1;
	case CFG_NUM:
		return (strcasecmp(v, "none") == 0 || str_to_int(v, 0, INT_MAX, &n) == 0) ? 0 : -1;
	case CFG_PORTNUM:
		return str_to_int(v, 1, 65535, &n);
	case CFG_STR:
		return 0;
	}
	return -1;
}

/* SetEnv: the first line that sets any wins, and in it the first NAME= of each name, as in
 * ssh; SendEnv accumulates over lines. Both are kept as a list cfg_next_arg splits again. */
static int cfg_env_list(struct cfg *c, enum cfg_key k, char *p, const struct cfg_src *src,
    const char *kw, struct err *e)
{
	char list[SSHMCP_LINE_MAX] = "", seen[SSHMCP_LINE_MAX], *arg, *sp, *prev;

	if (c->val[k] != NULL && k == CFG_SENDENV)
		(void)str_copy(list, sizeof(list), c->val[k]);
	while (cfg_next_arg(&p, &arg) == 0 && arg != NULL) {
		size_t n = strcspn(arg, "=");
		int dup = 0;

		if (k == CFG_SETENV && arg[n] != '=') {
			err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: bad %s value", src->file, src->line,
			    kw);
			return -1;
		}
		(void)str_copy(seen, sizeof(seen), list);
		for (sp = seen; k == CFG_SETENV && !dup && cfg_next_arg(&sp, &prev) == 0 &&
		    prev != NULL;)
			dup = strncmp(prev, arg, n + 1) == 0;
		if (!dup && cfg_arg_append(list, sizeof(list), arg) < 0)
			break;                  /* as many as fit */
	}
	if (*p != '\0') {
		err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: unterminated quote", src->file, src->line);
		return -1;
	}
	if (list[0] == '\0' || (c->val[k] != NULL && k == CFG_SETENV))
		return 0;
	free(c->val[k]);
	if ((c->val[k] = strdup(list)) == NULL) {
		err_set(e, SSHMCP_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

/* ProxyCommand, LocalCommand and KnownHostsCommand keep their whole line, comments and
 * quotes, as ssh does. */
static int cfg_raw_value(struct cfg *c, enum cfg_key k, const char *v,
    const struct cfg_src *src, const char *kw, struct err *e)
{
	if (*v == '\0') {
		err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: missing %s value", src->file, src->line, kw);
		return -1;
	}
	/* ProxyCommand and ProxyJump exclude each other: whichever comes first wins, as in
	 * ssh. */
	if (c->val[k] != NULL)
		return 0;
	if (k == CFG_PROXYCOMMAND && c->val[CFG_PROXYJUMP] != NULL)
		return 0;
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

/* One Match criterion; `arg` NULL for all/canonical/final. -1: bad criterion, or (e set)
 * a Match exec refused because a name it would pass to the shell is not a name. */
static int cfg_match_one(struct cfg *c, const char *crit, const char *arg, struct err *e)
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
		if (c->st != NULL)
			c->st->nocache = 1;         /* its answer may change: ask it every time */
		(void)str_copy(t.host, sizeof(t.host), host);
		(void)str_copy(t.user, sizeof(t.user), c->user != NULL && *c->user ? c->user :
		    c->val[CFG_USER] != NULL ? c->val[CFG_USER] : env.luser);
		t.port = (int)cfg_num(c, CFG_PORT, 22);
		if (cfg_expand_cmd(&env, &t, arg, cmd, sizeof(cmd), e) < 0)
			return -1;
		return cfg_match_exec(cmd);
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
		if ((r = cfg_match_one(c, name, arg, e)) < 0) {
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
		if (c->st != NULL) {                /* a file added or removed changes the dir */
			char dir[SSHMCP_PATH_MAX];
			const char *sl = strrchr(pat, '/');

			(void)str_fmt(dir, sizeof(dir), "%.*s", sl != NULL ? (int)(sl - pat) : 0, pat);
			cfg_stamp_add(c, dir[0] != '\0' ? dir : "/");
		}
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

/* LocalForward [bind:]port host:hostport (RemoteForward the same, DynamicForward
 * [bind:]port): kept in the colon form -L/-R/-D take, behind the kind letter. They
 * accumulate, as in ssh, every matching line adding one; the forwarding section parses them. */
static int cfg_forward(struct cfg *c, enum cfg_key key, char *p, const struct cfg_src *src,
    const char *kw, struct err *e)
{
	char spec[SSHMCP_LINE_MAX], *a = NULL, *b = NULL, *extra = NULL;
	char kind = key == CFG_LOCALFORWARD ? 'L' : key == CFG_REMOTEFORWARD ? 'R' : 'D';

	if (cfg_next_arg(&p, &a) < 0 || a == NULL || cfg_next_arg(&p, &b) < 0 ||
	    (b != NULL && cfg_next_arg(&p, &extra) < 0) || extra != NULL ||
	    (kind == 'D') != (b == NULL) || str_fmt(spec, sizeof(spec), "%c%s%s%s", kind, a,
	    b != NULL ? ":" : "", b != NULL ? b : "") < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "%s line %d: bad %s value", src->file, src->line, kw);
		return -1;
	}
	if (c->nfwds < SSHMCP_FWD_SPECS_MAX && (c->fwds[c->nfwds] = strdup(spec)) != NULL)
		c->nfwds++;
	return 0;
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
	if (cfg_keywords[k].key == CFG_PROXYCOMMAND || cfg_keywords[k].key == CFG_LOCALCOMMAND ||
	    cfg_keywords[k].key == CFG_KNOWNHOSTSCOMMAND)
		return cfg_raw_value(c, cfg_keywords[k].key, p, src, kw, e);
	if (cfg_keywords[k].key == CFG_SETENV || cfg_keywords[k].key == CFG_SENDENV)
		return cfg_env_list(c, cfg_keywords[k].key, p, src, kw, e);
	if (cfg_keywords[k].key == CFG_LOCALFORWARD || cfg_keywords[k].key == CFG_REMOTEFORWARD ||
	    cfg_keywords[k].key == CFG_DYNAMICFORWARD)
		return cfg_forward(c, cfg_keywords[k].key, p, src, kw, e);
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
		long secs;

		/* A time ("1m30s") is kept in seconds, the number the rest reads. */
		if (cfg_keywords[k].kind == CFG_TIME && cfg_time(val, &secs) == 0 &&
		    str_fmt(both, sizeof(both), "%ld", secs) == 0)
			keep = both;

		/* The known-hosts keywords take several files: keep the rest of the line too. */
		if (cfg_keywords[k].key == CFG_USERKNOWNHOSTSFILE ||
		    cfg_keywords[k].key == CFG_GLOBALKNOWNHOSTSFILE) {
			both[0] = '\0';
			do {
				if (cfg_arg_append(both, sizeof(both), val) < 0)
					return 0;
			} while (cfg_next_arg(&p, &val) == 0 && val != NULL);
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

	cfg_stamp_add(c, path);
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

/* Defaults, strongest and fastest first; libssh2 drops the names it does not implement.
 * Key exchange: the post-quantum hybrids first, in OpenSSH 10's order. */
#define CFG_DEFAULT_KEX "mlkem768x25519-sha256,sntrup761x25519-sha512," \
	"sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org," \
	"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
	"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," \
	"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
/* Host keys: certificates first, as OpenSSH's default (a certificate whose CA is not trusted
 * falls back to its plain key, conn_hostcert; a known plain key reorders, kh_pref_algs). */
#define CFG_DEFAULT_HOSTKEY "ssh-ed25519-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp521-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com," \
	"rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
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
	for (i = 0; i < t->nfwd; i++)
		free(t->fwd[i]);
	t->nident = t->nkh = t->ncert = t->nfwd = 0;
	if (t->jump != NULL) {
		target_free(t->jump);
		free(t->jump);
		t->jump = NULL;
	}
}

/* A deep copy of src (its file lists and hops): what a cache hands out is the caller's. */
static int target_dup(struct target *dst, const struct target *src)
{
	int i;

	*dst = *src;
	dst->nident = dst->ncert = dst->nkh = 0;
	dst->jump = NULL;
	for (i = 0; i < src->nident; i++, dst->nident++)
		if ((dst->ident[i] = strdup(src->ident[i])) == NULL)
			goto fail;
	for (i = 0; i < src->ncert; i++, dst->ncert++)
		if ((dst->cert[i] = strdup(src->cert[i])) == NULL)
			goto fail;
	for (i = 0; i < src->nkh; i++, dst->nkh++)
		if ((dst->kh_file[i] = strdup(src->kh_file[i])) == NULL)
			goto fail;
	if (src->jump != NULL && ((dst->jump = calloc(1, sizeof(*dst->jump))) == NULL ||
	    target_dup(dst->jump, src->jump) < 0))
		goto fail;
	return 0;
fail:
	target_free(dst);
	return -1;
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
	t->hk_alias = c->val[CFG_HOSTKEYALIAS] != NULL;
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

/* AddressFamily, BindAddress, BindInterface: how the direct connection leaves this host. */
static int cfg_resolve_bind(const struct cfg *c, struct target *t, struct err *e)
{
	const char *af = c->val[CFG_ADDRESSFAMILY];

	if (af == NULL || strcasecmp(af, "any") == 0)
		t->family = AF_UNSPEC;
	else if (strcasecmp(af, "inet") == 0)
		t->family = AF_INET;
	else if (strcasecmp(af, "inet6") == 0)
		t->family = AF_INET6;
	else {
		err_set(e, SSHMCP_ERR_CONFIG, "bad AddressFamily \"%s\"", af);
		return -1;
	}
	if (c->val[CFG_BINDADDRESS] != NULL && strcasecmp(c->val[CFG_BINDADDRESS], "none") != 0 &&
	    str_copy(t->bind_address, sizeof(t->bind_address), c->val[CFG_BINDADDRESS]) < 0)
		return -1;
	if (c->val[CFG_BINDINTERFACE] != NULL &&
	    str_copy(t->bind_interface, sizeof(t->bind_interface), c->val[CFG_BINDINTERFACE]) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad BindInterface \"%s\"", c->val[CFG_BINDINTERFACE]);
		return -1;
	}
	return 0;
}

/* ForwardAgent yes|no|PATH: the socket the server's agent channels are relayed to (a path
 * takes ~, % tokens and ${VAR}). "yes" is SSH_AUTH_SOCK; without one there is nothing to
 * forward (ssh drops it too). */
static int cfg_forward_agent(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
{
	const char *v = c->val[CFG_FORWARDAGENT];
	struct stat st;

	t->fwd_agent[0] = '\0';
	if (v == NULL || strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
		return 0;
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
		v = getenv("SSH_AUTH_SOCK");
	if (v == NULL || *v == '\0' || (v != c->val[CFG_FORWARDAGENT] && stat(v, &st) < 0))
		return 0;
	if (cfg_expand(env, t, v, t->fwd_agent, sizeof(t->fwd_agent)) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad ForwardAgent \"%s\"", v);
		return -1;
	}
	return 0;
}

/* UpdateHostKeys; unset, ssh turns it on unless UserKnownHostsFile names other files. */
static int cfg_resolve_update(const struct cfg *c, struct target *t, struct err *e)
{
	const char *v = c->val[CFG_UPDATEHOSTKEYS], *files = c->val[CFG_USERKNOWNHOSTSFILE];

	if (v == NULL)
		t->update_hk = files == NULL || strcmp(files, "~/.ssh/known_hosts") == 0 ?
		    KH_UPDATE_YES : KH_UPDATE_NO;
	else if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0)
		t->update_hk = KH_UPDATE_YES;
	else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0)
		t->update_hk = KH_UPDATE_NO;
	else if (strcasecmp(v, "ask") == 0)
		t->update_hk = KH_UPDATE_ASK;
	else {
		err_set(e, SSHMCP_ERR_CONFIG, "bad UpdateHostKeys \"%s\"", v);
		return -1;
	}
	return 0;
}

static int cfg_resolve_policy(const struct cfg *c, const struct cfg_env *env, struct target *t,
    struct err *e)
{
	const char *s = c->val[CFG_STRICTHOSTKEYCHECKING], *agent;

	if (s == NULL || strcasecmp(s, "ask") == 0)
		t->strict = KH_STRICT_ASK;
	else if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0)
		t->strict = KH_STRICT_YES;
	else if (strcasecmp(s, "accept-new") == 0)
		t->strict = KH_STRICT_ACCEPT_NEW;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0 ||
	    strcasecmp(s, "false") == 0)
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
	if (cfg_forward_agent(c, env, t, e) < 0)
		return -1;
	t->hash_kh = cfg_yes(c, CFG_HASHKNOWNHOSTS, 0);
	if (cfg_resolve_update(c, t, e) < 0)
		return -1;
	t->fwd_exit_on_failure = cfg_yes(c, CFG_EXITONFORWARDFAILURE, 0);
	for (t->nfwd = 0; t->nfwd < c->nfwds; t->nfwd++)
		if ((t->fwd[t->nfwd] = strdup(c->fwds[t->nfwd])) == NULL)
			return -1;
	t->fwd_clear = cfg_yes(c, CFG_CLEARALLFORWARDINGS, 0);
	if (cfg_resolve_bind(c, t, e) < 0)
		return -1;
	/* Expanded when run: their tokens name the host key and the connection. */
	if (c->val[CFG_KNOWNHOSTSCOMMAND] != NULL &&
	    strcasecmp(c->val[CFG_KNOWNHOSTSCOMMAND], "none") != 0)
		(void)str_copy(t->kh_command, sizeof(t->kh_command), c->val[CFG_KNOWNHOSTSCOMMAND]);
	t->permit_local = cfg_yes(c, CFG_PERMITLOCALCOMMAND, 0);
	if (c->val[CFG_LOCALCOMMAND] != NULL && strcasecmp(c->val[CFG_LOCALCOMMAND], "none") != 0)
		(void)str_copy(t->local_command, sizeof(t->local_command), c->val[CFG_LOCALCOMMAND]);
	t->gateway_ports = cfg_yes(c, CFG_GATEWAYPORTS, 0);
	t->stream_unlink = cfg_yes(c, CFG_STREAMLOCALBINDUNLINK, 0);
	/* No multiplexing: the path only names the socket `-O` reports as absent, as ssh
	 * does without a master; ControlMaster and ControlPersist are ignored (Ansible). */
	if (c->val[CFG_CONTROLPATH] != NULL && strcasecmp(c->val[CFG_CONTROLPATH], "none") != 0 &&
	    cfg_expand(env, t, c->val[CFG_CONTROLPATH], t->control_path,
	    sizeof(t->control_path)) < 0)
		(void)str_copy(t->control_path, sizeof(t->control_path), c->val[CFG_CONTROLPATH]);
	if (c->val[CFG_PROXYJUMP] != NULL && strcasecmp(c->val[CFG_PROXYJUMP], "none") != 0)
		(void)str_copy(t->proxy_jump, sizeof(t->proxy_jump), c->val[CFG_PROXYJUMP]);
	if (c->val[CFG_PROXYCOMMAND] != NULL && strcasecmp(c->val[CFG_PROXYCOMMAND], "none") != 0 &&
	    cfg_expand_cmd(env, t, c->val[CFG_PROXYCOMMAND], t->proxy_command,
	    sizeof(t->proxy_command), e) < 0)
		return -1;
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
    int depth, struct cfg_stamps *st, struct target **out, struct err *e)
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
	if (name_check(t->alias, t->user, e) < 0)
		goto out;
	c.host = t->alias;
	c.user = t->user;
	c.depth = depth + 1;
	c.st = st;
	if (cfg_option(&c, "ProxyJump none", e) < 0 || cfg_load(&c, env, fflag, e) < 0 ||
	    cfg_resolve(&c, env, t, e) < 0)
		goto out;
	if (last != NULL) {
		char rest[SSHMCP_LINE_MAX];

		(void)str_fmt(rest, sizeof(rest), "%.*s", (int)(last - list), list);
		if (cfg_resolve_jumps(rest, env, fflag, depth + 1, st, &t->jump, e) < 0)
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
	/* The user name is checked where a caller gives it (command line, tool argument, hop):
	 * one the operator's own config sets is trusted as OpenSSH trusts it, and still never
	 * reaches a shell unchecked (cfg_expand_cmd). */
	if (cfg_resolve_names(c, env, t, e) < 0 || name_check(t->alias, NULL, e) < 0 ||
	    name_check(t->host, NULL, e) < 0 || cfg_resolve_files(c, env, t, e) < 0 ||
	    cfg_resolve_policy(c, env, t, e) < 0) {
		err_set(e, SSHMCP_ERR_CONFIG, "bad configuration for %s", t->alias);
		return -1;
	}
	if (t->proxy_jump[0] != '\0' &&
	    cfg_resolve_jumps(t->proxy_jump, env, c->fflag, c->depth, c->st, &t->jump, e) < 0)
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

/* ========================================================= known_hosts === */

/*
 * Our own known_hosts reader: libssh2's refuses a whole file over one line it does not know
 * (@revoked, @cert-authority), and we need the fingerprints of both keys when one changed.
 */
enum kh_result { KH_NOTFOUND, KH_CHANGED, KH_MATCH, KH_REVOKED };

struct kh_check {
	enum kh_result result;
	char where[SSHMCP_PATH_MAX + 16];        /* file:line of the deciding entry */
	char known_fp[64];                       /* SHA256 of the recorded key when changed */
	int cur;                                 /* the file being read: kh_file[cur], -1 command */
	int file;                                /* cur when the deciding entry was read */
};

/*
 * A key or certificate file, whole, into memory: opened without blocking (a FIFO must not
 * stop the loop), a regular file only (not /dev/zero), at most SSHMCP_KEYFILE_MAX bytes,
 * read once; `nofollow` refuses a symlink too (serve: the agent names key_filename).
 * Returns 0, or -1 with `why` saying what was wrong. The caller wipes and frees *out.
 */
static int kh_file_read(const char *path, int nofollow, char **out, size_t *n, char *why,
    size_t whycap)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
	struct stat st;
	ssize_t got = -1;

	*out = NULL;
	if (fd < 0) {
		(void)str_copy(why, whycap, errno == ELOOP ? "a symbolic link (refused)" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		(void)str_copy(why, whycap, "not a regular file");
	else if (st.st_size > SSHMCP_KEYFILE_MAX)
		(void)str_copy(why, whycap, "larger than a key file can be");
	else if ((*out = malloc((size_t)st.st_size + 1)) == NULL)
		(void)str_copy(why, whycap, "out of memory");
	else if ((got = read(fd, *out, (size_t)st.st_size + 1)) < 0 || got > st.st_size)
		(void)str_copy(why, whycap, got < 0 ? strerror(errno) : "changed while read");
	close(fd);
	if (*out == NULL || got < 0 || got > st.st_size) {
		if (*out != NULL)
			mem_wipe(*out, (size_t)st.st_size + 1);
		free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[got] = '\0';
	*n = (size_t)got;
	return 0;
}

static void kh_file_free(char **p, size_t n)
{
	if (*p != NULL)
		mem_wipe(*p, n);
	free(*p);
	*p = NULL;
}

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

static void kh_fingerprint_of(const unsigned char h[32], char *out, size_t cap);

/* "SHA256:<unpadded base64>", as ssh prints fingerprints. */
static void kh_fingerprint(const unsigned char *blob, size_t bloblen, char *out, size_t cap)
{
	unsigned char h[32];

	(void)mbedtls_sha256(blob, bloblen, h, 0);
	kh_fingerprint_of(h, out, cap);
}

/* The same from the SHA-256 already taken. */
static void kh_fingerprint_of(const unsigned char h[32], char *out, size_t cap)
{
	size_t n;

	if (cap < 8) {
		out[0] = '\0';
		return;
	}
	memcpy(out, "SHA256:", 7);
	if (b64_encode(h, 32, out + 7, cap - 7, &n) < 0)
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

/* Check the server's key against the lines of f (a file, or what KnownHostsCommand
 * printed), raising `r` to the strongest finding. */
static void kh_scan_stream(FILE *f, const char *path, const char *name,
    const unsigned char *blob, size_t bloblen, struct kh_check *r)
{
	char line[SSHMCP_LINE_MAX * 4], type[64];
	unsigned char known[SSHMCP_KEYBLOB_MAX];
	struct kh_line l;
	int lineno = 0;

	if (kh_blob_type(blob, bloblen, type, sizeof(type)) < 0)
		return;
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
			r->file = r->cur;
			(void)str_fmt(r->where, sizeof(r->where), "%s:%d", path, lineno);
			if (found == KH_CHANGED)
				kh_fingerprint(known, n, r->known_fp, sizeof(r->known_fp));
		}
	}
}

static void kh_scan_file(const char *path, const char *name, const unsigned char *blob,
    size_t bloblen, struct kh_check *r)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	kh_scan_stream(f, path, name, blob, bloblen, r);
	fclose(f);
}

/*
 * What KnownHostsCommand printed, once it has exited 0: its stdout as a stream in memory.
 * Bounded, unlike ssh (one connection, it may wait): serve runs every session in one loop,
 * so a command that hangs is killed at ConnectTimeout, and one that prints without end is
 * cut at SSHMCP_KEYFILE_MAX * 16. NULL (e set) otherwise.
 */
static FILE *kh_command_collect(int fd, pid_t pid, const struct target *t, struct err *e)
{
	int64_t deadline = time_ms() + (int64_t)t->connect_timeout_s * 1000;
	size_t cap = SSHMCP_KEYFILE_MAX * 16, len = 0;
	char *buf = malloc(cap);
	const char *why = NULL;
	FILE *f = NULL;
	int st = 0;

	while (buf != NULL && why == NULL) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - time_ms();
		ssize_t k;

		if (left <= 0 || poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left)) == 0)
			why = "timed out";
		else if ((k = read(fd, buf + len, cap - len)) == 0)
			break;
		else if (k < 0 && errno != EINTR && errno != EAGAIN)
			why = strerror(errno);
		else if (k > 0 && (len += (size_t)k) == cap)
			why = "printed too much";
	}
	close(fd);
	if (buf == NULL || why != NULL)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (buf == NULL)
		err_set(e, SSHMCP_ERR_NOMEM, "out of memory");
	else if (why != NULL)
		err_set(e, SSHMCP_ERR_HOSTKEY, "KnownHostsCommand %.200s %s", t->kh_command, why);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		err_set(e, SSHMCP_ERR_HOSTKEY, "KnownHostsCommand %.200s exited with status %d",
		    t->kh_command, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	else if ((f = fmemopen(NULL, len + 1, "w+")) == NULL ||
	    fwrite(buf, 1, len, f) != len || fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		f = NULL;
		err_set(e, SSHMCP_ERR_NOMEM, "out of memory");
	}
	free(buf);
	return f;
}

/* KnownHostsCommand as ssh runs it: split into arguments, each one's tokens expanded (%f
 * %H %I %K %t besides the connection's; NONE for the key's before there is one), run without
 * a shell, stdin /dev/null; what it printed comes back to be read as known_hosts lines
 * (kh_command_collect). NULL (e set) when it cannot run or did not exit 0. */
static FILE *kh_command_run(const struct target *t, const char *reason,
    const unsigned char *blob, size_t bloblen, struct err *e)
{
	pid_t pid;
	char buf[SSHMCP_LINE_MAX], words[SSHMCP_LINE_MAX], *p = buf, *arg;
	char *argv[SSHMCP_KH_COMMAND_ARGS + 1], type[64] = "NONE", fp[64] = "NONE";
	char b64[SSHMCP_KEYBLOB_MAX * 2] = "NONE";
	struct cfg_conn_tokens b;
	struct cfg_tokens x = { .v = { NULL } };
	struct cfg_env env;
	size_t o = 0, n;
	int argc = 0, pfd[2], null;

	if (blob != NULL && (kh_blob_type(blob, bloblen, type, sizeof(type)) < 0 ||
	    b64_encode(blob, bloblen, b64, sizeof(b64) - 1, &n) < 0)) {
		err_set(e, SSHMCP_ERR_HOSTKEY, "KnownHostsCommand: bad host key");
		return NULL;
	}
	if (blob != NULL) {
		b64[n] = '\0';
		kh_fingerprint(blob, bloblen, fp, sizeof(fp));
	}
	cfg_env_init(&env);
	cfg_tokens_conn(t, &b, &x);
	/* %H: the known_hosts name; before the key exchange (ORDER) ssh gives the bare host */
	x.v['f'] = fp, x.v['I'] = reason, x.v['K'] = b64, x.v['t'] = type;
	x.v['H'] = blob != NULL || t->hk_alias ? t->kh_name : t->host;
	(void)str_copy(buf, sizeof(buf), t->kh_command);
	while (argc < SSHMCP_KH_COMMAND_ARGS && cfg_next_arg(&p, &arg) == 0 && arg != NULL) {
		if (cfg_expand_x(&env, t, arg, &x, words + o, sizeof(words) - o) < 0) {
			err_set(e, SSHMCP_ERR_CONFIG, "KnownHostsCommand: bad %% token or too long");
			return NULL;
		}
		argv[argc++] = words + o;
		o += strlen(words + o) + 1;
	}
	argv[argc] = NULL;
	if (argc == 0 || argv[0][0] != '/') {
		err_set(e, SSHMCP_ERR_HOSTKEY, "KnownHostsCommand path is not absolute");
		return NULL;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		err_set(e, SSHMCP_ERR_HOSTKEY, "KnownHostsCommand: %s", strerror(errno));
		return NULL;
	}
	if (pid == 0) {
		if ((null = open("/dev/null", O_RDWR)) >= 0)
			(void)dup2(null, STDIN_FILENO);
		(void)dup2(pfd[1], STDOUT_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	return kh_command_collect(pfd[0], pid, t, e);
}

/* KnownHostsCommand after the files: the server's key checked against its lines too. */
static int kh_scan_command(const struct target *t, const unsigned char *blob, size_t bloblen,
    struct kh_check *r, struct err *e)
{
	FILE *f = kh_command_run(t, "HOSTNAME", blob, bloblen, e);

	if (f == NULL)
		return -1;
	kh_scan_stream(f, "KnownHostsCommand", t->kh_name, blob, bloblen, r);
	fclose(f);
	return 0;
}

/*
 * OpenSSH certificates (PROTOCOL.certkeys). libssh2 offers the *-cert-v01@openssh.com host
 * key algorithms (patches/libssh2-0005): the certified key signs the exchange and the CA's
 * signature is verified there; what ssh then decides from the certificate is decided here.
 */
enum { KH_CERT_USER = 1, KH_CERT_HOST = 2 };

struct kh_cert {
	char type[64];                           /* the certified key's plain type */
	unsigned char key[SSHMCP_KEYBLOB_MAX];   /* that key as a plain blob */
	size_t keylen;
	uint32_t kind;                           /* KH_CERT_USER or KH_CERT_HOST */
	uint64_t after, before;                  /* valid from, and until (exclusive) */
	const unsigned char *principals, *critical, *ca;
	size_t principals_len, critical_len, ca_len;
};

/* A bounded reader of SSH wire data: every read checks what is left first. */
struct kh_rd {
	const unsigned char *p;
	size_t n, off;
};

static int kh_rd_u32(struct kh_rd *r, uint32_t *v)
{
	if (r->n - r->off < 4)
		return -1;
	*v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
	    (uint32_t)r->p[r->off + 2] << 8 | r->p[r->off + 3];
	r->off += 4;
	return 0;
}

static int kh_rd_u64(struct kh_rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (kh_rd_u32(r, &hi) < 0 || kh_rd_u32(r, &lo) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static void kh_put_u32(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static int kh_rd_str(struct kh_rd *r, const unsigned char **s, size_t *len)
{
	uint32_t n;

	if (kh_rd_u32(r, &n) < 0 || n > r->n - r->off)
		return -1;
	*s = r->p + r->off;
	*len = n;
	r->off += n;
	return 0;
}

/*
 * Parse a certificate blob. 1: not a certificate; 0: parsed into c; -1: malformed or a
 * key type we do not know. The plain key blob is rebuilt from the certified fields: its
 * type name and the strings that follow the nonce (Ed25519: 1, ECDSA and RSA: 2).
 */
static int kh_cert_parse(const unsigned char *blob, size_t len, struct kh_cert *c)
{
	static const char suffix[] = "-cert-v01@openssh.com";
	struct kh_rd r = { blob, len, 0 };
	const unsigned char *f, *kstart;
	size_t flen, tlen, klen;
	uint64_t serial;
	int i, nf;

	if (kh_blob_type(blob, len, c->type, sizeof(c->type)) < 0)
		return -1;
	tlen = strlen(c->type);
	if (tlen <= sizeof(suffix) - 1 || strcmp(c->type + tlen - (sizeof(suffix) - 1), suffix))
		return 1;
	c->type[tlen - (sizeof(suffix) - 1)] = '\0';
	nf = strcmp(c->type, "ssh-ed25519") == 0 ? 1 : (strcmp(c->type, "ssh-rsa") == 0 ||
	    strncmp(c->type, "ecdsa-sha2-", 11) == 0) ? 2 : 0;
	if (nf == 0 || kh_rd_str(&r, &f, &flen) < 0 || kh_rd_str(&r, &f, &flen) < 0)
		return -1;                               /* type, nonce */
	kstart = r.p + r.off;
	for (i = 0; i < nf; i++)
		if (kh_rd_str(&r, &f, &flen) < 0)
			return -1;
	klen = (size_t)(r.p + r.off - kstart);
	tlen = strlen(c->type);
	if (klen > sizeof(c->key) - 4 - tlen)
		return -1;
	kh_put_u32(c->key, tlen);
	memcpy(c->key + 4, c->type, tlen);
	memcpy(c->key + 4 + tlen, kstart, klen);
	c->keylen = 4 + tlen + klen;
	if (kh_rd_u64(&r, &serial) < 0 || kh_rd_u32(&r, &c->kind) < 0 ||
	    kh_rd_str(&r, &f, &flen) < 0 ||                          /* key id */
	    kh_rd_str(&r, &c->principals, &c->principals_len) < 0 ||
	    kh_rd_u64(&r, &c->after) < 0 || kh_rd_u64(&r, &c->before) < 0 ||
	    kh_rd_str(&r, &c->critical, &c->critical_len) < 0 ||
	    kh_rd_str(&r, &f, &flen) < 0 || kh_rd_str(&r, &f, &flen) < 0 || /* extensions, reserved */
	    kh_rd_str(&r, &c->ca, &c->ca_len) < 0 || kh_rd_str(&r, &f, &flen) < 0 ||
	    r.off != r.n)
		return -1;
	return 0;
}

/*
 * A principal pattern matches `name` (ssh's match_pattern: * and ?, no lists). An empty
 * principal list matches nothing: OpenSSH 10.3 refuses such certificates (CVE-2026-35414);
 * 9.x took them for any host.
 */
static int kh_cert_principal(const struct kh_cert *c, const char *name)
{
	struct kh_rd r = { c->principals, c->principals_len, 0 };
	char pat[SSHMCP_HOST_MAX];
	const unsigned char *s;
	size_t n;

	while (r.off < r.n) {
		if (kh_rd_str(&r, &s, &n) < 0)
			return 0;
		if (n >= sizeof(pat) || memchr(s, '\0', n) != NULL)
			continue;
		memcpy(pat, s, n);
		pat[n] = '\0';
		if (str_glob_case(pat, name, 0))
			return 1;
	}
	return 0;
}

/*
 * What ssh's check_host_cert asks of a certificate whose CA is trusted: a host
 * certificate, valid now, naming the host among its principals, without critical
 * options (host certificates define none). 0, or -1 with ssh's reason in `why`.
 */
static int kh_cert_valid(const struct kh_cert *c, const char *name, char *why, size_t cap)
{
	time_t now = time(NULL);
	const char *bad = NULL;

	if (c->kind != KH_CERT_HOST)
		bad = "Certificate invalid: not a host certificate";
	else if (now < 0 || (uint64_t)now < c->after)
		bad = "Certificate invalid: not yet valid";
	else if ((uint64_t)now >= c->before)
		bad = "Certificate invalid: expired";
	else if (c->principals_len == 0)
		bad = "Certificate lacks principal list";
	else if (!kh_cert_principal(c, name))
		bad = "Certificate invalid: name is not a listed principal";
	else if (c->critical_len != 0)
		bad = "Certificate contains unsupported critical options";
	if (bad == NULL)
		return 0;
	(void)str_fmt(why, cap, "%s", bad);
	return -1;
}

/*
 * The @cert-authority and @revoked lines of one file for this host: KH_REVOKED when the
 * CA key or the certified key is revoked, KH_MATCH when a CA line names the certificate's
 * CA (a line for another CA is no finding: ssh keeps looking), raising `r` as
 * kh_scan_file does.
 */
static void kh_scan_ca(const char *path, const char *name, const struct kh_cert *c,
    struct kh_check *r)
{
	char line[SSHMCP_LINE_MAX * 4];
	unsigned char known[SSHMCP_KEYBLOB_MAX];
	struct kh_line l;
	FILE *f = fopen(path, "r");
	int lineno = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		size_t n;
		enum kh_result found;

		lineno++;
		if (kh_split(line, &l) < 0 || l.marker == NULL || !kh_host_matches(l.hosts, name) ||
		    b64_decode(l.b64, strlen(l.b64), known, sizeof(known), &n) < 0)
			continue;
		if (strcmp(l.marker, "@revoked") == 0 && ((n == c->ca_len &&
		    memcmp(known, c->ca, n) == 0) || (n == c->keylen && memcmp(known, c->key, n) == 0)))
			found = KH_REVOKED;
		else if (strcmp(l.marker, "@cert-authority") == 0 && n == c->ca_len &&
		    memcmp(known, c->ca, n) == 0)
			found = KH_MATCH;
		else
			continue;
		if (found > r->result) {
			r->result = found;
			r->file = r->cur;
			(void)str_fmt(r->where, sizeof(r->where), "%s:%d", path, lineno);
		}
	}
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

/* Add to `out` the algorithms of `list` that match `pattern`, each once. */
static void kh_pref_list(char *out, size_t cap, const char *list, const char *pattern)
{
	const char *p;
	size_t n;

	for (p = list; *p != '\0'; p += n + (p[n] == ',')) {
		char alg[128];

		n = strcspn(p, ",");
		if (n >= sizeof(alg))
			continue;
		memcpy(alg, p, n);
		alg[n] = '\0';
		if (str_glob_case(pattern, alg, 0))
			kh_pref_add(out, cap, list, alg);
	}
}

/*
 * Host key algorithms to offer, the types already recorded for this host first: a host
 * known only by its ECDSA key must not be refused because the server prefers Ed25519.
 */
static int kh_pref_algs(const struct target *t, char *out, size_t cap, struct err *e)
{
	char line[SSHMCP_LINE_MAX * 4], known[SSHMCP_ALGS_MAX] = "";
	char first[SSHMCP_ALGS_MAX] = "";
	struct kh_line l;
	const char *p;
	size_t n;
	int i, ca = 0;

	/* The files, then KnownHostsCommand asked for the ORDER: failing, it fails the
	 * connection, as in ssh. */
	for (i = 0; i <= t->nkh; i++) {
		FILE *f = i < t->nkh ? fopen(t->kh_file[i], "r") : NULL;

		if (i == t->nkh && t->kh_command[0] != '\0' &&
		    (f = kh_command_run(t, "ORDER", NULL, 0, e)) == NULL)
			return -1;
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			if (kh_split(line, &l) < 0 || !kh_host_matches(l.hosts, t->kh_name))
				continue;
			if (l.marker != NULL)
				ca |= strcmp(l.marker, "@cert-authority") == 0;
			else
				kh_pref_add(known, sizeof(known), t->hostkey, l.type);
		}
		if (f != NULL)
			fclose(f);
	}
	/* As ssh's order_hostkeyalgs: a CA line for this host puts every certificate
	 * algorithm first; then the known types, each with its certificates (ssh compares
	 * plain types), then the rest, in the configured order. */
	if (ca)
		kh_pref_list(first, sizeof(first), t->hostkey, "*-cert-v01@openssh.com");
	for (p = known; *p != '\0'; p += n + (p[n] == ',')) {
		char pat[160];              /* a known type's certificates too, as ssh */

		n = strcspn(p, ",");
		if (str_fmt(pat, sizeof(pat), "%.*s-cert-v01@openssh.com", (int)n, p) == 0)
			kh_pref_list(first, sizeof(first), t->hostkey, pat);
	}
	kh_pref_list(first, sizeof(first), known, "*");
	kh_pref_list(first, sizeof(first), t->hostkey, "*");
	(void)str_copy(out, cap, first);
	return 0;
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
	/* A pattern character or a newline here would trust the key for other hosts too. */
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%[]")
	    != strlen(name)) {
		err_set(e, SSHMCP_ERR_HOSTKEY_UNKNOWN, "not recording a key for the name '%.64s': "
		    "it is not a plain host name", name);
		return -1;
	}
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

/*
 * UpdateHostKeys, as ssh does it (clientloop.c, hostfile.c): once authenticated, an
 * OpenSSH server announces all its host keys (hostkeys-00@openssh.com). Set against the
 * user's known_hosts files, keys not recorded for this host are new (the server proves it
 * holds them: hostkeys-prove-00@openssh.com), and recorded keys it no longer offers are
 * obsolete. Then the host's lines are rewritten in the first file and dropped from the
 * others. Nothing is touched where ssh would not: a wildcard or list of more than two names,
 * a @cert-authority/@revoked line for the host, an offered key recorded under another name,
 * an obsolete key recorded under another name.
 */
struct kh_upd_key {
	const unsigned char *blob;   /* into libssh2's copy of the announcement */
	size_t len;
	char type[64];
	int known;                   /* already on one of the host's lines */
	int dropped;                 /* not written: an RSA proof with SHA-1 (as ssh) */
};

struct kh_upd {
	struct kh_upd_key key[SSHMCP_HOSTKEYS_MAX];
	size_t nkeys, nnew;
	unsigned char old[SSHMCP_HOSTKEYS_MAX][32];  /* obsolete keys: SHA-256 of the blob */
	char old_type[SSHMCP_HOSTKEYS_MAX][64];
	size_t nold;
	int complex, other_name, old_elsewhere;
	unsigned char *req;          /* hostkeys-prove: the new keys, as SSH strings */
	size_t reqlen;
};

/* "ED25519", "ECDSA", "RSA": the names ssh's messages give key types. */
static const char *kh_type_label(const char *type)
{
	if (strncmp(type, "ecdsa-", 6) == 0)
		return "ECDSA";
	if (strcmp(type, "ssh-ed25519") == 0)
		return "ED25519";
	if (strcmp(type, "ssh-rsa") == 0)
		return "RSA";
	return type;
}

/* Whether HostKeyAlgorithms (`algs`, "" for our defaults) lets this key type in: for RSA
 * any of its signature algorithms will do, as in ssh's hostkey_accepted_by_hostkeyalgs. */
static int kh_upd_type_ok(const char *type, const char *algs)
{
	static const char *const ours[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa" };
	size_t i;
	int known = 0;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		known |= strcmp(type, ours[i]) == 0;
	if (!known || algs[0] == '\0')
		return known;
	if (strcmp(type, "ssh-rsa") == 0)
		return str_match_list(algs, "rsa-sha2-512") > 0 ||
		    str_match_list(algs, "rsa-sha2-256") > 0 || str_match_list(algs, "ssh-rsa") > 0;
	return str_match_list(algs, type) > 0;
}

/* The index of the offered key equal to blob, or -1. */
static int kh_upd_find(const struct kh_upd *u, const unsigned char *blob, size_t n)
{
	size_t i;

	for (i = 0; i < u->nkeys; i++)
		if (u->key[i].len == n && memcmp(u->key[i].blob, blob, n) == 0)
			return (int)i;
	return -1;
}

/* The announcement (SSH strings, one public key blob each) into u->key: types we cannot
 * use or that HostKeyAlgorithms leaves out are skipped, as are certificates; the same key
 * twice is an error (ssh gives up then). */
static int kh_upd_parse(const unsigned char *p, size_t n, const char *algs, struct kh_upd *u,
    char *why, size_t whycap)
{
	struct kh_rd r = { p, n, 0 };

	memset(u, 0, sizeof(*u));
	while (r.off < r.n) {
		struct kh_upd_key k = { .blob = NULL };

		if (kh_rd_str(&r, &k.blob, &k.len) < 0)
			return str_copy(why, whycap, "the server's host key list is malformed"), -1;
		if (kh_blob_type(k.blob, k.len, k.type, sizeof(k.type)) < 0 ||
		    !kh_upd_type_ok(k.type, algs))
			continue;
		if (kh_upd_find(u, k.blob, k.len) >= 0)
			return str_fmt(why, whycap, "received duplicated %s host key", k.type), -1;
		if (u->nkeys == SSHMCP_HOSTKEYS_MAX)
			return str_fmt(why, whycap, "the server announced more than %d host keys",
			    SSHMCP_HOSTKEYS_MAX), -1;
		u->key[u->nkeys++] = k;
	}
	return 0;
}

/* One known_hosts line, split, its key decoded: 1 if it has a key, 0 if not (a comment,
 * a blank or a malformed line, which stay as they are). `work` is spoilt. */
static int kh_upd_line(char *work, struct kh_line *l, unsigned char *blob, size_t cap,
    size_t *n)
{
	if (kh_split(work, l) < 0 || b64_decode(l->b64, strlen(l->b64), blob, cap, n) < 0)
		return 0;
	return 1;
}

/* ssh's hostspec_is_complex: a wildcard, or more than host,address. */
static int kh_upd_complex(const char *hosts)
{
	const char *c = strchr(hosts, ',');

	return strpbrk(hosts, "*?") != NULL || (c != NULL && strchr(c + 1, ',') != NULL);
}

/* One line while scanning: the host's lines mark offered keys known or record obsolete
 * ones; other lines tell whether a key of ours lives under another name. */
static void kh_upd_scan_line(struct kh_upd *u, const char *name, char *line, int pass)
{
	static unsigned char blob[SSHMCP_KEYBLOB_MAX];
	unsigned char h[32];
	struct kh_line l;
	size_t n, i;
	int k;

	if (!kh_upd_line(line, &l, blob, sizeof(blob), &n))
		return;
	if (!kh_host_matches(l.hosts, name)) {
		if (pass == 0) {
			u->other_name |= kh_upd_find(u, blob, n) >= 0;
			return;
		}
		(void)mbedtls_sha256(blob, n, h, 0);
		for (i = 0; i < u->nold; i++)
			u->old_elsewhere |= memcmp(h, u->old[i], sizeof(h)) == 0;
		return;
	}
	if (pass == 1)
		return;
	if (l.marker != NULL || kh_upd_complex(l.hosts)) {
		u->complex = 1;
		return;
	}
	if ((k = kh_upd_find(u, blob, n)) >= 0) {
		u->key[k].known = 1;
		return;
	}
	if (u->nold < SSHMCP_HOSTKEYS_MAX) {
		(void)mbedtls_sha256(blob, n, u->old[u->nold], 0);
		(void)str_copy(u->old_type[u->nold], sizeof(u->old_type[0]), l.type);
		u->nold++;
	}
}

/* Pass 0 over the user files: known, new and obsolete keys; pass 1 (only when keys are
 * obsolete): are they recorded under other names too? */
static void kh_upd_scan(const struct target *t, struct kh_upd *u)
{
	char *line = NULL;
	size_t cap = 0, i;
	int f, pass;

	for (pass = 0; pass < 2 && (pass == 0 || u->nold > 0); pass++)
		for (f = 0; f < t->nkh_user; f++) {
			FILE *fp = fopen(t->kh_file[f], "r");

			if (fp == NULL)
				continue;
			while (getline(&line, &cap, fp) > 0)
				kh_upd_scan_line(u, t->kh_name, line, pass);
			fclose(fp);
		}
	free(line);
	for (u->nnew = 0, i = 0; i < u->nkeys; i++)
		u->nnew += !u->key[i].known;
}

/* Whether there is anything to do and ssh would do it; `why` says why not. */
static int kh_upd_wanted(const struct kh_upd *u, const char **why)
{
	*why = u->nnew == 0 && u->nold == 0 ? "no new or deprecated keys from server" :
	    u->complex ? "CA/revocation marker, manual host list or wildcard host pattern found" :
	    u->other_name ? "host key found matching a different name/address" :
	    u->old_elsewhere ? "deprecated keys exist under other names" : NULL;
	return *why == NULL;
}

/* "name type base64\n" as kh_append writes it, hashed under HashKnownHosts. */
static int kh_upd_entry(FILE *out, const struct target *t, const struct kh_upd_key *k)
{
	char b64[SSHMCP_KEYBLOB_MAX * 2], name[SSHMCP_HOST_MAX + 64];

	if (b64_encode(k->blob, k->len, b64, sizeof(b64), NULL) < 0 ||
	    (t->hash_kh ? kh_hash_name(t->kh_name, name, sizeof(name)) :
	    str_copy(name, sizeof(name), t->kh_name)) < 0)
		return -1;
	return fprintf(out, "%s %s %s\n", name, k->type, b64) < 0 ? -1 : 0;
}

/* Copy file `f` into `out` without the host's plain lines, keeping (in the first file)
 * those that carry a key still offered; then, in the first file, the offered keys not yet
 * there. Returns the number of lines removed or added, -1 on error. */
static int kh_upd_copy(FILE *in, FILE *out, const struct target *t, struct kh_upd *u, int f,
    const struct log *lg)
{
	static unsigned char blob[SSHMCP_KEYBLOB_MAX];
	char *line = NULL, *work = NULL, fp[64];
	size_t cap = 0, wcap = 0, n, i;
	int present[SSHMCP_HOSTKEYS_MAX] = { 0 }, changed = 0, lineno = 0, bad = 0, k;
	ssize_t len;
	struct kh_line l;

	while (!bad && (len = getline(&line, &cap, in)) > 0) {
		lineno++;
		if ((size_t)len + 1 > wcap) {
			char *w = realloc(work, (size_t)len + 1);

			if ((bad = w == NULL) != 0)
				break;
			work = w, wcap = (size_t)len + 1;
		}
		memcpy(work, line, (size_t)len + 1);
		if (kh_upd_line(work, &l, blob, sizeof(blob), &n) && l.marker == NULL &&
		    kh_host_matches(l.hosts, t->kh_name)) {
			k = f == 0 ? kh_upd_find(u, blob, n) : -1;
			if (k < 0 || u->key[k].dropped) {
				log_msg(lg, LOG_DEBUG1, "%s:%d: Removed %s key for host %s", t->kh_file[f],
				    lineno, kh_type_label(l.type), t->kh_name);
				changed++;
				continue;
			}
			present[k] = 1;
		}
		bad = fwrite(line, 1, (size_t)len, out) != (size_t)len ||
		    (line[len - 1] != '\n' && fputc('\n', out) == EOF);
	}
	free(work);
	free(line);
	if (bad || ferror(in))
		return -1;
	for (i = 0; f == 0 && i < u->nkeys; i++) {
		if (present[i] || u->key[i].dropped)
			continue;
		if (kh_upd_entry(out, t, &u->key[i]) < 0)
			return -1;
		kh_fingerprint(u->key[i].blob, u->key[i].len, fp, sizeof(fp));
		log_msg(lg, LOG_DEBUG1, "Adding new key for %s to %s: %s %s", t->kh_name,
		    t->kh_file[f], u->key[i].type, fp);
		changed++;
	}
	return changed;
}

/* Rewrite user known_hosts file f through a temporary file: the old one stays as
 * FILE.old, as ssh leaves it. A file that does not exist is left alone. */
static int kh_upd_file(const struct target *t, struct kh_upd *u, int f, const struct log *lg)
{
	char tmp[SSHMCP_PATH_MAX + 16], old[SSHMCP_PATH_MAX + 8];
	const char *path = t->kh_file[f];
	FILE *in, *out = NULL;
	int fd = -1, changed = -1;
	mode_t mask;

	if ((in = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (str_fmt(tmp, sizeof(tmp), "%s.XXXXXXXXXX", path) < 0 ||
	    str_fmt(old, sizeof(old), "%s.old", path) < 0)
		goto out;
	mask = umask(077);
	fd = mkstemp(tmp);
	(void)umask(mask);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	changed = kh_upd_copy(in, out, t, u, f, lg);
	if (fclose(out) != 0)
		changed = -1;
	out = NULL;
	if (changed > 0 && ((unlink(old) < 0 && errno != ENOENT) || link(path, old) < 0 ||
	    rename(tmp, path) < 0))
		changed = -1;
	if (changed <= 0)
		(void)unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	fclose(in);
	return changed < 0 ? -1 : 0;
}

/* What ssh logs first (at -v), then each user file rewritten. */
static void kh_upd_apply(const struct target *t, struct kh_upd *u, const struct log *lg)
{
	char fp[64];
	size_t i;
	int f;

	for (i = 0; i < u->nkeys; i++) {
		if (u->key[i].known || u->key[i].dropped)
			continue;
		kh_fingerprint(u->key[i].blob, u->key[i].len, fp, sizeof(fp));
		log_msg(lg, LOG_DEBUG1, "Learned new hostkey: %s %s", kh_type_label(u->key[i].type),
		    fp);
	}
	for (i = 0; i < u->nold; i++) {
		kh_fingerprint_of(u->old[i], fp, sizeof(fp));
		log_msg(lg, LOG_DEBUG1, "Deprecating obsolete hostkey: %s %s",
		    kh_type_label(u->old_type[i]), fp);
	}
	for (f = 0; f < t->nkh_user; f++)
		if (kh_upd_file(t, u, f, lg) < 0)
			log_msg(lg, LOG_ERROR, "hostfile_replace_entries failed for %s: %s",
			    t->kh_file[f], strerror(errno));
}

/* ========================================================== connection === */

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
enum hku_state { HKU_OFF, HKU_WAIT, HKU_PROVE, HKU_DONE };   /* UpdateHostKeys */
enum auth_step { AUTH_LIST, AUTH_CERTS, AUTH_AGENT, AUTH_KEYS, AUTH_PASSWORD, AUTH_KBDINT,
	AUTH_FAILED };
enum open_step { OPEN_CHANNEL, OPEN_AGENT, OPEN_PTY, OPEN_ENV, OPEN_START };
enum close_step { CLOSE_WAIT, CLOSE_CHANNEL, CLOSE_DISCONNECT };

/* One address a name resolved to, as the resolver child sends it (conn_resolve). */
struct conn_addr {
	int family, socktype, protocol;
	socklen_t len;
	struct sockaddr_storage sa;
};

/* The resolver child's answer: getaddrinfo's code and the first addresses. */
struct conn_res {
	int rc;
	int n;
	struct conn_addr a[SSHMCP_RESOLVE_ADDRS];
};

/* One write the pipe delivers whole: the reader never sees half an answer. */
_Static_assert(sizeof(struct conn_res) <= PIPE_BUF, "a resolver answer fits one pipe write");

/* What to run once connected. */
struct job {
	const char *command;        /* NULL: interactive shell */
	int want_pty;
	const char *term;
	int cols, rows;
	int forward_stdin;
	int timeout_s;              /* 0: none */
	int tunnel;                 /* a jump host, or exec -N/-W: stop at READY */
	int subsystem;              /* exec -s: `command` names a subsystem (sftp) */
	int agent;                  /* exec -A: ask for agent forwarding (t.fwd_agent) */
	int hold;                   /* exec -R: stay READY until the forwardings call sess_open */
};

struct sess {
	enum sess_state state;
	int step;                   /* sub-step of the state: auth_step, open_step, close_step */
	struct target t;
	const struct job *job;
	const struct log *log;
	struct log logc;            /* serve: the owner's log with this session's tag */
	struct err err;

	struct conn_res res;        /* where the host resolved to (res_len bytes of it) */
	size_t res_len;
	int resolved;               /* res holds the answer; addr_i: the address being tried */
	int addr_i;
	pid_t res_pid;              /* the resolver child, while it runs */
	int res_fd;                 /* its pipe, polled by the loop */
	int fd;
	int quickack;               /* fd is TCP: reads acknowledged at once (conn_recv) */
	int ack_owed;               /* a full read took data; the ACK goes with the next short one */
	uint64_t rx_reads;          /* reads that took data (fwd_step: news for other channels) */
	short revents;              /* from the last poll, for the connect check */
	LIBSSH2_SESSION *ssh;
	LIBSSH2_CHANNEL *ch;
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *agent_id;
	int ident_i;
	int key_phase;              /* 0: with the key's certificate, 1: the key alone */
	int key_prompted;           /* asked for this key's passphrase already */
	char *key_priv, *key_cert;  /* identity ident_i's files, in memory (auth_key_load) */
	size_t key_privlen, key_certlen;
	int cert_i;                 /* AUTH_CERTS: the CertificateFile being tried */
	int cert_agent;             /* its key is the agent's: cert_id signs through it */
	int cert_key;               /* else the identity file whose key signs it */
	struct libssh2_agent_publickey cert_id;  /* the agent key, the certificate as blob */
	unsigned char *cert_blob;   /* that blob (owned) */

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
	int64_t alive_at;           /* timer: the next keepalive (ServerAliveInterval) */
	int64_t alive_dead;         /* timer: the link is dead if nothing came by then */
	int alive_sent;             /* keepalives sent since the server last said anything */
	int alive_paused;           /* idle under t.alive_kernel: TCP's keepalives watch the link */
	int idle;                   /* a shell with nothing to do (sess_alive_idle) */
	int64_t last_rx;            /* bytes last came from the server */
	int hk_ask;                 /* an unknown host key may be put to the MCP client */
	int hk_asked;               /* the question went out */
	int hk_decision;            /* 1 trust, -1 refuse, 0 no answer yet */
	char hk_question[512];
	enum hku_state hku;         /* UpdateHostKeys: waiting for the keys, for their proof */
	struct kh_upd *upd;         /* its plan, while it runs */
	int64_t hku_deadline;       /* give up on the proof after this */

	struct ring out[2];         /* remote stdout, stderr -> local */
	struct ring in;             /* local stdin -> remote */
	pid_t proxy_pid;            /* ProxyCommand child */
	struct sess *via;           /* ProxyJump: the hop we tunnel through (owned) */
	struct job via_job;
	LIBSSH2_CHANNEL *tun;       /* direct-tcpip on via, carrying our SSH stream */
	int tun_fd;                 /* our end of the socketpair libssh2 reads as its socket */
	int wfd;                    /* ProxyCommand: the pipe libssh2 writes; -1 when fd is both */
	struct ring tun_up, tun_down;   /* socketpair -> channel, channel -> socketpair */
	int in_win_shut, tun_win_shut;  /* the last write of in, tun_up stopped at a closed window */
	int env_i;                  /* OPEN_ENV: the next SetEnv/SendEnv variable */
	LIBSSH2_CHANNEL *agent_new[SSHMCP_AGENT_PENDING];  /* -A: opened by the server, not yet */
	int nagent_new;                                    /* taken by the forwarding section */
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

/* ProxyCommand: /bin/sh runs it with a pipe as its stdin and another as its stdout, as ssh
 * gives them (a program that asks what its stdin is, sshd -i among them, sees what it sees
 * under ssh); we read its stdout as fd and write its stdin as wfd. */
static enum step_rc conn_proxy_command(struct sess *s)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, i;
	pid_t pid = -1;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		err_set(&s->err, SSHMCP_ERR_CONNECT, "ProxyCommand: %s", strerror(errno));
		for (i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return STEP_FAIL;
	}
	if (pid == 0) {
		(void)dup2(out[0], STDIN_FILENO);
		(void)dup2(in[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", s->t.proxy_command, (char *)NULL);
		_exit(127);
	}
	close(in[1]);
	close(out[0]);
	(void)fd_set_flag(in[0], O_NONBLOCK, 1);
	(void)fd_set_flag(out[1], O_NONBLOCK, 1);
	s->fd = in[0];
	s->wfd = out[1];
	s->proxy_pid = pid;
	log_msg(s->log, LOG_DEBUG1, "Executing proxy command: %s", s->t.proxy_command);
	s->state = SESS_HANDSHAKE;
	return STEP_AGAIN;
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

/* LocalCommand (PermitLocalCommand yes): once authenticated, the user's shell runs it here
 * with our stdin, stdout and stderr, and we wait for it, as ssh does; its status is not
 * ours. The names its tokens stand for are checked first, as for ProxyCommand. */
static void conn_local_command(const struct sess *s, const struct cfg_env *env)
{
	char cmd[SSHMCP_LINE_MAX];
	struct cfg_conn_tokens b;
	struct cfg_tokens x = { .v = { NULL } };
	const char *shell = getenv("SHELL");
	struct err e = { .code = SSHMCP_OK };
	pid_t pid;

	cfg_tokens_conn(&s->t, &b, &x);
	if (name_check(s->t.host, s->t.user, &e) < 0 || name_check(s->t.alias, NULL, &e) < 0 ||
	    cfg_expand_x(env, &s->t, s->t.local_command, &x, cmd, sizeof(cmd)) < 0) {
		log_msg(s->log, LOG_ERROR, "LocalCommand: bad %% token or name: %.80s",
		    s->t.local_command);
		return;
	}
	if (shell == NULL || *shell == '\0')
		shell = "/bin/sh";
	log_msg(s->log, LOG_DEBUG1, "Executing %s -c \"%s\"", shell, cmd);
	if ((pid = fork()) < 0) {
		log_msg(s->log, LOG_ERROR, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		execl(shell, shell, "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
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
		s->via->t.env_password = s->t.env_password;
		s->via->t.strict_files = s->t.strict_files;
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

/* A channel write's EAGAIN came from a closed window (not a full socket, not a key
 * exchange under way). */
static int chan_window_shut(LIBSSH2_CHANNEL *ch, ssize_t rc)
{
	return rc == LIBSSH2_ERROR_EAGAIN && libssh2_channel_window_write_ex(ch, NULL) == 0;
}

/* A write that stopped at a closed window is due again: the window is open, and no packet
 * waits half sent. The WINDOW_ADJUST that opened it may have been read by another call
 * (this channel's read, another channel's, a keepalive's), and poll wakes for none of that:
 * the session would sleep with the data in hand while the server waits for it (an -R
 * download stalled so, about once in some hundred windows under load). */
static int chan_write_due(LIBSSH2_SESSION *ssh, LIBSSH2_CHANNEL *ch, int win_shut)
{
	return win_shut && ch != NULL && libssh2_channel_window_write_ex(ch, NULL) > 0 &&
	    !(libssh2_session_block_directions(ssh) & LIBSSH2_SESSION_BLOCK_OUTBOUND);
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
	s->tun_win_shut = 0;
	while (ring_used(&s->tun_up) > 0) {
		const unsigned char *r = ring_rptr(&s->tun_up, &n);

		if ((k = libssh2_channel_write(s->tun, (const char *)r, n)) <= 0) {
			s->tun_win_shut = chan_window_shut(s->tun, k);
			break;
		}
		ring_consume(&s->tun_up, (size_t)k);
	}
	if (libssh2_channel_eof(s->tun) == 1 && ring_used(&s->tun_down) == 0)
		(void)shutdown(s->tun_fd, SHUT_WR);     /* the far end closed: our session sees EOF */
}

/* getaddrinfo's answer, in the form the pipe carries. */
static void conn_res_fill(struct conn_res *r, const struct addrinfo *ai)
{
	for (r->n = 0; ai != NULL && r->n < SSHMCP_RESOLVE_ADDRS; ai = ai->ai_next) {
		struct conn_addr *a = &r->a[r->n];

		if (ai->ai_addrlen > sizeof(a->sa))
			continue;
		*a = (struct conn_addr){ .family = ai->ai_family, .socktype = ai->ai_socktype,
			.protocol = ai->ai_protocol, .len = ai->ai_addrlen };
		memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
		r->n++;
	}
}

/*
 * The resolver child. getaddrinfo may wait seconds on a DNS server, so it runs in a process
 * of its own (no threads: one loop, one state) and the answer comes back in one pipe write.
 * The child takes none of the loop's habits: signals unblocked and default, MCP's stdout
 * and the other sessions' sockets closed, and it dies with its parent.
 */
static void conn_resolve_child(const struct sess *s, int wfd)
{
	struct addrinfo hints = { .ai_family = s->t.family, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct conn_res r = { .rc = 0 };
	sigset_t none;
	char port[8];
	int fd;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(wfd, 3) < 0 || (fd = open("/dev/null", O_RDWR)) < 0)
		_exit(1);
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	if (syscall(SYS_close_range, 4U, ~0U, 0) < 0)
		for (fd = 4; fd < SSHMCP_POLL_FDS_MAX + 64; fd++)
			(void)close(fd);
	(void)str_fmt(port, sizeof(port), "%d", s->t.port);
	r.rc = getaddrinfo(s->t.host, port, &hints, &ai);
	if (r.rc == 0)
		conn_res_fill(&r, ai);
	(void)fd_write_all(3, &r, offsetof(struct conn_res, a) + (size_t)r.n * sizeof(r.a[0]));
	_exit(0);
}

/* A literal address needs no DNS: getaddrinfo answers it at once, here. 0 when it did, -1
 * for a name, -2 for an address of the family AddressFamily (-4, -6) excludes. */
static int conn_resolve_literal(struct sess *s)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai = NULL;
	char port[8];

	(void)str_fmt(port, sizeof(port), "%d", s->t.port);
	if (getaddrinfo(s->t.host, port, &hints, &ai) != 0)
		return -1;
	if (s->t.family != AF_UNSPEC && ai->ai_family != s->t.family) {
		freeaddrinfo(ai);
		return -2;
	}
	conn_res_fill(&s->res, ai);
	freeaddrinfo(ai);
	s->res_len = sizeof(s->res);
	return 0;
}

static enum step_rc conn_resolve_fork(struct sess *s)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		err_set(&s->err, SSHMCP_ERR_RESOLVE, "resolver: pipe: %s", strerror(errno));
		return STEP_FAIL;
	}
	if ((s->res_pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		s->res_pid = 0;
		err_set(&s->err, SSHMCP_ERR_RESOLVE, "resolver: fork: %s", strerror(errno));
		return STEP_FAIL;
	}
	if (s->res_pid == 0)
		conn_resolve_child(s, p[1]);
	close(p[1]);
	(void)fd_set_flag(p[0], O_NONBLOCK, 1);
	s->res_fd = p[0];
	s->res_len = 0;
	log_msg(s->log, LOG_DEBUG2, "resolving %s (child %d)", s->t.host, (int)s->res_pid);
	return STEP_WAIT;
}

/* The child is done with, whatever it got to: its pipe closed, it killed and reaped (a
 * zombie is reaped the same way: kill does nothing to it). */
static void conn_resolve_stop(struct sess *s)
{
	if (s->res_fd >= 0)
		close(s->res_fd);
	s->res_fd = -1;
	if (s->res_pid > 0) {
		(void)kill(s->res_pid, SIGKILL);
		(void)waitpid(s->res_pid, NULL, 0);
	}
	s->res_pid = 0;
}

/* Read what the child wrote: 1 at its end with a whole answer, 0 for more, -1 broken. */
static int conn_resolve_read(struct sess *s)
{
	size_t head = offsetof(struct conn_res, a);
	ssize_t k;

	for (;;) {
		if (s->res_len >= sizeof(s->res))
			return -1;
		k = read(s->res_fd, (char *)&s->res + s->res_len, sizeof(s->res) - s->res_len);
		if (k < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (k == 0)
			break;
		s->res_len += (size_t)k;
	}
	if (s->res_len < head || s->res.n < 0 || s->res.n > SSHMCP_RESOLVE_ADDRS ||
	    s->res_len != head + (size_t)s->res.n * sizeof(s->res.a[0]))
		return -1;
	return 1;
}

/* Resolve the host without blocking the loop; ConnectTimeout bounds the wait. */
static enum step_rc conn_resolve(struct sess *s, int64_t now)
{
	int rc;

	if (s->res_pid == 0 && (rc = conn_resolve_literal(s)) < 0) {
		if (rc == -1)
			return conn_resolve_fork(s);
		err_set(&s->err, SSHMCP_ERR_RESOLVE, "Could not resolve hostname %s: Address family "
		    "for hostname not supported", s->t.host);
		return STEP_FAIL;
	}
	if (s->res_pid != 0 && (rc = conn_resolve_read(s)) <= 0) {
		if (rc == 0 && now < s->deadline)
			return STEP_WAIT;
		conn_resolve_stop(s);
		if (rc == 0)
			err_set(&s->err, SSHMCP_ERR_RESOLVE, "Could not resolve hostname %s: no answer "
			    "within ConnectTimeout (%d s)", s->t.host, s->t.connect_timeout_s);
		else
			err_set(&s->err, SSHMCP_ERR_RESOLVE, "Could not resolve hostname %s: the "
			    "resolver failed", s->t.host);
		return STEP_FAIL;
	}
	conn_resolve_stop(s);
	if (s->res.rc != 0 || s->res.n == 0) {
		err_set(&s->err, SSHMCP_ERR_RESOLVE, "Could not resolve hostname %s: %s", s->t.host,
		    s->res.rc != 0 ? gai_strerror(s->res.rc) : "no address");
		return STEP_FAIL;
	}
	s->resolved = 1;
	s->addr_i = 0;
	s->deadline = now + (int64_t)s->t.connect_timeout_s * 1000;    /* the connect's own */
	return STEP_AGAIN;
}

/* BindInterface: its first address of the family (IPv6: not a link-local one), as ssh's
 * check_ifaddrs picks. */
static int conn_bind_ifaddr(const char *ifname, int family, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct ifaddrs *ifa, *i;
	int rc = -1;

	if (getifaddrs(&ifa) < 0)
		return -1;
	for (i = ifa; rc < 0 && i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		*len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr))
			continue;
		memcpy(ss, i->ifa_addr, *len);
		rc = 0;
	}
	freeifaddrs(ifa);
	return rc;
}

/* BindAddress (before BindInterface, as in ssh): the local address the socket leaves from.
 * Said as ssh says it; -1 fails this address. */
static int conn_bind(struct sess *s, int fd, int family)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int rc;

	if (s->t.bind_address[0] != '\0') {
		if ((rc = getaddrinfo(s->t.bind_address, NULL, &hints, &ai)) != 0) {
			log_msg(s->log, LOG_ERROR, "getaddrinfo: %s: %s", s->t.bind_address,
			    gai_strerror(rc));
			return -1;
		}
		len = ai->ai_addrlen <= sizeof(ss) ? ai->ai_addrlen : 0;
		memcpy(&ss, ai->ai_addr, len);
		freeaddrinfo(ai);
	} else if (s->t.bind_interface[0] != '\0' &&
	    conn_bind_ifaddr(s->t.bind_interface, family, &ss, &len) < 0) {
		log_msg(s->log, LOG_ERROR, "getifaddrs: %s: no suitable addresses",
		    s->t.bind_interface);
		return -1;
	}
	if (len > 0 && bind(fd, (struct sockaddr *)&ss, len) < 0) {
		char host[SSHMCP_HOST_MAX] = "?";

		(void)getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0,
		    NI_NUMERICHOST);
		log_msg(s->log, LOG_ERROR, "bind %s: %s", host, strerror(errno));
		return -1;
	}
	return 0;
}

/* The next address, with a non-blocking connect. */
static enum step_rc conn_start(struct sess *s)
{
	for (; s->addr_i < s->res.n; s->addr_i++) {
		const struct conn_addr *a = &s->res.a[s->addr_i];

		s->fd = socket(a->family, a->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->protocol);
		if (s->fd < 0)
			continue;
		if (conn_bind(s, s->fd, a->family) < 0) {
			close(s->fd);
			s->fd = -1;
			continue;
		}
		if (connect(s->fd, (const struct sockaddr *)&a->sa, a->len) == 0 ||
		    errno == EINPROGRESS)
			return STEP_WAIT;
		err_set(&s->err, SSHMCP_ERR_CONNECT, "connect to host %s port %d: %s", s->t.host,
		    s->t.port, strerror(errno));
		close(s->fd);
		s->fd = -1;
	}
	err_set(&s->err, SSHMCP_ERR_CONNECT, "connect to host %s port %d: failure", s->t.host,
	    s->t.port);
	return STEP_FAIL;
}

/* Serve's own keepalive (no ServerAliveInterval of the user's): the kernel's TCP keepalives
 * watch the link at the same interval and count, waking nobody while the server answers. */
static void conn_alive_kernel(const struct sess *s)
{
	int one = 1, every = s->t.alive_interval_s, count = s->t.alive_count > 0 ?
	    s->t.alive_count : 1;

	(void)setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPIDLE, &every, sizeof(every));
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPINTVL, &every, sizeof(every));
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
}

static enum step_rc conn_connecting(struct sess *s, int64_t now)
{
	int soerr = 0, one = 1;
	socklen_t len = sizeof(soerr);

	if (s->t.jump != NULL || s->via != NULL)
		return conn_jump(s, now);
	if (s->fd < 0 && s->t.proxy_command[0] != '\0')
		return conn_proxy_command(s);
	if (s->fd < 0 && !s->resolved)
		return conn_resolve(s, now);
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
		if (++s->addr_i < s->res.n)
			return STEP_AGAIN;
		err_set(&s->err, SSHMCP_ERR_CONNECT, "connect to host %s port %d: %s", s->t.host,
		    s->t.port, strerror(soerr));
		return STEP_FAIL;
	}
	/* Interactive traffic: small writes must not wait for Nagle. A link that takes TCP's
	 * options (not a jump host's socketpair) also has its reads acknowledged at once. */
	s->quickack = setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
	if (s->t.alive_kernel)
		conn_alive_kernel(s);
	log_msg(s->log, LOG_DEBUG1, "Connection established to %s port %d.", s->t.host, s->t.port);
	s->state = SESS_HANDSHAKE;
	return STEP_AGAIN;
}

static int conn_prefs(struct sess *s)
{
	char hostkey[SSHMCP_ALGS_MAX];

	if (kh_pref_algs(&s->t, hostkey, sizeof(hostkey), &s->err) < 0)
		return -1;
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

/* The principal a host certificate must name: HostKeyAlias, else the HostName. */
static const char *conn_cert_name(const struct target *t)
{
	return t->kh_name[0] == '[' ? t->host : t->kh_name;
}

/*
 * A host certificate, judged as ssh's check_host_key does: revoked (its CA or its key)
 * fails; signed by a CA an @cert-authority line trusts for this host and valid (type,
 * time, principal, options) is accepted. Anything else falls back to the certified key
 * as a plain key (ssh: "No matching CA found. Retry with plain key"), after saying why
 * the certificate was not enough. 0 accepted, -1 failed, 1 not a certificate, 2 fall back.
 */
static int conn_hostcert(struct sess *s, const unsigned char *blob, size_t len,
    struct kh_cert *c, char *why, size_t cap)
{
	struct kh_check r = { .result = KH_NOTFOUND };
	char cafp[64];
	int i, rc = kh_cert_parse(blob, len, c);

	if (rc != 0) {
		if (rc < 0)
			err_set(&s->err, SSHMCP_ERR_HANDSHAKE, "malformed host certificate");
		return rc;
	}
	kh_fingerprint(c->ca, c->ca_len, cafp, sizeof(cafp));
	for (i = 0; i < s->t.nkh; i++)
		kh_scan_ca(s->t.kh_file[i], s->t.kh_name, c, &r);
	/* Not found as [host]:port: ssh looks again under the bare host name ("checking
	 * without port identifier"), where CA lines usually name whole domains. */
	if (r.result == KH_NOTFOUND && s->t.kh_name[0] == '[')
		for (i = 0; i < s->t.nkh; i++)
			kh_scan_ca(s->t.kh_file[i], s->t.host, c, &r);
	if (r.result == KH_REVOKED) {
		err_set(&s->err, SSHMCP_ERR_HOSTKEY, "host certificate for %s (CA %s) is marked as "
		    "revoked in %s: refusing to connect", s->t.kh_name, cafp, r.where);
		return -1;
	}
	if (r.result != KH_MATCH) {
		log_msg(s->log, LOG_DEBUG1, "No matching CA found for %s (CA %s). Retry with plain "
		    "key", s->t.kh_name, cafp);
		return 2;
	}
	if (kh_cert_valid(c, conn_cert_name(&s->t), why, cap) < 0) {
		log_msg(s->log, LOG_ERROR, "%s", why);
		return 2;
	}
	log_msg(s->log, LOG_DEBUG1, "Host '%s' is known and matches the %s host certificate "
	    "(CA %s, %s).", s->t.kh_name, c->type, cafp, r.where);
	return 0;
}

static void conn_hku_arm(struct sess *s, const char *why_not);

/* A key not known as [host]:port may be known under the bare host name: ssh accepts a
 * matching one there (not through HostKeyAlias or KnownHostsCommand; and a changed or
 * revoked one there is not a verdict, only no match). */
static int conn_hostkey_bare(const struct sess *s, const unsigned char *blob, size_t len)
{
	struct kh_check r = { .result = KH_NOTFOUND };
	int i;

	if (s->t.hk_alias || s->t.port == 22)
		return 0;
	for (i = 0; i < s->t.nkh; i++)
		kh_scan_file(s->t.kh_file[i], s->t.host, blob, len, &r);
	return r.result == KH_MATCH;
}

static enum step_rc conn_hostkey_judge(struct sess *s, char *note, size_t notecap)
{
	struct kh_cert cert[1];
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
	switch (conn_hostcert(s, blob, len, cert, note, notecap)) {
	case 0:
		return STEP_AGAIN;
	case -1:
		return STEP_FAIL;
	case 2:                     /* not trusted: its plain key is judged as ssh does */
		blob = cert->key, len = cert->keylen;
		(void)str_copy(ktype, sizeof(ktype), cert->type);
		kh_fingerprint(blob, len, fp, sizeof(fp));
		break;
	}
	for (i = 0; i < s->t.nkh; i++) {
		r.cur = i;
		kh_scan_file(s->t.kh_file[i], s->t.kh_name, blob, len, &r);
	}
	r.cur = -1;
	if (s->t.kh_command[0] != '\0' && kh_scan_command(&s->t, blob, len, &r, &s->err) < 0)
		return STEP_FAIL;
	switch (r.result) {
	case KH_MATCH:
		log_msg(s->log, LOG_DEBUG1, "Host '%s' is known and matches the %s host key (%s).",
		    s->t.kh_name, ktype, r.where);
		conn_hku_arm(s, r.file >= 0 && r.file < s->t.nkh_user ? NULL :
		    r.file < 0 ? "host key found via KnownHostsCommand" :
		    "host key found in GlobalKnownHostsFile");
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
	if (conn_hostkey_bare(s, blob, len)) {
		log_msg(s->log, LOG_DEBUG1, "found matching key w/out port");
		return STEP_AGAIN;
	}
	/* Only where the configuration leaves it to the person: StrictHostKeyChecking yes
	 * means no key is ever added, whoever would agree to it. */
	if (s->t.strict == KH_STRICT_ASK && s->hk_ask) {
		/* serve: the MCP client asks its user (elicitation); we wait for the answer. */
		(void)str_fmt(s->hk_question, sizeof(s->hk_question), "The %s host key of %s is not "
		    "known: %s. Trust it and record it in known_hosts?", ktype, s->t.kh_name, fp);
		s->step = HS_ASK;
		s->deadline = time_ms() + SSHMCP_ELICIT_MS;
		return STEP_WAIT;
	}
	if (s->t.strict == KH_STRICT_YES || s->t.strict == KH_STRICT_ASK) {
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

/*
 * The server said something: the link is alive, so the keepalive timers start again from
 * now. The first keepalive goes after an interval of silence and one more each interval;
 * the link is dead when ServerAliveCountMax of them went unanswered, the last one given
 * SSHMCP_ALIVE_REPLY_MS to come back: at most interval x count + that after the server
 * stopped (libssh2's own clock counts whole seconds and at least 2 of them, hence ours).
 */
static void conn_alive_arm(struct sess *s, int64_t now)
{
	int64_t every = (int64_t)s->t.alive_interval_s * 1000;

	s->last_rx = now;
	s->alive_sent = 0;
	if (every <= 0)
		return;
	s->alive_at = now + every;
	/* ServerAliveCountMax 0: ssh gives up at the first silent interval; one keepalive is
	 * still sent, so an idle server is never cut without being asked. */
	s->alive_dead = now + every * (s->t.alive_count > 0 ? s->t.alive_count : 1) +
	    SSHMCP_ALIVE_REPLY_MS;
}

/*
 * An sshd that runs no terminal leaves Nagle on, and it often writes two small packets in a
 * row (the host keys announcement, then the channel's confirmation): the second waits until
 * the first is acknowledged, and our kernel delays that acknowledgement up to 40 ms, as we
 * have nothing to send. Acknowledging at once took a handshake from 128 to 81 ms. Linux
 * clears the flag by itself, so it is set again whenever a read leaves the socket empty (a
 * short read, or EAGAIN after full ones): that is when we would wait. Not after every read:
 * libssh2 reads the version exchange a byte at a time, and a server's 1 MB preamble cost a
 * million system calls more.
 */
static void conn_quickack(struct sess *s, libssh2_socket_t fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)) < 0)
		s->quickack = 0;
}

/* libssh2's reads go through here so we know when the server last said anything: a link
 * that stays silent through ServerAliveCountMax keepalives is dead. Same contract as
 * libssh2's own: bytes read, or -errno. */
static LIBSSH2_RECV_FUNC(conn_recv)
{
	struct sess *s = *abstract;
	ssize_t n = s->wfd >= 0 ? read(socket, buffer, length) : recv(socket, buffer, length, flags);

	if (n < 0 && errno != EAGAIN)
		log_msg(s->log, LOG_DEBUG1, "recv: %s", strerror(errno));
	if (n < 0) {
		int err = errno == EWOULDBLOCK ? EAGAIN : errno;

		if (err == EAGAIN && s->ack_owed && s->quickack)
			conn_quickack(s, socket);
		s->ack_owed = 0;
		return -err;
	}
	if (n > 0) {
		s->ack_owed = (size_t)n == length;
		if (!s->ack_owed && s->quickack)
			conn_quickack(s, socket);
		conn_alive_arm(s, time_ms());
		s->rx_reads++;
	}
	return n;
}

/* The host key check, with the reason a host certificate was not enough (ssh prints it
 * before "Host key verification failed") added to a failure. */
static enum step_rc conn_hostkey(struct sess *s)
{
	char note[128] = "";
	enum step_rc rc = conn_hostkey_judge(s, note, sizeof(note));
	size_t n = strlen(s->err.msg);

	if (rc == STEP_FAIL && note[0] != '\0')
		(void)str_fmt(s->err.msg + n, sizeof(s->err.msg) - n, " (host certificate not "
		    "accepted: %s)", note);
	return rc;
}

/* ProxyCommand's writes go to its stdin pipe, not to the fd libssh2 reads. */
/* A connection being freed: libssh2 frees its channels by closing them, and a close waits
 * for the server's; on a live link (a ProxyCommand's pipes, which shutdown() cannot end)
 * that is EAGAIN, and libssh2_session_free then returns without freeing anything. So the
 * last calls see the link gone: sends fail, reads fail, nothing waits. */
static LIBSSH2_RECV_FUNC(conn_recv_gone)
{
	(void)socket, (void)buffer, (void)length, (void)flags, (void)abstract;
	return -ECONNRESET;
}

static LIBSSH2_SEND_FUNC(conn_send_gone)
{
	(void)socket, (void)buffer, (void)length, (void)flags, (void)abstract;
	return -EPIPE;
}

static LIBSSH2_SEND_FUNC(conn_send_pipe)
{
	struct sess *s = *abstract;
	ssize_t n = write(s->wfd, buffer, length);

	(void)socket;
	(void)flags;
	if (n < 0)
		return -(errno == EWOULDBLOCK ? EAGAIN : errno);
	return n;
}

/* The client's answer about an unknown host key arrived (or did not, by the deadline). */
static enum step_rc conn_hostkey_answer(struct sess *s, int64_t now)
{
	struct kh_cert cert[1];
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
	if (blob != NULL && kh_cert_parse(blob, len, cert) == 0)
		blob = cert->key, len = cert->keylen;    /* ssh records the certified key */
	if (blob == NULL || kh_blob_type(blob, len, ktype, sizeof(ktype)) < 0 ||
	    kh_append(&s->t, ktype, blob, len, &s->err) < 0)
		return STEP_FAIL;
	log_msg(s->log, LOG_INFO, "host key of %s confirmed by the client and recorded",
	    s->t.kh_name);
	conn_hku_arm(s, NULL);      /* a key the person trusted, as ssh's "yes" */
	return STEP_AGAIN;
}

/* The plan goes once nothing waits for it any more (`force`: the session ends). */
static void conn_hku_free(struct sess *s, int force)
{
	if (s->upd == NULL || (s->hku == HKU_PROVE && !force))
		return;
	free(s->upd->req);
	free(s->upd);
	s->upd = NULL;
}

/* UpdateHostKeys (kh_upd_*) for this connection, unless `why_not` says why ssh would not. */
static void conn_hku_arm(struct sess *s, const char *why_not)
{
	if (s->t.update_hk == KH_UPDATE_ASK && why_not == NULL)
		why_not = "UpdateHostKeys ask: there is no one to ask here";
	if (s->t.update_hk == KH_UPDATE_NO || s->t.nkh_user == 0)
		return;
	if (why_not != NULL) {
		log_msg(s->log, LOG_DEBUG3, "%s; disabling UpdateHostkeys", why_not);
		return;
	}
	s->hku = HKU_WAIT;
}

/* The server's proofs, one signature per new key in order: each must verify with its key
 * over the session; an RSA key proved with SHA-1 is left out, as ssh leaves it. */
static int conn_hku_verify(struct sess *s, const unsigned char *p, size_t n)
{
	const char *kex = libssh2_session_methods(s->ssh, LIBSSH2_METHOD_HOSTKEY);
	int rsa_kex = kex != NULL && (strcmp(kex, "ssh-rsa") == 0 || strncmp(kex, "rsa-sha2-", 9) == 0);
	struct kh_rd r = { p, n, 0 };
	const unsigned char *sig;
	char alg[64];
	size_t i, len;

	for (i = 0; i < s->upd->nkeys; i++) {
		struct kh_upd_key *k = &s->upd->key[i];

		if (k->known)
			continue;
		if (kh_rd_str(&r, &sig, &len) < 0 || kh_blob_type(sig, len, alg, sizeof(alg)) < 0) {
			log_msg(s->log, LOG_ERROR, "server gave unintelligible signature for %s key %zu",
			    kh_type_label(k->type), i);
			return -1;
		}
		if (strcmp(k->type, "ssh-rsa") == 0 && !rsa_kex && strcmp(alg, "rsa-sha2-256") != 0 &&
		    strcmp(alg, "rsa-sha2-512") != 0) {
			log_msg(s->log, LOG_DEBUG1, "server used untrusted RSA signature algorithm %s for "
			    "key %zu, disregarding", alg, i);
			k->dropped = 1;
		} else if (libssh2_session_hostkey_proof_verify(s->ssh, k->blob, k->len, sig, len)) {
			log_msg(s->log, LOG_ERROR, "server gave bad signature for %s key %zu",
			    kh_type_label(k->type), i);
			return -1;
		}
	}
	if (r.off != r.n) {
		log_msg(s->log, LOG_ERROR, "hostkeys-prove: protocol error");
		return -1;
	}
	return 0;
}

/* The announcement has come: which keys are new, which obsolete, and whether to go on. */
static enum hku_state conn_hku_plan(struct sess *s, const unsigned char *ann, size_t n)
{
	struct kh_upd *u;
	char why[128];
	const char *skip;
	size_t i, len = 0;

	if ((u = s->upd = calloc(1, sizeof(*s->upd))) == NULL)
		return HKU_DONE;
	if (kh_upd_parse(ann, n, s->t.hostkey, u, why, sizeof(why)) < 0) {
		log_msg(s->log, LOG_ERROR, "%s", why);
		return HKU_DONE;
	}
	kh_upd_scan(&s->t, u);
	log_msg(s->log, LOG_DEBUG3, "%zu server keys: %zu new, %zu retained. %zu to remove",
	    u->nkeys, u->nnew, u->nkeys - u->nnew, u->nold);
	if (!kh_upd_wanted(u, &skip)) {
		log_msg(s->log, LOG_DEBUG1, "%s%s", skip, u->nnew == 0 && u->nold == 0 ? "" :
		    ", skipping UserKnownHostsFile update");
		return HKU_DONE;
	}
	if (u->nnew == 0) {                     /* only removals: no proof needed */
		kh_upd_apply(&s->t, u, s->log);
		return HKU_DONE;
	}
	for (i = 0; i < u->nkeys; i++)
		len += u->key[i].known ? 0 : 4 + u->key[i].len;
	if ((u->req = malloc(len)) == NULL)
		return HKU_DONE;
	for (i = 0; i < u->nkeys; i++) {
		if (u->key[i].known)
			continue;
		kh_put_u32(u->req + u->reqlen, u->key[i].len);
		memcpy(u->req + u->reqlen + 4, u->key[i].blob, u->key[i].len);
		u->reqlen += 4 + u->key[i].len;
	}
	log_msg(s->log, LOG_DEBUG3, "asking server to prove ownership for %zu keys", u->nnew);
	return HKU_PROVE;
}

/* Once authenticated: wait for the server's host keys, plan, have new keys proved, apply.
 * Whatever goes wrong is logged; the connection goes on, as with ssh. */
static void conn_hku_step(struct sess *s, int64_t now)
{
	const unsigned char *ann;
	unsigned char *reply = NULL;
	size_t n, rlen = 0;
	int rc;

	if (s->hku == HKU_WAIT) {
		if (libssh2_session_hostkeys(s->ssh, &ann, &n) != 1)
			return;
		s->hku = conn_hku_plan(s, ann, n);
		s->hku_deadline = now + SSHMCP_HKU_PROVE_MS;
	}
	if (s->hku == HKU_PROVE) {
		rc = libssh2_session_hostkeys_prove(s->ssh, s->upd->req, s->upd->reqlen, &reply, &rlen);
		if (rc == LIBSSH2_ERROR_EAGAIN && now < s->hku_deadline)
			return;
		if (rc == LIBSSH2_ERROR_REQUEST_DENIED)
			log_msg(s->log, LOG_ERROR, "Server failed to confirm ownership of private host keys");
		else if (rc != 0)
			log_msg(s->log, LOG_DEBUG1, "hostkeys-prove: no answer (%d)", rc);
		else if (conn_hku_verify(s, reply + 1, rlen - 1) == 0)
			kh_upd_apply(&s->t, s->upd, s->log);
		if (reply != NULL)
			libssh2_free(s->ssh, reply);
		s->hku = HKU_DONE;
	}
	conn_hku_free(s, 0);
}

/* ---------------------------------------------------- libssh2's memory --- */

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
 * ASan a cached block is poisoned past its link, so a use after free in libssh2 is still
 * reported; the link stays readable because LeakSanitizer skips pointers held in poisoned
 * memory and would call every block after a list's first one leaked while the session
 * lives (a session still open at exit). */
#if defined(__SANITIZE_ADDRESS__)
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
	CONN_POISON(b + 1, n - sizeof(*b));
}

/* An idle session keeps no packet buffers: what the handshake and the last command left on
 * the lists goes back to malloc (a session's next command fills them again). */
static void conn_heap_trim(struct sess *s)
{
	struct conn_heap *h;
	struct conn_free_blk *b;
	size_t i;

	if (s->ssh == NULL)
		return;
	h = conn_heap_of(s->ssh);
	for (i = 0; i < SSHMCP_HEAP_CLASSES; i++)
		while ((b = h->free[i]) != NULL) {
			CONN_UNPOISON(b, malloc_usable_size(b));
			h->free[i] = b->next;
			free(b);
		}
	h->cached = 0;
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
	const char *cipher, *kex;
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
		if (s->wfd >= 0)
			(void)libssh2_session_callback_set2(s->ssh, LIBSSH2_CALLBACK_SEND,
			    (libssh2_cb_generic *)conn_send_pipe);
		conn_alive_arm(s, now);
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
	kex = libssh2_session_methods(s->ssh, LIBSSH2_METHOD_KEX);
	log_msg(s->log, LOG_DEBUG1, "kex: %s, host key: %s, cipher: %s, mac: %s", kex,
	    libssh2_session_methods(s->ssh, LIBSSH2_METHOD_HOSTKEY), cipher,
	    aead ? "<implicit>" : libssh2_session_methods(s->ssh, LIBSSH2_METHOD_MAC_CS));
	/* OpenSSH 10.1's warning, on the same terms: a warning (-q silences it), and only when
	 * the user left KexAlgorithms alone. */
	if (kex != NULL && strncmp(kex, "mlkem", sizeof "mlkem" - 1) != 0 &&
	    strncmp(kex, "sntrup", sizeof "sntrup" - 1) != 0 &&
	    strcmp(s->t.kex, CFG_DEFAULT_KEX) == 0) {
		log_msg(s->log, LOG_INFO, "** WARNING: connection is not using a post-quantum key "
		    "exchange algorithm.");
		log_msg(s->log, LOG_INFO, "** This session may be vulnerable to \"store now, decrypt "
		    "later\" attacks.");
		log_msg(s->log, LOG_INFO, "** The server may need to be upgraded. See "
		    "https://openssh.com/pq.html");
	}
	if ((hk = conn_hostkey(s)) != STEP_AGAIN)
		return hk;
authenticate:
	/* libssh2's own clock may send whenever we ask, 1 s at least apart (patch 204);
	 * ours decides when (sess_alive). */
	if (s->t.alive_interval_s > 0)
		libssh2_keepalive_config(s->ssh, 1, 1);
	conn_alive_arm(s, now);
	s->state = SESS_AUTH;
	s->step = AUTH_LIST;
	s->deadline = now + (int64_t)s->t.connect_timeout_s * 1000;
	return STEP_AGAIN;
}

/* ------------------------------------------------------ authentication --- */

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
	if (env != NULL && s->t.env_password && str_copy(s->secret, sizeof(s->secret), env) == 0) {
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

/*
 * An OpenSSH-format private key file keeps its public key in clear ("openssh-key-v1",
 * cipher, KDF, its options, the number of keys, then the first public key): ssh reads it
 * there when no .pub lies beside the key (sshkey_load_public). -1 for other formats.
 */
static long auth_priv_pub(const char *text, unsigned char *blob, size_t cap)
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char magic[] = "openssh-key-v1";
	const char *p = strstr(text, begin), *end;
	unsigned char raw[SSHMCP_KEYBLOB_MAX];
	char b64[SSHMCP_KEYBLOB_MAX];       /* the public key is near the start: no more needed */
	struct kh_rd r;
	const unsigned char *f;
	size_t n = 0, got, flen;
	uint32_t nkeys;

	if (p == NULL || (end = strstr(p, "-----END")) == NULL)
		return -1;
	for (p += sizeof(begin) - 1; p < end && n < sizeof(b64); p++)
		if (!isspace((unsigned char)*p))
			b64[n++] = *p;
	if (p < end)
		n -= n % 4;                     /* cut whole groups: the part read decodes alone */
	if (b64_decode(b64, n, raw, sizeof(raw), &got) < 0 || got < sizeof(magic) ||
	    memcmp(raw, magic, sizeof(magic)) != 0)
		return -1;
	r = (struct kh_rd){ raw + sizeof(magic), got - sizeof(magic), 0 };
	if (kh_rd_str(&r, &f, &flen) < 0 || kh_rd_str(&r, &f, &flen) < 0 ||
	    kh_rd_str(&r, &f, &flen) < 0 || kh_rd_u32(&r, &nkeys) < 0 || nkeys < 1 ||
	    kh_rd_str(&r, &f, &flen) < 0 || flen > cap)
		return -1;
	memcpy(blob, f, flen);
	return (long)flen;
}

/* The public blob of an identity: its .pub, else the one its private key file carries in
 * clear (for IdentitiesOnly filtering of agent keys, and to find a certificate's key). */
static long auth_pub_blob(const struct sess *s, const char *priv, unsigned char *blob,
    size_t cap)
{
	char path[SSHMCP_PATH_MAX], why[64], *text, *p, *b64;
	size_t got, len;
	long n = -1;

	if (str_fmt(path, sizeof(path), "%s.pub", priv) < 0 ||
	    kh_file_read(path, s->t.strict_files, &text, &len, why, sizeof(why)) < 0) {
		if (kh_file_read(priv, s->t.strict_files, &text, &len, why, sizeof(why)) < 0)
			return -1;
		n = auth_priv_pub(text, blob, cap);
		kh_file_free(&text, len);
		return n;
	}
	if ((p = strchr(text, ' ')) != NULL) {
		b64 = p + 1;
		b64[strcspn(b64, " \r\n")] = '\0';
		if (b64_decode(b64, strlen(b64), blob, cap, &got) == 0)
			n = (long)got;
	}
	kh_file_free(&text, len);
	return n;
}

static int auth_agent_allowed(const struct sess *s, const struct libssh2_agent_publickey *id)
{
	unsigned char blob[SSHMCP_KEYBLOB_MAX];
	int i;

	if (!s->t.identities_only)
		return 1;
	for (i = 0; i < s->t.nident; i++) {
		long n = auth_pub_blob(s, s->t.ident[i], blob, sizeof(blob));

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

static void auth_key_drop(struct sess *s)
{
	kh_file_free(&s->key_priv, s->key_privlen);
	kh_file_free(&s->key_cert, s->key_certlen);
	free(s->cert_blob);
	s->cert_blob = NULL;
}

static void auth_key_next(struct sess *s)
{
	auth_key_drop(s);
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

/* The files of identity ident_i, read into memory once for all its tries: the key, and its
 * certificate KEY-cert.pub beside it, unless CertificateFile is given (ssh then reads none:
 * those certificates were tried first, auth_certs). */
static int auth_key_load(struct sess *s, const char *priv)
{
	char cert[SSHMCP_PATH_MAX + 16], why[64];

	if (s->key_priv != NULL)
		return 0;
	if (kh_file_read(priv, s->t.strict_files, &s->key_priv, &s->key_privlen, why,
	    sizeof(why)) < 0) {
		if (s->t.ident_explicit)
			log_msg(s->log, LOG_INFO, "Warning: Identity file %s not accessible: %s.", priv,
			    why);
		if (s->t.ident_explicit && s->keynote[0] == '\0' && strcmp(why, strerror(ENOENT)) != 0)
			(void)str_fmt(s->keynote, sizeof(s->keynote), "; could not read %s: %s", priv,
			    why);
		return -1;
	}
	if (s->t.ncert > 0 || str_fmt(cert, sizeof(cert), "%s-cert.pub", priv) < 0 ||
	    kh_file_read(cert, s->t.strict_files, &s->key_cert, &s->key_certlen, why,
	    sizeof(why)) < 0)
		s->key_phase = 1;
	return 0;
}

/*
 * The key of CertificateFile cert_i, found as ssh's sign_and_send_pubkey finds it: an
 * identity file whose public key is the certified one (the file is read now, cert text
 * and key, for every try of it), else an agent key (IdentitiesOnly: one of the identity
 * files'). 0 ready, -1 skip this certificate (not a user certificate, or its key nowhere).
 */
static int auth_cert_prepare(struct sess *s)
{
	unsigned char blob[SSHMCP_KEYBLOB_MAX], pub[SSHMCP_KEYBLOB_MAX];
	struct kh_cert c[1];
	struct libssh2_agent_publickey *id = NULL;
	const char *path = s->t.cert[s->cert_i];
	char why[64], *b64;
	size_t n = 0;
	int i;

	if (kh_file_read(path, s->t.strict_files, &s->key_cert, &s->key_certlen, why,
	    sizeof(why)) < 0 || (b64 = strchr(s->key_cert, ' ')) == NULL ||
	    b64_decode(b64 + 1, strcspn(b64 + 1, " \r\n"), blob, sizeof(blob), &n) < 0 ||
	    kh_cert_parse(blob, n, c) != 0 || c->kind != KH_CERT_USER) {
		log_msg(s->log, LOG_DEBUG1, "certificate %s: not a user certificate", path);
		return -1;
	}
	for (i = 0; i < s->t.nident; i++) {
		long k = auth_pub_blob(s, s->t.ident[i], pub, sizeof(pub));

		if (k > 0 && (size_t)k == c->keylen && memcmp(pub, c->key, c->keylen) == 0 &&
		    kh_file_read(s->t.ident[i], s->t.strict_files, &s->key_priv, &s->key_privlen,
		    why, sizeof(why)) == 0) {
			log_msg(s->log, LOG_DEBUG1, "certificate %s: signed with %s", path,
			    s->t.ident[i]);
			s->cert_key = i;
			return 0;
		}
	}
	if (s->t.agent[0] != '\0' && (s->agent = libssh2_agent_init(s->ssh)) != NULL) {
		libssh2_agent_set_identity_path(s->agent, s->t.agent);
		if (libssh2_agent_connect(s->agent) == 0 &&
		    libssh2_agent_list_identities(s->agent) == 0)
			while (libssh2_agent_get_identity(s->agent, &id, id) == 0)
				if (id->blob_len == c->keylen && memcmp(id->blob, c->key, c->keylen) == 0 &&
				    auth_agent_allowed(s, id))
					break;
	}
	if (id == NULL || (s->cert_blob = malloc(n)) == NULL) {
		auth_agent_close(s);
		log_msg(s->log, LOG_DEBUG1, "certificate %s: no private key for it", path);
		return -1;
	}
	memcpy(s->cert_blob, blob, n);
	s->cert_id = *id;
	s->cert_id.blob = s->cert_blob, s->cert_id.blob_len = n;
	s->cert_agent = 1;
	log_msg(s->log, LOG_DEBUG1, "certificate %s: signed by the agent's key", path);
	return 0;
}

static void auth_cert_next(struct sess *s)
{
	auth_key_drop(s);
	auth_agent_close(s);
	if (s->key_prompted)            /* typed for that key; a tool's passphrase stays */
		mem_wipe(s->passphrase, sizeof(s->passphrase));
	s->key_prompted = 0;
	s->cert_agent = 0;
	s->cert_i++;
}

/*
 * CertificateFile certificates come first, in their order (ssh's pubkey_prepare puts them
 * before the agent's keys and the identity files); the server sees the certificate, its
 * key signs. An encrypted key's passphrase is asked for as auth_keys asks it.
 */
static enum step_rc auth_certs(struct sess *s, int *done)
{
	*done = 0;
	if (!s->t.try_pubkey || !strstr(s->authlist, "publickey"))
		return STEP_AGAIN;
	while (s->cert_i < s->t.ncert) {
		const char *pass = s->passphrase[0] != '\0' ? s->passphrase :
			getenv("SSHMCP_PASSPHRASE");
		int rc;

		if (s->key_cert == NULL && auth_cert_prepare(s) < 0) {
			auth_cert_next(s);
			continue;
		}
		tried_add(s, "publickey");
		rc = s->cert_agent ? libssh2_agent_userauth(s->agent, s->t.user, &s->cert_id) :
			libssh2_userauth_publickey_frommemory(s->ssh, s->t.user, strlen(s->t.user),
			s->key_cert, s->key_certlen, s->key_priv, s->key_privlen, pass);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return STEP_WAIT;
		if (!s->cert_agent && (rc == LIBSSH2_ERROR_FILE ||
		    rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED) &&
		    auth_key_prompt(s, s->t.ident[s->cert_key]))
			continue;                   /* the same certificate, with the passphrase */
		log_msg(s->log, LOG_DEBUG1, "certificate %s: %s (%d)", s->t.cert[s->cert_i],
		    rc == 0 ? "accepted" : "refused", rc);
		auth_cert_next(s);
		if (rc == 0) {
			*done = 1;
			return STEP_AGAIN;
		}
	}
	return STEP_AGAIN;
}

/*
 * Identity files, each tried first with its certificate (the server sees the certificate,
 * the key signs) and then alone. No .pub is read: the public key is derived from the
 * private one, so a missing or stale .pub beside the key never matters. Keys are parsed
 * from memory (auth_key_load), never opened by libssh2.
 */
static enum step_rc auth_keys(struct sess *s, int *done)
{
	*done = 0;
	if (!s->t.try_pubkey || !strstr(s->authlist, "publickey"))
		return STEP_AGAIN;
	while (s->ident_i < s->t.nident) {
		const char *priv = s->t.ident[s->ident_i];
		const char *pass = s->passphrase[0] != '\0' ? s->passphrase :
			getenv("SSHMCP_PASSPHRASE");
		int rc, loadfail;

		if (auth_key_load(s, priv) < 0) {
			auth_key_next(s);
			continue;
		}
		tried_add(s, "publickey");
		rc = libssh2_userauth_publickey_frommemory(s->ssh, s->t.user, strlen(s->t.user),
		    s->key_phase == 0 ? s->key_cert : NULL, s->key_phase == 0 ? s->key_certlen : 0,
		    s->key_priv, s->key_privlen, pass);
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

/* The server's pre-auth banner on stderr, as ssh shows it (-q hides it): whole, however
 * long, in pieces; control bytes escaped as OpenSSH does, so a hostile server cannot drive
 * the user's terminal (CRLF line ends become LF). */
static void auth_banner(const struct sess *s)
{
	char *banner = NULL, clean[4 * SSHMCP_BANNER_PIECE + 1];
	size_t i = 0, n, k;

	if (s->log->quiet || libssh2_userauth_banner(s->ssh, &banner) != 0 || banner == NULL)
		return;
	n = strlen(banner);
	while (i < n) {
		k = n - i < SSHMCP_BANNER_PIECE ? n - i : SSHMCP_BANNER_PIECE;
		if (banner[i] == '\r' && i + 1 < n && banner[i + 1] == '\n') {
			i++;
			continue;
		}
		k = strcspn(banner + i, "\r") < k ? strcspn(banner + i, "\r") : k;
		if (k == SSHMCP_BANNER_PIECE && json_utf8_valid_prefix(banner + i, k) > 0)
			k = json_utf8_valid_prefix(banner + i, k);  /* whole characters a piece */
		k = k == 0 ? 1 : k;             /* a lone CR: escaped on its own */
		(void)fd_write_all(STDERR_FILENO, clean, str_vis(banner + i, k, clean,
		    sizeof(clean), 1));
		i += k;
	}
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
	case AUTH_CERTS: rc = auth_certs(s, &done); break;
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
		s->state = s->job->tunnel || s->job->hold ? SESS_READY : SESS_OPENING;
		s->step = OPEN_CHANNEL;
	} else
		s->step++;
	return STEP_AGAIN;
}

/* ------------------------------------------------- channel and session --- */

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

/* The server opened an auth-agent@openssh.com channel and libssh2 confirmed it: it waits
 * here for the forwarding section (fwd_agent) to connect it to the local agent. */
static LIBSSH2_AUTHAGENT_FUNC(sess_agent_open)
{
	struct sess *s = *abstract;

	(void)session;
	if (s->nagent_new < SSHMCP_AGENT_PENDING) {
		s->agent_new[s->nagent_new++] = channel;
		return;
	}
	log_msg(s->log, LOG_INFO, "agent forwarding: too many agent channels at once");
	(void)libssh2_channel_free(channel);
}

/* ssh sends auth-agent-req@openssh.com before the PTY and wants no reply; libssh2 wants one,
 * and a refusal (sshd's AllowAgentForwarding no) is no error, as with ssh. */
static enum step_rc sess_agent_req(struct sess *s)
{
	int rc;

	(void)libssh2_session_callback_set2(s->ssh, LIBSSH2_CALLBACK_AUTHAGENT,
	    (libssh2_cb_generic *)sess_agent_open);
	rc = libssh2_channel_request_auth_agent(s->ch);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return STEP_WAIT;
	log_msg(s->log, LOG_DEBUG1, "Requesting authentication agent forwarding: %s",
	    rc == 0 ? "accepted" : "refused");
	s->step = s->job->want_pty ? OPEN_PTY : OPEN_ENV;
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
		s->step = j->agent ? OPEN_AGENT : j->want_pty ? OPEN_PTY : OPEN_ENV;
		return STEP_AGAIN;
	case OPEN_AGENT:
		return sess_agent_req(s);
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
			libssh2_channel_process_startup(s->ch, j->subsystem ? "subsystem" : "exec",
			j->subsystem ? 9 : 4, j->command, (unsigned)strlen(j->command)) :
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
	s->in_win_shut = 0;
	while (ring_used(&s->in) > 0) {
		size_t n;
		const unsigned char *p = ring_rptr(&s->in, &n);
		ssize_t w = libssh2_channel_write_ex(s->ch, 0, (const char *)p, n);

		if (w == LIBSSH2_ERROR_EAGAIN) {
			s->in_win_shut = chan_window_shut(s->ch, w);
			return 0;
		}
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

/* The layer above ends the connection (a shell that never answered its setup, a command
 * that ignored Ctrl-C): it asks, the session closes on its own next step. Only these two
 * write the state from outside this section. */
static void sess_close(struct sess *s)
{
	conn_resolve_stop(s);               /* a name still resolving: its child goes now */
	s->state = SESS_DEAD;
}

static void sess_abort(struct sess *s, enum sshmcp_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sess_abort(struct sess *s, enum sshmcp_err code, const char *fmt, ...)
{
	char msg[SSHMCP_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(&s->err, code, "%s", msg);       /* the first reason stays */
	sess_close(s);
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

/* ServerAliveInterval: a keepalive that wants a reply each interval of silence; when
 * ServerAliveCountMax of them go unanswered the link is dead (a stalled server, a cable
 * pulled) — say so, don't hang. The timers are armed by conn_alive_arm and here. */
static int sess_alive(struct sess *s, int64_t now)
{
	int rc;

	if (s->t.alive_interval_s <= 0 || s->alive_paused)
		return 0;
	if (now >= s->alive_dead && s->alive_sent > 0 && s->alive_sent >= s->t.alive_count) {
		err_set(&s->err, SSHMCP_ERR_SESSION_LOST, "no answer from %s for %lld ms (%d "
		    "keepalives unanswered): the connection is dead", s->t.host,
		    (long long)(now - s->last_rx), s->alive_sent);
		return -1;
	}
	if (now < s->alive_at)
		return 0;
	if ((rc = libssh2_keepalive_send(s->ssh, NULL)) < 0 && rc != LIBSSH2_ERROR_EAGAIN) {
		(void)sess_fail(s, SSHMCP_ERR_SESSION_LOST, "connection lost");
		return -1;
	}
	s->alive_sent++;
	s->alive_at = now + (int64_t)s->t.alive_interval_s * 1000;
	if (s->alive_dead < s->alive_at && s->alive_sent >= s->t.alive_count)
		s->alive_at = s->alive_dead;        /* no more keepalives: the verdict is next */
	return 0;
}

/*
 * Serve's own keepalive (t.alive_kernel) while the session has nothing to do: the kernel's TCP
 * keepalives watch the link and SSH's pause, so idle sessions cost no wakeups (with SSH's,
 * 1,000 idle sessions woke the loop 3 times a second, each a ppoll over all of them). Work
 * brings SSH's back, from a fresh interval: they also catch a server hung on a live link.
 */
static void sess_alive_idle(struct sess *s, int idle, int64_t now)
{
	if (s->idle == idle)
		return;
	s->idle = idle;
	if (idle)
		conn_heap_trim(s);
	if (!s->t.alive_kernel)
		return;
	s->alive_paused = idle;
	if (!idle)
		conn_alive_arm(s, now);
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
		if (s->hku == HKU_PROVE)        /* ssh's known_hosts is updated before it ends too */
			conn_hku_step(s, now);
		if (s->hku == HKU_PROVE)
			return STEP_WAIT;
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

/* A session held at READY (job->hold) goes on to open its channel and run its command. */
static void sess_open(struct sess *s)
{
	if (s->state != SESS_READY)
		return;
	s->state = SESS_OPENING;
	s->step = OPEN_CHANNEL;
}

static int sess_init(struct sess *s, const struct job *j, const struct log *lg, size_t in_cap,
    int64_t now)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->wfd = -1;
	s->tun_fd = -1;
	s->res_fd = -1;
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
	if (s->ssh != NULL) {
		(void)libssh2_session_callback_set2(s->ssh, LIBSSH2_CALLBACK_RECV,
		    (libssh2_cb_generic *)conn_recv_gone);
		(void)libssh2_session_callback_set2(s->ssh, LIBSSH2_CALLBACK_SEND,
		    (libssh2_cb_generic *)conn_send_gone);
	}
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
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = -1;
	conn_resolve_stop(s);
	mem_wipe(s->secret, sizeof(s->secret));
	mem_wipe(s->passphrase, sizeof(s->passphrase));
	auth_key_drop(s);
	conn_hku_free(s, 1);
	ring_free(&s->out[0]);
	ring_free(&s->out[1]);
	ring_free(&s->in);
	target_free(&s->t);
	s->ch = NULL, s->ssh = NULL, s->fd = -1;
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
		if (s->state >= SESS_OPENING && (s->have_secret || s->passphrase[0] != '\0' ||
		    s->key_priv != NULL)) {
			mem_wipe(s->secret, sizeof(s->secret));
			mem_wipe(s->passphrase, sizeof(s->passphrase));
			auth_key_drop(s);
			s->have_secret = 0;
		}
	}
	if ((s->hku == HKU_WAIT || s->hku == HKU_PROVE) && s->state > SESS_AUTH &&
	    s->state < SESS_DONE)
		conn_hku_step(s, now);
	conn_pump(s);
	s->revents = 0;
	if (rc == STEP_FAIL) {
		if (s->err.code == SSHMCP_OK)
			err_set(&s->err, SSHMCP_ERR_INTERNAL, "session failed");
		conn_resolve_stop(s);
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
	if (s->hku == HKU_PROVE && s->state < SESS_DONE && s->hku_deadline < d)
		d = s->hku_deadline;
	if ((s->state == SESS_RUNNING || s->state == SESS_READY) && s->t.alive_interval_s > 0 &&
	    !s->alive_paused) {
		if (s->alive_at < d)
			d = s->alive_at;
		if (s->alive_dead < d)
			d = s->alive_dead;
	}
	/* Data libssh2 already took off the socket (while serving another channel) waits in
	 * its queue, and poll would not wake for it: don't sleep then. */
	if (s->state == SESS_RUNNING && s->ch != NULL && ring_space(&s->out[0]) > 0) {
		unsigned long avail = 0;

		(void)libssh2_channel_window_read_ex(s->ch, &avail, NULL);
		if (avail > 0)
			d = 0;
	}
	if ((s->state == SESS_RUNNING && chan_write_due(s->ssh, s->ch, s->in_win_shut)) ||
	    (s->via != NULL && chan_write_due(s->via->ssh, s->tun, s->tun_win_shut)))
		d = 0;
	return d;
}

/* ================================================== prompts and output === */

/*
 * A PTY shell's output is a terminal stream: CRLF line ends, colour and cursor escapes,
 * prompts. `filt_` turns it into plain text; `prompt_` recognises questions that wait for the
 * user, REPL prompts and shell prompts on the last (unterminated) line.
 */
/* Escape sequences, as a terminal parses them (ECMA-48, xterm): ESC [ ... final (CSI),
 * ESC ] / P / _ / ^ / X ... ST or BEL (OSC, DCS, APC, PM, SOS: strings), ESC ( B etc. */
enum filt_state { FILT_TEXT, FILT_ESC, FILT_CSI, FILT_STR, FILT_STR_ESC, FILT_ESC_INTER };

/*
 * Device CLIs draw on the last line: a pager is erased with CR, BS, ESC[K or ESC[nD, and
 * the text goes on where it was. In device mode (dev) the filter keeps those as tokens for
 * the line model (dev_put): '\r' a lone CR, '\b' a BS, FILT_TOK_EL erase to end of line,
 * FILT_TOK_LEFT n cursor n left; and it counts the terminal queries to answer.
 */
#define FILT_TOK_EL   0x0b
#define FILT_TOK_LEFT 0x0e
#define FILT_CAN      0x18      /* cancels any sequence or string: our prompt starts with it */
#define FILT_SUB      0x1a
/* A string (a title, a DCS payload) longer than this was never meant to end: text again. */
#define FILT_STR_MAX  4096
/* The most filt_run adds to its input: a held CR and a held 0xC2 lead byte. */
#define FILT_EXTRA    2

struct filt {
	enum filt_state st;
	int cr;                     /* a CR waits: CRLF -> LF, a lone CR stays '\r' */
	int c2;                     /* a 0xC2 waits: U+0080..U+009F (C1 controls) are dropped */
	int dev;                    /* keep cursor motion as tokens */
	unsigned csi_n;             /* the first CSI parameter */
	int csi_priv;               /* ESC [ ? ...: a private sequence */
	size_t strlen;              /* bytes of the string so far */
	int cpr, da;                /* ESC[6n, ESC[c seen: the device waits for an answer */
	int takes;                  /* a sequence that takes the screen went by (filt_takes) */
	int sc;                     /* the cursor is saved (ESC 7, CSI s), not yet restored */
	int sc_away;                /* ... and then addressed: a status line is being drawn (its
	                             * text is no output: filt_bar) */
	size_t sc_n;                /* text bytes dropped since */
	size_t sc_drop;             /* ... and since the engine last looked (shell_feed) */
};

/* The sequences by which a program takes the screen, as the screen model counts them
 * (scr.takes): the alternate screen (?1049h, ?1047h, ?47h), CUP/HVP, VPA, DECSTBM. A
 * session's screen grid is allocated when the first one comes (shell_feed). */
static void filt_takes(struct filt *f, unsigned char fin)
{
	unsigned n = f->csi_n % 100000;

	if (f->csi_priv ? fin == 'h' && (n == 1049 || n == 1047 || n == 47) :
	    strchr("Hfdr", fin) != NULL)
		f->takes = 1;
	if (!f->csi_priv && f->csi_n == 0 && (fin == 's' || fin == 'u'))
		f->sc = fin == 's', f->sc_away = 0;
	else if (!f->csi_priv && f->sc && strchr("Hfd", fin) != NULL)
		f->sc_away = 1, f->sc_n = 0;
}

/*
 * Text drawn between a save of the cursor and its restore, after the cursor was addressed
 * in between, is a status line (apt's "Progress: [ 20%] [####...]" on the last row,
 * apt-pkg/install-progress.cc DrawStatusLine: ESC 7, CSI rows;0 f, the bar, ESC 8): each
 * repaint would land in the middle of the output's next line. It is dropped; a newline or
 * FILT_STR_MAX bytes end the drop, so a program that never restores loses one line at most.
 * Returns 1 when c is dropped.
 */
static int filt_bar(struct filt *f, unsigned char c)
{
	if (!f->sc_away || f->dev)
		return 0;
	if (c == '\n' || ++f->sc_n > FILT_STR_MAX) {
		f->sc_away = 0;
		return 0;
	}
	f->sc_drop++;
	return 1;
}

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
	if (!f->dev) {
		/* A shell's last line is edited too (shell_emit_out): CR and ESC[K, as rich (pip)
		 * repaints a bar and slang (whiptail) cleans up at exit, leave no stale text. */
		if (fin != 'K' || (n != 0 && n != 2) || f->sc_away)
			return 0;
		if (f->cr || n == 2)
			out[o++] = '\r';
		f->cr = 0;
		out[o++] = FILT_TOK_EL;
		return o;
	}
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

/* The byte after ESC: which sequence or string starts. */
static enum filt_state filt_esc_next(struct filt *f, unsigned char c)
{
	f->csi_n = 0;
	f->csi_priv = 0;
	f->strlen = 0;
	if (c == '7' || c == '8') {
		f->sc = c == '7';           /* DECSC, DECRC */
		f->sc_away = 0;
	}
	if (c == '[')
		return FILT_CSI;
	if (c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X')
		return FILT_STR;
	if (c == 0x1b)
		return FILT_ESC;
	return c >= 0x20 && c <= 0x2f ? FILT_ESC_INTER : FILT_TEXT;
}

/* Inside a sequence: returns 1 when c was consumed by it, 0 when c is text again. CAN and
 * SUB end any sequence or string, as on a VT100: our prompt starts with CAN, so a program
 * that leaves an OSC or a lone ESC open cannot hide the end of its command. */
static int filt_seq(struct filt *f, unsigned char c, unsigned char *out, size_t *o)
{
	if (c == FILT_CAN || c == FILT_SUB) {
		f->st = FILT_TEXT;
		return 1;
	}
	switch (f->st) {
	case FILT_ESC:
		f->st = filt_esc_next(f, c);
		return 1;
	case FILT_CSI:                      /* ESC [ params final(0x40-0x7e) */
		if (c == 0x1b)
			f->st = FILT_ESC;
		else if (c >= '0' && c <= '9' && f->csi_n < 10000)
			f->csi_n = f->csi_n * 10 + (unsigned)(c - '0');
		else if (c == ';')
			f->csi_n += 100000;         /* past the first parameter */
		else if (c == '?' || c == '>' || c == '=')
			f->csi_priv = 1;
		else if (c >= 0x40 && c <= 0x7e) {
			f->st = FILT_TEXT;
			filt_takes(f, c);
			if (f->csi_n < 100000)
				*o += filt_csi(f, c, out + *o);
		}
		return 1;
	case FILT_STR:                      /* ... BEL or ST */
		f->st = c == 0x07 ? FILT_TEXT : c == 0x1b ? FILT_STR_ESC :
			++f->strlen > FILT_STR_MAX ? FILT_TEXT : FILT_STR;
		return 1;
	case FILT_STR_ESC:                  /* ESC \ ends it; ESC anything else starts anew */
		f->st = c == '\\' ? FILT_TEXT : filt_esc_next(f, c);
		return 1;
	case FILT_ESC_INTER:                /* ESC ( B and friends */
		if (c == 0x1b || (c >= 0x30 && c <= 0x7e))
			f->st = c == 0x1b ? FILT_ESC : FILT_TEXT;
		return 1;
	case FILT_TEXT:
		break;
	}
	return 0;
}

/* Text bytes: CR handling, and every control character a reader would not want dropped
 * (C0 but tab and newline, DEL, C1 in its UTF-8 form; BS survives only for the device
 * line model, which applies it). */
static void filt_text(struct filt *f, unsigned char c, unsigned char *out, size_t *o)
{
	if (f->c2) {
		f->c2 = 0;
		if (c >= 0x80 && c <= 0x9f)
			return;                 /* U+0080..U+009F: C1 controls, CSI among them */
		if (c >= 0xa0 && c <= 0xbf) {
			out[(*o)++] = 0xc2;
			out[(*o)++] = c;
			return;
		}
		/* A lone lead byte is dropped: kept, it could meet a 0x80..0x9F that follows
		 * whatever is dropped next and make the C1 control this removes. */
	}
	if (filt_bar(f, c))
		return;
	if (c == '\r') {
		f->cr = 1;
		return;
	}
	if (f->cr && c != '\n')
		out[(*o)++] = '\r';        /* the line models overwrite (dev_put, shell_emit_out) */
	f->cr = 0;
	if (c == 0xc2) {
		f->c2 = 1;
		return;
	}
	if (c == '\n' || c == '\t' || (c == '\b' && f->dev) || (c >= 0x20 && c != 0x7f))
		out[(*o)++] = c;
}

/* Filter n bytes into out (room for n + FILT_EXTRA: a held CR or 0xC2 comes out late). */
static size_t filt_run(struct filt *f, const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = in[i];

		if (f->st != FILT_TEXT && filt_seq(f, c, out, &o))
			continue;
		if (c == 0x1b) {
			f->c2 = 0;                  /* a lead byte cut off by ESC: invalid, dropped */
			f->st = FILT_ESC;
			continue;
		}
		filt_text(f, c, out, &o);
	}
	return o;
}

/*
 * Secrets a session was given (passwords, the sudo and enable passwords, secret input) are
 * blanked wherever their bytes appear in its output, before output is stored: a program
 * that echoes what it reads (cat, a script's read) must not hand one back. A tail that
 * may be the start of a secret waits for the next bytes (or the next quiet spell). Only
 * secrets of SSHMCP_MASK_MIN bytes or more: blanking one letter would blank the output.
 */
struct mask {
	char *sec[SSHMCP_MASK_MAX];
	size_t len[SSHMCP_MASK_MAX];
	int n;
	char tag[24];                   /* sudo's prompt nonce: becomes MASK_TAG, see below */
	size_t ntag;
	unsigned char first[256];       /* bytes a secret or the tag starts with */
	unsigned char hold[SSHMCP_SECRET_MAX];
	size_t nhold;
};

/* What the tag becomes: US and two stars. The text filter drops every C0 control from
 * program output before masking, so only the tag itself can put a US in the text: sudo's
 * prompt is known by it, yet no program can print it. Output shows it as "***". */
#define MASK_TAG "\x1f**"

static void mask_tag(struct mask *m, const char *s)
{
	m->ntag = strlen(s);
	if (m->ntag < 3 || m->ntag >= sizeof(m->tag)) {
		m->ntag = 0;
		return;
	}
	memcpy(m->tag, s, m->ntag);
	m->first[(unsigned char)s[0]] = 1;
}

static void mask_add(struct mask *m, const char *s)
{
	size_t n = strlen(s);
	int i;

	if (n < SSHMCP_MASK_MIN || n >= SSHMCP_SECRET_MAX)
		return;
	for (i = 0; i < m->n; i++)
		if (m->len[i] == n && memcmp(m->sec[i], s, n) == 0)
			return;
	if (m->n == SSHMCP_MASK_MAX) {          /* the oldest goes */
		mem_wipe(m->sec[0], m->len[0]);
		free(m->sec[0]);
		memmove(m->sec, m->sec + 1, (size_t)(m->n - 1) * sizeof(m->sec[0]));
		memmove(m->len, m->len + 1, (size_t)(m->n - 1) * sizeof(m->len[0]));
		m->n--;
	}
	if ((m->sec[m->n] = strdup(s)) != NULL) {
		m->len[m->n++] = n;
		m->first[(unsigned char)s[0]] = 1;
	}
}

static void mask_free(struct mask *m)
{
	int i;

	for (i = 0; i < m->n; i++) {
		mem_wipe(m->sec[i], m->len[i]);
		free(m->sec[i]);
	}
	mem_wipe(m->hold, sizeof(m->hold));
	memset(m, 0, sizeof(*m));
}

/* At buf[i..n): 1 a secret starts here (its index in *k, -1 the tag), 2 it may (the bytes
 * end), 0 no. */
static int mask_at(const struct mask *m, const unsigned char *buf, size_t i, size_t n, int *k)
{
	int j;

	if (m->ntag > 0 && memcmp(buf + i, m->tag, n - i < m->ntag ? n - i : m->ntag) == 0) {
		*k = -1;
		return n - i >= m->ntag ? 1 : 2;
	}
	for (j = 0; j < m->n; j++) {
		size_t have = n - i < m->len[j] ? n - i : m->len[j];

		if (memcmp(buf + i, m->sec[j], have) != 0)
			continue;
		*k = j;
		return have == m->len[j] ? 1 : 2;
	}
	return 0;
}

/* buf[0..n) is the held tail followed by new bytes; blank secrets in place (*** is never
 * longer than a secret), keep a tail that may begin one unless `final`. Returns the length
 * of what can go on. */
static size_t mask_run(struct mask *m, unsigned char *buf, size_t n, int final)
{
	size_t i = 0, o = 0;
	int k, hit;

	if (m->n == 0 && m->ntag == 0)
		return n;
	while (i < n) {
		if (!m->first[buf[i]]) {
			buf[o++] = buf[i++];
			continue;
		}
		if ((hit = mask_at(m, buf, i, n, &k)) == 1) {
			memcpy(buf + o, k < 0 ? MASK_TAG : "***", 3);
			o += 3;
			i += k < 0 ? m->ntag : m->len[k];
			continue;
		}
		if (hit == 2 && !final)
			break;
		buf[o++] = buf[i++];
	}
	m->nhold = n - i;
	memcpy(m->hold, buf + i, m->nhold);
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
 * entry's `unless` option (ping -c, top -b -n) makes the command end on its own.
 * Full-screen programs (`screen`) become screens instead (status "screen", send_keys);
 * under a command policy they are refused as before: keys typed into an editor or a
 * monitor would run what the policy never saw (:!sh, top's k, watch's command). */
static const struct {
	const char *re;
	const char *unless[2];
	int device;                 /* also on network devices (Junos `top` is a config command) */
	int screen;                 /* a full-screen program: refused under a policy only */
} prompt_streams[] = {
	{ "(^|[;&|] *)tail( [^;&|]*)? (-[A-Za-z]*[fF]|--follow)", { NULL, NULL }, 0, 0 },
	{ "(^|[;&|] *)(iotop|iftop|nload)( |$)", { NULL, NULL }, 0, 0 },
	{ "(^|[;&|] *)(watch|vi|vim|nano|emacs)( |$)", { NULL, NULL }, 0, 1 },
	{ "(^|[;&|] *)h?top( |$)", { " -b", " -n" }, 0, 1 },
	{ "(^|[;&|] *)journalctl( [^;&|]*)? (-f|--follow)", { NULL, NULL }, 0, 0 },
	{ "(^|[;&|] *)(dmesg|kubectl logs|docker logs)( [^;&|]*)? (-w|-f|--follow)", { NULL, NULL },
	  0, 0 },
	{ "(^|[;&|] *)ping6?( |$)", { " -c", NULL }, 0, 0 },
	{ "(^|[;&|\n] *)(monitor|debug all|terminal monitor)", { NULL, NULL }, 1, 0 },
};

/* The hint a streaming command is refused with, or NULL. `policy`: full-screen programs
 * are refused too. */
static const char *prompt_stream_hint(const char *cmd, int device, int policy)
{
	regex_t re;
	size_t i;

	for (i = 0; i < sizeof(prompt_streams) / sizeof(prompt_streams[0]); i++) {
		int hit;

		if ((device && !prompt_streams[i].device) || (prompt_streams[i].screen && !policy))
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

/* ===================================================== terminal screen === */

/*
 * A screen model per session, fed the PTY stream all the time so that it is current whenever
 * it is read: the grid of cells a terminal of the session's size would show (main and
 * alternate screen), the cursor, scroll region, tab stops, line wrap, insert and delete,
 * UTF-8 with wide and combining characters, DEC line drawing. Colours and attributes are
 * parsed and dropped. Terminal queries (cursor position, device attributes, window size,
 * default colours) are answered into `reply`, which the engine drains and types back, as a
 * terminal would.
 *
 * The reference is tmux 3.3a: tests/52-screen.sh runs programs under tmux and feeds the bytes
 * tmux saw to this model, then compares capture-pane row by row. The parser is the VT500
 * state machine of tmux's input.c, transition for transition, and the grid operations follow
 * its screen-write.c and grid.c, down to their quirks: the cursor may stand just past the last
 * column (cx == cols, "pending wrap": the next character wraps, CUB/BS from there land on the
 * last column, EL there erases nothing), a backspace at column 0 climbs back over an autowrap.
 * Deliberate differences, where tmux's grid would mislead a reader (tests avoid them):
 *   - invalid UTF-8 shows as U+FFFD (tmux drops it), and C1 code points are dropped as tmux;
 *   - a wide character cut by an erase, insert or delete is blanked whole, as xterm does
 *     (tmux keeps one half, and capture-pane then shifts the rest of the row), and so is one
 *     in column 0 whose right half an ASCII character overwrites (tmux: an off-by-one);
 *   - ICH blanks all the cells it inserts (tmux blanks only as many as it moves right: none
 *     for the whole rest of a row, too few for more than half of it); IL/DL outside the
 *     scroll region blank all they vacate;
 *   - RIS also leaves the alternate screen, DECSTBM homes inside the margins under DECOM, the
 *     window size report is CSI 8;rows;cols t (xterm);
 *   - HPR, VPR and ?1048 are done and REP repeats any character (tmux: ASCII only);
 *   - CAN/SUB abort an OSC without setting the title, a DCS ends at any ESC, an APC is not a
 *     title, a ZWJ before an ASCII character is dropped (xterm) and one before the next
 *     read still joins (tmux forgets it between two reads of the PTY), a string ends after
 *     SSHMCP_SCR_STRING_MAX bytes (tmux: 1 MiB) or when the engine calls scr_idle (tmux: 5 s);
 *   - a wide character on a one-column screen is dropped (tmux writes it off the screen);
 *   - no history and no reflow: a resize keeps the top-left of each grid, dropping rows from
 *     the bottom below the cursor first, then from the top, as tmux does without history.
 * Cells are a code point and three flags; marks (combining characters) live beside the row,
 * so scrolling moves row structs, never cells.
 *
 * The engine's side: scr_init at the PTY's size, scr_feed with every byte the PTY sends,
 * scr_replies to type the answers back, scr_resize with the PTY, scr_idle after a quiet spell;
 * for read_screen scr_row_text, scr_cursor and the fields title, alt, mode and gen (changed
 * since the last read when it moved); takes (moved: the program took the screen, status
 * "screen"); scr_key for send_keys.
 */
#define SCR_CP    0x1FFFFFu           /* a cell's code point */
#define SCR_WIDE  (1u << 21)          /* the first of a wide character's two cells */
#define SCR_PAD   (1u << 22)          /* the second: shows nothing */
#define SCR_ACS   (1u << 23)          /* DEC special graphics: an ASCII byte shown as its glyph */
#define SCR_BLANK 0x20u
#define SCR_ZWJ   0x200Du
#define SCR_FFFD  0xFFFDu
#define SCR_API   __attribute__((unused))   /* the engine calls these; until then, unused */

/* struct scr.mode bits. */
enum scr_mode {
	SCR_M_WRAP = 1 << 0,          /* DECAWM: autowrap */
	SCR_M_INSERT = 1 << 1,        /* IRM */
	SCR_M_ORIGIN = 1 << 2,        /* DECOM: rows count from the scroll region */
	SCR_M_CURSOR = 1 << 3,        /* DECTCEM: the cursor is visible */
	SCR_M_APPCURSOR = 1 << 4,     /* DECCKM: arrow keys send ESC O A */
	SCR_M_APPKEYPAD = 1 << 5,     /* DECKPAM: the keypad sends ESC O p... */
	SCR_M_PASTE = 1 << 6,         /* bracketed paste (?2004) */
};

/*
 * Character widths, as tmux has them: tmux asks the C library's wcwidth(), which on Debian 12
 * is glibc 2.36 (Unicode 14). Generated by tools/scr_width.sh; code points below U+0300 are
 * width 1 and never looked up, everything in neither table is width 1.
 */
static const uint32_t scr_zero[][2] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x05BF, 0x05BF },
	{ 0x05C1, 0x05C2 }, { 0x05C4, 0x05C5 }, { 0x05C7, 0x05C7 }, { 0x0610, 0x061A },
	{ 0x061C, 0x061C }, { 0x064B, 0x065F }, { 0x0670, 0x0670 }, { 0x06D6, 0x06DC },
	{ 0x06DF, 0x06E4 }, { 0x06E7, 0x06E8 }, { 0x06EA, 0x06ED }, { 0x0711, 0x0711 },
	{ 0x0730, 0x074A }, { 0x07A6, 0x07B0 }, { 0x07EB, 0x07F3 }, { 0x07FD, 0x07FD },
	{ 0x0816, 0x0819 }, { 0x081B, 0x0823 }, { 0x0825, 0x0827 }, { 0x0829, 0x082D },
	{ 0x0859, 0x085B }, { 0x0898, 0x089F }, { 0x08CA, 0x08E1 }, { 0x08E3, 0x0902 },
	{ 0x093A, 0x093A }, { 0x093C, 0x093C }, { 0x0941, 0x0948 }, { 0x094D, 0x094D },
	{ 0x0951, 0x0957 }, { 0x0962, 0x0963 }, { 0x0981, 0x0981 }, { 0x09BC, 0x09BC },
	{ 0x09C1, 0x09C4 }, { 0x09CD, 0x09CD }, { 0x09E2, 0x09E3 }, { 0x09FE, 0x0A02 },
	{ 0x0A3C, 0x0A3C }, { 0x0A41, 0x0A51 }, { 0x0A70, 0x0A71 }, { 0x0A75, 0x0A75 },
	{ 0x0A81, 0x0A82 }, { 0x0ABC, 0x0ABC }, { 0x0AC1, 0x0AC8 }, { 0x0ACD, 0x0ACD },
	{ 0x0AE2, 0x0AE3 }, { 0x0AFA, 0x0B01 }, { 0x0B3C, 0x0B3C }, { 0x0B3F, 0x0B3F },
	{ 0x0B41, 0x0B44 }, { 0x0B4D, 0x0B56 }, { 0x0B62, 0x0B63 }, { 0x0B82, 0x0B82 },
	{ 0x0BC0, 0x0BC0 }, { 0x0BCD, 0x0BCD }, { 0x0C00, 0x0C00 }, { 0x0C04, 0x0C04 },
	{ 0x0C3C, 0x0C3C }, { 0x0C3E, 0x0C40 }, { 0x0C46, 0x0C56 }, { 0x0C62, 0x0C63 },
	{ 0x0C81, 0x0C81 }, { 0x0CBC, 0x0CBC }, { 0x0CBF, 0x0CBF }, { 0x0CC6, 0x0CC6 },
	{ 0x0CCC, 0x0CCD }, { 0x0CE2, 0x0CE3 }, { 0x0D00, 0x0D01 }, { 0x0D3B, 0x0D3C },
	{ 0x0D41, 0x0D44 }, { 0x0D4D, 0x0D4D }, { 0x0D62, 0x0D63 }, { 0x0D81, 0x0D81 },
	{ 0x0DCA, 0x0DCA }, { 0x0DD2, 0x0DD6 }, { 0x0E31, 0x0E31 }, { 0x0E34, 0x0E3A },
	{ 0x0E47, 0x0E4E }, { 0x0EB1, 0x0EB1 }, { 0x0EB4, 0x0EBC }, { 0x0EC8, 0x0ECD },
	{ 0x0F18, 0x0F19 }, { 0x0F35, 0x0F35 }, { 0x0F37, 0x0F37 }, { 0x0F39, 0x0F39 },
	{ 0x0F71, 0x0F7E }, { 0x0F80, 0x0F84 }, { 0x0F86, 0x0F87 }, { 0x0F8D, 0x0FBC },
	{ 0x0FC6, 0x0FC6 }, { 0x102D, 0x1030 }, { 0x1032, 0x1037 }, { 0x1039, 0x103A },
	{ 0x103D, 0x103E }, { 0x1058, 0x1059 }, { 0x105E, 0x1060 }, { 0x1071, 0x1074 },
	{ 0x1082, 0x1082 }, { 0x1085, 0x1086 }, { 0x108D, 0x108D }, { 0x109D, 0x109D },
	{ 0x1160, 0x11FF }, { 0x135D, 0x135F }, { 0x1712, 0x1714 }, { 0x1732, 0x1733 },
	{ 0x1752, 0x1753 }, { 0x1772, 0x1773 }, { 0x17B4, 0x17B5 }, { 0x17B7, 0x17BD },
	{ 0x17C6, 0x17C6 }, { 0x17C9, 0x17D3 }, { 0x17DD, 0x17DD }, { 0x180B, 0x180F },
	{ 0x1885, 0x1886 }, { 0x18A9, 0x18A9 }, { 0x1920, 0x1922 }, { 0x1927, 0x1928 },
	{ 0x1932, 0x1932 }, { 0x1939, 0x193B }, { 0x1A17, 0x1A18 }, { 0x1A1B, 0x1A1B },
	{ 0x1A56, 0x1A56 }, { 0x1A58, 0x1A60 }, { 0x1A62, 0x1A62 }, { 0x1A65, 0x1A6C },
	{ 0x1A73, 0x1A7F }, { 0x1AB0, 0x1B03 }, { 0x1B34, 0x1B34 }, { 0x1B36, 0x1B3A },
	{ 0x1B3C, 0x1B3C }, { 0x1B42, 0x1B42 }, { 0x1B6B, 0x1B73 }, { 0x1B80, 0x1B81 },
	{ 0x1BA2, 0x1BA5 }, { 0x1BA8, 0x1BA9 }, { 0x1BAB, 0x1BAD }, { 0x1BE6, 0x1BE6 },
	{ 0x1BE8, 0x1BE9 }, { 0x1BED, 0x1BED }, { 0x1BEF, 0x1BF1 }, { 0x1C2C, 0x1C33 },
	{ 0x1C36, 0x1C37 }, { 0x1CD0, 0x1CD2 }, { 0x1CD4, 0x1CE0 }, { 0x1CE2, 0x1CE8 },
	{ 0x1CED, 0x1CED }, { 0x1CF4, 0x1CF4 }, { 0x1CF8, 0x1CF9 }, { 0x1DC0, 0x1DFF },
	{ 0x200B, 0x200F }, { 0x202A, 0x202E }, { 0x2060, 0x206F }, { 0x20D0, 0x20F0 },
	{ 0x2CEF, 0x2CF1 }, { 0x2D7F, 0x2D7F }, { 0x2DE0, 0x2DFF }, { 0x302A, 0x302D },
	{ 0x3099, 0x309A }, { 0xA66F, 0xA672 }, { 0xA674, 0xA67D }, { 0xA69E, 0xA69F },
	{ 0xA6F0, 0xA6F1 }, { 0xA802, 0xA802 }, { 0xA806, 0xA806 }, { 0xA80B, 0xA80B },
	{ 0xA825, 0xA826 }, { 0xA82C, 0xA82C }, { 0xA8C4, 0xA8C5 }, { 0xA8E0, 0xA8F1 },
	{ 0xA8FF, 0xA8FF }, { 0xA926, 0xA92D }, { 0xA947, 0xA951 }, { 0xA980, 0xA982 },
	{ 0xA9B3, 0xA9B3 }, { 0xA9B6, 0xA9B9 }, { 0xA9BC, 0xA9BD }, { 0xA9E5, 0xA9E5 },
	{ 0xAA29, 0xAA2E }, { 0xAA31, 0xAA32 }, { 0xAA35, 0xAA36 }, { 0xAA43, 0xAA43 },
	{ 0xAA4C, 0xAA4C }, { 0xAA7C, 0xAA7C }, { 0xAAB0, 0xAAB0 }, { 0xAAB2, 0xAAB4 },
	{ 0xAAB7, 0xAAB8 }, { 0xAABE, 0xAABF }, { 0xAAC1, 0xAAC1 }, { 0xAAEC, 0xAAED },
	{ 0xAAF6, 0xAAF6 }, { 0xABE5, 0xABE5 }, { 0xABE8, 0xABE8 }, { 0xABED, 0xABED },
	{ 0xD7B0, 0xD7FB }, { 0xFB1E, 0xFB1E }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F },
	{ 0xFEFF, 0xFEFF }, { 0xFFF9, 0xFFFB }, { 0x101FD, 0x101FD }, { 0x102E0, 0x102E0 },
	{ 0x10376, 0x1037A }, { 0x10A01, 0x10A0F }, { 0x10A38, 0x10A3F }, { 0x10AE5, 0x10AE6 },
	{ 0x10D24, 0x10D27 }, { 0x10EAB, 0x10EAC }, { 0x10F46, 0x10F50 }, { 0x10F82, 0x10F85 },
	{ 0x11001, 0x11001 }, { 0x11038, 0x11046 }, { 0x11070, 0x11070 }, { 0x11073, 0x11074 },
	{ 0x1107F, 0x11081 }, { 0x110B3, 0x110B6 }, { 0x110B9, 0x110BA }, { 0x110C2, 0x110C2 },
	{ 0x11100, 0x11102 }, { 0x11127, 0x1112B }, { 0x1112D, 0x11134 }, { 0x11173, 0x11173 },
	{ 0x11180, 0x11181 }, { 0x111B6, 0x111BE }, { 0x111C9, 0x111CC }, { 0x111CF, 0x111CF },
	{ 0x1122F, 0x11231 }, { 0x11234, 0x11234 }, { 0x11236, 0x11237 }, { 0x1123E, 0x1123E },
	{ 0x112DF, 0x112DF }, { 0x112E3, 0x112EA }, { 0x11300, 0x11301 }, { 0x1133B, 0x1133C },
	{ 0x11340, 0x11340 }, { 0x11366, 0x11374 }, { 0x11438, 0x1143F }, { 0x11442, 0x11444 },
	{ 0x11446, 0x11446 }, { 0x1145E, 0x1145E }, { 0x114B3, 0x114B8 }, { 0x114BA, 0x114BA },
	{ 0x114BF, 0x114C0 }, { 0x114C2, 0x114C3 }, { 0x115B2, 0x115B5 }, { 0x115BC, 0x115BD },
	{ 0x115BF, 0x115C0 }, { 0x115DC, 0x115DD }, { 0x11633, 0x1163A }, { 0x1163D, 0x1163D },
	{ 0x1163F, 0x11640 }, { 0x116AB, 0x116AB }, { 0x116AD, 0x116AD }, { 0x116B0, 0x116B5 },
	{ 0x116B7, 0x116B7 }, { 0x1171D, 0x1171F }, { 0x11722, 0x11725 }, { 0x11727, 0x1172B },
	{ 0x1182F, 0x11837 }, { 0x11839, 0x1183A }, { 0x1193B, 0x1193C }, { 0x1193E, 0x1193E },
	{ 0x11943, 0x11943 }, { 0x119D4, 0x119DB }, { 0x119E0, 0x119E0 }, { 0x11A01, 0x11A0A },
	{ 0x11A33, 0x11A38 }, { 0x11A3B, 0x11A3E }, { 0x11A47, 0x11A47 }, { 0x11A51, 0x11A56 },
	{ 0x11A59, 0x11A5B }, { 0x11A8A, 0x11A96 }, { 0x11A98, 0x11A99 }, { 0x11C30, 0x11C3D },
	{ 0x11C3F, 0x11C3F }, { 0x11C92, 0x11CA7 }, { 0x11CAA, 0x11CB0 }, { 0x11CB2, 0x11CB3 },
	{ 0x11CB5, 0x11CB6 }, { 0x11D31, 0x11D45 }, { 0x11D47, 0x11D47 }, { 0x11D90, 0x11D91 },
	{ 0x11D95, 0x11D95 }, { 0x11D97, 0x11D97 }, { 0x11EF3, 0x11EF4 }, { 0x13430, 0x13438 },
	{ 0x16AF0, 0x16AF4 }, { 0x16B30, 0x16B36 }, { 0x16F4F, 0x16F4F }, { 0x16F8F, 0x16F92 },
	{ 0x16FE4, 0x16FE4 }, { 0x1BC9D, 0x1BC9E }, { 0x1BCA0, 0x1CF46 }, { 0x1D167, 0x1D169 },
	{ 0x1D173, 0x1D182 }, { 0x1D185, 0x1D18B }, { 0x1D1AA, 0x1D1AD }, { 0x1D242, 0x1D244 },
	{ 0x1DA00, 0x1DA36 }, { 0x1DA3B, 0x1DA6C }, { 0x1DA75, 0x1DA75 }, { 0x1DA84, 0x1DA84 },
	{ 0x1DA9B, 0x1DAAF }, { 0x1E000, 0x1E02A }, { 0x1E130, 0x1E136 }, { 0x1E2AE, 0x1E2AE },
	{ 0x1E2EC, 0x1E2EF }, { 0x1E8D0, 0x1E8D6 }, { 0x1E944, 0x1E94A }, { 0xE0001, 0xE01EF },
};

static const uint32_t scr_wide[][2] = {
	{ 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2329, 0x232A }, { 0x23E9, 0x23EC },
	{ 0x23F0, 0x23F0 }, { 0x23F3, 0x23F3 }, { 0x25FD, 0x25FE }, { 0x2614, 0x2615 },
	{ 0x2648, 0x2653 }, { 0x267F, 0x267F }, { 0x2693, 0x2693 }, { 0x26A1, 0x26A1 },
	{ 0x26AA, 0x26AB }, { 0x26BD, 0x26BE }, { 0x26C4, 0x26C5 }, { 0x26CE, 0x26CE },
	{ 0x26D4, 0x26D4 }, { 0x26EA, 0x26EA }, { 0x26F2, 0x26F3 }, { 0x26F5, 0x26F5 },
	{ 0x26FA, 0x26FA }, { 0x26FD, 0x26FD }, { 0x2705, 0x2705 }, { 0x270A, 0x270B },
	{ 0x2728, 0x2728 }, { 0x274C, 0x274C }, { 0x274E, 0x274E }, { 0x2753, 0x2755 },
	{ 0x2757, 0x2757 }, { 0x2795, 0x2797 }, { 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF },
	{ 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 }, { 0x2B55, 0x2B55 }, { 0x2E80, 0x3029 },
	{ 0x302E, 0x303E }, { 0x3041, 0x3096 }, { 0x309B, 0xA4C6 }, { 0xA960, 0xA97C },
	{ 0xAC00, 0xD7A3 }, { 0xF900, 0xFAD9 }, { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6B },
	{ 0xFF01, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x16FE0, 0x16FE3 }, { 0x16FF0, 0x1B2FB },
	{ 0x1F004, 0x1F004 }, { 0x1F0CF, 0x1F0CF }, { 0x1F18E, 0x1F18E }, { 0x1F191, 0x1F19A },
	{ 0x1F200, 0x1F320 }, { 0x1F32D, 0x1F335 }, { 0x1F337, 0x1F37C }, { 0x1F37E, 0x1F393 },
	{ 0x1F3A0, 0x1F3CA }, { 0x1F3CF, 0x1F3D3 }, { 0x1F3E0, 0x1F3F0 }, { 0x1F3F4, 0x1F3F4 },
	{ 0x1F3F8, 0x1F43E }, { 0x1F440, 0x1F440 }, { 0x1F442, 0x1F4FC }, { 0x1F4FF, 0x1F53D },
	{ 0x1F54B, 0x1F54E }, { 0x1F550, 0x1F567 }, { 0x1F57A, 0x1F57A }, { 0x1F595, 0x1F596 },
	{ 0x1F5A4, 0x1F5A4 }, { 0x1F5FB, 0x1F64F }, { 0x1F680, 0x1F6C5 }, { 0x1F6CC, 0x1F6CC },
	{ 0x1F6D0, 0x1F6D2 }, { 0x1F6D5, 0x1F6DF }, { 0x1F6EB, 0x1F6EC }, { 0x1F6F4, 0x1F6FC },
	{ 0x1F7E0, 0x1F7F0 }, { 0x1F90C, 0x1F93A }, { 0x1F93C, 0x1F945 }, { 0x1F947, 0x1F9FF },
	{ 0x1FA70, 0x1FAFF }, { 0x20000, 0x3FFFD },
};

static int scr_in(const uint32_t (*t)[2], size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < t[mid][0])
			hi = mid;
		else if (cp > t[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static int scr_width(uint32_t cp)
{
	if (cp < 0x300)
		return 1;
	if (scr_in(scr_zero, sizeof(scr_zero) / sizeof(scr_zero[0]), cp))
		return 0;
	if (cp >= 0x1100 && scr_in(scr_wide, sizeof(scr_wide) / sizeof(scr_wide[0]), cp))
		return 2;
	return 1;
}

/* DEC special graphics, 0x5f..0x7e: what xterm draws for them. tmux's capture-pane prints the
 * ASCII byte instead; scr_render can do either. */
static const uint16_t scr_acs_glyph[] = {
	0x0020, 0x25C6, 0x2592, 0x2409, 0x240C, 0x240D, 0x240A, 0x00B0,   /* _ ` a b c d e f */
	0x00B1, 0x2424, 0x240B, 0x2518, 0x2510, 0x250C, 0x2514, 0x253C,   /* g h i j k l m n */
	0x23BA, 0x23BB, 0x2500, 0x23BC, 0x23BD, 0x251C, 0x2524, 0x2534,   /* o p q r s t u v */
	0x252C, 0x2502, 0x2264, 0x2265, 0x03C0, 0x2260, 0x00A3, 0x00B7,   /* w x y z { | } ~ */
};

/* ------------------------------------------------------------ the grid --- */

static struct scr_line *scr_ln(struct scr *s, int y)
{
	return &s->grid[s->alt][y];
}

static void scr_tabs_reset(struct scr *s)
{
	int x;

	memset(s->tabs, 0, sizeof(s->tabs));
	for (x = 8; x < s->cols; x += 8)
		s->tabs[x / 8] |= (unsigned char)(1u << (x % 8));
}

static int scr_tab(const struct scr *s, int x)
{
	return (s->tabs[x / 8] >> (x % 8)) & 1;
}

static void scr_tab_set(struct scr *s, int x, int on)
{
	if (on)
		s->tabs[x / 8] |= (unsigned char)(1u << (x % 8));
	else
		s->tabs[x / 8] &= (unsigned char)~(1u << (x % 8));
}

/* Marks on columns [x0, x1) go. */
static void scr_marks_drop(struct scr_line *l, int x0, int x1)
{
	int i, o = 0;

	for (i = 0; i < l->nmark; i++)
		if (l->mark[i].col < x0 || l->mark[i].col >= x1)
			l->mark[o++] = l->mark[i];
	l->nmark = (uint8_t)o;
}

/* Marks from column x on move by `by` columns; those pushed past the last column go. */
static void scr_marks_shift(struct scr_line *l, int x, int by, int cols)
{
	int i, o = 0;

	for (i = 0; i < l->nmark; i++) {
		int c = l->mark[i].col;

		if (c >= x)
			c += by;
		if (c >= cols)
			continue;
		l->mark[o] = l->mark[i];
		l->mark[o++].col = (uint16_t)c;
	}
	l->nmark = (uint8_t)o;
}

static void scr_blank(struct scr_line *l, int x0, int x1)
{
	int x;

	for (x = x0; x < x1; x++)
		l->cell[x] = SCR_BLANK;
	if (l->nmark > 0)
		scr_marks_drop(l, x0, x1);
}

/* An operation on [x0, x1) is about to cut a wide character: its half outside goes too. */
static void scr_wide_edges(struct scr_line *l, int x0, int x1, int cols)
{
	if (x0 > 0 && x0 < cols && (l->cell[x0] & SCR_PAD))
		scr_blank(l, x0 - 1, x0 + 1);
	if (x1 > 0 && x1 < cols && (l->cell[x1] & SCR_PAD))
		scr_blank(l, x1 - 1, x1 + 1);
}

static void scr_line_empty(struct scr_line *l, int cols)
{
	int x;

	for (x = 0; x < cols; x++)
		l->cell[x] = SCR_BLANK;
	l->nmark = 0;
	l->wrapped = 0;
	l->used = 0;
}

/* Whole lines [y, y + n) cleared; the line above no longer wraps into them (tmux). */
static void scr_clear_lines(struct scr *s, int y, int n)
{
	int i;

	if (n <= 0)
		return;
	for (i = y; i < y + n; i++)
		scr_line_empty(scr_ln(s, i), s->cols);
	if (y > 0)
		scr_ln(s, y - 1)->wrapped = 0;
}

/* n cells from x0 on row y blanked; a whole row is a line clear, as in tmux's grid_clear. */
static void scr_clear_cells(struct scr *s, int y, int x0, int n)
{
	struct scr_line *l = scr_ln(s, y);

	if (n <= 0 || x0 >= s->cols)
		return;
	if (n > s->cols - x0)
		n = s->cols - x0;
	if (x0 == 0 && n == s->cols) {
		scr_clear_lines(s, y, 1);
		return;
	}
	scr_wide_edges(l, x0, x0 + n, s->cols);
	scr_blank(l, x0, x0 + n);
}

/*
 * Lines [py, py + ny) move to [dy, dy + ny); the lines they replace are reused, emptied, for
 * the rows they leave. The wrap flags follow tmux's grid_move_lines exactly, so a backspace
 * at column 0 climbs where tmux's does.
 */
static void scr_move_lines(struct scr *s, int dy, int py, int ny)
{
	struct scr_line *g = s->grid[s->alt], freed[SSHMCP_SCR_ROWS_MAX];
	int y, nf = 0, k = 0;

	if (ny <= 0 || py == dy)
		return;
	for (y = dy; y < dy + ny; y++)
		if (y < py || y >= py + ny)
			freed[nf++] = g[y];
	if (dy > 0)
		g[dy - 1].wrapped = 0;
	memmove(&g[dy], &g[py], (size_t)ny * sizeof(*g));
	for (y = py; y < py + ny; y++)
		if ((y < dy || y >= dy + ny) && k < nf) {
			g[y] = freed[k++];
			scr_line_empty(&g[y], s->cols);
		}
	if (py > 0 && (py < dy || py >= dy + ny))
		g[py - 1].wrapped = 0;
}

/* The scroll region moves up a line. tmux keeps a history of the main screen: there the top
 * line leaves and the wrap flags stay; the alternate screen moves its lines. */
static void scr_scroll_up(struct scr *s)
{
	struct scr_line *g = s->grid[s->alt], t;

	if (s->alt) {
		scr_move_lines(s, s->top, s->top + 1, s->bot - s->top);
		return;
	}
	t = g[s->top];
	memmove(&g[s->top], &g[s->top + 1], (size_t)(s->bot - s->top) * sizeof(*g));
	g[s->bot] = t;
	scr_line_empty(&g[s->bot], s->cols);
}

static void scr_scroll_down(struct scr *s)
{
	scr_move_lines(s, s->top + 1, s->top, s->bot - s->top);
}

static void scr_linefeed(struct scr *s, int wrapped)
{
	if (wrapped)
		scr_ln(s, s->cy)->wrapped = 1;
	if (s->cy == s->bot)
		scr_scroll_up(s);
	else if (s->cy < s->rows - 1)
		s->cy++;
}

/* ICH and DCH: the cursor's line, with n cut to the cells right of the cursor; NULL if none. */
static struct scr_line *scr_cells_at(struct scr *s, int *n)
{
	if (*n > s->cols - s->cx)
		*n = s->cols - s->cx;
	return *n > 0 ? scr_ln(s, s->cy) : NULL;
}

/* n blank cells at the cursor push the rest of the row right. */
static void scr_insert_cells(struct scr *s, int n)
{
	struct scr_line *l = scr_cells_at(s, &n);
	int x = s->cx, cols = s->cols;

	if (l == NULL)
		return;
	scr_wide_edges(l, x, x, cols);
	memmove(l->cell + x + n, l->cell + x, (size_t)(cols - x - n) * sizeof(*l->cell));
	if (l->nmark > 0)
		scr_marks_shift(l, x, n, cols);
	scr_blank(l, x, x + n);
	if (l->cell[cols - 1] & SCR_WIDE)            /* pushed half over the edge */
		scr_blank(l, cols - 1, cols);
	l->used = 1;
}

static void scr_delete_cells(struct scr *s, int n)
{
	struct scr_line *l = scr_cells_at(s, &n);
	int x = s->cx, cols = s->cols;

	if (l == NULL)
		return;
	if (x == 0 && n == cols) {
		scr_clear_lines(s, s->cy, 1);
		return;
	}
	scr_wide_edges(l, x, x + n, cols);
	if (l->nmark > 0) {
		scr_marks_drop(l, x, x + n);
		scr_marks_shift(l, x + n, -n, cols);
	}
	memmove(l->cell + x, l->cell + x + n, (size_t)(cols - x - n) * sizeof(*l->cell));
	scr_blank(l, cols - n, cols);
	l->used = 1;
}

/* ------------------------------------------------------------ printing --- */

/* Writing over part of a wide character blanks the rest of it (tmux screen_write_overwrite). */
static void scr_overwrite(struct scr_line *l, int x, int w, int cols)
{
	uint32_t old = l->cell[x];

	if (old & SCR_PAD)
		scr_blank(l, x - 1, x);
	if (w != 1 || (old & (SCR_WIDE | SCR_PAD)))
		for (x += w; x < cols && (l->cell[x] & SCR_PAD); x++)
			scr_blank(l, x, x + 1);
}

/* A character of width w (1 or 2) at the cursor, as tmux's screen_write_cell puts it. */
static void scr_put(struct scr *s, uint32_t ch, int w)
{
	struct scr_line *l;
	int sx = s->cols, x, stick;

	if (!(s->mode & SCR_M_WRAP) && w > 1 && (w > sx || (s->cx != sx && s->cx > sx - w)))
		return;                                 /* does not fit and may not wrap */
	if (s->mode & SCR_M_INSERT)
		scr_insert_cells(s, w);
	if ((s->mode & SCR_M_WRAP) && s->cx > sx - w) {
		scr_linefeed(s, 1);
		s->cx = 0;
	}
	if (s->cx > sx - w)
		return;
	l = scr_ln(s, s->cy);
	x = s->cx;
	scr_overwrite(l, x, w, sx);
	l->cell[x] = ch | (w == 2 ? SCR_WIDE : 0);
	if (w == 2)
		l->cell[x + 1] = SCR_PAD | SCR_BLANK;
	if (l->nmark > 0)
		scr_marks_drop(l, x, x + w);
	l->used = 1;
	stick = !(s->mode & SCR_M_WRAP);            /* no autowrap: the last column is rewritten */
	s->cx = x <= sx - stick - w ? x + w : sx - stick;
	s->dirty = 1;
}

/* A zero-width character joins the cell left of the cursor (tmux screen_write_combine);
 * a cell holds at most SSHMCP_SCR_CELL_BYTES of UTF-8, a line SSHMCP_SCR_MARKS marks. */
static void scr_combine(struct scr *s, uint32_t cp)
{
	struct scr_line *l = scr_ln(s, s->cy);
	unsigned char u[4];
	size_t size;
	int x = s->cx, i;

	if (x == 0)
		return;
	for (x--; x > 0 && (l->cell[x] & SCR_PAD); x--)
		;
	if (l->cell[x] & SCR_PAD)
		return;
	size = json_utf8_put(l->cell[x] & SCR_CP, u) + json_utf8_put(cp, u);
	for (i = 0; i < l->nmark; i++)
		if (l->mark[i].col == x)
			size += json_utf8_put(l->mark[i].cp, u);
	if (size > SSHMCP_SCR_CELL_BYTES || l->nmark >= SSHMCP_SCR_MARKS)
		return;
	l->mark[l->nmark].cp = cp;
	l->mark[l->nmark++].col = (uint16_t)x;
	s->dirty = 1;
}

/*
 * One character, charset already applied (ch may carry SCR_ACS). A zero width joiner makes
 * the next character join the current cell instead of taking its own, as tmux does with
 * emoji sequences (the cell keeps its first character's width).
 */
static void scr_print(struct scr *s, uint32_t ch)
{
	uint32_t cp = ch & SCR_CP;
	int w;

	if (cp < 0x80) {
		s->zwj = 0;
		scr_put(s, ch, 1);
		return;
	}
	if (cp == SCR_ZWJ) {
		s->zwj = 1;
		return;
	}
	w = scr_width(cp);
	if (s->zwj)
		scr_combine(s, SCR_ZWJ);
	if (w == 0 || s->zwj) {
		s->zwj = 0;
		scr_combine(s, cp);
		return;
	}
	scr_put(s, ch, w);
}

/* A graphic character from the stream: ASCII goes through the charset shifted in. */
static void scr_graphic(struct scr *s, uint32_t c)
{
	if (c >= 0x5f && c <= 0x7e && s->g[s->gl])
		c |= SCR_ACS;
	scr_print(s, c);
}

/* A UTF-8 sequence was cut short or is invalid: it shows as U+FFFD. */
static void scr_utf8_bad(struct scr *s)
{
	s->u_need = 0;
	scr_print(s, SCR_FFFD);
	s->last = SCR_FFFD;
}

/* A byte >= 0x80 in ground state. The second byte's range per lead byte rules out overlongs,
 * surrogates and code points past U+10FFFF (maximal subparts, as json_utf8_next). */
static void scr_utf8(struct scr *s, unsigned char c)
{
	if (s->u_need > 0) {
		if (c >= s->u_lo && c <= s->u_hi) {
			s->u_cp = s->u_cp << 6 | (c & 0x3Fu);
			s->u_lo = 0x80;
			s->u_hi = 0xBF;
			if (--s->u_need == 0 && s->u_cp >= 0xA0) {   /* C1 controls are dropped */
				scr_print(s, s->u_cp);
				s->last = (int32_t)s->u_cp;
			}
			return;
		}
		scr_utf8_bad(s);
	}
	s->u_lo = 0x80;
	s->u_hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		s->u_need = 1;
		s->u_cp = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		s->u_need = 2;
		s->u_cp = c & 0x0Fu;
		s->u_lo = c == 0xE0 ? 0xA0 : 0x80;
		s->u_hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		s->u_need = 3;
		s->u_cp = c & 0x07u;
		s->u_lo = c == 0xF0 ? 0x90 : 0x80;
		s->u_hi = c == 0xF4 ? 0x8F : 0xBF;
	} else {
		scr_utf8_bad(s);
	}
}

/* -------------------------------------------------------------- cursor --- */

/* CUP and friends (tmux screen_write_cursormove): -1 keeps a coordinate; under DECOM rows
 * count from the top margin and stop at the bottom one. */
static void scr_goto(struct scr *s, int px, int py, int origin)
{
	if (origin && py != -1 && (s->mode & SCR_M_ORIGIN))
		py = py > s->bot - s->top ? s->bot : py + s->top;
	if (px > s->cols - 1)
		px = s->cols - 1;
	if (py > s->rows - 1)
		py = s->rows - 1;
	if (px != -1)
		s->cx = px;
	if (py != -1)
		s->cy = py;
}

/* Up stops at the top margin unless it starts above it, down at the bottom margin unless it
 * starts below it; from past the last column both land on it. */
static void scr_up(struct scr *s, int n)
{
	int lim = s->cy < s->top ? s->cy : s->cy - s->top;

	if (n > lim)
		n = lim;
	if (s->cx == s->cols)
		s->cx--;
	s->cy -= n;
}

static void scr_down(struct scr *s, int n)
{
	int lim = s->cy > s->bot ? s->rows - 1 - s->cy : s->bot - s->cy;

	if (n > lim)
		n = lim;
	if (s->cx == s->cols)
		s->cx--;
	s->cy += n;
}

static void scr_right(struct scr *s, int n)
{
	if (s->cx >= s->cols) {
		s->cx = s->cols - 1;
		return;
	}
	if (n > s->cols - 1 - s->cx)
		n = s->cols - 1 - s->cx;
	s->cx += n;
}

static void scr_left(struct scr *s, int n)
{
	if (n > s->cx)
		n = s->cx;
	s->cx -= n;
}

/* BS: left, or from column 0 back onto the row an autowrap left (tmux). */
static void scr_bs(struct scr *s)
{
	if (s->cx > 0)
		s->cx--;
	else if (s->cy > 0 && scr_ln(s, s->cy - 1)->wrapped) {
		s->cy--;
		s->cx = s->cols - 1;
	}
}

/* HT: the next tab stop, or the last column; never wraps. */
static void scr_ht(struct scr *s)
{
	if (s->cx >= s->cols - 1)
		return;
	do
		s->cx++;
	while (!scr_tab(s, s->cx) && s->cx < s->cols - 1);
}

static void scr_save(struct scr *s)
{
	s->saved.cx = s->cx;
	s->saved.cy = s->cy;
	s->saved.origin = (s->mode & SCR_M_ORIGIN) != 0;
	s->saved.g[0] = s->g[0];
	s->saved.g[1] = s->g[1];
	s->saved.gl = s->gl;
}

static void scr_restore(struct scr *s)
{
	s->g[0] = s->saved.g[0];
	s->g[1] = s->saved.g[1];
	s->gl = s->saved.gl;
	if (s->saved.origin)
		s->mode |= SCR_M_ORIGIN;
	else
		s->mode &= ~(unsigned)SCR_M_ORIGIN;
	scr_goto(s, s->saved.cx, s->saved.cy, 0);
}

/* Cursor addressing or a scroll region took the screen, unless it happens between a save
 * and a restore of the cursor: a status line drawn on the last row or a scroll region set
 * that way (apt's progress, apt-pkg/install-progress.cc) leaves the cursor where the output
 * goes on. Held takes are dropped at the restore; the engine counts a bracket left open
 * with more of them than a status line needs (SHELL_BAR_TAKES) as a screen. */
static void scr_take(struct scr *s)
{
	if (s->sc_open)
		s->sc_takes++;
	else
		s->takes++;
}

/* ESC 7 / CSI s (saved 1) and ESC 8 / CSI u (0). A save on top of an open one leaves its
 * takes held; a restore drops them. */
static void scr_cursor_saved(struct scr *s, int saved)
{
	s->sc_open = saved;
	if (!saved)
		s->sc_takes = 0;
}

/* ?47/?1047/?1049: the alternate screen starts blank; the cursor stays where it is. */
static void scr_alt_on(struct scr *s, int cursor)
{
	if (s->alt)
		return;
	if (cursor) {
		s->alt_cx = s->cx;
		s->alt_cy = s->cy;
		s->alt_saved = 1;
	}
	s->alt = 1;
	scr_clear_lines(s, 0, s->rows);
	s->takes++;
}

/* Back to the main screen; ?1049l restores the cursor even when already there (tmux). */
static void scr_alt_off(struct scr *s, int cursor)
{
	if (cursor && s->alt_saved) {
		s->cx = s->alt_cx;
		s->cy = s->alt_cy;
	}
	s->alt = 0;
	if (s->cx > s->cols - 1)
		s->cx = s->cols - 1;
	if (s->cy > s->rows - 1)
		s->cy = s->rows - 1;
}

/* RIS: modes, margins, tabs and charsets as new, the main screen cleared. The DECSC state
 * goes back to the top-left but keeps its origin mode (tmux resets the saved cell and cursor,
 * not the saved mode). */
static void scr_ris(struct scr *s)
{
	s->alt = 0;
	s->g[0] = s->g[1] = s->gl = 0;
	s->saved.cx = s->saved.cy = 0;
	s->saved.g[0] = s->saved.g[1] = s->saved.gl = 0;
	scr_tabs_reset(s);
	s->top = 0;
	s->bot = s->rows - 1;
	s->mode = SCR_M_WRAP | SCR_M_CURSOR;
	scr_clear_lines(s, 0, s->rows);
	s->cx = s->cy = 0;
}

/* ------------------------------------------------------------ controls --- */

static void scr_reply(struct scr *s, const char *r)
{
	size_t n = strlen(r);

	if (n > sizeof(s->reply) - s->nreply)
		return;                     /* nobody drains: the query goes unanswered */
	memcpy(s->reply + s->nreply, r, n);
	s->nreply += n;
}

/* C0 controls, in any state but a string. SO/SI shift G1/G0 in; the rest draw nothing. */
static void scr_c0(struct scr *s, unsigned char c)
{
	switch (c) {
	case 0x08:
		scr_bs(s);
		break;
	case 0x09:
		scr_ht(s);
		break;
	case 0x0a: case 0x0b: case 0x0c:
		scr_linefeed(s, 0);
		break;
	case 0x0d:
		s->cx = 0;
		break;
	case 0x0e:
		s->gl = 1;
		break;
	case 0x0f:
		s->gl = 0;
		break;
	default:
		break;
	}
	if (c >= 0x08 && c <= 0x0d)
		s->dirty = 1;
	s->last = -1;
}

/* Parameter i as tmux's input_get: missing -> def, below min -> min, a ':' one -> -1. */
#define SCR_P_NONE (-1)
#define SCR_P_SUB  (-2)

static int scr_arg(const struct scr *s, int i, int min, int def)
{
	int v;

	if (i >= s->nparam)
		return def;
	v = s->param[i];
	if (v == SCR_P_NONE)
		return def;
	if (v == SCR_P_SUB)
		return -1;
	return v < min ? min : v;
}

/* ESC sequences. `c` is the final byte. */
static void scr_esc_decrc(struct scr *s, unsigned char c)
{
	(void)c;
	scr_restore(s);
	scr_cursor_saved(s, 0);
}

static void scr_esc_decsc(struct scr *s, unsigned char c)
{
	(void)c;
	scr_save(s);
	scr_cursor_saved(s, 1);
}

static void scr_esc_decaln(struct scr *s, unsigned char c)
{
	int x, y;

	(void)c;
	for (y = 0; y < s->rows; y++) {
		struct scr_line *l = scr_ln(s, y);

		for (x = 0; x < s->cols; x++)
			l->cell[x] = 'E';
		l->nmark = 0;
		l->used = 1;
	}
	s->cx = s->cy = 0;
	s->top = 0;
	s->bot = s->rows - 1;
}

static void scr_esc_keypad(struct scr *s, unsigned char c)
{
	if (c == '=')
		s->mode |= SCR_M_APPKEYPAD;
	else
		s->mode &= ~(unsigned)SCR_M_APPKEYPAD;
}

static void scr_esc_ind(struct scr *s, unsigned char c)
{
	if (c == 'E')
		s->cx = 0;
	scr_linefeed(s, 0);
}

static void scr_esc_hts(struct scr *s, unsigned char c)
{
	(void)c;
	if (s->cx < s->cols)
		scr_tab_set(s, s->cx, 1);
}

static void scr_esc_ri(struct scr *s, unsigned char c)
{
	(void)c;
	if (s->cy == s->top)
		scr_scroll_down(s);
	else if (s->cy > 0)
		s->cy--;
}

static void scr_esc_ris(struct scr *s, unsigned char c)
{
	(void)c;
	scr_ris(s);
}

/* ESC ( 0 / ESC ( B designate G0, ESC ) 0 / ESC ) B G1; other sets are not known to tmux. */
static void scr_esc_charset(struct scr *s, unsigned char c)
{
	s->g[s->inter[0] == ')'] = c == '0';
}

static void scr_esc_st(struct scr *s, unsigned char c)
{
	(void)s;
	(void)c;
}

static const struct scr_escop {
	unsigned char final;
	const char *inter;
	void (*fn)(struct scr *, unsigned char);
	int draws;
} scr_esc_ops[] = {
	{ '7', "", scr_esc_decsc, 0 },      { '8', "", scr_esc_decrc, 1 },
	{ '8', "#", scr_esc_decaln, 1 },    { '=', "", scr_esc_keypad, 0 },
	{ '>', "", scr_esc_keypad, 0 },     { 'D', "", scr_esc_ind, 1 },
	{ 'E', "", scr_esc_ind, 1 },        { 'H', "", scr_esc_hts, 0 },
	{ 'M', "", scr_esc_ri, 1 },         { 'c', "", scr_esc_ris, 1 },
	{ '0', "(", scr_esc_charset, 0 },   { 'B', "(", scr_esc_charset, 0 },
	{ '0', ")", scr_esc_charset, 0 },   { 'B', ")", scr_esc_charset, 0 },
	{ '\\', "", scr_esc_st, 0 },
};

static void scr_esc_dispatch(struct scr *s, unsigned char c)
{
	size_t i;

	if (s->discard)
		return;
	for (i = 0; i < sizeof(scr_esc_ops) / sizeof(scr_esc_ops[0]); i++)
		if (scr_esc_ops[i].final == c && strcmp(scr_esc_ops[i].inter, s->inter) == 0) {
			scr_esc_ops[i].fn(s, c);
			s->dirty |= scr_esc_ops[i].draws;
			s->last = -1;
			return;
		}
}

/* ----------------------------------------------------------------- CSI --- */

/* CUU, CUD, CUF, CUB (and VPR, HPR) move n cells; CNL and CPL also go to the first column. */
static void scr_csi_rel(struct scr *s, void (*move)(struct scr *, int), int col0)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n == -1)
		return;
	if (col0)
		s->cx = 0;
	move(s, n);
}

static void scr_csi_cuu(struct scr *s) { scr_csi_rel(s, scr_up, 0); }
static void scr_csi_cud(struct scr *s) { scr_csi_rel(s, scr_down, 0); }
static void scr_csi_cuf(struct scr *s) { scr_csi_rel(s, scr_right, 0); }
static void scr_csi_cub(struct scr *s) { scr_csi_rel(s, scr_left, 0); }
static void scr_csi_cnl(struct scr *s) { scr_csi_rel(s, scr_down, 1); }
static void scr_csi_cpl(struct scr *s) { scr_csi_rel(s, scr_up, 1); }

static void scr_csi_hpa(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n != -1)
		scr_goto(s, n - 1, -1, 1);
}

static void scr_csi_vpa(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n == -1)
		return;
	scr_goto(s, -1, n - 1, 1);
	scr_take(s);
}

static void scr_csi_cup(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1), m = scr_arg(s, 1, 1, 1);

	if (n == -1 || m == -1)
		return;
	scr_goto(s, m - 1, n - 1, 1);
	scr_take(s);
}

static void scr_csi_cbt(struct scr *s)
{
	int cx = s->cx > s->cols - 1 ? s->cols - 1 : s->cx, n = scr_arg(s, 0, 1, 1);

	if (n == -1)
		return;
	while (cx > 0 && n-- > 0) {
		do
			cx--;
		while (cx > 0 && !scr_tab(s, cx));
	}
	s->cx = cx;
}

/* ED 0/1/2 (3, the history, is not kept). */
static void scr_csi_ed(struct scr *s)
{
	switch (scr_arg(s, 0, 0, 0)) {
	case 0:
		if (s->cx <= s->cols - 1)
			scr_clear_cells(s, s->cy, s->cx, s->cols - s->cx);
		scr_clear_lines(s, s->cy + 1, s->rows - s->cy - 1);
		break;
	case 1:
		scr_clear_lines(s, 0, s->cy);
		scr_clear_cells(s, s->cy, 0, s->cx > s->cols - 1 ? s->cols : s->cx + 1);
		break;
	case 2:
		scr_clear_lines(s, 0, s->rows);
		break;
	default:
		break;
	}
}

/* EL 2, and EL 0/1 when they cover the row: nothing at all on a row never written (tmux). */
static void scr_clear_row(struct scr *s)
{
	if (scr_ln(s, s->cy)->used)
		scr_clear_lines(s, s->cy, 1);
}

static void scr_csi_el(struct scr *s)
{
	switch (scr_arg(s, 0, 0, 0)) {
	case 0:
		if (s->cx == 0)
			scr_clear_row(s);
		else if (s->cx <= s->cols - 1)
			scr_clear_cells(s, s->cy, s->cx, s->cols - s->cx);
		break;
	case 1:
		if (s->cx >= s->cols - 1)
			scr_clear_row(s);
		else
			scr_clear_cells(s, s->cy, 0, s->cx + 1);
		break;
	case 2:
		scr_clear_row(s);
		break;
	default:
		break;
	}
}

static void scr_csi_ech(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n != -1 && s->cx < s->cols)
		scr_clear_cells(s, s->cy, s->cx, n);
}

static void scr_csi_ich(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n != -1)
		scr_insert_cells(s, n);
}

static void scr_csi_dch(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n != -1)
		scr_delete_cells(s, n);
}

/*
 * IL/DL: inside the scroll region they move its lines, outside it the screen's below the
 * cursor. m lines survive the move; rows neither moved nor vacated by it are cleared.
 */
static void scr_lines(struct scr *s, int n, int insert)
{
	int end = (s->cy >= s->top && s->cy <= s->bot) ? s->bot : s->rows - 1, m;

	if (n > end + 1 - s->cy)
		n = end + 1 - s->cy;
	if (n <= 0)
		return;
	m = end + 1 - s->cy - n;
	if (insert)
		scr_move_lines(s, s->cy + n, s->cy, m);
	else
		scr_move_lines(s, s->cy, s->cy + n, m);
	if (n > m)
		scr_clear_lines(s, s->cy + m, n - m);
}

static void scr_csi_il(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n != -1)
		scr_lines(s, n, 1);
}

static void scr_csi_dl(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);

	if (n != -1)
		scr_lines(s, n, 0);
}

/* SU and SD: n lines, at most the scroll region's height. */
static void scr_csi_scroll(struct scr *s, void (*scroll)(struct scr *))
{
	int n = scr_arg(s, 0, 1, 1);

	if (n > s->bot - s->top + 1)
		n = s->bot - s->top + 1;
	while (n-- > 0)
		scroll(s);
}

static void scr_csi_su(struct scr *s) { scr_csi_scroll(s, scr_scroll_up); }
static void scr_csi_sd(struct scr *s) { scr_csi_scroll(s, scr_scroll_down); }

static void scr_csi_decstbm(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1), m = scr_arg(s, 1, 1, s->rows);

	if (n == -1 || m == -1)
		return;
	n = n - 1 > s->rows - 1 ? s->rows - 1 : n - 1;
	m = m - 1 > s->rows - 1 ? s->rows - 1 : m - 1;
	if (n >= m)
		return;                     /* a region of one line is refused */
	s->top = n;
	s->bot = m;
	scr_goto(s, 0, 0, 1);
	scr_take(s);
}

static void scr_csi_tbc(struct scr *s)
{
	switch (scr_arg(s, 0, 0, 0)) {
	case 0:
		if (s->cx < s->cols)
			scr_tab_set(s, s->cx, 0);
		break;
	case 3:
		memset(s->tabs, 0, sizeof(s->tabs));
		break;
	default:
		break;
	}
}

/* REP: the last character again, at most to the end of the row (tmux). */
static void scr_csi_rep(struct scr *s)
{
	int n = scr_arg(s, 0, 1, 1);
	uint32_t c;

	if (n == -1 || s->last == -1)
		return;
	if (n > s->cols - s->cx)
		n = s->cols - s->cx;
	c = (uint32_t)s->last;
	while (n-- > 0)
		scr_graphic(s, c);
}

static void scr_csi_scp(struct scr *s)
{
	scr_save(s);
	scr_cursor_saved(s, 1);
}

static void scr_csi_rcp(struct scr *s)
{
	scr_restore(s);
	scr_cursor_saved(s, 0);
}

static void scr_csi_none(struct scr *s)
{
	(void)s;                        /* SGR: attributes are dropped */
}

/* Queries. The answers are tmux's (a VT100 with advanced video), the size report xterm's. */
static void scr_csi_da(struct scr *s)
{
	if (scr_arg(s, 0, 0, 0) == 0)
		scr_reply(s, "\033[?1;2c");
}

static void scr_csi_da2(struct scr *s)
{
	if (scr_arg(s, 0, 0, 0) == 0)
		scr_reply(s, "\033[>84;0;0c");
}

static void scr_csi_dsr(struct scr *s)
{
	char r[32];

	switch (scr_arg(s, 0, 0, 0)) {
	case 5:
		scr_reply(s, "\033[0n");
		break;
	case 6:
		if (str_fmt(r, sizeof(r), "\033[%d;%dR", s->cy + 1,
		    (s->cx < s->cols ? s->cx : s->cols - 1) + 1) == 0)
			scr_reply(s, r);
		break;
	default:
		break;
	}
}

static void scr_csi_winops(struct scr *s)
{
	char r[32];

	if (scr_arg(s, 0, 0, -1) == 18 &&
	    str_fmt(r, sizeof(r), "\033[8;%d;%dt", s->rows, s->cols) == 0)
		scr_reply(s, r);
}

/* Modes (SM/RM, private with '?'). Most are a bit; some act when they change. */
static void scr_mode_origin(struct scr *s, int set)
{
	(void)set;
	scr_goto(s, 0, 0, 1);
}

static void scr_mode_deccolm(struct scr *s, int set)
{
	(void)set;                      /* the width stays; the screen clears, as in tmux */
	scr_goto(s, 0, 0, 1);
	scr_clear_lines(s, 0, s->rows);
}

static void scr_mode_alt(struct scr *s, int set)
{
	if (set)
		scr_alt_on(s, 0);
	else
		scr_alt_off(s, 0);
}

static void scr_mode_alt_cursor(struct scr *s, int set)
{
	if (set)
		scr_alt_on(s, 1);
	else
		scr_alt_off(s, 1);
}

static void scr_mode_save(struct scr *s, int set)
{
	if (set)
		scr_save(s);
	else
		scr_restore(s);
}

static const struct scr_modeop {
	int num, priv;
	unsigned bit;
	void (*fn)(struct scr *, int set);
} scr_modes[] = {
	{ 4, 0, SCR_M_INSERT, NULL },           { 1, 1, SCR_M_APPCURSOR, NULL },
	{ 3, 1, 0, scr_mode_deccolm },          { 6, 1, SCR_M_ORIGIN, scr_mode_origin },
	{ 7, 1, SCR_M_WRAP, NULL },             { 25, 1, SCR_M_CURSOR, NULL },
	{ 47, 1, 0, scr_mode_alt },             { 1047, 1, 0, scr_mode_alt },
	{ 1048, 1, 0, scr_mode_save },          { 1049, 1, 0, scr_mode_alt_cursor },
	{ 2004, 1, SCR_M_PASTE, NULL },
};

static void scr_set_modes(struct scr *s, int priv, int set)
{
	int i, n;
	size_t k;

	for (i = 0; i < s->nparam; i++) {
		if ((n = scr_arg(s, i, 0, -1)) == -1)
			continue;
		for (k = 0; k < sizeof(scr_modes) / sizeof(scr_modes[0]); k++) {
			const struct scr_modeop *m = &scr_modes[k];

			if (m->num != n || m->priv != priv)
				continue;
			if (set)
				s->mode |= m->bit;
			else
				s->mode &= ~m->bit;
			if (m->fn != NULL)
				m->fn(s, set);
			break;
		}
	}
}

static void scr_csi_sm(struct scr *s)
{
	scr_set_modes(s, 0, 1);
}

static void scr_csi_rm(struct scr *s)
{
	scr_set_modes(s, 0, 0);
}

static void scr_csi_decset(struct scr *s)
{
	scr_set_modes(s, 1, 1);
}

static void scr_csi_decrst(struct scr *s)
{
	scr_set_modes(s, 1, 0);
}

/* tmux's CSI table; `a` (HPR) and `e` (VPR) added, as xterm has them. */
static const struct scr_csiop {
	unsigned char final;
	const char *inter;
	void (*fn)(struct scr *);
	int draws;
} scr_csi_ops[] = {
	{ '@', "", scr_csi_ich, 1 },    { 'A', "", scr_csi_cuu, 1 },    { 'B', "", scr_csi_cud, 1 },
	{ 'C', "", scr_csi_cuf, 1 },    { 'D', "", scr_csi_cub, 1 },    { 'E', "", scr_csi_cnl, 1 },
	{ 'F', "", scr_csi_cpl, 1 },    { 'G', "", scr_csi_hpa, 1 },    { 'H', "", scr_csi_cup, 1 },
	{ 'J', "", scr_csi_ed, 1 },     { 'K', "", scr_csi_el, 1 },     { 'L', "", scr_csi_il, 1 },
	{ 'M', "", scr_csi_dl, 1 },     { 'P', "", scr_csi_dch, 1 },    { 'S', "", scr_csi_su, 1 },
	{ 'T', "", scr_csi_sd, 1 },     { 'X', "", scr_csi_ech, 1 },    { 'Z', "", scr_csi_cbt, 1 },
	{ '`', "", scr_csi_hpa, 1 },    { 'a', "", scr_csi_cuf, 1 },    { 'b', "", scr_csi_rep, 1 },
	{ 'c', "", scr_csi_da, 0 },     { 'c', ">", scr_csi_da2, 0 },   { 'd', "", scr_csi_vpa, 1 },
	{ 'e', "", scr_csi_cud, 1 },    { 'f', "", scr_csi_cup, 1 },    { 'g', "", scr_csi_tbc, 0 },
	{ 'h', "", scr_csi_sm, 1 },     { 'h', "?", scr_csi_decset, 1 }, { 'l', "", scr_csi_rm, 1 },
	{ 'l', "?", scr_csi_decrst, 1 }, { 'm', "", scr_csi_none, 0 },  { 'n', "", scr_csi_dsr, 0 },
	{ 'r', "", scr_csi_decstbm, 1 }, { 's', "", scr_csi_scp, 0 },   { 't', "", scr_csi_winops, 0 },
	{ 'u', "", scr_csi_rcp, 1 },
};

static void scr_csi_dispatch(struct scr *s, unsigned char c)
{
	size_t i;

	if (s->discard)
		return;
	for (i = 0; i < sizeof(scr_csi_ops) / sizeof(scr_csi_ops[0]); i++)
		if (scr_csi_ops[i].final == c && strcmp(scr_csi_ops[i].inter, s->inter) == 0) {
			scr_csi_ops[i].fn(s);
			s->dirty |= scr_csi_ops[i].draws;
			s->last = -1;
			return;
		}
}

/* A parameter byte (digit, ';' or ':'), bounded as tmux bounds them: past 63 bytes, past
 * 23 parameters or past INT_MAX the sequence is void. */
static void scr_param(struct scr *s, unsigned char c)
{
	int *p;

	if (s->plen >= SSHMCP_SCR_PARAM_BYTES - 1) {
		s->discard = 1;
		return;
	}
	s->plen++;
	if (s->nparam == 0)
		s->param[s->nparam++] = SCR_P_NONE;
	p = &s->param[s->nparam - 1];
	if (c == ';') {
		if (s->nparam >= SSHMCP_SCR_PARAMS - 1)
			s->discard = 1;
		else
			s->param[s->nparam++] = SCR_P_NONE;
	} else if (c == ':') {
		*p = SCR_P_SUB;
	} else if (*p != SCR_P_SUB) {
		int d = c - '0';

		if (*p == SCR_P_NONE)
			*p = 0;
		if (*p > (INT_MAX - d) / 10)
			s->discard = 1;
		else
			*p = *p * 10 + d;
	}
}

/* OSC 0 and 2 set the title: kept if valid UTF-8 (as tmux), without control characters, cut
 * at a character boundary to fit. */
static void scr_osc_title(struct scr *s, const char *p, size_t n)
{
	char t[SSHMCP_SCR_TITLE_MAX];
	size_t o = 0, used;
	uint32_t cp;

	if (n > sizeof(t) - 1)
		n = json_utf8_valid_prefix(p, sizeof(t) - 1);
	if (!json_utf8_valid(p, n))
		return;
	for (; n > 0; p += used, n -= used) {
		(void)json_utf8_next(p, n, &used, &cp);
		if (cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			continue;
		memcpy(t + o, p, used);
		o += used;
	}
	t[o] = '\0';
	if (strcmp(t, s->title) != 0) {
		memcpy(s->title, t, o + 1);
		s->dirty = 1;
	}
}

/* An OSC ended (by BEL when `c` is 0x07, else by ST). Titles are kept; the colour queries
 * programs make to pick a light or dark theme (OSC 10/11 ;?, some wait for it) are answered:
 * light grey on black, ending as the query did. */
static void scr_osc_end(struct scr *s, unsigned char c)
{
	static const char *const colour[] = { "10;rgb:c0c0/c0c0/c0c0", "11;rgb:0000/0000/0000" };
	char r[48];
	size_t i = 0;
	unsigned num = 0;

	if (s->oscn == 0 || s->osc[0] < '0' || s->osc[0] > '9')
		return;
	for (; i < s->oscn && s->osc[i] >= '0' && s->osc[i] <= '9' && num < 1000; i++)
		num = num * 10 + (unsigned)(s->osc[i] - '0');
	if (i < s->oscn && s->osc[i] == ';')
		i++;
	if (num == 0 || num == 2)
		scr_osc_title(s, s->osc + i, s->oscn - i);
	else if ((num == 10 || num == 11) && s->oscn - i == 1 && s->osc[i] == '?' &&
	    str_fmt(r, sizeof(r), "\033]%s%s", colour[num - 10], c == 0x07 ? "\007" : "\033\\") == 0)
		scr_reply(s, r);
}

/* -------------------------------------------------------------- parser --- */

/* tmux's states; its DCS states are one string state here (a DCS is skipped whole). */
enum scr_state {
	SCR_GROUND, SCR_ESC, SCR_ESC_INTER, SCR_CSI, SCR_CSI_PARAM, SCR_CSI_INTER, SCR_CSI_IGNORE,
	SCR_OSC, SCR_STR, SCR_SAME = 0xff
};

enum scr_act {
	SCR_A_NONE, SCR_A_EXEC, SCR_A_PRINT, SCR_A_UTF8, SCR_A_INTER, SCR_A_PARAM, SCR_A_ESC,
	SCR_A_CSI, SCR_A_OSC_PUT, SCR_A_OSC_END
};

struct scr_trans {
	unsigned char lo, hi;
	unsigned char act, next;
};

/* From every state: CAN and SUB abandon a sequence, ESC starts one. */
#define SCR_ANYWHERE \
	{ 0x18, 0x18, SCR_A_EXEC, SCR_GROUND }, { 0x1a, 0x1a, SCR_A_EXEC, SCR_GROUND }, \
	{ 0x1b, 0x1b, SCR_A_NONE, SCR_ESC }
/* C0 controls inside a sequence act where they stand. */
#define SCR_C0 \
	{ 0x00, 0x17, SCR_A_EXEC, SCR_SAME }, { 0x19, 0x19, SCR_A_EXEC, SCR_SAME }, \
	{ 0x1c, 0x1f, SCR_A_EXEC, SCR_SAME }

static const struct scr_trans scr_t_ground[] = {
	SCR_ANYWHERE, SCR_C0,
	{ 0x20, 0x7e, SCR_A_PRINT, SCR_SAME }, { 0x80, 0xff, SCR_A_UTF8, SCR_SAME },
};

static const struct scr_trans scr_t_esc[] = {
	SCR_ANYWHERE, SCR_C0,
	{ 0x20, 0x2f, SCR_A_INTER, SCR_ESC_INTER }, { 0x30, 0x4f, SCR_A_ESC, SCR_GROUND },
	{ 0x50, 0x50, SCR_A_NONE, SCR_STR },        /* DCS */
	{ 0x51, 0x57, SCR_A_ESC, SCR_GROUND },      { 0x58, 0x58, SCR_A_NONE, SCR_STR },   /* SOS */
	{ 0x59, 0x5a, SCR_A_ESC, SCR_GROUND },      { 0x5b, 0x5b, SCR_A_NONE, SCR_CSI },
	{ 0x5c, 0x5c, SCR_A_ESC, SCR_GROUND },      { 0x5d, 0x5d, SCR_A_NONE, SCR_OSC },
	{ 0x5e, 0x5f, SCR_A_NONE, SCR_STR },        /* PM, APC */
	{ 0x60, 0x6a, SCR_A_ESC, SCR_GROUND },
	{ 0x6b, 0x6b, SCR_A_NONE, SCR_STR },        /* screen's ESC k title: tmux swallows it */
	{ 0x6c, 0x7e, SCR_A_ESC, SCR_GROUND },
};

static const struct scr_trans scr_t_esc_inter[] = {
	SCR_ANYWHERE, SCR_C0,
	{ 0x20, 0x2f, SCR_A_INTER, SCR_SAME },      { 0x30, 0x7e, SCR_A_ESC, SCR_GROUND },
};

static const struct scr_trans scr_t_csi[] = {
	SCR_ANYWHERE, SCR_C0,
	{ 0x20, 0x2f, SCR_A_INTER, SCR_CSI_INTER }, { 0x30, 0x3b, SCR_A_PARAM, SCR_CSI_PARAM },
	{ 0x3c, 0x3f, SCR_A_INTER, SCR_CSI_PARAM }, { 0x40, 0x7e, SCR_A_CSI, SCR_GROUND },
};

static const struct scr_trans scr_t_csi_param[] = {
	SCR_ANYWHERE, SCR_C0,
	{ 0x20, 0x2f, SCR_A_INTER, SCR_CSI_INTER }, { 0x30, 0x3b, SCR_A_PARAM, SCR_SAME },
	{ 0x3c, 0x3f, SCR_A_NONE, SCR_CSI_IGNORE }, { 0x40, 0x7e, SCR_A_CSI, SCR_GROUND },
};

static const struct scr_trans scr_t_csi_inter[] = {
	SCR_ANYWHERE, SCR_C0,
	{ 0x20, 0x2f, SCR_A_INTER, SCR_SAME },      { 0x30, 0x3f, SCR_A_NONE, SCR_CSI_IGNORE },
	{ 0x40, 0x7e, SCR_A_CSI, SCR_GROUND },
};

static const struct scr_trans scr_t_csi_ignore[] = {
	SCR_ANYWHERE, SCR_C0,
	{ 0x40, 0x7e, SCR_A_NONE, SCR_GROUND },
};

/* OSC: BEL or ST (ESC \) ends it; CAN/SUB abort it; other controls are not part of it. */
static const struct scr_trans scr_t_osc[] = {
	{ 0x07, 0x07, SCR_A_OSC_END, SCR_GROUND },
	{ 0x18, 0x18, SCR_A_EXEC, SCR_GROUND },     { 0x1a, 0x1a, SCR_A_EXEC, SCR_GROUND },
	{ 0x1b, 0x1b, SCR_A_OSC_END, SCR_ESC },     { 0x20, 0xff, SCR_A_OSC_PUT, SCR_SAME },
};

/* DCS, SOS, PM, APC, ESC k: skipped to ST; CAN/SUB/ESC end them (xterm). */
static const struct scr_trans scr_t_str[] = {
	{ 0x18, 0x18, SCR_A_EXEC, SCR_GROUND },     { 0x1a, 0x1a, SCR_A_EXEC, SCR_GROUND },
	{ 0x1b, 0x1b, SCR_A_NONE, SCR_ESC },
};

#define SCR_TAB(t) { t, sizeof(t) / sizeof(t[0]) }
static const struct {
	const struct scr_trans *t;
	size_t n;
} scr_states[] = {
	[SCR_GROUND] = SCR_TAB(scr_t_ground),         [SCR_ESC] = SCR_TAB(scr_t_esc),
	[SCR_ESC_INTER] = SCR_TAB(scr_t_esc_inter),   [SCR_CSI] = SCR_TAB(scr_t_csi),
	[SCR_CSI_PARAM] = SCR_TAB(scr_t_csi_param),   [SCR_CSI_INTER] = SCR_TAB(scr_t_csi_inter),
	[SCR_CSI_IGNORE] = SCR_TAB(scr_t_csi_ignore), [SCR_OSC] = SCR_TAB(scr_t_osc),
	[SCR_STR] = SCR_TAB(scr_t_str),
};

static void scr_enter(struct scr *s, int st)
{
	s->st = st;
	if (st == SCR_ESC || st == SCR_CSI) {
		s->discard = 0;
		s->ninter = s->nparam = s->plen = 0;
		s->inter[0] = '\0';
	} else if (st == SCR_OSC || st == SCR_STR) {
		s->slen = s->oscn = 0;
		s->last = -1;
	}
}

static void scr_act(struct scr *s, int act, unsigned char c)
{
	switch (act) {
	case SCR_A_EXEC:
		scr_c0(s, c);
		break;
	case SCR_A_PRINT:
		scr_graphic(s, c);
		s->last = c;
		break;
	case SCR_A_UTF8:
		scr_utf8(s, c);
		break;
	case SCR_A_INTER:               /* at most 3 intermediates (tmux) */
		if (s->ninter >= (int)sizeof(s->inter) - 1)
			s->discard = 1;
		else {
			s->inter[s->ninter++] = (char)c;
			s->inter[s->ninter] = '\0';
		}
		break;
	case SCR_A_PARAM:
		scr_param(s, c);
		break;
	case SCR_A_ESC:
		scr_esc_dispatch(s, c);
		break;
	case SCR_A_CSI:
		scr_csi_dispatch(s, c);
		break;
	case SCR_A_OSC_PUT:
		if (s->oscn < sizeof(s->osc) - 1)
			s->osc[s->oscn++] = (char)c;
		break;
	case SCR_A_OSC_END:
		scr_osc_end(s, c);
		break;
	default:
		break;
	}
}

static void scr_byte(struct scr *s, unsigned char c)
{
	const struct scr_trans *t;
	size_t i, n;

	if (s->u_need > 0 && (s->st != SCR_GROUND || c < 0x80))
		scr_utf8_bad(s);            /* a control cut the character short */
	if (s->st == SCR_GROUND && c >= 0x20 && c < 0x7f) {
		scr_graphic(s, c);          /* the common case, without the table */
		s->last = c;
		return;
	}
	if ((s->st == SCR_OSC || s->st == SCR_STR) && ++s->slen > SSHMCP_SCR_STRING_MAX)
		s->st = SCR_GROUND;         /* never terminated: abandoned, output shows again */
	t = scr_states[s->st].t;
	n = scr_states[s->st].n;
	for (i = 0; i < n; i++)
		if (c >= t[i].lo && c <= t[i].hi)
			break;
	if (i == n)
		return;                     /* ignored here (DEL, bytes >= 0x80 in a sequence) */
	scr_act(s, t[i].act, c);
	if (t[i].next != SCR_SAME)
		scr_enter(s, t[i].next);
}

/* ----------------------------------------------------------------- API --- */

/* Both grids in one allocation: 2 * rows lines, their marks, their cells (all blank). */
static int scr_alloc(int cols, int rows, void **mem, struct scr_line **g)
{
	size_t nl = (size_t)rows * 2, lines = nl * sizeof(struct scr_line);
	size_t marks = nl * SSHMCP_SCR_MARKS * sizeof(struct scr_mark);
	size_t cells = nl * (size_t)cols * sizeof(uint32_t), i;
	unsigned char *p = malloc(lines + marks + cells);
	uint32_t *c;
	struct scr_mark *m;

	if (p == NULL)
		return -1;
	g[0] = (struct scr_line *)(void *)p;
	g[1] = g[0] + rows;
	m = (struct scr_mark *)(void *)(p + lines);
	c = (uint32_t *)(void *)(p + lines + marks);
	for (i = 0; i < nl; i++) {
		g[0][i].cell = c + i * (size_t)cols;
		g[0][i].mark = m + i * SSHMCP_SCR_MARKS;
		scr_line_empty(&g[0][i], cols);
	}
	*mem = p;
	return 0;
}

static int scr_size_ok(int cols, int rows)
{
	return cols >= 1 && cols <= SSHMCP_SCR_COLS_MAX && rows >= 1 && rows <= SSHMCP_SCR_ROWS_MAX;
}

/* A new screen of cols x rows: 0, or -1 for a size out of range or no memory. */
SCR_API static int scr_init(struct scr *s, int cols, int rows)
{
	memset(s, 0, sizeof(*s));
	if (!scr_size_ok(cols, rows) || scr_alloc(cols, rows, &s->mem, s->grid) < 0)
		return -1;
	s->cols = cols;
	s->rows = rows;
	s->bot = rows - 1;
	s->mode = SCR_M_WRAP | SCR_M_CURSOR;
	s->last = -1;
	scr_tabs_reset(s);
	return 0;
}

SCR_API static void scr_free(struct scr *s)
{
	free(s->mem);
	memset(s, 0, sizeof(*s));
}

/*
 * A run of printable ASCII in the usual modes (autowrap, no insert, no line drawing), written
 * straight into the rows: what scr_put does for each character, without its checks for the
 * rare cases. Returns the bytes taken (0: not the usual modes).
 */
static size_t scr_ascii_run(struct scr *s, const unsigned char *p, size_t n)
{
	size_t i = 0;

	if ((s->mode & (SCR_M_WRAP | SCR_M_INSERT)) != SCR_M_WRAP || s->g[s->gl])
		return 0;
	while (i < n && p[i] >= 0x20 && p[i] < 0x7f) {
		struct scr_line *l;
		int x0;

		if (s->cx >= s->cols) {
			scr_linefeed(s, 1);
			s->cx = 0;
		}
		l = scr_ln(s, s->cy);
		x0 = s->cx;
		for (; i < n && p[i] >= 0x20 && p[i] < 0x7f && s->cx < s->cols; i++) {
			if (l->cell[s->cx] & (SCR_WIDE | SCR_PAD))
				scr_overwrite(l, s->cx, 1, s->cols);
			l->cell[s->cx++] = p[i];
		}
		if (l->nmark > 0)
			scr_marks_drop(l, x0, s->cx);
		l->used = 1;
	}
	s->zwj = 0;
	s->last = p[i - 1];
	s->dirty = 1;
	return i;
}

/* The PTY's bytes, in any pieces: a sequence may straddle two calls. */
SCR_API static void scr_feed(struct scr *s, const unsigned char *p, size_t n)
{
	size_t i = 0, k;

	if (s->mem == NULL)
		return;
	while (i < n) {
		if (s->st == SCR_GROUND && s->u_need == 0 && p[i] >= 0x20 && p[i] < 0x7f &&
		    (k = scr_ascii_run(s, p + i, n - i)) > 0) {
			i += k;
			continue;
		}
		scr_byte(s, p[i++]);
	}
	if (s->dirty) {
		s->gen++;
		s->dirty = 0;
	}
}

/* The PTY has been quiet for SSHMCP_SCR_STRING_IDLE_MS: a string still open (an OSC or DCS
 * whose end never came) is abandoned, so the output after it shows, as tmux does. */
SCR_API static void scr_idle(struct scr *s)
{
	if (s->st == SCR_OSC || s->st == SCR_STR)
		s->st = SCR_GROUND;
}

/*
 * One grid into its resized copy, as tmux resizes a screen without history or reflow: when
 * it loses rows they go from the bottom up to the row of `cy`, then from the top; the columns
 * keep their left part. Returns the row `cy` moved to.
 */
static int scr_copy_grid(const struct scr_line *from, int ocols, int orows, struct scr_line *to,
    int cols, int rows, int cy)
{
	int drop = 0, y, n, w = ocols < cols ? ocols : cols, i, cut;

	if (rows < orows) {
		int need = orows - rows, below = orows - 1 - cy;

		drop = need - (below < need ? below : need);
	}
	n = orows - drop < rows ? orows - drop : rows;
	for (y = 0; y < n; y++) {
		const struct scr_line *f = &from[drop + y];
		struct scr_line *l = &to[y];

		memcpy(l->cell, f->cell, (size_t)w * sizeof(*l->cell));
		cut = (l->cell[w - 1] & SCR_WIDE) != 0;  /* its other half is cut off */
		if (cut)
			l->cell[w - 1] = SCR_BLANK;
		for (i = 0; i < f->nmark; i++)
			if (f->mark[i].col < w - cut)
				l->mark[l->nmark++] = f->mark[i];
		l->wrapped = f->wrapped;
		l->used = f->used;
	}
	return cy - drop < 0 ? 0 : cy - drop;
}

/*
 * The terminal was resized (the engine also tells the PTY). Both grids keep their top-left
 * part (the main one around the cursor 1049 saved while the alternate screen is up); the
 * cursor keeps its place, inside the new size; the scroll region resets when the height
 * changes, the tab stops when the width does. 0, or -1 (size out of range, no memory: the
 * screen is as it was).
 */
SCR_API static int scr_resize(struct scr *s, int cols, int rows)
{
	struct scr_line *g[2];
	void *mem;
	int cy[2], i;

	if (!scr_size_ok(cols, rows) || s->mem == NULL)
		return -1;
	if (cols == s->cols && rows == s->rows)
		return 0;
	if (scr_alloc(cols, rows, &mem, g) < 0)
		return -1;
	for (i = 0; i < 2; i++)
		cy[i] = scr_copy_grid(s->grid[i], s->cols, s->rows, g[i], cols, rows,
		    i == s->alt || !s->alt_saved ? s->cy : s->alt_cy);
	free(s->mem);
	s->mem = mem;
	s->grid[0] = g[0];
	s->grid[1] = g[1];
	if (rows != s->rows) {
		s->top = 0;
		s->bot = rows - 1;
	}
	s->rows = rows;
	if (cols != s->cols) {
		s->cols = cols;
		scr_tabs_reset(s);
	}
	s->cy = cy[s->alt];
	if (s->alt)
		s->alt_cy = cy[0];
	if (s->cx > cols)
		s->cx = cols - 1;
	if (s->alt_cx > cols - 1)
		s->alt_cx = cols - 1;
	s->gen++;
	return 0;
}

/* Append cp as UTF-8 if it fits with room for the NUL. */
static int scr_emit(char *out, size_t cap, size_t *o, uint32_t cp)
{
	unsigned char u[4];
	size_t n = json_utf8_put(cp, u);

	if (n > cap - 1 - *o)
		return -1;
	memcpy(out + *o, u, n);
	*o += n;
	return 0;
}

/* Row `row` as UTF-8: a wide character once, marks after their cell, trailing blanks trimmed,
 * cut at a character boundary if cap is short. `ascii_acs` shows DEC line drawing as the
 * ASCII bytes that selected it, as tmux's capture-pane does. */
static size_t scr_render(const struct scr *s, int row, char *out, size_t cap, int ascii_acs)
{
	const struct scr_line *l;
	size_t o = 0;
	int x, i, full = 0;

	if (cap == 0)
		return 0;
	if (row < 0 || row >= s->rows || s->mem == NULL) {
		out[0] = '\0';
		return 0;
	}
	l = &s->grid[s->alt][row];
	for (x = 0; x < s->cols && !full; x++) {
		uint32_t c = l->cell[x], cp = c & SCR_CP;

		if (c & SCR_PAD)
			continue;
		if ((c & SCR_ACS) && !ascii_acs)
			cp = scr_acs_glyph[cp - 0x5f];
		full = scr_emit(out, cap, &o, cp) < 0;
		for (i = 0; i < l->nmark && !full; i++)
			if (l->mark[i].col == x)
				full = scr_emit(out, cap, &o, l->mark[i].cp) < 0;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}

/* Row `row` (0 = top) as read_screen shows it; returns its length. SSHMCP_SCR_ROW_TEXT_MAX
 * always fits. */
SCR_API static size_t scr_row_text(const struct scr *s, int row, char *out, size_t cap)
{
	return scr_render(s, row, out, cap, 0);
}

/* The cursor for a reader: past the last column counts as on it. */
SCR_API static void scr_cursor(const struct scr *s, int *row, int *col)
{
	*row = s->cy;
	*col = s->cx < s->cols ? s->cx : s->cols - 1;
}

/* Take the answers to terminal queries, to type back into the PTY; returns their length. */
SCR_API static size_t scr_replies(struct scr *s, unsigned char *out, size_t cap)
{
	size_t n = s->nreply < cap ? s->nreply : cap;

	memcpy(out, s->reply, n);
	memmove(s->reply, s->reply + n, s->nreply - n);
	s->nreply -= n;
	return n;
}

/* ---------------------------------------------------------------- keys --- */

/*
 * Key names for send_keys, and what an xterm sends for them (our sessions say
 * TERM=xterm-256color). Arrows, Home and End change with DECCKM (ESC [?1h, which curses
 * programs send at start: then ESC O A), the keypad with DECKPAM (ESC =).
 */
enum scr_keymode { SCR_K_PLAIN, SCR_K_CURSOR, SCR_K_KEYPAD };

static const struct scr_keydef {
	const char *name;
	const char *seq;
	const char *app;            /* in application cursor or keypad mode */
	int mode;
} scr_keys[] = {
	{ "enter", "\r", NULL, SCR_K_PLAIN },           { "return", "\r", NULL, SCR_K_PLAIN },
	{ "esc", "\033", NULL, SCR_K_PLAIN },           { "escape", "\033", NULL, SCR_K_PLAIN },
	{ "tab", "\t", NULL, SCR_K_PLAIN },             { "btab", "\033[Z", NULL, SCR_K_PLAIN },
	{ "shift-tab", "\033[Z", NULL, SCR_K_PLAIN },   { "backspace", "\177", NULL, SCR_K_PLAIN },
	{ "bspace", "\177", NULL, SCR_K_PLAIN },        { "space", " ", NULL, SCR_K_PLAIN },
	{ "up", "\033[A", "\033OA", SCR_K_CURSOR },     { "down", "\033[B", "\033OB", SCR_K_CURSOR },
	{ "right", "\033[C", "\033OC", SCR_K_CURSOR },  { "left", "\033[D", "\033OD", SCR_K_CURSOR },
	{ "home", "\033[H", "\033OH", SCR_K_CURSOR },   { "end", "\033[F", "\033OF", SCR_K_CURSOR },
	{ "pgup", "\033[5~", NULL, SCR_K_PLAIN },       { "pageup", "\033[5~", NULL, SCR_K_PLAIN },
	{ "pgdn", "\033[6~", NULL, SCR_K_PLAIN },       { "pagedown", "\033[6~", NULL, SCR_K_PLAIN },
	{ "insert", "\033[2~", NULL, SCR_K_PLAIN },     { "delete", "\033[3~", NULL, SCR_K_PLAIN },
	{ "del", "\033[3~", NULL, SCR_K_PLAIN },
	{ "f1", "\033OP", NULL, SCR_K_PLAIN },          { "f2", "\033OQ", NULL, SCR_K_PLAIN },
	{ "f3", "\033OR", NULL, SCR_K_PLAIN },          { "f4", "\033OS", NULL, SCR_K_PLAIN },
	{ "f5", "\033[15~", NULL, SCR_K_PLAIN },        { "f6", "\033[17~", NULL, SCR_K_PLAIN },
	{ "f7", "\033[18~", NULL, SCR_K_PLAIN },        { "f8", "\033[19~", NULL, SCR_K_PLAIN },
	{ "f9", "\033[20~", NULL, SCR_K_PLAIN },        { "f10", "\033[21~", NULL, SCR_K_PLAIN },
	{ "f11", "\033[23~", NULL, SCR_K_PLAIN },       { "f12", "\033[24~", NULL, SCR_K_PLAIN },
	{ "kp0", "0", "\033Op", SCR_K_KEYPAD },         { "kp1", "1", "\033Oq", SCR_K_KEYPAD },
	{ "kp2", "2", "\033Or", SCR_K_KEYPAD },         { "kp3", "3", "\033Os", SCR_K_KEYPAD },
	{ "kp4", "4", "\033Ot", SCR_K_KEYPAD },         { "kp5", "5", "\033Ou", SCR_K_KEYPAD },
	{ "kp6", "6", "\033Ov", SCR_K_KEYPAD },         { "kp7", "7", "\033Ow", SCR_K_KEYPAD },
	{ "kp8", "8", "\033Ox", SCR_K_KEYPAD },         { "kp9", "9", "\033Oy", SCR_K_KEYPAD },
	{ "kpenter", "\r", "\033OM", SCR_K_KEYPAD },    { "kpplus", "+", "\033Ok", SCR_K_KEYPAD },
	{ "kpminus", "-", "\033Om", SCR_K_KEYPAD },     { "kpstar", "*", "\033Oj", SCR_K_KEYPAD },
	{ "kpslash", "/", "\033Oo", SCR_K_KEYPAD },     { "kpdot", ".", "\033On", SCR_K_KEYPAD },
};

/* The control characters that are not ctrl + a letter. */
static const char scr_key_ctrl[] = "@\0[\033\\\034]\035^\036_\037?\177 \0";

/* "ctrl-x" (also "c-x", "ctrl+x", "^x"): the control character, or -1. */
static int scr_key_ctrlchar(const char *name)
{
	static const char *const pre[] = { "ctrl-", "ctrl+", "c-", "^" };
	size_t i, n;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		n = strlen(pre[i]);
		if (strncasecmp(name, pre[i], n) != 0 || name[n] == '\0' || name[n + 1] != '\0')
			continue;
		if (isalpha((unsigned char)name[n]))
			return (unsigned char)name[n] & 0x1f;
		for (n = 0; n < sizeof(scr_key_ctrl) - 1; n += 2)
			if (scr_key_ctrl[n] == name[strlen(pre[i])])
				return (unsigned char)scr_key_ctrl[n + 1];
		return -1;
	}
	return -1;
}

/* A key name's bytes (without alt), or NULL; `one` holds a single-character answer. */
static const char *scr_key_seq(const struct scr *s, const char *name, char one[5])
{
	size_t i, used;
	uint32_t cp;
	int c;

	for (i = 0; i < sizeof(scr_keys) / sizeof(scr_keys[0]); i++) {
		const struct scr_keydef *k = &scr_keys[i];

		if (strcasecmp(name, k->name) != 0)
			continue;
		if ((k->mode == SCR_K_CURSOR && (s->mode & SCR_M_APPCURSOR)) ||
		    (k->mode == SCR_K_KEYPAD && (s->mode & SCR_M_APPKEYPAD)))
			return k->app;
		return k->seq;
	}
	if ((c = scr_key_ctrlchar(name)) >= 0) {
		one[0] = (char)c;
		one[1] = '\0';
		return one;     /* ctrl-@ is NUL: the caller counts it by its length */
	}
	i = strlen(name);   /* a single character stands for itself */
	if (i > 0 && i <= 4 && json_utf8_next(name, i, &used, &cp) == JSON_U8_OK && used == i &&
	    cp >= 0x20 && cp != 0x7f) {
		memcpy(one, name, i + 1);
		return one;
	}
	return NULL;
}

/*
 * The bytes key `name` sends, honouring the modes the program set: enter, esc, tab, btab,
 * backspace, space, up, down, left, right, home, end, pgup, pgdn, insert, delete, f1-f12,
 * kp0-kp9, kpenter, kpplus, kpminus, kpstar, kpslash, kpdot, ctrl-a..ctrl-z (and ctrl-@ [ \ ]
 * ^ _ ? space), any single character, and alt- (or m-, meta-) before any of these (ESC
 * first). Names are case-blind but a single character is itself. Returns the length (ctrl-@
 * is one NUL byte), or -1 for an unknown name or cap too small.
 */
SCR_API static int scr_key(const struct scr *s, const char *name, char *out, size_t cap)
{
	static const char *const alts[] = { "alt-", "alt+", "meta-", "m-" };
	const char *seq;
	char one[5];
	size_t i, n, alt = 0;

	for (i = 0; i < sizeof(alts) / sizeof(alts[0]); i++)
		if (strncasecmp(name, alts[i], strlen(alts[i])) == 0 && name[strlen(alts[i])] != '\0') {
			name += strlen(alts[i]);
			alt = 1;
			break;
		}
	if ((seq = scr_key_seq(s, name, one)) == NULL)
		return -1;
	n = seq == one && one[0] == '\0' ? 1 : strlen(seq);
	if (cap == 0 || alt + n > cap - 1)
		return -1;
	if (alt)
		out[0] = '\033';
	memcpy(out + alt, seq, n);
	out[alt + n] = '\0';
	return (int)(alt + n);
}

/* ====================================================== command engine === */

/* ----------------------------------------------------- device profiles --- */

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

/* ------------------------------------------------------ shell sessions --- */

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
/* CMD_SCREEN: a full-screen program holds the terminal (the result is its screen); it sits
 * between RUNNING and AWAITING so that "still running" (<= CMD_AWAITING) and "has news for
 * a waiter" (> CMD_RUNNING) both hold for it. */
enum cmd_status { CMD_QUEUED, CMD_RUNNING, CMD_SCREEN, CMD_AWAITING, CMD_COMPLETED,
	CMD_TIMEOUT, CMD_INTERRUPTED, CMD_FAILED };

static const char *const cmd_status_names[] = {
	[CMD_QUEUED] = "running", [CMD_RUNNING] = "running", [CMD_SCREEN] = "screen",
	[CMD_AWAITING] = "awaiting_input",
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
	int approved;                       /* ConfirmCommand: the person said yes */
	int session_reset;                  /* the first on a session that replaced a lost one */
	uint64_t scr_takes;                 /* the screen's `takes` when it started */
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
/* Sentinels that are not a command's end: a continuation prompt, the
 * setup's stages (S2F: a policy's prompt hooks did not stay read-only). */
#define SHELL_SENT_PS2    (-1)
#define SHELL_SENT_STAGE1 (-2)
#define SHELL_SENT_STAGE2 (-3)
#define SHELL_SENT_UNSAFE (-4)

/* The setup line (shell_setup_line), well under a tty's canonical line of 4095 bytes. */
#define SHELL_SETUP_MAX 2048
/* Lines longer than this are typed encoded: a tty's canonical line holds 4095 bytes. */
#define SHELL_LINE_SAFE 1024
#define SHELL_CHUNK 512

/* The longest sentinel: marker, status, $PWD, end mark. */
#define SHELL_HOLD_MAX (SSHMCP_PATH_MAX + 64)

/* A device session's own state, beside its shell (the device engine's: dev_ functions). */
struct dev_state {
	const struct dev_profile *prof;
	enum dev_phase phase;
	regex_t re[DEV_RE_COUNT];           /* compiled once the host name is learned */
	unsigned re_set;                    /* bit i: re[i] is compiled */
	char held[256];                     /* blank and context lines that may precede a prompt */
	size_t nheld;
	int held_ctx;                       /* ... and a context line is among them */
	char host[SSHMCP_PROMPT_MAX];       /* the host name in its prompt, learned at login */
	char cand[SSHMCP_PROMPT_MAX];       /* the last line the previous login probe saw */
	int tries, bad, priv;
	int stage;                          /* the next look at the last line: DEV_AT_* */
	const char *next;                   /* the next line to type (command or pager_off) */
	const char *typed;                  /* the line typed last (its echo ends a line) */
	size_t typedlen;
	int echo;                           /* its echo has been seen */
	int lines;                          /* output lines since that echo */
	int64_t sent;
	char prompt[SSHMCP_PROMPT_MAX];     /* the line that ended the last step, exactly */
	int64_t rx_prev, gap;               /* reads since the line was typed: the last one,
	                                     * the longest pause between two (-1: one read) */
	int64_t jitter;                     /* ... the longest after a read that ended mid-line:
	                                     * the link's chunking, not the device's pauses */
	int mid;                            /* the last read ended mid-line */
	int fast;                           /* the last line is that prompt: a short settle */
	char line[SSHMCP_DEV_LINE_MAX];     /* the last line as a terminal shows it */
	size_t n, col;
	size_t fresh;                       /* cells written since the cursor last went back:
	                                     * blanks past them are erasure, not text */
};

/*
 * A session's command engine: how a command is typed, how its output is read for its end,
 * what a quiet spell means. The POSIX shell engine (sentinel prompts, shell_) and the device
 * engine (learned prompts, dev_) sit behind this table; the session code calls through it.
 */
struct engine {
	const char *name;
	void (*login)(struct shell *sh, int64_t now);        /* the PTY is open: set it up */
	int (*type)(struct shell *sh, struct cmd *c);         /* type it; -1: too long */
	void (*start)(struct shell *sh, struct cmd *c, int64_t now);   /* it is current now */
	void (*text)(struct shell *sh, const unsigned char *p, size_t n, int64_t now);
	void (*arrived)(struct shell *sh);                    /* after a read's text */
	void (*check)(struct shell *sh, const struct prompt *pr, int64_t now);
	int64_t (*quiet_at)(const struct shell *sh);          /* when a quiet spell is over */
};

/* A session's timers, armed by the code that decides to wait (never recomputed from
 * flags): the loop wakes the session at the earliest, its step looks at what is due. */
enum sh_timer { SHT_SETUP, SHT_QUIET, SHT_CMD, SHT_GRACE, SHT_ENABLE, SHT_COUNT };

struct shell {
	struct sess s;
	struct job job;
	char key[SSHMCP_USER_MAX + 2 * SSHMCP_HOST_MAX + SSHMCP_NAME_MAX + 16];
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
	size_t lcol;                        /* where its next byte goes: a CR went back (< nline) */
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
	char sudo_nonce[20];                /* in sudo's prompt: sudo_password goes there only */
	int policy;                         /* a command policy holds: read-only prompt hooks */
	int typed;                          /* input typed to the running command (not read?) */
	int stage2;                         /* the setup's second line answered: SHELL_SENT_* */
	int stage1_answered;                /* its second line went: further S1 prompts are
	                                     * busybox's, reading the long line in pieces */
	int reset;                          /* replaces a lost session: its first result says so */
	char endmark[24];                   /* "_<nonce>__": ends the cwd in a sentinel */
	char cwd[SSHMCP_PATH_MAX];          /* the shell's $PWD after the last command */
	struct mask mask;                   /* its secrets, blanked in output */
	unsigned char scratch[SSHMCP_IO_CHUNK + SHELL_HOLD_MAX + FILT_EXTRA + SSHMCP_SECRET_MAX];
	/* A network device (dv != NULL): prompts instead of sentinels (dev_ functions). */
	const struct engine *eng;           /* shell_engine, or dev_engine once a device */
	struct dev_state *dv;
	int dev_auto;                       /* no device_type: a device may answer instead */
	int64_t tm[SHT_COUNT];              /* armed timers (0: not armed) */
	int64_t next_at;                    /* the earliest of them and the connection's */
	int kick;                           /* something was asked of it: step it next turn */
	int dprobes;                        /* device-looking prompts seen before a shell's */
	char banner[2048];                  /* the first login output, for detection */
	size_t nbanner;
	char enable_pw[SSHMCP_SECRET_MAX];
	int enable_want;                    /* a new enable password: escalate once */
	/* The terminal screen the PTY stream draws (section "terminal screen"), always fed. */
	struct scr scr;
	uint64_t scr_seen;                  /* scr.gen when a reader last saw it (changed) */
	int win_pending;                    /* a window-change request still to send */
};

static const struct engine shell_engine, dev_engine;
static void shell_arm(struct shell *sh, enum sh_timer t, int64_t at);
static int64_t shell_deadline(const struct shell *sh);

/* The session's device profile, NULL for a POSIX shell. */
static const struct dev_profile *shell_dev(const struct shell *sh)
{
	return sh->dv != NULL ? sh->dv->prof : NULL;
}

/* The device engine takes the session (device_type given, or a device answered). */
static int dev_attach(struct shell *sh, const struct dev_profile *p)
{
	if (sh->dv == NULL && (sh->dv = calloc(1, sizeof(*sh->dv))) == NULL)
		return -1;
	sh->dv->prof = p;
	sh->eng = &dev_engine;
	return 0;
}

static const char *shell_mode_name(const struct shell *sh)
{
	return sh->mode[0] != '\0' ? sh->mode : "shell";
}

/*
 * The lines typed to make any POSIX shell report like ours; sent again into nested shells.
 * First a short one that turns line editors off (zsh's zle, and busybox's editor where it
 * can: both drop input typed ahead of them) and prompts with the stage sentinel
 * "<CAN>__SSHMCP_<nonce>_S1__" (hooks that would set PS1 cleared); then, at that prompt
 * (not before: the editor is reading again), the second line (shell_setup_line),
 * which answers "S2__" ("S2F__": a policy's prompt hooks did not stay read-only). The
 * setup is over at the first prompt after S2: prompts before it are the old setup's.
 * PS1 carries the exit status and $PWD: "<CAN>__SSHMCP_<nonce>_<status>_<cwd>_<nonce>__".
 * CAN first: it ends any escape sequence or string a program left open (an OSC title
 * without its BEL would otherwise swallow the prompt). Quotes split every marker: what we
 * type never contains one. A leading space keeps the lines out of bash's history.
 */
static int shell_setup_stage1(const struct shell *sh, char *out, size_t cap)
{
	return str_fmt(out, cap, " stty -echo 2>/dev/null; set +o emacs +o vi 2>/dev/null; "
	    "unsetopt zle prompt_cr prompt_sp banghist 2>/dev/null; PROMPT_COMMAND=; unset -f "
	    "precmd 2>/dev/null; unset precmd_functions; _sshmcp_1=\"$(printf '\\030')__SSHMCP_\"'%s"
	    "_S1__'; PS1=$_sshmcp_1\n", sh->nonce);
}

/*
 * The second line. Every session also gets:
 *   - history off (nothing of ours or the agent's reaches ~/.bash_history), pagers off;
 *   - sudo as a function that gives sudo a prompt with a per-session nonce: sudo_password is
 *     typed at that prompt only. The nonce is in a variable the policy does not let a
 *     command read (the function's text, which `type sudo` shows, names only the
 *     variable), not in the environment, and masked wherever it appears in output;
 *   - a drain before each prompt: input a command did not read (type-ahead, a terminal
 *     answer) is read away instead of being run as the next command. bash and zsh use a
 *     builtin in their prompt hook; busybox ash (its read has -t, and a timeout of 10 ms
 *     is the shortest it keeps) and dash (stty) a command substitution in PS1.
 *   - bash's PROMPT_COMMAND (zsh's precmd) puts PS1 back, so a user's own PS1 does not
 *     blind us; under a command policy PS1 and the hooks are read-only instead, aliases
 *     are off, and the last command fails when the shell did not keep PS1 read-only.
 */
static int shell_setup_line(const struct shell *sh, char *out, size_t cap)
{
	const char *n = sh->nonce, *keep = sh->policy ? "" : "; PS1=$_sshmcp_1; PS2=$_sshmcp_2";

	return str_fmt(out, cap, " setopt prompt_subst 2>/dev/null; "
	    "export PAGER=cat GIT_PAGER=cat MANPAGER=cat SYSTEMD_PAGER= LESSSECURE=1; unset HISTFILE; "
	    "unalias sudo 2>/dev/null; _sshmcp_sp='[sudo] password for %%u (%s): '; "
	    "sudo() { command sudo -p \"$_sshmcp_sp\" \"$@\"; }; _sshmcp_c=$(printf '\\030'); "
	    "_sshmcp_1=\"${_sshmcp_c}__SSHMCP_\"'%s_$?_${PWD}_''%s__'; "
	    "_sshmcp_2=\"${_sshmcp_c}__SSHMCP_\"'%s_PS2__'; PS1=$_sshmcp_1; PS2=$_sshmcp_2; "
	    "if [ -n \"${BASH_VERSION-}\" ]; then set +o history +H; PROMPT_COMMAND='while read -t 0;"
	    " do read -r _sshmcp_j; done%s'; elif [ -n \"${ZSH_VERSION-}\" ]; then SAVEHIST=0; "
	    "_sshmcp_d() { while read -t 0 -r _sshmcp_j; do :; done%s; }; "
	    "eval 'precmd_functions=(_sshmcp_d)'; "
	    "elif ( read -t 0 _sshmcp_j </dev/null ) 2>/dev/null; [ $? != 2 ]; then "
	    "PS1=\"$PS1\"'$(while read -t 0.01 -r "
	    "_sshmcp_j; do :; done)'; else PS1=\"$PS1\"'$(stty -icanon min 0 time 0 2>/dev/null; "
	    "while read -r _sshmcp_j; do :; done; stty icanon 2>/dev/null)'; fi%s; "
	    "printf '\\030__SSHMCP_''%s_S2%s__'\n", sh->sudo_nonce, n, n, n, keep, keep,
	    sh->policy ? "; readonly PS0 PS1 PS2 PS4 PROMPT_COMMAND BASH_ENV ENV precmd_functions "
	    "2>/dev/null; unalias -a 2>/dev/null; shopt -u expand_aliases 2>/dev/null; "
	    "unsetopt aliases 2>/dev/null; ( PS1=x ) 2>/dev/null && _sshmcp_f=F" : "", n,
	    sh->policy ? "'\"${_sshmcp_f-}\"'" : "");
}

static int shell_type(struct shell *sh, const char *text, size_t n)
{
	if (n > ring_space(&sh->s.in))
		return -1;
	sh->kick = 1;                       /* to be sent: step it, the loop would not wake */
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

/* Input for the running program, not a command line: if the program exits without reading
 * it, the prompt's drain reads it away and the next command first kills a partial line
 * (shell_start_next), so the shell never runs it. -1 when the input ring is full. */
static int shell_type_input(struct shell *sh, const char *text, size_t n)
{
	sh->typed = 1;
	return shell_type(sh, text, n);
}

/* Type the setup: into a new shell, a nested one, or again after a login script. `stage`
 * 1 types the first line, 2 (on its sentinel) the second. */
static void shell_type_setup(struct shell *sh, int stage)
{
	char setup[SHELL_SETUP_MAX];

	sh->stage1_answered = stage == 2;
	if ((stage == 1 ? shell_setup_stage1(sh, setup, sizeof(setup)) :
	    shell_setup_line(sh, setup, sizeof(setup))) == 0)
		(void)shell_type(sh, setup, strlen(setup));
}

static void dev_start(struct shell *sh, struct cmd *c, int64_t now);
static void dev_put(struct shell *sh, const unsigned char *p, size_t n);
static void dev_after_feed(struct shell *sh);
static void dev_track(struct shell *sh, const unsigned char *p, size_t n);

/* Output of the current command: whole lines go to its ring; the last line waits. */
/* Output into a command's ring, sudo's masked nonce (MASK_TAG) shown as stars. */
static void shell_out_append(struct cmd *c, const char *p, size_t n)
{
	while (n > 0) {
		const char *t = memchr(p, MASK_TAG[0], n);
		size_t k = t != NULL ? (size_t)(t - p) : n;

		ring_append(&c->out, p, k);
		if (t != NULL)
			ring_append(&c->out, "*", 1), k++;
		p += k;
		n -= k;
	}
}

static void shell_commit_line(struct shell *sh)
{
	if (sh->cur != NULL && sh->nline > 0)
		shell_out_append(sh->cur, sh->line, sh->nline);
	sh->nline = 0;
}

/* The line is full: its older half goes to the ring (only the tail matters for prompt
 * matching). */
static void shell_line_spill(struct shell *sh)
{
	size_t half = sizeof(sh->line) / 2;

	if (sh->cur != NULL)
		shell_out_append(sh->cur, sh->line, half);
	memmove(sh->line, sh->line + half, sh->nline - half);
	sh->nline -= half;
	sh->lcol = sh->nline;
}

/* Text without CR or LF at the column: over what a CR went back over, then appended. */
static void shell_line_put(struct shell *sh, const unsigned char *p, size_t n)
{
	while (n > 0) {
		size_t k;

		if (sh->lcol < sh->nline) {
			k = sh->nline - sh->lcol < n ? sh->nline - sh->lcol : n;
		} else {
			if (sh->nline == sizeof(sh->line))
				shell_line_spill(sh);
			k = sizeof(sh->line) - sh->nline < n ? sizeof(sh->line) - sh->nline : n;
			sh->nline += k;
		}
		memcpy(sh->line + sh->lcol, p, k);
		sh->lcol += k;
		p += k;
		n -= k;
	}
}

/* An overwrite stops at the column: the rest of a character it cut goes (bytes are not
 * cells: a repaint shorter in bytes must not leave half a UTF-8 sequence). */
static void shell_line_cut(struct shell *sh)
{
	size_t k = 0;

	while (sh->lcol + k < sh->nline && ((unsigned char)sh->line[sh->lcol + k] & 0xc0) == 0x80)
		k++;
	memmove(sh->line + sh->lcol, sh->line + sh->lcol + k, sh->nline - sh->lcol - k);
	sh->nline -= k;
}

/*
 * Output into the last line, as a terminal shows it: a lone CR (the filter keeps it) goes
 * back to the line's start and what follows overwrites it, so a progress bar that repaints
 * its line (pip, wget, curl, apt's download meter: "\r" and the new state) leaves its last
 * state, not one line per repaint; "abc\rX" is "Xbc"; ESC[K (FILT_TOK_EL) erases the rest.
 * At LF the line goes to the ring.
 */
static void shell_emit_out(struct shell *sh, const unsigned char *p, size_t n)
{
	if (sh->lcol > sh->nline)
		sh->lcol = sh->nline;       /* the line was taken (committed, or a prompt) */
	while (n > 0) {
		size_t k = 0;

		while (k < n && p[k] != '\n' && p[k] != '\r' && p[k] != FILT_TOK_EL)
			k++;
		shell_line_put(sh, p, k);
		if (k < n && p[k] == FILT_TOK_EL) {
			sh->nline = sh->lcol;   /* erased to the end of the line */
			k++;
		} else if (k < n) {
			shell_line_cut(sh);
			if (p[k] == '\n') {
				if (sh->nline == sizeof(sh->line))
					shell_line_spill(sh);
				sh->line[sh->nline++] = '\n';
				shell_commit_line(sh);
			}
			sh->lcol = 0;
			k++;
		}
		p += k;
		n -= k;
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

/* The one place a command ends: its final status (a stop the agent or a deadline asked
 * for wins over what the engine saw), the time, the sudo password wiped, and the session
 * let go of it. What the engine does next (go idle, start the next one) is the engine's. */
static void cmd_finish(struct shell *sh, struct cmd *c, enum cmd_status st, int64_t now)
{
	c->status = c->stop ? (enum cmd_status)c->stop : st;
	if (c->t_end == 0)
		c->t_end = now;
	mem_wipe(c->sudo_pw, sizeof(c->sudo_pw));
	c->sh = NULL;
	if (sh != NULL && sh->cur == c) {
		sh->cur = NULL;
		/* Its deadlines go with it (as the setup's do, shell_step). */
		shell_arm(sh, SHT_CMD, 0);
		shell_arm(sh, SHT_GRACE, 0);
	}
}

static void shell_start_next(struct shell *sh, int64_t now);
static void shell_files(struct shell *sh, int64_t now);
static void shell_files_round(struct shell *sh, int64_t now);
static int64_t shell_files_deadline(const struct shell *sh);
static void shell_files_end(struct shell *sh);
static void shell_files_free(struct shell *sh);
static void shell_type_setup(struct shell *sh, int stage);

/* Type the setup again; its sentinel returns the shell to IDLE (shell_on_exit). */
static void shell_resetup(struct shell *sh, int64_t now)
{
	sh->st = SH_SETUP;
	sh->deadline = now + SSHMCP_SHELL_START_MS;
	shell_arm(sh, SHT_SETUP, sh->deadline);
	shell_type_setup(sh, 1);
}

/* The shell printed our prompt: the current command (or the setup) is over. */
static void shell_on_exit(struct shell *sh, int code, int64_t now)
{
	struct cmd *c = sh->cur;

	if (sh->st == SH_SETUP || sh->resetup) {
		if (sh->stage2 == 0)
			return;                 /* a prompt before our setup's: not the end */
		if (sh->stage2 == SHELL_SENT_UNSAFE && sh->s.state == SESS_RUNNING) {
			sess_abort(&sh->s, SSHMCP_ERR_POLICY, "the remote shell did not keep its prompt "
			    "variables read-only: the command policy cannot be enforced in it");
			return;
		}
		sh->stage2 = 0;
	}
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
	cmd_finish(sh, c, CMD_COMPLETED, now);
	sh->st = SH_IDLE;
	sh->t_used = now;
	if (prompt_touches_shell(c->text) && !sh->policy)
		shell_resetup(sh, now);     /* under a policy its hooks are read-only: nothing moved */
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
 * Parse a sentinel at buf[q..len) (just after the marker): "<status>_<cwd><endmark>",
 * "PS2__" or "S1__". Returns its length, 0 when it is not one, -1 when it may still be
 * arriving.
 */
static long shell_sentinel(struct shell *sh, const unsigned char *buf, size_t q, size_t len,
    int *code)
{
	size_t d = 0, elen = strlen(sh->endmark), k;
	const unsigned char *end;

	static const struct { const char *tag; int code; } tags[] = {
		{ "PS2__", SHELL_SENT_PS2 }, { "S1__", SHELL_SENT_STAGE1 },
		{ "S2__", SHELL_SENT_STAGE2 }, { "S2F__", SHELL_SENT_UNSAFE },
	};
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t tl = strlen(tags[i].tag), have = len - q < tl ? len - q : tl;

		if (memcmp(buf + q, tags[i].tag, have) != 0)
			continue;
		if (have < tl)
			return -1;                      /* the rest may be in the next read */
		*code = tags[i].code;
		return (long)tl;
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

/* The marker in output that is not a sentinel (a program printed $PS1, say): its nonce is
 * what makes sentinels unforgeable, so output shows it blanked. */
static void shell_emit_masked_marker(struct shell *sh)
{
	char m[sizeof(sh->marker)];
	size_t n = strlen(sh->marker);

	memcpy(m, sh->marker, n);
	memset(m + strlen("__SSHMCP_"), 'x', strlen(sh->nonce));
	shell_emit(sh, (const unsigned char *)m, n);
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
			shell_emit_masked_marker(sh);           /* the marker, but no sentinel */
			i = j + mlen;
			continue;
		}
		i = j + mlen + (size_t)n;
		if (code == SHELL_SENT_STAGE1) {
			/* Once per stage 1: busybox ash reads a line 1023 bytes at a time and prompts
			 * (still S1) before each piece; a second copy of the line would be read as
			 * commands whenever the prompt's drain misses it, its prompts then taken for
			 * the next commands' ends. */
			if (!sh->stage1_answered)
				shell_type_setup(sh, 2);
		} else if (code == SHELL_SENT_STAGE2 || code == SHELL_SENT_UNSAFE) {
			sh->stage2 = code;
		} else if (code == SHELL_SENT_PS2) {
			sh->ps2++;
			sh->fresh = 1;          /* a quiet spell after it may mean "incomplete" */
		} else
			shell_on_exit(sh, code, now);
	}
	return 0;
}

/* Terminal queries (cursor position, device attributes) are answered as a terminal of
 * the PTY's size would: RouterOS and some shells wait for the answer before the prompt.
 * A shell's queries get the screen's own answers (the real cursor: curses programs and
 * `resize` ask where it is); a device keeps the bottom-right answer its profiles expect. */
static void shell_answer_queries(struct shell *sh)
{
	unsigned char rep[SSHMCP_SCR_REPLY_MAX];
	char answer[32];
	size_t n = scr_replies(&sh->scr, rep, sizeof(rep));

	if (sh->dv == NULL && sh->scr.mem != NULL) {
		sh->f.cpr = sh->f.da = 0;
		if (n > 0)
			(void)shell_type_input(sh, (const char *)rep, n);
		return;
	}
	for (; sh->f.cpr > 0; sh->f.cpr--)
		if (str_fmt(answer, sizeof(answer), "\033[%d;%dR", sh->job.rows, sh->job.cols) == 0)
			(void)shell_type_input(sh, answer, strlen(answer));
	for (; sh->f.da > 0; sh->f.da--)
		(void)shell_type_input(sh, "\033[?1;2c", 7);
}

/* Channel bytes into scratch as text: [sentinel hold][mask hold][filtered bytes], then the
 * session's secrets blanked. Returns the length ready for the scanner (or the device's
 * line model, which has no sentinel hold). */
static size_t shell_filter(struct shell *sh, const unsigned char *p, size_t n)
{
	size_t at = sh->dv != NULL ? 0 : sh->nhold, k = sh->mask.nhold;

	memcpy(sh->scratch, sh->hold, at);
	memcpy(sh->scratch + at, sh->mask.hold, k);
	k += p != NULL ? filt_run(&sh->f, p, n, sh->scratch + at + k) : 0;
	return at + mask_run(&sh->mask, sh->scratch + at, k, p == NULL);
}

/* A quiet spell: a tail held back as a possible secret's start goes on as it is. */
static void shell_mask_flush(struct shell *sh, int64_t now)
{
	if (sh->mask.nhold == 0)
		return;
	sh->eng->text(sh, sh->scratch, shell_filter(sh, NULL, 0), now);
}

/* The POSIX shell engine's text: the sentinel scanner; a tail that may be the start of a
 * sentinel is held for the next read. */
static void shell_eng_text(struct shell *sh, const unsigned char *p, size_t o, int64_t now)
{
	size_t hold = shell_scan(sh, p, o, now);

	if (hold > sizeof(sh->hold))
		hold = 0;   /* too long to be a sentinel: it was emitted as text */
	memcpy(sh->hold, p + o - hold, hold);
	sh->nhold = hold;
}

/* The screen sees the stream as a terminal would, from the read in which a program first
 * took the screen (the filter saw it: filt_takes) on: a session that never runs one keeps
 * no grid (109 KB at 200x50). A grid that cannot be had leaves the session as it was. */
static void shell_screen_feed(struct shell *sh, const unsigned char *p, size_t n)
{
	if (sh->scr.mem == NULL && sh->f.takes && sh->dv == NULL &&
	    scr_init(&sh->scr, sh->job.cols, sh->job.rows) < 0)
		sh->f.takes = 0;
	scr_feed(&sh->scr, p, n);
}

/* Drain what the channel delivered through filter and scanner. */
static void shell_feed(struct shell *sh, int64_t now)
{
	struct ring *r = &sh->s.out[0];

	int got = 0;

	while (ring_used(r) > 0) {
		size_t n, o;
		const unsigned char *p = ring_rptr(r, &n);

		if (n > SSHMCP_IO_CHUNK)
			n = SSHMCP_IO_CHUNK;
		o = shell_filter(sh, p, n);
		shell_screen_feed(sh, p, n);
		ring_consume(r, n);
		sh->last_rx = now;
		got = 1;
		sh->eng->text(sh, sh->scratch, o, now);
	}
	shell_answer_queries(sh);
	if (sh->f.sc_drop > 0)
		sh->fresh = 1;      /* a status line's text, dropped, is news all the same */
	sh->f.sc_drop = 0;
	if (got) {
		sh->eng->arrived(sh);
		shell_arm(sh, SHT_QUIET, sh->eng->quiet_at(sh));   /* then look at the last line */
	}
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
	int rc;

	if (sh->st != SH_IDLE || sh->nq == 0)
		return;
	c = sh->queue[0];
	memmove(sh->queue, sh->queue + 1, (size_t)(sh->nq - 1) * sizeof(sh->queue[0]));
	sh->nq--;
	sh->ps2 = sh->ps2_expected = 0;
	sh->echo_done = 0;
	rc = sh->eng->type(sh, c);
	sh->typed = 0;
	if (rc < 0) {
		err_set(&c->err, SSHMCP_ERR_USAGE, "command longer than the input buffer (%d bytes)",
		    SSHMCP_STDIN_RING);
		cmd_finish(sh, c, CMD_FAILED, now);
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
	c->scr_takes = sh->scr.takes;
	c->t_start = now;
	if (c->deadline > 0)
		shell_arm(sh, SHT_CMD, c->deadline);
	sh->eng->start(sh, c, now);
}

/* The POSIX shell engine types a command as a line, or encoded when a line could not carry
 * it (newlines, control bytes, a tty's canonical limit). */
static int shell_eng_type(struct shell *sh, struct cmd *c)
{
	size_t tl = strlen(c->text);

	if (sh->typed)
		(void)shell_type(sh, "\025", 1);   /* VKILL: a partial line left unread goes */
	if (sh->mode[0] == '\0' && (memchr(c->text, '\n', tl) != NULL || tl > SHELL_LINE_SAFE ||
	    str_has_control(c->text)))
		return shell_type_encoded(sh, c->text, tl);
	return shell_type(sh, c->text, tl) < 0 || shell_type(sh, "\n", 1) < 0 ? -1 : 0;
}

static void shell_eng_start(struct shell *sh, struct cmd *c, int64_t now)
{
	(void)now;
	sh->f = (struct filt){ .st = FILT_TEXT };
	c->ctx = prompt_ctx(c->text);
}

/* Ctrl-C now; if the shell has not come back by the grace deadline, the channel goes. */
static void shell_interrupt(struct shell *sh, struct cmd *c, enum cmd_status why, int64_t now)
{
	if (c->stop != 0)
		return;
	c->stop = (int)why;
	if (c->status == CMD_QUEUED) {
		int i;

		for (i = 0; i < sh->nq; i++)
			if (sh->queue[i] == c) {
				memmove(sh->queue + i, sh->queue + i + 1,
				    (size_t)(sh->nq - i - 1) * sizeof(sh->queue[0]));
				sh->nq--;
				break;
			}
		cmd_finish(sh, c, why, now);
		return;
	}
	/* Only the current command has a grace period: a queued one must not move its timer. */
	c->grace_deadline = now + SSHMCP_INTERRUPT_GRACE_MS;
	shell_arm(sh, SHT_GRACE, c->grace_deadline);
	(void)shell_type(sh, "\003", 1);
	if (c->status == CMD_AWAITING || c->status == CMD_SCREEN)
		c->status = CMD_RUNNING;
}

/* Is this last line sudo's prompt, the one with our nonce (shell_setup_line), which the
 * mask turned into MASK_TAG? Any other "Password:" (a script's read, a program we do not
 * know, one printing sudo's words) never gets sudo_password. */
static int shell_is_sudo_prompt(const char *line)
{
	char tail[48];
	size_t n = strlen(line), k;

	if (str_fmt(tail, sizeof(tail), " (%s): ", MASK_TAG) < 0)
		return 0;
	k = strlen(tail);
	return strncmp(line, "[sudo] password for ", 20) == 0 && n >= k &&
	    strcmp(line + n - k, tail) == 0;
}

/* Did the running command take the screen (alternate screen, cursor addressing) since it
 * started? Then it is a full-screen program: its result is the screen, not a byte stream.
 * A line editor, a progress bar or `clear` never counts: they end or never address rows,
 * and a status line drawn between a save and a restore of the cursor (apt's) addresses
 * rows only inside that bracket (scr_take): a bracket still open with more addressing than
 * a status line needs (a scroll region, then the bar's row) is a screen after all. */
#define SHELL_BAR_TAKES 2
static int shell_took_screen(const struct shell *sh, const struct cmd *c)
{
	return sh->dv == NULL && (sh->scr.takes != c->scr_takes ||
	    sh->scr.sc_takes > SHELL_BAR_TAKES);
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
	if (kind != PROMPT_INPUT && shell_took_screen(sh, c)) {
		c->status = CMD_SCREEN;     /* a question on its last line (less's ':') stays one */
		return;
	}
	if (sh->ps2 > sh->ps2_expected && sh->nline == 0) {
		err_set(&c->err, SSHMCP_ERR_INCOMPLETE, "the shell wants more input: unbalanced "
		    "quotes, brackets or a trailing backslash");
		shell_interrupt(sh, c, CMD_FAILED, now);
		return;
	}
	if (kind == PROMPT_INPUT) {
		if (c->sudo_pw[0] != '\0' && !c->sudo_sent && shell_is_sudo_prompt(line)) {
			c->sudo_sent = 1;      /* once: a wrong password comes back as a question */
			sh->nline = 0;         /* a prompt we answered is not output */
			(void)shell_type_input(sh, c->sudo_pw, strlen(c->sudo_pw));
			(void)shell_type_input(sh, "\n", 1);
			return;
		}
		(void)str_copy(c->prompt, sizeof(c->prompt), line);
		str_subst(c->prompt, MASK_TAG[0], '*');
		c->status = CMD_AWAITING;
		return;
	}
	if (sh->policy && ((c->ctx == CTX_SHELL && kind == PROMPT_SHELL) ||
	    ((c->ctx == CTX_REPL || sh->mode[0] != '\0') && kind == PROMPT_REPL))) {
		/* What is typed next would go to it, not to the shell the policy checks for. */
		err_set(&c->err, SSHMCP_ERR_POLICY, "refused: the command opened a %s the policy "
		    "cannot watch; it was interrupted", kind == PROMPT_REPL ? "REPL" : "shell");
		shell_interrupt(sh, c, CMD_FAILED, now);
		return;
	}
	if (c->ctx == CTX_SHELL && kind == PROMPT_SHELL && !sh->resetup) {
		/* A nested shell: teach it our prompt, so exit codes keep coming. */
		sh->resetup = 1;
		sh->discard = 1;
		sh->nline = 0;
		shell_type_setup(sh, 1);
		return;
	}
	if ((c->ctx == CTX_REPL || sh->mode[0] != '\0') && kind == PROMPT_REPL) {
		sh->nline = 0;            /* the REPL prompt is not output */
		(void)str_copy(sh->mode, sizeof(sh->mode), "repl");
		(void)str_copy(c->mode, sizeof(c->mode), "repl");
		cmd_finish(sh, c, CMD_COMPLETED, now);
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

/* ----------------------------------------------------- device sessions --- */

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
	sh->dv->typed = line;
	sh->dv->typedlen = n;
	sh->dv->echo = 0;
	sh->dv->lines = 0;
	sh->dv->sent = now;
	sh->dv->rx_prev = 0;
	sh->dv->gap = -1;
	sh->dv->jitter = 0;
	sh->dv->mid = 0;
	if (sh->dv->phase == DEV_ENABLE)
		shell_arm(sh, SHT_ENABLE, now + SSHMCP_DEV_ENABLE_MS);
}

/* Type the next line of the command text or pager_off; 0 when none is left. */
static int dev_type_next(struct shell *sh, int64_t now)
{
	const char *p = sh->dv->next;
	size_t n, len;

	if (p == NULL || *p == '\0')
		return 0;
	n = len = strcspn(p, "\n");
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	dev_type_line(sh, p, n, now);
	sh->dv->next = p[len] == '\n' ? p + len + 1 : p + len;
	return 1;
}

/* The line model starts an empty line. */
static void dev_line_clear(struct shell *sh)
{
	sh->dv->n = sh->dv->col = sh->dv->fresh = 0;
}

/* The current line as text: trailing blanks go when the cursor went back over it. */
static void dev_line_text(const struct shell *sh, char *out, size_t cap)
{
	size_t n = sh->dv->n < cap ? sh->dv->n : cap - 1;

	memcpy(out, sh->dv->line, n);
	while (n > sh->dv->fresh && n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
}

/* The typed line's echo: a line that ends with it (after a prompt, or alone). */
static int dev_is_echo(const struct shell *sh, const char *line)
{
	size_t n = sh->dv->typedlen, ll = strlen(line);

	while (ll > 0 && line[ll - 1] == ' ')
		ll--;
	return sh->dv->typed != NULL && ll >= n && memcmp(line + ll - n, sh->dv->typed, n) == 0;
}

static int dev_mode_of(const struct shell *sh, const char *line, char *name, size_t cap);

/* Does the session's pattern i match? False before the prompt is learned. */
static int dev_re_hit(const struct shell *sh, int i, const char *line)
{
	return (sh->dv->re_set & 1u << i) != 0 && regexec(&sh->dv->re[i], line, 0, NULL, 0) == 0;
}

/* Lines before the echo: answers to earlier newlines (a slow link delivers them late) are
 * a prompt alone and go; anything else means the device does not echo: it is output. */
static int dev_before_echo(struct shell *sh, const char *line)
{
	char mode[16];

	if (line[0] == '\0')
		return 1;
	if (dev_is_echo(sh, line)) {
		sh->dv->echo = 1;
		return 1;
	}
	if (dev_mode_of(sh, line, mode, sizeof(mode)) >= 0)
		return 1;
	sh->dv->echo = 1;
	return 0;
}

/* Junos prints "[edit interfaces ge-0/0/1]" (after a blank line) before every config
 * prompt: part of the prompt, not of the output. Such lines wait here; a line of output
 * after them lets them through, the prompt drops them (dev_held_end). */
static int dev_hold(struct shell *sh, struct cmd *c, const char *line)
{
	size_t n = strlen(line);
	int ctx = dev_re_hit(sh, DEV_RE_CONTEXT, line);

	if (sh->dv->prof->context_re == NULL || (line[0] != '\0' && !ctx) ||
	    n + 1 > sizeof(sh->dv->held) - sh->dv->nheld) {
		ring_append(&c->out, sh->dv->held, sh->dv->nheld);
		sh->dv->nheld = 0;
		sh->dv->held_ctx = 0;
		return 0;
	}
	memcpy(sh->dv->held + sh->dv->nheld, line, n);
	sh->dv->held[sh->dv->nheld + n] = '\n';
	sh->dv->nheld += n + 1;
	sh->dv->held_ctx |= ctx;
	return 1;
}

/* The prompt came: held blank lines were output unless a context line followed them. */
static void dev_held_end(struct shell *sh, struct cmd *c)
{
	if (!sh->dv->held_ctx)
		ring_append(&c->out, sh->dv->held, sh->dv->nheld);
	sh->dv->nheld = 0;
	sh->dv->held_ctx = 0;
}

/* A whole line arrived: output of the running command once its echo went by. */
static void dev_line_end(struct shell *sh)
{
	char line[SSHMCP_DEV_LINE_MAX];
	struct cmd *c = sh->cur;

	dev_line_text(sh, line, sizeof(line));
	dev_line_clear(sh);
	if (sh->dv->phase == DEV_ENABLE && (dev_re_hit(sh, DEV_RE_ERROR, line) ||
	    dev_re_match("[Dd]enied|[Bb]ad secret|[Ii]nvalid password|[Ww]rong", line)))
		sh->dv->bad = 1;
	if (sh->dv->phase == DEV_LOGIN) {
		sh->dv->echo = 1;              /* the device answered a newline (or the banner goes on) */
		return;
	}
	if (!sh->dv->echo && dev_before_echo(sh, line))
		return;
	if (c == NULL || sh->dv->phase != DEV_RUN || dev_hold(sh, c, line))
		return;
	if (sh->dv->lines++ < SSHMCP_DEV_ERR_LINES && dev_re_hit(sh, DEV_RE_ERROR, line))
		err_set(&c->err, SSHMCP_ERR_DEVICE, "the device rejected '%.*s': %s",
		    (int)(sh->dv->typedlen < 120 ? sh->dv->typedlen : 120), sh->dv->typed, line);
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
			sh->dv->col = sh->dv->fresh = 0;
		} else if (b == '\b' || b == FILT_TOK_LEFT) {
			size_t k = b == '\b' ? 1 : i + 1 < n ? p[++i] : 1;

			sh->dv->col = sh->dv->col > k ? sh->dv->col - k : 0;
			sh->dv->fresh = 0;
		} else if (b == FILT_TOK_EL) {
			sh->dv->n = sh->dv->col;
			if (sh->dv->fresh > sh->dv->n)
				sh->dv->fresh = sh->dv->n;
		} else {
			if (sh->dv->col == sizeof(sh->dv->line)) {
				dev_line_end(sh);       /* a line longer than any prompt: let it go */
			}
			sh->dv->line[sh->dv->col++] = (char)b;
			if (sh->dv->col > sh->dv->n)
				sh->dv->n = sh->dv->col;
			if (sh->dv->col > sh->dv->fresh)
				sh->dv->fresh = sh->dv->col;
		}
	}
}

/* After a read: advance a pager that shows. */
static void dev_after_feed(struct shell *sh)
{
	char line[SSHMCP_PROMPT_MAX];

	if (sh->dv->n == 0 || sh->dv->n >= sizeof(line))
		return;
	dev_line_text(sh, line, sizeof(line));
	if (dev_re_hit(sh, DEV_RE_PAGER, line)) {
		(void)shell_type(sh, sh->dv->prof->pager_key, strlen(sh->dv->prof->pager_key));
		dev_line_clear(sh);
	}
}

static void dev_re_free(struct shell *sh)
{
	int i;

	if (sh->dv == NULL)
		return;
	for (i = 0; i < DEV_RE_COUNT; i++)
		if (sh->dv->re_set & 1u << i)
			regfree(&sh->dv->re[i]);
	sh->dv->re_set = 0;
}

/* Compile dre[i]; a pattern the profile does not have (NULL) stays unset: never a hit. */
static int dev_re_set(struct shell *sh, int i, const char *src)
{
	if (src == NULL)
		return 0;
	if (dev_re_comp(&sh->dv->re[i], src, 1) < 0)
		return -1;
	sh->dv->re_set |= 1u << i;
	return 0;
}

/* The host name is known: compile the prompts of every mode with it. */
static int dev_learn(struct shell *sh, const char *host)
{
	const struct dev_profile *p = sh->dv->prof;
	char re[SSHMCP_PROMPT_MAX * 2 + 64];
	int i;

	dev_re_free(sh);
	(void)str_copy(sh->dv->host, sizeof(sh->dv->host), host);
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
		const char *m = sh->dv->prof->modes[i].name;

		if (m == NULL || !dev_re_hit(sh, i, line))
			continue;
		if (strcmp(m, "config-sub") == 0)
			dev_submode(line, name, cap);
		else
			(void)str_copy(name, cap, strcmp(m, "user") == 0 && sh->dv->priv ? "privileged" : m);
		return i;
	}
	return -1;
}

/* A device session starts: a newline makes the device print its prompt again. */
static void dev_login(struct shell *sh, int64_t now)
{
	sh->st = SH_SETUP;
	sh->dv->phase = DEV_LOGIN;
	sh->deadline = now + SSHMCP_SHELL_START_MS;
	shell_arm(sh, SHT_SETUP, sh->deadline);
	sh->f = (struct filt){ .dev = 1 };
	sh->nhold = 0;
	dev_line_clear(sh);
	sh->dprobes = 0;
	sh->dv->cand[0] = '\0';
	dev_type_line(sh, "", 0, now);
}

/* Login: the same prompt twice in a row, each the last line after a newline came back, is
 * the prompt (a banner line that looks like one is followed by more). One newline at a
 * time is typed, a next one only once the last was answered or after a long quiet. */
static void dev_probe(struct shell *sh, const char *line, int stage, int64_t now)
{
	char host[SSHMCP_PROMPT_MAX];
	int like = dev_host_of(sh->dv->prof, line, host, sizeof(host)) == 0;

	if (dev_re_match(DEV_PRESS_KEY, line)) {
		dev_type_line(sh, "", 0, now);
		return;
	}
	if (like && sh->dv->echo && strcmp(line, sh->dv->cand) == 0) {
		if (dev_learn(sh, host) < 0 || dev_mode_of(sh, line, sh->mode, sizeof(sh->mode)) < 0) {
			sess_abort(&sh->s, SSHMCP_ERR_INTERNAL, "profile %s: bad prompt pattern",
			    sh->dv->prof->name);
			return;
		}
		(void)str_copy(sh->dv->prompt, sizeof(sh->dv->prompt), line);
		sh->dv->phase = DEV_PAGER;
		sh->dv->next = sh->dv->prof->pager_off;
		dev_line_clear(sh);
		if (!dev_type_next(sh, now)) {
			sh->dv->phase = DEV_IDLE;
			sh->st = SH_IDLE;
			sh->was_ready = 1;
			shell_start_next(sh, now);
		}
		return;
	}
	if (stage < DEV_AT_RELEARN && !(like && sh->dv->echo))
		return;                     /* more may come: look again after a longer quiet */
	if (++sh->dprobes > SSHMCP_DEV_PROBES) {
		sess_abort(&sh->s, SSHMCP_ERR_CHANNEL, "no %s prompt after login (the last line "
		    "was '%.80s'): wrong device_type?", sh->dv->prof->name, line);
		return;
	}
	(void)str_copy(sh->dv->cand, sizeof(sh->dv->cand), line);
	dev_type_line(sh, "", 0, now);
}

/* The command's end: status from the device's messages, exit code unknown (never 0). */
static void dev_finish(struct shell *sh, struct cmd *c, int64_t now)
{
	dev_held_end(sh, c);
	(void)str_copy(c->mode, sizeof(c->mode), shell_mode_name(sh));
	c->has_exit = 0;
	cmd_finish(sh, c, c->err.code != SSHMCP_OK ? CMD_FAILED : CMD_COMPLETED, now);
	sh->st = SH_IDLE;
	sh->dv->phase = DEV_IDLE;
	sh->t_used = now;
	shell_start_next(sh, now);
}

/* The command starts: climb to privileged first when a new enable password came. */
static void dev_start(struct shell *sh, struct cmd *c, int64_t now)
{
	sh->dv->next = c->text;
	sh->dv->tries = sh->dv->bad = 0;
	if (sh->enable_want && sh->dv->prof->enable_cmd != NULL && strcmp(sh->mode, "user") == 0) {
		sh->enable_want = 0;
		sh->dv->phase = DEV_ENABLE;
		dev_type_line(sh, sh->dv->prof->enable_cmd, strlen(sh->dv->prof->enable_cmd), now);
		return;
	}
	sh->dv->phase = DEV_RUN;
	if (!dev_type_next(sh, now))
		dev_type_line(sh, "", 0, now);
}

/* enable came back to a prompt: did it work? A repeated password question, an error
 * line or an unchanged user prompt (where the platform shows the level) say no. */
static void dev_enable_done(struct shell *sh, struct cmd *c, int was_user, int64_t now)
{
	int same = strcmp(sh->mode, "user") == 0;

	if (sh->dv->tries > 1 || sh->dv->bad ||
	    (same && was_user && dev_profile_has_mode(sh->dv->prof, "privileged"))) {
		err_set(&c->err, SSHMCP_ERR_AUTH, "%s: the enable password was rejected; the "
		    "session stays in %s mode and the command did not run", sh->dv->prof->enable_cmd,
		    sh->mode);
		dev_finish(sh, c, now);
		return;
	}
	if (same) {                 /* Huawei super: the level rose, the prompt stays */
		sh->dv->priv = 1;
		(void)str_copy(sh->mode, sizeof(sh->mode), "privileged");
	}
	sh->dv->phase = DEV_RUN;
	if (!dev_type_next(sh, now))
		dev_type_line(sh, "", 0, now);
}

/* The learned prompt is the last line: the step in progress is over. */
static void dev_on_prompt(struct shell *sh, const char *mode, int64_t now)
{
	struct cmd *c = sh->cur;
	int was_user = strcmp(sh->mode, "user") == 0;

	(void)str_copy(sh->mode, sizeof(sh->mode), mode);
	switch (sh->dv->phase) {
	case DEV_PAGER:
		if (dev_type_next(sh, now))
			return;
		sh->dv->phase = DEV_IDLE;
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

	if (sh->dv->phase == DEV_ENABLE && pw) {
		if (sh->dv->tries++ == 0)
			(void)shell_type(sh, sh->enable_pw, strlen(sh->enable_pw));
		(void)shell_type(sh, "\n", 1);      /* again: wrong, let the device give up */
		sh->fresh = 0;
		return;
	}
	if (sh->dv->phase != DEV_RUN || c->status != CMD_RUNNING)
		return;
	if (pw && sh->enable_pw[0] != '\0' && !c->sudo_sent && sh->dv->prof->enable_cmd != NULL &&
	    sh->dv->typed != NULL &&
	    strncmp(sh->dv->typed, sh->dv->prof->enable_cmd, strlen(sh->dv->prof->enable_cmd)) == 0) {
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
	int stage = sh->dv->stage;

	sh->dv->stage = stage + 1;
	if (stage >= DEV_AT_RELEARN)
		sh->fresh = 0;              /* nothing more to wait for until new data */
	dev_line_text(sh, line, sizeof(line));
	if (sh->dv->phase == DEV_LOGIN) {
		dev_probe(sh, line, stage, now);
		return;
	}
	if (dev_mode_of(sh, line, mode, sizeof(mode)) >= 0) {
		if (!sh->dv->echo && now - sh->dv->sent < SSHMCP_DEV_RELEARN_MS)
			return;             /* the echo first: the prompt may be an old one */
		sh->fresh = 0;
		(void)str_copy(sh->dv->prompt, sizeof(sh->dv->prompt), line);
		dev_on_prompt(sh, mode, now);
		return;
	}
	if ((stage >= DEV_AT_QUIET || sh->dv->phase == DEV_ENABLE) && c != NULL && line[0] != '\0' &&
	    (prompt_classify(pr, line) == PROMPT_INPUT ||
	    regexec(&pr->confirm, line, 0, NULL, 0) == 0)) {
		dev_question(sh, c, line);
		return;
	}
	/* A prompt of the platform, but not the learned one: the host name changed. */
	if (stage >= DEV_AT_RELEARN && sh->dv->echo &&
	    dev_host_of(sh->dv->prof, line, host, sizeof(host)) == 0 && dev_learn(sh, host) == 0 &&
	    dev_mode_of(sh, line, mode, sizeof(mode)) >= 0) {
		(void)str_copy(sh->dv->prompt, sizeof(sh->dv->prompt), line);
		dev_on_prompt(sh, mode, now);
	}
}

/* The quiet after a learned prompt before it counts: twice the longest pause this link has
 * made inside a line since the line was typed (a line of output equal to the prompt can be
 * split from its newline by such a pause), at least SSHMCP_DEV_SETTLE_MS and at most the
 * shell's quiet, the next look. A device's own pauses (it thinks after the echo, between
 * lines) come after a newline and do not count. */
static int64_t dev_settle_ms(const struct dev_state *d)
{
	int64_t ms = 2 * d->jitter;

	return ms < SSHMCP_DEV_SETTLE_MS ? SSHMCP_DEV_SETTLE_MS : ms > SSHMCP_QUIET_MS ?
	    SSHMCP_QUIET_MS : ms;
}

/* When the next look at the last line is due. */
static int64_t dev_check_at(const struct shell *sh)
{
	if (sh->dv->stage == DEV_AT_SETTLE)
		return sh->last_rx + (sh->dv->fast ? SSHMCP_DEV_FAST_MS : dev_settle_ms(sh->dv));
	return sh->last_rx + (sh->dv->stage == DEV_AT_QUIET ? SSHMCP_QUIET_MS :
	    SSHMCP_DEV_RELEARN_MS);
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
		/* A login script may have flushed what we typed: a shell gets a second chance
		 * (bash-5.1# looks like a router too). */
		shell_type_setup(sh, 1);
		return;
	}
	log_msg(sh->s.log, LOG_DEBUG1, "no POSIX shell answered; the prompt '%s' is %s",
	    line, p->name);
	if (dev_attach(sh, p) < 0) {
		sess_abort(&sh->s, SSHMCP_ERR_NOMEM, "out of memory");
		return;
	}
	sh->dev_auto = 0;
	sh->nline = 0;
	dev_login(sh, now);
}

/* Login output before a sentinel: its last line and first bytes, for dev_detect_shell. */
static void dev_track(struct shell *sh, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == FILT_TOK_EL)
			continue;       /* ESC[K (a prompt's "\r\e[K"): the line model's, no text */
		if (sh->nbanner < sizeof(sh->banner) - 1)      /* lines, as detection reads them */
			sh->banner[sh->nbanner++] = p[i] == '\r' ? '\n' : (char)p[i];
		if (p[i] == '\n' || p[i] == '\r')     /* a lone CR starts a line here too */
			sh->nline = 0;
		else if (sh->nline < sizeof(sh->line) - 1)
			sh->line[sh->nline++] = (char)p[i];
	}
	sh->banner[sh->nbanner] = '\0';
}

/* A device session's turn in shell_step. */
static void dev_step(struct shell *sh, const struct prompt *pr, int64_t now)
{
	if (sh->st == SH_SETUP && now >= sh->deadline && sh->s.state == SESS_RUNNING) {
		char line[SSHMCP_PROMPT_MAX];

		dev_line_text(sh, line, sizeof(line));
		sess_abort(&sh->s, SSHMCP_ERR_CHANNEL, "no %s prompt within %d s after login "
		    "(the last line was '%.80s')", sh->dv->prof->name, SSHMCP_SHELL_START_MS / 1000, line);
		return;
	}
	if (sh->st == SH_BUSY && sh->cur != NULL && sh->dv->phase == DEV_ENABLE &&
	    sh->cur->stop == 0 && now - sh->dv->sent >= SSHMCP_DEV_ENABLE_MS) {
		err_set(&sh->cur->err, SSHMCP_ERR_AUTH, "%s: no prompt within %d s; the command did "
		    "not run", sh->dv->prof->enable_cmd, SSHMCP_DEV_ENABLE_MS / 1000);
		shell_interrupt(sh, sh->cur, CMD_FAILED, now);
	}
	if (sh->st == SH_BUSY && sh->cur != NULL && shell_check_deadlines(sh, now) < 0) {
		sess_close(&sh->s);
		return;
	}
	if (sh->fresh && (sh->st == SH_SETUP || (sh->st == SH_BUSY && sh->cur != NULL &&
	    sh->cur->status == CMD_RUNNING)) && now >= dev_check_at(sh)) {
		shell_mask_flush(sh, now);
		dev_check(sh, pr, now);
		if (sh->fresh)              /* the next look, a longer quiet spell on */
			shell_arm(sh, SHT_QUIET, dev_check_at(sh));
		if (sh->s.state == SESS_RUNNING)
			sess_step(&sh->s, now);
	}
}

/*
 * After a read: is the last line the exact text of the prompt that ended the last step,
 * after the echo and a line of output, on a stream that came without a pause? Then the
 * command is most likely over and a short settle is enough (Netmiko and scrapli trust a
 * learned prompt at once). The output could still hold a line equal to the prompt, split
 * from its newline by the link; but a link shows where it pauses: after one pause between
 * reads longer than the short settle since the line was typed (a slow or chunked link) the
 * full SSHMCP_DEV_SETTLE_MS applies. So it does right after the echo (a first output line
 * equal to the prompt looks like no output at all), at login (the banner) and in enable.
 */
static void dev_fast(struct shell *sh)
{
	struct dev_state *d = sh->dv;
	char line[SSHMCP_PROMPT_MAX];

	if (d->rx_prev != 0) {
		int64_t pause = sh->last_rx - d->rx_prev;

		if (pause > d->gap)
			d->gap = pause;
		if (d->mid && pause > d->jitter)
			d->jitter = pause;
	}
	d->rx_prev = sh->last_rx;
	d->mid = d->n > 0;
	d->fast = 0;
	if (d->phase != DEV_RUN || !d->echo || d->lines == 0 || d->prompt[0] == '\0' ||
	    d->gap >= SSHMCP_DEV_FAST_MS || d->n == 0 || d->n >= sizeof(line))
		return;
	dev_line_text(sh, line, sizeof(line));
	d->fast = strcmp(line, d->prompt) == 0;
}

static void dev_arrived(struct shell *sh)
{
	sh->fresh = 1;
	sh->dv->stage = DEV_AT_SETTLE;
	dev_after_feed(sh);
	dev_fast(sh);
}

static int dev_eng_type(struct shell *sh, struct cmd *c)
{
	(void)sh;
	(void)c;
	return 0;                           /* typed line by line by dev_start */
}

static void dev_eng_text(struct shell *sh, const unsigned char *p, size_t n, int64_t now)
{
	(void)now;
	dev_put(sh, p, n);
}

static const struct engine dev_engine = {
	"device", dev_login, dev_eng_type, dev_start, dev_eng_text, dev_arrived, dev_step,
	dev_check_at,
};

/* The session ended: settle the current and queued commands. */
static void shell_end(struct shell *sh, int64_t now)
{
	struct cmd *c = sh->cur;
	int clean = sh->s.state == SESS_DONE;
	int i;

	sh->report_lost = !clean && c == NULL && sh->was_ready;    /* it had a state to lose */
	if (c != NULL) {
		shell_commit_line(sh);
		if (clean && c->stop == 0) {
			c->exit_code = sh->s.exit_status;
			c->has_exit = sh->s.exit_status >= 0 && sh->dv == NULL;
			c->ended_session = 1;
			cmd_finish(sh, c, CMD_COMPLETED, now);
		} else {
			if (!sh->was_ready && sh->s.err.code != SSHMCP_OK)
				err_set(&c->err, sh->s.err.code, "%s", sh->s.err.msg);
			err_set(&c->err, SSHMCP_ERR_SESSION_LOST, "session %s to %s lost: %s", sh->name,
			    sh->alias, sh->s.err.code != SSHMCP_OK ? sh->s.err.msg : "the shell exited");
			cmd_finish(sh, c, CMD_FAILED, now);
		}
	}
	for (i = 0; i < sh->nq; i++) {
		c = sh->queue[i];
		if (!sh->was_ready && sh->s.err.code != SSHMCP_OK)
			err_set(&c->err, sh->s.err.code, "%s", sh->s.err.msg);  /* never connected */
		err_set(&c->err, SSHMCP_ERR_SESSION_LOST, "session %s to %s ended before the command "
		    "ran", sh->name, sh->alias);
		cmd_finish(sh, c, CMD_FAILED, now);
	}
	sh->nq = 0;
	shell_files_end(sh);
	sh->st = SH_CLOSED;
}

/* The POSIX shell engine's look when its timers fire: a device answering instead, the
 * setup's deadline, the command's deadlines, a quiet spell after output (a question?). */
static void shell_eng_check(struct shell *sh, const struct prompt *pr, int64_t now)
{
	if (sh->dev_auto && sh->st == SH_SETUP && sh->fresh &&
	    now - sh->last_rx >= SSHMCP_DEV_DETECT_MS) {
		dev_detect_shell(sh, now);
		if (sh->eng != &shell_engine)
			return;
	}
	if (sh->st == SH_SETUP && now >= sh->deadline && sh->s.state == SESS_RUNNING) {
		sess_abort(&sh->s, SSHMCP_ERR_CHANNEL, "the remote shell did not answer its setup "
		    "within %d s (not a POSIX shell, and no network device prompt either)",
		    SSHMCP_SHELL_START_MS / 1000);
	} else if (sh->st == SH_BUSY && sh->cur != NULL) {
		if (shell_check_deadlines(sh, now) < 0) {
			sess_close(&sh->s);
		} else if (sh->fresh && sh->cur->status == CMD_RUNNING &&
		    now - sh->last_rx >= SSHMCP_QUIET_MS) {
			shell_mask_flush(sh, now);
			shell_check_prompt(sh, pr, now);
			if (sh->s.state == SESS_RUNNING)
				sess_step(&sh->s, now);
		}
	}
}

static void shell_arrived(struct shell *sh)
{
	(void)sh;                           /* shell_emit marked it fresh */
}

static int64_t shell_quiet_at(const struct shell *sh)
{
	return sh->last_rx + (sh->dev_auto && sh->st == SH_SETUP ? SSHMCP_DEV_DETECT_MS :
	    SSHMCP_QUIET_MS);
}

static const struct engine shell_engine = {
	"shell", shell_resetup, shell_eng_type, shell_eng_start, shell_eng_text, shell_arrived,
	shell_eng_check, shell_quiet_at,
};

static void shell_arm(struct shell *sh, enum sh_timer t, int64_t at)
{
	sh->tm[t] = at;
}

/*
 * The session's terminal takes a new size: the screen now, the PTY by a window-change
 * request (RFC 4254 6.7) once the channel is open (before that, the PTY request carries
 * it). The remote kernel then sends SIGWINCH, and a full-screen program redraws. -1: a
 * size the screen cannot hold.
 */
static int shell_resize(struct shell *sh, int cols, int rows)
{
	if (cols == sh->job.cols && rows == sh->job.rows)
		return 0;
	if (sh->scr.mem != NULL && scr_resize(&sh->scr, cols, rows) < 0)
		return -1;
	sh->job.cols = cols;
	sh->job.rows = rows;
	sh->win_pending = sh->s.ch != NULL;
	sh->kick = 1;
	return 0;
}

/* Send a pending window change; libssh2 keeps a request it could not finish (EAGAIN) and
 * is called again on the next step. */
static void shell_win_send(struct shell *sh)
{
	int rc;

	if (!sh->win_pending || sh->s.state != SESS_RUNNING || sh->s.ch == NULL)
		return;
	rc = libssh2_channel_request_pty_size_ex(sh->s.ch, sh->job.cols, sh->job.rows, 0, 0);
	if (rc != LIBSSH2_ERROR_EAGAIN)
		sh->win_pending = 0;        /* done, or refused: the screen keeps the size asked */
}

/* One step: the connection, the engine's login once the PTY is open, what arrived, the
 * engine's look at its timers, file operations, what was typed. Timers that were due when
 * it began and were not armed again are spent. */
static void shell_step(struct shell *sh, const struct prompt *pr, int64_t now)
{
	int64_t was[SHT_COUNT];
	const struct engine *eng;
	int i;

	if (sh->st == SH_CLOSED)
		return;
	memcpy(was, sh->tm, sizeof(was));
	/* A new size goes out before what was typed with it: a program the command starts
	 * then reads its size at once, instead of drawing at the old one and again on a late
	 * SIGWINCH (less's redraw shows ':', a question, where its first page shows its file). */
	shell_win_send(sh);
	sess_step(&sh->s, now);
	if (sh->s.state == SESS_RUNNING && sh->st == SH_CONNECTING) {
		sh->eng->login(sh, now);
		sess_step(&sh->s, now);
	}
	if (ring_used(&sh->s.out[0]) > 0) {
		shell_feed(sh, now);
		sess_step(&sh->s, now);     /* the ring has room again: read on without waiting */
		shell_feed(sh, now);
	}
	eng = sh->eng;
	eng->check(sh, pr, now);
	if (sh->eng != eng)                 /* a device answered: its engine looks now */
		sh->eng->check(sh, pr, now);
	if (sh->fops != NULL)
		shell_files_round(sh, now);
	shell_win_send(sh);
	if (ring_used(&sh->s.in) > 0 && sh->s.state == SESS_RUNNING)
		sess_step(&sh->s, now);     /* what was typed above goes out now, not on the next wake */
	if (sh->s.state >= SESS_DONE)
		shell_end(sh, now);
	for (i = 0; i < SHT_COUNT; i++)
		if (was[i] != 0 && was[i] <= now && sh->tm[i] == was[i])
			sh->tm[i] = 0;
	sh->kick = 0;                       /* what it was asked has been done (or waits on I/O) */
	/* A phase's deadline goes with the phase: left armed, it woke the loop for nothing
	 * once per session (1,000 idle sessions: 5 wakes a second, each a ppoll over all). */
	if (sh->st != SH_SETUP && sh->st != SH_CONNECTING)
		sh->tm[SHT_SETUP] = 0;
	if (sh->dv == NULL || sh->dv->phase != DEV_ENABLE)
		sh->tm[SHT_ENABLE] = 0;
	sess_alive_idle(&sh->s, sh->st == SH_IDLE && sh->cur == NULL && sh->nq == 0 &&
	    sh->fops == NULL, now);
	sh->next_at = shell_deadline(sh);
}

/* Does this step have to run: poll saw its sockets, something was asked, a timer is due? */
static int shell_due(const struct shell *sh, int64_t now)
{
	const struct sess *s;

	if (sh->kick || now >= sh->next_at)
		return 1;
	for (s = &sh->s; s != NULL; s = s->via)
		if (s->revents != 0)
			return 1;
	return 0;
}

/* When the session wants its next step: its earliest timer, file operation or connection
 * deadline; at once when something was asked of it. */
static int64_t shell_deadline(const struct shell *sh)
{
	int64_t d = sess_deadline(&sh->s), f = shell_files_deadline(sh);
	int i;

	if (sh->kick)
		return 0;
	if (f < d)
		d = f;
	for (i = 0; i < SHT_COUNT; i++)
		if (sh->tm[i] != 0 && sh->tm[i] < d)
			d = sh->tm[i];
	return d;
}

static void shell_free(struct shell *sh)
{
	if (sh == NULL)
		return;
	dev_re_free(sh);
	free(sh->dv);
	scr_free(&sh->scr);
	mem_wipe(sh->enable_pw, sizeof(sh->enable_pw));
	mask_free(&sh->mask);
	sess_unlink(&sh->s);
	if (sh->sftp != NULL)
		(void)libssh2_sftp_shutdown(sh->sftp);
	shell_files_free(sh);
	sess_free(&sh->s);
	free(sh);
}

/* A session is the alias as called, where it resolved to, and its name: two aliases of one
 * server keep their own sessions, since their ssh_config options may differ. */
static void shell_key(char *key, size_t cap, const struct target *t, const char *name)
{
	(void)str_fmt(key, cap, "%s %s@%s:%d/%s", t->alias, t->user, t->host, t->port, name);
}

/* A new shell session to `t` (resolved); connecting starts on the next loop turn. */
static struct shell *shell_new(const struct target *t, const char *name, const struct log *lg,
    int64_t now)
{
	struct shell *sh = calloc(1, sizeof(*sh));

	if (sh == NULL)
		return NULL;
	sh->job = (struct job){ .command = NULL, .want_pty = 1, .term = "xterm-256color",
		.cols = SSHMCP_PTY_COLS, .rows = SSHMCP_PTY_ROWS, .forward_stdin = 1 };
	if (sess_init(&sh->s, &sh->job, lg, SHELL_IN_RING, now) < 0 ||
	    str_random_hex(sh->nonce, sizeof(sh->nonce), 8) < 0 ||
	    str_random_hex(sh->sudo_nonce, sizeof(sh->sudo_nonce), 6) < 0) {
		shell_free(sh);
		return NULL;
	}
	mask_tag(&sh->mask, sh->sudo_nonce);
	(void)str_fmt(sh->marker, sizeof(sh->marker), "__SSHMCP_%s_", sh->nonce);
	(void)str_fmt(sh->endmark, sizeof(sh->endmark), "_%s__", sh->nonce);
	sh->s.t = *t;
	(void)str_copy(sh->name, sizeof(sh->name), name);
	(void)str_copy(sh->alias, sizeof(sh->alias), t->alias);
	shell_key(sh->key, sizeof(sh->key), t, name);
	sh->st = SH_CONNECTING;
	sh->eng = &shell_engine;
	sh->t_created = sh->t_used = now;
	sh->s.logc = *lg;
	sh->s.log = &sh->s.logc;
	sess_start(&sh->s, now);
	return sh;
}

/* ---------------------------------------------------------------- SFTP --- */

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
	if (op->step < FOP_STAGED && now >= op->deadline) {
		/* A sudo operation that ran keeps its result when removing its staged upload
		 * stalls: the command's own rm has normally removed it already. */
		if (op->err.code == SSHMCP_OK && !(op->staged && op->step == FOP_UNLINK))
			err_set(&op->err, SSHMCP_ERR_TIMEOUT, "file operation on %s timed out",
			    op->path);
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

/* A reply libssh2 already took off the socket while reading another channel wakes no
 * poll(): it waits in the session's queue, and only a step that looks there finds it. */
static int shell_files_pending(const struct shell *sh)
{
	return sh->sftp != NULL &&
	    libssh2_poll_channel_read(libssh2_sftp_get_channel(sh->sftp), 0) == 1;
}

/* Steps file operations and the shell's reads in turn until no SFTP reply is left queued
 * (bounded: shell_files_deadline asks for an immediate wake if one still is). */
static void shell_files_round(struct shell *sh, int64_t now)
{
	int i;

	for (i = 0; i < SSHMCP_FOP_ROUNDS; i++) {
		shell_files(sh, now);
		sess_step(&sh->s, now);     /* SFTP reads may have queued shell output */
		shell_feed(sh, now);
		if (sh->fops == NULL || !shell_files_pending(sh))
			break;
	}
}

static int64_t shell_files_deadline(const struct shell *sh)
{
	const struct fop *op;

	for (op = sh->fops; op != NULL; op = op->next)
		if (op->step < FOP_STAGED)
			return shell_files_pending(sh) ? 0 : op->deadline;
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

/* ================================================== policy, audit, log === */

/*
 * What an operator allows: hosts (as the caller names them, before any resolution),
 * commands (EREs on every simple command the line contains, after unwrapping sudo, sh -c,
 * eval, find -exec, xargs...), read-only mode, limits. A line we cannot take apart with
 * confidence (unbalanced quotes, a command word built at run time) is refused when any
 * command rule is in force: when unsure, deny, and say why.
 */
struct pol_rule {
	regex_t re;
	char *src;                          /* "pattern (file:line)" for refusal messages */
};

struct policy {
	char *allow_host[SSHMCP_POLICY_MAX];
	int nallow_host;
	struct pol_rule allow[SSHMCP_POLICY_MAX], deny[SSHMCP_POLICY_MAX];
	struct pol_rule confirm[SSHMCP_POLICY_MAX];
	int nallow, ndeny, nconfirm;
	int read_only;
	int timeout_default, timeout_max;
	size_t ring_size;
	int max_sessions, max_cmds, max_cmds_host;
	char *audit_path, *log_path, *ssh_config;
	int accept_new;
	struct pol_split *scratch;          /* reused by every check: none allocates */
};

/* Any command rule in force: sessions are hardened and lines are held to the grammar. */
static int pol_commands(const struct policy *p)
{
	return p->read_only || p->nallow > 0 || p->ndeny > 0 || p->nconfirm > 0;
}

/*
 * The grammar a line must keep to under a command policy, small enough to model exactly:
 * words made of literal characters, single quotes, and double quotes whose only expansion
 * is $NAME, ${NAME} or $?; the operators | && || ; and newlines; redirections that read a
 * file, duplicate a descriptor (2>&1) or write to /dev/null. Anything else — $( ), `,
 * ${...} operators, arithmetic, here-documents, process substitution, braces, subshells,
 * &, globs in a command word, comments, ! — is refused, naming what it was. The shells
 * we run in disagree on those (zsh on #, dash on &>, bash on ! in double quotes), and a
 * checker that does not model a construct exactly is one an attacker gets past.
 */
#define PW_EXPAND 1u                        /* holds $NAME: known only at run time */
#define PW_GLOB   2u                        /* an unquoted * ? [: may become file names */
#define PW_QUOTED 4u                        /* some of it was quoted or escaped */
#define PW_ASSIGN 8u                        /* NAME=value before the command word */
#define PW_TILDE  16u                       /* starts with ~ (the home directory) */

struct pol_word {
	char *w;                                /* after quote removal; $NAME left as written */
	char *src;                              /* as typed */
	unsigned fl;
};

/* One simple command: its words (assignments first), where it stands in its pipeline. */
struct pol_cmd {
	struct pol_word *wd;
	int n, nassign;
	int nread;                              /* redirections that read a file */
	int depth;                              /* nested command lines: sh -c, find -exec */
	int pipe_idx;                           /* 0: first of its pipeline */
};

struct pol_split {
	struct pol_cmd cmd[SSHMCP_POLICY_SEGS];
	int n;
	struct pol_word wd[SSHMCP_POLICY_WORDS];
	int nwd;
	char *arena;                            /* the words' text */
	size_t cap, used;
	int bad, ro, ro_bad;                    /* ro: read-only mode is judging */
	char why[200];
};

static void pol_bad(struct pol_split *sp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void pol_bad(struct pol_split *sp, const char *fmt, ...)
{
	va_list ap;

	if (sp->bad)
		return;
	sp->bad = 1;
	sp->ro_bad = sp->ro;
	va_start(ap, fmt);
	(void)vsnprintf(sp->why, sizeof(sp->why), fmt, ap);
	va_end(ap);
}

/* n bytes of text into the arena, NUL-terminated; NULL (and bad) when it is full. */
static char *pol_store(struct pol_split *sp, const char *s, size_t n)
{
	char *p;

	if (n >= sp->cap - sp->used) {
		pol_bad(sp, "a line too long to check");
		return NULL;
	}
	p = sp->arena + sp->used;
	memcpy(p, s, n);
	p[n] = '\0';
	sp->used += n + 1;
	return p;
}

/* Room for any line a policy checks (SSHMCP_POLICY_LINE_MAX): words and their sources,
 * nested lines included, fit in four times its length. */
static struct pol_split *pol_split_new(void)
{
	struct pol_split *sp = calloc(1, sizeof(*sp));

	if (sp != NULL && (sp->cap = 4 * SSHMCP_POLICY_LINE_MAX + 4096,
	    sp->arena = malloc(sp->cap)) == NULL) {
		free(sp);
		sp = NULL;
	}
	return sp;
}

static void pol_split_free(struct pol_split *sp)
{
	if (sp == NULL)
		return;
	free(sp->arena);
	free(sp);
}

/* Ready for the next line: counts and verdict cleared (the arrays are written before read). */
static void pol_split_reset(struct pol_split *sp)
{
	sp->n = sp->nwd = 0;
	sp->used = 0;
	sp->bad = sp->ro = sp->ro_bad = 0;
	sp->why[0] = '\0';
}

/* The lexer's state for one command line. */
struct pol_lex {
	struct pol_split *sp;
	const char *s;
	size_t n, i;
	char word[SSHMCP_LINE_MAX];             /* the word being read, dequoted */
	size_t wl, wstart;
	int inword;
	unsigned fl;
	int redir;                              /* the next word is: 1 a file read, 2 /dev/null */
	int first;                              /* index in sp->wd of the command's first word */
	int nassign, nwords, nredir, nread;
	int depth, pipe_idx, pending_op;        /* pending_op: | && || wants a command next */
};

static void pol_lex_add(struct pol_lex *lx, const char *s, size_t n)
{
	if (n > sizeof(lx->word) - 1 - lx->wl) {
		pol_bad(lx->sp, "a word too long to check");
		return;
	}
	memcpy(lx->word + lx->wl, s, n);
	lx->wl += n;
	lx->inword = 1;
}

/* Names whose expansion or assignment the policy does not allow: the prompt and its hooks
 * (they hold the session's nonce, or run code), what decides which program a word runs,
 * and what makes a program run other code. */
static const char *const pol_protected[] = {
	"PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT", "RPROMPT", "RPS1", "PROMPT_COMMAND",
	"BASH_ENV", "ENV", "PATH", "IFS", "CDPATH", "FPATH", "GLOBIGNORE", "SHELLOPTS",
	"BASHOPTS", "HISTFILE", "HISTCONTROL", "PAGER", "MANPAGER", "GIT_PAGER", "SYSTEMD_PAGER",
	"LESSSECURE", "LESSOPEN", "LESSCLOSE", "EDITOR", "VISUAL", "SUDO_PROMPT", "SUDO_ASKPASS",
	"SSH_ASKPASS", "PERL5OPT", "PERL5LIB", "PYTHONSTARTUP", "PYTHONPATH", "RUBYOPT",
	"NODE_OPTIONS", "SHELL", "TERM", "HOME", "precmd_functions", "preexec_functions",
	"chpwd_functions", "periodic_functions", "zshaddhistory_functions", "prompt", "PROMPT2",
	"PROMPT3", "PROMPT4", "RPROMPT2", "RPS2", "SPROMPT", "PROMPT_EOL_MARK", "LANG",
	"LANGUAGE", "LOCPATH", "NLSPATH", "GCONV_PATH", "MAIL", "MAILPATH", "MAILCHECK",
	"POSIXLY_CORRECT", "EXECIGNORE", "INPUTRC", "TERMINFO", "TERMINFO_DIRS", "TERMCAP",
	"NULLCMD", "READNULLCMD", "ZDOTDIR", "path", "fpath", "cdpath", "module_path",
	"mailpath", "manpath", "histchars", "HISTCHARS", "TMOUT", "TMPPREFIX", "functions",
	"aliases", "galiases", "saliases", "builtins", "commands", "options", "parameters",
	"psvar", "keymaps", "widgets", NULL,
};

static const char *const pol_protected_prefixes[] = {
	"_sshmcp", "LD_", "BASH_", "GIT_", "LESS", "DYLD_", "SSHMCP", "LC_", "ZSH_", "TRAP",
	"dis_", NULL,
};

static int pol_name_protected(const char *name, size_t n)
{
	const char *const *p;

	for (p = pol_protected; *p != NULL; p++)
		if (strlen(*p) == n && strncmp(*p, name, n) == 0)
			return 1;
	for (p = pol_protected_prefixes; *p != NULL; p++)
		if (strlen(*p) <= n && strncmp(*p, name, strlen(*p)) == 0)
			return 1;
	return 0;
}

/* Names whose value must not even be read: the prompt and its hooks hold the session's
 * nonce (with it, output could forge a command's end). */
static int pol_name_hook(const char *name, size_t n)
{
	static const char *const hooks[] = { "PS0", "PS1", "PS2", "PS4", "PROMPT", "RPROMPT",
		"PROMPT_COMMAND", "prompt", "PROMPT2", "functions", "dis_functions", "_", NULL };
	const char *const *p;

	for (p = hooks; *p != NULL; p++)
		if (strlen(*p) == n && strncmp(*p, name, n) == 0)
			return 1;
	return n >= 7 && strncmp(name, "_sshmcp", 7) == 0;
}

static size_t pol_name_len(const char *s, size_t n)
{
	size_t k = 0;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_'))
		k++;
	return k;
}

/* $ inside double quotes at s[i]: $NAME, ${NAME} or $? only. Returns the index after it. */
static size_t pol_lex_dollar(struct pol_lex *lx, size_t i)
{
	const char *s = lx->s;
	size_t n = lx->n, k, brace = i + 1 < n && s[i + 1] == '{';

	if (i + 1 < n && s[i + 1] == '?') {
		pol_lex_add(lx, s + i, 2);
		lx->fl |= PW_EXPAND;
		return i + 2;
	}
	if (i + 1 < n && s[i + 1] == '(') {
		pol_bad(lx->sp, i + 2 < n && s[i + 2] == '(' ? "arithmetic expansion $(( ))" :
		    "command substitution $( )");
		return n;
	}
	k = pol_name_len(s + i + 1 + brace, n - i - 1 - brace);
	if (k == 0 || (brace && (i + 2 + k >= n || s[i + 2 + k] != '}'))) {
		pol_bad(lx->sp, brace ? "a ${...} expansion with an operator or transform" :
		    "a $ expansion other than \"$NAME\"");
		return n;
	}
	if (pol_name_hook(s + i + 1 + brace, k)) {
		pol_bad(lx->sp, "an expansion of the protected variable %.*s", (int)k, s + i + 1 + brace);
		return n;
	}
	k += 1 + 2 * brace;                     /* $NAME or ${NAME} */
	/* zsh reads "$x[1]" as a subscript and "$x:h" as a modifier, the others as text */
	if (!brace && i + k < n && (s[i + k] == '[' || s[i + k] == ':')) {
		pol_bad(lx->sp, "\"$NAME[\" or \"$NAME:\" (write ${NAME} before [ or :)");
		return n;
	}
	pol_lex_add(lx, s + i, k);
	lx->fl |= PW_EXPAND;
	return i + k;
}

/* A double-quoted part starting after its opening quote; returns the index after it. */
static size_t pol_lex_dquote(struct pol_lex *lx, size_t i)
{
	const char *s = lx->s;

	lx->fl |= PW_QUOTED;
	lx->inword = 1;
	while (i < lx->n && !lx->sp->bad) {
		char c = s[i];

		if (c == '"')
			return i + 1;
		if (c == '\\' && i + 1 < lx->n && strchr("$`\"\\\n", s[i + 1]) != NULL) {
			if (s[i + 1] == '\n') {
				pol_bad(lx->sp, "a line continuation (backslash-newline)");
				return lx->n;
			}
			pol_lex_add(lx, s + i + 1, 1);
			i += 2;
		} else if (c == '$') {
			i = pol_lex_dollar(lx, i);
		} else if (c == '`' || c == '!') {
			pol_bad(lx->sp, c == '`' ? "backquote command substitution" :
			    "! in double quotes (bash's history expansion)");
			return lx->n;
		} else {
			pol_lex_add(lx, s + i, 1);
			i++;
		}
	}
	pol_bad(lx->sp, "unbalanced quotes");
	return lx->n;
}

/* An unquoted character of a word; returns the index after what it consumed. */
static size_t pol_lex_char(struct pol_lex *lx, size_t i)
{
	const char *s = lx->s;
	char c = s[i];
	int start = !lx->inword;

	switch (c) {
	case '\'': {
		const char *q = memchr(s + i + 1, '\'', lx->n - i - 1);

		if (q == NULL) {
			pol_bad(lx->sp, "unbalanced quotes");
			return lx->n;
		}
		lx->fl |= PW_QUOTED;
		lx->inword = 1;
		pol_lex_add(lx, s + i + 1, (size_t)(q - (s + i + 1)));
		return (size_t)(q - s) + 1;
	}
	case '"':
		return pol_lex_dquote(lx, i + 1);
	case '\\':
		if (i + 1 >= lx->n || s[i + 1] == '\n') {
			pol_bad(lx->sp, i + 1 >= lx->n ? "a trailing backslash" :
			    "a line continuation (backslash-newline)");
			return lx->n;
		}
		lx->fl |= PW_QUOTED;
		pol_lex_add(lx, s + i + 1, 1);
		return i + 2;
	case '$':
		pol_bad(lx->sp, s[i + 1] == '\'' ? "$'...' quoting" : s[i + 1] == '(' &&
		    s[i + 2] == '(' ? "arithmetic expansion $(( ))" : s[i + 1] == '(' ?
		    "command substitution $( )" : "an unquoted $ expansion (write \"$NAME\")");
		return lx->n;
	case '`':
		pol_bad(lx->sp, "backquote command substitution");
		return lx->n;
	case '{': case '}':
		/* {} alone is a word to every shell (find -exec's); anything else is a group or
		 * brace expansion */
		if (c == '{' && start && i + 1 < lx->n && s[i + 1] == '}' &&
		    (i + 2 >= lx->n || strchr(" \t\n;&|<>", s[i + 2]) != NULL)) {
			pol_lex_add(lx, "{}", 2);
			return i + 2;
		}
		pol_bad(lx->sp, "braces { } (a group or brace expansion)");
		return lx->n;
	case '!':
		pol_bad(lx->sp, "! (history expansion or negation)");
		return lx->n;
	case '*': case '?': case '[':
		lx->fl |= PW_GLOB;
		break;
	case '=':
		if (start) {
			pol_bad(lx->sp, "a word starting with = (zsh expands it to a path)");
			return lx->n;
		}
		break;
	case '~':
		if (start && i + 1 < lx->n && strchr("/ \t\n;&|<>", s[i + 1]) == NULL) {
			pol_bad(lx->sp, "~user or ~+ tilde expansion");
			return lx->n;
		}
		if (start)
			lx->fl |= PW_TILDE;
		else if (s[i - 1] == '=' || s[i - 1] == ':') {
			pol_bad(lx->sp, "~ after = or : (bash expands it there, the others do not)");
			return lx->n;
		}
		break;
	}
	pol_lex_add(lx, s + i, 1);
	return i + 1;
}

/* A redirection's target was read: only a file to read, or /dev/null to write to. */
static void pol_lex_redir_target(struct pol_lex *lx)
{
	const char *w = lx->word;

	if (lx->redir == 2 && (lx->fl != 0 || lx->wl != 9 || memcmp(w, "/dev/null", 9) != 0))
		pol_bad(lx->sp, "output redirection to a file (only >/dev/null is accepted)");
	else if (lx->redir == 1 && (lx->fl & (PW_GLOB | PW_TILDE)) != 0)
		pol_bad(lx->sp, "a pattern as the file a redirection reads");
	lx->nread += lx->redir == 1;
	lx->redir = 0;
	lx->nredir++;
}

/* The word is complete: a redirection's target, an assignment, or the command's next word. */
static void pol_lex_word_end(struct pol_lex *lx, size_t end)
{
	struct pol_split *sp = lx->sp;
	const char *src = lx->s + lx->wstart;
	size_t k = pol_name_len(src, end - lx->wstart);
	struct pol_word *wd;

	if (!lx->inword || sp->bad)
		goto out;
	if (lx->redir != 0) {
		pol_lex_redir_target(lx);
		goto out;
	}
	if (lx->nwords == lx->nassign && k > 0 && k < end - lx->wstart) {
		if (src[k] == '[' || (src[k] == '+' && k + 1 < end - lx->wstart && src[k + 1] == '='))
			pol_bad(sp, src[k] == '[' ? "an array subscript" : "an appending assignment (+=)");
		else if (src[k] == '=' && pol_name_protected(src, k))
			pol_bad(sp, "an assignment to the protected variable %.*s", (int)k, src);
		if (src[k] == '=') {
			lx->fl |= PW_ASSIGN;
			lx->nassign++;
		}
	}
	if (sp->nwd >= SSHMCP_POLICY_WORDS) {
		pol_bad(sp, "too many words to check");
		goto out;
	}
	wd = &sp->wd[sp->nwd];
	wd->fl = lx->fl;
	if ((wd->w = pol_store(sp, lx->word, lx->wl)) == NULL ||
	    (wd->src = pol_store(sp, src, end - lx->wstart)) == NULL)
		goto out;
	sp->nwd++;
	lx->nwords++;
out:
	lx->inword = 0;
	lx->wl = 0;
	lx->fl = 0;
}

enum pol_op { POL_NEWLINE, POL_SEMI, POL_AND, POL_OR, POL_PIPE, POL_END };

/* An operator (or the line's end) closes the simple command before it. */
static void pol_lex_op(struct pol_lex *lx, size_t at, enum pol_op op)
{
	struct pol_split *sp = lx->sp;

	pol_lex_word_end(lx, at);
	if (lx->redir != 0)
		pol_bad(sp, "a redirection without its file");
	else if (lx->nwords == 0 && lx->nredir > 0)
		pol_bad(sp, "a redirection without a command");
	else if (lx->nwords == 0 && (op == POL_NEWLINE || op == POL_END) && !(op == POL_END &&
	    lx->pending_op))
		return;                             /* a blank line, or && then a newline */
	else if (lx->nwords == 0)
		pol_bad(sp, op == POL_END ? "a line that ends in | && or || (the shell would wait for "
		    "more)" : "an operator with no command before it");
	else if (sp->n >= SSHMCP_POLICY_SEGS)
		pol_bad(sp, "too many commands to check");
	if (sp->bad)
		return;
	sp->cmd[sp->n++] = (struct pol_cmd){ .wd = &sp->wd[lx->first], .n = lx->nwords,
		.nassign = lx->nassign, .nread = lx->nread, .depth = lx->depth,
		.pipe_idx = lx->pipe_idx };
	lx->pipe_idx = op == POL_PIPE ? lx->pipe_idx + 1 : 0;
	lx->pending_op = op == POL_PIPE || op == POL_AND || op == POL_OR;
	lx->first = sp->nwd;
	lx->nwords = lx->nassign = lx->nredir = lx->nread = 0;
}

/* After >& or <&: a descriptor number or -, and nothing glued to it (>&2x is a file). */
static size_t pol_lex_dup(struct pol_lex *lx, size_t j)
{
	size_t k = j;

	if (k < lx->n && lx->s[k] == '-')
		k++;
	else
		while (k < lx->n && isdigit((unsigned char)lx->s[k]))
			k++;
	if (k == j || (k < lx->n && strchr(" \t\n;&|<>", lx->s[k]) == NULL))
		pol_bad(lx->sp, "a redirection to a file (>&FILE)");
	lx->nredir++;
	return k;
}

/* < or > at s[i] (a single-digit descriptor before it was taken off the word). */
static size_t pol_lex_redir(struct pol_lex *lx, size_t i)
{
	const char *s = lx->s;
	char next = i + 1 < lx->n ? s[i + 1] : '\0';

	if (next == '(') {
		pol_bad(lx->sp, "process substitution <( ) or >( )");
		return lx->n;
	}
	if (s[i] == '<' && (next == '<' || next == '>')) {
		pol_bad(lx->sp, next == '<' ? "a here-document or here-string (<<)" :
		    "a read-write redirection (<>)");
		return lx->n;
	}
	if (s[i] == '>' && next == '|') {
		pol_bad(lx->sp, ">| (overriding noclobber)");
		return lx->n;
	}
	if (next == '&')
		return pol_lex_dup(lx, i + 2);
	lx->redir = s[i] == '<' ? 1 : 2;
	return i + 1 + (s[i] == '>' && next == '>');
}

/* < or > right after a word: a word of one digit is the descriptor (2>), a longer number
 * would be one too in bash (refused), anything else is a word of its own. */
static void pol_lex_fd_word(struct pol_lex *lx, size_t i)
{
	if (lx->fl == 0 && lx->wl > 0 && strspn(lx->word, "0123456789") >= lx->wl) {
		if (lx->wl > 1)
			pol_bad(lx->sp, "a redirection of a descriptor above 9");
		lx->inword = 0;
		lx->wl = 0;
		return;
	}
	pol_lex_word_end(lx, i);
}

/* The operators between simple commands, at s[i]; returns the index after them. */
static size_t pol_lex_sep(struct pol_lex *lx, size_t i)
{
	const char *s = lx->s;
	char c = s[i], next = i + 1 < lx->n ? s[i + 1] : '\0';

	if (c == ';' && next == ';')
		pol_bad(lx->sp, ";; (a case branch)");
	else if (c == '&' && next != '&')
		pol_bad(lx->sp, next == '>' ? "&> (bash and dash read it differently)" :
		    "& (a background job)");
	else if (c == '|' && next == '&')
		pol_bad(lx->sp, "|& (bash only)");
	else if (c == '(' || c == ')')
		pol_bad(lx->sp, "a subshell or function ( )");
	if (lx->sp->bad)
		return lx->n;
	pol_lex_op(lx, i, c == '\n' ? POL_NEWLINE : c == ';' ? POL_SEMI : c == '&' ? POL_AND :
	    next == '|' ? POL_OR : POL_PIPE);
	return i + 1 + ((c == '&' || c == '|') && next == c);
}

/* Split a command line into simple commands under the grammar, or mark it bad. */
static void pol_lex_line(struct pol_split *sp, const char *s, size_t n, int depth)
{
	struct pol_lex lx;
	size_t i = 0;

	memset(&lx, 0, sizeof(lx));
	lx.sp = sp, lx.s = s, lx.n = n, lx.depth = depth, lx.first = sp->nwd;
	if (depth > SSHMCP_POLICY_DEPTH)
		pol_bad(sp, "command lines nested too deeply to check");
	/* Anywhere, quoted or not: the terminal acts on them (^U erases what came before,
	 * CR ends the line) before the shell reads a byte. */
	for (; i < n && !sp->bad; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') || s[i] == 0x7f)
			pol_bad(sp, "a control character (0x%02x)", (unsigned char)s[i]);
	i = 0;
	while (i < n && !sp->bad) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t') {
			pol_lex_word_end(&lx, i++);
		} else if (c == '<' || c == '>') {
			if (lx.inword)
				pol_lex_fd_word(&lx, i);
			i = pol_lex_redir(&lx, i);
		} else if (strchr("\n;&|()", c) != NULL) {
			i = pol_lex_sep(&lx, i);
		} else if (c == '#' && !lx.inword) {
			pol_bad(sp, "a comment (# starts one in bash, not in zsh)");
		} else {
			if (!lx.inword)
				lx.wstart = i;
			i = pol_lex_char(&lx, i);
		}
	}
	if (!sp->bad)
		pol_lex_op(&lx, n, POL_END);
}

/* ----------------------------------------------------------- what runs --- */

/* A command that runs another: its options as its getopt reads them, so the command it
 * runs is found exactly. `argopts`: short options with a value; `flags`: without; `longarg`
 * and `longflag` the same for --long ones; `refuse`: options that start a shell or read
 * commands from elsewhere (refused under any policy); `npos` words before the command
 * (timeout's duration); `cmdopt` an option whose value is a command line (su -c). An
 * option not listed is refused: an option parsed wrongly is how a command hides. */
struct pol_wrapper {
	const char *name, *argopts, *flags, *longarg, *longflag, *refuse;
	int npos;
	const char *cmdopt;
	int readonly_ok;                        /* read-only mode accepts it before a command */
	const char *longopt;                    /* --long options whose value is optional (=V) */
};

static const struct pol_wrapper pol_wrappers[] = {
	{ "sudo", "ugCDhrtTU", "nHPbkKlv", "--user --group --close-from --chdir --host --role "
	  "--type --command-timeout --other-user", "--non-interactive --set-home "
	  "--preserve-groups --background --reset-timestamp --remove-timestamp --list --validate",
	  "-s -i -e -A -S -p -E -B -N --shell --login --edit --askpass --stdin --prompt "
	  "--preserve-env --bell --no-update", 0, NULL, 1, NULL },
	{ "doas", "uC", "n", "", "", "-s", 0, NULL, 0, NULL },
	{ "env", "uC", "i0v", "--unset --chdir", "--ignore-environment --null --debug",
	  "-S --split-string --block-signal --default-signal --ignore-signal", 0, NULL, 1, NULL },
	{ "nohup", "", "", "", "", "", 0, NULL, 0, NULL },
	{ "nice", "n", "", "--adjustment", "", "", 0, NULL, 1, NULL },
	{ "ionice", "cn", "t", "--class --classdata", "--ignore", "-p -P -u --pid --pgid --uid",
	  0, NULL, 0, NULL },
	{ "timeout", "sk", "v", "--signal --kill-after", "--preserve-status --foreground "
	  "--verbose", "", 1, NULL, 1, NULL },
	{ "stdbuf", "ioe", "", "--input --output --error", "", "", 0, NULL, 0, NULL },
	{ "setsid", "", "cfw", "", "--ctty --fork --wait", "", 0, NULL, 0, NULL },
	{ "taskset", "", "ac", "", "--cpu-list --all-tasks", "-p --pid", 1, NULL, 0, NULL },
	{ "chroot", "", "", "--userspec --groups", "--skip-chdir", "", 1, NULL, 0, NULL },
	{ "flock", "wEc", "sxunoF", "--timeout --conflict-exit-code --command", "--shared "
	  "--exclusive --unlock --nonblock --close --no-fork --verbose", "", 1, "-c", 0, NULL },
	{ "xargs", "adEILnPs", "0prtx", "--arg-file --delimiter --max-lines --max-args "
	  "--max-procs --max-chars --process-slot-var", "--null --interactive "
	  "--no-run-if-empty --verbose --exit --open-tty", "-e -i -l -o", 0, NULL, 0,
	  "--replace --eof" },
	{ "watch", "n", "bcdegptx", "--interval", "--beep --color --errexit --chgexit --precise "
	  "--no-title --exec --no-wrap", "", 0, NULL, 0, "--differences" },
	{ "command", "", "p", "", "", "-v -V", 0, NULL, 0, NULL },
	{ "builtin", "", "", "", "", "", 0, NULL, 0, NULL },
	{ "exec", "a", "cl", "", "", "", 0, NULL, 0, NULL },
	{ "unbuffer", "", "p", "", "", "", 0, NULL, 0, NULL },
	{ "busybox", "", "", "", "", "", 0, NULL, 0, NULL },
	{ "toybox", "", "", "", "", "", 0, NULL, 0, NULL },
	{ "su", "sgG", "lmpfP", "--shell --group --supp-group --session-command",
	  "--login --preserve-environment --pty", "-s --shell --session-command", 1, "-c", 0, NULL },
	{ "script", "TIOBm", "aqfeEt", "--log-timing --log-in --log-out --log-io "
	  "--logging-format", "--append --quiet --flush --return --echo", "", 1, "-c", 0,
	  "--timing" },
	{ "time", "fo", "apvq", "--format --output", "--append --portability --verbose --quiet",
	  "", 0, NULL, 0, NULL },
	{ "noglob", "", "", "", "", "", 0, NULL, 0, NULL },
	{ "nocorrect", "", "", "", "", "", 0, NULL, 0, NULL },
};

/* Programs that run other programs in ways not modelled here (debuggers, sandboxes,
 * namespaces, privilege tools): under a policy the command they run would go unseen. */
static const char *const pol_runners[] = {
	"strace", "ltrace", "valgrind", "gdb", "perf", "nsenter", "unshare", "systemd-run",
	"pkexec", "setpriv", "capsh", "firejail", "bwrap", "parallel", "sg", "newgrp", "expect",
	"sudoedit", "chrt", "at", "batch", "crontab", "tmux", "screen", "dtach", "nohup.sh",
	"runuser", "prlimit", "setarch", "linux32", "linux64", "i386", "x86_64", "uname26",
	"choom", "ssh-agent", "fakeroot", "fakeroot-sysv", "fakeroot-tcp", "fakechroot",
	"cttyhack", "start-stop-daemon", "dbus-run-session", "dbus-launch", "systemd-inhibit",
	"runcon", "sandbox", "torsocks", "proxychains", "proxychains4", "catchsegv", "chpst",
	"softlimit", "envdir", "envuidgid", "setuidgid", "setlock", "daemonize", "daemon",
	"xvfb-run", "flatpak-spawn", "numactl", "cgexec", "faketime", "eatmydata", "vipe",
	"rlwrap", "chronic", "ifne", "pee", "zrun", "mispipe", "nsjail", "minijail0", "schroot",
	"systemd-nspawn", "machinectl", "lxc-attach", "lxc-execute", "run-parts", "entr",
	"xterm", "cpulimit", "trickle", "aa-exec", "ed", "red", "ex", NULL,
};

/* Programs that change how the terminal reads what is typed (its erase and kill keys):
 * the next line would reach the shell other than it was checked. */
static const char *const pol_tty_changers[] = { "stty", "tset", "reset", NULL };

/* Shell builtins that run, define or expose code or the shell's own state: refused under
 * any policy (eval, source and trap run strings; read, printf -v, declare and let evaluate
 * array subscripts; alias, hash and enable change what a name runs). */
static const char *const pol_denied_builtins[] = {
	"eval", "source", ".", "trap", "alias", "unalias", "bind", "complete", "compgen",
	"compopt", "fc", "history", "let", "enable", "shopt", "set", "setopt", "unsetopt", "hash",
	"mapfile", "readarray", "read", "wait", "caller", "declare", "typeset", "local",
	"readonly", "getopts", "autoload", "zmodload", "functions", "emulate", "vared", "zle",
	"bindkey", "sched", "zcompile", "zstyle", "zparseopts", "integer", "float", "print",
	"pushln", "r", "fg", "bg", "jobs", "disown", "suspend", "coproc", "ulimit",
	"function", NULL,
};

/* Reserved words: they start compound commands the grammar does not model. */
static const char *const pol_reserved[] = {
	"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until",
	"for", "in", "select", "time", "[[", "]]", "repeat", "foreach", "end", "always", NULL,
};

static const char *const pol_shells[] = { "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh",
	"csh", "tcsh", "fish", "rbash", NULL };

static int pol_is(const char *w, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(w, *list) == 0)
			return 1;
	return 0;
}

static const char *pol_base(const char *w)
{
	const char *b = strrchr(w, '/');

	return b != NULL ? b + 1 : w;
}

/* Are the n bytes at w one of the words of the space-separated list? */
static int pol_word_in(const char *w, size_t n, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t k = strcspn(p, " ");

		if (k == n && strncmp(p, w, n) == 0)
			return 1;
		p += k + (p[k] == ' ');
	}
	return 0;
}

/* A --long option: whether it takes a value, and refusal. Returns words consumed or -1. */
static int pol_wrap_long(struct pol_split *sp, const struct pol_cmd *c, int k,
    const struct pol_wrapper *wr)
{
	const char *w = c->wd[k].w, *eq = strchr(w, '=');
	size_t n = eq != NULL ? (size_t)(eq - w) : strlen(w);
	char name[64];

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, w, n);
	name[n] = '\0';
	if (pol_word_in(name, n, wr->refuse))
		pol_bad(sp, "%s %s", wr->name, name);
	else if (pol_word_in(name, n, wr->longarg))
		return eq != NULL ? 1 : 2;
	else if (pol_word_in(name, n, wr->longflag) && eq == NULL)
		return 1;
	else if (wr->longopt != NULL && pol_word_in(name, n, wr->longopt))
		return 1;
	else
		pol_bad(sp, "%s's option %s, which the policy does not know", wr->name, name);
	return -1;
}

/* A word that is itself a command line (sh -c STR, su -c STR, watch's words): checked as
 * a line of its own, one level deeper; it must be a literal to be checked at all. */
static void pol_nested(struct pol_split *sp, const struct pol_cmd *c, const char *line,
    unsigned fl)
{
	if (fl & (PW_EXPAND | PW_GLOB)) {
		pol_bad(sp, "a command line computed at run time (%.40s)", line);
		return;
	}
	pol_lex_line(sp, line, strlen(line), c->depth + 1);
}

/* One bundle of short options (-nu root): `*i` moves past the value it takes. */
static void pol_wrap_short(struct pol_split *sp, const struct pol_cmd *c, int *i,
    const struct pol_wrapper *wr, int *gotline)
{
	const char *w = c->wd[*i].w;
	size_t j;

	for (j = 1; w[j] != '\0' && !sp->bad; j++) {
		char o[3] = { '-', w[j], '\0' };
		int cmdline = wr->cmdopt != NULL && w[j] == wr->cmdopt[1];

		if (pol_word_in(o, 2, wr->refuse)) {
			pol_bad(sp, "%s %s", wr->name, o);
		} else if (cmdline || strchr(wr->argopts, w[j]) != NULL) {
			const char *v = w[j + 1] != '\0' ? w + j + 1 : *i + 1 < c->n ? c->wd[*i + 1].w : NULL;
			unsigned fl = w[j + 1] != '\0' ? c->wd[*i].fl : *i + 1 < c->n ? c->wd[*i + 1].fl : 0;

			if (v == NULL)
				pol_bad(sp, "%s %s without its value", wr->name, o);
			else if (cmdline) {
				pol_nested(sp, c, v, fl);
				*gotline = 1;
			}
			*i += w[j + 1] == '\0';
			return;
		} else if (strchr(wr->flags, w[j]) == NULL) {
			pol_bad(sp, "%s's option %s, which the policy does not know", wr->name, o);
		}
	}
}

/*
 * Past a wrapper's options and positionals (timeout's duration, flock's file, su's user)
 * to the command it runs: its index, or c->n when what runs is a command line already
 * checked (su -c STR) or nothing. Sets *line when a command line was given.
 */
static int pol_wrap_skip(struct pol_split *sp, const struct pol_cmd *c, int k,
    const struct pol_wrapper *wr, int *line)
{
	int i = k + 1, pos = 0, r;

	*line = 0;
	while (i < c->n && !sp->bad && !*line) {
		const char *w = c->wd[i].w;

		if (c->wd[i].fl & (PW_EXPAND | PW_GLOB)) {
			pol_bad(sp, "an argument of %s computed at run time", wr->name);
		} else if (strcmp(w, "--") == 0) {
			i++;
			if (pos >= wr->npos)
				break;
		} else if (w[0] == '-' && w[1] == '-') {
			if ((r = pol_wrap_long(sp, c, i, wr)) > 0 && wr->cmdopt != NULL &&
			    strncmp(w, "--command", 9) == 0 && i + 1 < c->n) {
				pol_nested(sp, c, strchr(w, '=') ? strchr(w, '=') + 1 : c->wd[i + 1].w,
				    strchr(w, '=') ? c->wd[i].fl : c->wd[i + 1].fl);
				*line = 1;
			}
			i += r > 0 ? r : 1;
		} else if (w[0] == '-' && w[1] != '\0') {
			pol_wrap_short(sp, c, &i, wr, line);
			i++;
		} else if (strcmp(w, "-") == 0 && wr->cmdopt != NULL && pos == 0) {
			i++;                        /* su -: a login shell */
		} else if (pos < wr->npos) {
			pos++;
			i++;
		} else
			break;
	}
	return *line ? c->n : i;
}

/* sh -c STR and its kin, as the shells read their arguments: bundles of flags after - or +
 * (-ce, +x), -o/-O taking the next word, c anywhere in a bundle making the first operand
 * the command line; a script file or stdin is not checkable. */
static void pol_shell(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	static const char flags[] = "abefhkmnptuvxlrCEHBPT", longs[] = "--norc --noprofile "
		"--login --posix --restricted --verbose --noediting";
	int i, cmdline = 0;

	for (i = k + 1; i < c->n && !sp->bad; i++) {
		const char *w = c->wd[i].w;
		size_t j;

		if (c->wd[i].fl & (PW_EXPAND | PW_GLOB)) {
			pol_bad(sp, "an argument of %s computed at run time", c->wd[k].w);
		} else if (strcmp(w, "--") == 0 || strcmp(w, "-") == 0) {
			i++;
			break;
		} else if (w[0] == '-' && w[1] == '-') {
			if (!pol_word_in(w, strlen(w), longs))
				pol_bad(sp, "%s's option %s, which the policy does not know", c->wd[k].w, w);
		} else if ((w[0] == '-' || w[0] == '+') && w[1] != '\0') {
			for (j = 1; w[j] != '\0' && !sp->bad; j++) {
				if (w[j] == 'o' || w[j] == 'O') {
					if (w[j + 1] != '\0' || i + 1 >= c->n)
						pol_bad(sp, "%s %c%c not followed by one option name",
						    c->wd[k].w, w[0], w[j]);
					i++;
				} else if (w[j] == 'c' && w[0] == '-') {
					cmdline = 1;
				} else if (strchr(flags, w[j]) == NULL) {
					pol_bad(sp, "%s %c%c (%s)", c->wd[k].w, w[0], w[j], w[j] == 's' ||
					    w[j] == 'i' ? "commands from the terminal" : "an option the "
					    "policy does not know");
				}
			}
		} else
			break;
	}
	if (sp->bad)
		return;
	if (!cmdline)
		pol_bad(sp, i < c->n ? "a shell running a script file (its commands are unknown)" :
		    "a shell reading its commands from the terminal");
	else if (i >= c->n)
		pol_bad(sp, "%s -c without its command line", c->wd[k].w);
	else
		pol_nested(sp, c, c->wd[i].w, c->wd[i].fl);
}

/* find -exec/-execdir/-ok/-okdir CMD ... ; or {} +: CMD is a command of its own (a + that
 * does not follow {} is an argument, as find reads it). */
static void pol_find_exec(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	int i, j;

	for (i = k + 1; i < c->n && !sp->bad; i++) {
		const char *w = c->wd[i].w;

		if (strcmp(w, "-exec") != 0 && strcmp(w, "-execdir") != 0 && strcmp(w, "-ok") != 0 &&
		    strcmp(w, "-okdir") != 0)
			continue;
		for (j = i + 1; j < c->n && strcmp(c->wd[j].w, ";") != 0 && !(strcmp(c->wd[j].w,
		    "+") == 0 && j > i + 1 && strcmp(c->wd[j - 1].w, "{}") == 0); j++)
			;
		if (j == i + 1 || sp->n >= SSHMCP_POLICY_SEGS) {
			pol_bad(sp, j == i + 1 ? "find -exec without a command" : "too many commands to check");
			return;
		}
		sp->cmd[sp->n++] = (struct pol_cmd){ .wd = c->wd + i + 1, .n = j - i - 1,
			.depth = c->depth + 1 };
		i = j;
	}
}

/* watch CMD WORDS: sh -c runs them joined with spaces (unless -x, --exec). */
static void pol_watch(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	char line[SSHMCP_LINE_MAX];
	size_t o = 0;
	int i;

	for (i = k; i < c->n; i++) {
		size_t n = strlen(c->wd[i].w);

		if (c->wd[i].fl & (PW_EXPAND | PW_GLOB) || n + 1 > sizeof(line) - o) {
			pol_bad(sp, "a watch command computed at run time or too long");
			return;
		}
		memcpy(line + o, c->wd[i].w, n);
		o += n;
		line[o++] = ' ';
	}
	line[o > 0 ? o - 1 : 0] = '\0';
	pol_lex_line(sp, line, strlen(line), c->depth + 1);
}

/* The shell's own words that a policy allows, each with its limits. */
static void pol_builtin_args(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	const char *w = c->wd[k].w;
	int i;

	for (i = k + 1; i < c->n && !sp->bad; i++) {
		const char *a = c->wd[i].w;
		size_t nl = pol_name_len(a, strlen(a));

		if ((strcmp(w, "test") == 0 || strcmp(w, "[") == 0) && strcmp(a, "-v") == 0)
			pol_bad(sp, "%s -v (it evaluates array subscripts)", w);
		if (strcmp(w, "printf") == 0 && strncmp(a, "-v", 2) == 0)
			pol_bad(sp, "printf %.40s (-v evaluates array subscripts)", a);
		if ((strcmp(w, "export") == 0 || strcmp(w, "unset") == 0) &&
		    (nl == 0 || (a[nl] != '\0' && !(a[nl] == '=' && strcmp(w, "export") == 0))))
			pol_bad(sp, "%s of '%.40s' (only plain names and NAME=value)", w, a);
		else if ((strcmp(w, "export") == 0 || strcmp(w, "unset") == 0) &&
		    pol_name_protected(a, nl))
			pol_bad(sp, "%s of the protected variable %.*s", w, (int)nl, a);
	}
}

/* The dynamic loader (ld-linux-x86-64.so.2 PROGRAM, ld.so): it runs the program it names. */
static int pol_is_loader(const char *base)
{
	return strncmp(base, "ld", 2) == 0 && strstr(base, ".so") != NULL;
}

/* Is any argument of c after k one of the words of list? */
static int pol_any_arg(const struct pol_cmd *c, int k, const char *list)
{
	int i;

	for (i = k + 1; i < c->n; i++)
		if (pol_word_in(c->wd[i].w, strlen(c->wd[i].w), list))
			return 1;
	return 0;
}

/* The command word itself: a literal name or path, not a keyword, nothing that makes the
 * shell run or expose code. */
static void pol_cmd_word(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	const struct pol_word *wd = &c->wd[k];
	const char *w = wd->w;

	if (pol_is(w, pol_reserved) && !(wd->fl & PW_QUOTED))
		pol_bad(sp, "a compound command (%s)", w);
	else if (wd->fl & PW_EXPAND)
		pol_bad(sp, "a command word computed at run time ('%.40s')", wd->src);
	else if (wd->fl & (PW_GLOB | PW_TILDE))
		pol_bad(sp, "a pattern or ~ in the command word ('%.40s')", wd->src);
	else if (w[0] == '\0' || w[0] == '-' || (strcmp(w, "[") != 0 &&
	    strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-:@,")
	    != strlen(w)))
		pol_bad(sp, "the command word '%.40s' (not a plain program name or path)", wd->src);
	else if (pol_is(w, pol_reserved))
		pol_bad(sp, "a compound command (%s)", w);
	else if (pol_is(w, pol_denied_builtins))
		pol_bad(sp, "the shell builtin '%s' (it runs, defines or exposes code)", w);
	else if (pol_is(pol_base(w), pol_runners) || pol_is_loader(pol_base(w)))
		pol_bad(sp, "%s, which runs commands the policy cannot see", pol_base(w));
	else if (pol_is(pol_base(w), pol_tty_changers) || (strcmp(pol_base(w), "tput") == 0 &&
	    pol_any_arg(c, k, "init reset rs1 rs2 rs3 is1 is2 is3 -S")))
		pol_bad(sp, "%s, which changes how the terminal reads what is typed", pol_base(w));
	else
		pol_builtin_args(sp, c, k);
}

/* ------------------------------------------------------ read-only mode --- */

/*
 * Read-only mode runs only programs that have a rule here, and judges their arguments:
 * `opts` when set lists every option accepted (anything else is refused); `forbid` lists
 * options that write, run a program or change something; `subs` the words the first
 * argument may be; flags below. A program whose rule forbids anything also refuses
 * arguments computed at run time ("$X", globs) before a --: such a word may be one of
 * the forbidden options.
 */
#define RO_POS1    1u                       /* at most one operand (uniq IN OUT writes OUT) */
#define RO_NOPOS   2u                       /* no operands (hostname NAME sets it) */
#define RO_PLUS    4u                       /* operands start with + (date +%s; date SET sets) */
#define RO_BATCH   8u                       /* must have -b (top: batch mode, no keys) */
#define RO_FILTER 16u                       /* a device's output filter: after a | only */
#define RO_WORDOPT 32u                      /* -name is one option, not -n -a -m -e (find) */

struct pol_ro {
	const char *cmd, *subs, *forbid, *opts;
	unsigned flags;
	int (*check)(struct pol_split *sp, const struct pol_cmd *c, int k);
	const char *pre;        /* with subs: the options accepted before the subcommand ("-n="
	                         * takes a value): any other could take the next word as its
	                         * value and make a later word the subcommand */
};

static int pol_ro_sed(struct pol_split *sp, const struct pol_cmd *c, int k);
static int pol_ro_git(struct pol_split *sp, const struct pol_cmd *c, int k);
static int pol_ro_ip(struct pol_split *sp, const struct pol_cmd *c, int k);
static int pol_ro_xxd(struct pol_split *sp, const struct pol_cmd *c, int k);

#define RO_ANY(cmd)  { cmd, NULL, NULL, NULL, 0, NULL, NULL }          /* any arguments */
#define RO_FILT(cmd) { cmd, NULL, NULL, NULL, RO_FILTER, NULL, NULL }

static const struct pol_ro pol_readonly[] = {
	RO_ANY("ls"), RO_ANY("cat"), RO_ANY("head"), RO_ANY("tail"), RO_ANY("tac"), RO_ANY("nl"),
	RO_ANY("grep"), RO_ANY("egrep"), RO_ANY("fgrep"), RO_ANY("zgrep"),
	RO_ANY("zcat"), { "rg", NULL, "--pre --pre-glob", NULL, 0, NULL, NULL },
	{ "find", NULL, "-delete -exec -execdir -ok -okdir -fprint -fprint0 -fprintf -fls", NULL,
	  RO_WORDOPT, NULL, NULL },
	RO_ANY("stat"), { "file", NULL, "-C --compile", NULL, 0, NULL, NULL },
	RO_ANY("wc"), RO_ANY("du"), RO_ANY("df"), RO_ANY("free"), RO_ANY("uptime"), RO_ANY("uname"),
	{ "hostname", NULL, NULL, "-a -A -d -f -i -I -s --fqdn --long --short --domain "
	  "--ip-address --all-ip-addresses --all-fqdns --alias", RO_NOPOS, NULL, NULL },
	RO_ANY("id"), RO_ANY("whoami"), RO_ANY("w"), RO_ANY("who"), RO_ANY("last"), RO_ANY("ps"),
	RO_ANY("pgrep"), RO_ANY("pidof"),
	RO_ANY("printenv"), { "env", NULL, NULL, "-0 --null", RO_NOPOS, NULL, NULL },
	RO_ANY("echo"), { "printf", NULL, "-v", NULL, 0, NULL, NULL },
	{ "date", NULL, "-s --set", NULL, RO_PLUS, NULL, NULL },
	{ "ss", NULL, "-K --kill -D --diag", NULL, 0, NULL, NULL }, RO_ANY("netstat"),
	{ "ip", NULL, NULL, NULL, 0, pol_ro_ip, NULL },
	RO_ANY("lsblk"), RO_ANY("lscpu"), RO_ANY("lsmod"), RO_ANY("lsof"), RO_ANY("lspci"),
	RO_ANY("lsusb"),
	{ "dmesg", NULL, "-C -c --clear -D --console-off -E --console-on -n --console-level",
	  NULL, 0, NULL, NULL },
	{ "journalctl", NULL, "--vacuum-size --vacuum-time --vacuum-files --rotate --flush --sync "
	  "--relinquish-var --smart-relinquish-var --setup-keys --update-catalog --cursor-file",
	  NULL, 0, NULL, NULL },
	{ "systemctl", "status show list-units list-unit-files list-timers list-sockets is-active "
	  "is-enabled is-failed is-system-running cat", NULL, NULL, 0, NULL, "--no-pager -l "
	  "--full -a --all --user --system --no-legend -q --quiet --plain --no-ask-password" },
	{ "sort", NULL, "-o --output --compress-program", NULL, 0, NULL, NULL },
	{ "uniq", NULL, NULL, NULL, RO_POS1, NULL, NULL }, RO_ANY("cut"),
	RO_ANY("tr"), { "sed", NULL, NULL, NULL, 0, pol_ro_sed, NULL },
	RO_ANY("diff"), RO_ANY("cmp"), RO_ANY("md5sum"), RO_ANY("sha1sum"), RO_ANY("sha256sum"),
	RO_ANY("sha512sum"), RO_ANY("readlink"), RO_ANY("realpath"), RO_ANY("basename"),
	RO_ANY("dirname"), RO_ANY("pwd"), RO_ANY("cd"),
	{ "test", NULL, "-v", NULL, 0, NULL, NULL }, { "[", NULL, "-v", NULL, 0, NULL, NULL },
	RO_ANY("true"), RO_ANY("false"), RO_ANY("sleep"), RO_ANY("seq"), RO_ANY("which"),
	RO_ANY("type"), RO_ANY("whereis"), RO_ANY("getent"), RO_ANY("groups"), RO_ANY("nproc"),
	RO_ANY("vmstat"), RO_ANY("iostat"),
	{ "top", NULL, NULL, NULL, RO_BATCH, NULL, NULL }, { "tree", NULL, "-o", NULL, 0, NULL, NULL },
	RO_ANY("column"), RO_ANY("jq"), RO_ANY("strings"), RO_ANY("hexdump"),
	{ "xxd", NULL, NULL, NULL, 0, pol_ro_xxd, NULL }, RO_ANY("od"),
	RO_ANY("base64"), RO_ANY("findmnt"),
	{ "blkid", NULL, "-g --garbage-collect -c --cache-file", NULL, 0, NULL, NULL },
	RO_ANY("ping"), RO_ANY("traceroute"), RO_ANY("tracepath"), RO_ANY("dig"),
	RO_ANY("nslookup"), RO_ANY("host"),
	{ "git", NULL, NULL, NULL, 0, pol_ro_git, NULL },
	{ "docker", "ps images inspect logs version info top stats", NULL, NULL, 0, NULL,
	  "--version -v" },
	{ "kubectl", "get describe logs version top explain api-resources", NULL, NULL, 0, NULL,
	  "-n= --namespace= --context= --cluster= --request-timeout=" },
	/* network devices: show and display look; terminal sets the session's page size */
	RO_ANY("show"), RO_ANY("display"),
	{ "terminal", "length width pager", NULL, NULL, 0, NULL, NULL },
	/* device output filters: `show run | include x` */
	RO_FILT("include"), RO_FILT("exclude"), RO_FILT("begin"), RO_FILT("section"),
	RO_FILT("count"), RO_FILT("match"), RO_FILT("except"), RO_FILT("no-more"), RO_FILT("i"),
	RO_FILT("e"), RO_FILT("b"), RO_FILT("s"), RO_FILT("inc"), RO_FILT("trim"),
};

/* The option part of a word: "--output=x" -> "--output"; "-oFILE" stays whole. */
static size_t pol_opt_len(const char *w)
{
	return w[0] == '-' && w[1] == '-' ? strcspn(w, "=") : strlen(w);
}

/* Does the --long option (n bytes at w) name one of list's, or abbreviate one? GNU
 * getopt_long takes any unambiguous prefix: --outp is --output. */
static int pol_long_in(const char *w, size_t n, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t k = strcspn(p, " ");

		if (n > 2 && n <= k && strncmp(p, "--", 2) == 0 && strncmp(p, w, n) == 0)
			return 1;
		p += k + (p[k] == ' ');
	}
	return 0;
}

/* Does `w` name an option of `list`, as -x, -xVALUE (bundled short options) or --long
 * (abbreviated too)? */
static int pol_opt_in(const char *w, const char *list)
{
	size_t j;

	if (w[0] != '-' || w[1] == '\0')
		return 0;
	if (w[1] == '-')
		return pol_long_in(w, pol_opt_len(w), list);
	for (j = 1; w[j] != '\0'; j++) {
		char o[3] = { '-', w[j], '\0' };

		if (pol_word_in(o, 2, list))
			return 1;
	}
	return 0;
}

/* The options before a subcommand (systemctl -l status): only those of r->pre, values
 * skipped. Returns the index before the subcommand, -1 refused. */
static int pol_ro_pre(struct pol_split *sp, const struct pol_cmd *c, int k,
    const struct pol_ro *r)
{
	const char *pre = r->pre != NULL ? r->pre : "";
	int i;

	for (i = k + 1; i < c->n && c->wd[i].w[0] == '-' && strcmp(c->wd[i].w, "--") != 0; i++) {
		const char *w = c->wd[i].w;
		size_t n = pol_opt_len(w);
		char eq[64];

		if (pol_word_in(w, n, pre))
			continue;
		(void)str_fmt(eq, sizeof(eq), "%.*s=", (int)(n < 2 || w[1] == '-' ? n : 2), w);
		if (!pol_word_in(eq, strlen(eq), pre) || (c->wd[i].fl & (PW_EXPAND | PW_GLOB))) {
			pol_bad(sp, "%s %.*s before the subcommand", r->cmd, (int)n, w);
			return -1;
		}
		i += w[n] == '\0' && (w[1] == '-' || w[2] == '\0');     /* -n NS, --namespace NS */
	}
	return i - 1;
}

/* The generic rule: options against opts/forbid, operands against the flags; a computed
 * word (before --) only for programs with nothing to forbid. */
static int pol_ro_args(struct pol_split *sp, const struct pol_cmd *c, int k,
    const struct pol_ro *r)
{
	int i, pos = 0, dashdash = 0, batch = 0;
	int strict = r->forbid != NULL || r->opts != NULL || r->flags != 0;

	if (r->subs != NULL && (k = pol_ro_pre(sp, c, k, r)) < 0)
		return -1;
	for (i = k + 1; i < c->n && !sp->bad; i++) {
		const char *w = c->wd[i].w;
		int opt = !dashdash && w[0] == '-' && w[1] != '\0';

		if (!dashdash && strict && (c->wd[i].fl & (PW_EXPAND | PW_GLOB)))
			pol_bad(sp, "%s with an argument computed at run time ('%.40s')", r->cmd,
			    c->wd[i].src);
		else if (opt && strcmp(w, "--") == 0)
			dashdash = !(r->flags & RO_WORDOPT);    /* find's expression goes on */
		else if (opt && r->forbid != NULL && ((r->flags & RO_WORDOPT) ?
		    pol_word_in(w, strlen(w), r->forbid) : pol_opt_in(w, r->forbid)))
			pol_bad(sp, "%s %.*s", r->cmd, (int)pol_opt_len(w), w);
		else if (opt && r->opts != NULL && !pol_word_in(w, pol_opt_len(w), r->opts))
			pol_bad(sp, "%s %.*s", r->cmd, (int)pol_opt_len(w), w);
		else if (opt)
			batch |= (r->flags & RO_BATCH) && strchr(w + 1, 'b') != NULL && w[1] != '-';
		else if (r->subs != NULL && pos++ == 0 && !pol_word_in(w, strlen(w), r->subs))
			pol_bad(sp, "%s %s", r->cmd, w);
		else if (((r->flags & RO_NOPOS) && r->subs == NULL) || ((r->flags & RO_POS1) &&
		    ++pos > 1) || ((r->flags & RO_PLUS) && w[0] != '+'))
			pol_bad(sp, "%s with the operand '%.40s' (it would write or set something)",
			    r->cmd, w);
	}
	if (!sp->bad && (r->flags & RO_BATCH) && !batch)
		pol_bad(sp, "%s without -b (interactive, it takes keys that act)", r->cmd);
	return sp->bad ? -1 : 0;
}

/* Past a sed address (a line number, first~step, $, /re/ or \cREc with I or M after). */
static const char *pol_sed_addr(const char *p)
{
	char d;

	if (*p == '$')
		return p + 1;
	if (isdigit((unsigned char)*p) || *p == '+' || *p == '~') {
		p += *p == '+' || *p == '~';
		while (isdigit((unsigned char)*p) || *p == '~')
			p++;
		return p;
	}
	if (*p != '/' && *p != '\\')
		return p;
	d = *p == '\\' ? p[1] : '/';
	for (p += *p == '\\' ? 2 : 1; *p != '\0' && *p != d; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	if (*p == d)
		p++;
	while (*p == 'I' || *p == 'M')
		p++;
	return p;
}

/* Past s's or y's parts after the command letter; NULL when they do not close. */
static const char *pol_sed_parts(const char *p, int parts)
{
	char d = *p;

	if (d == '\0' || d == '\\' || d == '\n')
		return NULL;
	for (p++; parts > 0; p++) {
		if (*p == '\0')
			return NULL;
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == d)
			parts--;
	}
	return p;
}

/* A sed script, command by command, as GNU sed reads it: 0 when it only prints and edits
 * the stream. e, w, W, r, R and s's e and w flags run, write or read: refused. */
static int pol_sed_script(struct pol_split *sp, const char *p)
{
	while (*p != '\0' && !sp->bad) {
		char cmd;

		p += strspn(p, " \t\n;");
		if (*p == '\0')
			break;
		if (*p == '#') {                            /* a comment */
			p += strcspn(p, "\n");
			continue;
		}
		if (*p == ':') {            /* a label ends at a blank or ;, as GNU sed reads it */
			p++;
			p += strspn(p, " \t");
			p += strcspn(p, " \t\n;");
			continue;
		}
		p = pol_sed_addr(p);
		p += strspn(p, " \t");
		if (*p == ',')
			p = pol_sed_addr(p + 1 + strspn(p + 1, " \t"));
		p += strspn(p, " \t!");
		cmd = *p++;
		if (strchr("{}=dDgGhHnNpPxzF", cmd) != NULL && cmd != '\0')
			continue;
		if (strchr("lqQLbtTv", cmd) != NULL && cmd != '\0') {   /* a label or a number */
			p += strspn(p, " \t");
			p += strcspn(p, " \t\n;}");
			continue;
		}
		if (strchr("aic", cmd) != NULL && cmd != '\0') {    /* text to the line's end */
			for (; *p != '\0' && *p != '\n'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			continue;
		}
		if ((cmd == 's' || cmd == 'y') && (p = pol_sed_parts(p, 2)) != NULL) {
			size_t f = strspn(p, "gpiImM0123456789");

			if (cmd == 's' && (p[f] == 'e' || p[f] == 'w'))
				pol_bad(sp, "sed's s///%c (it %s)", p[f], p[f] == 'e' ? "runs the pattern "
				    "space as a command" : "writes a file");
			p += f;
			continue;
		}
		pol_bad(sp, p == NULL ? "a sed command that does not close" :
		    strchr("ewWrR", cmd) != NULL && cmd != '\0' ? "sed's %c command (it runs a command "
		    "or reads or writes a file)" : "the sed command '%c'", p == NULL ? ' ' : cmd);
	}
	return sp->bad ? -1 : 0;
}

/* sed: the script only as a literal argument (-e, or the first operand without -e), never
 * -i or -f; the options as GNU sed bundles them (-ne 'p'). */
static int pol_ro_sed(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	int i, have_e = 0, dashdash = 0;

	for (i = k + 1; i < c->n && strcmp(c->wd[i].w, "--") != 0; i++)     /* -e after -- is a file */
		have_e |= strncmp(c->wd[i].w, "--expression", 12) == 0 ||
		    (c->wd[i].w[0] == '-' && c->wd[i].w[1] != '-' && strchr(c->wd[i].w, 'e') != NULL);
	for (i = k + 1; i < c->n && !sp->bad; i++) {
		const struct pol_word *wd = &c->wd[i];
		const char *w = wd->w, *v = NULL;

		if (!dashdash && (wd->fl & (PW_EXPAND | PW_GLOB)))
			pol_bad(sp, "sed with an argument computed at run time");
		else if (!dashdash && strcmp(w, "--") == 0)
			dashdash = 1;
		else if (!dashdash && w[0] == '-' && w[1] == '-') {
			if (strncmp(w, "--expression", 12) == 0)
				v = w[12] == '=' ? w + 13 : i + 1 < c->n ? c->wd[++i].w : "";
			else if (!pol_word_in(w, pol_opt_len(w), "--quiet --silent --regexp-extended "
			    "--separate --unbuffered --null-data --posix --debug --sandbox --line-length"))
				pol_bad(sp, "sed %.*s", (int)pol_opt_len(w), w);
		} else if (!dashdash && w[0] == '-' && w[1] != '\0') {
			size_t j = 1 + strspn(w + 1, "nErsuz");

			if (w[j] == 'e' || w[j] == 'l')
				v = w[j + 1] != '\0' ? w + j + 1 : i + 1 < c->n ? c->wd[++i].w : "";
			else if (w[j] != '\0')
				pol_bad(sp, "sed -%c", w[j]);
			if (w[j] == 'l')
				v = NULL;
		} else if (!have_e) {
			v = w;
			have_e = 1;                 /* the first operand was the script; files next */
		}
		if (v != NULL && (c->wd[i].fl & (PW_EXPAND | PW_GLOB)) == 0)
			(void)pol_sed_script(sp, v);
		else if (v != NULL)
			pol_bad(sp, "a sed script computed at run time");
	}
	return sp->bad ? -1 : 0;
}

/* git: looking subcommands only, no --output, no pager, no -c, no external diff; branch and
 * tag only list (an operand would create one). */
static int pol_ro_git(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	static const char subs[] = "status log show diff rev-parse describe ls-files blame "
		"shortlog branch tag grep cat-file ls-tree show-ref rev-list merge-base count-objects";
	int i = k + 1, list = 0, ops = 0;
	const char *sub;

	for (; i < c->n && c->wd[i].w[0] == '-' && !sp->bad; i++) {
		const char *w = c->wd[i].w;

		if (strcmp(w, "-C") == 0 && i + 1 < c->n)
			i++;
		else if (!pol_word_in(w, pol_opt_len(w), "--no-pager -P --git-dir --work-tree "
		    "--no-optional-locks --literal-pathspecs --bare --namespace --no-replace-objects"))
			pol_bad(sp, "git %.*s", (int)pol_opt_len(w), w);
	}
	if (sp->bad || i >= c->n || (c->wd[i].fl & (PW_EXPAND | PW_GLOB)) ||
	    !pol_word_in(c->wd[i].w, strlen(c->wd[i].w), subs)) {
		pol_bad(sp, "git %s (not a read-only git command)", i < c->n ? c->wd[i].src : "");
		return -1;
	}
	sub = c->wd[i].w;
	for (i++; i < c->n && !sp->bad; i++) {
		const char *w = c->wd[i].w;

		if (c->wd[i].fl & (PW_EXPAND | PW_GLOB))
			pol_bad(sp, "git with an argument computed at run time ('%.40s')", c->wd[i].src);
		else if (pol_opt_in(w, "--output --ext-diff --open-files-in-pager -O --exec --paginate"))
			pol_bad(sp, "git %s %.*s", sub, (int)pol_opt_len(w), w);
		else if (w[0] == '-')           /* what makes git list, with names as patterns */
			list |= pol_word_in(w, pol_opt_len(w), "-l --list --contains --no-contains "
			    "--merged --no-merged --points-at");
		else
			ops++;
		if ((strcmp(sub, "branch") == 0 || strcmp(sub, "tag") == 0) && w[0] == '-' &&
		    !pol_word_in(w, pol_opt_len(w), "-l --list -a --all -r --remotes -v -vv "
		    "--verbose --show-current --contains --no-contains --merged --no-merged "
		    "--points-at -n --column --no-column --sort --format --color --no-color -i "
		    "--ignore-case --abbrev"))
			pol_bad(sp, "git %s %.*s", sub, (int)pol_opt_len(w), w);
	}
	if (!sp->bad && ops > 0 && !list && (strcmp(sub, "branch") == 0 || strcmp(sub, "tag") == 0))
		pol_bad(sp, "git %s with a name (it would create one; add --list to look)", sub);
	return sp->bad ? -1 : 0;
}

/* xxd [options] [in [out]]: options end at the first operand (a later "-t" is the output
 * file), one operand only, never -r (reverting writes the file it names). */
static int pol_ro_xxd(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	int i, pos = 0;

	for (i = k + 1; i < c->n && !sp->bad; i++) {
		const char *w = c->wd[i].w, *o = w + 1 + (w[1] == '-');

		if (c->wd[i].fl & (PW_EXPAND | PW_GLOB))
			pol_bad(sp, "xxd with an argument computed at run time ('%.40s')", c->wd[i].src);
		else if (pos > 0 || w[0] != '-' || w[1] == '\0')
			pos++;
		else if (o[0] == 'r' || o[0] == '\0')
			pol_bad(sp, "xxd %s (it writes)", w);
		else if (strchr("cgloOsn", o[0]) != NULL && o[1] == '\0')
			i++;                            /* -s 16: the value is the next word */
		if (pos > 1)
			pol_bad(sp, "xxd with an output file");
	}
	return sp->bad ? -1 : 0;
}

/* ip: an object to look at, then show/list/get (or nothing); never -batch or netns exec. */
static int pol_ro_ip(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	static const char objs[] = "a addr address l link r ro route n ne neigh neighbor "
		"neighbour ru rule maddr maddress nexthop";
	int i = k + 1;

	for (; i < c->n && c->wd[i].w[0] == '-' && !sp->bad; i++) {
		const char *w = c->wd[i].w;

		if ((strcmp(w, "-n") == 0 || strcmp(w, "-netns") == 0) && i + 1 < c->n)
			i++;
		else if (!pol_word_in(w, strlen(w), "-s -stats -statistics -d -details -4 -6 -0 -br "
		    "-brief -c -color -j -json -p -pretty -o -oneline -h -human -N -numeric -a -all"))
			pol_bad(sp, "ip %s", w);
	}
	if (!sp->bad && i < c->n && ((c->wd[i].fl & (PW_EXPAND | PW_GLOB)) ||
	    !pol_word_in(c->wd[i].w, strlen(c->wd[i].w), objs)))
		pol_bad(sp, "ip %s (only addr, link, route, neigh, rule, maddr look)", c->wd[i].w);
	if (!sp->bad && i + 1 < c->n && c->wd[i + 1].w[0] != '-' &&
	    !pol_word_in(c->wd[i + 1].w, strlen(c->wd[i + 1].w), "show list lst ls sh get dev help"))
		pol_bad(sp, "ip %s %s (only show, list and get look)", c->wd[i].w, c->wd[i + 1].w);
	return sp->bad ? -1 : 0;
}

/* Read-only mode: the program has a rule and its arguments keep to it. `pipe_idx` > 0:
 * the command reads a pipe (device filters go there only). */
static void pol_readonly_check(struct pol_split *sp, const struct pol_cmd *c, int k)
{
	const char *w = pol_base(c->wd[k].w);
	size_t i;

	if (strchr(c->wd[k].w, '/') != NULL && strncmp(c->wd[k].w, "/bin/", 5) != 0 &&
	    strncmp(c->wd[k].w, "/usr/bin/", 9) != 0 && strncmp(c->wd[k].w, "/sbin/", 6) != 0 &&
	    strncmp(c->wd[k].w, "/usr/sbin/", 10) != 0) {
		pol_bad(sp, "'%.60s' is not a system program (read-only mode)", c->wd[k].w);
		return;
	}
	for (i = 0; i < sizeof(pol_readonly) / sizeof(pol_readonly[0]); i++) {
		const struct pol_ro *r = &pol_readonly[i];

		if (strcmp(w, r->cmd) != 0 || ((r->flags & RO_FILTER) && c->pipe_idx == 0))
			continue;
		(void)(r->check != NULL ? r->check(sp, c, k) : pol_ro_args(sp, c, k, r));
		return;
	}
	pol_bad(sp, "'%s' is not a known read-only command", w);
}

/* ----------------------------------------------------------- the rules --- */

/* The text a rule's ERE sees for c's words from k: joined by single spaces; `typed` keeps
 * each word as typed (AllowCommand: quoting and "$X" show), else dequoted with the command
 * word as its basename when `base` (DenyCommand: /bin/rm is rm). -1 when too long. */
static int pol_text(const struct pol_cmd *c, int k, int typed, int base, char *out, size_t cap)
{
	size_t o = 0;
	int i;

	out[0] = '\0';
	for (i = k; i < c->n; i++) {
		const char *w = typed ? c->wd[i].src : i == k && base ? pol_base(c->wd[i].w) : c->wd[i].w;
		size_t n = strlen(w);

		if (n + 2 > cap - o)
			return -1;
		if (i > k)
			out[o++] = ' ';
		memcpy(out + o, w, n);
		o += n;
	}
	out[o] = '\0';
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

/* DenyCommand on the command that starts at word k: as typed and with its basename. */
static void pol_deny(const struct policy *p, struct pol_split *sp, const struct pol_cmd *c,
    int k)
{
	char t1[SSHMCP_LINE_MAX], t2[SSHMCP_LINE_MAX];
	int r;

	if (p->ndeny == 0)
		return;
	if (pol_text(c, k, 0, 1, t1, sizeof(t1)) < 0 || pol_text(c, k, 0, 0, t2, sizeof(t2)) < 0)
		pol_bad(sp, "a command too long to check");
	else if ((r = pol_match(p->deny, p->ndeny, t1)) >= 0 ||
	    (r = pol_match(p->deny, p->ndeny, t2)) >= 0)
		pol_bad(sp, "refused by DenyCommand %s: '%.80s'", p->deny[r].src, t1);
}

/* AllowCommand on a command a wrapper runs (sudo CMD, env CMD, watch -x CMD): it must be
 * allowed on its own too, or a rule for the wrapper would allow everything. */
static void pol_allow_inner(const struct policy *p, struct pol_split *sp, const struct pol_cmd *c,
    int k)
{
	char text[SSHMCP_LINE_MAX];

	if (p->nallow == 0)
		return;
	if (pol_text(c, k, 1, 0, text, sizeof(text)) < 0)
		pol_bad(sp, "a command too long to check");
	else if (pol_match(p->allow, p->nallow, text) < 0)
		pol_bad(sp, "refused: '%.80s' (run by %s) matches no AllowCommand", text,
		    pol_base(c->wd[k - 1].w));
}

/* env NAME=value ... CMD: the assignments (never protected ones, none in read-only mode),
 * then the command. */
static int pol_env_assign(const struct policy *p, struct pol_split *sp, const struct pol_cmd *c,
    int k)
{
	for (; k < c->n && !sp->bad; k++) {
		const char *w = c->wd[k].w;
		size_t nl = pol_name_len(w, strlen(w));

		if (nl == 0 || w[nl] != '=')
			break;
		if (p->read_only || pol_name_protected(w, nl)) {
			sp->ro = p->read_only;
			pol_bad(sp, "env %.*s= (%s)", (int)nl, w, p->read_only ? "an assignment" :
			    "a protected variable");
		}
	}
	return k;
}

/* watch -x (--exec) runs its words as they are; without it, sh -c runs them joined. */
static int pol_watch_exec(const struct pol_cmd *c, int cmd)
{
	int i;

	for (i = 1; i < cmd; i++)
		if (strcmp(c->wd[i].w, "--exec") == 0 || (c->wd[i].w[0] == '-' &&
		    c->wd[i].w[1] != '-' && strchr(c->wd[i].w, 'x') != NULL))
			return 1;
	return 0;
}

static int pol_wrapper_find(const char *base)
{
	int w;

	for (w = 0; w < (int)(sizeof(pol_wrappers) / sizeof(pol_wrappers[0])); w++)
		if (strcmp(base, pol_wrappers[w].name) == 0)
			return w;
	return -1;
}

/* xargs's replacement string (-I R, -IR, --replace[=R]); NULL without one. Its options
 * with a value are the wrapper row's. */
static const char *pol_xargs_replace(const struct pol_cmd *c, int kx, int k)
{
	const char *argopts = pol_wrappers[pol_wrapper_find("xargs")].argopts;
	const char *rs = NULL;
	int i;

	for (i = kx + 1; i < k; i++) {
		const char *a = c->wd[i].w;
		size_t j;

		if (strncmp(a, "--replace", 9) == 0)
			rs = a[9] == '=' ? a + 10 : "{}";
		if (a[0] != '-' || a[1] == '-')
			continue;
		for (j = 1; a[j] != '\0'; j++)
			if (strchr(argopts, a[j]) != NULL) {
				if (a[j] == 'I')
					rs = a[j + 1] != '\0' ? a + j + 1 : i + 1 < k ? c->wd[i + 1].w : "";
				i += a[j + 1] == '\0';
				break;
			}
	}
	return rs;
}

/* xargs CMD: the words it reads are appended to CMD, or put where the replacement string
 * stands: CMD must not run its arguments as a command, and the replacement must not make
 * the command word. */
static void pol_xargs(struct pol_split *sp, const struct pol_cmd *c, int kx, int k)
{
	const char *b = pol_base(c->wd[k].w), *rs = pol_xargs_replace(c, kx, k);

	if (rs != NULL && (rs[0] == '\0' || strstr(c->wd[k].w, rs) != NULL))
		pol_bad(sp, "xargs with its replacement string in the command word");
	else if (pol_wrapper_find(b) >= 0 || pol_is(b, pol_shells) || strcmp(b, "find") == 0 ||
	    pol_is(b, pol_runners) || pol_is_loader(b))
		pol_bad(sp, "xargs running %s (the words it reads would make the command)", b);
}

/* The command a wrapper runs, wrapper by wrapper; nested command lines go to sp. Each level
 * meets DenyCommand; read-only mode takes only the wrappers it knows. */
static void pol_unwrap(const struct policy *p, struct pol_split *sp, const struct pol_cmd *c)
{
	int k = c->nassign, line, w, bare = 0, prev;

	while (k < c->n && !sp->bad) {
		const char *base = pol_base(c->wd[k].w);

		pol_cmd_word(sp, c, k);
		pol_deny(p, sp, c, k);
		if (k > c->nassign)
			pol_allow_inner(p, sp, c, k);
		w = pol_wrapper_find(base);
		if (sp->bad)
			return;
		if (w < 0) {
			if (pol_is(base, pol_shells))
				pol_shell(sp, c, k);
			else if (strcmp(base, "find") == 0)
				pol_find_exec(sp, c, k);
			sp->ro = 1;
			if (p->read_only && !sp->bad && !pol_is(base, pol_shells))
				pol_readonly_check(sp, c, k);
			sp->ro = 0;
			return;
		}
		if (p->read_only && !pol_wrappers[w].readonly_ok) {
			sp->ro = 1;
			pol_bad(sp, "%s is not a read-only command", base);
			return;
		}
		if (strcmp(base, "command") == 0 && k + 1 < c->n && (strcmp(c->wd[k + 1].w, "-v") == 0 ||
		    strcmp(c->wd[k + 1].w, "-V") == 0))
			return;                         /* command -v: names, runs nothing */
		bare = pol_is(base, (const char *const[]){ "su", "script", "chroot", "exec", "doas",
			NULL });
		prev = k;
		k = pol_wrap_skip(sp, c, k, &pol_wrappers[w], &line);
		if (strcmp(base, "xargs") == 0 && !line && k < c->n && !sp->bad)
			pol_xargs(sp, c, prev, k);
		if (strcmp(base, "env") == 0)
			k = pol_env_assign(p, sp, c, k);
		if (!line && strcmp(base, "watch") == 0 && k < c->n && !pol_watch_exec(c, k)) {
			pol_watch(sp, c, k);
			return;
		}
		if (!line && bare && k >= c->n && !sp->bad)
			pol_bad(sp, "%s without a command (an interactive shell)", base);
	}
}

/* Is this command refused, or must a person confirm it first? Whole line, then each simple
 * command (nested ones too) against DenyCommand, AllowCommand, read-only mode and
 * ConfirmCommand. Returns 0, or -1 with e naming the rule or the construct; *confirm is
 * the ConfirmCommand rule that matched, -1 for none. */
static int pol_check_line(const struct policy *p, struct pol_split *sp, const char *line,
    int *confirm)
{
	char text[SSHMCP_LINE_MAX];
	int i, r;

	if ((r = pol_match(p->deny, p->ndeny, line)) >= 0)
		pol_bad(sp, "refused by DenyCommand %s", p->deny[r].src);
	if (*confirm < 0)
		*confirm = pol_match(p->confirm, p->nconfirm, line);
	pol_lex_line(sp, line, strlen(line), 0);
	for (i = 0; i < sp->n && !sp->bad; i++) {      /* sp->n grows as lines nest */
		const struct pol_cmd *c = &sp->cmd[i];

		if (pol_text(c, 0, 1, 0, text, sizeof(text)) < 0) {
			pol_bad(sp, "a command too long to check");
			break;
		}
		if (p->read_only && c->nassign > 0) {
			sp->ro = 1;
			pol_bad(sp, "a variable assignment ('%.40s')", c->wd[0].src);
		} else if (p->nallow > 0 && pol_match(p->allow, p->nallow, text) < 0)
			pol_bad(sp, "refused: '%.80s' matches no AllowCommand", text);
		if (*confirm < 0)
			*confirm = pol_match(p->confirm, p->nconfirm, text);
		pol_unwrap(p, sp, c);
	}
	return sp->bad ? -1 : 0;
}

static int pol_command(const struct policy *p, const char *line, int *confirm, struct err *e)
{
	struct pol_split *sp;
	size_t n = strlen(line);
	int rc;

	*confirm = -1;
	if (!pol_commands(p))
		return 0;
	if (n > SSHMCP_POLICY_LINE_MAX) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: a command line over %d bytes is not checked",
		    SSHMCP_POLICY_LINE_MAX);
		return -1;
	}
	if ((sp = p->scratch) == NULL && (sp = pol_split_new()) == NULL) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: out of memory checking the policy");
		return -1;
	}
	pol_split_reset(sp);
	rc = pol_check_line(p, sp, line, confirm);
	if (rc < 0 && strncmp(sp->why, "refused", 7) == 0)
		err_set(e, SSHMCP_ERR_POLICY, "%s", sp->why);
	else if (rc < 0)
		err_set(e, SSHMCP_ERR_POLICY, sp->ro_bad ? "refused by read-only mode: %s" :
		    "refused: the policy does not accept %s", sp->why);
	if (sp != p->scratch)
		pol_split_free(sp);
	return rc;
}

/* Hosts are matched as the caller names them, with ssh's Host pattern rules. */
/* The parts of an AllowHost pattern, [user@]host[:port]; a port needs a plain host (one
 * colon) or [brackets]. */
static void pol_host_parts(const char *pat, char *user, char *host, char *port)
{
	const char *at = strchr(pat, '@'), *h = at != NULL ? at + 1 : pat, *colon = strrchr(h, ':');
	size_t hn = strlen(h);

	user[0] = port[0] = '\0';
	if (at != NULL)
		(void)str_fmt(user, SSHMCP_USER_MAX, "%.*s", (int)(at - pat), pat);
	if (colon != NULL && (h[0] == '[' || strchr(h, ':') == colon)) {
		(void)str_copy(port, 16, colon + 1);
		hn = (size_t)(colon - h);
	}
	if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']')
		h++, hn -= 2;
	(void)str_fmt(host, SSHMCP_HOST_MAX, "%.*s", (int)hn, h);
}

/* One pattern against a destination: its host part against the alias as the caller named
 * it (case kept, as ssh's Host matching does); a user or port it names against the
 * resolved ones; without them, user and port must be what the configuration gives the
 * alias on its own. 1 match, -1 a negated match, 0 none. */
static int pol_host_one(const char *pat, const struct target *t, const struct target *base)
{
	char user[SSHMCP_USER_MAX], host[SSHMCP_HOST_MAX], port[16], num[16];
	int neg = pat[0] == '!';

	pol_host_parts(pat + neg, user, host, port);
	if (!str_glob_case(host, t->alias, 0))
		return 0;
	if (neg)
		return -1;
	(void)str_fmt(num, sizeof(num), "%d", t->port);
	if (user[0] != '\0' ? !str_glob_case(user, t->user, 0) :
	    base != NULL && strcmp(t->user, base->user) != 0)
		return 0;
	if (port[0] != '\0' ? !str_glob_case(port, num, 0) : base != NULL && t->port != base->port)
		return 0;
	return 1;
}

/*
 * AllowHost: the destination as the caller named it, and where it really goes. `t` is the
 * resolved target (tool arguments and -o options on top), `base` what ssh_config makes of
 * the alias alone (NULL: nothing could be overridden): a port, a user, a HostName or a
 * proxy the caller chose must be allowed by a pattern that names it.
 */
static int pol_host(const struct policy *p, const struct target *t, const struct target *base,
    struct err *e)
{
	int i, r, hit = 0;

	if (p->nallow_host == 0)
		return 0;
	for (i = 0; i < p->nallow_host && hit >= 0; i++) {
		const char *list = p->allow_host[i];

		for (; *list != '\0'; list += strcspn(list, ",") + (list[strcspn(list, ",")] == ',')) {
			char one[SSHMCP_LINE_MAX];

			(void)str_fmt(one, sizeof(one), "%.*s", (int)strcspn(list, ","), list);
			if ((r = pol_host_one(one, t, base)) < 0) {
				hit = -1;
				break;
			}
			hit |= r;
		}
	}
	if (hit > 0 && base != NULL && (strcmp(t->host, base->host) != 0 ||
	    strcmp(t->proxy_jump, base->proxy_jump) != 0 ||
	    strcmp(t->proxy_command, base->proxy_command) != 0))
		hit = 0;                            /* HostName, ProxyJump, ProxyCommand changed */
	if (hit <= 0)
		err_set(e, SSHMCP_ERR_POLICY, "refused: host '%s' (as %s@%s port %d) is not in the "
		    "allowed hosts", t->alias, t->user, t->host, t->port);
	return hit > 0 ? 0 : -1;
}

/* How a caller resolves a name with nothing on top (the base AllowHost compares with). */
typedef int (*pol_resolve_fn)(void *ctx, const char *name, struct target *t, struct err *e);

/* AllowHost for a resolved target: `plain` resolves the alias alone for the comparison;
 * NULL when the caller could not override anything. */
static int pol_host_check(const struct policy *p, const struct target *t, pol_resolve_fn plain,
    void *ctx, struct err *e)
{
	struct target base;
	struct err scratch = { .code = SSHMCP_OK };
	int rc;

	if (p->nallow_host == 0 || plain == NULL)
		return pol_host(p, t, NULL, e);
	if (plain(ctx, t->alias, &base, &scratch) < 0) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: host '%s': %s", t->alias, scratch.msg);
		return -1;
	}
	rc = pol_host(p, t, &base, e);
	target_free(&base);
	return rc;
}

/* --------------------------------------------------------- config file --- */

/* ~/.config/sshmcp/config (or --config): "Keyword value" lines as in ssh_config, checked at
 * start-up; an unknown keyword or a bad value stops sshmcp naming the file and line. */
enum pol_key { PK_ALLOWHOST, PK_READONLY, PK_ALLOWCMD, PK_DENYCMD, PK_CONFIRMCMD, PK_TIMEOUT,
	PK_MAXTIMEOUT, PK_RINGSIZE, PK_MAXSESSIONS, PK_MAXCMDS, PK_MAXCMDSHOST, PK_AUDIT, PK_LOG,
	PK_ACCEPTNEW, PK_SSHCONFIG };

static const struct { const char *name; enum pol_key key; long lo, hi; } pol_keywords[] = {
	{ "allowhost", PK_ALLOWHOST, 0, 0 }, { "readonly", PK_READONLY, 0, 1 },
	{ "allowcommand", PK_ALLOWCMD, 0, 0 }, { "denycommand", PK_DENYCMD, 0, 0 },
	{ "confirmcommand", PK_CONFIRMCMD, 0, 0 },
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
	p->scratch = pol_split_new();       /* NULL: each check allocates its own */
}

static void pol_rules_free(struct pol_rule *r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		regfree(&r[i].re);
		free(r[i].src);
	}
}

static void pol_free(struct policy *p)
{
	int i;

	for (i = 0; i < p->nallow_host; i++)
		free(p->allow_host[i]);
	pol_rules_free(p->allow, p->nallow);
	pol_rules_free(p->deny, p->ndeny);
	pol_rules_free(p->confirm, p->nconfirm);
	free(p->audit_path);
	free(p->log_path);
	free(p->ssh_config);
	pol_split_free(p->scratch);
	memset(p, 0, sizeof(*p));
}

static int pol_add_host(struct policy *p, const char *pattern)
{
	if (p->nallow_host >= SSHMCP_POLICY_MAX)
		return -1;
	return (p->allow_host[p->nallow_host++] = strdup(pattern)) == NULL ? -1 : 0;
}

/* A command rule: AllowCommand, DenyCommand or ConfirmCommand (`key`), compiled now. */
static int pol_add_rule(struct policy *p, enum pol_key key, const char *re, const char *where,
    struct err *e)
{
	int *n = key == PK_DENYCMD ? &p->ndeny : key == PK_CONFIRMCMD ? &p->nconfirm : &p->nallow;
	struct pol_rule *r;
	char src[SSHMCP_LINE_MAX];

	if (*n >= SSHMCP_POLICY_MAX) {
		err_set(e, SSHMCP_ERR_USAGE, "%s: too many command rules (%d)", where,
		    SSHMCP_POLICY_MAX);
		return -1;
	}
	r = key == PK_DENYCMD ? &p->deny[*n] : key == PK_CONFIRMCMD ? &p->confirm[*n] :
		&p->allow[*n];
	(void)str_fmt(src, sizeof(src), "'%.200s' (%s)", re, where);
	if ((r->src = strdup(src)) == NULL) {
		err_set(e, SSHMCP_ERR_NOMEM, "%s: out of memory", where);
		return -1;
	}
	if (regcomp(&r->re, re, REG_EXTENDED | REG_NOSUB) != 0) {
		free(r->src);
		r->src = NULL;
		err_set(e, SSHMCP_ERR_USAGE, "%s: bad regular expression '%s'", where, re);
		return -1;
	}
	(*n)++;
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
	case PK_ALLOWCMD: case PK_DENYCMD: case PK_CONFIRMCMD: return pol_add_rule(p, key, v, where, e);
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

/* ----------------------------------------------------------- redaction --- */

/* Secret shapes in command lines, blanked in the audit and the log: each pattern's group
 * `grp` is replaced by "***". Only literal values are secrets: a value that expands or runs
 * something ($, backquote, parentheses) stays, so `password=$(cmd)` keeps the command that
 * ran in the record. */
#define REDACT_VALUE "[^ \t\r\n&;|'\"$`()]"      /* a value ends at a blank or a line's end */
static const struct { const char *re; int grp; } redact_rules[] = {
	{ "(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)(=|: *)(" REDACT_VALUE
	  "+)", 3 },
	{ "--(password|passwd|pass|token|secret|api-key)[= ](" REDACT_VALUE "+)", 2 },
	{ "(mysql|mysqldump|mysqladmin)( [^;&|\n]*)? -p(" REDACT_VALUE "+)", 3 },
	{ "(sshpass|smbclient)( [^;&|\n]*)? -p ?(" REDACT_VALUE "+)", 3 },
	{ "[Aa]uthorization: *(([Bb]earer|[Bb]asic|[Tt]oken) +)?(" REDACT_VALUE "+)", 3 },
	{ "://([^:/@ \t\n]+):(" REDACT_VALUE "[^@/ \t\n]*)@", 2 },
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

/*
 * One JSON line per event, written ahead: "started" before a command is sent, its result
 * after; also refusals, approvals, send_input and file operations. Each line carries its
 * number ("seq") and "mac", HMAC-SHA-256 under a key of its own (FILE.key, 0600) over the
 * previous line's mac and this line: whoever can write the audit file but not the key can
 * neither edit a line nor forge one. FILE.head records the line count, the size and the
 * last mac (itself MACed), so `sshmcp audit-verify FILE` finds an edit of any line, the
 * last included, a truncation and an emptied file; a restarted server checks the tail
 * against the head before it appends.
 */
#define AUDIT_KEY_LEN  32
#define AUDIT_MAC_HEX  65
#define AUDIT_LINE_MAX (SSHMCP_LINE_MAX * 3)

struct audit {
	int fd;
	unsigned char key[AUDIT_KEY_LEN];
	unsigned char mac[32];              /* of the last line; zero before the first */
	uint64_t count, size;               /* lines and bytes in the file */
	char head[SSHMCP_PATH_MAX];         /* FILE.head */
};

struct audit_rec {
	const char *req, *host, *user, *session, *command, *status;
	int has_exit, exit_code;
	int approved;
	uint64_t bytes;
	int64_t duration_ms;
};

static void audit_hex(const unsigned char *h, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int audit_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* mac = HMAC-SHA-256(key, prev || data). */
static void audit_mac(const unsigned char *key, const unsigned char *prev, const char *data,
    size_t n, unsigned char *mac)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t ctx;

	mbedtls_md_init(&ctx);
	if (md == NULL || mbedtls_md_setup(&ctx, md, 1) != 0 ||
	    mbedtls_md_hmac_starts(&ctx, key, AUDIT_KEY_LEN) != 0 ||
	    mbedtls_md_hmac_update(&ctx, prev, 32) != 0 ||
	    mbedtls_md_hmac_update(&ctx, (const unsigned char *)data, n) != 0 ||
	    mbedtls_md_hmac_finish(&ctx, mac) != 0)
		memset(mac, 0, 32);
	mbedtls_md_free(&ctx);
}

/*
 * Files sshmcp appends to for the operator (audit, key, head, --log): never through a
 * symlink, a regular file, owned by us, private (0600). Anything else is refused: a 0644
 * or someone else's file there means someone else can read or place it.
 */
static int audit_file_open(const char *path, int flags, struct err *e)
{
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	struct stat st;
	const char *why = NULL;

	if (fd < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "can't open %s: %s", path,
		    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	else if ((st.st_mode & 077) != 0)
		why = "readable or writable by others (chmod 600 it)";
	if (why != NULL) {
		err_set(e, SSHMCP_ERR_USAGE, "refusing %s: %s", path, why);
		close(fd);
		return -1;
	}
	(void)fd_set_flag(fd, O_NONBLOCK, 0);
	return fd;
}

/* FILE.key: made once (32 random bytes, hex) and read back on every start. */
static int audit_key(struct audit *a, const char *path, int may_create, struct err *e)
{
	char kpath[SSHMCP_PATH_MAX], hex[2 * AUDIT_KEY_LEN + 2];
	int fd, rc = -1;
	ssize_t n;

	if (str_fmt(kpath, sizeof(kpath), "%s.key", path) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "audit path too long");
		return -1;
	}
	if ((fd = audit_file_open(kpath, O_RDWR | (may_create ? O_CREAT : 0), e)) < 0)
		return -1;
	n = read(fd, hex, sizeof(hex));
	if (n == 0 && may_create && getentropy(a->key, sizeof(a->key)) == 0) {
		audit_hex(a->key, sizeof(a->key), hex);
		hex[2 * AUDIT_KEY_LEN] = '\n';
		rc = fd_write_all(fd, hex, 2 * AUDIT_KEY_LEN + 1);
	} else if (n >= 2 * AUDIT_KEY_LEN)
		rc = audit_unhex(hex, a->key, sizeof(a->key));
	if (rc < 0)
		err_set(e, SSHMCP_ERR_USAGE, "audit key %s is unreadable or damaged", kpath);
	mem_wipe(hex, sizeof(hex));
	close(fd);
	return rc;
}

/* The head's text: "sshmcp-audit-head 1 COUNT SIZE LASTMAC HEADMAC". */
static int audit_head_text(const struct audit *a, char *out, size_t cap)
{
	char body[128], last[AUDIT_MAC_HEX], hmac[AUDIT_MAC_HEX];
	unsigned char m[32], zero[32] = { 0 };

	audit_hex(a->mac, 32, last);
	if (str_fmt(body, sizeof(body), "sshmcp-audit-head 1 %llu %llu %s",
	    (unsigned long long)a->count, (unsigned long long)a->size, last) < 0)
		return -1;
	audit_mac(a->key, zero, body, strlen(body), m);
	audit_hex(m, 32, hmac);
	return str_fmt(out, cap, "%s %s\n", body, hmac);
}

/* Record the head: a new file renamed over the old, so it is one state or the other. */
static int audit_head_write(const struct audit *a)
{
	char text[256], tmp[SSHMCP_PATH_MAX + 8];
	struct err e = { .code = SSHMCP_OK };
	int fd, rc;

	if (audit_head_text(a, text, sizeof(text)) < 0 ||
	    str_fmt(tmp, sizeof(tmp), "%s.new", a->head) < 0)
		return -1;
	(void)unlink(tmp);
	if ((fd = audit_file_open(tmp, O_WRONLY | O_CREAT | O_EXCL, &e)) < 0)
		return -1;
	rc = fd_write_all(fd, text, strlen(text));
	close(fd);
	return rc < 0 ? -1 : rename(tmp, a->head);
}

/* Read and check FILE.head: count, size, last mac; -1 when missing or forged. */
static int audit_head_read(const struct audit *a, uint64_t *count, uint64_t *size,
    unsigned char *last)
{
	char text[256], want[256];
	struct err e = { .code = SSHMCP_OK };
	struct audit probe = *a;
	unsigned long long c, sz;
	char lasthex[AUDIT_MAC_HEX];
	int fd = audit_file_open(a->head, O_RDONLY, &e);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	if (sscanf(text, "sshmcp-audit-head 1 %llu %llu %64s", &c, &sz, lasthex) != 3 ||
	    audit_unhex(lasthex, probe.mac, 32) < 0)
		return -1;
	probe.count = c;
	probe.size = sz;
	if (audit_head_text(&probe, want, sizeof(want)) < 0 || strcmp(want, text) != 0)
		return -1;
	*count = c;
	*size = sz;
	memcpy(last, probe.mac, 32);
	return 0;
}

/* One line's own check: its seq and its mac over prev; the mac it carries into *mac. */
static int audit_line_check(const struct audit *a, const char *line, size_t n, uint64_t seq,
    const unsigned char *prev, unsigned char *mac)
{
	const char *m = NULL, *p;
	char want[40];
	unsigned char got[32];

	for (p = line; (p = strstr(p, ",\"mac\":\"")) != NULL && (size_t)(p - line) < n; p++)
		m = p;
	if (m == NULL || (size_t)(line + n - m) != 8 + 64 + 2 || line[n - 2] != '"' ||
	    line[n - 1] != '}' || audit_unhex(m + 8, mac, 32) < 0)
		return -1;
	audit_mac(a->key, prev, line, (size_t)(m - line), got);
	(void)str_fmt(want, sizeof(want), "{\"seq\":%llu,", (unsigned long long)seq);
	return memcmp(got, mac, 32) == 0 && strncmp(line, want, strlen(want)) == 0 ? 0 : -1;
}

/* The last line ending before `end` in buf: [*ls, *le) without its newline; -1 if none. */
static int audit_last_line(const char *buf, size_t end, size_t *ls, size_t *le)
{
	size_t e = end, st;

	while (e > 0 && buf[e - 1] == '\n')
		e--;
	if (e == 0)
		return -1;
	for (st = e; st > 0 && buf[st - 1] != '\n'; st--)
		;
	*ls = st;
	*le = e;
	return 0;
}

/* The mac a line carries (not checked), into mac; -1 when it has none. */
static int audit_mac_field(const char *line, size_t n, unsigned char *mac)
{
	return n > 74 && memcmp(line + n - 74, ",\"mac\":\"", 8) == 0 ?
		audit_unhex(line + n - 66, mac, 32) : -1;
}

/*
 * A restarted server checks before it appends: the head is ours, the file is as long as
 * the head says and its last line is the one the head names, chained on from the line
 * before; or there is exactly one line more that chains on from the head's (we died
 * between writing the line and the head). Anything else is refused.
 */
static int audit_tail_check(struct audit *a, uint64_t count, uint64_t hsize,
    const unsigned char *hmac, uint64_t fsize, const char *path, struct err *e)
{
	char *buf = malloc(2 * AUDIT_LINE_MAX + 2);
	size_t n = 0, ls, le, ps, pe;
	uint64_t off = fsize > 2 * AUDIT_LINE_MAX ? fsize - 2 * AUDIT_LINE_MAX : 0;
	unsigned char prev[32], mac[32];
	int rc = -1, extra = fsize > hsize;

	memset(prev, 0, sizeof(prev));
	if (buf == NULL || fsize < hsize || (n = (size_t)(fsize - off),
	    pread(a->fd, buf, n, (off_t)off) != (ssize_t)n) || buf[n - 1] != '\n' ||
	    audit_last_line(buf, n, &ls, &le) < 0)
		goto out;
	if (extra) {                        /* [hsize, fsize) is one line after the head's */
		if (off + ls != hsize)
			goto out;
		memcpy(prev, hmac, 32);
	} else if (count > 1 && (audit_last_line(buf, ls, &ps, &pe) < 0 ||
	    audit_mac_field(buf + ps, pe - ps, prev) < 0))
		goto out;
	if (audit_line_check(a, buf + ls, le - ls, count + (uint64_t)extra, prev, mac) < 0 ||
	    (!extra && memcmp(mac, hmac, 32) != 0))
		goto out;
	memcpy(a->mac, mac, 32);
	a->count = count + (uint64_t)extra;
	a->size = fsize;
	rc = 0;
out:
	if (rc < 0)
		err_set(e, SSHMCP_ERR_USAGE, "audit file %s does not match its head (%llu lines, %llu "
		    "bytes recorded; %llu bytes found): it was edited, truncated or appended to by "
		    "someone else. Run sshmcp audit-verify %s, then move it aside", path,
		    (unsigned long long)count, (unsigned long long)hsize, (unsigned long long)fsize,
		    path);
	free(buf);
	return rc;
}

static int audit_open(struct audit *a, const char *path, struct err *e)
{
	uint64_t count = 0, hsize = 0;
	unsigned char hmac[32];
	struct stat st;
	int have_head;

	memset(a, 0, sizeof(*a));
	if (str_fmt(a->head, sizeof(a->head), "%s.head", path) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "audit path too long");
		goto fail;
	}
	if ((a->fd = audit_file_open(path, O_RDWR | O_APPEND | O_CREAT, e)) < 0 ||
	    fstat(a->fd, &st) < 0)
		goto fail;
	if (audit_key(a, path, st.st_size == 0, e) < 0)
		goto fail;
	have_head = audit_head_read(a, &count, &hsize, hmac) == 0;
	if (st.st_size == 0 && have_head && count > 0) {
		err_set(e, SSHMCP_ERR_USAGE, "audit file %s is empty but its head records %llu lines:"
		    " it was emptied. Run sshmcp audit-verify %s, then move it aside", path,
		    (unsigned long long)count, path);
		goto fail;
	}
	if (st.st_size > 0 && (!have_head ||
	    audit_tail_check(a, count, hsize, hmac, (uint64_t)st.st_size, path, e) < 0)) {
		err_set(e, SSHMCP_ERR_USAGE, "audit file %s has no valid head (%s.head): it was not "
		    "written by this key, or its head was removed. Move it aside", path, path);
		goto fail;
	}
	if (audit_head_write(a) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "can't write %s: %s", a->head, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (a->fd >= 0)
		close(a->fd);
	mem_wipe(a->key, sizeof(a->key));
	a->fd = -1;
	return -1;
}

static void audit_close(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	mem_wipe(a->key, sizeof(a->key));
}

/* The record as a JSON line up to, not including, its mac; -1 if it does not fit. */
static int audit_body(const struct audit *a, const struct redact *rd, const struct audit_rec *r,
    struct jw *w)
{
	char cmd[SSHMCP_LINE_MAX], when[32];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	redact_line(rd, r->command != NULL ? r->command : "", cmd, sizeof(cmd));
	jw_obj_begin(w);
	jw_kuint(w, "seq", a->count + 1);
	jw_kcstr(w, "time", when);
	jw_kraw(w, "request_id", r->req != NULL ? r->req : "null", strlen(r->req ? r->req : "null"));
	jw_kcstr(w, "host", r->host ? r->host : "");
	jw_kcstr(w, "user", r->user ? r->user : "");
	jw_kcstr(w, "session", r->session ? r->session : "");
	jw_kcstr(w, "command", cmd);
	jw_kcstr(w, "status", r->status);
	if (r->has_exit)
		jw_kint(w, "exit_code", r->exit_code);
	else
		jw_knull(w, "exit_code");
	jw_kuint(w, "bytes", r->bytes);
	jw_kint(w, "duration_ms", r->duration_ms);
	if (r->approved)
		jw_kbool(w, "approved", 1);
	jw_obj_end(w);
	return jw_finish(w) == 0 && w->len > 0 ? 0 : -1;
}

/* Append one record (one write: the line is whole or absent), then the head. -1 when it
 * could not be written: the caller refuses what it was about to do. */
static int audit_write(struct audit *a, const struct redact *rd, const struct audit_rec *r)
{
	char buf[AUDIT_LINE_MAX + 128], hex[AUDIT_MAC_HEX];
	unsigned char mac[32];
	struct jw w;
	size_t n;

	if (a->fd < 0)
		return 0;
	jw_init(&w, buf, AUDIT_LINE_MAX);
	if (audit_body(a, rd, r, &w) < 0)
		return -1;
	n = w.len - 1;                      /* the closing brace comes after the mac */
	audit_mac(a->key, a->mac, buf, n, mac);
	audit_hex(mac, 32, hex);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"mac\":\"%s\"}\n", hex);
	if (fd_write_all(a->fd, buf, n) < 0)
		return -1;
	memcpy(a->mac, mac, 32);
	a->count++;
	a->size += n;
	return audit_head_write(a);
}

/* sshmcp audit-verify FILE: 0 when every line chains under the key and the head agrees. */
static int audit_verify_lines(struct audit *a, FILE *f, const char *path, char *msg,
    size_t cap)
{
	char *line = malloc(AUDIT_LINE_MAX + 2);
	unsigned char mac[32];
	int rc = 0;

	while (line != NULL && fgets(line, AUDIT_LINE_MAX + 2, f) != NULL) {
		size_t len = strcspn(line, "\n");

		if (audit_line_check(a, line, len, a->count + 1, a->mac, mac) < 0) {
			(void)str_fmt(msg, cap, "%s:%llu: line %llu was changed, added or removed\n",
			    path, (unsigned long long)a->count + 1, (unsigned long long)a->count + 1);
			rc = 1;
			break;
		}
		memcpy(a->mac, mac, 32);
		a->count++;
		a->size += len + (line[len] == '\n');
	}
	free(line);
	return line == NULL ? 2 : rc;
}

static int audit_verify(const char *path)
{
	char msg[SSHMCP_PATH_MAX * 2 + 160];
	struct err e = { .code = SSHMCP_OK };
	struct audit a;
	uint64_t count, size;
	unsigned char hmac[32];
	FILE *f = NULL;
	int rc = 2;

	memset(&a, 0, sizeof(a));
	if (str_fmt(a.head, sizeof(a.head), "%s.head", path) < 0 || audit_key(&a, path, 0, &e) < 0 ||
	    (f = fopen(path, "r")) == NULL) {
		(void)str_fmt(msg, sizeof(msg), "sshmcp: can't verify %s: %s\n", path,
		    e.code != SSHMCP_OK ? e.msg : strerror(errno));
		(void)fd_write_all(STDERR_FILENO, msg, strlen(msg));
		goto out;
	}
	if ((rc = audit_verify_lines(&a, f, path, msg, sizeof(msg))) != 0)
		goto say;
	rc = 1;
	if (audit_head_read(&a, &count, &size, hmac) < 0)
		(void)str_fmt(msg, sizeof(msg), "%s: the head %s is missing or forged\n", path, a.head);
	else if (a.count == 0 && count > 0)
		(void)str_fmt(msg, sizeof(msg), "%s: the file was emptied (the head records %llu "
		    "lines)\n", path, (unsigned long long)count);
	else if (a.count < count || a.size < size)
		(void)str_fmt(msg, sizeof(msg), "%s: %llu lines, the head records %llu: lines were "
		    "removed from the end (truncated)\n", path, (unsigned long long)a.count,
		    (unsigned long long)count);
	else if (a.count != count || a.size != size || memcmp(hmac, a.mac, 32) != 0)
		(void)str_fmt(msg, sizeof(msg), "%s: %llu lines, but the head records %llu: the end "
		    "of the file does not match its head\n", path, (unsigned long long)a.count,
		    (unsigned long long)count);
	else {
		(void)str_fmt(msg, sizeof(msg), "%s: %llu lines, chain intact\n", path,
		    (unsigned long long)a.count);
		rc = 0;
	}
say:
	(void)fd_write_all(STDOUT_FILENO, msg, strlen(msg));
out:
	if (f != NULL)
		fclose(f);
	mem_wipe(a.key, sizeof(a.key));
	return rc;
}

/* ============================================================ exec CLI === */

struct fwd;                         /* the forwarding section's state (-L -R -D -W) */

/* A forwarding option as typed: parsed by the forwarding section once the target is known. */
struct cli_fwd {
	char kind;                      /* 'L', 'R', 'D' or 'W' */
	const char *arg;
};

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
	/* ssh's other options: -N -s -f -g -V, multiplexing (-O -S), forwardings */
	int Nflag, sflag, fork_bg, gflag, Vflag;
	char Aflag;                 /* the last of -A and -a: over ForwardAgent, as in ssh */
	const char *ctl_cmd, *ctl_path;
	struct cli_fwd fwds[SSHMCP_FWD_SPECS_MAX];
	int nfwds;
	struct fwd *fwd;                /* NULL unless -L/-R/-D/-W or -N */
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
	int esc_st;                 /* enum cli_esc: where typed input is for escapes */
	int esc_quit;               /* ~. was typed */
	int esc_char;               /* -e: 0 for ~, -1 for none, else the byte */
};

static void cli_usage(int fd)
{
	static const char text[] =
		"usage: sshmcp [serve] ...                       (MCP server on stdio)\n"
		"       sshmcp exec [-46AaCfGgKkMNnqsTtVvXxYy] [-p port] [-l user] [-i identity]\n"
		"                   [-F ssh_config] [-E log_file] [-o Keyword=Value]... [-J jump]\n"
		"                   [-L [bind:]port:host:hostport] [-R [bind:]port:host:hostport]\n"
		"                   [-D [bind:]port] [-W host:port] [-c ciphers] [-m macs]\n"
		"                   [-b addr] [-B iface] [-e char] [-O ctl_cmd] [-S ctl_path]\n"
		"                   [-H hostlist [--fanout n] [--json]] [--timeout sec]\n"
		"                   [--device-type type]  (enable password: SSHMCP_ENABLE_PASSWORD)\n"
		"                   destination [command [argument ...]]\n"
		"       sshmcp --version | --help\n"
		"destination: [user@]host or ssh://[user@]host[:port]\n"
		"exit status: the remote command's; 255 connection, host key or auth failure;\n"
		"             124 --timeout expired; 2 usage error\n";

	(void)fd_write_all(fd, text, sizeof(text) - 1);
}

/* ssh://[user@]host[:port][/] — a path makes it an error, as in ssh; a lone trailing
 * slash is taken, as ssh takes it. */
static int cli_parse_uri(struct cli *c, const char *uri, char *host, size_t cap)
{
	char buf[SSHMCP_HOST_MAX + SSHMCP_USER_MAX + 16];
	const char *p = buf, *at, *end;
	char portbuf[8];
	long port;
	size_t n;

	if (str_copy(buf, sizeof(buf), uri + 6) < 0)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '/')
		buf[n - 1] = '\0';
	if (strchr(p, '/') != NULL)
		return -1;
	at = strrchr(p, '@');
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

/* A name through ssh_config alone: no -o, -l, -p, -i or -J on top (AllowHost's base). */
static int cli_resolve_plain(void *ctx, const char *name, struct target *t, struct err *e)
{
	struct cli *c = ctx;
	struct cfg cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(t, 0, sizeof(*t));
	(void)str_copy(t->alias, sizeof(t->alias), name);
	cfg.host = t->alias;
	rc = cfg_load(&cfg, &c->env, c->fflag, e) < 0 || cfg_resolve(&cfg, &c->env, t, e) < 0 ?
		-1 : 0;
	cfg_free(&cfg);
	if (rc < 0)
		target_free(t);
	return rc;
}

/* Resolve one destination with the command line's options on top of ssh_config. */
static int cli_target(struct cli *c, const char *dest, struct target *t, struct err *e)
{
	struct cfg cfg;
	int i, rc = -1;

	memset(&cfg, 0, sizeof(cfg));
	memset(t, 0, sizeof(*t));
	if (cli_parse_dest(c, dest, t) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "bad destination '%.80s'", dest);
		return -1;
	}
	if (name_check(t->alias, t->user, e) < 0)
		return -1;
	cfg.host = t->alias;
	cfg.user = t->user;                     /* -l or user@: Match user sees it */
	for (i = 0; i < c->nopts; i++)
		if (cfg_option(&cfg, c->opts[i], e) < 0)
			goto out;
	if (cfg_load(&cfg, &c->env, c->fflag, e) < 0 || cfg_resolve(&cfg, &c->env, t, e) < 0)
		goto out;
	t->env_password = 1;                    /* exec: the user's own SSHMCP_PASSWORD */
	rc = 0;
out:
	cfg_free(&cfg);
	if (rc < 0)
		target_free(t);
	return rc;
}

static int cli_resolve(void *ctx, const char *name, struct target *t, struct err *e)
{
	return cli_target(ctx, name, t, e);
}

/* -e: "none", one character, or ^ and a character, as ssh takes it; only checked, since
 * exec reads no escapes (a PTY session passes ~. through to the remote side). */
static int cli_escape_ok(const char *arg)
{
	return strcmp(arg, "none") == 0 || (arg[0] != '\0' && arg[1] == '\0') ||
	    (arg[0] == '^' && arg[1] != '\0' && arg[2] == '\0');
}

/* The multiplexing commands ssh knows for -O. */
static int cli_ctl_ok(const char *cmd)
{
	static const char *const cmds[] = { "check", "forward", "cancel", "exit", "stop", "proxy" };
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return 1;
	return 0;
}

/* ssh's options that exec takes but does not pass to ssh_config. */
static int cli_opt_more(struct cli *c, char opt, const char *arg, struct err *e)
{
	switch (opt) {
	case 'L':
	case 'R':
	case 'D':
	case 'W':
		if (c->nfwds >= SSHMCP_FWD_SPECS_MAX) {
			err_set(e, SSHMCP_ERR_USAGE, "too many forwardings (%d)", SSHMCP_FWD_SPECS_MAX);
			return -1;
		}
		c->fwds[c->nfwds++] = (struct cli_fwd){ .kind = opt, .arg = arg };
		return 0;
	case 'e':
		if (cli_escape_ok(arg)) {
			c->esc_char = strcmp(arg, "none") == 0 ? -1 : arg[0] == '^' && arg[1] != '\0' ?
			    (arg[1] & 0x1f) : (unsigned char)arg[0];
			return 0;
		}
		err_set(e, SSHMCP_ERR_USAGE, "Bad escape character '%s'.", arg);
		return -1;
	case 'O':
		c->ctl_cmd = arg;
		if (cli_ctl_ok(arg))
			return 0;
		err_set(e, SSHMCP_ERR_USAGE, "Invalid multiplex command.");
		return -1;
	case 'S':
		c->ctl_path = arg;
		return 0;
	case 'P':                       /* Tag: for Match tagged, which we do not read */
		return 0;
	case 'I':
		err_set(e, SSHMCP_ERR_USAGE, "PKCS#11 (-I) is not supported");
		return -1;
	case 'w':
		err_set(e, SSHMCP_ERR_USAGE, "tunnel device forwarding (-w) is not supported");
		return -1;
	case 'Q':
		err_set(e, SSHMCP_ERR_USAGE, "Unsupported query \"%s\"", arg);
		return -1;
	}
	return -1;
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
	case 'c':
	case 'm':
	case 'b':
	case 'B':
		if (str_fmt(line, sizeof(line), "%s %s", opt == 'c' ? "Ciphers" : opt == 'm' ?
		    "MACs" : opt == 'b' ? "BindAddress" : "BindInterface", arg) < 0)
			return -1;
		return cli_add_opt(c, line, e);
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
	return cli_opt_more(c, opt, arg, e);
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

/* ssh's getopt string, split: flags, and options that take an argument (H is ours). */
#define CLI_FLAGS    "46AaCfGgKkMNnqsTtVvXxYy"
#define CLI_ARG_OPTS "BbcDEeFHIiJLlmOoPpQRSWw"

/* One flag. Those for features exec lacks are taken as ssh takes them where that is
 * harmless (-k -K -x -y), said under -v (-C -M), or refused (-X -Y). */
static int cli_flag(struct cli *c, char f, struct err *e)
{
	switch (f) {
	case 'G': c->Gflag = 1; return 0;
	case 'n': c->nflag = 1; return 0;
	case 'q': c->log.quiet = 1; return 0;
	case 't': c->tflag++; return 0;
	case 'T': c->Tflag = 1; return 0;
	case 'v': c->log.level += c->log.level < LOG_DEBUG3; return 0;
	case 'N': c->Nflag = 1; return 0;
	case 's': c->sflag = 1; return 0;
	case 'f': c->fork_bg = 1; return 0;
	case 'g': c->gflag = 1; return 0;
	case 'V': c->Vflag = 1; return 0;
	case '4': return cli_add_opt(c, "AddressFamily inet", e);
	case '6': return cli_add_opt(c, "AddressFamily inet6", e);
	case 'A':
	case 'a': c->Aflag = f; return 0;
	case 'C': return cli_add_opt(c, "Compression yes", e);
	case 'M': return cli_add_opt(c, "ControlMaster yes", e);
	case 'X':
	case 'Y':
		err_set(e, SSHMCP_ERR_USAGE, "X11 forwarding (-%c) is not supported", f);
		return -1;
	}
	return 0;                       /* k K x y */
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
			if (strchr(CLI_FLAGS, *a) != NULL) {
				if (cli_flag(c, *a, e) < 0)
					return -1;
				continue;
			}
			if (strchr(CLI_ARG_OPTS, *a) == NULL) {
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
	if (c->Vflag)                   /* ssh -V needs nothing else */
		return 0;
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

/* ------------------------------------------------ interactive terminal --- */

/*
 * `exec -t` (or no command) on a terminal, as ssh's clientloop.c has it: after a newline
 * (and at the start) `~` begins an escape: `~.` disconnects, `~?` lists the escapes, `~~`
 * sends one `~`, `~` before anything else is sent with it (`-e C` makes C the escape
 * character, `-e ^X` a control one, `-e none` turns escapes off). The window follows the local
 * terminal: SIGWINCH becomes a window-change request (cli_tty_winch). The terminal is put
 * back by cli_local_restore on every way out of the loop (end, signal, lost link, ~.).
 */
enum cli_esc { CLI_ESC_LINE, CLI_ESC_MID, CLI_ESC_SEEN };

static void cli_tty_help(void)
{
	static const char help[] = "Supported escape sequences:\r\n ~.   - terminate connection\r\n"
		" ~?   - this message\r\n ~~   - send the escape character by typing it twice\r\n"
		"(Note that escapes are only recognized immediately after newline.)\r\n";

	if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0)
		return;                     /* nowhere to say it */
}

/* Typed bytes through the escape reader: out gets what goes to the remote side (at most
 * 2 n: a held ~ and the byte after it). Returns its length; ~. sets esc_quit. */
static size_t cli_tty_escapes(struct cli *c, const unsigned char *in, size_t n,
    unsigned char *out)
{
	unsigned char ec = c->esc_char > 0 ? (unsigned char)c->esc_char : '~';
	size_t i, o = 0;

	if (c->esc_char < 0) {                  /* -e none: everything goes as typed */
		memcpy(out, in, n);
		return n;
	}
	for (i = 0; i < n && !c->esc_quit; i++) {
		unsigned char b = in[i];
		int nl = b == '\r' || b == '\n';

		if (c->esc_st == CLI_ESC_SEEN) {
			c->esc_st = nl ? CLI_ESC_LINE : CLI_ESC_MID;
			if (b == '.') {
				c->esc_quit = 1;
			} else if (b == '?') {
				cli_tty_help();
				c->esc_st = CLI_ESC_LINE;
			} else {
				if (b != ec)
					out[o++] = ec;
				out[o++] = b;
			}
			continue;
		}
		if (c->esc_st == CLI_ESC_LINE && b == ec) {
			c->esc_st = CLI_ESC_SEEN;
			continue;
		}
		out[o++] = b;
		c->esc_st = nl ? CLI_ESC_LINE : CLI_ESC_MID;
	}
	return o;
}

/* read() for a raw terminal: what was typed, escapes taken out, into p (room n). */
static ssize_t cli_tty_read(struct cli *c, unsigned char *p, size_t n)
{
	unsigned char in[SSHMCP_TTY_WRITE_MAX];
	ssize_t got;

	if (n < 2)
		return 0;                   /* the ring drains first: a held ~ may need two bytes */
	got = read(STDIN_FILENO, in, n / 2 < sizeof(in) ? n / 2 : sizeof(in));
	if (got <= 0)
		return got;
	got = (ssize_t)cli_tty_escapes(c, in, (size_t)got, p);
	if (c->esc_quit)
		sess_abort(&c->sess, SSHMCP_ERR_SESSION_LOST, "Connection to %s closed.",
		    c->sess.t.alias);
	return got;
}

/* The local terminal changed size (SIGWINCH): tell the remote PTY, as ssh does. A request
 * that would block is dropped: the next resize sends the size again. */
static void cli_tty_winch(struct cli *c)
{
	struct winsize ws;

	if (!c->job.want_pty || c->sess.ch == NULL || c->sess.state != SESS_RUNNING ||
	    ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
		return;
	c->job.cols = ws.ws_col;
	c->job.rows = ws.ws_row;
	(void)libssh2_channel_request_pty_size_ex(c->sess.ch, ws.ws_col, ws.ws_row, 0, 0);
}

/* SIGWINCH only marks the loop's one global (the loop calls cli_tty_winch); a stopping
 * signal already there wins. */
static void cli_on_winch(int sig)
{
	if (sig_caught == 0)
		sig_caught = sig;
}

static void cli_tty_signals(const struct cli *c)
{
	struct sigaction sa = { .sa_handler = cli_on_winch };

	if (!c->tty_raw)
		return;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, NULL);
}

static void cli_read_stdin(struct cli *c)
{
	struct sess *s = &c->sess;
	size_t n;
	unsigned char *p = ring_wptr(&s->in, &n);
	ssize_t got;

	if (n == 0)
		return;
	got = c->tty_raw ? cli_tty_read(c, p, n) : read(STDIN_FILENO, p, n);
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

/* -f: once authenticated (and forwardings set up), the parent exits 0 and the child goes
 * on in its own session with stdin on /dev/null, as ssh's fork_postauth. */
static void cli_background(struct cli *c)
{
	pid_t pid;
	int fd;

	c->fork_bg = 0;
	if ((pid = fork()) < 0) {
		log_msg(&c->log, LOG_ERROR, "fork: %s", strerror(errno));
		return;
	}
	if (pid > 0)
		_exit(0);       /* nothing of the session is the parent's to close */
	(void)setsid();
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		(void)dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

/* The combinations ssh refuses, with its words. */
static int cli_check_modes(struct cli *c, struct err *e)
{
	int i, stdio = 0;

	for (i = 0; i < c->nfwds; i++)
		stdio |= c->fwds[i].kind == 'W';
	if (c->sflag && c->command == NULL)
		err_set(e, SSHMCP_ERR_USAGE, "You must specify a subsystem to invoke.");
	else if ((c->Nflag || stdio) && c->command != NULL)
		err_set(e, SSHMCP_ERR_USAGE, "Cannot execute command with %s", stdio ?
		    "-W (stdio forwarding)" : "-N option");
	else if (c->fork_bg && c->command == NULL && !c->Nflag && !stdio)
		err_set(e, SSHMCP_ERR_USAGE, "Cannot fork into background without a command to "
		    "execute.");
	else if ((c->hostlist != NULL || c->device != NULL) && (c->nfwds > 0 || c->Nflag ||
	    c->sflag || c->fork_bg))
		err_set(e, SSHMCP_ERR_USAGE, "-H and --device-type take no -L/-R/-D/-W/-N/-s/-f");
	if (e->code != SSHMCP_OK)
		return -1;
	c->Nflag |= stdio;
	return 0;
}

/* -O: there is no multiplexing, so no master ever listens; answer as ssh does when none
 * does (no path, or a socket nobody serves), exit 255. */
static int cli_control(struct cli *c, const struct target *t)
{
	const char *path = c->ctl_path != NULL ? c->ctl_path : t->control_path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = -1, err = ENOENT;

	if (path[0] == '\0' || strcmp(path, "none") == 0) {
		log_msg(&c->log, LOG_ERROR, "No ControlPath specified for \"-O\" command");
		return 255;
	}
	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) == 0 &&
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		err = errno;
		close(fd);
	}
	if (rc == 0)
		log_msg(&c->log, LOG_ERROR, "Control socket %s: sshmcp has no multiplexing and "
		    "cannot speak to a master", path);
	else
		log_msg(&c->log, LOG_ERROR, "Control socket connect(%s): %s", path, strerror(err));
	return 255;
}

/* Options taken for ssh's sake whose feature exec lacks: said under -v. */
static void cli_notes(const struct cli *c)
{
	static const struct { const char *kw, *note; } notes[] = {
		{ "compression", "Compression: sshmcp has none; the connection is not compressed" },
		{ "controlmaster", "ControlMaster: no multiplexing; this connection is its own" },
		{ "bindaddress", "BindAddress: not supported; the system picks the source address" },
		{ "bindinterface", "BindInterface: not supported; the system picks the interface" },
	};
	size_t k;
	int i;

	for (i = 0; i < c->nopts; i++)
		for (k = 0; k < sizeof(notes) / sizeof(notes[0]); k++) {
			size_t n = strlen(notes[k].kw);

			if (strncasecmp(c->opts[i], notes[k].kw, n) == 0 &&
			    (c->opts[i][n] == ' ' || c->opts[i][n] == '=') &&
			    strncasecmp(c->opts[i] + n + 1, "no", 2) != 0)
				log_msg(&c->log, LOG_DEBUG1, "%s", notes[k].note);
		}
}

/*
 * One command on many hosts, all connections in the one poll loop: at most --fanout
 * sessions at once, each host's output cut into whole lines and prefixed "host: " (or kept
 * for --json), so lines from different hosts never mix mid-line.
 */

/* The MCP face of the fan-out: exec channels over the server's loop, one result per host,
 * a progress notification as each host finishes. */

/* ============================================================= fan-out === */

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
	fan_resolve_fn resolve_plain;    /* the same name with no options on top (AllowHost) */
	int (*room)(void *ctx, const char *host);   /* serve: a session slot is free for it */
	int64_t t0;                      /* started: hosts that wait past the timeout fail */
	void *ctx;
	const struct policy *pol;        /* hosts must be allowed */
	struct audit *audit;             /* each host: a started line, then its result */
	const struct redact *rd;
	const char *req;                 /* serve: the request, for the audit */
	int approved;                    /* a person confirmed it (ConfirmCommand) */
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

/* A host's audit line: "started" before its command is sent, then how it ended. */
static int fan_audit(struct fan *f, const struct fan_host *h, const char *status)
{
	int started = strcmp(status, "started") == 0;
	struct audit_rec r = { .req = f->req, .host = h->name, .session = "fan-out",
		.user = h->s != NULL ? h->s->t.user : NULL, .command = f->job->command,
		.status = status, .has_exit = !started, .exit_code = h->status, .approved = f->approved,
		.duration_ms = started ? 0 : h->t_end - h->t_start };

	return audit_write(f->audit, f->rd, &r);
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
	(void)fan_audit(f, h, h->error[0] != '\0' ? "failed" : "completed");
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
	    (f->pol != NULL && pol_host_check(f->pol, &h->s->t, f->resolve_plain, f->ctx, &e) < 0) ||
	    (fan_audit(f, h, "started") < 0 && (err_set(&e, SSHMCP_ERR_IO, "the audit file cannot "
	    "be written: the command was not sent"), 1))) {
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

/* Hosts still waiting for a slot when their time is up fail: busy, not silent. */
static void fan_expire(struct fan *f, int64_t now)
{
	if (f->job->timeout_s <= 0 || now - f->t0 < (int64_t)f->job->timeout_s * 1000)
		return;
	while (f->next < f->n) {
		struct fan_host *h = &f->h[f->next++];

		h->t_start = now;
		h->code = SSHMCP_ERR_BUSY;
		h->status = err_table[h->code].exit_status;
		(void)str_fmt(h->error, sizeof(h->error), "no free session or command slot within "
		    "%d s (MaxSessions, MaxCommands)", f->job->timeout_s);
		fan_finish(f, h, now);
	}
}

static void fan_step(struct fan *f, int64_t now)
{
	int before;

	do {
		before = f->finished;
		while (f->running < f->max && f->next < f->n &&
		    (f->room == NULL || f->room(f->ctx, f->h[f->next].name)))
			fan_start(f, &f->h[f->next++], now);
		if (f->next < f->n && f->running == 0 && f->room != NULL)
			fan_expire(f, now);
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
	RPC_INTERNAL = -32603, RPC_NOT_INITIALIZED = -32002,    /* as LSP names it */
};

struct srv_fan;                         /* execute_on_hosts, with the fan-out code */

/* A tools/call that ConfirmCommand holds until a person answers (elicitation): the
 * client's message is kept whole and run again, as approved, on yes. */
struct approval {
	int active;
	char req[32];                       /* our elicitation/create id, as JSON */
	char id[128];                       /* the held request's id */
	char *msg;                          /* the held tools/call message */
	size_t len;
	int64_t deadline;
	char host[SSHMCP_HOST_MAX], session[SSHMCP_NAME_MAX];
	char *command;
};

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
	/* send_keys: answered with the screen once it settled or wait_for matched. */
	struct shell *sh;                   /* its session; NULL once closed (srv_shell_remove) */
	int screen, has_re;
	int alt0;                           /* the alternate screen showed when the keys went */
	regex_t re;                         /* wait_for */
	int64_t sent_at;
	uint64_t gen;                       /* the screen as last matched against wait_for */
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
	int in_full;                        /* whole requests wait in `in` (responses at the cap) */
	char *out;                          /* responses not yet written to stdout: */
	size_t outoff, outlen, outcap;      /* out[outoff .. outoff+outlen) */
	int out_nonblock, out_flags;
	struct json_tok *tok;
	uint32_t tokcap;
	char *resp;                         /* scratch for one response */
	size_t respcap;
	struct srv_fan *fans[SSHMCP_FANS_MAX];   /* execute_on_hosts in flight */
	struct approval appr[SSHMCP_APPROVALS_MAX];  /* ConfirmCommand: asked, not answered */
	char reset[SSHMCP_RESET_MAX][SSHMCP_USER_MAX + SSHMCP_HOST_MAX + SSHMCP_NAME_MAX + 16];
	struct tcache *tc[SSHMCP_TCACHE_MAX];   /* resolved destinations, by what named them */
	uint64_t tc_clock;
	unsigned nreset;                    /* sessions lost: srv_reset_mark */
	unsigned appr_seq;
	int approving;                      /* replaying a tools/call a person approved */
	int initialized;                    /* initialize was answered */
	const char *msg;                    /* the message being dispatched, and its length */
	size_t msglen;
};

/* Queue one message line for stdout; past the cap the loop stops reading requests. */
static int mcp_queue(struct server *srv, const char *msg, size_t n)
{
	/* Move the rest to the front when it would not fit, or when less is left than was
	 * written (each byte moves at most once per byte written: amortised O(1)). */
	if (srv->outoff > 0 && (srv->outoff >= srv->outlen ||
	    n + 1 > srv->outcap - srv->outoff - srv->outlen)) {
		memmove(srv->out, srv->out + srv->outoff, srv->outlen);
		srv->outoff = 0;
	}
	if (n + 1 > srv->outcap - srv->outlen) {
		size_t need = srv->outlen + n + 1, cap = srv->outcap ? srv->outcap : 65536;
		char *p;

		while (cap < need)
			cap *= 2;
		/* Requests stop at SSHMCP_OUTQ_MAX: past it only the answer being written needs
		 * room, not a doubling. */
		if (cap > SSHMCP_OUTQ_MAX + SSHMCP_MSG_MAX)
			cap = need > SSHMCP_OUTQ_MAX + SSHMCP_MSG_MAX ? need :
			    SSHMCP_OUTQ_MAX + SSHMCP_MSG_MAX;
		if ((p = realloc(srv->out, cap)) == NULL)
			return -1;
		srv->out = p;
		srv->outcap = cap;
	}
	memcpy(srv->out + srv->outoff + srv->outlen, msg, n);
	srv->outlen += n;
	srv->out[srv->outoff + srv->outlen++] = '\n';
	return 0;
}

/* Written from the front, which moves on: no copying of what is left per write (a pipe
 * takes 64 KiB at a time; the queue holds up to SSHMCP_OUTQ_MAX). */
static void mcp_flush(struct server *srv)
{
	while (srv->outlen > 0) {
		ssize_t w = write(STDOUT_FILENO, srv->out + srv->outoff, srv->outlen);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (errno != EAGAIN)
				srv->outlen = 0;    /* the client is gone; stdin EOF follows */
			break;
		}
		srv->outoff += (size_t)w;
		srv->outlen -= (size_t)w;
	}
	if (srv->outlen == 0)
		srv->outoff = 0;
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

/* A log line: to the log (--log or stderr), secrets redacted, the request id on it; and to
 * the client as notifications/message once it chose a level (logging/setLevel). */
static void mcp_log(struct server *srv, int level, const char *req, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void mcp_log(struct server *srv, int level, const char *req, const char *fmt, ...)
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

/* A tools/call result up to its structuredContent: the text for people, its one content
 * item. mcp_tool_send closes it. */
static void mcp_tool_open(struct jw *w, const char *id, const char *text, size_t n)
{
	mcp_result_open(w, id);
	jw_obj_begin(w);
	jw_karr_begin(w, "content");
	jw_obj_begin(w);
	jw_kcstr(w, "type", "text");
	jw_kstr(w, "text", text, n);
	jw_obj_end(w);
	jw_arr_end(w);
}

static void mcp_tool_send(struct server *srv, struct jw *w, int is_error)
{
	jw_kbool(w, "isError", is_error);
	jw_obj_end(w);
	jw_obj_end(w);
	mcp_resp_send(srv, w);
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

/* ------------------------------------------------------------- results --- */

/* The slice of output a response carries: from offset, at most max_bytes, the newest. */
struct slice {
	uint64_t start, end, dropped;
	int truncated;
};

/*
 * A session's screen for agents (read_screen, send_keys, an execute_command whose program
 * took the screen). Rows are the model's text; what the stream hides from output stays
 * hidden here: the sentinel and sudo nonces (our prompt is drawn on the screen like any
 * text) and the session's secrets show as stars.
 */
static void mcp_screen_blank(char *row, size_t n, const char *sec, size_t len)
{
	char *p = row, *hit;

	if (len == 0)
		return;
	while ((hit = memmem(p, n - (size_t)(p - row), sec, len)) != NULL) {
		memset(hit, '*', len);
		p = hit + len;
	}
}

static void mcp_screen_mask(const struct shell *sh, char *row, size_t n)
{
	int i;

	mcp_screen_blank(row, n, sh->nonce, strlen(sh->nonce));
	mcp_screen_blank(row, n, sh->sudo_nonce, strlen(sh->sudo_nonce));
	for (i = 0; i < sh->mask.n; i++)
		mcp_screen_blank(row, n, sh->mask.sec[i], sh->mask.len[i]);
}

/* Row y as shown: text, masked. */
static size_t mcp_screen_row(const struct shell *sh, int y, char *row, size_t cap)
{
	size_t n = scr_row_text(&sh->scr, y, row, cap);

	mcp_screen_mask(sh, row, n);
	return n;
}

/* What a screen response may need: each row escaped, the names around it. */
static size_t mcp_screen_cap(const struct shell *sh)
{
	return (size_t)sh->job.rows * SSHMCP_SCR_ROW_TEXT_MAX + 4096;
}

/* The rows as one text, trailing blank rows left out; returns its length. */
static size_t mcp_screen_text(const struct shell *sh, char *out, size_t cap)
{
	size_t o = 0, keep = 0;
	int y;

	for (y = 0; y < sh->scr.rows && SSHMCP_SCR_ROW_TEXT_MAX + 1 <= cap - o; y++) {
		o += mcp_screen_row(sh, y, out + o, cap - o);
		out[o++] = '\n';
		if (o > 1 && out[o - 2] != '\n')
			keep = o;
	}
	return keep;
}

/* Does a line of the screen match? */
static int mcp_screen_match(const struct shell *sh, const regex_t *re)
{
	char row[SSHMCP_SCR_ROW_TEXT_MAX];
	int y;

	for (y = 0; y < sh->scr.rows; y++) {
		(void)mcp_screen_row(sh, y, row, sizeof(row));
		if (regexec(re, row, 0, NULL, 0) == 0)
			return 1;
	}
	return 0;
}

/* The screen's fields (SPEC §4): rows, cursor, cols, lines, alternate, title, changed (the
 * screen moved since a reader last saw it: this one has now). */
static void mcp_screen_fields(struct jw *w, struct shell *sh)
{
	char row[SSHMCP_SCR_ROW_TEXT_MAX], title[SSHMCP_SCR_TITLE_MAX];
	int y, cr, cc;

	jw_karr_begin(w, "rows");
	for (y = 0; y < sh->job.rows; y++)       /* no grid yet (nothing took it): blank */
		jw_str(w, row, mcp_screen_row(sh, y, row, sizeof(row)));
	jw_arr_end(w);
	cr = cc = 0;
	if (sh->scr.mem != NULL)
		scr_cursor(&sh->scr, &cr, &cc);
	jw_kobj_begin(w, "cursor");
	jw_kint(w, "row", cr);
	jw_kint(w, "col", cc);
	jw_obj_end(w);
	jw_kint(w, "cols", sh->job.cols);
	jw_kint(w, "lines", sh->job.rows);
	jw_kbool(w, "alternate", sh->scr.alt);
	(void)str_copy(title, sizeof(title), sh->scr.title);
	mcp_screen_mask(sh, title, strlen(title));
	jw_kcstr(w, "title", title);
	jw_kbool(w, "changed", sh->scr.gen != sh->scr_seen);
	sh->scr_seen = sh->scr.gen;
}

static struct slice mcp_slice(const struct cmd *c, uint64_t offset, size_t max_bytes)
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
static size_t mcp_read_slice(const struct cmd *c, struct slice *s, char *tmp)
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
static void mcp_write_cmd(struct jw *w, const struct cmd *c, const struct slice *s,
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
	if (c->session_reset)
		jw_kbool(w, "session_reset", 1);
	if (c->status == CMD_SCREEN && c->sh != NULL) {
		jw_kobj_begin(w, "screen");
		mcp_screen_fields(w, c->sh);
		jw_obj_end(w);
	}
	if (c->err.code != SSHMCP_OK) {
		jw_kobj_begin(w, "error");
		jw_kcstr(w, "code", err_table[c->err.code].name);
		jw_kcstr(w, "message", c->err.msg);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static int mcp_cmd_is_error(const struct cmd *c)
{
	return c->status == CMD_TIMEOUT || c->status == CMD_FAILED || c->err.code != SSHMCP_OK;
}

/* A tools/call result for a command: text for people, structuredContent for programs. */
static void mcp_reply_cmd(struct server *srv, const char *id, const struct cmd *c,
    uint64_t offset, size_t max_bytes, int64_t now)
{
	struct slice s = mcp_slice(c, offset, max_bytes);
	struct shell *scr = c->status == CMD_SCREEN ? c->sh : NULL;
	size_t n, cap = (size_t)(s.end - s.start) + SSHMCP_ERRMSG_MAX + SSHMCP_PROMPT_MAX + 128;
	char *tmp;
	struct jw w;
	int k;

	if (scr != NULL) {
		s.start = s.end;            /* a screen instead of the bytes that drew it */
		cap += mcp_screen_cap(scr);
	}
	if ((tmp = malloc(cap)) == NULL || mcp_resp_begin(srv, &w, cap) < 0) {
		free(tmp);
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	n = scr != NULL ? mcp_screen_text(scr, tmp, cap - SSHMCP_ERRMSG_MAX - SSHMCP_PROMPT_MAX) :
	    mcp_read_slice(c, &s, tmp);
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
	if (k > 0 && c->session_reset)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, ", on a new session: the lost "
		    "one's working directory and environment are gone");
	if (k > 0 && c->err.code != SSHMCP_OK)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, ": %s", c->err.msg);
	if (k > 0)
		k += snprintf(tmp + n + (size_t)k, cap - n - (size_t)k, "]");
	mcp_tool_open(&w, id, tmp, n + (k > 0 ? (size_t)k : 0));
	jw_key(&w, "structuredContent");
	mcp_write_cmd(&w, c, &s, tmp, scr != NULL ? 0 : n, now);
	mcp_tool_send(srv, &w, mcp_cmd_is_error(c));
	free(tmp);
}

/* A failed tool call: isError, a one-line message, structuredContent.error. */
static void mcp_reply_err(struct server *srv, const char *id, const struct err *e)
{
	struct jw w;
	enum sshmcp_err code = e->code != SSHMCP_OK ? e->code : SSHMCP_ERR_INTERNAL;

	if (mcp_resp_begin(srv, &w, sizeof(e->msg)) < 0)
		return;
	mcp_tool_open(&w, id, e->msg, strlen(e->msg));
	jw_kobj_begin(&w, "structuredContent");
	jw_kobj_begin(&w, "error");
	jw_kcstr(&w, "code", err_table[code].name);
	jw_kcstr(&w, "message", e->msg);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_tool_send(srv, &w, 1);
}

/* read_screen and send_keys answer: the command (when there is one) and the screen. */
/* `matched`: send_keys' wait_for matched (1) or not within its wait (0); -1: none given. */
static void mcp_reply_screen(struct server *srv, const char *id, struct shell *sh,
    const struct cmd *c, int matched)
{
	size_t cap = (sh != NULL ? mcp_screen_cap(sh) : 0) + 512, n = 0;
	char *text = malloc(cap);
	struct jw w;

	if (text == NULL || mcp_resp_begin(srv, &w, cap) < 0) {
		free(text);
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	if (sh != NULL)
		n = mcp_screen_text(sh, text, cap - 256);
	if (c != NULL)
		n += (size_t)snprintf(text + n, cap - n, "[%s %s%s]", c->id, cmd_status_names[c->status],
		    matched == 0 ? ", wait_for did not match" : "");
	mcp_tool_open(&w, id, text, n);
	jw_kobj_begin(&w, "structuredContent");
	if (c != NULL) {
		jw_kcstr(&w, "command_id", c->id);
		jw_kcstr(&w, "status", cmd_status_names[c->status]);
		if (c->has_exit)
			jw_kint(&w, "exit_code", c->exit_code);
		else
			jw_knull(&w, "exit_code");
	}
	if (sh != NULL) {
		jw_kcstr(&w, "host", sh->alias);
		jw_kcstr(&w, "session", sh->name);
		mcp_screen_fields(&w, sh);
	}
	if (matched >= 0)
		jw_kbool(&w, "wait_for_matched", matched);
	jw_obj_end(&w);
	mcp_tool_send(srv, &w, 0);
	free(text);
}

/* Reply with a small structured object, its JSON also serving as the text rendering. */
static void mcp_reply_obj(struct server *srv, const char *id, const char *json, size_t n)
{
	struct jw w;

	if (mcp_resp_begin(srv, &w, n) < 0)
		return;
	mcp_tool_open(&w, id, json, n);
	jw_kraw(&w, "structuredContent", json, n);
	mcp_tool_send(srv, &w, 0);
}

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
	if (op->kind == FOP_READ && utf8)
		mcp_tool_open(&w, op->id, (const char *)op->data, n);
	else {
		if (op->kind == FOP_READ)
			(void)str_fmt(text, sizeof(text), "%zu bytes of binary data from %.80s (base64 "
			    "in structuredContent.content)", n, op->path);
		else
			(void)str_fmt(text, sizeof(text), "wrote %zu bytes to %.80s (mode %s)", op->done,
			    op->path, mode);
		mcp_tool_open(&w, op->id, text, strlen(text));
	}
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
	mcp_tool_send(srv, &w, 0);
	free(b64);
}

/* ====================================================== tool arguments === */

/*
 * Every tool argument is a row: its JSON type, what it must look like, its bounds, the
 * schema text. One pass (arg_parse) checks a call's arguments against its tool's rows into
 * a struct targs before the handler runs: an unknown argument, a wrong type, a bound
 * passed, a host or user name that is no name, a control byte in a path or a name — each
 * is a clear usage error and nothing runs. inputSchema is written from the same rows, with
 * the limits the live policy sets (MaxTimeout).
 */
enum arg_kind { AK_STR, AK_TEXT, AK_INT, AK_NUM, AK_BOOL, AK_KEYS, AK_HOSTS, AK_MODE,
	AK_OFFSET, AK_SKEYS };
enum arg_class { AC_ANY, AC_HOST, AC_USER, AC_PATH, AC_NAME, AC_ID, AC_SECRET, AC_ENUM };
/* Bounds the policy sets: the row's max is replaced by it. */
enum arg_lim { AL_FIXED, AL_TIMEOUT };

enum arg_id { A_HOST, A_COMMAND, A_USERNAME, A_PORT, A_PASSWORD, A_KEY_FILENAME, A_PASSPHRASE,
	A_TIMEOUT, A_WAIT, A_SESSION, A_SUDO_PASSWORD, A_ENABLE_PASSWORD, A_DEVICE_TYPE,
	A_MAX_BYTES, A_COMMAND_ID, A_OFFSET, A_STATUS_WAIT, A_TEXT, A_KEYS, A_SECRET, A_NEWLINE,
	A_PATH, A_LENGTH, A_SUDO, A_CONTENT, A_ENCODING, A_MODE, A_APPEND, A_CREATE_DIRS, A_HOSTS,
	A_MAX_PARALLEL, A_FAN_MAX_BYTES, A_RUNNING_ONLY, A_HOST_FILTER, A_COLS, A_ROWS,
	A_SCR_KEYS, A_SCR_TEXT, A_WAIT_FOR, A_SCR_WAIT, A_SCR_HOST, A_COUNT };

/* What a call's arguments became. Strings are NUL-terminated copies; command, text and
 * content are allocated (arg_release wipes and frees). Numbers keep their default when
 * absent; `seen` has bit A_x when x was given. */
struct targs {
	uint64_t seen;
	char host[SSHMCP_HOST_MAX], username[SSHMCP_USER_MAX], key_filename[SSHMCP_PATH_MAX];
	char password[SSHMCP_SECRET_MAX], passphrase[SSHMCP_SECRET_MAX];
	char sudo_password[SSHMCP_SECRET_MAX], enable_password[SSHMCP_SECRET_MAX];
	char session[SSHMCP_NAME_MAX], command_id[SSHMCP_NAME_MAX], device_type[32];
	char path[SSHMCP_PATH_MAX], encoding[16];
	char *command, *text, *content;
	size_t content_len;
	long port, timeout, wait, max_bytes, max_parallel, length, mode;
	uint64_t offset;
	int secret, newline, sudo, append, create_dirs, running_only;
	int keys[SSHMCP_KEYS_MAX];
	int nkeys;
	int hosts;                          /* the hosts argument's token (execute_on_hosts) */
	long cols, rows;                    /* the terminal's size; 0: as it is */
	char skeys[SSHMCP_KEYS_MAX][SSHMCP_SCR_KEYNAME_MAX];   /* send_keys, checked by scr_key */
	int nskeys;
	char wait_for[SSHMCP_SCR_WAIT_FOR_MAX];
};

_Static_assert(A_COUNT <= 64, "seen is a 64-bit mask");

static const char *const arg_device_types[] = { "linux", "cisco_ios", "cisco_nxos", "cisco_xr",
	"cisco_asa", "juniper_junos", "arista_eos", "mikrotik_routeros", "hp_procurve",
	"huawei_vrp", "fortinet", "paloalto_panos", NULL };
static const char *const arg_encodings[] = { "utf8", "base64", NULL };

/* Named keys, as a terminal sends them. Enter is CR: the tty maps it for cooked reads. */
static const struct { const char *name, *seq; } tool_keys[] = {
	{ "enter", "\r" }, { "space", " " }, { "tab", "\t" }, { "esc", "\033" },
	{ "ctrl-c", "\003" }, { "ctrl-d", "\004" }, { "q", "q" }, { "y", "y" }, { "n", "n" },
	{ "up", "\033[A" }, { "down", "\033[B" },
};

#define TOOL_KEYS_N (sizeof(tool_keys) / sizeof(tool_keys[0]))
#define TA(f) offsetof(struct targs, f), sizeof(((struct targs *)0)->f)

struct arg_row {
	const char *name;
	enum arg_kind kind;
	enum arg_class cls;
	size_t off, size;                   /* where in struct targs, how big (strings) */
	long min, max;                      /* numbers; strings: max is the byte limit */
	enum arg_lim lim;
	const char *dflt;                   /* the schema's default, as JSON */
	const char *const *enums;
	const char *desc;
};

static const struct arg_row arg_rows[A_COUNT] = {
	[A_HOST] = { "host", AK_STR, AC_HOST, TA(host), 1, 0, AL_FIXED, NULL, NULL,
		"host or ssh_config alias" },
	[A_COMMAND] = { "command", AK_TEXT, AC_ANY, TA(command), 1, SSHMCP_CMD_MAX, AL_FIXED, NULL,
		NULL, "shell command line" },
	[A_USERNAME] = { "username", AK_STR, AC_USER, TA(username), 1, 0, AL_FIXED, NULL, NULL,
		"remote user (ssh_config's User otherwise)" },
	[A_PORT] = { "port", AK_INT, AC_ANY, TA(port), 1, 65535, AL_FIXED, NULL, NULL, NULL },
	[A_PASSWORD] = { "password", AK_STR, AC_SECRET, TA(password), 1, 0, AL_FIXED, NULL, NULL,
		"login password (never logged)" },
	[A_KEY_FILENAME] = { "key_filename", AK_STR, AC_PATH, TA(key_filename), 1, 0, AL_FIXED,
		NULL, NULL, "identity file (a regular file of at most 64 KiB)" },
	[A_PASSPHRASE] = { "passphrase", AK_STR, AC_SECRET, TA(passphrase), 1, 0, AL_FIXED, NULL,
		NULL, "passphrase of an encrypted key" },
	[A_TIMEOUT] = { "timeout", AK_NUM, AC_ANY, TA(timeout), 1, SSHMCP_TIMEOUT_MAX_S, AL_TIMEOUT,
		"30", NULL, "seconds before the command is interrupted" },
	[A_WAIT] = { "wait", AK_NUM, AC_ANY, TA(wait), 0, SSHMCP_TIMEOUT_MAX_S, AL_TIMEOUT, NULL,
		NULL, "seconds to wait for the result (default min(timeout, 50)); 0: at once" },
	[A_SESSION] = { "session", AK_STR, AC_NAME, TA(session), 1, 0, AL_FIXED, "\"default\"",
		NULL, "the persistent shell's name (letters, digits, _ . -)" },
	[A_SUDO_PASSWORD] = { "sudo_password", AK_STR, AC_SECRET, TA(sudo_password), 1, 0,
		AL_FIXED, NULL, NULL, "typed at sudo's own prompt only" },
	[A_ENABLE_PASSWORD] = { "enable_password", AK_STR, AC_SECRET, TA(enable_password), 1, 0,
		AL_FIXED, NULL, NULL, "network devices: climb to privileged mode (enable, super) "
		"with it" },
	[A_DEVICE_TYPE] = { "device_type", AK_STR, AC_ENUM, TA(device_type), 1, 0, AL_FIXED, NULL,
		arg_device_types, "the session's platform; without it a device is recognised by "
		"its prompt" },
	[A_MAX_BYTES] = { "max_bytes", AK_INT, AC_ANY, TA(max_bytes), 1, SSHMCP_MAX_BYTES_MAX,
		AL_FIXED, "65536", NULL, "output returned at most (the newest)" },
	[A_COMMAND_ID] = { "command_id", AK_STR, AC_ID, TA(command_id), 1, 0, AL_FIXED, NULL, NULL,
		NULL },
	[A_OFFSET] = { "offset", AK_OFFSET, AC_ANY, TA(offset), 0, 0, AL_FIXED, NULL, NULL,
		"byte offset to start from" },
	[A_STATUS_WAIT] = { "wait", AK_NUM, AC_ANY, TA(wait), 0, SSHMCP_TIMEOUT_MAX_S, AL_TIMEOUT,
		"0", NULL, "seconds to long-poll until it ends or asks for input" },
	[A_TEXT] = { "text", AK_TEXT, AC_ANY, TA(text), 0, SSHMCP_INPUT_MAX, AL_FIXED, NULL, NULL,
		"typed, then Enter unless newline is false" },
	[A_KEYS] = { "keys", AK_KEYS, AC_ANY, TA(keys), 0, SSHMCP_KEYS_MAX, AL_FIXED, NULL, NULL,
		"named keys, typed after the text" },
	[A_SECRET] = { "secret", AK_BOOL, AC_ANY, TA(secret), 0, 1, AL_FIXED, "false", NULL,
		"keep the text out of every log and result" },
	[A_NEWLINE] = { "newline", AK_BOOL, AC_ANY, TA(newline), 0, 1, AL_FIXED, "true", NULL,
		NULL },
	[A_PATH] = { "path", AK_STR, AC_PATH, TA(path), 1, 0, AL_FIXED, NULL, NULL, NULL },
	[A_LENGTH] = { "length", AK_INT, AC_ANY, TA(length), 0, SSHMCP_FILE_MAX, AL_FIXED,
		"1048576", NULL, "bytes to read at most" },
	[A_SUDO] = { "sudo", AK_BOOL, AC_ANY, TA(sudo), 0, 1, AL_FIXED, "false", NULL,
		"through sudo (sudo_password answers its prompt)" },
	[A_CONTENT] = { "content", AK_TEXT, AC_ANY, TA(content), 0, SSHMCP_MSG_MAX, AL_FIXED, NULL,
		NULL, "the file's new content, as utf8 text or base64" },
	[A_ENCODING] = { "encoding", AK_STR, AC_ENUM, TA(encoding), 1, 0, AL_FIXED, "\"utf8\"",
		arg_encodings, NULL },
	[A_MODE] = { "mode", AK_MODE, AC_ANY, TA(mode), 0, 07777, AL_FIXED, NULL, NULL,
		"permissions, octal as \"0644\" or a number" },
	[A_APPEND] = { "append", AK_BOOL, AC_ANY, TA(append), 0, 1, AL_FIXED, "false", NULL, NULL },
	[A_CREATE_DIRS] = { "create_dirs", AK_BOOL, AC_ANY, TA(create_dirs), 0, 1, AL_FIXED,
		"false", NULL, NULL },
	[A_HOSTS] = { "hosts", AK_HOSTS, AC_ANY, TA(hosts), 0, 0, AL_FIXED, NULL, NULL,
		"a list, or a host list like \"web[01-20],db1\"" },
	[A_MAX_PARALLEL] = { "max_parallel", AK_INT, AC_ANY, TA(max_parallel), 1,
		SSHMCP_MAX_SESSIONS, AL_FIXED, "16", NULL, NULL },
	[A_FAN_MAX_BYTES] = { "max_bytes", AK_INT, AC_ANY, TA(max_bytes), 1, SSHMCP_FAN_KEEP,
		AL_FIXED, "16384", NULL, "output kept per host and stream (the newest)" },
	[A_RUNNING_ONLY] = { "running_only", AK_BOOL, AC_ANY, TA(running_only), 0, 1, AL_FIXED,
		"false", NULL, NULL },
	[A_HOST_FILTER] = { "host", AK_STR, AC_HOST, TA(host), 1, 0, AL_FIXED, NULL, NULL,
		"only this host's" },
	[A_COLS] = { "cols", AK_INT, AC_ANY, TA(cols), 1, SSHMCP_SCR_COLS_MAX, AL_FIXED, NULL, NULL,
		"the session's terminal width (a window change when it differs)" },
	[A_ROWS] = { "rows", AK_INT, AC_ANY, TA(rows), 1, SSHMCP_SCR_ROWS_MAX, AL_FIXED, NULL, NULL,
		"the session's terminal height" },
	[A_SCR_KEYS] = { "keys", AK_SKEYS, AC_ANY, TA(skeys), 0, SSHMCP_KEYS_MAX, AL_FIXED, NULL,
		NULL, "key names, typed after the text: enter, esc, tab, backspace, up, down, left, "
		"right, home, end, pgup, pgdn, insert, delete, f1-f12, ctrl-a..ctrl-z, alt-x, space, "
		"any single character" },
	[A_SCR_TEXT] = { "text", AK_TEXT, AC_ANY, TA(text), 0, SSHMCP_INPUT_MAX, AL_FIXED, NULL,
		NULL, "typed as is (no Enter: add the key)" },
	[A_WAIT_FOR] = { "wait_for", AK_STR, AC_ANY, TA(wait_for), 1, 0, AL_FIXED, NULL, NULL,
		"an extended regular expression: return once a screen line matches it" },
	[A_SCR_WAIT] = { "wait", AK_NUM, AC_ANY, TA(wait), 0, SSHMCP_TIMEOUT_MAX_S, AL_TIMEOUT,
		"5", NULL, "seconds at most to wait for quiet (or for wait_for)" },
	[A_SCR_HOST] = { "host", AK_STR, AC_HOST, TA(host), 1, 0, AL_FIXED, NULL, NULL,
		"with session: the session's screen (instead of command_id)" },
};

/* A tool's arguments: row ids, A_COUNT-terminated; the required ones first, counted. */
struct arg_list {
	int nreq;
	enum arg_id ids[24];
};

#define ARG_CONN A_USERNAME, A_PORT, A_PASSWORD, A_KEY_FILENAME, A_PASSPHRASE, A_SESSION
static const struct arg_list args_exec = { 2, { A_HOST, A_COMMAND, ARG_CONN, A_TIMEOUT, A_WAIT,
	A_SUDO_PASSWORD, A_ENABLE_PASSWORD, A_DEVICE_TYPE, A_MAX_BYTES, A_COLS, A_ROWS, A_COUNT } };
static const struct arg_list args_async = { 2, { A_HOST, A_COMMAND, ARG_CONN, A_TIMEOUT,
	A_SUDO_PASSWORD, A_ENABLE_PASSWORD, A_DEVICE_TYPE, A_MAX_BYTES, A_COLS, A_ROWS, A_COUNT } };
static const struct arg_list args_read_screen = { 0, { A_COMMAND_ID, A_SCR_HOST, A_SESSION,
	A_COUNT } };
static const struct arg_list args_send_keys = { 1, { A_COMMAND_ID, A_SCR_TEXT, A_SCR_KEYS,
	A_WAIT_FOR, A_SCR_WAIT, A_COLS, A_ROWS, A_COUNT } };
static const struct arg_list args_status = { 1, { A_COMMAND_ID, A_OFFSET, A_STATUS_WAIT,
	A_MAX_BYTES, A_COUNT } };
static const struct arg_list args_input = { 1, { A_COMMAND_ID, A_TEXT, A_KEYS, A_SECRET,
	A_NEWLINE, A_COUNT } };
static const struct arg_list args_id = { 1, { A_COMMAND_ID, A_COUNT } };
static const struct arg_list args_read = { 2, { A_HOST, A_PATH, ARG_CONN, A_OFFSET, A_LENGTH,
	A_SUDO, A_SUDO_PASSWORD, A_COUNT } };
static const struct arg_list args_write = { 3, { A_HOST, A_PATH, A_CONTENT, ARG_CONN,
	A_ENCODING, A_MODE, A_APPEND, A_CREATE_DIRS, A_SUDO, A_SUDO_PASSWORD, A_COUNT } };
static const struct arg_list args_fan = { 2, { A_HOSTS, A_COMMAND, A_TIMEOUT, A_MAX_PARALLEL,
	A_FAN_MAX_BYTES, A_COUNT } };
static const struct arg_list args_list = { 0, { A_HOST_FILTER, A_RUNNING_ONLY, A_COUNT } };
static const struct arg_list args_none = { 0, { A_COUNT } };
static const struct arg_list args_close = { 1, { A_HOST, A_SESSION, A_COUNT } };

/* A string's class: what each kind of name or value may hold. NULL or why not. */
static const char *arg_class_bad(const struct arg_row *r, const char *s)
{
	const char *const *en;

	switch (r->cls) {
	case AC_HOST: return name_host_bad(s);
	case AC_USER: return name_user_bad(s);
	case AC_PATH:       /* typed for sudo: a tab would be a line editor's completion key */
		return str_has_control(s) || strpbrk(s, "\t\n") != NULL ? "a control character" :
		    NULL;
	case AC_SECRET:
		return str_has_control(s) || strchr(s, '\n') != NULL ? "a control character" : NULL;
	case AC_NAME: case AC_ID:
		return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(s) ? "only letters, digits, _ . -" : NULL;
	case AC_ENUM:
		for (en = r->enums; *en != NULL; en++)
			if (strcmp(*en, s) == 0)
				return NULL;
		return "not one of the values the schema lists";
	case AC_ANY:
		break;
	}
	return NULL;
}

/* A string row: bounded, no NUL, of its class; into its field (AK_TEXT: allocated). */
static int arg_string(const struct arg_row *r, const struct json_doc *d, int t, long max,
    struct targs *v, struct err *e)
{
	size_t n = json_str_len(d, t), cap = r->kind == AK_TEXT ? (size_t)max + 1 : r->size;
	char *s = r->kind == AK_TEXT ? NULL : (char *)v + r->off, **dst = (char **)((char *)v + r->off);
	const char *why;

	if (json_type(d, t) != JSON_STRING || n >= cap) {
		err_set(e, SSHMCP_ERR_USAGE, "argument '%s' must be a string of at most %zu bytes",
		    r->name, cap - 1);
		return -1;
	}
	if (s == NULL && (s = *dst = malloc(n + 1)) == NULL) {
		err_set(e, SSHMCP_ERR_NOMEM, "out of memory");
		return -1;
	}
	if (json_str(d, t, s, n + 1, &n) < 0 || memchr(s, '\0', n) != NULL) {
		err_set(e, SSHMCP_ERR_USAGE, "argument '%s' must not contain NUL bytes", r->name);
		return -1;
	}
	if (r->min > 0 && n == 0) {
		err_set(e, SSHMCP_ERR_USAGE, "argument '%s' must not be empty", r->name);
		return -1;
	}
	if (r == &arg_rows[A_CONTENT])
		v->content_len = n;
	if ((why = arg_class_bad(r, s)) != NULL) {
		err_set(e, SSHMCP_ERR_USAGE, "argument '%s': %s", r->name, why);
		return -1;
	}
	return 0;
}

/* keys: an array of names from tool_keys, all checked before anything is typed. */
static int arg_keys(const struct json_doc *d, int t, struct targs *v, struct err *e)
{
	int k;
	size_t i;

	if (json_type(d, t) != JSON_ARRAY) {
		err_set(e, SSHMCP_ERR_USAGE, "argument 'keys' must be an array of key names");
		return -1;
	}
	for (k = json_child(d, t); k >= 0; k = json_next(d, t, k)) {
		for (i = 0; i < TOOL_KEYS_N && !json_streq(d, k, tool_keys[i].name); i++)
			;
		if (i == TOOL_KEYS_N || v->nkeys >= SSHMCP_KEYS_MAX) {
			err_set(e, SSHMCP_ERR_USAGE, i == TOOL_KEYS_N ? "unknown key in 'keys' (enter, "
			    "space, tab, esc, ctrl-c, ctrl-d, q, y, n, up, down)" : "too many keys (at most "
			    "%d)", SSHMCP_KEYS_MAX);
			return -1;
		}
		v->keys[v->nkeys++] = (int)i;
	}
	return 0;
}

/* send_keys' keys: names scr_key knows (the modes a program sets change only the bytes),
 * all checked before anything is typed. */
static int arg_scr_keys(const struct json_doc *d, int t, struct targs *v, struct err *e)
{
	struct scr blank;
	char seq[SSHMCP_SCR_KEY_MAX + 1];
	int k;

	memset(&blank, 0, sizeof(blank));
	if (json_type(d, t) != JSON_ARRAY) {
		err_set(e, SSHMCP_ERR_USAGE, "argument 'keys' must be an array of key names");
		return -1;
	}
	for (k = json_child(d, t); k >= 0; k = json_next(d, t, k)) {
		char *name = v->skeys[v->nskeys < SSHMCP_KEYS_MAX ? v->nskeys : 0];

		if (v->nskeys >= SSHMCP_KEYS_MAX) {
			err_set(e, SSHMCP_ERR_USAGE, "too many keys (at most %d)", SSHMCP_KEYS_MAX);
			return -1;
		}
		if (json_type(d, k) != JSON_STRING ||
		    json_str(d, k, name, SSHMCP_SCR_KEYNAME_MAX, NULL) < 0 ||
		    scr_key(&blank, name, seq, sizeof(seq)) < 0) {
			err_set(e, SSHMCP_ERR_USAGE, "unknown key in 'keys' (enter, esc, tab, backspace, "
			    "up, down, left, right, home, end, pgup, pgdn, f1-f12, ctrl-a..ctrl-z, alt-x, "
			    "a single character)");
			return -1;
		}
		v->nskeys++;
	}
	return 0;
}

/* mode: "0644", "644" or 420, at most 07777. */
static int arg_mode_value(const struct json_doc *d, int t, struct targs *v, struct err *e)
{
	char s[16], *end;
	long long n;

	if (json_type(d, t) == JSON_STRING && json_str(d, t, s, sizeof(s), NULL) == 0 &&
	    s[0] != '\0' && (v->mode = strtol(s, &end, 8), *end == '\0') && v->mode >= 0 &&
	    v->mode <= 07777)
		return 0;
	if (json_type(d, t) == JSON_NUMBER && json_int(d, t, &n) == 0 && n >= 0 && n <= 07777) {
		v->mode = (long)n;
		return 0;
	}
	err_set(e, SSHMCP_ERR_USAGE, "argument 'mode' must be octal like \"0644\" (or 420)");
	return -1;
}

/* A number row: an integer (or any number, AK_NUM, taken whole) within its bounds. */
static int arg_number(const struct arg_row *r, const struct json_doc *d, int t, long max,
    struct targs *v, struct err *e)
{
	double x;

	if (json_double(d, t, &x) < 0 || x < (double)r->min ||
	    x > (r->kind == AK_OFFSET ? 9007199254740992.0 : (double)max) ||
	    (r->kind != AK_NUM && x != (double)(long long)x)) {
		err_set(e, SSHMCP_ERR_USAGE, r->kind == AK_OFFSET ? "argument '%s' must be a byte "
		    "offset >= 0" : "argument '%s' must be a%s number from %ld to %ld", r->name,
		    r->kind == AK_NUM ? "" : "n integer", r->min, max);
		return -1;
	}
	if (r->kind == AK_OFFSET)
		v->offset = (uint64_t)x;
	else
		*(long *)((char *)v + r->off) = (long)x;
	return 0;
}

static int arg_one(const struct arg_row *r, const struct json_doc *d, int t,
    const struct policy *p, struct targs *v, struct err *e)
{
	long max = r->lim == AL_TIMEOUT ? p->timeout_max : r->max;

	switch (r->kind) {
	case AK_STR: case AK_TEXT:
		return arg_string(r, d, t, max, v, e);
	case AK_INT: case AK_NUM: case AK_OFFSET:
		return arg_number(r, d, t, max, v, e);
	case AK_BOOL:
		if (json_bool(d, t, (int *)((char *)v + r->off)) == 0)
			return 0;
		err_set(e, SSHMCP_ERR_USAGE, "argument '%s' must be true or false", r->name);
		return -1;
	case AK_KEYS:
		return arg_keys(d, t, v, e);
	case AK_SKEYS:
		return arg_scr_keys(d, t, v, e);
	case AK_MODE:
		return arg_mode_value(d, t, v, e);
	case AK_HOSTS:
		if (json_type(d, t) == JSON_STRING || json_type(d, t) == JSON_ARRAY) {
			v->hosts = t;
			return 0;
		}
		err_set(e, SSHMCP_ERR_USAGE, "argument 'hosts' must be a list or a host list string");
		return -1;
	}
	return -1;
}

/* Where a key of the call's arguments is in the tool's list, or -1. */
static int arg_find(const struct arg_list *l, const struct json_doc *d, int key)
{
	int i;

	for (i = 0; l->ids[i] != A_COUNT; i++)
		if (json_streq(d, key, arg_rows[l->ids[i]].name))
			return i;
	return -1;
}

/* Check a call's arguments (the object `obj`, -1 for none) into v. */
static int arg_parse(const struct arg_list *l, const struct json_doc *d, int obj,
    const struct policy *p, struct targs *v, struct err *e)
{
	int k, i;

	memset(v, 0, sizeof(*v));
	v->timeout = p->timeout_default;
	v->wait = v->max_bytes = v->mode = -1;      /* the tool's default */
	v->newline = 1;
	v->length = SSHMCP_FILE_MAX;
	v->max_parallel = 16;
	v->hosts = -1;
	(void)str_copy(v->session, sizeof(v->session), "default");
	for (k = obj >= 0 ? json_child(d, obj) : -1; k >= 0; k = json_next(d, obj, k)) {
		char name[40];

		if ((i = arg_find(l, d, k)) < 0) {
			(void)json_str(d, k, name, sizeof(name), NULL);
			err_set(e, SSHMCP_ERR_USAGE, "unknown argument '%.32s'", name);
			return -1;
		}
		if (v->seen & (1ull << l->ids[i])) {
			err_set(e, SSHMCP_ERR_USAGE, "argument '%s' given twice", arg_rows[l->ids[i]].name);
			return -1;
		}
		v->seen |= 1ull << l->ids[i];
		if (json_type(d, k + 1) != JSON_NULL &&
		    arg_one(&arg_rows[l->ids[i]], d, k + 1, p, v, e) < 0)
			return -1;
		if (json_type(d, k + 1) == JSON_NULL)
			v->seen &= ~(1ull << l->ids[i]);   /* null: as if absent */
	}
	for (i = 0; i < l->nreq; i++)
		if (!(v->seen & (1ull << l->ids[i]))) {
			err_set(e, SSHMCP_ERR_USAGE, "missing required argument '%s'",
			    arg_rows[l->ids[i]].name);
			return -1;
		}
	return 0;
}

/* Done with a call's arguments: secrets wiped, allocations freed. */
static void arg_release(struct targs *v)
{
	if (v->text != NULL)
		mem_wipe(v->text, strlen(v->text));
	free(v->command);
	free(v->text);
	if (v->content != NULL)
		mem_wipe(v->content, v->content_len);
	free(v->content);
	mem_wipe(v->password, sizeof(v->password));
	mem_wipe(v->passphrase, sizeof(v->passphrase));
	mem_wipe(v->sudo_password, sizeof(v->sudo_password));
	mem_wipe(v->enable_password, sizeof(v->enable_password));
	v->command = v->text = v->content = NULL;
}

/* inputSchema, from the rows, with the live limits. */
static void arg_schema(struct jw *w, const struct arg_list *l, const struct policy *p)
{
	static const char *const types[] = { [AK_STR] = "string", [AK_TEXT] = "string",
		[AK_INT] = "integer", [AK_NUM] = "number", [AK_BOOL] = "boolean", [AK_OFFSET] = "integer" };
	int i;

	jw_obj_begin(w);
	jw_kcstr(w, "type", "object");
	jw_kobj_begin(w, "properties");
	for (i = 0; l->ids[i] != A_COUNT; i++) {
		const struct arg_row *r = &arg_rows[l->ids[i]];
		const char *const *en;

		jw_kobj_begin(w, r->name);
		if (r->kind == AK_KEYS || r->kind == AK_SKEYS || r->kind == AK_HOSTS ||
		    r->kind == AK_MODE) {
			int arr = r->kind == AK_KEYS || r->kind == AK_SKEYS;

			jw_kraw(w, "type", arr ? "\"array\"" : r->kind == AK_HOSTS ?
			    "[\"array\",\"string\"]" : "[\"string\",\"integer\"]", arr ? 7 :
			    r->kind == AK_HOSTS ? 18 : 20);
			if (r->kind != AK_MODE) {
				jw_kobj_begin(w, "items");
				jw_kcstr(w, "type", "string");
				if (r->kind == AK_KEYS) {
					size_t k;

					jw_karr_begin(w, "enum");
					for (k = 0; k < TOOL_KEYS_N; k++)
						jw_cstr(w, tool_keys[k].name);
					jw_arr_end(w);
				}
				jw_obj_end(w);
			}
		} else
			jw_kcstr(w, "type", types[r->kind]);
		if (r->kind == AK_INT || r->kind == AK_NUM || r->kind == AK_OFFSET)
			jw_kint(w, "minimum", r->min);
		if (r->kind == AK_INT || r->kind == AK_NUM)
			jw_kint(w, "maximum", r->lim == AL_TIMEOUT ? p->timeout_max : r->max);
		if (r == &arg_rows[A_TIMEOUT])
			jw_kint(w, "default", p->timeout_default);
		else if (r->dflt != NULL)
			jw_kraw(w, "default", r->dflt, strlen(r->dflt));
		if (r->enums != NULL) {
			jw_karr_begin(w, "enum");
			for (en = r->enums; *en != NULL; en++)
				jw_cstr(w, *en);
			jw_arr_end(w);
		}
		if (r->desc != NULL)
			jw_kcstr(w, "description", r->desc);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	jw_karr_begin(w, "required");
	for (i = 0; i < l->nreq; i++)
		jw_cstr(w, arg_rows[l->ids[i]].name);
	jw_arr_end(w);
	jw_kbool(w, "additionalProperties", 0);
	jw_obj_end(w);
}

/* One tools/call: its checked arguments (v), the raw document for the few that stay raw
 * (execute_on_hosts' host list), and where the first error goes. */
struct args {
	const struct json_doc *d;
	const struct targs *v;
	struct err *e;
};

/* ============================================================== server === */

/* A destination as ssh_config resolved it, kept while the files it read are unchanged:
 * a call to a live session does not read ssh_config and its Includes again. */
struct tcache {
	char key[SSHMCP_HOST_MAX + SSHMCP_USER_MAX + SSHMCP_PATH_MAX + 16];
	struct target t;
	struct cfg_stamps st;
	uint64_t used;
};

/* An approved request runs again through the methods (the protocol's last section). */
static void rpc_line(struct server *srv, const char *line, size_t n, int64_t now);

static void srv_tcache_drop(struct server *srv, int i)
{
	if (srv->tc[i] == NULL)
		return;
	target_free(&srv->tc[i]->t);
	cfg_stamps_free(&srv->tc[i]->st);
	free(srv->tc[i]);
	srv->tc[i] = NULL;
}

/* 1: t is a copy of what key resolved to, and no file it read has changed since. */
static int srv_tcache_get(struct server *srv, const char *key, struct target *t)
{
	int i;

	for (i = 0; i < SSHMCP_TCACHE_MAX; i++) {
		if (srv->tc[i] == NULL || strcmp(srv->tc[i]->key, key) != 0)
			continue;
		if (!cfg_stamps_same(&srv->tc[i]->st) || target_dup(t, &srv->tc[i]->t) < 0) {
			srv_tcache_drop(srv, i);
			return 0;
		}
		srv->tc[i]->used = ++srv->tc_clock;
		return 1;
	}
	return 0;
}

/* Keep a resolution (the stamps move in; the least recently used entry makes room). */
static void srv_tcache_put(struct server *srv, const char *key, const struct target *t,
    struct cfg_stamps *st)
{
	struct tcache *tc;
	int i, slot = 0;

	for (i = 0; i < SSHMCP_TCACHE_MAX && !st->nocache; i++) {
		if (srv->tc[i] == NULL) {
			slot = i;
			break;
		}
		if (srv->tc[i]->used < srv->tc[slot]->used)
			slot = i;
	}
	if (st->nocache || (tc = calloc(1, sizeof(*tc))) == NULL) {
		cfg_stamps_free(st);
		return;
	}
	if (str_copy(tc->key, sizeof(tc->key), key) < 0 || target_dup(&tc->t, t) < 0) {
		cfg_stamps_free(st);
		free(tc);
		return;
	}
	tc->st = *st;                       /* the paths are the entry's now */
	st->n = 0;
	tc->used = ++srv->tc_clock;
	srv_tcache_drop(srv, slot);
	srv->tc[slot] = tc;
}

/* The server's settings on top of what `c` holds, then ssh_config, into `t`. */
static int srv_target_cfg(struct server *srv, struct cfg *c, struct target *t, struct err *e)
{
	int plain = (c->user == NULL || c->user[0] == '\0') && t->port == 0;

	if ((srv->accept_new && cfg_option(c, "StrictHostKeyChecking accept-new", e) < 0) ||
	    cfg_option(c, "BatchMode yes", e) < 0 ||           /* no terminal to prompt on */
	    cfg_load(c, &srv->env, srv->fflag, e) < 0 || cfg_resolve(c, &srv->env, t, e) < 0)
		return -1;
	if (t->alive_interval_s == 0)
		t->alive_interval_s = 15;
	/* No ServerAliveInterval of the user's (BatchMode's 300 s, as ssh): while a session is
	 * idle the kernel's TCP keepalives watch a direct link instead (sess_alive_idle). */
	t->alive_kernel = c->val[CFG_SERVERALIVEINTERVAL] == NULL && t->proxy_command[0] == '\0' &&
	    t->jump == NULL;
	t->strict_files = 1;                /* key_filename comes from the agent */
	/* SSHMCP_PASSWORD goes only where ssh_config names the host (a Host line with its
	 * name) and the agent changed neither user nor port: not to any endpoint it names. */
	t->env_password = c->named && plain;
	return 0;
}

/* A destination through ssh_config (the cache first), with what the caller chose on top:
 * a user, a port (0: none) and an identity file ("": none). */
static int srv_target(struct server *srv, const char *host, const char *user, long long port,
    const char *key_file, struct target *t, struct err *e)
{
	char line[SSHMCP_PATH_MAX + 32], key[sizeof(((struct tcache *)0)->key)];
	struct cfg_stamps st = { .n = 0 };
	struct cfg c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	memset(t, 0, sizeof(*t));
	(void)str_fmt(key, sizeof(key), "%s\x1f%s\x1f%lld\x1f%s", host, user, port, key_file);
	if (srv_tcache_get(srv, key, t) > 0)
		return 0;
	(void)str_copy(t->alias, sizeof(t->alias), host);
	(void)str_copy(t->user, sizeof(t->user), user);
	t->port = (int)port;
	c.host = t->alias;
	c.user = t->user;
	c.st = &st;
	if (key_file[0] != '\0' && (str_fmt(line, sizeof(line), "IdentityFile \"%s\"",
	    key_file) < 0 || cfg_option(&c, line, e) < 0))
		goto out;
	rc = srv_target_cfg(srv, &c, t, e);
out:
	cfg_free(&c);
	if (rc == 0)
		srv_tcache_put(srv, key, t, &st);
	else {
		cfg_stamps_free(&st);
		target_free(t);
	}
	return rc;
}

/* A fan-out host, named by alias only (execute_on_hosts). */
static int srv_resolve(void *ctx, const char *name, struct target *t, struct err *e)
{
	memset(t, 0, sizeof(*t));
	if (name_check(name, NULL, e) < 0)
		return -1;
	return srv_target(ctx, name, "", 0, "", t, e);
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

	for (i = 0; i < SSHMCP_WAITERS_MAX; i++)
		if (srv->wait[i].active && srv->wait[i].sh == sh)
			srv->wait[i].sh = NULL;     /* a send_keys waiter answers without a screen */
	for (i = 0; i < srv->nshells; i++)
		if (srv->shells[i] == sh) {
			srv->shells[i] = srv->shells[--srv->nshells];
			break;
		}
	shell_free(sh);
}

/* Sessions that were lost, by key: the first result on the one that replaces it says
 * session_reset (its cwd and environment are gone: a relative rm must not surprise). */
static void srv_reset_mark(struct server *srv, const char *key)
{
	(void)str_copy(srv->reset[srv->nreset % SSHMCP_RESET_MAX], sizeof(srv->reset[0]), key);
	srv->nreset++;
}

static int srv_reset_take(struct server *srv, const char *key)
{
	int i;

	for (i = 0; i < SSHMCP_RESET_MAX; i++)
		if (srv->reset[i][0] != '\0' && strcmp(srv->reset[i], key) == 0) {
			srv->reset[i][0] = '\0';
			return 1;
		}
	return 0;
}

static void srv_cmd_free(struct cmd *c)
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
		srv_cmd_free(srv->hist[i]);
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
	char msg[SSHMCP_ERRMSG_MAX];
	struct audit_rec r = { .req = id, .host = a->v->host, .session = a->v->session,
		.command = text, .status = "refused" };

	(void)audit_write(&srv->audit, &srv->rd, &r);
	mcp_log(srv, LOG_INFO, id, "refused on %s: %s (%s)", a->v->host, text, a->e->msg);
	redact_line(&srv->rd, a->e->msg, msg, sizeof(msg));     /* it quotes the command */
	(void)str_copy(a->e->msg, sizeof(a->e->msg), msg);
}

/* A command's audit record; "started" before it is sent, its status when it ended. */
static struct audit_rec srv_cmd_audit_rec(const struct cmd *c, const char *status, int64_t now)
{
	int started = strcmp(status, "started") == 0;

	return (struct audit_rec){ .req = c->req[0] ? c->req : NULL, .host = c->host,
		.user = c->user, .session = c->session, .command = c->text, .status = status,
		.has_exit = !started && c->has_exit, .exit_code = c->exit_code,
		.bytes = started ? 0 : c->out.head, .approved = c->approved,
		.duration_ms = started ? 0 : (c->t_end ? c->t_end : now) -
		(c->t_start ? c->t_start : c->t_queued) };
}

/* ---------------------------------------------------- execute_on_hosts --- */

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

/* execute_on_hosts' hosts in flight, in all and on `host`: they are sessions and commands
 * like any other (MaxSessions, MaxCommands, MaxCommandsPerHost). */
static int srv_fan_running(const struct server *srv, const char *host, int *here)
{
	int i, k, all = 0;

	*here = 0;
	for (i = 0; i < SSHMCP_FANS_MAX; i++)
		for (k = 0; srv->fans[i] != NULL && k < srv->fans[i]->f.n; k++)
			if (srv->fans[i]->f.h[k].s != NULL) {
				all++;
				*here += strcmp(srv->fans[i]->f.h[k].name, host) == 0;
			}
	return all;
}

/* May one more host of a fan-out start now? Sessions and commands in flight, all kinds. */
static int srv_fan_room(void *ctx, const char *host)
{
	struct server *srv = ctx;
	int i, here, all = 0, mine = 0, fans = srv_fan_running(srv, host, &here);

	for (i = 0; i < srv->nhist; i++)
		if (srv->hist[i]->status <= CMD_AWAITING) {
			all++;
			mine += strcmp(srv->hist[i]->host, host) == 0;
		}
	return srv->nshells + fans < srv->pol.max_sessions && all + fans < srv->pol.max_cmds &&
	    mine + here < srv->pol.max_cmds_host;
}

/* The newest max_bytes of a kept stream, as a JSON string. */
static void srv_fan_stream(struct jw *w, const char *key, const struct ring *r, size_t max,
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
	mcp_tool_open(&w, sf->id, text, strlen(text));
	jw_kobj_begin(&w, "structuredContent");
	jw_karr_begin(&w, "results");
	for (i = 0; i < f->n; i++) {
		const struct fan_host *h = &f->h[i];

		jw_obj_begin(&w);
		jw_kcstr(&w, "host", h->name);
		jw_kint(&w, "exit_code", h->status);
		srv_fan_stream(&w, "stdout", &h->keep[0], sf->max_bytes, tmp);
		srv_fan_stream(&w, "stderr", &h->keep[1], sf->max_bytes, tmp);
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
	mcp_tool_send(srv, &w, 0);
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
			srv_fan_reply(srv, sf);
			srv_fan_free(sf);
			srv->fans[i] = NULL;
		}
	}
}

/* ----------------------------------------------------------- approvals --- */

static void srv_approval_audit(struct server *srv, const struct approval *ap, const char *status)
{
	struct audit_rec r = { .req = ap->id, .host = ap->host, .session = ap->session,
		.command = ap->command, .status = status };

	(void)audit_write(&srv->audit, &srv->rd, &r);
}

static void srv_approval_drop(struct approval *ap)
{
	free(ap->msg);
	free(ap->command);
	memset(ap, 0, sizeof(*ap));
}

/* The person said no, or nothing in time: the held request gets its refusal. */
static void srv_approval_refuse(struct server *srv, struct approval *ap, const char *why)
{
	struct err e = { .code = SSHMCP_OK };

	err_set(&e, SSHMCP_ERR_POLICY, "refused: ConfirmCommand: %s", why);
	srv_approval_audit(srv, ap, "declined");
	mcp_reply_err(srv, ap->id, &e);
	srv_approval_drop(ap);
}

/*
 * ConfirmCommand matched: ask the person (elicitation/create) before anything runs; the
 * request stays unanswered until they do. No elicitation, no free slot: refused.
 * Returns 0 when the question went out (the caller replies nothing now).
 */
static int srv_approval_ask(struct server *srv, const char *id, const struct args *a,
    const char *command, int rule, int64_t now)
{
	static const char schema[] = "{\"type\":\"object\",\"properties\":{\"approve\":"
		"{\"type\":\"boolean\",\"title\":\"Run this command\"}},\"required\":[\"approve\"]}";
	struct approval *ap = NULL;
	char buf[SSHMCP_LINE_MAX + 1024], msg[SSHMCP_LINE_MAX + 512];
	struct jw w;
	int i;

	for (i = 0; i < SSHMCP_APPROVALS_MAX && ap == NULL; i++)
		ap = srv->appr[i].active ? NULL : &srv->appr[i];
	if (!srv->elicit || ap == NULL || srv->msg == NULL) {
		err_set(a->e, SSHMCP_ERR_POLICY, "refused: ConfirmCommand %s needs a person's yes, and "
		    "%s", srv->pol.confirm[rule].src, !srv->elicit ? "this client cannot ask "
		    "(no elicitation)" : "too many questions are open");
		return -1;
	}
	if ((ap->msg = malloc(srv->msglen)) == NULL || (ap->command = strdup(command)) == NULL) {
		srv_approval_drop(ap);
		err_set(a->e, SSHMCP_ERR_NOMEM, "out of memory");
		return -1;
	}
	memcpy(ap->msg, srv->msg, srv->msglen);
	ap->len = srv->msglen;
	ap->active = 1;
	ap->deadline = now + SSHMCP_ELICIT_MS;
	(void)str_copy(ap->id, sizeof(ap->id), id);
	(void)str_fmt(ap->req, sizeof(ap->req), "\"ap-%u\"", ++srv->appr_seq);
	(void)str_copy(ap->host, sizeof(ap->host), a->v->host[0] != '\0' ? a->v->host :
	    "(several hosts)");
	(void)str_copy(ap->session, sizeof(ap->session), a->v->session);
	(void)str_fmt(msg, sizeof(msg), "Run this command on %s (session %s)?\n\n%.4000s\n\n(it "
	    "matches ConfirmCommand %s)", ap->host, ap->session, command, srv->pol.confirm[rule].src);
	jw_init(&w, buf, sizeof(buf));
	jw_obj_begin(&w);
	jw_kcstr(&w, "jsonrpc", "2.0");
	jw_kraw(&w, "id", ap->req, strlen(ap->req));
	jw_kcstr(&w, "method", "elicitation/create");
	jw_kobj_begin(&w, "params");
	jw_kcstr(&w, "message", msg);
	jw_kraw(&w, "requestedSchema", schema, sizeof(schema) - 1);
	jw_obj_end(&w);
	jw_obj_end(&w);
	if (jw_finish(&w) == 0)
		(void)mcp_queue(srv, buf, w.len);
	srv_approval_audit(srv, ap, "confirm");
	return 0;
}

/* The policy stage of a request, between its checked arguments and its destination: 0 go
 * on; 1 held for a person (RequireConfirm), answered when they decide; -1 refused, audited,
 * the reason in a->e. A request an approval let through runs once more with approving set. */
static int srv_authorize(struct server *srv, const char *id, const struct args *a,
    const char *text, int64_t now)
{
	int confirm;

	if (pol_command(&srv->pol, text, &confirm, a->e) < 0)
		goto refused;
	if (confirm < 0 || srv->approving)
		return 0;
	if (srv_approval_ask(srv, id, a, text, confirm, now) == 0)
		return 1;
refused:
	srv_audit_refusal(srv, id, a, text);
	return -1;
}

/* The person's answer: accept with approve true runs the held request, as approved. */
static void srv_approval_answer(struct server *srv, const struct json_doc *d, const char *id,
    int64_t now)
{
	int res = json_get(d, 0, "result"), act = res >= 0 ? json_get(d, res, "action") : -1;
	int content = res >= 0 ? json_get(d, res, "content") : -1, yes = 0, i;
	int t = content >= 0 ? json_get(d, content, "approve") : -1;
	struct approval *ap;

	for (i = 0; i < SSHMCP_APPROVALS_MAX; i++) {
		ap = &srv->appr[i];
		if (!ap->active || strcmp(ap->req, id) != 0)
			continue;
		if (t >= 0)
			(void)json_bool(d, t, &yes);
		if (act < 0 || !json_streq(d, act, "accept") || !yes) {
			srv_approval_refuse(srv, ap, "the person declined");
			return;
		}
		srv_approval_audit(srv, ap, "approved");
		srv->approving = 1;
		rpc_line(srv, ap->msg, ap->len, now);
		srv->approving = 0;
		srv_approval_drop(ap);
		return;
	}
}

/* Questions nobody answered in time are refusals. */
static void srv_approvals_expire(struct server *srv, int64_t now)
{
	int i;

	for (i = 0; i < SSHMCP_APPROVALS_MAX; i++)
		if (srv->appr[i].active && now >= srv->appr[i].deadline)
			srv_approval_refuse(srv, &srv->appr[i], "no answer in time");
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
		r = srv_cmd_audit_rec(c, cmd_status_names[c->status], now);
		(void)audit_write(&srv->audit, &srv->rd, &r);
		mcp_log(srv, LOG_INFO, c->req[0] ? c->req : NULL, "%s %s, exit %d%s, %llu bytes, %lld ms",
		    c->id, cmd_status_names[c->status], c->exit_code, c->has_exit ? "" : " (unknown)",
		    (unsigned long long)r.bytes, (long long)r.duration_ms);
	}
}

/* Rate limits: commands in flight, in all and per host; a flood is answered, not queued. */
static int srv_cmd_limits(struct server *srv, const char *host, struct err *e)
{
	int i, here, all = srv_fan_running(srv, host, &here);

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
    const char *text, int timeout_s, int approved, struct err *e, int64_t now)
{
	struct audit_rec r;
	struct cmd *c;

	if (sh->nq >= SSHMCP_QUEUE_MAX) {
		err_set(e, SSHMCP_ERR_BUSY, "session '%s' has %d commands queued: wait, or use "
		    "another session name", sh->name, SSHMCP_QUEUE_MAX);
		return NULL;
	}
	if (srv_cmd_limits(srv, sh->alias, e) < 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->text = strdup(text)) == NULL ||
	    ring_init_grow(&c->out, SSHMCP_CMD_RING_FIRST, srv->pol.ring_size) < 0 ||
	    srv_hist_add(srv, c) < 0) {
		srv_cmd_free(c);
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
	c->status = CMD_QUEUED;
	c->t_queued = now;
	c->deadline = now + (int64_t)timeout_s * 1000;
	c->approved = approved;
	c->session_reset = sh->reset;
	sh->reset = 0;
	r = srv_cmd_audit_rec(c, "started", now);
	if (audit_write(&srv->audit, &srv->rd, &r) < 0) {
		/* Written ahead or not at all: nothing runs that the audit would not show. */
		err_set(e, SSHMCP_ERR_IO, "the audit file cannot be written: the command was not sent");
		err_set(&c->err, SSHMCP_ERR_IO, "%s", e->msg);
		c->audited = 1;
		cmd_finish(NULL, c, CMD_FAILED, now);
		return NULL;
	}
	c->sh = sh;
	sh->queue[sh->nq++] = c;
	shell_start_next(sh, now);
	return c;
}

/* ------------------------------------------------------------- waiters --- */

static struct waiter *srv_wait_slot(struct server *srv, const char *id, struct cmd *c,
    int64_t deadline, uint64_t offset, size_t max_bytes, int on_change, const char *progress);

/* Park a request until its command changes; the loop answers it (serve_wake). */
static int srv_wait(struct server *srv, const char *id, struct cmd *c, int64_t deadline,
    uint64_t offset, size_t max_bytes, int on_change, const char *progress)
{
	return srv_wait_slot(srv, id, c, deadline, offset, max_bytes, on_change, progress) != NULL ?
	    0 : -1;
}

/* A waiter is done: its command let go, its pattern freed. */
static void srv_wait_end(struct waiter *wt)
{
	if (wt->has_re)
		regfree(&wt->re);
	wt->has_re = 0;
	wt->active = 0;
	wt->cmd->refs--;
}

static struct waiter *srv_wait_slot(struct server *srv, const char *id, struct cmd *c,
    int64_t deadline, uint64_t offset, size_t max_bytes, int on_change, const char *progress)
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
		return wt;
	}
	return NULL;
}

/* The open session named host + session, as called (no ssh_config lookup, no connect). */
static struct shell *srv_shell_named(struct server *srv, const char *host, const char *name)
{
	int i;

	for (i = 0; i < srv->nshells; i++)
		if (strcmp(srv->shells[i]->alias, host) == 0 && strcmp(srv->shells[i]->name, name) == 0)
			return srv->shells[i];
	return NULL;
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

/* =============================================================== tools === */

/* Resolve the tool's host through ssh_config, with the tool's overrides on top. */
static int tool_target(struct server *srv, const struct args *a, struct target *t)
{
	return srv_target(srv, a->v->host, a->v->username, (long long)a->v->port,
	    a->v->key_filename, t, a->e);
}

/* device_type picks the engine of a new session (a reused one must agree); a new
 * enable_password makes the next command climb to privileged mode first. */
static int tool_shell_device(struct shell *sh, const struct args *a)
{
	const struct dev_profile *p = NULL;
	int given = a->v->device_type[0] != '\0';

	if (given)
		(void)dev_type_parse(a->v->device_type, &p);    /* the row's enum checked it */
	if (given && sh->st == SH_CONNECTING && sh->ncmds == 0 && sh->nq == 0 && sh->dv == NULL) {
		if (p != NULL && dev_attach(sh, p) < 0) {
			err_set(a->e, SSHMCP_ERR_NOMEM, "out of memory");
			return -1;
		}
		sh->dev_auto = 0;
	} else if (given && shell_dev(sh) != p) {
		err_set(a->e, SSHMCP_ERR_USAGE, "session '%s' to %s is already open as %s: close it "
		    "first, or use another session name", sh->name, sh->alias,
		    sh->dv != NULL ? sh->dv->prof->name : "linux");
		return -1;
	}
	if (a->v->enable_password[0] != '\0' && strcmp(a->v->enable_password, sh->enable_pw) != 0) {
		(void)str_copy(sh->enable_pw, sizeof(sh->enable_pw), a->v->enable_password);
		mask_add(&sh->mask, sh->enable_pw);
		sh->enable_want = 1;
	}
	return 0;
}

static int srv_fan_running(const struct server *srv, const char *host, int *here);

/* The session for this call: reused, or new. A session that died while idle is reported
 * once (SSHMCP_ERR_SESSION_LOST) and replaced on the next call: no silent reconnects. */
static struct shell *tool_shell(struct server *srv, const struct args *a, int64_t now)
{
	char key[sizeof(((struct shell *)0)->key)];
	const char *name = a->v->session;
	struct target t;
	struct shell *sh;
	int rc;

	if (tool_target(srv, a, &t) < 0)
		return NULL;
	if (pol_host_check(&srv->pol, &t, srv_resolve, srv, a->e) < 0) {
		target_free(&t);
		return NULL;
	}
	shell_key(key, sizeof(key), &t, name);
	if ((sh = srv_shell_find(srv, key)) != NULL && sh->st == SH_CLOSED) {
		int lost = sh->report_lost;

		if (lost && sh->dv != NULL)
			err_set(a->e, SSHMCP_ERR_SESSION_LOST, "session '%s' to %s (%s) was lost (%s): "
			    "its mode (%s) is gone; the next call logs in again", sh->name, sh->alias,
			    sh->dv->prof->name, sh->s.err.code != SSHMCP_OK ? sh->s.err.msg : "closed",
			    shell_mode_name(sh));
		if (lost)
			err_set(a->e, SSHMCP_ERR_SESSION_LOST, "session '%s' to %s was lost (%s): its "
			    "working directory (cwd %s), exported variables and mode (%s) are gone; "
			    "the next call reconnects", sh->name, sh->alias, sh->s.err.code != SSHMCP_OK ?
			    sh->s.err.msg : "closed", sh->cwd[0] != '\0' ? sh->cwd : "unknown",
			    shell_mode_name(sh));
		if (sh->was_ready && sh->s.state != SESS_DONE)
			srv_reset_mark(srv, key);   /* its successor says it starts afresh */
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
	if (srv->nshells + srv_fan_running(srv, "", &rc) >= srv->pol.max_sessions) {
		err_set(a->e, SSHMCP_ERR_BUSY, "too many sessions (%d): close one first",
		    srv->pol.max_sessions);
		target_free(&t);
		return NULL;
	}
	if ((sh = shell_new(&t, name, &srv->log, now)) == NULL || (sh->policy =
	    pol_commands(&srv->pol), 0)) {
		err_set(a->e, SSHMCP_ERR_NOMEM, "out of memory");
		target_free(&t);
		return NULL;
	}
	if (a->v->password[0] != '\0') {
		(void)str_copy(sh->s.secret, sizeof(sh->s.secret), a->v->password);
		sh->s.have_secret = 1;
	}
	sh->s.hk_ask = srv->elicit && !srv->accept_new;
	(void)str_copy(sh->s.passphrase, sizeof(sh->s.passphrase), a->v->passphrase);
	sh->reset = srv_reset_take(srv, key);
	mask_add(&sh->mask, sh->s.secret);
	mask_add(&sh->mask, sh->s.passphrase);
	mask_add(&sh->mask, getenv("SSHMCP_PASSWORD") != NULL ? getenv("SSHMCP_PASSWORD") : "");
	mask_add(&sh->mask, getenv("SSHMCP_PASSPHRASE") != NULL ? getenv("SSHMCP_PASSPHRASE") : "");
	sh->dev_auto = 1;
	srv->shells[srv->nshells++] = sh;
	if (tool_shell_device(sh, a) < 0) {
		srv_shell_remove(srv, sh);
		return NULL;
	}
	return sh;
}

/* ------------------------------------------------------------ commands --- */

static void tool_run(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now, int async)
{
	const struct targs *v = a->v;
	const char *text = v->command, *hint;
	long wait = v->wait >= 0 ? v->wait : v->timeout < SSHMCP_WAIT_MAX_S ? v->timeout :
		SSHMCP_WAIT_MAX_S;
	size_t maxb = v->max_bytes > 0 ? (size_t)v->max_bytes : SSHMCP_MAX_BYTES_DEFAULT;
	struct shell *sh;
	struct cmd *c;
	int held;

	if ((held = srv_authorize(srv, id, a, text, now)) != 0) {
		if (held > 0)
			return;                     /* answered when the person decides */
		goto fail;
	}
	if ((sh = tool_shell(srv, a, now)) == NULL)
		goto fail;
	if (sh->policy && strcmp(sh->mode, "repl") == 0) {
		err_set(a->e, SSHMCP_ERR_POLICY, "refused: session '%s' is inside a REPL; the policy "
		    "checks shell commands only (close the session)", sh->name);
		goto fail;
	}
	if ((v->cols > 0 || v->rows > 0) && shell_resize(sh, v->cols > 0 ? (int)v->cols :
	    sh->job.cols, v->rows > 0 ? (int)v->rows : sh->job.rows) < 0) {
		err_set(a->e, SSHMCP_ERR_NOMEM, "out of memory for a %ldx%ld screen", v->cols, v->rows);
		goto fail;
	}
	if (!async && wait > 0 && (hint = prompt_stream_hint(text, sh->dv != NULL,
	    sh->policy)) != NULL) {
		err_set(a->e, SSHMCP_ERR_REFUSED, "refused '%.80s': %s", text, hint);
		if (sh->st == SH_CONNECTING && sh->ncmds == 0 && sh->nq == 0)
			srv_shell_remove(srv, sh);      /* opened for this call alone */
		goto fail;
	}
	if ((c = srv_cmd_new(srv, sh, id, text, (int)v->timeout, srv->approving, a->e, now)) == NULL)
		goto fail;
	(void)str_copy(c->sudo_pw, sizeof(c->sudo_pw), v->sudo_password);
	mask_add(&sh->mask, v->sudo_password);
	mcp_log(srv, LOG_INFO, id, "%s on %s/%s: %s", c->id, c->host, c->session, c->text);
	if (async || wait == 0 || srv_wait(srv, id, c, now + wait * 1000, 0, maxb, 0, progress) < 0)
		mcp_reply_cmd(srv, id, c, 0, maxb, now);
	return;
fail:
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
	struct cmd *c = srv_cmd_find(srv, a->v->command_id);

	if (c == NULL)
		err_set(a->e, SSHMCP_ERR_NOT_FOUND, "no command '%s' (finished commands are kept "
		    "until %d newer ones push them out)", a->v->command_id, SSHMCP_HISTORY_MAX);
	return c;
}

static void tool_get_status(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct cmd *c = tool_cmd(srv, a);
	long wait = a->v->wait > 0 ? a->v->wait : 0;
	size_t maxb = a->v->max_bytes > 0 ? (size_t)a->v->max_bytes : SSHMCP_MAX_BYTES_DEFAULT;

	if (c == NULL) {
		mcp_reply_err(srv, id, a->e);
		return;
	}
	if (wait == 0 || c->status > CMD_RUNNING ||
	    srv_wait(srv, id, c, now + wait * 1000, a->v->offset, maxb, 1, progress) < 0)
		mcp_reply_cmd(srv, id, c, a->v->offset, maxb, now);
}

/* The keys, checked by arg_parse (a bad name types nothing), as a terminal sends them. */
static int tool_type_keys(struct shell *sh, const struct args *a)
{
	int k;

	for (k = 0; k < a->v->nkeys; k++)
		if (shell_type_input(sh, tool_keys[a->v->keys[k]].seq,
		    strlen(tool_keys[a->v->keys[k]].seq)) < 0) {
			err_set(a->e, SSHMCP_ERR_BUSY, "input buffer full");
			return -1;
		}
	return 0;
}

/* send_input under a policy: only to a command at a question it recognised (a password,
 * [y/N], a pager's prompt), one line of text, never starting with ! (a pager's shell
 * escape); a pager gets keys only. Anything else would be typing to the shell unchecked. */
static int tool_input_allowed(const struct server *srv, const struct cmd *c, const char *text,
    struct err *e)
{
	int pager = c->prompt[0] != '\0' && (strstr(c->prompt, "--") != NULL ||
		strstr(c->prompt, "(END)") != NULL || strcmp(c->prompt, ":") == 0);

	if (!pol_commands(&srv->pol))
		return 0;
	if (c->status != CMD_AWAITING)
		err_set(e, SSHMCP_ERR_POLICY, "refused: under the policy, input goes only to a "
		    "command waiting at a question (%s is %s)", c->id, cmd_status_names[c->status]);
	else if (text != NULL && (pager || strchr(text, '\n') != NULL || text[0] == '!'))
		err_set(e, SSHMCP_ERR_POLICY, "refused: under the policy, %s", pager ? "a pager gets "
		    "keys only" : "input is one line that does not start with !");
	return e->code != SSHMCP_OK ? -1 : 0;
}

/* Every send_input goes into the audit: the text (*** when secret), the keys by name. */
static void tool_input_audit(struct server *srv, const char *id, const struct cmd *c,
    const struct args *a, const char *status)
{
	char what[SSHMCP_LINE_MAX];
	const char *text = a->v->text;
	struct audit_rec r;
	int k;

	(void)str_fmt(what, sizeof(what), "%s %s: %.2000s", a->v->nskeys > 0 ||
	    a->v->wait_for[0] != '\0' ? "send_keys" : "send_input", c->id, text == NULL ? "" :
	    a->v->secret ? "***" : text);
	for (k = 0; k < a->v->nkeys; k++)
		(void)str_fmt(what + strlen(what), sizeof(what) - strlen(what), " <%s>",
		    tool_keys[a->v->keys[k]].name);
	for (k = 0; k < a->v->nskeys; k++)
		(void)str_fmt(what + strlen(what), sizeof(what) - strlen(what), " <%s>",
		    a->v->skeys[k]);
	r = (struct audit_rec){ .req = id, .host = c->host, .user = c->user, .session = c->session,
		.command = what, .status = status };
	(void)audit_write(&srv->audit, &srv->rd, &r);
}

static void tool_send_input(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct cmd *c = tool_cmd(srv, a);
	const char *text = a->v->text;

	if (c == NULL)
		goto fail;
	if (c->sh == NULL || c->status > CMD_AWAITING || c->status == CMD_QUEUED) {
		err_set(a->e, SSHMCP_ERR_NOT_FOUND, "command %s is not running (%s)", c->id,
		    cmd_status_names[c->status]);
		goto fail;
	}
	if (text != NULL && str_has_control(text)) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'text' has a control character: send "
		    "control keys with 'keys' (ctrl-c, esc, ...)");
		goto fail;
	}
	if (tool_input_allowed(srv, c, text, a->e) < 0) {
		tool_input_audit(srv, id, c, a, "refused");
		goto fail;
	}
	tool_input_audit(srv, id, c, a, "input");
	if (a->v->secret && text != NULL)
		mask_add(&c->sh->mask, text);       /* a program that echoes it shows *** */
	/* Secret input is typed and wiped (arg_release); never logged, echoed back or kept. */
	if ((text != NULL && (shell_type_input(c->sh, text, strlen(text)) < 0 ||
	    (a->v->newline && shell_type_input(c->sh, "\r", 1) < 0))) ||
	    tool_type_keys(c->sh, a) < 0) {
		err_set(a->e, SSHMCP_ERR_BUSY, "input buffer full");
		goto fail;
	}
	c->status = CMD_RUNNING;
	c->prompt[0] = '\0';
	c->sh->fresh = 0;
	if (srv_wait(srv, id, c, now + SSHMCP_INTERRUPT_GRACE_MS, 0, SSHMCP_MAX_BYTES_DEFAULT, 1,
	    progress) < 0)
		mcp_reply_cmd(srv, id, c, 0, SSHMCP_MAX_BYTES_DEFAULT, now);
	return;
fail:
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

/* ------------------------------------------------------------- screens --- */

static void tool_read_screen(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct cmd *c = NULL;
	struct shell *sh;

	(void)progress, (void)now;
	if (a->v->command_id[0] != '\0') {
		if ((c = tool_cmd(srv, a)) == NULL)
			goto fail;
		sh = c->sh != NULL ? c->sh : srv_shell_named(srv, c->host, c->session);
	} else if (a->v->host[0] != '\0') {
		sh = srv_shell_named(srv, a->v->host, a->v->session);
	} else {
		err_set(a->e, SSHMCP_ERR_USAGE, "read_screen needs command_id, or host (and session)");
		goto fail;
	}
	if (sh == NULL || sh->st == SH_CLOSED) {
		err_set(a->e, SSHMCP_ERR_NOT_FOUND, "no open session %s to %s: its screen is gone",
		    c != NULL ? c->session : a->v->session, c != NULL ? c->host : a->v->host);
		goto fail;
	}
	mcp_reply_screen(srv, id, sh, c, -1);
	return;
fail:
	mcp_reply_err(srv, id, a->e);
}

/* send_keys types what a person would: under a command policy it is refused (keys into an
 * editor or monitor run what the policy never checked: vi's :!, less's !, top's k). */
static int tool_keys_allowed(struct server *srv, const char *id, const struct cmd *c,
    const struct args *a)
{
	if (pol_commands(&srv->pol)) {
		err_set(a->e, SSHMCP_ERR_POLICY, "refused: under the command policy send_keys is not "
		    "available (use send_input at a recognised question)");
		tool_input_audit(srv, id, c, a, "refused");
	} else if (c->sh == NULL || c->status > CMD_AWAITING || c->status == CMD_QUEUED)
		err_set(a->e, SSHMCP_ERR_NOT_FOUND, "command %s is not running (%s)", c->id,
		    cmd_status_names[c->status]);
	else if (a->v->text != NULL && str_has_control(a->v->text))
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'text' has a control character: send "
		    "control keys with 'keys' (enter, ctrl-c, esc, ...)");
	return a->e->code != SSHMCP_OK ? -1 : 0;
}

/* Type the text, then each key as the program's modes want it (scr_key). */
static int tool_keys_type(struct shell *sh, const struct args *a)
{
	char seq[SSHMCP_SCR_KEY_MAX + 1];
	int k, n;

	if (a->v->text != NULL && shell_type_input(sh, a->v->text, strlen(a->v->text)) < 0)
		return -1;
	for (k = 0; k < a->v->nskeys; k++)
		if ((n = scr_key(&sh->scr, a->v->skeys[k], seq, sizeof(seq))) < 0 ||
		    shell_type_input(sh, seq, (size_t)n) < 0)
			return -1;
	return 0;
}

static void tool_send_keys(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct cmd *c = tool_cmd(srv, a);
	long wait = a->v->wait >= 0 ? a->v->wait : SSHMCP_SCR_WAIT_DEFAULT_S;
	struct waiter *wt;
	regex_t re;
	int has_re = a->v->wait_for[0] != '\0', rc;

	if (c == NULL || tool_keys_allowed(srv, id, c, a) < 0)
		goto fail;
	if (has_re && (rc = regcomp(&re, a->v->wait_for, REG_EXTENDED | REG_NOSUB)) != 0) {
		char why[128];

		(void)regerror(rc, NULL, why, sizeof(why));
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'wait_for' is not an extended regular "
		    "expression (%s); nothing was typed", why);
		goto fail;
	}
	if ((a->v->cols > 0 || a->v->rows > 0) && shell_resize(c->sh, a->v->cols > 0 ?
	    (int)a->v->cols : c->sh->job.cols, a->v->rows > 0 ? (int)a->v->rows :
	    c->sh->job.rows) < 0) {
		err_set(a->e, SSHMCP_ERR_NOMEM, "out of memory for a %ldx%ld screen", a->v->cols,
		    a->v->rows);
		if (has_re)
			regfree(&re);
		goto fail;
	}
	tool_input_audit(srv, id, c, a, "input");
	if (tool_keys_type(c->sh, a) < 0) {
		err_set(a->e, SSHMCP_ERR_BUSY, "input buffer full");
		if (has_re)
			regfree(&re);
		goto fail;
	}
	if (c->status == CMD_AWAITING) {
		c->status = CMD_RUNNING;    /* the question was answered: look again after output */
		c->prompt[0] = '\0';
	}
	wt = srv_wait_slot(srv, id, c, now + wait * 1000, 0, 0, 1, progress);
	if (wt == NULL) {
		mcp_reply_screen(srv, id, c->sh, c, has_re ? mcp_screen_match(c->sh, &re) : -1);
		if (has_re)
			regfree(&re);
		return;
	}
	wt->screen = 1;
	wt->sh = c->sh;
	wt->sent_at = now;
	wt->gen = c->sh->scr.gen;
	wt->alt0 = c->sh->scr.alt;
	wt->has_re = has_re;
	if (has_re)
		wt->re = re;
	return;
fail:
	mcp_reply_err(srv, id, a->e);
}

/* Listings are bounded (commands by the history, sessions by MaxSessions): each entry
 * takes at most this much JSON (a 200-byte command escaped, names, numbers). */
#define TOOL_LIST_ENTRY 2048
#define TOOL_LIST_BUF(n) ((size_t)(n) * TOOL_LIST_ENTRY + 4096)

/* --------------------------------------------------- lists and closing --- */

static void tool_list_commands(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	char red[SSHMCP_LINE_MAX], *buf = malloc(TOOL_LIST_BUF(srv->nhist));
	const char *host = a->v->host;
	int i;
	struct jw w;

	(void)progress;
	if (buf == NULL) {
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	jw_init(&w, buf, TOOL_LIST_BUF(srv->nhist));
	jw_obj_begin(&w);
	jw_karr_begin(&w, "commands");
	for (i = srv->nhist - 1; i >= 0; i--) {
		const struct cmd *c = srv->hist[i];

		if ((host[0] != '\0' && strcmp(host, c->host) != 0) ||
		    (a->v->running_only && c->status > CMD_AWAITING))
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
		jw_kcstr(&w, "device_type", sh->dv != NULL ? sh->dv->prof->name : "linux");
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

static void tool_files_reply(struct server *srv, struct shell *sh);
static int tool_sudo_cmd(struct server *srv, struct shell *sh, struct fop *op, struct err *e,
    int64_t now);

/* Close a session now: its running command ends as interrupted. */
static void tool_shell_close(struct server *srv, struct shell *sh, int64_t now)
{
	if (sh->cur != NULL && sh->cur->stop == 0)
		sh->cur->stop = CMD_INTERRUPTED;
	if (sh->st != SH_CLOSED) {
		sess_abort(&sh->s, SSHMCP_ERR_SESSION_LOST, "closed by request");
		shell_end(sh, now);
	}
	tool_files_reply(srv, sh);
	srv_shell_remove(srv, sh);
}

static void tool_close(struct server *srv, const char *id, const struct args *a, int all,
    int64_t now)
{
	const char *host = a->v->host, *name = a->v->session;
	char out[64];
	int i, n = 0;

	for (i = srv->nshells - 1; i >= 0; i--) {
		struct shell *sh = srv->shells[i];

		if (all || (strcmp(sh->alias, host) == 0 && strcmp(sh->name, name) == 0)) {
			tool_shell_close(srv, sh, now);
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

/* Why a sudo file command failed, from what it printed: one typed line. */
static void tool_sudo_error(struct fop *op, const char *out)
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
static void tool_sudo_finish(struct fop *op)
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
		tool_sudo_error(op, out);
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
	/* The staged upload goes whatever the command did (its own rm may not have run:
	 * interrupted, timed out): SFTP removes it, as the user who made it. */
	op->step = op->staged && op->tmp[0] != '\0' ? FOP_UNLINK : FOP_DONE;
	op->deadline = time_ms() + SSHMCP_CLOSE_GRACE_MS;
}

/* A sudo operation whose command asks for a password it was not given cannot go on. */
static void tool_sudo_check(struct fop *op, int64_t now)
{
	struct cmd *c = op->cmd;

	if (c->status == CMD_AWAITING && c->sh != NULL) {
		err_set(&op->err, SSHMCP_ERR_PERMISSION, "sudo asked for a password: pass the right "
		    "sudo_password (prompt: %.80s)", c->prompt);
		shell_interrupt(c->sh, c, CMD_FAILED, now);
	}
	if (c->status >= CMD_COMPLETED)
		tool_sudo_finish(op);
}

/* A file operation's audit record ("read_file PATH"); `what` holds its text. */
static struct audit_rec tool_file_audit_rec(const struct fop *op, const struct shell *sh,
    char *what, size_t cap, const char *status)
{
	(void)str_fmt(what, cap, "%s %s", op->kind == FOP_READ ? "read_file" : "write_file",
	    op->path);
	return (struct audit_rec){ .req = op->id, .host = sh->alias, .user = sh->s.t.user,
		.session = sh->name, .command = what, .status = status, .bytes = op->done };
}

/* Answer and drop the finished file operations of a session, in order. */
static void tool_files_reply(struct server *srv, struct shell *sh)
{
	struct fop *op;
	int64_t now = time_ms();

	for (op = sh->fops; op != NULL; op = op->next) {
		if (op->step == FOP_STAGED) {
			if (tool_sudo_cmd(srv, sh, op, &op->err, now) < 0)
				op->step = FOP_DONE;
			else    /* typed after this round's step: send it now, not on the next input */
				sess_step(&sh->s, now);
		}
		if (op->step == FOP_SHELL) {
			tool_sudo_check(op, now);
			if (op->step == FOP_UNLINK)     /* send the removal now, not at the deadline */
				shell_files(sh, now);
		}
	}
	while (sh->fops != NULL && sh->fops->step == FOP_DONE) {
		char what[SSHMCP_PATH_MAX + 16];
		struct audit_rec r;

		op = sh->fops;
		sh->fops = op->next;
		r = tool_file_audit_rec(op, sh, what, sizeof(what), op->err.code != SSHMCP_OK ? "failed" :
		    "completed");
		(void)audit_write(&srv->audit, &srv->rd, &r);
		mcp_reply_file(srv, op);
		fop_free(op);
	}
}

/* Shell single quotes: 'it'\''s' — nothing inside is interpreted. */
static int tool_sudo_quote(const char *in, char *out, size_t cap)
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
static int tool_sudo_read_cmd(const struct fop *op, char *out, size_t cap)
{
	char q[2 * SSHMCP_PATH_MAX + 8];

	if (tool_sudo_quote(op->path, q, sizeof(q)) < 0)
		return -1;
	return str_fmt(out, cap, "sudo -- sh -c 'if [ -d \"$1\" ]; "
	    "then echo __SSHMCP_ISDIR__; exit 3; fi; s=$(stat -L -c \"%%s %%a\" -- \"$1\") || "
	    "exit 4; echo \"__SSHMCP_FILE__ $s\"; tail -c +\"$2\" -- \"$1\" | head -c \"$3\" | "
	    "base64' sshmcp %s %llu %zu", q, (unsigned long long)op->offset + 1, op->len);
}

/* sudo write: the content went up by SFTP into a private temp file (0600, ours); sudo
 * installs it beside the target and renames it over (or appends it); the temp file goes
 * whatever happens. Paths travel as quoted positional parameters. */
static int tool_sudo_write_cmd(const struct fop *op, char *out, size_t cap)
{
	char q[2 * SSHMCP_PATH_MAX + 8], t[2 * SSHMCP_PATH_MAX + 8], mode[8] = "";

	if (tool_sudo_quote(op->path, q, sizeof(q)) < 0 || tool_sudo_quote(op->tmp, t, sizeof(t)) < 0)
		return -1;
	if (op->mode_given)
		(void)str_fmt(mode, sizeof(mode), "%lo", op->mode);
	return str_fmt(out, cap, "( sudo -- sh -c '[ \"$4\" = 1 ] && "
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
static int tool_sudo_cmd(struct server *srv, struct shell *sh, struct fop *op, struct err *e,
    int64_t now)
{
	char text[6 * SSHMCP_PATH_MAX];

	if ((op->kind == FOP_READ ? tool_sudo_read_cmd(op, text, sizeof(text)) :
	    tool_sudo_write_cmd(op, text, sizeof(text))) < 0) {
		err_set(e, SSHMCP_ERR_USAGE, "path too long");
		return -1;
	}
	if ((op->cmd = srv_cmd_new(srv, sh, op->id, text, SSHMCP_TIMEOUT_DEFAULT_S, 0, e, now)) == NULL)
		return -1;
	(void)str_copy(op->cmd->sudo_pw, sizeof(op->cmd->sudo_pw), op->sudo_pw);
	mask_add(&sh->mask, op->sudo_pw);
	mem_wipe(op->sudo_pw, sizeof(op->sudo_pw));
	op->cmd->refs++;
	op->step = FOP_SHELL;
	return 0;
}

/* sudo: reads run as one shell command; writes first upload to a private temp file. */
static int tool_sudo_start(struct server *srv, struct shell *sh, const struct args *a,
    struct fop *op, int64_t now)
{
	unsigned char rnd[8];

	(void)str_copy(op->sudo_pw, sizeof(op->sudo_pw), a->v->sudo_password);
	if (op->kind == FOP_READ) {
		if (op->len > SSHMCP_SUDO_READ_MAX)
			op->len = SSHMCP_SUDO_READ_MAX;     /* its base64 must fit a command's ring */
		return tool_sudo_cmd(srv, sh, op, a->e, now);
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
	char what[SSHMCP_PATH_MAX + 16];
	struct audit_rec r;
	struct shell *sh;
	struct fop **tail;

	if ((sh = tool_shell(srv, a, now)) == NULL) {
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	(void)str_copy(op->id, sizeof(op->id), id);
	r = tool_file_audit_rec(op, sh, what, sizeof(what), "started");
	if (audit_write(&srv->audit, &srv->rd, &r) < 0) {
		err_set(a->e, SSHMCP_ERR_IO, "the audit file cannot be written: nothing was done");
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	if (a->v->sudo && tool_sudo_start(srv, sh, a, op, now) < 0) {
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	op->deadline = now + (int64_t)SSHMCP_TIMEOUT_DEFAULT_S * 1000;
	for (tail = &sh->fops; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = op;
	sh->kick = 1;
}

static void tool_read_file(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct fop *op = calloc(1, sizeof(*op));

	(void)progress;
	if (op == NULL) {
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}
	op->kind = FOP_READ;
	op->step = FOP_OPEN;
	(void)str_copy(op->path, sizeof(op->path), a->v->path);
	op->offset = a->v->offset;
	op->len = (size_t)a->v->length;
	tool_file_queue(srv, id, a, op, now);
}

/* `mode` as "0644"/"644" or a number (420). */

/* The content to write: utf8 as it is, base64 decoded (in place, it only shrinks). */
static int tool_file_content(const struct args *a, struct fop *op)
{
	size_t n = a->v->content_len;

	if ((op->data = malloc(n + 1)) == NULL) {
		err_set(a->e, SSHMCP_ERR_NOMEM, "out of memory");
		return -1;
	}
	memcpy(op->data, a->v->content, n);
	op->len = n;
	if (strcmp(a->v->encoding, "base64") == 0 &&
	    b64_decode((char *)op->data, n, op->data, n, &op->len) < 0) {
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'content' is not valid base64");
		return -1;
	}
	op->mode = a->v->mode >= 0 ? (unsigned long)a->v->mode : 0;
	op->mode_given = a->v->mode >= 0;
	op->append = a->v->append;
	op->create_dirs = a->v->create_dirs;
	return 0;
}

/* Files a shell, a login or sshd reads and runs at start, and the dotfile directories
 * that hold them: under a command policy, write_file must not put commands there (the
 * next session would run them unchecked). */
static const char *const tool_startup_names[] = {
	".profile", ".bash_profile", ".bash_login", ".bashrc", ".bash_logout", ".bash_aliases",
	".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout", ".kshrc", ".mkshrc", ".cshrc",
	".tcshrc", ".login", ".logout", ".inputrc", ".exrc", ".vimrc", ".pam_environment",
	".xprofile", ".xsession", ".xsessionrc", ".gitconfig", ".curlrc", ".wgetrc", NULL,
};

static const char *const tool_startup_dirs[] = {
	"/.ssh/", "/.config/fish/", "/.config/git/", "/etc/profile", "/etc/bash", "/etc/zsh",
	"/etc/environment", "/etc/ssh/", "/etc/sudoers", "/etc/ld.so.", "/etc/pam", NULL,
};

/* write_file under a command policy: no login or startup file, and no append (it would
 * follow a link the agent made to one; a plain write replaces the link instead). */
static int tool_write_guard(const struct targs *v, struct err *e)
{
	const char *base = strrchr(v->path, '/'), *const *p;
	char abs[SSHMCP_PATH_MAX + 2];

	base = base != NULL ? base + 1 : v->path;
	(void)str_fmt(abs, sizeof(abs), "%s%s", v->path[0] == '/' ? "" : "/", v->path);
	for (p = tool_startup_dirs; *p != NULL; p++)
		if (strstr(abs, *p) != NULL)
			break;
	if (pol_is(base, tool_startup_names) || *p != NULL)
		err_set(e, SSHMCP_ERR_POLICY, "refused: write_file to %s, a file a shell or login "
		    "runs, under a command policy", v->path);
	else if (v->append)
		err_set(e, SSHMCP_ERR_POLICY, "refused: write_file with append under a command "
		    "policy (a link could lead it to a login file)");
	else
		return 0;
	return -1;
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
	if (pol_commands(&srv->pol) && tool_write_guard(a->v, a->e) < 0) {
		srv_audit_refusal(srv, id, a, "write_file");
		mcp_reply_err(srv, id, a->e);
		fop_free(op);
		return;
	}
	(void)str_copy(op->path, sizeof(op->path), a->v->path);
	if (tool_file_content(a, op) < 0 || getentropy(rnd, 4) < 0) {
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

/* --------------------------------------------------------------- hosts --- */

/* hosts: ["a", "web[1-3]"] or "a,web[1-3]". */
static int tool_hosts(const struct args *a, char **names)
{
	int t = a->v->hosts, k, n = 0, got, i;
	char spec[SSHMCP_LINE_MAX];
	const char *why;

	for (k = json_type(a->d, t) == JSON_STRING ? t : json_child(a->d, t); k >= 0;
	    k = k == t ? -1 : json_next(a->d, t, k)) {
		if (json_type(a->d, k) != JSON_STRING || json_str(a->d, k, spec, sizeof(spec), NULL) < 0 ||
		    (got = hl_expand(spec, names + n, SSHMCP_FAN_HOSTS_MAX - n, a->e)) < 0) {
			err_set(a->e, SSHMCP_ERR_USAGE, "argument 'hosts' has a bad entry");
			goto fail;
		}
		n += got;
	}
	for (i = 0; i < n; i++)                 /* names as execute_command takes them */
		if ((why = name_host_bad(names[i])) != NULL) {
			err_set(a->e, SSHMCP_ERR_USAGE, "argument 'hosts': '%.64s': %s", names[i], why);
			goto fail;
		}
	if (n == 0)
		err_set(a->e, SSHMCP_ERR_USAGE, "argument 'hosts' is empty");
	return n > 0 ? n : -1;
fail:
	while (n > 0)
		free(names[--n]);
	return -1;
}

static void tool_execute_on_hosts(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now)
{
	struct srv_fan *sf = calloc(1, sizeof(*sf));
	int i, slot, n, held;

	for (slot = 0; slot < SSHMCP_FANS_MAX && srv->fans[slot] != NULL; slot++)
		;
	if (sf == NULL || slot == SSHMCP_FANS_MAX) {
		err_set(a->e, SSHMCP_ERR_BUSY, "%d execute_on_hosts calls are already running",
		    SSHMCP_FANS_MAX);
		goto fail;
	}
	if ((sf->command = strdup(a->v->command)) == NULL || (n = tool_hosts(a, sf->names)) < 0)
		goto fail;
	sf->f.n = n;
	if ((held = srv_authorize(srv, id, a, sf->command, now)) != 0) {
		if (held < 0)
			goto fail;
		for (i = 0; i < n; i++)          /* answered when the person decides */
			free(sf->names[i]);
		sf->f.n = 0;
		srv_fan_free(sf);
		return;
	}
	sf->job = (struct job){ .command = sf->command, .timeout_s = (int)a->v->timeout };
	sf->f = (struct fan){ .job = &sf->job, .log = &srv->log, .resolve = srv_resolve, .ctx = srv,
		.audit = &srv->audit, .rd = &srv->rd, .req = sf->id, .approved = srv->approving,
		.room = srv_fan_room, .t0 = now, .pol = &srv->pol, .collect = 1, .n = n,
		.max = (int)a->v->max_parallel, .h = calloc((size_t)n, sizeof(struct fan_host)) };
	if (sf->f.h == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		(void)str_copy(sf->f.h[i].name, sizeof(sf->f.h[i].name), sf->names[i]);
	(void)str_copy(sf->id, sizeof(sf->id), id);
	(void)str_copy(sf->progress, sizeof(sf->progress), progress);
	sf->max_bytes = a->v->max_bytes > 0 ? (size_t)a->v->max_bytes : 16384;
	srv->fans[slot] = sf;
	fan_step(&sf->f, now);
	return;
fail:
	mcp_reply_err(srv, id, a->e);
	srv_fan_free(sf);
}

/* ---------------------------------------------------------- tool table --- */

/* outputSchema is written from rows too: a result's fields and their JSON types. */
enum out_kind { OUT_STR, OUT_INT, OUT_BOOL, OUT_OBJ, OUT_ARR, OUT_LINES, OUT_INT_NULL,
	OUT_STR_NULL, OUT_STATUS, OUT_ENCODING };

struct out_row {
	const char *name;
	enum out_kind kind;
};

static const struct out_row out_result[] = {
	{ "command_id", OUT_STR }, { "host", OUT_STR }, { "session", OUT_STR },
	{ "status", OUT_STATUS }, { "exit_code", OUT_INT_NULL }, { "output", OUT_STR },
	{ "offset", OUT_INT }, { "next_offset", OUT_INT }, { "total_bytes", OUT_INT },
	{ "dropped_bytes", OUT_INT }, { "truncated", OUT_BOOL }, { "prompt", OUT_STR_NULL },
	{ "mode", OUT_STR }, { "duration_ms", OUT_INT }, { "screen", OUT_OBJ },
	{ "error", OUT_OBJ }, { NULL, OUT_STR } };
static const struct out_row out_screen[] = {
	{ "command_id", OUT_STR }, { "status", OUT_STATUS }, { "exit_code", OUT_INT_NULL },
	{ "host", OUT_STR }, { "session", OUT_STR }, { "rows", OUT_LINES },
	{ "cursor", OUT_OBJ }, { "cols", OUT_INT }, { "lines", OUT_INT },
	{ "alternate", OUT_BOOL }, { "title", OUT_STR }, { "changed", OUT_BOOL },
	{ "wait_for_matched", OUT_BOOL }, { "error", OUT_OBJ }, { NULL, OUT_STR } };
static const struct out_row out_file_read[] = {
	{ "path", OUT_STR }, { "content", OUT_STR }, { "encoding", OUT_ENCODING },
	{ "offset", OUT_INT }, { "length", OUT_INT }, { "size", OUT_INT }, { "mode", OUT_STR },
	{ "truncated", OUT_BOOL }, { "error", OUT_OBJ }, { NULL, OUT_STR } };
static const struct out_row out_file_write[] = {
	{ "path", OUT_STR }, { "bytes_written", OUT_INT }, { "mode", OUT_STR },
	{ "error", OUT_OBJ }, { NULL, OUT_STR } };
static const struct out_row out_fan[] = {
	{ "results", OUT_ARR }, { "hosts", OUT_INT }, { "failed", OUT_INT },
	{ "error", OUT_OBJ }, { NULL, OUT_STR } };
static const struct out_row out_commands[] = {
	{ "commands", OUT_ARR }, { "error", OUT_OBJ }, { NULL, OUT_STR } };
static const struct out_row out_sessions[] = {
	{ "sessions", OUT_ARR }, { "error", OUT_OBJ }, { NULL, OUT_STR } };
static const struct out_row out_closed[] = { { "closed", OUT_INT }, { NULL, OUT_STR } };

/* outputSchema, from the rows; a status lists what cmd_status_names can say. */
static void out_schema(struct jw *w, const struct out_row *r)
{
	static const char *const types[] = { [OUT_STR] = "\"string\"",
		[OUT_INT] = "\"integer\"", [OUT_BOOL] = "\"boolean\"", [OUT_OBJ] = "\"object\"",
		[OUT_ARR] = "\"array\"", [OUT_LINES] = "\"array\"",
		[OUT_INT_NULL] = "[\"integer\",\"null\"]", [OUT_STR_NULL] = "[\"string\",\"null\"]",
		[OUT_STATUS] = "\"string\"", [OUT_ENCODING] = "\"string\"" };
	const char *const *en;
	int st;

	jw_obj_begin(w);
	jw_kcstr(w, "type", "object");
	jw_kobj_begin(w, "properties");
	for (; r->name != NULL; r++) {
		jw_kobj_begin(w, r->name);
		jw_kraw(w, "type", types[r->kind], strlen(types[r->kind]));
		if (r->kind == OUT_LINES) {
			jw_kobj_begin(w, "items");
			jw_kcstr(w, "type", "string");
			jw_obj_end(w);
		} else if (r->kind == OUT_STATUS) {
			jw_karr_begin(w, "enum");
			for (st = CMD_RUNNING; st <= CMD_FAILED; st++)
				jw_cstr(w, cmd_status_names[st]);
			jw_arr_end(w);
		} else if (r->kind == OUT_ENCODING) {
			jw_karr_begin(w, "enum");
			for (en = arg_encodings; *en != NULL; en++)
				jw_cstr(w, *en);
			jw_arr_end(w);
		}
		jw_obj_end(w);
	}
	jw_obj_end(w);
	jw_obj_end(w);
}

/* MCP's tool annotations; every tool reaches hosts outside the server (openWorldHint). */
enum { ANN_RO = 1, ANN_DESTRUCTIVE = 2, ANN_IDEMPOTENT = 4 };

static void out_annotations(struct jw *w, unsigned ann)
{
	jw_obj_begin(w);
	jw_kbool(w, "readOnlyHint", (ann & ANN_RO) != 0);
	jw_kbool(w, "destructiveHint", (ann & ANN_DESTRUCTIVE) != 0);
	jw_kbool(w, "idempotentHint", (ann & ANN_IDEMPOTENT) != 0);
	jw_kbool(w, "openWorldHint", 1);
	jw_obj_end(w);
}

typedef void (*tool_fn)(struct server *, const char *, const struct args *, const char *,
    int64_t);

static void tool_execute_on_hosts(struct server *srv, const char *id, const struct args *a,
    const char *progress, int64_t now);

/* The MCP surface, one row a tool: handler, description, arguments (arg_rows: inputSchema
 * and arg_parse come from them), result fields (outputSchema), annotations. */
static const struct tool {
	const char *name;
	tool_fn fn;
	const char *description;
	const struct arg_list *args;
	const struct out_row *out;
	unsigned ann;
} tools[] = {
	{ "execute_command", tool_execute_command,
	  "Run a command in a persistent PTY shell on the host (cd, export, su carry over). "
	  "Returns when it ends, asks for input (status awaiting_input with the prompt), or after "
	  "`wait` seconds (status running: read more with get_command_status).",
	  &args_exec, out_result, ANN_DESTRUCTIVE },
	{ "execute_command_async", tool_execute_async,
	  "Start a command in the session's shell and return its command_id at once.",
	  &args_async, out_result, ANN_DESTRUCTIVE },
	{ "get_command_status", tool_get_status,
	  "Status and output of a command from a byte offset; `wait` long-polls until it ends or "
	  "asks for input.", &args_status, out_result, ANN_RO | ANN_IDEMPOTENT },
	{ "send_input", tool_send_input,
	  "Type into a running command: text (a newline follows unless newline is false) and/or "
	  "keys. secret: true keeps the text out of every log and result.",
	  &args_input, out_result, ANN_DESTRUCTIVE },
	{ "read_screen", tool_read_screen,
	  "The terminal screen of a command's session (or of host + session): rows of text, "
	  "cursor, size, alternate screen, title, and whether it changed since the last read. "
	  "Full-screen programs (vi, top, less, menus) return status screen.",
	  &args_read_screen, out_screen, ANN_RO | ANN_IDEMPOTENT },
	{ "send_keys", tool_send_keys,
	  "Type text and named keys (enter, esc, tab, backspace, arrows, home, end, pgup, pgdn, "
	  "f1-f12, ctrl-a..ctrl-z, alt-x) into a running full-screen program; returns the screen "
	  "once the program went quiet, or once a screen line matches wait_for (an ERE; "
	  "wait_for_matched false: it did not within wait). cols/rows resize its terminal first.",
	  &args_send_keys, out_screen, ANN_DESTRUCTIVE },
	{ "interrupt_command", tool_interrupt,
	  "Ctrl-C the command; if the shell does not come back within 2 s the session is closed "
	  "(and reopened on next use).", &args_id, out_result, ANN_DESTRUCTIVE | ANN_IDEMPOTENT },
	{ "read_file", tool_read_file,
	  "Read a file over SFTP: UTF-8 text as is, anything else base64; offset/length page "
	  "through big files (1 MiB per call at most).", &args_read, out_file_read,
	  ANN_RO | ANN_IDEMPOTENT },
	{ "write_file", tool_write_file,
	  "Write a file over SFTP, atomically (a temp file beside it, then rename); content as "
	  "utf8 or base64; mode, append, create_dirs.", &args_write, out_file_write,
	  ANN_DESTRUCTIVE | ANN_IDEMPOTENT },
	{ "execute_on_hosts", tool_execute_on_hosts,
	  "Run one command on many hosts at once (exec channels, no shared shell state); one "
	  "result per host. hosts: a list, or a host list like \"web[01-20],db1\".",
	  &args_fan, out_fan, ANN_DESTRUCTIVE },
	{ "list_commands", tool_list_commands, "Running and recent commands (newest first).",
	  &args_list, out_commands, ANN_RO | ANN_IDEMPOTENT },
	{ "list_sessions", tool_list_sessions, "Open shell sessions.", &args_none,
	  out_sessions, ANN_RO | ANN_IDEMPOTENT },
	{ "close_session", tool_close_session, "Close a host's session (default \"default\").",
	  &args_close, out_closed, ANN_DESTRUCTIVE | ANN_IDEMPOTENT },
	{ "close_all_sessions", tool_close_all, "Close every session.", &args_none, out_closed,
	  ANN_DESTRUCTIVE | ANN_IDEMPOTENT },
};

/* ========================================================= MCP methods === */

static void rpc_initialize(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now)
{
	const char *ver = mcp_versions[0];
	int t = params >= 0 ? json_get(d, params, "protocolVersion") : -1, i;
	struct jw w;

	(void)now;
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
	srv->initialized = 1;
}

static void rpc_ping(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now)
{
	struct jw w;

	(void)d, (void)params, (void)now;
	if (mcp_resp_begin(srv, &w, 0) < 0)
		return;
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

static void rpc_tools_list(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now)
{
	struct jw w;
	size_t i;

	(void)d, (void)params, (void)now;
	if (mcp_resp_begin(srv, &w, 16384) < 0)
		return;
	mcp_result_open(&w, id);
	jw_obj_begin(&w);
	jw_karr_begin(&w, "tools");
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		jw_obj_begin(&w);
		jw_kcstr(&w, "name", tools[i].name);
		jw_kcstr(&w, "description", tools[i].description);
		jw_key(&w, "inputSchema");
		arg_schema(&w, tools[i].args, &srv->pol);
		jw_key(&w, "outputSchema");
		out_schema(&w, tools[i].out);
		jw_key(&w, "annotations");
		out_annotations(&w, tools[i].ann);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	mcp_resp_send(srv, &w);
}

static void rpc_tools_call(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now)
{
	struct err e = { .code = SSHMCP_OK };
	struct targs *v = calloc(1, sizeof(*v));
	struct args a = { .d = d, .v = v, .e = &e };
	char progress[128] = "";
	int name = params >= 0 ? json_get(d, params, "name") : -1, meta, pt, obj;
	size_t i;

	if (v == NULL) {
		mcp_error(srv, id, RPC_INTERNAL, "out of memory");
		return;
	}

	for (i = 0; name >= 0 && i < sizeof(tools) / sizeof(tools[0]); i++)
		if (json_streq(d, name, tools[i].name))
			break;
	obj = params >= 0 ? json_get(d, params, "arguments") : -1;
	if (name < 0 || i == sizeof(tools) / sizeof(tools[0]))
		mcp_error(srv, id, RPC_PARAMS, name < 0 ? "tools/call needs params.name" :
		    "unknown tool");
	else if (obj >= 0 && json_type(d, obj) != JSON_OBJECT && json_type(d, obj) != JSON_NULL)
		mcp_error(srv, id, RPC_PARAMS, "params.arguments must be an object");
	else if (arg_parse(tools[i].args, d, json_type(d, obj) == JSON_OBJECT ? obj : -1,
	    &srv->pol, v, &e) < 0)
		mcp_reply_err(srv, id, &e);         /* a tool error: the agent can correct it */
	else {
		meta = json_get(d, params, "_meta");
		pt = meta >= 0 ? json_get(d, meta, "progressToken") : -1;
		if (pt >= 0 && (json_type(d, pt) == JSON_STRING || json_type(d, pt) == JSON_NUMBER))
			(void)mcp_raw(d, pt, progress, sizeof(progress));
		tools[i].fn(srv, id, &a, progress, now);
	}
	arg_release(v);
	free(v);
}

/* notifications/cancelled: drop the waiting request and interrupt its command. */
static void rpc_cancelled(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now)
{
	char rid[128];
	int t = params >= 0 ? json_get(d, params, "requestId") : -1, i;

	(void)id;
	if (t < 0 || mcp_raw(d, t, rid, sizeof(rid)) < 0)
		return;
	for (i = 0; i < SSHMCP_WAITERS_MAX; i++) {
		struct waiter *wt = &srv->wait[i];

		if (!wt->active || strcmp(wt->id, rid) != 0)
			continue;
		if (wt->cmd->sh != NULL && wt->cmd->status <= CMD_AWAITING)
			shell_interrupt(wt->cmd->sh, wt->cmd, CMD_INTERRUPTED, now);
		srv_wait_end(wt);
	}
}

static void rpc_set_level(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now)
{
	int t = params >= 0 ? json_get(d, params, "level") : -1, lv = t >= 0 ? mcp_level(d, t) : -1;

	(void)now;
	if (lv < 0) {
		mcp_error(srv, id, RPC_PARAMS, "unknown logging level");
		return;
	}
	srv->mcp_level = lv;
	rpc_ping(srv, d, params, id, now);      /* the same empty result */
}

/* The methods: a notification (no id) gets no answer; before initialize only the
 * lifecycle's own methods run. */
#define MM_NOTIFY  1u
#define MM_ANYTIME 2u
typedef void (*mcp_fn)(struct server *srv, const struct json_doc *d, int params,
    const char *id, int64_t now);
static const struct { const char *name; unsigned flags; mcp_fn fn; } rpc_methods[] = {
	{ "initialize", MM_ANYTIME, rpc_initialize },
	{ "ping", MM_ANYTIME, rpc_ping },
	{ "tools/list", 0, rpc_tools_list },
	{ "tools/call", 0, rpc_tools_call },
	{ "logging/setLevel", 0, rpc_set_level },
	{ "notifications/cancelled", MM_NOTIFY, rpc_cancelled },
};

static void rpc_response(struct server *srv, const struct json_doc *d, const char *id)
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
			srv->shells[i]->kick = 1;   /* the handshake waits on this */
		}
	srv_approval_answer(srv, d, id, time_ms());
}

/* One request or notification, already parsed. */
static void rpc_dispatch(struct server *srv, const struct json_doc *d, int64_t now)
{
	char id[128] = "null";
	size_t i;
	int jv = json_get(d, 0, "jsonrpc"), m = json_get(d, 0, "method");
	int idt = json_get(d, 0, "id"), params = json_get(d, 0, "params");

	static const char *const top[] = { "jsonrpc", "id", "method", "params", "result", "error",
		NULL }, *const par[] = { "name", "arguments", "_meta", "requestId", "reason",
		"protocolVersion", "capabilities", "clientInfo", "level", NULL },
		*const meta[] = { "progressToken", NULL };
	int mt = params >= 0 && json_type(d, params) == JSON_OBJECT ? json_get(d, params, "_meta") : -1;
	const char *twice = json_twice(d, 0, top);

	if (idt >= 0 && (json_type(d, idt) == JSON_STRING || json_type(d, idt) == JSON_NUMBER))
		(void)mcp_raw(d, idt, id, sizeof(id));
	if (twice == NULL && params >= 0 && json_type(d, params) == JSON_OBJECT)
		twice = json_twice(d, params, par);
	if (twice == NULL && mt >= 0 && json_type(d, mt) == JSON_OBJECT)
		twice = json_twice(d, mt, meta);
	if (twice != NULL) {
		char msg[96];

		(void)str_fmt(msg, sizeof(msg), "invalid request: the key '%s' given twice", twice);
		mcp_error(srv, idt >= 0 && strcmp(id, "null") != 0 ? id : NULL, RPC_INVALID, msg);
		return;
	}
	if (m < 0 && idt >= 0 && jv >= 0 && (json_get(d, 0, "result") >= 0 ||
	    json_get(d, 0, "error") >= 0)) {
		rpc_response(srv, d, id);       /* the client answering us */
		return;
	}
	if (jv < 0 || !json_streq(d, jv, "2.0") || m < 0 || json_type(d, m) != JSON_STRING ||
	    (idt >= 0 && strcmp(id, "null") == 0) ||
	    (params >= 0 && json_type(d, params) != JSON_OBJECT)) {
		if (idt >= 0 || m < 0)
			mcp_error(srv, idt >= 0 ? id : NULL, RPC_INVALID, "invalid JSON-RPC request");
		return;
	}
	for (i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]); i++)
		if (json_streq(d, m, rpc_methods[i].name))
			break;
	if (idt < 0) {                                  /* notifications get no answer */
		if (i < sizeof(rpc_methods) / sizeof(rpc_methods[0]) &&
		    (rpc_methods[i].flags & MM_NOTIFY))
			rpc_methods[i].fn(srv, d, params, NULL, now);
	} else if (i == sizeof(rpc_methods) / sizeof(rpc_methods[0]) ||
	    (rpc_methods[i].flags & MM_NOTIFY))
		mcp_error(srv, id, RPC_METHOD, "method not found");
	else if (!srv->initialized && !(rpc_methods[i].flags & MM_ANYTIME))
		mcp_error(srv, id, RPC_NOT_INITIALIZED, "not initialized: send initialize first");
	else
		rpc_methods[i].fn(srv, d, params, id, now);
}

/* One line from stdin: parse strictly, then dispatch. */
static void rpc_line(struct server *srv, const char *line, size_t n, int64_t now)
{
	struct json_doc d;
	int rc;

	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	srv->msg = line;                    /* a held approval keeps a copy */
	srv->msglen = n;
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
	rpc_dispatch(srv, &d, now);
}

/* ========================================================== forwarding === */

/*
 * exec's -W, -L, -R and -D, in the one poll loop. With -N or -W the session stops at READY
 * (authenticated, no channel of its own, as a jump host does); with a command the
 * forwardings run beside it. Each forwarded connection is a struct fwd_conn: a local socket
 * (stdin and stdout for -W), a libssh2 channel, and a bounded ring each way. libssh2 keeps
 * the state of one direct-tcpip or tcpip-forward request per session, so those go out one
 * at a time: a connection waits in FC_QUEUED until no other one is opening.
 */
enum fwd_cstate {
	FC_SOCKS,        /* -D: reading the SOCKS4/4a/5 request */
	FC_QUEUED,       /* waiting to open its direct-tcpip channel */
	FC_OPENING,      /* direct-tcpip sent, libssh2 said EAGAIN */
	FC_CONNECT,      /* -R: our connect() to the local target is in progress */
	FC_OPEN,         /* moving bytes */
	FC_CLOSING,      /* channel close sent, waiting for the server's */
	FC_DONE          /* freed at the end of the turn */
};

struct fwd_spec {
	char kind;                      /* 'L', 'R', 'D', 'W' */
	char bind[SSHMCP_HOST_MAX];     /* listen address as given; "" when none was */
	int bind_set;
	int bport;
	char host[SSHMCP_HOST_MAX];     /* where connections go (L, R, W) */
	int hport;
	int bunix, hunix;               /* bind, host: a Unix socket's path (port 0) */
};

struct fwd_listen {                 /* -L/-D: a local socket; -R: the server's listener */
	const struct fwd_spec *spec;
	int fd;
	short rev;
	LIBSSH2_LISTENER *rl;
	int rport;                      /* -R: the port the server bound (port 0 asks for one) */
};

struct fwd_conn {
	enum fwd_cstate st;
	const struct fwd_spec *spec;
	int rfd, wfd;                   /* local ends: one socket, or stdin and stdout (-W) */
	short rrev, wrev;
	LIBSSH2_CHANNEL *ch;
	struct ring up, down;           /* local -> channel, channel -> local */
	char host[SSHMCP_HOST_MAX];     /* where the channel goes */
	int port;
	char orig[INET6_ADDRSTRLEN];    /* who connected, for the server's log */
	int oport;
	unsigned char socks[SSHMCP_SOCKS_MAX];
	size_t nsocks;
	int socks5_greeted;
	int l_eof, eof_sent, r_eof, wr_shut;
	int win_shut;                   /* the last write stopped at a closed window */
	int64_t close_deadline;
};

struct fwd {
	struct fwd_spec spec[SSHMCP_FWD_SPECS_MAX];
	int nspec;
	struct fwd_listen lis[SSHMCP_FWD_LISTEN_MAX];
	int nlis;
	int next_remote;                /* -R specs requested so far */
	struct fwd_conn *conn[SSHMCP_FWD_CONNS_MAX];
	int nconn;
	int started;                    /* listeners set up (after authentication) */
	int stdio;                      /* -W: the session ends with its connection */
	int exit_on_failure, gateway, stream_unlink;
	int link_hup;                   /* the server hung up while nobody read the session */
	int rx_news;                    /* fwd_step's reads took data: one more turn */
	const struct log *log;
};

/* Split "a:b:[v6]:d" at colons outside brackets, brackets dropped; the count, -1 if bad. */
static int fwd_split(const char *arg, char out[][SSHMCP_HOST_MAX], int max)
{
	int n = 0;

	for (;;) {
		const char *end;
		size_t len;

		if (n >= max)
			return -1;
		if (*arg == '[') {
			if ((end = strchr(arg, ']')) == NULL || (end[1] != ':' && end[1] != '\0'))
				return -1;
			len = (size_t)(end - arg - 1);
			arg++;
			end++;
		} else {
			end = arg + strcspn(arg, ":");
			len = (size_t)(end - arg);
		}
		if (len >= SSHMCP_HOST_MAX)
			return -1;
		memcpy(out[n], arg, len);
		out[n++][len] = '\0';
		if (*end == '\0')
			return n;
		arg = end + 1;
	}
}

static int fwd_port(const char *s, int *port, int zero_ok)
{
	long v;

	if (str_to_int(s, zero_ok ? 0 : 1, 65535, &v) < 0)
		return -1;
	*port = (int)v;
	return 0;
}

/* -L/-R with Unix sockets, as ssh's parse_forward: a field with a '/' is a path, for the
 * listener (first) or the target (last): path:host:port, [bind:]port:path, path:path.
 * 1 when the spec is one of those, 0 when it has no path, -1 when it is bad. */
static int fwd_parse_unix(char f[][SSHMCP_HOST_MAX], int n, struct fwd_spec *sp)
{
	int lp = strchr(f[0], '/') != NULL, cp = strchr(f[n - 1], '/') != NULL;

	if (!lp && !cp)
		return 0;
	if (n < 2 || n > 3 || (n == 3 && lp == cp) || (n == 2 && !cp) ||
	    strlen(f[0]) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    strlen(f[n - 1]) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	if (lp) {
		sp->bunix = sp->bind_set = 1;
		(void)str_copy(sp->bind, sizeof(sp->bind), f[0]);
	} else if ((n == 3 && str_copy(sp->bind, sizeof(sp->bind), f[0]) < 0) ||
	    fwd_port(f[n - 2], &sp->bport, sp->kind == 'R') < 0)
		return -1;
	sp->bind_set |= n == 3 && !lp;
	if (cp) {
		sp->hunix = 1;
		return str_copy(sp->host, sizeof(sp->host), f[n - 1]) < 0 ? -1 : 1;
	}
	return str_copy(sp->host, sizeof(sp->host), f[1]) < 0 || sp->host[0] == '\0' ||
	    fwd_port(f[2], &sp->hport, 0) < 0 ? -1 : 1;
}

/* -L/-R [bind:]port:host:hostport, -D [bind:]port, -W host:port, as ssh's parse_forward. */
static int fwd_parse(char kind, const char *arg, struct fwd_spec *sp)
{
	char f[4][SSHMCP_HOST_MAX];
	int n = fwd_split(arg, f, 4), b, u;

	memset(sp, 0, sizeof(*sp));
	sp->kind = kind;
	if (n > 0 && (kind == 'L' || kind == 'R') && (u = fwd_parse_unix(f, n, sp)) != 0)
		return u < 0 ? -1 : 0;
	if (kind == 'W')
		return n == 2 && f[0][0] != '\0' && fwd_port(f[1], &sp->hport, 0) == 0 ?
			str_copy(sp->host, sizeof(sp->host), f[0]) : -1;
	if (kind == 'D') {
		if (n < 1 || n > 2)
			return -1;
		b = n == 2;
	} else {
		if (n < 3 || n > 4)
			return -1;
		b = n == 4;
		if (str_copy(sp->host, sizeof(sp->host), f[n - 2]) < 0 || sp->host[0] == '\0' ||
		    fwd_port(f[n - 1], &sp->hport, 0) < 0)
			return -1;
	}
	sp->bind_set = b;
	if (b && str_copy(sp->bind, sizeof(sp->bind), f[0]) < 0)
		return -1;
	return fwd_port(f[b], &sp->bport, kind == 'R');
}

/* A forwarding in ssh -G's words: "localforward [bind]:port [host]:hostport". */
static int fwd_format(const struct fwd_spec *sp, char *out, size_t cap)
{
	char bind[SSHMCP_HOST_MAX + 4] = "";

	if (sp->bunix || sp->hunix)     /* ssh -G writes paths bare */
		return sp->bunix && sp->hunix ? str_fmt(out, cap, "%s %s", sp->bind, sp->host) :
			sp->bunix ? str_fmt(out, cap, "%s [%s]:%d", sp->bind, sp->host, sp->hport) :
			str_fmt(out, cap, "%s%s%s%d %s", sp->bind_set ? "[" : "",
			sp->bind_set ? sp->bind : "", sp->bind_set ? "]:" : "", sp->bport, sp->host);
	if (sp->bind_set && str_fmt(bind, sizeof(bind), "[%s]:", sp->bind) < 0)
		return -1;
	if (sp->kind == 'D')
		return str_fmt(out, cap, "%s%d", bind, sp->bport);
	return str_fmt(out, cap, "%s%d [%s]:%d", bind, sp->bport, sp->host, sp->hport);
}

static const char *fwd_kind_name(char kind)
{
	return kind == 'L' ? "local" : kind == 'R' ? "remote" : kind == 'D' ? "dynamic" : "stdio";
}

/* The agent socket -A/-a and ForwardAgent leave (t->fwd_agent, "" for none). */
static void fwd_agent_sock(const struct cli *c, struct target *t)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	struct stat st;

	if (c->Aflag == 'a')
		t->fwd_agent[0] = '\0';
	else if (c->Aflag == 'A' && t->fwd_agent[0] == '\0') {
		if (sock != NULL && stat(sock, &st) == 0)   /* no agent: nothing asked, as ssh */
			(void)str_copy(t->fwd_agent, sizeof(t->fwd_agent), sock);
	} else if (t->fwd_agent[0] != '\0' && stat(t->fwd_agent, &st) < 0)
		/* A configured path: ssh says so and asks all the same; the channels then fail. */
		log_msg(&c->log, LOG_ERROR, "Cannot forward agent socket path \"%s\": %s",
		    t->fwd_agent, strerror(errno));
}

/* Read the command line's forwardings; ClearAllForwardings drops -L/-R/-D (scp and sftp
 * pass it), never -W. */
static int fwd_init(struct cli *c, struct target *t, struct err *e)
{
	struct fwd *f;
	int i;

	fwd_agent_sock(c, t);
	c->job.agent = t->fwd_agent[0] != '\0' && !c->job.tunnel;
	if (c->nfwds == 0 && !c->Nflag && (t->nfwd == 0 || t->fwd_clear) && !c->job.agent)
		return 0;
	if ((f = c->fwd = calloc(1, sizeof(*f))) == NULL) {
		err_set(e, SSHMCP_ERR_NOMEM, "out of memory");
		return -1;
	}
	f->log = &c->log;
	f->exit_on_failure = t->fwd_exit_on_failure;
	f->gateway = c->gflag || t->gateway_ports;
	f->stream_unlink = t->stream_unlink;
	for (i = 0; i < c->nfwds; i++) {
		struct fwd_spec *sp = &f->spec[f->nspec];

		if (fwd_parse(c->fwds[i].kind, c->fwds[i].arg, sp) < 0) {
			err_set(e, SSHMCP_ERR_USAGE, "Bad %s forwarding specification '%s'",
			    fwd_kind_name(c->fwds[i].kind), c->fwds[i].arg);
			return -1;
		}
		if (sp->kind == 'W' && f->stdio) {
			err_set(e, SSHMCP_ERR_USAGE, "stdio forward already specified");
			return -1;
		}
		f->stdio |= sp->kind == 'W';
		if (sp->kind == 'W' || !t->fwd_clear)
			f->nspec++;
	}
	for (i = 0; i < t->nfwd && !t->fwd_clear && f->nspec < SSHMCP_FWD_SPECS_MAX; i++)
		if (fwd_parse(t->fwd[i][0], t->fwd[i] + 1, &f->spec[f->nspec++]) < 0) {
			err_set(e, SSHMCP_ERR_CONFIG, "Bad %s forwarding specification '%s'",
			    fwd_kind_name(t->fwd[i][0]), t->fwd[i] + 1);
			return -1;
		}
	/* -R beside a command: the server answers each request before the command runs, as
	 * it does for ssh (whose requests go before the session's); ExitOnForwardFailure then
	 * ends it with the command never started. */
	for (i = 0; i < f->nspec && !c->job.tunnel; i++)
		c->job.hold |= f->spec[i].kind == 'R';
	return 0;
}

/* Where -L/-D listen: ssh's rule (channel_fwd_bind_addr) for a client. NULL: everywhere. */
static const char *fwd_bind_host(const struct fwd *f, const struct fwd_spec *sp)
{
	if (!sp->bind_set)
		return f->gateway ? NULL : "localhost";
	if (sp->bind[0] == '\0' || strcmp(sp->bind, "*") == 0)
		return NULL;
	return sp->bind;
}

/* -L /path:...: a Unix socket listens there; StreamLocalBindUnlink removes what was left
 * at the path first (ssh's rule: without it, an existing file is an error). */
static int fwd_listen_unix(struct fwd *f, const struct fwd_spec *sp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (f->nlis >= SSHMCP_FWD_LISTEN_MAX || str_copy(sa.sun_path, sizeof(sa.sun_path),
	    sp->bind) < 0 || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -1;
	if (f->stream_unlink)
		(void)unlink(sp->bind);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, SSHMCP_FWD_BACKLOG) < 0) {
		log_msg(f->log, LOG_ERROR, "unix_listener: cannot bind to path %s: %s", sp->bind,
		    strerror(errno));
		close(fd);
		return -1;
	}
	f->lis[f->nlis++] = (struct fwd_listen){ .spec = sp, .fd = fd };
	log_msg(f->log, LOG_DEBUG1, "Local forwarding listening on path %s.", sp->bind);
	return 0;
}

/* One listening socket per address of the bind host; 0 when at least one is up. */
static int fwd_listen_local(struct fwd *f, const struct fwd_spec *sp)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai, *a;
	char port[8];
	int ok = 0, one = 1, rc;

	if (sp->bunix)
		return fwd_listen_unix(f, sp);
	(void)str_fmt(port, sizeof(port), "%d", sp->bport);
	if ((rc = getaddrinfo(fwd_bind_host(f, sp), port, &hints, &ai)) != 0) {
		log_msg(f->log, LOG_ERROR, "bind %s: %s", sp->bind, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL && f->nlis < SSHMCP_FWD_LISTEN_MAX; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		char addr[INET6_ADDRSTRLEN] = "?";

		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->ai_family == AF_INET6)   /* :: and 0.0.0.0 both, as ssh binds them */
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, SSHMCP_FWD_BACKLOG) < 0) {
			(void)getnameinfo(a->ai_addr, a->ai_addrlen, addr, sizeof(addr), NULL, 0,
			    NI_NUMERICHOST);
			log_msg(f->log, LOG_ERROR, "bind [%s]:%d: %s", addr, sp->bport, strerror(errno));
			close(fd);
			continue;
		}
		f->lis[f->nlis++] = (struct fwd_listen){ .spec = sp, .fd = fd };
		ok = 1;
		log_msg(f->log, LOG_DEBUG1, "Local %s forwarding listening on port %d.",
		    sp->kind == 'D' ? "dynamic" : "", sp->bport);
	}
	freeaddrinfo(ai);
	return ok ? 0 : -1;
}

/* A -R the server refused: a warning, or the end with ExitOnForwardFailure. */
static int fwd_failed(struct fwd *f, struct sess *s, const char *msg)
{
	if (!f->exit_on_failure) {
		log_msg(f->log, LOG_INFO, "Warning: %s", msg);
		return 0;
	}
	sess_abort(s, SSHMCP_ERR_CHANNEL, "Error: %s", msg);
	return -1;
}

/* A new forwarded connection on local fds (taken over: closed with it unless stdio). */
static struct fwd_conn *fwd_conn_new(struct fwd *f, const struct fwd_spec *sp, int rfd, int wfd)
{
	struct fwd_conn *fc;

	if (f->nconn >= SSHMCP_FWD_CONNS_MAX || (fc = calloc(1, sizeof(*fc))) == NULL)
		return NULL;
	if (ring_init(&fc->up, SSHMCP_FWD_RING) < 0 || ring_init(&fc->down, SSHMCP_FWD_RING) < 0) {
		ring_free(&fc->up);
		free(fc);
		return NULL;
	}
	fc->spec = sp;
	fc->rfd = rfd;
	fc->wfd = wfd;
	(void)str_copy(fc->orig, sizeof(fc->orig), "127.0.0.1");
	f->conn[f->nconn++] = fc;
	return fc;
}

static void fwd_conn_free(struct fwd_conn *fc)
{
	if (fc->ch != NULL)
		(void)libssh2_channel_free(fc->ch);
	if (fc->rfd > STDERR_FILENO)
		close(fc->rfd);
	if (fc->wfd != fc->rfd && fc->wfd > STDERR_FILENO)
		close(fc->wfd);
	ring_free(&fc->up);
	ring_free(&fc->down);
	free(fc);
}

/* The peer's address, for the direct-tcpip request's originator fields. */
static void fwd_peer(struct fwd_conn *fc, const struct sockaddr_storage *ss, socklen_t len)
{
	char port[8];
	long v;

	if (getnameinfo((const struct sockaddr *)ss, len, fc->orig, sizeof(fc->orig), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0 && str_to_int(port, 0, 65535, &v) == 0)
		fc->oport = (int)v;
}

/* -L/-D: take the connections waiting on a listener (as many as there is room for). */
static void fwd_accept(struct fwd *f, struct fwd_listen *l)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd;
		struct fwd_conn *fc;

		if (f->nconn >= SSHMCP_FWD_CONNS_MAX)
			return;                 /* the rest wait in the backlog for a free slot */
		if ((fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
			return;
		if ((fc = fwd_conn_new(f, l->spec, fd, fd)) == NULL) {
			log_msg(f->log, LOG_ERROR, "out of memory: a forwarded connection refused");
			close(fd);
			return;
		}
		fwd_peer(fc, &ss, len);
		if (l->spec->kind == 'D') {
			fc->st = FC_SOCKS;
			continue;
		}
		(void)str_copy(fc->host, sizeof(fc->host), l->spec->host);
		fc->port = l->spec->hport;
		fc->st = FC_QUEUED;
	}
}

/* The local listeners, before the connection: ssh binds them after authentication but
 * before the session's command starts, and with ExitOnForwardFailure a command must not
 * run when one fails; the session section opens the command's channel on its own, so the
 * listeners come first here. */
static int fwd_listen_all(struct fwd *f, struct err *e)
{
	int i;

	for (i = 0; i < f->nspec; i++) {
		const struct fwd_spec *sp = &f->spec[i];
		const char *msg = sp->kind == 'L' ? "Could not request local forwarding." :
			"Could not request dynamic forwarding.";

		if ((sp->kind != 'L' && sp->kind != 'D') || fwd_listen_local(f, sp) == 0)
			continue;
		if (f->exit_on_failure) {
			err_set(e, SSHMCP_ERR_CHANNEL, "%s", msg);
			return -1;
		}
		log_msg(f->log, LOG_INFO, "Warning: %s", msg);
	}
	return 0;
}

/* After authentication: -W's connection; -R requests follow in fwd_remote. */
static void fwd_start(struct fwd *f)
{
	int i;

	f->started = 1;
	for (i = 0; i < f->nspec; i++) {
		struct fwd_spec *sp = &f->spec[i];

		if (sp->kind == 'W' && fwd_conn_new(f, sp, STDIN_FILENO, STDOUT_FILENO) != NULL) {
			struct fwd_conn *fc = f->conn[f->nconn - 1];

			(void)str_copy(fc->host, sizeof(fc->host), sp->host);
			fc->port = sp->hport;
			fc->st = FC_QUEUED;
		}
	}
}

/* A name from a SOCKS client goes to the server as the channel's target: no controls. */
static int fwd_host_ok(const char *h)
{
	for (; *h != '\0'; h++)
		if ((unsigned char)*h < 0x20 || *h == 0x7f)
			return 0;
	return 1;
}

/* SOCKS5 greeting (RFC 1928 3): "no authentication" must be among the methods. Bytes used,
 * 0 for more, -1 to refuse. */
static int fwd_socks5_hello(struct fwd_conn *fc)
{
	static const unsigned char ok[2] = { 5, 0 };
	const unsigned char *b = fc->socks;

	if (fc->nsocks < 2 || fc->nsocks - 2 < b[1])
		return 0;
	if (memchr(b + 2, 0, b[1]) == NULL)
		return -1;
	ring_append(&fc->down, ok, sizeof(ok));
	fc->socks5_greeted = 1;
	return 2 + b[1];
}

/* SOCKS5 CONNECT (RFC 1928 4, 5): IPv4, a name or IPv6. ssh answers before the channel
 * opens, with a zero bound address; so do we. */
static int fwd_socks5_req(struct fwd_conn *fc)
{
	static const unsigned char ok[10] = { 5, 0, 0, 1 };
	const unsigned char *b = fc->socks;
	size_t need, alen;
	int af;

	if (fc->nsocks < 5)
		return 0;
	if (b[0] != 5 || b[1] != 1 || b[2] != 0)
		return -1;
	alen = b[3] == 1 ? 4 : b[3] == 4 ? 16 : b[3] == 3 ? (size_t)b[4] + 1 : 0;
	if (alen == 0 || alen == 1)
		return -1;
	need = 4 + alen + 2;
	if (fc->nsocks < need)
		return 0;
	if (b[3] == 3) {
		memcpy(fc->host, b + 5, alen - 1);
		fc->host[alen - 1] = '\0';
		if (strlen(fc->host) != alen - 1 || !fwd_host_ok(fc->host))
			return -1;
	} else {
		af = b[3] == 1 ? AF_INET : AF_INET6;
		if (inet_ntop(af, b + 4, fc->host, sizeof(fc->host)) == NULL)
			return -1;
	}
	fc->port = b[need - 2] << 8 | b[need - 1];
	ring_append(&fc->down, ok, sizeof(ok));
	return (int)need;
}

/* SOCKS4 CONNECT, and 4a's name after the user id when the address is 0.0.0.x. */
static int fwd_socks4_req(struct fwd_conn *fc)
{
	static const unsigned char ok[8] = { 0, 90 };
	const unsigned char *b = fc->socks, *uend, *hend;
	size_t n = fc->nsocks;

	if (n < 9 || (uend = memchr(b + 8, 0, n - 8)) == NULL)
		return 0;
	if (b[1] != 1)
		return -1;
	fc->port = b[2] << 8 | b[3];
	if (b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0) {
		uend++;
		if ((hend = memchr(uend, 0, n - (size_t)(uend - b))) == NULL)
			return 0;
		if ((size_t)(hend - uend) >= sizeof(fc->host) || hend == uend)
			return -1;
		memcpy(fc->host, uend, (size_t)(hend - uend));
		fc->host[hend - uend] = '\0';
		if (!fwd_host_ok(fc->host))
			return -1;
		uend = hend;
	} else if (inet_ntop(AF_INET, b + 4, fc->host, sizeof(fc->host)) == NULL)
		return -1;
	ring_append(&fc->down, ok, sizeof(ok));
	return (int)(uend - b) + 1;
}

/* -D: read the request; once whole, the connection queues for its channel, and bytes the
 * client sent early go up after it. */
static int fwd_socks(struct fwd_conn *fc)
{
	ssize_t got;
	int used;

	if (!(fc->rrev & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	if (fc->nsocks >= sizeof(fc->socks))
		return -1;
	got = read(fc->rfd, fc->socks + fc->nsocks, sizeof(fc->socks) - fc->nsocks);
	if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (got < 0)
		return 0;
	fc->nsocks += (size_t)got;
	for (;;) {
		if (fc->socks[0] == 4)
			used = fwd_socks4_req(fc);
		else if (fc->socks[0] == 5)
			used = fc->socks5_greeted ? fwd_socks5_req(fc) : fwd_socks5_hello(fc);
		else
			return -1;
		if (used <= 0)
			return used;
		memmove(fc->socks, fc->socks + used, fc->nsocks - (size_t)used);
		fc->nsocks -= (size_t)used;
		if (fc->host[0] != '\0')
			break;
		if (fc->nsocks == 0)
			return 0;
	}
	ring_append(&fc->up, fc->socks, fc->nsocks);
	fc->nsocks = 0;
	fc->st = FC_QUEUED;
	return 0;
}

/* -R: our connect() to the local target finished, or failed (ssh's words then). */
static void fwd_connected(struct fwd *f, struct fwd_conn *fc)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!(fc->wrev & (POLLOUT | POLLERR | POLLHUP)))
		return;
	fc->wrev = 0;
	if (getsockopt(fc->wfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		log_msg(f->log, LOG_INFO, "connect_to %s port %d: failed.", fc->host, fc->port);
		log_msg(f->log, LOG_DEBUG1, "connect_to %s port %d: %s", fc->host, fc->port,
		    strerror(err));
		fc->st = FC_OPEN;           /* closes through the channel: EOF both ways */
		fc->l_eof = fc->r_eof = 1;
		return;
	}
	fc->st = FC_OPEN;
}

/* -R: the server opened a forwarded-tcpip channel; connect it to the spec's target. */
/* -R's connect to its local target, a host and port or (-R port:/path) a Unix socket: the
 * socket, connected or on its way (EINPROGRESS), or -1. */
static int fwd_connect_local(const struct fwd_conn *fc)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char port[8];
	int fd = -1;

	if (fc->spec->hunix) {
		if (str_copy(sa.sun_path, sizeof(sa.sun_path), fc->host) == 0 &&
		    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) >= 0 &&
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
	} else {
		(void)str_fmt(port, sizeof(port), "%d", fc->port);
		if (getaddrinfo(fc->host, port, &hints, &ai) == 0 &&
		    (fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) >= 0 &&
		    (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)) {
			freeaddrinfo(ai);
			return fd;
		}
		if (ai != NULL)
			freeaddrinfo(ai);
	}
	if (fd >= 0) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return -1;
}

static void fwd_accept_remote(struct fwd *f, struct fwd_listen *l)
{
	LIBSSH2_CHANNEL *ch;
	struct fwd_conn *fc;
	int fd;

	while ((ch = libssh2_channel_forward_accept(l->rl)) != NULL) {
		if ((fc = fwd_conn_new(f, l->spec, -1, -1)) == NULL) {
			(void)libssh2_channel_free(ch);
			continue;
		}
		fc->ch = ch;
		(void)str_copy(fc->host, sizeof(fc->host), l->spec->host);
		fc->port = l->spec->hport;
		if ((fd = fwd_connect_local(fc)) >= 0) {
			fc->rfd = fc->wfd = fd;
			fc->st = FC_CONNECT;
		} else {
			log_msg(f->log, LOG_INFO, "connect_to %s port %d: failed.", fc->host, fc->port);
			log_msg(f->log, LOG_DEBUG1, "connect_to: %s", strerror(errno));
			fc->st = FC_OPEN;
			fc->l_eof = fc->r_eof = 1;
		}
	}
}

/* Open the connection's direct-tcpip channel; only one may be in flight per session. */
static int fwd_open(struct fwd *f, struct fwd_conn *fc, struct sess *s)
{
	char msg[SSHMCP_HOST_MAX + 96];

	fc->ch = fc->spec != NULL && fc->spec->hunix ?
		libssh2_channel_direct_streamlocal_ex(s->ssh, fc->host, fc->orig, fc->oport) :
		libssh2_channel_direct_tcpip_ex(s->ssh, fc->host, fc->port, fc->orig, fc->oport);
	if (fc->ch != NULL) {
		log_msg(f->log, LOG_DEBUG1, "channel open: direct-tcpip to %s port %d", fc->host,
		    fc->port);
		fc->st = FC_OPEN;
		return 0;
	}
	if (libssh2_session_last_errno(s->ssh) == LIBSSH2_ERROR_EAGAIN) {
		fc->st = FC_OPENING;
		return 0;
	}
	(void)str_fmt(msg, sizeof(msg), "channel open failed: connect to %s port %d failed",
	    fc->host, fc->port);
	fc->st = FC_DONE;
	if (f->stdio && fc->rfd == STDIN_FILENO) {
		sess_abort(s, SSHMCP_ERR_CHANNEL, "%s; stdio forwarding failed", msg);
		return -1;
	}
	log_msg(f->log, LOG_INFO, "%s", msg);
	return 0;
}

/* Local -> channel: read when poll said so, write what the window takes, then EOF. */
static int fwd_up(struct fwd_conn *fc)
{
	size_t n;
	ssize_t k;

	if (!fc->l_eof && (fc->rrev & (POLLIN | POLLHUP | POLLERR)) && ring_space(&fc->up) > 0) {
		unsigned char *w = ring_wptr(&fc->up, &n);

		k = read(fc->rfd, w, n);
		if (k > 0)
			ring_commit(&fc->up, (size_t)k);
		else if (k == 0 || (errno != EAGAIN && errno != EINTR))
			fc->l_eof = 1;
	}
	fc->rrev = 0;
	fc->win_shut = 0;
	while (ring_used(&fc->up) > 0) {
		const unsigned char *r = ring_rptr(&fc->up, &n);

		k = libssh2_channel_write(fc->ch, (const char *)r, n);
		if (k == LIBSSH2_ERROR_EAGAIN) {
			fc->win_shut = chan_window_shut(fc->ch, k);
			return 0;
		}
		if (k < 0)
			return -1;
		ring_consume(&fc->up, (size_t)k);
	}
	if (fc->l_eof && !fc->eof_sent) {
		k = libssh2_channel_send_eof(fc->ch);
		if (k == LIBSSH2_ERROR_EAGAIN)
			return 0;
		fc->eof_sent = 1;
	}
	return 0;
}

/* -W: the remote end said EOF; our stdout's reader sees it now, fd 1 stays valid. */
static void fwd_stdout_eof(int fd)
{
	int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (nul >= 0) {
		(void)dup2(nul, fd);
		close(nul);
	}
}

/* The down ring to the local side, as far as it takes it: -1 when it is gone (EPIPE, a
 * reset). */
static int fwd_flush(struct fwd_conn *fc)
{
	while (ring_used(&fc->down) > 0) {
		size_t n;
		const unsigned char *r = ring_rptr(&fc->down, &n);
		ssize_t k = write(fc->wfd, r, n);

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (k <= 0)
			return -1;
		ring_consume(&fc->down, (size_t)k);
	}
	return 0;
}

/* Channel -> local, as far as the ring and the local socket take it; then half-close. */
static int fwd_down(struct fwd_conn *fc)
{
	size_t n;
	ssize_t k;

	while (ring_space(&fc->down) > 0) {
		unsigned char *w = ring_wptr(&fc->down, &n);

		k = libssh2_channel_read(fc->ch, (char *)w, n);
		if (k == LIBSSH2_ERROR_EAGAIN || k == 0)
			break;
		if (k < 0)
			return -1;
		ring_commit(&fc->down, (size_t)k);
	}
	if (libssh2_channel_eof(fc->ch) == 1)
		fc->r_eof = 1;
	if (fwd_flush(fc) < 0)
		return -1;
	if (ring_used(&fc->down) > 0)
		return 0;
	if (fc->r_eof && !fc->wr_shut) {
		fc->wr_shut = 1;
		if (fc->wfd == fc->rfd)
			(void)shutdown(fc->wfd, SHUT_WR);
		else
			fwd_stdout_eof(fc->wfd);
	}
	return 0;
}

/* Both sides said EOF and everything went out, or the server closed the channel (a -W
 * peer may keep its end open; ssh leaves then too). */
static int fwd_over(struct fwd_conn *fc)
{
	if (!fc->r_eof || ring_used(&fc->down) > 0)
		return 0;
	return fc->eof_sent || libssh2_channel_wait_closed(fc->ch) == 0;
}

/* Ask the server to close the channel; it is freed once the server agrees, or after a grace
 * period, so a server that never answers costs one channel for a bounded time. */
static void fwd_close(struct fwd_conn *fc, int64_t now)
{
	int rc = libssh2_channel_close(fc->ch);

	if (fc->st != FC_CLOSING) {
		fc->st = FC_CLOSING;
		fc->close_deadline = now + SSHMCP_CLOSE_GRACE_MS;
	}
	if (rc != LIBSSH2_ERROR_EAGAIN || now >= fc->close_deadline)
		fc->st = FC_DONE;
}

/* One connection's turn. */
static void fwd_conn_step(struct fwd *f, struct fwd_conn *fc, struct sess *s, int *opening,
    int64_t now)
{
	switch (fc->st) {
	case FC_SOCKS:                  /* the SOCKS5 greeting's answer goes out at once */
		if (fwd_socks(fc) < 0 || fwd_flush(fc) < 0)
			fc->st = FC_DONE;
		return;
	case FC_QUEUED:
	case FC_OPENING:
		if (*opening && fc->st == FC_QUEUED)
			return;
		*opening = 0;
		if (fwd_open(f, fc, s) == 0 && fc->st == FC_OPENING)
			*opening = 1;
		if (fc->st != FC_OPEN)
			return;
		/* fall through */
	case FC_OPEN:
		if (fwd_up(fc) < 0 || fwd_down(fc) < 0 || fwd_over(fc))
			fwd_close(fc, now);
		return;
	case FC_CONNECT:
		fwd_connected(f, fc);
		return;
	case FC_CLOSING:
		fwd_close(fc, now);
		return;
	case FC_DONE:
		return;
	}
}

/* -A: the agent channels the server opened (sess_agent_open queued them), each connected
 * to the local agent's socket as a connection of its own (ssh's client_request_agent).
 * libssh2 confirmed the channel already, so one the agent refuses cannot fail its open as
 * ssh's does: it gets /dev/null, EOF at once and its request swallowed; closing it outright
 * raced the far client's write (ssh-add killed by SIGPIPE instead of its error). */
static void fwd_agent(struct fwd *f, struct sess *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	while (s->nagent_new > 0) {
		LIBSSH2_CHANNEL *ch = s->agent_new[--s->nagent_new];
		struct fwd_conn *fc = fwd_conn_new(f, NULL, -1, -1);
		int fd = -1;

		if (fc == NULL) {
			(void)libssh2_channel_free(ch);
			continue;
		}
		fc->ch = ch;
		fc->st = FC_OPEN;
		log_msg(f->log, LOG_DEBUG1, "client_input_channel_open: ctype auth-agent@openssh.com");
		if (str_copy(sa.sun_path, sizeof(sa.sun_path), s->t.fwd_agent) == 0 &&
		    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) >= 0 &&
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			fc->rfd = fc->wfd = fd;
			continue;
		}
		log_msg(f->log, LOG_DEBUG1, "agent %s: %s", s->t.fwd_agent, strerror(errno));
		if (fd >= 0)
			close(fd);
		fc->rfd = fc->wfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		fc->l_eof = 1;
	}
}

/* The bind address ssh sends for -R (channel_rfwd_bind_host). */
static const char *fwd_rbind_host(const struct fwd_spec *sp)
{
	if (!sp->bind_set)
		return "localhost";
	return sp->bind[0] == '\0' || strcmp(sp->bind, "*") == 0 ? "" : sp->bind;
}

/* -R: one tcpip-forward request at a time, each until the server answers. */
static void fwd_remote(struct fwd *f, struct sess *s)
{
	char msg[160];                  /* a Unix socket's path: at most 107 bytes */

	for (; f->next_remote < f->nspec; f->next_remote++) {
		struct fwd_spec *sp = &f->spec[f->next_remote];
		LIBSSH2_LISTENER *rl;
		int bound = 0;

		if (sp->kind != 'R')
			continue;
		if (f->nlis >= SSHMCP_FWD_LISTEN_MAX)
			return;
		rl = sp->bunix ?        /* -R /path: streamlocal-forward@openssh.com (patch 207) */
			libssh2_channel_forward_listen_streamlocal(s->ssh, sp->bind, SSHMCP_FWD_BACKLOG) :
			libssh2_channel_forward_listen_ex(s->ssh, fwd_rbind_host(sp), sp->bport, &bound,
			SSHMCP_FWD_BACKLOG);
		if (rl == NULL && libssh2_session_last_errno(s->ssh) == LIBSSH2_ERROR_EAGAIN)
			return;
		if (rl == NULL) {
			if (sp->bunix)
				(void)str_fmt(msg, sizeof(msg), "remote port forwarding failed for listen "
				    "path %s", sp->bind);
			else
				(void)str_fmt(msg, sizeof(msg), "remote port forwarding failed for "
				    "listen port %d", sp->bport);
			if (fwd_failed(f, s, msg) < 0)
				return;
			continue;
		}
		f->lis[f->nlis++] = (struct fwd_listen){ .spec = sp, .fd = -1, .rl = rl, .rport = bound };
		if (sp->bport == 0 && !sp->bunix)
			log_msg(f->log, LOG_INFO, "Allocated port %d for remote forward to %s:%d", bound,
			    sp->host, sp->hport);
		log_msg(f->log, LOG_DEBUG1, "remote forward success for: listen %d, connect %s:%d",
		    bound, sp->host, sp->hport);
	}
}

/* -W's end: the session ends with the connection; exit 0, as ssh. Its stdout gets EOF
 * first (a reader such as ssh's ProxyCommand waits for it). */
static void fwd_reap(struct fwd *f, struct sess *s)
{
	int i, k = 0;

	for (i = 0; i < f->nconn; i++) {
		struct fwd_conn *fc = f->conn[i];

		if (fc->st != FC_DONE) {
			f->conn[k++] = fc;
			continue;
		}
		if (f->stdio && fc->rfd == STDIN_FILENO && s->state < SESS_DONE)
			sess_close(s);
		fwd_conn_free(fc);
	}
	f->nconn = k;
}

/* Set up, and every -R answered: what -f waits for before going to the
 * background, and a held command (job.hold) before it starts. */
static int fwd_ready(const struct fwd *f)
{
	return f == NULL || (f->started && f->next_remote >= f->nspec);
}

/* The forwardings' turn, after the session's. Channels open only once the session is READY
 * or RUNNING: libssh2 opens one channel at a time, and the session's own comes first. */
static void fwd_step(struct cli *c, int64_t now)
{
	struct fwd *f = c->fwd;
	struct sess *s = &c->sess;
	uint64_t rx0 = s->rx_reads;
	int i, opening = 0;

	if (f == NULL || (s->state != SESS_READY && s->state != SESS_RUNNING))
		return;
	f->rx_news = 0;
	if (f->link_hup) {
		sess_abort(s, SSHMCP_ERR_SESSION_LOST, "Connection to %s closed by remote host.",
		    s->t.host);
		return;
	}
	/* With no channel open nothing else reads the transport (-N before any connection):
	 * keepalive replies are taken here, or the link would look silent to sess_alive. */
	if (s->state == SESS_READY && libssh2_keepalive_read(s->ssh) < 0) {
		sess_abort(s, SSHMCP_ERR_SESSION_LOST, "Connection to %s closed by remote host.",
		    s->t.host);
		return;
	}
	if (!f->started)
		fwd_start(f);
	fwd_remote(f, s);
	if (c->job.hold) {              /* no channel of ours opens before the session's */
		if (s->state == SESS_READY && fwd_ready(f)) {
			c->job.hold = 0;
			sess_open(s);
		}
		return;
	}
	fwd_agent(f, s);
	for (i = 0; i < f->nconn; i++)
		opening |= f->conn[i]->st == FC_OPENING;
	for (i = 0; i < f->nconn && s->state < SESS_DONE; i++)
		fwd_conn_step(f, f->conn[i], s, &opening, now);
	/* After the channels: their reads may have queued forwarded-tcpip opens in libssh2,
	 * which no socket event would announce again. New connections step next turn. */
	for (i = 0; i < f->nlis && s->state < SESS_DONE; i++) {
		if (f->lis[i].fd >= 0 && (f->lis[i].rev & POLLIN))
			fwd_accept(f, &f->lis[i]);
		else if (f->lis[i].rl != NULL)
			fwd_accept_remote(f, &f->lis[i]);
		f->lis[i].rev = 0;
	}
	fwd_reap(f, s);
	f->rx_news = s->rx_reads != rx0;
}

static void fwd_free(struct fwd *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nconn; i++)
		fwd_conn_free(f->conn[i]);
	for (i = 0; i < f->nlis; i++)
		if (f->lis[i].fd >= 0)
			close(f->lis[i].fd);
	free(f);
}

/* ========================================================== event loop === */

/* prepare → poll → dispatch → reap, as redis' ae and mongoose do. */

enum loop_kind { LOOP_SESS, LOOP_STDIN, LOOP_STDOUT, LOOP_STDERR, LOOP_FWD_LISTEN, LOOP_FWD_R,
	LOOP_FWD_W };

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
static void loop_add_sess(struct loop *l, struct sess *s)
{
	for (; s != NULL; s = s->via) {
		short ev = sess_events(s);

		/* ProxyCommand: reads on its stdout pipe, writes on its stdin pipe */
		loop_add(l, s->fd, s->wfd >= 0 ? (short)(ev & ~POLLOUT) : ev, LOOP_SESS, s);
		if (s->wfd >= 0 && (ev & POLLOUT))
			loop_add(l, s->wfd, POLLOUT, LOOP_SESS, s);
		loop_add(l, s->res_fd, POLLIN, LOOP_SESS, s);       /* the resolver's answer */
		/* Our end of a tunnel: bytes our libssh2 wrote wait there to be pumped on. */
		if (s->tun_fd >= 0)
			loop_add(l, s->tun_fd, (short)(POLLIN | (ring_used(&s->tun_down) > 0 ?
			    POLLOUT : 0)), LOOP_SESS, s);
	}
}

/* The forwardings' fds; and, with no channel or -R listener to make libssh2 read and no
 * keepalives to answer (fwd_step reads for those), the session socket watched for hang-up
 * only: the server's unsolicited messages (its host keys) would otherwise wake every poll
 * with nobody to read them. */
static void loop_add_fwd(struct loop *l, struct fwd *f, const struct sess *s)
{
	int i, readers;

	if (f == NULL)
		return;
	readers = !f->started || f->next_remote < f->nspec;    /* -R answers to come */
	for (i = 0; i < f->nlis; i++) {
		/* At the connection limit, new ones wait in the kernel's backlog, unpolled. */
		if (f->nconn < SSHMCP_FWD_CONNS_MAX)
			loop_add(l, f->lis[i].fd, POLLIN, LOOP_FWD_LISTEN, &f->lis[i]);
		readers |= f->lis[i].rl != NULL;
	}
	for (i = 0; i < f->nconn; i++) {
		struct fwd_conn *fc = f->conn[i];
		short rd = (short)((fc->st == FC_SOCKS || (fc->st == FC_OPEN && !fc->l_eof &&
		    ring_space(&fc->up) > 0)) ? POLLIN : 0);
		short wr = (short)((fc->st == FC_CONNECT || ring_used(&fc->down) > 0) ? POLLOUT : 0);
		unsigned long avail = 0;

		readers |= fc->ch != NULL || fc->st == FC_OPENING;
		if (fc->rfd == fc->wfd)
			loop_add(l, fc->rfd, (short)(rd | wr), LOOP_FWD_R, fc);
		else {
			loop_add(l, fc->rfd, rd, LOOP_FWD_R, fc);
			loop_add(l, fc->wfd, wr, LOOP_FWD_W, fc);
		}
		/* Queued for a channel, data libssh2 already holds, or data for a window another
		 * call reopened: no sleeping. */
		if (fc->st == FC_QUEUED || (fc->ch != NULL && ring_space(&fc->down) > 0 &&
		    (libssh2_channel_window_read_ex(fc->ch, &avail, NULL), avail > 0)) ||
		    (fc->st == FC_OPEN && chan_write_due(s->ssh, fc->ch, fc->win_shut)))
			l->deadline = 0;
		if (fc->st == FC_CLOSING && fc->close_deadline < l->deadline)
			l->deadline = fc->close_deadline;
	}
	/* The forwardings' reads took packets off the socket after their owners' turn (the
	 * session channel's close, an earlier connection's EOF, a new agent channel): libssh2
	 * holds them, and no poll would announce them. */
	if (f->rx_news)
		l->deadline = 0;
	if (!readers && s->state == SESS_READY && s->t.alive_interval_s <= 0)
		for (i = 0; i < l->n; i++)
			if (l->pfd[i].fd == s->fd && l->kind[i] == LOOP_SESS)
				l->pfd[i].events = POLLRDHUP;
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

/* A program the loop drives (exec, fan-out, device exec, serve): its fds and nearest
 * deadline, what it does when poll returns, and when it is over. */
struct loop_client {
	void *ctx;
	int (*done)(void *ctx);
	void (*prepare)(void *ctx, struct loop *l);     /* adds fds, lowers l->deadline */
	void (*dispatch)(void *ctx, struct loop *l);    /* ready fds, then what is due */
	int64_t stop;                                   /* leave then too; INT64_MAX: never */
	int past_signals;       /* shutting down already: a signal does not end the loop */
};

/* The one loop: prepare, poll, dispatch, until the client is done, its stop time came or
 * a signal did (sig_caught tells the caller). -1 when poll failed. */
static int loop_drive(const struct loop_client *cl, const sigset_t *waitmask)
{
	struct loop l;

	while (!cl->done(cl->ctx) && (sig_caught == 0 || cl->past_signals) &&
	    time_ms() < cl->stop) {
		l.n = 0;
		l.deadline = cl->stop;
		cl->prepare(cl->ctx, &l);
		if (loop_poll(&l, waitmask) < 0 && errno != EINTR)
			return -1;
		if (sig_caught != 0 && !cl->past_signals)
			break;
		cl->dispatch(cl->ctx, &l);
	}
	return 0;
}

/* -------------------------------------------------------- fan-out loop --- */

/* Add a fan-out's sockets to the poll set, and its nearest deadline. */
static void fanout_prepare_sess(struct loop *l, const struct fan *f)
{
	int i;

	for (i = 0; i < f->n; i++) {
		struct sess *s = f->h[i].s;
		int64_t d;

		if (s == NULL)
			continue;
		loop_add_sess(l, s);
		if ((d = sess_deadline(s)) < l->deadline)
			l->deadline = d;
	}
}

static void fanout_prepare(struct loop *l, struct fan *f)
{
	int k;

	fanout_prepare_sess(l, f);
	for (k = 0; k < 2; k++)
		if (f->q[k].len > 0)
			loop_add(l, f->c->out_fd[k], POLLOUT, k == 0 ? LOOP_STDOUT : LOOP_STDERR, f);
}

static void fanout_dispatch(struct loop *l, struct fan *f)
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

static int fanout_loop_done(void *ctx)
{
	const struct fan *f = ctx;

	return f->finished == f->n && f->q[0].len == 0 && f->q[1].len == 0;
}

static void fanout_loop_prepare(void *ctx, struct loop *l) { fanout_prepare(l, ctx); }
static void fanout_loop_dispatch(void *ctx, struct loop *l) { fanout_dispatch(l, ctx); }

static void fanout_run(struct fan *f)
{
	const struct loop_client cl = { f, fanout_loop_done, fanout_loop_prepare, fanout_loop_dispatch,
		INT64_MAX, 0 };
	sigset_t waitmask;

	loop_signals(&waitmask);
	fan_step(f, time_ms());
	(void)loop_drive(&cl, &waitmask);
}

/* Hosts for -H: the list itself, or (-H -) what stdin holds. */
static int fanout_hosts(struct cli *c, char **names, struct err *e)
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
static void fanout_summary(const struct fan *f)
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
static int fanout_main(struct cli *c)
{
	char *names[SSHMCP_FAN_HOSTS_MAX];
	struct err e = { .code = SSHMCP_OK };
	struct fan f;
	int i, n, status = 0;

	memset(&f, 0, sizeof(f));
	if ((n = fanout_hosts(c, names, &e)) < 0) {
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
	f.resolve_plain = cli_resolve_plain;
	f.ctx = c;
	f.pol = &c->pol;
	f.audit = &c->audit;
	f.rd = &c->rd;
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
	fanout_run(&f);
	cli_local_restore(c);
	fanout_summary(&f);
	for (i = 0; i < n; i++)
		status = f.h[i].done ? (f.h[i].status > status ? f.h[i].status : status) : 255;
out:
	fan_free(&f);
	for (i = 0; i < n; i++)
		free(names[i]);
	return status;
}

/* --------------------------------------------------------- device exec --- */

/*
 * exec --device-type: the serve engine on one PTY session, for scripts. Output streams to
 * stdout as it is cleaned; exit 0, 1 when the device rejected a line (or asks a question
 * nobody can answer here), 124 on --timeout, 255 when the connection or enable failed.
 */
static void devexec_flush(const struct cmd *c, uint64_t *off)
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

static int devexec_status(struct cli *cl, const struct cmd *c)
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

/* The one session, its command and where its output has been written up to. */
struct devexec {
	struct shell *sh;
	struct cmd *c;
	const struct prompt *pr;
	uint64_t *off;
};

static int devexec_done(void *ctx)
{
	const struct devexec *x = ctx;

	return x->c->status >= CMD_COMPLETED || x->c->status == CMD_AWAITING;
}

static void devexec_prepare(void *ctx, struct loop *l)
{
	const struct devexec *x = ctx;
	int64_t d = shell_deadline(x->sh);

	if (d < l->deadline)
		l->deadline = d;
	loop_add_sess(l, &x->sh->s);
}

static void devexec_dispatch(void *ctx, struct loop *l)
{
	const struct devexec *x = ctx;
	int i;

	for (i = 0; i < l->n; i++)
		if (l->pfd[i].revents != 0)
			((struct sess *)l->owner[i])->revents = l->pfd[i].revents;
	shell_step(x->sh, x->pr, time_ms());
	devexec_flush(x->c, x->off);
}

/* Poll the one session until the command ends or waits for an answer. */
static void devexec_run(struct shell *sh, struct cmd *c, const struct prompt *pr,
    uint64_t *off)
{
	struct devexec x = { sh, c, pr, off };
	const struct loop_client cl = { &x, devexec_done, devexec_prepare, devexec_dispatch,
		INT64_MAX, 0 };
	sigset_t waitmask;

	loop_signals(&waitmask);
	devexec_dispatch(&x, &(struct loop){ .n = 0 });
	if (loop_drive(&cl, &waitmask) == 0 && sig_caught != 0 && !devexec_done(&x)) {
		err_set(&c->err, SSHMCP_ERR_INTERNAL, "Killed by signal %d.", (int)sig_caught);
		cmd_finish(NULL, c, CMD_INTERRUPTED, time_ms());
	}
}

static int devexec_main(struct cli *cl, const struct dev_profile *p)
{
	struct err e = { .code = SSHMCP_OK };
	const char *pw = getenv("SSHMCP_ENABLE_PASSWORD");
	struct prompt pr = { .ready = 0 };
	struct shell *sh = NULL;
	struct cmd *c = NULL;
	struct audit_rec r;
	struct target t;
	uint64_t off = 0;
	int status;

	if (prompt_init(&pr) < 0 || cli_target(cl, cl->dest, &t, &e) < 0)
		goto fail;
	/* shell_new takes the target over; until it does, it is ours to free */
	if (pol_host_check(&cl->pol, &t, cli_resolve_plain, cl, &e) < 0 ||
	    (sh = shell_new(&t, "exec", &cl->log, time_ms())) == NULL) {
		target_free(&t);
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->text = strdup(cl->command)) == NULL ||
	    ring_init_grow(&c->out, SSHMCP_CMD_RING_FIRST, SSHMCP_CMD_RING) < 0)
		goto fail;
	if (p != NULL && dev_attach(sh, p) < 0)
		goto fail;
	if (pw != NULL) {               /* from the environment: never on a command line */
		(void)str_copy(sh->enable_pw, sizeof(sh->enable_pw), pw);
		sh->enable_want = pw[0] != '\0';
	}
	(void)str_copy(c->mode, sizeof(c->mode), "user");
	(void)str_copy(c->host, sizeof(c->host), sh->alias);
	(void)str_copy(c->user, sizeof(c->user), sh->s.t.user);
	(void)str_copy(c->session, sizeof(c->session), "exec");
	c->status = CMD_QUEUED;
	c->t_queued = time_ms();
	c->deadline = cl->job.timeout_s > 0 ? c->t_queued + (int64_t)cl->job.timeout_s * 1000 : 0;
	r = srv_cmd_audit_rec(c, "started", c->t_queued);
	if (audit_write(&cl->audit, &cl->rd, &r) < 0) {
		err_set(&e, SSHMCP_ERR_IO, "the audit file cannot be written: the command was not sent");
		goto fail;
	}
	c->sh = sh;
	sh->queue[sh->nq++] = c;
	devexec_run(sh, c, &pr, &off);
	status = devexec_status(cl, c);
	r = srv_cmd_audit_rec(c, cmd_status_names[c->status], time_ms());
	(void)audit_write(&cl->audit, &cl->rd, &r);
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
	srv_cmd_free(c);
	shell_free(sh);
	prompt_free(&pr);
	return status;
}

/* ---------------------------------------------------------- serve loop --- */

/* Read stdin, cut lines; a line over SSHMCP_MSG_MAX is answered with an error and skipped. */
/*
 * Requests are handled line by line while the responses waiting for stdout stay under
 * SSHMCP_OUTQ_MAX; past it the rest waits unread (in srv->in, then in the pipe): a client
 * that writes requests and never reads cannot make the queue grow. scanned: bytes of
 * srv->in known to hold no newline.
 */
static void serve_input(struct server *srv, int64_t now)
{
	size_t start = 0;
	char *nl;

	while (srv->outlen < SSHMCP_OUTQ_MAX &&
	    (nl = memchr(srv->in + start, '\n', srv->inlen - start)) != NULL) {
		size_t len = (size_t)(nl - (srv->in + start));

		if (!srv->in_skip)
			rpc_line(srv, srv->in + start, len, now);
		srv->in_skip = 0;
		start += len + 1;
	}
	memmove(srv->in, srv->in + start, srv->inlen - start);
	srv->inlen -= start;
	mem_wipe(srv->in + srv->inlen, start);      /* handled requests may hold passwords */
	srv->in_full = memchr(srv->in, '\n', srv->inlen) != NULL;
	if (!srv->in_full && srv->inlen > SSHMCP_MSG_MAX) {
		if (!srv->in_skip)
			mcp_error(srv, NULL, RPC_INVALID, "message larger than 4 MiB: skipped");
		srv->in_skip = 1;
		mem_wipe(srv->in, srv->inlen);
		srv->inlen = 0;
	}
}

static void serve_read(struct server *srv, int64_t now)
{
	ssize_t got = read(STDIN_FILENO, srv->in + srv->inlen, SSHMCP_MSG_MAX + 1 - srv->inlen);

	if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
		srv->in_eof = 1;
		return;
	}
	if (got < 0)
		return;
	srv->inlen += (size_t)got;
	serve_input(srv, now);
}

static void serve_progress(struct server *srv, struct waiter *wt, int64_t now)
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

/*
 * When a waiter answers if its command is still running. A wait that reaches the command's
 * timeout waits for the timeout's result instead: at the deadline the command has only
 * been sent Ctrl-C, and its status turns final when the shell comes back or, at the
 * latest, when the grace period closes the session.
 */
static int64_t serve_wait_until(const struct waiter *wt)
{
	const struct cmd *c = wt->cmd;
	int64_t bound;

	if (c->deadline <= 0 || wt->deadline < c->deadline)
		return wt->deadline;
	bound = c->deadline + SSHMCP_INTERRUPT_GRACE_MS + SSHMCP_TIMEOUT_SLACK_MS;
	return bound > wt->deadline ? bound : wt->deadline;
}

/* A command still queued at its deadline never runs: it times out where it waits (the
 * session ahead of it may be busy for longer, or still connecting). */
static void serve_wait_expire(struct waiter *wt, int64_t now)
{
	struct cmd *c = wt->cmd;

	if (c->status != CMD_QUEUED || c->deadline <= 0 || now < c->deadline || c->sh == NULL)
		return;
	err_set(&c->err, SSHMCP_ERR_TIMEOUT, "timed out after %lld s before it started (session "
	    "'%s' was busy or connecting)", (long long)((c->deadline - c->t_queued) / 1000),
	    c->session);
	shell_interrupt(c->sh, c, CMD_TIMEOUT, now);
}

/* A send_keys waiter's screen settles when the program was quiet this long after the keys. */
static int64_t serve_screen_quiet_at(const struct waiter *wt)
{
	int64_t last = wt->sh != NULL && wt->sh->last_rx > wt->sent_at ? wt->sh->last_rx :
	    wt->sent_at;

	return last + SSHMCP_SCR_SETTLE_MS;
}

/* Is a send_keys waiter's screen ready: the command ended (or its session), wait_for
 * matched a screen that moved, or without wait_for the program went quiet? */
static int serve_screen_ready(struct waiter *wt, int64_t now)
{
	if (wt->sh == NULL || wt->cmd->status >= CMD_COMPLETED || now >= wt->deadline)
		return 1;
	if (!wt->has_re && wt->alt0 && !wt->sh->scr.alt)
		return 0;   /* it left the alternate screen: it is exiting, its prompt comes next */
	if (!wt->has_re)
		return now >= serve_screen_quiet_at(wt);
	if (wt->sh->scr.gen == wt->gen)
		return 0;                   /* only a screen that moved is matched again */
	wt->gen = wt->sh->scr.gen;
	return mcp_screen_match(wt->sh, &wt->re);
}

/* Answer the waiters whose command moved on or whose time is up. */
static void serve_wake(struct server *srv, int64_t now)
{
	int i;

	for (i = 0; i < SSHMCP_WAITERS_MAX; i++) {
		struct waiter *wt = &srv->wait[i];
		enum cmd_status st;
		int m;

		if (!wt->active)
			continue;
		serve_wait_expire(wt, now);
		st = wt->cmd->status;
		if (wt->screen ? !serve_screen_ready(wt, now) :
		    st <= CMD_RUNNING && now < serve_wait_until(wt)) {
			if (wt->progress[0] != '\0' && now >= wt->next_progress)
				serve_progress(srv, wt, now);
			continue;
		}
		m = !wt->has_re ? -1 : wt->sh != NULL && mcp_screen_match(wt->sh, &wt->re);
		srv_wait_end(wt);
		if (wt->screen)
			mcp_reply_screen(srv, wt->id, wt->sh, wt->cmd, m);
		else
			mcp_reply_cmd(srv, wt->id, wt->cmd, wt->offset, wt->max_bytes, now);
	}
}

static int64_t serve_deadline(const struct server *srv)
{
	int64_t d = INT64_MAX;
	int i;

	for (i = 0; i < srv->nshells; i++) {
		const struct shell *sh = srv->shells[i];
		int64_t s = sh->kick ? 0 : sh->next_at;     /* kept by its last step */

		if (s < d)
			d = s;
	}
	for (i = 0; i < SSHMCP_APPROVALS_MAX; i++)
		if (srv->appr[i].active && srv->appr[i].deadline < d)
			d = srv->appr[i].deadline;
	for (i = 0; i < SSHMCP_WAITERS_MAX; i++) {
		const struct waiter *wt = &srv->wait[i];

		if (!wt->active)
			continue;
		if (serve_wait_until(wt) < d)
			d = serve_wait_until(wt);
		if (wt->cmd->status == CMD_QUEUED && wt->cmd->deadline > 0 && wt->cmd->deadline < d)
			d = wt->cmd->deadline;              /* serve_wait_expire's moment */
		if (wt->screen && !wt->has_re && serve_screen_quiet_at(wt) < d)
			d = serve_screen_quiet_at(wt);
		if (wt->progress[0] != '\0' && wt->next_progress < d)
			d = wt->next_progress;
	}
	return d;
}

static void serve_prepare(struct loop *l, struct server *srv)
{
	int64_t d = serve_deadline(srv);
	int i;

	if (d < l->deadline)
		l->deadline = d;
	/* Unread responses past the cap: stop taking requests until the client reads. */
	if (!srv->in_eof && srv->outlen < SSHMCP_OUTQ_MAX && !srv->in_full)
		loop_add(l, STDIN_FILENO, POLLIN, LOOP_STDIN, srv);
	if (srv->outlen > 0)
		loop_add(l, STDOUT_FILENO, POLLOUT, LOOP_STDOUT, srv);
	for (i = 0; i < srv->nshells; i++)
		loop_add_sess(l, &srv->shells[i]->s);
	for (i = 0; i < SSHMCP_FANS_MAX; i++)
		if (srv->fans[i] != NULL)
			fanout_prepare_sess(l, &srv->fans[i]->f);
}

static void serve_dispatch(struct loop *l, struct server *srv)
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
			serve_read(srv, now);
		else if (l->kind[i] == LOOP_STDOUT)
			mcp_flush(srv);
	}
	for (i = 0; i < srv->nshells; i++) {
		struct shell *sh = srv->shells[i];

		if (!shell_due(sh, now))
			continue;               /* no event, nothing due: not even looked at */
		shell_step(sh, &srv->prompt, now);
		tool_files_reply(srv, sh);
		if (sh->kick)                /* the reply typed more (a sudo file step) */
			sh->next_at = 0;
	}
	srv_fans_step(srv, now);
	srv_approvals_expire(srv, now);
	serve_wake(srv, now);
	srv_audit_cmds(srv, now);
	srv_ask_hostkeys(srv);
	mcp_flush(srv);
	if (srv->in_full && srv->outlen < SSHMCP_OUTQ_MAX) {
		serve_input(srv, now);    /* the client read: the held requests go on */
		mcp_flush(srv);
	}
}

static void serve_loop_prepare(void *ctx, struct loop *l) { serve_prepare(l, ctx); }
static void serve_loop_dispatch(void *ctx, struct loop *l) { serve_dispatch(l, ctx); }

static int serve_loop_done(void *ctx)
{
	const struct server *srv = ctx;

	return srv->in_eof && !srv->in_full;
}

/* Shutting down: done when no command is running any more. */
static int serve_loop_idle(void *ctx)
{
	const struct server *srv = ctx;
	int i;

	for (i = 0; i < srv->nshells; i++)
		if (srv->shells[i]->cur != NULL && srv->shells[i]->st == SH_BUSY)
			return 0;
	return 1;
}

/* Shutdown: no new work; running commands get Ctrl-C and a second to come back (their
 * audit lines say interrupted), then everything closes. */
static void serve_stop_commands(struct server *srv, const sigset_t *waitmask)
{
	const struct loop_client cl = { srv, serve_loop_idle, serve_loop_prepare, serve_loop_dispatch,
		time_ms() + SSHMCP_SHUTDOWN_GRACE_MS, 1 };
	int i;

	srv->stopping = 1;
	srv->in_eof = 1;
	for (i = 0; i < srv->nshells; i++)
		if (srv->shells[i]->cur != NULL)
			shell_interrupt(srv->shells[i], srv->shells[i]->cur, CMD_INTERRUPTED, time_ms());
	(void)loop_drive(&cl, waitmask);
	for (i = 0; i < srv->nhist; i++)
		if (srv->hist[i]->status < CMD_COMPLETED)
			cmd_finish(NULL, srv->hist[i], CMD_INTERRUPTED, time_ms());
	srv_audit_cmds(srv, time_ms());
}

/* Until stdin ends or a signal: answer requests, run commands. */
static void serve_run(struct server *srv)
{
	const struct loop_client cl = { srv, serve_loop_done, serve_loop_prepare, serve_loop_dispatch,
		INT64_MAX, 0 };
	sigset_t waitmask;
	int64_t stop;

	loop_signals(&waitmask);
	(void)loop_drive(&cl, &waitmask);
	serve_stop_commands(srv, &waitmask);
	/* Last answers out (bounded), then sessions closed by serve_free. */
	stop = time_ms() + 1000;
	while (srv->outlen > 0 && time_ms() < stop) {
		struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

		if (poll(&pfd, 1, 100) > 0)
			mcp_flush(srv);
	}
}

static void serve_free(struct server *srv)
{
	int i;

	for (i = srv->nshells - 1; i >= 0; i--)
		tool_shell_close(srv, srv->shells[i], time_ms());
	for (i = 0; i < srv->nhist; i++)
		srv_cmd_free(srv->hist[i]);
	for (i = 0; i < SSHMCP_FANS_MAX; i++)
		srv_fan_free(srv->fans[i]);
	for (i = 0; i < SSHMCP_APPROVALS_MAX; i++)
		srv_approval_drop(&srv->appr[i]);
	for (i = 0; i < SSHMCP_TCACHE_MAX; i++)
		srv_tcache_drop(srv, i);
	for (i = 0; i < SSHMCP_WAITERS_MAX; i++)
		if (srv->wait[i].has_re)
			regfree(&srv->wait[i].re);
	prompt_free(&srv->prompt);
	redact_free(&srv->rd);
	pol_free(&srv->pol);
	audit_close(&srv->audit);
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
struct serve_opts {
	const char *config, *log, *audit;
	int read_only, accept_new, verbose;
	const char *allow_host[SSHMCP_POLICY_MAX];
	int nallow_host;
};

static int serve_parse(struct serve_opts *o, int argc, char **argv, struct err *e)
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
static int serve_setup(struct server *srv, const struct serve_opts *o, struct err *e)
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
		srv->log.fd = audit_file_open(logp, O_WRONLY | O_APPEND | O_CREAT, e);
		srv->log.own_fd = srv->log.fd >= 0;
		if (srv->log.fd < 0) {
			srv->log.fd = STDERR_FILENO;
			return -1;
		}
	}
	if ((o->audit != NULL || srv->pol.audit_path != NULL) &&
	    audit_open(&srv->audit, o->audit != NULL ? o->audit : srv->pol.audit_path, e) < 0)
		return -1;
	return 0;
}

static int serve_main(int argc, char **argv)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct err e = { .code = SSHMCP_OK };
	struct serve_opts o;
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
	if (serve_parse(&o, argc, argv, &e) < 0 || serve_setup(srv, &o, &e) < 0) {
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
	serve_run(srv);
out:
	serve_free(srv);
	free(srv);
	return rc;
}

/* ---------------------------------------------------------------- exec --- */

static void exec_prepare(struct loop *l, struct cli *c)
{
	struct sess *s = &c->sess;
	int64_t d;

	loop_add_sess(l, s);
	if (!s->in_eof && ring_space(&s->in) > 0 && s->state <= SESS_RUNNING)
		loop_add(l, STDIN_FILENO, POLLIN, LOOP_STDIN, c);
	if (ring_used(&s->out[0]) > 0)
		loop_add(l, c->out_fd[0], POLLOUT, LOOP_STDOUT, c);
	if (ring_used(&s->out[1]) > 0)
		loop_add(l, c->out_fd[1], POLLOUT, LOOP_STDERR, c);
	d = sess_deadline(s);
	if (d < l->deadline)
		l->deadline = d;
	loop_add_fwd(l, c->fwd, s);
}

static void exec_dispatch(struct loop *l, struct cli *c)
{
	int i;

	for (i = 0; i < l->n; i++) {
		short re = l->pfd[i].revents;

		if (re == 0)
			continue;
		switch (l->kind[i]) {
		case LOOP_SESS:
			((struct sess *)l->owner[i])->revents = re;
			if (c->fwd != NULL && l->pfd[i].events == POLLRDHUP && (re & ~POLLOUT))
				c->fwd->link_hup = 1;
			break;
		case LOOP_STDIN: cli_read_stdin(c); break;
		case LOOP_STDOUT: cli_write_out(c, 0); break;
		case LOOP_STDERR: cli_write_out(c, 1); break;
		case LOOP_FWD_LISTEN: ((struct fwd_listen *)l->owner[i])->rev = re; break;
		case LOOP_FWD_R:
			((struct fwd_conn *)l->owner[i])->rrev = re;
			((struct fwd_conn *)l->owner[i])->wrev = re;
			break;
		case LOOP_FWD_W: ((struct fwd_conn *)l->owner[i])->wrev = re; break;
		}
	}
	/* Every session steps each turn: libssh2 may hold whole packets that the socket no
	 * longer signals, and a drained ring must resume reading without waiting for POLLIN. */
	sess_step(&c->sess, time_ms());
	if (c->sess.t.permit_local && c->sess.t.local_command[0] != '\0' &&
	    c->sess.state >= SESS_OPENING &&
	    c->sess.state < SESS_DONE) {
		conn_local_command(&c->sess, &c->env);      /* once, before any output of ours */
		c->sess.t.local_command[0] = '\0';
	}
	fwd_step(c, time_ms());
	/* -f: the parent leaves once authenticated and the forwardings are up. */
	if (c->fork_bg && (c->sess.state == SESS_RUNNING || c->sess.state == SESS_READY) &&
	    fwd_ready(c->fwd))
		cli_background(c);
}

static int exec_loop_done(void *ctx)
{
	const struct sess *s = &((struct cli *)ctx)->sess;

	return s->state >= SESS_DONE && ring_used(&s->out[0]) == 0 && ring_used(&s->out[1]) == 0;
}

static void exec_loop_prepare(void *ctx, struct loop *l) { exec_prepare(l, ctx); }
static void exec_loop_dispatch(void *ctx, struct loop *l) { exec_dispatch(l, ctx); }

/* Run the exec session to its end; the loop leaves once output is flushed. */
static void exec_run(struct cli *c)
{
	const struct loop_client cl = { c, exec_loop_done, exec_loop_prepare, exec_loop_dispatch,
		INT64_MAX, 0 };
	sigset_t waitmask;

	loop_signals(&waitmask);
	sess_step(&c->sess, time_ms());
	/* SIGWINCH leaves the loop like any signal: the window change goes out, it goes on. */
	while (loop_drive(&cl, &waitmask) == 0 && sig_caught == SIGWINCH) {
		sig_caught = 0;
		cli_tty_winch(c);
	}
	if (sig_caught != 0)
		err_set(&c->sess.err, SSHMCP_ERR_INTERNAL, "Killed by signal %d.", (int)sig_caught);
}

static int exec_exit_status(struct cli *c)
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

static void exec_job(struct cli *c)
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
	c->job.forward_stdin = !c->nflag && !c->fork_bg;   /* -f implies -n, as in ssh */
	c->job.subsystem = c->sflag;
	if (c->Nflag) {                 /* -N, -W: no channel of the session's own */
		c->job.tunnel = 1;
		c->job.want_pty = 0;
		c->job.forward_stdin = 0;
	}
}

static void exec_print(const char *key, const char *val)
{
	char line[SSHMCP_LINE_MAX + 64];

	if (val != NULL && *val != '\0' && str_fmt(line, sizeof(line), "%s %s\n", key, val) == 0)
		(void)fd_write_all(STDOUT_FILENO, line, strlen(line));
}

/* A list kept for cfg_next_arg: one line an item, as ssh -G prints SetEnv and SendEnv. */
static void exec_print_list(const char *key, const char *list)
{
	char buf[SSHMCP_LINE_MAX], *p = buf, *arg;

	(void)str_copy(buf, sizeof(buf), list);
	while (cfg_next_arg(&p, &arg) == 0 && arg != NULL)
		exec_print(key, arg);
}

/* -G's forwarding lines: the command line's, then ssh_config's, as ssh lists them. */
static void exec_print_forwards(const struct cli *c, const struct target *t)
{
	char line[SSHMCP_LINE_MAX];
	struct fwd_spec sp;
	int i;

	exec_print("clearallforwardings", t->fwd_clear ? "yes" : "no");
	exec_print("exitonforwardfailure", t->fwd_exit_on_failure ? "yes" : "no");
	exec_print("gatewayports", c->gflag || t->gateway_ports ? "yes" : "no");
	for (i = 0; i < c->nfwds + t->nfwd; i++) {
		char kind = i < c->nfwds ? c->fwds[i].kind : t->fwd[i - c->nfwds][0];
		const char *arg = i < c->nfwds ? c->fwds[i].arg : t->fwd[i - c->nfwds] + 1;

		if (kind == 'W' || fwd_parse(kind, arg, &sp) < 0 || fwd_format(&sp, line,
		    sizeof(line)) < 0)
			continue;
		exec_print(kind == 'L' ? "localforward" : kind == 'R' ? "remoteforward" :
		    "dynamicforward", line);
	}
}

/* -G: the resolved configuration in ssh -G's words, for comparing with OpenSSH. */
static int exec_print_config(struct cli *c, struct err *e)
{
	static const char *const strict[] = { "true", "accept-new", "false", "ask" };
	char num[32], files[SSHMCP_LINE_MAX] = "";
	struct target t;
	int i;

	if (cli_target(c, c->dest, &t, e) < 0) {
		log_msg(&c->log, LOG_ERROR, "%s", e->msg);
		return err_table[e->code].exit_status;
	}
	exec_print("host", t.alias);
	exec_print("user", t.user);
	exec_print("hostname", t.host);
	(void)str_fmt(num, sizeof(num), "%d", t.port);
	exec_print("port", num);
	for (i = 0; i < t.nident; i++)
		exec_print("identityfile", t.ident[i]);
	for (i = 0; i < t.nkh_user; i++)
		(void)str_fmt(files + strlen(files), sizeof(files) - strlen(files), "%s%s",
		    i ? " " : "", t.kh_file[i]);
	exec_print("userknownhostsfile", files);
	exec_print("stricthostkeychecking", strict[t.strict]);
	exec_print("hostkeyalias", strcmp(t.kh_name, t.host) != 0 && t.kh_name[0] != '[' ?
	    t.kh_name : NULL);
	exec_print("proxyjump", t.proxy_jump);
	exec_print("proxycommand", t.proxy_command);
	exec_print("identitiesonly", t.identities_only ? "yes" : "no");
	exec_print("batchmode", t.batch_mode ? "yes" : "no");
	exec_print("hashknownhosts", t.hash_kh ? "yes" : "no");
	exec_print("updatehostkeys", (const char *const[]){ "false", "true", "ask" }[t.update_hk]);
	(void)str_fmt(num, sizeof(num), "%d", t.connect_timeout_s);
	exec_print("connecttimeout", num);
	(void)str_fmt(num, sizeof(num), "%d", t.alive_interval_s);
	exec_print("serveraliveinterval", num);
	(void)str_fmt(num, sizeof(num), "%d", t.alive_count);
	exec_print("serveralivecountmax", num);
	exec_print_list("setenv", t.setenv);
	exec_print_list("sendenv", t.sendenv);
	exec_print_forwards(c, &t);
	exec_print("addressfamily", t.family == AF_INET ? "inet" : t.family == AF_INET6 ? "inet6" :
	    "any");
	exec_print("bindaddress", t.bind_address);
	exec_print("bindinterface", t.bind_interface);
	exec_print("permitlocalcommand", t.permit_local ? "yes" : "no");
	exec_print("localcommand", t.local_command);
	exec_print("knownhostscommand", t.kh_command);
	exec_print("kexalgorithms", t.kex);
	exec_print("hostkeyalgorithms", t.hostkey);
	exec_print("ciphers", t.cipher);
	target_free(&t);
	return 0;
}

/* The operator's config applies to exec as to serve: hosts, commands, the audit. */
static int exec_policy(struct cli *c, struct err *e)
{
	int confirm = -1;

	c->audit.fd = -1;
	if (pol_load_default(&c->pol, &c->env, getenv("SSHMCP_CONFIG"), e) < 0 ||
	    redact_init(&c->rd) < 0)
		return -1;
	if (c->pol.audit_path != NULL && audit_open(&c->audit, c->pol.audit_path, e) < 0)
		return -1;
	if (c->command == NULL && pol_commands(&c->pol)) {
		err_set(e, SSHMCP_ERR_POLICY, "refused: an interactive shell cannot be checked "
		    "against the command policy");
		return -1;
	}
	if (c->command != NULL && pol_command(&c->pol, c->command, &confirm, e) < 0)
		return -1;
	if (confirm >= 0) {
		/* exec has no one to ask: ConfirmCommand needs serve and a client that elicits */
		err_set(e, SSHMCP_ERR_POLICY, "refused: ConfirmCommand %s needs a person's yes, and "
		    "exec cannot ask for it", c->pol.confirm[confirm].src);
		return -1;
	}
	return 0;
}

/* exec's audit lines: "started" (status < 0) before the command goes out, then its end. */
static int exec_audit(struct cli *c, const struct sess *s, const char *host, int status)
{
	struct audit_rec r = { .host = host, .user = s->t.user, .session = "exec",
		.command = c->command != NULL ? c->command : "(shell)",
		.status = status < 0 ? "started" : s->err.code != SSHMCP_OK ? "failed" :
		s->timed_out ? "timeout" : "completed", .has_exit = status >= 0, .exit_code = status,
		.bytes = s->out[0].head + s->out[1].head,
		.duration_ms = status < 0 ? 0 : time_ms() - s->t_start };

	return audit_write(&c->audit, &c->rd, &r);
}

static void main_version(int fd);

static int exec_main(int argc, char **argv)
{
	struct cli c;
	struct err e = { .code = SSHMCP_OK };
	int status, i;

	memset(&c, 0, sizeof(c));
	c.log = (struct log){ .fd = STDERR_FILENO, .level = LOG_INFO };
	c.audit.fd = -1;
	cfg_env_init(&c.env);
	pol_init(&c.pol);
	if (cli_parse(&c, argc, argv, &e) < 0 || (!c.Vflag && cli_check_modes(&c, &e) < 0)) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		cli_usage(STDERR_FILENO);
		status = 2;
		goto out;
	}
	if (c.Vflag) {                  /* ssh -V: the version on stderr */
		main_version(STDERR_FILENO);
		status = 0;
		goto out;
	}
	cli_notes(&c);
	exec_job(&c);
	if (exec_policy(&c, &e) < 0) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		status = err_table[e.code].exit_status;
		goto out;
	}
	if (c.hostlist != NULL) {
		status = fanout_main(&c);
		goto out;
	}
	if (c.Gflag) {
		status = exec_print_config(&c, &e);
		goto out;
	}
	if (c.device != NULL) {
		status = devexec_main(&c, c.device);
		goto out;
	}
	if (c.ctl_cmd != NULL) {
		status = cli_target(&c, c.dest, &c.sess.t, &e) < 0 ?
			(log_msg(&c.log, LOG_ERROR, "%s", e.msg), err_table[e.code].exit_status) :
			cli_control(&c, &c.sess.t);
		target_free(&c.sess.t);
		goto out;
	}
	if (sess_init(&c.sess, &c.job, &c.log, SSHMCP_STDIN_RING, time_ms()) < 0 ||
	    cli_target(&c, c.dest, &c.sess.t, &e) < 0 ||
	    pol_host_check(&c.pol, &c.sess.t, cli_resolve_plain, &c, &e) < 0 ||
	    fwd_init(&c, &c.sess.t, &e) < 0 || (c.fwd != NULL && fwd_listen_all(c.fwd, &e) < 0) ||
	    (exec_audit(&c, &c.sess, c.sess.t.alias, -1) < 0 && (err_set(&e, SSHMCP_ERR_IO, "the "
	    "audit file cannot be written: the command was not sent"), 1))) {
		log_msg(&c.log, LOG_ERROR, "%s", e.msg);
		status = err_table[e.code != SSHMCP_OK ? e.code : SSHMCP_ERR_NOMEM].exit_status;
		goto out;
	}
	sess_start(&c.sess, time_ms());
	cli_local_init(&c);
	cli_tty_signals(&c);
	exec_run(&c);
	cli_local_restore(&c);
	status = exec_exit_status(&c);
	(void)exec_audit(&c, &c.sess, c.sess.t.alias, status);
out:
	pol_free(&c.pol);
	redact_free(&c.rd);
	audit_close(&c.audit);
	fwd_free(c.fwd);
	sess_free(&c.sess);
	cfg_free(&c.cfg);
	free(c.command);
	for (i = 0; i < c.nopts; i++)
		free(c.opts[i]);
	if (c.log.own_fd)
		close(c.log.fd);
	return status;
}

/* ================================================================ main === */

/* Secrets live in this process's memory: no core dumps, no ptrace by other processes. */
static void main_harden(void)
{
	struct rlimit rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* A thousand sessions need a socket (and a hop's, a tunnel's) each: the soft limit
	 * of open files (often 1024) goes up to what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < (rlim_t)SSHMCP_POLL_FDS_MAX + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)SSHMCP_POLL_FDS_MAX + 64 ? rl.rlim_max :
		    (rlim_t)SSHMCP_POLL_FDS_MAX + 64;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void main_version(int fd)
{
	char line[512];

	if (str_fmt(line, sizeof(line), "sshmcp %s (%s; %s; runtime libssh2 %s)\n",
	    SSHMCP_VERSION, SSHMCP_DEP_LIBSSH2, SSHMCP_DEP_MBEDTLS, libssh2_version(0)) == 0)
		(void)fd_write_all(fd, line, strlen(line));
}

#ifndef SSHMCP_NO_MAIN
int main(int argc, char **argv)
{
	int status;

	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		main_version(STDOUT_FILENO);
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
		status = exec_main(argc - 2, argv + 2);
	else if (argc == 3 && strcmp(argv[1], "audit-verify") == 0)
		status = audit_verify(argv[2]);
	else if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		status = serve_main(argc - 2, argv + 2);
	else if (argc < 2 || argv[1][0] == '-')
		status = serve_main(argc - 1, argv + 1);          /* `sshmcp [options]` serves */
	else {
		cli_usage(STDERR_FILENO);
		status = 2;
	}
	libssh2_exit();
	return status;
}

#endif
