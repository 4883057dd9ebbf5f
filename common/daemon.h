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
 * /dev/null.  Only the daemon returns, with 0; the middle process
 * _exit(0)s, and the original process waits on a pipe for the daemon's
 * word (§9: the exit status of the command says whether the server
 * runs): daemon_ready() makes it _exit(0), daemon_failed(LINE) makes it
 * print LINE on stderr and _exit(1), and a daemon that ends without a
 * word makes it print "NAME: exited before it was ready" and _exit(1).
 * Returns -1 with errno set when a step fails (in whichever process it
 * failed).  Stderr goes away: switch the log to syslog or a file before
 * or right after.  The umask is left as it was.
 */
int	daemonize(const char *name);

/*
 * Tell the waiting parent the daemon is ready, once: it exits 0.  Nothing
 * when there is no parent waiting (no --daemon, or said already).
 */
void	daemon_ready(void);

/*
 * Tell the waiting parent why the daemon cannot start: it prints line
 * (one line: control characters are sent as '?') and exits 1.  Nothing
 * when no parent waits.  Async-signal-unsafe: call it from a fatal path.
 */
void	daemon_failed(const char *line);

/*
 * Write "PORT\n" to path atomically: into "path.tmp", then rename(2), so
 * that whoever polls for path never reads half a file.  port is 0..65535.
 */
int	portfile_write(const char *path, int port, char *err, size_t errlen);

#endif /* NAP_DAEMON_H */
