/*
 * test_federation.c - integration tests of a whole federation (DESIGN.md
 * §5 "Between domains", RouteUpdate, failover, holds): real
 * nap-platform and nap-domain processes on 127.0.0.1, the domains of
 * regions 0001 and 0002 linked by their uplinks, libnap devices on both
 * sides.
 *
 * Suites:
 *   one platform          messages cross both ways in order, once, all
 *                         delivered; 503 for a region never up; 404 and
 *                         403 from the destination domain; Locate across
 *                         domains
 *   two platforms         kill -9 of the platform that carries the
 *                         traffic: every message ends delivered, none
 *                         twice; the platform restarts on its port, the
 *                         domains log in again and carry the traffic
 *                         when the other one dies
 *   destination restart   the destination domain stops (SIGTERM) and
 *                         later crashes (kill -9) under traffic: what is
 *                         sent meanwhile is held at the source domain and
 *                         arrives once, in order, after the restart; a
 *                         crash with messages queued to a device that
 *                         does not read loses none of them
 *
 * The spoof of a From by a domain at the platform is tested by the
 * platform suite (test_platform.c, test_spoof).  Figures (failover time,
 * counts) are printed, never asserted.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_federation_tests(void);

#define CONNECT_MS	((unsigned)itest_ms(20000))
#define NPAIR		4		/* device pairs 0001000i <-> 0002000i */
#define NDEV		(2 * NPAIR)
#define MAXK		4000		/* messages one device sends, at most */
#define DONE_MS		itest_ms(90000)	/* all receipts of a test */
#define UPLINK_MS	itest_ms(30000)	/* an uplink logs in (backoff 5 s) */
#define PROBES		60		/* tries before messages cross */
#define REGISTERED_OFF	IT_DEV2N(IT_NDEV2)	/* 00020010: never online */
#define UNREG2		0x000200FFu	/* region 0002, not registered */
#define DISABLED2	0x000200C9u	/* region 0002, disabled */
#define REGION3_DEV	0x00030001u	/* region 0003: never up */

struct test_entry {
	const char	*name;
	CU_TestFunc	 fn;
};

/*
 * One device: what it received from its peer (type 1000, payload
 * <n k=""/>), and the receipts of what it sent to its peer by message
 * number k.  Other sends (probes, Locates, refusals) use x*.
 */
struct fdev {
	struct nap	*n;
	uint32_t	 code, peer;
	/* receiving from peer */
	uint8_t		 cnt[MAXK];	/* times k reached the application */
	int64_t		 rtime[MAXK];	/* ms when k first arrived */
	long		 last_k;
	unsigned	 dups, unordered, other;
	long		 ooo_k, ooo_after;	/* the first out of order */
	char		 via[96];	/* Via of the first one received */
	/* sending to peer */
	uint32_t	 seq[MAXK];	/* Seq of message k */
	int64_t		 stime[MAXK];	/* ms when k was queued */
	unsigned	 sent;
	uint8_t		 n_stored[MAXK], n_dlv[MAXK], n_err[MAXK];
	int		 err[MAXK];	/* the last Error code of k */
	unsigned	 stored, delivered, errors, unknown, stray;
	/* one other message at a time */
	uint32_t	 xseq;
	bool		 xdone;
	int		 xstatus, xcode;
	uint32_t	 xfrom;
	struct nap_msg	*loc;		/* a LocateReply echoing xseq */
	unsigned	 online, downs;
};

/* The servers and devices of the running suite. */
static struct itest_server P1, P2, D1, D2;
static char reg1[PATH_MAX], reg2[PATH_MAX];
static struct fdev *dev[NDEV];		/* A_i = dev[i], B_i = dev[NPAIR+i] */
static struct nap *handles[NDEV];
static bool crossed;			/* the probes went through */

static int64_t	now_ms(void);
static long	k_of_seq(const struct fdev *, uint32_t);
static void	f_msg_cb(struct nap *, const struct nap_msg *, void *);
static void	f_rcpt_cb(struct nap *, const struct nap_receipt *, void *);
static void	f_state_cb(struct nap *, enum nap_state, int, void *);
static struct fdev *fdev_new(uint32_t, uint32_t, int, bool);
static void	fdev_free(struct fdev *);
static bool	devs_start(bool);
static void	devs_free(void);
static void	pump(int);
static bool	x_send(struct fdev *, uint32_t, uint32_t, const char *, int);
static bool	x_done(void *);
static bool	x_wait(struct fdev *);
static bool	probe(struct fdev *, uint32_t);
static bool	send_params(struct fdev *, const char *);
static bool	send_k(struct fdev *);
static bool	send_round(bool, bool);
static bool	all_final(void *);
static void	check_traffic(const char *, unsigned *, unsigned *, bool,
		    bool, bool);
static bool	pump_until(bool (*)(void *), int);
static bool	all_arrived(void *);
static void	print_counts(const char *);
static bool	wait_exit(struct itest_server *, int *);
static bool	wait_logins(struct itest_server *, long, const char *);
static void	stop_all(void);
static int	fed_clean(void);
static void	add_suite(const char *, CU_InitializeFunc,
		    const struct test_entry *, size_t);
static void	domain_extra(const char **, char [][32], int, int,
		    const char *, int);
static int	domains_start(const char *, int, int);
static int	domain_restart(struct itest_server *, uint32_t, int, int,
		    const char *);
static int	platform_start(struct itest_server *, const char *, int);
static void	expect_refusal(struct fdev *, uint32_t, int, uint32_t,
		    const char *);
static bool	locate(struct fdev *, const char *, int *);
static void	loc_attr(struct fdev *, const char *, char *, size_t);
static void	failover(struct itest_server *, int, int, int, const char *);
static bool	b_online(void *);
static void	dst_restart(bool, int, int, int, const char *);
static bool	send_big(struct fdev *, char *, size_t);
static int	one_init(void);
static int	two_init(void);
static int	dst_init(void);
static void	test_cross(void);
static void	test_burst(void);
static void	test_via(void);
static void	test_never_up(void);
static void	test_remote_refusals(void);
static void	test_locate(void);
static void	test_stop_all(void);
static void	test_cross_p1(void);
static void	test_p2_back(void);
static void	test_kill_p1(void);
static void	test_p1_back(void);
static void	test_kill_p2(void);
static void	test_dst_sigterm(void);
static void	test_dst_crash(void);
static void	test_dst_crash_unread(void);

/* ---- devices ---------------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The k of a Seq this device sent to its peer, or -1 (searched from the
 * newest: receipts come mostly in order). */
static long
k_of_seq(const struct fdev *d, uint32_t seq)
{
	for (long k = (long)d->sent - 1; k >= 0; k--)
		if (d->seq[k] == seq)
			return k;
	return -1;
}

