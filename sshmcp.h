/*
 * sshmcp.h — types, limits and error codes shared by sshmcp.c and its unit tests.
 *
 * Every limit the program enforces is named here; code never uses a bare number for one.
 */
#ifndef SSHMCP_H
#define SSHMCP_H

#include <stddef.h>
#include <stdint.h>

#define SSHMCP_VERSION "0.1.0"

/* ------------------------------------------------------------------ limits --- */
#define SSHMCP_IO_CHUNK          (64 * 1024)        /* one channel read or local write */
#define SSHMCP_STREAM_RING       (256 * 1024)       /* exec: per stream, remote -> local */
#define SSHMCP_STDIN_RING        (64 * 1024)        /* exec: local stdin -> remote */
#define SSHMCP_TTY_WRITE_MAX     4096               /* blocking fds: never more than PIPE_BUF */
#define SSHMCP_HEAP_MIN_SHIFT    6                  /* libssh2 blocks: smallest size class 64 B */
#define SSHMCP_HEAP_CLASSES      38                 /* ... to 40 KiB (a packet), 4 per doubling */
#define SSHMCP_HEAP_CACHE        (3 * 1024 * 1024)  /* freed blocks kept per SSH session */
#define SSHMCP_CONNECT_TIMEOUT_S 10                 /* ConnectTimeout when unset */
#define SSHMCP_RESOLVE_ADDRS     16                 /* addresses of a name tried in turn */
#define SSHMCP_ALIVE_REPLY_MS    300                /* the last keepalive's answer may take this */
#define SSHMCP_FOP_ROUNDS        8                  /* file steps per wake while replies wait */
#define SSHMCP_CLOSE_GRACE_MS    2000               /* after a timeout: TERM, then KILL, then close */
#define SSHMCP_MAX_SESSIONS      64
#define SSHMCP_DEFAULT_FANOUT    64
#define SSHMCP_FAN_HOSTS_MAX     4096               /* hosts in one -H list */
#define SSHMCP_FAN_STDIN_MAX     (1024 * 1024)      /* -H - : the host list on stdin */
#define SSHMCP_FAN_LINE          4096               /* a longer line is cut and prefixed again */
#define SSHMCP_FAN_QUEUE         (1024 * 1024)      /* prefixed lines waiting for stdout/stderr */
#define SSHMCP_FAN_KEEP          (256 * 1024)       /* --json: newest output kept per stream */
#define SSHMCP_FANS_MAX          8                  /* execute_on_hosts calls at once */
#define SSHMCP_MAX_TIMEOUT_S     (7 * 24 * 3600)    /* --timeout sanity bound */
#define SSHMCP_LINE_MAX          4096               /* ssh_config / known_hosts line */
#define SSHMCP_JUMPS_MAX         8                  /* ProxyJump hops */
#define SSHMCP_CFG_INCLUDE_DEPTH 16                 /* Include nesting, as ssh */
#define SSHMCP_CFG_STAMPS        32                 /* files one resolution may read */
#define SSHMCP_TCACHE_MAX        64                 /* resolved destinations serve keeps */
#define SSHMCP_CFG_OPTS_MAX      64                 /* -o options on the command line */
#define SSHMCP_MAX_IDENTITIES    16                 /* IdentityFile entries */
#define SSHMCP_MAX_KH_FILES      8                  /* UserKnownHostsFile + Global entries */
#define SSHMCP_PATH_MAX          4096
#define SSHMCP_HOST_MAX          1025               /* NI_MAXHOST */
#define SSHMCP_KH_COMMAND_ARGS   64                 /* KnownHostsCommand's arguments */
#define SSHMCP_IFNAME_MAX        16                 /* IFNAMSIZ: BindInterface */
#define SSHMCP_USER_MAX          256
#define SSHMCP_SECRET_MAX        1024               /* password / passphrase */
#define SSHMCP_MASK_MAX          8                  /* secrets a session blanks in its output */
#define SSHMCP_MASK_MIN          4                  /* shorter ones would blank ordinary text */
#define SSHMCP_CMD_MAX           (256 * 1024)       /* joined command line */
#define SSHMCP_KEYBLOB_MAX       16384              /* a host key blob (RSA 16384 fits) */
#define SSHMCP_HOSTKEYS_MAX      16                 /* host keys a server may announce */
#define SSHMCP_HKU_PROVE_MS      5000               /* UpdateHostKeys: the server's proof */
#define SSHMCP_KEYFILE_MAX       (64 * 1024)        /* an identity or certificate file */
#define SSHMCP_ALGS_MAX          1024               /* an algorithm list */
#define SSHMCP_ERRMSG_MAX        1024
#define SSHMCP_LOG_LINE_MAX      2048
#define SSHMCP_BANNER_PIECE      512                /* a server banner is escaped this much at once */
#define SSHMCP_POLL_FDS_MAX      (3 + 4 * SSHMCP_SESSIONS_HARD)   /* socket, tunnel, hop */

