/*
 * admin.c - the admin API of both servers (admin.h, DESIGN.md §12).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "tls.h"

#ifndef NAP_VERSION
#define NAP_VERSION	"unknown"
#endif
#define MAX_KINDS	8
#define CRL_WARN_DAYS	7
#define CRL_CHECK_S	86400

struct admin {
	const struct admin_server *as;
	const struct admin_conf	*conf;
	struct evhttp		*http;
	SSL_CTX			*ctx;
	int			 port;
	time_t			 started;
	struct event		*crl_timer;
	char			 crl_warning[256];
	struct event		*drain_timer;
	int			 draining;
	time_t			 drain_deadline;
};

/* What one worker says of its links, filled on its thread. */
struct snap {
	struct evbuffer	*json;		/* /links: one object a line */
	const char	*kind[MAX_KINDS];
	uint64_t	 nkind[MAX_KINDS];
	uint64_t	 bytes_in, bytes_out;	/* links not closing */
	uint64_t	 unconfirmed;
	uint64_t	 links, online;
	uint32_t	 kick;		/* POST /kick: this code */
	unsigned	 kicked;
};
struct snaps {
	const struct admin_ops	*ops;
	int			 want_json;
	struct snap		 w[IOP_MAX_WORKERS];
};

static void	on_request(struct evhttp_request *, void *);
static struct bufferevent *tls_bev(struct event_base *, void *);
static int	allowed(struct admin *, struct evhttp_request *);
static int	loopback_host(const char *host);
static SSL_CTX	*tls_ctx(const struct admin_conf *, char *, size_t);
static void	snap_fn(struct iop_worker *, void *);
static int	snapshot(struct admin *, struct snaps *, int json,
		    uint32_t kick);
static void	snaps_free(struct snaps *);
static void	get_status(struct admin *, struct evbuffer *);
static void	get_links(struct admin *, struct evbuffer *, int lines);
static void	get_metrics(struct admin *, struct evbuffer *);
static int	post_kick(struct admin *, const char *, struct evbuffer *);
static int	post_drain(struct admin *, const char *, struct evbuffer *);
static void	drain_check(evutil_socket_t, short, void *);
static void	drain_fn(struct iop_worker *, void *);
static void	crl_check(evutil_socket_t, short, void *);
static int	query_get(const char *query, const char *key, char *out,
		    size_t len);

void
admin_json_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(b, "\\%c", ch);
		else if (ch < 0x20)
			evbuffer_add_printf(b, "\\u%04x", ch);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

/* Every address the name resolves to is a loopback one. */
static int
loopback_host(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *a;
	int ok = 1;

	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (a = res; a != NULL; a = a->ai_next) {
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)a->ai_addr;

			ok &= (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		} else if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *in6 =
			    (const void *)a->ai_addr;

			ok &= IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		} else
			ok = 0;
	}
	freeaddrinfo(res);
	return ok;
}

int
admin_check_conf(const struct admin_conf *c, char *err, size_t errlen)
{
	if (c->addr.host[0] == '\0')
		return 0;
	if (c->ca == NULL && (c->cert != NULL || c->key != NULL)) {
		snprintf(err, errlen, "admin-cert and admin-key need admin-ca "
		    "(client certificates)");
		return -1;
	}
	if (c->ca != NULL && (c->cert == NULL || c->key == NULL)) {
		snprintf(err, errlen, "admin-ca needs admin-cert and "
		    "admin-key");
		return -1;
	}
	if (c->ca == NULL && !loopback_host(c->addr.host)) {
		snprintf(err, errlen, "admin: %s is not a loopback address; "
		    "set admin-cert, admin-key and admin-ca for TLS with "
		    "client certificates", c->addr.host);
		return -1;
	}
	return 0;
}

