/*
 * test_config.c - CUnit tests of the daemon runtime in common/: the key
 * table (file, command line, -h, dump, free), the log lines, the PID and
 * port files, and daemonize().
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

void	init_config_tests(void);

/* A server's settings as the tests see them. */
struct tconf {
	struct conf_addr	 listen;
	char			*cert;
	char			*key;
	long			 hb_interval;
	long			 hb_timeout;
	int			 syslog;
	int			 level;
	size_t			 max_frame;
	size_t			 cache;
	long			 threads;
	struct conf_list	 platforms;
	char			*audit;
	int			 untouched;	/* not in the table */
};

static const struct conf_key tkeys[] = {
	{ "listen", CONF_ADDR, offsetof(struct tconf, listen),
	    "0.0.0.0:5222", 0, 0, "address to accept links on" },
	{ "cert", CONF_STR, offsetof(struct tconf, cert), NULL, 0, 0,
	    "FILE certificate (PEM)" },
	{ "key", CONF_STR, offsetof(struct tconf, key), NULL, 0, 0,
	    "private key (PEM)" },
	{ "heartbeat-interval", CONF_INT,
	    offsetof(struct tconf, hb_interval), "30", 1, 3600,
	    "seconds of silence before a Check" },
	{ "heartbeat-timeout", CONF_INT, offsetof(struct tconf, hb_timeout),
	    "90", 2, 7200, "seconds of silence before closing" },
	{ "syslog", CONF_BOOL, offsetof(struct tconf, syslog), "no", 0, 0,
	    "log to syslog" },
	{ "log-level", CONF_LEVEL, offsetof(struct tconf, level), "info",
	    0, 0, "least urgent level logged" },
	{ "max-frame", CONF_SIZE, offsetof(struct tconf, max_frame), "1M",
	    4096, 16L << 20, "largest frame" },
	{ "cache-size", CONF_SIZE, offsetof(struct tconf, cache), NULL,
	    0, 0, "an unbounded size" },
	{ "threads", CONF_INT, offsetof(struct tconf, threads), "0", 0, 256,
	    "worker threads, 0 = one per core" },
	{ "platform", CONF_STRLIST, offsetof(struct tconf, platforms), NULL,
	    0, 0, "platform server" },
	{ "audit", CONF_STR, offsetof(struct tconf, audit),
	    "/var/log/nap/audit.log", 0, 0, "audit log" },
	{ NULL, 0, 0, NULL, 0, 0, NULL }
};

/* Paths in the test directory (which is short: /tmp/nap-test-config.XXXXXX). */
#define TPATH	128

static char tdir[64];

static int	suite_init(void);
static int	suite_clean(void);
static void	tpath(char *, size_t, const char *);
static void	write_file(const char *, const char *);
static char	*slurp(const char *, size_t *);
static int	load_text(struct tconf *, const char *, char *, size_t);
static int	run_args(struct tconf *, struct conf_cli *, char *, size_t,
		    ...);
static int	is_stamp(const char *);
static int	capture_begin(const char *);
static void	capture_end(int);
static void	*log_thread(void *);

static void	test_defaults(void);
static void	test_file_parse(void);
static void	test_file_errors(void);
static void	test_file_missing(void);
static void	test_sizes(void);
static void	test_addresses(void);
static void	test_conf_set(void);
static void	test_cli_overrides(void);
static void	test_cli_forms(void);
static void	test_cli_errors(void);
static void	test_cli_help(void);
static void	test_usage(void);
static void	test_dump_roundtrip(void);
static void	test_free(void);
static void	test_bad_table(void);
static void	test_level_parse(void);
static void	test_log_format(void);
static void	test_log_levels(void);
static void	test_log_truncate(void);
static void	test_log_threads(void);
static void	test_pidfile(void);
static void	test_pidfile_fork(void);
static void	test_pidfile_stale(void);
static void	test_portfile(void);
static void	test_daemonize(void);
static void	test_daemonize_fail(void);
static void	daemon_fails(int, const char *);
static void	test_fatal_hook(void);
static void	hook_write(const char *);
static void	test_log_file(void);

/* --- helpers -------------------------------------------------------------- */

static int
suite_init(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nap-test-config.XXXXXX");
	return mkdtemp(tdir) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
	char p[TPATH];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(tdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", tdir, de->d_name) <
		    (int)sizeof(p))
			unlink(p);
	}
	closedir(d);
	return rmdir(tdir);
}

static void
tpath(char *buf, size_t len, const char *name)
{
	int n;

	n = snprintf(buf, len, "%s/%s", tdir, name);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < len);
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp;

	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
}

/* The file's bytes, NUL-terminated; NULL when it cannot be read. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE *fp;
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (lenp != NULL)
		*lenp = 0;
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4097) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			if (buf == NULL)
				break;
		}
		if ((n = fread(buf + len, 1, cap - len - 1, fp)) == 0)
			break;
		len += n;
	}
	fclose(fp);
	if (buf != NULL)
		buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* conf_init + conf_load of text written to conf.txt. */
static int
load_text(struct tconf *c, const char *text, char *err, size_t errlen)
{
	char p[TPATH];

	tpath(p, sizeof(p), "conf.txt");
	write_file(p, text);
	memset(c, 0, sizeof(*c));
	if (conf_init(tkeys, c, err, errlen) == -1)
		return -2;
	return conf_load(tkeys, c, p, err, errlen);
}

/* conf_init + conf_parse_args over a NULL-terminated list of arguments. */
static int
run_args(struct tconf *c, struct conf_cli *cli, char *err, size_t errlen,
    ...)
{
	char *argv[64];
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)(uintptr_t)"nap-test";
	va_start(ap, errlen);
	while (argc < 63 &&
	    (argv[argc] = (char *)(uintptr_t)va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	if (conf_init(tkeys, c, err, errlen) == -1)
		return -2;
	return conf_parse_args(tkeys, c, argc, argv, cli, err, errlen);
}

/* 2026-11-22T01:02:03.123456Z */
static int
is_stamp(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != pat[i])
			return 0;
	return 1;
}

/* Send stderr to path; returns the saved stderr for capture_end(). */
static int
capture_begin(const char *path)
{
	int saved, fd;

	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) == -1)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
	    0600)) == -1) {
		close(saved);
		return -1;
	}
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

