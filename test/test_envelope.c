/*
 * test_envelope.c - CUnit tests of the §3 envelope: the hostile and
 * malformed inputs both parse paths must refuse, the valid ones they must
 * read the same way, serialization round trips, parser reuse and parsers
 * on several threads.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <libxml/tree.h>

#include "envelope.h"
#include "envelope_internal.h"

void	init_envelope_tests(void);

static int	suite_init(void);
static int	suite_cleanup(void);

/* ---- building blocks of test documents ------------------------------ */

#define XDECL		"<?xml version=\"1.0\"?>"
#define MSG_OPEN	"<Message version=\"1.0\">"
#define MSG_CLOSE	"</Message>"
#define P_X		"<parameters><x/></parameters>"
#define A_T		"Message_Type=\"1000\""
#define A_S		"SessionId=\"5F1C9A0E33B2D871\""
#define A_Q		"Seq=\"7\""
#define A_F		"From=\"00010002\""
#define A_O		"To=\"00020003\""
#define HDR_ALL		A_T " " A_S " " A_Q " " A_F " " A_O
#define HDR		"<Header " HDR_ALL "/>"
#define BASE		MSG_OPEN HDR P_X MSG_CLOSE
/* A whole envelope with these Header attributes. */
#define WITH_HDR(a)	MSG_OPEN "<Header " a "/>" P_X MSG_CLOSE
/* The base Header with one more attribute. */
#define HDR_PLUS(a)	WITH_HDR(HDR_ALL " " a)
/* Whatever follows the Header inside Message. */
#define WITH_BODY(b)	MSG_OPEN HDR b MSG_CLOSE
/* The inner content of parameters. */
#define WITH_PARAMS(i)	MSG_OPEN HDR "<parameters>" i "</parameters>" MSG_CLOSE

#define SESS		"5F1C9A0E33B2D871"

/* ---- invalid inputs ------------------------------------------------- */

struct icase {
	const char	*name;
	const char	*doc;
	size_t		 len;
	int		 code;
};

#define I(n, lit)	{ n, lit, sizeof(lit) - 1, 400 }

static const struct icase invalid_static[] = {
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

/* Invalid inputs built at run time. */
struct idyn {
	char		*name;
	uint8_t		*doc;
	size_t		 len;
	int		 code;
};

static struct idyn	*inv_dyn;
static size_t		 inv_ndyn;

/* All invalid inputs, static then generated, for loops. */
struct iref {
	const char	*name;
	const uint8_t	*doc;
	size_t		 len;
	int		 code;
};

static struct iref	*inv_all;
static size_t		 inv_nall;

/* ---- valid inputs ---------------------------------------------------- */

#define NOTTL	-1
#define NORE	-1

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
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "declaration with encoding UTF-8",
	  .doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" BASE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "declaration, single quotes, utf-8, standalone",
	  .doc = "<?xml version='1.0' encoding='utf-8' standalone='yes'?>"
	  BASE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "without declaration", .doc = BASE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "single-quoted attributes, no parameters",
	  .doc = "<Message version='1.0'><Header Message_Type='1000' "
	  "SessionId='" SESS "' Seq='7' From='00010002' To='00020003'/>"
	  "</Message>",
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "character references",
	  .doc = MSG_OPEN "<Header Message_Type=\"1&#48;00\" SessionId=\""
	  "&#x35;F1C9A0E33B2D871\" Seq=\"&#55;\" From=\"&#48;0010002\" "
	  "To=\"&#x30;0020003\"/>" P_X MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
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
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "Via with 8 codes",
	  .doc = HDR_PLUS("Via=\"00010000 00020000 00030000 00040000 "
	  "00000000 00060000 00070000 FFFE0000\""),
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE, .nvia = 8,
	  .via = { 0x00010000, 0x00020000, 0x00030000, 0x00040000,
	  0x00000000, 0x00060000, 0x00070000, 0xFFFE0000 } },
	{ .name = "unknown attributes",
	  .doc = MSG_OPEN "<Header x-a=\"1\" " A_T " b=\"x&amp;y&lt;z\" " A_S
	  " " A_Q " c=\"1&#10;2&#9;3&#13;\" " A_F " d=\"p\tq\nr\" " A_O
	  " e=\"a>b\" f='say \"hi\"' g=\"\xC3\xBF\xE2\x82\xAC\xF0\x9F\x98\x80\""
	  " h=\"\" i=\"&amp;#38;|&#38;amp;|&amp;amp;\"/>" P_X MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE,
	  .attrs = { "x-a", "1", "b", "x&y<z", "c", "1\n2\t3\r",
	  "d", "p q r", "e", "a>b", "f", "say \"hi\"",
	  "g", "\xC3\xBF\xE2\x82\xAC\xF0\x9F\x98\x80", "h", "",
	  "i", "&#38;|&amp;|&amp;", NULL } },
	{ .name = "namespaced unknown attributes",
	  .doc = MSG_OPEN "<Header xmlns:n=\"urn:n\" n:k=\"v\" " HDR_ALL
	  " n:Seq=\"junk\"/>" P_X MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE,
	  .attrs = { "n:k", "v", "n:Seq", "junk", NULL } },
	{ .name = "comments everywhere",
	  .doc = "<!-- c0 -->" MSG_OPEN "<!-- c1 -->" HDR "<!-- c2 -->"
	  "<parameters><!-- c3 --><x/></parameters><!-- c4 -->" MSG_CLOSE
	  "<!-- c5 -->",
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "white space between and around elements",
	  .doc = "\n  <Message\n version = \"1.0\" >\n\t<Header\n  "
	  A_T "\t" A_S "\n " A_Q " " A_F "  " A_O "\n />\n  <parameters>\n"
	  "  <x/>\n</parameters>\n</Message>\n\n",
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "CRLF line ends",
	  .doc = XDECL "\r\n" MSG_OPEN "\r\n<Header " HDR_ALL "\r\n/>\r\n"
	  "<parameters>\r\n<x a=\"1\r\n2\"/>\r\n</parameters>\r\n" MSG_CLOSE
	  "\r\n",
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "Header with an end tag and a comment",
	  .doc = MSG_OPEN "<Header " HDR_ALL "><!-- note --></Header>" P_X
	  MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "Header with an empty end tag",
	  .doc = MSG_OPEN "<Header " HDR_ALL "></Header >" MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "CDATA and entities in parameters",
	  .doc = WITH_PARAMS("<![CDATA[<not> &xml; ]]>&lt;&amp;&gt;&quot;"
	  "&apos;&#x263A;&#9731;<a b=\"&amp;&#x41;\"/>]]&gt;"),
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "namespaced content in parameters",
	  .doc = "<Message version=\"1.0\" xmlns:q=\"urn:q\">" HDR
	  "<parameters xmlns:p=\"urn:p\"><p:a p:b=\"1\"><c xmlns=\"urn:d\">"
	  "<d/></c></p:a><q:z/></parameters>" MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "multi-byte UTF-8",
	  .doc = MSG_OPEN "<Header " HDR_ALL " nom=\"Gr\xC3\xBC\xC3\x9F" "e\"/>"
	  "<parameters><donn\xC3\xA9" "es v=\"\xE6\x97\xA5\xE6\x9C\xAC\">"
	  "Gr\xC3\xBC\xC3\x9F" "e, \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E, "
	  "\xF0\x9F\x98\x80</donn\xC3\xA9" "es></parameters>" MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE,
	  .attrs = { "nom", "Gr\xC3\xBC\xC3\x9F" "e", NULL } },
	{ .name = "empty parameters element", .doc = WITH_BODY("<parameters/>"),
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "parameters with attributes and odd spacing",
	  .doc = MSG_OPEN HDR "\n<parameters  a = '1' >\r\n <x  y='2' ></x>"
	  "&amp;&#65;<![CDATA[]]></parameters  >\n" MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "a comment holding '<Header' before the Header",
	  .doc = MSG_OPEN "<!-- <Header Seq=\"1\"/> -->" HDR P_X MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE, .hskip = 1 },
	{ .name = "Message and Header inside parameters",
	  .doc = WITH_PARAMS("<Message version=\"9\"><Header Seq=\"x\"/>"
	  "</Message>"),
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "namespace declaration on Message and Header",
	  .doc = "<Message version=\"1.0\" xmlns:m=\"urn:m\">"
	  "<Header xmlns:h=\"urn:h\" " HDR_ALL " h:x=\"1\"/>"
	  "<parameters><m:a/></parameters>" MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE,
	  .attrs = { "h:x", "1", NULL } },
	{ .name = "long unknown attribute names",
	  .doc = MSG_OPEN "<Header xmlns:" N100 "=\"urn:long\" " HDR_ALL " "
	  N100 ":" N300 "=\"1\" " N300 "=\"2\"/>" P_X MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE,
	  .attrs = { N100 ":" N300, "1", N300, "2", NULL } },
	{ .name = "empty default namespace on Message",
	  .doc = "<Message xmlns=\"\" version=\"1.0\">" HDR P_X MSG_CLOSE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "depth exactly 64", .gen = GEN_DEPTH64,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "300 KB of comments before the Header",
	  .gen = GEN_BIG_COMMENTS,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
	{ .name = "a 200 KB unknown attribute before the known ones",
	  .gen = GEN_BIG_ATTR,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE,
	  .attrs = { "big", NULL /* set up at run time */, NULL } },
	{ .name = "100 KB of white space around the Header",
	  .gen = GEN_BIG_SPACE,
	  .type = 1000, .seq = 7, .from = 0x00010002, .to = 0x00020003,
	  .session = SESS, .ttl = NOTTL, .re = NORE },
};

