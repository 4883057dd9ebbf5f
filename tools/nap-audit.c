/*
 * nap-audit.c - the audit log tool (DESIGN.md §8, §9): cat, grep,
 * follow, stats, verify and trace over the logs the servers write
 * (common/audit.c).  Subcommands are dispatched through a table, options
 * are parsed once for the whole line and each command says which ones
 * it takes (the shape of nap-ctl).
 *
 * Every command streams: one bounded line buffer per file.  At the end
 * each says on stderr how many records it read and skipped (-q: not).
 * Exit status: 0 success, 1 refused or failed (verify: a broken chain),
 * 2 bad usage.  Every error is one line on stderr, "nap-audit: ...".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_tool.h"
#include "boot.h"		/* NAP_VERSION */
#include "envelope.h"

static const struct option long_opts[] = {
	{ "code", required_argument, NULL, O_CODE },
	{ "from", required_argument, NULL, O_FROM },
	{ "to", required_argument, NULL, O_TO },
	{ "region", required_argument, NULL, O_REGION },
	{ "type", required_argument, NULL, O_TYPE },
	{ "verdict", required_argument, NULL, O_VERDICT },
	{ "since", required_argument, NULL, O_SINCE },
	{ "until", required_argument, NULL, O_UNTIL },
	{ "text", required_argument, NULL, O_TEXT },
	{ "session", required_argument, NULL, O_SESSION },
	{ "seq", required_argument, NULL, O_SEQ },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "key", required_argument, NULL, O_KEY },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ "all", no_argument, NULL, O_ALL },
	{ "max-line", required_argument, NULL, O_MAXLINE },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* after "nap-audit " */
	unsigned	 opts;		/* options it takes */
	int		 minargs, maxargs;	/* LOGs; -1: any number */
	int		(*exec)(struct opts *, int, char **);
};

static int	cmd_cat(struct opts *, int, char **);
static int	cmd_grep(struct opts *, int, char **);
static int	cmd_follow(struct opts *, int, char **);
static int	cmd_stats(struct opts *, int, char **);

#define COMMON	(O_MAXLINE | O_QUIET)
static const struct cmd_entry cmds[] = {
	{ "cat", "cat [FILTERS] [--format F] LOG...",
	    O_FILTERS | O_FORMAT | COMMON, 1, -1, cmd_cat },
	{ "grep", "grep FILTERS [--format F] LOG...",
	    O_FILTERS | O_FORMAT | COMMON, 1, -1, cmd_grep },
	{ "follow", "follow [FILTERS] [--format F] [--interval MS] [--all] "
	    "LOG", O_FILTERS | O_FORMAT | O_INTERVAL | O_ALL | COMMON, 1, 1,
	    cmd_follow },
	{ "stats", "stats [FILTERS] LOG...", O_FILTERS | COMMON, 1, -1,
	    cmd_stats },
	{ "verify", "verify [--key FILE] LOG...", O_KEY | COMMON, 1, -1,
	    cmd_verify },
	{ "trace", "trace --from CODE --seq N [--session S] LOG...",
	    O_FROM | O_SEQ | O_SESSION | COMMON, 1, -1, cmd_trace },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static volatile sig_atomic_t stop_signal;

static void
usage(FILE *f)
{
	fputs("usage:\n", f);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  nap-audit %s\n", cmds[i].usage);
	fputs("FILTERS: --code C (From or To) --from C --to C --region RRRR\n"
	    "  --type RANGES --verdict V[,V] --since T --until T --text STR\n"
	    "  --session S   (T: ISO-8601 UTC or unix seconds)\n"
	    "--format table|record|xml|json   --max-line SIZE   -q\n"
	    "see nap-audit(1)\n", f);
}

static const char *
opt_name(unsigned bit)
{
	for (const struct option *o = long_opts; o->name != NULL; o++)
		if ((unsigned)o->val == bit)
			return o->name;
	return "?";
}

/* ---- option values ------------------------------------------------------- */

/* Unix seconds, or YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z], UTC. */
static int
parse_when(const char *s, int64_t *us)
{
	char norm[AUDIT_TIME_LEN + 1] = "0000-00-00T00:00:00.000000Z";
	size_t n = strlen(s);
	char *end;

	if (n > 0 && strspn(s, "0123456789") == n && n <= 12) {
		*us = strtoll(s, &end, 10) * 1000000;
		return 0;
	}
	if (n > 0 && s[n - 1] == 'Z')
		n--;
	if (n != 10 && n != 16 && n != 19 && (n < 21 || n > 26))
		return -1;
	memcpy(norm, s, n);	/* the rest of the layout is checked below */
	return audit_time_parse(norm, AUDIT_TIME_LEN, us);
}

/* A decimal number at s; *end is past it.  0 or -1. */
static int
parse_ull(const char *s, unsigned long long *v, char **end)
{
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno != 0 || *end == s || *s == '-' ? -1 : 0;
}

static int
parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (parse_ull(s, &v, &end) == -1)
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end != '\0' || v < 1024 || v > (1ull << 30))
		return -1;
	*out = (size_t)v;
	return 0;
}

