/*
 * fed.c - inter-domain traffic of nap-domain (DESIGN.md §5): messages
 * for other regions leave by the preferred platform server of their
 * region (one at a time per region, so that order holds, switching only
 * when it fails), stamped with this domain's code in Via (§3); each is
 * kept until the destination domain confirms it and is sent again
 * through another platform when its uplink fails; a region that is down
 * everywhere but was up since this start is held in the store.  What
 * other domains send is delivered like a local message, its duplicates
 * dropped, and confirmed back to its source domain.
 *
 * Runs on worker FED_WORKER only (fed.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed.h"
#include "frames.h"
#include "log.h"

#define ACKS_PER_FRAME	100	/* <ack/> elements in one confirmation */
#define ACK_FRAME_MAX	(ACKS_PER_FRAME * 96 + 1024)

/* A confirmation owed to a source domain (§5 "Between domains"). */
struct pack {
	uint32_t	domain, from, seq;
	char		session[17];
};

static void	send_x(struct fed *, struct xunc *);
static void	ack_flush(evutil_socket_t, short, void *);
static void	fetch_next(struct fed *);

/* ---- parameters ------------------------------------------------------ */

int
param_str(struct env_msg *m, const char *elem, const char *attr, char *buf,
    size_t cap)
{
	const char *v = env_param_get(m, elem, attr);

	if (v == NULL)
		return -1;
	snprintf(buf, cap, "%s", v);
	return 0;
}

long
param_long(struct env_msg *m, const char *elem, const char *attr, long dflt)
{
	char buf[32], *end;
	long v;

	if (param_str(m, elem, attr, buf, sizeof(buf)) == -1)
		return dflt;
	v = strtol(buf, &end, 10);
	return *end == '\0' && end != buf ? v : dflt;
}

/* ---- set-up --------------------------------------------------------------- */

int
fed_init(struct server *s, char *err, size_t errlen)
{
	struct fed *f;

	if (s->conf.platform.n == 0)
		return 0;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->tab = calloc(4096, sizeof(*f->tab))) == NULL ||
	    (f->dup = nap_dup_new(65536)) == NULL ||
	    (f->acks = evbuffer_new()) == NULL ||
	    (f->ackin = evbuffer_new()) == NULL ||
	    (f->scratch = malloc(s->conf.max_frame + 64)) == NULL ||
	    (f->scratch2 = malloc(s->conf.max_frame + 64)) == NULL) {
		snprintf(err, errlen, "federation: out of memory");
		fed_free(f);
		return -1;
	}
	s->fed = f;
	f->srv = s;
	f->w = s->w[FED_WORKER];
	f->nbuckets = 4096;
	f->fetching = -1;
	if ((f->flush = event_new(f->w->io.base, -1, 0, ack_flush, f)) == NULL ||
	    uplink_init(f, err, errlen) == -1) {
		s->fed = NULL;
		fed_free(f);
		return -1;
	}
	return 0;
}

void
fed_free(struct fed *f)
{
	struct xunc *x, *next;

	if (f == NULL)
		return;
	for (int i = 0; i < f->n; i++)
		uplink_free(&f->u[i]);
	for (x = f->head; x != NULL; x = next) {
		next = x->next;
		free(x);
	}
	if (f->flush != NULL)
		event_free(f->flush);
	if (f->acks != NULL)
		evbuffer_free(f->acks);
	if (f->ackin != NULL)
		evbuffer_free(f->ackin);
	SSL_CTX_free(f->ctx);
	nap_dup_free(f->dup);
	free(f->scratch);
	free(f->scratch2);
	free(f->tab);
	free(f);
}

void
fed_tick(struct fed *f)
{
	int64_t now = mono_ms();

	for (int i = 0; i < f->n; i++)
		uplink_tick(&f->u[i], now);
}

/*
 * A graceful stop (§5): what other domains have not confirmed is held
 * in the store, so that it leaves again after the restart; then Logout.
 */
