/*
 * test_envelope_valid.c - §3 envelopes the parser must accept: one table
 * of valid documents, each read the same way by both parse paths (header,
 * offsets, unknown attributes, parameters byte for byte) and each
 * surviving serialize -> parse -> serialize unchanged, framed or not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "envelope_internal.h"
#include "test_envelope.h"

#define NOTTL	-1
#define NORE	-1
/* The header of BASE, expected of most cases. */
#define WANT_BASE	.type = 1000, .seq = 7, .from = 0x00010002, \
	.to = 0x00020003, .session = SESS, .ttl = NOTTL, .re = NORE

struct vcase {
	const char	*name;
	const char	*doc;
	uint32_t	 type, seq, from, to;
	const char	*session;
	bool		 ack;
	int64_t		 ttl;		/* -1: none */
	int64_t		 re;		/* -1: none */
	uint8_t		 nvia;
	uint32_t	 via[ENV_MAX_VIA];
	const char	*attrs[21];	/* name, value pairs; NULL ends */
	int		 hskip;		/* "<Header" strings before the real */
	int		 gen;		/* built at set-up: GEN_* */
};

/* Valid documents built at suite set-up. */
enum { GEN_NONE, GEN_DEPTH64, GEN_BIG_COMMENTS, GEN_BIG_ATTR, GEN_BIG_SPACE,
	GEN_MAX };
static char	*gen_docs[GEN_MAX];
static char	*big_value;

/* 10, 100 and 300 name characters. */
#define N10	"abcdefghij"
#define N100	N10 N10 N10 N10 N10 N10 N10 N10 N10 N10
#define N300	N100 N100 N100

