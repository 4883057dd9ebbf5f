/*
 * table.c - what the platform knows of the federation: the region table
 * (which domain link serves each region that is up, and the address its
 * devices reach it at) with the RouteUpdates that announce its changes
 * (DESIGN.md §4, §5), and the devices logged in here to Locate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "platform.h"

/* <route region="RRRR" state="down"/> */
#define ROUTE_ELEM	36
/* Routes per RouteUpdate of the full table: well under any max_frame. */
#define ROUTES_PER_FRAME	40

static void	send_table(struct link *, const uint16_t *, unsigned);
static void	send_routes(struct link *, const uint16_t *, unsigned, bool);

uint64_t
table_region(struct server *s, uint16_t region)
{
	return atomic_load_explicit(&s->rslot[region], memory_order_acquire);
}

/*
 * A domain logged in: its region is up on this link (§4: an older link
 * of the same code is replaced, logged, and kicked with 403).  Every
 * other domain hears of a region that was down; the new one gets the
 * whole table right after its LoginReply (§5), its own region included,
 * so that the table it gets is never empty.  0, or -1 on no memory.
 */
int
table_region_up(struct link *l, const char *addr)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	uint16_t region = env_code_region(l->c.code), *up;
	uint64_t old;
	unsigned n = 0;
	char *copy;

	if ((copy = strdup(addr)) == NULL ||
	    (up = calloc(REGIONS, sizeof(*up))) == NULL) {
		free(copy);
		return -1;
	}
	pthread_mutex_lock(&s->rt_mu);
	old = atomic_exchange_explicit(&s->rslot[region], link_where(l),
	    memory_order_acq_rel);
	free(s->raddr[region]);
	s->raddr[region] = copy;
	if (old == 0) {
		s->nup++;
		worker_post_route(w, region, true, ++s->rt_gen);
	}
	l->rt_gen = s->rt_gen;	/* later changes only, from here on */
	for (unsigned r = 1; r < REGIONS - 1 && n < s->nup; r++)
		if (atomic_load_explicit(&s->rslot[r], memory_order_relaxed))
			up[n++] = (uint16_t)r;
	pthread_mutex_unlock(&s->rt_mu);
	/* Kicks and writes can close links, which takes rt_mu: after it. */
	if (old != 0) {
		log_info("link %u: %08X replaces its older link", l->c.id,
		    l->c.code);
		worker_send(w, old, IT_KICK, l->c.code, NULL, 0);
	}
	send_table(l, up, n);
	free(up);
	return 0;
}

/* The link of a region closes: the region is down unless it was
 * replaced by a newer login (§5 Logout, lost link). */
void
table_region_down(struct link *l, const char *why)
{
	struct worker *w = l->w;
	struct server *s = w->srv;
	uint16_t region = env_code_region(l->c.code);
	uint64_t mine = link_where(l);

	pthread_mutex_lock(&s->rt_mu);
	if (atomic_compare_exchange_strong(&s->rslot[region], &mine, 0)) {
		free(s->raddr[region]);
		s->raddr[region] = NULL;
		s->nup--;
		worker_post_route(w, region, false, ++s->rt_gen);
		log_info("region %04X down: %s", region, why);
	}
	pthread_mutex_unlock(&s->rt_mu);
}

/* The address of an up region's domain (§5 Locate).  0, or -1: down. */
int
table_region_addr(struct server *s, uint16_t region, char *out, size_t len)
{
	int rc = -1;

	pthread_mutex_lock(&s->rt_mu);
	if (s->raddr[region] != NULL && table_region(s, region) != 0) {
		snprintf(out, len, "%s", s->raddr[region]);
		rc = 0;
	}
	pthread_mutex_unlock(&s->rt_mu);
	return rc;
}

/* A change reached this worker: tell its domains that have not seen it. */
void
table_route_update(struct worker *w, uint16_t region, bool up, uint64_t gen)
{
	struct conn *c, *next;
	struct link *l;

	for (c = w->set.links; c != NULL; c = next) {
		next = c->next;
		l = (struct link *)c;
		if (l->kind != P_DOMAIN || l->c.state != C_ONLINE ||
		    l->rt_gen >= gen)
			continue;
		l->rt_gen = gen;
		send_routes(l, &region, 1, up);
	}
}

static void
send_table(struct link *l, const uint16_t *up, unsigned n)
{
	for (unsigned i = 0; i < n && l->c.state == C_ONLINE;
	    i += ROUTES_PER_FRAME)
		send_routes(l, up + i, n - i < ROUTES_PER_FRAME ? n - i :
		    ROUTES_PER_FRAME, true);
}

/* One RouteUpdate (type 10) naming n regions in one state. */
static void
send_routes(struct link *l, const uint16_t *r, unsigned n, bool up)
{
	struct server *s = l->w->srv;
	char params[ROUTES_PER_FRAME * ROUTE_ELEM + 1];
	size_t off = 0;

	for (unsigned i = 0; i < n; i++)
		off += (size_t)env_p_route(params + off, sizeof(params) - off,
		    r[i], up);
	send_frame(l, ENV_T_ROUTE_UPDATE, server_seq(s), l->c.code, s->token,
	    params);
}

/* ---- devices logged in here (§4 directory role) ----------------------- */

/* Records where a device is; returns where it was (0: nowhere). */
uint64_t
table_device_set(struct server *s, uint32_t code, uint64_t where)
{
	struct dev_ent **b = &s->dev[code % DEV_BUCKETS], *e;
	uint64_t old = 0;

	pthread_mutex_lock(&s->dev_mu);
	for (e = *b; e != NULL && e->code != code; e = e->next)
		;
	if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
		e->code = code;
		e->next = *b;
		*b = e;
	}
	if (e != NULL) {
		old = e->where;
		e->where = where;
	}
	pthread_mutex_unlock(&s->dev_mu);
	return old;
}

/* Forgets the device, unless a newer link took its place. */
void
table_device_clear(struct server *s, uint32_t code, uint64_t where)
{
	struct dev_ent **p = &s->dev[code % DEV_BUCKETS], *e;

	pthread_mutex_lock(&s->dev_mu);
	for (; (e = *p) != NULL; p = &e->next)
		if (e->code == code) {
			if (e->where == where) {
				*p = e->next;
				free(e);
			}
			break;
		}
	pthread_mutex_unlock(&s->dev_mu);
}

uint64_t
table_device(struct server *s, uint32_t code)
{
	struct dev_ent *e;
	uint64_t where = 0;

	pthread_mutex_lock(&s->dev_mu);
	for (e = s->dev[code % DEV_BUCKETS]; e != NULL; e = e->next)
		if (e->code == code) {
			where = e->where;
			break;
		}
	pthread_mutex_unlock(&s->dev_mu);
	return where;
}

void
table_free(struct server *s)
{
	struct dev_ent *e, *next;

	for (unsigned r = 0; r < REGIONS; r++) {
		free(s->raddr[r]);
		s->raddr[r] = NULL;
	}
	for (unsigned b = 0; b < DEV_BUCKETS; b++) {
		for (e = s->dev[b]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		s->dev[b] = NULL;
	}
}
