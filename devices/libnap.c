/*
 * libnap.c - the device link's life (DESIGN.md §2, §4, §5): the handle
 * and its settings, connecting (TCP, TLS, Login), the state machine that
 * nap_process() drives, heartbeats and confirmation timers, reconnection
 * with backoff after the server's Logout, and the orderly Logout.
 *
 *   IDLE -> CONNECTING -> TLS -> LOGIN -> ONLINE -> CLOSING -> CLOSED
 *                                           |  ^
 *                     (Logout, lost link)   v  |  (next attempt)
 *                                         BACKOFF
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "nap_internal.h"

/* Names of the §4 error codes and of the library's own errors. */
struct err_name {
	int		 code;
	const char	*name;
};

static int	link_start(struct nap *);
static int	try_addr(struct nap *);
static int	step_connect(struct nap *);
static int	bind_local(struct nap *, int, const struct addrinfo *);
static int	step_tls(struct nap *);
static int	step_link(struct nap *);
static void	run_timers(struct nap *, int64_t);
static void	close_link(struct nap *, bool);
static void	finish(struct nap *, int);
static void	drop_user(struct nap *);
static bool	permanent(int);
static uint32_t	rng_next(struct nap *);
static char	*xstrdup_max(const char *, size_t);

static const struct err_name err_names[] = {
	{ NAP_OK, "success" },
	{ NAP_E_INVAL, "invalid argument" },
	{ NAP_E_NOMEM, "out of memory" },
	{ NAP_E_STATE, "not possible in this state" },
	{ NAP_E_BUSY, "busy (called from a callback?)" },
	{ NAP_E_AGAIN, "queue full, try again" },
	{ NAP_E_TIMEOUT, "timed out" },
	{ NAP_E_CONFIG, "certificate, key, CA or CRL unusable" },
	{ NAP_E_RESOLVE, "server name did not resolve" },
	{ NAP_E_CONNECT, "cannot connect to the server" },
	{ NAP_E_TLS, "TLS handshake failed" },
	{ NAP_E_VERIFY, "certificate verify failed" },
	{ NAP_E_IDENTITY, "server is not the expected code" },
	{ NAP_E_CLOSED, "connection closed" },
	{ NAP_E_LOGOUT, "logged out by the server" },
	{ NAP_E_PROTOCOL, "protocol error from the server" },
	{ NAP_E_SYS, "system error" },
};

/* ---- small helpers -------------------------------------------------- */

const char *
nap_code_name(int code)
{
	const char *t;

	for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
		if (err_names[i].code == code)
			return err_names[i].name;
	if ((t = env_code_text(code)) != NULL)
		return t;	/* the server's own §4 code */
	return code >= 400 && code <= 599 ? "refused by the server" :
	    "unknown error";
}

const char *
nap_strerror(int err)
{
	return nap_code_name(err);
}

/* Records the failure's one-line message; returns code. */
int
nap_fail(struct nap *n, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->errmsg, sizeof(n->errmsg), fmt, ap);
	va_end(ap);
	nap_log(n, NAP_LOG_DEBUG, "error %d: %s", code, n->errmsg);
	return code;
}

