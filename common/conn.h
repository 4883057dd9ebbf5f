/*
 * conn.h - the link layer under every NAP server link: a TLS filter
 * buffer event, the peer's code from its certificate (§2), frames cut
 * out of the byte stream without allocating from a length prefix, input
 * bounded per link and per worker, the deadlines of Login, heartbeat
 * and slow frames (§5, HARDENING.md), output bounded against slow
 * readers, and the orderly close (flush, close_notify, free).
 *
 * What a frame means, what a bad length prefix costs, and what the
 * server's tables do when a link goes are the server's: struct
 * conn_ops.  A server embeds struct conn as the first member of its own
 * link and allocates it; the set calls ops->free to release it.
 */
#ifndef NAP_CONN_H
#define NAP_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include "iopool.h"

#define CONN_LOGIN_DEADLINE	10	/* seconds from accept to Login */
#define CONN_CLOSE_DEADLINE	5	/* seconds to flush a closing link */
#define CONN_ERR_MAX		16	/* §4: 16 protocol errors ... */
#define CONN_ERR_WINDOW		60	/* ... within 60 s close the link */

enum conn_state { C_HANDSHAKE, C_LOGIN, C_ONLINE, C_CLOSING };

struct connset;

struct conn {
	struct connset		*set;
	struct bufferevent	*bev;
	uint32_t		 id;		/* unique for the process life */
	uint32_t		 code;		/* from the certificate (§2) */
	enum conn_state		 state;
	unsigned		 nerr;		/* protocol errors in window */
	time_t			 err_since;
	uint64_t		 msgs_in, msgs_out;
	time_t			 since;		/* accepted, or closing since */
	int64_t			 last_rx;	/* last byte received, ms */
	struct event		*closer;	/* flush, close_notify, free */
	int			 shut;		/* close_notify sent */
	size_t			 held;		/* bytes of a partial frame */
	int64_t			 partial_since;	/* its first byte, ms */
	int			 paused;	/* reading stopped: CONN_PAUSE_* */
#define CONN_PAUSE_INPUT 1			/* input-cap (§2) */
#define CONN_PAUSE_HOLD	2			/* audit stop-accepting (§8) */
	uint32_t		 skip;		/* oversized body bytes to drop */
	struct evbuffer		*stage;		/* frames of this loop turn */
	struct conn		*dnext;		/* the set's dirty list */
	char			 peer[64];	/* "ip:port" of the peer */
	bool			 dirty;		/* on it */
	struct conn		*prev, *next;	/* the set's list */
};

struct conn_ops {
	/* After the handshake, the code known: 0, or -1 to refuse. */
	int	(*identified)(struct conn *);
	/* A whole frame, prefix included: 0, or -1 when c was closed. */
	int	(*frame)(struct conn *, const uint8_t *frame, size_t len);
	/* A length prefix of 0 or above max_frame (len: its value): 1 to
	 * skip the frame's bytes and go on, 0 when c was closed. */
	int	(*bad_length)(struct conn *, uint32_t len);
	/* c is closing (it was in state was): the tables forget it. */
	void	(*closing)(struct conn *, enum conn_state was,
		    const char *why);
	/* Release the server's link around c (its buffer event is gone). */
	void	(*free)(struct conn *);
};

/* One per worker: its links and their shared bounds. */
struct connset {
	const struct conn_ops	*ops;
	struct iop_worker	*io;		/* loop, clock, link count */
	struct conn		*links;
	size_t			 max_frame;	/* §2 */
	size_t			 out_cap;	/* per link, bytes queued */
	long			 hb_timeout;	/* §5, seconds */
	size_t			 held;		/* partial-frame bytes, all */
	size_t			 held_cap;	/* this worker's share */
	bool			 holding;	/* conn_hold_all() */
	struct conn		*dirty;		/* links with staged frames */
	/* conn_log(): a token bucket, so a flood cannot fill the disk. */
	int64_t			 rl_at;		/* ms of the last refill */
	unsigned		 rl_tokens, rl_dropped;
	time_t			 rl_told;	/* last "suppressed" line */
};

