/*
 * metrics.h - what a server counts for its admin API (DESIGN.md §12):
 * per-worker counters written only by their worker (relaxed atomic
 * loads and stores: no lock, no bus-locked add on the hot path) and
 * read, a little stale, by the main thread for /metrics.
 *
 * The counting sits around the server's own code, not in it: a
 * wrapper of the link layer's callbacks (struct conn_ops: handshakes,
 * logins, login refusals, frames, route latency, bytes of closed links)
 * and an observer of the message pipe (messages by type class and
 * verdict, refusals by §4 code, pipe latency).  One server per process:
 * the state is the process's (metrics_init() once, before the workers).
 */
#ifndef NAP_METRICS_H
#define NAP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "conn.h"
#include "pipe.h"

/* Latency buckets, upper bounds in microseconds (then +Inf). */
#define MX_NBUCKETS	12
#define MX_REASONS	16		/* login refusal reasons per worker */
#define MX_REASON_LEN	64

typedef _Atomic uint64_t mx_u64;

struct mx_hist {
	mx_u64		 b[MX_NBUCKETS + 1];	/* not cumulative; last: +Inf */
	mx_u64		 sum_ns;
};

enum mx_class { MX_RESERVED, MX_APPLICATION, MX_NCLASS };	/* §4 */
enum mx_verdict { MX_ROUTED, MX_ANSWERED, MX_REFUSED, MX_NVERDICT };

struct mx_worker {
	mx_u64		 msgs[MX_NCLASS][MX_NVERDICT];
	mx_u64		 refused_code[1000];	/* by §4 code, 0..999 */
	mx_u64		 frames_in, frame_bytes_in;
	mx_u64		 handshakes_ok, handshakes_failed;
	mx_u64		 logins, logouts;
	mx_u64		 closed_bytes_in, closed_bytes_out;	/* TLS */
	mx_u64		 nreasons;
	struct {
		char	 why[MX_REASON_LEN];
		mx_u64	 n;
	}		 reasons[MX_REASONS + 1];	/* last: "other" */
	struct mx_hist	 route, pipe;
};

/*
 * The process's counters for n workers; login_off is the offset in the
 * server's link (which begins with struct conn) of an int64_t the
 * wrapper sets to the Unix time of the link's Login.  0, or -1 on no
 * memory.
 */
int	metrics_init(int n, size_t login_off);
void	metrics_free(void);
/* The counters of worker idx (NULL before metrics_init()). */
const struct mx_worker *metrics_worker(int idx);
/* Puts the counting wrapper around a connset's callbacks (call after
 * the server set them, before the worker runs). */
void	metrics_wrap(struct connset *);
/* Observes the server's pipe (pipe_observe()). */
void	metrics_observe(struct pipe *);
/* A link's TLS bytes so far, each way (0 when it has none yet). */
void	metrics_link_bytes(const struct conn *, uint64_t *in, uint64_t *out);
/* The Unix time the link logged in (0: not yet). */
int64_t	metrics_login_time(const struct conn *);

/* Prometheus text format 0.0.4: the counters of every worker, summed. */
void	metrics_write(struct evbuffer *);
/* One HELP and TYPE header. */
void	metrics_head(struct evbuffer *, const char *name, const char *type,
	    const char *help);

#endif /* NAP_METRICS_H */
