/*
 * route.c - nap-platform's pipe hooks (DESIGN.md §6) and its route step
 * (§5): forward a message to the domain of its destination region with
 * the platform's Via stamp, route replies back, answer Locate from the
 * region table, or refuse with the §4 code that names the Seq.  The
 * platform never stores: what cannot be forwarded now gets 503.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "platform.h"

static enum pipe_verdict hook_identity(struct pipe_ctx *, void *);
static enum pipe_verdict hook_types(struct pipe_ctx *, void *);
static enum pipe_verdict hook_route(struct pipe_ctx *, void *);
static enum pipe_verdict hook_via(struct pipe_ctx *, void *);
static enum pipe_verdict hook_metrics(struct pipe_ctx *, void *);
static enum pipe_verdict decide_locate(struct pipe_ctx *, struct server *);
static enum pipe_verdict decide_forward(struct pipe_ctx *, struct server *);
static void	link_type(struct link *, struct pipe_ctx *);
static void	forward(struct link *, struct pipe_ctx *, uint32_t);
static void	locate_answer(struct link *, struct pipe_ctx *);
static void	refuse_lost(struct worker *, const struct env_header *);
static size_t	own_frame(struct server *, char *, size_t,
		    struct env_header *, uint32_t, const char *, uint32_t,
		    uint32_t, const char *);
static size_t	error_frame(struct server *, char *, size_t,
		    struct env_header *, int, uint32_t,
		    const struct env_header *, const char *);

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
	return pipe_add(p, PIPE_GATEWAY, "identity", hook_identity, s) |
	    pipe_add(p, PIPE_GATEWAY, "types", hook_types, s) |
	    pipe_add(p, PIPE_GATEWAY, "route", hook_route, s) |
	    pipe_add(p, PIPE_TRANSFORMER, "via", hook_via, s) |
	    pipe_add(p, PIPE_INNER, "metrics", hook_metrics, s);
}

/* §6: at the platform, From's region is the link's (a domain speaks for
 * its region); a device speaks only for itself. */
static enum pipe_verdict
hook_identity(struct pipe_ctx *c, void *arg)
{
	struct link *l = c->link;

	(void)arg;
	if (l->kind == P_DOMAIN && env_code_region(c->h->from) !=
	    env_code_region(c->link_code))
		return pipe_reject(c, 403, "From is not in the link's region");
	if (l->kind == P_DEVICE && c->h->from != c->link_code)
		return pipe_reject(c, 403, "From is not the link's code");
	return PIPE_PASS;
}

/* §4: at the platform a device may send only Locate, Check, CheckReply
 * and Logout (and a second Login, refused as such). */
static enum pipe_verdict
hook_types(struct pipe_ctx *c, void *arg)
{
	struct link *l = c->link;

	(void)arg;
	if (l->kind == P_DOMAIN)
		return PIPE_PASS;
	switch (c->h->type) {
	case ENV_T_LOGIN: case ENV_T_CHECK: case ENV_T_CHECK_REPLY:
	case ENV_T_LOGOUT: case ENV_T_LOCATE:
		return PIPE_PASS;
	}
	return pipe_reject(c, 403, "a device may only Locate at a platform");
}

/* The routing decision of §5 (carried out by route_message). */
static enum pipe_verdict
hook_route(struct pipe_ctx *c, void *arg)
{
	struct server *s = arg;
	uint32_t t = c->h->type;

	switch (t) {
	case ENV_T_LOGIN: case ENV_T_CHECK: case ENV_T_CHECK_REPLY:
	case ENV_T_LOGOUT:
		c->route = R_LINK;
		return PIPE_PASS;
	case ENV_T_LOCATE:
		return decide_locate(c, s);
	case ENV_T_ACK: case ENV_T_ERROR: case ENV_T_LOCATE_REPLY:
		c->route = R_CODE;
		c->route_arg = c->h->to;
		return decide_forward(c, s);
	}
	if (t < ENV_T_APP) {	/* §4: unknown reserved types are ignored */
		c->route = R_DROP;
		return PIPE_PASS;
	}
	if (env_code_is_platform(c->h->to)) {	/* §7 subscribers */
		c->route = R_SELF;
		return PIPE_PASS;
	}
	c->route = R_REGION;
	c->route_arg = env_code_region(c->h->to);
	return decide_forward(c, s);
}

