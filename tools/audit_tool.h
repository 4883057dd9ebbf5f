/*
 * audit_tool.h - nap-audit's private declarations, grouped by file
 * (relayd.h style).  nap-audit reads audit logs (DESIGN.md §8, the
 * format in audit_rec.h and nap-audit(1)) as streams: one bounded line
 * buffer per file, never a whole file in memory.
 */
#ifndef NAP_AUDIT_TOOL_H
#define NAP_AUDIT_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "audit_rec.h"

#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define MAX_LINE_DEFAULT	(32u << 20)	/* > base64 of a 16 MiB frame */
#define READ_CHUNK		(64u << 10)

/* Options, as bits: what was given, and what each command takes. */
enum {
	O_CODE = 1 << 0, O_FROM = 1 << 1, O_TO = 1 << 2, O_REGION = 1 << 3,
	O_TYPE = 1 << 4, O_VERDICT = 1 << 5, O_SINCE = 1 << 6,
	O_UNTIL = 1 << 7, O_TEXT = 1 << 8, O_SESSION = 1 << 9,
	O_SEQ = 1 << 10, O_FORMAT = 1 << 11, O_KEY = 1 << 12,
	O_INTERVAL = 1 << 13, O_ALL = 1 << 14, O_MAXLINE = 1 << 15,
	O_QUIET = 1 << 16, O_HELP = 1 << 17, O_VERSION = 1 << 18,
};
#define O_FILTERS	(O_CODE | O_FROM | O_TO | O_REGION | O_TYPE | \
			 O_VERDICT | O_SINCE | O_UNTIL | O_TEXT | O_SESSION)
/* Filters that only a message record can satisfy. */
#define O_MSG_ONLY	(O_FROM | O_TO | O_REGION | O_TYPE | O_VERDICT | \
			 O_TEXT | O_SEQ)

enum out_format { F_TABLE, F_RECORD, F_XML, F_JSON };

/* The command line, parsed. */
struct opts {
	unsigned		 given;		/* O_* bits */
	uint32_t		 code, from, to, seq;
	uint16_t		 region;
	struct audit_ranges	 types;
	char			 verdict[64];	/* ",routed,refused," */
	int64_t			 since, until;	/* microseconds */
	const char		*text, *session, *key;
	enum out_format		 format;
	long			 interval_ms;
	size_t			 max_line;
	bool			 quiet;
};

/* Totals every command reports on stderr. */
struct tally {
	uint64_t	read, skipped;
};

/* A line reader over one file (audit_read.c). */
enum rd_status {
	RD_EOF,		/* nothing more (for now, when following) */
	RD_LINE,	/* a whole line, without its '\n' */
	RD_PARTIAL,	/* the last line had no '\n' (not when following) */
	RD_LONG,	/* a line above max_line was skipped */
	RD_ERROR,	/* read(2) failed; errno set */
};
struct reader {
	const char	*path;
	int		 fd;
	uint8_t		*buf;
	size_t		 off, len, cap, max_line;
	uint64_t	 lineno;	/* of the line just returned */
	bool		 skipping;	/* inside an over-long line */
	bool		 follow;	/* keep a partial line at EOF */
};

/* A record read from a line, with the fields filters need. */
struct view {
	struct audit_rec r;
	const uint8_t	*line;		/* the whole line, without '\n' */
	size_t		 len;
	int64_t		 t;
	bool		 has_t, has_h;
	uint32_t	 type, from, to, seq;
};

/* audit_read.c */
int	reader_open(struct reader *, const char *path, size_t max_line,
	    bool follow);
void	reader_close(struct reader *);
enum rd_status reader_next(struct reader *, const uint8_t **line,
	    size_t *len);
int	view_parse(struct view *, const uint8_t *line, size_t len,
	    const char **why);
bool	view_match(const struct opts *, const struct view *);
/* The message bytes of a record: NULL when it has none; *scratch is a
 * buffer this function grows and the caller frees. */
const uint8_t *view_body(const struct view *, uint8_t **scratch,
	    size_t *cap, size_t *len);
void	warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	failx(int status, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	tally_print(const struct opts *, const struct tally *);
/* Runs fn over each record of rd until EOF; counts read and skipped. */
int	read_lines(struct reader *, struct tally *,
	    int (*fn)(const struct view *, void *), void *arg);
/* Runs fn over every record of every file; counts read and skipped. */
int	each_record(const struct opts *, int nfiles, char **files,
	    struct tally *, int (*fn)(const struct view *, void *),
	    void *arg);

/* audit_print.c */
int	print_record(const struct opts *, const struct view *);
struct stats;
struct stats *stats_new(void);
void	stats_add(struct stats *, const struct view *);
void	stats_print(const struct stats *, FILE *);
void	stats_free(struct stats *);

/* audit_verify.c */
int	cmd_verify(struct opts *, int, char **);
int	cmd_trace(struct opts *, int, char **);

#endif /* NAP_AUDIT_TOOL_H */
