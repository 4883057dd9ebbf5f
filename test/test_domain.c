/*
 * test_domain.c - integration tests of nap-domain (DESIGN.md §2, §4,
 * §5): real servers on 127.0.0.1 with a throwaway PKI, driven by libnap
 * and by a raw TLS client that writes hand-made frames.
 *
 * Suites, each with its own server and registry:
 *   delivery   two devices both ways, verbatim bytes, Check, replaced login
 *   refusals   every Login and message refusal of §4 with its code
 *   heartbeat  a silent device is dropped, a live one is kept
 *   load       200 devices, 20 000 messages, none lost or duplicated
 *   reload     SIGHUP disables a connected device
 *   stop       SIGTERM (Logout, status 0), valgrind, kill -9 and restart
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_domain_tests(void);

#define CONNECT_MS	((unsigned)itest_ms(20000)) /* connect + TLS + Login */

/* A libnap device's messages and receipts, for small tests. */
struct dev {
	struct nap	*n;
	uint32_t	 code;
	unsigned	 got;		/* application messages */
	unsigned	 bad;		/* out of order or altered */
	uint32_t	 peer;		/* whose messages it expects */
	uint32_t	 last_seq;
	char		 first_bad[300];
	unsigned	 errors;	/* Error receipts */
	int		 last_error;
	uint32_t	 last_error_seq;
};

/* Two devices' targets for itest_pump(). */
struct got_args {
	struct dev	*a, *b;
	unsigned	 na, nb;
};

#define LOAD_N		IT_NDEV		/* devices */
#define LOAD_PER	100		/* messages each sends */
#define LOAD_MS		itest_ms(120000) /* the whole exchange */
#define LOAD_RAMP	25		/* logins under way at once */

struct load;

struct ldev {
	struct load	*L;
	int		 idx;
};

struct load {
	struct nap	*h[LOAD_N];
	struct ldev	 d[LOAD_N];
	uint32_t	 seq[LOAD_N][LOAD_PER];	/* Seq of message k of i */
	uint16_t	 to[LOAD_N][LOAD_PER];	/* its destination index */
	uint8_t		 cnt[LOAD_N][LOAD_PER];	/* times received */
	unsigned	 started, online, closed;
	unsigned	 received, unexpected, dups, errors;
	int		 last_close_err;
	int		 last_error;
};

struct test_entry {
	const char	*name;
	CU_TestFunc	 fn;
};

static int64_t	now_ms(void);
static const char *rc_name(int, const struct itest_raw *);
static void	stop_ok(struct itest_server *);
static bool	raw_online(struct itest_raw *, int, uint32_t);
static void	raw_still_open(struct itest_raw *, const char *);
static bool	raw_expect_error(struct itest_raw *, int, uint32_t,
		    const char *);
static void	raw_expect_closed(struct itest_raw *, const char *);
static void	first_frame_refused(int, uint32_t, const char *, int,
		    uint32_t, const char *);
static void	login_refused(int, uint32_t, uint32_t, int, const char *);
static void	tls_refused(int, const char *, uint32_t, const char *);
static size_t	payload(char *, size_t, uint32_t, unsigned);
static void	dev_msg_cb(struct nap *, const struct nap_msg *, void *);
static void	dev_rcpt_cb(struct nap *, const struct nap_receipt *, void *);
static bool	dev_open(struct dev *, uint32_t, uint32_t, int);
static void	dev_close(struct dev *);
static bool	dev_send(struct dev *, uint32_t, unsigned);
static bool	dev_errored(void *);
static bool	both_got(void *);
static void	load_msg_cb(struct nap *, const struct nap_msg *, void *);
static void	load_state_cb(struct nap *, enum nap_state, int, void *);
static void	load_rcpt_cb(struct nap *, const struct nap_receipt *, void *);
static bool	load_ramp_done(void *);
static bool	load_all_received(void *);
static void	add_suite(const char *, CU_InitializeFunc, CU_CleanupFunc,
		    const struct test_entry *);
/* Suites: set-up and clean-up, then the tests. */
static int	dl_init(void);
static int	dl_clean(void);
static int	rf_init(void);
static int	rf_clean(void);
static int	hb_init(void);
static int	hb_clean(void);
static int	ld_init(void);
static int	ld_clean(void);
static int	rl_init(void);
static int	rl_clean(void);
static void	test_two_devices(void);
static void	test_bytes_verbatim(void);
static void	test_check(void);
static void	test_replace(void);
static void	test_dl_stop(void);
static void	test_foreign_ca(void);
static void	test_no_cert(void);
static void	test_revoked(void);
static void	test_unregistered(void);
static void	test_disabled(void);
static void	test_login_from(void);
static void	test_first_not_login(void);
static void	test_first_malformed(void);
static void	test_bad_length(void);
static void	test_wrong_from(void);
static void	test_not_permitted(void);
static void	test_reserved_types(void);
static void	test_route_refusals(void);
static void	test_route_refusals_keep_link(void);
static void	test_later_malformed(void);
static void	test_relogin_session(void);
static void	test_rf_still_serving(void);
static void	test_rf_stop(void);
static void	test_silent_dropped(void);
static void	test_slow_frame_dropped(void);
static void	test_heartbeat_gaps(void);
static void	test_reload_revoke(void);
static void	test_heartbeat_kept(void);
static void	test_hb_stop(void);
static void	test_load(void);
static void	test_ld_stop(void);
static void	test_reload_disable(void);
static void	test_rl_stop(void);
static void	test_sigterm(void);
static void	test_valgrind(void);
static void	test_crash_restart(void);

/* ---- shared helpers ---------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
rc_name(int rc, const struct itest_raw *r)
{
	static char buf[200];

	switch (rc) {
	case IT_FRAME:
		return "a frame";
	case IT_CLOSED:
		snprintf(buf, sizeof(buf), "the link closed (%s)", r->why);
		return buf;
	case IT_TIMEOUT:
		return "nothing (timed out)";
	default:
		snprintf(buf, sizeof(buf), "a local error (%s)", r->why);
		return buf;
	}
}

static void
stop_ok(struct itest_server *s)
{
	int rc;

	if (!IT_ASSERT(s->pid > 0, "server %s is not running", s->name))
		return;
	rc = itest_server_stop(s);
	IT_ASSERT(rc == 0, "server %s: SIGTERM: expected exit status 0, got "
	    "%s %d (log %s)", s->name, rc == -1 ? "no exit in time," :
	    rc > 255 ? "killed by signal" : "status", rc > 255 ? rc - 256 : rc,
	    s->log);
}

/* Opens a raw link with the run's certificate of code and logs in. */
static bool
raw_online(struct itest_raw *r, int port, uint32_t code)
{
	int rc;

	if (!IT_ASSERT(itest_raw_open(r, port, itest.pki, code, IT_WAIT_MS) ==
	    0, "%08X: TLS handshake expected to succeed: %s", code, r->why))
		return false;
	rc = itest_raw_login(r, code, IT_WAIT_MS);
	return IT_ASSERT(rc == 0, "%08X: Login expected LoginReply, got %d "
	    "(%s)", code, rc, r->why);
}

/* The link is still open and served: Check Seq n gets CheckReply n. */
static void
raw_still_open(struct itest_raw *r, const char *what)
{
	struct itest_frame f;
	uint32_t seq = 777000 + (r->seq % 1000);
	unsigned skipped = 0;
	int rc;

	if (!IT_ASSERT(itest_raw_msg(r, 3, &seq, r->code, IT_DOMAIN,
	    r->session, NULL, NULL) == 0, "%s: cannot write a Check after "
	    "it: %s (expected the link to stay open)", what, r->why))
		return;
	rc = itest_raw_expect(r, 4, &f, IT_WAIT_MS, &skipped);
	if (IT_ASSERT(rc == IT_FRAME, "%s: expected the link open and a "
	    "CheckReply to Check Seq %u, got %s", what, seq, rc_name(rc, r)))
		IT_ASSERT(f.h.seq == seq, "%s: CheckReply Seq expected %u, "
		    "got %u", what, seq, f.h.seq);
	IT_ASSERT(skipped == 0, "%s: %u unexpected frame(s) before the "
	    "CheckReply", what, skipped);
	itest_frame_free(&f);
}

/* The next frame is Error `want` naming seq (and from the domain). */
static bool
raw_expect_error(struct itest_raw *r, int want, uint32_t seq,
    const char *what)
{
	struct itest_frame f;
	uint32_t eseq = 0;
	int rc, code = 0;
	bool ok;

	rc = itest_raw_recv(r, &f, IT_WAIT_MS);
	if (!IT_ASSERT(rc == IT_FRAME, "%s: expected Error %d naming Seq %u, "
	    "got %s", what, want, seq, rc_name(rc, r)))
		return false;
	ok = itest_frame_error(&f, &code, &eseq) == 0;
	IT_ASSERT(ok && code == want && eseq == seq, "%s: expected Error %d "
	    "naming Seq %u, got: %.300s", what, want, seq, f.body);
	IT_ASSERT(!ok || (f.h.from == IT_DOMAIN && f.h.to == r->code),
	    "%s: the Error should be From 00010000 To %08X: %.200s", what,
	    r->code, f.body);
	itest_frame_free(&f);
	return ok && code == want && eseq == seq;
}