static void
capture_end(int saved)
{
	if (saved == -1)
		return;
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* --- config: defaults and the file -------------------------------------- */

static void
test_defaults(void)
{
	struct tconf c;
	char err[256];

	memset(&c, 0xA5, sizeof(c));	/* conf_init must not need zeros */
	c.untouched = 77;
	CU_ASSERT_EQUAL_FATAL(conf_init(tkeys, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.listen.host, "0.0.0.0");
	CU_ASSERT_STRING_EQUAL(c.listen.port, "5222");
	CU_ASSERT_PTR_NULL(c.cert);
	CU_ASSERT_PTR_NULL(c.key);
	CU_ASSERT_EQUAL(c.hb_interval, 30);
	CU_ASSERT_EQUAL(c.hb_timeout, 90);
	CU_ASSERT_EQUAL(c.syslog, 0);
	CU_ASSERT_EQUAL(c.level, LOG_INFO);
	CU_ASSERT_EQUAL(c.max_frame, (size_t)1 << 20);
	CU_ASSERT_EQUAL(c.cache, 0);
	CU_ASSERT_EQUAL(c.threads, 0);
	CU_ASSERT_EQUAL(c.platforms.n, 0);
	CU_ASSERT_PTR_NULL(c.platforms.v);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.audit);
	CU_ASSERT_STRING_EQUAL(c.audit, "/var/log/nap/audit.log");
	CU_ASSERT_EQUAL(c.untouched, 77);
	conf_free(tkeys, &c);
	CU_ASSERT_PTR_NULL(c.audit);
	CU_ASSERT_EQUAL(c.untouched, 77);
}

static void
test_file_parse(void)
{
	static const char text[] =
	    "# a whole-line comment\n"
	    "   # an indented one\n"
	    "\n"
	    "   \t \n"
	    "listen 127.0.0.1:7000   # after the value\n"
	    "cert \"/etc/nap/my cert.pem\"  # quoted, with a space\n"
	    "key /etc/nap/k#1.pem\n"
	    "heartbeat-interval\t10\n"
	    "  heartbeat-timeout 25\n"
	    "syslog\n"
	    "log-level debug\n"
	    "max-frame 64K\n"
	    "threads 4\r\n"
	    "platform a.example:1\n"
	    "platform \"[::1]:2\"\n"
	    "platform b.example:3#\n"
	    "audit \"say \\\"hi\\\" \\\\ there#\"\n";
	struct tconf c;
	char err[256];

	err[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(load_text(&c, text, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.listen.host, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(c.listen.port, "7000");
	CU_ASSERT_STRING_EQUAL(c.cert, "/etc/nap/my cert.pem");
	CU_ASSERT_STRING_EQUAL(c.key, "/etc/nap/k#1.pem");
	CU_ASSERT_EQUAL(c.hb_interval, 10);
	CU_ASSERT_EQUAL(c.hb_timeout, 25);
	CU_ASSERT_EQUAL(c.syslog, 1);
	CU_ASSERT_EQUAL(c.level, LOG_DEBUG);
	CU_ASSERT_EQUAL(c.max_frame, 64 * 1024);
	CU_ASSERT_EQUAL(c.threads, 4);
	CU_ASSERT_EQUAL_FATAL(c.platforms.n, 3);
	CU_ASSERT_STRING_EQUAL(c.platforms.v[0], "a.example:1");
	CU_ASSERT_STRING_EQUAL(c.platforms.v[1], "[::1]:2");
	CU_ASSERT_STRING_EQUAL(c.platforms.v[2], "b.example:3#");
	CU_ASSERT_STRING_EQUAL(c.audit, "say \"hi\" \\ there#");
	conf_free(tkeys, &c);

	/* An empty file leaves the defaults; "" is an empty value. */
	CU_ASSERT_EQUAL(load_text(&c, "", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.hb_interval, 30);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(load_text(&c, "audit \"\"\nsyslog on\n", err,
	    sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.audit, "");
	CU_ASSERT_EQUAL(c.syslog, 1);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(load_text(&c, "syslog no", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.syslog, 0);
	conf_free(tkeys, &c);
}

static void
test_file_errors(void)
{
	static const struct {
		const char	*text;
		const char	*err;	/* after "PATH:" */
	} bad[] = {
		{ "listen 1.2.3.4:1\n\nbogus 1\n", "3: unknown key 'bogus'" },
		{ "heartbeat-interval abc\n",
		    "1: heartbeat-interval: not a number: 'abc'" },
		{ "heartbeat-interval 12x\n",
		    "1: heartbeat-interval: not a number: '12x'" },
		{ "heartbeat-interval \"\"\n",
		    "1: heartbeat-interval: not a number: ''" },
		{ "heartbeat-interval 0\n",
		    "1: heartbeat-interval: 0 is below the minimum 1" },
		{ "# c\nheartbeat-interval 3601\n",
		    "2: heartbeat-interval: 3601 is above the maximum 3600" },
		{ "threads -1\n", "1: threads: -1 is below the minimum 0" },
		{ "threads 99999999999999999999999\n",
		    "1: threads: out of range: '99999999999999999999999'" },
		{ "cert \"abc\n", "1: cert: no closing quote" },
		{ "cert a b\n",
		    "1: cert: text after the value (quote a value that "
		    "holds spaces)" },
		{ "cert \"a\"b\n", "1: cert: text after the value" },
		{ "cert \"a\"#b\n", "1: cert: text after the value" },
		{ "cert\n", "1: cert: missing value" },
		{ "cert # nothing\n", "1: cert: missing value" },
		{ "listen 1.2.3.4:1\nlisten 1.2.3.4:2\n",
		    "2: listen: already set on line 1" },
		{ "syslog maybe\n", "1: syslog: not yes or no: 'maybe'" },
		{ "log-level loud\n", "1: log-level: unknown level 'loud'" },
		{ "max-frame 32M\n",
		    "1: max-frame: 32M is above the maximum 16M" },
		{ "max-frame 1K\n", "1: max-frame: 1K is below the minimum 4K" },
		{ "max-frame 1X\n", "1: max-frame: not a size: '1X'" },
		{ "max-frame 1KB\n", "1: max-frame: not a size: '1KB'" },
		{ "max-frame -1\n", "1: max-frame: not a size: '-1'" },
		{ "max-frame M\n", "1: max-frame: not a size: 'M'" },
		{ "listen 127.0.0.1\n", "1: listen: no port in '127.0.0.1'" },
		{ "listen x:99999\n", "1: listen: bad port '99999'" },
	};
	struct tconf c;
	char err[512], p[TPATH], want[600];
	size_t i;

	tpath(p, sizeof(p), "conf.txt");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(load_text(&c, bad[i].text, err, sizeof(err)),
		    -1);
		snprintf(want, sizeof(want), "%s:%s", p, bad[i].err);
		if (strncmp(err, want, strlen(want)) != 0) {
			fprintf(stdout, "\n  case %zu: got   '%s'\n"
			    "           want '%s...'\n", i, err, want);
			CU_FAIL("file error message");
		}
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		conf_free(tkeys, &c);
	}
}

static void
test_file_missing(void)
{
	struct tconf c;
	char err[512], p[TPATH], want[600];

	tpath(p, sizeof(p), "no-such-file.conf");
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(tkeys, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_load(tkeys, &c, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: %s", p, strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(err, want);
	conf_free(tkeys, &c);
}

static void
test_sizes(void)
{
	static const struct {
		const char	*key, *val;
		size_t		 want;
	} ok[] = {
		{ "max-frame", "4096", 4096 },
		{ "max-frame", "4K", 4096 },
		{ "max-frame", "4k", 4096 },
		{ "max-frame", "1M", 1 << 20 },
		{ "max-frame", "1m", 1 << 20 },
		{ "max-frame", "16M", 16 << 20 },
		{ "max-frame", "16384K", 16 << 20 },
		{ "cache-size", "0", 0 },
		{ "cache-size", "1G", (size_t)1 << 30 },
		{ "cache-size", "3g", (size_t)3 << 30 },
		{ "cache-size", "1000", 1000 },
	};
	static const char *const bad[][2] = {
		{ "max-frame", "1G" },
		{ "max-frame", "16777217" },
		{ "max-frame", "4095" },
		{ "max-frame", "" },
		{ "max-frame", " 4K" },
		{ "max-frame", "4 K" },
		{ "max-frame", "+4K" },
		{ "cache-size", "18446744073709551615K" },
		{ "cache-size", "99999999999999999999999" },
	};
	struct tconf c;
	char err[256];
	size_t i;

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(tkeys, &c, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(tkeys, &c, ok[i].key, ok[i].val, err,
		    sizeof(err)), 0);
		CU_ASSERT_EQUAL(strcmp(ok[i].key, "max-frame") == 0 ?
		    c.max_frame : c.cache, ok[i].want);
	}
	c.max_frame = 12345;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(conf_set(tkeys, &c, bad[i][0], bad[i][1], err,
		    sizeof(err)), -1);
		CU_ASSERT_EQUAL(strncmp(err, bad[i][0], strlen(bad[i][0])),
		    0);
	}
	CU_ASSERT_EQUAL(c.max_frame, 12345);	/* a refused value */
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "max-frame", "17M", err,
	    sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
	    "max-frame: 17M is above the maximum 16M");
	conf_free(tkeys, &c);
}

static void
test_addresses(void)
{
	static const char *const ok[][3] = {
		{ "127.0.0.1:0", "127.0.0.1", "0" },
		{ "[::1]:0", "::1", "0" },
		{ "[::]:5222", "::", "5222" },
		{ "example.org:65535", "example.org", "65535" },
		{ "[fe80::1%eth0]:80", "fe80::1%eth0", "80" },
		{ "localhost:080", "localhost", "80" },
	};
	static const char *const bad[][2] = {
		{ "127.0.0.1", "listen: no port in '127.0.0.1'" },
		{ "x:99999", "listen: bad port '99999' (0 to 65535)" },
		{ "x:65536", "listen: bad port '65536'" },
		{ "x:", "listen: bad port ''" },
		{ "x:-1", "listen: bad port '-1'" },
		{ "x:8a", "listen: bad port '8a'" },
		{ "x:123456789012345678901", "listen: bad port" },
		{ "::1:80", "listen: an IPv6 address needs brackets" },
		{ "::1", "listen: an IPv6 address needs brackets" },
		{ "[::1]", "listen: no port in '[::1]'" },
		{ "[::1]80", "listen: no port in '[::1]80'" },
		{ "[::1:80", "listen: no ']' in '[::1:80'" },
		{ ":80", "listen: no host in ':80'" },
		{ "[]:80", "listen: no host in '[]:80'" },
		{ "a b:80", "listen: bad host in 'a b:80'" },
		{ "", "listen: no port in ''" },
	};
	struct tconf c;
	char err[512], longhost[300];
	size_t i;

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(tkeys, &c, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(tkeys, &c, "listen", ok[i][0], err,
		    sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(c.listen.host, ok[i][1]);
		CU_ASSERT_STRING_EQUAL(c.listen.port, ok[i][2]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(conf_set(tkeys, &c, "listen", bad[i][0], err,
		    sizeof(err)), -1);
		if (strncmp(err, bad[i][1], strlen(bad[i][1])) != 0) {
			fprintf(stdout, "\n  '%s': got '%s'\n", bad[i][0],
			    err);
			CU_FAIL("address error message");
		}
		/* A refused value leaves the last good one. */
		CU_ASSERT_STRING_EQUAL(c.listen.host, "localhost");
		CU_ASSERT_STRING_EQUAL(c.listen.port, "80");
	}
	memset(longhost, 'h', sizeof(longhost));
	snprintf(longhost + 255, sizeof(longhost) - 255, ":1");
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "listen", longhost, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(c.listen.host), 255);
	snprintf(longhost + 256, sizeof(longhost) - 256, ":1");
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "listen", longhost, err,
	    sizeof(err)), -1);
	conf_free(tkeys, &c);
}

static void
test_conf_set(void)
{
	struct tconf c;
	char err[256];

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(tkeys, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "nope", "1", err, sizeof(err)),
	    -1);
	CU_ASSERT_STRING_EQUAL(err, "unknown key 'nope'");
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "heartbeat-interval", "0", err,
	    sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
	    "heartbeat-interval: 0 is below the minimum 1");
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "heartbeat-interval", "abc",
	    err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
	    "heartbeat-interval: not a number: 'abc'");
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "heartbeat-interval", "+7", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.hb_interval, 7);
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "syslog", NULL, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.syslog, 1);
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "syslog", "false", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.syslog, 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "cert", NULL, err,
	    sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "cert: missing value");
	/* A string replaces; a list appends. */
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "cert", "a", err, sizeof(err)),
	    0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "cert", "b", err, sizeof(err)),
	    0);
	CU_ASSERT_STRING_EQUAL(c.cert, "b");
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "platform", "p:1", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "platform", "p:2", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.platforms.n, 2);
	/* err may be NULL. */
	CU_ASSERT_EQUAL(conf_set(tkeys, &c, "nope", "1", NULL, 0), -1);
	conf_free(tkeys, &c);
}

