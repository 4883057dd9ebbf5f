/*
 * registry.c - the device registry of a domain in one SQLite file
 * (DESIGN.md §7): devices, their kind, state, pinned certificate and
 * permitted message types, and the domain's region.
 *
 * The schema grows by numbered steps (migrations[]): a file of version N
 * is brought to REG_SCHEMA_VERSION at open, in one transaction, and
 * PRAGMA user_version records where it stands.  Statements are prepared
 * once per handle, on first use, and kept.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "envelope.h"
#include "registry.h"

#define REG_BUSY_MS	5000

/*
 * Schema steps: migrations[v] takes a file from version v to v + 1.
 * Append only: a step that shipped is never edited.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the devices. */
	"CREATE TABLE device ("
	" code INTEGER PRIMARY KEY CHECK (code BETWEEN 0 AND 4294967295),"
	" kind TEXT NOT NULL CHECK (kind IN ('CU', 'PU', 'FS')),"
	" enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	" permits TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL,"
	" seen INTEGER NOT NULL DEFAULT 0);",
	/* 1 -> 2: certificate pinning and the domain's region. */
	"ALTER TABLE device ADD COLUMN fingerprint TEXT"
	" CHECK (fingerprint IS NULL OR (length(fingerprint) = 64"
	" AND fingerprint NOT GLOB '*[^0-9a-f]*'));"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
	" WITHOUT ROWID;",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    REG_SCHEMA_VERSION, "one migration step per schema version");

/* The cached statements, prepared on first use. */
enum reg_stmt {
	ST_GET,
	ST_ALL,
	ST_ADD,
	ST_REMOVE,
	ST_ENABLE,
	ST_PERMITS,
	ST_FINGERPRINT,
	ST_SEEN,
	ST_REGION_GET,
	ST_REGION_SET,
	ST_OTHER_REGION,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT
};

#define DEVICE_COLUMNS \
	"code, kind, enabled, permits, fingerprint, created, seen"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_GET] = "SELECT " DEVICE_COLUMNS " FROM device WHERE code = ?1",
	[ST_ALL] = "SELECT " DEVICE_COLUMNS " FROM device ORDER BY code",
	[ST_ADD] = "INSERT INTO device (code, kind, enabled, permits,"
	    " fingerprint, created, seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
	[ST_REMOVE] = "DELETE FROM device WHERE code = ?1",
	[ST_ENABLE] = "UPDATE device SET enabled = ?2 WHERE code = ?1",
	[ST_PERMITS] = "UPDATE device SET permits = ?2 WHERE code = ?1",
	[ST_FINGERPRINT] = "UPDATE device SET fingerprint = ?2 WHERE code = ?1",
	[ST_SEEN] = "UPDATE device SET seen = ?2 WHERE code = ?1",
	[ST_REGION_GET] = "SELECT value FROM meta WHERE key = 'region'",
	[ST_REGION_SET] = "INSERT OR REPLACE INTO meta (key, value)"
	    " VALUES ('region', ?1)",
	[ST_OTHER_REGION] = "SELECT code FROM device"
	    " WHERE code < ?1 OR code > ?2 ORDER BY code LIMIT 1",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

struct registry {
	sqlite3		*db;
	bool		 rdonly;
	sqlite3_stmt	*stmt[ST_COUNT];
	char		 errmsg[256];	/* the last failure, for registry_error */
};

