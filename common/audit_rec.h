/*
 * audit_rec.h - the audit record format of DESIGN.md §8, shared by the
 * writer (audit.c), nap-audit and the fuzz target: the record-line
 * parser, the chain MAC, type ranges, base64 and record times.
 *
 * A record is one line: one XML element whose name says its kind, with
 * attributes in a start tag, some content, and a fixed tail
 *
 *	<NAME a="v" ... prev="H64">CONTENT<end hash="H64"/></NAME>\n
 *
 * The hash covers every byte of the line before the 6 bytes `hash="` of
 * that tail (so `prev` is covered and the records form a chain).  The
 * exact grammar is in nap-audit(1), FORMAT; independent tools verify a
 * log from that page alone.
 *
 * Everything here is reentrant; an audit_mac is used by one thread at a
 * time.  Nothing here allocates except audit_mac_new and audit_key_load.
 */
#ifndef NAP_AUDIT_REC_H
#define NAP_AUDIT_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_HEX		64	/* a SHA-256 in lower-case hex */
#define AUDIT_REC_MAX_ATTRS	32
#define AUDIT_RANGES_MAX	64
/* "2026-11-22T03:04:05.123456Z" */
#define AUDIT_TIME_LEN		27
/* Key files: at least 16 bytes after trimming, at most 4096. */
#define AUDIT_KEY_MIN		16
#define AUDIT_KEY_MAX		4096

/* The prev of the first record of a chain (64 zeros). */
extern const char audit_genesis[AUDIT_HEX + 1];

enum audit_kind {
	AREC_FILE,	/* first record of every file */
	AREC_MSG,	/* a message and what the server did with it */
	AREC_SESS,	/* a login or a logout */
	AREC_LOST,	/* records that could not be written */
	AREC_OTHER,	/* a later version's kind: chained, not read */
};

struct audit_attr {
	const char	*name, *val;	/* into the line, not terminated */
	size_t		 nlen, vlen;
};

/* A parsed line; every pointer points into the line given. */
struct audit_rec {
	enum audit_kind	 kind;
	const char	*name;
	size_t		 nlen;
	struct audit_attr attr[AUDIT_REC_MAX_ATTRS];
	size_t		 nattr;
	const uint8_t	*body;		/* CONTENT, between the tags */
	size_t		 body_len;
	size_t		 hashed_len;	/* bytes the hash covers */
	char		 hash[AUDIT_HEX + 1];
};

/*
 * Parses one line (len bytes, without its '\n').  Returns 0, or -1 with
 * *why set to a static reason.  Checks the syntax of the start tag and
 * of the tail, not the hash.
 */
int	audit_rec_parse(const uint8_t *line, size_t len, struct audit_rec *r,
	    const char **why);
/* The raw value of an attribute, or NULL when absent. */
const char *audit_rec_get(const struct audit_rec *, const char *name,
	    size_t *vlen);
/* Typed getters: 0, or -1 when absent or malformed. */
int	audit_rec_u32(const struct audit_rec *, const char *name,
	    uint32_t *out);
int	audit_rec_code(const struct audit_rec *, const char *name,
	    uint32_t *out);
int	audit_rec_time(const struct audit_rec *, int64_t *us);
/* True when attribute name has exactly the value s. */
bool	audit_rec_is(const struct audit_rec *, const char *name,
	    const char *s);

/*
 * The chain MAC: SHA-256, or HMAC-SHA-256 when a key is given (the
 * key is copied; the copy is wiped by audit_mac_free).  NULL on no
 * memory or an OpenSSL failure.
 */
struct audit_mac;
struct audit_mac *audit_mac_new(const uint8_t *key, size_t keylen);
void	audit_mac_free(struct audit_mac *);
bool	audit_mac_keyed(const struct audit_mac *);
/* Writes the lower-case hex MAC of data and a NUL.  0 or -1. */
int	audit_mac_hex(struct audit_mac *, const void *data, size_t len,
	    char out[AUDIT_HEX + 1]);
/*
 * Reads a key file: its bytes with leading and trailing white space
 * removed, AUDIT_KEY_MIN..AUDIT_KEY_MAX of them.  On success *key is a
 * malloc'd copy the caller wipes and frees (audit_key_free).
 */
int	audit_key_load(const char *path, uint8_t **key, size_t *len,
	    char *err, size_t errlen);
void	audit_key_free(uint8_t *key, size_t len);

/* Message type ranges "1000-1999,5": at most AUDIT_RANGES_MAX items. */
struct audit_ranges {
	size_t		n;
	uint32_t	lo[AUDIT_RANGES_MAX], hi[AUDIT_RANGES_MAX];
};
int	audit_ranges_parse(const char *s, struct audit_ranges *out,
	    char *err, size_t errlen);
bool	audit_ranges_has(const struct audit_ranges *, uint32_t type);

/* Base64 (RFC 4648, padded, one line).  encode returns the length it
 * wrote (4 * ceil(len / 3) bytes, no NUL); decode returns 0 or -1. */
size_t	audit_b64_encode(const uint8_t *in, size_t len, char *out);
int	audit_b64_decode(const char *in, size_t len, uint8_t *out,
	    size_t *outlen);

/* Microseconds since the epoch <-> "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
void	audit_time_format(int64_t us, char out[AUDIT_TIME_LEN + 1]);
int	audit_time_parse(const char *s, size_t len, int64_t *us);

#endif /* NAP_AUDIT_REC_H */
