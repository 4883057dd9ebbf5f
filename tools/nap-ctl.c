/*
 * nap-ctl.c - registry and server administration (DESIGN.md §7, §9).
 *
 * Edits a domain's device registry (domain/registry.c), tells a running
 * server to re-read it, and lists or purges its message store
 * (ctl_store.c).  Subcommands are dispatched through a
 * table (tmux's cmd_entry); options are parsed once for the whole line
 * and each command says which ones it takes.
 *
 * Exit status: 0 success, 1 refused or failed operation, 2 bad usage.
 * Every error is one line on stderr, prefixed "nap-ctl: ".
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "boot.h"		/* NAP_VERSION */
#include "ctl_server.h"
#include "ctl_store.h"
#include "envelope.h"
#include "registry.h"
#include "storedb.h"

extern char **environ;

#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* At most this many codes in one call (ranges expanded). */
#define MAX_CODES	(1u << 20)
/* Codes per nap-certs run. */
#define CERTS_BATCH	256

/* Options, as bits: what was given, and what each command takes. */
enum {
	O_REGISTRY = 1 << 0,
	O_JSON = 1 << 1,
	O_KIND = 1 << 2,
	O_DISABLED = 1 << 3,
	O_PERMIT = 1 << 4,
	O_CERT_DIR = 1 << 5,
	O_PIN = 1 << 6,
	O_REGION = 1 << 7,
	O_PID_FILE = 1 << 8,
	O_PID = 1 << 9,
	O_CERT = 1 << 10,
	O_HELP = 1 << 11,
	O_STORE = 1 << 12,
	O_XML = 1 << 13,
	O_LIMIT = 1 << 14,
	O_ALL = 1 << 15,
	O_EXPIRED = 1 << 16,
	O_VERSION = 1 << 17,
};

static const struct option long_opts[] = {
	{ "registry", required_argument, NULL, O_REGISTRY },
	{ "json", no_argument, NULL, O_JSON },
	{ "kind", required_argument, NULL, O_KIND },
	{ "disabled", no_argument, NULL, O_DISABLED },
	{ "permit", required_argument, NULL, O_PERMIT },
	{ "cert-dir", required_argument, NULL, O_CERT_DIR },
	{ "pin", no_argument, NULL, O_PIN },
	{ "region", required_argument, NULL, O_REGION },
	{ "pid-file", required_argument, NULL, O_PID_FILE },
	{ "pid", required_argument, NULL, O_PID },
	{ "cert", required_argument, NULL, O_CERT },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ "store", required_argument, NULL, O_STORE },
	{ "xml", no_argument, NULL, O_XML },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "all", no_argument, NULL, O_ALL },
	{ "expired", no_argument, NULL, O_EXPIRED },
	{ NULL, 0, NULL, 0 },
};

/* How a command opens the registry. */
enum reg_mode {
	RM_NONE,	/* needs no registry (store commands open the store) */
	RM_CREATE,	/* create it when missing */
	RM_WRITE,	/* must exist */
	RM_READ,	/* must exist; read-only when not writable */
};

/* The command line, parsed. */
struct ctl {
	unsigned		 given;		/* O_* bits seen */
	const char		*registry;
	const char		*kind;
	const char		*permit;
	const char		*cert_dir;
	const char		*region;
	const char		*pid_file;
	const char		*pid;
	const char		*cert;
	const char		*store;
	const char		*limit;
	struct registry		*reg;
	char			 err[512];
};

struct cmd_entry {
	const char	*name;		/* one or two words */
	const char	*usage;		/* after "nap-ctl " */
	unsigned	 opts;		/* options it takes besides --registry */
	enum reg_mode	 mode;
	int		 minargs;	/* operands after the name */
	int		 maxargs;	/* -1: any number */
	int		(*exec)(struct ctl *, int, char **);
};

static int	cmd_init(struct ctl *, int, char **);
static int	cmd_add(struct ctl *, int, char **);
static int	cmd_remove(struct ctl *, int, char **);
static int	cmd_enable(struct ctl *, int, char **);
static int	cmd_disable(struct ctl *, int, char **);
static int	cmd_permit(struct ctl *, int, char **);
static int	cmd_pin(struct ctl *, int, char **);
static int	cmd_list(struct ctl *, int, char **);
static int	cmd_show(struct ctl *, int, char **);
static int	cmd_reload(struct ctl *, int, char **);
static bool	server_name(const char *);
static bool	is_server(pid_t, char *, size_t);
static int	cmd_store_list(struct ctl *, int, char **);
static int	cmd_store_show(struct ctl *, int, char **);
static int	cmd_store_purge(struct ctl *, int, char **);

