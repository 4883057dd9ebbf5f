/*
 * link.c - one device link of nap-domain: TLS with a client certificate,
 * frames in (§2), Login (§4), the link rules of §4, heartbeat timeout
 * (§5), and an orderly close.  Every frame after Login crosses the pipe
 * (§6) and then the route step (route.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <event2/bufferevent_ssl.h>
#include <libxml/tree.h>

#include "domain.h"
#include "log.h"
#include "tls.h"
#include "tlsbev.h"

static void	read_cb(struct bufferevent *, void *);
static void	event_cb(struct bufferevent *, short, void *);
static void	link_free(struct link *);
static int	on_frame(struct link *, const uint8_t *, size_t);
static int	on_login(struct link *, const uint8_t *, size_t,
		    const struct env_header *);
static void	login_reply(struct link *, uint32_t);
static void	proto_error(struct link *, int, uint32_t,
		    const struct env_header *, const char *);
static void	set_online(struct link *, const char *resume);
static void	resume_wanted(struct link *, const uint8_t *, size_t, char *);
static void	choose_session(struct link *, const char *);
static void	close_poll(evutil_socket_t, short, void *);
static int	identify(struct link *);
static void	account_input(struct link *, size_t);
static bool	pin_matches(struct link *, const char *);
static void	pause_set(struct link *, int, int);

void
link_adopt(struct worker *w, int fd)
{
	struct server *s = w->srv;
	struct link *l;
	SSL *ssl;
	size_t hi = w->srv->conf.max_frame + 4 + 16384;

	pthread_mutex_lock(&s->ctx_mu);
	ssl = SSL_new(s->ctx);
	pthread_mutex_unlock(&s->ctx_mu);
	if (ssl == NULL || (l = calloc(1, sizeof(*l))) == NULL) {
		log_warnx("accept: no memory, connection dropped");
		SSL_free(ssl);
		close(fd);
		return;
	}
	l->w = w;
	l->id = atomic_fetch_add(&s->next_id, 1) + 1;
	l->state = L_HANDSHAKE;
	/* A TLS filter over a socket buffer event (common/tlsbev.c); input
	 * held per link is one frame plus a read (§2).  On failure it has
	 * closed fd and freed ssl. */
	if ((l->bev = tlsbev_accept(w->base, fd, ssl, hi)) == NULL) {
		log_warnx("accept: cannot create a TLS buffer event");
		free(l);
		return;
	}
	bufferevent_setcb(l->bev, read_cb, NULL, event_cb, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	l->since = w->now;
	l->last_rx = mono_ms();
	l->next = w->links;
	if (w->links != NULL)
		w->links->prev = l;
	w->links = l;
	w->nlinks++;
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
		/* Whole frames that came with the EOF (a last Ack, a Logout)
		 * are handled before the link goes. */
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
	l->state = L_LOGIN;
	return 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct worker *w = l->w;
	uint8_t pre[4];
	uint32_t len = 0;
	size_t avail;

	l->last_rx = mono_ms();	/* §5 heartbeat: any byte counts */
	while (l->state != L_CLOSING && (avail = evbuffer_get_length(in)) >=
	    4) {
		evbuffer_copyout(in, pre, 4);
		/* Only the prefix is read here: nothing is allocated from it. */
		if (env_frame_peek(pre, 4, (uint32_t)w->srv->conf.max_frame,
		    &len) == ENV_FRAME_BAD_LEN) {
			send_error(l, 413, 0, 0, "", "bad frame length");
			link_close(l, "bad frame length");
			break;
		}
		if (avail - 4 < len)
			break;
		if (on_frame(l, evbuffer_pullup(in, (ev_ssize_t)len + 4),
		    (size_t)len + 4) == -1)
			break;		/* link closed: stop reading */
		evbuffer_drain(in, (size_t)len + 4);
	}
	if (l->state != L_CLOSING)
		account_input(l, evbuffer_get_length(in));
	worker_flush(w);
}