/* A forward needs a destination that is up and room for one more hop. */
static enum pipe_verdict
decide_forward(struct pipe_ctx *c, struct server *s)
{
	uint32_t dest = c->route == R_REGION ? c->route_arg << 16 :
	    c->route_arg;

	if (env_code_is_reserved(dest) || env_code_is_platform(dest))
		return pipe_reject(c, 404, "reserved destination");
	if (route_where(s, dest) == 0)
		return pipe_reject(c, 503, "destination region unreachable");
	/* §3: at most 8 Via entries; a ninth hop is most likely a loop. */
	if (c->h->nvia >= ENV_MAX_VIA)
		return pipe_reject(c, 400, "too many hops: Via is full");
	return PIPE_PASS;
}

/*
 * §5 Locate: a region, or a domain server's code, is answered from the
 * table; a device's code goes to the domain that owns it, which answers
 * (online="0|1") to the requester through the platform.
 */
static enum pipe_verdict
decide_locate(struct pipe_ctx *c, struct server *s)
{
	struct worker *w = ((struct link *)c->link)->w;
	char v[16];
	uint32_t code;

	if (param_attr(w->parser, c->body, c->len, "locate", "code", v,
	    sizeof(v)) == 0) {
		if (env_code_parse(v, strlen(v), &code) == -1)
			return pipe_reject(c, 400, "Locate code is not a code");
	} else if (param_attr(w->parser, c->body, c->len, "locate",
	    "region", v, sizeof(v)) == 0) {
		if (strlen(v) != 4 || env_code_parse(strcat(v, "0000"), 8,
		    &code) == -1)
			return pipe_reject(c, 400, "Locate region is not 4 hex "
			    "digits");
	} else
		return pipe_reject(c, 400, "Locate needs <locate code=\""
		    "RRRRNNNN\"/> or <locate region=\"RRRR\"/>");
	if (env_code_is_reserved(code) || env_code_is_platform(code))
		return pipe_reject(c, 404, "reserved code or region");
	if (table_region(s, env_code_region(code)) == 0)
		return pipe_reject(c, 503, "region not up");
	if (env_code_is_domain(code)) {
		c->route = R_LOCATE;
		c->route_arg = code;
		return PIPE_PASS;
	}
	c->route = R_REGION;
	c->route_arg = env_code_region(code);
	return decide_forward(c, s);
}

/* The transformer: a forwarded message carries the platform in Via. */
static enum pipe_verdict
hook_via(struct pipe_ctx *c, void *arg)
{
	struct server *s = arg;
	struct worker *w = ((struct link *)c->link)->w;
	size_t n;

	if (c->route != R_REGION && c->route != R_CODE)
		return PIPE_PASS;
	if (c->len + strlen(VIA_STAMP) > s->conf.max_frame)
		return pipe_reject(c, 413, "no room for the Via stamp");
	if (env_via_stamp(c->body, c->len, c->h, 0, w->scratch + DLV_HDR,
	    s->conf.max_frame + 4, &n) == -1)
		return pipe_reject(c, 400, "Header start tag not found");
	c->body = w->scratch + DLV_HDR + 4;
	c->len = n - 4;
	return PIPE_PASS;
}

static enum pipe_verdict
hook_metrics(struct pipe_ctx *c, void *arg)
{
	struct link *l = c->link;

	(void)arg;
	if (c->route == R_REGION || c->route == R_CODE)
		l->w->routed++;
	return PIPE_PASS;
}

/* Where code is reached: a device logged in here, else its region. */
uint64_t
route_where(struct server *s, uint32_t code)
{
	uint64_t v;

	if (env_code_is_device(code) && (v = table_device(s, code)) != 0)
		return v;
	return table_region(s, env_code_region(code));
}

/*
 * The route step (§5).  Each case calls route_audit() once the verdict is
 * final and before it writes anything, so that a message's IN record
 * comes before the records of what it caused.
 */
