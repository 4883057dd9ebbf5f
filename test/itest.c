/*
 * itest.c - the integration tests' helpers (itest.h): programs run to
 * completion, nap-domain processes on loopback, the run's throwaway PKI,
 * a raw TLS client for hand-made frames and a pump for libnap handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <CUnit/CUnit.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "itest.h"

#define MAX_SERVERS	32		/* started in one run */
#define RAW_CHUNK	16384
#define RAW_MAX_FRAME	(16u * 1024 * 1024)
#define RAW_MAX_FRAMES	100000		/* read by one expect/wait */
#define RAW_MAX_TURNS	100000		/* reads or waits for one frame */
#define STOP_MS		itest_ms(20000)	/* SIGTERM to exit */
#define VG_FACTOR	6		/* slower under valgrind */
#define PUMP_TICK	100		/* ms: itest_pump runs each handle */

struct itest_paths itest;

/* The run's PKI files a server is started with. */
struct server_files {
	char	cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], crl[PATH_MAX];
};

static struct itest_server *live[MAX_SERVERS];	/* for itest_fini */
static struct env_parser *parser;		/* the raw clients' */

static int64_t	now_ms(void);
static int	mkdir_p(const char *);
static void	dir_from_env(char *, size_t, const char *);
static int	spawn(const char *const [], const char *, pid_t *);
static int	reap(pid_t, int, int *);
static int	issue_pki(void);
static void	track(struct itest_server *, bool);
static int	await_port(struct itest_server *, int);
static size_t	server_argv(const char **, struct itest_server *, const char *,
		    uint32_t, struct server_files *);
static int	server_spawn(struct itest_server *, const char **, size_t,
		    const char *const [], int);
static void	server_names(struct itest_server *, const char *, bool);
static int	wait_fd(int, short, int64_t);
static int	raw_fail(struct itest_raw *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	raw_closed(struct itest_raw *, int, int);
static int	frame_take(struct itest_raw *, struct itest_frame *);
static int	login_msg(struct itest_raw *, uint32_t, uint32_t, const char *,
		    int);
static const char *error_attr(const char *, const char *, size_t *);
static void	debug_log(struct nap *, enum nap_log_level, const char *,
		    void *);

/* ---- small helpers ------------------------------------------------ */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
itest_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

char *
itest_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "integration: path or text too long: %s\n",
		    buf);
		abort();
	}
	return buf;
}

char *
itest_pki_file(char *buf, size_t len, const char *pki, uint32_t code,
    const char *ext)
{
	return itest_fmt(buf, len, "%s/%08X.%s", pki, code, ext);
}

bool
itest_pass(unsigned line, const char *file, const char *func)
{
	CU_assertImplementation(CU_TRUE, line, "", file, func, CU_FALSE);
	return true;
}

bool
itest_fail(unsigned line, const char *file, const char *func,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* CUnit copies the text into its failure record. */
	CU_assertImplementation(CU_FALSE, line, msg, file, func, CU_FALSE);
	return false;
}

static int
mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	itest_fmt(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0755) == -1 && errno != EEXIST ? -1 : 0;
}

static void
dir_from_env(char *out, size_t len, const char *var)
{
	const char *v = getenv(var);
	char *abs;

	if (v == NULL || *v == '\0')
		v = ".";
	/* Absolute, so that paths handed to children never depend on cwd. */
	if ((abs = realpath(v, NULL)) != NULL) {
		itest_fmt(out, len, "%s", abs);
		free(abs);
	} else
		itest_fmt(out, len, "%s", v);
}

/* ---- processes -------------------------------------------------------- */

/* fork + execvp with stdout and stderr to log (appended). */
static int
spawn(const char *const argv[], const char *log, pid_t *pid)
{
	int fd;

	fflush(NULL);
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1) {
		fprintf(stderr, "integration: %s: %s\n", log, strerror(errno));
		return -1;
	}
	if ((*pid = fork()) == -1) {
		fprintf(stderr, "integration: fork: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	if (*pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null != -1)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		dprintf(2, "integration: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(fd);
	return 0;
}

/*
 * Waits up to ms for pid.  1 and *status (waitpid's) when it exited, 0
 * when it still runs, -1 on a waitpid failure.
 */
static int
reap(pid_t pid, int ms, int *status)
{
	int64_t end = now_ms() + ms;
	pid_t r;

	/* 5 ms naps: the count is bounded by ms / 5 and the clock. */
	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
		if (now_ms() >= end)
			return 0;
		itest_sleep_ms(5);
	}
}

int
itest_run(const char *const argv[])
{
	return itest_run_out(argv, itest.cmdlog[0] ? itest.cmdlog :
	    "/dev/null");
}

