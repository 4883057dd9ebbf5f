/*
 * libnap_msg.c - received messages: the accessors of struct nap_msg,
 * copies that outlive a callback, and reading parameters attributes.
 */
#include <stdlib.h>
#include <string.h>

#include "nap_internal.h"

uint32_t
nap_msg_type(const struct nap_msg *m)
{
	return env_msg_header(m->env)->type;
}

uint32_t
nap_msg_from(const struct nap_msg *m)
{
	return env_msg_header(m->env)->from;
}

uint32_t
nap_msg_to(const struct nap_msg *m)
{
	return env_msg_header(m->env)->to;
}

uint32_t
nap_msg_seq(const struct nap_msg *m)
{
	return env_msg_header(m->env)->seq;
}

const char *
nap_msg_session(const struct nap_msg *m)
{
	return env_msg_header(m->env)->session;
}

bool
nap_msg_ack(const struct nap_msg *m)
{
	return env_msg_header(m->env)->ack;
}

bool
nap_msg_re(const struct nap_msg *m, uint32_t *re)
{
	const struct env_header *h = env_msg_header(m->env);

	if (h->has_re && re != NULL)
		*re = h->re;
	return h->has_re;
}

bool
nap_msg_ttl(const struct nap_msg *m, uint32_t *ttl)
{
	const struct env_header *h = env_msg_header(m->env);

	if (h->has_ttl && ttl != NULL)
		*ttl = h->ttl;
	return h->has_ttl;
}

const char *
nap_msg_parameters(const struct nap_msg *m, size_t *len)
{
	return env_msg_parameters(m->env, len);
}

/*
 * The parser kept the element's exact bytes: "<parameters/>", or a start
 * tag (maybe with namespace declarations), the content and the end tag.
 */
const char *
nap_msg_content(const struct nap_msg *m, size_t *len)
{
	const char *p, *gt;
	size_t plen;
	char q;

	*len = 0;
	if ((p = env_msg_parameters(m->env, &plen)) == NULL)
		return NULL;
	/* The end of the start tag: a '>' outside attribute values. */
	for (gt = p, q = 0; gt < p + plen; gt++) {
		if (q != 0 && *gt == q)
			q = 0;
		else if (q == 0 && (*gt == '"' || *gt == '\''))
			q = *gt;
		else if (q == 0 && *gt == '>')
			break;
	}
	if (gt == p + plen)
		return NULL;
	if (gt > p && gt[-1] == '/')
		return p + plen;	/* empty element, *len = 0 */
	gt++;
	if ((size_t)(gt - p) + 13 > plen)
		return NULL;
	*len = plen - (size_t)(gt - p) - 13;	/* "</parameters>" */
	return gt;
}

const uint8_t *
nap_msg_raw(const struct nap_msg *m, size_t *len)
{
	*len = m->rawlen;
	return m->raw;
}

char *
nap_msg_param_attr(const struct nap_msg *m, const char *elem,
    const char *attr)
{
	const char *v = env_param_get(m->env, elem, attr);

	return v != NULL ? strdup(v) : NULL;
}

/* A copy owning its bytes, parsed again with p. */
struct nap_msg *
nap_msg_copy(const struct nap_msg *m, struct env_parser *p)
{
	struct nap_msg *c;
	struct env_error err;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->own = malloc(m->rawlen ? m->rawlen : 1)) == NULL)
		goto err;
	memcpy(c->own, m->raw, m->rawlen);
	c->raw = c->own;
	c->rawlen = m->rawlen;
	if (env_parse(p, c->raw, c->rawlen, &c->env, &err) == -1)
		goto err;
	return c;
err:
	free(c->own);
	free(c);
	return NULL;
}

struct nap_msg *
nap_msg_dup(const struct nap_msg *m)
{
	struct env_parser *p;
	struct nap_msg *c;

	if ((p = env_parser_new(ENV_MAX_FRAME_LIMIT)) == NULL)
		return NULL;
	c = nap_msg_copy(m, p);
	env_parser_free(p);
	return c;
}

void
nap_msg_free(struct nap_msg *m)
{
	if (m == NULL)
		return;
	env_msg_free(m->env);
	free(m->own);
	free(m);
}
