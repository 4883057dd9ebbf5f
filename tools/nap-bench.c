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
 * Certificates come from a nap-certs directory (CODE.crt, CODE.key,
 * ca.crt).  Traffic goes to loopback addresses only.
 */
#define _GNU_SOURCE	/* memmem */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "clock.h"
#include "nap.h"
#include "proto.h"

#ifndef NAP_VERSION
#define NAP_VERSION	"unknown"	/* the Makefile passes configure's */
#endif

#define MAX_DEVICES	20000
#define PAYLOAD_MIN	48

struct bdev {
	struct nap	*n;
	uint32_t	 code;
	int		 region;	/* 0 or 1 (T2) */
	unsigned	 sent, inflight, received;
	int		 online, closed;
};

struct bench {
	struct bdev	*d;
	int		 n, m, w, p, t2, conc, deadline;
	uint32_t	 first[2];
	int		 nreg[2];	/* devices per region */
	uint64_t	 rng;
	char		*filler;
	uint32_t	*lat;		/* µs, one per message received */
	uint64_t	 nlat, received, dups, errors;
	int		 online, closed;
};

static uint32_t
rnd(struct bench *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return (uint32_t)b->rng;
}

/* The usage on f, then exit status (0 for -h, 2 for bad usage). */
static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: nap-bench -s HOST:PORT [-S HOST:PORT] -d PKIDIR "
	    "[-n N] [-m M] [-w W] [-p BYTES] [-c CONC] [-D SECONDS] "
	    "[-f FIRSTCODE]\n"
	    "       nap-bench -h | --help | --version\n"
	    "  -s server of region 0001 (T1: every device)  -S server of "
	    "region 0002 (T2)\n"
	    "  -d nap-certs directory: ca.crt, CODE.crt, CODE.key\n"
	    "  -n devices (200)  -m messages each (1000)  -w in flight each "
	    "(8)\n  -p payload bytes (200)  -c handshakes at once (64)  "
	    "-D deadline s (120)\n");
	exit(status);
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
	int r = (int)(code >> 16) == (int)(b->first[1] >> 16) && b->t2;
	long k = (long)(code - b->first[r]);

	if (k < 0 || k >= b->nreg[r])
		return -1;
	return b->t2 ? (int)(2 * k + r) : (int)k;
}

/* Tops the device's window up (refilled in halves, like shared/bench). */
static void
fill(struct bench *b, int i)
{
	struct bdev *d = &b->d[i];
	char params[70000];
	int len;

	if (!d->online || d->inflight > (unsigned)b->w / 2)
		return;
	while (d->inflight < (unsigned)b->w && d->sent < (unsigned)b->m) {
		struct bdev *peer = &b->d[pick_peer(b, i)];

		len = snprintf(params, sizeof(params), "<b t=\"%lld\">%s</b>",
		    (long long)mono_us(), b->filler);
		if (nap_send(d->n, ENV_T_APP, peer->code, params, (size_t)len,
		    0, NULL) != 0)
			break;		/* queue full: the next turn */
		d->sent++;
		d->inflight++;
	}
}

static void
on_msg(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct bench *b = arg;
	size_t len;
	const char *p = nap_msg_parameters(m, &len), *t;
	int from = idx_of(b, nap_msg_from(m));

	(void)n;
	if (nap_msg_type(m) != ENV_T_APP || from < 0 || p == NULL ||
	    (t = memmem(p, len, "t=\"", 3)) == NULL)
		return;
	if (b->nlat < (uint64_t)b->n * (uint64_t)b->m)
		b->lat[b->nlat++] = (uint32_t)(mono_us() - strtoll(t + 3, NULL,
		    10));
	b->received++;
	if (b->d[from].inflight > 0)
		b->d[from].inflight--;
}

static void
on_rcpt(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct bench *b = arg;

	(void)n;
	if (r->status == NAP_RCPT_ERROR)
		b->errors++;
}