int
itest_run_out(const char *const argv[], const char *log)
{
	pid_t pid;
	int st, r;

	if (spawn(argv, log, &pid) == -1)
		return -1;
	if ((r = reap(pid, IT_CMD_MS, &st)) != 1) {
		fprintf(stderr, "integration: %s %s\n", argv[0], r == 0 ?
		    "did not finish in time: killed" : "cannot be waited for");
		kill(pid, SIGKILL);
		(void)reap(pid, IT_WAIT_MS, &st);
		return -1;
	}
	if (!WIFEXITED(st)) {
		fprintf(stderr, "integration: %s died of signal %d\n",
		    argv[0], WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		return -1;
	}
	return WEXITSTATUS(st);
}

int
itest_ctl(const char *registry, ...)
{
	const char *argv[32];
	size_t n = 0;
	va_list ap;

	argv[n++] = itest.ctl;
	argv[n++] = "--registry";
	argv[n++] = registry;
	va_start(ap, registry);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return itest_run(argv);
}

/* ---- the run's PKI and registries -------------------------------- */

static int
issue_pki(void)
{
	/* init, the domain and 203 devices, a revocation, a foreign CA. */
	const char *argv[IT_NDEV + 16];
	static char codes[IT_NDEV + 4][9];
	char rev[9];
	size_t n = 0, k = 0;

	{
		const char *a[] = { itest.certs, "--dir", itest.pki, "init",
		    NULL };

		if (itest_run(a) != 0)
			return -1;
	}
	argv[n++] = itest.certs;
	argv[n++] = "--dir";
	argv[n++] = itest.pki;
	argv[n++] = "issue";
	snprintf(codes[k], 9, "%08X", IT_DOMAIN);
	argv[n++] = codes[k++];
	for (uint32_t c = IT_DEV(1); c <= IT_REVOKED; c++) {
		snprintf(codes[k], 9, "%08X", c);
		argv[n++] = codes[k++];
	}
	argv[n] = NULL;
	if (itest_run(argv) != 0)
		return -1;
	snprintf(rev, sizeof(rev), "%08X", IT_REVOKED);
	{
		const char *a[] = { itest.certs, "--dir", itest.pki, "revoke",
		    rev, NULL };
		const char *b[] = { itest.certs, "--dir", itest.pki2, "--name",
		    "Foreign CA", "init", NULL };
		const char *c[] = { itest.certs, "--dir", itest.pki2, "issue",
		    "00010001", NULL };

		if (itest_run(a) != 0 || itest_run(b) != 0 ||
		    itest_run(c) != 0)
			return -1;
	}
	return 0;
}

int
itest_registry_new(const char *name, char *path, size_t len)
{
	char range[32], dis[9], rev[9];

	itest_fmt(path, len, "%s/%s.db", itest.work, name);
	snprintf(range, sizeof(range), "%08X-%08X", IT_DEV(1), IT_DEV(IT_NDEV));
	snprintf(dis, sizeof(dis), "%08X", IT_DISABLED);
	snprintf(rev, sizeof(rev), "%08X", IT_REVOKED);
	if (itest_ctl(path, "init", "--region", "0001", NULL) != 0 ||
	    itest_ctl(path, "device", "add", range, NULL) != 0 ||
	    itest_ctl(path, "device", "add", dis, "--disabled", NULL) != 0 ||
	    itest_ctl(path, "device", "add", rev, NULL) != 0) {
		fprintf(stderr, "integration: cannot make registry %s (see "
		    "%s)\n", path, itest.cmdlog);
		return -1;
	}
	return 0;
}

int
itest_ms(int ms)
{
	return ms * (itest.factor > 0 ? itest.factor : 1);
}

int
itest_init(void)
{
	const char *vg = getenv("VALGRIND"), *tf = getenv("ITEST_TIME_FACTOR");
	const char *rm[] = { "rm", "-rf", itest.work, NULL };
	char tw[PATH_MAX];

	signal(SIGPIPE, SIG_IGN);
	itest.factor = tf != NULL ? atoi(tf) : 1;
	if (itest.factor < 1 || itest.factor > 100) {
		fprintf(stderr, "integration: ITEST_TIME_FACTOR must be "
		    "1..100\n");
		return -1;
	}
	dir_from_env(itest.src, sizeof(itest.src), "NAP_SRCDIR");
	dir_from_env(itest.build, sizeof(itest.build), "NAP_BUILDDIR");
	itest_fmt(tw, sizeof(tw), "%s/test-work", itest.build);
	itest_fmt(itest.work, sizeof(itest.work), "%s/integration", tw);
	itest_fmt(itest.domain, sizeof(itest.domain), "%s/domain/nap-domain",
	    itest.build);
	itest_fmt(itest.ctl, sizeof(itest.ctl), "%s/tools/nap-ctl",
	    itest.build);
	itest_fmt(itest.certs, sizeof(itest.certs), "%s/certs/nap-certs",
	    itest.src);
	itest_fmt(itest.pki, sizeof(itest.pki), "%s/pki", itest.work);
	itest_fmt(itest.pki2, sizeof(itest.pki2), "%s/pki2", itest.work);
	itest_fmt(itest.valgrind, sizeof(itest.valgrind), "%s",
	    vg != NULL ? vg : "");
	for (const char *p, *const *b = (const char *const[]){ itest.domain,
	    itest.ctl, itest.certs, NULL }; (p = *b) != NULL; b++)
		if (access(p, X_OK) == -1) {
			fprintf(stderr, "integration: %s: %s (set NAP_SRCDIR "
			    "and NAP_BUILDDIR)\n", p, strerror(errno));
			return -1;
		}
	itest.cmdlog[0] = '\0';
	if (itest_run(rm) != 0 || mkdir_p(itest.work) == -1) {
		fprintf(stderr, "integration: cannot make %s\n", itest.work);
		return -1;
	}
	itest_fmt(itest.cmdlog, sizeof(itest.cmdlog), "%s/commands.log",
	    itest.work);
	if ((parser = env_parser_new(0)) == NULL) {
		fprintf(stderr, "integration: no memory\n");
		return -1;
	}
	if (issue_pki() == -1) {
		fprintf(stderr, "integration: cannot issue the PKI (see %s)\n",
		    itest.cmdlog);
		return -1;
	}
	return 0;
}

void
itest_fini(void)
{
	for (int i = 0; i < MAX_SERVERS; i++)
		if (live[i] != NULL && live[i]->pid > 0) {
			fprintf(stderr, "integration: server %s (pid %d) was "
			    "left running: killed\n", live[i]->name,
			    (int)live[i]->pid);
			(void)itest_server_kill(live[i]);
		}
	env_parser_free(parser);
	parser = NULL;
}

/* ---- servers ------------------------------------------------------ */

static void
track(struct itest_server *s, bool on)
{
	for (int i = 0; i < MAX_SERVERS; i++) {
		if (on && live[i] == NULL) {
			live[i] = s;
			return;
		}
		if (!on && live[i] == s)
			live[i] = NULL;
	}
}

int
itest_server_start(struct itest_server *s, const char *name,
    const char *registry, const char *const extra[], bool valgrind)
{
	return itest_domain_start(s, name, IT_DOMAIN, registry, extra,
	    valgrind);
}

int
itest_domain_start(struct itest_server *s, const char *name, uint32_t code,
    const char *registry, const char *const extra[], bool valgrind)
{
	const char *argv[64];
	struct server_files f;
	size_t n;
	int ms = IT_WAIT_MS * (valgrind ? VG_FACTOR : 1);

	server_names(s, name, valgrind);
	itest_fmt(s->registry, sizeof(s->registry), "%s", registry);
	if ((n = server_argv(argv, s, itest.domain, code, &f)) == 0)
		return -1;
	argv[n++] = "--registry";
	argv[n++] = s->registry;
	return server_spawn(s, argv, n, extra, ms);
}

/*
 * The start of a server's command line (valgrind when s->valgrind, the
 * program, loopback, port file, the run's PKI for code) into argv, the
 * file names into f.  The count, or 0 when valgrind is asked for but
 * missing.
 */
static size_t
server_argv(const char **argv, struct itest_server *s, const char *prog,
    uint32_t code, struct server_files *f)
{
	size_t n = 0;

	itest_pki_file(f->cert, sizeof(f->cert), itest.pki, code, "crt");
	itest_pki_file(f->key, sizeof(f->key), itest.pki, code, "key");
	itest_fmt(f->ca, sizeof(f->ca), "%s/ca.crt", itest.pki);
	itest_fmt(f->crl, sizeof(f->crl), "%s/crl.pem", itest.pki);
	unlink(s->portfile);
	if (s->valgrind) {
		if (itest.valgrind[0] == '\0')
			return 0;
		argv[n++] = itest.valgrind;
		argv[n++] = "--error-exitcode=99";
		argv[n++] = "--leak-check=full";
		argv[n++] = "--errors-for-leak-kinds=definite";
		argv[n++] = "--quiet";
	}
	argv[n++] = prog;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--port-file";
	argv[n++] = s->portfile;
	argv[n++] = "--cert";
	argv[n++] = f->cert;
	argv[n++] = "--key";
	argv[n++] = f->key;
	argv[n++] = "--ca";
	argv[n++] = f->ca;
	argv[n++] = "--crl";
	argv[n++] = f->crl;
	return n;
}

/* Appends the extra arguments, spawns, waits for the port file. */
static int
server_spawn(struct itest_server *s, const char **argv, size_t n,
    const char *const extra[], int ms)
{
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if (spawn(argv, s->log, &s->pid) == -1) {
		s->pid = 0;
		return -1;
	}
	track(s, true);
	return await_port(s, ms);
}

/* A started server's names: its log and port file in the work dir. */
static void
server_names(struct itest_server *s, const char *name, bool valgrind)
{
	memset(s, 0, sizeof(*s));
	s->valgrind = valgrind;
	itest_fmt(s->name, sizeof(s->name), "%s", name);
	itest_fmt(s->log, sizeof(s->log), "%s/%s.log", itest.work, name);
	itest_fmt(s->portfile, sizeof(s->portfile), "%s/%s.port", itest.work,
	    name);
}

/* Waits (bounded) for the port file of a spawned server: 0, or -1 after
 * killing it and printing its log. */
static int
await_port(struct itest_server *s, int ms)
{
	const char *name = s->name;
	int64_t end;
	int st;
	FILE *f;

	/* The port file appears (atomically, by rename) once it accepts. */
	end = now_ms() + ms;
	while (now_ms() < end) {
		if ((f = fopen(s->portfile, "r")) != NULL) {
			int port = 0;

			if (fscanf(f, "%d", &port) == 1 && port > 0 &&
			    port < 65536)
				s->port = port;
			fclose(f);
			if (s->port > 0)
				return 0;
		}
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			fprintf(stderr, "integration: server %s exited (status "
			    "0x%x) before writing its port file\n", name, st);
			s->pid = 0;
			track(s, false);
			itest_server_dump(s);
			return -1;
		}
		itest_sleep_ms(10);
	}
	fprintf(stderr, "integration: server %s wrote no port file in %d ms\n",
	    name, ms);
	(void)itest_server_kill(s);
	itest_server_dump(s);
	return -1;
}

