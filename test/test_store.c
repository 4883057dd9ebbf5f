/*
 * test_store.c - integration tests of the delivery guarantees of
 * DESIGN.md §5 on real nap-domain processes: the store, receipts,
 * confirmations, sessions that resume, and what a crash may cost.
 *
 * Suites:
 *   store   10 000 messages to an offline device; stored then delivered
 *           receipts, also to an offline sender; TTL 408; a device that
 *           loses its link mid-stream gets the rest once, in order
 *   quota   a full per-device quota answers 507
 *   crash   kill -9 under Ack="1" traffic with a reconnecting receiver:
 *           every acknowledged message arrives exactly once
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_store_tests(void);

#define CONNECT_MS	((unsigned)itest_ms(20000))
#define SND		IT_DEV(1)
#define RCV		IT_DEV(2)
#define MAXK		20000		/* messages a test sends, at most */

/*
 * One device of a test: what it received from SND (payload <n k=""/>),
 * and the receipts of what it sent, by message number k.
 */
struct tdev {
	struct nap	*n;
	uint32_t	 code;
	/* receiving */
	uint8_t		 cnt[MAXK];	/* times message k was delivered */
	unsigned	 received, dups, unordered, other;
	long		 last_k;
	/* sending */
	uint32_t	 seq[MAXK];	/* Seq of message k */
	unsigned	 sent;
	uint8_t		 rcpt[MAXK];	/* best receipt status of k */
	int		 err[MAXK];	/* its Error code */
	unsigned	 stored, delivered, errors, unknown;
	int		 last_err;
	unsigned	 online, downs;
};

/* The k of a Seq this device sent (linear from the newest: tests are
 * small and receipts come mostly in order). */
static long
k_of_seq(const struct tdev *d, uint32_t seq)
{
	for (long k = (long)d->sent - 1; k >= 0; k--)
		if (d->seq[k] == seq)
			return k;
	return -1;
}

static void
t_msg_cb(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct tdev *d = arg;
	char *ks;
	long k;

	(void)n;
	if (nap_msg_type(m) != 1000 || nap_msg_from(m) != SND ||
	    (ks = nap_msg_param_attr(m, "n", "k")) == NULL) {
		d->other++;
		return;
	}
	k = strtol(ks, NULL, 10);
	free(ks);
	if (k < 0 || k >= MAXK) {
		d->other++;
		return;
	}
	if (d->cnt[k]++ != 0) {
		d->dups++;
		return;
	}
	if (k != d->last_k + 1)
		d->unordered++;
	d->last_k = k;
	d->received++;
}

static void
t_rcpt_cb(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct tdev *d = arg;
	long k = k_of_seq(d, r->seq);

	(void)n;
	switch (r->status) {
	case NAP_RCPT_STORED:
		d->stored++;
		break;
	case NAP_RCPT_DELIVERED:
		d->delivered++;
		break;
	case NAP_RCPT_ERROR:
		d->errors++;
		d->last_err = r->code;
		if (k >= 0)
			d->err[k] = r->code;
		break;
	case NAP_RCPT_UNKNOWN:
		d->unknown++;
		break;
	}
	if (k >= 0 && (int)r->status > d->rcpt[k])
		d->rcpt[k] = (uint8_t)r->status;
}

static void
t_state_cb(struct nap *n, enum nap_state st, int err, void *arg)
{
	struct tdev *d = arg;

	(void)n;
	(void)err;
	if (st == NAP_ST_ONLINE)
		d->online++;
	else if (st == NAP_ST_BACKOFF || st == NAP_ST_CLOSED)
		d->downs++;
}

static struct tdev *
tdev_new(uint32_t code, int port, bool reconnect)
{
	struct tdev *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->n = itest_nap_new(code, itest.pki, port,
	    CONNECT_MS)) == NULL) {
		free(d);
		return NULL;
	}
	d->code = code;
	d->last_k = -1;
	nap_set_msg_cb(d->n, t_msg_cb, d);
	nap_set_receipt_cb(d->n, t_rcpt_cb, d);
	nap_set_state_cb(d->n, t_state_cb, d);
	if (reconnect)
		(void)nap_set_reconnect(d->n, true, 50, 500);
	return d;
}

static void
tdev_free(struct tdev *d)
{
	if (d == NULL)
		return;
	if (nap_state(d->n) == NAP_ST_ONLINE)
		(void)nap_close(d->n, itest_ms(2000));
	nap_free(d->n);
	free(d);
}

static bool
tdev_connect(struct tdev *d)
{
	int rc = nap_connect(d->n);

	return IT_ASSERT(rc == 0, "%08X connect: %d (%s)", d->code, rc,
	    nap_errmsg(d->n));
}

