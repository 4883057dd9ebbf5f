/*
 * test_serverlink.c - regression tests of the servers' links on real
 * processes: what a link does when a frame is too large for it, when the
 * audit writer holds input, and which clock counts its protocol errors.
 *
 * Suites:
 *   server links: oversized    §2: nap-domain's uplink skips a frame
 *                              above its max-frame that the platform
 *                              forwards (and answers 413 to its origin)
 *                              instead of closing and logging in again
 *   server links: audit hold   §8 stop-accepting: links are not read
 *                              while the audit log cannot be written (a
 *                              full tmpfs) and are not closed for a
 *                              heartbeat timeout meanwhile; once there is
 *                              room again the traffic goes on
 *   server links: clock        §4 "16 protocol errors within 60 s" is
 *                              counted on the monotonic clock: under
 *                              libfaketime with the wall clock 100 times
 *                              fast, 16 malformed frames over 8 real
 *                              seconds still close the link
 *
 * The audit hold needs to mount a tmpfs (root); without that it prints a
 * NOTICE and passes.  The clock suite needs libfaketime (Debian package
 * libfaketime, pulled in by faketime; ./configure --install-deps): it
 * fails without it rather than skipping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"

void	init_serverlink_tests(void);

#define CONNECT_MS	((unsigned)itest_ms(20000))
#define UPLINK_MS	itest_ms(30000)	/* an uplink logs in (backoff 5 s) */
#define PROBES		60		/* tries before messages cross */
#define NSMALL		5		/* small messages after the big one */
#define BIG_LEN		(200 * 1024)	/* above D1's max-frame of 64 KiB */
#define HOLD_FS_SIZE	"size=512k"
#define HOLD_MS		6000		/* silence held: 3 x the timeout */
#define HOLD_PAD	8192		/* payload that cannot fit the slack */
#define NBAD		16		/* §4: the 16th protocol error closes */
#define BAD_GAP_MS	500		/* between malformed frames, real */
#define FAKE_SPEED	"+0 x100"	/* libfaketime: wall clock 100x fast */

struct test_entry {
	const char	*name;
	CU_TestFunc	 fn;
};

/* A libnap device of the oversized suite: what it received and the
 * outcome of the one message it waits on (x*). */
struct sdev {
	struct nap	*n;
	uint32_t	 code, peer;
	unsigned	 got[NSMALL];	/* small message k arrived (times) */
	unsigned	 big, other;	/* the big one arrived; others */
	uint32_t	 xseq, bigseq;
	bool		 xdone;
	int		 xstatus, xcode;
	int		 bigstatus, bigcode;	/* its last receipt */
};

static struct itest_server P, D1, D2, H, C;
static struct sdev *dv[2];		/* [0] 00010001 on D1, [1] 00020001 */
static struct nap *handles[2];
static char hold_dir[PATH_MAX];
static bool hold_mounted;

static int64_t	now_ms(void);
static void	s_msg_cb(struct nap *, const struct nap_msg *, void *);
static void	s_rcpt_cb(struct nap *, const struct nap_receipt *, void *);
static struct sdev *sdev_new(uint32_t, uint32_t, int);
static void	sdevs_free(void);
static void	pump(int);
static bool	pump_until(bool (*)(void *), void *, int);
static bool	x_done(void *);
static bool	small_all(void *);
static bool	probe(struct sdev *);
static bool	send_msg(struct sdev *, uint32_t, const char *, uint32_t *);
static bool	wait_log(struct itest_server *, const char *, int);
static void	stop_ok(struct itest_server *);
static const char *rc_name(int, const struct itest_raw *);
static bool	raw_online(struct itest_raw *, int, uint32_t);
static bool	raw_check(struct itest_raw *, const char *);
static int	fill_fs(const char *, long *);
static const char *faketime_lib(char *, size_t);
static void	add_suite(const char *, CU_InitializeFunc, CU_CleanupFunc,
		    const struct test_entry *, size_t);
static int	ov_init(void);
static int	ov_clean(void);
static int	hold_init(void);
static int	hold_clean(void);
static int	clock_init(void);
static int	clock_clean(void);
static void	test_oversized(void);
static void	test_ov_stop(void);
static void	test_hold(void);
static void	test_clock(void);

