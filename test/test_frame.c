/*
 * test_frame.c - CUnit tests of the §2 framing: the length prefix, peek,
 * and the incremental decoder under every way a stream can be chunked.
 */
#if defined(__linux__)
#include <malloc.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "envelope.h"

void	init_frame_tests(void);

/* One frame of a test stream. */
struct tframe {
	size_t		off;		/* offset of the body in the stream */
	uint32_t	len;		/* declared length */
	bool		over;		/* oversized: expect a skip report */
};

/* A stream of frames and what the decoder should report. */
struct tstream {
	uint8_t		*buf;
	size_t		 len;
	struct tframe	*fr;
	size_t		 nfr;
};

/* What a callback saw. */
struct tcoll {
	const struct tstream	*st;
	size_t		 next;		/* index of the next expected frame */
	size_t		 calls;
	size_t		 bad;		/* reports that did not match */
	size_t		 first_bad;	/* frame index of the first bad one */
	size_t		 over_calls;
	const uint8_t	*feed_lo;	/* when set, bodies must lie here */
	const uint8_t	*feed_hi;
	size_t		 copied;	/* bodies outside [feed_lo, feed_hi) */
	size_t		 stop_after;	/* return 1 after this many calls */
};

static uint64_t	splitmix(uint64_t *);
static void	fill_body(uint8_t *, uint32_t, size_t);
static void	stream_init(struct tstream *);
static void	stream_add(struct tstream *, uint32_t, bool);
static void	stream_free(struct tstream *);
static int	coll_cb(void *, const uint8_t *, size_t, bool, uint32_t);
static int	feed_chunked(struct env_frame_dec *, const struct tstream *,
		    int, uint64_t, struct tcoll *, size_t *,
		    struct env_error *);
static size_t	heap_in_use(void);

static void	test_put_len(void);
static void	test_peek(void);
static void	test_dec_new(void);
static void	test_dec_stream(void);
static void	test_dec_pending(void);
static void	test_dec_zero_len(void);
static void	test_dec_oversize_fail(void);
static void	test_dec_skip_oversize(void);
static void	test_dec_skip_small_max(void);
static void	test_dec_cb_stop(void);
static void	test_dec_huge_prefix(void);
static void	test_dec_limits(void);

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Frame idx's body: its index big-endian, then a pattern that has it. */
static void
fill_body(uint8_t *b, uint32_t len, size_t idx)
{
	uint32_t j;

	for (j = 0; j < len; j++)
		b[j] = (uint8_t)(idx * 131u + j * 7u + (j >> 8) + 1u);
	if (len >= 1)
		b[0] = (uint8_t)(idx >> 24);
	if (len >= 2)
		b[1] = (uint8_t)(idx >> 16);
	if (len >= 3)
		b[2] = (uint8_t)(idx >> 8);
	if (len >= 4)
		b[3] = (uint8_t)idx;
}

static void
stream_init(struct tstream *st)
{
	memset(st, 0, sizeof(*st));
}

static void
stream_add(struct tstream *st, uint32_t len, bool over)
{
	uint8_t *nb;
	struct tframe *nf;

	nb = realloc(st->buf, st->len + 4 + len);
	nf = realloc(st->fr, (st->nfr + 1) * sizeof(*nf));
	if (nb == NULL || nf == NULL) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	st->buf = nb;
	st->fr = nf;
	env_frame_put_len(st->buf + st->len, len);
	fill_body(st->buf + st->len + 4, len, st->nfr);
	st->fr[st->nfr].off = st->len + 4;
	st->fr[st->nfr].len = len;
	st->fr[st->nfr].over = over;
	st->nfr++;
	st->len += 4 + len;
}

static void
stream_free(struct tstream *st)
{
	free(st->buf);
	free(st->fr);
	memset(st, 0, sizeof(*st));
}

