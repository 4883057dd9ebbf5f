/*
 * server.c - nap-domain's threads: the accepting main thread, the I/O
 * workers, and the inboxes by which they hand each other messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/listener.h>
#include <event2/thread.h>

#include "domain.h"
#include "log.h"
#include "tls.h"

static void	*worker_main(void *);
static time_t	 mono_now(void);
static void	 tick_cb(evutil_socket_t, short, void *);
static void	 wake_cb(evutil_socket_t, short, void *);
static void	 stop_check_cb(evutil_socket_t, short, void *);
static void	 drain_inbox(struct worker *, struct evbuffer *);
static void	 accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	 accept_err_cb(struct evconnlistener *, void *);
static void	 retry_cb(evutil_socket_t, short, void *);
static int	 worker_init(struct server *, struct worker *, int);
static int	 listen_start(struct server *, char *, size_t);

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16], err[256];

	snprintf(name, sizeof(name), "io%d", w->idx);
	log_set_thread_name(name);
	if ((w->parser = env_parser_new((uint32_t)w->srv->conf.max_frame)) ==
	    NULL)
		fatalx("worker %d: no memory for a parser", w->idx);
	if ((w->reg = registry_open(w->srv->conf.registry, 0, err,
	    sizeof(err))) == NULL)
		fatalx("worker %d: registry: %s", w->idx, err);
	/* Runs until server_stop(): the wake event is only ever activated. */
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	link_release_all(w);
	registry_close(w->reg);
	env_parser_free(w->parser);
	return NULL;
}

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)ev;
	w->now = mono_now();
	link_sweep(w);
	if (w->idx == FED_WORKER && w->srv->fed != NULL)
		fed_tick(w->srv->fed);
	worker_flush(w);
}

static int
worker_init(struct server *s, struct worker *w, int idx)
{
	struct event_config *cfg = event_config_new();
	struct timeval second = { 0, 250000 };	/* 4 sweeps a second */

	w->srv = s;
	w->idx = idx;
	w->held_cap = s->conf.in_cap / (size_t)s->nworkers;
	pthread_mutex_init(&w->mu, NULL);
	/* Coalesce epoll_ctl calls within a loop turn. */
	if (cfg == NULL)
		return -1;
	/* event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST); */
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL ||
	    (w->wake = event_new(w->base, -1, 0, wake_cb, w)) == NULL ||
	    (w->stop_timer = evtimer_new(w->base, stop_check_cb, w)) ==
	    NULL || (w->inbox = evbuffer_new()) == NULL ||
	    (w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w)) ==
	    NULL || event_add(w->tick, &second) == -1)
		return -1;
	w->now = mono_now();
	return outbox_init(&w->out, s->nworkers);
}

int
outbox_init(struct outbox *ob, int n)
{
	for (int i = 0; i < n; i++)
		if ((ob->q[i] = evbuffer_new()) == NULL)
			return -1;
	return 0;
}

void
outbox_free(struct outbox *ob, int n)
{
	for (int i = 0; i < n; i++)
		if (ob->q[i] != NULL)
			evbuffer_free(ob->q[i]);
}

/*
 * Adds an item for thread `dest' to a local batch.  The bytes after it
 * are `a' (it->len bytes), or when b is given a 4-byte prefix `a' and
 * the blen bytes of b (a stored row).
 */
void
outbox_add(struct outbox *ob, int dest, const struct item *it,
    const uint8_t *a, const uint8_t *b, size_t blen)
{
	evbuffer_add(ob->q[dest], it, sizeof(*it));
	if (b != NULL) {
		evbuffer_add(ob->q[dest], a, 4);
		evbuffer_add(ob->q[dest], b, blen);
	} else if (it->len > 0)
		evbuffer_add(ob->q[dest], a, it->len);
	ob->dirty |= 1ull << dest;
}

/* Moves every local batch to its thread's inbox: one lock per thread. */
void
outbox_flush(struct server *s, struct outbox *ob)
{
	while (ob->dirty != 0) {
		int d = __builtin_ctzll(ob->dirty);
		struct worker *o = &s->w[d];

		ob->dirty &= ob->dirty - 1;
		pthread_mutex_lock(&o->mu);
		evbuffer_add_buffer(o->inbox, ob->q[d]);
		pthread_mutex_unlock(&o->mu);
		event_active(o->wake, EV_READ, 0);
	}
}