static void
f_msg_cb(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct fdev *d = arg;
	const uint8_t *raw;
	char *ks;
	size_t len;
	long k;

	(void)n;
	if (nap_msg_type(m) == 31 && nap_msg_seq(m) == d->xseq &&
	    d->loc == NULL) {
		d->loc = nap_msg_dup(m);
		d->xdone = true;
		return;
	}
	if (nap_msg_type(m) != 1000 || nap_msg_from(m) != d->peer ||
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
	d->rtime[k] = now_ms();
	if (k <= d->last_k && d->unordered++ == 0) {
		d->ooo_k = k;
		d->ooo_after = d->last_k;
	}
	d->last_k = k;
	if (d->via[0] == '\0' && (raw = nap_msg_raw(m, &len)) != NULL) {
		size_t i, j;

		snprintf(d->via, sizeof(d->via), "(none)");
		for (i = 0; i + 5 <= len; i++)
			if (memcmp(raw + i, "Via=\"", 5) == 0)
				break;
		for (j = i + 5; j < len && raw[j] != '"'; j++)
			;
		if (i + 5 <= len && j < len)
			snprintf(d->via, sizeof(d->via), "%.*s",
			    (int)(j - i - 5), (const char *)raw + i + 5);
	}
}

static void
f_rcpt_cb(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct fdev *d = arg;
	long k;

	if (r->status == NAP_RCPT_UNKNOWN && getenv("ITEST_DEBUG") != NULL)
		fprintf(stderr, "%lld %08X: receipt unknown for Seq %u to "
		    "%08X session %s (state %d)\n", (long long)now_ms(),
		    d->code, r->seq, r->to, r->session, (int)nap_state(n));
	if (r->seq == d->xseq && d->xseq != 0) {
		if (r->status == NAP_RCPT_STORED)
			return;		/* not the outcome yet */
		d->xstatus = (int)r->status;
		d->xcode = r->code;
		d->xfrom = r->from;
		d->xdone = true;
		return;
	}
	(void)n;
	if ((k = k_of_seq(d, r->seq)) < 0) {
		d->stray++;
		return;
	}
	switch (r->status) {
	case NAP_RCPT_STORED:
		d->stored++;
		d->n_stored[k]++;
		break;
	case NAP_RCPT_DELIVERED:
		d->delivered++;
		d->n_dlv[k]++;
		break;
	case NAP_RCPT_ERROR:
		d->errors++;
		d->n_err[k]++;
		d->err[k] = r->code;
		break;
	case NAP_RCPT_UNKNOWN:
		d->unknown++;
		break;
	}
}

static void
f_state_cb(struct nap *n, enum nap_state st, int err, void *arg)
{
	struct fdev *d = arg;

	if (getenv("ITEST_DEBUG") != NULL)
		fprintf(stderr, "%lld %08X: state %d err %d (%s)\n",
		    (long long)now_ms(), d->code, (int)st, err,
		    nap_errmsg(n));
	if (st == NAP_ST_ONLINE)
		d->online++;
	else if (st == NAP_ST_BACKOFF || st == NAP_ST_CLOSED)
		d->downs++;
}

static struct fdev *
fdev_new(uint32_t code, uint32_t peer, int port, bool reconnect)
{
	struct fdev *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->n = itest_nap_new(code, itest.pki, port,
	    CONNECT_MS)) == NULL) {
		free(d);
		return NULL;
	}
	d->code = code;
	d->peer = peer;
	d->last_k = -1;
	nap_set_msg_cb(d->n, f_msg_cb, d);
	nap_set_receipt_cb(d->n, f_rcpt_cb, d);
	nap_set_state_cb(d->n, f_state_cb, d);
	if (reconnect)
		(void)nap_set_reconnect(d->n, true, 50, 500);
	return d;
}

static void
fdev_free(struct fdev *d)
{
	if (d == NULL)
		return;
	if (nap_state(d->n) == NAP_ST_ONLINE)
		(void)nap_close(d->n, itest_ms(2000));
	nap_free(d->n);
	nap_msg_free(d->loc);
	free(d);
}

/* A_i = 0001000i on D1, B_i = 0002000i on D2 (i in 1..NPAIR), peers of
 * each other, connected.  The B side reconnects when told. */
static bool
devs_start(bool b_reconnect)
{
	for (int i = 0; i < NPAIR; i++) {
		dev[i] = fdev_new(IT_DEV(i + 1), IT_DEV2N(i + 1), D1.port,
		    false);
		dev[NPAIR + i] = fdev_new(IT_DEV2N(i + 1), IT_DEV(i + 1),
		    D2.port, b_reconnect);
		if (dev[i] == NULL || dev[NPAIR + i] == NULL)
			return false;
	}
	for (int i = 0; i < NDEV; i++) {
		int rc = nap_connect(dev[i]->n);

		handles[i] = dev[i]->n;
		if (rc != 0) {
			fprintf(stderr, "integration: %08X connect: %d (%s)\n",
			    dev[i]->code, rc, nap_errmsg(dev[i]->n));
			return false;
		}
	}
	return true;
}

static void
devs_free(void)
{
	for (int i = 0; i < NDEV; i++) {
		fdev_free(dev[i]);
		dev[i] = NULL;
		handles[i] = NULL;
	}
}

/* Runs every device for ms (heartbeats, receipts, confirmations). */
static void
pump(int ms)
{
	(void)itest_pump(handles, NDEV, ms, NULL, NULL);
}

/* ---- other messages: probes, refusals, Locate ------------------------- */

/* Sends one message outside the numbered traffic; its outcome in x*. */
static bool
x_send(struct fdev *d, uint32_t type, uint32_t to, const char *params,
    int flags)
{
	int rc;

	d->xdone = false;
	d->xstatus = d->xcode = 0;
	d->xfrom = 0;
	nap_msg_free(d->loc);
	d->loc = NULL;
	rc = nap_send(d->n, type, to, params, params ? strlen(params) : 0,
	    flags, &d->xseq);
	return IT_ASSERT(rc == 0, "%08X: send type %u to %08X: %d (%s)",
	    d->code, type, to, rc, nap_errmsg(d->n));
}

static bool
x_done(void *arg)
{
	return ((struct fdev *)arg)->xdone;
}

/* Pumps (bounded) until the other message's outcome arrived. */
static bool
x_wait(struct fdev *d)
{
	int64_t end = now_ms() + IT_WAIT_MS;

	for (int64_t left; (left = end - now_ms()) > 0;)
		if (itest_pump(handles, NDEV, left > 1000 ? 1000 : (int)left,
		    x_done, d))
			return true;
	return d->xdone;
}

