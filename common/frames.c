/*
 * frames.c - the envelopes servers write themselves (frames.h), and the
 * monotonic clock their links keep time with.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "envelope.h"
#include "frames.h"
#include "log.h"
#include "proto.h"

size_t
frame_build(char *buf, size_t cap, uint32_t type, const char *session,
    uint32_t seq, uint32_t from, uint32_t to, const char *params)
{
	int n;

	n = snprintf(buf + 4, cap - 4, "<Message version=\"1.0\"><Header "
	    "Message_Type=\"%u\" SessionId=\"%s\" Seq=\"%u\" From=\"%08X\" "
	    "To=\"%08X\"/>%s%s%s</Message>", type, session, seq, from, to,
	    params ? "<parameters>" : "", params ? params : "",
	    params ? "</parameters>" : "");
	if (n < 0 || (size_t)n >= cap - 4)
		fatalx("internal: server frame of type %u too long", type);
	env_frame_put_len((uint8_t *)buf, (uint32_t)n);
	return (size_t)n + 4;
}

void
frame_token(char out[17])
{
	uint8_t rnd[8];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("RAND_bytes failed");
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02X", rnd[i]);
}