/* The end of a loop turn: each uplink's frames to TLS together. */
void
fed_turn_end(struct fed *f)
{
	for (int i = 0; i < f->n; i++)
		uplink_flush(&f->u[i]);
}

void
fed_stop(struct fed *f)
{
	struct xunc *x;

	for (x = f->head; x != NULL; x = x->next)
		if (x->it.row == 0 && x->it.ttl != 0) {
			x->it.flags |= MF_FOREIGN;
			(void)store_put(f->srv->store, &x->it, x->frame, 0);
		}
	for (int i = 0; i < f->n; i++)
		uplink_logout(&f->u[i]);
}

/* ---- the unconfirmed ------------------------------------------------------ */

static size_t
xhash(const struct fed *f, uint32_t from, uint32_t seq)
{
	return ((from * 2654435761u) ^ (seq * 40503u)) & (f->nbuckets - 1);
}

static struct xunc **
xfind(struct fed *f, uint32_t from, uint32_t seq, const char *session)
{
	struct xunc **pp = &f->tab[xhash(f, from, seq)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->it.from == from && (*pp)->it.seq == seq &&
		    (session == NULL || memcmp((*pp)->it.session, session,
		    16) == 0))
			break;
	return pp;
}

static void
xgrow(struct fed *f)
{
	size_t nb = f->nbuckets * 2;
	struct xunc **t = calloc(nb, sizeof(*t)), *x;

	if (t == NULL)
		return;		/* longer chains, still correct */
	free(f->tab);
	f->tab = t;
	f->nbuckets = nb;
	for (x = f->head; x != NULL; x = x->next) {
		size_t b = xhash(f, x->it.from, x->it.seq);

		x->hnext = t[b];
		t[b] = x;
	}
}

/* Keeps a message until its destination domain confirms it. */
static struct xunc *
xadd(struct fed *f, const struct item *it, const uint8_t *frame)
{
	struct xunc *x;
	size_t b;

	if (*xfind(f, it->from, it->seq, it->session) != NULL)
		return NULL;	/* sent already (a held row fetched again) */
	if ((x = malloc(sizeof(*x) + it->len)) == NULL)
		fatalx("no memory for an inter-domain message");
	memset(x, 0, sizeof(*x));
	x->it = *it;
	x->up = -1;
	memcpy(x->frame, frame, it->len);
	if (f->count >= f->nbuckets)
		xgrow(f);
	b = xhash(f, it->from, it->seq);
	x->hnext = f->tab[b];
	f->tab[b] = x;
	x->prev = f->tail;
	if (f->tail != NULL)
		f->tail->next = x;
	else
		f->head = x;
	f->tail = x;
	f->count++;
	return x;
}

static void
xdel(struct fed *f, struct xunc *x)
{
	struct xunc **pp = xfind(f, x->it.from, x->it.seq, x->it.session);

	if (*pp == x)
		*pp = x->hnext;
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		f->head = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	else
		f->tail = x->prev;
	f->count--;
	free(x);
}

/* ---- sending ---------------------------------------------------------------- */

int
fed_region_up(const struct fed *f, uint16_t region)
{
	for (int i = 0; i < f->n; i++)
		if (f->u[i].state == U_UP && bit_get(f->u[i].up, region))
			return 1;
	return 0;
}

/* §5.3: the preferred platform of a region, kept while it has it up. */
static int
pick(struct fed *f, uint16_t region)
{
	int p = f->pref[region] - 1;

	if (p >= 0 && f->u[p].state == U_UP && bit_get(f->u[p].up, region))
		return p;
	for (int i = 0; i < f->n; i++)
		if (f->u[i].state == U_UP && bit_get(f->u[i].up, region)) {
			f->pref[region] = (uint8_t)(i + 1);
			return i;
		}
	return -1;
}

