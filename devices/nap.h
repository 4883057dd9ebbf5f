/*
 * nap.h - libnap, the NAP device client library (DESIGN.md §2-§5).
 *
 * A device logs in to its domain server (or to the platform) over mutual
 * TLS 1.3, sends messages to 32-bit codes, receives messages through a
 * callback, and gets receipts for the messages it asked receipts for.
 * The library answers the server's heartbeats, sends its own, confirms
 * what it received (Ack type 5), drops duplicates, logs out on close and,
 * when asked to, reconnects after the server logs it out.
 *
 * Threads: a handle is single-threaded.  Every function taking a struct
 * nap must be called from one thread at a time (the callbacks run on the
 * thread that drives the handle).  Different handles may be used from
 * different threads at once.
 *
 * Two ways to drive a handle:
 *   - blocking: nap_connect(), then nap_run() / nap_request() / nap_ping()
 *     / nap_flush() / nap_close(), which poll() the handle's socket;
 *   - event loop (libevent, epoll...): nap_connect_start(), then watch
 *     nap_fd() for reading (and writing while nap_want_write() is true),
 *     call nap_process() when it is ready and after nap_next_timeout_ms()
 *     has elapsed.  The descriptor changes on every reconnection: watch
 *     the state callback (or compare nap_fd() after each call).
 *
 * Return values: functions returning int return 0 (NAP_OK) or a value of
 * enum nap_err; values 400..599 are the server's own §4 error code.  After
 * a failure nap_errmsg() gives one line saying what failed.
 *
 * Strings passed in are copied; nothing passed in is kept or freed by the
 * library unless a function says so.
 */
#ifndef NAP_H
#define NAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NAP_VERSION_MAJOR	0
#define NAP_VERSION_MINOR	1

/* ---- errors ------------------------------------------------------- */

enum nap_err {
	NAP_OK = 0,
	NAP_E_INVAL = 1,	/* a bad argument */
	NAP_E_NOMEM,		/* out of memory */
	NAP_E_STATE,		/* not possible in this state (not logged
				   in, already connected, closed...) */
	NAP_E_BUSY,		/* called from a callback, or another
				   nap_request()/nap_ping() is running */
	NAP_E_AGAIN,		/* a queue is full: run the handle, retry */
	NAP_E_TIMEOUT,		/* no answer in time, or heartbeat timeout */
	NAP_E_CONFIG,		/* certificate, key, CA or CRL unusable */
	NAP_E_RESOLVE,		/* the server's name did not resolve */
	NAP_E_CONNECT,		/* TCP connection failed */
	NAP_E_TLS,		/* TLS handshake or record layer failed */
	NAP_E_VERIFY,		/* the server's certificate did not verify */
	NAP_E_IDENTITY,		/* the server's CN is not the expected code */
	NAP_E_CLOSED,		/* the connection was closed or lost */
	NAP_E_LOGOUT,		/* the server logged us out (no reconnect) */
	NAP_E_PROTOCOL,		/* the server broke the protocol */
	NAP_E_SYS,		/* a system call failed */
	/* The server's answer, §4: refusals of Login and of messages. */
	NAP_E_MALFORMED = 400,
	NAP_E_UNAUTHORIZED = 401,
	NAP_E_FORBIDDEN = 403,
	NAP_E_NOT_FOUND = 404,
	NAP_E_EXPIRED = 408,
	NAP_E_TOO_LARGE = 413,
	NAP_E_RATE_LIMITED = 429,
	NAP_E_UNREACHABLE = 503,
	NAP_E_STORE_FULL = 507,
};

/*
 * A static description of an error value ("unknown destination" for
 * 404, "TLS handshake failed" for NAP_E_TLS).  Never NULL.
 */
const char	*nap_strerror(int err);

/* ---- codes (§1) ----------------------------------------------------- */

#define NAP_PLATFORM	0x00000000u

/* Parses exactly 8 hex digits (either case): 0 and *code, or NAP_E_INVAL. */
int	nap_code_parse(const char *s, uint32_t *code);
/* Writes the code as 8 upper-case hex digits and a NUL into out[9];
 * returns out. */
char	*nap_code_format(uint32_t code, char out[9]);

/* ---- the handle ---------------------------------------------------- */

struct nap;		/* opaque */
struct nap_msg;		/* a received message, opaque */

/* Returns a new handle with default settings, or NULL on no memory.
 * Free it with nap_free(). */
