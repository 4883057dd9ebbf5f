/*
 * itest.h - helpers of the integration tests (test/integration.c): the
 * paths of the programs under test, commands run to completion, real
 * nap-domain processes on 127.0.0.1 started and stopped by PID, a
 * throwaway PKI and registries, a raw TLS client that writes hand-made
 * frames, and a poll() pump over many libnap handles.
 *
 * Every wait is bounded in time and every loop in count: a test that
 * waits for an event fails with what it saw instead of hanging.  No test
 * asserts how long something took.
 */
#ifndef NAP_ITEST_H
#define NAP_ITEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "envelope.h"
#include "nap.h"

/* The throwaway PKI of a run: region 0001, its domain and devices. */
#define IT_DOMAIN	0x00010000u
#define IT_NDEV		200			/* 00010001..000100C8 */
#define IT_DEV(i)	(IT_DOMAIN + (uint32_t)(i))	/* i in 1..IT_NDEV */
#define IT_DISABLED	0x000100C9u	/* registered with --disabled */
#define IT_UNREG	0x000100CAu	/* has a certificate, not registered */
#define IT_REVOKED	0x000100CBu	/* registered, certificate revoked */
#define IT_FOREIGN	0x00010001u	/* the second CA's own 00010001 */

/*
 * Generous bounds for events (never asserted as durations), multiplied
 * by $ITEST_TIME_FACTOR (default 1; e.g. 10 when the runner itself runs
 * under valgrind).
 */
#define IT_WAIT_MS	itest_ms(10000)	/* a frame, a close, a port file */
#define IT_CMD_MS	itest_ms(120000) /* one nap-certs / nap-ctl run */

struct itest_paths {
	char	src[PATH_MAX];		/* $NAP_SRCDIR or "." */
	char	build[PATH_MAX];	/* $NAP_BUILDDIR or "." */
	char	work[PATH_MAX];		/* BUILD/test-work/integration */
	char	domain[PATH_MAX];	/* BUILD/domain/nap-domain */
	char	ctl[PATH_MAX];		/* BUILD/tools/nap-ctl */
	char	certs[PATH_MAX];	/* SRC/certs/nap-certs */
	char	pki[PATH_MAX];		/* WORK/pki: the run's CA */
	char	pki2[PATH_MAX];		/* WORK/pki2: a foreign CA */
	char	valgrind[PATH_MAX];	/* $VALGRIND, or "" */
	char	platform[PATH_MAX];	/* BUILD/platform/nap-platform, set
					   by itest_platform_init() */
	char	cmdlog[PATH_MAX];	/* output of the commands run */
	int	factor;			/* $ITEST_TIME_FACTOR, 1..100 */
};
extern struct itest_paths itest;

/*
 * Reads the environment, makes a fresh work directory and issues the
 * PKI.  Returns 0, or -1 after printing why on stderr.
 */
int	itest_init(void);
/* Kills (SIGKILL) any server a failed test left running; frees. */
void	itest_fini(void);
/* ms times the run's time factor. */
int	itest_ms(int ms);
/* Sleeps ms milliseconds (a pause in a scenario, never a measure). */
void	itest_sleep_ms(int ms);

/*
 * A CUnit assertion with a formatted message (input, expected, got) in
 * the summary.  The condition is evaluated before the message's
 * arguments (?: is a sequence point), so they may show what it did.
 * Returns whether it held, so that a test can stop: if (!IT_ASSERT(...))
 * goto out;
 */