/* ---- small helpers ---------------------------------------------------- */

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

/* Waits (bounded; devices of the oversized suite running) until the
 * server's log has a line containing needle. */
static bool
wait_log(struct itest_server *s, const char *needle, int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end) {
		if (itest_log_count(s, 0, needle) > 0)
			return true;
		if (handles[0] != NULL || handles[1] != NULL)
			pump(100);
		else
			itest_sleep_ms(50);
	}
	return itest_log_count(s, 0, needle) > 0;
}

static void
stop_ok(struct itest_server *s)
{
	int rc;

	if (s->pid <= 0)
		return;
	rc = itest_server_stop(s);
	IT_ASSERT(rc == 0, "server %s: SIGTERM: expected exit status 0, got "
	    "%d (log %s)", s->name, rc, s->log);
}

static void
add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
    const struct test_entry *t, size_t n)
{
	CU_pSuite s = CU_add_suite(name, init, clean);

	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		CU_add_test(s, t[i].name, t[i].fn);
}

/* ---- libnap devices (oversized) -------------------------------------- */

static void
s_msg_cb(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct sdev *d = arg;
	char *ks;
	long k;

	(void)n;
	if (nap_msg_from(m) != d->peer) {
		d->other++;
		return;
	}
	if (nap_msg_type(m) == 1002) {
		d->big++;
		return;
	}
	if (nap_msg_type(m) != 1000 ||
	    (ks = nap_msg_param_attr(m, "n", "k")) == NULL) {
		if (nap_msg_type(m) != 1001)	/* probes */
			d->other++;
		return;
	}
	k = strtol(ks, NULL, 10);
	free(ks);
	if (k >= 0 && k < NSMALL)
		d->got[k]++;
	else
		d->other++;
}

static void
s_rcpt_cb(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct sdev *d = arg;

	(void)n;
	if (r->status == NAP_RCPT_STORED)
		return;			/* not the outcome yet */
	if (r->seq == d->bigseq && d->bigseq != 0) {
		d->bigstatus = (int)r->status;
		d->bigcode = r->code;
	}
	if (r->seq == d->xseq && d->xseq != 0) {
		d->xstatus = (int)r->status;
		d->xcode = r->code;
		d->xdone = true;
	}
}

/* A connected device (blocking Login), or NULL (printed): suite set-up
 * code, no assertions.  Freed by sdevs_free(). */
static struct sdev *
sdev_new(uint32_t code, uint32_t peer, int port)
{
	struct sdev *d = calloc(1, sizeof(*d));
	int rc;

	if (d == NULL) {
		fprintf(stderr, "integration: no memory\n");
		return NULL;
	}
	d->code = code;
	d->peer = peer;
	if ((d->n = itest_nap_new(code, itest.pki, port, CONNECT_MS)) ==
	    NULL) {
		free(d);
		return NULL;
	}
	nap_set_msg_cb(d->n, s_msg_cb, d);
	nap_set_receipt_cb(d->n, s_rcpt_cb, d);
	if ((rc = nap_connect(d->n)) != 0) {
		fprintf(stderr, "integration: %08X: connect: %d (%s)\n", code,
		    rc, nap_errmsg(d->n));
		nap_free(d->n);
		free(d);
		return NULL;
	}
	return d;
}

static void
sdevs_free(void)
{
	for (int i = 0; i < 2; i++) {
		if (dv[i] == NULL)
			continue;
		if (nap_state(dv[i]->n) == NAP_ST_ONLINE)
			(void)nap_close(dv[i]->n, itest_ms(2000));
		nap_free(dv[i]->n);
		free(dv[i]);
		dv[i] = NULL;
		handles[i] = NULL;
	}
}

static void
pump(int ms)
{
	(void)itest_pump(handles, 2, ms, NULL, NULL);
}

/* itest_pump() in slices until done(arg), at most ms in all. */
static bool
pump_until(bool (*done)(void *), void *arg, int ms)
{
	int64_t end = now_ms() + ms;

	for (int64_t left; (left = end - now_ms()) > 0;)
		if (itest_pump(handles, 2, left > 1000 ? 1000 : (int)left,
		    done, arg))
			return true;
	return done(arg);
}