/*
 * Sends probes with Ack="1" until one is delivered (bounded: PROBES
 * tries): the uplinks need a moment to log in and hear the other region
 * is up; until then the source domain answers 503.
 */
static bool
probe(struct fdev *d, uint32_t to)
{
	int last = 0;

	for (int i = 0; i < PROBES; i++) {
		if (!x_send(d, 1001, to, "<probe/>", NAP_ACK))
			return false;
		if (!x_wait(d))
			return IT_FAIL("%08X -> %08X: no receipt for a probe "
			    "in %d ms", d->code, to, IT_WAIT_MS);
		if (d->xstatus == NAP_RCPT_DELIVERED)
			return true;
		last = d->xstatus == NAP_RCPT_ERROR ? d->xcode : -d->xstatus;
		if (last != 503)
			break;
		pump(itest_ms(500));
	}
	return IT_FAIL("%08X -> %08X: a probe never crossed (last outcome "
	    "%d: an Error code, or minus a receipt status)", d->code, to,
	    last);
}

/* ---- numbered traffic ----------------------------------------------- */

/* Queues message k = d->sent, parameters p, to the peer with Ack="1". */
static bool
send_params(struct fdev *d, const char *p)
{
	int rc = NAP_E_AGAIN;

	if (!IT_ASSERT(d->sent < MAXK, "test bug: more than %d messages",
	    MAXK))
		return false;
	for (int tries = 0; tries < 2000 && rc == NAP_E_AGAIN; tries++)
		if ((rc = nap_send(d->n, 1000, d->peer, p, strlen(p), NAP_ACK,
		    &d->seq[d->sent])) == NAP_E_AGAIN)
			pump(20);
	if (!IT_ASSERT(rc == 0, "%08X: send %u: %d (%s)", d->code, d->sent,
	    rc, nap_errmsg(d->n)))
		return false;
	d->stime[d->sent] = now_ms();
	d->sent++;
	return true;
}

/* Message k = d->sent: <n k="k"/>. */
static bool
send_k(struct fdev *d)
{
	char p[64];

	snprintf(p, sizeof(p), "<n k=\"%u\"/>", d->sent);
	return send_params(d, p);
}

/* One message from every device of the sides asked. */
static bool
send_round(bool a_side, bool b_side)
{
	for (int i = 0; i < NDEV; i++)
		if ((i < NPAIR ? a_side : b_side) && !send_k(dev[i]))
			return false;
	return true;
}

/*
 * itest_pump() until done holds, at most ms in all (itest_pump also
 * bounds its turns, which a handle whose timer is always due uses up
 * early: hence the slices).
 */
static bool
pump_until(bool (*done)(void *), int ms)
{
	int64_t end = now_ms() + ms;

	for (int64_t left; (left = end - now_ms()) > 0;)
		if (itest_pump(handles, NDEV, left > 1000 ? 1000 : (int)left,
		    done, NULL))
			return true;
	return done(NULL);
}

/* Every message sent arrived or got an Error. */
static bool
all_arrived(void *arg)
{
	(void)arg;
	for (int i = 0; i < NDEV; i++) {
		struct fdev *s = dev[i], *r = dev[(i + NPAIR) % NDEV];

		for (unsigned k = 0; k < s->sent; k++)
			if (s->n_err[k] == 0 && r->cnt[k] == 0)
				return false;
	}
	return true;
}

/* Every message sent has its outcome (delivered or an Error) and every
 * delivered one reached its receiver. */
static bool
all_final(void *arg)
{
	(void)arg;
	for (int i = 0; i < NDEV; i++) {
		struct fdev *s = dev[i], *r = dev[(i + NPAIR) % NDEV];

		for (unsigned k = 0; k < s->sent; k++)
			if ((s->n_dlv[k] == 0 && s->n_err[k] == 0) ||
			    (s->n_dlv[k] != 0 && r->cnt[k] == 0))
				return false;
	}
	return true;
}

/*
 * The checks of §5 on every pair, messages from *k0 (per device) to what
 * it sent: each reached the application once, in order, and got
 * delivered (or, errors_ok, an Error and did not arrive); the receiving
 * libnap dropped no duplicate (the destination domain did), unless
 * dups_ok.  Moves *k0 to the end.  nrecv/nerr: totals.
 */
static void
check_traffic(const char *what, unsigned *k0, unsigned *nerr, bool errors_ok,
    bool dups_ok, bool need_dlv)
{
	struct nap_stats st;

	for (int i = 0; i < NDEV; i++) {
		struct fdev *s = dev[i], *r = dev[(i + NPAIR) % NDEV];
		unsigned missing = 0, twice = 0, nodlv = 0, errd = 0;
		unsigned both = 0, rtwice = 0;
		long first_missing = -1, first_nodlv = -1;

		for (unsigned k = k0[i]; k < s->sent; k++) {
			if (r->cnt[k] > 1)
				twice++;
			if (s->n_dlv[k] > 1)
				rtwice++;
			if (s->n_err[k] != 0) {
				errd++;
				if (r->cnt[k] != 0)
					both++;
				continue;
			}
			if (r->cnt[k] == 0 && missing++ == 0)
				first_missing = (long)k;
			if (s->n_dlv[k] == 0 && nodlv++ == 0)
				first_nodlv = (long)k;
		}
		nap_get_stats(r->n, &st);
		IT_ASSERT(missing == 0, "%s: %08X -> %08X: %u of %u messages "
		    "never arrived (first k=%ld)", what, s->code, r->code,
		    missing, s->sent - k0[i], first_missing);
		if (need_dlv)
			IT_ASSERT(nodlv == 0, "%s: %08X -> %08X: %u of %u "
			    "messages got no delivered receipt (first k=%ld)",
			    what, s->code, r->code, nodlv, s->sent - k0[i],
			    first_nodlv);
		else if (nodlv != 0)
			printf("\n    %s: %08X -> %08X: %u of %u messages got "
			    "no delivered receipt (first k=%ld) ", what,
			    s->code, r->code, nodlv, s->sent - k0[i],
			    first_nodlv);
		IT_ASSERT(twice == 0 && r->dups == 0, "%s: %08X -> %08X: %u "
		    "messages reached the application twice", what, s->code,
		    r->code, twice);
		IT_ASSERT(r->unordered == 0, "%s: %08X -> %08X: %u messages "
		    "out of order (the first: k=%ld after k=%ld)", what,
		    s->code, r->code, r->unordered, r->ooo_k, r->ooo_after);
		IT_ASSERT(errors_ok || errd == 0, "%s: %08X -> %08X: %u "
		    "Error receipts (last code %d)", what, s->code, r->code,
		    errd, s->errors ? s->err[s->sent - 1] : 0);
		IT_ASSERT(both == 0, "%s: %08X -> %08X: %u messages got an "
		    "Error and arrived too", what, s->code, r->code, both);
		IT_ASSERT(s->unknown == 0 || !need_dlv, "%s: %08X: %u "
		    "receipts unknown", what, s->code, s->unknown);
		IT_ASSERT(dups_ok || st.duplicates == 0, "%s: the destination "
		    "domain passed %llu duplicates to %08X (its libnap "
		    "dropped them)", what, (unsigned long long)st.duplicates,
		    r->code);
		if (rtwice != 0)
			printf("\n    %s: %08X got %u delivered receipts twice ",
			    what, s->code, rtwice);
		*nerr += errd;
		k0[i] = s->sent;
	}
}

