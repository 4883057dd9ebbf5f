/*
 * via.c - what a server changes in the bytes it forwards (DESIGN.md §3,
 * §6): its code spliced into the Header's Via attribute (or a Via added),
 * and, for a message that waited in a store, TTL rewritten to what
 * remains.  Nothing else of the message changes.
 */
#include <stdio.h>
#include <string.h>

#include "envelope.h"

static int	is_space(uint8_t);
static int	attr_point(const uint8_t *, size_t, size_t, const char *, size_t *,
		    size_t *, int *);

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Scans the Header start tag b[start..end) attribute by attribute (it
 * parsed, so it is well-formed) for the attribute name: sets *v0 and *v1
 * to its value (between the quotes) and *has = 1, or both to the '/' or
 * '>' that ends the tag (*has = 0).  Attribute values are skipped whole,
 * so a name inside another value is never taken for the attribute.  0,
 * or -1 when the bytes are not the tag they should be.
 */
static int
attr_point(const uint8_t *b, size_t start, size_t end, const char *name,
    size_t *v0, size_t *v1, int *has)
{
	size_t p = start + strlen("<Header"), n0, nlen, want = strlen(name);
	uint8_t q;

	while (p < end) {
		while (p < end && is_space(b[p]))
			p++;
		if (p < end && (b[p] == '/' || b[p] == '>')) {
			*v0 = *v1 = p;
			*has = 0;
			return 0;
		}
		for (n0 = p; p < end && !is_space(b[p]) && b[p] != '='; p++)
			;
		nlen = p - n0;
		while (p < end && (is_space(b[p]) || b[p] == '='))
			p++;
		if (p >= end || (b[p] != '"' && b[p] != '\''))
			return -1;
		q = b[p++];
		*v0 = p;
		while (p < end && b[p] != q)
			p++;
		if (p >= end)
			return -1;
		if (nlen == want && memcmp(b + n0, name, want) == 0) {
			*v1 = p;
			*has = 1;
			return 0;
		}
		p++;
	}
	return -1;
}

/*
 * Writes prefix + body with b[v0..v1) replaced by ins into out (cap
 * bytes).  0 and *outlen, or -1 when it does not fit.
 */
static int
splice(const uint8_t *body, size_t len, size_t v0, size_t v1,
    const char *ins, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = strlen(ins), nlen = len - (v1 - v0) + n;

	if (nlen > cap - 4)
		return -1;
	memcpy(out + 4, body, v0);
	memcpy(out + 4 + v0, ins, n);
	memcpy(out + 4 + v0 + n, body + v1, len - v1);
	env_frame_put_len(out, (uint32_t)nlen);
	*outlen = nlen + 4;
	return 0;
}

int
env_ttl_set(const uint8_t *body, size_t len, const struct env_header *h,
    uint32_t ttl, uint8_t *out, size_t cap, size_t *outlen)
{
	char ins[32];
	size_t v0, v1;
	int has;

	if (h->tag_end > len || h->tag_start >= h->tag_end ||
	    attr_point(body, h->tag_start, h->tag_end, "TTL", &v0, &v1, &has)
	    == -1)
		return -1;
	snprintf(ins, sizeof(ins), has ? "%u" : " TTL=\"%u\"", ttl);
	return splice(body, len, v0, v1, ins, out, cap, outlen);
}

/*
 * Writes the body stamped with code (length prefix included) to out,
 * which holds cap bytes.  h is the body's parsed Header (its tag
 * offsets).  Returns 0 and *outlen; -1 when the stamped body would not
 * fit in cap - 4 bytes or the Header start tag cannot be found.
 */
int
env_via_stamp(const uint8_t *body, size_t len, const struct env_header *h,
    uint32_t code, uint8_t *out, size_t cap, size_t *outlen)
{
	char ins[24];
	size_t v0, v1;
	int has;

	if (h->tag_end > len || h->tag_start >= h->tag_end ||
	    attr_point(body, h->tag_start, h->tag_end, "Via", &v0, &v1, &has)
	    == -1)
		return -1;
	/* Appended inside the value's closing quote, or a new attribute. */
	snprintf(ins, sizeof(ins), has ? " %08X" : " Via=\"%08X\"", code);
	return splice(body, len, v1, v1, ins, out, cap, outlen);
}
