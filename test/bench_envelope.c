/*
 * bench_envelope.c - how many envelopes per second each parse path takes
 * on this machine (a benchmark, not a test: it reports, never asserts).
 *
 *   make bench            # or: ./test/bench_envelope [SECONDS]
 *
 * Paths: the router's fast path (env_parse_header, Header only), the
 * full parse (env_parse, keeps parameters and unknown attributes, one
 * malloc'd message each), serialization, and the frame decoder over a
 * stream of whole frames.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"

static double	now(void);
static int	on_frame(void *, const uint8_t *, size_t, bool, uint32_t);

static const char sample[] =
    "<Message version=\"1.0\"><Header Message_Type=\"1000\" "
    "SessionId=\"5F1C9A0E33B2D871\" Seq=\"7\" From=\"00010002\" "
    "To=\"00020003\"/><parameters><payload>"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "012345678901234567890123456789012345678901234567890123456789"
    "</payload></parameters></Message>";

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
on_frame(void *arg, const uint8_t *body, size_t len, bool over, uint32_t d)
{
	(void)body;
	(void)over;
	(void)d;
	*(size_t *)arg += len;
	return 0;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0, el;
	struct env_parser *p = env_parser_new(0);
	const uint8_t *s = (const uint8_t *)sample;
	size_t n = sizeof(sample) - 1, total = 0;
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	unsigned long k;
	uint8_t *buf, *stream;
	size_t blen;

	if (p == NULL || secs <= 0)
		return 1;
	printf("envelope of %zu bytes, %.1f s per path\n", n, secs);
	for (k = 0, t0 = now(); (el = now() - t0) < secs; k++)
		if (env_parse_header(p, s, n, &h, &e) == -1)
			return 1;
	printf("fast path (env_parse_header): %10.0f envelopes/s\n", k / el);
	for (k = 0, t0 = now(); (el = now() - t0) < secs; k++) {
		if (env_parse(p, s, n, &m, &e) == -1)
			return 1;
		env_msg_free(m);
	}
	printf("full parse (env_parse):       %10.0f envelopes/s\n", k / el);
	if (env_parse(p, s, n, &m, &e) == -1)
		return 1;
	for (k = 0, t0 = now(); (el = now() - t0) < secs; k++) {
		if (env_serialize(m, true, &buf, &blen) == -1)
			return 1;
		free(buf);
	}
	printf("serialize (env_serialize):    %10.0f envelopes/s\n", k / el);
	/* 1000 frames in one buffer, fed in 16 KiB reads like a socket. */
	if (env_serialize(m, true, &buf, &blen) == -1 ||
	    (stream = malloc(blen * 1000)) == NULL)
		return 1;
	for (int i = 0; i < 1000; i++)
		memcpy(stream + (size_t)i * blen, buf, blen);
	for (k = 0, t0 = now(); (el = now() - t0) < secs; k += 1000) {
		struct env_frame_dec *d = env_frame_dec_new(ENV_DEFAULT_MAX_FRAME, 0);

		for (size_t off = 0; off < blen * 1000; off += 16384)
			(void)env_frame_dec_feed(d, stream + off, blen * 1000 -
			    off < 16384 ? blen * 1000 - off : 16384, on_frame,
			    &total, &e);
		env_frame_dec_free(d);
	}
	printf("frame decoder:                %10.0f frames/s\n", k / el);
	free(stream);
	free(buf);
	env_msg_free(m);
	env_parser_free(p);
	return 0;
}
