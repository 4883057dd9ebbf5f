/*
 * nap-device.c - the device command line (DESIGN.md §9).
 *
 * Subcommands are dispatched through a table (tmux's cmd_entry).  Two
 * need no server: `check` runs the servers' own envelope parser over
 * files, `encode` writes an envelope (or a frame) to standard output, e.g.
 * to prepare a file for `send --raw`.  The others log in through libnap
 * (nap.h): `login`, `send`, `listen`, `request`, `ping` and `serve`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "nap.h"

#ifndef NAP_VERSION
#define NAP_VERSION	"unknown"	/* the Makefile passes configure's */
#endif

struct cmd_entry {
	const char	*name;
	const char	*usage;
	int		(*run)(int, char **);
};

static int	cmd_check(int, char **);
static int	cmd_encode(int, char **);
static int	cmd_login(int, char **);
static int	cmd_send(int, char **);
static int	cmd_listen(int, char **);
static int	cmd_request(int, char **);
static int	cmd_ping(int, char **);
static int	cmd_serve(int, char **);
static int	read_file(const char *, uint8_t **, size_t *, size_t);
static int	parse_u32(const char *, uint32_t *);
static void	print_usage(FILE *);
static void	usage(void);

#define CONN_USAGE "CONN"

static const struct cmd_entry cmds[] = {
	{ "check", "check FILE...", cmd_check },
	{ "encode", "encode --from CODE --to CODE --type T [--seq N] "
	    "[--session S] [--ack] [--ttl S] [--re N] [--via CODE]... "
	    "[--attr NAME=VALUE]... [--param XML | --file F] [--frame]",
	    cmd_encode },
	{ "login", "login " CONN_USAGE, cmd_login },
	{ "send", "send --to CODE --type T [--param XML | --file F] [--ack] "
	    "[--wait-ack] [--ttl S] [--re N] [--count N] " CONN_USAGE "\n"
	    "  nap-device send --raw FILE " CONN_USAGE, cmd_send },
	{ "listen", "listen [--count N] [--xml] " CONN_USAGE, cmd_listen },
	{ "request", "request --to CODE --type T [--param XML | --file F] "
	    "[--ttl S] [--xml] " CONN_USAGE, cmd_request },
	{ "ping", "ping [--count N] [--interval MS] " CONN_USAGE, cmd_ping },
	{ "serve", "serve --type T [--count N] " CONN_USAGE, cmd_serve },
};

static void
print_usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  nap-device %s\n", cmds[i].usage);
	fprintf(f, "  nap-device -h | --help | --version\n");
	fprintf(f, "CONN: --server HOST:PORT --cert F --key F --ca F "
	    "[--crl F] [--code CODE]\n      [--expect CODE] [--timeout MS] "
	    "[-v] (NAP_SERVER, NAP_CERT, NAP_KEY, NAP_CA\n      and NAP_CRL "
	    "give defaults)\n");
}

/* Bad usage (§9: exit 2), the usage on stderr. */
static void
usage(void)
{
	print_usage(stderr);
	exit(2);
}

/*
 * Reads a whole file ("-" = standard input) into a malloc'd buffer the
 * caller frees.  Refuses more than max bytes: returns 1 (too large), 0 on
 * success, -1 on a read error (errno set).
 */