/* --- config: the command line ---------------------------------------------- */

static void
test_cli_overrides(void)
{
	static const char text[] =
	    "listen 0.0.0.0:7000\n"
	    "heartbeat-interval 10\n"
	    "cert /file/cert.pem\n"
	    "platform f1:1\n"
	    "platform f2:2\n"
	    "log-level warn\n";
	struct tconf c;
	struct conf_cli cli;
	char p[TPATH], err[256];

	tpath(p, sizeof(p), "cli.conf");
	write_file(p, text);
	CU_ASSERT_EQUAL_FATAL(run_args(&c, &cli, err, sizeof(err),
	    "--listen", "127.0.0.1:0", "-f", p, "--heartbeat-interval=20",
	    "--platform", "p:1", "--syslog", "--platform=p:2", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(cli.config_file);
	if (cli.config_file != NULL)
		CU_ASSERT_STRING_EQUAL(cli.config_file, p);
	CU_ASSERT_EQUAL(cli.check_only, 0);
	CU_ASSERT_EQUAL(cli.daemon, 0);
	CU_ASSERT_EQUAL(cli.help, 0);
	CU_ASSERT_STRING_EQUAL(c.listen.host, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(c.listen.port, "0");
	CU_ASSERT_EQUAL(c.hb_interval, 20);
	CU_ASSERT_STRING_EQUAL(c.cert, "/file/cert.pem");
	CU_ASSERT_EQUAL(c.level, LOG_WARNING);
	CU_ASSERT_EQUAL(c.syslog, 1);
	/* The command line's list replaces the file's. */
	CU_ASSERT_EQUAL_FATAL(c.platforms.n, 2);
	CU_ASSERT_STRING_EQUAL(c.platforms.v[0], "p:1");
	CU_ASSERT_STRING_EQUAL(c.platforms.v[1], "p:2");
	conf_free(tkeys, &c);

	/* Without a command-line platform, the file's list stays. */
	CU_ASSERT_EQUAL_FATAL(run_args(&c, &cli, err, sizeof(err),
	    "-f", p, "--cert", "/cli/cert.pem", "--cert", "/cli/2.pem",
	    NULL), 0);
	CU_ASSERT_EQUAL_FATAL(c.platforms.n, 2);
	CU_ASSERT_STRING_EQUAL(c.platforms.v[0], "f1:1");
	CU_ASSERT_STRING_EQUAL(c.cert, "/cli/2.pem");
	conf_free(tkeys, &c);
}

static void
test_cli_forms(void)
{
	struct tconf c;
	struct conf_cli cli;
	char p[TPATH], err[256];

	tpath(p, sizeof(p), "forms.conf");
	write_file(p, "syslog yes\n");

	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "--threads", "8", "--max-frame=2M", "--cert=", "-n", NULL), 0);
	CU_ASSERT_EQUAL(c.threads, 8);
	CU_ASSERT_EQUAL(c.max_frame, 2 << 20);
	CU_ASSERT_STRING_EQUAL(c.cert, "");
	CU_ASSERT_EQUAL(cli.check_only, 1);
	CU_ASSERT_PTR_NULL(cli.config_file);
	conf_free(tkeys, &c);

	/* Bare bool, bool with a word, bool before another option. */
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "--syslog", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 1);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "-f", p, "--syslog", "no", "--daemon", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 0);
	CU_ASSERT_EQUAL(cli.daemon, 1);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "--syslog", "-n", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 1);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "-f", p, "--syslog=off", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 0);
	conf_free(tkeys, &c);

	/* Grouped short flags, -fFILE, "--". */
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "-nv", "-v", NULL), 0);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	CU_ASSERT_EQUAL(cli.verbose, 2);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "-nf", p, "--", NULL), 0);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	CU_ASSERT_EQUAL(c.syslog, 1);
	conf_free(tkeys, &c);
	{
		char fopt[TPATH + 2];

		snprintf(fopt, sizeof(fopt), "-f%s", p);
		CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
		    fopt, NULL), 0);
		CU_ASSERT_EQUAL(c.syslog, 1);
		conf_free(tkeys, &c);
	}
	/* A value that looks like an option is still the value. */
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "--cert", "-n", NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.cert, "-n");
	CU_ASSERT_EQUAL(cli.check_only, 0);
	conf_free(tkeys, &c);
	/* No arguments: the defaults. */
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(c.hb_interval, 30);
	conf_free(tkeys, &c);
}

