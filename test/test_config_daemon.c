/*
 * test_config_daemon.c - the daemon runtime (daemon.h): the PID file
 * and its lock, the port file, and daemonize().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "daemon.h"
#include "test_config.h"

static void	test_pidfile(void);
static void	test_pidfile_fork(void);
static void	test_pidfile_stale(void);
static void	test_portfile(void);
static void	test_daemonize(void);
static void	test_daemonize_fail(void);
static void	daemon_fails(int, const char *);

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

	tc_path(p, sizeof(p), "nap.pid");
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
		if ((t = tc_slurp(p, NULL)) == NULL || strcmp(t, w) != 0)
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
	text = tc_slurp(p, NULL);
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
	tc_path(p, sizeof(p), "no-dir/nap.pid");
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

	tc_path(p, sizeof(p), "fork.pid");
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

	tc_path(p, sizeof(p), "stale.pid");
	tc_write_file(p, "999999999\nsome junk that is longer\n");
	CU_ASSERT_EQUAL_FATAL(pidfile_create(p, err, sizeof(err)), 0);
	text = tc_slurp(p, NULL);
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

	tc_path(p, sizeof(p), "port");
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	CU_ASSERT_EQUAL(portfile_write(p, 12345, err, sizeof(err)), 0);
	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "12345\n");
	free(text);
	CU_ASSERT_EQUAL(stat(tmp, &st), -1);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	mask = umask(022);
	umask(mask);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0644 & ~mask);

	CU_ASSERT_EQUAL(portfile_write(p, 0, err, sizeof(err)), 0);
	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "0\n");
	free(text);

	CU_ASSERT_EQUAL(portfile_write(p, 65536, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(portfile_write(p, -1, err, sizeof(err)), -1);
	text = tc_slurp(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "0\n");	/* untouched */
	free(text);

	tc_path(p, sizeof(p), "no-dir/port");
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

	tc_path(p, sizeof(p), "daemon.result");
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
	text = tc_slurp(p, NULL);
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

	tc_path(p, sizeof(p), "daemon.err");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		(void)tc_capture_begin(p);
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
	text = tc_slurp(p, NULL);
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

void
init_config_daemon_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("daemon", tc_suite_init, tc_suite_clean)) == NULL)
		return;
	CU_add_test(s, "pid file lock", test_pidfile);
	CU_add_test(s, "pid file in a forked child", test_pidfile_fork);
	CU_add_test(s, "stale pid file taken over", test_pidfile_stale);
	CU_add_test(s, "port file", test_portfile);
	CU_add_test(s, "daemonize", test_daemonize);
	CU_add_test(s, "daemonize: the daemon fails", test_daemonize_fail);
}
