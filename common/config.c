/*
 * config.c - the servers' settings from one key table: the config file
 * ("key value" lines), the command line (--key value) and the -h text all
 * come from it, and each value type is a row of conf_types[].
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config.h"
#include "log.h"

/* How one value type is parsed, printed and freed. */
struct conf_type_ops {
	const char	*meta;	/* the argument's name in -h */
	/* Parse value into field; on error a reason (no key name) in why. */
	int		(*parse)(const struct conf_key *, void *field,
			    const char *value, char *why, size_t whylen);
	/* Print "name value" line(s) in the file's syntax. */
	void		(*print)(const struct conf_key *, const void *field,
			    FILE *);
	/* Free what field holds and leave it unset. */
	void		(*clear)(void *field);
};

static void	seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static const struct conf_key *key_find(const struct conf_key *,
		    const char *, size_t);
static size_t	key_count(const struct conf_key *);
static int	set_value(const struct conf_key *, void *, const char *,
		    const char *, char *, size_t);
static int	bool_word(const char *, int *);
static void	fmt_size(size_t, char *, size_t);
static void	print_quoted(const char *, const char *, FILE *);
static int	parse_line(const struct conf_key *, char *, char **, char **,
		    char *, size_t);
static int	scan_args(const struct conf_key *, void *, int, char **,
		    struct conf_cli *, unsigned char *, char *, size_t);

static int	str_parse(const struct conf_key *, void *, const char *,
		    char *, size_t);
static void	str_print(const struct conf_key *, const void *, FILE *);
static void	str_clear(void *);
static int	int_parse(const struct conf_key *, void *, const char *,
		    char *, size_t);
static void	int_print(const struct conf_key *, const void *, FILE *);
static int	bool_parse(const struct conf_key *, void *, const char *,
		    char *, size_t);
static void	bool_print(const struct conf_key *, const void *, FILE *);
static int	addr_parse(const struct conf_key *, void *, const char *,
		    char *, size_t);
static void	addr_print(const struct conf_key *, const void *, FILE *);
static void	addr_clear(void *);
static int	list_parse(const struct conf_key *, void *, const char *,
		    char *, size_t);
static void	list_print(const struct conf_key *, const void *, FILE *);
static void	list_clear(void *);
static int	level_parse(const struct conf_key *, void *, const char *,
		    char *, size_t);
static void	level_print(const struct conf_key *, const void *, FILE *);
static int	size_parse(const struct conf_key *, void *, const char *,
		    char *, size_t);
static void	size_print(const struct conf_key *, const void *, FILE *);
static void	long_clear(void *);
static void	int_clear(void *);
static void	size_clear(void *);

static const struct conf_type_ops conf_types[] = {
	[CONF_STR] =	 { "VALUE", str_parse, str_print, str_clear },
	[CONF_INT] =	 { "N", int_parse, int_print, long_clear },
	[CONF_BOOL] =	 { "[yes|no]", bool_parse, bool_print, int_clear },
	[CONF_ADDR] =	 { "HOST:PORT", addr_parse, addr_print, addr_clear },
	[CONF_STRLIST] = { "VALUE", list_parse, list_print, list_clear },
	[CONF_LEVEL] =	 { "LEVEL", level_parse, level_print, int_clear },
	[CONF_SIZE] =	 { "SIZE", size_parse, size_print, size_clear },
};
#define NTYPES	(sizeof(conf_types) / sizeof(conf_types[0]))

static const struct {
	const char	*word;
	int		 val;
} bool_words[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
};

#define FIELD(k, dst)	((void *)((char *)(dst) + (k)->offset))
#define CFIELD(k, dst)	((const void *)((const char *)(dst) + (k)->offset))

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct conf_key *
key_find(const struct conf_key *keys, const char *name, size_t len)
{
	for (; keys->name != NULL; keys++)
		if (strncmp(keys->name, name, len) == 0 &&
		    keys->name[len] == '\0')
			return keys;
	return NULL;
}

static size_t
key_count(const struct conf_key *keys)
{
	size_t n = 0;

	while (keys[n].name != NULL)
		n++;
	return n;
}

