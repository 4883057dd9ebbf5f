/*
 * platform.h - nap-platform, the first-level AS of DESIGN.md: private
 * declarations shared by its files, grouped by file (relayd.h style).
 *
 * The threads are those of nap-domain: the main thread accepts and
 * handles signals; N workers each run one event_base and own their links
 * outright.  A frame for a link on another worker crosses by that
 * worker's inbox (an evbuffer under a mutex, moved in batches).
 *
 * Which domain link serves a region is one atomic word per region (the
 * region table, table.c): routing reads it without a lock.  Its writes,
 * the domains' addresses and the RouteUpdate broadcasts are serialised
 * by one mutex, so that every domain sees the changes in one order and
 * a new domain gets exactly the full table, then the changes after it.
 */
#ifndef NAP_PLATFORM_H
#define NAP_PLATFORM_H

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
#include "envelope.h"
#include "frames.h"
#include "iopool.h"
#include "pipe.h"
#include "plugin.h"
#include "proto.h"

#define MAX_WORKERS	IOP_MAX_WORKERS
#define REGIONS		65536
#define ID_BUCKETS	4096		/* a worker's links by id */
#define DEV_BUCKETS	4096		/* devices logged in here, by code */
#define ADDR_MAX	255		/* a domain's host:port (Login) */
#define VIA_STAMP	" Via=\"00000000\""	/* §3, added to a Header */
/* An IT_DELIVER item is the frame's parsed Header, then the frame: the
 * destination worker writes its audit record without parsing it again. */
#define DLV_HDR		sizeof(struct env_header)

/* Configuration: one field per key of the table in main.c (§9). */
struct pconf {
	struct conf_addr listen;
	char		*cert, *key, *ca, *crl;
	long		 hb_interval, hb_timeout;
	struct audit_keys ak;		/* audit-* (common/audit_keys.h) */
	int		 log_level;
	char		*port_file, *pid_file, *log_file;
	long		 threads;
	size_t		 max_frame;
	size_t		 out_cap;
	size_t		 in_cap;
	int		 syslog;
	struct admin_conf adm;		/* admin-* (§12) */
	struct conf_list plugins;	/* plugin lines (§7) */
	long		 workers, plugin_queue;	/* the plugin pool */
};

/* Decisions the route hook makes and the route step carries out. */
enum route {
	R_NONE,
	R_LINK,		/* link-level types: Login, Check, Logout */
	R_DROP,		/* logged and ignored (§4 unknown reserved types) */
	R_REGION,	/* forward to the domain of region route_arg */
	R_CODE,		/* a reply: to code route_arg, here or its region */
	R_LOCATE,	/* a region Locate answered from the table */
	R_SELF,		/* To 00000000, type >= 1000: plugins (§7) */
};

enum peer_kind { P_DEVICE, P_DOMAIN };

struct worker;

struct link {
	struct conn		 c;		/* first: the link layer's part */
	struct worker		*w;
	enum peer_kind		 kind;
	char			 session[17];
	uint64_t		 rt_gen;	/* RouteUpdates it has seen */
	struct link		*idnext;	/* its id bucket */
	struct audit_counts	*counts;	/* its session's, when audited:
						   allocated at login */
	int64_t			 login_at;	/* Unix time (admin, §12) */
};

/*
 * Items crossing between workers (struct iop_item): IT_DELIVER a frame
 * for link id (code: the destination, to find its successor), IT_KICK
 * link id (replaced), IT_ROUTE region code went up (flag) or down, the
 * change numbered aux.
 */
enum item_kind { IT_DELIVER = 1, IT_KICK, IT_ROUTE };

struct server;

struct worker {
	struct iop_worker	 io;		/* first: the pool's part */
	struct server		*srv;
	struct env_parser	*parser;
	uint8_t			*scratch;	/* DLV_HDR, then a stamped
						   frame (§6) */
	const uint8_t		*raw;		/* the frame being handled, as
						   received (its IN record) */
	size_t			 rawlen;
	struct connset		 set;		/* its links */
	struct link		*byid[ID_BUCKETS];
	uint64_t		 routed, refused;
};

/* A device logged in at the platform to Locate (§4), by code. */
struct dev_ent {
	uint32_t	 code;
	uint64_t	 where;		/* link id << 16 | worker + 1 */
	struct dev_ent	*next;
};