static void
raw_expect_closed(struct itest_raw *r, const char *what)
{
	unsigned extra = 0;
	int rc = itest_raw_wait_closed(r, IT_WAIT_MS, &extra);

	IT_ASSERT(rc == 0, "%s: expected the server to close the link, it "
	    "stayed open", what);
	IT_ASSERT(extra == 0, "%s: %u unexpected frame(s) before the close",
	    what, extra);
}

/*
 * A refused first frame: body sent as the first frame by a device with
 * its certificate of code; expects Error want naming seq, then the close.
 */
static void
first_frame_refused(int port, uint32_t code, const char *body, int want,
    uint32_t seq, const char *what)
{
	struct itest_raw r;

	if (IT_ASSERT(itest_raw_open(&r, port, itest.pki, code, IT_WAIT_MS) ==
	    0, "%s: TLS handshake expected to succeed: %s", what, r.why) &&
	    IT_ASSERT(itest_raw_send(&r, body) == 0, "%s: write: %s", what,
	    r.why) &&
	    raw_expect_error(&r, want, seq, what))
		raw_expect_closed(&r, what);
	itest_raw_close(&r);
}

/* A refused Login: Login From = from over code's certificate. */
static void
login_refused(int port, uint32_t code, uint32_t from, int want,
    const char *what)
{
	char body[512];

	snprintf(body, sizeof(body), "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1\" SessionId=\"\" Seq=\"41\" From=\"%08X\" "
	    "To=\"00010000\"/></Message>", from);
	first_frame_refused(port, code, body, want, 41, what);
}

/* The TLS handshake or the first read fails, and no frame ever comes. */
static void
tls_refused(int port, const char *pki, uint32_t code, const char *what)
{
	struct itest_raw r;
	struct itest_frame f;
	int rc;

	if (itest_raw_open(&r, port, pki, code, IT_WAIT_MS) == 0) {
		/* TLS 1.3: the client's flight is judged after the client
		 * thinks it is done; the Login must get no answer but the
		 * alert. */
		(void)itest_raw_msg(&r, 1, NULL, code, IT_DOMAIN, "", NULL,
		    NULL);
		rc = itest_raw_recv(&r, &f, IT_WAIT_MS);
		IT_ASSERT(rc == IT_CLOSED, "%s: expected a TLS alert and no "
		    "frame, got %s%.200s", what, rc_name(rc, &r),
		    rc == IT_FRAME ? f.body : "");
		if (rc == IT_FRAME)
			itest_frame_free(&f);
	}
	itest_raw_close(&r);
}

/* The payload number i from a device: multi-byte UTF-8, escapes, and a
 * size that varies. */
static size_t
payload(char *buf, size_t cap, uint32_t from, unsigned i)
{
	int n = snprintf(buf, cap, "<text from=\"%08X\" i=\"%u\">caf\xc3\xa9 "
	    "&amp; &lt;tag&gt; \xe4\xb8\xad &#x263A; %u</text><fill>", from, i,
	    i);
	size_t len = (size_t)n, fill = (i * 37u) % 3000u;

	for (size_t k = 0; k < fill && len + 16 < cap; k++)
		buf[len++] = (char)('a' + (k + i) % 26);
	len += (size_t)snprintf(buf + len, cap - len, "</fill>");
	return len;
}

static void
dev_msg_cb(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct dev *d = arg;
	char want[4096];
	size_t len, wlen;
	const char *c = nap_msg_content(m, &len);
	uint32_t seq = nap_msg_seq(m);

	(void)n;
	wlen = payload(want, sizeof(want), d->peer, d->got);
	if (nap_msg_from(m) != d->peer || nap_msg_type(m) != 1000 ||
	    c == NULL || len != wlen || memcmp(c, want, len) != 0 ||
	    (d->got > 0 && seq != d->last_seq + 1)) {
		if (d->bad++ == 0)
			snprintf(d->first_bad, sizeof(d->first_bad), "message "
			    "%u: type %u from %08X seq %u (previous %u), "
			    "content %.*s", d->got, nap_msg_type(m),
			    nap_msg_from(m), seq, d->last_seq,
			    c ? (int)(len > 160 ? 160 : len) : 0, c ? c : "");
	}
	d->last_seq = seq;
	d->got++;
}

static void
dev_rcpt_cb(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct dev *d = arg;

	(void)n;
	if (r->status != NAP_RCPT_ERROR)
		return;
	d->errors++;
	d->last_error = r->code;
	d->last_error_seq = r->seq;
}

static bool
dev_open(struct dev *d, uint32_t code, uint32_t peer, int port)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->code = code;
	d->peer = peer;
	if ((d->n = itest_nap_new(code, itest.pki, port, CONNECT_MS)) ==
	    NULL)
		return IT_FAIL("libnap handle for %08X", code);
	nap_set_msg_cb(d->n, dev_msg_cb, d);
	nap_set_receipt_cb(d->n, dev_rcpt_cb, d);
	rc = nap_connect(d->n);
	return IT_ASSERT(rc == 0, "%08X: nap_connect expected 0, got %d (%s)",
	    code, rc, nap_errmsg(d->n));
}

static void
dev_close(struct dev *d)
{
	if (d->n == NULL)
		return;
	if (nap_state(d->n) == NAP_ST_ONLINE)
		(void)nap_close(d->n, itest_ms(5000));
	nap_free(d->n);
	d->n = NULL;
}

/* Sends count payloads to d->peer... from d to its peer. */
static bool
dev_send(struct dev *d, uint32_t to, unsigned count)
{
	char buf[4096];
	size_t len;
	int rc;

	for (unsigned i = 0; i < count; i++) {
		len = payload(buf, sizeof(buf), d->code, i);
		rc = nap_send(d->n, 1000, to, buf, len, 0, NULL);
		if (!IT_ASSERT(rc == 0, "%08X: nap_send %u to %08X: %d (%s)",
		    d->code, i, to, rc, nap_errmsg(d->n)))
			return false;
	}
	return true;
}

static bool
dev_errored(void *arg)
{
	return ((struct dev *)arg)->errors > 0;
}

static bool
both_got(void *arg)
{
	struct got_args *g = arg;

	return g->a->got >= g->na && (g->b == NULL || g->b->got >= g->nb);
}

/* ---- suite: delivery ----------------------------------------------- */

static struct itest_server srv_dl;
static char reg_dl[PATH_MAX];

static int
dl_init(void)
{
	if (itest_registry_new("delivery", reg_dl, sizeof(reg_dl)) == -1)
		return -1;
	return itest_server_start(&srv_dl, "delivery", reg_dl, NULL, false);
}

static int
dl_clean(void)
{
	if (srv_dl.pid > 0)
		(void)itest_server_kill(&srv_dl);
	return 0;
}

/* 1. Two devices exchange messages both ways, bytes intact, in order. */
static void
test_two_devices(void)
{
	struct dev a, b;
	struct nap *h[2];
	struct got_args g = { &a, &b, 50, 50 };
	bool ok;
	int rc;

	memset(&b, 0, sizeof(b));
	if (!dev_open(&a, IT_DEV(1), IT_DEV(2), srv_dl.port) ||
	    !dev_open(&b, IT_DEV(2), IT_DEV(1), srv_dl.port))
		goto out;
	if (!dev_send(&a, IT_DEV(2), 50) || !dev_send(&b, IT_DEV(1), 50))
		goto out;
	h[0] = a.n;
	h[1] = b.n;
	ok = itest_pump(h, 2, itest_ms(30000), both_got, &g);
	IT_ASSERT(ok, "50 messages each way: 00010002 got %u, 00010001 got "
	    "%u", b.got, a.got);
	IT_ASSERT(a.bad == 0 && b.bad == 0, "altered or out of order: "
	    "at 00010001 %u (%s); at 00010002 %u (%s)", a.bad, a.first_bad,
	    b.bad, b.first_bad);
	IT_ASSERT(a.errors == 0 && b.errors == 0, "Error receipts: %u "
	    "(last %d), %u (last %d)", a.errors, a.last_error, b.errors,
	    b.last_error);
	IT_ASSERT(nap_state(a.n) == NAP_ST_ONLINE &&
	    nap_state(b.n) == NAP_ST_ONLINE, "both devices stay online");
	rc = nap_close(a.n, itest_ms(5000));
	IT_ASSERT(rc == 0, "00010001: nap_close: %d %s", rc, nap_errmsg(a.n));
	rc = nap_close(b.n, itest_ms(5000));
	IT_ASSERT(rc == 0, "00010002: nap_close: %d %s", rc, nap_errmsg(b.n));
out:
	dev_close(&a);
	dev_close(&b);
}