static int	fail(struct registry *, char *, size_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static int	relay(struct registry *, char *, size_t);
static void	set_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static sqlite3_stmt *stmt(struct registry *, enum reg_stmt);
static void	stmt_done(sqlite3_stmt *);
static int	step_done(struct registry *, enum reg_stmt, char *, size_t,
		    const char *);
static int	txn_start(struct registry *, bool *, char *, size_t);
static int	txn_end(struct registry *, bool, int, char *, size_t);
static int	read_device(struct registry *, sqlite3_stmt *,
		    struct reg_device *);
static int	region_get(struct registry *, uint16_t *);
static int	update_one(struct registry *, uint32_t, sqlite3_stmt *,
		    char *, size_t, const char *);
static int	db_int(sqlite3 *, const char *, int *);
static int	schema_migrate(struct registry *, const char *, int, char *,
		    size_t);
static int	is_ws(int);
static int	parse_type(const char **, uint32_t *);

/* ---- errors --------------------------------------------------------- */

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Records a failure in the handle and in the caller's buffer; -1. */
static int
fail(struct registry *r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	set_err(err, errlen, "%s", r->errmsg);
	return -1;
}

/* Passes the handle's last failure on to the caller's buffer; -1. */
static int
relay(struct registry *r, char *err, size_t errlen)
{
	set_err(err, errlen, "%s", r->errmsg);
	return -1;
}

const char *
registry_error(const struct registry *r)
{
	return r->errmsg;
}

/* ---- kinds and fingerprints ------------------------------------------- */

static const char *const kind_names[] = {
	[REG_KIND_CU] = "CU",
	[REG_KIND_PU] = "PU",
	[REG_KIND_FS] = "FS",
};

const char *
reg_kind_name(enum reg_kind k)
{
	if ((unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]))
		return kind_names[k];
	return "??";
}

int
reg_kind_parse(const char *s, enum reg_kind *out)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]);
	    i++) {
		if (s != NULL && strlen(s) == 2 &&
		    (s[0] & ~0x20) == kind_names[i][0] &&
		    (s[1] & ~0x20) == kind_names[i][1]) {
			*out = (enum reg_kind)i;
			return 0;
		}
	}
	return -1;
}

int
reg_fingerprint_parse(const char *s, char out[REG_FINGERPRINT_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t len, i, n = 0;
	bool colons;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == REG_FINGERPRINT_LEN)
		colons = false;
	else if (len == REG_FINGERPRINT_LEN / 2 * 3 - 1)
		colons = true;
	else
		return -1;
	for (i = 0; i < len; i++) {
		if (colons && i % 3 == 2) {
			if (s[i] != ':')
				return -1;
			continue;
		}
		if (env_hexval((unsigned char)s[i]) < 0)
			return -1;
		out[n++] = hex[env_hexval((unsigned char)s[i])];
	}
	out[n] = '\0';
	return 0;
}

/* ---- permits ---------------------------------------------------------- */

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * One decimal type at *sp: digits only, at most 10, value at most
 * 4294967295.  Advances *sp.  Returns 0, -1 (no digit) or -2 (too big).
 */
static int
parse_type(const char **sp, uint32_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9') {
		if (++n > 10)
			return -2;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (n == 0)
		return -1;
	if (v > UINT32_MAX)
		return -2;
	*sp = s;
	*out = (uint32_t)v;
	return 0;
}