void
route_message(struct link *l, struct pipe_ctx *c)
{
	const struct env_header *h = c->h;

	switch (c->route) {
	case R_LINK:
		link_type(l, c);
		break;
	case R_DROP:
		route_audit(l, c);
		log_info("link %u: %08X: reserved type %u from %08X ignored",
		    l->c.id, l->c.code, h->type, h->from);
		break;
	case R_REGION:
		forward(l, c, c->route_arg << 16);
		break;
	case R_CODE:
		forward(l, c, c->route_arg);
		break;
	case R_LOCATE:
		locate_answer(l, c);
		break;
	case R_SELF:	/* plugins first (common/plugin.h), none: 404 */
		if (plugin_dispatch(l->w->srv->plugins, h, c->body, c->len,
		    l->c.code) != 1) {
			pipe_reject(c, 404, "no subscriber at the platform");
			route_audit(l, c);
			send_error(l, 404, h->from, h, c->reason);
		} else
			route_audit(l, c);
		break;
	default:
		route_audit(l, c);
		break;
	}
}

/*
 * The audit seam of §6/§8: the IN record of the message c, refused
 * (c->error) or routed, with the bytes as received (record.c); the
 * debug log has it too.
 */
void
route_audit(struct link *l, const struct pipe_ctx *c)
{
	static const char *const what[] = { "none", "link", "dropped",
	    "forwarded", "forwarded", "answered" };

	record_in(l, c->h, c->error, l->w->raw, l->w->rawlen);
	if (c->error != 0)
		log_debug("audit: in %08X type %u seq %u from %08X to %08X: "
		    "refused %d %s", l->c.code, c->h->type, c->h->seq,
		    c->h->from, c->h->to, c->error, c->reason);
	else
		log_debug("audit: in %08X type %u seq %u from %08X to %08X: "
		    "%s", l->c.code, c->h->type, c->h->seq, c->h->from,
		    c->h->to, what[c->route]);
}

/*
 * The stamped frame to whatever link reaches dest, on any worker.  It
 * travels behind its Header (DLV_HDR), which then names the platform in
 * Via as the bytes do (tag offsets stay those of the received bytes).
 */
static void
forward(struct link *l, struct pipe_ctx *c, uint32_t dest)
{
	struct worker *w = l->w;
	uint64_t where = route_where(w->srv, dest);
	struct env_header h;

	if (where == 0) {	/* went down since the decision (§5: 503) */
		pipe_reject(c, 503, "destination region unreachable");
		route_audit(l, c);
		if (c->h->type != ENV_T_ACK && c->h->type != ENV_T_ERROR)
			send_error(l, 503, c->h->from, c->h, c->reason);
		return;
	}
	route_audit(l, c);
	h = *c->h;
	if (h.nvia < ENV_MAX_VIA)
		h.via[h.nvia++] = w->srv->code;
	memcpy(w->scratch, &h, DLV_HDR);	/* c->body is just after it */
	worker_send(w, where, IT_DELIVER, dest, w->scratch,
	    DLV_HDR + c->len + 4);
}

/* Link-level reserved types (§4, §5). */
static void
link_type(struct link *l, struct pipe_ctx *c)
{
	struct server *s = l->w->srv;
	const struct env_header *h = c->h;

	if (h->type == ENV_T_LOGIN)
		pipe_reject(c, 403, "already logged in");
	route_audit(l, c);
	switch (h->type) {
	case ENV_T_LOGIN:
		send_error(l, 403, h->from, h, c->reason);
		break;
	case ENV_T_CHECK:	/* CheckReply with its Seq, never forwarded */
		send_frame(l, ENV_T_CHECK_REPLY, h->seq, l->c.code, s->token,
		    NULL);
		break;
	case ENV_T_LOGOUT:	/* §5: the domain's region goes down */
		link_close(l, "logout");
		break;
	default:	/* CheckReply */
		break;
	}
}

