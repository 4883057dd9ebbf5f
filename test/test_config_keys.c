/*
 * test_config_keys.c - the key table (config.h): the defaults it gives,
 * and what each key type (size, address, int, bool, string, list) takes
 * and refuses through conf_set, with the message it gives; bad tables.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "test_config.h"

static void	test_defaults(void);
static void	test_sizes(void);
static void	test_addresses(void);
static void	show_key(const struct tconf *, const char *, char *,
		    size_t);
static void	test_conf_set(void);
static void	test_bad_table(void);

static void
test_defaults(void)
{
	struct tconf c;
	char err[256];

	memset(&c, 0xA5, sizeof(c));	/* conf_init must not need zeros */
	c.untouched = 77;
	CU_ASSERT_EQUAL_FATAL(conf_init(tc_keys, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.listen.host, "0.0.0.0");
	CU_ASSERT_STRING_EQUAL(c.listen.port, "7420");
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
	conf_free(tc_keys, &c);
	CU_ASSERT_PTR_NULL(c.audit);
	CU_ASSERT_EQUAL(c.untouched, 77);
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
	CU_ASSERT_EQUAL_FATAL(conf_init(tc_keys, &c, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(tc_keys, &c, ok[i].key, ok[i].val, err,
		    sizeof(err)), 0);
		CU_ASSERT_EQUAL(strcmp(ok[i].key, "max-frame") == 0 ?
		    c.max_frame : c.cache, ok[i].want);
	}
	c.max_frame = 12345;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(conf_set(tc_keys, &c, bad[i][0], bad[i][1], err,
		    sizeof(err)), -1);
		CU_ASSERT_EQUAL(strncmp(err, bad[i][0], strlen(bad[i][0])),
		    0);
	}
	CU_ASSERT_EQUAL(c.max_frame, 12345);	/* a refused value */
	CU_ASSERT_EQUAL(conf_set(tc_keys, &c, "max-frame", "17M", err,
	    sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
	    "max-frame: 17M is above the maximum 16M");
	conf_free(tc_keys, &c);
}

static void
test_addresses(void)
{
	static const char *const ok[][3] = {
		{ "127.0.0.1:0", "127.0.0.1", "0" },
		{ "[::1]:0", "::1", "0" },
		{ "[::]:7420", "::", "7420" },
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
	CU_ASSERT_EQUAL_FATAL(conf_init(tc_keys, &c, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(conf_set(tc_keys, &c, "listen", ok[i][0], err,
		    sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(c.listen.host, ok[i][1]);
		CU_ASSERT_STRING_EQUAL(c.listen.port, ok[i][2]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(conf_set(tc_keys, &c, "listen", bad[i][0], err,
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
	CU_ASSERT_EQUAL(conf_set(tc_keys, &c, "listen", longhost, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(c.listen.host), 255);
	snprintf(longhost + 256, sizeof(longhost) - 256, ":1");
	CU_ASSERT_EQUAL(conf_set(tc_keys, &c, "listen", longhost, err,
	    sizeof(err)), -1);
	conf_free(tc_keys, &c);
}

/*
 * conf_set, one call after another on one struct: rc, the message when
 * refused (err), and what the key reads afterwards (want, show_key).
 */
static const struct {
	const char	*key, *val;
	int		 rc;
	const char	*err;	/* NULL: not checked */
	const char	*want;	/* NULL: not checked */
} set_cases[] = {
	{ "nope", "1", -1, "unknown key 'nope'", NULL },
	{ "heartbeat-interval", "0", -1,
	    "heartbeat-interval: 0 is below the minimum 1", NULL },
	{ "heartbeat-interval", "abc", -1,
	    "heartbeat-interval: not a number: 'abc'", NULL },
	{ "heartbeat-interval", "+7", 0, NULL, "7" },
	{ "syslog", NULL, 0, NULL, "1" },
	{ "syslog", "false", 0, NULL, "0" },
	{ "cert", NULL, -1, "cert: missing value", NULL },
	/* A string replaces; a list appends. */
	{ "cert", "a", 0, NULL, NULL },
	{ "cert", "b", 0, NULL, "b" },
	{ "platform", "p:1", 0, NULL, NULL },
	{ "platform", "p:2", 0, NULL, "2" },
};

/* What key reads in c, as set_cases writes it. */
static void
show_key(const struct tconf *c, const char *key, char *buf, size_t len)
{
	if (strcmp(key, "heartbeat-interval") == 0)
		snprintf(buf, len, "%ld", c->hb_interval);
	else if (strcmp(key, "syslog") == 0)
		snprintf(buf, len, "%d", c->syslog);
	else if (strcmp(key, "cert") == 0)
		snprintf(buf, len, "%s", c->cert ? c->cert : "(null)");
	else if (strcmp(key, "platform") == 0)
		snprintf(buf, len, "%zu", c->platforms.n);
	else
		snprintf(buf, len, "?");
}

static void
test_conf_set(void)
{
	struct tconf c;
	char err[256], got[256];
	size_t i;

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(conf_init(tc_keys, &c, err, sizeof(err)), 0);
	for (i = 0; i < NELEM(set_cases); i++) {
		CU_ASSERT_EQUAL(conf_set(tc_keys, &c, set_cases[i].key,
		    set_cases[i].val, err, sizeof(err)), set_cases[i].rc);
		if (set_cases[i].err != NULL)
			CU_ASSERT_STRING_EQUAL(err, set_cases[i].err);
		if (set_cases[i].want == NULL)
			continue;
		show_key(&c, set_cases[i].key, got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, set_cases[i].want);
	}
	/* err may be NULL. */
	CU_ASSERT_EQUAL(conf_set(tc_keys, &c, "nope", "1", NULL, 0), -1);
	conf_free(tc_keys, &c);
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

void
init_config_keys_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("config", tc_suite_init, tc_suite_clean)) == NULL)
		return;
	CU_add_test(s, "defaults applied", test_defaults);
	CU_add_test(s, "sizes and suffixes", test_sizes);
	CU_add_test(s, "addresses", test_addresses);
	CU_add_test(s, "conf_set", test_conf_set);
	CU_add_test(s, "bad tables", test_bad_table);
}
