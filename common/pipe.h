/*
 * pipe.h - the message pipe of DESIGN.md §6.
 *
 * Every message a server handles crosses three stages, each an ordered
 * list of hooks with one signature: the gateway spy (identity, size and
 * rate checks, and the routing decision), the transformer (may rewrite,
 * never From or To), the inner spy (metrics, subscribers).  Built-in
 * hooks and plugins register the same way.  A pipe is built at start-up
 * and then only read, so any number of I/O threads run it without locks.
 */
#ifndef NAP_PIPE_H
#define NAP_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

enum pipe_stage {
	PIPE_GATEWAY,
	PIPE_TRANSFORMER,
	PIPE_INNER,
	PIPE_NSTAGES
};

enum pipe_verdict {
	PIPE_PASS = 0,		/* next hook */
	PIPE_ANSWERED,		/* the hook answered it; stop, nothing to route */
	PIPE_REJECT,		/* refuse with ctx->error and ctx->reason */
};

/* One message crossing the pipe; the server fills it, hooks read it. */
struct pipe_ctx {
	const uint8_t		*body;		/* frame body as received */
	size_t			 len;
	const struct env_header	*h;		/* parsed once (fast path) */
	uint32_t		 link_code;	/* identity of the link (§2) */
	int			 route;		/* decision, set by a hook */
	uint32_t		 route_arg;
	int			 error;		/* §4 code when rejected */
	char			 reason[96];
	void			*server;	/* the server's own state */
	void			*link;		/* the link it came from */
};

typedef enum pipe_verdict (*pipe_hook_fn)(struct pipe_ctx *, void *arg);

#define PIPE_MAX_HOOKS	16		/* per stage */

struct pipe;

/* A new empty pipe, freed with pipe_free(); NULL on no memory. */
struct pipe *pipe_new(void);
void	pipe_free(struct pipe *);
/* Appends a hook to a stage.  0, or -1 when the stage is full. */
int	pipe_add(struct pipe *, enum pipe_stage, const char *name,
	    pipe_hook_fn, void *arg);
/*
 * Runs the inbound order: gateway, transformer, inner spy.  Stops at the
 * first hook that does not pass and returns its verdict; on PIPE_REJECT
 * ctx->error is a §4 code.  Returns PIPE_PASS when every hook passed.
 */
enum pipe_verdict pipe_run(const struct pipe *, struct pipe_ctx *);
/* Sets ctx->error and ctx->reason; returns PIPE_REJECT (for hooks). */
enum pipe_verdict pipe_reject(struct pipe_ctx *, int code, const char *why);
/*
 * An observer of every pipe_run() (metrics, §12): called once the run
 * ended, on the running thread, with its verdict and the nanoseconds
 * it took.  One per pipe; set before the threads start.
 */
typedef void (*pipe_observer_fn)(const struct pipe_ctx *,
    enum pipe_verdict, int64_t ns, void *arg);
void	pipe_observe(struct pipe *, pipe_observer_fn, void *arg);

#endif /* NAP_PIPE_H */
