/*
 * domain.h - nap-domain, the second-level AS of DESIGN.md: private
 * declarations shared by its files, grouped by file (relayd.h style).
 *
 * Threads: those of every NAP server (common/iopool.c): the main thread
 * accepts and handles signals; N workers each run one event_base and
 * own their links (common/conn.c) outright.  A message for a link on
 * another worker crosses by that worker's inbox (an evbuffer under a
 * mutex, moved in batches), never by touching its bufferevent.  Where a
 * device is connected is one atomic word per node code (a domain serves
 * one region, so a node is 16 bits): no global lock and no scan per
 * message.
 */
#ifndef NAP_DOMAIN_H
#define NAP_DOMAIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "audit.h"
#include "audit_keys.h"
#include "config.h"
#include "conn.h"
#include "frames.h"
#include "envelope.h"
#include "iopool.h"
#include "pipe.h"
#include "plugin.h"
#include "proto.h"
#include "registry.h"
#include "store.h"

#define NODES		65536

/* Configuration: one field per key of the table in main.c (§9). */
struct dconf {
	struct conf_addr listen;
	char		*cert, *key, *ca, *crl;
	long		 hb_interval, hb_timeout;
	int		 log_level;
	char		*port_file, *pid_file, *log_file;
	long		 threads;
	size_t		 max_frame;
	size_t		 out_cap;
	size_t		 uplink_cap;	/* output queued to one platform */
	int		 fed_own;	/* federation-thread: no devices on it */
	size_t		 in_cap;
	int		 syslog;
	char		*registry, *store;
	struct conf_list platform;
	char		*public_address;
	long		 unconf_max;	/* §5: unconfirmed per link, >= 256 */
	long		 ttl_default, ttl_max;	/* §3 TTL */
	size_t		 store_quota;	/* bytes, all destinations */
	long		 store_device_quota;	/* messages per device */
	long		 session_keep;	/* seconds a session may be resumed */
	struct audit_keys ak;		/* audit-* (common/audit_keys.h) */
	struct admin_conf adm;		/* admin-* (§12) */
	struct conf_list plugins;	/* plugin lines (§7) */
	long		 workers, plugin_queue;	/* the plugin pool */
};

/* Decisions the routing hook makes and the route step carries out. */
enum route {
	R_NONE,
	R_LINK,		/* link-level types: Check, Ack, Logout, Login... */
	R_DEVICE,	/* §5 case 1: a device of this region */
	R_SELF,		/* §5 case 2: this domain server's subscribers */
	R_LOCATE,	/* type 30 */
	R_REMOTE,	/* §5 cases 0 and 3: the platform, another region */
};

/*
 * Items crossing between threads (in an inbox evbuffer), each followed
 * by len bytes.  A message carries what the destination's confirmation
 * and receipt need (§5), so that it is never parsed twice.
 */
enum item_kind {
	IT_DELIVER = 1,	/* a frame for a device link */
	IT_KICK,	/* replaced by a newer login (§4) */
	IT_STORED,	/* a stored frame, one row of a page (store.c) */
	IT_PAGE_END,	/* end of a page: seq = rows in it */
	IT_DRAIN,	/* the store has rows for you from ord on */
	IT_BARRIER,	/* to a node's home: answer through the store */
	IT_REMOTE,	/* to the federation's worker: out by a platform */
	IT_HELD,	/* a held row of a region that came up */
	IT_HELD_END,	/* end of a page of them: seq = rows */
	IT_XACK,	/* confirm this one to its source domain */
};
#define MF_ACK		0x01	/* the sender asked for receipts */
#define MF_RECEIPT	0x02	/* a server's Ack or Error: no receipt */
#define MF_FOREIGN	0x04	/* held for another region (§5.3) */
#define MF_XACK		0x08	/* from another domain: confirm it to its
				   source once on a link or on disk (§5) */
struct item {
	IOP_ITEM_HEAD;	/* kind, flags (MF_*), node, id (the destination
			   link), len (bytes that follow: a whole frame) */
	uint32_t	from, to, seq, type;
	uint32_t	ttl;		/* seconds it may wait in a store */
	uint32_t	tag_start;	/* the Header start tag in the body, */
	uint32_t	tag_end;	/* for the Via stamp; 0: not known */
	int64_t		row;		/* store row, 0 when not stored */
	int64_t		ord;		/* its place in the store */
	char		session[16];	/* the sender's SessionId */
};

/*
 * What a link has written and the device has not confirmed yet (§5):
 * a ring of descriptions and the frames' bytes, in write order.  The
 * store (drain) state says where new messages for the device go: to the
 * link (live), or behind the stored ones (drain, wait).
 */
struct unc {
	int64_t		row;
	uint32_t	from, seq, type, len, ttl;
	uint8_t		flags;
	char		session[16];
};
enum dstate {
	D_LIVE,		/* nothing stored: write to the link */
	D_DRAIN,	/* stored rows first, in pages */
	D_WAIT,		/* replaced a login: wait for its return */
};
struct dlv {
	enum dstate	 state;
	struct unc	*ring;
	uint32_t	 cap, head, n;
	struct evbuffer	*bytes;		/* the unconfirmed frames */
	int64_t		 cursor;	/* last ord fetched */
	int		 fetching;	/* a page is on its way */
	int		 puts;		/* stored since that fetch */
};

struct worker;

/* A device link: the link layer's part (common/conn.c) first. */
struct link {
	struct conn		 c;
	struct worker		*w;
	char			 session[17];
	struct reg_permits	 permits;
	enum reg_kind		 kind;
	struct dlv		 d;		/* deliveries (deliver.c) */
	struct audit_counts	*counts;	/* per type, when auditing */
	int64_t			 login_at;	/* Unix time (admin, §12) */
};

