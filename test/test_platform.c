/*
 * test_platform.c - integration tests of nap-platform (DESIGN.md §4-§6):
 * a real platform on 127.0.0.1 with the run's PKI, and raw TLS clients
 * that act as the domain servers of regions 0001 and 0002 (certificates
 * 00010000 and 00020000) and as a device that logs in to Locate.
 *
 * One suite, in order: the tests share the platform and the two domain
 * links, and each leaves them as it found them (every frame it caused
 * read), so that the next one starts from a known state.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_platform_tests(void);

#define ADDR1	"127.0.0.1:6001"	/* what domain 0001 says it is at */
#define ADDR2	"127.0.0.1:6002"
#define DEV1	0x00010001u		/* a device of region 0001 */

static struct itest_server plat;
static struct itest_raw A, B;		/* domains 00010000 and 00020000 */
static bool A_on, B_on;

static bool	dom_login(struct itest_raw *, uint32_t, const char *);
static bool	expect_route(struct itest_raw *, const char *, const char *);
static bool	expect_error(struct itest_raw *, int, uint32_t, uint32_t,
		    const char *);
static void	still_open(struct itest_raw *, const char *);
static bool	expect_closed(struct itest_raw *, const char *);
static bool	send_body(struct itest_raw *, const char *, const char *);
static bool	expect_body(struct itest_raw *, uint32_t, const char *,
		    const char *);
static int	pl_init(void);
static int	pl_clean(void);
static void	test_tables(void);
static void	test_via_splice(void);
static void	test_spoof(void);
static void	test_unreachable(void);
static void	test_no_error_for_error(void);
static void	test_locate_region(void);
static void	test_locate_code(void);
static void	test_device_locates(void);
static void	test_login_rules(void);
static void	test_replace(void);
static void	test_lost_link(void);
static void	test_logout(void);
static void	test_sigterm(void);

/* ---- helpers ---------------------------------------------------------- */

/* Opens a link with the certificate of code and logs in as a domain. */
static bool
dom_login(struct itest_raw *r, uint32_t code, const char *addr)
{
	char params[128];
	int rc;

	if (!IT_ASSERT(itest_raw_open_as(r, plat.port, itest.pki, code,
	    IT_WAIT_MS, IT_PLATFORM) == 0, "%08X: TLS handshake with the "
	    "platform: %s", code, r->why))
		return false;
	snprintf(params, sizeof(params), "<domain address=\"%s\"/>", addr);
	rc = itest_raw_login_with(r, IT_PLATFORM, params, IT_WAIT_MS);
	return IT_ASSERT(rc == 0, "%08X: Login expected LoginReply, got %d "
	    "(%s)", code, rc, r->why);
}

/* The next RouteUpdate holds the element want (e.g. region="0002"
 * state="up"), after no other frame. */
static bool
expect_route(struct itest_raw *r, const char *want, const char *what)
{
	struct itest_frame f;
	unsigned skipped = 0;
	int rc;
	bool ok;

	rc = itest_raw_expect(r, 10, &f, IT_WAIT_MS, &skipped);
	if (!IT_ASSERT(rc == IT_FRAME, "%s: expected a RouteUpdate holding "
	    "%s, got rc %d (%s)", what, want, rc, r->why))
		return false;
	ok = IT_ASSERT(strstr(f.body, want) != NULL && f.h.from ==
	    IT_PLATFORM && f.h.to == r->code, "%s: expected a RouteUpdate "
	    "From 00000000 To %08X holding %s, got %.300s", what, r->code,
	    want, f.body);
	IT_ASSERT(skipped == 0, "%s: %u unexpected frame(s) before it", what,
	    skipped);
	itest_frame_free(&f);
	return ok;
}

/* The next frame is Error `want` From the platform To `to` naming seq. */
static bool
expect_error(struct itest_raw *r, int want, uint32_t seq, uint32_t to,
    const char *what)
{
	struct itest_frame f;
	uint32_t eseq = 0;
	int rc, code = 0;
	bool ok;

	rc = itest_raw_recv(r, &f, IT_WAIT_MS);
	if (!IT_ASSERT(rc == IT_FRAME, "%s: expected Error %d naming Seq %u, "
	    "got rc %d (%s)", what, want, seq, rc, r->why))
		return false;
	ok = itest_frame_error(&f, &code, &eseq) == 0 && code == want &&
	    eseq == seq && f.h.from == IT_PLATFORM && f.h.to == to;
	IT_ASSERT(ok, "%s: expected Error %d naming Seq %u From 00000000 To "
	    "%08X, got: %.300s", what, want, seq, to, f.body);
	itest_frame_free(&f);
	return ok;
}

