/*
 * admin.h - a server's admin API (DESIGN.md §12): libevent's evhttp on
 * the main thread's loop, JSON answers, /metrics in the Prometheus text
 * format.  Without admin-ca the listener binds a loopback address only;
 * with it, every connection is TLS and must present a client
 * certificate the CA signed (no certificate: no request is read).
 *
 * What both servers answer the same way is here: /status, /links,
 * /metrics, POST /kick, /reload, /drain.  The rest (/regions, /store,
 * /services, /plugins and the server's own lines of /status and
 * /metrics) comes from the server's struct admin_ops.  Every link's
 * fields are read by its own worker (iopool_call_all()): no lock on
 * the workers' paths.
 */
#ifndef NAP_ADMIN_H
#define NAP_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "audit.h"
#include "config.h"
#include "conn.h"
#include "iopool.h"

#define ADMIN_DRAIN_DEFAULT	30	/* seconds, POST /drain */
#define ADMIN_CALL_MS		2000	/* a worker's answer */

/* The admin-* keys (common/server_keys.h). */
struct admin_conf {
	struct conf_addr addr;		/* host "" : no listener */
	char		*cert, *key, *ca;
	char		*port_file;
};

struct admin_ops {
	/* A worker's links (the server's worker embeds the pool's). */
	struct connset *(*set)(struct iop_worker *);
	/* A link's kind: "device", "domain", "fs"... (on its worker). */
	const char *(*kind)(const struct conn *);
	/* Messages written to it and not confirmed (§5), or -1. */
	long	(*unconfirmed)(const struct conn *);
	/* Members added to /status's "counts" object, each ,"k":v. */
	void	(*status)(void *srv, struct evbuffer *);
	/* Lines added to /metrics (HELP, TYPE, samples). */
	void	(*metrics)(void *srv, struct evbuffer *);
	/* GET paths of the server's own (/regions, /store...): the HTTP
	 * status with a JSON body in out, or 0 when it has no such path. */
	int	(*get)(void *srv, const char *path, struct evbuffer *out);
	/* POST /reload: the SIGHUP path. */
	void	(*reload)(void *srv);
	/* POST /drain, on each worker: Logout to its links and close them
	 * (a domain hands each device its unconfirmed messages back). */
	void	(*drain)(struct iop_worker *);
};

/* What the API says of its server. */
struct admin_server {
	const char		*name;		/* "nap-domain" */
	uint32_t		 code;
	const struct conf_addr	*listen;
	int			 port;		/* bound */
	const char		*crl;		/* NULL: none */
	struct audit		*audit;		/* NULL: none */
	struct iopool		*pool;
	struct event_base	*base;		/* the main thread's */
	const struct admin_ops	*ops;
	void			*srv;
};

struct admin;

/*
 * Opens the listener when c->addr names one (and the port file), and
 * starts the daily CRL check in any case.  Returns the admin state (the
 * caller frees it with admin_free()) or NULL with err filled.  as must
 * live as long.
 */
struct admin	*admin_start(const struct admin_server *as,
		    const struct admin_conf *c, char *err, size_t errlen);
void	admin_free(struct admin *);
/* The bound port, 0 when there is no listener. */
int	admin_port(const struct admin *);
/* Checks of the admin-* keys alone (-n): 0, or -1 with err. */
int	admin_check_conf(const struct admin_conf *, char *err,
	    size_t errlen);

/* A JSON string (quotes included), escaped. */
void	admin_json_str(struct evbuffer *, const char *);

#endif /* NAP_ADMIN_H */
