/*
 * tls.c - the TLS policy of every NAP link, servers and libnap alike
 * (tls.h says what it is; DESIGN.md §2, ../shared/HARDENING.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "envelope.h"
#include "tls.h"

/* §2: TLS 1.3's AEAD suites, named so that no build default adds one. */
#define TLS13_SUITES	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:" \
			"TLS_AES_128_GCM_SHA256"

static SSL_CTX	*ctx_new(const SSL_METHOD *, const struct tls_files *, int,
		    uint32_t *, char *, size_t);
static SSL_CTX	*client_ctx(const struct tls_files *, int, uint32_t *, char *,
		    size_t);
static int	no_passwd(char *, int, int, void *);
static int	load_own(SSL_CTX *, const struct tls_files *, uint32_t *,
		    char *, size_t);
static int	load_ca(SSL_CTX *, const char *, STACK_OF(X509) **, char *,
		    size_t);
static int	own_signed(SSL_CTX *, const struct tls_files *, char *,
		    size_t);
static int	load_crls(SSL_CTX *, const struct tls_files *,
		    STACK_OF(X509) *, char *, size_t);
static int	crl_valid(X509_CRL *, const struct tls_files *,
		    STACK_OF(X509) *, time_t, char *, size_t);
static STACK_OF(X509) *read_certs(const char *, char *, size_t);
static STACK_OF(X509_CRL) *read_crls(const char *, char *, size_t);
static int	pem_at_end(void);
static int	cert_cn(X509 *, uint32_t *, char *, size_t);
static int	cert_key(X509 *, uint32_t, char *, size_t);
static int	cert_eku(X509 *, uint32_t, char *, size_t);
static void	asn1_fmt(const ASN1_TIME *, char *, size_t);
static void	time_fmt(time_t, char *, size_t);
static void	dir_of(const char *, char *, size_t);

/* The session id context is mandatory with client certificates. */
static const unsigned char sid_ctx[] = "nap";
static int	tls_cert_check(X509 *, uint32_t *code, char *err,
		    size_t errlen);

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

/* Keys are not encrypted: never prompt on a terminal (a daemon, or the
 * host program of libnap, has none to prompt on). */
static int
no_passwd(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* ---- reading PEM files -------------------------------------------- */

/* After a PEM read returned NULL: 1 when it was the end of the file. */
static int
pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();
	int end = e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE);

	if (end)
		ERR_clear_error();
	return end;
}

/* Every certificate of a PEM file, at least one; the caller frees the
 * stack with sk_X509_pop_free(, X509_free).  NULL with err. */
static STACK_OF(X509) *
read_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b;
	X509 *x;
	char e[160];

	ERR_clear_error();
	if ((b = BIO_new_file(path, "r")) == NULL) {
		snprintf(err, errlen, "ca %s: %s", path,
		    tls_error_string(e, sizeof(e)));
		return NULL;
	}
	if ((sk = sk_X509_new_null()) == NULL)
		goto bad;
	while ((x = PEM_read_bio_X509(b, NULL, no_passwd, NULL)) != NULL)
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			goto bad;
		}
	if (!pem_at_end())
		goto bad;
	if (sk_X509_num(sk) == 0) {
		snprintf(err, errlen, "CA %s holds no certificate", path);
		goto fail;
	}
	BIO_free(b);
	return sk;
bad:
	snprintf(err, errlen, "CA %s: %s", path, tls_error_string(e,
	    sizeof(e)));
fail:
	sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	return NULL;
}

/* Every CRL of a PEM file, at least one; freed with
 * sk_X509_CRL_pop_free(, X509_CRL_free).  NULL with err. */