void
nap_log(struct nap *n, enum nap_log_level lvl, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (n->log_cb == NULL || lvl > n->log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n->in_cb++;
	n->log_cb(n, lvl, line, n->log_arg);
	n->in_cb--;
}

const char *
nap_errmsg(const struct nap *n)
{
	return n->errmsg;
}

int
nap_code_parse(const char *s, uint32_t *code)
{
	if (s == NULL || code == NULL ||
	    env_code_parse(s, strlen(s), code) == -1)
		return NAP_E_INVAL;
	return 0;
}

char *
nap_code_format(uint32_t code, char out[9])
{
	env_code_format(code, out);
	return out;
}

/* splitmix64: jitter only, seeded from OpenSSL's generator. */
static uint32_t
rng_next(struct nap *n)
{
	uint64_t z = (n->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/*
 * The delay before reconnection attempt number attempt (0 first):
 * d = min_ms doubled attempt times, capped at max_ms; the result is
 * drawn in [d/2, d] from rnd ("equal jitter").
 */
uint32_t
nap_backoff_ms(unsigned attempt, uint32_t min_ms, uint32_t max_ms,
    uint32_t rnd)
{
	uint64_t d = min_ms ? min_ms : 1;

	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return (uint32_t)(d / 2 + rnd % (d - d / 2 + 1));
}

static char *
xstrdup_max(const char *s, size_t max)
{
	return strndup(s, max);
}

/* ---- the handle ------------------------------------------------------ */

struct nap *
nap_new(void)
{
	struct nap *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->fd = -1;
	n->hb_enabled = true;
	n->rc_min = NAP_DEF_RC_MIN_MS;
	n->rc_max = NAP_DEF_RC_MAX_MS;
	n->connect_ms = NAP_DEF_CONNECT_MS;
	n->max_frame = ENV_DEFAULT_MAX_FRAME;
	n->queue_max = NAP_DEF_QUEUE_BYTES;
	n->unacked_max = NAP_DEF_UNACKED;
	n->log_max = NAP_LOG_WARN;
	if (RAND_bytes((unsigned char *)&n->rng, sizeof(n->rng)) != 1)
		n->rng = (uint64_t)mono_ms() ^ (uint64_t)getpid() << 32;
	/*
	 * A device confirms by (From, Seq) only (§5): a random start keeps
	 * the Seqs of its successive sessions apart.
	 */
	n->next_seq = rng_next(n);
	if ((n->client_name = strdup("libnap")) == NULL ||
	    (n->client_version = strdup("0.1")) == NULL ||
	    (n->dup = nap_dup_new(NAP_DUP_SENDERS)) == NULL ||
	    (n->parser = env_parser_new(n->max_frame)) == NULL ||
	    (n->wbuf = malloc(NAP_WBUF)) == NULL) {
		nap_free(n);
		return NULL;
	}
	return n;
}

void
nap_free(struct nap *n)
{
	if (n == NULL)
		return;
	close_link(n, false);
	nap_fq_clear(&n->user);
	nap_fq_clear(&n->unacked);
	nap_msg_free(n->wait.reply);
	SSL_CTX_free(n->ctx);
	free(n->host);
	free(n->client_name);
	free(n->client_version);
	nap_dup_free(n->dup);
	env_parser_free(n->parser);
	free(n->wbuf);
	free(n);
}

/* ---- settings -------------------------------------------------------- */

/* Settings change only while no link exists. */
#define SETTABLE(n) do {						\
	if ((n)->state != NAP_ST_IDLE && (n)->state != NAP_ST_CLOSED)	\
		return nap_fail((n), NAP_E_STATE, "cannot change settings " \
		    "while connected");					\
} while (0)

int
nap_set_server(struct nap *n, const char *host, uint16_t port)
{
	char *h;

	SETTABLE(n);
	if (host == NULL || *host == '\0' || port == 0)
		return nap_fail(n, NAP_E_INVAL, "bad server address");
	if ((h = xstrdup_max(host, 255)) == NULL)
		return nap_fail(n, NAP_E_NOMEM, "out of memory");
	free(n->host);
	n->host = h;
	snprintf(n->port, sizeof(n->port), "%u", port);
	return 0;
}

int
nap_set_server_str(struct nap *n, const char *hp)
{
	const char *colon, *hs, *he;
	char host[256], *end;
	unsigned long port;

	if (hp == NULL)
		return nap_fail(n, NAP_E_INVAL, "bad server address");
	if (*hp == '[') {
		hs = hp + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			goto bad;
		colon = he + 1;
	} else {
		hs = hp;
		if ((colon = strrchr(hp, ':')) == NULL)
			goto bad;
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof(host) ||
	    colon[1] < '0' || colon[1] > '9')
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
		goto bad;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	return nap_set_server(n, host, (uint16_t)port);
bad:
	return nap_fail(n, NAP_E_INVAL, "bad server address %s (HOST:PORT)",
	    hp);
}

int
nap_set_tls(struct nap *n, const char *cert, const char *key, const char *ca,
    const char *crl)
{
	SSL_CTX *ctx;
	uint32_t cn;
	int rc;

	SETTABLE(n);
	if (cert == NULL || key == NULL || ca == NULL)
		return nap_fail(n, NAP_E_INVAL, "certificate, key and CA "
		    "files are required");
	if ((rc = nap_tls_ctx(n, cert, key, ca, crl, &ctx, &cn)) != 0)
		return rc;
	SSL_CTX_free(n->ctx);
	n->ctx = ctx;
	if (!n->code_forced) {
		n->code = cn;
		n->code_set = true;
	}
	return 0;
}

int
nap_set_code(struct nap *n, uint32_t code)
{
	SETTABLE(n);
	if (!env_code_is_device(code) && !env_code_is_domain(code))
		return nap_fail(n, NAP_E_INVAL, "%08X is not a device code",
		    code);
	n->code = code;
	n->code_set = n->code_forced = true;
	return 0;
}

int
nap_set_expect(struct nap *n, uint32_t code)
{
	SETTABLE(n);
	if (!env_code_is_domain(code) && !env_code_is_platform(code))
		return nap_fail(n, NAP_E_INVAL, "%08X is not a server code",
		    code);
	n->expect = code;
	n->expect_set = true;
	return 0;
}

int
nap_set_platform(struct nap *n, bool platform)
{
	SETTABLE(n);
	n->platform = platform;
	return 0;
}

int
nap_set_client(struct nap *n, const char *name, const char *version)
{
	char *a = NULL, *b = NULL;

	SETTABLE(n);
	if (name != NULL && ((a = xstrdup_max(name, 64)) == NULL ||
	    (b = xstrdup_max(version ? version : "", 64)) == NULL)) {
		free(a);
		return nap_fail(n, NAP_E_NOMEM, "out of memory");
	}
	free(n->client_name);
	free(n->client_version);
	n->client_name = a;
	n->client_version = b;
	return 0;
}

int
nap_set_heartbeat(struct nap *n, bool enabled, unsigned iv, unsigned to)
{
	SETTABLE(n);
	if ((iv == 0) != (to == 0) || (iv != 0 && to < 2 * iv) ||
	    iv > 86400 || to > 2 * 86400)
		return nap_fail(n, NAP_E_INVAL, "heartbeat: interval >= 1 and "
		    "timeout >= 2 x interval, or both 0");
	n->hb_enabled = enabled;
	n->hb_cfg_interval = iv;
	n->hb_cfg_timeout = to;
	return 0;
}

int
nap_set_reconnect(struct nap *n, bool on, unsigned min_ms, unsigned max_ms)
{
	min_ms = min_ms ? min_ms : NAP_DEF_RC_MIN_MS;
	max_ms = max_ms ? max_ms : NAP_DEF_RC_MAX_MS;
	if (min_ms > max_ms || max_ms > 3600 * 1000)
		return nap_fail(n, NAP_E_INVAL, "reconnect: min <= max <= 1 h");
	n->reconnect = on;
	n->rc_min = min_ms;
	n->rc_max = max_ms;
	return 0;
}

int
nap_set_connect_timeout(struct nap *n, unsigned ms)
{
	if (ms == 0)
		return nap_fail(n, NAP_E_INVAL, "connect timeout must be > 0");
	n->connect_ms = ms;
	return 0;
}

int
nap_set_max_frame(struct nap *n, uint32_t bytes)
{
	struct env_parser *p;

	SETTABLE(n);
	if (bytes <= NAP_ENV_SLACK || bytes > ENV_MAX_FRAME_LIMIT)
		return nap_fail(n, NAP_E_INVAL, "max_frame must be in "
		    "1025..%u", ENV_MAX_FRAME_LIMIT);
	if ((p = env_parser_new(bytes)) == NULL)
		return nap_fail(n, NAP_E_NOMEM, "out of memory");
	env_parser_free(n->parser);
	n->parser = p;
	n->max_frame = bytes;
	return 0;
}

int
nap_set_local(struct nap *n, const char *address)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&n->local;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&n->local;

	memset(&n->local, 0, sizeof(n->local));
	if (address == NULL)
		return NAP_OK;
	if (inet_pton(AF_INET, address, &v4->sin_addr) == 1)
		v4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1)
		v6->sin6_family = AF_INET6;
	else
		return nap_fail(n, NAP_E_INVAL, "bad local address %.64s",
		    address);
	return NAP_OK;
}