struct server {
	/* How it was started, for SIGHUP's re-read (conf_reload). */
	const struct conf_key	*keys;
	int			 argc;
	char			**argv;
	struct pconf		 conf;
	uint32_t		 code;		/* 00000000, from the cert */
	char			 token[17];	/* this run's SessionId */
	atomic_uint		 seq;
	atomic_uint		 next_id;
	pthread_mutex_t		 ctx_mu;
	SSL_CTX			*ctx;
	struct pipe		*pipe;
	struct audit_conf	 acf;		/* from the audit keys */
	struct audit		*audit;		/* NULL: no audit log */
	struct admin		*admin;		/* the admin API (§12) */
	struct plugins		*plugins;	/* §7 (plugin.h); NULL: none */
	struct event_base	*base;
	int			 port;
	int			 nworkers;
	struct iopool		 pool;
	struct worker		 w[MAX_WORKERS];
	/* The region table: region -> (link id << 16 | worker + 1) of its
	 * domain link, 0 = down.  Written under rt_mu only. */
	_Atomic uint64_t	 rslot[REGIONS];
	pthread_mutex_t		 rt_mu;		/* guards the three below */
	char			*raddr[REGIONS];	/* Login's address */
	uint64_t		 rt_gen;	/* changes broadcast so far */
	unsigned		 nup;		/* regions up */
	pthread_mutex_t		 dev_mu;
	struct dev_ent		*dev[DEV_BUCKETS];
};

/* server.c */
int	server_start(struct server *, char *err, size_t errlen);
void	server_stop(struct server *);
void	server_reload(struct server *);
void	server_free(struct server *);
void	worker_send(struct worker *, uint64_t where, enum item_kind,
	    uint32_t code, const uint8_t *frame, size_t len);
void	worker_post_route(struct worker *, uint16_t region, bool up,
	    uint64_t gen);
struct link *worker_link(struct worker *, uint32_t id);

/* admin.c */
extern const struct admin_ops platform_admin_ops;

/* link.c */
void	link_set_init(struct worker *);
void	link_adopt(struct worker *, int fd);
void	link_close(struct link *, const char *why);
int	link_write(struct link *, const struct env_header *,
	    const uint8_t *frame, size_t len);
void	link_logout_all(struct worker *);
void	link_kick(struct link *, const char *why);
void	link_recheck_all(struct worker *);
uint64_t link_where(const struct link *);

/* login.c */
int	login_handle(struct link *, const uint8_t *body, size_t len,
	    const struct env_header *);
int	param_attr(struct env_parser *, const uint8_t *body, size_t len,
	    const char *elem, const char *attr, char *out, size_t outlen);

/* table.c */
int	table_region_up(struct link *, const char *addr);
void	table_region_down(struct link *, const char *why);
uint64_t table_region(struct server *, uint16_t region);
int	table_region_addr(struct server *, uint16_t region, char *out,
	    size_t len);
void	table_route_update(struct worker *, uint16_t region, bool up,
	    uint64_t gen);
uint64_t table_device_set(struct server *, uint32_t code, uint64_t where);
void	table_device_clear(struct server *, uint32_t code, uint64_t where);
uint64_t table_device(struct server *, uint32_t code);
void	table_free(struct server *);

/* plugins.c: the platform's side of the plugin host (common/plugin.h) */
int	pplugins_load(struct server *, char *err, size_t errlen);

/* route.c */
int	route_install(struct server *);
void	route_message(struct link *, struct pipe_ctx *);
void	route_deliver_local(struct worker *, uint32_t code, uint32_t id,
	    const uint8_t *item, size_t len);
uint64_t route_where(struct server *, uint32_t code);
void	route_audit(struct link *, const struct pipe_ctx *);
int	send_error(struct link *, int code, uint32_t to,
	    const struct env_header *, const char *text);
int	send_frame(struct link *, uint32_t type, uint32_t seq, uint32_t to,
	    const char *session, const char *params);
uint32_t server_seq(struct server *);

/* record.c */
int	record_open(struct server *, char *err, size_t errlen);
void	record_close(struct server *);
void	record_in(struct link *, const struct env_header *, int code,
	    const uint8_t *body, size_t len);
void	record_out(struct link *, const struct env_header *,
	    const uint8_t *frame, size_t len);
void	record_count_in(struct link *, const struct env_header *,
	    size_t len);
void	record_login(struct link *, const char *reason);
void	record_logout(struct link *, const char *why);
void	record_gate(struct worker *);
int	record_gate_start(struct server *);

#endif /* NAP_PLATFORM_H */
