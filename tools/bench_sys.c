/*
 * bench_sys.c - what N connections from one process need of the system:
 * descriptors (RLIMIT_NOFILE), and source addresses.
 *
 * One source address has about 28000 ephemeral ports to one server
 * address (net.ipv4.ip_local_port_range), so a full domain (65535
 * devices) from one host cannot come from 127.0.0.1 alone.  With
 * --spread each device binds its socket to its own 127.A.B.C before
 * connecting; every 127/8 address is local on Linux.
 *
 * libnap binds each device's socket to the address bench_spread_addr()
 * gives it (nap_set_local()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "bench_internal.h"

/* Descriptors besides the devices': stdio, epoll, /proc reads, slack. */
#define NOFILE_EXTRA	64

static in_addr_t	spread_of(int);


/*
 * Raises the soft RLIMIT_NOFILE to what n devices need, and the hard
 * limit too when allowed (root).  0, or -1 after saying why on stderr.
 */
int
bench_nofile(int n)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)n + NOFILE_EXTRA;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		fprintf(stderr, "nap-bench: getrlimit: %s\n", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		struct rlimit up = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return 0;
		fprintf(stderr, "nap-bench: %d devices need %llu descriptors; "
		    "the hard limit is %llu and cannot be raised here (%s): "
		    "raise it (ulimit -Hn as root, LimitNOFILE= in a unit, "
		    "/etc/security/limits.conf) or use fewer devices\n", n,
		    (unsigned long long)need, (unsigned long long)rl.rlim_max,
		    strerror(errno));
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		fprintf(stderr, "nap-bench: setrlimit(RLIMIT_NOFILE, %llu): "
		    "%s\n", (unsigned long long)need, strerror(errno));
		return -1;
	}
	return 0;
}

/* 127.A.B.C with A, B, C in 1..250: device 0 is 127.1.1.1, never
 * 127.0.0.x (the servers' side), unique for 15 million devices. */
static in_addr_t
spread_of(int i)
{
	unsigned u = (unsigned)i;

	return htonl(127u << 24 | (1 + u / 62500 % 250) << 16 |
	    (1 + u / 250 % 250) << 8 | (1 + u % 250));
}

/* The source address of device i as text into buf. */
void
bench_spread_addr(int i, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = spread_of(i) };

	if (inet_ntop(AF_INET, &a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}