int
itest_server_signal(struct itest_server *s, int sig)
{
	if (s->pid <= 0)
		return -1;
	return kill(s->pid, sig);
}

int
itest_server_wait(struct itest_server *s, int ms)
{
	int st, r;

	if (s->pid <= 0)
		return -1;
	if ((r = reap(s->pid, ms, &st)) != 1)
		return -1;
	s->pid = 0;
	track(s, false);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 256 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int
itest_server_stop(struct itest_server *s)
{
	int rc;

	if (s->pid <= 0)
		return -1;
	if (kill(s->pid, SIGTERM) == -1)
		return -1;
	rc = itest_server_wait(s, STOP_MS * (s->valgrind ? VG_FACTOR : 1));
	if (rc == -1 && s->pid > 0) {
		fprintf(stderr, "integration: server %s did not stop on "
		    "SIGTERM: killed\n", s->name);
		(void)itest_server_kill(s);
		itest_server_dump(s);
		return -1;
	}
	if (rc != 0)
		itest_server_dump(s);
	return rc;
}

int
itest_server_kill(struct itest_server *s)
{
	int st;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGKILL);
	if (reap(s->pid, IT_WAIT_MS, &st) != 1)
		return -1;
	s->pid = 0;
	track(s, false);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : -1;
}

void
itest_server_dump(const struct itest_server *s)
{
	char line[1024];
	long pos;
	FILE *f;

	if ((f = fopen(s->log, "r")) == NULL)
		return;
	/* The last 4 KiB: enough for the lines that matter. */
	if (fseek(f, 0, SEEK_END) == 0 && (pos = ftell(f)) > 4096)
		(void)fseek(f, pos - 4096, SEEK_SET);
	else
		rewind(f);
	fprintf(stderr, "---- %s (tail) ----\n", s->log);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fprintf(stderr, "----\n");
	fclose(f);
}

