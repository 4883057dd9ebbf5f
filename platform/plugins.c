/*
 * plugins.c - nap-platform as the host of §7 plugins (common/plugin.h):
 * a frame a plugin makes the platform create goes to the link of its
 * destination (a domain, or a device logged in here to Locate), never
 * stored (§5); a hook's refusal is the platform's own (link.c answers
 * it); a hook may close a link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "platform.h"

static uint32_t	p_seq(void *);
static void	p_deliver(void *, struct iop_outbox *,
		    const struct env_header *, const uint8_t *, size_t);
static enum pipe_verdict p_refuse(struct pipe_ctx *, int, const char *);
static void	p_cut(struct pipe_ctx *, const char *);
static void	cut_cb(evutil_socket_t, short, void *);

struct cut {
	struct worker	*w;
	uint32_t	 id;
	char		 why[96];
};

int
pplugins_load(struct server *s, char *err, size_t errlen)
{
	/* No rewrite: the route step forwards the Via-stamped copy that
	 * hook_via leaves in the worker's scratch buffer. */
	const struct plugin_host h = { "nap-platform", s->code, s->token,
	    (uint32_t)s->conf.max_frame, &s->pool, 0, s, p_seq, p_deliver,
	    p_refuse, p_cut };

	return plugins_load(&s->plugins, &h, &s->conf.plugins,
	    s->conf.workers, s->conf.plugin_queue, s->pipe, err, errlen);
}

static uint32_t
p_seq(void *srv)
{
	return server_seq(srv);
}

/* An IT_DELIVER item: the Header, then the frame (platform.h). */
static void
p_deliver(void *srv, struct iop_outbox *ob, const struct env_header *h,
    const uint8_t *frame, size_t len)
{
	struct server *s = srv;
	uint64_t where = route_where(s, h->to);
	struct iop_item it = { .kind = IT_DELIVER, .code = h->to,
	    .id = (uint32_t)(where >> 16), .len = (uint32_t)(DLV_HDR + len) };

	if (where == 0) {	/* §5: the platform never stores */
		log_info("plugin frame type %u to %08X dropped: no route",
		    h->type, h->to);
		return;
	}
	iop_outbox_add(ob, (int)(where & 0xffff) - 1, &it, sizeof(it), h,
	    DLV_HDR, frame, len);
}

/* link.c answers a refusal as it does the built-in hooks'. */
static enum pipe_verdict
p_refuse(struct pipe_ctx *c, int code, const char *text)
{
	return pipe_reject(c, code, text);
}

static void
p_cut(struct pipe_ctx *c, const char *why)
{
	struct link *l = c->link;
	struct cut *k;
	const struct timeval now = { 0, 0 };

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return;
	k->w = l->w;
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
	struct link *l = worker_link(k->w, k->id);

	(void)fd;
	(void)ev;
	if (l != NULL && l->c.state == C_ONLINE) {
		log_info("link %u: %08X closed by a plugin: %s", l->c.id,
		    l->c.code, k->why);
		link_close(l, k->why);
	}
	free(k);
}
