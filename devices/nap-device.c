/*
 * nap-device.c - the device command line (DESIGN.md §9).
 *
 * Subcommands are dispatched through a table (tmux's cmd_entry).  This
 * file holds the ones that need no server: `check` runs the servers' own
 * envelope parser over files, `encode` writes an envelope (or a frame) to
 * standard output, e.g. to prepare a file for `send --raw`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"

struct cmd_entry {
	const char	*name;
	const char	*usage;
	int		(*run)(int, char **);
};

static int	cmd_check(int, char **);
static int	cmd_encode(int, char **);
static int	read_file(const char *, uint8_t **, size_t *, size_t);
static int	parse_u32(const char *, uint32_t *);
static void	usage(void);

static const struct cmd_entry cmds[] = {
	{ "check", "check FILE...", cmd_check },
	{ "encode", "encode --from CODE --to CODE --type T [--seq N] "
	    "[--session S] [--ack] [--ttl S] [--re N] [--via CODE]... "
	    "[--attr NAME=VALUE]... [--param XML | --file F] [--frame]",
	    cmd_encode },
};

static void
usage(void)
{
	fprintf(stderr, "usage:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  nap-device %s\n", cmds[i].usage);
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
    O_VIA, O_ATTR, O_PARAM, O_FILE, O_FRAME };

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

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)
		usage();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "nap-device: unknown command %s\n", argv[1]);
	usage();
	return 2;
}