static void
print_counts(const char *what)
{
	unsigned sent = 0, stored = 0, dlv = 0, err = 0, stray = 0;
	unsigned long long dupd = 0;
	struct nap_stats st;

	for (int i = 0; i < NDEV; i++) {
		sent += dev[i]->sent;
		stored += dev[i]->stored;
		dlv += dev[i]->delivered;
		err += dev[i]->errors;
		stray += dev[i]->stray;
		nap_get_stats(dev[i]->n, &st);
		dupd += st.duplicates;
	}
	printf("\n    %s: sent %u, receipts stored %u delivered %u error %u "
	    "stray %u; duplicates dropped by libnap %llu ", what, sent, stored,
	    dlv, err, stray, dupd);
}

/* ---- servers ------------------------------------------------------------ */

/* Waits (bounded) for a SIGTERMed or killed server while the devices
 * run; its exit status in *st. */
static bool
wait_exit(struct itest_server *s, int *st)
{
	int64_t end = now_ms() + itest_ms(20000);

	*st = -1;
	while (now_ms() < end) {
		if ((*st = itest_server_wait(s, 0)) != -1)
			return true;
		pump(50);
	}
	return false;
}

/* Waits (bounded, devices running) until the platform's log, from
 * offset, shows the Login of both domains. */
static bool
wait_logins(struct itest_server *p, long offset, const char *what)
{
	int64_t end = now_ms() + UPLINK_MS;
	unsigned a = 0, b = 0;

	while (now_ms() < end) {
		a = itest_log_count(p, offset, "domain 00010000 logged in");
		b = itest_log_count(p, offset, "domain 00020000 logged in");
		if (a > 0 && b > 0)
			return true;
		pump(100);
	}
	return IT_FAIL("%s: %s log (%s) shows %u Login(s) of 00010000 and "
	    "%u of 00020000 in %d ms", what, p->name, p->log, a, b,
	    UPLINK_MS);
}

/* Closes the devices, then SIGTERM to every server: each exits 0. */
static void
stop_all(void)
{
	struct itest_server *s[] = { &D1, &D2, &P1, &P2 };
	int rc;

	devs_free();
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (s[i]->pid <= 0)
			continue;
		rc = itest_server_stop(s[i]);
		IT_ASSERT(rc == 0, "SIGTERM: %s expected exit status 0, got %d "
		    "(log %s)", s[i]->name, rc, s[i]->log);
	}
}

static int
fed_clean(void)
{
	struct itest_server *s[] = { &D1, &D2, &P1, &P2 };

	devs_free();
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i]->pid > 0)
			(void)itest_server_kill(s[i]);
	crossed = false;
	return 0;
}

/* The arguments of a domain (argv of 20 at least, a[] of 3 buffers):
 * heartbeat 1 s / hb_timeout s, log level info, an uplink to each
 * platform port given (0: none), the listening port when > 0. */
static void
domain_extra(const char **argv, char a[][32], int p1, int p2,
    const char *hb_timeout, int port)
{
	size_t n = 0;

	argv[n++] = "--heartbeat-interval";
	argv[n++] = "1";
	argv[n++] = "--heartbeat-timeout";
	argv[n++] = hb_timeout;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	if (port > 0) {
		argv[n++] = "--listen";
		argv[n++] = itest_fmt(a[0], 32, "127.0.0.1:%d", port);
	}
	if (p1 > 0) {
		argv[n++] = "--platform";
		argv[n++] = itest_fmt(a[1], 32, "127.0.0.1:%d", p1);
	}
	if (p2 > 0) {
		argv[n++] = "--platform";
		argv[n++] = itest_fmt(a[2], 32, "127.0.0.1:%d", p2);
	}
	argv[n] = NULL;
}

/*
 * Starts the domains D1 (0001) and D2 (0002) with an uplink to each
 * platform port given (0: none), heartbeat 1/3 s, fresh registries.
 */
static int
domains_start(const char *tag, int p1, int p2)
{
	char a[3][32], n1[64], n2[64];
	const char *extra[20];

	domain_extra(extra, a, p1, p2, "3", 0);
	itest_fmt(n1, sizeof(n1), "%s-d1", tag);
	itest_fmt(n2, sizeof(n2), "%s-d2", tag);
	if (itest_registry_new_region(n1, 0x0001, reg1, sizeof(reg1)) == -1 ||
	    itest_registry_new_region(n2, 0x0002, reg2, sizeof(reg2)) == -1 ||
	    itest_domain_start(&D1, n1, IT_DOMAIN, reg1, extra, false) == -1 ||
	    itest_domain_start(&D2, n2, IT_DOMAIN2, reg2, extra, false) == -1)
		return -1;
	return 0;
}

/* D (D1 or D2) again on its port, with its registry and store, and a
 * heartbeat timeout of hb_timeout seconds. */
static int
domain_restart(struct itest_server *d, uint32_t code, int p1, int p2,
    const char *hb_timeout)
{
	char a[3][32], name[64], reg[PATH_MAX];
	const char *extra[20];

	itest_fmt(name, sizeof(name), "%s", d->name);
	itest_fmt(reg, sizeof(reg), "%s", d->registry);
	domain_extra(extra, a, p1, p2, hb_timeout, d->port);
	return itest_domain_start(d, name, code, reg, extra, false);
}

/* A platform with heartbeat 1/3 s; port > 0: on that port again. */
static int
platform_start(struct itest_server *p, const char *name, int port)
{
	char lst[32];
	const char *extra[] = { "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "3", "--log-level", "info",
	    port > 0 ? "--listen" : NULL, port > 0 ? itest_fmt(lst,
	    sizeof(lst), "127.0.0.1:%d", port) : NULL, NULL };

	return itest_platform_start(p, name, extra, false);
}

/* ---- suite 1: one platform ------------------------------------------- */

