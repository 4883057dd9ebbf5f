/*
 * log.c - one line per event, to stderr or syslog.  Each line is built in
 * a stack buffer and leaves in one write(2): threads need no lock, and a
 * line is never split by another thread's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* A line under construction; len never passes cap - 1. */
struct lbuf {
	char	*p;
	size_t	 cap;		/* bytes in p, the NUL included */
	size_t	 len;
	int	 cut;		/* something did not fit */
};

static void	lb_vprintf(struct lbuf *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
static void	lb_printf(struct lbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	lb_stamp(struct lbuf *);
static void	log_emit(int, const char *, int, const char *, va_list)
		    __attribute__((format(printf, 4, 0)));
static void	log_emitf(int, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	log_fatal(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0), noreturn));
static int	log_file_openfd(const char *, char *, size_t);

static char log_ident[64] = "nap";
static atomic_int log_tosyslog;
static atomic_int log_level = LOG_INFO;
static _Thread_local char log_tname[LOG_TNAME_MAX + 1];
/* Where stderr lines go: STDERR_FILENO, or the log file's descriptor. */
static atomic_int log_fd = STDERR_FILENO;
static char *log_path;		/* absolute; NULL without a log file */
static void (*log_fatal_hook)(const char *);
static void	log_vmsg(int level, const char *fmt,
		    va_list ap) __attribute__((format(printf, 2, 0)));

/* Indexed by syslog priority. */
static const char *const log_names[] = {
	"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};

void
log_init(const char *ident, int to_syslog, int level)
{
	if (atomic_load(&log_tosyslog))
		closelog();
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	atomic_store(&log_level, level);
	atomic_store(&log_tosyslog, to_syslog != 0);
	if (to_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(int level)
{
	atomic_store(&log_level, level);
}

int
log_getlevel(void)
{
	return atomic_load(&log_level);
}

int
log_level_parse(const char *s)
{
	static const int levels[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
	    LOG_DEBUG };
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, log_names[levels[i]]) == 0)
			return levels[i];
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || (size_t)level >= sizeof(log_names) /
	    sizeof(log_names[0]))
		return "?";
	return log_names[level];
}

void
log_set_thread_name(const char *name)
{
	if (name == NULL)
		name = "";
	snprintf(log_tname, sizeof(log_tname), "%s", name);
}

static void
lb_vprintf(struct lbuf *b, const char *fmt, va_list ap)
{
	int n;

	if (b->cut)
		return;
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n < 0) {
		b->p[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		b->len = b->cap - 1;
		b->cut = 1;
	} else
		b->len += (size_t)n;
}

static void
lb_printf(struct lbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lb_vprintf(b, fmt, ap);
	va_end(ap);
}

/* 2026-11-22T01:02:03.123456Z, in UTC. */
static void
lb_stamp(struct lbuf *b)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		lb_printf(b, "-");
		return;
	}
	lb_printf(b, "%s.%06ldZ", day, (long)(ts.tv_nsec / 1000));
}

static void
log_emit(int level, const char *label, int with_errno, const char *fmt,
    va_list ap)
{
	char line[LOG_LINE_MAX + 1], ebuf[128];
	struct lbuf b = { line, LOG_LINE_MAX, 0, 0 };
	size_t msg, i, off;
	ssize_t w;
	int saved = errno, to_syslog, fd;

	line[0] = '\0';
	to_syslog = atomic_load(&log_tosyslog);
	if (!to_syslog) {
		lb_stamp(&b);
		lb_printf(&b, " %s[%ld] ", log_ident, (long)getpid());
	}
	if (log_tname[0] != '\0')
		lb_printf(&b, "[%s] ", log_tname);
	if (!to_syslog)
		lb_printf(&b, "%s: ", label);
	msg = b.len;
	lb_vprintf(&b, fmt, ap);
	if (with_errno) {
		if (strerror_r(saved, ebuf, sizeof(ebuf)) != 0)
			snprintf(ebuf, sizeof(ebuf), "error %d", saved);
		lb_printf(&b, ": %s", ebuf);
	}
	/* One event, one line: no control character survives. */
	for (i = msg; i < b.len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
		else if ((unsigned char)line[i] == 0x7f)
			line[i] = '?';
	if (b.cut && b.len >= 3)
		memcpy(line + b.len - 3, "...", 3);

	if (to_syslog) {
		syslog(level, "%s", line);
		errno = saved;
		return;
	}
	line[b.len++] = '\n';
	fd = atomic_load(&log_fd);
	for (off = 0; off < b.len; off += (size_t)w) {
		w = write(fd, line + off, b.len - off);
		if (w == -1 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			break;
	}
	errno = saved;
}

static void
log_vmsg(int level, const char *fmt, va_list ap)
{
	if (level > atomic_load(&log_level))
		return;
	log_emit(level, log_level_name(level), 0, fmt, ap);
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	if (LOG_WARNING > atomic_load(&log_level))
		return;
	va_start(ap, fmt);
	log_emit(LOG_WARNING, log_names[LOG_WARNING], 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

static void
log_emitf(int level, const char *label, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, label, 0, fmt, ap);
	va_end(ap);
}

/* The message is formatted once, for the log and for the hook. */
static void
log_fatal(int with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], ebuf[128];
	int saved = errno;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		if (strerror_r(saved, ebuf, sizeof(ebuf)) != 0)
			snprintf(ebuf, sizeof(ebuf), "error %d", saved);
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", ebuf);
	}
	log_emitf(LOG_CRIT, "fatal", "%s", msg);
	if (log_fatal_hook != NULL)
		log_fatal_hook(msg);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fatal(1, fmt, ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fatal(0, fmt, ap);
}

void
log_set_fatal_hook(void (*hook)(const char *))
{
	log_fatal_hook = hook;
}

static int
log_file_openfd(const char *path, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0640)) == -1)
		snprintf(err, errlen, "log-file %s: %s", path,
		    strerror(errno));
	return fd;
}

/* log_path is malloc'd here and freed by log_file_close(). */
int
log_file_open(const char *path, char *err, size_t errlen)
{
	char cwd[PATH_MAX], *abs;
	int fd;

	if (path[0] == '/')
		abs = strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		snprintf(err, errlen, "log-file %s: %s", path,
		    strerror(errno));
		return -1;
	} else if ((abs = malloc(strlen(cwd) + strlen(path) + 2)) != NULL)
		sprintf(abs, "%s/%s", cwd, path);
	if (abs == NULL) {
		snprintf(err, errlen, "log-file %s: out of memory", path);
		return -1;
	}
	if ((fd = log_file_openfd(abs, err, errlen)) == -1) {
		free(abs);
		return -1;
	}
	log_file_close();
	log_path = abs;
	atomic_store(&log_fd, fd);
	return 0;
}

int
log_file_reopen(char *err, size_t errlen)
{
	int fd, old = atomic_load(&log_fd);

	if (log_path == NULL)
		return 0;
	if ((fd = log_file_openfd(log_path, err, errlen)) == -1)
		return -1;
	/* A line written meanwhile lands in the old file or the new. */
	if (dup2(fd, old) == -1) {
		snprintf(err, errlen, "log-file %s: %s", log_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	(void)fcntl(old, F_SETFD, FD_CLOEXEC);	/* dup2 cleared it */
	return 0;
}

void
log_file_close(void)
{
	int fd = atomic_exchange(&log_fd, STDERR_FILENO);

	if (fd != STDERR_FILENO)
		close(fd);
	free(log_path);
	log_path = NULL;
}
