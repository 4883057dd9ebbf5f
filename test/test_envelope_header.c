/*
 * test_envelope_header.c - the §3 Header the parser must refuse:
 * a required attribute missing or given twice, and values that are not
 * what §3 allows (numbers, session, codes, Ack, TTL, Re, Via).  One
 * table, one loop: both parse paths give 400 with a one-line reason.
 */
#include <CUnit/CUnit.h>

#include "test_envelope.h"

static void	test_invalid_header(void);

const struct te_input te_inv_header[] = {
	/* Required Header attributes. */
	I("missing Message_Type",
	    WITH_HDR(A_S " " A_Q " " A_F " " A_O)),
	I("missing SessionId",
	    WITH_HDR(A_T " " A_Q " " A_F " " A_O)),
	I("missing Seq",
	    WITH_HDR(A_T " " A_S " " A_F " " A_O)),
	I("missing From",
	    WITH_HDR(A_T " " A_S " " A_Q " " A_O)),
	I("missing To",
	    WITH_HDR(A_T " " A_S " " A_Q " " A_F)),
	I("Header with no attribute", MSG_OPEN "<Header/>" P_X MSG_CLOSE),
	I("duplicate attribute Seq", HDR_PLUS(A_Q)),
	I("duplicate attribute Seq, other value", HDR_PLUS("Seq=\"8\"")),
	I("duplicate unknown attribute", HDR_PLUS("x=\"1\" x=\"2\"")),
	I("duplicate attribute through two prefixes of one namespace",
	    HDR_PLUS("xmlns:n=\"urn:d\" xmlns:m=\"urn:d\" n:a=\"1\" "
	    "m:a=\"2\"")),

	/* Garbage in Header values. */
	I("Seq=\"-1\"", WITH_HDR(A_T " " A_S " Seq=\"-1\" " A_F " " A_O)),
	I("Seq=\" 7\"", WITH_HDR(A_T " " A_S " Seq=\" 7\" " A_F " " A_O)),
	I("Seq=\"7 \"", WITH_HDR(A_T " " A_S " Seq=\"7 \" " A_F " " A_O)),
	I("Seq=\"&#32;7\"",
	    WITH_HDR(A_T " " A_S " Seq=\"&#32;7\" " A_F " " A_O)),
	I("Seq=\"4294967296\"",
	    WITH_HDR(A_T " " A_S " Seq=\"4294967296\" " A_F " " A_O)),
	I("Seq=\"9999999999\"",
	    WITH_HDR(A_T " " A_S " Seq=\"9999999999\" " A_F " " A_O)),
	I("Seq=\"12345678901\"",
	    WITH_HDR(A_T " " A_S " Seq=\"12345678901\" " A_F " " A_O)),
	I("Seq=\"00000000007\" (11 digits)",
	    WITH_HDR(A_T " " A_S " Seq=\"00000000007\" " A_F " " A_O)),
	I("Seq=\"\"", WITH_HDR(A_T " " A_S " Seq=\"\" " A_F " " A_O)),
	I("Seq=\"+7\"", WITH_HDR(A_T " " A_S " Seq=\"+7\" " A_F " " A_O)),
	I("Seq=\"7.0\"", WITH_HDR(A_T " " A_S " Seq=\"7.0\" " A_F " " A_O)),
	I("Seq=\"0x7\"", WITH_HDR(A_T " " A_S " Seq=\"0x7\" " A_F " " A_O)),
	I("Seq with an Arabic-Indic digit",
	    WITH_HDR(A_T " " A_S " Seq=\"\xD9\xA7\" " A_F " " A_O)),
	I("Message_Type=\"0x10\"",
	    WITH_HDR("Message_Type=\"0x10\" " A_S " " A_Q " " A_F " " A_O)),
	I("Message_Type=\"\"",
	    WITH_HDR("Message_Type=\"\" " A_S " " A_Q " " A_F " " A_O)),
	I("Message_Type=\"4294967296\"",
	    WITH_HDR("Message_Type=\"4294967296\" " A_S " " A_Q " " A_F " "
	    A_O)),
	I("SessionId lower-case hex",
	    WITH_HDR(A_T " SessionId=\"5f1c9a0e33b2d871\" " A_Q " " A_F " "
	    A_O)),
	I("SessionId 15 hex",
	    WITH_HDR(A_T " SessionId=\"5F1C9A0E33B2D87\" " A_Q " " A_F " "
	    A_O)),
	I("SessionId 17 hex",
	    WITH_HDR(A_T " SessionId=\"5F1C9A0E33B2D8710\" " A_Q " " A_F " "
	    A_O)),
	I("SessionId not hex",
	    WITH_HDR(A_T " SessionId=\"5F1C9A0E33B2D87G\" " A_Q " " A_F " "
	    A_O)),
	I("SessionId of one space",
	    WITH_HDR(A_T " SessionId=\" \" " A_Q " " A_F " " A_O)),
	I("From 7 chars",
	    WITH_HDR(A_T " " A_S " " A_Q " From=\"0001000\" " A_O)),
	I("From 9 chars",
	    WITH_HDR(A_T " " A_S " " A_Q " From=\"000100020\" " A_O)),
	I("From non-hex",
	    WITH_HDR(A_T " " A_S " " A_Q " From=\"0001000Z\" " A_O)),
	I("From=\"+0010002\"",
	    WITH_HDR(A_T " " A_S " " A_Q " From=\"+0010002\" " A_O)),
	I("To=\"0001000G\"",
	    WITH_HDR(A_T " " A_S " " A_Q " " A_F " To=\"0001000G\"")),
	I("To=\"\"", WITH_HDR(A_T " " A_S " " A_Q " " A_F " To=\"\"")),
	I("To with a trailing space",
	    WITH_HDR(A_T " " A_S " " A_Q " " A_F " To=\"00020003 \"")),
	I("Ack=\"2\"", HDR_PLUS("Ack=\"2\"")),
	I("Ack=\"yes\"", HDR_PLUS("Ack=\"yes\"")),
	I("Ack=\"\"", HDR_PLUS("Ack=\"\"")),
	I("TTL=\"-5\"", HDR_PLUS("TTL=\"-5\"")),
	I("TTL=\"\"", HDR_PLUS("TTL=\"\"")),
	I("TTL=\"4294967296\"", HDR_PLUS("TTL=\"4294967296\"")),
	I("Re=\"x\"", HDR_PLUS("Re=\"x\"")),
	I("Re=\"-1\"", HDR_PLUS("Re=\"-1\"")),
	I("Via with 9 codes", HDR_PLUS("Via=\"00010000 00020000 00030000 "
	    "00040000 00050000 00060000 00070000 00080000 00090000\"")),
	I("Via with a bad code", HDR_PLUS("Via=\"00010000 0002000\"")),
	I("Via with a non-hex code", HDR_PLUS("Via=\"00010000 0002000X\"")),
	I("Via empty", HDR_PLUS("Via=\"\"")),
	I("Via with two spaces", HDR_PLUS("Via=\"00010000  00020000\"")),
	I("Via with a trailing space", HDR_PLUS("Via=\"00010000 \"")),
	I("Via with a leading space", HDR_PLUS("Via=\" 00010000\"")),
	I("Via joined by a comma", HDR_PLUS("Via=\"00010000,00020000\"")),
	I("unquoted attribute value",
	    WITH_HDR(A_T " " A_S " Seq=7 " A_F " " A_O)),
	I("attribute without value", HDR_PLUS("Ack")),
	I("'<' in an attribute value", HDR_PLUS("x=\"a<b\"")),

};

const size_t te_ninv_header = NELEM(te_inv_header);

static void
test_invalid_header(void)
{
	size_t i;

	CU_ASSERT(te_ninv_header >= 45);
	for (i = 0; i < te_ninv_header; i++)
		te_check_invalid(&te_inv_header[i], 0);
}

void
init_envelope_header_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("envelope Header", NULL, NULL)) == NULL)
		return;
	CU_add_test(s, "invalid Header attributes, both paths",
	    test_invalid_header);
}
