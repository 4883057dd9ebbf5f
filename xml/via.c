/*
 * via.c - the Via stamp of DESIGN.md §3 and §6: a server that sends a
 * message on a server-to-server link re-uses the received bytes, with its
 * code spliced into the Header's Via attribute, or a Via attribute added
 * to the Header start tag.  Nothing else of the message changes.
 */
#include <stdio.h>
#include <string.h>

#include "envelope.h"

static int	is_space(uint8_t);
static int	via_point(const uint8_t *, size_t, size_t, size_t *, int *);

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Scans the Header start tag b[start..end) attribute by attribute (it
 * parsed, so it is well-formed): sets *at to just before the closing
 * quote of Via (*has = 1), or to the '/' or '>' that ends the tag (*has
 * = 0).  Attribute values are skipped whole, so a "Via" inside another
 * value is never taken for the attribute.  0, or -1 when the bytes are
 * not the tag they should be.
 */
static int
via_point(const uint8_t *b, size_t start, size_t end, size_t *at, int *has)
{
	size_t p = start + strlen("<Header"), n0, nlen;
	uint8_t q;

	while (p < end) {
		while (p < end && is_space(b[p]))
			p++;
		if (p < end && (b[p] == '/' || b[p] == '>')) {
			*at = p;
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
		while (p < end && b[p] != q)
			p++;
		if (p >= end)
			return -1;
		if (nlen == 3 && memcmp(b + n0, "Via", 3) == 0) {
			*at = p;
			*has = 1;
			return 0;
		}
		p++;
	}
	return -1;
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
	size_t at, n;
	int has;

	if (h->tag_end > len || h->tag_start >= h->tag_end ||
	    via_point(body, h->tag_start, h->tag_end, &at, &has) == -1)
		return -1;
	n = (size_t)snprintf(ins, sizeof(ins), has ? " %08X" : " Via=\"%08X\"",
	    code);
	if (len + n > cap - 4)
		return -1;
	memcpy(out + 4, body, at);
	memcpy(out + 4 + at, ins, n);
	memcpy(out + 4 + at + n, body + at, len - at);
	env_frame_put_len(out, (uint32_t)(len + n));
	*outlen = len + n + 4;
	return 0;
}
