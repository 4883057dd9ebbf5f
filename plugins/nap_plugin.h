/*
 * nap_plugin.h - the whole API of a NAP server plugin (DESIGN.md §7):
 * shared objects loaded by nap-domain and nap-platform at start from
 * `plugin PATH [ARGS]` configuration lines.  Installed; a plugin needs
 * nothing else (no libxml2, no libevent, no NAP internals).
 *
 * A plugin is TRUSTED CODE running inside the server's process: it can
 * read and corrupt anything, and a crash is the server's crash.  Load
 * only what you would link into the server yourself.
 *
 * What a plugin exports (C linkage, default visibility):
 *
 *	const unsigned nap_plugin_abi = NAP_PLUGIN_ABI;
 *	int  nap_plugin_init(const struct nap_api *api, struct nap_host *host,
 *		 int argc, char **argv, void **state, char *err, size_t errlen);
 *	int  nap_plugin_reload(void *state, char *err, size_t errlen);   (optional)
 *	void nap_plugin_fini(void *state);                                (optional)
 *
 * The loader compares nap_plugin_abi with its own NAP_PLUGIN_ABI and
 * refuses a plugin built against another version.  init runs once on
 * the main thread before any link is accepted; it registers hooks and
 * subscriptions through api (only then), keeps what it needs in *state,
 * and returns 0, or -1 with a one-line reason in err (the server then
 * does not start).  argv[0] is the plugin's path, argv[1..] the words
 * after it on the configuration line.  reload runs on the main thread
 * at SIGHUP while hooks and handlers keep running on other threads:
 * -1 with err keeps the old state (the server logs err).  fini runs
 * once at stop, after every thread that could call the plugin ended.
 *
 * Two ways in:
 *
 *  - Hooks on the pipe stages of §6 (gateway spy, transformer, inner
 *    spy), run on the I/O threads for every message a link delivers,
 *    in registration order after the server's own hooks of that stage.
 *    A hook must not block: no disk, no network, no sleeping locks held
 *    for long.  It returns NAP_PASS, NAP_ANSWERED (after api->answer), or
 *    the verdict of api->reject.  Only a transformer hook may call
 *    api->rewrite.  Several I/O threads run hooks at once.
 *
 *  - Subscriptions to ranges of message types (1000 and up): a service
 *    request (To = the server's code) of a subscribed type goes to the
 *    handler, which runs on the plugin worker pool (`workers` threads)
 *    and may block.  In the handler, before it returns, call
 *    api->reply or api->fail at most once; api->send may be called any
 *    number of times (from the handler or any thread of the plugin's).
 *    The pool's queue is bounded (`plugin-queue`): past it the requester
 *    gets Error 503 and the server counts it.
 */
#ifndef NAP_PLUGIN_H
#define NAP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Changes whenever a struct below or a function's meaning changes. */
#define NAP_PLUGIN_ABI	1

struct nap_host;	/* the server (opaque) */
struct nap_msg;		/* a message crossing the pipe (opaque) */
struct nap_req;		/* a service request given to a handler (opaque) */
struct nap_param;	/* an element inside <parameters> (opaque) */

/* The Header of a message (DESIGN.md §3), as parsed by the server. */
struct nap_header {
	uint32_t	type;		/* Message_Type */
	uint32_t	seq;		/* Seq */
	uint32_t	from, to;	/* codes RRRRNNNN */
	char		session[17];	/* SessionId: "" or 16 hex digits */
	int		ack;		/* Ack="1" */
	int		has_ttl;
	uint32_t	ttl;
	int		has_re;
	uint32_t	re;		/* Re: the Seq a reply answers */
};

enum nap_stage {
	NAP_GATEWAY,		/* identity, size and rate checks */
	NAP_TRANSFORMER,	/* may rewrite (never From or To) */
	NAP_INNER,		/* sees the final message */
};

enum nap_verdict {
	NAP_PASS = 0,		/* next hook, then the route step */
	NAP_ANSWERED,		/* the hook answered: nothing to route */
	NAP_REJECT,		/* returned by api->reject only */
};

#define NAP_CUT		0x01	/* api->reject: and close the link */