/* The link is open and served, with nothing else pending: Check Seq n
 * gets CheckReply n as the very next frame. */
static void
still_open(struct itest_raw *r, const char *what)
{
	struct itest_frame f;
	uint32_t seq = 888000 + (r->seq % 1000);
	unsigned skipped = 0;
	int rc;

	if (!IT_ASSERT(itest_raw_msg(r, 3, &seq, r->code, IT_PLATFORM,
	    r->session, NULL, NULL) == 0, "%s: cannot write a Check: %s",
	    what, r->why))
		return;
	rc = itest_raw_expect(r, 4, &f, IT_WAIT_MS, &skipped);
	if (IT_ASSERT(rc == IT_FRAME, "%s: expected a CheckReply to Check "
	    "Seq %u, got rc %d (%s)", what, seq, rc, r->why))
		IT_ASSERT(f.h.seq == seq, "%s: CheckReply Seq expected %u, "
		    "got %u", what, seq, f.h.seq);
	IT_ASSERT(skipped == 0, "%s: %u unexpected frame(s) before the "
	    "CheckReply", what, skipped);
	itest_frame_free(&f);
}

static bool
expect_closed(struct itest_raw *r, const char *what)
{
	return IT_ASSERT(itest_raw_wait_closed(r, IT_WAIT_MS, NULL) == 0,
	    "%s: expected the platform to close the link", what);
}

static bool
send_body(struct itest_raw *r, const char *body, const char *what)
{
	return IT_ASSERT(itest_raw_send(r, body) == 0, "%s: write: %s", what,
	    r->why);
}

/* The next frame is of this type with exactly these bytes. */
static bool
expect_body(struct itest_raw *r, uint32_t type, const char *want,
    const char *what)
{
	struct itest_frame f;
	unsigned skipped = 0;
	int rc;
	bool ok;

	rc = itest_raw_expect(r, type, &f, IT_WAIT_MS, &skipped);
	if (!IT_ASSERT(rc == IT_FRAME, "%s: expected a frame of type %u, got "
	    "rc %d (%s)", what, type, rc, r->why))
		return false;
	ok = IT_ASSERT(f.len == strlen(want) && memcmp(f.body, want, f.len) ==
	    0, "%s: expected the bytes\n  %s\ngot\n  %s", what, want, f.body);
	IT_ASSERT(skipped == 0, "%s: %u unexpected frame(s) before it", what,
	    skipped);
	itest_frame_free(&f);
	return ok;
}

/* ---- the suite ---------------------------------------------------------- */

static int
pl_init(void)
{
	return itest_platform_start(&plat, "platform", NULL) == 0 ? 0 : -1;
}

static int
pl_clean(void)
{
	itest_raw_close(&A);
	itest_raw_close(&B);
	if (plat.pid > 0)
		(void)itest_server_kill(&plat);
	return 0;
}

/* §5: the full table right after LoginReply, then changes only. */
static void
test_tables(void)
{
	A_on = dom_login(&A, IT_DOMAIN, ADDR1) &&
	    expect_route(&A, "<route region=\"0001\" state=\"up\"/>",
	    "A's table");
	if (!A_on)
		return;
	B_on = dom_login(&B, IT_DOMAIN2, ADDR2) &&
	    expect_route(&B, "<route region=\"0001\" state=\"up\"/><route "
	    "region=\"0002\" state=\"up\"/>", "B's table");
	if (B_on)
		expect_route(&A, "<route region=\"0002\" state=\"up\"/>",
		    "A hears of region 0002");
}

