/*
 * test_envelope_doc.c - whole documents the parser must refuse (§3 and
 * HARDENING.md): empty and truncated input, bytes that are not UTF-8,
 * DTDs, entities and processing instructions, a wrong structure, and the
 * hostile ones built at run time (billion laughs, deep nesting, UTF-16,
 * huge names); then the size limit, which gives 413.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "test_envelope.h"

/* What a te_gen arg asks of gen_utf16. */
#define U16_LE		1
#define U16_BOM		2
#define U16_DECL	4

static uint8_t	*gen_laughs(int, size_t *);
static uint8_t	*gen_laughs_attr(int, size_t *);
static uint8_t	*gen_nested(int, size_t *);
static uint8_t	*gen_nested_message(int, size_t *);
static uint8_t	*gen_utf16(int, size_t *);
static uint8_t	*gen_long_name(int, size_t *);
static char	*laughs_doc(size_t *);
static void	test_invalid_doc(void);
static void	test_invalid_generated(void);
static char	*sized_doc(size_t);
static void	check_sized(size_t, int, struct env_parser *);
static void	test_size_limit(void);

const struct te_input te_inv_doc[] = {
	/* Empty and truncated. */
	I("empty input", ""),
	I("only white space", "  \n\t "),
	I("only an XML declaration", XDECL),
	I("truncated: '<'", "<"),
	I("truncated: '<Mess'", "<Mess"),
	I("truncated in an attribute",
	    MSG_OPEN "<Header Message_Type=\"1000\" Sess"),
	I("truncated after Header", MSG_OPEN HDR),
	I("truncated in the end tag", MSG_OPEN HDR P_X "</Messa"),
	I("truncated in parameters", MSG_OPEN HDR "<parameters><x"),
	I("unclosed comment", MSG_OPEN HDR "<!-- x " MSG_CLOSE),

	/* Not UTF-8. */
	I("invalid UTF-8 byte in text", WITH_PARAMS("\xC3\x28")),
	I("0xFF in an attribute", HDR_PLUS("x=\"a\xFF" "b\"")),
	I("0xFE 0xFF bytes in text", WITH_PARAMS("\xFE\xFF")),
	I("overlong '/' (C0 AF)", WITH_PARAMS("\xC0\xAF")),
	I("overlong 3-byte (E0 80 AF)", WITH_PARAMS("\xE0\x80\xAF")),
	I("overlong NUL (C0 80)", WITH_PARAMS("a\xC0\x80" "b")),
	I("UTF-8 surrogate (ED A0 80)", WITH_PARAMS("\xED\xA0\x80")),
	I("code point above 10FFFF", WITH_PARAMS("\xF4\x90\x80\x80")),
	I("truncated multi-byte sequence", WITH_PARAMS("\xE6\x97")),
	I("lone continuation byte", WITH_PARAMS("a\x80" "b")),
	I("UTF-8 byte order mark", "\xEF\xBB\xBF" BASE),
	I("UTF-8 BOM before a declaration", "\xEF\xBB\xBF" XDECL BASE),
	I("encoding ISO-8859-1",
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" BASE),
	I("encoding ISO-8859-1 with Latin-1 byte",
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	    WITH_PARAMS("\xE9")),
	I("encoding UTF-16 on UTF-8 bytes",
	    "<?xml version=\"1.0\" encoding=\"UTF-16\"?>" BASE),
	I("encoding US-ASCII", "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>"
	    BASE),
	I("C0 control character in text", WITH_PARAMS("a\x01" "b")),
	I("control character as reference", WITH_PARAMS("&#1;")),
	I("NUL byte between elements", MSG_OPEN "\0" HDR P_X MSG_CLOSE),
	I("NUL byte in an attribute value", HDR_PLUS("x=\"a\0b\"")),
	I("NUL byte in text", WITH_PARAMS("a\0b")),
	I("NUL byte after the root", BASE "\0"),
	I("NUL as a reference", WITH_PARAMS("&#0;")),
	I("surrogate as a reference", WITH_PARAMS("&#xD800;")),
	I("reference above 10FFFF", WITH_PARAMS("&#x110000;")),

	/* DTDs, entities, processing instructions. */
	I("DOCTYPE", "<!DOCTYPE Message>" BASE),
	I("DOCTYPE after the declaration", XDECL "<!DOCTYPE Message>" BASE),
	I("DOCTYPE with an internal entity",
	    "<!DOCTYPE Message [<!ENTITY e \"boom\">]>"
	    WITH_PARAMS("&e;")),
	I("DOCTYPE with an unused entity",
	    "<!DOCTYPE Message [<!ENTITY e \"boom\">]>" BASE),
	I("entity defining an attribute",
	    "<!DOCTYPE Message [<!ATTLIST Header Ack CDATA \"1\">]>" BASE),
	I("external entity file:///etc/passwd",
	    "<!DOCTYPE Message [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    WITH_PARAMS("&x;")),
	I("external entity in an attribute",
	    "<!DOCTYPE Message [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    HDR_PLUS("y=\"&x;\"")),
	I("external DTD", "<!DOCTYPE Message SYSTEM \"message.dtd\">" BASE),
	I("external DTD with PUBLIC id",
	    "<!DOCTYPE Message PUBLIC \"-//NAP//x\" \"file:///etc/passwd\">"
	    BASE),
	I("parameter entity",
	    "<!DOCTYPE Message [<!ENTITY % p \"<!ENTITY e 'x'>\"> %p;]>"
	    WITH_PARAMS("&e;")),
	I("external parameter entity",
	    "<!DOCTYPE Message [<!ENTITY % p SYSTEM \"file:///etc/passwd\">"
	    " %p;]>" BASE),
	I("undefined entity", WITH_PARAMS("&foo;")),
	I("undefined entity in an attribute", HDR_PLUS("x=\"&foo;\"")),
	I("processing instruction before the root",
	    "<?xml-stylesheet href=\"a.xsl\"?>" BASE),
	I("processing instruction after a declaration",
	    XDECL "<?pi data?>" BASE),
	I("processing instruction in parameters",
	    WITH_PARAMS("<?pi data?>")),
	I("processing instruction in Message",
	    WITH_BODY("<?pi data?>" P_X)),
	I("processing instruction after the root", BASE "<?pi data?>"),
	I("declaration not at the start", " " XDECL BASE),
	I("declaration inside the document", MSG_OPEN XDECL HDR MSG_CLOSE),


	/* Structure. */
	I("wrong root", "<Msg version=\"1.0\">" HDR P_X "</Msg>"),
	I("lower-case root", "<message version=\"1.0\">" HDR P_X
	    "</message>"),
	I("root in a default namespace",
	    "<Message xmlns=\"urn:nap\" version=\"1.0\">" HDR P_X MSG_CLOSE),
	I("root with a namespace prefix",
	    "<n:Message xmlns:n=\"urn:nap\" version=\"1.0\">" HDR P_X
	    "</n:Message>"),
	I("Header in a default namespace",
	    MSG_OPEN "<Header xmlns=\"urn:nap\" " HDR_ALL "/>" P_X MSG_CLOSE),
	I("Header with a namespace prefix",
	    "<Message version=\"1.0\" xmlns:n=\"urn:nap\"><n:Header " HDR_ALL
	    "/>" P_X MSG_CLOSE),
	I("Header inherits a default namespace",
	    "<Message version=\"1.0\"><Header xmlns=\"urn:h\" " HDR_ALL
	    "></Header>" MSG_CLOSE),
	I("parameters with a namespace prefix",
	    WITH_BODY("<p:parameters xmlns:p=\"urn:p\"/>")),
	I("version=\"2.0\"",
	    "<Message version=\"2.0\">" HDR P_X MSG_CLOSE),
	I("version=\"1.0 \"",
	    "<Message version=\"1.0 \">" HDR P_X MSG_CLOSE),
	I("version=\"1\"", "<Message version=\"1\">" HDR P_X MSG_CLOSE),
	I("version missing", "<Message>" HDR P_X MSG_CLOSE),
	I("only a prefixed version on Message",
	    "<Message xmlns:x=\"urn:x\" x:version=\"1.0\">" HDR P_X MSG_CLOSE),
	I("a prefixed version beside version",
	    "<Message version=\"1.0\" xmlns:x=\"urn:x\" x:version=\"1.0\">"
	    HDR P_X MSG_CLOSE),
	I("extra attribute on Message",
	    "<Message version=\"1.0\" foo=\"bar\">" HDR P_X MSG_CLOSE),
	I("xsi attribute on Message",
	    "<Message version=\"1.0\" xmlns:xsi=\"http://www.w3.org/2001/"
	    "XMLSchema-instance\" xsi:nil=\"false\">" HDR P_X MSG_CLOSE),
	I("Header not first", MSG_OPEN P_X HDR MSG_CLOSE),
	I("no Header", MSG_OPEN P_X MSG_CLOSE),
	I("empty Message", "<Message version=\"1.0\"/>"),
	I("empty Message with end tag", MSG_OPEN MSG_CLOSE),
	I("two Headers", MSG_OPEN HDR HDR P_X MSG_CLOSE),
	I("two Headers, no parameters", MSG_OPEN HDR HDR MSG_CLOSE),
	I("two parameters", WITH_BODY(P_X P_X)),
	I("unknown element after parameters", WITH_BODY(P_X "<foo/>")),
	I("unknown element instead of parameters", WITH_BODY("<foo/>")),
	I("unknown element before Header", MSG_OPEN "<foo/>" HDR MSG_CLOSE),
	I("Header with a child",
	    MSG_OPEN "<Header " HDR_ALL "><x/></Header>" P_X MSG_CLOSE),
	I("Header with text",
	    MSG_OPEN "<Header " HDR_ALL ">x</Header>" P_X MSG_CLOSE),
	I("Header with white space",
	    MSG_OPEN "<Header " HDR_ALL "> </Header>" P_X MSG_CLOSE),
	I("Header with a CDATA section",
	    MSG_OPEN "<Header " HDR_ALL "><![CDATA[x]]></Header>" MSG_CLOSE),
	I("text directly inside Message", MSG_OPEN "x" HDR P_X MSG_CLOSE),
	I("text after parameters", WITH_BODY(P_X "junk")),
	I("text as a reference in Message", WITH_BODY("&#65;" P_X)),
	I("an entity reference in Message", WITH_BODY("&amp;" P_X)),
	I("CDATA directly in Message", WITH_BODY("<![CDATA[x]]>" P_X)),
	I("white-space CDATA directly in Message",
	    WITH_BODY("<![CDATA[ ]]>" P_X)),
	I("trailing garbage after the root", BASE "garbage"),
	I("trailing '<' after the root", BASE "<"),
	I("a second root element", BASE BASE),
	I("a second, different root", BASE "<x/>"),
	I("undeclared prefix in parameters", WITH_PARAMS("<x:a/>")),
	I("undeclared prefix on an attribute in parameters",
	    WITH_PARAMS("<a x:b=\"1\"/>")),
	I("undeclared prefix on a Header attribute", HDR_PLUS("x:foo=\"1\"")),
	I("mismatched tags in parameters", WITH_PARAMS("<a></b>")),
	I("unclosed element in parameters", WITH_PARAMS("<a>")),
	I("']]>' in text", WITH_PARAMS("a ]]> b")),
	I("'--' inside a comment", WITH_PARAMS("<!-- a -- b -->")),
	I("element name starting with a digit", WITH_PARAMS("<1a/>")),
	I("bare '&' in text", WITH_PARAMS("a & b")),
	I("bare '<' in text", WITH_PARAMS("a < b")),
	I("xmlns prefix rebound", WITH_PARAMS("<a xmlns:xmlns=\"urn:x\"/>")),
};

const size_t te_ninv_doc = NELEM(te_inv_doc);

/* Hostile documents too big or too odd to write out. */
const struct te_gen te_inv_gen[] = {
	{ "billion laughs (10 x 10)", gen_laughs, 0, 400 },
	{ "billion laughs in an attribute", gen_laughs_attr, 0, 400 },
	{ "10 000-deep nesting", gen_nested, 10000, 400 },
	{ "depth 65", gen_nested, 63, 400 },
	{ "depth 66", gen_nested, 64, 400 },
	/* Depth 65 made of Header-like names still counts. */
	{ "depth 65 of Message elements", gen_nested_message, 62, 400 },
	{ "UTF-16LE with BOM", gen_utf16, U16_LE | U16_BOM, 400 },
	{ "UTF-16BE with BOM", gen_utf16, U16_BOM, 400 },
	{ "UTF-16LE without BOM", gen_utf16, U16_LE, 400 },
	{ "UTF-16BE without BOM", gen_utf16, 0, 400 },
	{ "UTF-16LE declaration, no BOM", gen_utf16, U16_LE | U16_DECL, 400 },
	{ "UTF-16LE declaration and BOM", gen_utf16,
	    U16_LE | U16_BOM | U16_DECL, 400 },
	/* A name longer than libxml2's default limit of 50 000. */
	{ "60 000-char element name", gen_long_name, 60000, 400 },
};

const size_t te_ninv_gen = NELEM(te_inv_gen);

/* ---- generators: each returns a document the caller frees ----------- */

/* The billion laughs: 10 levels of 10 references. */
static char *
laughs_doc(size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	char ent[64];
	int i, j;

	te_sb_str(&b, "<!DOCTYPE Message [\n<!ENTITY l0 \"lol\">\n");
	for (i = 1; i < 10; i++) {
		snprintf(ent, sizeof(ent), "<!ENTITY l%d \"", i);
		te_sb_str(&b, ent);
		for (j = 0; j < 10; j++) {
			snprintf(ent, sizeof(ent), "&l%d;", i - 1);
			te_sb_str(&b, ent);
		}
		te_sb_str(&b, "\">\n");
	}
	te_sb_str(&b, "]>\n" WITH_PARAMS("&l9;"));
	*len = b.len;
	return b.p;
}

static uint8_t *
gen_laughs(int arg, size_t *len)
{
	(void)arg;
	return (uint8_t *)laughs_doc(len);
}

/* The same laughs used in an attribute. */
static uint8_t *
gen_laughs_attr(int arg, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	char *s, *at;

	(void)arg;
	s = laughs_doc(len);
	at = strstr(s, "]>\n");
	te_sb_add(&b, s, (size_t)(at - s) + 3);
	te_sb_str(&b, HDR_PLUS("x=\"&l9;\""));
	free(s);
	*len = b.len;
	return (uint8_t *)b.p;
}

static uint8_t *
gen_nested(int k, size_t *len)
{
	return (uint8_t *)te_nested_doc((size_t)k, len);
}

static uint8_t *
gen_nested_message(int k, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };

	te_sb_str(&b, MSG_OPEN HDR "<parameters>");
	te_sb_rep(&b, "<Message>", (size_t)k);
	te_sb_str(&b, "<Header/>");
	te_sb_rep(&b, "</Message>", (size_t)k);
	te_sb_str(&b, "</parameters>" MSG_CLOSE);
	*len = b.len;
	return (uint8_t *)b.p;
}

