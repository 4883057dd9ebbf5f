/*
 * fed.h - nap-domain's side of the federation (DESIGN.md §5 cases 0 and
 * 3, "Between domains", RouteUpdate): the uplinks to the platform
 * servers (uplink.c) and the inter-domain traffic (fed.c).
 *
 * All of it lives on one I/O thread, worker FED_WORKER: the uplinks'
 * buffer events, the region table, the messages other domains have not
 * confirmed yet, and the duplicate window for what other domains send.
 * Other threads reach it only through its inbox (IT_REMOTE, IT_HELD), so
 * none of it needs a lock.
 */
#ifndef NAP_FED_H
#define NAP_FED_H

#include "dedup.h"
#include "domain.h"

#define MAX_PLATFORMS	8
#define REGIONS		65536
#define HELD_PAGE	256		/* held rows fetched at a time */
#define UP_CONNECT_MS	10000		/* TCP + TLS + Login */
#define UP_BACKOFF_MIN	100		/* ms, doubled up to ... */
#define UP_BACKOFF_MAX	5000		/* ... this, with jitter */

/* U_FAILING: failed while writing; the next tick closes it, so that no
 * failure runs inside a loop over the unconfirmed messages. */
enum ustate { U_DOWN, U_CONN, U_LOGIN, U_UP, U_FAILING };

/* One platform server this domain links to (§4 Login as a domain). */
struct uplink {
	struct fed		*fed;
	int			 idx;
	char			*addr;		/* HOST:PORT from the config */
	struct bufferevent	*bev;
	enum ustate		 state;
	uint8_t			 up[REGIONS / 8];	/* regions it has up */
	int64_t			 since, last_rx, last_tx;	/* ms */
	long			 iv, to;	/* heartbeat from LoginReply */
	unsigned		 backoff;	/* ms before the next try */
	int64_t			 retry_at;	/* ms; 0: none planned */
	uint32_t		 login_seq;
	uint32_t		 skip;		/* oversized bytes to drop */
	struct evbuffer		*stage;		/* frames of this loop turn */
	uint64_t		 msgs_out, msgs_in, logins;
	const char		*failing;	/* why, for U_FAILING */
};

/* An inter-domain message the destination domain has not confirmed. */
struct xunc {
	struct xunc	*prev, *next;	/* in the order sent */
	struct xunc	*hnext;		/* hash chain */
	struct item	 it;		/* what it is (to, from, seq...) */
	int		 up;		/* uplink it left by; -1: none yet */
	uint8_t		 frame[];	/* prefix + body as received */
};

struct fed {
	struct server	*srv;
	struct worker	*w;
	SSL_CTX		*ctx;
	int		 n;
	struct uplink	 u[MAX_PLATFORMS];
	uint8_t		 pref[REGIONS];		/* region -> uplink + 1 */
	uint8_t		 seen[REGIONS / 8];	/* up since this start */
	struct xunc	**tab;			/* by (from, seq) */
	size_t		 nbuckets, count;
	struct xunc	*head, *tail;
	struct nap_dup	*dup;			/* from other domains */
	struct evbuffer	*acks;			/* struct pack to send */
	struct evbuffer	*ackin;			/* struct pack received */
	struct event	*flush;
	uint8_t		*scratch;		/* a stamped frame */
	uint8_t		*scratch2;		/* its TTL rewritten first */
	int		 fetching;		/* held region, or -1 */
	int64_t		 fetch_after;
	uint8_t		 fetch_wait[REGIONS / 8];
	uint64_t	 held, rerouted, dups;
};

static inline int
bit_get(const uint8_t *b, unsigned i)
{
	return (b[i >> 3] >> (i & 7)) & 1;
}

static inline void
bit_set(uint8_t *b, unsigned i, int on)
{
	if (on)
		b[i >> 3] |= (uint8_t)(1u << (i & 7));
	else
		b[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

/* uplink.c */
int	uplink_init(struct fed *, char *err, size_t errlen);
void	uplink_fail(struct uplink *, const char *why);
int	uplink_write(struct uplink *, const uint8_t *frame, size_t len);
void	uplink_tick(struct uplink *, int64_t now);
void	uplink_logout(struct uplink *);
void	uplink_free(struct uplink *);
void	uplink_flush(struct uplink *);

/* fed.c: parameters of a parsed message (first <elem>'s attr) */
long	param_long(struct env_msg *, const char *elem, const char *attr,
	    long dflt);
int	param_str(struct env_msg *, const char *elem, const char *attr,
	    char *buf, size_t cap);

/* fed.c, called by uplink.c */
void	fed_child(void *, const struct env_header *, const char *,
	    const struct env_attr *, int);
void	fed_children_drop(struct fed *);
void	fed_frame(struct uplink *, const uint8_t *frame, size_t len,
	    const struct env_header *);
void	fed_lost(struct fed *, struct uplink *);
void	fed_region(struct fed *, struct uplink *, uint16_t region, int up);
int	fed_region_up(const struct fed *, uint16_t region);

#endif /* NAP_FED_H */