/* Any uplink that is up: for what the platform itself answers. */
static int
pick_any(struct fed *f)
{
	for (int i = 0; i < f->n; i++)
		if (f->u[i].state == U_UP)
			return i;
	return -1;
}

/*
 * §3 Via: this domain's code spliced in, then out by uplink u.  The
 * Header was parsed when the message was routed (its tag offsets came
 * with it); a held row is parsed again.
 */
static int
stamp_out(struct fed *f, int u, const struct item *it, const uint8_t *frame)
{
	struct env_header h;
	struct env_error err;
	size_t cap = f->srv->conf.max_frame + 4, n;

	memset(&h, 0, sizeof(h));
	h.tag_start = it->tag_start;
	h.tag_end = it->tag_end;
	if (it->tag_end == 0 && env_parse_header(f->w->parser, frame + 4,
	    it->len - 4, &h, &err) == -1)
		return -1;
	/* §3: a message that waited in the store leaves with what remains
	 * of its TTL (the tag moved: parsed again). */
	if (it->row != 0) {
		if (env_ttl_set(frame + 4, it->len - 4, &h, it->ttl,
		    f->scratch2, cap, &n) == -1 || env_parse_header(
		    f->w->parser, f->scratch2 + 4, n - 4, &h, &err) == -1)
			return -1;
		frame = f->scratch2;
	} else
		n = it->len;
	if (env_via_stamp(frame + 4, n - 4, &h, f->srv->code, f->scratch, cap,
	    &n) == -1)
		return -1;
	if (f->srv->audit != NULL) {
		struct item out = *it;

		out.len = (uint32_t)n;
		audit_item(f->srv, AUDIT_OUT, 0, AUDIT_ROUTED, 0, &out,
		    f->scratch);
	}
	return uplink_write(&f->u[u], f->scratch, n);
}

/* An answer to the (local) sender of it, when it asked or must hear. */
static void
refuse(struct fed *f, const struct item *it, int code, const char *text)
{
	if (env_code_region(it->from) == f->srv->region)
		dlv_receipt(f->w, it, code, text);
	else
		log_info("no route back to %08X: %d %s", it->from, code, text);
}

/*
 * Sends an unconfirmed message by the region's platform, or holds it in
 * the store (§5.3), or refuses it: 503 for a region never up since this
 * start or TTL 0.  x is freed unless it left.
 */
static void
send_x(struct fed *f, struct xunc *x)
{
	uint16_t region = env_code_region(x->it.to);
	int u = pick(f, region);

	if (u >= 0 && stamp_out(f, u, &x->it, x->frame) == 0) {
		x->up = u;
		return;
	}
	if (u >= 0 && f->u[u].state == U_UP) {	/* it cannot be stamped */
		refuse(f, &x->it, 413, "no room for the Via stamp");
		xdel(f, x);
		return;
	}
	if (bit_get(f->seen, region) && x->it.ttl != 0) {
		if (x->it.row == 0) {	/* held: on disk until it is up */
			x->it.flags |= MF_FOREIGN;
			(void)store_put(f->srv->store, &x->it, x->frame, 0);
			f->held++;
		}
		xdel(f, x);
		return;
	}
	refuse(f, &x->it, 503, "destination region unreachable");
	if (x->it.row != 0) {
		int64_t row = x->it.row;

		store_delete(f->srv->store, &row, 1);
	}
	xdel(f, x);
}

/*
 * A message for another region or for the platform (§5 cases 0 and 3),
 * from any thread through the inbox.  Locate and what goes to the
 * platform itself is not confirmed by a domain: sent, or 503.
 */
void
fed_route(struct fed *f, struct item *it, const uint8_t *frame)
{
	struct xunc *x;
	int u;

	if (it->to == 0 || it->type == ENV_T_LOCATE ||
	    it->type == ENV_T_LOCATE_REPLY) {
		u = it->to == 0 || it->type == ENV_T_LOCATE ? pick_any(f) :
		    pick(f, env_code_region(it->to));
		if (u < 0 || stamp_out(f, u, it, frame) == -1)
			refuse(f, it, 503, "no platform server up");
		return;
	}
	if ((x = xadd(f, it, frame)) != NULL)
		send_x(f, x);
}