/* Sends message k (payload <n k="k"/>), pumping while the queue is full. */
static bool
tdev_send(struct tdev *d, struct nap **all, size_t nall, uint32_t to,
    int flags, uint32_t ttl)
{
	char p[64];
	struct nap_out o = { .type = 1000, .to = to, .params = p,
	    .flags = flags, .ttl = ttl };
	int rc = NAP_E_AGAIN;

	o.len = (size_t)snprintf(p, sizeof(p), "<n k=\"%u\"/>", d->sent);
	for (int tries = 0; tries < 2000 && rc == NAP_E_AGAIN; tries++) {
		if ((rc = nap_send_ex(d->n, &o, &d->seq[d->sent])) ==
		    NAP_E_AGAIN)
			(void)itest_pump(all, nall, 20, NULL, NULL);
	}
	if (!IT_ASSERT(rc == 0, "send %u: %d (%s)", d->sent, rc,
	    nap_errmsg(d->n)))
		return false;
	d->sent++;
	return true;
}

/* ---- done() predicates for itest_pump ------------------------------- */

struct want {
	struct tdev	*d;
	unsigned	 n;
};

static bool
received_n(void *arg)
{
	struct want *w = arg;

	return w->d->received >= w->n;
}

static bool
stored_n(void *arg)
{
	struct want *w = arg;

	return w->d->stored + w->d->errors >= w->n;
}

static bool
delivered_n(void *arg)
{
	struct want *w = arg;

	return w->d->delivered >= w->n;
}

static bool
errors_n(void *arg)
{
	struct want *w = arg;

	return w->d->errors >= w->n;
}

/* ---- suite: store ----------------------------------------------------- */

static struct itest_server srv_st;
static char reg_st[PATH_MAX];

static int
st_init(void)
{
	if (itest_registry_new("store", reg_st, sizeof(reg_st)) == -1)
		return -1;
	return itest_server_start(&srv_st, "store", reg_st, NULL, false);
}

static int
st_clean(void)
{
	if (srv_st.pid > 0)
		(void)itest_server_kill(&srv_st);
	return 0;
}

/* 10 000 messages to an offline device, then it logs in: all arrive,
 * in order, once. */
static void
test_offline_10000(void)
{
	struct tdev *s = tdev_new(SND, srv_st.port, false), *r = NULL;
	struct nap *all[2];
	struct want w;
	unsigned n = 10000;

	if (!IT_ASSERT(s != NULL, "handle") || !tdev_connect(s))
		goto out;
	all[0] = s->n;
	all[1] = NULL;
	for (unsigned i = 0; i < n; i++)	/* the last one asks a receipt */
		if (!tdev_send(s, all, 1, RCV, i == n - 1 ? NAP_ACK : 0, 0))
			goto out;
	w.d = s;
	w.n = 1;
	(void)itest_pump(all, 1, itest_ms(60000), stored_n, &w);
	if (!IT_ASSERT(s->stored == 1 && s->errors == 0, "the last message "
	    "stored: %u stored receipts, %u errors (last %d)", s->stored,
	    s->errors, s->last_err))
		goto out;
	if ((r = tdev_new(RCV, srv_st.port, false)) == NULL ||
	    !tdev_connect(r))
		goto out;
	all[1] = r->n;
	w.d = r;
	w.n = n;
	(void)itest_pump(all, 2, itest_ms(120000), received_n, &w);
	(void)itest_pump(all, 2, 300, NULL, NULL);	/* late duplicates */
	IT_ASSERT(r->received == n && r->dups == 0 && r->unordered == 0 &&
	    r->other == 0, "10000 stored messages: %u received, %u twice, "
	    "%u out of order, %u other", r->received, r->dups, r->unordered,
	    r->other);
	w.d = s;
	w.n = 1;
	(void)itest_pump(all, 2, itest_ms(10000), delivered_n, &w);
	IT_ASSERT(s->delivered == 1, "the receipt-asking one delivered: %u",
	    s->delivered);
out:
	tdev_free(s);
	tdev_free(r);
}

/*
 * Ack="1": `stored' once on disk, `delivered' once the device confirmed;
 * a sender offline when its receipt is due gets it at its next login.
 */
static void
test_receipts_offline_sender(void)
{
	struct tdev *s = tdev_new(SND, srv_st.port, false), *r = NULL;
	struct nap *all[2] = { NULL, NULL };
	struct want w = { s, 3 };

	if (!IT_ASSERT(s != NULL, "handle") || !tdev_connect(s))
		goto out;
	all[0] = s->n;
	for (int i = 0; i < 3; i++)
		if (!tdev_send(s, all, 1, RCV, NAP_ACK, 0))
			goto out;
	(void)itest_pump(all, 1, itest_ms(10000), stored_n, &w);
	if (!IT_ASSERT(s->stored == 3 && s->delivered == 0, "3 stored "
	    "receipts and no delivered yet: %u stored, %u delivered, %u "
	    "errors", s->stored, s->delivered, s->errors))
		goto out;
	(void)nap_close(s->n, itest_ms(2000));	/* the sender goes away */
	if ((r = tdev_new(RCV, srv_st.port, false)) == NULL ||
	    !tdev_connect(r))
		goto out;
	all[0] = r->n;
	w.d = r;
	(void)itest_pump(all, 1, itest_ms(10000), received_n, &w);
	if (!IT_ASSERT(r->received == 3, "received %u of 3", r->received))
		goto out;
	(void)nap_close(r->n, itest_ms(2000));	/* confirms, then Logout */
	s->stored = 0;
	if (!tdev_connect(s))
		goto out;
	all[0] = s->n;
	w.d = s;
	(void)itest_pump(all, 1, itest_ms(10000), delivered_n, &w);
	IT_ASSERT(s->delivered == 3, "3 delivered receipts stored for the "
	    "offline sender: got %u", s->delivered);
out:
	tdev_free(s);
	tdev_free(r);
}

