/*
 * audit.c - the audit writer of DESIGN.md §8: the bounded queue the I/O
 * threads append to, and the writer thread that drains it in batches.
 * Formatting, hashing, files and rotation are in audit_file.c.
 *
 * Why a single mutex and a buffer swap: an I/O thread's cost is one
 * lock, one clock read and one memcpy of the message; the writer takes
 * the whole queue at once (pointer swap), so the lock is never held
 * across formatting, hashing or I/O, and records keep their queue order,
 * which is also their time order (the time is read under the lock).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_internal.h"
#include "clock.h"
#include "log.h"

static const char *const verdicts[AUDIT_NVERDICTS] = {
	"routed", "delivered", "stored", "confirmed", "expired", "refused",
};

static int	conf_copy(struct audit *, const struct audit_conf *, char *,
		    size_t);
static void	enqueue(struct audit *, void *item, size_t isize,
		    const uint8_t *body, size_t blen);
static void	*writer_main(void *);
static void	writer_batch(struct audit *);
static void	free_all(struct audit *);

const char *
audit_verdict_name(enum audit_verdict v)
{
	return (unsigned)v < AUDIT_NVERDICTS ? verdicts[v] : NULL;
}

/* ---- open and close --------------------------------------------------- */

static int
conf_copy(struct audit *a, const struct audit_conf *c, char *err,
    size_t errlen)
{
	if (c->path == NULL || *c->path == '\0') {
		snprintf(err, errlen, "audit: no log path");
		return -1;
	}
	if (c->sync == AUDIT_SYNC_INTERVAL && c->sync_ms < 1) {
		snprintf(err, errlen, "audit-sync: interval below 1 ms");
		return -1;
	}
	if (c->header_only != NULL && *c->header_only != '\0' &&
	    audit_ranges_parse(c->header_only, &a->hdr_only, err,
	    errlen) == -1)
		return -1;
	a->path = strdup(c->path);
	a->inst = strdup(c->instance ? c->instance : "");
	if (a->path == NULL || a->inst == NULL) {
		snprintf(err, errlen, "audit: no memory");
		return -1;
	}
	a->server = c->server_code;
	a->rotate_bytes = c->rotate_bytes;
	a->rotate_s = c->rotate_seconds;
	a->sync = c->sync;
	a->sync_ms = c->sync_ms;
	a->on_full = c->on_full;
	a->queue_cap = c->queue_cap ? c->queue_cap : AUDIT_DEFAULT_QUEUE;
	return 0;
}

/* The chain MAC from the key file (or none), and the body digest. */
static int
macs_new(struct audit *a, const char *key_file, char *err, size_t errlen)
{
	uint8_t *key = NULL;
	size_t klen = 0;

	if (key_file != NULL && audit_key_load(key_file, &key, &klen, err,
	    errlen) == -1)
		return -1;
	a->mac = audit_mac_new(key, klen);
	a->digest = audit_mac_new(NULL, 0);
	audit_key_free(key, klen);
	if (a->mac == NULL || a->digest == NULL) {
		snprintf(err, errlen, "audit: cannot set up SHA-256");
		return -1;
	}
	return 0;
}

struct audit *
audit_open(const struct audit_conf *c, char *err, size_t errlen)
{
	struct audit *a;
	pthread_condattr_t ca;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "audit: no memory");
		return NULL;
	}
	a->fd = -1;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&a->accepting, true);
	if (conf_copy(a, c, err, errlen) == -1 ||
	    macs_new(a, c->key_file, err, errlen) == -1 ||
	    audit_file_open(a, c->key_file != NULL, err, errlen) == -1)
		goto fail;
	a->started = true;	/* before the thread reads it */
	if (pthread_create(&a->tid, NULL, writer_main, a) != 0) {
		a->started = false;
		snprintf(err, errlen, "audit: cannot start the writer thread");
		goto fail;
	}
	return a;
fail:
	free_all(a);
	return NULL;
}

static void
free_all(struct audit *a)
{
	audit_file_close(a);
	audit_mac_free(a->mac);
	audit_mac_free(a->digest);
	free(a->q.p);
	free(a->batch.p);
	free(a->out.p);
	free(a->path);
	free(a->inst);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void
audit_close(struct audit *a, struct audit_stat *final)
{
	if (final != NULL)
		memset(final, 0, sizeof(*final));
	if (a == NULL)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->tid, NULL);
	}
	audit_file_close(a);
	if (final != NULL)
		audit_stats(a, final);
	free_all(a);
}