/* A held row of a region that came up (store_fetch_held). */
void
fed_held(struct fed *f, struct item *it, const uint8_t *frame)
{
	struct xunc *x;

	if (it->ord > f->fetch_after)
		f->fetch_after = it->ord;
	it->flags |= MF_FOREIGN;
	if ((x = xadd(f, it, frame)) != NULL)
		send_x(f, x);
}

void
fed_held_end(struct fed *f, uint16_t region, uint32_t rows)
{
	(void)region;
	if (rows == HELD_PAGE && fed_region_up(f, (uint16_t)f->fetching)) {
		store_fetch_held(f->srv->store, (uint16_t)f->fetching,
		    f->fetch_after, HELD_PAGE);
		return;
	}
	f->fetching = -1;
	fetch_next(f);
}

/* One region's held rows at a time, page by page. */
static void
fetch_next(struct fed *f)
{
	if (f->fetching >= 0)
		return;
	for (unsigned r = 0; r < REGIONS; r++)
		if (bit_get(f->fetch_wait, r)) {
			bit_set(f->fetch_wait, r, 0);
			if (!fed_region_up(f, (uint16_t)r))
				continue;
			f->fetching = (int)r;
			f->fetch_after = INT64_MIN;
			store_fetch_held(f->srv->store, (uint16_t)r, INT64_MIN,
			    HELD_PAGE);
			return;
		}
}

/* ---- region table (§5 RouteUpdate) ---------------------------------------- */

/*
 * A region up or down on uplink u.  A region that comes up anywhere gets
 * what waits for it: the unconfirmed messages again (the destination
 * drops duplicates), then the held ones.
 */
void
fed_region(struct fed *f, struct uplink *u, uint16_t region, int up)
{
	int was = fed_region_up(f, region);
	struct xunc *x, *next;

	bit_set(u->up, region, up);
	if (up)
		bit_set(f->seen, region, 1);
	if (was || !up)
		return;
	log_info("region %04X up (platform %s)", region, u->addr);
	for (x = f->head; x != NULL; x = next) {
		next = x->next;
		if (env_code_region(x->it.to) == region)
			send_x(f, x);
	}
	bit_set(f->fetch_wait, region, 1);
	fetch_next(f);
}

/* An uplink failed: what left by it goes again by another (§5). */
void
fed_lost(struct fed *f, struct uplink *u)
{
	struct xunc *x, *next;

	for (x = f->head; x != NULL; x = next) {
		next = x->next;
		if (x->up == u->idx) {
			x->up = -1;
			f->rerouted++;
			send_x(f, x);
		}
	}
}

static void
route_update(struct fed *f, struct uplink *u, const uint8_t *body,
    size_t len)
{
	struct env_msg *m = NULL;
	struct env_error err;
	struct env_param *n;
	const char *r, *st;
	uint32_t code;

	if (env_parse(f->w->parser, body, len, &m, &err) == -1)
		return;
	for (n = env_param_first(m, "route"); n != NULL;
	    n = env_param_next(n, "route")) {
		r = env_param_attr(n, "region");
		st = env_param_attr(n, "state");
		if (r != NULL && st != NULL && strlen(r) == 4) {
			char c8[9];

			snprintf(c8, sizeof(c8), "%s0000", r);
			if (env_code_parse(c8, 8, &code) == 0 &&
			    env_code_region(code) != f->srv->region)
				fed_region(f, u, env_code_region(code),
				    strcmp(st, "up") == 0);
		}
	}
	env_msg_free(m);
}

/* ---- confirmations between domains ------------------------------------------ */

