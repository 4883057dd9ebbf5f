/*
 * store.c - the store thread of nap-domain (store.h): a queue of
 * requests from the I/O threads, carried out in one transaction per
 * batch (group commit), and the answers sent back through inboxes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "log.h"
#include "storedb.h"

enum sreq_kind {
	SR_PUT = 1, SR_DELETE, SR_RETURN, SR_FETCH, SR_SESSION, SR_HELD
};

/* A request in the queue, followed by len bytes. */
struct sreq {
	uint8_t		kind;
	uint8_t		worker;
	uint16_t	node;
	uint32_t	id, count, len;
	int64_t		after, expires;
	char		session[17];
};

/* What is done once the batch's commit has returned. */
enum post_kind {
	P_PUT = 1, P_EXPIRED, P_NOTIFY, P_FETCH, P_HELD, P_XACK
};
struct post {
	uint8_t		kind;
	struct item	it;		/* P_PUT, P_EXPIRED: the message */
	struct sreq	rq;		/* P_FETCH */
	int		code;		/* P_PUT: 0 stored, else refused */
	uint32_t	flen;		/* bytes that follow: the frame, for
					   the audit record (§8) */
};

enum {
	S_INS, S_DEL, S_MOVE, S_MIN, S_PAGE, S_EXP, S_EXPDEL, S_SESS,
	S_SESSDEL, S_HELD, S_COUNT
};
static const char *const sql[S_COUNT] = {
	[S_INS] = "INSERT INTO msg(dest, ord, sender, seq, session, type, "
	    "ack, received, expires, frame) VALUES (?,?,?,?,?,?,?,?,?,?)",
	[S_DEL] = "DELETE FROM msg WHERE id = ? RETURNING dest, type, "
	    "length(frame)",
	[S_MOVE] = "UPDATE msg SET ord = ? WHERE id = ?",
	[S_MIN] = "SELECT min(ord) FROM msg WHERE dest = ?",
	[S_PAGE] = "SELECT id, ord, sender, seq, session, type, ack, frame "
	    "FROM msg WHERE dest = ? AND ord > ? ORDER BY ord LIMIT ?",
	[S_EXP] = "SELECT id, dest FROM msg WHERE expires <= ? ORDER BY "
	    "expires LIMIT 256",
	[S_EXPDEL] = "DELETE FROM msg WHERE id = ? RETURNING dest, sender, "
	    "seq, session, type, ack, length(frame), frame",
	[S_SESS] = "INSERT OR REPLACE INTO session(code, id, expires) "
	    "VALUES (?,?,?)",
	[S_SESSDEL] = "DELETE FROM session WHERE expires <= ?",
	[S_HELD] = "SELECT id, ord, sender, seq, session, type, ack, frame, "
	    "dest, expires FROM msg WHERE dest >= ? AND dest <= ? AND ord > ? "
	    "ORDER BY ord LIMIT ?",
};

struct store {
	struct server	*srv;
	sqlite3		*db;
	sqlite3_stmt	*st[S_COUNT];
	char		*path;
	int		 lockfd;	/* storedb_lock(): held while open */
	pthread_t	 tid;
	int		 started;
	pthread_mutex_t	 mu;		/* guards q, stop, recount */
	pthread_cond_t	 cv;
	struct evbuffer	*q;
	int		 stop, recount;
	/* The store thread's own. */
	struct evbuffer	*work, *post;
	struct iop_outbox	 out;
	int64_t		 next_ord;
	int64_t		 last_expiry;
	uint64_t	 bytes;			/* every row's frame */
	uint32_t	 count[NODES];		/* messages per device */
	uint64_t	 batches, stored, refused;
	/* The registry's `seen' (§5 sessions mark activity): the devices
	 * whose session was written in this batch, written to the
	 * registry after the store's commit, in one transaction. */
	struct registry	*reg;
	int64_t		 seen_at[NODES];
	uint16_t	 seen_node[NODES];
	uint32_t	 nseen;
};

