/*
 * audit_verify.c - `verify` (DESIGN.md §8: a removed, edited or reordered
 * record is detected) and `trace` (one message across several servers'
 * logs).
 *
 * verify checks, record by record, that the hash covers the record's
 * bytes and that prev names the record before it in its chain (one chain
 * per server and instance; files continue their chain through their
 * <file> record).  It names the first broken record.  To tell a removed
 * record from a reordered one it keeps the hashes of the last RING
 * records and reads up to LOOKAHEAD records past the break: a prev seen
 * before, or seen shortly after, is a reordering; one never seen is a
 * removal.  A wrong key shows as every record failing its MAC while
 * every prev still matches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit_tool.h"

#define RING		4096
#define LOOKAHEAD	4096
#define MAX_CHAINS	64
#define TRACE_MAX	65536

struct seen {
	char		 hash[AUDIT_HEX + 1];
	const char	*file;
	uint64_t	 line;
};

struct chain {
	char		 id[64];	/* server/inst of its <file> records */
	char		 last[AUDIT_HEX + 1];
	char		 start[AUDIT_HEX + 1];	/* prev of its first record */
	uint64_t	 records;
	unsigned	 files;
};

struct verify {
	struct audit_mac *mac;
	bool		 keyed;
	struct chain	 chains[MAX_CHAINS];
	size_t		 nchains;
	struct chain	*cur;
	struct seen	*ring;
	size_t		 ring_n;
	/* The first break, and what is learnt after it. */
	bool		 broken, final;
	const char	*bfile;
	uint64_t	 bline, after;
	char		 what[256];
	char		 want[AUDIT_HEX + 1];	/* a missing prev: looked for */
	uint64_t	 total, mac_fail, link_fail;
};

static void
brk(struct verify *v, const char *file, uint64_t line, bool final,
    const char *what)
{
	if (v->broken)
		return;
	v->broken = true;
	v->final = final;
	v->bfile = file;
	v->bline = line;
	snprintf(v->what, sizeof(v->what), "%s", what);
}

static const struct seen *
ring_find(const struct verify *v, const char *hash)
{
	size_t n = v->ring_n < RING ? v->ring_n : RING;

	for (size_t i = 0; i < n; i++)
		if (strcmp(v->ring[i].hash, hash) == 0)
			return &v->ring[i];
	return NULL;
}

/* The chain of a <file> record: its server and instance. */
static struct chain *
chain_of(struct verify *v, const struct audit_rec *r)
{
	const char *s, *i;
	size_t sn, in;
	char id[64];

	s = audit_rec_get(r, "server", &sn);
	i = audit_rec_get(r, "inst", &in);
	snprintf(id, sizeof(id), "%.*s/%.*s", s ? (int)sn : 0, s ? s : "",
	    i ? (int)in : 0, i ? i : "");
	for (size_t k = 0; k < v->nchains; k++)
		if (strcmp(v->chains[k].id, id) == 0)
			return &v->chains[k];
	if (v->nchains == MAX_CHAINS)
		return NULL;
	snprintf(v->chains[v->nchains].id, sizeof(id), "%s", id);
	return &v->chains[v->nchains++];
}

/* Line 1 of a file: a <file> record with the MAC this run checks. */
static int
check_file_start(struct verify *v, const struct view *w, const char *file)
{
	bool keyed = audit_rec_is(&w->r, "mac", "hmac-sha256");

	if (w->r.kind != AREC_FILE) {
		brk(v, file, 1, true, "not a <file> record: the start of the "
		    "file is missing");
		return 0;
	}
	if (keyed && !v->keyed)
		return failx(EXIT_FAIL, "%s: keyed log (mac=hmac-sha256): "
		    "give --key FILE", file);
	if (!keyed && v->keyed) {
		brk(v, file, 1, true, "not keyed (mac=sha256) although --key "
		    "was given: anyone could have rewritten it");
		return 0;
	}
	if ((v->cur = chain_of(v, &w->r)) == NULL)
		return failx(EXIT_FAIL, "%s: more than %d chains", file,
		    MAX_CHAINS);
	v->cur->files++;
	return 0;
}

/* prev does not name the record before: removed or reordered? */
static void
link_break(struct verify *v, const struct view *w, const char *prev,
    const char *file, uint64_t line)
{
	const struct seen *s = ring_find(v, prev);
	char what[256];

	v->link_fail++;
	if (v->broken)
		return;
	if (s != NULL) {
		snprintf(what, sizeof(what), "reordered: its predecessor is "
		    "%s:%llu, not the record before it", s->file,
		    (unsigned long long)s->line);
		brk(v, file, line, false, what);
		return;
	}
	if (w->r.kind == AREC_FILE)
		brk(v, file, line, false, "removed or out of order: the file "
		    "does not continue the one given before it");
	else
		brk(v, file, line, false, "removed: the record before it is "
		    "missing (its prev matches no record read)");
	memcpy(v->want, prev, sizeof(v->want));
}