/*
 * A socket about to connect to a leaves from the local address set, if
 * it is of a's family.  The port is left to connect(), which picks one
 * per (source, destination): a plain bind() would take a port for any
 * peer and run out at ~28000 links.  0, or -1 with errno.
 */
static int
bind_local(struct nap *n, int fd, const struct addrinfo *a)
{
	int one = 1;
	socklen_t len;

	if (n->local.ss_family == 0 || n->local.ss_family != a->ai_family)
		return 0;
	len = a->ai_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	return bind(fd, (struct sockaddr *)&n->local, len);
}

int
nap_set_queue_limit(struct nap *n, size_t bytes, unsigned unacked)
{
	if (bytes < 4096 || unacked == 0)
		return nap_fail(n, NAP_E_INVAL, "queue limits too small");
	/* Resent messages must land in the receivers' duplicate window. */
	if (unacked > NAP_DUP_WINDOW / 2)
		return nap_fail(n, NAP_E_INVAL, "at most %d messages may wait "
		    "for a receipt", NAP_DUP_WINDOW / 2);
	n->queue_max = bytes;
	n->unacked_max = unacked;
	return 0;
}

int
nap_set_resume(struct nap *n, const char *session)
{
	size_t len = session ? strlen(session) : 0;

	SETTABLE(n);
	if (len != 0 && len != 16)
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (!((session[i] >= '0' && session[i] <= '9') ||
		    (session[i] >= 'A' && session[i] <= 'F')))
			goto bad;
	memcpy(n->resume, session ? session : "", len + 1);
	return 0;
bad:
	return nap_fail(n, NAP_E_INVAL, "a session is 16 upper-case hex "
	    "digits");
}

