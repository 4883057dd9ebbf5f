/*
 * audit_print.c - nap-audit's output: a record as its line, as the
 * original message bytes, as a table row or as a JSON line; and the
 * counters of `stats` (by type, region pair, verdict and minute).
 */
#include <stdlib.h>
#include <string.h>

#include "audit_tool.h"

#define NO_KEY	UINT64_MAX	/* a message whose Header did not parse */

static void	put_attr(const struct view *, const char *, const char *);
static void	json_str(const uint8_t *, size_t, bool);
static void	json_attrs(const struct view *);
static void	json_counts(const struct view *);

/* ---- one record ------------------------------------------------------------ */

/* The raw attribute value, or dflt when absent. */
static void
put_attr(const struct view *v, const char *name, const char *dflt)
{
	size_t n;
	const char *s = audit_rec_get(&v->r, name, &n);

	if (s != NULL && n > 0)
		fwrite(s, 1, n, stdout);
	else
		fputs(dflt, stdout);
}

static int
print_line(const struct view *v)
{
	fwrite(v->line, 1, v->len, stdout);
	putchar('\n');
	return 0;
}

static int
print_xml(const struct view *v)
{
	static uint8_t *scratch;	/* grown once, lives to exit */
	static size_t cap;
	const uint8_t *b;
	size_t len;

	if ((b = view_body(v, &scratch, &cap, &len)) == NULL)
		return 0;
	fwrite(b, 1, len, stdout);
	putchar('\n');
	return 0;
}

static int
print_table(const struct view *v)
{
	static const char *const other[][3] = {	/* kind: 3 attributes */
		[AREC_FILE] = { "n", "mac", "prev" },
		[AREC_SESS] = { "code", "session", "reason" },
		[AREC_LOST] = { "n", "why", "prev" },
	};

	put_attr(v, "t", "-");
	putchar(' ');
	put_attr(v, "server", "-");
	if (v->r.kind == AREC_MSG) {
		static const char *const cols[] = { "hop", "link", "verdict",
		    "type", "from", "to", "seq", "len" };

		for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
			putchar(' ');
			put_attr(v, cols[i], "-");
			if (i == 2 && audit_rec_is(&v->r, "verdict", "refused"))
				putchar(':'), put_attr(v, "code", "?");
		}
	} else if (v->r.kind != AREC_OTHER) {
		printf(" %s", v->r.kind == AREC_SESS ? "" : v->r.kind ==
		    AREC_FILE ? "file" : "lost");
		if (v->r.kind == AREC_SESS)
			put_attr(v, "event", "-");
		for (int i = 0; i < 3; i++) {
			putchar(' ');
			put_attr(v, other[v->r.kind][i], "-");
		}
	} else
		printf(" %.*s", (int)v->r.nlen, v->r.name);
	putchar('\n');
	return 0;
}

