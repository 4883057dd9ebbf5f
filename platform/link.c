/*
 * link.c - one link of nap-platform, to a domain server or to a device
 * that logged in to Locate: TLS with a client certificate, frames in
 * (§2; a domain's oversized frame is skipped, not fatal), the link rules
 * of §4, heartbeat timeout (§5), and an orderly close.  Every frame
 * after Login crosses the pipe (§6) and then the route step (route.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>

#include "log.h"
#include "platform.h"
#include "tls.h"
#include "tlsbev.h"

static void	read_cb(struct bufferevent *, void *);
static void	event_cb(struct bufferevent *, short, void *);
static void	link_free(struct link *);
static int	on_frame(struct link *, const uint8_t *, size_t);
static void	on_refused(struct link *, const struct pipe_ctx *);
static void	proto_error(struct link *, int, uint32_t,
		    const struct env_header *, const char *);
static int	on_prefix(struct link *, struct evbuffer *, uint32_t *);
static size_t	skip_input(struct link *, struct evbuffer *);
static void	close_poll(evutil_socket_t, short, void *);
static int	identify(struct link *);
static void	account_input(struct link *, size_t);

void
link_adopt(struct worker *w, int fd)
{
	struct server *s = w->srv;
	struct link *l;
	SSL *ssl;

	pthread_mutex_lock(&s->ctx_mu);
	ssl = SSL_new(s->ctx);
	pthread_mutex_unlock(&s->ctx_mu);
	if (ssl == NULL || (l = calloc(1, sizeof(*l))) == NULL) {
		log_warnx("accept: no memory, connection dropped");
		SSL_free(ssl);
		close(fd);
		return;
	}
	/* Bound the input held per link: one frame plus a read (§2). */
	if ((l->bev = tlsbev_accept(w->io.base, fd, ssl, s->conf.max_frame + 4 +
	    16384)) == NULL) {
		log_warnx("accept: cannot create a TLS buffer event");
		free(l);
		return;
	}
	l->w = w;
	l->id = atomic_fetch_add(&s->next_id, 1) + 1;
	l->state = L_HANDSHAKE;
	bufferevent_setcb(l->bev, read_cb, NULL, event_cb, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	l->since = w->io.now;
	l->last_rx = mono_ms();
	l->next = w->links;
	if (w->links != NULL)
		w->links->prev = l;
	w->links = l;
	l->idnext = w->byid[l->id % ID_BUCKETS];
	w->byid[l->id % ID_BUCKETS] = l;
	w->io.nlinks++;
}

/* Where this link is, as the tables hold it. */
uint64_t
link_where(const struct link *l)
{
	return (uint64_t)l->id << 16 | (uint64_t)(l->w->io.idx + 1);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct link *l = arg;
	char err[160];

	if (l->state == L_CLOSING) {	/* flush timed out or failed */
		if (what & BEV_EVENT_CONNECTED)
			return;	/* late news of a handshake we already used */
		link_free(l);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		(void)identify(l);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		link_close(l, tlsbev_error(bev, err, sizeof(err)));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Whole frames that came with the EOF (a Logout) first. */
		read_cb(bev, l);
		link_close(l, "peer closed the connection");
	}
}

/* The peer's code from its certificate, once per link (§2). */
static int
identify(struct link *l)
{
	char err[160];

	if (l->state != L_HANDSHAKE)
		return 0;
	if (tls_peer_code(bufferevent_openssl_get_ssl(l->bev), &l->code, err,
	    sizeof(err)) == -1) {
		log_info("link %u: %s", l->id, err);
		link_close(l, err);
		return -1;
	}
	l->kind = env_code_is_domain(l->code) ? P_DOMAIN : P_DEVICE;
	l->state = L_LOGIN;
	return 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct worker *w = l->w;
	uint32_t len = 0;
	int rc;

	l->last_rx = mono_ms();	/* §5 heartbeat: any byte counts */
	while (l->state != L_CLOSING && skip_input(l, in) == 0 &&
	    evbuffer_get_length(in) >= 4) {
		if ((rc = on_prefix(l, in, &len)) == -1)
			break;
		if (rc == 1)
			continue;	/* skipping an oversized frame */
		if (evbuffer_get_length(in) - 4 < len)
			break;
		if (on_frame(l, evbuffer_pullup(in, (ev_ssize_t)len + 4),
		    (size_t)len + 4) == -1)
			break;		/* link closed: stop reading */
		evbuffer_drain(in, (size_t)len + 4);
	}
	if (l->state != L_CLOSING)
		account_input(l, evbuffer_get_length(in));
	iop_flush(&w->io);
}

/*
 * The length prefix of the next frame: 0 and *len when it is good.  A
 * bad one closes a device link (413, §2).  A domain link instead skips
 * an oversized frame and answers 413 (§2: server-to-server links do not
 * close for it): 1.  The origin cannot be read from bytes that are not
 * kept, so the Error goes to the sending domain with seq 0.
 */