static int
read_file(const char *path, uint8_t **out, size_t *len, size_t max)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf = NULL, *nb;
	size_t n = 0, cap = 0, r;
	int rc = -1;

	if (f == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL)
				goto out;
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n > max) {
			rc = 1;
			goto out;
		}
		if (r == 0)
			break;
	}
	if (ferror(f))
		goto out;
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* §9: `FILE: ok` or `FILE: CODE reason`; exit 0 when all are valid. */
static int
cmd_check(int argc, char **argv)
{
	struct env_parser *p;
	struct env_header h;
	struct env_error err;
	uint8_t *buf;
	size_t len;
	int bad = 0, rc;

	if (argc < 2)
		usage();
	if ((p = env_parser_new(ENV_MAX_FRAME_LIMIT)) == NULL) {
		fprintf(stderr, "nap-device: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		rc = read_file(argv[i], &buf, &len, ENV_MAX_FRAME_LIMIT);
		if (rc == -1) {
			fprintf(stderr, "nap-device: %s: %s\n", argv[i],
			    strerror(errno));
			bad = 1;
			continue;
		}
		if (rc == 1) {
			printf("%s: 413 larger than %u bytes\n", argv[i],
			    ENV_MAX_FRAME_LIMIT);
			bad = 1;
			continue;
		}
		if (env_parse_header(p, buf, len, &h, &err) == 0)
			printf("%s: ok\n", argv[i]);
		else {
			printf("%s: %d %s\n", argv[i], err.code, err.reason);
			bad = 1;
		}
		free(buf);
	}
	env_parser_free(p);
	return bad;
}

/* A decimal 32-bit number: digits only (the §3 rule). */
static int
parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9' || strlen(s) > 10)
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

enum { O_FROM = 1, O_TO, O_TYPE, O_SEQ, O_SESSION, O_ACK, O_TTL, O_RE,
    O_VIA, O_ATTR, O_PARAM, O_FILE, O_FRAME,
    /* the commands that log in */
    O_SERVER, O_CERT, O_KEY, O_CA, O_CRL, O_CODE, O_EXPECT, O_TIMEOUT,
    O_VERBOSE, O_COUNT, O_XML, O_WAIT_ACK, O_RAW, O_INTERVAL };

static const struct option encode_opts[] = {
	{ "from", required_argument, NULL, O_FROM },
	{ "to", required_argument, NULL, O_TO },
	{ "type", required_argument, NULL, O_TYPE },
	{ "seq", required_argument, NULL, O_SEQ },
	{ "session", required_argument, NULL, O_SESSION },
	{ "ack", no_argument, NULL, O_ACK },
	{ "ttl", required_argument, NULL, O_TTL },
	{ "re", required_argument, NULL, O_RE },
	{ "via", required_argument, NULL, O_VIA },
	{ "attr", required_argument, NULL, O_ATTR },
	{ "param", required_argument, NULL, O_PARAM },
	{ "file", required_argument, NULL, O_FILE },
	{ "frame", no_argument, NULL, O_FRAME },
	{ NULL, 0, NULL, 0 },
};

/* The options of encode, gathered before the message is built. */
struct encode_args {
	uint32_t	 from, to, type, seq, ttl, re, via[ENV_MAX_VIA];
	int		 have, nvia, ack, has_ttl, has_re, frame;
	const char	*session, *param, *file;
	char		*attrs[16];
	int		 nattrs;
};

static int
encode_opt(struct encode_args *a, int c, const char *v)
{
	switch (c) {
	case O_FROM:
		a->have |= 1;
		return env_code_parse(v, strlen(v), &a->from);
	case O_TO:
		a->have |= 2;
		return env_code_parse(v, strlen(v), &a->to);
	case O_TYPE:
		a->have |= 4;
		return parse_u32(v, &a->type);
	case O_SEQ:
		return parse_u32(v, &a->seq);
	case O_SESSION:
		a->session = v;
		return 0;
	case O_ACK:
		a->ack = 1;
		return 0;
	case O_TTL:
		a->has_ttl = 1;
		return parse_u32(v, &a->ttl);
	case O_RE:
		a->has_re = 1;
		return parse_u32(v, &a->re);
	case O_VIA:
		if (a->nvia == ENV_MAX_VIA)
			return -1;
		return env_code_parse(v, strlen(v), &a->via[a->nvia++]);
	case O_ATTR:
		if (a->nattrs == 16 || strchr(v, '=') == NULL)
			return -1;
		a->attrs[a->nattrs++] = (char *)(uintptr_t)v;
		return 0;
	case O_PARAM:
		a->param = v;
		return 0;
	case O_FILE:
		a->file = v;
		return 0;
	case O_FRAME:
		a->frame = 1;
		return 0;
	}
	return -1;
}

static int
encode_build(struct encode_args *a, struct env_msg **out)
{
	struct env_error err;
	struct env_msg *m;
	uint8_t *fbuf = NULL;
	size_t flen = 0;
	int rc = 1;

	if ((m = env_msg_new(a->type, a->session, a->seq, a->from, a->to)) ==
	    NULL) {
		fprintf(stderr, "nap-device: bad --session (16 upper-case hex "
		    "digits or empty)\n");
		return 2;
	}
	env_msg_set_ack(m, a->ack);
	env_msg_set_ttl(m, a->has_ttl, a->ttl);
	env_msg_set_re(m, a->has_re, a->re);
	for (int i = 0; i < a->nvia; i++)
		(void)env_msg_add_via(m, a->via[i]);
	for (int i = 0; i < a->nattrs; i++) {
		char *eq = strchr(a->attrs[i], '=');

		*eq = '\0';
		if (env_msg_add_attr(m, a->attrs[i], eq + 1) == -1) {
			fprintf(stderr, "nap-device: bad --attr %s\n",
			    a->attrs[i]);
			goto out;
		}
	}
	if (a->file != NULL && read_file(a->file, &fbuf, &flen,
	    ENV_MAX_FRAME_LIMIT) != 0) {
		fprintf(stderr, "nap-device: %s: cannot read (or larger than "
		    "%u bytes)\n", a->file, ENV_MAX_FRAME_LIMIT);
		goto out;
	}
	if ((a->param != NULL || fbuf != NULL) && env_msg_set_parameters(m,
	    fbuf ? (const char *)fbuf : a->param, fbuf ? flen :
	    strlen(a->param), &err) == -1) {
		fprintf(stderr, "nap-device: parameters refused: %d %s\n",
		    err.code, err.reason);
		goto out;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	free(fbuf);
	env_msg_free(m);
	return rc;
}

static int
cmd_encode(int argc, char **argv)
{
	struct encode_args a;
	struct env_msg *m;
	uint8_t *buf;
	size_t len;
	int c, rc;

	memset(&a, 0, sizeof(a));
	a.seq = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", encode_opts, NULL)) != -1) {
		if (c == '?' || encode_opt(&a, c, optarg) == -1) {
			if (c != '?')
				fprintf(stderr, "nap-device: bad value for "
				    "--%s: %s\n", encode_opts[c - 1].name,
				    optarg ? optarg : "");
			usage();
		}
	}
	if (optind != argc || (a.have & 7) != 7 || (a.param && a.file))
		usage();
	if ((rc = encode_build(&a, &m)) != 0)
		return rc;
	if (env_serialize(m, a.frame, &buf, &len) == -1) {
		fprintf(stderr, "nap-device: out of memory\n");
		env_msg_free(m);
		return 1;
	}
	rc = fwrite(buf, 1, len, stdout) == len && (a.frame ||
	    putchar('\n') != EOF) && fflush(stdout) == 0 ? 0 : 1;
	if (rc)
		fprintf(stderr, "nap-device: write error: %s\n",
		    strerror(errno));
	free(buf);
	env_msg_free(m);
	return rc;
}

/* ---- the commands that log in (libnap) ------------------------------ */

#define DEF_TIMEOUT_MS	5000

/* What every command that logs in takes; NAP_* variables are defaults. */
struct conn_args {
	const char	*server, *cert, *key, *ca, *crl;
	uint32_t	 code, expect;
	bool		 has_code, has_expect;
	int		 timeout;	/* ms */
	int		 verbose;
};

/* Everything the commands below take; each command uses its part. */
struct net_args {
	struct conn_args c;
	uint32_t	 to, type, ttl, re, count, interval;
	bool		 has_to, has_type, has_ttl, has_re, has_count;
	bool		 ack, wait_ack, xml;
	const char	*param, *file, *raw;
};

#define CONN_OPTS							\
	{ "server", required_argument, NULL, O_SERVER },		\
	{ "cert", required_argument, NULL, O_CERT },			\
	{ "key", required_argument, NULL, O_KEY },			\
	{ "ca", required_argument, NULL, O_CA },			\
	{ "crl", required_argument, NULL, O_CRL },			\
	{ "code", required_argument, NULL, O_CODE },			\
	{ "expect", required_argument, NULL, O_EXPECT },		\
	{ "timeout", required_argument, NULL, O_TIMEOUT },		\
	{ "verbose", no_argument, NULL, O_VERBOSE }

static const struct option login_opts[] = { CONN_OPTS, { NULL, 0, NULL, 0 } };
static const struct option send_opts[] = {
	CONN_OPTS,
	{ "to", required_argument, NULL, O_TO },
	{ "type", required_argument, NULL, O_TYPE },
	{ "param", required_argument, NULL, O_PARAM },
	{ "file", required_argument, NULL, O_FILE },
	{ "ack", no_argument, NULL, O_ACK },
	{ "wait-ack", no_argument, NULL, O_WAIT_ACK },
	{ "ttl", required_argument, NULL, O_TTL },
	{ "re", required_argument, NULL, O_RE },
	{ "count", required_argument, NULL, O_COUNT },
	{ "raw", required_argument, NULL, O_RAW },
	{ NULL, 0, NULL, 0 },
};
static const struct option listen_opts[] = {
	CONN_OPTS,
	{ "count", required_argument, NULL, O_COUNT },
	{ "xml", no_argument, NULL, O_XML },
	{ NULL, 0, NULL, 0 },
};
static const struct option request_opts[] = {
	CONN_OPTS,
	{ "to", required_argument, NULL, O_TO },
	{ "type", required_argument, NULL, O_TYPE },
	{ "param", required_argument, NULL, O_PARAM },
	{ "file", required_argument, NULL, O_FILE },
	{ "ttl", required_argument, NULL, O_TTL },
	{ "xml", no_argument, NULL, O_XML },
	{ NULL, 0, NULL, 0 },
};
static const struct option ping_opts[] = {
	CONN_OPTS,
	{ "count", required_argument, NULL, O_COUNT },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ NULL, 0, NULL, 0 },
};
static const struct option serve_opts[] = {
	CONN_OPTS,
	{ "type", required_argument, NULL, O_TYPE },
	{ "count", required_argument, NULL, O_COUNT },
	{ NULL, 0, NULL, 0 },
};

