/*
 * audit_gen.c - writes a known audit log through the real writer
 * (common/audit.c), for test/audit.test and to measure the writer.
 *
 * usage: audit_gen [-t THREADS] [-n PER_THREAD] [-k KEYFILE]
 *            [-r ROTATE_BYTES] [-H RANGES] [-s every|never|MS] [-o]
 *            [-L FILE_SIZE_LIMIT [-F]] LOG
 *
 * Thread T (0-based) sends messages i = 0 .. n-1 from 0001000(T+1) with
 * Seq i, bracketed by a login and a logout session record:
 *   type      i%4: 0 -> 1000, 1 -> 1001, 2 -> 2000, 3 -> 5
 *   to        i%2: 0 -> 00010009, 1 -> 00020001 (another region)
 *   hop       i%2: 0 -> in, 1 -> out
 *   verdict   i%6: routed delivered stored confirmed expired refused(404)
 *   payload   "<text>t T i I</text>"; "needle" too when i%10 == 7;
 *             a line feed inside when i%50 == 0 (stored as base64)
 *   i%100 == 99: a body that does not parse (no Header, base64)
 * test/audit.test counts on exactly this.  With -o the audit is off
 * (the same calls, a NULL handle) to compare the callers' cost.
 * Prints records/s and the mean cost of audit_msg() on the caller.
 * -L sets RLIMIT_FSIZE once the log is open, so that writes fail as on a
 * full disk (EFBIG instead of ENOSPC: the same path in the writer); -F
 * picks the stop-accepting policy instead of keep-routing.
 * Exit status 1 when records were lost.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "envelope.h"

struct gen {
	struct audit	*a;
	int		 idx;
	unsigned	 n;
	double		 call_ns;	/* time spent in audit_msg() */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
make_body(char *b, size_t cap, uint32_t from, unsigned i)
{
	static const uint32_t types[] = { 1000, 1001, 2000, 5 };

	if (i % 100 == 99)
		return (size_t)snprintf(b, cap, "<Message version=\"1.0\"><Hea");
	return (size_t)snprintf(b, cap, "<Message version=\"1.0\"><Header "
	    "Message_Type=\"%u\" SessionId=\"5F1C9A0E33B2D871\" Seq=\"%u\" "
	    "From=\"%08X\" To=\"%08X\"/><parameters><text>t %u i %u%s%s"
	    "</text></parameters></Message>", types[i % 4], i, from,
	    i % 2 ? 0x00020001u : 0x00010009u, from & 0xffff, i,
	    i % 10 == 7 ? " needle" : "", i % 50 == 0 ? "\nline two" : "");
}

static void *
run(void *arg)
{
	struct gen *g = arg;
	struct env_parser *p = env_parser_new(0);
	struct audit_counts c = { 0 };
	struct env_header h;
	struct env_error e;
	uint32_t from = 0x00010001u + (uint32_t)g->idx;
	char body[512];

	audit_session(g->a, from, "5F1C9A0E33B2D871", true, "login", NULL);
	for (unsigned i = 0; i < g->n; i++) {
		size_t len = make_body(body, sizeof(body), from, i);
		int ok = env_parse_header(p, (uint8_t *)body, len, &h, &e);
		enum audit_verdict v = (enum audit_verdict)(i % 6);
		double t0 = now_s();

		audit_msg(g->a, i % 2 ? AUDIT_OUT : AUDIT_IN, from, v,
		    v == AUDIT_REFUSED ? 404 : 0, ok == 0 ? &h : NULL,
		    (uint8_t *)body, len);
		g->call_ns += (now_s() - t0) * 1e9;
		if (ok == 0)
			audit_counts_add(&c, h.type, false, len);
	}
	audit_session(g->a, from, "5F1C9A0E33B2D871", false, "logout", &c);
	env_parser_free(p);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: audit_gen [-t THREADS] [-n PER_THREAD] "
	    "[-k KEYFILE] [-r ROTATE_BYTES] [-H RANGES] "
	    "[-s every|never|MS] [-o] [-L BYTES [-F]] LOG\n");
	exit(2);
}

static void
options(int argc, char **argv, struct audit_conf *c, int *threads,
    unsigned *n, int *off, long *limit)
{
	char err[256];
	int ch;

	while ((ch = getopt(argc, argv, "t:n:k:r:H:s:oL:F")) != -1) {
		switch (ch) {
		case 't': *threads = atoi(optarg); break;
		case 'n': *n = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': c->key_file = optarg; break;
		case 'r': c->rotate_bytes = strtoul(optarg, NULL, 10); break;
		case 'H': c->header_only = optarg; break;
		case 's':
			if (audit_parse_sync(optarg, &c->sync, &c->sync_ms,
			    err, sizeof(err)) == -1) {
				fprintf(stderr, "audit_gen: %s\n", err);
				exit(2);
			}
			break;
		case 'o': *off = 1; break;
		case 'L': *limit = atol(optarg); break;
		case 'F': c->on_full = AUDIT_FULL_STOP_ACCEPTING; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || *threads < 1 || *threads > 64)
		usage();
	c->path = argv[optind];
}

int
main(int argc, char **argv)
{
	struct audit_conf c = { .server_code = 0x00010000u,
	    .instance = "dom1", .sync = AUDIT_SYNC_NEVER };
	struct gen g[64];
	pthread_t tid[64];
	struct audit_stat st;
	unsigned n = 1000;
	int threads = 1, off = 0;
	long limit = 0;
	struct rlimit rl;
	char err[512];
	double t0, ns = 0;

	options(argc, argv, &c, &threads, &n, &off, &limit);
	t0 = now_s();
	memset(g, 0, sizeof(g));
	if (!off && (g[0].a = audit_open(&c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "audit_gen: %s\n", err);
		return 1;
	}
	if (limit > 0 && getrlimit(RLIMIT_FSIZE, &rl) == 0) {
		signal(SIGXFSZ, SIG_IGN);	/* EFBIG instead */
		rl.rlim_cur = (rlim_t)limit;
		setrlimit(RLIMIT_FSIZE, &rl);
	}
	for (int i = 0; i < threads; i++) {
		g[i].a = g[0].a;
		g[i].idx = i;
		g[i].n = n;
		pthread_create(&tid[i], NULL, run, &g[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		ns += g[i].call_ns;
	}
	audit_stats(g[0].a, &st);
	if (!st.accepting)
		fprintf(stderr, "audit_gen: not accepting: %s\n",
		    st.last_error);
	audit_close(g[0].a, &st);
	t0 = now_s() - t0;
	fprintf(stderr, "audit_gen: %u records from %d threads in %.3f s: "
	    "%.0f records/s written, audit_msg %.0f ns on the caller, "
	    "%llu lost, %llu files rotated\n", n * (unsigned)threads, threads,
	    t0, n * threads / t0, ns / ((double)n * threads),
	    (unsigned long long)st.lost, (unsigned long long)st.rotated);
	return st.lost == 0 ? 0 : 1;
}
