/*
 * libnap_io.c - frames of a device link (DESIGN.md §2-§5): building and
 * queueing what we send, writing it through TLS in coalesced chunks,
 * reading and decoding what arrives, and dispatching it: Login answers,
 * Check answers, receipts, confirmations (Ack type 5), duplicates and the
 * server's Logout.
 *
 * Three queues: ctrl (frames of the protocol itself, written first and
 * dropped with the link), user (nap_send: written only while logged in,
 * kept across a reconnection) and unacked (written with NAP_ACK, waiting
 * for a receipt; resent when the session is resumed, §5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "nap_internal.h"

/* What one reserved type does when it arrives on a logged-in link. */
struct type_entry {
	uint32_t	 type;
	void		(*fn)(struct nap *, struct nap_msg *);
};

static void	frame_free(struct nap_frame *);
static struct nap_frame *fq_pop(struct nap_fq *);
static void	frame_written(struct nap *, struct nap_frame *);
static bool	pack(struct nap *);
static bool	user_ready(const struct nap *);
static int	on_frame(void *, const uint8_t *, size_t, bool, uint32_t);
static void	dispatch(struct nap *, struct nap_msg *);
static void	login_frame(struct nap *, struct nap_msg *);
static void	closing_frame(struct nap *, struct nap_msg *);
static void	on_login_reply(struct nap *, struct nap_msg *);
static void	on_check(struct nap *, struct nap_msg *);
static void	on_check_reply(struct nap *, struct nap_msg *);
static void	on_ack(struct nap *, struct nap_msg *);
static void	on_error(struct nap *, struct nap_msg *);
static void	on_logout(struct nap *, struct nap_msg *);
static void	on_app(struct nap *, struct nap_msg *);
static void	deliver(struct nap *, struct nap_msg *);
static void	receipt(struct nap *, struct nap_receipt *);
static struct nap_frame *unacked_take(struct nap *, uint32_t, const char *);
static bool	confirmable(uint32_t);
static void	note_unconfirmed(struct nap *, uint32_t, uint32_t);
static uint32_t	attr_u32(struct env_param *, const char *, bool *);
static uint32_t	attr_code(struct env_param *, const char *);

static const struct type_entry types[] = {
	{ ENV_T_LOGIN_REPLY, on_login_reply },
	{ ENV_T_CHECK, on_check },
	{ ENV_T_CHECK_REPLY, on_check_reply },
	{ ENV_T_ACK, on_ack },
	{ ENV_T_ERROR, on_error },
	{ ENV_T_LOGOUT, on_logout },
};

/* ---- building ------------------------------------------------------ */

uint32_t
nap_seq_next(struct nap *n)
{
	return n->next_seq++;	/* §3: wraps 4294967295 -> 0 */
}

static void
frame_free(struct nap_frame *f)
{
	if (f == NULL)
		return;
	free(f->data);
	free(f);
}

/*
 * Serializes one message with Seq seq (From = own code, the current
 * SessionId) into a new frame.  Returns 0 and *out, NAP_E_MALFORMED
 * (parameters refused), NAP_E_TOO_LARGE or NAP_E_NOMEM.
 */
int
nap_build(struct nap *n, const struct nap_out *o, uint32_t seq, int fflags,
    struct nap_frame **out)
{
	struct env_msg *m;
	struct env_error err;
	struct nap_frame *f = NULL;
	uint8_t *buf = NULL;
	const uint8_t *s;
	size_t len;
	int rc = NAP_E_NOMEM;