void
nap_set_msg_cb(struct nap *n, nap_msg_cb cb, void *arg)
{
	n->msg_cb = cb;
	n->msg_arg = arg;
}

void
nap_set_receipt_cb(struct nap *n, nap_receipt_cb cb, void *arg)
{
	n->rcpt_cb = cb;
	n->rcpt_arg = arg;
}

void
nap_set_state_cb(struct nap *n, nap_state_cb cb, void *arg)
{
	n->state_cb = cb;
	n->state_arg = arg;
}

void
nap_set_log_cb(struct nap *n, nap_log_cb cb, enum nap_log_level max,
    void *arg)
{
	n->log_cb = cb;
	n->log_max = max;
	n->log_arg = arg;
}

/* ---- getters --------------------------------------------------------- */

enum nap_state
nap_state(const struct nap *n)
{
	return n->state;
}

uint32_t
nap_code(const struct nap *n)
{
	return n->code;
}

uint32_t
nap_server_code(const struct nap *n)
{
	if (n->expect_set || n->state != NAP_ST_IDLE)
		return n->expect;
	return n->platform ? NAP_PLATFORM : n->code & 0xffff0000u;
}

const char *
nap_session(const struct nap *n)
{
	return n->session;
}

bool
nap_resumed(const struct nap *n)
{
	return n->resumed;
}

void
nap_heartbeat(const struct nap *n, unsigned *iv, unsigned *to)
{
	if (iv != NULL)
		*iv = n->hb_interval;
	if (to != NULL)
		*to = n->hb_timeout;
}

void
nap_get_stats(const struct nap *n, struct nap_stats *s)
{
	*s = n->stats;
}

/* ---- state changes -------------------------------------------------- */

void
nap_set_state(struct nap *n, enum nap_state st, int err)
{
	if (n->state == st)
		return;
	n->state = st;
	if (n->state_cb != NULL) {
		n->in_cb++;
		n->state_cb(n, st, err, n->state_arg);
		n->in_cb--;
	}
}

/* Closes the socket and what belongs to the link; keeps the queues. */
static void
close_link(struct nap *n, bool notify)
{
	nap_tls_close(n, notify);
	if (n->fd != -1) {
		close(n->fd);
		n->fd = -1;
	}
	if (n->ai != NULL) {
		freeaddrinfo(n->ai);
		n->ai = n->ai_cur = NULL;
	}
	env_frame_dec_free(n->dec);
	n->dec = NULL;
	nap_io_reset(n);
	n->down_err = 0;
}

/* What waited to be sent will not be: NAP_ACK ones become unknown. */
static void
drop_user(struct nap *n)
{
	struct nap_frame *f;

	while ((f = n->user.head) != NULL) {
		if ((n->user.head = f->next) == NULL)
			n->user.tail = NULL;
		n->user.n--;
		n->user.bytes -= f->len;
		if ((f->flags & (NAP_ACK | NAP_FR_USER)) ==
		    (NAP_ACK | NAP_FR_USER))
			nap_fq_push(&n->unacked, f);
		else {
			free(f->data);
			free(f);
		}
	}
	nap_report_unknown(n);
}

