/*
 * metrics.c - the counters of the admin API (metrics.h, DESIGN.md §12).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/bio.h>

#include "metrics.h"

static int	w_identified(struct conn *);
static int	w_frame(struct conn *, const uint8_t *, size_t);
static int	w_bad_length(struct conn *, uint32_t);
static void	w_closing(struct conn *, enum conn_state, const char *);
static void	w_free(struct conn *);
static void	observe(const struct pipe_ctx *, enum pipe_verdict, int64_t,
		    void *);
static void	hist_add(struct mx_hist *, int64_t ns);
static void	refusal(struct mx_worker *, const char *why);
static int64_t	now_ns(void);
static void	metrics_label(struct evbuffer *, const char *v);

static const uint64_t bucket_us[MX_NBUCKETS] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000,
};

/* One server per process: its counters and the callbacks it wraps. */
static struct {
	int			 n;
	size_t			 login_off;
	struct mx_worker	*w;
	const struct conn_ops	*orig;
	struct conn_ops		 wrap;
} mx;

/* Only the owning worker writes a counter: load, add, store. */
#define MX_ADD(f, v)	atomic_store_explicit(&(f),			\
	atomic_load_explicit(&(f), memory_order_relaxed) + (v),		\
	memory_order_relaxed)
#define MX_GET(f)	atomic_load_explicit(&(f), memory_order_relaxed)

/* mx.w is freed by metrics_free(). */
int
metrics_init(int n, size_t login_off)
{
	if ((mx.w = calloc((size_t)n, sizeof(*mx.w))) == NULL)
		return -1;
	mx.n = n;
	mx.login_off = login_off;
	mx.wrap = (struct conn_ops){ w_identified, w_frame, w_bad_length,
	    w_closing, w_free };
	return 0;
}

void
metrics_free(void)
{
	free(mx.w);
	mx.w = NULL;
	mx.n = 0;
}

const struct mx_worker *
metrics_worker(int idx)
{
	return idx >= 0 && idx < mx.n ? &mx.w[idx] : NULL;
}

void
metrics_wrap(struct connset *set)
{
	if (mx.w == NULL)
		return;
	mx.orig = set->ops;	/* every worker of a server has the same */
	set->ops = &mx.wrap;
}

