/*
 * test_plugins.c - integration tests of §7 plugins on real servers:
 * the bundled echo, acl and ratelimit plugins and the test plugins of
 * test/plugins/ (sleepy: a handler that blocks; badabi, failinit).
 *
 * Suite "plugins": a plugin that cannot load, has another ABI or fails
 * its init stops the start (exit 1, one line naming it); echo answers
 * service requests with Re = the request's Seq; a handler blocking for
 * seconds does not stall other types; the pool's bounded queue answers
 * 503; SIGHUP reaches reload; acl denies by code range, by type and by
 * default, and by region pair at the platform; a rules file with a
 * syntax error stops the start naming file and line, and at SIGHUP
 * keeps the old rules; ratelimit answers 429 to a device sending 10x
 * its rate and cuts it after 10 s of them while another pair's latency
 * is measured (printed, not asserted).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_plugins_tests(void);

static char reg[PATH_MAX];

static char *
so(char *buf, size_t len, const char *rel)
{
	return itest_fmt(buf, len, "%s/%s", itest.build, rel);
}

static char *
wfile(char *buf, size_t len, const char *name)
{
	return itest_fmt(buf, len, "%s/plugins-%s", itest.work, name);
}

static int
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
plugins_init(void)
{
	return itest_registry_new_region("plugins", 0x0001, reg,
	    sizeof(reg));
}

/* Two devices of region 0001 logged in at port. */
static bool
pair(struct itest_raw *a, uint32_t ca, struct itest_raw *b, uint32_t cb,
    int port)
{
	return itest_raw_open(a, port, itest.pki, ca, IT_WAIT_MS) == 0 &&
	    itest_raw_login(a, ca, IT_WAIT_MS) == 0 &&
	    (b == NULL || (itest_raw_open(b, port, itest.pki, cb,
	    IT_WAIT_MS) == 0 && itest_raw_login(b, cb, IT_WAIT_MS) == 0));
}

/*
 * nap-domain with one plugin line: exit 1 and one line naming it.
 */
static void
start_fails(const char *line, const char *needle)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], crl[PATH_MAX],
	    out[PATH_MAX], buf[1024];
	const char *argv[] = { itest.domain, "--listen", "127.0.0.1:0",
	    "--cert", itest_pki_file(cert, sizeof(cert), itest.pki,
	    IT_DOMAIN, "crt"), "--key", itest_pki_file(key, sizeof(key),
	    itest.pki, IT_DOMAIN, "key"), "--ca", itest_fmt(ca, sizeof(ca),
	    "%s/ca.crt", itest.pki), "--crl", itest_fmt(crl, sizeof(crl),
	    "%s/crl.pem", itest.pki), "--registry", reg, "--plugin", line,
	    NULL };
	unsigned hits = 0;
	FILE *fp;
	int st;

	wfile(out, sizeof(out), "fail.out");
	unlink(out);
	st = itest_run_out(argv, out);
	IT_ASSERT(st == 1, "plugin '%s': exit status %d, expected 1", line,
	    st);
	if ((fp = fopen(out, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), fp) != NULL)
			if (strstr(buf, "fatal") != NULL &&
			    strstr(buf, needle) != NULL)
				hits++;
		fclose(fp);
	}
	IT_ASSERT(hits == 1, "plugin '%s': %u fatal lines with '%s' in %s",
	    line, hits, needle, out);
}

static void
test_load_errors(void)
{
	char p[PATH_MAX], line[PATH_MAX + 64], rules[PATH_MAX];

	start_fails("/nonexistent/x.so", "plugin /nonexistent/x.so: cannot "
	    "load");
	so(p, sizeof(p), "test/plugins/badabi.so");
	start_fails(p, "plugin ABI 101, this server has ABI 1");
	so(p, sizeof(p), "test/plugins/failinit.so");
	start_fails(p, "init failed: refusing on purpose");
	/* acl: a syntax error names the file and the line */
	wfile(rules, sizeof(rules), "bad.rules");
	IT_ASSERT(write_file(rules, "# rules\ndefault deny\nallow from=0001 "
	    "to=XYZ\n") == 0, "write %s", rules);
	itest_fmt(line, sizeof(line), "%s rules=%s",
	    so(p, sizeof(p), "plugins/acl.so"), rules);
	itest_fmt(p, sizeof(p), "%s:3: bad value", rules);
	start_fails(line, p);
}

