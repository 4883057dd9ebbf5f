/*
 * ctl_store.c - `nap-ctl store list|show|purge` (ctl_store.h): what a
 * domain's message store holds, for an operator, and deleting from it.
 *
 * The store is nap-domain's (domain/storedb.h); it may be running.
 * Reads see a consistent snapshot (WAL); a purge is one write
 * transaction, which waits up to STOREDB_BUSY_MS for the server's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_store.h"
#include "envelope.h"

/* What the rows of one destination (or of all listed) add up to. */
struct store_sum {
	int64_t	messages;	/* application types, 1000 and above */
	int64_t	receipts;	/* Ack (5) and Error (6) */
	int64_t	bytes;		/* of the frames */
	int64_t	oldest;		/* min(received) */
	int64_t	newest;		/* max(received) */
	int64_t	expires;	/* min(expires) */
};

static int	db_fail(sqlite3 *, char *, size_t);
static int	cmp_code(const void *, const void *);
static void	fmt_span(int64_t, char *, size_t);
static void	fmt_expiry(int64_t, char *, size_t);
static void	print_sum(const char *, const struct store_sum *, int64_t,
		    bool);

/* The store's file and SQLite's reason into err; returns -1. */
static int
db_fail(sqlite3 *db, char *err, size_t errlen)
{
	const char *path = sqlite3_db_filename(db, "main");

	snprintf(err, errlen, "%s: %s", path != NULL ? path : "store",
	    sqlite3_errmsg(db));
	return -1;
}

