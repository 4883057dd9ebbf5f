/*
 * server.c - nap-platform's threads (common/iopool.c runs them): what
 * its workers do on start, stop and every tick, and the items they hand
 * each other: frames, kicks of replaced links, RouteUpdate broadcasts.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "log.h"
#include "metrics.h"
#include "platform.h"
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

static const struct iop_ops ops = {
	.start = w_start,
	.end = w_end,
	.adopt = w_adopt,
	.item = w_item,
	.tick = w_tick,
	.turn_end = w_turn_end,
	.reload = w_reload,	/* after the new TLS context: links */
	.logout = w_logout,
	.destroy = w_destroy,
};

static void
w_start(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;

	if ((w->parser = env_parser_new((uint32_t)w->srv->conf.max_frame)) ==
	    NULL)
		fatalx("worker %d: no memory for a parser", io->idx);
}

static void
w_end(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;

	conn_release_all(&w->set);
	env_parser_free(w->parser);
}

static void
w_reload(struct iop_worker *io)
{
	link_recheck_all((struct worker *)io);
}

/* The end of a loop turn: the frames it wrote go to TLS together. */
static void
w_turn_end(struct iop_worker *io)
{
	struct worker *w = (struct worker *)io;

	conn_flush_all(&w->set);
}

static void
w_adopt(struct iop_worker *io, int fd)
{
	link_adopt((struct worker *)io, fd);
}

static void
w_tick(struct iop_worker *io)
{
	conn_sweep(&((struct worker *)io)->set);
	record_gate((struct worker *)io);	/* after: it may re-pause */
}

static void
w_logout(struct iop_worker *io)
{
	link_logout_all((struct worker *)io);
}

static void
w_destroy(struct iop_worker *io)
{
	conn_close_all(&((struct worker *)io)->set, "server stopping");
}

static void
w_item(struct iop_worker *io, void *item, const uint8_t *frame)
{
	const struct iop_item *it = item;
	struct worker *w = (struct worker *)io;
	struct link *l;

	switch (it->kind) {
	case IT_DELIVER:
		route_deliver_local(w, it->code, it->id, frame, it->len);
		break;
	case IT_KICK:
		if ((l = worker_link(w, it->id)) != NULL &&
		    l->c.state == C_ONLINE)
			link_kick(l, "replaced by a newer login");
		break;
	case IT_ROUTE:
		table_route_update(w, (uint16_t)it->code, it->flags != 0,
		    it->aux);
		break;
	}
}

/* This worker's link with that id, or NULL. */
struct link *
worker_link(struct worker *w, uint32_t id)
{
	struct link *l;

	for (l = w->byid[id % ID_BUCKETS]; l != NULL; l = l->idnext)
		if (l->c.id == id)
			return l;
	return NULL;
}

/*
 * Queues an item for the link found at `where' (a table value: link id
 * << 16 | worker + 1); a link of this worker is served at once.  code
 * names the destination (a domain's code or a device's) so that a frame
 * whose link went away can go to its successor or be refused (§5: never
 * stored).
 */
void
worker_send(struct worker *w, uint64_t where, enum item_kind kind,
    uint32_t code, const uint8_t *frame, size_t len)
{
	struct iop_item it = { .kind = (uint8_t)kind, .code = code,
	    .id = (uint32_t)(where >> 16), .len = (uint32_t)len };
	int d = (int)(where & 0xffff) - 1;

	if (d < 0)
		w_item(&w->io, &it, frame);
	else
		iop_send(&w->io, d, &it, frame);
}

/*
 * A region went up or down: every worker hears of it through its inbox,
 * in the order of the changes' numbers (the caller holds rt_mu).
 */
void
worker_post_route(struct worker *w, uint16_t region, bool up, uint64_t gen)
{
	struct iop_item it = { .kind = IT_ROUTE, .flags = up, .code = region,
	    .aux = gen };

	iop_post_all(&w->srv->pool, &it);
}

int
server_start(struct server *s, char *err, size_t errlen)
{
	struct iop_worker *ws[MAX_WORKERS];

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
	for (int i = 0; i < s->nworkers; i++) {
		s->w[i].srv = s;
		link_set_init(&s->w[i]);
		metrics_wrap(&s->w[i].set);	/* §12 counters */
		/* A stamped frame is at most max_frame after its prefix. */
		if ((s->w[i].scratch = malloc(DLV_HDR + s->conf.max_frame +
		    4)) == NULL) {
			snprintf(err, errlen, "no memory");
			return -1;
		}
		ws[i] = &s->w[i].io;
	}
	if (iopool_init(&s->pool, s->nworkers, ws, &ops,
	    sizeof(struct iop_item)) == -1) {
		snprintf(err, errlen, "workers: no memory");
		return -1;
	}
	if (route_install(s) == -1) {
		snprintf(err, errlen, "pipe: cannot install hooks");
		return -1;
	}
	/* §7: plugins hook the pipe after the built-in hooks */
	if (pplugins_load(s, err, errlen) == -1)
		return -1;
	metrics_observe(s->pipe);
	if (iopool_start(&s->pool, s->base, &s->conf.listen, err,
	    errlen) == -1 || plugins_start(s->plugins, err, errlen) == -1)
		return -1;
	s->port = s->pool.lis.port;
	if (record_gate_start(s) == -1) {
		snprintf(err, errlen, "audit: cannot start the listener's "
		    "gate");
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
}

/* SIGHUP: a new TLS context (certificates and CRL) for new links. */
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
	plugins_reload(s->plugins);	/* §7 */
	if ((nctx = tls_server_ctx(&f, err, sizeof(err))) == NULL) {
		log_warnx("reload: keeping the old certificates: %s", err);
		return;
	}
	pthread_mutex_lock(&s->ctx_mu);
	old = s->ctx;
	s->ctx = nctx;
	pthread_mutex_unlock(&s->ctx_mu);
	SSL_CTX_free(old);	/* live links hold their own reference */
	iopool_reload(&s->pool);	/* revoked peers go (link.c) */
	log_info("reload: certificates and CRL re-read");
}

void
server_free(struct server *s)
{
	iopool_free(&s->pool);
	plugins_free(s->plugins);	/* no thread calls a plugin now */
	s->plugins = NULL;
	for (int i = 0; i < s->nworkers; i++)
		free(s->w[i].scratch);
	if (s->base != NULL)
		event_base_free(s->base);
	if (s->ctx != NULL)
		SSL_CTX_free(s->ctx);
	pipe_free(s->pipe);
	table_free(s);
	metrics_free();
}
