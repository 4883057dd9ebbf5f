/*
 * test_ops.c - integration tests of how nap-domain is operated: one
 * server per store (a second one is refused, naming the holder), the
 * registry's `seen' written by the server, and nap-device send reporting
 * its own refusals (DESIGN.md §9 exit statuses).
 *
 * Suites:
 *   ops: store lock   a second nap-domain on the same registry/store
 *                     exits 1 naming the first; nap-ctl is not locked out
 *   ops: seen         a login is recorded as the device's `seen'
 *   ops: send         nap-device send to an unknown device exits 1 with
 *                     the 404 every time; --ack prints only its receipts
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_ops_tests(void);

static int	run_capture(const char *const [], const char *, char *,
		    size_t);
static unsigned	count_str(const char *, const char *);
static bool	tcp_poke(int);
static bool	write_file(const char *, const char *);
static bool	log_waits(const struct itest_server *, const char *);
static bool	logins_by_thread(const char *, const char *const [],
		    unsigned *, unsigned *);

/* How many times needle occurs in s. */
static unsigned
count_str(const char *s, const char *needle)
{
	unsigned n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/*
 * Runs argv with stdout and stderr into the file out (emptied first) and
 * reads back up to len - 1 bytes of it into buf.  The exit status as
 * itest_run().
 */
static int
run_capture(const char *const argv[], const char *out, char *buf,
    size_t len)
{
	FILE *f;
	size_t n = 0;
	int rc;

	if ((f = fopen(out, "w")) != NULL)
		fclose(f);
	rc = itest_run_out(argv, out);
	buf[0] = '\0';
	if ((f = fopen(out, "r")) != NULL) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return rc;
}

/* A second server on the same registry (hence store) is refused. */
static void
test_store_lock(void)
{
	struct itest_server a;
	struct itest_raw r;
	char reg[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	char out[PATH_MAX], want[128], buf[4096], list[PATH_MAX];
	const char *argv[] = { itest.domain, "--listen", "127.0.0.1:0",
	    "--cert", crt, "--key", key, "--ca", ca, "--registry", reg, NULL };
	const char *ctl[] = { itest.ctl, "--registry", reg, "device", "list",
	    NULL };
	int rc;

	memset(&a, 0, sizeof(a));
	if (itest_registry_new("lock", reg, sizeof(reg)) == -1 ||
	    !IT_ASSERT(itest_server_start(&a, "lock-a", reg, NULL, false) ==
	    0, "the first nap-domain starts"))
		return;
	itest_pki_file(crt, sizeof(crt), itest.pki, IT_DOMAIN, "crt");
	itest_pki_file(key, sizeof(key), itest.pki, IT_DOMAIN, "key");
	itest_fmt(ca, sizeof(ca), "%s/ca.crt", itest.pki);
	itest_fmt(out, sizeof(out), "%s/lock-b.out", itest.work);
	rc = run_capture(argv, out, buf, sizeof(buf));
	itest_fmt(want, sizeof(want), "is in use by nap-domain pid %ld (host ",
	    (long)a.pid);
	IT_ASSERT(rc == 1, "the second nap-domain on %s: exit %d, want 1",
	    reg, rc);
	IT_ASSERT(strstr(buf, want) != NULL && strstr(buf, "store ") != NULL,
	    "its line names the holder (%s): got \"%s\"", want, buf);
	/* nap-ctl edits the files beside the running server. */
	itest_fmt(list, sizeof(list), "%s/lock-ctl.out", itest.work);
	rc = run_capture(ctl, list, buf, sizeof(buf));
	IT_ASSERT(rc == 0, "nap-ctl device list while it runs: exit %d: %s",
	    rc, buf);
	/* The first one still serves. */
	if (IT_ASSERT(itest_raw_open(&r, a.port, itest.pki, IT_DEV(1),
	    IT_WAIT_MS) == 0, "TLS to the first server: %s", r.why))
		IT_ASSERT(itest_raw_login(&r, IT_DEV(1), IT_WAIT_MS) == 0,
		    "a login on the first server: %s", r.why);
	itest_raw_close(&r);
	IT_ASSERT(itest_server_stop(&a) == 0, "the first one stops: status 0");
	/* Its lock died with it: a new server starts. */
	if (IT_ASSERT(itest_server_start(&a, "lock-c", reg, NULL, false) ==
	    0, "a server starts once the first has exited"))
		IT_ASSERT(itest_server_stop(&a) == 0, "SIGTERM: status 0");
}

/* `nap-ctl device show CODE' output into buf; its exit status. */
static int
ctl_show(const char *reg, uint32_t code, char *buf, size_t len)
{
	char c[9], out[PATH_MAX];
	const char *argv[] = { itest.ctl, "--registry", reg, "device", "show",
	    c, NULL };

	snprintf(c, sizeof(c), "%08X", code);
	itest_fmt(out, sizeof(out), "%s/seen-show.out", itest.work);
	return run_capture(argv, out, buf, len);
}

/* A login writes the registry's seen (off the I/O threads: the store
 * thread's batch). */
static void
test_seen(void)
{
	struct itest_server a;
	struct itest_raw r;
	char reg[PATH_MAX], buf[2048];

	memset(&a, 0, sizeof(a));
	if (itest_registry_new("seen", reg, sizeof(reg)) == -1)
		return;
	IT_ASSERT(ctl_show(reg, IT_DEV(7), buf, sizeof(buf)) == 0 &&
	    strstr(buf, "seen: never") != NULL, "a new device was never seen: "
	    "%s", buf);
	if (!IT_ASSERT(itest_server_start(&a, "seen", reg, NULL, false) ==
	    0, "nap-domain starts"))
		return;
	if (IT_ASSERT(itest_raw_open(&r, a.port, itest.pki, IT_DEV(7),
	    IT_WAIT_MS) == 0, "TLS: %s", r.why))
		IT_ASSERT(itest_raw_login(&r, IT_DEV(7), IT_WAIT_MS) == 0,
		    "login: %s", r.why);
	itest_raw_close(&r);
	/* A stop commits the last batch. */
	IT_ASSERT(itest_server_stop(&a) == 0, "SIGTERM: status 0");
	IT_ASSERT(ctl_show(reg, IT_DEV(7), buf, sizeof(buf)) == 0 &&
	    strstr(buf, "seen: ") != NULL && strstr(buf, "seen: never") ==
	    NULL, "after a login, seen is a time: %s", buf);
	IT_ASSERT(ctl_show(reg, IT_DEV(8), buf, sizeof(buf)) == 0 &&
	    strstr(buf, "seen: never") != NULL, "a device that did not log "
	    "in is still never seen: %s", buf);
}

/* nap-device send as IT_DEV(1) to server port: output into buf. */
static int
device_send(int port, const char *to, bool ack, const char *out, char *buf,
    size_t len)
{
	char bin[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	char server[32];
	const char *argv[] = { bin, "send", "--to", to, "--type", "1000",
	    "--server", server, "--cert", crt, "--key", key, "--ca", ca,
	    ack ? "--ack" : NULL, NULL };

	itest_fmt(bin, sizeof(bin), "%s/devices/nap-device", itest.build);
	itest_fmt(server, sizeof(server), "127.0.0.1:%d", port);
	itest_pki_file(crt, sizeof(crt), itest.pki, IT_DEV(1), "crt");
	itest_pki_file(key, sizeof(key), itest.pki, IT_DEV(1), "key");
	itest_fmt(ca, sizeof(ca), "%s/ca.crt", itest.pki);
	return run_capture(argv, out, buf, len);
}

/*
 * A send refused by the server (404 unknown destination) reports it and
 * exits 1 every time, whichever I/O thread its link lands on; the
 * refusals are not kept for the sender and told again to a later send.
 */
static void
test_send_refused(void)
{
	struct itest_server a;
	char reg[PATH_MAX], out[PATH_MAX], buf[4096], to[9], want[64];
	const char *extra[] = { "--threads", "2", NULL };
	unsigned bad = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	if (itest_registry_new("send", reg, sizeof(reg)) == -1 ||
	    !IT_ASSERT(itest_server_start(&a, "send", reg, extra, false) == 0,
	    "nap-domain starts"))
		return;
	itest_fmt(out, sizeof(out), "%s/send.out", itest.work);
	snprintf(to, sizeof(to), "%08X", IT_UNREG);
	for (int i = 0; i < 9; i++) {
		rc = device_send(a.port, to, false, out, buf, sizeof(buf));
		if (!IT_ASSERT(rc == 1 && strstr(buf, "unknown destination "
		    "000100CA (404)") != NULL, "send %d to unregistered %s: "
		    "exit %d, want 1 with the 404: %s", i + 1, to, rc, buf))
			bad++;
	}
	IT_ASSERT(bad == 0, "%u of 9 sends did not report their 404", bad);
	snprintf(to, sizeof(to), "%08X", IT_DEV(2));
	rc = device_send(a.port, to, true, out, buf, sizeof(buf));
	IT_ASSERT(rc == 0, "an --ack send to %s (offline): exit %d: %s", to,
	    rc, buf);
	itest_fmt(want, sizeof(want), " %s stored\n", to);
	IT_ASSERT(count_str(buf, want) == 1 && count_str(buf, "ack ") == 1 &&
	    strstr(buf, "404") == NULL, "it prints its own receipt only, "
	    "once: %s", buf);
	IT_ASSERT(itest_server_stop(&a) == 0, "SIGTERM: status 0");
}

/* A plain TCP connection to port, closed at once: a failed handshake. */
static bool
tcp_poke(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	if (fd == -1)
		return false;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/*
 * Logins, refusals and failed handshakes are logged at info level with
 * the peer's address; a flood of them is cut down to a rate, and what
 * was not written is counted in a line of its own.
 */
static void
test_link_log(void)
{
	static const char *const extra[] = { "--log-level", "info", NULL };
	struct itest_server a;
	struct itest_raw r, u;
	char reg[PATH_MAX];
	unsigned fails = 0, n;
	int i;

	memset(&a, 0, sizeof(a));
	if (itest_registry_new("linklog", reg, sizeof(reg)) == -1 ||
	    !IT_ASSERT(itest_server_start(&a, "linklog", reg, extra, false) ==
	    0, "nap-domain starts"))
		return;
	if (IT_ASSERT(itest_raw_open(&r, a.port, itest.pki, IT_DEV(9),
	    IT_WAIT_MS) == 0, "TLS: %s", r.why))
		IT_ASSERT(itest_raw_login(&r, IT_DEV(9), IT_WAIT_MS) == 0,
		    "login: %s", r.why);
	if (itest_raw_open(&u, a.port, itest.pki, IT_UNREG, IT_WAIT_MS) == 0)
		(void)itest_raw_login(&u, IT_UNREG, IT_WAIT_MS);
	itest_raw_close(&u);
	itest_sleep_ms(300);
	IT_ASSERT(itest_log_count(&a, 0, "from 127.0.0.1:") >= 2 &&
	    itest_log_count(&a, 0, "00010009 logged in") == 1 &&
	    itest_log_count(&a, 0, "000100CA refused: device not "
	    "registered") == 1, "login and refusal logged with the peer's "
	    "address (%s)", a.log);
	/* A flood of failed handshakes: written up to the bucket, then
	 * counted. */
	for (i = 0; i < 600; i++)
		fails += tcp_poke(a.port) ? 0 : 1;
	IT_ASSERT(fails == 0, "%u of 600 connections failed", fails);
	for (i = 0; i < 100 && itest_log_count(&a, 0,
	    "link log lines not written") == 0; i++)
		itest_sleep_ms(100);
	n = itest_log_count(&a, 0, "handshake failed");
	IT_ASSERT(n > 0 && n < 600, "600 failed handshakes: %u lines "
	    "written, expected some and fewer than all", n);
	IT_ASSERT(itest_log_count(&a, 0, "link log lines not written") >= 1,
	    "the lines not written are counted in the log (%s)", a.log);
	/* The logged-in device was not disturbed. */
	IT_ASSERT(itest_raw_msg(&r, 3, NULL, IT_DEV(9), IT_DOMAIN, r.session,
	    NULL, NULL) == 0, "Check after the flood");
	{
		struct itest_frame f;

		if (IT_ASSERT(itest_raw_expect(&r, 4, &f, IT_WAIT_MS, NULL) ==
		    IT_FRAME, "CheckReply after the flood"))
			itest_frame_free(&f);
	}
	itest_raw_close(&r);
	IT_ASSERT(itest_server_stop(&a) == 0, "SIGTERM: status 0");
}

static bool
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok = f != NULL && fputs(text, f) >= 0;

	if (f != NULL && fclose(f) != 0)
		ok = false;
	return ok;
}

/* Waits (bounded) until the server's log holds what. */
static bool
log_waits(const struct itest_server *a, const char *what)
{
	for (int i = 0; i < 100; i++) {
		if (itest_log_count(a, 0, what) > 0)
			return true;
		itest_sleep_ms(100);
	}
	return false;
}

/*
 * SIGHUP reads the configuration file again: a live key (log-level)
 * takes its new value, a key that needs a restart (max-frame) is logged
 * as such and kept, a broken file changes nothing.
 */
static void
test_reload_conf(void)
{
	struct itest_server a;
	char reg[PATH_MAX], conf[PATH_MAX];
	const char *extra[] = { "-f", conf, NULL };

	memset(&a, 0, sizeof(a));
	itest_fmt(conf, sizeof(conf), "%s/reconf.conf", itest.work);
	if (itest_registry_new("reconf", reg, sizeof(reg)) == -1 ||
	    !IT_ASSERT(write_file(conf, "log-level warn\nmax-frame 1M\n"),
	    "write %s", conf) || !IT_ASSERT(itest_server_start(&a, "reconf",
	    reg, extra, false) == 0, "nap-domain -f starts"))
		return;
	IT_ASSERT(write_file(conf, "log-level info\nmax-frame 2M\n"),
	    "rewrite %s", conf);
	IT_ASSERT(itest_server_signal(&a, SIGHUP) == 0, "kill -HUP");
	IT_ASSERT(log_waits(&a, "reload: log-level changed"), "the new "
	    "log-level is taken (%s)", a.log);
	IT_ASSERT(log_waits(&a, "max-frame changed: needs restart"),
	    "max-frame is logged as needing a restart (%s)", a.log);
	/* info now: the reload's own info line is written. */
	IT_ASSERT(log_waits(&a, "certificates, CRL and registry re-read"),
	    "info lines written after the change (%s)", a.log);
	IT_ASSERT(write_file(conf, "log-level info\nno-such-key 1\n"),
	    "break %s", conf);
	IT_ASSERT(itest_server_signal(&a, SIGHUP) == 0, "kill -HUP");
	IT_ASSERT(log_waits(&a, "reload: configuration kept"), "a broken "
	    "file keeps the running configuration (%s)", a.log);
	IT_ASSERT(itest_server_stop(&a) == 0, "still running; SIGTERM: "
	    "status 0");
}

/* Logs in devices 20..25 on a domain started with extra, then counts
 * the login lines its threads io0 and io1 wrote. */
static bool
logins_by_thread(const char *name, const char *const extra[],
    unsigned *io0, unsigned *io1)
{
	struct itest_server a;
	struct itest_raw r[6];
	char reg[PATH_MAX];
	int n = 0;

	memset(&a, 0, sizeof(a));
	if (itest_registry_new(name, reg, sizeof(reg)) == -1 ||
	    !IT_ASSERT(itest_server_start(&a, name, reg, extra, false) == 0,
	    "nap-domain %s starts", name))
		return false;
	for (; n < 6; n++)
		if (!IT_ASSERT(itest_raw_open(&r[n], a.port, itest.pki,
		    IT_DEV(20 + n), IT_WAIT_MS) == 0, "TLS: %s", r[n].why) ||
		    !IT_ASSERT(itest_raw_login(&r[n], IT_DEV(20 + n),
		    IT_WAIT_MS) == 0, "login: %s", r[n].why))
			break;
	*io0 = itest_log_count(&a, 0, "[io0] info: link");
	*io1 = itest_log_count(&a, 0, "[io1] info: link");
	while (n > 0)
		itest_raw_close(&r[--n]);
	IT_ASSERT(itest_server_stop(&a) == 0, "SIGTERM: status 0");
	return true;
}

/*
 * federation-thread yes: the federation's thread takes no device links
 * (all six land on io1); without it the links go to both threads.
 */
static void
test_federation_thread(void)
{
	static const char *const own[] = { "--threads", "2", "--platform",
	    "127.0.0.1:1", "--log-level", "info", "--federation-thread",
	    "yes", NULL };
	static const char *const shared[] = { "--threads", "2",
	    "--platform", "127.0.0.1:1", "--log-level", "info", NULL };
	unsigned io0 = 0, io1 = 0;

	if (logins_by_thread("fedthread-own", own, &io0, &io1))
		IT_ASSERT(io0 == 0 && io1 >= 6, "federation-thread yes: %u "
		    "login lines on io0 (want 0), %u on io1", io0, io1);
	if (logins_by_thread("fedthread-shared", shared, &io0, &io1))
		IT_ASSERT(io0 >= 2 && io1 >= 2, "federation-thread no: "
		    "links on both threads, got %u and %u", io0, io1);
}

void
init_ops_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("ops: store lock", NULL, NULL);
	CU_add_test(s, "a second nap-domain on the same store exits 1 naming "
	    "the holder; the first serves on", test_store_lock);
	s = CU_add_suite("ops: seen", NULL, NULL);
	CU_add_test(s, "a login is recorded as the device's seen", test_seen);
	s = CU_add_suite("ops: send", NULL, NULL);
	CU_add_test(s, "nap-device send to an unknown device exits 1 with the "
	    "404, 9 times in 9; --ack prints only its own receipt",
	    test_send_refused);
	s = CU_add_suite("ops: link log", NULL, NULL);
	CU_add_test(s, "logins, refusals and failed handshakes logged with "
	    "the peer's address, a flood cut to a rate", test_link_log);
	s = CU_add_suite("ops: federation thread", NULL, NULL);
	CU_add_test(s, "federation-thread yes keeps device links off the "
	    "federation's thread", test_federation_thread);
	s = CU_add_suite("ops: reload", NULL, NULL);
	CU_add_test(s, "SIGHUP re-reads the file: live keys change, others "
	    "need a restart, a broken file changes nothing",
	    test_reload_conf);
}