/* Owed to the source domain of a message, sent in batches (ack_flush). */
static void
ack_owe(struct fed *f, uint32_t from, uint32_t seq, const char *session)
{
	struct pack p;

	memset(&p, 0, sizeof(p));
	p.domain = from & 0xffff0000u;
	p.from = from;
	p.seq = seq;
	memcpy(p.session, session, 16);
	evbuffer_add(f->acks, &p, sizeof(p));
	if (!event_pending(f->flush, EV_TIMEOUT, NULL))
		event_active(f->flush, EV_TIMEOUT, 0);
}

/* A message of another domain is on a device link or on disk. */
void
fed_xack(struct fed *f, const struct item *it)
{
	ack_owe(f, it->from, it->seq, it->session);
}

/* One Ack frame per source domain and ACKS_PER_FRAME confirmations. */
static void
ack_send(struct fed *f, uint32_t domain, const char *params)
{
	struct server *s = f->srv;
	char *buf = malloc(ACK_FRAME_MAX + 1024);
	struct item it;
	int u;

	if (buf == NULL)
		return;
	memset(&it, 0, sizeof(it));
	it.len = (uint32_t)frame_build(buf, ACK_FRAME_MAX + 1024, ENV_T_ACK,
	    s->token, server_seq(s), s->code, domain, params);
	it.to = domain;
	it.type = ENV_T_ACK;
	if ((u = pick(f, env_code_region(domain))) >= 0)
		(void)stamp_out(f, u, &it, (const uint8_t *)buf);
	free(buf);
}

static void
ack_flush(evutil_socket_t fd, short ev, void *arg)
{
	struct fed *f = arg;
	size_t n = evbuffer_get_length(f->acks) / sizeof(struct pack);
	struct pack *p = (struct pack *)evbuffer_pullup(f->acks, -1);
	char *params = malloc(ACK_FRAME_MAX);
	size_t len, k;

	(void)fd;
	(void)ev;
	for (size_t i = 0; params != NULL && i < n; i++) {
		if (p[i].domain == 0)
			continue;	/* taken by an earlier frame */
		len = 0;
		k = 0;
		for (size_t j = i; j < n && k < ACKS_PER_FRAME; j++) {
			if (p[j].domain != p[i].domain || (j > i &&
			    p[j].domain == 0))
				continue;
			len += (size_t)env_p_confirm(params + len,
			    ACK_FRAME_MAX - len, p[j].from, p[j].seq,
			    p[j].session);
			if (j > i)
				p[j].domain = 0;
			k++;
		}
		ack_send(f, p[i].domain, params);
	}
	free(params);
	evbuffer_drain(f->acks, n * sizeof(struct pack));
	worker_flush(f->w);
}

/*
 * An <ack from seq session/> of a confirmation from another domain,
 * collected while its frame is parsed (env_parse_children): used only
 * once the whole document proved well-formed (acks_in).  Values are
 * read strictly: a domain writes them plain.
 */
void
fed_child(void *arg, const struct env_header *h, const char *name,
    const struct env_attr *a, int n)
{
	struct fed *f = arg;
	struct pack p;
	int got = 0;

	if (h->type != ENV_T_ACK || !env_code_is_domain(h->from) ||
	    h->to != f->srv->code || strcmp(name, "ack") != 0)
		return;
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < n; i++) {
		if (strcmp(a[i].name, "from") == 0 && env_code_parse(
		    a[i].value, a[i].len, &p.from) == 0)
			got |= 1;
		else if (strcmp(a[i].name, "seq") == 0 && env_u32_parse(
		    a[i].value, a[i].len, &p.seq) == 0)
			got |= 2;
		else if (strcmp(a[i].name, "session") == 0 && a[i].len == 16) {
			memcpy(p.session, a[i].value, 16);
			got |= 4;
		}
	}
	if (got == 7)
		evbuffer_add(f->ackin, &p, sizeof(p));
}