static void
test_cli_errors(void)
{
	static const struct {
		const char	*a[4];
		const char	*err;
	} bad[] = {
		{ { "--bogus", "1" }, "unknown option '--bogus'" },
		{ { "--bogus=1" }, "unknown option '--bogus'" },
		{ { "-x" }, "unknown option '-x'" },
		{ { "-nx" }, "unknown option '-x'" },
		{ { "--listen" }, "--listen: missing value" },
		{ { "-f" }, "-f: missing file" },
		{ { "--heartbeat-interval", "abc" },
		    "--heartbeat-interval: not a number: 'abc'" },
		{ { "--heartbeat-interval=0" },
		    "--heartbeat-interval: 0 is below the minimum 1" },
		{ { "--listen", "127.0.0.1" },
		    "--listen: no port in '127.0.0.1' (HOST:PORT or "
		    "[V6]:PORT)" },
		{ { "--syslog=maybe" }, "--syslog: not yes or no: 'maybe'" },
		{ { "foo" }, "unexpected argument 'foo'" },
		{ { "-" }, "unexpected argument '-'" },
		{ { "--", "foo" }, "unexpected argument 'foo'" },
		{ { "--daemon=yes" }, "--daemon takes no value" },
		{ { "--syslog", "maybe" }, "unexpected argument 'maybe'" },
	};
	struct tconf c;
	struct conf_cli cli;
	char err[512], p[TPATH], want[600];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
		    bad[i].a[0], bad[i].a[1], bad[i].a[2], bad[i].a[3], NULL),
		    -1);
		if (strcmp(err, bad[i].err) != 0) {
			fprintf(stdout, "\n  case %zu: got '%s'\n", i, err);
			CU_FAIL("command-line error message");
		}
		CU_ASSERT_EQUAL(cli.usage, 1);
		conf_free(tkeys, &c);
	}
	/* Errors of the -f file come back as they are. */
	tpath(p, sizeof(p), "bad.conf");
	write_file(p, "threads 4\nfoo bar\n");
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err), "-f", p, NULL),
	    -1);
	snprintf(want, sizeof(want), "%s:2: unknown key 'foo'", p);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(cli.usage, 0);
	conf_free(tkeys, &c);
	tpath(p, sizeof(p), "missing.conf");
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err), "-n", "-f", p,
	    NULL), -1);
	snprintf(want, sizeof(want), "%s: %s", p, strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(cli.usage, 0);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	conf_free(tkeys, &c);
}

