/*
 * server_keys.h - the configuration keys both servers take the same way
 * (DESIGN.md §9: TLS files, heartbeat, log, PID and port files, threads,
 * frame and input bounds, the admin API of §12, the plugins of §7).  A server's configuration struct names its
 * members as below and puts SERVER_CONF_KEYS(its struct) in its key
 * table, beside the keys that are its own (listen, cert, output-cap...).
 */
#ifndef NAP_SERVER_KEYS_H
#define NAP_SERVER_KEYS_H

#include <stddef.h>

#include "config.h"

#define SERVER_MAX_THREADS	64

#define SERVER_CONF_KEYS(T)						\
	{ "key", CONF_STR, offsetof(T, key), NULL, 0, 0,		\
	    "its private key" },					\
	{ "ca", CONF_STR, offsetof(T, ca), NULL, 0, 0,			\
	    "the federation's CA" },					\
	{ "crl", CONF_STR, offsetof(T, crl), NULL, 0, 0,		\
	    "certificate revocation list (checked on every link)" },	\
	{ "heartbeat-interval", CONF_INT, offsetof(T, hb_interval), "30", \
	    1, 86400, "seconds of silence before a peer sends Check" },	\
	{ "heartbeat-timeout", CONF_INT, offsetof(T, hb_timeout), "90", \
	    2, 172800, "seconds of silence before a link is closed" },	\
	{ "log-level", CONF_LEVEL, offsetof(T, log_level), "info", 0, 0, \
	    "error, warn, info or debug" },				\
	{ "port-file", CONF_STR, offsetof(T, port_file), NULL, 0, 0,	\
	    "write the bound port here once accepting" },		\
	{ "pid-file", CONF_STR, offsetof(T, pid_file), NULL, 0, 0,	\
	    "PID file" },						\
	{ "threads", CONF_INT, offsetof(T, threads), "0", 0,		\
	    SERVER_MAX_THREADS, "I/O threads (0: one per core)" },	\
	{ "max-frame", CONF_SIZE, offsetof(T, max_frame), "1M", 2048,	\
	    16777216, "largest frame of the federation (§2)" },	\
	{ "input-cap", CONF_SIZE, offsetof(T, in_cap), "256M", 1048576,	\
	    68719476736L,						\
	    "bytes of incomplete frames held across all links (§2)" },	\
	{ "syslog", CONF_BOOL, offsetof(T, syslog), "no", 0, 0,	\
	    "log to syslog" },						\
	{ "admin", CONF_ADDR, offsetof(T, adm.addr), NULL, 0, 0,	\
	    "admin API HOST:PORT (§12; loopback unless admin-ca)" },	\
	{ "admin-cert", CONF_STR, offsetof(T, adm.cert), NULL, 0, 0,	\
	    "admin API: TLS certificate" },				\
	{ "admin-key", CONF_STR, offsetof(T, adm.key), NULL, 0, 0,	\
	    "admin API: its private key" },				\
	{ "admin-ca", CONF_STR, offsetof(T, adm.ca), NULL, 0, 0,	\
	    "admin API: CA of the client certificates it requires" },	\
	{ "admin-port-file", CONF_STR, offsetof(T, adm.port_file), NULL, \
	    0, 0, "write the admin API's bound port here" },	\
	{ "log-file", CONF_STR, offsetof(T, log_file), NULL, 0, 0,	\
	    "log to this file instead (SIGUSR1 reopens it)" },	\
	{ "plugin", CONF_STRLIST, offsetof(T, plugins), NULL, CONF_REST, \
	    0, "load a plugin: PATH [ARGS] (repeatable; §7)" },	\
	{ "workers", CONF_INT, offsetof(T, workers), "0", 0, 256,	\
	    "plugin worker pool threads (0: one per core; §7)" },	\
	{ "plugin-queue", CONF_INT, offsetof(T, plugin_queue), "1024", \
	    1, 1048576, "service requests waiting for the plugin pool "	\
	    "(past it: 503)" }

#endif /* NAP_SERVER_KEYS_H */
