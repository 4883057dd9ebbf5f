/*
 * boot.h - how both servers start (DESIGN.md §9): the configuration from
 * the file and the command line, -h, -n (check and exit 0 or 1), then
 * the log (stderr, syslog or a file), --daemon and the PID file, with the
 * exit statuses of §9 (0 ok, 1 refused or failed, 2 bad usage) and one
 * line on stderr per failure; then, once the server listens, the word to
 * whoever waits for it (boot_ready()).
 */
#ifndef NAP_BOOT_H
#define NAP_BOOT_H

#include "config.h"

/* The version of every NAP binary (configure's, from the VERSION file). */
#ifndef NAP_VERSION
#define NAP_VERSION	"unknown"
#endif

struct boot {
	const char		*name;		/* "nap-domain" */
	const struct conf_key	*keys;
	void			*conf;		/* what keys fill */
	/* Fields of *conf the start needs (filled by the parse). */
	const int		*log_level, *syslog;
	char *const		*pid_file;
	/* The server's own checks; create is 0 under -n (look, do not
	 * create files).  0, or -1 with err. */
	int	(*check)(void *arg, int create, char *err, size_t errlen);
	void			*arg;
	char *const		*log_file;	/* NULL: no log-file key */
};

/*
 * Returns only for a real start: the configuration is valid, the process
 * is detached when --daemon asked, the PID file is held, and the start
 * is logged with the version.  Every other outcome exits (0 for -h,
 * --version and a valid -n).  From here on a fatal() or fatalx()
 * removes the PID file and, under --daemon, makes the waiting parent
 * print its message and exit 1.
 */
void	boot(const struct boot *, int argc, char **argv);

/*
 * The server listens: write port to port_file (when not NULL; fatalx when
 * it cannot), then say so to systemd (READY=1, Type=notify) and to the
 * --daemon parent, which exits 0.  Call it once, after the listener is up
 * and the signals are watched.
 */
void	boot_ready(const char *port_file, int port);

/* SIGHUP: RELOADING=1 to systemd before the reload, READY=1 after. */
void	boot_reloading(void);
void	boot_reloaded(void);

/* SIGTERM, SIGINT: STOPPING=1 to systemd. */
void	boot_stopping(void);

/*
 * SIGUSR1: open the log-file again (logrotate moved it); a warning in
 * the old file when that fails.
 */
void	boot_reopen_log(void);

#endif /* NAP_BOOT_H */
