/*
 * test_proto.c - CUnit tests of the §4 vocabulary (xml/proto.h): the
 * parameter builders, read back through the servers' parser and the
 * parameters reader; the escaper; the reader on odd parameters.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "envelope.h"
#include "frames.h"
#include "proto.h"

void	init_proto_tests(void);

static struct env_msg *parse_params(const char *);
static struct env_msg *parse_doc(const char *);
static int	read_one(const char *, int (*)(struct env_param *,
		    const char *, uint32_t *));
static void	test_types_and_codes(void);
static void	test_escaper(void);
static void	test_error_roundtrip(void);
static void	test_receipts_roundtrip(void);
static void	test_location_roundtrip(void);
static void	test_result_roundtrip(void);
static void	test_presence_roundtrip(void);
static void	test_builders_do_not_overflow(void);
static void	test_reader_missing(void);
static void	test_reader_duplicates(void);
static void	test_reader_empty(void);
static void	test_reader_numbers(void);
static void	test_reader_split_values(void);

/* Text with every character an attribute must escape, control white
 * space, and UTF-8 of 2, 3 and 4 bytes. */
static const char HOSTILE[] = "a\"b<c&d>e'f\tg\nh\ri \xC3\xA9 "
    "\xE6\x97\xA5 \xF0\x9F\x98\x80";

/* inner parameters -> a frame as a server writes it -> the servers'
 * full parse.  The caller frees the message. */
static struct env_msg *
parse_params(const char *inner)
{
	static char buf[FRAME_MAX_SERVER * 4];
	struct env_parser *p = env_parser_new(0);
	struct env_msg *m = NULL;
	struct env_error err;
	size_t n;

	CU_ASSERT_FATAL(p != NULL);
	n = frame_build(buf, sizeof(buf), ENV_T_APP, "", 1, 0x00010000u,
	    0x00010002u, inner);
	if (env_parse(p, (const uint8_t *)buf + 4, n - 4, &m, &err) != 0)
		m = NULL;
	env_parser_free(p);
	return m;
}

/* A whole document body -> the full parse (NULL when refused). */
static struct env_msg *
parse_doc(const char *doc)
{
	struct env_parser *p = env_parser_new(0);
	struct env_msg *m = NULL;
	struct env_error err;

	CU_ASSERT_FATAL(p != NULL);
	if (env_parse(p, (const uint8_t *)doc, strlen(doc), &m, &err) != 0)
		m = NULL;
	env_parser_free(p);
	return m;
}

static void
test_types_and_codes(void)
{
	/* The numbers of the §4 table. */
	CU_ASSERT_EQUAL(ENV_T_LOGIN, 1);
	CU_ASSERT_EQUAL(ENV_T_LOGIN_REPLY, 2);
	CU_ASSERT_EQUAL(ENV_T_CHECK, 3);
	CU_ASSERT_EQUAL(ENV_T_CHECK_REPLY, 4);
	CU_ASSERT_EQUAL(ENV_T_ACK, 5);
	CU_ASSERT_EQUAL(ENV_T_ERROR, 6);
	CU_ASSERT_EQUAL(ENV_T_LOGOUT, 7);
	CU_ASSERT_EQUAL(ENV_T_ROUTE_UPDATE, 10);
	CU_ASSERT_EQUAL(ENV_T_PRESENCE, 11);
	CU_ASSERT_EQUAL(ENV_T_FS_REGISTER, 20);
	CU_ASSERT_EQUAL(ENV_T_FS_REGISTER_REPLY, 21);
	CU_ASSERT_EQUAL(ENV_T_LOCATE, 30);
	CU_ASSERT_EQUAL(ENV_T_LOCATE_REPLY, 31);
	CU_ASSERT_EQUAL(ENV_T_APP, 1000);
	CU_ASSERT_STRING_EQUAL(env_code_text(400), "malformed");
	CU_ASSERT_STRING_EQUAL(env_code_text(401),
	    "not logged in or wrong session");
	CU_ASSERT_STRING_EQUAL(env_code_text(403), "forbidden");
	CU_ASSERT_STRING_EQUAL(env_code_text(404), "unknown destination");
	CU_ASSERT_STRING_EQUAL(env_code_text(408), "timed out in store");
	CU_ASSERT_STRING_EQUAL(env_code_text(413), "frame too large");
	CU_ASSERT_STRING_EQUAL(env_code_text(429), "rate limited");
	CU_ASSERT_STRING_EQUAL(env_code_text(503),
	    "destination region unreachable");
	CU_ASSERT_STRING_EQUAL(env_code_text(507), "store full");
	CU_ASSERT_PTR_NULL(env_code_text(0));
	CU_ASSERT_PTR_NULL(env_code_text(402));
	CU_ASSERT_PTR_NULL(env_code_text(500));
}