/* §6: forwarding re-uses the received bytes, Via spliced in. */
static void
test_via_splice(void)
{
	const char *in1 = "<?xml version='1.0' encoding='UTF-8'?>\n"
	    "<Message version=\"1.0\"><Header Message_Type='1000' Ack=\"1\" "
	    "SessionId=\"5F1C9A0E33B2D871\" Seq=\"7\" From=\"00010001\" "
	    "To=\"00020001\" X='Via=\"x\"' />\n<parameters><t a=\"1\">caf"
	    "\xc3\xa9 &amp; \xe4\xb8\xad</t></parameters></Message>";
	const char *out1 = "<?xml version='1.0' encoding='UTF-8'?>\n"
	    "<Message version=\"1.0\"><Header Message_Type='1000' Ack=\"1\" "
	    "SessionId=\"5F1C9A0E33B2D871\" Seq=\"7\" From=\"00010001\" "
	    "To=\"00020001\" X='Via=\"x\"'  Via=\"00000000\"/>\n<parameters>"
	    "<t a=\"1\">caf\xc3\xa9 &amp; \xe4\xb8\xad</t></parameters>"
	    "</Message>";
	const char *in2 = "<Message version=\"1.0\"><Header Message_Type="
	    "\"1001\" SessionId=\"5F1C9A0E33B2D871\" Seq=\"8\" Via='00010000'"
	    " From=\"00020002\" To=\"0001000a\"></Header></Message>";
	const char *out2 = "<Message version=\"1.0\"><Header Message_Type="
	    "\"1001\" SessionId=\"5F1C9A0E33B2D871\" Seq=\"8\" Via='00010000"
	    " 00000000' From=\"00020002\" To=\"0001000a\"></Header></Message>";

	if (!A_on || !B_on)
		return;
	if (send_body(&A, in1, "0001 -> 0002"))
		expect_body(&B, 1000, out1, "0001 -> 0002, Via added");
	if (send_body(&B, in2, "0002 -> 0001"))
		expect_body(&A, 1001, out2, "0002 -> 0001, Via appended");
}

/* §6 gateway: From's region must be the link's; the link stays. */
static void
test_spoof(void)
{
	uint32_t seq;

	if (!A_on)
		return;
	if (IT_ASSERT(itest_raw_msg(&A, 1000, NULL, 0x00020005, IT_DEV2, "",
	    "<x/>", &seq) == 0, "write: %s", A.why))
		expect_error(&A, 403, seq, IT_DOMAIN, "From of another region");
	still_open(&A, "after a spoofed From");
	still_open(&B, "B got nothing of it");
}

/* §5: a region that is not up is 503; the platform itself and reserved
 * codes are 404. */
static void
test_unreachable(void)
{
	uint32_t seq;

	if (!A_on)
		return;
	if (IT_ASSERT(itest_raw_msg(&A, 1000, NULL, DEV1, 0x00030001, "",
	    NULL, &seq) == 0, "write: %s", A.why))
		expect_error(&A, 503, seq, DEV1, "region 0003 is not up");
	if (IT_ASSERT(itest_raw_msg(&A, 1000, NULL, DEV1, IT_PLATFORM, "",
	    NULL, &seq) == 0, "write: %s", A.why))
		expect_error(&A, 404, seq, DEV1, "To the platform itself");
	if (IT_ASSERT(itest_raw_msg(&A, 1000, NULL, DEV1, 0xFFFF0001, "",
	    NULL, &seq) == 0, "write: %s", A.why))
		expect_error(&A, 404, seq, DEV1, "reserved region FFFF");
	still_open(&A, "after three refusals");
}

/* §4: never an Error in answer to an Ack or an Error from a server. */
static void
test_no_error_for_error(void)
{
	if (!A_on)
		return;
	IT_ASSERT(itest_raw_msg(&A, 6, NULL, IT_DOMAIN, 0x00030001, "",
	    "<error code=\"404\" seq=\"1\" to=\"00010009\" session=\"\"/>",
	    NULL) == 0 && itest_raw_msg(&A, 5, NULL, 0x00020009, DEV1, "",
	    "<ack from=\"00010001\" seq=\"3\" session=\"\"/>", NULL) == 0,
	    "write: %s", A.why);
	still_open(&A, "an Error and a spoofed Ack get no answer");
}