/* What a frame that failed to parse had collected is dropped. */
void
fed_children_drop(struct fed *f)
{
	evbuffer_drain(f->ackin, evbuffer_get_length(f->ackin));
}

/* The destination domain confirms: done with those messages (§5). */
static void
acks_in(struct fed *f)
{
	struct pack p;
	struct xunc **pp;

	while (evbuffer_remove(f->ackin, &p, sizeof(p)) == sizeof(p))
		if (*(pp = xfind(f, p.from, p.seq, p.session)) != NULL) {
			if ((*pp)->it.row != 0)
				store_delete(f->srv->store, &(*pp)->it.row, 1);
			xdel(f, *pp);
		}
}

/* ---- what other domains send ---------------------------------------------- */

/* Answered with an Error: confirmed to its source as done (§5). */
static void
refused_in(struct fed *f, struct item *it, int code, const char *text)
{
	dlv_receipt(f->w, it, code, text);
	ack_owe(f, it->from, it->seq, it->session);
}

/* §5: a message for a device of this region, from another region. */
static void
incoming(struct fed *f, const uint8_t *frame, size_t len,
    const struct env_header *h)
{
	struct server *s = f->srv;
	struct reg_device d;
	struct item it;
	int rc, offline, confirm = h->type >= ENV_T_APP ||
	    h->type == ENV_T_ACK || h->type == ENV_T_ERROR;

	if (env_code_region(h->to) != s->region) {	/* the platform erred */
		log_warnx("dropped a type %u frame for %08X from the platform",
		    h->type, h->to);
		return;
	}
	if (!env_code_is_device(h->to)) {
		/* §5 case 2 from another region: no subscriber here yet. */
		item_from_header(s, &it, h);
		/* plugins first (common/plugin.h); confirmed as taken */
		if (plugin_dispatch(s->plugins, h, frame + 4, len - 4, 0) == 1)
			ack_owe(f, it.from, it.seq, it.session);
		else if (h->type >= ENV_T_APP)
			refused_in(f, &it, 404, "no subscriber for this type "
			    "here");
		return;
	}
	if (confirm && nap_dup_check(f->dup, h->from, h->session, h->seq) ==
	    1) {
		f->dups++;	/* its confirmation may have been lost */
		ack_owe(f, h->from, h->seq, h->session);
		return;
	}
	item_from_header(s, &it, h);
	it.len = (uint32_t)len;
	if (confirm)	/* confirmed once on a link or on disk */
		it.flags |= MF_XACK;
	audit_msg(s->audit, AUDIT_IN, 0, AUDIT_ROUTED, 0, h, frame + 4,
	    len - 4);
	/* A device logged in is registered and enabled (SIGHUP kicks it
	 * otherwise): the registry is read only for an offline one. */
	offline = h->type >= ENV_T_APP && atomic_load(&s->slot[it.node]) == 0;
	if (offline && (rc = registry_get(f->w->reg, h->to, &d)) != 0)
		refused_in(f, &it, rc == 1 ? 404 : 503, rc == 1 ?
		    "unknown destination" : "registry unavailable");
	else if (offline && !d.enabled)
		refused_in(f, &it, 403, "destination disabled");
	else
		route_local(f->w, &it, frame);
}

/*
 * An Error from the platform about a message of ours: a 503 for a region
 * that went down is not the sender's business (§5): the message goes
 * again by another platform, or is held.  Anything else goes on to the
 * device.
 */