int
reg_permits_parse(const char *s, struct reg_permits *out, char *err,
    size_t errlen)
{
	struct reg_permits p;
	const char *q = s, *item, *end;
	uint32_t lo = 0, hi = 0, tlo, thi;
	uint32_t i, j, m;
	int rc;
	const char *why;

	memset(&p, 0, sizeof(p));
	if (s == NULL) {
		*out = p;
		return 0;
	}
	while (is_ws((unsigned char)*q))
		q++;
	while (*q != '\0') {
		item = q;
		why = NULL;
		if ((rc = parse_type(&q, &lo)) == 0) {
			hi = lo;
			if (*q == '-') {
				q++;
				if ((rc = parse_type(&q, &hi)) == -1)
					why = "a range needs a high end";
			}
		}
		if (rc == -1 && why == NULL)
			why = "not a decimal type or lo-hi range";
		else if (rc == -2)
			why = "a type is at most 4294967295";
		/* The item as written, for the message. */
		for (end = item; *end != '\0' && *end != ','; end++)
			;
		while (end > item && is_ws((unsigned char)end[-1]))
			end--;
		while (why == NULL && is_ws((unsigned char)*q))
			q++;
		if (why == NULL && *q != ',' && *q != '\0')
			why = "not a decimal type or lo-hi range";
		if (why == NULL && lo < REG_PERMITS_MIN_TYPE)
			why = "types below 1000 are reserved";
		if (why == NULL && lo > hi)
			why = "the low end is above the high end";
		if (why == NULL && p.n == REG_PERMITS_MAX)
			why = "more than 64 ranges";
		if (why != NULL) {
			if (end == item)
				set_err(err, errlen, "bad permits: empty item");
			else
				set_err(err, errlen, "bad permits '%.*s': %s",
				    (int)(end - item > 40 ? 40 : end - item),
				    item, why);
			return -1;
		}
		p.lo[p.n] = lo;
		p.hi[p.n] = hi;
		p.n++;
		if (*q == ',') {
			q++;
			while (is_ws((unsigned char)*q))
				q++;
			if (*q == '\0' || *q == ',') {
				set_err(err, errlen, "bad permits: empty item");
				return -1;
			}
		}
	}

	/* Normal form: sorted by lo, overlapping and adjacent ranges merged. */
	for (i = 1; i < p.n; i++) {
		tlo = p.lo[i];
		thi = p.hi[i];
		for (j = i; j > 0 && (p.lo[j - 1] > tlo ||
		    (p.lo[j - 1] == tlo && p.hi[j - 1] > thi)); j--) {
			p.lo[j] = p.lo[j - 1];
			p.hi[j] = p.hi[j - 1];
		}
		p.lo[j] = tlo;
		p.hi[j] = thi;
	}
	for (i = 1, m = p.n > 0 ? 1 : 0; i < p.n; i++) {
		if (p.hi[m - 1] == UINT32_MAX || p.lo[i] <= p.hi[m - 1] + 1) {
			if (p.hi[i] > p.hi[m - 1])
				p.hi[m - 1] = p.hi[i];
			continue;
		}
		p.lo[m] = p.lo[i];
		p.hi[m] = p.hi[i];
		m++;
	}
	for (i = m; i < p.n; i++)
		p.lo[i] = p.hi[i] = 0;
	p.n = m;
	*out = p;
	return 0;
}