static void
test_escaper(void)
{
	char out[64];
	size_t need;

	need = env_attr_esc(out, sizeof(out), "a&b<c>d\"e'f");
	CU_ASSERT_STRING_EQUAL(out, "a&amp;b&lt;c&gt;d&quot;e'f");
	CU_ASSERT_EQUAL(need, strlen(out));
	env_attr_esc(out, sizeof(out), "t\tn\nr\r");
	CU_ASSERT_STRING_EQUAL(out, "t&#9;n&#10;r&#13;");
	/* C0 controls are no XML characters at all. */
	env_attr_esc(out, sizeof(out), "x\x01y\x1f");
	CU_ASSERT_STRING_EQUAL(out, "x?y?");
	env_attr_esc(out, sizeof(out), "\xC3\xA9\x7f");
	CU_ASSERT_STRING_EQUAL(out, "\xC3\xA9\x7f");
	/* Cut at a whole escape, and still say what the whole needs. */
	need = env_attr_esc(out, 7, "ab&cd");
	CU_ASSERT_STRING_EQUAL(out, "ab");
	CU_ASSERT_EQUAL(need, 9);
	need = env_attr_esc(out, 8, "ab&cd");
	CU_ASSERT_STRING_EQUAL(out, "ab&amp;");
	CU_ASSERT_EQUAL(need, 9);
	CU_ASSERT_EQUAL(env_attr_esc(NULL, 0, "<<"), 8);
	CU_ASSERT_EQUAL(env_attr_esc(out, sizeof(out), ""), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void
test_error_roundtrip(void)
{
	char buf[512];
	struct env_msg *m;
	struct env_param *e;
	uint32_t v;
	int n;

	n = env_p_error(buf, sizeof(buf), 404, 4294967295u, 0xFFFE0001u,
	    "5F1C9A0E33B2D871", HOSTILE);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_FATAL((e = env_param_first(m, NULL)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_name(e), "error");
	CU_ASSERT(env_param_u32(e, "code", &v) == 0 && v == 404);
	CU_ASSERT(env_param_u32(e, "seq", &v) == 0 && v == 4294967295u);
	CU_ASSERT(env_param_code(e, "to", &v) == 0 && v == 0xFFFE0001u);
	CU_ASSERT_STRING_EQUAL(env_param_attr(e, "session"),
	    "5F1C9A0E33B2D871");
	CU_ASSERT_STRING_EQUAL(env_param_attr(e, "text"), HOSTILE);
	CU_ASSERT_PTR_NULL(env_param_next(e, NULL));
	env_msg_free(m);
	/* No session and no text: empty attributes, not missing ones. */
	CU_ASSERT(env_p_error(buf, sizeof(buf), 400, 0, 0, NULL, NULL) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "error", "session"), "");
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "error", "text"), "");
	env_msg_free(m);
}