/* §5 TTL: 408 when it runs out in the store; TTL 0 is never stored. */
static void
test_ttl(void)
{
	struct tdev *s = tdev_new(SND, srv_st.port, false);
	struct nap *all[1];
	struct want w = { s, 2 };

	if (!IT_ASSERT(s != NULL, "handle") || !tdev_connect(s))
		goto out;
	all[0] = s->n;
	if (!tdev_send(s, all, 1, RCV, NAP_ACK | NAP_TTL, 0) ||
	    !tdev_send(s, all, 1, RCV, NAP_ACK | NAP_TTL, 1))
		goto out;
	(void)itest_pump(all, 1, itest_ms(15000), errors_n, &w);
	IT_ASSERT(s->err[0] == 408, "TTL 0 to an offline device: %d",
	    s->err[0]);
	IT_ASSERT(s->rcpt[1] == NAP_RCPT_ERROR && s->err[1] == 408,
	    "TTL 1 in the store: receipt %d, error %d", s->rcpt[1],
	    s->err[1]);
	IT_ASSERT(s->stored == 1, "the TTL 1 one was stored first: %u",
	    s->stored);
out:
	tdev_free(s);
}

/*
 * A device whose link dies mid-stream (no Logout, no confirmation) gets
 * the rest at its next login: every message once, in order.
 */
static void
test_midstream(void)
{
	struct tdev *s = tdev_new(SND, srv_st.port, false);
	struct tdev *r = tdev_new(RCV, srv_st.port, true);
	struct nap *all[2];
	struct want w;
	unsigned n = 3000, cut = 0;

	if (!IT_ASSERT(s != NULL && r != NULL, "handles") ||
	    !tdev_connect(s) || !tdev_connect(r))
		goto out;
	all[0] = s->n;
	all[1] = r->n;
	w.d = r;
	for (unsigned i = 0; i < n; i++) {
		if (!tdev_send(s, all, 2, RCV, 0, 0))
			goto out;
		if (i % 500 == 250) {	/* pull the cable: no close_notify */
			w.n = r->received + 1;
			(void)itest_pump(all, 2, itest_ms(5000), received_n,
			    &w);
			(void)shutdown(nap_fd(r->n), SHUT_RDWR);
			cut++;
		}
	}
	w.n = n;
	(void)itest_pump(all, 2, itest_ms(60000), received_n, &w);
	(void)itest_pump(all, 2, 300, NULL, NULL);
	IT_ASSERT(r->received == n && r->unordered == 0 && r->other == 0,
	    "%u messages, link cut %u times: %u received, %u out of order, "
	    "%u other (%u duplicates dropped by the test, %u logins)", n,
	    cut, r->received, r->unordered, r->other, r->dups, r->online);
	IT_ASSERT(r->dups == 0, "the application saw %u messages twice",
	    r->dups);
	IT_ASSERT(r->online > cut / 2, "the receiver logged in again: %u "
	    "logins", r->online);
out:
	tdev_free(s);
	tdev_free(r);
}

static void
test_st_stop(void)
{
	IT_ASSERT(itest_server_stop(&srv_st) == 0, "SIGTERM: status 0");
}

/* ---- suite: quota ------------------------------------------------------ */

static struct itest_server srv_q;
static char reg_q[PATH_MAX];

static int
q_init(void)
{
	const char *extra[] = { "--store-device-quota", "5", NULL };

	if (itest_registry_new("quota", reg_q, sizeof(reg_q)) == -1)
		return -1;
	return itest_server_start(&srv_q, "quota", reg_q, extra, false);
}

static int
q_clean(void)
{
	if (srv_q.pid > 0)
		(void)itest_server_kill(&srv_q);
	return 0;
}

static void
test_quota(void)
{
	struct tdev *s = tdev_new(SND, srv_q.port, false);
	struct nap *all[1];
	struct want w = { s, 7 };

	if (!IT_ASSERT(s != NULL, "handle") || !tdev_connect(s))
		goto out;
	all[0] = s->n;
	for (int i = 0; i < 7; i++)
		if (!tdev_send(s, all, 1, RCV, NAP_ACK, 0))
			goto out;
	(void)itest_pump(all, 1, itest_ms(10000), stored_n, &w);
	IT_ASSERT(s->stored == 5 && s->errors == 2 && s->err[5] == 507 &&
	    s->err[6] == 507, "quota 5: %u stored, %u errors (6th: %d, "
	    "7th: %d)", s->stored, s->errors, s->err[5], s->err[6]);
out:
	tdev_free(s);
}

static void
test_q_stop(void)
{
	IT_ASSERT(itest_server_stop(&srv_q) == 0, "SIGTERM: status 0");
}