/*
 * §6: forwarding re-uses the received bytes.  A hand-made envelope with
 * a declaration, comments, white space, lower-case codes (§1: forwarded
 * bytes keep the sender's case), unknown and namespaced attributes
 * arrives byte for byte.
 */
static void
test_bytes_verbatim(void)
{
	struct itest_raw s, d;
	struct itest_frame f;
	char body[2048];
	unsigned skipped = 0;
	int rc;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	if (!raw_online(&s, srv_dl.port, IT_DEV(0x0C)) ||
	    !raw_online(&d, srv_dl.port, IT_DEV(0x0D)))
		goto out;
	snprintf(body, sizeof(body), "<?xml version=\"1.0\" encoding="
	    "\"UTF-8\"?>\n<Message version=\"1.0\" xmlns:x=\"urn:itest\">\n"
	    "  <!-- a comment -->\n  <Header  Foo=\"bar\" Message_Type="
	    "\"4321\" SessionId=\"%s\" Seq=\"0099\" From=\"0001000c\" "
	    "To=\"0001000d\" x:extra='keep'/>\n  <parameters><x:p a='1'>"
	    "&#x4E2D; \xc3\xa9 <![CDATA[<raw>]]></x:p></parameters>\n"
	    "</Message>\n", s.session);
	if (!IT_ASSERT(itest_raw_send(&s, body) == 0, "write: %s", s.why))
		goto out;
	rc = itest_raw_expect(&d, 4321, &f, IT_WAIT_MS, &skipped);
	if (IT_ASSERT(rc == IT_FRAME, "expected the message at 0001000D, "
	    "got %s", rc_name(rc, &d))) {
		IT_ASSERT(f.len == strlen(body) && memcmp(f.body, body,
		    f.len) == 0, "bytes altered in forwarding: sent %zu bytes "
		    "%.200s... got %zu bytes %.200s...", strlen(body), body,
		    f.len, f.body);
		itest_frame_free(&f);
	}
	IT_ASSERT(skipped == 0, "%u unexpected frame(s) at 0001000D", skipped);

	/* A lower-case From: still this device (codes compare
	 * case-insensitively). */
	snprintf(body, sizeof(body), "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"%s\" Seq=\"5\" From="
	    "\"0001000c\" To=\"0001000D\"/></Message>", s.session);
	if (IT_ASSERT(itest_raw_send(&s, body) == 0, "write: %s", s.why)) {
		rc = itest_raw_expect(&d, 1000, &f, IT_WAIT_MS, &skipped);
		if (IT_ASSERT(rc == IT_FRAME, "expected the second message, "
		    "got %s", rc_name(rc, &d))) {
			IT_ASSERT(strcmp(f.body, body) == 0, "altered: %s",
			    f.body);
			itest_frame_free(&f);
		}
	}
out:
	itest_raw_close(&s);
	itest_raw_close(&d);
}

/* 8. Check (type 3) gets CheckReply (type 4) with the same Seq. */
static void
test_check(void)
{
	struct itest_raw r;
	struct itest_frame f;
	struct dev a;
	uint64_t rtt = 0;
	uint32_t seq = 4000000000u;
	int rc;

	if (dev_open(&a, IT_DEV(5), 0, srv_dl.port)) {
		rc = nap_ping(a.n, IT_WAIT_MS, &rtt);
		IT_ASSERT(rc == 0, "nap_ping: expected 0, got %d (%s)", rc,
		    nap_errmsg(a.n));
		rc = nap_ping(a.n, IT_WAIT_MS, &rtt);
		IT_ASSERT(rc == 0, "second nap_ping: expected 0, got %d (%s)",
		    rc, nap_errmsg(a.n));
	}
	dev_close(&a);

	if (!raw_online(&r, srv_dl.port, IT_DEV(6)))
		goto out;
	/* §3: Check carries no session rule (types below 5). */
	if (!IT_ASSERT(itest_raw_msg(&r, 3, &seq, IT_DEV(6), IT_DOMAIN, "",
	    NULL, NULL) == 0, "write: %s", r.why))
		goto out;
	rc = itest_raw_recv(&r, &f, IT_WAIT_MS);
	if (IT_ASSERT(rc == IT_FRAME, "Check Seq %u: expected CheckReply, got "
	    "%s", seq, rc_name(rc, &r))) {
		IT_ASSERT(f.parsed && f.h.type == 4 && f.h.seq == seq &&
		    f.h.from == IT_DOMAIN && f.h.to == IT_DEV(6), "Check Seq "
		    "%u: expected CheckReply (4) Seq %u From 00010000 To "
		    "00010006, got %.300s", seq, seq, f.body);
		itest_frame_free(&f);
	}
out:
	itest_raw_close(&r);
}

/* 4. A second login with the same code replaces the first. */
static void
test_replace(void)
{
	struct itest_raw r1, r2;
	struct itest_frame f;
	struct dev x;
	uint32_t seq;
	int rc;

	memset(&r2, 0, sizeof(r2));
	r2.fd = -1;
	memset(&x, 0, sizeof(x));
	if (!raw_online(&r1, srv_dl.port, IT_DEV(7)) ||
	    !raw_online(&r2, srv_dl.port, IT_DEV(7)))
		goto out;
	/* The older link: Error 403, then closed (§4). */
	rc = itest_raw_recv(&r1, &f, IT_WAIT_MS);
	if (IT_ASSERT(rc == IT_FRAME, "first link of 00010007: expected Error "
	    "403, got %s", rc_name(rc, &r1))) {
		int code = 0;

		IT_ASSERT(itest_frame_error(&f, &code, &seq) == 0 &&
		    code == 403, "first link of 00010007: expected Error 403, "
		    "got %.300s", f.body);
		itest_frame_free(&f);
	}
	raw_expect_closed(&r1, "first link of 00010007 after its Error 403");
	/* The newer link works both ways. */
	if (!dev_open(&x, IT_DEV(8), IT_DEV(7), srv_dl.port))
		goto out;
	if (!dev_send(&x, IT_DEV(7), 1) || !IT_ASSERT(nap_flush(x.n,
	    IT_WAIT_MS) == 0, "nap_flush: %s", nap_errmsg(x.n)))
		goto out;
	rc = itest_raw_expect(&r2, 1000, &f, IT_WAIT_MS, NULL);
	if (IT_ASSERT(rc == IT_FRAME, "second link of 00010007: expected the "
	    "message of 00010008, got %s", rc_name(rc, &r2))) {
		IT_ASSERT(f.h.from == IT_DEV(8), "from %08X", f.h.from);
		itest_frame_free(&f);
	}
	if (IT_ASSERT(itest_raw_msg(&r2, 1000, NULL, IT_DEV(7), IT_DEV(8),
	    r2.session, "<r/>", NULL) == 0, "write: %s", r2.why)) {
		struct got_args g = { &x, NULL, 1, 0 };

		x.peer = 0;	/* any content: count only */
		IT_ASSERT(itest_pump(&x.n, 1, IT_WAIT_MS, both_got, &g),
		    "00010008 expected a message from the second link of "
		    "00010007, got none");
	}
	raw_still_open(&r2, "second link of 00010007");
out:
	dev_close(&x);
	itest_raw_close(&r1);
	itest_raw_close(&r2);
}

static void
test_dl_stop(void)
{
	stop_ok(&srv_dl);
}

/* ---- suite: refusals ----------------------------------------------- */

static struct itest_server srv_rf;
static char reg_rf[PATH_MAX];

#define RF_PERMIT	IT_DEV(30)	/* may send 2000-2999 only */

static int
rf_init(void)
{
	char code[9];

	snprintf(code, sizeof(code), "%08X", RF_PERMIT);
	if (itest_registry_new("refusals", reg_rf, sizeof(reg_rf)) == -1 ||
	    itest_ctl(reg_rf, "device", "permit", code, "2000-2999", NULL) !=
	    0)
		return -1;
	return itest_server_start(&srv_rf, "refusals", reg_rf, NULL, false);
}

static int
rf_clean(void)
{
	if (srv_rf.pid > 0)
		(void)itest_server_kill(&srv_rf);
	return 0;
}