static bool
x_done(void *arg)
{
	return ((struct sdev *)arg)->xdone;
}

static bool
small_all(void *arg)
{
	const struct sdev *d = arg;

	for (int k = 0; k < NSMALL; k++)
		if (d->got[k] == 0)
			return false;
	return true;
}

/* Queues a message of this type to the peer with Ack="1"; its Seq. */
static bool
send_msg(struct sdev *d, uint32_t type, const char *p, uint32_t *seq)
{
	int rc = NAP_E_AGAIN;

	for (int tries = 0; tries < 2000 && rc == NAP_E_AGAIN; tries++)
		if ((rc = nap_send(d->n, type, d->peer, p, strlen(p), NAP_ACK,
		    seq)) == NAP_E_AGAIN)
			pump(20);
	return IT_ASSERT(rc == 0, "%08X: send type %u (%zu bytes): %d (%s)",
	    d->code, type, strlen(p), rc, nap_errmsg(d->n));
}

/*
 * Probes with Ack="1" until one is delivered (bounded): the uplinks need
 * a moment to log in and hear the other region is up (503 until then).
 */
static bool
probe(struct sdev *d)
{
	int last = 0;

	for (int i = 0; i < PROBES; i++) {
		d->xdone = false;
		if (!send_msg(d, 1001, "<probe/>", &d->xseq))
			return false;
		if (!pump_until(x_done, d, IT_WAIT_MS))
			return IT_FAIL("%08X -> %08X: no receipt for a probe "
			    "in %d ms", d->code, d->peer, IT_WAIT_MS);
		if (d->xstatus == NAP_RCPT_DELIVERED)
			return true;
		last = d->xstatus == NAP_RCPT_ERROR ? d->xcode : -d->xstatus;
		if (last != 503)
			break;
		pump(itest_ms(500));
	}
	return IT_FAIL("%08X -> %08X: a probe never crossed (last outcome "
	    "%d: an Error code, or minus a receipt status)", d->code, d->peer,
	    last);
}

/* ---- suite 1: an oversized frame on the uplink ------------------------ */

/*
 * P (max-frame 1 MiB), D1 of region 0001 with --max-frame 65536, D2 of
 * region 0002 with the default; both domains uplinked to P; 00010001 on
 * D1, 00020001 on D2.
 */
static int
ov_init(void)
{
	char reg1[PATH_MAX], reg2[PATH_MAX], pl[32];
	const char *pextra[] = { "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "3", "--log-level", "info", NULL };
	const char *d1x[] = { "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "3", "--log-level", "info", "--platform",
	    pl, "--max-frame", "65536", NULL };
	const char *d2x[] = { "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "3", "--log-level", "info", "--platform",
	    pl, NULL };

	if (itest_fed_init() == -1 ||
	    itest_platform_start(&P, "sl-over-p", pextra, false) == -1)
		return -1;
	itest_fmt(pl, sizeof(pl), "127.0.0.1:%d", P.port);
	if (itest_registry_new_region("sl-over-d1", 0x0001, reg1,
	    sizeof(reg1)) == -1 || itest_registry_new_region("sl-over-d2",
	    0x0002, reg2, sizeof(reg2)) == -1 ||
	    itest_domain_start(&D1, "sl-over-d1", IT_DOMAIN, reg1, d1x,
	    false) == -1 || itest_domain_start(&D2, "sl-over-d2", IT_DOMAIN2,
	    reg2, d2x, false) == -1)
		return -1;
	if ((dv[0] = sdev_new(IT_DEV(1), IT_DEV2, D1.port)) == NULL ||
	    (dv[1] = sdev_new(IT_DEV2, IT_DEV(1), D2.port)) == NULL)
		return -1;
	handles[0] = dv[0]->n;
	handles[1] = dv[1]->n;
	return 0;
}

static int
ov_clean(void)
{
	struct itest_server *s[] = { &D1, &D2, &P };

	sdevs_free();
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i]->pid > 0)
			(void)itest_server_kill(s[i]);
	return 0;
}