/* ---- suite: crash ------------------------------------------------------ */

static struct itest_server srv_cr;
static char reg_cr[PATH_MAX];

static int
cr_init(void)
{
	if (itest_registry_new("storekill", reg_cr, sizeof(reg_cr)) == -1)
		return -1;
	return itest_server_start(&srv_cr, "crash", reg_cr, NULL, false);
}

static int
cr_clean(void)
{
	if (srv_cr.pid > 0)
		(void)itest_server_kill(&srv_cr);
	return 0;
}

/* Every message has a final receipt, or was received. */
static bool
all_settled(void *arg)
{
	struct tdev **d = arg;

	for (unsigned k = 0; k < d[0]->sent; k++)
		if (d[1]->cnt[k] == 0 && d[0]->rcpt[k] != NAP_RCPT_ERROR &&
		    d[0]->rcpt[k] != NAP_RCPT_UNKNOWN)
			return false;
	return true;
}

/*
 * kill -9 while the sender sends with Ack="1" and the receiver keeps
 * losing its link; then a restart on the same port, store and registry.
 * Whatever got `stored' or `delivered' arrives exactly once; the rest
 * arrives, or ends as an Error, once the sender is back (§5).
 */
static void
test_crash(void)
{
	struct tdev *s = tdev_new(SND, srv_cr.port, true);
	struct tdev *r = tdev_new(RCV, srv_cr.port, true);
	struct tdev *pair[2] = { s, r };
	struct nap *all[2];
	char port[16];
	const char *extra[] = { "--listen", port, NULL };
	unsigned n = 4000, acked = 0, lost = 0, twice = 0, arrived = 0;
	unsigned errs = 0, unknown = 0;
	struct nap_stats st;

	if (!IT_ASSERT(s != NULL && r != NULL, "handles") ||
	    !tdev_connect(s) || !tdev_connect(r))
		goto out;
	all[0] = s->n;
	all[1] = r->n;
	itest_fmt(port, sizeof(port), "127.0.0.1:%d", srv_cr.port);
	for (unsigned i = 0; i < n; i++) {
		if (!tdev_send(s, all, 2, RCV, NAP_ACK, 0))
			goto out;
		if (i % 400 == 200)	/* the receiver loses its link */
			(void)shutdown(nap_fd(r->n), SHUT_RDWR);
		if (i % 50 == 0)
			(void)itest_pump(all, 2, 5, NULL, NULL);
		if (i == n / 2) {
			(void)itest_pump(all, 2, 100, NULL, NULL);
			if (!IT_ASSERT(itest_server_kill(&srv_cr) == 0,
			    "kill -9"))
				goto out;
			if (!IT_ASSERT(itest_server_start(&srv_cr, "crash",
			    reg_cr, extra, false) == 0, "restart on %s",
			    port))
				goto out;
		}
	}
	(void)itest_pump(all, 2, itest_ms(90000), all_settled, pair);
	(void)itest_pump(all, 2, 500, NULL, NULL);
	for (unsigned k = 0; k < s->sent; k++) {
		bool ack = s->rcpt[k] == NAP_RCPT_STORED ||
		    s->rcpt[k] == NAP_RCPT_DELIVERED;

		acked += ack;
		lost += ack && r->cnt[k] == 0;
		twice += r->cnt[k] > 1;
		arrived += r->cnt[k] > 0;
		errs += s->rcpt[k] == NAP_RCPT_ERROR;
		unknown += s->rcpt[k] == NAP_RCPT_UNKNOWN;
	}
	nap_get_stats(r->n, &st);
	printf("\n    crash: %u sent, %u acknowledged (stored or delivered), "
	    "%u arrived, %u lost after an ack, %u errors, %u unknown, %u "
	    "duplicates dropped by libnap, receiver logins %u, sender "
	    "logins %u, sender resumed %d\n    ", s->sent, acked, arrived,
	    lost, errs, unknown, (unsigned)st.duplicates, r->online, s->online,
	    nap_resumed(s->n));
	IT_ASSERT(lost == 0, "%u acknowledged messages never arrived", lost);
	IT_ASSERT(twice == 0 && r->dups == 0, "%u messages reached the "
	    "application twice", twice + r->dups);
	IT_ASSERT(all_settled(pair), "messages neither arrived nor answered "
	    "(%u arrived, %u errors, %u unknown of %u)", arrived, errs,
	    unknown, s->sent);
	IT_ASSERT(unknown == 0, "%u receipts unknown: the session was not "
	    "resumed", unknown);
out:
	tdev_free(s);
	tdev_free(r);
}

static void
test_cr_stop(void)
{
	IT_ASSERT(itest_server_stop(&srv_cr) == 0, "SIGTERM: status 0");
}

/* ---- suite: bound ---------------------------------------------------- */

static struct itest_server srv_bd;
static char reg_bd[PATH_MAX];

static int
bd_init(void)
{
	const char *extra[] = { "--unconfirmed-max", "256", NULL };

	if (itest_registry_new("bound", reg_bd, sizeof(reg_bd)) == -1)
		return -1;
	return itest_server_start(&srv_bd, "bound", reg_bd, extra, false);
}