/* where: "" (conf_set), "FILE:LINE: " or "--", put before the key name. */
static int
set_value(const struct conf_key *k, void *dst, const char *value,
    const char *where, char *err, size_t errlen)
{
	char why[512];

	if ((size_t)k->type >= NTYPES) {
		seterr(err, errlen, "%s%s: bad type %d in the key table",
		    where, k->name, (int)k->type);
		return -1;
	}
	if (value == NULL) {
		if (k->type != CONF_BOOL) {
			seterr(err, errlen, "%s%s: missing value", where,
			    k->name);
			return -1;
		}
		value = "yes";
	}
	why[0] = '\0';
	if (conf_types[k->type].parse(k, FIELD(k, dst), value, why,
	    sizeof(why)) == -1) {
		seterr(err, errlen, "%s%s: %s", where, k->name, why);
		return -1;
	}
	return 0;
}

/* --- the value types -------------------------------------------------- */

static int
str_parse(const struct conf_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	char **sp = field, *s;

	(void)k;
	if ((s = strdup(value)) == NULL) {
		seterr(why, whylen, "%s", strerror(errno));
		return -1;
	}
	free(*sp);
	*sp = s;
	return 0;
}

static void
str_print(const struct conf_key *k, const void *field, FILE *fp)
{
	char *const *sp = field;

	if (*sp == NULL)
		fprintf(fp, "# %s (unset)\n", k->name);
	else
		print_quoted(k->name, *sp, fp);
}

static void
str_clear(void *field)
{
	char **sp = field;

	free(*sp);
	*sp = NULL;
}

static int
int_parse(const struct conf_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)value[0]) && !((value[0] == '-' ||
	    value[0] == '+') && isdigit((unsigned char)value[1]))) {
		seterr(why, whylen, "not a number: '%s'", value);
		return -1;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (*end != '\0') {
		seterr(why, whylen, "not a number: '%s'", value);
		return -1;
	}
	if (errno == ERANGE) {
		seterr(why, whylen, "out of range: '%s'", value);
		return -1;
	}
	if (k->min != 0 || k->max != 0) {
		if (v < k->min) {
			seterr(why, whylen, "%ld is below the minimum %ld",
			    v, k->min);
			return -1;
		}
		if (v > k->max) {
			seterr(why, whylen, "%ld is above the maximum %ld",
			    v, k->max);
			return -1;
		}
	}
	*(long *)field = v;
	return 0;
}

static void
int_print(const struct conf_key *k, const void *field, FILE *fp)
{
	fprintf(fp, "%s %ld\n", k->name, *(const long *)field);
}

static int
bool_word(const char *s, int *v)
{
	size_t i;

	for (i = 0; i < sizeof(bool_words) / sizeof(bool_words[0]); i++)
		if (strcmp(s, bool_words[i].word) == 0) {
			*v = bool_words[i].val;
			return 0;
		}
	return -1;
}

static int
bool_parse(const struct conf_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	(void)k;
	if (bool_word(value, field) == -1) {
		seterr(why, whylen, "not yes or no: '%s'", value);
		return -1;
	}
	return 0;
}

static void
bool_print(const struct conf_key *k, const void *field, FILE *fp)
{
	fprintf(fp, "%s %s\n", k->name, *(const int *)field ? "yes" : "no");
}

/* HOST:PORT or [V6]:PORT; a bare IPv6 address needs the brackets. */
static int
addr_parse(const struct conf_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	struct conf_addr *a = field;
	const char *host, *hend, *port, *p;
	unsigned long n;
	size_t hlen;

	(void)k;
	if (value[0] == '[') {
		host = value + 1;
		if ((hend = strchr(host, ']')) == NULL) {
			seterr(why, whylen, "no ']' in '%s'", value);
			return -1;
		}
		if (hend[1] != ':') {
			seterr(why, whylen, "no port in '%s' "
			    "(HOST:PORT or [V6]:PORT)", value);
			return -1;
		}
		port = hend + 2;
	} else {
		host = value;
		if ((hend = strchr(value, ':')) == NULL) {
			seterr(why, whylen, "no port in '%s' "
			    "(HOST:PORT or [V6]:PORT)", value);
			return -1;
		}
		if (strchr(hend + 1, ':') != NULL) {
			seterr(why, whylen, "an IPv6 address needs brackets: "
			    "'%s' ([V6]:PORT)", value);
			return -1;
		}
		port = hend + 1;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0) {
		seterr(why, whylen, "no host in '%s'", value);
		return -1;
	}
	if (hlen >= sizeof(a->host)) {
		seterr(why, whylen, "host name longer than %zu bytes",
		    sizeof(a->host) - 1);
		return -1;
	}
	for (p = host; p < hend; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) ||
		    *p == '[' || *p == '/') {
			seterr(why, whylen, "bad host in '%s'", value);
			return -1;
		}
	n = 0;
	for (p = port; isdigit((unsigned char)*p) && n <= 65535; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == port || *p != '\0' || n > 65535) {
		seterr(why, whylen, "bad port '%s' (0 to 65535)", port);
		return -1;
	}
	memcpy(a->host, host, hlen);
	a->host[hlen] = '\0';
	snprintf(a->port, sizeof(a->port), "%lu", n);
	return 0;
}

