/*
 * bench_internal.h - nap-bench's private header: the run's state, shared
 * by its files (nap-bench.c: options and phases; bench_loop.c: the epoll
 * loop over every handle; bench_report.c: latency histogram, /proc
 * figures, text and JSON output; bench_sys.c: descriptors and source
 * address spreading).
 */
#ifndef BENCH_INTERNAL_H
#define BENCH_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "nap.h"

/* 0001..FFFF: every node code of a region (RRRR0000 is the server). */
#define BENCH_MAX_REGION	65535
#define BENCH_MAX_PIDS		16
/* Latency buckets: 0..127 µs one by one, then 64 per power of two up to
 * 2^32 µs (relative error under 1.6%). */
#define BENCH_HIST_LINEAR	128
#define BENCH_HIST_SUB		64
#define BENCH_HIST_N		(BENCH_HIST_LINEAR + (32 - 7) * BENCH_HIST_SUB)

struct bench;

struct bdev {
	struct bench	*b;
	struct nap	*n;
	uint32_t	 code;
	int		 region;	/* 0 or 1 (T2) */
	unsigned	 sent, inflight, received;
	int		 online, closed, queued;	/* queued: on b->refill */
	int		 regfd;		/* registered with epoll, or -1 */
	uint32_t	 regev;
	int64_t		 due;		/* next nap_process() (ms), or -1 */
};

struct bench_hist {
	uint64_t	 count;
	uint32_t	 max;
	uint64_t	 b[BENCH_HIST_N];
};

/* One server PID's /proc figures. */
struct bench_proc {
	pid_t		 pid;
	uint64_t	 ticks0, ticks1;	/* utime + stime */
	long		 rss0_kb;	/* VmRSS before the devices connect */
	long		 rss_kb, hwm_kb;	/* VmRSS, VmHWM at the end */
	int		 ok;		/* every read succeeded */
};

enum bench_phase { BENCH_CONNECT, BENCH_LOAD, BENCH_HOLD, BENCH_DONE };

struct bench {
	/* options */
	const char	*s1, *s2, *dir;
	int		 n, m, w, p, conc, deadline, duration;
	int		 t2, ack, idle, spread, json, quiet;
	double		 rate;		/* total msgs/s; 0: closed loop */
	uint32_t	 first[2];
	struct bench_proc proc[BENCH_MAX_PIDS];
	int		 nproc;
	/* devices */
	struct bdev	*d;
	int		 nreg[2];	/* devices per region */
	uint64_t	 rng;
	char		*filler;
	int		 online, closed, started;
	int		 settled;	/* online or failed, once each */
	int		 spread_checked, spread_failed;
	/* traffic */
	enum bench_phase phase;
	struct bench_hist lat;
	uint64_t	 sent, received, errors;
	uint64_t	 stale;		/* an earlier run's, delivered again */
	uint64_t	 delivered, stored, unknown;	/* receipts (--ack) */
	int		*refill;	/* devices credited since the last turn */
	int		 nrefill;
	int		 pace_next;	/* paced: the next device to send */
	/* times (µs, monotonic) */
	int64_t		 t0, t_on, t_end;
	double		 cpu0, cpu1;	/* our own CPU seconds */
	long		 self_rss0_kb, self_rss_kb;
	/* the loop */
	int		 ep;
	int64_t		 min_due;	/* ms: the soonest bdev.due */
	int64_t		 next_progress;
	uint64_t	 progress_recv;
	int		 progressed;
	/* the idle hold */
	int		 hold_closed;	/* links lost while holding */
};

/* nap-bench.c */
void	bench_fill(struct bench *, int);

/* bench_loop.c */
int	bench_loop_init(struct bench *);
void	bench_loop_free(struct bench *);
void	bench_touch(struct bench *, int);
void	bench_turn(struct bench *, int);
int	bench_start(struct bench *, int);

/* bench_report.c */
void	bench_hist_add(struct bench_hist *, uint32_t);
double	bench_hist_ms(const struct bench_hist *, double);
uint64_t bench_proc_ticks(pid_t, int *);
long	bench_proc_kb(pid_t, const char *);
double	bench_self_cpu(void);
void	bench_procs_sample(struct bench *, int);
void	bench_progress(struct bench *, int);
void	bench_report(struct bench *);

/* bench_sys.c */
int	bench_nofile(int);
void	bench_spread_addr(int, char *, size_t);

#endif /* BENCH_INTERNAL_H */