static int
bd_clean(void)
{
	if (srv_bd.pid > 0)
		(void)itest_server_kill(&srv_bd);
	return 0;
}

/* Reads type-1000 frames until none comes for a while: how many. */
static unsigned
raw_drain(struct itest_raw *r, uint32_t *last_from, uint32_t *last_seq,
    long *last_k, unsigned *unordered)
{
	struct itest_frame f;
	unsigned n = 0;
	char *kp;
	long k;

	for (int i = 0; i < 5000 && itest_raw_recv(r, &f, itest_ms(700)) ==
	    IT_FRAME; i++) {
		if (f.parsed && f.h.type == 1000) {
			n++;
			*last_from = f.h.from;
			*last_seq = f.h.seq;
			if ((kp = strstr(f.body, "k=\"")) != NULL) {
				k = strtol(kp + 3, NULL, 10);
				*unordered += k != *last_k + 1;
				*last_k = k;
			}
		}
		itest_frame_free(&f);
	}
	return n;
}

/*
 * §5: a device that never confirms holds at most the per-link bound
 * (256 here) on its link; the rest waits in the store, and comes once
 * it confirms.
 */
static void
test_bound(void)
{
	struct tdev *s = tdev_new(SND, srv_bd.port, false);
	struct itest_raw r;
	struct nap *all[1];
	uint32_t lf = 0, ls = 0;
	unsigned first, total, unordered = 0, turns = 0;
	long last_k = -1;
	char ack[96];

	memset(&r, 0, sizeof(r));
	if (!IT_ASSERT(s != NULL, "handle") || !tdev_connect(s) ||
	    !IT_ASSERT(itest_raw_open(&r, srv_bd.port, itest.pki, RCV,
	    IT_WAIT_MS) == 0, "raw TLS: %s", r.why) ||
	    !IT_ASSERT(itest_raw_login(&r, RCV, IT_WAIT_MS) == 0, "login: %s",
	    r.why))
		goto out;
	all[0] = s->n;
	for (int i = 0; i < 600; i++)
		if (!tdev_send(s, all, 1, RCV, 0, 0))
			goto out;
	(void)itest_pump(all, 1, 500, NULL, NULL);
	total = first = raw_drain(&r, &lf, &ls, &last_k, &unordered);
	IT_ASSERT(first == 256, "a device that does not confirm: %u messages "
	    "on its link (bound 256)", first);
	/* Confirm what came, as libnap does: the rest follows in turns. */
	while (total < 600 && turns++ < 20) {
		snprintf(ack, sizeof(ack), "<ack from=\"%08X\" seq=\"%u\"/>", lf,
		    ls);
		if (itest_raw_msg(&r, 5, NULL, RCV, IT_DOMAIN, r.session, ack,
		    NULL) == -1)
			break;
		(void)itest_pump(all, 1, 50, NULL, NULL);
		total += raw_drain(&r, &lf, &ls, &last_k, &unordered);
	}
	IT_ASSERT(total == 600 && unordered == 0, "after confirmations: %u "
	    "of 600, %u out of order, in %u turns", total, unordered, turns);
out:
	itest_raw_close(&r);
	tdev_free(s);
}

static void
test_bd_stop(void)
{
	IT_ASSERT(itest_server_stop(&srv_bd) == 0, "SIGTERM: status 0");
}

/* ---- suite: one thread --------------------------------------------------- */

static struct itest_server srv_1t;
static char reg_1t[PATH_MAX];

static int
t1_init(void)
{
	const char *extra[] = { "--threads", "1", NULL };

	if (itest_registry_new("onethread", reg_1t, sizeof(reg_1t)) == -1)
		return -1;
	return itest_server_start(&srv_1t, "onethread", reg_1t, extra, false);
}

static int
t1_clean(void)
{
	if (srv_1t.pid > 0)
		(void)itest_server_kill(&srv_1t);
	return 0;
}

/*
 * §4 on one I/O thread: a second login with the same code closes the
 * first with 403, and what the first had not confirmed comes to the
 * second, before anything sent after.
 */
