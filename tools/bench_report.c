/*
 * bench_report.c - what nap-bench measures and prints: the latency
 * histogram, the servers' CPU and memory from /proc/PID, the progress
 * line, the result as one text line (plus one per server PID) or one
 * JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench_internal.h"
#include "clock.h"

static int	hist_index(uint32_t);
static uint32_t	hist_value(int);
static void	report_text(struct bench *);
static void	report_json(struct bench *);
static void	srv_sums(const struct bench *, double *, long *, long *,
		    long *);
static double	proc_cpu(const struct bench *, const struct bench_proc *);
static double	secs(int64_t, int64_t);
static long	per_device(long, long, int);

/* Bucket of v µs: exact below 128, then 6 bits of mantissa. */
static int
hist_index(uint32_t v)
{
	int e;

	if (v < BENCH_HIST_LINEAR)
		return (int)v;
	e = 31 - __builtin_clz(v);	/* 7..31 */
	return BENCH_HIST_LINEAR + (e - 7) * BENCH_HIST_SUB +
	    (int)((v >> (e - 6)) & (BENCH_HIST_SUB - 1));
}

/* The middle of bucket k, µs. */
static uint32_t
hist_value(int k)
{
	int e, sub;

	if (k < BENCH_HIST_LINEAR)
		return (uint32_t)k;
	e = (k - BENCH_HIST_LINEAR) / BENCH_HIST_SUB + 7;
	sub = (k - BENCH_HIST_LINEAR) % BENCH_HIST_SUB;
	return ((uint32_t)(BENCH_HIST_SUB + sub) << (e - 6)) +
	    ((1u << (e - 6)) >> 1);
}

void
bench_hist_add(struct bench_hist *h, uint32_t us)
{
	h->b[hist_index(us)]++;
	h->count++;
	if (us > h->max)
		h->max = us;
}

/* The q-quantile (0..1) in ms; the maximum for q >= 1; 0 when empty. */
double
bench_hist_ms(const struct bench_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (q >= 1)
		return h->max / 1000.0;
	rank = (uint64_t)(q * (double)h->count);	/* as loadgen: lat[n*q] */
	for (int k = 0; k < BENCH_HIST_N; k++) {
		seen += h->b[k];
		if (seen > rank) {
			uint32_t v = hist_value(k);

			return (v > h->max ? h->max : v) / 1000.0;
		}
	}
	return h->max / 1000.0;
}

/* utime + stime of pid in clock ticks (/proc/PID/stat fields 14, 15);
 * *ok cleared when it cannot be read. */
uint64_t
bench_proc_ticks(pid_t pid, int *ok)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL) {
		*ok = 0;
		return 0;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* The command name (field 2) may hold spaces: count after its ')'. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2, "%*c %*d %*d %*d "
	    "%*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
		*ok = 0;
		return 0;
	}
	return ut + st;
}

/* A "Vm...:" line of /proc/PID/status in kB (pid 0: ourselves), or -1. */
long
bench_proc_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Our own user + system CPU seconds. */
double
bench_self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * when 0: before the devices connect (baseline VmRSS); 1: at the start
 * of the measured phase (CPU); 2: at its end (CPU, VmRSS, VmHWM).
 */
void
bench_procs_sample(struct bench *b, int when)
{
	for (int k = 0; k < b->nproc; k++) {
		struct bench_proc *p = &b->proc[k];

		if (when == 0) {
			p->ok = 1;
			if ((p->rss0_kb = bench_proc_kb(p->pid, "VmRSS")) < 0)
				p->ok = 0;
		} else if (when == 1)
			p->ticks0 = bench_proc_ticks(p->pid, &p->ok);
		else {
			p->ticks1 = bench_proc_ticks(p->pid, &p->ok);
			p->rss_kb = bench_proc_kb(p->pid, "VmRSS");
			p->hwm_kb = bench_proc_kb(p->pid, "VmHWM");
			if (p->rss_kb < 0 || p->hwm_kb < 0)
				p->ok = 0;
		}
	}
	if (when == 0)
		b->self_rss0_kb = bench_proc_kb(0, "VmRSS");
	else if (when == 1)
		b->cpu0 = bench_self_cpu();
	else {
		b->cpu1 = bench_self_cpu();
		b->self_rss_kb = bench_proc_kb(0, "VmRSS");
	}
}

