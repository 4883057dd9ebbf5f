/*
 * audit_keys.c - the audit keys of both servers onto struct audit_conf
 * (audit_keys.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit_keys.h"
#include "config.h"
#include "audit_rec.h"

static int	audit_keys_check(const struct audit_conf *, char *err,
		    size_t errlen);

int
audit_keys_conf(const struct audit_keys *k, uint32_t server_code,
    struct audit_conf *a, char *err, size_t errlen)
{
	static char host[256];
	struct audit_ranges r;
	char why[256];

	memset(a, 0, sizeof(*a));
	if (audit_parse_sync(k->sync, &a->sync, &a->sync_ms, err, errlen) ==
	    -1 || audit_parse_full(k->on_full, &a->on_full, err, errlen) == -1)
		return -1;
	if (k->header_only != NULL && audit_ranges_parse(k->header_only, &r,
	    why, sizeof(why)) == -1) {
		snprintf(err, errlen, "audit-header-only: %s", why);
		return -1;
	}
	if (k->instance == NULL) {
		if (gethostname(host, sizeof(host) - 1) == -1 || *host == '\0')
			snprintf(host, sizeof(host), "localhost");
		a->instance = host;
	} else
		a->instance = k->instance;
	a->path = k->audit;
	a->server_code = server_code;
	a->key_file = k->key;
	a->rotate_bytes = k->rotate_size;
	a->rotate_seconds = k->rotate_time;
	a->queue_cap = k->queue;
	a->header_only = k->header_only;
	return audit_keys_check(a, err, errlen);
}

/*
 * What a start would find wrong, found by -n too: the log's directory,
 * and the key (read, its length checked, then wiped).
 */
static int
audit_keys_check(const struct audit_conf *a, char *err, size_t errlen)
{
	uint8_t *key;
	size_t len;

	if (a->path == NULL)
		return 0;
	if (conf_dir_writable("audit", a->path, err, errlen) == -1)
		return -1;
	if (a->key_file != NULL) {
		if (audit_key_load(a->key_file, &key, &len, err, errlen) == -1)
			return -1;
		audit_key_free(key, len);
	}
	return 0;
}
