/*
 * uplink.c - one link from nap-domain to a platform server (DESIGN.md
 * §2, §4, §5): TLS 1.3 with the domain's certificate, the platform's CN
 * must be 00000000, Login with <domain address="host:port"/>, heartbeat
 * from the connecting side, and a reconnection with backoff and jitter
 * when it fails.  Frames received go to fed.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/rand.h>
#include <event2/bufferevent_ssl.h>

#include "fed.h"
#include "frames.h"
#include "log.h"
#include "tls.h"
#include "tlsbev.h"

static void	up_read(struct bufferevent *, void *);
static int	up_frame(void *, const uint8_t *, size_t);
static int	up_bad_length(void *, uint32_t);
static void	up_event(struct bufferevent *, short, void *);
static void	up_login(struct uplink *);
static void	uplink_connect(struct uplink *);
static void	up_login_reply(struct uplink *, const uint8_t *, size_t,
		    const struct env_header *);

int
uplink_init(struct fed *f, char *err, size_t errlen)
{
	struct server *s = f->srv;
	struct tls_files tf = { s->conf.cert, s->conf.key, s->conf.ca,
	    s->conf.crl };

	if ((f->ctx = tls_client_ctx(&tf, err, errlen)) == NULL)
		return -1;
	for (size_t i = 0; i < s->conf.platform.n && i < MAX_PLATFORMS; i++) {
		struct uplink *u = &f->u[f->n++];

		u->fed = f;
		u->idx = (int)i;
		u->addr = s->conf.platform.v[i];
		u->state = U_DOWN;
		u->retry_at = 1;	/* the first tick connects */
		if ((u->stage = evbuffer_new()) == NULL) {
			snprintf(err, errlen, "no memory for an uplink");
			return -1;
		}
	}
	return 0;
}

/* Resolves "host:port": a literal address, else getaddrinfo(). */
static int
up_addr(const char *addr, struct sockaddr_storage *ss, int *len)
{
	struct evutil_addrinfo hints, *ai = NULL;
	char host[256];
	const char *colon = strrchr(addr, ':');

	*len = (int)sizeof(*ss);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss, len) == 0)
		return 0;
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (evutil_getaddrinfo(host, colon + 1, &hints, &ai) != 0 ||
	    ai == NULL)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = (int)ai->ai_addrlen;
	evutil_freeaddrinfo(ai);
	return 0;
}

