/*
 * plugin.h - the servers' side of DESIGN.md §7 plugins: loading the
 * shared objects of `plugin PATH [ARGS]` lines (ABI checked), their
 * hooks on the §6 pipe, their type-range subscriptions served by a
 * bounded worker pool (half-sync/half-async: I/O threads only queue),
 * and SIGHUP reloads.  The same code serves nap-domain and
 * nap-platform; what differs (how a frame the server creates reaches a
 * code, how a link is refused or closed) is the host's callbacks.
 */
#ifndef NAP_PLUGIN_HOST_H
#define NAP_PLUGIN_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "config.h"
#include "envelope.h"
#include "iopool.h"
#include "pipe.h"

struct plugins;

/* What a server gives its plugins. */
struct plugin_host {
	const char	*server;	/* "nap-domain", "nap-platform" */
	uint32_t	 code;		/* its code */
	const char	*token;		/* its SessionId (§3) */
	uint32_t	 max_frame;
	struct iopool	*pool;		/* its I/O workers */
	int		 can_rewrite;	/* the route step takes a moved body */
	void		*srv;		/* the server, for the callbacks */
	uint32_t	(*seq)(void *srv);	/* its next Seq */
	/*
	 * A frame the server created for a plugin (prefix + envelope, h
	 * its Header) goes to h->to like any message: items for the I/O
	 * workers into ob (the caller flushes it).  Any thread.
	 */
	void	(*deliver)(void *srv, struct iop_outbox *ob,
		    const struct env_header *h, const uint8_t *frame,
		    size_t len);
	/* A hook refused ctx's message with a §4 code: answer the sender
	 * and return the verdict the pipe returns.  I/O thread. */
	enum pipe_verdict (*refuse)(struct pipe_ctx *, int code,
		    const char *text);
	/* Close ctx's link once this frame is handled.  I/O thread. */
	void	(*cut)(struct pipe_ctx *, const char *why);
};

/*
 * Loads every line of list ("PATH [ARGS]": a PATH without '/' is
 * NAP_PLUGIN_DIR/PATH.so), checks its ABI, runs its init; hooks go on
 * pipe p.  workers: pool threads (0: one per core); queue: requests
 * waiting at most.  0 with *out (NULL when list is empty), or -1 with a
 * one-line err naming the plugin.  Free with plugins_free().
 */
int	plugins_load(struct plugins **out, const struct plugin_host *,
	    const struct conf_list *list, long workers, long queue,
	    struct pipe *p, char *err, size_t errlen);
/* Starts the pool (after the I/O workers).  0, or -1 with err. */
int	plugins_start(struct plugins *, char *err, size_t errlen);
/* SIGHUP: each plugin's reload; a failure is logged, the old state kept. */
void	plugins_reload(struct plugins *);
/* Ends the pool: what is queued is answered 503.  Before the I/O
 * workers stop. */
void	plugins_stop(struct plugins *);
/* fini of each plugin, dlclose, free.  NULL is fine. */
void	plugins_free(struct plugins *);

/*
 * §7 dispatch of a service request (To = this server, type >= 1000):
 * 1 when a subscription took it (it will be answered, or got 503 when
 * the queue is full), 0 when no plugin serves its type.  body: the
 * envelope (no prefix).  I/O threads.  plugins may be NULL.
 */
int	plugin_dispatch(struct plugins *, const struct env_header *h,
	    const uint8_t *body, size_t len, uint32_t link_code);

/* GET /plugins (§12): {"plugins":[...],"pool":{...}} into b (ps may be
 * NULL); /services: the subscriptions as JSON objects, comma-separated. */
void	plugins_json(struct plugins *, struct evbuffer *b);
void	plugins_services_json(struct plugins *, struct evbuffer *b);

#endif /* NAP_PLUGIN_HOST_H */
