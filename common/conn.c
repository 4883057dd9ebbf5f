/*
 * conn.c - the link layer of the servers (conn.h): bytes to frames,
 * bounds, deadlines and the orderly close.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>

#include "conn.h"
#include "envelope.h"
#include "frames.h"
#include "log.h"
#include "tls.h"
#include "tlsbev.h"

static void	read_cb(struct bufferevent *, void *);
static void	event_cb(struct bufferevent *, short, void *);
static int	identify(struct conn *);
static int	conn_frame(void *, const uint8_t *, size_t);
static int	conn_bad_length(void *, uint32_t);
static void	account_input(struct conn *, size_t);
static void	close_poll(evutil_socket_t, short, void *);
static void	conn_free(struct conn *);
static void	stage_out(struct conn *);
static void	peer_name(int, char *, size_t);
static void	rl_report(struct connset *);
static void	undirty(struct conn *);
static void	conn_pause(struct conn *, int why, bool on);
static int	conn_open(struct connset *, struct conn *, int fd, SSL *ssl,
		    uint32_t id);

void
conn_set_init(struct connset *set, const struct conn_ops *ops,
    struct iop_worker *io, const struct conn_bounds *b)
{
	set->ops = ops;
	set->io = io;
	set->max_frame = b->max_frame;
	set->out_cap = b->out_cap;
	set->hb_timeout = b->hb_timeout;
	set->held_cap = b->in_cap / (size_t)(b->nworkers > 0 ? b->nworkers :
	    1);
}

struct conn *
conn_accept(struct connset *set, int fd, SSL_CTX *const *ctx,
    pthread_mutex_t *mu, atomic_uint *next_id, size_t size)
{
	struct conn *c;
	SSL *ssl;

	pthread_mutex_lock(mu);
	ssl = SSL_new(*ctx);
	pthread_mutex_unlock(mu);
	if (ssl == NULL || (c = calloc(1, size)) == NULL) {
		log_warnx("accept: no memory, connection dropped");
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	/* On failure conn_open has closed fd and freed ssl. */
	if (conn_open(set, c, fd, ssl, atomic_fetch_add(next_id, 1) + 1) ==
	    -1) {
		log_warnx("accept: cannot create a TLS buffer event");
		free(c);
		return NULL;
	}
	return c;
}

/* "ip:port" of a connected socket, for the log. */
static void
peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	int port;

	snprintf(buf, len, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
		snprintf(buf, len, "[%s]:%d", ip, port);
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
		snprintf(buf, len, "%s:%d", ip, port);
	}
}

void
conn_log(struct conn *c, const char *fmt, ...)
{
	struct connset *set = c->set;
	int64_t now = mono_ms();
	char line[400];
	va_list ap;

	if (set->rl_at == 0 || now - set->rl_at >= 1000 / CONN_LOG_RATE) {
		int64_t add = set->rl_at == 0 ? CONN_LOG_BURST :
		    (now - set->rl_at) * CONN_LOG_RATE / 1000;

		set->rl_tokens = (unsigned)(set->rl_tokens + add >
		    CONN_LOG_BURST ? CONN_LOG_BURST : set->rl_tokens + add);
		set->rl_at = now;
	}
	if (set->rl_tokens == 0) {
		set->rl_dropped++;
		return;
	}
	set->rl_tokens--;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_info("link %u from %s: %s", c->id, c->peer, line);
}

/* Every 10 s while lines were dropped: how many. */
static void
rl_report(struct connset *set)
{
	time_t now = set->io->now;

	if (set->rl_dropped == 0 || now - set->rl_told < 10)
		return;
	log_warnx("worker %d: %u link log lines not written (more than %d "
	    "a second)", set->io->idx, set->rl_dropped, CONN_LOG_RATE);
	set->rl_dropped = 0;
	set->rl_told = now;
}

/*
 * Starts c (zeroed by the caller) on accepted socket fd with ssl, id
 * given; c joins the set.  0, or -1 when out of memory: fd and ssl are
 * freed, c is not in the set (the caller frees it).
 */