/* The session is over: err 0 for an orderly close. */
static void
finish(struct nap *n, int err)
{
	close_link(n, false);
	drop_user(n);
	n->last_err = err;
	nap_set_state(n, NAP_ST_CLOSED, err);
}

/* Failures that a new attempt would meet again, or must not retry. */
static bool
permanent(int err)
{
	return (err >= 400 && err <= 599) || err == NAP_E_VERIFY ||
	    err == NAP_E_IDENTITY || err == NAP_E_CONFIG ||
	    err == NAP_E_NOMEM || err == NAP_E_PROTOCOL;
}

/*
 * The link failed or ended with err (its message set).  Reconnects when
 * configured and sensible, otherwise ends the session.
 */
void
nap_link_down(struct nap *n, int err)
{
	enum nap_state was = n->state;
	uint32_t delay;

	if (was == NAP_ST_CLOSING) {
		/*
		 * §5: the receiver of a Logout closes the link; its close
		 * (or its Logout) is the expected end.  Answer its
		 * close_notify with ours.
		 */
		close_link(n, err == NAP_E_CLOSED || err == NAP_E_LOGOUT);
		finish(n, 0);
		return;
	}
	close_link(n, false);
	if (n->reconnect && n->ever_online && !permanent(err)) {
		delay = nap_backoff_ms(n->attempts++, n->rc_min, n->rc_max,
		    rng_next(n));
		n->backoff_until = mono_ms() + delay;
		nap_log(n, err == NAP_E_LOGOUT ? NAP_LOG_INFO : NAP_LOG_WARN,
		    "%s; reconnecting in %u ms", n->errmsg, delay);
		/* §5: a server's Logout is no failure. */
		nap_set_state(n, NAP_ST_BACKOFF, err == NAP_E_LOGOUT ? 0 : err);
		return;
	}
	finish(n, err);
}

/* LoginReply accepted: the session starts. */
void
nap_online(struct nap *n, const char *session, unsigned iv, unsigned to)
{
	bool first = !n->ever_online;

	n->resumed = n->resume[0] != '\0' && strcmp(n->resume, session) == 0;
	memcpy(n->session, session, 16);
	n->session[16] = '\0';
	memcpy(n->resume, n->session, sizeof(n->resume));
	if (!n->hb_enabled)
		iv = to = 0;
	else if (n->hb_cfg_interval != 0) {
		iv = n->hb_cfg_interval;
		to = n->hb_cfg_timeout;
	}
	n->hb_interval = iv;
	n->hb_timeout = to;
	n->deadline = 0;
	n->attempts = 0;
	n->ever_online = true;
	if (!first)
		n->stats.reconnects++;
	n->last_rx = n->last_tx = mono_ms();
	nap_io_restamp(n, n->resumed);
	nap_log(n, NAP_LOG_INFO, "logged in as %08X at %08X, session %s%s",
	    n->code, n->expect, n->session, n->resumed ? " (resumed)" : "");
	nap_set_state(n, NAP_ST_ONLINE, 0);
}

/* ---- connecting ----------------------------------------------------- */

int
nap_connect_start(struct nap *n)
{
	int rc;

	if (n->in_cb)
		return nap_fail(n, NAP_E_BUSY, "not from a callback");
	if (n->state != NAP_ST_IDLE && n->state != NAP_ST_CLOSED)
		return nap_fail(n, NAP_E_STATE, "already connected");
	if (n->ctx == NULL)
		return nap_fail(n, NAP_E_CONFIG, "no certificate (nap_set_tls)");
	if (n->host == NULL)
		return nap_fail(n, NAP_E_INVAL, "no server (nap_set_server)");
	if (!n->expect_set)
		n->expect = n->platform ? NAP_PLATFORM : n->code & 0xffff0000u;
	n->errmsg[0] = '\0';
	n->last_err = 0;
	n->attempts = 0;
	n->brk = 0;
	/* A first login that fails is reported, never retried. */
	n->ever_online = false;
	if ((rc = link_start(n)) != 0) {
		finish(n, rc);
		return rc;
	}
	return 0;
}

