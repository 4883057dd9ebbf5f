/*
 * iopool.c - a server's accepting thread, its I/O workers and their
 * inboxes (iopool.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/listener.h>
#include <event2/thread.h>

#include "frames.h"
#include "iopool.h"
#include "log.h"

static void	*worker_main(void *);
static void	 tick_cb(evutil_socket_t, short, void *);
static void	 turn_cb(evutil_socket_t, short, void *);
static void	 wake_cb(evutil_socket_t, short, void *);
static void	 stop_check_cb(evutil_socket_t, short, void *);
static void	 drain_inbox(struct iop_worker *, struct evbuffer *);
static void	 accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static int	 worker_init(struct iopool *, struct iop_worker *, int);
static void	 request(struct iop_worker *, int *);

/*
 * One iopool_call_all(): shared by the caller and the workers' events,
 * freed by the last of them (refs).  fn runs under mu, so that once the
 * caller gave up (abandoned) no worker touches arg again.
 */
struct iop_call {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	iop_call_fn	 fn;
	void		*arg;
	int		 refs, done, abandoned;
};
struct iop_call_ev {
	struct iop_call		*call;
	struct iop_worker	*w;
};
static void	 call_cb(evutil_socket_t, short, void *);
static void	 call_unref(struct iop_call *);

static void *
worker_main(void *arg)
{
	struct iop_worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "io%d", w->idx);
	log_set_thread_name(name);
	w->pool->ops->start(w);
	/* Runs until iopool_stop(): the wake event is only ever activated. */
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	w->pool->ops->end(w);
	return NULL;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct iop_worker *w = arg;

	(void)fd;
	(void)ev;
	w->now = (time_t)(mono_ms() / 1000);
	w->pool->ops->tick(w);
	iop_flush(w);
}

/*
 * Activated while the loop runs the events of a turn, it joins the tail
 * of the active queue (one priority for all): it runs after the events
 * that were ready with it, and never starves behind new ones.
 */
static void
turn_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct iop_worker *w = arg;

	(void)fd;
	(void)ev;
	if (w->pool->ops->turn_end != NULL)
		w->pool->ops->turn_end(w);
	iop_flush(w);
}

void
iop_turn_end(struct iop_worker *w)
{
	if (!event_pending(w->turn, EV_TIMEOUT, NULL))
		event_active(w->turn, EV_TIMEOUT, 0);
}

static int
worker_init(struct iopool *p, struct iop_worker *w, int idx)
{
	struct timeval quarter = { 0, 250000 };

	w->pool = p;
	w->idx = idx;
	pthread_mutex_init(&w->mu, NULL);
	if ((w->base = event_base_new()) == NULL ||
	    (w->wake = event_new(w->base, -1, 0, wake_cb, w)) == NULL ||
	    (w->stop_timer = evtimer_new(w->base, stop_check_cb, w)) ==
	    NULL || (w->inbox = evbuffer_new()) == NULL ||
	    (w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w)) ==
	    NULL || event_add(w->tick, &quarter) == -1 ||
	    (w->turn = event_new(w->base, -1, 0, turn_cb, w)) == NULL)
		return -1;
	w->now = (time_t)(mono_ms() / 1000);
	return iop_outbox_init(&w->out, p->n);
}

int
iopool_init(struct iopool *p, int n, struct iop_worker **ws,
    const struct iop_ops *ops, size_t isz)
{
	if (isz < sizeof(struct iop_head) || isz > IOP_ITEM_MAX)
		return -1;
	p->ops = ops;
	p->n = n;
	p->isz = isz;
	for (int i = 0; i < n; i++) {
		p->w[i] = ws[i];
		if (worker_init(p, ws[i], i) == -1)
			return -1;
	}
	return 0;
}

static uint32_t
item_len(const void *item)
{
	struct iop_head h;

	memcpy(&h, item, sizeof(h));
	return h.len;
}

void
iop_send(struct iop_worker *w, int dest, void *item, const uint8_t *frame)
{
	if (dest == w->idx) {
		w->pool->ops->item(w, item, frame);
		return;
	}
	iop_outbox_add(&w->out, dest, item, w->pool->isz, frame,
	    item_len(item), NULL, 0);
}

void
iop_flush(struct iop_worker *w)
{
	iop_outbox_flush(w->pool, &w->out);
}

int
iop_outbox_init(struct iop_outbox *ob, int n)
{
	for (int i = 0; i < n; i++)
		if ((ob->q[i] = evbuffer_new()) == NULL)
			return -1;
	return 0;
}