static int
conn_open(struct connset *set, struct conn *c, int fd, SSL *ssl, uint32_t id)
{
	peer_name(fd, c->peer, sizeof(c->peer));
	if ((c->stage = evbuffer_new()) == NULL) {
		close(fd);
		SSL_free(ssl);
		return -1;
	}
	/* Bound the input held per link: one frame plus a read (§2). */
	if ((c->bev = tlsbev_accept(set->io->base, fd, ssl, set->max_frame +
	    4 + 16384)) == NULL) {
		evbuffer_free(c->stage);
		c->stage = NULL;
		return -1;
	}
	c->set = set;
	c->id = id;
	c->state = C_HANDSHAKE;
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->since = set->io->now;
	c->last_rx = mono_ms();
	c->next = set->links;
	if (set->links != NULL)
		set->links->prev = c;
	set->links = c;
	set->io->nlinks++;
	return 0;
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char err[160];

	if (c->state == C_CLOSING) {	/* flush timed out or failed */
		if (what & BEV_EVENT_CONNECTED)
			return;	/* late news of a handshake we already used */
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		(void)identify(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		conn_close(c, tlsbev_error(bev, err, sizeof(err)));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Whole frames that came with the EOF (a Logout) first. */
		read_cb(bev, c);
		conn_close(c, "peer closed the connection");
	}
}

/* The peer's code from its certificate, once per link (§2). */
static int
identify(struct conn *c)
{
	char err[160];

	if (c->state != C_HANDSHAKE)
		return 0;
	if (tls_peer_code(bufferevent_openssl_get_ssl(c->bev), &c->code, err,
	    sizeof(err)) == -1) {
		conn_close(c, err);
		return -1;
	}
	c->state = C_LOGIN;
	return c->set->ops->identified(c);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct frame_cut cut = { c->set->max_frame, &c->skip, conn_frame,
	    conn_bad_length, c };

	c->last_rx = mono_ms();	/* §5 heartbeat: any byte counts */
	/* A filter may pass the first records up before the CONNECTED
	 * event: data means the handshake is over. */
	if (c->state == C_HANDSHAKE && evbuffer_get_length(in) > 0 &&
	    identify(c) == -1)
		return;
	frames_cut(in, &cut);
	if (c->state != C_CLOSING)
		account_input(c, evbuffer_get_length(in));
	/* What this frame queued leaves with the rest of the turn's. */
	iop_turn_end(c->set->io);
}

static int
conn_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct conn *c = arg;

	if (c->state == C_CLOSING)
		return -1;
	return c->set->ops->frame(c, frame, len) == -1 ||
	    c->state == C_CLOSING ? -1 : 0;
}

static int
conn_bad_length(void *arg, uint32_t len)
{
	struct conn *c = arg;

	if (c->state == C_CLOSING)
		return 0;
	return c->set->ops->bad_length(c, len) == 1 &&
	    c->state != C_CLOSING ? 1 : 0;
}

/*
 * The one frame loop of every server link, accepted or connected (§2):
 * only the prefix is read before a frame is whole, so nothing is ever
 * allocated from it; an oversized frame the owner chooses to skip is
 * dropped as its bytes arrive.
 */
void
frames_cut(struct evbuffer *in, const struct frame_cut *fc)
{
	uint8_t pre[4];
	uint32_t len = 0;
	size_t n;

	for (;;) {
		if (*fc->skip > 0) {	/* the rest of an oversized frame */
			n = evbuffer_get_length(in);
			n = n < *fc->skip ? n : *fc->skip;
			evbuffer_drain(in, n);
			*fc->skip -= (uint32_t)n;
			if (*fc->skip > 0)
				return;
		}
		if (evbuffer_get_length(in) < 4)
			return;
		evbuffer_copyout(in, pre, 4);
		if (env_frame_peek(pre, 4, (uint32_t)fc->max_frame, &len) ==
		    ENV_FRAME_BAD_LEN) {
			if (fc->bad_length(fc->arg, len) != 1)
				return;
			evbuffer_drain(in, 4);
			*fc->skip = len;
			continue;
		}
		if (evbuffer_get_length(in) - 4 < len)
			return;
		if (fc->frame(fc->arg, evbuffer_pullup(in, (ev_ssize_t)len +
		    4), (size_t)len + 4) == -1)
			return;
		evbuffer_drain(in, (size_t)len + 4);
	}
}

/*
 * §2: input is bounded per link (the read watermark) and in total: past
 * the worker's share of input-cap a link with a partial frame stops
 * reading until the total halves (conn_sweep resumes it).  A frame must
 * complete within the heartbeat timeout from its first byte, or a slow
 * sender could hold its buffer forever (HARDENING.md).
 */
