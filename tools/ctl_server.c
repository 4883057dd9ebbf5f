/*
 * ctl_server.c - nap-ctl --server URL status|links|kick|reload|drain
 * (ctl_server.h, DESIGN.md §12): one request with libevent's HTTP
 * client (plain http on loopback, https with a client certificate),
 * the answer printed as a table, or as the server's JSON with --json
 * (JSON lines for lists).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ctl_server.h"

#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define TIMEOUT_S	10
#define PATH_MAX_J	128

struct opts {
	const char	*url, *cert, *key, *ca, *deadline;
	int		 json;
};

struct answer {
	int		 code;		/* HTTP status, 0: none */
	struct evbuffer	*body;
	struct event_base *base;
	char		 err[256];
};

/* A JSON value's scalars, each with its dotted path (a.b[2].c). */
typedef void (*json_emit)(const char *path, const char *val, void *arg);
struct jp {
	const char	*p, *end;
	json_emit	 emit;
	void		*arg;
};

static int	request(const struct opts *, int post, const char *path,
		    struct answer *);
static void	done_cb(struct evhttp_request *, void *);
static int	json_value(struct jp *, char *path, size_t plen);
static int	json_walk(const char *s, size_t len, json_emit, void *);
static int	show_status(const struct opts *, struct answer *);
static int	show_links(const struct opts *, struct answer *);

int
ctl_server_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--server") == 0 ||
		    strncmp(argv[i], "--server=", 9) == 0)
			return 1;
	return 0;
}

static void
ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' ||
	    *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

/* A string's text, escapes decoded (\uXXXX above 0x7f shown as '?'). */
static int
json_string(struct jp *j, char *out, size_t cap)
{
	size_t n = 0;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	for (j->p++; j->p < j->end && *j->p != '"'; j->p++) {
		char ch = *j->p;

		if (ch == '\\') {
			if (++j->p >= j->end)
				return -1;
			ch = *j->p == 'n' ? '\n' : *j->p == 't' ? '\t' :
			    *j->p == 'u' ? '?' : *j->p;
			if (*j->p == 'u') {
				unsigned v = 0;

				if (j->end - j->p < 5 ||
				    sscanf(j->p + 1, "%4x", &v) != 1)
					return -1;
				ch = v < 0x80 ? (char)v : '?';
				j->p += 4;
			}
		}
		if (n + 1 < cap)
			out[n++] = ch;
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	out[n] = '\0';
	return 0;
}

static int
json_value(struct jp *j, char *path, size_t plen)
{
	char val[512];
	size_t n;

	ws(j);
	if (j->p >= j->end)
		return -1;
	if (*j->p == '{' || *j->p == '[') {
		int obj = *j->p == '{', i = 0;
		char close = obj ? '}' : ']';

		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;; i++) {
			char key[64];

			ws(j);
			if (obj && (json_string(j, key, sizeof(key)) == -1 ||
			    (ws(j), j->p >= j->end || *j->p++ != ':')))
				return -1;
			n = obj ? (size_t)snprintf(path + plen, PATH_MAX_J -
			    plen, "%s%s", plen ? "." : "", key) :
			    (size_t)snprintf(path + plen, PATH_MAX_J - plen,
			    "[%d]", i);
			if (plen + n >= PATH_MAX_J ||
			    json_value(j, path, plen + n) == -1)
				return -1;
			path[plen] = '\0';
			ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == close) {
				j->p++;
				return 0;
			}
			return -1;
		}
	}
	if (*j->p == '"') {
		if (json_string(j, val, sizeof(val)) == -1)
			return -1;
	} else {
		for (n = 0; j->p < j->end && strchr(",}] \n\r\t", *j->p) ==
		    NULL; j->p++)
			if (n + 1 < sizeof(val))
				val[n++] = *j->p;
		val[n] = '\0';
		if (n == 0)
			return -1;
	}
	j->emit(path, val, j->arg);
	return 0;
}

static int
json_walk(const char *s, size_t len, json_emit emit, void *arg)
{
	struct jp j = { s, s + len, emit, arg };
	char path[PATH_MAX_J] = "";

	if (json_value(&j, path, 0) == -1)
		return -1;
	ws(&j);
	return j.p == j.end ? 0 : -1;
}