/*
 * Sends a service request (To = the domain) of type t: its Seq.
 */
static uint32_t
request(struct itest_raw *r, uint32_t t, const char *params)
{
	uint32_t seq = 0;

	if (itest_raw_msg(r, t, NULL, r->code, IT_DOMAIN, r->session, params,
	    &seq) == -1)
		return 0;
	return seq;
}

/*
 * echo answers with Re = Seq; a handler sleeping 3 s does not hold up
 * other types (their replies come before its own); SIGHUP reloads.
 */
static void
test_echo_blocking(void)
{
	struct itest_server D = { 0 };
	struct itest_raw a = { .fd = -1 }, b = { .fd = -1 };
	struct itest_frame f;
	char e[PATH_MAX + 32], s[PATH_MAX + 32], p[PATH_MAX];
	const char *extra[] = { "--plugin", e, "--plugin", s, "--workers",
	    "2", NULL };
	uint32_t slow, seq[20];
	unsigned echoed = 0, before_slow = 0, fwd = 0;
	bool slow_seen = false;
	long off;

	itest_fmt(e, sizeof(e), "%s types=1000-1099",
	    so(p, sizeof(p), "plugins/echo.so"));
	itest_fmt(s, sizeof(s), "%s ms=3000",
	    so(p, sizeof(p), "test/plugins/sleepy.so"));
	if (!IT_ASSERT(itest_domain_start(&D, "plugins-echo", IT_DOMAIN, reg,
	    extra, false) == 0, "domain with echo and sleepy starts"))
		return;
	if (!IT_ASSERT(pair(&a, IT_DEV(1), &b, IT_DEV(2), D.port),
	    "devices log in: %s %s", a.why, b.why))
		goto out;
	/* echo: the reply's Re is the request's Seq, its parameters too */
	seq[0] = request(&a, 1042, "<v x=\"1\"/>");
	IT_ASSERT(itest_raw_expect(&a, 1042, &f, IT_WAIT_MS, NULL) ==
	    IT_FRAME && f.h.has_re && f.h.re == seq[0] &&
	    f.h.from == IT_DOMAIN && strstr(f.body, "<v x=\"1\"/>") != NULL,
	    "echo reply with Re=%u: got re=%u from %08X: %s", seq[0], f.h.re,
	    f.h.from, f.body ? f.body : "(none)");
	itest_frame_free(&f);
	/* a slow request, then 20 echo requests and device traffic */
	slow = request(&a, 2000, "<slow/>");
	for (int i = 0; i < 20; i++) {
		seq[i] = request(&a, 1000 + (uint32_t)i, "<n/>");
		itest_raw_msg(&a, 1500, NULL, a.code, b.code, a.session,
		    "<d/>", NULL);
	}
	for (int i = 0; i < 40 && echoed < 20; i++) {
		if (itest_raw_recv(&a, &f, IT_WAIT_MS) != IT_FRAME)
			break;
		if (f.h.type == 2000)
			slow_seen = true;
		else if (f.h.type >= 1000 && f.h.type < 1020 && f.h.has_re &&
		    f.h.re == seq[f.h.type - 1000]) {
			echoed++;
			before_slow += !slow_seen;
		}
		itest_frame_free(&f);
	}
	for (int i = 0; i < 20; i++) {
		if (itest_raw_expect(&b, 1500, &f, IT_WAIT_MS, NULL) !=
		    IT_FRAME)
			break;
		fwd++;
		itest_frame_free(&f);
	}
	IT_ASSERT(echoed == 20 && before_slow == 20, "20 echo replies, all "
	    "before the slow one: %u, %u before", echoed, before_slow);
	IT_ASSERT(fwd == 20, "20 device messages delivered meanwhile: %u",
	    fwd);
	if (!slow_seen)
		IT_ASSERT(itest_raw_expect(&a, 2000, &f, IT_WAIT_MS, NULL) ==
		    IT_FRAME && f.h.re == slow, "the slow reply comes, Re=%u",
		    slow);
	if (!slow_seen)
		itest_frame_free(&f);
	/* SIGHUP reaches the plugin's reload */
	off = itest_log_size(&D);
	itest_server_signal(&D, SIGHUP);
	for (int i = 0; i < 100 && itest_log_count(&D, off, "reload 1") ==
	    0; i++)
		itest_sleep_ms(50);
	IT_ASSERT(itest_log_count(&D, off, "plugin sleepy: reload 1") == 1,
	    "SIGHUP calls the plugin's reload");
	/* a type nobody serves still gets 404 */
	request(&a, 5000, NULL);
	{
		int code = 0;
		uint32_t es = 0;

		IT_ASSERT(itest_raw_expect(&a, 6, &f, IT_WAIT_MS, NULL) ==
		    IT_FRAME && itest_frame_error(&f, &code, &es) == 0 &&
		    code == 404, "type 5000: Error 404, got %d", code);
		itest_frame_free(&f);
	}
out:
	itest_raw_close(&a);
	itest_raw_close(&b);
	IT_ASSERT(itest_server_stop(&D) == 0, "domain stops cleanly");
}

