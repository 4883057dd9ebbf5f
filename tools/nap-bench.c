/*
 * nap-bench - load generator for NAP (DESIGN.md §9): N devices of libnap
 * in one process, each sending M messages to random peers with at most
 * W in flight end to end (a send is credited back when its peer
 * receives it), then msgs/s and end-to-end latency.
 *
 * T1: every device on one domain server (-s).  T2 (-S given): half the
 * devices in region 0001 on -s, half in 0002 on -S, every message to the
 * other region, so that each crosses domain -> platform -> domain.
 *
 * Modes: closed loop (the default), --ack (receipts asked, §5), paced
 * (--rate, msgs/s in total), --idle (log N in and hold them, heartbeats
 * only, §5, for the servers' memory per device).  --spread gives every
 * device its own 127/8 source address (bench_sys.c), for a full region
 * of 65535 devices.  --pid samples servers' CPU and memory.
 *
 * Certificates come from a nap-certs directory (CODE.crt, CODE.key,
 * ca.crt).  Traffic goes to loopback addresses only.
 */
#define _GNU_SOURCE	/* memmem */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "bench_internal.h"
#include "clock.h"
#include "proto.h"

#ifndef NAP_VERSION
#define NAP_VERSION	"unknown"	/* the Makefile passes configure's */
#endif

#define PAYLOAD_MIN	48
#define PAYLOAD_MAX	65536

static void	usage(FILE *, int);
static uint32_t	rnd(struct bench *);
static int	pick_peer(struct bench *, int);
static int	idx_of(const struct bench *, uint32_t);
static int	send_one(struct bench *, int);
static void	pace(struct bench *);
static void	on_msg(struct nap *, const struct nap_msg *, void *);
static void	on_rcpt(struct nap *, const struct nap_receipt *, void *);
static void	on_state(struct nap *, enum nap_state, int, void *);
static void	check_spread(struct bench *, struct bdev *, int);
static int	dev_new(struct bench *, int);
static int	parse_int(const char *, long, long, int *);
static void	parse_args(struct bench *, int, char **);
static int	check_args(struct bench *);
static int	setup(struct bench *);
static void	connect_all(struct bench *);
static int	load_done(const struct bench *);
static void	run_phase(struct bench *);
static void	teardown(struct bench *);

static const struct option longopts[] = {
	{ "server",	required_argument, NULL, 's' },
	{ "server2",	required_argument, NULL, 'S' },
	{ "dir",	required_argument, NULL, 'd' },
	{ "devices",	required_argument, NULL, 'n' },
	{ "messages",	required_argument, NULL, 'm' },
	{ "window",	required_argument, NULL, 'w' },
	{ "payload",	required_argument, NULL, 'p' },
	{ "concurrency", required_argument, NULL, 'c' },
	{ "deadline",	required_argument, NULL, 'D' },
	{ "first",	required_argument, NULL, 'f' },
	{ "ack",	no_argument,	   NULL, 'a' },
	{ "rate",	required_argument, NULL, 'r' },
	{ "idle",	no_argument,	   NULL, 'i' },
	{ "duration",	required_argument, NULL, 't' },
	{ "spread",	no_argument,	   NULL, 'A' },
	{ "json",	no_argument,	   NULL, 'j' },
	{ "pid",	required_argument, NULL, 'P' },
	{ "quiet",	no_argument,	   NULL, 'q' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ "version",	no_argument,	   NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* The usage on f, then exit status (0 for -h, 2 for bad usage). */
static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: nap-bench -s HOST:PORT [-S HOST:PORT] -d PKIDIR "
	    "[-n N] [-m M] [-w W] [-p BYTES]\n"
	    "                 [-c CONC] [-D SECONDS] [-f FIRSTCODE] [--ack] "
	    "[--rate MSGS/S]\n"
	    "                 [--spread] [--json] [-q] [--pid PID]...\n"
	    "       nap-bench --idle [--duration SECONDS] -s HOST:PORT "
	    "[-S HOST:PORT] -d PKIDIR [-n N] ...\n"
	    "       nap-bench -h | --help | --version\n"
	    "  -s, --server     domain server of region 0001 (T1: of every "
	    "device)\n"
	    "  -S, --server2    domain server of region 0002 (T2: every "
	    "message crosses)\n"
	    "  -d, --dir        nap-certs directory: ca.crt, CODE.crt, "
	    "CODE.key\n"
	    "  -n, --devices    devices (200; up to 65535 per region)\n"
	    "  -m, --messages   messages per device (1000)\n"
	    "  -w, --window     messages in flight per device (8)\n"
	    "  -p, --payload    message bytes (200, 48..65536)\n"
	    "  -c, --concurrency logins under way at once (64)\n"
	    "  -D, --deadline   give up after this many seconds (120)\n"
	    "  -f, --first      first device code of region 0001 (00010001)\n"
	    "  -a, --ack        ask a receipt for every message (Ack=\"1\")\n"
	    "  -r, --rate       paced: messages per second in total (0: as "
	    "fast as the window allows)\n"
	    "  -i, --idle       send nothing: log in, hold the links with "
	    "heartbeats, report memory per device\n"
	    "  -t, --duration   --idle: seconds to hold (10)\n"
	    "      --spread     each device from its own source address in "
	    "127.0.0.0/8\n"
	    "  -j, --json       the result as one JSON object\n"
	    "  -P, --pid        a server's PID: its CPU and memory (repeat, "
	    "up to 16)\n"
	    "  -q, --quiet      no progress line on stderr\n");
	exit(status);
}