/* A region Locate, or a domain server's code, from the table (§5). */
static void
locate_answer(struct link *l, struct pipe_ctx *c)
{
	struct server *s = l->w->srv;
	uint32_t code = c->route_arg;
	char params[FRAME_MAX_SERVER - 256], addr[ADDR_MAX + 1];

	if (table_region_addr(s, env_code_region(code), addr,
	    sizeof(addr)) == -1) {
		pipe_reject(c, 503, "region not up");
		route_audit(l, c);
		send_error(l, 503, c->h->from, c->h, c->reason);
		return;
	}
	route_audit(l, c);
	/* The address came from a peer: the builder escapes it. */
	if (env_p_location(params, sizeof(params), code, code, addr, true) >= 0)
		send_frame(l, ENV_T_LOCATE_REPLY, c->h->seq, c->h->from,
		    s->token, params);
}

/*
 * Delivers a frame queued for a link of this worker (item: its Header,
 * then the frame, DLV_HDR), or re-routes it.
 */
void
route_deliver_local(struct worker *w, uint32_t code, uint32_t id,
    const uint8_t *item, size_t len)
{
	struct link *l = worker_link(w, id);
	struct env_header h;
	uint64_t where;

	if (len <= DLV_HDR + 4)
		return;		/* not ours: every sender puts both */
	memcpy(&h, item, DLV_HDR);	/* an inbox does not align it */
	if (l != NULL && l->c.state == C_ONLINE) {
		link_write(l, &h, item + DLV_HDR, len - DLV_HDR);
		return;
	}
	where = route_where(w->srv, code);
	if (where != 0 && (uint32_t)(where >> 16) != id) {
		worker_send(w, where, IT_DELIVER, code, item, len);
		return;
	}
	refuse_lost(w, &h);
}

/*
 * The destination link went away after the decision: the platform never
 * stores (§5), so the sender hears 503, wherever it is connected; an Ack
 * or an Error is only logged (§4: no Error answers an Error).
 */
static void
refuse_lost(struct worker *w, const struct env_header *h)
{
	struct server *s = w->srv;
	struct env_header eh;
	char buf[DLV_HDR + FRAME_MAX_SERVER];
	uint64_t where;
	size_t n;

	if (h->type == ENV_T_ACK || h->type == ENV_T_ERROR ||
	    (where = route_where(s, h->from)) == 0) {
		log_info("dropped type %u from %08X to %08X seq %u: "
		    "destination gone", h->type, h->from, h->to, h->seq);
		return;
	}
	n = error_frame(s, buf + DLV_HDR, FRAME_MAX_SERVER, &eh, 503, h->from,
	    h, "destination region unreachable");
	memcpy(buf, &eh, DLV_HDR);
	worker_send(w, where, IT_DELIVER, h->from, (const uint8_t *)buf,
	    DLV_HDR + n);
}

/* A frame the platform creates, and its Header h (for its record). */
static size_t
own_frame(struct server *s, char *buf, size_t cap, struct env_header *h,
    uint32_t type, const char *session, uint32_t seq, uint32_t to,
    const char *params)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->seq = seq;
	h->from = s->code;
	h->to = to;
	snprintf(h->session, sizeof(h->session), "%s", session);
	return frame_build(buf, cap, type, session, seq, s->code, to, params);
}

/* An Error From the platform To to, naming the refused h. */
static size_t
error_frame(struct server *s, char *buf, size_t cap, struct env_header *eh,
    int code, uint32_t to, const struct env_header *h, const char *text)
{
	char params[1024];

	(void)env_p_error(params, sizeof(params), code, h ? h->seq : 0,
	    h ? h->to : 0, h ? h->session : "", text);
	return own_frame(s, buf, cap, eh, ENV_T_ERROR, s->token,
	    server_seq(s), to, params);
}

int
send_frame(struct link *l, uint32_t type, uint32_t seq, uint32_t to,
    const char *session, const char *params)
{
	struct env_header h;
	char buf[FRAME_MAX_SERVER];
	size_t n = own_frame(l->w->srv, buf, sizeof(buf), &h, type, session,
	    seq, to, params);

	return link_write(l, &h, (const uint8_t *)buf, n);
}

/* An Error on this link To to, naming the refused message h (§4). */
int
send_error(struct link *l, int code, uint32_t to, const struct env_header *h,
    const char *text)
{
	struct env_header eh;
	char buf[FRAME_MAX_SERVER];
	size_t n = error_frame(l->w->srv, buf, sizeof(buf), &eh, code, to, h,
	    text);

	return link_write(l, &eh, (const uint8_t *)buf, n);
}
