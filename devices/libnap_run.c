/*
 * libnap_run.c - the blocking face of libnap: one poll() loop over the
 * handle's socket that nap_connect(), nap_run(), nap_flush(),
 * nap_request(), nap_ping() and nap_close() drive until their condition
 * holds.  It calls nap_process() exactly as an event loop would.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "nap_internal.h"

/* A reserved request and the reserved reply that echoes its Seq (§4). */
struct echo_entry {
	uint32_t	 request;
	uint32_t	 reply;
};

static const struct echo_entry echoes[] = {
	{ ENV_T_CHECK, ENV_T_CHECK_REPLY },
	{ ENV_T_FS_REGISTER, ENV_T_FS_REGISTER_REPLY },
	{ ENV_T_LOCATE, ENV_T_LOCATE_REPLY },
};

static bool	is_online_or_over(struct nap *);
static bool	is_flushed(struct nap *);
static bool	is_answered(struct nap *);
static bool	is_closed(struct nap *);
static int64_t	deadline_of(int);
static int	wait_reply(struct nap *, uint32_t, uint32_t, uint32_t, int,
		    struct nap_msg **);

static bool
is_online_or_over(struct nap *n)
{
	return n->state == NAP_ST_ONLINE || n->state == NAP_ST_CLOSED;
}

static bool
is_flushed(struct nap *n)
{
	return n->state == NAP_ST_ONLINE && !nap_io_pending_write(n);
}

static bool
is_answered(struct nap *n)
{
	return n->wait.done;
}

static bool
is_closed(struct nap *n)
{
	return n->state == NAP_ST_CLOSED || n->state == NAP_ST_IDLE;
}

static int64_t
deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

/*
 * Polls and processes until done(n) holds (0), the deadline passes (0;
 * -1 = none), nap_break() was called (0, only when done is NULL), or the
 * session ends (its error).
 */
int
nap_loop(struct nap *n, int64_t deadline, bool (*done)(struct nap *))
{
	struct pollfd p;
	int64_t now;
	int to, r, rc, ev;

	for (;;) {
		if (done != NULL && done(n))
			return 0;
		if (n->state == NAP_ST_IDLE || n->state == NAP_ST_CLOSED)
			return n->last_err != 0 ? n->last_err :
			    nap_fail(n, NAP_E_STATE, "not connected");
		if (done == NULL && n->brk) {
			n->brk = 0;
			return 0;
		}
		now = mono_ms();
		if (deadline >= 0 && now >= deadline)
			return 0;
		to = nap_next_timeout_ms(n);
		if (deadline >= 0 && (to < 0 || to > deadline - now))
			to = (int)(deadline - now);
		/* Bounded, so that nap_break() from a signal is seen. */
		if (to < 0 || to > 1000)
			to = 1000;
		ev = 0;
		if (n->fd >= 0) {
			p.fd = n->fd;
			p.events = POLLIN | (nap_want_write(n) ? POLLOUT : 0);
			p.revents = 0;
			r = poll(&p, 1, to);
			if (r > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)))
				ev |= NAP_READ;
			if (r > 0 && (p.revents & (POLLOUT | POLLERR)))
				ev |= NAP_WRITE;
		} else
			r = poll(NULL, 0, to);
		if (r == -1 && errno != EINTR)
			return nap_fail(n, NAP_E_SYS, "poll: %s",
			    strerror(errno));
		if ((rc = nap_process(n, ev)) != 0)
			return rc;
	}
}

int
nap_connect(struct nap *n)
{
	int rc;

	if ((rc = nap_connect_start(n)) != 0)
		return rc;
	(void)nap_loop(n, -1, is_online_or_over);
	return n->state == NAP_ST_ONLINE ? 0 : n->last_err;
}

int
nap_run(struct nap *n, int timeout_ms)
{
	if (n->in_cb)
		return nap_fail(n, NAP_E_BUSY, "not from a callback");
	return nap_loop(n, deadline_of(timeout_ms), NULL);
}

void
nap_break(struct nap *n)
{
	n->brk = 1;
}