struct nap	*nap_new(void);
/*
 * Frees the handle and everything it holds, closing the connection at
 * once (no Logout: call nap_close() first for an orderly one).  Not from
 * a callback.  NULL is allowed.
 */
void	 nap_free(struct nap *);

/*
 * The last failure on this handle, one line without a newline ("login
 * refused: 403 device disabled", "TLS handshake failed: certificate
 * verify failed: ...").  Owned by the handle, valid until the next call.
 * "" when there was none.
 */
const char	*nap_errmsg(const struct nap *);

/* ---- configuration: call before connecting ---------------------------- */

/* The server's host name or address and TCP port. */
int	nap_set_server(struct nap *, const char *host, uint16_t port);
/* Same from "HOST:PORT" or "[V6ADDR]:PORT". */
int	nap_set_server_str(struct nap *, const char *hostport);

/*
 * Loads the device's certificate (PEM, may hold the chain), its private
 * key (PEM, ECDSA P-256, not encrypted), the CA certificate(s) that must
 * sign the server's certificate, and optionally a CRL file (PEM; NULL for
 * none: with one, the server's certificate is also checked against it and
 * a missing CRL fails closed).  The files are read now; the key is held
 * only inside the TLS context.  Sets the own code to the CN of the
 * certificate unless nap_set_code() set one.  Returns 0, NAP_E_CONFIG
 * (nap_errmsg names the file and the reason) or NAP_E_NOMEM.
 */
int	nap_set_tls(struct nap *, const char *cert_file, const char *key_file,
	    const char *ca_file, const char *crl_file);

/* The device's own code, the From of what it sends (default: the CN of
 * its certificate; a server refuses a Login whose From differs: 403). */
int	nap_set_code(struct nap *, uint32_t code);
/*
 * The code the server's certificate CN must be (§2).  Default: RRRR0000
 * of the own code's region, or 00000000 after nap_set_platform(n, true).
 */
int	nap_set_expect(struct nap *, uint32_t server_code);
/* Log in at the platform (directory role, §4) instead of the domain. */
int	nap_set_platform(struct nap *, bool platform);

/* Name and version sent in Login's <client/> (default "libnap", "0.1");
 * NULL name: no <client/> element at all. */
int	nap_set_client(struct nap *, const char *name, const char *version);

/*
 * Heartbeat (§5).  interval_s = 0 and timeout_s = 0 (the default): use
 * the figures of the LoginReply.  Other values override them (timeout_s
 * >= 2 x interval_s, else NAP_E_INVAL).  enabled = false: never send a
 * Check of our own and never time the link out (server Checks are still
 * answered).
 */
int	nap_set_heartbeat(struct nap *, bool enabled, unsigned interval_s,
	    unsigned timeout_s);

/*
 * Reconnection after the server logged us out or the link was lost once
 * logged in: on (default off), with a delay growing from min_ms to max_ms
 * (doubling, with jitter: each delay is drawn in [d/2, d]).  0 keeps a
 * default (500 ms, 30 s).  Never after an Error 403, never when a first
 * nap_connect() fails, never after a TLS verification failure.
 */
int	nap_set_reconnect(struct nap *, bool on, unsigned min_ms,
	    unsigned max_ms);

/* Limit for TCP connect + TLS handshake + Login (default 10000 ms). */
int	nap_set_connect_timeout(struct nap *, unsigned ms);

/*
 * max_frame of the federation (§2, default 1 MiB, at most 16 MiB): frames
 * received above it close the link; sent envelopes must fit in
 * max_frame - 1024 bytes.
 */
int	nap_set_max_frame(struct nap *, uint32_t bytes);

/* Bound of the send queue in bytes (default 8 MiB) and of the messages
 * sent with NAP_ACK still waiting for a receipt (default 1024, at most
 * 2048: a resent message must stay within the receivers' duplicate
 * window of 4096 Seqs per sender session). */
int	nap_set_queue_limit(struct nap *, size_t bytes, unsigned unacked);

/*
 * The local address links leave from (a numeric IPv4 or IPv6 address,
 * NULL for the system's choice): a host with many devices spreads them
 * over its addresses (each address has its own ephemeral ports).  Used
 * at the next connection.  NAP_OK, or NAP_E_INVAL for a bad address.
 */
int	nap_set_local(struct nap *, const char *address);

/* Ask the first Login to resume this session (16 hex digits); later
 * reconnections always ask to resume the current one. */
int	nap_set_resume(struct nap *, const char *session);

/* ---- callbacks ------------------------------------------------------ */