static STACK_OF(X509_CRL) *
read_crls(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509_CRL) *sk = NULL;
	X509_CRL *c;
	BIO *b;
	char e[160];

	ERR_clear_error();
	if ((b = BIO_new_file(path, "r")) == NULL) {
		snprintf(err, errlen, "crl %s: %s", path,
		    tls_error_string(e, sizeof(e)));
		return NULL;
	}
	if ((sk = sk_X509_CRL_new_null()) == NULL)
		goto bad;
	while ((c = PEM_read_bio_X509_CRL(b, NULL, no_passwd, NULL)) != NULL)
		if (sk_X509_CRL_push(sk, c) == 0) {
			X509_CRL_free(c);
			goto bad;
		}
	if (!pem_at_end())
		goto bad;
	/* An empty CRL file would silently turn revocation off. */
	if (sk_X509_CRL_num(sk) == 0) {
		snprintf(err, errlen, "CRL %s holds no CRL", path);
		goto fail;
	}
	BIO_free(b);
	return sk;
bad:
	snprintf(err, errlen, "CRL %s: bad CRL: %s", path,
	    tls_error_string(e, sizeof(e)));
fail:
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	BIO_free(b);
	return NULL;
}

/* ---- building a context ------------------------------------------- */

/* Own certificate and key; the certificate must pass the policy. */
static int
load_own(SSL_CTX *ctx, const struct tls_files *f, uint32_t *code,
    char *err, size_t errlen)
{
	char e[160], why[160];

	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
		snprintf(err, errlen, "cert %s: %s",
		    f->cert, tls_error_string(e, sizeof(e)));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "key %s: %s", f->key,
		    tls_error_string(e, sizeof(e)));
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "key %s does not match certificate %s",
		    f->key, f->cert);
		return -1;
	}
	/* The key matches the certificate: checking its key checks ours. */
	if (tls_cert_check(SSL_CTX_get0_certificate(ctx), code, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", f->cert, why);
		return -1;
	}
	return 0;
}

/* The CA file into the context's store; *cas keeps its certificates for
 * the CRL checks (the caller frees it).  0 / -1. */