/* §2/§4: a certificate from another CA: TLS alert, no Login. */
static void
test_foreign_ca(void)
{
	struct nap *n;
	int rc;

	tls_refused(srv_rf.port, itest.pki2, IT_FOREIGN,
	    "certificate of another CA (raw)");
	if ((n = itest_nap_new(IT_FOREIGN, itest.pki2, srv_rf.port,
	    CONNECT_MS)) == NULL) {
		IT_FAIL("libnap handle with the foreign certificate");
		return;
	}
	rc = nap_connect(n);
	IT_ASSERT(rc == NAP_E_TLS || rc == NAP_E_CLOSED, "certificate of "
	    "another CA (libnap): expected NAP_E_TLS or NAP_E_CLOSED, got %d "
	    "(%s)", rc, nap_errmsg(n));
	IT_ASSERT(nap_state(n) != NAP_ST_ONLINE && nap_session(n)[0] == '\0',
	    "certificate of another CA: never logged in");
	nap_free(n);
}

static void
test_no_cert(void)
{
	tls_refused(srv_rf.port, NULL, IT_DEV(31), "no client certificate");
}

static void
test_revoked(void)
{
	tls_refused(srv_rf.port, itest.pki, IT_REVOKED,
	    "revoked certificate (000100CB is in the CRL)");
}

static void
test_unregistered(void)
{
	struct nap *n;
	int rc;

	login_refused(srv_rf.port, IT_UNREG, IT_UNREG, 403,
	    "unregistered 000100CA");
	if ((n = itest_nap_new(IT_UNREG, itest.pki, srv_rf.port,
	    CONNECT_MS)) == NULL)
		return;
	rc = nap_connect(n);
	IT_ASSERT(rc == 403, "unregistered 000100CA (libnap): expected 403, "
	    "got %d (%s)", rc, nap_errmsg(n));
	nap_free(n);
}

static void
test_disabled(void)
{
	struct nap *n;
	int rc;

	login_refused(srv_rf.port, IT_DISABLED, IT_DISABLED, 403,
	    "disabled 000100C9");
	if ((n = itest_nap_new(IT_DISABLED, itest.pki, srv_rf.port,
	    CONNECT_MS)) == NULL)
		return;
	rc = nap_connect(n);
	IT_ASSERT(rc == 403, "disabled 000100C9 (libnap): expected 403, got "
	    "%d (%s)", rc, nap_errmsg(n));
	nap_free(n);
}

static void
test_login_from(void)
{
	login_refused(srv_rf.port, IT_DEV(32), IT_DEV(33), 403,
	    "Login From 00010021 over the certificate of 00010020");
}

static void
test_first_not_login(void)
{
	first_frame_refused(srv_rf.port, IT_DEV(34), "<Message version=\"1.0\">"
	    "<Header Message_Type=\"1000\" SessionId=\"\" Seq=\"52\" From="
	    "\"00010022\" To=\"00010001\"/></Message>", 401, 52,
	    "first frame of type 1000");
	first_frame_refused(srv_rf.port, IT_DEV(34), "<Message version=\"1.0\">"
	    "<Header Message_Type=\"3\" SessionId=\"\" Seq=\"53\" From="
	    "\"00010022\" To=\"00010000\"/></Message>", 401, 53,
	    "first frame a Check");
}

static void
test_first_malformed(void)
{
	first_frame_refused(srv_rf.port, IT_DEV(35), "<Message version=\"1.0\">"
	    "<Header Message_Type=\"1\" SessionId=\"\" Seq=\"54\" From="
	    "\"00010023\" To=\"00010000\"/>", 400, 0,
	    "first frame not well-formed");
	first_frame_refused(srv_rf.port, IT_DEV(35), "<Message version=\"1.0\">"
	    "<Header Message_Type=\"1\" SessionId=\"\" Seq=\"-1\" From="
	    "\"00010023\" To=\"00010000\"/></Message>", 400, 0,
	    "first frame with Seq=\"-1\"");
}

/* §2: a length of 0, or above max_frame: 413 and close. */
static void
test_bad_length(void)
{
	struct itest_raw r;
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	static const uint8_t big[4] = { 0, 0x20, 0, 0 };	/* 2 MiB */
	const uint8_t *p[2] = { zero, big };
	const char *what[2] = { "frame length 0", "frame length 2 MiB above "
	    "max_frame (1 MiB), no body sent" };

	for (int i = 0; i < 2; i++) {
		if (raw_online(&r, srv_rf.port, IT_DEV(36)) &&
		    IT_ASSERT(itest_raw_write(&r, p[i], 4) == 0, "write: %s",
		    r.why) && raw_expect_error(&r, 413, 0, what[i]))
			raw_expect_closed(&r, what[i]);
		itest_raw_close(&r);
	}
}

/* After Login, a message claiming another From: 403 naming the Seq; the
 * link stays and a following good message is delivered. */
static void
test_wrong_from(void)
{
	struct itest_raw s, d;
	struct itest_frame f;
	uint32_t bad, good;
	int rc;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	if (!raw_online(&s, srv_rf.port, IT_DEV(37)) ||
	    !raw_online(&d, srv_rf.port, IT_DEV(38)))
		goto out;
	if (!IT_ASSERT(itest_raw_msg(&s, 1000, NULL, IT_DEV(39), IT_DEV(38),
	    s.session, "<bad/>", &bad) == 0, "write: %s", s.why) ||
	    !raw_expect_error(&s, 403, bad, "From 00010027 on the link of "
	    "00010025"))
		goto out;
	if (!IT_ASSERT(itest_raw_msg(&s, 1000, NULL, IT_DEV(37), IT_DEV(38),
	    s.session, "<good/>", &good) == 0, "write: %s (the link should "
	    "stay open)", s.why))
		goto out;
	/* Same link, same order: a delivered forgery would come first. */
	rc = itest_raw_recv(&d, &f, IT_WAIT_MS);
	if (IT_ASSERT(rc == IT_FRAME, "00010026: expected the good message "
	    "after the refused one, got %s", rc_name(rc, &d))) {
		IT_ASSERT(f.parsed && f.h.from == IT_DEV(37) && f.h.seq ==
		    good, "00010026: expected From 00010025 Seq %u, got %.300s",
		    good, f.body);
		itest_frame_free(&f);
	}
	raw_still_open(&s, "link of 00010025 after a forged From");
out:
	itest_raw_close(&s);
	itest_raw_close(&d);
}

/* §7 permits: 0001001E may send 2000-2999 only. */
static void
test_not_permitted(void)
{
	struct itest_raw s, d;
	struct itest_frame f;
	uint32_t seq;
	int rc;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	if (!raw_online(&s, srv_rf.port, RF_PERMIT) ||
	    !raw_online(&d, srv_rf.port, IT_DEV(40)))
		goto out;
	if (IT_ASSERT(itest_raw_msg(&s, 1000, NULL, RF_PERMIT, IT_DEV(40),
	    s.session, NULL, &seq) == 0, "write: %s", s.why))
		raw_expect_error(&s, 403, seq, "type 1000 from a device "
		    "permitted 2000-2999");
	if (IT_ASSERT(itest_raw_msg(&s, 3000, NULL, RF_PERMIT, IT_DEV(40),
	    s.session, NULL, &seq) == 0, "write: %s", s.why))
		raw_expect_error(&s, 403, seq, "type 3000 from a device "
		    "permitted 2000-2999");
	if (!IT_ASSERT(itest_raw_msg(&s, 2500, NULL, RF_PERMIT, IT_DEV(40),
	    s.session, NULL, &seq) == 0, "write: %s", s.why))
		goto out;
	rc = itest_raw_recv(&d, &f, IT_WAIT_MS);
	if (IT_ASSERT(rc == IT_FRAME, "type 2500 (permitted): expected it "
	    "delivered, got %s", rc_name(rc, &d))) {
		IT_ASSERT(f.parsed && f.h.type == 2500 && f.h.seq == seq,
		    "expected type 2500 Seq %u first, got %.300s", seq, f.body);
		itest_frame_free(&f);
	}
	raw_still_open(&s, "permits");
out:
	itest_raw_close(&s);
	itest_raw_close(&d);
}

/* §4: at its domain a device may not send 2, 6, 10 (and others). */
static void
test_reserved_types(void)
{
	static const uint32_t types[] = { 10, 6, 2, 21, 31, 999 };
	struct itest_raw r;
	char what[64];
	uint32_t seq;

	if (!raw_online(&r, srv_rf.port, IT_DEV(41)))
		goto out;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(what, sizeof(what), "reserved type %u from a device",
		    types[i]);
		if (IT_ASSERT(itest_raw_msg(&r, types[i], NULL, IT_DEV(41),
		    IT_DOMAIN, r.session, NULL, &seq) == 0, "write: %s",
		    r.why))
			raw_expect_error(&r, 403, seq, what);
	}
	raw_still_open(&r, "reserved types");
out:
	itest_raw_close(&r);
}

