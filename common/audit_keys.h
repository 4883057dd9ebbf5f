/*
 * audit_keys.h - the audit keys of nap.conf(5) (DESIGN.md §8), shared by
 * nap-domain and nap-platform: one table, one check, so that both
 * servers take the same keys with the same defaults and limits.
 *
 * A server's configuration struct holds a struct audit_keys member and
 * puts AUDIT_CONF_KEYS(its struct, that member) in its key table.
 */
#ifndef NAP_AUDIT_KEYS_H
#define NAP_AUDIT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "config.h"

struct audit_keys {
	char	*audit;			/* the log; NULL: no audit */
	char	*key;			/* HMAC key file */
	char	*sync, *on_full;	/* words, checked below */
	char	*header_only;		/* type ranges */
	char	*instance;		/* NULL: the host name */
	size_t	 rotate_size, queue;
	long	 rotate_time;
};

#define AUDIT_KEY_(T, m, f)	(offsetof(T, m) + offsetof(struct audit_keys, f))
#define AUDIT_CONF_KEYS(T, m)						\
	{ "audit", CONF_STR, AUDIT_KEY_(T, m, audit), NULL, 0, 0,	\
	    "audit log, one chained record a line (nap-audit(1))" },	\
	{ "audit-key", CONF_STR, AUDIT_KEY_(T, m, key), NULL, 0, 0,	\
	    "HMAC key file of the audit chain (none: SHA-256)" },	\
	{ "audit-rotate-size", CONF_SIZE, AUDIT_KEY_(T, m, rotate_size),	\
	    "0", 0, 1099511627776L,					\
	    "rotate the audit log at this size (0: never)" },		\
	{ "audit-rotate-time", CONF_INT, AUDIT_KEY_(T, m, rotate_time),	\
	    "0", 0, 31622400,						\
	    "rotate the audit log this many seconds old (0: never)" },	\
	{ "audit-sync", CONF_STR, AUDIT_KEY_(T, m, sync), "1000", 0, 0,	\
	    "fdatasync the audit log: every, never or at most every N ms" }, \
	{ "audit-on-full", CONF_STR, AUDIT_KEY_(T, m, on_full),		\
	    "keep-routing", 0, 0,					\
	    "records cannot be written: keep-routing or stop-accepting" }, \
	{ "audit-queue", CONF_SIZE, AUDIT_KEY_(T, m, queue), "64M", 65536, \
	    17179869184L, "bytes of audit records waiting for the disk" }, \
	{ "audit-header-only", CONF_STR, AUDIT_KEY_(T, m, header_only),	\
	    NULL, 0, 0,							\
	    "message types whose payload is not recorded (1000-1999,5)" }, \
	{ "audit-instance", CONF_STR, AUDIT_KEY_(T, m, instance), NULL, 0, \
	    0, "this server's name in audit records (default: host name)" }

/*
 * Checks the keys (the words of audit-sync and audit-on-full, the ranges
 * of audit-header-only) and fills *conf for audit_open(); its strings
 * point into k (and a static host name), so k must outlive it.  0, or
 * -1 with err naming the key.
 */
int	audit_keys_conf(const struct audit_keys *k, uint32_t server_code,
	    struct audit_conf *conf, char *err, size_t errlen);

#endif /* NAP_AUDIT_KEYS_H */