/*
 * §2 "a server-to-server link skips an oversized frame and answers 413
 * to its origin instead of closing": 00020001 sends 00010001 a message
 * of 200 KiB; the platform (max-frame 1 MiB) forwards it; D1's uplink
 * sees a length above its max-frame of 64 KiB.  It must skip those bytes
 * and go on: the small messages sent after it arrive, and D1 logged in
 * at the platform once for the whole test.
 */
static void
test_oversized(void)
{
	struct sdev *a = dv[0], *b = dv[1];
	char up[64], *big = NULL;
	unsigned d1_logins, p_logins, badlen, skipped;
	int n;

	if (!IT_ASSERT(wait_log(&P, "domain 00010000 logged in", UPLINK_MS) &&
	    wait_log(&P, "domain 00020000 logged in", UPLINK_MS), "the "
	    "platform's log (%s) shows no Login of both domains in %d ms",
	    P.log, UPLINK_MS) || !probe(b))
		goto out;
	if (!IT_ASSERT((big = malloc(BIG_LEN + 64)) != NULL, "no memory"))
		goto out;
	n = snprintf(big, 64, "<big>");
	memset(big + n, 'x', BIG_LEN);
	memcpy(big + n + BIG_LEN, "</big>", 7);
	if (!send_msg(b, 1002, big, &b->bigseq))
		goto out;
	for (int k = 0; k < NSMALL; k++) {
		char p[32];

		snprintf(p, sizeof(p), "<n k=\"%d\"/>", k);
		if (!send_msg(b, 1000, p, NULL))
			goto out;
	}
	IT_ASSERT(pump_until(small_all, a, UPLINK_MS), "the %d small "
	    "messages sent after the big one: arrived %u %u %u %u %u times "
	    "in %d ms", NSMALL, a->got[0], a->got[1], a->got[2], a->got[3],
	    a->got[4], UPLINK_MS);
	pump(itest_ms(2000));	/* a close and new Login would show now */
	itest_fmt(up, sizeof(up), "platform 127.0.0.1:%d: logged in", P.port);
	d1_logins = itest_log_count(&D1, 0, up);
	p_logins = itest_log_count(&P, 0, "domain 00010000 logged in");
	badlen = itest_log_count(&D1, 0, "bad frame length");
	skipped = itest_log_count(&D1, 0, "skipped") +
	    itest_log_count(&D1, 0, "too large");
	printf("\n    big message: arrived %u times; its receipt status %d "
	    "code %d; D1 logins %u, its skip lines %u ", a->big,
	    b->bigstatus, b->bigcode, d1_logins, skipped);
	IT_ASSERT(a->big == 0, "the 200 KiB message reached 00010001 "
	    "through a 64 KiB max-frame (%u times)", a->big);
	IT_ASSERT(d1_logins == 1, "D1's log (%s) shows %u \"%s\" lines: its "
	    "uplink closed on the oversized frame and logged in again",
	    D1.log, d1_logins, up);
	IT_ASSERT(badlen == 0, "D1's log (%s) shows %u \"bad frame length\" "
	    "uplink failures", D1.log, badlen);
	IT_ASSERT(p_logins == 1, "the platform's log (%s) shows %u Logins of "
	    "domain 00010000, expected 1", P.log, p_logins);
	IT_ASSERT(skipped > 0, "D1's log (%s) does not say it skipped the "
	    "oversized frame (a line with \"skipped\" or \"too large\")",
	    D1.log);
	IT_ASSERT(a->other == 0, "00010001 received %u unexpected messages",
	    a->other);
out:
	free(big);
}

static void
test_ov_stop(void)
{
	sdevs_free();
	stop_ok(&D1);
	stop_ok(&D2);
	stop_ok(&P);
}

/* ---- raw devices (audit hold, clock) ----------------------------------- */

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