/* §5 routing refusals, each naming the Seq; the link stays. */
static void
test_route_refusals(void)
{
	static const struct {
		uint32_t	 to;
		int		 code;
		const char	*what;
	} cases[] = {
		{ 0x000100FFu, 404, "To 000100FF, unregistered in the region" },
		{ IT_DISABLED, 403, "To 000100C9, a disabled device" },
		{ 0x00020001u, 503, "To 00020001, a region with no platform" },
		{ 0x00000000u, 503, "To 00000000 with no platform" },
		{ 0xFFFF0001u, 404, "To FFFF0001, a reserved code" },
		{ IT_DOMAIN, 404, "To 00010000, no subscriber for type 1000" },
	};
	struct itest_raw r;
	uint32_t seq;

	if (!raw_online(&r, srv_rf.port, IT_DEV(42)))
		goto out;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (IT_ASSERT(itest_raw_msg(&r, 1000, NULL, IT_DEV(42),
		    cases[i].to, r.session, "<x/>", &seq) == 0, "write: %s",
		    r.why))
			raw_expect_error(&r, cases[i].code, seq,
			    cases[i].what);
	raw_still_open(&r, "routing refusals");
out:
	itest_raw_close(&r);
}

/*
 * §4: only frames that are malformed or break §3 count toward the 16
 * protocol errors that close a link; 20 messages to an unreachable
 * region are 20 Errors 503 and the link stays.
 */
static void
test_route_refusals_keep_link(void)
{
	struct itest_raw r;
	char what[80];
	uint32_t seq;

	if (!raw_online(&r, srv_rf.port, IT_DEV(43)))
		goto out;
	for (int i = 0; i < 20; i++) {
		snprintf(what, sizeof(what), "message %d of 20 to region 0002 "
		    "(no platform)", i + 1);
		if (!IT_ASSERT(itest_raw_msg(&r, 1000, NULL, IT_DEV(43),
		    0x00020001u, r.session, NULL, &seq) == 0, "%s: write: "
		    "%s", what, r.why) || !raw_expect_error(&r, 503, seq, what))
			goto out;
	}
	raw_still_open(&r, "20 x 503 (routing refusals are not protocol "
	    "errors)");
out:
	itest_raw_close(&r);
}

/* §4: a later malformed frame is 400 and the link stays; the 16th
 * protocol error within 60 s closes it. */
static void
test_later_malformed(void)
{
	static const char *bad = "<!DOCTYPE Message><Message version=\"1.0\">"
	    "<Header Message_Type=\"1000\" SessionId=\"\" Seq=\"1\" From="
	    "\"0001002C\" To=\"00010001\"/></Message>";
	struct itest_raw r;
	char what[64];

	if (!raw_online(&r, srv_rf.port, IT_DEV(44)))
		goto out;
	for (int i = 1; i <= 15; i++) {
		snprintf(what, sizeof(what), "malformed frame %d after Login",
		    i);
		if (!IT_ASSERT(itest_raw_send(&r, bad) == 0, "%s: write: %s",
		    what, r.why) || !raw_expect_error(&r, 400, 0, what))
			goto out;
	}
	raw_still_open(&r, "after 15 malformed frames");
	if (IT_ASSERT(itest_raw_send(&r, bad) == 0, "16th: write: %s", r.why) &&
	    raw_expect_error(&r, 400, 0, "malformed frame 16"))
		raw_expect_closed(&r, "16 protocol errors within 60 s");
out:
	itest_raw_close(&r);
}

/* §4: a second Login on a logged-in link: 403; the link stays.  §3: a
 * wrong SessionId on type 5 and up: 401 naming the Seq; the link stays. */
static void
test_relogin_session(void)
{
	struct itest_raw r, d;
	struct itest_frame f;
	uint32_t seq;
	int rc;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	if (!raw_online(&r, srv_rf.port, IT_DEV(45)) ||
	    !raw_online(&d, srv_rf.port, IT_DEV(46)))
		goto out;
	if (IT_ASSERT(itest_raw_msg(&r, 1, NULL, IT_DEV(45), IT_DOMAIN, "",
	    NULL, &seq) == 0, "write: %s", r.why))
		raw_expect_error(&r, 403, seq, "a second Login on the link");
	raw_still_open(&r, "after a second Login");
	if (IT_ASSERT(itest_raw_msg(&r, 1000, NULL, IT_DEV(45), IT_DEV(46),
	    "0123456789ABCDEF", NULL, &seq) == 0, "write: %s", r.why))
		raw_expect_error(&r, 401, seq, "a wrong SessionId");
	if (IT_ASSERT(itest_raw_msg(&r, 1000, NULL, IT_DEV(45), IT_DEV(46), "",
	    NULL, &seq) == 0, "write: %s", r.why))
		raw_expect_error(&r, 401, seq, "an empty SessionId after "
		    "Login");
	if (IT_ASSERT(itest_raw_msg(&r, 1000, NULL, IT_DEV(45), IT_DEV(46),
	    r.session, NULL, &seq) == 0, "write: %s", r.why)) {
		rc = itest_raw_recv(&d, &f, IT_WAIT_MS);
		if (IT_ASSERT(rc == IT_FRAME, "the right session: expected "
		    "the message delivered, got %s", rc_name(rc, &d))) {
			IT_ASSERT(f.parsed && f.h.seq == seq, "expected Seq %u "
			    "first, got %.300s", seq, f.body);
			itest_frame_free(&f);
		}
	}
	raw_still_open(&r, "after wrong sessions");
out:
	itest_raw_close(&r);
	itest_raw_close(&d);
}

/* After all of that the server still serves. */
static void
test_rf_still_serving(void)
{
	struct dev a, b;
	struct nap *h[2];
	struct got_args g = { &a, &b, 5, 5 };

	memset(&b, 0, sizeof(b));
	if (dev_open(&a, IT_DEV(47), IT_DEV(48), srv_rf.port) &&
	    dev_open(&b, IT_DEV(48), IT_DEV(47), srv_rf.port) &&
	    dev_send(&a, IT_DEV(48), 5) && dev_send(&b, IT_DEV(47), 5)) {
		h[0] = a.n;
		h[1] = b.n;
		IT_ASSERT(itest_pump(h, 2, itest_ms(20000), both_got, &g) &&
		    a.bad == 0 && b.bad == 0, "after the refusals: got %u and "
		    "%u of 5 (%s%s)", a.got, b.got, a.first_bad, b.first_bad);
	}
	dev_close(&a);
	dev_close(&b);
}

static void
test_rf_stop(void)
{
	stop_ok(&srv_rf);
}

/* ---- suite: heartbeat ---------------------------------------------- */

static struct itest_server srv_hb;
static char reg_hb[PATH_MAX];