static void
on_state(struct nap *n, enum nap_state st, int err, void *arg)
{
	struct bench *b = arg;
	struct bdev *d = NULL;

	(void)err;
	for (int i = 0; i < b->n && d == NULL; i++)	/* rare: logins */
		if (b->d[i].n == n)
			d = &b->d[i];
	if (d == NULL)
		return;
	if (st == NAP_ST_ONLINE && !d->online) {
		d->online = 1;
		b->online++;
	} else if ((st == NAP_ST_CLOSED || st == NAP_ST_BACKOFF) &&
	    !d->closed) {
		d->closed = 1;
		b->closed++;
		fprintf(stderr, "nap-bench: %08X: %s\n", d->code,
		    nap_errmsg(n));
	}
}

static int
dev_new(struct bench *b, int i, const char *server, const char *dir)
{
	struct bdev *d = &b->d[i];
	char code[9], crt[4096], key[4096], ca[4096];

	nap_code_format(d->code, code);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, code);
	snprintf(key, sizeof(key), "%s/%s.key", dir, code);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	if ((d->n = nap_new()) == NULL ||
	    nap_set_server_str(d->n, server) != 0 ||
	    nap_set_tls(d->n, crt, key, ca, NULL) != 0) {
		fprintf(stderr, "nap-bench: %s: %s\n", code, d->n ?
		    nap_errmsg(d->n) : "no memory");
		return -1;
	}
	nap_set_msg_cb(d->n, on_msg, b);
	nap_set_receipt_cb(d->n, on_rcpt, b);
	nap_set_state_cb(d->n, on_state, b);
	return 0;
}

/* One poll() over every handle that has a socket; timers included. */
static void
turn(struct bench *b, struct pollfd *p, int max_ms)
{
	int wait = max_ms, t;

	for (int i = 0; i < b->n; i++) {
		p[i].fd = b->d[i].closed ? -1 : nap_fd(b->d[i].n);
		p[i].events = POLLIN | (nap_want_write(b->d[i].n) ? POLLOUT : 0);
		p[i].revents = 0;
		if (p[i].fd >= 0 && (t = nap_next_timeout_ms(b->d[i].n)) >= 0 &&
		    t < wait)
			wait = t;
	}
	if (poll(p, (nfds_t)b->n, wait) == -1 && errno != EINTR)
		return;
	for (int i = 0; i < b->n; i++) {
		int ev = 0;

		if (b->d[i].closed || p[i].fd < 0)
			continue;
		if (p[i].revents & (POLLIN | POLLERR | POLLHUP))
			ev |= NAP_READ;
		if (p[i].revents & (POLLOUT | POLLERR))
			ev |= NAP_WRITE;
		if (ev != 0 || nap_next_timeout_ms(b->d[i].n) == 0)
			(void)nap_process(b->d[i].n, ev);
		fill(b, i);
	}
}

static int
cmp_u32(const void *a, const void *c)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)c;

	return x < y ? -1 : x > y;
}

static void
report(struct bench *b, double secs, double conn_s)
{
	uint64_t want = (uint64_t)b->n * (uint64_t)b->m;
	double p50 = 0, p99 = 0, max = 0;

	if (b->nlat > 0) {
		qsort(b->lat, b->nlat, sizeof(*b->lat), cmp_u32);
		p50 = b->lat[b->nlat / 2] / 1000.0;
		p99 = b->lat[b->nlat * 99 / 100] / 1000.0;
		max = b->lat[b->nlat - 1] / 1000.0;
	}
	printf("nap-bench topo=T%d n=%d m=%d w=%d p=%d sent=%llu recv=%llu "
	    "lost=%llu rate=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	    "conn_s=%.3f errors=%llu closed=%d\n", b->t2 ? 2 : 1, b->n, b->m,
	    b->w, b->p, (unsigned long long)want,
	    (unsigned long long)b->received, (unsigned long long)(want >
	    b->received ? want - b->received : 0), secs > 0 ?
	    (double)b->received / secs : 0, p50, p99, max, conn_s,
	    (unsigned long long)b->errors, b->closed);
}