	if ((m = env_msg_new(o->type, n->session, seq, n->code, o->to)) ==
	    NULL)
		return nap_fail(n, NAP_E_NOMEM, "out of memory");
	env_msg_set_ack(m, (o->flags & NAP_ACK) != 0);
	env_msg_set_ttl(m, (o->flags & NAP_TTL) != 0, o->ttl);
	env_msg_set_re(m, (o->flags & NAP_RE) != 0, o->re);
	if (o->params != NULL && env_msg_set_parameters(m, o->params, o->len,
	    &err) == -1) {
		rc = nap_fail(n, err.code == 413 ? NAP_E_TOO_LARGE :
		    NAP_E_MALFORMED, "parameters refused: %s", err.reason);
		goto out;
	}
	if (env_serialize(m, true, &buf, &len) == -1) {
		rc = nap_fail(n, NAP_E_NOMEM, "out of memory");
		goto out;
	}
	if (len - 4 > n->max_frame - NAP_ENV_SLACK) {
		rc = nap_fail(n, NAP_E_TOO_LARGE, "message of %zu bytes is "
		    "above the limit of %u", len - 4,
		    n->max_frame - NAP_ENV_SLACK);
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		rc = nap_fail(n, NAP_E_NOMEM, "out of memory");
		goto out;
	}
	f->type = o->type;
	f->seq = seq;
	f->to = o->to;
	f->flags = (o->flags & NAP_ACK) | fflags;
	f->len = len;
	f->data = buf;
	/* Where the session digits are, to re-stamp it after a new login. */
	if (n->session[0] != '\0')
		for (s = buf; s + 11 + 16 <= buf + len && s < buf + 160; s++)
			if (memcmp(s, "SessionId=\"", 11) == 0) {
				f->sess_off = (size_t)(s - buf) + 11;
				break;
			}
	buf = NULL;
	*out = f;
	rc = 0;
out:
	free(buf);
	env_msg_free(m);
	return rc;
}

/*
 * Queues a protocol frame (Check, CheckReply, Ack, Logout...).  echo:
 * the Seq it echoes (reserved replies), or NULL for the next Seq.
 */
int
nap_queue_ctrl(struct nap *n, uint32_t type, uint32_t to,
    const uint32_t *echo, const char *params, uint32_t *seq_out)
{
	struct nap_out o = { .type = type, .to = to, .params = params,
	    .len = params ? strlen(params) : 0 };
	struct nap_frame *f;
	uint32_t seq = echo ? *echo : nap_seq_next(n);
	int rc;

	if ((rc = nap_build(n, &o, seq, 0, &f)) != 0)
		return rc;
	nap_fq_push(&n->ctrl, f);
	if (seq_out != NULL)
		*seq_out = seq;
	return 0;
}

/* §4: Login, From = own code, To = the server, SessionId empty. */
int
nap_queue_login(struct nap *n)
{
	char p[1024];	/* two 64-byte names, escaped, and a session */
	int len = 0;
	char save[17];
	int rc;

	p[0] = '\0';
	if (n->client_name != NULL && (len = env_p_client(p, sizeof(p),
	    n->client_name, n->client_version)) < 0)
		return nap_fail(n, NAP_E_INVAL, "client name too long");
	if (n->resume[0] != '\0')
		snprintf(p + len, sizeof(p) - (size_t)len,
		    "<resume session=\"%s\"/>", n->resume);
	/* The Login itself carries no session. */
	memcpy(save, n->session, sizeof(save));
	n->session[0] = '\0';
	rc = nap_queue_ctrl(n, ENV_T_LOGIN, n->expect, NULL, p, &n->login_seq);
	memcpy(n->session, save, sizeof(save));
	return rc;
}

/* §5: one Ack naming the last message received confirms it and all
 * before it. */
int
nap_queue_confirm(struct nap *n)
{
	char p[64];
	int rc;

	if (n->unconf == 0)
		return 0;
	(void)env_p_confirm(p, sizeof(p), n->unconf_from, n->unconf_seq, NULL);
	if ((rc = nap_queue_ctrl(n, ENV_T_ACK, n->expect, NULL, p, NULL)) != 0)
		return rc;
	n->unconf = 0;
	n->stats.acks_sent++;
	return 0;
}

/* ---- queues ---------------------------------------------------------- */

void
nap_fq_push(struct nap_fq *q, struct nap_frame *f)
{
	f->next = NULL;
	if (q->tail != NULL)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->n++;
	q->bytes += f->len;
}

static struct nap_frame *
fq_pop(struct nap_fq *q)
{
	struct nap_frame *f = q->head;

	if (f == NULL)
		return NULL;
	if ((q->head = f->next) == NULL)
		q->tail = NULL;
	f->next = NULL;
	q->n--;
	q->bytes -= f->len;
	return f;
}

void
nap_fq_clear(struct nap_fq *q)
{
	struct nap_frame *f;

	while ((f = fq_pop(q)) != NULL)
		frame_free(f);
}

/* A frame has gone to the wire: keep it while it waits for a receipt. */
static void
frame_written(struct nap *n, struct nap_frame *f)
{
	n->stats.msgs_out++;
	n->stats.bytes_out += f->len;
	if ((f->flags & (NAP_ACK | NAP_FR_USER)) == (NAP_ACK | NAP_FR_USER))
		nap_fq_push(&n->unacked, f);
	else
		frame_free(f);
}

