/*
 * boot.c - the start every server shares (boot.h).
 *
 * Readiness goes to systemd through sd_notify(3) of libsystemd: the
 * notify protocol (a datagram on $NOTIFY_SOCKET, abstract or not, with
 * credentials) is defined by systemd and its library is its reference
 * implementation, so we use the library rather than a copy of it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "boot.h"
#include "daemon.h"
#include "log.h"

static void	boot_fatal(const char *);

static const char *boot_name = "nap";

/* fatal(), fatalx(): no stale PID file, and the --daemon parent told. */
static void
boot_fatal(const char *msg)
{
	char line[1100];

	pidfile_remove();
	snprintf(line, sizeof(line), "%s: %s", boot_name, msg);
	daemon_failed(line);
}

void
boot(const struct boot *b, int argc, char **argv)
{
	struct conf_cli cli;
	char err[512];
	const char *log_file;

	boot_name = b->name;
	log_init(b->name, 0, LOG_INFO);
	if (conf_init(b->keys, b->conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (conf_parse_args(b->keys, b->conf, argc, argv, &cli, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", b->name, err);
		exit(cli.usage ? 2 : 1);
	}
	if (cli.help) {
		conf_usage(b->keys, b->name, stdout);
		exit(0);
	}
	if (cli.version) {
		printf("%s %s\n", b->name, NAP_VERSION);
		exit(0);
	}
	log_setlevel(*b->log_level);
	if (b->check(b->arg, !cli.check_only, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", b->name, err);
		exit(1);
	}
	if (cli.check_only) {
		if (cli.verbose)
			conf_dump(b->keys, b->conf, stdout);
		fprintf(stderr, "%s: configuration OK\n", b->name);
		exit(0);
	}
	log_file = b->log_file != NULL ? *b->log_file : NULL;
	/* The log file wins over syslog: the operator named a file. */
	if (log_file != NULL) {
		if (log_file_open(log_file, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s: %s\n", b->name, err);
			exit(1);
		}
	} else if (*b->syslog || cli.daemon)
		log_init(b->name, 1, *b->log_level);
	signal(SIGPIPE, SIG_IGN);
	log_set_fatal_hook(boot_fatal);
	if (cli.daemon && daemonize(b->name) == -1)
		fatal("daemonize");
	if (*b->pid_file != NULL && pidfile_create(*b->pid_file, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("%s %s starting", b->name, NAP_VERSION);
}

void
boot_ready(const char *port_file, int port)
{
	char err[512];
	int rc;

	if (port_file != NULL && portfile_write(port_file, port, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	/* Without $NOTIFY_SOCKET (not under systemd) it does nothing. */
	if ((rc = sd_notifyf(0, "READY=1\nSTATUS=listening on port %d\n"
	    "MAINPID=%ld", port, (long)getpid())) < 0)
		log_warnx("sd_notify: %s", strerror(-rc));
	daemon_ready();
}

void
boot_reloading(void)
{
	(void)sd_notify(0, "RELOADING=1\nSTATUS=reloading");
}

void
boot_reloaded(void)
{
	(void)sd_notify(0, "READY=1\nSTATUS=running");
}

void
boot_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void
boot_reopen_log(void)
{
	char err[512];

	if (log_file_reopen(err, sizeof(err)) == -1)
		log_warnx("%s", err);
	else
		log_info("log file reopened");
}