static uint32_t
rnd(struct bench *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return (uint32_t)b->rng;
}

/* The peer index of a message from device i. */
static int
pick_peer(struct bench *b, int i)
{
	if (b->t2) {	/* the other region: devices alternate */
		int other = 1 - b->d[i].region;
		int k = (int)(rnd(b) % (uint32_t)b->nreg[other]);

		return 2 * k + other;
	}
	for (;;) {
		int j = (int)(rnd(b) % (uint32_t)b->n);

		if (j != i)
			return j;
	}
}

static int
idx_of(const struct bench *b, uint32_t code)
{
	int r = b->t2 && (code >> 16) == (b->first[1] >> 16);
	long k = (long)code - (long)b->first[r];

	if (k < 0 || k >= b->nreg[r])
		return -1;
	return b->t2 ? (int)(2 * k + r) : (int)k;
}

/* One message from device i to a random peer: 0, or -1 (queue full). */
static int
send_one(struct bench *b, int i)
{
	struct bdev *d = &b->d[i];
	struct bdev *peer = &b->d[pick_peer(b, i)];
	char params[PAYLOAD_MAX + 64];
	int len;

	len = snprintf(params, sizeof(params), "<b t=\"%lld\">%s</b>",
	    (long long)mono_us(), b->filler);
	if (nap_send(d->n, ENV_T_APP, peer->code, params, (size_t)len,
	    b->ack ? NAP_ACK : 0, NULL) != 0)
		return -1;		/* NAP_E_AGAIN: the next turn */
	d->sent++;
	d->inflight++;
	b->sent++;
	return 0;
}

/* Closed loop: tops device i's window up, refilled in halves like
 * shared/bench's load generator. */
void
bench_fill(struct bench *b, int i)
{
	struct bdev *d = &b->d[i];

	if (!d->online || d->closed || b->rate > 0 || b->idle ||
	    b->phase != BENCH_LOAD || d->inflight > (unsigned)b->w / 2)
		return;
	while (d->inflight < (unsigned)b->w && d->sent < (unsigned)b->m)
		if (send_one(b, i) != 0)
			break;
}

/*
 * Paced: what the rate allows since the load began, one message per
 * device in turn, each within its window.  Bursts are bounded to a
 * tenth of a second's worth, so that a slow turn is not made up at once.
 */
static void
pace(struct bench *b)
{
	double due = b->rate * (double)(mono_us() - b->t_on) / 1e6;
	int64_t budget = (int64_t)due - (int64_t)b->sent;
	int idle = 0;

	if (budget > (int64_t)(b->rate / 10) + 1)
		budget = (int64_t)(b->rate / 10) + 1;
	while (budget > 0 && idle < b->n) {
		int i = b->pace_next;
		struct bdev *d = &b->d[i];

		b->pace_next = (i + 1) % b->n;
		if (!d->online || d->closed || d->sent >= (unsigned)b->m ||
		    d->inflight >= (unsigned)b->w || send_one(b, i) != 0) {
			idle++;
			continue;
		}
		idle = 0;
		budget--;
		bench_touch(b, i);
	}
}