#define NVALID	(sizeof(valid_cases) / sizeof(valid_cases[0]))

/* A growing byte buffer. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static uint64_t	splitmix(uint64_t *);
static void	*xmalloc(size_t);
static char	*xstrdup(const char *);
static void	sb_add(struct sbuf *, const void *, size_t);
static void	sb_str(struct sbuf *, const char *);
static void	sb_rep(struct sbuf *, const char *, size_t);
static char	*nested_doc(size_t, size_t *);
static uint8_t	*utf16_doc(const char *, bool, bool, size_t *);
static void	dyn_add(const char *, void *, size_t, int);
static char	*laughs_doc(size_t *);
static int	verdict_header(struct env_parser *, const void *, size_t,
		    struct env_header *, struct env_error *);
static int	verdict_full(struct env_parser *, const void *, size_t,
		    struct env_msg **, struct env_error *);
static bool	reason_ok(const struct env_error *);
static bool	hdr_same(const struct env_header *, const struct env_header *,
		    bool, const char *);
static void	vcase_header(const struct vcase *, struct env_header *);
static size_t	tag_end_at(const char *, size_t);
static size_t	header_at(const struct vcase *);
static const char *params_at(const char *, size_t, size_t *);
static bool	attrs_match(const struct env_msg *, const char *const *,
		    const char *);
static void	check_invalid(const char *, const void *, size_t, int,
		    uint32_t);
static void	test_invalid_table(void);
static char	*sized_doc(size_t);
static void	test_size_limit(void);
static void	check_valid(struct env_parser *, const struct vcase *);
static void	test_valid_table(void);
static void	test_equal_discriminates(void);
static void	test_params_node(void);
static void	test_build_roundtrip(void);
static void	test_build_sessions(void);
static void	test_build_attr_names(void);
static void	test_build_attr_values(void);
static void	test_set_parameters_refuses(void);
static void	test_params_exact(void);
static size_t	numbered_doc(char *, size_t, uint32_t);
static bool	numbered_ok(struct env_parser *, uint32_t, bool);
static void	test_parser_reuse(void);
static void	test_parser_dict_growth(void);
static void	*thread_main(void *);
static void	test_threads(void);

/* ---- helpers ----------------------------------------------------------- */

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static void
sb_add(struct sbuf *b, const void *s, size_t n)
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

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void
sb_rep(struct sbuf *b, const char *s, size_t n)
{
	while (n-- > 0)
		sb_str(b, s);
}

/* An envelope whose parameters hold k nested elements: depth 2 + k. */
static char *
nested_doc(size_t k, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };

	sb_str(&b, MSG_OPEN HDR "<parameters>");
	if (k > 0) {
		sb_rep(&b, "<a>", k - 1);
		sb_str(&b, "<e/>");
		sb_rep(&b, "</a>", k - 1);
	}
	sb_str(&b, "</parameters>" MSG_CLOSE);
	if (len != NULL)
		*len = b.len;
	return b.p;
}