static void
test_receipts_roundtrip(void)
{
	char buf[512];
	struct env_msg *m;
	struct env_param *a;
	uint32_t v;
	int n, k;

	CU_ASSERT(env_p_receipt(buf, sizeof(buf), 7, 0x00020003u,
	    "0123456789ABCDEF", true) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	a = env_param_first(m, "ack");
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(env_param_u32(a, "seq", &v) == 0 && v == 7);
	CU_ASSERT(env_param_code(a, "to", &v) == 0 && v == 0x00020003u);
	CU_ASSERT_STRING_EQUAL(env_param_attr(a, "status"), "delivered");
	env_msg_free(m);
	CU_ASSERT(env_p_receipt(buf, sizeof(buf), 7, 0, NULL, false) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "ack", "status"), "stored");
	env_msg_free(m);

	/* Confirmations: one from a device, many between domains. */
	n = env_p_confirm(buf, sizeof(buf), 0x00010002u, 9, NULL);
	CU_ASSERT(n > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	a = env_param_first(m, "ack");
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(env_param_code(a, "from", &v) == 0 && v == 0x00010002u);
	CU_ASSERT_PTR_NULL(env_param_attr(a, "session"));
	env_msg_free(m);
	n = 0;
	for (k = 0; k < 3; k++)
		n += env_p_confirm(buf + n, sizeof(buf) - (size_t)n,
		    0x00010002u, (uint32_t)k, "0123456789ABCDEF");
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	k = 0;
	for (a = env_param_first(m, "ack"); a != NULL;
	    a = env_param_next(a, "ack"), k++) {
		CU_ASSERT(env_param_u32(a, "seq", &v) == 0 &&
		    v == (uint32_t)k);
		CU_ASSERT_STRING_EQUAL(env_param_attr(a, "session"),
		    "0123456789ABCDEF");
	}
	CU_ASSERT_EQUAL(k, 3);
	env_msg_free(m);
}

static void
test_location_roundtrip(void)
{
	char buf[1024];
	struct env_msg *m;
	struct env_param *l;
	uint32_t v;

	CU_ASSERT(env_p_location(buf, sizeof(buf), 0x0001000Au, 0x00010000u,
	    HOSTILE, true) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_FATAL((l = env_param_first(m, "location")) != NULL);
	CU_ASSERT(env_param_code(l, "code", &v) == 0 && v == 0x0001000Au);
	CU_ASSERT(env_param_code(l, "domain", &v) == 0 && v == 0x00010000u);
	CU_ASSERT_STRING_EQUAL(env_param_attr(l, "address"), HOSTILE);
	CU_ASSERT_STRING_EQUAL(env_param_attr(l, "online"), "1");
	env_msg_free(m);
	CU_ASSERT(env_p_location(buf, sizeof(buf), 1, 2, "h:1", false) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "location", "online"), "0");
	env_msg_free(m);
	/* A domain's Login, a device's Login, a Locate. */
	CU_ASSERT(env_p_domain(buf, sizeof(buf), HOSTILE) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "domain", "address"),
	    HOSTILE);
	env_msg_free(m);
	CU_ASSERT(env_p_client(buf, sizeof(buf), HOSTILE, NULL) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "client", "name"), HOSTILE);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "client", "version"), "");
	env_msg_free(m);
	CU_ASSERT(env_p_locate(buf, sizeof(buf), 0xABCD0001u) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_FATAL((l = env_param_first(m, "locate")) != NULL);
	CU_ASSERT(env_param_code(l, "code", &v) == 0 && v == 0xABCD0001u);
	env_msg_free(m);
}

static void
test_result_roundtrip(void)
{
	char buf[512];
	struct env_msg *m;
	struct env_param *r;
	uint32_t v;

	CU_ASSERT(env_p_result(buf, sizeof(buf), 0, "ok", 30, 90) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "<result code=\"0\" text=\"ok\"/>"
	    "<heartbeat interval=\"30\" timeout=\"90\"/>");
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_FATAL((r = env_param_first(m, NULL)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_name(r), "result");
	CU_ASSERT(env_param_u32(r, "code", &v) == 0 && v == 0);
	CU_ASSERT_FATAL((r = env_param_next(r, NULL)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_name(r), "heartbeat");
	CU_ASSERT(env_param_u32(r, "interval", &v) == 0 && v == 30);
	CU_ASSERT(env_param_u32(r, "timeout", &v) == 0 && v == 90);
	env_msg_free(m);
	/* FsRegisterReply: no text, no heartbeat. */
	CU_ASSERT(env_p_result(buf, sizeof(buf), 0, NULL, 0, 0) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "<result code=\"0\"/>");
	CU_ASSERT(env_p_result(buf, sizeof(buf), 403, HOSTILE, 0, 0) > 0);
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "result", "text"), HOSTILE);
	CU_ASSERT_PTR_NULL(env_param_first(m, "heartbeat"));
	env_msg_free(m);
}

