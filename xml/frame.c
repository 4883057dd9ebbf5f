/*
 * frame.c - NAP frames (DESIGN.md §2): a 4-byte big-endian length L, then
 * L bytes of one XML document, 1 <= L <= max_frame.
 *
 * The decoder holds only bytes that have arrived.  Its buffer grows with
 * the data fed to it (doubling, capped at 4 + max_frame), so a peer that
 * announces 16 MiB and sends 10 bytes costs 10 bytes, not 16 MiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

struct env_frame_dec {
	uint32_t	 max_frame;
	int		 flags;
	uint8_t		*buf;		/* partial frame: prefix + body so far */
	size_t		 len;		/* bytes held in buf */
	size_t		 cap;
	uint32_t	 skip;		/* oversize body bytes still to drop */
	int		 failed;	/* sticky 413 */
	uint32_t	 bad_len;	/* the prefix that failed us */
};

static int	dec_hold(struct env_frame_dec *, const uint8_t *, size_t);
static int	dec_oversize(struct env_frame_dec *, const uint8_t *, size_t,
		    uint32_t, env_frame_cb, void *, size_t *);
static void	set_err(struct env_error *, int, const char *, uint32_t);

void
env_frame_put_len(uint8_t out[4], uint32_t len)
{
	out[0] = len >> 24;
	out[1] = len >> 16;
	out[2] = len >> 8;
	out[3] = len;
}

enum env_frame_peek
env_frame_peek(const uint8_t *buf, size_t avail, uint32_t max_frame,
    uint32_t *len)
{
	uint32_t l;

	if (avail < 4)
		return ENV_FRAME_NEED_MORE;
	l = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	*len = l;
	if (l == 0 || l > max_frame)
		return ENV_FRAME_BAD_LEN;
	if (avail - 4 < l)
		return ENV_FRAME_NEED_MORE;
	return ENV_FRAME_READY;
}

struct env_frame_dec *
env_frame_dec_new(uint32_t max_frame, int flags)
{
	struct env_frame_dec *d;

	if (max_frame == 0 || max_frame > ENV_MAX_FRAME_LIMIT)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->max_frame = max_frame;
	d->flags = flags;
	return d;
}

void
env_frame_dec_free(struct env_frame_dec *d)
{
	if (d == NULL)
		return;
	free(d->buf);
	free(d);
}

size_t
env_frame_dec_pending(const struct env_frame_dec *d)
{
	return d->len;
}

static void
set_err(struct env_error *err, int code, const char *what, uint32_t len)
{
	if (err == NULL)
		return;
	err->code = code;
	if (code == 0)
		snprintf(err->reason, sizeof(err->reason), "stopped by caller");
	else
		snprintf(err->reason, sizeof(err->reason), "%s %u", what, len);
}

