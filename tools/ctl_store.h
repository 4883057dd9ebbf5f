/*
 * ctl_store.h - `nap-ctl store`: reading and purging a domain's message
 * store (domain/storedb.h).  nap-ctl.c parses the command line and opens
 * the store; these functions query it and print.
 */
#ifndef NAP_CTL_STORE_H
#define NAP_CTL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* How `store show` prints. */
enum store_fmt {
	SF_TEXT,	/* a header, then a line a row */
	SF_JSON,	/* a JSON object a line */
	SF_XML,		/* each frame's envelope on a line of its own */
};

/* ctl_store.c */

/*
 * Prints one line per destination that has stored rows (codes: only
 * those n codes; n == 0: every destination), as of Unix time now, then
 * a total line unless json.  Returns 0, or -1 with the reason in err.
 */
int	store_list(sqlite3 *db, int64_t now, bool json, const uint32_t *codes,
	    size_t n, char *err, size_t errlen);

/*
 * Prints the rows stored for dest in delivery order, at most limit of
 * them (limit < 0: all).  Returns 0, or -1 with the reason in err.
 */
int	store_show(sqlite3 *db, int64_t now, uint32_t dest, enum store_fmt fmt,
	    int64_t limit, char *err, size_t errlen);

/*
 * Deletes, in one transaction, the rows stored for the n codes (n == 0:
 * for every destination); with expired, only those whose expiry is at
 * or before now.  *deleted gets how many.  Returns 0, or -1 with the
 * reason in err and nothing deleted.
 */
int	store_purge(sqlite3 *db, int64_t now, const uint32_t *codes, size_t n,
	    bool expired, int64_t *deleted, char *err, size_t errlen);

#endif /* NAP_CTL_STORE_H */