static void
platform_error(struct fed *f, const uint8_t *frame, size_t len,
    const struct env_header *h)
{
	struct env_msg *m = NULL;
	struct env_error err;
	char sess[32];
	long code, seq;
	struct xunc **pp = NULL;

	if (env_parse(f->w->parser, frame + 4, len - 4, &m, &err) == 0) {
		code = param_long(m, "error", "code", 0);
		seq = param_long(m, "error", "seq", -1);
		if (param_str(m, "error", "session", sess, sizeof(sess)) ==
		    0 && strlen(sess) == 16 && seq >= 0)
			pp = xfind(f, h->to, (uint32_t)seq, sess);
		env_msg_free(m);
		if (pp != NULL && *pp != NULL && code == 503) {
			(*pp)->up = -1;
			f->rerouted++;
			send_x(f, *pp);
			return;
		}
		if (pp != NULL && *pp != NULL)	/* final: no resend */
			xdel(f, *pp);
	}
	incoming(f, frame, len, h);
}

/* §5 Locate of one of our codes, forwarded by the platform. */
static void
locate_in(struct fed *f, const uint8_t *frame, size_t len,
    const struct env_header *h)
{
	struct server *s = f->srv;
	struct env_msg *m = NULL;
	struct env_error err;
	struct reg_device d;
	char v[32], params[FRAME_MAX_SERVER - 256], hp[256];
	char buf[FRAME_MAX_SERVER];
	uint32_t code;
	struct item it;

	if (env_parse(f->w->parser, frame + 4, len - 4, &m, &err) == -1)
		return;
	if (param_str(m, "locate", "code", v, sizeof(v)) == -1 ||
	    env_code_parse(v, strlen(v), &code) == -1 ||
	    env_code_region(code) != s->region) {
		env_msg_free(m);
		return;
	}
	env_msg_free(m);
	item_from_header(s, &it, h);
	if (code != s->code && registry_get(f->w->reg, code, &d) != 0) {
		it.to = h->from;
		dlv_receipt(f->w, &it, 404, "unknown code");
		return;
	}
	server_address(s, hp, sizeof(hp));
	if (env_p_location(params, sizeof(params), code, s->code, hp,
	    code == s->code || atomic_load(&s->slot[code & 0xffff]) != 0) < 0)
		return;
	memset(&it, 0, sizeof(it));
	it.len = (uint32_t)frame_build(buf, sizeof(buf), ENV_T_LOCATE_REPLY,
	    s->token, h->seq, s->code, h->from, params);
	it.to = h->from;
	it.from = s->code;
	it.type = ENV_T_LOCATE_REPLY;
	fed_route(f, &it, (const uint8_t *)buf);
}

/* A frame from a platform server (uplink.c), prefix included. */
void
fed_frame(struct uplink *u, const uint8_t *frame, size_t len,
    const struct env_header *h)
{
	struct fed *f = u->fed;
	struct server *s = f->srv;
	char buf[FRAME_MAX_SERVER];
	size_t n;

	switch (h->type) {
	case ENV_T_LOGIN_REPLY: case ENV_T_CHECK_REPLY:
		break;
	case ENV_T_CHECK:	/* CheckReply with its Seq, on this link */
		n = frame_build(buf, sizeof(buf), ENV_T_CHECK_REPLY, s->token,
		    h->seq, s->code, h->from, NULL);
		(void)uplink_write(u, (const uint8_t *)buf, n);
		break;
	case ENV_T_LOGOUT:
		uplink_fail(u, "the platform logged us out");
		break;
	case ENV_T_ROUTE_UPDATE:
		route_update(f, u, frame + 4, len - 4);
		break;
	case ENV_T_LOCATE:
		locate_in(f, frame, len, h);
		break;
	case ENV_T_ACK:
		if (env_code_is_domain(h->from) && h->to == s->code)
			acks_in(f);
		else
			incoming(f, frame, len, h);
		break;
	case ENV_T_ERROR:
		if (env_code_is_platform(h->from))
			platform_error(f, frame, len, h);
		else
			incoming(f, frame, len, h);
		break;
	default:
		if (h->type >= ENV_T_APP || h->type == ENV_T_LOCATE_REPLY)
			incoming(f, frame, len, h);
		else	/* §4: an unknown reserved type between servers */
			log_info("platform %s: type %u ignored", u->addr,
			    h->type);
	}
}