static void
done_cb(struct evhttp_request *req, void *arg)
{
	struct answer *a = arg;

	/* An idle kept-alive connection would keep the loop running. */
	event_base_loopbreak(a->base);
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		snprintf(a->err, sizeof(a->err), "no answer (connection "
		    "refused, TLS refused or timed out)");
		return;
	}
	a->code = evhttp_request_get_response_code(req);
	evbuffer_add_buffer(a->body, evhttp_request_get_input_buffer(req));
}

static SSL_CTX *
client_ctx(const struct opts *o, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL || (o->ca != NULL &&
	    SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) ||
	    (o->cert != NULL && SSL_CTX_use_certificate_chain_file(ctx,
	    o->cert) != 1) || (o->key != NULL &&
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)) {
		snprintf(err, errlen, "TLS files: %s", ERR_reason_error_string(
		    ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* One request; a->body is the caller's (freed by it). 0, or -1. */
static int
request(const struct opts *o, int post, const char *path, struct answer *a)
{
	struct evhttp_uri *u = evhttp_uri_parse(o->url);
	struct event_base *base = event_base_new();
	struct evhttp_connection *con = NULL;
	struct evhttp_request *req;
	struct bufferevent *bev = NULL;
	SSL_CTX *ctx = NULL;
	const char *scheme, *host;
	int port, https, rc = -1;

	a->body = evbuffer_new();
	a->base = base;
	if (u == NULL || base == NULL || a->body == NULL ||
	    (host = evhttp_uri_get_host(u)) == NULL ||
	    (scheme = evhttp_uri_get_scheme(u)) == NULL ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(a->err, sizeof(a->err), "%s: not an http:// or "
		    "https:// URL", o->url);
		goto out;
	}
	https = strcmp(scheme, "https") == 0;
	if ((port = evhttp_uri_get_port(u)) == -1)
		port = https ? 443 : 80;
	if (https) {
		SSL *ssl;

		if ((ctx = client_ctx(o, a->err, sizeof(a->err))) == NULL)
			goto out;
		if ((ssl = SSL_new(ctx)) == NULL)
			goto out;
		SSL_set_tlsext_host_name(ssl, host);
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			goto out;
	}
	if ((con = evhttp_connection_base_bufferevent_new(base, NULL, bev,
	    host, (uint16_t)port)) == NULL ||
	    (req = evhttp_request_new(done_cb, a)) == NULL)
		goto out;
	evhttp_connection_set_timeout(con, TIMEOUT_S);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
	    host);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Connection", "close");
	if (evhttp_make_request(con, req, post ? EVHTTP_REQ_POST :
	    EVHTTP_REQ_GET, path) == -1)
		goto out;
	event_base_dispatch(base);
	rc = a->code != 0 ? 0 : -1;
out:
	if (rc == -1 && a->err[0] == '\0')
		snprintf(a->err, sizeof(a->err), "request failed");
	if (con != NULL)
		evhttp_connection_free(con);
	SSL_CTX_free(ctx);
	if (base != NULL)
		event_base_free(base);
	if (u != NULL)
		evhttp_uri_free(u);
	return rc;
}

static void
print_kv(const char *path, const char *val, void *arg)
{
	(void)arg;
	printf("%-26s %s\n", path, val);
}

static int
show_status(const struct opts *o, struct answer *a)
{
	size_t n = evbuffer_get_length(a->body);
	const char *s = (const char *)evbuffer_pullup(a->body, -1);

	if (o->json) {
		fwrite(s, 1, n, stdout);
		return 0;
	}
	if (json_walk(s, n, print_kv, NULL) == -1) {
		fprintf(stderr, "nap-ctl: the server's answer is not JSON\n");
		return EXIT_FAIL;
	}
	return 0;
}

/* The columns of the links table, in order. */
static const char *const cols[] = { "code", "kind", "state", "address",
	"login_time", "msgs_in", "msgs_out", "bytes_in", "bytes_out",
	"unconfirmed" };
#define NCOLS	(sizeof(cols) / sizeof(cols[0]))
struct row {
	char	v[NCOLS][64];
};

static void
row_kv(const char *path, const char *val, void *arg)
{
	struct row *r = arg;

	for (size_t i = 0; i < NCOLS; i++)
		if (strcmp(path, cols[i]) == 0)
			snprintf(r->v[i], sizeof(r->v[i]), "%s", val);
}

static int
show_links(const struct opts *o, struct answer *a)
{
	static const char *const fmt[NCOLS] = { "%-9s", " %-7s", " %-9s",
	    " %-22s", " %-11s", " %8s", " %8s", " %10s", " %10s", " %6s" };
	char *line;
	size_t n;

	if (!o->json) {
		for (size_t i = 0; i < NCOLS; i++)
			printf(fmt[i], i == 9 ? "UNCONF" : cols[i]);
		printf("\n");
	}
	while ((line = evbuffer_readln(a->body, &n, EVBUFFER_EOL_LF)) !=
	    NULL) {
		struct row r;

		memset(&r, 0, sizeof(r));
		if (o->json)
			printf("%s\n", line);
		else if (json_walk(line, n, row_kv, &r) == 0) {
			for (size_t i = 0; i < NCOLS; i++)
				printf(fmt[i], r.v[i][0] ? r.v[i] : "-");
			printf("\n");
		}
		free(line);
	}
	return 0;
}

static int
usage_fail(const char *why)
{
	fprintf(stderr, "nap-ctl: %s\nusage: nap-ctl --server URL [--cert "
	    "FILE --key FILE --ca FILE] [--json]\n"
	    "       status | links | kick CODE | reload | drain "
	    "[--deadline SECONDS]\n", why);
	return EXIT_USAGE;
}

static int
run(const struct opts *o, const char *cmd, const char *arg)
{
	struct answer a = { 0 };
	char path[128];
	int rc = EXIT_FAIL, post = 1;

	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "links") == 0) {
		post = 0;
		snprintf(path, sizeof(path), "%s", cmd[0] == 's' ? "/status" :
		    "/links?format=lines");
	} else if (strcmp(cmd, "kick") == 0)
		snprintf(path, sizeof(path), "/kick?code=%s", arg);
	else if (strcmp(cmd, "drain") == 0)
		snprintf(path, sizeof(path), "/drain?deadline=%s",
		    o->deadline ? o->deadline : "30");
	else
		snprintf(path, sizeof(path), "/reload");
	if (request(o, post, path, &a) == -1) {
		fprintf(stderr, "nap-ctl: %s: %s\n", o->url, a.err);
		goto out;
	}
	if (a.code >= 300) {
		fprintf(stderr, "nap-ctl: %s%s: HTTP %d: %.*s", o->url, path,
		    a.code, (int)evbuffer_get_length(a.body),
		    (const char *)evbuffer_pullup(a.body, -1));
		goto out;
	}
	if (strcmp(cmd, "links") == 0)
		rc = show_links(o, &a);
	else
		rc = show_status(o, &a);
out:
	if (a.body != NULL)
		evbuffer_free(a.body);
	return rc;
}

int
ctl_server_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o.url = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'd': o.deadline = optarg; break;
		case 'j': o.json = 1; break;
		default:
			return usage_fail("unknown option or missing value");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_fail("no command given");
	if (strcmp(argv[0], "kick") == 0 ? argc != 2 : argc != 1 ||
	    (strcmp(argv[0], "status") != 0 && strcmp(argv[0], "links") != 0 &&
	    strcmp(argv[0], "reload") != 0 && strcmp(argv[0], "drain") != 0))
		return usage_fail("unknown command or operands");
	if (o.deadline != NULL && strcmp(argv[0], "drain") != 0)
		return usage_fail("--deadline applies to drain only");
	if (strcmp(argv[0], "kick") == 0 && (strlen(argv[1]) != 8 ||
	    strspn(argv[1], "0123456789abcdefABCDEF") != 8))
		return usage_fail("kick: CODE is 8 hex digits");
	return run(&o, argv[0], argc > 1 ? argv[1] : NULL);
}
