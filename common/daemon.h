/*
 * daemon.h - what a server does to become a daemon: detach, hold a PID
 * file, and publish the port it bound.  Daemon-internal: 0 / -1, with a
 * one-line message in err (which may be NULL when errlen is 0).
 */
#ifndef NAP_DAEMON_H
#define NAP_DAEMON_H

#include <stddef.h>

/*
 * Create or take over the PID file at path and write our PID ("PID\n")
 * into it.  The file stays open with an fcntl(2) write lock for the life
 * of the process, so a second server with the same file is refused
 * ("PATH: held by process N") while a file left by a dead process is
 * taken over.  Call it after daemonize(): fcntl locks do not pass to a
 * forked child.  One PID file per process; a second call fails.  Never
 * open the PID file elsewhere in the process: closing any descriptor of
 * a file drops every fcntl lock the process holds on it.
 */
int	pidfile_create(const char *path, char *err, size_t errlen);

/*
 * Unlink the PID file and drop the lock; nothing when there is none.  In
 * a forked child (which inherits the descriptor but not the lock) it only
 * closes the descriptor and leaves the file to its owner.
 */
void	pidfile_remove(void);

/*
 * Detach from the terminal: fork, setsid, fork again (the daemon can
 * never reacquire a terminal), chdir("/"), stdin, stdout and stderr to
 * /dev/null.  The original process and the middle one _exit(0); only the
 * daemon returns, with 0.  Returns -1 with errno set when a step fails
 * (in whichever process it failed).  Stderr goes away: switch the log to
 * syslog (log_init(ident, 1, level)) before or right after.  The umask
 * is left as it was.
 */
int	daemonize(void);

/*
 * Write "PORT\n" to path atomically: into "path.tmp", then rename(2), so
 * that whoever polls for path never reads half a file.  port is 0..65535.
 */
int	portfile_write(const char *path, int port, char *err, size_t errlen);

#endif /* NAP_DAEMON_H */