static volatile sig_atomic_t stop_signal;

static int	net_opt(struct net_args *, int, const char *);
static void	net_parse(int, char **, const struct option *,
		    struct net_args *);
static const char *opt_name(const struct option *, int);
static int	open_nap(struct conn_args *, struct nap **);
static int	failed(struct nap *);
static void	log_stderr(struct nap *, enum nap_log_level, const char *,
		    void *);
static void	on_signal(int);
static void	catch_signals(void);
static void	print_msg(const struct nap_msg *, bool);
static int	load_params(struct net_args *, uint8_t **, size_t *);
static int	send_raw(struct nap *, struct net_args *);
static void	raw_receipt(struct nap *, const struct nap_receipt *, void *);
static void	listen_msg(struct nap *, const struct nap_msg *, void *);
static void	serve_msg(struct nap *, const struct nap_msg *, void *);

static const char *
opt_name(const struct option *opts, int c)
{
	for (; opts->name != NULL; opts++)
		if (opts->val == c)
			return opts->name;
	return "?";
}

/* Stores one option; -1 on a bad value. */
static int
net_opt(struct net_args *a, int c, const char *v)
{
	uint32_t t;

	switch (c) {
	case O_SERVER: a->c.server = v; return 0;
	case O_CERT: a->c.cert = v; return 0;
	case O_KEY: a->c.key = v; return 0;
	case O_CA: a->c.ca = v; return 0;
	case O_CRL: a->c.crl = v; return 0;
	case O_CODE:
		a->c.has_code = true;
		return env_code_parse(v, strlen(v), &a->c.code);
	case O_EXPECT:
		a->c.has_expect = true;
		return env_code_parse(v, strlen(v), &a->c.expect);
	case O_TIMEOUT:
		if (parse_u32(v, &t) == -1 || t == 0 || t > INT32_MAX)
			return -1;
		a->c.timeout = (int)t;
		return 0;
	case O_VERBOSE: a->c.verbose++; return 0;
	case O_TO:
		a->has_to = true;
		return env_code_parse(v, strlen(v), &a->to);
	case O_TYPE:
		a->has_type = true;
		return parse_u32(v, &a->type);
	case O_PARAM: a->param = v; return 0;
	case O_FILE: a->file = v; return 0;
	case O_ACK: a->ack = true; return 0;
	case O_WAIT_ACK: a->ack = a->wait_ack = true; return 0;
	case O_TTL:
		a->has_ttl = true;
		return parse_u32(v, &a->ttl);
	case O_RE:
		a->has_re = true;
		return parse_u32(v, &a->re);
	case O_COUNT:
		a->has_count = true;
		return parse_u32(v, &a->count) == -1 || a->count == 0 ? -1 : 0;
	case O_INTERVAL:
		return parse_u32(v, &a->interval);
	case O_XML: a->xml = true; return 0;
	case O_RAW: a->raw = v; return 0;
	}
	return -1;
}

