/*
 * test_code.c - CUnit tests of the §1 codes: parsing, formatting and the
 * role of a code (platform, domain, device, reserved).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "envelope.h"

void	init_code_tests(void);

static void	test_code_parse_valid(void);
static void	test_code_parse_invalid(void);
static void	test_code_format(void);
static void	test_code_roundtrip(void);
static void	test_code_roles_fixed(void);
static void	test_code_roles_sweep(void);

/* A deterministic PRNG so that every run sees the same codes. */
static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void
test_code_parse_valid(void)
{
	static const struct {
		const char	*s;
		uint32_t	 v;
	} ok[] = {
		{ "00000000", 0x00000000u },
		{ "00010002", 0x00010002u },
		{ "00020003", 0x00020003u },
		{ "FFFFFFFF", 0xFFFFFFFFu },
		{ "ffffffff", 0xFFFFFFFFu },
		{ "0001abcd", 0x0001ABCDu },
		{ "0001ABCD", 0x0001ABCDu },
		{ "AbCdEf01", 0xABCDEF01u },
		{ "12345678", 0x12345678u },
		{ "9abcdef0", 0x9ABCDEF0u },
		{ "FFFE0000", 0xFFFE0000u },
		{ "80000001", 0x80000001u },
	};
	size_t i;
	uint32_t v;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 0xDEADBEEFu;
		CU_ASSERT_EQUAL(env_code_parse(ok[i].s, 8, &v), 0);
		CU_ASSERT_EQUAL(v, ok[i].v);
	}
	/* Only s[0..n) is read: trailing bytes beyond n do not matter. */
	v = 0;
	CU_ASSERT_EQUAL(env_code_parse("00010002XYZ", 8, &v), 0);
	CU_ASSERT_EQUAL(v, 0x00010002u);
	v = 0;
	CU_ASSERT_EQUAL(env_code_parse("0001000299", 8, &v), 0);
	CU_ASSERT_EQUAL(v, 0x00010002u);
}

static void
test_code_parse_invalid(void)
{
	static const struct {
		const char	*s;
		size_t		 n;
	} bad[] = {
		{ "", 0 },
		{ "0001000", 7 },		/* 7 chars */
		{ "000100020", 9 },		/* 9 chars */
		{ "1", 1 },
		{ "0001000G", 8 },		/* non-hex */
		{ "0001000g", 8 },
		{ "Z0010002", 8 },
		{ "+0010002", 8 },		/* sign: strtoul takes it */
		{ "-0010002", 8 },
		{ " 0010002", 8 },		/* leading space */
		{ "0010002 ", 8 },		/* trailing space */
		{ "0x010002", 8 },		/* 0x prefix */
		{ "0X010002", 8 },
		{ "0001\0" "002", 8 },		/* NUL inside */
		{ "0001000\0", 8 },		/* NUL at the end */
		{ "\0" "0010002", 8 },		/* NUL first */
		{ "0001:002", 8 },		/* ':' is just after '9' */
		{ "0001@002", 8 },		/* '@' is just before 'A' */
		{ "0001`002", 8 },		/* '`' is just before 'a' */
		{ "0001/002", 8 },		/* '/' is just before '0' */
		{ "0001\xC3\xA9" "02", 8 },	/* UTF-8 e-acute */
		{ "00010002", 16 },		/* n too long (reads NUL) */
	};
	size_t i;
	uint32_t v;
	char buf[32];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 0x5A5A5A5Au;
		/* Copy into a buffer big enough for n so no read runs off. */
		memset(buf, 0, sizeof(buf));
		memcpy(buf, bad[i].s, bad[i].n <= 9 ? bad[i].n : 9);
		if (env_code_parse(buf, bad[i].n, &v) != -1) {
			fprintf(stderr, "\nenv_code_parse accepted bad "
			    "case %zu\n", i);
			CU_FAIL("env_code_parse accepted a bad code");
		} else
			CU_PASS("refused");
	}
	/* A 7-char prefix of a good code is refused even when s is longer. */
	CU_ASSERT_EQUAL(env_code_parse("00010002", 7, &v), -1);
	CU_ASSERT_EQUAL(env_code_parse("00010002", 9, &v), -1);
	CU_ASSERT_EQUAL(env_code_parse("00010002", 0, &v), -1);
}

static void
test_code_format(void)
{
	char out[9];

	memset(out, 'x', sizeof(out));
	env_code_format(0x00000000u, out);
	CU_ASSERT_STRING_EQUAL(out, "00000000");

	memset(out, 'x', sizeof(out));
	env_code_format(0x00010002u, out);
	CU_ASSERT_STRING_EQUAL(out, "00010002");

	memset(out, 'x', sizeof(out));
	env_code_format(0xABCDEF01u, out);
	CU_ASSERT_STRING_EQUAL(out, "ABCDEF01");	/* upper case */

	memset(out, 'x', sizeof(out));
	env_code_format(0xFFFFFFFFu, out);
	CU_ASSERT_STRING_EQUAL(out, "FFFFFFFF");

	memset(out, 'x', sizeof(out));
	env_code_format(0x0000000Au, out);
	CU_ASSERT_STRING_EQUAL(out, "0000000A");
	CU_ASSERT_EQUAL(out[8], '\0');

	memset(out, 'x', sizeof(out));
	env_code_format(0xFEDC0000u, out);
	CU_ASSERT_STRING_EQUAL(out, "FEDC0000");
}

