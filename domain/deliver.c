/*
 * deliver.c - the device side of DESIGN.md §5 in nap-domain: what a link
 * wrote and the device has not confirmed, the confirmations (cumulative
 * device Ack), `delivered' receipts, stored messages streamed in pages
 * at login before new traffic, and the return of unconfirmed messages to
 * the store when a link closes.
 *
 * Every function here runs on the I/O thread that owns the link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "log.h"

#define PAGE_ROWS	64	/* §5: stored messages come in pages */
#define RING_MIN	16

static void	fetch(struct link *);
static void	audit_confirmed(struct link *, uint32_t);
static void	write_ent(struct link *, const struct item *, const uint8_t *);

static struct store *
store_of(const struct link *l)
{
	return l->w->srv->store;
}

static uint16_t
node_of(const struct link *l)
{
	return (uint16_t)(l->c.code & 0xffff);
}

/*
 * At login, once the slot is ours: stored rows first (drain), or live.
 * A login that replaced another waits for the old link's unconfirmed
 * messages to be returned: they come before anything else (§4).
 */
void
dlv_start(struct link *l, int replaced)
{
	struct dlv *d = &l->d;
	struct worker *w = l->w;
	unsigned home = atomic_load(&w->srv->home[node_of(l)]);
	struct item bar = { .kind = IT_BARRIER, .node = node_of(l) };

	d->cursor = INT64_MIN;
	d->fetching = d->puts = 0;
	if (d->bytes == NULL && (d->bytes = evbuffer_new()) == NULL)
		fatalx("link %u: no memory", l->c.id);
	if (replaced)
		d->state = D_WAIT;
	else if (home != 0 && home - 1 != (unsigned)w->io.idx) {
		/* Messages on the offline path may still be at the old
		 * home: it stores them, then the store says drain. */
		d->state = D_WAIT;
		worker_send(w, home, &bar, NULL);
	} else if (store_backlog(store_of(l), node_of(l))) {
		d->state = D_DRAIN;
		fetch(l);
	} else
		d->state = D_LIVE;
}

/* Asks for the next page while the ring has room for it. */
static void
fetch(struct link *l)
{
	struct dlv *d = &l->d;
	uint32_t max = (uint32_t)l->w->srv->conf.unconf_max, room;

	if (d->fetching || d->state != D_DRAIN || d->n >= max)
		return;
	room = max - d->n;
	d->fetching = 1;
	d->puts = 0;
	store_fetch(store_of(l), node_of(l), l->w->io.idx, l->c.id, d->cursor,
	    room < PAGE_ROWS ? room : PAGE_ROWS);
}

static void
ring_grow(struct dlv *d, uint32_t max)
{
	uint32_t cap = d->cap ? d->cap * 2 : RING_MIN;
	struct unc *r;

	if (cap > max)
		cap = max;
	if (cap <= d->cap)
		cap = d->cap + 1;	/* past the bound: TTL 0, see offer */
	if ((r = malloc(cap * sizeof(*r))) == NULL)
		fatalx("no memory for a delivery ring");
	for (uint32_t i = 0; i < d->n; i++)
		r[i] = d->ring[(d->head + i) % d->cap];
	free(d->ring);
	d->ring = r;
	d->cap = cap;
	d->head = 0;
}

/* Writes a frame to the device, remembered until it is confirmed. */
static void
write_ent(struct link *l, const struct item *it, const uint8_t *frame)
{
	struct dlv *d = &l->d;
	struct unc *u;

	if (d->n == d->cap)
		ring_grow(d, (uint32_t)l->w->srv->conf.unconf_max);
	u = &d->ring[(d->head + d->n) % d->cap];
	u->row = it->row;
	u->from = it->from;
	u->seq = it->seq;
	u->type = it->type;
	u->len = it->len;
	u->ttl = it->ttl;
	u->flags = it->flags;
	memcpy(u->session, it->session, sizeof(u->session));
	d->n++;
	/*
	 * §5: a message of another domain is confirmed to its source once
	 * on a device link; one that asked for receipts only once the device
	 * confirmed it (or it went to the store), so that no crash of this
	 * server loses what its sender still waits a receipt for.
	 */
	if ((u->flags & (MF_XACK | MF_ACK)) == MF_XACK) {
		xack_send(l->w->srv, l->w, NULL, it);
		u->flags &= (uint8_t)~MF_XACK;
	}
	evbuffer_add(d->bytes, frame, it->len);
	if (l->w->srv->audit != NULL) {
		audit_item(l->w->srv, AUDIT_OUT, l->c.code, AUDIT_DELIVERED, 0, it,
		    frame);
		audit_count(l, it->type, true, it->len);
	}
	/* Last: a slow reader is closed here, and the ring goes back. */
	(void)link_write(l, frame, it->len);
}

