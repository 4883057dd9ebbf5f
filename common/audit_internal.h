/*
 * audit_internal.h - the body of struct audit and what audit.c (queue,
 * writer thread) and audit_file.c (formatting, files, rotation) share.
 * Not for use outside common/audit*.c.
 */
#ifndef NAP_AUDIT_INTERNAL_H
#define NAP_AUDIT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "audit_rec.h"

#define AUDIT_DEFAULT_QUEUE	(64u << 20)
#define AUDIT_FLUSH_AT		(1u << 20)	/* bytes formatted per write */
#define AUDIT_RETRY_MS		1000		/* disk failure retry */
#define AUDIT_TICK_MS		1000		/* idle wake-up */
#define AUDIT_COMPLAIN_MS	10000		/* repeat a disk failure */
#define AUDIT_REASON_MAX	96

/* A growing byte buffer. */
struct abuf {
	uint8_t	*p;
	size_t	 len, cap;
};

/* Queue items: a common head, then the kind's fields (8-byte aligned). */
enum { QI_MSG = 1, QI_SESS };
struct qhdr {
	uint32_t	size;		/* of the whole item, aligned */
	uint32_t	kind;
	int64_t		t_us;		/* taken under the queue lock */
};
struct qmsg {
	struct qhdr		hd;
	uint8_t			hop, verdict, has_h;
	int32_t			code;
	uint32_t		link;
	uint32_t		len;	/* body bytes that follow */
	struct env_header	h;
};
struct qsess {
	struct qhdr		hd;
	uint32_t		code;
	uint8_t			login;
	char			session[17];
	char			reason[AUDIT_REASON_MAX];
	struct audit_counts	counts;
};

struct audit {
	/* Configuration, copied at open. */
	char			*path, *inst;
	uint32_t		 server;
	size_t			 rotate_bytes;
	long			 rotate_s;
	enum audit_sync		 sync;
	long			 sync_ms;
	enum audit_full		 on_full;
	size_t			 queue_cap;
	struct audit_ranges	 hdr_only;	/* n == 0: none */

	/* Shared with the calling threads, under mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* queue not empty, or stop */
	struct abuf		 q;
	uint64_t		 qlost;		/* lost since the last swap */
	bool			 stop;
	char			 last_error[128];
	atomic_bool		 accepting;
	_Atomic uint64_t	 n_written, n_lost, n_rotated, n_bytes;

	/* The writer thread's alone (and audit_open's before it starts). */
	pthread_t		 tid;
	bool			 started;
	struct abuf		 batch;		/* swapped with q */
	struct abuf		 out;		/* formatted, not yet written */
	size_t			 out_nrec;
	uint64_t		 wlost;		/* lost, no <lost> record yet */
	char			 wlost_why[64];
	struct audit_mac	*mac;		/* the chain */
	struct audit_mac	*digest;	/* plain SHA-256 of bodies */
	int			 fd;
	uint64_t		 size;		/* bytes on disk in this file */
	uint64_t		 file_recs;	/* records in this file */
	uint32_t		 fileno;	/* n of this file's <file> */
	int64_t			 opened_ms;	/* this file, monotonic */
	char			 hash[AUDIT_HEX + 1];	/* last formatted */
	char			 hash_disk[AUDIT_HEX + 1]; /* last written */
	bool			 disk_bad;
	int64_t			 last_sync_ms, last_complain_ms;
	bool			 unsynced;
};

/* audit.c */
void	audit_set_error(struct audit *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	audit_lose(struct audit *, uint64_t n, const char *why);
bool	audit_wait_retry(struct audit *);

/* audit_file.c */
int	audit_file_open(struct audit *, bool keyed, char *err, size_t errlen);
void	audit_file_item(struct audit *, const struct qhdr *);
int	audit_file_flush(struct audit *);
void	audit_file_tick(struct audit *);
void	audit_file_close(struct audit *);

#endif /* NAP_AUDIT_INTERNAL_H */