static void
test_presence_roundtrip(void)
{
	char buf[1024];
	struct env_msg *m;
	struct env_param *p;
	uint32_t v;
	int n = 0;

	n += env_p_route(buf + n, sizeof(buf) - (size_t)n, 0x00AB, true);
	n += env_p_route(buf + n, sizeof(buf) - (size_t)n, 0xFFFE, false);
	n += env_p_serve(buf + n, sizeof(buf) - (size_t)n, 1000, 1999);
	n += env_p_presence(buf + n, sizeof(buf) - (size_t)n, 0x00010002u,
	    true);
	n += env_p_presence(buf + n, sizeof(buf) - (size_t)n, 0x00010003u,
	    false);
	n += env_p_load(buf + n, sizeof(buf) - (size_t)n, 12345);
	n += env_p_moved(buf + n, sizeof(buf) - (size_t)n, 0x00010002u,
	    HOSTILE);
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	CU_ASSERT_FATAL((m = parse_params(buf)) != NULL);
	p = env_param_first(m, "route");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_attr(p, "region"), "00AB");
	CU_ASSERT_STRING_EQUAL(env_param_attr(p, "state"), "up");
	CU_ASSERT_FATAL((p = env_param_next(p, "route")) != NULL);
	CU_ASSERT_STRING_EQUAL(env_param_attr(p, "region"), "FFFE");
	CU_ASSERT_STRING_EQUAL(env_param_attr(p, "state"), "down");
	CU_ASSERT_PTR_NULL(env_param_next(p, "route"));
	CU_ASSERT_FATAL((p = env_param_first(m, "serve")) != NULL);
	CU_ASSERT(env_param_u32(p, "from", &v) == 0 && v == 1000);
	CU_ASSERT(env_param_u32(p, "to", &v) == 0 && v == 1999);
	CU_ASSERT_FATAL((p = env_param_first(m, "on")) != NULL);
	CU_ASSERT(env_param_code(p, "code", &v) == 0 && v == 0x00010002u);
	CU_ASSERT_FATAL((p = env_param_first(m, "off")) != NULL);
	CU_ASSERT(env_param_code(p, "code", &v) == 0 && v == 0x00010003u);
	CU_ASSERT_FATAL((p = env_param_first(m, "load")) != NULL);
	CU_ASSERT(env_param_u32(p, "online", &v) == 0 && v == 12345);
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "moved", "node"), HOSTILE);
	env_msg_free(m);
}

/* Every cap below the length fails with "", every one above fits. */
static void
test_builders_do_not_overflow(void)
{
	char full[512], buf[512];
	int n, r;

	n = env_p_error(full, sizeof(full), 503, 1, 2, "0123456789ABCDEF",
	    "x&y");
	CU_ASSERT_FATAL(n > 0);
	for (size_t cap = 0; cap <= (size_t)n + 1; cap++) {
		memset(buf, 'Z', sizeof(buf));
		r = env_p_error(buf, cap, 503, 1, 2, "0123456789ABCDEF",
		    "x&y");
		if (cap <= (size_t)n) {
			CU_ASSERT_EQUAL(r, -1);
			CU_ASSERT(cap == 0 || buf[0] == '\0');
		} else {
			CU_ASSERT_EQUAL(r, n);
			CU_ASSERT_STRING_EQUAL(buf, full);
		}
		CU_ASSERT_EQUAL(buf[cap], 'Z');	/* nothing past cap */
	}
	n = env_p_location(full, sizeof(full), 1, 2, "<<>>", true);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(env_p_location(buf, (size_t)n, 1, 2, "<<>>", true),
	    -1);
	CU_ASSERT_EQUAL(env_p_location(buf, (size_t)n + 1, 1, 2, "<<>>",
	    true), n);
	n = env_p_client(full, sizeof(full), "n&", "v<");
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(env_p_client(buf, (size_t)n, "n&", "v<"), -1);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(env_p_route(buf, 10, 1, true), -1);
	CU_ASSERT_STRING_EQUAL(buf, "");
}