/* The link is gone: drop what belonged to it. */
void
nap_io_reset(struct nap *n)
{
	nap_fq_clear(&n->ctrl);
	if (n->wbig != NULL) {
		frame_written(n, n->wbig);
		n->wbig = NULL;
	}
	n->wptr = NULL;
	n->wlen = n->woff = 0;
	n->unconf = 0;
}

/*
 * After a new Login: on a resumed session, what had no receipt is sent
 * again first (same Seq, same bytes: the receivers drop duplicates);
 * otherwise its outcome is unknown, and what waits in the user queue is
 * re-stamped with the new SessionId.
 */
void
nap_io_restamp(struct nap *n, bool resumed)
{
	struct nap_frame *f;

	if (resumed) {
		if (n->unacked.head != NULL) {
			n->unacked.tail->next = n->user.head;
			if (n->user.tail == NULL)
				n->user.tail = n->unacked.tail;
			n->user.head = n->unacked.head;
			n->user.n += n->unacked.n;
			n->user.bytes += n->unacked.bytes;
			memset(&n->unacked, 0, sizeof(n->unacked));
		}
		return;
	}
	nap_report_unknown(n);
	for (f = n->user.head; f != NULL; f = f->next)
		if (f->sess_off != 0 && f->sess_off + 16 <= f->len)
			memcpy(f->data + f->sess_off, n->session, 16);
}

/* Every message that waited for a receipt: NAP_RCPT_UNKNOWN. */
void
nap_report_unknown(struct nap *n)
{
	struct nap_frame *f;
	struct nap_receipt r;
	char sess[17];

	while ((f = fq_pop(&n->unacked)) != NULL) {
		memset(&r, 0, sizeof(r));
		sess[0] = '\0';
		if (f->sess_off != 0 && f->sess_off + 16 <= f->len) {
			memcpy(sess, f->data + f->sess_off, 16);
			sess[16] = '\0';
		}
		r.status = NAP_RCPT_UNKNOWN;
		r.seq = f->seq;
		r.to = f->to;
		r.from = n->expect;
		r.session = sess;
		r.text = "";
		frame_free(f);
		receipt(n, &r);
	}
}

/* ---- writing -------------------------------------------------------- */

/*
 * Fills the write buffer with whole frames, protocol frames first, user
 * frames only once logged in.  A frame larger than the buffer is written
 * from where it lies.  Returns false when there is nothing to write.
 */
static bool
pack(struct nap *n)
{
	struct nap_fq *q;
	struct nap_frame *f;

	n->wlen = n->woff = 0;
	n->wptr = n->wbuf;
	for (;;) {
		q = n->ctrl.head != NULL ? &n->ctrl : user_ready(n) ?
		    &n->user : NULL;
		if (q == NULL)
			break;
		f = q->head;
		if (n->wlen == 0 && f->len > NAP_WBUF) {
			n->wbig = fq_pop(q);
			n->wptr = f->data;
			n->wlen = f->len;
			return true;
		}
		if (n->wlen + f->len > NAP_WBUF)
			break;
		f = fq_pop(q);
		memcpy(n->wbuf + n->wlen, f->data, f->len);
		n->wlen += f->len;
		frame_written(n, f);
	}
	return n->wlen > 0;
}

/*
 * User frames go out once logged in; one asking for a receipt waits while
 * unacked_max messages already wait for theirs (flow control).
 */
static bool
user_ready(const struct nap *n)
{
	const struct nap_frame *f = n->user.head;

	return n->state == NAP_ST_ONLINE && f != NULL &&
	    (!(f->flags & NAP_ACK) || n->unacked.n < n->unacked_max);
}

bool
nap_io_pending_write(const struct nap *n)
{
	return n->woff < n->wlen || n->ctrl.head != NULL || user_ready(n);
}

/* Writes until the queues are empty or the socket is full.  Returns 0 or
 * the error that broke the link. */
int
nap_io_write(struct nap *n)
{
	size_t put;
	int rc;

	for (;;) {
		if (n->woff == n->wlen) {
			if (n->wbig != NULL) {
				frame_written(n, n->wbig);
				n->wbig = NULL;
			}
			if (!pack(n))
				return 0;
		}
		rc = nap_tls_write(n, n->wptr + n->woff, n->wlen - n->woff,
		    &put);
		if (rc == 1)
			return 0;
		if (rc != 0)
			return rc;
		n->woff += put;
		n->last_tx = mono_ms();
	}
}

