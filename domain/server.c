/*
 * server.c - nap-domain's threads, run by the servers' one runtime
 * (common/iopool.c): what its workers do on start, stop, reload and
 * every tick, and the items they hand each other (struct item).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "domain.h"
#include "log.h"
#include "metrics.h"
#include "tls.h"

static void	w_start(struct iop_worker *);
static void	w_end(struct iop_worker *);
static void	w_adopt(struct iop_worker *, int);
static void	w_item(struct iop_worker *, void *, const uint8_t *);
static void	w_tick(struct iop_worker *);
static void	w_turn_end(struct iop_worker *);
static void	w_reload(struct iop_worker *);
static void	w_logout(struct iop_worker *);
static void	w_destroy(struct iop_worker *);
static bool	gate_ok(const void *);

static const struct iop_ops ops = {
	.start = w_start,
	.end = w_end,
	.adopt = w_adopt,
	.item = w_item,
	.tick = w_tick,
	.turn_end = w_turn_end,
	.reload = w_reload,
	.logout = w_logout,
	.destroy = w_destroy,
};

static void
w_start(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;
	char err[256];

	if ((w->parser = env_parser_new((uint32_t)w->srv->conf.max_frame)) ==
	    NULL)
		fatalx("worker %d: no memory for a parser", io->idx);
	if ((w->reg = registry_open(w->srv->conf.registry, 0, err,
	    sizeof(err))) == NULL)
		fatalx("worker %d: registry: %s", io->idx, err);
}

static void
w_end(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;

	conn_release_all(&w->set);
	registry_close(w->reg);
	env_parser_free(w->parser);
}

/* The end of a loop turn: the frames it wrote go to TLS together. */
static void
w_turn_end(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;

	conn_flush_all(&w->set);
	if (io->idx == FED_WORKER && w->srv->fed != NULL)
		fed_turn_end(w->srv->fed);
}

static void
w_adopt(struct iop_worker *io, int fd)
{
	link_adopt((struct worker *)io, fd);
}

static void
w_tick(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;
	struct server *s = w->srv;

	/* §8 stop-accepting: read nothing while the audit log is stuck. */
	if (s->audit != NULL)
		conn_hold_all(&w->set, !audit_accepting(s->audit));
	conn_sweep(&w->set);
	if (io->idx == FED_WORKER && s->fed != NULL)
		fed_tick(s->fed);
}

static void
w_reload(struct iop_worker *io)
{
	link_recheck_all((struct worker *)io);
}

static void
w_logout(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;

	if (io->idx == FED_WORKER && w->srv->fed != NULL)
		fed_stop(w->srv->fed);
	link_logout_all(w);
}

static void
w_destroy(struct iop_worker *io)
{
	conn_close_all(&((struct worker *)io)->set, "server stopping");
}

/* The link an item names, if it is still this worker's and online. */
static struct link *
item_link(struct worker *w, const struct item *it)
{
	struct link *l = w->node[it->node];

	return l != NULL && l->c.id == it->id && l->c.state == C_ONLINE ? l :
	    NULL;
}

/* One item for this worker, from its inbox or from itself. */
static void
w_item(struct iop_worker *io, void *item, const uint8_t *p)
{
	struct worker *w = (struct worker *)io;
	struct fed *f = w->srv->fed;
	struct item *it = item;
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
		if (f != NULL)
			fed_route(f, it, p);
		break;
	case IT_HELD:
		if (f != NULL)
			fed_held(f, it, p);
		break;
	case IT_XACK:
		if (f != NULL)
			fed_xack(f, it);
		break;
	case IT_HELD_END:
		if (f != NULL)
			fed_held_end(f, it->node, it->seq);
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
	it->id = (uint32_t)(where >> 16);
	iop_send(&w->io, (int)(where & 0xffff) - 1, it, frame);
}

void
worker_flush(struct worker *w)
{
	iop_flush(&w->io);
}

/* An item and its it->len bytes of frame into a batch for worker dest. */
void
item_post(struct iop_outbox *ob, int dest, const struct item *it,
    const uint8_t *frame)
{
	iop_outbox_add(ob, dest, it, sizeof(*it), frame, it->len, NULL, 0);
}

static bool
gate_ok(const void *audit)
{
	return audit_accepting(audit);
}

static int
workers_new(struct server *s, struct iop_worker **ws, char *err,
    size_t errlen)
{
	for (int i = 0; i < s->nworkers; i++) {
		struct worker *w;

		/* Only the configured workers, each with one node table. */
		if ((w = s->w[i] = calloc(1, sizeof(*w))) == NULL ||
		    (w->node = calloc(NODES, sizeof(*w->node))) == NULL) {
			snprintf(err, errlen, "worker %d: no memory", i);
			return -1;
		}
		w->srv = s;
		ws[i] = &w->io;
		link_set_init(w);
		metrics_wrap(&w->set);	/* §12 counters */
	}
	return 0;
}