/* ---- the raw TLS client ---------------------------------------------- */

/* poll() one descriptor until the deadline: >0 ready, 0 timed out. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t now = now_ms();
	int r;

	if (now >= deadline)
		return 0;
	r = poll(&p, 1, (int)(deadline - now));
	return r == -1 && errno == EINTR ? 1 : r;
}

static int
raw_fail(struct itest_raw *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* The link is over: records how (SSL_get_error's e, SSL_read's n). */
static void
raw_closed(struct itest_raw *r, int e, int n)
{
	char buf[120];
	unsigned long le = ERR_peek_error();

	r->closed = true;
	if (e == SSL_ERROR_ZERO_RETURN)
		snprintf(r->why, sizeof(r->why), "close_notify");
	else if (e == SSL_ERROR_SSL && le != 0) {
		ERR_error_string_n(le, buf, sizeof(buf));
		snprintf(r->why, sizeof(r->why), "TLS: %s", buf);
	} else if (e == SSL_ERROR_SYSCALL && n == 0)
		snprintf(r->why, sizeof(r->why), "EOF");
	else
		snprintf(r->why, sizeof(r->why), "error %d (%s)", e,
		    strerror(errno));
	ERR_clear_error();
}

int
itest_raw_open(struct itest_raw *r, int port, const char *pki, uint32_t code,
    int timeout_ms)
{
	return itest_raw_open_as(r, port, pki, code, timeout_ms, IT_DOMAIN);
}