static const struct cmd_entry cmds[] = {
	{ "init", "init [--region RRRR]", O_REGION, RM_CREATE, 0, 0,
	    cmd_init },
	{ "device add", "device add CODE[-CODE]... [--kind CU|PU|FS] "
	    "[--disabled] [--permit RANGES] [--cert-dir DIR [--pin]]",
	    O_KIND | O_DISABLED | O_PERMIT | O_CERT_DIR | O_PIN, RM_CREATE,
	    1, -1, cmd_add },
	{ "device remove", "device remove CODE[-CODE]...", 0, RM_WRITE, 1, -1,
	    cmd_remove },
	{ "device enable", "device enable CODE[-CODE]...", 0, RM_WRITE, 1, -1,
	    cmd_enable },
	{ "device disable", "device disable CODE[-CODE]...", 0, RM_WRITE, 1,
	    -1, cmd_disable },
	{ "device permit", "device permit CODE RANGES|all", 0, RM_WRITE, 2, 2,
	    cmd_permit },
	{ "device pin", "device pin CODE FINGERPRINT|none | "
	    "device pin CODE --cert FILE", O_CERT, RM_WRITE, 1, 2, cmd_pin },
	{ "device list", "device list [--json]", O_JSON, RM_READ, 0, 0,
	    cmd_list },
	{ "device show", "device show CODE [--json]", O_JSON, RM_READ, 1, 1,
	    cmd_show },
	{ "reload", "reload --pid-file FILE | --pid PID", O_PID_FILE | O_PID,
	    RM_NONE, 0, 0, cmd_reload },
	{ "store list", "store list [CODE[-CODE]...] [--json]",
	    O_STORE | O_JSON, RM_NONE, 0, -1, cmd_store_list },
	{ "store show", "store show CODE [--json | --xml] [--limit N]",
	    O_STORE | O_JSON | O_XML | O_LIMIT, RM_NONE, 1, 1, cmd_store_show },
	{ "store purge", "store purge CODE[-CODE]... | --all [--expired]",
	    O_STORE | O_ALL | O_EXPIRED, RM_NONE, 0, -1, cmd_store_purge },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void	usage(FILE *);
static void	warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
static int	failx(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static const char *opt_name(unsigned);
static int	parse_code(const char *, uint32_t *);
static int	parse_codes(int, char **, uint32_t **, size_t *);
static int	cmp_u32(const void *, const void *);
static int	parse_permits_arg(const char *, const char **);
static int	for_each_code(struct ctl *, int, char **, int);
static int	cert_fingerprint(const char *, uint32_t, char *, char *,
		    size_t);
static int	find_certs(char *, size_t);
static int	run_certs(const char *, const char *, const uint32_t *,
		    size_t, char *, size_t);
static int	add_all(struct ctl *, const uint32_t *, size_t,
		    enum reg_kind, const char *, bool);
static void	fmt_time(int64_t, char *, size_t);
static void	json_str(const char *);
static void	print_json(const struct reg_device *);
static void	print_text(const struct reg_device *);
static int	list_cb(const struct reg_device *, void *);
static const char *registry_path(struct ctl *);
static int	store_open(struct ctl *, sqlite3 **, int64_t *);

/* ---- messages --------------------------------------------------------- */

static void
warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("nap-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* One line on stderr; returns the exit status given. */
static int
failx(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("nap-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: nap-ctl [--registry FILE] [--store FILE] COMMAND "
	    "[ARGS]\n       nap-ctl -h | --help | --version\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "       nap-ctl %s\n", cmds[i].usage);
	fprintf(f, "       nap-ctl --server URL [--cert FILE --key FILE --ca "
	    "FILE] [--json]\n"
	    "               status | links | kick CODE | reload | "
	    "drain [--deadline S]\n");
	fprintf(f, "The registry is --registry FILE or $NAP_REGISTRY; the "
	    "message store is --store FILE,\nelse the file beside the "
	    "registry (registry.db -> registry-store.db).\nCODE is 8 hex "
	    "digits RRRRNNNN, CODE-CODE a range of them; RANGES is like\n"
	    "1000-1999,2500 (\"all\" for every type).\n");
}

static const char *
opt_name(unsigned bit)
{
	for (const struct option *o = long_opts; o->name != NULL; o++)
		if ((unsigned)o->val == bit)
			return o->name;
	return "?";
}

/* ---- operands --------------------------------------------------------- */

static int
parse_code(const char *s, uint32_t *out)
{
	return env_code_parse(s, strlen(s), out);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * CODE or CODE-CODE (inclusive, within one region) operands, in the order
 * given, into a malloc'd array the caller frees.  A malformed operand or
 * a code given twice is bad usage: prints why and returns -1.
 */
static int
parse_codes(int argc, char **argv, uint32_t **out, size_t *n)
{
	uint32_t *v = NULL, *sorted = NULL, lo, hi;
	size_t cnt = 0, cap = 0;
	uint64_t need;
	char c[9];
	int i, rc = -1;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *dash = strchr(a, '-');

		if (dash == NULL) {
			if (parse_code(a, &lo) == -1) {
				warnx("bad code '%s': not 8 hex digits", a);
				goto out;
			}
			hi = lo;
		} else if (env_code_parse(a, (size_t)(dash - a), &lo) == -1 ||
		    parse_code(dash + 1, &hi) == -1) {
			warnx("bad code range '%s': not CODE-CODE", a);
			goto out;
		} else if (lo > hi) {
			warnx("bad code range '%s': the first code is above "
			    "the last", a);
			goto out;
		} else if (env_code_region(lo) != env_code_region(hi)) {
			warnx("bad code range '%s': a range stays within one "
			    "region", a);
			goto out;
		}
		need = (uint64_t)hi - lo + 1;
		if (need > MAX_CODES - cnt) {
			warnx("more than %u codes in one call", MAX_CODES);
			goto out;
		}
		if (v == NULL || cnt + need > cap) {
			uint32_t *nv;

			cap = (cnt + (size_t)need) * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				warnx("out of memory");
				goto out;
			}
			v = nv;
		}
		for (uint64_t x = lo; x <= hi; x++)
			v[cnt++] = (uint32_t)x;
	}
	if (cnt == 0 || v == NULL) {
		warnx("no code given");
		goto out;
	}
	if ((sorted = malloc(cnt * sizeof(*sorted))) == NULL) {
		warnx("out of memory");
		goto out;
	}
	memcpy(sorted, v, cnt * sizeof(*v));
	qsort(sorted, cnt, sizeof(*sorted), cmp_u32);
	for (size_t k = 1; k < cnt; k++) {
		if (sorted[k] == sorted[k - 1]) {
			env_code_format(sorted[k], c);
			warnx("code %s given twice", c);
			goto out;
		}
	}
	*out = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	free(sorted);
	free(v);
	return rc;
}

/*
 * A RANGES operand: "all" or "" is every type.  Checks the syntax so that
 * a bad list is bad usage; *norm is what to store.  Returns 0 or -1.
 */
static int
parse_permits_arg(const char *s, const char **norm)
{
	struct reg_permits p;
	char err[160];

	if (strcmp(s, "all") == 0) {
		*norm = "";
		return 0;
	}
	if (reg_permits_parse(s, &p, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	*norm = s;
	return 0;
}

/* ---- certificates ----------------------------------------------------- */

/*
 * SHA-256 of the DER certificate in the PEM file at path, as 64
 * lower-case hex digits in out[65].  The certificate's CN must be the
 * code.  Returns 0, or -1 with a message in err.
 */
static int
cert_fingerprint(const char *path, uint32_t code, char *out, char *err,
    size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char cn[64], c[9];
	X509 *x = NULL;
	FILE *f;
	int rc = -1, n;
	uint32_t got;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		snprintf(err, errlen, "%s: not a PEM certificate", path);
		goto out;
	}
	env_code_format(code, c);
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn));
	if (n != 8 || env_code_parse(cn, 8, &got) == -1 || got != code) {
		snprintf(err, errlen, "%s: the certificate is not %s's (its "
		    "CN is not %s)", path, c, c);
		goto out;
	}
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		snprintf(err, errlen, "%s: cannot compute the SHA-256 "
		    "fingerprint", path);
		goto out;
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * mdlen] = '\0';
	rc = 0;
out:
	X509_free(x);
	return rc;
}

/*
 * Where nap-certs is: $NAP_CERTS; else ../certs/nap-certs or nap-certs
 * beside this executable (the build tree, an install); else "nap-certs"
 * for a PATH search.  Returns 1 when out is a path, 0 for PATH.
 */
static int
find_certs(char *out, size_t len)
{
	char self[PATH_MAX], *slash;
	const char *env = getenv("NAP_CERTS");
	ssize_t n;

	if (env != NULL && *env != '\0') {
		snprintf(out, len, "%s", env);
		return 1;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(out, len, "%s/../certs/nap-certs",
			    self) < len && access(out, X_OK) == 0)
				return 1;
			if ((size_t)snprintf(out, len, "%s/nap-certs", self) <
			    len && access(out, X_OK) == 0)
				return 1;
		}
	}
	snprintf(out, len, "nap-certs");
	return 0;
}