/* Appends n bytes to the partial frame; the buffer never exceeds one frame. */
static int
dec_hold(struct env_frame_dec *d, const uint8_t *p, size_t n)
{
	size_t need = d->len + n, cap, limit;
	uint8_t *nb;

	limit = (size_t)(d->max_frame > ENV_DEC_OVERSIZE_PREFIX ?
	    d->max_frame : ENV_DEC_OVERSIZE_PREFIX) + 4;
	if (need > d->cap) {
		cap = d->cap ? d->cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		if (cap < need)
			return -1;
		if ((nb = realloc(d->buf, cap)) == NULL)
			return -1;
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

/*
 * Skip mode (§2, server-to-server links): report the oversized frame with
 * up to ENV_DEC_OVERSIZE_PREFIX bytes of its body so the caller can read
 * its Header and answer 413 to its origin, then drop the rest as it comes.
 * The prefix is gathered in d->buf; *used counts bytes taken from p.
 */
static int
dec_oversize(struct env_frame_dec *d, const uint8_t *p, size_t n,
    uint32_t declared, env_frame_cb cb, void *arg, size_t *used)
{
	size_t want = ENV_DEC_OVERSIZE_PREFIX, have = d->len - 4, take;

	if (want > declared)
		want = declared;

	take = want - have;
	if (take > n)
		take = n;
	if (dec_hold(d, p, take) == -1)
		return -1;
	*used = take;
	if (d->len - 4 < want)
		return 0;		/* need more of the prefix */
	d->skip = declared - (uint32_t)want;
	d->len = 0;
	return cb(arg, d->buf + 4, want, true, declared) ? 1 : 0;
}

int
env_frame_dec_feed(struct env_frame_dec *d, const uint8_t *buf, size_t n,
    env_frame_cb cb, void *arg, struct env_error *err)
{
	enum env_frame_peek pk;
	uint32_t l = 0;
	size_t used, take;
	int rc;

	if (d->failed) {
		set_err(err, 413, "bad frame length", d->bad_len);
		return -1;
	}
	while (n > 0) {
		if (d->skip > 0) {
			take = d->skip < n ? d->skip : n;
			d->skip -= (uint32_t)take;
			buf += take;
			n -= take;
			continue;
		}
		if (d->len == 0) {
			/* Zero-copy: whole frames straight from the chunk. */
			pk = env_frame_peek(buf, n, d->max_frame, &l);
			if (pk == ENV_FRAME_READY) {
				if (cb(arg, buf + 4, l, false, l)) {
					set_err(err, 0, NULL, 0);
					return -1;
				}
				buf += 4 + (size_t)l;
				n -= 4 + (size_t)l;
				continue;
			}
			if (pk == ENV_FRAME_NEED_MORE || (pk == ENV_FRAME_BAD_LEN &&
			    l != 0 && (d->flags & ENV_DEC_SKIP_OVERSIZE))) {
				take = n < 4 ? n : 4;
				if (dec_hold(d, buf, take) == -1)
					goto nomem;
				buf += take;
				n -= take;
				continue;
			}
			goto bad;
		}
		/* A partial frame is held: complete the prefix, then the body. */
		if (d->len < 4) {
			take = 4 - d->len;
			take = take < n ? take : n;
			if (dec_hold(d, buf, take) == -1)
				goto nomem;
			buf += take;
			n -= take;
			/* Judge a complete prefix now, not when more bytes come,
			 * so the verdict does not depend on how bytes arrive. */
			if (d->len == 4 && env_frame_peek(d->buf, 4,
			    d->max_frame, &l) == ENV_FRAME_BAD_LEN && (l == 0 ||
			    !(d->flags & ENV_DEC_SKIP_OVERSIZE)))
				goto bad;
			continue;
		}
		pk = env_frame_peek(d->buf, d->len, d->max_frame, &l);
		if (pk == ENV_FRAME_BAD_LEN) {
			if (l == 0 || !(d->flags & ENV_DEC_SKIP_OVERSIZE))
				goto bad;
			rc = dec_oversize(d, buf, n, l, cb, arg, &used);
			if (rc == -1)
				goto nomem;
			buf += used;
			n -= used;
			if (rc == 1) {
				set_err(err, 0, NULL, 0);
				return -1;
			}
			continue;
		}
		take = (size_t)l + 4 - d->len;
		take = take < n ? take : n;
		if (dec_hold(d, buf, take) == -1)
			goto nomem;
		buf += take;
		n -= take;
		if (d->len == (size_t)l + 4) {
			d->len = 0;
			if (cb(arg, d->buf + 4, l, false, l)) {
				set_err(err, 0, NULL, 0);
				return -1;
			}
		}
	}
	return 0;
bad:
	d->failed = 1;
	d->bad_len = l;
	d->len = 0;
	set_err(err, 413, "bad frame length", l);
	return -1;
nomem:
	d->failed = 1;
	d->bad_len = l;
	set_err(err, 413, "no memory for frame of length", l);
	return -1;
}