static int
one_init(void)
{
	memset(&P2, 0, sizeof(P2));
	if (itest_fed_init() == -1 || platform_start(&P1, "fed1-p", 0) == -1 ||
	    domains_start("fed1", P1.port, 0) == -1 || !devs_start(false))
		return -1;
	return 0;
}

/* The uplinks log in and hear of the other region: probes cross. */
static void
test_cross(void)
{
	crossed = probe(dev[0], dev[0]->peer) && probe(dev[NPAIR],
	    dev[NPAIR]->peer);
	if (!crossed) {
		itest_server_dump(&D1);
		itest_server_dump(&D2);
	}
}

/* 200 messages each way per pair, sent in a burst. */
static void
test_burst(void)
{
	unsigned k0[NDEV] = { 0 }, nerr = 0;
	bool done;

	if (!crossed)
		return;
	for (int k = 0; k < 200; k++)
		if (!send_round(true, true))
			return;
	done = pump_until(all_final, DONE_MS);
	IT_ASSERT(done, "not every message got its outcome in %d ms",
	    DONE_MS);
	check_traffic("burst", k0, &nerr, false, false, true);
	print_counts("burst");
}

/* §3: the source domain, then the platform, stamped Via. */
static void
test_via(void)
{
	if (!crossed)
		return;
	for (int i = 0; i < NDEV; i++) {
		char want[32];

		itest_fmt(want, sizeof(want), "%08X 00000000", i < NPAIR ?
		    IT_DOMAIN2 : IT_DOMAIN);
		IT_ASSERT(strcmp(dev[i]->via, want) == 0, "%08X: Via of what "
		    "it received expected \"%s\", got \"%s\"", dev[i]->code,
		    want, dev[i]->via);
	}
}

/* Sends one message with Ack="1" and expects an Error code from. */
static void
expect_refusal(struct fdev *d, uint32_t to, int code, uint32_t from,
    const char *what)
{
	if (!x_send(d, 1000, to, "<x/>", NAP_ACK))
		return;
	if (!IT_ASSERT(x_wait(d), "%s: no receipt in %d ms", what,
	    IT_WAIT_MS))
		return;
	IT_ASSERT(d->xstatus == NAP_RCPT_ERROR && d->xcode == code &&
	    d->xfrom == from, "%s: expected Error %d from %08X, got status "
	    "%d code %d from %08X", what, code, from, d->xstatus, d->xcode,
	    d->xfrom);
}

/* §5.3: a region never up since the domain started: 503 at once. */
static void
test_never_up(void)
{
	if (!crossed)
		return;
	expect_refusal(dev[0], REGION3_DEV, 503, IT_DOMAIN,
	    "To a region never up");
	expect_refusal(dev[NPAIR], REGION3_DEV, 503, IT_DOMAIN2,
	    "To a region never up, from region 0002");
}

/* §5.1 at the destination domain; the Error travels back. */
static void
test_remote_refusals(void)
{
	if (!crossed)
		return;
	expect_refusal(dev[1], UNREG2, 404, IT_DOMAIN2,
	    "an unregistered device of region 0002");
	expect_refusal(dev[1], DISABLED2, 403, IT_DOMAIN2,
	    "a disabled device of region 0002");
	expect_refusal(dev[NPAIR + 1], 0x000100FFu, 404, IT_DOMAIN,
	    "an unregistered device of region 0001");
	/* The pair still talks afterwards. */
	IT_ASSERT(probe(dev[1], dev[1]->peer), "a probe after the refusals");
}

/* Sends Locate params To 00000000; *code: 0 and a LocateReply, or the
 * Error's code (-1: nothing). */
static bool
locate(struct fdev *d, const char *params, int *code)
{
	*code = -1;
	if (!x_send(d, 30, IT_PLATFORM, params, 0))
		return false;
	if (!IT_ASSERT(x_wait(d), "Locate %s: no answer in %d ms", params,
	    IT_WAIT_MS))
		return false;
	*code = d->loc != NULL ? 0 : d->xstatus == NAP_RCPT_ERROR ? d->xcode :
	    -1;
	return true;
}

/* The attribute of <location/> in the last LocateReply, or "". */
static void
loc_attr(struct fdev *d, const char *attr, char *buf, size_t len)
{
	char *v = d->loc ? nap_msg_param_attr(d->loc, "location", attr) :
	    NULL;

	snprintf(buf, len, "%s", v ? v : "");
	free(v);
}

/* §5 Locate: a code of another region is answered by its domain. */
static void
test_locate(void)
{
	char on[8], dom[16], addr[64], want[64], code[16];
	int rc;

	if (!crossed)
		return;
	itest_fmt(want, sizeof(want), "127.0.0.1:%d", D2.port);
	if (locate(dev[0], "<locate code=\"00020002\"/>", &rc) &&
	    IT_ASSERT(rc == 0, "Locate of online 00020002: expected a "
	    "LocateReply, got %d", rc)) {
		loc_attr(dev[0], "online", on, sizeof(on));
		loc_attr(dev[0], "domain", dom, sizeof(dom));
		loc_attr(dev[0], "address", addr, sizeof(addr));
		loc_attr(dev[0], "code", code, sizeof(code));
		IT_ASSERT(strcmp(on, "1") == 0 && strcmp(dom, "00020000") == 0 &&
		    strcmp(addr, want) == 0 && strcmp(code, "00020002") == 0 &&
		    nap_msg_from(dev[0]->loc) == IT_DOMAIN2, "Locate of online "
		    "00020002: expected code 00020002 domain 00020000 address "
		    "%s online 1 From 00020000, got code '%s' domain '%s' "
		    "address '%s' online '%s' From %08X", want, code, dom,
		    addr, on, nap_msg_from(dev[0]->loc));
	}
	if (locate(dev[0], "<locate code=\"00020010\"/>", &rc) &&
	    IT_ASSERT(rc == 0, "Locate of offline 00020010: expected a "
	    "LocateReply, got %d", rc)) {
		loc_attr(dev[0], "online", on, sizeof(on));
		IT_ASSERT(strcmp(on, "0") == 0, "Locate of registered, offline "
		    "00020010: expected online 0, got '%s'", on);
	}
	if (locate(dev[0], "<locate code=\"000200FF\"/>", &rc))
		IT_ASSERT(rc == 404, "Locate of unregistered 000200FF: "
		    "expected Error 404, got %d", rc);
	if (locate(dev[NPAIR], "<locate code=\"00010003\"/>", &rc) &&
	    IT_ASSERT(rc == 0, "Locate from region 0002 of 00010003: "
	    "expected a LocateReply, got %d", rc)) {
		loc_attr(dev[NPAIR], "online", on, sizeof(on));
		loc_attr(dev[NPAIR], "domain", dom, sizeof(dom));
		IT_ASSERT(strcmp(on, "1") == 0 && strcmp(dom, "00010000") == 0,
		    "Locate of 00010003: expected online 1 domain 00010000, "
		    "got '%s' '%s'", on, dom);
	}
	if (locate(dev[0], "<locate region=\"0002\"/>", &rc) &&
	    IT_ASSERT(rc == 0, "Locate of region 0002: expected a "
	    "LocateReply, got %d", rc)) {
		loc_attr(dev[0], "domain", dom, sizeof(dom));
		loc_attr(dev[0], "address", addr, sizeof(addr));
		IT_ASSERT(strcmp(dom, "00020000") == 0 && strcmp(addr, want) ==
		    0, "Locate of region 0002: expected domain 00020000 at %s, "
		    "got '%s' at '%s'", want, dom, addr);
	}
	if (locate(dev[0], "<locate region=\"0003\"/>", &rc))
		IT_ASSERT(rc == 503, "Locate of region 0003 (never up): "
		    "expected Error 503, got %d", rc);
}