/* The admin listener's own context: any CA the operator chooses. */
static SSL_CTX *
tls_ctx(const struct admin_conf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char e[200];

	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1) {
		snprintf(err, errlen, "admin TLS: %s",
		    tls_error_string(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return ctx;
}

static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	struct admin *a = arg;
	SSL *ssl = SSL_new(a->ctx);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* a is freed by admin_free(). */
struct admin *
admin_start(const struct admin_server *as, const struct admin_conf *c,
    char *err, size_t errlen)
{
	struct admin *a = calloc(1, sizeof(*a));
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct timeval now = { 0, 0 };

	if (a == NULL) {
		snprintf(err, errlen, "admin: no memory");
		return NULL;
	}
	a->as = as;
	a->conf = c;
	a->started = time(NULL);
	if ((a->crl_timer = evtimer_new(as->base, crl_check, a)) == NULL ||
	    (a->drain_timer = event_new(as->base, -1, EV_PERSIST,
	    drain_check, a)) == NULL) {
		snprintf(err, errlen, "admin: no memory");
		goto fail;
	}
	evtimer_add(a->crl_timer, &now);
	if (c->addr.host[0] == '\0')
		return a;
	if (admin_check_conf(c, err, errlen) == -1)
		goto fail;
	if (c->ca != NULL && (a->ctx = tls_ctx(c, err, errlen)) == NULL)
		goto fail;
	if ((a->http = evhttp_new(as->base)) == NULL) {
		snprintf(err, errlen, "admin: evhttp_new failed");
		goto fail;
	}
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_max_body_size(a->http, 4096);
	evhttp_set_max_headers_size(a->http, 8192);	/* HARDENING.md */
	evhttp_set_timeout(a->http, 10);
	if (a->ctx != NULL)
		evhttp_set_bevcb(a->http, tls_bev, a);
	evhttp_set_gencb(a->http, on_request, a);
	if ((bs = evhttp_bind_socket_with_handle(a->http, c->addr.host,
	    (uint16_t)atoi(c->addr.port))) == NULL) {
		snprintf(err, errlen, "admin: cannot listen on %s port %s",
		    c->addr.host, c->addr.port);
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl) == 0)
		a->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	if (c->port_file != NULL && portfile_write(c->port_file, a->port, err,
	    errlen) == -1)
		goto fail;
	log_info("admin API on %s port %d (%s)", c->addr.host, a->port,
	    a->ctx != NULL ? "TLS, client certificates" : "loopback");
	return a;
fail:
	admin_free(a);
	return NULL;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->http != NULL)
		evhttp_free(a->http);
	if (a->crl_timer != NULL)
		event_free(a->crl_timer);
	if (a->drain_timer != NULL)
		event_free(a->drain_timer);
	SSL_CTX_free(a->ctx);
	free(a);
}

int
admin_port(const struct admin *a)
{
	return a != NULL ? a->port : 0;
}

/* TLS: a verified client certificate; plain: a loopback peer. */
static int
allowed(struct admin *a, struct evhttp_request *req)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port;

	if (con == NULL)
		return 0;
	if (a->ctx != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(
		    evhttp_connection_get_bufferevent(con));

		return ssl != NULL && SSL_get0_peer_certificate(ssl) != NULL &&
		    SSL_get_verify_result(ssl) == X509_V_OK;
	}
	evhttp_connection_get_peer(con, &addr, &port);
	return addr != NULL && (strncmp(addr, "127.", 4) == 0 ||
	    strcmp(addr, "::1") == 0 || strncmp(addr, "::ffff:127.", 11) == 0);
}

/* A query parameter's value (decoded).  0, or -1 when absent. */
static int
query_get(const char *query, const char *key, char *out, size_t len)
{
	struct evkeyvalq q = { 0 };
	const char *v;
	int rc = -1;

	TAILQ_INIT(&q);
	if (query == NULL || evhttp_parse_query_str(query, &q) == -1)
		goto out;
	if ((v = evhttp_find_header(&q, key)) != NULL &&
	    snprintf(out, len, "%s", v) < (int)len)
		rc = 0;
out:
	evhttp_clear_headers(&q);
	return rc;
}