/*
 * Every received message except LoginReply (2), Check (3), CheckReply
 * (4), Logout (7), duplicates, a reply taken by nap_request(), and the
 * receipts (Ack 5, Error 6) when a receipt callback is set.  The message
 * is valid during the call only (nap_msg_dup() keeps a copy).
 */
typedef void	(*nap_msg_cb)(struct nap *, const struct nap_msg *, void *arg);

enum nap_receipt_status {
	NAP_RCPT_STORED = 1,	/* Ack status="stored": on disk at a server */
	NAP_RCPT_DELIVERED,	/* Ack status="delivered": confirmed by the
				   destination device */
	NAP_RCPT_ERROR,		/* Error: code and text say why */
	NAP_RCPT_UNKNOWN,	/* sent with NAP_ACK, no receipt came and the
				   session was not resumed: lost or not (§5) */
};

/* A receipt for one message this device sent (§4 Ack and Error). */
struct nap_receipt {
	enum nap_receipt_status status;
	uint32_t	 seq;		/* the Seq of our message (0: unknown) */
	uint32_t	 to;		/* its destination, when the server said */
	uint32_t	 from;		/* the server that issued the receipt */
	int		 code;		/* NAP_RCPT_ERROR: the §4 code */
	const char	*session;	/* our SessionId it was sent in, or "" */
	const char	*text;		/* NAP_RCPT_ERROR: the server's text */
};

/* The receipt is valid during the call only. */
typedef void	(*nap_receipt_cb)(struct nap *, const struct nap_receipt *,
		    void *arg);

enum nap_state {
	NAP_ST_IDLE = 0,	/* not connected yet */
	NAP_ST_CONNECTING,	/* TCP connection under way */
	NAP_ST_TLS,		/* TLS handshake */
	NAP_ST_LOGIN,		/* Login sent, waiting for LoginReply */
	NAP_ST_ONLINE,		/* logged in */
	NAP_ST_CLOSING,		/* Logout sent, closing */
	NAP_ST_BACKOFF,		/* waiting to reconnect */
	NAP_ST_CLOSED,		/* over: nap_close(), or a failure */
};

/*
 * Called on every state change.  err is 0, or why the link went down
 * (BACKOFF, CLOSED).  The socket may have changed: re-register nap_fd().
 */
typedef void	(*nap_state_cb)(struct nap *, enum nap_state, int err,
		    void *arg);

enum nap_log_level { NAP_LOG_ERR, NAP_LOG_WARN, NAP_LOG_INFO, NAP_LOG_DEBUG };
/* One event per call, one line without a newline, never a secret. */
typedef void	(*nap_log_cb)(struct nap *, enum nap_log_level, const char *line,
		    void *arg);

/* Set or clear (NULL) a callback; arg is passed back as is. */
void	nap_set_msg_cb(struct nap *, nap_msg_cb, void *arg);
void	nap_set_receipt_cb(struct nap *, nap_receipt_cb, void *arg);
void	nap_set_state_cb(struct nap *, nap_state_cb, void *arg);
void	nap_set_log_cb(struct nap *, nap_log_cb, enum nap_log_level max,
	    void *arg);

/*
 * From inside a callback only these may be called: nap_send(),
 * nap_send_ex(), nap_reply(), nap_break(), the accessors and getters.
 * The blocking functions return NAP_E_BUSY there; nap_free() must not be
 * called.
 */

/* ---- connecting and closing ---------------------------------------- */

/*
 * Connects, verifies the server (TLS 1.3, chain to the CA, CN = the
 * expected code) and logs in (§4), blocking for at most the connect
 * timeout.  Returns 0 once logged in; NAP_E_RESOLVE, NAP_E_CONNECT,
 * NAP_E_TLS, NAP_E_VERIFY, NAP_E_IDENTITY, NAP_E_TIMEOUT, NAP_E_CLOSED;
 * or the server's refusal as its §4 code (401, 403, 400...) with its text
 * in nap_errmsg().  NAP_E_STATE when already connected.  A handle that
 * failed or was closed may connect again.
 */
int	nap_connect(struct nap *);
/*
 * Starts the same without blocking on the network (event-loop programs):
 * 0, or an error found at once.  Login completes in nap_process(); the
 * state callback says NAP_ST_ONLINE or NAP_ST_CLOSED.  The server's name
 * is resolved with getaddrinfo(), which may block: give an address to
 * avoid it (also on reconnections).
 */
int	nap_connect_start(struct nap *);

