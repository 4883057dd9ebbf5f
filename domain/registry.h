/*
 * registry.h - the device registry of a domain (DESIGN.md §1, §4, §7).
 *
 * One SQLite file per domain lists the devices the domain server admits:
 * code, kind (CU, PU or FS), enabled, an optional certificate fingerprint
 * (pinning), the application message types the device may send, and when
 * it was created and last seen.  The registry also records the domain's
 * region; once set, devices of other regions are refused.
 *
 * nap-ctl edits the file while nap-domain runs: every read goes to the
 * database, so a change is seen by the next registry_get() without a
 * restart (SIGHUP is still how a server is told to re-read everything).
 *
 * Threads: a struct registry is one SQLite connection with its prepared
 * statements; use one per thread and never share one between threads.
 * Processes: any number may open the same file (WAL mode, busy timeout of
 * 5 s); writers are serialised by SQLite.
 *
 * Errors: functions return 0 on success and -1 on failure, with one line
 * (never a secret) in the caller's err buffer when one is given, and
 * always in registry_error().  err may be NULL when errlen is 0.
 */
#ifndef NAP_REGISTRY_H
#define NAP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema version this code writes; older files are migrated at open. */
#define REG_SCHEMA_VERSION	2

/* registry_open() flags. */
#define REG_CREATE	0x1	/* create the file and schema if missing */
#define REG_RDONLY	0x2	/* read only: no migration, no writes */

enum reg_kind {
	REG_KIND_CU = 0,	/* client unit: people's apps */
	REG_KIND_PU,		/* peripheral unit: terminals, sensors */
	REG_KIND_FS,		/* function server (§7) */
};

/* ---- permitted message types ---------------------------------------- */

#define REG_PERMITS_MAX		64	/* ranges in one list */
#define REG_PERMITS_MIN_TYPE	1000	/* types below are reserved (§4) */
/* A buffer of this size holds any formatted list ("lo-hi,..." and NUL). */
#define REG_PERMITS_STRLEN	(REG_PERMITS_MAX * 22)

/*
 * The application types a device may send: n sorted, disjoint,
 * non-adjacent ranges lo[i]..hi[i] (inclusive).  n == 0 means every type.
 * Plain data of fixed size: copy it by assignment, nothing to free.
 */
struct reg_permits {
	uint32_t	n;
	uint32_t	lo[REG_PERMITS_MAX];
	uint32_t	hi[REG_PERMITS_MAX];
};

/*
 * Parses "1000-1999,2500,3000-3010": comma-separated decimal types or
 * lo-hi ranges, each type 1000..4294967295, lo <= hi, at most 64 items,
 * white space allowed around the commas and at both ends.  NULL or a
 * string of only white space is the empty list (every type).  The result
 * is normalised: sorted, overlapping and adjacent ranges merged.
 * Returns 0 and fills *out, or -1 with a message naming the bad item.
 */
int	reg_permits_parse(const char *s, struct reg_permits *out, char *err,
	    size_t errlen);

/*
 * Whether a device with these permits may send an application message of
 * this type.  True when the list is empty.  Types below 1000 are not
 * governed by permits (the §4 rules decide them): always true.
 * Binary search, O(log n).
 */
bool	reg_permits_allow(const struct reg_permits *, uint32_t type);

/*
 * Writes the normal form ("1000-2500,3000"; "" for the empty list) into
 * buf.  A buffer of REG_PERMITS_STRLEN bytes always suffices; a smaller
 * one gets a NUL-terminated prefix.
 */
void	reg_permits_format(const struct reg_permits *, char *buf, size_t len);

/* ---- devices ------------------------------------------------------- */

/* Length of a fingerprint: SHA-256 of the DER certificate, lower-case hex. */
#define REG_FINGERPRINT_LEN	64

/* One registered device, plain data owned by the caller. */
struct reg_device {
	uint32_t		code;
	enum reg_kind		kind;
	bool			enabled;
	char			fingerprint[REG_FINGERPRINT_LEN + 1];
					/* "" when not pinned */
	struct reg_permits	permits;
	int64_t			created;	/* unix seconds */
	int64_t			seen;		/* unix seconds, 0 = never */
};

/* "CU", "PU" or "FS" (a static string). */
const char *reg_kind_name(enum reg_kind);
/* Parses CU, PU or FS in either case.  Returns 0, or -1. */
int	reg_kind_parse(const char *s, enum reg_kind *out);

