/*
 * echo.c - the example plugin that nap_plugin(3) walks through: it
 * subscribes to a range of message types and answers each service
 * request with the same type, Re = the request's Seq and the request's
 * parameters unchanged.
 *
 *	plugin "echo types=1000-1099"
 *
 * Optionally "hello" adds a gateway hook that counts the messages it
 * sees (how a hook is registered; it always passes).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap_plugin.h"

const unsigned nap_plugin_abi = NAP_PLUGIN_ABI;

struct echo {
	const struct nap_api	*api;
	struct nap_host		*host;
	atomic_ulong		 seen;
};

static void	on_request(struct nap_req *, void *);
static enum nap_verdict on_message(struct nap_msg *, void *);

/* Runs on a pool thread: may block; replies before it returns. */
static void
on_request(struct nap_req *r, void *arg)
{
	struct echo *e = arg;
	const struct nap_header *h = e->api->req_header(r);
	const char *inner;
	size_t len;

	inner = e->api->params_xml(r, &len);
	if (e->api->reply(r, h->type, inner != NULL ? inner : "") == -1)
		e->api->fail(r, 500, "echo: cannot build the reply");
}

/* Runs on an I/O thread: must not block. */
static enum nap_verdict
on_message(struct nap_msg *m, void *arg)
{
	struct echo *e = arg;

	(void)m;
	atomic_fetch_add(&e->seen, 1);
	return NAP_PASS;
}

int
nap_plugin_init(const struct nap_api *api, struct nap_host *host, int argc,
    char **argv, void **state, char *err, size_t errlen)
{
	struct echo *e;
	unsigned lo = 1000, hi = 1099;
	int hello = 0;

	for (int i = 1; i < argc; i++) {
		if (sscanf(argv[i], "types=%u-%u", &lo, &hi) == 2)
			continue;
		if (strcmp(argv[i], "hello") == 0) {
			hello = 1;
			continue;
		}
		snprintf(err, errlen, "unknown argument '%s' (types=LO-HI, "
		    "hello)", argv[i]);
		return -1;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "no memory");
		return -1;
	}
	e->api = api;
	e->host = host;
	if (api->subscribe(host, lo, hi, on_request, e) == -1 ||
	    (hello && api->hook(host, NAP_INNER, "hello", on_message, e) ==
	    -1)) {
		snprintf(err, errlen, "cannot subscribe to types %u-%u", lo,
		    hi);
		free(e);
		return -1;
	}
	api->log(host, NAP_LOG_INFO, "answering types %u-%u on %s %08X", lo,
	    hi, api->server, api->code);
	*state = e;
	return 0;
}

void
nap_plugin_fini(void *state)
{
	struct echo *e = state;

	if (e != NULL && atomic_load(&e->seen) > 0)
		e->api->log(e->host, NAP_LOG_INFO, "saw %lu messages",
		    atomic_load(&e->seen));
	free(e);
}