static void
reply(struct evhttp_request *req, int code, const char *type,
    struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, code, code < 300 ? "OK" : code == 404 ?
	    "Not Found" : code == 403 ? "Forbidden" : code == 405 ?
	    "Method Not Allowed" : code == 503 ? "Service Unavailable" :
	    "Bad Request", body);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	const char *query = u ? evhttp_uri_get_query(u) : NULL;
	int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	const char *json = "application/json";
	struct evbuffer *b = evbuffer_new();
	char fmt[16];
	int code = 200;

	if (b == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	if (path == NULL)
		path = "/";
	if (!allowed(a, req)) {
		code = 403;
		evbuffer_add_printf(b, "{\"error\":\"forbidden\"}\n");
	} else if (!post && strcmp(path, "/status") == 0)
		get_status(a, b);
	else if (!post && strcmp(path, "/links") == 0) {
		int lines = query_get(query, "format", fmt, sizeof(fmt)) == 0 &&
		    strcmp(fmt, "lines") == 0;

		get_links(a, b, lines);
		if (lines)
			json = "application/x-ndjson";
	} else if (!post && strcmp(path, "/metrics") == 0) {
		get_metrics(a, b);
		json = "text/plain; version=0.0.4";
	} else if (post && strcmp(path, "/kick") == 0)
		code = post_kick(a, query, b);
	else if (post && strcmp(path, "/reload") == 0) {
		a->as->ops->reload(a->as->srv);
		evbuffer_add_printf(b, "{\"reloaded\":true}\n");
	} else if (post && strcmp(path, "/drain") == 0)
		code = post_drain(a, query, b);
	else if (post || (code = a->as->ops->get(a->as->srv, path, b)) == 0) {
		code = 404;
		evbuffer_add_printf(b, "{\"error\":\"no such endpoint\"}\n");
	}
	reply(req, code, json, b);
	evbuffer_free(b);
}

static const char *
state_name(enum conn_state s)
{
	return s == C_HANDSHAKE ? "handshake" : s == C_LOGIN ? "login" :
	    s == C_ONLINE ? "online" : "closing";
}

/* The peer's address of a link, "" when unknown. */
static void
peer_addr(const struct conn *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct bufferevent *u;
	evutil_socket_t fd = -1;
	char host[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (c->bev == NULL)
		return;
	if ((fd = bufferevent_getfd(c->bev)) < 0 &&
	    (u = bufferevent_get_underlying(c->bev)) != NULL)
		fd = bufferevent_getfd(u);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL,
	    0, NI_NUMERICHOST) != 0)
		return;
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    host, (unsigned)ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port));
}

static void
link_json(const struct admin_ops *ops, const struct conn *c, int idx,
    struct evbuffer *b)
{
	char addr[64];
	uint64_t in, out;
	long unc = ops->unconfirmed(c);
	int64_t login = metrics_login_time(c);

	peer_addr(c, addr, sizeof(addr));
	metrics_link_bytes(c, &in, &out);
	evbuffer_add_printf(b, "{\"code\":\"%08X\",\"kind\":\"%s\",\"state\":"
	    "\"%s\",\"id\":%u,\"worker\":%d,\"address\":", c->code,
	    ops->kind(c), state_name(c->state), c->id, idx);
	admin_json_str(b, addr);
	if (login != 0)
		evbuffer_add_printf(b, ",\"login_time\":%lld", (long long)login);
	else
		evbuffer_add_printf(b, ",\"login_time\":null");
	evbuffer_add_printf(b, ",\"msgs_in\":%llu,\"msgs_out\":%llu,"
	    "\"bytes_in\":%llu,\"bytes_out\":%llu,\"unconfirmed\":",
	    (unsigned long long)c->msgs_in, (unsigned long long)c->msgs_out,
	    (unsigned long long)in, (unsigned long long)out);
	if (unc < 0)
		evbuffer_add_printf(b, "null}\n");
	else
		evbuffer_add_printf(b, "%ld}\n", unc);
}

