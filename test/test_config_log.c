/*
 * test_config_log.c - the log lines (log.h): level names, the line
 * format, levels, long lines cut, and threads never interleaving.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <syslog.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "test_config.h"

#define LT_THREADS	8
#define LT_LINES	400

static void	*log_thread(void *);

static void	test_level_parse(void);
static void	test_log_format(void);
static void	test_log_levels(void);
static void	test_log_truncate(void);
static void	test_log_threads(void);
static void	test_fatal_hook(void);
static void	hook_write(const char *);
static void	test_log_file(void);

/* Level names both ways: only the four of log.h, lower case. */
static void
test_level_parse(void)
{
	static const struct {
		const char	*name;
		int		 level;
	} parse[] = {
		{ "error", LOG_ERR },
		{ "warn", LOG_WARNING },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
		{ "warning", -1 },
		{ "INFO", -1 },
		{ "", -1 },
		{ "crit", -1 },
		{ NULL, -1 },
	}, names[] = {
		{ "warn", LOG_WARNING },
		{ "error", LOG_ERR },
		{ "?", 99 },
		{ "?", -1 },
	};
	size_t i;

	for (i = 0; i < NELEM(parse); i++)
		CU_ASSERT_EQUAL(log_level_parse(parse[i].name), parse[i].level);
	for (i = 0; i < NELEM(names); i++)
		CU_ASSERT_STRING_EQUAL(log_level_name(names[i].level),
		    names[i].name);
}

static void
test_log_format(void)
{
	char p[TPATH], want[256], *text, *line, *nl;
	int saved, e, n = 0;

	tc_path(p, sizeof(p), "log.txt");
	log_init("tconf", 0, LOG_INFO);
	saved = tc_capture_begin(p);
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
	tc_capture_end(saved);
	CU_ASSERT_EQUAL(e, ENOENT);	/* errno is left alone */

	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NULL(strstr(text, "hidden"));
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		CU_ASSERT(tc_is_stamp(line));
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

	tc_path(p, sizeof(p), "levels.txt");
	log_init("tconf", 0, LOG_ERR);
	CU_ASSERT_EQUAL(log_getlevel(), LOG_ERR);
	saved = tc_capture_begin(p);
	CU_ASSERT_NOT_EQUAL_FATAL(saved, -1);
	log_warnx("no warn");
	log_info("no info");
	log_msg(LOG_ERR, "yes error");
	log_setlevel(LOG_DEBUG);
	log_debug("yes debug");
	log_setlevel(LOG_WARNING);
	log_warn("yes warn");
	log_info("no info2");
	tc_capture_end(saved);
	text = tc_slurp(p, NULL);
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
	tc_path(p, sizeof(p), "long.txt");
	log_init("tconf", 0, LOG_INFO);
	saved = tc_capture_begin(p);
	CU_ASSERT_NOT_EQUAL_FATAL(saved, -1);
	log_info("%s", big);
	errno = EPERM;
	log_warn("%s", big);
	big[900] = '\0';
	log_info("%s", big);
	tc_capture_end(saved);
	text = tc_slurp(p, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* Two cut lines of exactly LOG_LINE_MAX bytes, then a whole one. */
	CU_ASSERT_EQUAL_FATAL(len > 2 * LOG_LINE_MAX, 1);
	CU_ASSERT_EQUAL(memcmp(text + LOG_LINE_MAX - 5, "x...\n", 5), 0);
	CU_ASSERT_EQUAL(memchr(text, '\n', LOG_LINE_MAX - 1), NULL);
	CU_ASSERT_EQUAL(memcmp(text + 2 * LOG_LINE_MAX - 5, "x...\n", 5),
	    0);
	CU_ASSERT_EQUAL(memchr(text + LOG_LINE_MAX, '\n', LOG_LINE_MAX - 1),
	    NULL);
	CU_ASSERT(tc_is_stamp(text + 2 * LOG_LINE_MAX));
	CU_ASSERT_EQUAL(text[len - 1], '\n');
	CU_ASSERT_EQUAL(memcmp(text + len - 6, "xxxxx\n", 6), 0);
	CU_ASSERT(len - 2 * LOG_LINE_MAX < LOG_LINE_MAX);
	free(text);
	free(big);
	log_init("nap", 0, LOG_INFO);
}

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

	tc_path(p, sizeof(p), "threads.txt");
	log_init("tconf", 0, LOG_INFO);
	saved = tc_capture_begin(p);
	CU_ASSERT_NOT_EQUAL_FATAL(saved, -1);
	for (i = 0; i < LT_THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, log_thread,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < LT_THREADS; i++)
		pthread_join(t[i], NULL);
	tc_capture_end(saved);
	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		lines++;
		if (!tc_is_stamp(line) || (q = strstr(line, "] [t")) == NULL ||
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

	tc_path(hook_path, sizeof(hook_path), "hook.txt");
	tc_path(p, sizeof(p), "fatal.txt");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		(void)tc_capture_begin(p);
		log_set_fatal_hook(hook_write);
		errno = ENOENT;
		fatal("open %s", "x");
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	text = tc_slurp(hook_path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	{
		char want[256];

		snprintf(want, sizeof(want), "[open x: %s]", strerror(ENOENT));
		CU_ASSERT_STRING_EQUAL(text, want);
	}
	free(text);
	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " fatal: open x: "));
	free(text);
}

/* log-file: lines go there; renamed away and reopened, to a new file. */
static void
test_log_file(void)
{
	char p[TPATH], old[TPATH], err[256], *text;

	tc_path(p, sizeof(p), "file.log");
	tc_path(old, sizeof(old), "file.log.1");
	(void)unlink(p);
	CU_ASSERT_EQUAL(log_file_reopen(err, sizeof(err)), 0);	/* none */
	log_init("tconf", 0, LOG_INFO);
	CU_ASSERT_EQUAL_FATAL(log_file_open(p, err, sizeof(err)), 0);
	log_info("one");
	CU_ASSERT_EQUAL(rename(p, old), 0);
	CU_ASSERT_EQUAL(log_file_reopen(err, sizeof(err)), 0);
	log_info("two");
	log_file_close();
	text = tc_slurp(old, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "tconf["));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "info: one\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "two"));
	free(text);
	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "info: two\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "one"));
	free(text);

	tc_path(p, sizeof(p), "no-dir/file.log");
	CU_ASSERT_EQUAL(log_file_open(p, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, p));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, strerror(ENOENT)));
	log_init("nap", 0, LOG_INFO);
}

void
init_config_log_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("log", tc_suite_init, tc_suite_clean)) == NULL)
		return;
	CU_add_test(s, "log_level_parse", test_level_parse);
	CU_add_test(s, "line format", test_log_format);
	CU_add_test(s, "levels", test_log_levels);
	CU_add_test(s, "long lines cut at 1024", test_log_truncate);
	CU_add_test(s, "threads never interleave", test_log_threads);
	CU_add_test(s, "log-file and its reopening", test_log_file);
	CU_add_test(s, "fatal hook", test_fatal_hook);
}
