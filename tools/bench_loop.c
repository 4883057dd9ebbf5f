/*
 * bench_loop.c - one epoll over every libnap handle (nap.h's event-loop
 * use): nap_fd() watched for reading, and for writing while
 * nap_want_write(); nap_process() on events and when the handle's own
 * timer (nap_next_timeout_ms) is due.
 *
 * A turn costs what happened in it, not N: a handle is looked at again
 * (its registration, its timer) only after a call into libnap for it
 * ("touched"); its timer can only move then.  Timers are kept as one
 * deadline per device and scanned only when the soonest is due.
 */
#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "bench_internal.h"
#include "clock.h"

#define EVENTS_MAX	1024

static void	sync_fd(struct bench *, struct bdev *, int);
static void	timers(struct bench *);
static void	drain_refill(struct bench *);

/* 0, or -1 after saying why. */
int
bench_loop_init(struct bench *b)
{
	if ((b->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fprintf(stderr, "nap-bench: epoll_create1: %s\n",
		    strerror(errno));
		return -1;
	}
	b->min_due = INT64_MAX;
	return 0;
}

void
bench_loop_free(struct bench *b)
{
	if (b->ep >= 0)
		close(b->ep);
	b->ep = -1;
}

/*
 * The epoll registration of device i follows its handle: the socket
 * changes on (re)connection and is gone once closed.  A closed socket
 * left epoll by itself, and its number may already be another device's:
 * EPOLL_CTL_DEL on it then fails (ENOENT, EBADF) or is done by its new
 * owner first, which is why a failing DEL is ignored and ADD falls back
 * to MOD.
 */
static void
sync_fd(struct bench *b, struct bdev *d, int i)
{
	int fd = d->closed ? -1 : nap_fd(d->n);
	uint32_t ev = EPOLLIN | (fd >= 0 && nap_want_write(d->n) ? EPOLLOUT :
	    0);
	struct epoll_event e = { .events = ev, .data.u32 = (uint32_t)i };

	if (fd == d->regfd && (fd < 0 || ev == d->regev))
		return;
	if (fd != d->regfd && d->regfd >= 0)
		(void)epoll_ctl(b->ep, EPOLL_CTL_DEL, d->regfd, NULL);
	if (fd >= 0 && fd != d->regfd) {
		if (epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &e) == -1 &&
		    errno == EEXIST)
			(void)epoll_ctl(b->ep, EPOLL_CTL_MOD, fd, &e);
	} else if (fd >= 0)
		(void)epoll_ctl(b->ep, EPOLL_CTL_MOD, fd, &e);
	d->regfd = fd;
	d->regev = ev;
}

/* After any libnap call for device i: its socket and its timer. */
void
bench_touch(struct bench *b, int i)
{
	struct bdev *d = &b->d[i];
	int t = d->closed ? -1 : nap_next_timeout_ms(d->n);

	sync_fd(b, d, i);
	d->due = t < 0 ? -1 : mono_ms() + t;
	if (d->due >= 0 && d->due < b->min_due)
		b->min_due = d->due;
}

/* Starts device i's login: 0, or -1 (it counts as closed). */
int
bench_start(struct bench *b, int i)
{
	struct bdev *d = &b->d[i];

	if (b->spread) {	/* its own source address (nap_set_local) */
		char src[INET_ADDRSTRLEN];

		bench_spread_addr(i, src, sizeof(src));
		if (nap_set_local(d->n, src) != 0)
			fprintf(stderr, "nap-bench: %08X: %s\n", d->code,
			    nap_errmsg(d->n));
	}
	if (nap_connect_start(d->n) != 0) {
		fprintf(stderr, "nap-bench: %08X: %s\n", d->code,
		    nap_errmsg(d->n));
		if (!d->closed) {
			d->closed = 1;
			b->closed++;
		}
		bench_touch(b, i);
		return -1;
	}
	bench_touch(b, i);
	return 0;
}

/* The handles whose timer is due; then the soonest deadline again. */
static void
timers(struct bench *b)
{
	int64_t now = mono_ms(), min = INT64_MAX;

	for (int i = 0; i < b->n; i++) {
		struct bdev *d = &b->d[i];

		if (d->due >= 0 && d->due <= now && !d->closed) {
			(void)nap_process(d->n, 0);
			bench_touch(b, i);
		}
		if (d->due >= 0 && d->due < min)
			min = d->due;
	}
	b->min_due = min;
}

/* Devices a received message credited: top their windows up. */
static void
drain_refill(struct bench *b)
{
	/* bench_fill() may credit nobody: the list does not grow here. */
	for (int k = 0; k < b->nrefill; k++) {
		int i = b->refill[k];

		b->d[i].queued = 0;
		bench_fill(b, i);
		bench_touch(b, i);
	}
	b->nrefill = 0;
}

/* Waits at most max_ms for events, handles them and the due timers. */
void
bench_turn(struct bench *b, int max_ms)
{
	struct epoll_event ev[EVENTS_MAX];
	int64_t now = mono_ms();
	int wait = max_ms, k;

	if (b->min_due <= now || b->nrefill > 0)
		wait = 0;
	else if (b->min_due - now < wait)
		wait = (int)(b->min_due - now);
	if ((k = epoll_wait(b->ep, ev, EVENTS_MAX, wait)) == -1) {
		if (errno != EINTR)
			fprintf(stderr, "nap-bench: epoll_wait: %s\n",
			    strerror(errno));
		k = 0;
	}
	for (int j = 0; j < k; j++) {
		int i = (int)ev[j].data.u32, flags = 0;
		struct bdev *d = &b->d[i];

		if (d->closed)
			continue;
		if (ev[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			flags |= NAP_READ;
		if (ev[j].events & (EPOLLOUT | EPOLLERR))
			flags |= NAP_WRITE;
		(void)nap_process(d->n, flags);
		bench_touch(b, i);
	}
	if (mono_ms() >= b->min_due)
		timers(b);
	drain_refill(b);
}
