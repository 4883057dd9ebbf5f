/*
 * server.c - nap-platform's threads: the accepting main thread, the I/O
 * workers, and the inboxes by which they hand each other frames, kicks
 * and RouteUpdate broadcasts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/listener.h>
#include <event2/thread.h>

#include "listen.h"
#include "log.h"
#include "platform.h"
#include "tls.h"

static struct listener	lis;	/* one per process: main thread only */

static void	*worker_main(void *);
static time_t	 mono_now(void);
static void	 tick_cb(evutil_socket_t, short, void *);
static void	 wake_cb(evutil_socket_t, short, void *);
static void	 stop_check_cb(evutil_socket_t, short, void *);
static void	 drain_inbox(struct worker *, struct evbuffer *);
static void	 take_item(struct worker *, const struct item *,
		    const uint8_t *);
static void	 accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static int	 worker_init(struct server *, struct worker *, int);

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "io%d", w->idx);
	log_set_thread_name(name);
	if ((w->parser = env_parser_new((uint32_t)w->srv->conf.max_frame)) ==
	    NULL)
		fatalx("worker %d: no memory for a parser", w->idx);
	/* Runs until server_stop(): the wake event is only ever activated. */
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	link_release_all(w);
	env_parser_free(w->parser);
	return NULL;
}

static time_t
mono_now(void)
{
	return (time_t)(mono_ms() / 1000);
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)ev;
	w->now = mono_now();
	link_sweep(w);
	worker_flush(w);
}

static int
worker_init(struct server *s, struct worker *w, int idx)
{
	struct timeval quarter = { 0, 250000 };	/* 4 sweeps a second */

	w->srv = s;
	w->idx = idx;
	w->held_cap = s->conf.in_cap / (size_t)s->nworkers;
	pthread_mutex_init(&w->mu, NULL);
	/* A stamped frame is at most max_frame bytes after its prefix. */
	if ((w->scratch = malloc(s->conf.max_frame + 4)) == NULL ||
	    (w->base = event_base_new()) == NULL ||
	    (w->wake = event_new(w->base, -1, 0, wake_cb, w)) == NULL ||
	    (w->stop_timer = evtimer_new(w->base, stop_check_cb, w)) ==
	    NULL || (w->inbox = evbuffer_new()) == NULL ||
	    (w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w)) ==
	    NULL || event_add(w->tick, &quarter) == -1)
		return -1;
	w->now = mono_now();
	for (int i = 0; i < s->nworkers; i++)
		if ((w->outq[i] = evbuffer_new()) == NULL)
			return -1;
	return 0;
}

/* This worker's link with that id, or NULL. */
struct link *
worker_link(struct worker *w, uint32_t id)
{
	struct link *l;

	for (l = w->byid[id % ID_BUCKETS]; l != NULL; l = l->idnext)
		if (l->id == id)
			return l;
	return NULL;
}

/*
 * Queues an item for the link found at `where' (a table value: link id
 * << 16 | worker + 1), sent in one batch per destination worker by
 * worker_flush().  A link of this worker is served at once.  code names
 * the destination (a domain's code or a device's) so that a frame whose
 * link went away can be sent to its successor or refused (§5: never
 * stored).
 */
void
worker_send(struct worker *w, uint64_t where, enum item_kind kind,
    uint32_t code, const uint8_t *frame, size_t len)
{
	struct item it = { .kind = (uint8_t)kind, .code = code,
	    .id = (uint32_t)(where >> 16), .len = (uint32_t)len };
	int d = (int)(where & 0xffff) - 1;

	if (d == w->idx || d < 0) {
		take_item(w, &it, frame);
		return;
	}
	evbuffer_add(w->outq[d], &it, sizeof(it));
	if (len > 0)
		evbuffer_add(w->outq[d], frame, len);
	w->dirty |= 1ull << d;
}

/*
 * A region went up or down: every worker hears of it through its inbox,
 * directly rather than through the batches, so that all changes reach
 * every worker in the order of their numbers.  Called under rt_mu.
 */
void
worker_post_route(struct worker *w, uint16_t region, bool up, uint64_t gen)
{
	struct server *s = w->srv;
	struct item it = { .kind = IT_ROUTE, .up = up, .code = region,
	    .gen = gen };

	for (int i = 0; i < s->nworkers; i++) {
		struct worker *o = &s->w[i];

		pthread_mutex_lock(&o->mu);
		evbuffer_add(o->inbox, &it, sizeof(it));
		pthread_mutex_unlock(&o->mu);
		event_active(o->wake, EV_READ, 0);
	}
}

/* Moves every local batch to its worker's inbox: one lock per worker. */
void
worker_flush(struct worker *w)
{
	struct server *s = w->srv;

	while (w->dirty != 0) {
		int d = __builtin_ctzll(w->dirty);
		struct worker *o = &s->w[d];

		w->dirty &= w->dirty - 1;
		pthread_mutex_lock(&o->mu);
		evbuffer_add_buffer(o->inbox, w->outq[d]);
		pthread_mutex_unlock(&o->mu);
		event_active(o->wake, EV_READ, 0);
	}
}

