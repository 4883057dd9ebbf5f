/*
 * rl_table.c - bounded token buckets (rl_table.h): per shard a fixed
 * array of entries chained into hash buckets by index, and a free list.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rl_table.h"

#define SHARDS		64
#define QUIET		1.0	/* seconds without a refusal end a stretch */

struct ent {
	uint32_t	 key;
	int32_t		 next;		/* chain, or free list */
	double		 tokens, last;	/* tokens at time last */
	double		 rate, burst;
	double		 first_lim, last_lim;	/* 0: not refused */
};

struct shard {
	pthread_mutex_t	 mu;
	struct ent	*e;
	int32_t		*head;		/* nhead chains */
	uint32_t	 nhead, cap, n;
	int32_t		 free;
};

struct rl_table {
	struct shard	 s[SHARDS];
};

static uint32_t
mix(uint32_t k)
{
	k ^= k >> 16;
	k *= 0x7feb352dU;
	k ^= k >> 15;
	k *= 0x846ca68bU;
	k ^= k >> 16;
	return k;
}

struct rl_table *
rl_new(size_t max)
{
	struct rl_table *t;
	uint32_t per = (uint32_t)((max < SHARDS ? SHARDS : max) / SHARDS);

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &t->s[i];

		pthread_mutex_init(&s->mu, NULL);
		s->cap = per;
		s->nhead = per * 2;
		if ((s->e = calloc(per, sizeof(*s->e))) == NULL ||
		    (s->head = malloc(s->nhead * sizeof(*s->head))) == NULL) {
			rl_free(t);
			return NULL;
		}
		for (uint32_t j = 0; j < s->nhead; j++)
			s->head[j] = -1;
		for (uint32_t j = 0; j < per; j++)
			s->e[j].next = j + 1 < per ? (int32_t)(j + 1) : -1;
		s->free = 0;
	}
	return t;
}

void
rl_free(struct rl_table *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_destroy(&t->s[i].mu);
		free(t->s[i].e);
		free(t->s[i].head);
	}
	free(t);
}

static void
unlink_ent(struct shard *s, int32_t idx)
{
	int32_t *pp = &s->head[(mix(s->e[idx].key) / SHARDS) % s->nhead];

	while (*pp != idx)
		pp = &s->e[*pp].next;
	*pp = s->e[idx].next;
	s->e[idx].next = s->free;
	s->free = idx;
	s->n--;
}

/* Room for one more: idle buckets go, else the least recently used. */
static void
make_room(struct shard *s, double now)
{
	int32_t lru = -1;

	for (uint32_t h = 0; h < s->nhead; h++) {
		int32_t i = s->head[h], nx;

		for (; i != -1; i = nx) {
			struct ent *e = &s->e[i];

			nx = e->next;
			if (e->tokens + (now - e->last) * e->rate >= e->burst &&
			    now - e->last_lim > QUIET)
				unlink_ent(s, i);
			else if (lru == -1 || e->last < s->e[lru].last)
				lru = i;
		}
	}
	if (s->free == -1 && lru != -1)
		unlink_ent(s, lru);
}

int
rl_take(struct rl_table *t, uint32_t key, double rate, double burst,
    double now, double *over)
{
	uint32_t hv = mix(key);
	struct shard *s = &t->s[hv % SHARDS];
	struct ent *e = NULL;
	int32_t i;
	int rc;

	pthread_mutex_lock(&s->mu);
	for (i = s->head[(hv / SHARDS) % s->nhead]; i != -1; i = s->e[i].next)
		if (s->e[i].key == key) {
			e = &s->e[i];
			break;
		}
	if (e == NULL) {
		if (s->free == -1)
			make_room(s, now);
		i = s->free;
		e = &s->e[i];
		s->free = e->next;
		memset(e, 0, sizeof(*e));
		e->key = key;
		e->tokens = burst;
		e->last = now;
		e->next = s->head[(hv / SHARDS) % s->nhead];
		s->head[(hv / SHARDS) % s->nhead] = i;
		s->n++;
	}
	e->rate = rate;
	e->burst = burst;
	e->tokens += (now - e->last) * rate;
	if (e->tokens > burst)
		e->tokens = burst;
	e->last = now;
	if (e->tokens >= 1.0) {
		e->tokens -= 1.0;
		rc = 0;
	} else {
		if (e->last_lim == 0 || now - e->last_lim > QUIET)
			e->first_lim = now;
		e->last_lim = now;
		*over = now - e->first_lim;
		rc = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

size_t
rl_count(struct rl_table *t)
{
	size_t n = 0;

	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&t->s[i].mu);
		n += t->s[i].n;
		pthread_mutex_unlock(&t->s[i].mu);
	}
	return n;
}