/* The link an item names, if it is still this worker's and online. */
static struct link *
item_link(struct worker *w, const struct item *it)
{
	struct link *l = w->node[it->node];

	return l != NULL && l->id == it->id && l->state == L_ONLINE ? l : NULL;
}

/* One item for this worker, from its inbox or from itself. */
static void
handle_item(struct worker *w, struct item *it, const uint8_t *p)
{
	struct link *l;

	switch (it->kind) {
	case IT_DELIVER:
		route_deliver_local(w, it, p);
		break;
	case IT_KICK:
		if ((l = item_link(w, it)) != NULL)
			link_kick(l, "replaced by a newer login");
		else	/* gone already: the new login must not wait */
			dlv_unknown_kick(w, it->node);
		break;
	case IT_STORED:		/* a link gone: the row stays stored */
		if ((l = item_link(w, it)) != NULL)
			dlv_stored(l, it, p);
		break;
	case IT_PAGE_END:
		if ((l = item_link(w, it)) != NULL)
			dlv_page_end(l, it->seq);
		break;
	case IT_DRAIN:
		if ((l = item_link(w, it)) != NULL)
			dlv_drain(l, it->ord);
		break;
	case IT_BARRIER:	/* what came before it is stored: say so */
		store_return(w->srv->store, it->node, NULL, 0, NULL);
		break;
	case IT_REMOTE:
		if (w->srv->fed != NULL)
			fed_route(w->srv->fed, it, p);
		break;
	case IT_HELD:
		if (w->srv->fed != NULL)
			fed_held(w->srv->fed, it, p);
		break;
	case IT_XACK:
		if (w->srv->fed != NULL)
			fed_xack(w->srv->fed, it);
		break;
	case IT_HELD_END:
		if (w->srv->fed != NULL)
			fed_held_end(w->srv->fed, it->node, it->seq);
		break;
	}
}

/*
 * Queues an item for the link found at `where' (a slot value: link id
 * << 16 | worker + 1), sent in one batch per destination worker by
 * worker_flush().  A link of this worker is served at once.  The
 * destination comes from the caller's slot read, never from a second
 * read: a replaced login must reach the old link's worker.
 */
void
worker_send(struct worker *w, uint64_t where, struct item *it,
    const uint8_t *frame)
{
	int d = (int)(where & 0xffff) - 1;

	it->id = (uint32_t)(where >> 16);
	if (d == w->idx)
		handle_item(w, it, frame);
	else
		outbox_add(&w->out, d, it, frame, NULL, 0);
}

void
worker_flush(struct worker *w)
{
	outbox_flush(w->srv, &w->out);
}

static void
drain_inbox(struct worker *w, struct evbuffer *in)
{
	struct item it;
	uint8_t *p;

	while (evbuffer_get_length(in) >= sizeof(it)) {
		evbuffer_remove(in, &it, sizeof(it));
		p = it.len ? evbuffer_pullup(in, it.len) : NULL;
		handle_item(w, &it, p);
		evbuffer_drain(in, it.len);
	}
	worker_flush(w);
}

static void
wake_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;
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
			link_adopt(w, fds[i]);
	}
	free(fds);
	drain_inbox(w, in);
	evbuffer_free(in);
	if (reload)
		link_recheck_all(w);
	if (stop && !w->stopping) {
		struct timeval tv = { 0, 50000 };

		w->stopping = 1;
		if (w->idx == FED_WORKER && w->srv->fed != NULL)
			fed_stop(w->srv->fed);
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

/* Out of descriptors: pause accepting for a second instead of spinning. */
static void
accept_err_cb(struct evconnlistener *l, void *arg)
{
	struct server *s = arg;
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	log_warnx("accept: %s; pausing the listener for 1 s",
	    evutil_socket_error_to_string(e));
	evconnlistener_disable(l);
	evtimer_add(s->lis_retry, &tv);
}

static void
retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)ev;
	evconnlistener_enable(s->lis);
}

/* §8 audit-on-full stop-accepting: no new links while records wait. */
static void
audit_watch_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct server *s = arg;
	bool ok = audit_accepting(s->audit);

	(void)fd;
	(void)ev;
	if (!ok && !s->lis_held) {
		log_warnx("audit log cannot be written: not accepting links "
		    "nor reading messages until it can");
		evconnlistener_disable(s->lis);
		s->lis_held = 1;
	} else if (ok && s->lis_held) {
		log_info("audit log writable again: accepting");
		evconnlistener_enable(s->lis);
		s->lis_held = 0;
	}
}