/*
 * Orderly end (§5): waits up to timeout_ms for the send queue to drain,
 * confirms what was received, sends Logout, then TLS close_notify, and
 * closes.  Returns 0, or the error that ended the session before (the
 * handle is closed either way).  Messages sent with NAP_ACK that still
 * have no receipt are reported NAP_RCPT_UNKNOWN.
 */
int	nap_close(struct nap *, int timeout_ms);

/* ---- sending ---------------------------------------------------------- */

#define NAP_ACK		0x1	/* Ack="1": ask for receipts (§5) */
#define NAP_TTL		0x2	/* nap_send_ex: use ttl */
#define NAP_RE		0x4	/* nap_send_ex: use re (a reply) */

/*
 * Queues one message: Message_Type type, To = to, From = own code, the
 * current SessionId and the next Seq (which *seq_out receives when not
 * NULL; Seq wraps 4294967295 -> 0).  params/len is the XML content of
 * <parameters> (checked well-formed under the §3 rules); params = NULL
 * sends no <parameters> at all.  flags: NAP_ACK.
 * Returns 0; NAP_E_INVAL (bad type 1..7 reserved to the library, or the
 * parameters are refused: NAP_E_MALFORMED with the reason), NAP_E_TOO_LARGE
 * (above max_frame - 1024), NAP_E_AGAIN (queue full: run the handle and
 * retry), NAP_E_STATE (never logged in, or closed).  While reconnecting
 * messages are queued and sent after the next Login (re-stamped with the
 * new session when it is not resumed).  The message is only queued: the
 * next nap_run()/nap_flush()/nap_process() writes it (an event loop sees
 * nap_want_write() become true).
 */
int	nap_send(struct nap *, uint32_t type, uint32_t to, const char *params,
	    size_t len, int flags, uint32_t *seq_out);

/* All the options of one message sent. */
struct nap_out {
	uint32_t	 type;
	uint32_t	 to;
	const char	*params;	/* NULL: no <parameters> */
	size_t		 len;
	int		 flags;		/* NAP_ACK, NAP_TTL, NAP_RE */
	uint32_t	 ttl;		/* TTL seconds, with NAP_TTL */
	uint32_t	 re;		/* Re, with NAP_RE */
};
/* nap_send() with TTL and Re; same returns. */
int	nap_send_ex(struct nap *, const struct nap_out *, uint32_t *seq_out);

/* Replies to a received request: its type, To = its From, Re = its Seq
 * (§7); flags: NAP_ACK.  Same returns as nap_send(). */
int	nap_reply(struct nap *, const struct nap_msg *req, const char *params,
	    size_t len, int flags, uint32_t *seq_out);

/*
 * Queues len bytes (0 .. 16 MiB) as one frame body, verbatim, for tests
 * and demonstrations of refusals.  Logged in only.  Returns 0,
 * NAP_E_INVAL, NAP_E_AGAIN or NAP_E_STATE.
 */
int	nap_send_raw(struct nap *, const void *body, size_t len);

/* ---- blocking use -------------------------------------------------- */

/*
 * Sends and waits up to timeout_ms for the reply: the message whose Re
 * is the request's Seq (for the reserved requests 3, 20 and 30: the
 * CheckReply, FsRegisterReply or LocateReply echoing the Seq), or an
 * Error naming the Seq.  Returns 0 and *reply (free with nap_msg_free());
 * the Error's code (404...) with its text in nap_errmsg(); NAP_E_TIMEOUT;
 * a nap_send() error; NAP_E_BUSY from a callback; or the error that ended
 * the session.  Other messages arriving meanwhile go to the callbacks.
 */
int	nap_request(struct nap *, uint32_t type, uint32_t to,
	    const char *params, size_t len, int timeout_ms,
	    struct nap_msg **reply);
/* nap_request() with all the options of nap_send_ex(). */
int	nap_request_ex(struct nap *, const struct nap_out *, int timeout_ms,
	    struct nap_msg **reply);

/* Check round trip to the server (§4 type 3 -> 4): 0 and *rtt_us, or as
 * nap_request(). */
int	nap_ping(struct nap *, int timeout_ms, uint64_t *rtt_us);

/*
 * Runs the handle for up to timeout_ms (-1: until stopped), calling the
 * callbacks.  Returns 0 when the time is up or nap_break() was called;
 * otherwise the error that ended the session (NAP_E_STATE when it was
 * not connected).  Reconnections happen inside and return nothing.
 */
