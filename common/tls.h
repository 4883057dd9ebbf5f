/*
 * tls.h - TLS contexts and peer identity for every NAP link (DESIGN.md
 * §2, ../shared/HARDENING.md "OpenSSL 3 links").
 *
 * TLS 1.3 only, mutual authentication, ECDSA P-256 certificates, the
 * peer's identity is exactly the 8-hex CN of its certificate.  A context
 * is built whole from files and swapped on reload; links made with the
 * old one keep it until they close (OpenSSL reference counts it).
 */
#ifndef NAP_TLS_H
#define NAP_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct tls_files {
	const char	*cert;		/* own certificate (PEM) */
	const char	*key;		/* its private key */
	const char	*ca;		/* the federation's CA */
	const char	*crl;		/* CRL file, or NULL for none */
};

/*
 * A server-side context: requires a client certificate, verifies it
 * against the CA (and the CRL for the leaf when given), TLS 1.3 only, no
 * renegotiation, no tickets' early data, SSL_MODE_RELEASE_BUFFERS.
 * Returns a new context the caller frees with SSL_CTX_free(), or NULL
 * with err filled.
 */
SSL_CTX	*tls_server_ctx(const struct tls_files *, char *err, size_t errlen);

/* The same for the connecting side (domain to platform, libnap). */
SSL_CTX	*tls_client_ctx(const struct tls_files *, char *err, size_t errlen);

/*
 * After a handshake: checks the verify result and reads the peer's code
 * from its certificate (exactly one CN, exactly 8 hex characters, no
 * NUL).  Runs on every connection, resumed or not (HARDENING.md).
 * Returns 0 and sets *code, or -1 with err filled.
 */
int	tls_peer_code(SSL *, uint32_t *code, char *err, size_t errlen);

/* The CN of a certificate file as a code (own identity, §9).  0 / -1. */
int	tls_file_code(const char *certfile, uint32_t *code, char *err,
	    size_t errlen);

/* The first queued OpenSSL error as text ("no error" when none). */
const char *tls_error_string(char *buf, size_t len);

#endif /* NAP_TLS_H */