/* format then parse gives the code back; the text is 8 upper-case hex. */
static void
test_code_roundtrip(void)
{
	uint64_t s = 0x0123456789ABCDEFull;
	uint32_t c, v;
	char out[9], ref[16];
	size_t i, bad_fmt = 0, bad_parse = 0, bad_lower = 0;

	for (i = 0; i < 100000; i++) {
		c = (uint32_t)splitmix(&s);
		if (i < 16)
			c = (uint32_t)(0x11111111u * i);
		env_code_format(c, out);
		snprintf(ref, sizeof(ref), "%08X", (unsigned)c);
		if (strcmp(out, ref) != 0)
			bad_fmt++;
		v = ~c;
		if (env_code_parse(out, 8, &v) != 0 || v != c)
			bad_parse++;
		/* The lower-case spelling is the same code. */
		snprintf(ref, sizeof(ref), "%08x", (unsigned)c);
		v = ~c;
		if (env_code_parse(ref, 8, &v) != 0 || v != c)
			bad_lower++;
	}
	CU_ASSERT_EQUAL(bad_fmt, 0);
	CU_ASSERT_EQUAL(bad_parse, 0);
	CU_ASSERT_EQUAL(bad_lower, 0);
}

static void
test_code_roles_fixed(void)
{
	static const struct {
		uint32_t	c;
		bool		plat, dom, dev, res;
	} t[] = {
		{ 0x00000000u, true,  false, false, false },
		{ 0x00010000u, false, true,  false, false },
		{ 0x00020000u, false, true,  false, false },
		{ 0xFFFE0000u, false, true,  false, false },
		{ 0x12340000u, false, true,  false, false },
		{ 0x00010001u, false, false, true,  false },
		{ 0x00010002u, false, false, true,  false },
		{ 0x0001FFFFu, false, false, true,  false },
		{ 0xFFFE0001u, false, false, true,  false },
		{ 0xFFFEFFFFu, false, false, true,  false },
		{ 0xFFFF0000u, false, false, false, true  },
		{ 0xFFFF0001u, false, false, false, true  },
		{ 0xFFFFFFFFu, false, false, false, true  },
		{ 0x00000001u, false, false, false, true  },
		{ 0x0000FFFFu, false, false, false, true  },
		{ 0x00001234u, false, false, false, true  },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CU_ASSERT_EQUAL(env_code_is_platform(t[i].c), t[i].plat);
		CU_ASSERT_EQUAL(env_code_is_domain(t[i].c), t[i].dom);
		CU_ASSERT_EQUAL(env_code_is_device(t[i].c), t[i].dev);
		CU_ASSERT_EQUAL(env_code_is_reserved(t[i].c), t[i].res);
	}
	CU_ASSERT_EQUAL(env_code_region(0x12345678u), 0x1234);
	CU_ASSERT_EQUAL(env_code_region(0xFFFF0000u), 0xFFFF);
	CU_ASSERT_EQUAL(env_code_region(0x0000FFFFu), 0x0000);
	CU_ASSERT_EQUAL(ENV_PLATFORM_CODE, 0u);
	CU_ASSERT_TRUE(env_code_is_platform(ENV_PLATFORM_CODE));
}

/* The expected role of c by the table of §1. */
static int
expected_role(uint32_t c)
{
	uint16_t r = c >> 16, n = c & 0xFFFF;

	if (c == 0)
		return 0;		/* platform */
	if (r == 0 || r == 0xFFFF)
		return 3;		/* reserved */
	if (n == 0)
		return 1;		/* domain */
	return 2;			/* device */
}

/*
 * Every region with a set of node numbers, and every node number with the
 * edge regions: each code has exactly the role §1 gives it.
 */
static void
test_code_roles_sweep(void)
{
	static const uint16_t nodes[] = { 0x0000, 0x0001, 0x0002, 0x7FFF,
	    0x8000, 0xFFFE, 0xFFFF };
	static const uint16_t regions[] = { 0x0000, 0x0001, 0x0002, 0x7FFF,
	    0x8000, 0xFFFE, 0xFFFF };
	uint32_t r, c;
	size_t i, wrong = 0, multi = 0;
	int role, n;
	bool got[4];

	for (r = 0; r <= 0xFFFF; r++) {
		for (i = 0; i < 2 * sizeof(nodes) / sizeof(nodes[0]); i++) {
			if (i < sizeof(nodes) / sizeof(nodes[0]))
				c = (r << 16) | nodes[i];
			else
				c = ((uint32_t)regions[i - sizeof(nodes) /
				    sizeof(nodes[0])] << 16) | r;
			got[0] = env_code_is_platform(c);
			got[1] = env_code_is_domain(c);
			got[2] = env_code_is_device(c);
			got[3] = env_code_is_reserved(c);
			n = got[0] + got[1] + got[2] + got[3];
			role = expected_role(c);
			if (n != 1)
				multi++;
			if (!got[role]) {
				if (wrong == 0)
					fprintf(stderr, "\nrole of %08X wrong"
					    " (want %d)\n", (unsigned)c, role);
				wrong++;
			}
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(multi, 0);
}

void
init_code_tests(void)
{
	CU_pSuite s;

	s = CU_add_suite("code", NULL, NULL);
	if (s == NULL)
		return;
	CU_add_test(s, "parse valid codes", test_code_parse_valid);
	CU_add_test(s, "parse refuses bad codes", test_code_parse_invalid);
	CU_add_test(s, "format in upper case", test_code_format);
	CU_add_test(s, "format/parse round trip", test_code_roundtrip);
	CU_add_test(s, "roles of fixed codes", test_code_roles_fixed);
	CU_add_test(s, "roles of all regions", test_code_roles_sweep);
}