/*
 * §2: input is bounded per link (the read watermark: one frame plus a
 * read) and in total: the bytes of incomplete frames held by a worker's
 * links are counted, and past the worker's share of input-cap a link
 * with a partial frame stops reading until the total halves (link_sweep
 * resumes it).  A frame must also complete within the heartbeat timeout
 * from its first byte, or a slow sender could hold its buffer forever
 * while each byte resets the heartbeat clock (HARDENING.md).
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
	if (partial > 0 && w->held > w->held_cap && !(l->paused & PAUSE_INPUT)) {
		l->paused |= PAUSE_INPUT;
		bufferevent_disable(l->bev, EV_READ);
		log_warnx("link %u: %08X paused: %zu bytes of partial frames "
		    "held by this thread", l->id, l->code, w->held);
	}
}

/* §4 "16 protocol errors within 60 s close it". */
static void
proto_error(struct link *l, int code, uint32_t seq,
    const struct env_header *h, const char *why)
{
	time_t now = time(NULL);

	send_error(l, code, seq, h ? h->to : 0, h ? h->session : "", why);
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
		audit_msg(w->srv->audit, AUDIT_IN, l->code, AUDIT_REFUSED,
		    err.code, NULL, frame + 4, flen - 4);
		if (l->state != L_ONLINE) {
			send_error(l, err.code, 0, 0, "", err.reason);
			link_close(l, "malformed first frame");
			return -1;
		}
		proto_error(l, err.code, 0, NULL, err.reason);
		return l->state == L_CLOSING ? -1 : 0;
	}
	if (l->state == L_LOGIN)
		return on_login(l, frame, flen, &h);
	l->msgs_in++;
	audit_count(l, h.type, false, flen);
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
		w->refused++;
		audit_msg(w->srv->audit, AUDIT_IN, l->code, AUDIT_REFUSED,
		    ctx.error, &h, ctx.body, ctx.len);
		/* §4 counts only malformed frames and breaches of §3 toward
		 * closing a link; a refused route is an answer, not abuse. */
		if (ctx.error == 404 || ctx.error == 503)
			send_error(l, ctx.error, h.seq, h.to, h.session,
			    ctx.reason);
		else
			proto_error(l, ctx.error, h.seq, &h, ctx.reason);
		break;
	case PIPE_ANSWERED:
		break;
	}
	return l->state == L_CLOSING ? -1 : 0;
}

/* §7 optional pinning: SHA-256 of the peer's DER certificate. */
static bool
pin_matches(struct link *l, const char *want)
{
	X509 *x = SSL_get1_peer_certificate(bufferevent_openssl_get_ssl(l->bev));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1) {
		X509_free(x);
		return false;
	}
	X509_free(x);
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return strcmp(hex, want) == 0;
}

/* Login rules of §4, then LoginReply with a new session. */
static int
on_login(struct link *l, const uint8_t *frame, size_t flen,
    const struct env_header *h)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	struct reg_device d;
	const char *why = NULL;
	char want[17];
	int rc;

	if (h->type != 1) {
		send_error(l, 401, h->seq, h->to, h->session, "not logged in");
		link_close(l, "first frame is not Login");
		return -1;
	}
	if (h->from != l->code)
		why = "Login From is not the certificate's code";
	else if (!env_code_is_device(l->code) ||
	    env_code_region(l->code) != s->region)
		why = "device of another region";
	else if ((rc = registry_get(w->reg, l->code, &d)) == 1)
		why = "device not registered";
	else if (rc == -1)
		why = "registry unavailable";
	else if (!d.enabled)
		why = "device disabled";
	else if (d.fingerprint[0] != '\0' && !pin_matches(l, d.fingerprint))
		why = "certificate does not match the pinned fingerprint";
	if (why != NULL) {
		send_error(l, 403, h->seq, h->to, h->session, why);
		log_info("link %u: %08X refused: %s", l->id, l->code, why);
		link_close(l, why);
		return -1;
	}
	l->permits = d.permits;
	l->kind = d.kind;
	resume_wanted(l, frame, flen, want);
	set_online(l, want);
	login_reply(l, h->seq);
	audit_session(s->audit, l->code, l->session, true, want[0] != '\0' &&
	    strcmp(want, l->session) == 0 ? "login (resumed)" : "login", NULL);
	log_info("link %u: %08X logged in, session %s%s", l->id, l->code,
	    l->session, want[0] != '\0' && strcmp(want, l->session) == 0 ?
	    " (resumed)" : "");
	return 0;
}