/* On each worker's thread: its links, counted (and listed, kicked). */
static void
snap_fn(struct iop_worker *io, void *arg)
{
	struct snaps *ss = arg;
	struct snap *sn = &ss->w[io->idx];
	struct connset *set = ss->ops->set(io);
	struct conn *c, *next;

	for (c = set->links; c != NULL; c = next) {
		next = c->next;
		sn->links++;
		if (c->state == C_CLOSING)
			continue;
		if (sn->kick != 0 && c->code == sn->kick &&
		    c->state != C_HANDSHAKE) {
			sn->kicked++;
			conn_close(c, "kicked by the administrator");
			continue;
		}
		if (c->state == C_ONLINE) {
			const char *k = ss->ops->kind(c);
			int i;
			long u = ss->ops->unconfirmed(c);
			uint64_t in, out;

			sn->online++;
			for (i = 0; i < MAX_KINDS && sn->kind[i] != NULL &&
			    strcmp(sn->kind[i], k) != 0; i++)
				;
			if (i < MAX_KINDS) {
				sn->kind[i] = k;
				sn->nkind[i]++;
			}
			if (u > 0)
				sn->unconfirmed += (uint64_t)u;
			metrics_link_bytes(c, &in, &out);
			sn->bytes_in += in;
			sn->bytes_out += out;
		}
		if (sn->json != NULL)
			link_json(ss->ops, c, io->idx, sn->json);
	}
}

/* Returns how many workers answered; the caller frees with snaps_free. */
static int
snapshot(struct admin *a, struct snaps *ss, int json, uint32_t kick)
{
	struct iopool *p = a->as->pool;

	memset(ss, 0, sizeof(*ss));
	ss->ops = a->as->ops;
	for (int i = 0; i < p->n; i++) {
		ss->w[i].kick = kick;
		if (json && (ss->w[i].json = evbuffer_new()) == NULL)
			return 0;
	}
	return iopool_call_all(p, snap_fn, ss, ADMIN_CALL_MS);
}

static void
snaps_free(struct snaps *ss)
{
	for (int i = 0; i < IOP_MAX_WORKERS; i++)
		if (ss->w[i].json != NULL)
			evbuffer_free(ss->w[i].json);
}

static void
get_status(struct admin *a, struct evbuffer *b)
{
	const struct admin_server *as = a->as;
	struct snaps *ss = malloc(sizeof(*ss));
	uint64_t links = 0, online = 0;
	char host[256];
	time_t next;
	int crl;

	if (ss != NULL) {
		snapshot(a, ss, 0, 0);
		for (int i = 0; i < as->pool->n; i++) {
			links += ss->w[i].links;
			online += ss->w[i].online;
		}
		snaps_free(ss);
		free(ss);
	}
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	evbuffer_add_printf(b, "{\"server\":\"%s\",\"code\":\"%08X\","
	    "\"node\":", as->name, as->code);
	admin_json_str(b, host);
	evbuffer_add_printf(b, ",\"version\":\"%s\",\"pid\":%ld,"
	    "\"uptime\":%lld,\"started\":%lld,\"listeners\":[{\"name\":"
	    "\"links\",\"address\":", NAP_VERSION, (long)getpid(),
	    (long long)(time(NULL) - a->started), (long long)a->started);
	admin_json_str(b, as->listen->host);
	evbuffer_add_printf(b, ",\"port\":%d,\"tls\":true},{\"name\":"
	    "\"admin\",\"address\":", as->port);
	admin_json_str(b, a->conf->addr.host);
	evbuffer_add_printf(b, ",\"port\":%d,\"tls\":%s}],\"counts\":{"
	    "\"workers\":%d,\"links\":%llu,\"online\":%llu", a->port,
	    a->ctx != NULL ? "true" : "false", as->pool->n,
	    (unsigned long long)links, (unsigned long long)online);
	as->ops->status(as->srv, b);
	evbuffer_add_printf(b, "},\"draining\":%s,\"crl_next_update\":",
	    a->draining ? "true" : "false");
	crl = as->crl != NULL ? tls_crl_next_update(as->crl, &next) : 1;
	if (crl == 0)
		evbuffer_add_printf(b, "%lld", (long long)next);
	else
		evbuffer_add_printf(b, "null");
	evbuffer_add_printf(b, ",\"crl_warning\":");
	if (a->crl_warning[0] != '\0')
		admin_json_str(b, a->crl_warning);
	else
		evbuffer_add_printf(b, "null");
	evbuffer_add_printf(b, "}\n");
}

