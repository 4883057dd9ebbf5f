/*
 * dedup.h - duplicates dropped by (From, SessionId, Seq) with bounded
 * state (DESIGN.md §5): used by libnap for what a device receives and by
 * nap-domain for what other domains send it.
 */
#ifndef NAP_DEDUP_H
#define NAP_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#define NAP_DUP_SENDERS		1024	/* sender sessions remembered */
#define NAP_DUP_WINDOW		4096	/* Seqs remembered below the high mark */

struct nap_dup;

/* A table remembering at most max sender sessions (>= 1), or NULL on no
 * memory.  Free with nap_dup_free(). */
struct nap_dup *nap_dup_new(size_t max);
void	nap_dup_free(struct nap_dup *);
/* Sender sessions remembered now. */
size_t	nap_dup_count(const struct nap_dup *);
/* 1 when (from, session, seq) was seen already, else 0 (and it is now). */
int	nap_dup_check(struct nap_dup *, uint32_t from, const char *session,
	    uint32_t seq);

#endif /* NAP_DEDUP_H */
