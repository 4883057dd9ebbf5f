/*
 * admin.c - nap-platform's part of the admin API (common/admin.h,
 * DESIGN.md §12): link kinds, /regions (the region table, its domains'
 * addresses, the devices logged in here by region), the SIGHUP path and
 * the drain.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "platform.h"

static struct connset *p_set(struct iop_worker *);
static const char *p_kind(const struct conn *);
static long	p_unconfirmed(const struct conn *);
static void	p_status(void *, struct evbuffer *);
static void	p_metrics(void *, struct evbuffer *);
static int	p_get(void *, const char *, struct evbuffer *);
static void	p_reload(void *);
static void	p_drain(struct iop_worker *);
static unsigned	regions_up(struct server *);

const struct admin_ops platform_admin_ops = {
	.set = p_set,
	.kind = p_kind,
	.unconfirmed = p_unconfirmed,
	.status = p_status,
	.metrics = p_metrics,
	.get = p_get,
	.reload = p_reload,
	.drain = p_drain,
};

static struct connset *
p_set(struct iop_worker *io)
{
	return &((struct worker *)io)->set;
}

static const char *
p_kind(const struct conn *c)
{
	if (c->state != C_ONLINE)
		return "pending";
	return ((const struct link *)c)->kind == P_DOMAIN ? "domain" :
	    "device";
}

/* §5: a platform stores nothing and keeps no unconfirmed messages. */
static long
p_unconfirmed(const struct conn *c)
{
	(void)c;
	return -1;
}

static unsigned
regions_up(struct server *s)
{
	unsigned n;

	pthread_mutex_lock(&s->rt_mu);
	n = s->nup;
	pthread_mutex_unlock(&s->rt_mu);
	return n;
}

static void
p_status(void *arg, struct evbuffer *b)
{
	evbuffer_add_printf(b, ",\"regions_up\":%u", regions_up(arg));
}

static void
p_metrics(void *arg, struct evbuffer *b)
{
	metrics_head(b, "nap_regions_up", "gauge",
	    "regions whose domain is logged in here");
	evbuffer_add_printf(b, "nap_regions_up %u\n", regions_up(arg));
}

/* The devices logged in here, by region (a read of the Locate table). */
static void
presence(struct server *s, uint32_t *count)
{
	pthread_mutex_lock(&s->dev_mu);
	for (int i = 0; i < DEV_BUCKETS; i++)
		for (struct dev_ent *d = s->dev[i]; d != NULL; d = d->next)
			count[env_code_region(d->code)]++;
	pthread_mutex_unlock(&s->dev_mu);
}

static int
regions_json(struct server *s, struct evbuffer *b)
{
	static uint32_t count[REGIONS];	/* main thread only */
	int first = 1;

	memset(count, 0, sizeof(count));
	presence(s, count);
	evbuffer_add_printf(b, "{\"regions\":[");
	pthread_mutex_lock(&s->rt_mu);
	for (unsigned r = 0; r < REGIONS; r++) {
		uint64_t where = atomic_load(&s->rslot[r]);

		if (where == 0 && count[r] == 0)
			continue;
		evbuffer_add_printf(b, "%s\n{\"region\":\"%04X\",\"up\":%s,"
		    "\"domain\":\"%04X0000\",\"worker\":%d,\"address\":",
		    first ? "" : ",", r, where ? "true" : "false", r,
		    (int)(where & 0xffff) - 1);
		admin_json_str(b, s->raddr[r] != NULL ? s->raddr[r] : "");
		evbuffer_add_printf(b, ",\"devices_here\":%u}", count[r]);
		first = 0;
	}
	evbuffer_add_printf(b, "\n],\"up\":%u}\n", s->nup);
	pthread_mutex_unlock(&s->rt_mu);
	return 200;
}

static int
p_get(void *arg, const char *path, struct evbuffer *b)
{
	struct server *s = arg;

	if (strcmp(path, "/regions") == 0)
		return regions_json(arg, b);
	/* §7: the platform's own subscribers are plugins only. */
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
p_reload(void *arg)
{
	server_reload(arg);
}

static void
p_drain(struct iop_worker *io)
{
	link_logout_all((struct worker *)io);
}
