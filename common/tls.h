/*
 * tls.h - the one TLS policy of NAP (DESIGN.md §2, ../shared/HARDENING.md
 * "OpenSSL 3 links"), used by both servers and by libnap, so that a
 * device and a server never disagree on what a valid peer is.
 *
 * The policy, one rule per point, the same on every side:
 *
 * - Versions and ciphers: TLS 1.3 only, its AEAD suites only (AES-GCM,
 *   ChaCha20-Poly1305).  §2 allows TLS 1.2 with ECDHE + AEAD "by
 *   configuration"; no configuration key offers it, so it is never
 *   negotiated.  No renegotiation, no compression, no 0-RTT, no session
 *   resumption (every link runs the full certificate check).
 * - Mutual authentication: a server requires a client certificate; a
 *   client always verifies the server's.  Verify depth 2 (CA -> leaf).
 * - A certificate, our own (checked when the context is built) or the
 *   peer's (checked after every handshake, tls_peer_code()), is valid only
 *   when all of these hold (tls_cert_check()):
 *     exactly one subject CN, exactly 8 hex characters, no NUL: the code;
 *     its key is ECDSA on P-256 (no RSA, no other curve);
 *     its extended key usage: a platform (00000000) or domain (RRRR0000)
 *     certificate has serverAuth and clientAuth, any other code (devices,
 *     function servers) clientAuth only; a certificate without the
 *     extension is refused.
 *   OpenSSL's own chain check runs first (signature, validity, purpose);
 *   a verify callback never turns its failure into success.
 * - CRL: every CRL of the CRL file is loaded (a file may hold the CRLs of
 *   several CAs during a CA change), each must be signed by a CA of the CA
 *   file, be past its lastUpdate and before its nextUpdate (a CRL without
 *   nextUpdate never expires).  Only the leaf is checked against the CRLs:
 *   see load_crls() in tls.c.  A CRL file without any CRL is an error.
 * - Our own certificate must be signed by the CA file (a server that
 *   presents another CA's certificate is refused by every peer); libnap
 *   does not ask this (tls_device_ctx()).
 * - A context is built whole from files and swapped on reload; links made
 *   with the old one keep it until they close (OpenSSL counts references).
 *   Building it is what `-n` checks: every error above is one line.
 */
#ifndef NAP_TLS_H
#define NAP_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

struct tls_files {
	const char	*cert;		/* own certificate (PEM) */
	const char	*key;		/* its private key */
	const char	*ca;		/* the federation's CA */
	const char	*crl;		/* CRL file, or NULL for none */
};

/*
 * A server-side context (the policy above).  Returns a new context the
 * caller frees with SSL_CTX_free(), or NULL with err filled.
 */
SSL_CTX	*tls_server_ctx(const struct tls_files *, char *err, size_t errlen);

/* The same for a server's connecting side (domain to platform). */
SSL_CTX	*tls_client_ctx(const struct tls_files *, char *err, size_t errlen);

/*
 * libnap's context: tls_client_ctx() without the check that the own
 * certificate is signed by the CA file (the CA file of a device anchors
 * the server it trusts; the server checks the device).  Sets *code to the
 * own certificate's code.  Frees as above.
 */
SSL_CTX	*tls_device_ctx(const struct tls_files *, uint32_t *code, char *err,
	    size_t errlen);

/* What tls_peer_check() returns besides 0. */
#define TLS_PEER_UNVERIFIED	(-1)	/* no certificate, chain, CRL */
#define TLS_PEER_POLICY		(-2)	/* tls_cert_check() refused it */

/*
 * After a handshake, on either side: the verify result, then
 * tls_cert_check() on the peer's certificate.  Runs on every connection
 * (HARDENING.md).  Returns 0 and sets *code, or one of the values above
 * with err filled.
 */
int	tls_peer_check(SSL *, uint32_t *code, char *err, size_t errlen);

/* tls_peer_check() with -1 for every refusal. */
int	tls_peer_code(SSL *, uint32_t *code, char *err, size_t errlen);

/*
 * The peer of a live link verified again against ctx (a context built
 * after a reload): 0, or -1 with err ("certificate revoked", ...).  The
 * purpose checked is client auth, as every accepted link's.
 */
int	tls_peer_recheck(SSL_CTX *ctx, SSL *ssl, char *err, size_t errlen);

/* The CN of a certificate file as a code (own identity, §9).  0 / -1. */
int	tls_file_code(const char *certfile, uint32_t *code, char *err,
	    size_t errlen);

/*
 * The earliest nextUpdate of the CRLs in crlfile.  Returns 0 with *when
 * set, 1 when no CRL of the file has a nextUpdate (it never expires), or
 * -1 when the file cannot be read or holds no CRL.
 */
int	tls_crl_next_update(const char *crlfile, time_t *when);

/*
 * For a server's periodic check: when the CRL file expires within days
 * days of now (or has expired), writes one line saying so into msg and
 * returns 1; otherwise 0 (also when it cannot be read: building the
 * context reports that).
 */
int	tls_crl_expiry_warning(const char *crlfile, time_t now, int days,
	    char *msg, size_t len);

/* The first queued OpenSSL error as text ("no error" when none). */
const char *tls_error_string(char *buf, size_t len);

#endif /* NAP_TLS_H */
