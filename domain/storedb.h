/*
 * storedb.h - the file of a domain's message store (DESIGN.md §5 "Stores
 * and TTL", §9 `--store`): where it lives, its schema, opening it.
 * nap-domain's store thread (store.c) and `nap-ctl store` use it.
 *
 * Its own file, not the registry's: the store is written at message
 * rates by one thread with group commits, the registry is edited by
 * nap-ctl and read by every I/O thread; one file would make the two
 * share SQLite's single writer lock and the registry's readers would
 * wait on the store's fsyncs.
 *
 * Schema (PRAGMA user_version = 1):
 *   msg(id, dest, ord, sender, seq, session, type, ack, received,
 *       expires, frame)  - one stored message or receipt; delivered in
 *       (dest, ord) order; frame is the envelope without its length
 *       prefix, exactly as received (§6: forwarding reuses the bytes).
 *   session(code, id, expires) - the session a device may resume (§5).
 * Times are Unix seconds (wall clock: they must survive a restart).
 */
#ifndef NAP_STOREDB_H
#define NAP_STOREDB_H

#include <stddef.h>

#include <sqlite3.h>

#define STOREDB_VERSION		1
#define STOREDB_BUSY_MS		5000

/*
 * The default store file for a registry file: beside it, its name with
 * a trailing ".db" replaced by "-store.db" (registry.db ->
 * registry-store.db, reg -> reg-store.db).  Returns a string the caller
 * frees, or NULL on no memory.
 */
char	*storedb_default_path(const char *registry);

/*
 * Opens (with create != 0: creates when missing) the store: WAL,
 * synchronous=FULL, schema created or checked.  Returns the connection
 * (the caller closes it with sqlite3_close()), or NULL with the reason
 * in err.  A file that is not a NAP store, or of a newer schema, is
 * refused.
 */
sqlite3	*storedb_open(const char *path, int create, char *err,
	    size_t errlen);

/*
 * Claims the store for one serving process (§9: one nap-domain per
 * store): a non-blocking exclusive flock(2) on PATH.lock, which dies with
 * the process, then writes "PID HOST" into it for whoever is refused.
 * who names the holder in that message ("nap-domain").  Returns the
 * descriptor the caller keeps open while it serves (closing it releases
 * the store), or -1 with one line in err: "store PATH is in use by
 * nap-domain pid 1234 (host h)" when another process holds it.  nap-ctl
 * does not call it: it edits the files beside a running server.
 */
int	storedb_lock(const char *path, const char *who, char *err,
	    size_t errlen);

#endif /* NAP_STOREDB_H */
