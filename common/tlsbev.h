/*
 * tlsbev.h - the TLS buffer event under every server link: TLS as a
 * filter over a socket buffer event (records leave in one writev per
 * loop turn), and the orderly close of DESIGN.md §5: flush what is
 * queued, send close_notify, and only then free.
 */
#ifndef NAP_TLSBEV_H
#define NAP_TLSBEV_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#define TLSBEV_READ	1024	/* bytes the filter reads at a time */

/*
 * A server-side (accepting) TLS filter over fd with ssl; input held up
 * to hiwat bytes (§2: one frame plus a read).  On success the buffer
 * event owns fd and ssl; on failure (NULL) both are freed.
 */
struct bufferevent *tlsbev_accept(struct event_base *, int fd, SSL *ssl,
	    size_t hiwat);

/*
 * One step of a close: once the filter's output is empty and the
 * handshake was done, sends close_notify (once: *shut remembers).
 * Returns true when nothing is left to send and the link can be freed.
 */
bool	tlsbev_close_step(struct bufferevent *, int *shut);

/* Why an error event came: the first OpenSSL error, or a generic text. */
const char *tlsbev_error(struct bufferevent *, char *buf, size_t len);

#endif /* NAP_TLSBEV_H */