void
iop_outbox_free(struct iop_outbox *ob, int n)
{
	for (int i = 0; i < n; i++)
		if (ob->q[i] != NULL) {
			evbuffer_free(ob->q[i]);
			ob->q[i] = NULL;
		}
}

void
iop_outbox_add(struct iop_outbox *ob, int dest, const void *item, size_t isz,
    const void *a, size_t alen, const void *b, size_t blen)
{
	evbuffer_add(ob->q[dest], item, isz);
	if (alen > 0)
		evbuffer_add(ob->q[dest], a, alen);
	if (blen > 0)
		evbuffer_add(ob->q[dest], b, blen);
	ob->dirty |= 1ull << dest;
}

/* One lock and one wake-up per destination worker and batch. */
void
iop_outbox_flush(struct iopool *p, struct iop_outbox *ob)
{
	while (ob->dirty != 0) {
		int d = __builtin_ctzll(ob->dirty);
		struct iop_worker *o = p->w[d];

		ob->dirty &= ob->dirty - 1;
		pthread_mutex_lock(&o->mu);
		evbuffer_add_buffer(o->inbox, ob->q[d]);
		pthread_mutex_unlock(&o->mu);
		event_active(o->wake, EV_READ, 0);
	}
}

void
iop_post_all(struct iopool *p, const void *item)
{
	for (int i = 0; i < p->n; i++) {
		struct iop_worker *o = p->w[i];

		pthread_mutex_lock(&o->mu);
		evbuffer_add(o->inbox, item, p->isz);
		pthread_mutex_unlock(&o->mu);
		event_active(o->wake, EV_READ, 0);
	}
}

static void
drain_inbox(struct iop_worker *w, struct evbuffer *in)
{
	_Alignas(max_align_t) uint8_t it[IOP_ITEM_MAX];
	size_t isz = w->pool->isz;
	uint32_t len;
	uint8_t *f;

	while (evbuffer_get_length(in) >= isz) {
		evbuffer_remove(in, it, isz);
		len = item_len(it);
		f = len ? evbuffer_pullup(in, len) : NULL;
		w->pool->ops->item(w, it, f);
		evbuffer_drain(in, len);
	}
	iop_flush(w);
}

static void
wake_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct iop_worker *w = arg;
	const struct iop_ops *ops = w->pool->ops;
	struct evbuffer *in = evbuffer_new();
	int *fds, stop, reload;
	size_t n;

	(void)fd;
	(void)ev;
	if (in == NULL)
		fatalx("worker %d: no memory", w->idx);
	pthread_mutex_lock(&w->mu);
	evbuffer_add_buffer(in, w->inbox);
	fds = w->newfds;
	n = w->nnew;
	w->newfds = NULL;
	w->nnew = w->capnew = 0;
	stop = w->stop_req;
	reload = w->reload_req;
	w->reload_req = 0;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		if (stop)
			close(fds[i]);
		else
			ops->adopt(w, fds[i]);
	}
	free(fds);
	drain_inbox(w, in);
	evbuffer_free(in);
	if (reload && ops->reload != NULL)
		ops->reload(w);
	if (stop && !w->stopping) {
		struct timeval tv = { 0, 50000 };

		w->stopping = 1;
		ops->logout(w);
		iop_flush(w);
		evtimer_add(w->stop_timer, &tv);
	}
}

/* After Logout to every peer: exit once all links flushed, or after 3 s. */
static void
stop_check_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct iop_worker *w = arg;
	struct timeval tv = { 0, 50000 };

	(void)fd;
	(void)ev;
	if (w->nlinks == 0 || ++w->stopping > 60) {
		w->pool->ops->destroy(w);
		/* The releases scheduled by the closes run before the exit. */
		event_base_loopexit(w->base, &tv);
		return;
	}
	evtimer_add(w->stop_timer, &tv);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct iopool *p = arg;
	struct iop_worker *w;
	int one = 1, *nf;

	(void)l;
	(void)sa;
	(void)salen;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Workers from p->first on take the accepted links, in turn. */
	w = p->w[p->first + (int)(atomic_fetch_add(&p->rr, 1) %
	    (unsigned)(p->n - p->first))];
	pthread_mutex_lock(&w->mu);
	if (w->nnew == w->capnew) {
		size_t cap = w->capnew ? w->capnew * 2 : 64;

		if ((nf = realloc(w->newfds, cap * sizeof(int))) == NULL) {
			pthread_mutex_unlock(&w->mu);
			log_warnx("accept: no memory, connection dropped");
			close(fd);
			return;
		}
		w->newfds = nf;
		w->capnew = cap;
	}
	w->newfds[w->nnew++] = fd;
	pthread_mutex_unlock(&w->mu);
	event_active(w->wake, EV_READ, 0);
}

