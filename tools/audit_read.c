/*
 * audit_read.c - nap-audit's input: a bounded line reader (a line above
 * max_line is skipped and counted, never buffered whole), the record
 * view, the filters of cat/grep/follow/stats, and the message bytes of a
 * record (verbatim or base64).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit_tool.h"

/* ---- errors --------------------------------------------------------------- */

void
warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("nap-audit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* warnx(), then the exit status to return. */
int
failx(int status, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	warnx("%s", buf);
	return status;
}

void
tally_print(const struct opts *o, const struct tally *t)
{
	if (!o->quiet)
		fprintf(stderr, "nap-audit: %llu records read, %llu skipped\n",
		    (unsigned long long)t->read,
		    (unsigned long long)t->skipped);
}

/* ---- the line reader ------------------------------------------------------ */

int
reader_open(struct reader *r, const char *path, size_t max_line,
    bool follow)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->max_line = max_line;
	r->follow = follow;
	r->cap = READ_CHUNK;
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((r->buf = malloc(r->cap)) == NULL) {
		close(r->fd);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
reader_close(struct reader *r)
{
	if (r->fd != -1)
		close(r->fd);
	free(r->buf);
	r->fd = -1;
	r->buf = NULL;
}

/* Room for more input: drop what was returned, grow up to the bound. */
static int
make_room(struct reader *r)
{
	uint8_t *p;
	size_t cap;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len > r->max_line) {	/* too long: skip to its end */
		r->skipping = true;
		r->len = 0;
	}
	if (r->len < r->cap)
		return 0;
	cap = r->cap * 2;
	if ((p = realloc(r->buf, cap)) == NULL)
		return -1;
	r->buf = p;
	r->cap = cap;
	return 0;
}

/* At the end of the input: a partial line, or nothing (yet). */
static enum rd_status
at_eof(struct reader *r, const uint8_t **line, size_t *len)
{
	bool was_long = r->skipping;

	if (r->follow || (r->len - r->off == 0 && !r->skipping))
		return RD_EOF;
	*line = r->buf + r->off;
	*len = r->len - r->off;
	r->off = r->len;
	r->skipping = false;
	r->lineno++;
	return was_long ? RD_LONG : RD_PARTIAL;
}

enum rd_status
reader_next(struct reader *r, const uint8_t **line, size_t *len)
{
	for (;;) {
		uint8_t *p = r->buf + r->off;
		uint8_t *nl = memchr(p, '\n', r->len - r->off);
		ssize_t n;

		if (nl != NULL) {
			bool was_long = r->skipping;

			r->skipping = false;
			r->off = (size_t)(nl + 1 - r->buf);
			r->lineno++;
			*line = p;
			*len = (size_t)(nl - p);
			return was_long ? RD_LONG : RD_LINE;
		}
		if (r->skipping)
			r->off = r->len;
		if (make_room(r) == -1)
			return RD_ERROR;
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR && !r->follow)
			continue;
		if (n < 0)
			return errno == EINTR ? RD_EOF : RD_ERROR;
		if (n == 0)
			return at_eof(r, line, len);
		r->len += (size_t)n;
	}
}

/* ---- records and filters ---------------------------------------------- */

int
view_parse(struct view *v, const uint8_t *line, size_t len, const char **why)
{
	if (audit_rec_parse(line, len, &v->r, why) == -1)
		return -1;
	v->line = line;
	v->len = len;
	v->type = v->from = v->to = v->seq = 0;
	v->has_t = audit_rec_time(&v->r, &v->t) == 0;
	v->has_h = v->r.kind == AREC_MSG &&
	    audit_rec_u32(&v->r, "type", &v->type) == 0 &&
	    audit_rec_code(&v->r, "from", &v->from) == 0 &&
	    audit_rec_code(&v->r, "to", &v->to) == 0 &&
	    audit_rec_u32(&v->r, "seq", &v->seq) == 0;
	return 0;
}

/* ",a,b," holds v (the attribute value, n bytes). */
static bool
in_list(const char *list, const char *v, size_t n)
{
	for (const char *p = list; (p = strchr(p, ',')) != NULL && p[1];
	    p++)
		if (strncmp(p + 1, v, n) == 0 && p[1 + n] == ',')
			return true;
	return false;
}

static bool
match_msg(const struct opts *o, const struct view *v)
{
	const char *s;
	size_t n;

	if ((o->given & ((O_MSG_ONLY | O_CODE) & ~(O_VERDICT | O_TEXT))) &&
	    !v->has_h)
		return false;
	if ((o->given & O_FROM) && v->from != o->from)
		return false;
	if ((o->given & O_TO) && v->to != o->to)
		return false;
	if ((o->given & O_CODE) && v->from != o->code && v->to != o->code)
		return false;
	if ((o->given & O_REGION) && v->from >> 16 != o->region &&
	    v->to >> 16 != o->region)
		return false;
	if ((o->given & O_TYPE) && !audit_ranges_has(&o->types, v->type))
		return false;
	if ((o->given & O_SEQ) && v->seq != o->seq)
		return false;
	if ((o->given & O_VERDICT) && ((s = audit_rec_get(&v->r, "verdict",
	    &n)) == NULL || !in_list(o->verdict, s, n)))
		return false;
	return true;
}