static void
test_replace_same_thread(void)
{
	struct tdev *s = tdev_new(SND, srv_1t.port, false);
	struct itest_raw a, b;
	struct itest_frame f;
	struct nap *all[1];
	uint32_t lf = 0, ls = 0;
	unsigned got_a, got_b = 0, uo = 0;
	long last_k = -1, k0;
	int code = 0;
	uint32_t seq = 1;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (!IT_ASSERT(s != NULL, "handle") || !tdev_connect(s) ||
	    !IT_ASSERT(itest_raw_open(&a, srv_1t.port, itest.pki, RCV,
	    IT_WAIT_MS) == 0 && itest_raw_login(&a, RCV, IT_WAIT_MS) == 0,
	    "first login: %s", a.why))
		goto out;
	all[0] = s->n;
	for (int i = 0; i < 20; i++)
		if (!tdev_send(s, all, 1, RCV, 0, 0))
			goto out;
	(void)itest_pump(all, 1, 300, NULL, NULL);
	got_a = raw_drain(&a, &lf, &ls, &last_k, &uo);
	if (!IT_ASSERT(itest_raw_open(&b, srv_1t.port, itest.pki, RCV,
	    IT_WAIT_MS) == 0 && itest_raw_login(&b, RCV, IT_WAIT_MS) == 0,
	    "second login: %s", b.why))
		goto out;
	if (itest_raw_expect(&a, 6, &f, IT_WAIT_MS, NULL) == IT_FRAME) {
		(void)itest_frame_error(&f, &code, &seq);
		itest_frame_free(&f);
	}
	IT_ASSERT(code == 403 && seq == 0, "the first link got Error %d "
	    "(seq %u), expected 403", code, seq);
	IT_ASSERT(itest_raw_wait_closed(&a, IT_WAIT_MS, NULL) == 0,
	    "the first link is closed");
	for (int i = 0; i < 5; i++)
		if (!tdev_send(s, all, 1, RCV, 0, 0))
			goto out;
	(void)itest_pump(all, 1, 300, NULL, NULL);
	k0 = last_k;
	last_k = -1;
	uo = 0;
	got_b = raw_drain(&b, &lf, &ls, &last_k, &uo);
	IT_ASSERT(got_a == 20 && got_b == 25 && uo == 0, "the first link got "
	    "%u of 20 (last k %ld) and confirmed none; the second got %u "
	    "(the 20 again, then 5 more), %u out of order", got_a, k0, got_b,
	    uo);
out:
	itest_raw_close(&a);
	itest_raw_close(&b);
	tdev_free(s);
}

static void
test_1t_stop(void)
{
	IT_ASSERT(itest_server_stop(&srv_1t) == 0, "SIGTERM: status 0");
}

/* ---- suite: audit -------------------------------------------------- */

static struct itest_server srv_au;
static char reg_au[PATH_MAX], log_au[PATH_MAX];

static int
au_init(void)
{
	const char *extra[] = { "--audit", log_au, "--audit-instance", "d1",
	    NULL };

	itest_fmt(log_au, sizeof(log_au), "%s/daudit.log", itest.work);
	if (itest_registry_new("audit", reg_au, sizeof(reg_au)) == -1)
		return -1;
	return itest_server_start(&srv_au, "audit", reg_au, extra, false);
}

static int
au_clean(void)
{
	if (srv_au.pid > 0)
		(void)itest_server_kill(&srv_au);
	return 0;
}

/* The output of nap-audit with these arguments (NULL on failure). */
static char *
audit_out(const char *args)
{
	char cmd[PATH_MAX * 3], *buf;
	size_t n = 0, cap = 1 << 20;
	FILE *f;

	itest_fmt(cmd, sizeof(cmd), "%s/tools/nap-audit %s 2>/dev/null",
	    itest.build, args);
	if ((buf = calloc(1, cap)) == NULL || (f = popen(cmd, "r")) == NULL) {
		free(buf);
		return NULL;
	}
	while (n + 1 < cap && fgets(buf + n, (int)(cap - n), f) != NULL)
		n += strlen(buf + n);
	pclose(f);
	return buf;
}

/*
 * §8 in nap-domain: one message stored for an offline device, then
 * delivered and confirmed, leaves routed, stored, delivered and
 * confirmed records, chained; an edited byte breaks the chain.
 */
static void
test_audit_trail(void)
{
	struct tdev *s = tdev_new(SND, srv_au.port, false), *r = NULL;
	struct nap *all[2] = { NULL, NULL };
	struct want w = { s, 1 };
	char args[PATH_MAX * 2], copy[PATH_MAX], *out = NULL;
	const char *vargv[4];
	FILE *f;
	int c;

	if (!IT_ASSERT(s != NULL, "handle") || !tdev_connect(s))
		goto out;
	all[0] = s->n;
	if (!tdev_send(s, all, 1, RCV, NAP_ACK, 0))
		goto out;
	(void)itest_pump(all, 1, itest_ms(10000), stored_n, &w);
	if ((r = tdev_new(RCV, srv_au.port, false)) == NULL ||
	    !tdev_connect(r))
		goto out;
	all[1] = r->n;
	(void)itest_pump(all, 2, itest_ms(10000), delivered_n, &w);
	if (!IT_ASSERT(s->stored == 1 && s->delivered == 1, "receipts: %u "
	    "stored, %u delivered", s->stored, s->delivered))
		goto out;
	tdev_free(r);
	r = NULL;
	if (!IT_ASSERT(itest_server_stop(&srv_au) == 0, "SIGTERM: status 0"))
		goto out;
	itest_fmt(args, sizeof(args), "trace --from %08X --seq %u %s", SND,
	    s->seq[0], log_au);
	out = audit_out(args);
	IT_ASSERT(out != NULL && strstr(out, " routed") != NULL &&
	    strstr(out, " stored") != NULL && strstr(out, " delivered") !=
	    NULL && strstr(out, " confirmed") != NULL, "records of the "
	    "message: %s", out ? out : "(none)");
	vargv[0] = args;
	itest_fmt(args, sizeof(args), "%s/tools/nap-audit", itest.build);
	vargv[1] = "verify";
	vargv[2] = log_au;
	vargv[3] = NULL;
	IT_ASSERT(itest_run(vargv) == 0, "nap-audit verify: the chain holds");
	/* One byte edited in a copy: verify names it and exits 1. */
	itest_fmt(copy, sizeof(copy), "%s.edited", log_au);
	{
		const char *cp[] = { "cp", log_au, copy, NULL };

		(void)itest_run(cp);
	}
	if ((f = fopen(copy, "r+")) != NULL) {
		(void)fseek(f, 300, SEEK_SET);
		c = fgetc(f);
		(void)fseek(f, 300, SEEK_SET);
		(void)fputc(c == 'A' ? 'B' : 'A', f);
		fclose(f);
	}
	vargv[2] = copy;
	IT_ASSERT(itest_run(vargv) == 1, "nap-audit verify of an edited copy "
	    "exits 1");
out:
	free(out);
	tdev_free(s);
	tdev_free(r);
}

