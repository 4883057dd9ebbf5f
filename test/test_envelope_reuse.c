/*
 * test_envelope_reuse.c - one parser over many envelopes: valid and
 * invalid ones in turn must each get their own verdict (nothing carried
 * over), libxml2's name dictionary must not fill up, and parsers on
 * several threads must not disturb each other.  The invalid inputs are
 * the whole corpus of the header and document tables.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "test_envelope.h"

#define NTHREADS	4
#define PER_THREAD	2000

struct tjob {
	int		 id;
	size_t		 done;
	size_t		 wrong;
	size_t		 first_wrong;	/* index of the first wrong verdict */
	bool		 no_parser;
};

static size_t	numbered_doc(char *, size_t, uint32_t);
static bool	numbered_ok(struct env_parser *, uint32_t, bool);
static int	corpus_verdict(struct env_parser *, const struct te_input *,
		    bool);
static void	test_parser_reuse(void);
static void	test_parser_dict_growth(void);
static void	*thread_main(void *);
static void	test_threads(void);

/* A valid envelope numbered i, with a multi-byte unknown attribute. */
static size_t
numbered_doc(char *buf, size_t sz, uint32_t i)
{
	int n;

	n = snprintf(buf, sz, "%s<Message version=\"1.0\"><Header "
	    "Message_Type=\"%u\" SessionId=\"%s\" Seq=\"%u\" From=\"%08X\" "
	    "To=\"00020003\" u=\"\xC3\xA9%u\"/><parameters><v n=\"%u\">"
	    "\xE6\x97\xA5</v></parameters></Message>",
	    i % 3 == 0 ? XDECL : "", 1000 + i % 7, i % 5 ? SESS : "",
	    (unsigned)i, (unsigned)(0x00010000u + (i & 0xFFFF) + 1),
	    (unsigned)i, (unsigned)i);
	return (size_t)n;
}

/* Checks a numbered envelope on one path; true when right. */
static bool
numbered_ok(struct env_parser *p, uint32_t i, bool full)
{
	char buf[512], want[32];
	size_t n = numbered_doc(buf, sizeof(buf), i);
	struct env_header h;
	const struct env_header *hp;
	struct env_error e;
	struct env_msg *m;
	const char *name, *value;
	bool ok;

	if (!full) {
		if (te_verdict_header(p, buf, n, &h, &e) != 0)
			return false;
		hp = &h;
	} else {
		if (te_verdict_full(p, buf, n, &m, &e) != 0)
			return false;
		hp = env_msg_header(m);
	}
	ok = hp->seq == i && hp->type == 1000 + i % 7 &&
	    hp->from == 0x00010000u + (i & 0xFFFF) + 1 &&
	    hp->to == 0x00020003 &&
	    strcmp(hp->session, i % 5 ? SESS : "") == 0 && !hp->ack &&
	    !hp->has_ttl && hp->nvia == 0 && hp->tag_start + 7 <= n &&
	    memcmp(buf + hp->tag_start, "<Header", 7) == 0;
	if (full) {
		snprintf(want, sizeof(want), "\xC3\xA9%u", (unsigned)i);
		ok = ok && env_msg_nattrs(m) == 1 &&
		    env_msg_attr(m, 0, &name, &value) == 0 &&
		    strcmp(name, "u") == 0 && strcmp(value, want) == 0;
		env_msg_free(m);
	}
	return ok;
}

/* The verdict of one path of p on an invalid input. */
static int
corpus_verdict(struct env_parser *p, const struct te_input *r, bool header)
{
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	int v;

	if (header)
		return te_verdict_header(p, r->doc, r->len, &h, &e);
	v = te_verdict_full(p, r->doc, r->len, &m, &e);
	if (v == 0)
		env_msg_free(m);
	return v;
}

/* 10 000 envelopes: valid ones between every invalid one, both paths. */
static void
test_parser_reuse(void)
{
	const struct te_input *all, *r;
	struct env_parser *p;
	size_t i, wrong = 0, n;
	int v;

	all = te_corpus(&n);
	CU_ASSERT_FATAL(n > 0);
	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < 10000; i++) {
		if (i % 2 == 0) {
			if (!numbered_ok(p, (uint32_t)i, i % 4 == 2) &&
			    wrong++ == 0)
				fprintf(stderr, "\nreuse: valid %zu refused or "
				    "misread (after \"%s\")\n", i,
				    all[((i - 1) / 2) % n].name);
			continue;
		}
		r = &all[(i / 2) % n];
		v = corpus_verdict(p, r, i % 4 == 1);
		if (v != r->code && wrong++ == 0)
			fprintf(stderr, "\nreuse: \"%s\" gave %d\n", r->name, v);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	env_parser_free(p);
}

