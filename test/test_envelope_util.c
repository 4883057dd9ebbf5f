/*
 * test_envelope_util.c - the helpers the envelope test files share
 * (test_envelope.h): byte buffers, the verdict of each parse path, the
 * common checks, and the corpus of every invalid input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "test_envelope.h"

/* Every invalid input, generated ones included (te_corpus_init). */
static struct te_input	*corpus;
static size_t		 ncorpus;
static size_t		 ngenerated;	/* the last ngenerated are ours */

static const char *hdr_diff(const struct env_header *,
		    const struct env_header *, bool);
static void	check_reparse(struct env_parser *, const char *,
		    const char *const *, const struct env_msg *,
		    const struct env_header *, const uint8_t *, size_t);
static void	check_framed(const struct env_msg *, const uint8_t *, size_t);
static void	corpus_add(const struct te_input *, size_t);

uint64_t
te_splitmix(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Never NULL: a test out of memory aborts.  The caller frees. */
void *
te_xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

void
te_sb_add(struct sbuf *b, const void *s, size_t n)
{
	char *np;

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((np = realloc(b->p, b->cap)) == NULL)
			abort();
		b->p = np;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
te_sb_str(struct sbuf *b, const char *s)
{
	te_sb_add(b, s, strlen(s));
}

void
te_sb_rep(struct sbuf *b, const char *s, size_t n)
{
	while (n-- > 0)
		te_sb_str(b, s);
}

/*
 * An envelope whose parameters hold k nested elements: depth 2 + k.
 * The caller frees it.
 */
char *
te_nested_doc(size_t k, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };

	te_sb_str(&b, MSG_OPEN HDR "<parameters>");
	if (k > 0) {
		te_sb_rep(&b, "<a>", k - 1);
		te_sb_str(&b, "<e/>");
		te_sb_rep(&b, "</a>", k - 1);
	}
	te_sb_str(&b, "</parameters>" MSG_CLOSE);
	if (len != NULL)
		*len = b.len;
	return b.p;
}

/* Verdict of one path: 0 when accepted, else err->code (or -2 when -1
 * came back with code 0, which is never right for a parse). */
int
te_verdict_header(struct env_parser *p, const void *doc, size_t len,
    struct env_header *h, struct env_error *err)
{
	memset(err, 0, sizeof(*err));
	if (env_parse_header(p, doc, len, h, err) == 0)
		return 0;
	return err->code != 0 ? err->code : -2;
}

int
te_verdict_full(struct env_parser *p, const void *doc, size_t len,
    struct env_msg **m, struct env_error *err)
{
	memset(err, 0, sizeof(*err));
	*m = NULL;
	if (env_parse(p, doc, len, m, err) == 0)
		return *m != NULL ? 0 : -3;
	if (*m != NULL)
		return -4;		/* failed but handed out a message */
	return err->code != 0 ? err->code : -2;
}

/* A reason is one short line: non-empty, NUL-terminated, no line break. */
bool
te_reason_ok(const struct env_error *e)
{
	return e->reason[0] != '\0' &&
	    memchr(e->reason, '\0', sizeof(e->reason)) != NULL &&
	    strchr(e->reason, '\n') == NULL && strchr(e->reason, '\r') == NULL;
}

/* The name of the first field two headers differ in, or NULL. */
static const char *
hdr_diff(const struct env_header *a, const struct env_header *b,
    bool with_off)
{
	uint8_t i;

	if (a->type != b->type)
		return "type";
	if (a->seq != b->seq)
		return "seq";
	if (a->from != b->from)
		return "from";
	if (a->to != b->to)
		return "to";
	if (strncmp(a->session, b->session, sizeof(a->session)) != 0)
		return "session";
	if (a->ack != b->ack)
		return "ack";
	if (a->has_ttl != b->has_ttl || (a->has_ttl && a->ttl != b->ttl))
		return "ttl";
	if (a->has_re != b->has_re || (a->has_re && a->re != b->re))
		return "re";
	if (a->nvia != b->nvia)
		return "nvia";
	if (with_off && a->tag_start != b->tag_start)
		return "tag_start";
	if (with_off && a->tag_end != b->tag_end)
		return "tag_end";
	for (i = 0; i < a->nvia && i < ENV_MAX_VIA; i++)
		if (a->via[i] != b->via[i])
			return "via";
	return NULL;
}

/* Compares two headers; offsets too when with_off.  Says what differs. */
bool
te_hdr_same(const struct env_header *a, const struct env_header *b,
    bool with_off, const char *what)
{
	const char *f = hdr_diff(a, b, with_off);

	if (f != NULL)
		fprintf(stderr, "\n%s: headers differ in %s\n", what, f);
	return f == NULL;
}

/* Checks the unknown attributes of m against a NULL-ended pair list. */
bool
te_attrs_match(const struct env_msg *m, const char *const *want,
    const char *what)
{
	size_t n = 0, i;
	const char *name, *value;

	while (want[2 * n] != NULL)
		n++;
	if (env_msg_nattrs(m) != n) {
		fprintf(stderr, "\n%s: %zu unknown attributes, want %zu\n",
		    what, env_msg_nattrs(m), n);
		return false;
	}
	for (i = 0; i < n; i++) {
		name = value = NULL;
		if (env_msg_attr(m, i, &name, &value) != 0 || name == NULL ||
		    value == NULL || strcmp(name, want[2 * i]) != 0 ||
		    strcmp(value, want[2 * i + 1]) != 0) {
			fprintf(stderr, "\n%s: attribute %zu is %s=\"%s\", "
			    "want %s=\"%s\"\n", what, i,
			    name ? name : "(null)", value ? value : "(null)",
			    want[2 * i], want[2 * i + 1]);
			return false;
		}
	}
	return true;
}

/* Both paths refuse c with its code and a one-line reason. */
void
te_check_invalid(const struct te_input *c, uint32_t max_size)
{
	struct env_parser *p;
	struct env_header h;
	struct env_error e1, e2;
	struct env_msg *m;
	int v1, v2;

	p = env_parser_new(max_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	v1 = te_verdict_header(p, c->doc, c->len, &h, &e1);
	v2 = te_verdict_full(p, c->doc, c->len, &m, &e2);
	CU_ASSERT_EQUAL(v1, c->code);
	CU_ASSERT_EQUAL(v2, c->code);
	CU_ASSERT_EQUAL(v1, v2);
	if (v1 != 0)
		CU_ASSERT(te_reason_ok(&e1));
	if (v2 != 0)
		CU_ASSERT(te_reason_ok(&e2));
	if (v1 != c->code || v2 != c->code)
		fprintf(stderr, "\ninvalid \"%s\": header path %d (%s), full "
		    "path %d (%s), want %d\n", c->name, v1, e1.reason, v2,
		    e2.reason, c->code);
	else if (!te_reason_ok(&e1) || !te_reason_ok(&e2))
		fprintf(stderr, "\ninvalid \"%s\": reason is not one line: "
		    "\"%s\"\n", c->name,
		    !te_reason_ok(&e1) ? e1.reason : e2.reason);
	if (v2 == 0)
		env_msg_free(m);
	env_parser_free(p);
}

/* §2: the big-endian length prefix of a frame. */
uint32_t
te_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

/* ---- round trips -------------------------------------------------- */

/* The serialization ser of m parses back to an equal message. */
static void
check_reparse(struct env_parser *p, const char *name,
    const char *const *attrs, const struct env_msg *m, const struct env_header *want,
    const uint8_t *ser, size_t slen)
{
	struct env_header h3;
	const struct env_header *h4;
	struct env_error e;
	struct env_msg *m2 = NULL;
	uint8_t *ser2 = NULL;
	size_t slen2;
	int r;

	r = te_verdict_full(p, ser, slen, &m2, &e);
	if (r != 0)
		fprintf(stderr, "\nvalid \"%s\": its serialization fails: %d "
		    "(%s)\n%s\n", name, r, e.reason, (const char *)ser);
	CU_ASSERT_EQUAL(r, 0);
	if (m2 == NULL)
		return;
	CU_ASSERT(env_msg_equal(m, m2));
	CU_ASSERT(env_msg_equal(m2, m));
	h4 = env_msg_header(m2);
	CU_ASSERT(te_hdr_same(h4, want, false, name));
	CU_ASSERT(te_attrs_match(m2, attrs, name));
	/* The fast path agrees on the serialized bytes. */
	CU_ASSERT_EQUAL(te_verdict_header(p, ser, slen, &h3, &e), 0);
	CU_ASSERT(te_hdr_same(&h3, h4, true, name));
	CU_ASSERT(h4->tag_end <= slen && h4->tag_start < h4->tag_end &&
	    memcmp(ser + h4->tag_start, "<Header", 7) == 0 &&
	    ser[h4->tag_end - 1] == '>');
	/* Serializing again gives the same bytes. */
	if (env_serialize(m2, false, &ser2, &slen2) == 0) {
		CU_ASSERT_EQUAL(slen2, slen);
		CU_ASSERT(slen2 == slen && memcmp(ser, ser2, slen) == 0);
		free(ser2);
	} else {
		CU_FAIL("second serialization failed");
	}
	env_msg_free(m2);
}

/* Framed: the big-endian length (§2), then the same bytes as ser. */
static void
check_framed(const struct env_msg *m, const uint8_t *ser, size_t slen)
{
	uint8_t *fr = NULL;
	size_t flen;

	if (env_serialize(m, true, &fr, &flen) != 0 || fr == NULL) {
		CU_FAIL("framed env_serialize failed");
		fr = NULL;
		flen = 0;
	}
	CU_ASSERT_EQUAL(flen, slen + 4);
	if (fr != NULL && flen == slen + 4) {
		CU_ASSERT_EQUAL(te_be32(fr), slen);
		CU_ASSERT(memcmp(fr + 4, ser, slen) == 0);
		CU_ASSERT_EQUAL(fr[flen], '\0');
	}
	free(fr);
}

/*
 * Round trip: m serializes, parses back equal to m (header want, unknown
 * attributes attrs), serializes again to the same bytes; framed the same.
 */
void
te_check_roundtrip(struct env_parser *p, const char *name,
    const char *const *attrs, const struct env_msg *m,
    const struct env_header *want)
{
	uint8_t *ser = NULL;
	size_t slen;

	if (env_serialize(m, false, &ser, &slen) != 0 || ser == NULL) {
		CU_FAIL("env_serialize failed");
		return;
	}
	CU_ASSERT_EQUAL(ser[slen], '\0');
	CU_ASSERT_EQUAL(strlen((char *)ser), slen);
	check_reparse(p, name, attrs, m, want, ser, slen);
	check_framed(m, ser, slen);
	free(ser);
}

/* ---- the corpus ------------------------------------------------------ */

static void
corpus_add(const struct te_input *t, size_t n)
{
	memcpy(corpus + ncorpus, t, n * sizeof(*t));
	ncorpus += n;
}

/* Builds the corpus: the static tables, then the generated inputs. */
int
te_corpus_init(void)
{
	struct te_input *g;
	size_t i;

	corpus = te_xmalloc((te_ninv_header + te_ninv_doc + te_ninv_gen) *
	    sizeof(*corpus));
	ncorpus = ngenerated = 0;
	corpus_add(te_inv_header, te_ninv_header);
	corpus_add(te_inv_doc, te_ninv_doc);
	for (i = 0; i < te_ninv_gen; i++) {
		g = &corpus[ncorpus++];
		g->name = te_inv_gen[i].name;
		g->doc = te_inv_gen[i].make(te_inv_gen[i].arg, &g->len);
		g->code = te_inv_gen[i].code;
		ngenerated++;
	}
	return 0;
}

int
te_corpus_free(void)
{
	size_t i;

	for (i = ncorpus - ngenerated; i < ncorpus; i++)
		free((void *)(uintptr_t)corpus[i].doc);
	free(corpus);
	corpus = NULL;
	ncorpus = ngenerated = 0;
	return 0;
}

/* The corpus, valid between te_corpus_init and te_corpus_free. */
const struct te_input *
te_corpus(size_t *n)
{
	*n = ncorpus;
	return corpus;
}