/* serve: sessions, commands, MCP */
#define SSHMCP_CMD_RING          (1024 * 1024)      /* output ring per command */
#define SSHMCP_CMD_RING_FIRST    4096               /* ...as first allocated: most output fits */
#define SSHMCP_MAX_BYTES_DEFAULT (64 * 1024)        /* output returned per response */
#define SSHMCP_MAX_BYTES_MAX     SSHMCP_CMD_RING
#define SSHMCP_QUEUE_MAX         16                 /* queued commands per session */
#define SSHMCP_HISTORY_MAX       64                 /* commands remembered (list_commands) */
#define SSHMCP_WAITERS_MAX       256                /* requests waiting on a command */
#define SSHMCP_MSG_MAX           (4 * 1024 * 1024)  /* one MCP message (a line) */
#define SSHMCP_OUTQ_MAX          (64 * 1024 * 1024) /* unread responses: stop reading above */
#define SSHMCP_TIMEOUT_DEFAULT_S 30
#define SSHMCP_TIMEOUT_MAX_S     300
#define SSHMCP_WAIT_MAX_S        50                 /* default wait: min(timeout, this) */
#define SSHMCP_QUIET_MS          150                /* silence before a prompt counts */
#define SSHMCP_INTERRUPT_GRACE_MS 2000              /* Ctrl-C, then close the channel */
#define SSHMCP_TIMEOUT_SLACK_MS  1000               /* a timeout's result is final by grace + this */
#define SSHMCP_ELICIT_MS         120000             /* the client's user decides on a host key */
#define SSHMCP_APPROVALS_MAX     16                 /* ConfirmCommand questions open at once */
#define SSHMCP_RESET_MAX         16                 /* lost sessions remembered for session_reset */
#define SSHMCP_SHUTDOWN_GRACE_MS 1000               /* running commands get this after Ctrl-C */
#define SSHMCP_SHELL_START_MS    10000              /* shell setup must answer by then */
#define SSHMCP_PROGRESS_MS       1000               /* progress notification period */
#define SSHMCP_PTY_COLS          200
#define SSHMCP_PTY_ROWS          50
#define SSHMCP_NAME_MAX          64                 /* session names, command ids */
#define SSHMCP_PROMPT_MAX        256                /* the last line kept for prompt matching */
#define SSHMCP_DEV_LINE_MAX      4096               /* a device's line, kept whole for erasures */
#define SSHMCP_DEV_SETTLE_MS     20                 /* quiet after a device prompt before it counts */
#define SSHMCP_DEV_FAST_MS       2                  /* ... the last prompt's text after output
                                                     * that came without a pause (dev_fast) */