/*
 * Runs `nap-certs --dir DIR issue CODE...` (posix_spawn: no copy of
 * this process runs anything).  Its standard error is captured; on
 * failure the first line of it goes into err.  Returns 0 when it exited
 * 0, else -1.
 */
static int
run_certs(const char *certs, const char *dir, const uint32_t *codes,
    size_t n, char *err, size_t errlen)
{
	char **argv = NULL, (*cbuf)[9] = NULL, out[1024], *nl;
	const char *line;
	size_t got = 0, i;
	ssize_t r;
	int fds[2] = { -1, -1 }, status, rc = -1, e;
	posix_spawn_file_actions_t fa;
	bool fa_init = false;
	pid_t pid;

	argv = calloc(n + 5, sizeof(*argv));
	cbuf = calloc(n ? n : 1, sizeof(*cbuf));
	if (argv == NULL || cbuf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	argv[0] = (char *)(uintptr_t)certs;
	argv[1] = (char *)(uintptr_t)"--dir";
	argv[2] = (char *)(uintptr_t)dir;
	argv[3] = (char *)(uintptr_t)"issue";
	for (i = 0; i < n; i++) {
		env_code_format(codes[i], cbuf[i]);
		argv[4 + i] = cbuf[i];
	}
	if (pipe(fds) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0) {
		snprintf(err, errlen, "posix_spawn: %s", strerror(e));
		goto out;
	}
	fa_init = true;
	if ((e = posix_spawn_file_actions_addclose(&fa, fds[0])) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, fds[1],
	    STDERR_FILENO)) != 0 ||
	    (fds[1] != STDERR_FILENO &&
	    (e = posix_spawn_file_actions_addclose(&fa, fds[1])) != 0)) {
		snprintf(err, errlen, "posix_spawn: %s", strerror(e));
		goto out;
	}
	fflush(NULL);
	e = strchr(certs, '/') != NULL ?
	    posix_spawn(&pid, certs, &fa, NULL, argv, environ) :
	    posix_spawnp(&pid, certs, &fa, NULL, argv, environ);
	if (e != 0) {
		snprintf(err, errlen, "cannot run %.200s: %s", certs,
		    strerror(e));
		goto out;
	}
	close(fds[1]);
	fds[1] = -1;
	for (;;) {
		r = read(fds[0], out + got, sizeof(out) - 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(out) - 1) {
			/* Keep the start; drain the rest. */
			char sink[512];

			while ((r = read(fds[0], sink, sizeof(sink))) > 0 ||
			    (r == -1 && errno == EINTR))
				;
			break;
		}
	}
	out[got] = '\0';
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			goto out;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = 0;
		goto out;
	}
	if ((nl = strchr(out, '\n')) != NULL)
		*nl = '\0';
	line = out;
	if (strncmp(line, "nap-certs: ", 11) == 0)
		line += 11;
	if (*line == '\0')
		line = WIFEXITED(status) ? "it failed" : "it was killed";
	snprintf(err, errlen, "nap-certs --dir %.200s issue: %.250s", dir,
	    line);
out:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	free(cbuf);
	free(argv);
	return rc;
}

/* ---- commands --------------------------------------------------------- */

static int
cmd_init(struct ctl *c, int argc, char **argv)
{
	uint32_t code;
	char buf[9];

	(void)argc;
	(void)argv;
	if (c->region == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%.4s0000", c->region);
	if (strlen(c->region) != 4 || env_code_parse(buf, 8, &code) == -1 ||
	    !env_code_is_domain(code))
		return failx(EXIT_USAGE, "bad region '%s': 4 hex digits, 0001 "
		    "to FFFE", c->region);
	if (registry_set_region(c->reg, env_code_region(code), c->err,
	    sizeof(c->err)) == -1)
		return failx(EXIT_FAIL, "%s", c->err);
	return 0;
}

/*
 * Registers every code in one transaction (and pins each one's
 * certificate in DIR when pin is set).  Returns 0, or -1 after a message,
 * with nothing applied.
 */
static int
add_all(struct ctl *c, const uint32_t *codes, size_t n, enum reg_kind kind,
    const char *permits, bool pin)
{
	char fp[REG_FINGERPRINT_LEN + 1], path[PATH_MAX], code[9];

	if (registry_begin(c->reg, c->err, sizeof(c->err)) == -1) {
		warnx("%s", c->err);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		fp[0] = '\0';
		if (pin) {
			env_code_format(codes[i], code);
			snprintf(path, sizeof(path), "%s/%s.crt", c->cert_dir,
			    code);
			if (cert_fingerprint(path, codes[i], fp, c->err,
			    sizeof(c->err)) == -1)
				goto err;
		}
		if (registry_add(c->reg, codes[i], kind,
		    !(c->given & O_DISABLED), permits, fp, c->err,
		    sizeof(c->err)) == -1)
			goto err;
	}
	return 0;
err:
	warnx("%s%s", c->err, n > 1 ? "; no device added" : "");
	registry_rollback(c->reg);
	return -1;
}

static int
cmd_add(struct ctl *c, int argc, char **argv)
{
	enum reg_kind kind = REG_KIND_CU;
	const char *permits = NULL;
	char certs[PATH_MAX];
	uint32_t *codes = NULL;
	size_t n = 0;
	int rc = EXIT_USAGE;

	if (c->kind != NULL && reg_kind_parse(c->kind, &kind) == -1) {
		warnx("bad kind '%s': CU, PU or FS", c->kind);
		goto out;
	}
	if (c->permit != NULL && parse_permits_arg(c->permit, &permits) == -1)
		goto out;
	if ((c->given & O_PIN) && c->cert_dir == NULL) {
		warnx("--pin needs --cert-dir DIR");
		goto out;
	}
	if (parse_codes(argc, argv, &codes, &n) == -1)
		goto out;
	rc = EXIT_FAIL;
	if (c->cert_dir != NULL) {
		/*
		 * Check every code first (a transaction rolled back), issue
		 * the certificates, then register for good: no write lock is
		 * held on the registry while certificates are made.
		 */
		if (add_all(c, codes, n, kind, permits, false) == -1)
			goto out;
		registry_rollback(c->reg);
		(void)find_certs(certs, sizeof(certs));
		for (size_t i = 0; i < n; i += CERTS_BATCH) {
			if (run_certs(certs, c->cert_dir, codes + i,
			    n - i < CERTS_BATCH ? n - i : CERTS_BATCH, c->err,
			    sizeof(c->err)) == -1) {
				warnx("%s; no device added", c->err);
				goto out;
			}
		}
	}
	if (add_all(c, codes, n, kind, permits, (c->given & O_PIN) != 0) ==
	    -1)
		goto out;
	if (registry_commit(c->reg, c->err, sizeof(c->err)) == -1) {
		warnx("%s", c->err);
		goto out;
	}
	rc = 0;
out:
	free(codes);
	return rc;
}

/* What a many-codes command does to one device. */
enum each_op { OP_REMOVE, OP_ENABLE, OP_DISABLE };

static int
each_one(struct ctl *c, int op, uint32_t code)
{
	if (op == OP_REMOVE)
		return registry_remove(c->reg, code, c->err, sizeof(c->err));
	return registry_set_enabled(c->reg, code, op == OP_ENABLE, c->err,
	    sizeof(c->err));
}

/* Applies op to every code named, all or nothing (one transaction). */
static int
for_each_code(struct ctl *c, int argc, char **argv, int op)
{
	uint32_t *codes;
	size_t n, i;

	if (parse_codes(argc, argv, &codes, &n) == -1)
		return EXIT_USAGE;
	if (registry_begin(c->reg, c->err, sizeof(c->err)) == -1)
		goto err;
	for (i = 0; i < n; i++)
		if (each_one(c, op, codes[i]) == -1)
			goto err;
	if (registry_commit(c->reg, c->err, sizeof(c->err)) == -1)
		goto err;
	free(codes);
	return 0;
err:
	warnx("%s%s", c->err, n > 1 ? (op == OP_REMOVE ?
	    "; no device removed" : "; no device changed") : "");
	registry_rollback(c->reg);
	free(codes);
	return EXIT_FAIL;
}

static int
cmd_remove(struct ctl *c, int argc, char **argv)
{
	return for_each_code(c, argc, argv, OP_REMOVE);
}

static int
cmd_enable(struct ctl *c, int argc, char **argv)
{
	return for_each_code(c, argc, argv, OP_ENABLE);
}

static int
cmd_disable(struct ctl *c, int argc, char **argv)
{
	return for_each_code(c, argc, argv, OP_DISABLE);
}

static int
cmd_permit(struct ctl *c, int argc, char **argv)
{
	const char *permits;
	uint32_t code;

	(void)argc;
	if (parse_code(argv[0], &code) == -1)
		return failx(EXIT_USAGE, "bad code '%s': not 8 hex digits",
		    argv[0]);
	if (parse_permits_arg(argv[1], &permits) == -1)
		return EXIT_USAGE;
	if (registry_set_permits(c->reg, code, permits, c->err,
	    sizeof(c->err)) == -1)
		return failx(EXIT_FAIL, "%s", c->err);
	return 0;
}

static int
cmd_pin(struct ctl *c, int argc, char **argv)
{
	char fp[REG_FINGERPRINT_LEN + 1];
	uint32_t code;

	if (parse_code(argv[0], &code) == -1)
		return failx(EXIT_USAGE, "bad code '%s': not 8 hex digits",
		    argv[0]);
	if ((c->cert != NULL) == (argc == 2))
		return failx(EXIT_USAGE, "device pin takes a FINGERPRINT, "
		    "none, or --cert FILE");
	if (c->cert != NULL) {
		if (cert_fingerprint(c->cert, code, fp, c->err,
		    sizeof(c->err)) == -1)
			return failx(EXIT_FAIL, "%s", c->err);
	} else if (strcmp(argv[1], "none") == 0)
		fp[0] = '\0';
	else if (reg_fingerprint_parse(argv[1], fp) == -1)
		return failx(EXIT_USAGE, "bad fingerprint '%s': 64 hex digits "
		    "(or 32 pairs separated by colons)", argv[1]);
	if (registry_set_fingerprint(c->reg, code, fp, c->err,
	    sizeof(c->err)) == -1)
		return failx(EXIT_FAIL, "%s", c->err);
	return 0;
}

/* ISO 8601 UTC, or "never" for 0. */
static void
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, t == 0 ? "never" : "%lld", (long long)t);
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* One device as a JSON object (no newline). */
static void
print_json(const struct reg_device *d)
{
	char code[9], permits[REG_PERMITS_STRLEN];

	env_code_format(d->code, code);
	reg_permits_format(&d->permits, permits, sizeof(permits));
	printf("{\"code\":\"%s\",\"kind\":\"%s\",\"enabled\":%s,"
	    "\"permits\":", code, reg_kind_name(d->kind),
	    d->enabled ? "true" : "false");
	json_str(permits);
	printf(",\"fingerprint\":");
	if (d->fingerprint[0] != '\0')
		json_str(d->fingerprint);
	else
		printf("null");
	printf(",\"created\":%lld,\"seen\":", (long long)d->created);
	if (d->seen != 0)
		printf("%lld}", (long long)d->seen);
	else
		printf("null}");
}