struct server;

struct worker {
	struct iop_worker	 io;		/* first: the pool's part */
	struct server		*srv;
	struct env_parser	*parser;
	struct registry		*reg;
	struct connset		 set;		/* its links */
	struct link		**node;		/* NODES: logged in here */
	uint64_t		 routed, refused;
};

struct server {
	/* How it was started, for SIGHUP's re-read (conf_reload). */
	const struct conf_key	*keys;
	int			 argc;
	char			**argv;
	struct dconf		 conf;
	uint32_t		 code;		/* RRRR0000, from the cert */
	uint16_t		 region;
	char			 token[17];	/* this run's SessionId */
	atomic_uint		 seq;
	atomic_uint		 next_id;
	pthread_mutex_t		 ctx_mu;
	SSL_CTX			*ctx;
	struct pipe		*pipe;
	struct event_base	*base;
	struct iopool		 pool;		/* the workers (iopool.c) */
	int			 port;
	int			 nworkers;
	struct worker		*w[IOP_MAX_WORKERS];
	struct store		*store;
	struct audit		*audit;		/* NULL: no audit log */
	struct fed		*fed;		/* NULL: no platform (fed.h) */
	struct admin		*admin;		/* the admin API (§12) */
	struct plugins		*plugins;	/* §7 (plugin.h); NULL: none */
	/* node -> (link id << 16 | worker + 1); 0 = not logged in. */
	_Atomic uint64_t	 slot[NODES];
	/*
	 * node -> worker + 1 of its last link (0: none since start).  A
	 * message for an offline device goes to the store through this
	 * worker, behind what is still on its way to the closed link, so
	 * that one sender's messages keep their order (§5).
	 */
	_Atomic uint8_t		 home[NODES];
	/* node -> the store may hold rows not written to its link. */
	_Atomic uint8_t		 backlog[NODES];
	/* §5 sessions a device may resume, mirrored on disk. */
	pthread_mutex_t		 sess_mu;
	struct sess {
		char		 id[17];
		int64_t		 expires;	/* Unix seconds */
	}			 sess[NODES];
};

/* server.c */
int	server_start(struct server *, char *err, size_t errlen);
void	server_stop(struct server *);
void	server_reload(struct server *);
void	server_free(struct server *);
void	worker_flush(struct worker *);
void	worker_send(struct worker *, uint64_t where, struct item *,
	    const uint8_t *frame);
void	item_post(struct iop_outbox *, int dest, const struct item *,
	    const uint8_t *frame);

/* admin.c */
extern const struct admin_ops domain_admin_ops;

/* link.c */
void	link_set_init(struct worker *);
void	link_adopt(struct worker *, int fd);
void	link_close(struct link *, const char *why);
int	link_write(struct link *, const uint8_t *frame, size_t len);
void	link_logout_all(struct worker *);
void	link_recheck_all(struct worker *);
void	link_kick(struct link *, const char *why);

/* plugins.c: the domain's side of the plugin host (common/plugin.h) */
int	dplugins_load(struct server *, char *err, size_t errlen);

/* route.c */
int	route_install(struct server *);
void	route_message(struct link *, struct pipe_ctx *);
void	route_deliver_local(struct worker *, struct item *,
	    const uint8_t *frame);
void	route_local(struct worker *, struct item *, const uint8_t *frame);
size_t	receipt_frame(struct server *, char *buf, size_t cap,
	    const struct item *msg, int code, const char *text,
	    struct item *out);
int	send_error(struct link *, int code, uint32_t seq, uint32_t to,
	    const char *session, const char *text);
int	send_frame(struct link *, uint32_t type, uint32_t seq, uint32_t to,
	    const char *session, const char *params);
uint32_t server_seq(struct server *);
void	server_address(const struct server *, char *buf, size_t len);

/* fed.c: the federation lives on this worker (fed.h) */
#define FED_WORKER	0
#define FED_WHERE	((uint64_t)(FED_WORKER + 1))	/* a slot value */
struct fed;
int	fed_init(struct server *, char *err, size_t errlen);
void	fed_free(struct fed *);
void	fed_tick(struct fed *);
void	fed_turn_end(struct fed *);
void	fed_stop(struct fed *);
void	fed_route(struct fed *, struct item *, const uint8_t *frame);
void	fed_held(struct fed *, struct item *, const uint8_t *frame);
void	fed_held_end(struct fed *, uint16_t region, uint32_t rows);
void	fed_xack(struct fed *, const struct item *);
void	xack_send(struct server *, struct worker *, struct iop_outbox *,
	    const struct item *);

/* deliver.c: the device side of §5 (confirmations, receipts, drains) */
void	dlv_start(struct link *, int replaced);
void	dlv_offer(struct link *, const struct item *, const uint8_t *frame);
void	dlv_stored(struct link *, const struct item *, const uint8_t *frame);
void	dlv_page_end(struct link *, uint32_t rows);
void	dlv_drain(struct link *, int64_t from_ord);
void	dlv_confirm(struct link *, const uint8_t *body, size_t len);
void	dlv_return(struct link *);
void	dlv_free(struct link *);
void	deliver_to_code(struct server *, struct worker *, struct iop_outbox *,
	    struct item *, const uint8_t *frame);
void	dlv_receipt(struct worker *, const struct item *msg, int code,
	    const char *text);
void	dlv_unknown_kick(struct worker *, uint16_t node);
void	item_from_header(struct server *, struct item *,
	    const struct env_header *);
void	audit_item(struct server *, enum audit_hop, uint32_t link,
	    enum audit_verdict, int code, const struct item *,
	    const uint8_t *frame);
void	audit_count(struct link *, uint32_t type, bool out, size_t bytes);

#endif /* NAP_DOMAIN_H */