/* Check, and its CheckReply (other frames skipped): the link is read. */
static bool
raw_check(struct itest_raw *r, const char *what)
{
	struct itest_frame f;
	uint32_t seq = 900000 + r->seq % 1000;
	int rc;

	if (!IT_ASSERT(itest_raw_msg(r, 3, &seq, r->code, IT_DOMAIN,
	    r->session, NULL, NULL) == 0, "%s: cannot write a Check: %s",
	    what, r->why))
		return false;
	rc = itest_raw_expect(r, 4, &f, IT_WAIT_MS, NULL);
	if (!IT_ASSERT(rc == IT_FRAME, "%s: %08X expected a CheckReply, got "
	    "%s", what, r->code, rc_name(rc, r)))
		return false;
	itest_frame_free(&f);
	return true;
}

/* ---- suite 2: links held by the audit writer ---------------------------- */

/*
 * A tmpfs of 512 KiB at WORK/sl-hold-fs (its own mount: filling it fills
 * nothing else), nap-domain auditing onto it with stop-accepting and a
 * heartbeat timeout of 2 s.  A failed mount is not an error: the test
 * says so and passes (not root, no tmpfs in this container).
 */
static int
hold_init(void)
{
	char reg[PATH_MAX], audit[PATH_MAX];
	const char *extra[] = { "--audit", audit, "--audit-on-full",
	    "stop-accepting", "--heartbeat-interval", "1",
	    "--heartbeat-timeout", "2", "--log-level", "info", NULL };

	itest_fmt(hold_dir, sizeof(hold_dir), "%s/sl-hold-fs", itest.work);
	itest_fmt(audit, sizeof(audit), "%s/audit.log", hold_dir);
	if (mkdir(hold_dir, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "integration: %s: %s\n", hold_dir,
		    strerror(errno));
		return -1;
	}
	if (mount("tmpfs", hold_dir, "tmpfs", 0, HOLD_FS_SIZE) == -1) {
		fprintf(stderr, "integration: mount tmpfs on %s: %s\n",
		    hold_dir, strerror(errno));
		return 0;	/* the test prints its NOTICE */
	}
	hold_mounted = true;
	if (itest_registry_new("sl-hold", reg, sizeof(reg)) == -1 ||
	    itest_server_start(&H, "sl-hold", reg, extra, false) == -1)
		return -1;
	return 0;
}

/* Always unmounts (lazily: a killed server may still hold the file). */
static int
hold_clean(void)
{
	if (H.pid > 0)
		(void)itest_server_kill(&H);
	if (hold_mounted && umount2(hold_dir, MNT_DETACH) == -1)
		fprintf(stderr, "integration: umount %s: %s\n", hold_dir,
		    strerror(errno));
	hold_mounted = false;
	return 0;
}

/*
 * Writes DIR/filler until ENOSPC (bounded by the count of 4 KiB blocks
 * a 512 KiB file system can take); its size in *size.  0, or -1 when
 * the disk never filled or another error came.
 */
static int
fill_fs(const char *path, long *size)
{
	static const char block[4096];
	ssize_t n;
	int fd, rc = -1;

	*size = 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	for (int i = 0; i < 1024; i++) {
		if ((n = write(fd, block, sizeof(block))) > 0) {
			*size += n;
			continue;
		}
		if (n == -1 && errno == ENOSPC)
			rc = 0;
		break;
	}
	close(fd);
	return rc;
}

/*
 * §8 audit-on-full stop-accepting: the server reads no link while the
 * audit log cannot be written.  The silence that follows is the server's
 * own, so it must not close the quiet links for a heartbeat timeout
 * (2 s; the raw clients send no Check meanwhile); once the log has room
 * again, reading resumes and the traffic goes on.
 */
