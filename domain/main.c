/*
 * main.c - nap-domain: options, config, checks, then the event loops
 * (STYLE.md "Daemons": the fixed order of relayd/ntpd).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "boot.h"
#include "daemon.h"
#include "domain.h"
#include "log.h"
#include "storedb.h"
#include "server_keys.h"
#include "tls.h"

#define K(f)	offsetof(struct dconf, f)
_Static_assert(SERVER_MAX_THREADS <= IOP_MAX_WORKERS, "threads key range");

/* Every key is also a --option of the same name (DESIGN.md §9). */
static const struct conf_key dkeys[] = {
	{ "listen", CONF_ADDR, K(listen), "0.0.0.0:7420", 0, 0,
	    "address to accept device links on (port 0: any free port)" },
	{ "cert", CONF_STR, K(cert), NULL, 0, 0,
	    "this server's certificate; its CN RRRR0000 is its code" },
	SERVER_CONF_KEYS(struct dconf),
	AUDIT_CONF_KEYS(struct dconf, ak),
	{ "output-cap", CONF_SIZE, K(out_cap), "4M", 65536, 1073741824,
	    "bytes queued to a device before it is closed as a slow reader" },
	{ "uplink-output-cap", CONF_SIZE, K(uplink_cap), "64M", 1048576,
	    17179869184L, "bytes queued to one platform server before its "
	    "uplink is dropped and its traffic moved (§5)" },
	{ "federation-thread", CONF_BOOL, K(fed_own), "no", 0, 0,
	    "an I/O thread of its own for the traffic with other regions "
	    "(no device links on it; needs threads >= 2)" },
	{ "registry", CONF_STR, K(registry), NULL, 0, 0,
	    "the device registry (SQLite; nap-ctl edits it)" },
	{ "store", CONF_STR, K(store), NULL, 0, 0,
	    "message store (default: beside the registry)" },
	{ "unconfirmed-max", CONF_INT, K(unconf_max), "1024", 256, 4096,
	    "messages written to a device and not confirmed, per link (§5)" },
	{ "ttl-default", CONF_INT, K(ttl_default), "86400", 0, 31536000,
	    "seconds a message without TTL may wait in the store (§3)" },
	{ "ttl-max", CONF_INT, K(ttl_max), "604800", 0, 31536000,
	    "cap on a message's TTL (§3)" },
	{ "store-quota", CONF_SIZE, K(store_quota), "1G", 65536,
	    1099511627776L, "bytes the store holds for all devices (507)" },
	{ "store-device-quota", CONF_INT, K(store_device_quota), "100000", 1,
	    1000000000, "messages the store holds per device (507)" },
	{ "session-keep", CONF_INT, K(session_keep), "86400", 0, 31536000,
	    "seconds a device's session may be resumed (§5)" },
	{ "platform", CONF_STRLIST, K(platform), NULL, 0, 0,
	    "platform server HOST:PORT (repeatable)" },
	{ "public-address", CONF_STR, K(public_address), NULL, 0, 0,
	    "HOST:PORT devices reach this server at (Locate answers)" },
	{ NULL, 0, 0, NULL, 0, 0, NULL },
};

static struct server srv;

static int	check_conf(struct server *, int, char *, size_t);
static int	check_conf_cb(void *, int, char *, size_t);
static int	audit_start(struct server *, char *, size_t);
static void	on_signal(evutil_socket_t, short, void *);
static long	ncores(void);
static int	admin_start_domain(struct server *, char *, size_t);

static long
ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > IOP_MAX_WORKERS ? IOP_MAX_WORKERS : n;
}

/* The directories of the files a start writes (-n checks them too). */
static int
check_dirs(const struct dconf *c, char *err, size_t errlen)
{
	if (conf_dir_writable("store", c->store, err, errlen) == -1 ||
	    (c->pid_file != NULL && conf_dir_writable("pid-file", c->pid_file,
	    err, errlen) == -1) || (c->port_file != NULL &&
	    conf_dir_writable("port-file", c->port_file, err, errlen) == -1))
		return -1;
	return 0;
}