static void
on_msg(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct bdev *d = arg;
	struct bench *b = d->b;
	size_t len;
	const char *p = nap_msg_parameters(m, &len), *t;
	int from = idx_of(b, nap_msg_from(m));
	long long sent_us;

	(void)n;
	if (nap_msg_type(m) != ENV_T_APP || from < 0 || p == NULL ||
	    (t = memmem(p, len, "t=\"", 3)) == NULL)
		return;
	sent_us = strtoll(t + 3, NULL, 10);
	if (sent_us < b->t0) {
		/* An earlier run's, unconfirmed then, delivered again now
		 * (§5): not part of this one. */
		b->stale++;
		return;
	}
	bench_hist_add(&b->lat, (uint32_t)(mono_us() - sent_us));
	b->received++;
	d->received++;
	if (b->d[from].inflight > 0)
		b->d[from].inflight--;
	if (b->rate == 0 && !b->d[from].queued) {
		b->d[from].queued = 1;
		b->refill[b->nrefill++] = from;
	}
}

static void
on_rcpt(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct bench *b = ((struct bdev *)arg)->b;

	(void)n;
	switch (r->status) {
	case NAP_RCPT_STORED:	b->stored++; break;
	case NAP_RCPT_DELIVERED: b->delivered++; break;
	case NAP_RCPT_ERROR:	b->errors++; break;
	case NAP_RCPT_UNKNOWN:	b->unknown++; break;
	}
}

/* --spread: the first device online shows that libnap bound the source
 * address nap_set_local() gave it. */
static void
check_spread(struct bench *b, struct bdev *d, int fd)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char want[INET_ADDRSTRLEN], got[INET_ADDRSTRLEN];

	b->spread_checked = 1;
	bench_spread_addr((int)(d - b->d), want, sizeof(want));
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) == -1 ||
	    sa.sin_family != AF_INET ||
	    inet_ntop(AF_INET, &sa.sin_addr, got, sizeof(got)) == NULL)
		snprintf(got, sizeof(got), "?");
	if (strcmp(want, got) != 0) {
		fprintf(stderr, "nap-bench: --spread: device %08X comes from "
		    "%s, not %s (is the server on IPv4 loopback?)\n", d->code,
		    got, want);
		b->spread_failed = 1;
	}
}

static void
on_state(struct nap *n, enum nap_state st, int err, void *arg)
{
	struct bdev *d = arg;
	struct bench *b = d->b;

	(void)err;
	if (b->phase == BENCH_DONE)
		return;		/* teardown's logouts */
	if (st == NAP_ST_ONLINE && !d->online) {
		d->online = 1;
		b->online++;
		if (!d->closed)
			b->settled++;
		if (b->spread && !b->spread_checked)
			check_spread(b, d, nap_fd(n));
	} else if ((st == NAP_ST_CLOSED || st == NAP_ST_BACKOFF) &&
	    !d->closed) {
		d->closed = 1;
		b->closed++;
		if (!d->online)
			b->settled++;
		if (b->phase == BENCH_HOLD)
			b->hold_closed++;
		if (b->progressed)
			fputc('\n', stderr);
		fprintf(stderr, "nap-bench: %08X: %s\n", d->code,
		    nap_errmsg(n));
	}
}

