/*
 * libnap_send.c - what an application sends (DESIGN.md §3): messages
 * with the next Seq of the session, replies (Re = the request's Seq) and,
 * for tests and demonstrations, raw frame bodies.  Everything goes to
 * the user queue, bounded in bytes, written once logged in.
 */
#include <stdlib.h>
#include <string.h>

#include "nap_internal.h"

static int	can_send(struct nap *);

/* A session exists (or is being re-established) to queue into. */
static int
can_send(struct nap *n)
{
	switch (n->state) {
	case NAP_ST_ONLINE:
		return 0;
	case NAP_ST_BACKOFF:
	case NAP_ST_CONNECTING:
	case NAP_ST_TLS:
	case NAP_ST_LOGIN:
		if (n->ever_online)
			return 0;
		break;
	default:
		break;
	}
	return nap_fail(n, NAP_E_STATE, "not logged in");
}

int
nap_send_ex(struct nap *n, const struct nap_out *o, uint32_t *seq_out)
{
	struct nap_frame *f;
	uint32_t seq;
	int rc;

	if (o == NULL || (o->params == NULL && o->len != 0))
		return nap_fail(n, NAP_E_INVAL, "bad arguments");
	/* Login, LoginReply, Check(Reply), Ack, Error, Logout are ours. */
	if (o->type >= ENV_T_LOGIN && o->type <= ENV_T_LOGOUT)
		return nap_fail(n, NAP_E_INVAL, "type %u is sent by the "
		    "library itself", o->type);
	if ((rc = can_send(n)) != 0)
		return rc;
	if (n->user.bytes >= n->queue_max)
		return nap_fail(n, NAP_E_AGAIN, "send queue full (%zu bytes)",
		    n->user.bytes);
	seq = n->next_seq;
	if ((rc = nap_build(n, o, seq, NAP_FR_USER, &f)) != 0)
		return rc;
	(void)nap_seq_next(n);
	nap_fq_push(&n->user, f);
	if (seq_out != NULL)
		*seq_out = seq;
	return 0;
}

int
nap_send(struct nap *n, uint32_t type, uint32_t to, const char *params,
    size_t len, int flags, uint32_t *seq_out)
{
	struct nap_out o = { .type = type, .to = to, .params = params,
	    .len = len, .flags = flags & NAP_ACK };

	return nap_send_ex(n, &o, seq_out);
}

/* §7: a reply has the request's type, To = its From, Re = its Seq. */
int
nap_reply(struct nap *n, const struct nap_msg *req, const char *params,
    size_t len, int flags, uint32_t *seq_out)
{
	struct nap_out o = { .params = params, .len = len };

	if (req == NULL)
		return nap_fail(n, NAP_E_INVAL, "no request");
	o.type = nap_msg_type(req);
	o.to = nap_msg_from(req);
	o.re = nap_msg_seq(req);
	o.flags = (flags & NAP_ACK) | NAP_RE;
	return nap_send_ex(n, &o, seq_out);
}

int
nap_send_raw(struct nap *n, const void *body, size_t len)
{
	struct nap_frame *f;

	if (n->state != NAP_ST_ONLINE)
		return nap_fail(n, NAP_E_STATE, "not logged in");
	if (len > ENV_MAX_FRAME_LIMIT || (body == NULL && len != 0))
		return nap_fail(n, NAP_E_INVAL, "a raw frame is 0..%u bytes",
		    ENV_MAX_FRAME_LIMIT);
	if (n->user.bytes >= n->queue_max)
		return nap_fail(n, NAP_E_AGAIN, "send queue full");
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->data = malloc(len + 4)) == NULL) {
		free(f);
		return nap_fail(n, NAP_E_NOMEM, "out of memory");
	}
	env_frame_put_len(f->data, (uint32_t)len);
	if (len != 0)
		memcpy(f->data + 4, body, len);
	f->len = len + 4;
	/* Not NAP_FR_USER: never re-stamped nor resent. */
	nap_fq_push(&n->user, f);
	return 0;
}
