/*
 * boot.h - how both servers start (DESIGN.md §9): the configuration from
 * the file and the command line, -h, -n (check and exit 0 or 1), then
 * syslog, --daemon and the PID file, with the exit statuses of §9 (0 ok,
 * 1 refused or failed, 2 bad usage) and one line on stderr per failure.
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
};

/*
 * Returns only for a real start: the configuration is valid, the process
 * is detached when --daemon asked, the PID file is held, and the start
 * is logged with the version.  Every other outcome exits (0 for -h,
 * --version and a valid -n).
 */
void	boot(const struct boot *, int argc, char **argv);

#endif /* NAP_BOOT_H */