static void	*store_main(void *);
static void	 batch(struct store *);
static int	 load(struct store *, char *, size_t);
static void	 seen_mark(struct store *, uint16_t, int64_t);
static void	 seen_flush(struct store *);

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
enqueue(struct store *st, const struct sreq *rq, const void *p1,
    size_t n1, const void *p2, size_t n2)
{
	evbuffer_add(st->q, rq, sizeof(*rq));
	if (n1 > 0)
		evbuffer_add(st->q, p1, n1);
	if (n2 > 0)
		evbuffer_add(st->q, p2, n2);
	pthread_cond_signal(&st->cv);
}

int
store_put(struct store *st, const struct item *it, const uint8_t *frame,
    int offline)
{
	struct server *s = st->srv;
	struct sreq rq = { .kind = SR_PUT, .node = it->node,
	    .len = (uint32_t)sizeof(*it) + it->len };

	pthread_mutex_lock(&st->mu);
	/* Checked under the queue's lock: a login sets its slot, then
	 * reads the backlog flag under it (dlv_start), so a message is
	 * either queued before that read or delivered to the link. */
	if (offline && !(it->flags & MF_FOREIGN) &&
	    atomic_load(&s->slot[it->node]) != 0) {
		pthread_mutex_unlock(&st->mu);
		return 1;
	}
	if (!(it->flags & MF_FOREIGN))
		atomic_store(&s->backlog[it->node], 1);
	enqueue(st, &rq, it, sizeof(*it), frame, it->len);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

void
store_delete(struct store *st, const int64_t *rows, size_t n)
{
	struct sreq rq = { .kind = SR_DELETE, .count = (uint32_t)n,
	    .len = (uint32_t)(n * sizeof(*rows)) };

	if (n == 0)
		return;
	pthread_mutex_lock(&st->mu);
	enqueue(st, &rq, rows, rq.len, NULL, 0);
	pthread_mutex_unlock(&st->mu);
}

void
store_return(struct store *st, uint16_t node, const struct unc *ents,
    size_t n, const uint8_t *bytes)
{
	struct sreq rq = { .kind = SR_RETURN, .node = node,
	    .count = (uint32_t)n };
	size_t nb = 0;

	for (size_t i = 0; i < n; i++)
		nb += ents[i].len;
	rq.len = (uint32_t)(n * sizeof(*ents) + nb);
	pthread_mutex_lock(&st->mu);
	atomic_store(&st->srv->backlog[node], 1);
	enqueue(st, &rq, ents, n * sizeof(*ents), bytes, nb);
	pthread_mutex_unlock(&st->mu);
}

void
store_fetch(struct store *st, uint16_t node, int worker, uint32_t id,
    int64_t after, unsigned max)
{
	struct sreq rq = { .kind = SR_FETCH, .node = node,
	    .worker = (uint8_t)worker, .id = id, .after = after,
	    .count = max };

	pthread_mutex_lock(&st->mu);
	enqueue(st, &rq, NULL, 0, NULL, 0);
	pthread_mutex_unlock(&st->mu);
}

void
store_fetch_held(struct store *st, uint16_t region, int64_t after,
    unsigned max)
{
	struct sreq rq = { .kind = SR_HELD, .node = region, .after = after,
	    .count = max };

	pthread_mutex_lock(&st->mu);
	enqueue(st, &rq, NULL, 0, NULL, 0);
	pthread_mutex_unlock(&st->mu);
}

void
store_session(struct store *st, uint16_t node, const char *id,
    int64_t expires)
{
	struct sreq rq = { .kind = SR_SESSION, .node = node,
	    .expires = expires };

	snprintf(rq.session, sizeof(rq.session), "%s", id);
	pthread_mutex_lock(&st->mu);
	enqueue(st, &rq, NULL, 0, NULL, 0);
	pthread_mutex_unlock(&st->mu);
}

int
store_backlog(struct store *st, uint16_t node)
{
	int b;

	pthread_mutex_lock(&st->mu);
	b = atomic_load(&st->srv->backlog[node]);
	pthread_mutex_unlock(&st->mu);
	return b;
}

void
store_recount(struct store *st)
{
	pthread_mutex_lock(&st->mu);
	st->recount = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

/* ---- opening ------------------------------------------------------------ */

struct store *
store_open(struct server *s, const char *path, char *err, size_t errlen)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		snprintf(err, errlen, "store: out of memory");
		return NULL;
	}
	st->srv = s;
	st->lockfd = -1;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	if ((st->q = evbuffer_new()) == NULL || (st->work = evbuffer_new())
	    == NULL || (st->post = evbuffer_new()) == NULL ||
	    iop_outbox_init(&st->out, s->nworkers) == -1) {
		snprintf(err, errlen, "store: out of memory");
		store_free(st);
		return NULL;
	}
	/* One server per store (§9): refused before the file is touched. */
	if ((st->lockfd = storedb_lock(path, "nap-domain", err, errlen)) ==
	    -1 || (st->db = storedb_open(path, 1, err, errlen)) == NULL) {
		store_free(st);
		return NULL;
	}
	for (int i = 0; i < S_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: %s", path,
			    sqlite3_errmsg(st->db));
			store_free(st);
			return NULL;
		}
	if (load(st, err, errlen) == -1) {
		store_free(st);
		return NULL;
	}
	/* The store thread's own registry connection (registry.h: one per
	 * thread), for the devices' `seen'. */
	if (s->conf.registry != NULL && (st->reg = registry_open(
	    s->conf.registry, 0, err, errlen)) == NULL) {
		store_free(st);
		return NULL;
	}
	return st;
}

