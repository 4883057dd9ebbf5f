/*
 * test_tls.c - CUnit tests of the one TLS policy (common/tls.c) as the
 * servers and libnap apply it: a peer with an RSA key, a P-384 key, a
 * device certificate that claims serverAuth, or a CN that is not a code is
 * refused with the same words by a server context (tls_peer_code() after
 * the handshake) and by libnap (nap_tls_handshake()); every CRL of a CRL
 * file counts; expired CRLs and CRLs of another CA refuse the context on
 * both sides; tls_crl_next_update().
 *
 * Real certificates: nap-certs (NAP_SRCDIR/certs/nap-certs, "." when
 * unset) makes two CAs in a temporary directory, the openssl command line
 * the certificates nap-certs would never issue.  Handshakes run in memory
 * (the server side) and over a socketpair (libnap's own socket BIO).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nap_internal.h"
#include "tls.h"

void	init_tls_tests(void);

#define DOMAIN		0x00010000u	/* ours, the good server */
#define DEVICE		0x00010001u	/* ours, the good device */
#define B_DOMAIN	0x00020000u	/* second CA: revoked in its CRL */
#define B_DEVICE	0x00020001u	/* second CA: revoked in its CRL */
#define B_DEVICE2	0x00020002u	/* second CA: valid */
#define TPATH		512

static char	tdir[64];		/* /tmp/nap-test-tls.XXXXXX */

static int	suite_init(void);
static int	suite_clean(void);
static int	sh(const char *, ...);
static void	tpath(char *, size_t, const char *, ...);
static int	make_pki(void);
static int	bad_cert(const char *, const char *, const char *,
		    const char *);
static int	write_crl(const char *, const char *, long, long, int);
static SSL_CTX	*raw_ctx(int, const char *);
static SSL_CTX	*good_server(const char *, const char *);
static int	mem_handshake(SSL_CTX *, SSL_CTX *, SSL **);
static int	nap_against(SSL_CTX *, uint32_t, const char *, const char *,
		    char *, size_t);
static void	refused_alike(const char *, uint32_t, const char *);

static void	test_good_peers(void);
static void	test_rsa(void);
static void	test_p384(void);
static void	test_device_eku(void);
static void	test_bad_cn(void);
static void	test_two_crls(void);
static void	test_expired_crl(void);
static void	test_foreign_crl(void);
static void	test_no_next_update(void);
static void	test_next_update(void);

/* ---- the PKI ------------------------------------------------------ */