static void
parse_args(struct bench *b, int argc, char **argv, const char **s1,
    const char **s2, const char **dir)
{
	int c;

	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0)
			usage(stdout, 0);
		if (strcmp(argv[i], "--version") == 0) {
			printf("nap-bench %s\n", NAP_VERSION);
			exit(0);
		}
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][1] == '-') {
			fprintf(stderr, "nap-bench: unknown option '%s'\n",
			    argv[i]);
			usage(stderr, 2);
		}
	}
	while ((c = getopt(argc, argv, "hs:S:d:n:m:w:p:c:D:f:")) != -1) {
		switch (c) {
		case 's': *s1 = optarg; break;
		case 'S': *s2 = optarg; break;
		case 'd': *dir = optarg; break;
		case 'n': b->n = atoi(optarg); break;
		case 'm': b->m = atoi(optarg); break;
		case 'w': b->w = atoi(optarg); break;
		case 'p': b->p = atoi(optarg); break;
		case 'c': b->conc = atoi(optarg); break;
		case 'D': b->deadline = atoi(optarg); break;
		case 'h': usage(stdout, 0); break;
		case 'f':
			if (nap_code_parse(optarg, &b->first[0]) != 0)
				usage(stderr, 2);
			break;
		default: usage(stderr, 2);
		}
	}
	if (*s1 == NULL || *dir == NULL || b->n < 2 || b->n > MAX_DEVICES ||
	    b->m < 1 || b->w < 1 || b->p < PAYLOAD_MIN || b->p > 65536 ||
	    b->conc < 1 || b->deadline < 1 || (*s2 != NULL && b->n % 2))
		usage(stderr, 2);
}

int
main(int argc, char **argv)
{
	struct bench b = { .n = 200, .m = 1000, .w = 8, .p = 200, .conc = 64,
	    .deadline = 120, .first = { 0x00010001, 0x00020001 },
	    .rng = 88172645463325252ull };
	const char *s1 = NULL, *s2 = NULL, *dir = NULL;
	struct pollfd *p;
	int64_t t0, t_on, end;
	int started = 0;

	parse_args(&b, argc, argv, &s1, &s2, &dir);
	b.t2 = s2 != NULL;
	b.nreg[0] = b.t2 ? b.n / 2 : b.n;
	b.nreg[1] = b.t2 ? b.n / 2 : 0;
	if ((b.d = calloc((size_t)b.n, sizeof(*b.d))) == NULL ||
	    (p = calloc((size_t)b.n, sizeof(*p))) == NULL ||
	    (b.lat = calloc((size_t)b.n * (size_t)b.m, sizeof(*b.lat))) ==
	    NULL || (b.filler = malloc((size_t)b.p)) == NULL) {
		fprintf(stderr, "nap-bench: out of memory\n");
		return 1;
	}
	/* What a message's XML takes besides the filler, roughly. */
	memset(b.filler, 'x', (size_t)b.p - 40);
	b.filler[b.p - 40] = '\0';
	for (int i = 0; i < b.n; i++) {
		b.d[i].region = b.t2 ? i % 2 : 0;
		b.d[i].code = b.first[b.d[i].region] + (uint32_t)(b.t2 ? i / 2 :
		    i);
		if (dev_new(&b, i, b.d[i].region ? s2 : s1, dir) == -1)
			return 1;
	}
	t0 = mono_us();
	end = t0 + (int64_t)b.deadline * 1000000;
	/* Logins, at most conc under way at once; traffic once all are in. */
	while (b.online + b.closed < b.n && mono_us() < end) {
		while (started < b.n && started - b.online - b.closed < b.conc)
			if (nap_connect_start(b.d[started++].n) != 0)
				b.d[started - 1].closed = 1, b.closed++;
		turn(&b, p, 50);
	}
	t_on = mono_us();
	while (b.received < (uint64_t)b.n * (uint64_t)b.m && mono_us() < end &&
	    b.closed == 0)
		turn(&b, p, 50);
	report(&b, (double)(mono_us() - t_on) / 1e6, (double)(t_on - t0) /
	    1e6);
	for (int i = 0; i < b.n; i++)
		nap_free(b.d[i].n);
	return b.received == (uint64_t)b.n * (uint64_t)b.m && b.closed == 0 ?
	    0 : 1;
}