int
itest_raw_open_as(struct itest_raw *r, int port, const char *pki,
    uint32_t code, int timeout_ms, uint32_t server)
{
	struct sockaddr_in sin;
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], cn[32], want[9];
	int64_t end = now_ms() + timeout_ms;
	int rc, e, one = 1;
	X509 *peer;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->code = code;
	r->seq = 1000;
	ERR_clear_error();
	itest_fmt(ca, sizeof(ca), "%s/ca.crt", itest.pki);
	if ((r->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(r->ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(r->ctx, ca, NULL) != 1)
		return raw_fail(r, "client context: %s", ca);
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if (pki != NULL) {
		itest_pki_file(crt, sizeof(crt), pki, code, "crt");
		itest_pki_file(key, sizeof(key), pki, code, "key");
		if (SSL_CTX_use_certificate_chain_file(r->ctx, crt) != 1 ||
		    SSL_CTX_use_PrivateKey_file(r->ctx, key,
		    SSL_FILETYPE_PEM) != 1)
			return raw_fail(r, "cannot load %s", crt);
	}
	if ((r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return raw_fail(r, "socket: %s", strerror(errno));
	(void)setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(r->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		socklen_t sl = sizeof(e);

		if (errno != EINPROGRESS)
			return raw_fail(r, "connect: %s", strerror(errno));
		if (wait_fd(r->fd, POLLOUT, end) <= 0)
			return raw_fail(r, "connect: timed out");
		if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1 ||
		    e != 0)
			return raw_fail(r, "connect: %s", strerror(e));
	}
	if ((r->ssl = SSL_new(r->ctx)) == NULL ||
	    SSL_set_fd(r->ssl, r->fd) != 1)
		return raw_fail(r, "SSL_new failed");
	for (unsigned turn = 0;; turn++) {
		if (turn == RAW_MAX_TURNS)
			return raw_fail(r, "TLS handshake: no end");
		ERR_clear_error();
		if ((rc = SSL_connect(r->ssl)) == 1)
			break;
		e = SSL_get_error(r->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(r->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, end) <= 0)
				return raw_fail(r, "TLS handshake: timed out");
			continue;
		}
		raw_closed(r, e, rc);
		return raw_fail(r, "TLS handshake failed: %.120s",
		    r->why[0] ? r->why : "?");
	}
	/* The server must be the one expected (§2). */
	peer = SSL_get1_peer_certificate(r->ssl);
	cn[0] = '\0';
	if (peer != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
		    NID_commonName, cn, sizeof(cn));
	X509_free(peer);
	snprintf(want, sizeof(want), "%08X", server);
	if (strcmp(cn, want) != 0)
		return raw_fail(r, "server CN is '%s', not %s", cn, want);
	return 0;
}

void
itest_raw_close(struct itest_raw *r)
{
	if (r->ssl != NULL) {
		if (!r->closed && SSL_is_init_finished(r->ssl))
			(void)SSL_shutdown(r->ssl);	/* best effort */
		SSL_free(r->ssl);
	}
	SSL_CTX_free(r->ctx);
	if (r->fd != -1)
		close(r->fd);
	free(r->buf);
	ERR_clear_error();
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int
itest_raw_write(struct itest_raw *r, const void *p, size_t len)
{
	int64_t end = now_ms() + IT_WAIT_MS;
	int n, e;

	if (r->ssl == NULL || len == 0 || len > INT32_MAX)
		return raw_fail(r, "nothing to write on");
	for (unsigned turn = 0; turn < RAW_MAX_TURNS; turn++) {
		ERR_clear_error();
		if ((n = SSL_write(r->ssl, p, (int)len)) > 0)
			return 0;	/* whole: no partial-write mode */
		e = SSL_get_error(r->ssl, n);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    wait_fd(r->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    end) <= 0) {
			ERR_clear_error();
			return raw_fail(r, "write failed (%d)", e);
		}
	}
	return raw_fail(r, "write: no end");
}

int
itest_raw_send(struct itest_raw *r, const char *body)
{
	size_t len = strlen(body);
	uint8_t *f;
	int rc;

	if ((f = malloc(len + 4)) == NULL)
		return raw_fail(r, "no memory");
	env_frame_put_len(f, (uint32_t)len);
	memcpy(f + 4, body, len);
	rc = itest_raw_write(r, f, len + 4);
	free(f);
	return rc;
}

int
itest_raw_msg(struct itest_raw *r, uint32_t type, const uint32_t *seq,
    uint32_t from, uint32_t to, const char *session, const char *params,
    uint32_t *used)
{
	char *body;
	uint32_t s = seq != NULL ? *seq : ++r->seq;
	size_t plen = params != NULL ? strlen(params) : 0;
	size_t cap = plen + 512;
	int rc;

	if ((body = malloc(cap)) == NULL)
		return raw_fail(r, "no memory");
	snprintf(body, cap, "<Message version=\"1.0\"><Header Message_Type="
	    "\"%u\" SessionId=\"%s\" Seq=\"%u\" From=\"%08X\" To=\"%08X\"/>"
	    "%s%s%s</Message>", type, session ? session : "", s, from, to,
	    params ? "<parameters>" : "", params ? params : "",
	    params ? "</parameters>" : "");
	if (used != NULL)
		*used = s;
	rc = itest_raw_send(r, body);
	free(body);
	return rc;
}

/* Takes one whole frame from r->buf: 1, 0 when none yet, -1 bad. */
static int
frame_take(struct itest_raw *r, struct itest_frame *f)
{
	struct env_error err;
	uint32_t len;

	if (r->len < 4)
		return 0;
	len = (uint32_t)r->buf[0] << 24 | (uint32_t)r->buf[1] << 16 |
	    (uint32_t)r->buf[2] << 8 | r->buf[3];
	if (len == 0 || len > RAW_MAX_FRAME)
		return raw_fail(r, "the server sent a frame length of %u", len);
	if (r->len - 4 < len)
		return 0;
	if ((f->body = malloc((size_t)len + 1)) == NULL)
		return raw_fail(r, "no memory");
	memcpy(f->body, r->buf + 4, len);
	f->body[len] = '\0';
	f->len = len;
	f->parsed = env_parse_header(parser, r->buf + 4, len, &f->h, &err) ==
	    0;
	memmove(r->buf, r->buf + 4 + len, r->len - 4 - len);
	r->len -= 4 + (size_t)len;
	return 1;
}

int
itest_raw_recv(struct itest_raw *r, struct itest_frame *f, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int n, e, t;

	memset(f, 0, sizeof(*f));
	if (r->ssl == NULL)
		return IT_ERR;
	/* Bounded by the deadline and by the input cap: each turn reads
	 * bytes (at most RAW_MAX_FRAME of them) or waits. */
	for (unsigned turn = 0; turn < RAW_MAX_TURNS; turn++) {
		if ((t = frame_take(r, f)) != 0)
			return t == 1 ? IT_FRAME : IT_ERR;
		if (r->closed)
			return IT_CLOSED;
		if (r->cap - r->len < RAW_CHUNK) {
			uint8_t *nb;
			size_t ncap = r->cap ? r->cap * 2 : 4 * RAW_CHUNK;

			if (ncap > RAW_MAX_FRAME + 2 * RAW_CHUNK ||
			    (nb = realloc(r->buf, ncap)) == NULL)
				return raw_fail(r, "input too large"), IT_ERR;
			r->buf = nb;
			r->cap = ncap;
		}
		ERR_clear_error();
		n = SSL_read(r->ssl, r->buf + r->len, (int)(r->cap - r->len));
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		e = SSL_get_error(r->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(r->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, end) <= 0)
				return IT_TIMEOUT;
			continue;
		}
		raw_closed(r, e, n);
	}
	raw_fail(r, "no frame after %u reads", RAW_MAX_TURNS);
	return IT_ERR;
}

