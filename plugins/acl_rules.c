/*
 * acl_rules.c - parsing and matching the acl plugin's rules
 * (acl_rules.h).  Input is untrusted text: every field is bounded, no
 * number is read past its digits, lines of any length are fine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_rules.h"

#define MAX_RULES	100000

static int	parse_line(struct acl *, const char *, size_t, int *, char *,
		    size_t);
static int	parse_code(const char *, size_t, int, uint32_t *, uint32_t *);
static int	parse_spec(const char *, size_t, uint32_t *, uint32_t *);
static int	parse_types(const char *, size_t, uint32_t *, uint32_t *);
static int	hexval(int);

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 4 hex digits (a region: all its codes) or 8 (a code); hi says which
 * end of a region the value stands for. */
static int
parse_code(const char *s, size_t n, int hi, uint32_t *out, uint32_t *width)
{
	uint32_t v = 0;

	if (n != 4 && n != 8)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = hexval((unsigned char)s[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*width = (uint32_t)n;
	*out = n == 8 ? v : hi ? v << 16 | 0xffff : v << 16;
	return 0;
}

static int
parse_spec(const char *s, size_t n, uint32_t *lo, uint32_t *hi)
{
	const char *dash = memchr(s, '-', n);
	uint32_t w1, w2;

	if (n == 1 && s[0] == '*') {
		*lo = 0;
		*hi = UINT32_MAX;
		return 0;
	}
	if (dash == NULL)
		return parse_code(s, n, 0, lo, &w1) == -1 ||
		    parse_code(s, n, 1, hi, &w2) == -1 ? -1 : 0;
	if (parse_code(s, (size_t)(dash - s), 0, lo, &w1) == -1 ||
	    parse_code(dash + 1, n - (size_t)(dash - s) - 1, 1, hi, &w2) ==
	    -1 || w1 != w2 || *lo > *hi)
		return -1;
	return 0;
}

static int
parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_types(const char *s, size_t n, uint32_t *lo, uint32_t *hi)
{
	const char *dash = memchr(s, '-', n);

	if (n == 1 && s[0] == '*') {
		*lo = 0;
		*hi = UINT32_MAX;
		return 0;
	}
	if (dash == NULL)
		return parse_u32(s, n, lo) == -1 ? -1 : (*hi = *lo, 0);
	if (parse_u32(s, (size_t)(dash - s), lo) == -1 ||
	    parse_u32(dash + 1, n - (size_t)(dash - s) - 1, hi) == -1 ||
	    *lo > *hi)
		return -1;
	return 0;
}

/* The next word of s[n] from *pos: its start and length (0: none). */
static size_t
word(const char *s, size_t n, size_t *pos, const char **w)
{
	size_t i = *pos, st;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	st = i;
	while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
		i++;
	*pos = i;
	*w = s + st;
	return i - st;
}

static int
parse_line(struct acl *a, const char *s, size_t n, int *seen_default,
    char *err, size_t errlen)
{
	struct acl_rule r = { 0, 0, UINT32_MAX, 0, UINT32_MAX, 0, UINT32_MAX,
	    0 };
	const char *w;
	size_t pos = 0, wl;
	int seen[3] = { 0, 0, 0 };

	if ((wl = word(s, n, &pos, &w)) == 0 || w[0] == '#')
		return 0;
	if (wl == 7 && memcmp(w, "default", 7) == 0) {
		wl = word(s, n, &pos, &w);
		if (*seen_default) {
			snprintf(err, errlen, "default given twice");
			return -1;
		}
		if ((wl == 5 && memcmp(w, "allow", 5) == 0) ||
		    (wl == 4 && memcmp(w, "deny", 4) == 0))
			a->def_allow = wl == 5;
		else {
			snprintf(err, errlen, "default takes allow or deny");
			return -1;
		}
		*seen_default = 1;
		if (word(s, n, &pos, &w) != 0 && w[0] != '#') {
			snprintf(err, errlen, "text after default");
			return -1;
		}
		return 0;
	}
	if (wl == 5 && memcmp(w, "allow", 5) == 0)
		r.allow = 1;
	else if (!(wl == 4 && memcmp(w, "deny", 4) == 0)) {
		snprintf(err, errlen, "a rule starts with allow, deny or "
		    "default");
		return -1;
	}
	while ((wl = word(s, n, &pos, &w)) != 0 && w[0] != '#') {
		const char *eq = memchr(w, '=', wl);
		size_t kl = eq != NULL ? (size_t)(eq - w) : 0;
		size_t vl = eq != NULL ? wl - kl - 1 : 0;
		int k = -1, bad;

		if (kl == 4 && memcmp(w, "from", 4) == 0)
			k = 0;
		else if (kl == 2 && memcmp(w, "to", 2) == 0)
			k = 1;
		else if (kl == 4 && memcmp(w, "type", 4) == 0)
			k = 2;
		if (k < 0 || seen[k]) {
			snprintf(err, errlen, "%s selector '%.*s' (from=, to=, "
			    "type=, each once)", k < 0 ? "unknown" : "repeated",
			    (int)(wl > 40 ? 40 : wl), w);
			return -1;
		}
		seen[k] = 1;
		bad = k == 0 ? parse_spec(eq + 1, vl, &r.flo, &r.fhi) :
		    k == 1 ? parse_spec(eq + 1, vl, &r.tlo, &r.thi) :
		    parse_types(eq + 1, vl, &r.ylo, &r.yhi);
		if (bad) {
			snprintf(err, errlen, "bad value in '%.*s' (*, RRRR, "
			    "RRRRNNNN, LO-HI; types N or N-M)",
			    (int)(wl > 40 ? 40 : wl), w);
			return -1;
		}
	}
	if (a->n == MAX_RULES) {
		snprintf(err, errlen, "more than %d rules", MAX_RULES);
		return -1;
	}
	if (a->n % 64 == 0) {
		struct acl_rule *nr = realloc(a->r, (a->n + 64) * sizeof(*nr));

		if (nr == NULL) {
			snprintf(err, errlen, "no memory");
			return -1;
		}
		a->r = nr;
	}
	a->r[a->n++] = r;
	return 0;
}

int
acl_parse(const char *text, size_t len, struct acl **out, unsigned *line,
    char *err, size_t errlen)
{
	struct acl *a;
	size_t st = 0;
	unsigned ln = 0;
	int seen_default = 0;

	*out = NULL;
	*line = 0;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "no memory");
		return -1;
	}
	while (st < len) {
		const char *nl = memchr(text + st, '\n', len - st);
		size_t n = nl != NULL ? (size_t)(nl - (text + st)) : len - st;

		ln++;
		if (memchr(text + st, '\0', n) != NULL) {
			snprintf(err, errlen, "NUL byte");
			goto bad;
		}
		if (parse_line(a, text + st, n, &seen_default, err, errlen) ==
		    -1)
			goto bad;
		if (a->n > 0 && a->r[a->n - 1].line == 0)
			a->r[a->n - 1].line = ln;
		st += n + 1;
	}
	*out = a;
	return 0;
bad:
	*line = ln;
	acl_free(a);
	return -1;
}

int
acl_load(const char *path, struct acl **out, char *err, size_t errlen)
{
	FILE *fp;
	char *buf = NULL, why[200];
	size_t len = 0, cap = 0, n;
	unsigned line;
	int rc = -1;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			char *nb;

			if (cap >= 64u << 20 ||
			    (nb = realloc(buf, cap ? cap * 2 : 4096)) == NULL) {
				snprintf(err, errlen, "%s: too large or no "
				    "memory", path);
				goto out;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (acl_parse(buf, len, out, &line, why, sizeof(why)) == -1)
		snprintf(err, errlen, "%s:%u: %s", path, line, why);
	else
		rc = 0;
out:
	free(buf);
	fclose(fp);
	return rc;
}

int
acl_check(const struct acl *a, uint32_t from, uint32_t to, uint32_t type,
    unsigned *line)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct acl_rule *r = &a->r[i];

		if (from >= r->flo && from <= r->fhi && to >= r->tlo &&
		    to <= r->thi && type >= r->ylo && type <= r->yhi) {
			*line = r->line;
			return r->allow;
		}
	}
	*line = 0;
	return a->def_allow;
}

void
acl_free(struct acl *a)
{
	if (a == NULL)
		return;
	free(a->r);
	free(a);
}