/* One line: CODE KIND STATE PERMITS PIN CREATED SEEN. */
static void
print_text(const struct reg_device *d)
{
	char code[9], permits[REG_PERMITS_STRLEN], created[32], seen[32];

	env_code_format(d->code, code);
	reg_permits_format(&d->permits, permits, sizeof(permits));
	fmt_time(d->created, created, sizeof(created));
	fmt_time(d->seen, seen, sizeof(seen));
	printf("%s %s %-8s %s %s %s %s\n", code, reg_kind_name(d->kind),
	    d->enabled ? "enabled" : "disabled",
	    permits[0] ? permits : "all",
	    d->fingerprint[0] ? "pinned" : "-", created, seen);
}

struct list_state {
	bool	json;
	size_t	n;
};

static int
list_cb(const struct reg_device *d, void *arg)
{
	struct list_state *ls = arg;

	if (ls->json) {		/* JSON lines, as every list of the tools */
		print_json(d);
		putchar('\n');
	} else
		print_text(d);
	ls->n++;
	return 0;
}

static int
cmd_list(struct ctl *c, int argc, char **argv)
{
	struct list_state ls = { (c->given & O_JSON) != 0, 0 };

	(void)argc;
	(void)argv;
	if (registry_foreach(c->reg, list_cb, &ls) != 0) {
		fflush(stdout);
		return failx(EXIT_FAIL, "%s", registry_error(c->reg));
	}
	return 0;
}