static int
coll_cb(void *arg, const uint8_t *body, size_t len, bool oversize,
    uint32_t declared)
{
	struct tcoll *c = arg;
	const struct tframe *f;
	size_t want;
	bool ok = true;

	c->calls++;
	if (oversize)
		c->over_calls++;
	if (c->st == NULL)
		goto out;
	if (c->next >= c->st->nfr) {
		ok = false;
		goto out;
	}
	f = &c->st->fr[c->next];
	if (f->over) {
		want = f->len < ENV_DEC_OVERSIZE_PREFIX ? f->len :
		    ENV_DEC_OVERSIZE_PREFIX;
		if (!oversize || declared != f->len || len != want ||
		    len > ENV_DEC_OVERSIZE_PREFIX || body == NULL ||
		    memcmp(body, c->st->buf + f->off, len) != 0)
			ok = false;
	} else {
		if (oversize || len != f->len || body == NULL ||
		    memcmp(body, c->st->buf + f->off, len) != 0)
			ok = false;
		if (c->feed_lo != NULL && body != NULL &&
		    (body < c->feed_lo || body + len > c->feed_hi))
			c->copied++;
	}
	c->next++;
 out:
	if (!ok) {
		if (c->bad == 0)
			c->first_bad = c->next;
		c->bad++;
	}
	if (c->stop_after != 0 && c->calls >= c->stop_after)
		return 1;
	return 0;
}

/*
 * Feeds the stream: mode 0 all at once, 1 one byte at a time, 2 random
 * chunks (1..16 or 1..12000 bytes) each in its own exact allocation so
 * that reads past a chunk or keeping a pointer into it are caught by the
 * sanitizers.  Tracks the largest pending count seen after a feed.
 */
static int
feed_chunked(struct env_frame_dec *d, const struct tstream *st, int mode,
    uint64_t seed, struct tcoll *c, size_t *max_pending,
    struct env_error *err)
{
	size_t pos = 0, n, p;
	uint8_t *chunk;
	int rc;

	while (pos < st->len) {
		if (mode == 0)
			n = st->len;
		else if (mode == 1)
			n = 1;
		else {
			uint64_t r = splitmix(&seed);

			n = 1 + (size_t)((r >> 8) % ((r & 1) ? 16 : 12000));
		}
		if (n > st->len - pos)
			n = st->len - pos;
		if (mode == 2) {
			chunk = malloc(n);
			if (chunk == NULL)
				abort();
			memcpy(chunk, st->buf + pos, n);
			rc = env_frame_dec_feed(d, chunk, n, coll_cb, c, err);
			free(chunk);
		} else
			rc = env_frame_dec_feed(d, st->buf + pos, n, coll_cb,
			    c, err);
		if (rc != 0)
			return rc;
		pos += n;
		p = env_frame_dec_pending(d);
		if (max_pending != NULL && p > *max_pending)
			*max_pending = p;
	}
	return 0;
}

/* Bytes the C library heap holds right now (0 where unknown). */
static size_t
heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || \
    (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#else
	return 0;
#endif
}

static void
test_put_len(void)
{
	uint8_t b[4];

	env_frame_put_len(b, 0x01020304u);
	CU_ASSERT(b[0] == 0x01 && b[1] == 0x02 && b[2] == 0x03 &&
	    b[3] == 0x04);
	env_frame_put_len(b, 0);
	CU_ASSERT(b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0);
	env_frame_put_len(b, 1);
	CU_ASSERT(b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 1);
	env_frame_put_len(b, 0xFFFFFFFFu);
	CU_ASSERT(b[0] == 0xFF && b[1] == 0xFF && b[2] == 0xFF &&
	    b[3] == 0xFF);
	env_frame_put_len(b, ENV_MAX_FRAME_LIMIT);
	CU_ASSERT(b[0] == 0x01 && b[1] == 0x00 && b[2] == 0x00 &&
	    b[3] == 0x00);
	env_frame_put_len(b, 0x00A1B2C3u);
	CU_ASSERT(b[0] == 0x00 && b[1] == 0xA1 && b[2] == 0xB2 &&
	    b[3] == 0xC3);
}

