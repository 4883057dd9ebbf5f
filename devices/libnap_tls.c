/*
 * libnap_tls.c - the TLS side of a device link (DESIGN.md §2, HARDENING
 * "OpenSSL 3 links"): the client context and the server's certificate
 * check come from common/tls.c, the policy the servers apply too (tls.h
 * says what it is); here are the check that the server is the code
 * expected, and non-blocking reads and writes.
 *
 * The socket BIO is our own so that writes use send(MSG_NOSIGNAL): a
 * library must not raise SIGPIPE in its host program, nor change how the
 * program handles it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "nap_internal.h"
#include "tls.h"

static int	bio_write(BIO *, const char *, int);
static int	bio_read(BIO *, char *, int);
static long	bio_ctrl(BIO *, int, long, void *);
static int	bio_create(BIO *);
static int	bio_destroy(BIO *);
static void	bio_init_once(void);
static void	ssl_reason(char *, size_t);
static int	io_error(struct nap *, int, int, const char *);

static BIO_METHOD	*bio_meth;
static pthread_once_t	 bio_once = PTHREAD_ONCE_INIT;

/* ---- the socket BIO ------------------------------------------------- */

static int
bio_write(BIO *b, const char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	do
		r = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		return -1;
	}
	return (int)r;
}

static int
bio_read(BIO *b, char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	do
		r = recv(fd, buf, (size_t)len, 0);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		return -1;
	}
	return (int)r;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* The descriptor belongs to struct nap, which closes it. */
static int
bio_destroy(BIO *b)
{
	(void)b;
	return 1;
}

static void
bio_init_once(void)
{
	BIO_METHOD *m;

	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
	    BIO_TYPE_DESCRIPTOR, "nap socket")) == NULL)
		return;
	if (!BIO_meth_set_write(m, bio_write) ||
	    !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl) ||
	    !BIO_meth_set_create(m, bio_create) ||
	    !BIO_meth_set_destroy(m, bio_destroy)) {
		BIO_meth_free(m);
		return;
	}
	bio_meth = m;
}

/* ---- the context ------------------------------------------------------ */

/*
 * The reason of the oldest error queued by OpenSSL, then clears them.  A
 * failed system call (a missing file: OpenSSL 3 queues errno with the
 * top bit set, 2147483650 for ENOENT) is told in words.
 */
static void
ssl_reason(char *out, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (e != 0 && ERR_SYSTEM_ERROR(e))
		snprintf(out, len, "%s", strerror(ERR_GET_REASON(e)));
	else if (r != NULL)
		snprintf(out, len, "%s", r);
	else if (e != 0)
		snprintf(out, len, "error %lu", e);
	else
		snprintf(out, len, "unknown error");
	ERR_clear_error();
}

/*
 * The client context of common/tls.c (tls.h: the one policy of servers
 * and devices), with the device certificate's code in *cn.  Returns 0
 * with *out, or NAP_E_CONFIG with the message set.
 */
int
nap_tls_ctx(struct nap *n, const char *cert, const char *key, const char *ca,
    const char *crl, SSL_CTX **out, uint32_t *cn)
{
	struct tls_files f = { cert, key, ca, crl };
	SSL_CTX *ctx;
	char why[512];

	if ((ctx = tls_device_ctx(&f, cn, why, sizeof(why))) == NULL)
		return nap_fail(n, NAP_E_CONFIG, "%s", why);
	*out = ctx;
	return 0;
}

/* ---- a connection ----------------------------------------------------- */

int
nap_tls_start(struct nap *n)
{
	BIO *b;

	pthread_once(&bio_once, bio_init_once);
	if (bio_meth == NULL)
		return nap_fail(n, NAP_E_NOMEM, "cannot create the socket BIO");
	ERR_clear_error();
	if ((n->ssl = SSL_new(n->ctx)) == NULL)
		return nap_fail(n, NAP_E_NOMEM, "cannot create a TLS link");
	if ((b = BIO_new(bio_meth)) == NULL) {
		SSL_free(n->ssl);
		n->ssl = NULL;
		return nap_fail(n, NAP_E_NOMEM, "cannot create a TLS link");
	}
	BIO_set_data(b, (void *)(intptr_t)n->fd);
	SSL_set_bio(n->ssl, b, b);
	SSL_set_connect_state(n->ssl);
	n->ssl_want_write = false;
	return 0;
}

/*
 * One step of the handshake.  Returns 0 when done and the server is the
 * one expected, 1 while it needs more I/O, or an error (NAP_E_VERIFY,
 * NAP_E_IDENTITY, NAP_E_TLS, NAP_E_CLOSED) with the message set.
 */