#define SSHMCP_DEV_RELEARN_MS    1000               /* quiet before an unlearned prompt counts */
#define SSHMCP_DEV_DETECT_MS     800                /* no sentinel by then: try the device profiles */
#define SSHMCP_DEV_PROBES        8                  /* newlines sent at login to find the prompt */
#define SSHMCP_DEV_ERR_LINES     4                  /* a device's error comes this early */
#define SSHMCP_DEV_ENABLE_MS     10000              /* enable (and its password) must be done by then */
#define SSHMCP_INPUT_MAX         (64 * 1024)        /* send_input text */
#define SSHMCP_KEYS_MAX          64                 /* named keys in one send_input */
#define SSHMCP_SESSIONS_HARD     1024               /* MaxSessions can be raised up to this */
#define SSHMCP_TIMEOUT_HARD_S    3600               /* MaxTimeout can be raised up to this */
#define SSHMCP_RING_MIN          (64 * 1024)        /* RingSize bounds */
#define SSHMCP_RING_MAX          (64 * 1024 * 1024)
#define SSHMCP_POLICY_MAX        128                /* AllowHost / AllowCommand / DenyCommand */
#define SSHMCP_POLICY_SEGS       256                /* simple commands checked in one line */
#define SSHMCP_POLICY_WORDS      4096               /* words in one line, nested ones included */
#define SSHMCP_POLICY_LINE_MAX   (64 * 1024)        /* a longer line is refused under a policy */
#define SSHMCP_POLICY_DEPTH      8                  /* $( sh -c " eval ... " ) nesting */
#define SSHMCP_AUDIT_TAIL        (64 * 1024)        /* read back to continue the hash chain */
#define SSHMCP_FILE_MAX          (1024 * 1024)      /* read_file: bytes per call */
#define SSHMCP_SUDO_READ_MAX     (512 * 1024)       /* sudo read_file: its base64 fits a ring */
#define SSHMCP_FWD_SPECS_MAX     32                 /* -L/-R/-D/-W options on one command line */
#define SSHMCP_FWD_LISTEN_MAX    64                 /* local listening sockets (-L/-D, v4 and v6) */
#define SSHMCP_FWD_CONNS_MAX     128                /* forwarded connections open at once */
#define SSHMCP_FWD_RING          (64 * 1024)        /* per forwarded connection, each way */
#define SSHMCP_FWD_BACKLOG       16                 /* listen() queue, as ssh's SSH_LISTEN_BACKLOG */
#define SSHMCP_AGENT_PENDING     16                 /* -A: agent channels opened in one turn */
#define SSHMCP_SOCKS_MAX         1024               /* a SOCKS4a/5 request: 2 names of 255 and more */

_Static_assert(SSHMCP_IO_CHUNK <= SSHMCP_STREAM_RING, "a read must fit an empty ring");
_Static_assert(SSHMCP_SOCKS_MAX <= SSHMCP_FWD_RING, "a SOCKS request's leftover fits the ring");
_Static_assert(SSHMCP_FWD_LISTEN_MAX + 2 * SSHMCP_FWD_CONNS_MAX + 8 <= SSHMCP_POLL_FDS_MAX,
    "forwarding fds fit the poll set");
_Static_assert(SSHMCP_TTY_WRITE_MAX <= SSHMCP_IO_CHUNK, "tty writes are chunk-sized at most");
_Static_assert(SSHMCP_DEFAULT_FANOUT <= SSHMCP_MAX_SESSIONS, "fan-out uses sessions");
_Static_assert(SSHMCP_FAN_LINE + SSHMCP_HOST_MAX + 3 <= SSHMCP_FAN_QUEUE, "a line fits the queue");
_Static_assert(SSHMCP_MAX_BYTES_DEFAULT <= SSHMCP_CMD_RING, "a response fits the ring");
_Static_assert(SSHMCP_SUDO_READ_MAX / 3 * 4 * 78 / 76 + 4096 <= SSHMCP_CMD_RING,
    "a sudo read's base64 lines fit the command ring");
_Static_assert(SSHMCP_WAIT_MAX_S <= SSHMCP_TIMEOUT_MAX_S, "wait is bounded by timeout");