/* CPU % of one core over the measured phase. */
static double
proc_cpu(const struct bench *b, const struct bench_proc *p)
{
	double secs = (double)(b->t_end - b->t_on) / 1e6;
	long hz = sysconf(_SC_CLK_TCK);

	if (secs <= 0 || hz <= 0 || p->ticks1 < p->ticks0)
		return 0;
	return 100.0 * (double)(p->ticks1 - p->ticks0) / (double)hz / secs;
}

/* Sums over the PIDs: CPU %, VmRSS before and after, VmHWM (kB). */
static void
srv_sums(const struct bench *b, double *cpu, long *rss0, long *rss,
    long *hwm)
{
	*cpu = 0;
	*rss0 = *rss = *hwm = 0;
	for (int k = 0; k < b->nproc; k++) {
		*cpu += proc_cpu(b, &b->proc[k]);
		*rss0 += b->proc[k].rss0_kb > 0 ? b->proc[k].rss0_kb : 0;
		*rss += b->proc[k].rss_kb > 0 ? b->proc[k].rss_kb : 0;
		*hwm += b->proc[k].hwm_kb > 0 ? b->proc[k].hwm_kb : 0;
	}
}

/* Once a second (or now, with force): \r, then the line again. */
void
bench_progress(struct bench *b, int force)
{
	int64_t now = mono_us();
	double rate;

	if (b->quiet || (!force && now < b->next_progress))
		return;
	rate = (double)(b->received - b->progress_recv) * 1e6 /
	    (double)(now - b->next_progress + 1000000);
	fprintf(stderr, "\rnap-bench: %s connected %d/%d sent %llu received "
	    "%llu msgs/s %.0f   ", b->phase == BENCH_CONNECT ? "login" :
	    b->phase == BENCH_HOLD ? "hold" : "load", b->online, b->n,
	    (unsigned long long)b->sent, (unsigned long long)b->received,
	    force ? 0 : rate);
	b->progressed = 1;
	b->progress_recv = b->received;
	b->next_progress = now + 1000000;
}

/* Ends the progress line, then prints the result on stdout. */
void
bench_report(struct bench *b)
{
	if (b->progressed)
		fputc('\n', stderr);
	if (b->json)
		report_json(b);
	else
		report_text(b);
	fflush(stdout);
}

/* µs between two instants, as seconds. */
static double
secs(int64_t from, int64_t to)
{
	return to > from ? (double)(to - from) / 1e6 : 0;
}

static long
per_device(long after, long before, int n)
{
	return n > 0 && after > before ? (after - before) / n : 0;
}

static void
report_text(struct bench *b)
{
	uint64_t want = (uint64_t)b->n * (uint64_t)b->m;
	double cpu, load = secs(b->t_on, b->t_end);
	long rss0, rss, hwm;

	srv_sums(b, &cpu, &rss0, &rss, &hwm);
	if (b->idle)
		printf("nap-bench idle topo=T%d n=%d duration_s=%d online=%d "
		    "closed=%d conn_s=%.3f srv_rss0_kb=%ld srv_rss_kb=%ld "
		    "srv_kb_per_dev=%ld srv_cpu=%.1f lg_kb_per_dev=%ld "
		    "lg_cpu=%.1f spread=%d\n", b->t2 ? 2 : 1, b->n,
		    b->duration, b->online - b->closed, b->closed,
		    secs(b->t0, b->t_on), rss0, rss, per_device(rss, rss0,
		    b->n), cpu, per_device(b->self_rss_kb, b->self_rss0_kb,
		    b->n), load > 0 ? 100 * (b->cpu1 - b->cpu0) / load : 0,
		    b->spread);
	else
		printf("nap-bench topo=T%d n=%d m=%d w=%d p=%d ack=%d "
		    "rate_target=%.0f sent=%llu recv=%llu lost=%llu rate=%.0f "
		    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f conn_s=%.3f "
		    "errors=%llu closed=%d delivered=%llu stored=%llu "
		    "unknown=%llu stale=%llu lg_cpu=%.0f srv_cpu=%.0f "
		    "srv_rss_mib=%.1f spread=%d\n", b->t2 ? 2 : 1, b->n, b->m, b->w, b->p,
		    b->ack, b->rate, (unsigned long long)b->sent,
		    (unsigned long long)b->received, (unsigned long long)(want >
		    b->received ? want - b->received : 0), load > 0 ?
		    (double)b->received / load : 0, bench_hist_ms(&b->lat, .5),
		    bench_hist_ms(&b->lat, .99), bench_hist_ms(&b->lat, 1),
		    secs(b->t0, b->t_on), (unsigned long long)b->errors,
		    b->closed, (unsigned long long)b->delivered,
		    (unsigned long long)b->stored,
		    (unsigned long long)b->unknown,
		    (unsigned long long)b->stale, load > 0 ?
		    100 * (b->cpu1 - b->cpu0) / load : 0, cpu, hwm / 1024.0,
		    b->spread);
	for (int k = 0; k < b->nproc; k++) {
		const struct bench_proc *p = &b->proc[k];

		printf("nap-bench pid=%ld cpu=%.1f rss0_kb=%ld rss_kb=%ld "
		    "hwm_kb=%ld%s\n", (long)p->pid, proc_cpu(b, p), p->rss0_kb,
		    p->rss_kb, p->hwm_kb, p->ok ? "" : " unreadable=1");
	}
}