static void
net_parse(int argc, char **argv, const struct option *opts,
    struct net_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->c.server = getenv("NAP_SERVER");
	a->c.cert = getenv("NAP_CERT");
	a->c.key = getenv("NAP_KEY");
	a->c.ca = getenv("NAP_CA");
	a->c.crl = getenv("NAP_CRL");
	a->c.timeout = DEF_TIMEOUT_MS;
	a->count = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c == 'v')
			c = O_VERBOSE;
		if (c == '?')
			usage();
		if (net_opt(a, c, optarg) == -1) {
			fprintf(stderr, "nap-device: bad value for --%s: %s\n",
			    opt_name(opts, c), optarg ? optarg : "");
			usage();
		}
	}
	if (optind != argc) {
		fprintf(stderr, "nap-device: unexpected argument %s\n",
		    argv[optind]);
		usage();
	}
	{
		const char *const have[] = { a->c.server, a->c.cert, a->c.key,
		    a->c.ca };
		const char *const opt[] = { "server", "cert", "key", "ca" };
		const char *const env[] = { "NAP_SERVER", "NAP_CERT",
		    "NAP_KEY", "NAP_CA" };

		for (size_t i = 0; i < 4; i++)
			if (have[i] == NULL) {
				fprintf(stderr, "nap-device: missing --%s (or "
				    "%s)\n", opt[i], env[i]);
				exit(2);
			}
	}
	if (a->param != NULL && a->file != NULL) {
		fprintf(stderr, "nap-device: --param and --file exclude each "
		    "other\n");
		usage();
	}
}

static void
log_stderr(struct nap *n, enum nap_log_level lvl, const char *line,
    void *arg)
{
	static const char *const names[] = { "error", "warning", "info",
	    "debug" };

	(void)n;
	(void)arg;
	fprintf(stderr, "nap-device: %s: %s\n", names[lvl], line);
}

/* One line naming what failed; exit status 1. */
static int
failed(struct nap *n)
{
	fprintf(stderr, "nap-device: %s\n", nap_errmsg(n));
	return 1;
}

/* A handle configured from the options, not connected.  0, or 1 with
 * the error printed. */
