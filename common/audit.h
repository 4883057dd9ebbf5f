/*
 * audit.h - the audit log writer of DESIGN.md §8: one record per line,
 * chained by SHA-256 (or HMAC-SHA-256 with a key), written off the I/O
 * threads.  The record format is in audit_rec.h and nap-audit(1).
 *
 * Threads.  audit_msg(), audit_session(), audit_accepting() and
 * audit_stats() may be called from any number of threads at once: they
 * copy the event into a bounded queue under one mutex (one memcpy of the
 * message, no I/O, no hashing) and return.  One writer thread, started by
 * audit_open(), swaps the queue for an empty one, formats, hashes and
 * writes the whole batch with one write(2), then syncs by policy.
 * audit_open() and audit_close() belong to one thread (main).
 *
 * The audit never makes the router drop a message: when the queue is full
 * the record is counted lost; when the disk fails (ENOSPC...) the writer
 * logs loudly, rolls the file back to its last whole record and, by
 * policy, either drops the batch (keep-routing, counted lost) or keeps it
 * and clears audit_accepting() until a retry succeeds (stop-accepting).
 * The next record written after a loss is a <lost n="N"> record, so the
 * chain stays whole and the gap is on record.
 *
 * How to integrate (nap-domain and nap-platform):
 *   main.c: map the config keys of nap.conf(5) "audit" onto struct
 *     audit_conf (audit_parse_sync() and audit_parse_full() for the two
 *     word-valued keys), audit_open() after the config checks and before
 *     the workers start (exit 1 with its err), audit_close() after the
 *     workers are joined (log its final counts: records lost).
 *   route.c: one audit_msg() per message once the route step acted (§6):
 *     hop AUDIT_IN, link = the link's code, verdict routed / delivered /
 *     stored / refused (code = the §4 error), h = ctx->h (NULL when the
 *     Header did not parse), body/len = ctx->body/len; on the way out
 *     (forwarded to a platform or a domain) AUDIT_OUT with the link it
 *     left by.  Refusals at the gateway spy: a hook that rejects calls
 *     audit_msg(..., AUDIT_REFUSED, ctx->error, ...).
 *   store / confirmation / expiry: AUDIT_STORED, AUDIT_CONFIRMED,
 *     AUDIT_EXPIRED with the stored bytes.
 *   link.c: audit_session() at login (counts NULL) and at close with the
 *     link's struct audit_counts (audit_counts_add() on each message).
 *   stop accepting: when !audit_accepting(), pause the listener and stop
 *     reading from links (as for input-cap) until it is true again.
 */
#ifndef NAP_AUDIT_H
#define NAP_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

enum audit_hop { AUDIT_IN, AUDIT_OUT };

enum audit_verdict {
	AUDIT_ROUTED,		/* the route step passed it on */
	AUDIT_DELIVERED,	/* written to the destination device's link */
	AUDIT_STORED,		/* in the store, on disk */
	AUDIT_CONFIRMED,	/* the destination confirmed it (§5) */
	AUDIT_EXPIRED,		/* its TTL ran out in the store */
	AUDIT_REFUSED,		/* refused with a §4 code */
	AUDIT_NVERDICTS
};

enum audit_sync {
	AUDIT_SYNC_EVERY,	/* fdatasync after every batch written */
	AUDIT_SYNC_INTERVAL,	/* at most every sync_ms */
	AUDIT_SYNC_NEVER,	/* only at rotation and close */
};

enum audit_full {
	AUDIT_FULL_KEEP_ROUTING,	/* count records lost, route on */
	AUDIT_FULL_STOP_ACCEPTING,	/* clear audit_accepting() */
};

struct audit_conf {
	const char	*path;		/* the log; rotated files beside it */
	uint32_t	 server_code;	/* 00000000 for every platform */
	const char	*instance;	/* this server's name (inst="") */
	const char	*key_file;	/* HMAC key; NULL: plain SHA-256 */
	size_t		 rotate_bytes;	/* 0: no rotation by size */
	long		 rotate_seconds; /* 0: no rotation by time */
	enum audit_sync	 sync;
	long		 sync_ms;	/* for AUDIT_SYNC_INTERVAL, >= 1 */
	enum audit_full	 on_full;
	size_t		 queue_cap;	/* bytes queued; 0: 64 MiB */
	const char	*header_only;	/* type ranges "1000-1999,5" whose
					   payload is not recorded; NULL */
};

/* Messages and bytes per type of one session (bounded). */
#define AUDIT_COUNTS_MAX	16
#define AUDIT_TYPE_OTHER	UINT32_MAX	/* past AUDIT_COUNTS_MAX types */
struct audit_count {
	uint32_t	type;
	uint64_t	msgs_in, bytes_in, msgs_out, bytes_out;
};
struct audit_counts {
	size_t			n;
	struct audit_count	c[AUDIT_COUNTS_MAX];
};

struct audit_stat {
	uint64_t	written;	/* records on disk (incl. file/lost) */
	uint64_t	lost;		/* records never written */
	uint64_t	rotated;	/* files rotated */
	uint64_t	bytes;		/* bytes written */
	size_t		queued;		/* bytes waiting now */
	bool		accepting;
	char		last_error[128]; /* "" when none yet */
};

struct audit;

/*
 * Opens (creating it, mode 0640) the log at conf->path, reads the key
 * file, and starts the writer thread.  An existing log is continued: its
 * chain goes on from its last record's hash (an incomplete last line, left
 * by a crash, is cut off and counted lost).  When conf->path is missing
 * but rotated files are beside it, the chain goes on from the newest of
 * them.  Returns a handle the caller frees with audit_close(), or NULL with
 * a one-line message in err.  conf's strings are copied.
 */
struct audit *audit_open(const struct audit_conf *conf, char *err,
	    size_t errlen);

/*
 * Writes what is queued, syncs, stops the writer, frees.  With final
 * not NULL, fills it with the last counts (to log at shutdown).  NULL
 * is ok for either.
 */
void	audit_close(struct audit *, struct audit_stat *final);

/*
 * Queues one message record.  body/len is the envelope without its
 * 4-byte length prefix; h its parsed Header, or NULL when it did not parse
 * (the record then has no type/from/to and the body is kept as base64).
 * code is the §4 code for AUDIT_REFUSED, else 0.  Never blocks on I/O.
 */
void	audit_msg(struct audit *, enum audit_hop hop, uint32_t link_code,
	    enum audit_verdict v, int code, const struct env_header *h,
	    const uint8_t *body, size_t len);

/*
 * Queues one session record: login (counts NULL or empty) or logout,
 * with reason (NULL: none; cut to 95 bytes) and what the session carried.
 */
void	audit_session(struct audit *, uint32_t code, const char *session,
	    bool login, const char *reason, const struct audit_counts *);

/* Adds one message of type (in, or out when out is true) to c. */
void	audit_counts_add(struct audit_counts *c, uint32_t type, bool out,
	    size_t bytes);

/* False while the stop-accepting policy is in force (see above). */
bool	audit_accepting(const struct audit *);

void	audit_stats(struct audit *, struct audit_stat *);

/* "every", "never" or a number of ms -> sync policy.  0 or -1 + err. */
int	audit_parse_sync(const char *s, enum audit_sync *sync, long *ms,
	    char *err, size_t errlen);
/* "keep-routing" or "stop-accepting".  0 or -1 + err. */
int	audit_parse_full(const char *s, enum audit_full *full, char *err,
	    size_t errlen);

/* "routed", "delivered"...; NULL out of range. */
const char *audit_verdict_name(enum audit_verdict);

#endif /* NAP_AUDIT_H */
