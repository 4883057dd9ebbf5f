/*
 * dedup.c - drops received duplicates by (From, SessionId, Seq)
 * with bounded state (DESIGN.md §5).
 *
 * Per sender session: the highest Seq seen (serial arithmetic, so Seq
 * may wrap from 4294967295 to 0) and a bitmap of the NAP_DUP_WINDOW Seqs
 * below it.  Sender sessions live in a hash table bounded to max entries;
 * the least recently used one is forgotten when a new one arrives.
 *
 * What the state cannot judge is passed on, never dropped: a Seq older
 * than the window, or one from a forgotten sender session.  A resend
 * lands within the window (a server holds at most a few hundred
 * unconfirmed messages per link), so duplicates are still caught there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

#include "dedup.h"

#define WORDS	(NAP_DUP_WINDOW / 64)

struct dup_ent {
	struct dup_ent	*hnext;		/* hash chain */
	struct dup_ent	*prev, *next;	/* LRU list, most recent first */
	uint32_t	 from;
	char		 session[17];
	uint32_t	 hwm;		/* highest Seq seen */
	uint64_t	 win[WORDS];	/* bit i: hwm - i was seen */
};

struct nap_dup {
	struct dup_ent	**tab;
	size_t		 nbuckets;	/* a power of two */
	size_t		 n, max;
	struct dup_ent	*head, *tail;
};

static uint32_t	dup_hash(uint32_t, const char *);
static void	lru_unlink(struct nap_dup *, struct dup_ent *);
static void	lru_front(struct nap_dup *, struct dup_ent *);
static void	hash_unlink(struct nap_dup *, struct dup_ent *);
static void	win_shift(uint64_t *, uint32_t);
static bool	win_test_set(uint64_t *, uint32_t);

/* A table remembering at most max sender sessions (>= 1), or NULL. */
struct nap_dup *
nap_dup_new(size_t max)
{
	struct nap_dup *d;
	size_t nb = 16;

	if (max == 0)
		return NULL;
	while (nb < max && nb < ((size_t)1 << 30))
		nb <<= 1;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((d->tab = calloc(nb, sizeof(*d->tab))) == NULL) {
		free(d);
		return NULL;
	}
	d->nbuckets = nb;
	d->max = max;
	return d;
}

void
nap_dup_free(struct nap_dup *d)
{
	struct dup_ent *e, *next;

	if (d == NULL)
		return;
	for (e = d->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(d->tab);
	free(d);
}

size_t
nap_dup_count(const struct nap_dup *d)
{
	return d->n;
}

/* FNV-1a over the code and the session digits. */
static uint32_t
dup_hash(uint32_t from, const char *session)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 4; i++) {
		h ^= (from >> (i * 8)) & 0xff;
		h *= 16777619u;
	}
	for (; *session != '\0'; session++) {
		h ^= (uint8_t)*session;
		h *= 16777619u;
	}
	return h;
}

static void
lru_unlink(struct nap_dup *d, struct dup_ent *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		d->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		d->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_front(struct nap_dup *d, struct dup_ent *e)
{
	e->prev = NULL;
	e->next = d->head;
	if (d->head != NULL)
		d->head->prev = e;
	d->head = e;
	if (d->tail == NULL)
		d->tail = e;
}

static void
hash_unlink(struct nap_dup *d, struct dup_ent *e)
{
	struct dup_ent **pp;

	pp = &d->tab[dup_hash(e->from, e->session) & (d->nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	e->hnext = NULL;
}

/* The window moves up by k: bit i becomes bit i + k. */
static void
win_shift(uint64_t *w, uint32_t k)
{
	uint32_t words = k / 64, bits = k % 64;

	if (k >= NAP_DUP_WINDOW) {
		memset(w, 0, WORDS * sizeof(*w));
		return;
	}
	for (int i = WORDS - 1; i >= 0; i--) {
		uint64_t v = 0;
		int src = i - (int)words;

		if (src >= 0) {
			v = w[src] << bits;
			if (bits != 0 && src > 0)
				v |= w[src - 1] >> (64 - bits);
		}
		w[i] = v;
	}
}

/* Returns whether bit i was set, and sets it. */
static bool
win_test_set(uint64_t *w, uint32_t i)
{
	uint64_t m = (uint64_t)1 << (i % 64);
	bool was = (w[i / 64] & m) != 0;

	w[i / 64] |= m;
	return was;
}

/*
 * Records (from, session, seq).  Returns 1 when it is a duplicate, 0
 * when it is new or cannot be judged (pass it on), -1 on no memory (also
 * pass it on).
 */
int
nap_dup_check(struct nap_dup *d, uint32_t from, const char *session,
    uint32_t seq)
{
	struct dup_ent *e, **bucket;
	int32_t diff;

	if (session == NULL)
		session = "";
	bucket = &d->tab[dup_hash(from, session) & (d->nbuckets - 1)];
	for (e = *bucket; e != NULL; e = e->hnext)
		if (e->from == from && strcmp(e->session, session) == 0)
			break;
	if (e == NULL) {
		if (d->n >= d->max) {
			/* Forget the least recently used sender session. */
			e = d->tail;
			lru_unlink(d, e);
			hash_unlink(d, e);
			d->n--;
		} else if ((e = malloc(sizeof(*e))) == NULL)
			return -1;
		memset(e, 0, sizeof(*e));
		e->from = from;
		snprintf(e->session, sizeof(e->session), "%s", session);
		e->hwm = seq;
		e->win[0] = 1;
		e->hnext = *bucket;
		*bucket = e;
		lru_front(d, e);
		d->n++;
		return 0;
	}
	if (e != d->head) {
		lru_unlink(d, e);
		lru_front(d, e);
	}
	diff = (int32_t)(seq - e->hwm);
	if (diff > 0) {
		win_shift(e->win, (uint32_t)diff);
		e->win[0] |= 1;
		e->hwm = seq;
		return 0;
	}
	if (diff == 0)
		return 1;
	/* Older than the high mark. */
	if ((uint32_t)-(int64_t)diff >= NAP_DUP_WINDOW)
		return 0;
	return win_test_set(e->win, (uint32_t)-(int64_t)diff) ? 1 : 0;
}