int
itest_raw_expect(struct itest_raw *r, uint32_t type, struct itest_frame *f,
    int timeout_ms, unsigned *skipped)
{
	int64_t end = now_ms() + timeout_ms;
	int rc;

	for (unsigned n = 0; n < RAW_MAX_FRAMES; n++) {
		int64_t left = end - now_ms();

		rc = itest_raw_recv(r, f, left > 0 ? (int)left : 0);
		if (rc != IT_FRAME)
			return rc;
		if (f->parsed && f->h.type == type)
			return IT_FRAME;
		if (skipped != NULL)
			(*skipped)++;
		itest_frame_free(f);
	}
	raw_fail(r, "more than %u frames", RAW_MAX_FRAMES);
	return IT_ERR;
}

int
itest_raw_wait_closed(struct itest_raw *r, int timeout_ms, unsigned *frames)
{
	int64_t end = now_ms() + timeout_ms;
	struct itest_frame f;
	int rc;

	for (unsigned n = 0; n < RAW_MAX_FRAMES; n++) {
		int64_t left = end - now_ms();

		rc = itest_raw_recv(r, &f, left > 0 ? (int)left : 0);
		if (rc == IT_CLOSED)
			return 0;
		if (rc != IT_FRAME)
			return -1;
		if (frames != NULL)
			(*frames)++;
		itest_frame_free(&f);
	}
	return -1;
}

int
itest_raw_login(struct itest_raw *r, uint32_t code, int timeout_ms)
{
	return login_msg(r, code, IT_DOMAIN,
	    "<client name=\"itest\" version=\"1\"/>", timeout_ms);
}

/* Login From from To to with these parameters; as itest_raw_login(). */
static int
login_msg(struct itest_raw *r, uint32_t from, uint32_t to,
    const char *params, int timeout_ms)
{
	struct itest_frame f;
	uint32_t seq;
	int rc, ecode;

	if (itest_raw_msg(r, 1, NULL, from, to, "", params, &seq) == -1)
		return -1;
	rc = itest_raw_recv(r, &f, timeout_ms);
	if (rc != IT_FRAME)
		return raw_fail(r, "no answer to Login: %s", rc == IT_CLOSED ?
		    r->why : rc == IT_TIMEOUT ? "timed out" : r->why);
	if (f.parsed && f.h.type == 6 && itest_frame_error(&f, &ecode,
	    &seq) == 0) {
		itest_frame_free(&f);
		return ecode;
	}
	if (!f.parsed || f.h.type != 2 || f.h.seq != seq ||
	    strlen(f.h.session) != 16) {
		raw_fail(r, "not a LoginReply echoing Seq %u: %.100s", seq,
		    f.body);
		itest_frame_free(&f);
		return -1;
	}
	memcpy(r->session, f.h.session, sizeof(r->session));
	itest_frame_free(&f);
	return 0;
}