static void
test_hold(void)
{
	struct itest_raw a, b;
	struct itest_frame f;
	char filler[PATH_MAX], pad[HOLD_PAD + 32];
	uint32_t seq1 = 0, seq2 = 0, hseq = 4242;
	unsigned held_msgs = 0, got1 = 0, got2 = 0;
	long size;
	int rc = IT_TIMEOUT;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.fd = b.fd = -1;
	if (!hold_mounted) {
		printf("\n  NOTICE: cannot mount a tmpfs (not root?): the audit "
		    "hold test is skipped ");
		return;
	}
	if (!raw_online(&a, H.port, IT_DEV(150)) ||
	    !raw_online(&b, H.port, IT_DEV(151)))
		goto out;
	/* Traffic flows before the disk is full. */
	if (!IT_ASSERT(itest_raw_msg(&a, 1000, NULL, a.code, b.code, a.session,
	    "<n k=\"0\"/>", NULL) == 0, "write: %s", a.why))
		goto out;
	rc = itest_raw_expect(&b, 1000, &f, IT_WAIT_MS, NULL);
	if (!IT_ASSERT(rc == IT_FRAME, "the first message A -> B: got %s",
	    rc_name(rc, &b)))
		goto out;
	itest_frame_free(&f);

	/* Fill the file system; the next records cannot be written.  The
	 * payload is larger than the slack of the audit file's last page. */
	itest_fmt(filler, sizeof(filler), "%s/filler", hold_dir);
	if (!IT_ASSERT(fill_fs(filler, &size) == 0, "%s: could not fill the "
	    "file system (%ld bytes written): %s", filler, size,
	    strerror(errno)) || !raw_check(&b, "before the hold"))
		goto out;
	memcpy(pad, "<pad>", 5);
	memset(pad + 5, 'y', HOLD_PAD);
	memcpy(pad + 5 + HOLD_PAD, "</pad>", 7);
	if (!IT_ASSERT(itest_raw_msg(&a, 1000, NULL, a.code, b.code,
	    a.session, pad, &seq1) == 0, "write: %s", a.why))
		goto out;
	if (!IT_ASSERT(wait_log(&H, "No space left", IT_WAIT_MS), "the "
	    "server's log (%s) does not say the audit log hit ENOSPC",
	    H.log))
		goto out;
	/* Held now (within a tick of 250 ms; the pause is generous).  A's
	 * Check must not be read, hence not answered, until there is room. */
	itest_sleep_ms(itest_ms(1000));
	if (!IT_ASSERT(itest_raw_msg(&a, 3, &hseq, a.code, IT_DOMAIN,
	    a.session, NULL, NULL) == 0, "write a Check: %s", a.why))
		goto out;

	/* 6 s of silence from both devices, 3 x the heartbeat timeout. */
	for (int64_t end = now_ms() + HOLD_MS, left;
	    (left = end - now_ms()) > 0;) {
		rc = itest_raw_recv(&b, &f, (int)left);
		if (rc != IT_FRAME)
			break;
		if (f.parsed && f.h.type == 1000 && f.h.seq == seq1)
			got1++;
		else
			held_msgs++;
		itest_frame_free(&f);
	}
	IT_ASSERT(rc == IT_TIMEOUT, "B during the hold: expected nothing "
	    "more, got %s", rc_name(rc, &b));
	rc = itest_raw_recv(&a, &f, 100);
	if (rc == IT_FRAME) {
		IT_ASSERT(!(f.parsed && f.h.type == 4), "A's Check was "
		    "answered while the audit log was full: the link was "
		    "read during the hold");
		itest_frame_free(&f);
	} else
		IT_ASSERT(rc == IT_TIMEOUT, "A during the hold: expected "
		    "nothing, got %s", rc_name(rc, &a));
	IT_ASSERT(itest_log_count(&H, 0, "heartbeat timeout") == 0, "the "
	    "server closed links for a heartbeat timeout while it held "
	    "them (log %s)", H.log);
	if (a.closed || b.closed)
		goto out;

	/* Room again: the writer retries every second; reading resumes. */
	if (!IT_ASSERT(unlink(filler) == 0, "unlink %s: %s", filler,
	    strerror(errno)))
		goto out;
	rc = itest_raw_expect(&a, 4, &f, IT_WAIT_MS, NULL);
	if (IT_ASSERT(rc == IT_FRAME, "A's Check sent during the hold: "
	    "expected its CheckReply once the log had room, got %s",
	    rc_name(rc, &a))) {
		IT_ASSERT(f.h.seq == hseq, "CheckReply Seq %u, expected %u",
		    f.h.seq, hseq);
		itest_frame_free(&f);
	}
	if (got1 == 0) {
		rc = itest_raw_expect(&b, 1000, &f, IT_WAIT_MS, NULL);
		if (IT_ASSERT(rc == IT_FRAME, "B: the message sent as the "
		    "disk filled never arrived: got %s", rc_name(rc, &b))) {
			got1 += f.h.seq == seq1;
			itest_frame_free(&f);
		}
	}
	IT_ASSERT(got1 == 1 && held_msgs == 0, "B: the message sent as the "
	    "disk filled arrived %u times (%u other frames)", got1,
	    held_msgs);
	if (!IT_ASSERT(itest_raw_msg(&a, 1000, NULL, a.code, b.code,
	    a.session, "<n k=\"2\"/>", &seq2) == 0, "write: %s", a.why))
		goto out;
	rc = itest_raw_expect(&b, 1000, &f, IT_WAIT_MS, NULL);
	if (IT_ASSERT(rc == IT_FRAME, "B: the message after the hold: got %s",
	    rc_name(rc, &b))) {
		got2 = f.h.seq == seq2;
		itest_frame_free(&f);
	}
	IT_ASSERT(got2 == 1, "B: the message after the hold was not the one "
	    "sent (Seq %u)", seq2);
	raw_check(&b, "after the hold");
	IT_ASSERT(itest_log_count(&H, 0, "heartbeat timeout") == 0, "the "
	    "server closed links for a heartbeat timeout (log %s)", H.log);
out:
	itest_raw_close(&a);
	itest_raw_close(&b);
	stop_ok(&H);
}

