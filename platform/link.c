/*
 * link.c - one link of nap-platform, to a domain server or to a device
 * that logged in to Locate, over the servers' link layer (common/conn.c):
 * what a frame, a bad length prefix and a close mean here.  A domain's
 * oversized frame is skipped, not fatal (§2); every frame after Login
 * crosses the pipe (§6) and then the route step (route.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "platform.h"

static int	on_identified(struct conn *);
static int	on_frame(struct conn *, const uint8_t *, size_t);
static int	on_bad_length(struct conn *, uint32_t);
static void	on_closing(struct conn *, enum conn_state, const char *);
static void	on_free(struct conn *);
static void	on_refused(struct link *, const struct pipe_ctx *);
static void	kick_revoked(struct conn *, const char *);
static void	proto_error(struct link *, int, uint32_t,
		    const struct env_header *, const char *);

static const struct conn_ops link_ops = {
	.identified = on_identified,
	.frame = on_frame,
	.bad_length = on_bad_length,
	.closing = on_closing,
	.free = on_free,
};

/* The worker's link set, bounded by the configuration (§2). */
void
link_set_init(struct worker *w)
{
	struct server *s = w->srv;
	struct conn_bounds b = { s->conf.max_frame, s->conf.out_cap,
	    s->conf.in_cap, s->conf.hb_timeout, s->nworkers };

	conn_set_init(&w->set, &link_ops, &w->io, &b);
}

void
link_adopt(struct worker *w, int fd)
{
	struct server *s = w->srv;
	struct link *l;

	if ((l = (struct link *)conn_accept(&w->set, fd, &s->ctx, &s->ctx_mu,
	    &s->next_id, sizeof(*l))) == NULL)
		return;
	l->w = w;
	l->idnext = w->byid[l->c.id % ID_BUCKETS];
	w->byid[l->c.id % ID_BUCKETS] = l;
}

/* Where this link is, as the tables hold it. */
uint64_t
link_where(const struct link *l)
{
	return (uint64_t)l->c.id << 16 | (uint64_t)(l->w->io.idx + 1);
}

static int
on_identified(struct conn *c)
{
	struct link *l = (struct link *)c;

	l->kind = env_code_is_domain(c->code) ? P_DOMAIN : P_DEVICE;
	return 0;
}

/*
 * A length prefix of 0 or above max_frame closes a device link (413,
 * §2).  A domain link instead skips an oversized frame and answers 413
 * (§2: server-to-server links do not close for it).  Its origin cannot
 * be read from bytes that are not kept, so the Error goes To the
 * sending domain with seq 0.
 */
static int
on_bad_length(struct conn *c, uint32_t len)
{
	struct link *l = (struct link *)c;

	record_in(l, NULL, 413, NULL, 0);	/* its bytes are not kept */
	if (l->kind == P_DOMAIN && c->state == C_ONLINE && len > 0) {
		send_error(l, 413, c->code, NULL, "frame too large: skipped");
		return 1;
	}
	send_error(l, 413, c->code, NULL, "bad frame length");
	conn_close(c, "bad frame length");
	return 0;
}

/* §4 "16 protocol errors within 60 s close it". */
static void
proto_error(struct link *l, int code, uint32_t to, const struct env_header *h,
    const char *why)
{
	send_error(l, code, to, h, why);
	(void)conn_count_error(&l->c);
}

/* One whole frame (prefix included).  -1 when the link was closed. */
static int
on_frame(struct conn *c, const uint8_t *frame, size_t flen)
{
	struct link *l = (struct link *)c;
	struct worker *w = l->w;
	struct env_header h;
	struct env_error err;
	struct pipe_ctx ctx;

	w->raw = frame + 4;
	w->rawlen = flen - 4;
	if (env_parse_header(w->parser, frame + 4, flen - 4, &h, &err) ==
	    -1) {
		record_count_in(l, NULL, flen - 4);
		record_in(l, NULL, err.code, frame + 4, flen - 4);
		if (c->state != C_ONLINE) {
			send_error(l, err.code, c->code, NULL, err.reason);
			conn_close(c, "malformed first frame");
		} else
			proto_error(l, err.code, c->code, NULL, err.reason);
		return c->state == C_CLOSING ? -1 : 0;
	}
	if (c->state == C_LOGIN)
		return login_handle(l, frame + 4, flen - 4, &h);
	c->msgs_in++;
	record_count_in(l, &h, flen - 4);
	memset(&ctx, 0, sizeof(ctx));
	ctx.body = frame + 4;
	ctx.len = flen - 4;
	ctx.h = &h;
	ctx.link_code = c->code;
	ctx.server = w->srv;
	ctx.link = l;
	/* The IN record goes before what the route step writes (§6). */
	switch (pipe_run(w->srv->pipe, &ctx)) {
	case PIPE_PASS:
		route_message(l, &ctx);		/* calls route_audit() */
		break;
	case PIPE_REJECT:
		route_audit(l, &ctx);
		on_refused(l, &ctx);
		break;
	case PIPE_ANSWERED:
		route_audit(l, &ctx);
		break;
	}
	return c->state == C_CLOSING ? -1 : 0;
}