static void
test_cli_help(void)
{
	struct tconf c;
	struct conf_cli cli;
	char err[256];

	/* -h wins and reads no file. */
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "-f", "/nonexistent/x.conf", "-h", "--bogus", NULL), 0);
	CU_ASSERT_EQUAL(cli.help, 1);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "--help", NULL), 0);
	CU_ASSERT_EQUAL(cli.help, 1);
	conf_free(tkeys, &c);
	CU_ASSERT_EQUAL(run_args(&c, &cli, err, sizeof(err),
	    "-nh", NULL), 0);
	CU_ASSERT_EQUAL(cli.help, 1);
	conf_free(tkeys, &c);
}

static void
test_usage(void)
{
	char p[TPATH], *text;
	FILE *fp;

	tpath(p, sizeof(p), "usage.txt");
	fp = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	conf_usage(tkeys, "nap-test", fp);
	fclose(fp);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strncmp(text, "usage: nap-test ", 16), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-f FILE"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--daemon"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-h, --help"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "--listen HOST:PORT           address to accept links on "
	    "[0.0.0.0:5222]\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--syslog[=yes|no]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--heartbeat-interval N"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "[30]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--max-frame SIZE"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--log-level LEVEL"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "platform server (repeatable)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "--cert FILE                  certificate (PEM)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "--key VALUE                  private key (PEM)\n"));
	free(text);
}