/* ---- suite: samples ------------------------------------------------ */

/* etc/NAME.conf, with the run's PKI and a registry, passes PROG -n. */
static int
sample_ok(const char *name, const char *prog, const char *reg)
{
	char cmd[PATH_MAX * 6];
	const char *argv[] = { "sh", "-c", cmd, NULL };

	itest_fmt(cmd, sizeof(cmd), "sed -e 's|/etc/nap/pki/00010000|%s/"
	    "00010000|; s|/etc/nap/pki/00000000|%s/00000000|; s|/etc/nap/pki/|"
	    "%s/|; s|/var/lib/nap/registry.db|%s|; s|^pid-file.*||' "
	    "%s/etc/%s.conf > %s/%s.conf && %s -n -f %s/%s.conf", itest.pki,
	    itest.pki, itest.pki, reg, itest.src, name, itest.work, name,
	    prog, itest.work, name);
	return itest_run(argv);
}

/* The sample configurations are valid for the servers that read them. */
static void
test_samples(void)
{
	char reg[PATH_MAX], dom[PATH_MAX], plat[PATH_MAX];

	if (!IT_ASSERT(itest_platform_init() == 0, "the platform's "
	    "certificate") || itest_registry_new("samples", reg, sizeof(reg))
	    == -1)
		return;
	itest_fmt(dom, sizeof(dom), "%s/domain/nap-domain", itest.build);
	itest_fmt(plat, sizeof(plat), "%s/platform/nap-platform", itest.build);
	IT_ASSERT(sample_ok("nap-domain", dom, reg) == 0, "etc/nap-domain.conf "
	    "passes nap-domain -n (see the commands log)");
	IT_ASSERT(sample_ok("nap-platform", plat, reg) == 0,
	    "etc/nap-platform.conf passes nap-platform -n");
}

/* The first len - 1 bytes of file path, NUL-terminated, in buf: its
 * length, or -1. */
static long
bench_out(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (long)n;
}

/*
 * nap-bench against a real domain: every message arrives (exit 0); then
 * its --json object holds the figures, the server PID's among them.
 */
static void
test_nap_bench(void)
{
	struct itest_server srv;
	char reg[PATH_MAX], bin[PATH_MAX], server[32], pid[16], out[PATH_MAX];
	char buf[4096], want[64];
	const char *argv[] = { bin, "-s", server, "-d", itest.pki, "-n", "20",
	    "-m", "50", "-D", "60", NULL };
	const char *json[] = { bin, "-s", server, "-d", itest.pki, "-n", "20",
	    "-m", "50", "-D", "60", "--json", "-q", "--pid", pid, NULL };
	int rc;

	memset(&srv, 0, sizeof(srv));
	if (itest_registry_new("bench", reg, sizeof(reg)) == -1 ||
	    !IT_ASSERT(itest_server_start(&srv, "bench", reg, NULL, false) ==
	    0, "nap-domain starts"))
		return;
	itest_fmt(bin, sizeof(bin), "%s/tools/nap-bench", itest.build);
	itest_fmt(server, sizeof(server), "127.0.0.1:%d", srv.port);
	itest_fmt(pid, sizeof(pid), "%ld", (long)srv.pid);
	itest_fmt(out, sizeof(out), "%s/bench.json", itest.work);
	rc = itest_run(argv);
	IT_ASSERT(rc == 0, "nap-bench -n 20 -m 50: exit %d (its line is in "
	    "the commands log)", rc);
	(void)remove(out);
	rc = itest_run_out(json, out);
	IT_ASSERT(rc == 0, "nap-bench --json: exit %d (see %s)", rc, out);
	if (IT_ASSERT(bench_out(out, buf, sizeof(buf)) > 0, "%s", out)) {
		itest_fmt(want, sizeof(want), "\"pids\":[{\"pid\":%s,", pid);
		IT_ASSERT(buf[0] == '{' && strchr(buf, '\n') ==
		    buf + strlen(buf) - 1 && buf[strlen(buf) - 2] == '}',
		    "one JSON object on one line: %s", buf);
		IT_ASSERT(strstr(buf, "\"mode\":\"closed\"") != NULL &&
		    strstr(buf, "\"received\":1000,") != NULL &&
		    strstr(buf, "\"lost\":0,") != NULL &&
		    strstr(buf, "\"latency_ms\":{\"p50\":") != NULL,
		    "the counts: %s", buf);
		IT_ASSERT(strstr(buf, want) != NULL && strstr(buf,
		    "\"readable\":true") != NULL, "the server's figures: %s",
		    buf);
	}
	IT_ASSERT(itest_server_stop(&srv) == 0, "SIGTERM: status 0");
}