static int
cmp_code(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A span of seconds, humanely: 3s, 5m02s, 2h03m, 4d02h (two units,
 * truncated).  A negative one (a clock set back) gets a '-'.
 */
static void
fmt_span(int64_t s, char *buf, size_t len)
{
	const char *sign = "";
	uint64_t u = (uint64_t)s;

	if (s < 0) {
		sign = "-";
		u = -(uint64_t)s;
	}
	if (u < 60)
		snprintf(buf, len, "%s%" PRIu64 "s", sign, u);
	else if (u < 3600)
		snprintf(buf, len, "%s%" PRIu64 "m%02" PRIu64 "s", sign,
		    u / 60, u % 60);
	else if (u < 86400)
		snprintf(buf, len, "%s%" PRIu64 "h%02" PRIu64 "m", sign,
		    u / 3600, u % 3600 / 60);
	else
		snprintf(buf, len, "%s%" PRIu64 "d%02" PRIu64 "h", sign,
		    u / 86400, u % 86400 / 3600);
}

/* Seconds until an expiry: a span, or "expired" once it is due. */
static void
fmt_expiry(int64_t left, char *buf, size_t len)
{
	if (left <= 0)
		snprintf(buf, len, "expired");
	else
		fmt_span(left, buf, len);
}

/* One line of `store list`: code is NULL for the total. */
static void
print_sum(const char *code, const struct store_sum *s, int64_t now,
    bool json)
{
	char oldest[32], newest[32], expires[32];

	if (json) {
		printf("{\"code\":\"%s\",\"messages\":%" PRId64 ",\"receipts\":"
		    "%" PRId64 ",\"bytes\":%" PRId64 ",\"oldest\":%" PRId64
		    ",\"newest\":%" PRId64 ",\"expires_in\":%" PRId64 "}\n",
		    code, s->messages, s->receipts, s->bytes, now - s->oldest,
		    now - s->newest, s->expires - now);
		return;
	}
	fmt_span(now - s->oldest, oldest, sizeof(oldest));
	fmt_span(now - s->newest, newest, sizeof(newest));
	fmt_expiry(s->expires - now, expires, sizeof(expires));
	printf("%-8s %8" PRId64 " %8" PRId64 " %10" PRId64 " %7s %7s %7s\n",
	    code != NULL ? code : "total", s->messages, s->receipts, s->bytes,
	    oldest, newest, expires);
}

int
store_list(sqlite3 *db, int64_t now, bool json, const uint32_t *codes,
    size_t n, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT dest, sum(type >= 1000), sum(type IN (5, 6)),"
	    " sum(length(frame)), min(received), max(received),"
	    " min(expires) FROM msg GROUP BY dest ORDER BY dest";
	struct store_sum s, all = { 0, 0, 0, INT64_MAX, INT64_MIN,
	    INT64_MAX };
	sqlite3_stmt *st = NULL;
	uint32_t *sorted = NULL, dest;
	size_t rows = 0;
	char code[9];
	int rc = -1, step;

	if (n > 0) {
		if ((sorted = malloc(n * sizeof(*sorted))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(sorted, codes, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_code);
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_fail(db, err, errlen);
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		dest = (uint32_t)sqlite3_column_int64(st, 0);
		if (n > 0 && bsearch(&dest, sorted, n, sizeof(*sorted),
		    cmp_code) == NULL)
			continue;
		s.messages = sqlite3_column_int64(st, 1);
		s.receipts = sqlite3_column_int64(st, 2);
		s.bytes = sqlite3_column_int64(st, 3);
		s.oldest = sqlite3_column_int64(st, 4);
		s.newest = sqlite3_column_int64(st, 5);
		s.expires = sqlite3_column_int64(st, 6);
		if (rows++ == 0 && !json)
			printf("%-8s %8s %8s %10s %7s %7s %7s\n", "CODE",
			    "MESSAGES", "RECEIPTS", "BYTES", "OLDEST", "NEWEST",
			    "EXPIRES");
		env_code_format(dest, code);
		print_sum(code, &s, now, json);
		all.messages += s.messages;
		all.receipts += s.receipts;
		all.bytes += s.bytes;
		if (s.oldest < all.oldest)
			all.oldest = s.oldest;
		if (s.newest > all.newest)
			all.newest = s.newest;
		if (s.expires < all.expires)
			all.expires = s.expires;
	}
	if (step != SQLITE_DONE) {
		db_fail(db, err, errlen);
		goto out;
	}
	if (rows > 0 && !json)
		print_sum(NULL, &all, now, false);
	rc = 0;
out:
	sqlite3_finalize(st);
	free(sorted);
	return rc;
}

int
store_show(sqlite3 *db, int64_t now, uint32_t dest, enum store_fmt fmt,
    int64_t limit, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT id, sender, seq, type, ack, received, expires,"
	    " length(frame), frame FROM msg WHERE dest = ?1 ORDER BY ord"
	    " LIMIT ?2";
	sqlite3_stmt *st = NULL;
	char from[9], age[32], expires[32];
	int64_t id, seq, type, received, expiry, size;
	const void *frame;
	size_t rows = 0;
	bool ack;
	int step;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, dest) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, limit < 0 ? -1 : limit) != SQLITE_OK)
		goto err;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (fmt == SF_XML) {
			frame = sqlite3_column_blob(st, 8);
			size = sqlite3_column_bytes(st, 8);
			if (size > 0 && frame == NULL)
				goto err;
			if (size > 0)
				fwrite(frame, 1, (size_t)size, stdout);
			putchar('\n');
			continue;
		}
		id = sqlite3_column_int64(st, 0);
		env_code_format((uint32_t)sqlite3_column_int64(st, 1), from);
		seq = sqlite3_column_int64(st, 2);
		type = sqlite3_column_int64(st, 3);
		ack = sqlite3_column_int64(st, 4) != 0;
		received = sqlite3_column_int64(st, 5);
		expiry = sqlite3_column_int64(st, 6);
		size = sqlite3_column_int64(st, 7);
		if (fmt == SF_JSON) {
			printf("{\"id\":%" PRId64 ",\"from\":\"%s\",\"seq\":%"
			    PRId64 ",\"type\":%" PRId64 ",\"ack\":%s,\"age\":%"
			    PRId64 ",\"expires_in\":%" PRId64 ",\"size\":%"
			    PRId64 "}\n", id, from, seq, type,
			    ack ? "true" : "false", now - received,
			    expiry - now, size);
			continue;
		}
		if (rows++ == 0)
			printf("%8s %-8s %10s %5s %-3s %7s %7s %6s\n", "ID",
			    "FROM", "SEQ", "TYPE", "ACK", "AGE", "EXPIRES",
			    "SIZE");
		fmt_span(now - received, age, sizeof(age));
		fmt_expiry(expiry - now, expires, sizeof(expires));
		printf("%8" PRId64 " %-8s %10" PRId64 " %5" PRId64 " %-3s %7s "
		    "%7s %6" PRId64 "\n", id, from, seq, type,
		    ack ? "yes" : "no", age, expires, size);
	}
	if (step != SQLITE_DONE)
		goto err;
	sqlite3_finalize(st);
	return 0;
err:
	db_fail(db, err, errlen);
	sqlite3_finalize(st);
	return -1;
}

int
store_purge(sqlite3 *db, int64_t now, const uint32_t *codes, size_t n,
    bool expired, int64_t *deleted, char *err, size_t errlen)
{
	const char *sql;
	sqlite3_stmt *st = NULL;
	int64_t count = 0;
	size_t i = 0;

	if (n > 0)
		sql = expired ? "DELETE FROM msg WHERE dest = ?1 AND "
		    "expires <= ?2" : "DELETE FROM msg WHERE dest = ?1";
	else
		sql = expired ? "DELETE FROM msg WHERE expires <= ?2" :
		    "DELETE FROM msg";
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_fail(db, err, errlen);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    (expired && sqlite3_bind_int64(st, 2, now) != SQLITE_OK))
		goto err;
	do {
		if (n > 0 && (sqlite3_reset(st) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 1, codes[i]) != SQLITE_OK))
			goto err;
		if (sqlite3_step(st) != SQLITE_DONE)
			goto err;
		count += sqlite3_changes(db);
	} while (++i < n);
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto err;
	*deleted = count;
	return 0;
err:
	db_fail(db, err, errlen);
	sqlite3_finalize(st);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