static int
listen_start(struct server *s, char *err, size_t errlen)
{
	struct evutil_addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE;
	if ((rc = evutil_getaddrinfo(s->conf.listen.host, s->conf.listen.port,
	    &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen %s:%s: %s", s->conf.listen.host,
		    s->conf.listen.port, evutil_gai_strerror(rc));
		return -1;
	}
	s->lis = evconnlistener_new_bind(s->base, accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    4096, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (s->lis == NULL) {
		snprintf(err, errlen, "listen %s:%s: %s", s->conf.listen.host,
		    s->conf.listen.port, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(s->lis, accept_err_cb);
	s->lis_retry = evtimer_new(s->base, retry_cb, s);
	if (s->audit != NULL) {
		struct timeval q = { 0, 250000 };

		s->audit_watch = event_new(s->base, -1, EV_PERSIST,
		    audit_watch_cb, s);
		if (s->audit_watch == NULL || event_add(s->audit_watch, &q) ==
		    -1) {
			snprintf(err, errlen, "no memory for a timer");
			return -1;
		}
	}
	if (getsockname(evconnlistener_get_fd(s->lis), (struct sockaddr *)&ss,
	    &sl) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
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
	if ((s->store = store_open(s, s->conf.store, err, errlen)) == NULL ||
	    store_start(s->store, err, errlen) == -1 ||
	    fed_init(s, err, errlen) == -1)
		return -1;
	if (s->fed != NULL)	/* the first tick connects the uplinks */
		event_active(s->w[FED_WORKER].tick, EV_TIMEOUT, 0);
	if (route_install(s) == -1) {
		snprintf(err, errlen, "pipe: cannot install hooks");
		return -1;
	}
	if (listen_start(s, err, errlen) == -1)
		return -1;
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
	if (s->lis != NULL) {
		evconnlistener_free(s->lis);
		s->lis = NULL;
	}
	for (int i = 0; i < s->nworkers; i++) {
		pthread_mutex_lock(&s->w[i].mu);
		s->w[i].stop_req = 1;
		pthread_mutex_unlock(&s->w[i].mu);
		event_active(s->w[i].wake, EV_READ, 0);
	}
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->w[i].tid, NULL);
	/* The links' returns are queued: the store commits them last. */
	store_stop(s->store);
}

/* SIGHUP: new TLS context for new links; workers re-check the registry. */
void
server_reload(struct server *s)
{
	struct tls_files f = { s->conf.cert, s->conf.key, s->conf.ca,
	    s->conf.crl };
	char err[256];
	SSL_CTX *nctx, *old;

	if ((nctx = tls_server_ctx(&f, err, sizeof(err))) == NULL)
		log_warnx("reload: keeping the old certificates: %s", err);
	else {
		pthread_mutex_lock(&s->ctx_mu);
		old = s->ctx;
		s->ctx = nctx;
		pthread_mutex_unlock(&s->ctx_mu);
		SSL_CTX_free(old);	/* live links hold their own reference */
	}
	for (int i = 0; i < s->nworkers; i++) {
		pthread_mutex_lock(&s->w[i].mu);
		s->w[i].reload_req = 1;
		pthread_mutex_unlock(&s->w[i].mu);
		event_active(s->w[i].wake, EV_READ, 0);
	}
	store_recount(s->store);
	log_info("reload: certificates, CRL and registry re-read");
}

void
server_free(struct server *s)
{
	fed_free(s->fed);	/* its buffer events are on worker 0's base */
	s->fed = NULL;
	for (int i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->w[i];

		outbox_free(&w->out, s->nworkers);
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
		pthread_mutex_destroy(&w->mu);
	}
	if (s->lis_retry != NULL)
		event_free(s->lis_retry);
	if (s->audit_watch != NULL)
		event_free(s->audit_watch);
	if (s->lis != NULL)
		evconnlistener_free(s->lis);
	if (s->base != NULL)
		event_base_free(s->base);
	if (s->ctx != NULL)
		SSL_CTX_free(s->ctx);
	pipe_free(s->pipe);
	store_free(s->store);
}