/* ---- suite 3: the clock of the protocol-error window ------------------- */

/*
 * The path of libfaketime.so.1: $NAP_FAKETIME_LIB, else where dpkg put
 * it, else the usual multiarch places.  NULL when none is there.
 */
static const char *
faketime_lib(char *buf, size_t len)
{
	static const char *const known[] = {
	    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
	    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
	    "/usr/lib/faketime/libfaketime.so.1",
	    "/usr/local/lib/faketime/libfaketime.so.1", NULL };
	const char *env = getenv("NAP_FAKETIME_LIB");
	char line[PATH_MAX];
	FILE *p;

	if (env != NULL && *env != '\0')
		return access(env, R_OK) == 0 ? itest_fmt(buf, len, "%s", env) :
		    NULL;
	if ((p = popen("dpkg -L libfaketime 2>/dev/null", "r")) != NULL) {
		bool found = false;

		while (fgets(line, sizeof(line), p) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (!found && strlen(line) > 17 && strcmp(line +
			    strlen(line) - 17, "/libfaketime.so.1") == 0 &&
			    access(line, R_OK) == 0) {
				itest_fmt(buf, len, "%s", line);
				found = true;
			}
		}
		pclose(p);
		if (found)
			return buf;
	}
	for (size_t i = 0; known[i] != NULL; i++)
		if (access(known[i], R_OK) == 0)
			return itest_fmt(buf, len, "%s", known[i]);
	return NULL;
}

/*
 * nap-domain under libfaketime: the wall clock runs 100 times fast, the
 * monotonic clock is real.  The variables are set in this process only
 * while the server is spawned (it inherits them), never for nap-ctl.
 */
static int
clock_init(void)
{
	char reg[PATH_MAX], lib[PATH_MAX], asan[512], *old;
	int rc = -1;

	if (faketime_lib(lib, sizeof(lib)) == NULL)
		return 0;	/* the test fails with what to do */
	if (itest_registry_new("sl-clock", reg, sizeof(reg)) == -1)
		return -1;
	/* A sanitizer build of nap-domain would refuse a preload before
	 * its runtime: tell it not to check the order. */
	old = getenv("ASAN_OPTIONS");
	itest_fmt(asan, sizeof(asan), "%.400s%sverify_asan_link_order=0",
	    old != NULL ? old : "", old != NULL && *old != '\0' ? ":" : "");
	old = old != NULL ? strdup(old) : NULL;
	if (setenv("LD_PRELOAD", lib, 1) == 0 &&
	    setenv("FAKETIME", FAKE_SPEED, 1) == 0 &&
	    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1) == 0 &&
	    setenv("ASAN_OPTIONS", asan, 1) == 0)
		rc = itest_server_start(&C, "sl-clock", reg,
		    (const char *const[]){ "--log-level", "info", NULL },
		    false);
	unsetenv("LD_PRELOAD");
	unsetenv("FAKETIME");
	unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
	if (old != NULL)
		setenv("ASAN_OPTIONS", old, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(old);
	return rc;
}

