/*
 * test_envelope_splice.c - §3/§6: what a forwarding server splices into
 * the received bytes rather than serializing again: TTL rewritten
 * (env_ttl_set) and its code stamped on Via (env_via_stamp).  One table
 * of input, change and the exact bytes expected.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "test_envelope.h"

/* TTL and an unknown attribute whose value looks like TTL and Via. */
#define SPLICE_A	"<Message version=\"1.0\"><Header Message_Type=\"1000\" " \
	"SessionId=\"\" Seq=\"1\" From=\"00010001\" To=\"00020002\" " \
	"TTL=\"600\" X=\"TTL=1 Via=2\"/></Message>"
/* Single quotes, a Via and no TTL. */
#define SPLICE_B	"<Message version=\"1.0\"><Header Message_Type='1000' " \
	"SessionId='' Seq='1' From='00010001' To='00020002' " \
	"Via='00010000'/></Message>"

struct splice_case {
	const char	*in;
	int		 ttl;	/* >= 0: env_ttl_set; -1: env_via_stamp */
	uint32_t	 via;
	const char	*want;
};

static void	splice_check(const struct splice_case *);
static void	test_splice_ttl_via(void);

static const struct splice_case splice_cases[] = {
	{ SPLICE_A, 598, 0, "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"\" Seq=\"1\" From=\"00010001\" "
	    "To=\"00020002\" TTL=\"598\" X=\"TTL=1 Via=2\"/></Message>" },
	{ SPLICE_B, 7, 0, "<Message version=\"1.0\"><Header "
	    "Message_Type='1000' SessionId='' Seq='1' From='00010001' "
	    "To='00020002' Via='00010000' TTL=\"7\"/></Message>" },
	{ SPLICE_A, -1, 0x00010000, "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"\" Seq=\"1\" From=\"00010001\" "
	    "To=\"00020002\" TTL=\"600\" X=\"TTL=1 Via=2\" "
	    "Via=\"00010000\"/></Message>" },
	{ SPLICE_B, -1, 0, "<Message version=\"1.0\"><Header "
	    "Message_Type='1000' SessionId='' Seq='1' From='00010001' "
	    "To='00020002' Via='00010000 00000000'/></Message>" },
};

static void
splice_check(const struct splice_case *c)
{
	struct env_parser *p = env_parser_new(0);
	const uint8_t *in = (const uint8_t *)c->in;
	size_t len = strlen(c->in), wl = strlen(c->want), n;
	struct env_header h;
	struct env_error err;
	uint8_t out[1024];
	int rc;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_FATAL(env_parse_header(p, in, len, &h, &err) == 0);
	rc = c->ttl >= 0 ? env_ttl_set(in, len, &h, (uint32_t)c->ttl, out,
	    sizeof(out), &n) : env_via_stamp(in, len, &h, c->via, out,
	    sizeof(out), &n);
	CU_ASSERT(rc == 0);
	if (rc == 0) {
		CU_ASSERT(n == wl + 4);
		CU_ASSERT(n == wl + 4 && memcmp(out + 4, c->want, wl) == 0);
		/* The prefix says the new length (§2: big-endian). */
		CU_ASSERT(te_be32(out) == n - 4);
		/* What comes out parses, with the new values. */
		CU_ASSERT(env_parse_header(p, out + 4, n - 4, &h,
		    &err) == 0);
	}
	env_parser_free(p);
}

static void
test_splice_ttl_via(void)
{
	size_t i;

	for (i = 0; i < NELEM(splice_cases); i++)
		splice_check(&splice_cases[i]);
}

void
init_envelope_splice_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("envelope splicing", NULL, NULL)) == NULL)
		return;
	CU_add_test(s, "TTL rewritten and Via stamped in the bytes",
	    test_splice_ttl_via);
}
