/*
 * test_plugin_rules.c - unit tests of the bundled plugins' state (§7):
 * the acl rules (acl_rules.h: parse, first match, errors with their
 * line) and the ratelimit buckets (rl_table.h: refill, refusal
 * stretches, and a table that stays bounded under 100 000 codes).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "acl_rules.h"
#include "rl_table.h"

void	init_plugin_rules_tests(void);

static struct acl *
parse(const char *text, unsigned *line, char *err, size_t errlen)
{
	struct acl *a = NULL;

	if (acl_parse(text, strlen(text), &a, line, err, errlen) == -1)
		return NULL;
	return a;
}

static void
test_acl_match(void)
{
	char err[200];
	unsigned line = 0, at;
	struct acl *a = parse("# c\n\ndeny from=00010005-00010007 # x\n"
	    "deny from=0001 to=0002\n"
	    "deny type=3000-3999\n"
	    "allow from=0001-0003 to=* type=1000\n"
	    "default deny\n", &line, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->n, 4);
	CU_ASSERT_EQUAL(acl_check(a, 0x00010006, 0x00010001, 1000, &at), 0);
	CU_ASSERT_EQUAL(at, 3);
	CU_ASSERT_EQUAL(acl_check(a, 0x00010001, 0x0002ABCD, 1000, &at), 0);
	CU_ASSERT_EQUAL(at, 4);
	CU_ASSERT_EQUAL(acl_check(a, 0x00030001, 0x00010001, 3500, &at), 0);
	CU_ASSERT_EQUAL(at, 5);
	CU_ASSERT_EQUAL(acl_check(a, 0x00030001, 0x00010001, 1000, &at), 1);
	CU_ASSERT_EQUAL(at, 6);
	CU_ASSERT_EQUAL(acl_check(a, 0x00040001, 0x00010001, 1000, &at), 0);
	CU_ASSERT_EQUAL(at, 0);		/* the default */
	CU_ASSERT_EQUAL(acl_check(a, 0x00010001, 0x00010001, 1001, &at), 0);
	acl_free(a);
	a = parse("default allow\n", &line, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(acl_check(a, 1, 2, 3, &at), 1);
	acl_free(a);
	a = parse("", &line, err, sizeof(err));	/* default deny */
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(acl_check(a, 1, 2, 3, &at), 0);
	acl_free(a);
}

static void
test_acl_errors(void)
{
	static const struct { const char *text; unsigned line; } bad[] = {
		{ "allow from=zz\n", 1 },
		{ "\nallow from=0001-00020000\n", 2 },	/* mixed widths */
		{ "allow to=0002-0001\n", 1 },		/* inverted */
		{ "allow type=5-4\n", 1 },
		{ "allow type=99999999999\n", 1 },
		{ "allow from=0001 from=0002\n", 1 },
		{ "allow size=3\n", 1 },
		{ "permit\n", 1 },
		{ "default allow\ndefault deny\n", 2 },
		{ "default maybe\n", 1 },
		{ "allow\nallow type=\n", 2 },
		{ "deny from=\n", 1 },
	};
	char err[200];
	unsigned line;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		line = 0;
		err[0] = '\0';
		CU_ASSERT_PTR_NULL(parse(bad[i].text, &line, err, sizeof(err)));
		CU_ASSERT_EQUAL(line, bad[i].line);
		CU_ASSERT(err[0] != '\0');
	}
	/* a NUL byte inside the text */
	{
		struct acl *a = NULL;

		CU_ASSERT_EQUAL(acl_parse("allow\0x\n", 8, &a, &line, err,
		    sizeof(err)), -1);
	}
}

static void
test_rl_bucket(void)
{
	struct rl_table *t = rl_new(1024);
	double over = -1;
	int passed = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* burst 5 at once, then refused */
	for (int i = 0; i < 10; i++)
		passed += rl_take(t, 0x00010001, 5, 5, 100.0, &over) == 0;
	CU_ASSERT_EQUAL(passed, 5);
	CU_ASSERT_DOUBLE_EQUAL(over, 0, 1e-9);
	/* 1 s later: 5 tokens again; refusals 0.5 s apart are one stretch */
	passed = 0;
	for (int i = 0; i < 10; i++)
		passed += rl_take(t, 0x00010001, 5, 5, 101.0, &over) == 0;
	CU_ASSERT_EQUAL(passed, 5);
	CU_ASSERT_DOUBLE_EQUAL(over, 1.0, 1e-9);
	CU_ASSERT_EQUAL(rl_take(t, 0x00010001, 5, 5, 101.1, &over), 1);
	CU_ASSERT_DOUBLE_EQUAL(over, 1.1, 1e-9);
	/* 3 s quiet: a new stretch */
	for (int i = 0; i < 20; i++)
		(void)rl_take(t, 0x00010001, 5, 5, 104.5, &over);
	CU_ASSERT_DOUBLE_EQUAL(over, 0, 1e-9);
	/* another key is not touched */
	CU_ASSERT_EQUAL(rl_take(t, 0x00010002, 5, 5, 104.5, &over), 0);
	rl_free(t);
}

/* 100 000 distinct codes: the table holds at most its bound. */
static void
test_rl_bounded(void)
{
	struct rl_table *t = rl_new(4096);
	double over;
	size_t max = 0, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (uint32_t i = 0; i < 100000; i++) {
		(void)rl_take(t, 0x00010000 + i * 7, 10, 10,
		    1000.0 + i / 1000.0, &over);
		if (i % 1000 == 0 && (n = rl_count(t)) > max)
			max = n;
	}
	n = rl_count(t);
	CU_ASSERT(n <= 4096 && max <= 4096);
	CU_ASSERT(n > 0);
	/* a busy key survives the churn of 20 000 others */
	for (int i = 0; i < 30; i++)
		(void)rl_take(t, 0xABCD0001, 1, 20, 2000.0, &over);
	for (uint32_t i = 0; i < 20000; i++) {
		(void)rl_take(t, 0x00200000 + i, 10, 10, 2000.0 + i / 1e6,
		    &over);
		if (i % 50 == 0)	/* still sending: never the LRU */
			(void)rl_take(t, 0xABCD0001, 1, 20, 2000.0 + i / 1e6,
			    &over);
	}
	CU_ASSERT_EQUAL(rl_take(t, 0xABCD0001, 1, 20, 2000.05, &over), 1);
	CU_ASSERT(rl_count(t) <= 4096);
	rl_free(t);
}

void
init_plugin_rules_tests(void)
{
	CU_pSuite s = CU_add_suite("plugin_rules", NULL, NULL);

	if (s == NULL)
		return;
	CU_add_test(s, "acl: first match, ranges, default", test_acl_match);
	CU_add_test(s, "acl: syntax errors name their line", test_acl_errors);
	CU_add_test(s, "ratelimit: bucket and refusal stretch",
	    test_rl_bucket);
	CU_add_test(s, "ratelimit: 100000 codes stay bounded",
	    test_rl_bounded);
}