static int
clock_clean(void)
{
	if (C.pid > 0)
		(void)itest_server_kill(&C);
	return 0;
}

/*
 * §4 "16 protocol errors within 60 s close it", on the monotonic clock:
 * 16 malformed frames 0.5 s apart are 8 real seconds but 800 seconds of
 * the server's (fake) wall clock.  Each gets Error 400 and the 16th
 * closes the link; a window on the wall clock would restart every 60
 * fake seconds and the link would stay.
 */
static void
test_clock(void)
{
	static const char *bad = "<!DOCTYPE Message><Message version=\"1.0\">"
	    "<Header Message_Type=\"1000\" SessionId=\"\" Seq=\"1\" From="
	    "\"00010037\" To=\"00010001\"/></Message>";
	struct itest_raw r;
	struct itest_frame f;
	char lib[PATH_MAX];
	unsigned extra = 0;
	uint32_t eseq;
	int rc, code;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	if (!IT_ASSERT(faketime_lib(lib, sizeof(lib)) != NULL, "libfaketime."
	    "so.1 not found (Debian package libfaketime): run ./configure "
	    "--install-deps, or set NAP_FAKETIME_LIB") ||
	    !IT_ASSERT(C.pid > 0, "nap-domain under libfaketime did not start "
	    "(log %s)", C.log) || !raw_online(&r, C.port, IT_DEV(55)))
		goto out;
	for (int i = 1; i <= NBAD; i++) {
		if (i > 1)
			itest_sleep_ms(BAD_GAP_MS);
		if (!IT_ASSERT(itest_raw_send(&r, bad) == 0, "malformed frame "
		    "%d: write: %s", i, r.why))
			goto out;
		rc = itest_raw_recv(&r, &f, IT_WAIT_MS);
		if (!IT_ASSERT(rc == IT_FRAME, "malformed frame %d of %d, sent "
		    "%d ms after the one before: expected Error 400, got %s", i,
		    NBAD, BAD_GAP_MS, rc_name(rc, &r)))
			goto out;
		code = 0;
		IT_ASSERT(itest_frame_error(&f, &code, &eseq) == 0 &&
		    code == 400, "malformed frame %d: expected Error 400, got "
		    "%.200s", i, f.body);
		itest_frame_free(&f);
	}
	rc = itest_raw_wait_closed(&r, IT_WAIT_MS, &extra);
	IT_ASSERT(rc == 0, "the 16th protocol error over %d real seconds "
	    "(%d on the wall clock of the server) left the link open: the "
	    "window of §4 is counted on the wall clock", NBAD * BAD_GAP_MS /
	    1000, NBAD * BAD_GAP_MS / 10);
	IT_ASSERT(extra == 0, "%u unexpected frame(s) before the close",
	    extra);
	IT_ASSERT(itest_log_count(&C, 0, "too many protocol errors") == 1,
	    "the server's log (%s) does not say it closed the link for too "
	    "many protocol errors", C.log);
out:
	itest_raw_close(&r);
	stop_ok(&C);
}

/* ---- registration ------------------------------------------------------ */

void
init_serverlink_tests(void)
{
	static const struct test_entry ov[] = {
		{ "an uplink skips a frame above its max-frame: no new Login, "
		    "what follows arrives", test_oversized },
		{ "SIGTERM: every server exits 0", test_ov_stop },
	};
	static const struct test_entry hold[] = {
		{ "audit log full, stop-accepting: quiet links are held, not "
		    "closed; traffic resumes", test_hold },
	};
	static const struct test_entry clk[] = {
		{ "16 protocol errors over 800 fake wall seconds (8 real) "
		    "close the link", test_clock },
	};

	add_suite("server links: oversized", ov_init, ov_clean, ov,
	    sizeof(ov) / sizeof(ov[0]));
	add_suite("server links: audit hold", hold_init, hold_clean, hold,
	    sizeof(hold) / sizeof(hold[0]));
	add_suite("server links: clock", clock_init, clock_clean, clk,
	    sizeof(clk) / sizeof(clk[0]));
}
