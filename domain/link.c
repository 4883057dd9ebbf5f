/*
 * link.c - one device link of nap-domain on the servers' link layer
 * (common/conn.c: TLS, frames, bounds, deadlines, the orderly close):
 * Login (§4), the link rules of §4, and what the domain's tables do when
 * a link goes.  Every frame after Login crosses the pipe (§6) and then
 * the route step (route.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <event2/bufferevent_ssl.h>

#include "domain.h"
#include "log.h"

static int	on_identified(struct conn *);
static int	on_frame(struct conn *, const uint8_t *, size_t);
static int	on_bad_length(struct conn *, uint32_t);
static void	on_closing(struct conn *, enum conn_state, const char *);
static void	on_free(struct conn *);
static int	on_login(struct link *, const uint8_t *, size_t,
		    const struct env_header *);
static void	login_reply(struct link *, uint32_t);
static void	proto_error(struct link *, int, uint32_t,
		    const struct env_header *, const char *);
static void	set_online(struct link *, const char *resume);
static void	resume_wanted(struct link *, const uint8_t *, size_t, char *);
static void	choose_session(struct link *, const char *);
static void	keep_session(struct link *);
static bool	pin_matches(struct link *, const char *);
static void	kick_revoked(struct conn *, const char *);

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
	    &s->next_id, sizeof(*l))) != NULL)
		l->w = w;
}

/* The handshake is over and the peer's code known: Login comes next. */
static int
on_identified(struct conn *c)
{
	(void)c;
	return 0;
}

/* §2: a length of 0 or above max_frame on a device link: 413, close. */
static int
on_bad_length(struct conn *c, uint32_t len)
{
	(void)len;
	send_error((struct link *)c, 413, 0, 0, "", "bad frame length");
	conn_close(c, "bad frame length");
	return 0;
}