/* One worker and a queue of 2: requests past them get 503, each once. */
static void
test_queue_bound(void)
{
	struct itest_server D = { 0 };
	struct itest_raw a = { .fd = -1 };
	struct itest_frame f;
	char s[PATH_MAX + 32], p[PATH_MAX];
	const char *extra[] = { "--plugin", s, "--workers", "1",
	    "--plugin-queue", "2", NULL };
	unsigned replies = 0, e503 = 0, other = 0;

	itest_fmt(s, sizeof(s), "%s ms=1500",
	    so(p, sizeof(p), "test/plugins/sleepy.so"));
	if (!IT_ASSERT(itest_domain_start(&D, "plugins-queue", IT_DOMAIN, reg,
	    extra, false) == 0, "domain with sleepy starts"))
		return;
	if (!IT_ASSERT(pair(&a, IT_DEV(3), NULL, 0, D.port), "login: %s",
	    a.why))
		goto out;
	for (int i = 0; i < 8; i++)
		request(&a, 2000, "<slow/>");
	for (int i = 0; i < 8; i++) {
		int code = 0;
		uint32_t es = 0;

		if (itest_raw_recv(&a, &f, IT_WAIT_MS) != IT_FRAME)
			break;
		if (f.h.type == 2000)
			replies++;
		else if (f.h.type == 6 && itest_frame_error(&f, &code, &es) ==
		    0 && code == 503)
			e503++;
		else
			other++;
		itest_frame_free(&f);
	}
	IT_ASSERT(replies + e503 == 8 && other == 0 && e503 >= 5 &&
	    replies >= 1, "8 slow requests, 1 worker, queue 2: %u replies, "
	    "%u 503, %u other", replies, e503, other);
out:
	itest_raw_close(&a);
	IT_ASSERT(itest_server_stop(&D) == 0, "domain stops cleanly");
}

/* Sends type t a -> to and says whether 403 came back (else: passed). */
static int
refused(struct itest_raw *a, uint32_t to, uint32_t t, int want)
{
	struct itest_frame f;
	uint32_t seq = 0, es = 0;
	int code = 0, rc;

	if (itest_raw_msg(a, t, NULL, a->code, to, a->session, "<x/>", &seq) ==
	    -1)
		return -1;
	/* An Error comes at once when refused; a pass sends nothing back:
	 * a Check afterwards proves the link answered everything before. */
	itest_raw_msg(a, 3, NULL, a->code, IT_DOMAIN, a->session, NULL, NULL);
	for (;;) {
		if ((rc = itest_raw_recv(a, &f, IT_WAIT_MS)) != IT_FRAME)
			return -1;
		if (f.h.type == 6 && itest_frame_error(&f, &code, &es) == 0 &&
		    es == seq) {
			itest_frame_free(&f);
			/* drain the CheckReply */
			if (itest_raw_expect(a, 4, &f, IT_WAIT_MS, NULL) ==
			    IT_FRAME)
				itest_frame_free(&f);
			return code == want;
		}
		if (f.h.type == 4) {
			itest_frame_free(&f);
			return 0;
		}
		itest_frame_free(&f);
	}
}

