/*
 * audit_file.c - the writer thread's half of the audit log (DESIGN.md
 * §8): record formatting and the chain, the log file, continuing an
 * existing chain at start, rotation, sync and disk failures.
 *
 * Records are formatted into a->out and written with one write(2) per
 * flush.  a->hash is the last record formatted, a->hash_disk the last one
 * on disk: a failed write cuts the file back to its last whole record and
 * the chain back to hash_disk, so the file never holds half a record and
 * the chain never names one that is not there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_internal.h"
#include "clock.h"
#include "log.h"
#include "proto.h"

#define TAIL_WINDOW	4096	/* bytes read to find the last hash */
#define FIRST_LINE_MAX	4096	/* a <file> record is far shorter */
#define ROTATED_MAX	999999	/* path.000001 .. path.999999 */

static int	ob_grow(struct abuf *, size_t);
static void	ob_add(struct audit *, const void *, size_t);
static void	ob_printf(struct audit *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	ob_attr_text(struct audit *, const char *, const char *);
static size_t	rec_begin(struct audit *, const char *, int64_t);
static void	rec_seal(struct audit *, size_t, const char *);
static void	fmt_file(struct audit *, bool);
static void	fmt_lost(struct audit *);
static void	fmt_msg(struct audit *, const struct qmsg *);
static void	fmt_sess(struct audit *, const struct qsess *);
static int	read_chain_end(const char *, bool, char *, uint32_t *,
		    bool *, char *, size_t);
static int	rotate(struct audit *);

/* ---- the output buffer ---------------------------------------------------- */

static int
ob_grow(struct abuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 65536;
	uint8_t *p;

	while (cap < b->len + more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* On no memory the record is marked broken by an oversized length. */
static void
ob_add(struct audit *a, const void *p, size_t n)
{
	if (a->out.len == SIZE_MAX || ob_grow(&a->out, n) == -1) {
		a->out.len = SIZE_MAX;
		return;
	}
	memcpy(a->out.p + a->out.len, p, n);
	a->out.len += n;
}

static void
ob_printf(struct audit *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		ob_add(a, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

/* ` name="text"`, escaped (env_attr_esc) so that the value holds no
 * '"', '<', '>', '&' or control character (the parser relies on that). */
static void
ob_attr_text(struct audit *a, const char *name, const char *s)
{
	size_t need = env_attr_esc(NULL, 0, s);

	ob_printf(a, " %s=\"", name);
	if (a->out.len == SIZE_MAX || ob_grow(&a->out, need + 1) == -1) {
		a->out.len = SIZE_MAX;
		return;
	}
	(void)env_attr_esc((char *)a->out.p + a->out.len, need + 1, s);
	a->out.len += need;
	ob_add(a, "\"", 1);
}

/* ---- records ---------------------------------------------------------------- */

/* `<NAME v="1" t=".." server=".." inst=".."`; returns where it starts. */
static size_t
rec_begin(struct audit *a, const char *name, int64_t t_us)
{
	char t[AUDIT_TIME_LEN + 1];
	size_t start = a->out.len;

	audit_time_format(t_us, t);
	ob_printf(a, "<%s v=\"1\" t=\"%s\" server=\"%08X\"", name, t,
	    a->server);
	ob_attr_text(a, "inst", a->inst);
	return start;
}

/* `<end hash="H"/></NAME>\n`: the MAC covers start .. "<end ". */
static void
rec_seal(struct audit *a, size_t start, const char *name)
{
	char h[AUDIT_HEX + 1];

	ob_add(a, "<end ", 5);
	if (a->out.len == SIZE_MAX ||
	    audit_mac_hex(a->mac, a->out.p + start, a->out.len - start,
	    h) == -1) {
		a->out.len = start;	/* not formatted: lost */
		audit_lose(a, 1, "no memory");
		return;
	}
	ob_printf(a, "hash=\"%s\"/></%s>\n", h, name);
	if (a->out.len == SIZE_MAX) {
		a->out.len = start;
		audit_lose(a, 1, "no memory");
		return;
	}
	memcpy(a->hash, h, sizeof(h));
	a->out_nrec++;
	a->file_recs++;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
fmt_file(struct audit *a, bool keyed)
{
	size_t s = rec_begin(a, "file", now_us());

	ob_printf(a, " n=\"%u\" mac=\"%s\" prev=\"%s\">", a->fileno,
	    keyed ? "hmac-sha256" : "sha256", a->hash);
	rec_seal(a, s, "file");
}

static void
fmt_lost(struct audit *a)
{
	size_t s = rec_begin(a, "lost", now_us());
	uint64_t n = a->wlost;

	ob_printf(a, " n=\"%llu\"", (unsigned long long)n);
	ob_attr_text(a, "why", a->wlost_why);
	ob_printf(a, " prev=\"%s\">", a->hash);
	a->wlost = 0;
	rec_seal(a, s, "lost");
}

/*
 * A body goes in verbatim only when it cannot break the line or the
 * record's XML: it parsed as an envelope (§3: well-formed, no DOCTYPE,
 * no processing instruction but the declaration) and holds no CR, LF or
 * NUL and no declaration ("<?"), which may not appear inside an element.
 */
static bool
verbatim_ok(const struct qmsg *m, const uint8_t *b)
{
	if (!m->has_h)
		return false;
	for (uint32_t i = 0; i < m->len; i++)
		if (b[i] == '\n' || b[i] == '\r' || b[i] == '\0' ||
		    (b[i] == '<' && i + 1 < m->len && b[i + 1] == '?'))
			return false;
	return true;
}

static void
fmt_msg_body(struct audit *a, const struct qmsg *m, const uint8_t *b)
{
	char d[AUDIT_HEX + 1];

	if (m->has_h && m->len == 0)	/* an event on a recorded message */
		ob_printf(a, " body=\"none\" prev=\"%s\">", a->hash);
	else if (m->has_h && audit_ranges_has(&a->hdr_only, m->h.type) &&
	    audit_mac_hex(a->digest, b, m->len, d) == 0) {
		ob_printf(a, " body=\"omitted\" digest=\"%s\" prev=\"%s\">",
		    d, a->hash);
	} else if (verbatim_ok(m, b)) {
		ob_printf(a, " body=\"xml\" prev=\"%s\">", a->hash);
		ob_add(a, b, m->len);
	} else {
		ob_printf(a, " body=\"base64\" prev=\"%s\">", a->hash);
		if (a->out.len != SIZE_MAX &&
		    ob_grow(&a->out, (m->len + 2) / 3 * 4) == 0)
			a->out.len += audit_b64_encode(b, m->len,
			    (char *)a->out.p + a->out.len);
		else
			a->out.len = SIZE_MAX;
	}
}

static void
fmt_msg(struct audit *a, const struct qmsg *m)
{
	const uint8_t *b = (const uint8_t *)(m + 1);
	size_t s = rec_begin(a, "msg", m->hd.t_us);

	ob_printf(a, " hop=\"%s\" link=\"%08X\" verdict=\"%s\" code=\"%d\"",
	    m->hop == AUDIT_OUT ? "out" : "in", m->link,
	    audit_verdict_name(m->verdict) ? audit_verdict_name(m->verdict) :
	    "unknown", m->code);
	if (m->has_h)
		ob_printf(a, " type=\"%u\" from=\"%08X\" to=\"%08X\" "
		    "session=\"%s\" seq=\"%u\"", m->h.type, m->h.from, m->h.to,
		    m->h.session, m->h.seq);
	ob_printf(a, " len=\"%u\"", m->len);
	fmt_msg_body(a, m, b);
	rec_seal(a, s, "msg");
}

static void
fmt_sess(struct audit *a, const struct qsess *q)
{
	size_t s = rec_begin(a, "sess", q->hd.t_us);

	ob_printf(a, " event=\"%s\" code=\"%08X\"", q->login ? "login" :
	    "logout", q->code);
	ob_attr_text(a, "session", q->session);
	ob_attr_text(a, "reason", q->reason);
	ob_printf(a, " prev=\"%s\">", a->hash);
	for (size_t i = 0; i < q->counts.n; i++) {
		const struct audit_count *c = &q->counts.c[i];
		char type[16];

		if (c->type == AUDIT_TYPE_OTHER)
			snprintf(type, sizeof(type), "other");
		else
			snprintf(type, sizeof(type), "%u", c->type);
		ob_printf(a, "<n type=\"%s\" in=\"%llu\" inbytes=\"%llu\" "
		    "out=\"%llu\" outbytes=\"%llu\"/>", type,
		    (unsigned long long)c->msgs_in,
		    (unsigned long long)c->bytes_in,
		    (unsigned long long)c->msgs_out,
		    (unsigned long long)c->bytes_out);
	}
	rec_seal(a, s, "sess");
}

void
audit_file_item(struct audit *a, const struct qhdr *hd)
{
	if (a->wlost > 0)
		fmt_lost(a);
	if (a->rotate_bytes > 0 && a->size + a->out.len >= a->rotate_bytes &&
	    a->file_recs > 1)
		rotate(a);
	if (hd->kind == QI_MSG)
		fmt_msg(a, (const struct qmsg *)hd);
	else if (hd->kind == QI_SESS)
		fmt_sess(a, (const struct qsess *)hd);
}

/* ---- the file --------------------------------------------------------------- */

static void
complain(struct audit *a, const char *what, int e)
{
	int64_t now = mono_ms();

	audit_set_error(a, "%s %s: %s", what, a->path, strerror(e));
	if (!a->disk_bad || now - a->last_complain_ms >= AUDIT_COMPLAIN_MS) {
		log_warnx("audit: %s %s: %s; %llu records lost so far (%s)",
		    what, a->path, strerror(e),
		    (unsigned long long)atomic_load(&a->n_lost),
		    a->on_full == AUDIT_FULL_STOP_ACCEPTING ?
		    "not accepting until it is written" :
		    "routing goes on without audit");
		a->last_complain_ms = now;
	}
	a->disk_bad = true;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
reopen(struct audit *a)
{
	struct stat st;

	a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	if (a->fd == -1 || fstat(a->fd, &st) == -1)
		return -1;
	a->size = (uint64_t)st.st_size;
	return 0;
}

/* One attempt: 0 when out is on disk. */
static int
write_out(struct audit *a)
{
	if (a->fd == -1 && reopen(a) == -1)
		return -1;
	if (write_all(a->fd, a->out.p, a->out.len) == 0)
		return 0;
	/* Cut back to the last whole record (ENOSPC may leave a part). */
	if (ftruncate(a->fd, (off_t)a->size) == -1)
		log_warn("audit: cutting %s back", a->path);
	return -1;
}

static void
sync_now(struct audit *a)
{
	if (a->fd != -1 && a->unsynced && fdatasync(a->fd) == -1)
		complain(a, "syncing", errno);
	a->unsynced = false;
	a->last_sync_ms = mono_ms();
}

/*
 * Writes what is formatted.  On failure: keep-routing drops it (lost) and
 * the chain goes back to the last record on disk; stop-accepting keeps it
 * and retries until it is written or the writer is stopped.
 */
int
audit_file_flush(struct audit *a)
{
	if (a->wlost > 0)
		fmt_lost(a);
	while (a->out.len > 0) {
		if (write_out(a) == 0) {
			if (a->disk_bad)
				log_info("audit: %s is written again",
				    a->path);
			a->disk_bad = false;
			a->size += a->out.len;
			atomic_fetch_add(&a->n_written, a->out_nrec);
			atomic_fetch_add(&a->n_bytes, a->out.len);
			memcpy(a->hash_disk, a->hash, sizeof(a->hash));
			a->out.len = a->out_nrec = 0;
			a->unsynced = true;
			if (a->sync == AUDIT_SYNC_EVERY)
				sync_now(a);
			return 0;
		}
		complain(a, "writing", errno);
		/* Before the writer runs (audit_open) a failure is final. */
		if (a->on_full == AUDIT_FULL_STOP_ACCEPTING && a->started) {
			atomic_store(&a->accepting, false);
			if (audit_wait_retry(a))
				continue;
		}
		a->file_recs -= a->out_nrec;
		audit_lose(a, a->out_nrec, "write failed");
		memcpy(a->hash, a->hash_disk, sizeof(a->hash));
		a->out.len = a->out_nrec = 0;
		return -1;
	}
	return 0;
}

/* Time-driven work: interval sync, rotation by age. */
void
audit_file_tick(struct audit *a)
{
	int64_t now = mono_ms();

	if (a->sync == AUDIT_SYNC_INTERVAL && a->unsynced &&
	    now - a->last_sync_ms >= a->sync_ms)
		sync_now(a);
	if (a->rotate_s > 0 && a->file_recs > 1 &&
	    now - a->opened_ms >= a->rotate_s * 1000L && rotate(a) == 0)
		audit_file_flush(a);
}

/*
 * path -> path.NNNNNN (the n of its <file> record, zero-padded so that
 * names sort in chain order), then a new path whose <file> record names
 * the last hash.  link(2) then unlink(2): an existing name is never
 * overwritten.
 */
static int
rotate(struct audit *a)
{
	char to[4096];

	if (audit_file_flush(a) == -1 || a->fd == -1)
		return -1;
	if (fdatasync(a->fd) == -1)
		complain(a, "syncing", errno);
	snprintf(to, sizeof(to), "%s.%06u", a->path, a->fileno);
	if (link(a->path, to) == -1 || unlink(a->path) == -1) {
		complain(a, "rotating", errno);
		return -1;
	}
	close(a->fd);
	a->fd = -1;
	if (reopen(a) == -1) {
		complain(a, "creating", errno);
		return -1;
	}
	a->fileno++;
	a->file_recs = 0;
	a->opened_ms = mono_ms();
	atomic_fetch_add(&a->n_rotated, 1);
	fmt_file(a, audit_mac_keyed(a->mac));
	return 0;
}

/* ---- continuing a chain at start ---------------------------------------- */

/* The first line of fd: a <file> record, its n and mac. */
static int
read_first(int fd, uint32_t *fileno, bool *keyed, const char **why)
{
	uint8_t buf[FIRST_LINE_MAX];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	uint8_t *nl;
	struct audit_rec r;

	if (n <= 0 || (nl = memchr(buf, '\n', (size_t)n)) == NULL)
		return (*why = "no whole first record", -1);
	if (audit_rec_parse(buf, (size_t)(nl - buf), &r, why) == -1)
		return -1;
	if (r.kind != AREC_FILE || audit_rec_u32(&r, "n", fileno) == -1)
		return (*why = "the first record is not a <file> record", -1);
	*keyed = audit_rec_is(&r, "mac", "hmac-sha256");
	return 0;
}

/* Offset just past the last '\n' of the first size bytes, or 0. */
static off_t
last_newline(int fd, off_t size)
{
	uint8_t buf[TAIL_WINDOW];

	while (size > 0) {
		off_t at = size > TAIL_WINDOW ? size - TAIL_WINDOW : 0;
		ssize_t n = pread(fd, buf, (size_t)(size - at), at);

		if (n <= 0)
			return 0;
		for (ssize_t i = n - 1; i >= 0; i--)
			if (buf[i] == '\n')
				return at + i + 1;
		size = at;
	}
	return 0;
}

/* The hash at the end of the last line, which ends at end ('\n'). */
static int
read_last_hash(int fd, off_t end, char out[AUDIT_HEX + 1])
{
	char buf[TAIL_WINDOW + 1];
	off_t at = end > TAIL_WINDOW ? end - TAIL_WINDOW : 0;
	ssize_t n = pread(fd, buf, (size_t)(end - at), at);
	char *h = NULL;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *p = buf; (p = strstr(p, "hash=\"")) != NULL; p++)
		h = p + 6;
	if (h == NULL || buf + n - h < AUDIT_HEX)
		return -1;
	memcpy(out, h, AUDIT_HEX);
	out[AUDIT_HEX] = '\0';
	for (int i = 0; i < AUDIT_HEX; i++)
		if (strchr("0123456789abcdef", out[i]) == NULL)
			return -1;
	return 0;
}

/*
 * Reads where the chain of the log at path ends: its last hash, the n of
 * its <file> record and whether it is keyed.  With cut, an incomplete
 * last line (a crash in the middle of a write) is cut off.
 */
static int
read_chain_end(const char *path, bool cut, char *hash, uint32_t *fileno,
    bool *keyed, char *err, size_t errlen)
{
	const char *why = NULL;
	struct stat st;
	off_t end;
	int fd;

	if ((fd = open(path, (cut ? O_RDWR : O_RDONLY) | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "audit: %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (read_first(fd, fileno, keyed, &why) == -1 ||
	    (end = last_newline(fd, st.st_size)) == 0 ||
	    read_last_hash(fd, end, hash) == -1) {
		snprintf(err, errlen, "audit: %s: not an audit log (%s)", path,
		    why ? why : "no hash on its last line");
		close(fd);
		return -1;
	}
	if (end < st.st_size && cut) {
		log_warnx("audit: %s: cutting %lld bytes of an incomplete "
		    "last record", path, (long long)(st.st_size - end));
		if (ftruncate(fd, end) == -1) {
			snprintf(err, errlen, "audit: cutting %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return end < st.st_size ? 1 : 0;
}

/* The newest path.NNNNNN beside a missing path: its n, or 0. */
static uint32_t
newest_rotated(const char *path)
{
	char name[4096];
	struct stat st;
	uint32_t n = 0;

	while (n < ROTATED_MAX) {
		snprintf(name, sizeof(name), "%s.%06u", path, n + 1);
		if (stat(name, &st) == -1)
			break;
		n++;
	}
	return n;
}

/* Where the chain goes on from: this path, a rotated file, or genesis. */
static int
find_chain(struct audit *a, bool *keyed_old, bool *exists, char *err,
    size_t errlen)
{
	char name[4096];
	struct stat st;
	uint32_t n;
	int rc;

	memcpy(a->hash, audit_genesis, sizeof(a->hash));
	a->fileno = 0;
	*exists = stat(a->path, &st) == 0 && st.st_size > 0;
	if (*exists) {
		if ((rc = read_chain_end(a->path, true, a->hash, &a->fileno,
		    keyed_old, err, errlen)) == -1)
			return -1;
		if (rc == 1)
			audit_lose(a, 1, "incomplete record at start");
		return 0;
	}
	if ((n = newest_rotated(a->path)) == 0)
		return 0;
	snprintf(name, sizeof(name), "%s.%06u", a->path, n);
	if (read_chain_end(name, false, a->hash, &a->fileno, keyed_old, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/*
 * At audit_open(): continues the chain (see find_chain) and opens the
 * log for appending.  A new file starts with its <file> record; an
 * existing one written with the other MAC is rotated at once, so that
 * a file is never half keyed.
 */
int
audit_file_open(struct audit *a, bool keyed, char *err, size_t errlen)
{
	bool exists = false, keyed_old = keyed;

	if (find_chain(a, &keyed_old, &exists, err, errlen) == -1)
		return -1;
	if (reopen(a) == -1) {
		snprintf(err, errlen, "audit: %s: %s", a->path,
		    strerror(errno));
		return -1;
	}
	memcpy(a->hash_disk, a->hash, sizeof(a->hash));
	a->opened_ms = a->last_sync_ms = mono_ms();
	if (!exists) {
		a->fileno++;
		fmt_file(a, keyed);
	} else {
		a->file_recs = 2;	/* rotatable */
		if (keyed_old != keyed && rotate(a) == -1) {
			snprintf(err, errlen, "audit: cannot rotate %s",
			    a->path);
			return -1;
		}
	}
	if (audit_file_flush(a) == -1) {
		snprintf(err, errlen, "audit: writing %s: %s", a->path,
		    a->last_error);
		return -1;
	}
	return 0;
}

void
audit_file_close(struct audit *a)
{
	if (a->fd == -1)
		return;
	audit_file_flush(a);
	a->unsynced = true;
	sync_now(a);
	close(a->fd);
	a->fd = -1;
}
