/*
 * storedb.c - opening the message store file (storedb.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storedb.h"

static const char schema[] =
    "CREATE TABLE msg ("
    " id INTEGER PRIMARY KEY,"
    " dest INTEGER NOT NULL,"
    " ord INTEGER NOT NULL,"
    " sender INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " session TEXT NOT NULL,"
    " type INTEGER NOT NULL,"
    " ack INTEGER NOT NULL,"
    " received INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " frame BLOB NOT NULL);"
    "CREATE INDEX msg_dest ON msg(dest, ord);"
    "CREATE INDEX msg_expires ON msg(expires);"
    "CREATE TABLE session ("
    " code INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL,"
    " expires INTEGER NOT NULL);"
    "PRAGMA user_version = 1;";

char *
storedb_default_path(const char *registry)
{
	size_t n = strlen(registry);
	char *p;

	if (n >= 3 && strcmp(registry + n - 3, ".db") == 0)
		n -= 3;
	if ((p = malloc(n + sizeof("-store.db"))) == NULL)
		return NULL;
	memcpy(p, registry, n);
	memcpy(p + n, "-store.db", sizeof("-store.db"));
	return p;
}

static void	lock_holder(int, char *, size_t);

/* What the holder wrote: "PID HOST", or "unknown" (it is still writing). */
static void
lock_holder(int fd, char *out, size_t len)
{
	ssize_t n;

	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

int
storedb_lock(const char *path, const char *who, char *err, size_t errlen)
{
	char lpath[4096], line[300], host[256], pid[32];
	int fd, n;

	if ((size_t)snprintf(lpath, sizeof(lpath), "%s.lock", path) >=
	    sizeof(lpath)) {
		snprintf(err, errlen, "store %s: path too long", path);
		return -1;
	}
	if ((fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "store %s: %s", lpath, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		lock_holder(fd, line, sizeof(line));
		close(fd);
		if (e != EWOULDBLOCK) {
			snprintf(err, errlen, "store %s: flock: %s", lpath,
			    strerror(e));
			return -1;
		}
		host[0] = pid[0] = '\0';
		if (sscanf(line, "%31s %255s", pid, host) < 1)
			snprintf(err, errlen, "store %s is in use by another "
			    "%s", path, who);
		else
			snprintf(err, errlen, "store %s is in use by %s pid %s "
			    "(host %s)", path, who, pid, host[0] != '\0' ? host :
			    "unknown");
		return -1;
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), host);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, line, (size_t)n, 0) != n) {
		snprintf(err, errlen, "store %s: %s", lpath, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
one_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* WAL and synchronous=FULL: a commit that returned is on disk (§5). */
static int
durable(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const char *mode;
	int ok;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return -1;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	ok = mode != NULL && strcmp(mode, "wal") == 0;
	if (!ok)
		snprintf(err, errlen, "%s: cannot use WAL mode", path);
	sqlite3_finalize(s);
	if (ok && sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		ok = 0;
	}
	return ok ? 0 : -1;
}

/* Creates the schema, or checks the one the file has. */
static int
check_schema(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int version = 0, objects = 0;

	if (one_int(db, "PRAGMA user_version", &version) != SQLITE_OK ||
	    one_int(db, "SELECT count(*) FROM sqlite_master", &objects) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (version > STOREDB_VERSION) {
		snprintf(err, errlen, "%s: store schema version %d is newer "
		    "than this program's (%d): upgrade NAP", path, version,
		    STOREDB_VERSION);
		return -1;
	}
	if (version == 0 && objects > 0) {
		snprintf(err, errlen, "%s: not a NAP message store", path);
		return -1;
	}
	if (version == 0 && sqlite3_exec(db, schema, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

sqlite3 *
storedb_open(const char *path, int create, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	struct stat st;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (!create && stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) :
		    "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STOREDB_BUSY_MS);
	if (durable(db, path, err, errlen) == -1 ||
	    check_schema(db, path, err, errlen) == -1) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}