/* ---- reading ---------------------------------------------------------- */

/*
 * Reads what the socket has (up to a budget, so that one busy link does
 * not starve the caller) and dispatches each frame.  Returns 0, or the
 * error that takes the link down (its message set).
 */
int
nap_io_read(struct nap *n)
{
	uint8_t buf[16384];
	size_t got, total = 0;
	int rc;

	while (total < NAP_READ_BUDGET && n->ctrl.bytes < NAP_CTRL_MAX) {
		if ((rc = nap_tls_read(n, buf, sizeof(buf), &got)) == 1)
			return 0;
		if (rc != 0)
			return rc;
		total += got;
		n->last_rx = mono_ms();
		if ((rc = nap_io_feed(n, buf, got)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Decodes received bytes and dispatches each whole frame (the seam the
 * unit tests feed).  Returns 0, or the error that takes the link down.
 */
int
nap_io_feed(struct nap *n, const uint8_t *buf, size_t len)
{
	struct env_error err;

	if (env_frame_dec_feed(n->dec, buf, len, on_frame, n, &err) == -1 &&
	    err.code != 0)
		return nap_fail(n, NAP_E_PROTOCOL, "the server sent a frame "
		    "of a bad length (%s)", err.reason);
	return n->down_err;
}

/* One whole frame: parse it and hand it on.  Non-zero stops the decoder
 * (the link is going down). */
static int
on_frame(void *arg, const uint8_t *body, size_t len, bool oversize,
    uint32_t declared)
{
	struct nap *n = arg;
	struct env_error err;
	struct nap_msg m = { .raw = body, .rawlen = len };

	(void)oversize;
	(void)declared;
	n->stats.bytes_in += len + 4;
	if (env_parse(n->parser, body, len, &m.env, &err) == -1) {
		/* §4: a device never answers with Error; drop it. */
		n->stats.malformed++;
		nap_log(n, NAP_LOG_WARN, "dropped a malformed frame from the "
		    "server: %d %s", err.code, err.reason);
		return 0;
	}
	n->stats.msgs_in++;
	dispatch(n, &m);
	env_msg_free(m.env);
	return n->down_err != 0;
}

static bool
confirmable(uint32_t type)
{
	/* §5: all frames written to a device except the replies. */
	return type != ENV_T_LOGIN_REPLY && type != ENV_T_CHECK &&
	    type != ENV_T_CHECK_REPLY && type != ENV_T_FS_REGISTER_REPLY &&
	    type != ENV_T_LOCATE_REPLY;
}

static void
note_unconfirmed(struct nap *n, uint32_t from, uint32_t seq)
{
	if (n->unconf++ == 0)
		n->unconf_since = mono_ms();
	n->unconf_from = from;
	n->unconf_seq = seq;
	if (n->unconf >= NAP_CONFIRM_COUNT)
		(void)nap_queue_confirm(n);
}

static void
dispatch(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);

	if (n->state == NAP_ST_LOGIN) {
		login_frame(n, m);
		return;
	}
	if (n->state == NAP_ST_CLOSING) {
		closing_frame(n, m);
		return;
	}
	if (confirmable(h->type)) {
		/* A duplicate is confirmed too, or it would come again. */
		note_unconfirmed(n, h->from, h->seq);
		if (h->type != ENV_T_LOGOUT && nap_dup_check(n->dup, h->from,
		    h->session, h->seq) == 1) {
			n->stats.duplicates++;
			nap_log(n, NAP_LOG_DEBUG, "dropped a duplicate: type %u "
			    "from %08X seq %u", h->type, h->from, h->seq);
			return;
		}
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == h->type) {
			types[i].fn(n, m);
			return;
		}
	on_app(n, m);
}

/* Waiting for LoginReply: it, or an Error refusing the Login. */
static void
login_frame(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);
	struct env_param *c;
	const char *text = NULL;
	int code = 0;
	bool ok;

	switch (h->type) {
	case ENV_T_LOGIN_REPLY:
		on_login_reply(n, m);
		return;
	case ENV_T_CHECK:
		on_check(n, m);
		return;
	case ENV_T_ERROR:
		if ((c = env_param_first(m->env, "error")) != NULL) {
			code = (int)attr_u32(c, "code", &ok);
			text = env_param_attr(c, "text");
		}
		if (code < 400 || code > 599)
			code = NAP_E_FORBIDDEN;
		n->down_err = nap_fail(n, code, "login refused: %d %s", code,
		    text && *text ? text : nap_code_name(code));
		return;
	default:
		nap_log(n, NAP_LOG_WARN, "ignored type %u before LoginReply",
		    h->type);
		return;
	}
}

/* After our Logout the server stops delivering; what still comes is
 * neither delivered nor confirmed, so it comes again at the next login. */
static void
closing_frame(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);

	if (h->type == ENV_T_LOGOUT)
		n->down_err = NAP_E_LOGOUT;
}

static void
on_login_reply(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);
	struct env_param *c;
	uint32_t code = 0, iv = 0, to = 0;
	const char *text = NULL;
	bool ok = true, have = false;

	if (n->state != NAP_ST_LOGIN) {
		nap_log(n, NAP_LOG_WARN, "ignored a LoginReply while logged in");
		return;
	}
	for (c = env_param_first(m->env, NULL); c != NULL;
	    c = env_param_next(c, NULL)) {
		if (strcmp(env_param_name(c), "result") == 0) {
			have = true;
			code = attr_u32(c, "code", &ok);
			text = env_param_attr(c, "text");
		} else if (strcmp(env_param_name(c), "heartbeat") == 0) {
			iv = attr_u32(c, "interval", &ok);
			to = attr_u32(c, "timeout", &ok);
		}
	}
	if (!have || !ok) {
		n->down_err = nap_fail(n, NAP_E_PROTOCOL, "LoginReply without "
		    "a readable <result/>");
	} else if (code != 0) {
		n->down_err = nap_fail(n, code >= 400 && code <= 599 ?
		    (int)code : NAP_E_FORBIDDEN, "login refused: %u %s", code,
		    text && *text ? text : nap_code_name((int)code));
	} else if (strlen(h->session) != 16) {
		n->down_err = nap_fail(n, NAP_E_PROTOCOL, "LoginReply without "
		    "a SessionId");
	} else
		nap_online(n, h->session, iv, to);
}

