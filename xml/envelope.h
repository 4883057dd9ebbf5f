/*
 * envelope.h - the NAP envelope and frame codec (DESIGN.md §1-§3).
 *
 * One public header for the xml/ module, used by every binary:
 *   - codes (§1): parse and format 32-bit RRRRNNNN codes;
 *   - frames (§2): 4-byte big-endian length prefix, incremental decoder;
 *   - envelopes (§3): a SAX fast path that reads only the Header (routers),
 *     and a full parse that keeps the parameters subtree and unknown Header
 *     attributes (tools, devices); serialization back to bytes.
 *
 * Every rejection carries a §4 error code (400 malformed, 413 too large)
 * and a short reason.  Parsers are per thread (struct env_parser); the
 * library initialises libxml2 once, thread-safely.
 */
#ifndef NAP_ENVELOPE_H
#define NAP_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* §2: frames are 1..max_frame bytes; max_frame is at most 16 MiB. */
#define ENV_MAX_FRAME_LIMIT	(16u * 1024 * 1024)
#define ENV_DEFAULT_MAX_FRAME	(1024u * 1024)
/* §3: depth counted from Message = 1. */
#define ENV_MAX_DEPTH		64
/* §3: at most 8 Via entries. */
#define ENV_MAX_VIA		8
/* §3: TTL default, seconds. */
#define ENV_DEFAULT_TTL		86400u

/* §4: the error codes (texts: env_code_text() in proto.h). */
enum env_code {
	ENV_OK = 0,
	ENV_E_MALFORMED = 400,		/* the codec produces this ... */
	ENV_E_SESSION = 401,		/* not logged in or wrong session */
	ENV_E_FORBIDDEN = 403,
	ENV_E_UNKNOWN = 404,		/* unknown destination */
	ENV_E_TIMEOUT = 408,		/* timed out in store */
	ENV_E_TOO_LARGE = 413,		/* ... and this */
	ENV_E_RATE = 429,
	ENV_E_UNREACHABLE = 503,	/* destination region unreachable */
	ENV_E_STORE_FULL = 507,
};

/* Why a frame or envelope was refused: a §4 code and one short line. */
struct env_error {
	int	code;		/* 400 or 413; 0 when no error */
	char	reason[128];	/* NUL-terminated, never a secret */
};

/* ---- codes (§1) ---------------------------------------------------- */

#define ENV_PLATFORM_CODE	0x00000000u

/*
 * Parses exactly 8 hex digits (either case) at s[0..n).  Returns 0 and
 * sets *out, or -1 when n != 8 or a character is not hex.
 */
int	env_code_parse(const char *s, size_t n, uint32_t *out);
/* The value of one hex digit (either case), or -1. */
int	env_hexval(int c);
/* §3 decimal: 1 to 10 digits at s[0..n), no sign or space, at most
 * 4294967295.  0 and *out, or -1. */
int	env_u32_parse(const char *s, size_t n, uint32_t *out);
/* Writes the code as 8 upper-case hex digits and a NUL into out[9]. */
void	env_code_format(uint32_t code, char out[9]);
/* Role tests of §1. */
bool	env_code_is_platform(uint32_t code);	/* 00000000 */
bool	env_code_is_domain(uint32_t code);	/* RRRR0000, RRRR 0001..FFFE */
bool	env_code_is_device(uint32_t code);	/* RRRRNNNN, region 0001..FFFE */
bool	env_code_is_reserved(uint32_t code);	/* region FFFF or 0000NNNN */
static inline uint16_t env_code_region(uint32_t code) { return code >> 16; }

/* ---- frames (§2) --------------------------------------------------- */

/* Writes the 4-byte big-endian length prefix of a body of len bytes. */
void	env_frame_put_len(uint8_t out[4], uint32_t len);

enum env_frame_peek {
	ENV_FRAME_NEED_MORE = 0,	/* fewer than 4 + L bytes buffered */
	ENV_FRAME_READY = 1,		/* a whole frame: 4 + *len bytes */
	ENV_FRAME_BAD_LEN = -1,		/* L == 0 or L > max_frame: 413 */
};

/*
 * Looks at the avail bytes at buf (the start of a frame) and says whether
 * a whole frame is there.  Sets *len to the body length L as soon as the
 * 4 prefix bytes are present (also for ENV_FRAME_BAD_LEN).  Never reads
 * past avail.  Shared by the decoder below and by evbuffer-based links.
 */
enum env_frame_peek env_frame_peek(const uint8_t *buf, size_t avail,
	    uint32_t max_frame, uint32_t *len);