/*
 * A message routed to this device: to the link when nothing is stored
 * ahead of it and the ring has room; else behind the stored ones (§5:
 * past the bound, new messages go to the store).  TTL 0 is never
 * stored: it goes to the link even past the bound.
 */
void
dlv_offer(struct link *l, const struct item *it, const uint8_t *frame)
{
	struct dlv *d = &l->d;

	if (it->ttl == 0 || (d->state == D_LIVE &&
	    d->n < (uint32_t)l->w->srv->conf.unconf_max)) {
		write_ent(l, it, frame);
		return;
	}
	(void)store_put(store_of(l), it, frame, 0);
	d->puts = 1;
	if (d->state == D_LIVE)
		d->state = D_DRAIN;
	fetch(l);
}

/* One row of a page, in order. */
void
dlv_stored(struct link *l, const struct item *it, const uint8_t *frame)
{
	if (it->ord > l->d.cursor)
		l->d.cursor = it->ord;
	write_ent(l, it, frame);
}

void
dlv_page_end(struct link *l, uint32_t rows)
{
	struct dlv *d = &l->d;

	d->fetching = 0;
	if (d->state != D_DRAIN)
		return;
	if (rows == 0 && !d->puts) {	/* caught up: live again */
		d->state = D_LIVE;
		atomic_store(&l->w->srv->backlog[node_of(l)], 0);
		return;
	}
	fetch(l);
}

/* Rows came back to the store for this device (store_return). */
void
dlv_drain(struct link *l, int64_t from_ord)
{
	struct dlv *d = &l->d;

	if (from_ord - 1 < d->cursor)
		d->cursor = from_ord - 1;
	d->state = D_DRAIN;
	fetch(l);
}

/* <ack from="F" seq="N"/>: 0 and the two, or -1 (§4). */
static int
ack_params(struct worker *w, const uint8_t *body, size_t len,
    uint32_t *from, uint32_t *seq)
{
	struct env_msg *m = NULL;
	struct env_error err;
	struct env_param *a;
	int rc = -1;

	if (env_parse(w->parser, body, len, &m, &err) == 0 &&
	    (a = env_param_first(m, "ack")) != NULL &&
	    env_param_code(a, "from", from) == 0 &&
	    env_param_u32(a, "seq", seq) == 0)
		rc = 0;
	env_msg_free(m);
	return rc;
}

/*
 * §8: a record per confirmed message (the first n of the ring).  The
 * delivered record before it holds the bytes: this one is the event.
 */
static void
audit_confirmed(struct link *l, uint32_t n)
{
	static const uint8_t none[4];
	struct dlv *d = &l->d;
	struct item it;
	struct unc *u;

	for (uint32_t i = 0; i < n; i++) {
		u = &d->ring[(d->head + i) % d->cap];
		memset(&it, 0, sizeof(it));
		it.from = u->from;
		it.to = l->c.code;
		it.seq = u->seq;
		it.type = u->type;
		it.len = 4;
		memcpy(it.session, u->session, sizeof(it.session));
		audit_item(l->w->srv, AUDIT_OUT, l->c.code, AUDIT_CONFIRMED, 0,
		    &it, none);
	}
}