static void
get_links(struct admin *a, struct evbuffer *b, int lines)
{
	struct snaps *ss = malloc(sizeof(*ss));
	int first = 1;

	if (!lines)
		evbuffer_add_printf(b, "{\"links\":[\n");
	if (ss != NULL) {
		snapshot(a, ss, 1, 0);
		for (int i = 0; i < a->as->pool->n; i++) {
			struct evbuffer *j = ss->w[i].json;
			char *line;
			size_t n;

			while (j != NULL && (line = evbuffer_readln(j, &n,
			    EVBUFFER_EOL_LF)) != NULL) {
				evbuffer_add_printf(b, "%s%s\n", !lines &&
				    !first ? "," : "", line);
				first = 0;
				free(line);
			}
		}
		snaps_free(ss);
		free(ss);
	}
	if (!lines)
		evbuffer_add_printf(b, "]}\n");
}

static void
gauge(struct evbuffer *b, const char *name, const char *help, double v)
{
	metrics_head(b, name, "gauge", help);
	evbuffer_add_printf(b, "%s %.17g\n", name, v);
}

static void
get_metrics(struct admin *a, struct evbuffer *b)
{
	const struct admin_server *as = a->as;
	struct snaps *ss = malloc(sizeof(*ss));
	uint64_t in = 0, out = 0, unc = 0;
	const char *kinds[MAX_KINDS] = { 0 };
	uint64_t nk[MAX_KINDS] = { 0 };
	time_t next;

	metrics_write(b);
	if (ss != NULL) {
		snapshot(a, ss, 0, 0);
		for (int i = 0; i < as->pool->n; i++) {
			const struct mx_worker *m = metrics_worker(i);
			struct snap *sn = &ss->w[i];

			in += sn->bytes_in;
			out += sn->bytes_out;
			if (m != NULL) {
				in += atomic_load(&m->closed_bytes_in);
				out += atomic_load(&m->closed_bytes_out);
			}
			unc += sn->unconfirmed;
			for (int k = 0; k < MAX_KINDS && sn->kind[k]; k++) {
				int j = 0;

				while (j < MAX_KINDS && kinds[j] != NULL &&
				    strcmp(kinds[j], sn->kind[k]) != 0)
					j++;
				if (j < MAX_KINDS) {
					kinds[j] = sn->kind[k];
					nk[j] += sn->nkind[k];
				}
			}
		}
		snaps_free(ss);
		free(ss);
	}
	metrics_head(b, "nap_bytes_total", "counter",
	    "TLS bytes on the links, by direction");
	evbuffer_add_printf(b, "nap_bytes_total{direction=\"in\"} %llu\n"
	    "nap_bytes_total{direction=\"out\"} %llu\n",
	    (unsigned long long)in, (unsigned long long)out);
	metrics_head(b, "nap_links", "gauge", "logged-in links by kind");
	for (int j = 0; j < MAX_KINDS && kinds[j] != NULL; j++)
		evbuffer_add_printf(b, "nap_links{kind=\"%s\"} %llu\n",
		    kinds[j], (unsigned long long)nk[j]);
	gauge(b, "nap_unconfirmed", "messages written to links and not "
	    "confirmed yet", (double)unc);
	if (as->audit != NULL) {
		struct audit_stat st;

		audit_stats(as->audit, &st);
		gauge(b, "nap_audit_queued_bytes", "audit records waiting for "
		    "the writer (its lag)", (double)st.queued);
		metrics_head(b, "nap_audit_records_total", "counter",
		    "audit records by outcome");
		evbuffer_add_printf(b, "nap_audit_records_total{outcome="
		    "\"written\"} %llu\nnap_audit_records_total{outcome="
		    "\"lost\"} %llu\n", (unsigned long long)st.written,
		    (unsigned long long)st.lost);
		gauge(b, "nap_audit_accepting", "1 unless the audit log "
		    "stopped accepting (§8)", st.accepting ? 1 : 0);
	}
	if (as->crl != NULL && tls_crl_next_update(as->crl, &next) == 0)
		gauge(b, "nap_crl_next_update_seconds", "the CRL's nextUpdate, "
		    "Unix time", (double)next);
	gauge(b, "nap_start_time_seconds", "when the server started, Unix "
	    "time", (double)a->started);
	gauge(b, "nap_draining", "1 while a drain runs", a->draining);
	as->ops->metrics(as->srv, b);
}