int	nap_run(struct nap *, int timeout_ms);
/* Makes a running nap_run() return (callable from a callback, or from a
 * signal handler: it only sets a flag). */
void	nap_break(struct nap *);
/* Runs until the send queue is written (0), or the time is up
 * (NAP_E_TIMEOUT), or the session ended. */
int	nap_flush(struct nap *, int timeout_ms);

/* ---- event-loop use ------------------------------------------------- */

#define NAP_READ	0x1
#define NAP_WRITE	0x2

/* The socket to watch, or -1 (not connected, or waiting to reconnect). */
int	nap_fd(const struct nap *);
/* True while the socket should also be watched for writing. */
bool	nap_want_write(const struct nap *);
/* Milliseconds until nap_process() must be called even without socket
 * events (0: at once), or -1 for no timer. */
int	nap_next_timeout_ms(const struct nap *);
/*
 * Does all that is due: connects, reads and dispatches, writes, runs the
 * timers.  events: NAP_READ / NAP_WRITE as seen, or 0 (a timer).  Returns
 * 0, or the error that ended the session (the state is then CLOSED).
 */
int	nap_process(struct nap *, int events);

/* ---- state -------------------------------------------------------- */

enum nap_state	nap_state(const struct nap *);
uint32_t	nap_code(const struct nap *);		/* own code */
uint32_t	nap_server_code(const struct nap *);	/* expected server */
/* The SessionId of the current (or last) login, "" before the first. */
const char	*nap_session(const struct nap *);
/* True when the last Login resumed the session asked for. */
bool		 nap_resumed(const struct nap *);
/* The heartbeat in force: seconds, 0 when off. */
void		 nap_heartbeat(const struct nap *, unsigned *interval_s,
		    unsigned *timeout_s);

/* Counters since nap_new(). */
struct nap_stats {
	uint64_t	msgs_in;	/* frames received and parsed */
	uint64_t	msgs_out;	/* frames written */
	uint64_t	bytes_in, bytes_out;	/* frame bytes */
	uint64_t	duplicates;	/* received duplicates dropped */
	uint64_t	malformed;	/* received frames refused by the parser */
	uint64_t	ignored;	/* Ack/Error not from a server, etc. */
	uint64_t	acks_sent;	/* confirmations (type 5) */
	uint64_t	reconnects;	/* logins after the first */
};
void	nap_get_stats(const struct nap *, struct nap_stats *);

/* ---- received messages --------------------------------------------- */

uint32_t	 nap_msg_type(const struct nap_msg *);
uint32_t	 nap_msg_from(const struct nap_msg *);
uint32_t	 nap_msg_to(const struct nap_msg *);
uint32_t	 nap_msg_seq(const struct nap_msg *);
/* SessionId: "" or 16 hex digits. */
const char	*nap_msg_session(const struct nap_msg *);
bool		 nap_msg_ack(const struct nap_msg *);	/* Ack="1" */
/* True and *re / *ttl when the Header has Re / TTL. */
bool		 nap_msg_re(const struct nap_msg *, uint32_t *re);
bool		 nap_msg_ttl(const struct nap_msg *, uint32_t *ttl);
/*
 * The <parameters> element as received ("<parameters>...</parameters>"
 * or "<parameters/>"), not NUL-terminated; NULL and *len = 0 when there
 * is none.  Valid as long as the message.
 */
const char	*nap_msg_parameters(const struct nap_msg *, size_t *len);
/* What is between <parameters ...> and </parameters> ("" for an empty
 * element; NULL when there is none): what nap_send() takes.  Namespace
 * declarations on <parameters> itself are not part of it. */
const char	*nap_msg_content(const struct nap_msg *, size_t *len);
/* The whole envelope as received (the frame body). */
const uint8_t	*nap_msg_raw(const struct nap_msg *, size_t *len);
/*
 * The value of attribute attr of the first child element named elem of
 * <parameters> ("result", "code"), as a new string the caller frees with
 * free(); NULL when absent.
 */
char		*nap_msg_param_attr(const struct nap_msg *, const char *elem,
		    const char *attr);

/* A copy that outlives the callback, or NULL on no memory; free it with
 * nap_msg_free(). */
struct nap_msg	*nap_msg_dup(const struct nap_msg *);
/* Frees a message from nap_msg_dup() or nap_request().  NULL allowed. */
void		 nap_msg_free(struct nap_msg *);

#ifdef __cplusplus
}
#endif

#endif /* NAP_H */
