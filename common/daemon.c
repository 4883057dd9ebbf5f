/*
 * daemon.c - detaching, the PID file (an fcntl lock held for the life of
 * the process says "running"; the file alone says nothing), and the port
 * file that tests poll for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"

static void	seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	write_all(int, const char *, size_t);
static void	parent_wait(const char *, int, pid_t)
		    __attribute__((noreturn));

static int	 pidfile_fd = -1;
static char	*pidfile_path;
static pid_t	 pidfile_owner;	/* a forked child inherits the fd, not the lock */
/* The write end of daemonize()'s pipe, until the daemon said its word. */
static int	 ready_fd = -1;

/* What the daemon sends up the pipe: one line, with one of these first. */
#define READY_OK	'+'
#define READY_FAIL	'-'

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
pidfile_create(const char *path, char *err, size_t errlen)
{
	struct flock fl;
	struct stat fst, pst;
	char buf[32];
	ssize_t n;
	long pid;
	int fd = -1, tries, len;

	if (pidfile_fd != -1 && pidfile_owner != getpid())
		pidfile_remove();
	if (pidfile_fd != -1) {
		seterr(err, errlen, "%s: a PID file (%s) is already held",
		    path, pidfile_path);
		return -1;
	}
	/*
	 * Whoever removes the file unlinks it while holding the lock; if
	 * that happened between our open and our lock, we hold a lock on a
	 * file nobody can see, so open again.
	 */
	for (tries = 0; ; tries++) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) ==
		    -1) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == -1) {
			if (errno != EACCES && errno != EAGAIN) {
				seterr(err, errlen, "%s: lock: %s", path,
				    strerror(errno));
				goto err;
			}
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid > 0)
				seterr(err, errlen, "%s: held by process %ld",
				    path, pid);
			else
				seterr(err, errlen, "%s: held by another "
				    "process", path);
			goto err;
		}
		if (fstat(fd, &fst) == -1 || stat(path, &pst) == -1 ||
		    fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino) {
			close(fd);
			fd = -1;
			if (tries < 10)
				continue;
			seterr(err, errlen, "%s: keeps being removed", path);
			return -1;
		}
		break;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    write_all(fd, buf, (size_t)len) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto err;
	}
	if ((pidfile_path = strdup(path)) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto err;
	}
	pidfile_fd = fd;
	pidfile_owner = getpid();
	return 0;
err:
	if (fd != -1)
		close(fd);
	return -1;
}

void
pidfile_remove(void)
{
	if (pidfile_fd == -1)
		return;
	/*
	 * Unlink first: the lock keeps a new server out until we close.  A
	 * forked child holds no lock and leaves the file to its parent.
	 */
	if (pidfile_owner == getpid())
		(void)unlink(pidfile_path);
	close(pidfile_fd);
	pidfile_fd = -1;
	free(pidfile_path);
	pidfile_path = NULL;
}

/*
 * The original process: read the daemon's one line, or EOF when every
 * write end is closed (the middle process and the daemon both gone).
 */
static void
parent_wait(const char *name, int fd, pid_t middle)
{
	char line[1024];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(line) - 1) {
		n = read(fd, line + len, sizeof(line) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	line[len] = '\0';
	(void)waitpid(middle, NULL, 0);
	if (len > 0 && line[0] == READY_OK)
		_exit(0);
	line[strcspn(line, "\n")] = '\0';
	if (len > 1 && line[0] == READY_FAIL)
		dprintf(STDERR_FILENO, "%s\n", line + 1);
	else
		dprintf(STDERR_FILENO, "%s: exited before it was ready\n",
		    name);
	_exit(1);
}

int
daemonize(const char *name)
{
	pid_t pid;
	int fd, p[2];

	if (pipe(p) == -1)
		return -1;
	(void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid != 0) {
		close(p[1]);
		parent_wait(name, p[0], pid);
	}
	close(p[0]);
	ready_fd = p[1];
	if (setsid() == -1)
		return -1;
	/* The session leader leaves: the daemon cannot get a terminal. */
	if ((pid = fork()) == -1)
		return -1;
	if (pid != 0)
		_exit(0);
	if (chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		if (fd > STDERR_FILENO)
			close(fd);
		return -1;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

void
daemon_ready(void)
{
	const char ok[] = { READY_OK, '\n' };

	if (ready_fd == -1)
		return;
	(void)write_all(ready_fd, ok, sizeof(ok));
	close(ready_fd);
	ready_fd = -1;
}

void
daemon_failed(const char *line)
{
	char buf[1024];
	size_t i, n;

	if (ready_fd == -1)
		return;
	buf[0] = READY_FAIL;
	for (n = 1, i = 0; line[i] != '\0' && n < sizeof(buf) - 1; i++, n++)
		buf[n] = (unsigned char)line[i] < 0x20 ? '?' : line[i];
	buf[n++] = '\n';
	(void)write_all(ready_fd, buf, n);
	close(ready_fd);
	ready_fd = -1;
}

int
portfile_write(const char *path, int port, char *err, size_t errlen)
{
	char *tmp = NULL, buf[16];
	size_t plen;
	int fd = -1, len, rc = -1;

	if (port < 0 || port > 65535) {
		seterr(err, errlen, "%s: bad port %d", path, port);
		return -1;
	}
	plen = strlen(path);
	if ((tmp = malloc(plen + sizeof(".tmp"))) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", sizeof(".tmp"));
	len = snprintf(buf, sizeof(buf), "%d\n", port);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, buf, (size_t)len) == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1)
		(void)unlink(tmp);
	free(tmp);
	return rc;
}