/* Checks that span keys, and the files they name. */
static int
check_conf(struct server *s, int create, char *err, size_t errlen)
{
	struct dconf *c = &s->conf;
	struct tls_files f = { c->cert, c->key, c->ca, c->crl };
	struct registry *r;
	uint16_t region = 0;

	if (c->cert == NULL || c->key == NULL || c->ca == NULL ||
	    c->registry == NULL) {
		snprintf(err, errlen, "cert, key, ca and registry are required");
		return -1;
	}
	if (c->hb_timeout < 2 * c->hb_interval) {
		snprintf(err, errlen, "heartbeat-timeout: %ld is less than "
		    "twice heartbeat-interval (%ld)", c->hb_timeout,
		    c->hb_interval);
		return -1;
	}
	if (tls_file_code(c->cert, &s->code, err, errlen) == -1)
		return -1;
	if (!env_code_is_domain(s->code)) {
		snprintf(err, errlen, "%s: CN %08X is not a domain code "
		    "RRRR0000", c->cert, s->code);
		return -1;
	}
	s->region = env_code_region(s->code);
	if ((s->ctx = tls_server_ctx(&f, err, errlen)) == NULL)
		return -1;
	/* Never created here: an empty registry would refuse everyone. */
	(void)create;
	if (access(c->registry, F_OK) == -1) {
		snprintf(err, errlen, "registry %s: %s: make it with nap-ctl "
		    "--registry %s init --region %04X", c->registry,
		    strerror(errno), c->registry, s->region);
		return -1;
	}
	if ((r = registry_open(c->registry, 0, err, errlen)) == NULL)
		return -1;
	if (registry_region(r, &region) == 0 && region != 0 &&
	    region != s->region) {
		snprintf(err, errlen, "%s: registry of region %04X, server "
		    "of region %04X", c->registry, region, s->region);
		registry_close(r);
		return -1;
	}
	registry_close(r);
	if (c->store == NULL && (c->store = storedb_default_path(c->registry))
	    == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (check_dirs(c, err, errlen) == -1)
		return -1;
	if (c->ttl_default > c->ttl_max)
		c->ttl_default = c->ttl_max;
	{
		struct audit_conf ac;	/* -n checks the audit keys too */

		if (audit_keys_conf(&c->ak, s->code, &ac, err, errlen) == -1)
			return -1;
	}
	if (admin_check_conf(&c->adm, err, errlen) == -1)
		return -1;
	s->nworkers = (int)(c->threads > 0 ? c->threads : ncores());
	return 0;
}

static int
check_conf_cb(void *arg, int create, char *err, size_t errlen)
{
	return check_conf(arg, create, err, errlen);
}

/* §8: the audit log, when configured. */
static int
audit_start(struct server *s, char *err, size_t errlen)
{
	struct audit_conf ac;

	if (s->conf.ak.audit == NULL)
		return 0;
	if (audit_keys_conf(&s->conf.ak, s->code, &ac, err, errlen) == -1)
		return -1;
	return (s->audit = audit_open(&ac, err, errlen)) == NULL ? -1 : 0;
}

/* §12: the admin API on the main thread's loop. */
static int
admin_start_domain(struct server *s, char *err, size_t errlen)
{
	static struct admin_server as;

	as = (struct admin_server){ "nap-domain", s->code, &s->conf.listen,
	    s->port, s->conf.crl, s->audit, &s->pool, s->base,
	    &domain_admin_ops, s };
	s->admin = admin_start(&as, &s->conf.adm, err, errlen);
	return s->admin != NULL ? 0 : -1;
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct server *s = arg;

	(void)ev;
	if (sig == SIGHUP) {
		boot_reloading();
		server_reload(s);
		boot_reloaded();
		return;
	}
	if (sig == SIGUSR1) {
		boot_reopen_log();
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(s->base, NULL);
}

int
main(int argc, char **argv)
{
	struct server *s = &srv;
	struct event *sig[4];
	const int signos[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	char err[512];
	const struct boot b = { "nap-domain", dkeys, &s->conf,
	    &s->conf.log_level, &s->conf.syslog, &s->conf.pid_file,
	    check_conf_cb, s, &s->conf.log_file };

	boot(&b, argc, argv);
	s->keys = dkeys;		/* SIGHUP reads them again (server_reload) */
	s->argc = argc;
	s->argv = argv;
	/* §3: a message a server creates carries its token, new each start. */
	frame_token(s->token);
	pthread_mutex_init(&s->ctx_mu, NULL);
	pthread_mutex_init(&s->sess_mu, NULL);
	if (audit_start(s, err, sizeof(err)) == -1)
		fatalx("audit: %s", err);
	if (server_start(s, err, sizeof(err)) == -1)
		fatalx("%s", err);
	for (int i = 0; i < 4; i++)
		if ((sig[i] = evsignal_new(s->base, signos[i], on_signal, s)) ==
		    NULL || event_add(sig[i], NULL) == -1)
			fatalx("cannot watch signal %d", signos[i]);
	if (admin_start_domain(s, err, sizeof(err)) == -1)
		fatalx("%s", err);
	boot_ready(s->conf.port_file, s->port);
	log_info("domain %08X listening on %s port %d, %d I/O threads",
	    s->code, s->conf.listen.host, s->port, s->nworkers);
	event_base_dispatch(s->base);
	boot_stopping();
	admin_free(s->admin);	/* no request runs once the loop ended */
	s->admin = NULL;
	server_stop(s);
	if (s->audit != NULL) {
		struct audit_stat as;

		audit_close(s->audit, &as);
		s->audit = NULL;
		(as.lost ? log_warnx : log_info)("audit: %llu records written, "
		    "%llu lost", (unsigned long long)as.written,
		    (unsigned long long)as.lost);
	}
	for (int i = 0; i < 4; i++)
		event_free(sig[i]);
	server_free(s);
	pthread_mutex_destroy(&s->ctx_mu);
	if (s->conf.pid_file != NULL)
		pidfile_remove();
	conf_free(dkeys, &s->conf);
	log_info("stopped");
	return 0;
}