/* The Header an item describes, for an audit record (§8). */
void
audit_item(struct server *s, enum audit_hop hop, uint32_t link,
    enum audit_verdict v, int code, const struct item *it,
    const uint8_t *frame)
{
	struct env_header h;

	if (s->audit == NULL)
		return;
	memset(&h, 0, sizeof(h));
	h.type = it->type;
	h.seq = it->seq;
	h.from = it->from;
	h.to = it->to;
	h.ack = (it->flags & MF_ACK) != 0;
	memcpy(h.session, it->session, 16);
	h.session[16] = '\0';
	if (h.session[0] == '\0' || strlen(h.session) != 16)
		h.session[0] = '\0';
	audit_msg(s->audit, hop, link, v, code, &h, frame + 4, it->len - 4);
}

/* Messages and bytes per type of a link's session (§8). */
void
audit_count(struct link *l, uint32_t type, bool out, size_t bytes)
{
	if (l->w->srv->audit == NULL)
		return;
	if (l->counts == NULL && (l->counts = calloc(1,
	    sizeof(*l->counts))) == NULL)
		return;
	audit_counts_add(l->counts, type, out, bytes);
}

/*
 * §5: the device's Ack names the last message it received; it confirms
 * the oldest unconfirmed one with that (From, Seq) and all before it.
 * Stored rows are deleted; senders that asked get `delivered'.
 */
void
dlv_confirm(struct link *l, const uint8_t *body, size_t len)
{
	struct dlv *d = &l->d;
	uint32_t from, seq, k, i;
	int64_t rows[128];
	size_t nrows = 0, bytes = 0;
	struct unc *u;
	struct item msg;

	if (ack_params(l->w, body, len, &from, &seq) == -1)
		return;		/* malformed confirmation: matches nothing */
	for (k = 0; k < d->n; k++) {
		u = &d->ring[(d->head + k) % d->cap];
		if (u->from == from && u->seq == seq)
			break;
	}
	if (k == d->n)
		return;		/* §5: an ack that matches nothing */
	if (l->w->srv->audit != NULL)
		audit_confirmed(l, k + 1);
	for (i = 0; i <= k; i++) {
		u = &d->ring[(d->head + i) % d->cap];
		bytes += u->len;
		if (u->row != 0)
			rows[nrows++] = u->row;
		if (nrows == sizeof(rows) / sizeof(rows[0])) {
			store_delete(store_of(l), rows, nrows);
			nrows = 0;
		}
		if (u->flags & MF_XACK) {	/* confirmed: to its source */
			memset(&msg, 0, sizeof(msg));
			msg.from = u->from;
			msg.seq = u->seq;
			memcpy(msg.session, u->session, sizeof(msg.session));
			xack_send(l->w->srv, l->w, NULL, &msg);
		}
		if ((u->flags & (MF_ACK | MF_RECEIPT)) == MF_ACK) {
			memset(&msg, 0, sizeof(msg));
			msg.from = u->from;
			msg.to = l->c.code;
			msg.seq = u->seq;
			msg.flags = u->flags;
			memcpy(msg.session, u->session, sizeof(msg.session));
			dlv_receipt(l->w, &msg, 0, "delivered");
		}
	}
	store_delete(store_of(l), rows, nrows);
	evbuffer_drain(d->bytes, bytes);
	d->head = (d->head + k + 1) % d->cap;
	d->n -= k + 1;
	if (d->n == 0) {	/* idle links stay small (§1: 65 535 of them) */
		free(d->ring);
		d->ring = NULL;
		d->cap = d->head = 0;
	}
	fetch(l);
}

/*
 * The link closes (§5): what it wrote and was not confirmed goes back to
 * the store, ahead of everything else for the device, and comes again at
 * the next login.  Always called for a logged-in link, even with nothing
 * unconfirmed: a login waiting on this one hears of it this way.
 */
void
dlv_return(struct link *l)
{
	struct dlv *d = &l->d;
	struct unc *ents = NULL;
	const uint8_t *bytes = NULL;

	if (d->n > 0) {
		if ((ents = malloc(d->n * sizeof(*ents))) == NULL)
			fatalx("no memory to return %u messages", d->n);
		for (uint32_t i = 0; i < d->n; i++)
			ents[i] = d->ring[(d->head + i) % d->cap];
		bytes = evbuffer_pullup(d->bytes, -1);
	}
	store_return(store_of(l), node_of(l), ents, d->n, bytes);
	free(ents);
	dlv_free(l);
}