static void
test_reader_missing(void)
{
	struct env_msg *m;
	struct env_param *p;
	uint32_t v = 77;

	m = parse_params("<ack from=\"00010002\"/>");
	CU_ASSERT_FATAL(m != NULL);
	p = env_param_first(m, "ack");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_PTR_NULL(env_param_attr(p, "seq"));
	CU_ASSERT_EQUAL(env_param_u32(p, "seq", &v), -1);
	CU_ASSERT_EQUAL(v, 77);
	CU_ASSERT_EQUAL(env_param_code(p, "to", &v), -1);
	CU_ASSERT_PTR_NULL(env_param_first(m, "error"));
	CU_ASSERT_PTR_NULL(env_param_get(m, "error", "code"));
	CU_ASSERT_PTR_NULL(env_param_get(m, "ack", "session"));
	env_msg_free(m);
	/* An attribute in a namespace is not the plain one. */
	m = parse_params("<ack xmlns:x=\"urn:x\" x:seq=\"5\" x=\"1\"/>");
	CU_ASSERT_FATAL(m != NULL);
	p = env_param_first(m, "ack");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_PTR_NULL(env_param_attr(p, "seq"));
	CU_ASSERT_STRING_EQUAL(env_param_attr(p, "x"), "1");
	env_msg_free(m);
	/* Only children of parameters count, not grandchildren. */
	m = parse_params("<outer><ack seq=\"1\"/></outer>");
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_PTR_NULL(env_param_first(m, "ack"));
	CU_ASSERT_PTR_NOT_NULL(env_param_first(m, "outer"));
	env_msg_free(m);
}

static void
test_reader_duplicates(void)
{
	struct env_msg *m;
	struct env_param *p;
	int n = 0;

	m = parse_params("text<!-- c --><ack seq=\"1\"/> <x/><ack seq=\"2\"/>"
	    "<ack seq=\"3\"/>");
	CU_ASSERT_FATAL(m != NULL);
	/* The first of several, and each in document order. */
	CU_ASSERT_STRING_EQUAL(env_param_get(m, "ack", "seq"), "1");
	for (p = env_param_first(m, "ack"); p != NULL;
	    p = env_param_next(p, "ack")) {
		char want[2] = { (char)('1' + n), '\0' };

		CU_ASSERT_STRING_EQUAL(env_param_attr(p, "seq"), want);
		n++;
	}
	CU_ASSERT_EQUAL(n, 3);
	/* Any element: text and comments are skipped. */
	n = 0;
	for (p = env_param_first(m, NULL); p != NULL;
	    p = env_param_next(p, NULL))
		n++;
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_STRING_EQUAL(env_param_name(env_param_next(
	    env_param_first(m, NULL), NULL)), "x");
	CU_ASSERT_PTR_NULL(env_param_next(NULL, NULL));
	env_msg_free(m);
}