/* A shell command, its output into the directory's log.  0 on success. */
static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n;

	/* ( ) so that a redirection inside the command keeps its output. */
	cmd[0] = '(';
	va_start(ap, fmt);
	n = vsnprintf(cmd + 1, sizeof(cmd) - 64 - sizeof(tdir), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 64 - sizeof(tdir))
		return -1;
	snprintf(cmd + 1 + n, sizeof(cmd) - 1 - (size_t)n,
	    ") >>'%s/log' 2>&1", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
tpath(char *buf, size_t len, const char *fmt, ...)
{
	char name[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(buf, len, "%s/%s", tdir, name);
}

/* A certificate of CA a that nap-certs would not issue: NAME.crt/.key
 * with CN cn, key newkey (openssl req -newkey), extensions ext. */
static int
bad_cert(const char *name, const char *cn, const char *newkey,
    const char *ext)
{
	return sh("cd '%s' && openssl req -new -x509 -nodes -newkey %s "
	    "-keyout %s.key -subj /CN=%s -config ext.cnf -extensions %s "
	    "-CA a/ca.crt -CAkey a/ca.key -days 30 -sha256 -out %s.crt",
	    tdir, newkey, name, cn, ext, name);
}

static int
make_pki(void)
{
	const char *src = getenv("NAP_SRCDIR");
	char certs[TPATH], ext[TPATH];
	FILE *f;

	snprintf(certs, sizeof(certs), "%s/certs/nap-certs",
	    src != NULL && *src != '\0' ? src : ".");
	tpath(ext, sizeof(ext), "ext.cnf");
	if ((f = fopen(ext, "w")) == NULL)
		return -1;
	fputs("[ req ]\ndistinguished_name = dn\n[ dn ]\n"
	    "[ server ]\nbasicConstraints = critical, CA:FALSE\n"
	    "keyUsage = critical, digitalSignature\n"
	    "extendedKeyUsage = serverAuth, clientAuth\n", f);
	if (fclose(f) != 0)
		return -1;
	return sh("'%s' --dir '%s/a' init && '%s' --dir '%s/a' issue "
	    "00010000 00010001", certs, tdir, certs, tdir) == 0 &&
	    sh("'%s' --dir '%s/b' --name 'Second CA' init && '%s' --dir "
	    "'%s/b' issue 00020000 00020001 00020002 && '%s' --dir '%s/b' "
	    "revoke 00020000 00020001", certs, tdir, certs, tdir, certs,
	    tdir) == 0 &&
	    sh("cd '%s' && cat a/ca.crt b/ca.crt > both.crt && "
	    "cat a/crl.pem b/crl.pem > two.pem", tdir) == 0 &&
	    bad_cert("rsa", "00030000", "rsa:2048", "server") == 0 &&
	    bad_cert("p384", "00040000", "ec -pkeyopt "
	    "ec_paramgen_curve:P-384", "server") == 0 &&
	    bad_cert("eku", "00010002", "ec -pkeyopt "
	    "ec_paramgen_curve:P-256", "server") == 0 &&
	    bad_cert("badcn", "0001000Z", "ec -pkeyopt "
	    "ec_paramgen_curve:P-256", "server") == 0 ? 0 : -1;
}

/*
 * A CRL of CA a written here rather than by openssl ca, which cannot
 * leave out nextUpdate: lastUpdate and nextUpdate are seconds from now
 * (next_set 0: no nextUpdate).  0 / -1.
 */
static int
write_crl(const char *name, const char *ca, long last, long next,
    int next_set)
{
	char p[TPATH];
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	X509_CRL *c = NULL;
	ASN1_TIME *t = NULL;
	FILE *f;
	int rc = -1;

	tpath(p, sizeof(p), "%s/ca.crt", ca);
	if ((f = fopen(p, "r")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	tpath(p, sizeof(p), "%s/ca.key", ca);
	if ((f = fopen(p, "r")) != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (x == NULL || k == NULL || (c = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(c, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(c, X509_get_subject_name(x)) != 1 ||
	    (t = X509_time_adj_ex(NULL, 0, last, NULL)) == NULL ||
	    X509_CRL_set1_lastUpdate(c, t) != 1)
		goto out;
	if (next_set && (X509_time_adj_ex(t, 0, next, NULL) == NULL ||
	    X509_CRL_set1_nextUpdate(c, t) != 1))
		goto out;
	if (X509_CRL_sign(c, k, EVP_sha256()) == 0)
		goto out;
	tpath(p, sizeof(p), "%s", name);
	if ((f = fopen(p, "w")) == NULL)
		goto out;
	rc = PEM_write_X509_CRL(f, c) == 1 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
out:
	ERR_clear_error();
	ASN1_TIME_free(t);
	X509_CRL_free(c);
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

static int
suite_init(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/nap-test-tls.XXXXXX");
	if (mkdtemp(tdir) == NULL)
		return -1;
	if (make_pki() == -1) {
		fprintf(stderr, "tls tests: cannot make the PKI (see %s/log)\n",
		    tdir);
		return -1;
	}
	return 0;
}

static int
suite_clean(void)
{
	return sh("rm -rf '%s'", tdir) == 0 ? 0 : -1;
}

/* ---- peers -------------------------------------------------------- */

/*
 * A bare OpenSSL context presenting NAME.crt (a path under the directory)
 * and trusting CA a, as a peer outside NAP's code would: TLS 1.3, verify
 * the other side.  NULL on failure; the caller frees it.
 */
static SSL_CTX *
raw_ctx(int server, const char *name)
{
	char crt[TPATH], key[TPATH], ca[TPATH];
	SSL_CTX *ctx;

	tpath(crt, sizeof(crt), "%s.crt", name);
	tpath(key, sizeof(key), "%s.key", name);
	tpath(ca, sizeof(ca), "a/ca.crt");
	if ((ctx = SSL_CTX_new(server ? TLS_server_method() :
	    TLS_client_method())) == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ?
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	return ctx;
}

/* nap-domain's context for 00010000 of CA a with ca and crl files. */
static SSL_CTX *
good_server(const char *ca, const char *crl)
{
	char crt[TPATH], key[TPATH], cap[TPATH], crlp[TPATH], err[256];
	struct tls_files f = { crt, key, cap, crlp };
	SSL_CTX *ctx;

	tpath(crt, sizeof(crt), "a/00010000.crt");
	tpath(key, sizeof(key), "a/00010000.key");
	tpath(cap, sizeof(cap), "%s", ca);
	tpath(crlp, sizeof(crlp), "%s", crl);
	if ((ctx = tls_server_ctx(&f, err, sizeof(err))) == NULL)
		fprintf(stderr, "\ntls_server_ctx: %s\n", err);
	return ctx;
}

/*
 * A handshake in memory between server context s and client context c.
 * Returns 1 when both ended it, 0 when one refused; *ss is the server's
 * link either way (the caller frees it).
 */
static int
mem_handshake(SSL_CTX *s, SSL_CTX *c, SSL **ss)
{
	BIO *bs, *bc;
	SSL *cs;
	int rs = 0, rc = 0, i;

	*ss = SSL_new(s);
	cs = SSL_new(c);
	CU_ASSERT_FATAL(*ss != NULL && cs != NULL);
	CU_ASSERT_FATAL(BIO_new_bio_pair(&bs, 0, &bc, 0) == 1);
	SSL_set_bio(*ss, bs, bs);
	SSL_set_bio(cs, bc, bc);
	SSL_set_accept_state(*ss);
	SSL_set_connect_state(cs);
	for (i = 0; i < 50 && (rs != 1 || rc != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(cs);
		if (rs != 1)
			rs = SSL_do_handshake(*ss);
		if ((rs <= 0 && SSL_get_error(*ss, rs) == SSL_ERROR_SSL) ||
		    (rc <= 0 && SSL_get_error(cs, rc) == SSL_ERROR_SSL))
			break;
	}
	ERR_clear_error();
	SSL_free(cs);
	return rs == 1 && rc == 1;
}

/*
 * libnap, as device 00010001 of CA a (with ca and crl files), against
 * the server context s over a socketpair, expecting server code expect.
 * Returns what nap_tls_handshake() ended with, its message in msg.
 */
static int
nap_against(SSL_CTX *s, uint32_t expect, const char *ca, const char *crl,
    char *msg, size_t len)
{
	char crt[TPATH], key[TPATH], cap[TPATH], crlp[TPATH];
	struct nap *n;
	SSL *ss;
	int sv[2], r = -1, i;

	tpath(crt, sizeof(crt), "a/00010001.crt");
	tpath(key, sizeof(key), "a/00010001.key");
	tpath(cap, sizeof(cap), "%s", ca);
	tpath(crlp, sizeof(crlp), "%s", crl);
	n = nap_new();
	CU_ASSERT_FATAL(n != NULL);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv) == 0);
	CU_ASSERT_FATAL((ss = SSL_new(s)) != NULL);
	SSL_set_fd(ss, sv[1]);
	SSL_set_accept_state(ss);
	if (nap_set_tls(n, crt, key, cap, crlp) != 0 ||
	    nap_set_expect(n, expect) != 0) {
		snprintf(msg, len, "setup: %s", nap_errmsg(n));
		close(sv[0]);
		goto out;
	}
	n->fd = sv[0];
	n->state = NAP_ST_TLS;
	CU_ASSERT_FATAL(nap_tls_start(n) == 0);
	for (i = 0; i < 50; i++) {
		if ((r = nap_tls_handshake(n)) != 1)
			break;
		(void)SSL_do_handshake(ss);
	}
	snprintf(msg, len, "%s", nap_errmsg(n));
out:
	ERR_clear_error();
	SSL_free(ss);
	close(sv[1]);
	n->state = NAP_ST_CLOSED;
	nap_free(n);
	return r;
}

/*
 * The certificate NAME (with CN code) is refused, and in the same words,
 * by nap-domain's context when a device presents it and by libnap when a
 * server presents it; why is in the message.
 */
static void
refused_alike(const char *name, uint32_t code, const char *why)
{
	SSL_CTX *s, *c;
	SSL *ss;
	uint32_t got = 0;
	char srv[256], dev[256];
	int r;

	/* A device presents it to nap-domain. */
	s = good_server("a/ca.crt", "a/crl.pem");
	c = raw_ctx(0, name);
	CU_ASSERT_FATAL(s != NULL && c != NULL);
	CU_ASSERT_EQUAL(mem_handshake(s, c, &ss), 1);
	CU_ASSERT_EQUAL(tls_peer_check(ss, &got, srv, sizeof(srv)),
	    TLS_PEER_POLICY);
	CU_ASSERT_EQUAL(tls_peer_code(ss, &got, srv, sizeof(srv)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(srv, why));
	SSL_free(ss);
	SSL_CTX_free(s);
	SSL_CTX_free(c);

	/* A server presents it to libnap. */
	s = raw_ctx(1, name);
	CU_ASSERT_FATAL(s != NULL);
	r = nap_against(s, code, "a/ca.crt", "a/crl.pem", dev, sizeof(dev));
	CU_ASSERT_EQUAL(r, NAP_E_IDENTITY);
	CU_ASSERT_PTR_NOT_NULL(strstr(dev, srv));
	if (strstr(dev, srv) == NULL)
		fprintf(stderr, "\nserver said \"%s\", libnap \"%s\"\n", srv,
		    dev);
	SSL_CTX_free(s);
}

/* ---- tests -------------------------------------------------------- */

/* The harness lets good peers through on both sides. */
static void
test_good_peers(void)
{
	SSL_CTX *s, *c;
	SSL *ss;
	uint32_t got = 0;
	char err[256];

	s = good_server("a/ca.crt", "a/crl.pem");
	c = raw_ctx(0, "a/00010001");
	CU_ASSERT_FATAL(s != NULL && c != NULL);
	CU_ASSERT_EQUAL(mem_handshake(s, c, &ss), 1);
	CU_ASSERT_EQUAL(tls_peer_code(ss, &got, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(got, DEVICE);
	SSL_free(ss);
	SSL_CTX_free(c);
	CU_ASSERT_EQUAL(nap_against(s, DOMAIN, "a/ca.crt", "a/crl.pem", err,
	    sizeof(err)), 0);
	SSL_CTX_free(s);
}

static void
test_rsa(void)
{
	refused_alike("rsa", 0x00030000u, "RSA key, not ECDSA P-256");
}

static void
test_p384(void)
{
	refused_alike("p384", 0x00040000u, "not P-256");
}

/* A device code with serverAuth could pose as a server: never. */
static void
test_device_eku(void)
{
	refused_alike("eku", DOMAIN, "device certificate must have extended "
	    "key usage clientAuth only");
}

static void
test_bad_cn(void)
{
	refused_alike("badcn", DOMAIN, "certificate CN is not an 8-hex code");
}

/*
 * Two CAs in the CA file, their two CRLs in one CRL file: the second
 * CRL counts on both sides (the servers used to read the first only).
 */
static void
test_two_crls(void)
{
	SSL_CTX *s, *c;
	SSL *ss;
	uint32_t got = 0;
	char err[256];

	s = good_server("both.crt", "two.pem");
	CU_ASSERT_FATAL(s != NULL);
	/* A valid device of the second CA: its CA's CRL was loaded. */
	c = raw_ctx(0, "b/00020002");
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(mem_handshake(s, c, &ss), 1);
	CU_ASSERT_EQUAL(tls_peer_code(ss, &got, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(got, B_DEVICE2);
	SSL_free(ss);
	SSL_CTX_free(c);
	/* A device revoked in the second CRL. */
	c = raw_ctx(0, "b/00020001");
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(mem_handshake(s, c, &ss), 0);
	CU_ASSERT_EQUAL(SSL_get_verify_result(ss), X509_V_ERR_CERT_REVOKED);
	CU_ASSERT_EQUAL(tls_peer_code(ss, &got, err, sizeof(err)), -1);
	SSL_free(ss);
	SSL_CTX_free(c);
	SSL_CTX_free(s);

	/* libnap against a server revoked in the second CRL. */
	c = raw_ctx(1, "b/00020000");
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_EQUAL(nap_against(c, B_DOMAIN, "both.crt", "two.pem", err,
	    sizeof(err)), NAP_E_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "certificate revoked"));
	SSL_CTX_free(c);
}

/* An expired CRL refuses the context, with the same line on each side. */
static void
test_expired_crl(void)
{
	char crt[TPATH], key[TPATH], ca[TPATH], crl[TPATH], want[TPATH * 3];
	char es[512], ed[512];
	struct tls_files f = { crt, key, ca, crl };
	uint32_t code;

	CU_ASSERT_FATAL(write_crl("a/old.pem", "a", -30 * 86400L,
	    -86400L, 1) == 0);
	tpath(crt, sizeof(crt), "a/00010000.crt");
	tpath(key, sizeof(key), "a/00010000.key");
	tpath(ca, sizeof(ca), "a/ca.crt");
	tpath(crl, sizeof(crl), "a/old.pem");
	CU_ASSERT_PTR_NULL(tls_server_ctx(&f, es, sizeof(es)));
	snprintf(want, sizeof(want), "CRL %s expired at ", crl);
	CU_ASSERT_EQUAL(strncmp(es, want, strlen(want)), 0);
	snprintf(want, sizeof(want), " (nextUpdate); renew it: nap-certs "
	    "--dir %s/a crl", tdir);
	CU_ASSERT_PTR_NOT_NULL(strstr(es, want));
	tpath(crt, sizeof(crt), "a/00010001.crt");
	tpath(key, sizeof(key), "a/00010001.key");
	CU_ASSERT_PTR_NULL(tls_device_ctx(&f, &code, ed, sizeof(ed)));
	CU_ASSERT_STRING_EQUAL(ed, es);
	/* One not yet in force either. */
	CU_ASSERT_FATAL(write_crl("a/new.pem", "a", 86400L, 2 * 86400L,
	    1) == 0);
	tpath(crl, sizeof(crl), "a/new.pem");
	CU_ASSERT_PTR_NULL(tls_device_ctx(&f, &code, ed, sizeof(ed)));
	CU_ASSERT_PTR_NOT_NULL(strstr(ed, "(lastUpdate)"));
}

static void
test_foreign_crl(void)
{
	char crt[TPATH], key[TPATH], ca[TPATH], crl[TPATH], want[TPATH * 3];
	char err[512];
	struct tls_files f = { crt, key, ca, crl };
	uint32_t code;
	SSL_CTX *ctx;

	tpath(crt, sizeof(crt), "a/00010001.crt");
	tpath(key, sizeof(key), "a/00010001.key");
	tpath(ca, sizeof(ca), "a/ca.crt");
	tpath(crl, sizeof(crl), "two.pem");
	snprintf(want, sizeof(want), "CRL %s is not signed by --ca %s", crl,
	    ca);
	CU_ASSERT_PTR_NULL(tls_device_ctx(&f, &code, err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, want);
	/* A device certificate of another CA: libnap does not ask, the
	 * servers' contexts do. */
	tpath(crl, sizeof(crl), "a/crl.pem");
	tpath(crt, sizeof(crt), "b/00020002.crt");
	tpath(key, sizeof(key), "b/00020002.key");
	ctx = tls_device_ctx(&f, &code, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(ctx);
	CU_ASSERT_EQUAL(code, B_DEVICE2);
	SSL_CTX_free(ctx);
	tpath(crt, sizeof(crt), "b/00020000.crt");
	tpath(key, sizeof(key), "b/00020000.key");
	CU_ASSERT_PTR_NULL(tls_client_ctx(&f, err, sizeof(err)));
	snprintf(want, sizeof(want), "certificate %s is not signed by --ca %s",
	    crt, ca);
	CU_ASSERT_STRING_EQUAL(err, want);
}

/* A CRL without nextUpdate never expires: accepted. */
static void
test_no_next_update(void)
{
	char crt[TPATH], key[TPATH], ca[TPATH], crl[TPATH], err[512];
	struct tls_files f = { crt, key, ca, crl };
	SSL_CTX *ctx;
	time_t when = 0;

	CU_ASSERT_FATAL(write_crl("a/forever.pem", "a", -60L, 0, 0) == 0);
	tpath(crt, sizeof(crt), "a/00010000.crt");
	tpath(key, sizeof(key), "a/00010000.key");
	tpath(ca, sizeof(ca), "a/ca.crt");
	tpath(crl, sizeof(crl), "a/forever.pem");
	ctx = tls_server_ctx(&f, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(ctx);
	SSL_CTX_free(ctx);
	CU_ASSERT_EQUAL(tls_crl_next_update(crl, &when), 1);
	CU_ASSERT_EQUAL(tls_crl_expiry_warning(crl, time(NULL), 7, err,
	    sizeof(err)), 0);
}

/* The earliest nextUpdate of the file, and the 7-day warning. */
static void
test_next_update(void)
{
	char p[TPATH], msg[512];
	time_t now = time(NULL), when = 0;

	CU_ASSERT_FATAL(write_crl("a/soon.pem", "a", -60L, 3 * 86400L,
	    1) == 0);
	CU_ASSERT_FATAL(write_crl("a/late.pem", "a", -60L, 20 * 86400L,
	    1) == 0);
	CU_ASSERT_FATAL(sh("cd '%s/a' && cat late.pem soon.pem > lsoon.pem",
	    tdir) == 0);
	tpath(p, sizeof(p), "a/lsoon.pem");
	CU_ASSERT_EQUAL(tls_crl_next_update(p, &when), 0);
	CU_ASSERT(when >= now + 3 * 86400L - 5 && when <= now + 3 * 86400L +
	    5);
	CU_ASSERT_EQUAL(tls_crl_expiry_warning(p, now, 7, msg, sizeof(msg)),
	    1);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "renew it: nap-certs --dir "));
	tpath(p, sizeof(p), "a/late.pem");
	CU_ASSERT_EQUAL(tls_crl_expiry_warning(p, now, 7, msg, sizeof(msg)),
	    0);
	tpath(p, sizeof(p), "a/missing.pem");
	CU_ASSERT_EQUAL(tls_crl_next_update(p, &when), -1);
	ERR_clear_error();
}

void
init_tls_tests(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("tls policy", suite_init, suite_clean)) == NULL)
		return;
	CU_add_test(s, "good peers pass both sides", test_good_peers);
	CU_add_test(s, "RSA key refused alike", test_rsa);
	CU_add_test(s, "P-384 key refused alike", test_p384);
	CU_add_test(s, "device with serverAuth refused alike",
	    test_device_eku);
	CU_add_test(s, "bad CN refused alike", test_bad_cn);
	CU_add_test(s, "every CRL of the file counts", test_two_crls);
	CU_add_test(s, "expired CRL refuses both contexts", test_expired_crl);
	CU_add_test(s, "CRL and certificate of another CA", test_foreign_crl);
	CU_add_test(s, "CRL without nextUpdate accepted", test_no_next_update);
	CU_add_test(s, "earliest nextUpdate and the warning", test_next_update);
}
