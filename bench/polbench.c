/*
 * polbench.c — the time the policy check takes per command line: pol_command over a set of
 * lines an agent sends (short and long, accepted and refused) under each kind of policy,
 * ITER times each; prints, per policy, the median and the worst line's median in µs.
 * bench/policy.sh builds and runs it. Includes the program, like the unit tests.
 */
#define SSHMCP_NO_MAIN
#include "../sshmcp.c"

#define PB_ITER 2000

static const char *const pb_lines[] = {
	"ls -la /var/log",
	"cat /etc/os-release",
	"grep -r -n 'error' /var/log/syslog | tail -n 50",
	"systemctl status nginx --no-pager",
	"journalctl -u sshd -n 100 --no-pager | grep -v debug",
	"ps aux | sort -k 3 -n -r | head -n 10",
	"df -h && free -m && uptime",
	"git -C /srv/app log --oneline -n 20",
	"sed -n '1,200p' /etc/nginx/nginx.conf",
	"find /etc -name '*.conf' -newer /etc/hostname -type f",
	"ip -br addr show; ip route show",
	"echo \"$HOME\" \"$USER\"; cd /tmp && ls",
	"sudo -n cat /etc/shadow | wc -l",
	"rm -rf /tmp/build-cache",
	"echo $(id) `whoami`",
	"awk '{print $1}' /var/log/nginx/access.log | sort | uniq -c | sort -rn | head",
	"timeout 5 env LANG=C nice -n 5 grep -c x /etc/passwd",
	"sh -c 'ls /; cat /etc/hostname'",
	"for i in 1 2 3; do echo $i; done",
	"tar -czf /tmp/etc.tgz /etc 2>/dev/null",
};
#define PB_NLINES (sizeof(pb_lines) / sizeof(pb_lines[0]))

static int64_t pb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int pb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* µs per check of one line: the median of ITER timed checks. */
static double pb_line(const struct policy *p, const char *line, int *ok)
{
	static double t[PB_ITER];
	struct err e;
	int i, confirm;

	for (i = 0; i < PB_ITER; i++) {
		int64_t t0 = pb_now_ns();

		*ok = pol_command(p, line, &confirm, &e) == 0;
		t[i] = (double)(pb_now_ns() - t0) / 1000.0;
	}
	qsort(t, PB_ITER, sizeof(t[0]), pb_cmp);
	return t[PB_ITER / 2];
}

static void pb_policy(const char *name, const struct policy *p)
{
	double med[PB_NLINES], worst = 0;
	size_t i, accepted = 0;
	const char *wl = "";

	for (i = 0; i < PB_NLINES; i++) {
		int ok;

		med[i] = pb_line(p, pb_lines[i], &ok);
		accepted += (size_t)ok;
		if (med[i] > worst)
			worst = med[i], wl = pb_lines[i];
	}
	qsort(med, PB_NLINES, sizeof(med[0]), pb_cmp);
	printf("%-10s %2zu lines (%2zu accepted)  median %6.2f us  worst %6.2f us  (%.40s)\n", name,
	    PB_NLINES, accepted, med[PB_NLINES / 2], worst, wl);
}

int main(void)
{
	struct policy deny, allow, ro, all;
	struct err e;

	(void)main_version;
	(void)main_harden;
	(void)exec_main;
	(void)serve_main;
	(void)audit_verify;
	pol_init(&deny);
	pol_init(&allow);
	pol_init(&ro);
	pol_init(&all);
	ro.read_only = all.read_only = 1;
	if (pol_add_rule(&deny, PK_DENYCMD, "^(rm|shutdown|reboot|mkfs)( |$)", "bench", &e) < 0 ||
	    pol_add_rule(&deny, PK_DENYCMD, "(^| )-rf( |$)", "bench", &e) < 0 ||
	    pol_add_rule(&allow, PK_ALLOWCMD, "^(ls|cat|grep|tail|head|ps|df|free|uptime|git|sed|"
	    "find|ip|echo|sort|uniq|awk|wc|systemctl|journalctl)( |$)", "bench", &e) < 0 ||
	    pol_add_rule(&all, PK_DENYCMD, "^rm( |$)", "bench", &e) < 0 ||
	    pol_add_rule(&all, PK_CONFIRMCMD, "^systemctl (restart|stop)", "bench", &e) < 0 ||
	    pol_add_rule(&all, PK_ALLOWCMD, "^(ls|cat|grep|ps|df)( |$)", "bench", &e) < 0) {
		fprintf(stderr, "polbench: %s\n", e.msg);
		return 1;
	}
	pb_policy("DenyCommand", &deny);
	pb_policy("AllowCommand", &allow);
	pb_policy("ReadOnly", &ro);
	pb_policy("all three", &all);
	pol_free(&deny);
	pol_free(&allow);
	pol_free(&ro);
	pol_free(&all);
	return 0;
}