/*
 * A refusal of the gateway or the transformer.  §4: an Ack or an Error
 * from a server is never answered with an Error (no loops): dropped and
 * logged.  A device's forbidden frames count toward closing its link; a
 * domain's refused routes are answers, not abuse, and only malformed
 * frames count.  The Error goes To the refused message's sender when it
 * came by this link, else To the link's own code.
 */
static void
on_refused(struct link *l, const struct pipe_ctx *c)
{
	const struct env_header *h = c->h;
	uint32_t code = l->c.code;
	bool ours = l->kind == P_DOMAIN ? env_code_region(h->from) ==
	    env_code_region(code) : h->from == code;
	uint32_t to = ours ? h->from : code;

	l->w->refused++;
	if (l->kind == P_DOMAIN && (h->type == ENV_T_ACK || h->type == ENV_T_ERROR)) {
		log_info("link %u: %08X: dropped %s from %08X to %08X seq %u: "
		    "%d %s", l->c.id, code, h->type == ENV_T_ACK ? "Ack" :
		    "Error",
		    h->from, h->to, h->seq, c->error, c->reason);
		return;
	}
	if (c->error == 400 || (l->kind == P_DEVICE && c->error == 403))
		proto_error(l, c->error, to, h, c->reason);
	else
		send_error(l, c->error, to, h, c->reason);
}

/* Writes a whole frame whose Header is h, and records it (§8). */
int
link_write(struct link *l, const struct env_header *h, const uint8_t *frame,
    size_t len)
{
	if (conn_write(&l->c, frame, len) == -1)
		return -1;
	record_out(l, h, frame, len);
	return 0;
}

/* The older link of a replaced login: Error 403, then close (§4). */
void
link_kick(struct link *l, const char *why)
{
	send_error(l, 403, l->c.code, NULL, why);
	conn_close(&l->c, why);
}

void
link_close(struct link *l, const char *why)
{
	conn_close(&l->c, why);
}

/*
 * The tables forget a closing link at once: a domain's region goes down
 * (unless a newer login replaced it) and every other domain hears of it
 * (§5); a device is no longer reachable here.
 */
static void
on_closing(struct conn *c, enum conn_state was, const char *why)
{
	struct link *l = (struct link *)c;

	if (was != C_ONLINE)
		return;		/* conn.c told why */
	record_logout(l, why);
	if (l->kind == P_DOMAIN)
		table_region_down(l, why);
	else
		table_device_clear(l->w->srv, c->code, link_where(l));
	conn_log(c, "%08X closed: %s (%llu in, %llu out)", c->code, why,
	    (unsigned long long)c->msgs_in, (unsigned long long)c->msgs_out);
}

static void
on_free(struct conn *c)
{
	struct link *l = (struct link *)c, **p;

	for (p = &l->w->byid[c->id % ID_BUCKETS]; *p != NULL;
	    p = &(*p)->idnext)
		if (*p == l) {
			*p = l->idnext;
			break;
		}
	free(l->counts);	/* released without a close */
	free(l);
}

static void
kick_revoked(struct conn *c, const char *why)
{
	link_kick((struct link *)c, why);
}

/* SIGHUP: a peer whose certificate was revoked since its login goes. */
void
link_recheck_all(struct worker *w)
{
	struct server *s = w->srv;
	SSL_CTX *ctx = conn_ctx_ref(&s->ctx, &s->ctx_mu);

	(void)conn_recheck_certs(&w->set, ctx, kick_revoked);
	SSL_CTX_free(ctx);
	iop_flush(&w->io);
}

/* Graceful stop (§5): Logout to every peer, then close after flushing. */
void
link_logout_all(struct worker *w)
{
	struct server *s = w->srv;
	struct conn *c;

	for (c = w->set.links; c != NULL; c = c->next)
		if (c->state == C_ONLINE)
			send_frame((struct link *)c, ENV_T_LOGOUT,
			    server_seq(s),
			    c->code, s->token, NULL);
	conn_close_all(&w->set, "server stopping");
}
