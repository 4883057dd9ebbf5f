/*
 * log.h - the servers' one log API (the shape of OpenBSD ntpd's log.h):
 * one event per line, to stderr or to syslog, with printf checking.
 *
 * Levels are the syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG.  A message is written when its level is at or above the
 * configured one (numerically <=); fatal() and fatalx() always are.
 *
 * On stderr each event is one line of at most LOG_LINE_MAX bytes, written
 * with a single write(2) so that lines from threads never interleave:
 *
 *	2026-11-22T01:02:03.123456Z nap-domain[4242] [io1] info: message
 *
 * The time is UTC; "[io1]" appears only on threads that called
 * log_set_thread_name().  A longer line is cut and ends in "...".  Control
 * characters in a message (a newline, say) are written as '?', so a
 * message can never forge a second line.  Never log a secret.
 *
 * With log_file_open() the stderr lines go to a file instead (the
 * log-file key), reopened by log_file_reopen() after logrotate moved it.
 *
 * Call log_init() before starting threads (as ntpd does); after that
 * every function here is thread-safe, log_setlevel() included, and none
 * holds a lock across I/O.  Every log function leaves errno as it found it.
 */
#ifndef NAP_LOG_H
#define NAP_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

/* The longest line written to stderr, newline included. */
#define LOG_LINE_MAX	1024
/* The longest thread tag kept by log_set_thread_name(). */
#define LOG_TNAME_MAX	15

/*
 * Start logging as "ident" (copied; at most 63 bytes kept): to syslog
 * (openlog with LOG_PID, facility LOG_DAEMON) when to_syslog is set,
 * otherwise to stderr.  level is the least urgent level written.
 * Before log_init() the ident is "nap", output stderr, level LOG_INFO.
 */
void	log_init(const char *ident, int to_syslog, int level);

/*
 * Write the lines that would go to stderr to path instead, appending
 * (created 0640).  A relative path is made absolute first, since a daemon
 * runs in "/".  0, or -1 with a one-line message in err.  Call it before
 * threads start, as log_init().
 */
int	log_file_open(const char *path, char *err, size_t errlen);

/*
 * Open the log file's path again (logrotate renamed the file: SIGUSR1)
 * and send every later line there; safe while other threads log, since
 * the new file takes the old one's descriptor number with dup2(2).  0
 * (also when there is no log file), or -1 with err: the lines keep going
 * to the old file.
 */
int	log_file_reopen(char *err, size_t errlen);

/* Back to stderr; the file is closed. */
void	log_file_close(void);

/*
 * fatal() and fatalx() call hook with the message (no time stamp, no
 * ident) before they exit, e.g. to tell a waiting parent why (boot.c).
 * NULL removes it.
 */
void	log_set_fatal_hook(void (*hook)(const char *msg));

/* Change the level (e.g. after the config is read). */
void	log_setlevel(int level);

/* The current level. */
int	log_getlevel(void);

/*
 * "error", "warn", "info", "debug" -> LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG; -1 for anything else (NULL included).
 */
int	log_level_parse(const char *s);

/* The name log_level_parse() takes for a level; "?" when there is none. */
const char *log_level_name(int level);

/*
 * Tag the calling thread's lines with "[name]" (at most LOG_TNAME_MAX
 * bytes kept); NULL or "" removes the tag.
 */
void	log_set_thread_name(const char *name);

/* log_warn() appends ": " and strerror(errno) to the message. */
void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Log at any level, e.g. log_msg(LOG_ERR, ...) (ntpd's logit/vlog). */
void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Log at LOG_CRIT (shown as "fatal") and exit(1); fatal() appends
 * strerror(errno) as log_warn() does.
 */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* NAP_LOG_H */