/* After a removal verdict: the missing predecessor turns up later. */
static void
look_for_want(struct verify *v, const struct view *w, const char *file,
    uint64_t line)
{
	if (v->want[0] == '\0' || strcmp(w->r.hash, v->want) != 0)
		return;
	snprintf(v->what, sizeof(v->what), "reordered: its predecessor comes "
	    "later, at %s:%llu", file, (unsigned long long)line);
	v->want[0] = '\0';
}

static void
check_record(struct verify *v, const struct view *w, const char *file,
    uint64_t line)
{
	char h[AUDIT_HEX + 1], prev[AUDIT_HEX + 1];
	size_t n;
	struct seen *s;

	v->total++;
	memcpy(prev, audit_rec_get(&w->r, "prev", &n), AUDIT_HEX);
	prev[AUDIT_HEX] = '\0';
	if (audit_mac_hex(v->mac, w->line, w->r.hashed_len, h) == -1 ||
	    strcmp(h, w->r.hash) != 0) {
		v->mac_fail++;
		brk(v, file, line, false, "edited: its hash does not match "
		    "its bytes");
	}
	if (v->cur->records == 0 && v->cur->files == 1)
		memcpy(v->cur->start, prev, sizeof(prev));	/* trusted */
	else if (strcmp(prev, v->cur->last) != 0)
		link_break(v, w, prev, file, line);
	if (w->r.kind == AREC_FILE && line != 1)
		brk(v, file, line, false, "a <file> record inside a file");
	look_for_want(v, w, file, line);
	memcpy(v->cur->last, w->r.hash, sizeof(prev));
	v->cur->records++;
	s = &v->ring[v->ring_n++ % RING];
	memcpy(s->hash, w->r.hash, sizeof(s->hash));
	s->file = file;
	s->line = line;
	if (v->broken)
		v->after++;
}

static int
verify_line(struct verify *v, struct reader *rd, enum rd_status st,
    const uint8_t *line, size_t len, struct tally *t)
{
	struct view w;
	const char *why;
	char what[256];
	int rc;

	if (st == RD_PARTIAL) {
		t->skipped++;
		brk(v, rd->path, rd->lineno, true, "truncated: the last "
		    "record is incomplete (no end of line)");
		return 0;
	}
	if (st == RD_LONG || view_parse(&w, line, len, &why) == -1) {
		t->skipped++;
		snprintf(what, sizeof(what), "edited: not a valid record (%s)",
		    st == RD_LONG ? "longer than --max-line" : why);
		brk(v, rd->path, rd->lineno, true, what);
		return 0;
	}
	t->read++;
	if (rd->lineno == 1 && (rc = check_file_start(v, &w, rd->path)) != 0)
		return rc;
	if (v->cur == NULL) {
		brk(v, rd->path, rd->lineno, true, "not a <file> record: the "
		    "start of the file is missing");
		return 0;
	}
	check_record(v, &w, rd->path, rd->lineno);
	return 0;
}

static int
verify_file(struct verify *v, const struct opts *o, const char *path,
    struct tally *t)
{
	struct reader rd;
	const uint8_t *line;
	size_t len;
	enum rd_status st;
	int rc = 0;

	if (reader_open(&rd, path, o->max_line, false) == -1)
		return failx(EXIT_FAIL, "%s: %s", path, strerror(errno));
	v->cur = NULL;
	while (rc == 0 && !(v->broken && (v->final || v->after >=
	    LOOKAHEAD)) && (st = reader_next(&rd, &line, &len)) != RD_EOF) {
		if (st == RD_ERROR)
			rc = failx(EXIT_FAIL, "%s: %s", path, strerror(errno));
		else
			rc = verify_line(v, &rd, st, line, len, t);
	}
	if (rc == 0 && rd.lineno == 0)
		brk(v, path, 1, true, "empty: no <file> record");
	reader_close(&rd);
	return rc;
}

static void
verify_report(const struct verify *v, const struct opts *o)
{
	if (v->broken && v->keyed && v->mac_fail == v->total &&
	    v->link_fail == 0 && !v->final) {
		warnx("%s:%llu: wrong key: no record's MAC matches under %s, "
		    "yet every prev links", v->bfile,
		    (unsigned long long)v->bline, o->key);
		return;
	}
	if (v->broken) {
		warnx("%s:%llu: record %s", v->bfile,
		    (unsigned long long)v->bline, v->what);
		return;
	}
	for (size_t i = 0; i < v->nchains; i++)
		printf("chain %s: %llu records in %u files, every link holds; "
		    "starts after %.16s..., ends at %s\n", v->chains[i].id,
		    (unsigned long long)v->chains[i].records,
		    v->chains[i].files, v->chains[i].start,
		    v->chains[i].last);
}