/* ------------------------------------------------------------------ errors --- */
/* One table in sshmcp.c maps each code to its MCP name and CLI exit status. */
enum sshmcp_err {
	SSHMCP_OK = 0,
	SSHMCP_ERR_USAGE,          /* bad command line or tool argument */
	SSHMCP_ERR_CONFIG,         /* malformed ssh_config line */
	SSHMCP_ERR_RESOLVE,        /* host name does not resolve */
	SSHMCP_ERR_CONNECT,        /* TCP connect failed or timed out */
	SSHMCP_ERR_HANDSHAKE,      /* SSH key exchange failed */
	SSHMCP_ERR_HOSTKEY,        /* host key changed or revoked */
	SSHMCP_ERR_HOSTKEY_UNKNOWN,/* host key not in known_hosts, strict */
	SSHMCP_ERR_AUTH,           /* every method failed */
	SSHMCP_ERR_CHANNEL,        /* channel open/exec refused */
	SSHMCP_ERR_TIMEOUT,        /* command deadline passed */
	SSHMCP_ERR_SESSION_LOST,   /* link died */
	SSHMCP_ERR_IO,             /* local I/O */
	SSHMCP_ERR_BUSY,           /* session queue full */
	SSHMCP_ERR_REFUSED,        /* policy: streaming command, read-only, host not allowed */
	SSHMCP_ERR_NOT_FOUND,      /* unknown command_id or session */
	SSHMCP_ERR_INCOMPLETE,     /* the shell wants more input: unbalanced quotes */
	SSHMCP_ERR_PERMISSION,     /* file: permission denied */
	SSHMCP_ERR_IS_DIRECTORY,   /* file: a directory where a file was meant */
	SSHMCP_ERR_NO_SPACE,       /* file: disk full or quota */
	SSHMCP_ERR_POLICY,         /* refused by the operator's policy */
	SSHMCP_ERR_TOO_LARGE,      /* more than a limit allows */
	SSHMCP_ERR_DEVICE,         /* a network device rejected the command */
	SSHMCP_ERR_NOMEM,
	SSHMCP_ERR_INTERNAL,
	SSHMCP_ERR_COUNT
};

/* ------------------------------------------------------------------ ring --- */
/* A fixed byte ring addressed by absolute offsets: `head` counts every byte ever written,
 * `tail` every byte consumed, so head - tail <= cap always and offsets never wrap in
 * practice (64 bits). Memory is fixed at creation: output never grows it. */
struct ring {
	unsigned char *buf;
	size_t cap;
	size_t max;         /* ring_init_grow: cap doubles up to this as appends need room */
	uint64_t head, tail;
};

/* ---------------------------------------------------------------- screen --- */
/* The terminal screen model of a session (sshmcp.c, section "terminal screen", prefix scr_).
 * Both grids (main and alternate) are allocated at init and resize for the size asked, never
 * grown by output; every string the stream can open is bounded. */
#define SSHMCP_SCR_COLS_DEFAULT  80
#define SSHMCP_SCR_ROWS_DEFAULT  24
#define SSHMCP_SCR_COLS_MAX      500
#define SSHMCP_SCR_ROWS_MAX      200
#define SSHMCP_SCR_MARKS         32                 /* combining marks kept per line */
#define SSHMCP_SCR_CELL_BYTES    21                 /* UTF-8 of a cell with its marks (tmux) */
#define SSHMCP_SCR_TITLE_MAX     256                /* OSC 0/2 title, bytes with the NUL */
#define SSHMCP_SCR_REPLY_MAX     256                /* answers to queries not yet drained */
#define SSHMCP_SCR_STRING_MAX    (64 * 1024)        /* an OSC/DCS/APC/PM/SOS string ends here */
#define SSHMCP_SCR_STRING_IDLE_MS 5000              /* ... or after this long quiet (scr_idle) */
#define SSHMCP_SCR_PARAMS        24                 /* CSI parameters: 24 make it void (tmux) */
#define SSHMCP_SCR_PARAM_BYTES   64                 /* CSI parameter bytes: as many void it */
#define SSHMCP_SCR_KEY_MAX       16                 /* the longest key sequence, with its NUL */
#define SSHMCP_SCR_KEYNAME_MAX   24                 /* a send_keys key name, with its NUL */
#define SSHMCP_SCR_SETTLE_MS     100                /* send_keys: quiet after the keys = drawn */
#define SSHMCP_SCR_WAIT_DEFAULT_S 5                 /* send_keys: wait for quiet or wait_for */
#define SSHMCP_SCR_WAIT_FOR_MAX  256                /* wait_for: an ERE, bytes with the NUL */
/* One row as text: each cell up to 4 bytes, marks 4 each, the NUL. */
#define SSHMCP_SCR_ROW_TEXT_MAX  (SSHMCP_SCR_COLS_MAX * 4 + SSHMCP_SCR_MARKS * 4 + 1)

