/*
 * route.c - nap-domain's pipe hooks (DESIGN.md §6) and the route step of
 * §5: deliver to a device of this region, answer for this server, or
 * refuse with the §4 code that names the Seq.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "log.h"

static enum pipe_verdict hook_size(struct pipe_ctx *, void *);
static enum pipe_verdict hook_identity(struct pipe_ctx *, void *);
static enum pipe_verdict hook_types(struct pipe_ctx *, void *);
static enum pipe_verdict hook_session(struct pipe_ctx *, void *);
static enum pipe_verdict hook_route(struct pipe_ctx *, void *);
static enum pipe_verdict hook_metrics(struct pipe_ctx *, void *);
static void	answer(struct worker *, int, const struct env_header *,
		    const char *, const uint8_t *, size_t);
static void	link_type(struct link *, const struct pipe_ctx *);
static void	locate(struct link *, const struct pipe_ctx *);
static void	to_offline(struct worker *, struct item *, const uint8_t *);
static void	to_home(struct worker *, struct item *, const uint8_t *);
static void	route_device(struct link *, const struct pipe_ctx *);
static void	route_remote(struct link *, const struct pipe_ctx *);
static int	locate_remote(struct link *, const struct pipe_ctx *);


/*
 * Where devices reach this server (Login to a platform, Locate answers):
 * public-address, else the listening address and bound port.
 */
void
server_address(const struct server *s, char *buf, size_t len)
{
	if (s->conf.public_address != NULL)
		snprintf(buf, len, "%s", s->conf.public_address);
	else if (snprintf(buf, len, "%s:%d", s->conf.listen.host, s->port) >=
	    (int)len)
		buf[0] = '\0';		/* a host name that long: none */
}

uint32_t
server_seq(struct server *s)
{
	return atomic_fetch_add(&s->seq, 1) + 1;
}

int
route_install(struct server *s)
{
	struct pipe *p;

	if ((p = pipe_new()) == NULL)
		return -1;
	s->pipe = p;
	return pipe_add(p, PIPE_GATEWAY, "size", hook_size, s) |
	    pipe_add(p, PIPE_GATEWAY, "identity", hook_identity, s) |
	    pipe_add(p, PIPE_GATEWAY, "types", hook_types, s) |
	    pipe_add(p, PIPE_GATEWAY, "session", hook_session, s) |
	    pipe_add(p, PIPE_GATEWAY, "route", hook_route, s) |
	    pipe_add(p, PIPE_INNER, "metrics", hook_metrics, s);
}

/* §2: domains accept device frames up to max_frame - 1024 (Via room). */
static enum pipe_verdict
hook_size(struct pipe_ctx *c, void *arg)
{
	struct server *s = arg;

	if (c->len > s->conf.max_frame - 1024)
		return pipe_reject(c, 413, "frame too large for this domain");
	return PIPE_PASS;
}

static enum pipe_verdict
hook_identity(struct pipe_ctx *c, void *arg)
{
	(void)arg;
	if (c->h->from != c->link_code)
		return pipe_reject(c, 403, "From is not the link's code");
	return PIPE_PASS;
}

/* §4: at its domain a device may send 1, 3, 4, 5, 7, 20 (FS only), 30
 * and 1000 and up; 1000 and up only within its permitted ranges (§7). */
static enum pipe_verdict
hook_types(struct pipe_ctx *c, void *arg)
{
	struct link *l = c->link;
	uint32_t t = c->h->type;

	(void)arg;
	if (t >= ENV_T_APP)
		return reg_permits_allow(&l->permits, t) ? PIPE_PASS :
		    pipe_reject(c, 403, "message type not permitted");
	switch (t) {
	case ENV_T_LOGIN: case ENV_T_CHECK: case ENV_T_CHECK_REPLY:
	case ENV_T_ACK: case ENV_T_LOGOUT: case ENV_T_LOCATE:
		return PIPE_PASS;
	case ENV_T_FS_REGISTER:
		return l->kind == REG_KIND_FS ? PIPE_PASS :
		    pipe_reject(c, 403, "only a function server registers");
	}
	return pipe_reject(c, 403, "reserved type not allowed from a device");
}

/* §3: only device frames of type 5 and up carry the session. */
static enum pipe_verdict
hook_session(struct pipe_ctx *c, void *arg)
{
	struct link *l = c->link;

	(void)arg;
	if (c->h->type >= ENV_T_ACK && strcmp(c->h->session, l->session) != 0)
		return pipe_reject(c, 401, "wrong session");
	return PIPE_PASS;
}

