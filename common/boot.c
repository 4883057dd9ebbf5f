/*
 * boot.c - the start every server shares (boot.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "boot.h"
#include "daemon.h"
#include "log.h"

void
boot(const struct boot *b, int argc, char **argv)
{
	struct conf_cli cli;
	char err[512];

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
	if (*b->syslog || cli.daemon)
		log_init(b->name, 1, *b->log_level);
	signal(SIGPIPE, SIG_IGN);
	if (cli.daemon && daemonize() == -1)
		fatal("daemonize");
	if (*b->pid_file != NULL && pidfile_create(*b->pid_file, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("%s %s starting", b->name, NAP_VERSION);
}