/*
 * Incremental frame decoder.  Feed it any chunks; it calls back once per
 * whole frame.  It buffers only bytes that have arrived: at most one
 * partial frame plus the chunk being fed, never an allocation sized from
 * a length prefix alone.  Whole frames inside a fed chunk are passed to
 * the callback without a copy.
 */
struct env_frame_dec;

/*
 * Called once per frame.  body/len is the frame body, valid only during
 * the call.  For an oversized frame in skip mode (ENV_DEC_SKIP_OVERSIZE),
 * the callback gets oversize = true, body/len = the first bytes of that
 * frame (at most ENV_DEC_OVERSIZE_PREFIX, enough to read its Header and
 * answer 413 to its origin), and declared = its length prefix.  Return 0
 * to go on, non-zero to stop feeding (env_frame_dec_feed returns -1 with
 * code 0 in that case).
 */
typedef int (*env_frame_cb)(void *arg, const uint8_t *body, size_t len,
	    bool oversize, uint32_t declared);

#define ENV_DEC_SKIP_OVERSIZE	0x1	/* server-to-server links (§2) */
#define ENV_DEC_OVERSIZE_PREFIX	4096

/*
 * Returns a decoder for frames of at most max_frame bytes (1 ..
 * ENV_MAX_FRAME_LIMIT), or NULL on bad arguments or no memory.
 * The caller frees it with env_frame_dec_free().
 */
struct env_frame_dec *env_frame_dec_new(uint32_t max_frame, int flags);
void	env_frame_dec_free(struct env_frame_dec *);

/*
 * Feeds len bytes.  Returns 0 when all bytes were consumed; -1 when the
 * stream is unusable (bad length prefix on a device link: err->code 413)
 * or the callback asked to stop (err->code 0).  After a 413 the decoder
 * stays failed: every later feed returns -1 with the same error.
 */
int	env_frame_dec_feed(struct env_frame_dec *, const uint8_t *buf,
	    size_t len, env_frame_cb cb, void *arg, struct env_error *err);
/* Bytes of an incomplete frame held right now (for input bounds). */
size_t	env_frame_dec_pending(const struct env_frame_dec *);

/* ---- envelopes (§3) ------------------------------------------------ */

/*
 * What a router needs: the typed Header.  Filled by both parse paths.
 * The offsets locate the Header start tag in the parsed bytes, so that a
 * transformer can splice a Via stamp into the received bytes (§6).
 */
struct env_header {
	uint32_t	type;		/* Message_Type */
	uint32_t	seq;		/* Seq */
	uint32_t	from;
	uint32_t	to;
	char		session[17];	/* "" before login, else 16 hex + NUL */
	bool		ack;		/* Ack="1" */
	bool		has_ttl;
	uint32_t	ttl;		/* seconds, when has_ttl */
	bool		has_re;
	uint32_t	re;		/* Re, when has_re */
	uint8_t		nvia;
	uint32_t	via[ENV_MAX_VIA];
	size_t		tag_start;	/* offset of "<Header" */
	size_t		tag_end;	/* offset just past its closing '>' */
};

/*
 * A parser: one per thread, reused for every envelope that thread
 * parses (libxml2 contexts are not thread-safe; reuse is what makes the
 * fast path fast).  max_size bounds a body (413 above it); 0 means
 * ENV_MAX_FRAME_LIMIT.  Returns NULL on no memory.  Free with
 * env_parser_free().
 */
struct env_parser;
struct env_parser *env_parser_new(uint32_t max_size);
void	env_parser_free(struct env_parser *);

/*
 * Fast path: a full SAX well-formedness parse of the body that builds no
 * tree and keeps only the Header.  Returns 0 and fills *h, or -1 and
 * fills *err (400/413).  Gives the same verdict and the same Header as
 * env_parse().
 */
int	env_parse_header(struct env_parser *, const uint8_t *body, size_t len,
	    struct env_header *h, struct env_error *err);

/*
 * The fast path that also streams the elements directly inside
 * <parameters> (no tree): cb runs for each, in document order, with the
 * Header as parsed so far (complete: Header comes first), the element's
 * local name and its attributes without a namespace, values as raw bytes
 * (not NUL-terminated, character references not decoded: read them
 * strictly).  Elements in a namespace are not passed.  What cb saw is
 * the caller's to drop when the call returns -1: a document is judged
 * only at its end.  Returns as env_parse_header().
 */
struct env_attr {
	const char	*name;
	const char	*value;
	size_t		 len;
};
#define ENV_ATTRS_MAX	16	/* attributes passed to a callback */
typedef void	(*env_child_cb)(void *arg, const struct env_header *,
		    const char *name, const struct env_attr *, int nattr);
