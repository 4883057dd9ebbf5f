/*
 * listen.h - a server's listening socket: bound from a config address,
 * the port it got (for --port-file), and a pause instead of a spin when
 * accept(2) fails for want of descriptors (HARDENING.md "libevent").
 */
#ifndef NAP_LISTEN_H
#define NAP_LISTEN_H

#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"

struct listener {
	struct evconnlistener	*lis;
	struct event		*retry;		/* re-enables after a pause */
	int			 port;		/* bound port */
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
/* Stops accepting and frees; idempotent. */
void	listener_close(struct listener *l);

#endif /* NAP_LISTEN_H */