/* §4: Check is answered on the same link with the same Seq. */
static void
on_check(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);

	if (nap_queue_ctrl(n, ENV_T_CHECK_REPLY, h->from, &h->seq, NULL,
	    NULL) != 0)
		nap_log(n, NAP_LOG_WARN, "cannot answer a Check: %s",
		    n->errmsg);
}

static void
on_check_reply(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);

	if (n->wait.active && !n->wait.done &&
	    n->wait.echo_type == ENV_T_CHECK_REPLY && h->seq == n->wait.seq)
		n->wait.done = true;
}

/* Takes the unacked frame of this Seq (and session, when given). */
static struct nap_frame *
unacked_take(struct nap *n, uint32_t seq, const char *session)
{
	struct nap_frame *f, *prev = NULL;

	for (f = n->unacked.head; f != NULL; prev = f, f = f->next) {
		if (f->seq != seq)
			continue;
		if (session != NULL && *session != '\0' && f->sess_off != 0 &&
		    memcmp(f->data + f->sess_off, session, 16) != 0)
			continue;
		if (prev != NULL)
			prev->next = f->next;
		else
			n->unacked.head = f->next;
		if (n->unacked.tail == f)
			n->unacked.tail = prev;
		n->unacked.n--;
		n->unacked.bytes -= f->len;
		f->next = NULL;
		return f;
	}
	return NULL;
}

/* §4: receipts come from servers only; libnap ignores any other. */
static void
on_ack(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);
	struct nap_receipt r;
	struct env_param *c;
	const char *st, *sess;
	bool ok;

	if (!env_code_is_domain(h->from) && !env_code_is_platform(h->from)) {
		n->stats.ignored++;
		nap_log(n, NAP_LOG_WARN, "ignored an Ack from %08X", h->from);
		return;
	}
	for (c = env_param_first(m->env, "ack"); c != NULL;
	    c = env_param_next(c, "ack")) {
		memset(&r, 0, sizeof(r));
		ok = true;
		r.seq = attr_u32(c, "seq", &ok);
		r.to = attr_code(c, "to");
		r.from = h->from;
		st = env_param_attr(c, "status");
		sess = env_param_attr(c, "session");
		r.status = st && strcmp(st, "delivered") == 0 ?
		    NAP_RCPT_DELIVERED : NAP_RCPT_STORED;
		r.session = sess ? sess : "";
		r.text = "";
		if (ok) {
			frame_free(unacked_take(n, r.seq, sess));
			receipt(n, &r);
		}
	}
	if (n->rcpt_cb == NULL)
		deliver(n, m);
}