static int
open_nap(struct conn_args *c, struct nap **out)
{
	struct nap *n;

	if ((n = nap_new()) == NULL) {
		fprintf(stderr, "nap-device: out of memory\n");
		return 1;
	}
	if (c->verbose)
		nap_set_log_cb(n, log_stderr, c->verbose > 1 ? NAP_LOG_DEBUG :
		    NAP_LOG_INFO, NULL);
	if (nap_set_client(n, "nap-device", "0.1") != 0 ||
	    nap_set_server_str(n, c->server) != 0 ||
	    (c->has_code && nap_set_code(n, c->code) != 0) ||
	    nap_set_tls(n, c->cert, c->key, c->ca, c->crl) != 0 ||
	    (c->has_expect && nap_set_expect(n, c->expect) != 0) ||
	    nap_set_connect_timeout(n, (unsigned)c->timeout) != 0) {
		failed(n);
		nap_free(n);
		return 1;
	}
	*out = n;
	return 0;
}

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* SIGINT/SIGTERM end listen and serve after a Logout. */
static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * One line: TYPE FROM TO SEQ PARAMETERS ("-" for none; line breaks in the
 * parameters become spaces), or the whole envelope with xml.
 */
static void
print_msg(const struct nap_msg *m, bool xml)
{
	const char *p;
	char from[9], to[9];
	size_t len;

	if (xml) {
		p = (const char *)nap_msg_raw(m, &len);
	} else {
		printf("%u %s %s %u ", nap_msg_type(m),
		    nap_code_format(nap_msg_from(m), from),
		    nap_code_format(nap_msg_to(m), to), nap_msg_seq(m));
		if ((p = nap_msg_parameters(m, &len)) == NULL) {
			p = "-";
			len = 1;
		}
	}
	for (size_t i = 0; i < len; i++)
		putchar(!xml && (p[i] == '\n' || p[i] == '\r') ? ' ' : p[i]);
	putchar('\n');
	fflush(stdout);
}

/* --param or --file: the content of <parameters>, or none. */
static int
load_params(struct net_args *a, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (a->param != NULL) {
		if ((*buf = (uint8_t *)strdup(a->param)) == NULL)
			return -1;
		*len = strlen(a->param);
	} else if (a->file != NULL && read_file(a->file, buf, len,
	    ENV_MAX_FRAME_LIMIT) != 0) {
		fprintf(stderr, "nap-device: %s: cannot read (or larger than "
		    "%u bytes)\n", a->file, ENV_MAX_FRAME_LIMIT);
		return -1;
	}
	return 0;
}

/* §9 login: connect, log in, print the session figures, log out. */
static int
cmd_login(int argc, char **argv)
{
	struct net_args a;
	struct nap *n;
	unsigned iv, to;
	char code[9], srv[9];
	int rc;

	net_parse(argc, argv, login_opts, &a);
	if (open_nap(&a.c, &n) != 0)
		return 1;
	if (nap_connect(n) != 0) {
		rc = failed(n);
		nap_free(n);
		return rc;
	}
	nap_heartbeat(n, &iv, &to);
	printf("logged in: code %s server %s session %s heartbeat %u "
	    "timeout %u\n", nap_code_format(nap_code(n), code),
	    nap_code_format(nap_server_code(n), srv), nap_session(n), iv, to);
	fflush(stdout);
	rc = nap_close(n, a.c.timeout) == 0 ? 0 : failed(n);
	nap_free(n);
	return rc;
}

/* What `send` tracks of the messages it sent. */
struct send_state {
	uint32_t	*seqs;		/* in sending order */
	uint8_t		*got;		/* 0 none, 1 stored, 2 final */
	size_t		 n;
	size_t		 pending;	/* without the receipt awaited */
	size_t		 errors;
	bool		 wait_delivered;
	bool		 print;
	char		 session[17];	/* the one the messages went in */
};

/*
 * Without --ack a send learns of a refusal only by the Error (§4): the
 * server answers most on the link before the CheckReply, but one that
 * goes by the device's store (a login that waits for its previous
 * link's messages, §5) comes later.  After the CheckReply the send waits
 * until the link has been quiet this long (within --timeout).
 */
#define SEND_QUIET_MS	500

static long	send_find(const struct send_state *, uint32_t);
static bool	send_ours(struct nap *, const struct send_state *,
		    const struct nap_receipt *, long);
static void	send_receipt(struct nap *, const struct nap_receipt *,
		    void *);
static int	send_settle(struct nap *, struct send_state *, int);

