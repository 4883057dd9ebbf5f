/*
 * audit_rec.c - the audit record format (DESIGN.md §8): a strict hand
 * parser for one record line, the chain MAC, type ranges, base64 and
 * times.  The parser never trusts the line: every index is checked
 * against its length, so the fuzz target (test/fuzz/fuzz_audit.c) can
 * feed it anything.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "audit_rec.h"

const char audit_genesis[AUDIT_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* The tail after CONTENT: `<end hash="` H64 `"/></` NAME `>`. */
#define TAIL_HEAD	"<end hash=\""
#define TAIL_HEAD_LEN	(sizeof(TAIL_HEAD) - 1)
#define TAIL_MID	"\"/></"
#define TAIL_MID_LEN	(sizeof(TAIL_MID) - 1)
/* The hash covers the line up to `hash="`, i.e. through "<end ". */
#define HASHED_IN_TAIL	5

static const struct {
	const char	*name;
	enum audit_kind	 kind;
} kinds[] = {
	{ "file", AREC_FILE },
	{ "msg", AREC_MSG },
	{ "sess", AREC_SESS },
	{ "lost", AREC_LOST },
};

static size_t	scan_name(const uint8_t *, size_t, size_t);
static int	parse_attrs(const uint8_t *, size_t, size_t *,
		    struct audit_rec *, const char **);
static int	parse_tail(const uint8_t *, size_t, size_t,
		    struct audit_rec *, const char **);
static int	is_lower_hex(const char *, size_t);

/* ---- the record line -------------------------------------------------- */

/* Length of the [a-z]+ name starting at i. */
static size_t
scan_name(const uint8_t *s, size_t len, size_t i)
{
	size_t j = i;

	while (j < len && s[j] >= 'a' && s[j] <= 'z')
		j++;
	return j - i;
}

static int
is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * ` name="value"` until '>'.  Values hold no '"', '<' or control
 * character (the writer escapes them), so the first '>' outside a value
 * ends the start tag.
 */
static int
parse_attrs(const uint8_t *s, size_t len, size_t *pos, struct audit_rec *r,
    const char **why)
{
	size_t i = *pos, nl, v;

	while (i < len && s[i] == ' ') {
		struct audit_attr *a;

		i++;
		if ((nl = scan_name(s, len, i)) == 0 || i + nl + 1 >= len ||
		    s[i + nl] != '=' || s[i + nl + 1] != '"')
			return (*why = "bad attribute", -1);
		if (r->nattr == AUDIT_REC_MAX_ATTRS)
			return (*why = "too many attributes", -1);
		for (v = i + nl + 2; v < len && s[v] != '"'; v++)
			if (s[v] < 0x20 || s[v] == '<' || s[v] == 0x7f)
				return (*why = "bad attribute value", -1);
		if (v >= len)
			return (*why = "unterminated attribute value", -1);
		a = &r->attr[r->nattr];
		a->name = (const char *)s + i;
		a->nlen = nl;
		a->val = (const char *)s + i + nl + 2;
		a->vlen = v - (i + nl + 2);
		for (size_t k = 0; k < r->nattr; k++)
			if (r->attr[k].nlen == nl &&
			    memcmp(r->attr[k].name, a->name, nl) == 0)
				return (*why = "duplicate attribute", -1);
		r->nattr++;
		i = v + 1;
	}
	if (i >= len || s[i] != '>')
		return (*why = "bad start tag", -1);
	*pos = i + 1;
	return 0;
}

/* The fixed tail, from the end of the line backwards. */
static int
parse_tail(const uint8_t *s, size_t len, size_t body, struct audit_rec *r,
    const char **why)
{
	size_t tail = TAIL_HEAD_LEN + AUDIT_HEX + TAIL_MID_LEN + r->nlen + 1;
	size_t t;

	if (len - body < tail)
		return (*why = "no <end hash> tail", -1);
	t = len - tail;
	if (memcmp(s + t, TAIL_HEAD, TAIL_HEAD_LEN) != 0 ||
	    memcmp(s + t + TAIL_HEAD_LEN + AUDIT_HEX, TAIL_MID,
	    TAIL_MID_LEN) != 0 ||
	    memcmp(s + len - r->nlen - 1, r->name, r->nlen) != 0 ||
	    s[len - 1] != '>')
		return (*why = "no <end hash> tail", -1);
	if (!is_lower_hex((const char *)s + t + TAIL_HEAD_LEN, AUDIT_HEX))
		return (*why = "hash is not 64 lower-case hex digits", -1);
	memcpy(r->hash, s + t + TAIL_HEAD_LEN, AUDIT_HEX);
	r->hash[AUDIT_HEX] = '\0';
	r->body = s + body;
	r->body_len = t - body;
	r->hashed_len = t + HASHED_IN_TAIL;
	return 0;
}