static int
parse_verdicts(const char *s, char *out, size_t len)
{
	static const char *const names[] = { "routed", "delivered", "stored",
	    "confirmed", "expired", "refused" };
	const char *p = s;

	if (strlen(s) + 3 > len)
		return -1;
	snprintf(out, len, ",%s,", s);
	while (*p != '\0') {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < 6; i++)
			if (strlen(names[i]) == n && strncmp(p, names[i], n) == 0)
				break;
		if (i == 6)
			return -1;
		p += n + (p[n] == ',');
	}
	return 0;
}

static int
parse_u32_opt(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (parse_ull(s, &v, &end) == -1 || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* One option's value into o.  0, or -1 with the message printed. */
static int
set_opt(struct opts *o, int ch, const char *v)
{
	static const char *const fmts[] = { "table", "record", "xml", "json" };
	uint32_t x;
	char err[256];
	int bad = 0;

	switch (ch) {
	case O_CODE: bad = env_code_parse(v, strlen(v), &o->code); break;
	case O_FROM: bad = env_code_parse(v, strlen(v), &o->from); break;
	case O_TO: bad = env_code_parse(v, strlen(v), &o->to); break;
	case O_REGION:
		bad = strlen(v) != 4 || strspn(v, "0123456789abcdefABCDEF") != 4;
		o->region = (uint16_t)strtoul(v, NULL, 16);
		break;
	case O_TYPE:
		if (audit_ranges_parse(v, &o->types, err, sizeof(err)) == -1)
			return failx(EXIT_USAGE, "--type: %s", err), -1;
		break;
	case O_VERDICT:
		bad = parse_verdicts(v, o->verdict, sizeof(o->verdict));
		break;
	case O_SINCE: bad = parse_when(v, &o->since); break;
	case O_UNTIL: bad = parse_when(v, &o->until); break;
	case O_TEXT: o->text = v; bad = *v == '\0'; break;
	case O_SESSION: o->session = v; break;
	case O_SEQ: bad = parse_u32_opt(v, &o->seq); break;
	case O_KEY: o->key = v; break;
	case O_INTERVAL:
		bad = parse_u32_opt(v, &x) || x < 10 || x > 10000;
		o->interval_ms = (long)x;
		break;
	case O_MAXLINE: bad = parse_size(v, &o->max_line); break;
	case O_FORMAT:
		for (x = 0; x < 4 && strcmp(v, fmts[x]) != 0; x++)
			;
		bad = x == 4;
		o->format = (enum out_format)x;
		break;
	}
	if (bad)
		return failx(EXIT_USAGE, "--%s: bad value '%s' (see "
		    "nap-audit(1))", opt_name((unsigned)ch), v), -1;
	return 0;
}

/* ---- cat, grep, stats ------------------------------------------------------ */

static int
on_cat(const struct view *v, void *arg)
{
	const struct opts *o = arg;

	if (view_match(o, v))
		print_record(o, v);
	return ferror(stdout) ? failx(EXIT_FAIL, "writing the output: %s",
	    strerror(errno)) : 0;
}

static int
cmd_cat(struct opts *o, int argc, char **argv)
{
	struct tally t = { 0, 0 };
	int rc = each_record(o, argc, argv, &t, on_cat, o);

	if (rc == 0)
		tally_print(o, &t);
	return rc;
}

static int
cmd_grep(struct opts *o, int argc, char **argv)
{
	if ((o->given & O_FILTERS) == 0)
		return failx(EXIT_USAGE, "grep needs a filter (or use cat)");
	return cmd_cat(o, argc, argv);
}

struct stats_arg {
	const struct opts	*o;
	struct stats		*s;
};

static int
on_stats(const struct view *v, void *arg)
{
	struct stats_arg *sa = arg;

	if (view_match(sa->o, v))
		stats_add(sa->s, v);
	return 0;
}

static int
cmd_stats(struct opts *o, int argc, char **argv)
{
	struct tally t = { 0, 0 };
	struct stats_arg sa = { o, stats_new() };
	int rc;

	if (sa.s == NULL)
		return failx(EXIT_FAIL, "no memory");
	if ((rc = each_record(o, argc, argv, &t, on_stats, &sa)) == 0)
		stats_print(sa.s, stdout);
	stats_free(sa.s);
	if (rc == 0)
		tally_print(o, &t);
	return rc;
}

/* ---- follow ------------------------------------------------------------------ */

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* The log was rotated (or recreated) since fd was opened. */
static bool
replaced(const char *path, int fd)
{
	struct stat a, b;

	if (stat(path, &a) == -1 || fstat(fd, &b) == -1)
		return false;	/* between rotation's unlink and create */
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev ||
	    a.st_size < b.st_size;
}

/* The n of the <file> record on line 1 of the open log, or 0. */
static uint32_t
file_number(int fd)
{
	uint8_t buf[4096];
	ssize_t len = pread(fd, buf, sizeof(buf), 0);
	uint8_t *nl;
	struct view v;
	const char *why;
	uint32_t n;

	if (len <= 0 || (nl = memchr(buf, '\n', (size_t)len)) == NULL ||
	    view_parse(&v, buf, (size_t)(nl - buf), &why) == -1 ||
	    v.r.kind != AREC_FILE || audit_rec_u32(&v.r, "n", &n) == -1)
		return 0;
	return n;
}

/* The file that follows the one numbered n: path.(n+1) if the writer
 * already rotated past it, else path itself (nap-audit(1), FORMAT).
 * name (4096 bytes) holds its name while it is read. */
static int
follow_next(struct reader *rd, const char *path, const struct opts *o,
    char *name, uint32_t *n, bool *rotated)
{
	reader_close(rd);
	snprintf(name, 4096, "%s.%06u", path, *n + 1);
	*rotated = *n > 0 && access(name, F_OK) == 0;
	if (!*rotated)
		snprintf(name, 4096, "%s", path);
	if (reader_open(rd, name, o->max_line, true) == -1)
		return failx(EXIT_FAIL, "%s: %s", name, strerror(errno));
	*n = file_number(rd->fd);
	return 0;
}

/*
 * tail -f across rotation: when the log is replaced, the rest of the old
 * file is read, then every file rotated since, in order, then the new
 * log; so no record is missed however fast the writer rotates.
 */
static int
follow_loop(struct opts *o, const char *path, struct reader *rd,
    struct tally *t)
{
	struct timespec nap = { o->interval_ms / 1000,
	    (o->interval_ms % 1000) * 1000000L };
	uint32_t n = 0;
	bool rotated = false;
	char name[4096];
	int rc = 0;

	while (rc == 0 && !stop_signal) {
		if ((rc = read_lines(rd, t, on_cat, o)) != 0)
			break;
		fflush(stdout);
		if (rotated || replaced(path, rd->fd)) {
			if (!rotated && (rc = read_lines(rd, t, on_cat, o)) != 0)
				break;
			/* Read now: a new log may be empty when opened. */
			n = file_number(rd->fd);
			rc = follow_next(rd, path, o, name, &n, &rotated);
			continue;
		}
		nanosleep(&nap, NULL);
	}
	return rc;
}

static int
cmd_follow(struct opts *o, int argc, char **argv)
{
	struct sigaction sa;
	struct tally t = { 0, 0 };
	struct reader rd;
	int rc = 0;

	(void)argc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: wake from sleep */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (reader_open(&rd, argv[0], o->max_line, true) == -1)
		return failx(EXIT_FAIL, "%s: %s", argv[0], strerror(errno));
	if (!(o->given & O_ALL) && lseek(rd.fd, 0, SEEK_END) == -1)
		rc = failx(EXIT_FAIL, "%s: %s", argv[0], strerror(errno));
	if (rc == 0)
		rc = follow_loop(o, argv[0], &rd, &t);
	reader_close(&rd);
	fflush(stdout);
	if (rc == 0)
		tally_print(o, &t);
	return rc;
}

/* ---- main ----------------------------------------------------------------------- */

static const struct cmd_entry *
find_cmd(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *cmd;
	struct opts o;
	unsigned extra;
	int ch, rc;

	memset(&o, 0, sizeof(o));
	o.max_line = MAX_LINE_DEFAULT;
	o.interval_ms = 200;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hq", long_opts, NULL)) != -1) {
		if (ch == 'h' || ch == O_HELP) {
			usage(stdout);
			return 0;
		}
		if (ch == O_VERSION) {
			printf("nap-audit %s\n", NAP_VERSION);
			return 0;
		}
		if (ch == ':')
			return failx(EXIT_USAGE, "option %s needs an argument "
			    "(try --help)", argv[optind - 1]);
		if (ch == '?')
			return failx(EXIT_USAGE, "unknown option '%s' (try "
			    "--help)", argv[optind - 1]);
		if (ch == 'q')
			ch = O_QUIET;
		o.given |= (unsigned)ch;
		if (ch == O_QUIET)
			o.quiet = true;
		else if (ch != O_ALL && set_opt(&o, ch, optarg) == -1)
			return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return failx(EXIT_USAGE, "no command given (try --help)");
	if ((cmd = find_cmd(argv[0])) == NULL)
		return failx(EXIT_USAGE, "unknown command '%s' (try --help)",
		    argv[0]);
	if (argc - 1 < cmd->minargs || (cmd->maxargs >= 0 &&
	    argc - 1 > cmd->maxargs))
		return failx(EXIT_USAGE, "usage: nap-audit %s", cmd->usage);
	if ((extra = o.given & ~cmd->opts) != 0)
		for (unsigned b = 1; b != 0; b <<= 1)
			if (extra & b)
				return failx(EXIT_USAGE, "--%s does not apply "
				    "to %s", opt_name(b), cmd->name);
	rc = cmd->exec(&o, argc - 1, argv + 1);
	if (rc == 0 && (fflush(stdout) == EOF || ferror(stdout)))
		return failx(EXIT_FAIL, "writing the output: %s",
		    strerror(errno));
	return rc;
}