static struct vcase valid_cases[] = {
	{ .name = "with an XML declaration", .doc = XDECL BASE,
	  WANT_BASE },
	{ .name = "declaration with encoding UTF-8",
	  .doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" BASE,
	  WANT_BASE },
	{ .name = "declaration, single quotes, utf-8, standalone",
	  .doc = "<?xml version='1.0' encoding='utf-8' standalone='yes'?>"
	  BASE,
	  WANT_BASE },
	{ .name = "without declaration", .doc = BASE,
	  WANT_BASE },
	{ .name = "single-quoted attributes, no parameters",
	  .doc = "<Message version='1.0'><Header Message_Type='1000' "
	  "SessionId='" SESS "' Seq='7' From='00010002' To='00020003'/>"
	  "</Message>",
	  WANT_BASE },
	{ .name = "character references",
	  .doc = MSG_OPEN "<Header Message_Type=\"1&#48;00\" SessionId=\""
	  "&#x35;F1C9A0E33B2D871\" Seq=\"&#55;\" From=\"&#48;0010002\" "
	  "To=\"&#x30;0020003\"/>" P_X MSG_CLOSE,
	  WANT_BASE },
	{ .name = "attributes in another order",
	  .doc = MSG_OPEN "<Header To=\"00020003\" Seq=\"9\" From=\"00010002\""
	  " SessionId=\"" SESS "\" Message_Type=\"1001\"/>" P_X MSG_CLOSE,
	  .type = 1001, .seq = 9, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "lower-case codes",
	  .doc = WITH_HDR(A_T " " A_S " " A_Q " From=\"0001abcd\" "
	  "To=\"00ffee01\" Via=\"0001000a 00000000 fffe0000\""),
	  .type = 1000, .seq = 7, .from = 0x0001ABCD, .to = 0x00FFEE01,
	  .session = SESS, .ttl = NOTTL, .re = NORE,
	  .nvia = 3, .via = { 0x0001000A, 0x00000000, 0xFFFE0000 } },
	{ .name = "maximum values, reserved codes",
	  .doc = WITH_HDR("Message_Type=\"4294967295\" " A_S
	  " Seq=\"4294967295\" From=\"FFFFFFFF\" To=\"FFFF0001\" "
	  "TTL=\"4294967295\" Re=\"4294967295\""),
	  .type = 4294967295u, .seq = 4294967295u, .from = 0xFFFFFFFF,
	  .to = 0xFFFF0001, .session = SESS, .ttl = 4294967295ll,
	  .re = 4294967295ll },
	{ .name = "leading zeros",
	  .doc = WITH_HDR("Message_Type=\"0000001000\" " A_S
	  " Seq=\"0000000007\" " A_F " " A_O " TTL=\"00\" Re=\"0000000000\""),
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = 0, .re = 0 },
	{ .name = "zero values, platform codes",
	  .doc = WITH_HDR("Message_Type=\"0\" " A_S " Seq=\"0\" "
	  "From=\"00000000\" To=\"00000000\""),
	  .type = 0, .seq = 0, .from = 0, .to = 0,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "empty SessionId",
	  .doc = WITH_HDR("Message_Type=\"1\" SessionId=\"\" Seq=\"1\" "
	  A_F " To=\"00010000\""),
	  .type = 1, .seq = 1, .from = 0x00010002, .to = 0x00010000,
	  .session = "", .ttl = NOTTL, .re = NORE },
	{ .name = "Ack, TTL, Via, Re",
	  .doc = HDR_PLUS("Ack=\"1\" TTL=\"60\" "
	  "Via=\"00010000 00000000 00020000\" Re=\"5\""),
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ack = true, .ttl = 60, .re = 5,
	  .nvia = 3, .via = { 0x00010000, 0x00000000, 0x00020000 } },
	{ .name = "Ack=\"0\"", .doc = HDR_PLUS("Ack=\"0\""),
	  WANT_BASE },
	{ .name = "Via with 8 codes",
	  .doc = HDR_PLUS("Via=\"00010000 00020000 00030000 00040000 "
	  "00000000 00060000 00070000 FFFE0000\""),
	  WANT_BASE, .nvia = 8,
	  .via = { 0x00010000, 0x00020000, 0x00030000, 0x00040000,
	  0x00000000, 0x00060000, 0x00070000, 0xFFFE0000 } },
	{ .name = "unknown attributes",
	  .doc = MSG_OPEN "<Header x-a=\"1\" " A_T " b=\"x&amp;y&lt;z\" " A_S
	  " " A_Q " c=\"1&#10;2&#9;3&#13;\" " A_F " d=\"p\tq\nr\" " A_O
	  " e=\"a>b\" f='say \"hi\"' g=\"\xC3\xBF\xE2\x82\xAC\xF0\x9F\x98\x80\""
	  " h=\"\" i=\"&amp;#38;|&#38;amp;|&amp;amp;\"/>" P_X MSG_CLOSE,
	  WANT_BASE,
	  .attrs = { "x-a", "1", "b", "x&y<z", "c", "1\n2\t3\r",
	  "d", "p q r", "e", "a>b", "f", "say \"hi\"",
	  "g", "\xC3\xBF\xE2\x82\xAC\xF0\x9F\x98\x80", "h", "",
	  "i", "&#38;|&amp;|&amp;", NULL } },
	{ .name = "namespaced unknown attributes",
	  .doc = MSG_OPEN "<Header xmlns:n=\"urn:n\" n:k=\"v\" " HDR_ALL
	  " n:Seq=\"junk\"/>" P_X MSG_CLOSE,
	  WANT_BASE,
	  .attrs = { "n:k", "v", "n:Seq", "junk", NULL } },
	{ .name = "comments everywhere",
	  .doc = "<!-- c0 -->" MSG_OPEN "<!-- c1 -->" HDR "<!-- c2 -->"
	  "<parameters><!-- c3 --><x/></parameters><!-- c4 -->" MSG_CLOSE
	  "<!-- c5 -->",
	  WANT_BASE },
	{ .name = "white space between and around elements",
	  .doc = "\n  <Message\n version = \"1.0\" >\n\t<Header\n  "
	  A_T "\t" A_S "\n " A_Q " " A_F "  " A_O "\n />\n  <parameters>\n"
	  "  <x/>\n</parameters>\n</Message>\n\n",
	  WANT_BASE },
	{ .name = "CRLF line ends",
	  .doc = XDECL "\r\n" MSG_OPEN "\r\n<Header " HDR_ALL "\r\n/>\r\n"
	  "<parameters>\r\n<x a=\"1\r\n2\"/>\r\n</parameters>\r\n" MSG_CLOSE
	  "\r\n",
	  WANT_BASE },
	{ .name = "Header with an end tag and a comment",
	  .doc = MSG_OPEN "<Header " HDR_ALL "><!-- note --></Header>" P_X
	  MSG_CLOSE,
	  WANT_BASE },
	{ .name = "Header with an empty end tag",
	  .doc = MSG_OPEN "<Header " HDR_ALL "></Header >" MSG_CLOSE,
	  WANT_BASE },
	{ .name = "CDATA and entities in parameters",
	  .doc = WITH_PARAMS("<![CDATA[<not> &xml; ]]>&lt;&amp;&gt;&quot;"
	  "&apos;&#x263A;&#9731;<a b=\"&amp;&#x41;\"/>]]&gt;"),
	  WANT_BASE },
	{ .name = "namespaced content in parameters",
	  .doc = "<Message version=\"1.0\" xmlns:q=\"urn:q\">" HDR
	  "<parameters xmlns:p=\"urn:p\"><p:a p:b=\"1\"><c xmlns=\"urn:d\">"
	  "<d/></c></p:a><q:z/></parameters>" MSG_CLOSE,
	  WANT_BASE },
	{ .name = "multi-byte UTF-8",
	  .doc = MSG_OPEN "<Header " HDR_ALL " nom=\"Gr\xC3\xBC\xC3\x9F" "e\"/>"
	  "<parameters><donn\xC3\xA9" "es v=\"\xE6\x97\xA5\xE6\x9C\xAC\">"
	  "Gr\xC3\xBC\xC3\x9F" "e, \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E, "
	  "\xF0\x9F\x98\x80</donn\xC3\xA9" "es></parameters>" MSG_CLOSE,
	  WANT_BASE,
	  .attrs = { "nom", "Gr\xC3\xBC\xC3\x9F" "e", NULL } },
	{ .name = "empty parameters element", .doc = WITH_BODY("<parameters/>"),
	  WANT_BASE },
	{ .name = "parameters with attributes and odd spacing",
	  .doc = MSG_OPEN HDR "\n<parameters  a = '1' >\r\n <x  y='2' ></x>"
	  "&amp;&#65;<![CDATA[]]></parameters  >\n" MSG_CLOSE,
	  WANT_BASE },
	{ .name = "a comment holding '<Header' before the Header",
	  .doc = MSG_OPEN "<!-- <Header Seq=\"1\"/> -->" HDR P_X MSG_CLOSE,
	  WANT_BASE, .hskip = 1 },
	{ .name = "Message and Header inside parameters",
	  .doc = WITH_PARAMS("<Message version=\"9\"><Header Seq=\"x\"/>"
	  "</Message>"),
	  WANT_BASE },
	{ .name = "namespace declaration on Message and Header",
	  .doc = "<Message version=\"1.0\" xmlns:m=\"urn:m\">"
	  "<Header xmlns:h=\"urn:h\" " HDR_ALL " h:x=\"1\"/>"
	  "<parameters><m:a/></parameters>" MSG_CLOSE,
	  WANT_BASE,
	  .attrs = { "h:x", "1", NULL } },
	{ .name = "long unknown attribute names",
	  .doc = MSG_OPEN "<Header xmlns:" N100 "=\"urn:long\" " HDR_ALL " "
	  N100 ":" N300 "=\"1\" " N300 "=\"2\"/>" P_X MSG_CLOSE,
	  WANT_BASE,
	  .attrs = { N100 ":" N300, "1", N300, "2", NULL } },
	{ .name = "empty default namespace on Message",
	  .doc = "<Message xmlns=\"\" version=\"1.0\">" HDR P_X MSG_CLOSE,
	  WANT_BASE },
	{ .name = "depth exactly 64", .gen = GEN_DEPTH64,
	  WANT_BASE },
	{ .name = "300 KB of comments before the Header",
	  .gen = GEN_BIG_COMMENTS,
	  WANT_BASE },
	{ .name = "a 200 KB unknown attribute before the known ones",
	  .gen = GEN_BIG_ATTR,
	  WANT_BASE,
	  .attrs = { "big", NULL /* set up at run time */, NULL } },
	{ .name = "100 KB of white space around the Header",
	  .gen = GEN_BIG_SPACE,
	  WANT_BASE },
};