static void
take_item(struct worker *w, const struct item *it, const uint8_t *frame)
{
	struct link *l;

	switch (it->kind) {
	case IT_DELIVER:
		route_deliver_local(w, it->code, it->id, frame, it->len);
		break;
	case IT_KICK:
		if ((l = worker_link(w, it->id)) != NULL &&
		    l->state == L_ONLINE)
			link_kick(l, "replaced by a newer login");
		break;
	case IT_ROUTE:
		table_route_update(w, (uint16_t)it->code, it->up, it->gen);
		break;
	}
}

static void
drain_inbox(struct worker *w, struct evbuffer *in)
{
	struct item it;
	uint8_t *p;

	while (evbuffer_get_length(in) >= sizeof(it)) {
		evbuffer_remove(in, &it, sizeof(it));
		p = it.len ? evbuffer_pullup(in, it.len) : NULL;
		take_item(w, &it, p);
		evbuffer_drain(in, it.len);
	}
	worker_flush(w);
}

static void
wake_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *in = evbuffer_new();
	int *fds, stop;
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
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		if (stop)
			close(fds[i]);
		else
			link_adopt(w, fds[i]);
	}
	free(fds);
	drain_inbox(w, in);
	evbuffer_free(in);
	if (stop && !w->stopping) {
		struct timeval tv = { 0, 50000 };

		w->stopping = 1;
		link_logout_all(w);
		evtimer_add(w->stop_timer, &tv);
	}
}

/* After Logout to every peer: exit once all links flushed, or after 3 s. */
static void
stop_check_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, 50000 };

	(void)fd;
	(void)ev;
	if (w->nlinks == 0 || ++w->stopping > 60) {
		link_destroy_all(w);
		/* The releases scheduled by link_close run before the exit. */
		event_base_loopexit(w->base, &tv);
		return;
	}
	evtimer_add(w->stop_timer, &tv);
}

/* Round robin over the workers; the worker adopts it on its thread. */
static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct server *s = arg;
	struct worker *w;
	int one = 1, *nf;

	(void)l;
	(void)sa;
	(void)salen;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	w = &s->w[atomic_fetch_add(&s->rr, 1) % (unsigned)s->nworkers];
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
server_start(struct server *s, char *err, size_t errlen)
{
	if (evthread_use_pthreads() != 0) {
		snprintf(err, errlen, "libevent without pthreads support");
		return -1;
	}
	if ((s->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	for (int i = 0; i < s->nworkers; i++)
		if (worker_init(s, &s->w[i], i) == -1) {
			snprintf(err, errlen, "worker %d: no memory", i);
			return -1;
		}
	if (route_install(s) == -1) {
		snprintf(err, errlen, "pipe: cannot install hooks");
		return -1;
	}
	if (listener_open(&lis, s->base, &s->conf.listen, accept_cb, s, err,
	    errlen) == -1)
		return -1;
	s->port = lis.port;
	for (int i = 0; i < s->nworkers; i++)
		if (pthread_create(&s->w[i].tid, NULL, worker_main,
		    &s->w[i]) != 0) {
			snprintf(err, errlen, "pthread_create: %s",
			    strerror(errno));
			return -1;
		}
	return 0;
}

/* Graceful stop (§5): Logout to every peer, flush, close, join. */
void
server_stop(struct server *s)
{
	listener_close(&lis);
	for (int i = 0; i < s->nworkers; i++) {
		pthread_mutex_lock(&s->w[i].mu);
		s->w[i].stop_req = 1;
		pthread_mutex_unlock(&s->w[i].mu);
		event_active(s->w[i].wake, EV_READ, 0);
	}
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->w[i].tid, NULL);
}

/* SIGHUP: a new TLS context (certificates and CRL) for new links. */
void
server_reload(struct server *s)
{
	struct tls_files f = { s->conf.cert, s->conf.key, s->conf.ca,
	    s->conf.crl };
	char err[256];
	SSL_CTX *nctx, *old;

	if ((nctx = tls_server_ctx(&f, err, sizeof(err))) == NULL) {
		log_warnx("reload: keeping the old certificates: %s", err);
		return;
	}
	pthread_mutex_lock(&s->ctx_mu);
	old = s->ctx;
	s->ctx = nctx;
	pthread_mutex_unlock(&s->ctx_mu);
	SSL_CTX_free(old);	/* live links hold their own reference */
	log_info("reload: certificates and CRL re-read");
}

void
server_free(struct server *s)
{
	for (int i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->w[i];

		for (int j = 0; j < s->nworkers; j++)
			if (w->outq[j] != NULL)
				evbuffer_free(w->outq[j]);
		if (w->inbox != NULL)
			evbuffer_free(w->inbox);
		if (w->wake != NULL)
			event_free(w->wake);
		if (w->stop_timer != NULL)
			event_free(w->stop_timer);
		if (w->tick != NULL)
			event_free(w->tick);
		if (w->base != NULL)
			event_base_free(w->base);
		free(w->newfds);
		free(w->scratch);
		pthread_mutex_destroy(&w->mu);
	}
	listener_close(&lis);
	if (s->base != NULL)
		event_base_free(s->base);
	if (s->ctx != NULL)
		SSL_CTX_free(s->ctx);
	pipe_free(s->pipe);
	table_free(s);
}
