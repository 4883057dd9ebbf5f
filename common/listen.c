/*
 * listen.c - the listening socket of a server (listen.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "listen.h"
#include "log.h"

static void	accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	accept_err_cb(struct evconnlistener *, void *);
static void	retry_cb(evutil_socket_t, short, void *);
static void	gate_cb(evutil_socket_t, short, void *);

/* Both callbacks get the listener's one arg: l, which knows the server's. */
static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener *l = arg;

	l->cb(lis, fd, sa, salen, l->arg);
}

/* Out of descriptors: pause accepting for a second instead of spinning. */
static void
accept_err_cb(struct evconnlistener *lis, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	log_warnx("accept: %s; pausing the listener for 1 s",
	    evutil_socket_error_to_string(e));
	evconnlistener_disable(lis);
	evtimer_add(l->retry, &tv);
}

static void
retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)ev;
	if (!l->held)	/* a hold outlasts the pause */
		evconnlistener_enable(l->lis);
}

int
listener_open(struct listener *l, struct event_base *base,
    const struct conf_addr *addr, evconnlistener_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct evutil_addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc;

	memset(l, 0, sizeof(*l));
	l->cb = cb;
	l->arg = arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE;
	if ((rc = evutil_getaddrinfo(addr->host, addr->port, &hints,
	    &ai)) != 0) {
		snprintf(err, errlen, "listen %s:%s: %s", addr->host,
		    addr->port, evutil_gai_strerror(rc));
		return -1;
	}
	l->lis = evconnlistener_new_bind(base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    4096, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (l->lis == NULL || (l->retry = evtimer_new(base, retry_cb, l)) ==
	    NULL) {
		snprintf(err, errlen, "listen %s:%s: %s", addr->host,
		    addr->port, strerror(errno));
		listener_close(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lis, accept_err_cb);
	if (getsockname(evconnlistener_get_fd(l->lis), (struct sockaddr *)&ss,
	    &sl) == 0)
		l->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

void
listener_hold(struct listener *l, int hold)
{
	if (l->lis == NULL || l->held == hold)
		return;
	l->held = hold;
	if (hold)
		evconnlistener_disable(l->lis);
	else
		evconnlistener_enable(l->lis);
}

/* Four times a second, as the workers' tick. */
static void
gate_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct listener *l = arg;
	int hold = !l->gate_ok(l->gate_arg);

	(void)fd;
	(void)ev;
	if (hold != l->held)
		log_warnx("%s accepting links: %s", hold ? "stopped" :
		    "resumed", l->gate_why);
	listener_hold(l, hold);
}

int
listener_gate(struct listener *l, struct event_base *base,
    bool (*ok)(const void *), const void *arg, const char *why)
{
	struct timeval tv = { 0, 250000 };

	l->gate_ok = ok;
	l->gate_arg = arg;
	l->gate_why = why;
	if ((l->gate = event_new(base, -1, EV_PERSIST, gate_cb, l)) == NULL ||
	    event_add(l->gate, &tv) == -1)
		return -1;
	return 0;
}

void
listener_close(struct listener *l)
{
	if (l->lis != NULL)
		evconnlistener_free(l->lis);
	if (l->retry != NULL)
		event_free(l->retry);
	if (l->gate != NULL)
		event_free(l->gate);
	l->gate = NULL;
	l->lis = NULL;
	l->retry = NULL;
}
