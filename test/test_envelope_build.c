/*
 * test_envelope_build.c - envelopes built with the env_msg_* setters
 * rather than parsed: every field set survives serialize -> parse, the
 * setters refuse what §3 does not allow (sessions, attribute names and
 * values XML cannot carry), and env_msg_equal tells messages apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "envelope_internal.h"
#include "test_envelope.h"

static struct env_msg *build_full(void);
static void	check_full_parsed(struct env_parser *, const struct env_msg *,
		    const uint8_t *, size_t);
static void	check_cleared(struct env_parser *, struct env_msg *);
static void	check_zero_values(struct env_parser *, struct env_msg *);
static void	check_empty_params(struct env_parser *, struct env_msg *);
static void	test_build_roundtrip(void);
static void	check_null_session(void);
static void	test_build_sessions(void);
static void	test_build_attr_names(void);
static void	test_build_attr_values(void);
static void	check_equal_setters(struct env_parser *, struct env_msg *);
static void	test_equal_discriminates(void);

static const char build_inner[] =
    "<a x=\"1\" y='&lt;&amp;'><b>text &amp; \xE6\x97\xA5\xE6\x9C\xAC"
    "\xE8\xAA\x9E \xF0\x9F\x98\x80</b><c/><!-- note --><d><e><f>deep"
    "</f></e></d><![CDATA[<raw>]]></a>tail \xC3\xA9";

static const uint32_t build_via[8] = { 0x00010000, 0x00000000, 0x00020000,
    0xFFFE0000, 0x0003000A, 0x00040000, 0x00050000, 0x00060000 };

static const char *const build_attrs[] = {
	"note", "a<b&\"c'",
	"ws", "tab\there\nnewline\r.",
	"uni", "\xE6\x97\xA5\xE6\x9C\xAC\xF0\x9F\x98\x80",
	"gt", "]]>",
	"empty", "",
	"sp", "  two  spaces  ",
	NULL
};

/* ---- built message round trip ---------------------------------------- */