int
server_start(struct server *s, char *err, size_t errlen)
{
	struct iop_worker *ws[IOP_MAX_WORKERS];

	if (evthread_use_pthreads() != 0) {
		snprintf(err, errlen, "libevent without pthreads support");
		return -1;
	}
	if ((s->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	if (metrics_init(s->nworkers, offsetof(struct link, login_at)) ==
	    -1) {
		snprintf(err, errlen, "metrics: no memory");
		return -1;
	}
	if (workers_new(s, ws, err, errlen) == -1)
		return -1;
	if (iopool_init(&s->pool, s->nworkers, ws, &ops, sizeof(struct item))
	    == -1) {
		snprintf(err, errlen, "workers: no memory");
		return -1;
	}
	if ((s->store = store_open(s, s->conf.store, err, errlen)) == NULL ||
	    store_start(s->store, err, errlen) == -1 ||
	    fed_init(s, err, errlen) == -1)
		return -1;
	if (s->fed != NULL)	/* the first tick connects the uplinks */
		event_active(s->w[FED_WORKER]->io.tick, EV_TIMEOUT, 0);
	if (route_install(s) == -1) {
		snprintf(err, errlen, "pipe: cannot install hooks");
		return -1;
	}
	/* §7: plugins hook the pipe after the built-in hooks */
	if (dplugins_load(s, err, errlen) == -1)
		return -1;
	metrics_observe(s->pipe);
	/*
	 * federation-thread: the federation's worker carries every message
	 * between regions both ways and takes no device links.  Measured
	 * (--threads 2): T2 28k -> 43k msgs/s, but traffic inside the region
	 * 85k -> 57k, as devices then have one thread: the operator's choice.
	 */
	if (s->conf.fed_own && s->fed != NULL && s->nworkers > 1)
		s->pool.first = FED_WORKER + 1;
	if (iopool_start(&s->pool, s->base, &s->conf.listen, err, errlen) ==
	    -1 || plugins_start(s->plugins, err, errlen) == -1)
		return -1;
	s->port = s->pool.lis.port;
	if (s->audit != NULL && listener_gate(&s->pool.lis, s->base, gate_ok,
	    s->audit, "audit log") == -1) {
		snprintf(err, errlen, "audit: cannot start the listener's gate");
		return -1;
	}
	return 0;
}

/* Graceful stop (§5): Logout to every peer, flush, close, join. */
void
server_stop(struct server *s)
{
	plugins_stop(s->plugins);	/* its replies still reach the links */
	iopool_stop(&s->pool);
	/* The links' returns are queued: the store commits them last. */
	store_stop(s->store);
}

/* SIGHUP: new TLS context for new links; workers re-check the registry. */
/* Keys a SIGHUP applies; others that changed are logged as needing a
 * restart (conf_reload). */
static const char *const live_keys[] = { "log-level", "cert", "key", "ca",
    "crl", NULL };

void
server_reload(struct server *s)
{
	struct tls_files f;
	char err[512];
	SSL_CTX *nctx, *old;

	if (s->keys != NULL && conf_reload(s->keys, &s->conf, sizeof(s->conf),
	    live_keys, s->argc, s->argv, err, sizeof(err)) == -1)
		log_warnx("reload: configuration kept: %s", err);
	log_setlevel(s->conf.log_level);
	/* After the re-read: the files may have new names. */
	f = (struct tls_files){ s->conf.cert, s->conf.key, s->conf.ca,
	    s->conf.crl };
	if ((nctx = tls_server_ctx(&f, err, sizeof(err))) == NULL)
		log_warnx("reload: keeping the old certificates: %s", err);
	else {
		pthread_mutex_lock(&s->ctx_mu);
		old = s->ctx;
		s->ctx = nctx;
		pthread_mutex_unlock(&s->ctx_mu);
		SSL_CTX_free(old);	/* live links hold their own reference */
	}
	iopool_reload(&s->pool);
	store_recount(s->store);
	plugins_reload(s->plugins);	/* §7 */
	log_info("reload: certificates, CRL and registry re-read");
}

void
server_free(struct server *s)
{
	fed_free(s->fed);	/* its buffer events are on worker 0's base */
	s->fed = NULL;
	iopool_free(&s->pool);
	plugins_free(s->plugins);	/* no thread calls a plugin now */
	s->plugins = NULL;
	for (int i = 0; i < s->nworkers; i++)
		if (s->w[i] != NULL) {
			free(s->w[i]->node);
			free(s->w[i]);
			s->w[i] = NULL;
		}
	if (s->base != NULL)
		event_base_free(s->base);
	if (s->ctx != NULL)
		SSL_CTX_free(s->ctx);
	pipe_free(s->pipe);
	store_free(s->store);
	metrics_free();
}