/* Copies an ASCII document to UTF-16 (le or be), optionally with BOM. */
static uint8_t *
utf16_doc(const char *ascii, bool le, bool bom, size_t *len)
{
	size_t n = strlen(ascii), i, o = 0;
	uint8_t *d = xmalloc(2 * n + 2);

	if (bom) {
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

static void
dyn_add(const char *name, void *doc, size_t len, int code)
{
	struct idyn *n;

	n = realloc(inv_dyn, (inv_ndyn + 1) * sizeof(*n));
	if (n == NULL)
		abort();
	inv_dyn = n;
	inv_dyn[inv_ndyn].name = xstrdup(name);
	inv_dyn[inv_ndyn].doc = doc;
	inv_dyn[inv_ndyn].len = len;
	inv_dyn[inv_ndyn].code = code;
	inv_ndyn++;
}

/* The billion laughs: 10 levels of 10 references. */
static char *
laughs_doc(size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	char ent[64];
	int i, j;

	sb_str(&b, "<!DOCTYPE Message [\n<!ENTITY l0 \"lol\">\n");
	for (i = 1; i < 10; i++) {
		snprintf(ent, sizeof(ent), "<!ENTITY l%d \"", i);
		sb_str(&b, ent);
		for (j = 0; j < 10; j++) {
			snprintf(ent, sizeof(ent), "&l%d;", i - 1);
			sb_str(&b, ent);
		}
		sb_str(&b, "\">\n");
	}
	sb_str(&b, "]>\n" WITH_PARAMS("&l9;"));
	*len = b.len;
	return b.p;
}


/* Builds the generated invalid inputs and the table of all of them. */
static int
suite_init(void)
{
	size_t len, i;
	char *s;
	uint8_t *u;

	s = laughs_doc(&len);
	dyn_add("billion laughs (10 x 10)", s, len, 400);
	s = laughs_doc(&len);
	/* The same laughs used in an attribute. */
	{
		struct sbuf b = { NULL, 0, 0 };
		char *at = strstr(s, "]>\n");

		sb_add(&b, s, (size_t)(at - s) + 3);
		sb_str(&b, HDR_PLUS("x=\"&l9;\""));
		free(s);
		dyn_add("billion laughs in an attribute", b.p, b.len, 400);
	}
	s = nested_doc(10000, &len);
	dyn_add("10 000-deep nesting", s, len, 400);
	s = nested_doc(63, &len);
	dyn_add("depth 65", s, len, 400);
	s = nested_doc(64, &len);
	dyn_add("depth 66", s, len, 400);
	/* Depth 65 made of Header-like names still counts. */
	{
		struct sbuf b = { NULL, 0, 0 };

		sb_str(&b, MSG_OPEN HDR "<parameters>");
		sb_rep(&b, "<Message>", 62);
		sb_str(&b, "<Header/>");
		sb_rep(&b, "</Message>", 62);
		sb_str(&b, "</parameters>" MSG_CLOSE);
		dyn_add("depth 65 of Message elements", b.p, b.len, 400);
	}
	u = utf16_doc(BASE, true, true, &len);
	dyn_add("UTF-16LE with BOM", u, len, 400);
	u = utf16_doc(BASE, false, true, &len);
	dyn_add("UTF-16BE with BOM", u, len, 400);
	u = utf16_doc(BASE, true, false, &len);
	dyn_add("UTF-16LE without BOM", u, len, 400);
	u = utf16_doc(BASE, false, false, &len);
	dyn_add("UTF-16BE without BOM", u, len, 400);
	u = utf16_doc("<?xml version=\"1.0\" encoding=\"UTF-16\"?>" BASE,
	    true, false, &len);
	dyn_add("UTF-16LE declaration, no BOM", u, len, 400);
	u = utf16_doc("<?xml version=\"1.0\" encoding=\"UTF-16\"?>" BASE,
	    true, true, &len);
	dyn_add("UTF-16LE declaration and BOM", u, len, 400);
	/* A name longer than libxml2's default limit of 50 000. */
	{
		struct sbuf b = { NULL, 0, 0 };

		sb_str(&b, MSG_OPEN HDR "<parameters><");
		sb_rep(&b, "n", 60000);
		sb_str(&b, "/></parameters>" MSG_CLOSE);
		dyn_add("60 000-char element name", b.p, b.len, 400);
	}

	inv_nall = sizeof(invalid_static) / sizeof(invalid_static[0]) +
	    inv_ndyn;
	inv_all = xmalloc(inv_nall * sizeof(*inv_all));
	for (i = 0; i < sizeof(invalid_static) / sizeof(invalid_static[0]);
	    i++) {
		inv_all[i].name = invalid_static[i].name;
		inv_all[i].doc = (const uint8_t *)invalid_static[i].doc;
		inv_all[i].len = invalid_static[i].len;
		inv_all[i].code = invalid_static[i].code;
	}
	for (i = 0; i < inv_ndyn; i++) {
		struct iref *r = &inv_all[i + inv_nall - inv_ndyn];

		r->name = inv_dyn[i].name;
		r->doc = inv_dyn[i].doc;
		r->len = inv_dyn[i].len;
		r->code = inv_dyn[i].code;
	}

	gen_docs[GEN_DEPTH64] = nested_doc(62, NULL);
	{
		struct sbuf b = { NULL, 0, 0 };

		sb_str(&b, "<!--");
		sb_rep(&b, "c ", 100000);
		sb_str(&b, "-->\n" MSG_OPEN "<!--");
		sb_rep(&b, "d ", 50000);
		sb_str(&b, "-->" HDR "<!--");
		sb_rep(&b, "e ", 10000);
		sb_str(&b, "-->" P_X MSG_CLOSE);
		gen_docs[GEN_BIG_COMMENTS] = b.p;
	}
	{
		struct sbuf b = { NULL, 0, 0 }, v = { NULL, 0, 0 };

		sb_rep(&v, "v>", 100000);
		big_value = v.p;
		sb_str(&b, MSG_OPEN "<Header big=\"");
		sb_str(&b, big_value);
		sb_str(&b, "\" " HDR_ALL "/>" P_X MSG_CLOSE);
		gen_docs[GEN_BIG_ATTR] = b.p;
	}
	{
		struct sbuf b = { NULL, 0, 0 };

		sb_str(&b, MSG_OPEN);
		sb_rep(&b, " \n\t\r\n", 10000);
		sb_str(&b, "<Header ");
		sb_rep(&b, " \n", 10000);
		sb_str(&b, HDR_ALL);
		sb_rep(&b, " \n", 10000);
		sb_str(&b, "/>");
		sb_rep(&b, " \n\t\r\n", 10000);
		sb_str(&b, P_X MSG_CLOSE);
		gen_docs[GEN_BIG_SPACE] = b.p;
	}
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

	for (i = 0; i < inv_ndyn; i++) {
		free(inv_dyn[i].name);
		free(inv_dyn[i].doc);
	}
	free(inv_dyn);
	inv_dyn = NULL;
	inv_ndyn = 0;
	free(inv_all);
	inv_all = NULL;
	inv_nall = 0;
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

/* Verdict of one path: 0 when accepted, else err->code (or -2 when -1
 * came back with code 0, which is never right for a parse). */
static int
verdict_header(struct env_parser *p, const void *doc, size_t len,
    struct env_header *h, struct env_error *err)
{
	memset(err, 0, sizeof(*err));
	if (env_parse_header(p, doc, len, h, err) == 0)
		return 0;
	return err->code != 0 ? err->code : -2;
}

static int
verdict_full(struct env_parser *p, const void *doc, size_t len,
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
static bool
reason_ok(const struct env_error *e)
{
	return e->reason[0] != '\0' &&
	    memchr(e->reason, '\0', sizeof(e->reason)) != NULL &&
	    strchr(e->reason, '\n') == NULL && strchr(e->reason, '\r') == NULL;
}

/* Compares two headers; offsets too when with_off.  Says what differs. */
static bool
hdr_same(const struct env_header *a, const struct env_header *b,
    bool with_off, const char *what)
{
	const char *f = NULL;
	uint8_t i;

	if (a->type != b->type)
		f = "type";
	else if (a->seq != b->seq)
		f = "seq";
	else if (a->from != b->from)
		f = "from";
	else if (a->to != b->to)
		f = "to";
	else if (strncmp(a->session, b->session, sizeof(a->session)) != 0)
		f = "session";
	else if (a->ack != b->ack)
		f = "ack";
	else if (a->has_ttl != b->has_ttl || (a->has_ttl &&
	    a->ttl != b->ttl))
		f = "ttl";
	else if (a->has_re != b->has_re || (a->has_re && a->re != b->re))
		f = "re";
	else if (a->nvia != b->nvia)
		f = "nvia";
	else if (with_off && a->tag_start != b->tag_start)
		f = "tag_start";
	else if (with_off && a->tag_end != b->tag_end)
		f = "tag_end";
	else
		for (i = 0; i < a->nvia && i < ENV_MAX_VIA; i++)
			if (a->via[i] != b->via[i])
				f = "via";
	if (f != NULL)
		fprintf(stderr, "\n%s: headers differ in %s\n", what, f);
	return f == NULL;
}

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
static bool
attrs_match(const struct env_msg *m, const char *const *want,
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

/* ---- invalid inputs --------------------------------------------------- */

static void
check_invalid(const char *name, const void *doc, size_t len, int code,
    uint32_t max_size)
{
	struct env_parser *p;
	struct env_header h;
	struct env_error e1, e2;
	struct env_msg *m;
	int v1, v2;

	p = env_parser_new(max_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	v1 = verdict_header(p, doc, len, &h, &e1);
	v2 = verdict_full(p, doc, len, &m, &e2);
	CU_ASSERT_EQUAL(v1, code);
	CU_ASSERT_EQUAL(v2, code);
	CU_ASSERT_EQUAL(v1, v2);
	if (v1 != 0)
		CU_ASSERT(reason_ok(&e1));
	if (v2 != 0)
		CU_ASSERT(reason_ok(&e2));
	if (v1 != code || v2 != code)
		fprintf(stderr, "\ninvalid \"%s\": header path %d (%s), full "
		    "path %d (%s), want %d\n", name, v1, e1.reason, v2,
		    e2.reason, code);
	else if (!reason_ok(&e1) || !reason_ok(&e2))
		fprintf(stderr, "\ninvalid \"%s\": reason is not one line: "
		    "\"%s\"\n", name, !reason_ok(&e1) ? e1.reason : e2.reason);
	if (v2 == 0)
		env_msg_free(m);
	env_parser_free(p);
}

static void
test_invalid_table(void)
{
	size_t i;

	CU_ASSERT(inv_nall >= 45);
	for (i = 0; i < inv_nall; i++)
		check_invalid(inv_all[i].name, inv_all[i].doc, inv_all[i].len,
		    inv_all[i].code, 0);
}

/* A valid envelope of exactly n bytes (n >= 200). */
static char *
sized_doc(size_t n)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *tail = "</parameters>" MSG_CLOSE;

	sb_str(&b, MSG_OPEN HDR "<parameters>");
	while (b.len + strlen(tail) < n)
		sb_add(&b, "a", 1);
	sb_str(&b, tail);
	return b.p;
}

static void
test_size_limit(void)
{
	struct env_parser *p;
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	char *d;

	d = sized_doc(2048);
	CU_ASSERT_EQUAL(strlen(d), 2048);
	check_invalid("2048 bytes, max 1024", d, 2048, 413, 1024);
	free(d);
	d = sized_doc(1025);
	check_invalid("1025 bytes, max 1024", d, 1025, 413, 1024);
	free(d);

	/* Exactly max_size is fine. */
	d = sized_doc(1024);
	CU_ASSERT_EQUAL(strlen(d), 1024);
	p = env_parser_new(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(verdict_header(p, d, 1024, &h, &e), 0);
	CU_ASSERT_EQUAL(verdict_full(p, d, 1024, &m, &e), 0);
	env_msg_free(m);
	/* The same parser still refuses more, and accepts again. */
	free(d);
	d = sized_doc(4096);
	CU_ASSERT_EQUAL(verdict_header(p, d, 4096, &h, &e), 413);
	CU_ASSERT_EQUAL(verdict_full(p, d, 4096, &m, &e), 413);
	CU_ASSERT_EQUAL(verdict_header(p, d, 1000, &h, &e), 400);
	env_parser_free(p);
	free(d);

	/* max_size 0 means 16 MiB: a 2 MiB envelope is fine. */
	d = sized_doc(2 * 1024 * 1024);
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(verdict_header(p, d, strlen(d), &h, &e), 0);
	CU_ASSERT_EQUAL(verdict_full(p, d, strlen(d), &m, &e), 0);
	if (m != NULL) {
		size_t plen = 0;

		CU_ASSERT_PTR_NOT_NULL(env_msg_parameters(m, &plen));
		CU_ASSERT(plen > 2 * 1000 * 1000);
	}
	env_msg_free(m);
	env_parser_free(p);
	free(d);
}

/* ---- valid inputs ----------------------------------------------------- */

/* Parses v on both paths, compares, round trips.  Returns true if ok. */
static void
check_valid(struct env_parser *p, const struct vcase *v)
{
	struct env_header h1, want, h3;
	const struct env_header *h2, *h4;
	struct env_error e;
	struct env_msg *m = NULL, *m2 = NULL;
	size_t len = strlen(v->doc), at, pl, wl, slen, flen, slen2;
	const char *pb, *wb;
	uint8_t *ser = NULL, *fr = NULL, *ser2 = NULL;
	int r1, r2;
	void *node;

	r1 = verdict_header(p, v->doc, len, &h1, &e);
	if (r1 != 0)
		fprintf(stderr, "\nvalid \"%s\": header path says %d (%s)\n",
		    v->name, r1, e.reason);
	CU_ASSERT_EQUAL(r1, 0);
	r2 = verdict_full(p, v->doc, len, &m, &e);
	if (r2 != 0)
		fprintf(stderr, "\nvalid \"%s\": full path says %d (%s)\n",
		    v->name, r2, e.reason);
	CU_ASSERT_EQUAL(r2, 0);
	if (r2 != 0)
		return;
	h2 = env_msg_header(m);
	CU_ASSERT_PTR_NOT_NULL(h2);
	if (h2 == NULL) {
		env_msg_free(m);
		return;
	}

	/* Both paths, same header, offsets included. */
	if (r1 == 0)
		CU_ASSERT(hdr_same(&h1, h2, true, v->name));
	vcase_header(v, &want);
	CU_ASSERT(hdr_same(h2, &want, false, v->name));

	/* tag_start at the real "<Header", tag_end past its '>'. */
	at = header_at(v);
	CU_ASSERT_EQUAL(h2->tag_start, at);
	CU_ASSERT_EQUAL(h2->tag_end, tag_end_at(v->doc, at));
	CU_ASSERT(h2->tag_end > h2->tag_start && h2->tag_end <= len);
	if (h2->tag_end > h2->tag_start && h2->tag_end <= len) {
		CU_ASSERT(strncmp(v->doc + h2->tag_start, "<Header", 7) == 0);
		CU_ASSERT_EQUAL(v->doc[h2->tag_end - 1], '>');
	}

	/* Unknown attributes, in order, decoded. */
	CU_ASSERT(attrs_match(m, v->attrs, v->name));

	/* The parameters element, byte for byte. */
	wb = params_at(v->doc, at, &wl);
	pl = 12345;
	pb = env_msg_parameters(m, &pl);
	if (wb == NULL) {
		CU_ASSERT_PTR_NULL(pb);
		CU_ASSERT_EQUAL(pl, 0);
		CU_ASSERT_PTR_NULL(env_msg_parameters_node(m));
	} else {
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
			xmlNodePtr n = node;

			CU_ASSERT_EQUAL(n->type, XML_ELEMENT_NODE);
			CU_ASSERT_STRING_EQUAL((const char *)n->name,
			    "parameters");
			/* Cached: asked twice, the same node. */
			CU_ASSERT_PTR_EQUAL(env_msg_parameters_node(m), node);
		}
	}
	CU_ASSERT(env_msg_equal(m, m));

	/* Round trip: serialize, parse again, equal. */
	if (env_serialize(m, false, &ser, &slen) != 0 || ser == NULL) {
		CU_FAIL("env_serialize failed");
		env_msg_free(m);
		return;
	}
	CU_ASSERT_EQUAL(ser[slen], '\0');
	CU_ASSERT_EQUAL(strlen((char *)ser), slen);
	r2 = verdict_full(p, ser, slen, &m2, &e);
	if (r2 != 0)
		fprintf(stderr, "\nvalid \"%s\": its serialization fails: %d "
		    "(%s)\n%s\n", v->name, r2, e.reason, (char *)ser);
	CU_ASSERT_EQUAL(r2, 0);
	if (m2 != NULL) {
		CU_ASSERT(env_msg_equal(m, m2));
		CU_ASSERT(env_msg_equal(m2, m));
		h4 = env_msg_header(m2);
		CU_ASSERT(hdr_same(h4, &want, false, v->name));
		CU_ASSERT(attrs_match(m2, v->attrs, v->name));
		/* The fast path agrees on the serialized bytes. */
		CU_ASSERT_EQUAL(verdict_header(p, ser, slen, &h3, &e), 0);
		CU_ASSERT(hdr_same(&h3, h4, true, v->name));
		CU_ASSERT(h4->tag_end <= slen && h4->tag_start < h4->tag_end &&
		    memcmp(ser + h4->tag_start, "<Header", 7) == 0 &&
		    ser[h4->tag_end - 1] == '>');
		/* Serializing again gives the same bytes. */
		if (env_serialize(m2, false, &ser2, &slen2) == 0) {
			CU_ASSERT_EQUAL(slen2, slen);
			CU_ASSERT(slen2 == slen &&
			    memcmp(ser, ser2, slen) == 0);
			free(ser2);
		} else {
			CU_FAIL("second serialization failed");
		}
		env_msg_free(m2);
	}

	/* Framed: the big-endian length, then the same bytes. */
	if (env_serialize(m, true, &fr, &flen) != 0 || fr == NULL) {
		CU_FAIL("framed env_serialize failed");
		fr = NULL;
		flen = 0;
	}
	CU_ASSERT_EQUAL(flen, slen + 4);
	if (fr != NULL && flen == slen + 4) {
		CU_ASSERT_EQUAL(((uint32_t)fr[0] << 24 | (uint32_t)fr[1] << 16 |
		    (uint32_t)fr[2] << 8 | fr[3]), slen);
		CU_ASSERT(memcmp(fr + 4, ser, slen) == 0);
		CU_ASSERT_EQUAL(fr[flen], '\0');
	}
	free(fr);
	free(ser);
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

/* Distinct valid inputs are not equal messages; a setter breaks equality. */
static void
test_equal_discriminates(void)
{
	/* Cases whose messages truly differ from the base one. */
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
	CU_ASSERT_EQUAL_FATAL(verdict_full(p, BASE, strlen(BASE), &a, &e), 0);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (verdict_full(p, others[i], strlen(others[i]), &b,
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

	/* Equal after a parse of the same bytes; not after a setter. */
	CU_ASSERT_EQUAL_FATAL(verdict_full(p, BASE, strlen(BASE), &b, &e), 0);
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
	CU_ASSERT_EQUAL_FATAL(verdict_full(p, XDECL "<!-- c -->\n" BASE,
	    strlen(XDECL "<!-- c -->\n" BASE), &b, &e), 0);
	CU_ASSERT(env_msg_header(b)->tag_start != env_msg_header(a)->tag_start);
	CU_ASSERT(env_msg_equal(a, b));
	env_msg_free(b);
	env_msg_free(a);
	env_parser_free(p);
}

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
	xmlNodePtr n, c;
	int k = 0;

	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(verdict_full(p, doc, sizeof(doc) - 1, &m, &e),
	    0);
	n = env_msg_parameters_node(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(n->type, XML_ELEMENT_NODE);
	CU_ASSERT_STRING_EQUAL((const char *)n->name, "parameters");
	CU_ASSERT_PTR_NULL(n->ns);
	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		switch (k++) {
		case 0:
			CU_ASSERT_STRING_EQUAL((const char *)c->name, "z");
			CU_ASSERT(c->ns != NULL && c->ns->href != NULL &&
			    strcmp((const char *)c->ns->href, "urn:q") == 0);
			break;
		case 1:
			CU_ASSERT_STRING_EQUAL((const char *)c->name, "a");
			CU_ASSERT(c->ns != NULL && c->ns->href != NULL &&
			    strcmp((const char *)c->ns->href, "urn:p") == 0);
			break;
		case 2:
			CU_ASSERT_STRING_EQUAL((const char *)c->name, "plain");
			CU_ASSERT_PTR_NULL(c->ns);
			CU_ASSERT(c->children != NULL &&
			    c->children->type == XML_TEXT_NODE &&
			    strcmp((const char *)c->children->content,
			    "x & y") == 0);
			break;
		}
	}
	CU_ASSERT_EQUAL(k, 3);
	env_msg_free(m);

	/* No parameters: no node. */
	CU_ASSERT_EQUAL_FATAL(verdict_full(p, WITH_BODY(""),
	    strlen(WITH_BODY("")), &m, &e), 0);
	CU_ASSERT_PTR_NULL(env_msg_parameters_node(m));
	env_msg_free(m);
	env_parser_free(p);
}

/* ---- built messages ------------------------------------------------- */

static const char build_inner[] =
    "<a x=\"1\" y='&lt;&amp;'><b>text &amp; \xE6\x97\xA5\xE6\x9C\xAC"
    "\xE8\xAA\x9E \xF0\x9F\x98\x80</b><c/><!-- note --><d><e><f>deep"
    "</f></e></d><![CDATA[<raw>]]></a>tail \xC3\xA9";

static void
test_build_roundtrip(void)
{
	static const uint32_t via[8] = { 0x00010000, 0x00000000, 0x00020000,
	    0xFFFE0000, 0x0003000A, 0x00040000, 0x00050000, 0x00060000 };
	static const char *const attrs[] = {
		"note", "a<b&\"c'",
		"ws", "tab\there\nnewline\r.",
		"uni", "\xE6\x97\xA5\xE6\x9C\xAC\xF0\x9F\x98\x80",
		"gt", "]]>",
		"empty", "",
		"sp", "  two  spaces  ",
		NULL
	};
	struct env_parser *p;
	struct env_msg *m, *m2;
	struct env_error e;
	const struct env_header *h;
	uint8_t *ser;
	size_t slen, pl, i;
	const char *pb;
	char want[512];
	int r;

	m = env_msg_new(1234, "0123456789ABCDEF", 42, 0x00010002, 0x0003000A);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	env_msg_set_ack(m, true);
	env_msg_set_ttl(m, true, 3600);
	env_msg_set_re(m, true, 41);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(env_msg_add_via(m, via[i]), 0);
	CU_ASSERT_EQUAL(env_msg_add_via(m, 0x00070000), -1);	/* 9th */
	CU_ASSERT_EQUAL(env_msg_header(m)->nvia, 8);
	CU_ASSERT_EQUAL(env_msg_header(m)->via[7], 0x00060000);
	for (i = 0; attrs[2 * i] != NULL; i++)
		CU_ASSERT_EQUAL(env_msg_add_attr(m, attrs[2 * i],
		    attrs[2 * i + 1]), 0);
	CU_ASSERT(attrs_match(m, attrs, "built"));
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

	CU_ASSERT_EQUAL_FATAL(env_serialize(m, false, &ser, &slen), 0);
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	r = verdict_full(p, ser, slen, &m2, &e);
	if (r != 0)
		fprintf(stderr, "\nbuilt message: %d (%s)\n%s\n", r, e.reason,
		    (char *)ser);
	CU_ASSERT_EQUAL(r, 0);
	if (m2 != NULL) {
		CU_ASSERT(env_msg_equal(m, m2));
		CU_ASSERT(attrs_match(m2, attrs, "built, parsed"));
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
		CU_ASSERT(memcmp(h->via, via, sizeof(via)) == 0);
		pb = env_msg_parameters(m2, &pl);
		CU_ASSERT(pb != NULL && pl == strlen(want) &&
		    memcmp(pb, want, pl) == 0);
		CU_ASSERT(h->tag_start + 7 <= slen &&
		    strncmp((char *)ser + h->tag_start, "<Header", 7) == 0);
		env_msg_free(m2);
	}
	/* Codes written by a node are upper case. */
	CU_ASSERT_PTR_NOT_NULL(strstr((char *)ser, "0003000A"));
	CU_ASSERT_PTR_NULL(strstr((char *)ser, "0003000a"));
	free(ser);

	/* Clear the optional ones: they are gone after a round trip. */
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
	CU_ASSERT_EQUAL(verdict_full(p, ser, slen, &m2, &e), 0);
	if (m2 != NULL) {
		h = env_msg_header(m2);
		CU_ASSERT(!h->ack && !h->has_ttl && !h->has_re);
		CU_ASSERT(env_msg_equal(m, m2));
		env_msg_free(m2);
	}
	free(ser);

	/* TTL 0 and Re 0 are values, not absence. */
	env_msg_set_ttl(m, true, 0);
	env_msg_set_re(m, true, 0);
	CU_ASSERT_EQUAL_FATAL(env_serialize(m, false, &ser, &slen), 0);
	CU_ASSERT_EQUAL(verdict_full(p, ser, slen, &m2, &e), 0);
	if (m2 != NULL) {
		h = env_msg_header(m2);
		CU_ASSERT(h->has_ttl && h->ttl == 0 && h->has_re &&
		    h->re == 0);
		CU_ASSERT(env_msg_equal(m, m2));
		env_msg_free(m2);
	}
	free(ser);

	/* An empty parameters element is kept. */
	CU_ASSERT_EQUAL(env_msg_set_parameters(m, "", 0, &e), 0);
	pb = env_msg_parameters(m, &pl);
	CU_ASSERT(pb != NULL && ((pl == 25 && memcmp(pb,
	    "<parameters></parameters>", 25) == 0) || (pl == 13 &&
	    memcmp(pb, "<parameters/>", 13) == 0)));
	CU_ASSERT_PTR_NOT_NULL(env_msg_parameters_node(m));
	CU_ASSERT_EQUAL_FATAL(env_serialize(m, true, &ser, &slen), 0);
	CU_ASSERT_EQUAL(((uint32_t)ser[0] << 24 | (uint32_t)ser[1] << 16 |
	    (uint32_t)ser[2] << 8 | ser[3]), slen - 4);
	CU_ASSERT_EQUAL(verdict_full(p, ser + 4, slen - 4, &m2, &e), 0);
	if (m2 != NULL) {
		CU_ASSERT(env_msg_equal(m, m2));
		CU_ASSERT_PTR_NOT_NULL(env_msg_parameters(m2, &pl));
		env_msg_free(m2);
	}
	free(ser);
	env_msg_free(m);
	env_parser_free(p);
}

static void
test_build_sessions(void)
{
	struct env_msg *m;
	struct env_parser *p;
	struct env_msg *m2;
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
	CU_ASSERT_EQUAL(verdict_full(p, ser, slen, &m2, &e), 0);
	if (m2 != NULL) {
		CU_ASSERT(env_msg_equal(m, m2));
		CU_ASSERT_STRING_EQUAL(env_msg_header(m2)->session, "");
		env_msg_free(m2);
	}
	free(ser);
	env_parser_free(p);

	CU_ASSERT_EQUAL(env_msg_set_session(m, "0123456789ABCDEF"), 0);
	CU_ASSERT_STRING_EQUAL(env_msg_header(m)->session,
	    "0123456789ABCDEF");
	CU_ASSERT_EQUAL(env_msg_set_session(m, "0123456789abcdef"), -1);
	CU_ASSERT_EQUAL(env_msg_set_session(m, "0123456789ABCDE"), -1);
	CU_ASSERT_EQUAL(env_msg_set_session(m, "0123456789ABCDEF0"), -1);
	CU_ASSERT_EQUAL(env_msg_set_session(m, "0123456789ABCDEG"), -1);
	CU_ASSERT_EQUAL(env_msg_set_session(m, " 123456789ABCDEF"), -1);
	/* A refused session leaves the old one. */
	CU_ASSERT_STRING_EQUAL(env_msg_header(m)->session,
	    "0123456789ABCDEF");
	CU_ASSERT_EQUAL(env_msg_set_session(m, ""), 0);
	CU_ASSERT_STRING_EQUAL(env_msg_header(m)->session, "");
	env_msg_free(m);

	m = env_msg_new(1, "", 0, 1, 2);
	CU_ASSERT_PTR_NOT_NULL(m);
	env_msg_free(m);
	CU_ASSERT_PTR_NULL(env_msg_new(1, "abc", 0, 1, 2));
	CU_ASSERT_PTR_NULL(env_msg_new(1, "0123456789abcdef", 0, 1, 2));
	CU_ASSERT_PTR_NULL(env_msg_new(1, "0123456789ABCDEF0", 0, 1, 2));
	CU_ASSERT_PTR_NULL(env_msg_new(1, "0123456789ABCDE", 0, 1, 2));
	CU_ASSERT_PTR_NULL(env_msg_new(1, "0123456789ABCDEX", 0, 1, 2));
}

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
		v = verdict_full(p, ser, slen, &m2, &e);
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
	char *deep;
	size_t i, pl, dl;
	const char *pb;

	m = env_msg_new(1000, NULL, 1, 0x00010002, 0x00020003);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(env_msg_set_parameters(m, "<ok/>", 5, &e), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (env_msg_set_parameters(m, bad[i].s, bad[i].n, &e) != -1 ||
		    e.code != 400 || !reason_ok(&e)) {
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

	/* Depth: parameters is 2, so 62 nested elements fit, 63 do not. */
	deep = nested_doc(62, &dl);
	{
		const char *s = strstr(deep, "<parameters>") + 12;
		const char *t = strstr(deep, "</parameters>");

		CU_ASSERT_EQUAL(env_msg_set_parameters(m, s, (size_t)(t - s),
		    &e), 0);
	}
	free(deep);
	deep = nested_doc(63, &dl);
	{
		const char *s = strstr(deep, "<parameters>") + 12;
		const char *t = strstr(deep, "</parameters>");

		memset(&e, 0, sizeof(e));
		CU_ASSERT_EQUAL(env_msg_set_parameters(m, s, (size_t)(t - s),
		    &e), -1);
		CU_ASSERT_EQUAL(e.code, 400);
	}
	free(deep);
	env_msg_free(m);
}

/* env_msg_parameters gives the exact original bytes. */
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
	CU_ASSERT_EQUAL_FATAL(verdict_full(p, doc, sizeof(doc) - 1, &m, &e),
	    0);
	pb = env_msg_parameters(m, &pl);
	CU_ASSERT_PTR_NOT_NULL(pb);
	CU_ASSERT_EQUAL(pl, (size_t)(t - s));
	CU_ASSERT(pb != NULL && pl == (size_t)(t - s) &&
	    memcmp(pb, s, pl) == 0);
	env_msg_free(m);
	env_parser_free(p);
}

/* ---- parser reuse ------------------------------------------------------ */

/* A valid envelope numbered i, with a multi-byte unknown attribute. */
static size_t
numbered_doc(char *buf, size_t sz, uint32_t i)
{
	int n;

	n = snprintf(buf, sz, "%s<Message version=\"1.0\"><Header "
	    "Message_Type=\"%u\" SessionId=\"%s\" Seq=\"%u\" From=\"%08X\" "
	    "To=\"00020003\" u=\"\xC3\xA9%u\"/><parameters><v n=\"%u\">"
	    "\xE6\x97\xA5</v></parameters></Message>",
	    i % 3 == 0 ? XDECL : "", 1000 + i % 7, i % 5 ? SESS : "",
	    (unsigned)i, (unsigned)(0x00010000u + (i & 0xFFFF) + 1),
	    (unsigned)i, (unsigned)i);
	return (size_t)n;
}

/* Checks a numbered envelope on one path; true when right. */
static bool
numbered_ok(struct env_parser *p, uint32_t i, bool full)
{
	char buf[512], want[32];
	size_t n = numbered_doc(buf, sizeof(buf), i);
	struct env_header h;
	const struct env_header *hp;
	struct env_error e;
	struct env_msg *m;
	const char *name, *value;
	bool ok;

	if (!full) {
		if (verdict_header(p, buf, n, &h, &e) != 0)
			return false;
		hp = &h;
	} else {
		if (verdict_full(p, buf, n, &m, &e) != 0)
			return false;
		hp = env_msg_header(m);
	}
	ok = hp->seq == i && hp->type == 1000 + i % 7 &&
	    hp->from == 0x00010000u + (i & 0xFFFF) + 1 &&
	    hp->to == 0x00020003 &&
	    strcmp(hp->session, i % 5 ? SESS : "") == 0 && !hp->ack &&
	    !hp->has_ttl && hp->nvia == 0 && hp->tag_start + 7 <= n &&
	    memcmp(buf + hp->tag_start, "<Header", 7) == 0;
	if (full) {
		snprintf(want, sizeof(want), "\xC3\xA9%u", (unsigned)i);
		ok = ok && env_msg_nattrs(m) == 1 &&
		    env_msg_attr(m, 0, &name, &value) == 0 &&
		    strcmp(name, "u") == 0 && strcmp(value, want) == 0;
		env_msg_free(m);
	}
	return ok;
}

static void
test_parser_reuse(void)
{
	struct env_parser *p;
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	size_t i, wrong = 0, k;
	const struct iref *r;
	int v;

	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < 10000; i++) {
		if (i % 2 == 0) {
			if (!numbered_ok(p, (uint32_t)i, i % 4 == 2)) {
				if (wrong++ == 0)
					fprintf(stderr, "\nreuse: valid %zu "
					    "refused or misread (after \"%s\")"
					    "\n", i, inv_all[((i - 1) / 2) %
					    inv_nall].name);
			}
		} else {
			k = (i / 2) % inv_nall;
			r = &inv_all[k];
			if (i % 4 == 1)
				v = verdict_header(p, r->doc, r->len, &h, &e);
			else {
				v = verdict_full(p, r->doc, r->len, &m, &e);
				if (v == 0)
					env_msg_free(m);
			}
			if (v != r->code && wrong++ == 0)
				fprintf(stderr, "\nreuse: \"%s\" gave %d\n",
				    r->name, v);
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	env_parser_free(p);
}

/*
 * 5 000 envelopes, each with a distinct 6 000-byte element name in its
 * parameters: 30 MB of names, far more than libxml2's 10 MB dictionary
 * cap for one context (reached after some 1 700 names, before any
 * count of documents or of names would renew it).  Every one still
 * parses, on both paths.
 */
static void
test_parser_dict_growth(void)
{
	struct env_parser *p;
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	struct sbuf b = { NULL, 0, 0 };
	char name[6100], num[32];
	size_t i, fail_h = 0, fail_f = 0, pre;
	int v;

	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(name, 'n', sizeof(name));
	name[6000] = '\0';
	sb_str(&b, MSG_OPEN HDR "<parameters><");
	pre = b.len;
	for (i = 0; i < 5000; i++) {
		snprintf(num, sizeof(num), "u%zu_", i);
		memcpy(name, num, strlen(num));
		b.len = pre;
		sb_str(&b, name);
		sb_str(&b, " a=\"1\"/></parameters>" MSG_CLOSE);
		v = verdict_header(p, b.p, b.len, &h, &e);
		if (v != 0 && fail_h++ == 0)
			fprintf(stderr, "\ndict: header path fails at %zu: %d"
			    " (%s)\n", i, v, e.reason);
		v = verdict_full(p, b.p, b.len, &m, &e);
		if (v != 0 && fail_f++ == 0)
			fprintf(stderr, "\ndict: full path fails at %zu: %d"
			    " (%s)\n", i, v, e.reason);
		if (v == 0)
			env_msg_free(m);
	}
	CU_ASSERT_EQUAL(fail_h, 0);
	CU_ASSERT_EQUAL(fail_f, 0);
	/* And ordinary envelopes still parse after all that. */
	CU_ASSERT(numbered_ok(p, 77, false));
	CU_ASSERT(numbered_ok(p, 78, true));
	free(b.p);
	env_parser_free(p);
}

/* ---- threads ----------------------------------------------------------- */

#define NTHREADS	4
#define PER_THREAD	2000

struct tjob {
	int		 id;
	size_t		 done;
	size_t		 wrong;
	size_t		 first_wrong;	/* index of the first wrong verdict */
	bool		 no_parser;
};

static void *
thread_main(void *arg)
{
	struct tjob *j = arg;
	struct env_parser *p;
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	const struct iref *r;
	uint64_t s = 0x1234 + (uint64_t)j->id;
	size_t i;
	bool ok;
	int v;

	if ((p = env_parser_new(0)) == NULL) {
		j->no_parser = true;
		return NULL;
	}
	for (i = 0; i < PER_THREAD; i++) {
		uint64_t x = splitmix(&s);

		if (x % 3 != 0)
			ok = numbered_ok(p, (uint32_t)(j->id * 100000 + i),
			    (x >> 8) & 1);
		else {
			r = &inv_all[(x >> 16) % inv_nall];
			if ((x >> 8) & 1)
				v = verdict_header(p, r->doc, r->len, &h, &e);
			else {
				v = verdict_full(p, r->doc, r->len, &m, &e);
				if (v == 0)
					env_msg_free(m);
			}
			ok = v == r->code;
		}
		if (!ok && j->wrong++ == 0)
			j->first_wrong = i;
		j->done++;
	}
	env_parser_free(p);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[NTHREADS];
	struct tjob j[NTHREADS];
	bool started[NTHREADS];
	int i;

	memset(j, 0, sizeof(j));
	for (i = 0; i < NTHREADS; i++) {
		j[i].id = i;
		started[i] = pthread_create(&t[i], NULL, thread_main, &j[i])
		    == 0;
		CU_ASSERT(started[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		if (started[i])
			pthread_join(t[i], NULL);
	for (i = 0; i < NTHREADS; i++) {
		if (!started[i])
			continue;
		CU_ASSERT_FALSE(j[i].no_parser);
		CU_ASSERT_EQUAL(j[i].done, PER_THREAD);
		CU_ASSERT_EQUAL(j[i].wrong, 0);
		if (j[i].wrong != 0)
			fprintf(stderr, "\nthread %d: %zu wrong verdicts, "
			    "first at %zu\n", i, j[i].wrong, j[i].first_wrong);
	}
}

/* §3/§6: what a forwarding server splices into the received bytes. */
static void
splice_check(const char *in, int ttl, uint32_t via, const char *want)
{
	struct env_parser *p = env_parser_new(0);
	struct env_header h;
	struct env_error err;
	uint8_t out[1024];
	size_t n;
	int rc;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_FATAL(env_parse_header(p, (const uint8_t *)in, strlen(in), &h,
	    &err) == 0);
	rc = ttl >= 0 ? env_ttl_set((const uint8_t *)in, strlen(in), &h,
	    (uint32_t)ttl, out, sizeof(out), &n) :
	    env_via_stamp((const uint8_t *)in, strlen(in), &h, via, out,
	    sizeof(out), &n);
	CU_ASSERT(rc == 0);
	if (rc == 0) {
		CU_ASSERT(n == strlen(want) + 4);
		CU_ASSERT(n == strlen(want) + 4 && memcmp(out + 4, want,
		    strlen(want)) == 0);
		/* The prefix says the new length (§2: big-endian). */
		CU_ASSERT(((uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 |
		    (uint32_t)out[2] << 8 | out[3]) == n - 4);
		/* What comes out parses, with the new values. */
		CU_ASSERT(env_parse_header(p, out + 4, n - 4, &h,
		    &err) == 0);
	}
	env_parser_free(p);
}

static void
test_splice_ttl_via(void)
{
	const char *a = "<Message version=\"1.0\"><Header Message_Type=\"1000\" "
	    "SessionId=\"\" Seq=\"1\" From=\"00010001\" To=\"00020002\" "
	    "TTL=\"600\" X=\"TTL=1 Via=2\"/></Message>";
	const char *b = "<Message version=\"1.0\"><Header Message_Type='1000' "
	    "SessionId='' Seq='1' From='00010001' To='00020002' "
	    "Via='00010000'/></Message>";

	splice_check(a, 598, 0, "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"\" Seq=\"1\" From=\"00010001\" "
	    "To=\"00020002\" TTL=\"598\" X=\"TTL=1 Via=2\"/></Message>");
	splice_check(b, 7, 0, "<Message version=\"1.0\"><Header "
	    "Message_Type='1000' SessionId='' Seq='1' From='00010001' "
	    "To='00020002' Via='00010000' TTL=\"7\"/></Message>");
	splice_check(a, -1, 0x00010000, "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"\" Seq=\"1\" From=\"00010001\" "
	    "To=\"00020002\" TTL=\"600\" X=\"TTL=1 Via=2\" "
	    "Via=\"00010000\"/></Message>");
	splice_check(b, -1, 0, "<Message version=\"1.0\"><Header "
	    "Message_Type='1000' SessionId='' Seq='1' From='00010001' "
	    "To='00020002' Via='00010000 00000000'/></Message>");
}

void
init_envelope_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("envelope", suite_init, suite_cleanup);
	if (s == NULL)
		return;
	CU_add_test(s, "invalid inputs, both paths", test_invalid_table);
	CU_add_test(s, "size limit gives 413", test_size_limit);
	CU_add_test(s, "valid inputs, both paths, round trip",
	    test_valid_table);
	CU_add_test(s, "env_msg_equal tells messages apart",
	    test_equal_discriminates);
	CU_add_test(s, "parameters node", test_params_node);
	CU_add_test(s, "parameters exact bytes", test_params_exact);
	CU_add_test(s, "built message round trip", test_build_roundtrip);
	CU_add_test(s, "built message sessions", test_build_sessions);
	CU_add_test(s, "unknown attribute names", test_build_attr_names);
	CU_add_test(s, "unknown attribute values round trip",
	    test_build_attr_values);
	CU_add_test(s, "set_parameters refuses bad content",
	    test_set_parameters_refuses);
	CU_add_test(s, "parser reuse, 10 000 envelopes", test_parser_reuse);
	CU_add_test(s, "dictionary growth, 5 000 names",
	    test_parser_dict_growth);
	CU_add_test(s, "4 threads x 2 000 envelopes", test_threads);
	CU_add_test(s, "TTL rewritten and Via stamped in the bytes",
	    test_splice_ttl_via);
}