int
nap_tls_handshake(struct nap *n)
{
	uint32_t code;
	long vr;
	char why[160], got[9], want[9];
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(n->ssl);
	if (r != 1) {
		e = SSL_get_error(n->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			n->ssl_want_write = e == SSL_ERROR_WANT_WRITE;
			return 1;
		}
		if ((vr = SSL_get_verify_result(n->ssl)) != X509_V_OK) {
			ERR_clear_error();
			return nap_fail(n, NAP_E_VERIFY, "TLS handshake failed: "
			    "certificate verify failed: %s",
			    X509_verify_cert_error_string(vr));
		}
		return io_error(n, e, r, "TLS handshake failed");
	}
	n->ssl_want_write = false;
	/* HARDENING: identity after every handshake, by the servers' rule. */
	if (SSL_version(n->ssl) != TLS1_3_VERSION)
		return nap_fail(n, NAP_E_TLS, "TLS handshake failed: not "
		    "TLS 1.3");
	if ((r = tls_peer_check(n->ssl, &code, why, sizeof(why))) ==
	    TLS_PEER_UNVERIFIED)
		return nap_fail(n, NAP_E_VERIFY, "TLS handshake failed: %s", why);
	if (r != 0)
		return nap_fail(n, NAP_E_IDENTITY, "server identity: %s", why);
	if (code != n->expect) {
		env_code_format(code, got);
		env_code_format(n->expect, want);
		return nap_fail(n, NAP_E_IDENTITY, "server identity %s is not "
		    "the expected %s", got, want);
	}
	return 0;
}

/* Maps a failed SSL_read/SSL_write/SSL_do_handshake to an error. */
static int
io_error(struct nap *n, int e, int r, const char *what)
{
	char why[160];
	unsigned long q;
	bool up = n->state != NAP_ST_TLS && n->state != NAP_ST_LOGIN;

	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return nap_fail(n, NAP_E_CLOSED, "connection closed by the "
		    "server");
	case SSL_ERROR_SYSCALL:
		q = ERR_peek_error();
		if (q == 0) {
			if (r == 0 || errno == 0 || errno == ECONNRESET ||
			    errno == EPIPE)
				return nap_fail(n, NAP_E_CLOSED, "%s%s"
				    "connection closed by the server",
				    up ? "" : what, up ? "" : ": ");
			return nap_fail(n, NAP_E_CLOSED, "%s: %s", what,
			    strerror(errno));
		}
		break;
	case SSL_ERROR_SSL:
		q = ERR_peek_error();
		/* OpenSSL 3 reports a TCP close without close_notify here. */
		if (ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return nap_fail(n, NAP_E_CLOSED, "%s%sconnection "
			    "closed by the server", up ? "" : what,
			    up ? "" : ": ");
		}
		break;
	default:
		break;
	}
	ssl_reason(why, sizeof(why));
	return nap_fail(n, NAP_E_TLS, "%s: %s", what, why);
}

/*
 * Reads up to len bytes.  Returns 0 with *got > 0, 1 when nothing can be
 * read now, or an error (NAP_E_CLOSED on the server's close, NAP_E_TLS).
 */
int
nap_tls_read(struct nap *n, void *buf, size_t len, size_t *got)
{
	int r, e;

	ERR_clear_error();
	r = SSL_read(n->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0) {
		*got = (size_t)r;
		return 0;
	}
	e = SSL_get_error(n->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return 1;
	if (e == SSL_ERROR_WANT_WRITE) {
		n->ssl_want_write = true;
		return 1;
	}
	/*
	 * TLS 1.3: the server checks our certificate after our side of the
	 * handshake is done; its alert arrives on the first read.
	 */
	return io_error(n, e, r, n->state == NAP_ST_TLS || n->state ==
	    NAP_ST_LOGIN ? "TLS handshake failed" : "TLS error");
}

/* Writes; returns 0 with *put > 0, 1 when it would block, or an error. */
int
nap_tls_write(struct nap *n, const void *buf, size_t len, size_t *put)
{
	int r, e;

	ERR_clear_error();
	r = SSL_write(n->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (r > 0) {
		n->ssl_want_write = false;
		*put = (size_t)r;
		return 0;
	}
	e = SSL_get_error(n->ssl, r);
	if (e == SSL_ERROR_WANT_WRITE) {
		n->ssl_want_write = true;
		return 1;
	}
	if (e == SSL_ERROR_WANT_READ)
		return 1;
	return io_error(n, e, r, n->state == NAP_ST_TLS || n->state ==
	    NAP_ST_LOGIN ? "TLS handshake failed" : "TLS error");
}

/* Decrypted bytes wait inside the TLS layer (poll cannot see them). */
bool
nap_tls_pending(const struct nap *n)
{
	return n->ssl != NULL && SSL_pending(n->ssl) > 0;
}

/* Frees the TLS link; with notify, sends close_notify first (best effort,
 * the socket is non-blocking). */
void
nap_tls_close(struct nap *n, bool notify)
{
	if (n->ssl == NULL)
		return;
	if (notify) {
		ERR_clear_error();
		(void)SSL_shutdown(n->ssl);
	}
	ERR_clear_error();
	SSL_free(n->ssl);
	n->ssl = NULL;
	n->ssl_want_write = false;
}