/* §5: a region Locate is answered from the table. */
static void
test_locate_region(void)
{
	struct itest_frame f;
	uint32_t seq;
	int rc;

	if (!A_on || !B_on)
		return;
	if (!IT_ASSERT(itest_raw_msg(&A, 30, NULL, DEV1, IT_PLATFORM, "",
	    "<locate region=\"0002\"/>", &seq) == 0, "write: %s", A.why))
		return;
	rc = itest_raw_recv(&A, &f, IT_WAIT_MS);
	if (IT_ASSERT(rc == IT_FRAME && f.parsed, "expected a LocateReply, "
	    "got rc %d", rc))
		IT_ASSERT(f.h.type == 31 && f.h.seq == seq && f.h.to == DEV1 &&
		    strstr(f.body, "domain=\"00020000\" address=\"" ADDR2
		    "\" online=\"1\"") != NULL, "expected LocateReply Seq %u "
		    "To 00010001 naming 00020000 at " ADDR2 ", got %.300s",
		    seq, f.body);
	itest_frame_free(&f);
	if (IT_ASSERT(itest_raw_msg(&A, 30, NULL, DEV1, IT_PLATFORM, "",
	    "<locate region=\"0003\"/>", &seq) == 0, "write: %s", A.why))
		expect_error(&A, 503, seq, DEV1, "Locate of a region not up");
}

/*
 * §5: a code Locate goes to the owning domain (To stays 00000000, Via
 * stamped); its LocateReply, To the requester, comes back the same way.
 */
static void
test_locate_code(void)
{
	struct itest_frame f;
	uint32_t seq, dseq;
	char params[200];
	int rc;

	if (!A_on || !B_on)
		return;
	if (!IT_ASSERT(itest_raw_msg(&A, 30, NULL, DEV1, IT_PLATFORM, "",
	    "<locate code=\"00020001\"/>", &seq) == 0, "write: %s", A.why))
		return;
	rc = itest_raw_recv(&B, &f, IT_WAIT_MS);
	if (!IT_ASSERT(rc == IT_FRAME && f.parsed && f.h.type == 30 &&
	    f.h.seq == seq && f.h.from == DEV1 && f.h.to == IT_PLATFORM &&
	    f.h.nvia == 1 && f.h.via[0] == IT_PLATFORM, "B expected the "
	    "Locate Seq %u with Via 00000000, got rc %d %.300s", seq, rc,
	    rc == IT_FRAME ? f.body : ""))
		goto out;
	snprintf(params, sizeof(params), "<location code=\"00020001\" "
	    "domain=\"00020000\" address=\"%s\" online=\"1\"/>", ADDR2);
	if (!IT_ASSERT(itest_raw_msg(&B, 31, &seq, IT_DOMAIN2, DEV1, "",
	    params, &dseq) == 0, "write: %s", B.why))
		goto out;
	itest_frame_free(&f);
	rc = itest_raw_recv(&A, &f, IT_WAIT_MS);
	IT_ASSERT(rc == IT_FRAME && f.parsed && f.h.type == 31 &&
	    f.h.seq == seq && f.h.to == DEV1 && strstr(f.body,
	    "online=\"1\"") != NULL && f.h.nvia == 1, "A expected the "
	    "LocateReply Seq %u, got rc %d %.300s", seq, rc,
	    rc == IT_FRAME ? f.body : "");
out:
	itest_frame_free(&f);
}