static int
on_prefix(struct link *l, struct evbuffer *in, uint32_t *len)
{
	uint8_t pre[4];

	evbuffer_copyout(in, pre, 4);
	/* Only the prefix is read here: nothing is allocated from it. */
	if (env_frame_peek(pre, 4, (uint32_t)l->w->srv->conf.max_frame,
	    len) != ENV_FRAME_BAD_LEN)
		return 0;
	if (l->kind == P_DOMAIN && l->state == L_ONLINE && *len > 0) {
		send_error(l, 413, l->code, NULL, "frame too large: skipped");
		evbuffer_drain(in, 4);
		l->skip = *len;
		return 1;
	}
	send_error(l, 413, l->code, NULL, "bad frame length");
	link_close(l, "bad frame length");
	return -1;
}

/* Drops what is left of an oversized frame.  Bytes still to skip. */
static size_t
skip_input(struct link *l, struct evbuffer *in)
{
	size_t n = evbuffer_get_length(in);

	if (l->skip == 0)
		return 0;
	if (n > l->skip)
		n = l->skip;
	evbuffer_drain(in, n);
	l->skip -= (uint32_t)n;
	return l->skip;
}

/*
 * §2: input is bounded per link (the read watermark) and in total: past
 * the worker's share of input-cap a link with a partial frame stops
 * reading until the total halves (link_sweep resumes it).  A frame must
 * complete within the heartbeat timeout from its first byte, or a slow
 * sender could hold its buffer forever (HARDENING.md).
 */
static void
account_input(struct link *l, size_t partial)
{
	struct worker *w = l->w;

	if (partial > 0 && l->held == 0)
		l->partial_since = mono_ms();
	w->held += partial;
	w->held -= l->held;
	l->held = partial;
	if (partial > 0 && w->held > w->held_cap && !l->paused) {
		l->paused = 1;
		bufferevent_disable(l->bev, EV_READ);
		log_warnx("link %u: %08X paused: %zu bytes of partial frames "
		    "held by this thread", l->id, l->code, w->held);
	}
}

/* §4 "16 protocol errors within 60 s close it". */
static void
proto_error(struct link *l, int code, uint32_t to, const struct env_header *h,
    const char *why)
{
	time_t now = l->w->io.now;

	send_error(l, code, to, h, why);
	if (now - l->err_since >= PROTO_ERR_WINDOW) {
		l->err_since = now;
		l->nerr = 0;
	}
	if (++l->nerr >= PROTO_ERR_MAX)
		link_close(l, "too many protocol errors");
}

/* One whole frame (prefix included).  -1 when the link was closed. */
static int
on_frame(struct link *l, const uint8_t *frame, size_t flen)
{
	struct worker *w = l->w;
	struct env_header h;
	struct env_error err;
	struct pipe_ctx ctx;

	/* A filter may pass the first records up before the CONNECTED
	 * event: data means the handshake is over. */
	if (l->state == L_HANDSHAKE && identify(l) == -1)
		return -1;
	if (env_parse_header(w->parser, frame + 4, flen - 4, &h, &err) ==
	    -1) {
		if (l->state != L_ONLINE) {
			send_error(l, err.code, l->code, NULL, err.reason);
			link_close(l, "malformed first frame");
		} else
			proto_error(l, err.code, l->code, NULL, err.reason);
		return l->state == L_CLOSING ? -1 : 0;
	}
	if (l->state == L_LOGIN)
		return login_handle(l, frame + 4, flen - 4, &h);
	l->msgs_in++;
	memset(&ctx, 0, sizeof(ctx));
	ctx.body = frame + 4;
	ctx.len = flen - 4;
	ctx.h = &h;
	ctx.link_code = l->code;
	ctx.server = w->srv;
	ctx.link = l;
	switch (pipe_run(w->srv->pipe, &ctx)) {
	case PIPE_PASS:
		route_message(l, &ctx);
		break;
	case PIPE_REJECT:
		on_refused(l, &ctx);
		break;
	case PIPE_ANSWERED:
		break;
	}
	route_audit(l, &ctx);
	return l->state == L_CLOSING ? -1 : 0;
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
	bool ours = l->kind == P_DOMAIN ? env_code_region(h->from) ==
	    env_code_region(l->code) : h->from == l->code;
	uint32_t to = ours ? h->from : l->code;

	l->w->refused++;
	if (l->kind == P_DOMAIN && (h->type == 5 || h->type == 6)) {
		log_info("link %u: %08X: dropped %s from %08X to %08X seq %u: "
		    "%d %s", l->id, l->code, h->type == 5 ? "Ack" : "Error",
		    h->from, h->to, h->seq, c->error, c->reason);
		return;
	}
	if (c->error == 400 || (l->kind == P_DEVICE && c->error == 403))
		proto_error(l, c->error, to, h, c->reason);
	else
		send_error(l, c->error, to, h, c->reason);
}

/*
 * Writes a whole frame to the link.  A reader that does not keep up is
 * closed rather than buffered without bound.  0, or -1 when closed.
 */
