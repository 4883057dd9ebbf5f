/*
 * test_config_util.c - the helpers the config, log and daemon test files
 * share (test_config.h): the key table of struct tconf, the scratch
 * directory, and files written, read and captured.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "test_config.h"

/* The scratch directory of the running suite. */
static char tdir[64];

const struct conf_key tc_keys[] = {
	{ "listen", CONF_ADDR, offsetof(struct tconf, listen),
	    "0.0.0.0:7420", 0, 0, "address to accept links on" },
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

int
tc_suite_init(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nap-test-config.XXXXXX");
	return mkdtemp(tdir) == NULL ? -1 : 0;
}

int
tc_suite_clean(void)
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

void
tc_path(char *buf, size_t len, const char *name)
{
	int n;

	n = snprintf(buf, len, "%s/%s", tdir, name);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < len);
}

void
tc_write_file(const char *path, const char *text)
{
	FILE *fp;

	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
}

/*
 * The file's bytes, NUL-terminated; NULL when it cannot be read.  The
 * caller frees them.
 */
char *
tc_slurp(const char *path, size_t *lenp)
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
int
tc_load_text(struct tconf *c, const char *text, char *err, size_t errlen)
{
	char p[TPATH];

	tc_path(p, sizeof(p), "conf.txt");
	tc_write_file(p, text);
	memset(c, 0, sizeof(*c));
	if (conf_init(tc_keys, c, err, errlen) == -1)
		return -2;
	return conf_load(tc_keys, c, p, err, errlen);
}

/* conf_init + conf_parse_args over a NULL-terminated list of arguments. */
int
tc_run_args(struct tconf *c, struct conf_cli *cli, char *err, size_t errlen,
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
	if (conf_init(tc_keys, c, err, errlen) == -1)
		return -2;
	return conf_parse_args(tc_keys, c, argc, argv, cli, err, errlen);
}

/* 2026-11-22T01:02:03.123456Z */
int
tc_is_stamp(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != pat[i])
			return 0;
	return 1;
}

/* Send stderr to path; returns the saved stderr for tc_capture_end(). */
int
tc_capture_begin(const char *path)
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

void
tc_capture_end(int saved)
{
	if (saved == -1)
		return;
	dup2(saved, STDERR_FILENO);
	close(saved);
}
