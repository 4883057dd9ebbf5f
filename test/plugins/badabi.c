/* badabi.c - a test plugin built for another ABI: the loader refuses it. */
#include <stddef.h>

#include "nap_plugin.h"

const unsigned nap_plugin_abi = NAP_PLUGIN_ABI + 100;

int
nap_plugin_init(const struct nap_api *a, struct nap_host *h, int argc,
    char **argv, void **state, char *err, size_t errlen)
{
	(void)a; (void)h; (void)argc; (void)argv; (void)state; (void)err;
	(void)errlen;
	return 0;
}