static int
load_ca(SSL_CTX *ctx, const char *path, STACK_OF(X509) **cas, char *err,
    size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	char e[160];
	int i;

	if ((*cas = read_certs(path, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < sk_X509_num(*cas); i++)
		if (X509_STORE_add_cert(st, sk_X509_value(*cas, i)) != 1) {
			snprintf(err, errlen, "CA %s: %s", path,
			    tls_error_string(e, sizeof(e)));
			return -1;
		}
	return 0;
}

/*
 * Our certificate against the CA file alone (before the CRLs are in:
 * whether we are revoked is for the peers to say).  A server with another
 * CA's certificate would start and be refused by every peer.
 */
static int
own_signed(SSL_CTX *ctx, const struct tls_files *f, char *err,
    size_t errlen)
{
	X509_STORE_CTX *sc;
	STACK_OF(X509) *chain = NULL;
	int rc = -1, v;

	if ((sc = X509_STORE_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	(void)SSL_CTX_get0_chain_certs(ctx, &chain);
	if (X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx),
	    SSL_CTX_get0_certificate(ctx), chain) != 1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (X509_verify_cert(sc) == 1) {
		rc = 0;
		goto out;
	}
	switch ((v = X509_STORE_CTX_get_error(sc))) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		snprintf(err, errlen, "certificate %s is not signed by --ca %s",
		    f->cert, f->ca);
		break;
	default:
		snprintf(err, errlen, "certificate %s: %s", f->cert,
		    X509_verify_cert_error_string(v));
		break;
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(sc);
	return rc;
}

/* One CRL: signed by a CA of the CA file, and in force now. */
static int
crl_valid(X509_CRL *crl, const struct tls_files *f, STACK_OF(X509) *cas,
    time_t now, char *err, size_t errlen)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);
	char when[32], dir[512];
	X509 *ca;
	int i, signed_ok = 0;

	for (i = 0; i < sk_X509_num(cas) && !signed_ok; i++) {
		ca = sk_X509_value(cas, i);
		signed_ok = X509_NAME_cmp(X509_get_subject_name(ca),
		    X509_CRL_get_issuer(crl)) == 0 &&
		    X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1;
	}
	ERR_clear_error();
	if (!signed_ok) {
		snprintf(err, errlen, "CRL %s is not signed by --ca %s",
		    f->crl, f->ca);
		return -1;
	}
	if (last != NULL && X509_cmp_time(last, &now) > 0) {
		asn1_fmt(last, when, sizeof(when));
		snprintf(err, errlen, "CRL %s is not valid before %s "
		    "(lastUpdate)", f->crl, when);
		return -1;
	}
	/* No nextUpdate: the CA says it never expires (RFC 5280 5.1.2.5). */
	if (next != NULL && X509_cmp_time(next, &now) <= 0) {
		asn1_fmt(next, when, sizeof(when));
		dir_of(f->crl, dir, sizeof(dir));
		snprintf(err, errlen, "CRL %s expired at %s (nextUpdate); "
		    "renew it: nap-certs --dir %s crl", f->crl, when, dir);
		return -1;
	}
	return 0;
}

/*
 * Every CRL of the file goes into the store, so a file may hold the CRLs
 * of two CAs during a CA change (the servers used to read only the first
 * one, libnap all: one rule now).  Of several CRLs of one CA OpenSSL uses
 * the newest.
 *
 * X509_V_FLAG_CRL_CHECK checks the leaf only, not X509_V_FLAG_CRL_CHECK_ALL:
 * a NAP chain is CA -> leaf (nap-certs signs leaves with the CA itself),
 * the CA is the trust anchor that no CRL of its own can revoke, so the
 * leaf is the only certificate a CRL can name; CHECK_ALL would add
 * nothing but a refusal of every chain the day a CA without a CRL of its
 * own issuer is met.  A missing CRL for the leaf's CA fails closed.
 */
static int
load_crls(SSL_CTX *ctx, const struct tls_files *f, STACK_OF(X509) *cas,
    char *err, size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_CRL) *crls;
	time_t now = time(NULL);
	char e[160];
	int i, rc = -1;

	if ((crls = read_crls(f->crl, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		if (crl_valid(sk_X509_CRL_value(crls, i), f, cas, now, err,
		    errlen) == -1)
			goto out;
		if (X509_STORE_add_crl(st, sk_X509_CRL_value(crls, i)) != 1) {
			snprintf(err, errlen, "CRL %s: %s", f->crl,
			    tls_error_string(e, sizeof(e)));
			goto out;
		}
	}
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	rc = 0;
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}

/*
 * What both sides share.  own_ca: also check that our certificate is
 * signed by the CA file.  *code (when not NULL) gets our code.  Returns
 * a new context (SSL_CTX_free()), or NULL with err.
 */
static SSL_CTX *
ctx_new(const SSL_METHOD *m, const struct tls_files *f, int own_ca,
    uint32_t *code, char *err, size_t errlen)
{
	STACK_OF(X509) *cas = NULL;
	SSL_CTX *ctx;
	uint32_t me;
	char e[160];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(m)) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s",
		    tls_error_string(e, sizeof(e)));
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1) {
		snprintf(err, errlen, "TLS 1.3: %s",
		    tls_error_string(e, sizeof(e)));
		goto bad;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_ENABLE_PARTIAL_WRITE);
	SSL_CTX_set_max_early_data(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_default_passwd_cb(ctx, no_passwd);
	if (load_own(ctx, f, code != NULL ? code : &me, err, errlen) == -1 ||
	    load_ca(ctx, f->ca, &cas, err, errlen) == -1 ||
	    (own_ca && own_signed(ctx, f, err, errlen) == -1))
		goto bad;
	if (f->crl != NULL && *f->crl != '\0' &&
	    load_crls(ctx, f, cas, err, errlen) == -1)
		goto bad;
	/* Leaf signed by the CA: depth 1 suffices, 2 leaves room for an
	 * intermediate.  No verify callback: OpenSSL's verification, then
	 * tls_peer_check() on the result. */
	SSL_CTX_set_verify_depth(ctx, 2);
	sk_X509_pop_free(cas, X509_free);
	return ctx;
bad:
	sk_X509_pop_free(cas, X509_free);
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_server_ctx(const struct tls_files *f, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = ctx_new(TLS_server_method(), f, 1, NULL, err,
	    errlen)) == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	/* No resumption at all: every link runs the full certificate
	 * check, and the registry check runs after it regardless. */
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

static SSL_CTX *
client_ctx(const struct tls_files *f, int own_ca, uint32_t *code,
    char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = ctx_new(TLS_client_method(), f, own_ca, code, err,
	    errlen)) == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

SSL_CTX *
tls_client_ctx(const struct tls_files *f, char *err, size_t errlen)
{
	return client_ctx(f, 1, NULL, err, errlen);
}

SSL_CTX *
tls_device_ctx(const struct tls_files *f, uint32_t *code, char *err,
    size_t errlen)
{
	return client_ctx(f, 0, code, err, errlen);
}

/* ---- the policy on one certificate -------------------------------- */

/* Exactly one CN, exactly 8 hex characters, no embedded NUL. */
static int
cert_cn(X509 *x, uint32_t *code, char *err, size_t errlen)
{
	X509_NAME *name = X509_get_subject_name(x);
	const ASN1_STRING *d;
	int idx;

	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0 || X509_NAME_get_index_by_NID(name, NID_commonName,
	    idx) >= 0) {
		snprintf(err, errlen, "certificate must have exactly one CN");
		return -1;
	}
	d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	if (ASN1_STRING_length(d) != 8 || memchr(ASN1_STRING_get0_data(d), 0,
	    8) != NULL || env_code_parse((const char *)
	    ASN1_STRING_get0_data(d), 8, code) == -1) {
		snprintf(err, errlen, "certificate CN is not an 8-hex code");
		return -1;
	}
	return 0;
}

