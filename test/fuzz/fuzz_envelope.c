/*
 * fuzz_envelope.c - libFuzzer target for the envelope parser (DESIGN.md
 * §3): both paths must agree on the verdict and on the Header, a valid
 * envelope must survive serialize -> parse unchanged, and a rejection
 * must carry a §4 code; the Via stamp and the TTL rewrite a forwarding
 * server splices into a valid envelope must leave one that parses, with
 * the code appended and the TTL set.  The parameters of a valid
 * envelope are walked through the reader of proto.h, and every value
 * read must come back unchanged through a builder (the escaper) and
 * the parser.  Any disagreement aborts (a finding).
 */
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "proto.h"

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

/* v -> <domain address="v"/> -> the parser -> v again, or abort(). */
static void
value_roundtrip(const char *v)
{
	static const char head[] = "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1\" SessionId=\"\" Seq=\"1\" From=\"00010000\" "
	    "To=\"00000000\"/><parameters>";
	static const char tail[] = "</parameters></Message>";
	size_t cap = strlen(v) * 6 + 64, hl = strlen(head), n;
	char *doc = malloc(hl + cap + sizeof(tail));
	struct env_msg *m = NULL;
	struct env_error e;
	const char *back;
	int k;

	if (doc == NULL)
		abort();
	memcpy(doc, head, hl);
	if ((k = env_p_domain(doc + hl, cap, v)) < 0)
		abort();
	n = hl + (size_t)k;
	memcpy(doc + n, tail, sizeof(tail));
	n += sizeof(tail) - 1;
	if (env_parse(parser, (const uint8_t *)doc, n, &m, &e) == -1 ||
	    (back = env_param_get(m, "domain", "address")) == NULL ||
	    strcmp(back, v) != 0)
		abort();
	env_msg_free(m);
	free(doc);
}

/* Every element child of parameters, and the §4 attribute names. */
static void
walk_params(struct env_msg *m)
{
	static const char *names[] = { "code", "seq", "to", "from",
	    "session", "text", "status", "address", "domain", "region",
	    "state", "online", "interval", "timeout", "name", "version",
	    "node" };
	struct env_param *p;
	const char *v;
	uint32_t x;

	for (p = env_param_first(m, NULL); p != NULL;
	    p = env_param_next(p, NULL)) {
		if (env_param_first(m, env_param_name(p)) == NULL)
			abort();
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]);
		    i++) {
			if ((v = env_param_attr(p, names[i])) == NULL) {
				if (env_param_u32(p, names[i], &x) == 0)
					abort();
				continue;
			}
			value_roundtrip(v);
			if (env_param_u32(p, names[i], &x) == 0 &&
			    (strlen(v) > 10 || strtoul(v, NULL, 10) != x))
				abort();
			if (env_param_code(p, names[i], &x) == 0 &&
			    strlen(v) != 8)
				abort();
		}
	}
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

/* env_parse_children's callback: every byte it is given is read (ASan
 * sees a read past a value), and the Header is already whole. */
static void
child_cb(void *arg, const struct env_header *h, const char *name,
    const struct env_attr *a, int n)
{
	unsigned *sum = arg;

	if (name == NULL || n < 0 || n > ENV_ATTRS_MAX || h->from == 0xFFFFFFFFu)
		abort();
	for (int i = 0; i < n; i++) {
		if (a[i].name == NULL || a[i].value == NULL)
			abort();
		for (size_t j = 0; j < a[i].len; j++)
			*sum += (unsigned char)a[i].value[j];
	}
}

/* The streaming parse gives the fast path's verdict and Header. */
static void
children_agree(const uint8_t *data, size_t size, int r1,
    const struct env_header *h)
{
	struct env_header h3;
	struct env_error e3;
	unsigned sum = 0;
	int r3 = env_parse_children(parser, data, size, &h3, &e3, child_cb,
	    &sum);

	if (r3 != r1)
		abort();
	if (r3 == 0)
		same_header(h, &h3);
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
	children_agree(data, size, r1, &h);
	if (r1 == -1) {
		if ((e1.code != 400 && e1.code != 413) || e1.reason[0] == '\0')
			abort();
		return 0;
	}
	same_header(&h, env_msg_header(m));
	splices(data, size, &h);
	walk_params(m);
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