#define CONN_LOG_RATE	20	/* connection lines a second a worker, */
#define CONN_LOG_BURST	200	/* beyond a burst of this many */

/* The bounds of a server's links (§2, §5), from its configuration. */
struct conn_bounds {
	size_t		max_frame;
	size_t		out_cap;	/* per link */
	size_t		in_cap;		/* per server: a worker's share */
	long		hb_timeout;
	int		nworkers;
};
void	conn_set_init(struct connset *, const struct conn_ops *,
	    struct iop_worker *, const struct conn_bounds *);
/*
 * An accepted socket: allocates the server's link of size bytes (struct
 * conn first; zeroed), with an SSL of *ctx taken under mu and the next
 * id of *next_id, and starts it on fd.  Returns it (the set's ops->free
 * releases it), or NULL with fd closed and the failure logged.
 */
struct conn *conn_accept(struct connset *, int fd, SSL_CTX *const *ctx,
	    pthread_mutex_t *mu, atomic_uint *next_id, size_t size);

/*
 * How frames_cut() hands out what it cuts: frame() gets each whole frame,
 * prefix included (0: go on, -1: stop, the link is gone or paused);
 * bad_length() a prefix of 0 or above max_frame (1: skip the frame's
 * bytes and go on, 0: stop).  *skip carries what is left of a skipped
 * frame from one read to the next (zero it at the start).
 */
struct frame_cut {
	size_t		  max_frame;
	uint32_t	 *skip;
	int		(*frame)(void *, const uint8_t *frame, size_t len);
	int		(*bad_length)(void *, uint32_t len);
	void		 *arg;
};
/* Cuts every whole frame off in (the one frame loop of all links). */
void	frames_cut(struct evbuffer *in, const struct frame_cut *);

/*
 * Queues a whole frame.  0, or -1 when c is closing or was just closed
 * as a slow reader (out_cap).  Frames written in one loop turn go to
 * TLS together at its end (conn_flush_all): one record for many frames
 * instead of one each.
 */
int	conn_write(struct conn *, const uint8_t *frame, size_t len);
/* The end of a loop turn: every link's staged frames to TLS. */
void	conn_flush_all(struct connset *);
/* Stops reading, tells ops->closing, flushes (bounded), then frees. */
void	conn_close(struct conn *, const char *why);
/* Counts a protocol error (§4); closes c at the 16th in 60 s.  True
 * when c was closed. */
bool	conn_count_error(struct conn *);
/* Deadlines of every link of the set (call a few times a second). */
void	conn_sweep(struct connset *);
/*
 * An info line about a link's life (handshake failed, login, refusal,
 * close) as "link ID from ADDR: ...", like a mail server's "connect
 * from host[ip]".  Past CONN_LOG_RATE a second they are counted, not
 * written, and the count is logged every 10 s while it grows.
 */
void	conn_log(struct conn *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* §8 stop-accepting: no link is read while hold is true, and their
 * heartbeat deadlines wait (call it every tick). */
void	conn_hold_all(struct connset *, bool hold);
/* SIGHUP: each logged-in link whose certificate no longer verifies
 * against ctx (revoked since, another CA) goes to revoked(), which
 * closes it.  The count. */
unsigned conn_recheck_certs(struct connset *, SSL_CTX *ctx,
	    void (*revoked)(struct conn *, const char *why));
/* A reference to the server's current context *ctx, taken under mu. */
SSL_CTX	*conn_ctx_ref(SSL_CTX **ctx, pthread_mutex_t *mu);
/* Stop: closes every link not yet closing. */
void	conn_close_all(struct connset *, const char *why);
/* After the loop ended: frees every link (no callback runs). */
void	conn_release_all(struct connset *);

#endif /* NAP_CONN_H */