/* The routing decision of §5 (carried out by route_message). */
static enum pipe_verdict
hook_route(struct pipe_ctx *c, void *arg)
{
	struct server *s = arg;
	uint32_t to = c->h->to;

	if (c->h->type < ENV_T_APP) {
		c->route = c->h->type == ENV_T_LOCATE ? R_LOCATE : R_LINK;
		return PIPE_PASS;
	}
	if (env_code_is_reserved(to))
		return pipe_reject(c, 404, "reserved destination");
	if (env_code_is_platform(to) || env_code_region(to) != s->region) {
		/* §5 cases 0 and 3: by a platform server */
		if (s->fed == NULL)
			return pipe_reject(c, 503, "no platform server "
			    "configured");
		c->route = R_REMOTE;
		return PIPE_PASS;
	}
	c->route = to == s->code ? R_SELF : R_DEVICE;
	c->route_arg = to & 0xffff;
	return PIPE_PASS;
}

static enum pipe_verdict
hook_metrics(struct pipe_ctx *c, void *arg)
{
	struct link *l = c->link;

	(void)arg;
	l->w->routed++;
	return PIPE_PASS;
}

/* §5 cases 0 and 3: to the federation's worker, out by a platform. */
static void
route_remote(struct link *l, const struct pipe_ctx *c)
{
	struct server *s = l->w->srv;
	struct item it;

	audit_msg(s->audit, AUDIT_IN, l->c.code, AUDIT_ROUTED, 0, c->h, c->body,
	    c->len);
	item_from_header(s, &it, c->h);
	it.kind = IT_REMOTE;
	it.len = (uint32_t)c->len + 4;
	worker_send(l->w, FED_WHERE, &it, c->body - 4);
}

/* A message for a device of this region: its link, or its home. */
void
route_local(struct worker *w, struct item *it, const uint8_t *frame)
{
	uint64_t v = atomic_load_explicit(&w->srv->slot[it->node],
	    memory_order_acquire);

	if (v == 0)
		to_home(w, it, frame);
	else
		worker_send(w, v, it, frame);
}

/* §5 case 1: the device's link, or the store if registered and on. */
static void
route_device(struct link *l, const struct pipe_ctx *c)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	const struct env_header *h = c->h;
	struct reg_device d;
	struct item it;
	uint64_t v;
	int rc;

	item_from_header(s, &it, h);
	it.len = (uint32_t)c->len + 4;
	v = atomic_load_explicit(&s->slot[it.node], memory_order_acquire);
	if (v == 0 && (rc = registry_get(w->reg, h->to, &d)) != 0) {
		answer(w, rc == 1 ? 404 : 503, h, rc == 1 ?
		    "unknown destination" : "registry unavailable", c->body,
		    c->len);
		return;
	}
	if (v == 0 && !d.enabled) {
		answer(w, 403, h, "destination disabled", c->body, c->len);
		return;
	}
	audit_msg(s->audit, AUDIT_IN, l->c.code, AUDIT_ROUTED, 0, h, c->body,
	    c->len);
	if (v == 0)
		to_home(w, &it, c->body - 4);
	else	/* forward the received bytes, prefix included (§6) */
		worker_send(w, v, &it, c->body - 4);
}

/* A Locate this domain cannot answer goes to the platform (§5). */
static int
locate_remote(struct link *l, const struct pipe_ctx *c)
{
	if (l->w->srv->fed == NULL)
		return -1;
	route_remote(l, c);
	return 0;
}

void
route_message(struct link *l, struct pipe_ctx *c)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	const struct env_header *h = c->h;

	switch (c->route) {
	case R_LINK:
		link_type(l, c);
		break;
	case R_LOCATE:
		audit_msg(s->audit, AUDIT_IN, l->c.code, AUDIT_ROUTED, 0, h,
		    c->body, c->len);
		locate(l, c);
		break;
	case R_SELF:
		/* plugins first (common/plugin.h) */
		if (plugin_dispatch(s->plugins, h, c->body, c->len,
		    l->c.code) == 1) {
			audit_msg(s->audit, AUDIT_IN, l->c.code, AUDIT_ROUTED,
			    0, h, c->body, c->len);
			break;
		}
		audit_msg(s->audit, AUDIT_IN, l->c.code, AUDIT_REFUSED, 404, h,
		    c->body, c->len);
		send_error(l, 404, h->seq, h->to, h->session,
		    "no subscriber for this type here");
		break;
	case R_DEVICE:
		route_device(l, c);
		break;
	case R_REMOTE:
		route_remote(l, c);
		break;
	default:
		break;
	}
}