static void
test_dump_roundtrip(void)
{
	struct tconf a, b;
	char p[TPATH], q[TPATH], err[256], *text, *text2;
	FILE *fp;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(conf_init(tkeys, &a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "listen", "[::1]:0", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "key", "a \"b\" \\c #d", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "audit", "", err, sizeof(err)),
	    0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "platform", "x:1", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "platform", "y y:2", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "max-frame", "1000000", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "log-level", "debug", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tkeys, &a, "syslog", "on", err,
	    sizeof(err)), 0);

	tpath(p, sizeof(p), "dump.conf");
	fp = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	conf_dump(tkeys, &a, fp);
	fclose(fp);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "listen [::1]:0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# cert (unset)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "key \"a \\\"b\\\" \\\\c #d\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "audit \"\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "max-frame 1000000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "log-level debug\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "syslog yes\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "heartbeat-interval 30\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "platform x:1\nplatform "
	    "\"y y:2\"\n"));

	/* What conf_dump() writes, conf_load() reads back the same. */
	CU_ASSERT_EQUAL_FATAL(conf_init(tkeys, &b, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_load(tkeys, &b, p, err, sizeof(err)), 0);
	tpath(q, sizeof(q), "dump2.conf");
	fp = fopen(q, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	conf_dump(tkeys, &b, fp);
	fclose(fp);
	text2 = slurp(q, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text2);
	CU_ASSERT_STRING_EQUAL(text, text2);
	CU_ASSERT_STRING_EQUAL(b.key, "a \"b\" \\c #d");
	free(text);
	free(text2);
	conf_free(tkeys, &a);
	conf_free(tkeys, &b);
}

static void
test_free(void)
{
	struct tconf c;
	struct conf_cli cli;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(run_args(&c, &cli, err, sizeof(err),
	    "--cert", "c", "--key", "k", "--audit", "a", "--platform", "1",
	    "--platform", "2", "--platform", "3", NULL), 0);
	conf_free(tkeys, &c);
	CU_ASSERT_PTR_NULL(c.cert);
	CU_ASSERT_PTR_NULL(c.key);
	CU_ASSERT_PTR_NULL(c.audit);
	CU_ASSERT_PTR_NULL(c.platforms.v);
	CU_ASSERT_EQUAL(c.platforms.n, 0);
	CU_ASSERT_EQUAL(c.listen.host[0], '\0');
	conf_free(tkeys, &c);		/* twice is harmless */

	/* A failing load still leaves a struct conf_free() can clean. */
	CU_ASSERT_EQUAL(load_text(&c, "cert a\nplatform x\nkey k\nbad\n",
	    err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(c.cert, "a");
	conf_free(tkeys, &c);
}

static void
test_bad_table(void)
{
	static const struct conf_key badlist[] = {
		{ "l", CONF_STRLIST, 0, "x", 0, 0, "" },
		{ NULL, 0, 0, NULL, 0, 0, NULL }
	};
	static const struct conf_key baddef[] = {
		{ "n", CONF_INT, 0, "zero", 0, 0, "" },
		{ NULL, 0, 0, NULL, 0, 0, NULL }
	};
	struct conf_list l;
	long n;
	char err[256];

	CU_ASSERT_EQUAL(conf_init(badlist, &l, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "l: a repeatable key has no default");
	conf_free(badlist, &l);
	CU_ASSERT_EQUAL(conf_init(baddef, &n, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "default n: not a number: 'zero'");
}

/* --- log ---------------------------------------------------------------- */

static void
test_level_parse(void)
{
	CU_ASSERT_EQUAL(log_level_parse("error"), LOG_ERR);
	CU_ASSERT_EQUAL(log_level_parse("warn"), LOG_WARNING);
	CU_ASSERT_EQUAL(log_level_parse("info"), LOG_INFO);
	CU_ASSERT_EQUAL(log_level_parse("debug"), LOG_DEBUG);
	CU_ASSERT_EQUAL(log_level_parse("warning"), -1);
	CU_ASSERT_EQUAL(log_level_parse("INFO"), -1);
	CU_ASSERT_EQUAL(log_level_parse(""), -1);
	CU_ASSERT_EQUAL(log_level_parse("crit"), -1);
	CU_ASSERT_EQUAL(log_level_parse(NULL), -1);
	CU_ASSERT_STRING_EQUAL(log_level_name(LOG_WARNING), "warn");
	CU_ASSERT_STRING_EQUAL(log_level_name(LOG_ERR), "error");
	CU_ASSERT_STRING_EQUAL(log_level_name(99), "?");
	CU_ASSERT_STRING_EQUAL(log_level_name(-1), "?");
}

static void
test_log_format(void)
{
	char p[TPATH], want[256], *text, *line, *nl;
	int saved, e, n = 0;

	tpath(p, sizeof(p), "log.txt");
	log_init("tconf", 0, LOG_INFO);
	saved = capture_begin(p);
	CU_ASSERT_NOT_EQUAL_FATAL(saved, -1);
	log_info("hello %d", 42);
	log_debug("hidden");
	errno = ENOENT;
	log_warn("open %s", "x");
	e = errno;
	log_warnx("multi\nline\r\x7f end");
	log_set_thread_name("io1");
	log_info("tagged");
	log_set_thread_name(NULL);
	log_msg(LOG_ERR, "an error");
	capture_end(saved);
	CU_ASSERT_EQUAL(e, ENOENT);	/* errno is left alone */

	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NULL(strstr(text, "hidden"));
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		CU_ASSERT(is_stamp(line));
		CU_ASSERT_EQUAL(line[27], ' ');
		switch (n++) {
		case 0:
			snprintf(want, sizeof(want), "tconf[%ld] info: "
			    "hello 42", (long)getpid());
			break;
		case 1:
			snprintf(want, sizeof(want), "tconf[%ld] warn: "
			    "open x: %s", (long)getpid(), strerror(ENOENT));
			break;
		case 2:
			snprintf(want, sizeof(want), "tconf[%ld] warn: "
			    "multi?line?? end", (long)getpid());
			break;
		case 3:
			snprintf(want, sizeof(want), "tconf[%ld] [io1] info: "
			    "tagged", (long)getpid());
			break;
		case 4:
			snprintf(want, sizeof(want), "tconf[%ld] error: "
			    "an error", (long)getpid());
			break;
		default:
			snprintf(want, sizeof(want), "(no more lines)");
			break;
		}
		CU_ASSERT_STRING_EQUAL(line + 28, want);
	}
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(*line, '\0');	/* the last line ended in '\n' */
	free(text);
	log_init("nap", 0, LOG_INFO);
}

static void
test_log_levels(void)
{
	char p[TPATH], *text;
	int saved;

	tpath(p, sizeof(p), "levels.txt");
	log_init("tconf", 0, LOG_ERR);
	CU_ASSERT_EQUAL(log_getlevel(), LOG_ERR);
	saved = capture_begin(p);
	CU_ASSERT_NOT_EQUAL_FATAL(saved, -1);
	log_warnx("no warn");
	log_info("no info");
	log_msg(LOG_ERR, "yes error");
	log_setlevel(LOG_DEBUG);
	log_debug("yes debug");
	log_setlevel(LOG_WARNING);
	log_warn("yes warn");
	log_info("no info2");
	capture_end(saved);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NULL(strstr(text, "no "));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " error: yes error\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " debug: yes debug\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: yes warn: "));
	free(text);
	log_init("nap", 0, LOG_INFO);
}

static void
test_log_truncate(void)
{
	char p[TPATH], *text, *big;
	size_t len = 0;
	int saved;

	big = malloc(5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	tpath(p, sizeof(p), "long.txt");
	log_init("tconf", 0, LOG_INFO);
	saved = capture_begin(p);
	CU_ASSERT_NOT_EQUAL_FATAL(saved, -1);
	log_info("%s", big);
	errno = EPERM;
	log_warn("%s", big);
	big[900] = '\0';
	log_info("%s", big);
	capture_end(saved);
	text = slurp(p, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* Two cut lines of exactly LOG_LINE_MAX bytes, then a whole one. */
	CU_ASSERT_EQUAL_FATAL(len > 2 * LOG_LINE_MAX, 1);
	CU_ASSERT_EQUAL(memcmp(text + LOG_LINE_MAX - 5, "x...\n", 5), 0);
	CU_ASSERT_EQUAL(memchr(text, '\n', LOG_LINE_MAX - 1), NULL);
	CU_ASSERT_EQUAL(memcmp(text + 2 * LOG_LINE_MAX - 5, "x...\n", 5),
	    0);
	CU_ASSERT_EQUAL(memchr(text + LOG_LINE_MAX, '\n', LOG_LINE_MAX - 1),
	    NULL);
	CU_ASSERT(is_stamp(text + 2 * LOG_LINE_MAX));
	CU_ASSERT_EQUAL(text[len - 1], '\n');
	CU_ASSERT_EQUAL(memcmp(text + len - 6, "xxxxx\n", 6), 0);
	CU_ASSERT(len - 2 * LOG_LINE_MAX < LOG_LINE_MAX);
	free(text);
	free(big);
	log_init("nap", 0, LOG_INFO);
}

#define LT_THREADS	8
#define LT_LINES	400

static void *
log_thread(void *arg)
{
	char name[8], pad[1000];
	int id = (int)(intptr_t)arg, i;
	size_t n;

	snprintf(name, sizeof(name), "t%d", id);
	log_set_thread_name(name);
	for (i = 0; i < LT_LINES; i++) {
		n = (size_t)(i * 7 + id * 13) % 900;
		memset(pad, 'a' + id, n);
		pad[n] = '\0';
		log_info("n=%d %s|", i, pad);
	}
	return NULL;
}

/* Lines from threads come out whole: none cut into another. */
static void
test_log_threads(void)
{
	pthread_t t[LT_THREADS];
	char p[TPATH], *text, *line, *nl, *q, tag[16];
	int saved, i, id, lines = 0, bad = 0, count[LT_THREADS] = { 0 };

	tpath(p, sizeof(p), "threads.txt");
	log_init("tconf", 0, LOG_INFO);
	saved = capture_begin(p);
	CU_ASSERT_NOT_EQUAL_FATAL(saved, -1);
	for (i = 0; i < LT_THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, log_thread,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < LT_THREADS; i++)
		pthread_join(t[i], NULL);
	capture_end(saved);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		lines++;
		if (!is_stamp(line) || (q = strstr(line, "] [t")) == NULL ||
		    sscanf(q, "] [t%d] info: n=", &id) != 1 ||
		    id < 0 || id >= LT_THREADS) {
			bad++;
			continue;
		}
		snprintf(tag, sizeof(tag), "[t%d] info: n=", id);
		q = strstr(line, tag) + strlen(tag);
		while (isdigit((unsigned char)*q))
			q++;
		if (*q++ != ' ') {
			bad++;
			continue;
		}
		while (*q == 'a' + id)
			q++;
		if (strcmp(q, "|") != 0) {
			bad++;
			continue;
		}
		count[id]++;
	}
	CU_ASSERT_EQUAL(*line, '\0');
	CU_ASSERT_EQUAL(lines, LT_THREADS * LT_LINES);
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < LT_THREADS; i++)
		CU_ASSERT_EQUAL(count[i], LT_LINES);
	free(text);
	log_init("nap", 0, LOG_INFO);
}

/* --- daemon --------------------------------------------------------------- */

/*
 * The checks that read the PID file run in children: a process that
 * closes any descriptor of a file loses its fcntl locks on it.
 */
static void
test_pidfile(void)
{
	char p[TPATH], want[64], err[TPATH + 64], *text;
	struct stat st;
	pid_t pid, parent = getpid();
	int status;

	tpath(p, sizeof(p), "nap.pid");
	CU_ASSERT_EQUAL_FATAL(pidfile_create(p, err, sizeof(err)), 0);
	/* One per process (and the refusal opens nothing). */
	CU_ASSERT_EQUAL(pidfile_create(p, err, sizeof(err)), -1);

	/* Another process is refused, naming us: our PID is in the file. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		char e[TPATH + 64], w[TPATH + 64], *t;

		snprintf(w, sizeof(w), "%s: held by process %ld", p,
		    (long)parent);
		if (pidfile_create(p, e, sizeof(e)) != -1)
			_exit(2);
		if (strcmp(e, w) != 0)
			_exit(3);
		snprintf(w, sizeof(w), "%ld\n", (long)parent);
		if ((t = slurp(p, NULL)) == NULL || strcmp(t, w) != 0)
			_exit(4);
		free(t);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Twice, to see that the first refusal left the lock in place. */
	fflush(stdout);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0)
		_exit(pidfile_create(p, NULL, 0) == -1 ? 0 : 1);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Reading it here drops the lock (see above): last thing. */
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	CU_ASSERT_STRING_EQUAL(text, want);
	free(text);
	pidfile_remove();
	CU_ASSERT_EQUAL(stat(p, &st), -1);
	pidfile_remove();		/* nothing held: harmless */

	/* Once released, another process gets it. */
	fflush(stdout);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		int rc = pidfile_create(p, NULL, 0);

		pidfile_remove();
		_exit(rc == 0 ? 0 : 1);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(stat(p, &st), -1);

	/* A file we cannot create. */
	tpath(p, sizeof(p), "no-dir/nap.pid");
	CU_ASSERT_EQUAL(pidfile_create(p, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(ENOENT)));
}

/*
 * A child that inherits the PID file's descriptor holds no lock; its
 * pidfile_remove() must leave the parent's file alone.
 */
static void
test_pidfile_fork(void)
{
	char p[TPATH];
	struct stat st;
	pid_t pid;
	int status;

	tpath(p, sizeof(p), "fork.pid");
	CU_ASSERT_EQUAL_FATAL(pidfile_create(p, NULL, 0), 0);
	fflush(stdout);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		pidfile_remove();
		/* Still locked by the parent. */
		_exit(pidfile_create(p, NULL, 0) == -1 ? 0 : 1);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	pidfile_remove();
	CU_ASSERT_EQUAL(stat(p, &st), -1);
}

/* A file left by a dead process (no lock) is taken over. */
static void
test_pidfile_stale(void)
{
	char p[TPATH], want[64], err[256], *text;

	tpath(p, sizeof(p), "stale.pid");
	write_file(p, "999999999\nsome junk that is longer\n");
	CU_ASSERT_EQUAL_FATAL(pidfile_create(p, err, sizeof(err)), 0);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	CU_ASSERT_STRING_EQUAL(text, want);
	free(text);
	pidfile_remove();
}

static void
test_portfile(void)
{
	char p[TPATH], tmp[TPATH + 8], err[TPATH + 64], *text;
	struct stat st;
	mode_t mask;

	tpath(p, sizeof(p), "port");
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	CU_ASSERT_EQUAL(portfile_write(p, 12345, err, sizeof(err)), 0);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "12345\n");
	free(text);
	CU_ASSERT_EQUAL(stat(tmp, &st), -1);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	mask = umask(022);
	umask(mask);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0644 & ~mask);

	CU_ASSERT_EQUAL(portfile_write(p, 0, err, sizeof(err)), 0);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "0\n");
	free(text);

	CU_ASSERT_EQUAL(portfile_write(p, 65536, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(portfile_write(p, -1, err, sizeof(err)), -1);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "0\n");	/* untouched */
	free(text);

	tpath(p, sizeof(p), "no-dir/port");
	CU_ASSERT_EQUAL(portfile_write(p, 80, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(ENOENT)));
}

/*
 * A child daemonizes; the daemon reports what it sees through a port
 * file (one bit a failed check), says it is ready and leaves.  The child
 * exits 0 only once told: the report is there when it has.
 */
static void
test_daemonize(void)
{
	char p[TPATH], *text = NULL;
	pid_t pid, sid = getsid(0);
	int status;

	tpath(p, sizeof(p), "daemon.result");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		struct stat null, st;
		char cwd[TPATH];
		int bits = 0, fd;

		if (daemonize("tdaemon") == -1)
			_exit(9);
		if (getsid(0) == sid)
			bits |= 1;
		if (getsid(0) == getpid())	/* not a session leader */
			bits |= 2;
		if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
			bits |= 4;
		if (stat("/dev/null", &null) == -1)
			bits |= 8;
		for (fd = 0; fd <= 2; fd++)
			if (fstat(fd, &st) == -1 || st.st_rdev != null.st_rdev)
				bits |= 16;
		portfile_write(p, bits, NULL, 0);
		daemon_ready();
		daemon_ready();		/* said once: nothing */
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "0\n");
	free(text);
}