static int
cmd_show(struct ctl *c, int argc, char **argv)
{
	char code[9], permits[REG_PERMITS_STRLEN], t[32];
	struct reg_device d;
	uint32_t v;
	int rc;

	(void)argc;
	if (parse_code(argv[0], &v) == -1)
		return failx(EXIT_USAGE, "bad code '%s': not 8 hex digits",
		    argv[0]);
	env_code_format(v, code);
	if ((rc = registry_get(c->reg, v, &d)) == -1)
		return failx(EXIT_FAIL, "%s", registry_error(c->reg));
	if (rc == 1)
		return failx(EXIT_FAIL, "device %s is not registered", code);
	if (c->given & O_JSON) {
		print_json(&d);
		putchar('\n');
		return 0;
	}
	reg_permits_format(&d.permits, permits, sizeof(permits));
	printf("code: %s\n", code);
	printf("kind: %s\n", reg_kind_name(d.kind));
	printf("enabled: %s\n", d.enabled ? "yes" : "no");
	printf("permits: %s\n", permits[0] ? permits : "all");
	printf("fingerprint: %s\n", d.fingerprint[0] ? d.fingerprint : "-");
	fmt_time(d.created, t, sizeof(t));
	printf("created: %s\n", t);
	fmt_time(d.seen, t, sizeof(t));
	printf("seen: %s\n", t);
	return 0;
}

/* Whether name (a file name, maybe "... (deleted)") is a NAP server's. */
static bool
server_name(const char *name)
{
	const char *b = strrchr(name, '/');
	size_t n;

	b = b != NULL ? b + 1 : name;
	n = strcspn(b, " \n");
	return (n == 10 && strncmp(b, "nap-domain", n) == 0) ||
	    (n == 12 && strncmp(b, "nap-platform", n) == 0);
}

/*
 * Whether process pid runs nap-domain or nap-platform: its command name
 * (/proc/PID/comm), else its executable (/proc/PID/exe).  what gets the
 * name seen, for the refusal.  Without /proc (not Linux) nothing can be
 * checked: true.
 */
static bool
is_server(pid_t pid, char *what, size_t len)
{
	char path[64], exe[PATH_MAX];
	ssize_t n;
	size_t k = 0;
	FILE *f;

	snprintf(what, len, "unknown");
	if (access("/proc/self/comm", R_OK) == -1)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "r")) != NULL) {
		k = fread(what, 1, len - 1, f);
		fclose(f);
	}
	what[k] = '\0';
	what[strcspn(what, "\n")] = '\0';
	if (server_name(what))
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if (server_name(exe))
			return true;
	}
	if (what[0] == '\0')
		snprintf(what, len, "unknown");
	return false;
}

/* Tells the server to re-read its registry, CRL and certificates. */
static int
cmd_reload(struct ctl *c, int argc, char **argv)
{
	char buf[64], *end;
	const char *what;
	long long v;
	size_t n;
	FILE *f;

	(void)argc;
	(void)argv;
	if ((c->pid_file != NULL) == (c->pid != NULL))
		return failx(EXIT_USAGE, "reload takes --pid-file FILE or "
		    "--pid PID");
	if (c->pid != NULL) {
		errno = 0;
		v = strtoll(c->pid, &end, 10);
		if (c->pid[0] < '0' || c->pid[0] > '9' || *end != '\0' ||
		    errno != 0 || v < 2 || v > INT_MAX)
			return failx(EXIT_USAGE, "bad --pid '%s': a process "
			    "id above 1", c->pid);
		what = "process";
	} else {
		if ((f = fopen(c->pid_file, "r")) == NULL)
			return failx(EXIT_FAIL, "cannot read pid file %s: %s",
			    c->pid_file, strerror(errno));
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		errno = 0;
		v = strtoll(buf, &end, 10);
		while (*end == '\n' || *end == ' ' || *end == '\t' ||
		    *end == '\r')
			end++;
		if (n == 0 || buf[0] < '0' || buf[0] > '9' || *end != '\0' ||
		    errno != 0 || v < 2 || v > INT_MAX)
			return failx(EXIT_FAIL, "pid file %s holds no process "
			    "id", c->pid_file);
		what = "stale pid file";
	}
	if (kill((pid_t)v, 0) == -1) {
		if (errno == ESRCH && c->pid_file != NULL)
			return failx(EXIT_FAIL, "%s %s: no process %lld", what,
			    c->pid_file, v);
		return failx(EXIT_FAIL, "cannot signal process %lld: %s", v,
		    strerror(errno));
	}
	/* SIGHUP kills most programs: only a NAP server gets it. */
	if (!is_server((pid_t)v, buf, sizeof(buf)))
		return failx(EXIT_FAIL, "process %lld is %s, not nap-domain "
		    "or nap-platform: not signalled", v, buf);
	if (kill((pid_t)v, SIGHUP) == -1)
		return failx(EXIT_FAIL, "cannot signal process %lld: %s", v,
		    strerror(errno));
	return 0;
}

