/*
 * fuzz_frame.c - libFuzzer target for the frame decoder (DESIGN.md §2).
 * The first byte picks the mode and a chunk size; the rest is the
 * stream.  Checks: frames reported in one pass equal those reported when
 * the same bytes are fed in chunks; no frame exceeds max_frame; the
 * decoder never holds more than one frame; each frame body goes through
 * the envelope fast path as a server would.
 */
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_FRAME	2048

struct seen {
	uint64_t	 sum;		/* order-sensitive digest of frames */
	unsigned	 n;
	struct env_parser *p;
};

static struct env_parser *parser;

static int
on_frame(void *arg, const uint8_t *body, size_t len, bool oversize,
    uint32_t declared)
{
	struct seen *s = arg;
	struct env_header h;
	struct env_error e;

	if (!oversize && (len == 0 || len > MAX_FRAME || declared != len))
		abort();
	if (oversize && (declared <= MAX_FRAME || len > declared))
		abort();
	s->n++;
	s->sum = s->sum * 1000003u + len + (oversize ? 7 : 0);
	for (size_t i = 0; i < len; i++)
		s->sum = s->sum * 31u + body[i];
	if (!oversize)
		(void)env_parse_header(s->p, body, len, &h, &e);
	return 0;
}

static int
feed(const uint8_t *d, size_t n, size_t chunk, int flags, struct seen *s)
{
	struct env_frame_dec *dec = env_frame_dec_new(MAX_FRAME, flags);
	struct env_error e;
	int rc = 0;

	if (dec == NULL)
		abort();
	for (size_t off = 0; off < n && rc == 0; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		rc = env_frame_dec_feed(dec, d + off, k, on_frame, s, &e);
		if (env_frame_dec_pending(dec) > MAX_FRAME + 4 &&
		    env_frame_dec_pending(dec) > ENV_DEC_OVERSIZE_PREFIX + 4)
			abort();
		if (rc == -1 && e.code != 413)
			abort();
	}
	env_frame_dec_free(dec);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a = { 0 }, b = { 0 };
	int flags, ra, rb;
	size_t chunk;

	if (size < 1)
		return 0;
	if (parser == NULL && (parser = env_parser_new(MAX_FRAME)) == NULL)
		abort();
	a.p = b.p = parser;
	flags = data[0] & 1 ? ENV_DEC_SKIP_OVERSIZE : 0;
	chunk = (data[0] >> 1) + 1;
	ra = feed(data + 1, size - 1, size, flags, &a);
	rb = feed(data + 1, size - 1, chunk, flags, &b);
	if (ra != rb || a.n != b.n || a.sum != b.sum)
		abort();
	return 0;
}