int
nap_flush(struct nap *n, int timeout_ms)
{
	int rc;

	if (n->in_cb)
		return nap_fail(n, NAP_E_BUSY, "not from a callback");
	if ((rc = nap_loop(n, deadline_of(timeout_ms), is_flushed)) != 0)
		return rc;
	if (!is_flushed(n))
		return nap_fail(n, NAP_E_TIMEOUT, "send queue not written "
		    "within %d ms", timeout_ms);
	return 0;
}

/* Waits for the answer to our message seq (sent to to). */
static int
wait_reply(struct nap *n, uint32_t seq, uint32_t to, uint32_t echo,
    int timeout_ms, struct nap_msg **reply)
{
	int rc;

	memset(&n->wait, 0, sizeof(n->wait));
	n->wait.active = true;
	n->wait.seq = seq;
	n->wait.to = to;
	n->wait.echo_type = echo;
	rc = nap_loop(n, deadline_of(timeout_ms), is_answered);
	if (n->wait.done) {
		rc = n->wait.err;
		if (rc == 0 && reply != NULL) {
			*reply = n->wait.reply;
			n->wait.reply = NULL;
		}
	} else if (rc == 0)
		rc = nap_fail(n, NAP_E_TIMEOUT, "no reply within %d ms",
		    timeout_ms);
	nap_msg_free(n->wait.reply);
	memset(&n->wait, 0, sizeof(n->wait));
	return rc;
}

int
nap_request_ex(struct nap *n, const struct nap_out *o, int timeout_ms,
    struct nap_msg **reply)
{
	uint32_t seq, echo = 0;
	int rc;

	if (n->in_cb || n->wait.active)
		return nap_fail(n, NAP_E_BUSY, "not from a callback, one "
		    "request at a time");
	if (reply == NULL || o == NULL)
		return nap_fail(n, NAP_E_INVAL, "bad arguments");
	*reply = NULL;
	for (size_t i = 0; i < sizeof(echoes) / sizeof(echoes[0]); i++)
		if (echoes[i].request == o->type)
			echo = echoes[i].reply;
	if (o->type == ENV_T_CHECK) {
		if (n->state != NAP_ST_ONLINE)
			return nap_fail(n, NAP_E_STATE, "not logged in");
		rc = nap_queue_ctrl(n, ENV_T_CHECK, o->to, NULL, NULL, &seq);
	} else
		rc = nap_send_ex(n, o, &seq);
	if (rc != 0)
		return rc;
	return wait_reply(n, seq, o->to, echo, timeout_ms, reply);
}

int
nap_request(struct nap *n, uint32_t type, uint32_t to, const char *params,
    size_t len, int timeout_ms, struct nap_msg **reply)
{
	struct nap_out o = { .type = type, .to = to, .params = params,
	    .len = len };

	return nap_request_ex(n, &o, timeout_ms, reply);
}

int
nap_ping(struct nap *n, int timeout_ms, uint64_t *rtt_us)
{
	struct nap_msg *reply = NULL;
	struct nap_out o = { .type = ENV_T_CHECK };
	uint64_t t0 = (uint64_t)mono_us();
	int rc;

	o.to = n->expect;
	rc = nap_request_ex(n, &o, timeout_ms, &reply);
	if (rc == 0 && rtt_us != NULL)
		*rtt_us = (uint64_t)mono_us() - t0;
	nap_msg_free(reply);
	return rc;
}

int
nap_close(struct nap *n, int timeout_ms)
{
	int rc;

	if (n->in_cb)
		return nap_fail(n, NAP_E_BUSY, "not from a callback");
	switch (n->state) {
	case NAP_ST_IDLE:
		return 0;
	case NAP_ST_CLOSED:
		return n->last_err;
	case NAP_ST_ONLINE:
		/* What the application sent goes out before the Logout. */
		rc = nap_loop(n, deadline_of(timeout_ms), is_flushed);
		if (rc != 0)
			return rc;
		if (n->state != NAP_ST_ONLINE)
			break;
		if ((rc = nap_logout_start(n, mono_ms() + NAP_CLOSE_MS)) !=
		    0) {
			nap_abort(n);
			return rc;
		}
		/* FALLTHROUGH */
	case NAP_ST_CLOSING:
		(void)nap_loop(n, -1, is_closed);
		return 0;
	default:
		break;
	}
	nap_abort(n);
	return 0;
}
