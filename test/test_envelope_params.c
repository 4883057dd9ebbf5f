/*
 * test_envelope_params.c - the §3 parameters element: the node tree
 * sees the namespaces of Message, env_msg_parameters gives the exact
 * received bytes, and env_msg_set_parameters refuses content that would
 * not make a well-formed envelope (one table), or that is too deep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "envelope_internal.h"
#include "test_envelope.h"

static void	test_params_node(void);
static void	test_params_exact(void);
static void	check_set_depth(struct env_msg *, size_t, int);
static void	test_set_parameters_refuses(void);

/* ---- the node tree ------------------------------------------------------ */

/* The parameters subtree sees namespaces declared on Message. */
static void
test_params_node(void)
{
	static const char doc[] = "<Message version=\"1.0\" xmlns:q=\"urn:q\">"
	    HDR "<parameters xmlns:p=\"urn:p\"><q:z a=\"1\"/><p:a>t</p:a>"
	    "<plain>x &amp; y</plain></parameters>" MSG_CLOSE;
	struct env_parser *p;
	struct env_error e;
	struct env_msg *m;
	char out[256];

	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(te_verdict_full(p, doc, sizeof(doc) - 1, &m,
	    &e), 0);
	CU_ASSERT_PTR_NOT_NULL(env_msg_parameters_node(m));
	CU_ASSERT_EQUAL(env_params_outline(m, out, sizeof(out)),
	    strlen("parameters {urn:q}z {urn:p}a=t plain=x & y"));
	/* Its name and none of its namespace; each element child with the
	 * namespace declared on Message or parameters, and its text. */
	CU_ASSERT_STRING_EQUAL(out, "parameters {urn:q}z {urn:p}a=t "
	    "plain=x & y");
	/* A buffer too small: cut, NUL-terminated, the length told. */
	CU_ASSERT_EQUAL(env_params_outline(m, out, 11), strlen(
	    "parameters {urn:q}z {urn:p}a=t plain=x & y"));
	CU_ASSERT_STRING_EQUAL(out, "parameters");
	env_msg_free(m);

	/* No parameters: no node. */
	CU_ASSERT_EQUAL_FATAL(te_verdict_full(p, WITH_BODY(""),
	    strlen(WITH_BODY("")), &m, &e), 0);
	CU_ASSERT_PTR_NULL(env_msg_parameters_node(m));
	CU_ASSERT_EQUAL(env_params_outline(m, out, sizeof(out)), 0);
	env_msg_free(m);
	env_parser_free(p);
}

static void
test_params_exact(void)
{
	static const char doc[] = "<?xml version=\"1.0\"?>\n"
	    "<Message version=\"1.0\" xmlns:q=\"urn:q\">\n  " HDR "\n  "
	    "<parameters\n   a=\"&#65;\"\t>\r\n\t<q:x  y = '2'/><z></z >"
	    "&#x263A;&lt;\xE2\x98\xBA<![CDATA[ & ]]><!--c-->"
	    "</parameters\n>\n" MSG_CLOSE "\n";
	struct env_parser *p;
	struct env_error e;
	struct env_msg *m;
	const char *pb, *s, *t;
	size_t pl;

	s = strstr(doc, "<parameters");
	t = strstr(doc, "</parameters\n>") + strlen("</parameters\n>");
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(te_verdict_full(p, doc, sizeof(doc) - 1, &m,
	    &e), 0);
	pb = env_msg_parameters(m, &pl);
	CU_ASSERT_PTR_NOT_NULL(pb);
	CU_ASSERT_EQUAL(pl, (size_t)(t - s));
	CU_ASSERT(pb != NULL && pl == (size_t)(t - s) &&
	    memcmp(pb, s, pl) == 0);
	env_msg_free(m);
	env_parser_free(p);
}

/* ---- env_msg_set_parameters ------------------------------------------- */

/*
 * Depth: parameters is 2, so k nested elements give 2 + k; rc is what
 * setting them must return (64 is the most, §3 and HARDENING.md).
 */
static void
check_set_depth(struct env_msg *m, size_t k, int rc)
{
	struct env_error e;
	char *deep;
	const char *s, *t;

	deep = te_nested_doc(k, NULL);
	s = strstr(deep, "<parameters>") + 12;
	t = strstr(deep, "</parameters>");
	memset(&e, 0, sizeof(e));
	CU_ASSERT_EQUAL(env_msg_set_parameters(m, s, (size_t)(t - s), &e),
	    rc);
	if (rc != 0)
		CU_ASSERT_EQUAL(e.code, 400);
	free(deep);
}

#define B(lit)	{ lit, sizeof(lit) - 1 }

static void
test_set_parameters_refuses(void)
{
	static const struct {
		const char	*s;
		size_t		 n;
	} bad[] = {
		B("<a>"),
		B("<a></b>"),
		B("<!DOCTYPE x>"),
		B("</a>"),
		B("<?pi x?>"),
		B("&undefined;"),
		B("\xFF"),
		B("\xC0\xAF"),
		B("<a/>\0"),
		B("<x:a/>"),
		B("</parameters><Header/><parameters>"),
		B("</parameters></Message><Message version=\"1.0\">"),
		B("<![CDATA[x"),
		B("<!-- x"),
		B("a ]]> b"),
		B("<!ENTITY e \"x\">"),
		B("<?xml version=\"1.0\"?><a/>"),
		B("&#0;"),
	};
	struct env_msg *m;
	struct env_error e;
	size_t i, pl;
	const char *pb;

	m = env_msg_new(1000, NULL, 1, 0x00010002, 0x00020003);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(env_msg_set_parameters(m, "<ok/>", 5, &e), 0);
	for (i = 0; i < NELEM(bad); i++) {
		memset(&e, 0, sizeof(e));
		if (env_msg_set_parameters(m, bad[i].s, bad[i].n, &e) != -1 ||
		    e.code != 400 || !te_reason_ok(&e)) {
			fprintf(stderr, "\nenv_msg_set_parameters: bad case %zu"
			    " gave code %d, reason \"%s\"\n", i, e.code,
			    e.reason);
			CU_FAIL("env_msg_set_parameters took bad content");
		} else
			CU_PASS("refused");
	}
	/* Only len bytes are read: a well-formed prefix is fine. */
	CU_ASSERT_EQUAL(env_msg_set_parameters(m, "<a/><b>", 4, &e), 0);
	pb = env_msg_parameters(m, &pl);
	CU_ASSERT(pb != NULL && pl == 4 + 25 &&
	    memcmp(pb, "<parameters><a/></parameters>", pl) == 0);
	check_set_depth(m, 62, 0);
	check_set_depth(m, 63, -1);
	env_msg_free(m);
}

void
init_envelope_params_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("envelope parameters", NULL, NULL)) == NULL)
		return;
	CU_add_test(s, "parameters node", test_params_node);
	CU_add_test(s, "parameters exact bytes", test_params_exact);
	CU_add_test(s, "set_parameters refuses bad content",
	    test_set_parameters_refuses);
}