#define NVALID	NELEM(valid_cases)

static int	suite_init(void);
static int	suite_cleanup(void);
static char	*big_comments_doc(void);
static char	*big_attr_doc(void);
static char	*big_space_doc(void);
static void	vcase_header(const struct vcase *, struct env_header *);
static size_t	tag_end_at(const char *, size_t);
static size_t	header_at(const struct vcase *);
static const char *params_at(const char *, size_t, size_t *);
static struct env_msg *parse_both(struct env_parser *, const struct vcase *,
		    struct env_header *);
static void	check_offsets(const struct vcase *, const struct env_header *);
static void	check_params(const struct vcase *, struct env_msg *);
static void	check_valid(struct env_parser *, const struct vcase *);
static void	test_valid_table(void);

/* ---- documents built at set-up ------------------------------------ */

static char *
big_comments_doc(void)
{
	struct sbuf b = { NULL, 0, 0 };

	te_sb_str(&b, "<!--");
	te_sb_rep(&b, "c ", 100000);
	te_sb_str(&b, "-->\n" MSG_OPEN "<!--");
	te_sb_rep(&b, "d ", 50000);
	te_sb_str(&b, "-->" HDR "<!--");
	te_sb_rep(&b, "e ", 10000);
	te_sb_str(&b, "-->" P_X MSG_CLOSE);
	return b.p;
}