static void
test_reader_empty(void)
{
	struct env_msg *m;

	m = parse_doc("<Message version=\"1.0\"><Header Message_Type=\"5\" "
	    "SessionId=\"\" Seq=\"1\" From=\"00010002\" To=\"00010000\"/>"
	    "<parameters/></Message>");
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_PTR_NULL(env_param_first(m, NULL));
	CU_ASSERT_PTR_NULL(env_param_get(m, "ack", "seq"));
	env_msg_free(m);
	m = parse_doc("<Message version=\"1.0\"><Header Message_Type=\"5\" "
	    "SessionId=\"\" Seq=\"1\" From=\"00010002\" To=\"00010000\"/>"
	    "</Message>");
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_PTR_NULL(env_param_first(m, NULL));
	CU_ASSERT_PTR_NULL(env_param_first(m, "ack"));
	env_msg_free(m);
	m = parse_params("  <!-- only this -->  ");
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_PTR_NULL(env_param_first(m, NULL));
	env_msg_free(m);
}

/* <a n="val"/> read back by get: its result. */
static int
read_one(const char *val, int (*get)(struct env_param *, const char *,
    uint32_t *))
{
	char doc[128];
	struct env_msg *m;
	struct env_param *p;
	uint32_t v;
	int rc = -2;

	snprintf(doc, sizeof(doc), "<a n=\"%s\"/>", val);
	if ((m = parse_params(doc)) != NULL &&
	    (p = env_param_first(m, "a")) != NULL)
		rc = get(p, "n", &v);
	env_msg_free(m);
	return rc;
}

static void
test_reader_numbers(void)
{
	static const char *bad[] = { "", "-1", "+1", " 1", "1 ", "12a",
	    "4294967296", "00000000001", "0x10" };
	static const char *badcode[] = { "", "0001000", "000100000",
	    "0001000G", " 00010000" };
	struct env_msg *m;
	struct env_param *p;
	uint32_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(read_one(bad[i], env_param_u32), -1);
	for (size_t i = 0; i < sizeof(badcode) / sizeof(badcode[0]); i++)
		CU_ASSERT_EQUAL(read_one(badcode[i], env_param_code), -1);
	m = parse_params("<a n=\"4294967295\" z=\"0000000000\" "
	    "c=\"abcd0001\"/>");
	CU_ASSERT_FATAL(m != NULL);
	p = env_param_first(m, "a");
	CU_ASSERT(env_param_u32(p, "n", &v) == 0 && v == 4294967295u);
	CU_ASSERT(env_param_u32(p, "z", &v) == 0 && v == 0);
	CU_ASSERT(env_param_code(p, "c", &v) == 0 && v == 0xABCD0001u);
	env_msg_free(m);
}

/* Character and entity references split a value inside libxml2: the
 * reader gives the one decoded string, stable across calls. */
static void
test_reader_split_values(void)
{
	struct env_msg *m;
	struct env_param *p;
	const char *v1, *v2;

	m = parse_params("<a t=\"x&#65;y&amp;z&#x1F600;&lt;&#10;\"/>");
	CU_ASSERT_FATAL(m != NULL);
	p = env_param_first(m, "a");
	CU_ASSERT_FATAL(p != NULL);
	v1 = env_param_attr(p, "t");
	CU_ASSERT_FATAL(v1 != NULL);
	CU_ASSERT_STRING_EQUAL(v1, "xAy&z\xF0\x9F\x98\x80<\n");
	v2 = env_param_attr(p, "t");
	CU_ASSERT_PTR_EQUAL(v1, v2);
	env_msg_free(m);
}

/* What env_parse_children passed: names and the first attribute. */
struct seen {
	int	n;
	char	names[8][16];
	char	first[8][32];
	int	nattr[8];
	uint32_t type;
};

static void
seen_cb(void *arg, const struct env_header *h, const char *name,
    const struct env_attr *a, int n)
{
	struct seen *s = arg;

	s->type = h->type;	/* the Header is whole before any child */
	if (s->n >= 8)
		return;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	if (n > 0)
		snprintf(s->first[s->n], sizeof(s->first[0]), "%s=%.*s",
		    a[0].name, (int)a[0].len, a[0].value);
	s->nattr[s->n++] = n;
}