/* memmem(3) is a GNU extension: the same, in C11. */
static bool
contains(const uint8_t *h, size_t hl, const char *n, size_t nl)
{
	const uint8_t *p = h, *end = h + hl;

	if (nl == 0)
		return true;
	while (nl <= (size_t)(end - p) &&
	    (p = memchr(p, n[0], (size_t)(end - p) - nl + 1)) != NULL) {
		if (memcmp(p, n, nl) == 0)
			return true;
		p++;
	}
	return false;
}

/* Free text: in the message bytes (decoded), payload or Header. */
static bool
match_text(const struct opts *o, const struct view *v)
{
	static uint8_t *scratch;	/* grown once, freed at exit */
	static size_t cap;
	const uint8_t *b;
	size_t len;

	if ((b = view_body(v, &scratch, &cap, &len)) == NULL)
		return false;
	return contains(b, len, o->text, strlen(o->text));
}

bool
view_match(const struct opts *o, const struct view *v)
{
	const char *s;
	size_t n;
	uint32_t code;

	if ((o->given & (O_SINCE | O_UNTIL)) && (!v->has_t ||
	    ((o->given & O_SINCE) && v->t < o->since) ||
	    ((o->given & O_UNTIL) && v->t >= o->until)))
		return false;
	if ((o->given & O_SESSION) && ((s = audit_rec_get(&v->r, "session",
	    &n)) == NULL || n != strlen(o->session) ||
	    strncasecmp(s, o->session, n) != 0))
		return false;
	if (v->r.kind == AREC_SESS)
		return !(o->given & O_MSG_ONLY) && (!(o->given & O_CODE) ||
		    (audit_rec_code(&v->r, "code", &code) == 0 &&
		    code == o->code));
	if (v->r.kind != AREC_MSG)
		return !(o->given & (O_MSG_ONLY | O_CODE | O_SESSION));
	if (!match_msg(o, v))
		return false;
	return !(o->given & O_TEXT) || match_text(o, v);
}

const uint8_t *
view_body(const struct view *v, uint8_t **scratch, size_t *cap, size_t *len)
{
	size_t need = v->r.body_len / 4 * 3 + 3;
	uint8_t *p;

	if (v->r.kind != AREC_MSG)
		return NULL;
	if (audit_rec_is(&v->r, "body", "xml")) {
		*len = v->r.body_len;
		return v->r.body;
	}
	if (!audit_rec_is(&v->r, "body", "base64"))
		return NULL;
	if (need > *cap) {
		if ((p = realloc(*scratch, need)) == NULL)
			return NULL;
		*scratch = p;
		*cap = need;
	}
	if (audit_b64_decode((const char *)v->r.body, v->r.body_len,
	    *scratch, len) == -1)
		return NULL;
	return *scratch;
}

/* ---- the common loop ---------------------------------------------------- */

int
read_lines(struct reader *rd, struct tally *t,
    int (*fn)(const struct view *, void *), void *arg)
{
	const uint8_t *line;
	size_t len;
	enum rd_status st;
	struct view v;
	const char *why;
	int rc;

	while ((st = reader_next(rd, &line, &len)) != RD_EOF) {
		if (st == RD_ERROR)
			return failx(EXIT_FAIL, "%s: %s", rd->path,
			    strerror(errno));
		if (st == RD_LINE && view_parse(&v, line, len, &why) == 0) {
			t->read++;
			if ((rc = fn(&v, arg)) != 0)
				return rc;
			continue;
		}
		/* Name the first few; a damaged log must not flood. */
		if (++t->skipped <= 10)
			warnx("%s:%llu: skipped: %s", rd->path,
		    (unsigned long long)rd->lineno, st == RD_LONG ?
		    "line longer than --max-line" : st == RD_PARTIAL ?
		    "incomplete last line" : why);
	}
	return 0;
}

int
each_record(const struct opts *o, int nfiles, char **files, struct tally *t,
    int (*fn)(const struct view *, void *), void *arg)
{
	struct reader rd;
	int rc = 0;

	for (int i = 0; i < nfiles && rc == 0; i++) {
		if (reader_open(&rd, files[i], o->max_line, false) == -1)
			return failx(EXIT_FAIL, "%s: %s", files[i],
			    strerror(errno));
		rc = read_lines(&rd, t, fn, arg);
		reader_close(&rd);
	}
	return rc;
}