enum nap_level { NAP_LOG_ERROR, NAP_LOG_WARN, NAP_LOG_INFO, NAP_LOG_DEBUG };

typedef enum nap_verdict (*nap_hook_fn)(struct nap_msg *m, void *arg);
typedef void (*nap_handler_fn)(struct nap_req *r, void *arg);

/*
 * The server's functions.  Pointers in a struct nap_header, byte
 * buffers and parameters live as long as the hook or handler call that
 * got them.  Functions returning int return 0, or -1 (bad argument, not
 * allowed here, no memory).
 */
struct nap_api {
	unsigned	 abi;		/* NAP_PLUGIN_ABI of the server */
	const char	*server;	/* "nap-domain" or "nap-platform" */
	uint32_t	 code;		/* the server's code (§1) */

	/* One line in the server's log, prefixed with the plugin's name. */
	void	(*log)(struct nap_host *, enum nap_level, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

	/* --- registration: in init only --------------------------------- */
	int	(*hook)(struct nap_host *, enum nap_stage, const char *name,
		    nap_hook_fn fn, void *arg);
	/* Types lo..hi (1000 <= lo <= hi); a range another plugin holds
	 * already is refused. */
	int	(*subscribe)(struct nap_host *, uint32_t lo, uint32_t hi,
		    nap_handler_fn fn, void *arg);

	/* --- hooks (I/O threads) ----------------------------------------- */
	const struct nap_header *(*msg_header)(const struct nap_msg *);
	/* The envelope's bytes as received (no length prefix). */
	const uint8_t *(*msg_bytes)(const struct nap_msg *, size_t *len);
	/* The code of the link it came by (the peer's certificate CN). */
	uint32_t (*msg_link)(const struct nap_msg *);
	/* Refuse: the sender gets Error code (§4) naming its Seq; flags
	 * NAP_CUT closes the link after it.  Returns NAP_REJECT. */
	enum nap_verdict (*reject)(struct nap_msg *, int code,
		    const char *text, int flags);
	/* Answer the sender with a message of this type whose Re is the
	 * message's Seq and whose parameters are the inner XML params (or
	 * NULL); then return NAP_ANSWERED. */
	int	(*answer)(struct nap_msg *, uint32_t type, const char *params);
	/* Transformer only: the message becomes the envelope bytes[len]
	 * (copied; From and To must stay). */
	int	(*rewrite)(struct nap_msg *, const uint8_t *bytes, size_t len);

	/* --- handlers (pool threads) ------------------------------------- */
	const struct nap_header *(*req_header)(const struct nap_req *);
	const uint8_t *(*req_bytes)(const struct nap_req *, size_t *len);
	/* The reply: To = the requester, Re = its Seq, this type. */
	int	(*reply)(struct nap_req *, uint32_t type, const char *params);
	/* Error code (§4) to the requester naming its Seq. */
	int	(*fail)(struct nap_req *, int code, const char *text);
	/* A new message from the server to any code (any thread). */
	int	(*send)(struct nap_host *, uint32_t type, uint32_t to,
		    const char *params);

	/* --- the request's parameters (handlers only) --------------------- */
	/* The first element inside <parameters> named name (NULL: any). */
	struct nap_param *(*param_first)(struct nap_req *, const char *name);
	struct nap_param *(*param_next)(struct nap_param *, const char *name);
	const char *(*param_name)(const struct nap_param *);
	/* The attribute's decoded value, NULL when absent. */
	const char *(*param_attr)(struct nap_param *, const char *name);
	/* The inner XML of <parameters> (what reply takes back), NUL-
	 * terminated, *len bytes: "" when empty, NULL when none. */
	const char *(*params_xml)(struct nap_req *, size_t *len);
};

/* What the plugin exports (see the top of this file). */
extern const unsigned nap_plugin_abi;
int	nap_plugin_init(const struct nap_api *api, struct nap_host *host,
	    int argc, char **argv, void **state, char *err, size_t errlen);
int	nap_plugin_reload(void *state, char *err, size_t errlen);
void	nap_plugin_fini(void *state);

#ifdef __cplusplus
}
#endif

#endif /* NAP_PLUGIN_H */