/* Resolves and starts the TCP connection (blocking name lookup). */
static int
link_start(struct nap *n)
{
	struct addrinfo hints;
	int rc;

	n->deadline = mono_ms() + n->connect_ms;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(n->host, n->port, &hints, &n->ai)) != 0) {
		n->ai = NULL;
		return nap_fail(n, NAP_E_RESOLVE, "cannot resolve %s: %s",
		    n->host, gai_strerror(rc));
	}
	n->ai_cur = n->ai;
	nap_set_state(n, NAP_ST_CONNECTING, 0);
	return try_addr(n);
}

/* Starts a connection to the current address, or the next ones. */
static int
try_addr(struct nap *n)
{
	int err = 0;

	for (; n->ai_cur != NULL; n->ai_cur = n->ai_cur->ai_next) {
		struct addrinfo *a = n->ai_cur;

		n->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, a->ai_protocol);
		if (n->fd == -1) {
			err = errno;
			continue;
		}
		if (bind_local(n, n->fd, a) == 0 && (connect(n->fd,
		    a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS))
			return 0;
		err = errno;
		close(n->fd);
		n->fd = -1;
	}
	return nap_fail(n, NAP_E_CONNECT, "cannot connect to %s port %s: %s",
	    n->host, n->port, strerror(err));
}