static void
on_error(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);
	struct nap_receipt r;
	struct env_param *c;
	const char *sess = NULL, *text = NULL;
	bool ok = true;

	if (!env_code_is_domain(h->from) && !env_code_is_platform(h->from)) {
		n->stats.ignored++;
		nap_log(n, NAP_LOG_WARN, "ignored an Error from %08X", h->from);
		return;
	}
	memset(&r, 0, sizeof(r));
	if ((c = env_param_first(m->env, "error")) != NULL) {
		r.code = (int)attr_u32(c, "code", &ok);
		r.seq = attr_u32(c, "seq", &ok);
		r.to = attr_code(c, "to");
		sess = env_param_attr(c, "session");
		text = env_param_attr(c, "text");
	}
	r.status = NAP_RCPT_ERROR;
	r.from = h->from;
	r.session = sess ? sess : "";
	r.text = text ? text : "";
	if (r.code == NAP_E_FORBIDDEN && r.seq == 0) {
		/* §4/§5: replaced by a newer link, or disabled: the server
		 * closes this link; never log in again by ourselves. */
		n->down_err = nap_fail(n, NAP_E_FORBIDDEN, "logged out by the "
		    "server: 403 %s", *r.text ? r.text : "forbidden");
		return;
	}
	frame_free(unacked_take(n, r.seq, sess));
	if (n->wait.active && !n->wait.done && r.seq == n->wait.seq &&
	    (sess == NULL || *sess == '\0' || strcmp(sess, n->session) == 0)) {
		n->wait.done = true;
		n->wait.err = r.code >= 400 && r.code <= 599 ? r.code :
		    NAP_E_PROTOCOL;
		nap_fail(n, n->wait.err, "%s %08X (%d)%s%s",
		    nap_code_name(r.code), r.to ? r.to : n->wait.to, r.code, *r.text &&
		    strcmp(r.text, nap_code_name(r.code)) != 0 ? ": " : "",
		    *r.text && strcmp(r.text, nap_code_name(r.code)) != 0 ?
		    r.text : "");
		return;
	}
	if (n->rcpt_cb != NULL)
		receipt(n, &r);
	else
		deliver(n, m);
}

/* §5: the server stops; confirm what came, then reconnect or close. */
static void
on_logout(struct nap *n, struct nap_msg *m)
{
	(void)m;
	(void)nap_queue_confirm(n);
	n->down_err = nap_fail(n, NAP_E_LOGOUT, "logged out by the server");
}

/* A reply a blocking request waits for, or a message for the callback. */
static void
on_app(struct nap *n, struct nap_msg *m)
{
	const struct env_header *h = env_msg_header(m->env);
	struct nap_wait *w = &n->wait;

	if (w->active && !w->done && (w->echo_type != 0 ?
	    h->type == w->echo_type && h->seq == w->seq :
	    h->has_re && h->re == w->seq)) {
		if ((w->reply = nap_msg_copy(m, n->parser)) == NULL)
			w->err = nap_fail(n, NAP_E_NOMEM, "out of memory");
		w->done = true;
		return;
	}
	deliver(n, m);
}

static void
deliver(struct nap *n, struct nap_msg *m)
{
	if (n->msg_cb == NULL)
		return;
	n->in_cb++;
	n->msg_cb(n, m, n->msg_arg);
	n->in_cb--;
}

static void
receipt(struct nap *n, struct nap_receipt *r)
{
	if (n->rcpt_cb == NULL)
		return;
	n->in_cb++;
	n->rcpt_cb(n, r, n->rcpt_arg);
	n->in_cb--;
}

/* ---- parameters ---------------------------------------------------- */

/* A §3 decimal (env_param_u32); clears *ok when absent or bad. */
static uint32_t
attr_u32(struct env_param *c, const char *name, bool *ok)
{
	uint32_t v;

	if (env_param_u32(c, name, &v) == 0)
		return v;
	*ok = false;
	return 0;
}

/* A code, or 0 when absent or bad. */
static uint32_t
attr_code(struct env_param *c, const char *name)
{
	uint32_t code;

	return env_param_code(c, name, &code) == 0 ? code : 0;
}
