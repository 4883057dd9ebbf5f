/*
 * test_envelope.h - what the envelope test files share: the building
 * blocks of §3 test documents, the invalid-input tables, and helpers
 * (byte buffers, the verdict of each parse path, the common checks).
 * Each test_envelope_*.c file holds one concern's table and its loop.
 */
#ifndef TEST_ENVELOPE_H
#define TEST_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

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

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- invalid inputs ------------------------------------------------- */

/* One input both parse paths must refuse with code. */
struct te_input {
	const char	*name;
	const void	*doc;
	size_t		 len;
	int		 code;
};

#define I(n, lit)	{ n, lit, sizeof(lit) - 1, 400 }

/* An invalid input built at run time: make() returns it (caller frees). */
struct te_gen {
	const char	*name;
	uint8_t		*(*make)(int, size_t *);
	int		 arg;
	int		 code;
};

/* The tables, one per concern (test_envelope_header.c, _doc.c). */
extern const struct te_input	te_inv_header[];
extern const size_t		te_ninv_header;
extern const struct te_input	te_inv_doc[];
extern const size_t		te_ninv_doc;
extern const struct te_gen	te_inv_gen[];
extern const size_t		te_ninv_gen;

/* All of them, generated ones built: for reuse and thread tests. */
int	te_corpus_init(void);
int	te_corpus_free(void);
const struct te_input *te_corpus(size_t *);

/* ---- helpers (test_envelope_util.c) --------------------------------- */

/* A growing byte buffer; p is the caller's to free. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

uint64_t te_splitmix(uint64_t *);
void	*te_xmalloc(size_t);
void	 te_sb_add(struct sbuf *, const void *, size_t);
void	 te_sb_str(struct sbuf *, const char *);
void	 te_sb_rep(struct sbuf *, const char *, size_t);
char	*te_nested_doc(size_t, size_t *);
int	 te_verdict_header(struct env_parser *, const void *, size_t,
	    struct env_header *, struct env_error *);
int	 te_verdict_full(struct env_parser *, const void *, size_t,
	    struct env_msg **, struct env_error *);
bool	 te_reason_ok(const struct env_error *);
bool	 te_hdr_same(const struct env_header *, const struct env_header *,
	    bool, const char *);
bool	 te_attrs_match(const struct env_msg *, const char *const *,
	    const char *);
void	 te_check_invalid(const struct te_input *, uint32_t);
uint32_t te_be32(const uint8_t *);
void	 te_check_roundtrip(struct env_parser *, const char *,
	    const char *const *, const struct env_msg *,
	    const struct env_header *);

/* ---- suites ---------------------------------------------------------- */

void	init_envelope_header_tests(void);
void	init_envelope_doc_tests(void);
void	init_envelope_valid_tests(void);
void	init_envelope_build_tests(void);
void	init_envelope_params_tests(void);
void	init_envelope_reuse_tests(void);
void	init_envelope_splice_tests(void);

#endif