/* Sets big_value too: the attribute's expected value. */
static char *
big_attr_doc(void)
{
	struct sbuf b = { NULL, 0, 0 }, v = { NULL, 0, 0 };

	te_sb_rep(&v, "v>", 100000);
	big_value = v.p;
	te_sb_str(&b, MSG_OPEN "<Header big=\"");
	te_sb_str(&b, big_value);
	te_sb_str(&b, "\" " HDR_ALL "/>" P_X MSG_CLOSE);
	return b.p;
}

static char *
big_space_doc(void)
{
	struct sbuf b = { NULL, 0, 0 };

	te_sb_str(&b, MSG_OPEN);
	te_sb_rep(&b, " \n\t\r\n", 10000);
	te_sb_str(&b, "<Header ");
	te_sb_rep(&b, " \n", 10000);
	te_sb_str(&b, HDR_ALL);
	te_sb_rep(&b, " \n", 10000);
	te_sb_str(&b, "/>");
	te_sb_rep(&b, " \n\t\r\n", 10000);
	te_sb_str(&b, P_X MSG_CLOSE);
	return b.p;
}

static int
suite_init(void)
{
	size_t i;

	gen_docs[GEN_DEPTH64] = te_nested_doc(62, NULL);
	gen_docs[GEN_BIG_COMMENTS] = big_comments_doc();
	gen_docs[GEN_BIG_ATTR] = big_attr_doc();
	gen_docs[GEN_BIG_SPACE] = big_space_doc();
	for (i = 0; i < NVALID; i++) {
		if (valid_cases[i].gen != GEN_NONE)
			valid_cases[i].doc = gen_docs[valid_cases[i].gen];
		if (valid_cases[i].gen == GEN_BIG_ATTR)
			valid_cases[i].attrs[1] = big_value;
	}
	return 0;
}