/* Link-level reserved types (§4, §5). */
static void
link_type(struct link *l, const struct pipe_ctx *c)
{
	struct server *s = l->w->srv;
	const struct env_header *h = c->h;

	switch (h->type) {
	case ENV_T_LOGIN:
		send_error(l, 403, h->seq, h->to, h->session,
		    "already logged in");
		break;
	case ENV_T_CHECK:	/* CheckReply with its Seq, never forwarded */
		send_frame(l, ENV_T_CHECK_REPLY, h->seq, l->c.code, s->token,
		    NULL);
		break;
	case ENV_T_ACK:		/* §5 device confirmation */
		dlv_confirm(l, c->body, c->len);
		break;
	case ENV_T_LOGOUT:
		link_close(l, "logout");
		break;
	case ENV_T_FS_REGISTER:
		send_error(l, 404, h->seq, h->to, h->session,
		    "function servers are not supported by this server yet");
		break;
	default:	/* CheckReply */
		break;
	}
}

/*
 * The destination is registered and offline: the store (§5), unless
 * TTL 0 forbids it (408).  Logged in meanwhile: to its link after all.
 */
static void
to_offline(struct worker *w, struct item *it, const uint8_t *frame)
{
	struct server *s = w->srv;
	uint64_t v;

	if (it->ttl == 0) {
		dlv_receipt(w, it, 408, "destination offline (TTL 0)");
		if (it->flags & MF_XACK)	/* answered: done with it */
			xack_send(s, w, NULL, it);
		return;
	}
	if (store_put(s->store, it, frame, 1) == 0)
		return;
	v = atomic_load_explicit(&s->slot[it->node], memory_order_acquire);
	if (v != 0)
		worker_send(w, v, it, frame);
	else	/* out again already: the store after all */
		(void)store_put(s->store, it, frame, 0);
}

/*
 * An offline device's message goes to the store through the worker of
 * its last link: behind the messages still on their way to that link,
 * which that worker stores when it finds the link gone.  Straight to the
 * store, a sender's newer message could overtake them (§5 order).
 */
static void
to_home(struct worker *w, struct item *it, const uint8_t *frame)
{
	unsigned h = atomic_load(&w->srv->home[it->node]);

	if (h == 0 || h - 1 == (unsigned)w->io.idx)
		to_offline(w, it, frame);
	else	/* link id 0: the offline path */
		worker_send(w, h, it, frame);
}

/* Delivers a frame queued for a link of this worker (or re-routes it). */
void
route_deliver_local(struct worker *w, struct item *it, const uint8_t *frame)
{
	struct link *l = w->node[it->node];
	uint64_t v;

	if (l != NULL && l->c.id == it->id && l->c.state == C_ONLINE) {
		dlv_offer(l, it, frame);
		return;
	}
	v = atomic_load_explicit(&w->srv->slot[it->node], memory_order_acquire);
	if (v != 0 && it->id == 0 && it->ttl != 0) {
		/*
		 * Sent on the offline path, and the device logged in since:
		 * newer messages may be at its link already.  Behind them in
		 * the store, and the link drains it (the login's barrier
		 * covers what came before it).
		 */
		(void)store_put(w->srv->store, it, frame, 0);
		store_return(w->srv->store, it->node, NULL, 0, NULL);
		return;
	}
	if (v != 0 && (uint32_t)(v >> 16) != it->id) {	/* logged in again */
		worker_send(w, v, it, frame);
		return;
	}
	to_offline(w, it, frame);
}

/*
 * An Error for the sender of h, wherever it is: its link, or the store
 * when it is offline (§5).  Never in answer to an Ack or an Error (§4),
 * so errors cannot loop.
 */
static void
answer(struct worker *w, int code, const struct env_header *h,
    const char *text, const uint8_t *body, size_t len)
{
	struct item it;

	w->refused++;
	item_from_header(w->srv, &it, h);
	if (w->srv->audit != NULL && body != NULL)
		audit_msg(w->srv->audit, AUDIT_IN, h->from, AUDIT_REFUSED, code,
		    h, body, len);
	dlv_receipt(w, &it, code, text);
}