/* ---- the message store ------------------------------------------------ */

/* --registry FILE, else $NAP_REGISTRY, else NULL. */
static const char *
registry_path(struct ctl *c)
{
	const char *env;

	if (c->registry == NULL && (env = getenv("NAP_REGISTRY")) != NULL &&
	    *env != '\0')
		c->registry = env;
	return c->registry;
}

/*
 * Opens the store that must exist: --store FILE, else the file beside
 * the registry (storedb_default_path), as nap-domain does; and sets
 * *now, the clock, or $NAP_CTL_NOW for the tests.  Returns 0, or an
 * exit status after a message.
 */
static int
store_open(struct ctl *c, sqlite3 **db, int64_t *now)
{
	const char *path = c->store, *env;
	char *def = NULL, *end;
	long long v;

	if ((env = getenv("NAP_CTL_NOW")) != NULL && *env != '\0') {
		errno = 0;
		v = strtoll(env, &end, 10);
		if (*end != '\0' || errno != 0 || v < 0)
			return failx(EXIT_USAGE, "bad NAP_CTL_NOW '%s': Unix "
			    "seconds", env);
		*now = v;
	} else
		*now = (int64_t)time(NULL);
	if (path == NULL) {
		if (registry_path(c) == NULL)
			return failx(EXIT_USAGE, "no store: give --store FILE, "
			    "or --registry FILE (or set NAP_REGISTRY) for the "
			    "store beside it");
		if ((def = storedb_default_path(c->registry)) == NULL)
			return failx(EXIT_FAIL, "out of memory");
		path = def;
	}
	*db = storedb_open(path, 0, c->err, sizeof(c->err));
	free(def);
	if (*db == NULL)
		return failx(EXIT_FAIL, "%s", c->err);
	return 0;
}

static int
cmd_store_list(struct ctl *c, int argc, char **argv)
{
	uint32_t *codes = NULL;
	size_t n = 0;
	sqlite3 *db = NULL;
	int64_t now;
	int rc;

	if (argc > 0 && parse_codes(argc, argv, &codes, &n) == -1)
		return EXIT_USAGE;
	if ((rc = store_open(c, &db, &now)) != 0)
		goto out;
	if (store_list(db, now, (c->given & O_JSON) != 0, codes, n, c->err,
	    sizeof(c->err)) == -1) {
		fflush(stdout);
		rc = failx(EXIT_FAIL, "%s", c->err);
	}
out:
	sqlite3_close(db);
	free(codes);
	return rc;
}

static int
cmd_store_show(struct ctl *c, int argc, char **argv)
{
	enum store_fmt fmt = SF_TEXT;
	long long limit = -1;
	sqlite3 *db = NULL;
	uint32_t code;
	int64_t now;
	char *end;
	int rc;

	(void)argc;
	if (parse_code(argv[0], &code) == -1)
		return failx(EXIT_USAGE, "bad code '%s': not 8 hex digits",
		    argv[0]);
	if ((c->given & O_JSON) && (c->given & O_XML))
		return failx(EXIT_USAGE, "store show takes --json or --xml, "
		    "not both");
	if (c->given & O_JSON)
		fmt = SF_JSON;
	else if (c->given & O_XML)
		fmt = SF_XML;
	if (c->limit != NULL) {
		errno = 0;
		limit = strtoll(c->limit, &end, 10);
		if (c->limit[0] < '0' || c->limit[0] > '9' || *end != '\0' ||
		    errno != 0 || limit < 1)
			return failx(EXIT_USAGE, "bad --limit '%s': a number "
			    "of rows, 1 or more", c->limit);
	}
	if ((rc = store_open(c, &db, &now)) != 0)
		goto out;
	if (store_show(db, now, code, fmt, limit, c->err, sizeof(c->err)) ==
	    -1) {
		fflush(stdout);
		rc = failx(EXIT_FAIL, "%s", c->err);
	}
out:
	sqlite3_close(db);
	return rc;
}