static void
account_input(struct conn *c, size_t partial)
{
	struct connset *set = c->set;

	if (partial > 0 && c->held == 0)
		c->partial_since = mono_ms();
	set->held += partial;
	set->held -= c->held;
	c->held = partial;
	if (partial > 0 && set->held > set->held_cap &&
	    !(c->paused & CONN_PAUSE_INPUT)) {
		conn_pause(c, CONN_PAUSE_INPUT, true);
		log_warnx("link %u: %08X paused: %zu bytes of partial frames "
		    "held by this thread", c->id, c->code, set->held);
	}
}

bool
conn_count_error(struct conn *c)
{
	time_t now = c->set->io->now;

	if (now - c->err_since >= CONN_ERR_WINDOW) {
		c->err_since = now;
		c->nerr = 0;
	}
	if (++c->nerr < CONN_ERR_MAX)
		return false;
	conn_close(c, "too many protocol errors");
	return true;
}

int
conn_write(struct conn *c, const uint8_t *frame, size_t len)
{
	size_t queued;

	if (c->state == C_CLOSING)
		return -1;
	/*
	 * A reader that does not keep up is closed, not buffered for.  What
	 * this turn staged is not counted: a turn writes a bounded batch (a
	 * page of stored messages, an inbox's items), and counting it would
	 * close a healthy reader that is handed a page of large messages.
	 */
	queued = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (queued + len > c->set->out_cap) {
		log_warnx("link %u: %08X is not reading: %zu bytes queued",
		    c->id, c->code, queued);
		conn_close(c, "slow reader");
		return -1;
	}
	evbuffer_add(c->stage, frame, len);
	c->msgs_out++;
	if (!c->dirty) {
		c->dirty = true;
		c->dnext = c->set->dirty;
		c->set->dirty = c;
		iop_turn_end(c->set->io);
	}
	return 0;
}

/* Staged frames into TLS (bufferevent_openssl: one SSL_write a chain). */
static void
stage_out(struct conn *c)
{
	if (evbuffer_get_length(c->stage) > 0)
		(void)bufferevent_write_buffer(c->bev, c->stage);
}

void
conn_flush_all(struct connset *set)
{
	struct conn *c;

	while ((c = set->dirty) != NULL) {
		set->dirty = c->dnext;
		c->dirty = false;
		stage_out(c);
	}
}

/* A link about to be freed leaves the dirty list. */
static void
undirty(struct conn *c)
{
	struct conn **pp;

	if (!c->dirty)
		return;
	for (pp = &c->set->dirty; *pp != NULL; pp = &(*pp)->dnext)
		if (*pp == c) {
			*pp = c->dnext;
			break;
		}
	c->dirty = false;
}

void
conn_close(struct conn *c, const char *why)
{
	struct connset *set = c->set;
	struct timeval zero = { 0, 0 };
	enum conn_state was = c->state;

	if (was == C_CLOSING)
		return;
	if (was != C_ONLINE)	/* handshake or Login refused, or gave up */
		conn_log(c, "%s %s", was == C_HANDSHAKE ? "handshake failed:" :
		    "closed before login:", why);
	c->state = C_CLOSING;
	set->ops->closing(c, was, why);
	stage_out(c);	/* the last frames (an Error, a Logout) first */
	c->since = set->io->now;	/* conn_sweep frees it if stuck */
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, NULL, event_cb, c);
	/*
	 * Never freed here: callers up the stack still hold c.  close_poll
	 * runs from the loop and frees once the last frames (an Error, a
	 * Logout) went out, after close_notify.
	 */
	if ((c->closer = evtimer_new(set->io->base, close_poll, c)) == NULL ||
	    evtimer_add(c->closer, &zero) == -1)
		log_warnx("link %u: cannot schedule its release", c->id);
}

static void
close_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;
	struct timeval tick = { 0, 10000 };

	(void)fd;
	(void)ev;
	if (tlsbev_close_step(c->bev, &c->shut) ||
	    c->set->io->now - c->since >= CONN_CLOSE_DEADLINE) {
		conn_free(c);
		return;
	}
	evtimer_add(c->closer, &tick);
}

/*
 * Deadlines are swept rather than armed per read: a timer re-arm per
 * read on a filter buffer event costs a quarter of the throughput.
 */