void
itest_frame_free(struct itest_frame *f)
{
	free(f->body);
	memset(f, 0, sizeof(*f));
}

/* The value of attribute name in the first <error .../> element. */
static const char *
error_attr(const char *body, const char *name, size_t *len)
{
	const char *e = strstr(body, "<error "), *end, *p;
	char pat[32];

	if (e == NULL || (end = strchr(e, '>')) == NULL)
		return NULL;
	snprintf(pat, sizeof(pat), " %s=\"", name);
	if ((p = strstr(e, pat)) == NULL || p > end)
		return NULL;
	p += strlen(pat);
	*len = strcspn(p, "\"");
	return p;
}

int
itest_frame_error(const struct itest_frame *f, int *code, uint32_t *seq)
{
	const char *c, *s;
	size_t cl, sl;
	char buf[16];

	if (!f->parsed || f->h.type != 6 || f->body == NULL ||
	    (c = error_attr(f->body, "code", &cl)) == NULL ||
	    (s = error_attr(f->body, "seq", &sl)) == NULL ||
	    cl == 0 || cl > 3 || sl == 0 || sl > 10)
		return -1;
	memcpy(buf, c, cl);
	buf[cl] = '\0';
	*code = atoi(buf);
	memcpy(buf, s, sl);
	buf[sl] = '\0';
	*seq = (uint32_t)strtoul(buf, NULL, 10);
	return 0;
}

/* ---- libnap handles ----------------------------------------------- */

/* ITEST_DEBUG=1 in the environment: every handle's log on stderr. */
static void
debug_log(struct nap *n, enum nap_log_level lvl, const char *line,
    void *arg)
{
	(void)arg;
	fprintf(stderr, "libnap %08X [%d]: %s\n", nap_code(n), (int)lvl, line);
}