/* §2: ECDSA on P-256, nothing else. */
static int
cert_key(X509 *x, uint32_t code, char *err, size_t errlen)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	const char *type;
	char group[64];
	size_t glen;

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC) {
		type = k != NULL ? EVP_PKEY_get0_type_name(k) : NULL;
		ERR_clear_error();
		snprintf(err, errlen, "certificate of %08X: %s key, not "
		    "ECDSA P-256", code, type != NULL ? type : "unknown");
		return -1;
	}
	if (!EVP_PKEY_get_group_name(k, group, sizeof(group), &glen))
		snprintf(group, sizeof(group), "unknown curve");
	ERR_clear_error();
	if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) {
		snprintf(err, errlen, "certificate of %08X: EC key on %s, not "
		    "P-256", code, group);
		return -1;
	}
	return 0;
}

/*
 * §2: platform and domain certificates serve and connect (serverAuth and
 * clientAuth), every other code connects only (clientAuth alone): a
 * device certificate can never pass for a server.  Other key purposes
 * than these two are not looked at.
 */
static int
cert_eku(X509 *x, uint32_t code, char *err, size_t errlen)
{
	uint32_t want, got;
	const char *role;

	if (env_code_is_platform(code) || env_code_is_domain(code)) {
		want = XKU_SSL_SERVER | XKU_SSL_CLIENT;
		role = "a server certificate must have extended key usage "
		    "serverAuth and clientAuth";
	} else {
		want = XKU_SSL_CLIENT;
		role = "a device certificate must have extended key usage "
		    "clientAuth only";
	}
	/* UINT32_MAX: no extension at all, which OpenSSL reads as "any". */
	got = X509_get_extended_key_usage(x);
	ERR_clear_error();
	if (got == UINT32_MAX || (got & (XKU_SSL_SERVER | XKU_SSL_CLIENT |
	    XKU_ANYEKU)) != want) {
		snprintf(err, errlen, "certificate of %08X: %s", code, role);
		return -1;
	}
	return 0;
}

/*
 * The policy on one certificate (CN, key, EKU).  Returns 0 and sets
 * *code, or -1 with err filled.
 */
static int
tls_cert_check(X509 *x, uint32_t *code, char *err, size_t errlen)
{
	uint32_t c;

	if (x == NULL) {
		snprintf(err, errlen, "no certificate");
		return -1;
	}
	if (cert_cn(x, &c, err, errlen) == -1 ||
	    cert_key(x, c, err, errlen) == -1 ||
	    cert_eku(x, c, err, errlen) == -1)
		return -1;
	*code = c;
	return 0;
}