int	env_parse_children(struct env_parser *, const uint8_t *body,
	    size_t len, struct env_header *h, struct env_error *err,
	    env_child_cb cb, void *arg);

/*
 * A whole message: Header, unknown Header attributes (kept in order),
 * namespace declarations on Message and Header, and the parameters
 * element kept as its exact bytes and, on demand, as a libxml2 subtree.
 */
struct env_msg;

/*
 * Full parse.  Returns 0 and sets *out to a new message the caller frees
 * with env_msg_free(), or -1 and fills *err (400/413).
 */
int	env_parse(struct env_parser *, const uint8_t *body, size_t len,
	    struct env_msg **out, struct env_error *err);

/*
 * A new message with the five required attributes; session may be NULL
 * or "" (before login) or 16 upper-case hex digits.  Returns NULL on a
 * bad session string or no memory.  The caller frees it.
 */
struct env_msg *env_msg_new(uint32_t type, const char *session, uint32_t seq,
	    uint32_t from, uint32_t to);
void	env_msg_free(struct env_msg *);

/* The Header (the offsets are those of the parsed bytes, or 0). */
const struct env_header *env_msg_header(const struct env_msg *);
/* Header setters: Ack, TTL, Re, Via.  env_msg_add_via returns -1 when
 * the Via list already holds ENV_MAX_VIA codes. */
void	env_msg_set_ack(struct env_msg *, bool ack);
void	env_msg_set_ttl(struct env_msg *, bool has, uint32_t ttl);
void	env_msg_set_re(struct env_msg *, bool has, uint32_t re);
int	env_msg_add_via(struct env_msg *, uint32_t code);
void	env_msg_set_seq(struct env_msg *, uint32_t seq);
int	env_msg_set_session(struct env_msg *, const char *session);

/*
 * Unknown Header attributes, in document order.  name is the qualified
 * name as written ("x:foo" or "foo"); value is the decoded value.  The
 * pointers live as long as the message.  Returns the count.
 */
size_t	env_msg_nattrs(const struct env_msg *);
int	env_msg_attr(const struct env_msg *, size_t i, const char **name,
	    const char **value);
/* Adds an unknown Header attribute (no namespace prefix).  Returns -1 on
 * a name that is not an XML name or is one of the known attributes. */
int	env_msg_add_attr(struct env_msg *, const char *name, const char *value);

/*
 * The parameters element: its exact bytes ("<parameters>...</parameters>"
 * or "<parameters/>"), or NULL with *len = 0 when the message has none.
 */
const char *env_msg_parameters(const struct env_msg *, size_t *len);
/*
 * Sets the parameters from inner XML content (what goes between
 * <parameters> and </parameters>; NULL for none at all, "" for an empty
 * element).  The content is checked to be well-formed under the §3
 * rules.  Returns 0, or -1 with *err filled.
 */
int	env_msg_set_parameters(struct env_msg *, const char *inner, size_t len,
	    struct env_error *err);
/* Reading the elements inside: env_param_first() and others, proto.h. */
/*
 * Serializes the message as one UTF-8 document (no declaration).
 * Returns 0 and sets *out (a malloc'd buffer the caller frees; it is
 * NUL-terminated, the NUL not counted in *len), or -1 on no memory.
 * With frame = true the buffer starts with the 4-byte length prefix and
 * *len counts it.
 */
int	env_serialize(const struct env_msg *, bool frame, uint8_t **out,
	    size_t *len);

/* True when a and b are the same message (Header, unknown attributes,
 * namespace declarations and parameter bytes); offsets are ignored. */
bool	env_msg_equal(const struct env_msg *a, const struct env_msg *b);

/*
 * §3/§6 Via: writes prefix + body with code appended to the Header's Via
 * attribute (or a Via attribute added) into out (cap bytes), splicing
 * the received bytes.  h: the body's parsed Header.  0 and *outlen (the
 * whole frame), or -1 when it does not fit in cap or the tag is not
 * found.
 */
int	env_via_stamp(const uint8_t *body, size_t len,
	    const struct env_header *h, uint32_t code, uint8_t *out, size_t cap,
	    size_t *outlen);

/*
 * §3 TTL: writes prefix + body with the Header's TTL set to ttl (its
 * value replaced, or a TTL attribute added) into out (cap bytes).  As
 * env_via_stamp().
 */
int	env_ttl_set(const uint8_t *body, size_t len,
	    const struct env_header *h, uint32_t ttl, uint8_t *out, size_t cap,
	    size_t *outlen);

#endif /* NAP_ENVELOPE_H */
