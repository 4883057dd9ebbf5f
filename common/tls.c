/*
 * tls.c - OpenSSL contexts and identity checks for NAP links (DESIGN.md
 * §2, ../shared/HARDENING.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "envelope.h"
#include "tls.h"

static SSL_CTX	*ctx_common(const SSL_METHOD *, const struct tls_files *,
		    char *, size_t);
static int	load_crl(SSL_CTX *, const char *, char *, size_t);
static int	cert_code(X509 *, uint32_t *, char *, size_t);

/* The session id context is mandatory with client certificates. */
static const unsigned char sid_ctx[] = "nap";

const char *
tls_error_string(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error(), last = ERR_peek_last_error();

	/* A failed system call (a missing file: errno with the top bit set
	 * in OpenSSL 3) is the cause of what follows it: told in words. */
	if (e != 0 && ERR_SYSTEM_ERROR(e))
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
	else if (last == 0)
		snprintf(buf, len, "no error");
	else
		ERR_error_string_n(last, buf, len);
	ERR_clear_error();
	return buf;
}

static int
load_crl(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	X509_CRL *crl;
	FILE *f;
	char e[160];

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "crl %s: %s", path, strerror(errno));
		return -1;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	if (crl == NULL || X509_STORE_add_crl(st, crl) != 1) {
		snprintf(err, errlen, "%s: bad CRL: %s", path,
		    tls_error_string(e, sizeof(e)));
		X509_CRL_free(crl);
		return -1;
	}
	X509_CRL_free(crl);
	/* A missing or stale CRL now fails closed (HARDENING.md). */
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	return 0;
}

static SSL_CTX *
ctx_common(const SSL_METHOD *m, const struct tls_files *f, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;
	char e[160];

	if ((ctx = SSL_CTX_new(m)) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s",
		    tls_error_string(e, sizeof(e)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE);
	SSL_CTX_set_max_early_data(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
		snprintf(err, errlen, "cert %s: %s", f->cert,
		    tls_error_string(e, sizeof(e)));
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s: %s", f->key,
		    tls_error_string(e, sizeof(e)));
		goto bad;
	}
	if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
		snprintf(err, errlen, "ca %s: %s", f->ca,
		    tls_error_string(e, sizeof(e)));
		goto bad;
	}
	if (f->crl != NULL && *f->crl != '\0' &&
	    load_crl(ctx, f->crl, err, errlen) == -1)
		goto bad;
	/* Leaf signed by the CA: depth 1 suffices, 2 leaves room for an
	 * intermediate.  The callback never turns a failure into success:
	 * we use OpenSSL's own verification only. */
	SSL_CTX_set_verify_depth(ctx, 2);
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_server_ctx(const struct tls_files *f, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = ctx_common(TLS_server_method(), f, err, errlen)) == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	/* No resumption at all: every link runs the full certificate
	 * check, and the registry check runs after it regardless. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}

SSL_CTX *
tls_client_ctx(const struct tls_files *f, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = ctx_common(TLS_client_method(), f, err, errlen)) == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

/* Exactly one CN, exactly 8 hex characters, no embedded NUL. */
static int
cert_code(X509 *x, uint32_t *code, char *err, size_t errlen)
{
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_ENTRY *ent;
	ASN1_STRING *d;
	int idx;

	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0 || X509_NAME_get_index_by_NID(name, NID_commonName,
	    idx) >= 0) {
		snprintf(err, errlen, "certificate must have exactly one CN");
		return -1;
	}
	ent = X509_NAME_get_entry(name, idx);
	d = X509_NAME_ENTRY_get_data(ent);
	if (ASN1_STRING_length(d) != 8 || memchr(ASN1_STRING_get0_data(d), 0,
	    8) != NULL || env_code_parse((const char *)
	    ASN1_STRING_get0_data(d), 8, code) == -1) {
		snprintf(err, errlen, "certificate CN is not an 8-hex code");
		return -1;
	}
	return 0;
}

int
tls_peer_code(SSL *ssl, uint32_t *code, char *err, size_t errlen)
{
	X509 *x;
	long vr;
	int rc;

	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(err, errlen, "peer certificate: %s",
		    X509_verify_cert_error_string(vr));
		return -1;
	}
	if ((x = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(err, errlen, "peer sent no certificate");
		return -1;
	}
	rc = cert_code(x, code, err, errlen);
	X509_free(x);
	return rc;
}

int
tls_file_code(const char *path, uint32_t *code, char *err, size_t errlen)
{
	X509 *x;
	FILE *f;
	int rc;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cert %s: %s", path, strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		snprintf(err, errlen, "%s: not a PEM certificate", path);
		return -1;
	}
	rc = cert_code(x, code, err, errlen);
	X509_free(x);
	return rc;
}