int
tls_peer_check(SSL *ssl, uint32_t *code, char *err, size_t errlen)
{
	X509 *x;
	long vr;
	int rc;

	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(err, errlen, "peer certificate: %s",
		    X509_verify_cert_error_string(vr));
		return TLS_PEER_UNVERIFIED;
	}
	if ((x = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(err, errlen, "peer sent no certificate");
		return TLS_PEER_UNVERIFIED;
	}
	rc = tls_cert_check(x, code, err, errlen) == 0 ? 0 : TLS_PEER_POLICY;
	X509_free(x);
	return rc;
}

int
tls_peer_code(SSL *ssl, uint32_t *code, char *err, size_t errlen)
{
	return tls_peer_check(ssl, code, err, errlen) == 0 ? 0 : -1;
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
	x = PEM_read_X509(f, NULL, no_passwd, NULL);
	fclose(f);
	if (x == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: not a PEM certificate", path);
		return -1;
	}
	rc = cert_cn(x, code, err, errlen);
	X509_free(x);
	return rc;
}

/* ---- CRL expiry ---------------------------------------------------- */

int
tls_crl_next_update(const char *crlfile, time_t *when)
{
	STACK_OF(X509_CRL) *crls;
	const ASN1_TIME *next;
	struct tm tm;
	time_t t;
	char err[256];
	int i, rc = 1;

	if ((crls = read_crls(crlfile, err, sizeof(err))) == NULL)
		return -1;
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		next = X509_CRL_get0_nextUpdate(sk_X509_CRL_value(crls, i));
		if (next == NULL)
			continue;
		if (ASN1_TIME_to_tm(next, &tm) != 1) {
			rc = -1;
			break;
		}
		t = timegm(&tm);
		if (rc == 1 || t < *when)
			*when = t;
		rc = 0;
	}
	ERR_clear_error();
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}

int
tls_crl_expiry_warning(const char *crlfile, time_t now, int days, char *msg,
    size_t len)
{
	char at[32], dir[512];
	time_t when;

	if (crlfile == NULL || *crlfile == '\0' ||
	    tls_crl_next_update(crlfile, &when) != 0 ||
	    when - now > (time_t)days * 86400)
		return 0;
	time_fmt(when, at, sizeof(at));
	dir_of(crlfile, dir, sizeof(dir));
	if (when <= now)
		snprintf(msg, len, "CRL %s expired at %s (nextUpdate): every "
		    "peer is refused; renew it: nap-certs --dir %s crl, then "
		    "SIGHUP", crlfile, at, dir);
	else
		snprintf(msg, len, "CRL %s expires at %s (nextUpdate), in "
		    "%lld hours; renew it: nap-certs --dir %s crl, then SIGHUP",
		    crlfile, at, (long long)((when - now) / 3600), dir);
	return 1;
}

/* ---- formatting ---------------------------------------------------- */

static void
asn1_fmt(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "(bad time)");
	ERR_clear_error();
}

static void
time_fmt(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "(bad time)");
}

/* The directory of a file, the --dir nap-certs wrote it in. */
static void
dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

/*
 * A live link's peer against a newer context (SIGHUP): its certificate
 * and the chain it sent are verified again with the new store, CA and
 * CRLs, so that a certificate revoked since the handshake ends its link
 * (a CRL is otherwise read only at handshakes).
 */
int
tls_peer_recheck(SSL_CTX *ctx, SSL *ssl, char *err, size_t errlen)
{
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509_STORE_CTX *sc = NULL;
	int rc = -1, v;

	if (leaf == NULL) {
		snprintf(err, errlen, "no peer certificate");
		return -1;
	}
	if ((sc = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), leaf, chain)
	    != 1) {
		snprintf(err, errlen, "no memory to verify a certificate");
		goto out;
	}
	X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(sc) == 1)
		rc = 0;
	else {
		v = X509_STORE_CTX_get_error(sc);
		snprintf(err, errlen, "certificate %s",
		    v == X509_V_ERR_CERT_REVOKED ? "revoked" :
		    X509_verify_cert_error_string(v));
	}
out:
	X509_STORE_CTX_free(sc);
	return rc;
}
