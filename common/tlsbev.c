/*
 * tlsbev.c - TLS filter buffer events and their orderly close (tlsbev.h).
 */
#include <stdio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>

#include "tlsbev.h"

static size_t	tlsbev_unsent(struct bufferevent *);

struct bufferevent *
tlsbev_accept(struct event_base *base, int fd, SSL *ssl, size_t hiwat)
{
	struct bufferevent *under, *bev = NULL;

	/*
	 * A filter over a socket buffer event: records go to memory and
	 * leave in one writev per loop turn, instead of one write(2) per
	 * record.
	 */
	if ((under = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) != NULL) {
		bufferevent_set_max_single_read(under, 65536);
		bev = bufferevent_openssl_filter_new(base, under, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			bufferevent_free(under);	/* closes fd */
	} else
		close(fd);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/*
	 * The filter reserves its largest read in its input buffer before
	 * each SSL_read, and an idle link keeps that empty reservation: 16
	 * KB a link at libevent's default, measured as most of an idle
	 * device's cost.  Records are read in TLSBEV_READ pieces instead
	 * (one callback still reads all that arrived).
	 */
	bufferevent_set_max_single_read(bev, TLSBEV_READ);
	/* A TCP close without close_notify is an EOF like any other. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setwatermark(bev, EV_READ, 0, hiwat);
	return bev;
}

/* Bytes still on their way out: in the TLS filter or under it. */
static size_t
tlsbev_unsent(struct bufferevent *bev)
{
	struct bufferevent *under = bufferevent_get_underlying(bev);

	return evbuffer_get_length(bufferevent_get_output(bev)) +
	    (under ? evbuffer_get_length(bufferevent_get_output(under)) : 0);
}

bool
tlsbev_close_step(struct bufferevent *bev, int *shut)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    !*shut && ssl != NULL && SSL_is_init_finished(ssl)) {
		*shut = 1;
		(void)SSL_shutdown(ssl);	/* close_notify (§5 Logout) */
	}
	return tlsbev_unsent(bev) == 0;
}

const char *
tlsbev_error(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	if (e != 0)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "connection error");
	return buf;
}