static void
test_stop_all(void)
{
	stop_all();
}

/* ---- suite 2: two platforms ------------------------------------------ */

/*
 * P2 is started and stopped to reserve its port, so that the domains
 * prefer P1 for each other's region: they start while P2 is down.
 */
static int
two_init(void)
{
	int st;

	if (itest_fed_init() == -1 || platform_start(&P1, "fed2-p1", 0) == -1 ||
	    platform_start(&P2, "fed2-p2", 0) == -1)
		return -1;
	if ((st = itest_server_stop(&P2)) != 0) {
		fprintf(stderr, "integration: fed2-p2: SIGTERM exit %d\n", st);
		return -1;
	}
	if (domains_start("fed2", P1.port, P2.port) == -1 ||
	    !devs_start(false))
		return -1;
	return 0;
}

static void
test_cross_p1(void)
{
	test_cross();
}

/* P2 comes back on its port; both domains' uplinks log in to it. */
static void
test_p2_back(void)
{
	if (!crossed)
		return;
	if (!IT_ASSERT(platform_start(&P2, "fed2-p2", P2.port) == 0,
	    "P2 did not restart on port %d", P2.port)) {
		crossed = false;
		return;
	}
	if (!wait_logins(&P2, 0, "P2 back"))
		crossed = false;
	pump(itest_ms(500));	/* the RouteUpdates that follow */
}

/*
 * Traffic both ways with Ack="1", one message per device every 20 ms.
 * After `before` rounds *victim is frozen (SIGSTOP), so that what the
 * domains send it during `stall` rounds is stuck in it, then killed
 * (SIGKILL): that is lost with it and must go again by the other
 * platform; then `after` rounds more.  Every message must end delivered
 * (or with an Error), none twice.  Prints the failover time: from the
 * kill to the first message that was stuck reaching the application,
 * and to the last one.
 */
static void
failover(struct itest_server *victim, int before, int stall, int after,
    const char *what)
{
	unsigned k0[NDEV], mark[NDEV], mark2[NDEV], nerr = 0, stuck = 0;
	int64_t t_kill = 0, first = -1, last = -1, first_new = -1;
	bool done;

	for (int i = 0; i < NDEV; i++)
		k0[i] = mark[i] = mark2[i] = dev[i]->sent;
	for (int r = 0; r < before + stall + after; r++) {
		if (r == before) {
			for (int i = 0; i < NDEV; i++)
				mark[i] = dev[i]->sent;
			if (!IT_ASSERT(itest_server_signal(victim, SIGSTOP) ==
			    0, "%s: SIGSTOP of %s", what, victim->name))
				return;
		}
		if (r == before + stall) {
			for (int i = 0; i < NDEV; i++)
				mark2[i] = dev[i]->sent;
			t_kill = now_ms();
			if (!IT_ASSERT(itest_server_kill(victim) == 0, "%s: kill "
			    "-9 of %s", what, victim->name))
				return;
		}
		if (!send_round(true, true))
			return;
		pump(20);
	}
	done = pump_until(all_final, DONE_MS);
	IT_ASSERT(done, "%s: not every message got its outcome in %d ms",
	    what, DONE_MS);
	/* Figures: the stuck ones (sent while it was frozen), the first
	 * one sent after the kill. */
	for (int i = 0; i < NDEV; i++) {
		struct fdev *s = dev[i], *r = dev[(i + NPAIR) % NDEV];

		for (unsigned k = mark[i]; k < s->sent; k++) {
			if (r->cnt[k] == 0)
				continue;
			if (k < mark2[i]) {
				if (r->rtime[k] >= t_kill)
					stuck++;
				if (first < 0 || r->rtime[k] < first)
					first = r->rtime[k];
				if (r->rtime[k] > last)
					last = r->rtime[k];
			} else if (first_new < 0 || r->rtime[k] < first_new)
				first_new = r->rtime[k];
		}
	}
	check_traffic(what, k0, &nerr, true, false, true);
	printf("\n    %s: %u messages were stuck in the frozen platform and "
	    "arrived after the kill; failover: the first of them %lld ms "
	    "after the kill, the last %lld ms, the first sent after the kill "
	    "%lld ms; Error receipts %u ", what, stuck,
	    first >= 0 ? (long long)(first - t_kill) : -1LL,
	    last >= 0 ? (long long)(last - t_kill) : -1LL,
	    first_new >= 0 ? (long long)(first_new - t_kill) : -1LL, nerr);
	print_counts(what);
	IT_ASSERT(stuck > 0, "%s: test bug: no message was stuck in the "
	    "frozen platform (was it carrying the traffic?)", what);
}

static void
test_kill_p1(void)
{
	if (!crossed)
		return;
	failover(&P1, 100, 25, 200, "kill -9 P1");
}

/* P1 restarts on its port; both domains log in to it again. */
static void
test_p1_back(void)
{
	long off = itest_log_size(&P1);

	if (!crossed)
		return;
	if (!IT_ASSERT(platform_start(&P1, "fed2-p1", P1.port) == 0,
	    "P1 did not restart on port %d", P1.port)) {
		crossed = false;
		return;
	}
	if (!wait_logins(&P1, off, "P1 back"))
		crossed = false;
	pump(itest_ms(500));
}

/* The traffic goes back to P1 when P2, which carried it, dies. */
static void
test_kill_p2(void)
{
	if (!crossed)
		return;
	failover(&P2, 100, 25, 200, "kill -9 P2");
}

/* ---- suite 3: destination restart --------------------------------------- */

