/*
 * fuzz_audit.c - libFuzzer target for the audit record-line parser
 * (common/audit_rec.c, DESIGN.md §8) that nap-audit runs on every line of
 * a log it did not write.  Checks: a parsed record's slices lie inside
 * the line; the hashed bytes end just before `hash="`; the body sits
 * between the start tag and the tail; typed getters, times and base64
 * decoding of the body never read out of bounds; base64 round-trips; the
 * input as type ranges and as a time never crashes.
 */
#include <stdlib.h>
#include <string.h>

#include "audit_rec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_rec(const uint8_t *d, size_t n, const struct audit_rec *r)
{
	uint32_t u;
	int64_t t;
	size_t ol;
	uint8_t *out;

	if (r->hashed_len + 6 > n || memcmp(d + r->hashed_len, "hash=\"", 6))
		abort();
	if (r->body < d || r->body + r->body_len > d + r->hashed_len)
		abort();
	for (size_t i = 0; i < r->nattr; i++)
		if ((const uint8_t *)r->attr[i].val < d ||
		    (const uint8_t *)r->attr[i].val + r->attr[i].vlen >
		    r->body)
			abort();
	(void)audit_rec_u32(r, "seq", &u);
	(void)audit_rec_code(r, "from", &u);
	(void)audit_rec_time(r, &t);
	if ((out = malloc(r->body_len / 4 * 3 + 3)) == NULL)
		abort();
	if (audit_b64_decode((const char *)r->body, r->body_len, out,
	    &ol) == 0 && ol > r->body_len / 4 * 3)
		abort();
	free(out);
}

static void
check_b64(const uint8_t *d, size_t n)
{
	char *enc = malloc(n / 3 * 4 + 4);
	uint8_t *dec = malloc(n + 3);
	size_t el, dl;

	if (enc == NULL || dec == NULL)
		abort();
	el = audit_b64_encode(d, n, enc);
	if (audit_b64_decode(enc, el, dec, &dl) != 0 || dl != n ||
	    memcmp(d, dec, n) != 0)
		abort();
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_rec r;
	struct audit_ranges rg;
	const char *why;
	char err[256], *s;
	int64_t t;

	if (audit_rec_parse(data, size, &r, &why) == 0)
		check_rec(data, size, &r);
	else if (why == NULL)
		abort();
	check_b64(data, size < 4096 ? size : 4096);
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	(void)audit_ranges_parse(s, &rg, err, sizeof(err));
	(void)audit_time_parse(s, size, &t);
	free(s);
	return 0;
}