/*
 * Normalises a certificate fingerprint: 64 hex digits, or 32 pairs
 * separated by colons (openssl's form), either case, into 64 lower-case
 * hex digits and a NUL in out.  Returns 0, or -1.
 */
int	reg_fingerprint_parse(const char *s, char out[REG_FINGERPRINT_LEN + 1]);

/* ---- the registry --------------------------------------------------- */

struct registry;

/*
 * Opens the registry at path.  Without REG_CREATE a missing file is an
 * error; with it, the file and schema are created.  A file of an older
 * schema version is migrated in one transaction (not with REG_RDONLY,
 * which then fails); a newer version than REG_SCHEMA_VERSION is refused.
 * Read-write connections use WAL, synchronous=FULL, foreign keys and a
 * 5 s busy timeout.  Returns a new handle the caller frees with
 * registry_close(), or NULL with a message in err.
 */
struct registry *registry_open(const char *path, int flags, char *err,
	    size_t errlen);
/* Closes the handle and frees it (a transaction still open is rolled
 * back).  NULL is allowed. */
void	registry_close(struct registry *);

/*
 * The message of the last failure on this handle ("" if none); valid
 * until the next call on the handle.  Owned by the handle.
 */
const char *registry_error(const struct registry *);

/*
 * Transactions: every function below is atomic on its own.  To apply
 * many changes at once (nap-ctl's bulk add), wrap them in begin/commit;
 * on any failure call registry_rollback() and nothing is applied.
 * registry_rollback() outside a transaction does nothing.
 */
int	registry_begin(struct registry *, char *err, size_t errlen);
int	registry_commit(struct registry *, char *err, size_t errlen);
void	registry_rollback(struct registry *);

/*
 * The domain's region (RRRR of its code).  registry_region returns 0 and
 * sets *region, 1 when no region is recorded, -1 on error.
 * registry_set_region records it: 0001..FFFE only; refused when another
 * region is already recorded or when a device of another region is
 * registered; setting the same region again is a no-op.
 */
int	registry_region(struct registry *, uint16_t *region);
int	registry_set_region(struct registry *, uint16_t region, char *err,
	    size_t errlen);

/*
 * Registers a device, created now, never seen.  Refused: a code that is
 * not a device code (§1), a device of another region than the recorded
 * one, a code already registered, bad permits or fingerprint.  permits
 * and fingerprint may be NULL or "" (every type; not pinned); both are
 * copied.
 */
int	registry_add(struct registry *, uint32_t code, enum reg_kind kind,
	    bool enabled, const char *permits, const char *fingerprint,
	    char *err, size_t errlen);

/*
 * Changes to a registered device; each fails (-1, "... is not
 * registered") when the code is unknown.  set_permits takes a list for
 * reg_permits_parse (NULL or "" = every type); set_fingerprint takes a
 * form for reg_fingerprint_parse, or NULL / "" to unpin.  touch_seen
 * records the last login time (unix seconds).
 */
int	registry_remove(struct registry *, uint32_t code, char *err,
	    size_t errlen);
int	registry_set_enabled(struct registry *, uint32_t code, bool enabled,
	    char *err, size_t errlen);
int	registry_set_permits(struct registry *, uint32_t code,
	    const char *permits, char *err, size_t errlen);
int	registry_set_fingerprint(struct registry *, uint32_t code,
	    const char *fingerprint, char *err, size_t errlen);
int	registry_touch_seen(struct registry *, uint32_t code, int64_t when,
	    char *err, size_t errlen);

/*
 * Looks a device up.  Returns 0 and fills *out (caller's storage), 1
 * when the code is not registered, -1 on error (registry_error()).
 */
int	registry_get(struct registry *, uint32_t code, struct reg_device *out);

/*
 * Calls cb once per device in code order, with a device valid only during
 * the call.  cb returns 0 to go on, or a positive value to stop, which
 * registry_foreach then returns.  Returns 0 when every device was
 * visited, -1 on error (registry_error()).  cb must not change the
 * registry through the same handle.
 */
int	registry_foreach(struct registry *,
	    int (*cb)(const struct reg_device *, void *), void *arg);

#endif /* NAP_REGISTRY_H */