static int
suite_cleanup(void)
{
	size_t i;

	for (i = 0; i < NVALID; i++) {
		if (valid_cases[i].gen != GEN_NONE)
			valid_cases[i].doc = NULL;
		if (valid_cases[i].gen == GEN_BIG_ATTR)
			valid_cases[i].attrs[1] = NULL;
	}
	for (i = 0; i < GEN_MAX; i++) {
		free(gen_docs[i]);
		gen_docs[i] = NULL;
	}
	free(big_value);
	big_value = NULL;
	return 0;
}

/* ---- where things are in a case's bytes ---------------------------- */

/* The expected header of a valid case, offsets aside. */
static void
vcase_header(const struct vcase *v, struct env_header *h)
{
	uint8_t i;

	memset(h, 0, sizeof(*h));
	h->type = v->type;
	h->seq = v->seq;
	h->from = v->from;
	h->to = v->to;
	snprintf(h->session, sizeof(h->session), "%s", v->session);
	h->ack = v->ack;
	h->has_ttl = v->ttl >= 0;
	h->ttl = v->ttl >= 0 ? (uint32_t)v->ttl : 0;
	h->has_re = v->re >= 0;
	h->re = v->re >= 0 ? (uint32_t)v->re : 0;
	h->nvia = v->nvia;
	for (i = 0; i < v->nvia; i++)
		h->via[i] = v->via[i];
}

/* Where the start tag at s ends: just past its '>' (quote-aware). */
static size_t
tag_end_at(const char *doc, size_t s)
{
	char q = 0;

	for (; doc[s] != '\0'; s++) {
		if (q != 0) {
			if (doc[s] == q)
				q = 0;
		} else if (doc[s] == '"' || doc[s] == '\'')
			q = doc[s];
		else if (doc[s] == '>')
			return s + 1;
	}
	return 0;
}

/* The offset of the real "<Header" of a valid case. */
static size_t
header_at(const struct vcase *v)
{
	const char *p = v->doc;
	int k;

	for (k = 0;; k++) {
		p = strstr(p, "<Header");
		if (p == NULL)
			return (size_t)-1;
		if (k == v->hskip)
			return (size_t)(p - v->doc);
		p++;
	}
}

/* The exact bytes of the parameters element of doc, or NULL. */
static const char *
params_at(const char *doc, size_t from, size_t *len)
{
	const char *s, *e, *last = NULL;
	size_t te;

	s = strstr(doc + from, "<parameters");
	if (s == NULL) {
		*len = 0;
		return NULL;
	}
	te = tag_end_at(doc, (size_t)(s - doc));
	if (te >= 2 && doc[te - 2] == '/') {
		*len = te - (size_t)(s - doc);
		return s;
	}
	for (e = s; (e = strstr(e, "</parameters")) != NULL; e++)
		last = e;
	if (last == NULL)
		return NULL;
	te = tag_end_at(doc, (size_t)(last - doc));
	*len = te - (size_t)(s - doc);
	return s;
}

/* Checks the unknown attributes of m against a NULL-ended pair list. */

/* ---- the checks ------------------------------------------------------ */

/*
 * Parses v on both paths; they must agree, with v's header in want.
 * Returns the full path's message (the caller frees it), or NULL.
 */
static struct env_msg *
parse_both(struct env_parser *p, const struct vcase *v,
    struct env_header *want)
{
	struct env_header h1;
	const struct env_header *h2;
	struct env_error e;
	struct env_msg *m = NULL;
	size_t len = strlen(v->doc);
	int r1, r2;