/* Peeks at the first avail bytes of src, copied to an exact allocation. */
static enum env_frame_peek
peek_exact(const uint8_t *src, size_t avail, uint32_t max, uint32_t *len)
{
	enum env_frame_peek r;
	uint8_t *b;

	b = malloc(avail ? avail : 1);
	if (b == NULL)
		abort();
	memcpy(b, src, avail);
	r = env_frame_peek(b, avail, max, len);
	free(b);
	return r;
}

static void
test_peek(void)
{
	uint8_t f[512];
	uint32_t len;
	size_t i;

	memset(f, 'x', sizeof(f));
	env_frame_put_len(f, 10);

	/* Fewer than 4 bytes: need more. */
	for (i = 0; i < 4; i++) {
		len = 777;
		CU_ASSERT_EQUAL(peek_exact(f, i, 1000, &len),
		    ENV_FRAME_NEED_MORE);
	}
	/* Prefix present, body partial: need more, *len known. */
	for (i = 4; i < 14; i++) {
		len = 777;
		CU_ASSERT_EQUAL(peek_exact(f, i, 1000, &len),
		    ENV_FRAME_NEED_MORE);
		CU_ASSERT_EQUAL(len, 10);
	}
	/* Whole frame, and whole frame with more after it. */
	len = 777;
	CU_ASSERT_EQUAL(peek_exact(f, 14, 1000, &len), ENV_FRAME_READY);
	CU_ASSERT_EQUAL(len, 10);
	len = 777;
	CU_ASSERT_EQUAL(peek_exact(f, 40, 1000, &len), ENV_FRAME_READY);
	CU_ASSERT_EQUAL(len, 10);
	/* L == max_frame is fine. */
	len = 777;
	CU_ASSERT_EQUAL(peek_exact(f, 14, 10, &len), ENV_FRAME_READY);
	CU_ASSERT_EQUAL(len, 10);
	/* L == max_frame + 1: bad, even with the whole body there. */
	len = 777;
	CU_ASSERT_EQUAL(peek_exact(f, 14, 9, &len), ENV_FRAME_BAD_LEN);
	CU_ASSERT_EQUAL(len, 10);
	len = 777;
	CU_ASSERT_EQUAL(peek_exact(f, 4, 9, &len), ENV_FRAME_BAD_LEN);
	CU_ASSERT_EQUAL(len, 10);

	/* Zero length: bad, *len = 0. */
	env_frame_put_len(f, 0);
	len = 777;
	CU_ASSERT_EQUAL(peek_exact(f, 4, 1000, &len), ENV_FRAME_BAD_LEN);
	CU_ASSERT_EQUAL(len, 0);
	len = 777;
	CU_ASSERT_EQUAL(peek_exact(f, 3, 1000, &len), ENV_FRAME_NEED_MORE);

	/* The largest prefix against the largest max_frame. */
	env_frame_put_len(f, 0xFFFFFFFFu);
	len = 0;
	CU_ASSERT_EQUAL(peek_exact(f, 4, ENV_MAX_FRAME_LIMIT, &len),
	    ENV_FRAME_BAD_LEN);
	CU_ASSERT_EQUAL(len, 0xFFFFFFFFu);
	env_frame_put_len(f, ENV_MAX_FRAME_LIMIT + 1);
	len = 0;
	CU_ASSERT_EQUAL(peek_exact(f, 8, ENV_MAX_FRAME_LIMIT, &len),
	    ENV_FRAME_BAD_LEN);
	CU_ASSERT_EQUAL(len, ENV_MAX_FRAME_LIMIT + 1);
	env_frame_put_len(f, ENV_MAX_FRAME_LIMIT);
	len = 0;
	CU_ASSERT_EQUAL(peek_exact(f, 8, ENV_MAX_FRAME_LIMIT, &len),
	    ENV_FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(len, ENV_MAX_FRAME_LIMIT);

	/* A prefix 00 00 01 02 is 0x102: big-endian, not little. */
	f[0] = 0;
	f[1] = 0;
	f[2] = 1;
	f[3] = 2;
	len = 0;
	CU_ASSERT_EQUAL(peek_exact(f, 4 + 0x101, 0x200, &len),
	    ENV_FRAME_NEED_MORE);
	CU_ASSERT_EQUAL(len, 0x102);
	len = 0;
	CU_ASSERT_EQUAL(peek_exact(f, 4 + 0x102, 0x200, &len),
	    ENV_FRAME_READY);
	CU_ASSERT_EQUAL(len, 0x102);
	len = 0;
	CU_ASSERT_EQUAL(peek_exact(f, 4 + 0x102, 0x101, &len),
	    ENV_FRAME_BAD_LEN);
	CU_ASSERT_EQUAL(len, 0x102);
}

static void
test_dec_new(void)
{
	struct env_frame_dec *d;

	CU_ASSERT_PTR_NULL(env_frame_dec_new(0, 0));
	CU_ASSERT_PTR_NULL(env_frame_dec_new(0, ENV_DEC_SKIP_OVERSIZE));
	CU_ASSERT_PTR_NULL(env_frame_dec_new(ENV_MAX_FRAME_LIMIT + 1, 0));
	CU_ASSERT_PTR_NULL(env_frame_dec_new(0xFFFFFFFFu, 0));
	CU_ASSERT_PTR_NULL(env_frame_dec_new(ENV_MAX_FRAME_LIMIT + 1,
	    ENV_DEC_SKIP_OVERSIZE));

	d = env_frame_dec_new(1, 0);
	CU_ASSERT_PTR_NOT_NULL(d);
	if (d != NULL)
		CU_ASSERT_EQUAL(env_frame_dec_pending(d), 0);
	env_frame_dec_free(d);
	d = env_frame_dec_new(ENV_MAX_FRAME_LIMIT, 0);
	CU_ASSERT_PTR_NOT_NULL(d);
	env_frame_dec_free(d);
	d = env_frame_dec_new(ENV_DEFAULT_MAX_FRAME, ENV_DEC_SKIP_OVERSIZE);
	CU_ASSERT_PTR_NOT_NULL(d);
	env_frame_dec_free(d);
}

/* 1 000 frames of 1..5000 bytes; frames 0 and 1 are the extremes. */
static void
make_random_stream(struct tstream *st, uint64_t seed)
{
	size_t i;
	uint32_t len;

	stream_init(st);
	for (i = 0; i < 1000; i++) {
		if (i == 0)
			len = 1;
		else if (i == 1)
			len = 5000;
		else
			len = 1 + (uint32_t)(splitmix(&seed) % 5000);
		stream_add(st, len, false);
	}
}

static void
test_dec_stream(void)
{
	static const uint64_t seeds[] = { 1, 42, 0xC0FFEE, 977, 31337 };
	struct tstream st;
	struct tcoll c;
	struct env_frame_dec *d;
	struct env_error err;
	size_t m, maxp;
	int rc;

	make_random_stream(&st, 0x5EED);
	CU_ASSERT_EQUAL(st.nfr, 1000);

	for (m = 0; m < 2 + sizeof(seeds) / sizeof(seeds[0]); m++) {
		d = env_frame_dec_new(5000, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		memset(&c, 0, sizeof(c));
		memset(&err, 0, sizeof(err));
		c.st = &st;
		if (m == 0) {
			c.feed_lo = st.buf;
			c.feed_hi = st.buf + st.len;
		}
		maxp = 0;
		rc = feed_chunked(d, &st, m < 2 ? (int)m : 2,
		    m < 2 ? 0 : seeds[m - 2], &c, &maxp, &err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(c.calls, 1000);
		CU_ASSERT_EQUAL(c.next, 1000);
		CU_ASSERT_EQUAL(c.bad, 0);
		CU_ASSERT_EQUAL(c.over_calls, 0);
		CU_ASSERT_EQUAL(c.copied, 0);	/* whole frames: no copy */
		CU_ASSERT(maxp <= 5000 + 4);
		CU_ASSERT_EQUAL(env_frame_dec_pending(d), 0);
		if (c.bad != 0 || rc != 0 || c.calls != 1000)
			fprintf(stderr, "\nmode %zu: rc %d calls %zu bad %zu"
			    " first bad %zu err %d %s\n", m, rc, c.calls,
			    c.bad, c.first_bad, err.code, err.reason);
		env_frame_dec_free(d);
	}
	stream_free(&st);
}

/* Pending is bounded by one frame while bytes trickle in. */
static void
test_dec_pending(void)
{
	struct tstream st;
	struct tcoll c;
	struct env_frame_dec *d;
	struct env_error err;
	size_t maxp, p, i;
	uint64_t seed = 7;
	int rc = 0;

	stream_init(&st);
	for (i = 0; i < 50; i++)
		stream_add(&st, i % 3 == 0 ? 2000 : 1 + (uint32_t)(i * 37),
		    false);
	d = env_frame_dec_new(2000, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(&c, 0, sizeof(c));
	c.st = &st;
	maxp = 0;
	/* Chunks of 1..16 bytes. */
	for (p = 0; p < st.len && rc == 0; ) {
		size_t n = 1 + (size_t)(splitmix(&seed) % 16);

		if (n > st.len - p)
			n = st.len - p;
		rc = env_frame_dec_feed(d, st.buf + p, n, coll_cb, &c, &err);
		p += n;
		if (env_frame_dec_pending(d) > maxp)
			maxp = env_frame_dec_pending(d);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(c.calls, 50);
	CU_ASSERT_EQUAL(c.bad, 0);
	CU_ASSERT(maxp <= 2000 + 4);
	CU_ASSERT(maxp > 0);
	CU_ASSERT_EQUAL(env_frame_dec_pending(d), 0);

	/* A partial frame is counted, then released once complete. */
	{
		uint8_t fr[4 + 100];

		env_frame_put_len(fr, 100);
		memset(fr + 4, 'a', 100);
		c.st = NULL;
		c.calls = 0;
		CU_ASSERT_EQUAL(env_frame_dec_feed(d, fr, 14, coll_cb, &c,
		    &err), 0);
		p = env_frame_dec_pending(d);
		CU_ASSERT(p > 0 && p <= 14);
		CU_ASSERT_EQUAL(c.calls, 0);
		CU_ASSERT_EQUAL(env_frame_dec_feed(d, fr + 14, 90, coll_cb,
		    &c, &err), 0);
		CU_ASSERT_EQUAL(c.calls, 1);
		CU_ASSERT_EQUAL(env_frame_dec_pending(d), 0);
	}
	env_frame_dec_free(d);
	stream_free(&st);
}

/* Runs a failing-prefix scenario; bad is the 4-byte prefix. */
static void
check_bad_prefix(uint32_t max, uint32_t badlen, int mode)
{
	struct tstream st;
	struct tcoll c;
	struct env_frame_dec *d;
	struct env_error err, err2;
	uint8_t pre[4], good[4 + 5];
	size_t i;
	int rc = 0;

	stream_init(&st);
	stream_add(&st, max < 5 ? max : 5, false);
	stream_add(&st, max < 3 ? max : 3, false);
	d = env_frame_dec_new(max, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(&c, 0, sizeof(c));
	c.st = &st;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(feed_chunked(d, &st, mode, 3, &c, NULL, &err), 0);
	CU_ASSERT_EQUAL(c.calls, 2);
	env_frame_put_len(pre, badlen);
	if (mode == 1) {
		/* Three bytes are not yet a verdict; the fourth is. */
		for (i = 0; i < 3; i++)
			CU_ASSERT_EQUAL(env_frame_dec_feed(d, pre + i, 1,
			    coll_cb, &c, &err), 0);
		rc = env_frame_dec_feed(d, pre + 3, 1, coll_cb, &c, &err);
	} else
		rc = env_frame_dec_feed(d, pre, 4, coll_cb, &c, &err);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(err.code, ENV_E_TOO_LARGE);
	CU_ASSERT(err.reason[0] != '\0');
	CU_ASSERT_EQUAL(c.calls, 2);
	/* Stays failed: a good frame afterwards is refused the same way. */
	env_frame_put_len(good, 5);
	memcpy(good + 4, "hello", 5);
	memset(&err2, 0, sizeof(err2));
	CU_ASSERT_EQUAL(env_frame_dec_feed(d, good, sizeof(good), coll_cb,
	    &c, &err2), -1);
	CU_ASSERT_EQUAL(err2.code, ENV_E_TOO_LARGE);
	CU_ASSERT_EQUAL(c.calls, 2);
	memset(&err2, 0, sizeof(err2));
	CU_ASSERT_EQUAL(env_frame_dec_feed(d, good, 1, coll_cb, &c, &err2),
	    -1);
	CU_ASSERT_EQUAL(err2.code, ENV_E_TOO_LARGE);
	env_frame_dec_free(d);
	stream_free(&st);
}

static void
test_dec_zero_len(void)
{
	check_bad_prefix(1000, 0, 0);
	check_bad_prefix(1000, 0, 1);
	check_bad_prefix(1, 0, 0);
}

static void
test_dec_oversize_fail(void)
{
	check_bad_prefix(1000, 1001, 0);
	check_bad_prefix(1000, 1001, 1);
	check_bad_prefix(1000, 0x7FFFFFFFu, 2);
	check_bad_prefix(1, 2, 0);

	/* A frame right in the middle of a chunk, after good ones. */
	{
		uint8_t buf[4 + 3 + 4 + 2000];
		struct env_frame_dec *d;
		struct tcoll c;
		struct env_error err;

		env_frame_put_len(buf, 3);
		memcpy(buf + 4, "abc", 3);
		env_frame_put_len(buf + 7, 2000);
		memset(buf + 11, 'z', 2000);
		d = env_frame_dec_new(1999, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		memset(&c, 0, sizeof(c));
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(env_frame_dec_feed(d, buf, sizeof(buf),
		    coll_cb, &c, &err), -1);
		CU_ASSERT_EQUAL(err.code, 413);
		CU_ASSERT_EQUAL(c.calls, 1);
		CU_ASSERT_EQUAL(c.over_calls, 0);
		env_frame_dec_free(d);
	}
}

/* Good, oversized, good, oversized, good frames with max_frame 5000. */
static void
test_dec_skip_oversize(void)
{
	static const uint64_t seeds[] = { 5, 6, 7, 8, 9, 10, 11, 12 };
	struct tstream st;
	struct tcoll c;
	struct env_frame_dec *d;
	struct env_error err;
	size_t m;
	int rc;

	stream_init(&st);
	stream_add(&st, 100, false);
	stream_add(&st, 12000, true);
	stream_add(&st, 200, false);
	stream_add(&st, 5001, true);		/* one over */
	stream_add(&st, 5000, false);		/* exactly max */
	stream_add(&st, 70000, true);
	stream_add(&st, 1, false);
	stream_add(&st, 4096 + 5000, true);
	stream_add(&st, 33, false);

	for (m = 0; m < 2 + sizeof(seeds) / sizeof(seeds[0]); m++) {
		d = env_frame_dec_new(5000, ENV_DEC_SKIP_OVERSIZE);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		memset(&c, 0, sizeof(c));
		memset(&err, 0, sizeof(err));
		c.st = &st;
		rc = feed_chunked(d, &st, m < 2 ? (int)m : 2,
		    m < 2 ? 0 : seeds[m - 2], &c, NULL, &err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(c.calls, st.nfr);
		CU_ASSERT_EQUAL(c.over_calls, 4);
		CU_ASSERT_EQUAL(c.bad, 0);
		CU_ASSERT_EQUAL(env_frame_dec_pending(d), 0);
		if (rc != 0 || c.bad != 0 || c.calls != st.nfr)
			fprintf(stderr, "\nskip mode %zu: rc %d calls %zu "
			    "bad %zu first bad %zu err %d %s\n", m, rc,
			    c.calls, c.bad, c.first_bad, err.code,
			    err.reason);
		env_frame_dec_free(d);
	}
	stream_free(&st);
}

/* An oversized frame shorter than the prefix bound is reported whole. */
static void
test_dec_skip_small_max(void)
{
	static const uint64_t seeds[] = { 100, 200, 300 };
	struct tstream st;
	struct tcoll c;
	struct env_frame_dec *d;
	struct env_error err;
	size_t m;
	int rc;

	stream_init(&st);
	stream_add(&st, 1000, false);
	stream_add(&st, 1001, true);
	stream_add(&st, 2000, true);
	stream_add(&st, 999, false);
	for (m = 0; m < 2 + sizeof(seeds) / sizeof(seeds[0]); m++) {
		d = env_frame_dec_new(1000, ENV_DEC_SKIP_OVERSIZE);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		memset(&c, 0, sizeof(c));
		memset(&err, 0, sizeof(err));
		c.st = &st;
		rc = feed_chunked(d, &st, m < 2 ? (int)m : 2,
		    m < 2 ? 0 : seeds[m - 2], &c, NULL, &err);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(c.calls, 4);
		CU_ASSERT_EQUAL(c.over_calls, 2);
		CU_ASSERT_EQUAL(c.bad, 0);
		env_frame_dec_free(d);
	}
	stream_free(&st);
}

static void
test_dec_cb_stop(void)
{
	struct tstream st;
	struct tcoll c;
	struct env_frame_dec *d;
	struct env_error err;
	int mode;

	stream_init(&st);
	stream_add(&st, 10, false);
	stream_add(&st, 20, false);
	stream_add(&st, 30, false);
	for (mode = 0; mode < 3; mode++) {
		d = env_frame_dec_new(100, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		memset(&c, 0, sizeof(c));
		c.st = &st;
		c.stop_after = 1;
		err.code = 12345;
		CU_ASSERT_EQUAL(feed_chunked(d, &st, mode, 99, &c, NULL,
		    &err), -1);
		CU_ASSERT_EQUAL(err.code, 0);
		CU_ASSERT_EQUAL(c.calls, 1);
		CU_ASSERT_EQUAL(c.bad, 0);
		env_frame_dec_free(d);
	}
	/* Stop on the second frame of one chunk. */
	d = env_frame_dec_new(100, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(&c, 0, sizeof(c));
	c.st = &st;
	c.stop_after = 2;
	err.code = 12345;
	CU_ASSERT_EQUAL(env_frame_dec_feed(d, st.buf, st.len, coll_cb, &c,
	    &err), -1);
	CU_ASSERT_EQUAL(err.code, 0);
	CU_ASSERT_EQUAL(c.calls, 2);
	CU_ASSERT_EQUAL(c.bad, 0);
	env_frame_dec_free(d);
	stream_free(&st);
}

/*
 * A 0xFFFFFFFF prefix against a 16 MiB max_frame fails at once and
 * holds no large buffer; in skip mode it is skipped with only the report
 * prefix buffered.
 */
static void
test_dec_huge_prefix(void)
{
	struct env_frame_dec *d;
	struct tcoll c;
	struct env_error err;
	uint8_t *buf;
	size_t before, i;
	int rc;

	buf = malloc(4 + 8192);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	env_frame_put_len(buf, 0xFFFFFFFFu);
	for (i = 0; i < 8192; i++)
		buf[4 + i] = (uint8_t)(i * 13 + 1);

	before = heap_in_use();
	d = env_frame_dec_new(ENV_MAX_FRAME_LIMIT, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	rc = env_frame_dec_feed(d, buf, 4 + 16, coll_cb, &c, &err);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(err.code, 413);
	CU_ASSERT_EQUAL(c.calls, 0);
	CU_ASSERT(env_frame_dec_pending(d) <= 4 + 16);
	CU_ASSERT(heap_in_use() < before + 1024 * 1024);
	env_frame_dec_free(d);

	/* Skip mode: the decoder is mid-skip; nothing big is held. */
	before = heap_in_use();
	d = env_frame_dec_new(ENV_MAX_FRAME_LIMIT, ENV_DEC_SKIP_OVERSIZE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(&c, 0, sizeof(c));
	rc = env_frame_dec_feed(d, buf, 4 + 100, coll_cb, &c, &err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(c.calls, 0);	/* the report prefix is not full */
	CU_ASSERT(env_frame_dec_pending(d) <= 4 + ENV_DEC_OVERSIZE_PREFIX);
	CU_ASSERT(heap_in_use() < before + 1024 * 1024);
	rc = env_frame_dec_feed(d, buf + 104, 8192 - 100, coll_cb, &c, &err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(c.over_calls, 1);
	CU_ASSERT(env_frame_dec_pending(d) <= 4 + ENV_DEC_OVERSIZE_PREFIX);
	CU_ASSERT(heap_in_use() < before + 1024 * 1024);
	env_frame_dec_free(d);
	free(buf);
}

/* max_frame = 1: a 1-byte frame passes, a 2-byte one is 413. */
static void
test_dec_limits(void)
{
	struct env_frame_dec *d;
	struct tcoll c;
	struct env_error err;
	uint8_t b[4 + 2];

	d = env_frame_dec_new(1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(&c, 0, sizeof(c));
	env_frame_put_len(b, 1);
	b[4] = 'x';
	CU_ASSERT_EQUAL(env_frame_dec_feed(d, b, 5, coll_cb, &c, &err), 0);
	CU_ASSERT_EQUAL(c.calls, 1);
	env_frame_put_len(b, 2);
	b[5] = 'y';
	CU_ASSERT_EQUAL(env_frame_dec_feed(d, b, 6, coll_cb, &c, &err), -1);
	CU_ASSERT_EQUAL(err.code, 413);
	CU_ASSERT_EQUAL(c.calls, 1);
	env_frame_dec_free(d);

	/* Feeding zero bytes is harmless. */
	d = env_frame_dec_new(10, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(env_frame_dec_feed(d, b, 0, coll_cb, &c, &err), 0);
	CU_ASSERT_EQUAL(c.calls, 0);
	CU_ASSERT_EQUAL(env_frame_dec_pending(d), 0);
	env_frame_dec_free(d);
}

void
init_frame_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("frame", NULL, NULL);
	if (s == NULL)
		return;
	CU_add_test(s, "put_len is big-endian", test_put_len);
	CU_add_test(s, "peek", test_peek);
	CU_add_test(s, "decoder arguments", test_dec_new);
	CU_add_test(s, "1000 frames, any chunking", test_dec_stream);
	CU_add_test(s, "pending stays bounded", test_dec_pending);
	CU_add_test(s, "zero length prefix fails", test_dec_zero_len);
	CU_add_test(s, "oversized prefix fails", test_dec_oversize_fail);
	CU_add_test(s, "skip oversized frames", test_dec_skip_oversize);
	CU_add_test(s, "skip oversized below prefix bound",
	    test_dec_skip_small_max);
	CU_add_test(s, "callback stops feeding", test_dec_cb_stop);
	CU_add_test(s, "0xFFFFFFFF prefix, no big allocation",
	    test_dec_huge_prefix);
	CU_add_test(s, "max_frame 1", test_dec_limits);
}
