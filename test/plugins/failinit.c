/* failinit.c - a test plugin whose init fails: the server must not start. */
#include <stdio.h>

#include "nap_plugin.h"

const unsigned nap_plugin_abi = NAP_PLUGIN_ABI;

int
nap_plugin_init(const struct nap_api *a, struct nap_host *h, int argc,
    char **argv, void **state, char *err, size_t errlen)
{
	(void)a; (void)h; (void)argc; (void)argv; (void)state;
	snprintf(err, errlen, "refusing on purpose");
	return -1;
}