void
metrics_observe(struct pipe *p)
{
	if (mx.w != NULL)
		pipe_observe(p, observe, NULL);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct mx_worker *
wk(const struct conn *c)
{
	return &mx.w[c->set->io->idx];
}

static int64_t *
login_at(struct conn *c)
{
	return (int64_t *)(void *)((char *)c + mx.login_off);
}

int64_t
metrics_login_time(const struct conn *c)
{
	int64_t t;

	memcpy(&t, (const char *)c + mx.login_off, sizeof(t));
	return t;
}

static void
hist_add(struct mx_hist *h, int64_t ns)
{
	uint64_t us = ns < 0 ? 0 : (uint64_t)ns / 1000;
	int i = 0;

	while (i < MX_NBUCKETS && us > bucket_us[i])
		i++;
	MX_ADD(h->b[i], 1);
	MX_ADD(h->sum_ns, (uint64_t)(ns < 0 ? 0 : ns));
}

static int
w_identified(struct conn *c)
{
	int rc = mx.orig->identified(c);

	if (rc == 0)
		MX_ADD(wk(c)->handshakes_ok, 1);
	return rc;
}

/* The route latency: a frame in, until it was routed (§12). */
static int
w_frame(struct conn *c, const uint8_t *f, size_t len)
{
	struct mx_worker *m = wk(c);
	enum conn_state was = c->state;
	int64_t t0 = now_ns();
	int rc;

	rc = mx.orig->frame(c, f, len);
	MX_ADD(m->frames_in, 1);
	MX_ADD(m->frame_bytes_in, len);
	if (was == C_ONLINE)
		hist_add(&m->route, now_ns() - t0);
	else if (was == C_LOGIN && rc == 0 && c->state == C_ONLINE) {
		MX_ADD(m->logins, 1);
		*login_at(c) = (int64_t)time(NULL);
	}
	return rc;
}

static int
w_bad_length(struct conn *c, uint32_t len)
{
	return mx.orig->bad_length(c, len);
}

/* Reasons are the servers' fixed strings: a few distinct values. */
static void
refusal(struct mx_worker *m, const char *why)
{
	uint64_t n = MX_GET(m->nreasons);

	for (uint64_t i = 0; i < n; i++)
		if (strncmp(m->reasons[i].why, why, MX_REASON_LEN - 1) == 0) {
			MX_ADD(m->reasons[i].n, 1);
			return;
		}
	if (n == MX_REASONS) {
		MX_ADD(m->reasons[MX_REASONS].n, 1);
		return;
	}
	snprintf(m->reasons[n].why, MX_REASON_LEN, "%s", why);
	MX_ADD(m->reasons[n].n, 1);
	/* Release: a reader that sees the count sees the string. */
	atomic_store_explicit(&m->nreasons, n + 1, memory_order_release);
}

void
metrics_link_bytes(const struct conn *c, uint64_t *in, uint64_t *out)
{
	SSL *ssl = c->bev != NULL ? bufferevent_openssl_get_ssl(c->bev) :
	    NULL;

	*in = *out = 0;
	if (ssl == NULL)
		return;
	if (SSL_get_rbio(ssl) != NULL)
		*in = BIO_number_read(SSL_get_rbio(ssl));
	if (SSL_get_wbio(ssl) != NULL)
		*out = BIO_number_written(SSL_get_wbio(ssl));
}

static void
w_closing(struct conn *c, enum conn_state was, const char *why)
{
	struct mx_worker *m = wk(c);
	uint64_t in, out;

	if (was == C_HANDSHAKE)
		MX_ADD(m->handshakes_failed, 1);
	else if (was == C_LOGIN)
		refusal(m, why);
	else if (was == C_ONLINE)
		MX_ADD(m->logouts, 1);
	/* From now on the link is left out of the live sums (/metrics). */
	metrics_link_bytes(c, &in, &out);
	MX_ADD(m->closed_bytes_in, in);
	MX_ADD(m->closed_bytes_out, out);
	mx.orig->closing(c, was, why);
}

static void
w_free(struct conn *c)
{
	mx.orig->free(c);
}

/* pipe_ctx.link is the server's link, which begins with struct conn. */
static void
observe(const struct pipe_ctx *ctx, enum pipe_verdict v, int64_t ns,
    void *arg)
{
	const struct conn *c = ctx->link;
	struct mx_worker *m;
	int cls;

	(void)arg;
	if (c == NULL || c->set == NULL)
		return;
	m = wk(c);
	cls = ctx->h != NULL && ctx->h->type >= 1000 ? MX_APPLICATION :
	    MX_RESERVED;
	hist_add(&m->pipe, ns);
	switch (v) {
	case PIPE_PASS:
		MX_ADD(m->msgs[cls][MX_ROUTED], 1);
		break;
	case PIPE_ANSWERED:
		MX_ADD(m->msgs[cls][MX_ANSWERED], 1);
		break;
	case PIPE_REJECT:
		MX_ADD(m->msgs[cls][MX_REFUSED], 1);
		if (ctx->error > 0 && ctx->error < 1000)
			MX_ADD(m->refused_code[ctx->error], 1);
		break;
	}
}

void
metrics_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A label value, escaped (\\, \", \n). */
static void
metrics_label(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

/* Sums field f over the workers. */
#define SUM(f)	({ uint64_t s_ = 0;					\
	for (int i_ = 0; i_ < mx.n; i_++) s_ += MX_GET(mx.w[i_].f);	\
	s_; })

static void
write_hist(struct evbuffer *b, const char *name, const char *help,
    size_t off)
{
	uint64_t cum = 0, sum = 0;

	metrics_head(b, name, "histogram", help);
	for (int k = 0; k <= MX_NBUCKETS; k++) {
		for (int i = 0; i < mx.n; i++) {
			struct mx_hist *h = (struct mx_hist *)(void *)
			    ((char *)&mx.w[i] + off);

			cum += MX_GET(h->b[k]);
		}
		if (k < MX_NBUCKETS)
			evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n",
			    name, (double)bucket_us[k] / 1e6,
			    (unsigned long long)cum);
		else
			evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n",
			    name, (unsigned long long)cum);
	}
	for (int i = 0; i < mx.n; i++)
		sum += MX_GET(((struct mx_hist *)(void *)((char *)&mx.w[i] +
		    off))->sum_ns);
	evbuffer_add_printf(b, "%s_sum %.9f\n%s_count %llu\n", name,
	    (double)sum / 1e9, name, (unsigned long long)cum);
}