/* CONNECTING: has the TCP handshake completed (or failed)? */
static int
step_connect(struct nap *n)
{
	struct pollfd p = { .fd = n->fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int err = 0, one = 1, rc;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		err = errno;
	if (err != 0) {
		close(n->fd);
		n->fd = -1;
		n->ai_cur = n->ai_cur->ai_next;
		if ((rc = try_addr(n)) != 0)
			return nap_fail(n, NAP_E_CONNECT, "cannot connect to "
			    "%s port %s: %s", n->host, n->port,
			    strerror(err));
		return 0;
	}
	(void)setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	freeaddrinfo(n->ai);
	n->ai = n->ai_cur = NULL;
	if ((rc = nap_tls_start(n)) != 0)
		return rc;
	nap_set_state(n, NAP_ST_TLS, 0);
	return step_tls(n);
}

/* TLS: one handshake step; once done, Login. */
static int
step_tls(struct nap *n)
{
	int rc;

	if ((rc = nap_tls_handshake(n)) == 1)
		return 0;
	if (rc != 0)
		return rc;
	if ((n->dec = env_frame_dec_new(n->max_frame, 0)) == NULL)
		return nap_fail(n, NAP_E_NOMEM, "out of memory");
	if ((rc = nap_queue_login(n)) != 0)
		return rc;
	nap_set_state(n, NAP_ST_LOGIN, 0);
	return step_link(n);
}

/* LOGIN, ONLINE, CLOSING: read, run the timers, write. */
static int
step_link(struct nap *n)
{
	int rc;

	if ((rc = nap_io_read(n)) != 0)
		return rc;
	if (n->state == NAP_ST_ONLINE)
		run_timers(n, mono_ms());
	else if (n->state != NAP_ST_LOGIN && n->state != NAP_ST_CLOSING)
		return 0;
	if (n->down_err != 0)
		return n->down_err;
	return nap_io_write(n);
}

/* §5: confirmations every 200 ms, heartbeat Check, heartbeat timeout. */
static void
run_timers(struct nap *n, int64_t now)
{
	if (n->unconf != 0 && now - n->unconf_since >= NAP_CONFIRM_MS)
		(void)nap_queue_confirm(n);
	if (n->hb_timeout != 0 && now - n->last_rx >= (int64_t)n->hb_timeout *
	    1000) {
		n->down_err = nap_fail(n, NAP_E_TIMEOUT, "nothing received "
		    "from the server for %u s", n->hb_timeout);
		return;
	}
	if (n->hb_interval != 0 && now - n->last_tx >=
	    (int64_t)n->hb_interval * 1000) {
		if (nap_queue_ctrl(n, ENV_T_CHECK, n->expect, NULL, NULL,
		    NULL) == 0)
			n->last_tx = now;
	}
}

int
nap_process(struct nap *n, int events)
{
	int64_t now;
	int rc = 0;

	(void)events;	/* every step tries its I/O; the socket says */
	if (n->in_cb)
		return nap_fail(n, NAP_E_BUSY, "not from a callback");
	now = mono_ms();
	switch (n->state) {
	case NAP_ST_IDLE:
		return nap_fail(n, NAP_E_STATE, "not connected");
	case NAP_ST_CLOSED:
		return n->last_err;
	case NAP_ST_BACKOFF:
		if (now >= n->backoff_until)
			rc = link_start(n);
		break;
	case NAP_ST_CONNECTING:
		rc = step_connect(n);
		break;
	case NAP_ST_TLS:
		rc = step_tls(n);
		break;
	case NAP_ST_LOGIN:
	case NAP_ST_ONLINE:
	case NAP_ST_CLOSING:
		rc = step_link(n);
		break;
	}
	if (rc == 0 && n->state != NAP_ST_ONLINE && n->state !=
	    NAP_ST_BACKOFF && n->state != NAP_ST_CLOSED && n->deadline != 0 &&
	    mono_ms() >= n->deadline) {
		if (n->state == NAP_ST_CLOSING) {
			/* The server did not close in time: we do. */
			close_link(n, true);
			finish(n, 0);
			return 0;
		}
		rc = nap_fail(n, NAP_E_TIMEOUT, "%s timed out after %u ms",
		    n->state == NAP_ST_CONNECTING ? "TCP connection" :
		    n->state == NAP_ST_TLS ? "TLS handshake" : "login",
		    n->connect_ms);
	}
	if (rc != 0)
		nap_link_down(n, rc);
	return n->state == NAP_ST_CLOSED ? n->last_err : 0;
}

/* ---- event-loop view --------------------------------------------- */

int
nap_fd(const struct nap *n)
{
	return n->fd;
}

bool
nap_want_write(const struct nap *n)
{
	switch (n->state) {
	case NAP_ST_CONNECTING:
		return true;
	case NAP_ST_TLS:
		return n->ssl_want_write;
	case NAP_ST_LOGIN:
	case NAP_ST_ONLINE:
	case NAP_ST_CLOSING:
		return n->ssl_want_write || nap_io_pending_write(n);
	default:
		return false;
	}
}

int
nap_next_timeout_ms(const struct nap *n)
{
	int64_t now = mono_ms(), t = INT64_MAX, d;

	/* An overdue timer (d <= 0) wins: it is due now. */
#define SOONER(x) do { d = (x); if (d < t) t = d; } while (0)
	switch (n->state) {
	case NAP_ST_IDLE:
	case NAP_ST_CLOSED:
		return -1;
	case NAP_ST_BACKOFF:
		SOONER(n->backoff_until - now);
		break;
	case NAP_ST_ONLINE:
		/* Decrypted bytes poll() cannot see, unless reading waits
		 * for the output to drain (POLLOUT wakes us then). */
		if (nap_tls_pending(n) && n->ctrl.bytes < NAP_CTRL_MAX)
			return 0;
		if (n->unconf != 0)
			SOONER(n->unconf_since + NAP_CONFIRM_MS - now);
		if (n->hb_interval != 0)
			SOONER(n->last_tx + (int64_t)n->hb_interval * 1000 -
			    now);
		if (n->hb_timeout != 0)
			SOONER(n->last_rx + (int64_t)n->hb_timeout * 1000 -
			    now);
		break;
	default:
		if (nap_tls_pending(n))
			return 0;
		SOONER(n->deadline - now);
		break;
	}
#undef SOONER
	if (t == INT64_MAX)
		return -1;		/* no timer: wait for I/O only */
	if (t < 0)
		t = 0;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

/* ---- the orderly end -------------------------------------------------- */

/*
 * Called by nap_close() once the user queue is written: confirm, Logout,
 * then CLOSING until the server closes or the deadline.
 */
int
nap_logout_start(struct nap *n, int64_t deadline)
{
	int rc;

	if ((rc = nap_queue_confirm(n)) != 0 ||
	    (rc = nap_queue_ctrl(n, ENV_T_LOGOUT, n->expect, NULL, NULL,
	    NULL)) != 0)
		return rc;
	n->deadline = deadline;
	nap_set_state(n, NAP_ST_CLOSING, 0);
	return 0;
}

/* Ends the link at once (no Logout): nap_close() before login. */
void
nap_abort(struct nap *n)
{
	finish(n, 0);
}