/* The base envelope in UTF-16 (U16_* bits say which). */
static uint8_t *
gen_utf16(int how, size_t *len)
{
	const char *ascii = how & U16_DECL ?
	    "<?xml version=\"1.0\" encoding=\"UTF-16\"?>" BASE : BASE;
	bool le = (how & U16_LE) != 0;
	size_t n = strlen(ascii), i, o = 0;
	uint8_t *d = te_xmalloc(2 * n + 2);

	if (how & U16_BOM) {
		d[o++] = le ? 0xFF : 0xFE;
		d[o++] = le ? 0xFE : 0xFF;
	}
	for (i = 0; i < n; i++) {
		d[o++] = le ? (uint8_t)ascii[i] : 0;
		d[o++] = le ? 0 : (uint8_t)ascii[i];
	}
	*len = o;
	return d;
}

static uint8_t *
gen_long_name(int n, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };

	te_sb_str(&b, MSG_OPEN HDR "<parameters><");
	te_sb_rep(&b, "n", (size_t)n);
	te_sb_str(&b, "/></parameters>" MSG_CLOSE);
	*len = b.len;
	return (uint8_t *)b.p;
}

/* ---- the tables' loops ------------------------------------------------ */

static void
test_invalid_doc(void)
{
	size_t i;

	CU_ASSERT(te_ninv_doc >= 45);
	for (i = 0; i < te_ninv_doc; i++)
		te_check_invalid(&te_inv_doc[i], 0);
}