/*
 * acl at a domain: deny by code range and by type, default deny; a bad
 * file at SIGHUP keeps the old rules; a good one replaces them.
 * ratelimit: 429s to a device at 10x its rate, cut after 10 s; another
 * pair's latency printed.
 */
static void
test_acl_ratelimit(void)
{
	struct itest_server D = { 0 };
	struct itest_raw a = { .fd = -1 }, b = { .fd = -1 };
	char rules[PATH_MAX], al[2 * PATH_MAX], rl[256], p[PATH_MAX];
	const char *extra[] = { "--plugin", al, "--plugin", rl, NULL };
	long off;

	wfile(rules, sizeof(rules), "acl.rules");
	write_file(rules, "# test rules\ndefault deny\n"
	    "deny from=00010005-00010007\n"
	    "deny type=3000-3999\n"
	    "allow from=0001 to=00010001-000100FF type=1000-2999\n");
	itest_fmt(al, sizeof(al), "%s rules=%s",
	    so(p, sizeof(p), "plugins/acl.so"), rules);
	itest_fmt(rl, sizeof(rl), "%s rate=1000 burst=1000 cut=10 "
	    "override=00010010-00010010:5:5",
	    so(p, sizeof(p), "plugins/ratelimit.so"));
	if (!IT_ASSERT(itest_domain_start(&D, "plugins-policy", IT_DOMAIN,
	    reg, extra, false) == 0, "domain with acl and ratelimit starts"))
		return;
	if (!IT_ASSERT(pair(&a, IT_DEV(1), &b, IT_DEV(6), D.port),
	    "devices log in: %s %s", a.why, b.why))
		goto out;
	IT_ASSERT(refused(&a, IT_DEV(2), 1000, 403) == 0, "allowed: "
	    "00010001 -> 00010002 type 1000");
	IT_ASSERT(refused(&a, IT_DEV(2), 3000, 403) == 1, "denied by type: "
	    "3000");
	IT_ASSERT(refused(&b, IT_DEV(2), 1000, 403) == 1, "denied by code "
	    "range: 00010006");
	IT_ASSERT(refused(&a, IT_DEV(2), 5000, 403) == 1, "denied by "
	    "default: type 5000");
	IT_ASSERT(refused(&a, IT_DOMAIN, 1000, 403) == 1, "denied by "
	    "default: To the domain");
	/* SIGHUP with a broken file: the old rules stay, the log says why */
	off = itest_log_size(&D);
	write_file(rules, "default allow\nallow from=zz\n");
	itest_server_signal(&D, SIGHUP);
	for (int i = 0; i < 100 && itest_log_count(&D, off, "reload failed")
	    == 0; i++)
		itest_sleep_ms(50);
	IT_ASSERT(itest_log_count(&D, off, "acl.rules:2: bad value") == 1,
	    "a bad file at SIGHUP is logged with its line");
	IT_ASSERT(refused(&b, IT_DEV(2), 1000, 403) == 1, "old rules kept");
	/* a good file replaces them */
	off = itest_log_size(&D);
	write_file(rules, "default allow\n");
	itest_server_signal(&D, SIGHUP);
	for (int i = 0; i < 100 && itest_log_count(&D, off, "plugin acl "
	    "reloaded") == 0; i++)
		itest_sleep_ms(50);
	IT_ASSERT(refused(&b, IT_DEV(2), 1000, 403) == 0, "new rules: "
	    "00010006 allowed");
	itest_raw_close(&a);
	itest_raw_close(&b);
	/* ratelimit: 00010010 at 50/s against 5/s; 00010020 -> 00010021
	 * measured meanwhile */
	{
		struct itest_raw fl = { .fd = -1 }, x = { .fd = -1 },
		    y = { .fd = -1 };
		struct itest_frame f;
		unsigned n429 = 0, sent = 0, nlat = 0;
		double t0, lat_sum = 0, lat_max = 0, base = 0;
		bool cut = false;

		if (!IT_ASSERT(pair(&fl, IT_DEV(16), NULL, 0, D.port) &&
		    pair(&x, IT_DEV(32), &y, IT_DEV(33), D.port),
		    "flooder and pair log in"))
			goto rl_out;
		for (int i = 0; i < 5; i++) {	/* latency before */
			t0 = now_ms();
			itest_raw_msg(&x, 1000, NULL, x.code, y.code,
			    x.session, "<p/>", NULL);
			if (itest_raw_expect(&y, 1000, &f, IT_WAIT_MS, NULL) ==
			    IT_FRAME)
				itest_frame_free(&f);
			base += now_ms() - t0;
		}
		t0 = now_ms();
		/* at most 20 s of 50 messages a second */
		for (int i = 0; i < 1000 && !cut; i++) {
			double t1;

			if (itest_raw_msg(&fl, 1000, NULL, fl.code, IT_DEV(17),
			    fl.session, "<flood/>", NULL) == -1)
				cut = true;
			sent++;
			while (!cut) {
				int rc = itest_raw_recv(&fl, &f, 0);

				if (rc == IT_CLOSED)
					cut = true;
				if (rc != IT_FRAME)
					break;
				if (f.h.type == 6)
					n429 += strstr(f.body, "code=\"429\"")
					    != NULL;
				itest_frame_free(&f);
			}
			if (i % 5 == 0) {
				t1 = now_ms();
				itest_raw_msg(&x, 1000, NULL, x.code, y.code,
				    x.session, "<p/>", NULL);
				if (itest_raw_expect(&y, 1000, &f, IT_WAIT_MS,
				    NULL) == IT_FRAME)
					itest_frame_free(&f);
				t1 = now_ms() - t1;
				lat_sum += t1;
				lat_max = t1 > lat_max ? t1 : lat_max;
				nlat++;
			}
			itest_sleep_ms(20);
		}
		if (!cut && itest_raw_wait_closed(&fl, IT_WAIT_MS, NULL) == 0)
			cut = true;
		printf("\n    ratelimit: %u sent in %.1f s, %u 429s, cut %s; "
		    "other pair's latency: %.2f ms before, %.2f ms mean, "
		    "%.2f ms max during (%u samples)\n", sent,
		    (now_ms() - t0) / 1000, n429, cut ? "yes" : "no",
		    base / 5, nlat ? lat_sum / nlat : 0, lat_max, nlat);
		IT_ASSERT(n429 > 0, "429s to the flooding device");
		IT_ASSERT(cut, "the flooding device is cut");
		IT_ASSERT(itest_log_count(&D, 0, "closed by a plugin") >= 1,
		    "the cut is logged");
rl_out:
		itest_raw_close(&fl);
		itest_raw_close(&x);
		itest_raw_close(&y);
	}
out:
	itest_raw_close(&a);
	itest_raw_close(&b);
	IT_ASSERT(itest_server_stop(&D) == 0, "domain stops cleanly");
}