/* §4: a device may log in at the platform to Locate, and only that. */
static void
test_device_locates(void)
{
	struct itest_raw d;
	struct itest_frame f;
	uint32_t seq;
	int rc;

	if (!A_on || !B_on)
		return;
	if (!IT_ASSERT(itest_raw_open_as(&d, plat.port, itest.pki, DEV1,
	    IT_WAIT_MS, IT_PLATFORM) == 0, "device TLS: %s", d.why) ||
	    !IT_ASSERT((rc = itest_raw_login_with(&d, IT_PLATFORM, NULL,
	    IT_WAIT_MS)) == 0, "device Login: %d %s", rc, d.why))
		goto out;
	if (IT_ASSERT(itest_raw_msg(&d, 1000, NULL, DEV1, IT_DEV2, d.session,
	    "<x/>", &seq) == 0, "write: %s", d.why))
		expect_error(&d, 403, seq, DEV1, "a device sends type 1000");
	if (IT_ASSERT(itest_raw_msg(&d, 30, NULL, DEV1, IT_PLATFORM,
	    d.session, "<locate code=\"00020001\"/>", &seq) == 0, "write: %s",
	    d.why) &&
	    IT_ASSERT(itest_raw_expect(&B, 30, &f, IT_WAIT_MS, NULL) ==
	    IT_FRAME, "B expected the device's Locate: %s", B.why)) {
		itest_frame_free(&f);
		(void)itest_raw_msg(&B, 31, &seq, IT_DOMAIN2, DEV1, "",
		    "<location code=\"00020001\" domain=\"00020000\" "
		    "address=\"" ADDR2 "\" online=\"0\"/>", NULL);
		rc = itest_raw_recv(&d, &f, IT_WAIT_MS);
		IT_ASSERT(rc == IT_FRAME && f.parsed && f.h.type == 31 &&
		    f.h.seq == seq, "the device expected its LocateReply "
		    "Seq %u, got rc %d %.200s", seq, rc,
		    rc == IT_FRAME ? f.body : "");
		itest_frame_free(&f);
	}
	still_open(&d, "the device after its Locate");
	still_open(&A, "the device's domain got nothing of it");
	(void)itest_raw_msg(&d, 7, NULL, DEV1, IT_PLATFORM, d.session, NULL,
	    NULL);
	expect_closed(&d, "device Logout");
out:
	itest_raw_close(&d);
}

/* §4 Login rules at the platform. */
static void
test_login_rules(void)
{
	struct itest_raw r;
	uint32_t seq;
	int rc;

	/* A domain's Login without its address: 400 and close. */
	if (IT_ASSERT(itest_raw_open_as(&r, plat.port, itest.pki, IT_DOMAIN2,
	    IT_WAIT_MS, IT_PLATFORM) == 0, "TLS: %s", r.why)) {
		rc = itest_raw_login_with(&r, IT_PLATFORM, NULL, IT_WAIT_MS);
		IT_ASSERT(rc == 400, "Login without <domain address/>: "
		    "expected 400, got %d", rc);
		expect_closed(&r, "Login without address");
	}
	itest_raw_close(&r);
	/* First frame not a Login: 401 and close. */
	if (IT_ASSERT(itest_raw_open_as(&r, plat.port, itest.pki, DEV1,
	    IT_WAIT_MS, IT_PLATFORM) == 0, "TLS: %s", r.why) &&
	    IT_ASSERT(itest_raw_msg(&r, 30, NULL, DEV1, IT_PLATFORM, "",
	    "<locate region=\"0001\"/>", &seq) == 0, "write: %s", r.why) &&
	    expect_error(&r, 401, seq, DEV1, "Locate before Login"))
		expect_closed(&r, "Locate before Login");
	itest_raw_close(&r);
	/* Login From another code than the certificate's: 403 and close. */
	if (IT_ASSERT(itest_raw_open_as(&r, plat.port, itest.pki, DEV1,
	    IT_WAIT_MS, IT_PLATFORM) == 0, "TLS: %s", r.why) &&
	    IT_ASSERT(itest_raw_msg(&r, 1, NULL, 0x00010002, IT_PLATFORM, "",
	    NULL, &seq) == 0, "write: %s", r.why) &&
	    expect_error(&r, 403, seq, DEV1, "Login From another code"))
		expect_closed(&r, "Login From another code");
	itest_raw_close(&r);
	/* A second Login on a logged-in link: 403, the link stays. */
	if (A_on && IT_ASSERT(itest_raw_msg(&A, 1, NULL, IT_DOMAIN,
	    IT_PLATFORM, "", "<domain address=\"" ADDR1 "\"/>", &seq) == 0,
	    "write: %s", A.why) && expect_error(&A, 403, seq, IT_DOMAIN,
	    "second Login"))
		still_open(&A, "after a second Login");
}