/*
 * The daemon fails (say_why: with daemon_failed(), or by dying without a
 * word): the waiting process exits 1 with one line on its stderr.
 */
static void
daemon_fails(int say_why, const char *want)
{
	char p[TPATH], *text;
	pid_t pid;
	int status;

	tpath(p, sizeof(p), "daemon.err");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		(void)capture_begin(p);
		if (daemonize("tdaemon") == -1)
			_exit(9);
		if (say_why) {
			daemon_failed("tdaemon: listen 127.0.0.1:1: in\nuse");
			daemon_ready();		/* after a failure: nothing */
		}
		_exit(1);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, want);
	free(text);
}

static void
test_daemonize_fail(void)
{
	daemon_fails(1, "tdaemon: listen 127.0.0.1:1: in?use\n");
	daemon_fails(0, "tdaemon: exited before it was ready\n");
}

/* fatalx() calls the hook with its message, then exits 1. */
static char hook_path[TPATH];

static void
hook_write(const char *msg)
{
	FILE *f = fopen(hook_path, "w");

	if (f != NULL) {
		fprintf(f, "[%s]", msg);
		fclose(f);
	}
}

static void
test_fatal_hook(void)
{
	char p[TPATH], *text;
	pid_t pid;
	int status;

	tpath(hook_path, sizeof(hook_path), "hook.txt");
	tpath(p, sizeof(p), "fatal.txt");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		(void)capture_begin(p);
		log_set_fatal_hook(hook_write);
		errno = ENOENT;
		fatal("open %s", "x");
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	text = slurp(hook_path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	{
		char want[256];

		snprintf(want, sizeof(want), "[open x: %s]", strerror(ENOENT));
		CU_ASSERT_STRING_EQUAL(text, want);
	}
	free(text);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " fatal: open x: "));
	free(text);
}

