/*
 * iopool.h - the threads of a NAP server: the main thread accepts and
 * hands each connection to one of N I/O workers (round robin); each
 * worker runs one event_base and owns its links outright.  Workers hand
 * each other items (a small header, maybe a whole frame after it) by
 * inboxes: an evbuffer under a mutex per worker, filled in batches, one
 * lock per destination per loop turn.  What an item means, and what a
 * worker does on start, stop, reload and every quarter second, is the
 * server's: the callbacks of struct iop_ops.
 *
 * A server embeds struct iop_worker as the first member of its own
 * worker, so that a callback may cast the pointer it gets back.
 */
#ifndef NAP_IOPOOL_H
#define NAP_IOPOOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "config.h"
#include "listen.h"

#define IOP_MAX_WORKERS	64

/*
 * What crosses between workers: an item, then len bytes of frame.  A
 * server may use struct iop_item as it is, or its own item that begins
 * with IOP_ITEM_HEAD (the pool reads only those fields) and passes its
 * size to iopool_init().
 */
#define IOP_ITEM_HEAD							\
	uint8_t		kind;		/* the server's, from 1 */	\
	uint8_t		flags;						\
	uint16_t	node;		/* a node code */		\
	uint32_t	id;		/* a link id */			\
	uint32_t	len		/* bytes of frame after it */
struct iop_head {
	IOP_ITEM_HEAD;
};
struct iop_item {
	IOP_ITEM_HEAD;
	uint32_t	code;		/* a code, a region... */
	uint64_t	aux;
};

/*
 * Items for other workers, batched: one evbuffer per destination,
 * moved to its inbox under one lock by iop_outbox_flush().  Each worker
 * has one; a thread of the server's own (a store writer) may keep one.
 */
struct iop_outbox {
	struct evbuffer		*q[IOP_MAX_WORKERS];
	uint64_t		 dirty;		/* q bits with items */
};

struct iopool;

struct iop_worker {
	struct iopool		*pool;
	int			 idx;
	pthread_t		 tid;
	struct event_base	*base;
	struct event		*wake;
	pthread_mutex_t		 mu;		/* guards the five below */
	struct evbuffer		*inbox;
	int			*newfds;
	size_t			 nnew, capnew;
	int			 stop_req, reload_req;
	struct iop_outbox	 out;		/* local batches */
	int			 stopping;
	struct event		*stop_timer;
	struct event		*tick;		/* 4 a second */
	struct event		*turn;		/* the end of a loop turn */
	time_t			 now;		/* monotonic seconds */
	size_t			 nlinks;	/* kept by the server's links */
};

/* The server's side; every callback runs on the worker's own thread. */
struct iop_ops {
	void	(*start)(struct iop_worker *);	/* before its loop */
	void	(*end)(struct iop_worker *);	/* after it: free links */
	void	(*adopt)(struct iop_worker *, int fd);
	/* item: the server's item (IOP_ITEM_HEAD first); it may change
	 * it, the copy is the pool's. */
	void	(*item)(struct iop_worker *, void *item,
		    const uint8_t *frame);
	void	(*tick)(struct iop_worker *);	/* deadlines */
	/* At the end of a loop turn that asked for it (iop_turn_end):
	 * what was queued meanwhile goes out at once.  May be NULL. */
	void	(*turn_end)(struct iop_worker *);
	void	(*reload)(struct iop_worker *);	/* may be NULL */
	void	(*logout)(struct iop_worker *);	/* stop: Logout to all */
	void	(*destroy)(struct iop_worker *); /* stop: close the rest */
};

struct iopool {
	const struct iop_ops	*ops;
	int			 n;
	size_t			 isz;		/* the server's item size */
	int			 first;		/* first worker given links */
	atomic_uint		 rr;
	struct iop_worker	*w[IOP_MAX_WORKERS];
	struct listener		 lis;
};

/*
 * Sets up n (1..IOP_MAX_WORKERS) workers, ws[i] the server's (zeroed),
 * whose items are isz bytes (sizeof(struct iop_item) or the server's
 * own, at most IOP_ITEM_MAX).  0, or -1 on no memory (iopool_free()
 * then).
 */
#define IOP_ITEM_MAX	256
int	iopool_init(struct iopool *, int n, struct iop_worker **ws,
	    const struct iop_ops *, size_t isz);
/*
 * Binds addr on base (the main thread's loop), then starts the threads.
 * 0 with the bound port in pool->lis.port, or -1 with err filled.
 */
int	iopool_start(struct iopool *, struct event_base *base,
	    const struct conf_addr *addr, char *err, size_t errlen);
/* Graceful stop: no more accepts; each worker runs ops->logout, waits
 * (at most 3 s) for its links to go, runs ops->destroy; joins them. */
void	iopool_stop(struct iopool *);
/* Each worker runs ops->reload soon, on its thread. */
void	iopool_reload(struct iopool *);
/* Stops (hold) or resumes accepting connections, on the main thread. */
void	iopool_hold_accept(struct iopool *, int hold);
void	iopool_free(struct iopool *);

/*
 * Queues an item (and its len bytes of frame) for worker dest, sent
 * with the batch at iop_flush(); dest == w's own index runs ops->item
 * at once (item may be changed by it).
 */
void	iop_send(struct iop_worker *w, int dest, void *item,
	    const uint8_t *frame);

/* An outbox for pool p's n workers: 0, or -1 on no memory (free it
 * with iop_outbox_free() either way). */
int	iop_outbox_init(struct iop_outbox *, int n);
void	iop_outbox_free(struct iop_outbox *, int n);
/*
 * Adds an item of isz bytes for worker dest, then its frame in two
 * pieces (a: alen bytes, b: blen; alen + blen is the item's len).
 */
void	iop_outbox_add(struct iop_outbox *, int dest, const void *item,
	    size_t isz, const void *a, size_t alen, const void *b,
	    size_t blen);
/* Moves every batch to its worker's inbox: one lock and one wake-up per
 * destination. */
void	iop_outbox_flush(struct iopool *, struct iop_outbox *);
/* Moves every local batch to its worker's inbox. */
void	iop_flush(struct iop_worker *w);
/*
 * Asks for ops->turn_end and iop_flush() once the events ready in this
 * loop turn have run: what they queued (frames on links, items for other
 * workers) leaves in one batch per destination, not one per event.
 */
void	iop_turn_end(struct iop_worker *w);
/*
 * Puts an item (no frame) straight into every worker's inbox, this one's
 * included: items posted under one lock of the caller's reach every
 * worker in the order they were posted.
 */
void	iop_post_all(struct iopool *, const void *item);

/*
 * Runs fn(worker, arg) on every worker's own thread, one worker at a
 * time, and waits (at most timeout_ms) until all have: how the admin
 * API (§12) reads what a worker owns (its links) without a lock on
 * the workers' paths.  Called from a thread that is not a worker.
 * Returns how many workers ran it; after a timeout fn never runs again,
 * so arg may be freed by the caller whatever the outcome.
 */
typedef void (*iop_call_fn)(struct iop_worker *, void *arg);
int	iopool_call_all(struct iopool *, iop_call_fn, void *arg,
	    int timeout_ms);

#endif /* NAP_IOPOOL_H */