/* Login's <resume session="S"/> (§4), or "" in want[17]. */
static void
resume_wanted(struct link *l, const uint8_t *frame, size_t flen, char *want)
{
	struct env_msg *m = NULL;
	struct env_error err;
	xmlNodePtr n;
	xmlChar *v = NULL;

	want[0] = '\0';
	if (env_parse(l->w->parser, frame + 4, flen - 4, &m, &err) == -1 ||
	    (n = env_msg_parameters_node(m)) == NULL) {
		env_msg_free(m);
		return;
	}
	for (n = n->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, BAD_CAST "resume") == 0)
			break;
	if (n != NULL && (v = xmlGetProp(n, BAD_CAST "session")) != NULL &&
	    xmlStrlen(v) == 16)
		memcpy(want, v, 17);
	xmlFree(v);
	env_msg_free(m);
}

/*
 * §5 sessions: the one asked for when this server still knows it for
 * this device, else a new one; kept in memory and on disk (store) for
 * session-keep seconds from the last activity.
 */
static void
choose_session(struct link *l, const char *want)
{
	struct server *s = l->w->srv;
	struct sess *e = &s->sess[l->code & 0xffff];
	int64_t now = (int64_t)time(NULL);
	uint8_t rnd[8];

	pthread_mutex_lock(&s->sess_mu);
	if (want[0] != '\0' && strcmp(e->id, want) == 0 && e->expires > now)
		memcpy(l->session, want, 17);
	else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			fatalx("RAND_bytes failed");
		for (int i = 0; i < 8; i++)
			snprintf(l->session + 2 * i, 3, "%02X", rnd[i]);
		memcpy(e->id, l->session, 17);
	}
	e->expires = now + s->conf.session_keep;
	pthread_mutex_unlock(&s->sess_mu);
	store_session(s->store, l->code & 0xffff, l->session, e->expires);
}

/* At close: the session may be resumed for session-keep from now. */
static void
keep_session(struct link *l)
{
	struct server *s = l->w->srv;
	struct sess *e = &s->sess[l->code & 0xffff];
	int64_t exp = (int64_t)time(NULL) + s->conf.session_keep;
	int mine;

	pthread_mutex_lock(&s->sess_mu);
	if ((mine = strcmp(e->id, l->session) == 0))
		e->expires = exp;
	pthread_mutex_unlock(&s->sess_mu);
	if (mine)
		store_session(s->store, l->code & 0xffff, l->session, exp);
}

/*
 * Claims the node; an older link with the same code is replaced (§4)
 * and its unconfirmed messages come to this one first (dlv_start).
 */
static void
set_online(struct link *l, const char *want)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	uint16_t node = l->code & 0xffff;
	uint64_t mine = (uint64_t)l->id << 16 | (uint64_t)(w->idx + 1), old;
	struct item kick = { .kind = IT_KICK, .node = node };

	choose_session(l, want);
	old = atomic_exchange_explicit(&s->slot[node], mine,
	    memory_order_acq_rel);
	/* Before this link takes the node: an old link on this worker is
	 * found there and closed at once. */
	if (old != 0)
		worker_send(w, old, &kick, NULL);
	w->node[node] = l;
	l->state = L_ONLINE;
	dlv_start(l, old != 0);
	atomic_store(&s->home[node], (uint8_t)(w->idx + 1));
}

static void
login_reply(struct link *l, uint32_t seq)
{
	struct server *s = l->w->srv;
	char params[160];

	snprintf(params, sizeof(params), "<result code=\"0\" text=\"ok\"/>"
	    "<heartbeat interval=\"%ld\" timeout=\"%ld\"/>",
	    s->conf.hb_interval, s->conf.hb_timeout);
	/* §4: LoginReply's SessionId is the new session; it echoes Seq. */
	send_frame(l, 2, seq, l->code, l->session, params);
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
	send_error(l, 403, 0, l->code, l->session, why);
	link_close(l, why);
}

/* Stops reading, flushes what is queued (bounded by the write timeout),
 * then frees.  The node is released at once. */