/* Counts per device and the backlog flags, from the rows on disk. */
static int
load_counts(struct store *st)
{
	struct server *s = st->srv;
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT dest, sum(type >= 1000), "
	    "sum(length(frame)) FROM msg GROUP BY dest", -1, &q, NULL) !=
	    SQLITE_OK)
		return -1;
	memset(st->count, 0, sizeof(st->count));
	st->bytes = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t dest = sqlite3_column_int64(q, 0);
		uint16_t node = (uint16_t)dest;

		st->bytes += (uint64_t)sqlite3_column_int64(q, 2);
		if (dest >> 16 != s->region)
			continue;	/* held for another region (§5.3) */
		st->count[node] = (uint32_t)sqlite3_column_int64(q, 1);
		atomic_store(&s->backlog[node], 1);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The sessions a device may still resume (§5). */
static int
load_sessions(struct store *st)
{
	struct server *s = st->srv;
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT code, id, expires FROM "
	    "session WHERE expires > ?", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(q, 1, now_s());
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint32_t code = (uint32_t)sqlite3_column_int64(q, 0);
		const char *id = (const char *)sqlite3_column_text(q, 1);
		struct sess *e = &s->sess[code & 0xffff];

		if (env_code_region(code) != s->region || id == NULL ||
		    strlen(id) != 16)
			continue;
		memcpy(e->id, id, 17);
		e->expires = sqlite3_column_int64(q, 2);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
load(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *q;

	if (load_counts(st) == -1 || load_sessions(st) == -1 ||
	    sqlite3_prepare_v2(st->db, "SELECT coalesce(max(ord), 0) FROM "
	    "msg", -1, &q, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", st->path,
		    sqlite3_errmsg(st->db));
		return -1;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		st->next_ord = sqlite3_column_int64(q, 0) + 1;
	sqlite3_finalize(q);
	log_info("store %s: %llu bytes stored, next ord %lld", st->path,
	    (unsigned long long)st->bytes, (long long)st->next_ord);
	return 0;
}

int
store_start(struct store *st, char *err, size_t errlen)
{
	if (pthread_create(&st->tid, NULL, store_main, st) != 0) {
		snprintf(err, errlen, "store thread: %s", strerror(errno));
		return -1;
	}
	st->started = 1;
	return 0;
}

void
store_stop(struct store *st)
{
	if (st == NULL || !st->started)
		return;
	pthread_mutex_lock(&st->mu);
	st->stop = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->tid, NULL);
	st->started = 0;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	store_stop(st);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->st[i]);
	sqlite3_close(st->db);
	registry_close(st->reg);
	if (st->q != NULL)
		evbuffer_free(st->q);
	if (st->work != NULL)
		evbuffer_free(st->work);
	if (st->post != NULL)
		evbuffer_free(st->post);
	iop_outbox_free(&st->out, st->srv->nworkers);
	if (st->lockfd != -1)
		close(st->lockfd);	/* after the last write */
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st->path);
	free(st);
}

