/*
 * listen.h - a server's listening socket: bound from a config address,
 * the port it got (for --port-file), and a pause instead of a spin when
 * accept(2) fails for want of descriptors (HARDENING.md "libevent").
 */
#ifndef NAP_LISTEN_H
#define NAP_LISTEN_H

#include <stdbool.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"

struct listener {
	struct evconnlistener	*lis;
	struct event		*retry;		/* re-enables after a pause */
	int			 port;		/* bound port */
	int			 held;		/* listener_hold() */
	struct event		*gate;		/* listener_gate() */
	bool			(*gate_ok)(const void *);
	const void		*gate_arg;
	const char		*gate_why;
	evconnlistener_cb	 cb;		/* the server's accept callback */
	void			*arg;
};

/*
 * Binds addr on base and calls cb for every accepted connection (the
 * socket is close-on-exec; cb owns it).  Returns 0 with l filled, or -1
 * with a one-line message in err.  Free with listener_close().
 */
int	listener_open(struct listener *l, struct event_base *base,
	    const struct conf_addr *addr, evconnlistener_cb cb, void *arg,
	    char *err, size_t errlen);
/* Stops (hold 1) or resumes accepting, e.g. while the audit log cannot
 * be written (§8 stop-accepting); a pause for descriptors ends only
 * into the state it sets. */
void	listener_hold(struct listener *l, int hold);
/*
 * Holds the listener while ok(arg) is false, checked four times a
 * second on base (the audit writer's stop-accepting, §8); why names the
 * reason in the log.  0, or -1 on no memory.
 */
int	listener_gate(struct listener *l, struct event_base *base,
	    bool (*ok)(const void *), const void *arg, const char *why);
/* Stops accepting and frees; idempotent. */
void	listener_close(struct listener *l);

#endif /* NAP_LISTEN_H */