static void
test_children_stream(void)
{
	static const char doc[] = "<Message version=\"1.0\"><Header "
	    "Message_Type=\"5\" SessionId=\"\" Seq=\"1\" From=\"00010000\" "
	    "To=\"00020000\"/><parameters><ack from=\"00010001\" seq=\"7\" "
	    "session=\"0123456789ABCDEF\"/><x xmlns:n=\"urn:n\" n:a=\"1\" "
	    "b=\"&amp;\"><ack from=\"deeper\"/></x><n:y xmlns:n=\"urn:n\"/>"
	    "</parameters></Message>";
	static const char bad[] = "<Message version=\"1.0\"><Header "
	    "Message_Type=\"5\" SessionId=\"\" Seq=\"1\" From=\"00010000\" "
	    "To=\"00020000\"/><parameters><ack from=\"00010001\"/>"
	    "</parameters>";
	struct env_parser *p = env_parser_new(0);
	struct env_header h;
	struct env_error e;
	struct seen s;

	CU_ASSERT_FATAL(p != NULL);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(env_parse_children(p, (const uint8_t *)doc,
	    strlen(doc), &h, &e, seen_cb, &s), 0);
	/* Direct children only, none in a namespace; raw values. */
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.type, 5);
	CU_ASSERT_STRING_EQUAL(s.names[0], "ack");
	CU_ASSERT_EQUAL(s.nattr[0], 3);
	CU_ASSERT_STRING_EQUAL(s.first[0], "from=00010001");
	CU_ASSERT_STRING_EQUAL(s.names[1], "x");
	CU_ASSERT_EQUAL(s.nattr[1], 1);		/* n:a is not passed */
	/* A document broken after its children: -1, the caller drops. */
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(env_parse_children(p, (const uint8_t *)bad,
	    strlen(bad), &h, &e, seen_cb, &s), -1);
	CU_ASSERT_EQUAL(e.code, 400);
	/* The same parser, plain again: no callback. */
	CU_ASSERT_EQUAL(env_parse_header(p, (const uint8_t *)doc,
	    strlen(doc), &h, &e), 0);
	env_parser_free(p);
}

static void
test_u32_parse(void)
{
	uint32_t v = 0;

	CU_ASSERT(env_u32_parse("4294967295", 10, &v) == 0 &&
	    v == 4294967295u);
	CU_ASSERT(env_u32_parse("0", 1, &v) == 0 && v == 0);
	CU_ASSERT_EQUAL(env_u32_parse("4294967296", 10, &v), -1);
	CU_ASSERT_EQUAL(env_u32_parse("", 0, &v), -1);
	CU_ASSERT_EQUAL(env_u32_parse("+5", 2, &v), -1);
	CU_ASSERT_EQUAL(env_u32_parse(" 5", 2, &v), -1);
	CU_ASSERT_EQUAL(env_u32_parse("12345678901", 11, &v), -1);
}

void
init_proto_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("proto", NULL, NULL);
	if (s == NULL)
		return;
	CU_add_test(s, "§4 types and error texts", test_types_and_codes);
	CU_add_test(s, "attribute escaper", test_escaper);
	CU_add_test(s, "Error round trip", test_error_roundtrip);
	CU_add_test(s, "receipts and confirmations round trip",
	    test_receipts_roundtrip);
	CU_add_test(s, "Location, Login, Locate round trip",
	    test_location_roundtrip);
	CU_add_test(s, "LoginReply result round trip", test_result_roundtrip);
	CU_add_test(s, "RouteUpdate, FsRegister, Presence round trip",
	    test_presence_roundtrip);
	CU_add_test(s, "builders never overflow",
	    test_builders_do_not_overflow);
	CU_add_test(s, "reader: missing attribute or element",
	    test_reader_missing);
	CU_add_test(s, "reader: duplicate children", test_reader_duplicates);
	CU_add_test(s, "reader: empty or no parameters", test_reader_empty);
	CU_add_test(s, "reader: numbers and codes", test_reader_numbers);
	CU_add_test(s, "reader: values split by references",
	    test_reader_split_values);
	CU_add_test(s, "streaming the children of parameters",
	    test_children_stream);
	CU_add_test(s, "§3 decimals", test_u32_parse);
}