/*
 * A receipt for msg, to its sender (§4): code 0 is an Ack whose status
 * is text (stored, delivered), else an Error.  *out describes the frame
 * for delivery.  Returns its length.
 */
size_t
receipt_frame(struct server *s, char *buf, size_t cap,
    const struct item *msg, int code, const char *text, struct item *out)
{
	char params[1024], sess[17];

	memcpy(sess, msg->session, 16);
	sess[16] = '\0';
	if (code == 0)
		(void)env_p_receipt(params, sizeof(params), msg->seq, msg->to,
		    sess, strcmp(text, "delivered") == 0);
	else
		(void)env_p_error(params, sizeof(params), code, msg->seq,
		    msg->to, sess, text);
	memset(out, 0, sizeof(*out));
	out->kind = IT_DELIVER;
	out->flags = MF_RECEIPT;
	out->type = code == 0 ? ENV_T_ACK : ENV_T_ERROR;
	out->seq = server_seq(s);
	out->from = s->code;
	out->to = msg->from;
	out->node = (uint16_t)(msg->from & 0xffff);
	out->ttl = (uint32_t)s->conf.ttl_default;
	memcpy(out->session, s->token, 16);
	out->len = (uint32_t)frame_build(buf, cap, out->type, s->token, out->seq,
	    s->code, msg->from, params);
	return out->len;
}

int
send_frame(struct link *l, uint32_t type, uint32_t seq, uint32_t to,
    const char *session, const char *params)
{
	struct server *s = l->w->srv;
	char buf[FRAME_MAX_SERVER];
	size_t n = frame_build(buf, sizeof(buf), type, session, seq, s->code, to,
	    params);

	return link_write(l, (const uint8_t *)buf, n);
}

/* An Error to this link's device naming the refused message (§4). */
int
send_error(struct link *l, int code, uint32_t seq, uint32_t to,
    const char *session, const char *text)
{
	struct server *s = l->w->srv;
	char params[1024];

	(void)env_p_error(params, sizeof(params), code, seq, to, session, text);
	return send_frame(l, ENV_T_ERROR, server_seq(s), l->c.code, s->token,
	    params);
}

/* §5 Locate, for this region (other regions need a platform: 503). */
static void
locate(struct link *l, const struct pipe_ctx *c)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	struct env_msg *m = NULL;
	struct env_error err;
	struct reg_device d;
	struct env_param *p;
	const char *code;
	uint32_t target;
	char params[FRAME_MAX_SERVER - 256], hp[256];
	int rc;

	if (env_parse(w->parser, c->body, c->len, &m, &err) == -1 ||
	    (p = env_param_first(m, NULL)) == NULL ||
	    strcmp(env_param_name(p), "locate") != 0)
		goto bad;
	if ((code = env_param_attr(p, "code")) == NULL) {
		/* A region Locate: the platform's table answers it (§5). */
		if (env_param_attr(p, "region") == NULL ||
		    locate_remote(l, c) == -1)
			goto bad;
		env_msg_free(m);
		return;
	}
	if (env_code_parse(code, strlen(code), &target) == -1)
		goto bad;
	if (env_code_region(target) != s->region) {
		if (locate_remote(l, c) == -1)
			send_error(l, 503, c->h->seq, c->h->to, c->h->session,
			    "no platform server configured");
	}
	else if (target != s->code && (rc = registry_get(w->reg, target,
	    &d)) != 0)
		send_error(l, 404, c->h->seq, c->h->to, c->h->session,
		    rc == 1 ? "unknown code" : "registry unavailable");
	else {
		server_address(s, hp, sizeof(hp));
		if (env_p_location(params, sizeof(params), target, s->code, hp,
		    target == s->code ||
		    atomic_load(&s->slot[target & 0xffff]) != 0) >= 0)
			send_frame(l, ENV_T_LOCATE_REPLY, c->h->seq, l->c.code,
			    s->token, params);
	}
	env_msg_free(m);
	return;
bad:
	env_msg_free(m);
	send_error(l, 400, c->h->seq, c->h->to, c->h->session, s->fed ?
	    "Locate needs <locate code=\"RRRRNNNN\"/> or <locate region=\"RRRR\"/>" :
	    "Locate needs <locate code=\"RRRRNNNN\"/>");
}