/* A message with every field set; the caller frees it. */
static struct env_msg *
build_full(void)
{
	const struct env_header *h;
	struct env_msg *m;
	struct env_error e;
	const char *pb;
	char want[512];
	size_t pl, i;

	m = env_msg_new(1234, "0123456789ABCDEF", 42, 0x00010002, 0x0003000A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	env_msg_set_ack(m, true);
	env_msg_set_ttl(m, true, 3600);
	env_msg_set_re(m, true, 41);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(env_msg_add_via(m, build_via[i]), 0);
	CU_ASSERT_EQUAL(env_msg_add_via(m, 0x00070000), -1);	/* 9th */
	CU_ASSERT_EQUAL(env_msg_header(m)->nvia, 8);
	CU_ASSERT_EQUAL(env_msg_header(m)->via[7], 0x00060000);
	for (i = 0; build_attrs[2 * i] != NULL; i++)
		CU_ASSERT_EQUAL(env_msg_add_attr(m, build_attrs[2 * i],
		    build_attrs[2 * i + 1]), 0);
	CU_ASSERT(te_attrs_match(m, build_attrs, "built"));
	memset(&e, 0, sizeof(e));
	CU_ASSERT_EQUAL(env_msg_set_parameters(m, build_inner,
	    strlen(build_inner), &e), 0);
	snprintf(want, sizeof(want), "<parameters>%s</parameters>",
	    build_inner);
	pb = env_msg_parameters(m, &pl);
	CU_ASSERT_PTR_NOT_NULL(pb);
	CU_ASSERT(pb != NULL && pl == strlen(want) &&
	    memcmp(pb, want, pl) == 0);

	h = env_msg_header(m);
	CU_ASSERT_EQUAL(h->type, 1234);
	CU_ASSERT_EQUAL(h->seq, 42);
	CU_ASSERT_EQUAL(h->from, 0x00010002);
	CU_ASSERT_EQUAL(h->to, 0x0003000A);
	CU_ASSERT_STRING_EQUAL(h->session, "0123456789ABCDEF");
	CU_ASSERT(h->ack && h->has_ttl && h->ttl == 3600 && h->has_re &&
	    h->re == 41);
	return m;
}

/* The serialization of build_full()'s message reads back whole. */
static void
check_full_parsed(struct env_parser *p, const struct env_msg *m,
    const uint8_t *ser, size_t slen)
{
	const struct env_header *h;
	struct env_msg *m2;
	struct env_error e;
	const char *pb;
	char want[512];
	size_t pl;
	int r;

	r = te_verdict_full(p, ser, slen, &m2, &e);
	if (r != 0)
		fprintf(stderr, "\nbuilt message: %d (%s)\n%s\n", r, e.reason,
		    (const char *)ser);
	CU_ASSERT_EQUAL(r, 0);
	if (m2 == NULL)
		return;
	snprintf(want, sizeof(want), "<parameters>%s</parameters>",
	    build_inner);
	CU_ASSERT(env_msg_equal(m, m2));
	CU_ASSERT(te_attrs_match(m2, build_attrs, "built, parsed"));
	h = env_msg_header(m2);
	CU_ASSERT_EQUAL(h->type, 1234);
	CU_ASSERT_EQUAL(h->seq, 42);
	CU_ASSERT_EQUAL(h->from, 0x00010002);
	CU_ASSERT_EQUAL(h->to, 0x0003000A);
	CU_ASSERT_STRING_EQUAL(h->session, "0123456789ABCDEF");
	CU_ASSERT(h->ack);
	CU_ASSERT(h->has_ttl && h->ttl == 3600);
	CU_ASSERT(h->has_re && h->re == 41);
	CU_ASSERT_EQUAL(h->nvia, 8);
	CU_ASSERT(memcmp(h->via, build_via, sizeof(build_via)) == 0);
	pb = env_msg_parameters(m2, &pl);
	CU_ASSERT(pb != NULL && pl == strlen(want) &&
	    memcmp(pb, want, pl) == 0);
	CU_ASSERT(h->tag_start + 7 <= slen &&
	    strncmp((const char *)ser + h->tag_start, "<Header", 7) == 0);
	env_msg_free(m2);
}

/* Clear the optional ones: they are gone after a round trip. */
static void
check_cleared(struct env_parser *p, struct env_msg *m)
{
	const struct env_header *h;
	struct env_msg *m2;
	struct env_error e;
	uint8_t *ser;
	size_t slen, pl;

	env_msg_set_ack(m, false);
	env_msg_set_ttl(m, false, 0);
	env_msg_set_re(m, false, 0);
	CU_ASSERT_EQUAL(env_msg_set_parameters(m, NULL, 0, &e), 0);
	pl = 99;
	CU_ASSERT_PTR_NULL(env_msg_parameters(m, &pl));
	CU_ASSERT_EQUAL(pl, 0);
	CU_ASSERT_PTR_NULL(env_msg_parameters_node(m));
	CU_ASSERT_EQUAL_FATAL(env_serialize(m, false, &ser, &slen), 0);
	CU_ASSERT_PTR_NULL(strstr((char *)ser, "Ack="));
	CU_ASSERT_PTR_NULL(strstr((char *)ser, "TTL="));
	CU_ASSERT_PTR_NULL(strstr((char *)ser, "Re="));
	CU_ASSERT_PTR_NULL(strstr((char *)ser, "<parameters"));
	CU_ASSERT_EQUAL(te_verdict_full(p, ser, slen, &m2, &e), 0);
	if (m2 != NULL) {
		h = env_msg_header(m2);
		CU_ASSERT(!h->ack && !h->has_ttl && !h->has_re);
		CU_ASSERT(env_msg_equal(m, m2));
		env_msg_free(m2);
	}
	free(ser);
}

/* TTL 0 and Re 0 are values, not absence. */
static void
check_zero_values(struct env_parser *p, struct env_msg *m)
{
	const struct env_header *h;
	struct env_msg *m2;
	struct env_error e;
	uint8_t *ser;
	size_t slen;

	env_msg_set_ttl(m, true, 0);
	env_msg_set_re(m, true, 0);
	CU_ASSERT_EQUAL_FATAL(env_serialize(m, false, &ser, &slen), 0);
	CU_ASSERT_EQUAL(te_verdict_full(p, ser, slen, &m2, &e), 0);
	if (m2 != NULL) {
		h = env_msg_header(m2);
		CU_ASSERT(h->has_ttl && h->ttl == 0 && h->has_re &&
		    h->re == 0);
		CU_ASSERT(env_msg_equal(m, m2));
		env_msg_free(m2);
	}
	free(ser);
}

/* An empty parameters element is kept. */
static void
check_empty_params(struct env_parser *p, struct env_msg *m)
{
	struct env_msg *m2;
	struct env_error e;
	const char *pb;
	uint8_t *ser;
	size_t slen, pl;

	CU_ASSERT_EQUAL(env_msg_set_parameters(m, "", 0, &e), 0);
	pb = env_msg_parameters(m, &pl);
	CU_ASSERT(pb != NULL && ((pl == 25 && memcmp(pb,
	    "<parameters></parameters>", 25) == 0) || (pl == 13 &&
	    memcmp(pb, "<parameters/>", 13) == 0)));
	CU_ASSERT_PTR_NOT_NULL(env_msg_parameters_node(m));
	CU_ASSERT_EQUAL_FATAL(env_serialize(m, true, &ser, &slen), 0);
	CU_ASSERT_EQUAL(te_be32(ser), slen - 4);
	CU_ASSERT_EQUAL(te_verdict_full(p, ser + 4, slen - 4, &m2, &e), 0);
	if (m2 != NULL) {
		CU_ASSERT(env_msg_equal(m, m2));
		CU_ASSERT_PTR_NOT_NULL(env_msg_parameters(m2, &pl));
		env_msg_free(m2);
	}
	free(ser);
}

static void
test_build_roundtrip(void)
{
	struct env_parser *p;
	struct env_msg *m;
	uint8_t *ser;
	size_t slen;

	m = build_full();
	CU_ASSERT_EQUAL_FATAL(env_serialize(m, false, &ser, &slen), 0);
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	check_full_parsed(p, m, ser, slen);
	/* Codes written by a node are upper case. */
	CU_ASSERT_PTR_NOT_NULL(strstr((char *)ser, "0003000A"));
	CU_ASSERT_PTR_NULL(strstr((char *)ser, "0003000a"));
	free(ser);
	check_cleared(p, m);
	check_zero_values(p, m);
	check_empty_params(p, m);
	env_msg_free(m);
	env_parser_free(p);
}

/* ---- sessions ---------------------------------------------------------- */

/* A message made without a session has an empty one, which round trips. */
static void
check_null_session(void)
{
	struct env_msg *m, *m2;
	struct env_parser *p;
	struct env_error e;
	uint8_t *ser;
	size_t slen;

	m = env_msg_new(1, NULL, 0, 0x00010002, 0x00010000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(env_msg_header(m)->session, "");
	CU_ASSERT_EQUAL(env_msg_nattrs(m), 0);
	CU_ASSERT_EQUAL(env_serialize(m, false, &ser, &slen), 0);
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(te_verdict_full(p, ser, slen, &m2, &e), 0);
	if (m2 != NULL) {
		CU_ASSERT(env_msg_equal(m, m2));
		CU_ASSERT_STRING_EQUAL(env_msg_header(m2)->session, "");
		env_msg_free(m2);
	}
	free(ser);
	env_parser_free(p);
	env_msg_free(m);
}

static void
test_build_sessions(void)
{
	/* §3: 16 upper-case hex digits or empty; a refusal keeps the old. */
	static const struct {
		const char	*set;
		int		 rc;
		const char	*after;
	} sets[] = {
		{ "0123456789ABCDEF", 0, "0123456789ABCDEF" },
		{ "0123456789abcdef", -1, "0123456789ABCDEF" },
		{ "0123456789ABCDE", -1, "0123456789ABCDEF" },
		{ "0123456789ABCDEF0", -1, "0123456789ABCDEF" },
		{ "0123456789ABCDEG", -1, "0123456789ABCDEF" },
		{ " 123456789ABCDEF", -1, "0123456789ABCDEF" },
		{ "", 0, "" },
	};
	static const struct {
		const char	*session;
		bool		 ok;
	} news[] = {
		{ "", true },
		{ "abc", false },
		{ "0123456789abcdef", false },
		{ "0123456789ABCDEF0", false },
		{ "0123456789ABCDE", false },
		{ "0123456789ABCDEX", false },
	};
	struct env_msg *m;
	size_t i;

	check_null_session();
	m = env_msg_new(1, NULL, 0, 0x00010002, 0x00010000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (i = 0; i < NELEM(sets); i++) {
		CU_ASSERT_EQUAL(env_msg_set_session(m, sets[i].set),
		    sets[i].rc);
		CU_ASSERT_STRING_EQUAL(env_msg_header(m)->session,
		    sets[i].after);
	}
	env_msg_free(m);
	for (i = 0; i < NELEM(news); i++) {
		m = env_msg_new(1, news[i].session, 0, 1, 2);
		CU_ASSERT_EQUAL(m != NULL, news[i].ok);
		env_msg_free(m);
	}
}

/* ---- unknown attributes ------------------------------------------------ */

static void
test_build_attr_names(void)
{
	static const char *const bad[] = { "Message_Type", "SessionId", "Seq",
	    "From", "To", "Ack", "TTL", "Via", "Re", "", "1abc", "a b",
	    "a\"b", "a=b", "a>b", "-x", ".x", "a\tb" };
	struct env_msg *m;
	size_t i;

	m = env_msg_new(1000, NULL, 1, 0x00010002, 0x00020003);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (env_msg_add_attr(m, bad[i], "v") != -1) {
			fprintf(stderr, "\nenv_msg_add_attr took \"%s\"\n",
			    bad[i]);
			CU_FAIL("env_msg_add_attr took a bad name");
		}
	CU_ASSERT_EQUAL(env_msg_nattrs(m), 0);
	CU_ASSERT_EQUAL(env_msg_add_attr(m, "good-name_1.x", "v"), 0);
	CU_ASSERT_EQUAL(env_msg_add_attr(m, "_u", "w"), 0);
	CU_ASSERT_EQUAL(env_msg_add_attr(m, "caf\xC3\xA9", "w"), 0);
	CU_ASSERT_EQUAL(env_msg_nattrs(m), 3);
	env_msg_free(m);
}

/*
 * Whatever env_msg_add_attr accepts must survive serialize -> parse:
 * a name or value XML cannot carry has to be refused up front, or
 * env_serialize writes a document that the parser itself refuses.
 */
static void
test_build_attr_values(void)
{
	static const char *const pairs[] = {
		"a", "\x01",			/* C0 control: not XML 1.0 */
		"a", "x\x1F" "y",
		"a", "\xFF",			/* not UTF-8 */
		"a", "\xC0\xAF",		/* overlong */
		"a", "\xED\xA0\x80",		/* surrogate */
		"a", "\xEF\xBF\xBE",		/* U+FFFE: not an XML char */
		"a", "\xE6\x97",		/* truncated */
		"xmlns", "urn:x",		/* a namespace declaration */
		"xmlns", "",
		"xml:lang", "en",
		"xmlns:x", "urn:x",
		"b", "]]>",
		"c", "\"'<>&",
		"d", "\x7F",			/* DEL is fine in XML 1.0 */
		"e", "&#38;",
		NULL
	};
	struct env_parser *p;
	struct env_msg *m, *m2;
	struct env_error e;
	uint8_t *ser;
	size_t slen, i, broken = 0;
	int v;

	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; pairs[2 * i] != NULL; i++) {
		m = env_msg_new(1000, NULL, 1, 0x00010002, 0x00020003);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		if (env_msg_add_attr(m, pairs[2 * i], pairs[2 * i + 1]) != 0) {
			env_msg_free(m);
			continue;
		}
		if (env_serialize(m, false, &ser, &slen) != 0) {
			CU_FAIL("env_serialize failed");
			env_msg_free(m);
			continue;
		}
		v = te_verdict_full(p, ser, slen, &m2, &e);
		if (v != 0 || !env_msg_equal(m, m2)) {
			fprintf(stderr, "\nattribute %zu (%s) accepted but "
			    "does not round trip: %d %s\n", i, pairs[2 * i], v,
			    v ? e.reason : "(not equal)");
			broken++;
		}
		env_msg_free(m2);
		free(ser);
		env_msg_free(m);
	}
	CU_ASSERT_EQUAL(broken, 0);
	env_parser_free(p);
}

/* ---- env_msg_equal ----------------------------------------------------- */

/* Equal after a parse of the same bytes; not after a setter. */
static void
check_equal_setters(struct env_parser *p, struct env_msg *a)
{
	struct env_error e;
	struct env_msg *b;

	CU_ASSERT_EQUAL_FATAL(te_verdict_full(p, BASE, strlen(BASE), &b, &e),
	    0);
	CU_ASSERT(env_msg_equal(a, b));
	env_msg_set_seq(b, 8);
	CU_ASSERT_FALSE(env_msg_equal(a, b));
	CU_ASSERT_EQUAL(env_msg_header(b)->seq, 8);
	env_msg_set_seq(b, 7);
	CU_ASSERT(env_msg_equal(a, b));
	env_msg_set_ack(b, true);
	CU_ASSERT_FALSE(env_msg_equal(a, b));
	env_msg_set_ack(b, false);
	CU_ASSERT(env_msg_equal(a, b));
	CU_ASSERT_EQUAL(env_msg_add_attr(b, "k", "v"), 0);
	CU_ASSERT_FALSE(env_msg_equal(a, b));
	env_msg_free(b);

	/* Offsets are ignored: the same message with another layout. */
	CU_ASSERT_EQUAL_FATAL(te_verdict_full(p, XDECL "<!-- c -->\n" BASE,
	    strlen(XDECL "<!-- c -->\n" BASE), &b, &e), 0);
	CU_ASSERT(env_msg_header(b)->tag_start != env_msg_header(a)->tag_start);
	CU_ASSERT(env_msg_equal(a, b));
	env_msg_free(b);
}

/* Distinct valid inputs are not equal messages; a setter breaks equality. */
static void
test_equal_discriminates(void)
{
	static const char *const others[] = {
		HDR_PLUS("Ack=\"1\""),
		HDR_PLUS("TTL=\"5\""),
		HDR_PLUS("Re=\"5\""),
		HDR_PLUS("Via=\"00010000\""),
		HDR_PLUS("z=\"1\""),
		WITH_HDR(A_T " " A_S " Seq=\"8\" " A_F " " A_O),
		WITH_HDR(A_T " SessionId=\"\" " A_Q " " A_F " " A_O),
		WITH_HDR(A_T " " A_S " " A_Q " " A_F " To=\"00020004\""),
		WITH_HDR(A_T " " A_S " " A_Q " From=\"00010003\" " A_O),
		WITH_HDR("Message_Type=\"1001\" " A_S " " A_Q " " A_F " " A_O),
		WITH_PARAMS("<y/>"),
		WITH_PARAMS("<x />"),
		WITH_BODY(""),
		"<Message version=\"1.0\" xmlns:q=\"urn:q\">" HDR P_X MSG_CLOSE,
	};
	struct env_parser *p;
	struct env_error e;
	struct env_msg *a, *b;
	size_t i, same = 0;

	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(te_verdict_full(p, BASE, strlen(BASE), &a, &e),
	    0);
	for (i = 0; i < NELEM(others); i++) {
		if (te_verdict_full(p, others[i], strlen(others[i]), &b,
		    &e) != 0) {
			CU_FAIL("a variant of the base envelope failed");
			continue;
		}
		if (env_msg_equal(a, b) || env_msg_equal(b, a)) {
			fprintf(stderr, "\nenv_msg_equal: variant %zu equals "
			    "the base\n", i);
			same++;
		}
		env_msg_free(b);
	}
	CU_ASSERT_EQUAL(same, 0);
	check_equal_setters(p, a);
	env_msg_free(a);
	env_parser_free(p);
}

void
init_envelope_build_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("envelope built", NULL, NULL)) == NULL)
		return;
	CU_add_test(s, "built message round trip", test_build_roundtrip);
	CU_add_test(s, "built message sessions", test_build_sessions);
	CU_add_test(s, "unknown attribute names", test_build_attr_names);
	CU_add_test(s, "unknown attribute values round trip",
	    test_build_attr_values);
	CU_add_test(s, "env_msg_equal tells messages apart",
	    test_equal_discriminates);
}