int
iopool_start(struct iopool *p, struct event_base *base,
    const struct conf_addr *addr, char *err, size_t errlen)
{
	if (listener_open(&p->lis, base, addr, accept_cb, p, err,
	    errlen) == -1)
		return -1;
	for (int i = 0; i < p->n; i++)
		if (pthread_create(&p->w[i]->tid, NULL, worker_main,
		    p->w[i]) != 0) {
			snprintf(err, errlen, "pthread_create: %s",
			    strerror(errno));
			return -1;
		}
	return 0;
}

/* Sets a flag of every worker (stop_req or reload_req) and wakes it. */
static void
request(struct iop_worker *w, int *flag)
{
	pthread_mutex_lock(&w->mu);
	*flag = 1;
	pthread_mutex_unlock(&w->mu);
	event_active(w->wake, EV_READ, 0);
}

void
iopool_stop(struct iopool *p)
{
	listener_close(&p->lis);
	for (int i = 0; i < p->n; i++)
		request(p->w[i], &p->w[i]->stop_req);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->w[i]->tid, NULL);
}

void
iopool_reload(struct iopool *p)
{
	for (int i = 0; i < p->n; i++)
		request(p->w[i], &p->w[i]->reload_req);
}

void
iopool_hold_accept(struct iopool *p, int hold)
{
	listener_hold(&p->lis, hold);
}

void
iopool_free(struct iopool *p)
{
	for (int i = 0; i < p->n; i++) {
		struct iop_worker *w = p->w[i];

		if (w == NULL)
			continue;
		iop_outbox_free(&w->out, p->n);
		if (w->inbox != NULL)
			evbuffer_free(w->inbox);
		if (w->wake != NULL)
			event_free(w->wake);
		if (w->stop_timer != NULL)
			event_free(w->stop_timer);
		if (w->tick != NULL)
			event_free(w->tick);
		if (w->turn != NULL)
			event_free(w->turn);
		if (w->base != NULL)
			event_base_free(w->base);
		free(w->newfds);
		pthread_mutex_destroy(&w->mu);
	}
	listener_close(&p->lis);
}

static void
call_unref(struct iop_call *c)
{
	int last;

	pthread_mutex_lock(&c->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (!last)
		return;
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* On the worker's thread: its part of the call. */
static void
call_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct iop_call_ev *e = arg;
	struct iop_call *c = e->call;

	(void)fd;
	(void)ev;
	pthread_mutex_lock(&c->mu);
	if (!c->abandoned) {
		c->fn(e->w, c->arg);
		iop_turn_end(e->w);	/* what fn queued leaves this turn */
		c->done++;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	call_unref(c);
	free(e);
}

/* The call and each event are the pool's: the last user frees them. */
int
iopool_call_all(struct iopool *p, iop_call_fn fn, void *arg, int timeout_ms)
{
	struct timeval now_tv = { 0, 0 };
	struct iop_call *c;
	struct timespec dl;
	int posted = 0, done;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return 0;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->fn = fn;
	c->arg = arg;
	c->refs = 1;
	for (int i = 0; i < p->n; i++) {
		struct iop_call_ev *e = malloc(sizeof(*e));

		if (e == NULL)
			continue;
		e->call = c;
		e->w = p->w[i];
		pthread_mutex_lock(&c->mu);
		c->refs++;
		pthread_mutex_unlock(&c->mu);
		/* The worker's base is notifiable (evthread_use_pthreads):
		 * an event added from here wakes its loop. */
		if (event_base_once(p->w[i]->base, -1, EV_TIMEOUT, call_cb, e,
		    &now_tv) == -1) {
			free(e);
			pthread_mutex_lock(&c->mu);
			c->refs--;
			pthread_mutex_unlock(&c->mu);
			continue;
		}
		posted++;
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->mu);
	while (c->done < posted &&
	    pthread_cond_timedwait(&c->cv, &c->mu, &dl) == 0)
		;
	done = c->done;
	c->abandoned = 1;
	pthread_mutex_unlock(&c->mu);
	call_unref(c);
	return done;
}
