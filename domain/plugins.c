/*
 * plugins.c - nap-domain as the host of §7 plugins (common/plugin.h):
 * how a frame a plugin makes the server create reaches its code (like
 * any message the domain creates: deliver_to_code), how a hook's
 * refusal answers the device, and how a hook closes a link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "log.h"

static uint32_t	d_seq(void *);
static void	d_deliver(void *, struct iop_outbox *,
		    const struct env_header *, const uint8_t *, size_t);
static enum pipe_verdict d_refuse(struct pipe_ctx *, int, const char *);
static void	d_cut(struct pipe_ctx *, const char *);
static void	cut_cb(evutil_socket_t, short, void *);

/* A link to close once the frame that asked for it is handled. */
struct cut {
	struct worker	*w;
	uint16_t	 node;
	uint32_t	 id;
	char		 why[96];
};

int
dplugins_load(struct server *s, char *err, size_t errlen)
{
	const struct plugin_host h = { "nap-domain", s->code, s->token,
	    (uint32_t)s->conf.max_frame, &s->pool, 1, s, d_seq, d_deliver,
	    d_refuse, d_cut };

	return plugins_load(&s->plugins, &h, &s->conf.plugins,
	    s->conf.workers, s->conf.plugin_queue, s->pipe, err, errlen);
}

static uint32_t
d_seq(void *srv)
{
	return server_seq(srv);
}

/* Routed like every frame the domain creates (§5): a link, the store,
 * or the platform; ob is the calling thread's. */
static void
d_deliver(void *srv, struct iop_outbox *ob, const struct env_header *h,
    const uint8_t *frame, size_t len)
{
	struct server *s = srv;
	struct item it;

	item_from_header(s, &it, h);
	it.len = (uint32_t)len;
	deliver_to_code(s, NULL, ob, &it, frame);
}

/*
 * The device hears the Error at once, on its link.  PIPE_ANSWERED, not
 * PIPE_REJECT: a policy refusal (403 of acl, 429 of ratelimit) is an
 * answer, not one of the protocol errors of §4 that close a link.
 */
static enum pipe_verdict
d_refuse(struct pipe_ctx *c, int code, const char *text)
{
	struct link *l = c->link;
	struct server *s = l->w->srv;
	const struct env_header *h = c->h;

	l->w->refused++;
	audit_msg(s->audit, AUDIT_IN, l->c.code, AUDIT_REFUSED, code, h,
	    c->body, c->len);
	if (h->type != ENV_T_ACK && h->type != ENV_T_ERROR)
		send_error(l, code, h->seq, h->to, h->session, text);
	return PIPE_ANSWERED;
}

/* Closed from the worker's loop, after the frame's handling ended (the
 * link must outlive the hook that asked). */
static void
d_cut(struct pipe_ctx *c, const char *why)
{
	struct link *l = c->link;
	struct cut *k;
	const struct timeval now = { 0, 0 };

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return;
	k->w = l->w;
	k->node = (uint16_t)(l->c.code & 0xffff);
	k->id = l->c.id;
	snprintf(k->why, sizeof(k->why), "%s", why);
	if (event_base_once(l->w->io.base, -1, EV_TIMEOUT, cut_cb, k, &now) ==
	    -1)
		free(k);
}

static void
cut_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct cut *k = arg;
	struct link *l = k->w->node[k->node];

	(void)fd;
	(void)ev;
	if (l != NULL && l->c.id == k->id && l->c.state == C_ONLINE) {
		log_info("link %u: %08X closed by a plugin: %s", l->c.id,
		    l->c.code, k->why);
		link_close(l, k->why);
	}
	free(k);
}