/* §4 "16 protocol errors within 60 s close it". */
static void
proto_error(struct link *l, int code, uint32_t seq,
    const struct env_header *h, const char *why)
{
	send_error(l, code, seq, h ? h->to : 0, h ? h->session : "", why);
	(void)conn_count_error(&l->c);	/* monotonic window (conn.c) */
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

	if (env_parse_header(w->parser, frame + 4, flen - 4, &h, &err) ==
	    -1) {
		audit_msg(w->srv->audit, AUDIT_IN, c->code, AUDIT_REFUSED,
		    err.code, NULL, frame + 4, flen - 4);
		if (c->state != C_ONLINE) {
			send_error(l, err.code, 0, 0, "", err.reason);
			conn_close(c, "malformed first frame");
			return -1;
		}
		proto_error(l, err.code, 0, NULL, err.reason);
		return c->state == C_CLOSING ? -1 : 0;
	}
	if (c->state == C_LOGIN)
		return on_login(l, frame, flen, &h);
	c->msgs_in++;
	audit_count(l, h.type, false, flen);
	memset(&ctx, 0, sizeof(ctx));
	ctx.body = frame + 4;
	ctx.len = flen - 4;
	ctx.h = &h;
	ctx.link_code = c->code;
	ctx.server = w->srv;
	ctx.link = l;
	switch (pipe_run(w->srv->pipe, &ctx)) {
	case PIPE_PASS:
		route_message(l, &ctx);
		break;
	case PIPE_REJECT:
		w->refused++;
		audit_msg(w->srv->audit, AUDIT_IN, c->code, AUDIT_REFUSED,
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
	return c->state == C_CLOSING ? -1 : 0;
}

/* §7 optional pinning: SHA-256 of the peer's DER certificate. */
static bool
pin_matches(struct link *l, const char *want)
{
	X509 *x = SSL_get1_peer_certificate(
	    bufferevent_openssl_get_ssl(l->c.bev));
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

	if (h->type != ENV_T_LOGIN) {
		send_error(l, 401, h->seq, h->to, h->session, "not logged in");
		conn_close(&l->c, "first frame is not Login");
		return -1;
	}
	if (h->from != l->c.code)
		why = "Login From is not the certificate's code";
	else if (!env_code_is_device(l->c.code) ||
	    env_code_region(l->c.code) != s->region)
		why = "device of another region";
	else if ((rc = registry_get(w->reg, l->c.code, &d)) == 1)
		why = "device not registered";
	else if (rc == -1)
		why = "registry unavailable";
	else if (!d.enabled)
		why = "device disabled";
	else if (d.fingerprint[0] != '\0' && !pin_matches(l, d.fingerprint))
		why = "certificate does not match the pinned fingerprint";
	if (why != NULL) {
		send_error(l, 403, h->seq, h->to, h->session, why);
		conn_log(&l->c, "%08X refused: %s", l->c.code, why);
		conn_close(&l->c, why);
		return -1;
	}
	l->permits = d.permits;
	l->kind = d.kind;
	resume_wanted(l, frame, flen, want);
	set_online(l, want);
	login_reply(l, h->seq);
	audit_session(s->audit, l->c.code, l->session, true, want[0] != '\0' &&
	    strcmp(want, l->session) == 0 ? "login (resumed)" : "login", NULL);
	conn_log(&l->c, "%08X logged in, session %s%s", l->c.code,
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
	const char *v;

	want[0] = '\0';
	if (env_parse(l->w->parser, frame + 4, flen - 4, &m, &err) == 0 &&
	    (v = env_param_get(m, "resume", "session")) != NULL &&
	    strlen(v) == 16)
		memcpy(want, v, 17);
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
	struct sess *e = &s->sess[l->c.code & 0xffff];
	int64_t now = (int64_t)time(NULL);	/* a record: wall time */
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
	store_session(s->store, l->c.code & 0xffff, l->session, e->expires);
}

/* At close: the session may be resumed for session-keep from now. */
static void
keep_session(struct link *l)
{
	struct server *s = l->w->srv;
	struct sess *e = &s->sess[l->c.code & 0xffff];
	int64_t exp = (int64_t)time(NULL) + s->conf.session_keep;
	int mine;

	pthread_mutex_lock(&s->sess_mu);
	if ((mine = strcmp(e->id, l->session) == 0))
		e->expires = exp;
	pthread_mutex_unlock(&s->sess_mu);
	if (mine)
		store_session(s->store, l->c.code & 0xffff, l->session, exp);
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
	uint16_t node = l->c.code & 0xffff;
	uint64_t mine = (uint64_t)l->c.id << 16 | (uint64_t)(w->io.idx + 1), old;
	struct item kick = { .kind = IT_KICK, .node = node };

	choose_session(l, want);
	old = atomic_exchange_explicit(&s->slot[node], mine,
	    memory_order_acq_rel);
	/* Before this link takes the node: an old link on this worker is
	 * found there and closed at once. */
	if (old != 0)
		worker_send(w, old, &kick, NULL);
	w->node[node] = l;
	l->c.state = C_ONLINE;
	dlv_start(l, old != 0);
	atomic_store(&s->home[node], (uint8_t)(w->io.idx + 1));
}

static void
login_reply(struct link *l, uint32_t seq)
{
	struct server *s = l->w->srv;
	char params[160];

	(void)env_p_result(params, sizeof(params), 0, "ok",
	    (unsigned)s->conf.hb_interval, (unsigned)s->conf.hb_timeout);
	/* §4: LoginReply's SessionId is the new session; it echoes Seq. */
	send_frame(l, ENV_T_LOGIN_REPLY, seq, l->c.code, l->session, params);
}

/*
 * Writes a whole frame to the link.  A reader that does not keep up is
 * closed rather than buffered without bound.  0, or -1 when closed.
 */
int
link_write(struct link *l, const uint8_t *frame, size_t len)
{
	return conn_write(&l->c, frame, len);
}

/* The older link of a replaced login: Error 403, then close (§4). */
void
link_kick(struct link *l, const char *why)
{
	send_error(l, 403, 0, l->c.code, l->session, why);
	conn_close(&l->c, why);
}

/* Stops reading, flushes what is queued (bounded), then frees. */
void
link_close(struct link *l, const char *why)
{
	conn_close(&l->c, why);
}

/* The node is released at once, before the flush (conn.c). */
static void
on_closing(struct conn *c, enum conn_state was, const char *why)
{
	struct link *l = (struct link *)c;
	struct worker *w = l->w;
	struct server *s = w->srv;
	uint16_t node = c->code & 0xffff;
	uint64_t mine = (uint64_t)c->id << 16 | (uint64_t)(w->io.idx + 1);

	(void)why;
	if (was != C_ONLINE)
		return;		/* conn.c told why */
	/* §5: unconfirmed messages back to the store before the slot is
	 * free, so a new login finds them queued ahead. */
	dlv_return(l);
	keep_session(l);
	audit_session(s->audit, c->code, l->session, false, why, l->counts);
	atomic_compare_exchange_strong(&s->slot[node], &mine, 0);
	if (w->node[node] == l)
		w->node[node] = NULL;
	conn_log(c, "%08X closed: %s (%llu in, %llu out)", c->code, why,
	    (unsigned long long)c->msgs_in, (unsigned long long)c->msgs_out);
}

static void
on_free(struct conn *c)
{
	struct link *l = (struct link *)c;

	dlv_free(l);
	free(l->counts);
	free(l);
}

/* Graceful stop (§5): Logout to every peer, then close after flushing. */
void
link_logout_all(struct worker *w)
{
	struct conn *c;

	for (c = w->set.links; c != NULL; c = c->next)
		if (c->state == C_ONLINE)
			send_frame((struct link *)c, ENV_T_LOGOUT,
			    server_seq(w->srv),
			    c->code, w->srv->token, NULL);
	conn_close_all(&w->set, "server stopping");
}

static void
kick_revoked(struct conn *c, const char *why)
{
	link_kick((struct link *)c, why);
}

/*
 * SIGHUP: a device whose certificate was revoked since its login, or
 * that was removed or disabled in the registry, is refused now.
 */
void
link_recheck_all(struct worker *w)
{
	struct server *s = w->srv;
	SSL_CTX *ctx = conn_ctx_ref(&s->ctx, &s->ctx_mu);
	struct conn *c, *next;
	struct reg_device d;
	int rc;

	(void)conn_recheck_certs(&w->set, ctx, kick_revoked);
	SSL_CTX_free(ctx);
	for (c = w->set.links; c != NULL; c = next) {
		struct link *l = (struct link *)c;

		next = c->next;
		if (c->state != C_ONLINE)
			continue;
		rc = registry_get(w->reg, c->code, &d);
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