/* log-file: lines go there; renamed away and reopened, to a new file. */
static void
test_log_file(void)
{
	char p[TPATH], old[TPATH], err[256], *text;

	tpath(p, sizeof(p), "file.log");
	tpath(old, sizeof(old), "file.log.1");
	(void)unlink(p);
	CU_ASSERT_EQUAL(log_file_reopen(err, sizeof(err)), 0);	/* none */
	log_init("tconf", 0, LOG_INFO);
	CU_ASSERT_EQUAL_FATAL(log_file_open(p, err, sizeof(err)), 0);
	log_info("one");
	CU_ASSERT_EQUAL(rename(p, old), 0);
	CU_ASSERT_EQUAL(log_file_reopen(err, sizeof(err)), 0);
	log_info("two");
	log_file_close();
	text = slurp(old, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "tconf["));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "info: one\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "two"));
	free(text);
	text = slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "info: two\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "one"));
	free(text);

	tpath(p, sizeof(p), "no-dir/file.log");
	CU_ASSERT_EQUAL(log_file_open(p, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, p));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(ENOENT)));
	log_init("nap", 0, LOG_INFO);
}

void
init_config_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("config", suite_init, suite_clean)) == NULL)
		return;
	CU_add_test(s, "defaults applied", test_defaults);
	CU_add_test(s, "file: comments, quotes, lists", test_file_parse);
	CU_add_test(s, "file: errors name FILE:LINE", test_file_errors);
	CU_add_test(s, "file: missing file", test_file_missing);
	CU_add_test(s, "sizes and suffixes", test_sizes);
	CU_add_test(s, "addresses", test_addresses);
	CU_add_test(s, "conf_set", test_conf_set);
	CU_add_test(s, "command line overrides file", test_cli_overrides);
	CU_add_test(s, "command-line forms", test_cli_forms);
	CU_add_test(s, "command-line errors", test_cli_errors);
	CU_add_test(s, "-h and --help", test_cli_help);
	CU_add_test(s, "usage from the table", test_usage);
	CU_add_test(s, "dump loads back", test_dump_roundtrip);
	CU_add_test(s, "conf_free", test_free);
	CU_add_test(s, "bad tables", test_bad_table);

	if ((s = CU_add_suite("log", suite_init, suite_clean)) == NULL)
		return;
	CU_add_test(s, "log_level_parse", test_level_parse);
	CU_add_test(s, "line format", test_log_format);
	CU_add_test(s, "levels", test_log_levels);
	CU_add_test(s, "long lines cut at 1024", test_log_truncate);
	CU_add_test(s, "threads never interleave", test_log_threads);
	CU_add_test(s, "log-file and its reopening", test_log_file);
	CU_add_test(s, "fatal hook", test_fatal_hook);

	if ((s = CU_add_suite("daemon", suite_init, suite_clean)) == NULL)
		return;
	CU_add_test(s, "pid file lock", test_pidfile);
	CU_add_test(s, "pid file in a forked child", test_pidfile_fork);
	CU_add_test(s, "stale pid file taken over", test_pidfile_stale);
	CU_add_test(s, "port file", test_portfile);
	CU_add_test(s, "daemonize", test_daemonize);
	CU_add_test(s, "daemonize: the daemon fails", test_daemonize_fail);
}