/* Device i's handle; nap_free() in teardown().  0, or -1 said. */
static int
dev_new(struct bench *b, int i)
{
	struct bdev *d = &b->d[i];
	char code[9], crt[4096], key[4096], ca[4096];

	d->b = b;
	d->regfd = -1;
	d->due = -1;
	d->region = b->t2 ? i % 2 : 0;
	d->code = b->first[d->region] + (uint32_t)(b->t2 ? i / 2 : i);
	nap_code_format(d->code, code);
	snprintf(crt, sizeof(crt), "%s/%s.crt", b->dir, code);
	snprintf(key, sizeof(key), "%s/%s.key", b->dir, code);
	snprintf(ca, sizeof(ca), "%s/ca.crt", b->dir);
	if ((d->n = nap_new()) == NULL ||
	    nap_set_server_str(d->n, d->region ? b->s2 : b->s1) != 0 ||
	    nap_set_tls(d->n, crt, key, ca, NULL) != 0) {
		fprintf(stderr, "nap-bench: %s: %s\n", code, d->n ?
		    nap_errmsg(d->n) : "no memory");
		return -1;
	}
	nap_set_msg_cb(d->n, on_msg, d);
	nap_set_receipt_cb(d->n, on_rcpt, d);
	nap_set_state_cb(d->n, on_state, d);
	return 0;
}

/* A decimal in [min, max] into *out: 0, or -1. */
static int
parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static void
parse_args(struct bench *b, int argc, char **argv)
{
	int c, bad = 0, v;
	char *end;

	while ((c = getopt_long(argc, argv, "hs:S:d:n:m:w:p:c:D:f:ar:it:jP:q",
	    longopts, NULL)) != -1) {
		switch (c) {
		case 's': b->s1 = optarg; break;
		case 'S': b->s2 = optarg; break;
		case 'd': b->dir = optarg; break;
		case 'n': bad |= parse_int(optarg, 1, 2 * BENCH_MAX_REGION,
		    &b->n); break;
		case 'm': bad |= parse_int(optarg, 1, 100000000, &b->m); break;
		case 'w': bad |= parse_int(optarg, 1, 1024, &b->w); break;
		case 'p': bad |= parse_int(optarg, PAYLOAD_MIN, PAYLOAD_MAX,
		    &b->p); break;
		case 'c': bad |= parse_int(optarg, 1, 100000, &b->conc); break;
		case 'D': bad |= parse_int(optarg, 1, 86400, &b->deadline);
			break;
		case 't': bad |= parse_int(optarg, 1, 86400, &b->duration);
			break;
		case 'f':
			if (nap_code_parse(optarg, &b->first[0]) != 0)
				bad = -1;
			break;
		case 'a': b->ack = 1; break;
		case 'r':
			b->rate = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(b->rate >= 0) ||
			    b->rate > 1e9)
				bad = -1;
			break;
		case 'i': b->idle = 1; break;
		case 'A': b->spread = 1; break;
		case 'j': b->json = 1; break;
		case 'q': b->quiet = 1; break;
		case 'P':
			if (b->nproc == BENCH_MAX_PIDS ||
			    parse_int(optarg, 1, INT32_MAX, &v) != 0)
				bad = -1;
			else
				b->proc[b->nproc++].pid = (pid_t)v;
			break;
		case 'h': usage(stdout, 0); break;
		case 'V':
			printf("nap-bench %s\n", NAP_VERSION);
			exit(0);
		default: usage(stderr, 2);
		}
	}
	if (bad || optind != argc || check_args(b) != 0)
		usage(stderr, 2);
}

/* What the options cannot say alone: 0, or -1 after saying why. */
static int
check_args(struct bench *b)
{
	const char *why = NULL;

	b->t2 = b->s2 != NULL;
	b->nreg[0] = b->t2 ? b->n / 2 : b->n;
	b->nreg[1] = b->t2 ? b->n / 2 : 0;
	if (b->s1 == NULL || b->dir == NULL)
		why = "-s and -d are needed";
	else if (b->n < (b->idle ? 1 : 2) || (b->t2 && b->n % 2))
		why = "-n: at least 2 (1 with --idle), even with -S";
	else if ((b->first[0] & 0xFFFF) == 0 || (b->first[0] & 0xFFFF) +
	    (uint32_t)b->nreg[0] - 1 > 0xFFFF || b->nreg[1] > 0xFFFF)
		why = "the devices' codes must stay within their region "
		    "(node 0001..FFFF)";
	else if (b->idle && (b->ack || b->rate > 0))
		why = "--idle sends nothing: no --ack, no --rate";
	if (why != NULL)
		fprintf(stderr, "nap-bench: %s\n", why);
	return why != NULL ? -1 : 0;
}