static void
addr_print(const struct conf_key *k, const void *field, FILE *fp)
{
	const struct conf_addr *a = field;

	if (a->host[0] == '\0')
		fprintf(fp, "# %s (unset)\n", k->name);
	else if (strchr(a->host, ':') != NULL)
		fprintf(fp, "%s [%s]:%s\n", k->name, a->host, a->port);
	else
		fprintf(fp, "%s %s:%s\n", k->name, a->host, a->port);
}

static void
addr_clear(void *field)
{
	memset(field, 0, sizeof(struct conf_addr));
}

static int
list_parse(const struct conf_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	struct conf_list *l = field;
	char **v, *s;

	(void)k;
	if (l->n >= SIZE_MAX / sizeof(*v) - 1 ||
	    (v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL) {
		seterr(why, whylen, "%s", strerror(ENOMEM));
		return -1;
	}
	l->v = v;
	if ((s = strdup(value)) == NULL) {
		seterr(why, whylen, "%s", strerror(errno));
		return -1;
	}
	l->v[l->n++] = s;
	return 0;
}

static void
list_print(const struct conf_key *k, const void *field, FILE *fp)
{
	const struct conf_list *l = field;
	size_t i;

	if (l->n == 0)
		fprintf(fp, "# %s (unset)\n", k->name);
	for (i = 0; i < l->n; i++)
		print_quoted(k->name, l->v[i], fp);
}

static void
list_clear(void *field)
{
	struct conf_list *l = field;
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
level_parse(const struct conf_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	int v;

	(void)k;
	if ((v = log_level_parse(value)) == -1) {
		seterr(why, whylen, "unknown level '%s' "
		    "(error, warn, info or debug)", value);
		return -1;
	}
	*(int *)field = v;
	return 0;
}

static void
level_print(const struct conf_key *k, const void *field, FILE *fp)
{
	fprintf(fp, "%s %s\n", k->name, log_level_name(*(const int *)field));
}

/* A byte count: digits and an optional K, M or G (powers of 1024). */
static int
size_parse(const struct conf_key *k, void *field, const char *value,
    char *why, size_t whylen)
{
	char *end, lim[32];
	unsigned long long v, mul = 1;

	if (!isdigit((unsigned char)value[0])) {
		seterr(why, whylen, "not a size: '%s'", value);
		return -1;
	}
	errno = 0;
	v = strtoull(value, &end, 10);
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1ull << 10;
		end++;
		break;
	case 'm': case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'g': case 'G':
		mul = 1ull << 30;
		end++;
		break;
	default:
		end = NULL;
		break;
	}
	if (end == NULL || *end != '\0') {
		seterr(why, whylen, "not a size: '%s' (a number, then K, M "
		    "or G)", value);
		return -1;
	}
	if (errno == ERANGE || v > SIZE_MAX / mul) {
		seterr(why, whylen, "out of range: '%s'", value);
		return -1;
	}
	v *= mul;
	if (k->min != 0 || k->max != 0) {
		if (k->min > 0 && v < (unsigned long long)k->min) {
			fmt_size((size_t)k->min, lim, sizeof(lim));
			seterr(why, whylen, "%s is below the minimum %s",
			    value, lim);
			return -1;
		}
		if (k->max >= 0 && v > (unsigned long long)k->max) {
			fmt_size((size_t)k->max, lim, sizeof(lim));
			seterr(why, whylen, "%s is above the maximum %s",
			    value, lim);
			return -1;
		}
	}
	*(size_t *)field = (size_t)v;
	return 0;
}

static void
size_print(const struct conf_key *k, const void *field, FILE *fp)
{
	char buf[32];

	fmt_size(*(const size_t *)field, buf, sizeof(buf));
	fprintf(fp, "%s %s\n", k->name, buf);
}

/* The shortest exact form: 1048576 -> "1M", 1000 -> "1000". */
static void
fmt_size(size_t v, char *buf, size_t len)
{
	static const char sfx[] = "KMG";
	size_t i;
	int s = -1;

	for (i = 0; i < 3 && v != 0 && v % 1024 == 0; i++) {
		v /= 1024;
		s = (int)i;
	}
	if (s < 0)
		snprintf(buf, len, "%zu", v);
	else
		snprintf(buf, len, "%zu%c", v, sfx[s]);
}

static void
long_clear(void *field)
{
	*(long *)field = 0;
}

static void
int_clear(void *field)
{
	*(int *)field = 0;
}

static void
size_clear(void *field)
{
	*(size_t *)field = 0;
}

/* "name value", quoting the value when the file would misread it. */
static void
print_quoted(const char *name, const char *v, FILE *fp)
{
	const char *p;
	int q = (*v == '\0');

	for (p = v; *p != '\0' && !q; p++)
		if (isspace((unsigned char)*p) || *p == '"' || *p == '#' ||
		    *p == '\\')
			q = 1;
	if (!q) {
		fprintf(fp, "%s %s\n", name, v);
		return;
	}
	fprintf(fp, "%s \"", name);
	for (p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fputs("\"\n", fp);
}

/* --- the public functions ---------------------------------------------- */

int
conf_init(const struct conf_key *keys, void *dst, char *err, size_t errlen)
{
	const struct conf_key *k;

	for (k = keys; k->name != NULL; k++) {
		if ((size_t)k->type >= NTYPES) {
			seterr(err, errlen, "%s: bad type %d in the key "
			    "table", k->name, (int)k->type);
			return -1;
		}
		switch (k->type) {
		case CONF_STR:
			*(char **)FIELD(k, dst) = NULL;
			break;
		case CONF_STRLIST:
			memset(FIELD(k, dst), 0, sizeof(struct conf_list));
			break;
		default:
			conf_types[k->type].clear(FIELD(k, dst));
			break;
		}
	}
	for (k = keys; k->name != NULL; k++) {
		if (k->def == NULL)
			continue;
		if (k->type == CONF_STRLIST) {
			seterr(err, errlen, "%s: a repeatable key has no "
			    "default", k->name);
			return -1;
		}
		if (set_value(k, dst, k->def, "default ", err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
conf_set(const struct conf_key *keys, void *dst, const char *key,
    const char *value, char *err, size_t errlen)
{
	const struct conf_key *k;

	if ((k = key_find(keys, key, strlen(key))) == NULL) {
		seterr(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	return set_value(k, dst, value, "", err, errlen);
}

/*
 * Split one line in place into key and value (value NULL when absent).
 * Both NULL: a blank or comment line.  -1 with a reason in why.
 */
static int
parse_line(const struct conf_key *keys, char *line, char **keyp, char **valp,
    char *why, size_t whylen)
{
	char *p = line, *out, *end;
	const struct conf_key *k;

	*keyp = *valp = NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	*keyp = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	k = key_find(keys, *keyp, strlen(*keyp));
	if (*p != '"' && k != NULL && k->type == CONF_STRLIST &&
	    k->min == CONF_REST) {
		/* The rest of the line, less a " #" comment and the blanks
		 * before it. */
		*valp = p;
		for (end = p; *end != '\0'; end++)
			if (*end == '#' && (end[-1] == ' ' || end[-1] == '\t'))
				break;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		return 0;
	}
	if (*p == '"') {
		*valp = out = ++p;
		while (*p != '\0' && *p != '"') {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*out++ = *p++;
		}
		if (*p != '"') {
			seterr(why, whylen, "%s: no closing quote", *keyp);
			return -1;
		}
		end = ++p;
		*out = '\0';
	} else {
		*valp = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		end = p;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && !(*p == '#' && p > end)) {
		seterr(why, whylen, "%s: text after the value "
		    "(quote a value that holds spaces)", *keyp);
		return -1;
	}
	*end = '\0';
	return 0;
}

int
conf_load(const struct conf_key *keys, void *dst, const char *path,
    char *err, size_t errlen)
{
	FILE *fp;
	char *line = NULL, *key, *val, why[512], where[512];
	size_t cap = 0, lineno = 0, *seen = NULL, n;
	ssize_t len;
	const struct conf_key *k;
	int rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((seen = calloc(key_count(keys) + 1, sizeof(*seen))) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		n = (size_t)len;
		if (memchr(line, '\0', n) != NULL) {
			seterr(err, errlen, "%s:%zu: NUL byte", path, lineno);
			goto out;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (parse_line(keys, line, &key, &val, why, sizeof(why)) == -1) {
			seterr(err, errlen, "%s:%zu: %s", path, lineno, why);
			goto out;
		}
		if (key == NULL)
			continue;
		if ((k = key_find(keys, key, strlen(key))) == NULL) {
			seterr(err, errlen, "%s:%zu: unknown key '%s'", path,
			    lineno, key);
			goto out;
		}
		if (k->type != CONF_STRLIST && seen[k - keys] != 0) {
			seterr(err, errlen, "%s:%zu: %s: already set on line "
			    "%zu", path, lineno, key, seen[k - keys]);
			goto out;
		}
		seen[k - keys] = lineno;
		snprintf(where, sizeof(where), "%s:%zu: ", path, lineno);
		if (set_value(k, dst, val, where, err, errlen) == -1)
			goto out;
	}
	if (ferror(fp)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(seen);
	free(line);
	fclose(fp);
	return rc;
}

/*
 * One walk over argv.  Without cli_seen (the first pass) it records the
 * flags in out and checks every option; with it (the second pass) it
 * sets the keys, cli_seen marking the repeatable keys already replaced.
 * Returns 1 when -h was found in the first pass.
 */
static int
scan_args(const struct conf_key *keys, void *dst, int argc, char **argv,
    struct conf_cli *out, unsigned char *cli_seen, char *err, size_t errlen)
{
	const struct conf_key *k;
	const char *a, *name, *eq, *val, *s;
	size_t nlen;
	int i, b;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc) {
				seterr(err, errlen, "unexpected argument "
				    "'%s'", argv[i + 1]);
				return -1;
			}
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			seterr(err, errlen, "unexpected argument '%s'", a);
			return -1;
		}
		if (a[1] != '-') {
			/* Grouped short flags; -f takes the rest or the next. */
			for (s = a + 1; *s != '\0'; s++) {
				if (*s == 'n') {
					out->check_only = 1;
				} else if (*s == 'v') {
					if (cli_seen == NULL)
						out->verbose++;
				} else if (*s == 'h') {
					out->help = 1;
					return 1;
				} else if (*s == 'f') {
					if (s[1] != '\0')
						val = s + 1;
					else if (i + 1 < argc)
						val = argv[++i];
					else {
						seterr(err, errlen,
						    "-f: missing file");
						return -1;
					}
					out->config_file = val;
					break;
				} else {
					seterr(err, errlen, "unknown option "
					    "'-%c'", *s);
					return -1;
				}
			}
			continue;
		}
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
		if (strcmp(name, "help") == 0) {
			out->help = 1;
			return 1;
		}
		if (strcmp(name, "version") == 0) {
			out->version = 1;
			return 1;
		}
		if (strncmp(name, "daemon", nlen) == 0 && nlen == 6) {
			if (eq != NULL) {
				seterr(err, errlen, "--daemon takes no value");
				return -1;
			}
			out->daemon = 1;
			continue;
		}
		if ((k = key_find(keys, name, nlen)) == NULL) {
			seterr(err, errlen, "unknown option '--%.*s'",
			    (int)nlen, name);
			return -1;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (k->type == CONF_BOOL) {
			val = NULL;
			if (i + 1 < argc && bool_word(argv[i + 1], &b) == 0)
				val = argv[++i];
		} else if (i + 1 < argc)
			val = argv[++i];
		else {
			seterr(err, errlen, "--%s: missing value", k->name);
			return -1;
		}
		if (cli_seen == NULL)
			continue;
		if (k->type == CONF_STRLIST && !cli_seen[k - keys]) {
			cli_seen[k - keys] = 1;
			list_clear(FIELD(k, dst));
		}
		if (set_value(k, dst, val, "--", err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
conf_parse_args(const struct conf_key *keys, void *dst, int argc,
    char **argv, struct conf_cli *out, char *err, size_t errlen)
{
	unsigned char *cli_seen;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = scan_args(keys, dst, argc, argv, out, NULL, err,
	    errlen)) != 0) {
		out->usage = rc == -1;
		return rc == 1 ? 0 : -1;
	}
	if (out->config_file != NULL &&
	    conf_load(keys, dst, out->config_file, err, errlen) == -1)
		return -1;
	if ((cli_seen = calloc(key_count(keys) + 1, 1)) == NULL) {
		seterr(err, errlen, "%s", strerror(errno));
		return -1;
	}
	rc = scan_args(keys, dst, argc, argv, out, cli_seen, err, errlen);
	free(cli_seen);
	out->usage = rc == -1;
	return rc;
}

void
conf_usage(const struct conf_key *keys, const char *prog, FILE *fp)
{
	static const struct {
		const char	*opt, *help;
	} fixed[] = {
		{ "-f FILE", "read the configuration from FILE" },
		{ "-n", "check the configuration, then exit 0 or 1" },
		{ "-v", "with -n, also print the effective configuration" },
		{ "--daemon", "detach and run in the background" },
		{ "-h, --help", "show this help and exit" },
		{ "--version", "print the version and exit" },
	};
	static const char *const metas[] = { "FILE ", "DIR ", "HOST:PORT " };
	const struct conf_key *k;
	const char *meta, *help;
	char opt[128], def[300];
	size_t i;

	fprintf(fp, "usage: %s [-hnv] [--version] [--daemon] [-f FILE] "
	    "[--KEY VALUE ...]\n", prog);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		fprintf(fp, "  %-28s %s\n", fixed[i].opt, fixed[i].help);
	fprintf(fp, "Each key is \"KEY VALUE\" in FILE and --KEY VALUE or "
	    "--KEY=VALUE here;\na value given here overrides FILE's:\n");
	for (k = keys; k->name != NULL; k++) {
		if ((size_t)k->type >= NTYPES)
			continue;
		help = k->help != NULL ? k->help : "";
		meta = conf_types[k->type].meta;
		for (i = 0; i < sizeof(metas) / sizeof(metas[0]); i++)
			if (strncmp(help, metas[i], strlen(metas[i])) == 0) {
				meta = metas[i];
				help += strlen(metas[i]);
				break;
			}
		if (k->type == CONF_BOOL)
			snprintf(opt, sizeof(opt), "--%s[=yes|no]", k->name);
		else
			snprintf(opt, sizeof(opt), "--%s %.*s", k->name,
			    (int)strcspn(meta, " "), meta);
		def[0] = '\0';
		if (k->type == CONF_STRLIST) {
			if (strstr(help, "repeatable") == NULL)
				snprintf(def, sizeof(def), " (repeatable)");
		} else if (k->def != NULL)
			snprintf(def, sizeof(def), " [%s]", k->def);
		if (strlen(opt) > 28)
			fprintf(fp, "  %s\n  %-28s %s%s\n", opt, "", help,
			    def);
		else
			fprintf(fp, "  %-28s %s%s\n", opt, help, def);
	}
}

void
conf_dump(const struct conf_key *keys, const void *dst, FILE *fp)
{
	const struct conf_key *k;

	for (k = keys; k->name != NULL; k++)
		if ((size_t)k->type < NTYPES)
			conf_types[k->type].print(k, CFIELD(k, dst), fp);
}

void
conf_free(const struct conf_key *keys, void *dst)
{
	const struct conf_key *k;

	for (k = keys; k->name != NULL; k++)
		if ((size_t)k->type < NTYPES)
			conf_types[k->type].clear(FIELD(k, dst));
}

/*
 * The directory of a file a server will write (pid-file, port-file, the
 * store, the audit log) exists and is writable: -n says so before a start
 * fails on it.  0, or -1 with "KEY FILE: directory D ..." in err.
 */
int
conf_dir_writable(const char *key, const char *path, char *err,
    size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "%s %s: directory %s: %s", key, path, dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "%s %s: directory %s is %s", key, path,
		    dir, S_ISDIR(st.st_mode) ? "not writable" :
		    "not a directory");
		return -1;
	}
	return 0;
}