/* ---- the calling threads' side ------------------------------------------ */

/*
 * Appends one item (and its body) to the queue, or counts it lost.  The
 * writer is woken only when the queue was empty: it drains everything
 * that arrived meanwhile in the same batch.
 */
static void
enqueue(struct audit *a, void *item, size_t isize, const uint8_t *body,
    size_t blen)
{
	struct qhdr *hd = item;
	struct timespec ts;
	size_t need = (isize + blen + 7) & ~(size_t)7;
	bool wake;

	pthread_mutex_lock(&a->mu);
	if (a->q.len + need > a->q.cap) {
		size_t cap = a->q.cap ? a->q.cap : 65536;
		uint8_t *p;

		while (cap < a->q.len + need && cap < a->queue_cap)
			cap *= 2;
		if (cap > a->queue_cap)
			cap = a->queue_cap;
		if (a->q.len + need > cap ||
		    (p = realloc(a->q.p, cap)) == NULL) {
			a->qlost++;
			atomic_fetch_add(&a->n_lost, 1);
			if (a->on_full == AUDIT_FULL_STOP_ACCEPTING)
				atomic_store(&a->accepting, false);
			pthread_mutex_unlock(&a->mu);
			return;
		}
		a->q.p = p;
		a->q.cap = cap;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	hd->t_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	hd->size = (uint32_t)need;
	memcpy(a->q.p + a->q.len, item, isize);
	if (blen > 0)
		memcpy(a->q.p + a->q.len + isize, body, blen);
	wake = a->q.len == 0;
	a->q.len += need;
	pthread_mutex_unlock(&a->mu);
	if (wake)
		pthread_cond_signal(&a->cv);
}

void
audit_msg(struct audit *a, enum audit_hop hop, uint32_t link_code,
    enum audit_verdict v, int code, const struct env_header *h,
    const uint8_t *body, size_t len)
{
	struct qmsg m;

	if (a == NULL)
		return;
	if (len > ENV_MAX_FRAME_LIMIT)		/* never a §2 frame */
		len = 0;
	memset(&m, 0, sizeof(m));
	m.hd.kind = QI_MSG;
	m.hop = (uint8_t)hop;
	m.verdict = (uint8_t)v;
	m.code = code;
	m.link = link_code;
	m.len = (uint32_t)len;
	if (h != NULL) {
		m.has_h = 1;
		m.h = *h;
	}
	enqueue(a, &m, sizeof(m), body, len);
}

void
audit_session(struct audit *a, uint32_t code, const char *session,
    bool login, const char *reason, const struct audit_counts *c)
{
	struct qsess s;

	if (a == NULL)
		return;
	memset(&s, 0, sizeof(s));
	s.hd.kind = QI_SESS;
	s.code = code;
	s.login = login;
	snprintf(s.session, sizeof(s.session), "%s", session ? session : "");
	snprintf(s.reason, sizeof(s.reason), "%s", reason ? reason : "");
	if (c != NULL) {
		s.counts = *c;
		if (s.counts.n > AUDIT_COUNTS_MAX)
			s.counts.n = AUDIT_COUNTS_MAX;
	}
	enqueue(a, &s, sizeof(s), NULL, 0);
}

void
audit_counts_add(struct audit_counts *c, uint32_t type, bool out,
    size_t bytes)
{
	struct audit_count *e = NULL;

	for (size_t i = 0; i < c->n && e == NULL; i++)
		if (c->c[i].type == type)
			e = &c->c[i];
	if (e == NULL && c->n < AUDIT_COUNTS_MAX - 1) {
		e = &c->c[c->n++];
		memset(e, 0, sizeof(*e));
		e->type = type;
	}
	if (e == NULL) {	/* the last slot gathers every other type */
		e = &c->c[AUDIT_COUNTS_MAX - 1];
		if (c->n < AUDIT_COUNTS_MAX) {
			memset(e, 0, sizeof(*e));
			c->n = AUDIT_COUNTS_MAX;
		}
		e->type = AUDIT_TYPE_OTHER;
	}
	if (out) {
		e->msgs_out++;
		e->bytes_out += bytes;
	} else {
		e->msgs_in++;
		e->bytes_in += bytes;
	}
}

bool
audit_accepting(const struct audit *a)
{
	return a == NULL || atomic_load(&a->accepting);
}

void
audit_stats(struct audit *a, struct audit_stat *st)
{
	memset(st, 0, sizeof(*st));
	if (a == NULL)
		return;
	st->written = atomic_load(&a->n_written);
	st->lost = atomic_load(&a->n_lost);
	st->rotated = atomic_load(&a->n_rotated);
	st->bytes = atomic_load(&a->n_bytes);
	st->accepting = atomic_load(&a->accepting);
	pthread_mutex_lock(&a->mu);
	st->queued = a->q.len;
	memcpy(st->last_error, a->last_error, sizeof(st->last_error));
	pthread_mutex_unlock(&a->mu);
}

/* ---- the writer thread -------------------------------------------------- */

void
audit_set_error(struct audit *a, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&a->mu);
	va_start(ap, fmt);
	vsnprintf(a->last_error, sizeof(a->last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&a->mu);
}

/* Records that will never be on disk: counted, and noted by <lost>. */
void
audit_lose(struct audit *a, uint64_t n, const char *why)
{
	if (n == 0)
		return;
	atomic_fetch_add(&a->n_lost, n);
	a->wlost += n;
	snprintf(a->wlost_why, sizeof(a->wlost_why), "%s", why);
}

/* Sleeps AUDIT_RETRY_MS unless asked to stop; false when stopping. */
bool
audit_wait_retry(struct audit *a)
{
	struct timespec ts;
	bool stop;

	mono_after(&ts, AUDIT_RETRY_MS);
	pthread_mutex_lock(&a->mu);
	if (!a->stop)
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
	stop = a->stop;
	pthread_mutex_unlock(&a->mu);
	return !stop;
}

/* Formats and writes one batch (the queue taken by writer_main). */
static void
writer_batch(struct audit *a)
{
	size_t off = 0;

	while (off + sizeof(struct qhdr) <= a->batch.len) {
		const struct qhdr *hd = (const void *)(a->batch.p + off);

		audit_file_item(a, hd);
		off += hd->size;
		if (a->out.len >= AUDIT_FLUSH_AT)
			audit_file_flush(a);
	}
	audit_file_flush(a);
	a->batch.len = 0;
}

static void
wait_work(struct audit *a)
{
	struct timespec ts;
	long ms = a->sync == AUDIT_SYNC_INTERVAL && a->sync_ms < AUDIT_TICK_MS
	    ? a->sync_ms : AUDIT_TICK_MS;

	mono_after(&ts, ms);
	pthread_cond_timedwait(&a->cv, &a->mu, &ts);
}

static void *
writer_main(void *arg)
{
	struct audit *a = arg;
	struct abuf t;
	bool stop = false;

	pthread_mutex_lock(&a->mu);
	while (!stop) {
		if (a->q.len == 0 && a->qlost == 0 && !a->stop)
			wait_work(a);
		stop = a->stop && a->q.len == 0;
		t = a->q;		/* take the whole queue */
		a->q = a->batch;
		a->batch = t;
		if (a->qlost > 0) {
			a->wlost += a->qlost;
			snprintf(a->wlost_why, sizeof(a->wlost_why),
			    "queue full");
			a->qlost = 0;
		}
		pthread_mutex_unlock(&a->mu);
		writer_batch(a);
		audit_file_tick(a);
		if (!a->disk_bad)
			atomic_store(&a->accepting, true);
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- configuration words ------------------------------------------------ */

int
audit_parse_sync(const char *s, enum audit_sync *sync, long *ms, char *err,
    size_t errlen)
{
	char *end;
	long v;

	if (strcmp(s, "every") == 0)
		*sync = AUDIT_SYNC_EVERY;
	else if (strcmp(s, "never") == 0)
		*sync = AUDIT_SYNC_NEVER;
	else {
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || end == s || (*end != '\0' &&
		    strcmp(end, "ms") != 0) || v < 1 || v > 3600000) {
			snprintf(err, errlen, "audit-sync: '%s' is not every, "
			    "never or 1..3600000 (ms)", s);
			return -1;
		}
		*sync = AUDIT_SYNC_INTERVAL;
		*ms = v;
	}
	return 0;
}

int
audit_parse_full(const char *s, enum audit_full *full, char *err,
    size_t errlen)
{
	if (strcmp(s, "keep-routing") == 0)
		*full = AUDIT_FULL_KEEP_ROUTING;
	else if (strcmp(s, "stop-accepting") == 0)
		*full = AUDIT_FULL_STOP_ACCEPTING;
	else {
		snprintf(err, errlen, "audit-on-full: '%s' is not "
		    "keep-routing or stop-accepting", s);
		return -1;
	}
	return 0;
}
