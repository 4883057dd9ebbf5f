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

struct test_entry {
	const char	*name;
	CU_TestFunc	 fn;
};

static struct itest_server plat;
static struct itest_raw A, B;		/* domains 00010000 and 00020000 */
static bool A_on, B_on;
static char audit_log[PATH_MAX];	/* the audit suite's log */
static uint32_t audit_seq, spoof_seq;	/* what crossed, what was refused */
static bool audit_done;			/* the platform stopped cleanly */

static bool	dom_login(struct itest_raw *, uint32_t, const char *);
static bool	expect_route(struct itest_raw *, const char *, const char *);
static bool	expect_error(struct itest_raw *, int, uint32_t, uint32_t,
		    const char *);
static void	still_open(struct itest_raw *, const char *);
static bool	expect_closed(struct itest_raw *, const char *);
static bool	send_body(struct itest_raw *, const char *, const char *);
static bool	expect_body(struct itest_raw *, uint32_t, const char *,
		    const char *);
static bool	keep_alive_until_route(struct itest_raw *, const char *);
static void	add_suite(const char *, CU_InitializeFunc,
		    const struct test_entry *, size_t);
static int	pl_init(void);
static int	pl_init_vg(void);
static int	pl_init_limits(void);
static int	pl_init_hb(void);
static int	pl_clean(void);
static void	test_oversize(void);
static void	test_no_room_for_via(void);
static void	test_via_full(void);
static void	test_bad_locate(void);
static void	test_device_oversize(void);
static void	test_heartbeat(void);
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
static void	test_sighup(void);
static void	test_sigterm(void);
static int	pl_init_audit(void);
static int	audit_run(const char *, const char *);
static char	*slurp(const char *);
static bool	has_line(const char *, const char *const *);
static void	test_audit_traffic(void);
static void	test_audit_stop(void);
static void	test_audit_verify(void);
static void	test_audit_json(void);
static void	test_audit_trace(void);

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
	return itest_platform_start(&plat, "platform", NULL, false) == 0 ? 0 :
	    -1;
}

/* The same tests on a platform under valgrind (SIGTERM then checks its
 * exit status: 99 on a memory error or a leak). */
static int
pl_init_vg(void)
{
	static char path[PATH_MAX];
	const char *extra[] = { "--audit", path, "--audit-instance", "vg",
	    NULL };

	memset(&plat, 0, sizeof(plat));
	if (itest.valgrind[0] == '\0') {
		printf("\n  NOTICE: VALGRIND is not set: nap-platform under "
		    "valgrind skipped ");
		return 0;
	}
	/* With an audit log: the record paths run under valgrind too. */
	itest_fmt(path, sizeof(path), "%s/audit-vg.log", itest.work);
	return itest_platform_start(&plat, "platform-vg", extra, true) == 0 ?
	    0 : -1;
}

/* A small max_frame, so that frames above it are cheap to write. */
static int
pl_init_limits(void)
{
	const char *extra[] = { "--max-frame", "4096", NULL };

	return itest_platform_start(&plat, "platform-limits", extra,
	    false) == 0 ? 0 : -1;
}