static int
post_kick(struct admin *a, const char *query, struct evbuffer *b)
{
	struct snaps *ss;
	char v[16], *end;
	unsigned long code;
	unsigned kicked = 0;

	if (query_get(query, "code", v, sizeof(v)) == -1 ||
	    strlen(v) != 8 || (code = strtoul(v, &end, 16), *end != '\0') ||
	    code == 0) {
		evbuffer_add_printf(b, "{\"error\":\"code=RRRRNNNN wanted\"}\n");
		return 400;
	}
	if ((ss = malloc(sizeof(*ss))) == NULL)
		return 503;
	snapshot(a, ss, 0, (uint32_t)code);
	for (int i = 0; i < a->as->pool->n; i++)
		kicked += ss->w[i].kicked;
	snaps_free(ss);
	free(ss);
	evbuffer_add_printf(b, "{\"code\":\"%08lX\",\"kicked\":%u}\n", code,
	    kicked);
	if (kicked > 0)
		log_info("admin: %08lX kicked (%u links)", code, kicked);
	return kicked > 0 ? 200 : 404;
}

static void
drain_fn(struct iop_worker *io, void *arg)
{
	((struct admin *)arg)->as->ops->drain(io);
}

static void
count_fn(struct iop_worker *io, void *arg)
{
	((size_t *)arg)[io->idx] = io->nlinks;
}

/* §12 drain: no more logins; every link told and closed; then exit. */
static int
post_drain(struct admin *a, const char *query, struct evbuffer *b)
{
	struct timeval quarter = { 0, 250000 };
	char v[16], *end;
	long s = ADMIN_DRAIN_DEFAULT;

	if (query_get(query, "deadline", v, sizeof(v)) == 0 &&
	    ((s = strtol(v, &end, 10)), *end != '\0' || s < 0 || s > 86400)) {
		evbuffer_add_printf(b, "{\"error\":\"deadline=SECONDS "
		    "wanted\"}\n");
		return 400;
	}
	if (!a->draining) {
		a->draining = 1;
		a->drain_deadline = time(NULL) + s;
		log_info("admin: draining, exit in at most %ld s", s);
		iopool_hold_accept(a->as->pool, 1);
		iopool_call_all(a->as->pool, drain_fn, a,
		    ADMIN_CALL_MS);
		event_add(a->drain_timer, &quarter);
	}
	evbuffer_add_printf(b, "{\"draining\":true,\"deadline\":%lld}\n",
	    (long long)a->drain_deadline);
	return 202;
}

/* Exits the main loop (as SIGTERM does) once no link is left. */
static void
drain_check(evutil_socket_t fd, short ev, void *arg)
{
	struct admin *a = arg;
	size_t n[IOP_MAX_WORKERS] = { 0 }, left = 0;
	int answered;

	(void)fd;
	(void)ev;
	answered = iopool_call_all(a->as->pool, count_fn, n, ADMIN_CALL_MS);
	for (int i = 0; i < a->as->pool->n; i++)
		left += n[i];
	if ((answered == a->as->pool->n && left == 0) ||
	    time(NULL) >= a->drain_deadline) {
		log_info("admin: drained (%zu links left), stopping", left);
		event_del(a->drain_timer);
		event_base_loopexit(a->as->base, NULL);
	}
}

/* Once a day: a warning from CRL_WARN_DAYS before the CRL expires. */
static void
crl_check(evutil_socket_t fd, short ev, void *arg)
{
	struct admin *a = arg;
	struct timeval day = { CRL_CHECK_S, 0 };

	(void)fd;
	(void)ev;
	a->crl_warning[0] = '\0';
	if (a->as->crl != NULL && tls_crl_expiry_warning(a->as->crl,
	    time(NULL), CRL_WARN_DAYS, a->crl_warning,
	    sizeof(a->crl_warning)) == 1)
		log_warnx("%s", a->crl_warning);
	evtimer_add(a->crl_timer, &day);
}
