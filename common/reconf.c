/*
 * reconf.c - SIGHUP reads the configuration again (config.h,
 * nap.conf(5)): what can change live changes, the rest is logged as
 * needing a restart.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

static bool	key_is_live(const char *, const char *const *);
static bool	str_same(const char *, const char *);
static bool	same(const struct conf_key *, const void *, const void *);
static void	take(const struct conf_key *, void *, void *);

static bool
key_is_live(const char *name, const char *const *live)
{
	for (; live != NULL && *live != NULL; live++)
		if (strcmp(name, *live) == 0)
			return true;
	return false;
}

static bool
str_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Whether a key's field holds the same value in both configurations. */
static bool
same(const struct conf_key *k, const void *a, const void *b)
{
	const char *pa = (const char *)a + k->offset;
	const char *pb = (const char *)b + k->offset;

	switch (k->type) {
	case CONF_STR:
		return str_same(*(char *const *)(const void *)pa,
		    *(char *const *)(const void *)pb);
	case CONF_INT:
		return *(const long *)(const void *)pa ==
		    *(const long *)(const void *)pb;
	case CONF_BOOL:
	case CONF_LEVEL:
		return *(const int *)(const void *)pa ==
		    *(const int *)(const void *)pb;
	case CONF_SIZE:
		return *(const size_t *)(const void *)pa ==
		    *(const size_t *)(const void *)pb;
	case CONF_ADDR:
		return memcmp(pa, pb, sizeof(struct conf_addr)) == 0;
	case CONF_STRLIST: {
		const struct conf_list *la = (const void *)pa;
		const struct conf_list *lb = (const void *)pb;

		if (la->n != lb->n)
			return false;
		for (size_t i = 0; i < la->n; i++)
			if (!str_same(la->v[i], lb->v[i]))
				return false;
		return true;
	}
	}
	return true;
}

/* Moves a live key's new value into the running configuration. */
static void
take(const struct conf_key *k, void *run, void *fresh)
{
	char *pr = (char *)run + k->offset, *pf = (char *)fresh + k->offset;

	switch (k->type) {
	case CONF_STR:
		free(*(char **)(void *)pr);
		*(char **)(void *)pr = *(char **)(void *)pf;
		*(char **)(void *)pf = NULL;	/* now the running one's */
		break;
	case CONF_INT:
		memcpy(pr, pf, sizeof(long));
		break;
	case CONF_BOOL:
	case CONF_LEVEL:
		memcpy(pr, pf, sizeof(int));
		break;
	case CONF_SIZE:
		memcpy(pr, pf, sizeof(size_t));
		break;
	case CONF_ADDR:
		memcpy(pr, pf, sizeof(struct conf_addr));
		break;
	case CONF_STRLIST: {
		struct conf_list t;

		memcpy(&t, pr, sizeof(t));
		memcpy(pr, pf, sizeof(t));
		memcpy(pf, &t, sizeof(t));	/* freed with fresh */
		break;
	}
	}
}

int
conf_reload(const struct conf_key *keys, void *run, size_t size,
    const char *const *live, int argc, char **argv, char *err,
    size_t errlen)
{
	struct conf_cli cli;
	void *fresh = calloc(1, size);
	int changed = 0;

	if (fresh == NULL) {
		snprintf(err, errlen, "no memory to read the configuration");
		return -1;
	}
	if (conf_init(keys, fresh, err, errlen) == -1 ||
	    conf_parse_args(keys, fresh, argc, argv, &cli, err, errlen) ==
	    -1) {
		conf_free(keys, fresh);
		free(fresh);
		return -1;
	}
	for (const struct conf_key *k = keys; k->name != NULL; k++) {
		if (same(k, run, fresh))
			continue;
		if (key_is_live(k->name, live)) {
			take(k, run, fresh);
			log_warnx("reload: %s changed", k->name);
			changed++;
		} else
			log_warnx("reload: %s changed: needs restart (the "
			    "running value is kept)", k->name);
	}
	conf_free(keys, fresh);
	free(fresh);
	return changed;
}