bool
reg_permits_allow(const struct reg_permits *p, uint32_t type)
{
	uint32_t lo = 0, hi, mid, n;

	n = p->n > REG_PERMITS_MAX ? REG_PERMITS_MAX : p->n;
	if (n == 0 || type < REG_PERMITS_MIN_TYPE)
		return true;
	/* lo ends as the number of ranges that start at or below type. */
	hi = n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (p->lo[mid] <= type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && type <= p->hi[lo - 1];
}

void
reg_permits_format(const struct reg_permits *p, char *buf, size_t len)
{
	size_t off = 0;
	uint32_t i, n;
	int w;

	if (len == 0)
		return;
	buf[0] = '\0';
	n = p->n > REG_PERMITS_MAX ? REG_PERMITS_MAX : p->n;
	for (i = 0; i < n && off < len; i++) {
		if (p->lo[i] == p->hi[i])
			w = snprintf(buf + off, len - off, "%s%u",
			    i ? "," : "", p->lo[i]);
		else
			w = snprintf(buf + off, len - off, "%s%u-%u",
			    i ? "," : "", p->lo[i], p->hi[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* ---- statements and transactions ---------------------------------------- */

static sqlite3_stmt *
stmt(struct registry *r, enum reg_stmt which)
{
	if (r->stmt[which] == NULL && sqlite3_prepare_v3(r->db,
	    stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &r->stmt[which],
	    NULL) != SQLITE_OK) {
		(void)fail(r, NULL, 0, "registry: %s", sqlite3_errmsg(r->db));
		r->stmt[which] = NULL;
	}
	return r->stmt[which];
}

static void
stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Runs a statement that returns no row (its bindings already made). */
static int
step_done(struct registry *r, enum reg_stmt which, char *err, size_t errlen,
    const char *what)
{
	sqlite3_stmt *s = r->stmt[which];
	int rc;

	rc = sqlite3_step(s);
	stmt_done(s);
	if (rc != SQLITE_DONE)
		return fail(r, err, errlen, "%s: %s", what,
		    sqlite3_errstr(rc));
	return 0;
}

int
registry_begin(struct registry *r, char *err, size_t errlen)
{
	if (!sqlite3_get_autocommit(r->db))
		return fail(r, err, errlen, "registry: a transaction is "
		    "already open");
	if (stmt(r, ST_BEGIN) == NULL)
		return relay(r, err, errlen);
	return step_done(r, ST_BEGIN, err, errlen, "registry: begin");
}

int
registry_commit(struct registry *r, char *err, size_t errlen)
{
	if (sqlite3_get_autocommit(r->db))
		return fail(r, err, errlen, "registry: no transaction is open");
	if (stmt(r, ST_COMMIT) == NULL)
		return relay(r, err, errlen);
	if (step_done(r, ST_COMMIT, err, errlen, "registry: commit") == -1) {
		registry_rollback(r);
		return -1;
	}
	return 0;
}

void
registry_rollback(struct registry *r)
{
	if (sqlite3_get_autocommit(r->db) || stmt(r, ST_ROLLBACK) == NULL)
		return;
	(void)sqlite3_step(r->stmt[ST_ROLLBACK]);
	stmt_done(r->stmt[ST_ROLLBACK]);
}

/*
 * For an operation of several statements: opens a write transaction
 * unless the caller holds one already (*own says which).
 */
static int
txn_start(struct registry *r, bool *own, char *err, size_t errlen)
{
	*own = false;
	if (!sqlite3_get_autocommit(r->db))
		return 0;
	if (registry_begin(r, err, errlen) == -1)
		return -1;
	*own = true;
	return 0;
}

/* Ends what txn_start opened: commit when rc is 0, else roll back. */
static int
txn_end(struct registry *r, bool own, int rc, char *err, size_t errlen)
{
	if (!own)
		return rc;
	if (rc != 0) {
		registry_rollback(r);
		return rc;
	}
	return registry_commit(r, err, errlen);
}

/* ---- open and close --------------------------------------------------- */

/* The integer result of a one-value query (a PRAGMA). */
static int
db_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_ERROR;
	sqlite3_finalize(s);
	return rc;
}

/*
 * Brings the schema from version `from` to REG_SCHEMA_VERSION in one
 * IMMEDIATE transaction, after reading the version again inside it (some
 * other process may have migrated the file meanwhile).
 */
static int
schema_migrate(struct registry *r, const char *path, int from, char *err,
    size_t errlen)
{
	char sql[64];
	int v = from, rc;

	if ((rc = sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		return fail(r, err, errlen, "%s: cannot migrate the schema: %s",
		    path, sqlite3_errmsg(r->db));
	if ((rc = db_int(r->db, "PRAGMA user_version", &v)) != SQLITE_OK)
		goto dberr;
	if (v < 0 || v > REG_SCHEMA_VERSION) {
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		return fail(r, err, errlen, "%s: registry schema version %d is "
		    "newer than this program's (%d): upgrade NAP", path, v,
		    REG_SCHEMA_VERSION);
	}
	for (; v < REG_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(r->db, migrations[v], NULL, NULL, NULL) !=
		    SQLITE_OK)
			goto dberr;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			goto dberr;
	}
	if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	return 0;
dberr:
	(void)fail(r, err, errlen, "%s: cannot migrate the schema from version "
	    "%d to %d: %s", path, from, REG_SCHEMA_VERSION,
	    sqlite3_errmsg(r->db));
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

struct registry *
registry_open(const char *path, int flags, char *err, size_t errlen)
{
	struct registry *r;
	struct stat st;
	sqlite3_stmt *s = NULL;
	int oflags, rc, version = 0, objects = 0;
	const char *mode;

	if ((flags & ~(REG_CREATE | REG_RDONLY)) != 0 ||
	    (flags & (REG_CREATE | REG_RDONLY)) == (REG_CREATE | REG_RDONLY)) {
		set_err(err, errlen, "registry: bad open flags");
		return NULL;
	}
	if (path == NULL || *path == '\0') {
		set_err(err, errlen, "registry: no file name");
		return NULL;
	}
	if (!(flags & REG_CREATE) && stat(path, &st) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		set_err(err, errlen, "registry: out of memory");
		return NULL;
	}
	r->rdonly = (flags & REG_RDONLY) != 0;
	oflags = SQLITE_OPEN_NOMUTEX | (r->rdonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE);
	if (flags & REG_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	if ((rc = sqlite3_open_v2(path, &r->db, oflags, NULL)) != SQLITE_OK) {
		if (r->db != NULL && sqlite3_system_errno(r->db) != 0)
			(void)fail(r, err, errlen, "%s: %s (%s)", path,
			    sqlite3_errmsg(r->db),
			    strerror(sqlite3_system_errno(r->db)));
		else
			(void)fail(r, err, errlen, "%s: %s", path, r->db ?
			    sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		goto err;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, REG_BUSY_MS);

	/* What the file is, before anything is written to it. */
	if ((rc = db_int(r->db, "PRAGMA user_version", &version)) !=
	    SQLITE_OK || (rc = db_int(r->db, "SELECT count(*) FROM "
	    "sqlite_master", &objects)) != SQLITE_OK) {
		(void)fail(r, err, errlen, "%s: %s", path,
		    sqlite3_errmsg(r->db));
		goto err;
	}
	if (version > REG_SCHEMA_VERSION || version < 0) {
		(void)fail(r, err, errlen, "%s: registry schema version %d is "
		    "newer than this program's (%d): upgrade NAP", path,
		    version, REG_SCHEMA_VERSION);
		goto err;
	}
	if (version == 0 && objects > 0) {
		(void)fail(r, err, errlen, "%s: not a NAP registry (a database "
		    "without a registry schema version)", path);
		goto err;
	}
	if (version == 0 && !(flags & REG_CREATE)) {
		(void)fail(r, err, errlen, "%s: empty file, not a NAP registry",
		    path);
		goto err;
	}
	if (r->rdonly && version < REG_SCHEMA_VERSION) {
		(void)fail(r, err, errlen, "%s: registry schema version %d "
		    "needs migrating to %d: open it read-write once", path,
		    version, REG_SCHEMA_VERSION);
		goto err;
	}

	if (sqlite3_exec(r->db, "PRAGMA foreign_keys = ON", NULL, NULL,
	    NULL) != SQLITE_OK)
		goto dberr;
	if (!r->rdonly) {
		if (sqlite3_prepare_v2(r->db, "PRAGMA journal_mode = WAL", -1,
		    &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
			goto dberr;
		mode = (const char *)sqlite3_column_text(s, 0);
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			(void)fail(r, err, errlen, "%s: cannot use WAL mode "
			    "(journal mode stays %s)", path, mode ? mode : "?");
			goto err;
		}
		sqlite3_finalize(s);
		s = NULL;
		if (sqlite3_exec(r->db, "PRAGMA synchronous = FULL", NULL,
		    NULL, NULL) != SQLITE_OK)
			goto dberr;
		if (version < REG_SCHEMA_VERSION &&
		    schema_migrate(r, path, version, err, errlen) == -1)
			goto err;
	}
	return r;
dberr:
	(void)fail(r, err, errlen, "%s: %s", path, sqlite3_errmsg(r->db));
err:
	sqlite3_finalize(s);
	registry_close(r);
	return NULL;
}

void
registry_close(struct registry *r)
{
	if (r == NULL)
		return;
	if (r->db != NULL)
		registry_rollback(r);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(r->stmt[i]);
	sqlite3_close(r->db);
	free(r);
}

/* ---- the region --------------------------------------------------------- */

/* 0 and *region, 1 when unset, -1 on error (r->errmsg). */
static int
region_get(struct registry *r, uint16_t *region)
{
	sqlite3_stmt *s;
	const unsigned char *v;
	unsigned val;
	int i, rc, ret;

	if ((s = stmt(r, ST_REGION_GET)) == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = 1;
	else if (rc != SQLITE_ROW)
		ret = fail(r, NULL, 0, "registry: reading the region: %s",
		    sqlite3_errstr(rc));
	else {
		/* Stored as RRRR, four upper-case hex digits. */
		v = sqlite3_column_text(s, 0);
		if (v != NULL && strlen((const char *)v) == 4) {
			for (i = 0, val = 0; i < 4 && env_hexval(v[i]) >= 0;
			    i++)
				val = val << 4 | (unsigned)env_hexval(v[i]);
			if (i == 4 && val != 0 && val != 0xffff) {
				*region = (uint16_t)val;
				stmt_done(s);
				return 0;
			}
		}
		ret = fail(r, NULL, 0, "registry: the recorded region is "
		    "corrupt");
	}
	stmt_done(s);
	return ret;
}

int
registry_region(struct registry *r, uint16_t *region)
{
	return region_get(r, region);
}

int
registry_set_region(struct registry *r, uint16_t region, char *err,
    size_t errlen)
{
	sqlite3_stmt *s;
	uint16_t old;
	char code[9];
	bool own;
	int rc;

	if (region == 0 || region == 0xffff)
		return fail(r, err, errlen, "region %04X is not a domain "
		    "region (0001..FFFE)", region);
	if (txn_start(r, &own, err, errlen) == -1)
		return -1;
	if ((rc = region_get(r, &old)) == -1) {
		(void)relay(r, err, errlen);
		goto out;
	}
	if (rc == 0) {
		if (old != region)
			rc = fail(r, err, errlen, "the registry is already "
			    "for region %04X, not %04X", old, region);
		goto out;
	}
	/* Devices of other regions registered before the region was set. */
	if ((s = stmt(r, ST_OTHER_REGION)) == NULL) {
		rc = relay(r, err, errlen);
		goto out;
	}
	sqlite3_bind_int64(s, 1, (int64_t)region << 16);
	sqlite3_bind_int64(s, 2, (int64_t)region << 16 | 0xffff);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		env_code_format((uint32_t)sqlite3_column_int64(s, 0), code);
		stmt_done(s);
		rc = fail(r, err, errlen, "device %s of another region is "
		    "registered: cannot set region %04X", code, region);
		goto out;
	}
	stmt_done(s);
	if (rc != SQLITE_DONE) {
		rc = fail(r, err, errlen, "registry: %s", sqlite3_errstr(rc));
		goto out;
	}
	if ((s = stmt(r, ST_REGION_SET)) == NULL) {
		rc = relay(r, err, errlen);
		goto out;
	}
	snprintf(code, sizeof(code), "%04X", region);
	sqlite3_bind_text(s, 1, code, -1, SQLITE_TRANSIENT);
	rc = step_done(r, ST_REGION_SET, err, errlen, "cannot record the "
	    "region");
out:
	return txn_end(r, own, rc, err, errlen);
}

/* ---- devices ------------------------------------------------------------ */

int
registry_add(struct registry *r, uint32_t code, enum reg_kind kind,
    bool enabled, const char *permits, const char *fingerprint, char *err,
    size_t errlen)
{
	struct reg_permits p;
	char c[9], pbuf[REG_PERMITS_STRLEN], fp[REG_FINGERPRINT_LEN + 1];
	char perr[128];
	sqlite3_stmt *s;
	uint16_t region;
	bool own;
	int rc;

	env_code_format(code, c);
	if (!env_code_is_device(code))
		return fail(r, err, errlen, "%s is not a device code (RRRRNNNN,"
		    " region 0001..FFFE, node 0001..FFFF)", c);
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return fail(r, err, errlen, "%s: bad device kind", c);
	if (reg_permits_parse(permits, &p, perr, sizeof(perr)) == -1)
		return fail(r, err, errlen, "%s: %s", c, perr);
	reg_permits_format(&p, pbuf, sizeof(pbuf));
	fp[0] = '\0';
	if (fingerprint != NULL && *fingerprint != '\0' &&
	    reg_fingerprint_parse(fingerprint, fp) == -1)
		return fail(r, err, errlen, "%s: bad fingerprint (64 hex digits "
		    "of a SHA-256)", c);

	if (txn_start(r, &own, err, errlen) == -1)
		return -1;
	if ((rc = region_get(r, &region)) == -1) {
		(void)relay(r, err, errlen);
		goto out;
	}
	if (rc == 0 && region != env_code_region(code)) {
		rc = fail(r, err, errlen, "%s is not of region %04X, the "
		    "registry's", c, region);
		goto out;
	}
	if ((s = stmt(r, ST_ADD)) == NULL) {
		rc = relay(r, err, errlen);
		goto out;
	}
	sqlite3_bind_int64(s, 1, code);
	sqlite3_bind_text(s, 2, kind_names[kind], -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, enabled ? 1 : 0);
	sqlite3_bind_text(s, 4, pbuf, -1, SQLITE_TRANSIENT);
	if (fp[0] != '\0')
		sqlite3_bind_text(s, 5, fp, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_int64(s, 6, (int64_t)time(NULL));
	rc = sqlite3_step(s);
	stmt_done(s);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = fail(r, err, errlen, "device %s is already registered", c);
	else if (rc != SQLITE_DONE)
		rc = fail(r, err, errlen, "cannot add %s: %s", c,
		    sqlite3_errstr(rc));
	else
		rc = 0;
out:
	return txn_end(r, own, rc, err, errlen);
}

/*
 * Runs an UPDATE or DELETE of one device (code bound as ?1, the rest by
 * the caller) and fails when no row changed: the code is not registered.
 */
static int
update_one(struct registry *r, uint32_t code, sqlite3_stmt *s, char *err,
    size_t errlen, const char *what)
{
	char c[9];
	int rc;

	env_code_format(code, c);
	sqlite3_bind_int64(s, 1, code);
	rc = sqlite3_step(s);
	stmt_done(s);
	if (rc != SQLITE_DONE)
		return fail(r, err, errlen, "cannot %s %s: %s", what, c,
		    sqlite3_errstr(rc));
	if (sqlite3_changes(r->db) == 0)
		return fail(r, err, errlen, "device %s is not registered", c);
	return 0;
}

int
registry_remove(struct registry *r, uint32_t code, char *err, size_t errlen)
{
	sqlite3_stmt *s;

	if ((s = stmt(r, ST_REMOVE)) == NULL)
		return relay(r, err, errlen);
	return update_one(r, code, s, err, errlen, "remove");
}

int
registry_set_enabled(struct registry *r, uint32_t code, bool enabled,
    char *err, size_t errlen)
{
	sqlite3_stmt *s;

	if ((s = stmt(r, ST_ENABLE)) == NULL)
		return relay(r, err, errlen);
	sqlite3_bind_int(s, 2, enabled ? 1 : 0);
	return update_one(r, code, s, err, errlen,
	    enabled ? "enable" : "disable");
}

int
registry_set_permits(struct registry *r, uint32_t code, const char *permits,
    char *err, size_t errlen)
{
	struct reg_permits p;
	char c[9], pbuf[REG_PERMITS_STRLEN], perr[128];
	sqlite3_stmt *s;

	if (reg_permits_parse(permits, &p, perr, sizeof(perr)) == -1) {
		env_code_format(code, c);
		return fail(r, err, errlen, "%s: %s", c, perr);
	}
	reg_permits_format(&p, pbuf, sizeof(pbuf));
	if ((s = stmt(r, ST_PERMITS)) == NULL)
		return relay(r, err, errlen);
	sqlite3_bind_text(s, 2, pbuf, -1, SQLITE_TRANSIENT);
	return update_one(r, code, s, err, errlen,
	    "set the permits of");
}

int
registry_set_fingerprint(struct registry *r, uint32_t code,
    const char *fingerprint, char *err, size_t errlen)
{
	char c[9], fp[REG_FINGERPRINT_LEN + 1];
	sqlite3_stmt *s;

	fp[0] = '\0';
	if (fingerprint != NULL && *fingerprint != '\0' &&
	    reg_fingerprint_parse(fingerprint, fp) == -1) {
		env_code_format(code, c);
		return fail(r, err, errlen, "%s: bad fingerprint (64 hex digits "
		    "of a SHA-256)", c);
	}
	if ((s = stmt(r, ST_FINGERPRINT)) == NULL)
		return relay(r, err, errlen);
	if (fp[0] != '\0')
		sqlite3_bind_text(s, 2, fp, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 2);
	return update_one(r, code, s, err, errlen,
	    "set the fingerprint of");
}

int
registry_touch_seen(struct registry *r, uint32_t code, int64_t when,
    char *err, size_t errlen)
{
	sqlite3_stmt *s;

	if ((s = stmt(r, ST_SEEN)) == NULL)
		return relay(r, err, errlen);
	sqlite3_bind_int64(s, 2, when);
	return update_one(r, code, s, err, errlen,
	    "record the login of");
}

/* Fills *d from the current row of a DEVICE_COLUMNS query.  0 or -1. */
static int
read_device(struct registry *r, sqlite3_stmt *s, struct reg_device *d)
{
	const char *kind, *permits, *fp;
	char c[9], perr[128];
	int64_t code;

	memset(d, 0, sizeof(*d));
	code = sqlite3_column_int64(s, 0);
	d->code = (uint32_t)code;
	env_code_format(d->code, c);
	kind = (const char *)sqlite3_column_text(s, 1);
	if (code < 0 || code > UINT32_MAX || kind == NULL ||
	    reg_kind_parse(kind, &d->kind) == -1)
		return fail(r, NULL, 0, "registry: corrupt row for %s", c);
	d->enabled = sqlite3_column_int(s, 2) != 0;
	permits = (const char *)sqlite3_column_text(s, 3);
	if (reg_permits_parse(permits, &d->permits, perr, sizeof(perr)) == -1)
		return fail(r, NULL, 0, "registry: corrupt permits for %s: %s",
		    c, perr);
	fp = (const char *)sqlite3_column_text(s, 4);
	if (fp != NULL && reg_fingerprint_parse(fp, d->fingerprint) == -1)
		return fail(r, NULL, 0, "registry: corrupt fingerprint for %s",
		    c);
	d->created = sqlite3_column_int64(s, 5);
	d->seen = sqlite3_column_int64(s, 6);
	return 0;
}

int
registry_get(struct registry *r, uint32_t code, struct reg_device *out)
{
	sqlite3_stmt *s;
	char c[9];
	int rc;

	if ((s = stmt(r, ST_GET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, code);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = read_device(r, s, out);
	else if (rc == SQLITE_DONE)
		rc = 1;
	else {
		env_code_format(code, c);
		rc = fail(r, NULL, 0, "cannot read %s: %s", c,
		    sqlite3_errstr(rc));
	}
	stmt_done(s);
	return rc;
}

int
registry_foreach(struct registry *r,
    int (*cb)(const struct reg_device *, void *), void *arg)
{
	struct reg_device d;
	sqlite3_stmt *s;
	int rc, ret = 0;

	if ((s = stmt(r, ST_ALL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (read_device(r, s, &d) == -1) {
			ret = -1;
			break;
		}
		if ((ret = cb(&d, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(r, NULL, 0, "registry: listing devices: %s",
		    sqlite3_errstr(rc));
	stmt_done(s);
	return ret;
}