static void
test_invalid_generated(void)
{
	struct te_input c;
	size_t i;

	for (i = 0; i < te_ninv_gen; i++) {
		c.name = te_inv_gen[i].name;
		c.code = te_inv_gen[i].code;
		c.doc = te_inv_gen[i].make(te_inv_gen[i].arg, &c.len);
		te_check_invalid(&c, 0);
		free((void *)(uintptr_t)c.doc);
	}
}

/* ---- the size limit --------------------------------------------------- */

/* A valid envelope of exactly n bytes (n >= 200); the caller frees it. */
static char *
sized_doc(size_t n)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *tail = "</parameters>" MSG_CLOSE;

	te_sb_str(&b, MSG_OPEN HDR "<parameters>");
	while (b.len + strlen(tail) < n)
		te_sb_add(&b, "a", 1);
	te_sb_str(&b, tail);
	return b.p;
}

/* Both paths of p give code for an envelope of n bytes. */
static void
check_sized(size_t n, int code, struct env_parser *p)
{
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	char *d = sized_doc(n);

	CU_ASSERT_EQUAL(te_verdict_header(p, d, n, &h, &e), code);
	CU_ASSERT_EQUAL(te_verdict_full(p, d, n, &m, &e), code);
	env_msg_free(m);
	free(d);
}

