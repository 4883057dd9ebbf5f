/*
 * test_audit.c - CUnit tests of the audit log (DESIGN.md §8): the record
 * format (parser, base64, ranges, times) and the writer: records written
 * from 4 threads at once are all there and chained, rotation keeps the
 * chain, an existing log is continued, an incomplete last line is cut and
 * noted, HMAC keys, header-only types, bodies kept byte-exact.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "audit.h"
#include "audit_rec.h"

void	init_audit_tests(void);

#define THREADS		4
#define PER_THREAD	2000

static char dir[64];

/* A fresh path in the test directory. */
static const char *
tpath(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static struct audit *
open_log(const char *path, const char *key, size_t rotate,
    const char *hdr_only)
{
	struct audit_conf c = { .path = path, .server_code = 0x00010000u,
	    .instance = "t&\"1", .key_file = key, .rotate_bytes = rotate,
	    .sync = AUDIT_SYNC_NEVER, .header_only = hdr_only };
	char err[256];
	struct audit *a = audit_open(&c, err, sizeof(err));

	if (a == NULL)
		fprintf(stderr, "audit_open: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL(a);
	return a;
}

/* What check_log() learns about a log. */
struct seen {
	unsigned	 records, msgs, files, lost;
	unsigned	 bad_hash, bad_link;
	char		 last[AUDIT_HEX + 1];
	uint8_t		*seqs;		/* [thread * PER_THREAD + seq] */
};

static void
check_line(struct audit_mac *m, const uint8_t *l, size_t n, struct seen *s)
{
	struct audit_rec r;
	const char *why, *prev;
	char h[AUDIT_HEX + 1];
	size_t pl;
	uint32_t from, seq;

	CU_ASSERT_FATAL(audit_rec_parse(l, n, &r, &why) == 0);
	s->records++;
	CU_ASSERT_FATAL(audit_mac_hex(m, l, r.hashed_len, h) == 0);
	s->bad_hash += strcmp(h, r.hash) != 0;
	prev = audit_rec_get(&r, "prev", &pl);
	if (s->records > 1 || s->last[0] != '\0')
		s->bad_link += memcmp(prev, s->last, AUDIT_HEX) != 0;
	memcpy(s->last, r.hash, sizeof(s->last));
	s->files += r.kind == AREC_FILE;
	s->lost += r.kind == AREC_LOST;
	if (r.kind == AREC_MSG && s->seqs != NULL &&
	    audit_rec_code(&r, "from", &from) == 0 &&
	    audit_rec_u32(&r, "seq", &seq) == 0 && from >= 0x00010001u &&
	    from < 0x00010001u + THREADS && seq < PER_THREAD)
		s->seqs[(from - 0x00010001u) * PER_THREAD + seq]++;
	s->msgs += r.kind == AREC_MSG;
}

/* Reads one file of a chain, record by record. */
static void
check_log(const char *path, const char *key, struct seen *s)
{
	uint8_t *k = NULL;
	size_t kl = 0, cap = 0;
	char *line = NULL, err[128];
	ssize_t n;
	struct audit_mac *m;
	FILE *f = fopen(path, "r");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (key != NULL)
		CU_ASSERT_FATAL(audit_key_load(key, &k, &kl, err,
		    sizeof(err)) == 0);
	m = audit_mac_new(k, kl);
	audit_key_free(k, kl);
	while ((n = getline(&line, &cap, f)) > 0) {
		CU_ASSERT_FATAL(line[n - 1] == '\n');
		check_line(m, (uint8_t *)line, (size_t)n - 1, s);
	}
	free(line);
	fclose(f);
	audit_mac_free(m);
}

/* ---- the record format ------------------------------------------------ */

static void
test_rec_parse(void)
{
	static const char good[] = "<msg v=\"1\" a=\"x y\" prev=\""
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "\">body<end hash=\""
	    "1111111111111111111111111111111111111111111111111111111111111111"
	    "\"/></msg>";
	static const char *const bad[] = {
		"", "<", "<msg>", "<msg prev=\"00\"><end hash=\"1\"/></msg>",
		"<msg a=\"1\" a=\"2\">x<end hash=\"1111111111111111111111111111"
		    "111111111111111111111111111111111111\"/></msg>",
		"<msg a=\"<\">x<end hash=\"11111111111111111111111111111111111"
		    "11111111111111111111111111111\"/></msg>",
	};
	struct audit_rec r;
	const char *why;
	uint32_t x;

	CU_ASSERT_FATAL(audit_rec_parse((const uint8_t *)good, strlen(good),
	    &r, &why) == 0);
	CU_ASSERT_EQUAL(r.kind, AREC_MSG);
	CU_ASSERT_EQUAL(r.body_len, 4);
	CU_ASSERT(memcmp(r.body, "body", 4) == 0);
	CU_ASSERT(memcmp(good + r.hashed_len, "hash=\"", 6) == 0);
	CU_ASSERT(audit_rec_is(&r, "a", "x y"));
	CU_ASSERT(audit_rec_u32(&r, "v", &x) == 0 && x == 1);
	CU_ASSERT(audit_rec_u32(&r, "a", &x) == -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT(audit_rec_parse((const uint8_t *)bad[i],
		    strlen(bad[i]), &r, &why) == -1);
}

static void
test_rec_helpers(void)
{
	struct audit_ranges rg;
	uint8_t in[256], out[256];
	char b[400], t[AUDIT_TIME_LEN + 1], err[128];
	size_t n, ol;
	int64_t us;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	for (size_t len = 0; len < 10; len++) {
		n = audit_b64_encode(in, len, b);
		CU_ASSERT_EQUAL(n, (len + 2) / 3 * 4);
		CU_ASSERT(audit_b64_decode(b, n, out, &ol) == 0 && ol == len &&
		    memcmp(in, out, len) == 0);
	}
	CU_ASSERT(audit_b64_decode("QQ=A", 4, out, &ol) == -1);
	CU_ASSERT(audit_b64_decode("QQ", 2, out, &ol) == -1);
	CU_ASSERT(audit_ranges_parse("1000-1999,5", &rg, err, sizeof(err))
	    == 0);
	CU_ASSERT(audit_ranges_has(&rg, 5) && audit_ranges_has(&rg, 1999) &&
	    !audit_ranges_has(&rg, 2000) && !audit_ranges_has(&rg, 6));
	CU_ASSERT(audit_ranges_parse("5-4", &rg, err, sizeof(err)) == -1);
	CU_ASSERT(audit_ranges_parse("1,", &rg, err, sizeof(err)) == -1);
	CU_ASSERT(audit_ranges_parse("", &rg, err, sizeof(err)) == -1);
	CU_ASSERT(audit_ranges_parse("4294967296", &rg, err, sizeof(err))
	    == -1);
	audit_time_format(1795835045123456LL, t);
	CU_ASSERT_STRING_EQUAL(t, "2026-11-28T03:04:05.123456Z");
	CU_ASSERT(audit_time_parse(t, strlen(t), &us) == 0 &&
	    us == 1795835045123456LL);
	CU_ASSERT(audit_time_parse("2026-13-27T23:04:05.123456Z", 27, &us)
	    == -1);
}

/* ---- the writer ---------------------------------------------------------- */

struct worker {
	struct audit	*a;
	int		 idx;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct env_header h;
	char body[256];

	for (unsigned i = 0; i < PER_THREAD; i++) {
		int n = snprintf(body, sizeof(body), "<Message version=\"1.0\">"
		    "<Header Message_Type=\"1000\" SessionId=\"\" Seq=\"%u\" "
		    "From=\"%08X\" To=\"00010009\"/></Message>", i,
		    0x00010001u + w->idx);

		memset(&h, 0, sizeof(h));
		h.type = 1000;
		h.seq = i;
		h.from = 0x00010001u + (uint32_t)w->idx;
		h.to = 0x00010009u;
		audit_msg(w->a, AUDIT_IN, h.from, AUDIT_ROUTED, 0, &h,
		    (uint8_t *)body, (size_t)n);
	}
	return NULL;
}

static void
test_concurrent(void)
{
	const char *p = tpath("conc.log");
	struct audit *a = open_log(p, NULL, 0, NULL);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct seen s = { 0 };
	struct audit_stat st;
	unsigned missing = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (int i = 0; i < THREADS; i++) {
		w[i].a = a;
		w[i].idx = i;
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, worker_run,
		    &w[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	audit_close(a, &st);
	CU_ASSERT_EQUAL(st.lost, 0);
	CU_ASSERT_EQUAL(st.written, THREADS * PER_THREAD + 1);
	CU_ASSERT(st.accepting);
	s.seqs = calloc(THREADS * PER_THREAD, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s.seqs);
	check_log(p, NULL, &s);
	for (int i = 0; i < THREADS * PER_THREAD; i++)
		missing += s.seqs[i] != 1;
	free(s.seqs);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(s.msgs, THREADS * PER_THREAD);
	CU_ASSERT_EQUAL(s.files, 1);
	CU_ASSERT_EQUAL(s.bad_hash, 0);
	CU_ASSERT_EQUAL(s.bad_link, 0);
}

/* Writes n small messages (Seq base .. base+n-1) and closes. */
static void
write_some(struct audit *a, unsigned base, unsigned n)
{
	static const char body[] = "<Message version=\"1.0\"><Header "
	    "Message_Type=\"1000\" SessionId=\"\" Seq=\"1\" From=\"00010002\" "
	    "To=\"00010003\"/><parameters><x>0123456789</x></parameters>"
	    "</Message>";
	struct env_header h = { .type = 1000, .from = 0x00010002u,
	    .to = 0x00010003u };

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (unsigned i = 0; i < n; i++) {
		h.seq = base + i;
		audit_msg(a, AUDIT_OUT, 0x00010003u, AUDIT_DELIVERED, 0, &h,
		    (const uint8_t *)body, sizeof(body) - 1);
	}
	audit_close(a, NULL);
}

static void
test_rotation(void)
{
	const char *p = tpath("rot.log");
	char name[160];
	struct seen s = { 0 };
	unsigned nfiles = 0;
	struct stat st;

	write_some(open_log(p, NULL, 4096, NULL), 0, 300);
	write_some(open_log(p, NULL, 4096, NULL), 300, 300);
	for (unsigned i = 1; i < 1000; i++) {
		snprintf(name, sizeof(name), "%s.%06u", p, i);
		if (stat(name, &st) == -1)
			break;
		check_log(name, NULL, &s);
		nfiles++;
	}
	check_log(p, NULL, &s);
	CU_ASSERT(nfiles > 10);
	CU_ASSERT_EQUAL(s.files, nfiles + 1);
	CU_ASSERT_EQUAL(s.msgs, 600);
	CU_ASSERT_EQUAL(s.bad_hash, 0);
	CU_ASSERT_EQUAL(s.bad_link, 0);
}

static void
test_continue_and_cut(void)
{
	const char *p = tpath("cont.log");
	struct seen s = { 0 };
	FILE *f;

	write_some(open_log(p, NULL, 0, NULL), 0, 10);
	write_some(open_log(p, NULL, 0, NULL), 10, 10);
	f = fopen(p, "a");		/* a crash in the middle of a write */
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("<msg v=\"1\" t=\"2026", f);
	fclose(f);
	write_some(open_log(p, NULL, 0, NULL), 20, 10);
	check_log(p, NULL, &s);
	CU_ASSERT_EQUAL(s.files, 1);
	CU_ASSERT_EQUAL(s.msgs, 30);
	CU_ASSERT_EQUAL(s.lost, 1);
	CU_ASSERT_EQUAL(s.bad_hash, 0);
	CU_ASSERT_EQUAL(s.bad_link, 0);
}

static void
test_hmac(void)
{
	const char *p = tpath("keyed.log"), *k1 = tpath("k1"),
	    *k2 = tpath("k2");
	struct seen s1 = { 0 }, s2 = { 0 };
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(k1, "w"));
	fputs("  correct horse battery staple\n", f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(k2, "w"));
	fputs("correct horse battery stapled", f);
	fclose(f);
	write_some(open_log(p, k1, 0, NULL), 0, 20);
	check_log(p, k1, &s1);
	check_log(p, k2, &s2);
	CU_ASSERT_EQUAL(s1.bad_hash, 0);
	CU_ASSERT_EQUAL(s2.bad_hash, s2.records);
	CU_ASSERT_EQUAL(s2.bad_link, 0);
	/* Reopened without the key: a new file, never a half-keyed one. */
	write_some(open_log(p, NULL, 0, NULL), 20, 5);
	CU_ASSERT(access(tpath("keyed.log.000001"), F_OK) == 0);
}

/* A body with a declaration or a line feed is base64, exact. */
static void
test_bodies(void)
{
	static const char decl[] = "<?xml version=\"1.0\"?>\n<Message "
	    "version=\"1.0\"><Header Message_Type=\"2000\" SessionId=\"\" "
	    "Seq=\"1\" From=\"00010002\" To=\"00010003\"/></Message>";
	const char *p = tpath("bodies.log");
	struct env_header h = { .type = 2000, .from = 0x00010002u };
	struct audit *a = open_log(p, NULL, 0, "2000-2999");
	char line[2048];
	uint8_t out[512];
	size_t ol;
	int omitted = 0, b64 = 0;
	struct audit_rec r;
	const char *why;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	audit_msg(a, AUDIT_IN, 1, AUDIT_ROUTED, 0, &h, (const uint8_t *)decl,
	    sizeof(decl) - 1);
	audit_msg(a, AUDIT_IN, 1, AUDIT_REFUSED, 400, NULL,
	    (const uint8_t *)decl, sizeof(decl) - 1);
	audit_close(a, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(p, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		CU_ASSERT_FATAL(audit_rec_parse((uint8_t *)line,
		    strlen(line) - 1, &r, &why) == 0);
		if (audit_rec_is(&r, "body", "omitted"))
			omitted++;
		if (!audit_rec_is(&r, "body", "base64"))
			continue;
		b64++;
		CU_ASSERT(audit_rec_is(&r, "code", "400"));
		CU_ASSERT(audit_b64_decode((const char *)r.body, r.body_len,
		    out, &ol) == 0 && ol == sizeof(decl) - 1 &&
		    memcmp(out, decl, ol) == 0);
	}
	fclose(f);
	CU_ASSERT_EQUAL(omitted, 1);
	CU_ASSERT_EQUAL(b64, 1);
}

static void
test_counts(void)
{
	struct audit_counts c = { 0 };

	for (uint32_t t = 0; t < 40; t++)
		audit_counts_add(&c, 1000 + t, t % 2, 10);
	CU_ASSERT_EQUAL(c.n, AUDIT_COUNTS_MAX);
	CU_ASSERT_EQUAL(c.c[0].msgs_in, 1);
	CU_ASSERT_EQUAL(c.c[AUDIT_COUNTS_MAX - 1].type, AUDIT_TYPE_OTHER);
	CU_ASSERT_EQUAL(c.c[AUDIT_COUNTS_MAX - 1].msgs_in +
	    c.c[AUDIT_COUNTS_MAX - 1].msgs_out, 40 - (AUDIT_COUNTS_MAX - 1));
}

static int
suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nap-test-audit.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
	char p[128];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && snprintf(p, sizeof(p), "%s/%s",
		    dir, de->d_name) < (int)sizeof(p))
			unlink(p);
	closedir(d);
	return rmdir(dir);
}

void
init_audit_tests(void)
{
	CU_pSuite s = CU_add_suite("audit", suite_init, suite_clean);

	CU_add_test(s, "record parser", test_rec_parse);
	CU_add_test(s, "base64, ranges, times", test_rec_helpers);
	CU_add_test(s, "4 threads: every record, one chain", test_concurrent);
	CU_add_test(s, "rotation keeps the chain", test_rotation);
	CU_add_test(s, "continued log, incomplete line cut",
	    test_continue_and_cut);
	CU_add_test(s, "HMAC key, wrong key", test_hmac);
	CU_add_test(s, "bodies: base64, header-only", test_bodies);
	CU_add_test(s, "session counts bounded", test_counts);
}
