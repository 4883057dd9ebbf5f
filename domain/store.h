/*
 * store.h - nap-domain's message store (DESIGN.md §5): one thread that
 * owns the store file (storedb.h) and writes it in group commits, so a
 * flood of stored messages costs one fsync per batch, not per message.
 *
 * I/O threads never touch SQLite for the store: they queue requests
 * (copied, never blocking on disk) and get the answers through their
 * inboxes as items (domain.h): pages of stored rows, drain notices, and
 * receipts for their devices.  Requests are carried out in the order
 * they were queued, which is what keeps a device's messages in order.
 *
 * Receipts (§5): a message queued with MF_ACK gets Ack status="stored"
 * only after the commit that holds it returned (synchronous=FULL); a
 * refusal (507 store full) is an Error.  Both go to the sender wherever
 * it is, and are themselves stored when it is offline.
 */
#ifndef NAP_STORE_H
#define NAP_STORE_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct store;
struct item;
struct unc;

/*
 * Opens the store file, creating it when missing, and loads what the
 * server keeps in memory: counts per device (quotas), the backlog flags,
 * the sessions still valid.  No thread yet.  NULL with err on failure.
 * Free with store_free().
 */
struct store	*store_open(struct server *, const char *path, char *err,
		    size_t errlen);
int	store_start(struct store *, char *err, size_t errlen);
/* Carries out every queued request, commits, then ends the thread. */
void	store_stop(struct store *);
void	store_free(struct store *);

/*
 * Queues a message (or receipt) for the device it->node (it->ttl seconds
 * from now; it->row unused): frame is prefix + envelope.  With offline
 * set, the device's slot is checked under the queue's lock first: 1 and
 * nothing queued when it is logged in now (deliver instead, §5 case 1).
 * 0 when queued.
 */
int	store_put(struct store *, const struct item *it, const uint8_t *frame,
	    int offline);
/* Confirmed rows (§5): deleted. */
void	store_delete(struct store *, const int64_t *rows, size_t n);
/*
 * The unconfirmed messages of a closing link, in write order, with
 * their bytes (prefix + envelope each): rows already stored are moved,
 * the others stored, all ahead of what the device has not been sent
 * yet.  Then whoever holds the node gets IT_DRAIN.  n may be 0.
 */
void	store_return(struct store *, uint16_t node, const struct unc *ents,
	    size_t n, const uint8_t *bytes);
/* Up to max rows for node after ord `after', as IT_STORED items then
 * one IT_PAGE_END, to link `id' on worker `worker'. */
void	store_fetch(struct store *, uint16_t node, int worker, uint32_t id,
	    int64_t after, unsigned max);
/* Up to max rows held for region after ord `after' (§5.3), as IT_HELD
 * items then one IT_HELD_END, to the federation's worker. */
void	store_fetch_held(struct store *, uint16_t region, int64_t after,
	    unsigned max);
/* The device's session, kept until `expires' (Unix seconds). */
void	store_session(struct store *, uint16_t node, const char *id,
	    int64_t expires);
/*
 * Whether the store may hold rows for node that its link has not been
 * sent: read under the queue's lock, after the login set its slot.
 */
int	store_backlog(struct store *, uint16_t node);
/* Counts per device read again (after `nap-ctl store purge`). */
void	store_recount(struct store *);

#endif /* NAP_STORE_H */
