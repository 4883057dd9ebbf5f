/*
 * test_registry.c - CUnit tests of the domain's device registry
 * (DESIGN.md §7): opening, schema versions and migration, devices and
 * their changes, the region, permitted types, transactions.  Every file
 * lives in a fresh directory under /tmp, removed at the end.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <sqlite3.h>

#include "envelope.h"
#include "registry.h"

void	init_registry_tests(void);

static int	suite_init(void);
static int	suite_clean(void);
static const char *db_path(const char *);
static struct registry *fresh(const char *);
static int	raw_exec(const char *, const char *);
static int	raw_int(const char *, const char *, int *);
static int	raw_text(const char *, const char *, char *, size_t);
static void	test_open_create(void);
static void	test_open_errors(void);
static void	test_migrate_v1(void);
static void	test_newer_refused(void);
static void	test_add_get(void);
static void	test_refusals(void);
static void	test_changes(void);
static void	test_region(void);
static void	test_permits_valid(void);
static void	test_permits_invalid(void);
static void	test_permits_normalize(void);
static void	test_permits_allow(void);
static void	test_fingerprint_parse(void);
static void	test_foreach_order(void);
static void	test_transaction(void);
static void	test_rdonly(void);
static void	test_two_handles(void);

static char	tmpdir[64];
static char	pathbuf[128];

/* The schema of version 1, as it shipped: a fixture for migration. */
static const char v1_sql[] =
	"CREATE TABLE device ("
	" code INTEGER PRIMARY KEY CHECK (code BETWEEN 0 AND 4294967295),"
	" kind TEXT NOT NULL CHECK (kind IN ('CU', 'PU', 'FS')),"
	" enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	" permits TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL,"
	" seen INTEGER NOT NULL DEFAULT 0);"
	"PRAGMA user_version = 1;";