/*
 * 5 000 envelopes, each with a distinct 6 000-byte element name in its
 * parameters: 30 MB of names, far more than libxml2's 10 MB dictionary
 * cap for one context (reached after some 1 700 names, before any
 * count of documents or of names would renew it).  Every one still
 * parses, on both paths.
 */
static void
test_parser_dict_growth(void)
{
	struct env_parser *p;
	struct env_header h;
	struct env_error e;
	struct env_msg *m;
	struct sbuf b = { NULL, 0, 0 };
	char name[6100], num[32];
	size_t i, fail_h = 0, fail_f = 0, pre;
	int v;

	p = env_parser_new(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(name, 'n', sizeof(name));
	name[6000] = '\0';
	te_sb_str(&b, MSG_OPEN HDR "<parameters><");
	pre = b.len;
	for (i = 0; i < 5000; i++) {
		snprintf(num, sizeof(num), "u%zu_", i);
		memcpy(name, num, strlen(num));
		b.len = pre;
		te_sb_str(&b, name);
		te_sb_str(&b, " a=\"1\"/></parameters>" MSG_CLOSE);
		v = te_verdict_header(p, b.p, b.len, &h, &e);
		if (v != 0 && fail_h++ == 0)
			fprintf(stderr, "\ndict: header path fails at %zu: %d"
			    " (%s)\n", i, v, e.reason);
		v = te_verdict_full(p, b.p, b.len, &m, &e);
		if (v != 0 && fail_f++ == 0)
			fprintf(stderr, "\ndict: full path fails at %zu: %d"
			    " (%s)\n", i, v, e.reason);
		if (v == 0)
			env_msg_free(m);
	}
	CU_ASSERT_EQUAL(fail_h, 0);
	CU_ASSERT_EQUAL(fail_f, 0);
	/* And ordinary envelopes still parse after all that. */
	CU_ASSERT(numbered_ok(p, 77, false));
	CU_ASSERT(numbered_ok(p, 78, true));
	free(b.p);
	env_parser_free(p);
}

static void *
thread_main(void *arg)
{
	struct tjob *j = arg;
	struct env_parser *p;
	const struct te_input *all, *r;
	uint64_t s = 0x1234 + (uint64_t)j->id, x;
	size_t i, n;
	bool ok;

	all = te_corpus(&n);
	if ((p = env_parser_new(0)) == NULL) {
		j->no_parser = true;
		return NULL;
	}
	for (i = 0; i < PER_THREAD; i++) {
		x = te_splitmix(&s);
		if (x % 3 != 0)
			ok = numbered_ok(p, (uint32_t)(j->id * 100000 + i),
			    (x >> 8) & 1);
		else {
			r = &all[(x >> 16) % n];
			ok = corpus_verdict(p, r, (x >> 8) & 1) == r->code;
		}
		if (!ok && j->wrong++ == 0)
			j->first_wrong = i;
		j->done++;
	}
	env_parser_free(p);
	return NULL;
}


static void
test_threads(void)
{
	pthread_t t[NTHREADS];
	struct tjob j[NTHREADS];
	bool started[NTHREADS];
	int i;

	memset(j, 0, sizeof(j));
	for (i = 0; i < NTHREADS; i++) {
		j[i].id = i;
		started[i] = pthread_create(&t[i], NULL, thread_main, &j[i])
		    == 0;
		CU_ASSERT(started[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		if (started[i])
			pthread_join(t[i], NULL);
	for (i = 0; i < NTHREADS; i++) {
		if (!started[i])
			continue;
		CU_ASSERT_FALSE(j[i].no_parser);
		CU_ASSERT_EQUAL(j[i].done, PER_THREAD);
		CU_ASSERT_EQUAL(j[i].wrong, 0);
		if (j[i].wrong != 0)
			fprintf(stderr, "\nthread %d: %zu wrong verdicts, "
			    "first at %zu\n", i, j[i].wrong, j[i].first_wrong);
	}
}


void
init_envelope_reuse_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("envelope parser reuse", te_corpus_init,
	    te_corpus_free);
	if (s == NULL)
		return;
	CU_add_test(s, "parser reuse, 10 000 envelopes", test_parser_reuse);
	CU_add_test(s, "dictionary growth, 5 000 names",
	    test_parser_dict_growth);
	CU_add_test(s, "4 threads x 2 000 envelopes", test_threads);
}