static int
dst_init(void)
{
	memset(&P2, 0, sizeof(P2));
	if (itest_fed_init() == -1 || platform_start(&P1, "fed3-p", 0) == -1 ||
	    domains_start("fed3", P1.port, 0) == -1 || !devs_start(true))
		return -1;
	return 0;
}

static bool
b_online(void *arg)
{
	(void)arg;
	for (int i = NPAIR; i < NDEV; i++)
		if (nap_state(dev[i]->n) != NAP_ST_ONLINE)
			return false;
	return true;
}

/*
 * Region 0001 sends to region 0002 with Ack="1"; D2 goes down (SIGTERM
 * or kill -9) after `before` rounds; `down` rounds are sent while it is
 * down (held at D1); D2 restarts on its port with its registry and store;
 * `after` rounds more.  Every message arrives once, in order.
 */
static void
dst_restart(bool crash, int before, int down, int after, const char *what)
{
	unsigned k0[NDEV], mark[NDEV], nerr = 0, st0 = 0, st1 = 0;
	int64_t t_up = 0, first = -1;
	bool done;
	int st;

	if (!crossed)
		return;
	for (int i = 0; i < NDEV; i++)
		k0[i] = dev[i]->sent;
	for (int i = 0; i < NPAIR; i++)
		st0 += dev[i]->stored;
	for (int r = 0; r < before; r++) {
		if (!send_round(true, false))
			return;
		pump(20);
	}
	if (crash) {
		if (!IT_ASSERT(itest_server_kill(&D2) == 0, "%s: kill -9 D2",
		    what))
			return;
	} else {
		if (!IT_ASSERT(itest_server_signal(&D2, SIGTERM) == 0,
		    "%s: SIGTERM D2", what))
			return;
		if (IT_ASSERT(wait_exit(&D2, &st), "%s: D2 did not exit on "
		    "SIGTERM", what))
			IT_ASSERT(st == 0, "%s: D2 exit status expected 0, got %d",
			    what, st);
	}
	for (int r = 0; r < down; r++) {
		if (!send_round(true, false))
			return;
		pump(20);
	}
	pump(itest_ms(1000));	/* what is sent is held at D1 */
	if (!IT_ASSERT(domain_restart(&D2, IT_DOMAIN2, P1.port, 0, "3") == 0,
	    "%s: D2 did not restart on port %d", what, D2.port)) {
		crossed = false;
		return;
	}
	t_up = now_ms();
	for (int i = 0; i < NDEV; i++)
		mark[i] = dev[i]->sent;
	IT_ASSERT(pump_until(b_online, UPLINK_MS),
	    "%s: the region 0002 devices did not log in again", what);
	for (int r = 0; r < after; r++) {
		if (!send_round(true, false))
			return;
		pump(20);
	}
	/* After a crash the receipts D2 held in memory may be lost (they
	 * are reported, not asserted): wait for the messages. */
	done = pump_until(crash ? all_arrived : all_final, DONE_MS);
	IT_ASSERT(done, "%s: not every message %s in %d ms", what, crash ?
	    "arrived (or got an Error)" : "got its outcome", DONE_MS);
	if (crash)
		pump(itest_ms(3000));	/* the receipts that come */
	for (int i = 0; i < NPAIR; i++) {
		st1 += dev[i]->stored;
		for (unsigned k = k0[i]; k < mark[i]; k++)
			if (dev[NPAIR + i]->cnt[k] != 0 && dev[NPAIR +
			    i]->rtime[k] >= t_up && (first < 0 ||
			    dev[NPAIR + i]->rtime[k] < first))
				first = dev[NPAIR + i]->rtime[k];
	}
	check_traffic(what, k0, &nerr, false, true, !crash);
	printf("\n    %s: %u stored receipts while it was down; first held "
	    "message delivered %lld ms after the restart ", what, st1 - st0,
	    first >= 0 ? (long long)(first - t_up) : -1LL);
	print_counts(what);
	if (!done) {
		itest_server_dump(&D1);
		itest_server_dump(&D2);
	}
}

static void
test_dst_sigterm(void)
{
	dst_restart(false, 100, 100, 100, "D2 SIGTERM");
}

static void
test_dst_crash(void)
{
	dst_restart(true, 100, 100, 100, "D2 kill -9");
}

/*
 * §5 "What a crash may cost": a message sent with Ack="1" that the
 * destination domain held only in memory must not be lost when it
 * crashes.  00020001 stops reading (its handle is not run; the domain's
 * heartbeat timeout is 60 s so that it keeps the link), 00010001 sends
 * it BIG_N messages of BIG_LEN bytes: more than the kernel buffers hold,
 * less than output-cap (4M) beyond them, so that some wait in
 * nap-domain's own output buffer, written "to the device link".  Then
 * kill -9 of D2, restart, 00020001 reads again: every message arrives.
 */
#define BIG_N	60
#define BIG_LEN	(100 * 1024)

static bool
send_big(struct fdev *d, char *p, size_t cap)
{
	int n = snprintf(p, cap, "<n k=\"%u\"><b>", d->sent);

	memset(p + n, 'x', BIG_LEN);
	memcpy(p + n + BIG_LEN, "</b></n>", 9);
	return send_params(d, p);
}

static void
test_dst_crash_unread(void)
{
	struct fdev *a = dev[0], *b = dev[NPAIR];
	unsigned k0[NDEV], nerr = 0, got = 0, dlv = 0;
	size_t cap = BIG_LEN + 128;
	char *p = malloc(cap);
	int st;

	if (!crossed || !IT_ASSERT(p != NULL, "no memory"))
		goto out;
	/* D2 again with a heartbeat timeout of 60 s. */
	if (!IT_ASSERT(itest_server_signal(&D2, SIGTERM) == 0, "SIGTERM D2") ||
	    !IT_ASSERT(wait_exit(&D2, &st) && st == 0, "D2 SIGTERM: exit %d",
	    st) || !IT_ASSERT(domain_restart(&D2, IT_DOMAIN2, P1.port, 0,
	    "60") == 0, "D2 did not restart") ||
	    !IT_ASSERT(pump_until(b_online, UPLINK_MS), "the region 0002 "
	    "devices did not log in again") || !probe(a, b->code))
		goto out;
	for (int i = 0; i < NDEV; i++)
		k0[i] = dev[i]->sent;
	handles[NPAIR] = NULL;		/* 00020001 stops reading */
	for (int k = 0; k < BIG_N; k++)
		if (!send_big(a, p, cap))
			goto out;
	pump(itest_ms(3000));		/* D2 takes them all */
	if (!IT_ASSERT(itest_server_kill(&D2) == 0, "kill -9 D2") ||
	    !IT_ASSERT(domain_restart(&D2, IT_DOMAIN2, P1.port, 0, "3") == 0,
	    "D2 did not restart"))
		goto out;
	handles[NPAIR] = b->n;		/* it reads again */
	if (!pump_until(all_arrived, itest_ms(30000)))
		pump(itest_ms(3000));
	for (unsigned k = k0[0]; k < a->sent; k++) {
		got += b->cnt[k] != 0;
		dlv += a->n_dlv[k] != 0;
	}
	printf("\n    unread at the crash: %u of %u messages arrived, %u "
	    "delivered receipts; slow-reader closes in D2's log: %u ", got,
	    a->sent - k0[0], dlv, itest_log_count(&D2, 0, "slow"));
	check_traffic("D2 kill -9, receiver not reading", k0, &nerr, false,
	    true, false);
out:
	handles[NPAIR] = b != NULL ? b->n : NULL;
	free(p);
}

