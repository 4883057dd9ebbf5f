/*
 * test_config_cli.c - the command line: it overrides the file, its
 * forms (--key=value, bare bools, grouped flags, -n, -f FILE, --), its
 * errors, -h, and the usage text made from the key table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "test_config.h"

static void	test_cli_overrides(void);
static void	test_cli_forms(void);
static void	test_cli_errors(void);
static void	test_cli_help(void);
static void	test_usage(void);

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

	tc_path(p, sizeof(p), "cli.conf");
	tc_write_file(p, text);
	CU_ASSERT_EQUAL_FATAL(tc_run_args(&c, &cli, err, sizeof(err),
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
	conf_free(tc_keys, &c);

	/* Without a command-line platform, the file's list stays. */
	CU_ASSERT_EQUAL_FATAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "-f", p, "--cert", "/cli/cert.pem", "--cert", "/cli/2.pem",
	    NULL), 0);
	CU_ASSERT_EQUAL_FATAL(c.platforms.n, 2);
	CU_ASSERT_STRING_EQUAL(c.platforms.v[0], "f1:1");
	CU_ASSERT_STRING_EQUAL(c.cert, "/cli/2.pem");
	conf_free(tc_keys, &c);
}

static void
test_cli_forms(void)
{
	struct tconf c;
	struct conf_cli cli;
	char p[TPATH], err[256];

	tc_path(p, sizeof(p), "forms.conf");
	tc_write_file(p, "syslog yes\n");

	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "--threads", "8", "--max-frame=2M", "--cert=", "-n", NULL), 0);
	CU_ASSERT_EQUAL(c.threads, 8);
	CU_ASSERT_EQUAL(c.max_frame, 2 << 20);
	CU_ASSERT_STRING_EQUAL(c.cert, "");
	CU_ASSERT_EQUAL(cli.check_only, 1);
	CU_ASSERT_PTR_NULL(cli.config_file);
	conf_free(tc_keys, &c);

	/* Bare bool, bool with a word, bool before another option. */
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "--syslog", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 1);
	conf_free(tc_keys, &c);
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "-f", p, "--syslog", "no", "--daemon", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 0);
	CU_ASSERT_EQUAL(cli.daemon, 1);
	conf_free(tc_keys, &c);
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "--syslog", "-n", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 1);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	conf_free(tc_keys, &c);
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "-f", p, "--syslog=off", NULL), 0);
	CU_ASSERT_EQUAL(c.syslog, 0);
	conf_free(tc_keys, &c);

	/* Grouped short flags, -fFILE, "--". */
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "-nv", "-v", NULL), 0);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	CU_ASSERT_EQUAL(cli.verbose, 2);
	conf_free(tc_keys, &c);
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "-nf", p, "--", NULL), 0);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	CU_ASSERT_EQUAL(c.syslog, 1);
	conf_free(tc_keys, &c);
	{
		char fopt[TPATH + 2];

		snprintf(fopt, sizeof(fopt), "-f%s", p);
		CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
		    fopt, NULL), 0);
		CU_ASSERT_EQUAL(c.syslog, 1);
		conf_free(tc_keys, &c);
	}
	/* A value that looks like an option is still the value. */
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
	    "--cert", "-n", NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.cert, "-n");
	CU_ASSERT_EQUAL(cli.check_only, 0);
	conf_free(tc_keys, &c);
	/* No arguments: the defaults. */
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(c.hb_interval, 30);
	conf_free(tc_keys, &c);
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
		CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
		    bad[i].a[0], bad[i].a[1], bad[i].a[2], bad[i].a[3], NULL),
		    -1);
		if (strcmp(err, bad[i].err) != 0) {
			fprintf(stdout, "\n  case %zu: got '%s'\n", i, err);
			CU_FAIL("command-line error message");
		}
		CU_ASSERT_EQUAL(cli.usage, 1);
		conf_free(tc_keys, &c);
	}
	/* Errors of the -f file come back as they are. */
	tc_path(p, sizeof(p), "bad.conf");
	tc_write_file(p, "threads 4\nfoo bar\n");
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err), "-f", p, NULL),
	    -1);
	snprintf(want, sizeof(want), "%s:2: unknown key 'foo'", p);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(cli.usage, 0);
	conf_free(tc_keys, &c);
	tc_path(p, sizeof(p), "missing.conf");
	CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err), "-n", "-f", p,
	    NULL), -1);
	snprintf(want, sizeof(want), "%s: %s", p, strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(cli.usage, 0);
	CU_ASSERT_EQUAL(cli.check_only, 1);
	conf_free(tc_keys, &c);
}

/* -h wins over anything else, and reads no file. */
static void
test_cli_help(void)
{
	static const char *const args[][5] = {
		{ "-f", "/nonexistent/x.conf", "-h", "--bogus", NULL },
		{ "--help", NULL },
		{ "-nh", NULL },
	};
	struct tconf c;
	struct conf_cli cli;
	char err[256];
	size_t i;

	for (i = 0; i < NELEM(args); i++) {
		CU_ASSERT_EQUAL(tc_run_args(&c, &cli, err, sizeof(err),
		    args[i][0], args[i][1], args[i][2], args[i][3], NULL), 0);
		CU_ASSERT_EQUAL(cli.help, 1);
		conf_free(tc_keys, &c);
	}
}

static void
test_usage(void)
{
	char p[TPATH], *text;
	FILE *fp;

	tc_path(p, sizeof(p), "usage.txt");
	fp = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	conf_usage(tc_keys, "nap-test", fp);
	fclose(fp);
	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strncmp(text, "usage: nap-test ", 16), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-f FILE"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--daemon"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-h, --help"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "--listen HOST:PORT           address to accept links on "
	    "[0.0.0.0:7420]\n"));
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

void
init_config_cli_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("config command line", tc_suite_init, tc_suite_clean)) == NULL)
		return;
	CU_add_test(s, "command line overrides file", test_cli_overrides);
	CU_add_test(s, "command-line forms", test_cli_forms);
	CU_add_test(s, "command-line errors", test_cli_errors);
	CU_add_test(s, "-h and --help", test_cli_help);
	CU_add_test(s, "usage from the table", test_usage);
}
