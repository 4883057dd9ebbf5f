/*
 * ratelimit.c - the bundled rate-limit plugin of DESIGN.md §7: a token
 * bucket per sending code (or per region of the sender), rate and burst
 * by default and by override for code or region ranges; an application
 * message (type 1000 and up) past its bucket gets Error 429 naming its
 * Seq, and a sender still refused after `cut` seconds of 429s (refusals
 * less than a second apart) is disconnected.  The buckets are bounded
 * (rl_table.h): idle ones are dropped first.
 *
 *	plugin "ratelimit rate=100 burst=200 cut=10 buckets=65536 per=code
 *		override=00010100-000101FF:5:10 override=0002:1000:2000"
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nap_plugin.h"
#include "rl_table.h"

const unsigned nap_plugin_abi = NAP_PLUGIN_ABI;

#define APP_TYPES	1000
#define MAX_OVERRIDES	64

struct override {
	uint32_t	 lo, hi;
	double		 rate, burst;
};

struct rl {
	const struct nap_api	*api;
	struct nap_host		*host;
	double			 rate, burst, cut;
	int			 per_region;
	struct override		 ov[MAX_OVERRIDES];
	int			 nov;
	struct rl_table		*t;
	atomic_ulong		 limited, cuts;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum nap_verdict
on_message(struct nap_msg *m, void *arg)
{
	struct rl *p = arg;
	const struct nap_header *h = p->api->msg_header(m);
	uint32_t key = p->per_region ? h->from & 0xffff0000u : h->from;
	double rate = p->rate, burst = p->burst, over = 0;

	if (h->type < APP_TYPES)
		return NAP_PASS;
	for (int i = 0; i < p->nov; i++)
		if (h->from >= p->ov[i].lo && h->from <= p->ov[i].hi) {
			rate = p->ov[i].rate;
			burst = p->ov[i].burst;
			break;
		}
	if (rl_take(p->t, key, rate, burst, now_s(), &over) == 0)
		return NAP_PASS;
	atomic_fetch_add(&p->limited, 1);
	if (p->cut > 0 && over >= p->cut) {
		atomic_fetch_add(&p->cuts, 1);
		return p->api->reject(m, 429, "rate limited for too long: "
		    "disconnected", NAP_CUT);
	}
	return p->api->reject(m, 429, "rate limited", 0);
}

/* "LO-HI" or "CODE" (8 hex) or "RRRR" / "RRRR-RRRR" (regions). */
static int
parse_range(const char *s, size_t n, uint32_t *lo, uint32_t *hi)
{
	char a[16], b[16];
	const char *dash = memchr(s, '-', n);
	size_t al = dash ? (size_t)(dash - s) : n, bl = dash ? n - al - 1 : n;
	char *end;

	if (al == 0 || al >= sizeof(a) || bl == 0 || bl >= sizeof(b) ||
	    (al != 4 && al != 8) || al != bl)
		return -1;
	memcpy(a, s, al);
	a[al] = '\0';
	memcpy(b, dash ? dash + 1 : s, bl);
	b[bl] = '\0';
	*lo = (uint32_t)strtoul(a, &end, 16);
	if (*end != '\0')
		return -1;
	*hi = (uint32_t)strtoul(b, &end, 16);
	if (*end != '\0')
		return -1;
	if (al == 4) {
		*lo <<= 16;
		*hi = *hi << 16 | 0xffff;
	}
	return *lo <= *hi ? 0 : -1;
}

static int
parse_args(struct rl *p, int argc, char **argv, char *err, size_t errlen)
{
	long buckets = 65536;
	int burst_set = 0;

	p->rate = 100;
	p->cut = 10;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *c1, *c2;
		char *end;

		if (sscanf(a, "rate=%lf", &p->rate) == 1 && p->rate > 0)
			continue;
		if (sscanf(a, "burst=%lf", &p->burst) == 1 && p->burst >= 1) {
			burst_set = 1;
			continue;
		}
		if (sscanf(a, "cut=%lf", &p->cut) == 1 && p->cut >= 0)
			continue;
		if (sscanf(a, "buckets=%ld", &buckets) == 1 && buckets >= 64 &&
		    buckets <= 16777216)
			continue;
		if (strcmp(a, "per=code") == 0 || strcmp(a, "per=region") ==
		    0) {
			p->per_region = a[4] == 'r';
			continue;
		}
		if (strncmp(a, "override=", 9) == 0 && p->nov < MAX_OVERRIDES &&
		    (c1 = strchr(a + 9, ':')) != NULL &&
		    (c2 = strchr(c1 + 1, ':')) != NULL &&
		    parse_range(a + 9, (size_t)(c1 - a - 9),
		    &p->ov[p->nov].lo, &p->ov[p->nov].hi) == 0 &&
		    (p->ov[p->nov].rate = strtod(c1 + 1, &end)) > 0 &&
		    end == c2 && (p->ov[p->nov].burst = strtod(c2 + 1, &end)) >=
		    1 && *end == '\0') {
			p->nov++;
			continue;
		}
		snprintf(err, errlen, "bad argument '%s' (rate=N burst=N cut=S "
		    "buckets=N per=code|region override=LO-HI:RATE:BURST)", a);
		return -1;
	}
	if (!burst_set)
		p->burst = p->rate * 2 < 1 ? 1 : p->rate * 2;
	if ((p->t = rl_new((size_t)buckets)) == NULL) {
		snprintf(err, errlen, "no memory for %ld buckets", buckets);
		return -1;
	}
	return 0;
}

int
nap_plugin_init(const struct nap_api *api, struct nap_host *host, int argc,
    char **argv, void **state, char *err, size_t errlen)
{
	struct rl *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "no memory");
		return -1;
	}
	p->api = api;
	p->host = host;
	if (parse_args(p, argc, argv, err, errlen) == -1 ||
	    api->hook(host, NAP_GATEWAY, "ratelimit", on_message, p) == -1) {
		if (p->t != NULL)
			snprintf(err, errlen, "cannot hook the gateway");
		rl_free(p->t);
		free(p);
		return -1;
	}
	api->log(host, NAP_LOG_INFO, "%g messages/s, burst %g, per %s, cut "
	    "after %g s, %d overrides", p->rate, p->burst, p->per_region ?
	    "region" : "code", p->cut, p->nov);
	*state = p;
	return 0;
}

void
nap_plugin_fini(void *state)
{
	struct rl *p = state;

	if (p == NULL)
		return;
	p->api->log(p->host, NAP_LOG_INFO, "%lu messages limited, %lu links "
	    "cut", atomic_load(&p->limited), atomic_load(&p->cuts));
	rl_free(p->t);
	free(p);
}