int
link_write(struct link *l, const uint8_t *frame, size_t len)
{
	struct evbuffer *out;

	if (l->state == L_CLOSING)
		return -1;
	out = bufferevent_get_output(l->bev);
	if (evbuffer_get_length(out) + len > l->w->srv->conf.out_cap) {
		log_warnx("link %u: %08X is not reading: %zu bytes queued",
		    l->id, l->code, evbuffer_get_length(out));
		link_close(l, "slow reader");
		return -1;
	}
	evbuffer_add(out, frame, len);
	l->msgs_out++;
	return 0;
}

/* The older link of a replaced login: Error 403, then close (§4). */
void
link_kick(struct link *l, const char *why)
{
	send_error(l, 403, l->code, NULL, why);
	link_close(l, why);
}

/*
 * Stops reading, flushes what is queued (bounded by CLOSE_DEADLINE),
 * then frees.  The tables forget the link at once: a domain's region
 * goes down (unless a newer login replaced it) and every other domain
 * hears of it (§5).
 */
void
link_close(struct link *l, const char *why)
{
	struct worker *w = l->w;
	struct timeval zero = { 0, 0 };
	enum link_state was = l->state;

	if (was == L_CLOSING)
		return;
	l->state = L_CLOSING;
	if (was == L_ONLINE) {
		if (l->kind == P_DOMAIN)
			table_region_down(l, why);
		else
			table_device_clear(w->srv, l->code, link_where(l));
		log_info("link %u: %08X closed: %s (%llu in, %llu out)", l->id,
		    l->code, why, (unsigned long long)l->msgs_in,
		    (unsigned long long)l->msgs_out);
	} else
		log_debug("link %u: closed before login: %s", l->id, why);
	l->since = w->io.now;	/* link_sweep frees it if the flush hangs */
	bufferevent_disable(l->bev, EV_READ);
	bufferevent_setcb(l->bev, NULL, NULL, event_cb, l);
	/*
	 * Never freed here: callers up the stack still hold l.  close_poll
	 * runs from the loop and frees once the last frames left.
	 */
	if ((l->closer = evtimer_new(w->io.base, close_poll, l)) == NULL ||
	    evtimer_add(l->closer, &zero) == -1)
		log_warnx("link %u: cannot schedule its release", l->id);
}

static void
close_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct link *l = arg;
	struct timeval tick = { 0, 10000 };

	(void)fd;
	(void)ev;
	if (tlsbev_close_step(l->bev, &l->shut) ||
	    l->w->io.now - l->since >= CLOSE_DEADLINE) {
		link_free(l);
		return;
	}
	evtimer_add(l->closer, &tick);
}

/*
 * Four times a second per worker: the deadlines of its links, swept
 * rather than armed per read (a timer re-arm per read costs throughput).
 */
void
link_sweep(struct worker *w)
{
	struct link *l, *next;
	int64_t now_ms = mono_ms();
	long hb = w->srv->conf.hb_timeout;

	for (l = w->links; l != NULL; l = next) {
		next = l->next;
		switch (l->state) {
		case L_ONLINE:
			/* §5: nothing received for `timeout` seconds. */
			if (now_ms - l->last_rx >= hb * 1000)
				link_close(l, "heartbeat timeout");
			else if (l->held > 0 && now_ms - l->partial_since >=
			    hb * 1000)
				link_close(l, "frame not completed in time");
			else if (l->paused && w->held <= w->held_cap / 2) {
				l->paused = 0;
				bufferevent_enable(l->bev, EV_READ);
			}
			break;
		case L_HANDSHAKE:
		case L_LOGIN:
			if (w->io.now - l->since >= LOGIN_DEADLINE)
				link_close(l, "no Login in time");
			break;
		case L_CLOSING:
			if (w->io.now - l->since >= CLOSE_DEADLINE + 1)
				link_free(l);	/* close_poll never ran */
			break;
		}
	}
}

/* After the worker's loop ended: free what is left (no callback runs). */
void
link_release_all(struct worker *w)
{
	while (w->links != NULL)
		link_free(w->links);
}

/* At the end of a stop: close whatever is still open. */
void
link_destroy_all(struct worker *w)
{
	struct link *l, *next;

	for (l = w->links; l != NULL; l = next) {
		next = l->next;
		if (l->state != L_CLOSING)
			link_close(l, "server stopping");
	}
}

static void
link_free(struct link *l)
{
	struct worker *w = l->w;
	struct link **p;

	if (l->closer != NULL)
		event_free(l->closer);
	w->held -= l->held;
	bufferevent_free(l->bev);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		w->links = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	for (p = &w->byid[l->id % ID_BUCKETS]; *p != NULL; p = &(*p)->idnext)
		if (*p == l) {
			*p = l->idnext;
			break;
		}
	w->io.nlinks--;
	free(l);
}

/* Graceful stop (§5): Logout to every peer, then close after flushing. */
void
link_logout_all(struct worker *w)
{
	struct link *l, *next;

	for (l = w->links; l != NULL; l = next) {
		next = l->next;
		if (l->state == L_ONLINE)
			send_frame(l, 7, server_seq(w->srv), l->code,
			    w->srv->token, NULL);
		link_close(l, "server stopping");
	}
}
