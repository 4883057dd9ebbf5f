/*
 * rl_table.h - the token buckets of the ratelimit plugin (DESIGN.md
 * §7): one per key (a sending code, or a region), in a table whose
 * memory is fixed when it is made.  A full table first drops the
 * buckets of idle keys (refilled to their burst: forgetting them
 * changes nothing), then the least recently used one.  Sharded, each
 * shard under its own mutex: any thread may call rl_take().
 */
#ifndef NAP_RL_TABLE_H
#define NAP_RL_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct rl_table;

/* A table of at most max buckets (at least 64).  NULL on no memory. */
struct rl_table *rl_new(size_t max);
void	rl_free(struct rl_table *);
/*
 * One message of key at time now (seconds, monotonic): 0 when its
 * bucket (rate tokens a second, at most burst) had a token, 1 when it
 * is refused; then *over is how long the key has been refused (its
 * refusals less than a second apart count as one stretch).
 */
int	rl_take(struct rl_table *, uint32_t key, double rate, double burst,
	    double now, double *over);
/* Buckets held now. */
size_t	rl_count(struct rl_table *);

#endif /* NAP_RL_TABLE_H */