int
audit_rec_parse(const uint8_t *s, size_t len, struct audit_rec *r,
    const char **why)
{
	size_t pos, plen;
	const char *prev;

	memset(r, 0, sizeof(*r));
	if (len < 2 || s[0] != '<')
		return (*why = "not a record", -1);
	if ((r->nlen = scan_name(s, len, 1)) == 0)
		return (*why = "no element name", -1);
	r->name = (const char *)s + 1;
	pos = 1 + r->nlen;
	if (parse_attrs(s, len, &pos, r, why) == -1)
		return -1;
	if (parse_tail(s, len, pos, r, why) == -1)
		return -1;
	r->kind = AREC_OTHER;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == r->nlen &&
		    memcmp(kinds[i].name, r->name, r->nlen) == 0)
			r->kind = kinds[i].kind;
	if ((prev = audit_rec_get(r, "prev", &plen)) == NULL ||
	    plen != AUDIT_HEX || !is_lower_hex(prev, AUDIT_HEX))
		return (*why = "no valid prev attribute", -1);
	return 0;
}

const char *
audit_rec_get(const struct audit_rec *r, const char *name, size_t *vlen)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < r->nattr; i++)
		if (r->attr[i].nlen == n &&
		    memcmp(r->attr[i].name, name, n) == 0) {
			*vlen = r->attr[i].vlen;
			return r->attr[i].val;
		}
	return NULL;
}

bool
audit_rec_is(const struct audit_rec *r, const char *name, const char *s)
{
	size_t n;
	const char *v = audit_rec_get(r, name, &n);

	return v != NULL && n == strlen(s) && memcmp(v, s, n) == 0;
}