static void
uplink_connect(struct uplink *u)
{
	struct fed *f = u->fed;
	struct sockaddr_storage ss;
	SSL *ssl;
	int len;

	u->retry_at = 0;
	if (up_addr(u->addr, &ss, &len) == -1) {
		uplink_fail(u, "cannot resolve the address");
		return;
	}
	if ((ssl = SSL_new(f->ctx)) == NULL || (u->bev =
	    bufferevent_openssl_socket_new(f->w->io.base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (u->bev == NULL)
			SSL_free(ssl);
		uplink_fail(u, "no memory for a connection");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(u->bev, 1);
	bufferevent_setcb(u->bev, up_read, NULL, up_event, u);
	bufferevent_setwatermark(u->bev, EV_READ, 0,
	    f->srv->conf.max_frame + 4 + 16384);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	u->state = U_CONN;
	u->skip = 0;
	u->since = u->last_rx = u->last_tx = mono_ms();
	if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&ss, len)
	    == -1)
		uplink_fail(u, "connect failed");
}

/*
 * The link is gone: regions seen through it are down on it (§5), what
 * left by it is rerouted (fed_lost), and a new try is planned.
 */
void
uplink_fail(struct uplink *u, const char *why)
{
	struct fed *f = u->fed;
	unsigned jitter;

	if (u->state != U_DOWN || u->bev != NULL)
		log_warnx("platform %s: %s", u->addr, why);
	u->failing = NULL;
	if (u->bev != NULL) {
		bufferevent_free(u->bev);
		u->bev = NULL;
	}
	/* What it staged goes again by another link (fed_lost). */
	evbuffer_drain(u->stage, evbuffer_get_length(u->stage));
	u->state = U_DOWN;
	memset(u->up, 0, sizeof(u->up));
	u->backoff = u->backoff == 0 ? UP_BACKOFF_MIN :
	    u->backoff * 2 > UP_BACKOFF_MAX ? UP_BACKOFF_MAX : u->backoff * 2;
	if (RAND_bytes((unsigned char *)&jitter, sizeof(jitter)) != 1)
		jitter = 0;
	/* Each delay drawn in [d/2, d]: the domains do not come back in
	 * step after a platform restarts. */
	u->retry_at = mono_ms() + u->backoff / 2 + jitter % (u->backoff / 2 +
	    1);
	fed_lost(f, u);
}

/*
 * Queues a frame for the platform.  Frames written in one loop turn
 * reach TLS together at its end (uplink_flush): one record and one
 * write(2) for many frames instead of one each.
 */
int
uplink_write(struct uplink *u, const uint8_t *frame, size_t len)
{
	size_t queued;

	if (u->state != U_UP && u->state != U_LOGIN)
		return -1;
	queued = evbuffer_get_length(bufferevent_get_output(u->bev)) +
	    evbuffer_get_length(u->stage);
	if (queued + len > u->fed->srv->conf.uplink_cap) {
		/* Not here: callers may be walking the unconfirmed list. */
		u->state = U_FAILING;
		u->failing = "not reading: uplink-output-cap reached";
		return -1;
	}
	evbuffer_add(u->stage, frame, len);
	u->last_tx = mono_ms();
	u->msgs_out++;
	iop_turn_end(&u->fed->w->io);
	return 0;
}

void
uplink_flush(struct uplink *u)
{
	if (u->bev != NULL && evbuffer_get_length(u->stage) > 0)
		(void)bufferevent_write_buffer(u->bev, u->stage);
}

static void
up_event(struct bufferevent *bev, short what, void *arg)
{
	struct uplink *u = arg;
	uint32_t code;
	char err[200];

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		/* Frames are whole messages: no Nagle delay behind them. */
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
		if (tls_peer_code(bufferevent_openssl_get_ssl(bev), &code, err,
		    sizeof(err)) == -1) {
			uplink_fail(u, err);
			return;
		}
		if (!env_code_is_platform(code)) {	/* §2: CN 00000000 */
			snprintf(err, sizeof(err), "peer is %08X, not a "
			    "platform server", code);
			uplink_fail(u, err);
			return;
		}
		up_login(u);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		uplink_fail(u, tlsbev_error(bev, err, sizeof(err)));
	else if (what & BEV_EVENT_EOF) {
		up_read(bev, u);
		if (u->bev != NULL)
			uplink_fail(u, u->state == U_CONN ? "connection refused "
			    "or closed during the handshake" :
			    "platform closed the connection");
	}
}

/* §4: Login as a domain, with the address devices reach us at. */
static void
up_login(struct uplink *u)
{
	struct server *s = u->fed->srv;
	char params[FRAME_MAX_SERVER - 256], hp[300], buf[FRAME_MAX_SERVER];
	size_t n;

	server_address(s, hp, sizeof(hp));
	if (env_p_domain(params, sizeof(params), hp) == -1) {
		uplink_fail(u, "public address too long for a Login");
		return;
	}
	u->login_seq = server_seq(s);
	n = frame_build(buf, sizeof(buf), ENV_T_LOGIN, "", u->login_seq, s->code, 0,
	    params);
	u->state = U_LOGIN;
	(void)uplink_write(u, (const uint8_t *)buf, n);
}

static void
up_login_reply(struct uplink *u, const uint8_t *body, size_t len,
    const struct env_header *h)
{
	struct env_msg *m = NULL;
	struct env_error err;
	char why[200];
	long code = -1;

	if (h->type != ENV_T_LOGIN_REPLY || env_parse(u->fed->w->parser, body,
	    len, &m, &err) == -1) {
		uplink_fail(u, h->type == ENV_T_ERROR ? "login refused" :
		    "no LoginReply");
		env_msg_free(m);
		return;
	}
	code = param_long(m, "result", "code", -1);
	u->iv = param_long(m, "heartbeat", "interval", 0);
	u->to = param_long(m, "heartbeat", "timeout", 0);
	env_msg_free(m);
	if (code != 0) {
		snprintf(why, sizeof(why), "login refused: %ld", code);
		uplink_fail(u, why);
		return;
	}
	if (u->iv < 1 || u->to < 2 * u->iv) {	/* §5: keep ours */
		u->iv = u->fed->srv->conf.hb_interval;
		u->to = u->fed->srv->conf.hb_timeout;
	}
	u->state = U_UP;
	u->backoff = 0;
	u->logins++;
	log_info("platform %s: logged in (heartbeat %ld/%ld s)", u->addr,
	    u->iv, u->to);
}

/* One whole frame from the platform (prefix included).  -1 when the
 * uplink failed meanwhile: its buffers are gone, stop reading. */
static int
up_frame(void *arg, const uint8_t *p, size_t flen)
{
	struct uplink *u = arg;
	struct worker *w = u->fed->w;
	struct env_header h;
	struct env_error err;

	/* One parse: the Header, and a confirmation's <ack/>s (fed.c). */
	if (env_parse_children(w->parser, p + 4, flen - 4, &h, &err,
	    fed_child, u->fed) == -1)
		log_warnx("platform %s: malformed frame dropped: %s",
		    u->addr, err.reason);
	else if (u->state == U_LOGIN)
		up_login_reply(u, p + 4, flen - 4, &h);
	else {
		u->msgs_in++;
		fed_frame(u, p, flen, &h);
	}
	fed_children_drop(u->fed);
	return u->bev == NULL ? -1 : 0;
}

/*
 * §2: a server-to-server link skips an oversized frame and answers 413
 * to its origin instead of closing.  Its bytes are not kept, so the
 * origin is the platform that sent it (seq 0), as the platform does for
 * a domain's.  A length of 0 is no frame at all: the link fails.
 */
static int
up_bad_length(void *arg, uint32_t len)
{
	struct uplink *u = arg;
	struct server *s = u->fed->srv;
	char params[200], buf[FRAME_MAX_SERVER];
	size_t n;

	if (len == 0 || u->state != U_UP) {
		uplink_fail(u, "bad frame length");
		return 0;
	}
	log_warnx("platform %s: frame of %u bytes above max-frame %zu: "
	    "skipped (413)", u->addr, len, s->conf.max_frame);
	(void)env_p_error(params, sizeof(params), ENV_E_TOO_LARGE, 0, 0, "",
	    "frame too large: skipped");
	n = frame_build(buf, sizeof(buf), ENV_T_ERROR, s->token, server_seq(s), s->code,
	    0, params);
	(void)uplink_write(u, (const uint8_t *)buf, n);
	return 1;
}

static void
up_read(struct bufferevent *bev, void *arg)
{
	struct uplink *u = arg;
	struct frame_cut cut = { u->fed->srv->conf.max_frame, &u->skip,
	    up_frame, up_bad_length, u };

	u->last_rx = mono_ms();
	frames_cut(bufferevent_get_input(bev), &cut);
	iop_turn_end(&u->fed->w->io);	/* with the rest of the turn */
}

/* Four times a second: connect, time out, heartbeat (§5). */
void
uplink_tick(struct uplink *u, int64_t now)
{
	struct server *s = u->fed->srv;
	char buf[FRAME_MAX_SERVER];
	size_t n;

	switch (u->state) {
	case U_DOWN:
		if (u->retry_at != 0 && now >= u->retry_at)
			uplink_connect(u);
		break;
	case U_FAILING:
		uplink_fail(u, u->failing);
		break;
	case U_CONN:
	case U_LOGIN:
		if (now - u->since >= UP_CONNECT_MS)
			uplink_fail(u, "no LoginReply in time");
		break;
	case U_UP:
		if (now - u->last_rx >= u->to * 1000)
			uplink_fail(u, "heartbeat timeout");
		else if (now - u->last_tx >= u->iv * 1000) {
			n = frame_build(buf, sizeof(buf), ENV_T_CHECK, s->token,
			    server_seq(s), s->code, 0, NULL);
			(void)uplink_write(u, (const uint8_t *)buf, n);
		}
		break;
	}
}

/* A graceful stop (§5): Logout first; freed by uplink_free. */
void
uplink_logout(struct uplink *u)
{
	struct server *s = u->fed->srv;
	char buf[FRAME_MAX_SERVER];
	size_t n;

	u->retry_at = 0;
	if (u->state != U_UP)
		return;
	n = frame_build(buf, sizeof(buf), ENV_T_LOGOUT, s->token,
	    server_seq(s), s->code,
	    0, NULL);
	(void)uplink_write(u, (const uint8_t *)buf, n);
	uplink_flush(u);
	bufferevent_disable(u->bev, EV_READ);
}

void
uplink_free(struct uplink *u)
{
	if (u->bev != NULL)
		bufferevent_free(u->bev);
	u->bev = NULL;
	if (u->stage != NULL)
		evbuffer_free(u->stage);
	u->stage = NULL;
	u->state = U_DOWN;
}