/* Memory, descriptors, the loop, the handles: 0, or -1 said. */
static int
setup(struct bench *b)
{
	if (bench_nofile(b->n) != 0)
		return -1;
	if ((b->d = calloc((size_t)b->n, sizeof(*b->d))) == NULL ||
	    (b->refill = calloc((size_t)b->n, sizeof(*b->refill))) == NULL ||
	    (b->filler = malloc((size_t)b->p)) == NULL) {
		fprintf(stderr, "nap-bench: out of memory\n");
		return -1;
	}
	/* What a message's XML takes besides the filler, roughly. */
	memset(b->filler, 'x', (size_t)b->p - 40);
	b->filler[b->p - 40] = '\0';
	/* Baselines: nothing of ours is connected or loaded yet. */
	bench_procs_sample(b, 0);
	if (bench_loop_init(b) != 0)
		return -1;
	for (int i = 0; i < b->n; i++)
		if (dev_new(b, i) != 0)
			return -1;
	return 0;
}

/* Logins, at most conc under way at once, until all are in or failed. */
static void
connect_all(struct bench *b)
{
	int64_t end = b->t0 + (int64_t)b->deadline * 1000000;

	b->phase = BENCH_CONNECT;
	b->next_progress = b->t0 + 1000000;
	while (b->settled < b->n && mono_us() < end && !b->spread_failed) {
		while (b->started < b->n && b->started - b->settled < b->conc)
			(void)bench_start(b, b->started++);
		bench_turn(b, 50);
		bench_progress(b, 0);
	}
}

/* Every message arrived (and, with --ack, every receipt came). */
static int
load_done(const struct bench *b)
{
	uint64_t want = (uint64_t)b->n * (uint64_t)b->m;

	return b->received >= want && (!b->ack || b->delivered + b->errors +
	    b->unknown >= want);
}

/* The measured phase: the load, or the idle hold. */
static void
run_phase(struct bench *b)
{
	int64_t end = b->t0 + (int64_t)b->deadline * 1000000;

	b->t_on = mono_us();
	bench_procs_sample(b, 1);
	if (b->idle) {
		b->phase = BENCH_HOLD;
		end = b->t_on + (int64_t)b->duration * 1000000;
		while (mono_us() < end && !b->spread_failed) {
			bench_turn(b, 200);
			bench_progress(b, 0);
		}
	} else {
		b->phase = BENCH_LOAD;
		for (int i = 0; i < b->n; i++)
			bench_fill(b, i), bench_touch(b, i);
		while (!load_done(b) && mono_us() < end && b->closed == 0) {
			if (b->rate > 0)
				pace(b);
			bench_turn(b, b->rate > 0 ? 1 : 50);
			bench_progress(b, 0);
		}
	}
	b->t_end = mono_us();
	bench_procs_sample(b, 2);
	b->phase = BENCH_DONE;
}

/*
 * Logs every device out (§5): what each received is confirmed first, so
 * that the next run does not get it again from the store.
 */
static void
teardown(struct bench *b)
{
	for (int i = 0; b->d != NULL && i < b->n; i++) {
		if (b->d[i].n != NULL && b->d[i].online && !b->d[i].closed)
			(void)nap_close(b->d[i].n, 1000);
		nap_free(b->d[i].n);
	}
	bench_loop_free(b);
	free(b->d);
	free(b->refill);
	free(b->filler);
}

int
main(int argc, char **argv)
{
	struct bench b = { .n = 200, .m = 1000, .w = 8, .p = 200, .conc = 64,
	    .deadline = 120, .duration = 10, .ep = -1,
	    .first = { 0x00010001, 0x00020001 },
	    .rng = 88172645463325252ull };
	int ok;

	parse_args(&b, argc, argv);
	if (setup(&b) != 0) {
		teardown(&b);
		return 1;
	}
	b.t0 = mono_us();
	connect_all(&b);
	run_phase(&b);
	bench_report(&b);
	if (b.idle)
		ok = b.closed == 0 && b.online == b.n;
	else
		ok = load_done(&b) && b.closed == 0;
	for (int k = 0; k < b.nproc; k++)
		ok = ok && b.proc[k].ok;
	teardown(&b);
	return ok && !b.spread_failed ? 0 : 1;
}
