/*
 * main.c - nap-platform: options, config, checks, then the event loops
 * (STYLE.md "Daemons": the fixed order of relayd/ntpd).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_rec.h"
#include "boot.h"
#include "daemon.h"
#include "log.h"
#include "platform.h"
#include "server_keys.h"
#include "tls.h"

#define K(f)	offsetof(struct pconf, f)
_Static_assert(SERVER_MAX_THREADS <= IOP_MAX_WORKERS, "threads key range");

/* Every key is also a --option of the same name (DESIGN.md §9). */
static const struct conf_key pkeys[] = {
	{ "listen", CONF_ADDR, K(listen), "0.0.0.0:7421", 0, 0,
	    "address to accept domain and device links on (port 0: any)" },
	{ "cert", CONF_STR, K(cert), NULL, 0, 0,
	    "this server's certificate; its CN must be 00000000" },
	SERVER_CONF_KEYS(struct pconf),
	AUDIT_CONF_KEYS(struct pconf, ak),
	{ "output-cap", CONF_SIZE, K(out_cap), "16M", 65536, 1073741824,
	    "bytes queued to a peer before it is closed as a slow reader" },
	{ NULL, 0, 0, NULL, 0, 0, NULL },
};

static struct server srv;

static int	check_conf(struct server *, char *, size_t);
static int	check_audit(struct server *, char *, size_t);
static void	on_signal(evutil_socket_t, short, void *);
static long	ncores(void);
static void	run(struct server *);
static int	admin_start_platform(struct server *, char *, size_t);

static long
ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
}

/* Checks that span keys, and the files they name. */
/* boot(): -n creates nothing here either way. */
static int
check_conf_cb(void *arg, int create, char *err, size_t errlen)
{
	(void)create;
	return check_conf(arg, err, errlen);
}

static int
check_conf(struct server *s, char *err, size_t errlen)
{
	struct pconf *c = &s->conf;
	struct tls_files f = { c->cert, c->key, c->ca, c->crl };

	if (c->cert == NULL || c->key == NULL || c->ca == NULL) {
		snprintf(err, errlen, "cert, key and ca are required");
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
	/* §1, §8: every platform server answers to 00000000. */
	if (!env_code_is_platform(s->code)) {
		snprintf(err, errlen, "%s: CN %08X is not the platform code "
		    "00000000", c->cert, s->code);
		return -1;
	}
	if (check_audit(s, err, errlen) == -1 || (c->pid_file != NULL &&
	    conf_dir_writable("pid-file", c->pid_file, err, errlen) == -1) ||
	    (c->port_file != NULL && conf_dir_writable("port-file",
	    c->port_file, err, errlen) == -1) ||
	    admin_check_conf(&c->adm, err, errlen) == -1)
		return -1;
	if ((s->ctx = tls_server_ctx(&f, err, errlen)) == NULL)
		return -1;
	s->nworkers = (int)(c->threads > 0 ? c->threads : ncores());
	return 0;
}

/*
 * The audit keys onto struct audit_conf (common/audit_keys.h); the file
 * itself is opened by record_open() once the server runs.
 */
static int
check_audit(struct server *s, char *err, size_t errlen)
{
	return audit_keys_conf(&s->conf.ak, s->code, &s->acf, err, errlen);
}

/* §12: the admin API on the main thread's loop. */
static int
admin_start_platform(struct server *s, char *err, size_t errlen)
{
	static struct admin_server as;

	as = (struct admin_server){ "nap-platform", s->code, &s->conf.listen,
	    s->port, s->conf.crl, s->audit, &s->pool, s->base,
	    &platform_admin_ops, s };
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

/* From the start of the threads to their end (SIGTERM, SIGINT). */
static void
run(struct server *s)
{
	struct event *sig[4];
	const int signos[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	char err[512];

	if (server_start(s, err, sizeof(err)) == -1)
		fatalx("%s", err);
	for (int i = 0; i < 4; i++)
		if ((sig[i] = evsignal_new(s->base, signos[i], on_signal, s)) ==
		    NULL || event_add(sig[i], NULL) == -1)
			fatalx("cannot watch signal %d", signos[i]);
	if (admin_start_platform(s, err, sizeof(err)) == -1)
		fatalx("%s", err);
	boot_ready(s->conf.port_file, s->port);
	log_info("platform %08X listening on %s port %d, %d I/O threads",
	    s->code, s->conf.listen.host, s->port, s->nworkers);
	event_base_dispatch(s->base);
	boot_stopping();
	admin_free(s->admin);	/* no request runs once the loop ended */
	s->admin = NULL;
	server_stop(s);
	for (int i = 0; i < 4; i++)
		event_free(sig[i]);
}

int
main(int argc, char **argv)
{
	struct server *s = &srv;
	char err[512];
	const struct boot b = { "nap-platform", pkeys, &s->conf,
	    &s->conf.log_level, &s->conf.syslog, &s->conf.pid_file,
	    check_conf_cb, s, &s->conf.log_file };

	boot(&b, argc, argv);
	s->keys = pkeys;		/* SIGHUP reads them again (server_reload) */
	s->argc = argc;
	s->argv = argv;
	/* §3: a message a server creates carries its token, new each start. */
	frame_token(s->token);
	/* §8: before the workers start, so that every message is on record. */
	if (record_open(s, err, sizeof(err)) == -1)
		fatalx("%s", err);
	pthread_mutex_init(&s->ctx_mu, NULL);
	pthread_mutex_init(&s->rt_mu, NULL);
	pthread_mutex_init(&s->dev_mu, NULL);
	run(s);
	record_close(s);	/* the workers are joined: nothing more comes */
	server_free(s);
	pthread_mutex_destroy(&s->dev_mu);
	pthread_mutex_destroy(&s->rt_mu);
	pthread_mutex_destroy(&s->ctx_mu);
	if (s->conf.pid_file != NULL)
		pidfile_remove();
	conf_free(pkeys, &s->conf);
	log_info("stopped");
	return 0;
}
