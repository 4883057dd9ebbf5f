/*
 * store_fill.c - writes rows into a message store (domain/storedb.h) for
 * test/ctl.test, which has no sqlite3 program to rely on.
 *
 * usage: store_fill STORE DEST SENDER TYPE COUNT AGE EXPIRES_IN [ack]
 *
 * Creates STORE when missing, then appends COUNT rows for DEST from
 * SENDER (codes) of TYPE, received AGE seconds ago and expiring
 * EXPIRES_IN seconds from now (negative: already expired), with Ack="1"
 * when "ack" is given.  Seq continues from the last row of that sender
 * to DEST, ord from DEST's last.  "Now" is $NAP_CTL_NOW when set, as in
 * nap-ctl.  Each frame is a minimal envelope (DESIGN.md §3).
 * Exit 0, 1 on a failure, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "storedb.h"

static int	number(const char *, long long *);
static int	fill(sqlite3 *, uint32_t, uint32_t, long long, long long,
		    long long, long long, long long, int);

static int
number(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return *s == '\0' || *end != '\0' || errno != 0 ? -1 : 0;
}

/* Appends the rows in one transaction; returns 0 or -1. */
static int
fill(sqlite3 *db, uint32_t dest, uint32_t sender, long long type,
    long long count, long long now, long long age, long long left, int ack)
{
	static const char last[] = "SELECT coalesce(max(seq), 0) FROM msg"
	    " WHERE dest = ?1 AND sender = ?2";
	static const char ins[] = "INSERT INTO msg (dest, ord, sender, seq,"
	    " session, type, ack, received, expires, frame) VALUES (?1,"
	    " (SELECT coalesce(max(ord), 0) + 1 FROM msg WHERE dest = ?1),"
	    " ?2, ?3, '5F1C9A0E33B2D871', ?4, ?5, ?6, ?7, ?8)";
	char frame[512], to[9], from[9];
	sqlite3_stmt *st = NULL;
	long long seq;
	int len;

	env_code_format(dest, to);
	env_code_format(sender, from);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, last, -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_bind_int64(st, 1, dest) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, sender) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto err;
	seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, ins, -1, &st, NULL) != SQLITE_OK)
		goto err;
	for (long long i = 0; i < count; i++) {
		seq++;
		len = snprintf(frame, sizeof(frame), "<Message version=\"1.0\">"
		    "<Header Message_Type=\"%lld\" SessionId=\"5F1C9A0E33B2D871\""
		    " Seq=\"%lld\" From=\"%s\" To=\"%s\"%s/></Message>", type,
		    seq, from, to, ack ? " Ack=\"1\"" : "");
		if (sqlite3_reset(st) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 1, dest) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 2, sender) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 3, seq) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 4, type) != SQLITE_OK ||
		    sqlite3_bind_int(st, 5, ack) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 6, now - age) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 7, now + left) != SQLITE_OK ||
		    sqlite3_bind_blob(st, 8, frame, len, SQLITE_TRANSIENT) !=
		    SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
			goto err;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto err;
	return 0;
err:
	fprintf(stderr, "store_fill: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
main(int argc, char **argv)
{
	long long type, count, age, left, now;
	uint32_t dest, sender;
	const char *env;
	char err[512];
	sqlite3 *db;
	int rc;

	if (argc < 8 || argc > 9 || (argc == 9 && strcmp(argv[8], "ack")) ||
	    env_code_parse(argv[2], strlen(argv[2]), &dest) == -1 ||
	    env_code_parse(argv[3], strlen(argv[3]), &sender) == -1 ||
	    number(argv[4], &type) == -1 || number(argv[5], &count) == -1 ||
	    number(argv[6], &age) == -1 || number(argv[7], &left) == -1) {
		fprintf(stderr, "usage: store_fill STORE DEST SENDER TYPE COUNT "
		    "AGE EXPIRES_IN [ack]\n");
		return 2;
	}
	now = (long long)time(NULL);
	if ((env = getenv("NAP_CTL_NOW")) != NULL && *env != '\0' &&
	    number(env, &now) == -1) {
		fprintf(stderr, "store_fill: bad NAP_CTL_NOW '%s'\n", env);
		return 2;
	}
	if ((db = storedb_open(argv[1], 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_fill: %s\n", err);
		return 1;
	}
	rc = fill(db, dest, sender, type, count, now, age, left, argc == 9);
	sqlite3_close(db);
	return rc == 0 ? 0 : 1;
}