struct nap *
itest_nap_new(uint32_t code, const char *pki, int port, unsigned connect_ms)
{
	char crt[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	struct nap *n;
	int rc;

	if ((n = nap_new()) == NULL) {
		fprintf(stderr, "integration: nap_new: no memory\n");
		return NULL;
	}
	itest_pki_file(crt, sizeof(crt), pki, code, "crt");
	itest_pki_file(key, sizeof(key), pki, code, "key");
	itest_fmt(ca, sizeof(ca), "%s/ca.crt", itest.pki);
	if ((rc = nap_set_server(n, "127.0.0.1", (uint16_t)port)) != 0 ||
	    (rc = nap_set_tls(n, crt, key, ca, NULL)) != 0 ||
	    (rc = nap_set_connect_timeout(n, connect_ms)) != 0) {
		fprintf(stderr, "integration: libnap handle for %08X: %d %s\n",
		    code, rc, nap_errmsg(n));
		nap_free(n);
		return NULL;
	}
	if (getenv("ITEST_DEBUG") != NULL)
		nap_set_log_cb(n, debug_log, NAP_LOG_DEBUG, NULL);
	return n;
}

bool
itest_pump(struct nap **h, size_t n, int timeout_ms, bool (*done)(void *),
    void *arg)
{
	int64_t end = now_ms() + timeout_ms, *due, *last;
	struct pollfd *p;
	bool ok = false;

	p = calloc(n ? n : 1, sizeof(*p));
	due = calloc(n ? n : 1, sizeof(*due));
	last = calloc(n ? n : 1, sizeof(*last));
	if (p == NULL || due == NULL || last == NULL)
		goto out;
	/* Bounded by the time, and by a count of turns as a backstop. */
	for (unsigned turn = 0; turn < 10000000; turn++) {
		int64_t now;
		int wait, t;

		if (done != NULL && done(arg)) {
			ok = true;
			break;
		}
		if ((now = now_ms()) >= end)
			break;
		wait = (int)(end - now > PUMP_TICK ? PUMP_TICK : end - now);
		for (size_t i = 0; i < n; i++) {
			enum nap_state st = h[i] ? nap_state(h[i]) :
			    NAP_ST_IDLE;

			p[i].fd = -1;
			p[i].events = 0;
			p[i].revents = 0;
			due[i] = -1;
			if (st == NAP_ST_IDLE || st == NAP_ST_CLOSED)
				continue;
			p[i].fd = nap_fd(h[i]);
			p[i].events = POLLIN | (nap_want_write(h[i]) ?
			    POLLOUT : 0);
			/* The handle's timer, kept as a time: it is due once
			 * that time has come, whatever the handle says then. */
			if ((t = nap_next_timeout_ms(h[i])) >= 0) {
				due[i] = now + t;
				if (t < wait)
					wait = t;
			}
		}
		if (poll(p, (nfds_t)n, wait) == -1 && errno != EINTR) {
			fprintf(stderr, "integration: poll: %s\n",
			    strerror(errno));
			break;
		}
		now = now_ms();
		for (size_t i = 0; i < n; i++) {
			enum nap_state st = h[i] ? nap_state(h[i]) :
			    NAP_ST_IDLE;
			int ev = 0;

			if (st == NAP_ST_IDLE || st == NAP_ST_CLOSED)
				continue;
			if (p[i].revents & (POLLIN | POLLERR | POLLHUP))
				ev |= NAP_READ;
			if (p[i].revents & (POLLOUT | POLLERR))
				ev |= NAP_WRITE;
			/*
			 * Also every PUMP_TICK ms: a timer that the handle
			 * reported a little late is still run in time (the
			 * heartbeat of a 1 s interval has 1 s of slack).
			 */
			if (ev != 0 || (due[i] >= 0 && now >= due[i]) ||
			    now - last[i] >= PUMP_TICK) {
				last[i] = now;
				(void)nap_process(h[i], ev);
			}
		}
	}
out:
	free(p);
	free(due);
	free(last);
	return ok;
}

/* ---- nap-platform (§1, §5) ------------------------------------------- */

int
itest_platform_init(void)
{
	static int done;
	const char *argv[] = { itest.certs, "--dir", itest.pki, "issue",
	    "00000000", "00020000", "00020001", NULL };

	if (done)
		return 0;
	itest_fmt(itest.platform, sizeof(itest.platform),
	    "%s/platform/nap-platform", itest.build);
	if (access(itest.platform, X_OK) == -1) {
		fprintf(stderr, "integration: %s: %s\n", itest.platform,
		    strerror(errno));
		return -1;
	}
	if (itest_run(argv) != 0) {
		fprintf(stderr, "integration: cannot issue the platform's "
		    "certificates (see %s)\n", itest.cmdlog);
		return -1;
	}
	done = 1;
	return 0;
}

int
itest_platform_start(struct itest_server *s, const char *name,
    const char *const extra[], bool valgrind)
{
	const char *argv[64];
	struct server_files f;
	size_t n;

	if (itest_platform_init() == -1)
		return -1;
	server_names(s, name, valgrind);
	if ((n = server_argv(argv, s, itest.platform, IT_PLATFORM, &f)) == 0)
		return -1;
	return server_spawn(s, argv, n, extra, IT_WAIT_MS *
	    (valgrind ? VG_FACTOR : 1));
}

int
itest_raw_login_with(struct itest_raw *r, uint32_t to, const char *params,
    int timeout_ms)
{
	return login_msg(r, r->code, to, params, timeout_ms);
}

/* ---- federations of real domains (§5, §6) ------------------------------- */

int
itest_fed_init(void)
{
	static int done;
	const char *argv[IT_NDEV2 + 8];
	static char codes[IT_NDEV2 + 1][9];
	size_t n = 0, k = 0;

	if (done)
		return 0;
	if (itest_platform_init() == -1)
		return -1;
	argv[n++] = itest.certs;
	argv[n++] = "--dir";
	argv[n++] = itest.pki;
	argv[n++] = "issue";
	/* 00020001 was issued by itest_platform_init(). */
	for (uint32_t i = 2; i <= IT_NDEV2; i++) {
		snprintf(codes[k], 9, "%08X", IT_DEV2N(i));
		argv[n++] = codes[k++];
	}
	snprintf(codes[k], 9, "%08X", IT_DOMAIN3);
	argv[n++] = codes[k++];
	argv[n] = NULL;
	if (itest_run(argv) != 0) {
		fprintf(stderr, "integration: cannot issue the federation's "
		    "certificates (see %s)\n", itest.cmdlog);
		return -1;
	}
	done = 1;
	return 0;
}

int
itest_registry_new_region(const char *name, uint16_t region, char *path,
    size_t len)
{
	char reg[8], range[32], dis[9];
	uint32_t base = (uint32_t)region << 16;

	itest_fmt(path, len, "%s/%s.db", itest.work, name);
	snprintf(reg, sizeof(reg), "%04X", region);
	snprintf(range, sizeof(range), "%08X-%08X", base + 1, base + IT_NDEV);
	snprintf(dis, sizeof(dis), "%08X", base + IT_NDEV + 1);
	if (itest_ctl(path, "init", "--region", reg, NULL) != 0 ||
	    itest_ctl(path, "device", "add", range, NULL) != 0 ||
	    itest_ctl(path, "device", "add", dis, "--disabled", NULL) != 0) {
		fprintf(stderr, "integration: cannot make registry %s (see "
		    "%s)\n", path, itest.cmdlog);
		return -1;
	}
	return 0;
}

long
itest_log_size(const struct itest_server *s)
{
	struct stat st;

	return stat(s->log, &st) == 0 ? (long)st.st_size : 0;
}

unsigned
itest_log_count(const struct itest_server *s, long offset, const char *needle)
{
	char line[2048];
	unsigned n = 0;
	FILE *f;

	if ((f = fopen(s->log, "r")) == NULL)
		return 0;
	if (offset > 0 && fseek(f, offset, SEEK_SET) != 0) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}