void
link_close(struct link *l, const char *why)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	uint16_t node = l->code & 0xffff;
	uint64_t mine = (uint64_t)l->id << 16 | (uint64_t)(w->idx + 1);
	struct timeval zero = { 0, 0 };

	if (l->state == L_CLOSING)
		return;
	if (l->state == L_ONLINE) {
		/* §5: unconfirmed messages back to the store before the slot
		 * is free, so a new login finds them queued ahead. */
		dlv_return(l);
		keep_session(l);
		audit_session(s->audit, l->code, l->session, false, why,
		    l->counts);
		atomic_compare_exchange_strong(&s->slot[node], &mine, 0);
		if (w->node[node] == l)
			w->node[node] = NULL;
		log_info("link %u: %08X closed: %s (%llu in, %llu out)", l->id,
		    l->code, why, (unsigned long long)l->msgs_in,
		    (unsigned long long)l->msgs_out);
	} else
		log_debug("link %u: closed before login: %s", l->id, why);
	l->state = L_CLOSING;
	l->since = w->now;	/* link_sweep frees it if the flush hangs */
	bufferevent_disable(l->bev, EV_READ);
	bufferevent_setcb(l->bev, NULL, NULL, event_cb, l);
	/*
	 * Never freed here: callers up the stack still hold l.  close_poll
	 * runs from the loop: it waits until the last frames (an Error, a
	 * Logout) went through TLS and out of the socket buffer event, sends
	 * close_notify, and only then frees.
	 */
	if ((l->closer = evtimer_new(w->base, close_poll, l)) == NULL ||
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
	/* Flushed, close_notify sent (§5 Logout) and out: free it. */
	if (tlsbev_close_step(l->bev, &l->shut) ||
	    l->w->now - l->since >= CLOSE_DEADLINE) {
		link_free(l);
		return;
	}
	evtimer_add(l->closer, &tick);
}

/* Reading stops while any reason to pause holds. */
static void
pause_set(struct link *l, int why, int on)
{
	int was = l->paused;

	l->paused = on ? was | why : was & ~why;
	if (was == 0 && l->paused != 0)
		bufferevent_disable(l->bev, EV_READ);
	else if (was != 0 && l->paused == 0)
		bufferevent_enable(l->bev, EV_READ);
}

/*
 * Once a second per worker: the deadlines of its links.  Timeouts on
 * filter buffer events cost a timer re-arm per read (measured: a quarter
 * of the throughput), so deadlines are swept instead: O(links) a second,
 * nothing per message.
 */
void
link_sweep(struct worker *w)
{
	struct link *l, *next;
	time_t now = w->now;
	int64_t now_ms = mono_ms();
	long hb = w->srv->conf.hb_timeout;
	/* §8 audit-on-full stop-accepting: read nothing while it holds. */
	int hold = w->srv->audit != NULL && !audit_accepting(w->srv->audit);

	for (l = w->links; l != NULL; l = next) {
		next = l->next;
		if (l->state == L_ONLINE)
			pause_set(l, PAUSE_AUDIT, hold);
		switch (l->state) {
		case L_ONLINE:
			/* §5: nothing received for `timeout` seconds. */
			if (now_ms - l->last_rx >= hb * 1000)
				link_close(l, "heartbeat timeout");
			else if (l->held > 0 && now_ms - l->partial_since >=
			    hb * 1000)
				link_close(l, "frame not completed in time");
			else if ((l->paused & PAUSE_INPUT) && w->held <=
			    w->held_cap / 2)
				pause_set(l, PAUSE_INPUT, 0);
			break;
		case L_HANDSHAKE:
		case L_LOGIN:
			if (now - l->since >= LOGIN_DEADLINE)
				link_close(l, "no Login in time");
			break;
		case L_CLOSING:
			if (now - l->since >= CLOSE_DEADLINE + 1)
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
	if (l->closer != NULL)
		event_free(l->closer);
	w->held -= l->held;
	dlv_free(l);
	free(l->counts);
	bufferevent_free(l->bev);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		w->links = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	w->nlinks--;
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

/* SIGHUP: a device removed or disabled in the registry is refused now. */
void
link_recheck_all(struct worker *w)
{
	struct link *l, *next;
	struct reg_device d;
	int rc;

	for (l = w->links; l != NULL; l = next) {
		next = l->next;
		if (l->state != L_ONLINE)
			continue;
		rc = registry_get(w->reg, l->code, &d);
		if (rc == 0 && d.enabled) {
			l->permits = d.permits;
			l->kind = d.kind;
			continue;
		}
		if (rc == -1)
			continue;	/* keep links while the registry is sick */
		link_kick(l, rc == 1 ? "device removed" : "device disabled");
	}
	worker_flush(w);
}
