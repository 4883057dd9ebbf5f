/*
 * fuzz_envelope.c - libFuzzer target for the envelope parser (DESIGN.md
 * §3): both paths must agree on the verdict and on the Header, a valid
 * envelope must survive serialize -> parse unchanged, and a rejection
 * must carry a §4 code; the Via stamp and the TTL rewrite a forwarding
 * server splices into a valid envelope must leave one that parses, with
 * the code appended and the TTL set.  Any disagreement aborts (a
 * finding).
 */
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct env_parser *parser;

static void
same_header(const struct env_header *a, const struct env_header *b)
{
	if (a->type != b->type || a->seq != b->seq || a->from != b->from ||
	    a->to != b->to || strcmp(a->session, b->session) != 0 ||
	    a->ack != b->ack || a->has_ttl != b->has_ttl || a->ttl != b->ttl ||
	    a->nvia != b->nvia || a->tag_start != b->tag_start ||
	    a->tag_end != b->tag_end)
		abort();
}

/* §3/§6: what a server splices into bytes it forwards. */
static void
splices(const uint8_t *data, size_t size, const struct env_header *h)
{
	struct env_header h2;
	struct env_error e;
	size_t cap = size + 64, n;
	uint8_t *out = malloc(cap);

	if (out == NULL)
		abort();
	if (h->nvia < ENV_MAX_VIA && env_via_stamp(data, size, h, 0x00010000,
	    out, cap, &n) == 0) {
		if (env_parse_header(parser, out + 4, n - 4, &h2, &e) == -1 ||
		    h2.nvia != h->nvia + 1 ||
		    h2.via[h2.nvia - 1] != 0x00010000)
			abort();
	}
	if (env_ttl_set(data, size, h, 4242, out, cap, &n) == 0) {
		if (env_parse_header(parser, out + 4, n - 4, &h2, &e) == -1 ||
		    !h2.has_ttl || h2.ttl != 4242)
			abort();
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env_header h;
	struct env_error e1, e2;
	struct env_msg *m = NULL, *m2 = NULL;
	uint8_t *buf;
	size_t len;
	int r1, r2;

	if (parser == NULL && (parser = env_parser_new(0)) == NULL)
		abort();
	r1 = env_parse_header(parser, data, size, &h, &e1);
	r2 = env_parse(parser, data, size, &m, &e2);
	if (r1 != r2)
		abort();
	if (r1 == -1) {
		if ((e1.code != 400 && e1.code != 413) || e1.reason[0] == '\0')
			abort();
		return 0;
	}
	same_header(&h, env_msg_header(m));
	splices(data, size, &h);
	if (env_serialize(m, false, &buf, &len) == -1)
		abort();
	if (env_parse(parser, buf, len, &m2, &e1) == -1 ||
	    !env_msg_equal(m, m2))
		abort();
	free(buf);
	env_msg_free(m2);
	env_msg_free(m);
	return 0;
}