_Static_assert(SSHMCP_SCR_COLS_MAX <= 65535, "a mark's column is 16 bits");
_Static_assert(SSHMCP_SCR_MARKS <= 255, "a line's mark count is 8 bits");
_Static_assert(SSHMCP_SCR_COLS_DEFAULT <= SSHMCP_SCR_COLS_MAX &&
    SSHMCP_SCR_ROWS_DEFAULT <= SSHMCP_SCR_ROWS_MAX, "the default size is allowed");
_Static_assert(SSHMCP_PTY_COLS <= SSHMCP_SCR_COLS_MAX && SSHMCP_PTY_ROWS <= SSHMCP_SCR_ROWS_MAX,
    "a shell's PTY fits a screen");
_Static_assert(SSHMCP_SCR_TITLE_MAX + 8 <= SSHMCP_SCR_STRING_MAX, "a title fits a string");
_Static_assert(SSHMCP_SCR_WAIT_DEFAULT_S <= SSHMCP_TIMEOUT_MAX_S, "send_keys waits within bounds");

/* A combining mark (or a joined character after a ZWJ) and the column of the cell it is on. */
struct scr_mark {
	uint32_t cp;
	uint16_t col;
};

/* A row: cells (code point | SCR_WIDE/SCR_PAD/SCR_ACS), its marks in arrival order, and the
 * tmux line flags the model needs (an autowrap left it; a cell was ever set since cleared). */
struct scr_line {
	uint32_t *cell;
	struct scr_mark *mark;
	uint8_t nmark;
	uint8_t wrapped;
	uint8_t used;
};

/* DECSC/DECRC state (ESC 7 / ESC 8, CSI s / CSI u). */
struct scr_saved {
	int cx, cy;
	int origin;
	int g[2], gl;
};

struct scr {
	/* Read by the engine. */
	int cols, rows;
	int cx, cy;                /* cursor; cx == cols: the last column was written (pending wrap) */
	int alt;                   /* the alternate screen is shown */
	unsigned mode;             /* SCR_M_*: cursor visible, application cursor keys/keypad, ... */
	uint64_t gen;              /* bumped by each feed or resize that changed the screen or title */
	uint64_t takes;            /* times the program took the screen: alternate screen, CUP/HVP,
	                            * VPA, DECSTBM (a line editor or progress bar never does) */
	int sc_open;               /* ESC 7 / CSI s without its ESC 8 / CSI u yet: addressing */
	int sc_takes;              /* in it counts only if the cursor is never restored (apt's
	                            * status line: scroll region and bar drawn between the two) */
	char title[SSHMCP_SCR_TITLE_MAX];     /* OSC 0/2: UTF-8 without control bytes */
	unsigned char reply[SSHMCP_SCR_REPLY_MAX];   /* answers to queries: scr_replies drains */
	size_t nreply;
	/* Private to the terminal screen section. */
	void *mem;                 /* both grids: lines, marks and cells in one allocation */
	struct scr_line *grid[2];  /* [0] main, [1] alternate; each rows lines */
	int top, bot;              /* scroll region, inclusive */
	unsigned char tabs[(SSHMCP_SCR_COLS_MAX + 7) / 8];
	struct scr_saved saved;    /* DECSC */
	int alt_cx, alt_cy, alt_saved;        /* the cursor saved by ?1049h */
	int g[2], gl;              /* G0/G1: 1 = DEC special graphics; gl: G1 shifted in (SO) */
	int st;                    /* parser state (enum scr_state) */
	int discard;               /* the sequence overflowed a bound: ignore it */
	int ninter, nparam, plen;
	char inter[4];
	int param[SSHMCP_SCR_PARAMS];
	uint32_t u_cp;             /* a UTF-8 sequence in progress: value, bytes still needed, and */
	int u_need;                /* the range the next byte must be in */
	unsigned char u_lo, u_hi;
	int32_t last;              /* the last printed character (REP), -1 after a control */
	int zwj;                   /* a zero width joiner came: the next character joins the cell */
	int dirty;                 /* this feed changed something: gen moves on */
	size_t slen;               /* bytes in the open string (OSC, DCS, ...) */
	size_t oscn;
	char osc[SSHMCP_SCR_TITLE_MAX + 8];   /* the OSC's first bytes: "2;title" */
};

#endif