static int
suite_init(void)
{
	strcpy(tmpdir, "/tmp/nap-registry-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
	struct dirent *e;
	char p[512];
	DIR *d;

	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(tmpdir);
}

static const char *
db_path(const char *name)
{
	snprintf(pathbuf, sizeof(pathbuf), "%s/%s", tmpdir, name);
	return pathbuf;
}

/* A new, empty registry of that name (any old file removed first). */
static struct registry *
fresh(const char *name)
{
	char err[256], p[160];
	struct registry *r;

	snprintf(p, sizeof(p), "%s", db_path(name));
	unlink(p);
	r = registry_open(p, REG_CREATE, err, sizeof(err));
	if (r == NULL)
		fprintf(stderr, "registry_open: %s\n", err);
	return r;
}

/* SQL straight through SQLite, around the registry's back. */
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
raw_int(const char *path, const char *sql, int *out)
{
	char buf[32];

	if (raw_text(path, sql, buf, sizeof(buf)) == -1)
		return -1;
	*out = atoi(buf);
	return 0;
}

static int
raw_text(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *s = NULL;
	sqlite3 *db;
	int rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto out;
	snprintf(out, len, "%s", sqlite3_column_text(s, 0) ?
	    (const char *)sqlite3_column_text(s, 0) : "");
	rc = 0;
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

static void
test_open_create(void)
{
	char err[256], mode[16], p[160];
	struct registry *r;
	int v = -1;

	snprintf(p, sizeof(p), "%s", db_path("create.db"));
	/* Missing and no REG_CREATE: refused, naming the file. */
	err[0] = '\0';
	CU_ASSERT_PTR_NULL(registry_open(p, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "create.db"));
	CU_ASSERT_PTR_NULL(registry_open(p, REG_RDONLY, err, sizeof(err)));
	CU_ASSERT_EQUAL(access(p, F_OK), -1);

	r = registry_open(p, REG_CREATE, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(registry_error(r), "");
	/* The file is in WAL mode while the handle is open... */
	CU_ASSERT_EQUAL(raw_text(p, "PRAGMA journal_mode", mode,
	    sizeof(mode)), 0);
	CU_ASSERT_STRING_EQUAL(mode, "wal");
	registry_close(r);
	/* ... and stays so; the schema version is the current one. */
	CU_ASSERT_EQUAL(raw_text(p, "PRAGMA journal_mode", mode,
	    sizeof(mode)), 0);
	CU_ASSERT_STRING_EQUAL(mode, "wal");
	CU_ASSERT_EQUAL(raw_int(p, "PRAGMA user_version", &v), 0);
	CU_ASSERT_EQUAL(v, REG_SCHEMA_VERSION);

	/* Opening again, with and without REG_CREATE, keeps it. */
	r = registry_open(p, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(r);
	registry_close(r);
	r = registry_open(p, REG_CREATE, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(r);
	registry_close(r);
	registry_close(NULL);
}

static void
test_open_errors(void)
{
	char err[256], p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s", db_path("errors.db"));
	CU_ASSERT_PTR_NULL(registry_open(p, REG_CREATE | REG_RDONLY, err,
	    sizeof(err)));
	CU_ASSERT_PTR_NULL(registry_open(p, 0x100, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(registry_open("", REG_CREATE, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(registry_open(NULL, REG_CREATE, NULL, 0));

	/* A text file is not a database. */
	if ((f = fopen(p, "w")) == NULL) {
		CU_FAIL("cannot write a file in the test directory");
		return;
	}
	fputs("this is not a database, not even a small one, no no no no no "
	    "no no no no no no no no no no no no no no no no no no no no\n", f);
	fclose(f);
	err[0] = '\0';
	CU_ASSERT_PTR_NULL(registry_open(p, REG_CREATE, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a database"));
	unlink(p);

	/* A database of something else is not a registry. */
	CU_ASSERT_EQUAL(raw_exec(p, "CREATE TABLE t (x);"), 0);
	err[0] = '\0';
	CU_ASSERT_PTR_NULL(registry_open(p, REG_CREATE, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a NAP registry"));
	unlink(p);

	/* An empty file is one only when asked to create it. */
	if ((f = fopen(p, "w")) == NULL) {
		CU_FAIL("cannot write a file in the test directory");
		return;
	}
	fclose(f);
	CU_ASSERT_PTR_NULL(registry_open(p, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a NAP registry"));
	unlink(p);
}

static void
test_migrate_v1(void)
{
	char err[256], p[160];
	struct reg_device d;
	struct registry *r;
	uint16_t region;
	int v = 0;

	snprintf(p, sizeof(p), "%s", db_path("v1.db"));
	unlink(p);
	CU_ASSERT_EQUAL_FATAL(raw_exec(p, v1_sql), 0);
	CU_ASSERT_EQUAL(raw_exec(p, "INSERT INTO device (code, kind, enabled,"
	    " permits, created, seen) VALUES (65538, 'PU', 0, '1000-1999',"
	    " 1700000000, 1700000500), (65539, 'CU', 1, '', 1700000001, 0);"),
	    0);

	/* Read-only cannot migrate: refused, the file untouched. */
	err[0] = '\0';
	CU_ASSERT_PTR_NULL(registry_open(p, REG_RDONLY, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "version 1"));
	CU_ASSERT_EQUAL(raw_int(p, "PRAGMA user_version", &v), 0);
	CU_ASSERT_EQUAL(v, 1);

	r = registry_open(p, 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(raw_int(p, "PRAGMA user_version", &v), 0);
	CU_ASSERT_EQUAL(v, REG_SCHEMA_VERSION);

	/* The old rows are all there, with the new column empty. */
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_EQUAL(d.code, 0x00010002u);
	CU_ASSERT_EQUAL(d.kind, REG_KIND_PU);
	CU_ASSERT_FALSE(d.enabled);
	CU_ASSERT_EQUAL(d.permits.n, 1);
	CU_ASSERT_EQUAL(d.permits.lo[0], 1000);
	CU_ASSERT_EQUAL(d.permits.hi[0], 1999);
	CU_ASSERT_STRING_EQUAL(d.fingerprint, "");
	CU_ASSERT_EQUAL(d.created, 1700000000);
	CU_ASSERT_EQUAL(d.seen, 1700000500);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010003u, &d), 0);
	CU_ASSERT_TRUE(d.enabled);

	/* And the new features work on them. */
	CU_ASSERT_EQUAL(registry_region(r, &region), 1);
	CU_ASSERT_EQUAL(registry_set_region(r, 1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_set_fingerprint(r, 0x00010002u,
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.fingerprint,
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	registry_close(r);

	/* Opening the migrated file again changes nothing. */
	r = registry_open(p, REG_RDONLY, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_region(r, &region), 0);
	CU_ASSERT_EQUAL(region, 1);
	registry_close(r);
}

static void
test_newer_refused(void)
{
	char err[256], p[160], sql[64];
	struct registry *r;
	int v = 0;

	r = fresh("newer.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	registry_close(r);
	snprintf(p, sizeof(p), "%s", db_path("newer.db"));
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    REG_SCHEMA_VERSION + 1);
	CU_ASSERT_EQUAL_FATAL(raw_exec(p, sql), 0);

	err[0] = '\0';
	CU_ASSERT_PTR_NULL(registry_open(p, 0, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "newer"));
	CU_ASSERT_PTR_NULL(registry_open(p, REG_CREATE, err, sizeof(err)));
	CU_ASSERT_PTR_NULL(registry_open(p, REG_RDONLY, err, sizeof(err)));
	CU_ASSERT_EQUAL(raw_int(p, "PRAGMA user_version", &v), 0);
	CU_ASSERT_EQUAL(v, REG_SCHEMA_VERSION + 1);
}

static void
test_add_get(void)
{
	char err[256];
	struct reg_device d;
	struct registry *r;
	time_t t0 = time(NULL);

	r = fresh("add.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 1);
	CU_ASSERT_EQUAL(registry_add(r, 0x00010002u, REG_KIND_CU, true,
	    "3000-3010, 1000-1999 ,2500", NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_add(r, 0x0001ABCDu, REG_KIND_FS, false, "",
	    "", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_add(r, 0xFFFEFFFFu, REG_KIND_PU, true, NULL,
	    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"
	    "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99", err,
	    sizeof(err)), 0);

	memset(&d, 0xff, sizeof(d));
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_EQUAL(d.code, 0x00010002u);
	CU_ASSERT_EQUAL(d.kind, REG_KIND_CU);
	CU_ASSERT_TRUE(d.enabled);
	CU_ASSERT_STRING_EQUAL(d.fingerprint, "");
	CU_ASSERT_EQUAL(d.permits.n, 3);
	CU_ASSERT_EQUAL(d.permits.lo[0], 1000);
	CU_ASSERT_EQUAL(d.permits.hi[0], 1999);
	CU_ASSERT_EQUAL(d.permits.lo[1], 2500);
	CU_ASSERT_EQUAL(d.permits.hi[1], 2500);
	CU_ASSERT_EQUAL(d.permits.lo[2], 3000);
	CU_ASSERT_EQUAL(d.permits.hi[2], 3010);
	CU_ASSERT_TRUE(d.created >= t0 && d.created <= time(NULL));
	CU_ASSERT_EQUAL(d.seen, 0);

	CU_ASSERT_EQUAL(registry_get(r, 0x0001ABCDu, &d), 0);
	CU_ASSERT_EQUAL(d.kind, REG_KIND_FS);
	CU_ASSERT_FALSE(d.enabled);
	CU_ASSERT_EQUAL(d.permits.n, 0);

	CU_ASSERT_EQUAL(registry_get(r, 0xFFFEFFFFu, &d), 0);
	CU_ASSERT_EQUAL(d.kind, REG_KIND_PU);
	CU_ASSERT_STRING_EQUAL(d.fingerprint,
	    "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899");

	CU_ASSERT_EQUAL(registry_get(r, 0x00010003u, &d), 1);
	registry_close(r);
}

static void
test_refusals(void)
{
	static const uint32_t not_devices[] = {
		0x00000000u,	/* the platform */
		0x00010000u,	/* a domain */
		0xFFFE0000u,
		0x00000001u,	/* reserved: region 0000 */
		0xFFFF0001u,	/* reserved: region FFFF */
		0xFFFFFFFFu,
	};
	char err[256];
	struct registry *r;
	size_t i;

	r = fresh("refuse.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	for (i = 0; i < sizeof(not_devices) / sizeof(not_devices[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(registry_add(r, not_devices[i], REG_KIND_CU,
		    true, NULL, NULL, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a device code"));
		CU_ASSERT_STRING_EQUAL(registry_error(r), err);
	}

	CU_ASSERT_EQUAL(registry_add(r, 0x00010002u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	err[0] = '\0';
	CU_ASSERT_EQUAL(registry_add(r, 0x00010002u, REG_KIND_PU, true, NULL,
	    NULL, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "device 00010002 is already registered");

	/* Bad permits, fingerprint or kind: refused, nothing written. */
	CU_ASSERT_EQUAL(registry_add(r, 0x00010003u, REG_KIND_CU, true, "999",
	    NULL, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "999"));
	CU_ASSERT_EQUAL(registry_add(r, 0x00010003u, REG_KIND_CU, true, NULL,
	    "abcd", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "fingerprint"));
	CU_ASSERT_EQUAL(registry_add(r, 0x00010003u, (enum reg_kind)7, true,
	    NULL, NULL, err, sizeof(err)), -1);

	/* Changes to unknown devices fail, naming the code. */
	err[0] = '\0';
	CU_ASSERT_EQUAL(registry_remove(r, 0x00010003u, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "device 00010003 is not registered");
	CU_ASSERT_EQUAL(registry_set_enabled(r, 0x00010003u, false, err,
	    sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_set_permits(r, 0x00010003u, "1000", err,
	    sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_set_fingerprint(r, 0x00010003u, NULL, err,
	    sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_touch_seen(r, 0x00010003u, 5, err,
	    sizeof(err)), -1);
	/* A NULL buffer is allowed. */
	CU_ASSERT_EQUAL(registry_remove(r, 0x00010003u, NULL, 0), -1);
	CU_ASSERT_STRING_EQUAL(registry_error(r),
	    "device 00010003 is not registered");
	/* Bad values for a known device leave it as it was. */
	CU_ASSERT_EQUAL(registry_set_permits(r, 0x00010002u, "1000-", err,
	    sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_set_fingerprint(r, 0x00010002u, "zz", err,
	    sizeof(err)), -1);
	registry_close(r);
}

static void
test_changes(void)
{
	char err[256], buf[REG_PERMITS_STRLEN];
	struct reg_device d;
	struct registry *r;

	r = fresh("change.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL_FATAL(registry_add(r, 0x00010002u, REG_KIND_CU, true,
	    NULL, NULL, err, sizeof(err)), 0);

	CU_ASSERT_EQUAL(registry_set_enabled(r, 0x00010002u, false, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_FALSE(d.enabled);
	CU_ASSERT_EQUAL(registry_set_enabled(r, 0x00010002u, true, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_TRUE(d.enabled);
	/* Setting the same value again is fine. */
	CU_ASSERT_EQUAL(registry_set_enabled(r, 0x00010002u, true, err,
	    sizeof(err)), 0);

	CU_ASSERT_EQUAL(registry_set_permits(r, 0x00010002u,
	    "1000-1999,1500-2500,3000", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	reg_permits_format(&d.permits, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1000-2500,3000");
	CU_ASSERT_FALSE(reg_permits_allow(&d.permits, 2501));
	CU_ASSERT_TRUE(reg_permits_allow(&d.permits, 3000));
	/* Stored in normal form. */
	CU_ASSERT_EQUAL(raw_text(db_path("change.db"), "SELECT permits FROM "
	    "device", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "1000-2500,3000");
	CU_ASSERT_EQUAL(registry_set_permits(r, 0x00010002u, NULL, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_EQUAL(d.permits.n, 0);
	CU_ASSERT_EQUAL(registry_set_permits(r, 0x00010002u, "5000", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_set_permits(r, 0x00010002u, "", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_EQUAL(d.permits.n, 0);

	CU_ASSERT_EQUAL(registry_set_fingerprint(r, 0x00010002u,
	    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
	    err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.fingerprint,
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	CU_ASSERT_EQUAL(registry_set_fingerprint(r, 0x00010002u, "", err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.fingerprint, "");
	CU_ASSERT_EQUAL(registry_set_fingerprint(r, 0x00010002u,
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_set_fingerprint(r, 0x00010002u, NULL, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.fingerprint, "");

	CU_ASSERT_EQUAL(registry_touch_seen(r, 0x00010002u, 1800000000, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_EQUAL(d.seen, 1800000000);

	CU_ASSERT_EQUAL(registry_remove(r, 0x00010002u, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 1);
	/* A removed code may be registered again. */
	CU_ASSERT_EQUAL(registry_add(r, 0x00010002u, REG_KIND_PU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 0);
	CU_ASSERT_EQUAL(d.kind, REG_KIND_PU);
	CU_ASSERT_EQUAL(d.seen, 0);
	registry_close(r);
}

static void
test_region(void)
{
	char err[256];
	struct registry *r;
	uint16_t region = 0;

	r = fresh("region.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_region(r, &region), 1);
	CU_ASSERT_EQUAL(registry_set_region(r, 0, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_set_region(r, 0xFFFF, err, sizeof(err)), -1);

	/* No region: any device region is accepted... */
	CU_ASSERT_EQUAL(registry_add(r, 0x00020001u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	/* ... but then the region cannot be set to another one. */
	err[0] = '\0';
	CU_ASSERT_EQUAL(registry_set_region(r, 1, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "00020001"));
	CU_ASSERT_EQUAL(registry_region(r, &region), 1);
	CU_ASSERT_EQUAL(registry_remove(r, 0x00020001u, err, sizeof(err)), 0);

	CU_ASSERT_EQUAL(registry_add(r, 0x00010001u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_add(r, 0x0001FFFFu, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_set_region(r, 1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_region(r, &region), 0);
	CU_ASSERT_EQUAL(region, 1);
	/* Same region again: fine; another: refused. */
	CU_ASSERT_EQUAL(registry_set_region(r, 1, err, sizeof(err)), 0);
	err[0] = '\0';
	CU_ASSERT_EQUAL(registry_set_region(r, 2, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0001"));

	err[0] = '\0';
	CU_ASSERT_EQUAL(registry_add(r, 0x00020001u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
	    "00020001 is not of region 0001, the registry's");
	CU_ASSERT_EQUAL(registry_add(r, 0x00000005u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_add(r, 0x00010005u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	registry_close(r);

	/* The region survives a reopen. */
	r = registry_open(db_path("region.db"), 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	region = 0;
	CU_ASSERT_EQUAL(registry_region(r, &region), 0);
	CU_ASSERT_EQUAL(region, 1);
	registry_close(r);

	/* A high region too (FFFE is the last domain region). */
	r = fresh("region2.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_set_region(r, 0xFFFE, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_region(r, &region), 0);
	CU_ASSERT_EQUAL(region, 0xFFFE);
	CU_ASSERT_EQUAL(registry_add(r, 0xFFFE1234u, REG_KIND_FS, true, NULL,
	    NULL, err, sizeof(err)), 0);
	registry_close(r);
}

static void
test_permits_valid(void)
{
	static const struct {
		const char	*in;
		const char	*out;
	} ok[] = {
		{ NULL, "" },
		{ "", "" },
		{ "  \t ", "" },
		{ "1000", "1000" },
		{ "1000-1999", "1000-1999" },
		{ "1000-1999,2500,3000-3010", "1000-1999,2500,3000-3010" },
		{ " 1000-1999 , 2500 ,\t3000-3010 ", "1000-1999,2500,3000-3010" },
		{ "4294967295", "4294967295" },
		{ "1000-4294967295", "1000-4294967295" },
		{ "0001000", "1000" },
		{ "5000-5000", "5000" },
		{ "3000,2000,1000", "1000,2000,3000" },
	};
	char err[128], buf[REG_PERMITS_STRLEN];
	struct reg_permits p;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(reg_permits_parse(ok[i].in, &p, err,
		    sizeof(err)), 0);
		reg_permits_format(&p, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, ok[i].out);
		if (strcmp(buf, ok[i].out) != 0)
			fprintf(stderr, "permits '%s': '%s', wanted '%s'\n",
			    ok[i].in ? ok[i].in : "(null)", buf, ok[i].out);
	}
}

static void
test_permits_invalid(void)
{
	static const char *const bad[] = {
		"999", "0", "2000-1000", "abc", "1000-", "-1000", "1000--2000",
		"4294967296", "1000-4294967296", "99999999999", ",", "1000,",
		",1000", "1000,,2000", "1000 2000", "1000 - 2000", "+1000",
		"1000x", "1e3", "0x3e8", "1000-999",
	};
	char err[128], many[65 * 12], *q;
	struct reg_permits p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(reg_permits_parse(bad[i], &p, err,
		    sizeof(err)), -1);
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
		if (reg_permits_parse(bad[i], &p, NULL, 0) != -1)
			fprintf(stderr, "permits '%s' accepted\n", bad[i]);
	}
	/* The message names the bad item and why. */
	CU_ASSERT_EQUAL(reg_permits_parse("1000,999", &p, err, sizeof(err)),
	    -1);
	CU_ASSERT_STRING_EQUAL(err,
	    "bad permits '999': types below 1000 are reserved");
	CU_ASSERT_EQUAL(reg_permits_parse("2000-1000", &p, err, sizeof(err)),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "'2000-1000'"));
	CU_ASSERT_EQUAL(reg_permits_parse("4294967296", &p, err, sizeof(err)),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "4294967295"));

	/* 64 ranges are fine, 65 are not (even ones that would merge). */
	for (i = 0, q = many; i < 64; i++)
		q += sprintf(q, "%s%zu", i ? "," : "", 1000 + 2 * i);
	CU_ASSERT_EQUAL(reg_permits_parse(many, &p, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(p.n, 64);
	sprintf(q, ",%d", 5000);
	err[0] = '\0';
	CU_ASSERT_EQUAL(reg_permits_parse(many, &p, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "64"));
	for (i = 0, q = many; i < 65; i++)
		q += sprintf(q, "%s1000", i ? "," : "");
	CU_ASSERT_EQUAL(reg_permits_parse(many, &p, err, sizeof(err)), -1);
}

static void
test_permits_normalize(void)
{
	static const struct {
		const char	*in;
		const char	*out;
	} norm[] = {
		{ "1000-1999,1500-2500,3000", "1000-2500,3000" },
		{ "3000,1500-2500,1000-1999", "1000-2500,3000" },
		{ "1000-1999,2000-2999", "1000-2999" },		/* adjacent */
		{ "1000-1999,2001-2999", "1000-1999,2001-2999" },
		{ "1000,1001,1002,1004", "1000-1002,1004" },
		{ "2000-3000,2100-2200", "2000-3000" },		/* inside */
		{ "1000,1000,1000", "1000" },
		{ "4294967295,1000-4294967295", "1000-4294967295" },
		{ "4294967290-4294967295,4294967295", "4294967290-4294967295" },
		{ "5000-6000,1000-2000,1500-5500", "1000-6000" },
	};
	char err[128], buf[REG_PERMITS_STRLEN], small[8];
	struct reg_permits p;
	size_t i;

	for (i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		CU_ASSERT_EQUAL(reg_permits_parse(norm[i].in, &p, err,
		    sizeof(err)), 0);
		reg_permits_format(&p, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, norm[i].out);
		if (strcmp(buf, norm[i].out) != 0)
			fprintf(stderr, "permits '%s': '%s', wanted '%s'\n",
			    norm[i].in, buf, norm[i].out);
	}
	/* A short buffer gets a terminated prefix. */
	CU_ASSERT_EQUAL(reg_permits_parse("1000-1999,3000", &p, err,
	    sizeof(err)), 0);
	reg_permits_format(&p, small, sizeof(small));
	CU_ASSERT_STRING_EQUAL(small, "1000-19");
	reg_permits_format(&p, small, 0);

	/* The longest list fits REG_PERMITS_STRLEN. */
	{
		char many[64 * 22 + 1], *q = many;

		for (i = 0; i < 64; i++)
			q += sprintf(q, "%s%u-%u", i ? "," : "",
			    4294967295u - 128 + 2 * (unsigned)i,
			    4294967295u - 128 + 2 * (unsigned)i);
		CU_ASSERT_EQUAL(reg_permits_parse(many, &p, err, sizeof(err)),
		    0);
		reg_permits_format(&p, buf, sizeof(buf));
		CU_ASSERT_EQUAL(strlen(buf), 64 * 11 - 1);
		for (i = 0, q = many; i < 64; i++)
			q += sprintf(q, "%s%u-%u", i ? "," : "",
			    1000000000u + 20 * (unsigned)i,
			    4000000000u + 20 * (unsigned)i);
		CU_ASSERT_EQUAL(reg_permits_parse(many, &p, err, sizeof(err)),
		    0);
		CU_ASSERT_EQUAL(p.n, 1);
	}
}

static void
test_permits_allow(void)
{
	struct reg_permits p;
	char err[128], many[64 * 12];
	char *q;
	uint32_t t;
	size_t i;

	/* No ranges: everything. */
	CU_ASSERT_EQUAL(reg_permits_parse("", &p, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(reg_permits_allow(&p, 1000));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 4294967295u));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 0));

	CU_ASSERT_EQUAL(reg_permits_parse("1000-1999,2500,3000-3010", &p, err,
	    sizeof(err)), 0);
	CU_ASSERT_TRUE(reg_permits_allow(&p, 1000));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 1500));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 1999));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 2000));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 2499));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 2500));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 2501));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 2999));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 3000));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 3010));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 3011));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 4294967295u));
	/* Reserved types are not governed by permits (§4 decides). */
	CU_ASSERT_TRUE(reg_permits_allow(&p, 0));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 5));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 999));

	CU_ASSERT_EQUAL(reg_permits_parse("1001,4294967295", &p, err,
	    sizeof(err)), 0);
	CU_ASSERT_FALSE(reg_permits_allow(&p, 1000));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 1001));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 1002));
	CU_ASSERT_FALSE(reg_permits_allow(&p, 4294967294u));
	CU_ASSERT_TRUE(reg_permits_allow(&p, 4294967295u));

	/* 64 single types: every one in, every gap out. */
	for (i = 0, q = many; i < 64; i++)
		q += sprintf(q, "%s%zu", i ? "," : "", 2000 + 3 * i);
	CU_ASSERT_EQUAL(reg_permits_parse(many, &p, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(p.n, 64);
	for (t = 1000; t < 2300; t++)
		CU_ASSERT_EQUAL(reg_permits_allow(&p, t),
		    t >= 2000 && t <= 2000 + 3 * 63 && (t - 2000) % 3 == 0);
}

static void
test_fingerprint_parse(void)
{
	char out[REG_FINGERPRINT_LEN + 1];
	const char *lower =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

	CU_ASSERT_EQUAL(reg_fingerprint_parse(lower, out), 0);
	CU_ASSERT_STRING_EQUAL(out, lower);
	CU_ASSERT_EQUAL(reg_fingerprint_parse(
	    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF", out), 0);
	CU_ASSERT_STRING_EQUAL(out, lower);
	CU_ASSERT_EQUAL(reg_fingerprint_parse(NULL, out), -1);
	CU_ASSERT_EQUAL(reg_fingerprint_parse("", out), -1);
	CU_ASSERT_EQUAL(reg_fingerprint_parse(
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	    out), -1);
	CU_ASSERT_EQUAL(reg_fingerprint_parse(
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
	    out), -1);
	CU_ASSERT_EQUAL(reg_fingerprint_parse(
	    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD;EF", out), -1);
}

struct collect {
	uint32_t	codes[16];
	int		n;
	int		stop_at;	/* stop after this many; 0 = never */
};

static int
collect_cb(const struct reg_device *d, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16)
		c->codes[c->n] = d->code;
	c->n++;
	return c->stop_at != 0 && c->n == c->stop_at ? 7 : 0;
}

static void
test_foreach_order(void)
{
	static const uint32_t codes[] = {
		0x00010100u, 0x00010002u, 0x0001FFFFu, 0x00010001u,
		0x000100ABu, 0x00010010u,
	};
	static const uint32_t sorted[] = {
		0x00010001u, 0x00010002u, 0x00010010u, 0x000100ABu,
		0x00010100u, 0x0001FFFFu,
	};
	struct collect c;
	char err[256];
	struct registry *r;
	size_t i;

	r = fresh("foreach.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(registry_foreach(r, collect_cb, &c), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		CU_ASSERT_EQUAL(registry_add(r, codes[i], REG_KIND_CU, true,
		    NULL, NULL, err, sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(registry_foreach(r, collect_cb, &c), 0);
	CU_ASSERT_EQUAL(c.n, 6);
	for (i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(c.codes[i], sorted[i]);
	/* A positive return stops the walk and is passed on. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	CU_ASSERT_EQUAL(registry_foreach(r, collect_cb, &c), 7);
	CU_ASSERT_EQUAL(c.n, 2);
	/* The walk can be repeated (the statement was reset). */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(registry_foreach(r, collect_cb, &c), 0);
	CU_ASSERT_EQUAL(c.n, 6);
	registry_close(r);
}

static void
test_transaction(void)
{
	char err[256];
	struct reg_device d;
	struct registry *r;

	r = fresh("txn.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_commit(r, err, sizeof(err)), -1);
	registry_rollback(r);

	CU_ASSERT_EQUAL(registry_begin(r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_begin(r, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_add(r, 0x00010001u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_add(r, 0x00010002u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	/* A refused add inside leaves the transaction usable. */
	CU_ASSERT_EQUAL(registry_add(r, 0x00010002u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010001u, &d), 0);
	registry_rollback(r);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010001u, &d), 1);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010002u, &d), 1);

	CU_ASSERT_EQUAL(registry_begin(r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_set_region(r, 1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_add(r, 0x00010001u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_add(r, 0x00020001u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_commit(r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010001u, &d), 0);

	/* A transaction left open is rolled back at close. */
	CU_ASSERT_EQUAL(registry_begin(r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_add(r, 0x00010009u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	registry_close(r);
	r = registry_open(db_path("txn.db"), 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010009u, &d), 1);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010001u, &d), 0);
	registry_close(r);
}

static void
test_rdonly(void)
{
	char err[256];
	struct reg_device d;
	struct registry *r;

	r = fresh("ro.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_add(r, 0x00010001u, REG_KIND_PU, true, "1000",
	    NULL, err, sizeof(err)), 0);
	registry_close(r);

	r = registry_open(db_path("ro.db"), REG_RDONLY, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010001u, &d), 0);
	CU_ASSERT_EQUAL(d.kind, REG_KIND_PU);
	err[0] = '\0';
	CU_ASSERT_EQUAL(registry_add(r, 0x00010002u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), -1);
	CU_ASSERT_NOT_EQUAL(err[0], '\0');
	CU_ASSERT_EQUAL(registry_set_enabled(r, 0x00010001u, false, err,
	    sizeof(err)), -1);
	CU_ASSERT_EQUAL(registry_get(r, 0x00010001u, &d), 0);
	CU_ASSERT_TRUE(d.enabled);
	registry_close(r);
}

/* nap-ctl and nap-domain hold separate handles: changes show at once. */
static void
test_two_handles(void)
{
	char err[256];
	struct reg_device d;
	struct registry *a, *b;

	a = fresh("two.db");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	b = registry_open(db_path("two.db"), 0, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(registry_get(b, 0x00010001u, &d), 1);
	CU_ASSERT_EQUAL(registry_add(a, 0x00010001u, REG_KIND_CU, true, NULL,
	    NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(b, 0x00010001u, &d), 0);
	CU_ASSERT_TRUE(d.enabled);
	CU_ASSERT_EQUAL(registry_set_enabled(a, 0x00010001u, false, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(b, 0x00010001u, &d), 0);
	CU_ASSERT_FALSE(d.enabled);
	CU_ASSERT_EQUAL(registry_touch_seen(b, 0x00010001u, 42, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(registry_get(a, 0x00010001u, &d), 0);
	CU_ASSERT_EQUAL(d.seen, 42);
	registry_close(a);
	registry_close(b);
}

void
init_registry_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("registry", suite_init, suite_clean);
	if (s == NULL)
		return;
	CU_add_test(s, "open and create", test_open_create);
	CU_add_test(s, "open errors", test_open_errors);
	CU_add_test(s, "migration from version 1", test_migrate_v1);
	CU_add_test(s, "newer schema refused", test_newer_refused);
	CU_add_test(s, "add and get", test_add_get);
	CU_add_test(s, "refusals", test_refusals);
	CU_add_test(s, "enable, permits, fingerprint, seen, remove",
	    test_changes);
	CU_add_test(s, "region", test_region);
	CU_add_test(s, "permits: valid", test_permits_valid);
	CU_add_test(s, "permits: invalid", test_permits_invalid);
	CU_add_test(s, "permits: normal form", test_permits_normalize);
	CU_add_test(s, "permits: allow", test_permits_allow);
	CU_add_test(s, "fingerprint forms", test_fingerprint_parse);
	CU_add_test(s, "foreach in code order", test_foreach_order);
	CU_add_test(s, "transactions", test_transaction);
	CU_add_test(s, "read only", test_rdonly);
	CU_add_test(s, "two handles", test_two_handles);
}
