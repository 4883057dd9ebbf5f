/*
 * admin.c - nap-domain's part of the admin API (common/admin.h, DESIGN.md
 * §12): its links' kinds and unconfirmed messages, the store's depth by
 * device (read from the store file: the store thread is not asked), the
 * SIGHUP path and the drain.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "domain.h"
#include "log.h"
#include "metrics.h"
#include "storedb.h"

static struct connset *d_set(struct iop_worker *);
static const char *d_kind(const struct conn *);
static long	d_unconfirmed(const struct conn *);
static void	d_status(void *, struct evbuffer *);
static void	d_metrics(void *, struct evbuffer *);
static int	d_get(void *, const char *, struct evbuffer *);
static void	d_reload(void *);
static void	d_drain(struct iop_worker *);
static int	store_depth(struct server *, struct evbuffer *json,
		    uint64_t *msgs, uint64_t *devices);

const struct admin_ops domain_admin_ops = {
	.set = d_set,
	.kind = d_kind,
	.unconfirmed = d_unconfirmed,
	.status = d_status,
	.metrics = d_metrics,
	.get = d_get,
	.reload = d_reload,
	.drain = d_drain,
};

static struct connset *
d_set(struct iop_worker *io)
{
	return &((struct worker *)io)->set;
}

/* The registry's kind, known once the device logged in. */
static const char *
d_kind(const struct conn *c)
{
	const struct link *l = (const struct link *)c;

	if (c->state != C_ONLINE)
		return "pending";
	return l->kind == REG_KIND_FS ? "fs" : l->kind == REG_KIND_PU ?
	    "pu" : "cu";
}

static long
d_unconfirmed(const struct conn *c)
{
	return (long)((const struct link *)c)->d.n;
}

/*
 * The store's rows by destination, read with a connection of our own
 * (WAL: the store thread's commits do not wait for it).  Fills json
 * (when not NULL) with one object per device.  0, or -1 (logged).
 */
static int
store_depth(struct server *s, struct evbuffer *json, uint64_t *msgs,
    uint64_t *devices)
{
	static const char sql[] = "SELECT dest, count(*), sum(length(frame))"
	    " FROM msg GROUP BY dest ORDER BY dest";
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	char err[256];
	int rc = -1, first = 1;

	*msgs = *devices = 0;
	if ((db = storedb_open(s->conf.store, 0, err, sizeof(err))) == NULL) {
		log_warnx("admin: store: %s", err);
		return -1;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 1);

		*msgs += (uint64_t)n;
		(*devices)++;
		if (json != NULL)
			evbuffer_add_printf(json, "%s\n{\"code\":\"%08X\","
			    "\"messages\":%lld,\"bytes\":%lld}", first ? "" :
			    ",", (uint32_t)sqlite3_column_int64(st, 0),
			    (long long)n, (long long)sqlite3_column_int64(st,
			    2));
		first = 0;
	}
	rc = 0;
out:
	if (rc == -1)
		log_warnx("admin: store: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static void
d_status(void *arg, struct evbuffer *b)
{
	struct server *s = arg;
	uint64_t msgs, devs;

	if (store_depth(s, NULL, &msgs, &devs) == 0)
		evbuffer_add_printf(b, ",\"store_messages\":%llu,"
		    "\"store_devices\":%llu", (unsigned long long)msgs,
		    (unsigned long long)devs);
	evbuffer_add_printf(b, ",\"platforms\":%zu", s->conf.platform.n);
}

static void
d_metrics(void *arg, struct evbuffer *b)
{
	struct server *s = arg;
	uint64_t msgs, devs;

	if (store_depth(s, NULL, &msgs, &devs) == -1)
		return;
	metrics_head(b, "nap_store_messages", "gauge",
	    "messages and receipts waiting in the store");
	evbuffer_add_printf(b, "nap_store_messages %llu\n",
	    (unsigned long long)msgs);
	metrics_head(b, "nap_store_devices", "gauge",
	    "devices with messages in the store");
	evbuffer_add_printf(b, "nap_store_devices %llu\n",
	    (unsigned long long)devs);
}

/*
 * /store, and the business layer's /services and /plugins: §7's plugins
 * and function-server queues are not built yet, so both are empty.
 */
static int
d_get(void *arg, const char *path, struct evbuffer *b)
{
	struct server *s = arg;
	uint64_t msgs, devs;

	if (strcmp(path, "/store") == 0) {
		evbuffer_add_printf(b, "{\"devices\":[");
		if (store_depth(s, b, &msgs, &devs) == -1) {
			evbuffer_drain(b, evbuffer_get_length(b));
			evbuffer_add_printf(b, "{\"error\":\"store "
			    "unreadable\"}\n");
			return 503;
		}
		evbuffer_add_printf(b, "\n],\"messages\":%llu}\n",
		    (unsigned long long)msgs);
		return 200;
	}
	if (strcmp(path, "/services") == 0) {
		evbuffer_add_printf(b, "{\"services\":[");
		plugins_services_json(s->plugins, b);
		evbuffer_add_printf(b, "]}\n");
		return 200;
	}
	if (strcmp(path, "/plugins") == 0) {
		plugins_json(s->plugins, b);
		return 200;
	}
	return 0;
}

static void
d_reload(void *arg)
{
	server_reload(arg);
}

/* Logout to every device, then close: each link hands its unconfirmed
 * messages back to the store (dlv_return, §5). */
static void
d_drain(struct iop_worker *io)
{
	link_logout_all((struct worker *)io);
}