void
dlv_free(struct link *l)
{
	struct dlv *d = &l->d;

	free(d->ring);
	if (d->bytes != NULL)
		evbuffer_free(d->bytes);
	memset(d, 0, sizeof(*d));
}

/*
 * §5 "Between domains": a message from another domain is confirmed to
 * its source once it is on a device link or on disk.  From an I/O
 * thread (w) or the store thread (ob).
 */
void
xack_send(struct server *s, struct worker *w, struct iop_outbox *ob,
    const struct item *msg)
{
	struct item it;

	memset(&it, 0, sizeof(it));
	it.kind = IT_XACK;
	it.from = msg->from;
	it.seq = msg->seq;
	memcpy(it.session, msg->session, sizeof(it.session));
	if (s->fed == NULL)
		return;
	if (w != NULL)
		worker_send(w, FED_WHERE, &it, NULL);
	else
		item_post(ob, FED_WORKER, &it, NULL);
}

/* A kick for a link that is gone already: the new login must not wait. */
void
dlv_unknown_kick(struct worker *w, uint16_t node)
{
	store_return(w->srv->store, node, NULL, 0, NULL);
}

/*
 * A frame for a device of this region wherever it is: its link, or the
 * store when it is offline.  w is the calling I/O thread, or NULL from
 * the store thread (which batches in ob).  Receipts for other regions
 * are dropped until domains have uplinks.
 */
void
deliver_to_code(struct server *s, struct worker *w, struct iop_outbox *ob,
    struct item *it, const uint8_t *frame)
{
	uint64_t v;

	if (env_code_region(it->to) != s->region) {
		if (s->fed == NULL) {
			log_debug("no route to %08X for a server frame",
			    it->to);
			return;
		}
		it->kind = IT_REMOTE;	/* by a platform (fed.c) */
		if (w != NULL)
			worker_send(w, FED_WHERE, it, frame);
		else
			item_post(ob, FED_WORKER, it, frame);
		return;
	}
	it->node = (uint16_t)(it->to & 0xffff);
	for (int tries = 0; tries < 3; tries++) {
		v = atomic_load_explicit(&s->slot[it->node],
		    memory_order_acquire);
		if (v == 0 && store_put(s->store, it, frame, 1) == 0)
			return;
		if (v == 0)
			continue;	/* logged in meanwhile */
		it->kind = IT_DELIVER;
		it->id = (uint32_t)(v >> 16);
		if (w != NULL)
			worker_send(w, v, it, frame);
		else
			item_post(ob, (int)(v & 0xffff) - 1, it, frame);
		return;
	}
	/* It logs in and out faster than we look: the store keeps it for
	 * its next login. */
	(void)store_put(s->store, it, frame, 0);
}

/* A receipt for msg (code 0: Ack with status text; else Error). */
void
dlv_receipt(struct worker *w, const struct item *msg, int code,
    const char *text)
{
	struct server *s = w->srv;
	char buf[2048];
	struct item r;

	if (msg->flags & MF_RECEIPT)
		return;		/* §4: never an answer to an Ack or Error */
	receipt_frame(s, buf, sizeof(buf), msg, code, text, &r);
	deliver_to_code(s, w, &w->io.out, &r, (const uint8_t *)buf);
}

/* What a routed message's item says of it (§3 TTL, capped). */
void
item_from_header(struct server *s, struct item *it,
    const struct env_header *h)
{
	memset(it, 0, sizeof(*it));
	it->kind = IT_DELIVER;
	it->flags = (h->ack ? MF_ACK : 0) |
	    (h->type == ENV_T_ACK || h->type == ENV_T_ERROR ? MF_RECEIPT : 0);
	it->node = (uint16_t)(h->to & 0xffff);
	it->from = h->from;
	it->to = h->to;
	it->seq = h->seq;
	it->type = h->type;
	it->tag_start = (uint32_t)h->tag_start;
	it->tag_end = (uint32_t)h->tag_end;
	it->ttl = (uint32_t)(!h->has_ttl ? s->conf.ttl_default :
	    h->ttl > (uint32_t)s->conf.ttl_max ? s->conf.ttl_max : h->ttl);
	memcpy(it->session, h->session, sizeof(it->session));
}