int
audit_rec_u32(const struct audit_rec *r, const char *name, uint32_t *out)
{
	size_t n;
	const char *v = audit_rec_get(r, name, &n);
	uint64_t x = 0;

	if (v == NULL || n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

int
audit_rec_code(const struct audit_rec *r, const char *name, uint32_t *out)
{
	size_t n;
	const char *v = audit_rec_get(r, name, &n);
	uint32_t x = 0;

	if (v == NULL || n != 8)
		return -1;
	for (size_t i = 0; i < 8; i++) {
		int c = (unsigned char)v[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		x = x << 4 | (uint32_t)d;
	}
	*out = x;
	return 0;
}

int
audit_rec_time(const struct audit_rec *r, int64_t *us)
{
	size_t n;
	const char *v = audit_rec_get(r, "t", &n);

	return v == NULL ? -1 : audit_time_parse(v, n, us);
}

/* ---- the chain MAC ---------------------------------------------------- */

struct audit_mac {
	EVP_MD_CTX	*md;		/* plain SHA-256 */
	EVP_MAC		*hmac;		/* keyed: HMAC */
	EVP_MAC_CTX	*mctx;
	uint8_t		*key;
	size_t		 keylen;
};

struct audit_mac *
audit_mac_new(const uint8_t *key, size_t keylen)
{
	struct audit_mac *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if (key == NULL) {
		if ((m->md = EVP_MD_CTX_new()) == NULL)
			goto err;
		return m;
	}
	if ((m->key = malloc(keylen)) == NULL ||
	    (m->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (m->mctx = EVP_MAC_CTX_new(m->hmac)) == NULL)
		goto err;
	memcpy(m->key, key, keylen);
	m->keylen = keylen;
	return m;
err:
	audit_mac_free(m);
	return NULL;
}

void
audit_mac_free(struct audit_mac *m)
{
	if (m == NULL)
		return;
	EVP_MD_CTX_free(m->md);
	EVP_MAC_CTX_free(m->mctx);
	EVP_MAC_free(m->hmac);
	audit_key_free(m->key, m->keylen);
	free(m);
}

bool
audit_mac_keyed(const struct audit_mac *m)
{
	return m->key != NULL;
}

static void
to_hex(const uint8_t *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int
audit_mac_hex(struct audit_mac *m, const void *data, size_t len,
    char out[AUDIT_HEX + 1])
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	size_t ml = 0;
	OSSL_PARAM p[2];

	if (m->key == NULL) {
		if (EVP_DigestInit_ex(m->md, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(m->md, data, len) != 1 ||
		    EVP_DigestFinal_ex(m->md, d, &dl) != 1 || dl != 32)
			return -1;
		to_hex(d, 32, out);
		return 0;
	}
	/* The key is given at each init: reusing it with a NULL key was
	 * only fixed in OpenSSL 3.0.4 (openssl#18100). */
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m->mctx, m->key, m->keylen, p) != 1 ||
	    EVP_MAC_update(m->mctx, data, len) != 1 ||
	    EVP_MAC_final(m->mctx, d, &ml, sizeof(d)) != 1 || ml != 32)
		return -1;
	to_hex(d, 32, out);
	return 0;
}

int
audit_key_load(const char *path, uint8_t **key, size_t *len, char *err,
    size_t errlen)
{
	uint8_t buf[AUDIT_KEY_MAX + 2];
	size_t n, a = 0;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	while (n > 0 && isspace(buf[n - 1]))
		n--;
	while (a < n && isspace(buf[a]))
		a++;
	if (n - a < AUDIT_KEY_MIN || n - a > AUDIT_KEY_MAX ||
	    (*key = malloc(n - a)) == NULL) {
		snprintf(err, errlen, "key file %s: %s", path,
		    n - a < AUDIT_KEY_MIN ? "shorter than 16 bytes" :
		    n - a > AUDIT_KEY_MAX ? "longer than 4096 bytes" :
		    "no memory");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(*key, buf + a, n - a);
	*len = n - a;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

void
audit_key_free(uint8_t *key, size_t len)
{
	if (key == NULL)
		return;
	explicit_bzero(key, len);
	free(key);
}

/* ---- type ranges ------------------------------------------------------ */

static int
parse_u32(const char **p, uint32_t *out)
{
	uint64_t x = 0;
	const char *s = *p;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9' && n < 11)
		x = x * 10 + (uint64_t)(s[n++] - '0');
	if (n == 0 || n > 10 || x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	*p = s + n;
	return 0;
}

int
audit_ranges_parse(const char *s, struct audit_ranges *out, char *err,
    size_t errlen)
{
	const char *p = s;

	out->n = 0;
	while (*p != '\0') {
		uint32_t lo, hi;

		if (out->n == AUDIT_RANGES_MAX || parse_u32(&p, &lo) == -1)
			goto bad;
		hi = lo;
		if (*p == '-' && (p++, parse_u32(&p, &hi) == -1 || hi < lo))
			goto bad;
		if (*p != '\0' && *p != ',')
			goto bad;
		if (*p == ',' && *++p == '\0')
			goto bad;
		out->lo[out->n] = lo;
		out->hi[out->n++] = hi;
	}
	if (out->n > 0)
		return 0;
bad:
	snprintf(err, errlen, "bad type ranges '%s' (want e.g. 1000-1999,5; "
	    "at most %d items)", s, AUDIT_RANGES_MAX);
	return -1;
}

bool
audit_ranges_has(const struct audit_ranges *r, uint32_t type)
{
	for (size_t i = 0; i < r->n; i++)
		if (type >= r->lo[i] && type <= r->hi[i])
			return true;
	return false;
}

/* ---- base64 and time ---------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
audit_b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 |
		    (i + 1 < len ? in[i + 1] << 8 : 0);

		out[o++] = b64[v >> 18];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

static int
b64_val(int c)
{
	const char *p = c == 0 ? NULL : strchr(b64, c);

	return p == NULL ? -1 : (int)(p - b64);
}

/* Strict: length a multiple of 4, padding only at the end. */
int
audit_b64_decode(const char *in, size_t len, uint8_t *out, size_t *outlen)
{
	size_t o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2 &&
			    (k == 3 || in[i + 3] == '=')) {
				v[k] = 0;
				pad++;
			} else if ((v[k] = b64_val(in[i + k])) < 0)
				return -1;
		}
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	*outlen = o;
	return 0;
}

void
audit_time_format(int64_t us, char out[AUDIT_TIME_LEN + 1])
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	char buf[64];

	gmtime_r(&s, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
	    (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
	memcpy(out, buf, AUDIT_TIME_LEN);
	out[AUDIT_TIME_LEN] = '\0';
}

/* Digits of a fixed width at s. */
static int
fixed_num(const char *s, int width, int *out)
{
	int v = 0;

	for (int i = 0; i < width; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
audit_time_parse(const char *s, size_t len, int64_t *us)
{
	struct tm tm;
	int y, mo, d, h, mi, se, frac;

	if (len != AUDIT_TIME_LEN || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' ||
	    s[26] != 'Z' || fixed_num(s, 4, &y) || fixed_num(s + 5, 2, &mo) ||
	    fixed_num(s + 8, 2, &d) || fixed_num(s + 11, 2, &h) ||
	    fixed_num(s + 14, 2, &mi) || fixed_num(s + 17, 2, &se) ||
	    fixed_num(s + 20, 6, &frac) || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*us = (int64_t)timegm(&tm) * 1000000 + frac;
	return 0;
}