static void
write_messages(struct evbuffer *b)
{
	static const char *cls[MX_NCLASS] = { "reserved", "application" };
	static const char *vd[MX_NVERDICT] = { "routed", "answered",
	    "refused" };

	metrics_head(b, "nap_messages_total", "counter", "messages through "
	    "the pipe by type class (reserved < 1000 <= application) and "
	    "verdict");
	for (int c = 0; c < MX_NCLASS; c++)
		for (int v = 0; v < MX_NVERDICT; v++)
			evbuffer_add_printf(b, "nap_messages_total{class=\"%s\","
			    "verdict=\"%s\"} %llu\n", cls[c], vd[v],
			    (unsigned long long)SUM(msgs[c][v]));
	metrics_head(b, "nap_messages_refused_total", "counter",
	    "messages refused by the pipe, by error code");
	for (int code = 0; code < 1000; code++) {
		uint64_t n = SUM(refused_code[code]);

		if (n != 0)
			evbuffer_add_printf(b, "nap_messages_refused_total"
			    "{code=\"%d\"} %llu\n", code,
			    (unsigned long long)n);
	}
}

static void
write_logins(struct evbuffer *b)
{
	metrics_head(b, "nap_logins_total", "counter", "successful Logins");
	evbuffer_add_printf(b, "nap_logins_total %llu\n",
	    (unsigned long long)SUM(logins));
	metrics_head(b, "nap_logouts_total", "counter",
	    "logged-in links closed");
	evbuffer_add_printf(b, "nap_logouts_total %llu\n",
	    (unsigned long long)SUM(logouts));
	metrics_head(b, "nap_login_refusals_total", "counter",
	    "links closed after the handshake and before a Login succeeded, "
	    "by reason");
	for (int i = 0; i < mx.n; i++) {
		struct mx_worker *m = &mx.w[i];
		uint64_t n = atomic_load_explicit(&m->nreasons,
		    memory_order_acquire);

		for (uint64_t k = 0; k <= MX_REASONS; k++) {
			if (k >= n && k != MX_REASONS)
				continue;
			if (k == MX_REASONS && MX_GET(m->reasons[k].n) == 0)
				continue;
			/* One line per worker and reason: Prometheus sums
			 * equal label sets only per line, so add worker. */
			evbuffer_add_printf(b, "nap_login_refusals_total{"
			    "worker=\"%d\",reason=\"", i);
			metrics_label(b, k == MX_REASONS ? "other" :
			    m->reasons[k].why);
			evbuffer_add_printf(b, "\"} %llu\n",
			    (unsigned long long)MX_GET(m->reasons[k].n));
		}
	}
	metrics_head(b, "nap_handshakes_total", "counter",
	    "TLS handshakes by result (failed: no or refused certificate)");
	evbuffer_add_printf(b, "nap_handshakes_total{result=\"ok\"} %llu\n"
	    "nap_handshakes_total{result=\"failed\"} %llu\n",
	    (unsigned long long)SUM(handshakes_ok),
	    (unsigned long long)SUM(handshakes_failed));
}

void
metrics_write(struct evbuffer *b)
{
	if (mx.w == NULL)
		return;
	write_messages(b);
	metrics_head(b, "nap_frames_received_total", "counter",
	    "whole frames received on links");
	evbuffer_add_printf(b, "nap_frames_received_total %llu\n",
	    (unsigned long long)SUM(frames_in));
	metrics_head(b, "nap_frame_bytes_received_total", "counter",
	    "bytes of whole frames received on links");
	evbuffer_add_printf(b, "nap_frame_bytes_received_total %llu\n",
	    (unsigned long long)SUM(frame_bytes_in));
	write_logins(b);
	write_hist(b, "nap_route_latency_seconds", "from a frame in to its "
	    "routing done, on the link's thread",
	    offsetof(struct mx_worker, route));
	write_hist(b, "nap_pipe_latency_seconds", "time in the message "
	    "pipe (gateway, transformer, inner spy)",
	    offsetof(struct mx_worker, pipe));
}