static void
test_size_limit(void)
{
	static const struct {
		const char	*name;
		size_t		 len;
	} over[] = {
		{ "2048 bytes, max 1024", 2048 },
		{ "1025 bytes, max 1024", 1025 },
	};
	struct te_input c;
	struct env_parser *p;
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	char *d;
	size_t i;

	for (i = 0; i < NELEM(over); i++) {
		d = sized_doc(over[i].len);
		CU_ASSERT_EQUAL(strlen(d), over[i].len);
		c = (struct te_input){ over[i].name, d, over[i].len, 413 };
		te_check_invalid(&c, 1024);
		free(d);
	}

	/* Exactly max_size is fine. */
	d = sized_doc(1024);
	CU_ASSERT_EQUAL(strlen(d), 1024);
	free(d);
	p = env_parser_new(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	check_sized(1024, 0, p);
	/* The same parser still refuses more, and accepts again. */
	check_sized(4096, 413, p);
	d = sized_doc(4096);
	CU_ASSERT_EQUAL(te_verdict_header(p, d, 1000, &h, &e), 400);
	env_parser_free(p);
	free(d);

	/* max_size 0 means 16 MiB: a 2 MiB envelope is fine. */
	d = sized_doc(2 * 1024 * 1024);
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(te_verdict_header(p, d, strlen(d), &h, &e), 0);
	CU_ASSERT_EQUAL(te_verdict_full(p, d, strlen(d), &m, &e), 0);
	if (m != NULL) {
		size_t plen = 0;

		CU_ASSERT_PTR_NOT_NULL(env_msg_parameters(m, &plen));
		CU_ASSERT(plen > 2 * 1000 * 1000);
	}
	env_msg_free(m);
	env_parser_free(p);
	free(d);
}

void
init_envelope_doc_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("envelope document", NULL, NULL)) == NULL)
		return;
	CU_add_test(s, "invalid documents, both paths", test_invalid_doc);
	CU_add_test(s, "hostile documents built at run time, both paths",
	    test_invalid_generated);
	CU_add_test(s, "size limit gives 413", test_size_limit);
}