static int
hb_init(void)
{
	static const char *const extra[] = { "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "2", NULL };

	if (itest_registry_new("heartbeat", reg_hb, sizeof(reg_hb)) == -1)
		return -1;
	return itest_server_start(&srv_hb, "heartbeat", reg_hb, extra, false);
}

static int
hb_clean(void)
{
	if (srv_hb.pid > 0)
		(void)itest_server_kill(&srv_hb);
	return 0;
}

/* 3. A device that logs in and then says nothing is dropped (§5). */
static void
test_silent_dropped(void)
{
	struct itest_raw r;
	unsigned frames = 0;

	if (raw_online(&r, srv_hb.port, IT_DEV(50)))
		IT_ASSERT(itest_raw_wait_closed(&r, IT_WAIT_MS, &frames) == 0,
		    "a silent device (heartbeat timeout 2 s) was not closed "
		    "within %d ms", IT_WAIT_MS);
	itest_raw_close(&r);
}

/*
 * A slow sender: a frame trickled one byte every 0.5 s keeps resetting
 * the heartbeat clock, but the frame itself must complete within the
 * heartbeat timeout of its first byte (HARDENING.md), else the link goes.
 */
static void
test_slow_frame_dropped(void)
{
	struct itest_raw r;
	unsigned frames = 0;
	/* A prefix announcing 100 bytes, then bytes that never finish it. */
	static const unsigned char part[] = { 0, 0, 0, 100, '<', 'M', 'e',
	    's', 's', 'a', 'g', 'e', ' ', 'v' };
	size_t i;

	if (!raw_online(&r, srv_hb.port, IT_DEV(53)))
		goto out;
	for (i = 0; i < sizeof(part); i++) {
		if (itest_raw_write(&r, part + i, 1) != 0)
			break;		/* closed: the deadline passed */
		itest_sleep_ms(500);
	}
	/* Each byte reset the heartbeat clock, so without a frame deadline
	 * the link would still be open 0.5 s after the last byte; with it,
	 * it was closed about 2 s after the first, seconds ago. */
	IT_ASSERT(i < sizeof(part) || itest_raw_wait_closed(&r, 300,
	    &frames) == 0, "a frame trickled over %zu s (heartbeat timeout "
	    "2 s) was still open after its last byte", sizeof(part) / 2);
out:
	itest_raw_close(&r);
}

/*
 * §5: a link is closed once nothing came for `timeout` seconds, not
 * before: a device whose Checks leave 1.4 s gaps (timeout 2 s) is kept.
 * The gaps are pauses of this scenario, with 0.6 s to spare.
 */
static void
test_heartbeat_gaps(void)
{
	struct itest_raw r;
	struct itest_frame f;
	uint32_t seq;
	int rc;

	if (!raw_online(&r, srv_hb.port, IT_DEV(52)))
		goto out;
	for (int i = 0; i < 4; i++) {
		itest_sleep_ms(1400);
		seq = 500 + (uint32_t)i;
		if (!IT_ASSERT(itest_raw_msg(&r, 3, &seq, IT_DEV(52),
		    IT_DOMAIN, "", NULL, NULL) == 0, "Check %d: write: %s",
		    i + 1, r.why))
			break;
		rc = itest_raw_expect(&r, 4, &f, IT_WAIT_MS, NULL);
		if (!IT_ASSERT(rc == IT_FRAME, "heartbeat timeout 2 s, Check %d "
		    "of 4 after 1.4 s of silence: expected CheckReply, got %s",
		    i + 1, rc_name(rc, &r)))
			break;
		itest_frame_free(&f);
	}
out:
	itest_raw_close(&r);
}

/* A device that heartbeats (libnap, figures from LoginReply) stays. */
static void
test_heartbeat_kept(void)
{
	struct dev a;
	unsigned iv = 0, to = 0;
	int rc;

	if (!dev_open(&a, IT_DEV(51), 0, srv_hb.port))
		goto out;
	nap_heartbeat(a.n, &iv, &to);
	IT_ASSERT(iv == 1 && to == 2, "LoginReply heartbeat: expected "
	    "interval 1 timeout 2, libnap took %u %u", iv, to);
	(void)itest_pump(&a.n, 1, 5000, NULL, NULL);
	IT_ASSERT(nap_state(a.n) == NAP_ST_ONLINE, "a heartbeating device "
	    "was dropped: state %d (%s)", nap_state(a.n), nap_errmsg(a.n));
	rc = nap_ping(a.n, IT_WAIT_MS, NULL);
	IT_ASSERT(rc == 0, "nap_ping after 5 s of heartbeats: %d (%s)", rc,
	    nap_errmsg(a.n));
out:
	dev_close(&a);
}

static void
test_hb_stop(void)
{
	stop_ok(&srv_hb);
}

/* ---- suite: load --------------------------------------------------- */

static void
load_msg_cb(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct ldev *d = arg;
	struct load *L = d->L;
	uint32_t from = nap_msg_from(m), seq = nap_msg_seq(m), k;
	int fi = (int)(from - IT_DOMAIN) - 1;

	(void)n;
	if (fi < 0 || fi >= LOAD_N || nap_msg_type(m) != 1000) {
		L->unexpected++;
		return;
	}
	k = seq - L->seq[fi][0];	/* libnap: Seq goes up by one */
	if (k >= LOAD_PER || L->seq[fi][k] != seq || L->to[fi][k] != d->idx) {
		L->unexpected++;
		return;
	}
	if (L->cnt[fi][k]++ != 0)
		L->dups++;
	else
		L->received++;
}

static void
load_state_cb(struct nap *n, enum nap_state st, int err, void *arg)
{
	struct ldev *d = arg;

	(void)n;
	if (st == NAP_ST_ONLINE)
		d->L->online++;
	else if (st == NAP_ST_CLOSED || st == NAP_ST_BACKOFF) {
		d->L->closed++;
		d->L->last_close_err = err;
	}
}

static void
load_rcpt_cb(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct ldev *d = arg;

	(void)n;
	if (r->status == NAP_RCPT_ERROR) {
		d->L->errors++;
		d->L->last_error = r->code;
	}
}

static bool
load_ramp_done(void *arg)
{
	struct load *L = arg;

	return L->online == L->started || L->closed > 0;
}

static bool
load_all_received(void *arg)
{
	struct load *L = arg;

	return L->received == LOAD_N * LOAD_PER || L->closed > 0;
}

static struct itest_server srv_ld;
static char reg_ld[PATH_MAX];

static int
ld_init(void)
{
	if (itest_registry_new("load", reg_ld, sizeof(reg_ld)) == -1)
		return -1;
	return itest_server_start(&srv_ld, "load", reg_ld, NULL, false);
}

static int
ld_clean(void)
{
	if (srv_ld.pid > 0)
		(void)itest_server_kill(&srv_ld);
	return 0;
}

/* 5. 200 devices, 100 messages each to random peers, through one server. */
static void
test_load(void)
{
	struct load *L;
	struct nap_stats st;
	uint32_t x = 2463534242u;	/* xorshift32: the same every run */
	char params[64];
	unsigned missing = 0, ldup = 0, first_missing = 0;
	int64_t end;
	int rc, len;

	if ((L = calloc(1, sizeof(*L))) == NULL) {
		IT_FAIL("no memory");
		return;
	}
	for (int i = 0; i < LOAD_N; i++) {
		L->d[i].L = L;
		L->d[i].idx = i;
		if ((L->h[i] = itest_nap_new(IT_DEV(i + 1), itest.pki,
		    srv_ld.port, (unsigned)itest_ms(60000))) == NULL) {
			IT_FAIL("libnap handle %d", i);
			goto out;
		}
		nap_set_msg_cb(L->h[i], load_msg_cb, &L->d[i]);
		nap_set_state_cb(L->h[i], load_state_cb, &L->d[i]);
		nap_set_receipt_cb(L->h[i], load_rcpt_cb, &L->d[i]);
	}
	/* Log in at most LOAD_RAMP at a time, as a fleet ramps up: the
	 * server gives each link 10 s for TLS and Login. */
	end = now_ms() + itest_ms(60000);
	for (int turn = 0; turn < 100000 && L->online < LOAD_N &&
	    L->closed == 0 && now_ms() < end; turn++) {
		while (L->started < LOAD_N && L->started - L->online <
		    LOAD_RAMP) {
			rc = nap_connect_start(L->h[L->started]);
			if (!IT_ASSERT(rc == 0, "nap_connect_start %08X: %d "
			    "(%s)", IT_DEV(L->started + 1), rc,
			    nap_errmsg(L->h[L->started])))
				goto out;
			L->started++;
		}
		(void)itest_pump(L->h, LOAD_N, 200, load_ramp_done, L);
	}
	if (!IT_ASSERT(L->online == LOAD_N && L->closed == 0, "200 devices "
	    "logging in: %u online, %u closed (last error %d)", L->online,
	    L->closed, L->last_close_err))
		goto out;
	for (int i = 0; i < LOAD_N; i++)
		for (int k = 0; k < LOAD_PER; k++) {
			int to;

			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			to = (int)(x % (LOAD_N - 1));
			if (to >= i)
				to++;		/* a peer, never itself */
			L->to[i][k] = (uint16_t)to;
			len = snprintf(params, sizeof(params), "<n i=\"%d\" "
			    "k=\"%d\"/>", i, k);
			rc = nap_send(L->h[i], 1000, IT_DEV(to + 1), params,
			    (size_t)len, 0, &L->seq[i][k]);
			if (!IT_ASSERT(rc == 0, "nap_send %d/%d: %d (%s)", i, k,
			    rc, nap_errmsg(L->h[i])))
				goto out;
		}
	(void)itest_pump(L->h, LOAD_N, LOAD_MS, load_all_received, L);
	/* A little longer, for duplicates that would follow the last one. */
	(void)itest_pump(L->h, LOAD_N, 500, NULL, NULL);
	for (int i = 0; i < LOAD_N; i++) {
		for (int k = 0; k < LOAD_PER; k++) {
			if (L->cnt[i][k] == 0 && missing++ == 0)
				first_missing = (unsigned)(i * LOAD_PER + k);
		}
		nap_get_stats(L->h[i], &st);
		ldup += (unsigned)st.duplicates;
	}
	IT_ASSERT(L->received == LOAD_N * LOAD_PER && missing == 0,
	    "20000 messages: %u received once, %u missing (first: device "
	    "%08X message %u to %08X), %u devices closed (last error %d)",
	    L->received, missing, IT_DEV(first_missing / LOAD_PER + 1),
	    first_missing % LOAD_PER, IT_DEV(L->to[first_missing /
	    LOAD_PER][first_missing % LOAD_PER] + 1), L->closed,
	    L->last_close_err);
	IT_ASSERT(L->dups == 0 && ldup == 0, "duplicates: %u delivered to the "
	    "application, %u dropped by libnap", L->dups, ldup);
	IT_ASSERT(L->unexpected == 0, "%u messages not sent to their "
	    "receiver", L->unexpected);
	IT_ASSERT(L->errors == 0, "%u Error receipts (last %d)", L->errors,
	    L->last_error);
out:
	for (int i = 0; i < LOAD_N; i++)
		if (L->h[i] != NULL) {
			if (nap_state(L->h[i]) == NAP_ST_ONLINE)
				(void)nap_close(L->h[i], itest_ms(2000));
			nap_free(L->h[i]);
		}
	free(L);
}

static void
test_ld_stop(void)
{
	stop_ok(&srv_ld);
}

/* ---- suite: reload ------------------------------------------------- */

static struct itest_server srv_rl;
static char reg_rl[PATH_MAX];

static int
rl_init(void)
{
	if (itest_registry_new("reload", reg_rl, sizeof(reg_rl)) == -1)
		return -1;
	return itest_server_start(&srv_rl, "reload", reg_rl, NULL, false);
}

static int
rl_clean(void)
{
	if (srv_rl.pid > 0)
		(void)itest_server_kill(&srv_rl);
	return 0;
}

/* 6. nap-ctl device disable + SIGHUP: the device gets 403 and is closed;
 * the others go on. */
static void
test_reload_disable(void)
{
	struct itest_raw r;
	struct itest_frame f;
	struct dev p, q;
	struct nap *h[2], *z = NULL;
	struct got_args g = { &q, NULL, 10, 0 };
	uint32_t seq = 0;
	int rc, code = 0;

	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	if (!raw_online(&r, srv_rl.port, IT_DEV(60)) ||
	    !dev_open(&p, IT_DEV(61), IT_DEV(62), srv_rl.port) ||
	    !dev_open(&q, IT_DEV(62), IT_DEV(61), srv_rl.port))
		goto out;
	rc = itest_ctl(reg_rl, "device", "disable", "0001003C", NULL);
	if (!IT_ASSERT(rc == 0, "nap-ctl device disable 0001003C: exit %d",
	    rc) || !IT_ASSERT(itest_server_signal(&srv_rl, SIGHUP) == 0,
	    "kill -HUP"))
		goto out;
	rc = itest_raw_recv(&r, &f, IT_WAIT_MS);
	if (IT_ASSERT(rc == IT_FRAME, "0001003C disabled + SIGHUP: expected "
	    "Error 403, got %s", rc_name(rc, &r))) {
		IT_ASSERT(itest_frame_error(&f, &code, &seq) == 0 && code ==
		    403, "0001003C disabled + SIGHUP: expected Error 403, got "
		    "%.300s", f.body);
		itest_frame_free(&f);
		raw_expect_closed(&r, "0001003C after its Error 403");
	}
	/* The others are unaffected. */
	if (dev_send(&p, IT_DEV(62), 10)) {
		h[0] = p.n;
		h[1] = q.n;
		IT_ASSERT(itest_pump(h, 2, itest_ms(20000), both_got, &g) &&
		    q.bad == 0, "after the reload 0001003E got %u of 10 (%s)",
		    q.got, q.first_bad);
	}
	rc = nap_ping(p.n, IT_WAIT_MS, NULL);
	IT_ASSERT(rc == 0, "0001003D nap_ping after the reload: %d (%s)", rc,
	    nap_errmsg(p.n));
	IT_ASSERT(nap_state(p.n) == NAP_ST_ONLINE && nap_state(q.n) ==
	    NAP_ST_ONLINE, "0001003D and 0001003E stay online");
	/* A disabled destination: 403 naming the Seq. */
	if (IT_ASSERT(nap_send(p.n, 1000, IT_DEV(60), "<x/>", 4, 0, &seq) ==
	    0, "nap_send: %s", nap_errmsg(p.n))) {
		p.errors = 0;
		(void)itest_pump(&p.n, 1, IT_WAIT_MS, dev_errored, &p);
		IT_ASSERT(p.errors == 1 && p.last_error == 403 &&
		    p.last_error_seq == seq, "to the disabled 0001003C: "
		    "expected one Error 403 Seq %u, got %u errors (last %d "
		    "Seq %u)", seq, p.errors, p.last_error, p.last_error_seq);
	}
	/* It cannot log in again. */
	if ((z = itest_nap_new(IT_DEV(60), itest.pki, srv_rl.port,
	    CONNECT_MS)) != NULL) {
		rc = nap_connect(z);
		IT_ASSERT(rc == 403, "0001003C logging in again: expected "
		    "403, got %d (%s)", rc, nap_errmsg(z));
		nap_free(z);
	}
out:
	itest_raw_close(&r);
	dev_close(&p);
	dev_close(&q);
}

static void
test_rl_stop(void)
{
	stop_ok(&srv_rl);
}

/* ---- suite: stop ---------------------------------------------------- */

/* 7. SIGTERM: Logout (type 7) to every device, then exit status 0. */
static void
test_sigterm(void)
{
	struct itest_server s;
	struct itest_raw r1, r2;
	struct itest_frame f;
	struct dev a;
	char reg[PATH_MAX];
	unsigned skipped;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	r1.fd = r2.fd = -1;
	if (!IT_ASSERT(itest_registry_new("sigterm", reg, sizeof(reg)) == 0,
	    "registry") || !IT_ASSERT(itest_server_start(&s, "sigterm", reg,
	    NULL, false) == 0, "start nap-domain"))
		return;
	if (!raw_online(&r1, s.port, IT_DEV(70)) ||
	    !raw_online(&r2, s.port, IT_DEV(71)) ||
	    !dev_open(&a, IT_DEV(72), 0, s.port))
		goto out;
	if (!IT_ASSERT(itest_server_signal(&s, SIGTERM) == 0, "kill -TERM"))
		goto out;
	for (int i = 0; i < 2; i++) {
		struct itest_raw *r = i == 0 ? &r1 : &r2;

		skipped = 0;
		rc = itest_raw_expect(r, 7, &f, IT_WAIT_MS, &skipped);
		if (IT_ASSERT(rc == IT_FRAME, "%08X on SIGTERM: expected "
		    "Logout (7), got %s", r->code, rc_name(rc, r))) {
			IT_ASSERT(f.h.from == IT_DOMAIN && f.h.to == r->code,
			    "Logout From 00010000 To %08X: %.200s", r->code,
			    f.body);
			itest_frame_free(&f);
			raw_expect_closed(r, "after the server's Logout");
		}
		IT_ASSERT(skipped == 0, "%u frame(s) before the Logout",
		    skipped);
	}
	rc = nap_run(a.n, IT_WAIT_MS);
	IT_ASSERT(rc == NAP_E_LOGOUT, "libnap on SIGTERM: expected "
	    "NAP_E_LOGOUT (%d), got %d (%s)", NAP_E_LOGOUT, rc,
	    nap_errmsg(a.n));
	rc = itest_server_wait(&s, itest_ms(20000));
	IT_ASSERT(rc == 0, "nap-domain on SIGTERM: expected exit status 0, got "
	    "%d (log %s)", rc, s.log);
out:
	itest_raw_close(&r1);
	itest_raw_close(&r2);
	dev_close(&a);
	if (s.pid > 0)
		stop_ok(&s);
}

/* 7b. The same under valgrind: no error, no definite leak. */
static void
test_valgrind(void)
{
	struct itest_server s;
	struct itest_raw r;
	struct dev a, b;
	struct nap *h[2];
	struct got_args g = { &a, &b, 20, 20 };
	char reg[PATH_MAX];
	uint32_t seq;
	int rc;

	if (itest.valgrind[0] == '\0') {
		printf("\n  NOTICE: VALGRIND is not set: nap-domain under "
		    "valgrind skipped ");
		return;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (!IT_ASSERT(itest_registry_new("valgrind", reg, sizeof(reg)) == 0,
	    "registry") || !IT_ASSERT(itest_server_start(&s, "valgrind", reg,
	    NULL, true) == 0, "start nap-domain under valgrind"))
		return;
	/* Links that end before Login: no certificate, silence. */
	tls_refused(s.port, NULL, IT_DEV(80), "valgrind: no certificate");
	(void)itest_raw_open(&r, s.port, itest.pki, IT_DEV(81),
	    itest_ms(60000));
	itest_raw_close(&r);
	/* Refusals after Login, and a link closed by the device. */
	if (itest_raw_open(&r, s.port, itest.pki, IT_DEV(82),
	    itest_ms(60000)) == 0 &&
	    itest_raw_login(&r, IT_DEV(82), itest_ms(60000)) == 0 &&
	    itest_raw_msg(&r, 1000, NULL, IT_DEV(82), 0x000100FFu, r.session,
	    NULL, &seq) == 0) {
		struct itest_frame f;

		rc = itest_raw_expect(&r, 6, &f, itest_ms(60000), NULL);
		IT_ASSERT(rc == IT_FRAME, "valgrind: Error 404 expected: %s",
		    rc_name(rc, &r));
		if (rc == IT_FRAME)
			itest_frame_free(&f);
	}
	itest_raw_close(&r);
	if (dev_open(&a, IT_DEV(83), IT_DEV(84), s.port) &&
	    dev_open(&b, IT_DEV(84), IT_DEV(83), s.port) &&
	    dev_send(&a, IT_DEV(84), 20) && dev_send(&b, IT_DEV(83), 20)) {
		h[0] = a.n;
		h[1] = b.n;
		IT_ASSERT(itest_pump(h, 2, itest_ms(60000), both_got, &g) &&
		    a.bad == 0 && b.bad == 0, "valgrind: got %u and %u of 20 "
		    "(%s%s)", a.got, b.got, a.first_bad, b.first_bad);
		rc = nap_ping(a.n, itest_ms(60000), NULL);
		IT_ASSERT(rc == 0, "valgrind: nap_ping: %d", rc);
	}
	/* Stopped with both devices connected. */
	rc = itest_server_stop(&s);
	IT_ASSERT(rc == 0, "nap-domain under valgrind on SIGTERM: expected "
	    "exit status 0, got %d%s (log %s)", rc, rc == 99 ?
	    " (valgrind found errors or definite leaks)" : "", s.log);
	dev_close(&a);
	dev_close(&b);
}

/* A crash (kill -9) loses the links; a new server on the same registry
 * serves the same devices. */
static void
test_crash_restart(void)
{
	struct itest_server s;
	struct dev a, b;
	struct nap *h[2];
	struct got_args g = { &a, &b, 3, 3 };
	char reg[PATH_MAX];
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (!IT_ASSERT(itest_registry_new("crash", reg, sizeof(reg)) == 0,
	    "registry") || !IT_ASSERT(itest_server_start(&s, "crash", reg, NULL,
	    false) == 0, "start nap-domain"))
		return;
	if (!dev_open(&a, IT_DEV(90), IT_DEV(91), s.port))
		goto out;
	if (!IT_ASSERT(itest_server_kill(&s) == 0, "kill -9 nap-domain"))
		goto out;
	rc = nap_run(a.n, IT_WAIT_MS);
	IT_ASSERT(rc == NAP_E_CLOSED || rc == NAP_E_TLS, "libnap after the "
	    "server died: expected NAP_E_CLOSED or NAP_E_TLS, got %d (%s)",
	    rc, nap_errmsg(a.n));
	dev_close(&a);
	if (!IT_ASSERT(itest_server_start(&s, "crash-restart", reg, NULL,
	    false) == 0, "restart nap-domain on the same registry"))
		goto out;
	if (dev_open(&a, IT_DEV(90), IT_DEV(91), s.port) &&
	    dev_open(&b, IT_DEV(91), IT_DEV(90), s.port) &&
	    dev_send(&a, IT_DEV(91), 3) && dev_send(&b, IT_DEV(90), 3)) {
		h[0] = a.n;
		h[1] = b.n;
		IT_ASSERT(itest_pump(h, 2, itest_ms(20000), both_got, &g),
		    "after the restart: got %u and %u of 3", a.got, b.got);
	}
out:
	dev_close(&a);
	dev_close(&b);
	if (s.pid > 0)
		stop_ok(&s);
}

/*
 * A certificate revoked while its device is logged in: the reload reads
 * the new CRL and verifies every live link again; that one gets Error
 * 403 "certificate revoked" and is closed, the others stay.
 */
static void
test_reload_revoke(void)
{
	struct itest_raw r, o;
	struct itest_frame f;
	uint32_t seq = 0;
	int rc, code = 0;
	const char *rev[] = { itest.certs, "--dir", itest.pki, "revoke",
	    "0001003F", NULL };

	memset(&o, 0, sizeof(o));
	if (!raw_online(&r, srv_rl.port, IT_DEV(63)) ||
	    !raw_online(&o, srv_rl.port, IT_DEV(64)))
		goto out;
	if (!IT_ASSERT((rc = itest_run(rev)) == 0, "nap-certs revoke "
	    "0001003F: exit %d", rc) || !IT_ASSERT(itest_server_signal(
	    &srv_rl, SIGHUP) == 0, "kill -HUP"))
		goto out;
	rc = itest_raw_recv(&r, &f, IT_WAIT_MS);
	if (IT_ASSERT(rc == IT_FRAME, "0001003F revoked + SIGHUP: expected "
	    "Error 403, got %s", rc_name(rc, &r))) {
		IT_ASSERT(itest_frame_error(&f, &code, &seq) == 0 && code ==
		    403 && strstr(f.body, "revoked") != NULL, "0001003F "
		    "revoked + SIGHUP: expected Error 403 \"certificate "
		    "revoked\", got %.300s", f.body);
		itest_frame_free(&f);
		raw_expect_closed(&r, "0001003F after its Error 403");
	}
	/* Another device's link is verified too, and stays. */
	if (IT_ASSERT(itest_raw_msg(&o, 3, NULL, IT_DEV(64), IT_DOMAIN,
	    o.session, NULL, NULL) == 0, "Check from 00010040")) {
		rc = itest_raw_expect(&o, 4, &f, IT_WAIT_MS, NULL);
		IT_ASSERT(rc == IT_FRAME, "00010040 after the reload: expected "
		    "CheckReply, got %s", rc_name(rc, &o));
		if (rc == IT_FRAME)
			itest_frame_free(&f);
	}
out:
	itest_raw_close(&r);
	itest_raw_close(&o);
}

/* ---- registration ------------------------------------------------------ */

static void
add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
    const struct test_entry *t)
{
	CU_pSuite s = CU_add_suite(name, init, clean);

	if (s == NULL)
		return;
	for (; t->name != NULL; t++)
		if (CU_add_test(s, t->name, t->fn) == NULL)
			return;
}

void
init_domain_tests(void)
{
	static const struct test_entry dl[] = {
		{ "two devices exchange both ways, in order",
		    test_two_devices },
		{ "forwarded bytes are verbatim", test_bytes_verbatim },
		{ "Check gets CheckReply with the same Seq", test_check },
		{ "a second login replaces the first", test_replace },
		{ "SIGTERM: exit status 0", test_dl_stop },
		{ NULL, NULL },
	};
	static const struct test_entry rf[] = {
		{ "certificate of another CA: TLS alert", test_foreign_ca },
		{ "no client certificate: TLS alert", test_no_cert },
		{ "revoked certificate: TLS alert", test_revoked },
		{ "unregistered device: 403, closed", test_unregistered },
		{ "disabled device: 403, closed", test_disabled },
		{ "Login From not the certificate's: 403", test_login_from },
		{ "first frame not Login: 401, closed", test_first_not_login },
		{ "first frame malformed: 400, closed", test_first_malformed },
		{ "frame length 0 or too large: 413, closed", test_bad_length },
		{ "forged From after Login: 403, link stays", test_wrong_from },
		{ "type not permitted: 403", test_not_permitted },
		{ "reserved types from a device: 403", test_reserved_types },
		{ "routing refusals 404/403/503", test_route_refusals },
		{ "routing refusals do not close the link",
		    test_route_refusals_keep_link },
		{ "later malformed frames: 400, 16th closes",
		    test_later_malformed },
		{ "second Login 403, wrong session 401", test_relogin_session },
		{ "still serving after the refusals", test_rf_still_serving },
		{ "SIGTERM: exit status 0", test_rf_stop },
		{ NULL, NULL },
	};
	static const struct test_entry hb[] = {
		{ "a silent device is dropped", test_silent_dropped },
		{ "a device silent for less than the timeout is kept",
		    test_heartbeat_gaps },
		{ "a heartbeating device is kept", test_heartbeat_kept },
		{ "a frame trickled byte by byte is cut off",
		    test_slow_frame_dropped },
		{ "SIGTERM: exit status 0", test_hb_stop },
		{ NULL, NULL },
	};
	static const struct test_entry ld[] = {
		{ "200 devices, 20000 messages, none lost or duplicated",
		    test_load },
		{ "SIGTERM: exit status 0", test_ld_stop },
		{ NULL, NULL },
	};
	static const struct test_entry rl[] = {
		{ "SIGHUP after disable: 403, closed; others go on",
		    test_reload_disable },
		{ "SIGHUP after revoke: 403, closed; others stay",
		    test_reload_revoke },
		{ "SIGTERM: exit status 0", test_rl_stop },
		{ NULL, NULL },
	};
	static const struct test_entry st[] = {
		{ "SIGTERM: Logout to every device, status 0", test_sigterm },
		{ "under valgrind: clean exit", test_valgrind },
		{ "kill -9, then a restart on the same registry",
		    test_crash_restart },
		{ NULL, NULL },
	};

	add_suite("domain: delivery", dl_init, dl_clean, dl);
	add_suite("domain: refusals", rf_init, rf_clean, rf);
	add_suite("domain: heartbeat", hb_init, hb_clean, hb);
	add_suite("domain: load", ld_init, ld_clean, ld);
	add_suite("domain: reload", rl_init, rl_clean, rl);
	add_suite("domain: stop", NULL, NULL, st);
}
