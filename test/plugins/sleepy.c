/*
 * sleepy.c - a test plugin (test/test_plugins.c): types 2000-2099 are
 * answered after sleeping ms=N milliseconds (default 3000) on the pool
 * thread, types 2100-2199 at once: a slow handler must not stall other
 * types, nor the I/O threads.  A SIGHUP counts reloads in the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nap_plugin.h"

const unsigned nap_plugin_abi = NAP_PLUGIN_ABI;

static const struct nap_api *api;
static struct nap_host *host;
static long sleep_ms = 3000;
static int reloads;

static void
slow(struct nap_req *r, void *arg)
{
	struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000 };

	(void)arg;
	nanosleep(&ts, NULL);
	api->reply(r, api->req_header(r)->type, "<slept/>");
}

static void
fast(struct nap_req *r, void *arg)
{
	(void)arg;
	api->reply(r, api->req_header(r)->type, "<fast/>");
}

int
nap_plugin_init(const struct nap_api *a, struct nap_host *h, int argc,
    char **argv, void **state, char *err, size_t errlen)
{
	api = a;
	host = h;
	for (int i = 1; i < argc; i++)
		if (sscanf(argv[i], "ms=%ld", &sleep_ms) != 1) {
			snprintf(err, errlen, "bad argument %s", argv[i]);
			return -1;
		}
	*state = NULL;
	if (a->subscribe(h, 2000, 2099, slow, NULL) == -1 ||
	    a->subscribe(h, 2100, 2199, fast, NULL) == -1) {
		snprintf(err, errlen, "cannot subscribe");
		return -1;
	}
	return 0;
}

int
nap_plugin_reload(void *state, char *err, size_t errlen)
{
	(void)state;
	(void)err;
	(void)errlen;
	api->log(host, NAP_LOG_INFO, "reload %d", ++reloads);
	return 0;
}
