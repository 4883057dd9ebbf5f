/*
 * pipe.c - the three-stage message pipe of DESIGN.md §6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipe.h"

struct hook {
	const char	*name;
	pipe_hook_fn	 fn;
	void		*arg;
};

struct pipe {
	struct hook	 h[PIPE_NSTAGES][PIPE_MAX_HOOKS];
	int		 n[PIPE_NSTAGES];
	pipe_observer_fn obs;
	void		*obs_arg;
};

static enum pipe_verdict run_stages(const struct pipe *, struct pipe_ctx *);
static int64_t	now_ns(void);

struct pipe *
pipe_new(void)
{
	return calloc(1, sizeof(struct pipe));
}

void
pipe_free(struct pipe *p)
{
	free(p);
}

int
pipe_add(struct pipe *p, enum pipe_stage st, const char *name,
    pipe_hook_fn fn, void *arg)
{
	if (st >= PIPE_NSTAGES || p->n[st] == PIPE_MAX_HOOKS || fn == NULL)
		return -1;
	p->h[st][p->n[st]++] = (struct hook){ name, fn, arg };
	return 0;
}

void
pipe_observe(struct pipe *p, pipe_observer_fn fn, void *arg)
{
	p->obs = fn;
	p->obs_arg = arg;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The clock is read only when someone observes (§12 metrics). */
enum pipe_verdict
pipe_run(const struct pipe *p, struct pipe_ctx *ctx)
{
	enum pipe_verdict v;
	int64_t t0;

	if (p->obs == NULL)
		return run_stages(p, ctx);
	t0 = now_ns();
	v = run_stages(p, ctx);
	p->obs(ctx, v, now_ns() - t0, p->obs_arg);
	return v;
}

static enum pipe_verdict
run_stages(const struct pipe *p, struct pipe_ctx *ctx)
{
	enum pipe_verdict v;

	for (int st = 0; st < PIPE_NSTAGES; st++)
		for (int i = 0; i < p->n[st]; i++) {
			v = p->h[st][i].fn(ctx, p->h[st][i].arg);
			if (v != PIPE_PASS) {
				if (ctx->reason[0] == '\0')
					snprintf(ctx->reason, sizeof(ctx->reason),
					    "%s", p->h[st][i].name);
				return v;
			}
		}
	return PIPE_PASS;
}

enum pipe_verdict
pipe_reject(struct pipe_ctx *ctx, int code, const char *why)
{
	ctx->error = code;
	snprintf(ctx->reason, sizeof(ctx->reason), "%s", why);
	return PIPE_REJECT;
}