/* ---- the thread ----------------------------------------------------------- */

static void *
store_main(void *arg)
{
	struct store *st = arg;
	struct timespec ts;
	int stop = 0, recount;

	log_set_thread_name("store");
	while (!stop) {
		pthread_mutex_lock(&st->mu);
		if (evbuffer_get_length(st->q) == 0 && !st->stop &&
		    !st->recount) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;		/* expiry runs once a second */
			pthread_cond_timedwait(&st->cv, &st->mu, &ts);
		}
		evbuffer_add_buffer(st->work, st->q);
		stop = st->stop;
		recount = st->recount;
		st->recount = 0;
		pthread_mutex_unlock(&st->mu);
		if (recount && load_counts(st) == -1)
			log_warnx("store: recount: %s", sqlite3_errmsg(st->db));
		batch(st);
		if (stop) {	/* what came while the last batch ran */
			pthread_mutex_lock(&st->mu);
			stop = evbuffer_get_length(st->q) == 0;
			pthread_mutex_unlock(&st->mu);
		}
	}
	log_info("store: %llu batches, %llu stored, %llu refused",
	    (unsigned long long)st->batches, (unsigned long long)st->stored,
	    (unsigned long long)st->refused);
	return NULL;
}

static void
defer(struct store *st, const struct post *p)
{
	evbuffer_add(st->post, p, sizeof(*p));
}

/* A post with the frame's bytes (prefix + envelope) for the audit. */
static void
defer_frame(struct store *st, struct post *p, const uint8_t *frame,
    uint32_t len)
{
	p->flen = st->srv->audit != NULL ? len : 0;
	evbuffer_add(st->post, p, sizeof(*p));
	if (p->flen > 0)
		evbuffer_add(st->post, frame, p->flen);
}

