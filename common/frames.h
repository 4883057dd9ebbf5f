/*
 * frames.h - frames a server creates itself (DESIGN.md §3, §4): Errors,
 * replies, RouteUpdates, Logouts.  Shared by the servers so that every
 * server-made envelope is written the same way: codes in upper case,
 * attribute text escaped, the 4-byte length prefix in front.
 */
#ifndef NAP_FRAMES_H
#define NAP_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"	/* mono_ms(), which the servers' links keep time with */

/* Room for any frame a server creates (parameters included). */
#define FRAME_MAX_SERVER	2048

/*
 * Writes prefix + envelope into buf (cap bytes): Header with the five
 * attributes, then <parameters>params</parameters> when params is not
 * NULL.  params is inner XML the caller built (escaped).  Returns the
 * whole frame's length.  A frame that does not fit is a programming
 * error: fatalx().
 */
size_t	frame_build(char *buf, size_t cap, uint32_t type, const char *session,
	    uint32_t seq, uint32_t from, uint32_t to, const char *params);

/*
 * A new random token of 16 upper-case hex digits and a NUL: a server's
 * own SessionId (new at each start, §3) or a session it issues (§4).
 * fatalx() when the random generator fails.
 */
void	frame_token(char out[17]);

#endif /* NAP_FRAMES_H */