static int
pl_init_hb(void)
{
	const char *extra[] = { "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "2", NULL };

	return itest_platform_start(&plat, "platform-hb", extra, false) == 0 ?
	    0 : -1;
}

static int
pl_clean(void)
{
	itest_raw_close(&A);
	itest_raw_close(&B);
	A_on = B_on = false;
	if (plat.pid > 0)
		(void)itest_server_kill(&plat);
	return 0;
}

/* §5: the full table right after LoginReply, then changes only. */
static void
test_tables(void)
{
	if (plat.pid <= 0)
		return;		/* not started (valgrind missing) */
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

	if (plat.pid <= 0)
		return;
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

/* SIGHUP re-reads the certificates for new links; none is dropped. */
static void
test_sighup(void)
{
	struct itest_raw d;

	if (!B_on || !IT_ASSERT(itest_server_signal(&plat, SIGHUP) == 0,
	    "kill"))
		return;
	still_open(&B, "a domain after SIGHUP");
	if (IT_ASSERT(itest_raw_open_as(&d, plat.port, itest.pki, DEV1,
	    IT_WAIT_MS, IT_PLATFORM) == 0, "TLS after SIGHUP: %s", d.why))
		IT_ASSERT(itest_raw_login_with(&d, IT_PLATFORM, NULL,
		    IT_WAIT_MS) == 0, "a Login after SIGHUP: %s", d.why);
	itest_raw_close(&d);
}

/* §5: SIGTERM sends Logout to every peer, then exits 0. */
static void
test_sigterm(void)
{
	struct itest_frame f;
	int rc;

	if (!B_on || plat.pid <= 0)
		return;
	if (!IT_ASSERT(itest_server_signal(&plat, SIGTERM) == 0, "kill"))
		return;
	rc = itest_raw_expect(&B, 7, &f, IT_WAIT_MS, NULL);
	IT_ASSERT(rc == IT_FRAME && f.h.from == IT_PLATFORM, "expected "
	    "Logout From 00000000, got rc %d", rc);
	if (rc == IT_FRAME)
		itest_frame_free(&f);
	expect_closed(&B, "after the Logout");
	rc = itest_server_wait(&plat, IT_WAIT_MS * (plat.valgrind ? 6 : 1));
	IT_ASSERT(rc == 0, "SIGTERM: expected exit status 0, got %d (log %s)",
	    rc, plat.log);
}

/* ---- audit: the platform's records (DESIGN.md §6, §8) ----------------- */

static int
pl_init_audit(void)
{
	const char *extra[] = { "--audit", audit_log, "--audit-instance", "p1",
	    "--audit-sync", "every", NULL };

	memset(&plat, 0, sizeof(plat));
	itest_fmt(audit_log, sizeof(audit_log), "%s/audit-p1.log",
	    itest.work);
	(void)unlink(audit_log);
	return itest_platform_start(&plat, "platform-audit", extra, false) ==
	    0 ? 0 : -1;
}

/* nap-audit ARGS (shell words) with its standard output in out. */
static int
audit_run(const char *out, const char *args)
{
	char cmd[3 * PATH_MAX];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	itest_fmt(cmd, sizeof(cmd), "exec '%s/tools/nap-audit' %s > '%s'",
	    itest.build, args, out);
	return itest_run(argv);
}

/* A whole file, NUL-terminated (the caller frees); NULL when unreadable. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) !=
	    NULL) {
		if (fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		} else
			p[n] = '\0';
	}
	fclose(f);
	return p;
}

/* Whether one line of text holds every string of want (NULL-ended). */
static bool
has_line(const char *text, const char *const *want)
{
	const char *l, *e;
	size_t i;

	for (l = text; l != NULL && *l != '\0'; l = e ? e + 1 : NULL) {
		e = strchr(l, '\n');
		for (i = 0; want[i] != NULL; i++) {
			const char *m = strstr(l, want[i]);

			if (m == NULL || (e != NULL && m > e))
				break;
		}
		if (want[i] == NULL)
			return true;
	}
	return false;
}

/* Two domains log in, one message crosses, one spoof is refused. */
static void
test_audit_traffic(void)
{
	test_tables();
	if (!A_on || !B_on)
		return;
	if (IT_ASSERT(itest_raw_msg(&A, 1000, NULL, DEV1, IT_DEV2, "",
	    "<x>audited</x>", &audit_seq) == 0, "write: %s", A.why)) {
		struct itest_frame f;
		int rc = itest_raw_expect(&B, 1000, &f, IT_WAIT_MS, NULL);

		if (IT_ASSERT(rc == IT_FRAME, "B expected the message, rc %d "
		    "(%s)", rc, B.why))
			itest_frame_free(&f);
	}
	if (IT_ASSERT(itest_raw_msg(&A, 1000, NULL, 0x00020005, IT_DEV2, "",
	    "<x/>", &spoof_seq) == 0, "write: %s", A.why))
		expect_error(&A, 403, spoof_seq, IT_DOMAIN, "spoofed From");
	still_open(&A, "after the spoof");
}

/* SIGTERM: the sessions close, the writer drains, exit 0. */
static void
test_audit_stop(void)
{
	int rc;

	if (plat.pid <= 0)
		return;
	rc = itest_server_stop(&plat);
	audit_done = IT_ASSERT(rc == 0, "SIGTERM: expected exit 0, got %d "
	    "(log %s)", rc, plat.log);
	itest_raw_close(&A);
	itest_raw_close(&B);
	A_on = B_on = false;
}

/* The chain holds; one byte flipped in a copy breaks it. */
static void
test_audit_verify(void)
{
	char out[PATH_MAX], bad[PATH_MAX], args[2 * PATH_MAX];
	char *text;
	int rc;
	size_t at;

	if (!audit_done)
		return;
	itest_fmt(out, sizeof(out), "%s/audit-verify.out", itest.work);
	itest_fmt(args, sizeof(args), "verify '%s'", audit_log);
	rc = audit_run(out, args);
	IT_ASSERT(rc == 0, "nap-audit verify %s: expected 0, got %d (see %s)",
	    audit_log, rc, itest.cmdlog);
	if (!IT_ASSERT((text = slurp(audit_log)) != NULL, "read %s",
	    audit_log))
		return;
	/* A byte inside the third record (a message): edited. */
	at = 0;
	for (int nl = 0; nl < 2 && text[at] != '\0'; at++)
		if (text[at] == '\n')
			nl++;
	at += 10;
	if (IT_ASSERT(at < strlen(text), "the log is too short: %s", text)) {
		FILE *f;

		text[at] ^= 0x01;
		itest_fmt(bad, sizeof(bad), "%s/audit-p1-bad.log",
		    itest.work);
		if (IT_ASSERT((f = fopen(bad, "w")) != NULL, "write %s", bad)) {
			fputs(text, f);
			fclose(f);
			itest_fmt(args, sizeof(args), "verify '%s'", bad);
			rc = audit_run(out, args);
			IT_ASSERT(rc == 1, "nap-audit verify of a flipped byte: "
			    "expected 1, got %d", rc);
		}
	}
	free(text);
}

/* The records of what happened, as JSON lines. */
static void
test_audit_json(void)
{
	char out[PATH_MAX], args[2 * PATH_MAX], seq[32], sseq[32];
	char *j;
	int rc;

	if (!audit_done)
		return;
	itest_fmt(out, sizeof(out), "%s/audit-cat.json", itest.work);
	itest_fmt(args, sizeof(args), "cat --format json '%s'", audit_log);
	rc = audit_run(out, args);
	if (!IT_ASSERT(rc == 0, "nap-audit cat: expected 0, got %d", rc) ||
	    !IT_ASSERT((j = slurp(out)) != NULL, "read %s", out))
		return;
	itest_fmt(seq, sizeof(seq), "\"seq\":%u", audit_seq);
	itest_fmt(sseq, sizeof(sseq), "\"seq\":%u", spoof_seq);
	{
		const char *in[] = { "\"hop\":\"in\"", "\"link\":\"00010000\"",
		    "\"verdict\":\"routed\"", "\"from\":\"00010001\"", seq,
		    "\"inst\":\"p1\"", "audited", NULL };
		const char *out_[] = { "\"hop\":\"out\"",
		    "\"link\":\"00020000\"", "\"verdict\":\"routed\"",
		    "\"from\":\"00010001\"", seq, "Via=\\\"00000000\\\"",
		    NULL };
		const char *ref[] = { "\"hop\":\"in\"", "\"verdict\":\"refused\"",
		    "\"code\":403", "\"from\":\"00020005\"", sseq, NULL };
		const char *err[] = { "\"hop\":\"out\"", "\"link\":\"00010000\"",
		    "\"type\":6", "code=\\\"403\\\"", NULL };
		const char *login[] = { "\"event\":\"login\"",
		    "\"code\":\"00020000\"", NULL };
		/* A's session: 2 of type 1000 in, its Check counted too. */
		const char *logout[] = { "\"event\":\"logout\"",
		    "\"code\":\"00010000\"", "{\"type\":1000,\"in\":2,",
		    "{\"type\":3,\"in\":1,", NULL };
		const char *logout2[] = { "\"event\":\"logout\"",
		    "\"code\":\"00020000\"",
		    "{\"type\":1000,\"in\":0,\"inbytes\":0,\"out\":1,", NULL };
		const char *check[] = { "\"kind\":\"msg\"", "\"type\":3,",
		    NULL };
		const char *reply[] = { "\"kind\":\"msg\"", "\"type\":4,",
		    NULL };

		IT_ASSERT(has_line(j, in), "no routed IN record of Seq %u in "
		    "%s", audit_seq, out);
		IT_ASSERT(has_line(j, out_), "no routed OUT record of Seq %u "
		    "with Via in %s", audit_seq, out);
		IT_ASSERT(has_line(j, ref), "no refused 403 record of Seq %u "
		    "in %s", spoof_seq, out);
		IT_ASSERT(has_line(j, err), "no OUT record of the Error 403 "
		    "in %s", out);
		IT_ASSERT(has_line(j, login), "no login record in %s", out);
		IT_ASSERT(has_line(j, logout), "no logout record of 00010000 "
		    "with its counts in %s", out);
		IT_ASSERT(has_line(j, logout2), "no logout record of 00020000 "
		    "with its counts in %s", out);
		IT_ASSERT(!has_line(j, check) && !has_line(j, reply),
		    "Check or CheckReply recorded in %s", out);
	}
	free(j);
}

/* trace finds the message coming in and going out. */
static void
test_audit_trace(void)
{
	char out[PATH_MAX], args[2 * PATH_MAX];
	char *t;
	int rc;

	if (!audit_done)
		return;
	itest_fmt(out, sizeof(out), "%s/audit-trace.out", itest.work);
	itest_fmt(args, sizeof(args), "trace --from 00010001 --seq %u '%s'",
	    audit_seq, audit_log);
	rc = audit_run(out, args);
	if (!IT_ASSERT(rc == 0, "nap-audit trace: expected 0, got %d", rc) ||
	    !IT_ASSERT((t = slurp(out)) != NULL, "read %s", out))
		return;
	{
		const char *in[] = { " in ", "from 00010000", "routed", NULL };
		const char *out_[] = { " out ", "to 00020000", "routed",
		    NULL };

		IT_ASSERT(has_line(t, in) && has_line(t, out_), "trace: "
		    "expected an in and an out record, got:\n%s", t);
	}
	free(t);
}

/* ---- limits: max_frame 4096 ----------------------------------------- */

/* §2: a domain's oversized frame is skipped and answered; the link and
 * the frames after it are fine. */
static void
test_oversize(void)
{
	static char big[5000 + 4];

	if (!dom_login(&A, IT_DOMAIN, ADDR1) || !expect_route(&A,
	    "region=\"0001\" state=\"up\"", "A's table"))
		return;
	A_on = true;
	env_frame_put_len((uint8_t *)big, 5000);
	memset(big + 4, ' ', 5000);
	if (IT_ASSERT(itest_raw_write(&A, big, sizeof(big)) == 0, "write: %s",
	    A.why))
		expect_error(&A, 413, 0, IT_DOMAIN, "a frame of 5000 > 4096");
	still_open(&A, "after a skipped oversized frame");
}

/* §2: a frame that fits max_frame but not with the Via stamp: 413. */
static void
test_no_room_for_via(void)
{
	static char body[4096 + 1];
	uint32_t seq = 4141;
	int n;

	if (!A_on)
		return;
	B_on = dom_login(&B, IT_DOMAIN2, ADDR2) && expect_route(&B,
	    "region=\"0002\" state=\"up\"", "B's table") &&
	    expect_route(&A, "region=\"0002\" state=\"up\"", "A hears 0002");
	if (!B_on)
		return;
	/* 4090 bytes: within max_frame, but not with 15 more. */
	n = snprintf(body, sizeof(body), "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"\" Seq=\"%u\" From=\"%08X\" "
	    "To=\"%08X\"/><parameters><f>", seq, DEV1, IT_DEV2);
	memset(body + n, 'x', (size_t)(4090 - 27 - n));
	memcpy(body + 4090 - 27, "</f></parameters></Message>", 28);
	if (IT_ASSERT(strlen(body) == 4090, "test bug: %zu", strlen(body)) &&
	    send_body(&A, body, "4090 bytes"))
		expect_error(&A, 413, seq, DEV1, "no room for Via");
	still_open(&B, "B got nothing of it");
}

/* §3: a message with 8 Via entries cannot take a ninth: 400. */
static void
test_via_full(void)
{
	char body[600];
	uint32_t seq = 4242;

	if (!A_on || !B_on)
		return;
	snprintf(body, sizeof(body), "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"\" Seq=\"%u\" From=\"%08X\" "
	    "To=\"%08X\" Via=\"00010000 00000000 00020000 00000000 00010000 "
	    "00000000 00020000 00000000\"/></Message>", seq, DEV1, IT_DEV2);
	if (send_body(&A, body, "Via of 8"))
		expect_error(&A, 400, seq, DEV1, "Via full");
	still_open(&A, "after Via full");
	still_open(&B, "B got nothing of it");
}

/* §4 Locate without a code or a region: 400, the link stays. */
static void
test_bad_locate(void)
{
	uint32_t seq;

	if (!A_on)
		return;
	if (IT_ASSERT(itest_raw_msg(&A, 30, NULL, DEV1, IT_PLATFORM, "",
	    "<locate/>", &seq) == 0, "write: %s", A.why))
		expect_error(&A, 400, seq, DEV1, "Locate of nothing");
	if (IT_ASSERT(itest_raw_msg(&A, 30, NULL, DEV1, IT_PLATFORM, "",
	    "<locate region=\"12\"/>", &seq) == 0, "write: %s", A.why))
		expect_error(&A, 400, seq, DEV1, "Locate of region 12");
	still_open(&A, "after bad Locates");
}

/* §2: a device's bad length closes its link with 413. */
static void
test_device_oversize(void)
{
	struct itest_raw d;
	uint8_t pre[4];

	if (IT_ASSERT(itest_raw_open_as(&d, plat.port, itest.pki, DEV1,
	    IT_WAIT_MS, IT_PLATFORM) == 0, "TLS: %s", d.why) &&
	    IT_ASSERT(itest_raw_login_with(&d, IT_PLATFORM, NULL,
	    IT_WAIT_MS) == 0, "device Login: %s", d.why)) {
		env_frame_put_len(pre, 5000);
		if (IT_ASSERT(itest_raw_write(&d, pre, 4) == 0, "write: %s",
		    d.why) && expect_error(&d, 413, 0, DEV1, "device 5000"))
			expect_closed(&d, "device oversized frame");
	}
	itest_raw_close(&d);
}

/* ---- heartbeat: timeout 2 s -------------------------------------------- */

/* Keeps r alive with a Check every half second until a RouteUpdate
 * holding want comes (bounded: 40 rounds). */
static bool
keep_alive_until_route(struct itest_raw *r, const char *want)
{
	struct itest_frame f;
	bool seen = false;

	for (int i = 0; i < 40 && !seen; i++) {
		if (itest_raw_msg(r, 3, NULL, r->code, IT_PLATFORM, r->session,
		    NULL, NULL) == -1)
			break;
		while (!seen && itest_raw_recv(r, &f, 500) == IT_FRAME) {
			seen = f.h.type == 10 && strstr(f.body, want) != NULL;
			itest_frame_free(&f);
		}
	}
	return seen;
}

/* §5: a silent domain is closed at the timeout; its region goes down
 * and the others hear of it; a domain that speaks is kept. */
static void
test_heartbeat(void)
{
	if (!dom_login(&A, IT_DOMAIN, ADDR1) || !dom_login(&B, IT_DOMAIN2,
	    ADDR2))
		return;
	IT_ASSERT(keep_alive_until_route(&B, "region=\"0001\" "
	    "state=\"down\""), "B (speaking) expected region 0001 down "
	    "after A's silence");
	expect_closed(&A, "the silent domain");
	still_open(&B, "the domain that spoke");
}

static void
add_suite(const char *name, CU_InitializeFunc init,
    const struct test_entry *t, size_t n)
{
	CU_pSuite s = CU_add_suite(name, init, pl_clean);

	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		CU_add_test(s, t[i].name, t[i].fn);
}

void
init_platform_tests(void)
{
	static const struct test_entry fed[] = {
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
		{ "SIGHUP: new certificates, no link dropped", test_sighup },
		{ "SIGTERM: Logout to every peer, exit 0", test_sigterm },
	};
	static const struct test_entry lim[] = {
		{ "a domain's oversized frame is skipped, 413",
		    test_oversize },
		{ "no room for the Via stamp: 413", test_no_room_for_via },
		{ "Via already holding 8 codes: 400", test_via_full },
		{ "Locate without code or region: 400", test_bad_locate },
		{ "a device's oversized frame: 413 and close",
		    test_device_oversize },
	};
	static const struct test_entry aud[] = {
		{ "two domains, a message crosses, a spoof is refused",
		    test_audit_traffic },
		{ "SIGTERM: exit 0 with the log closed", test_audit_stop },
		{ "nap-audit verify: 0, and 1 for a flipped byte",
		    test_audit_verify },
		{ "nap-audit cat --format json: in, out, refused, sessions",
		    test_audit_json },
		{ "nap-audit trace: the message in and out",
		    test_audit_trace },
	};
	static const struct test_entry hb[] = {
		{ "a silent domain is closed, its region down",
		    test_heartbeat },
	};
	size_t nfed = sizeof(fed) / sizeof(fed[0]);

	add_suite("platform: federation", pl_init, fed, nfed);
	add_suite("platform: limits", pl_init_limits, lim,
	    sizeof(lim) / sizeof(lim[0]));
	add_suite("platform: heartbeat", pl_init_hb, hb, 1);
	add_suite("platform: audit", pl_init_audit, aud,
	    sizeof(aud) / sizeof(aud[0]));
	add_suite("platform: federation under valgrind", pl_init_vg, fed,
	    nfed);
}