/* §4: a second link with the same code replaces the older (403). */
static void
test_replace(void)
{
	struct itest_raw n;
	struct itest_frame f;

	if (!A_on || !B_on)
		return;
	if (!dom_login(&n, IT_DOMAIN, ADDR1)) {
		itest_raw_close(&n);
		return;
	}
	expect_route(&n, "<route region=\"0001\" state=\"up\"/><route "
	    "region=\"0002\" state=\"up\"/>", "the new link's table");
	expect_error(&A, 403, 0, IT_DOMAIN, "the older link is replaced");
	expect_closed(&A, "the older link");
	itest_raw_close(&A);
	A = n;
	still_open(&B, "B hears of no change (region 0001 stayed up)");
	if (IT_ASSERT(itest_raw_msg(&B, 1000, NULL, IT_DEV2, DEV1, "",
	    "<x/>", NULL) == 0, "write: %s", B.why))
		if (IT_ASSERT(itest_raw_expect(&A, 1000, &f, IT_WAIT_MS,
		    NULL) == IT_FRAME, "the new link gets region 0001's "
		    "messages: %s", A.why))
			itest_frame_free(&f);
}

/* §5: a lost link takes its region down, and every other domain hears. */
static void
test_lost_link(void)
{
	uint32_t seq;

	if (!A_on || !B_on)
		return;
	/* No close_notify: the TCP connection just goes. */
	A.closed = true;
	itest_raw_close(&A);
	A_on = false;
	expect_route(&B, "<route region=\"0001\" state=\"down\"/>",
	    "B hears region 0001 went down");
	if (IT_ASSERT(itest_raw_msg(&B, 1000, NULL, IT_DEV2, DEV1, "", NULL,
	    &seq) == 0, "write: %s", B.why))
		expect_error(&B, 503, seq, IT_DEV2, "region 0001 is down");
}

/* §5: Logout from a domain marks its region down. */
static void
test_logout(void)
{
	if (!B_on || !(A_on = dom_login(&A, IT_DOMAIN, ADDR1)))
		return;
	expect_route(&A, "<route region=\"0001\" state=\"up\"/><route "
	    "region=\"0002\" state=\"up\"/>", "A's table again");
	expect_route(&B, "<route region=\"0001\" state=\"up\"/>",
	    "B hears region 0001 is back");
	(void)itest_raw_msg(&A, 7, NULL, IT_DOMAIN, IT_PLATFORM, A.session,
	    NULL, NULL);
	expect_closed(&A, "A's Logout");
	itest_raw_close(&A);
	A_on = false;
	expect_route(&B, "<route region=\"0001\" state=\"down\"/>",
	    "B hears region 0001 logged out");
}

/* §5: SIGTERM sends Logout to every peer, then exits 0. */
static void
test_sigterm(void)
{
	struct itest_frame f;
	int rc;

	if (!B_on)
		return;
	if (!IT_ASSERT(itest_server_signal(&plat, SIGTERM) == 0, "kill"))
		return;
	rc = itest_raw_expect(&B, 7, &f, IT_WAIT_MS, NULL);
	IT_ASSERT(rc == IT_FRAME && f.h.from == IT_PLATFORM, "expected "
	    "Logout From 00000000, got rc %d", rc);
	if (rc == IT_FRAME)
		itest_frame_free(&f);
	expect_closed(&B, "after the Logout");
	rc = itest_server_wait(&plat, IT_WAIT_MS);
	IT_ASSERT(rc == 0, "SIGTERM: expected exit status 0, got %d (log %s)",
	    rc, plat.log);
}

void
init_platform_tests(void)
{
	static const struct {
		const char	*name;
		CU_TestFunc	 fn;
	} t[] = {
		{ "domains get the table, then changes", test_tables },
		{ "messages cross with Via spliced, byte for byte",
		    test_via_splice },
		{ "a From outside the link's region is 403", test_spoof },
		{ "region down 503, the platform and FFFF 404",
		    test_unreachable },
		{ "no Error answers an Error or an Ack",
		    test_no_error_for_error },
		{ "a region Locate is answered from the table",
		    test_locate_region },
		{ "a code Locate goes to its domain and back",
		    test_locate_code },
		{ "a device at the platform may only Locate",
		    test_device_locates },
		{ "Login rules", test_login_rules },
		{ "a second domain login replaces the first", test_replace },
		{ "a lost domain link takes its region down",
		    test_lost_link },
		{ "a domain's Logout takes its region down", test_logout },
		{ "SIGTERM: Logout to every peer, exit 0", test_sigterm },
	};
	CU_pSuite s = CU_add_suite("platform: federation", pl_init, pl_clean);

	if (s == NULL)
		return;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CU_add_test(s, t[i].name, t[i].fn);
}