void
conn_sweep(struct connset *set)
{
	struct conn *c, *next;
	time_t now = set->io->now;
	int64_t now_ms = mono_ms(), hb = set->hb_timeout * 1000;

	rl_report(set);
	for (c = set->links; c != NULL; c = next) {
		next = c->next;
		switch (c->state) {
		case C_ONLINE:
			/* §5: nothing received for `timeout` seconds. */
			if (now_ms - c->last_rx >= hb)
				conn_close(c, "heartbeat timeout");
			else if (c->held > 0 && now_ms - c->partial_since >= hb)
				conn_close(c, "frame not completed in time");
			else if ((c->paused & CONN_PAUSE_INPUT) &&
			    set->held <= set->held_cap / 2)
				conn_pause(c, CONN_PAUSE_INPUT, false);
			break;
		case C_HANDSHAKE:
		case C_LOGIN:
			if (now - c->since >= CONN_LOGIN_DEADLINE)
				conn_close(c, "no Login in time");
			break;
		case C_CLOSING:
			if (now - c->since >= CONN_CLOSE_DEADLINE + 1)
				conn_free(c);	/* close_poll never ran */
			break;
		}
	}
}

/* Reading stops while any reason (CONN_PAUSE_*) holds. */
static void
conn_pause(struct conn *c, int why, bool on)
{
	int was = c->paused;

	c->paused = on ? was | why : was & ~why;
	if (was == 0 && c->paused != 0)
		bufferevent_disable(c->bev, EV_READ);
	else if (was != 0 && c->paused == 0)
		bufferevent_enable(c->bev, EV_READ);
}

/*
 * §8 stop-accepting: while the audit writer cannot keep the records,
 * logged-in links are not read.  Their silence is ours, not theirs: the
 * heartbeat deadline is pushed on meanwhile (call it every tick, before
 * conn_sweep()).
 */
void
conn_hold_all(struct connset *set, bool hold)
{
	struct conn *c;
	int64_t now = mono_ms();

	if (!hold && !set->holding)
		return;
	for (c = set->links; c != NULL; c = c->next) {
		if (c->state != C_ONLINE)
			continue;
		conn_pause(c, CONN_PAUSE_HOLD, hold);
		if (hold)
			c->last_rx = now;
	}
	if (hold != set->holding)
		log_warnx("worker %d: audit: %s reading from links",
		    set->io->idx, hold ? "stopped" : "resumed");
	set->holding = hold;
}

/*
 * SIGHUP: every logged-in link's certificate verified again against
 * ctx (the new CA and CRLs); ops->revoked (kick with the server's
 * words) for each that no longer passes.  Returns how many.
 */
unsigned
conn_recheck_certs(struct connset *set, SSL_CTX *ctx,
    void (*revoked)(struct conn *, const char *why))
{
	struct conn *c, *next;
	char why[200];
	unsigned n = 0;

	for (c = set->links; c != NULL; c = next) {
		next = c->next;
		if (c->state != C_ONLINE || tls_peer_recheck(ctx,
		    bufferevent_openssl_get_ssl(c->bev), why, sizeof(why)) == 0)
			continue;
		conn_log(c, "%08X: %s since its login: closed", c->code,
		    why);
		revoked(c, why);
		n++;
	}
	return n;
}

/* A reference to *ctx taken under mu (free it with SSL_CTX_free). */
SSL_CTX *
conn_ctx_ref(SSL_CTX **ctx, pthread_mutex_t *mu)
{
	SSL_CTX *c;

	pthread_mutex_lock(mu);
	c = *ctx;
	SSL_CTX_up_ref(c);
	pthread_mutex_unlock(mu);
	return c;
}

void
conn_close_all(struct connset *set, const char *why)
{
	struct conn *c, *next;

	for (c = set->links; c != NULL; c = next) {
		next = c->next;
		conn_close(c, why);
	}
}

void
conn_release_all(struct connset *set)
{
	while (set->links != NULL)
		conn_free(set->links);
}

static void
conn_free(struct conn *c)
{
	struct connset *set = c->set;

	if (c->closer != NULL)
		event_free(c->closer);
	undirty(c);
	if (c->stage != NULL)
		evbuffer_free(c->stage);
	set->held -= c->held;
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		set->links = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	set->io->nlinks--;
	set->ops->free(c);
}