/* acl at the platform: region 0001 may not reach region 0002; the
 * other way is allowed. */
static void
test_acl_platform(void)
{
	struct itest_server P = { 0 }, D1 = { 0 }, D2 = { 0 };
	struct itest_raw a = { .fd = -1 }, b = { .fd = -1 };
	struct itest_frame f;
	char rules[PATH_MAX], al[2 * PATH_MAX], p[PATH_MAX], reg2[PATH_MAX],
	    up[64];
	const char *pextra[] = { "--plugin", al, NULL };
	const char *dextra[] = { "--platform", up, NULL };
	int code = 0;
	uint32_t es = 0;

	wfile(rules, sizeof(rules), "platform.rules");
	write_file(rules, "deny from=0001 to=0002\ndefault allow\n");
	itest_fmt(al, sizeof(al), "%s rules=%s",
	    so(p, sizeof(p), "plugins/acl.so"), rules);
	if (!IT_ASSERT(itest_fed_init() == 0 &&
	    itest_registry_new_region("plugins-r2", 0x0002, reg2,
	    sizeof(reg2)) == 0 &&
	    itest_platform_start(&P, "plugins-p", pextra, false) == 0,
	    "platform with acl starts"))
		return;
	itest_fmt(up, sizeof(up), "127.0.0.1:%d", P.port);
	if (!IT_ASSERT(itest_domain_start(&D1, "plugins-d1", IT_DOMAIN, reg,
	    dextra, false) == 0 && itest_domain_start(&D2, "plugins-d2",
	    IT_DOMAIN2, reg2, dextra, false) == 0, "domains start"))
		goto out;
	if (!IT_ASSERT(itest_raw_open(&a, D1.port, itest.pki, IT_DEV(1),
	    IT_WAIT_MS) == 0 && itest_raw_login(&a, IT_DEV(1), IT_WAIT_MS) ==
	    0 && itest_raw_open_as(&b, D2.port, itest.pki, IT_DEV2,
	    IT_WAIT_MS, IT_DOMAIN2) == 0 && itest_raw_login_with(&b,
	    IT_DOMAIN2, NULL, IT_WAIT_MS) == 0, "devices log in: %s %s",
	    a.why, b.why))
		goto out;
	/* 0002 -> 0001 passes (once both regions are up: retried) */
	for (int i = 0; i < 50; i++) {
		itest_raw_msg(&b, 1000, NULL, b.code, a.code, b.session,
		    "<hi/>", NULL);
		if (itest_raw_expect(&a, 1000, &f, 200, NULL) == IT_FRAME) {
			itest_frame_free(&f);
			break;
		}
	}
	IT_ASSERT(itest_raw_msg(&b, 1001, NULL, b.code, a.code, b.session,
	    "<hi/>", NULL) == 0 && itest_raw_expect(&a, 1001, &f, IT_WAIT_MS,
	    NULL) == IT_FRAME, "region 0002 -> 0001 allowed");
	itest_frame_free(&f);
	/* until domain 0001 has seen region 0002 up (503 meanwhile) */
	for (int i = 0; i < 50; i++) {
		code = 0;
		if (itest_raw_msg(&a, 1000, NULL, a.code, b.code, a.session,
		    "<no/>", NULL) == -1 || itest_raw_expect(&a, 6, &f,
		    IT_WAIT_MS, NULL) != IT_FRAME)
			break;
		(void)itest_frame_error(&f, &code, &es);
		if (code != 503)
			break;
		itest_frame_free(&f);
		itest_sleep_ms(200);
	}
	IT_ASSERT(code == 403 && f.h.from == IT_PLATFORM, "region 0001 -> "
	    "0002: 403 from the platform, got %d from %08X", code, f.h.from);
	itest_frame_free(&f);
out:
	itest_raw_close(&a);
	itest_raw_close(&b);
	itest_server_stop(&D1);
	itest_server_stop(&D2);
	IT_ASSERT(itest_server_stop(&P) == 0, "platform stops cleanly");
}

void
init_plugins_tests(void)
{
	CU_pSuite s = CU_add_suite("plugins", plugins_init, NULL);

	if (s == NULL)
		return;
	CU_add_test(s, "load errors stop the start naming the plugin",
	    test_load_errors);
	CU_add_test(s, "echo replies; a blocking handler stalls nothing else",
	    test_echo_blocking);
	CU_add_test(s, "the pool's queue bound answers 503", test_queue_bound);
	CU_add_test(s, "acl and ratelimit at a domain", test_acl_ratelimit);
	CU_add_test(s, "acl at the platform: a region pair", test_acl_platform);
}