/*
 * nap-bench --idle: 5 devices, each from its own source address
 * (--spread), held 4 s by a domain whose heartbeat times a silent link
 * out after 2 s: only libnap's heartbeats keep them; the server's VmRSS
 * before and after is reported.
 */
static void
test_nap_bench_idle(void)
{
	struct itest_server srv;
	char reg[PATH_MAX], bin[PATH_MAX], server[32], pid[16], out[PATH_MAX];
	char buf[4096];
	const char *hb[] = { "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "2", NULL };
	const char *argv[] = { bin, "--idle", "--duration", "4", "--spread",
	    "-s", server, "-d", itest.pki, "-n", "5", "--json", "-q", "--pid",
	    pid, NULL };
	int rc;

	memset(&srv, 0, sizeof(srv));
	if (itest_registry_new("bench-idle", reg, sizeof(reg)) == -1 ||
	    !IT_ASSERT(itest_server_start(&srv, "bench-idle", reg, hb, false)
	    == 0, "nap-domain starts"))
		return;
	itest_fmt(bin, sizeof(bin), "%s/tools/nap-bench", itest.build);
	itest_fmt(server, sizeof(server), "127.0.0.1:%d", srv.port);
	itest_fmt(pid, sizeof(pid), "%ld", (long)srv.pid);
	itest_fmt(out, sizeof(out), "%s/bench-idle.json", itest.work);
	(void)remove(out);
	rc = itest_run_out(argv, out);
	IT_ASSERT(rc == 0, "nap-bench --idle: exit %d (see %s)", rc, out);
	if (IT_ASSERT(bench_out(out, buf, sizeof(buf)) > 0, "%s", out)) {
		IT_ASSERT(strstr(buf, "\"mode\":\"idle\"") != NULL &&
		    strstr(buf, "\"online\":5,\"closed\":0,") != NULL &&
		    strstr(buf, "\"sent\":0,") != NULL &&
		    strstr(buf, "\"spread\":true") != NULL,
		    "5 held, nothing sent: %s", buf);
		IT_ASSERT(strstr(buf, "\"rss0_kb\":0,") == NULL &&
		    strstr(buf, "\"readable\":true") != NULL &&
		    strstr(buf, "\"kb_per_device\":") != NULL,
		    "the server's VmRSS before and after: %s", buf);
	}
	IT_ASSERT(itest_server_stop(&srv) == 0, "SIGTERM: status 0");
}

void
init_store_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("store: offline devices", st_init, st_clean);
	CU_add_test(s, "10000 messages to an offline device: all, in order, "
	    "once", test_offline_10000);
	CU_add_test(s, "stored then delivered receipts, also to an offline "
	    "sender", test_receipts_offline_sender);
	CU_add_test(s, "TTL: 408 from the store, TTL 0 never stored",
	    test_ttl);
	CU_add_test(s, "link cut mid-stream: the rest at next login, once, "
	    "in order", test_midstream);
	CU_add_test(s, "SIGTERM: exit status 0", test_st_stop);
	s = CU_add_suite("store: quota", q_init, q_clean);
	CU_add_test(s, "a full device quota answers 507", test_quota);
	CU_add_test(s, "SIGTERM: exit status 0", test_q_stop);
	s = CU_add_suite("store: crash", cr_init, cr_clean);
	CU_add_test(s, "kill -9 under Ack traffic: nothing acknowledged lost, "
	    "nothing twice", test_crash);
	CU_add_test(s, "SIGTERM: exit status 0", test_cr_stop);
	s = CU_add_suite("store: bound", bd_init, bd_clean);
	CU_add_test(s, "a device that never confirms holds 256; the rest "
	    "waits in the store", test_bound);
	CU_add_test(s, "SIGTERM: exit status 0", test_bd_stop);
	s = CU_add_suite("store: one thread", t1_init, t1_clean);
	CU_add_test(s, "a second login on the same thread replaces the first; "
	    "its unconfirmed come first", test_replace_same_thread);
	CU_add_test(s, "SIGTERM: exit status 0", test_1t_stop);
	s = CU_add_suite("tools", NULL, NULL);
	CU_add_test(s, "etc/*.conf pass the servers' -n", test_samples);
	CU_add_test(s, "nap-bench: 20 devices x 50 messages, all arrive; "
	    "--json", test_nap_bench);
	CU_add_test(s, "nap-bench --idle --spread: heartbeats hold 5 links "
	    "past the timeout", test_nap_bench_idle);
	s = CU_add_suite("store: audit", au_init, au_clean);
	CU_add_test(s, "a stored message's audit trail, chained",
	    test_audit_trail);
}