/* The index of seq among those sent (Seq grows, maybe wrapping). */
static long
send_find(const struct send_state *st, uint32_t seq)
{
	size_t lo = 0, hi = st->n;
	uint32_t off = seq - st->seqs[0];

	if (st->n == 0)
		return -1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t o = st->seqs[mid] - st->seqs[0];

		if (o == off)
			return (long)mid;
		if (o < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* A receipt for a message of this run: its Seq, in its session. */
static bool
send_ours(struct nap *n, const struct send_state *st,
    const struct nap_receipt *r, long i)
{
	if (i < 0)
		return false;
	return *r->session == '\0' || strcmp(r->session, st->session) == 0 ||
	    strcmp(r->session, nap_session(n)) == 0;
}

/*
 * Runs the handle until every message has its Error (nothing more to
 * learn) or the link was quiet for SEND_QUIET_MS, within timeout_ms.
 * 0, or the error that ended the session.
 */
static int
send_settle(struct nap *n, struct send_state *st, int timeout_ms)
{
	struct nap_stats ns;
	uint64_t seen;
	int quiet = 0, r;

	nap_get_stats(n, &ns);
	seen = ns.msgs_in;
	while (st->pending > 0 && quiet < SEND_QUIET_MS && timeout_ms > 0) {
		if ((r = nap_run(n, 50)) != 0)
			return r;
		timeout_ms -= 50;
		nap_get_stats(n, &ns);
		quiet = ns.msgs_in == seen ? quiet + 50 : 0;
		seen = ns.msgs_in;
	}
	return 0;
}

static void
send_receipt(struct nap *n, const struct nap_receipt *r, void *arg)
{
	struct send_state *st = arg;
	long i = send_find(st, r->seq);
	char to[9];
	uint8_t was;
	bool same;

	/* Receipts of earlier runs, stored for this device while it was
	 * away, are not this send's: confirmed (libnap does) and not told. */
	if (!send_ours(n, st, r, i))
		return;
	nap_code_format(r->to, to);
	if (r->status == NAP_RCPT_ERROR) {
		st->errors++;
		same = *r->text == '\0' ||
		    strcmp(r->text, nap_strerror(r->code)) == 0;
		fprintf(stderr, "nap-device: %s %s (%d)%s%s\n",
		    nap_strerror(r->code), to, r->code, same ? "" : ": ",
		    same ? "" : r->text);
	} else if (st->print)
		printf("ack %u %s %s\n", r->seq, to,
		    r->status == NAP_RCPT_STORED ? "stored" :
		    r->status == NAP_RCPT_DELIVERED ? "delivered" : "unknown");
	fflush(stdout);
	if (i < 0)
		return;
	was = st->got[i];
	if (r->status == NAP_RCPT_STORED && !st->wait_delivered)
		st->got[i] = 2;
	else if (r->status != NAP_RCPT_STORED)
		st->got[i] = 2;
	else if (was == 0)
		st->got[i] = 1;
	if (was != 2 && st->got[i] == 2 && st->pending > 0)
		st->pending--;
}

/*
 * §9 send: count messages, then (with --ack) the receipts, or a Check
 * round trip that lets an immediate Error (404, 403...) come back.
 */
static int
cmd_send(int argc, char **argv)
{
	struct net_args a;
	struct send_state st;
	struct nap_out o;
	struct nap *n = NULL;
	uint8_t *params = NULL;
	int64_t deadline;
	int rc = 1, r;

	net_parse(argc, argv, send_opts, &a);
	if (a.raw == NULL && (!a.has_to || !a.has_type)) {
		fprintf(stderr, "nap-device: send needs --to and --type, or "
		    "--raw FILE\n");
		usage();
	}
	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	if (a.raw == NULL && load_params(&a, &params, &o.len) == -1)
		return 1;
	if (open_nap(&a.c, &n) != 0)
		goto out;
	if (nap_connect(n) != 0) {
		rc = failed(n);
		goto out;
	}
	if (a.raw != NULL) {
		rc = send_raw(n, &a);
		goto out;
	}
	if ((st.seqs = calloc(a.count, sizeof(*st.seqs))) == NULL ||
	    (st.got = calloc(a.count, 1)) == NULL) {
		fprintf(stderr, "nap-device: out of memory\n");
		goto out;
	}
	st.wait_delivered = a.wait_ack;
	st.print = a.ack;
	snprintf(st.session, sizeof(st.session), "%s", nap_session(n));
	nap_set_receipt_cb(n, send_receipt, &st);
	o.type = a.type;
	o.to = a.to;
	o.params = (const char *)params;
	o.flags = (a.ack ? NAP_ACK : 0) | (a.has_ttl ? NAP_TTL : 0) |
	    (a.has_re ? NAP_RE : 0);
	o.ttl = a.ttl;
	o.re = a.re;
	for (uint32_t i = 0; i < a.count; i++) {
		while ((r = nap_send_ex(n, &o, &st.seqs[i])) == NAP_E_AGAIN)
			if ((r = nap_run(n, 50)) != 0)
				break;
		if (r != 0) {
			rc = failed(n);
			goto out;
		}
		st.n++;
		st.pending++;
	}
	if (nap_flush(n, a.c.timeout) != 0) {
		rc = failed(n);
		goto out;
	}
	if (a.count == 1)
		printf("sent seq %u\n", st.seqs[0]);
	else
		printf("sent %u messages, seq %u..%u\n", a.count, st.seqs[0],
		    st.seqs[st.n - 1]);
	fflush(stdout);
	if (a.ack) {
		deadline = a.c.timeout;
		while (st.pending > 0 && deadline > 0) {
			if (nap_run(n, 50) != 0) {
				rc = failed(n);
				goto out;
			}
			deadline -= 50;
		}
		if (st.pending > 0) {
			fprintf(stderr, "nap-device: no %sreceipt for %zu "
			    "message(s) within %d ms\n", a.wait_ack ?
			    "delivery " : "", st.pending, a.c.timeout);
			st.errors++;
		}
	} else if (((r = nap_ping(n, a.c.timeout, NULL)) != 0 &&
	    r != NAP_E_TIMEOUT) || send_settle(n, &st, a.c.timeout) != 0) {
		rc = failed(n);
		goto out;
	}
	r = nap_close(n, a.c.timeout);
	rc = st.errors != 0 ? 1 : r != 0 ? failed(n) : 0;
out:
	nap_free(n);
	free(params);
	free(st.seqs);
	free(st.got);
	return rc;
}

/* Errors the server answered to a raw frame. */
static void
raw_receipt(struct nap *n, const struct nap_receipt *r, void *arg)
{
	size_t *errors = arg;

	(void)n;
	if (r->status != NAP_RCPT_ERROR)
		return;
	(*errors)++;
	fprintf(stderr, "nap-device: refused: %d %s (seq %u)\n", r->code,
	    *r->text ? r->text : nap_strerror(r->code), r->seq);
}

/*
 * send --raw: the file's bytes as one frame body, verbatim (a file that
 * is already a frame, as `encode --frame` writes, is sent as that frame).
 * Exit 1 when the server answered an Error within --timeout.
 */
static int
send_raw(struct nap *n, struct net_args *a)
{
	uint8_t *buf;
	size_t len, errors = 0;
	uint32_t l;
	int r, rc;

	if ((r = read_file(a->raw, &buf, &len, ENV_MAX_FRAME_LIMIT + 4)) != 0) {
		fprintf(stderr, "nap-device: %s: %s\n", a->raw, r == 1 ?
		    "too large" : strerror(errno));
		return 1;
	}
	nap_set_receipt_cb(n, raw_receipt, &errors);
	if (len >= 4 && (l = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3]) == len - 4 && buf[0] != '<')
		r = nap_send_raw(n, buf + 4, len - 4);
	else
		r = nap_send_raw(n, buf, len);
	free(buf);
	if (r != 0)
		return failed(n);
	/* Written first, then a Check: its answer comes after any answer
	 * to the raw frame. */
	if ((r = nap_flush(n, a->c.timeout)) == 0)
		r = nap_ping(n, a->c.timeout, NULL);
	if (errors == 0 && r == 0)
		printf("sent %zu bytes, no error\n", len);
	fflush(stdout);
	if (r != 0 && r != NAP_E_TIMEOUT && errors == 0)
		return failed(n);
	rc = errors != 0 ? 1 : 0;
	(void)nap_close(n, a->c.timeout);
	return rc;
}

/* What listen and serve count. */
struct recv_state {
	struct net_args	*a;
	uint32_t	 seen;
	uint32_t	 served;
	int		 err;
};

static int	run_until(struct nap *, struct recv_state *,
		    const uint32_t *);

static void
listen_msg(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct recv_state *st = arg;

	print_msg(m, st->a->xml);
	if (++st->seen >= st->a->count && st->a->has_count)
		nap_break(n);
}

/* Runs until --count is reached, a signal, or the session ends. */
static int
run_until(struct nap *n, struct recv_state *st, const uint32_t *counter)
{
	int r;

	catch_signals();
	while (stop_signal == 0 && (!st->a->has_count ||
	    *counter < st->a->count))
		if ((r = nap_run(n, 250)) != 0)
			return failed(n);
	if (nap_close(n, st->a->c.timeout) != 0)
		return failed(n);
	return 0;
}

/* §9 listen: print and confirm everything received. */
static int
cmd_listen(int argc, char **argv)
{
	struct net_args a;
	struct recv_state st = { .a = &a };
	struct nap *n;
	int rc;

	net_parse(argc, argv, listen_opts, &a);
	if (open_nap(&a.c, &n) != 0)
		return 1;
	nap_set_msg_cb(n, listen_msg, &st);
	(void)nap_set_reconnect(n, true, 0, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (nap_connect(n) != 0)
		rc = failed(n);
	else
		rc = run_until(n, &st, &st.seen);
	nap_free(n);
	return rc;
}

/* §9 request: send, wait for the reply matched by Re, print it. */
static int
cmd_request(int argc, char **argv)
{
	struct net_args a;
	struct nap_out o;
	struct nap_msg *reply = NULL;
	struct nap *n = NULL;
	uint8_t *params = NULL;
	int rc = 1;

	net_parse(argc, argv, request_opts, &a);
	if (!a.has_to || !a.has_type) {
		fprintf(stderr, "nap-device: request needs --to and --type\n");
		usage();
	}
	memset(&o, 0, sizeof(o));
	if (load_params(&a, &params, &o.len) == -1)
		return 1;
	if (open_nap(&a.c, &n) != 0)
		goto out;
	if (nap_connect(n) != 0) {
		rc = failed(n);
		goto out;
	}
	o.type = a.type;
	o.to = a.to;
	o.params = (const char *)params;
	o.flags = a.has_ttl ? NAP_TTL : 0;
	o.ttl = a.ttl;
	if (nap_request_ex(n, &o, a.c.timeout, &reply) != 0) {
		rc = failed(n);
		(void)nap_close(n, a.c.timeout);
		goto out;
	}
	print_msg(reply, a.xml);
	rc = nap_close(n, a.c.timeout) == 0 ? 0 : failed(n);
out:
	nap_msg_free(reply);
	nap_free(n);
	free(params);
	return rc;
}

/* Check round trips (§4 types 3 and 4), like ping(8). */
static int
cmd_ping(int argc, char **argv)
{
	struct net_args a;
	struct nap *n;
	uint64_t rtt, min = UINT64_MAX, max = 0, sum = 0;
	uint32_t ok = 0;
	int r, rc = 0;

	net_parse(argc, argv, ping_opts, &a);
	if (!a.has_count)
		a.count = 4;
	if (open_nap(&a.c, &n) != 0)
		return 1;
	if (nap_connect(n) != 0) {
		rc = failed(n);
		nap_free(n);
		return rc;
	}
	catch_signals();
	for (uint32_t i = 0; i < a.count && stop_signal == 0; i++) {
		if (i > 0 && a.interval > 0 && nap_run(n, (int)a.interval) !=
		    0) {
			rc = failed(n);
			break;
		}
		if ((r = nap_ping(n, a.c.timeout, &rtt)) == 0) {
			ok++;
			sum += rtt;
			min = rtt < min ? rtt : min;
			max = rtt > max ? rtt : max;
			printf("check %u: rtt %.3f ms\n", i + 1,
			    (double)rtt / 1000.0);
		} else if (r == NAP_E_TIMEOUT)
			printf("check %u: no reply within %d ms\n", i + 1,
			    a.c.timeout);
		else {
			rc = failed(n);
			break;
		}
		fflush(stdout);
	}
	if (ok > 0)
		printf("%u sent, %u answered, rtt min/avg/max = "
		    "%.3f/%.3f/%.3f ms\n", a.count, ok, (double)min / 1000.0,
		    (double)sum / 1000.0 / ok, (double)max / 1000.0);
	else
		printf("%u sent, 0 answered\n", a.count);
	if (ok < a.count && rc == 0)
		rc = 1;
	if (nap_close(n, a.c.timeout) != 0 && rc == 0)
		rc = failed(n);
	nap_free(n);
	return rc;
}

/* A request of the served type: reply with its parameters. */
static void
serve_msg(struct nap *n, const struct nap_msg *m, void *arg)
{
	struct recv_state *st = arg;
	const char *p;
	char from[9];
	size_t len;
	uint32_t seq;

	/* A message with Re is itself a reply: never answer it. */
	if (nap_msg_type(m) != st->a->type || nap_msg_re(m, NULL))
		return;
	p = nap_msg_content(m, &len);
	if (nap_reply(n, m, p, len, 0, &seq) != 0) {
		fprintf(stderr, "nap-device: cannot reply to seq %u: %s\n",
		    nap_msg_seq(m), nap_errmsg(n));
		return;
	}
	printf("served %u from %s seq %u: reply seq %u\n", nap_msg_type(m),
	    nap_code_format(nap_msg_from(m), from), nap_msg_seq(m), seq);
	if (++st->served >= st->a->count && st->a->has_count)
		nap_break(n);
}

/* §9 serve: answer every request of one type (a demo function server). */
static int
cmd_serve(int argc, char **argv)
{
	struct net_args a;
	struct recv_state st = { .a = &a };
	struct nap *n;
	int rc;

	net_parse(argc, argv, serve_opts, &a);
	if (!a.has_type || a.type < 8) {
		fprintf(stderr, "nap-device: serve needs --type T (T >= 8)\n");
		usage();
	}
	if (open_nap(&a.c, &n) != 0)
		return 1;
	nap_set_msg_cb(n, serve_msg, &st);
	(void)nap_set_reconnect(n, true, 0, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (nap_connect(n) != 0)
		rc = failed(n);
	else {
		rc = run_until(n, &st, &st.served);
		/* The last replies go out before the Logout. */
	}
	nap_free(n);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("nap-device %s\n", NAP_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "nap-device: unknown command %s\n", argv[1]);
	usage();
	return 2;
}