static void
report_json(struct bench *b)
{
	uint64_t want = b->idle ? 0 : (uint64_t)b->n * (uint64_t)b->m;
	double cpu, load = secs(b->t_on, b->t_end);
	long rss0, rss, hwm;

	srv_sums(b, &cpu, &rss0, &rss, &hwm);
	printf("{\"mode\":\"%s\",\"topology\":%d,\"devices\":%d,"
	    "\"messages_each\":%d,\"window\":%d,\"payload\":%d,\"ack\":%s,"
	    "\"rate_target\":%.0f,\"duration_s\":%d,\"spread\":%s,\"online\":%d,\"closed\":%d,"
	    "\"connect_s\":%.3f,\"phase_s\":%.3f,\"sent\":%llu,"
	    "\"received\":%llu,\"lost\":%llu,\"msgs_per_s\":%.0f,"
	    "\"latency_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
	    "\"errors\":%llu,\"receipts\":{\"delivered\":%llu,\"stored\":%llu,"
	    "\"unknown\":%llu},\"stale\":%llu,\"client\":{\"cpu_pct\":%.1f,\"rss0_kb\":%ld,"
	    "\"rss_kb\":%ld,\"kb_per_device\":%ld},",
	    b->idle ? "idle" : b->rate > 0 ? "paced" : "closed",
	    b->t2 ? 2 : 1, b->n, b->idle ? 0 : b->m, b->w, b->p,
	    b->ack ? "true" : "false", b->rate, b->idle ? b->duration : 0,
	    b->spread ? "true" : "false",
	    b->online - b->closed, b->closed, secs(b->t0, b->t_on), load,
	    (unsigned long long)b->sent, (unsigned long long)b->received,
	    (unsigned long long)(want > b->received ? want - b->received : 0),
	    load > 0 && !b->idle ? (double)b->received / load : 0,
	    bench_hist_ms(&b->lat, .5), bench_hist_ms(&b->lat, .99),
	    bench_hist_ms(&b->lat, 1), (unsigned long long)b->errors,
	    (unsigned long long)b->delivered, (unsigned long long)b->stored,
	    (unsigned long long)b->unknown, (unsigned long long)b->stale,
	    load > 0 ? 100 * (b->cpu1 -
	    b->cpu0) / load : 0, b->self_rss0_kb, b->self_rss_kb,
	    per_device(b->self_rss_kb, b->self_rss0_kb, b->n));
	printf("\"servers\":{\"cpu_pct\":%.1f,\"rss0_kb\":%ld,\"rss_kb\":%ld,"
	    "\"hwm_kb\":%ld,\"kb_per_device\":%ld,\"pids\":[", cpu, rss0, rss,
	    hwm, per_device(rss, rss0, b->n));
	for (int k = 0; k < b->nproc; k++) {
		const struct bench_proc *p = &b->proc[k];

		printf("%s{\"pid\":%ld,\"cpu_pct\":%.1f,\"rss0_kb\":%ld,"
		    "\"rss_kb\":%ld,\"hwm_kb\":%ld,\"readable\":%s}", k ? "," :
		    "", (long)p->pid, proc_cpu(b, p), p->rss0_kb, p->rss_kb,
		    p->hwm_kb, p->ok ? "true" : "false");
	}
	printf("]}}\n");
}