/* ---- registration ---------------------------------------------------- */

static void
add_suite(const char *name, CU_InitializeFunc init,
    const struct test_entry *t, size_t n)
{
	CU_pSuite s = CU_add_suite(name, init, fed_clean);

	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		CU_add_test(s, t[i].name, t[i].fn);
}

/* ---- suite 4: domain 1 under valgrind ------------------------------- */

/* P, D1 under valgrind (when $VALGRIND is set), D2. */
static int
vg_init(void)
{
	char a[3][32];
	const char *extra[20];

	memset(&P2, 0, sizeof(P2));
	if (itest.valgrind[0] == '\0')
		return 0;	/* the tests say they were skipped */
	if (itest_fed_init() == -1 || platform_start(&P1, "fedvg-p", 0) == -1)
		return -1;
	domain_extra(extra, a, P1.port, 0, "30", 0);
	if (itest_registry_new_region("fedvg-d1", 0x0001, reg1, sizeof(reg1))
	    == -1 || itest_registry_new_region("fedvg-d2", 0x0002, reg2,
	    sizeof(reg2)) == -1 || itest_domain_start(&D1, "fedvg-d1",
	    IT_DOMAIN, reg1, extra, true) == -1 || itest_domain_start(&D2,
	    "fedvg-d2", IT_DOMAIN2, reg2, extra, false) == -1 ||
	    !devs_start(false))
		return -1;
	return 0;
}

/*
 * Every path of the federation in a domain under valgrind: out and in,
 * receipts both ways, Locate, a region held while its platform is gone
 * and sent on when it is back; then a clean exit (valgrind's error exit
 * status otherwise).
 */
static void
test_valgrind_federation(void)
{
	int lp, rc;

	if (itest.valgrind[0] == '\0') {
		printf("skipped: no valgrind ");
		return;
	}
	if (!probe(dev[0], dev[0]->peer) || !probe(dev[NPAIR],
	    dev[NPAIR]->peer))
		goto out;
	(void)locate(dev[0], "<locate code=\"00020001\"/>", &lp);
	lp = P1.port;
	if (!IT_ASSERT(itest_server_kill(&P1) == 0, "kill -9 of the platform"))
		goto out;
	for (int i = 0; i < 3; i++)	/* held at D1: region 0002 is down */
		if (!send_k(dev[0]))
			goto out;
	pump(itest_ms(500));
	if (!IT_ASSERT(platform_start(&P1, "fedvg-p", lp) == 0, "the platform "
	    "back on its port"))
		goto out;
	IT_ASSERT(probe(dev[0], dev[0]->peer), "traffic crosses again");
	(void)pump_until(all_final, DONE_MS);
	IT_ASSERT(dev[0]->stored == 3 && dev[0]->delivered == 3 &&
	    dev[NPAIR]->cnt[0] == 1 && dev[NPAIR]->cnt[1] == 1 &&
	    dev[NPAIR]->cnt[2] == 1, "3 held messages: %u stored and %u "
	    "delivered receipts, arrived %u %u %u times", dev[0]->stored,
	    dev[0]->delivered, dev[NPAIR]->cnt[0], dev[NPAIR]->cnt[1],
	    dev[NPAIR]->cnt[2]);
out:
	devs_free();
	rc = itest_server_stop(&D1);
	IT_ASSERT(rc == 0, "nap-domain under valgrind: exit status %d (99: "
	    "valgrind errors; log %s)", rc, D1.log);
}

void
init_federation_tests(void)
{
	static const struct test_entry one[] = {
		{ "the uplinks log in; probes cross both ways", test_cross },
		{ "200 messages each way per pair: once, in order, "
		    "delivered", test_burst },
		{ "Via names the source domain, then the platform",
		    test_via },
		{ "a region never up: 503 at once", test_never_up },
		{ "unknown and disabled devices of the other region: 404 "
		    "and 403 from its domain", test_remote_refusals },
		{ "Locate across domains", test_locate },
		{ "SIGTERM: every server exits 0", test_stop_all },
	};
	static const struct test_entry two[] = {
		{ "the uplinks log in to P1 (P2 down); probes cross",
		    test_cross_p1 },
		{ "P2 comes back on its port; both domains log in to it",
		    test_p2_back },
		{ "kill -9 of P1 mid-traffic: every message delivered once",
		    test_kill_p1 },
		{ "P1 comes back on its port; both domains log in again",
		    test_p1_back },
		{ "kill -9 of P2 mid-traffic: the traffic goes by P1 again",
		    test_kill_p2 },
		{ "SIGTERM: every server exits 0", test_stop_all },
	};
	static const struct test_entry dst[] = {
		{ "the uplinks log in; probes cross both ways", test_cross },
		{ "the destination domain stops (SIGTERM) mid-traffic: held, "
		    "then once and in order", test_dst_sigterm },
		{ "the destination domain crashes (kill -9) mid-traffic: "
		    "held, then once and in order", test_dst_crash },
		{ "the destination domain crashes with messages on a link "
		    "its device does not read: none lost",
		    test_dst_crash_unread },
		{ "SIGTERM: every server exits 0", test_stop_all },
	};
	static const struct test_entry vg[] = {
		{ "a domain under valgrind: out, in, receipts, Locate, held "
		    "and sent on, clean exit", test_valgrind_federation },
		{ "SIGTERM: every server exits 0", test_stop_all },
	};

	add_suite("federation: one platform", one_init, one,
	    sizeof(one) / sizeof(one[0]));
	add_suite("federation: two platforms", two_init, two,
	    sizeof(two) / sizeof(two[0]));
	add_suite("federation: destination restart", dst_init, dst,
	    sizeof(dst) / sizeof(dst[0]));
	add_suite("federation: valgrind", vg_init, vg,
	    sizeof(vg) / sizeof(vg[0]));
}
