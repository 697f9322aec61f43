/*
 * fuzz_config.c — libFuzzer target for sshmcp's ssh_config and known_hosts readers.
 *
 *   make fuzz-config         (build/fuzz_config, clang, ASan+UBSan, on build/fuzz deps)
 *
 * Input: one selector byte, then a file. Bit 0 of the selector picks the reader: clear,
 * the file is an ssh_config read as `-F file` (cfg_load, then cfg_resolve, which follows
 * ProxyJump back through the same file); set, it is a known_hosts file scanned for two host
 * names and two keys (kh_scan_file, kh_split, kh_host_matches, kh_hashed_match). Bits 1-2
 * pick the host alias the config is resolved for.
 *
 * The file lives in a memfd, rewritten per input: no file system side effects. Two libc
 * calls are replaced for the included program only, so an input cannot reach outside:
 * fork() fails (Match exec would run the input's command; it now sees "no match"), and
 * glob() — Include's only way to find files — answers with the input file itself, at most
 * FC_INCLUDES_MAX times per input, so nesting up to the depth limit is still reachable.
 */
#define SSHMCP_NO_MAIN
#define fork fc_no_fork
#define glob(pat, flags, errfunc, pglob) fc_glob(pat, flags, errfunc, pglob)
#include "../sshmcp.c"
#undef glob
#undef fork

#include <sys/mman.h>

/* <glob.h> declared fc_glob in its place; the real one is still in libc. */
extern int glob(const char *pat, int flags, int (*errfunc)(const char *, int), glob_t *pglob);

#define FC_INCLUDES_MAX (SSHMCP_CFG_INCLUDE_DEPTH + 1)  /* one past the depth limit */

static int fc_fd = -1;
static char fc_path[64];                 /* /proc/self/fd/N of the memfd */
static int fc_includes;                  /* glob() answers left for this input */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Declared by <unistd.h> and <glob.h> under these names through the defines above. */
pid_t fc_no_fork(void)
{
	errno = EAGAIN;
	return -1;
}

int fc_glob(const char *pat, int flags, int (*errfunc)(const char *, int), glob_t *pglob)
{
	(void)pat;
	if (fc_includes <= 0)
		return GLOB_NOMATCH;
	fc_includes--;
	return glob(fc_path, flags, errfunc, pglob);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fc_fd = memfd_create("fuzz_config", 0);
	if (fc_fd < 0 || str_fmt(fc_path, sizeof(fc_path), "/proc/self/fd/%d", fc_fd) < 0)
		abort();
	return 0;
}

static void fc_ssh_config(unsigned sel)
{
	static const char *const aliases[] = { "web1", "db.example.com", "10.0.0.1", "WEB1" };
	struct cfg_env env = { .home = "/nonexistent/home", .luser = "fuzz" };
	struct target t;
	struct cfg c;
	struct err e;

	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	memset(&e, 0, sizeof(e));
	(void)str_copy(t.alias, sizeof(t.alias), aliases[(sel >> 1) & 3]);
	c.host = t.alias;
	c.user = t.user;
	if (cfg_load(&c, &env, fc_path, &e) == 0)
		(void)cfg_resolve(&c, &env, &t, &e);
	target_free(&t);
	cfg_free(&c);
}

static void fc_known_hosts(void)
{
	/* ssh-ed25519 with key bytes 0..31, and the type name of a key it does not match. */
	static const unsigned char ed[] = {
		0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32,
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
		23, 24, 25, 26, 27, 28, 29, 30, 31,
	};
	static const unsigned char ec[] = {
		0, 0, 0, 19, 'e', 'c', 'd', 's', 'a', '-', 's', 'h', 'a', '2', '-', 'n', 'i', 's',
		't', 'p', '2', '5', '6', 0, 0, 0, 8, 'n', 'i', 's', 't', 'p', '2', '5', '6',
	};
	static const char *const names[] = { "web1", "[web1]:2222" };
	size_t i;

	for (i = 0; i < 4; i++) {
		struct kh_check r;

		memset(&r, 0, sizeof(r));
		kh_scan_file(fc_path, names[i & 1], i < 2 ? ed : ec, i < 2 ? sizeof(ed) : sizeof(ec),
		    &r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || ftruncate(fc_fd, 0) < 0 ||
	    pwrite(fc_fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
		return 0;
	fc_includes = FC_INCLUDES_MAX;
	if (data[0] & 1)
		fc_known_hosts();
	else
		fc_ssh_config(data[0]);
	return 0;
}