static int
cmd_store_purge(struct ctl *c, int argc, char **argv)
{
	uint32_t *codes = NULL;
	size_t n = 0;
	sqlite3 *db = NULL;
	int64_t now, deleted = 0;
	int rc;

	if ((argc > 0) == ((c->given & O_ALL) != 0))
		return failx(EXIT_USAGE, "store purge takes codes or --all");
	if (argc > 0 && parse_codes(argc, argv, &codes, &n) == -1)
		return EXIT_USAGE;
	if ((rc = store_open(c, &db, &now)) != 0)
		goto out;
	if (store_purge(db, now, codes, n, (c->given & O_EXPIRED) != 0,
	    &deleted, c->err, sizeof(c->err)) == -1)
		rc = failx(EXIT_FAIL, "%s; nothing deleted", c->err);
	else
		printf("deleted %lld\n", (long long)deleted);
out:
	sqlite3_close(db);
	free(codes);
	return rc;
}

/* ---- main --------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	const struct cmd_entry *cmd = NULL;
	struct ctl c;
	size_t i, words = 0;
	unsigned extra;
	int ch, nops, rc, flags;

	if (ctl_server_wanted(argc, argv))	/* the admin API (§12) */
		return ctl_server_main(argc, argv);
	memset(&c, 0, sizeof(c));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("nap-ctl %s\n", NAP_VERSION);
			return 0;
		case ':':
			return failx(EXIT_USAGE, "option %s needs an argument "
			    "(try --help)", argv[optind - 1]);
		case '?':
			return failx(EXIT_USAGE, "unknown option '%s' (try "
			    "--help)", argv[optind - 1]);
		}
		c.given |= (unsigned)ch;
		switch (ch) {
		case O_REGISTRY: c.registry = optarg; break;
		case O_KIND: c.kind = optarg; break;
		case O_PERMIT: c.permit = optarg; break;
		case O_CERT_DIR: c.cert_dir = optarg; break;
		case O_REGION: c.region = optarg; break;
		case O_PID_FILE: c.pid_file = optarg; break;
		case O_PID: c.pid = optarg; break;
		case O_CERT: c.cert = optarg; break;
		case O_STORE: c.store = optarg; break;
		case O_LIMIT: c.limit = optarg; break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return failx(EXIT_USAGE, "no command given (try --help)");

	/* The longest command name the operands start with. */
	for (i = 0; i < NCMDS; i++) {
		const char *name = cmds[i].name, *sp = strchr(name, ' ');
		size_t w = sp ? 2 : 1;

		if (sp == NULL ? strcmp(argv[0], name) == 0 :
		    (argc >= 2 && strlen(argv[0]) == (size_t)(sp - name) &&
		    strncmp(argv[0], name, (size_t)(sp - name)) == 0 &&
		    strcmp(argv[1], sp + 1) == 0)) {
			cmd = &cmds[i];
			words = w;
			break;
		}
	}
	if (cmd == NULL) {
		if (strcmp(argv[0], "device") == 0 && argc < 2)
			return failx(EXIT_USAGE, "device needs a subcommand "
			    "(add, remove, enable, disable, permit, pin, list, "
			    "show)");
		if (strcmp(argv[0], "store") == 0 && argc < 2)
			return failx(EXIT_USAGE, "store needs a subcommand "
			    "(list, show, purge)");
		if (strcmp(argv[0], "device") == 0 ||
		    strcmp(argv[0], "store") == 0)
			return failx(EXIT_USAGE, "unknown %s subcommand "
			    "'%s' (try --help)", argv[0], argv[1]);
		return failx(EXIT_USAGE, "unknown command '%s' (try --help)",
		    argv[0]);
	}
	nops = argc - (int)words;
	if (nops < cmd->minargs || (cmd->maxargs >= 0 && nops > cmd->maxargs))
		return failx(EXIT_USAGE, "usage: nap-ctl %s", cmd->usage);
	if ((extra = c.given & ~(cmd->opts | O_REGISTRY)) != 0) {
		for (unsigned b = 1; b != 0; b <<= 1)
			if (extra & b)
				return failx(EXIT_USAGE, "--%s does not apply "
				    "to %s", opt_name(b), cmd->name);
	}

	if (cmd->mode != RM_NONE) {
		if (registry_path(&c) == NULL)
			return failx(EXIT_USAGE, "no registry: give --registry "
			    "FILE or set NAP_REGISTRY");
		flags = 0;
		if (cmd->mode == RM_CREATE)
			flags = REG_CREATE;
		else if (cmd->mode == RM_READ && access(c.registry, W_OK) ==
		    -1 && (errno == EACCES || errno == EROFS))
			flags = REG_RDONLY;
		if ((c.reg = registry_open(c.registry, flags, c.err,
		    sizeof(c.err))) == NULL)
			return failx(EXIT_FAIL, "%s", c.err);
	}
	rc = cmd->exec(&c, nops, argv + words);
	registry_close(c.reg);
	if (rc == 0 && (fflush(stdout) == EOF || ferror(stdout)))
		return failx(EXIT_FAIL, "writing the output: %s",
		    strerror(errno));
	return rc;
}
