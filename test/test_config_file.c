/*
 * test_config_file.c - the configuration file: its syntax (comments,
 * quotes, lists), the errors that name FILE:LINE, a missing file, what
 * conf_dump writes loading back the same, and conf_free.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "test_config.h"

static void	test_file_parse(void);
static void	test_file_errors(void);
static void	test_file_missing(void);
static void	test_dump_roundtrip(void);
static void	test_free(void);
static void	test_file_rest_of_line(void);

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
	CU_ASSERT_EQUAL_FATAL(tc_load_text(&c, text, err, sizeof(err)), 0);
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
	conf_free(tc_keys, &c);

	/* An empty file leaves the defaults; "" is an empty value. */
	CU_ASSERT_EQUAL(tc_load_text(&c, "", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.hb_interval, 30);
	conf_free(tc_keys, &c);
	CU_ASSERT_EQUAL(tc_load_text(&c, "audit \"\"\nsyslog on\n", err,
	    sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.audit, "");
	CU_ASSERT_EQUAL(c.syslog, 1);
	conf_free(tc_keys, &c);
	CU_ASSERT_EQUAL(tc_load_text(&c, "syslog no", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.syslog, 0);
	conf_free(tc_keys, &c);
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

	tc_path(p, sizeof(p), "conf.txt");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(tc_load_text(&c, bad[i].text, err, sizeof(err)),
		    -1);
		snprintf(want, sizeof(want), "%s:%s", p, bad[i].err);
		if (strncmp(err, want, strlen(want)) != 0) {
			fprintf(stdout, "\n  case %zu: got   '%s'\n"
			    "           want '%s...'\n", i, err, want);
			CU_FAIL("file error message");
		}
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		conf_free(tc_keys, &c);
	}
}

static void
test_file_missing(void)
{
	struct tconf c;
	char err[512], p[TPATH], want[600];

	tc_path(p, sizeof(p), "no-such-file.conf");
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(tc_keys, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_load(tc_keys, &c, p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: %s", p, strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(err, want);
	conf_free(tc_keys, &c);
}

static void
test_dump_roundtrip(void)
{
	struct tconf a, b;
	char p[TPATH], q[TPATH], err[256], *text, *text2;
	FILE *fp;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(conf_init(tc_keys, &a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "listen", "[::1]:0", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "key", "a \"b\" \\c #d", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "audit", "", err, sizeof(err)),
	    0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "platform", "x:1", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "platform", "y y:2", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "max-frame", "1000000", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "log-level", "debug", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_set(tc_keys, &a, "syslog", "on", err,
	    sizeof(err)), 0);

	tc_path(p, sizeof(p), "dump.conf");
	fp = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	conf_dump(tc_keys, &a, fp);
	fclose(fp);
	text = tc_slurp(p, NULL);
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
	CU_ASSERT_EQUAL_FATAL(conf_init(tc_keys, &b, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_load(tc_keys, &b, p, err, sizeof(err)), 0);
	tc_path(q, sizeof(q), "dump2.conf");
	fp = fopen(q, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	conf_dump(tc_keys, &b, fp);
	fclose(fp);
	text2 = tc_slurp(q, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text2);
	CU_ASSERT_STRING_EQUAL(text, text2);
	CU_ASSERT_STRING_EQUAL(b.key, "a \"b\" \\c #d");
	free(text);
	free(text2);
	conf_free(tc_keys, &a);
	conf_free(tc_keys, &b);
}

static void
test_free(void)
{
	struct tconf c;
	struct conf_cli cli;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "--cert", "c", "--key", "k", "--audit", "a", "--platform", "1",
	    "--platform", "2", "--platform", "3", NULL), 0);
	conf_free(tc_keys, &c);
	CU_ASSERT_PTR_NULL(c.cert);
	CU_ASSERT_PTR_NULL(c.key);
	CU_ASSERT_PTR_NULL(c.audit);
	CU_ASSERT_PTR_NULL(c.platforms.v);
	CU_ASSERT_EQUAL(c.platforms.n, 0);
	CU_ASSERT_EQUAL(c.listen.host[0], '\0');
	conf_free(tc_keys, &c);		/* twice is harmless */

	/* A failing load still leaves a struct conf_free() can clean. */
	CU_ASSERT_EQUAL(tc_load_text(&c, "cert a\nplatform x\nkey k\nbad\n",
	    err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(c.cert, "a");
	conf_free(tc_keys, &c);
}

/* A list key whose value is the rest of the line (CONF_REST). */
struct rconf {
	struct conf_list	plugins, plain;
};

static const struct conf_key rkeys[] = {
	{ "plugin", CONF_STRLIST, offsetof(struct rconf, plugins), NULL,
	    CONF_REST, 0, "PATH [ARGS]" },
	{ "plain", CONF_STRLIST, offsetof(struct rconf, plain), NULL, 0, 0,
	    "a plain list" },
	{ NULL, 0, 0, NULL, 0, 0, NULL },
};

/* §7: "plugin PATH [ARGS]" lines, unquoted; a plain list still wants
 * quotes around spaces. */
static void
test_file_rest_of_line(void)
{
	struct rconf c;
	char p[TPATH], err[256];

	tc_path(p, sizeof(p), "rest.conf");
	tc_write_file(p, "plugin /x/acl.so rules=/r/a b.rules   # why\n"
	    "plugin\t/x/echo.so\n"
	    "plugin \"/x/rl.so rate=5\"\n"
	    "plugin /x/a#b.so n=1\n");
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(rkeys, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(conf_load(rkeys, &c, p, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(c.plugins.n, 4);
	CU_ASSERT_STRING_EQUAL(c.plugins.v[0], "/x/acl.so rules=/r/a b.rules");
	CU_ASSERT_STRING_EQUAL(c.plugins.v[1], "/x/echo.so");
	CU_ASSERT_STRING_EQUAL(c.plugins.v[2], "/x/rl.so rate=5");
	CU_ASSERT_STRING_EQUAL(c.plugins.v[3], "/x/a#b.so n=1");
	conf_free(rkeys, &c);
	tc_write_file(p, "plain a b\n");
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(rkeys, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(conf_load(rkeys, &c, p, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "text after the value"));
	conf_free(rkeys, &c);
}

void
init_config_file_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("config file", tc_suite_init, tc_suite_clean)) == NULL)
		return;
	CU_add_test(s, "file: comments, quotes, lists", test_file_parse);
	CU_add_test(s, "file: errors name FILE:LINE", test_file_errors);
	CU_add_test(s, "file: missing file", test_file_missing);
	CU_add_test(s, "dump loads back", test_dump_roundtrip);
	CU_add_test(s, "conf_free", test_free);
	CU_add_test(s, "file: a value to the end of the line",
	    test_file_rest_of_line);
}