/* A JSON string from bytes; with xml, the five XML entities decoded. */
static void
json_str(const uint8_t *s, size_t n, bool xml)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&quot;", '"' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&amp;", '&' }, { "&apos;", '\'' },
	};

	putchar('"');
	for (size_t i = 0; i < n; i++) {
		int c = s[i];

		for (size_t k = 0; xml && c == '&' && k < 5; k++)
			if (i + strlen(ents[k].ent) <= n &&
			    memcmp(s + i, ents[k].ent,
			    strlen(ents[k].ent)) == 0) {
				c = ents[k].c;
				i += strlen(ents[k].ent) - 1;
				break;
			}
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static bool
json_numeric(const struct view *v, const struct audit_attr *a)
{
	static const char *const nums[] = { "type", "seq", "len", "n" };

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (a->nlen == strlen(nums[i]) &&
		    memcmp(a->name, nums[i], a->nlen) == 0)
			return a->vlen > 0 && a->vlen <= 20;
	return v->r.kind == AREC_MSG && a->nlen == 4 &&
	    memcmp(a->name, "code", 4) == 0 && a->vlen > 0 && a->vlen <= 11;
}

static void
json_attrs(const struct view *v)
{
	for (size_t i = 0; i < v->r.nattr; i++) {
		const struct audit_attr *a = &v->r.attr[i];

		printf(",\"%.*s\":", (int)a->nlen, a->name);
		if (json_numeric(v, a) && strspn(a->val, "-0123456789") >=
		    a->vlen)
			printf("%.*s", (int)a->vlen, a->val);
		else
			json_str((const uint8_t *)a->val, a->vlen, true);
	}
}

/* A session's <n type in inbytes out outbytes/> children. */
static void
json_counts(const struct view *v)
{
	const char *p = (const char *)v->r.body;
	const char *end = p + v->r.body_len;
	const char *e;
	bool first = true;

	fputs(",\"counts\":[", stdout);
	while (p < end && (e = memchr(p, '>', (size_t)(end - p))) != NULL) {
		struct audit_rec c;
		const char *why;
		char tmp[256];
		size_t n = (size_t)(e - p);

		/* Reuse the record parser: give the child a fake tail. */
		if (n < 4 || n > 180 || p[n - 1] != '/')
			break;
		snprintf(tmp, sizeof(tmp), "%.*s prev=\"%s\"><end hash=\"%s\""
		    "/></n>", (int)(n - 1), p, audit_genesis, audit_genesis);
		if (audit_rec_parse((const uint8_t *)tmp, strlen(tmp), &c,
		    &why) == -1)
			break;
		printf("%s{", first ? "" : ",");
		first = false;
		for (size_t i = 0; i + 1 < c.nattr; i++) {
			const struct audit_attr *a = &c.attr[i];
			bool num = a->vlen > 0 && a->vlen <= 20 &&
			    strspn(a->val, "0123456789") >= a->vlen;

			printf("%s\"%.*s\":%s%.*s%s", i ? "," : "",
			    (int)a->nlen, a->name, num ? "" : "\"",
			    (int)a->vlen, a->val, num ? "" : "\"");
		}
		putchar('}');
		p = e + 1;
	}
	putchar(']');
}

static int
print_json(const struct view *v)
{
	static const char *const kinds[] = { "file", "msg", "sess", "lost" };

	fputs("{\"kind\":", stdout);
	if (v->r.kind == AREC_OTHER)
		json_str((const uint8_t *)v->r.name, v->r.nlen, false);
	else
		printf("\"%s\"", kinds[v->r.kind]);
	json_attrs(v);
	if (v->r.kind == AREC_MSG && audit_rec_is(&v->r, "body", "xml")) {
		fputs(",\"msg\":", stdout);
		json_str(v->r.body, v->r.body_len, false);
	} else if (v->r.kind == AREC_MSG &&
	    audit_rec_is(&v->r, "body", "base64")) {
		fputs(",\"msg_base64\":", stdout);
		json_str(v->r.body, v->r.body_len, false);
	} else if (v->r.kind == AREC_SESS)
		json_counts(v);
	printf(",\"hash\":\"%s\"}\n", v->r.hash);
	return 0;
}

int
print_record(const struct opts *o, const struct view *v)
{
	static int (*const fmt[])(const struct view *) = {
		[F_TABLE] = print_table,
		[F_RECORD] = print_line,
		[F_XML] = print_xml,
		[F_JSON] = print_json,
	};

	return fmt[o->format](v);
}

/* ---- stats ------------------------------------------------------------------ */

/* key -> count, open addressing; keys are stored + 1 (0 = empty). */
struct cmap {
	uint64_t	*k, *v;
	size_t		 n, cap;
};

struct stats {
	uint64_t	kinds[AREC_OTHER + 1];
	uint64_t	lost, bytes;
	struct cmap	types, pairs, verdicts, minutes;
};

static size_t
cmap_slot(const struct cmap *m, uint64_t k)
{
	size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);

	while (m->k[i] != 0 && m->k[i] != k + 1)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int
cmap_grow(struct cmap *m)
{
	struct cmap g = { NULL, NULL, 0, m->cap ? m->cap * 2 : 64 };

	if ((g.k = calloc(g.cap, sizeof(*g.k))) == NULL ||
	    (g.v = calloc(g.cap, sizeof(*g.v))) == NULL) {
		free(g.k);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->k[i] != 0) {
			size_t s = cmap_slot(&g, m->k[i] - 1);

			g.k[s] = m->k[i];
			g.v[s] = m->v[i];
			g.n++;
		}
	free(m->k);
	free(m->v);
	*m = g;
	return 0;
}

static void
cmap_add(struct cmap *m, uint64_t k)
{
	size_t s;

	if ((m->n + 1) * 2 > m->cap && cmap_grow(m) == -1)
		return;		/* no memory: that count is left out */
	s = cmap_slot(m, k);
	if (m->k[s] == 0) {
		m->k[s] = k + 1;
		m->n++;
	}
	m->v[s]++;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The entries sorted by key, printed by fn(key, count). */
static void
cmap_print(const struct cmap *m, const char *title, FILE *f,
    void (*fn)(FILE *, uint64_t, uint64_t))
{
	uint64_t *e = malloc((m->n + 1) * 2 * sizeof(*e));
	size_t n = 0;

	if (e == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->k[i] != 0) {
			e[2 * n] = m->k[i] - 1;
			e[2 * n++ + 1] = m->v[i];
		}
	qsort(e, n, 2 * sizeof(*e), cmp_u64);
	fprintf(f, "%s:\n", title);
	for (size_t i = 0; i < n; i++)
		fn(f, e[2 * i], e[2 * i + 1]);
	free(e);
}

static const char *const verdict_names[] = { "routed", "delivered",
    "stored", "confirmed", "expired", "refused", "other" };
#define NVNAMES	(sizeof(verdict_names) / sizeof(verdict_names[0]))

static void
put_type(FILE *f, uint64_t k, uint64_t n)
{
	if (k == NO_KEY)
		fprintf(f, "  %-21s %llu\n", "(no header)",
		    (unsigned long long)n);
	else
		fprintf(f, "  %-21llu %llu\n", (unsigned long long)k,
		    (unsigned long long)n);
}

static void
put_pair(FILE *f, uint64_t k, uint64_t n)
{
	if (k == NO_KEY)
		put_type(f, k, n);
	else
		fprintf(f, "  %04X -> %04X          %llu\n",
		    (unsigned)(k >> 16), (unsigned)(k & 0xffff),
		    (unsigned long long)n);
}

static void
put_verdict(FILE *f, uint64_t k, uint64_t n)
{
	fprintf(f, "  %-21s %llu\n", verdict_names[k < NVNAMES ? k :
	    NVNAMES - 1], (unsigned long long)n);
}

static void
put_minute(FILE *f, uint64_t k, uint64_t n)
{
	char t[AUDIT_TIME_LEN + 1];

	audit_time_format((int64_t)k * 60000000, t);
	fprintf(f, "  %.16sZ     %llu\n", t, (unsigned long long)n);
}

struct stats *
stats_new(void)
{
	return calloc(1, sizeof(struct stats));
}

void
stats_add(struct stats *s, const struct view *v)
{
	uint32_t n;
	size_t vi = 0;

	s->kinds[v->r.kind]++;
	if (v->r.kind == AREC_LOST && audit_rec_u32(&v->r, "n", &n) == 0)
		s->lost += n;
	if (v->r.kind != AREC_MSG)
		return;
	if (audit_rec_u32(&v->r, "len", &n) == 0)
		s->bytes += n;
	cmap_add(&s->types, v->has_h ? v->type : NO_KEY);
	cmap_add(&s->pairs, v->has_h ? (uint64_t)(v->from >> 16) << 16 |
	    v->to >> 16 : NO_KEY);
	while (vi < NVNAMES - 1 && !audit_rec_is(&v->r, "verdict",
	    verdict_names[vi]))
		vi++;
	cmap_add(&s->verdicts, vi);
	if (v->has_t && v->t >= 0)
		cmap_add(&s->minutes, (uint64_t)(v->t / 60000000));
}

void
stats_print(const struct stats *s, FILE *f)
{
	fprintf(f, "records: %llu (messages %llu, sessions %llu, files %llu,"
	    " lost records %llu noting %llu lost)\n",
	    (unsigned long long)(s->kinds[0] + s->kinds[1] + s->kinds[2] +
	    s->kinds[3] + s->kinds[4]), (unsigned long long)s->kinds[AREC_MSG],
	    (unsigned long long)s->kinds[AREC_SESS],
	    (unsigned long long)s->kinds[AREC_FILE],
	    (unsigned long long)s->kinds[AREC_LOST],
	    (unsigned long long)s->lost);
	fprintf(f, "message bytes: %llu\n", (unsigned long long)s->bytes);
	cmap_print(&s->types, "by type", f, put_type);
	cmap_print(&s->pairs, "by region pair (from -> to)", f, put_pair);
	cmap_print(&s->verdicts, "by verdict", f, put_verdict);
	cmap_print(&s->minutes, "per minute (UTC)", f, put_minute);
}

void
stats_free(struct stats *s)
{
	if (s == NULL)
		return;
	free(s->types.k);
	free(s->types.v);
	free(s->pairs.k);
	free(s->pairs.v);
	free(s->verdicts.k);
	free(s->verdicts.v);
	free(s->minutes.k);
	free(s->minutes.v);
	free(s);
}