	r1 = te_verdict_header(p, v->doc, len, &h1, &e);
	if (r1 != 0)
		fprintf(stderr, "\nvalid \"%s\": header path says %d (%s)\n",
		    v->name, r1, e.reason);
	CU_ASSERT_EQUAL(r1, 0);
	r2 = te_verdict_full(p, v->doc, len, &m, &e);
	if (r2 != 0)
		fprintf(stderr, "\nvalid \"%s\": full path says %d (%s)\n",
		    v->name, r2, e.reason);
	CU_ASSERT_EQUAL(r2, 0);
	if (r2 != 0)
		return NULL;
	h2 = env_msg_header(m);
	CU_ASSERT_PTR_NOT_NULL(h2);
	if (h2 == NULL) {
		env_msg_free(m);
		return NULL;
	}
	/* Both paths, same header, offsets included. */
	if (r1 == 0)
		CU_ASSERT(te_hdr_same(&h1, h2, true, v->name));
	vcase_header(v, want);
	CU_ASSERT(te_hdr_same(h2, want, false, v->name));
	return m;
}

/* tag_start at the real "<Header", tag_end past its '>'. */
static void
check_offsets(const struct vcase *v, const struct env_header *h2)
{
	size_t at = header_at(v), len = strlen(v->doc);

	CU_ASSERT_EQUAL(h2->tag_start, at);
	CU_ASSERT_EQUAL(h2->tag_end, tag_end_at(v->doc, at));
	CU_ASSERT(h2->tag_end > h2->tag_start && h2->tag_end <= len);
	if (h2->tag_end > h2->tag_start && h2->tag_end <= len) {
		CU_ASSERT(strncmp(v->doc + h2->tag_start, "<Header", 7) == 0);
		CU_ASSERT_EQUAL(v->doc[h2->tag_end - 1], '>');
	}
}

/* The parameters element, byte for byte, and its cached node. */
static void
check_params(const struct vcase *v, struct env_msg *m)
{
	size_t pl, wl;
	const char *pb, *wb;
	void *node;

	wb = params_at(v->doc, header_at(v), &wl);
	pl = 12345;
	pb = env_msg_parameters(m, &pl);
	if (wb == NULL) {
		CU_ASSERT_PTR_NULL(pb);
		CU_ASSERT_EQUAL(pl, 0);
		CU_ASSERT_PTR_NULL(env_msg_parameters_node(m));
		return;
	}
	CU_ASSERT_PTR_NOT_NULL(pb);
	CU_ASSERT_EQUAL(pl, wl);
	if (pb != NULL && pl == wl) {
		CU_ASSERT(memcmp(pb, wb, wl) == 0);
	} else
		fprintf(stderr, "\nvalid \"%s\": parameters %zu bytes,"
		    " want %zu\n", v->name, pl, wl);
	node = env_msg_parameters_node(m);
	CU_ASSERT_PTR_NOT_NULL(node);
	if (node != NULL) {
		char out[16];

		/* An element named parameters, outside any namespace. */
		CU_ASSERT(env_params_outline(m, out, sizeof(out)) >= 10);
		CU_ASSERT(strncmp(out, "parameters", 10) == 0 &&
		    (out[10] == '\0' || out[10] == ' '));
		/* Cached: asked twice, the same node. */
		CU_ASSERT_PTR_EQUAL(env_msg_parameters_node(m), node);
	}
}

static void
check_valid(struct env_parser *p, const struct vcase *v)
{
	struct env_header want;
	struct env_msg *m;

	if ((m = parse_both(p, v, &want)) == NULL)
		return;
	check_offsets(v, env_msg_header(m));
	/* Unknown attributes, in order, decoded. */
	CU_ASSERT(te_attrs_match(m, v->attrs, v->name));
	check_params(v, m);
	CU_ASSERT(env_msg_equal(m, m));
	te_check_roundtrip(p, v->name, v->attrs, m, &want);
	env_msg_free(m);
}

static void
test_valid_table(void)
{
	struct env_parser *p;
	size_t i;

	CU_ASSERT(NVALID >= 20);
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < NVALID; i++)
		check_valid(p, &valid_cases[i]);
	env_parser_free(p);
}

void
init_envelope_valid_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("envelope valid", suite_init, suite_cleanup);
	if (s == NULL)
		return;
	CU_add_test(s, "valid inputs, both paths, round trip",
	    test_valid_table);
}