static int
exec(struct store *st, const char *q)
{
	if (sqlite3_exec(st->db, q, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	log_warnx("store %s: %s: %s", st->path, q, sqlite3_errmsg(st->db));
	return -1;
}

static int
step_done(struct store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	log_warnx("store %s: %s", st->path, sqlite3_errmsg(st->db));
	return -1;
}

/* One row; frame is prefix + envelope (the prefix is not stored). */
static int
insert(struct store *st, const struct item *it, const uint8_t *frame,
    int64_t ord)
{
	sqlite3_stmt *q = st->st[S_INS];
	struct server *s = st->srv;
	int64_t now = now_s();

	sqlite3_bind_int64(q, 1, it->flags & MF_FOREIGN ? (int64_t)it->to :
	    (int64_t)s->region << 16 | it->node);
	sqlite3_bind_int64(q, 2, ord);
	sqlite3_bind_int64(q, 3, it->from);
	sqlite3_bind_int64(q, 4, it->seq);
	sqlite3_bind_text(q, 5, it->session, 16, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, it->type);
	sqlite3_bind_int(q, 7, (it->flags & MF_ACK) != 0);
	sqlite3_bind_int64(q, 8, now);
	sqlite3_bind_int64(q, 9, now + it->ttl);
	sqlite3_bind_blob(q, 10, frame + 4, (int)(it->len - 4),
	    SQLITE_STATIC);
	if (step_done(st, q) == -1)
		return -1;
	st->bytes += it->len - 4;
	if (!(it->flags & (MF_RECEIPT | MF_FOREIGN)))
		st->count[it->node]++;
	return 0;
}

/* §5: a per-device and a total quota answer 507 when full. */
static int
over_quota(struct store *st, const struct item *it)
{
	struct dconf *c = &st->srv->conf;

	if (st->bytes + it->len > c->store_quota)
		return 1;
	return !(it->flags & (MF_RECEIPT | MF_FOREIGN)) &&
	    st->count[it->node] >= (uint32_t)c->store_device_quota;
}

static void
do_put(struct store *st, const uint8_t *p)
{
	struct post po = { .kind = P_PUT };

	memcpy(&po.it, p, sizeof(po.it));
	if (over_quota(st, &po.it))
		po.code = 507;
	else if (insert(st, &po.it, p + sizeof(po.it), st->next_ord++) == -1)
		po.code = 507;
	defer_frame(st, &po, p + sizeof(po.it), po.it.len);
}

static void
do_delete(struct store *st, const struct sreq *rq, const uint8_t *p)
{
	sqlite3_stmt *q = st->st[S_DEL];
	int64_t row;

	for (uint32_t i = 0; i < rq->count; i++) {
		memcpy(&row, p + i * sizeof(row), sizeof(row));
		sqlite3_bind_int64(q, 1, row);
		if (sqlite3_step(q) == SQLITE_ROW) {
			int64_t dest = sqlite3_column_int64(q, 0);
			uint16_t node = (uint16_t)dest;

			if (dest >> 16 == st->srv->region &&
			    sqlite3_column_int64(q, 1) >= ENV_T_APP &&
			    st->count[node] > 0)
				st->count[node]--;
			st->bytes -= (uint64_t)sqlite3_column_int64(q, 2);
		}
		sqlite3_reset(q);
	}
}

/* The first ord of a block of n placed before every row of the device. */
static int64_t
block_start(struct store *st, uint16_t node, uint32_t n)
{
	sqlite3_stmt *q = st->st[S_MIN];
	int64_t first;

	sqlite3_bind_int64(q, 1, (int64_t)st->srv->region << 16 | node);
	if (sqlite3_step(q) == SQLITE_ROW &&
	    sqlite3_column_type(q, 0) != SQLITE_NULL)
		first = sqlite3_column_int64(q, 0) - n;
	else {
		first = st->next_ord;
		st->next_ord += n;
	}
	sqlite3_reset(q);
	return first;
}

/* §5: a closed link's unconfirmed messages come first at next login. */
static void
do_return(struct store *st, const struct sreq *rq, const uint8_t *p)
{
	const uint8_t *bytes = p + rq->count * sizeof(struct unc);
	int64_t ord = block_start(st, rq->node, rq->count);
	struct post po = { .kind = P_NOTIFY };
	struct unc u;
	struct item it;

	for (uint32_t i = 0; i < rq->count; i++, ord++) {
		memcpy(&u, p + i * sizeof(u), sizeof(u));
		if (u.row != 0) {	/* stored already: moved, kept as is */
			sqlite3_bind_int64(st->st[S_MOVE], 1, ord);
			sqlite3_bind_int64(st->st[S_MOVE], 2, u.row);
			(void)step_done(st, st->st[S_MOVE]);
		} else {
			memset(&it, 0, sizeof(it));
			it.node = rq->node;
			it.flags = u.flags;
			it.from = u.from;
			it.seq = u.seq;
			it.type = u.type;
			it.ttl = u.ttl;
			it.len = u.len;
			memcpy(it.session, u.session, sizeof(it.session));
			if (insert(st, &it, bytes, ord) == 0 &&
			    (u.flags & MF_XACK)) {
				/* On disk now: its source domain may let go. */
				struct post px = { .kind = P_XACK, .it = it };

				defer(st, &px);
			}
		}
		bytes += u.len;
	}
	po.it.node = rq->node;
	/* Nothing moved: the link's cursor stays where it is. */
	po.it.ord = rq->count ? ord - rq->count : INT64_MAX;
	defer(st, &po);
}

static void
do_session(struct store *st, const struct sreq *rq)
{
	sqlite3_stmt *q = st->st[S_SESS];

	sqlite3_bind_int64(q, 1, (int64_t)st->srv->region << 16 | rq->node);
	sqlite3_bind_text(q, 2, rq->session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, rq->expires);
	(void)step_done(st, q);
	/* A session is written at login and at close: the device was seen
	 * now (queued a moment ago, by an I/O thread that never waits on
	 * the registry). */
	seen_mark(st, rq->node, now_s());
}

static void
seen_mark(struct store *st, uint16_t node, int64_t when)
{
	if (st->seen_at[node] == 0)
		st->seen_node[st->nseen++] = node;
	st->seen_at[node] = when;
}

/*
 * The batch's `seen' times into the registry, one transaction.  A
 * device removed meanwhile is skipped; a busy or failed registry costs
 * these times only (logged), never a message.
 */
static void
seen_flush(struct store *st)
{
	char err[256];
	uint32_t code;

	if (st->nseen == 0)
		return;
	if (st->reg != NULL && registry_begin(st->reg, err, sizeof(err)) ==
	    -1)
		log_warnx("registry: seen not recorded: %s", err);
	else if (st->reg != NULL) {
		for (uint32_t i = 0; i < st->nseen; i++) {
			code = (uint32_t)st->srv->region << 16 |
			    st->seen_node[i];
			(void)registry_touch_seen(st->reg, code,
			    st->seen_at[st->seen_node[i]], NULL, 0);
		}
		if (registry_commit(st->reg, err, sizeof(err)) == -1) {
			log_warnx("registry: seen not recorded: %s", err);
			registry_rollback(st->reg);
		}
	}
	for (uint32_t i = 0; i < st->nseen; i++)
		st->seen_at[st->seen_node[i]] = 0;
	st->nseen = 0;
}

/* An expired row's post, with its frame for the audit record. */
static void
expired_post(struct store *st, struct post *po, sqlite3_stmt *d)
{
	uint32_t blen = (uint32_t)sqlite3_column_bytes(d, 7);
	uint8_t pre[4];

	po->it.len = blen + 4;
	po->flen = st->srv->audit != NULL ? blen + 4 : 0;
	evbuffer_add(st->post, po, sizeof(*po));
	if (po->flen > 0) {
		env_frame_put_len(pre, blen);
		evbuffer_add(st->post, pre, 4);
		evbuffer_add(st->post, sqlite3_column_blob(d, 7), blen);
	}
}

/* §5 TTL: rows of offline devices past their time; 408 after commit. */
static void
expire(struct store *st)
{
	struct server *s = st->srv;
	sqlite3_stmt *q = st->st[S_EXP], *d = st->st[S_EXPDEL];
	int64_t rows[256], now = now_s();
	size_t n = 0;

	if (now == st->last_expiry)
		return;
	st->last_expiry = now;
	sqlite3_bind_int64(q, 1, now);
	while (n < 256 && sqlite3_step(q) == SQLITE_ROW) {
		int64_t dest = sqlite3_column_int64(q, 1);

		/* A device online: it is being delivered. */
		if (dest >> 16 != s->region ||
		    atomic_load(&s->slot[dest & 0xffff]) == 0)
			rows[n++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	for (size_t i = 0; i < n; i++) {
		struct post po = { .kind = P_EXPIRED };

		sqlite3_bind_int64(d, 1, rows[i]);
		if (sqlite3_step(d) == SQLITE_ROW) {
			po.it.to = (uint32_t)sqlite3_column_int64(d, 0);
			po.it.node = (uint16_t)po.it.to;
			po.it.from = (uint32_t)sqlite3_column_int64(d, 1);
			po.it.seq = (uint32_t)sqlite3_column_int64(d, 2);
			memcpy(po.it.session, sqlite3_column_text(d, 3), 16);
			po.it.type = (uint32_t)sqlite3_column_int64(d, 4);
			po.it.flags = sqlite3_column_int(d, 5) ? MF_ACK : 0;
			st->bytes -= (uint64_t)sqlite3_column_int64(d, 6);
			if (po.it.type >= ENV_T_APP && po.it.to >> 16 ==
			    s->region && st->count[po.it.node] > 0)
				st->count[po.it.node]--;
			expired_post(st, &po, d);
		}
		sqlite3_reset(d);
	}
	sqlite3_bind_int64(st->st[S_SESSDEL], 1, now);
	(void)step_done(st, st->st[S_SESSDEL]);
}

static void
one_request(struct store *st)
{
	struct sreq rq;
	const uint8_t *p;
	struct post po = { .kind = P_FETCH };

	evbuffer_remove(st->work, &rq, sizeof(rq));
	p = rq.len ? evbuffer_pullup(st->work, rq.len) : NULL;
	switch (rq.kind) {
	case SR_PUT:
		do_put(st, p);
		break;
	case SR_DELETE:
		do_delete(st, &rq, p);
		break;
	case SR_RETURN:
		do_return(st, &rq, p);
		break;
	case SR_FETCH:
	case SR_HELD:
		po.kind = rq.kind == SR_FETCH ? P_FETCH : P_HELD;
		po.rq = rq;
		defer(st, &po);
		break;
	case SR_SESSION:
		do_session(st, &rq);
		break;
	}
	evbuffer_drain(st->work, rq.len);
}

/* ---- after the commit ----------------------------------------------------- */

/* A receipt (Ack, or Error code) for msg to its sender, wherever it is. */
static void
receipt(struct store *st, const struct item *msg, int code,
    const char *text)
{
	struct server *s = st->srv;
	char buf[2048];
	struct item r;

	if (msg->flags & MF_RECEIPT)
		return;		/* §4: never a receipt for a receipt */
	if (code == 0 && !(msg->flags & MF_ACK))
		return;
	r.len = (uint32_t)receipt_frame(s, buf, sizeof(buf), msg, code, text,
	    &r);
	deliver_to_code(s, NULL, &st->out, &r, (const uint8_t *)buf);
}

/* A page of rows for a link, in delivery order, then its end. */
static void
page(struct store *st, const struct sreq *rq)
{
	struct server *s = st->srv;
	sqlite3_stmt *q = st->st[S_PAGE];
	struct item it;
	uint8_t pre[4];
	uint32_t rows = 0;

	sqlite3_bind_int64(q, 1, (int64_t)s->region << 16 | rq->node);
	sqlite3_bind_int64(q, 2, rq->after);
	sqlite3_bind_int64(q, 3, rq->count);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *sess = (const char *)sqlite3_column_text(q, 4);
		int blen = sqlite3_column_bytes(q, 7);

		memset(&it, 0, sizeof(it));
		it.kind = IT_STORED;
		it.node = rq->node;
		it.id = rq->id;
		it.row = sqlite3_column_int64(q, 0);
		it.ord = sqlite3_column_int64(q, 1);
		it.from = (uint32_t)sqlite3_column_int64(q, 2);
		it.seq = (uint32_t)sqlite3_column_int64(q, 3);
		if (sess != NULL && strlen(sess) == 16)
			memcpy(it.session, sess, 16);
		it.type = (uint32_t)sqlite3_column_int64(q, 5);
		it.flags = (sqlite3_column_int(q, 6) ? MF_ACK : 0) |
		    (it.type < ENV_T_APP ? MF_RECEIPT : 0);
		it.to = (uint32_t)s->region << 16 | rq->node;
		it.ttl = (uint32_t)s->conf.ttl_default;
		it.len = 4 + (uint32_t)blen;
		env_frame_put_len(pre, (uint32_t)blen);
		iop_outbox_add(&st->out, rq->worker, &it, sizeof(it), pre, 4,
		    sqlite3_column_blob(q, 7), (size_t)blen);
		rows++;
	}
	sqlite3_reset(q);
	memset(&it, 0, sizeof(it));
	it.kind = IT_PAGE_END;
	it.node = rq->node;
	it.id = rq->id;
	it.seq = rows;
	item_post(&st->out, rq->worker, &it, NULL);
}

/* Held rows of a region that came up, to the federation (§5.3). */
static void
held_page(struct store *st, const struct sreq *rq)
{
	sqlite3_stmt *q = st->st[S_HELD];
	struct item it;
	uint8_t pre[4];
	uint32_t rows = 0;
	int64_t now = now_s(), left;

	sqlite3_bind_int64(q, 1, (int64_t)rq->node << 16);
	sqlite3_bind_int64(q, 2, (int64_t)rq->node << 16 | 0xffff);
	sqlite3_bind_int64(q, 3, rq->after);
	sqlite3_bind_int64(q, 4, rq->count);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *sess = (const char *)sqlite3_column_text(q, 4);
		int blen = sqlite3_column_bytes(q, 7);

		memset(&it, 0, sizeof(it));
		it.kind = IT_HELD;
		it.row = sqlite3_column_int64(q, 0);
		it.ord = sqlite3_column_int64(q, 1);
		it.from = (uint32_t)sqlite3_column_int64(q, 2);
		it.seq = (uint32_t)sqlite3_column_int64(q, 3);
		if (sess != NULL && strlen(sess) == 16)
			memcpy(it.session, sess, 16);
		it.type = (uint32_t)sqlite3_column_int64(q, 5);
		it.flags = (sqlite3_column_int(q, 6) ? MF_ACK : 0) |
		    (it.type < ENV_T_APP ? MF_RECEIPT : 0) | MF_FOREIGN;
		it.to = (uint32_t)sqlite3_column_int64(q, 8);
		it.node = (uint16_t)it.to;
		/* §3: what remains of its TTL, written into it when sent on. */
		left = sqlite3_column_int64(q, 9) - now;
		it.ttl = left > 0 ? (uint32_t)left : 0;
		it.len = 4 + (uint32_t)blen;
		env_frame_put_len(pre, (uint32_t)blen);
		iop_outbox_add(&st->out, FED_WORKER, &it, sizeof(it), pre, 4,
		    sqlite3_column_blob(q, 7), (size_t)blen);
		rows++;
	}
	sqlite3_reset(q);
	memset(&it, 0, sizeof(it));
	it.kind = IT_HELD_END;
	it.node = rq->node;
	it.seq = rows;
	item_post(&st->out, FED_WORKER, &it, NULL);
}

/* The link holding the node now hears that rows came back (§4). */
static void
notify(struct store *st, const struct item *what)
{
	struct server *s = st->srv;
	uint64_t v = atomic_load(&s->slot[what->node]);
	struct item it = { .kind = IT_DRAIN, .node = what->node,
	    .ord = what->ord };

	if (v == 0)
		return;
	it.id = (uint32_t)(v >> 16);
	item_post(&st->out, (int)(v & 0xffff) - 1, &it, NULL);
}

static void
after_commit(struct store *st, int committed)
{
	struct post po;
	const uint8_t *f;

	while (evbuffer_remove(st->post, &po, sizeof(po)) == sizeof(po)) {
		f = po.flen ? evbuffer_pullup(st->post, po.flen) : NULL;
		switch (po.kind) {
		case P_PUT:
			if (!committed && po.code == 0)
				po.code = 507;
			if (po.code != 0)
				st->refused++;
			else
				st->stored++;
			if (f != NULL)
				audit_item(st->srv, AUDIT_OUT, po.it.to,
				    po.code ? AUDIT_REFUSED : AUDIT_STORED,
				    po.code, &po.it, f);
			if (po.it.flags & MF_XACK)	/* on disk, or answered */
				xack_send(st->srv, NULL, &st->out, &po.it);
			receipt(st, &po.it, po.code, po.code == 507 ?
			    "store full" : "stored");
			break;
		case P_EXPIRED:
			if (committed && f != NULL)
				audit_item(st->srv, AUDIT_OUT, po.it.to,
				    AUDIT_EXPIRED, 408, &po.it, f);
			if (committed && po.it.type >= ENV_T_APP)
				receipt(st, &po.it, 408, "expired in store");
			else if (committed)
				log_info("store: a receipt for %08X expired "
				    "undelivered; dropped", po.it.to);
			break;
		case P_NOTIFY:
			notify(st, &po.it);
			break;
		case P_FETCH:
			page(st, &po.rq);
			break;
		case P_HELD:
			held_page(st, &po.rq);
			break;
		case P_XACK:
			if (committed)
				xack_send(st->srv, NULL, &st->out, &po.it);
			break;
		}
		evbuffer_drain(st->post, po.flen);
	}
	iop_outbox_flush(&st->srv->pool, &st->out);
}

/* One transaction for everything queued: one fsync per batch. */
static void
batch(struct store *st)
{
	int ok;

	if (exec(st, "BEGIN IMMEDIATE") == -1) {
		evbuffer_drain(st->work, evbuffer_get_length(st->work));
		return;
	}
	while (evbuffer_get_length(st->work) >= sizeof(struct sreq))
		one_request(st);
	expire(st);
	if (!(ok = exec(st, "COMMIT") == 0)) {
		log_warnx("store %s: commit failed: messages of this batch "
		    "refused", st->path);
		(void)exec(st, "ROLLBACK");
	}
	st->batches++;
	after_commit(st, ok);
	seen_flush(st);		/* after the receipts: they do not wait */
}