int
cmd_verify(struct opts *o, int argc, char **argv)
{
	struct verify *v = calloc(1, sizeof(*v));
	struct tally t = { 0, 0 };
	uint8_t *key = NULL;
	size_t klen = 0;
	char err[512];
	int rc = 0;

	if (v == NULL || (v->ring = calloc(RING, sizeof(*v->ring))) == NULL) {
		free(v);
		return failx(EXIT_FAIL, "no memory");
	}
	if (o->key != NULL && audit_key_load(o->key, &key, &klen, err,
	    sizeof(err)) == -1)
		rc = failx(EXIT_FAIL, "%s", err);
	else if ((v->mac = audit_mac_new(key, klen)) == NULL)
		rc = failx(EXIT_FAIL, "cannot set up SHA-256");
	audit_key_free(key, klen);
	v->keyed = o->key != NULL;
	for (int i = 0; rc == 0 && i < argc && !(v->broken && (v->final ||
	    v->after >= LOOKAHEAD)); i++)
		rc = verify_file(v, o, argv[i], &t);
	tally_print(o, &t);
	if (rc == 0) {
		verify_report(v, o);
		rc = v->broken ? EXIT_FAIL : 0;
	}
	audit_mac_free(v->mac);
	free(v->ring);
	free(v);
	return rc;
}

/* ---- trace ------------------------------------------------------------------- */

struct hit {
	int64_t		 t;
	char		 row[160];	/* server inst hop link verdict */
	char		 server[9];
};

struct trace {
	const struct opts *o;
	struct hit	*hits;
	size_t		 n;
	bool		 full;
};

static void
copy_attr(const struct view *w, const char *name, char *out, size_t len)
{
	size_t n;
	const char *s = audit_rec_get(&w->r, name, &n);

	snprintf(out, len, "%.*s", s && n ? (int)n : 1, s && n ? s : "-");
}

static int
on_trace(const struct view *w, void *arg)
{
	struct trace *tr = arg;
	struct hit *h;
	char inst[33], hop[4], link[9], verdict[16], code[12];

	if (w->r.kind != AREC_MSG || !view_match(tr->o, w))
		return 0;
	if (tr->n == TRACE_MAX) {
		tr->full = true;
		return 0;
	}
	h = &tr->hits[tr->n++];
	h->t = w->t;
	copy_attr(w, "server", h->server, sizeof(h->server));
	copy_attr(w, "inst", inst, sizeof(inst));
	copy_attr(w, "hop", hop, sizeof(hop));
	copy_attr(w, "link", link, sizeof(link));
	copy_attr(w, "verdict", verdict, sizeof(verdict));
	copy_attr(w, "code", code, sizeof(code));
	snprintf(h->row, sizeof(h->row), "%s %-12s %-3s %s %s %s%s%s",
	    h->server, inst, hop, strcmp(hop, "in") == 0 ? "from" : "to",
	    link, verdict, strcmp(verdict, "refused") == 0 ? ":" : "",
	    strcmp(verdict, "refused") == 0 ? code : "");
	return 0;
}

static int
cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static void
trace_print(const struct trace *tr)
{
	char t[AUDIT_TIME_LEN + 1], last[9] = "";
	size_t servers = 0;

	for (size_t i = 0; i < tr->n; i++) {
		audit_time_format(tr->hits[i].t, t);
		printf("%s %s\n", t, tr->hits[i].row);
	}
	fputs("path:", stdout);
	for (size_t i = 0; i < tr->n; i++)
		if (strcmp(last, tr->hits[i].server) != 0) {
			printf("%s %s", servers++ ? " ->" : "",
			    tr->hits[i].server);
			memcpy(last, tr->hits[i].server, sizeof(last));
		}
	putchar('\n');
}

int
cmd_trace(struct opts *o, int argc, char **argv)
{
	struct trace tr = { o, NULL, 0, false };
	struct tally t = { 0, 0 };
	int rc;

	if ((o->given & (O_FROM | O_SEQ)) != (O_FROM | O_SEQ))
		return failx(EXIT_USAGE, "trace needs --from CODE and --seq N");
	if ((tr.hits = calloc(TRACE_MAX, sizeof(*tr.hits))) == NULL)
		return failx(EXIT_FAIL, "no memory");
	rc = each_record(o, argc, argv, &t, on_trace, &tr);
	tally_print(o, &t);
	if (rc == 0 && tr.n == 0)
		rc = failx(EXIT_FAIL, "no record of the message from %08X "
		    "seq %u", o->from, o->seq);
	if (rc == 0) {
		qsort(tr.hits, tr.n, sizeof(*tr.hits), cmp_hit);
		trace_print(&tr);
		if (tr.full)
			warnx("more than %d records: the rest left out",
			    TRACE_MAX);
	}
	free(tr.hits);
	return rc;
}