bool	itest_pass(unsigned line, const char *file, const char *func);
bool	itest_fail(unsigned line, const char *file, const char *func,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define IT_ASSERT(cond, ...)						\
	((cond) ? itest_pass(__LINE__, __FILE__, __func__) :		\
	    itest_fail(__LINE__, __FILE__, __func__, __VA_ARGS__))
#define IT_FAIL(...)	itest_fail(__LINE__, __FILE__, __func__, __VA_ARGS__)

/* snprintf into buf; returns buf (truncation is fatal: test bug). */
char	*itest_fmt(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* PKI/CODE.EXT ("crt" or "key") into buf. */
char	*itest_pki_file(char *buf, size_t len, const char *pki,
	    uint32_t code, const char *ext);

/*
 * Runs argv[0] with argv to completion (at most IT_CMD_MS), stdout and
 * stderr appended to itest.cmdlog.  Returns its exit status 0..255, or
 * -1 when it could not run, died of a signal or timed out.
 */
int	itest_run(const char *const argv[]);
/* The same with stdout and stderr appended to the file out. */
int	itest_run_out(const char *const argv[], const char *out);
/* nap-ctl --registry REGISTRY args... (NULL-terminated): exit status. */
int	itest_ctl(const char *registry, ...) __attribute__((sentinel));

/*
 * A new registry WORK/NAME.db holding 00010001..000100C8 (kind CU,
 * every type), 000100C9 disabled and 000100CB (whose certificate is
 * revoked).  Writes its path into path.  Returns 0 or -1.
 */
int	itest_registry_new(const char *name, char *path, size_t len);

/* A nap-domain process started by a test. */
struct itest_server {
	pid_t	pid;			/* 0 when not running */
	int	port;
	bool	valgrind;
	char	name[64];
	char	log[PATH_MAX];		/* its stdout and stderr */
	char	portfile[PATH_MAX];
	char	registry[PATH_MAX];
};

/*
 * Starts BUILD/domain/nap-domain --listen 127.0.0.1:0 --port-file F with
 * the run's CA, the domain certificate and CRL, the registry, and the
 * NULL-terminated extra arguments (may be NULL); under valgrind when
 * asked (itest.valgrind must be set).  Waits (bounded) for the port
 * file.  Returns 0 with s->pid and s->port set, or -1 (the process is
 * killed and reaped, its log printed).
 */
int	itest_server_start(struct itest_server *s, const char *name,
	    const char *registry, const char *const extra[], bool valgrind);
/* kill(pid, sig).  0 or -1. */
int	itest_server_signal(struct itest_server *s, int sig);
/*
 * Waits up to ms for the process to exit.  Returns its exit status
 * (0..255), 256 + signal when a signal killed it, or -1 on timeout (it
 * still runs).  On exit s->pid becomes 0.
 */
int	itest_server_wait(struct itest_server *s, int ms);
/*
 * SIGTERM, then waits (bounded; longer under valgrind).  Returns as
 * itest_server_wait(); a process that did not exit in time is killed
 * with SIGKILL and -1 is returned.
 */
int	itest_server_stop(struct itest_server *s);
/* SIGKILL and reap: the crash of a server.  0, or -1. */
int	itest_server_kill(struct itest_server *s);
/* Prints the last lines of the server's log on stderr. */
void	itest_server_dump(const struct itest_server *s);

/* ---- a raw TLS client: hand-made frames -------------------------- */

struct itest_raw {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	uint8_t		*buf;		/* bytes read, not yet framed */
	size_t		 len, cap;
	bool		 closed;	/* the server closed (or TLS failed) */
	char		 why[160];	/* how it closed */
	uint32_t	 code;		/* From of what it sends */
	char		 session[17];	/* from the LoginReply */
	uint32_t	 seq;		/* the last Seq it used */
};

/* A frame received by a raw client: the Header and a copy of the body. */
struct itest_frame {
	bool		 parsed;	/* false: the server sent a bad frame */
	struct env_header h;
	char		*body;		/* NUL-terminated copy */
	size_t		 len;
};

enum itest_rc {
	IT_FRAME = 1,		/* a frame was received */
	IT_CLOSED = 0,		/* the link is closed (EOF, alert, reset) */
	IT_TIMEOUT = -1,	/* nothing within the time */
	IT_ERR = -2,		/* a local failure */
};

/*
 * Connects to 127.0.0.1:port and completes the TLS 1.3 handshake,
 * verifying the server against the run's CA.  The client presents
 * PKI/CODE.crt when pki is not NULL, no certificate otherwise.  Returns
 * 0 (a server refusing the certificate shows only on the first read, as
 * TLS 1.3 does), or -1 with the reason in r->why.  Always pair with
 * itest_raw_close().
 */
int	itest_raw_open(struct itest_raw *r, int port, const char *pki,
	    uint32_t code, int timeout_ms);
/* The same, expecting the server's certificate CN to be server. */
int	itest_raw_open_as(struct itest_raw *r, int port, const char *pki,
	    uint32_t code, int timeout_ms, uint32_t server);
void	itest_raw_close(struct itest_raw *r);
/* Writes bytes as they are (no length prefix added).  0 or -1. */
int	itest_raw_write(struct itest_raw *r, const void *p, size_t len);
/* Writes one frame: the length prefix, then the body.  0 or -1. */
int	itest_raw_send(struct itest_raw *r, const char *body);
/*
 * Writes an envelope of this Header, Seq = ++r->seq unless seq is
 * given (not NULL), parameters inner XML or none (NULL).  Returns the
 * Seq used through *used when not NULL.  0 or -1.
 */
int	itest_raw_msg(struct itest_raw *r, uint32_t type, const uint32_t *seq,
	    uint32_t from, uint32_t to, const char *session,
	    const char *params, uint32_t *used);
/* Reads one frame.  enum itest_rc. */
int	itest_raw_recv(struct itest_raw *r, struct itest_frame *f,
	    int timeout_ms);
/*
 * Reads frames until one of this type (others are counted in *skipped
 * when not NULL and freed).  enum itest_rc.
 */
int	itest_raw_expect(struct itest_raw *r, uint32_t type,
	    struct itest_frame *f, int timeout_ms, unsigned *skipped);
/* Reads and drops frames until the link closes: 0, or -1 on timeout.
 * *frames (when not NULL) counts what came before the close. */
int	itest_raw_wait_closed(struct itest_raw *r, int timeout_ms,
	    unsigned *frames);
/*
 * Sends Login From = code (of the certificate unless told) and waits for
 * LoginReply; keeps its SessionId.  Returns 0, or the Error's code, or
 * -1 (closed, timeout, other frame: why in r->why).
 */
int	itest_raw_login(struct itest_raw *r, uint32_t code, int timeout_ms);
void	itest_frame_free(struct itest_frame *f);
/*
 * The <error code seq/> of an Error frame.  0, or -1 when the frame is
 * not an Error with both attributes.
 */
int	itest_frame_error(const struct itest_frame *f, int *code,
	    uint32_t *seq);

/* ---- libnap handles ---------------------------------------------------- */

/*
 * A handle for device code with PKI/CODE.crt and .key, the run's CA as
 * the server's, server 127.0.0.1:port, connect timeout ms.  NULL on
 * failure (printed).
 */
struct nap *itest_nap_new(uint32_t code, const char *pki, int port,
	    unsigned connect_ms);

/*
 * Drives n handles (NULL entries are skipped) with one poll() over
 * their sockets and timers until done(arg) holds or timeout_ms passes.
 * done may be NULL: run for the whole time.  Returns true when done held.
 */
bool	itest_pump(struct nap **h, size_t n, int timeout_ms,
	    bool (*done)(void *), void *arg);

/* ---- nap-platform (§1, §5) ----------------------------------------- */

#define IT_PLATFORM	0x00000000u	/* every platform server's code */
#define IT_DOMAIN2	0x00020000u	/* the domain of region 0002 */
#define IT_DEV2		0x00020001u	/* a device of region 0002 */

/*
 * Once per run: sets itest.platform and issues the certificates of the
 * platform (00000000), of domain 00020000 and device 00020001 in the
 * run's PKI.  0, or -1 after printing why.
 */
int	itest_platform_init(void);
/*
 * Starts BUILD/platform/nap-platform --listen 127.0.0.1:0 --port-file F
 * with the run's CA, the platform certificate and CRL, and the NULL-
 * terminated extra arguments (may be NULL); under valgrind when asked
 * (itest.valgrind must be set).  Waits (bounded) for the port file.  0
 * with s->pid and s->port set, or -1 (killed, log shown).  Stop it with
 * itest_server_stop() and friends.
 */
int	itest_platform_start(struct itest_server *s, const char *name,
	    const char *const extra[], bool valgrind);
/*
 * Sends Login From = r->code, To = to, parameters inner XML params (or
 * none), and waits for LoginReply; keeps its SessionId.  Returns as
 * itest_raw_login().
 */
int	itest_raw_login_with(struct itest_raw *r, uint32_t to,
	    const char *params, int timeout_ms);

/* ---- federations of real domains (§5, §6) ---------------------------- */

#define IT_DOMAIN3	0x00030000u	/* the domain of region 0003 */
#define IT_NDEV2	16		/* 00020001..00020010 have certificates */
#define IT_DEV2N(i)	(IT_DOMAIN2 + (uint32_t)(i))	/* i in 1..IT_NDEV2 */

/*
 * Once per run: itest_platform_init(), then the certificates of devices
 * 00020002..00020010 and of domain 00030000 in the run's PKI.  0, or -1
 * after printing why.
 */
int	itest_fed_init(void);
/*
 * A new registry WORK/NAME.db of region RRRR: RRRR0001..RRRR00C8 (kind
 * CU, every type) and RRRR00C9 disabled; RRRR00CA and above unknown.
 * Writes its path into path.  Returns 0 or -1.
 */
int	itest_registry_new_region(const char *name, uint16_t region,
	    char *path, size_t len);
/*
 * itest_server_start() for the domain whose certificate is PKI/CODE.crt
 * (code RRRR0000; itest_server_start() is this with IT_DOMAIN).  A
 * second start under the same name appends to the same log; an extra
 * "--listen 127.0.0.1:PORT" (the last value wins) keeps the port.
 */
int	itest_domain_start(struct itest_server *s, const char *name,
	    uint32_t code, const char *registry, const char *const extra[],
	    bool valgrind);
/* The size of the server's log now (an offset for itest_log_count), or
 * 0 when it has none. */
long	itest_log_size(const struct itest_server *s);
/* How many lines of the server's log, from offset on, contain needle. */
unsigned itest_log_count(const struct itest_server *s, long offset,
	    const char *needle);

#endif /* NAP_ITEST_H */
